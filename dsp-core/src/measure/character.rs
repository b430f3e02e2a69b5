//! What the editor's character view shows of one setting: THD+N and harmonics of a 1 kHz
//! sine at one level, and the OS and NOS impulse responses at the host rate and in the
//! analog domain (before the decimator), measured on the model with the current settings.

use serde::Serialize;

use super::{
    impulse_window, sine_through, small_signal, thd_point, ThdPoint, IMPULSE_SAMPLES, THD_SECONDS,
};
use crate::analysis::impulse_peak;
use crate::dac::DacMode;
use crate::load::CustomLoad;
use crate::{Engine, Settings};

/// Largest block of [`character`]'s engine: the whole impulse response
/// ([`IMPULSE_SAMPLES`] + the latency) is processed as one chunk, so the chain's
/// analog-domain buffer ([`crate::chain::Chain::analog`], the last chunk only) holds all
/// of it.
const CHARACTER_MAX_BLOCK: usize = 1 << 14;

/// What the editor's "character" view shows of one setting: the THD+N and harmonics of a
/// 1 kHz sine at one level, and the OS and NOS impulse responses.
#[derive(Debug, Clone, Serialize)]
pub struct Character {
    /// Input level of the sine, dBFS (sine peak).
    pub level_dbfs: f64,
    pub sample_rate_hz: f64,
    /// THD+N and H2–H9 with `settings` as given (gain, volume, level matching, load).
    pub thd: ThdPoint,
    /// Impulse responses per unit impulse, as [`super::Measurement::impulse_os`]: from
    /// [`super::IMPULSE_PRE_SAMPLES`] before the peak, [`IMPULSE_SAMPLES`] long; `impulse_start_*`
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
    let Some(chain) = e.chain() else {
        return (Vec::new(), 0.0, 0);
    };
    let k = chain.clocks().k;
    let analog_rate = chain.clocks().analog_rate;
    let a = chain.analog(0);
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
/// NOS impulse responses (as in [`super::measure`]). `custom` is the imported impedance curve used
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dac::{DacRate, OsFilter};
    use crate::load::divider;
    use crate::measure::{deviation_db, engine, measure};
    use crate::presets::{Catalogue, DeviceSlot, HeadphoneSlot};

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
        assert_eq!(k13.device, DeviceSlot::by_id("fiio-k13-r2r").unwrap());
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
            &Settings {
                device: DeviceSlot::IDEAL,
                ..k13
            },
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
            device: DeviceSlot::by_id("fiio-k11-r2r").unwrap(),
            os_filter: Some(OsFilter::ReferenceLinear),
            dac_rate: DacRate::R48k,
            ..Settings::default()
        };
        let dac_rate = settings.dac_rate.hz().unwrap();
        let latency = |mode| {
            engine(
                Catalogue::active(),
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
            crate::params::DEVICE_LABELS[settings.device.0],
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
            device: DeviceSlot::IDEAL,
            headphone: HeadphoneSlot::CUSTOM,
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
}
