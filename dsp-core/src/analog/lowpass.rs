//! The analog reconstruction low-pass (the I/V stage's filter): a second-order Butterworth
//! section at the analog rate, by the bilinear transform prewarped so that it equals the
//! analog prototype exactly at `match_hz`, where its published figure is
//! ([`BiquadCoefs::lowpass_matched`]); state in `f64` ([`Biquad`]).

use crate::clocks::{Clocks, PerChannel};
use crate::filter::biquad::{Biquad, BiquadCoefs};
use realfft::num_complex::Complex;

/// A second-order Butterworth reconstruction low-pass, realised so that it equals the
/// analog prototype exactly at `match_hz` (where its published figure is).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogLowpass {
    pub corner_hz: f64,
    pub match_hz: f64,
}

impl AnalogLowpass {
    /// The section at `sample_rate`.
    pub fn coefs(&self, sample_rate: f64) -> BiquadCoefs {
        BiquadCoefs::lowpass_matched(
            self.corner_hz,
            std::f64::consts::FRAC_1_SQRT_2,
            sample_rate,
            self.match_hz,
        )
    }
}

/// Response of an analog second-order low-pass (Butterworth for q = 1/√2) — the prototype
/// the bilinear design approximates.
pub fn analog_lowpass_response(corner_hz: f64, q: f64, freq_hz: f64) -> Complex<f64> {
    let s = Complex::new(0.0, freq_hz / corner_hz);
    1.0 / (s * s + s / q + 1.0)
}

/// The low-pass of every channel at the analog rate (nothing without one).
pub struct Lowpass {
    channels: PerChannel<Biquad>,
}

impl Lowpass {
    pub fn new(lowpass: Option<&AnalogLowpass>, clocks: &Clocks) -> Self {
        let coefs = lowpass.map(|lp| lp.coefs(clocks.analog_rate));
        Self {
            channels: PerChannel::new(coefs.as_ref(), clocks, |c| Biquad::new(*c)),
        }
    }

    pub fn reset(&mut self) {
        self.channels.reset(Biquad::reset);
    }

    /// Channel `ch` in place. Never allocates.
    pub fn process(&mut self, ch: usize, block: &mut [f32]) {
        self.channels.with(ch, |lp| lp.process(block));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_butterworth_is_minus_3_db_at_its_corner_and_tracks_the_prototype() {
        let fs = 384_000.0;
        let c = BiquadCoefs::lowpass(87_875.0, std::f64::consts::FRAC_1_SQRT_2, fs);
        assert!(c.is_stable());
        let at_corner = 20.0 * c.response(87_875.0, fs).norm().log10();
        assert!((at_corner + 3.0103).abs() < 1e-6, "{at_corner}");
        // In the audio band the digital and analog responses agree within 0.01 dB (the
        // bilinear transform's frequency warping: 0.006 dB at 20 kHz here).
        for f in [20.0, 1000.0, 10_000.0, 20_000.0] {
            let d = 20.0 * c.response(f, fs).norm().log10();
            let a = 20.0
                * analog_lowpass_response(87_875.0, std::f64::consts::FRAC_1_SQRT_2, f)
                    .norm()
                    .log10();
            assert!((d - a).abs() < 0.01, "{f} Hz: {d} vs {a}");
        }
    }

    #[test]
    fn matched_design_equals_the_prototype_at_the_match_frequency() {
        let q = std::f64::consts::FRAC_1_SQRT_2;
        for fs in [352_800.0, 384_000.0] {
            let c = BiquadCoefs::lowpass_matched(87_870.0, q, fs, 80_000.0);
            let d = c.response(80_000.0, fs).norm();
            let a = analog_lowpass_response(87_870.0, q, 80_000.0).norm();
            assert!((20.0 * (d / a).log10()).abs() < 1e-9, "{fs}");
            assert!(c.is_stable());
        }
    }
}
