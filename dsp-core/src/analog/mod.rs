//! Analog-domain stages (run at K·fs): reconstruction low-pass, harmonic shaper.

pub mod decimator;
pub mod lowpass;
pub mod shaper;
