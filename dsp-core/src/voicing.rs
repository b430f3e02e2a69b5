//! The formulas behind the built-in voicings' derived figures, and the voicings by name.
//!
//! Every figure, its source and whether it is an estimate live in the device files
//! (`presets/devices/*.toml`, see [`crate::presets`]); this module keeps the formulas the
//! files' derived figures come from, which the tests recompute. The tests below also hold a
//! copy of the K13 R2R and K7 voicings as they were written in Rust before the files
//! existed, and check that the files reproduce them exactly.

use crate::presets::{Catalogue, DeviceVoicing};

/// The factory voicing whose file is `presets/devices/{id}.toml` (ignores user overrides:
/// the published voicing). Panics on an unknown id (a defect the tests catch).
pub fn factory(id: &str) -> &'static DeviceVoicing {
    Catalogue::factory()
        .device_by_id(id)
        .unwrap_or_else(|| panic!("no factory device {id:?}"))
}

/// FiiO K13 R2R (`presets/devices/fiio-k13-r2r.toml`: a complementary 24-bit ladder, seed
/// 2345, R2R OS filter, an 87.9 kHz analog low-pass and the calibrated H2/H3 profile).
pub fn k13_r2r() -> &'static DeviceVoicing {
    factory("fiio-k13-r2r")
}

/// FiiO K7 (`presets/devices/fiio-k7.toml`: delta-sigma at −121 dBFS, AK4493 sharp filter).
pub fn k7() -> &'static DeviceVoicing {
    factory("fiio-k7")
}

/// FiiO K11 R2R (`presets/devices/fiio-k11-r2r.toml`).
pub fn k11_r2r() -> &'static DeviceVoicing {
    factory("fiio-k11-r2r")
}

/// Corner (Hz) of a second-order Butterworth low-pass that, together with the hold droop of
/// a staircase at `staircase_hz`, gives `total_db` (negative) at `match_hz`:
/// droop `20·log10|sin x / x|` with `x = π·match_hz/staircase_hz`, the low-pass takes the
/// rest, `|H(f)|² = 1/(1 + (f/fc)^4)` → `fc = f / (10^(−L/10) − 1)^(1/4)`.
pub fn butterworth_corner_hz(match_hz: f64, total_db: f64, staircase_hz: f64) -> f64 {
    let hold_droop_db = {
        let x = std::f64::consts::PI * match_hz / staircase_hz;
        20.0 * (x.sin() / x).log10()
    };
    let lowpass_db = total_db - hold_droop_db;
    match_hz / (10f64.powf(-lowpass_db / 10.0) - 1.0).powf(0.25)
}

/// Corner of the K13's analog low-pass: the published "20 Hz–80 kHz < 2.9 dB" at a
/// 192 kHz input, whose staircase runs at 384 kHz (droop 0.63 dB at 80 kHz) → 87.9 kHz.
pub fn k13_analog_corner_hz() -> f64 {
    butterworth_corner_hz(80_000.0, -2.9, 384_000.0)
}

/// Corner of the K11's analog low-pass: its published "FR 20 Hz–50 kHz" read as −3 dB at
/// 50 kHz (*assumption*) at a 192 kHz input (staircase at 384 kHz) → 51.5 kHz.
pub fn k11_analog_corner_hz() -> f64 {
    butterworth_corner_hz(50_000.0, -3.0, 384_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analog::lowpass::AnalogLowpass;
    use crate::analog::shaper::HarmonicProfile;
    use crate::analog::AnalogConfig;
    use crate::analysis::{thd_n, tone, AUDIO_BAND_HZ};
    use crate::chain::{Chain, ChainConfig};
    use crate::clocks::ChainLayout;
    use crate::dac::r2r::{Coding, LadderConfig};
    use crate::dac::{ConverterKind, DacConfig, DacMode, OsFilter};
    use crate::presets::DeviceSlot;

    /// The K13 R2R exactly as `voicing::k13_r2r()` built it in Rust before the device
    /// files (figures and reasons: `presets/devices/fiio-k13-r2r.toml`).
    fn k13_r2r_as_written_in_rust() -> (DacConfig, AnalogConfig) {
        // The K13's analog corner, as the Rust code computed it.
        let corner_hz = {
            let hold_droop_db = {
                let x = std::f64::consts::PI * 80_000.0 / 384_000.0;
                20.0 * (x.sin() / x).log10()
            };
            let lowpass_db = -2.9 - hold_droop_db; // −2.271 dB
            80_000.0 / (10f64.powf(-lowpass_db / 10.0) - 1.0).powf(0.25)
        };
        let dac = DacConfig {
            mode: DacMode::Os,
            os_filter: OsFilter::R2rOs,
            dac_rate_hz: None,
            converter: ConverterKind::R2r(LadderConfig {
                bits: 24,
                tolerance_pct: 0.1,
                coding: Coding::Complementary,
                // The unit and profile as recalibrated to hold the published THD+N over
                // −6 ± 0.5 dBFS (the Rust code had seed 195, H2 −78, H3 −82 dBc).
                seed: 2345,
                glitch_skew_s: 0.0,
                dither: true,
                switch_bow: 2e-3,
                switch_bow_mismatch: 0.1,
            }),
            hold: true,
        };
        let analog = AnalogConfig {
            lowpass: Some(AnalogLowpass {
                corner_hz,
                match_hz: 80_000.0,
            }),
            harmonics: HarmonicProfile::from_dbc(
                -6.0,
                [-77.0, -81.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0],
                [1.0; 8],
            ),
        };
        (dac, analog)
    }

    /// The K7 exactly as `voicing::k7()` built it in Rust before the device files.
    fn k7_as_written_in_rust() -> (DacConfig, AnalogConfig) {
        let dac = DacConfig {
            mode: DacMode::Os,
            os_filter: OsFilter::Ak4493Sharp,
            dac_rate_hz: None,
            converter: ConverterKind::DeltaSigma { noise_dbfs: -121.0 },
            hold: true,
        };
        let analog = AnalogConfig {
            lowpass: Some(AnalogLowpass {
                corner_hz: 100_000.0,
                match_hz: 100_000.0,
            }),
            harmonics: HarmonicProfile::from_dbc(
                -6.0,
                [
                    -118.0, -120.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0,
                ],
                [1.0; 8],
            ),
        };
        (dac, analog)
    }

    #[test]
    fn device_files_reproduce_the_rust_voicings_exactly() {
        let of = |d: &DeviceVoicing| (d.dac, d.analog);
        assert_eq!(of(k13_r2r()), k13_r2r_as_written_in_rust());
        assert_eq!(of(k7()), k7_as_written_in_rust());
        assert_eq!(
            of(factory("ideal")),
            (DacConfig::IDEAL, AnalogConfig::CLEAN)
        );
        assert_eq!(
            k13_analog_corner_hz().to_bits(),
            87876.79159972511f64.to_bits()
        );
        let corner = |d: &DeviceVoicing| d.analog.lowpass.map(|lp| lp.corner_hz);
        assert_eq!(corner(k13_r2r()), Some(k13_analog_corner_hz()));
        assert_eq!(corner(k11_r2r()), Some(k11_analog_corner_hz()));
        // The host-visible indices still select the same voicings.
        let catalogue = Catalogue::factory();
        assert_eq!(catalogue.device(DeviceSlot(0)), Some(k13_r2r()));
        assert_eq!(catalogue.device(DeviceSlot(2)), Some(k7()));
        assert_eq!(DeviceSlot::IDEAL, DeviceSlot(1));
        assert_eq!(catalogue.device(DeviceSlot(usize::MAX)), None);
    }

    /// A device's DAC and analog stage alone.
    fn dac_chain(device: &DeviceVoicing, rate: f64) -> Chain {
        Chain::new(
            &ChainConfig::dac_only(device.dac, device.analog),
            ChainLayout {
                host_rate: rate,
                max_block: 1024,
                channels: 1,
            },
        )
    }

    fn stage(rate: f64) -> Chain {
        dac_chain(k13_r2r(), rate)
    }

    fn sine(rate: f64, freq: f64, amplitude: f64, seconds: f64) -> Vec<f32> {
        (0..(rate * seconds) as usize)
            .map(|i| (amplitude * (std::f64::consts::TAU * freq * i as f64 / rate).sin()) as f32)
            .collect()
    }

    #[test]
    fn k13_thd_n_at_1_khz_minus_6_dbfs_is_the_published_0_0173_percent() {
        let rate = 44_100.0;
        let mut s = stage(rate);
        let mut x = sine(rate, 1000.0, 0.5, 1.2);
        s.process(&mut [&mut x[..]]);
        let m = thd_n(&x[(0.2 * rate) as usize..], rate, 1000.0, AUDIO_BAND_HZ);
        println!(
            "K13 1 kHz −6 dBFS: THD+N {:.2} dB ({:.4} %), H2 {:.1}, H3 {:.1}, H4 {:.1}, H5 {:.1} dBc",
            m.thd_n_db, m.thd_n_percent, m.harmonics_db[0], m.harmonics_db[1], m.harmonics_db[2], m.harmonics_db[3]
        );
        assert!(
            (m.thd_n_db + 75.2).abs() <= 1.0,
            "THD+N {:.2} dB",
            m.thd_n_db
        );
        let (h2, h3) = (m.harmonics_db[0], m.harmonics_db[1]);
        let others = m.harmonics_db[2..]
            .iter()
            .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        assert!(
            h2.min(h3) > others,
            "H2 {h2:.1}, H3 {h3:.1} must lead H4–H9 ({others:.1})"
        );
    }

    #[test]
    fn k7_delta_sigma_has_its_noise_floor_and_very_low_distortion() {
        let rate = 44_100.0;
        let mut s = dac_chain(k7(), rate);
        let mut x = sine(rate, 1000.0, 0.5, 1.2);
        s.process(&mut [&mut x[..]]);
        let m = thd_n(&x[(0.2 * rate) as usize..], rate, 1000.0, AUDIO_BAND_HZ);
        println!(
            "K7 1 kHz −6 dBFS: THD+N {:.1} dB, THD {:.1} dB, H2 {:.1}, H3 {:.1} dBc",
            m.thd_n_db, m.thd_db, m.harmonics_db[0], m.harmonics_db[1]
        );
        assert!(m.thd_db < -110.0, "THD {:.1} dB", m.thd_db);
        let mut idle = vec![0.0f32; 88_200];
        s.reset();
        s.process(&mut [&mut idle[..]]);
        let spectrum = crate::analysis::spectrum(
            &idle[4410..],
            rate,
            crate::analysis::Window::BlackmanHarris7,
        );
        let noise_dbfs = spectrum.power_in_band_db(20.0, 20_000.0) + 3.0103;
        println!("K7 in-band idle noise {noise_dbfs:.2} dBFS");
        assert!(
            (noise_dbfs + 121.0).abs() <= 1.0,
            "noise {noise_dbfs:.2} dBFS"
        );
    }

    #[test]
    fn k13_idle_noise_is_below_its_published_snr() {
        // Published SNR ≥ 117 dB(A) for the whole device; the DAC alone must stay below that
        // (the amp's noise is added by the amp stage).
        let rate = 44_100.0;
        let mut s = stage(rate);
        let mut x = vec![0.0f32; 44_100];
        s.process(&mut [&mut x[..]]);
        let rms = crate::analysis::rms(&x[4410..]);
        let dbfs = 20.0 * (rms / std::f64::consts::FRAC_1_SQRT_2).log10();
        println!("K13 idle noise {dbfs:.1} dBFS");
        assert!(dbfs < -117.0, "idle noise {dbfs:.1} dBFS");
    }

    #[test]
    fn k13_is_flat_within_0_2_db_from_20_hz_to_20_khz() {
        let rate = 44_100.0;
        let mut s = stage(rate);
        let level = |s: &mut Chain, f: f64| {
            let mut x = sine(rate, f, 0.25, if f < 100.0 { 1.0 } else { 0.2 });
            s.reset();
            s.process(&mut [&mut x[..]]);
            tone(&x[s.latency_samples() + 2000..], rate, f).level_db
        };
        let reference = level(&mut s, 1000.0);
        for f in [20.0, 50.0, 5000.0, 10_000.0, 15_000.0, 20_000.0] {
            let d = level(&mut s, f) - reference;
            assert!(d.abs() < 0.2, "{f} Hz: {d:.3} dB");
        }
    }

    #[test]
    fn k13_is_minus_2_9_db_at_80_khz_at_a_192_khz_host_rate() {
        let rate = 192_000.0;
        let mut s = stage(rate);
        let level = |s: &mut Chain, f: f64| {
            let mut x = sine(rate, f, 0.25, 0.1);
            s.reset();
            s.process(&mut [&mut x[..]]);
            tone(&x[s.latency_samples() + 2000..], rate, f).level_db
        };
        let d = level(&mut s, 80_000.0) - level(&mut s, 1000.0);
        println!("K13 at 192 kHz: 80 kHz {d:.3} dB");
        assert!((d + 2.9).abs() <= 0.1, "80 kHz: {d:.3} dB");
    }
}
