//! Presets: every factory file loads and reproduces the figures it replaces, user files
//! need no Rust change, and malformed files are refused with their file and line.

use std::path::{Path, PathBuf};

use super::*;
use crate::amp::AmpSpec;
use crate::analysis::{thd_n, AUDIO_BAND_HZ};
use crate::chain::{Chain, ChainConfig};
use crate::clocks::ChainLayout;
use crate::dac::{ConverterKind, DacMode};
use crate::params::{DEVICE_LABELS, HEADPHONE_LABELS};

fn factory_devices() -> &'static [DeviceVoicing] {
    Catalogue::factory().devices()
}

fn factory_headphones() -> &'static [Headphone] {
    Catalogue::factory().headphones()
}

/// A device's DAC and analog stage alone at 44.1 kHz.
fn dac_chain(config: &DeviceVoicing, max_block: usize) -> Chain {
    Chain::new(
        &ChainConfig::dac_only(config.dac, config.analog),
        ChainLayout {
            host_rate: 44_100.0,
            max_block,
            channels: 1,
        },
    )
}

/// THD+N (%, dB) at 1 kHz, −6 dBFS, 44.1 kHz, and idle noise (dBFS re a full-scale sine)
/// of a device's DAC and analog stage.
fn thd_n_and_idle(config: &DeviceVoicing) -> (f64, f64, f64) {
    let rate = 44_100.0;
    let mut s = dac_chain(config, 1024);
    let mut x: Vec<f32> = (0..(rate * 1.2) as usize)
        .map(|i| (0.5 * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    s.process(&mut [&mut x[..]]);
    let m = thd_n(&x[(0.2 * rate) as usize..], rate, 1000.0, AUDIO_BAND_HZ);
    s.reset();
    let mut idle = vec![0.0f32; rate as usize];
    s.process(&mut [&mut idle[..]]);
    let rms = crate::analysis::rms(&idle[4410..]);
    let idle_dbfs = 20.0 * (rms / std::f64::consts::FRAC_1_SQRT_2).log10();
    (m.thd_n_percent, m.thd_n_db, idle_dbfs)
}

fn with_seed(config: &DeviceVoicing, seed: u64) -> DeviceVoicing {
    let mut config = config.clone();
    if let ConverterKind::R2r(ladder) = &mut config.dac.converter {
        ladder.seed = seed;
    }
    config
}

/// Major-carry step of a ladder unit at digital zero, in LSB (1 = ideal): dither off, the
/// output step from code −1 LSB to 0.
fn major_carry_step_lsb(config: &DeviceVoicing) -> f64 {
    let ConverterKind::R2r(mut ladder) = config.dac.converter else {
        return 1.0;
    };
    ladder.dither = false;
    let mut dac = crate::dac::r2r::R2rDac::new(&ladder);
    let lsb = dac.lsb();
    let zero = f64::from(dac.convert(0.0));
    let below = f64::from(dac.convert(-lsb as f32));
    (zero - below) / lsb
}

/// THD+N (dB) at 1 kHz of a device's DAC and analog stage at `level_dbfs`, `rate` Hz.
fn thd_n_at(config: &DeviceVoicing, level_dbfs: f64, rate: f64) -> f64 {
    let mut chain = Chain::new(
        &ChainConfig::dac_only(config.dac, config.analog),
        ChainLayout {
            host_rate: rate,
            max_block: 1024,
            channels: 1,
        },
    );
    let amplitude = 10f64.powf(level_dbfs / 20.0);
    let mut x: Vec<f32> = (0..(rate * 0.5) as usize)
        .map(|i| (amplitude * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    chain.process(&mut [&mut x[..]]);
    thd_n(&x[(0.1 * rate) as usize..], rate, 1000.0, AUDIO_BAND_HZ).thd_n_db
}

/// The band of levels the published THD+N must hold over (dBFS): −6 ± 0.5 in 0.1 dB steps,
/// and −6.02 (a peak of exactly 0.5, where a ladder's second bit carries).
fn thd_band_levels() -> Vec<f64> {
    let mut levels: Vec<f64> = (0..=10).map(|i| -6.5 + 0.1 * f64::from(i)).collect();
    levels.push(-6.0206);
    levels
}

/// The device's DAC with its ladder alone: no analog harmonic profile.
fn ladder_alone(config: &DeviceVoicing) -> DeviceVoicing {
    let mut config = config.clone();
    config.analog.harmonics = crate::analog::shaper::HarmonicProfile::CLEAN;
    config
}

/// The K13 R2R's unit (its file): the K11 is another product, so it gets another unit.
const K13_SEED: u64 = 2345;

/// The ladder-alone bound of the unit search: the ladder's own THD+N stays below this at
/// every level of the band (at 44.1 and 48 kHz), so the analog stage's smooth H2/H3 sets
/// the published figure and the level does not flip it.
const LADDER_ALONE_DB: f64 = -80.0;
/// The major-carry bound of the unit search (LSB; 1 = ideal): a larger step at digital zero
/// idles as noise far above the published SNR.
const MAJOR_CARRY_LSB: f64 = 4.0;

/// How the K13's unit (seed) was chosen: the first seed ≥ 1 whose major-carry step is
/// within [`MAJOR_CARRY_LSB`] and whose ladder alone stays below [`LADDER_ALONE_DB`] at
/// every level of −6 ± 0.5 dBFS (and −6.02) at 44.1 and 48 kHz. Nothing published shows
/// the THD+N of the K13 stepping with level near −6 dBFS, so a unit whose second bit's
/// carry (crossed by every peak above −6.02 dBFS) moves it by several dB is not the unit to
/// model. `cargo test -p sourcery-dsp --release --lib k13_seed_search -- --ignored
/// --nocapture` (`SEED_FROM=N` starts elsewhere; `SEARCH_ALL=1` lists every passing seed up
/// to 5000).
#[test]
#[ignore = "slow: documents how the K13 seed was chosen"]
fn k13_seed_search() {
    let k13 = ladder_alone(crate::voicing::k13_r2r());
    let from: u64 = std::env::var("SEED_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut candidates = 0;
    for seed in from..=5_000 {
        let config = with_seed(&k13, seed);
        let step = major_carry_step_lsb(&config);
        if (step - 1.0).abs() > MAJOR_CARRY_LSB {
            continue;
        }
        candidates += 1;
        let mut worst = f64::NEG_INFINITY;
        'levels: for rate in [44_100.0, 48_000.0] {
            for level in thd_band_levels() {
                worst = worst.max(thd_n_at(&config, level, rate));
                if worst > LADDER_ALONE_DB {
                    break 'levels;
                }
            }
        }
        let pass = worst <= LADDER_ALONE_DB;
        println!(
            "seed {seed}: step {step:.2} LSB, ladder alone worst {worst:.2} dB {}",
            if pass { "PASS" } else { "" }
        );
        if pass && std::env::var_os("SEARCH_ALL").is_none() {
            println!("{candidates} candidates measured");
            break;
        }
    }
}

/// Published K11 figures with 1 dB to spare: THD+N (line out) < 0.02 % = −74 dB, and SNR
/// ≥ 115 dB read as idle noise re a full-scale sine.
const K11_THD_N_DB: f64 = -75.0;
const K11_IDLE_DBFS: f64 = -116.0;

/// How the K11's seed was chosen: the first seed ≥ 1, other than the K13's, whose whole DAC
/// stage meets both published figures with 1 dB to spare at every level of −6 ± 0.5 dBFS
/// (and −6.02) at 44.1 and 48 kHz ([`K11_THD_N_DB`]) and as idle noise ([`K11_IDLE_DBFS`]).
/// The full stage is measured only for units whose major-carry step is within 100 LSB (a
/// 70 LSB step already idles near −114 dBFS). `cargo test -p sourcery-dsp --release --lib
/// k11_seed_search -- --ignored --nocapture` (`SEED_FROM=N` starts elsewhere; with
/// `SEARCH_ALL=1` it lists every passing seed up to 20 000 instead of stopping at the first).
#[test]
#[ignore = "slow: documents how the K11 seed was chosen"]
fn k11_seed_search() {
    let k11 = crate::voicing::k11_r2r();
    let from: u64 = std::env::var("SEED_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut candidates = 0;
    for seed in (from..=20_000).filter(|&s| s != K13_SEED) {
        let config = with_seed(k11, seed);
        let step = major_carry_step_lsb(&config);
        if (step - 1.0).abs() > 100.0 {
            continue;
        }
        candidates += 1;
        let (_, _, idle) = thd_n_and_idle(&config);
        let mut worst = f64::NEG_INFINITY;
        if idle <= K11_IDLE_DBFS {
            'levels: for rate in [44_100.0, 48_000.0] {
                for level in thd_band_levels() {
                    worst = worst.max(thd_n_at(&config, level, rate));
                    if worst > K11_THD_N_DB {
                        break 'levels;
                    }
                }
            }
        }
        let pass = idle <= K11_IDLE_DBFS && worst <= K11_THD_N_DB;
        println!(
            "seed {seed}: step {step:.2} LSB, idle {idle:.1} dBFS, THD+N worst {worst:.2} dB {}",
            if pass { "PASS" } else { "" }
        );
        if pass && std::env::var_os("SEARCH_ALL").is_none() {
            println!("{candidates} candidates measured");
            break;
        }
    }
}

#[test]
fn k11_meets_its_published_figures() {
    let (pct, db, idle) = thd_n_and_idle(crate::voicing::k11_r2r());
    println!("K11 R2R 1 kHz −6 dBFS: THD+N {pct:.4} % ({db:.2} dB), idle {idle:.1} dBFS");
    // Published: THD+N (line out) < 0.02 %, SNR ≥ 115 dB; the seed was chosen with 1 dB
    // to spare on both.
    assert!(pct < 0.02 && db <= K11_THD_N_DB, "THD+N {pct:.4} %");
    assert!(idle <= K11_IDLE_DBFS, "idle {idle:.1} dBFS");
    // Not the K13's unit.
    assert!(matches!(
        crate::voicing::k11_r2r().dac.converter,
        ConverterKind::R2r(l) if l.seed != K13_SEED
    ));
}

/// A tone through a device's DAC: finite, and not silenced.
fn runs(config: &DeviceVoicing) -> bool {
    let mut s = dac_chain(config, 512);
    let mut x: Vec<f32> = (0..8192).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    s.process(&mut [&mut x[..]]);
    x.iter().all(|v| v.is_finite()) && crate::analysis::rms(&x[4096..]) > 0.1
}

#[test]
fn every_factory_preset_loads_and_validates() {
    let devices = factory_devices();
    assert_eq!(devices.len(), DEVICE_LABELS.len());
    assert!(devices.len() >= 9);
    for (slot, (d, label)) in devices.iter().zip(DEVICE_LABELS).enumerate() {
        assert_eq!(d.slot, slot, "{}", d.file);
        assert_eq!(&d.name, label, "{}", d.file);
        assert_eq!(d.amp.name, d.name);
        if d.name != "Ideal" {
            assert!(!d.sources.is_empty(), "{}: sources", d.name);
            assert!(!d.estimates.is_empty(), "{}: estimates", d.name);
        }
        if d.from_reviewer_words {
            assert!(d.reviewer_words.iter().any(|w| w.reproduced), "{}", d.name);
        }
        assert!(runs(d), "{}", d.name);
        assert_eq!(
            DeviceSlot::by_id(&d.id),
            Some(DeviceSlot(slot)),
            "{}",
            d.file
        );
        // Re-parsing the embedded text gives the same preset.
        let (file, text) = index::FACTORY_DEVICES[slot];
        assert_eq!(&parse_device(text, file).unwrap(), d);
    }
    // The frozen order of the `device` parameter.
    assert_eq!(
        &DEVICE_LABELS[..9],
        [
            "FiiO K13 R2R",
            "Ideal",
            "FiiO K7",
            "FiiO K11 R2R",
            "Apple USB-C dongle (US)",
            "Apple USB-C dongle (EU)",
            "FiiO KA3",
            "Topping G5",
            "Shanling M6 Ultra",
        ]
    );
    // Built from words: the two the K7 review describes only in words.
    let from_words: Vec<&str> = devices
        .iter()
        .filter(|d| d.from_reviewer_words)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(from_words, ["Topping G5", "Shanling M6 Ultra"]);
    // The Apple dongles run at a fixed 48 kHz; the others follow the host.
    for d in devices {
        let fixed = d.name.starts_with("Apple");
        assert_eq!(d.dac.dac_rate_hz, fixed.then_some(48_000.0), "{}", d.name);
    }

    let headphones = factory_headphones();
    assert_eq!(headphones.len() + 2, HEADPHONE_LABELS.len());
    assert_eq!(HEADPHONE_LABELS[HeadphoneSlot::RESISTIVE.0], "Resistive");
    assert_eq!(
        HEADPHONE_LABELS[HeadphoneSlot::CUSTOM.0],
        "Custom (imported)"
    );
    assert_eq!(
        (HeadphoneSlot::RESISTIVE.0, HeadphoneSlot::CUSTOM.0),
        (1, 11)
    );
    let catalogue = Catalogue::factory();
    for h in headphones {
        assert_eq!(HEADPHONE_LABELS[h.slot], h.name);
        assert_eq!(catalogue.headphone(HeadphoneSlot(h.slot)), Some(h));
    }
    assert!(catalogue.headphone(HeadphoneSlot::RESISTIVE).is_none());
    assert!(catalogue.headphone(HeadphoneSlot::CUSTOM).is_none());
    assert_eq!(
        HeadphoneSlot::by_id("resistive"),
        Some(HeadphoneSlot::RESISTIVE)
    );
    assert_eq!(HeadphoneSlot::by_id("custom"), Some(HeadphoneSlot::CUSTOM));
}

/// The amp of every device that had a Rust constructor equals it exactly (figures and texts).
#[test]
fn amp_figures_equal_the_rust_specs() {
    let pairs = [
        (0, AmpSpec::k13_r2r()),
        (1, AmpSpec::ideal()),
        (2, AmpSpec::k7()),
        (3, AmpSpec::k11_r2r()),
        (4, AmpSpec::apple_dongle_us()),
        (5, AmpSpec::apple_dongle_eu()),
    ];
    let catalogue = Catalogue::factory();
    for (slot, spec) in pairs {
        assert_eq!(
            catalogue.device(DeviceSlot(slot)).unwrap().amp,
            spec,
            "slot {slot}"
        );
        assert_eq!(factory_devices()[slot].amp, spec, "slot {slot}");
    }
    assert!(catalogue.device(DeviceSlot(usize::MAX)).is_none());
    // Devices with a balanced output say so; the others repeat SE.
    for d in factory_devices() {
        if !d.has_balanced {
            assert_eq!(d.amp.outputs[0], d.amp.outputs[1], "{}", d.name);
        }
    }
}

#[test]
fn labels_match_the_engine() {
    assert_eq!(PEQ_BAND_TYPES, crate::peq::FilterType::LABELS);
    assert_eq!(
        crate::params::ParamId::Peq1Type.spec().labels(),
        PEQ_BAND_TYPES,
        "the parameter shows the preset files' names"
    );
    assert_eq!(device::GAIN_STEP_KINDS.len(), 3);
}

/// The four AutoEQ profiles (github.com/jaakkopasanen/AutoEq) as AutoEQ writes them:
/// `testdata/*.txt` are verbatim copies of the project's `shared/data/autoeq/` files. The
/// headphone files must hold the same numbers.
const AUTOEQ: &[(&str, &str)] = &[
    (
        "Campfire Andromeda 2020",
        include_str!("testdata/campfire-andromeda.txt"),
    ),
    ("Final E5000", include_str!("testdata/final-e5000.txt")),
    (
        "HIFIMAN Edition XS",
        include_str!("testdata/hifiman-edition-xs.txt"),
    ),
    (
        "Sennheiser HD600",
        include_str!("testdata/sennheiser-hd600.txt"),
    ),
];

#[test]
fn autoeq_profiles_are_copied_exactly() {
    for (name, text) in AUTOEQ {
        let h = factory_headphones()
            .iter()
            .find(|h| h.name == *name)
            .unwrap_or_else(|| panic!("{name}"));
        let peq = h.peq.as_ref().unwrap_or_else(|| panic!("{name}: no PEQ"));
        assert!(peq.source.as_deref().unwrap_or("").contains("AutoEq"));
        let mut lines = text.lines();
        let preamp: f64 = lines.next().unwrap()["Preamp:".len()..]
            .trim()
            .trim_end_matches("dB")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(peq.preamp_db, preamp, "{name}");
        let bands: Vec<PresetBand> = lines
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                // Filter n: ON TYPE Fc F Hz Gain G dB Q Q
                PresetBand {
                    kind: PEQ_BAND_TYPES.iter().position(|t| *t == w[3]).unwrap(),
                    freq_hz: w[5].parse().unwrap(),
                    gain_db: w[8].parse().unwrap(),
                    q: w[11].parse().unwrap(),
                    on: w[2] == "ON",
                }
            })
            .collect();
        assert_eq!(peq.bands, bands, "{name}");
    }
}

/// A fresh, empty folder under the system's temp folder.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sourcery-presets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("devices")).unwrap();
    std::fs::create_dir_all(dir.join("headphones")).unwrap();
    dir
}

fn write(dir: &Path, file: &str, text: impl AsRef<[u8]>) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// A device written by a user (a new R2R source), in the same schema as the factory files.
const USER_DEVICE: &str = r#"
schema = 1
name = "My R2R"
slot = 20
notes = "a 16-bit sign-magnitude ladder with a little glitch"
sources = ["my own measurements"]
estimates = ["everything"]

[dac]
type = "r2r"
mode = "NOS"
os_filter = "Reference minimum phase"
hold = true
rate_hz = 44100

[dac.ladder]
bits = 16
tolerance_pct = 0.05
coding = "Sign-magnitude"
seed = 7
switch_bow = 0.0
switch_bow_mismatch = 0.0
dither = true
glitch_skew_s = 2e-9

[analog]
lowpass = { corner_hz = 30000, match_hz = 20000 }
harmonics = { reference_dbfs = -6, dbc = [-90, -inf, -100], polarity = [1, 1, -1] }

[amp]
steps = "LowHigh"
volume = { law = "two_segment_db", floor_db = -80, knee_percent = 40, knee_db = -40 }

[amp.se]
z_out_ohms = 2.2
limits = { rail_vrms = 5, sag_ohms = 1, peak_current_a = 0.2 }
gains = [{ full_scale_vrms = 1, noise_uv_a = 2 }, { full_scale_vrms = 4, noise_uv_a = 3 }]
"#;

/// A headphone written by a user, with a PEQ.
const USER_HEADPHONE: &str = r#"
schema = 1
name = "My IEM"
slot = 30
kind = "iem"
drivers = "1 dynamic"
nominal_ohms = 16
sensitivity_db_per_v = 110
figures = "from the box"
modelled = false
network = "R(16) + L(30u)"

[peq]
preamp_db = -3
[[peq.band]]
type = "LS"
freq_hz = 100
gain_db = 3
q = 0.7
[[peq.band]]
type = "Notch"
freq_hz = 6000
q = 4
on = false
"#;

#[test]
fn user_presets_need_no_rust_change() {
    let dir = temp_dir("user");
    write(&dir, "devices/my-r2r.toml", USER_DEVICE);
    write(&dir, "headphones/my-iem.toml", USER_HEADPHONE);
    // An override of a factory device: same name, same slot.
    let k7 = index::FACTORY_DEVICES[2]
        .1
        .replace("noise_dbfs = -121.0", "noise_dbfs = -110.0");
    write(&dir, "devices/k7-noisier.toml", &k7);
    write(&dir, "devices/readme.txt", "not a preset");
    let (devices, headphones, errors) = load_user_presets(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(devices.len(), 2);
    assert_eq!(headphones.len(), 1);

    let mine = devices.iter().find(|d| d.name == "My R2R").unwrap();
    assert_eq!(mine.slot, 20);
    assert_eq!(mine.dac.mode, DacMode::Nos);
    assert_eq!(mine.dac.dac_rate_hz, Some(44_100.0));
    let ConverterKind::R2r(ladder) = mine.dac.converter else {
        panic!("an R2R");
    };
    assert_eq!((ladder.bits, ladder.seed), (16, 7));
    assert_eq!(
        mine.amp.effective(crate::amp::GainStep::Medium),
        crate::amp::GainStep::Low
    );
    assert!(!mine.has_balanced);
    // The file is enough to build and run a DAC, and a chain with its amp.
    assert!(runs(mine));
    let with_amp = ChainConfig {
        amp: Some(crate::amp::AmpOutput {
            spec: mine.amp,
            output: crate::amp::Output::Se,
        }),
        ..ChainConfig::dac_only(mine.dac, mine.analog)
    };
    let layout = ChainLayout {
        host_rate: 44_100.0,
        max_block: 512,
        channels: 1,
    };
    assert!(Chain::new(&with_amp, layout).latency_samples() > 0);

    let iem = &headphones[0];
    assert_eq!((iem.name.as_str(), iem.slot), ("My IEM", 30));
    let peq = iem.peq.as_ref().unwrap();
    assert_eq!(peq.bands.len(), 2);
    assert_eq!(peq.bands[1].kind_label(), "Notch");
    assert!(!peq.bands[1].on && peq.bands[1].gain_db == 0.0);

    // Merged as `install_user_presets` would: the override takes slot 2, the extra joins.
    let merged = merge(factory_devices(), devices, |d| d.slot);
    assert_eq!(merged.len(), factory_devices().len() + 1);
    assert_eq!(merged[2].name, "FiiO K7");
    assert_eq!(
        merged[2].dac.converter,
        ConverterKind::DeltaSigma { noise_dbfs: -110.0 }
    );
    assert_eq!(merged.last().unwrap().name, "My R2R");
    let merged = merge(factory_headphones(), headphones, |h| h.slot);
    assert_eq!(merged.last().unwrap().name, "My IEM");

    // A missing folder is simply empty.
    let (d, h, e) = load_user_presets(&dir.join("nowhere"));
    assert!(d.is_empty() && h.is_empty() && e.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_config_dir_precedence() {
    use std::ffi::OsString;
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let dir = |vars| config_dir_from(env(vars));
    assert_eq!(
        dir(&[
            ("SOURCERY_CONFIG_DIR", "/a"),
            ("XDG_CONFIG_HOME", "/b"),
            ("HOME", "/c")
        ]),
        Some(PathBuf::from("/a"))
    );
    assert_eq!(
        dir(&[("XDG_CONFIG_HOME", "/b"), ("HOME", "/c")]),
        Some(PathBuf::from("/b/sourcery"))
    );
    assert_eq!(
        dir(&[("XDG_CONFIG_HOME", ""), ("HOME", "/c")]),
        Some(PathBuf::from("/c/.config/sourcery"))
    );
    assert_eq!(
        dir(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/c")]),
        Some(PathBuf::from("/c/.config/sourcery"))
    );
    assert_eq!(dir(&[]), None);
}

/// The line (1-based) of the first line of `text` containing `marker`.
fn line_with(text: &str, marker: &str) -> usize {
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker:?}"))
        + 1
}

/// One malformed file: its text, the line the error must name (`None`: any line ≥ 1) and a
/// word the message must contain.
struct Bad {
    what: &'static str,
    text: String,
    line: Option<usize>,
    needle: &'static str,
}

fn bad(what: &'static str, text: String, marker: Option<&str>, needle: &'static str) -> Bad {
    let line = marker.map(|m| line_with(&text, m));
    Bad {
        what,
        text,
        line,
        needle,
    }
}

/// Replace exactly one occurrence of `from`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn bad_devices() -> Vec<Bad> {
    let k7 = index::FACTORY_DEVICES[2].1;
    let k13 = index::FACTORY_DEVICES[0].1;
    let user = USER_DEVICE;
    let mut big = k7.to_owned();
    while big.len() <= MAX_FILE_BYTES {
        big.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    vec![
        bad(
            "wrong type",
            edit(k7, "slot = 2", "slot = \"two\""),
            Some("slot ="),
            "invalid type",
        ),
        bad(
            "unknown key",
            format!("{k7}\ncolour = \"red\"\n"),
            Some("colour ="),
            "unknown field",
        ),
        bad(
            "unknown key in [dac]",
            edit(k7, "hold = true", "hold = true\nwarmth = 3"),
            Some("warmth"),
            "unknown field",
        ),
        bad(
            "missing field",
            edit(k7, "hold = true\n", ""),
            None,
            "missing field `hold`",
        ),
        bad(
            "missing name",
            edit(k7, "name = \"FiiO K7\"\n", ""),
            None,
            "missing field `name`",
        ),
        bad(
            "schema 2",
            edit(k7, "schema = 1", "schema = 2"),
            Some("schema"),
            "schema 2 is not supported",
        ),
        bad(
            "no schema",
            edit(k7, "schema = 1\n", ""),
            Some(""),
            "missing `schema",
        ),
        bad(
            "schema as text",
            edit(k7, "schema = 1", "schema = \"1\""),
            Some("schema"),
            "integer",
        ),
        bad(
            "negative slot",
            edit(k7, "slot = 2", "slot = -1"),
            Some("slot ="),
            "outside",
        ),
        bad(
            "slot too large",
            edit(k7, "slot = 2", "slot = 300"),
            Some("slot ="),
            "outside",
        ),
        bad(
            "empty name",
            edit(k7, "name = \"FiiO K7\"", "name = \"  \""),
            Some("name ="),
            "empty",
        ),
        bad(
            "multi-line name",
            edit(k7, "name = \"FiiO K7\"", "name = \"FiiO\\nK7\""),
            Some("name ="),
            "one line",
        ),
        bad(
            "unknown DAC type",
            edit(k7, "type = \"delta_sigma\"", "type = \"tube\""),
            Some("type ="),
            "not one of",
        ),
        bad(
            "mode label case",
            edit(k7, "mode = \"OS\"", "mode = \"os\""),
            Some("mode ="),
            "not one of",
        ),
        bad(
            "unknown OS filter",
            edit(k7, "os_filter = \"AK4493 Sharp\"", "os_filter = \"Sharp\""),
            Some("os_filter ="),
            "not one of",
        ),
        bad(
            "DAC rate too low",
            edit(k7, "hold = true", "hold = true\nrate_hz = 1000"),
            Some("rate_hz"),
            "outside",
        ),
        bad(
            "noise out of range",
            edit(k7, "noise_dbfs = -121.0", "noise_dbfs = -20.0"),
            Some("noise_dbfs ="),
            "outside",
        ),
        bad(
            "noise NaN",
            edit(k7, "noise_dbfs = -121.0", "noise_dbfs = nan"),
            Some("noise_dbfs ="),
            "outside",
        ),
        bad(
            "r2r without ladder",
            edit(
                &edit(k7, "type = \"delta_sigma\"", "type = \"r2r\""),
                "noise_dbfs = -121.0\n",
                "",
            ),
            Some("type ="),
            "needs a [dac.ladder]",
        ),
        bad(
            "ladder on delta-sigma",
            edit(
                k13,
                "type = \"r2r\"",
                "type = \"delta_sigma\"\nnoise_dbfs = -120",
            ),
            None,
            "is for type = \"r2r\"",
        ),
        bad(
            "corner 0 Hz",
            edit(k7, "corner_hz = 100000.0", "corner_hz = 0.0"),
            Some("corner_hz"),
            "outside",
        ),
        bad(
            "no harmonics",
            edit(k7, "dbc = [-118.0, -120.0]", "dbc = []"),
            Some("dbc ="),
            "1 to 8",
        ),
        bad(
            "harmonic too strong",
            edit(k7, "dbc = [-118.0, -120.0]", "dbc = [-5.0]"),
            Some("dbc ="),
            "outside",
        ),
        bad(
            "nine harmonics",
            edit(
                k7,
                "dbc = [-118.0, -120.0]",
                "dbc = [-90, -90, -90, -90, -90, -90, -90, -90, -90]",
            ),
            Some("dbc ="),
            "not 9",
        ),
        bad(
            "bad polarity",
            edit(
                k7,
                "dbc = [-118.0, -120.0]",
                "dbc = [-118.0, -120.0]\npolarity = [2.0, 1.0]",
            ),
            Some("polarity"),
            "not +1 or -1",
        ),
        bad(
            "unknown gain-step kind",
            edit(k7, "steps = \"LowHigh\"", "steps = \"Two\""),
            Some("steps ="),
            "not one of",
        ),
        bad(
            "unknown volume law",
            edit(k7, "law = \"two_segment_db\"", "law = \"log\""),
            Some("law ="),
            "not one of",
        ),
        bad(
            "volume law missing a value",
            edit(k7, ", knee_db = -60.0 }", " }"),
            Some("law ="),
            "needs `knee_db`",
        ),
        bad(
            "volume law with a stray value",
            edit(user, "knee_db = -40 }", "knee_db = -40, step_db = 0.5 }"),
            Some("step_db"),
            "does not belong",
        ),
        bad(
            "knee above 0 dB",
            edit(user, "knee_db = -40 }", "knee_db = 3 }"),
            Some("knee_db"),
            "outside",
        ),
        bad(
            "three gains on a two-step amp",
            edit(
                user,
                "{ full_scale_vrms = 4, noise_uv_a = 3 }]",
                "{ full_scale_vrms = 4, noise_uv_a = 3 }, { full_scale_vrms = 5, noise_uv_a = 3 }]",
            ),
            Some("gains ="),
            "needs 2 entries",
        ),
        bad(
            "falling full scale",
            edit(
                user,
                "{ full_scale_vrms = 4, noise_uv_a = 3 }",
                "{ full_scale_vrms = 0.5, noise_uv_a = 3 }",
            ),
            Some("gains ="),
            "must not fall",
        ),
        bad(
            "negative z_out",
            edit(user, "z_out_ohms = 2.2", "z_out_ohms = -1"),
            Some("z_out_ohms"),
            "outside",
        ),
        bad(
            "zero rail",
            edit(user, "rail_vrms = 5,", "rail_vrms = 0,"),
            Some("rail_vrms"),
            "outside",
        ),
        bad(
            "negative infinite current",
            edit(user, "peak_current_a = 0.2", "peak_current_a = -inf"),
            Some("peak_current_a"),
            "outside",
        ),
        bad(
            "absurd noise",
            edit(user, "noise_uv_a = 2 }", "noise_uv_a = 1e9 }"),
            Some("noise_uv_a = 1e9"),
            "outside",
        ),
        bad(
            "words without a mapping",
            edit(k7, "slot = 2", "slot = 2\nfrom_reviewer_words = true"),
            Some("from_reviewer_words"),
            "reproduced = true",
        ),
        bad(
            "empty source",
            edit(
                user,
                "sources = [\"my own measurements\"]",
                "sources = [\"\"]",
            ),
            Some("sources"),
            "empty entry",
        ),
        bad(
            "sources as text",
            edit(
                user,
                "sources = [\"my own measurements\"]",
                "sources = \"mine\"",
            ),
            Some("sources"),
            "invalid type",
        ),
        bad(
            "25 bits",
            edit(k13, "bits = 24", "bits = 25"),
            Some("bits"),
            "outside 8 … 24",
        ),
        bad(
            "7 bits",
            edit(k13, "bits = 24", "bits = 7"),
            Some("bits"),
            "outside 8 … 24",
        ),
        bad(
            "bits as a float",
            edit(k13, "bits = 24", "bits = 24.0"),
            Some("bits"),
            "invalid type",
        ),
        bad(
            "tolerance 5 %",
            edit(k13, "tolerance_pct = 0.1", "tolerance_pct = 5"),
            Some("tolerance_pct"),
            "outside",
        ),
        bad(
            "unknown coding",
            edit(
                k13,
                "coding = \"Complementary\"",
                "coding = \"Twos complement\"",
            ),
            Some("coding"),
            "not one of",
        ),
        bad(
            "negative seed",
            edit(k13, "seed = 2345", "seed = -5"),
            Some("seed ="),
            "outside",
        ),
        bad(
            "huge switch bow",
            edit(k13, "switch_bow = 0.002", "switch_bow = 0.5"),
            Some("switch_bow = 0.5"),
            "outside",
        ),
        bad(
            "glitch of a second",
            edit(k13, "glitch_skew_s = 0.0", "glitch_skew_s = 1.0"),
            Some("glitch_skew_s"),
            "outside",
        ),
        bad(
            "binary junk",
            "schema = 1\n\u{0}\u{1}\u{2}junk\u{7f}".to_owned(),
            Some("junk"),
            "",
        ),
        bad("over 64 KiB", big, None, "64 KiB"),
        bad(
            "syntax error",
            edit(k7, "slot = 2", "slot = = 2"),
            Some("slot ="),
            "",
        ),
        bad(
            "duplicate key",
            edit(k7, "slot = 2", "slot = 2\nslot = 3"),
            Some("slot = 3"),
            "duplicate key",
        ),
    ]
}

fn bad_headphones() -> Vec<Bad> {
    let hd600 = factory_headphones()
        .iter()
        .position(|h| h.name == "Sennheiser HD600")
        .map(|i| index::FACTORY_HEADPHONES[i].1)
        .unwrap();
    let band = "\n[[peq.band]]\ntype = \"PK\"\nfreq_hz = 1000\ngain_db = 1\nq = 1\n";
    vec![
        // Named at the 11th band's `[[peq.band]]` header.
        Bad {
            line: Some(hd600.lines().count() + 2),
            ..bad(
                "eleven PEQ bands",
                format!("{hd600}{band}"),
                None,
                "at most 10",
            )
        },
        bad(
            "unknown band type",
            edit(hd600, "type = \"LSC\"", "type = \"Peak\""),
            Some("\"Peak\""),
            "not one of",
        ),
        bad(
            "band below 10 Hz",
            edit(hd600, "freq_hz = 105\n", "freq_hz = 5\n"),
            Some("freq_hz = 5"),
            "outside",
        ),
        bad(
            "band gain 40 dB",
            edit(hd600, "gain_db = 6.5", "gain_db = 40"),
            Some("gain_db = 40"),
            "outside",
        ),
        bad(
            "Q of zero",
            edit(hd600, "q = 0.55", "q = 0.0"),
            Some("q = 0.0"),
            "outside",
        ),
        bad(
            "preamp -40 dB",
            edit(hd600, "preamp_db = -6.3", "preamp_db = -40"),
            Some("preamp_db"),
            "outside",
        ),
        bad(
            "unknown band key",
            edit(hd600, "q = 0.55", "q = 0.55\nwidth = 1"),
            Some("width"),
            "unknown field",
        ),
        bad(
            "reserved slot",
            edit(hd600, "slot = 6", "slot = 1"),
            Some("slot ="),
            "reserved",
        ),
        bad(
            "headphone schema 2",
            edit(hd600, "schema = 1", "schema = 2"),
            Some("schema"),
            "not supported",
        ),
        bad(
            "both sensitivities",
            edit(
                hd600,
                "sensitivity_db_per_mw = 97.0",
                "sensitivity_db_per_mw = 97.0\nsensitivity_db_per_v = 102",
            ),
            Some("sensitivity_db_per_v"),
            "not both",
        ),
    ]
}

#[test]
fn malformed_files_are_refused_with_their_file_and_line() {
    let mut count = 0;
    let check = |b: &Bad, err: PresetError, file: &str| {
        let shown = err.to_string();
        println!("{:<36} {shown}", b.what);
        assert!(
            shown.starts_with(&format!("{file}:{}: ", err.line)),
            "{}: {shown}",
            b.what
        );
        assert!(err.line >= 1, "{}: {shown}", b.what);
        assert!(
            shown.contains(b.needle),
            "{}: {shown} should mention {:?}",
            b.what,
            b.needle
        );
        if let Some(line) = b.line {
            assert_eq!(err.line, line, "{}: {shown}", b.what);
        }
    };
    for b in bad_devices() {
        let err = parse_device(&b.text, "bad.toml").expect_err(b.what);
        check(&b, err, "bad.toml");
        count += 1;
    }
    for b in bad_headphones() {
        let err = headphone::parse(&b.text, "bad-hp.toml").expect_err(b.what);
        check(&b, err, "bad-hp.toml");
        count += 1;
    }

    // Files on disk: bad ones are reported and skipped, the good ones still load.
    let dir = temp_dir("bad");
    write(&dir, "devices/good.toml", USER_DEVICE);
    let same_slot = edit(USER_DEVICE, "name = \"My R2R\"", "name = \"My other R2R\"");
    write(&dir, "devices/same-slot.toml", &same_slot);
    write(
        &dir,
        "devices/wrong-override.toml",
        edit(index::FACTORY_DEVICES[2].1, "slot = 2", "slot = 9"),
    );
    write(
        &dir,
        "devices/factory-slot.toml",
        edit(USER_DEVICE, "slot = 20", "slot = 0").replace("My R2R", "Mine"),
    );
    let mut latin1 = USER_DEVICE.as_bytes().to_vec();
    latin1.extend_from_slice(b"\n# caf\xe9\n");
    write(&dir, "devices/latin1.toml", &latin1);
    write(&dir, "devices/huge.toml", "#\n".repeat(40_000));
    write(
        &dir,
        "headphones/custom-slot.toml",
        edit(USER_HEADPHONE, "slot = 30", "slot = 11"),
    );
    write(
        &dir,
        "headphones/factory-name.toml",
        edit(USER_HEADPHONE, "name = \"My IEM\"", "name = \"FiiO JD7\""),
    );
    let (devices, headphones, errors) = load_user_presets(&dir);
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, "My R2R");
    assert!(headphones.is_empty());
    let expect = [
        (
            "factory-slot.toml",
            line_with(USER_DEVICE, "slot ="),
            "belongs to the factory preset",
        ),
        ("huge.toml", 32_769, "64 KiB"),
        ("latin1.toml", USER_DEVICE.lines().count() + 2, "not UTF-8"),
        (
            "same-slot.toml",
            line_with(USER_DEVICE, "slot ="),
            "already used",
        ),
        (
            "wrong-override.toml",
            line_with(index::FACTORY_DEVICES[2].1, "slot ="),
            "which is in slot 2",
        ),
        (
            "custom-slot.toml",
            line_with(USER_HEADPHONE, "slot ="),
            "reserved",
        ),
        (
            "factory-name.toml",
            line_with(USER_HEADPHONE, "slot ="),
            "which is in slot 5",
        ),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (err, (file, line, needle)) in errors.iter().zip(expect) {
        let shown = err.to_string();
        println!("{:<36} {shown}", "(user folder)");
        assert!(err.file.ends_with(file), "{shown}");
        assert_eq!(err.line, line, "{shown}");
        assert!(shown.contains(needle), "{shown} should mention {needle:?}");
        count += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(count >= 30, "{count} cases");
}
