//! The rates and block sizes of every domain a chain runs in.
//!
//! ```text
//! host fs ──► DAC rate fd ──► converter rate M·fd ──► analog rate F = K·fs ──► host fs
//! ```
//!
//! - `K` (analog domain): [`oversampling_factor`] of the host rate — 8 for 44.1/48 kHz,
//!   4 for 88.2/96, 2 for 176.4/192, 1 above — so the analog domain runs near
//!   352.8–384 kHz.
//! - The DAC rate `fd` is the host rate unless a voicing asks for another ("44.1 kHz NOS"
//!   in a 96 kHz session).
//! - `M`: the chip's OS factor, the same rule applied to `fd` (the chip runs near
//!   352.8–384 kHz); 1 in NOS, where the converter converts at `fd`.

/// Largest number of channels a chain processes (stereo).
pub const MAX_CHANNELS: usize = 2;

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

/// What the host gives a chain: its rate, its largest block and its channel count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainLayout {
    pub host_rate: f64,
    pub max_block: usize,
    pub channels: usize,
}

/// Every rate and largest block of a chain, derived from its [`ChainLayout`] and its DAC's
/// rate and mode. Stages are built for one `Clocks` and never see another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clocks {
    /// Host rate fs (Hz).
    pub host_rate: f64,
    /// Largest host block the chain processes at once (longer blocks are split).
    pub max_block: usize,
    /// Channels (1 or 2).
    pub channels: usize,
    /// DAC rate fd (Hz).
    pub dac_rate: f64,
    /// OS factor M (1 in NOS).
    pub m: usize,
    /// Converter rate M·fd (Hz).
    pub conv_rate: f64,
    /// Analog-domain factor K.
    pub k: usize,
    /// Analog rate F = K·fs (Hz).
    pub analog_rate: f64,
    /// Largest block at the DAC rate (with margin for the fractional sample count).
    pub dac_block: usize,
}

impl Clocks {
    /// The clocks of a chain on `layout` whose DAC runs at `dac_rate_hz` (`None`: the host
    /// rate), oversampled by its chip filter (`os`) or not.
    pub fn new(layout: ChainLayout, dac_rate_hz: Option<f64>, os: bool) -> Self {
        let host = layout.host_rate;
        let max_block = layout.max_block.max(1);
        let k = oversampling_factor(host);
        let dac_rate = dac_rate_hz
            .filter(|r| (r - host).abs() > 0.5)
            .unwrap_or(host);
        let m = if os { oversampling_factor(dac_rate) } else { 1 };
        Self {
            host_rate: host,
            max_block,
            channels: layout.channels.clamp(1, MAX_CHANNELS),
            dac_rate,
            m,
            conv_rate: dac_rate * m as f64,
            k,
            analog_rate: host * k as f64,
            dac_block: (max_block as f64 * dac_rate / host).ceil() as usize + 4,
        }
    }

    /// Largest block at the converter rate.
    pub fn conv_block(&self) -> usize {
        self.dac_block * self.m
    }

    /// Largest block in the analog domain.
    pub fn analog_block(&self) -> usize {
        self.max_block * self.k
    }

    /// The DAC runs at another rate than the host.
    pub fn converts_rate(&self) -> bool {
        self.dac_rate != self.host_rate
    }

    /// The layout these clocks were derived from.
    pub fn layout(&self) -> ChainLayout {
        ChainLayout {
            host_rate: self.host_rate,
            max_block: self.max_block,
            channels: self.channels,
        }
    }
}

/// A stage's state for each channel of its [`Clocks`], or for none: a stage a chain does
/// not need (NOS has no chip filter, a device without a low-pass) holds no state and passes
/// the block on.
pub struct PerChannel<T>(Vec<T>);

impl<T> PerChannel<T> {
    /// `make(design)` for every channel; no state without a design. Allocates.
    pub fn new<D: ?Sized>(design: Option<&D>, clocks: &Clocks, make: impl Fn(&D) -> T) -> Self {
        Self(design.map_or_else(Vec::new, |d| {
            (0..clocks.channels).map(|_| make(d)).collect()
        }))
    }

    /// Channel `ch`'s state (`None` when the stage is not there).
    #[inline]
    pub fn get_mut(&mut self, ch: usize) -> Option<&mut T> {
        self.0.get_mut(ch)
    }

    /// Run `f` on channel `ch`'s state, if the stage is there.
    #[inline]
    pub fn with(&mut self, ch: usize, f: impl FnOnce(&mut T)) {
        if let Some(state) = self.0.get_mut(ch) {
            f(state);
        }
    }

    /// Whether the stage is absent (no design, no state).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every channel's state.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.0
    }

    /// Reset every channel with `reset`.
    pub fn reset(&mut self, reset: impl FnMut(&mut T)) {
        self.0.iter_mut().for_each(reset);
    }
}

/// What a stage that is not there does with a rate-changing block: `input` copied into
/// `out`; returns the samples written.
#[inline]
pub fn pass_on(input: &[f32], out: &mut [f32]) -> usize {
    out[..input.len()].copy_from_slice(input);
    input.len()
}
