//! The built `Sourcery.clap` loaded by a CLAP host (`sourcery_tests::clap_host`) the way a
//! DAW loads it: sample rates, block sizes, mono/stereo, parameters, state, bad input, and
//! (on the debug build, which aborts on any allocation in `process()`) real-time safety.
//!
//! Each check is a function taking the plugin file, so the allocation test can run all of
//! them on the debug build in a child process.

use std::path::{Path, PathBuf};
use std::process::Command;

use clack_extensions::params::ParamInfoFlags;
use sourcery_tests::clap_host::{param_id, plugin_ids, ClapInstance, ParamInfo};
use sourcery_tests::{bundle, bundle_dir, gain_db, sine, skip_unless, CLAP_ID};

const SAMPLE_RATES: [f64; 4] = [44_100.0, 48_000.0, 96_000.0, 192_000.0];
const MAX_FRAMES: u32 = 4096;
/// Block plans, each used cyclically; the first is the reference the others must match.
const BLOCK_PLANS: [&[usize]; 6] = [
    &[4096],
    &[1],
    &[7],
    &[64],
    &[512],
    &[1, 13, 512, 7, 4096, 64, 333],
];
/// Level tolerance at default settings (identity), dB.
const LEVEL_TOL_DB: f64 = 0.01;
/// Allowed difference between block-split and single-size output.
const SPLIT_TOL: f32 = 1e-6;
/// Skipped at the start of level measurements (covers the 10 ms parameter ramps), seconds.
const SETTLE_S: f64 = 0.02;

/// Parameters that must exist: string id, display name.
const EXPECTED_PARAMS: [(&str, &str); 27] = [
    ("bypass", "Bypass"),
    ("level_match", "Level Match"),
    ("output_trim_db", "Output Trim"),
    ("device", "Device"),
    ("headphone", "Headphone"),
    ("dac_mode", "DAC Mode"),
    ("os_filter", "OS Filter"),
    ("dac_rate", "DAC Rate"),
    ("decimator", "Decimator"),
    ("r2r_custom", "Custom Ladder"),
    ("r2r_bits", "Ladder Bits"),
    ("r2r_tolerance_pct", "Resistor Tolerance"),
    ("r2r_coding", "Ladder Coding"),
    ("r2r_seed", "Ladder Seed"),
    ("output", "Output"),
    ("gain", "Gain"),
    ("volume", "Volume"),
    ("z_out_custom", "Custom Output Impedance"),
    ("z_out_ohms", "Output Impedance"),
    ("load_ohms", "Resistive Load"),
    ("your_source", "Your Source"),
    ("your_output", "Your Output"),
    ("your_z_out_custom", "Your Custom Output Impedance"),
    ("your_z_out_ohms", "Your Output Impedance"),
    ("level_calibrated", "Calibrated SPL"),
    ("your_spl_db", "Your SPL at 0 dBFS"),
    ("your_noise_uv", "Your Noise Floor"),
];

/// Environment variable that makes [`debug_build_alloc_child`] run (value: plugin path).
const ALLOC_CHILD_ENV: &str = "SOURCERY_CLAP_ALLOC_CHILD";

// ---------------------------------------------------------------------------------------
// Helpers.

fn load(path: &Path) -> ClapInstance {
    ClapInstance::load(path, CLAP_ID).unwrap_or_else(|e| panic!("{e}"))
}

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// `channels` copies of a 1 kHz sine at −6 dBFS peak.
fn test_signal(sample_rate: f64, seconds: f64, channels: usize) -> Vec<Vec<f32>> {
    let x = sine(1000.0, sample_rate, (sample_rate * seconds) as usize, 0.5);
    vec![x; channels]
}

fn assert_finite(output: &[Vec<f32>], what: &str) {
    for (ch, x) in output.iter().enumerate() {
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            panic!("{what}: channel {ch} sample {i} is {}", x[i]);
        }
    }
}

/// Output level relative to input in dB per channel, skipping `latency` + [`SETTLE_S`].
fn levels_db(input: &[Vec<f32>], output: &[Vec<f32>], latency: usize, sr: f64) -> Vec<f64> {
    let skip = latency + (SETTLE_S * sr) as usize;
    input
        .iter()
        .zip(output)
        .map(|(x, y)| {
            assert!(
                y.len() > skip + 1000,
                "signal too short for the latency {latency}"
            );
            gain_db(&x[skip - latency..x.len() - latency], &y[skip..])
        })
        .collect()
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

fn param<'a>(params: &'a [ParamInfo], string_id: &str) -> &'a ParamInfo {
    let id = param_id(string_id);
    params
        .iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("no parameter `{string_id}` (CLAP id {id}) in {params:#?}"))
}

/// CLAP value of the trim parameter for `db`, parsed by the plugin (independent of skew).
fn trim_value(plugin: &mut ClapInstance, db: f64) -> f64 {
    let id = param_id("output_trim_db");
    plugin
        .text_to_value(id, &format!("{db} dB"))
        .unwrap_or_else(|| panic!("the plugin cannot parse \"{db} dB\" for output_trim_db"))
}

// ---------------------------------------------------------------------------------------
// Checks (shared by the release tests and the debug-build allocation test).

/// Stereo at every sample rate with every block plan: finite, identity level, and block
/// splitting does not change a sample.
fn check_sweep(path: &Path, seconds: f64) {
    for sr in SAMPLE_RATES {
        let mut plugin = load(path);
        let input = test_signal(sr, seconds, 2);
        let mut reference: Option<Vec<Vec<f32>>> = None;
        let (mut worst_level, mut worst_diff) = (0.0f64, 0.0f32);
        for plan in BLOCK_PLANS {
            // Reactivating gives every plan the same fresh start.
            ok(plugin.activate(sr, MAX_FRAMES, 2));
            let output = ok(plugin.process_signal(&input, plan));
            let what = format!("{sr} Hz, blocks {plan:?}");
            assert_finite(&output, &what);
            let latency = plugin.latency() as usize;
            for (ch, level) in levels_db(&input, &output, latency, sr)
                .into_iter()
                .enumerate()
            {
                assert!(
                    level.abs() <= LEVEL_TOL_DB,
                    "{what}: channel {ch} level {level:+.4} dB, want 0 ± {LEVEL_TOL_DB}"
                );
                worst_level = worst_level.max(level.abs());
            }
            match &reference {
                None => reference = Some(output),
                Some(r) => {
                    let diff = max_abs_diff(r, &output);
                    assert!(
                        diff <= SPLIT_TOL,
                        "{what}: differs from blocks of {} by up to {diff:e}",
                        MAX_FRAMES
                    );
                    worst_diff = worst_diff.max(diff);
                }
            }
        }
        assert!(
            !plugin.take_restart_request(),
            "{sr} Hz: the plugin asked for a restart while processing at default settings"
        );
        let latency = plugin.latency();
        println!(
            "sweep {sr} Hz stereo: latency {latency}, worst |level| {worst_level:.5} dB, \
             worst block-split diff {worst_diff:e}"
        );
    }
}

/// The mono port configuration (1 in / 1 out) activates and processes.
fn check_mono(path: &Path) {
    let mut plugin = load(path);
    let configs = plugin.port_configs();
    println!("port configurations: {configs:?}");
    assert!(
        configs
            .iter()
            .any(|c| c.main_input_channels == 2 && c.main_output_channels == 2),
        "no stereo configuration in {configs:?}"
    );
    assert!(
        configs
            .iter()
            .any(|c| c.main_input_channels == 1 && c.main_output_channels == 1),
        "no mono configuration in {configs:?}"
    );
    for sr in [44_100.0, 48_000.0] {
        let input = test_signal(sr, 0.5, 1);
        let mut reference: Option<Vec<Vec<f32>>> = None;
        for plan in [&[1024][..], &[1, 13, 512, 7, 333]] {
            ok(plugin.activate(sr, 1024, 1));
            assert_eq!(plugin.main_port_channels(), (1, 1));
            let output = ok(plugin.process_signal(&input, plan));
            assert_finite(&output, "mono");
            let latency = plugin.latency() as usize;
            let level = levels_db(&input, &output, latency, sr)[0];
            assert!(
                level.abs() <= LEVEL_TOL_DB,
                "mono {sr} Hz, blocks {plan:?}: level {level:+.4} dB"
            );
            match &reference {
                None => reference = Some(output),
                Some(r) => {
                    let diff = max_abs_diff(r, &output);
                    assert!(diff <= SPLIT_TOL, "mono {sr} Hz: block split diff {diff:e}");
                }
            }
            println!("mono {sr} Hz blocks {plan:?}: latency {latency}, level {level:+.5} dB");
        }
    }
    // And back to stereo on the same instance.
    ok(plugin.activate(48_000.0, 1024, 2));
    assert_eq!(plugin.main_port_channels(), (2, 2));
}

/// Trim −6 dB set by its CLAP id: −6 ± 0.05 dB after the ramp, also when changed mid-stream.
fn check_trim(path: &Path) {
    let sr = 48_000.0;
    let mut plugin = load(path);
    ok(plugin.activate(sr, 512, 2));
    let id = param_id("output_trim_db");
    let value = trim_value(&mut plugin, -6.0);
    assert!(
        (0.0..=1.0).contains(&value),
        "CLAP value {value} not normalized"
    );
    plugin.set_param(id, value);
    let input = test_signal(sr, 0.5, 2);
    let output = ok(plugin.process_signal(&input, &[512]));
    assert_finite(&output, "trim −6 dB");
    let latency = plugin.latency() as usize;
    let levels = levels_db(&input, &output, latency, sr);
    for (ch, level) in levels.iter().enumerate() {
        assert!(
            (level + 6.0).abs() <= 0.05,
            "trim −6 dB: channel {ch} level {level:+.4} dB"
        );
    }
    let read_back = plugin
        .get_param_value(id)
        .expect("get_value of output_trim_db");
    assert!(
        (read_back - value).abs() < 1e-6,
        "get_value {read_back} after setting {value}"
    );
    let text = plugin.value_to_text(id, read_back).unwrap_or_default();
    println!(
        "trim −6 dB: CLAP value {value} (linear −24..24 would be {}), text \"{text}\", \
         levels {levels:?} dB",
        (-6.0 + 24.0) / 48.0
    );

    // Back to 0 dB in the middle of a stream of odd-sized blocks.
    let zero = trim_value(&mut plugin, 0.0);
    plugin.set_param(id, zero);
    let output = ok(plugin.process_signal(&input, &[7, 333, 64]));
    assert_finite(&output, "trim back to 0 dB");
    for level in levels_db(&input, &output, latency, sr) {
        assert!(
            level.abs() <= 0.05,
            "trim back to 0 dB: level {level:+.4} dB"
        );
    }
}

/// State saved from A (trim −9 dB) loaded into a fresh B: same values, same output.
fn check_state(path: &Path) {
    let sr = 48_000.0;
    let id = param_id("output_trim_db");
    let input = test_signal(sr, 0.25, 2);

    let mut a = load(path);
    ok(a.activate(sr, 512, 2));
    let value = trim_value(&mut a, -9.0);
    a.set_param(id, value);
    // A headphone and a PEQ band (a +6 dB, Q 2 peak at 100 Hz: < 0.02 dB at 1 kHz) travel
    // in the state too.
    for (param, text) in [
        ("headphone", "Sennheiser HD600"),
        ("peq1_type", "PK"),
        ("peq1_freq_hz", "100"),
        ("peq1_gain_db", "6"),
        ("peq1_q", "2"),
    ] {
        let id = param_id(param);
        let value = a
            .text_to_value(id, text)
            .unwrap_or_else(|| panic!("{param} cannot parse \"{text}\""));
        a.set_param(id, value);
    }
    ok(a.process_signal(&input, &[512]));
    let state = ok(a.save_state());

    // B loads the state before activation, as when a DAW opens a project.
    let mut b = load(path);
    ok(b.load_state(&state));
    ok(b.activate(sr, 512, 2));

    // Give A the same fresh start (activation resets the ramps to the current values).
    ok(a.activate(sr, 512, 2));
    for p in a.params() {
        let (va, vb) = (a.get_param_value(p.id), b.get_param_value(p.id));
        assert_eq!(
            va, vb,
            "parameter {} differs after the state round trip",
            p.name
        );
    }
    let out_a = ok(a.process_signal(&input, &[512]));
    let out_b = ok(b.process_signal(&input, &[512]));
    let diff = max_abs_diff(&out_a, &out_b);
    assert!(diff <= SPLIT_TOL, "A and B differ by up to {diff:e}");
    let latency = b.latency() as usize;
    let level = levels_db(&input, &out_b, latency, sr)[0];
    assert!(
        (level + 9.0).abs() <= 0.05,
        "B level {level:+.4} dB, want −9"
    );

    // Loading into an instance that is already active and processing works too.
    let mut c = load(path);
    ok(c.activate(sr, 512, 2));
    ok(c.process_signal(&input, &[512]));
    ok(c.load_state(&state));
    // The state's headphone is a new chain, built on the worker and swapped in under a
    // fade while processing: let that happen before measuring.
    let silence = vec![vec![0.0f32; 512]; 2];
    ok(c.process_signal(&silence, &[512]));
    std::thread::sleep(std::time::Duration::from_millis(100));
    ok(c.process_signal(&input, &[512]));
    let out_c = ok(c.process_signal(&input, &[512]));
    let level_c = levels_db(&input, &out_c, latency, sr)[0];
    assert!(
        (level_c + 9.0).abs() <= 0.05,
        "C level {level_c:+.4} dB, want −9"
    );
    println!(
        "state: {} bytes, A vs B max diff {diff:e}, B level {level:+.5} dB, \
         loaded-while-active level {level_c:+.5} dB",
        state.len()
    );
}

/// Replaces input sample `i` (value `x`) of a poisoned block.
type Poison = fn(usize, f32) -> f32;

/// NaN, ±Inf and denormal bursts never make later output non-finite, and the block after a
/// burst is at the expected level.
fn check_bad_input(path: &Path) {
    let sr = 48_000.0;
    let block = 1024;
    let mut plugin = load(path);
    ok(plugin.activate(sr, block as u32, 2));
    let latency = plugin.latency() as usize;
    let clean = sine(1000.0, sr, block * 8, 0.5);
    let bursts: [(&str, Poison); 5] = [
        ("NaN", |_, _| f32::NAN),
        ("+Inf", |_, _| f32::INFINITY),
        ("-Inf", |_, _| f32::NEG_INFINITY),
        ("denormals", |i, _| if i % 2 == 0 { 1e-40 } else { -1e-40 }),
        ("mixed", |i, x| match i % 5 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => 1e-40,
            _ => x,
        }),
    ];
    for (name, poison) in bursts {
        // Blocks 0–2 clean, block 3 poisoned, blocks 4–7 clean.
        let mut x = clean.clone();
        for (i, v) in x[3 * block..4 * block].iter_mut().enumerate() {
            *v = poison(i, *v);
        }
        let input = vec![x.clone(), x];
        let output = ok(plugin.process_signal(&input, &[block]));
        for (ch, y) in output.iter().enumerate() {
            // The engine replaces non-finite input by silence: no output sample, not even
            // inside the burst, may be non-finite.
            let after = 4 * block + latency;
            if let Some(i) = (0..y.len()).find(|i| !y[*i].is_finite()) {
                panic!(
                    "{name} burst at {}..{}: channel {ch} sample {i} is {}",
                    3 * block,
                    4 * block,
                    y[i]
                );
            }
            let next = &y[after..after + block];
            let level = gain_db(&clean[4 * block..5 * block], next);
            assert!(
                level.abs() <= 0.1,
                "{name} burst: channel {ch}, block after the burst at {level:+.3} dB"
            );
            let last = gain_db(
                &clean[7 * block - latency..8 * block - latency],
                &y[7 * block..],
            );
            assert!(
                last.abs() <= LEVEL_TOL_DB,
                "{name} burst: channel {ch}, last block at {last:+.4} dB"
            );
            if ch == 0 {
                println!(
                    "bad input {name}: block after the burst {level:+.5} dB, last {last:+.5} dB"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests against the release bundle.

fn release_bundle() -> Option<PathBuf> {
    bundle("Sourcery.clap")
}

/// Activation tells the host its latency from inside `activate` (`clap_host_latency.changed`,
/// as CLAP allows) and never asks for a restart: not on the first activation, not on a
/// sample-rate change, and the same rate again reports nothing new. The latency is the
/// rate's bound (README table).
#[test]
fn activation_reports_latency_without_restart() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    let mut plugin = load(&path);
    let mut seen = Vec::new();
    for (sr, expect_change) in [(44_100.0, true), (44_100.0, false), (48_000.0, true)] {
        ok(plugin.activate(sr, 512, 2));
        let changed = plugin.take_latency_changed();
        let latency = plugin.latency();
        assert_eq!(changed, expect_change, "{sr} Hz: latency change reported");
        assert_eq!(plugin.restarts(), 0, "{sr} Hz: a restart was asked");
        assert_eq!(impulse_peak(&mut plugin), latency as usize, "{sr} Hz");
        seen.push((sr, latency));
    }
    println!("latency per activation (no restart): {seen:?}");
    assert_eq!(seen[0].1, seen[1].1);
    assert_ne!(seen[0].1, seen[2].1);
}

#[test]
fn factory_lists_sourcery() {
    let Some(path) = release_bundle() else { return };
    let ids = ok(plugin_ids(&path));
    assert!(
        ids.iter().any(|id| id == CLAP_ID),
        "{CLAP_ID} not in {ids:?}"
    );
}

#[test]
fn sample_rates_and_block_sizes() {
    let Some(path) = release_bundle() else { return };
    check_sweep(&path, 0.5);
}

#[test]
fn mono_port_configuration() {
    let Some(path) = release_bundle() else { return };
    check_mono(&path);
}

#[test]
fn parameters_are_enumerated() {
    let Some(path) = release_bundle() else { return };
    let mut plugin = load(&path);
    let params = plugin.params();
    let mut ids: Vec<u32> = params.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), params.len(), "duplicate parameter ids");
    for (string_id, name) in EXPECTED_PARAMS {
        let p = param(&params, string_id);
        assert_eq!(p.name, name, "name of `{string_id}`");
        assert_eq!(plugin.param_by_name(name).map(|q| q.id), Some(p.id));
    }

    let bypass = param(&params, "bypass");
    assert!(
        bypass.is_stepped() && bypass.step_count() == Some(1),
        "{bypass:?}"
    );
    assert_eq!(bypass.default, 0.0, "bypass is off by default");
    assert!(
        bypass.flags.contains(ParamInfoFlags::IS_BYPASS),
        "bypass is flagged so hosts link their bypass button to it"
    );
    let level_match = param(&params, "level_match");
    assert!(level_match.is_stepped() && level_match.step_count() == Some(1));
    assert_eq!(level_match.default, 1.0, "level match is on by default");

    let trim = param(&params, "output_trim_db");
    assert!(!trim.is_stepped(), "{trim:?}");
    assert_eq!(
        (trim.min, trim.max),
        (0.0, 1.0),
        "continuous = normalized in nice-plug"
    );
    let zero = trim_value(&mut plugin, 0.0);
    assert!(
        (trim.default - zero).abs() < 1e-6,
        "trim default {} ≠ 0 dB",
        trim.default
    );
    for (db, text_must_contain) in [(-24.0, "-24"), (24.0, "24"), (0.0, "0")] {
        let v = trim_value(&mut plugin, db);
        let text = plugin.value_to_text(trim.id, v).unwrap_or_default();
        assert!(
            text.contains(text_must_contain),
            "{db} dB shows as \"{text}\""
        );
        assert!(text.contains("dB"), "unit missing in \"{text}\"");
    }
    assert!(
        (trim_value(&mut plugin, -24.0)).abs() < 1e-6,
        "−24 dB is the minimum"
    );
    assert!(
        (trim_value(&mut plugin, 24.0) - 1.0).abs() < 1e-6,
        "+24 dB is the maximum"
    );

    for (string_id, label) in [
        ("device", "FiiO K13 R2R"),
        ("headphone", "Campfire Andromeda 2020"),
    ] {
        let p = param(&params, string_id).clone();
        let steps = p
            .step_count()
            .unwrap_or_else(|| panic!("`{string_id}` is not stepped"));
        let labels: Vec<String> = (0..=steps)
            .map(|i| plugin.value_to_text(p.id, f64::from(i)).unwrap_or_default())
            .collect();
        assert!(
            labels.iter().any(|l| l == label),
            "`{string_id}` labels {labels:?} lack \"{label}\""
        );
        let current = plugin.get_param_value(p.id).expect("get_value");
        assert_eq!(current, p.default, "`{string_id}` starts at its default");
        println!("{string_id}: {} values, labels {labels:?}", steps + 1);
    }
    for p in &params {
        println!(
            "param {:>10} {:<14} module {:?} range {}..{} default {} flags {:?}",
            p.id, p.name, p.module, p.min, p.max, p.default, p.flags
        );
    }
}

#[test]
fn output_trim_by_id() {
    let Some(path) = release_bundle() else { return };
    check_trim(&path);
}

#[test]
fn flushed_parameters_are_visible_without_processing() {
    let Some(path) = release_bundle() else { return };
    let mut plugin = load(&path);
    let id = param_id("output_trim_db");
    let value = trim_value(&mut plugin, -3.0);
    // Inactive: flush on the main thread.
    plugin.set_param(id, value);
    ok(plugin.flush_params());
    assert_eq!(plugin.get_param_value(id), Some(value));
    // Active: flush on the audio thread.
    ok(plugin.activate(48_000.0, 512, 2));
    let zero = trim_value(&mut plugin, 0.0);
    plugin.set_param(id, zero);
    ok(plugin.flush_params());
    assert_eq!(plugin.get_param_value(id), Some(zero));

    // The single-block API: one call, separate output buffers; after the ramp from −3 dB
    // (flushed before activation) to 0 dB the output equals the input.
    let x = sine(1000.0, 48_000.0, 512, 0.5);
    let (mut left, mut right) = (vec![f32::NAN; 512], vec![f32::NAN; 512]);
    for _ in 0..4 {
        ok(plugin.process(&[&x, &x], &mut [&mut left, &mut right]));
    }
    let level = gain_db(&x, &right);
    assert!(
        level.abs() <= LEVEL_TOL_DB,
        "process(): level {level:+.4} dB"
    );
    // The channels differ only by the amp's hiss, which is independent per channel (the
    // default K13 at 50 % volume: about −67 dB re full scale, peaks below 3e-3).
    let apart = left
        .iter()
        .zip(&right)
        .fold(0.0f32, |m, (l, r)| m.max((l - r).abs()));
    assert!(apart < 3e-3, "channels differ by {apart:e}");
}

#[test]
fn state_round_trip() {
    let Some(path) = release_bundle() else { return };
    check_state(&path);
}

#[test]
fn bad_input_never_poisons_output() {
    let Some(path) = release_bundle() else { return };
    check_bad_input(&path);
}

// ---------------------------------------------------------------------------------------
// Real-time safety on the debug build.

/// `target/debug/libsourcery.so` (or the platform's name for it).
fn debug_library() -> PathBuf {
    let target = bundle_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    target.join("debug").join(format!(
        "{}sourcery{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Runs every check above on the debug build, whose nice-plug `assert_process_allocs`
/// aborts the process on any allocation inside `process()`. It runs in a child process
/// (this test binary again, filtered to [`debug_build_alloc_child`]) so an abort is
/// reported as a failure instead of killing the other tests.
#[test]
fn debug_build_never_allocates_in_process() {
    let lib = debug_library();
    if !skip_unless(
        lib.exists(),
        &format!("the debug build {}", lib.display()),
        "Build it with `cargo build -p sourcery`.",
    ) {
        return;
    }
    let exe = std::env::current_exe().expect("path of this test binary");
    let out = Command::new(exe)
        .args([
            "debug_build_alloc_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ALLOC_CHILD_ENV, &lib)
        .output()
        .expect("re-running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = |s: &str| {
        let skip = s.chars().count().saturating_sub(6000);
        s.chars().skip(skip).collect::<String>()
    };
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the checks failed on the debug build ({}). An abort (SIGABRT) after \"memory \
         allocation of N bytes failed\" is nice-plug's assert_process_allocs catching an \
         allocation inside process().\n--- child stdout ---\n{}\n--- child stderr ---\n{}",
        out.status,
        tail(&stdout),
        tail(&stderr)
    );
    println!("{stdout}");
}

/// Child half of [`debug_build_never_allocates_in_process`]; does nothing unless
/// `SOURCERY_CLAP_ALLOC_CHILD` names the plugin to check.
#[test]
fn debug_build_alloc_child() {
    let Some(lib) = std::env::var_os(ALLOC_CHILD_ENV) else {
        return;
    };
    let lib = PathBuf::from(lib);
    println!("checking {}", lib.display());
    check_sweep(&lib, 0.25);
    check_mono(&lib);
    check_trim(&lib);
    check_state(&lib);
    check_bad_input(&lib);
}

/// A structural parameter (`dac_mode` → NOS) is built off the audio thread while the host
/// keeps processing; the new latency makes nice-plug ask for a restart, which a DAW grants.
/// Afterwards the zero-order hold's droop is there: 20 kHz falls by 3.16 ± 0.1 dB at 44.1 kHz
/// relative to OS mode.
/// The impulse peak of the running plugin (stereo, from the left channel).
fn impulse_peak(plugin: &mut ClapInstance) -> usize {
    let latency = plugin.latency() as usize;
    let mut x = vec![0.0f32; latency + 4096];
    x[0] = 0.5;
    let y = ok(plugin.process_signal(&[x.clone(), x], &[512]));
    sourcery_dsp::analysis::impulse_peak(&y[0])
}

/// Switch parameters in while processing, as a user does, and let the plugin's worker build
/// and swap in the new chain: a block with the change, a pause (the worker runs in real
/// time), then a quarter second of silence past the swap fades.
fn switch_in(plugin: &mut ClapInstance, sr: f64, changes: &[(&str, f64)]) {
    for (id, value) in changes {
        plugin.set_param(param_id(id), *value);
    }
    let silence = vec![vec![0.0f32; 512]; 2];
    ok(plugin.process_signal(&silence, &[512]));
    std::thread::sleep(std::time::Duration::from_millis(40));
    let quarter = vec![vec![0.0f32; (sr / 4.0) as usize]; 2];
    ok(plugin.process_signal(&quarter, &[512]));
    plugin.pump_main_thread();
}

/// Every device × OS (each OS filter, and the device's own) and NOS, switched in while the
/// plugin processes at 48 kHz: the reported latency stays, no restart or latency change is
/// asked of the host, and an impulse peaks at the latency every time. Then the K13 in NOS
/// shows the 48 kHz hold's droop at 20 kHz against OS.
#[test]
fn latency_stays_while_every_voicing_is_switched_in() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    let sr = 48_000.0;
    let mut plugin = load(&path);
    ok(plugin.activate(sr, 512, 2));
    let latency = plugin.latency();
    assert_eq!(impulse_peak(&mut plugin), latency as usize);
    // What activation reported is the host's to read; from here on nothing may change.
    plugin.take_latency_changed();
    plugin.take_restart_request();
    let filters = sourcery_dsp::dac::OsFilter::ALL.len() + 1;
    let mut steps = 0;
    for device in 0..sourcery_dsp::params::DEVICE_LABELS.len() {
        let voicings = (0..filters)
            .map(|f| (0.0, f as f64))
            .chain(std::iter::once((1.0, 0.0)));
        for (mode, filter) in voicings {
            switch_in(
                &mut plugin,
                sr,
                &[
                    ("device", device as f64),
                    ("dac_mode", mode),
                    ("os_filter", filter),
                ],
            );
            let what = format!("device {device}, mode {mode}, filter {filter}");
            assert!(!plugin.take_restart_request(), "{what}: restart asked");
            assert!(
                !plugin.take_latency_changed(),
                "{what}: latency change reported"
            );
            assert_eq!(plugin.latency(), latency, "{what}");
            // The worker builds in real time: on a loaded machine (CI runs test binaries'
            // tests in parallel on two cores) a cold design can outlast switch_in's pause,
            // and an impulse sent during the swap's fades peaks elsewhere. Give it once more.
            let mut peak = impulse_peak(&mut plugin);
            if peak != latency as usize {
                std::thread::sleep(std::time::Duration::from_millis(500));
                switch_in(&mut plugin, sr, &[]);
                println!("{what}: impulse peaked at {peak} during the swap; measured again");
                peak = impulse_peak(&mut plugin);
            }
            assert_eq!(peak, latency as usize, "{what}");
            steps += 1;
        }
    }
    println!("latency {latency} at {sr} Hz through {steps} voicings, no restart");

    let level_20k_re_1k = |plugin: &mut ClapInstance| {
        let latency = plugin.latency() as usize;
        let mut levels = [0.0; 2];
        for (slot, freq) in levels.iter_mut().zip([1000.0, 20_000.0]) {
            let x = sine(freq, sr, 24_000, 0.5);
            let y = ok(plugin.process_signal(&[x.clone(), x.clone()], &[512]));
            *slot = gain_db(&x[2048..24_000 - latency], &y[0][2048 + latency..]);
        }
        levels[1] - levels[0]
    };
    switch_in(
        &mut plugin,
        sr,
        &[("device", 0.0), ("dac_mode", 0.0), ("os_filter", 0.0)],
    );
    let os = level_20k_re_1k(&mut plugin);
    switch_in(&mut plugin, sr, &[("dac_mode", 1.0)]);
    let nos = level_20k_re_1k(&mut plugin);
    println!("K13 at 48 kHz, 20 kHz re 1 kHz: OS {os:+.3} dB, NOS {nos:+.3} dB");
    // The 48 kHz hold: 20·log10(sinc(20/48)) − sinc(1/48) = −2.64 dB (devices.md).
    assert!(
        ((nos - os) + 2.64).abs() < 0.1,
        "NOS − OS at 20 kHz: {:.3} dB",
        nos - os
    );
}

/// An offline bounce (CLAP `render` offline) with the device automated mid-file equals
/// the offline renderer (`sourcery_dsp::render`, behind `cargo xtask render`) given the
/// same automation, within 1e-6, latency removed: the change is built in the block where it
/// arrives, so the bounce does not depend on the machine's speed.
#[test]
fn offline_bounce_with_automation_equals_the_renderer() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    use sourcery_dsp::presets::DeviceSlot;
    use sourcery_dsp::Settings;
    let sr = 48_000.0;
    let block = 512;
    let frames = 48_000;
    let change_block = 40;
    let k7 = DeviceSlot::by_id("fiio-k7").expect("the K7");
    let input = test_signal(sr, frames as f64 / sr, 2);
    let mut plugin = load(&path);
    ok(plugin.set_render_offline(true));
    ok(plugin.activate(sr, block as u32, 2));
    let latency = plugin.latency() as usize;
    let padded = sourcery_tests::padded(&input, latency);
    let split = change_block * block;
    let head: Vec<Vec<f32>> = padded.iter().map(|c| c[..split].to_vec()).collect();
    let tail: Vec<Vec<f32>> = padded.iter().map(|c| c[split..].to_vec()).collect();
    let mut bounce = ok(plugin.process_signal(&head, &[block]));
    plugin.set_param(param_id("device"), k7.0 as f64);
    let rest = ok(plugin.process_signal(&tail, &[block]));
    for (b, r) in bounce.iter_mut().zip(rest) {
        b.extend(r);
    }
    let after = Settings {
        device: k7,
        ..Settings::default()
    };
    let rendered = sourcery_dsp::render::render_automated(
        &Settings::default(),
        &[(split, after)],
        &input,
        sr as f32,
        block,
        &mut |_| {},
    );
    let diff = sourcery_tests::max_diff_after(&rendered, &bounce, latency);
    // The K7 is in after the change: its chain differs from the K13's, audibly.
    let change_delta: f32 = rendered[0][split + 2000..split + 4000]
        .iter()
        .zip(
            &sourcery_dsp::render::render_blocks(
                &Settings::default(),
                &input,
                sr as f32,
                block,
                &mut |_| {},
            )[0][split + 2000..split + 4000],
        )
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    println!(
        "offline bounce vs renderer, K13 → K7 at frame {split}: max |Δ| {diff:e} (the change \
         itself moves the output by up to {change_delta:.3e})"
    );
    assert!(change_delta > 1e-3, "the automation must change the sound");
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
}

/// The listener's chain through the CLAP parameters — a 10 Ω source of their own, calibrated
/// SPL at 100 dB per 0 dBFS, the K7 at low gain on the Andromeda 2020 — equals the renderer
/// with the same settings within 1e-6 (offline), and a state saved with it gives the same
/// output in a fresh instance.
#[test]
fn your_chain_parameters_equal_the_renderer_and_travel_in_the_state() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
    use sourcery_dsp::settings::LevelMode;
    use sourcery_dsp::Settings;
    let sr = 48_000.0;
    let block = 512;
    let input = test_signal(sr, 0.5, 2);
    let mut settings = Settings {
        device: DeviceSlot::by_id("fiio-k7").expect("the K7"),
        headphone: HeadphoneSlot::by_id("campfire-andromeda-2020").expect("the Andromeda"),
        gain: sourcery_dsp::amp::GainStep::Low,
        ..Settings::default()
    };
    settings.yours.z_out_custom = true;
    settings.yours.z_out_ohms = 10.0;
    settings.yours.spl_db = 100.0;
    settings.set_level_mode(LevelMode::Calibrated);
    let values = settings.to_values();

    let mut a = load(&path);
    ok(a.set_render_offline(true));
    ok(a.activate(sr, block as u32, 2));
    // Continuous parameters by their text, as a host's text field sets them.
    a.set_values(&values);
    ok(a.process_signal(&[vec![0.0; block], vec![0.0; block]], &[block]));
    // A fresh start at these values (activation snaps the ramps), as the renderer starts.
    ok(a.activate(sr, block as u32, 2));
    let latency = a.latency() as usize;
    let padded = sourcery_tests::padded(&input, latency);
    let out_a = ok(a.process_signal(&padded, &[block]));
    let rendered =
        sourcery_dsp::render::render_blocks(&settings, &input, sr as f32, block, &mut |_| {});
    let diff = sourcery_tests::max_diff_after(&rendered, &out_a, latency);
    let state = ok(a.save_state());
    let mut b = load(&path);
    ok(b.load_state(&state));
    ok(b.set_render_offline(true));
    ok(b.activate(sr, block as u32, 2));
    let out_b = ok(b.process_signal(&padded, &[block]));
    let state_diff = max_abs_diff(&out_a, &out_b);
    println!(
        "your chain by parameters vs renderer: max |Δ| {diff:e}; after a state round trip \
         {state_diff:e} (latency {latency})"
    );
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
    assert!(state_diff <= 1e-6, "state round trip: {state_diff:e}");
}
