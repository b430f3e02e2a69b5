//! Run-time FIR kernels in `f32` (coefficients rounded from the `f64` designs of
//! [`super::design`]): a polyphase interpolator (fs → K·fs), a decimator (K·fs → fs) that
//! computes only the kept outputs, and a single-rate FIR.
//!
//! All three share one shape (chowdsp's polyphase FIR, with rubato's scalar-beside-SIMD
//! layout):
//! - coefficients are stored REVERSED and zero-padded to a multiple of [`LANES`], so each
//!   output is one contiguous dot product between a coefficient row set and a window of the
//!   history buffer;
//! - the history is a linear buffer of `padded_taps − 1 + max_block` samples: the last
//!   `padded_taps − 1` inputs of the previous block, then the new block; after the block the
//!   tail is moved to the front (one `copy_within` per block), so no window ever wraps;
//! - `new` allocates; `process` never does. A `process` call longer than `max_block` is cut
//!   into `max_block` pieces internally, so a wrong host block size costs nothing but speed.
//!
//! # Kernels
//! [`Kernel::Scalar`] is the reference ([`dot_scalar`], `f64` accumulation).
//! [`Kernel::Portable`] uses `wide::f32x8` as compiled for the target (two SSE registers on
//! the x86-64 baseline, one AVX register with `-C target-cpu=x86-64-v3`).
//! [`Kernel::Avx2Fma`] (x86-64 only) is the same algorithm with `std::arch` AVX2/FMA
//! intrinsics inside `#[target_feature(enable = "avx2,fma")]` functions, so even a baseline
//! build gets 256-bit FMAs; it is picked at run time when the CPU has AVX2 and FMA
//! ([`Kernel::best`]).
//!
//! Both SIMD kernels amortise loads over several dot products: the interpolator computes
//! several phases of one output frame against the same input window (one window load feeds
//! P multiply-adds), and the decimator / FIR compute several consecutive outputs against the
//! same coefficient row (one coefficient load feeds J multiply-adds). Leftover outputs use the
//! single-output version of the same loop (same summation order, so results do not depend on
//! block boundaries).
//!
//! An interpolation by [`LANES`] (the chip filters at 8×, the NOS hold) runs tap-major on
//! AVX2 instead: lane p of a register is phase p, so a frame of eight outputs is a chain of
//! one multiply-add per tap (a broadcast input sample against every phase's tap, from the
//! layout `taps_by_phase` builds), with no horizontal sum. Its sums are taken in another
//! order than the other kernels' (the equivalence tests bound the difference).

use std::sync::atomic::{AtomicU8, Ordering};

use wide::f32x8;

/// SIMD width in `f32` lanes; every coefficient row is padded to a multiple of it.
pub const LANES: usize = 8;

/// One row of [`LANES`] samples or coefficients.
type Row = [f32; LANES];

/// Smallest multiple of [`LANES`] that is ≥ `len` (at least [`LANES`]).
fn padded(len: usize) -> usize {
    len.div_ceil(LANES).max(1) * LANES
}

/// Scalar reference dot product Σ a[i]·b[i] over the common length. Accumulates in `f64`
/// (and returns the rounded `f32`), so it is as exact as an `f32` result can be and any
/// difference from the SIMD kernels is their own rounding.
pub fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum::<f64>() as f32
}

/// SIMD dot product Σ a[i]·b[i] over the common length with `wide::f32x8` (four
/// accumulators), then a scalar tail for a length that is not a multiple of [`LANES`].
pub fn dot_simd(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a_rows, a_tail) = a[..len].as_chunks::<LANES>();
    let (b_rows, b_tail) = b[..len].as_chunks::<LANES>();
    dot_one::<f32x8>(a_rows, b_rows) + a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum::<f32>()
}

/// Dot product Σ a[i]·b[i] over the common length with `kernel` ([`Kernel::best`] if
/// `kernel` is not available on this CPU): [`dot_scalar`], [`dot_simd`], or the AVX2+FMA
/// version of [`dot_simd`] (four 256-bit accumulators). Whole rows of [`LANES`] go through the
/// SIMD loop, a shorter tail is summed in scalar `f32`.
pub fn dot(kernel: Kernel, a: &[f32], b: &[f32]) -> f32 {
    match kernel.or_best() {
        Kernel::Scalar => dot_scalar(a, b),
        Kernel::Portable => dot_simd(a, b),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => {
            let len = a.len().min(b.len());
            let (a_rows, a_tail) = a[..len].as_chunks::<LANES>();
            let (b_rows, b_tail) = b[..len].as_chunks::<LANES>();
            // SAFETY: `or_best` returned `Avx2Fma`, so `is_x86_feature_detected!` confirmed
            // that this CPU has AVX2 and FMA.
            let rows = unsafe { avx2::dot(a_rows, b_rows) };
            rows + a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum::<f32>()
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx2Fma => unreachable!("Avx2Fma is never available off x86-64"),
    }
}

/// Which dot-product kernel a FIR struct runs; every other stage with a SIMD path (the
/// R2R quantiser, the shaper, the block biquad) picks its own from [`Kernel::best`] too.
/// Ordered from the least to the most capable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// [`dot_scalar`]: sequential, `f64`-accumulated; the reference.
    Scalar = 0,
    /// `wide::f32x8` as compiled for the target.
    Portable = 1,
    /// 256-bit AVX2 + FMA, x86-64 only, selected at run time.
    Avx2Fma = 2,
}

/// The most capable kernel [`Kernel::best`] may return, as `Kernel as u8` (`u8::MAX`: no
/// limit). See [`Kernel::limit_best`].
static BEST_LIMIT: AtomicU8 = AtomicU8::new(u8::MAX);

impl Kernel {
    /// The fastest kernel this CPU runs: [`Kernel::Avx2Fma`] when available, else
    /// [`Kernel::Portable`] (or less, under [`Kernel::limit_best`]). Detected once per call
    /// (`is_x86_feature_detected!` caches).
    pub fn best() -> Self {
        let detected = if Self::Avx2Fma.is_available() {
            Self::Avx2Fma
        } else {
            Self::Portable
        };
        match BEST_LIMIT.load(Ordering::Relaxed) {
            0 => Self::Scalar,
            1 => Self::Portable,
            _ => detected,
        }
    }

    /// From now on, in this whole process, [`Kernel::best`] returns at most `limit`
    /// (`None`: what the CPU has). Stages built afterwards run that path; stages already
    /// built keep theirs. For benches and tests that measure or compare the portable path
    /// (what an ARM build runs) and the scalar reference beside AVX2 on one machine; a
    /// plugin never calls it.
    pub fn limit_best(limit: Option<Kernel>) {
        BEST_LIMIT.store(limit.map_or(u8::MAX, |k| k as u8), Ordering::Relaxed);
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Self::Scalar | Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx2Fma => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx2Fma => false,
        }
    }

    /// [`Kernel::Avx2Fma`] when that is `self` and this CPU has it, else `fallback`: the
    /// choice of a stage with one AVX2 kernel and one other path.
    pub fn avx2_or(self, fallback: Kernel) -> Self {
        if self == Self::Avx2Fma && self.is_available() {
            Self::Avx2Fma
        } else {
            fallback
        }
    }

    /// `self` if available, else [`Kernel::best`].
    fn or_best(self) -> Self {
        if self.is_available() {
            self
        } else {
            Self::best()
        }
    }
}

/// Lane-wise arithmetic on one row for the generic block code; implemented by
/// `wide::f32x8` (the portable kernel).
trait Lanes: Copy {
    fn zero() -> Self;
    fn load(row: &Row) -> Self;
    /// `self · b + acc`, lane-wise.
    fn mul_add(self, b: Self, acc: Self) -> Self;
    fn add(self, b: Self) -> Self;
    fn sum(self) -> f32;
}

impl Lanes for f32x8 {
    #[inline(always)]
    fn zero() -> Self {
        f32x8::ZERO
    }
    #[inline(always)]
    fn load(row: &Row) -> Self {
        f32x8::new(*row)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, acc: Self) -> Self {
        f32x8::mul_add(self, b, acc)
    }
    #[inline(always)]
    fn add(self, b: Self) -> Self {
        self + b
    }
    #[inline(always)]
    fn sum(self) -> f32 {
        self.reduce_add()
    }
}

/// One row of `x` starting at sample `offset` (bounds-checked).
#[inline(always)]
fn row_at(x: &[f32], offset: usize) -> &Row {
    x[offset..offset + LANES]
        .try_into()
        .expect("a slice of LANES samples")
}

/// One dot product over whole rows, four accumulators (they hide the add latency that a
/// single accumulator would serialise every row on).
#[inline(always)]
fn dot_one<L: Lanes>(coefs: &[Row], window: &[Row]) -> f32 {
    let rows = coefs.len().min(window.len());
    let (c4, c_rest) = coefs[..rows].as_chunks::<4>();
    let (w4, w_rest) = window[..rows].as_chunks::<4>();
    let mut acc = [L::zero(); 4];
    for (c, w) in c4.iter().zip(w4) {
        for k in 0..4 {
            acc[k] = L::load(&c[k]).mul_add(L::load(&w[k]), acc[k]);
        }
    }
    for (k, (c, w)) in c_rest.iter().zip(w_rest).enumerate() {
        acc[k] = L::load(c).mul_add(L::load(w), acc[k]);
    }
    acc[0].add(acc[1]).add(acc[2].add(acc[3])).sum()
}

/// Phases `first .. first + P` of one output frame: `P` dot products of one window against
/// `P` coefficient sets. `coefs` is row-major over phases (row r of phase p at
/// `coefs[r·factor + p]`), so the `P` rows used together are adjacent in memory.
#[inline(always)]
fn dot_shared_window<L: Lanes, const P: usize>(
    coefs: &[Row],
    factor: usize,
    first: usize,
    window: &[Row],
) -> [f32; P] {
    let mut acc = [L::zero(); P];
    for (w, phases) in window.iter().zip(coefs.chunks_exact(factor)) {
        let x = L::load(w);
        let set: &[Row; P] = phases[first..first + P].try_into().expect("P phases");
        for q in 0..P {
            acc[q] = L::load(&set[q]).mul_add(x, acc[q]);
        }
    }
    acc.map(L::sum)
}

/// `J` dot products of one coefficient set against `J` windows of `x` starting `step`
/// samples apart: consecutive outputs of a decimator (step = factor) or FIR (step = 1).
#[inline(always)]
fn dot_shared_coefs<L: Lanes, const J: usize>(coefs: &[Row], x: &[f32], step: usize) -> [f32; J] {
    let len = coefs.len() * LANES;
    let windows: [&[Row]; J] =
        std::array::from_fn(|j| x[j * step..j * step + len].as_chunks::<LANES>().0);
    let mut acc = [L::zero(); J];
    for (r, c) in coefs.iter().enumerate() {
        let c = L::load(c);
        for j in 0..J {
            acc[j] = c.mul_add(L::load(&windows[j][r]), acc[j]);
        }
    }
    acc.map(L::sum)
}

/// Interpolator block: for each output frame n (window = `history[n .. n + taps_per_phase]`)
/// all `factor` phases, in groups of `P`, then 2, then 1. Each phase is summed in the same
/// order whatever its group.
#[inline(always)]
fn poly_block<L: Lanes, const P: usize>(
    coefs: &[Row],
    taps_per_phase: usize,
    history: &[f32],
    output: &mut [f32],
    factor: usize,
) {
    for (n, frame) in output.chunks_exact_mut(factor).enumerate() {
        let window = history[n..n + taps_per_phase].as_chunks::<LANES>().0;
        let mut p = 0;
        while p + P <= factor {
            let out = dot_shared_window::<L, P>(coefs, factor, p, window);
            frame[p..p + P].copy_from_slice(&out);
            p += P;
        }
        while p + 2 <= factor {
            let out = dot_shared_window::<L, 2>(coefs, factor, p, window);
            frame[p..p + 2].copy_from_slice(&out);
            p += 2;
        }
        if p < factor {
            frame[p] = dot_shared_window::<L, 1>(coefs, factor, p, window)[0];
        }
    }
}

/// Direct-form block: output m = row set · `history[m·step .. m·step + padded_taps]`, in
/// groups of `J` outputs, then one by one. Every output is summed in the same order whatever
/// its group, so splitting a signal into other blocks gives bit-identical results.
#[inline(always)]
fn direct_block<L: Lanes, const J: usize>(
    coefs: &[Row],
    history: &[f32],
    step: usize,
    output: &mut [f32],
) {
    let mut groups = output.chunks_exact_mut(J);
    let mut m = 0;
    for group in &mut groups {
        group.copy_from_slice(&dot_shared_coefs::<L, J>(coefs, &history[m * step..], step));
        m += J;
    }
    for y in groups.into_remainder() {
        *y = dot_shared_coefs::<L, 1>(coefs, &history[m * step..], step)[0];
        m += 1;
    }
}

/// Scalar reference of one phase `p` of [`dot_shared_window`]: gathered from the row-major
/// layout and summed in `f64`.
fn scalar_phase(coefs: &[Row], factor: usize, p: usize, window: &[Row]) -> f32 {
    let sum: f64 = window
        .iter()
        .zip(coefs.chunks_exact(factor))
        .map(|(w, phases)| {
            phases[p]
                .iter()
                .zip(w)
                .map(|(&c, &x)| f64::from(c) * f64::from(x))
                .sum::<f64>()
        })
        .sum();
    sum as f32
}

/// Scalar reference of [`poly_block`]: each phase by [`scalar_phase`].
fn poly_block_scalar(
    coefs: &[Row],
    taps_per_phase: usize,
    history: &[f32],
    output: &mut [f32],
    factor: usize,
) {
    for (n, frame) in output.chunks_exact_mut(factor).enumerate() {
        let window = history[n..n + taps_per_phase].as_chunks::<LANES>().0;
        for (p, y) in frame.iter_mut().enumerate() {
            *y = scalar_phase(coefs, factor, p, window);
        }
    }
}

/// Scalar reference of [`direct_block`] ([`dot_scalar`] per output).
fn direct_block_scalar(coefs: &[Row], history: &[f32], step: usize, output: &mut [f32]) {
    let padded_taps = coefs.len() * LANES;
    for (m, y) in output.iter_mut().enumerate() {
        let start = m * step;
        *y = dot_scalar(coefs.as_flattened(), &history[start..start + padded_taps]);
    }
}

/// Group size of the portable kernel: 4 accumulators of `f32x8` (8 SSE registers on the
/// baseline) plus operands fit the 16 vector registers without spilling.
const PORTABLE_GROUP: usize = 4;

/// The AVX2+FMA kernel: the same block shapes as the generic code, written with `std::arch`
/// intrinsics inside `#[target_feature(enable = "avx2,fma")]` functions, so a baseline
/// x86-64 build still gets 256-bit FMAs. Groups of 8 (8 accumulators = half the YMM
/// registers) are reduced together by a `hadd` transpose into one vector of 8 results; every
/// output, grouped or not, is reduced in the same order ((v0+v1)+(v2+v3))+((v4+v5)+(v6+v7)).
/// (Plain `[f32; 8]` arrays with `f32::mul_add` in such a function were tried first: LLVM
/// vectorised them across the wrong dimension and ran slower than the portable kernel.)
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Row, LANES};
    use std::arch::x86_64::{
        __m128, __m256, _mm256_add_ps, _mm256_broadcast_ss, _mm256_castps256_ps128,
        _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_loadu_ps,
        _mm256_permute2f128_ps, _mm256_setzero_ps, _mm256_storeu_ps, _mm_add_ps, _mm_cvtss_f32,
        _mm_storeu_ps,
    };

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn load(row: &Row) -> __m256 {
        // SAFETY: `row` is a valid reference to 8 initialised `f32` (32 readable bytes), and
        // `_mm256_loadu_ps` has no alignment requirement; AVX is enabled on this function.
        unsafe { _mm256_loadu_ps(row.as_ptr()) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn store(out: &mut [f32; 8], v: __m256) {
        // SAFETY: `out` is a valid exclusive reference to 8 `f32` (32 writable bytes), and
        // `_mm256_storeu_ps` has no alignment requirement.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn store4(out: &mut [f32; 4], v: __m128) {
        // SAFETY: `out` is a valid exclusive reference to 4 `f32` (16 writable bytes), and
        // `_mm_storeu_ps` has no alignment requirement.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), v) }
    }

    /// Lanes 0..4 of `hadd(hadd(a, b), hadd(c, d))` hold the sums of lanes 0..4 of a, b, c,
    /// d, lanes 4..8 the sums of their lanes 4..8, each as (v0+v1)+(v2+v3).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn quad(a: __m256, b: __m256, c: __m256, d: __m256) -> __m256 {
        _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
    }

    /// The 8 horizontal sums of 8 accumulators, as one vector.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sum8(acc: &[__m256; 8]) -> __m256 {
        let u0 = quad(acc[0], acc[1], acc[2], acc[3]);
        let u1 = quad(acc[4], acc[5], acc[6], acc[7]);
        let low = _mm256_permute2f128_ps::<0x20>(u0, u1);
        let high = _mm256_permute2f128_ps::<0x31>(u0, u1);
        _mm256_add_ps(low, high)
    }

    /// The 4 horizontal sums of 4 accumulators.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sum4(acc: &[__m256; 4]) -> __m128 {
        let u = quad(acc[0], acc[1], acc[2], acc[3]);
        _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps::<1>(u))
    }

    /// One horizontal sum, in the same order as [`sum8`] and [`sum4`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sum1(v: __m256) -> f32 {
        let u = quad(v, v, v, v);
        _mm_cvtss_f32(_mm_add_ps(
            _mm256_castps256_ps128(u),
            _mm256_extractf128_ps::<1>(u),
        ))
    }

    /// See `super::dot_shared_window`: phases `first .. first + P`, accumulators only.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn shared_window<const P: usize>(
        coefs: &[Row],
        factor: usize,
        first: usize,
        window: &[Row],
    ) -> [__m256; P] {
        let mut acc = [_mm256_setzero_ps(); P];
        for (w, phases) in window.iter().zip(coefs.chunks_exact(factor)) {
            let x = load(w);
            let set: &[Row; P] = phases[first..first + P].try_into().expect("P phases");
            for q in 0..P {
                acc[q] = _mm256_fmadd_ps(load(&set[q]), x, acc[q]);
            }
        }
        acc
    }

    /// See `super::dot_shared_coefs`: `J` outputs `step` samples apart, accumulators only.
    /// Loads by offset from one bounds-checked span (per-window slices cost a bounds check
    /// and a spilled pointer per multiply-add here).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn shared_coefs<const J: usize>(coefs: &[Row], x: &[f32], step: usize) -> [__m256; J] {
        let span = &x[..(J - 1) * step + coefs.len() * LANES];
        let base = span.as_ptr();
        let mut acc = [_mm256_setzero_ps(); J];
        for (r, c) in coefs.iter().enumerate() {
            let c = load(c);
            for (j, a) in acc.iter_mut().enumerate() {
                let offset = r * LANES + j * step;
                // SAFETY: r < coefs.len() and j < J, so offset + LANES ≤
                // (coefs.len() − 1)·LANES + (J − 1)·step + LANES = span.len(): the 8 floats
                // read are inside `span`; `_mm256_loadu_ps` needs no alignment.
                let v = unsafe { _mm256_loadu_ps(base.add(offset)) };
                *a = _mm256_fmadd_ps(c, v, *a);
            }
        }
        acc
    }

    /// `J` outputs of a decimation by [`LANES`] (step = one row): output `j` is coefficient
    /// row `r` against input row `j + r` of `x`, so input row `s` feeds output `j` with
    /// coefficient row `s − j`. Each input row and each coefficient row is loaded once for
    /// the `J` outputs (the last `J` coefficient rows ride in registers), where
    /// [`shared_coefs`] loads an input row per multiply-add. Each output adds the same
    /// products in the same order as there; the extra products are with zero rows, before
    /// its first and after its last, which leave a finite sum as it is. Bit-identical.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn sliding<const J: usize>(coefs: &[Row], x: &[f32]) -> [__m256; J] {
        let rows = coefs.len();
        let span = &x[..(rows + J - 1) * LANES];
        let base = span.as_ptr();
        let zero = _mm256_setzero_ps();
        let mut acc = [zero; J];
        // c[k] = coefficient row s − k (zero outside the rows).
        let mut c = [zero; J];
        for s in 0..rows + J - 1 {
            for k in (1..J).rev() {
                c[k] = c[k - 1];
            }
            c[0] = coefs.get(s).map_or(zero, |row| load(row));
            // SAFETY: s < rows + J − 1, so the 8 floats at s·LANES end at most at
            // (rows + J − 1)·LANES = span.len(); `_mm256_loadu_ps` needs no alignment.
            let v = unsafe { _mm256_loadu_ps(base.add(s * LANES)) };
            for (a, c) in acc.iter_mut().zip(c) {
                *a = _mm256_fmadd_ps(c, v, *a);
            }
        }
        acc
    }

    /// Phases `first .. first + 4` of two frames whose windows start one sample apart
    /// (`w0`, `w1`): each coefficient row is loaded once for both frames and each window row
    /// once for the four phases (0.75 loads per multiply-add, against 1.125 for
    /// [`shared_window`] with eight phases). Each phase sums the same products in the same
    /// order as there. Bit-identical.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn shared_window_pair(
        coefs: &[Row],
        factor: usize,
        first: usize,
        w0: &[Row],
        w1: &[Row],
    ) -> ([__m256; 4], [__m256; 4]) {
        let mut a0 = [_mm256_setzero_ps(); 4];
        let mut a1 = [_mm256_setzero_ps(); 4];
        for ((x0, x1), phases) in w0.iter().zip(w1).zip(coefs.chunks_exact(factor)) {
            let (x0, x1) = (load(x0), load(x1));
            let set: &[Row; 4] = phases[first..first + 4].try_into().expect("4 phases");
            for q in 0..4 {
                let c = load(&set[q]);
                a0[q] = _mm256_fmadd_ps(c, x0, a0[q]);
                a1[q] = _mm256_fmadd_ps(c, x1, a1[q]);
            }
        }
        (a0, a1)
    }

    /// See `super::dot`: whole rows, four accumulators (as `super::dot_one`), reduced in
    /// the order of [`sum1`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot(a: &[Row], b: &[Row]) -> f32 {
        let rows = a.len().min(b.len());
        let (a4, a_rest) = a[..rows].as_chunks::<4>();
        let (b4, b_rest) = b[..rows].as_chunks::<4>();
        let mut acc = [_mm256_setzero_ps(); 4];
        for (x, y) in a4.iter().zip(b4) {
            for k in 0..4 {
                acc[k] = _mm256_fmadd_ps(load(&x[k]), load(&y[k]), acc[k]);
            }
        }
        for (k, (x, y)) in a_rest.iter().zip(b_rest).enumerate() {
            acc[k] = _mm256_fmadd_ps(load(x), load(y), acc[k]);
        }
        sum1(_mm256_add_ps(
            _mm256_add_ps(acc[0], acc[1]),
            _mm256_add_ps(acc[2], acc[3]),
        ))
    }

    /// Phases `first .. first + output.len()` of one frame, one by one (the leftover path
    /// of [`poly`], so each phase is summed exactly as there).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn phases(
        coefs: &[Row],
        factor: usize,
        window: &[Row],
        first: usize,
        output: &mut [f32],
    ) {
        for (i, y) in output.iter_mut().enumerate() {
            *y = sum1(shared_window::<1>(coefs, factor, first + i, window)[0]);
        }
    }

    /// Frames `n .. n + F` of an interpolation by [`LANES`] from `by_tap`
    /// (`super::taps_by_phase`): lane p of output f is Σᵢ `x[f + i]`·`by_tap[i][p]`, one
    /// multiply-add per tap in tap order (a broadcast input sample against a row of every
    /// phase's tap i), so no horizontal sum; `x` starts at frame n's window.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn by_tap_frames<const F: usize>(by_tap: &[Row], x: &[f32]) -> [__m256; F] {
        let span = &x[..F - 1 + by_tap.len()];
        let base = span.as_ptr();
        let mut acc = [_mm256_setzero_ps(); F];
        for (i, c) in by_tap.iter().enumerate() {
            let c = load(c);
            for (f, a) in acc.iter_mut().enumerate() {
                // SAFETY: f + i ≤ (F − 1) + (by_tap.len() − 1) < span.len(), so the float
                // read is inside `span`.
                let v = unsafe { _mm256_broadcast_ss(&*base.add(f + i)) };
                *a = _mm256_fmadd_ps(v, c, *a);
            }
        }
        acc
    }

    /// An interpolation by [`LANES`], tap-major ([`by_tap_frames`]): frames in groups of
    /// ten (ten accumulators cover the multiply-add latency, and the loads of a broadcast
    /// and a tap row per multiply-add stay under two per cycle), then one by one. Each
    /// output is the same chain of multiply-adds whichever group computes it, and as
    /// [`phases_by_tap`] computes it.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn poly_by_tap(by_tap: &[Row], history: &[f32], output: &mut [f32]) {
        const GROUP: usize = 10;
        let frames = output.as_chunks_mut::<LANES>().0;
        let mut groups = frames.chunks_exact_mut(GROUP);
        let mut n = 0;
        for group in &mut groups {
            let acc = by_tap_frames::<GROUP>(by_tap, &history[n..]);
            for (out, a) in group.iter_mut().zip(acc) {
                store(out, a);
            }
            n += GROUP;
        }
        for out in groups.into_remainder() {
            store(out, by_tap_frames::<1>(by_tap, &history[n..])[0]);
            n += 1;
        }
    }

    /// Phases `first .. first + output.len()` of one frame of an interpolation by
    /// [`LANES`] against `window` (`by_tap.len()` samples), each the same chain of fused
    /// multiply-adds as lane p of [`by_tap_frames`]: bit-identical to [`poly_by_tap`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn phases_by_tap(by_tap: &[Row], window: &[f32], first: usize, output: &mut [f32]) {
        for (k, y) in output.iter_mut().enumerate() {
            *y = by_tap
                .iter()
                .zip(window)
                .fold(0.0f32, |acc, (c, &x)| x.mul_add(c[first + k], acc));
        }
    }

    /// See `super::poly_block`. With a factor that is a multiple of 4, frames go in pairs
    /// ([`shared_window_pair`]); the rest (an odd last frame, other factors) phases in
    /// groups of 8, then 4, then one by one. Every phase is summed in the same order
    /// whichever path computes it.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn poly(
        coefs: &[Row],
        taps_per_phase: usize,
        history: &[f32],
        output: &mut [f32],
        factor: usize,
    ) {
        let mut done = 0;
        if factor.is_multiple_of(4) {
            for (i, pair) in output.chunks_exact_mut(2 * factor).enumerate() {
                let n = 2 * i;
                let w0 = history[n..n + taps_per_phase].as_chunks::<LANES>().0;
                let w1 = history[n + 1..n + 1 + taps_per_phase]
                    .as_chunks::<LANES>()
                    .0;
                let (f0, f1) = pair.split_at_mut(factor);
                for p in (0..factor).step_by(4) {
                    let (a0, a1) = shared_window_pair(coefs, factor, p, w0, w1);
                    let out: &mut [f32; 4] = (&mut f0[p..p + 4]).try_into().expect("4");
                    store4(out, sum4(&a0));
                    let out: &mut [f32; 4] = (&mut f1[p..p + 4]).try_into().expect("4");
                    store4(out, sum4(&a1));
                }
                done = n + 2;
            }
        }
        for (n, frame) in output.chunks_exact_mut(factor).enumerate().skip(done) {
            let window = history[n..n + taps_per_phase].as_chunks::<LANES>().0;
            let mut p = 0;
            while p + 8 <= factor {
                let acc = shared_window::<8>(coefs, factor, p, window);
                let out: &mut [f32; 8] = (&mut frame[p..p + 8]).try_into().expect("8 outputs");
                store(out, sum8(&acc));
                p += 8;
            }
            while p + 4 <= factor {
                let acc = shared_window::<4>(coefs, factor, p, window);
                let out: &mut [f32; 4] = (&mut frame[p..p + 4]).try_into().expect("4 outputs");
                store4(out, sum4(&acc));
                p += 4;
            }
            while p < factor {
                frame[p] = sum1(shared_window::<1>(coefs, factor, p, window)[0]);
                p += 1;
            }
        }
    }

    /// See `super::direct_block`; a decimation by [`LANES`] in groups of 8 outputs sharing
    /// their loads ([`sliding`]), any other step in groups of 8 ([`shared_coefs`]);
    /// leftovers one by one.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn direct(coefs: &[Row], history: &[f32], step: usize, output: &mut [f32]) {
        if step == LANES {
            let (groups, rest) = output.as_chunks_mut::<8>();
            let mut m = 0;
            for out in groups {
                store(out, sum8(&sliding::<8>(coefs, &history[m * step..])));
                m += 8;
            }
            for y in rest {
                *y = sum1(shared_coefs::<1>(coefs, &history[m * step..], step)[0]);
                m += 1;
            }
            return;
        }
        let (groups, rest) = output.as_chunks_mut::<8>();
        let mut m = 0;
        for out in groups {
            store(
                out,
                sum8(&shared_coefs::<8>(coefs, &history[m * step..], step)),
            );
            m += 8;
        }
        for y in rest {
            *y = sum1(shared_coefs::<1>(coefs, &history[m * step..], step)[0]);
            m += 1;
        }
    }
}

/// Run the interpolator block with `kernel` (already checked available). `by_tap` is
/// [`taps_by_phase`] of `coefs` (read by the AVX2 kernel for a factor of [`LANES`]).
fn run_poly(
    kernel: Kernel,
    coefs: &[Row],
    by_tap: &[Row],
    taps_per_phase: usize,
    history: &[f32],
    output: &mut [f32],
    factor: usize,
) {
    match kernel {
        Kernel::Scalar => poly_block_scalar(coefs, taps_per_phase, history, output, factor),
        Kernel::Portable => {
            poly_block::<f32x8, PORTABLE_GROUP>(coefs, taps_per_phase, history, output, factor)
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel` is only `Avx2Fma` after `Kernel::or_best` confirmed with
        // `is_x86_feature_detected!` that this CPU has AVX2 and FMA.
        Kernel::Avx2Fma if factor == LANES && by_tap.len() == taps_per_phase => unsafe {
            avx2::poly_by_tap(by_tap, history, output)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Kernel::Avx2Fma => unsafe { avx2::poly(coefs, taps_per_phase, history, output, factor) },
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx2Fma => unreachable!("Avx2Fma is never available off x86-64"),
    }
}

/// The taps of an interpolator by [`LANES`] in the order the AVX2 tap-major kernel reads
/// them: `by_tap[i][p]` is tap `i` of phase `p` of `coefs` (laid out as in
/// [`PolyphaseInterpolator`]), so one row holds every phase's tap `i` and a frame of
/// [`LANES`] outputs is one vector sum with no horizontal reduction. Empty for any other
/// factor. Allocates (at construction).
pub(crate) fn taps_by_phase(coefs: &[Row], factor: usize) -> Vec<Row> {
    if factor != LANES {
        return Vec::new();
    }
    coefs
        .chunks_exact(LANES)
        .flat_map(|block| (0..LANES).map(move |i| std::array::from_fn(|p| block[p][i])))
        .collect()
}

/// Run the direct-form block with `kernel` (already checked available).
fn run_direct(kernel: Kernel, coefs: &[Row], history: &[f32], step: usize, output: &mut [f32]) {
    match kernel {
        Kernel::Scalar => direct_block_scalar(coefs, history, step, output),
        Kernel::Portable => direct_block::<f32x8, PORTABLE_GROUP>(coefs, history, step, output),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel` is only `Avx2Fma` after `Kernel::or_best` confirmed with
        // `is_x86_feature_detected!` that this CPU has AVX2 and FMA.
        Kernel::Avx2Fma => unsafe { avx2::direct(coefs, history, step, output) },
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx2Fma => unreachable!("Avx2Fma is never available off x86-64"),
    }
}

/// Frames of a polyphase interpolator over a caller's history, for other resamplers with
/// the same shape ([`super::fractional`]'s integer-ratio path). `coefs` is laid out as in
/// [`PolyphaseInterpolator`] (row r of phase p at `coefs[r·factor + p]`, `taps_per_phase /
/// LANES` rows per phase); output frame n (`factor` samples) is every phase against
/// `history[n .. n + taps_per_phase]`. Each phase is summed exactly as by
/// [`polyphase_phases`], so a frame split between the two gives bit-identical outputs.
/// `kernel` falls back to [`Kernel::best`] if unavailable.
pub(crate) fn polyphase_frames(
    kernel: Kernel,
    coefs: &[Row],
    by_tap: &[Row],
    taps_per_phase: usize,
    history: &[f32],
    output: &mut [f32],
    factor: usize,
) {
    run_poly(
        kernel.or_best(),
        coefs,
        by_tap,
        taps_per_phase,
        history,
        output,
        factor,
    );
}

/// Phases `first .. first + output.len()` of one polyphase frame (layout as in
/// [`polyphase_frames`]) against `window` (at least `taps_per_phase` samples).
pub(crate) fn polyphase_phases(
    kernel: Kernel,
    coefs: &[Row],
    by_tap: &[Row],
    factor: usize,
    window: &[f32],
    first: usize,
    output: &mut [f32],
) {
    let taps_per_phase = coefs.len() / factor * LANES;
    let kernel = kernel.or_best();
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx2Fma && factor == LANES && by_tap.len() == taps_per_phase {
        // SAFETY: `or_best` returned `Avx2Fma`, so `is_x86_feature_detected!` confirmed that
        // this CPU has AVX2 and FMA.
        unsafe { avx2::phases_by_tap(by_tap, &window[..taps_per_phase], first, output) };
        return;
    }
    let window = window[..taps_per_phase].as_chunks::<LANES>().0;
    match kernel {
        Kernel::Scalar => {
            for (i, y) in output.iter_mut().enumerate() {
                *y = scalar_phase(coefs, factor, first + i, window);
            }
        }
        Kernel::Portable => {
            for (i, y) in output.iter_mut().enumerate() {
                *y = dot_shared_window::<f32x8, 1>(coefs, factor, first + i, window)[0];
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `or_best` returned `Avx2Fma`, so `is_x86_feature_detected!` confirmed that
        // this CPU has AVX2 and FMA.
        Kernel::Avx2Fma => unsafe { avx2::phases(coefs, factor, window, first, output) },
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Avx2Fma => unreachable!("Avx2Fma is never available off x86-64"),
    }
}

/// Direct-form outputs over a caller's history (the shape of [`Decimator`] and [`Fir`]):
/// output m = the rows of `coefs` against `history[m·step .. m·step + coefs.len()·LANES]`.
/// Every output is summed in the same order whatever its group. `kernel` falls back to
/// [`Kernel::best`] if unavailable.
pub(crate) fn direct_frames(
    kernel: Kernel,
    coefs: &[Row],
    history: &[f32],
    step: usize,
    output: &mut [f32],
) {
    run_direct(kernel.or_best(), coefs, history, step, output);
}

/// A linear input history that slides: the last `keep` inputs, then room for a block. A
/// block is written after the window's start, processed, and the start moves past it; only
/// when the room runs out are the last `keep` inputs moved back to the front. So a host's
/// small blocks do not each move the whole history (a 737-tap decimator fed one host frame
/// at a time moved 736 samples per frame), and no window ever wraps.
#[derive(Debug, Clone)]
struct History {
    buf: Vec<f32>,
    keep: usize,
    max_block: usize,
    start: usize,
}

impl History {
    fn new(keep: usize, max_block: usize) -> Self {
        // Room for blocks beyond the first, so the move happens once per
        // `slack / block` blocks (at least 4096 samples or 4 windows).
        let slack = (4 * keep).max(4096);
        Self {
            buf: vec![0.0; keep + max_block + slack],
            keep,
            max_block,
            start: 0,
        }
    }

    /// Append a block (≤ `max_block` samples) after the window.
    fn push(&mut self, block: &[f32]) {
        let at = self.start + self.keep;
        self.buf[at..at + block.len()].copy_from_slice(block);
    }

    /// The window: `keep` past inputs, then the block pushed last.
    fn window(&self) -> &[f32] {
        &self.buf[self.start..]
    }

    /// Move past a block of `len` samples; make room for the next block if needed.
    fn advance(&mut self, len: usize) {
        self.start += len;
        if self.start + self.keep + self.max_block > self.buf.len() {
            self.buf.copy_within(self.start..self.start + self.keep, 0);
            self.start = 0;
        }
    }

    fn reset(&mut self) {
        self.buf.fill(0.0);
        self.start = 0;
    }
}

/// `h` rounded to `f32`, reversed, in a zero row of `len` (≥ h.len()) so that
/// `row[len − 1 − k] = h[k]`: the zeros (if any) come first and meet the oldest samples.
fn reversed_row(h: &[f64], len: usize) -> Vec<f32> {
    let mut row = vec![0.0f32; len];
    for (k, &c) in h.iter().enumerate() {
        row[len - 1 - k] = c as f32;
    }
    row
}

/// An empty design is treated as the identity `[1.0]`.
fn non_empty(h: &[f64]) -> &[f64] {
    if h.is_empty() {
        &[1.0]
    } else {
        h
    }
}

/// Polyphase interpolator by an integer `factor` (fs → factor·fs): the result of zero-stuffing
/// the input (factor − 1 zeros after each sample) and filtering with `h` at the high rate,
/// computed without the multiplications by zero. Phase p of output frame n is
/// y[n·factor + p] = Σ_k h[p + factor·k]·x[n − k].
///
/// Use a design scaled by `factor` ([`super::design::interpolation_filter`]) for unity
/// passband gain.
#[derive(Debug, Clone)]
pub struct PolyphaseInterpolator {
    factor: usize,
    taps: usize,
    taps_per_phase: usize,
    max_block: usize,
    kernel: Kernel,
    /// `taps_per_phase / LANES` rows for each of the `factor` phases, row-major: row r of
    /// phase p (which holds h[p + factor·k] reversed and front-padded) is
    /// `coefs[r·factor + p]`, so the phases computed together are adjacent in memory.
    coefs: Vec<Row>,
    /// [`taps_by_phase`] of `coefs` (empty unless `factor` = [`LANES`]).
    by_tap: Vec<Row>,
    /// `taps_per_phase − 1` samples of past input, then room for blocks.
    history: History,
}

impl PolyphaseInterpolator {
    /// Split the high-rate design `h` into `factor` phases (each padded to a multiple of
    /// [`LANES`] and reversed) and allocate the history for blocks of up to
    /// `max_input_block` input frames. `factor` and `max_input_block` are clamped to ≥ 1;
    /// an empty `h` acts as `[1.0]`. Runs [`Kernel::best`].
    pub fn new(h: &[f64], factor: usize, max_input_block: usize) -> Self {
        let h = non_empty(h);
        let factor = factor.max(1);
        let max_block = max_input_block.max(1);
        let taps_per_phase = padded(h.len().div_ceil(factor));
        let rows = taps_per_phase / LANES;
        // Each phase reversed and padded (zeros first = against the oldest inputs) ...
        let phase_rows: Vec<Vec<f32>> = (0..factor)
            .map(|phase| {
                let branch: Vec<f64> = h.iter().skip(phase).step_by(factor).copied().collect();
                reversed_row(&branch, taps_per_phase)
            })
            .collect();
        // ... then interleaved row-major: row r of phase p at `coefs[r·factor + p]`.
        let mut coefs = Vec::with_capacity(rows * factor);
        for r in 0..rows {
            for phase in &phase_rows {
                coefs.push(*row_at(phase, r * LANES));
            }
        }
        Self {
            factor,
            taps: h.len(),
            taps_per_phase,
            max_block,
            kernel: Kernel::best(),
            by_tap: taps_by_phase(&coefs, factor),
            coefs,
            history: History::new(taps_per_phase - 1, max_block),
        }
    }

    /// Choose the kernel [`Self::process`] runs (an unavailable one falls back to
    /// [`Kernel::best`]); returns the kernel in use.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        self.kernel = kernel.or_best();
        self.kernel
    }

    /// The kernel [`Self::process`] runs.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Interpolate `input` into `output` (`output.len() == input.len() * factor`) with the
    /// selected kernel. Never allocates. If the lengths disagree, only
    /// `min(input.len(), output.len() / factor)` frames are processed and the rest of
    /// `output` is zeroed.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) {
        self.process_with(self.kernel, input, output);
    }

    /// [`Self::process`] with the scalar reference kernel ([`dot_scalar`]); same state.
    pub fn process_scalar(&mut self, input: &[f32], output: &mut [f32]) {
        self.process_with(Kernel::Scalar, input, output);
    }

    fn process_with(&mut self, kernel: Kernel, input: &[f32], output: &mut [f32]) {
        let factor = self.factor;
        let frames = input.len().min(output.len() / factor);
        let (used, rest) = output.split_at_mut(frames * factor);
        for (block_in, block_out) in input[..frames]
            .chunks(self.max_block)
            .zip(used.chunks_mut(self.max_block * factor))
        {
            self.history.push(block_in);
            run_poly(
                kernel,
                &self.coefs,
                &self.by_tap,
                self.taps_per_phase,
                self.history.window(),
                block_out,
                factor,
            );
            self.history.advance(block_in.len());
        }
        rest.fill(0.0);
    }

    /// Clear the history (silence before the next input).
    pub fn reset(&mut self) {
        self.history.reset();
    }

    /// Delay of a linear-phase design in OUTPUT (high-rate) samples: (N − 1)/2 for N taps.
    /// For a minimum-phase design this is not the delay: measure it with
    /// [`super::design::group_delay`] at the frequency of interest.
    pub fn latency_out_samples(&self) -> f64 {
        (self.taps - 1) as f64 / 2.0
    }

    /// Coefficients per phase after padding to a multiple of [`LANES`]
    /// (= multiply-adds per output sample).
    pub fn taps_per_phase(&self) -> usize {
        self.taps_per_phase
    }

    /// The interpolation factor.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Length of the design this was built from.
    pub fn taps(&self) -> usize {
        self.taps
    }

    /// Largest input block processed in one piece (longer calls are split).
    pub fn max_input_block(&self) -> usize {
        self.max_block
    }
}

/// Direct-form FIR state shared by [`Decimator`] and [`Fir`]: one reversed, padded row set
/// and a linear history. Output m of a block is the dot product of the rows with the window
/// ending at input m·step.
#[derive(Debug, Clone)]
struct Direct {
    taps: usize,
    padded_taps: usize,
    max_block: usize,
    kernel: Kernel,
    coefs: Vec<Row>,
    history: History,
}

impl Direct {
    fn new(h: &[f64], max_block: usize) -> Self {
        let h = non_empty(h);
        let padded_taps = padded(h.len());
        let row = reversed_row(h, padded_taps);
        Self {
            taps: h.len(),
            padded_taps,
            max_block,
            kernel: Kernel::best(),
            coefs: row.as_chunks::<LANES>().0.to_vec(),
            history: History::new(padded_taps - 1, max_block),
        }
    }

    /// Filter one block (≤ `max_block` inputs): append it to the history, compute
    /// `output.len()` outputs `step` inputs apart, keep the last `padded_taps − 1` inputs.
    /// `output` may alias nothing, so the in-place FIR copies its block in first.
    fn block(&mut self, kernel: Kernel, input_len: usize, step: usize, output: &mut [f32]) {
        run_direct(kernel, &self.coefs, self.history.window(), step, output);
        self.history.advance(input_len);
    }

    fn load(&mut self, input: &[f32]) {
        self.history.push(input);
    }

    fn reset(&mut self) {
        self.history.reset();
    }
}

/// Decimator by an integer `factor` (factor·fs → fs): filtering with `h` at the high rate,
/// then keeping every factor-th sample — only the kept outputs are computed:
/// y[m] = Σ_k h[k]·x[m·factor − k].
///
/// Blocks are whole output frames: `input.len() == output.len() * factor`.
#[derive(Debug, Clone)]
pub struct Decimator {
    factor: usize,
    direct: Direct,
}

impl Decimator {
    /// Build from the high-rate design `h` (unity DC gain: [`super::design::design_lowpass`]
    /// at the high rate) for input blocks of up to `max_input_block` high-rate samples
    /// (rounded up to a multiple of `factor`). `factor` is clamped to ≥ 1; an empty `h`
    /// acts as `[1.0]`. Runs [`Kernel::best`].
    pub fn new(h: &[f64], factor: usize, max_input_block: usize) -> Self {
        let factor = factor.max(1);
        let max_block = max_input_block.max(1).div_ceil(factor) * factor;
        Self {
            factor,
            direct: Direct::new(h, max_block),
        }
    }

    /// Choose the kernel [`Self::process`] runs (an unavailable one falls back to
    /// [`Kernel::best`]); returns the kernel in use.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        self.direct.kernel = kernel.or_best();
        self.direct.kernel
    }

    /// The kernel [`Self::process`] runs.
    pub fn kernel(&self) -> Kernel {
        self.direct.kernel
    }

    /// Decimate `input` into `output` (`input.len() == output.len() * factor`) with the
    /// selected kernel. Never allocates. If the lengths disagree, only
    /// `min(output.len(), input.len() / factor)` frames are produced and the rest of
    /// `output` is zeroed; input beyond them is ignored.
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) {
        self.process_with(self.direct.kernel, input, output);
    }

    /// [`Self::process`] with the scalar reference kernel ([`dot_scalar`]); same state.
    pub fn process_scalar(&mut self, input: &[f32], output: &mut [f32]) {
        self.process_with(Kernel::Scalar, input, output);
    }

    fn process_with(&mut self, kernel: Kernel, input: &[f32], output: &mut [f32]) {
        let factor = self.factor;
        let frames = output.len().min(input.len() / factor);
        let (used, rest) = output.split_at_mut(frames);
        let max_block = self.direct.max_block;
        for (block_in, block_out) in input[..frames * factor]
            .chunks(max_block)
            .zip(used.chunks_mut(max_block / factor))
        {
            self.direct.load(block_in);
            self.direct.block(kernel, block_in.len(), factor, block_out);
        }
        rest.fill(0.0);
    }

    /// Clear the history.
    pub fn reset(&mut self) {
        self.direct.reset();
    }

    /// Delay of a linear-phase design in OUTPUT (low-rate) samples: (N − 1)/(2·factor).
    pub fn latency_out_samples(&self) -> f64 {
        (self.direct.taps - 1) as f64 / (2.0 * self.factor as f64)
    }

    /// Coefficients after padding to a multiple of [`LANES`] (= multiply-adds per output).
    pub fn padded_taps(&self) -> usize {
        self.direct.padded_taps
    }

    /// The decimation factor.
    pub fn factor(&self) -> usize {
        self.factor
    }
}

/// Single-rate FIR, processed in place: y[n] = Σ_k h[k]·x[n − k].
#[derive(Debug, Clone)]
pub struct Fir {
    direct: Direct,
}

impl Fir {
    /// Build from `h` for blocks of up to `max_block` samples (clamped to ≥ 1); an empty `h`
    /// acts as `[1.0]`. Runs [`Kernel::best`].
    pub fn new(h: &[f64], max_block: usize) -> Self {
        Self {
            direct: Direct::new(h, max_block.max(1)),
        }
    }

    /// Choose the kernel [`Self::process`] runs (an unavailable one falls back to
    /// [`Kernel::best`]); returns the kernel in use.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        self.direct.kernel = kernel.or_best();
        self.direct.kernel
    }

    /// The kernel [`Self::process`] runs.
    pub fn kernel(&self) -> Kernel {
        self.direct.kernel
    }

    /// Filter `in_out` in place with the selected kernel. Never allocates.
    pub fn process(&mut self, in_out: &mut [f32]) {
        self.process_with(self.direct.kernel, in_out);
    }

    /// [`Self::process`] with the scalar reference kernel ([`dot_scalar`]); same state.
    pub fn process_scalar(&mut self, in_out: &mut [f32]) {
        self.process_with(Kernel::Scalar, in_out);
    }

    fn process_with(&mut self, kernel: Kernel, in_out: &mut [f32]) {
        let max_block = self.direct.max_block;
        for block in in_out.chunks_mut(max_block) {
            // The block is copied into the history first, so it can then be overwritten.
            self.direct.load(block);
            let len = block.len();
            self.direct.block(kernel, len, 1, block);
        }
    }

    /// Clear the history.
    pub fn reset(&mut self) {
        self.direct.reset();
    }

    /// Delay of a linear-phase design: (N − 1)/2 samples.
    pub fn latency_samples(&self) -> f64 {
        (self.direct.taps - 1) as f64 / 2.0
    }

    /// Coefficients after padding to a multiple of [`LANES`] (= multiply-adds per sample).
    pub fn padded_taps(&self) -> usize {
        self.direct.padded_taps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::design::{
        design_lowpass, interpolation_filter, kaiser_window, measure_lowpass, LowpassSpec,
    };
    use std::f64::consts::PI;

    /// Deterministic uniform noise in [−1, 1) (64-bit LCG, Knuth's MMIX constants).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn vec(&mut self, len: usize) -> Vec<f32> {
            (0..len).map(|_| self.next()).collect()
        }
    }

    /// A short interpolation design for the equivalence tests (fast to design, enough taps
    /// to exercise several SIMD rows and the 4-accumulator loop).
    fn small_spec(factor: usize) -> LowpassSpec {
        let fs = 48_000.0 * factor as f64;
        LowpassSpec {
            passband_hz: 18_000.0,
            stopband_hz: 26_000.0,
            stopband_db: 90.0,
            sample_rate: fs,
        }
    }

    /// Reference: zero-stuff, then full-rate convolution with f64 coefficients, in f64.
    fn reference_interpolate(h: &[f64], factor: usize, x: &[f32]) -> Vec<f64> {
        let mut stuffed = vec![0.0; x.len() * factor];
        for (i, &v) in x.iter().enumerate() {
            stuffed[i * factor] = f64::from(v);
        }
        convolve(h, &stuffed)
    }

    /// Causal convolution truncated to the input length, in f64.
    fn convolve(h: &[f64], x: &[f64]) -> Vec<f64> {
        (0..x.len())
            .map(|n| {
                h.iter()
                    .enumerate()
                    .take(n + 1)
                    .map(|(k, c)| c * x[n - k])
                    .sum()
            })
            .collect()
    }

    /// max |a − b| / max |b|.
    fn rel_error(a: &[f32], b: &[f64]) -> f64 {
        let err = a
            .iter()
            .zip(b)
            .map(|(x, y)| (f64::from(*x) - y).abs())
            .fold(0.0, f64::max);
        let peak = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
        err / peak
    }

    #[test]
    fn dot_simd_matches_scalar() {
        let mut rng = Lcg(1);
        let mut worst_cond = 0.0f64;
        let mut worst_rel = 0.0f64;
        for len in (0..300).chain([551, 856, 1024]) {
            let a = rng.vec(len);
            let b = rng.vec(len);
            let exact: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            let abs_sum: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (f64::from(*x) * f64::from(*y)).abs())
                .sum();
            let simd = f64::from(dot_simd(&a, &b));
            let scalar = f64::from(dot_scalar(&a, &b));
            // The scalar reference is f64-accumulated: exact up to its final f32 rounding.
            assert!((scalar - exact).abs() <= f64::from(f32::EPSILON) * exact.abs() + 1e-30);
            if len > 0 {
                let cond = (simd - scalar).abs() / abs_sum;
                worst_cond = worst_cond.max(cond);
                if exact.abs() > 0.1 * abs_sum {
                    worst_rel = worst_rel.max((simd - scalar).abs() / exact.abs());
                }
            }
        }
        println!(
            "dot SIMD vs scalar: max |Δ|/Σ|a·b| = {worst_cond:.2e}, max |Δ|/|a·b| = \
             {worst_rel:.2e} (where |a·b| > 0.1·Σ|a·b|)"
        );
        assert!(worst_cond <= 1e-6, "{worst_cond}");
        assert!(worst_rel <= 1e-6, "{worst_rel}");
    }

    /// Every kernel this CPU runs, the scalar reference first.
    fn kernels() -> Vec<Kernel> {
        [Kernel::Scalar, Kernel::Portable, Kernel::Avx2Fma]
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    #[test]
    fn interpolator_matches_zero_stuff_convolution() {
        let mut rng = Lcg(2);
        for &factor in &[1usize, 2, 3, 4, 8] {
            let h = interpolation_filter(factor, &small_spec(factor));
            let x = rng.vec(700);
            let reference = reference_interpolate(&h, factor, &x);
            let mut interp = PolyphaseInterpolator::new(&h, factor, 256);
            for kernel in kernels() {
                assert_eq!(interp.set_kernel(kernel), kernel);
                interp.reset();
                let mut y = vec![0.0; x.len() * factor];
                interp.process(&x, &mut y);
                let err = rel_error(&y, &reference);
                println!(
                    "interpolator ×{factor}, {} taps ({} per phase), {kernel:?}: max |Δ|/peak \
                     vs f64 reference {err:.2e}",
                    h.len(),
                    interp.taps_per_phase()
                );
                assert!(err <= 1e-6, "{err}");
            }
        }
    }

    #[test]
    fn decimator_matches_convolution_then_keep() {
        let mut rng = Lcg(3);
        for &factor in &[1usize, 2, 3, 4, 8] {
            let h = design_lowpass(&small_spec(factor));
            // 721 outputs: not a multiple of any group size, so the leftover path runs too.
            let x = &rng.vec(721 * factor)[..];
            let full = convolve(&h, &x.iter().map(|v| f64::from(*v)).collect::<Vec<_>>());
            let reference: Vec<f64> = full.iter().step_by(factor).copied().collect();
            let mut dec = Decimator::new(&h, factor, 256);
            for kernel in kernels() {
                assert_eq!(dec.set_kernel(kernel), kernel);
                dec.reset();
                let mut y = vec![0.0; x.len() / factor];
                dec.process(x, &mut y);
                let err = rel_error(&y, &reference);
                println!(
                    "decimator ÷{factor}, {} taps, {kernel:?}: max |Δ|/peak vs f64 reference \
                     {err:.2e}",
                    h.len()
                );
                assert!(err <= 1e-6, "{err}");
            }
        }
    }

    #[test]
    fn fir_matches_convolution() {
        let mut rng = Lcg(4);
        let h = design_lowpass(&small_spec(2));
        let x = rng.vec(1503);
        let reference = convolve(&h, &x.iter().map(|v| f64::from(*v)).collect::<Vec<_>>());
        let mut fir = Fir::new(&h, 512);
        for kernel in kernels() {
            assert_eq!(fir.set_kernel(kernel), kernel);
            fir.reset();
            let mut y = x.clone();
            fir.process(&mut y);
            let err = rel_error(&y, &reference);
            println!(
                "fir {} taps, {kernel:?}: max |Δ|/peak vs f64 reference {err:.2e}",
                h.len()
            );
            assert!(err <= 1e-6, "{err}");
        }
    }

    /// The SIMD kernels of every struct against the scalar path, sample by sample, on the
    /// 100 dB 8× design with noise input.
    ///
    /// The error of a dot product is measured relative to Σ|h[k]·x[n−k]|, the scale any
    /// summation order's rounding error is proportional to (|y| itself can be arbitrarily
    /// small through cancellation). Σ|h·x| comes from the same struct type run with |h| on
    /// |x|, through the f64-accumulated scalar path. Error relative to the signal peak is
    /// printed too.
    #[test]
    fn simd_equals_scalar_on_every_struct() {
        let mut rng = Lcg(5);
        let spec = LowpassSpec {
            passband_hz: 20_000.0,
            stopband_hz: 24_100.0,
            stopband_db: 100.0,
            sample_rate: 352_800.0,
        };
        let h = interpolation_filter(8, &spec);
        let h_dec: Vec<f64> = h.iter().map(|c| c / 8.0).collect();
        let abs = |v: &[f64]| v.iter().map(|c| c.abs()).collect::<Vec<_>>();
        let x = rng.vec(2048);
        let xd = rng.vec(8 * 2048);
        let x_abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let xd_abs: Vec<f32> = xd.iter().map(|v| v.abs()).collect();
        // (max |Δ|/Σ|h·x|, max |Δ|/peak)
        let compare = |a: &[f32], b: &[f32], scale: &[f32]| {
            let peak = b.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            let mut of_scale = 0.0f64;
            let mut of_peak = 0.0f64;
            for ((x, y), s) in a.iter().zip(b).zip(scale) {
                let d = f64::from((x - y).abs());
                of_scale = of_scale.max(d / f64::from(*s).max(1e-30));
                of_peak = of_peak.max(d / f64::from(peak));
            }
            (of_scale, of_peak)
        };

        let mut y_ref = vec![0.0; 2048 * 8];
        PolyphaseInterpolator::new(&h, 8, 512).process_scalar(&x, &mut y_ref);
        let mut y_scale = vec![0.0; 2048 * 8];
        PolyphaseInterpolator::new(&abs(&h), 8, 512).process_scalar(&x_abs, &mut y_scale);
        let mut d_ref = vec![0.0; 2048];
        Decimator::new(&h_dec, 8, 4096).process_scalar(&xd, &mut d_ref);
        let mut d_scale = vec![0.0; 2048];
        Decimator::new(&abs(&h_dec), 8, 4096).process_scalar(&xd_abs, &mut d_scale);
        let mut f_ref = xd.clone();
        Fir::new(&h_dec, 512).process_scalar(&mut f_ref);
        let mut f_scale = xd_abs.clone();
        Fir::new(&abs(&h_dec), 512).process_scalar(&mut f_scale);

        for kernel in kernels().into_iter().skip(1) {
            let mut interp = PolyphaseInterpolator::new(&h, 8, 512);
            interp.set_kernel(kernel);
            let mut y = vec![0.0; 2048 * 8];
            interp.process(&x, &mut y);
            let e_interp = compare(&y, &y_ref, &y_scale);

            let mut dec = Decimator::new(&h_dec, 8, 4096);
            dec.set_kernel(kernel);
            let mut d = vec![0.0; 2048];
            dec.process(&xd, &mut d);
            let e_dec = compare(&d, &d_ref, &d_scale);

            let mut fir = Fir::new(&h_dec, 512);
            fir.set_kernel(kernel);
            let mut f = xd.clone();
            fir.process(&mut f);
            let e_fir = compare(&f, &f_ref, &f_scale);
            println!(
                "{kernel:?} vs scalar, {} taps, max |Δ|/Σ|h·x| (max |Δ|/peak): interpolator \
                 {:.2e} ({:.2e}), decimator {:.2e} ({:.2e}), fir {:.2e} ({:.2e})",
                h.len(),
                e_interp.0,
                e_interp.1,
                e_dec.0,
                e_dec.1,
                e_fir.0,
                e_fir.1
            );
            for e in [e_interp, e_dec, e_fir] {
                assert!(e.0 <= 1e-6 && e.1 <= 1e-6, "{kernel:?}: {e:?}");
            }
        }
    }

    #[test]
    fn dot_kernels_agree_with_the_scalar_reference() {
        let mut rng = Lcg(8);
        for len in (0..70).chain([255, 256, 1000]) {
            let a = rng.vec(len);
            let b = rng.vec(len + 3); // longer: only the common length counts
            let reference = dot_scalar(&a, &b);
            let scale: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from((x * y).abs()))
                .sum::<f64>()
                .max(1e-30);
            for kernel in kernels() {
                let d = dot(kernel, &a, &b);
                let err = f64::from((d - reference).abs()) / scale;
                assert!(err <= 1e-6, "{kernel:?}, length {len}: {d} vs {reference}");
            }
        }
    }

    /// The crate helpers used by other resamplers: whole frames and single phases of the
    /// same frame must give the same bits, for every kernel.
    #[test]
    fn polyphase_phases_equal_polyphase_frames_bit_for_bit() {
        let mut rng = Lcg(9);
        for factor in [1usize, 2, 3, 4, 8] {
            let h = interpolation_filter(factor.max(2), &small_spec(factor.max(2)));
            let interp = PolyphaseInterpolator::new(&h, factor, 64);
            let taps = interp.taps_per_phase();
            let frames = 37;
            let history = rng.vec(frames - 1 + taps);
            for kernel in kernels() {
                let mut whole = vec![0.0; frames * factor];
                polyphase_frames(
                    kernel,
                    &interp.coefs,
                    &interp.by_tap,
                    taps,
                    &history,
                    &mut whole,
                    factor,
                );
                for n in 0..frames {
                    let window = &history[n..n + taps];
                    for first in 0..factor {
                        let mut part = vec![0.0; factor - first];
                        polyphase_phases(
                            kernel,
                            &interp.coefs,
                            &interp.by_tap,
                            factor,
                            window,
                            first,
                            &mut part,
                        );
                        assert_eq!(
                            part,
                            whole[n * factor + first..(n + 1) * factor],
                            "{kernel:?}, factor {factor}, frame {n}, from phase {first}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn best_kernel_is_available_and_fallback_works() {
        let best = Kernel::best();
        assert!(best.is_available());
        assert_ne!(best, Kernel::Scalar);
        let mut fir = Fir::new(&[0.5, 0.5], 16);
        assert_eq!(fir.kernel(), best);
        let chosen = fir.set_kernel(Kernel::Avx2Fma);
        assert!(chosen == Kernel::Avx2Fma || chosen == Kernel::Portable);
        println!("best kernel on this CPU: {best:?}");
    }

    /// Block sizes used by the split-block tests: the list, then a varying pattern.
    fn block_pattern() -> Vec<usize> {
        let mut sizes = vec![1, 7, 64, 512];
        sizes.extend((0..40).map(|i| (i * 37 + 5) % 300 + 1));
        sizes
    }

    #[test]
    fn split_blocks_equal_one_block() {
        let mut rng = Lcg(6);
        let factor = 8;
        let h = interpolation_filter(factor, &small_spec(factor));
        let h_dec = design_lowpass(&small_spec(factor));
        let sizes = block_pattern();
        let total: usize = sizes.iter().sum();
        let x = rng.vec(total);
        let xd = rng.vec(total * factor);

        for kernel in kernels() {
            // Interpolator (the whole signal is one call, split internally at max_block).
            let mut whole = vec![0.0; total * factor];
            let mut interp = PolyphaseInterpolator::new(&h, factor, 512);
            interp.set_kernel(kernel);
            interp.process(&x, &mut whole);
            interp.reset();
            let mut split = vec![0.0; total * factor];
            let mut pos = 0;
            for &n in &sizes {
                interp.process(
                    &x[pos..pos + n],
                    &mut split[pos * factor..(pos + n) * factor],
                );
                pos += n;
            }
            assert_eq!(whole, split, "interpolator {kernel:?}");

            // Decimator: blocks of whole output frames.
            let mut whole = vec![0.0; total];
            let mut dec = Decimator::new(&h_dec, factor, 4096);
            dec.set_kernel(kernel);
            dec.process(&xd, &mut whole);
            dec.reset();
            let mut split = vec![0.0; total];
            let mut pos = 0;
            for &n in &sizes {
                dec.process(
                    &xd[pos * factor..(pos + n) * factor],
                    &mut split[pos..pos + n],
                );
                pos += n;
            }
            assert_eq!(whole, split, "decimator {kernel:?}");

            // Single-rate FIR.
            let mut whole = x.clone();
            let mut fir = Fir::new(&h_dec, 512);
            fir.set_kernel(kernel);
            fir.process(&mut whole);
            fir.reset();
            let mut split = x.clone();
            let mut pos = 0;
            for &n in &sizes {
                fir.process(&mut split[pos..pos + n]);
                pos += n;
            }
            assert_eq!(whole, split, "fir {kernel:?}");
        }
    }

    #[test]
    fn reset_reproduces_output() {
        let mut rng = Lcg(7);
        let h = interpolation_filter(4, &small_spec(4));
        let x = rng.vec(600);
        let mut interp = PolyphaseInterpolator::new(&h, 4, 128);
        let mut first = vec![0.0; 2400];
        interp.process(&x, &mut first);
        let mut second = vec![0.0; 2400];
        interp.reset();
        interp.process(&x, &mut second);
        assert_eq!(first, second);

        let mut dec = Decimator::new(&h, 4, 128);
        let mut first = vec![0.0; 150];
        dec.process(&x, &mut first);
        dec.reset();
        let mut second = vec![0.0; 150];
        dec.process(&x, &mut second);
        assert_eq!(first, second);

        let mut fir = Fir::new(&h, 128);
        let mut first = x.clone();
        fir.process(&mut first);
        fir.reset();
        let mut second = x.clone();
        fir.process(&mut second);
        assert_eq!(first, second);
    }

    #[test]
    fn mismatched_lengths_are_clamped() {
        let h = interpolation_filter(2, &small_spec(2));
        let mut interp = PolyphaseInterpolator::new(&h, 2, 64);
        let mut out = vec![1.0; 9];
        interp.process(&[1.0; 10], &mut out);
        assert_eq!(out[8], 0.0);
        let mut dec = Decimator::new(&h, 2, 64);
        let mut out = vec![1.0; 10];
        dec.process(&[1.0; 9], &mut out);
        assert!(out[4..].iter().all(|v| *v == 0.0));
        // Empty design = identity.
        let mut fir = Fir::new(&[], 4);
        let mut x = [0.5, -0.25, 1.0];
        fir.process(&mut x);
        assert_eq!(x, [0.5, -0.25, 1.0]);
    }

    #[test]
    fn impulse_peak_at_reported_latency() {
        let spec = LowpassSpec {
            passband_hz: 20_000.0,
            stopband_hz: 24_100.0,
            stopband_db: 100.0,
            sample_rate: 352_800.0,
        };
        let h = interpolation_filter(8, &spec);
        let mut interp = PolyphaseInterpolator::new(&h, 8, 512);
        let mut x = vec![0.0; 256];
        x[0] = 1.0;
        let mut y = vec![0.0; 256 * 8];
        interp.process(&x, &mut y);
        let peak = y
            .iter()
            .enumerate()
            .fold(
                (0, 0.0f32),
                |m, (i, v)| if v.abs() > m.1 { (i, v.abs()) } else { m },
            )
            .0;
        println!(
            "interpolator impulse peak at {peak}, latency_out_samples {}",
            interp.latency_out_samples()
        );
        assert_eq!(peak as f64, interp.latency_out_samples());

        let mut dec = Decimator::new(&design_lowpass(&spec), 8, 4096);
        // An impulse at high-rate sample 8·d lands entirely on output frame d + latency.
        let mut xd = vec![0.0; 4096];
        xd[0] = 1.0;
        let mut yd = vec![0.0; 512];
        dec.process(&xd, &mut yd);
        let peak = yd
            .iter()
            .enumerate()
            .fold(
                (0, 0.0f32),
                |m, (i, v)| if v.abs() > m.1 { (i, v.abs()) } else { m },
            )
            .0;
        assert!((peak as f64 - dec.latency_out_samples()).abs() <= 0.5);
    }

    /// Amplitude of the component at `freq_hz` in `y`, by a Kaiser-windowed (β = 20,
    /// sidelobes ≈ −190 dB) single-bin DFT at the exact frequency, normalised by the window
    /// sum: a sine of amplitude A reads A, and tones more than a few main-lobe widths away
    /// leak below −180 dB.
    fn tone_amplitude(y: &[f32], window: &[f64], freq_hz: f64, sample_rate: f64) -> f64 {
        let omega = 2.0 * PI * freq_hz / sample_rate;
        let (mut re, mut im) = (0.0, 0.0);
        for (n, (v, w)) in y.iter().zip(window).enumerate() {
            let (s, c) = (omega * n as f64).sin_cos();
            re += f64::from(*v) * w * c;
            im -= f64::from(*v) * w * s;
        }
        2.0 * (re * re + im * im).sqrt() / window.iter().sum::<f64>()
    }

    #[test]
    fn sine_through_8x_keeps_level_and_kills_images() {
        let fs = 44_100.0;
        let factor = 8;
        let spec = LowpassSpec {
            passband_hz: 20_000.0,
            stopband_hz: 24_100.0,
            stopband_db: 120.0,
            sample_rate: fs * factor as f64,
        };
        let h = interpolation_filter(factor, &spec);
        let measured = measure_lowpass(&h, &spec);
        let amplitude = 0.5;
        let tone_hz = 1_000.0;
        let frames = 12_288;
        let x: Vec<f32> = (0..frames)
            .map(|n| (amplitude * (2.0 * PI * tone_hz * n as f64 / fs).sin()) as f32)
            .collect();
        let mut interp = PolyphaseInterpolator::new(&h, factor, 512);
        let mut y = vec![0.0; frames * factor];
        for (block_in, block_out) in x.chunks(512).zip(y.chunks_mut(512 * factor)) {
            interp.process(block_in, block_out);
        }
        // Skip the start-up transient (one filter length), analyse 2^16 samples.
        let analysed = &y[h.len()..h.len() + 65_536];
        let window = kaiser_window(analysed.len(), 20.0);
        let high = spec.sample_rate;
        let level_db =
            20.0 * (tone_amplitude(analysed, &window, tone_hz, high) / amplitude).log10();
        let mut worst_image_db = f64::NEG_INFINITY;
        let mut worst_image_hz = 0.0;
        for k in 1..=factor / 2 {
            for image_hz in [k as f64 * fs - tone_hz, k as f64 * fs + tone_hz] {
                if image_hz < high / 2.0 {
                    let a = tone_amplitude(analysed, &window, image_hz, high);
                    let db = 20.0 * (a / amplitude).log10();
                    if db > worst_image_db {
                        worst_image_db = db;
                        worst_image_hz = image_hz;
                    }
                }
            }
        }
        println!(
            "8× sine: {} taps (design stopband {:.1} dB), 1 kHz level {level_db:+.6} dB, worst \
             image {worst_image_db:.1} dB at {worst_image_hz} Hz",
            h.len(),
            measured.stopband_db
        );
        assert!(level_db.abs() <= 0.01, "{level_db}");
        assert!(worst_image_db <= -120.0, "{worst_image_db}");
    }

    /// The f32 rounding of the coefficients is the floor of the run-time stopband: check that
    /// it does not eat the designed attenuation of the 100/150 dB 8× designs.
    #[test]
    fn f32_coefficients_keep_stopband() {
        for &db in &[100.0, 150.0] {
            let spec = LowpassSpec {
                passband_hz: 20_000.0,
                stopband_hz: 24_100.0,
                stopband_db: db,
                sample_rate: 352_800.0,
            };
            let h = design_lowpass(&spec);
            let rounded: Vec<f64> = h.iter().map(|c| f64::from(*c as f32)).collect();
            let m64 = measure_lowpass(&h, &spec);
            let m32 = measure_lowpass(&rounded, &spec);
            println!(
                "{db} dB design, {} taps: stopband f64 {:.1} dB, f32-rounded {:.1} dB",
                h.len(),
                m64.stopband_db,
                m32.stopband_db
            );
            assert!(m32.stopband_db >= db - 3.0, "{m32:?}");
        }
    }
}
