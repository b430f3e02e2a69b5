//! Typed settings, built from the parameter table's plain values.

use crate::amp::{AmpConfig, GainStep, Output};
use crate::analog::decimator::DecimatorPhase;
use crate::dac::os_filter::OsFilter;
use crate::dac::r2r::{Coding, LadderConfig};
use crate::dac::stage::{AmpControls, ConverterKind, DacConfig, DacMode};
use crate::headphones::{LoadConfig, LoadSource};
use crate::params::{
    ParamId, ParamValues, DAC_RATES_HZ, HEADPHONE_CUSTOM, HEADPHONE_RESISTIVE, R2R_BITS,
};
use crate::peq::{Band, FilterType, PeqDesign, PeqSettings};

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
    /// Index into [`crate::params::OUTPUT_LABELS`] (SE, BAL).
    pub output: usize,
    /// Index into [`crate::params::GAIN_LABELS`].
    pub gain: usize,
    /// Volume knob position, 0–100 %.
    pub volume_pct: f32,
    /// Use [`Settings::z_out_ohms`] instead of the device's output impedance.
    pub z_out_custom: bool,
    /// The user's output impedance (used when `z_out_custom`).
    pub z_out_ohms: f32,
    /// Value of the "Resistive" load.
    pub load_ohms: f32,
    /// The user's 10-band PEQ (host rate, before the DAC; level matching leaves it alone).
    pub peq: PeqSettings,
}

/// Parameter of band `band` (0-based), field `field` (0 on, 1 type, 2 freq, 3 gain, 4 Q).
fn band_param(band: usize, field: usize) -> ParamId {
    ParamId::ALL[ParamId::Peq1On as usize + 5 * band + field]
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
            output: values.get_index(ParamId::Output),
            gain: values.get_index(ParamId::Gain),
            volume_pct: values.get(ParamId::Volume),
            z_out_custom: values.get_bool(ParamId::ZOutCustom),
            z_out_ohms: values.get(ParamId::ZOutOhms),
            load_ohms: values.get(ParamId::LoadOhms),
            peq: PeqSettings {
                on: values.get_bool(ParamId::PeqOn),
                design: PeqDesign::from_index(values.get_index(ParamId::PeqDesign)),
                preamp_db: f64::from(values.get(ParamId::PeqPreamp)),
                bands: std::array::from_fn(|i| Band {
                    on: values.get_bool(band_param(i, 0)),
                    kind: FilterType::from_index(values.get_index(band_param(i, 1))),
                    freq_hz: f64::from(values.get(band_param(i, 2))),
                    gain_db: f64::from(values.get(band_param(i, 3))),
                    q: f64::from(values.get(band_param(i, 4))),
                }),
            },
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
        values.set(ParamId::Output, self.output as f32);
        values.set(ParamId::Gain, self.gain as f32);
        values.set(ParamId::Volume, self.volume_pct);
        values.set(ParamId::ZOutCustom, flag(self.z_out_custom));
        values.set(ParamId::ZOutOhms, self.z_out_ohms);
        values.set(ParamId::LoadOhms, self.load_ohms);
        for (id, value) in peq_values(&self.peq) {
            values.set(id, value);
        }
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
        // "Host" keeps the device's own rate, if it has one (the Apple dongle runs at 48 kHz).
        config.dac_rate_hz = DAC_RATES_HZ
            .get(self.dac_rate)
            .copied()
            .filter(|&rate| rate > 0.0)
            .or(config.dac_rate_hz);
        config.decimator = self.decimator;
        if let Some(ladder) = self.custom_ladder {
            config.converter = ConverterKind::R2r(ladder);
        }
        let spec = crate::voicing::amp(self.device);
        let output = Output::from_index(self.output);
        let z_out_ohms = self.z_out_ohms();
        config.amp = Some(AmpConfig {
            spec,
            output,
            // The stage takes |Z_L(1 kHz)| from the load.
            load_ohms: 0.0,
            z_out_ohms,
        });
        let load_ohms = f64::from(self.load_ohms);
        config.load = Some(LoadConfig {
            source: match self.headphone {
                HEADPHONE_RESISTIVE => LoadSource::Resistive(load_ohms),
                HEADPHONE_CUSTOM => LoadSource::Custom {
                    generation: 0,
                    fallback_ohms: load_ohms,
                },
                index => LoadSource::Catalogue(index),
            },
            z_out_ohms,
        });
        config
    }

    /// The output impedance in use: the user's when `z_out_custom`, else the device's for
    /// the chosen output.
    pub fn z_out_ohms(&self) -> f64 {
        if self.z_out_custom {
            f64::from(self.z_out_ohms)
        } else {
            crate::voicing::amp(self.device)
                .output(Output::from_index(self.output))
                .z_out_ohms
        }
    }

    /// What these settings mean at the ear: SPL of full scale and of the hiss, and the
    /// headroom, for a catalogue headphone with a published sensitivity (`None` otherwise).
    /// Uses the headphone's |Z(1 kHz)| and the output impedance in use. Reads the catalogue
    /// (parsed on first use): not for the audio thread.
    pub fn spl_report(&self) -> Option<crate::amp::SplReport> {
        let headphone = crate::headphones::by_index(self.headphone)?;
        let sensitivity = headphone.sensitivity?;
        let load_ohms = headphone.network.impedance(1000.0).norm();
        let amp = AmpConfig {
            load_ohms,
            ..self.dac_config().amp?
        };
        Some(crate::amp::report(
            &amp,
            GainStep::from_index(self.gain),
            f64::from(self.volume_pct),
            sensitivity,
            load_ohms,
        ))
    }

    /// The amp's realtime controls.
    pub fn amp_controls(&self) -> AmpControls {
        AmpControls {
            gain: GainStep::from_index(self.gain),
            volume_percent: f64::from(self.volume_pct),
            absolute: !self.level_match,
        }
    }
}

/// The parameter values of a PEQ setting (every PEQ parameter).
pub fn peq_values(peq: &PeqSettings) -> Vec<(ParamId, f32)> {
    let flag = |b: bool| f32::from(u8::from(b));
    let mut values = vec![
        (ParamId::PeqOn, flag(peq.on)),
        (ParamId::PeqDesign, peq.design.index() as f32),
        (ParamId::PeqPreamp, peq.preamp_db as f32),
    ];
    for (i, band) in peq.bands.iter().enumerate() {
        values.extend([
            (band_param(i, 0), flag(band.on)),
            (band_param(i, 1), band.kind.index() as f32),
            (band_param(i, 2), band.freq_hz as f32),
            (band_param(i, 3), band.gain_db as f32),
            (band_param(i, 4), band.q as f32),
        ]);
    }
    values
}

/// The parameter values a headphone preset sets (`None` for "Resistive" and "Custom
/// (imported)", which are not presets): the `headphone` choice and the whole PEQ — the
/// headphone's own profile where its file has one, else flat (every band off). The LV2
/// bundle's `pset` presets and the editor's preset loading both use this.
pub fn headphone_preset_values(index: usize) -> Option<Vec<(ParamId, f32)>> {
    let headphone = crate::headphones::by_index(index)?;
    Some(
        std::iter::once((ParamId::Headphone, index as f32))
            .chain(peq_values(&headphone_peq(headphone)))
            .collect(),
    )
}

/// A headphone's own PEQ as settings (APO designs, as AutoEQ assumes); flat — every band
/// off — when its file has none.
pub fn headphone_peq(headphone: &crate::headphones::Headphone) -> PeqSettings {
    let mut peq = PeqSettings::default();
    if let Some(own) = &headphone.peq {
        peq.preamp_db = own.preamp_db;
        for (slot, band) in peq.bands.iter_mut().zip(&own.bands) {
            *slot = Band {
                on: band.on,
                kind: FilterType::from_index(band.kind),
                freq_hz: band.freq_hz,
                gain_db: band.gain_db,
                q: band.q,
            };
        }
    }
    peq
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
            output: 1,
            gain: 2,
            volume_pct: 72.5,
            z_out_custom: true,
            z_out_ohms: 75.0,
            load_ohms: 300.0,
            peq: {
                let mut peq = Settings::default().peq;
                peq.design = PeqDesign::AnalogMatched;
                peq.preamp_db = -6.25;
                peq.bands[3] = Band {
                    on: true,
                    kind: FilterType::HighShelfQ,
                    freq_hz: 8000.0,
                    gain_db: -3.5,
                    q: 0.75,
                };
                peq.bands[9].on = false;
                peq
            },
            ..Settings::default()
        };
        assert_eq!(Settings::from_values(&s.to_values()), s);
        assert!(Settings::default().level_match);
        assert!(!Settings::default().bypass);
    }

    /// SPL awareness (issue "Amp and load"): the K7's hiss into the 122.5 dB/mW Andromeda
    /// is audible, into the 93 dB/mW E5000 it is not; more volume buys SPL dB for dB.
    #[test]
    fn spl_report_follows_the_headphone_and_volume() {
        let k7 = Settings {
            device: 2,
            gain: 0,
            volume_pct: 50.0,
            ..Settings::default()
        };
        let andromeda = k7.spl_report().expect("Andromeda has a sensitivity");
        let e5000 = Settings { headphone: 3, ..k7 }
            .spl_report()
            .expect("E5000 too");
        println!("K7 low gain, 50 %: Andromeda {andromeda:?}\nE5000 {e5000:?}");
        assert!(
            andromeda.noise_spl_db > 0.0,
            "audible hiss on the Andromeda"
        );
        assert!(e5000.noise_spl_db < 0.0, "no audible hiss on the E5000");
        let louder = Settings {
            volume_pct: 75.0,
            ..k7
        }
        .spl_report()
        .unwrap();
        let law = crate::amp::AmpSpec::k7().volume;
        let expected = law.gain_db(75.0) - law.gain_db(50.0);
        assert!(
            (louder.spl_full_scale_db - andromeda.spl_full_scale_db - expected).abs() < 1e-9,
            "SPL follows the volume law"
        );
        assert_eq!(
            louder.noise_spl_db, andromeda.noise_spl_db,
            "noise is after the volume"
        );
        assert!(Settings {
            headphone: HEADPHONE_RESISTIVE,
            ..k7
        }
        .spl_report()
        .is_none());
    }

    #[test]
    fn dac_config_follows_the_parameters() {
        let mut s = Settings::default();
        let k13 = s.dac_config();
        assert_eq!(
            DacConfig {
                amp: None,
                load: None,
                ..k13
            },
            crate::voicing::k13_r2r()
        );
        let amp = k13.amp.expect("an amp");
        assert_eq!(amp.spec, crate::amp::AmpSpec::k13_r2r());
        assert_eq!(amp.z_out_ohms, 0.4, "K13 SE");
        assert_eq!(
            k13.load.map(|l| l.source),
            Some(LoadSource::Catalogue(0)),
            "Andromeda"
        );
        s.output = 1;
        assert_eq!(
            s.dac_config().amp.map(|a| a.z_out_ohms),
            Some(1.0),
            "K13 BAL"
        );
        s.z_out_custom = true;
        s.z_out_ohms = 75.0;
        assert_eq!(s.dac_config().load.map(|l| l.z_out_ohms), Some(75.0));
        s.headphone = HEADPHONE_RESISTIVE;
        s.load_ohms = 300.0;
        assert_eq!(
            s.dac_config().load.map(|l| l.source),
            Some(LoadSource::Resistive(300.0))
        );
        s = Settings::default();
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
