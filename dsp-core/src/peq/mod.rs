//! Ten-band parametric EQ, with AutoEQ / EqualizerAPO profile import and export.
//!
//! The device's PEQ is digital and sits before the DAC, so it runs at the host rate. Each
//! band is one biquad, designed one of two ways ([`PeqDesign`]):
//!
//! - [`PeqDesign::ApoRbj`]: exactly the biquad EqualizerAPO computes for the same filter
//!   line (RBJ Audio-EQ-Cookbook, bilinear transform) — what an AutoEQ profile was fitted
//!   against, so a profile sounds the same as in EqualizerAPO, cramping near Nyquist and all
//!   ([`design::rbj`]).
//! - [`PeqDesign::AnalogMatched`]: the same analog prototype, matched in magnitude without
//!   the bilinear transform's cramping near Nyquist (Vicanek 2016; [`design::analog_matched`]).
//!
//! Modules:
//! - [`design`]: coefficient design and the analog prototypes ([`design::analog_response`]).
//! - [`processor`]: [`Peq`], the realtime stereo processor (SIMD across channels, smoothed
//!   automation, no allocation after construction).
//! - [`apo`]: parse and write EqualizerAPO / AutoEQ `ParametricEQ.txt` files.
//!
//! Parameter ranges (applied by [`Band::sanitized`] in the core, and validated with an error
//! at import): frequency [`MIN_FREQ_HZ`] … [`MAX_FREQ_RATIO`]·fs, Q [`MIN_Q`] … [`MAX_Q`],
//! gain and preamp ±[`MAX_GAIN_DB`].

pub mod apo;
pub mod design;
pub mod processor;

pub use apo::{parse_apo, to_apo, to_settings, ApoError, ApoProfile};
pub use processor::Peq;

use crate::filter::biquad::BiquadCoefs;
use realfft::num_complex::Complex64;

/// Number of bands.
pub const BANDS: usize = 10;

/// Lowest band frequency (Hz).
pub const MIN_FREQ_HZ: f64 = 10.0;

/// Highest band frequency as a fraction of the sample rate (0.49·fs: just below Nyquist,
/// where every design is still well-conditioned).
pub const MAX_FREQ_RATIO: f64 = 0.49;

/// Smallest quality factor.
pub const MIN_Q: f64 = 0.1;

/// Largest quality factor.
pub const MAX_Q: f64 = 40.0;

/// Largest band gain and preamp magnitude (dB).
pub const MAX_GAIN_DB: f64 = 30.0;

crate::choice! {
    /// The filter shape of a band, with EqualizerAPO's meaning for each type (labels as the
    /// `peq{n}_type` parameter shows them).
    pub enum FilterType {
        /// Peaking (bell) filter, `PK`: gain at `freq_hz`, bandwidth set by Q.
        Peak = "PK",
        /// Low shelf with Q, `LSC`: `freq_hz` is the midpoint (half the gain in dB).
        LowShelfQ = "LSC",
        /// High shelf with Q, `HSC`: `freq_hz` is the midpoint (half the gain in dB).
        HighShelfQ = "HSC",
        /// Low shelf with EqualizerAPO's fixed slope, `LS` without a slope or Q: RBJ shelf
        /// slope S = [`design::APO_SHELF_SLOPE`] (0.9), `freq_hz` the midpoint; Q is ignored.
        LowShelf = "LS",
        /// High shelf with EqualizerAPO's fixed slope, `HS`: as [`FilterType::LowShelf`].
        HighShelf = "HS",
        /// Second-order low-pass, `LP`: Q = 0.7071 is Butterworth; gain is ignored.
        LowPass = "LP",
        /// Second-order high-pass, `HP`: Q = 0.7071 is Butterworth; gain is ignored.
        HighPass = "HP",
        /// Band-pass with 0 dB peak gain at `freq_hz`, `BP`; gain is ignored.
        BandPass = "BP",
        /// Notch (zero gain at `freq_hz`), `NO`; gain is ignored.
        Notch = "Notch",
        /// All-pass (phase only; −180° at `freq_hz`), `AP`; gain is ignored.
        AllPass = "All-pass",
    }
}

impl FilterType {
    /// The EqualizerAPO type code written to files: "PK", "LSC", "HSC", "LS", "HS", "LP",
    /// "HP", "BP", "NO", "AP".
    pub fn apo_code(self) -> &'static str {
        match self {
            FilterType::Peak => "PK",
            FilterType::LowShelfQ => "LSC",
            FilterType::HighShelfQ => "HSC",
            FilterType::LowShelf => "LS",
            FilterType::HighShelf => "HS",
            FilterType::LowPass => "LP",
            FilterType::HighPass => "HP",
            FilterType::BandPass => "BP",
            FilterType::Notch => "NO",
            FilterType::AllPass => "AP",
        }
    }

    /// Whether `gain_db` shapes this type (peak and shelves). For the others EqualizerAPO
    /// ignores the gain, and so do we.
    pub fn has_gain(self) -> bool {
        matches!(
            self,
            FilterType::Peak
                | FilterType::LowShelfQ
                | FilterType::HighShelfQ
                | FilterType::LowShelf
                | FilterType::HighShelf
        )
    }

    /// Whether `q` shapes this type (all but the fixed-slope shelves `LS`/`HS`).
    pub fn has_q(self) -> bool {
        !matches!(self, FilterType::LowShelf | FilterType::HighShelf)
    }
}

/// One EQ band. Ranges are not enforced here: the core clamps with [`Band::sanitized`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    /// Whether the band filters at all.
    pub on: bool,
    /// Filter shape.
    pub kind: FilterType,
    /// Centre / corner / midpoint frequency (Hz), per [`FilterType`].
    pub freq_hz: f64,
    /// Gain (dB) for peak and shelves; ignored by the other types.
    pub gain_db: f64,
    /// Quality factor; ignored by the fixed-slope shelves.
    pub q: f64,
}

impl Band {
    /// The default, switched-off band: PK, 1 kHz, 0 dB, Q 0.707.
    pub const OFF: Band = Band {
        on: false,
        kind: FilterType::Peak,
        freq_hz: 1000.0,
        gain_db: 0.0,
        q: 0.707,
    };

    /// A band switched on.
    pub fn new(kind: FilterType, freq_hz: f64, gain_db: f64, q: f64) -> Self {
        Self {
            on: true,
            kind,
            freq_hz,
            gain_db,
            q,
        }
    }

    /// Parameters forced into range for `sample_rate`: frequency [`MIN_FREQ_HZ`] …
    /// [`MAX_FREQ_RATIO`]·fs, Q [`MIN_Q`] … [`MAX_Q`], gain ±[`MAX_GAIN_DB`]. NaN becomes
    /// the [`Band::OFF`] value (1 kHz, 0 dB, Q 0.707); ±∞ becomes the nearest limit.
    pub fn sanitized(&self, sample_rate: f64) -> Band {
        let max_freq = if sample_rate.is_finite() && sample_rate > 0.0 {
            (MAX_FREQ_RATIO * sample_rate).max(MIN_FREQ_HZ)
        } else {
            f64::MAX
        };
        Band {
            on: self.on,
            kind: self.kind,
            freq_hz: clamp_or(self.freq_hz, MIN_FREQ_HZ, max_freq, Band::OFF.freq_hz),
            gain_db: clamp_or(self.gain_db, -MAX_GAIN_DB, MAX_GAIN_DB, 0.0),
            q: clamp_or(self.q, MIN_Q, MAX_Q, Band::OFF.q),
        }
    }

    /// The band with the parameters its type ignores set to their defaults: gain 0 dB for
    /// LP/HP/BP/NO/AP, Q 0.707 for LS/HS. This is the form [`apo::parse_apo`] returns and
    /// what an export → import round trip reproduces exactly.
    pub fn canonical(&self) -> Band {
        let mut band = *self;
        if !band.kind.has_gain() {
            band.gain_db = 0.0;
        }
        if !band.kind.has_q() {
            band.q = Band::OFF.q;
        }
        band
    }
}

impl Default for Band {
    fn default() -> Self {
        Band::OFF
    }
}

/// `value` clamped to `lo..=hi`; `nan` for NaN (±∞ clamp to the limits).
pub(crate) fn clamp_or(value: f64, lo: f64, hi: f64, nan: f64) -> f64 {
    if value.is_nan() {
        nan
    } else {
        value.clamp(lo, hi)
    }
}

crate::choice! {
    /// How the bands' biquads are designed.
    #[derive(Default)]
    pub enum PeqDesign {
        /// EqualizerAPO's RBJ-cookbook biquads ([`design::rbj`]): matches AutoEQ profiles.
        #[default]
        ApoRbj = "APO (RBJ)",
        /// Magnitude-matched to the analog prototype, no cramping near Nyquist
        /// ([`design::analog_matched`]).
        AnalogMatched = "Analog-matched",
    }
}

/// Everything the PEQ does: a typed value the plugin builds from its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeqSettings {
    /// Master switch: off is an exact bypass (after a 20 ms fade).
    pub on: bool,
    /// Biquad design.
    pub design: PeqDesign,
    /// Gain applied before the bands (dB), as EqualizerAPO's `Preamp:` line.
    pub preamp_db: f64,
    /// The bands, processed in order.
    pub bands: [Band; BANDS],
}

impl Default for PeqSettings {
    /// On, [`PeqDesign::ApoRbj`], 0 dB preamp, every band [`Band::OFF`]: the identity.
    fn default() -> Self {
        Self {
            on: true,
            design: PeqDesign::ApoRbj,
            preamp_db: 0.0,
            bands: [Band::OFF; BANDS],
        }
    }
}

impl PeqSettings {
    /// Every value forced into range for `sample_rate` ([`Band::sanitized`]; preamp
    /// ±[`MAX_GAIN_DB`], NaN → 0 dB).
    pub fn sanitized(&self, sample_rate: f64) -> PeqSettings {
        PeqSettings {
            on: self.on,
            design: self.design,
            preamp_db: clamp_or(self.preamp_db, -MAX_GAIN_DB, MAX_GAIN_DB, 0.0),
            bands: self.bands.map(|b| b.sanitized(sample_rate)),
        }
    }

    /// The biquad of each band at `sample_rate` (`None` for a band that is off), as the
    /// processor runs them once settled.
    pub fn coefficients(&self, sample_rate: f64) -> [Option<BiquadCoefs>; BANDS] {
        self.bands
            .map(|b| b.on.then(|| design::design(&b, self.design, sample_rate)))
    }

    /// Complex response of the whole EQ (preamp included) at `freq_hz`, for `sample_rate`:
    /// the product of the active bands' digital responses. 1 when `on` is false.
    pub fn response(&self, freq_hz: f64, sample_rate: f64) -> Complex64 {
        if !self.on {
            return Complex64::new(1.0, 0.0);
        }
        let preamp_db = clamp_or(self.preamp_db, -MAX_GAIN_DB, MAX_GAIN_DB, 0.0);
        let mut h = Complex64::new(10f64.powf(preamp_db / 20.0), 0.0);
        for coefs in self.coefficients(sample_rate).iter().flatten() {
            h *= coefs.response(freq_hz, sample_rate);
        }
        h
    }

    /// Whether these settings leave the signal untouched: off, or preamp 0 dB and every
    /// band off (or a peak/shelf at 0 dB, which is the identity biquad).
    pub fn is_identity(&self) -> bool {
        let s = self.sanitized(f64::INFINITY);
        !s.on
            || (s.preamp_db == 0.0
                && s.bands
                    .iter()
                    .all(|b| !b.on || (b.kind.has_gain() && b.gain_db == 0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_indices_agree() {
        assert_eq!(FilterType::LABELS.len(), FilterType::ALL.len());
        for (i, t) in FilterType::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(FilterType::from_index(i), *t);
        }
        assert_eq!(
            FilterType::from_index(99),
            FilterType::AllPass,
            "clamped to the last"
        );
        let codes: Vec<&str> = FilterType::ALL.iter().map(|t| t.apo_code()).collect();
        assert_eq!(
            codes,
            ["PK", "LSC", "HSC", "LS", "HS", "LP", "HP", "BP", "NO", "AP"]
        );
        assert_eq!(PeqDesign::from_index(1), PeqDesign::AnalogMatched);
        assert_eq!(
            PeqDesign::from_index(7),
            PeqDesign::AnalogMatched,
            "clamped to the last"
        );
        assert_eq!(PeqDesign::LABELS.len(), 2);
    }

    #[test]
    fn sanitized_clamps_and_replaces_non_finite() {
        let fs = 48_000.0;
        let b = Band::new(FilterType::Peak, f64::NAN, f64::INFINITY, f64::NEG_INFINITY);
        let s = b.sanitized(fs);
        assert_eq!((s.freq_hz, s.gain_db, s.q), (1000.0, MAX_GAIN_DB, MIN_Q));
        let b = Band::new(FilterType::Peak, 1e9, f64::NAN, 1e9);
        let s = b.sanitized(fs);
        assert_eq!((s.freq_hz, s.gain_db, s.q), (0.49 * fs, 0.0, MAX_Q));
        let b = Band::new(FilterType::Peak, -5.0, -99.0, f64::NAN);
        let s = b.sanitized(fs);
        assert_eq!(
            (s.freq_hz, s.gain_db, s.q),
            (MIN_FREQ_HZ, -MAX_GAIN_DB, 0.707)
        );
    }

    #[test]
    fn default_settings_are_the_identity() {
        let s = PeqSettings::default();
        assert!(s.is_identity());
        for f in [20.0, 1000.0, 20_000.0] {
            let h = s.response(f, 48_000.0);
            assert!((h.re - 1.0).abs() < 1e-15 && h.im.abs() < 1e-15);
        }
        let mut s = PeqSettings::default();
        s.bands[3] = Band::new(FilterType::Peak, 500.0, 0.0, 2.0);
        assert!(s.is_identity(), "a 0 dB peak is the identity");
        s.bands[3].kind = FilterType::AllPass;
        assert!(!s.is_identity());
        s.on = false;
        assert!(s.is_identity());
    }
}
