//! The analog stages after the DAC, at the analog rate F = K·fs: the reconstruction
//! low-pass ([`lowpass`]), the harmonic profile of the analog circuitry ([`shaper`]), and
//! the decimator back to the host rate ([`decimator`]).

pub mod decimator;
pub mod lowpass;
pub mod shaper;

use lowpass::AnalogLowpass;
use shaper::HarmonicProfile;

/// A device's analog stage: its reconstruction low-pass (if it has one) and the harmonic
/// profile of its analog circuitry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogConfig {
    pub lowpass: Option<AnalogLowpass>,
    pub harmonics: HarmonicProfile,
}

impl AnalogConfig {
    /// No low-pass, no distortion.
    pub const CLEAN: AnalogConfig = AnalogConfig {
        lowpass: None,
        harmonics: HarmonicProfile::CLEAN,
    };
}
