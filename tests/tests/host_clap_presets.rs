//! Presets in a CLAP host: the built `Sourcery.clap`'s preset-discovery factory crawled as a
//! DAW's preset browser does (factory presets inside the plugin, user preset files in the
//! user folder), and `clap.preset-load` applying them.
//!
//! Its own test binary (one process): it points `SOURCERY_CONFIG_DIR` at a scratch user
//! folder before any plugin is loaded.

use std::path::{Path, PathBuf};

use sourcery_dsp::presets::{factory_file, factory_presets, save_user_preset, Preset};
use sourcery_dsp::{ParamKind, ParamValues, Settings};
use sourcery_tests::clap_host::{crawl_presets, param_id, ClapInstance, CrawledPreset};
use sourcery_tests::{bundle, sine, CLAP_ID};

const FACTORY_FLAG: u32 = 1;
const USER_FLAG: u32 = 2;

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// A scratch user config folder with one good and one bad preset in `presets/`.
fn user_folder() -> (PathBuf, Preset) {
    let dir = std::env::temp_dir().join(format!("sourcery-clap-presets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let presets = dir.join("presets");
    let mut values = ParamValues::default();
    values.set(
        ParamId::Device,
        sourcery_dsp::presets::DeviceSlot::by_id("fiio-k13-r2r")
            .unwrap()
            .0 as f32,
    );
    values.set(
        ParamId::Headphone,
        sourcery_dsp::presets::HeadphoneSlot::by_id("sennheiser-hd600")
            .unwrap()
            .0 as f32,
    );
    values.set(ParamId::Volume, 61.0);
    let mut preset = Preset::from_values("My K13 on the HD600", &values);
    preset.description = Some("Saved by the test".into());
    save_user_preset(&presets, &preset, true).expect("write the user preset");
    std::fs::write(
        presets.join("broken.toml"),
        "schema = 1\nname = \"Broken\"\n[params]\nvolume = -4\n",
    )
    .expect("write the bad preset");
    (dir, preset)
}

use sourcery_dsp::ParamId;

#[test]
fn presets_are_discovered_and_load_like_the_same_settings_set_by_hand() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    let (dir, user_preset) = user_folder();
    // SAFETY: set before any plugin is loaded and before this process starts other threads
    // that read the environment (this binary has one test).
    unsafe {
        std::env::set_var("SOURCERY_CONFIG_DIR", &dir);
        std::env::set_var("SOURCERY_DATA_DIR", dir.join("data"));
    }
    let factory_dir = dir.join("data").join("factory-presets");

    // 1. The crawl: what a host's preset browser shows.
    let crawl = ok(crawl_presets(&path));
    println!("declared locations: {:?}", crawl.locations);
    assert!(crawl.file_extensions.iter().any(|e| e == "toml"));
    // The factory presets are written as files into the data folder and declared there.
    let factory_location = crawl
        .locations
        .iter()
        .find(|l| l.flags == FACTORY_FLAG)
        .expect("a factory location");
    assert_eq!(
        factory_location.path.as_deref().map(Path::new),
        Some(factory_dir.as_path())
    );
    let user_location = crawl
        .locations
        .iter()
        .find(|l| l.flags == USER_FLAG)
        .expect("the user folder");
    assert_eq!(user_location.flags, USER_FLAG);
    assert_eq!(
        Path::new(user_location.path.as_deref().unwrap()),
        dir.join("presets")
    );
    let in_factory = |p: &&CrawledPreset| {
        p.file
            .as_deref()
            .is_some_and(|f| Path::new(f).starts_with(&factory_dir))
    };
    let factory: Vec<_> = crawl.presets.iter().filter(in_factory).collect();
    assert_eq!(factory.len(), factory_presets().len());
    for preset in factory_presets() {
        let file = factory_dir.join(factory_file(preset));
        let found = factory
            .iter()
            .find(|p| p.file.as_deref() == Some(file.to_string_lossy().as_ref()))
            .unwrap_or_else(|| panic!("{} not crawled", file.display()));
        assert_eq!(found.name, preset.name);
        assert_eq!(found.load_key, None);
        assert_eq!(found.plugin_ids, [("clap".to_owned(), CLAP_ID.to_owned())]);
        assert_eq!(found.flags, FACTORY_FLAG);
        assert_eq!(found.creators, ["Sourcery"]);
    }
    let user: Vec<_> = crawl.presets.iter().filter(|p| !in_factory(p)).collect();
    assert_eq!(user.len(), 1, "{user:?}");
    assert_eq!(user[0].name, user_preset.name);
    assert_eq!(user[0].flags, USER_FLAG);
    assert_eq!(user[0].load_key, None);
    assert_eq!(crawl.errors.len(), 1, "{:?}", crawl.errors);
    assert!(
        crawl.errors[0].ends_with("broken.toml:4: `volume` = -4 is outside 0 … 100"),
        "{}",
        crawl.errors[0]
    );
    println!(
        "crawl: {} factory presets, {} user preset, error: {}",
        factory.len(),
        user.len(),
        crawl.errors[0]
    );

    // 2. "K7 + Andromeda", loaded from the file the crawl found, equals the same settings
    // set by hand, and the renderer.
    let combo = crawl
        .presets
        .iter()
        .find(|p| p.name == "K7 + Andromeda")
        .expect("the K7 + Andromeda preset");
    let combo_file = PathBuf::from(combo.file.clone().expect("a file"));
    let preset = factory_presets()
        .iter()
        .find(|p| p.name == "K7 + Andromeda")
        .unwrap();
    let mut values = ParamValues::default();
    preset.apply_to(&mut values);
    let settings = Settings::from_values(&values);
    let sr = 48_000.0;
    let block = 512;
    let input = vec![
        sine(1000.0, sr, 24_000, 0.5),
        sine(3000.0, sr, 24_000, 0.25),
    ];

    let mut loaded = ok(ClapInstance::load(&path, CLAP_ID));
    let _ = loaded.take_params_rescanned();
    let reports = ok(loaded.load_preset(Some(&combo_file), None));
    assert_eq!(
        reports,
        [Ok(combo_file.to_string_lossy().into_owned())],
        "the host is told the preset loaded"
    );
    assert!(
        loaded.take_params_rescanned(),
        "the host is asked to rescan the values"
    );
    for (id, value) in &preset.values {
        if !matches!(id.spec().kind, ParamKind::Float { .. }) {
            // Stepped values travel as normalised f32 × steps: equal within f32 rounding.
            let got = loaded.get_param_value(param_id(id.spec().id)).unwrap();
            assert!(
                (got - f64::from(*value)).abs() < 1e-5,
                "{}: {got} vs {value}",
                id.spec().id
            );
        }
    }
    ok(loaded.set_render_offline(true));
    ok(loaded.activate(sr, block as u32, 2));
    let latency = loaded.latency() as usize;
    let padded = sourcery_tests::padded(&input, latency);
    let out_loaded = ok(loaded.process_signal(&padded, &[block]));

    let mut by_hand = ok(ClapInstance::load(&path, CLAP_ID));
    ok(by_hand.set_render_offline(true));
    ok(by_hand.activate(sr, block as u32, 2));
    by_hand.set_values(&values);
    ok(by_hand.process_signal(&[vec![0.0; block], vec![0.0; block]], &[block]));
    ok(by_hand.activate(sr, block as u32, 2));
    let out_by_hand = ok(by_hand.process_signal(&padded, &[block]));

    let rendered =
        sourcery_dsp::render::render_blocks(&settings, &input, sr as f32, block, &mut |_| {});
    let vs_hand = out_by_hand
        .iter()
        .zip(&out_loaded)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
        .fold(0.0f32, f32::max);
    let vs_render = sourcery_tests::max_diff_after(&rendered, &out_loaded, latency);
    let default_render = sourcery_dsp::render::render_blocks(
        &Settings::default(),
        &input,
        sr as f32,
        block,
        &mut |_| {},
    );
    let vs_default = sourcery_tests::max_diff_after(&default_render, &out_loaded, latency);
    println!(
        "K7 + Andromeda loaded vs set by hand: max |Δ| {vs_hand:e}; vs renderer {vs_render:e}; \
         vs default settings {vs_default:e} (latency {latency})"
    );
    assert!(vs_hand <= 1e-6, "loaded vs by hand: {vs_hand:e}");
    assert!(vs_render <= 1e-6, "loaded vs renderer: {vs_render:e}");
    assert!(
        vs_default > 1e-2,
        "the preset must change the sound: {vs_default:e}"
    );

    // 3. The user preset file loads; the bad one is refused with its line, nothing changes.
    let file = PathBuf::from(user[0].file.as_deref().unwrap());
    let mut instance = ok(ClapInstance::load(&path, CLAP_ID));
    let reports = ok(instance.load_preset(Some(&file), None));
    assert_eq!(reports, [Ok(file.to_string_lossy().into_owned())]);
    let device = param_id("device");
    let volume = param_id("volume");
    let close = |got: Option<f64>, want: Option<f32>| {
        (got.unwrap() - f64::from(want.unwrap())).abs() < 1e-5
    };
    assert!(close(
        instance.get_param_value(device),
        user_preset.value(ParamId::Device)
    ));
    let shown = instance.get_param_value(volume).unwrap();
    assert_eq!(
        instance.value_to_text(volume, shown).as_deref(),
        Some("61.00 %")
    );
    let broken = dir.join("presets").join("broken.toml");
    let error = instance
        .load_preset(Some(&broken), None)
        .expect_err("a bad file is refused");
    assert!(error.contains("broken.toml:4"), "{error}");
    assert_eq!(
        instance.get_param_value(volume),
        Some(shown),
        "nothing changed"
    );
    println!("user preset loaded; bad file refused: {error}");

    // 4. A factory preset by its load key inside the plugin (the fallback location) loads too.
    let mut by_key = ok(ClapInstance::load(&path, CLAP_ID));
    let reports = ok(by_key.load_preset(None, Some(&preset.id)));
    assert_eq!(reports, [Ok(preset.id.clone())]);
    assert!(close(
        by_key.get_param_value(device),
        preset.value(ParamId::Device)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
