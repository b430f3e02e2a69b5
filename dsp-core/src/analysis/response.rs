//! Frequency response and group delay of an impulse response by direct DFT.

use std::f64::consts::TAU;

use realfft::num_complex::Complex;

use super::{Phasor, Sample};

/// `H(f) = Σ_n h[n]·e^{−j2πf·n/fs}` at each of `freqs_hz` (Hz): the exact DTFT of the
/// (finite) impulse response, with `n = 0` at its first sample — so a system delay shows as
/// linear phase. Cost `O(len · freqs)`; fine for a few thousand taps × a few hundred points.
///
/// The response is only that of the system if `impulse_response` holds all of it (let an
/// IIR tail decay below the accuracy you need).
pub fn frequency_response<S: Sample>(
    impulse_response: &[S],
    sample_rate: f64,
    freqs_hz: &[f64],
) -> Vec<Complex<f64>> {
    freqs_hz
        .iter()
        .map(|&f| dtft(impulse_response, TAU * f / sample_rate).0)
        .collect()
}

/// `20·log10|H|` for each value (dB; −inf for 0).
pub fn magnitude_db(response: &[Complex<f64>]) -> Vec<f64> {
    response.iter().map(|h| 20.0 * h.norm().log10()).collect()
}

/// Group delay `τ(f) = −dφ/dω` (samples) of `impulse_response` at `freq_hz`, from the
/// exact identity `τ = Re{ DTFT(n·h[n]) / DTFT(h[n]) }` (no phase unwrapping, no finite
/// difference). A pure delay of D samples reads D at every frequency. Undefined (NaN or
/// ±inf) at a zero of `H`.
pub fn group_delay_samples<S: Sample>(
    impulse_response: &[S],
    sample_rate: f64,
    freq_hz: f64,
) -> f64 {
    let (h, nh) = dtft(impulse_response, TAU * freq_hz / sample_rate);
    (nh / h).re
}

/// `(Σ h[n]e^{−jωn}, Σ n·h[n]e^{−jωn})`.
fn dtft<S: Sample>(h: &[S], omega: f64) -> (Complex<f64>, Complex<f64>) {
    let mut phasor = Phasor::new(-omega);
    let mut sum = Complex::new(0.0, 0.0);
    let mut weighted = Complex::new(0.0, 0.0);
    for (n, v) in h.iter().enumerate() {
        let term = phasor.next_value() * v.to_f64();
        sum += term;
        weighted += term * n as f64;
    }
    (sum, weighted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn two_tap_average_matches_closed_form() {
        // h = [0.5, 0.5]: H(f) = e^{−jπf/fs}·cos(πf/fs), group delay 0.5 sample.
        let fs = 48_000.0;
        let freqs: Vec<f64> = (0..=48).map(|i| i as f64 * 500.0).collect();
        let h = frequency_response(&[0.5f32, 0.5], fs, &freqs);
        let mut worst = 0.0f64;
        for (&f, hv) in freqs.iter().zip(&h) {
            let x = PI * f / fs;
            let want = Complex::from_polar(x.cos(), -x);
            worst = worst.max((hv - want).norm());
        }
        println!("[0.5, 0.5]: worst |H − closed form| {worst:e}");
        assert!(worst < 1e-9);
        let db = magnitude_db(&h);
        assert!(db[0].abs() < 1e-12);
        assert!((db[24] - 20.0 * (PI / 4.0).cos().log10()).abs() < 1e-9);
        let tau = group_delay_samples(&[0.5, 0.5], fs, 7_000.0);
        assert!((tau - 0.5).abs() < 1e-12);
    }

    #[test]
    fn pure_delay_reads_its_group_delay() {
        let mut h = vec![0.0f32; 100];
        h[37] = 1.0;
        let fs = 44_100.0;
        for f in [20.0, 1_000.0, 10_000.0, 21_000.0] {
            let tau = group_delay_samples(&h, fs, f);
            println!("delay 37 at {f} Hz: group delay {tau}");
            assert!((tau - 37.0).abs() < 1e-6);
            let hv = frequency_response(&h, fs, &[f])[0];
            let want = Complex::from_polar(1.0, -TAU * f / fs * 37.0);
            assert!((hv - want).norm() < 1e-12);
        }
    }

    #[test]
    fn long_response_stays_exact() {
        // Delay of 30 000 samples: the phasor re-anchors keep the phase exact.
        let mut h = vec![0.0f64; 40_000];
        h[30_000] = 0.25;
        let fs = 48_000.0;
        let f = 12_345.678;
        let hv = frequency_response(&h, fs, &[f])[0];
        let want = Complex::from_polar(0.25, -TAU * f / fs * 30_000.0);
        println!("delay 30000: |H − closed form| {:e}", (hv - want).norm());
        assert!((hv - want).norm() < 1e-10);
        assert!((group_delay_samples(&h, fs, f) - 30_000.0).abs() < 1e-6);
    }
}
