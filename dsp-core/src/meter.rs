//! Lock-free level meters: the audio thread writes, the editor reads. Atomics only.
//!
//! Levels are stored as the bit patterns of non-negative `f32`s in `AtomicU32`s. For
//! non-negative IEEE 754 floats the order of the bit patterns (as unsigned integers) is the
//! order of the values, so `fetch_max` on the bits is a lock-free peak hold.
//!
//! RMS is an exponential moving mean square with time constant
//! [`MeterBank::RMS_TIME_CONSTANT_S`], updated once per block: for a block of `n` frames at
//! `fs` with mean square `m_b`, `ms ← ms + (1 − e^(−n/(τ·fs)))·(m_b − ms)`. For a step this
//! is the one-pole response sampled at block boundaries (exact for a constant level), so
//! the mean square reaches `1 − 1/e` of its new value after τ.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::MAX_CHANNELS;

/// Peak and RMS of up to two channels, written by the audio thread, read by the editor.
/// Atomics only.
#[derive(Debug)]
pub struct MeterBank {
    /// `f32` bits: largest |x| per channel since the last [`MeterBank::take`].
    peak: [AtomicU32; MAX_CHANNELS],
    /// `f32` bits: exponential mean square per channel (written by the audio thread only).
    ms: [AtomicU32; MAX_CHANNELS],
    /// |x| ≥ 1.0 or a non-finite sample since the last take.
    clipped: AtomicBool,
    /// Channels seen in the last update (≤ 2).
    channels: AtomicUsize,
}

/// One reading of a [`MeterBank`] (linear values; channels beyond `channels` read 0).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeterReading {
    /// Largest |x| per channel since the previous reading.
    pub peak: [f32; 2],
    /// RMS per channel, [`MeterBank::RMS_TIME_CONSTANT_S`] exponential average.
    pub rms: [f32; 2],
    /// A sample reached full scale (|x| ≥ 1) or was not finite since the previous reading.
    pub clipped: bool,
    /// Channels being metered.
    pub channels: usize,
}

impl Default for MeterBank {
    fn default() -> Self {
        Self::new()
    }
}

impl MeterBank {
    /// Time constant of the RMS average, seconds (the mean square reaches `1 − 1/e` of a
    /// new level after this long).
    pub const RMS_TIME_CONSTANT_S: f32 = 0.3;

    /// A bank reading silence.
    pub fn new() -> Self {
        Self {
            peak: [AtomicU32::new(0), AtomicU32::new(0)],
            ms: [AtomicU32::new(0), AtomicU32::new(0)],
            clipped: AtomicBool::new(false),
            channels: AtomicUsize::new(0),
        }
    }

    /// Audio thread: fold one block in (one slice per channel; channels beyond two are
    /// ignored). Never allocates, locks or blocks. Non-finite samples count as clipped and
    /// are ignored for levels.
    pub fn update(&self, channels: &[&[f32]], sample_rate: f32) {
        let n_ch = channels.len().min(MAX_CHANNELS);
        self.channels.store(n_ch, Ordering::Relaxed);
        let tau_samples = Self::RMS_TIME_CONSTANT_S * sample_rate.max(1.0);
        let mut clipped = false;
        for (ch, samples) in channels[..n_ch].iter().enumerate() {
            if samples.is_empty() {
                continue;
            }
            let mut peak = 0.0f32;
            let mut sum_sq = 0.0f64;
            let mut finite = 0usize;
            for &x in samples.iter() {
                if !x.is_finite() {
                    clipped = true;
                    continue;
                }
                let a = x.abs();
                clipped |= a >= 1.0;
                peak = peak.max(a);
                sum_sq += f64::from(x) * f64::from(x);
                finite += 1;
            }
            self.peak[ch].fetch_max(peak.to_bits(), Ordering::Relaxed);
            if finite > 0 {
                let block_ms = (sum_sq / finite as f64) as f32;
                let coef = 1.0 - (-(samples.len() as f32) / tau_samples).exp();
                let ms = f32::from_bits(self.ms[ch].load(Ordering::Relaxed));
                let ms = ms + coef * (block_ms - ms);
                self.ms[ch].store(ms.max(0.0).to_bits(), Ordering::Relaxed);
            }
        }
        if clipped {
            self.clipped.store(true, Ordering::Relaxed);
        }
    }

    /// Editor: the peaks and clip flag since the last take (which are then cleared), and
    /// the current RMS. Linear values.
    pub fn take(&self) -> MeterReading {
        let channels = self.channels.load(Ordering::Relaxed);
        let mut reading = MeterReading {
            clipped: self.clipped.swap(false, Ordering::Relaxed),
            channels,
            ..MeterReading::default()
        };
        for ch in 0..channels.min(MAX_CHANNELS) {
            reading.peak[ch] = f32::from_bits(self.peak[ch].swap(0, Ordering::Relaxed));
            reading.rms[ch] = f32::from_bits(self.ms[ch].load(Ordering::Relaxed)).sqrt();
        }
        reading
    }

    /// Back to silence (peaks, RMS and clip flag).
    pub fn reset(&self) {
        for ch in 0..MAX_CHANNELS {
            self.peak[ch].store(0, Ordering::Relaxed);
            self.ms[ch].store(0, Ordering::Relaxed);
        }
        self.clipped.store(false, Ordering::Relaxed);
    }
}

/// Input and output meters of one plugin instance.
#[derive(Debug, Default)]
pub struct Meters {
    pub input: MeterBank,
    pub output: MeterBank,
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f32 = 48_000.0;
    const BLOCK: usize = 64;

    fn feed(bank: &MeterBank, left: &[f32], right: &[f32]) {
        for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
            bank.update(&[l, r], RATE);
        }
    }

    /// A 1 kHz sine of `n` samples.
    fn sine(n: usize, amplitude: f32) -> Vec<f32> {
        let x =
            crate::analysis::testutil::sine(n, f64::from(RATE), 1000.0, f64::from(amplitude), 0.0);
        crate::analysis::testutil::to_f32(&x)
    }

    #[test]
    fn sine_reads_its_rms_and_peak() {
        let bank = MeterBank::new();
        let x = sine(2 * RATE as usize, 0.5);
        feed(&bank, &x, &x);
        let r = bank.take();
        let expected = 0.5 / std::f32::consts::SQRT_2;
        for ch in 0..2 {
            let err_db = 20.0 * (r.rms[ch] / expected).log10();
            println!(
                "ch {ch}: rms {:.6} ({err_db:+.4} dB), peak {:.6}",
                r.rms[ch], r.peak[ch]
            );
            assert!(err_db.abs() < 0.05, "rms {err_db} dB");
            assert!((r.peak[ch] - 0.5).abs() < 1e-3, "peak {}", r.peak[ch]);
        }
        assert!(!r.clipped);
        assert_eq!(r.channels, 2);
        // Peaks are cleared by take; RMS is not.
        let r2 = bank.take();
        assert_eq!(r2.peak, [0.0, 0.0]);
        assert_eq!(r2.rms, r.rms);
    }

    #[test]
    fn full_scale_sets_clipped_until_taken() {
        let bank = MeterBank::new();
        let mut x = vec![0.1f32; BLOCK];
        bank.update(&[&x], RATE);
        assert!(!bank.take().clipped);
        x[10] = -1.0;
        bank.update(&[&x], RATE);
        let r = bank.take();
        assert!(r.clipped);
        assert_eq!(r.peak[0], 1.0);
        assert_eq!(r.channels, 1);
        assert!(!bank.take().clipped, "take clears the flag");
    }

    #[test]
    fn rms_step_reaches_one_minus_one_over_e_after_the_time_constant() {
        let bank = MeterBank::new();
        let level = 0.5f32;
        let n = (MeterBank::RMS_TIME_CONSTANT_S * RATE) as usize;
        let x = vec![level; n];
        feed(&bank, &x, &x);
        let ms = bank.take().rms[0].powi(2);
        let fraction = ms / (level * level);
        let expected = 1.0 - (-1.0f32).exp();
        println!("mean square after τ: {fraction:.5} of the new level (1 − 1/e = {expected:.5})");
        assert!((fraction / expected - 1.0).abs() < 0.05);
    }

    #[test]
    fn non_finite_samples_clip_but_are_ignored_for_levels() {
        let bank = MeterBank::new();
        let mut x = vec![0.25f32; BLOCK];
        x[3] = f32::NAN;
        x[4] = f32::INFINITY;
        for _ in 0..2000 {
            bank.update(&[&x], RATE);
        }
        let r = bank.take();
        assert!(r.clipped);
        assert_eq!(r.peak[0], 0.25);
        assert!((r.rms[0] - 0.25).abs() < 1e-4, "{}", r.rms[0]);
        bank.reset();
        assert_eq!(bank.take().rms, [0.0, 0.0]);
    }
}
