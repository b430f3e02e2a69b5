//! The slow part of building a chain: every filter design and kernel table, and the delay
//! that aligns them. It depends on the chain's rates, mode, filter, hold, decimator and
//! load — not on the converter, analog stage or amp — so a chain and its linear probe
//! (which measures the latency and the 1 kHz gain) share one.

use crate::analog::decimator;
use crate::chain::to_dac_rate;
use crate::chain::ChainConfig;
use crate::clocks::{ChainLayout, Clocks};
use crate::dac::hold::{self, HOLD_HALF_WIDTH};
use crate::dac::DacMode;
use crate::filter::fractional::ResamplerDesign;
use crate::load::{LoadConfig, LoadFir, LoadIir, ResolvedLoad};

/// The designs of one chain (see the module docs).
pub struct ChainDesign {
    pub clocks: Clocks,
    pub to_dac_rate: Option<ResamplerDesign>,
    /// The chip filter's taps at `M·fd` (`None` in NOS, or when M = 1).
    pub chip_filter: Option<Vec<f64>>,
    pub hold: ResamplerDesign,
    /// The decimator's taps at `K·fs` (`None` when K = 1).
    pub decimator: Option<Vec<f64>>,
    pub load: LoadDesign,
}

/// The load's divider, designed once and copied into each channel.
#[derive(Clone, Default)]
pub struct LoadDesign {
    /// A network's divider at the analog rate (`None`: none, or the identity).
    pub iir: Option<LoadIir>,
    /// A curve's divider at the host rate (`None`: none, or the identity).
    pub fir: Option<LoadFir>,
    /// |Z_L(1 kHz)| (∞ without a load).
    pub ohms_1khz: f64,
}

impl LoadDesign {
    fn new(load: Option<&LoadConfig>, clocks: &Clocks) -> Self {
        let Some(load) = load else {
            return Self {
                ohms_1khz: f64::INFINITY,
                ..Self::default()
            };
        };
        let ohms_1khz = load.load.impedance(1000.0).norm();
        match &load.load {
            ResolvedLoad::Network(network) => {
                let iir = LoadIir::new(network, load.z_out_ohms, clocks.analog_rate);
                Self {
                    iir: (!iir.is_identity()).then_some(iir),
                    fir: None,
                    ohms_1khz,
                }
            }
            ResolvedLoad::Curve(curve) => {
                let fir = LoadFir::new(curve, load.z_out_ohms, clocks.host_rate, clocks.max_block);
                Self {
                    iir: None,
                    fir: (!fir.is_identity()).then_some(fir),
                    ohms_1khz,
                }
            }
        }
    }
}

impl ChainDesign {
    /// Design everything `config` needs on `layout` (allocates; tens of ms).
    pub fn new(config: &ChainConfig, layout: ChainLayout) -> Self {
        let clocks = Clocks::new(
            layout,
            config.dac.dac_rate_hz,
            config.dac.mode == DacMode::Os,
        );
        let to_dac_rate = to_dac_rate::design(&clocks);
        let chip_filter =
            (clocks.m > 1).then(|| config.dac.os_filter.design(clocks.dac_rate, clocks.m));
        let decimator =
            (clocks.k > 1).then(|| decimator::design(clocks.host_rate, clocks.k, config.decimator));
        let hold_delay = hold_delay(
            &clocks,
            to_dac_rate.as_ref(),
            chip_filter.as_deref(),
            decimator.as_deref(),
        );
        Self {
            hold: hold::design(config.dac.hold, &clocks, hold_delay),
            load: LoadDesign::new(config.load.as_ref(), &clocks),
            clocks,
            to_dac_rate,
            chip_filter,
            decimator,
        }
    }
}

/// The hold's delay (converter samples): enough for the input to be there when K·n
/// outputs are pulled per host block, then lengthened so that the linear-phase delays
/// (rate conversion, chip filter, hold, decimator) add up to a whole number of host
/// samples — for linear-phase chains the impulse peak then falls exactly on a sample.
fn hold_delay(
    clocks: &Clocks,
    to_dac_rate: Option<&ResamplerDesign>,
    chip_filter: Option<&[f64]>,
    decimator: Option<&[f64]>,
) -> f64 {
    // Converter samples per host sample.
    let rho = clocks.conv_rate / clocks.host_rate;
    let to_dac_lag = to_dac_rate.map_or(0.0, |d| d.delay + 1.0);
    let mut delay = HOLD_HALF_WIDTH as f64 + 2.0 + rho * to_dac_lag;
    let chip_delay = chip_filter.map_or(0.0, |h| (h.len() - 1) as f64 / 2.0) / rho;
    let decimator_delay = decimator.map_or(0.0, |h| (h.len() - 1) as f64 / 2.0 / clocks.k as f64);
    let to_dac_delay = to_dac_rate.map_or(0.0, |d| d.delay);
    let total = to_dac_delay + chip_delay + delay / rho + decimator_delay;
    let frac = total - total.floor();
    if frac > 1e-9 {
        delay += (1.0 - frac) * rho;
    }
    delay
}
