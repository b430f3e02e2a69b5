//! IEC 61672-1 A-weighting.

use super::spectrum::{bins_in_band, windowed_fft};
use super::{to_f64_vec, Sample, Window, AUDIO_BAND_HZ};

/// Pole frequencies (Hz) of the A-weighting, IEC 61672-1:2013 Annex E (E.2–E.4): the
/// exact values behind the rounded 20.6, 107.7, 737.9 and 12194 Hz.
const POLE_1_HZ: f64 = 20.598_997;
const POLE_2_HZ: f64 = 107.652_65;
const POLE_3_HZ: f64 = 737.862_23;
const POLE_4_HZ: f64 = 12_194.217;

/// Unnormalised A-weighting magnitude
/// `f4²·f⁴ / ((f² + f1²)·√((f² + f2²)(f² + f3²))·(f² + f4²))` (IEC 61672-1 E.6).
fn a_weighting_gain_raw(freq_hz: f64) -> f64 {
    let f2 = freq_hz * freq_hz;
    POLE_4_HZ.powi(2) * f2 * f2
        / ((f2 + POLE_1_HZ.powi(2))
            * ((f2 + POLE_2_HZ.powi(2)) * (f2 + POLE_3_HZ.powi(2))).sqrt()
            * (f2 + POLE_4_HZ.powi(2)))
}

/// A-weighting (dB) at `freq_hz`, IEC 61672-1 closed form normalised to exactly 0 dB at
/// 1 kHz (the standard's rounded +2.00 dB offset gives −0.0017 dB there). −inf at 0 Hz.
/// E.g. −19.1 dB at 100 Hz, +1.3 dB at 2.5 kHz, −2.5 dB at 10 kHz, −9.3 dB at 20 kHz.
pub fn a_weighting_db(freq_hz: f64) -> f64 {
    20.0 * (a_weighting_gain_raw(freq_hz) / a_weighting_gain_raw(1_000.0)).log10()
}

/// RMS (linear) of `signal` after A-weighting, within [`AUDIO_BAND_HZ`] (20 Hz–20 kHz).
///
/// Applied in the frequency domain: a 7-term Blackman-Harris power spectrum (ENBW-corrected)
/// with each bin weighted by `10^(A(f)/10)` and summed over the band. A 1 kHz sine of
/// amplitude A reads A/√2; white noise reads its in-band RMS times the band's mean A-weight.
/// For amp noise (µV A-weighted), scale by the stage's full-scale voltage. Trim start
/// transients first; use ≥ 0.1 s so the 20 Hz edge is resolved (bin = fs/len).
pub fn noise_rms_a_weighted<S: Sample>(signal: &[S], sample_rate: f64) -> f64 {
    let x = to_f64_vec(signal);
    if x.is_empty() {
        return 0.0;
    }
    let fft = windowed_fft(&x, Window::BlackmanHarris7);
    let bin_hz = sample_rate / x.len() as f64;
    let reference = a_weighting_gain_raw(1_000.0);
    let (lo, hi) = AUDIO_BAND_HZ;
    let power: f64 = bins_in_band(x.len() / 2 + 1, bin_hz, lo, hi)
        .map(|k| fft.power(k) * (a_weighting_gain_raw(k as f64 * bin_hz) / reference).powi(2))
        .sum();
    power.sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn matches_iec_61672_table() {
        // IEC 61672-1:2013 Table 3 at the exact base-10 frequencies 1000·10^(n/10) behind
        // the nominal ones (the table is rounded to 0.1 dB).
        let table = [
            (-17, -50.5), // 20 Hz
            (-15, -39.4), // 31.5 Hz
            (-12, -26.2), // 63 Hz
            (-10, -19.1), // 100 Hz
            (-6, -8.6),   // 250 Hz
            (-3, -3.2),   // 500 Hz
            (0, 0.0),     // 1 kHz
            (3, 1.2),     // 2 kHz
            (4, 1.3),     // 2.5 kHz
            (6, 1.0),     // 4 kHz
            (9, -1.1),    // 8 kHz
            (10, -2.5),   // 10 kHz
            (12, -6.6),   // 16 kHz
            (13, -9.3),   // 20 kHz
        ];
        for (n, want) in table {
            let f = 1_000.0 * 10f64.powf(n as f64 / 10.0);
            let got = a_weighting_db(f);
            println!("A({f:.1} Hz) = {got:.3} dB (table {want})");
            assert!((got - want).abs() <= 0.05 + 1e-9, "{f}: {got}");
        }
        assert!(a_weighting_db(1_000.0).abs() < 1e-12);
        // At the nominal frequencies the brief quotes.
        assert!((a_weighting_db(100.0) - -19.1).abs() < 0.1);
        assert!((a_weighting_db(2_500.0) - 1.3).abs() < 0.1);
        assert!((a_weighting_db(20_000.0) - -9.3).abs() < 0.1);
        assert_eq!(a_weighting_db(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn weighted_rms_of_sines() {
        let fs = 48_000.0;
        let len = 24_000;
        let amp = 0.1;
        for f in [1_000.0, 100.0, 10_000.0] {
            let x = to_f32(&sine(len, fs, f, amp, 0.0));
            let got = 20.0 * noise_rms_a_weighted(&x, fs).log10();
            let want = 20.0 * (amp / 2f64.sqrt()).log10() + a_weighting_db(f);
            println!("{f} Hz sine: A-weighted {got:.4} dB (want {want:.4})");
            assert!((got - want).abs() < 0.02);
        }
    }

    #[test]
    fn weighted_rms_of_white_noise() {
        let (fs, len, sigma) = (48_000.0, 96_000, 1e-4);
        let x = to_f32(&white_noise(len, sigma, 7));
        let got = 20.0 * noise_rms_a_weighted(&x, fs).log10();
        // Closed form: σ²/(fs/2) · ∫_{20}^{20k} 10^(A(f)/10) df (trapezoid on a 0.1 Hz grid).
        let step = 0.1;
        let steps = ((20_000.0 - 20.0) / step) as usize;
        let integral: f64 = (0..=steps)
            .map(|i| {
                let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
                w * 10f64.powf(a_weighting_db(20.0 + i as f64 * step) / 10.0) * step
            })
            .sum();
        let want = 10.0 * (sigma * sigma / (fs / 2.0) * integral).log10();
        println!("white noise σ=1e-4: A-weighted {got:.3} dB (want {want:.3})");
        assert!((got - want).abs() < 0.2);
    }
}
