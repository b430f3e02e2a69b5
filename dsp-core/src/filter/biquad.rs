//! The biquad: coefficients, their response, and the one recursion every biquad in the
//! chain runs (transposed direct form II), on one channel (`f64`) or two channels in lanes
//! ([`Lane`]: `wide::f64x2`, or the scalar reference [`Pair`]).
//!
//! - [`tdf2`]: one sample of the recursion, `y = b0·x + s1`, `s1' = b1·x − a1·y + s2`,
//!   `s2' = b2·x − a2·y`. The PEQ ([`crate::peq::Peq`], two channels in lanes, gliding
//!   coefficients) and the load's cascade ([`crate::load::LoadIir`], one channel or a pair)
//!   call it.
//! - [`Biquad`]: the same recursion four samples at a time (`Block4`, a state-space
//!   look-ahead form), for the analog low-pass at the oversampled rate, where one channel
//!   runs alone and the recursion's latency would bound the speed.

use std::ops::{Add, Mul, Sub};

use realfft::num_complex::Complex;
use wide::f64x2;

use crate::filter::fir::Kernel;

/// Arithmetic the recursion runs on: `f64` for one channel, or two channels in lanes.
pub trait Lane: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    fn splat(v: f64) -> Self;
}

impl Lane for f64 {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
}

/// Two channels (L, R) in lanes: `wide::f64x2` or the scalar reference [`Pair`].
pub trait TwoLanes: Lane {
    fn from_array(a: [f64; 2]) -> Self;
    fn to_array(self) -> [f64; 2];
}

impl Lane for f64x2 {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        f64x2::splat(v)
    }
}

impl TwoLanes for f64x2 {
    #[inline(always)]
    fn from_array(a: [f64; 2]) -> Self {
        f64x2::new(a)
    }
    #[inline(always)]
    fn to_array(self) -> [f64; 2] {
        f64x2::to_array(self)
    }
}

/// Scalar reference for two lanes: the same operations one lane at a time.
#[derive(Debug, Clone, Copy)]
pub struct Pair(pub [f64; 2]);

impl Add for Pair {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Pair([self.0[0] + rhs.0[0], self.0[1] + rhs.0[1]])
    }
}

impl Sub for Pair {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Pair([self.0[0] - rhs.0[0], self.0[1] - rhs.0[1]])
    }
}

impl Mul for Pair {
    type Output = Self;
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Pair([self.0[0] * rhs.0[0], self.0[1] * rhs.0[1]])
    }
}

impl Lane for Pair {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Pair([v, v])
    }
}

impl TwoLanes for Pair {
    #[inline(always)]
    fn from_array(a: [f64; 2]) -> Self {
        Pair(a)
    }
    #[inline(always)]
    fn to_array(self) -> [f64; 2] {
        self.0
    }
}

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
        Self::lowpass_matched(corner_hz, q, sample_rate, corner_hz)
    }

    /// The same low-pass with the bilinear transform prewarped at `match_hz` instead of the
    /// corner, so the digital response equals the analog prototype's exactly at `match_hz`
    /// (the frequency of a published figure). Frequency warping otherwise moves a point
    /// near fs/4 noticeably: prewarped at an 87.9 kHz corner at 384 kHz, 80 kHz reads like
    /// the prototype's 77 kHz (0.25 dB off on a second-order slope).
    pub fn lowpass_matched(corner_hz: f64, q: f64, sample_rate: f64, match_hz: f64) -> Self {
        let corner = corner_hz.clamp(1.0, 0.49 * sample_rate);
        let matched = match_hz.clamp(1.0, 0.49 * sample_rate);
        let k = (std::f64::consts::PI * matched / sample_rate).tan() * corner / matched;
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

/// [`BiquadCoefs`] splatted into lanes, for [`tdf2`].
#[derive(Debug, Clone, Copy)]
pub struct LaneCoefs<V> {
    pub b0: V,
    pub b1: V,
    pub b2: V,
    pub a1: V,
    pub a2: V,
}

impl<V: Lane> LaneCoefs<V> {
    /// The same coefficients in every lane.
    #[inline(always)]
    pub fn splat(c: &BiquadCoefs) -> Self {
        Self {
            b0: V::splat(c.b0),
            b1: V::splat(c.b1),
            b2: V::splat(c.b2),
            a1: V::splat(c.a1),
            a2: V::splat(c.a2),
        }
    }
}

/// One sample of the transposed direct form II recursion: returns `y = b0·x + s[0]` and
/// advances the state, `s[0] = b1·x − a1·y + s[1]`, `s[1] = b2·x − a2·y`. Every biquad
/// cascade in the chain runs this (the block form [`Biquad`] equals it to `f64` rounding).
#[inline(always)]
pub fn tdf2<V: Lane>(c: &LaneCoefs<V>, s: &mut [V; 2], x: V) -> V {
    let y = c.b0 * x + s[0];
    s[0] = (c.b1 * x + s[1]) - c.a1 * y;
    s[1] = c.b2 * x - c.a2 * y;
    y
}

/// The recursion of a [`Biquad`] four samples at a time (block state-space, or
/// "look-ahead", form: Oppenheim & Schafer, *Discrete-Time Signal Processing*, §6.5 on
/// state variables; Parhi & Messerschmitt, "Pipeline interleaving and parallelism in
/// recursive digital filters", IEEE Trans. ASSP 37(7), 1989).
///
/// The transposed direct form II state `s = (s1, s2)` is a state-space state:
/// `y = s1 + b0·x`, `s' = A·s + B·x` with `A = [[−a1, 1], [−a2, 0]]`,
/// `B = (b1 − a1·b0, b2 − a2·b0)`. Over a group of four inputs x₀…x₃ from state `s`:
/// `yᵢ = (Aⁱ·s)₁ + Σ_{j≤i} h_{i−j}·xⱼ` with the impulse response `h₀ = b0`,
/// `h_k = (A^(k−1)·B)₁`, and `s⁽⁴⁾ = A⁴·s + Σⱼ A^(3−j)·B·xⱼ`. The one-sample recursion
/// chains three dependent `f64` operations (≈ 12 cycles) per sample; here the chain is
/// the same three per *four* samples, and the rest is independent multiply-adds that run
/// in SIMD lanes. Results equal the sample-by-sample recursion to `f64` rounding.
///
/// Every step comes in two versions, `FUSED` (multiply-adds as FMAs, on CPUs with AVX2+FMA,
/// where it shortens the recursion's chain to two FMAs per group) and not (plain multiplies
/// and adds, any CPU); one [`Biquad`] always uses the same, so its output never depends on
/// how a signal is split.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Block4 {
    /// Weights of `s1` and `s2` in outputs 0..4: `[(Aⁱ)₁₁, (Aⁱ)₁₂]` in lane i.
    state_to_y: [[f64; 4]; 2],
    /// Column j: weight of input xⱼ in outputs 0..4 (`h_{i−j}`, 0 for i < j).
    input_to_y: [[f64; 4]; 4],
    /// Columns of A⁴: weights of `s1` and `s2` in the next group's state.
    state_to_state: [[f64; 2]; 2],
    /// Column j: A^(3−j)·B, the weight of input xⱼ in the next group's state.
    input_to_state: [[f64; 2]; 4],
}

impl Block4 {
    fn new(c: &BiquadCoefs) -> Self {
        type Matrix = [[f64; 2]; 2];
        let a: Matrix = [[-c.a1, 1.0], [-c.a2, 0.0]];
        let b = [c.b1 - c.a1 * c.b0, c.b2 - c.a2 * c.b0];
        let product = |m: &Matrix, n: &Matrix| -> Matrix {
            std::array::from_fn(|r| {
                std::array::from_fn(|col| m[r][0] * n[0][col] + m[r][1] * n[1][col])
            })
        };
        let apply = |m: &Matrix, v: &[f64; 2]| -> [f64; 2] {
            [
                m[0][0] * v[0] + m[0][1] * v[1],
                m[1][0] * v[0] + m[1][1] * v[1],
            ]
        };
        // powers[k] = A^k.
        let mut powers = [[[1.0, 0.0], [0.0, 1.0]]; 5];
        for k in 1..5 {
            powers[k] = product(&a, &powers[k - 1]);
        }
        let impulse: [f64; 4] = std::array::from_fn(|k| {
            if k == 0 {
                c.b0
            } else {
                apply(&powers[k - 1], &b)[0]
            }
        });
        Self {
            state_to_y: [
                std::array::from_fn(|i| powers[i][0][0]),
                std::array::from_fn(|i| powers[i][0][1]),
            ],
            input_to_y: std::array::from_fn(|j| {
                std::array::from_fn(|i| if i >= j { impulse[i - j] } else { 0.0 })
            }),
            state_to_state: [
                [powers[4][0][0], powers[4][1][0]],
                [powers[4][0][1], powers[4][1][1]],
            ],
            input_to_state: std::array::from_fn(|j| apply(&powers[3 - j], &b)),
        }
    }

    /// `a·b + c`, fused (one rounding) or not.
    #[inline(always)]
    fn madd<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
        if FUSED {
            a.mul_add(b, c)
        } else {
            a * b + c
        }
    }

    /// The state's part of output `i`.
    #[inline(always)]
    fn state_part<const FUSED: bool>(&self, s: [f64; 2], i: usize) -> f64 {
        Self::madd::<FUSED>(self.state_to_y[0][i], s[0], self.state_to_y[1][i] * s[1])
    }

    /// Output `i` of a group from its start state and inputs x₀…xᵢ, summed in the order
    /// of [`Self::outputs`] (whose lanes add `0·xⱼ` for j > i, which changes nothing).
    #[inline(always)]
    fn output<const FUSED: bool>(&self, s: [f64; 2], x: &[f64; 4], i: usize) -> f64 {
        let mut y = self.state_part::<FUSED>(s, i);
        for (column, &xj) in self.input_to_y[..=i].iter().zip(x) {
            y = Self::madd::<FUSED>(column[i], xj, y);
        }
        y
    }

    /// All four outputs of a full group.
    #[inline(always)]
    fn outputs<const FUSED: bool>(&self, s: [f64; 2], x: &[f64; 4]) -> [f64; 4] {
        let mut y: [f64; 4] = std::array::from_fn(|i| self.state_part::<FUSED>(s, i));
        for (column, &xj) in self.input_to_y.iter().zip(x) {
            for (yi, c) in y.iter_mut().zip(column) {
                *yi = Self::madd::<FUSED>(*c, xj, *yi);
            }
        }
        y
    }

    /// The next group's start state. The input part is summed first, off the recursion's
    /// critical path, which is then a multiply and two adds (or two FMAs).
    #[inline(always)]
    fn next_state<const FUSED: bool>(&self, s: [f64; 2], x: &[f64; 4]) -> [f64; 2] {
        let mut input = [0.0; 2];
        for (column, &xj) in self.input_to_state.iter().zip(x) {
            input[0] = Self::madd::<FUSED>(column[0], xj, input[0]);
            input[1] = Self::madd::<FUSED>(column[1], xj, input[1]);
        }
        let [c0, c1] = self.state_to_state;
        if FUSED {
            [
                c0[0].mul_add(s[0], c1[0].mul_add(s[1], input[0])),
                c0[1].mul_add(s[0], c1[1].mul_add(s[1], input[1])),
            ]
        } else {
            [
                (c0[0] * s[0] + c1[0] * s[1]) + input[0],
                (c0[1] * s[0] + c1[1] * s[1]) + input[1],
            ]
        }
    }
}

/// One biquad with f64 state (transposed direct form II), run four samples at a time
/// ([`Block4`]). Samples are grouped in fours counted from the last reset, whatever the
/// block sizes, so [`Biquad::process`] and [`Biquad::tick`] give the same bits however a
/// signal is split.
#[derive(Debug, Clone)]
pub struct Biquad {
    pub coefs: BiquadCoefs,
    /// TDF-II state at the start of the current group of four.
    s1: f64,
    s2: f64,
    /// Inputs of the current group so far (the first `pending`).
    group: [f64; 4],
    pending: usize,
    /// [`Block4`] of `block_coefs` (recomputed when `coefs` changes).
    block: Block4,
    block_coefs: BiquadCoefs,
    /// Multiply-adds fused ([`Kernel::Avx2Fma`]: the block loop runs with AVX2+FMA).
    fused: bool,
}

impl Default for Biquad {
    fn default() -> Self {
        Self::new(BiquadCoefs::default())
    }
}

impl Biquad {
    pub fn new(coefs: BiquadCoefs) -> Self {
        Self {
            coefs,
            s1: 0.0,
            s2: 0.0,
            group: [0.0; 4],
            pending: 0,
            block: Block4::new(&coefs),
            block_coefs: coefs,
            fused: Kernel::best() == Kernel::Avx2Fma,
        }
    }

    /// Choose the arithmetic: [`Kernel::Avx2Fma`] (fused multiply-adds, if this CPU has
    /// them) or plain multiplies and adds (anything else); returns the one in use. The two
    /// differ by `f64` rounding. Call before processing (the state is kept).
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        let kernel = kernel.avx2_or(Kernel::Scalar);
        self.fused = kernel == Kernel::Avx2Fma;
        kernel
    }

    pub fn reset(&mut self) {
        self.s1 = 0.0;
        self.s2 = 0.0;
        self.group = [0.0; 4];
        self.pending = 0;
    }

    /// The group coefficients for the current `coefs`.
    #[inline]
    fn block(&mut self) -> Block4 {
        if self.block_coefs != self.coefs {
            self.block = Block4::new(&self.coefs);
            self.block_coefs = self.coefs;
        }
        self.block
    }

    /// One sample into the current group.
    #[inline(always)]
    fn tick_with<const FUSED: bool>(&mut self, block: &Block4, x: f64) -> f64 {
        let i = self.pending;
        self.group[i] = x;
        let state = [self.s1, self.s2];
        let y = block.output::<FUSED>(state, &self.group, i);
        if i == 3 {
            [self.s1, self.s2] = block.next_state::<FUSED>(state, &self.group);
            self.pending = 0;
        } else {
            self.pending = i + 1;
        }
        y
    }

    /// One sample (the same arithmetic as [`Self::process`], so the two can be mixed).
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let block = self.block();
        if self.fused {
            self.tick_with::<true>(&block, x)
        } else {
            self.tick_with::<false>(&block, x)
        }
    }

    /// A block in place.
    pub fn process(&mut self, block: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.fused {
            // SAFETY: `fused` is only set when `Kernel::Avx2Fma.is_available()` confirmed
            // (`is_x86_feature_detected!`) that this CPU has AVX2 and FMA.
            unsafe { self.process_fma(block) };
            return;
        }
        self.process_with::<false>(block);
    }

    /// [`Self::process_with`] compiled with AVX2 and FMA (the lanes of a group in one
    /// register, FMAs inline).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn process_fma(&mut self, block: &mut [f32]) {
        self.process_with::<true>(block);
    }

    #[inline(always)]
    fn process_with<const FUSED: bool>(&mut self, block: &mut [f32]) {
        let coefs = self.block();
        // Finish a group left open by the previous call, one sample at a time.
        let open = if self.pending == 0 {
            0
        } else {
            (4 - self.pending).min(block.len())
        };
        let (head, rest) = block.split_at_mut(open);
        for x in head {
            *x = self.tick_with::<FUSED>(&coefs, f64::from(*x)) as f32;
        }
        let (groups, tail) = rest.as_chunks_mut::<4>();
        let mut state = [self.s1, self.s2];
        for group in groups {
            let x = group.map(f64::from);
            let y = coefs.outputs::<FUSED>(state, &x);
            state = coefs.next_state::<FUSED>(state, &x);
            *group = y.map(|v| v as f32);
        }
        [self.s1, self.s2] = state;
        for x in tail {
            *x = self.tick_with::<FUSED>(&coefs, f64::from(*x)) as f32;
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

    /// Noise plus a sine, in f32.
    fn test_signal(len: usize) -> Vec<f32> {
        let mut state = 7u64;
        (0..len)
            .map(|i| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let noise = ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                noise + 0.5 * (i as f32 * 0.01).sin()
            })
            .collect()
    }

    /// The reference: transposed direct form II, one sample at a time, in f64.
    fn direct_form(c: &BiquadCoefs, x: &[f32]) -> Vec<f64> {
        let (mut s1, mut s2) = (0.0, 0.0);
        x.iter()
            .map(|&v| {
                let x = f64::from(v);
                let y = c.b0 * x + s1;
                s1 = c.b1 * x - c.a1 * y + s2;
                s2 = c.b2 * x - c.a2 * y;
                y
            })
            .collect()
    }

    fn kernels() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Avx2Fma]
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The four-at-a-time recursion (plain and fused) against the one-sample recursion:
    /// equal to f32 rounding of the output, on three designs (including a low corner, whose
    /// poles sit near z = 1).
    #[test]
    fn block_recursion_equals_direct_form_ii() {
        let x = test_signal(20_000);
        let q = std::f64::consts::FRAC_1_SQRT_2;
        for coefs in [
            BiquadCoefs::lowpass_matched(87_870.0, q, 352_800.0, 80_000.0),
            BiquadCoefs::lowpass(20.0, 2.0, 48_000.0),
            BiquadCoefs::lowpass(15_000.0, 0.5, 44_100.0),
        ] {
            let reference = direct_form(&coefs, &x);
            let peak = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for kernel in kernels() {
                let mut b = Biquad::new(coefs);
                assert_eq!(b.set_kernel(kernel), kernel);
                let mut y = x.clone();
                b.process(&mut y);
                let worst = y
                    .iter()
                    .zip(&reference)
                    .map(|(a, r)| (f64::from(*a) - r).abs())
                    .fold(0.0f64, f64::max);
                println!(
                    "{coefs:?} {kernel:?}: max |Δ|/peak vs TDF-II {:.2e}",
                    worst / peak
                );
                assert!(worst <= 1e-6 * peak, "{kernel:?}: {worst} (peak {peak})");
            }
        }
    }

    /// Samples are grouped in fours from the reset whatever the block sizes, so any split,
    /// and `tick`, give the same bits.
    #[test]
    fn split_blocks_and_tick_give_the_same_bits() {
        let x = test_signal(3000);
        let coefs = BiquadCoefs::lowpass(30_000.0, 0.7, 192_000.0);
        for kernel in kernels() {
            let mut b = Biquad::new(coefs);
            b.set_kernel(kernel);
            let mut whole = x.clone();
            b.process(&mut whole);
            b.reset();
            let mut split = x.clone();
            let mut pos = 0;
            for n in [1usize, 3, 7, 64, 2, 513, 5].iter().cycle() {
                if pos == split.len() {
                    break;
                }
                let n = (*n).min(split.len() - pos);
                b.process(&mut split[pos..pos + n]);
                pos += n;
            }
            assert_eq!(whole, split, "{kernel:?}");
            b.reset();
            let ticked: Vec<f32> = x.iter().map(|&v| b.tick(f64::from(v)) as f32).collect();
            assert_eq!(whole, ticked, "{kernel:?}: tick");
        }
    }

    /// `coefs` is a public field: a change is picked up by the next call.
    #[test]
    fn changed_coefficients_take_effect() {
        let x = test_signal(1000);
        let first = BiquadCoefs::lowpass(10_000.0, 0.7, 48_000.0);
        let second = BiquadCoefs::lowpass(2_000.0, 0.7, 48_000.0);
        let mut b = Biquad::new(first);
        let mut y = x.clone();
        b.process(&mut y);
        b.reset();
        b.coefs = second;
        let mut changed = x.clone();
        b.process(&mut changed);
        let mut fresh = x.clone();
        Biquad::new(second).process(&mut fresh);
        assert_eq!(changed, fresh);
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
