//! The oversampled chain: host rate in, host rate out, with the "analog" domain between.
//!
//! ```text
//! host fs ─► to DAC rate ─► chip filter ×M ─► converter ─► hold ─► analog low-pass ─► shaper ─► amp ─► load network ─► decimator ─► load curve ─► host fs
//!            (if fd ≠ fs)   (OS only)         (ideal, R2R,  (staircase  (all at F = K·fs: volts, clipping, noise;            (K·fs → fs)   (a measured
//!                                              ΔΣ) at M·fd   into F)     a lumped load's divider as an IIR)                                  load's FIR)
//! ```
//!
//! [`Chain`] has one field per stage, in that order, and [`Chain::process`] calls them in
//! that order. Each stage lives with its physics:
//!
//! | stage | type | file |
//! |---|---|---|
//! | to DAC rate | [`ToDacRate`] | `chain/to_dac_rate.rs` |
//! | chip OS filter | [`ChipFilter`] | `dac/os_filter.rs` |
//! | converter | [`Converter`] | `dac/converter.rs` (`dac/r2r.rs`, `dac/delta_sigma.rs`) |
//! | hold | [`Hold`] | `dac/hold.rs` |
//! | analog low-pass | [`Lowpass`] | `analog/lowpass.rs` |
//! | shaper | [`ChebyshevShaper`] | `analog/shaper.rs` |
//! | amp | [`AmpStage`] | `amp/stage.rs` |
//! | load network | [`LoadNetwork`] | `load/iir.rs` |
//! | decimator | [`Decimator`] | `analog/decimator.rs` |
//! | load curve | [`LoadCurve`] | `load/fir.rs` |
//!
//! Every stage has the same shape: `new(design or config, clocks)` allocates, `reset()`
//! clears it, `process(...)` runs a block and never allocates. There is no dynamic
//! dispatch: a stage a chain does not need (NOS has no chip filter, a device without a
//! low-pass, a curve load has no network) is present and passes the block on.
//!
//! A lumped load's divider runs in the analog domain, a measured curve's after the
//! decimator: the divider is linear and follows the only nonlinear stages, so the two
//! places give the same audio band, and the FIR at the host rate is K times cheaper.
//!
//! Latency is measured, not computed: at build time an impulse goes through a copy of the
//! chain with an ideal converter, no shaper and no amp (the linear probe), and its peak
//! position is the latency; a 1 kHz tone through it gives the gain that level matching
//! takes away.
//!
//! [`Chain::new`] designs filters (tens of ms): call it off the audio thread.

mod config;
mod design;
pub mod to_dac_rate;

pub use config::ChainConfig;
pub use design::{latency_bound, ChainDesign, LoadDesign};

use crate::amp::{AmpControls, AmpStage, LevelMode, Sensitivity};
use crate::analog::decimator::Decimator;
use crate::analog::lowpass::Lowpass;
use crate::analog::shaper::{ChebyshevShaper, HarmonicProfile};
use crate::clocks::{ChainLayout, Clocks, MAX_CHANNELS};
use crate::dac::r2r::{LadderConfig, R2rDac};
use crate::dac::{ChipFilter, Converter, ConverterKind, DacMode, Hold};
use crate::filter::cache::DesignCache;
use crate::load::Complex64;
use crate::load::{LoadCurve, LoadNetwork};
use to_dac_rate::ToDacRate;

/// The oversampled chain for 1 or 2 channels (see the module docs).
pub struct Chain {
    config: ChainConfig,
    clocks: Clocks,
    to_dac_rate: ToDacRate,
    chip_filter: ChipFilter,
    converter: Converter,
    hold: Hold,
    lowpass: Lowpass,
    shaper: ChebyshevShaper,
    /// `None`: the DAC alone.
    amp: Option<AmpStage>,
    load_network: LoadNetwork,
    decimator: Decimator,
    load_curve: LoadCurve,
    /// One channel's block at the DAC rate.
    dac_buf: Vec<f32>,
    /// One analog-domain buffer per channel (K·max_block).
    analog_bufs: Vec<Vec<f32>>,
    /// Samples of `analog_bufs` the last chunk filled.
    analog_len: usize,
    /// |Z_L(1 kHz)| of the load (∞ without one).
    load_ohms_1khz: f64,
    latency: usize,
    /// Gain of the chain at 1 kHz (linear), measured at build time.
    gain_1khz: f64,
    /// What calibrated SPL needs to know of the load (`None`: no sensitivity), set by
    /// [`Chain::new`] once the 1 kHz gain is measured.
    calibration: Option<Calibration>,
}

/// The load's figures that map the chain's absolute output to SPL through the listener's
/// chain (see [`Chain::calibration`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// SPL (dB) of 1 Vrms at 1 kHz across the headphone (its sensitivity, in dB per Vrms
    /// at its |Z_L(1 kHz)|).
    pub spl_per_vrms_db: f64,
    /// `|Z_L/(Z_L + Z_yours)|` at 1 kHz: the listener's own source's divider, which their
    /// SPL at 0 dBFS includes.
    pub your_divider_1khz: f64,
    /// The DAC side's own gain at 1 kHz (the ladder's weight sum, the chip filter's
    /// passband ripple): the device's published full-scale voltage is what a 0 dBFS sine
    /// gives through all of it, so calibration divides it out.
    pub dac_gain_1khz: f64,
}

impl Calibration {
    /// The figures of a headphone of `sensitivity` and impedance `z_1khz` at 1 kHz, heard
    /// through a source of `your_z_out_ohms`, before the DAC side's gain is known (1).
    pub fn for_load(sensitivity: Sensitivity, z_1khz: Complex64, your_z_out_ohms: f64) -> Self {
        Self {
            spl_per_vrms_db: crate::amp::spl_db(sensitivity, 1.0, z_1khz.norm()),
            your_divider_1khz: crate::load::divider(z_1khz, your_z_out_ohms).norm(),
            dac_gain_1khz: 1.0,
        }
    }

    /// SPL (dB) at the ear of a 0 dBFS 1 kHz sine from a listener's source whose full scale
    /// is `full_scale_vrms` (open circuit).
    pub fn your_spl_db(&self, full_scale_vrms: f64) -> f64 {
        self.spl_per_vrms_db + 20.0 * (full_scale_vrms * self.your_divider_1khz).log10()
    }

    /// The inverse of [`Calibration::your_spl_db`]: the listener's full-scale voltage.
    pub fn your_full_scale_vrms(&self, your_spl_db: f64) -> f64 {
        10f64.powf((your_spl_db - self.spl_per_vrms_db) / 20.0) / self.your_divider_1khz
    }

    /// Gain (dB) from the chain's absolute output (a 1 Vrms sine across the load reads
    /// as a 0 dBFS sine; the load stage already applied `(Z_L + Z_yours)/(Z_L + Z_out)`)
    /// to the samples the listener's chain should receive, when a 0 dBFS 1 kHz sine through
    /// their chain gives `your_spl_db`: a sine that gives `SPL_e` at the emulated
    /// headphone then leaves at `SPL_e − your_spl_db` dBFS.
    pub fn gain_db(&self, your_spl_db: f64) -> f64 {
        self.spl_per_vrms_db + 20.0 * (self.your_divider_1khz / self.dac_gain_1khz).log10()
            - your_spl_db
    }
}

impl Chain {
    /// Design and build a chain (allocates; tens of ms: off the audio thread).
    pub fn new(config: &ChainConfig, layout: ChainLayout) -> Self {
        let design = ChainDesign::new(config, layout);
        let mut chain = Self::assemble(&design, config, design.clocks);
        let (latency, gain) = chain.measure_linear_part(&design);
        chain.latency = latency;
        chain.gain_1khz = gain;
        chain.calibration = config.load.as_ref().and_then(|load| {
            let z = design.load.z_1khz;
            let drive = crate::load::drive(z, load.z_out_ohms, load.your_z_out_ohms);
            Some(Calibration {
                dac_gain_1khz: gain / drive.norm(),
                ..Calibration::for_load(load.sensitivity?, z, load.your_z_out_ohms)
            })
        });
        chain
    }

    /// The stages over a finished design (allocates buffers, designs nothing).
    fn assemble(design: &ChainDesign, config: &ChainConfig, clocks: Clocks) -> Self {
        let amp = config.amp.map(|amp| {
            let amp = amp.driving(design.load.ohms_1khz(), config.z_out_ohms());
            let mut stage = AmpStage::new(
                &amp,
                clocks.analog_rate,
                clocks.channels,
                clocks.analog_block(),
            );
            stage.set_controls(&AmpControls::default());
            stage.reset();
            stage
        });
        Self {
            config: config.clone(),
            clocks,
            to_dac_rate: ToDacRate::new(design.to_dac_rate.as_ref(), &clocks),
            chip_filter: ChipFilter::new(
                design.chip_filter.as_ref().map(|h| h.as_slice()),
                &clocks,
            ),
            converter: Converter::new(&config.dac.converter, &clocks),
            hold: Hold::new(&design.hold, &clocks),
            lowpass: Lowpass::new(config.analog.lowpass.as_ref(), &clocks),
            shaper: ChebyshevShaper::new(&config.analog.harmonics),
            amp,
            load_network: LoadNetwork::new(design.load.iir.as_ref(), &clocks),
            decimator: Decimator::new(design.decimator.as_ref().map(|h| h.as_slice()), &clocks),
            load_curve: LoadCurve::new(design.load.fir.as_ref(), &clocks),
            dac_buf: vec![0.0; clocks.dac_block],
            analog_bufs: vec![vec![0.0; clocks.analog_block()]; clocks.channels],
            analog_len: 0,
            load_ohms_1khz: design.load.ohms_1khz(),
            latency: 0,
            gain_1khz: 1.0,
            calibration: None,
        }
    }

    /// Latency (impulse peak) and 1 kHz gain of the linear part: the same design with an
    /// ideal converter, no shaper and no amp (whose gain level matching does not need: it
    /// is 1 when matched), but with the load.
    fn measure_linear_part(&self, design: &ChainDesign) -> (usize, f64) {
        // Measured once per process for each linear part and host rate (and block size,
        // for a curve's FIR, whose partitioning follows it).
        static PROBES: DesignCache<String, (usize, f64)> = DesignCache::new();
        let key = probe_key(&self.config, &self.clocks);
        let (latency, gain) = *PROBES.get(key, || self.probe(design));
        (latency, gain * ladder_gain(&self.config.dac.converter))
    }

    /// The linear probe's impulse peak and 1 kHz gain.
    fn probe(&self, design: &ChainDesign) -> (usize, f64) {
        let mut linear = self.config.clone();
        linear.dac.converter = ConverterKind::Ideal;
        linear.analog.harmonics = HarmonicProfile::CLEAN;
        linear.amp = None;
        let clocks = Clocks {
            channels: 1,
            ..self.clocks
        };
        let host = clocks.host_rate;
        let mut probe = Self::assemble(design, &linear, clocks);
        // The peak lies within the latency bound (under 1000 samples at 192 kHz); the tone
        // needs its 1 kHz cycles after the chain has settled.
        let len = 16_384.max((host * 0.1) as usize);
        let mut impulse = vec![0.0f32; 4096.max((host * 0.025) as usize)];
        impulse[0] = 1.0;
        probe.process(&mut [&mut impulse]);
        let latency = crate::analysis::impulse_peak(&impulse);
        probe.reset();
        let mut tone: Vec<f32> = (0..len)
            .map(|i| (std::f64::consts::TAU * 1000.0 * i as f64 / host).sin() as f32)
            .collect();
        probe.process(&mut [&mut tone]);
        let settled = &tone[(latency + 2048).min(len / 2)..];
        (
            latency,
            crate::analysis::tone(settled, host, 1000.0).amplitude,
        )
    }

    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Rates and block sizes.
    pub fn clocks(&self) -> &Clocks {
        &self.clocks
    }

    /// The layout the chain was built for.
    pub fn layout(&self) -> ChainLayout {
        self.clocks.layout()
    }

    /// Latency in host samples (the impulse-response peak).
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Gain of the chain at 1 kHz (linear), for level matching.
    pub fn gain_1khz(&self) -> f64 {
        self.gain_1khz
    }

    /// The DAC mode the chain runs.
    pub fn mode(&self) -> DacMode {
        self.config.dac.mode
    }

    /// |Z_L(1 kHz)| of the load (∞ without one).
    pub fn load_ohms_1khz(&self) -> f64 {
        self.load_ohms_1khz
    }

    /// The amp, if the chain has one.
    pub fn amp(&self) -> Option<&AmpStage> {
        self.amp.as_ref()
    }

    /// What calibrated SPL needs of the load: `None` when the headphone has no published
    /// sensitivity (a resistor, an imported curve), and calibrated SPL then falls back to
    /// level matching.
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration
    }

    /// The level mode this chain runs when `wanted` is asked for: calibrated SPL without a
    /// [`Chain::calibration`] runs level-matched. The amp and the engine's output gain both
    /// follow it.
    pub fn effective_level_mode(&self, wanted: LevelMode) -> LevelMode {
        match wanted {
            LevelMode::Calibrated if self.calibration.is_none() => LevelMode::Matched,
            mode => mode,
        }
    }

    /// Set the amp's gain step, volume and level mode (ramped; never allocates).
    pub fn set_amp_controls(&mut self, controls: &AmpControls) {
        let controls = AmpControls {
            level: self.effective_level_mode(controls.level),
            ..*controls
        };
        if let Some(amp) = &mut self.amp {
            amp.set_controls(&controls);
        }
    }

    /// Set the amp's controls without ramping (for a chain that has not run yet).
    pub fn snap_amp_controls(&mut self, controls: &AmpControls) {
        self.set_amp_controls(controls);
        if let Some(amp) = &mut self.amp {
            amp.reset();
        }
    }

    /// Channel `ch` of the analog domain (volts across the load, at K times the host rate)
    /// for the last chunk [`Chain::process`] handled: what an oscilloscope on the headphone
    /// would show before the decimator.
    pub fn analog(&self, ch: usize) -> &[f32] {
        self.analog_bufs
            .get(ch)
            .map_or(&[], |b| &b[..self.analog_len])
    }

    pub fn reset(&mut self) {
        self.to_dac_rate.reset();
        self.chip_filter.reset();
        self.converter.reset();
        self.hold.reset();
        self.lowpass.reset();
        if let Some(amp) = &mut self.amp {
            amp.reset();
        }
        self.load_network.reset();
        self.decimator.reset();
        self.load_curve.reset();
    }

    /// Process in place, any block length (split into `max_block` pieces), channels of
    /// equal length (the shortest sets the count; at most the built channel count). Never
    /// allocates.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.process_profiled(channels, &mut ());
    }

    /// [`Chain::process`], telling `profiler` as each stage finishes its part of a channel
    /// (or, for the load network, of all channels): what a per-stage profile needs. With
    /// `()` (what [`Chain::process`] passes) the calls compile to nothing.
    pub fn process_profiled(
        &mut self,
        channels: &mut [&mut [f32]],
        profiler: &mut impl StageProfiler,
    ) {
        let n_ch = channels.len().min(self.clocks.channels).min(MAX_CHANNELS);
        let frames = channels[..n_ch].iter().map(|c| c.len()).min().unwrap_or(0);
        let k = self.clocks.k;
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(self.clocks.max_block);
            for (ch, buf) in channels[..n_ch].iter().enumerate() {
                self.render_analog(ch, &buf[start..start + n], profiler);
            }
            self.load_network
                .process(&mut self.analog_bufs[..n_ch], n * k);
            profiler.done(Stage::LoadNetwork);
            self.analog_len = n * k;
            for (ch, buf) in channels[..n_ch].iter_mut().enumerate() {
                let host = &mut buf[start..start + n];
                self.decimator
                    .process(ch, &self.analog_bufs[ch][..n * k], host);
                profiler.done(Stage::Decimator);
                self.load_curve.process(ch, host);
                profiler.done(Stage::LoadCurve);
            }
            start += n;
        }
    }

    /// One channel's host block into its analog buffer (K·n samples), through the amp.
    fn render_analog(&mut self, ch: usize, host: &[f32], profiler: &mut impl StageProfiler) {
        let analog = &mut self.analog_bufs[ch][..host.len() * self.clocks.k];
        let dac_len = self.to_dac_rate.process(ch, host, &mut self.dac_buf);
        profiler.done(Stage::ToDacRate);
        let dac = &self.dac_buf[..dac_len];
        let (chip_filter, converter) = (&mut self.chip_filter, &mut self.converter);
        // The chip filter and the converter write straight into the hold's input.
        self.hold.process(
            ch,
            chip_filter.output_len(dac_len),
            |codes| {
                profiler.done(Stage::Hold);
                let conv_len = chip_filter.process(ch, dac, codes);
                profiler.done(Stage::ChipFilter);
                converter.process(ch, &mut codes[..conv_len]);
                profiler.done(Stage::Converter);
                conv_len
            },
            analog,
        );
        profiler.done(Stage::Hold);
        self.lowpass.process(ch, analog);
        profiler.done(Stage::Lowpass);
        self.shaper.process(analog);
        profiler.done(Stage::Shaper);
        if let Some(amp) = &mut self.amp {
            amp.process(ch, analog);
        }
        profiler.done(Stage::Amp);
    }
}

/// The stages of a [`Chain`], in the order a sample meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    ToDacRate,
    ChipFilter,
    Converter,
    Hold,
    Lowpass,
    Shaper,
    Amp,
    LoadNetwork,
    Decimator,
    LoadCurve,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::ToDacRate,
        Stage::ChipFilter,
        Stage::Converter,
        Stage::Hold,
        Stage::Lowpass,
        Stage::Shaper,
        Stage::Amp,
        Stage::LoadNetwork,
        Stage::Decimator,
        Stage::LoadCurve,
    ];

    /// The stage's name in the module docs' table.
    pub fn name(self) -> &'static str {
        match self {
            Stage::ToDacRate => "to DAC rate",
            Stage::ChipFilter => "chip OS filter",
            Stage::Converter => "converter",
            Stage::Hold => "hold",
            Stage::Lowpass => "analog low-pass",
            Stage::Shaper => "shaper",
            Stage::Amp => "amp",
            Stage::LoadNetwork => "load network",
            Stage::Decimator => "decimator",
            Stage::LoadCurve => "load curve",
        }
    }
}

/// Told by [`Chain::process_profiled`] each time a stage has done its part: the work since
/// the previous call (or since its owner last started it) was `stage`'s. The
/// hold's work is reported in two parts, before and after the chip filter and the
/// converter fill its input.
pub trait StageProfiler {
    fn done(&mut self, stage: Stage);
}

/// No profiler: [`Chain::process`].
impl StageProfiler for () {
    #[inline(always)]
    fn done(&mut self, _stage: Stage) {}
}

/// What the linear probe's result depends on: the DAC without its converter, the analog
/// low-pass, the decimator, the load and the output impedance, the host rate (and for a
/// curve's FIR the block size). `f64`s print exactly (shortest round trip).
fn probe_key(config: &ChainConfig, clocks: &Clocks) -> String {
    use crate::load::ResolvedLoad;
    let dac = &config.dac;
    let load = config.load.as_ref().map(|l| match &l.load {
        ResolvedLoad::Network(n) => format!(
            "{n:?} from {:?} heard through {:?}",
            l.z_out_ohms, l.your_z_out_ohms
        ),
        ResolvedLoad::Curve(c) => format!(
            "curve {:p} from {:?} heard through {:?}, block {}",
            std::sync::Arc::as_ptr(c),
            l.z_out_ohms,
            l.your_z_out_ohms,
            clocks.max_block
        ),
    });
    format!(
        "{:?} {:?} {:?} {} | {:?} | {:?} | {load:?} | {:?}",
        dac.mode,
        dac.os_filter,
        dac.dac_rate_hz,
        dac.hold,
        config.analog.lowpass,
        config.decimator,
        clocks.host_rate
    )
}

/// The R2R ladder's own gain (its weights' sum differs from ideal by about the tolerance),
/// which the linear probe's ideal converter does not have; 1 for the other converters.
fn ladder_gain(converter: &ConverterKind) -> f64 {
    match converter {
        ConverterKind::R2r(c) => {
            let mut dac = R2rDac::new(&LadderConfig {
                dither: false,
                ..*c
            });
            f64::from(dac.convert(0.5)) - f64::from(dac.convert(-0.5))
        }
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests;
