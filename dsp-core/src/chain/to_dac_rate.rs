//! Rate conversion from the host rate to the DAC rate, when a voicing runs its DAC at a
//! rate of its own (an Apple dongle at 48 kHz in a 44.1 kHz session, "44.1 kHz NOS" at
//! 96 kHz): a band-limited windowed-sinc resampler, like a converter's own filter — flat
//! to 0.4535·f, nothing aliasing into that passband (stopband from f − 0.4535·f), where f
//! is the lower of the two rates, Kaiser length for [`TO_DAC_REJECTION_DB`].

use std::sync::Arc;

use crate::clocks::{pass_on, Clocks, PerChannel};
use crate::filter::cache::DesignCache;
use crate::filter::design::{kaiser_beta, kaiser_taps};
use crate::filter::fractional::{sinc_kernel, FractionalResampler, KernelTable, ResamplerDesign};

/// Alias rejection of the host → DAC rate converter, dB.
pub const TO_DAC_REJECTION_DB: f64 = 110.0;
/// Kernel table resolution.
const PHASES: usize = 2048;

/// The converter's design: `None` when the DAC runs at the host rate. Its delay, in host
/// samples, is the kernel's half width.
pub fn design(clocks: &Clocks) -> Option<ResamplerDesign> {
    static DESIGNS: DesignCache<(u64, u64), ResamplerDesign> = DesignCache::new();
    if !clocks.converts_rate() {
        return None;
    }
    let (host, dac) = (clocks.host_rate, clocks.dac_rate);
    Some(
        (*DESIGNS.get((host.to_bits(), dac.to_bits()), || {
            design_uncached(host, dac)
        }))
        .clone(),
    )
}

/// Half width (host samples) of the converter's kernel from `host` to `dac` Hz: its delay.
pub fn half_width(host: f64, dac: f64) -> usize {
    let lower = dac.min(host);
    let transition = (1.0 - 2.0 * 0.4535) * lower / host;
    kaiser_taps(TO_DAC_REJECTION_DB, transition, 1.0).div_ceil(2) + 1
}

fn design_uncached(host: f64, dac: f64) -> ResamplerDesign {
    let cutoff = 0.5 * dac.min(host) / host;
    let half_width = half_width(host, dac);
    let beta = kaiser_beta(TO_DAC_REJECTION_DB);
    ResamplerDesign {
        table: Arc::new(KernelTable::new(
            sinc_kernel(cutoff, half_width, beta),
            half_width,
            PHASES,
        )),
        step: host / dac,
        delay: half_width as f64,
    }
}

/// Host rate → DAC rate for every channel, or a copy when the two are the same.
pub struct ToDacRate {
    channels: PerChannel<FractionalResampler>,
}

impl ToDacRate {
    /// Allocates the resamplers' buffers (none without a design).
    pub fn new(design: Option<&ResamplerDesign>, clocks: &Clocks) -> Self {
        Self {
            channels: PerChannel::new(design, clocks, |d| d.build(clocks.max_block)),
        }
    }
    pub fn reset(&mut self) {
        self.channels.reset(FractionalResampler::reset);
    }

    /// Channel `ch`'s host block into `out` at the DAC rate; returns the samples written.
    /// Never allocates.
    pub fn process(&mut self, ch: usize, input: &[f32], out: &mut [f32]) -> usize {
        match self.channels.get_mut(ch) {
            Some(r) => {
                r.push(input);
                r.pull(out)
            }
            None => pass_on(input, out),
        }
    }
}
