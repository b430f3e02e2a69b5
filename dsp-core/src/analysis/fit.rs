//! Least-squares sinusoid fits: [`tone`], [`thd_n`], [`estimate_frequency`].
//!
//! Model: `x[n] ≈ dc + Σ_k (a_k·cos(ω_k n) + b_k·sin(ω_k n))` for `n = 0..N`, solved by the
//! normal equations `G·β = Xᵀx`. The Gram matrix `G` is computed in closed form from
//! Dirichlet sums (so its cost does not grow with N) and factored by Cholesky; only
//! `Xᵀx` (one pass over the signal with rotating phasors) scales with the record length.
//! The fit is exact — not a DFT bin — for any length, any frequency strictly between 0 and
//! Nyquist, and any number of (distinct) frequencies.

use std::f64::consts::{PI, TAU};

use super::spectrum::band_power;
use super::{to_f64_vec, Phasor, Sample, Window};

/// A sinusoid fitted at a known frequency: `x[n] ≈ dc + amplitude·sin(2π·f·n/fs + phase_rad)`
/// with `n = 0` at the first sample of the signal passed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Peak amplitude, linear (1.0 = full scale).
    pub amplitude: f64,
    /// Phase (rad, in (−π, π]) of the sine at the first sample. For a system's phase
    /// response, subtract the input's from the output's (both fitted over the same samples).
    pub phase_rad: f64,
    /// `20·log10(amplitude)`: dB re peak amplitude 1.0 (0 dBFS peak); −inf for silence.
    pub level_db: f64,
    /// Constant term fitted together with the sine (linear).
    pub dc: f64,
}

impl Tone {
    fn from_coefs(cos_coef: f64, sin_coef: f64, dc: f64) -> Self {
        // a·cos + b·sin = A·sin(θ + φ) with A·sinφ = a, A·cosφ = b.
        let amplitude = cos_coef.hypot(sin_coef);
        Self {
            amplitude,
            phase_rad: cos_coef.atan2(sin_coef),
            level_db: 20.0 * amplitude.log10(),
            dc,
        }
    }
}

/// Least-squares fit of `dc + amplitude·sin(2π·freq_hz·n/sample_rate + phase)` to `signal`.
///
/// Exact (to f64 rounding, ~1e-12 relative) for a pure sinusoid of any length, including a
/// fraction of a cycle as long as the record holds about one cycle or more and
/// `0 < freq_hz < sample_rate/2`; other content at other frequencies biases the result by
/// its leakage, which falls as 1/(record length × frequency distance), so give the fit many
/// cycles (≥ 0.1 s) when the signal holds noise or other tones. At exactly 0 Hz or Nyquist
/// the sine part is undetermined and reads 0 there.
///
/// Skip start-up transients (a filter's latency and settling) before calling: the fit sees
/// everything it is given.
pub fn tone<S: Sample>(signal: &[S], sample_rate: f64, freq_hz: f64) -> Tone {
    let x = to_f64_vec(signal);
    let fit = SineFit::new(&x, &[TAU * freq_hz / sample_rate]);
    fit.tone(0)
}

/// Number of harmonics reported by [`thd_n`]: H2..H9.
pub const HARMONICS: usize = 8;

/// THD+N and its parts, as reported by [`thd_n`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThdN {
    /// Fundamental frequency analysed (Hz), as passed in.
    pub fundamental_hz: f64,
    /// Fundamental level, dB peak re amplitude 1.0 (0 dBFS peak).
    pub fundamental_db: f64,
    /// THD+N: RMS of everything but the fundamental and DC within the band, relative to the
    /// fundamental's RMS, in dB (e.g. 0.0173 % → −75.2 dB).
    pub thd_n_db: f64,
    /// The same ratio in percent: `100·10^(thd_n_db/20)`.
    pub thd_n_percent: f64,
    /// THD: the in-band harmonics H2..H9 together, relative to the fundamental (dB).
    pub thd_db: f64,
    /// H2..H9, each relative to the fundamental (dBc); `f64::NEG_INFINITY` for a harmonic at
    /// or above Nyquist or outside the band (it is not counted in `thd_db`; a folded alias
    /// lands in `noise_db`).
    pub harmonics_db: [f64; HARMONICS],
    /// Noise: the in-band residual after removing the fundamental and H2..H9, relative to the
    /// fundamental (dBc). Includes non-harmonic spurs, aliases and harmonics above H9.
    pub noise_db: f64,
}

/// THD+N of a sine at a known `fundamental_hz` within `band_hz` (Hz, e.g.
/// [`AUDIO_BAND_HZ`](super::AUDIO_BAND_HZ)), the way an audio analyzer measures it.
///
/// Method: one least-squares fit of DC, the fundamental and H2..H9 (those below Nyquist)
/// over the whole record; the residual `x − dc − fundamental` is windowed
/// (7-term Blackman-Harris, −180 dB sidelobes, so out-of-band content such as DAC images or
/// shaped ultrasonic noise does not leak in) and its power summed over the FFT bins in the
/// band with the window's ENBW correction — a brick-wall band filter. THD uses the fitted
/// harmonics inside the band; noise is the residual with the harmonics removed too.
///
/// Give it the steady state only: trim filter latency and settling (and any fade-in) from
/// the start, since a transient counts as noise. 0.1–1 s is plenty; the bin width
/// `sample_rate/len` sets how sharp the band edges are (a component within ~7 bins of an
/// edge is partly counted). On `f32` input the floor is f32 rounding of the samples: a
/// full-scale 997 Hz sine reads −154 dB at 44.1 kHz and −163 dB at 352.8 kHz (the rounding
/// noise spreads over the wider band); on `f64` input the analyzer's own floor is −262 dB.
pub fn thd_n<S: Sample>(
    signal: &[S],
    sample_rate: f64,
    fundamental_hz: f64,
    band_hz: (f64, f64),
) -> ThdN {
    let x = to_f64_vec(signal);
    let nyquist = 0.5 * sample_rate;
    // Frequencies fitted: the fundamental, then H2.. while below Nyquist.
    let freqs: Vec<f64> = (1..=HARMONICS + 1)
        .map(|k| k as f64 * fundamental_hz)
        .take_while(|&f| f < nyquist)
        .collect();
    let omegas: Vec<f64> = freqs.iter().map(|f| TAU * f / sample_rate).collect();
    let fit = SineFit::new(&x, &omegas);
    let fundamental = fit.tone(0);
    let fund_power = 0.5 * fundamental.amplitude.powi(2);

    let mut residual = x;
    fit.subtract(&mut residual, true, 0..1);
    let thd_n_power = band_power(&residual, sample_rate, band_hz, Window::BlackmanHarris7);
    fit.subtract(&mut residual, false, 1..freqs.len());
    let noise_power = band_power(&residual, sample_rate, band_hz, Window::BlackmanHarris7);

    let mut harmonics_db = [f64::NEG_INFINITY; HARMONICS];
    let mut thd_ratio = 0.0;
    for (i, &f) in freqs.iter().enumerate().skip(1) {
        if f >= band_hz.0 && f <= band_hz.1 {
            let ratio = fit.tone(i).amplitude / fundamental.amplitude;
            thd_ratio += ratio * ratio;
            harmonics_db[i - 1] = 20.0 * ratio.log10();
        }
    }
    let thd_n_ratio = thd_n_power / fund_power;
    ThdN {
        fundamental_hz,
        fundamental_db: fundamental.level_db,
        thd_n_db: 10.0 * thd_n_ratio.log10(),
        thd_n_percent: 100.0 * thd_n_ratio.sqrt(),
        thd_db: 10.0 * thd_ratio.log10(),
        harmonics_db,
        noise_db: 10.0 * (noise_power / fund_power).log10(),
    }
}

/// Refine the frequency (Hz) of the dominant sinusoid near `approx_hz`, for systems whose
/// output frequency is not exactly known (a resampler, a clock model).
///
/// Method: fit the phase at the current estimate over the first and the second half of the
/// record; the phase advance between the halves gives the frequency error. Converges
/// when `|approx_hz − true| < sample_rate / len` (one bin of the whole record); iterated
/// until the correction is below 1e-12 relative. Exact (~1e-9 Hz) on a clean sine.
pub fn estimate_frequency<S: Sample>(signal: &[S], sample_rate: f64, approx_hz: f64) -> f64 {
    let x = to_f64_vec(signal);
    let half = x.len() / 2;
    if half < 2 {
        return approx_hz;
    }
    let mut freq_hz = approx_hz;
    for _ in 0..8 {
        let omega = TAU * freq_hz / sample_rate;
        let first = SineFit::new(&x[..half], &[omega]).tone(0);
        let second = SineFit::new(&x[half..2 * half], &[omega]).tone(0);
        // φ2 − φ1 = ω_true·half (mod 2π); the fit's own bias is common to both halves.
        let advance = second.phase_rad - first.phase_rad - omega * half as f64;
        let wrapped = advance - TAU * (advance / TAU).round();
        let correction_hz = wrapped / half as f64 * sample_rate / TAU;
        freq_hz += correction_hz;
        if correction_hz.abs() <= 1e-12 * freq_hz.abs() {
            break;
        }
    }
    freq_hz
}

/// A solved least-squares fit of DC plus sinusoids at the given angular frequencies.
pub(crate) struct SineFit {
    omegas: Vec<f64>,
    dc: f64,
    /// `(cos, sin)` coefficient per frequency.
    coefs: Vec<(f64, f64)>,
}

impl SineFit {
    /// Fit `dc + Σ a_k cos(ω_k n) + b_k sin(ω_k n)` to `x` (ω in rad/sample, distinct).
    pub(crate) fn new(x: &[f64], omegas: &[f64]) -> Self {
        let cols = 1 + 2 * omegas.len();
        let gram = gram_matrix(omegas, x.len());

        // Xᵀx: one pass with rotating phasors.
        let mut rhs = vec![0.0; cols];
        let mut phasors: Vec<Phasor> = omegas.iter().map(|&w| Phasor::new(w)).collect();
        for &v in x {
            rhs[0] += v;
            for (k, p) in phasors.iter_mut().enumerate() {
                let z = p.next_value();
                rhs[1 + 2 * k] += v * z.re;
                rhs[2 + 2 * k] += v * z.im;
            }
        }

        let beta = solve_normal_equations(gram, &rhs, cols, x.len() as f64);
        Self {
            omegas: omegas.to_vec(),
            dc: beta[0],
            coefs: (0..omegas.len())
                .map(|k| (beta[1 + 2 * k], beta[2 + 2 * k]))
                .collect(),
        }
    }

    /// The `k`-th fitted sinusoid (with the common DC).
    pub(crate) fn tone(&self, k: usize) -> Tone {
        let (a, b) = self.coefs[k];
        Tone::from_coefs(a, b, self.dc)
    }

    /// Subtract the fitted components `range` (and the DC if `with_dc`) from `x`.
    pub(crate) fn subtract(&self, x: &mut [f64], with_dc: bool, range: std::ops::Range<usize>) {
        let dc = if with_dc { self.dc } else { 0.0 };
        let mut phasors: Vec<(Phasor, (f64, f64))> = range
            .map(|k| (Phasor::new(self.omegas[k]), self.coefs[k]))
            .collect();
        for v in x.iter_mut() {
            let mut model = dc;
            for (p, (a, b)) in phasors.iter_mut() {
                let z = p.next_value();
                model += *a * z.re + *b * z.im;
            }
            *v -= model;
        }
    }
}

/// `(Σ cos(θn), Σ sin(θn))` for `n = 0..len`, in the stable closed form
/// `sin(Nθ/2)/sin(θ/2) · (cos, sin)((N−1)θ/2)`. The ratio is evaluated with θ/2 reduced to
/// `mπ + δ` (`|δ| ≤ π/2`): `sin(N(mπ+δ))/sin(mπ+δ) = (−1)^{m(N−1)} sin(Nδ)/sin(δ)`, which
/// stays accurate as θ → 2πm (limit N).
fn dirichlet(theta: f64, len: usize) -> (f64, f64) {
    if len == 0 {
        return (0.0, 0.0);
    }
    let n = len as f64;
    let half = 0.5 * theta;
    let m = (half / PI).round();
    let delta = half - m * PI;
    let ratio = if delta == 0.0 {
        n
    } else {
        (n * delta).sin() / delta.sin()
    };
    let odd = (m as i64).rem_euclid(2) == 1 && (len - 1) % 2 == 1;
    let r = if odd { -ratio } else { ratio };
    let centre = half * (n - 1.0);
    (centre.cos() * r, centre.sin() * r)
}

/// Gram matrix `XᵀX` (row-major, `cols × cols`) of the columns
/// `[1, cos ω_0 n, sin ω_0 n, cos ω_1 n, …]` over `n = 0..len`, from product-to-sum
/// identities and [`dirichlet`] sums.
fn gram_matrix(omegas: &[f64], len: usize) -> Vec<f64> {
    let cols = 1 + 2 * omegas.len();
    let mut g = vec![0.0; cols * cols];
    let mut set = |r: usize, c: usize, v: f64| {
        g[r * cols + c] = v;
        g[c * cols + r] = v;
    };
    set(0, 0, len as f64);
    for (i, &wi) in omegas.iter().enumerate() {
        let a = 1 + 2 * i;
        let (c, s) = dirichlet(wi, len);
        set(0, a, c);
        set(0, a + 1, s);
        for (j, &wj) in omegas.iter().enumerate().skip(i) {
            let b = 1 + 2 * j;
            let (c_minus, s_minus) = dirichlet(wi - wj, len);
            let (c_plus, s_plus) = dirichlet(wi + wj, len);
            // cos a cos b = ½[cos(a−b) + cos(a+b)]; sin a sin b = ½[cos(a−b) − cos(a+b)];
            // cos a sin b = ½[sin(a+b) − sin(a−b)]; sin a cos b = ½[sin(a+b) + sin(a−b)].
            set(a, b, 0.5 * (c_minus + c_plus));
            set(a + 1, b + 1, 0.5 * (c_minus - c_plus));
            set(a, b + 1, 0.5 * (s_plus - s_minus));
            set(a + 1, b, 0.5 * (s_plus + s_minus));
        }
    }
    g
}

/// Solve `G·β = y` for symmetric positive semi-definite `G` by Cholesky. A column whose
/// pivot falls below `1e-9·len` (a sine at 0 Hz or Nyquist, a cosine at 0 Hz duplicating
/// the DC column) is dropped from the model and its coefficient set to 0.
fn solve_normal_equations(g: Vec<f64>, y: &[f64], cols: usize, len: f64) -> Vec<f64> {
    let tol = 1e-9 * len.max(1.0);
    let mut l = vec![0.0f64; cols * cols];
    let mut active = vec![false; cols];
    for j in 0..cols {
        let d = g[j * cols + j] - (0..j).map(|k| l[j * cols + k].powi(2)).sum::<f64>();
        if d <= tol {
            continue;
        }
        active[j] = true;
        let ljj = d.sqrt();
        l[j * cols + j] = ljj;
        for i in j + 1..cols {
            let dot: f64 = (0..j).map(|k| l[i * cols + k] * l[j * cols + k]).sum();
            l[i * cols + j] = (g[i * cols + j] - dot) / ljj;
        }
    }
    // L·z = y, then Lᵀ·β = z, skipping dropped columns (their L entries are zero).
    let mut z = vec![0.0; cols];
    for j in (0..cols).filter(|&j| active[j]) {
        let dot: f64 = (0..j).map(|k| l[j * cols + k] * z[k]).sum();
        z[j] = (y[j] - dot) / l[j * cols + j];
    }
    let mut beta = vec![0.0; cols];
    for j in (0..cols).rev().filter(|&j| active[j]) {
        let dot: f64 = (j + 1..cols).map(|k| l[k * cols + j] * beta[k]).sum();
        beta[j] = (z[j] - dot) / l[j * cols + j];
    }
    beta
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::AUDIO_BAND_HZ;
    use super::*;

    fn wrap(phase: f64) -> f64 {
        phase - TAU * (phase / TAU).round()
    }

    #[test]
    fn gram_closed_form_matches_numeric_sums() {
        // Frequencies including a near-Nyquist one and sums near 2π.
        let omegas = [0.1234, 0.2468, 1.7, 3.1, PI - 2.7e-6];
        for len in [1usize, 2, 7, 1000, 4411] {
            let g = gram_matrix(&omegas, len);
            let cols = 1 + 2 * omegas.len();
            let col = |c: usize, n: usize| -> f64 {
                if c == 0 {
                    1.0
                } else {
                    let w = omegas[(c - 1) / 2] * n as f64;
                    if c % 2 == 1 {
                        w.cos()
                    } else {
                        w.sin()
                    }
                }
            };
            let mut worst = 0.0f64;
            for r in 0..cols {
                for c in 0..cols {
                    let numeric: f64 = (0..len).map(|n| col(r, n) * col(c, n)).sum();
                    worst = worst.max((numeric - g[r * cols + c]).abs());
                }
            }
            println!("len {len}: Gram closed form vs sum, worst abs error {worst:e}");
            assert!(worst < 1e-9 * len as f64);
        }
    }

    #[test]
    fn tone_exact_off_bin_with_dc() {
        // 1234.567 Hz at 48 kHz over 10007 samples = 257.37 cycles (not whole, not a bin).
        let (fs, f, amp, phase, dc) = (48_000.0, 1_234.567, 0.7, 0.9, 0.1);
        let mut x = sine(10_007, fs, f, amp, phase);
        let t = tone(&x, fs, f);
        println!(
            "no DC: amplitude rel err {:e}, phase err {:e}",
            (t.amplitude / amp - 1.0).abs(),
            wrap(t.phase_rad - phase).abs()
        );
        assert!((t.amplitude / amp - 1.0).abs() < 1e-9);
        assert!(wrap(t.phase_rad - phase).abs() < 1e-9);
        assert!(t.dc.abs() < 1e-9);

        for v in &mut x {
            *v += dc;
        }
        let t = tone(&x, fs, f);
        println!(
            "with DC: amplitude rel err {:e}, phase err {:e}, dc err {:e}",
            (t.amplitude / amp - 1.0).abs(),
            wrap(t.phase_rad - phase).abs(),
            (t.dc - dc).abs()
        );
        assert!((t.amplitude / amp - 1.0).abs() < 1e-9);
        assert!(wrap(t.phase_rad - phase).abs() < 1e-9);
        assert!((t.dc - dc).abs() < 1e-9);
        assert!((t.level_db - 20.0 * amp.log10()).abs() < 1e-8);

        // f32 input: limited by f32 rounding of the samples (~6e-8 relative).
        let t = tone(&to_f32(&x), fs, f);
        println!(
            "f32 input: amplitude rel err {:e}",
            (t.amplitude / amp - 1.0).abs()
        );
        assert!((t.amplitude / amp - 1.0).abs() < 1e-6);
        assert!(wrap(t.phase_rad - phase).abs() < 1e-6);
    }

    #[test]
    fn tone_exact_on_short_record() {
        // 1.3 cycles of 50 Hz at 44.1 kHz, with DC: poorly separated from the DC column
        // but still exact.
        let (fs, f, amp, phase, dc) = (44_100.0, 50.0, 0.25, -2.0, -0.05);
        let len = (1.3 * fs / f) as usize;
        let x: Vec<f64> = sine(len, fs, f, amp, phase)
            .iter()
            .map(|v| v + dc)
            .collect();
        let t = tone(&x, fs, f);
        println!(
            "1.3 cycles: amplitude rel err {:e}, phase err {:e}, dc err {:e}",
            (t.amplitude / amp - 1.0).abs(),
            wrap(t.phase_rad - phase).abs(),
            (t.dc - dc).abs()
        );
        assert!((t.amplitude / amp - 1.0).abs() < 1e-9);
        assert!(wrap(t.phase_rad - phase).abs() < 1e-9);
        assert!((t.dc - dc).abs() < 1e-9);
    }

    #[test]
    fn tone_degenerate_frequencies_do_not_blow_up() {
        let x = vec![0.5f64; 100];
        let t = tone(&x, 48_000.0, 0.0);
        assert!((t.dc - 0.5).abs() < 1e-12 && t.amplitude.abs() < 1e-12);
        // Nyquist: cos(πn) is fitted, sin(πn) ≡ 0 is dropped.
        let x: Vec<f64> = (0..100)
            .map(|n| 0.3 * if n % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let t = tone(&x, 48_000.0, 24_000.0);
        assert!((t.amplitude - 0.3).abs() < 1e-12, "{t:?}");
        let t = tone::<f32>(&[], 48_000.0, 1_000.0);
        assert_eq!(t.amplitude, 0.0);
    }

    #[test]
    fn estimate_frequency_converges() {
        let (fs, f) = (48_000.0, 1_000.37);
        let x = sine(24_000, fs, f, 0.5, 0.4);
        let est = estimate_frequency(&x, fs, 1_000.0);
        println!("estimate_frequency error {:e} Hz", est - f);
        assert!((est - f).abs() < 1e-6);
    }

    /// `sin(wt) + a2·sin(2wt + 0.3) + a3·sin(3wt + 1.1)` at f0 = 997 Hz.
    fn distorted(fs: f64, seconds: f64, a2: f64, a3: f64) -> Vec<f64> {
        let len = (seconds * fs) as usize;
        let f0 = 997.0;
        let h1 = sine(len, fs, f0, 1.0, 0.0);
        let h2 = sine(len, fs, 2.0 * f0, a2, 0.3);
        let h3 = sine(len, fs, 3.0 * f0, a3, 1.1);
        (0..len).map(|n| h1[n] + h2[n] + h3[n]).collect()
    }

    #[test]
    fn thd_n_harmonics_closed_form() {
        let (a2, a3) = (1e-3, 3e-4);
        for fs in [44_100.0, 352_800.0] {
            let x = to_f32(&distorted(fs, 0.25, a2, a3));
            let r = thd_n(&x, fs, 997.0, AUDIO_BAND_HZ);
            let thd = 10.0 * (a2 * a2 + a3 * a3).log10();
            println!(
                "fs {fs}: H2 {:.5} dBc, H3 {:.5} dBc (want {:.5}), THD {:.5} (want {thd:.5}), \
                 THD+N {:.5} dB, noise {:.2} dBc, H4..H9 {:?}",
                r.harmonics_db[0],
                r.harmonics_db[1],
                20.0 * a3.log10(),
                r.thd_db,
                r.thd_n_db,
                r.noise_db,
                &r.harmonics_db[2..]
            );
            assert!((r.fundamental_db - 0.0).abs() < 1e-5);
            assert!((r.harmonics_db[0] - -60.0).abs() < 0.01);
            assert!((r.harmonics_db[1] - 20.0 * a3.log10()).abs() < 0.01);
            assert!((r.thd_db - thd).abs() < 0.01);
            // No noise added: THD+N is the harmonics (plus the f32 floor ~−150 dB).
            assert!((r.thd_n_db - thd).abs() < 0.01);
            assert!(r.noise_db < -130.0);
            assert!(r.harmonics_db[2..].iter().all(|&h| h < -120.0));
            let want_percent = 100.0 * (a2 * a2 + a3 * a3).sqrt();
            assert!((r.thd_n_percent / want_percent - 1.0).abs() < 1e-3);
        }
    }

    #[test]
    fn thd_n_with_white_noise_closed_form() {
        let (a2, a3, sigma) = (1e-3, 3e-4, 3e-4);
        for fs in [44_100.0, 352_800.0] {
            // 1 s: ~7600 independent noise bins in the band (ENBW 2.63 bins) at 352.8 kHz,
            // ~7600 at 44.1 kHz too (1 Hz bins) → ±1.2 % (±0.05 dB) realisation spread.
            let mut x = distorted(fs, 1.0, a2, a3);
            let noise = white_noise(x.len(), sigma, 0x5EED);
            for (v, n) in x.iter_mut().zip(&noise) {
                *v += n;
            }
            let r = thd_n(&to_f32(&x), fs, 997.0, AUDIO_BAND_HZ);
            // White noise: the band holds (20 kHz − 20 Hz)/(fs/2) of its power.
            let noise_in_band = sigma * sigma * (AUDIO_BAND_HZ.1 - AUDIO_BAND_HZ.0) / (0.5 * fs);
            let want_thd_n = 10.0 * ((0.5 * (a2 * a2 + a3 * a3) + noise_in_band) / 0.5).log10();
            let want_noise = 10.0 * (noise_in_band / 0.5).log10();
            println!(
                "fs {fs}: THD+N {:.3} dB (want {want_thd_n:.3}), noise {:.3} dBc (want {want_noise:.3}), H2 {:.3}",
                r.thd_n_db, r.noise_db, r.harmonics_db[0]
            );
            assert!((r.thd_n_db - want_thd_n).abs() < 0.2);
            assert!((r.noise_db - want_noise).abs() < 0.2);
            assert!((r.harmonics_db[0] - -60.0).abs() < 0.1);
        }
    }

    #[test]
    fn thd_n_floor_of_pure_sine() {
        for fs in [44_100.0, 352_800.0] {
            let x = sine((0.25 * fs) as usize, fs, 997.0, 1.0, 0.2);
            let r32 = thd_n(&to_f32(&x), fs, 997.0, AUDIO_BAND_HZ);
            let r64 = thd_n(&x, fs, 997.0, AUDIO_BAND_HZ);
            println!(
                "fs {fs}: pure 0 dBFS sine THD+N f32 {:.1} dB (noise {:.1} dBc), f64 {:.1} dB",
                r32.thd_n_db, r32.noise_db, r64.thd_n_db
            );
            assert!(r32.thd_n_db < -130.0);
            assert!(r64.thd_n_db < -250.0);
        }
    }

    #[test]
    fn thd_n_marks_harmonics_above_nyquist_or_band() {
        // 8 kHz at 44.1 kHz: H2 16 kHz in band, H3 24 kHz above Nyquist.
        let fs = 44_100.0;
        let len = 11_025;
        let x: Vec<f64> = sine(len, fs, 8_000.0, 0.5, 0.0)
            .iter()
            .zip(sine(len, fs, 16_000.0, 0.5e-3, 0.0))
            .map(|(a, b)| a + b)
            .collect();
        let r = thd_n(&x, fs, 8_000.0, AUDIO_BAND_HZ);
        println!("{r:?}");
        assert!((r.harmonics_db[0] - -60.0).abs() < 1e-6);
        assert!(r.harmonics_db[1..].iter().all(|h| *h == f64::NEG_INFINITY));
        assert!((r.thd_db - -60.0).abs() < 1e-6);
    }
}
