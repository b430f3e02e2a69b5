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
//! Streaming is push/pull: [`FractionalResampler::push`] appends input, and
//! [`FractionalResampler::pull`] produces output while the input it needs is there. The
//! first output sits at input time `−delay`, so the resampler's delay is `delay` input
//! samples (plus the kernel's own centre, which for the symmetric kernels here is 0).

use super::design::bessel_i0;
use super::fir::{dot_simd, LANES};

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
        let half_width = half_width.max(1);
        let phases = phases.max(1);
        let taps = 2 * half_width;
        let row_len = taps.div_ceil(LANES) * LANES;
        let mut rows = vec![0.0f32; (phases + 1) * row_len];
        for p in 0..=phases {
            let frac = p as f64 / phases as f64;
            for j in 0..taps {
                let tau = frac + (half_width as f64 - 1.0) - j as f64;
                rows[p * row_len + j] = kernel(tau) as f32;
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
}

/// Streaming arbitrary-ratio resampler over a [`KernelTable`]. Never allocates after
/// [`FractionalResampler::new`].
#[derive(Debug, Clone)]
pub struct FractionalResampler {
    table: KernelTable,
    /// Input samples per output sample.
    step: f64,
    /// Input history; `buf[i]` is input sample `base + i`. Zero-padded past `len` by a row.
    buf: Vec<f32>,
    len: usize,
    base: i64,
    /// Input time of the next output sample.
    time: f64,
    delay: f64,
    max_input_block: usize,
}

impl FractionalResampler {
    /// `step` = input rate / output rate; `delay` ≥ half width, in input samples, is the
    /// lag of the output behind the input (the resampler's latency in input samples).
    pub fn new(table: KernelTable, step: f64, delay: f64, max_input_block: usize) -> Self {
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
        };
        resampler.reset();
        resampler
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
    }

    /// Latency in input samples.
    pub fn delay(&self) -> f64 {
        self.delay
    }

    pub fn step(&self) -> f64 {
        self.step
    }

    /// Append input (at most `max_input_block` samples between pulls).
    pub fn push(&mut self, input: &[f32]) {
        // Drop history no future output needs: everything before ⌊time⌋ − W + 1.
        let keep_from = self.time.floor() as i64 - self.table.half_width as i64 + 1;
        let drop = (keep_from - self.base).clamp(0, self.len as i64) as usize;
        if drop > 0 {
            self.buf.copy_within(drop..self.len, 0);
            self.len -= drop;
            self.base += drop as i64;
        }
        let room = self.buf.len() - self.table.row_len - self.len;
        let n = input.len().min(room);
        debug_assert!(
            n == input.len(),
            "pushed {} samples, more than max_input_block {}",
            input.len(),
            self.max_input_block
        );
        self.buf[self.len..self.len + n].copy_from_slice(&input[..n]);
        self.len += n;
        // Keep the padding after the valid samples at zero (stale values there are finite
        // anyway, and multiplied by zero-padded taps).
        let pad_end = (self.len + self.table.row_len).min(self.buf.len());
        self.buf[self.len..pad_end].fill(0.0);
    }

    /// Whether the input for the next output sample is there.
    #[inline]
    pub fn can_pull(&self) -> bool {
        self.time.floor() as i64 + (self.table.half_width as i64) < self.base + self.len as i64
    }

    /// Produce up to `output.len()` samples; returns how many were written.
    pub fn pull(&mut self, output: &mut [f32]) -> usize {
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

    #[inline]
    fn next_sample(&mut self) -> f32 {
        let floor = self.time.floor();
        let frac = self.time - floor;
        let start = (floor as i64 - self.table.half_width as i64 + 1 - self.base) as usize;
        let x = &self.buf[start..start + self.table.row_len];
        let pos = frac * self.table.phases as f64;
        let p = (pos as usize).min(self.table.phases - 1);
        let alpha = (pos - p as f64) as f32;
        let y0 = dot_simd(self.table.row(p), x);
        let y = if alpha == 0.0 {
            y0
        } else {
            let y1 = dot_simd(self.table.row(p + 1), x);
            y0 + alpha * (y1 - y0)
        };
        self.time += self.step;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Least-squares amplitude of the tone over the settled part (output time = input
        // time − 16 input samples).
        let (mut ss, mut sc, mut cc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (j, &v) in y[..written].iter().enumerate().skip(64 * k) {
            let t = j as f64 / k as f64 - 16.0;
            let (s, c) = (std::f64::consts::TAU * freq_over_fs * t).sin_cos();
            ss += s * s;
            sc += s * c;
            cc += c * c;
            ys += f64::from(v) * s;
            yc += f64::from(v) * c;
        }
        let det = ss * cc - sc * sc;
        let a = (ys * cc - yc * sc) / det;
        let b = (yc * ss - ys * sc) / det;
        20.0 * (a * a + b * b).sqrt().log10()
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
