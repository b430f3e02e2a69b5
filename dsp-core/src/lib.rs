//! Sourcery's DSP core: everything that turns a digital signal into what a given source
//! (DAC + amp) would put across a given headphone.
//!
//! This crate knows nothing of plugin formats or GUIs. The plugin crates translate their
//! parameters into a [`ParamValues`] array, turn it into a typed [`Settings`] and hand it to
//! the [`Engine`], whose lifecycle is `new(&Settings)` → `prepare(sample_rate, max_block,
//! channels)` (allocates) → `reset()` → `process(..)` (never allocates).
//!
//! The map, in signal order (the engine's docs follow one sample through it):
//! - [`engine`]: input conditioning, the PEQ, the [`chain`], level match, trim, bypass;
//!   chain swaps off the audio thread ([`rebuild`]).
//! - [`peq`]: the user's 10-band PEQ (host rate).
//! - [`chain`]: the oversampled chain, one field per physical stage; [`clocks`]: its rates.
//! - [`dac`]: chip OS filter, converter (R2R ladder, delta-sigma), hold.
//! - [`analog`]: reconstruction low-pass, harmonic shaper, decimator.
//! - [`amp`]: gain steps, volume law, limits, noise.
//! - [`load`]: the headphone's impedance and the divider it forms with the output impedance
//!   (and the listener's own source's, which it takes away).
//! - [`limiter`]: the output limiter of calibrated SPL.
//! - [`filter`]: the designs and kernels the stages run (FIR, fractional, biquad).
//!
//! Around it: [`settings`] (typed settings and the [`settings::ChainRequest`] they make),
//! [`params`] (the one parameter table), [`choice`] (enumerations as types), [`presets`]
//! (device and headphone files, the [`presets::Catalogue`]), [`voicing`] (the formulas
//! behind the built-in voicings), [`measure`] (the virtual analyzer and conformance),
//! [`compare`] (A/B), [`meter`], [`render`] (offline), [`analysis`] (FFT measurements).

pub mod amp;
pub mod analog;
pub mod analysis;
pub mod chain;
pub mod choice;
pub mod clocks;
pub mod compare;
pub mod dac;
pub mod engine;
pub mod filter;
pub mod limiter;
pub mod load;
pub mod measure;
pub mod meter;
pub mod params;
pub mod peq;
pub mod presets;
pub mod rebuild;
pub mod render;
pub mod settings;
pub mod util;
pub mod voicing;

pub use clocks::MAX_CHANNELS;
pub use engine::Engine;
pub use params::{ParamId, ParamKind, ParamSpec, ParamValues, PARAMS};
pub use settings::Settings;
