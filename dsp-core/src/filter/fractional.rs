//! Arbitrary-ratio resampling with a tabulated continuous kernel.
//!
//! An output sample at input time `t` (in input samples, fractional) is
//! `y(t) = Σₙ x[n]·k(t − n)` over the 2W input samples around `t`. The kernel `k` is any
//! continuous function with support (−W, W): a windowed sinc for band-limited rate
//! conversion, or [`hold_kernel`] — a band-limited rectangle — for a zero-order hold seen
//! at a higher rate. `k` is sampled into `phases + 1` rows (one per fraction of an input
//! sample), and between two rows the output is interpolated linearly; since `y` is linear in
//! the coefficients, that is two SIMD dot products and a lerp per output sample. When the
//! output times fall on table rows exactly (an integer ratio that divides `phases`), no
//! interpolation happens at all.
//!
//! An integer upsampling ratio (step = 1/L — the hold into the analog domain, L = K/M) has
//! only L distinct output fractions, so their interpolated rows are made once and the
//! resampler runs as an L-phase polyphase FIR on [`fir`]'s kernels (AVX2+FMA where the CPU
//! has it): one dot product per output, and one window load shared by the L phases.
//!
//! Streaming is push/pull: [`FractionalResampler::push`] appends input, and
//! [`FractionalResampler::pull`] produces output while the input it needs is there. The
//! first output sits at input time `−delay`, so the resampler's delay is `delay` input
//! samples (plus the kernel's own centre, which for the symmetric kernels here is 0).

use super::design::bessel_i0;
use super::fir::{self, Kernel, LANES};
use std::sync::Arc;

/// Eight-point Gauss–Legendre nodes and weights on [−1, 1].
const GL_NODES: [f64; 4] = [
    0.183_434_642_495_649_8,
    0.525_532_409_916_329,
    0.796_666_477_413_626_7,
    0.960_289_856_497_536_3,
];
const GL_WEIGHTS: [f64; 4] = [
    0.362_683_783_378_362,
    0.313_706_645_877_887_3,
    0.222_381_034_453_374_5,
    0.101_228_536_290_376_3,
];

/// ∫ₐᵇ sin(u)/u du by Gauss–Legendre quadrature on pieces no longer than 1 radian (the
/// integrand is entire, so eight points per piece reach ~1e-15).
fn sin_over_u_integral(a: f64, b: f64) -> f64 {
    let pieces = ((b - a).abs().ceil() as usize).max(1);
    let h = (b - a) / pieces as f64;
    let mut sum = 0.0;
    for p in 0..pieces {
        let mid = a + (p as f64 + 0.5) * h;
        for (x, w) in GL_NODES.iter().zip(GL_WEIGHTS) {
            for s in [-1.0, 1.0] {
                let u = mid + s * x * 0.5 * h;
                let f = if u.abs() < 1e-12 { 1.0 } else { u.sin() / u };
                sum += w * f * 0.5 * h;
            }
        }
    }
    sum
}

/// Kaiser window on [−W, W] (0 outside).
fn kaiser(tau: f64, half_width: f64, beta: f64) -> f64 {
    let r = tau / half_width;
    if r.abs() >= 1.0 {
        0.0
    } else {
        bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta)
    }
}

/// Band-limited zero-order hold, in input-sample units: a rectangle one input period wide,
/// centred on 0, convolved with an ideal low-pass of `cutoff` cycles per input sample, then
/// Kaiser-windowed to ±`half_width`:
/// `k(τ) = (1/π)·[Si(2π·fc·(τ + ½)) − Si(2π·fc·(τ − ½))]·w(τ)`.
///
/// Its spectrum below the cutoff is the hold's `sin(πf)/(πf)` (f in cycles per input
/// sample), so seen at an output rate whose Nyquist is the cutoff it *is* the DAC's
/// staircase, droop and images included, with nothing folded back. (Repeating each sample
/// K times instead would give the Dirichlet kernel `sin(πfK)/(K·sin(πf))·…`, 0.05 dB off the
/// true droop at 20 kHz for 44.1 kHz × 8.) Centred, so the hold's physical half-period delay
/// is left out (a pure delay).
pub fn hold_kernel(cutoff: f64, half_width: usize, beta: f64) -> impl Fn(f64) -> f64 {
    let w = half_width as f64;
    let a = 2.0 * std::f64::consts::PI * cutoff;
    move |tau: f64| {
        sin_over_u_integral(a * (tau - 0.5), a * (tau + 0.5)) / std::f64::consts::PI
            * kaiser(tau, w, beta)
    }
}

/// The table of [`hold_kernel`]`(cutoff, half_width, beta)` at `phases` rows, made fast: every
/// tap is `(Si(b) − Si(a))/π` times the window, and over the whole table the arguments `a`,
/// `b` fall on one uniform grid, `2π·cutoff·i/phases` (the row fractions are multiples of
/// `1/phases`, the hold's ±½ is `phases/2` of them), so `Si` is integrated once along that
/// grid (Gauss–Legendre on each grid step) instead of once per tap. Equal to
/// `KernelTable::new(hold_kernel(..), ..)` to ~1e-13 (`hold_table_equals_the_quadrature`).
/// `phases` must be even.
pub fn hold_table(cutoff: f64, half_width: usize, beta: f64, phases: usize) -> KernelTable {
    assert!(
        phases.is_multiple_of(2),
        "the hold table needs an even phase count"
    );
    let half_width = half_width.max(1);
    let w = half_width as f64;
    let a = 2.0 * std::f64::consts::PI * cutoff;
    let step = a / phases as f64;
    // Si on grid points 0..=last (odd: Si(−x) = −Si(x)).
    let last = half_width * phases + phases / 2 + 1;
    let mut si = Vec::with_capacity(last + 1);
    si.push(0.0f64);
    let mut sum = 0.0;
    for i in 0..last {
        let mid = (i as f64 + 0.5) * step;
        for (x, weight) in GL_NODES.iter().zip(GL_WEIGHTS) {
            for sign in [-1.0, 1.0] {
                let u = mid + sign * x * 0.5 * step;
                let f = if u.abs() < 1e-12 { 1.0 } else { u.sin() / u };
                sum += weight * f * 0.5 * step;
            }
        }
        si.push(sum);
    }
    let si_at = |i: i64| -> f64 {
        let v = si[i.unsigned_abs() as usize];
        if i < 0 {
            -v
        } else {
            v
        }
    };
    let half = (phases / 2) as i64;
    KernelTable::from_fn(half_width, phases, |p, j| {
        // τ = p/phases + W − 1 − j, in grid units m = p + (W − 1 − j)·phases.
        let m = p as i64 + (half_width as i64 - 1 - j as i64) * phases as i64;
        let tau = m as f64 / phases as f64;
        (si_at(m + half) - si_at(m - half)) / std::f64::consts::PI * kaiser(tau, w, beta)
    })
}

/// Kaiser-windowed sinc low-pass: cutoff in cycles per input sample (gain 1 at DC when
/// the sum over integer shifts is taken, up to the window's error).
pub fn sinc_kernel(cutoff: f64, half_width: usize, beta: f64) -> impl Fn(f64) -> f64 {
    let w = half_width as f64;
    move |tau: f64| {
        let x = 2.0 * cutoff * tau;
        let sinc = if x.abs() < 1e-12 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        };
        2.0 * cutoff * sinc * kaiser(tau, w, beta)
    }
}

/// What a [`FractionalResampler`] is built from (designed once, shared by every channel
/// and every chain built from it): its kernel table, its step (input samples per output
/// sample) and its delay (input samples).
#[derive(Debug, Clone)]
pub struct ResamplerDesign {
    pub table: Arc<KernelTable>,
    pub step: f64,
    pub delay: f64,
}

impl ResamplerDesign {
    /// A resampler of this design for input blocks of up to `max_input_block` (allocates).
    pub fn build(&self, max_input_block: usize) -> FractionalResampler {
        FractionalResampler::new(
            (*self.table).clone(),
            self.step,
            self.delay,
            max_input_block,
        )
    }
}

/// A continuous kernel sampled into `phases + 1` rows of `2·half_width` taps (padded to a
/// multiple of [`LANES`]).
#[derive(Debug, Clone)]
pub struct KernelTable {
    rows: Vec<f32>,
    row_len: usize,
    half_width: usize,
    phases: usize,
}

impl KernelTable {
    /// Sample `kernel` (τ in input samples, support (−half_width, half_width)). Row `p`
    /// holds the coefficients for an output at fraction `p/phases` past an input sample:
    /// tap `j` multiplies `x[⌊t⌋ − W + 1 + j]`, at offset `τ = frac + W − 1 − j`.
    pub fn new(kernel: impl Fn(f64) -> f64, half_width: usize, phases: usize) -> Self {
        let w = half_width.max(1);
        let phases_f = phases.max(1) as f64;
        Self::from_fn(half_width, phases, |p, j| {
            kernel(p as f64 / phases_f + (w as f64 - 1.0) - j as f64)
        })
    }

    /// A table whose row `p`, tap `j` is `coef(p, j)` (see [`KernelTable::new`] for the
    /// offset each stands for).
    pub fn from_fn(half_width: usize, phases: usize, coef: impl Fn(usize, usize) -> f64) -> Self {
        let half_width = half_width.max(1);
        let phases = phases.max(1);
        let taps = 2 * half_width;
        let row_len = taps.div_ceil(LANES) * LANES;
        let mut rows = vec![0.0f32; (phases + 1) * row_len];
        for p in 0..=phases {
            for j in 0..taps {
                rows[p * row_len + j] = coef(p, j) as f32;
            }
        }
        Self {
            rows,
            row_len,
            half_width,
            phases,
        }
    }

    pub fn half_width(&self) -> usize {
        self.half_width
    }

    #[inline]
    fn row(&self, p: usize) -> &[f32] {
        &self.rows[p * self.row_len..(p + 1) * self.row_len]
    }

    /// Row `p` and interpolation weight toward row `p + 1` for a fraction in [0, 1).
    #[inline]
    fn phase(&self, frac: f64) -> (usize, f64) {
        let pos = frac * self.phases as f64;
        let p = (pos as usize).min(self.phases - 1);
        (p, pos - p as f64)
    }
}

/// Largest integer upsampling factor given the polyphase path (see [`FractionalResampler`]).
const MAX_PERIODIC_FACTOR: usize = 64;

/// `x.floor()` as an integer without a libm call on the x86-64 baseline (`f64::floor` is
/// one there): exact for |x| < 2^63, the range of every time here.
#[inline(always)]
fn floor_i64(x: f64) -> i64 {
    let t = x as i64; // truncation toward zero
    if (t as f64) > x {
        t - 1
    } else {
        t
    }
}

/// The integer-ratio path: the step is exactly 1/L, so the output times fall at the same L
/// fractions of an input sample over and over. Outputs come in *runs* of L that share one
/// input window: run `pos` holds the outputs at input times `pos + g₀ + s/L`, s = 0..L, with
/// g₀ ∈ [0, 1/L) fixed by the delay. Their L interpolated kernel rows are computed once, so
/// each output is one dot product, and a whole run is one polyphase frame
/// ([`fir::polyphase_frames`]: one window load feeds L multiply-adds; for L = 1, groups of
/// consecutive outputs share the coefficient loads, [`fir::direct_frames`]).
#[derive(Debug, Clone)]
struct Periodic {
    /// L.
    factor: usize,
    /// The L rows in the polyphase layout: row r of phase s at `coefs[r·L + s]`.
    coefs: Vec<[f32; LANES]>,
    /// The same taps for the AVX2 tap-major kernel ([`fir::taps_by_phase`]; L = 8 only).
    by_tap: Vec<[f32; LANES]>,
    /// Input sample (integer time) of the current run; its window starts at
    /// `pos − W + 1`.
    pos: i64,
    /// Next output's phase in the run, 0..L.
    phase: usize,
    /// `pos` and `phase` after a reset (the output at input time −delay).
    start: (i64, usize),
}

impl Periodic {
    /// The rows for step 1/`factor` and a first output at input time `t0`, each linearly
    /// interpolated between two table rows (in `f64`, then rounded) exactly where the
    /// general path interpolates its two dot products.
    fn new(table: &KernelTable, factor: usize, t0: f64) -> Self {
        let floor0 = floor_i64(t0);
        let f0 = t0 - floor0 as f64;
        let l = factor as f64;
        let phase0 = ((f0 * l) as usize).min(factor - 1);
        let g0 = (f0 - phase0 as f64 / l).max(0.0);
        let rows = table.row_len / LANES;
        let mut coefs = vec![[0.0f32; LANES]; rows * factor];
        for s in 0..factor {
            let frac = g0 + s as f64 / l;
            let (p, alpha) = table.phase(frac);
            let (r0, r1) = (table.row(p), table.row((p + 1).min(table.phases)));
            for (j, (&c0, &c1)) in r0.iter().zip(r1).enumerate() {
                let c = f64::from(c0) + alpha * (f64::from(c1) - f64::from(c0));
                coefs[(j / LANES) * factor + s][j % LANES] = c as f32;
            }
        }
        Self {
            factor,
            by_tap: fir::taps_by_phase(&coefs, factor),
            coefs,
            pos: floor0,
            phase: phase0,
            start: (floor0, phase0),
        }
    }

    fn reset(&mut self) {
        (self.pos, self.phase) = self.start;
    }
}

/// Streaming arbitrary-ratio resampler over a [`KernelTable`]. Never allocates after
/// [`FractionalResampler::new`].
///
/// Two paths with the same results (to `f32` rounding; an equivalence test pins it):
/// - general: each output at its own `f64` input time, two dot products against the
///   neighbouring table rows and a linear interpolation between them;
/// - integer ratio (step = 1/L, L ≤ 64: the hold into the analog domain, where L = K/M):
///   see [`Periodic`]; one dot product per output, run as a polyphase FIR.
///
/// Dot products use [`Kernel::best`] ([`FractionalResampler::set_kernel`] to choose).
#[derive(Debug, Clone)]
pub struct FractionalResampler {
    /// Shared by every resampler of the same design (read only).
    table: Arc<KernelTable>,
    /// Input samples per output sample.
    step: f64,
    /// Input history; `buf[i]` is input sample `base + i`. Zero-padded past `len` by a row.
    buf: Vec<f32>,
    len: usize,
    base: i64,
    /// Input time of the next output sample (general path).
    time: f64,
    delay: f64,
    max_input_block: usize,
    kernel: Kernel,
    /// The integer-ratio path, when the step allows it.
    periodic: Option<Periodic>,
}

impl FractionalResampler {
    /// `step` = input rate / output rate; `delay` ≥ half width, in input samples, is the
    /// lag of the output behind the input (the resampler's latency in input samples).
    pub fn new(
        table: impl Into<Arc<KernelTable>>,
        step: f64,
        delay: f64,
        max_input_block: usize,
    ) -> Self {
        let mut resampler = Self::new_general(table, step, delay, max_input_block);
        let factor = (1.0 / step).round();
        if step > 0.0
            && (1.0..=MAX_PERIODIC_FACTOR as f64).contains(&factor)
            && (step * factor - 1.0).abs() < 1e-12
        {
            resampler.periodic = Some(Periodic::new(
                &resampler.table,
                factor as usize,
                -resampler.delay,
            ));
        }
        resampler
    }

    /// The general path only, whatever the step (the reference for the integer-ratio path).
    pub fn new_general(
        table: impl Into<Arc<KernelTable>>,
        step: f64,
        delay: f64,
        max_input_block: usize,
    ) -> Self {
        let table = table.into();
        let w = table.half_width;
        let delay = delay.max(w as f64);
        let capacity = max_input_block + 2 * w + delay.ceil() as usize + 2 * table.row_len + 8;
        let mut resampler = Self {
            buf: vec![0.0; capacity + table.row_len],
            table,
            step,
            len: 0,
            base: 0,
            time: 0.0,
            delay,
            max_input_block,
            kernel: Kernel::best(),
            periodic: None,
        };
        resampler.reset();
        resampler
    }

    /// Choose the dot-product kernel (an unavailable one falls back to [`Kernel::best`]);
    /// returns the kernel in use.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        self.kernel = if kernel.is_available() {
            kernel
        } else {
            Kernel::best()
        };
        self.kernel
    }

    /// Whether the integer-ratio (polyphase) path runs.
    pub fn is_integer_ratio(&self) -> bool {
        self.periodic.is_some()
    }

    /// Clear the history; the next output is at input time `−delay`.
    pub fn reset(&mut self) {
        self.buf.fill(0.0);
        let w = self.table.half_width as i64;
        // Zeros stand for the input before time 0, back to the first window's start.
        let lead = w + self.delay.ceil() as i64 + 1;
        self.base = -lead;
        self.len = lead as usize;
        self.time = -self.delay;
        if let Some(periodic) = &mut self.periodic {
            periodic.reset();
        }
    }

    /// Latency in input samples.
    pub fn delay(&self) -> f64 {
        self.delay
    }

    pub fn step(&self) -> f64 {
        self.step
    }

    /// Integer part of the next output's input time.
    #[inline]
    fn next_floor(&self) -> i64 {
        match &self.periodic {
            Some(periodic) => periodic.pos,
            None => floor_i64(self.time),
        }
    }

    /// Append input (at most `max_input_block` samples between pulls).
    pub fn push(&mut self, input: &[f32]) {
        let slot = self.input_slot(input.len());
        let n = slot.len();
        slot.copy_from_slice(&input[..n]);
        self.commit(n);
    }

    /// Room for the next `n` input samples (fewer if more than `max_input_block`), to be
    /// written in place and then added by [`Self::commit`]: [`Self::push`] without its copy,
    /// for a producer that can write straight into the history.
    pub fn input_slot(&mut self, n: usize) -> &mut [f32] {
        // Drop history no future output needs: everything before ⌊time⌋ − W + 1.
        let keep_from = self.next_floor() - self.table.half_width as i64 + 1;
        let drop = (keep_from - self.base).clamp(0, self.len as i64) as usize;
        if drop > 0 {
            self.buf.copy_within(drop..self.len, 0);
            self.len -= drop;
            self.base += drop as i64;
        }
        let room = self.buf.len() - self.table.row_len - self.len;
        debug_assert!(
            n <= room,
            "pushed {n} samples, more than max_input_block {}",
            self.max_input_block
        );
        let n = n.min(room);
        &mut self.buf[self.len..self.len + n]
    }

    /// Add the `n` samples written into [`Self::input_slot`] (at most its length).
    pub fn commit(&mut self, n: usize) {
        let room = self.buf.len() - self.table.row_len - self.len;
        self.len += n.min(room);
        // Keep the padding after the valid samples at zero (stale values there are finite
        // anyway, and multiplied by zero-padded taps).
        let pad_end = (self.len + self.table.row_len).min(self.buf.len());
        self.buf[self.len..pad_end].fill(0.0);
    }

    /// Whether the input for the next output sample is there.
    #[inline]
    pub fn can_pull(&self) -> bool {
        self.next_floor() + (self.table.half_width as i64) < self.base + self.len as i64
    }

    /// Produce up to `output.len()` samples; returns how many were written.
    pub fn pull(&mut self, output: &mut [f32]) -> usize {
        if self.periodic.is_some() {
            return self.pull_periodic(output);
        }
        let mut written = 0;
        for y in output.iter_mut() {
            if !self.can_pull() {
                break;
            }
            *y = self.next_sample();
            written += 1;
        }
        written
    }

    /// [`Self::pull`] on the integer-ratio path: a partial run one output at a time, then
    /// whole runs as polyphase frames, then a partial run. Every output is summed the same
    /// way whichever of these computes it, so the block split does not change a bit.
    fn pull_periodic(&mut self, output: &mut [f32]) -> usize {
        let Some(periodic) = &mut self.periodic else {
            return 0;
        };
        let w = self.table.half_width as i64;
        let row_len = self.table.row_len;
        let factor = periodic.factor;
        // The last run whose window is all there.
        let last_pos = self.base + self.len as i64 - w - 1;
        let mut written = 0;
        while written < output.len() && periodic.pos <= last_pos {
            let start = (periodic.pos - w + 1 - self.base) as usize;
            let left = output.len() - written;
            if periodic.phase == 0 && left >= factor {
                let frames = ((last_pos - periodic.pos + 1) as usize).min(left / factor);
                let history = &self.buf[start..start + frames - 1 + row_len];
                let out = &mut output[written..written + frames * factor];
                if factor == 1 {
                    fir::direct_frames(self.kernel, &periodic.coefs, history, 1, out);
                } else {
                    fir::polyphase_frames(
                        self.kernel,
                        &periodic.coefs,
                        &periodic.by_tap,
                        row_len,
                        history,
                        out,
                        factor,
                    );
                }
                written += frames * factor;
                periodic.pos += frames as i64;
            } else {
                let count = (factor - periodic.phase).min(left);
                fir::polyphase_phases(
                    self.kernel,
                    &periodic.coefs,
                    &periodic.by_tap,
                    factor,
                    &self.buf[start..start + row_len],
                    periodic.phase,
                    &mut output[written..written + count],
                );
                written += count;
                periodic.phase += count;
                if periodic.phase == factor {
                    periodic.phase = 0;
                    periodic.pos += 1;
                }
            }
        }
        written
    }

    #[inline]
    fn next_sample(&mut self) -> f32 {
        let floor = floor_i64(self.time);
        let frac = self.time - floor as f64;
        let start = (floor - self.table.half_width as i64 + 1 - self.base) as usize;
        let x = &self.buf[start..start + self.table.row_len];
        let (p, alpha) = self.table.phase(frac);
        let alpha = alpha as f32;
        let y0 = fir::dot(self.kernel, self.table.row(p), x);
        let y = if alpha == 0.0 {
            y0
        } else {
            let y1 = fir::dot(self.kernel, self.table.row(p + 1), x);
            y0 + alpha * (y1 - y0)
        };
        self.time += self.step;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grid-integrated hold table equals the per-tap quadrature (f32 rows: within a
    /// few ulp), for the OS case (cutoff ½) and a NOS one (cutoff 4).
    #[test]
    fn hold_table_equals_the_quadrature() {
        for cutoff in [0.5, 4.0] {
            let fast = hold_table(cutoff, 16, 8.0, 1024);
            let slow = KernelTable::new(hold_kernel(cutoff, 16, 8.0), 16, 1024);
            let worst = fast
                .rows
                .iter()
                .zip(&slow.rows)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            println!("hold table, cutoff {cutoff}: max |fast − quadrature| {worst:e}");
            assert!(worst < 1e-7, "{worst}");
        }
    }

    fn si(x: f64) -> f64 {
        sin_over_u_integral(0.0, x)
    }

    #[test]
    fn sine_integral_matches_known_values() {
        // Si(π) = 1.851937051982466, Si(∞) = π/2 (Si(1000) = π/2 − cos(1000)/1000 …).
        assert!((si(std::f64::consts::PI) - 1.851_937_051_982_466).abs() < 1e-13);
        let large = 1000.0f64;
        let asymptotic =
            std::f64::consts::FRAC_PI_2 - large.cos() / large - large.sin() / (large * large);
        assert!((si(large) - asymptotic).abs() < 1e-8);
    }

    /// Magnitude in dB of the hold seen at rate `k`× the DAC rate, measured by feeding a
    /// sine at the DAC rate through the resampler and fitting the output sine.
    fn hold_response_db(k: usize, freq_over_fs: f64) -> f64 {
        let table = KernelTable::new(hold_kernel(0.5 * k as f64, 16, 8.0), 16, 1024);
        let mut r = FractionalResampler::new(table, 1.0 / k as f64, 16.0, 256);
        let n_in = 4096;
        let x: Vec<f32> = (0..n_in)
            .map(|i| (std::f64::consts::TAU * freq_over_fs * i as f64).sin() as f32)
            .collect();
        let mut y = vec![0.0f32; n_in * k];
        let mut written = 0;
        for chunk in x.chunks(256) {
            r.push(chunk);
            written += r.pull(&mut y[written..]);
        }
        // Amplitude of the tone over the settled part, by the analyzer's least-squares fit
        // (the output runs at k × the input rate, so the tone is at freq_over_fs / k).
        let settled = &y[64 * k..written];
        crate::analysis::tone(settled, k as f64, freq_over_fs).level_db
    }

    #[test]
    fn hold_droop_equals_sinc_within_0_01_db() {
        // devices.md: −3.17 dB at 20 kHz for 44.1 kHz, −2.64 dB for 48 kHz, −0.63 dB for
        // 96 kHz (K = 8, 8, 4).
        for (fs, k) in [(44_100.0, 8usize), (48_000.0, 8), (96_000.0, 4)] {
            let f = 20_000.0 / fs;
            let x = std::f64::consts::PI * f;
            let expected = 20.0 * (x.sin() / x).log10();
            let measured = hold_response_db(k, f);
            assert!(
                (measured - expected).abs() < 0.01,
                "{fs} Hz: measured {measured:.4} dB, sinc {expected:.4} dB"
            );
        }
    }

    #[test]
    fn integer_ratio_output_matches_kernel_convolution_exactly() {
        let k = 4;
        let table = KernelTable::new(hold_kernel(2.0, 8, 8.0), 8, 256);
        let kernel = hold_kernel(2.0, 8, 8.0);
        let mut r = FractionalResampler::new(table, 0.25, 8.0, 64);
        let x: Vec<f32> = (0..200)
            .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
            .collect();
        let mut y = vec![0.0f32; 800];
        let mut written = 0;
        for chunk in x.chunks(7) {
            r.push(chunk);
            written += r.pull(&mut y[written..]);
        }
        assert!(written > 700);
        for (j, &v) in y[..written].iter().enumerate() {
            let t = j as f64 / k as f64 - 8.0;
            let expected: f64 = x
                .iter()
                .enumerate()
                .map(|(n, &xn)| f64::from(xn) * kernel(t - n as f64))
                .sum();
            assert!(
                (f64::from(v) - expected).abs() < 2e-6,
                "sample {j}: {v} vs {expected}"
            );
        }
    }

    #[test]
    fn sinc_kernel_downsampling_keeps_passband_and_rejects_alias() {
        // 96 kHz → 44.1 kHz, cutoff 21 kHz, half width 64 input samples.
        let step = 96_000.0 / 44_100.0;
        let cutoff = 21_000.0 / 96_000.0;
        let table = KernelTable::new(sinc_kernel(cutoff, 64, 12.0), 64, 2048);
        let run = |freq: f64| {
            let mut r = FractionalResampler::new(table.clone(), step, 64.0, 512);
            let x: Vec<f32> = (0..96_000)
                .map(|i| (std::f64::consts::TAU * freq * i as f64 / 96_000.0).sin() as f32)
                .collect();
            let mut y = vec![0.0f32; 50_000];
            let mut written = 0;
            for chunk in x.chunks(512) {
                r.push(chunk);
                written += r.pull(&mut y[written..]);
            }
            let settled = &y[1000..written];
            (settled.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / settled.len() as f64)
                .sqrt()
                * std::f64::consts::SQRT_2
        };
        let pass = 20.0 * run(1000.0).log10();
        assert!(pass.abs() < 0.01, "1 kHz through 96→44.1: {pass} dB");
        // 30 kHz would alias to 14.1 kHz at 44.1 kHz: it must be gone.
        let alias = 20.0 * run(30_000.0).log10();
        assert!(alias < -100.0, "30 kHz alias at {alias} dB");
    }

    /// Deterministic noise in [−1, 1) (64-bit LCG).
    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Push `x` in blocks of `push_sizes` (cycled) and pull after each push into pieces of
    /// `pull_sizes` (cycled) until nothing more comes; all the output.
    fn stream(
        r: &mut FractionalResampler,
        x: &[f32],
        push_sizes: &[usize],
        pull_sizes: &[usize],
    ) -> Vec<f32> {
        let mut out = Vec::new();
        let mut piece = vec![0.0f32; 4096];
        let (mut pos, mut i, mut j) = (0, 0, 0);
        while pos < x.len() {
            let n = push_sizes[i % push_sizes.len()].min(x.len() - pos);
            r.push(&x[pos..pos + n]);
            pos += n;
            i += 1;
            loop {
                let want = pull_sizes[j % pull_sizes.len()];
                j += 1;
                let got = r.pull(&mut piece[..want]);
                out.extend_from_slice(&piece[..got]);
                if got < want {
                    break;
                }
            }
        }
        out
    }

    /// The integer-ratio path against the general one (two dot products and a lerp per
    /// output, f64-accumulated scalar dot products): same number of outputs, the same
    /// values to f32 rounding, for L = 1, 2, 4, 8 and delays on and off the table rows.
    #[test]
    fn integer_ratio_path_equals_the_general_path() {
        let x = noise(3000, 11);
        for factor in [1usize, 2, 4, 8] {
            let table = KernelTable::new(hold_kernel(0.5 * factor as f64, 16, 8.0), 16, 1024);
            for delay in [16.0, 17.3, 18.0 + 3.0 / 1024.0, 21.771] {
                let step = 1.0 / factor as f64;
                let mut fast = FractionalResampler::new(table.clone(), step, delay, 512);
                assert!(fast.is_integer_ratio());
                let mut general = FractionalResampler::new_general(table.clone(), step, delay, 512);
                assert!(!general.is_integer_ratio());
                general.set_kernel(Kernel::Scalar);
                let pushes = [512, 1, 7, 64, 300];
                let pulls = [5, 512, 3, 1, 64, 4096];
                let y_fast = stream(&mut fast, &x, &pushes, &pulls);
                let y_general = stream(&mut general, &x, &pushes, &pulls);
                assert_eq!(y_fast.len(), y_general.len(), "L {factor}, delay {delay}");
                assert!(y_fast.len() > (x.len() - 40) * factor);
                let worst = y_fast
                    .iter()
                    .zip(&y_general)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                println!("L {factor}, delay {delay}: max |Δ| integer-ratio vs general {worst:.2e}");
                assert!(worst <= 1e-6, "L {factor}, delay {delay}: {worst}");
            }
        }
    }

    /// On the integer-ratio path every output is summed the same way whichever block it
    /// falls in, so the push/pull pattern does not change a bit; and reset reproduces it.
    #[test]
    fn integer_ratio_path_is_bit_exact_across_block_splits_and_reset() {
        let x = noise(2500, 12);
        for factor in [1usize, 3, 8] {
            let table = KernelTable::new(hold_kernel(0.5 * factor as f64, 16, 8.0), 16, 1024);
            let mut r = FractionalResampler::new(table, 1.0 / factor as f64, 19.4, 512);
            let whole = stream(&mut r, &x, &[512], &[4096]);
            r.reset();
            let split = stream(&mut r, &x, &[1, 13, 512, 7, 64, 333], &[1, 5, 4096, 17, 2]);
            assert_eq!(whole, split, "L {factor}");
        }
    }

    #[test]
    fn nos_image_of_20_khz_at_44_1_khz_is_1_6_db_below_the_tone() {
        // devices.md: a 0 dBFS 20 kHz tone at 44.1 kHz leaves a 24.1 kHz image 1.6 dB
        // below it (sinc(24.1/44.1)/sinc(20/44.1) = −1.62 dB), seen here at 8 × 44.1 kHz.
        let fs = 44_100.0;
        let k = 8usize;
        let table = KernelTable::new(hold_kernel(0.5 * k as f64, 16, 8.0), 16, 1024);
        let mut r = FractionalResampler::new(table, 1.0 / k as f64, 16.0, 512);
        let x: Vec<f32> = (0..44_100)
            .map(|i| (std::f64::consts::TAU * 20_000.0 * i as f64 / fs).sin() as f32)
            .collect();
        let mut y = vec![0.0f32; x.len() * k];
        let mut written = 0;
        for chunk in x.chunks(512) {
            r.push(chunk);
            written += r.pull(&mut y[written..]);
        }
        let settled = &y[1024..written];
        let rate = fs * k as f64;
        let tone = crate::analysis::tone(settled, rate, 20_000.0).level_db;
        let image = crate::analysis::tone(settled, rate, 24_100.0).level_db;
        let sinc = |f: f64| {
            let x = std::f64::consts::PI * f / fs;
            x.sin() / x
        };
        let expected = 20.0 * (sinc(24_100.0) / sinc(20_000.0)).log10();
        assert!(
            ((image - tone) - expected).abs() < 0.05 && ((image - tone) + 1.6).abs() <= 0.2,
            "image {:.3} dB below the tone, formula {:.3}",
            tone - image,
            -expected
        );
    }
}
