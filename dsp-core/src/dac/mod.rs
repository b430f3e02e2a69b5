//! The DAC: the chip's oversampling filter ([`os_filter`], OS mode only), the converter
//! ([`converter`]: ideal, an R2R ladder, or delta-sigma) and the hold that renders the
//! converter's staircase into the analog domain ([`hold`]).
//!
//! - [`os_filter`]: the chip filters (AK4493 family, the R2R OS filter, references), each a
//!   FIR designed to its figures, and [`ChipFilter`], the stage that oversamples by `M`.
//! - [`converter`]: [`Converter`], codes to levels at the converter rate `M·fd`.
//! - [`r2r`], [`delta_sigma`]: the two real converters.
//! - [`hold`]: [`Hold`], the zero-order hold rendered exactly (sinc droop and images) into
//!   the analog domain, band-limited to F/2.

pub mod converter;
pub mod delta_sigma;
pub mod hold;
pub mod os_filter;
pub mod r2r;

pub use converter::Converter;
pub use hold::Hold;
pub use os_filter::{ChipFilter, OsFilter};

use r2r::LadderConfig;

crate::choice! {
    /// OS (the chip's filter reconstructs) or NOS (the converter holds each sample).
    pub enum DacMode { Os = "OS", Nos = "NOS" }
}

crate::choice! {
    /// The rate the DAC runs at: the host's, or a fixed one (the input is converted to it
    /// first, as if the material were at that rate).
    pub enum DacRate {
        Host = "Host", R44k1 = "44.1 kHz", R48k = "48 kHz", R88k2 = "88.2 kHz",
        R96k = "96 kHz", R176k4 = "176.4 kHz", R192k = "192 kHz",
    }
}

impl DacRate {
    /// The rate in Hz; `None` for [`DacRate::Host`].
    pub fn hz(self) -> Option<f64> {
        match self {
            DacRate::Host => None,
            DacRate::R44k1 => Some(44_100.0),
            DacRate::R48k => Some(48_000.0),
            DacRate::R88k2 => Some(88_200.0),
            DacRate::R96k => Some(96_000.0),
            DacRate::R176k4 => Some(176_400.0),
            DacRate::R192k => Some(192_000.0),
        }
    }
}

/// What turns codes into voltages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConverterKind {
    /// Exact (the "Ideal" reference).
    Ideal,
    R2r(LadderConfig),
    /// Delta-sigma: in-band noise floor in dBFS (AES17), unweighted.
    DeltaSigma {
        noise_dbfs: f64,
    },
}

/// Everything that defines a DAC (all `Copy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DacConfig {
    pub mode: DacMode,
    /// The chip's OS filter (used in OS mode).
    pub os_filter: OsFilter,
    /// DAC rate in Hz; `None` = the host rate.
    pub dac_rate_hz: Option<f64>,
    pub converter: ConverterKind,
    /// Whether the converter's staircase (hold droop) is rendered; the "Ideal" reference
    /// turns it off.
    pub hold: bool,
}

impl DacConfig {
    /// A transparent reference: OS with the long linear-phase filter, ideal converter, no
    /// hold droop.
    pub const IDEAL: DacConfig = DacConfig {
        mode: DacMode::Os,
        os_filter: OsFilter::ReferenceLinear,
        dac_rate_hz: None,
        converter: ConverterKind::Ideal,
        hold: false,
    };
}
