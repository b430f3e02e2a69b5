//! FFT-based measurements (levels, THD+N, harmonics, frequency response, latency) used by
//! the tests and by `cargo xtask measure`.
//!
//! Everything here works in `f64`, whatever the input type ([`Sample`] is implemented for
//! `f32` and `f64`), allocates freely and is meant for tests and offline measurement, never
//! for the audio thread.
//!
//! - [`tone`]: least-squares fit of a sinusoid (plus DC) at a known frequency — exact for
//!   any record length, not only whole cycles. The workhorse of stepped-sine frequency
//!   responses; [`estimate_frequency`] refines a frequency that is only approximately known.
//! - [`thd_n`]: THD+N, THD, H2..H9 and noise of a sine through a system, in a band (like an
//!   Audio Precision analyzer: fundamental removed by a fit, residual measured in
//!   20 Hz–20 kHz by a 7-term Blackman-Harris FFT).
//! - [`spectrum`]: windowed one-sided spectrum, amplitude-corrected for tones
//!   ([`Spectrum::level_at`]) and ENBW-corrected for noise ([`Spectrum::power_in_band_db`]).
//! - [`frequency_response`] / [`group_delay_samples`]: direct DFT of an impulse response at
//!   arbitrary frequencies (no FFT grid, no interpolation).
//! - [`a_weighting_db`] / [`noise_rms_a_weighted`]: IEC 61672 A-weighting.
//! - [`rms`], [`rms_db`], [`impulse_peak`], [`log_frequencies`]: small helpers.
//!
//! Level conventions: "dB peak" (`Tone::level_db`, `ThdN::fundamental_db`,
//! `Spectrum::magnitude_db`) is `20·log10(peak amplitude)`, so a full-scale sine
//! (amplitude 1.0) reads 0 dB. "dB RMS" (`rms_db`, `Spectrum::power_in_band_db`) is
//! `10·log10(mean square)`, so the same sine reads −3.01 dB and white noise of RMS σ reads
//! `20·log10(σ)`. Ratios (`dBc`) are relative to the fundamental's power.

mod fit;
mod response;
mod spectrum;
mod weighting;
mod window;

pub use fit::{estimate_frequency, thd_n, tone, ThdN, Tone, HARMONICS};
pub use realfft::num_complex::Complex;
pub use response::{frequency_response, group_delay_samples, magnitude_db};
pub use spectrum::{spectrum, Spectrum};
pub use weighting::{a_weighting_db, noise_rms_a_weighted};
pub use window::Window;

/// The audio band used by default for THD+N and noise (Hz): 20 Hz to 20 kHz, as an AP
/// analyzer's 20 kHz band-limit with its 20 Hz high-pass.
pub const AUDIO_BAND_HZ: (f64, f64) = (20.0, 20_000.0);

/// A sample type the analyzer accepts (`f32` or `f64`); analysis always runs in `f64`.
pub trait Sample: Copy {
    /// The sample as `f64` (exact for both implementations).
    fn to_f64(self) -> f64;
}

impl Sample for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Sample for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
}

/// Copy a signal into `f64`.
fn to_f64_vec<S: Sample>(signal: &[S]) -> Vec<f64> {
    signal.iter().map(|s| s.to_f64()).collect()
}

/// RMS (linear, same unit as the samples) of `signal`; 0 for an empty signal.
pub fn rms<S: Sample>(signal: &[S]) -> f64 {
    if signal.is_empty() {
        return 0.0;
    }
    let sum_sq: f64 = signal.iter().map(|s| s.to_f64().powi(2)).sum();
    (sum_sq / signal.len() as f64).sqrt()
}

/// RMS in dB re RMS 1.0: `20·log10(rms)`. A full-scale sine (peak 1.0) reads −3.01 dB
/// (add 3.01 dB for AES17 dBFS); −inf for silence.
pub fn rms_db<S: Sample>(signal: &[S]) -> f64 {
    20.0 * rms(signal).log10()
}

/// Index of the sample with the largest magnitude (the first one on ties); 0 for an empty
/// signal. Compare with a stage's reported `latency_samples()` on an impulse.
pub fn impulse_peak<S: Sample>(signal: &[S]) -> usize {
    let mut best = 0;
    let mut best_abs = f64::NEG_INFINITY;
    for (i, s) in signal.iter().enumerate() {
        let a = s.to_f64().abs();
        if a > best_abs {
            best_abs = a;
            best = i;
        }
    }
    best
}

/// Log-spaced frequencies (Hz) from `f_lo` to `f_hi`, both included, with at least
/// `points_per_octave` points per octave: `f_lo·r^i` for `i = 0..=n`, where
/// `n = ceil(log2(f_hi/f_lo)·points_per_octave)` and `r = (f_hi/f_lo)^(1/n)`. The step is
/// exactly `1/points_per_octave` octave when the span is a whole number of steps
/// (e.g. 1 kHz–8 kHz at 1/octave → 1, 2, 4, 8 kHz).
///
/// Returns `[f_lo]` when `f_hi <= f_lo`, and an empty vector for non-positive or non-finite
/// input or `points_per_octave <= 0`.
pub fn log_frequencies(f_lo: f64, f_hi: f64, points_per_octave: f64) -> Vec<f64> {
    let valid = |v: f64| v.is_finite() && v > 0.0;
    if !valid(f_lo) || !valid(f_hi) || !valid(points_per_octave) {
        return Vec::new();
    }
    if f_hi <= f_lo {
        return vec![f_lo];
    }
    let octaves = (f_hi / f_lo).log2();
    // The 1e-9 guards against 3.0000000001 steps becoming 4 from rounding.
    let steps = (octaves * points_per_octave - 1e-9).ceil().max(1.0) as usize;
    let mut out: Vec<f64> = (0..=steps)
        .map(|i| f_lo * (f_hi / f_lo).powf(i as f64 / steps as f64))
        .collect();
    // Exact end points, free of powf rounding.
    out[steps] = f_hi;
    out
}

/// A deterministic white test signal: `len` samples uniform in [−0.5, 0.5) from a 32-bit
/// xorshift seeded with `seed` (a different `seed` per channel gives uncorrelated channels).
/// For benches and tests that need the same noise on every run.
pub fn xorshift_noise(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) - 0.5
        })
        .collect()
}

/// `e^{jωn}` for `n = 0, 1, 2, …` by complex rotation, re-anchored with an exact
/// `sin_cos(ω·n)` every [`Phasor::RESYNC`] samples so the rounding error never grows
/// past ~1e-13 (1024 rotations of ~1e-16 each). Much faster than one `sin_cos` per sample.
struct Phasor {
    omega: f64,
    index: usize,
    z: Complex<f64>,
    step: Complex<f64>,
}

impl Phasor {
    /// Re-anchoring period (a power of two).
    const RESYNC: usize = 1024;

    /// A phasor at `omega` radians per sample, starting at n = 0.
    fn new(omega: f64) -> Self {
        let (s, c) = omega.sin_cos();
        Self {
            omega,
            index: 0,
            z: Complex::new(1.0, 0.0),
            step: Complex::new(c, s),
        }
    }

    /// `e^{jω·n}` for the current `n`, then advance `n`.
    #[inline]
    fn next_value(&mut self) -> Complex<f64> {
        if self.index & (Self::RESYNC - 1) == 0 {
            let (s, c) = (self.omega * self.index as f64).sin_cos();
            self.z = Complex::new(c, s);
        }
        let z = self.z;
        self.z *= self.step;
        self.index += 1;
        z
    }
}

/// Deterministic test signals shared by the analysis tests.
#[cfg(test)]
pub(crate) mod testutil {
    use std::f64::consts::TAU;

    /// xorshift64* generator (Vigna 2016): deterministic white noise for tests.
    pub struct XorShift(u64);

    impl XorShift {
        pub fn new(seed: u64) -> Self {
            Self(seed.max(1))
        }

        pub fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform in [−1, 1): RMS 1/√3.
        pub fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        }
    }

    /// `len` samples of uniform white noise scaled to an RMS of exactly `rms_target`.
    pub fn white_noise(len: usize, rms_target: f64, seed: u64) -> Vec<f64> {
        let mut rng = XorShift::new(seed);
        let mut v: Vec<f64> = (0..len).map(|_| rng.uniform()).collect();
        let r = super::rms(&v);
        for x in &mut v {
            *x *= rms_target / r;
        }
        v
    }

    /// `amplitude·sin(2π·freq_hz·n/fs + phase_rad)` for `n in 0..len`.
    pub fn sine(
        len: usize,
        sample_rate: f64,
        freq_hz: f64,
        amplitude: f64,
        phase_rad: f64,
    ) -> Vec<f64> {
        (0..len)
            .map(|n| amplitude * (TAU * freq_hz * n as f64 / sample_rate + phase_rad).sin())
            .collect()
    }

    pub fn to_f32(v: &[f64]) -> Vec<f32> {
        v.iter().map(|&x| x as f32).collect()
    }
}

#[cfg(test)]
mod tests {

    /// The test noise is in [−0.5, 0.5], near zero mean, near the uniform distribution's
    /// rms (1/√12 = 0.2887), the same for the same seed and different for another.
    #[test]
    fn xorshift_noise_is_uniform_and_repeatable() {
        let x = xorshift_noise(100_000, 1);
        assert!(x.iter().all(|v| (-0.5..=0.5).contains(v)));
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.005, "mean {mean}");
        assert!((rms(&x) - 0.2887).abs() < 0.002, "rms {}", rms(&x));
        assert_eq!(x, xorshift_noise(100_000, 1));
        assert_ne!(x[..100], xorshift_noise(100, 2)[..]);
    }
    use super::testutil::*;
    use super::*;

    #[test]
    fn rms_of_whole_cycle_sine_is_amplitude_over_sqrt2() {
        // 48 kHz, 1 kHz, 480 samples = 10 whole cycles: mean of sin² is exactly 1/2.
        let x = sine(480, 48_000.0, 1_000.0, 0.5, 0.3);
        let err = (rms(&x) - 0.5 / 2f64.sqrt()).abs();
        println!("rms error {err:e}");
        assert!(err < 1e-12);
        assert!((rms_db(&x) - 20.0 * (0.5 / 2f64.sqrt()).log10()).abs() < 1e-9);
        assert_eq!(rms::<f32>(&[]), 0.0);
    }

    #[test]
    fn impulse_peak_finds_largest_magnitude() {
        let mut x = vec![0.0f32; 300];
        x[100] = 0.5;
        x[123] = -0.9;
        x[200] = 0.9; // tie: the first one wins
        assert_eq!(impulse_peak(&x), 123);
        assert_eq!(impulse_peak::<f64>(&[]), 0);
    }

    #[test]
    fn log_frequencies_spacing() {
        let f = log_frequencies(1_000.0, 8_000.0, 1.0);
        assert_eq!(f.len(), 4);
        for (got, want) in f.iter().zip([1_000.0, 2_000.0, 4_000.0, 8_000.0]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        // 20 Hz–20 kHz at 3/octave: log2(1000)·3 = 29.9 → 30 steps, 31 points, each step
        // 9.966/30 = 0.3322 octave ≤ 1/3.
        let f = log_frequencies(20.0, 20_000.0, 3.0);
        assert_eq!(f.len(), 31);
        assert_eq!(f[0], 20.0);
        assert_eq!(f[30], 20_000.0);
        let ratio = f[1] / f[0];
        assert!(ratio <= 2f64.powf(1.0 / 3.0));
        for w in f.windows(2) {
            assert!((w[1] / w[0] - ratio).abs() < 1e-12);
        }
        assert!(log_frequencies(0.0, 100.0, 3.0).is_empty());
        assert_eq!(log_frequencies(100.0, 100.0, 3.0), vec![100.0]);
    }

    #[test]
    fn one_second_at_384k_analyses_quickly() {
        // The brief: 1 s at 384 kHz well under a second (dev profile, opt-level 1). Timed
        // on a shared machine, so the assert is loose; the printed figure is the one to read.
        let fs = 384_000.0;
        let x = to_f32(&sine(384_000, fs, 997.0, 0.5, 0.0));
        let start = std::time::Instant::now();
        let r = thd_n(&x, fs, 997.0, AUDIO_BAND_HZ);
        let t_thd = start.elapsed();
        let s = spectrum(&x, fs, Window::BlackmanHarris7);
        let t_spec = start.elapsed() - t_thd;
        let a = noise_rms_a_weighted(&x, fs);
        let t_all = start.elapsed();
        println!(
            "1 s @ 384 kHz: thd_n {t_thd:?} ({:.1} dB), spectrum {t_spec:?}, total with A-weighted noise {t_all:?}",
            r.thd_n_db
        );
        assert!(s.level_at(997.0) > -6.1 && a > 0.0);
        assert!(t_all.as_secs_f64() < 5.0);
    }

    #[test]
    fn phasor_matches_sin_cos() {
        // The reference itself carries the rounding of ω·n (~n·1e-16 rad, 1e-11 at
        // n = 1e5), which dominates; the rotation adds ≤ 1024 ulp between re-anchors.
        let omega = 0.123_456_789;
        let mut p = Phasor::new(omega);
        let mut worst = 0.0f64;
        for n in 0..100_000 {
            let z = p.next_value();
            let (s, c) = (omega * n as f64).sin_cos();
            worst = worst.max((z.re - c).abs()).max((z.im - s).abs());
        }
        println!("phasor worst error {worst:e}");
        assert!(worst < 1e-11);
    }
}
