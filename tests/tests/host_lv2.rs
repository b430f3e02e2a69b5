//! The built LV2 bundle (`target/bundled/Sourcery.lv2`) in a real LV2 host: lilv's
//! `lv2info` reads its TTL and `lv2apply` runs the binary on WAV files.
//!
//! `lv2apply` calls `run()` with one frame at a time, so these tests also cover the smallest
//! block size. lilv itself, loaded at run time ([`lilv`]), saves and restores the plugin's
//! state and loads user preset bundles. Skipped (or failed, with `CI=true`) when lilv-utils,
//! `liblilv-0.so.0` or the bundle is missing.

mod lilv;

use std::path::{Path, PathBuf};
use std::process::Command;

use sourcery_dsp::params::ParamId;
use sourcery_dsp::presets::{HeadphoneSlot, Preset, PresetCurve};
use sourcery_dsp::{Engine, ParamKind, Settings, PARAMS};
use sourcery_tests::{
    bundle, gain_db, have_program, read_wav, rms_db, sine, skip_unless, write_wav, LV2_URI_MONO,
    LV2_URI_STEREO,
};

const RATE: u32 = 48_000;
/// The `device` control value of the transparent reference.
const IDEAL: f32 = sourcery_dsp::presets::DeviceSlot::IDEAL.0 as f32;

/// The bundle, when lilv-utils and the bundle are both available.
fn lv2_bundle() -> Option<PathBuf> {
    if !skip_unless(
        have_program("lv2apply") && have_program("lv2info"),
        "lilv-utils (lv2info, lv2apply)",
        "Install it with `sudo apt-get install lilv-utils`.",
    ) {
        return None;
    }
    bundle("Sourcery.lv2")
}

/// `LV2_PATH` for the host: the folder that holds the bundle.
fn lv2_path(bundle: &Path) -> &Path {
    bundle.parent().expect("the bundle is in a folder")
}

/// A fresh scratch folder for one test, under the target directory.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("host_lv2")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// Audio channels of each plugin.
fn channels(uri: &str) -> usize {
    if uri == LV2_URI_MONO {
        1
    } else {
        2
    }
}

/// Latency the plugin reports at `RATE` (the plugin prepares the same engine).
fn engine_latency(channels: usize) -> usize {
    let mut engine = Engine::new(&Settings::default());
    engine.prepare(RATE as f32, 4096, channels);
    engine.latency_samples()
}

/// Run `lv2apply` on `input`, with `controls` as `(symbol, value)`, and read the result.
fn lv2apply(
    bundle: &Path,
    uri: &str,
    dir: &Path,
    input: &[Vec<f32>],
    controls: &[(&str, f32)],
) -> Vec<Vec<f32>> {
    let in_path = dir.join("in.wav");
    let out_path = dir.join("out.wav");
    write_wav(&in_path, input, RATE);
    let mut command = Command::new("lv2apply");
    command
        .env("LV2_PATH", lv2_path(bundle))
        .arg("-i")
        .arg(&in_path)
        .arg("-o")
        .arg(&out_path);
    for (symbol, value) in controls {
        command.arg("-c").arg(symbol).arg(value.to_string());
    }
    let output = command.arg(uri).output().expect("start lv2apply");
    assert!(
        output.status.success(),
        "lv2apply failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let (rate, result) = read_wav(&out_path);
    assert_eq!(rate, RATE, "lv2apply keeps the sample rate");
    assert_eq!(result.len(), input.len(), "channel count");
    assert_eq!(result[0].len(), input[0].len(), "frame count");
    result
}

/// `lv2info URI` output.
fn lv2info(bundle: &Path, uri: &str) -> String {
    lv2info_with(bundle, &[], uri)
}

/// `lv2info URI` output, with the folders `extra` (holding more bundles, e.g. user presets)
/// on `LV2_PATH` after the bundle's.
fn lv2info_with(bundle: &Path, extra: &[&Path], uri: &str) -> String {
    let paths =
        std::env::join_paths(std::iter::once(lv2_path(bundle)).chain(extra.iter().copied()))
            .expect("LV2_PATH");
    let output = Command::new("lv2info")
        .env("LV2_PATH", paths)
        .arg(uri)
        .output()
        .expect("start lv2info");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && text.contains(uri),
        "lv2info does not find {uri}:\n{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// The value of an lv2info `Key: value` line, if `line` is one for `key`.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.trim().strip_prefix(key).map(str::trim)
}

/// The port symbols lv2info lists, in port-index order.
fn listed_symbols(info: &str) -> Vec<(usize, String)> {
    let mut ports = Vec::new();
    let mut current = None;
    for line in info.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Port ") {
            current = rest.trim_end_matches(':').parse::<usize>().ok();
        } else if let (Some(index), Some(symbol)) = (current, field(line, "Symbol:")) {
            ports.push((index, symbol.to_owned()));
        }
    }
    ports
}

/// Level of `output` relative to `input` over the frames after `skip`, aligning for the
/// plugin's latency.
fn level_db(input: &[f32], output: &[f32], latency: usize, skip: usize) -> f64 {
    let frames = output.len();
    gain_db(&input[skip - latency..frames - latency], &output[skip..])
}

#[test]
fn lv2info_lists_both_plugins_with_every_port() {
    let Some(bundle) = lv2_bundle() else { return };
    for (uri, name, audio) in [
        (
            LV2_URI_STEREO,
            "Sourcery",
            &["in_l", "in_r", "out_l", "out_r"][..],
        ),
        (LV2_URI_MONO, "Sourcery (mono)", &["in", "out"][..]),
    ] {
        let info = lv2info(&bundle, uri);
        assert!(
            info.lines().any(|l| field(l, "Name:") == Some(name)),
            "{uri}: name {name} not listed:\n{info}"
        );
        // Every port, in the documented order: audio in, audio out, PARAMS, latency,
        // freewheel.
        let mut expected: Vec<&str> = audio.to_vec();
        expected.extend(PARAMS.iter().map(|p| p.id));
        expected.extend(["latency", "freewheel"]);
        let listed = listed_symbols(&info);
        let symbols: Vec<&str> = listed.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(symbols, expected, "{uri}: port symbols");
        for (i, (index, _)) in listed.iter().enumerate() {
            assert_eq!(*index, i, "{uri}: port indices are contiguous");
        }
        let latency_port = expected.len() - 2;
        let has_latency = format!("yes, reported by port {latency_port}");
        assert!(
            info.lines()
                .any(|l| field(l, "Has latency:") == Some(has_latency.as_str())),
            "{uri}: latency port not recognised:\n{info}"
        );
        // Every enumeration label is a scale point.
        for spec in PARAMS {
            if let ParamKind::Enum { labels, .. } = spec.kind {
                for (i, label) in labels.iter().enumerate() {
                    let point = format!("{i} = \"{label}\"");
                    assert!(
                        info.lines().any(|l| l.trim() == point),
                        "{uri}: scale point {point} of {} missing",
                        spec.id
                    );
                }
            }
        }
    }
}

#[test]
fn lv2apply_output_trim_sets_the_level() {
    let Some(bundle) = lv2_bundle() else { return };
    for uri in [LV2_URI_STEREO, LV2_URI_MONO] {
        let n = channels(uri);
        let dir = scratch_dir(if n == 1 { "trim_mono" } else { "trim_stereo" });
        let frames = RATE as usize; // 1 s
        let input: Vec<Vec<f32>> = (0..n)
            .map(|ch| sine(1000.0, f64::from(RATE), frames, 0.5 - 0.2 * ch as f32))
            .collect();
        let output = lv2apply(&bundle, uri, &dir, &input, &[("output_trim_db", -6.0)]);
        let latency = engine_latency(n);
        // Skip the latency and the 10 ms gain ramp from the default (0 dB) to −6 dB.
        let skip = latency + RATE as usize / 20;
        for (ch, (x, y)) in input.iter().zip(&output).enumerate() {
            let db = level_db(x, y, latency, skip);
            println!("{uri} channel {ch}: {db:+.4} dB");
            assert!(
                (db + 6.0).abs() < 0.05,
                "{uri} channel {ch}: {db:+.4} dB, want −6"
            );
        }
    }
}

#[test]
fn lv2apply_survives_non_finite_and_denormal_samples() {
    let Some(bundle) = lv2_bundle() else { return };
    for uri in [LV2_URI_STEREO, LV2_URI_MONO] {
        let n = channels(uri);
        let dir = scratch_dir(if n == 1 { "burst_mono" } else { "burst_stereo" });
        let frames = RATE as usize;
        let burst_at = frames / 2;
        let clean: Vec<Vec<f32>> = (0..n)
            .map(|_| sine(1000.0, f64::from(RATE), frames, 0.5))
            .collect();
        let mut input = clean.clone();
        let burst = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.0e-40,
            -1.0e-42,
            f32::MIN_POSITIVE / 2.0,
            f32::NAN,
            f32::MAX,
            -f32::MAX,
        ];
        for channel in &mut input {
            channel[burst_at..burst_at + burst.len()].copy_from_slice(&burst);
        }
        let output = lv2apply(&bundle, uri, &dir, &input, &[("output_trim_db", -6.0)]);
        for (ch, y) in output.iter().enumerate() {
            if let Some(i) = y.iter().position(|x| !x.is_finite()) {
                panic!("{uri} channel {ch}: sample {i} is {}", y[i]);
            }
        }
        // The tail, 50 ms after the burst, is back at the trimmed level.
        let latency = engine_latency(n);
        let skip = burst_at + burst.len() + latency + RATE as usize / 20;
        for (ch, (x, y)) in clean.iter().zip(&output).enumerate() {
            let db = level_db(x, y, latency, skip);
            println!("{uri} channel {ch}: tail {db:+.4} dB");
            assert!(
                (db + 6.0).abs() < 0.05,
                "{uri} channel {ch}: tail at {db:+.4} dB"
            );
        }
    }
}

/// `dac_mode` set to NOS through its control port: the plugin builds the NOS stage on its
/// worker while `lv2apply` runs and swaps it in; over the last two seconds of a twenty-second
/// 20 kHz tone the zero-order hold's droop shows: NOS is 2.60 ± 0.1 dB below OS at 48 kHz
/// (the 48 kHz hold's −2.63 dB re 1 kHz, less OS mode's own 384 kHz staircase, −0.04 dB).
#[test]
fn lv2apply_dac_mode_nos_shows_the_hold_droop() {
    let Some(bundle) = lv2_bundle() else { return };
    let dir = scratch_dir("dac_mode");
    // The voicing is built before the first sample: a second is plenty.
    let frames = RATE as usize;
    let tone = sine(20_000.0, f64::from(RATE), frames, 0.5);
    let input = vec![tone.clone(), tone];
    let tail = |output: &[Vec<f32>]| rms_db(&output[0][frames / 4..]);
    let os = tail(&lv2apply(
        &bundle,
        LV2_URI_STEREO,
        &dir,
        &input,
        &[("dac_mode", 0.0)],
    ));
    let nos = tail(&lv2apply(
        &bundle,
        LV2_URI_STEREO,
        &dir,
        &input,
        &[("dac_mode", 1.0)],
    ));
    println!("20 kHz at 48 kHz: OS {os:.3} dB, NOS {nos:.3} dB RMS");
    // Hold droop re 1 kHz for a staircase at `fs`: NOS holds at 48 kHz, OS converts the
    // 8× oversampled codes, a staircase at 384 kHz.
    let droop = |f: f64, fs: f64| {
        let a = |f: f64| {
            let x = std::f64::consts::PI * f / fs;
            20.0 * (x.sin() / x).log10()
        };
        a(f) - a(1000.0)
    };
    let expected = droop(20_000.0, 48_000.0) - droop(20_000.0, 384_000.0);
    assert!(
        ((nos - os) - expected).abs() < 0.1,
        "NOS − OS = {:.3} dB, want {expected:.3}",
        nos - os
    );
}

/// The LV2 output, the control ports set, and the largest difference from the renderer.
type VsRenderer = (Vec<Vec<f32>>, Vec<(&'static str, f32)>, f32);

/// `lv2apply` with the control ports `settings` sets (those differing from the defaults)
/// against the renderer with the same settings: (the LV2 output, the controls, max |Δ| from
/// sample 0 after the plugin's latency).
fn lv2apply_vs_renderer(
    bundle: &Path,
    dir: &Path,
    input: &[Vec<f32>],
    settings: &Settings,
) -> VsRenderer {
    let defaults = sourcery_dsp::ParamValues::default();
    let values = settings.to_values();
    let controls: Vec<(&str, f32)> = PARAMS
        .iter()
        .zip(values.0.iter().zip(defaults.0.iter()))
        .filter(|(_, (v, d))| v != d)
        .map(|(spec, (v, _))| (spec.id, *v))
        .collect();
    let output = lv2apply(bundle, LV2_URI_STEREO, dir, input, &controls);
    let rendered = sourcery_dsp::render::render_blocks(
        settings,
        input,
        RATE as f32,
        sourcery_lv2_block(),
        &mut |_| {},
    );
    let diff = sourcery_tests::max_diff_after(&rendered, &output, engine_latency(2));
    (output, controls, diff)
}

/// `lv2apply` (which sets the control ports once, before the first `run`) gives exactly
/// what `cargo xtask render` gives for the same settings, from sample 0 (the LV2 output
/// carries the latency, which `lv2apply` does not remove): the plugin builds the ports'
/// voicing before its first sample.
#[test]
fn lv2apply_equals_the_renderer_from_sample_0() {
    let Some(bundle) = lv2_bundle() else { return };
    let dir = scratch_dir("renderer");
    let frames = RATE as usize / 2;
    let input = vec![
        sine(1000.0, f64::from(RATE), frames, 0.4),
        sine(15_000.0, f64::from(RATE), frames, 0.3),
    ];
    let k7 = sourcery_dsp::presets::DeviceSlot::by_id("fiio-k7").unwrap();
    let mut settings = Settings {
        device: k7,
        dac_mode: sourcery_dsp::dac::DacMode::Nos,
        output_trim_db: -2.0,
        ..Settings::default()
    };
    settings.peq.bands[2] =
        sourcery_dsp::peq::Band::new(sourcery_dsp::peq::FilterType::Peak, 2500.0, 4.0, 1.5);
    let (_, controls, diff) = lv2apply_vs_renderer(&bundle, &dir, &input, &settings);
    println!("lv2apply vs renderer ({controls:?}): max |Δ| {diff:e} from sample 0");
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
}

/// The listener's chain through the LV2 control ports — a 10 Ω source of their own, calibrated
/// SPL at 100 dB per 0 dBFS, the K7 at low gain on the Andromeda 2020 — equals the renderer
/// with the same settings from sample 0.
#[test]
fn lv2apply_your_chain_and_calibrated_spl_equal_the_renderer() {
    let Some(bundle) = lv2_bundle() else { return };
    let dir = scratch_dir("your-chain");
    let frames = RATE as usize / 2;
    let input = vec![
        sine(1000.0, f64::from(RATE), frames, 0.1),
        sine(15_000.0, f64::from(RATE), frames, 0.05),
    ];
    let mut settings = Settings {
        device: sourcery_dsp::presets::DeviceSlot::by_id("fiio-k7").unwrap(),
        headphone: sourcery_dsp::presets::HeadphoneSlot::by_id("campfire-andromeda-2020").unwrap(),
        gain: sourcery_dsp::amp::GainStep::Low,
        ..Settings::default()
    };
    settings.yours.z_out_custom = true;
    settings.yours.z_out_ohms = 10.0;
    settings.yours.spl_db = 100.0;
    settings.set_level_mode(sourcery_dsp::settings::LevelMode::Calibrated);
    let (output, controls, diff) = lv2apply_vs_renderer(&bundle, &dir, &input, &settings);
    let latency = engine_latency(2);
    let level = level_db(&input[0], &output[0], latency, frames / 4);
    println!("lv2apply, your chain ({controls:?}): max |Δ| {diff:e}, 1 kHz {level:+.3} dB");
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
    // Calibrated: the K7 at low gain, 50 %, plays a 0 dBFS sine at its SPL report's figure,
    // so a 1 kHz sine leaves at (that − 100 dB SPL) re its input.
    let report = settings
        .calibration_report(sourcery_dsp::presets::Catalogue::factory())
        .expect("the Andromeda has a sensitivity");
    let want = report.emulated.spl_full_scale_db - 100.0;
    assert!((level - want).abs() < 0.05, "{level:.3} vs {want:.3} dB");
}

/// The LV2 plugin's largest block (`sourcery_lv2::MAX_BLOCK`).
fn sourcery_lv2_block() -> usize {
    4096
}

/// The presets lv2info lists under "Presets:".
fn listed_presets(info: &str) -> Vec<String> {
    let mut presets = Vec::new();
    let mut inside = false;
    for line in info.lines() {
        let trimmed = line.trim();
        if let Some(first) = trimmed.strip_prefix("Presets:") {
            inside = true;
            if !first.trim().is_empty() {
                presets.push(first.trim().to_owned());
            }
        } else if inside {
            if trimmed.is_empty() || trimmed.ends_with(':') || trimmed.contains(": ") {
                break;
            }
            presets.push(trimmed.to_owned());
        }
    }
    presets
}

/// The `(symbol, value)` pairs of one preset in the bundle's `presets.ttl`, read the way a
/// host reads `lv2:port [ lv2:symbol …; pset:value … ]`.
fn preset_ports(bundle: &Path, preset_uri: &str) -> Vec<(String, f32)> {
    let ttl = std::fs::read_to_string(bundle.join("presets.ttl")).expect("presets.ttl");
    let start = ttl
        .find(&format!("<{preset_uri}>"))
        .unwrap_or_else(|| panic!("{preset_uri} is not in presets.ttl"));
    let block = &ttl[start..];
    let block = &block[..block.find(" .\n").expect("statement end")];
    block
        .split("lv2:symbol \"")
        .skip(1)
        .map(|part| {
            let (symbol, rest) = part.split_once('"').expect("symbol");
            let value = rest
                .split("pset:value")
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .map(|v| v.trim_end_matches(']'))
                .and_then(|v| v.parse::<f32>().ok())
                .expect("value");
            (symbol.to_owned(), value)
        })
        .collect()
}

/// Every factory preset (device voicings, headphones, pairings) is a `pset:Preset` of both
/// plugins, listed by lilv; applying a headphone preset's port values (what a host does when
/// it loads the preset) sets the headphone and its PEQ: with the HD600 preset, the 100 Hz
/// level re 1 kHz moves by its AutoEQ profile's response.
#[test]
fn lv2_headphone_presets_set_the_headphone_and_its_peq() {
    let Some(bundle) = lv2_bundle() else { return };
    let factory = sourcery_dsp::presets::factory_presets();
    for uri in [LV2_URI_STEREO, LV2_URI_MONO] {
        let presets = listed_presets(&lv2info(&bundle, uri));
        for headphone in sourcery_dsp::presets::Catalogue::factory().headphones() {
            assert!(
                presets.contains(&headphone.name),
                "{uri}: preset {} missing from {presets:?}",
                headphone.name
            );
        }
        for preset in factory {
            assert!(
                presets.contains(&preset.name),
                "{uri}: preset {} missing from {presets:?}",
                preset.name
            );
        }
        assert_eq!(presets.len(), factory.len(), "{uri}: {presets:?}");
    }

    let ports = preset_ports(&bundle, &format!("{LV2_URI_MONO}/presets/sennheiser-hd600"));
    let hd600 = sourcery_dsp::params::HEADPHONE_LABELS
        .iter()
        .position(|l| *l == "Sennheiser HD600")
        .unwrap();
    assert!(ports.contains(&("headphone".to_owned(), hd600 as f32)));
    let dir = scratch_dir("presets");
    // The preset's headphone is built before the first sample (the first `run` waits for
    // the worker), so the tail of two seconds is all the preset's.
    let frames = 2 * RATE as usize;
    let low = sine(100.0, f64::from(RATE), frames, 0.1);
    let mid = sine(1000.0, f64::from(RATE), frames, 0.1);
    let input: Vec<f32> = low.iter().zip(&mid).map(|(a, b)| a + b).collect();
    let tilt = |output: &[f32]| {
        let tail = &output[RATE as usize / 2..];
        let level = |f| sourcery_dsp::analysis::tone(tail, f64::from(RATE), f).level_db;
        level(100.0) - level(1000.0)
    };
    // The Ideal device, so that the two runs differ by the PEQ alone (the K13's ladder and
    // hiss would add their own few hundredths of a dB).
    let mut controls: Vec<(&str, f32)> = ports.iter().map(|(s, v)| (s.as_str(), *v)).collect();
    controls.push(("device", IDEAL));
    let with = tilt(
        &lv2apply(
            &bundle,
            LV2_URI_MONO,
            &dir,
            std::slice::from_ref(&input),
            &controls,
        )[0],
    );
    let without = tilt(
        &lv2apply(
            &bundle,
            LV2_URI_MONO,
            &dir,
            &[input],
            &[
                ("headphone", hd600 as f32),
                ("peq_on", 0.0),
                ("device", IDEAL),
            ],
        )[0],
    );
    let peq = sourcery_dsp::settings::headphone_peq(
        sourcery_dsp::presets::Catalogue::factory()
            .headphone(sourcery_dsp::presets::HeadphoneSlot(hd600))
            .expect("catalogue"),
    );
    let db = |f: f64| 20.0 * peq.response(f, f64::from(RATE)).norm().log10();
    let expected = db(100.0) - db(1000.0);
    println!(
        "HD600 preset: 100 Hz re 1 kHz {with:+.3} dB, without its PEQ {without:+.3} dB \
         (profile: {expected:+.3} dB)"
    );
    assert!(
        ((with - without) - expected).abs() < 0.01,
        "the preset's PEQ moved 100 Hz by {:.3} dB, its profile says {expected:.3}",
        with - without
    );
}

// ---------------------------------------------------------------------------------------
// User preset bundles and the plugin's state (the imported impedance curve), through lilv.

/// An IEM-like impedance curve that swings from 8 to 40 Ω, as a REW `.zma` file.
const IEM_ZMA: &str = "* an IEM, \"measured\"\n20 8.1 0\n500 9.0 5\n1000 12.0 20\n3000 40.0 60\n6000 20.0 -40\n10000 9.5 -10\n20000 9.0 0\n";

/// A user preset with an imported curve, the headphone set to "Custom (imported)" and a
/// 75 Ω source (so the load shapes the response), with a name that needs escaping.
fn curve_preset() -> Preset {
    Preset {
        id: "lilv-test".into(),
        name: "Lilv \"test\" \\ curve".into(),
        author: None,
        description: Some("A user preset with an imported curve.\nSecond line.".into()),
        tags: Vec::new(),
        basis: None,
        values: vec![
            (ParamId::OutputTrim, -1.5),
            (ParamId::Headphone, HeadphoneSlot::CUSTOM.0 as f32),
            (ParamId::ZOutCustom, 1.0),
            (ParamId::ZOutOhms, 75.0),
        ],
        custom_load: Some(PresetCurve {
            name: "my iem.zma".into(),
            text: IEM_ZMA.into(),
        }),
    }
}

/// A user preset bundle written by `write_user_lv2_preset` into a folder of its own is
/// listed by `lv2info` under both plugins' presets, with its label unescaped.
#[test]
fn lv2info_lists_a_user_preset_bundle() {
    let Some(bundle) = lv2_bundle() else { return };
    let dir = scratch_dir("user_preset_listed");
    let preset = curve_preset();
    let written = sourcery_dsp::presets::lv2::write_user_lv2_preset(&preset, &dir).unwrap();
    assert_eq!(written, dir.join("sourcery-lilv-test-curve.preset.lv2"));
    for uri in [LV2_URI_STEREO, LV2_URI_MONO] {
        let presets = listed_presets(&lv2info_with(&bundle, &[&dir], uri));
        println!(
            "{uri}: {} presets, the user's among them: {}",
            presets.len(),
            presets.contains(&preset.name)
        );
        assert!(
            presets.contains(&preset.name),
            "{uri}: {:?} missing from {presets:?}",
            preset.name
        );
        assert_eq!(
            presets.len(),
            sourcery_dsp::presets::factory_presets().len() + 1,
            "{uri}: the factory presets and the user's"
        );
    }
}

/// lilv loaded at run time and the bundle, when both are available.
fn lilv_and_bundle() -> Option<(lilv::Lilv, PathBuf)> {
    let bundle = lv2_bundle()?;
    match lilv::Lilv::load() {
        Ok(lilv) => Some((lilv, bundle)),
        Err(e) => {
            // Panics in CI; otherwise prints why the test is skipped.
            let _ = skip_unless(
                false,
                &format!("{} ({e})", lilv::Lilv::LIBRARY),
                "Install it with `sudo apt-get install liblilv-0-0` (lilv-utils depends on it).",
            );
            None
        }
    }
}

/// lilv, as a host does it: a user preset bundle with an imported curve is restored into an
/// instance (`lilv_state_new_from_file`, `lilv_state_restore`: the curve through the
/// plugin's `state:interface`, the ports through lilv), which then equals the engine with the
/// same settings and curve; its state saved (`lilv_state_new_from_instance`,
/// `lilv_state_to_string`) and restored into a fresh instance gives the same output sample for
/// sample; and the curve is what shapes it ("Resistive" differs by several dB).
#[test]
fn lilv_restores_user_preset_and_saved_state_with_the_curve() {
    let Some((lilv, bundle)) = lilv_and_bundle() else {
        return;
    };
    let dir = scratch_dir("lilv_state");
    let preset = curve_preset();
    let user_bundle = sourcery_dsp::presets::lv2::write_user_lv2_preset(&preset, &dir).unwrap();
    let world = lilv::World::new(lilv, &[&bundle, &user_bundle]);
    let plugin = world.plugin(LV2_URI_STEREO);

    // Control ports by symbol; every control at its default, as a host starts.
    let mut indices = std::collections::HashMap::new();
    for symbol in PARAMS.iter().map(|p| p.id).chain(["freewheel", "latency"]) {
        indices.insert(symbol.to_owned(), plugin.port_index(symbol));
    }
    let audio_in = [plugin.port_index("in_l"), plugin.port_index("in_r")];
    let audio_out = [plugin.port_index("out_l"), plugin.port_index("out_r")];
    let mut defaults = vec![0.0f32; PARAMS.len() + 6];
    for spec in PARAMS {
        defaults[indices[spec.id] as usize] = spec.default_value();
    }
    // Only input controls go to and from a state.
    let latency_index = indices.remove("latency").unwrap();

    let frames = RATE as usize / 2;
    let input = vec![
        sine(1000.0, f64::from(RATE), frames, 0.2)
            .iter()
            .zip(sine(3000.0, f64::from(RATE), frames, 0.2))
            .map(|(a, b)| a + b)
            .collect::<Vec<f32>>(),
        sine(3000.0, f64::from(RATE), frames, 0.3),
    ];
    const BLOCK: usize = 1024;

    // 1. The user preset bundle, restored into a new instance.
    let preset_file = user_bundle.join("lilv-test-curve.ttl");
    let preset_state = world.state_from_file(&preset_file);
    assert_eq!(preset_state.label().as_deref(), Some(preset.name.as_str()));
    let mut first = plugin.instantiate(f64::from(RATE), defaults.clone());
    first.restore(&preset_state, &indices);
    for &(id, value) in &preset.values {
        assert_eq!(
            first.controls[indices[id.spec().id] as usize],
            value,
            "{}",
            id.spec().id
        );
    }
    let from_preset = first.activate_and_process(&audio_in, &audio_out, &input, BLOCK);
    let latency = first.controls[latency_index as usize] as usize;
    assert_eq!(latency, engine_latency(2), "reported latency");

    // The engine with the same settings and the same curve (the renderer's path: prepared
    // with the settings, processed in the same blocks).
    let mut values = sourcery_dsp::ParamValues::default();
    preset.apply_to(&mut values);
    let settings = Settings::from_values(&values);
    let custom = sourcery_dsp::load::CustomLoad::default();
    let curve = preset.custom_load.as_ref().unwrap();
    custom
        .import(&curve.name, &curve.text)
        .expect("a valid curve");
    let mut engine = Engine::with_custom_load(&settings, custom);
    engine.prepare(RATE as f32, 4096, 2);
    engine.set_offline(true);
    let mut expected = input.clone();
    for start in (0..frames).step_by(BLOCK) {
        let end = (start + BLOCK).min(frames);
        let (left, right) = expected.split_at_mut(1);
        engine.process(&mut [&mut left[0][start..end], &mut right[0][start..end]]);
    }
    let vs_engine = sourcery_tests::max_diff_after(&expected, &from_preset, 0);

    // 2. Its state, saved by lilv and restored into a fresh instance.
    let saved = first.save_to_string(&indices);
    for needle in [
        "<https://sourcery.audio/lv2/sourcery#custom_load_name>",
        "<https://sourcery.audio/lv2/sourcery#custom_load>",
        "my iem.zma",
        "3000 40.0 60",
    ] {
        assert!(
            saved.contains(needle),
            "{needle} missing from the saved state:\n{saved}"
        );
    }
    drop(first);
    let saved_state = world.state_from_string(&saved);
    let mut second = plugin.instantiate(f64::from(RATE), defaults.clone());
    second.restore(&saved_state, &indices);
    let restored_controls = second.controls.clone();
    let restored = second.activate_and_process(&audio_in, &audio_out, &input, BLOCK);
    let round_trip = sourcery_tests::max_diff_after(&from_preset, &restored, 0);

    // 3. The same ports with "Resistive": the curve is what shaped the output.
    let mut resistive_controls = restored_controls.to_vec();
    resistive_controls[indices["headphone"] as usize] = HeadphoneSlot::RESISTIVE.0 as f32;
    let mut third = plugin.instantiate(f64::from(RATE), resistive_controls);
    let resistive = third.activate_and_process(&audio_in, &audio_out, &input, BLOCK);
    let skip = latency + RATE as usize / 20;
    let curve_db = rms_db(&from_preset[0][skip..]);
    let resistive_db = rms_db(&resistive[0][skip..]);
    let vs_resistive = sourcery_tests::max_diff_after(&from_preset, &resistive, 0);

    println!(
        "user preset vs engine: max |Δ| {vs_engine:e}; saved → restored: max |Δ| {round_trip:e}; \
         RMS {curve_db:.2} dB with the curve, {resistive_db:.2} dB resistive (max |Δ| {vs_resistive:.3})"
    );
    assert!(
        vs_engine <= 1e-6,
        "the preset's output differs from the engine by {vs_engine:e}"
    );
    assert_eq!(round_trip, 0.0, "the restored state's output differs");
    assert!(
        (curve_db - resistive_db).abs() > 3.0 && vs_resistive > 0.1,
        "the curve changed nothing ({curve_db:.2} vs {resistive_db:.2} dB)"
    );
}
