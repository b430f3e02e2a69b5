//! Offline measurement: a virtual analyzer on the whole [`Engine`] (`cargo xtask measure`).
//!
//! [`measure`] runs one setting through the engine and reads it with [`crate::analysis`],
//! the way a bench analyzer reads a device: frequency response from the impulse response,
//! THD+N and H2–H9 at 1 kHz over a level sweep, the A-weighted noise floor with silence in,
//! the 1 % THD+N clip point, the output impedance's effect on the chosen headphone against
//! the divider formula, impulse and step responses in OS and NOS, and the latency.
//!
//! [`conformance`] measures a device's published figures (`shared/reference/devices.md`)
//! the same way and says, row by row, whether the voicing meets them within a tolerance.
//! Estimates are shown as such, never as pass or fail.
//!
//! Methods (the same as `tests/amp_load.rs`):
//! - **Absolute mode** (`level_match = false`): a 1 Vrms sine at the amp reads as a
//!   0 dBFS sine ([`V_REF_VRMS`]), so a tone's peak amplitude is its Vrms and a digital RMS
//!   times √2 is volts RMS.
//! - **Small-signal chain** for the impulse responses: level-matched, low gain, 100 %
//!   volume, an impulse of 0.5 — far from every device's limits (an impulse through the OS
//!   filter peaks near its own height), and with the amp noise ≥ 110 dB down. The whole
//!   response is kept, including the linear-phase filters' pre-ringing before the latency
//!   peak (cutting it would change the magnitude).
//! - **Clip point**: bisection on the input level for THD+N = −40 dB (1 %), absolute mode,
//!   high gain, 100 % volume.
//!
//! Everything allocates; none of it is for the audio thread.

use std::f64::consts::SQRT_2;

use serde::Serialize;

use crate::amp::{spl_db, Output, V_REF_VRMS};
use crate::analysis::{
    self, frequency_response, impulse_peak, log_frequencies, spectrum, thd_n, tone, Window,
    AUDIO_BAND_HZ, HARMONICS,
};
use crate::dac::stage::DacMode;
use crate::headphones::{self, CustomLoad, ResolvedLoad};
use crate::load::divider;
use crate::params::{DEVICE_LABELS, HEADPHONE_CUSTOM, HEADPHONE_LABELS, HEADPHONE_RESISTIVE};
use crate::{Engine, Settings};

/// Levels (dBFS, sine peak) of the THD+N sweep.
pub const THD_LEVELS_DBFS: [f64; 6] = [0.0, -6.0, -20.0, -40.0, -60.0, -90.0];
/// Frequencies (Hz) at which the output impedance's effect is reported.
pub const Z_OUT_FREQS_HZ: [f64; 10] = [
    20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0,
];
/// Samples kept before the latency peak in [`Measurement::impulse_os`] and friends.
pub const IMPULSE_PRE_SAMPLES: usize = 32;
/// Samples kept in [`Measurement::impulse_os`] and friends.
pub const IMPULSE_SAMPLES: usize = 256;
/// Height of the test impulse (see the module docs).
const IMPULSE_AMPLITUDE: f32 = 0.05;
/// THD+N that defines the clip point: 1 % = −40 dB.
const CLIP_THD_N_DB: f64 = -40.0;

/// One point of a response (Hz, dB).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub freq_hz: f64,
    pub level_db: f64,
}

/// THD+N of a 1 kHz sine at one level.
#[derive(Debug, Clone, Serialize)]
pub struct ThdPoint {
    /// Input level, dBFS (sine peak).
    pub level_dbfs: f64,
    pub thd_n_db: f64,
    pub thd_n_percent: f64,
    pub thd_db: f64,
    /// H2..H9, dBc (`null` in JSON when out of band).
    pub harmonics_dbc: Vec<Option<f64>>,
}

/// The amp's A-weighted noise floor across the load.
#[derive(Debug, Clone, Serialize)]
pub struct Noise {
    /// µV(A), 20 Hz–20 kHz, across the load (absolute mode, the setting's gain and volume).
    pub uv_a: f64,
    /// Its SPL in the chosen headphone (dB(A)), when the headphone has a sensitivity.
    pub spl_db_a: Option<f64>,
}

/// The largest 1 kHz output before THD+N reaches 1 %.
#[derive(Debug, Clone, Serialize)]
pub struct MaxOutput {
    /// Volts RMS across the load.
    pub vrms: f64,
    /// Power into |Z_L(1 kHz)|, mW.
    pub mw: f64,
    /// |Z_L(1 kHz)| used for the power (Ω).
    pub load_ohms: f64,
    /// Input level (dBFS) that gets there.
    pub input_dbfs: f64,
}

/// The output impedance's effect on the headphone at one frequency (dB re 1 kHz).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ZOutPoint {
    pub freq_hz: f64,
    /// Engine with the setting's Z_out divided by the engine with 0 Ω.
    pub measured_db: f64,
    /// `20·log10|Z_L/(Z_L + Z_out)|` re 1 kHz (devices.md \[calc\]).
    pub formula_db: f64,
}

/// The output impedance's effect on the chosen headphone.
#[derive(Debug, Clone, Serialize)]
pub struct ZOutEffect {
    pub z_out_ohms: f64,
    pub points: Vec<ZOutPoint>,
    /// Largest |measured − formula| over 20 Hz–min(20 kHz, 0.45 fs) at 1/12 octave (dB).
    pub worst_error_db: f64,
}

/// Everything [`measure`] reads from one setting.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub device: String,
    pub headphone: String,
    pub dac_mode: String,
    pub output: String,
    pub gain: String,
    pub sample_rate_hz: f64,
    /// The engine's reported latency (samples at the host rate).
    pub latency_samples: usize,
    /// The impulse response's peak (samples), to compare with `latency_samples`.
    pub impulse_peak_samples: usize,
    /// Magnitude re 1 kHz, 1/6 octave, 10 Hz to 0.45 fs, the device into a resistor of
    /// `load_ohms` (the headphone's own effect is [`Measurement::z_out_effect`]).
    pub frequency_response: Vec<Point>,
    /// THD+N at 1 kHz for [`THD_LEVELS_DBFS`], with the setting's gain, volume, level
    /// matching and load.
    pub thd_vs_level: Vec<ThdPoint>,
    /// Output spectrum of the −6 dBFS sine, dB peak (dBV in absolute mode), the highest bin
    /// in each 1/24-octave band from 10 Hz to fs/2.
    pub spectrum_minus_6_dbfs: Vec<Point>,
    pub noise: Noise,
    /// `None` when the device has no limits (Ideal) up to +12 dBFS.
    pub max_output: Option<MaxOutput>,
    /// `None` for the imported-curve headphone.
    pub z_out_effect: Option<ZOutEffect>,
    /// Impulse responses (per unit impulse) from [`IMPULSE_PRE_SAMPLES`] before the peak,
    /// [`IMPULSE_SAMPLES`] long; `impulse_start_*` is the first sample's index.
    pub impulse_os: Vec<f32>,
    pub impulse_start_os: usize,
    pub impulse_nos: Vec<f32>,
    pub impulse_start_nos: usize,
    /// Step responses over the same windows (running sums of the whole impulse response).
    pub step_os: Vec<f32>,
    pub step_nos: Vec<f32>,
}

fn label(labels: &[&str], index: usize) -> String {
    labels.get(index).copied().unwrap_or("?").to_string()
}

fn engine(settings: &Settings, rate: f64) -> Engine {
    let mut e = Engine::new(settings);
    e.prepare(rate as f32, 512, 1);
    e
}

/// Largest block of [`character`]'s engine: the whole impulse response
/// ([`IMPULSE_SAMPLES`] + the latency) is processed as one chunk, so the DAC stage's
/// analog-domain buffer ([`crate::dac::stage::DacStage::analog`], the last chunk only)
/// holds all of it.
const CHARACTER_MAX_BLOCK: usize = 1 << 14;

/// The small-signal chain of `settings` (see the module docs).
fn small_signal(settings: &Settings) -> Settings {
    Settings {
        level_match: true,
        gain: 0,
        volume_pct: 100.0,
        ..*settings
    }
}

/// Absolute mode at high gain and full volume: the conditions of published power figures.
fn full_power(settings: &Settings) -> Settings {
    Settings {
        level_match: false,
        gain: 2,
        volume_pct: 100.0,
        ..*settings
    }
}

/// The whole impulse response per unit impulse: `len` samples after the latency and
/// everything before it (the pre-ringing).
fn impulse_response(e: &mut Engine, len: usize) -> Vec<f32> {
    let n = len + e.latency_samples();
    e.reset();
    let mut silence = vec![0.0f32; n];
    e.process(&mut [&mut silence[..]]);
    e.reset();
    let mut x = vec![0.0f32; n];
    x[0] = IMPULSE_AMPLITUDE;
    e.process(&mut [&mut x[..]]);
    for (v, s) in x.iter_mut().zip(&silence) {
        *v = (*v - s) / IMPULSE_AMPLITUDE;
    }
    x
}

/// Length (samples after the latency) of the impulse responses read for magnitudes: at
/// least 0.35 s, so the lowest frequencies and the analog high-pass are resolved.
fn ir_len(rate: f64) -> usize {
    ((rate * 0.35) as usize).max(1 << 14)
}

/// Magnitude (dB) re 1 kHz of `ir` at `freqs`.
fn deviation_db(ir: &[f32], rate: f64, freqs: &[f64]) -> Vec<f64> {
    let h = frequency_response(ir, rate, freqs);
    let h_1k = frequency_response(ir, rate, &[1000.0])[0].norm();
    h.iter().map(|h| 20.0 * (h.norm() / h_1k).log10()).collect()
}

/// A 1 kHz sine of peak `amplitude` through `e` for `seconds`; returns the steady state
/// (latency and 20 ms of settling removed).
fn sine_through(e: &mut Engine, rate: f64, amplitude: f64, seconds: f64) -> Vec<f32> {
    e.reset();
    let settle = e.latency_samples() + (0.02 * rate) as usize;
    let n = settle + (seconds * rate) as usize;
    let mut x: Vec<f32> = (0..n)
        .map(|i| (amplitude * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    e.process(&mut [&mut x[..]]);
    x.split_off(settle)
}

/// The analyzer's band: 20 Hz–20 kHz, capped at 0.45 fs.
fn band(rate: f64) -> (f64, f64) {
    (AUDIO_BAND_HZ.0, AUDIO_BAND_HZ.1.min(0.45 * rate))
}

/// The load of `settings` as the engine resolves it (`None` for the imported curve, which
/// these measurements leave out).
fn load_impedance(settings: &Settings) -> Option<ResolvedLoad> {
    if settings.headphone == HEADPHONE_CUSTOM {
        return None;
    }
    Some(
        settings
            .dac_config()
            .load?
            .source
            .resolve(&CustomLoad::default()),
    )
}

/// A-weighted noise (V RMS) across the load, silence in, absolute mode, `seconds` long.
fn noise_vrms(settings: &Settings, rate: f64, seconds: f64) -> f64 {
    let mut e = engine(
        &Settings {
            level_match: false,
            ..*settings
        },
        rate,
    );
    let settle = e.latency_samples() + (0.05 * rate) as usize;
    let mut x = vec![0.0f32; settle + (seconds * rate) as usize];
    e.process(&mut [&mut x[..]]);
    // Digital RMS → volts: a 1 Vrms sine reads as a 0 dBFS sine (peak 1, RMS 1/√2).
    analysis::noise_rms_a_weighted(&x[settle..], rate) * SQRT_2 * V_REF_VRMS
}

/// The 1 % THD+N point of `settings` as given (use [`full_power`]): (Vrms across the load,
/// input dBFS), or `None` when THD+N stays below 1 % up to +12 dBFS.
fn clip_point(settings: &Settings, rate: f64, guess: Option<f64>) -> Option<(f64, f64)> {
    let mut e = engine(settings, rate);
    let mut run = |level: f64| {
        let y = sine_through(&mut e, rate, level, 0.08);
        let thd = thd_n(&y, rate, 1000.0, band(rate)).thd_n_db;
        (thd, tone(&y, rate, 1000.0).amplitude * V_REF_VRMS)
    };
    // Either a ±3 dB bracket around a guess (7 halvings: 0.05 dB), or −40 to +12 dBFS
    // when the guess does not hold the point (14 halvings: 0.003 dB).
    let bracket = guess.and_then(|g| {
        let (lo, hi) = (g / SQRT_2, g * SQRT_2);
        (run(lo).0 < CLIP_THD_N_DB && run(hi).0 >= CLIP_THD_N_DB).then_some((lo, hi, 7))
    });
    let (mut lo, mut hi, steps) = match bracket {
        Some(b) => b,
        None if run(4.0).0 < CLIP_THD_N_DB => return None,
        None => (0.01f64, 4.0f64, 14),
    };
    for _ in 0..steps {
        let mid = (lo * hi).sqrt();
        if run(mid).0 < CLIP_THD_N_DB {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((run(lo).1, 20.0 * lo.log10()))
}

/// The output impedance's effect on the load of `settings`, measured against 0 Ω.
fn z_out_effect(settings: &Settings, rate: f64) -> Option<ZOutEffect> {
    let z_load = load_impedance(settings)?;
    let z_out = settings.z_out_ohms();
    let small = small_signal(settings);
    // A headphone's impedance needs no long response (no network here has a time constant
    // near 100 ms): 8192 samples after the latency.
    let len = 8192;
    let (lo, hi) = band(rate);
    let mut freqs = log_frequencies(lo, hi, 12.0);
    let report: Vec<f64> = Z_OUT_FREQS_HZ
        .iter()
        .copied()
        .filter(|&f| f <= hi)
        .collect();
    freqs.extend(&report);
    let mut e = engine(&small, rate);
    let with = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
    e.apply_now(&Settings {
        z_out_custom: true,
        z_out_ohms: 0.0,
        ..small
    });
    let without = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
    let h_1k = divider(z_load.impedance(1000.0), z_out).norm();
    let formula = |f: f64| 20.0 * (divider(z_load.impedance(f), z_out).norm() / h_1k).log10();
    let measured: Vec<f64> = with.iter().zip(&without).map(|(a, b)| a - b).collect();
    let worst_error_db = freqs
        .iter()
        .zip(&measured)
        .map(|(f, m)| (m - formula(*f)).abs())
        .fold(0.0, f64::max);
    let points = report
        .iter()
        .zip(&measured[freqs.len() - report.len()..])
        .map(|(&freq_hz, &measured_db)| ZOutPoint {
            freq_hz,
            measured_db,
            formula_db: formula(freq_hz),
        })
        .collect();
    Some(ZOutEffect {
        z_out_ohms: z_out,
        points,
        worst_error_db,
    })
}

/// The impulse response window and its step response for one DAC mode.
fn impulse_and_step(settings: &Settings, rate: f64, mode: DacMode) -> (Vec<f32>, usize, Vec<f32>) {
    let mut e = engine(
        &Settings {
            dac_mode: mode,
            ..small_signal(settings)
        },
        rate,
    );
    impulse_window(&mut e)
}

/// The impulse response window of `e` and its step response (see [`impulse_and_step`]).
fn impulse_window(e: &mut Engine) -> (Vec<f32>, usize, Vec<f32>) {
    let ir = impulse_response(e, IMPULSE_SAMPLES);
    let start = impulse_peak(&ir).saturating_sub(IMPULSE_PRE_SAMPLES);
    let end = (start + IMPULSE_SAMPLES).min(ir.len());
    let mut sum = 0.0f64;
    let step: Vec<f32> = ir
        .iter()
        .map(|&v| {
            sum += f64::from(v);
            sum as f32
        })
        .collect();
    (ir[start..end].to_vec(), start, step[start..end].to_vec())
}

/// Length (s) of the steady-state 1 kHz sine read for THD+N, in [`measure`] and
/// [`character`] alike.
const THD_SECONDS: f64 = 0.25;

/// THD+N and H2–H9 of the steady-state 1 kHz sine `y` (input level `level_dbfs`).
fn thd_point(y: &[f32], rate: f64, level_dbfs: f64) -> ThdPoint {
    let m = thd_n(y, rate, 1000.0, band(rate));
    ThdPoint {
        level_dbfs,
        thd_n_db: m.thd_n_db,
        thd_n_percent: m.thd_n_percent,
        thd_db: m.thd_db,
        harmonics_dbc: m
            .harmonics_db
            .iter()
            .map(|&h| h.is_finite().then_some(h))
            .collect(),
    }
}

/// Peak-hold reduction of a spectrum to 1/24-octave bands from 10 Hz to fs/2.
fn reduce_spectrum(s: &analysis::Spectrum, rate: f64) -> Vec<Point> {
    let half_band = 2f64.powf(1.0 / 48.0);
    log_frequencies(10.0, rate / 2.0, 24.0)
        .into_iter()
        .map(|f| {
            let range = s.bins_in(f / half_band, f * half_band);
            let level_db = if range.is_empty() {
                s.level_at(f)
            } else {
                s.magnitude_db[range]
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            Point {
                freq_hz: f,
                level_db,
            }
        })
        .collect()
}

/// Measure one setting at the host rate `rate` (Hz). Takes about a second per setting in
/// the dev profile at 48 kHz (most of it the clip-point bisection).
pub fn measure(settings: &Settings, rate: f64) -> Measurement {
    let small = small_signal(settings);

    // Frequency response: the device into a resistor, from its whole impulse response.
    let resistive = Settings {
        headphone: HEADPHONE_RESISTIVE,
        ..small
    };
    let mut e = engine(&resistive, rate);
    let latency_samples = e.latency_samples();
    let ir = impulse_response(&mut e, ir_len(rate));
    let freqs = log_frequencies(10.0, 0.45 * rate, 6.0);
    let frequency_response = freqs
        .iter()
        .zip(deviation_db(&ir, rate, &freqs))
        .map(|(&freq_hz, level_db)| Point { freq_hz, level_db })
        .collect();

    // THD+N vs level, with the setting as given.
    let mut e = engine(settings, rate);
    let mut spectrum_minus_6_dbfs = Vec::new();
    let thd_vs_level = THD_LEVELS_DBFS
        .iter()
        .map(|&level_dbfs| {
            let y = sine_through(&mut e, rate, 10f64.powf(level_dbfs / 20.0), THD_SECONDS);
            if level_dbfs == -6.0 {
                let s = spectrum(&y, rate, Window::BlackmanHarris7);
                spectrum_minus_6_dbfs = reduce_spectrum(&s, rate);
            }
            thd_point(&y, rate, level_dbfs)
        })
        .collect();
    debug_assert_eq!(HARMONICS, 8);

    // Noise across the load, and its SPL.
    let noise_v = noise_vrms(settings, rate, 0.5);
    let headphone = headphones::by_index(settings.headphone);
    let spl_db_a = headphone.and_then(|h| {
        let s = h.sensitivity?;
        Some(spl_db(s, noise_v, h.network.impedance(1000.0).norm()))
    });

    // Clip point into the load.
    let load_1k = load_impedance(settings).map_or(f64::from(settings.load_ohms), |z| {
        z.impedance(1000.0).norm()
    });
    let max_output =
        clip_point(&full_power(settings), rate, None).map(|(vrms, input_dbfs)| MaxOutput {
            vrms,
            mw: vrms * vrms / load_1k * 1e3,
            load_ohms: load_1k,
            input_dbfs,
        });

    let (impulse_os, impulse_start_os, step_os) = impulse_and_step(settings, rate, DacMode::Os);
    let (impulse_nos, impulse_start_nos, step_nos) = impulse_and_step(settings, rate, DacMode::Nos);

    Measurement {
        device: label(DEVICE_LABELS, settings.device),
        headphone: label(HEADPHONE_LABELS, settings.headphone),
        dac_mode: DacMode::LABELS[settings.dac_mode as usize].to_string(),
        output: Output::LABELS[Output::from_index(settings.output).index()].to_string(),
        gain: label(crate::params::GAIN_LABELS, settings.gain),
        sample_rate_hz: rate,
        latency_samples,
        impulse_peak_samples: impulse_peak(&ir),
        frequency_response,
        thd_vs_level,
        spectrum_minus_6_dbfs,
        noise: Noise {
            uv_a: noise_v * 1e6,
            spl_db_a,
        },
        max_output,
        z_out_effect: z_out_effect(settings, rate),
        impulse_os,
        impulse_start_os,
        impulse_nos,
        impulse_start_nos,
        step_os,
        step_nos,
    }
}

// ---------------------------------------------------------------------------------------
// Character (the editor's view)

/// What the editor's "character" view shows of one setting: the THD+N and harmonics of a
/// 1 kHz sine at one level, and the OS and NOS impulse responses.
#[derive(Debug, Clone, Serialize)]
pub struct Character {
    /// Input level of the sine, dBFS (sine peak).
    pub level_dbfs: f64,
    pub sample_rate_hz: f64,
    /// THD+N and H2–H9 with `settings` as given (gain, volume, level matching, load).
    pub thd: ThdPoint,
    /// Impulse responses per unit impulse, as [`Measurement::impulse_os`]: from
    /// [`IMPULSE_PRE_SAMPLES`] before the peak, [`IMPULSE_SAMPLES`] long; `impulse_start_*`
    /// is the first sample's index.
    pub impulse_os: Vec<f32>,
    pub impulse_nos: Vec<f32>,
    pub impulse_start_os: usize,
    pub impulse_start_nos: usize,
    /// The same impulses in the analog domain, before the decimator, at `analog_rate_hz`:
    /// from [`ANALOG_PRE_S`] before the peak to [`ANALOG_POST_S`] after it, scaled so that
    /// each response's area is one host-rate sample (a NOS hold pulse is 1 high).
    pub analog_rate_hz: f64,
    pub analog_os: Vec<f32>,
    pub analog_nos: Vec<f32>,
    /// Samples of `analog_os` and of `analog_nos` before their peaks (analog rate):
    /// [`ANALOG_PRE_S`] in whole samples. A response whose peak comes sooner after the
    /// impulse is preceded by zeros (the silence before the impulse), so both share it.
    pub analog_pre_samples: usize,
}

/// Time shown before the analog impulse's peak (s).
pub const ANALOG_PRE_S: f64 = 0.25e-3;
/// Time shown after the analog impulse's peak (s).
pub const ANALOG_POST_S: f64 = 0.75e-3;

/// The analog-domain response the stage left after `impulse_response` of `processed`
/// host-rate samples, processed as one chunk (see [`Character::analog_os`]): the window,
/// the analog rate and the samples in the window before the peak.
fn analog_window(e: &Engine, processed: usize) -> (Vec<f32>, f64, usize) {
    let Some(dac) = e.dac() else {
        return (Vec::new(), 0.0, 0);
    };
    let k = dac.oversampling();
    let analog_rate = f64::from(e.sample_rate()) * k as f64;
    let a = dac.analog(0);
    // The stage keeps only its last chunk: it must be the whole response.
    debug_assert_eq!(
        a.len(),
        processed * k,
        "the impulse response was not one chunk"
    );
    let area: f64 = a.iter().map(|&v| f64::from(v)).sum::<f64>() / k as f64;
    let peak = impulse_peak(a);
    let pre = (ANALOG_PRE_S * analog_rate) as usize;
    let start = peak.saturating_sub(pre);
    let end = (peak + (ANALOG_POST_S * analog_rate) as usize).min(a.len());
    let scale = if area.abs() > 1e-12 { 1.0 / area } else { 0.0 };
    // Before the impulse the stage ran silence (`impulse_response` resets it first).
    let silence = pre - (peak - start);
    let window = std::iter::repeat_n(0.0, silence)
        .chain(a[start..end].iter().map(|&v| (f64::from(v) * scale) as f32))
        .collect();
    (window, analog_rate, pre)
}

/// THD+N and H2–H9 of a 1 kHz sine at `level_dbfs` with `settings` as given, and the OS and
/// NOS impulse responses (as in [`measure`]). `custom` is the imported impedance curve used
/// when `settings.headphone` is "Custom (imported)" (the plugin's handle, so the view shows
/// the curve the engine drives). Allocates; for a background thread.
pub fn character(
    settings: &Settings,
    custom: &CustomLoad,
    rate: f64,
    level_dbfs: f64,
) -> Character {
    let mut e = Engine::with_custom_load(settings, custom.clone());
    e.prepare(rate as f32, CHARACTER_MAX_BLOCK, 1);
    let y = sine_through(&mut e, rate, 10f64.powf(level_dbfs / 20.0), THD_SECONDS);
    let thd = thd_point(&y, rate, level_dbfs);
    // The same engine for both impulses (building a stage is most of the time): the
    // small-signal chain differs from `settings` only in realtime controls, and the other
    // DAC mode is built here by `apply_now`. `impulse_window` resets everything first, so
    // this reads what a fresh engine reads.
    let mut window = |mode: DacMode| {
        e.apply_now(&Settings {
            dac_mode: mode,
            ..small_signal(settings)
        });
        let processed = IMPULSE_SAMPLES + e.latency_samples();
        assert!(
            processed <= CHARACTER_MAX_BLOCK,
            "latency {} too long for one chunk",
            e.latency_samples()
        );
        let (ir, start, _) = impulse_window(&mut e);
        let (analog, analog_rate, pre) = analog_window(&e, processed);
        (ir, start, analog, analog_rate, pre)
    };
    let (own, other) = match settings.dac_mode {
        DacMode::Os => (DacMode::Os, DacMode::Nos),
        DacMode::Nos => (DacMode::Nos, DacMode::Os),
    };
    let first = window(own);
    let second = window(other);
    let (
        (impulse_os, impulse_start_os, analog_os, analog_rate_hz, analog_pre_samples),
        (impulse_nos, impulse_start_nos, analog_nos, _, _),
    ) = match own {
        DacMode::Os => (first, second),
        DacMode::Nos => (second, first),
    };
    Character {
        level_dbfs,
        sample_rate_hz: rate,
        thd,
        impulse_os,
        impulse_nos,
        impulse_start_os,
        impulse_start_nos,
        analog_rate_hz,
        analog_os,
        analog_nos,
        analog_pre_samples,
    }
}

// ---------------------------------------------------------------------------------------
// Conformance

/// How a row is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Check {
    /// |measured − published| ≤ tolerance (in dB).
    Value,
    /// measured ≤ published + tolerance (in dB): the published figure is a bound ("< x").
    UpperBound,
    /// The figure is the voicing's own estimate: shown, not judged.
    Estimate,
}

/// One published figure against the engine's measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ConformanceRow {
    /// What is measured, and how (output, load, level).
    pub figure: String,
    /// The published figure as written (with its source tag).
    pub published: String,
    /// The published figure as a number, in `unit`.
    pub published_value: f64,
    pub measured: f64,
    pub unit: String,
    /// measured − published, in dB (for voltages and percentages `20·log10` of the ratio).
    pub error_db: f64,
    pub tolerance_db: f64,
    pub check: Check,
    /// `None` for estimates.
    pub pass: Option<bool>,
}

impl ConformanceRow {
    fn new(
        figure: impl Into<String>,
        published: impl Into<String>,
        published_value: f64,
        measured: f64,
        unit: &str,
        tolerance_db: f64,
        check: Check,
    ) -> Self {
        let error_db = match unit {
            "dB" => measured - published_value,
            _ => 20.0 * (measured / published_value).log10(),
        };
        let pass = match check {
            Check::Value => Some(error_db.abs() <= tolerance_db),
            Check::UpperBound => Some(error_db <= tolerance_db),
            Check::Estimate => None,
        };
        Self {
            figure: figure.into(),
            published: published.into(),
            published_value,
            measured,
            unit: unit.to_string(),
            error_db,
            tolerance_db,
            check,
            pass,
        }
    }

    /// The tolerance as the table prints it.
    pub fn tolerance_text(&self) -> String {
        match self.check {
            Check::Value => format!("±{} dB", self.tolerance_db),
            Check::UpperBound => format!("≤ published + {} dB", self.tolerance_db),
            Check::Estimate => "estimate".to_string(),
        }
    }

    /// The verdict as the table prints it.
    pub fn pass_text(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "estimate",
        }
    }
}

/// Host rate of the conformance measurements (Hz), except where a figure names its own.
pub const CONFORMANCE_RATE_HZ: f64 = 48_000.0;

/// A device's published figures (devices.md), by name.
struct Published {
    /// THD+N 1 kHz −6 dBFS: (percent, is an upper bound, text).
    thd_n: Option<(f64, bool, &'static str)>,
    /// FR 20 Hz–20 kHz max deviation (dB, text) and the deviation at 80 kHz at 192 kHz.
    fr_20k_db: Option<(f64, &'static str)>,
    fr_80k_at_192k_db: Option<(f64, &'static str)>,
    /// Noise µV(A), high gain: (output, µV, text).
    noise: &'static [(Output, f64, &'static str)],
    /// Clip points, high gain: (output, load Ω, Vrms, text).
    clip: &'static [(Output, f64, Rated, &'static str)],
}

const NOTHING: Published = Published {
    thd_n: None,
    fr_20k_db: None,
    fr_80k_at_192k_db: None,
    noise: &[],
    clip: &[],
};

/// A published output figure.
#[derive(Clone, Copy)]
enum Rated {
    Vrms(f64),
    /// mW into the load: `V = sqrt(P·R)` (devices.md \[calc\]).
    Mw(f64),
}

impl Rated {
    fn vrms(self, load_ohms: f64) -> f64 {
        match self {
            Rated::Vrms(v) => v,
            Rated::Mw(mw) => (mw * 1e-3 * load_ohms).sqrt(),
        }
    }
}

fn published(device_slot: usize) -> Published {
    match DEVICE_LABELS.get(device_slot).copied() {
        Some("FiiO K13 R2R") => Published {
            thd_n: Some((0.0173, false, "0.0173 % (1 kHz, −6 dBFS, 32 Ω) [seed 002]")),
            fr_20k_db: Some((0.2, "20 Hz–20 kHz < 0.2 dB [seed 002]")),
            fr_80k_at_192k_db: Some((-2.9, "20 Hz–80 kHz < 2.9 dB attenuation [seed 002]")),
            noise: &[
                (Output::Se, 9.4, "< 9.4 µV(A), SE high gain [pub]"),
                (Output::Bal, 18.0, "< 18 µV(A), BAL high gain [pub]"),
            ],
            clip: &[
                (
                    Output::Se,
                    16.0,
                    Rated::Vrms(4.4),
                    "1200 mW @16 Ω (4.4 Vrms) [pub]",
                ),
                (
                    Output::Se,
                    32.0,
                    Rated::Vrms(6.2),
                    "1220 mW @32 Ω (6.2 Vrms) [pub]",
                ),
                (
                    Output::Se,
                    300.0,
                    Rated::Vrms(6.7),
                    "150 mW @300 Ω (6.7 Vrms) [pub]",
                ),
                (
                    Output::Bal,
                    16.0,
                    Rated::Vrms(4.4),
                    "1200 mW @16 Ω (4.4 Vrms) [pub]",
                ),
                (
                    Output::Bal,
                    32.0,
                    Rated::Vrms(8.8),
                    "2400 mW @32 Ω (8.8 Vrms) [pub]",
                ),
                (
                    Output::Bal,
                    300.0,
                    Rated::Vrms(13.5),
                    "600 mW @300 Ω (13.5 Vrms) [pub]",
                ),
            ],
        },
        Some("FiiO K11 R2R") => Published {
            thd_n: Some((
                0.02,
                true,
                "< 0.02 % (line out; measured here on the headphone out) [pub]",
            )),
            noise: &[
                (Output::Se, 7.2, "< 7.2 µV(A), PO [pub]"),
                (Output::Bal, 14.1, "< 14.1 µV(A), BAL [pub]"),
            ],
            clip: &[
                (Output::Se, 32.0, Rated::Mw(460.0), "≥ 460 mW @32 Ω [pub]"),
                (Output::Se, 300.0, Rated::Mw(50.0), "50 mW @300 Ω [pub]"),
                (
                    Output::Bal,
                    32.0,
                    Rated::Mw(1300.0),
                    "≥ 1300 mW @32 Ω [pub]",
                ),
                (Output::Bal, 300.0, Rated::Mw(220.0), "220 mW @300 Ω [pub]"),
            ],
            ..NOTHING
        },
        Some("FiiO K7") => Published {
            clip: &[
                (
                    Output::Se,
                    32.0,
                    Rated::Mw(1220.0),
                    "1220 mW @32 Ω [seed 000]",
                ),
                (
                    Output::Bal,
                    32.0,
                    Rated::Mw(2000.0),
                    "2000 mW @32 Ω [seed 000]",
                ),
            ],
            ..NOTHING
        },
        _ => NOTHING,
    }
}

/// The settings of a conformance measurement: `device_slot`, `output`, high gain, 100 %
/// volume, absolute mode, a resistor of `load_ohms`, OS mode.
fn bench(device_slot: usize, output: Output, load_ohms: f64) -> Settings {
    Settings {
        device: device_slot,
        output: output.index(),
        headphone: HEADPHONE_RESISTIVE,
        load_ohms: load_ohms as f32,
        dac_mode: DacMode::Os,
        ..full_power(&Settings::default())
    }
}

/// The device's published figures measured through the engine, one row each (see
/// [`Check`]); a device with no published figure of a kind gets an estimate row for its
/// noise and, like every device, the output impedance's effect against the formula.
/// About a second per device in the dev profile.
pub fn conformance(device_slot: usize) -> Vec<ConformanceRow> {
    let rate = CONFORMANCE_RATE_HZ;
    let figures = published(device_slot);
    let mut rows = Vec::new();

    if let Some((percent, bound, text)) = figures.thd_n {
        // Level-matched so that −6 dBFS in is −6 dBFS of the device's full scale at high
        // gain and full volume (3.4 Vrms for the K13 into 32 Ω, 5 dB below its clip).
        let settings = Settings {
            level_match: true,
            ..bench(device_slot, Output::Se, 32.0)
        };
        let y = sine_through(&mut engine(&settings, rate), rate, 0.5, 0.3);
        let m = thd_n(&y, rate, 1000.0, band(rate));
        rows.push(ConformanceRow::new(
            "THD+N, 1 kHz −6 dBFS, SE, 32 Ω, high gain",
            text,
            20.0 * (percent / 100.0).log10(),
            m.thd_n_db,
            "dB",
            1.0,
            if bound {
                Check::UpperBound
            } else {
                Check::Value
            },
        ));
    }

    if let Some((max_db, text)) = figures.fr_20k_db {
        let settings = small_signal(&bench(device_slot, Output::Se, 32.0));
        let mut e = engine(&settings, rate);
        let ir = impulse_response(&mut e, ir_len(rate));
        let freqs = log_frequencies(20.0, 20_000.0, 12.0);
        let worst = deviation_db(&ir, rate, &freqs)
            .into_iter()
            .fold(0.0f64, |a, d| a.max(d.abs()));
        rows.push(ConformanceRow::new(
            "FR 20 Hz–20 kHz, largest deviation re 1 kHz (48 kHz, OS)",
            text,
            max_db,
            worst,
            "dB",
            0.1,
            Check::UpperBound,
        ));
    }

    if let Some((db, text)) = figures.fr_80k_at_192k_db {
        let rate = 192_000.0;
        let settings = small_signal(&bench(device_slot, Output::Se, 32.0));
        let mut e = engine(&settings, rate);
        let ir = impulse_response(&mut e, 1 << 14);
        let measured = deviation_db(&ir, rate, &[80_000.0])[0];
        rows.push(ConformanceRow::new(
            "FR at 80 kHz re 1 kHz (192 kHz, OS)",
            text,
            db,
            measured,
            "dB",
            0.1,
            Check::Value,
        ));
    }

    let spec = crate::voicing::amp(device_slot);
    // Noise: across a 600 Ω resistor, ≤ 0.02 dB below the open-circuit figure.
    let noise_row = |output: Output, uv: f64, text: String, check: Check| {
        let measured = noise_vrms(&bench(device_slot, output, 600.0), rate, 0.25) * 1e6;
        ConformanceRow::new(
            format!(
                "noise floor, A-weighted, {}, high gain, 600 Ω",
                Output::LABELS[output.index()]
            ),
            text,
            uv,
            measured,
            "µV",
            1.0,
            check,
        )
    };
    for &(output, uv, text) in figures.noise {
        rows.push(noise_row(output, uv, text.to_string(), Check::Value));
    }
    if figures.noise.is_empty() {
        let uv = spec.gain(Output::Se, crate::amp::GainStep::High).noise_uv_a;
        if uv > 0.0 {
            rows.push(noise_row(
                Output::Se,
                uv,
                format!("{uv:.1} µV(A), the amp alone (the voicing's estimate; the DAC's floor adds to it)"),
                Check::Estimate,
            ));
        }
    }

    for &(output, load_ohms, rated, text) in figures.clip {
        let published_vrms = rated.vrms(load_ohms);
        // Guess: the input that gives the published voltage from the high-gain full scale
        // through the divider.
        let out = spec.output(output);
        let full_scale = out.gains[2].full_scale_vrms * load_ohms / (load_ohms + out.z_out_ohms);
        let guess = published_vrms / full_scale;
        let measured = clip_point(&bench(device_slot, output, load_ohms), rate, Some(guess))
            .map_or(0.0, |c| c.0);
        rows.push(ConformanceRow::new(
            format!(
                "max output at 1 % THD+N, {}, {load_ohms} Ω, high gain (Vrms)",
                Output::LABELS[output.index()]
            ),
            format!("{text} = {published_vrms:.2} Vrms"),
            published_vrms,
            measured,
            "Vrms",
            0.5,
            Check::Value,
        ));
    }

    // The device's SE output impedance into the Andromeda (3–40 Ω multi-BA): the engine
    // against the divider formula. The row shows the largest formula deviation and the
    // measurement at that frequency; `error_db` is the worst error over 1/12 octave.
    if let Some(andromeda) = HEADPHONE_LABELS
        .iter()
        .position(|l| *l == "Campfire Andromeda 2020")
    {
        let settings = Settings {
            headphone: andromeda,
            ..bench(device_slot, Output::Se, 32.0)
        };
        if let Some(effect) = z_out_effect(&settings, rate) {
            let extreme = effect
                .points
                .iter()
                .copied()
                .max_by(|a, b| a.formula_db.abs().total_cmp(&b.formula_db.abs()))
                .expect("points");
            let mut row = ConformanceRow::new(
                format!(
                    "Z_out {} Ω into the Andromeda, deviation at {:.0} Hz re 1 kHz",
                    effect.z_out_ohms, extreme.freq_hz
                ),
                format!("[calc] divider formula: {:+.3} dB", extreme.formula_db),
                extreme.formula_db,
                extreme.measured_db,
                "dB",
                0.02,
                Check::Value,
            );
            row.error_db = effect.worst_error_db;
            row.pass = Some(effect.worst_error_db <= row.tolerance_db);
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testutil::{sine, white_noise};
    use crate::load::Complex64;
    use std::f64::consts::TAU;

    /// Pre-ringing: the largest |sample| before the main lobe, i.e. before the monotonic
    /// rise that ends at the peak.
    fn pre_ringing(ir: &[f32]) -> f32 {
        let mut start = impulse_peak(ir);
        while start > 0 && ir[start - 1] < ir[start] {
            start -= 1;
        }
        ir[..start].iter().fold(0.0f32, |m, v| m.max(v.abs()))
    }

    /// Samples of `a` above half its peak (the width of a hold pulse).
    fn width_at_half(a: &[f32]) -> usize {
        let peak = a.iter().fold(0.0f32, |m, v| m.max(*v));
        a.iter().filter(|&&v| v > peak / 2.0).count()
    }

    #[test]
    fn conformance_rows_pass() {
        // One thread per device: the rows of a device run in sequence (K13, the longest,
        // about 3 s in the dev profile).
        let start = std::time::Instant::now();
        let all: Vec<Vec<ConformanceRow>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..DEVICE_LABELS.len())
                .map(|slot| scope.spawn(move || conformance(slot)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        let mut failures = Vec::new();
        for (slot, rows) in all.iter().enumerate() {
            for row in rows {
                println!(
                    "{:<24} {:<66} {:>9.4} {:<4} vs {:>9.4}  err {:+.3} dB  {}",
                    DEVICE_LABELS[slot],
                    row.figure,
                    row.measured,
                    row.unit,
                    row.published_value,
                    row.error_db,
                    row.pass_text()
                );
                if row.pass == Some(false) {
                    failures.push(format!("{}: {}", DEVICE_LABELS[slot], row.figure));
                }
            }
        }
        println!("conformance of every device: {:?}", start.elapsed());
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn measure_reads_the_k13() {
        let settings = Settings {
            device: 0,
            headphone: 0,
            ..Settings::default()
        };
        let m = measure(&settings, 48_000.0);
        assert_eq!(m.thd_vs_level.len(), THD_LEVELS_DBFS.len());
        assert!(m.frequency_response.iter().all(|p| p.level_db.is_finite()));
        // The engine reports its latency as the measured impulse peak.
        assert_eq!(m.latency_samples, m.impulse_peak_samples);
        let z = m.z_out_effect.expect("catalogue headphone");
        assert!(z.worst_error_db < 0.02, "{}", z.worst_error_db);
        assert!(m.noise.spl_db_a.is_some());
        assert!(m.max_output.is_some());
        assert_eq!(m.impulse_os.len(), IMPULSE_SAMPLES);
    }

    /// `character` reads the same THD+N and harmonics as `measure` (same code, same sine
    /// length: only the engine's history differs), Ideal is clean, and the NOS impulse has
    /// no pre-ringing where the OS filter's does — with the minimum-phase decimator: the
    /// default linear-phase decimator pre-rings in NOS too (1.7e-2 for the K13 at 48 kHz).
    #[test]
    fn analog_impulses_show_the_hold_and_the_os_ringing() {
        // The K13 at 48 kHz: NOS holds each sample for one host period (K analog samples);
        // OS runs its chip filter first.
        let rate = 48_000.0;
        let c = character(&Settings::default(), &CustomLoad::default(), rate, -6.0);
        let k = (c.analog_rate_hz / rate).round() as usize;
        let peak = |a: &[f32]| a.iter().fold(0.0f32, |m, v| m.max(*v));
        let pre = pre_ringing;
        let nos_peak = peak(&c.analog_nos);
        let wide = width_at_half(&c.analog_nos);
        println!(
            "analog {:.0} Hz (K = {k}): NOS pulse height {nos_peak:.4}, {wide} samples above half, \
             pre-ringing {:.2e}; OS peak {:.4}, pre-ringing {:.2e}",
            c.analog_rate_hz,
            pre(&c.analog_nos),
            peak(&c.analog_os),
            pre(&c.analog_os)
        );
        // One hold period wide at half height (±1 analog sample: the analog low-pass
        // rounds the corners).
        assert!(wide.abs_diff(k) <= 1, "{wide} samples, K = {k}");
        // The OS chip filter rings before its peak; the NOS path barely does (what is left
        // is the rounding of the pulse's leading edge): > 50× less.
        assert!(pre(&c.analog_os) > 1e-2);
        assert!(pre(&c.analog_os) > 50.0 * pre(&c.analog_nos));
    }

    #[test]
    fn character_matches_measure_and_shows_the_impulses() {
        let rate = 48_000.0;
        let k13 = Settings::default();
        assert_eq!(k13.device, 0);
        let start = std::time::Instant::now();
        let c = character(&k13, &CustomLoad::default(), rate, -6.0);
        println!("character (K13, −6 dBFS): {:?}", start.elapsed());
        let m = measure(&k13, rate);
        let p = m
            .thd_vs_level
            .iter()
            .find(|p| p.level_dbfs == -6.0)
            .expect("−6 dBFS point");
        let h = |p: &ThdPoint, k: usize| p.harmonics_dbc[k].expect("in band");
        println!(
            "K13 −6 dBFS: THD+N {:.3} / {:.3} dB, H2 {:.3} / {:.3} dBc, H3 {:.3} / {:.3} dBc \
             (character / measure)",
            c.thd.thd_n_db,
            p.thd_n_db,
            h(&c.thd, 0),
            h(p, 0),
            h(&c.thd, 1),
            h(p, 1)
        );
        assert_eq!(c.thd.level_dbfs, -6.0);
        assert!((c.thd.thd_n_db - p.thd_n_db).abs() < 0.5);
        assert!((h(&c.thd, 0) - h(p, 0)).abs() < 0.5);
        assert!((h(&c.thd, 1) - h(p, 1)).abs() < 0.5);
        assert_eq!(c.impulse_os, m.impulse_os);
        assert_eq!(c.impulse_nos, m.impulse_nos);
        assert_eq!(c.impulse_start_nos, m.impulse_start_nos);

        let ideal = character(
            &Settings { device: 1, ..k13 },
            &CustomLoad::default(),
            rate,
            -6.0,
        );
        println!("Ideal −6 dBFS: THD+N {:.2} dB", ideal.thd.thd_n_db);
        assert!(ideal.thd.thd_n_db < -110.0);

        let (os, nos) = (pre_ringing(&c.impulse_os), pre_ringing(&c.impulse_nos));
        println!("K13, linear-phase decimator: pre-ringing OS {os:.2e}, NOS {nos:.2e}");
        // The default (linear-phase) decimator rings before the peak in NOS too, but less
        // than the OS filter and the decimator together.
        assert!(os > 1e-3 && os > nos);
        // With the minimum-phase decimator the NOS path is causal: no pre-ringing at all.
        let min_phase = character(
            &Settings {
                decimator: crate::analog::decimator::DecimatorPhase::Minimum,
                ..k13
            },
            &CustomLoad::default(),
            rate,
            -6.0,
        );
        let (os, nos) = (
            pre_ringing(&min_phase.impulse_os),
            pre_ringing(&min_phase.impulse_nos),
        );
        println!("K13, minimum-phase decimator: pre-ringing OS {os:.2e}, NOS {nos:.2e}");
        assert!(nos < 1e-3);
        assert!(os > 1e-3);
        assert_eq!(c.impulse_os.len(), IMPULSE_SAMPLES);
        assert_eq!(c.impulse_nos.len(), IMPULSE_SAMPLES);
    }

    /// The analog impulses at 192 kHz with a long latency (the K11 with the reference
    /// linear-phase OS filter and its DAC at 48 kHz: 792 samples in OS, 430 in NOS, both
    /// past the 512 block the response used to be cut to; the longest found, 856 / 464 at a
    /// 44.1 kHz DAC, has a resampled, two-period-wide NOS pulse): the whole response is one
    /// chunk, both peaks sit at `analog_pre_samples`, and the NOS pulse is one DAC period
    /// wide (384 kHz / 48 kHz = 8 analog samples, ±1).
    #[test]
    fn analog_impulses_with_a_long_latency_hold_the_peak() {
        let rate = 192_000.0;
        let settings = Settings {
            device: crate::voicing::K11_R2R,
            os_filter: Some(crate::dac::os_filter::OsFilter::ReferenceLinear),
            dac_rate: 2,
            ..Settings::default()
        };
        let dac_rate = crate::params::DAC_RATES_HZ[settings.dac_rate];
        let latency = |mode| {
            engine(
                &Settings {
                    dac_mode: mode,
                    ..settings
                },
                rate,
            )
            .latency_samples()
        };
        let (os, nos) = (latency(DacMode::Os), latency(DacMode::Nos));
        let c = character(&settings, &CustomLoad::default(), rate, -6.0);
        let period = c.analog_rate_hz / dac_rate;
        let wide = width_at_half(&c.analog_nos);
        println!(
            "{}, DAC {dac_rate} Hz: latency OS {os}, NOS {nos}; analog {:.0} Hz, pre {} \
             samples; peaks at {} (OS) and {} (NOS); NOS {wide} samples above half (DAC \
             period {period:.2}); pre-ringing OS {:.2e}, NOS {:.2e}",
            DEVICE_LABELS[settings.device],
            c.analog_rate_hz,
            c.analog_pre_samples,
            impulse_peak(&c.analog_os),
            impulse_peak(&c.analog_nos),
            pre_ringing(&c.analog_os),
            pre_ringing(&c.analog_nos)
        );
        assert!(
            IMPULSE_SAMPLES + os.min(nos) > 512,
            "the case the fix is for"
        );
        assert_eq!(
            c.analog_pre_samples,
            (ANALOG_PRE_S * c.analog_rate_hz) as usize
        );
        assert_eq!(impulse_peak(&c.analog_os), c.analog_pre_samples);
        assert_eq!(impulse_peak(&c.analog_nos), c.analog_pre_samples);
        let post = (ANALOG_POST_S * c.analog_rate_hz) as usize;
        assert_eq!(c.analog_os.len(), c.analog_pre_samples + post);
        assert_eq!(c.analog_nos.len(), c.analog_pre_samples + post);
        assert!(
            (wide as f64 - period).abs() <= 1.0,
            "{wide} samples, period {period}"
        );
        assert!(pre_ringing(&c.analog_os) > 1e-2);
    }

    /// With "Custom (imported)", `character` drives the imported curve: its OS impulse
    /// response differs from the same setting on the fallback resistor (no curve) by the
    /// divider formula on the curve, 10 kHz re 1 kHz (a 75 Ω output impedance into a curve
    /// rising from 30 Ω to 600 Ω), within 0.1 dB (the window is 256 samples).
    #[test]
    fn character_drives_the_imported_curve() {
        let rate = 48_000.0;
        let custom = CustomLoad::default();
        custom
            .import(
                "rising.zma",
                "20 30 0
1000 30 0
5000 100 30
20000 600 45
",
            )
            .expect("valid curve");
        let settings = Settings {
            device: crate::voicing::IDEAL,
            headphone: HEADPHONE_CUSTOM,
            z_out_custom: true,
            z_out_ohms: 75.0,
            ..Settings::default()
        };
        let curve = custom.get().1.expect("imported").curve;
        let div = |f: f64| divider(curve.impedance(f), 75.0).norm();
        let formula_db = 20.0 * (div(10_000.0) / div(1000.0)).log10();
        let at_10k = |c: &Character| deviation_db(&c.impulse_os, rate, &[10_000.0])[0];
        let with_curve = at_10k(&character(&settings, &custom, rate, -6.0));
        let fallback = at_10k(&character(&settings, &CustomLoad::default(), rate, -6.0));
        println!(
            "10 kHz re 1 kHz: curve {with_curve:+.3} dB, fallback resistor {fallback:+.3} dB, \
             difference {:+.3} dB, formula {formula_db:+.3} dB",
            with_curve - fallback
        );
        assert!(formula_db > 3.0, "the curve must make a difference");
        assert!((with_curve - fallback - formula_db).abs() < 0.1);
    }

    /// A sine with exactly 1 % H3 reads THD+N = THD = 1 % within 0.01 dB (−40 dB).
    #[test]
    fn one_percent_h3_reads_one_percent() {
        let rate = 48_000.0;
        let len = 24_000;
        let fundamental = sine(len, rate, 1000.0, 0.5, 0.3);
        let h3 = sine(len, rate, 3000.0, 0.005, 1.1);
        let x: Vec<f64> = fundamental.iter().zip(&h3).map(|(a, b)| a + b).collect();
        let m = thd_n(&x, rate, 1000.0, AUDIO_BAND_HZ);
        println!(
            "1 % H3: THD+N {:.5} dB, THD {:.5} dB, H3 {:.5} dBc",
            m.thd_n_db, m.thd_db, m.harmonics_db[1]
        );
        assert!((m.thd_n_db + 40.0).abs() < 0.01);
        assert!((m.thd_db + 40.0).abs() < 0.01);
        assert!((m.harmonics_db[1] + 40.0).abs() < 0.01);
        assert!((m.thd_n_percent - 1.0).abs() < 1e-3);
    }

    /// An RBJ peaking biquad (1 kHz, +6 dB, Q 2 at 48 kHz), run sample by sample: its
    /// impulse response read by `frequency_response` equals `H(e^{jω})` from its
    /// coefficients (Bristow-Johnson, "Audio EQ Cookbook") within 1e-6 dB.
    #[test]
    fn biquad_reads_its_formula() {
        let rate = 48_000.0;
        let (f0, gain_db, q) = (1000.0, 6.0, 2.0);
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = TAU * f0 / rate;
        let alpha = w0.sin() / (2.0 * q);
        let b = [1.0 + alpha * a, -2.0 * w0.cos(), 1.0 - alpha * a];
        let den = [1.0 + alpha / a, -2.0 * w0.cos(), 1.0 - alpha / a];
        let (b, den) = (b.map(|v| v / den[0]), den.map(|v| v / den[0]));
        // Transposed direct form II on an impulse; 1 s is ~100 time constants (pole radius
        // 0.967): the truncated tail is below 1e-30.
        let (mut s1, mut s2) = (0.0, 0.0);
        let ir: Vec<f64> = (0..48_000)
            .map(|n| {
                let x = if n == 0 { 1.0 } else { 0.0 };
                let y = b[0] * x + s1;
                s1 = b[1] * x - den[1] * y + s2;
                s2 = b[2] * x - den[2] * y;
                y
            })
            .collect();
        let freqs = log_frequencies(10.0, 23_000.0, 12.0);
        let measured = frequency_response(&ir, rate, &freqs);
        let mut worst = 0.0f64;
        for (f, h) in freqs.iter().zip(&measured) {
            let z = Complex64::from_polar(1.0, -TAU * f / rate); // z^-1
            let formula = (b[0] + b[1] * z + b[2] * z * z) / (den[0] + den[1] * z + den[2] * z * z);
            worst = worst.max((20.0 * (h.norm() / formula.norm()).log10()).abs());
        }
        let at_f0 = 20.0 * frequency_response(&ir, rate, &[f0])[0].norm().log10();
        println!("biquad: worst {worst:e} dB; gain at f0 {at_f0:.6} dB");
        assert!(worst < 1e-6);
        assert!((at_f0 - gain_db).abs() < 1e-6);
    }

    /// White noise of RMS σ at 48 kHz: its A-weighted RMS in 20 Hz–20 kHz is
    /// `σ·sqrt(∫|A(f)|² df / (fs/2))`, the integral by the trapezoid rule on a 1 Hz grid;
    /// read within 0.2 dB at the level of a device's noise floor (10 µV) from 0.5 s.
    #[test]
    fn white_noise_reads_its_a_weighted_rms() {
        let rate = 48_000.0;
        let sigma = 10e-6;
        let x = white_noise(24_000, sigma, 7);
        let gain2 = |f: f64| 10f64.powf(analysis::a_weighting_db(f) / 10.0);
        let steps = 19_980;
        let integral: f64 = (0..=steps)
            .map(|i| {
                let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
                w * gain2(20.0 + i as f64)
            })
            .sum();
        let expected = sigma * (integral / (rate / 2.0)).sqrt();
        let measured = analysis::noise_rms_a_weighted(&x, rate);
        let err = 20.0 * (measured / expected).log10();
        println!(
            "white noise σ = 10 µV: A-weighted {:.4} µV, closed form {:.4} µV ({err:+.3} dB)",
            measured * 1e6,
            expected * 1e6
        );
        assert!(err.abs() < 0.2);
    }
}
