//! Small numeric helpers shared by the stages.

/// Decibels to linear amplitude.
#[inline]
pub fn db_to_gain(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// Linear amplitude to decibels (−inf for 0).
#[inline]
pub fn gain_to_db(gain: f32) -> f32 {
    20.0 * gain.log10()
}

/// Smallest magnitude kept by [`sanitize_sample`]; anything smaller is flushed to zero so
/// recursive filters never run on denormals (about −600 dBFS, far below any audible level).
pub const DENORMAL_FLOOR: f32 = 1.0e-30;

/// Largest magnitude accepted at the input (+18 dBFS). A larger sample is clipped here so a
/// corrupt host buffer cannot drive later stages into overflow.
pub const MAX_INPUT: f32 = 8.0;

/// Make one input sample safe for the chain: NaN and ±Inf become 0, denormals become 0,
/// and magnitudes are limited to [`MAX_INPUT`]. Returns the sample and whether it had to be
/// replaced (non-finite).
#[inline]
pub fn sanitize_sample(x: f32) -> (f32, bool) {
    if !x.is_finite() {
        (0.0, true)
    } else if x.abs() < DENORMAL_FLOOR {
        (0.0, false)
    } else {
        (x.clamp(-MAX_INPUT, MAX_INPUT), false)
    }
}

/// A linear ramp from the current value to a target over a fixed number of samples, used
/// for gains and crossfades so parameter changes never click.
#[derive(Debug, Clone, Copy)]
pub struct LinearRamp {
    current: f32,
    target: f32,
    step: f32,
    remaining: u32,
    ramp_len: u32,
}

impl LinearRamp {
    /// A ramp sitting at `value`, which will take `ramp_len` samples for later changes.
    pub fn new(value: f32, ramp_len: u32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            remaining: 0,
            ramp_len: ramp_len.max(1),
        }
    }

    /// Start moving toward `target` (no-op when already heading there).
    pub fn set_target(&mut self, target: f32) {
        if target == self.target {
            return;
        }
        self.target = target;
        self.remaining = self.ramp_len;
        self.step = (target - self.current) / self.ramp_len as f32;
    }

    /// Jump to `value` at once.
    pub fn reset(&mut self, value: f32) {
        self.current = value;
        self.target = value;
        self.remaining = 0;
        self.step = 0.0;
    }

    /// Whether the ramp has arrived.
    #[inline]
    pub fn is_settled(&self) -> bool {
        self.remaining == 0
    }

    /// Samples left until the ramp arrives (0 when settled).
    #[inline]
    pub fn remaining(&self) -> u32 {
        self.remaining
    }

    /// Current value.
    #[inline]
    pub fn value(&self) -> f32 {
        self.current
    }

    /// Target value.
    #[inline]
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Advance one sample and return the new value.
    #[inline]
    pub fn next_value(&mut self) -> f32 {
        if self.remaining > 0 {
            self.remaining -= 1;
            self.current = if self.remaining == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }
}

/// A multichannel delay line of a whole number of samples: one ring per channel,
/// `max_delay + max_block` long, so a block of up to `max_block` frames can be pushed before
/// it is read back `delay` frames late. Used for the engine's bypass path and the A/B
/// alignment delays.
///
/// Per block: [`MultiDelay::push`] each channel, read frame `i` with [`MultiDelay::get`],
/// then [`MultiDelay::advance`] by the block length. `prepare` allocates; the rest never
/// does.
#[derive(Debug, Default)]
pub struct MultiDelay {
    rings: Vec<Vec<f32>>,
    delay: usize,
    max_delay: usize,
    write: usize,
}

impl MultiDelay {
    /// Allocate `channels` rings for delays up to `max_delay` samples and blocks up to
    /// `max_block` frames; the current delay is kept (clamped), the contents cleared.
    pub fn prepare(&mut self, channels: usize, max_block: usize, max_delay: usize) {
        self.max_delay = max_delay;
        self.delay = self.delay.min(max_delay);
        let len = max_delay + max_block;
        if self.rings.len() == channels && self.rings.iter().all(|r| r.len() == len) {
            // The same shape (a re-activation): clear, do not reallocate.
            self.reset();
        } else {
            self.rings = vec![vec![0.0; len]; channels];
            self.write = 0;
        }
    }

    /// Set the delay in samples (clamped to `max_delay`). The ring keeps its contents, so a
    /// change jumps in time: do it under a fade.
    pub fn set_delay(&mut self, delay: usize) {
        self.delay = delay.min(self.max_delay);
    }

    /// The delay in samples.
    pub fn delay(&self) -> usize {
        self.delay
    }

    /// Clear the contents (the delay is kept).
    pub fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
        self.write = 0;
    }

    /// Store one channel's block at the write position (two copies: up to the ring's end,
    /// then from its start).
    pub fn push(&mut self, ch: usize, block: &[f32]) {
        let ring = &mut self.rings[ch];
        let first = block.len().min(ring.len() - self.write);
        ring[self.write..self.write + first].copy_from_slice(&block[..first]);
        ring[..block.len() - first].copy_from_slice(&block[first..]);
    }

    /// Frames `0 .. out.len()` of the current block (as [`MultiDelay::get`]) into `out`.
    pub fn read(&self, ch: usize, out: &mut [f32]) {
        let ring = &self.rings[ch];
        let n = ring.len();
        let from = (self.write + n - self.delay) % n;
        let first = out.len().min(n - from);
        out[..first].copy_from_slice(&ring[from..from + first]);
        let rest = out.len() - first;
        out[first..].copy_from_slice(&ring[..rest]);
    }

    /// The sample for frame `i` of the current block: what was pushed `delay` frames
    /// before it.
    #[inline]
    pub fn get(&self, ch: usize, i: usize) -> f32 {
        let ring = &self.rings[ch];
        let n = ring.len();
        ring[(self.write + i + n - self.delay) % n]
    }

    /// The sample pushed `back` frames before the current block's first frame (`back` ≥ 1
    /// and at most the `max_delay` it was prepared for).
    #[inline]
    pub fn history(&self, ch: usize, back: usize) -> f32 {
        let ring = &self.rings[ch];
        let n = ring.len();
        debug_assert!((1..=self.max_delay).contains(&back), "history {back}");
        ring[(self.write + n - back % n) % n]
    }

    /// Move the write position past the current block of `len` frames.
    pub fn advance(&mut self, len: usize) {
        if let Some(n) = self.rings.first().map(Vec::len) {
            self.write = (self.write + len) % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_conversions() {
        assert!((db_to_gain(-6.0206) - 0.5).abs() < 1e-5);
        assert!((gain_to_db(0.1) + 20.0).abs() < 1e-5);
    }

    #[test]
    fn sanitize() {
        assert_eq!(sanitize_sample(f32::NAN), (0.0, true));
        assert_eq!(sanitize_sample(f32::NEG_INFINITY), (0.0, true));
        assert_eq!(sanitize_sample(1.0e-38), (0.0, false));
        assert_eq!(sanitize_sample(100.0), (MAX_INPUT, false));
        assert_eq!(sanitize_sample(-0.25), (-0.25, false));
    }

    #[test]
    fn ramp_arrives_exactly_in_len_samples() {
        let mut r = LinearRamp::new(0.0, 4);
        r.set_target(1.0);
        let v: Vec<f32> = (0..5).map(|_| r.next_value()).collect();
        assert_eq!(v, [0.25, 0.5, 0.75, 1.0, 1.0]);
        assert!(r.is_settled());
    }

    /// A ramp pushed in uneven blocks comes out `delay` samples late, bit for bit, on every
    /// channel, and silence before it.
    #[test]
    fn multi_delay_delays_by_whole_samples_across_blocks() {
        let (max_block, delay) = (64, 100);
        let mut d = MultiDelay::default();
        d.prepare(2, max_block, 128);
        d.set_delay(delay);
        assert_eq!(d.delay(), delay);
        let input: Vec<f32> = (1..=1000).map(|v| v as f32).collect();
        let mut out = [Vec::new(), Vec::new()];
        let (mut pos, mut k) = (0, 0);
        while pos < input.len() {
            let len = [1usize, 64, 7, 33][k % 4].min(input.len() - pos);
            for (ch, out) in out.iter_mut().enumerate() {
                let block: Vec<f32> = input[pos..pos + len]
                    .iter()
                    .map(|v| v * (ch + 1) as f32)
                    .collect();
                d.push(ch, &block);
                out.extend((0..len).map(|i| d.get(ch, i)));
            }
            d.advance(len);
            pos += len;
            k += 1;
        }
        for (ch, out) in out.iter().enumerate() {
            assert!(out[..delay].iter().all(|&v| v == 0.0));
            let expected: Vec<f32> = input[..1000 - delay]
                .iter()
                .map(|v| v * (ch + 1) as f32)
                .collect();
            assert_eq!(&out[delay..], &expected[..]);
        }
        d.reset();
        d.push(0, &[5.0]);
        assert_eq!(d.get(0, 0), 0.0, "reset clears the history");
    }
}
