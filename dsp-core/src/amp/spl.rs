//! Sound pressure levels from voltages and headphone sensitivity, and a per-setting report
//! (loudness of full scale, hiss, headroom) for the editor.
//!
//! Formulas (`shared/reference/devices.md`, \[calc\]): with a sensitivity `S` in dB SPL per
//! mW, a voltage `V` across a load `R` gives `S + 10·log10(V²/R / 1 mW)`; with `S` in dB SPL
//! per Vrms, `S + 20·log10(V)`. Noise voltages are A-weighted, so their SPLs are dB(A).

use super::clipper::{R1, R1_INPUT};
use super::spec::GainStep;
use super::stage::AmpConfig;

/// Headphone sensitivity at 1 kHz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sensitivity {
    /// dB SPL for 1 mW.
    DbPerMw(f64),
    /// dB SPL for 1 Vrms.
    DbPerV(f64),
}

/// SPL (dB) of `vrms` across a load of `ohms` with sensitivity `s` (see the module docs).
/// −∞ for 0 V.
pub fn spl_db(s: Sensitivity, vrms: f64, ohms: f64) -> f64 {
    match s {
        Sensitivity::DbPerMw(db) => db + 10.0 * (vrms * vrms / ohms / 1e-3).log10(),
        Sensitivity::DbPerV(db) => db + 20.0 * vrms.log10(),
    }
}

/// What a setting means at the headphone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplReport {
    /// SPL (dB) of a 0 dBFS sine at this gain and volume.
    pub spl_full_scale_db: f64,
    /// SPL (dB(A)) of the amp's noise floor (−∞ for a noiseless source).
    pub noise_spl_db: f64,
    /// The digital level (dBFS) of a sine that reaches the clip (THD+N 1 %) point at this
    /// gain and volume: positive when full scale stays clean, negative when the amp clips
    /// before full scale; +∞ without limits or at mute.
    pub headroom_db: f64,
    /// The loudest clean SPL (dB) this gain step can give: a 0 dBFS sine at 100 % volume,
    /// or the output at the clip point if that comes first.
    pub max_spl_db: f64,
}

/// The report for `config` at `gain` and `volume_percent`, into a resistive load of
/// `load_ohms` with sensitivity `sensitivity`.
///
/// Voltages across the load include the divider `R/(R + z_out)` with `config.z_out_ohms`.
/// The clip point is the stage's: the open-circuit 1 % voltage placed for
/// `config.load_ohms` (normally equal to `load_ohms`), seen through the divider.
pub fn report(
    config: &AmpConfig,
    gain: GainStep,
    volume_percent: f64,
    sensitivity: Sensitivity,
    load_ohms: f64,
) -> SplReport {
    let divider = if load_ohms.is_infinite() {
        1.0
    } else {
        load_ohms / (load_ohms + config.z_out_ohms)
    };
    report_through(
        config,
        gain,
        volume_percent,
        sensitivity,
        load_ohms,
        Divider {
            at_1khz: divider,
            noise_a: divider,
        },
    )
}

/// How the source/load divider scales what reaches the headphone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Divider {
    /// `|Z_L/(Z_L + Z_out)|` at 1 kHz: what a sine and the clip point see.
    pub at_1khz: f64,
    /// The divider's A-weighted RMS gain on white noise in 20 Hz–20 kHz
    /// ([`super::noise::a_weighted_gain`]): what the hiss sees where `|Z_L|` varies.
    pub noise_a: f64,
}

/// [`report`] for a load whose divider is given: `divider.at_1khz` for the signal and the
/// clip point, `divider.noise_a` for the hiss (a load whose impedance varies with frequency
/// divides the white noise floor by a different amount in each band).
pub fn report_through(
    config: &AmpConfig,
    gain: GainStep,
    volume_percent: f64,
    sensitivity: Sensitivity,
    load_ohms: f64,
    divider: Divider,
) -> SplReport {
    let spec = &config.spec;
    let gain_spec = spec.gain(config.output, gain);
    let noise_divider = divider.noise_a;
    let divider = divider.at_1khz;
    let full_scale_100 = gain_spec.full_scale_vrms * divider;
    let full_scale = full_scale_100 * spec.volume.gain(volume_percent);
    // The output's fundamental at 1 %, and the (0.076 dB larger) undistorted level of
    // the sine that gets there.
    let clip = config
        .output_spec()
        .limits
        .open_circuit_vrms(config.load_ohms, config.z_out_ohms)
        * divider;
    let clip_input = clip * (R1_INPUT / R1);
    let noise = gain_spec.noise_uv_a * 1e-6 * noise_divider;
    let headroom_db = if full_scale > 0.0 {
        20.0 * (clip_input / full_scale).log10()
    } else {
        f64::INFINITY
    };
    let max_vrms = if full_scale_100 <= clip_input {
        full_scale_100
    } else {
        clip
    };
    SplReport {
        spl_full_scale_db: spl_db(sensitivity, full_scale, load_ohms),
        noise_spl_db: spl_db(sensitivity, noise, load_ohms),
        headroom_db,
        max_spl_db: spl_db(sensitivity, max_vrms, load_ohms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amp::spec::{AmpSpec, Output};
    use crate::amp::testutil::*;

    #[test]
    fn formulas() {
        // 1 mW into R gives exactly S; ×10 power → +10 dB; 1 V gives S in dB/V.
        for r in [8.7f64, 32.0, 300.0] {
            let v = (1e-3 * r).sqrt();
            assert!((spl_db(Sensitivity::DbPerMw(97.0), v, r) - 97.0).abs() < 1e-12);
            assert!(
                (spl_db(Sensitivity::DbPerMw(97.0), v * 10f64.sqrt(), r) - 107.0).abs() < 1e-12
            );
        }
        assert!((spl_db(Sensitivity::DbPerV(103.0), 1.0, 300.0) - 103.0).abs() < 1e-12);
        assert!((spl_db(Sensitivity::DbPerV(103.0), 0.1, 300.0) - 83.0).abs() < 1e-12);
        assert_eq!(
            spl_db(Sensitivity::DbPerMw(97.0), 0.0, 32.0),
            f64::NEG_INFINITY
        );
        // HD600 (97 dB/mW, 300 Ω) at the K13's 6.7 Vrms: 97 + 10·log10(6.7²/0.3) = 118.75.
        assert!((spl_db(Sensitivity::DbPerMw(97.0), 6.7, 300.0) - 118.751).abs() < 1e-3);
    }

    /// A-weighted noise SPL of the K7 SE into an IEM, measured: silence through the stage,
    /// A-weighted RMS, then the divider R/(R + Z_out) and the sensitivity formula.
    fn k7_hiss_spl(step: GainStep, sensitivity_db_mw: f64, ohms: f64) -> f64 {
        let config = AmpConfig::new(AmpSpec::k7(), Output::Se, ohms);
        let v = noise_volts_a(&config, 352_800.0, step) * ohms / (ohms + config.z_out_ohms);
        spl_db(Sensitivity::DbPerMw(sensitivity_db_mw), v, ohms)
    }

    #[test]
    fn k7_hiss_is_audible_in_the_andromeda_but_not_the_e5000() {
        // Campfire Andromeda 2020 (122.5 dB/mW, 8.7 Ω): "a slight hissing noise … even at
        // low gain", "more prominent" at high gain [seed 000].
        let andromeda_low = k7_hiss_spl(GainStep::Low, 122.5, 8.7);
        let andromeda_high = k7_hiss_spl(GainStep::High, 122.5, 8.7);
        // Final E5000 (93 dB/mW, 14 Ω): no hiss reported.
        let e5000_low = k7_hiss_spl(GainStep::Low, 93.0, 14.0);
        println!(
            "K7 SE hiss: Andromeda {andromeda_low:.1} dB SPL(A) low gain, {andromeda_high:.1} \
             high gain; E5000 {e5000_low:.1} low gain"
        );
        assert!(andromeda_low > 0.0);
        assert!(andromeda_high > andromeda_low + 3.0);
        assert!(e5000_low < 0.0);
        // The report gives the same figure from the spec (±0.3 dB).
        let config = AmpConfig::new(AmpSpec::k7(), Output::Se, 8.7);
        let r = report(
            &config,
            GainStep::Low,
            50.0,
            Sensitivity::DbPerMw(122.5),
            8.7,
        );
        assert!((r.noise_spl_db - andromeda_low).abs() <= 0.3);
    }

    #[test]
    fn headroom_matches_the_measured_clip_point() {
        // K13 SE high gain into 32 Ω at 100 %: full scale (6.72 V open circuit, 6.64 V at
        // the load) is above the rated 6.2 V, so the amp clips before 0 dBFS; the measured
        // 1 % input level (dBFS) is the headroom.
        let cases = [
            (AmpSpec::k13_r2r(), Output::Se, 32.0, GainStep::High),
            (AmpSpec::k13_r2r(), Output::Bal, 16.0, GainStep::High),
            (AmpSpec::k11_r2r(), Output::Se, 300.0, GainStep::High),
            (AmpSpec::k7(), Output::Bal, 32.0, GainStep::Low),
            (AmpSpec::apple_dongle_us(), Output::Se, 32.0, GainStep::High),
        ];
        for (spec, output, load, step) in cases {
            let config = AmpConfig::new(spec, output, load);
            let r = report(&config, step, 100.0, Sensitivity::DbPerMw(100.0), load);
            let (level, _) = one_percent_point(&config, 352_800.0, step).unwrap();
            println!(
                "{} {output:?} {load} Ω {step:?}: headroom {:.2} dB, measured 1 % at {level:+.2} dBFS",
                spec.name, r.headroom_db
            );
            assert!((r.headroom_db - level).abs() <= 0.05);
        }
    }

    #[test]
    fn report_values() {
        // K13 SE high into an HD600 (97 dB/mW, 300 Ω): full scale (6.7175 V open circuit,
        // 6.709 V at the load) just stays below the 1 % point (reached at +0.065 dBFS), so
        // the max SPL is full scale's, 118.76 dB.
        let config = AmpConfig::new(AmpSpec::k13_r2r(), Output::Se, 300.0);
        let s = Sensitivity::DbPerMw(97.0);
        let r = report(&config, GainStep::High, 100.0, s, 300.0);
        println!("{r:?}");
        let full_scale = 19.0 / (2.0 * 2f64.sqrt()) * 300.0 / 300.4;
        assert!((r.max_spl_db - spl_db(s, full_scale, 300.0)).abs() < 1e-9);
        assert!((r.max_spl_db - 118.76).abs() < 0.01);
        assert!((r.headroom_db - 0.065).abs() < 0.01);
        // Into 32 Ω it clips first: max SPL at the rated 6.2 V.
        let config32 = AmpConfig::new(AmpSpec::k13_r2r(), Output::Se, 32.0);
        let r32 = report(&config32, GainStep::High, 100.0, s, 32.0);
        assert!((r32.max_spl_db - spl_db(s, 6.2, 32.0)).abs() < 1e-9);
        // Volume shifts the full-scale SPL dB for dB, not the noise or the maximum.
        let p = config.spec.volume.percent_for_db(-30.0);
        let q = report(&config, GainStep::High, p, s, 300.0);
        assert!((r.spl_full_scale_db - q.spl_full_scale_db - 30.0).abs() < 1e-9);
        assert!((q.headroom_db - r.headroom_db - 30.0).abs() < 1e-9);
        assert_eq!(q.noise_spl_db, r.noise_spl_db);
        assert_eq!(q.max_spl_db, r.max_spl_db);
        // Low gain does not reach the clip point: max SPL is full scale at 100 %.
        let low = report(&config, GainStep::Low, 100.0, s, 300.0);
        assert_eq!(low.max_spl_db, low.spl_full_scale_db);
        // Mute and the ideal source.
        let m = report(&config, GainStep::High, 0.0, s, 300.0);
        assert_eq!(m.spl_full_scale_db, f64::NEG_INFINITY);
        assert_eq!(m.headroom_db, f64::INFINITY);
        let ideal = AmpConfig::new(AmpSpec::ideal(), Output::Se, 32.0);
        let i = report(&ideal, GainStep::High, 100.0, s, 32.0);
        assert_eq!(i.headroom_db, f64::INFINITY);
        assert_eq!(i.noise_spl_db, f64::NEG_INFINITY);
        assert_eq!(i.max_spl_db, i.spl_full_scale_db);
    }
}
