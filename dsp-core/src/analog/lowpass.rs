//! Analog reconstruction low-pass: a second-order Butterworth section, realised at the
//! analog-domain rate by the bilinear transform with the corner prewarped (so the −3 dB
//! point is exact), state in f64 (transposed direct form II).

use realfft::num_complex::Complex;

/// Biquad coefficients (b0, b1, b2, a1, a2; a0 = 1). `Default` is the identity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiquadCoefs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

impl Default for BiquadCoefs {
    fn default() -> Self {
        Self {
            b0: 1.0,
            b1: 0.0,
            b2: 0.0,
            a1: 0.0,
            a2: 0.0,
        }
    }
}

impl BiquadCoefs {
    /// Second-order low-pass with quality factor `q` (0.7071 = Butterworth), corner
    /// `corner_hz`, at `sample_rate`, by the bilinear transform prewarped at the corner.
    pub fn lowpass(corner_hz: f64, q: f64, sample_rate: f64) -> Self {
        let corner = corner_hz.clamp(1.0, 0.49 * sample_rate);
        let k = (std::f64::consts::PI * corner / sample_rate).tan();
        let norm = 1.0 / (1.0 + k / q + k * k);
        let b0 = k * k * norm;
        Self {
            b0,
            b1: 2.0 * b0,
            b2: b0,
            a1: 2.0 * (k * k - 1.0) * norm,
            a2: (1.0 - k / q + k * k) * norm,
        }
    }

    /// Complex response at `freq_hz`.
    pub fn response(&self, freq_hz: f64, sample_rate: f64) -> Complex<f64> {
        let w = std::f64::consts::TAU * freq_hz / sample_rate;
        let z1 = Complex::from_polar(1.0, -w);
        let z2 = z1 * z1;
        (self.b0 + self.b1 * z1 + self.b2 * z2) / (1.0 + self.a1 * z1 + self.a2 * z2)
    }

    /// Poles inside the unit circle.
    pub fn is_stable(&self) -> bool {
        self.a2.abs() < 1.0 && self.a1.abs() < 1.0 + self.a2
    }
}

/// Response of an analog second-order low-pass (Butterworth for q = 1/√2) — the prototype
/// the bilinear design approximates.
pub fn analog_lowpass_response(corner_hz: f64, q: f64, freq_hz: f64) -> Complex<f64> {
    let s = Complex::new(0.0, freq_hz / corner_hz);
    1.0 / (s * s + s / q + 1.0)
}

/// One biquad with f64 state.
#[derive(Debug, Clone, Default)]
pub struct Biquad {
    pub coefs: BiquadCoefs,
    s1: f64,
    s2: f64,
}

impl Biquad {
    pub fn new(coefs: BiquadCoefs) -> Self {
        Self {
            coefs,
            s1: 0.0,
            s2: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
    }

    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let c = &self.coefs;
        let y = c.b0 * x + self.s1;
        self.s1 = c.b1 * x - c.a1 * y + self.s2;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    pub fn process(&mut self, block: &mut [f32]) {
        for x in block {
            *x = self.tick(f64::from(*x)) as f32;
        }
        // Flush denormal state once per block.
        if self.s1.abs() < 1e-30 {
            self.s1 = 0.0;
        }
        if self.s2.abs() < 1e-30 {
            self.s2 = 0.0;
        }
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
    fn processing_matches_the_response() {
        let fs = 352_800.0;
        let mut b = Biquad::new(BiquadCoefs::lowpass(
            60_000.0,
            std::f64::consts::FRAC_1_SQRT_2,
            fs,
        ));
        let f = 40_000.0;
        let x: Vec<f32> = (0..35_280)
            .map(|i| (std::f64::consts::TAU * f * i as f64 / fs).sin() as f32)
            .collect();
        let mut y = x.clone();
        b.process(&mut y);
        let measured = crate::analysis::tone(&y[2000..], fs, f).level_db;
        let expected = 20.0 * b.coefs.response(f, fs).norm().log10();
        assert!(
            (measured - expected).abs() < 0.001,
            "{measured} vs {expected}"
        );
    }
}
