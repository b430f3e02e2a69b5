//! Filters: FIR design (Kaiser-windowed sinc, minimum phase by cepstrum), polyphase FIR
//! kernels (SIMD with a scalar reference), and biquads.
//!
//! - [`design`]: `f64` low-pass designs built at prepare time (may allocate), with
//!   `response`/`magnitude_db`/`group_delay` for tests and plots.
//! - [`fir`]: `f32` run-time kernels — [`fir::PolyphaseInterpolator`] (fs → K·fs),
//!   [`fir::Decimator`] (K·fs → fs) and [`fir::Fir`] (single rate) — that never allocate in
//!   `process`.

pub mod design;
pub mod fir;
pub mod fractional;

pub use design::{
    design_lowpass, interpolation_filter, measure_lowpass, min_phase, LowpassSpec, Measured,
};
pub use fir::{Decimator, Fir, Kernel, PolyphaseInterpolator};
