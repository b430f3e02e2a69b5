//! The amp's noise floor: fast, approximately Gaussian white noise at the analog rate,
//! scaled so its A-weighted level in 20 Hz–20 kHz equals the device's published figure.
//!
//! Generator: eight independent xorshift32 streams (Marsaglia 2003, shifts 13/17/5, period
//! 2³² − 1) in the lanes of a `u32x8`. Each output vector takes two steps per lane; the four
//! 16-bit halves are summed (Irwin–Hall with n = 4: mean 2·65535, variance
//! 4·(65536² − 1)/12) and normalised to unit variance. The distribution is bell-shaped with
//! tails cut at ±3.46σ — inaudible for a hiss floor — and the samples are independent, so
//! the spectrum is white. Cost: about twenty integer/float vector operations per eight
//! samples. Samples come out lane 0..7 of each vector in turn; [`NoiseGen::fill`] keeps the
//! unread rest of a vector, so the stream does not depend on how it is split into blocks.
//!
//! Level: white noise of variance σ² at rate F has a one-sided density σ²/(F/2), so its
//! A-weighted power in 20 Hz–20 kHz is `σ²·B_A/(F/2)` with
//! `B_A = ∫₂₀²⁰ᵏ |A(f)|² df` ([`a_weighted_bandwidth_hz`], ≈ 13.5 kHz). Hence
//! `σ = V_A·√((F/2)/B_A)` ([`sigma_for_a_weighted`]).

use wide::bytemuck::cast;
use wide::{f32x4, f32x8, i32x4, u32x8};

use crate::analysis::{a_weighting_db, AUDIO_BAND_HZ};

/// Mean of the sum of four 16-bit uniforms (0..=65535 each).
const SUM_MEAN: f32 = 2.0 * 65_535.0;

/// `1/σ` of that sum: `σ² = 4·(65536² − 1)/12`.
const SUM_INV_STD: f64 = 2.642_899_792_130_301_4e-5;

/// splitmix64 (Steele, Lea & Flood 2014): spreads a seed over 64 bits.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One xorshift32 step in each lane.
#[inline(always)]
fn xorshift32_x8(x: u32x8) -> u32x8 {
    let x = x ^ (x << 13);
    let x = x ^ (x >> 17);
    x ^ (x << 5)
}

/// Unit-variance white noise, eight lanes at a time.
#[derive(Clone, Debug)]
pub struct NoiseGen {
    seed: u64,
    state: u32x8,
    /// The last vector produced; its last `cached` values are not yet used.
    cache: [f32; 8],
    cached: usize,
}

impl NoiseGen {
    /// A generator whose eight lane states are derived from `seed` (different seeds give
    /// unrelated streams; use one per channel).
    pub fn new(seed: u64) -> Self {
        let mut g = Self {
            seed,
            state: u32x8::ZERO,
            cache: [0.0; 8],
            cached: 0,
        };
        g.reset();
        g
    }

    /// Restart the stream from the seed.
    pub fn reset(&mut self) {
        let mut s = self.seed;
        let mut lanes = [0u32; 8];
        for lane in &mut lanes {
            // The upper half of splitmix64, never 0 (xorshift's one fixed point).
            *lane = ((splitmix64(&mut s) >> 32) as u32).max(1);
        }
        self.state = u32x8::new(lanes);
        self.cached = 0;
    }

    /// The next eight samples (zero mean, unit variance).
    #[inline]
    pub fn next_x8(&mut self) -> f32x8 {
        let a = xorshift32_x8(self.state);
        let b = xorshift32_x8(a);
        self.state = b;
        let low = u32x8::splat(0xFFFF);
        let sum = (a & low) + (a >> 16) + (b & low) + (b >> 16);
        // Two 4-lane conversions (`cvtdq2ps`): without AVX2, `f32x8::from_i32x8` converts
        // lane by lane.
        let [lo, hi]: [i32x4; 2] = cast(sum);
        let f: f32x8 = cast([f32x4::from_i32x4(lo), f32x4::from_i32x4(hi)]);
        (f - f32x8::splat(SUM_MEAN)) * f32x8::splat(SUM_INV_STD as f32)
    }

    /// Fill `out` with the next samples of the stream.
    pub fn fill(&mut self, out: &mut [f32]) {
        let from_cache = self.cached.min(out.len());
        let start = 8 - self.cached;
        out[..from_cache].copy_from_slice(&self.cache[start..start + from_cache]);
        self.cached -= from_cache;
        let mut chunks = out[from_cache..].chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_x8().to_array());
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            self.cache = self.next_x8().to_array();
            tail.copy_from_slice(&self.cache[..tail.len()]);
            self.cached = 8 - tail.len();
        }
    }
}

/// `B_A = ∫ |A(f)|² df` over [`AUDIO_BAND_HZ`] (Hz), with the IEC 61672 A-weighting of
/// [`a_weighting_db`] (0 dB at 1 kHz). Simpson's rule in `ln f` (`df = f·d ln f`) with
/// 4096 intervals; the integrand is smooth there, so the result is exact to ~1e-10.
/// Computed once per process (every amp stage asks for it).
pub fn a_weighted_bandwidth_hz() -> f64 {
    static BANDWIDTH: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *BANDWIDTH.get_or_init(integrate_a_weighted_bandwidth)
}

fn integrate_a_weighted_bandwidth() -> f64 {
    integrate_a_weighted(|_| 1.0)
}

/// `∫ |A(f)|²·power(f) df` over [`AUDIO_BAND_HZ`] (Simpson's rule in `ln f`, 4096
/// intervals).
fn integrate_a_weighted(power: impl Fn(f64) -> f64) -> f64 {
    let (lo, hi) = AUDIO_BAND_HZ;
    let (ln_lo, ln_hi) = (lo.ln(), hi.ln());
    let intervals = 4096;
    let h = (ln_hi - ln_lo) / intervals as f64;
    let integrand = |i: usize| {
        let f = (ln_lo + i as f64 * h).exp();
        10f64.powf(a_weighting_db(f) / 10.0) * power(f) * f
    };
    let mut sum = integrand(0) + integrand(intervals);
    for i in 1..intervals {
        sum += if i % 2 == 1 { 4.0 } else { 2.0 } * integrand(i);
    }
    sum * h / 3.0
}

/// The A-weighted RMS gain of a filter of magnitude `magnitude(f)` on white noise, in
/// 20 Hz–20 kHz: `√(∫|A|²·|H|² df / B_A)`. White noise of A-weighted level `V_A` comes out
/// of it at `V_A` times this (1 for a flat unit gain). Allocates nothing; not cheap (4097
/// evaluations of `magnitude`).
pub fn a_weighted_gain(magnitude: impl Fn(f64) -> f64) -> f64 {
    (integrate_a_weighted(|f| magnitude(f).powi(2)) / a_weighted_bandwidth_hz()).sqrt()
}

/// RMS σ (same unit as `noise_rms_a`) of white noise at `sample_rate` whose A-weighted
/// RMS in 20 Hz–20 kHz is `noise_rms_a`: `σ = V_A·√((F/2)/B_A)`.
pub fn sigma_for_a_weighted(noise_rms_a: f64, sample_rate: f64) -> f64 {
    noise_rms_a * (0.5 * sample_rate / a_weighted_bandwidth_hz()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{noise_rms_a_weighted, rms};

    /// The scalar reference: the same algorithm on plain `u32`s.
    struct Reference {
        lanes: [u32; 8],
    }

    impl Reference {
        fn new(seed: u64) -> Self {
            let mut s = seed;
            let mut lanes = [0u32; 8];
            for lane in &mut lanes {
                *lane = ((splitmix64(&mut s) >> 32) as u32).max(1);
            }
            Self { lanes }
        }

        fn next8(&mut self) -> [f32; 8] {
            let step = |mut x: u32| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^ (x << 5)
            };
            let mut out = [0.0; 8];
            for (lane, o) in self.lanes.iter_mut().zip(&mut out) {
                let a = step(*lane);
                let b = step(a);
                *lane = b;
                let sum = (a & 0xFFFF) + (a >> 16) + (b & 0xFFFF) + (b >> 16);
                *o = (sum as i32 as f32 - SUM_MEAN) * SUM_INV_STD as f32;
            }
            out
        }
    }

    #[test]
    fn inverse_std_constant() {
        let var = 4.0 * (65_536f64.powi(2) - 1.0) / 12.0;
        assert!((SUM_INV_STD - 1.0 / var.sqrt()).abs() < 1e-18);
    }

    #[test]
    fn simd_equals_scalar_reference() {
        let mut g = NoiseGen::new(42);
        let mut r = Reference::new(42);
        for _ in 0..10_000 {
            let got = g.next_x8().to_array();
            let want = r.next8();
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }

    #[test]
    fn fill_is_independent_of_block_split_and_reset_reproduces() {
        let mut g = NoiseGen::new(7);
        let mut whole = vec![0.0f32; 1_000];
        g.fill(&mut whole);
        g.reset();
        let mut split = vec![0.0f32; 1_000];
        let mut pos = 0;
        for len in [1usize, 3, 8, 13, 64, 5, 0, 7].iter().cycle() {
            let end = (pos + len).min(split.len());
            g.fill(&mut split[pos..end]);
            pos = end;
            if pos == split.len() {
                break;
            }
        }
        assert_eq!(whole, split);
    }

    #[test]
    fn statistics_and_whiteness() {
        let n = 1 << 20;
        let mut x = vec![0.0f32; n];
        NoiseGen::new(1).fill(&mut x);
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        let sd = rms(&x);
        println!("mean {mean:.2e}, rms {sd:.5}");
        assert!(mean.abs() < 5e-3 && (sd - 1.0).abs() < 5e-3);
        // Autocorrelation at lags 1..=16 (incl. the 8-lane period): |ρ| < 5/√n.
        for lag in 1..=16 {
            let c: f64 = x
                .iter()
                .zip(&x[lag..])
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum::<f64>()
                / (n - lag) as f64;
            assert!(c.abs() < 5.0 / (n as f64).sqrt(), "lag {lag}: {c}");
        }
        // Two channels' seeds: uncorrelated.
        let mut y = vec![0.0f32; n];
        NoiseGen::new(2).fill(&mut y);
        let c: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum::<f64>()
            / n as f64;
        assert!(c.abs() < 5.0 / (n as f64).sqrt(), "cross {c}");
        // Bounded tails: Irwin–Hall(4) stays within ±√12 σ.
        assert!(x.iter().all(|v| v.abs() <= 3.4642));
    }

    #[test]
    fn a_weighted_level_matches_target_at_both_rates() {
        let b_a = a_weighted_bandwidth_hz();
        println!("B_A = {b_a:.2} Hz");
        // Cross-check with a plain 0.1 Hz trapezoid (as the analysis tests do).
        let step = 0.1;
        let steps = ((20_000.0 - 20.0) / step) as usize;
        let trapezoid: f64 = (0..=steps)
            .map(|i| {
                let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
                w * 10f64.powf(a_weighting_db(20.0 + i as f64 * step) / 10.0) * step
            })
            .sum();
        assert!((b_a / trapezoid - 1.0).abs() < 1e-6, "{b_a} vs {trapezoid}");
        for fs in [352_800.0, 384_000.0] {
            let target = 1e-3;
            let sigma = sigma_for_a_weighted(target, fs) as f32;
            let mut x = vec![0.0f32; fs as usize];
            NoiseGen::new(3).fill(&mut x);
            x.iter_mut().for_each(|v| *v *= sigma);
            let got = noise_rms_a_weighted(&x, fs);
            let err_db = 20.0 * (got / target).log10();
            println!("{fs} Hz: σ = {sigma:.3e}, A-weighted {got:.4e} ({err_db:+.3} dB)");
            assert!(err_db.abs() < 0.1);
        }
    }
}
