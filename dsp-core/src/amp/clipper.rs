//! The amp's soft clipper: linear, then a quadratic knee, then a flat rail.
//!
//! Shape, for a rail `L` and knee fraction `κ` ([`KNEE_FRACTION`]), with `a = L·(1 − κ)` and
//! `w = 2κ·L`:
//!
//! ```text
//! |x| ≤ a          y = x
//! a < |x| < a + w  y = sign(x)·(|x| − (|x| − a)²/(2w))     (slope 1 → 0)
//! |x| ≥ a + w      y = sign(x)·L                            (L = a + w/2)
//! ```
//!
//! Continuous with a continuous first derivative, odd-symmetric (odd harmonics only, as a
//! push-pull output stage running into both rails). Written branch-free as
//! `u = min(max(|x| − a, 0), w)`, `|y| = min(|x|, a) + u − u²/(2w)`: `abs`, `min`, `max`,
//! `mul`, `add`, and the sign copied back — the same operations in the scalar
//! [`SoftClipper::clip`] and the eight-lane [`SoftClipper::clip_x8`], so both give the same
//! bits. An infinite rail is the identity (`a = w = ∞`, `1/(2w) = 0`).
//!
//! Calibration: at THD+N = 1 % (1 kHz, 20 Hz–20 kHz band) the *output's* fundamental has
//! the peak [`R1`]`·L`, so the stage sets `L = √2·(rated Vrms)/R1` and an analyzer reading
//! the output finds the rated voltage at 1 %. (The input sine is then 0.076 dB higher,
//! [`R1_INPUT`]`·L`: the knee compresses the fundamental a little.) With κ = 0.15 the knee
//! leaves a sine 1 dB below that point at −76 dB THD (about the K13's own 0.0173 %), and
//! one 1 dB above it at 3.6 %: soft enough not to colour normal levels, hard enough that
//! the rated figure marks the onset of clipping.

use wide::f32x8;

/// Half-width of the knee as a fraction of the rail: the knee spans `L·(1 ± κ)` of input.
pub const KNEE_FRACTION: f32 = 0.15;

/// Fundamental peak of the output at THD+N = 1 % divided by the rail `L`, for
/// [`KNEE_FRACTION`] = 0.15: what an analyzer reads as the rated level.
///
/// Computed once by bisection on the THD+N (H2..H20 of a 1 kHz sine, i.e. the 20 kHz band)
/// of the exact shape, sampled at 65 536 points per cycle, then the output's fundamental
/// there; the test `r1_matches_a_measured_bisection` re-derives both from
/// `analysis::thd_n` of [`SoftClipper::process`] at 352.8 kHz.
pub const R1: f64 = 0.964_305_390;

/// Peak of the *input* sine at THD+N = 1 % divided by the rail `L` (same computation).
pub const R1_INPUT: f64 = 0.972_756_563;

/// A symmetric soft clipper with a rail at `±rail` (peak, in whatever unit the samples
/// carry — volts in the amp stage).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoftClipper {
    rail: f32,
    knee_start: f32,
    knee_width: f32,
    half_inv_width: f32,
}

impl Default for SoftClipper {
    /// The identity ([`SoftClipper::NONE`]).
    fn default() -> Self {
        Self::NONE
    }
}

impl SoftClipper {
    /// No clipping: the identity for every finite input.
    pub const NONE: Self = Self {
        rail: f32::INFINITY,
        knee_start: f32::INFINITY,
        knee_width: f32::INFINITY,
        half_inv_width: 0.0,
    };

    /// A clipper whose output saturates at `±rail` (peak). Non-positive or NaN rails are
    /// raised to the smallest normal `f32`; `+∞` gives [`Self::NONE`].
    pub fn new(rail: f32) -> Self {
        if rail == f32::INFINITY {
            return Self::NONE;
        }
        let rail = if rail > f32::MIN_POSITIVE {
            rail
        } else {
            f32::MIN_POSITIVE
        };
        let knee_width = 2.0 * KNEE_FRACTION * rail;
        Self {
            rail,
            knee_start: rail - KNEE_FRACTION * rail,
            knee_width,
            half_inv_width: 0.5 / knee_width,
        }
    }

    /// The clipper whose output reaches THD+N = 1 % with a fundamental of peak
    /// `peak_at_one_percent`: rail = `peak_at_one_percent / R1`. `+∞` gives [`Self::NONE`].
    pub fn for_one_percent_peak(peak_at_one_percent: f64) -> Self {
        Self::new((peak_at_one_percent / R1) as f32)
    }

    /// The rail (peak output for large inputs); `+∞` for [`Self::NONE`].
    pub fn rail(&self) -> f32 {
        self.rail
    }

    /// Clip one sample (the scalar reference).
    #[inline]
    pub fn clip(&self, x: f32) -> f32 {
        let ax = x.abs();
        let u = (ax - self.knee_start).max(0.0).min(self.knee_width);
        let y = ax.min(self.knee_start) + (u - u * u * self.half_inv_width);
        y.copysign(x)
    }

    /// Clip eight samples; bit-identical to [`Self::clip`] on each lane for any non-NaN
    /// input.
    #[inline]
    pub fn clip_x8(&self, x: f32x8) -> f32x8 {
        let sign = x & f32x8::splat(-0.0);
        let ax = x.abs();
        // `fast_max`/`fast_min` are the bare `maxps`/`minps`: they differ from `f32::max`/
        // `min` only for NaN, which the chain never feeds in (`util::sanitize_sample`).
        let u = (ax - f32x8::splat(self.knee_start))
            .fast_max(f32x8::ZERO)
            .fast_min(f32x8::splat(self.knee_width));
        let y = ax.fast_min(f32x8::splat(self.knee_start))
            + (u - u * u * f32x8::splat(self.half_inv_width));
        y | sign
    }

    /// Clip a block in place (eight lanes at a time, the scalar path for the tail).
    pub fn process(&self, block: &mut [f32]) {
        let mut chunks = block.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let y = self.clip_x8(load8(chunk));
            chunk.copy_from_slice(&y.to_array());
        }
        for x in chunks.into_remainder() {
            *x = self.clip(*x);
        }
    }
}

/// Eight samples from a slice of exactly eight.
#[inline(always)]
pub(crate) fn load8(x: &[f32]) -> f32x8 {
    let mut a = [0.0f32; 8];
    a.copy_from_slice(x);
    f32x8::new(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{thd_n, AUDIO_BAND_HZ};
    use std::f64::consts::TAU;

    #[test]
    fn simd_equals_scalar_bit_for_bit() {
        for rail in [1.0f32, 0.37, 9.5, 1e-3, f32::INFINITY] {
            let c = SoftClipper::new(rail);
            let xs: Vec<f32> = (-40_000..=40_000)
                .map(|i| i as f32 * 1e-4 * rail.min(10.0))
                .chain([0.0, -0.0, 1e30, -1e30, f32::MIN_POSITIVE, -7.9])
                .collect();
            let mut block = xs.clone();
            c.process(&mut block);
            for (x, y) in xs.iter().zip(&block) {
                assert_eq!(y.to_bits(), c.clip(*x).to_bits(), "rail {rail}, x {x}");
            }
        }
    }

    #[test]
    fn shape_properties() {
        let c = SoftClipper::new(2.0);
        let (a, b) = (2.0 * (1.0 - KNEE_FRACTION), 2.0 * (1.0 + KNEE_FRACTION));
        let mut last = f32::NEG_INFINITY;
        for i in -60_000..=60_000 {
            let x = i as f32 * 1e-4;
            let y = c.clip(x);
            assert_eq!(c.clip(-x), -y, "odd symmetry at {x}");
            assert!(y >= last, "monotonic at {x}");
            assert!(y.abs() <= 2.0);
            if x.abs() <= a {
                assert_eq!(y, x, "identity below the knee");
            }
            if x.abs() >= b {
                assert_eq!(y.abs(), 2.0, "flat rail above the knee");
            }
            last = y;
        }
        // Slope continuity at the knee's ends.
        let d = 1e-3;
        assert!(((c.clip(a + d) - c.clip(a)) / d - 1.0).abs() < 2e-3);
        assert!((c.clip(b) - c.clip(b - d)) / d < 2e-3);
        // NONE is the identity; degenerate rails stay finite.
        for x in [-8.0f32, -1e-20, 0.0, 3.3, 1e30] {
            assert_eq!(SoftClipper::NONE.clip(x), x);
            assert!(SoftClipper::new(0.0).clip(x).is_finite());
            assert!(SoftClipper::new(f32::NAN).clip(x).is_finite());
        }
        assert_eq!(
            SoftClipper::for_one_percent_peak(f64::INFINITY),
            SoftClipper::NONE
        );
    }

    /// THD+N (%) and output fundamental peak of a 1 kHz sine of `peak` through `c`,
    /// measured like an analyzer.
    fn measure(c: &SoftClipper, peak: f64, fs: f64) -> (f64, f64) {
        let n = (0.05 * fs) as usize;
        let mut x: Vec<f32> = (0..n)
            .map(|i| (peak * (TAU * 1_000.0 * i as f64 / fs).sin()) as f32)
            .collect();
        c.process(&mut x);
        let r = thd_n(&x, fs, 1_000.0, AUDIO_BAND_HZ);
        (r.thd_n_percent, 10f64.powf(r.fundamental_db / 20.0))
    }

    #[test]
    fn r1_matches_a_measured_bisection() {
        let fs = 352_800.0;
        let c = SoftClipper::new(1.0);
        let (mut lo, mut hi) = (0.5, 1.5);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if measure(&c, mid, fs).0 < 1.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let r1_input = 0.5 * (lo + hi);
        let r1 = measure(&c, r1_input, fs).1;
        let err_db = 20.0 * (r1 / R1).log10();
        let err_input_db = 20.0 * (r1_input / R1_INPUT).log10();
        println!(
            "measured r1 = {r1:.6} (constant {R1}, {err_db:+.5} dB), input {r1_input:.6} \
             (constant {R1_INPUT}, {err_input_db:+.5} dB)"
        );
        assert!(err_db.abs() < 0.005 && err_input_db.abs() < 0.005);
        // The knee's character: 1 dB below the 1 % point −76 dB THD+N, 1 dB above ≈ 3.6 %.
        let below = measure(&c, R1_INPUT * 10f64.powf(-1.0 / 20.0), fs).0;
        let above = measure(&c, R1_INPUT * 10f64.powf(1.0 / 20.0), fs).0;
        println!("1 dB below: {below:.4} %, 1 dB above: {above:.3} %");
        assert!(below < 0.02 && (3.0..4.2).contains(&above));
    }
}
