//! Offline rendering (`sourcery_dsp::render`, behind `cargo xtask render`) equals the built
//! CLAP plugin (`target/bundled/Sourcery.clap`, loaded by `sourcery_tests::clap_host`) for
//! the same parameter values and block size, sample for sample, after latency alignment.

use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use std::path::Path;

use sourcery_dsp::params::{ParamId, ParamKind, DEVICE_LABELS, HEADPHONE_LABELS};
use sourcery_dsp::peq::{Band, FilterType};
use sourcery_dsp::render::render_blocks;
use sourcery_dsp::{Engine, ParamValues, Settings};
use sourcery_tests::clap_host::{param_id, ClapInstance};
use sourcery_tests::{bundle, sine, CLAP_ID};

/// Block size of both the plugin host and the offline render.
const BLOCK: usize = 512;
/// Allowed difference between the plugin and the offline render when continuous parameters
/// are set. The render is the same engine with the same block plan, but a host hands a
/// continuous parameter over as a normalized value, which the plugin maps back to a plain
/// `f32` through its (skewed) range: PEQ 100 Hz arrives a few ulp off, which moves the output
/// by up to 7.2e-7. Settings that are all stepped, or on linear ranges at exact values, must
/// give identical output (tolerance 0).
const TOL: f32 = 1e-6;

fn ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn slot(labels: &[&str], name: &str) -> usize {
    labels
        .iter()
        .position(|l| *l == name)
        .unwrap_or_else(|| panic!("no {name:?} in {labels:?}"))
}

/// Stereo test signal: a log sweep 20 Hz → 20 kHz on the left, a 1 kHz sine at −6 dBFS on
/// the right (different channels catch a swapped or shared channel state).
fn signal(sample_rate: f64, seconds: f64) -> Vec<Vec<f32>> {
    let frames = (sample_rate * seconds) as usize;
    let rate = (20_000.0f64 / 20.0).ln();
    let sweep = (0..frames)
        .map(|i| {
            let t = i as f64 / sample_rate;
            let phase =
                std::f64::consts::TAU * 20.0 * seconds / rate * ((t * rate / seconds).exp() - 1.0);
            (0.5 * phase.sin()) as f32
        })
        .collect();
    vec![sweep, sine(1000.0, sample_rate, frames, 0.5)]
}

/// Give the (inactive) plugin every parameter of `settings` that differs from the default,
/// the way a host does: stepped parameters by their step index, continuous ones parsed by
/// the plugin from their plain value (independent of the range's skew).
fn set_params(plugin: &mut ClapInstance, settings: &Settings) {
    let wanted = settings.to_values();
    let defaults = ParamValues::default();
    for &id in ParamId::ALL {
        let plain = wanted.get(id);
        if plain == defaults.get(id) {
            continue;
        }
        let spec = id.spec();
        let clap_id = param_id(spec.id);
        let value = match spec.kind {
            ParamKind::Float { .. } => plugin
                .text_to_value(clap_id, &format!("{plain}"))
                .unwrap_or_else(|| panic!("{} cannot parse \"{plain}\"", spec.id)),
            _ => f64::from(plain - spec.min()),
        };
        plugin.set_param(clap_id, value);
    }
    ok(plugin.flush_params());
}

/// Max |plugin − offline| over every sample, after dropping the plugin's latency.
fn compare(path: &Path, what: &str, settings: &Settings, sample_rate: f64, tol: f32) -> f32 {
    let input = signal(sample_rate, 1.0);
    let frames = input[0].len();

    let offline = render_blocks(settings, &input, sample_rate as f32, BLOCK, &mut |_| {});
    let mut engine = Engine::new(settings);
    engine.prepare(sample_rate as f32, BLOCK, 2);
    engine.apply_now(settings);
    let offline_latency = engine.latency_samples();

    let mut plugin = ClapInstance::load(path, CLAP_ID).unwrap_or_else(|e| panic!("{e}"));
    set_params(&mut plugin, settings);
    ok(plugin.activate(sample_rate, BLOCK as u32, 2));
    let latency = plugin.latency() as usize;
    assert_eq!(
        latency, offline_latency,
        "{what}: plugin vs offline latency"
    );
    // The input, then `latency` zeros: the plugin's output from `latency` on is the render.
    let padded = sourcery_tests::padded(&input, latency);
    let online = ok(plugin.process_signal(&padded, &[BLOCK]));

    assert_eq!(offline.len(), 2);
    let mut diff = 0.0f32;
    let mut peak = 0.0f32;
    for (ch, (y, z)) in offline.iter().zip(&online).enumerate() {
        assert_eq!(y.len(), frames, "{what}: offline length");
        for (i, (a, b)) in y.iter().zip(&z[latency..]).enumerate() {
            assert!(a.is_finite(), "{what}: channel {ch} sample {i} is {a}");
            diff = diff.max((a - b).abs());
            peak = peak.max(a.abs());
        }
    }
    println!(
        "{what} at {sample_rate} Hz: latency {latency}, output peak {peak:.4}, \
         max |plugin − offline| {diff:e}"
    );
    assert!(peak > 1e-4, "{what}: the render is (nearly) silent");
    assert!(
        diff <= tol,
        "{what}: plugin and offline differ by {diff:e} (tolerance {tol:e})"
    );
    diff
}

#[test]
fn offline_render_equals_the_clap_plugin() {
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    // An R2R device in NOS into an HD600, absolute level (no level matching), BAL, High gain.
    let k13 = Settings {
        device: DeviceSlot(slot(DEVICE_LABELS, "FiiO K13 R2R")),
        headphone: HeadphoneSlot(slot(HEADPHONE_LABELS, "Sennheiser HD600")),
        dac_mode: sourcery_dsp::dac::DacMode::Nos,
        gain: sourcery_dsp::amp::GainStep::High,
        volume_pct: 62.5,
        output: sourcery_dsp::amp::Output::Bal,
        level_match: false,
        ..Settings::default()
    };
    // A delta-sigma device with a chosen OS filter into an IEM, a PEQ band and a trim.
    let mut g5 = Settings {
        device: DeviceSlot(slot(DEVICE_LABELS, "Topping G5")),
        headphone: HeadphoneSlot(slot(HEADPHONE_LABELS, "Campfire Andromeda 2020")),
        os_filter: Some(sourcery_dsp::dac::OsFilter::Ak4493Slow),
        output_trim_db: -3.0,
        ..Settings::default()
    };
    g5.peq.on = true;
    g5.peq.bands[0] = Band {
        on: true,
        kind: FilterType::Peak,
        freq_hz: 100.0,
        gain_db: 6.0,
        q: 2.0,
    };
    let mut worst = 0.0f32;
    for (what, settings, sample_rate, tol) in [
        ("K13 R2R NOS / HD600", &k13, 44_100.0, 0.0),
        (
            "Topping G5 AK4493 Slow / Andromeda + PEQ",
            &g5,
            48_000.0,
            TOL,
        ),
        ("defaults", &Settings::default(), 96_000.0, 0.0),
    ] {
        worst = worst.max(compare(&path, what, settings, sample_rate, tol));
    }
    println!("worst max |plugin − offline| {worst:e}");
}
