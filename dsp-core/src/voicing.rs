//! Built-in voicings (sources), until presets become data files.
//!
//! Each voicing is a [`DacConfig`] built from published figures; every choice that is not a
//! published figure says so here.

use crate::analog::decimator::DecimatorPhase;
use crate::analog::shaper::HarmonicProfile;
use crate::dac::os_filter::OsFilter;
use crate::dac::r2r::{Coding, LadderConfig};
use crate::dac::stage::{AnalogLowpass, ConverterKind, DacConfig, DacMode};

/// FiiO K13 R2R (`devices.md`, seed 002; ladder figures from audioreview.frieve.com).
///
/// - DAC: fully differential "true 24-bit" R2R, 0.1 % thin-film resistors → a 24-bit
///   complementary ladder, resistors uniform within ±0.1 %. A unit drawn that way ranges
///   from −67 to −81 dB THD+N at −6 dBFS (ladder alone), and its major-carry step at
///   digital zero is typically hundreds of LSB, which dither turns into idle noise near
///   −87 dBFS — 30 dB short of the published SNR (≥ 117 dB). FiiO's units meet their
///   figures, so we model one that does: **seed 195**, the first seed whose ladder alone
///   stays below −80 dB THD+N (−81.2 dB) *and* whose major-carry step is within 4 LSB
///   (1.9 LSB; idle noise −138 dBFS). About one draw in 200 passes both. *Assumption*:
///   FiiO's matching, selection or trimming yields such units.
/// - Switches: a bow α = 2·10⁻³ per ladder with ±10 % mismatch between the halves
///   (*estimate*: on-resistance asymmetry ≈ 0.2 % of 2R); the complementary pair cancels
///   most of it, and the residue is the ladder's own H2.
/// - OS filter: [`OsFilter::R2rOs`] (its figures are an *assumption*, see that module).
/// - Analog low-pass: published "20 Hz–80 kHz < 2.9 dB" (measured at a 192 kHz input):
///   at 192 kHz the converter's staircase runs at 384 kHz and droops 0.63 dB at 80 kHz, so
///   the I/V low-pass takes the remaining 2.27 dB: a second-order Butterworth (*assumption*:
///   the order) with `|H(80 kHz)|² = 1/(1 + (80/fc)^4) = 10^(−2.271/10)` → fc = 87.9 kHz,
///   realised to equal that prototype exactly at 80 kHz.
/// - Harmonic profile of the analog stage (OPA1642 I/V, NJW1195 volume, TPA6120 amp):
///   H2 −78 dBc and H3 −82 dBc at −6 dBFS (*calibrated*, not published): with the ladder's
///   −81.2 dB this makes the published THD+N 0.0173 % (−75.2 dB) at 1 kHz, −6 dBFS, H2 and
///   H3 dominant — the order seen in measurements of op-amp stages, where the even term
///   leads at moderate levels. Being a polynomial, the analog part falls with level (H2
///   1 dB per dB), while the ladder's part stays constant in absolute terms.
pub fn k13_r2r() -> DacConfig {
    DacConfig {
        mode: DacMode::Os,
        os_filter: OsFilter::R2rOs,
        dac_rate_hz: None,
        converter: ConverterKind::R2r(K13_LADDER),
        analog_lowpass: Some(AnalogLowpass {
            corner_hz: k13_analog_corner_hz(),
            match_hz: 80_000.0,
        }),
        harmonics: HarmonicProfile::from_dbc(
            -6.0,
            [-78.0, -82.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0],
            [1.0; 8],
        ),
        decimator: DecimatorPhase::Linear,
        hold: true,
        amp: None,
        load: None,
    }
}

/// The K13's ladder unit (see [`k13_r2r`]).
pub const K13_LADDER: LadderConfig = LadderConfig {
    bits: 24,
    tolerance_pct: 0.1,
    coding: Coding::Complementary,
    seed: 195,
    glitch_skew_s: 0.0,
    dither: true,
    switch_bow: 2e-3,
    switch_bow_mismatch: 0.1,
};

/// Corner of the K13's analog low-pass (see [`k13_r2r`]).
pub fn k13_analog_corner_hz() -> f64 {
    let hold_droop_db = {
        let x = std::f64::consts::PI * 80_000.0 / 384_000.0;
        20.0 * (x.sin() / x).log10()
    };
    let lowpass_db = -2.9 - hold_droop_db; // −2.271 dB
    80_000.0 / (10f64.powf(-lowpass_db / 10.0) - 1.0).powf(0.25)
}

/// FiiO K7 (`devices.md`, seed 000): 2 × AK4493SEQ delta-sigma, THX AAA 788+ amp.
///
/// - OS filter: the AK4493's sharp roll-off (its figures are an *assumption*, see
///   [`OsFilter::Ak4493Sharp`]); all six AK4493 filters are selectable.
/// - Converter: delta-sigma, no ladder. In-band noise −121 dBFS unweighted: *estimate*
///   from the AK4493's headline dynamic range of 123 dB(A) (A-weighting reads white noise
///   in 20 Hz–20 kHz about 2 dB lower), not checked against the datasheet's tables.
/// - Distortion: "very low" — the AK4493's headline THD+N is −113 dB (*estimate*, same
///   caveat); modelled as H2 −118 dBc and H3 −120 dBc at −6 dBFS.
/// - Analog low-pass: the K7's output filter is not published; *assumption*: a
///   second-order Butterworth at 100 kHz (−0.0 dB at 20 kHz), typical of AK4493 application
///   circuits.
pub fn k7() -> DacConfig {
    DacConfig {
        mode: DacMode::Os,
        os_filter: OsFilter::Ak4493Sharp,
        dac_rate_hz: None,
        converter: ConverterKind::DeltaSigma { noise_dbfs: -121.0 },
        analog_lowpass: Some(AnalogLowpass {
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
        decimator: DecimatorPhase::Linear,
        hold: true,
        amp: None,
        load: None,
    }
}

/// The amp of device `index` in [`crate::params::DEVICE_LABELS`] (figures and their
/// sources: [`crate::amp::spec`]).
pub fn amp(index: usize) -> crate::amp::AmpSpec {
    use crate::amp::AmpSpec;
    match index {
        0 => AmpSpec::k13_r2r(),
        2 => AmpSpec::k7(),
        _ => AmpSpec::ideal(),
    }
}

/// The configuration of device `index` in [`crate::params::DEVICE_LABELS`].
pub fn device(index: usize) -> DacConfig {
    match index {
        0 => k13_r2r(),
        2 => k7(),
        _ => DacConfig::IDEAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{thd_n, tone, AUDIO_BAND_HZ};
    use crate::dac::stage::{DacStage, StageLayout};

    fn stage(rate: f64) -> DacStage {
        DacStage::new(
            &k13_r2r(),
            StageLayout {
                host_rate: rate,
                max_block: 1024,
                channels: 1,
            },
        )
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
        let mut s = DacStage::new(
            &k7(),
            StageLayout {
                host_rate: rate,
                max_block: 1024,
                channels: 1,
            },
        );
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
        let level = |s: &mut DacStage, f: f64| {
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
        let level = |s: &mut DacStage, f: f64| {
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
