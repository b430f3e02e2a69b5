//! Offline measurement: a virtual analyzer on the whole [`Engine`] (`cargo xtask measure`).
//!
//! - This file, the analyzer: [`measure`] runs one setting through the engine and reads it
//!   with [`crate::analysis`], the way a bench analyzer reads a device: frequency response
//!   from the impulse response, THD+N and H2–H9 at 1 kHz over a level sweep, the A-weighted
//!   noise floor with silence in, the 1 % THD+N clip point, the output impedance's effect
//!   on the chosen headphone against the divider formula, impulse and step responses in OS
//!   and NOS, and the latency.
//! - [`character`](mod@character): what the editor's character view shows of one setting
//!   (THD+N and harmonics at one level, OS and NOS impulses at the host rate and in the
//!   analog domain).
//! - [`conformance`](mod@conformance): every published figure of a device file
//!   (`[[published]]`) measured the same way, and judged row by row within its tolerance.
//!   Estimates are shown as such, never as pass or fail.
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

use crate::amp::{spl_db, GainStep, V_REF_VRMS};
use crate::analysis::{
    self, frequency_response, impulse_peak, log_frequencies, spectrum, thd_n, tone, Window,
    AUDIO_BAND_HZ, HARMONICS,
};
use crate::dac::DacMode;
use crate::load::{drive, CustomLoad, ResolvedLoad};
use crate::params::HEADPHONE_LABELS;
use crate::presets::{Catalogue, HeadphoneSlot};
use crate::{Engine, Settings};

mod character;
mod conformance;

pub use character::{character, Character, ANALOG_POST_S, ANALOG_PRE_S};
pub use conformance::{conformance, Check, ConformanceRow, CONFORMANCE_RATE_HZ};

/// Levels (dBFS, sine peak) of the THD+N sweep: 0 to −90 in 3 dB steps (−6, the level
/// R2R figures are published at, is one of them).
pub const THD_LEVELS_DBFS: [f64; 31] = [
    0.0, -3.0, -6.0, -9.0, -12.0, -15.0, -18.0, -21.0, -24.0, -27.0, -30.0, -33.0, -36.0, -39.0,
    -42.0, -45.0, -48.0, -51.0, -54.0, -57.0, -60.0, -63.0, -66.0, -69.0, -72.0, -75.0, -78.0,
    -81.0, -84.0, -87.0, -90.0,
];
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
    /// The listener's own source (0: an ideal one); the formula is then
    /// `(Z_L + Z_yours)/(Z_L + Z_out)`.
    pub your_z_out_ohms: f64,
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

/// An engine on `catalogue` prepared for the analyzer (mono, blocks of 512).
fn engine(catalogue: &Catalogue, settings: &Settings, rate: f64) -> Engine {
    let mut e = Engine::with_catalogue(settings, catalogue.clone(), CustomLoad::default());
    e.prepare(rate as f32, 512, 1);
    e
}

/// The name of a headphone entry (a catalogue headphone or a reserved entry).
fn headphone_name(catalogue: &Catalogue, slot: HeadphoneSlot) -> String {
    catalogue
        .headphone(slot)
        .map(|h| h.name.clone())
        .or_else(|| HEADPHONE_LABELS.get(slot.0).map(|l| (*l).to_owned()))
        .unwrap_or_else(|| "?".to_owned())
}

/// The small-signal chain of `settings` (see the module docs).
fn small_signal(settings: &Settings) -> Settings {
    Settings {
        level_match: true,
        gain: GainStep::Low,
        volume_pct: 100.0,
        ..*settings
    }
}

/// Absolute mode at high gain and full volume: the conditions of published power figures.
fn full_power(settings: &Settings) -> Settings {
    Settings {
        level_match: false,
        gain: GainStep::High,
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
fn load_impedance(catalogue: &Catalogue, settings: &Settings) -> Option<ResolvedLoad> {
    if settings.headphone == HeadphoneSlot::CUSTOM {
        return None;
    }
    let config = settings
        .chain_request(0)
        .resolve(catalogue, &CustomLoad::default());
    Some(config.load?.load)
}

/// A-weighted noise (V RMS) across the load, silence in, absolute mode, `seconds` long.
fn noise_vrms(catalogue: &Catalogue, settings: &Settings, rate: f64, seconds: f64) -> f64 {
    let mut e = engine(
        catalogue,
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
fn clip_point(
    catalogue: &Catalogue,
    settings: &Settings,
    rate: f64,
    guess: Option<f64>,
) -> Option<(f64, f64)> {
    let mut e = engine(catalogue, settings, rate);
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

/// The output impedance's effect on the load of `settings`, measured against 0 Ω (both
/// the emulated source's and, when the listener's own source is set, the compensation of
/// it: `(Z_L + Z_yours)/(Z_L + Z_out)`).
fn z_out_effect(catalogue: &Catalogue, settings: &Settings, rate: f64) -> Option<ZOutEffect> {
    let z_load = load_impedance(catalogue, settings)?;
    let z_out = settings.z_out_ohms(catalogue);
    let yours = settings.your_z_out_ohms(catalogue);
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
    let mut e = engine(catalogue, &small, rate);
    let with = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
    let mut bare = Settings {
        z_out_custom: true,
        z_out_ohms: 0.0,
        ..small
    };
    bare.yours.z_out_custom = true;
    bare.yours.z_out_ohms = 0.0;
    e.apply_now(&bare);
    let without = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
    let h_1k = drive(z_load.impedance(1000.0), z_out, yours).norm();
    let formula = |f: f64| 20.0 * (drive(z_load.impedance(f), z_out, yours).norm() / h_1k).log10();
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
        your_z_out_ohms: yours,
        points,
        worst_error_db,
    })
}

/// The impulse response window and its step response for one DAC mode.
fn impulse_and_step(
    catalogue: &Catalogue,
    settings: &Settings,
    rate: f64,
    mode: DacMode,
) -> (Vec<f32>, usize, Vec<f32>) {
    let mut e = engine(
        catalogue,
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

/// Measure one setting at the host rate `rate` (Hz), on [`Catalogue::active`]. Takes about
/// a second per setting in the dev profile at 48 kHz (most of it the clip-point bisection).
pub fn measure(settings: &Settings, rate: f64) -> Measurement {
    let catalogue = Catalogue::active();
    let small = small_signal(settings);

    // Frequency response: the device into a resistor, from its whole impulse response.
    let resistive = Settings {
        headphone: HeadphoneSlot::RESISTIVE,
        ..small
    };
    let mut e = engine(catalogue, &resistive, rate);
    let latency_samples = e.latency_samples();
    let ir = impulse_response(&mut e, ir_len(rate));
    let freqs = log_frequencies(10.0, 0.45 * rate, 6.0);
    let frequency_response = freqs
        .iter()
        .zip(deviation_db(&ir, rate, &freqs))
        .map(|(&freq_hz, level_db)| Point { freq_hz, level_db })
        .collect();

    // THD+N vs level, with the setting as given.
    let mut e = engine(catalogue, settings, rate);
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
    let noise_v = noise_vrms(catalogue, settings, rate, 0.5);
    let headphone = catalogue.headphone(settings.headphone);
    let spl_db_a = headphone.and_then(|h| {
        let s = h.sensitivity?;
        Some(spl_db(s, noise_v, h.network.impedance(1000.0).norm()))
    });

    // Clip point into the load.
    let load_1k = load_impedance(catalogue, settings).map_or(f64::from(settings.load_ohms), |z| {
        z.impedance(1000.0).norm()
    });
    let max_output =
        clip_point(catalogue, &full_power(settings), rate, None).map(|(vrms, input_dbfs)| {
            MaxOutput {
                vrms,
                mw: vrms * vrms / load_1k * 1e3,
                load_ohms: load_1k,
                input_dbfs,
            }
        });

    let (impulse_os, impulse_start_os, step_os) =
        impulse_and_step(catalogue, settings, rate, DacMode::Os);
    let (impulse_nos, impulse_start_nos, step_nos) =
        impulse_and_step(catalogue, settings, rate, DacMode::Nos);

    Measurement {
        device: catalogue
            .device(settings.device)
            .map_or_else(|| "?".to_owned(), |d| d.name.clone()),
        headphone: headphone_name(catalogue, settings.headphone),
        dac_mode: settings.dac_mode.label().to_owned(),
        output: settings.output.label().to_owned(),
        gain: settings.gain.label().to_owned(),
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
        z_out_effect: z_out_effect(catalogue, settings, rate),
        impulse_os,
        impulse_start_os,
        impulse_nos,
        impulse_start_nos,
        step_os,
        step_nos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testutil::{sine, white_noise};
    use crate::filter::biquad::{tdf2, BiquadCoefs, LaneCoefs};
    use crate::load::Complex64;
    use std::f64::consts::TAU;

    #[test]
    fn measure_reads_the_k13() {
        let settings = Settings {
            device: crate::presets::DeviceSlot::by_id("fiio-k13-r2r").unwrap(),
            headphone: HeadphoneSlot::by_id("campfire-andromeda-2020").unwrap(),
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
        let coefs = LaneCoefs::splat(&BiquadCoefs {
            b0: b[0],
            b1: b[1],
            b2: b[2],
            a1: den[1],
            a2: den[2],
        });
        let mut state = [0.0; 2];
        let ir: Vec<f64> = (0..48_000)
            .map(|n| tdf2(&coefs, &mut state, if n == 0 { 1.0 } else { 0.0 }))
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
