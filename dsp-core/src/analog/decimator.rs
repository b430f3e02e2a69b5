//! The transparent decimator: analog domain (K·fs) back to the host rate fs.
//!
//! Requirements: flat within ±0.01 dB up to 0.4535·fs, and at least
//! 120 dB rejection of everything that would alias into the audio band — content at
//! f ≥ fs − 0.4535·fs = 0.5465·fs folds onto [0, 0.4535·fs], so the stopband starts there.
//! Two versions: linear phase (latency (N−1)/2 at K·fs, made a whole number of host samples)
//! and minimum phase (the same magnitude by cepstrum, low latency).

use std::sync::Arc;

use crate::clocks::{pass_on, Clocks, PerChannel};
use crate::filter::cache::DesignCache;
use crate::filter::design::{design_lowpass, min_phase, LowpassSpec};
use crate::filter::fir::Decimator as FirDecimator;

/// Passband edge as a fraction of the host rate.
pub const PASSBAND: f64 = 0.4535;
/// Stopband edge as a fraction of the host rate: what aliases into the passband.
pub const STOPBAND: f64 = 1.0 - PASSBAND;
/// Required alias rejection, dB.
pub const REJECTION_DB: f64 = 120.0;

crate::choice! {
    /// Phase of the decimator (`decimator` parameter).
    pub enum DecimatorPhase { Linear = "Linear phase", Minimum = "Minimum phase" }
}

/// [`design`], designed once per process ([`DesignCache`]) and shared.
pub fn taps(host_rate: f64, k: usize, phase: DecimatorPhase) -> Arc<Vec<f64>> {
    static TAPS: DesignCache<(u64, usize, DecimatorPhase), Vec<f64>> = DesignCache::new();
    TAPS.get((host_rate.to_bits(), k, phase), || {
        design(host_rate, k, phase)
    })
}

/// Taps of the decimation filter for factor `k` from host rate `host_rate`, at `k·host_rate`.
/// For `k == 1` the decimator is the identity (`[1.0]`). Linear phase: the length is odd
/// and `(N − 1)/2` is a multiple of `k`, so the delay is a whole number of host samples.
pub fn design(host_rate: f64, k: usize, phase: DecimatorPhase) -> Vec<f64> {
    if k <= 1 {
        return vec![1.0];
    }
    let rate = host_rate * k as f64;
    let mut h = design_lowpass(&LowpassSpec {
        passband_hz: PASSBAND * host_rate,
        stopband_hz: STOPBAND * host_rate,
        // Margin for f32 coefficients and the minimum-phase transform.
        stopband_db: REJECTION_DB + 4.0,
        sample_rate: rate,
    });
    // Pad symmetrically with zeros (keeps linear phase) until the delay is a multiple of k.
    while !((h.len() - 1) / 2).is_multiple_of(k) {
        h.insert(0, 0.0);
        h.push(0.0);
    }
    match phase {
        DecimatorPhase::Linear => h,
        DecimatorPhase::Minimum => {
            let mut m = min_phase(&h);
            // Trailing taps of a minimum-phase response below −200 dB carry nothing.
            let peak = m.iter().fold(0.0f64, |a, &b| a.max(b.abs()));
            while m.len() > 1 && m.last().is_some_and(|v| v.abs() < peak * 1e-10) {
                m.pop();
            }
            m
        }
    }
}

/// The decimator of every channel: `K·n` analog samples to `n` host samples (a copy when
/// K = 1).
pub struct Decimator {
    channels: PerChannel<FirDecimator>,
}

impl Decimator {
    /// `taps` from [`design`] at the analog rate of `clocks`; `None` when K = 1. Allocates.
    pub fn new(taps: Option<&[f64]>, clocks: &Clocks) -> Self {
        Self {
            channels: PerChannel::new(taps, clocks, |h| {
                FirDecimator::new(h, clocks.k, clocks.analog_block())
            }),
        }
    }

    pub fn reset(&mut self) {
        self.channels.reset(FirDecimator::reset);
    }

    /// Channel `ch`: `analog` (K·n samples) into `out` (n samples). Never allocates.
    pub fn process(&mut self, ch: usize, analog: &[f32], out: &mut [f32]) {
        match self.channels.get_mut(ch) {
            Some(d) => d.process(analog, out),
            None => {
                pass_on(analog, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::design::{group_delay, magnitude_db};

    #[test]
    fn flat_to_0_4535_fs_and_rejects_aliases_by_120_db() {
        for (host_rate, k) in [
            (44_100.0, 8usize),
            (48_000.0, 8),
            (96_000.0, 4),
            (192_000.0, 2),
        ] {
            for phase in [DecimatorPhase::Linear, DecimatorPhase::Minimum] {
                let h = design(host_rate, k, phase);
                let rate = host_rate * k as f64;
                let mut flat = 0.0f64;
                for i in 0..=500 {
                    let f = PASSBAND * host_rate * i as f64 / 500.0;
                    flat = flat.max(magnitude_db(&h, f, rate).abs());
                }
                let mut worst = f64::NEG_INFINITY;
                for i in 0..=8000 {
                    let f = STOPBAND * host_rate
                        + (0.5 * rate - STOPBAND * host_rate) * i as f64 / 8000.0;
                    worst = worst.max(magnitude_db(&h, f, rate));
                }
                println!(
                    "{host_rate} Hz ×{k} {phase:?}: {} taps, passband ±{flat:.4} dB, rejection {:.1} dB, delay {:.2} host samples",
                    h.len(),
                    -worst,
                    group_delay(&h, 1000.0, rate) / k as f64
                );
                assert!(flat <= 0.01, "{host_rate} {phase:?}: passband {flat} dB");
                assert!(
                    -worst >= REJECTION_DB,
                    "{host_rate} {phase:?}: rejection {} dB",
                    -worst
                );
                if phase == DecimatorPhase::Linear {
                    assert_eq!(((h.len() - 1) / 2) % k, 0, "whole host-sample delay");
                }
            }
        }
    }

    #[test]
    fn factor_one_is_identity() {
        assert_eq!(design(384_000.0, 1, DecimatorPhase::Linear), vec![1.0]);
    }
}
