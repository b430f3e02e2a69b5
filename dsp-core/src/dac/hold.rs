//! The hold: the converter's output is a staircase at the converter rate; [`Hold`] renders
//! it at the analog rate F exactly — the zero-order hold's `sinc` droop and its images —
//! band-limited to F/2 ([`hold_kernel`]: the hold's rectangle convolved with a windowed
//! sinc at F/2, read at the fractional positions of F's samples).
//!
//! Without a hold (the "Ideal" reference) the same resampler interpolates the converter's
//! samples into F with a plain band-limited sinc: no droop, no images.

use std::sync::Arc;

use crate::clocks::{Clocks, MAX_CHANNELS};
use crate::filter::fractional::{hold_kernel, sinc_kernel, FractionalResampler, KernelTable};

/// Half width of the hold kernel, in converter samples.
pub const HOLD_HALF_WIDTH: usize = 16;
/// Kernel table resolution (a power of two: divisible by every integer K and M used).
const HOLD_PHASES: usize = 1024;

/// The hold's kernel table and delay: designed once per chain.
#[derive(Debug, Clone)]
pub struct HoldDesign {
    pub table: Arc<KernelTable>,
    /// Delay in converter samples (at least the kernel's half width; the chain adds to it
    /// so that its linear-phase delays sum to a whole number of host samples).
    pub delay: f64,
}

impl HoldDesign {
    /// The kernel for a staircase (`hold`) or a plain interpolation, from the converter
    /// rate into the analog rate of `clocks`; `delay` in converter samples.
    pub fn new(hold: bool, clocks: &Clocks, delay: f64) -> Self {
        let cutoff = 0.5 * clocks.analog_rate / clocks.conv_rate;
        let table = if hold {
            KernelTable::new(
                hold_kernel(cutoff, HOLD_HALF_WIDTH, 8.0),
                HOLD_HALF_WIDTH,
                HOLD_PHASES,
            )
        } else {
            KernelTable::new(
                sinc_kernel(cutoff.min(0.5), HOLD_HALF_WIDTH, 10.0),
                HOLD_HALF_WIDTH,
                HOLD_PHASES,
            )
        };
        Self {
            table: Arc::new(table),
            delay,
        }
    }
}

/// The hold of every channel: converter samples in, exactly the analog samples asked for
/// out.
pub struct Hold {
    channels: Vec<FractionalResampler>,
}

impl Hold {
    /// Allocates the resamplers' buffers.
    pub fn new(design: &HoldDesign, clocks: &Clocks) -> Self {
        let step = clocks.conv_rate / clocks.analog_rate;
        Self {
            channels: (0..clocks.channels.min(MAX_CHANNELS))
                .map(|_| {
                    FractionalResampler::new(
                        (*design.table).clone(),
                        step,
                        design.delay,
                        clocks.conv_block(),
                    )
                })
                .collect(),
        }
    }

    pub fn reset(&mut self) {
        self.channels
            .iter_mut()
            .for_each(FractionalResampler::reset);
    }

    /// Channel `ch`: take the converter's `input` and fill `analog` (the samples not yet
    /// available, none after the first block, are zero). Never allocates.
    pub fn process(&mut self, ch: usize, input: &[f32], analog: &mut [f32]) {
        let hold = &mut self.channels[ch];
        hold.push(input);
        let got = hold.pull(analog);
        analog[got..].fill(0.0);
    }
}
