//! Sourcery's DSP core: everything that turns a digital signal into what a given source
//! (DAC + amp) would put across a given headphone.
//!
//! This crate knows nothing of plugin formats or GUIs. The plugin crates translate their
//! parameters into a [`ParamValues`] array, turn it into a typed [`Settings`] and hand it to
//! the [`Engine`], whose lifecycle is `new(&Settings)` → `prepare(sample_rate, max_block,
//! channels)` (allocates) → `reset()` → `process(..)` (never allocates).

pub mod amp;
pub mod analog;
pub mod analysis;
pub mod compare;
pub mod dac;
pub mod engine;
pub mod filter;
pub mod headphones;
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

pub use engine::Engine;
pub use params::{ParamId, ParamKind, ParamSpec, ParamValues, PARAMS};
pub use settings::Settings;

/// Largest number of channels the engine processes (stereo).
pub const MAX_CHANNELS: usize = 2;
