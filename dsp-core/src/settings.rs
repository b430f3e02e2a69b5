//! Typed settings, built from the parameter table's plain values, and the part of them
//! that defines a chain ([`ChainRequest`]).
//!
//! [`Settings`] is what the user chose. The audio thread compares the [`ChainRequest`] of
//! new settings with the running chain's; a different one is sent to the rebuild worker,
//! which resolves it against the [`Catalogue`] ([`ChainRequest::resolve`]) into the
//! [`ChainConfig`] a chain is built from.

pub use crate::amp::LevelMode;
use crate::amp::{AmpControls, AmpOutput, AmpSpec, Divider, GainStep, Output, SplReport};
use crate::analog::decimator::DecimatorPhase;
use crate::analog::AnalogConfig;
use crate::chain::{Calibration, ChainConfig};
use crate::dac::r2r::{Coding, LadderBits, LadderConfig};
use crate::dac::{ConverterKind, DacConfig, DacMode, DacRate, OsFilter};
use crate::load::{CustomLoad, LoadConfig, LoadSource};
use crate::params::{BandField, ParamId, ParamValues};
use crate::peq::{Band, FilterType, PeqSettings};
use crate::presets::{Catalogue, DeviceSlot, Headphone, HeadphoneSlot};

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
    pub device: DeviceSlot,
    pub headphone: HeadphoneSlot,
    pub dac_mode: DacMode,
    /// `None`: the device's own filter.
    pub os_filter: Option<OsFilter>,
    /// [`DacRate::Host`] keeps the device's own rate, if it has one.
    pub dac_rate: DacRate,
    pub decimator: DecimatorPhase,
    /// `Some`: the user's ladder replaces the device's converter.
    pub custom_ladder: Option<LadderConfig>,
    /// The custom ladder's settings as the parameters hold them (kept when it is off).
    pub ladder: LadderConfig,
    pub output: Output,
    pub gain: GainStep,
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
    /// The listener's own chain: the source they hear the plugin through, and how loud it
    /// plays.
    pub yours: YourChain,
    /// Calibrated SPL: the output reproduces the emulated source's absolute SPL through the
    /// listener's chain (overrides `level_match`).
    pub level_calibrated: bool,
}

/// The listener's own playback chain (the "Your Chain" parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YourChain {
    /// The device the listener's source is (its output impedance and noise);
    /// [`DeviceSlot::IDEAL`]: a 0 Ω source.
    pub source: DeviceSlot,
    pub output: Output,
    /// Use `z_out_ohms` instead of the device's output impedance.
    pub z_out_custom: bool,
    pub z_out_ohms: f32,
    /// SPL (dB) of a 0 dBFS 1 kHz sine through the listener's chain and headphone.
    pub spl_db: f32,
    /// A-weighted noise of the listener's chain at its output (µV); 0: not given.
    pub noise_uv: f32,
}

/// Calibrated SPL, explained ([`Settings::calibration_report`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationReport {
    /// What the emulated source puts at the ear (its SPL at 0 dBFS, hiss, headroom).
    pub emulated: SplReport,
    /// The listener's source's output impedance (Ω).
    pub your_z_out_ohms: f64,
    /// SPL (dB) of a 0 dBFS 1 kHz sine through the listener's chain.
    pub your_spl_db: f64,
    /// The open-circuit full-scale voltage of the listener's source that `your_spl_db`
    /// implies with this headphone.
    pub your_full_scale_vrms: f64,
    /// How far the emulated source's 0 dBFS plays above the listener's (dB): inputs above
    /// `−over_full_scale_db` dBFS are limited (nothing is when it is ≤ 0).
    pub over_full_scale_db: f64,
    /// SPL(A) of the listener's own noise floor, when given.
    pub your_noise_spl_db: Option<f64>,
}

impl CalibrationReport {
    /// Whether the emulated hiss lies below the listener's own noise floor (then it cannot
    /// be heard through their chain).
    pub fn hiss_below_yours(&self) -> bool {
        self.your_noise_spl_db
            .is_some_and(|yours| self.emulated.noise_spl_db < yours)
    }
}

/// The listener's source as a chain request carries it (resolved against the catalogue
/// by the worker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YourSourceRequest {
    pub device: DeviceSlot,
    pub output: Output,
    /// The user's figure; `None`: the device's for `output`.
    pub z_out_ohms: Option<f64>,
}

impl YourSourceRequest {
    /// The listener's output impedance (the device's, or the user's figure).
    pub fn z_out_ohms(&self, catalogue: &Catalogue) -> f64 {
        z_out_ohms(catalogue, self.device, self.output, self.z_out_ohms)
    }
}

/// What defines a chain: the structural part of [`Settings`] (`Copy`, compared on the audio
/// thread, sent to the rebuild worker). Level, trim, gain step, volume and PEQ are not in
/// it: they change a running chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainRequest {
    pub device: DeviceSlot,
    pub dac_mode: DacMode,
    pub os_filter: Option<OsFilter>,
    pub dac_rate: DacRate,
    pub decimator: DecimatorPhase,
    pub custom_ladder: Option<LadderConfig>,
    pub output: Output,
    /// The user's output impedance; `None`: the device's for `output`.
    pub z_out_ohms: Option<f64>,
    pub load: LoadSource,
    /// The source the listener hears the chain through.
    pub yours: YourSourceRequest,
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
            bits: values.get_choice::<LadderBits>(ParamId::R2rBits).bits(),
            tolerance_pct: f64::from(values.get(ParamId::R2rTolerance)),
            coding: values.get_choice::<Coding>(ParamId::R2rCoding),
            seed: values.get(ParamId::R2rSeed) as u64,
            ..LadderConfig::default()
        };
        Self {
            bypass: values.get_bool(ParamId::Bypass),
            level_match: values.get_bool(ParamId::LevelMatch),
            output_trim_db: values.get(ParamId::OutputTrim),
            device: DeviceSlot(values.get_index(ParamId::Device)),
            headphone: HeadphoneSlot(values.get_index(ParamId::Headphone)),
            dac_mode: values.get_choice(ParamId::DacMode),
            os_filter: values.get_choice(ParamId::OsFilter),
            dac_rate: values.get_choice(ParamId::DacRate),
            decimator: values.get_choice(ParamId::Decimator),
            custom_ladder: values.get_bool(ParamId::R2rCustom).then_some(ladder),
            ladder,
            output: values.get_choice(ParamId::Output),
            gain: values.get_choice(ParamId::Gain),
            volume_pct: values.get(ParamId::Volume),
            z_out_custom: values.get_bool(ParamId::ZOutCustom),
            z_out_ohms: values.get(ParamId::ZOutOhms),
            load_ohms: values.get(ParamId::LoadOhms),
            peq: PeqSettings {
                on: values.get_bool(ParamId::PeqOn),
                design: values.get_choice(ParamId::PeqDesign),
                preamp_db: f64::from(values.get(ParamId::PeqPreamp)),
                bands: std::array::from_fn(|i| Band {
                    on: values.get_bool(ParamId::band(i, BandField::On)),
                    kind: values.get_choice(ParamId::band(i, BandField::Type)),
                    freq_hz: f64::from(values.get(ParamId::band(i, BandField::Freq))),
                    gain_db: f64::from(values.get(ParamId::band(i, BandField::Gain))),
                    q: f64::from(values.get(ParamId::band(i, BandField::Q))),
                }),
            },
            yours: YourChain {
                source: DeviceSlot(values.get_index(ParamId::YourSource)),
                output: values.get_choice(ParamId::YourOutput),
                z_out_custom: values.get_bool(ParamId::YourZOutCustom),
                z_out_ohms: values.get(ParamId::YourZOutOhms),
                spl_db: values.get(ParamId::YourSplDb),
                noise_uv: values.get(ParamId::YourNoiseUv),
            },
            level_calibrated: values.get_bool(ParamId::LevelCalibrated),
        }
    }

    /// The inverse of [`Settings::from_values`].
    pub fn to_values(&self) -> ParamValues {
        let mut values = ParamValues::default();
        values.set_bool(ParamId::Bypass, self.bypass);
        values.set_bool(ParamId::LevelMatch, self.level_match);
        values.set(ParamId::OutputTrim, self.output_trim_db);
        values.set(ParamId::Device, self.device.0 as f32);
        values.set(ParamId::Headphone, self.headphone.0 as f32);
        values.set_choice(ParamId::DacMode, self.dac_mode);
        values.set_choice(ParamId::OsFilter, self.os_filter);
        values.set_choice(ParamId::DacRate, self.dac_rate);
        values.set_choice(ParamId::Decimator, self.decimator);
        values.set_bool(ParamId::R2rCustom, self.custom_ladder.is_some());
        values.set_choice(ParamId::R2rBits, LadderBits::from_bits(self.ladder.bits));
        values.set(ParamId::R2rTolerance, self.ladder.tolerance_pct as f32);
        values.set_choice(ParamId::R2rCoding, self.ladder.coding);
        values.set(ParamId::R2rSeed, self.ladder.seed as f32);
        values.set_choice(ParamId::Output, self.output);
        values.set_choice(ParamId::Gain, self.gain);
        values.set(ParamId::Volume, self.volume_pct);
        values.set_bool(ParamId::ZOutCustom, self.z_out_custom);
        values.set(ParamId::ZOutOhms, self.z_out_ohms);
        values.set(ParamId::LoadOhms, self.load_ohms);
        for (id, value) in peq_values(&self.peq) {
            values.set(id, value);
        }
        values.set(ParamId::YourSource, self.yours.source.0 as f32);
        values.set_choice(ParamId::YourOutput, self.yours.output);
        values.set_bool(ParamId::YourZOutCustom, self.yours.z_out_custom);
        values.set(ParamId::YourZOutOhms, self.yours.z_out_ohms);
        values.set(ParamId::YourSplDb, self.yours.spl_db);
        values.set(ParamId::YourNoiseUv, self.yours.noise_uv);
        values.set_bool(ParamId::LevelCalibrated, self.level_calibrated);
        values
    }

    /// How the output level is set: calibrated SPL when asked for, else level-matched or
    /// absolute.
    pub fn level_mode(&self) -> LevelMode {
        if self.level_calibrated {
            LevelMode::Calibrated
        } else if self.level_match {
            LevelMode::Matched
        } else {
            LevelMode::Absolute
        }
    }

    /// Set the level mode (the `level_match` and `level_calibrated` parameters).
    pub fn set_level_mode(&mut self, mode: LevelMode) {
        self.level_calibrated = mode == LevelMode::Calibrated;
        self.level_match = mode == LevelMode::Matched;
    }

    /// The chain these settings ask for; `custom_generation` is the imported curve's
    /// [`CustomLoad::generation`] (used with "Custom (imported)"). Pure; never allocates.
    pub fn chain_request(&self, custom_generation: u64) -> ChainRequest {
        let load_ohms = f64::from(self.load_ohms);
        ChainRequest {
            device: self.device,
            dac_mode: self.dac_mode,
            os_filter: self.os_filter,
            dac_rate: self.dac_rate,
            decimator: self.decimator,
            custom_ladder: self.custom_ladder,
            output: self.output,
            z_out_ohms: self.z_out_custom.then_some(f64::from(self.z_out_ohms)),
            load: match self.headphone {
                HeadphoneSlot::RESISTIVE => LoadSource::Resistive(load_ohms),
                HeadphoneSlot::CUSTOM => LoadSource::Custom {
                    generation: custom_generation,
                    fallback_ohms: load_ohms,
                },
                slot => LoadSource::Catalogue(slot.0),
            },
            yours: YourSourceRequest {
                device: self.yours.source,
                output: self.yours.output,
                z_out_ohms: self
                    .yours
                    .z_out_custom
                    .then_some(f64::from(self.yours.z_out_ohms)),
            },
        }
    }

    /// The output impedance of the listener's source.
    pub fn your_z_out_ohms(&self, catalogue: &Catalogue) -> f64 {
        self.chain_request(0).yours.z_out_ohms(catalogue)
    }

    /// The output impedance in use: the user's when `z_out_custom`, else the device's for
    /// the chosen output.
    pub fn z_out_ohms(&self, catalogue: &Catalogue) -> f64 {
        self.chain_request(0).z_out_ohms(catalogue)
    }

    /// What these settings mean at the ear: SPL of full scale and of the hiss, and the
    /// headroom, for a catalogue headphone with a published sensitivity (`None` otherwise).
    /// Uses the headphone's |Z(1 kHz)| and the output impedance in use. Not for the audio
    /// thread.
    ///
    /// The divider is the complex `Z_L/(Z_L + Z_out)`: at 1 kHz for the signal and the clip
    /// point, and A-weighted over 20 Hz–20 kHz for the hiss (the white noise floor meets a
    /// different divider in each band where |Z_L| varies — a multi-BA IEM on a source of a
    /// few ohms). This is what the emulated source puts at the ear, whatever source the
    /// listener hears it through.
    pub fn spl_report(&self, catalogue: &Catalogue) -> Option<SplReport> {
        let headphone = catalogue.headphone(self.headphone)?;
        let sensitivity = headphone.sensitivity?;
        let z_1khz = headphone.network.impedance(1000.0);
        let load_ohms = z_1khz.norm();
        let z_out = self.z_out_ohms(catalogue);
        let amp = AmpOutput {
            spec: amp_spec(catalogue, self.device),
            output: self.output,
        }
        .driving(load_ohms, z_out);
        let divider = Divider {
            at_1khz: crate::load::divider(z_1khz, z_out).norm(),
            noise_a: noise_divider(headphone, z_out),
        };
        Some(crate::amp::report_through(
            &amp,
            self.gain,
            f64::from(self.volume_pct),
            sensitivity,
            load_ohms,
            divider,
        ))
    }

    /// What calibrated SPL means with these settings: the emulated source's levels at the
    /// ear, the listener's chain, and how they meet (`None` without a published sensitivity,
    /// where calibrated SPL falls back to level matching). Not for the audio thread.
    pub fn calibration_report(&self, catalogue: &Catalogue) -> Option<CalibrationReport> {
        let emulated = self.spl_report(catalogue)?;
        let (headphone, yours, calibration) = self.your_calibration(catalogue)?;
        let your_spl_db = f64::from(self.yours.spl_db);
        let your_noise_spl_db = (self.yours.noise_uv > 0.0).then(|| {
            // SPL of the noise voltage across the headphone: the sensitivity per Vrms, plus
            // the noise through your source's divider, A-weighted band by band.
            let noise_vrms =
                f64::from(self.yours.noise_uv) * 1e-6 * noise_divider(headphone, yours);
            calibration.spl_per_vrms_db + 20.0 * noise_vrms.log10()
        });
        Some(CalibrationReport {
            emulated,
            your_z_out_ohms: yours,
            your_spl_db,
            your_full_scale_vrms: calibration.your_full_scale_vrms(your_spl_db),
            over_full_scale_db: emulated.spl_full_scale_db - your_spl_db,
            your_noise_spl_db,
        })
    }

    /// The headphone (with a published sensitivity), the listener's output impedance and
    /// the calibration figures they make ([`Calibration::for_load`]).
    fn your_calibration<'a>(
        &self,
        catalogue: &'a Catalogue,
    ) -> Option<(&'a Headphone, f64, Calibration)> {
        let headphone = catalogue.headphone(self.headphone)?;
        let yours = self.your_z_out_ohms(catalogue);
        let calibration = Calibration::for_load(
            headphone.sensitivity?,
            headphone.network.impedance(1000.0),
            yours,
        );
        Some((headphone, yours, calibration))
    }

    /// The SPL at 0 dBFS (1 kHz) of the listener's chain whose source gives `full_scale_vrms`
    /// open-circuit for a 0 dBFS sine, through its output impedance into this headphone
    /// (`None` without a published sensitivity).
    pub fn your_spl_from_full_scale(
        &self,
        catalogue: &Catalogue,
        full_scale_vrms: f64,
    ) -> Option<f64> {
        let (_, _, calibration) = self.your_calibration(catalogue)?;
        Some(calibration.your_spl_db(full_scale_vrms))
    }

    /// The amp's realtime controls.
    pub fn amp_controls(&self) -> AmpControls {
        AmpControls {
            gain: self.gain,
            volume_percent: f64::from(self.volume_pct),
            level: self.level_mode(),
        }
    }
}

/// The amp of the device in `slot` ([`AmpSpec::ideal`] for an unknown slot).
fn amp_spec(catalogue: &Catalogue, slot: DeviceSlot) -> AmpSpec {
    catalogue
        .device(slot)
        .map_or_else(AmpSpec::ideal, |d| d.amp)
}

/// The output impedance of `device`'s `output`, or the user's figure `custom`.
fn z_out_ohms(
    catalogue: &Catalogue,
    device: DeviceSlot,
    output: Output,
    custom: Option<f64>,
) -> f64 {
    custom.unwrap_or_else(|| amp_spec(catalogue, device).output(output).z_out_ohms)
}

/// The A-weighted RMS gain of `headphone`'s divider from `z_out_ohms` on white noise
/// (20 Hz–20 kHz): what a source's hiss meets across a load whose |Z_L| varies.
fn noise_divider(headphone: &Headphone, z_out_ohms: f64) -> f64 {
    crate::amp::noise::a_weighted_gain(|f| {
        crate::load::divider(headphone.network.impedance(f), z_out_ohms).norm()
    })
}

impl ChainRequest {
    /// The output impedance in use (the user's, else the device's for the output).
    pub fn z_out_ohms(&self, catalogue: &Catalogue) -> f64 {
        z_out_ohms(catalogue, self.device, self.output, self.z_out_ohms)
    }

    /// The chain this request asks for: the device's voicing (the transparent reference for
    /// an unknown slot) with the user's mode, filter, DAC rate, decimator and ladder, its
    /// amp on the chosen output, and the load resolved (`custom` for the imported curve).
    /// Allocates: for the rebuild worker, not the audio thread.
    pub fn resolve(&self, catalogue: &Catalogue, custom: &CustomLoad) -> ChainConfig {
        let device = catalogue.device(self.device);
        let (mut dac, analog) = device.map_or((DacConfig::IDEAL, AnalogConfig::CLEAN), |d| {
            (d.dac, d.analog)
        });
        dac.mode = self.dac_mode;
        if let Some(filter) = self.os_filter {
            dac.os_filter = filter;
        }
        // "Host" keeps the device's own rate, if it has one (the Apple dongle runs at 48 kHz).
        dac.dac_rate_hz = self.dac_rate.hz().or(dac.dac_rate_hz);
        if let Some(ladder) = self.custom_ladder {
            dac.converter = ConverterKind::R2r(ladder);
        }
        let load = self.load.resolve(custom, |slot| {
            catalogue
                .headphone(HeadphoneSlot(slot))
                .map(|h| h.network.clone())
        });
        let sensitivity = match self.load {
            LoadSource::Catalogue(slot) => catalogue
                .headphone(HeadphoneSlot(slot))
                .and_then(|h| h.sensitivity),
            _ => None,
        };
        ChainConfig {
            dac,
            analog,
            amp: Some(AmpOutput {
                spec: amp_spec(catalogue, self.device),
                output: self.output,
            }),
            load: Some(LoadConfig {
                load,
                z_out_ohms: self.z_out_ohms(catalogue),
                your_z_out_ohms: self.yours.z_out_ohms(catalogue),
                sensitivity,
            }),
            decimator: self.decimator,
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
            (ParamId::band(i, BandField::On), flag(band.on)),
            (ParamId::band(i, BandField::Type), band.kind.index() as f32),
            (ParamId::band(i, BandField::Freq), band.freq_hz as f32),
            (ParamId::band(i, BandField::Gain), band.gain_db as f32),
            (ParamId::band(i, BandField::Q), band.q as f32),
        ]);
    }
    values
}

/// The parameter values a headphone preset sets (`None` for "Resistive" and "Custom
/// (imported)", which are not presets): the `headphone` choice and the whole PEQ — the
/// headphone's own profile where its file has one, else flat (every band off). The LV2
/// bundle's `pset` presets and the editor's preset loading both use this.
pub fn headphone_preset_values(
    catalogue: &Catalogue,
    slot: HeadphoneSlot,
) -> Option<Vec<(ParamId, f32)>> {
    let headphone = catalogue.headphone(slot)?;
    Some(
        std::iter::once((ParamId::Headphone, slot.0 as f32))
            .chain(peq_values(&headphone_peq(headphone)))
            .collect(),
    )
}

/// A headphone's own PEQ as settings (APO designs, as AutoEQ assumes); flat — every band
/// off — when its file has none.
pub fn headphone_peq(headphone: &Headphone) -> PeqSettings {
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
    use crate::load::ResolvedLoad;
    use crate::peq::PeqDesign;

    fn headphone(id: &str) -> HeadphoneSlot {
        HeadphoneSlot::by_id(id).unwrap()
    }

    #[test]
    fn round_trips_through_values() {
        let s = Settings {
            bypass: true,
            level_match: false,
            output_trim_db: -6.5,
            dac_mode: DacMode::Nos,
            os_filter: Some(OsFilter::Ak4493Slow),
            dac_rate: DacRate::R44k1,
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
            output: Output::Bal,
            gain: GainStep::High,
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

    /// SPL awareness: the K7's hiss into the 122.5 dB/mW Andromeda
    /// is audible, into the 93 dB/mW E5000 it is not; more volume buys SPL dB for dB.
    #[test]
    fn spl_report_follows_the_headphone_and_volume() {
        let catalogue = Catalogue::factory();
        let k7 = Settings {
            device: DeviceSlot::by_id("fiio-k7").unwrap(),
            gain: GainStep::Low,
            volume_pct: 50.0,
            ..Settings::default()
        };
        let andromeda = k7
            .spl_report(catalogue)
            .expect("Andromeda has a sensitivity");
        let e5000 = Settings {
            headphone: headphone("final-e5000"),
            ..k7
        }
        .spl_report(catalogue)
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
        .spl_report(catalogue)
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
            headphone: HeadphoneSlot::RESISTIVE,
            ..k7
        }
        .spl_report(catalogue)
        .is_none());
    }

    #[test]
    fn chain_config_follows_the_parameters() {
        let catalogue = Catalogue::factory();
        let custom = CustomLoad::default();
        let resolve = |s: &Settings| s.chain_request(0).resolve(catalogue, &custom);
        let mut s = Settings::default();
        let k13 = resolve(&s);
        let voicing = crate::voicing::k13_r2r();
        assert_eq!((k13.dac, k13.analog), (voicing.dac, voicing.analog));
        let amp = k13.amp.expect("an amp");
        assert_eq!(amp.spec, crate::amp::AmpSpec::k13_r2r());
        assert_eq!(k13.z_out_ohms(), 0.4, "K13 SE");
        let andromeda = catalogue
            .headphone(headphone("campfire-andromeda-2020"))
            .unwrap();
        assert_eq!(
            s.chain_request(0).load,
            LoadSource::Catalogue(andromeda.slot)
        );
        assert_eq!(
            k13.load.map(|l| l.load),
            Some(ResolvedLoad::Network(andromeda.network.clone())),
            "Andromeda"
        );
        s.output = Output::Bal;
        assert_eq!(resolve(&s).z_out_ohms(), 1.0, "K13 BAL");
        s.z_out_custom = true;
        s.z_out_ohms = 75.0;
        assert_eq!(resolve(&s).z_out_ohms(), 75.0);
        s.headphone = HeadphoneSlot::RESISTIVE;
        s.load_ohms = 300.0;
        assert_eq!(s.chain_request(0).load, LoadSource::Resistive(300.0));
        assert_eq!(
            resolve(&s).load.map(|l| l.load),
            Some(ResolvedLoad::resistor(300.0))
        );
        s = Settings::default();
        s.dac_mode = DacMode::Nos;
        s.dac_rate = DacRate::R44k1;
        s.os_filter = Some(OsFilter::Ak4493Sharp);
        let c = resolve(&s).dac;
        assert_eq!(c.mode, DacMode::Nos);
        assert_eq!(c.dac_rate_hz, Some(44_100.0));
        assert_eq!(c.os_filter, OsFilter::Ak4493Sharp);
        s.device = DeviceSlot::IDEAL;
        assert_eq!(resolve(&s).dac.converter, ConverterKind::Ideal);
        s.custom_ladder = Some(s.ladder);
        assert!(matches!(resolve(&s).dac.converter, ConverterKind::R2r(_)));
        // A structural change is a new request; a level change is not.
        let base = Settings::default();
        assert_ne!(
            Settings {
                dac_mode: DacMode::Nos,
                ..base
            }
            .chain_request(0),
            base.chain_request(0)
        );
        assert_eq!(
            Settings {
                volume_pct: 80.0,
                output_trim_db: -3.0,
                ..base
            }
            .chain_request(0),
            base.chain_request(0)
        );
    }
}
