//! Windowed one-sided spectra: amplitude-corrected for tones, ENBW-corrected for noise.

use std::ops::Range;

use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

use super::{to_f64_vec, Sample, Window};

/// One-sided spectrum of a real signal (one FFT over the whole record, no averaging).
///
/// Bin `k` is at `k·bin_hz`, `k = 0..=len/2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Bin centre frequencies (Hz).
    pub freqs_hz: Vec<f64>,
    /// Amplitude-corrected level of each bin, dB peak: a sine of amplitude 1.0 reads 0 dB at
    /// its peak bin when centred on it; between bins it reads lower by the window's
    /// scalloping loss (up to −0.003 dB `FlatTop`, −0.48 dB `BlackmanHarris7`, −1.42 dB
    /// `Hann`, −3.92 dB `Rect`; see [`Window`]). −inf for an exact zero.
    pub magnitude_db: Vec<f64>,
    /// Mean-square power of each bin (linear, amplitude² units), ENBW-corrected so that a
    /// sum over bins is the power in that band: white noise of variance σ² sums to σ² over
    /// all bins, a sine of amplitude A to A²/2 over its main lobe.
    pub bin_power: Vec<f64>,
    /// Bin spacing `sample_rate / len` (Hz).
    pub bin_hz: f64,
    /// The window used.
    pub window: Window,
}

/// Windowed FFT spectrum of `signal` (whole record, one-sided, `len/2 + 1` bins).
///
/// Scaling: `|X_w[k]|·2/Σw` for the amplitude (1 at DC and Nyquist, which have no
/// mirror), `|X_w[k]|²·2/(len·Σw²)` for the power. Pass `&[f64]` to see below the f32
/// rounding floor (about −150 dB for a full-scale tone); with `BlackmanHarris7` a
/// −150 dB tone 2 kHz from a 0 dB one reads within ±1 dB.
pub fn spectrum<S: Sample>(signal: &[S], sample_rate: f64, window: Window) -> Spectrum {
    let x = to_f64_vec(signal);
    let len = x.len();
    let bin_hz = if len == 0 {
        0.0
    } else {
        sample_rate / len as f64
    };
    let fft = windowed_fft(&x, window);
    let mut freqs_hz = Vec::with_capacity(fft.bins.len());
    let mut magnitude_db = Vec::with_capacity(fft.bins.len());
    let mut bin_power = Vec::with_capacity(fft.bins.len());
    for (k, bin) in fft.bins.iter().enumerate() {
        let mirror = fft.mirror_factor(k);
        freqs_hz.push(k as f64 * bin_hz);
        magnitude_db.push(20.0 * (bin.norm() * mirror / fft.sum_w).log10());
        bin_power.push(fft.power(k));
    }
    Spectrum {
        freqs_hz,
        magnitude_db,
        bin_power,
        bin_hz,
        window,
    }
}

impl Spectrum {
    /// The bins whose centre lies in `[f_lo, f_hi]` (Hz); empty when none does.
    pub fn bins_in(&self, f_lo: f64, f_hi: f64) -> Range<usize> {
        bins_in_band(self.freqs_hz.len(), self.bin_hz, f_lo, f_hi)
    }

    /// The highest bin in `[f_lo, f_hi]`: `(bin centre Hz, dB peak)`. The frequency is the
    /// bin centre (resolution `bin_hz`), the level reads low by the scalloping loss when the
    /// tone falls between bins. `(NaN, −inf)` when the range holds no bin.
    pub fn peak_in(&self, f_lo: f64, f_hi: f64) -> (f64, f64) {
        self.bins_in(f_lo, f_hi)
            .map(|k| (self.freqs_hz[k], self.magnitude_db[k]))
            .fold((f64::NAN, f64::NEG_INFINITY), |best, cur| {
                if cur.1 > best.1 {
                    cur
                } else {
                    best
                }
            })
    }

    /// Level (dB peak) of a tone at `f_hz`: the highest bin within ±2 bins of it (well
    /// inside the main lobe of every window but `Rect`). Reads the local noise maximum when
    /// there is no tone. −inf for an empty spectrum.
    pub fn level_at(&self, f_hz: f64) -> f64 {
        if self.freqs_hz.is_empty() || self.bin_hz <= 0.0 {
            return f64::NEG_INFINITY;
        }
        let last = self.freqs_hz.len() - 1;
        let centre = ((f_hz / self.bin_hz).round().max(0.0) as usize).min(last);
        let lo = centre.saturating_sub(2);
        let hi = (centre + 2).min(last);
        self.magnitude_db[lo..=hi]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Power (linear mean square) in `[f_lo, f_hi]`: the sum of [`Spectrum::bin_power`]
    /// over the bins whose centre is in the band (a brick-wall filter at bin resolution).
    pub fn power_in_band(&self, f_lo: f64, f_hi: f64) -> f64 {
        self.bins_in(f_lo, f_hi).map(|k| self.bin_power[k]).sum()
    }

    /// [`Spectrum::power_in_band`] in dB re mean square 1.0 (dB RMS): white noise of RMS σ
    /// over the full band `[0, fs/2]` reads `20·log10(σ)`; a full-scale sine reads −3.01 dB.
    pub fn power_in_band_db(&self, f_lo: f64, f_hi: f64) -> f64 {
        10.0 * self.power_in_band(f_lo, f_hi).log10()
    }
}

/// Bins `k` (of `bins` at `bin_hz` spacing) with `f_lo ≤ k·bin_hz ≤ f_hi`, with a 1e-9 bin
/// tolerance so an edge exactly on a bin centre includes it.
pub(crate) fn bins_in_band(bins: usize, bin_hz: f64, f_lo: f64, f_hi: f64) -> Range<usize> {
    let empty = 0..0;
    if bins == 0 || bin_hz <= 0.0 || f_hi < f_lo {
        return empty;
    }
    let lo = (f_lo / bin_hz - 1e-9).ceil().max(0.0);
    let hi = (f_hi / bin_hz + 1e-9).floor();
    if hi < 0.0 || lo > hi || lo >= bins as f64 {
        return empty;
    }
    lo as usize..(hi as usize + 1).min(bins)
}

/// A windowed real FFT and the window sums needed to scale it.
pub(crate) struct WindowedFft {
    /// `X_w[k]`, `k = 0..=len/2`.
    bins: Vec<Complex<f64>>,
    len: usize,
    sum_w: f64,
    sum_w2: f64,
}

impl WindowedFft {
    /// 2 for bins with a mirror image at negative frequency, 1 for DC and (even `len`)
    /// Nyquist.
    fn mirror_factor(&self, k: usize) -> f64 {
        if k == 0 || 2 * k == self.len {
            1.0
        } else {
            2.0
        }
    }

    /// One-sided mean-square power of bin `k`, ENBW-corrected:
    /// `mirror·|X_w[k]|²/(len·Σw²)`. By Parseval on the windowed signal the bins of
    /// stationary content sum to its mean square.
    pub(crate) fn power(&self, k: usize) -> f64 {
        self.mirror_factor(k) * self.bins[k].norm_sqr() / (self.len as f64 * self.sum_w2)
    }
}

/// FFT of `x·w` (no allocation beyond the buffers; plans are cheap next to the analysis).
pub(crate) fn windowed_fft(x: &[f64], window: Window) -> WindowedFft {
    let len = x.len();
    if len == 0 {
        return WindowedFft {
            bins: Vec::new(),
            len,
            sum_w: 1.0,
            sum_w2: 1.0,
        };
    }
    let w = window.samples(len);
    let sum_w: f64 = w.iter().sum();
    let sum_w2: f64 = w.iter().map(|v| v * v).sum();
    let mut input: Vec<f64> = x.iter().zip(&w).map(|(a, b)| a * b).collect();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(len);
    let mut bins = fft.make_output_vec();
    fft.process(&mut input, &mut bins)
        .expect("buffer lengths come from the plan");
    WindowedFft {
        bins,
        len,
        sum_w,
        sum_w2,
    }
}

/// Power (mean square) of `x` in `band_hz` measured with `window`: see
/// [`Spectrum::power_in_band`].
pub(crate) fn band_power(x: &[f64], sample_rate: f64, band_hz: (f64, f64), window: Window) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let fft = windowed_fft(x, window);
    let bin_hz = sample_rate / x.len() as f64;
    bins_in_band(fft.bins.len(), bin_hz, band_hz.0, band_hz.1)
        .map(|k| fft.power(k))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    const WINDOWS: [Window; 4] = [
        Window::BlackmanHarris7,
        Window::Hann,
        Window::FlatTop,
        Window::Rect,
    ];

    #[test]
    fn full_scale_sine_reads_zero_db_on_bin() {
        // 48 kHz, 8192 points: bin 171 = 1001.95 Hz.
        let (fs, len) = (48_000.0, 8192);
        let f = 171.0 * fs / len as f64;
        let x = sine(len, fs, f, 1.0, 0.4);
        for window in WINDOWS {
            let s = spectrum(&x, fs, window);
            let db = s.level_at(f);
            println!("{window:?}: bin-centred full-scale sine reads {db:e} dB");
            assert!(db.abs() < 1e-9);
            let (fp, _) = s.peak_in(500.0, 2_000.0);
            assert!((fp - f).abs() < 1e-9);
        }
    }

    #[test]
    fn scalloping_loss_per_window() {
        // Sweep the tone from on-bin to half-way between bins; the worst reading is the
        // scalloping loss documented on `Window`.
        let (fs, len) = (48_000.0, 8192);
        let bin = fs / len as f64;
        let documented = [
            (Window::BlackmanHarris7, -0.48),
            (Window::Hann, -1.42),
            (Window::FlatTop, -0.003),
            (Window::Rect, -3.92),
        ];
        for (window, want) in documented {
            let mut worst = 0.0f64;
            let mut highest = f64::NEG_INFINITY;
            for step in 0..=20 {
                let f = (171.0 + step as f64 / 40.0) * bin;
                let s = spectrum(&sine(len, fs, f, 1.0, 0.4), fs, window);
                let db = s.level_at(f);
                worst = worst.min(db);
                highest = highest.max(db);
            }
            println!("{window:?}: reading between {worst:.5} and {highest:.5} dB");
            assert!((worst - want).abs() < 0.01, "{window:?}: {worst}");
            if window == Window::FlatTop {
                assert!(worst > -0.01 && highest < 0.01);
            }
        }
    }

    #[test]
    fn white_noise_power_reads_sigma_squared() {
        let (fs, len, sigma) = (48_000.0, 65_536, 1e-3);
        let x = white_noise(len, sigma, 42);
        for window in WINDOWS {
            let s = spectrum(&to_f32(&x), fs, window);
            let full = s.power_in_band_db(0.0, fs / 2.0);
            // 20 Hz–20 kHz holds (20000 − 20)/24000 of white noise's power.
            let part = s.power_in_band_db(20.0, 20_000.0);
            let want_part = 20.0 * sigma.log10() + 10.0 * ((20_000.0 - 20.0) / 24_000.0f64).log10();
            println!(
                "{window:?}: full band {full:.3} dB (want {:.3}), 20–20k {part:.3} dB (want {want_part:.3})",
                20.0 * sigma.log10()
            );
            assert!((full - 20.0 * sigma.log10()).abs() < 0.2);
            assert!((part - want_part).abs() < 0.2);
        }
    }

    #[test]
    fn blackman_harris_7_sees_minus_150_db_next_to_full_scale() {
        // 0 dB at 1000.3 Hz and −150 dB at 3000.7 Hz (both between bins), f64 input.
        let (fs, len) = (48_000.0, 65_536);
        let big = sine(len, fs, 1_000.3, 1.0, 0.0);
        let small = sine(len, fs, 3_000.7, 10f64.powf(-150.0 / 20.0), 1.0);
        let x: Vec<f64> = big.iter().zip(&small).map(|(a, b)| a + b).collect();
        let s = spectrum(&x, fs, Window::BlackmanHarris7);
        let db = s.level_at(3_000.7);
        let floor = s.peak_in(5_000.0, 20_000.0).1;
        let skirt = s.peak_in(1_500.0, 2_500.0).1;
        println!("−150 dB tone reads {db:.3} dB; skirt 1.5–2.5 kHz {skirt:.1} dB; floor 5–20 kHz {floor:.1} dB");
        assert!((db - -150.0).abs() < 1.0);
        assert!(skirt < -170.0 && floor < -170.0);
    }

    #[test]
    fn band_edges_and_empty_ranges() {
        assert_eq!(bins_in_band(101, 10.0, 20.0, 40.0), 2..5);
        assert_eq!(bins_in_band(101, 10.0, 21.0, 29.0).count(), 0);
        assert_eq!(bins_in_band(101, 10.0, 990.0, 5_000.0), 99..101);
        assert_eq!(bins_in_band(0, 10.0, 0.0, 10.0).count(), 0);
        let s = spectrum::<f32>(&[], 48_000.0, Window::Hann);
        assert_eq!(s.level_at(1_000.0), f64::NEG_INFINITY);
        assert_eq!(s.power_in_band(0.0, 1e9), 0.0);
        assert!(s.peak_in(0.0, 1.0).0.is_nan());
    }
}
