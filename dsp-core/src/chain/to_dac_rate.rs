//! Rate conversion from the host rate to the DAC rate, when a voicing runs its DAC at a
//! rate of its own (an Apple dongle at 48 kHz in a 44.1 kHz session, "44.1 kHz NOS" at
//! 96 kHz): a band-limited windowed-sinc resampler, like a converter's own filter — flat
//! to 0.4535·f, nothing aliasing into that passband (stopband from f − 0.4535·f), where f
//! is the lower of the two rates, Kaiser length for [`TO_DAC_REJECTION_DB`].

use std::sync::Arc;

use crate::clocks::{Clocks, MAX_CHANNELS};
use crate::filter::design::{kaiser_beta, kaiser_taps};
use crate::filter::fractional::{sinc_kernel, FractionalResampler, KernelTable};

/// Alias rejection of the host → DAC rate converter, dB.
pub const TO_DAC_REJECTION_DB: f64 = 110.0;
/// Kernel table resolution.
const PHASES: usize = 2048;

/// The converter's kernel and geometry (designed once per chain).
#[derive(Debug, Clone)]
pub struct ToDacRateDesign {
    pub table: Arc<KernelTable>,
    /// Host samples per DAC sample.
    pub step: f64,
    /// Half width of the kernel, in host samples: its delay.
    pub half_width: usize,
}

impl ToDacRateDesign {
    /// `None` when the DAC runs at the host rate.
    pub fn new(clocks: &Clocks) -> Option<Self> {
        if !clocks.converts_rate() {
            return None;
        }
        let (host, dac) = (clocks.host_rate, clocks.dac_rate);
        let lower = dac.min(host);
        let cutoff = 0.5 * lower / host;
        let transition = (1.0 - 2.0 * 0.4535) * lower / host;
        let taps = kaiser_taps(TO_DAC_REJECTION_DB, transition, 1.0);
        let half_width = taps.div_ceil(2) + 1;
        let beta = kaiser_beta(TO_DAC_REJECTION_DB);
        Some(Self {
            table: Arc::new(KernelTable::new(
                sinc_kernel(cutoff, half_width, beta),
                half_width,
                PHASES,
            )),
            step: host / dac,
            half_width,
        })
    }

    /// Delay in host samples.
    pub fn delay(&self) -> f64 {
        self.half_width as f64
    }
}

/// Host rate → DAC rate for every channel, or a copy when the two are the same.
pub struct ToDacRate {
    channels: Vec<FractionalResampler>,
}

impl ToDacRate {
    /// Allocates the resamplers' buffers (none without a design).
    pub fn new(design: Option<&ToDacRateDesign>, clocks: &Clocks) -> Self {
        Self {
            channels: design.map_or_else(Vec::new, |d| {
                (0..clocks.channels.min(MAX_CHANNELS))
                    .map(|_| {
                        FractionalResampler::new(
                            (*d.table).clone(),
                            d.step,
                            d.delay(),
                            clocks.max_block,
                        )
                    })
                    .collect()
            }),
        }
    }

    pub fn reset(&mut self) {
        self.channels
            .iter_mut()
            .for_each(FractionalResampler::reset);
    }

    /// Channel `ch`'s host block into `out` at the DAC rate; returns the samples written.
    /// Never allocates.
    pub fn process(&mut self, ch: usize, input: &[f32], out: &mut [f32]) -> usize {
        match self.channels.get_mut(ch) {
            Some(r) => {
                r.push(input);
                r.pull(out)
            }
            None => {
                out[..input.len()].copy_from_slice(input);
                input.len()
            }
        }
    }
}
