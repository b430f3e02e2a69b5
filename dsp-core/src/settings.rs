//! Typed settings, built from the parameter table's plain values.

use crate::analog::decimator::DecimatorPhase;
use crate::dac::os_filter::OsFilter;
use crate::dac::r2r::{Coding, LadderConfig};
use crate::dac::stage::{ConverterKind, DacConfig, DacMode};
use crate::params::{ParamId, ParamValues, DAC_RATES_HZ, R2R_BITS};

/// Everything the engine needs to know about the user's choices, typed.
///
/// Built from [`ParamValues`] (the formats' common currency) with [`Settings::from_values`],
/// so that every format maps parameters to behaviour the same way. `Copy`: it crosses
/// threads by value and never allocates.
#[derive(Debug, Clone, Copy, PartialEq)]
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
    pub dac_mode: DacMode,
    /// `None`: the device's own filter.
    pub os_filter: Option<OsFilter>,
    /// Index into [`crate::params::DAC_RATE_LABELS`] (0 = host).
    pub dac_rate: usize,
    pub decimator: DecimatorPhase,
    /// `Some`: the user's ladder replaces the device's converter.
    pub custom_ladder: Option<LadderConfig>,
    /// The custom ladder's settings as the parameters hold them (kept when it is off).
    pub ladder: LadderConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_values(&ParamValues::default())
    }
}

impl Settings {
    /// Read every field from plain parameter values (each sanitized into its range).
    pub fn from_values(values: &ParamValues) -> Self {
        let ladder = LadderConfig {
            bits: R2R_BITS[values.get_index(ParamId::R2rBits).min(R2R_BITS.len() - 1)],
            tolerance_pct: f64::from(values.get(ParamId::R2rTolerance)),
            coding: Coding::from_index(values.get_index(ParamId::R2rCoding)),
            seed: values.get(ParamId::R2rSeed) as u64,
            ..LadderConfig::default()
        };
        Self {
            bypass: values.get_bool(ParamId::Bypass),
            level_match: values.get_bool(ParamId::LevelMatch),
            output_trim_db: values.get(ParamId::OutputTrim),
            device: values.get_index(ParamId::Device),
            headphone: values.get_index(ParamId::Headphone),
            dac_mode: DacMode::from_index(values.get_index(ParamId::DacMode)),
            os_filter: OsFilter::from_param_index(values.get_index(ParamId::OsFilter)),
            dac_rate: values.get_index(ParamId::DacRate),
            decimator: DecimatorPhase::from_index(values.get_index(ParamId::Decimator)),
            custom_ladder: values.get_bool(ParamId::R2rCustom).then_some(ladder),
            ladder,
        }
    }

    /// The inverse of [`Settings::from_values`].
    pub fn to_values(&self) -> ParamValues {
        let mut values = ParamValues::default();
        let flag = |b: bool| f32::from(u8::from(b));
        values.set(ParamId::Bypass, flag(self.bypass));
        values.set(ParamId::LevelMatch, flag(self.level_match));
        values.set(ParamId::OutputTrim, self.output_trim_db);
        values.set(ParamId::Device, self.device as f32);
        values.set(ParamId::Headphone, self.headphone as f32);
        values.set(ParamId::DacMode, self.dac_mode as usize as f32);
        values.set(
            ParamId::OsFilter,
            self.os_filter.map_or(0.0, |f| f as usize as f32 + 1.0),
        );
        values.set(ParamId::DacRate, self.dac_rate as f32);
        values.set(ParamId::Decimator, self.decimator as usize as f32);
        values.set(ParamId::R2rCustom, flag(self.custom_ladder.is_some()));
        let bits = R2R_BITS
            .iter()
            .position(|&b| b == self.ladder.bits)
            .unwrap_or(2);
        values.set(ParamId::R2rBits, bits as f32);
        values.set(ParamId::R2rTolerance, self.ladder.tolerance_pct as f32);
        values.set(ParamId::R2rCoding, self.ladder.coding as usize as f32);
        values.set(ParamId::R2rSeed, self.ladder.seed as f32);
        values
    }

    /// The DAC stage these settings ask for: the device's voicing with the user's mode,
    /// filter, DAC rate, decimator and (optionally) ladder. Pure; never allocates.
    pub fn dac_config(&self) -> DacConfig {
        let mut config = crate::voicing::device(self.device);
        config.mode = self.dac_mode;
        if let Some(filter) = self.os_filter {
            config.os_filter = filter;
        }
        config.dac_rate_hz = DAC_RATES_HZ
            .get(self.dac_rate)
            .copied()
            .filter(|&rate| rate > 0.0);
        config.decimator = self.decimator;
        if let Some(ladder) = self.custom_ladder {
            config.converter = ConverterKind::R2r(ladder);
        }
        config
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
            dac_mode: DacMode::Nos,
            os_filter: Some(OsFilter::Ak4493Slow),
            dac_rate: 1,
            decimator: DecimatorPhase::Minimum,
            custom_ladder: Some(LadderConfig {
                bits: 16,
                tolerance_pct: 0.5,
                coding: Coding::SignMagnitude,
                seed: 42,
                ..LadderConfig::default()
            }),
            ladder: LadderConfig {
                bits: 16,
                tolerance_pct: 0.5,
                coding: Coding::SignMagnitude,
                seed: 42,
                ..LadderConfig::default()
            },
            ..Settings::default()
        };
        assert_eq!(Settings::from_values(&s.to_values()), s);
        assert!(Settings::default().level_match);
        assert!(!Settings::default().bypass);
    }

    #[test]
    fn dac_config_follows_the_parameters() {
        let mut s = Settings::default();
        assert_eq!(s.dac_config(), crate::voicing::k13_r2r());
        s.dac_mode = DacMode::Nos;
        s.dac_rate = 1;
        s.os_filter = Some(OsFilter::Ak4493Sharp);
        let c = s.dac_config();
        assert_eq!(c.mode, DacMode::Nos);
        assert_eq!(c.dac_rate_hz, Some(44_100.0));
        assert_eq!(c.os_filter, OsFilter::Ak4493Sharp);
        s.device = 1;
        assert_eq!(s.dac_config().converter, ConverterKind::Ideal);
        s.custom_ladder = Some(s.ladder);
        assert!(matches!(s.dac_config().converter, ConverterKind::R2r(_)));
    }
}
