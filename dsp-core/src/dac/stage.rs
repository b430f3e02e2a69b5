//! The DAC stage as one unit: host rate in, host rate out, with the oversampled "analog"
//! domain in between.
//!
//! ```text
//! host fs ─► [to DAC rate] ─► OS: chip filter ×M ─► converter ─► hold ─► analog LPF ─► shaper ─► amp ─► load (network) ─► decimator ─► [load (curve)] ─► host fs
//!                             NOS: (none)          (ideal, R2R,   (band-limited,   (all at F = K·fs: volts, clip, noise,                 (min-phase FIR
//!                                                   ΔΣ) at M·fd   into F)           the divider as an IIR)                                 at the host rate)
//! ```
//!
//! - The amp ([`AmpStage`]) and the load are optional (`DacConfig::amp`, `DacConfig::load`):
//!   the DAC tests run without them. A lumped network's divider runs as an IIR in the analog
//!   domain; a measured curve's as a minimum-phase FIR after the decimator (the divider is
//!   linear and follows the only nonlinear stages, so the two places give the same audio
//!   band; the FIR at the host rate is 8× cheaper).
//!
//! - `K` (analog domain): 8 for 44.1/48 kHz, 4 for 88.2/96, 2 for 176.4/192, 1 above.
//! - The DAC rate `fd` is the host rate unless a voicing asks for another ("44.1 kHz NOS" in
//!   a 96 kHz session); then a band-limited resampler (windowed sinc, −100 dB) converts
//!   first, as if the material were at `fd`.
//! - OS: the chip filter oversamples by `M` (the same rule as K, applied to `fd`, so the chip
//!   runs near 352.8–384 kHz), and the converter converts the oversampled codes. NOS: the
//!   converter converts at `fd`.
//! - The converter's output is a staircase at its rate; [`hold_kernel`] renders it at F
//!   exactly (sinc droop and images), band-limited to F/2.
//! - Latency is measured, not computed: at build time an impulse goes through a copy of the
//!   stage with an ideal converter and no shaper, and its peak position is the latency. The
//!   hold's delay is chosen so that the linear-phase delays add up to a whole number of host
//!   samples, so for linear-phase chains the peak falls exactly on a sample.
//!
//! `DacStage::new` allocates and designs filters (tens of ms): call it off the audio thread.
//! `process` never allocates.

use crate::amp::{AmpConfig, AmpStage, GainStep};
use crate::analog::decimator::{self, DecimatorPhase};
use crate::analog::lowpass::{Biquad, BiquadCoefs};
use crate::analog::shaper::{ChebyshevShaper, HarmonicProfile};
use crate::dac::delta_sigma::DeltaSigmaDac;
use crate::dac::os_filter::OsFilter;
use crate::dac::r2r::{LadderConfig, R2rDac};
use crate::filter::fir::{Decimator, PolyphaseInterpolator};
use crate::filter::fractional::{hold_kernel, sinc_kernel, FractionalResampler, KernelTable};
use crate::headphones::{CustomLoad, LoadConfig, ResolvedLoad};
use crate::load::{LoadFir, LoadIir};
use crate::MAX_CHANNELS;

/// Oversampling factor of the analog domain (and of a chip's OS filter) for a rate.
pub fn oversampling_factor(sample_rate: f64) -> usize {
    if sample_rate <= 50_000.0 {
        8
    } else if sample_rate <= 100_000.0 {
        4
    } else if sample_rate <= 200_000.0 {
        2
    } else {
        1
    }
}

/// OS or NOS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DacMode {
    Os,
    Nos,
}

impl DacMode {
    pub const LABELS: &'static [&'static str] = &["OS", "NOS"];

    pub fn from_index(index: usize) -> Self {
        if index == 1 {
            DacMode::Nos
        } else {
            DacMode::Os
        }
    }
}

/// What turns codes into voltages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConverterKind {
    /// Exact (the "Ideal" reference).
    Ideal,
    R2r(LadderConfig),
    /// Delta-sigma: in-band noise floor in dBFS (AES17), unweighted.
    DeltaSigma {
        noise_dbfs: f64,
    },
}

/// A second-order Butterworth reconstruction low-pass, realised so that it equals the
/// analog prototype exactly at `match_hz` (where its published figure is).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalogLowpass {
    pub corner_hz: f64,
    pub match_hz: f64,
}

/// Everything that defines a DAC stage (all `Copy`, so it can cross to a worker thread).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DacConfig {
    pub mode: DacMode,
    /// OS filter; `None` in OS mode means no chip filter (the "Ideal" path uses the
    /// reference filter instead).
    pub os_filter: OsFilter,
    /// DAC rate in Hz; `None` = the host rate.
    pub dac_rate_hz: Option<f64>,
    pub converter: ConverterKind,
    /// The analog reconstruction filter, if any.
    pub analog_lowpass: Option<AnalogLowpass>,
    pub harmonics: HarmonicProfile,
    pub decimator: DecimatorPhase,
    /// Whether the converter's staircase (hold droop) is rendered; the "Ideal" reference
    /// turns it off.
    pub hold: bool,
    /// The headphone amp, if any. Its `load_ohms` is ignored: the stage takes |Z_L(1 kHz)|
    /// of [`DacConfig::load`] (or an open circuit without a load).
    pub amp: Option<AmpConfig>,
    /// The load and the output impedance driving it, if any.
    pub load: Option<LoadConfig>,
}

impl DacConfig {
    /// A transparent reference: OS with the long linear-phase filter, ideal converter, no
    /// hold droop, no low-pass, no distortion.
    pub const IDEAL: DacConfig = DacConfig {
        mode: DacMode::Os,
        os_filter: OsFilter::ReferenceLinear,
        dac_rate_hz: None,
        converter: ConverterKind::Ideal,
        analog_lowpass: None,
        harmonics: HarmonicProfile::CLEAN,
        decimator: DecimatorPhase::Linear,
        hold: false,
        amp: None,
        load: None,
    };
}

enum Converter {
    Ideal,
    R2r(Box<R2rDac>),
    DeltaSigma(DeltaSigmaDac),
}

impl Converter {
    fn new(kind: &ConverterKind, rate: f64) -> Self {
        match kind {
            ConverterKind::Ideal => Converter::Ideal,
            ConverterKind::R2r(config) => {
                let mut dac = R2rDac::new(config);
                dac.set_sample_rate(rate);
                Converter::R2r(Box::new(dac))
            }
            ConverterKind::DeltaSigma { noise_dbfs } => {
                Converter::DeltaSigma(DeltaSigmaDac::new(*noise_dbfs, rate, 0x5EED))
            }
        }
    }

    fn reset(&mut self) {
        match self {
            Converter::Ideal => {}
            Converter::R2r(dac) => dac.reset(),
            Converter::DeltaSigma(dac) => dac.reset(),
        }
    }

    fn process(&mut self, block: &mut [f32]) {
        match self {
            Converter::Ideal => {}
            Converter::R2r(dac) => dac.process(block),
            Converter::DeltaSigma(dac) => dac.process(block),
        }
    }
}

/// One channel's chain.
struct Channel {
    to_dac: Option<FractionalResampler>,
    os: Option<PolyphaseInterpolator>,
    converter: Converter,
    hold: FractionalResampler,
    lowpass: Option<Biquad>,
    /// A lumped load's divider, in the analog domain.
    load_iir: Option<LoadIir>,
    decimator: Option<Decimator>,
    /// A measured load's divider, at the host rate.
    load_fir: Option<LoadFir>,
}

impl Channel {
    fn reset(&mut self) {
        if let Some(r) = &mut self.to_dac {
            r.reset();
        }
        if let Some(os) = &mut self.os {
            os.reset();
        }
        self.converter.reset();
        self.hold.reset();
        if let Some(lp) = &mut self.lowpass {
            lp.reset();
        }
        if let Some(iir) = &mut self.load_iir {
            iir.reset();
        }
        if let Some(d) = &mut self.decimator {
            d.reset();
        }
        if let Some(fir) = &mut self.load_fir {
            fir.reset();
        }
    }
}

/// The load's filters, designed once and cloned into each channel.
#[derive(Clone, Default)]
struct LoadDesign {
    iir: Option<LoadIir>,
    fir: Option<LoadFir>,
    /// |Z_L(1 kHz)| (∞ without a load).
    ohms_1khz: f64,
}

impl LoadDesign {
    fn new(
        load: Option<&LoadConfig>,
        custom: &CustomLoad,
        layout: StageLayout,
        analog_rate: f64,
    ) -> Self {
        let Some(load) = load else {
            return Self {
                ohms_1khz: f64::INFINITY,
                ..Self::default()
            };
        };
        let resolved = load.source.resolve(custom);
        let ohms_1khz = resolved.impedance(1000.0).norm();
        match resolved {
            ResolvedLoad::Network(network) => {
                let iir = LoadIir::new(&network, load.z_out_ohms, analog_rate);
                Self {
                    iir: (!iir.is_identity()).then_some(iir),
                    fir: None,
                    ohms_1khz,
                }
            }
            ResolvedLoad::Curve(curve) => {
                let fir = LoadFir::new(&curve, load.z_out_ohms, layout.host_rate, layout.max_block);
                Self {
                    iir: None,
                    fir: (!fir.is_identity()).then_some(fir),
                    ohms_1khz,
                }
            }
        }
    }
}

/// The amp's realtime controls (ramped; no rebuild).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmpControls {
    pub gain: GainStep,
    pub volume_percent: f64,
    /// Absolute levels (level match off): 1 Vrms at the amp reads as a 0 dBFS sine.
    pub absolute: bool,
}

impl Default for AmpControls {
    fn default() -> Self {
        Self {
            gain: GainStep::Low,
            volume_percent: 50.0,
            absolute: false,
        }
    }
}

/// Half width of the hold kernel, in converter samples.
const HOLD_HALF_WIDTH: usize = 16;
/// Kernel table resolution (a power of two: divisible by every integer K and M used).
const HOLD_PHASES: usize = 1024;
/// Alias rejection of the host → DAC rate converter, dB.
const TO_DAC_REJECTION_DB: f64 = 110.0;

/// Rates and sizes a stage is built for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageLayout {
    pub host_rate: f64,
    pub max_block: usize,
    pub channels: usize,
}

/// The filter designs, kernel tables and delays of a stage: everything that takes time to
/// compute. It depends on the mode, filter, DAC rate, hold and decimator, not on the
/// converter, low-pass or shaper, so the stage and its linear probe share one.
struct Design {
    k: usize,
    m: usize,
    dac_rate: f64,
    conv_rate: f64,
    analog_rate: f64,
    /// Longest block at the DAC rate, with margin for the fractional count.
    dac_block: usize,
    /// Host → DAC rate converter: kernel table, step, delay (host samples).
    to_dac: Option<(KernelTable, f64, f64)>,
    os_taps: Option<Vec<f64>>,
    hold_table: KernelTable,
    hold_delay: f64,
    decimator_taps: Option<Vec<f64>>,
}

impl Design {
    fn new(config: &DacConfig, layout: StageLayout) -> Self {
        let host = layout.host_rate;
        let max_block = layout.max_block.max(1);
        let k = oversampling_factor(host);
        let analog_rate = host * k as f64;
        let dac_rate = config
            .dac_rate_hz
            .filter(|r| (r - host).abs() > 0.5)
            .unwrap_or(host);
        let m = match config.mode {
            DacMode::Os => oversampling_factor(dac_rate),
            DacMode::Nos => 1,
        };
        let conv_rate = dac_rate * m as f64;
        let dac_block = (max_block as f64 * dac_rate / host).ceil() as usize + 4;

        // Host → DAC rate: a windowed sinc like a converter's own filter — flat to
        // 0.4535·f, nothing aliasing into that passband (stopband from f − 0.4535·f), where
        // f is the lower of the two rates; Kaiser length for TO_DAC_REJECTION_DB.
        let to_dac_design = (dac_rate != host).then(|| {
            let step = host / dac_rate;
            let lower = dac_rate.min(host);
            let cutoff = 0.5 * lower / host;
            let transition = (1.0 - 2.0 * 0.4535) * lower / host;
            let taps = crate::filter::design::kaiser_taps(TO_DAC_REJECTION_DB, transition, 1.0);
            let half_width = taps.div_ceil(2) + 1;
            (step, cutoff, half_width)
        });
        let to_dac = to_dac_design.map(|(step, cutoff, w)| {
            let beta = crate::filter::design::kaiser_beta(TO_DAC_REJECTION_DB);
            let table = KernelTable::new(sinc_kernel(cutoff, w, beta), w, 2048);
            (table, step, w as f64)
        });
        let os_taps = (m > 1).then(|| config.os_filter.design(dac_rate, m));
        let hold_cutoff = 0.5 * analog_rate / conv_rate;
        let hold_table = if config.hold {
            KernelTable::new(
                hold_kernel(hold_cutoff, HOLD_HALF_WIDTH, 8.0),
                HOLD_HALF_WIDTH,
                HOLD_PHASES,
            )
        } else {
            // No staircase: a plain band-limited interpolation into F.
            KernelTable::new(
                sinc_kernel(hold_cutoff.min(0.5), HOLD_HALF_WIDTH, 10.0),
                HOLD_HALF_WIDTH,
                HOLD_PHASES,
            )
        };
        let decimator_taps = (k > 1).then(|| decimator::design(host, k, config.decimator));

        // Hold delay (converter samples): enough for the input to be there when K·n outputs
        // are pulled per host block, then adjusted so that the linear-phase delays add up to
        // a whole number of host samples.
        let rho = conv_rate / host; // converter samples per host sample
        let to_dac_lag = to_dac_design.map_or(0.0, |(_, _, w)| w as f64 + 1.0);
        let mut hold_delay = HOLD_HALF_WIDTH as f64 + 2.0 + rho * to_dac_lag;
        let os_delay = os_taps.as_ref().map_or(0.0, |h| (h.len() - 1) as f64 / 2.0) / rho;
        let dec_delay = decimator_taps
            .as_ref()
            .map_or(0.0, |h| (h.len() - 1) as f64 / 2.0 / k as f64);
        let to_dac_delay = to_dac_design.map_or(0.0, |(_, _, w)| w as f64);
        let total = to_dac_delay + os_delay + hold_delay / rho + dec_delay;
        let frac = total - total.floor();
        if frac > 1e-9 {
            hold_delay += (1.0 - frac) * rho;
        }

        Self {
            k,
            m,
            dac_rate,
            conv_rate,
            analog_rate,
            dac_block,
            to_dac,
            os_taps,
            hold_table,
            hold_delay,
            decimator_taps,
        }
    }
}

/// The DAC stage for 1 or 2 channels.
pub struct DacStage {
    config: DacConfig,
    layout: StageLayout,
    /// Analog-domain factor.
    k: usize,
    /// OS factor (1 in NOS).
    m: usize,
    dac_rate: f64,
    channels: Vec<Channel>,
    shaper: ChebyshevShaper,
    amp: Option<AmpStage>,
    /// |Z_L(1 kHz)| of the load (∞ without one).
    load_ohms_1khz: f64,
    dac_buf: Vec<f32>,
    conv_buf: Vec<f32>,
    /// One analog-domain buffer per channel (K·max_block).
    analog_bufs: Vec<Vec<f32>>,
    /// Samples of `analog_bufs` the last chunk filled.
    analog_len: usize,
    latency: usize,
    /// Gain of the chain at 1 kHz (linear), measured at build time.
    gain_1khz: f64,
}

impl DacStage {
    /// Build (allocate, design) a stage. Off the audio thread. A custom load falls back to
    /// its resistor (no curve can be reached from here); see [`DacStage::with_custom_load`].
    pub fn new(config: &DacConfig, layout: StageLayout) -> Self {
        Self::with_custom_load(config, layout, &CustomLoad::default())
    }

    /// Build a stage whose [`crate::headphones::LoadSource::Custom`] load is the curve in `custom`.
    pub fn with_custom_load(config: &DacConfig, layout: StageLayout, custom: &CustomLoad) -> Self {
        let design = Design::new(config, layout);
        let load = LoadDesign::new(config.load.as_ref(), custom, layout, design.analog_rate);
        let mut stage = Self::assemble(&design, &load, config, layout);
        let (latency, gain) = stage.measure_linear_part(&design, &load);
        stage.latency = latency;
        stage.gain_1khz = gain;
        stage
    }

    /// Per-channel state over a finished design (allocates buffers, no filter design).
    fn assemble(
        design: &Design,
        load: &LoadDesign,
        config: &DacConfig,
        layout: StageLayout,
    ) -> Self {
        let max_block = layout.max_block.max(1);
        let Design { k, m, .. } = *design;
        let channels = (0..layout.channels.clamp(1, MAX_CHANNELS))
            .map(|_| Channel {
                to_dac: design.to_dac.as_ref().map(|(table, step, delay)| {
                    FractionalResampler::new(table.clone(), *step, *delay, max_block)
                }),
                os: design
                    .os_taps
                    .as_ref()
                    .map(|h| PolyphaseInterpolator::new(h, m, design.dac_block)),
                converter: Converter::new(&config.converter, design.conv_rate),
                hold: FractionalResampler::new(
                    design.hold_table.clone(),
                    design.conv_rate / design.analog_rate,
                    design.hold_delay,
                    design.dac_block * m,
                ),
                lowpass: config.analog_lowpass.map(|lp| {
                    Biquad::new(BiquadCoefs::lowpass_matched(
                        lp.corner_hz,
                        std::f64::consts::FRAC_1_SQRT_2,
                        design.analog_rate,
                        lp.match_hz,
                    ))
                }),
                load_iir: load.iir.clone(),
                decimator: design
                    .decimator_taps
                    .as_ref()
                    .map(|h| Decimator::new(h, k, max_block * k)),
                load_fir: load.fir.clone(),
            })
            .collect();
        let n_channels = layout.channels.clamp(1, MAX_CHANNELS);
        let amp = config.amp.map(|amp| {
            let amp = AmpConfig {
                load_ohms: load.ohms_1khz,
                ..amp
            };
            let mut stage = AmpStage::new(&amp, design.analog_rate, n_channels, max_block * k);
            let controls = AmpControls::default();
            stage.set_gain_step(controls.gain);
            stage.set_volume_percent(controls.volume_percent);
            stage.set_absolute(controls.absolute);
            stage.reset();
            stage
        });
        Self {
            config: *config,
            layout,
            k,
            m,
            dac_rate: design.dac_rate,
            channels,
            shaper: ChebyshevShaper::new(&config.harmonics),
            amp,
            load_ohms_1khz: load.ohms_1khz,
            dac_buf: vec![0.0; design.dac_block],
            conv_buf: vec![0.0; design.dac_block * m],
            analog_bufs: vec![vec![0.0; max_block * k]; n_channels],
            analog_len: 0,
            latency: 0,
            gain_1khz: 1.0,
        }
    }

    /// Latency (impulse peak) and 1 kHz gain of the linear part: the same design with an
    /// ideal converter, no shaper and no amp (whose gain level matching does not need: it
    /// is 1 when matched), but with the load.
    fn measure_linear_part(&self, design: &Design, load: &LoadDesign) -> (usize, f64) {
        let linear = DacConfig {
            converter: ConverterKind::Ideal,
            harmonics: HarmonicProfile::CLEAN,
            amp: None,
            ..self.config
        };
        let layout = StageLayout {
            channels: 1,
            ..self.layout
        };
        let host = self.layout.host_rate;
        let mut probe = Self::assemble(design, load, &linear, layout);
        let len = 16_384.max((host * 0.1) as usize);
        let mut impulse = vec![0.0f32; len];
        impulse[0] = 1.0;
        probe.process_all(&mut impulse);
        let latency = crate::analysis::impulse_peak(&impulse);
        probe.reset();
        let mut tone: Vec<f32> = (0..len)
            .map(|i| (std::f64::consts::TAU * 1000.0 * i as f64 / host).sin() as f32)
            .collect();
        probe.process_all(&mut tone);
        let settled = &tone[(latency + 2048).min(len / 2)..];
        let gain = crate::analysis::tone(settled, host, 1000.0).amplitude;
        // The R2R ladder's own gain (its weights' sum differs from ideal by ~tolerance).
        let ladder_gain = match &self.config.converter {
            ConverterKind::R2r(c) => {
                let mut dac = R2rDac::new(&LadderConfig {
                    dither: false,
                    ..*c
                });
                f64::from(dac.convert(0.5)) - f64::from(dac.convert(-0.5))
            }
            _ => 1.0,
        };
        (latency, gain * ladder_gain)
    }

    fn process_all(&mut self, signal: &mut [f32]) {
        let block = self.layout.max_block.max(1);
        for chunk in signal.chunks_mut(block) {
            self.process(&mut [chunk]);
        }
    }

    pub fn config(&self) -> &DacConfig {
        &self.config
    }

    pub fn layout(&self) -> StageLayout {
        self.layout
    }

    /// Latency in host samples (the impulse-response peak).
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Gain of the stage at 1 kHz (linear), for level matching.
    pub fn gain_1khz(&self) -> f64 {
        self.gain_1khz
    }

    /// Analog-domain factor K.
    pub fn oversampling(&self) -> usize {
        self.k
    }

    /// OS factor M (1 in NOS) and DAC rate.
    pub fn dac_clock(&self) -> (usize, f64) {
        (self.m, self.dac_rate)
    }

    pub fn reset(&mut self) {
        for ch in &mut self.channels {
            ch.reset();
        }
        if let Some(amp) = &mut self.amp {
            amp.reset();
        }
    }

    /// Set the amp's gain step, volume and level mode (ramped; never allocates).
    pub fn set_amp_controls(&mut self, controls: &AmpControls) {
        if let Some(amp) = &mut self.amp {
            amp.set_gain_step(controls.gain);
            amp.set_volume_percent(controls.volume_percent);
            amp.set_absolute(controls.absolute);
        }
    }

    /// Set the amp's controls without ramping (for a stage that has not run yet).
    pub fn snap_amp_controls(&mut self, controls: &AmpControls) {
        self.set_amp_controls(controls);
        if let Some(amp) = &mut self.amp {
            amp.reset();
        }
    }

    /// The amp, if the stage has one.
    pub fn amp(&self) -> Option<&AmpStage> {
        self.amp.as_ref()
    }

    /// Channel `ch` of the analog domain (volts across the load, at `oversampling()` times
    /// the host rate) for the last chunk [`DacStage::process`] handled: what an
    /// oscilloscope on the headphone would show before the decimator.
    pub fn analog(&self, ch: usize) -> &[f32] {
        self.analog_bufs
            .get(ch)
            .map_or(&[], |b| &b[..self.analog_len])
    }

    /// |Z_L(1 kHz)| of the load (∞ without one).
    pub fn load_ohms_1khz(&self) -> f64 {
        self.load_ohms_1khz
    }

    /// Process in place, any block length (split into `max_block` pieces), channels of
    /// equal length (the shortest sets the count). Never allocates.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let n_ch = channels.len().min(self.channels.len());
        let frames = channels[..n_ch].iter().map(|c| c.len()).min().unwrap_or(0);
        let k = self.k;
        let mut start = 0;
        while start < frames {
            let n = (frames - start).min(self.layout.max_block);
            for (ch, buf) in channels[..n_ch].iter().enumerate() {
                self.render_analog(ch, &buf[start..start + n]);
            }
            self.load_network(n_ch, n * k);
            self.analog_len = n * k;
            for (ch, buf) in channels[..n_ch].iter_mut().enumerate() {
                self.return_to_host(ch, &mut buf[start..start + n]);
            }
            start += n;
        }
    }

    /// Steps 1–7: one channel's host block into its analog buffer (K·n samples), through
    /// the amp.
    fn render_analog(&mut self, ch: usize, x: &[f32]) {
        let n = x.len();
        let k = self.k;
        let m = self.m;
        let chain = &mut self.channels[ch];
        // 1. Host → DAC rate.
        let dac_len = match &mut chain.to_dac {
            Some(r) => {
                r.push(x);
                r.pull(&mut self.dac_buf)
            }
            None => {
                self.dac_buf[..n].copy_from_slice(x);
                n
            }
        };
        // 2. OS chip filter.
        let conv_len = match &mut chain.os {
            Some(os) => {
                os.process(&self.dac_buf[..dac_len], &mut self.conv_buf[..dac_len * m]);
                dac_len * m
            }
            None => {
                self.conv_buf[..dac_len].copy_from_slice(&self.dac_buf[..dac_len]);
                dac_len
            }
        };
        // 3. Converter.
        chain.converter.process(&mut self.conv_buf[..conv_len]);
        // 4. Hold into the analog domain: exactly K·n samples.
        chain.hold.push(&self.conv_buf[..conv_len]);
        let analog = &mut self.analog_bufs[ch][..n * k];
        let got = chain.hold.pull(analog);
        analog[got..].fill(0.0);
        // 5. Analog low-pass, 6. harmonic profile.
        if let Some(lp) = &mut chain.lowpass {
            lp.process(analog);
        }
        self.shaper.process(analog);
        // 7. Amp: volts, clipping, noise.
        if let Some(amp) = &mut self.amp {
            amp.process(ch, analog);
        }
    }

    /// Step 8: a lumped load's divider over the first `len` samples of each analog buffer,
    /// both channels in one pass when there are two.
    fn load_network(&mut self, n_ch: usize, len: usize) {
        if let ([left], [right, ..]) = self.channels.split_at_mut(1) {
            if n_ch == 2 {
                if let (Some(a), Some(b)) = (&mut left.load_iir, &mut right.load_iir) {
                    let (l, r) = self.analog_bufs.split_at_mut(1);
                    a.process_pair(b, &mut l[0][..len], &mut r[0][..len]);
                    return;
                }
            }
        }
        for (chain, buf) in self.channels[..n_ch].iter_mut().zip(&mut self.analog_bufs) {
            if let Some(iir) = &mut chain.load_iir {
                iir.process(&mut buf[..len]);
            }
        }
    }

    /// Steps 9–10: back to the host rate, and a measured load's divider.
    fn return_to_host(&mut self, ch: usize, x: &mut [f32]) {
        let n = x.len();
        let chain = &mut self.channels[ch];
        let analog = &self.analog_bufs[ch][..n * self.k];
        match &mut chain.decimator {
            Some(d) => d.process(analog, x),
            None => x.copy_from_slice(analog),
        }
        if let Some(fir) = &mut chain.load_fir {
            fir.process(x);
        }
    }
}

#[cfg(test)]
mod tests;
