//! FIR low-pass design, all in `f64`: Kaiser-windowed sinc, a spec-driven designer that
//! verifies its own result, minimum phase by the real cepstrum, and response functions
//! (`response`, `magnitude_db`, `group_delay`) shared by tests and plots.
//!
//! Everything here runs at prepare time (off the audio thread) and may allocate.
//!
//! References:
//! - J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window function",
//!   Proc. IEEE ISCAS 1974; the β and length formulas are eqs. 7.62–7.63 in Oppenheim &
//!   Schafer, *Discrete-Time Signal Processing*, 3rd ed. (§7.5.3).
//! - Minimum phase by the folded real cepstrum: Oppenheim & Schafer, 3rd ed., §13.5
//!   (“minimum-phase realisation via the complex cepstrum”), and J. O. Smith,
//!   *Spectral Audio Signal Processing*, “Minimum-Phase Filter Design”.

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// Kaiser window shape parameter β for a stopband attenuation of `atten_db` (dB, positive).
///
/// Kaiser's empirical formula (Oppenheim & Schafer eq. 7.62):
/// β = 0.1102·(A − 8.7) for A > 50; 0.5842·(A − 21)^0.4 + 0.07886·(A − 21) for
/// 21 ≤ A ≤ 50; 0 below 21 dB (a rectangular window already gives 21 dB).
pub fn kaiser_beta(atten_db: f64) -> f64 {
    let a = atten_db;
    if a > 50.0 {
        0.1102 * (a - 8.7)
    } else if a >= 21.0 {
        0.5842 * (a - 21.0).powf(0.4) + 0.07886 * (a - 21.0)
    } else {
        0.0
    }
}

/// Number of taps a Kaiser-windowed sinc needs for `atten_db` of stopband attenuation over a
/// transition band `transition_hz` wide at `sample_rate`.
///
/// Kaiser's formula (Oppenheim & Schafer eq. 7.63; `devices.md` [calc]): the filter order is
/// M ≈ (A − 8) / (2.285·Δω) with Δω = 2π·Δf/fs; the tap count is M + 1 (order rounded up).
/// 8× from 44.1 kHz with a 20 → 24.1 kHz transition gives about 550 taps at 100 dB and 850
/// at 150 dB. At least 1 tap is returned.
pub fn kaiser_taps(atten_db: f64, transition_hz: f64, sample_rate: f64) -> usize {
    let delta_omega = 2.0 * PI * transition_hz.abs().max(f64::MIN_POSITIVE) / sample_rate;
    let order = ((atten_db - 8.0).max(0.0) / (2.285 * delta_omega)).ceil();
    if order.is_finite() {
        order as usize + 1
    } else {
        1
    }
}

/// Modified Bessel function of the first kind, order 0, by its power series
/// I0(x) = Σ_k ((x/2)^k / k!)², summed until a term no longer changes the sum (f64).
/// Converges quickly for the β ≤ 30 used by Kaiser windows (≈ 60 terms at x = 30).
pub fn bessel_i0(x: f64) -> f64 {
    let half = 0.5 * x;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    loop {
        let ratio = half / k;
        term *= ratio * ratio;
        sum += term;
        if term < sum * 1e-17 || k > 500.0 {
            return sum;
        }
        k += 1.0;
    }
}

/// Symmetric Kaiser window of `len` points with shape `beta`:
/// w[n] = I0(β·√(1 − (2n/(len−1) − 1)²)) / I0(β). A single point is `[1.0]`.
pub fn kaiser_window(len: usize, beta: f64) -> Vec<f64> {
    if len <= 1 {
        return vec![1.0; len];
    }
    let denom = bessel_i0(beta);
    let last = (len - 1) as f64;
    (0..len)
        .map(|n| {
            let r = 2.0 * n as f64 / last - 1.0;
            bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / denom
        })
        .collect()
}

/// Normalised sinc, sin(πx)/(πx).
fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 {
        1.0
    } else {
        let px = PI * x;
        px.sin() / px
    }
}

/// Linear-phase low-pass FIR of `taps` coefficients: an ideal low-pass of cutoff `cutoff_hz`
/// (the −6 dB point) at `sample_rate`, windowed by a Kaiser window of shape `beta`.
/// The coefficients are scaled so their sum (the DC gain) is exactly 1.
///
/// Group delay is (taps − 1)/2 samples. Odd `taps` give a type-I filter (no forced zero at
/// Nyquist, integer delay), which is what [`design_lowpass`] always returns.
pub fn lowpass_kaiser(taps: usize, cutoff_hz: f64, sample_rate: f64, beta: f64) -> Vec<f64> {
    let taps = taps.max(1);
    let fc = (cutoff_hz / sample_rate).clamp(0.0, 0.5);
    let centre = (taps - 1) as f64 / 2.0;
    let window = kaiser_window(taps, beta);
    let mut h: Vec<f64> = window
        .iter()
        .enumerate()
        .map(|(n, w)| 2.0 * fc * sinc(2.0 * fc * (n as f64 - centre)) * w)
        .collect();
    let sum: f64 = h.iter().sum();
    if sum.abs() > f64::MIN_POSITIVE {
        h.iter_mut().for_each(|c| *c /= sum);
    }
    h
}

/// Sum Σ h[n]·n^order·e^{−jωn} for order 0 or 1, evaluated with a unit phasor that is
/// rotated tap by tap and re-seeded exactly (`sin_cos`) every 64 taps, so the rounding error
/// stays at the 1e-15 level while costing one complex multiply per tap.
fn weighted_dtft(h: &[f64], omega: f64, weight_by_index: bool) -> Complex<f64> {
    const RESEED: usize = 64;
    let step = Complex::new(omega.cos(), -omega.sin());
    let mut acc = Complex::new(0.0, 0.0);
    for (block_index, block) in h.chunks(RESEED).enumerate() {
        let n0 = block_index * RESEED;
        let (s, c) = (omega * n0 as f64).sin_cos();
        let mut phasor = Complex::new(c, -s);
        for (i, &coef) in block.iter().enumerate() {
            let weight = if weight_by_index {
                coef * (n0 + i) as f64
            } else {
                coef
            };
            acc += phasor * weight;
            phasor *= step;
        }
    }
    acc
}

/// Complex frequency response H(f) = Σ h[n]·e^{−j2πfn/fs} of the FIR `h` at `freq_hz`.
pub fn response(h: &[f64], freq_hz: f64, sample_rate: f64) -> Complex<f64> {
    weighted_dtft(h, 2.0 * PI * freq_hz / sample_rate, false)
}

/// |H(f)| in dB (20·log10); −inf where the response is exactly zero.
pub fn magnitude_db(h: &[f64], freq_hz: f64, sample_rate: f64) -> f64 {
    20.0 * response(h, freq_hz, sample_rate).norm().log10()
}

/// Group delay of `h` at `freq_hz`, in samples at `sample_rate`:
/// τ(ω) = Re{ Σ n·h[n]·e^{−jωn} / Σ h[n]·e^{−jωn} } (the derivative of −arg H, taken
/// analytically). A linear-phase filter of N taps gives (N − 1)/2 everywhere in its passband.
/// Meaningless (large or NaN) exactly at a zero of H.
pub fn group_delay(h: &[f64], freq_hz: f64, sample_rate: f64) -> f64 {
    let omega = 2.0 * PI * freq_hz / sample_rate;
    let num = weighted_dtft(h, omega, true);
    let den = weighted_dtft(h, omega, false);
    (num / den).re
}

/// Floor applied to |H| (relative to its maximum) before taking the log in [`min_phase`]:
/// 1e-12 = −240 dB. A linear-phase Kaiser design has zeros on the unit circle in its
/// stopband, where ln|H| = −∞; the floor fills those notches in to −240 dB. This changes
/// only the bottoms of the stopband notches (already ≥ 90 dB below any figure we measure),
/// so the minimum-phase result keeps the same stopband peaks; its own zeros end up just
/// inside the unit circle instead of on it.
pub const MIN_PHASE_FLOOR: f64 = 1e-12;

/// Oversampling of the cepstrum FFT relative to the filter length in [`min_phase`]. The
/// real cepstrum of a filter with (near-)unit-circle zeros decays slowly, like 1/n; an FFT
/// 16× the filter length (then rounded up to a power of two) keeps the time-aliased part
/// negligible, as checked by the tests (passband within 0.01 dB, stopband within 3 dB).
pub const MIN_PHASE_FFT_OVERSAMPLING: usize = 16;

/// Minimum-phase FIR with the same magnitude response as `h` (same length), by the folded
/// real cepstrum:
/// 1. H = FFT(h) zero-padded to a power of two ≥ 16·len ([`MIN_PHASE_FFT_OVERSAMPLING`]);
/// 2. c = IFFT(ln max(|H|, floor)) — the real cepstrum (floor: [`MIN_PHASE_FLOOR`]);
/// 3. fold: keep c[0] and c[N/2], double c[1..N/2], zero the anti-causal half;
/// 4. h_min = IFFT(exp(FFT(folded))), truncated to `len`.
///
/// The energy is concentrated at the start, so the group delay in the passband is far below
/// the (N−1)/2 of a linear-phase original; measure it with [`group_delay`].
pub fn min_phase(h: &[f64]) -> Vec<f64> {
    let len = h.len();
    if len <= 1 {
        return h.to_vec();
    }
    let n_fft = (len * MIN_PHASE_FFT_OVERSAMPLING).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n_fft);

    // 1. Spectrum of the original; 2. its floored log magnitude.
    let mut time = vec![0.0; n_fft];
    time[..len].copy_from_slice(h);
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut time, &mut spectrum)
        .expect("FFT buffer sizes come from the plan");
    let peak = spectrum.iter().map(|c| c.norm()).fold(0.0, f64::max);
    let floor = (peak * MIN_PHASE_FLOOR).max(f64::MIN_POSITIVE);
    let ln_mag: Vec<f64> = spectrum.iter().map(|c| c.norm().max(floor).ln()).collect();

    // 3.–4. Cepstrum, fold, back.
    let mut h_min = min_phase_from_log_magnitude(&ln_mag, n_fft);
    h_min.truncate(len);
    h_min
}

/// The minimum-phase impulse response (length `n_fft`, a power of two) whose magnitude is
/// `exp(ln_mag)`, with `ln_mag` given on the `n_fft/2 + 1` bins of a real FFT, by the
/// folded real cepstrum: c = IFFT(ln|H|); keep c[0] and c[N/2], double c[1..N/2], zero the
/// anti-causal half; h = IFFT(exp(FFT(c))). Shared by [`min_phase`] and the load FIRs
/// designed from a magnitude (`load::fir`).
pub fn min_phase_from_log_magnitude(ln_mag: &[f64], n_fft: usize) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n_fft);
    let inverse = planner.plan_fft_inverse(n_fft);
    let scale = 1.0 / n_fft as f64;
    let mut spectrum: Vec<Complex<f64>> = ln_mag.iter().map(|&v| Complex::new(v, 0.0)).collect();
    let mut time = inverse.make_output_vec();
    inverse
        .process(&mut spectrum, &mut time)
        .expect("FFT buffer sizes come from the plan");
    // Fold the (even) cepstrum onto its causal half, with the inverse FFT's 1/N.
    time[0] *= scale;
    for c in time[1..n_fft / 2].iter_mut() {
        *c *= 2.0 * scale;
    }
    time[n_fft / 2] *= scale;
    time[n_fft / 2 + 1..].fill(0.0);
    forward
        .process(&mut time, &mut spectrum)
        .expect("FFT buffer sizes come from the plan");
    for bin in spectrum.iter_mut() {
        *bin = bin.exp();
    }
    // The inverse real FFT needs purely real DC and Nyquist bins; they are real up to
    // rounding here, so clear the rounding.
    let last = spectrum.len() - 1;
    spectrum[0].im = 0.0;
    spectrum[last].im = 0.0;
    inverse
        .process(&mut spectrum, &mut time)
        .expect("FFT buffer sizes come from the plan");
    time.iter_mut().for_each(|v| *v *= scale);
    time
}

/// What a low-pass must do: pass `[0, passband_hz]`, attenuate `[stopband_hz, fs/2]` by at
/// least `stopband_db` (positive dB, relative to the DC gain), at `sample_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LowpassSpec {
    /// Passband edge, Hz.
    pub passband_hz: f64,
    /// Stopband edge, Hz (> `passband_hz`, ≤ `sample_rate`/2).
    pub stopband_hz: f64,
    /// Required stopband attenuation, dB (positive).
    pub stopband_db: f64,
    /// Rate the filter runs at, Hz.
    pub sample_rate: f64,
}

impl LowpassSpec {
    /// The spec with its edges clamped into a designable range: the stopband edge into
    /// (0, fs/2], the passband edge below it (at most 99.9 % of it), the attenuation into
    /// [21, 200] dB (below 21 dB a rectangular window already does; f64 design arithmetic
    /// ends near 300 dB). A sane spec comes back unchanged.
    pub fn clamped(&self) -> Self {
        let sample_rate = if self.sample_rate.is_finite() && self.sample_rate > 0.0 {
            self.sample_rate
        } else {
            48_000.0
        };
        let nyquist = 0.5 * sample_rate;
        let stopband_hz = if self.stopband_hz.is_finite() {
            self.stopband_hz.clamp(nyquist * 1e-6, nyquist)
        } else {
            nyquist
        };
        let passband_hz = if self.passband_hz.is_finite() {
            self.passband_hz.clamp(0.0, stopband_hz * 0.999)
        } else {
            0.0
        };
        let stopband_db = if self.stopband_db.is_finite() {
            self.stopband_db.clamp(21.0, 200.0)
        } else {
            100.0
        };
        Self {
            passband_hz,
            stopband_hz,
            stopband_db,
            sample_rate,
        }
    }
}

/// Measured figures of a low-pass against a [`LowpassSpec`], all relative to the DC gain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Number of taps.
    pub taps: usize,
    /// DC gain |H(0)| (linear; 1 for [`design_lowpass`], the factor for
    /// [`interpolation_filter`]).
    pub dc_gain: f64,
    /// Largest gain in the passband, dB re DC.
    pub passband_max_db: f64,
    /// Smallest gain in the passband, dB re DC.
    pub passband_min_db: f64,
    /// Peak-to-peak passband ripple, dB (`passband_max_db − passband_min_db`).
    pub passband_ripple_db: f64,
    /// Smallest stopband attenuation, dB re DC (positive: 100 means the worst stopband
    /// frequency is 100 dB down).
    pub stopband_db: f64,
    /// Frequency of that worst stopband peak, Hz.
    pub stopband_worst_hz: f64,
}

/// Points of the passband scan in [`measure_lowpass`].
const SCAN_POINTS: usize = 4000;

/// Points per sidelobe (fs/N apart for N taps) of the stopband grid in [`stopband_peak`].
const GRID_PER_LOBE: usize = 32;

/// Largest |H|² over `[f_lo, f_hi]`: |H|² on a grid of [`GRID_PER_LOBE`] points per
/// sidelobe (one zero-padded FFT, plus the two edges exactly), then a golden-section
/// refinement (exact DTFT) of every local maximum within 0.5 dB of the largest grid value.
/// Sampled that densely, a lobe's grid maximum is within 0.01 dB of its peak (the lobe of a
/// windowed sinc is ≈ sin x/x there: a half-step of π/32 costs x²/6 ≈ 0.0016 of amplitude),
/// so a lobe more than 0.5 dB down on the grid cannot hold the maximum. Returns
/// (frequency, |H|²).
fn stopband_peak(h: &[f64], f_lo: f64, f_hi: f64, sample_rate: f64) -> (f64, f64) {
    let power = |f: f64| response(h, f, sample_rate).norm_sqr();
    let n_fft = (GRID_PER_LOBE * h.len()).next_power_of_two().max(1024);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
    let mut input = fft.make_input_vec();
    input[..h.len()].copy_from_slice(h);
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum)
        .expect("buffers from the plan");
    let bin_hz = sample_rate / n_fft as f64;
    let first = (f_lo / bin_hz).ceil() as usize;
    let last = ((f_hi / bin_hz).floor() as usize).min(n_fft / 2);
    let mut grid: Vec<(f64, f64)> = Vec::with_capacity(last.saturating_sub(first) + 3);
    grid.push((f_lo, power(f_lo)));
    for (k, bin) in spectrum.iter().enumerate().take(last + 1).skip(first) {
        let f = k as f64 * bin_hz;
        if f > f_lo && f < f_hi {
            grid.push((f, bin.norm_sqr()));
        }
    }
    grid.push((f_hi, power(f_hi)));
    let grid_max = grid.iter().map(|p| p.1).fold(0.0, f64::max);
    let mut best = grid
        .iter()
        .copied()
        .fold((f_lo, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    // 0.5 dB in power.
    let threshold = grid_max * 10f64.powf(-0.05);
    for i in 1..grid.len().saturating_sub(1) {
        let (prev, here, next) = (grid[i - 1].1, grid[i].1, grid[i + 1].1);
        if here >= prev && here >= next && here >= threshold {
            // Golden-section search for the maximum on [f_{i-1}, f_{i+1}].
            let ratio = 0.5 * (5f64.sqrt() - 1.0);
            let (mut a, mut b) = (grid[i - 1].0, grid[i + 1].0);
            let mut c = b - ratio * (b - a);
            let mut d = a + ratio * (b - a);
            let (mut pc, mut pd) = (power(c), power(d));
            for _ in 0..30 {
                if pc > pd {
                    b = d;
                    d = c;
                    pd = pc;
                    c = b - ratio * (b - a);
                    pc = power(c);
                } else {
                    a = c;
                    c = d;
                    pc = pd;
                    d = a + ratio * (b - a);
                    pd = power(d);
                }
            }
            let (f, p) = if pc > pd { (c, pc) } else { (d, pd) };
            if p > best.1 {
                best = (f, p);
            }
        }
    }
    best
}

/// Whether `h` meets `spec`'s stopband attenuation: [`measure_lowpass`]'s criterion without
/// its passband scan.
fn meets_stopband(h: &[f64], spec: &LowpassSpec) -> bool {
    let fs = spec.sample_rate;
    let dc_db = 20.0 * response(h, 0.0, fs).norm().log10();
    let (_, peak_power) = stopband_peak(h, spec.stopband_hz, 0.5 * fs, fs);
    dc_db - 10.0 * peak_power.log10() >= spec.stopband_db
}

/// Measure `h` against `spec`: passband extremes over a 4000-point scan of
/// `[0, passband_hz]`, and the worst stopband peak over `[stopband_hz, fs/2]`
/// ([`stopband_peak`]: an FFT grid, lobe peaks refined), everything relative to the DC gain.
pub fn measure_lowpass(h: &[f64], spec: &LowpassSpec) -> Measured {
    let spec = spec.clamped();
    let fs = spec.sample_rate;
    let dc_gain = response(h, 0.0, fs).norm();
    let dc_db = 20.0 * dc_gain.log10();
    let mut passband_max_db = f64::NEG_INFINITY;
    let mut passband_min_db = f64::INFINITY;
    for i in 0..=SCAN_POINTS {
        let f = spec.passband_hz * i as f64 / SCAN_POINTS as f64;
        let db = magnitude_db(h, f, fs) - dc_db;
        passband_max_db = passband_max_db.max(db);
        passband_min_db = passband_min_db.min(db);
    }
    let (stopband_worst_hz, peak_power) = stopband_peak(h, spec.stopband_hz, 0.5 * fs, fs);
    let stopband_db = dc_db - 10.0 * peak_power.log10();
    Measured {
        taps: h.len(),
        dc_gain,
        passband_max_db,
        passband_min_db,
        passband_ripple_db: passband_max_db - passband_min_db,
        stopband_db,
        stopband_worst_hz,
    }
}

/// Smallest odd number ≥ `n`.
fn odd_at_least(n: usize) -> usize {
    n.max(1) | 1
}

/// Upper bound on design iterations in [`design_lowpass`]; at +5 % each, 60 steps grow the
/// length 18-fold, far past any case the Kaiser estimate misses.
const MAX_DESIGN_ITERATIONS: usize = 60;

/// Design a linear-phase low-pass meeting `spec` (clamped by [`LowpassSpec::clamped`]):
/// Kaiser β from the attenuation, the length from Kaiser's formula (made odd: type I,
/// integer delay (N−1)/2), cutoff in the middle of the transition band; then VERIFY with
/// [`measure_lowpass`]: grow the length by ~5 % (staying odd) until the measured stopband
/// attenuation meets `stopband_db`, then bisect between the last failing and the first
/// passing length for the shortest odd length that passes. DC gain exactly 1.
///
/// Kaiser's formula is a fit and runs a few percent short at high attenuation: for the 8×
/// 20 → 24.1 kHz case it says 553 taps at 100 dB, while 100 dB is only met from ≈ 590.
pub fn design_lowpass(spec: &LowpassSpec) -> Vec<f64> {
    let spec = spec.clamped();
    let beta = kaiser_beta(spec.stopband_db);
    let cutoff_hz = 0.5 * (spec.passband_hz + spec.stopband_hz);
    let design = |taps: usize| lowpass_kaiser(taps, cutoff_hz, spec.sample_rate, beta);
    let passes = |h: &[f64]| meets_stopband(h, &spec);
    let mut taps = odd_at_least(kaiser_taps(
        spec.stopband_db,
        spec.stopband_hz - spec.passband_hz,
        spec.sample_rate,
    ));
    let mut h = design(taps);
    if passes(&h) {
        return h;
    }
    // Grow until met; `failing` is the longest length known to fail.
    let mut failing = taps;
    let mut met = false;
    for _ in 0..MAX_DESIGN_ITERATIONS {
        taps = odd_at_least((taps as f64 * 1.05).ceil() as usize).max(taps + 2);
        h = design(taps);
        if passes(&h) {
            met = true;
            break;
        }
        failing = taps;
    }
    if !met {
        return h;
    }
    // Bisect over odd lengths in (failing, taps].
    while taps - failing > 2 {
        let mid = odd_at_least(failing + (taps - failing) / 2);
        let mid = if mid >= taps { taps - 2 } else { mid };
        let candidate = design(mid);
        if passes(&candidate) {
            taps = mid;
            h = candidate;
        } else {
            failing = mid;
        }
    }
    h
}

/// Interpolation (anti-imaging) filter for `factor`× oversampling: [`design_lowpass`] with
/// `spec` given at the HIGH rate (e.g. 20 kHz → 24.1 kHz at 8 × 44.1 kHz), scaled by
/// `factor` so zero-stuffing then filtering keeps unity passband gain. Each of its `factor`
/// polyphase branches then has a DC gain of ≈ 1.
pub fn interpolation_filter(factor: usize, spec: &LowpassSpec) -> Vec<f64> {
    let gain = factor.max(1) as f64;
    let mut h = design_lowpass(spec);
    h.iter_mut().for_each(|c| *c *= gain);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 8× interpolation spec of `devices.md`: 20 → 24.1 kHz at 8 × 44.1 kHz.
    fn spec_8x(stopband_db: f64) -> LowpassSpec {
        LowpassSpec {
            passband_hz: 20_000.0,
            stopband_hz: 24_100.0,
            stopband_db,
            sample_rate: 8.0 * 44_100.0,
        }
    }

    #[test]
    fn kaiser_beta_matches_formula() {
        assert!((kaiser_beta(100.0) - 0.1102 * 91.3).abs() < 1e-12);
        assert!((kaiser_beta(40.0) - (0.5842 * 19f64.powf(0.4) + 0.07886 * 19.0)).abs() < 1e-12);
        assert_eq!(kaiser_beta(10.0), 0.0);
    }

    #[test]
    fn kaiser_taps_match_devices_md() {
        // devices.md [calc]: about 550 taps at 100 dB, 850 at 150 dB.
        let t100 = kaiser_taps(100.0, 4_100.0, 352_800.0);
        let t150 = kaiser_taps(150.0, 4_100.0, 352_800.0);
        println!("Kaiser taps: 100 dB → {t100}, 150 dB → {t150}");
        assert!((540..=560).contains(&t100), "{t100}");
        assert!((840..=860).contains(&t150), "{t150}");
    }

    #[test]
    fn bessel_i0_known_values() {
        // Abramowitz & Stegun table 9.8: I0(1) = 1.266065878, I0(5) = 27.23987182.
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008).abs() < 1e-12);
        assert!((bessel_i0(5.0) - 27.239_871_823_604_45).abs() < 1e-9);
    }

    #[test]
    fn kaiser_window_symmetric_unit_peak() {
        let w = kaiser_window(101, 8.0);
        assert!((w[50] - 1.0).abs() < 1e-15);
        for n in 0..101 {
            assert!((w[n] - w[100 - n]).abs() < 1e-15);
        }
        assert!(w[0] < w[10] && w[10] < w[50]);
        assert!((w[0] - 1.0 / bessel_i0(8.0)).abs() < 1e-15);
    }

    #[test]
    fn lowpass_kaiser_unity_dc_and_half_gain_at_cutoff() {
        let h = lowpass_kaiser(255, 10_000.0, 48_000.0, kaiser_beta(80.0));
        let dc: f64 = h.iter().sum();
        assert!((dc - 1.0).abs() < 1e-14);
        // A windowed sinc is ≈ −6 dB at its cutoff.
        let at_cut = magnitude_db(&h, 10_000.0, 48_000.0);
        assert!((at_cut + 6.02).abs() < 0.05, "{at_cut}");
        // Linear phase: group delay (N−1)/2 in the passband.
        let gd = group_delay(&h, 1_000.0, 48_000.0);
        assert!((gd - 127.0).abs() < 1e-6, "{gd}");
    }

    #[test]
    fn response_matches_direct_sum() {
        let h: Vec<f64> = (0..300)
            .map(|n| ((n * 7919) % 113) as f64 / 113.0 - 0.5)
            .collect();
        for &f in &[0.0, 123.4, 5_000.0, 23_999.0] {
            let omega = 2.0 * PI * f / 48_000.0;
            let direct: Complex<f64> = h
                .iter()
                .enumerate()
                .map(|(n, c)| Complex::from_polar(*c, -omega * n as f64))
                .sum();
            let fast = response(&h, f, 48_000.0);
            assert!((direct - fast).norm() < 1e-11, "{f}: {direct} vs {fast}");
        }
    }

    #[test]
    fn design_lowpass_meets_spec() {
        for &db in &[100.0, 120.0, 150.0] {
            let spec = spec_8x(db);
            let h = design_lowpass(&spec);
            let m = measure_lowpass(&h, &spec);
            println!(
                "design {db} dB: {} taps (Kaiser estimate {}), stopband {:.2} dB at {:.0} Hz, \
                 ripple {:.2e} dB",
                m.taps,
                kaiser_taps(db, 4_100.0, spec.sample_rate),
                m.stopband_db,
                m.stopband_worst_hz,
                m.passband_ripple_db
            );
            assert!(m.stopband_db >= db, "{m:?}");
            assert_eq!(h.len() % 2, 1);
            assert!((m.dc_gain - 1.0).abs() < 1e-12);
            // Kaiser: passband ripple δp ≈ δs, so tiny at ≥ 100 dB.
            assert!(m.passband_ripple_db < 1e-3, "{m:?}");
            // Within 10 % of the Kaiser estimate, and the next shorter odd length fails (the
            // design is the shortest that meets the spec).
            let estimate = kaiser_taps(db, 4_100.0, spec.sample_rate) as f64;
            assert!((m.taps as f64) < 1.1 * estimate, "{m:?}");
            let shorter = lowpass_kaiser(h.len() - 2, 22_050.0, spec.sample_rate, kaiser_beta(db));
            assert!(measure_lowpass(&shorter, &spec).stopband_db < db);
        }
    }

    #[test]
    fn interpolation_filter_scaled_by_factor() {
        let spec = spec_8x(100.0);
        let h = interpolation_filter(8, &spec);
        let m = measure_lowpass(&h, &spec);
        assert!((m.dc_gain - 8.0).abs() < 1e-10);
        assert!(m.stopband_db >= 100.0);
        // Every polyphase branch has DC gain ≈ 1 (the passband ends well below fs/2 of the
        // low rate, so branch gains agree to the stopband level).
        for phase in 0..8 {
            let branch: f64 = h.iter().skip(phase).step_by(8).sum();
            assert!((branch - 1.0).abs() < 1e-4, "phase {phase}: {branch}");
        }
    }

    #[test]
    fn min_phase_keeps_magnitude_and_cuts_delay() {
        for &db in &[100.0, 150.0] {
            let spec = spec_8x(db);
            let h = design_lowpass(&spec);
            let hm = min_phase(&h);
            assert_eq!(hm.len(), h.len());
            let lin = measure_lowpass(&h, &spec);
            let min = measure_lowpass(&hm, &spec);
            // Passband magnitude point by point.
            let mut worst = 0.0f64;
            for i in 0..=2000 {
                let f = spec.passband_hz * i as f64 / 2000.0;
                let d =
                    magnitude_db(&hm, f, spec.sample_rate) - magnitude_db(&h, f, spec.sample_rate);
                worst = worst.max(d.abs());
            }
            let gd_lin = group_delay(&h, 1_000.0, spec.sample_rate);
            let gd_min = group_delay(&hm, 1_000.0, spec.sample_rate);
            println!(
                "min phase {db} dB, {} taps: passband |Δ| ≤ {worst:.2e} dB, stopband {:.2} dB \
                 (linear {:.2} dB), group delay at 1 kHz {gd_min:.2} vs {gd_lin:.1} samples",
                h.len(),
                min.stopband_db,
                lin.stopband_db
            );
            assert!(worst <= 0.01, "{worst}");
            assert!(
                min.stopband_db >= lin.stopband_db - 3.0,
                "{min:?} vs {lin:?}"
            );
            assert!((gd_lin - (h.len() - 1) as f64 / 2.0).abs() < 1e-6);
            assert!(gd_min < 0.25 * gd_lin, "{gd_min} vs {gd_lin}");
            assert!(gd_min > 0.0);
        }
    }

    #[test]
    fn clamped_spec_is_designable() {
        let bad = LowpassSpec {
            passband_hz: 30_000.0,
            stopband_hz: 90_000.0,
            stopband_db: 500.0,
            sample_rate: 96_000.0,
        };
        let c = bad.clamped();
        assert_eq!(c.stopband_hz, 48_000.0);
        assert!(c.passband_hz < c.stopband_hz);
        assert_eq!(c.stopband_db, 200.0);
        let sane = spec_8x(100.0);
        assert_eq!(sane.clamped(), sane);
    }
}
