//! Measurement helpers shared by the amp tests: run a stage on sines or silence, and find
//! the level where THD+N crosses 1 %.

use std::f64::consts::{SQRT_2, TAU};

use super::spec::GainStep;
use super::stage::{AmpConfig, AmpStage, V_REF_VRMS};
use crate::analysis::{noise_rms_a_weighted, thd_n, AUDIO_BAND_HZ};

/// The two analog rates the chain runs at (8 × 44.1 kHz, 8 × 48 kHz).
pub const RATES: [f64; 2] = [352_800.0, 384_000.0];

/// `peak·sin(2π·freq_hz·n/fs)` for `n in 0..len`, as `f32`.
pub fn sine(len: usize, fs: f64, freq_hz: f64, peak: f64) -> Vec<f32> {
    (0..len)
        .map(|n| (peak * (TAU * freq_hz * n as f64 / fs).sin()) as f32)
        .collect()
}

/// A settled stage at `step` and `volume_percent`, absolute or level-matched.
pub fn stage(
    config: &AmpConfig,
    fs: f64,
    step: GainStep,
    volume_percent: f64,
    absolute: bool,
) -> AmpStage {
    let mut st = AmpStage::new(config, fs, 2, 4096);
    st.set_gain_step(step);
    st.set_volume_percent(volume_percent);
    st.set_absolute(absolute);
    st.reset();
    st
}

/// Run `x` through a settled absolute-mode stage and return the open-circuit output in
/// volts (`y·√2·V_REF`).
pub fn run_volts(
    config: &AmpConfig,
    fs: f64,
    step: GainStep,
    volume_percent: f64,
    x: &[f32],
) -> Vec<f64> {
    let mut st = stage(config, fs, step, volume_percent, true);
    let mut y = x.to_vec();
    st.process(0, &mut y);
    y.iter()
        .map(|&v| f64::from(v) * SQRT_2 * V_REF_VRMS)
        .collect()
}

/// `R/(R + Z_out)` for the config's load (1 for an infinite load).
pub fn divider(config: &AmpConfig) -> f64 {
    if config.load_ohms.is_infinite() {
        1.0
    } else {
        config.load_ohms / (config.load_ohms + config.z_out_ohms)
    }
}

/// THD+N (%) and fundamental (Vrms) across the config's resistive load for a 1 kHz sine at
/// `level_dbfs` (at `step`, 100 % volume), 50 ms (50 cycles).
pub fn measure_at_load(config: &AmpConfig, fs: f64, step: GainStep, level_dbfs: f64) -> (f64, f64) {
    let x = sine(
        (0.05 * fs) as usize,
        fs,
        1_000.0,
        10f64.powf(level_dbfs / 20.0),
    );
    let d = divider(config);
    let v: Vec<f64> = run_volts(config, fs, step, 100.0, &x)
        .into_iter()
        .map(|v| v * d)
        .collect();
    let r = thd_n(&v, fs, 1_000.0, AUDIO_BAND_HZ);
    (
        r.thd_n_percent,
        10f64.powf(r.fundamental_db / 20.0) / SQRT_2,
    )
}

/// Where THD+N of a 1 kHz sine crosses 1 %: a sweep up in 0.5 dB steps from −30 dBFS to
/// bracket the crossing, then bisection on the input level to 1e-4 dB. Returns the input
/// level (dBFS) and the fundamental across the load (Vrms) there; `None` if no crossing
/// up to +18 dBFS.
pub fn one_percent_point(config: &AmpConfig, fs: f64, step: GainStep) -> Option<(f64, f64)> {
    let mut lo = -30.0;
    assert!(measure_at_load(config, fs, step, lo).0 < 1.0);
    let mut hi = lo;
    while measure_at_load(config, fs, step, hi).0 < 1.0 {
        lo = hi;
        hi += 0.5;
        if hi > 18.0 {
            return None;
        }
    }
    while hi - lo > 1e-4 {
        let mid = 0.5 * (lo + hi);
        if measure_at_load(config, fs, step, mid).0 < 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let level = 0.5 * (lo + hi);
    Some((level, measure_at_load(config, fs, step, level).1))
}

/// A-weighted noise (Vrms, open circuit) of a stage with silence in: 1 s, absolute mode.
pub fn noise_volts_a(config: &AmpConfig, fs: f64, step: GainStep) -> f64 {
    let v = run_volts(config, fs, step, 100.0, &vec![0.0f32; fs as usize]);
    noise_rms_a_weighted(&v, fs)
}

/// `20·log10(ratio)`.
pub fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}
