//! The output limiter of calibrated SPL: when the emulated source would play louder than
//! the listener's chain can (its 0 dBFS), the output is brought under full scale cleanly,
//! instead of the host or the listener's DAC clipping it.
//!
//! A stereo-linked look-ahead peak limiter (the classic construction; see e.g. Giannoulis,
//! Massberg & Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and Analysis",
//! JAES 60(6), 2012, for the attack/release vocabulary):
//!
//! ```text
//! r[n] = min(1, ceiling / max_ch |x_ch[n]|)          the gain each frame needs
//! h[n] = min(r[n−L] … r[n])                          held over the look-ahead (L + 1 frames)
//! g[n] = h[n] if h[n] < g[n−1], else g[n−1] + (h[n] − g[n−1])·c   instant attack, release
//! s[n] = mean(g[n−L] … g[n])                         smoothed over the look-ahead
//! y[n] = x[n−L]·s[n]
//! ```
//!
//! Every `g[m]` with `m` in `n−L … n` is at most `h[m] ≤ r[n−L]` (the window of `h[m]`
//! contains `n−L`), so `s[n] ≤ r[n−L]` and `|y[n]| ≤ ceiling`: no sample passes the ceiling
//! (a final clamp catches rounding). The gain comes down along a straight line over the
//! look-ahead before a peak and recovers exponentially after it: a steady tone settles at a
//! constant gain (no distortion once the window spans its peaks), a transient is caught
//! without a click.
//!
//! The limiter always delays by its look-ahead `L` (the engine reports it in its latency,
//! whatever the level mode, so the latency never moves), and always follows the signal, so
//! switching it on limits correctly from the first sample; switched off, its gain is 1.
//! `process` never allocates.

/// Look-ahead (s): the latency the limiter adds.
pub const LOOKAHEAD_SECONDS: f64 = 0.001;
/// Release time constant (s).
pub const RELEASE_SECONDS: f64 = 0.1;
/// The ceiling: digital full scale.
pub const CEILING: f32 = 1.0;

/// Look-ahead in samples at `sample_rate`.
pub fn lookahead_samples(sample_rate: f64) -> usize {
    (LOOKAHEAD_SECONDS * sample_rate).round().max(1.0) as usize
}

/// The look-ahead limiter (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    /// Look-ahead `L` (samples).
    lookahead: usize,
    /// One ring of `L` delayed samples per channel.
    delay: Vec<Vec<f32>>,
    /// Write position in the delay rings.
    pos: usize,
    /// Monotonic deque of (frame, r) for the running minimum over `L + 1` frames: a ring
    /// of `L + 1` slots, `head` and `len`.
    window: Vec<(u64, f32)>,
    head: usize,
    len: usize,
    /// Frame counter.
    frame: u64,
    /// Release: `g[n−1]` and the coefficient `c`.
    released: f32,
    release_coef: f32,
    /// Ring of the last `L + 1` values of `g` and their sum.
    smooth: Vec<f32>,
    smooth_pos: usize,
    smooth_sum: f64,
    /// Limiting on (calibrated SPL); off, the gain is 1 (the signal is still followed).
    active: bool,
    /// Smallest gain applied since [`Limiter::take_min_gain`].
    min_gain: f32,
}

impl Limiter {
    /// A limiter for `channels` channels at `sample_rate` (allocates).
    pub fn new(channels: usize, sample_rate: f64) -> Self {
        let lookahead = lookahead_samples(sample_rate);
        let mut limiter = Self {
            lookahead,
            delay: vec![vec![0.0; lookahead]; channels.max(1)],
            window: vec![(0, 1.0); lookahead + 1],
            release_coef: (1.0 - (-1.0 / (RELEASE_SECONDS * sample_rate)).exp()) as f32,
            smooth: vec![1.0; lookahead + 1],
            ..Self::default()
        };
        limiter.reset();
        limiter
    }

    /// The delay the limiter adds (samples).
    pub fn latency_samples(&self) -> usize {
        self.lookahead
    }

    /// Limit (`true`) or pass with gain 1 (`false`).
    pub fn set_active(&mut self, active: bool) {
        self.active = active;
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Clear the delay and the gain state (gain 1). Never allocates.
    pub fn reset(&mut self) {
        self.delay.iter_mut().for_each(|d| d.fill(0.0));
        self.pos = 0;
        self.head = 0;
        self.len = 0;
        self.frame = 0;
        self.released = 1.0;
        self.smooth.fill(1.0);
        self.smooth_pos = 0;
        self.smooth_sum = self.smooth.len() as f64;
        self.min_gain = 1.0;
    }

    /// The smallest gain applied since the last call (1: no limiting), and start again.
    pub fn take_min_gain(&mut self) -> f32 {
        std::mem::replace(&mut self.min_gain, 1.0)
    }

    /// Process the channels in place (equal lengths; channels beyond the prepared count are
    /// left alone). Never allocates.
    pub fn process(&mut self, block: &mut [&mut [f32]]) {
        let n_ch = block.len().min(self.delay.len());
        let frames = block[..n_ch].iter().map(|b| b.len()).min().unwrap_or(0);
        if self.lookahead == 0 || n_ch == 0 {
            return;
        }
        // The state in locals for the loop (as fields, each frame would store and reload
        // them through memory), written back after it.
        let span = self.window.len() as u64;
        let slots = self.window.len();
        let (mut head, mut len, mut frame) = (self.head, self.len, self.frame);
        let (mut released, release_coef) = (self.released, self.release_coef);
        let (mut smooth_pos, mut smooth_sum) = (self.smooth_pos, self.smooth_sum);
        let (mut pos, mut min_gain, active) = (self.pos, self.min_gain, self.active);
        let smooth_len = self.smooth.len();
        let (window, smooth, delay) = (&mut self.window, &mut self.smooth, &mut self.delay);
        for i in 0..frames {
            let peak = block[..n_ch].iter().fold(0.0f32, |m, b| m.max(b[i].abs()));
            let need = if peak > CEILING { CEILING / peak } else { 1.0 };
            // Running minimum of `need` over the last L + 1 frames.
            while len > 0 {
                let back = wrap(head + len - 1, slots);
                if window[back].1 >= need {
                    len -= 1;
                } else {
                    break;
                }
            }
            let slot = wrap(head + len, slots);
            window[slot] = (frame, need);
            len += 1;
            while window[head].0 + span <= frame {
                head = wrap(head + 1, slots);
                len -= 1;
            }
            let held = window[head].1;
            released = if held < released {
                held
            } else {
                released + (held - released) * release_coef
            };
            smooth_sum += f64::from(released) - f64::from(smooth[smooth_pos]);
            smooth[smooth_pos] = released;
            smooth_pos = wrap(smooth_pos + 1, smooth_len);
            if smooth_pos == 0 {
                // Re-add the ring once per lap so the running sum cannot drift.
                smooth_sum = smooth.iter().map(|&g| f64::from(g)).sum();
            }
            frame += 1;
            let gain = if active {
                ((smooth_sum / smooth_len as f64) as f32).min(1.0)
            } else {
                1.0
            };
            min_gain = min_gain.min(gain);
            for (ch, b) in block[..n_ch].iter_mut().enumerate() {
                let delayed = delay[ch][pos];
                delay[ch][pos] = b[i];
                b[i] = if active {
                    (delayed * gain).clamp(-CEILING, CEILING)
                } else {
                    delayed
                };
            }
            pos = wrap(pos + 1, self.lookahead);
        }
        (self.head, self.len, self.frame) = (head, len, frame);
        self.released = released;
        (self.smooth_pos, self.smooth_sum) = (smooth_pos, smooth_sum);
        (self.pos, self.min_gain) = (pos, min_gain);
    }
}

/// `i mod len`, with a compare instead of a division for the usual `i < 2·len` (a ring
/// index one step or one window past the end; `%` costs a division, several times per
/// frame).
#[inline(always)]
fn wrap(i: usize, len: usize) -> usize {
    if i < len {
        i
    } else if i < 2 * len {
        i - len
    } else {
        i % len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{thd_n, tone, AUDIO_BAND_HZ};

    fn sine(freq: f64, amplitude: f64, rate: f64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (amplitude * (std::f64::consts::TAU * freq * i as f64 / rate).sin()) as f32)
            .collect()
    }

    /// Off, the limiter is a delay of exactly its look-ahead, bit for bit.
    #[test]
    fn inactive_is_a_pure_delay() {
        let rate = 48_000.0;
        let mut l = Limiter::new(2, rate);
        assert_eq!(l.latency_samples(), 48);
        let x = sine(1000.0, 4.0, rate, 3000);
        let (mut a, mut b) = (x.clone(), x.clone());
        for (ca, cb) in a.chunks_mut(37).zip(b.chunks_mut(37)) {
            l.process(&mut [ca, cb]);
        }
        assert!(a[..48].iter().all(|&v| v == 0.0));
        assert_eq!(&a[48..], &x[..3000 - 48]);
        assert_eq!(a, b);
    }

    /// Active: a +6 dBFS tone comes out under the ceiling at every sample, settles 6 dB
    /// down with low distortion; a tone below the ceiling passes untouched (delayed).
    #[test]
    fn limits_to_the_ceiling_cleanly() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            let mut l = Limiter::new(1, rate);
            l.set_active(true);
            let len = (rate * 1.5) as usize;
            let mut y = sine(1000.0, 2.0, rate, len);
            for c in y.chunks_mut(511) {
                l.process(&mut [c]);
            }
            let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(peak <= CEILING, "{rate}: peak {peak}");
            let settled = &y[(rate * 0.5) as usize..];
            let level = tone(settled, rate, 1000.0).amplitude;
            let m = thd_n(settled, rate, 1000.0, AUDIO_BAND_HZ);
            println!(
                "{rate} Hz: peak {peak}, 1 kHz at {:.4} dB, THD+N {:.1} dB, min gain {:.3} dB",
                20.0 * level.log10(),
                m.thd_n_db,
                20.0 * l.take_min_gain().log10()
            );
            assert!(
                (20.0 * level.log10()).abs() < 0.05,
                "settles at the ceiling"
            );
            assert!(m.thd_n_db < -80.0, "a steady tone is not distorted");

            let mut quiet = Limiter::new(1, rate);
            quiet.set_active(true);
            let x = sine(1000.0, 0.99, rate, 4096);
            let mut y = x.clone();
            quiet.process(&mut [&mut y]);
            let lag = quiet.latency_samples();
            assert_eq!(&y[lag..], &x[..4096 - lag]);
            assert_eq!(quiet.take_min_gain(), 1.0);
        }
    }

    /// A burst: silence, then a 100 Hz tone at +12 dBFS in both channels (one louder),
    /// then quiet again. No sample over the ceiling, the gain is linked across channels
    /// (their ratio survives), and the gain recovers after the burst.
    #[test]
    fn transients_are_caught_and_released() {
        let rate = 48_000.0;
        let mut l = Limiter::new(2, rate);
        l.set_active(true);
        let len = 48_000;
        let burst = |i: usize| {
            if (12_000..24_000).contains(&i) {
                4.0
            } else {
                0.25
            }
        };
        let mut left: Vec<f32> = (0..len)
            .map(|i| (burst(i) * (std::f64::consts::TAU * 100.0 * i as f64 / rate).sin()) as f32)
            .collect();
        let mut right: Vec<f32> = left.iter().map(|v| v * 0.5).collect();
        for (a, b) in left.chunks_mut(64).zip(right.chunks_mut(64)) {
            l.process(&mut [a, b]);
        }
        let peak = left
            .iter()
            .chain(&right)
            .fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(peak <= CEILING);
        for i in (0..len).step_by(97) {
            if left[i].abs() > 1e-3 {
                assert!((right[i] / left[i] - 0.5).abs() < 1e-5, "linked at {i}");
            }
        }
        // The gain recovers as 1 − (3/4)·e^{−t/0.1 s}: 0.45–0.5 s after the burst the
        // quiet tone is within 1.2 % of its level (e^{−4.5}·3/4 = 0.8 %), never above it.
        let tail = &left[len - 4_800..];
        let level = tone(tail, rate, 100.0).amplitude;
        assert!(
            level > 0.25 * 0.988 && level <= 0.25 + 1e-6,
            "released: {level}"
        );
    }
}
