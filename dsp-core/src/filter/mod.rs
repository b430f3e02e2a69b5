//! Filters: FIR design (Kaiser-windowed sinc, minimum phase by cepstrum), polyphase FIR
//! kernels (SIMD with a scalar reference), fractional-rate resampling, and the biquad.
//!
//! - [`biquad`]: [`biquad::BiquadCoefs`] and the one biquad recursion the PEQ, the load's
//!   cascade and the analog low-pass share ([`biquad::tdf2`], and [`biquad::Biquad`], its
//!   four-at-a-time form).
//! - [`design`]: `f64` low-pass designs built at prepare time (may allocate), with
//!   `response`/`magnitude_db`/`group_delay` for tests and plots.
//! - [`fir`]: `f32` run-time kernels — [`fir::PolyphaseInterpolator`] (fs → K·fs),
//!   [`fir::Decimator`] (K·fs → fs) and [`fir::Fir`] (single rate) — that never allocate in
//!   `process`.
//! - [`fractional`]: [`fractional::FractionalResampler`], band-limited resampling at any
//!   ratio from a tabulated kernel (the hold, the conversion to the DAC rate).

pub mod biquad;
pub mod cache;
pub mod design;
pub mod fir;
pub mod fractional;

pub use design::{
    design_lowpass, interpolation_filter, measure_lowpass, min_phase, LowpassSpec, Measured,
};
pub use fir::{Decimator, Fir, Kernel, PolyphaseInterpolator};
