//! Harmonic profile of the analog stage: a static Chebyshev-polynomial shaper.
//!
//! `T_k(cos θ) = cos kθ`, so for a sine of the *reference amplitude* `A_ref` the shaper
//! `y = x + A_ref·Σ h_k·T_k(x/A_ref)` produces exactly harmonic k at `h_k` relative to the
//! fundamental. It is an ordinary polynomial, so at other levels it behaves like any weakly
//! nonlinear analog stage: a term of order k contributes to H_k in proportion to A^(k−1)
//! relative to the fundamental (H2 rises 1 dB per dB of level, H3 2 dB per dB) — distortion
//! that falls with level, unlike the ladder's, which is constant in absolute terms.
//!
//! The constant part of the series (the DC that `T_2`, `T_4`, … carry) is removed so that
//! silence stays silence; the small linear part of odd terms (−3h₃·x for T₃) is kept, since
//! a real stage's gain includes it, and level matching compensates it.
//!
//! It runs in the oversampled analog domain, so harmonics up to H9 of any audio-band tone
//! stay below F/2 = 4·fs (the highest, H9 of a 20 kHz tone at 180 kHz, just exceeds 176.4
//! kHz at 44.1·8 kHz; profiles here keep H4…H9 at zero or far below the noise).

/// Harmonic levels H2…H9 relative to the fundamental (linear amplitude ratios, signed to
/// choose the polarity) at the reference amplitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HarmonicProfile {
    /// Peak amplitude (full scale = 1) at which the profile is specified.
    pub reference_amplitude: f64,
    /// `harmonics[0]` is H2, … `harmonics[7]` is H9.
    pub harmonics: [f64; 8],
}

impl HarmonicProfile {
    /// No distortion.
    pub const CLEAN: Self = Self {
        reference_amplitude: 0.5,
        harmonics: [0.0; 8],
    };

    /// A profile from harmonic levels in dBc (−inf or below −300 for none) at a reference
    /// level in dBFS. `polarity` flips the sign of each term (+1/−1).
    pub fn from_dbc(reference_dbfs: f64, harmonics_dbc: [f64; 8], polarity: [f64; 8]) -> Self {
        let mut harmonics = [0.0; 8];
        for ((h, db), sign) in harmonics.iter_mut().zip(harmonics_dbc).zip(polarity) {
            *h = if db > -300.0 {
                sign.signum() * 10f64.powf(db / 20.0)
            } else {
                0.0
            };
        }
        Self {
            reference_amplitude: 10f64.powf(reference_dbfs / 20.0),
            harmonics,
        }
    }

    pub fn is_clean(&self) -> bool {
        self.harmonics.iter().all(|&h| h == 0.0)
    }
}

/// The shaper: Chebyshev series evaluated by Clenshaw's recurrence.
#[derive(Debug, Clone)]
pub struct ChebyshevShaper {
    /// Chebyshev coefficients c_0…c_9 of y(u) with u = x/A_ref, times A_ref.
    coefficients: [f64; 10],
    inv_reference: f64,
    /// y(0), subtracted so that 0 maps to 0.
    offset: f64,
    clean: bool,
}

impl ChebyshevShaper {
    pub fn new(profile: &HarmonicProfile) -> Self {
        let a_ref = profile.reference_amplitude.max(1e-6);
        let mut coefficients = [0.0; 10];
        coefficients[1] = a_ref; // y = x = A_ref·T_1(u)
        for (k, h) in profile.harmonics.iter().enumerate() {
            coefficients[k + 2] = a_ref * h;
        }
        let mut shaper = Self {
            coefficients,
            inv_reference: 1.0 / a_ref,
            offset: 0.0,
            clean: profile.is_clean(),
        };
        shaper.offset = shaper.eval(0.0);
        shaper
    }

    /// y(u) = Σ c_k T_k(u) by Clenshaw's recurrence.
    #[inline]
    fn eval(&self, u: f64) -> f64 {
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coefficients[1..].iter().rev() {
            let b0 = c + 2.0 * u * b1 - b2;
            b2 = b1;
            b1 = b0;
        }
        self.coefficients[0] + u * b1 - b2
    }

    /// Shape one sample.
    #[inline]
    pub fn shape(&self, x: f32) -> f32 {
        if self.clean {
            return x;
        }
        (self.eval(f64::from(x) * self.inv_reference) - self.offset) as f32
    }

    /// Shape a block in place.
    pub fn process(&self, block: &mut [f32]) {
        if self.clean {
            return;
        }
        for x in block {
            *x = self.shape(*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chebyshev(k: usize, u: f64) -> f64 {
        (k as f64 * u.clamp(-1.0, 1.0).acos()).cos()
    }

    #[test]
    fn clenshaw_matches_the_trigonometric_definition() {
        let profile = HarmonicProfile {
            reference_amplitude: 1.0,
            harmonics: [0.1, -0.05, 0.02, 0.01, 0.0, 0.003, 0.0, 0.001],
        };
        let shaper = ChebyshevShaper::new(&profile);
        for i in -100..=100 {
            let u = i as f64 / 100.0;
            let mut expected = u;
            for (k, h) in profile.harmonics.iter().enumerate() {
                expected += h * chebyshev(k + 2, u);
            }
            expected -= shaper.offset;
            assert!((shaper.eval(u) - shaper.offset - expected).abs() < 1e-12);
        }
    }

    #[test]
    fn clean_profile_is_identity_and_zero_stays_zero() {
        let shaper = ChebyshevShaper::new(&HarmonicProfile::CLEAN);
        assert_eq!(shaper.shape(0.3), 0.3);
        let dirty = ChebyshevShaper::new(&HarmonicProfile::from_dbc(
            -6.0,
            [-80.0, -85.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0],
            [1.0; 8],
        ));
        assert_eq!(dirty.shape(0.0), 0.0);
    }
}
