//! The hold: the converter's output is a staircase at the converter rate; [`Hold`] renders
//! it at the analog rate F exactly — the zero-order hold's `sinc` droop and its images —
//! band-limited to F/2 ([`hold_kernel`]: the hold's rectangle convolved with a windowed
//! sinc at F/2, read at the fractional positions of F's samples).
//!
//! Without a hold (the "Ideal" reference) the same resampler interpolates the converter's
//! samples into F with a plain band-limited sinc: no droop, no images.

use crate::clocks::{Clocks, PerChannel};
use crate::filter::cache::DesignCache;
use crate::filter::fractional::{
    hold_table, sinc_kernel, FractionalResampler, KernelTable, ResamplerDesign,
};

/// Half width of the hold kernel, in converter samples.
pub const HOLD_HALF_WIDTH: usize = 16;
/// Kernel table resolution (a power of two: divisible by every integer K and M used).
const HOLD_PHASES: usize = 1024;

/// The hold's design: the kernel for a staircase (`hold`) or a plain interpolation, from
/// the converter rate into the analog rate of `clocks`; `delay` in converter samples (at
/// least the kernel's half width; the chain lengthens it so that its linear-phase delays
/// sum to a whole number of host samples).
pub fn design(hold: bool, clocks: &Clocks, delay: f64) -> ResamplerDesign {
    static TABLES: DesignCache<(bool, u64), KernelTable> = DesignCache::new();
    let cutoff = 0.5 * clocks.analog_rate / clocks.conv_rate;
    let table = TABLES.get((hold, cutoff.to_bits()), || kernel_table(hold, cutoff));
    ResamplerDesign {
        table,
        step: clocks.conv_rate / clocks.analog_rate,
        delay,
    }
}

/// The hold's kernel (or a plain interpolation's) for a cutoff in cycles per converter
/// sample.
fn kernel_table(hold: bool, cutoff: f64) -> KernelTable {
    if hold {
        hold_table(cutoff, HOLD_HALF_WIDTH, 8.0, HOLD_PHASES)
    } else {
        KernelTable::new(
            sinc_kernel(cutoff.min(0.5), HOLD_HALF_WIDTH, 10.0),
            HOLD_HALF_WIDTH,
            HOLD_PHASES,
        )
    }
}

/// The hold of every channel: converter samples in, exactly the analog samples asked for
/// out.
pub struct Hold {
    channels: PerChannel<FractionalResampler>,
}

impl Hold {
    /// Allocates the resamplers' buffers.
    pub fn new(design: &ResamplerDesign, clocks: &Clocks) -> Self {
        Self {
            channels: PerChannel::new(Some(design), clocks, |d| d.build(clocks.conv_block())),
        }
    }

    pub fn reset(&mut self) {
        self.channels.reset(FractionalResampler::reset);
    }

    /// Channel `ch`: `produce` writes the converter's `n` samples straight into the hold's
    /// input history (and returns how many it wrote), then `analog` is filled (the samples
    /// not yet available, none after the first block, are zero). Never allocates.
    pub fn process(
        &mut self,
        ch: usize,
        n: usize,
        produce: impl FnOnce(&mut [f32]) -> usize,
        analog: &mut [f32],
    ) {
        self.channels.with(ch, |hold| {
            let written = produce(hold.input_slot(n));
            hold.commit(written);
            let got = hold.pull(analog);
            analog[got..].fill(0.0);
        });
    }
}
