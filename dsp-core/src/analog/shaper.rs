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

use crate::filter::fir::Kernel;

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

/// The shaper: a Chebyshev series, run as the same polynomial in power form.
///
/// The series is kept (and evaluated by Clenshaw's recurrence, [`ChebyshevShaper::eval`]) as
/// the reference; the audio path evaluates the identical polynomial rewritten once in powers
/// of `x`, `y(x) − y(0) = Σ_{m≥1} q_m·x^m`, by Horner's rule up to its highest non-zero
/// term: for the usual profile (H2, H3) that is three multiplies and two adds per sample
/// instead of nine Clenshaw steps. Both agree to `f64` rounding (relative difference
/// ≤ 1e−15 up to degree 4, ≤ 5e−13 up to degree 9, over ±2·A_ref; a test pins ≤ 1e−11), far
/// below the `f32` output's 6e−8; and 0 maps to exactly 0.
#[derive(Debug, Clone)]
pub struct ChebyshevShaper {
    /// Chebyshev coefficients c_0…c_9 of y(u) with u = x/A_ref, times A_ref.
    coefficients: [f64; 10],
    /// y(0), subtracted so that 0 maps to 0.
    offset: f64,
    clean: bool,
    /// Power-form coefficients `q_m` of `y(x) − y(0)` in x (`power[0]` = 0).
    power: [f64; 10],
    /// Highest m with `q_m ≠ 0` (≥ 1).
    degree: usize,
    /// The CPU has AVX2 (the block loop is compiled for it too).
    avx2: bool,
}

impl ChebyshevShaper {
    pub fn new(profile: &HarmonicProfile) -> Self {
        let a_ref = profile.reference_amplitude.max(1e-6);
        let mut coefficients = [0.0; 10];
        coefficients[1] = a_ref; // y = x = A_ref·T_1(u)
        for (k, h) in profile.harmonics.iter().enumerate() {
            coefficients[k + 2] = a_ref * h;
        }
        let power = power_form(&coefficients, 1.0 / a_ref);
        let degree = (1..power.len())
            .rev()
            .find(|&m| power[m] != 0.0)
            .unwrap_or(1);
        let mut shaper = Self {
            coefficients,
            offset: 0.0,
            clean: profile.is_clean(),
            power,
            degree,
            avx2: Kernel::best() == Kernel::Avx2Fma,
        };
        shaper.offset = shaper.eval(0.0);
        shaper
    }

    /// y(u) = Σ c_k T_k(u) by Clenshaw's recurrence (the reference).
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
        horner(&self.power[..=self.degree], f64::from(x)) as f32
    }

    /// Shape a block in place.
    pub fn process(&self, block: &mut [f32]) {
        if self.clean {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is only set when `Kernel::Avx2Fma.is_available()` confirmed
            // (`is_x86_feature_detected!`) that this CPU has AVX2 (and FMA, unused here).
            unsafe { self.process_avx2(block) };
            return;
        }
        self.process_any(block);
    }

    /// [`Self::process_any`] compiled for AVX2: four `f64` lanes instead of two, the same
    /// operations (no FMA contraction in Rust), so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn process_avx2(&self, block: &mut [f32]) {
        self.process_any(block);
    }

    #[inline(always)]
    fn process_any(&self, block: &mut [f32]) {
        // One loop per degree, so that Horner's loop is unrolled and the sample loop
        // vectorises.
        match self.degree {
            1 => shape_block::<1>(&self.power, block),
            2 => shape_block::<2>(&self.power, block),
            3 => shape_block::<3>(&self.power, block),
            4 => shape_block::<4>(&self.power, block),
            5 => shape_block::<5>(&self.power, block),
            6 => shape_block::<6>(&self.power, block),
            7 => shape_block::<7>(&self.power, block),
            8 => shape_block::<8>(&self.power, block),
            _ => shape_block::<9>(&self.power, block),
        }
    }
}

/// Power-form coefficients in x of `Σ_k c_k·T_k(x·inv_reference)` without its constant
/// term. T_k's own power coefficients come from `T_{k+1} = 2u·T_k − T_{k−1}` (integers
/// below 2^9, exact in f64).
fn power_form(chebyshev: &[f64; 10], inv_reference: f64) -> [f64; 10] {
    let mut t = [[0.0f64; 10]; 10];
    t[0][0] = 1.0;
    t[1][1] = 1.0;
    for k in 1..9 {
        for m in 0..10 {
            let shifted = if m > 0 { 2.0 * t[k][m - 1] } else { 0.0 };
            t[k + 1][m] = shifted - t[k - 1][m];
        }
    }
    let mut power = [0.0; 10];
    let mut scale = 1.0;
    for (m, q) in power.iter_mut().enumerate() {
        let in_u: f64 = chebyshev.iter().zip(&t).map(|(c, tk)| c * tk[m]).sum();
        *q = if m == 0 { 0.0 } else { in_u * scale };
        scale *= inv_reference;
    }
    power
}

/// `Σ_{m ≥ 1} q_m·x^m` by Horner's rule (`q[0]` is not used: the constant is 0).
#[inline(always)]
fn horner(q: &[f64], x: f64) -> f64 {
    let mut acc = q[q.len() - 1];
    for &c in q[1..q.len() - 1].iter().rev() {
        acc = acc * x + c;
    }
    acc * x
}

#[inline(always)]
fn shape_block<const DEGREE: usize>(power: &[f64; 10], block: &mut [f32]) {
    let q = &power[..=DEGREE];
    for x in block {
        *x = horner(q, f64::from(*x)) as f32;
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

    /// Profiles of every degree 2…9, plus the K13's.
    fn profiles() -> Vec<HarmonicProfile> {
        let mut list: Vec<HarmonicProfile> = (0..8)
            .map(|top| {
                let mut harmonics = [0.0; 8];
                for (k, h) in harmonics.iter_mut().enumerate().take(top + 1) {
                    *h = 0.02 / (k + 1) as f64 * if k % 2 == 0 { 1.0 } else { -1.0 };
                }
                HarmonicProfile {
                    reference_amplitude: 0.5,
                    harmonics,
                }
            })
            .collect();
        list.push(HarmonicProfile::from_dbc(
            -6.0,
            [-78.0, -86.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0],
            [1.0; 8],
        ));
        list
    }

    /// The power form (the audio path) against the Chebyshev series by Clenshaw (the
    /// reference), over ±2·A_ref (beyond full scale).
    #[test]
    fn power_form_equals_the_chebyshev_series() {
        for profile in profiles() {
            let shaper = ChebyshevShaper::new(&profile);
            let a_ref = profile.reference_amplitude;
            let mut worst = 0.0f64;
            for i in -2000..=2000 {
                let x = 2.0 * a_ref * f64::from(i) / 2000.0;
                let series = shaper.eval(x / a_ref) - shaper.offset;
                let power = horner(&shaper.power[..=shaper.degree], x);
                worst = worst.max((power - series).abs() / series.abs().max(1e-3));
            }
            println!(
                "degree {}: max relative difference {worst:.1e}",
                shaper.degree
            );
            assert!(worst < 1e-11, "{profile:?}: {worst}");
        }
    }

    /// The block loop (AVX2 where available) and `shape` give the same bits.
    #[test]
    fn block_equals_sample_by_sample() {
        for profile in profiles() {
            let shaper = ChebyshevShaper::new(&profile);
            let x: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) / 400.0).collect();
            let mut y = x.clone();
            shaper.process(&mut y);
            for (a, &b) in y.iter().zip(&x) {
                assert_eq!(a.to_bits(), shaper.shape(b).to_bits(), "{b}");
            }
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
