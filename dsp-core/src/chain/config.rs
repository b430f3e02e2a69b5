//! What a chain is built from.

use crate::amp::AmpOutput;
use crate::analog::decimator::DecimatorPhase;
use crate::analog::AnalogConfig;
use crate::dac::DacConfig;
use crate::load::LoadConfig;

/// Everything a [`super::Chain`] is built from: a device's voicing with the user's
/// choices applied (mode, filter, DAC rate, ladder, output, output impedance) and the load
/// made concrete. Each quantity is here once: the output impedance only in `load`.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    pub dac: DacConfig,
    pub analog: AnalogConfig,
    /// The headphone amp and the output in use; `None`: the DAC alone (line level).
    pub amp: Option<AmpOutput>,
    /// The load and the output impedance driving it; `None`: an open circuit.
    pub load: Option<LoadConfig>,
    /// The filter back to the host rate.
    pub decimator: DecimatorPhase,
}

impl ChainConfig {
    /// A DAC and its analog stage alone: no amp, no load, the linear-phase decimator.
    pub fn dac_only(dac: DacConfig, analog: AnalogConfig) -> Self {
        Self {
            dac,
            analog,
            amp: None,
            load: None,
            decimator: DecimatorPhase::Linear,
        }
    }

    /// The transparent reference: [`DacConfig::IDEAL`], no analog stage, no amp, no load.
    pub fn ideal() -> Self {
        Self::dac_only(DacConfig::IDEAL, AnalogConfig::CLEAN)
    }

    /// The output impedance driving the load (0 without a load).
    pub fn z_out_ohms(&self) -> f64 {
        self.load.as_ref().map_or(0.0, |l| l.z_out_ohms)
    }
}
