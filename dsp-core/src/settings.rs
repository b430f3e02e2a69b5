//! Typed settings, built from the parameter table's plain values.

use crate::params::{ParamId, ParamValues};

/// Everything the engine needs to know about the user's choices, typed.
///
/// Built from [`ParamValues`] (the formats' common currency) with [`Settings::from_values`],
/// so that every format maps parameters to behaviour the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Pass the input through (latency-compensated).
    pub bypass: bool,
    /// Compensate the chain's level at 1 kHz (the user's trim is not compensated).
    pub level_match: bool,
    /// Final gain in dB.
    pub output_trim_db: f32,
    /// Index into [`crate::params::DEVICE_LABELS`].
    pub device: usize,
    /// Index into [`crate::params::HEADPHONE_LABELS`].
    pub headphone: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_values(&ParamValues::default())
    }
}

impl Settings {
    /// Read every field from plain parameter values (each sanitized into its range).
    pub fn from_values(values: &ParamValues) -> Self {
        Self {
            bypass: values.get_bool(ParamId::Bypass),
            level_match: values.get_bool(ParamId::LevelMatch),
            output_trim_db: values.get(ParamId::OutputTrim),
            device: values.get_index(ParamId::Device),
            headphone: values.get_index(ParamId::Headphone),
        }
    }

    /// The inverse of [`Settings::from_values`].
    pub fn to_values(&self) -> ParamValues {
        let mut values = ParamValues::default();
        values.set(ParamId::Bypass, f32::from(u8::from(self.bypass)));
        values.set(ParamId::LevelMatch, f32::from(u8::from(self.level_match)));
        values.set(ParamId::OutputTrim, self.output_trim_db);
        values.set(ParamId::Device, self.device as f32);
        values.set(ParamId::Headphone, self.headphone as f32);
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_values() {
        let s = Settings {
            bypass: true,
            level_match: false,
            output_trim_db: -6.5,
            device: 0,
            headphone: 0,
        };
        assert_eq!(Settings::from_values(&s.to_values()), s);
        assert!(Settings::default().level_match);
        assert!(!Settings::default().bypass);
    }
}
