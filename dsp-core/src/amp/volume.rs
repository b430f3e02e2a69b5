//! Volume knob laws: knob position (0–100 %) → gain in dB.
//!
//! Every law mutes at exactly 0 % (`gain_db` = −∞, linear gain 0) and reaches 0 dB at
//! 100 %. Out-of-range or NaN positions are clamped (NaN → 0 %, mute).

/// How a device's volume knob maps its position to gain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VolumeLaw {
    /// Linear in dB from `min_db` (just above 0 %) to 0 dB (100 %), rounded to multiples of
    /// `step_db` (0 = continuous): `round(min_db·(1 − p/100) / step)·step`.
    SteppedDb {
        /// Gain (dB, negative) just above 0 %.
        min_db: f64,
        /// Quantisation step (dB); 0 for a continuous law.
        step_db: f64,
    },
    /// Two straight segments in dB: `floor_db` just above 0 % → `knee_db` at
    /// `knee_percent` → 0 dB at 100 %.
    TwoSegmentDb {
        /// Gain (dB) just above 0 %.
        floor_db: f64,
        /// Knob position (%) of the knee, in (0, 100).
        knee_percent: f64,
        /// Gain (dB) at the knee.
        knee_db: f64,
    },
}

impl VolumeLaw {
    /// New JRC NJW1195A analog volume (K13 R2R, K11 R2R). The chip steps +31.5 to −95 dB in
    /// 0.5 dB steps, then mute \[pub: NJW1195A datasheet\]. The knob's mapping onto the chip
    /// is not published: \[est\] linear in dB from −95 dB (just above 0 %) to 0 dB (100 %),
    /// quantised to the chip's 0.5 dB steps; 0 % is the chip's mute.
    pub const NJW1195A: Self = Self::SteppedDb {
        min_db: -95.0,
        step_db: 0.5,
    };

    /// FiiO K7. The review says the knob "ramps up slowly in the first half and then
    /// increases quickly in the second half", leaving "much room to adjust the volume" for
    /// sensitive IEMs \[seed 000\]. \[est\] Two linear-in-dB segments: −90 dB just above 0 %,
    /// −60 dB at 50 %, 0 dB at 100 %. The first half spans 30 dB (0.6 dB per %), the second
    /// 60 dB (1.2 dB per %): at 50 % the level is 60 dB below maximum, i.e. 1/64 of the
    /// maximum loudness (10 dB per doubling of loudness). With the Andromeda 2020 at high
    /// gain, comfortable levels (≈ −85…−65 dB re full volume) then sit between about 8 %
    /// and 42 % of the knob.
    pub const K7: Self = Self::TwoSegmentDb {
        floor_db: -90.0,
        knee_percent: 50.0,
        knee_db: -60.0,
    };

    /// A digital volume (Apple dongle, the ideal source): \[est\] continuous, linear in dB
    /// from −60 dB to 0 dB.
    pub const DIGITAL: Self = Self::SteppedDb {
        min_db: -60.0,
        step_db: 0.0,
    };

    /// The knob position (%) [`Self::percent_for_db`] returns for the law's bottom: the
    /// quietest setting that is not mute.
    pub const JUST_ABOVE_ZERO: f64 = 1e-9;

    /// Gain (dB) at knob position `percent` (0–100, clamped; NaN → 0). −∞ at 0 % (mute).
    pub fn gain_db(&self, percent: f64) -> f64 {
        let p = clamp_percent(percent);
        if p <= 0.0 {
            return f64::NEG_INFINITY;
        }
        match *self {
            Self::SteppedDb { min_db, step_db } => {
                let raw = min_db * (1.0 - p / 100.0);
                if step_db > 0.0 {
                    // `+ 0.0` turns a −0.0 at 100 % into 0.0.
                    (raw / step_db).round() * step_db + 0.0
                } else {
                    raw + 0.0
                }
            }
            Self::TwoSegmentDb {
                floor_db,
                knee_percent,
                knee_db,
            } => {
                if p <= knee_percent {
                    floor_db + (knee_db - floor_db) * p / knee_percent
                } else {
                    knee_db - knee_db * (p - knee_percent) / (100.0 - knee_percent) + 0.0
                }
            }
        }
    }

    /// Linear gain at `percent`: `10^(gain_db/20)`, exactly 0 at 0 %.
    pub fn gain(&self, percent: f64) -> f64 {
        10f64.powf(self.gain_db(percent) / 20.0)
    }

    /// The smallest knob position (%) whose gain is `gain_db` (for a stepped law: whose
    /// unrounded gain is exactly `gain_db`, so a value on the step grid comes back
    /// exactly). Clamped: above 0 dB → 100 %, below the law's bottom (or −∞) → 0 % (mute);
    /// the bottom itself → [`Self::JUST_ABOVE_ZERO`].
    pub fn percent_for_db(&self, gain_db: f64) -> f64 {
        if gain_db.is_nan() {
            return 0.0;
        }
        if gain_db >= 0.0 {
            return 100.0;
        }
        match *self {
            Self::SteppedDb { min_db, .. } => {
                if gain_db < min_db {
                    0.0
                } else {
                    (100.0 * (1.0 - gain_db / min_db)).max(Self::JUST_ABOVE_ZERO)
                }
            }
            Self::TwoSegmentDb {
                floor_db,
                knee_percent,
                knee_db,
            } => {
                if gain_db < floor_db {
                    0.0
                } else if gain_db <= knee_db {
                    (knee_percent * (gain_db - floor_db) / (knee_db - floor_db))
                        .max(Self::JUST_ABOVE_ZERO)
                } else {
                    knee_percent + (100.0 - knee_percent) * (gain_db - knee_db) / -knee_db
                }
            }
        }
    }

    /// Gain (dB) just above 0 % — the quietest setting before mute.
    pub fn bottom_db(&self) -> f64 {
        match *self {
            Self::SteppedDb { min_db, .. } => min_db,
            Self::TwoSegmentDb { floor_db, .. } => floor_db,
        }
    }
}

/// Clamp to [0, 100]; NaN → 0.
fn clamp_percent(percent: f64) -> f64 {
    if percent >= 0.0 {
        percent.min(100.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knob positions 0.01 % apart.
    fn knob() -> impl Iterator<Item = f64> {
        (0..=10_000).map(|i| i as f64 / 100.0)
    }

    #[test]
    fn every_law_mutes_at_zero_and_is_unity_at_full() {
        for law in [VolumeLaw::NJW1195A, VolumeLaw::K7, VolumeLaw::DIGITAL] {
            assert_eq!(law.gain_db(0.0), f64::NEG_INFINITY);
            assert_eq!(law.gain(0.0), 0.0);
            assert_eq!(law.gain_db(100.0), 0.0);
            assert_eq!(law.gain(100.0), 1.0);
            // Clamping.
            assert_eq!(law.gain_db(-5.0), f64::NEG_INFINITY);
            assert_eq!(law.gain_db(f64::NAN), f64::NEG_INFINITY);
            assert_eq!(law.gain_db(250.0), 0.0);
            // Monotonic, and the bottom is the quietest setting.
            let mut last = f64::NEG_INFINITY;
            for p in knob() {
                let g = law.gain_db(p);
                assert!(g >= last, "{law:?} at {p}");
                last = g;
            }
            assert!((law.gain_db(1e-9) - law.bottom_db()).abs() < 1e-6);
        }
    }

    #[test]
    fn njw1195a_law_is_in_half_db_steps_from_minus_95() {
        let law = VolumeLaw::NJW1195A;
        let mut distinct = Vec::new();
        for p in knob().skip(1) {
            let g = law.gain_db(p);
            // On the 0.5 dB grid (exactly: multiples of 0.5 are exact in f64).
            assert_eq!((g * 2.0).fract(), 0.0, "{p} % → {g} dB");
            assert!((-95.0..=0.0).contains(&g));
            if distinct.last() != Some(&g) {
                distinct.push(g);
            }
        }
        // 0.01 % resolution visits every step from −95 to 0 dB: 191 values, each 0.5 dB
        // above the previous one.
        println!("NJW1195A: {} distinct steps", distinct.len());
        assert_eq!(distinct.len(), 191);
        for w in distinct.windows(2) {
            assert_eq!(w[1] - w[0], 0.5);
        }
        // Spot values: 50 % → −47.5 dB, 1 % → −94.05 → −94.0 dB.
        assert_eq!(law.gain_db(50.0), -47.5);
        assert_eq!(law.gain_db(1.0), -94.0);
        // Grid values come back exactly through the inverse.
        for k in 0..=190 {
            let db = -0.5 * k as f64;
            assert_eq!(law.gain_db(law.percent_for_db(db)), db);
        }
    }

    #[test]
    fn k7_law_is_slow_in_the_first_half_and_fast_in_the_second() {
        let law = VolumeLaw::K7;
        // The first half (1 % → 50 %) covers much less of the range in dB (≈ loudness:
        // 10 dB per doubling) than the second (50 % → 100 %).
        let first = law.gain_db(50.0) - law.gain_db(1.0);
        let second = law.gain_db(100.0) - law.gain_db(50.0);
        println!("K7 knob: first half {first:.1} dB, second half {second:.1} dB");
        assert!((first - 29.4).abs() < 1e-9);
        assert_eq!(second, 60.0);
        assert!(first <= 0.5 * second);
        // Slope per % of knob: 0.6 dB/% below the knee, 1.2 dB/% above (exactly 2×).
        let slope_lo = law.gain_db(30.0) - law.gain_db(29.0);
        let slope_hi = law.gain_db(80.0) - law.gain_db(79.0);
        assert!((slope_lo - 0.6).abs() < 1e-9 && (slope_hi - 1.2).abs() < 1e-9);
        // Loudness at half knob: 2^(−60/10) = 1/64 of full.
        let loudness = 2f64.powf(law.gain_db(50.0) / 10.0);
        assert!((loudness - 1.0 / 64.0).abs() < 1e-12);
        // Inverse.
        for p in [0.5, 10.0, 49.0, 50.0, 63.0, 99.0] {
            assert!((law.percent_for_db(law.gain_db(p)) - p).abs() < 1e-9);
        }
    }

    #[test]
    fn digital_law_is_linear_in_db() {
        let law = VolumeLaw::DIGITAL;
        assert!((law.gain_db(50.0) - -30.0).abs() < 1e-12);
        assert!((law.gain_db(90.0) - -6.0).abs() < 1e-12);
        assert!((law.gain(90.0) - 10f64.powf(-0.3)).abs() < 1e-12);
        assert_eq!(law.percent_for_db(-20.0), 100.0 * (1.0 - 20.0 / 60.0));
        assert_eq!(law.percent_for_db(-200.0), 0.0);
        assert_eq!(law.percent_for_db(3.0), 100.0);
    }
}
