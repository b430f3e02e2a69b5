//! The headphone amplifier: gain steps, volume law, voltage and current limits, and the
//! noise floor, in the oversampled analog domain (volts).
//!
//! The DAC hands over digital full-scale units (a 0 dBFS sine has peak 1.0) at the analog
//! rate. [`AmpStage`] turns them into volts at the amp's open-circuit output (gain step ×
//! volume knob), soft-clips at the device's rated limits for the configured load, adds the
//! device's noise floor, and scales back to the chain's units — level-matched (gain 1) or
//! absolute (1 Vrms reads as 0 dBFS). The divider into the headphone's impedance comes
//! after, in [`crate::load`].
//!
//! - [`spec`]: the devices ([`AmpSpec`]), their outputs, gain steps, limits and noise,
//!   each figure tagged published / seed / calculated / estimate.
//! - [`volume`]: knob laws ([`VolumeLaw`]): NJW1195A 0.5 dB steps, the K7's two-slope
//!   knob, digital.
//! - [`clipper`]: the branch-free soft clipper and its 1 %-THD calibration ([`clipper::R1`]).
//! - [`noise`]: fast Gaussian-ish white noise and its A-weighted scaling.
//! - [`stage`]: [`AmpStage`], the realtime stage.
//! - [`spl`]: SPL of full scale, hiss and headroom for a headphone.

pub mod clipper;
pub mod noise;
pub mod spec;
pub mod spl;
pub mod stage;
pub mod volume;

#[cfg(test)]
mod testutil;

pub use spec::{AmpSpec, GainSpec, GainStep, GainSteps, Limits, Output, OutputSpec};
pub use spl::{report, report_through, spl_db, Divider, Sensitivity, SplReport};
pub use stage::{
    AmpConfig, AmpControls, AmpOutput, AmpStage, LevelMode, LEVEL_MATCH_FLOOR_DB, V_REF_VRMS,
};
pub use volume::VolumeLaw;
