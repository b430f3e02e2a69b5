//! The slow part of building a chain: every filter design and kernel table, and the delay
//! that aligns them. It depends on the chain's rates, mode, filter, hold, decimator and
//! load — not on the converter, analog stage or amp — so a chain and its linear probe
//! (which measures the latency and the 1 kHz gain) share one.

use std::sync::Arc;

use crate::analog::decimator::{self, DecimatorPhase};
use crate::chain::to_dac_rate;
use crate::chain::ChainConfig;
use crate::clocks::{ChainLayout, Clocks};
use crate::dac::hold::{self, HOLD_HALF_WIDTH};
use crate::dac::DacMode;
use crate::filter::cache::DesignCache;
use crate::filter::fractional::ResamplerDesign;
use crate::load::{Complex64, ImpedanceCurve, LoadConfig, LoadFir, LoadIir, ResolvedLoad};

/// The designs of one chain (see the module docs).
pub struct ChainDesign {
    pub clocks: Clocks,
    pub to_dac_rate: Option<ResamplerDesign>,
    /// The chip filter's taps at `M·fd` (`None` in NOS, or when M = 1).
    pub chip_filter: Option<Arc<Vec<f64>>>,
    pub hold: ResamplerDesign,
    /// The decimator's taps at `K·fs` (`None` when K = 1).
    pub decimator: Option<Arc<Vec<f64>>>,
    pub load: LoadDesign,
}

/// The load's divider, designed once and copied into each channel.
#[derive(Clone, Default)]
pub struct LoadDesign {
    /// A network's divider at the analog rate (`None`: none, or the identity).
    pub iir: Option<LoadIir>,
    /// A curve's divider at the host rate (`None`: none, or the identity).
    pub fir: Option<LoadFir>,
    /// Z_L(1 kHz) (∞ without a load).
    pub z_1khz: Complex64,
}

impl LoadDesign {
    /// |Z_L(1 kHz)| (∞ without a load).
    pub fn ohms_1khz(&self) -> f64 {
        self.z_1khz.norm()
    }

    fn new(load: Option<&LoadConfig>, clocks: &Clocks) -> Self {
        let Some(load) = load else {
            return Self {
                z_1khz: Complex64::new(f64::INFINITY, 0.0),
                ..Self::default()
            };
        };
        // Networks by their exact description; curves by identity (the cache keeps the
        // curve, so its address is not reused).
        // (network description, Z_out bits, rate bits); (curve address, Z_out bits, rate
        // bits, block).
        type IirKey = (String, u64, u64, u64);
        type FirKey = (usize, u64, u64, u64, usize);
        static IIRS: DesignCache<IirKey, LoadIir> = DesignCache::new();
        static FIRS: DesignCache<FirKey, (Arc<ImpedanceCurve>, LoadFir)> = DesignCache::new();
        let z_1khz = load.load.impedance(1000.0);
        let z_out = load.z_out_ohms;
        let yours = load.your_z_out_ohms;
        match &load.load {
            ResolvedLoad::Network(network) => {
                let key = (
                    format!("{network:?}"),
                    z_out.to_bits(),
                    yours.to_bits(),
                    clocks.analog_rate.to_bits(),
                );
                let iir = IIRS.get(key, || {
                    LoadIir::driven(network, z_out, yours, clocks.analog_rate)
                });
                Self {
                    iir: (!iir.is_identity()).then(|| (*iir).clone()),
                    fir: None,
                    z_1khz,
                }
            }
            ResolvedLoad::Curve(curve) => {
                let key = (
                    Arc::as_ptr(curve) as usize,
                    z_out.to_bits(),
                    yours.to_bits(),
                    clocks.host_rate.to_bits(),
                    clocks.max_block,
                );
                let design = FIRS.get(key, || {
                    let fir =
                        LoadFir::driven(curve, z_out, yours, clocks.host_rate, clocks.max_block);
                    (curve.clone(), fir)
                });
                let fir = &design.1;
                Self {
                    iir: None,
                    fir: (!fir.is_identity()).then(|| fir.clone()),
                    z_1khz,
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
            (clocks.m > 1).then(|| config.dac.os_filter.taps(clocks.dac_rate, clocks.m));
        let decimator =
            (clocks.k > 1).then(|| decimator::taps(clocks.host_rate, clocks.k, config.decimator));
        let hold_delay = hold_delay(
            &clocks,
            to_dac_rate.as_ref(),
            chip_filter.as_ref().map(|h| h.len()),
            decimator.as_ref().map(|h| h.len()),
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
    chip_filter_taps: Option<usize>,
    decimator_taps: Option<usize>,
) -> f64 {
    // Converter samples per host sample.
    let rho = clocks.conv_rate / clocks.host_rate;
    let to_dac_lag = to_dac_rate.map_or(0.0, |d| d.delay + 1.0);
    let mut delay = HOLD_HALF_WIDTH as f64 + 2.0 + rho * to_dac_lag;
    let chip_delay = chip_filter_taps.map_or(0.0, |n| (n - 1) as f64 / 2.0) / rho;
    let decimator_delay = decimator_taps.map_or(0.0, |n| (n - 1) as f64 / 2.0 / clocks.k as f64);
    let to_dac_delay = to_dac_rate.map_or(0.0, |d| d.delay);
    let total = to_dac_delay + chip_delay + delay / rho + decimator_delay;
    let frac = total - total.floor();
    if frac > 1e-9 {
        delay += (1.0 - frac) * rho;
    }
    delay
}

/// Taps of the longest chip filter at each OS factor M (the reference linear-phase filter,
/// [`crate::dac::OsFilter::ReferenceLinear`]): the chip term of [`latency_bound`], which
/// must not design every filter at activation. The filters' lengths depend on M only (their
/// edges scale with the DAC rate); `tests::longest_chip_filter_taps_are_current` designs
/// every filter at every M and checks this table.
pub const LONGEST_CHIP_FILTER_TAPS: [(usize, usize); 3] = [(2, 443), (4, 875), (8, 1699)];

/// Samples added to [`latency_bound`]'s sum of the linear-phase delays: the hold's
/// rounding up to a whole host sample (< 1) and the shift of the impulse peak by the
/// minimum-phase stages (analog low-pass, load) by up to a sample.
const LATENCY_MARGIN: f64 = 3.0;

/// The longest latency (host samples) any chain can have on `layout` with `decimator`,
/// whatever its device, mode, OS filter, ladder, load or DAC rate (the host's, or one of
/// `dac_rates`): the largest sum of the delays of the rate conversion, the chip filter
/// (the longest, [`LONGEST_CHIP_FILTER_TAPS`]), the hold and the decimator (linear:
/// half its length; minimum phase: its peak), plus [`LATENCY_MARGIN`]. The engine delays
/// every chain to this, so the latency a host sees does not move when the voicing does.
/// Designs (or takes from the cache) the decimator only.
pub fn latency_bound(layout: ChainLayout, decimator: DecimatorPhase, dac_rates: &[f64]) -> usize {
    let k = crate::clocks::oversampling_factor(layout.host_rate);
    let decimator_delay = if k > 1 {
        let taps = decimator::taps(layout.host_rate, k, decimator);
        let delay = match decimator {
            DecimatorPhase::Linear => (taps.len() - 1) as f64 / 2.0,
            DecimatorPhase::Minimum => {
                taps.iter()
                    .enumerate()
                    .fold((0, 0.0f64), |best, (i, &v)| {
                        if v.abs() > best.1 {
                            (i, v.abs())
                        } else {
                            best
                        }
                    })
                    .0 as f64
            }
        };
        delay / k as f64
    } else {
        0.0
    };
    let mut worst = 0.0f64;
    for rate in std::iter::once(None).chain(dac_rates.iter().copied().map(Some)) {
        for os in [true, false] {
            let clocks = Clocks::new(layout, rate, os);
            let rho = clocks.conv_rate / clocks.host_rate;
            let to_dac = clocks
                .converts_rate()
                .then(|| to_dac_rate::half_width(clocks.host_rate, clocks.dac_rate) as f64);
            let chip_taps = LONGEST_CHIP_FILTER_TAPS
                .iter()
                .find(|(m, _)| *m == clocks.m)
                .map(|(_, taps)| *taps);
            let hold = (HOLD_HALF_WIDTH as f64 + 2.0 + rho * to_dac.map_or(0.0, |w| w + 1.0)) / rho;
            let total = to_dac.unwrap_or(0.0)
                + chip_taps.map_or(0.0, |n| (n - 1) as f64 / 2.0) / rho
                + hold
                + decimator_delay;
            worst = worst.max(total);
        }
    }
    (worst + LATENCY_MARGIN).ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dac::OsFilter;

    /// The table the latency bound rests on: at every M the reference linear-phase filter
    /// is the longest, with these lengths, at any DAC rate.
    #[test]
    fn longest_chip_filter_taps_are_current() {
        for (m, taps) in LONGEST_CHIP_FILTER_TAPS {
            for fs in [44_100.0, 96_000.0] {
                let longest = OsFilter::ALL
                    .iter()
                    .map(|f| f.design(fs, m).len())
                    .max()
                    .unwrap();
                assert_eq!(longest, taps, "M = {m} at {fs} Hz");
                assert_eq!(OsFilter::ReferenceLinear.design(fs, m).len(), taps);
            }
        }
    }
}
