//! The converter stage: codes to levels at the converter rate `M·fd`, one converter per
//! channel (each channel its own copy of the same unit: the same ladder draw, the same
//! noise seed).

use super::delta_sigma::DeltaSigmaDac;
use super::r2r::R2rDac;
use super::ConverterKind;
use crate::clocks::{Clocks, MAX_CHANNELS};

/// Seed of the delta-sigma converter's noise.
const DELTA_SIGMA_SEED: u64 = 0x5EED;

/// One channel's converter.
enum Unit {
    Ideal,
    R2r(Box<R2rDac>),
    DeltaSigma(DeltaSigmaDac),
}

/// The converter of every channel.
pub struct Converter {
    units: [Unit; MAX_CHANNELS],
}

impl Converter {
    /// Build the converters (allocates; the R2R ladder draws its resistors here).
    pub fn new(kind: &ConverterKind, clocks: &Clocks) -> Self {
        let unit = || match kind {
            ConverterKind::Ideal => Unit::Ideal,
            ConverterKind::R2r(config) => {
                let mut dac = R2rDac::new(config);
                dac.set_sample_rate(clocks.conv_rate);
                Unit::R2r(Box::new(dac))
            }
            ConverterKind::DeltaSigma { noise_dbfs } => Unit::DeltaSigma(DeltaSigmaDac::new(
                *noise_dbfs,
                clocks.conv_rate,
                DELTA_SIGMA_SEED,
            )),
        };
        Self {
            units: std::array::from_fn(|ch| {
                if ch < clocks.channels {
                    unit()
                } else {
                    Unit::Ideal
                }
            }),
        }
    }

    pub fn reset(&mut self) {
        for unit in &mut self.units {
            match unit {
                Unit::Ideal => {}
                Unit::R2r(dac) => dac.reset(),
                Unit::DeltaSigma(dac) => dac.reset(),
            }
        }
    }

    /// Convert channel `ch`'s codes in place. Never allocates.
    pub fn process(&mut self, ch: usize, block: &mut [f32]) {
        match &mut self.units[ch] {
            Unit::Ideal => {}
            Unit::R2r(dac) => dac.process(block),
            Unit::DeltaSigma(dac) => dac.process(block),
        }
    }
}
