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
}
