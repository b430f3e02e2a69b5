//! Oversampling (OS) reconstruction filters, designed when the engine is prepared.
//!
//! Every filter is specified relative to the DAC rate `fs` (edges scale with fs, as in the
//! datasheets) and designed at the oversampled rate `M·fs`, with a DC gain of `M` so that
//! zero-stuffing plus filtering keeps unity passband gain. Each [`OsFilter`] states its own
//! figures in [`OsFilter::figures`]; the tests measure every design against them.
//!
//! Sources, per filter (fs = DAC rate):
//! - **AK4493 short-delay slow** — AK4493 datasheet (filter table, fs = 44.1 kHz): −0.01 dB
//!   to 8.0 kHz (0.1814 fs), −6 dB at 21.0 kHz (0.4762 fs), ≥ 92 dB from 39.2 kHz
//!   (0.8889 fs), ripple ≤ 0.007 dB, group delay 5.0/fs.
//! - **AK4493 sharp** — the AK4493's own table is not in our reference; *assumption*: the
//!   AKM sharp filter of the AK4436 (passband 0.4535 fs, ±0.0032 dB, stopband 0.546 fs,
//!   80 dB, group delay 26.8/fs), linear phase. A Kaiser design needs ~15 % more taps
//!   than AKM's (presumably equiripple) one for the same edges, so ours delays 28.0/fs.
//! - **AK4493 slow** — *assumption*: the AKM slow shape of the AK4385/AK4425A (±0.04 dB to
//!   0.185 fs, −3 dB at 0.4127 fs = 18.2 kHz @ 44.1 kHz, 72 dB from 0.888 fs, group delay
//!   19.3/fs), linear phase.
//!   The minimum-phase design alone delays 1.9/fs; a pure delay (the chip's pipeline) brings
//!   it to the datasheet's 5.0/fs without adding pre-ringing.
//! - **AK4493 short-delay sharp** — *assumption*: the sharp magnitude, minimum phase (its
//!   group delay, 2.4/fs, is the design's own; the datasheet figure was not found).
//! - **AK4493 super slow** — *assumption* (no figure found): a NOS-like gentle roll-off,
//!   −0.01 dB to 0.05 fs, −3 dB at 0.33 fs, ≥ 45 dB from 0.9 fs, minimum phase (1.3/fs).
//! - **AK4493 low-dispersion short delay** — *assumption* (no figure found): constant group
//!   delay (linear phase, no dispersion) but short, 10/fs: −6 dB at 0.5 fs, 80 dB from
//!   0.64 fs. The short length is paid for with a stopband that starts above fs/2.
//! - **R2R OS (K13/K11)** — FiiO publishes only the device response (20 Hz–20 kHz within
//!   0.2 dB); *assumption*: a linear-phase sharp filter, ±0.01 dB to 0.4535 fs, 100 dB from
//!   0.5465 fs (a 20 kHz tone's 24.1 kHz image is 100 dB down at 44.1 kHz).
//! - **Reference linear phase / minimum phase** — not devices: ±0.001 dB to 0.4535 fs,
//!   ≥ 140 dB from 0.5 fs (nothing images or aliases), linear and minimum phase.

use std::sync::Arc;

use crate::choice::Choice;
use crate::clocks::{pass_on, Clocks, PerChannel};
use crate::filter::cache::DesignCache;
use crate::filter::design::{design_lowpass, lowpass_kaiser, magnitude_db, min_phase, LowpassSpec};
use crate::filter::fir::PolyphaseInterpolator;

crate::choice! {
    /// The chip's oversampling filters.
    pub enum OsFilter {
        Ak4493Sharp = "AK4493 Sharp", Ak4493Slow = "AK4493 Slow",
        Ak4493ShortDelaySharp = "AK4493 Short-delay sharp",
        Ak4493ShortDelaySlow = "AK4493 Short-delay slow", Ak4493SuperSlow = "AK4493 Super slow",
        Ak4493LowDispersion = "AK4493 Low-dispersion short delay", R2rOs = "R2R OS (K13/K11)",
        ReferenceLinear = "Reference linear phase", ReferenceMinimum = "Reference minimum phase",
    }
}

/// Number of [`OsFilter`]s.
const FILTERS: usize = 9;
const _: () = assert!(<OsFilter as Choice>::ALL.len() == FILTERS);

/// The `os_filter` parameter: `None` is "Device default" (the voicing's own filter), then
/// every [`OsFilter`].
impl Choice for Option<OsFilter> {
    const ALL: &'static [Self] = &{
        let mut all = [None; FILTERS + 1];
        let mut i = 0;
        while i < FILTERS {
            all[i + 1] = Some(<OsFilter as Choice>::ALL[i]);
            i += 1;
        }
        all
    };
    const LABELS: &'static [&'static str] = &{
        let mut labels = ["Device default"; FILTERS + 1];
        let mut i = 0;
        while i < FILTERS {
            labels[i + 1] = <OsFilter as Choice>::LABELS[i];
            i += 1;
        }
        labels
    };

    fn index(self) -> usize {
        self.map_or(0, |f| f as usize + 1)
    }
}

/// Phase of a design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Linear,
    Minimum,
}

/// Figures a filter is designed to (edges as fractions of the DAC rate fs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Passband edge, and the largest deviation from 0 dB allowed up to it.
    pub passband: f64,
    pub passband_tolerance_db: f64,
    /// A named point of the transition: (frequency, level in dB), e.g. −6 dB at 0.4762 fs.
    pub transition_point: Option<(f64, f64)>,
    /// Stopband edge and the attenuation from there to M·fs/2.
    pub stopband: f64,
    pub stopband_db: f64,
    /// Group delay at 1 kHz (44.1 kHz) in DAC samples, and its tolerance.
    pub group_delay: f64,
    pub group_delay_tolerance: f64,
    pub phase: Phase,
}

impl OsFilter {
    /// The figures this filter is designed to (see the module docs for their sources).
    pub fn figures(self) -> Figures {
        use OsFilter::*;
        match self {
            Ak4493Sharp => Figures {
                passband: 0.4535,
                passband_tolerance_db: 0.0032,
                transition_point: None,
                stopband: 0.546,
                stopband_db: 80.0,
                group_delay: 28.0,
                group_delay_tolerance: 0.5,
                phase: Phase::Linear,
            },
            Ak4493Slow => Figures {
                passband: 0.185,
                passband_tolerance_db: 0.04,
                transition_point: Some((0.4127, -3.0)),
                stopband: 0.888,
                stopband_db: 72.0,
                group_delay: 19.3,
                group_delay_tolerance: 1.0,
                phase: Phase::Linear,
            },
            Ak4493ShortDelaySharp => Figures {
                group_delay: 2.4,
                group_delay_tolerance: 0.3,
                phase: Phase::Minimum,
                ..Ak4493Sharp.figures()
            },
            Ak4493ShortDelaySlow => Figures {
                passband: 0.1814,
                passband_tolerance_db: 0.01,
                transition_point: Some((0.4762, -6.0)),
                stopband: 0.8889,
                stopband_db: 92.0,
                group_delay: 5.0,
                group_delay_tolerance: 1.5,
                phase: Phase::Minimum,
            },
            Ak4493SuperSlow => Figures {
                passband: 0.05,
                passband_tolerance_db: 0.01,
                transition_point: Some((0.33, -3.0)),
                stopband: 0.9,
                stopband_db: 45.0,
                group_delay: 1.3,
                group_delay_tolerance: 0.5,
                phase: Phase::Minimum,
            },
            Ak4493LowDispersion => Figures {
                passband: 0.3,
                passband_tolerance_db: 0.01,
                transition_point: Some((0.5, -6.0)),
                stopband: 0.64,
                stopband_db: 80.0,
                group_delay: 10.0,
                group_delay_tolerance: 0.1,
                phase: Phase::Linear,
            },
            R2rOs => Figures {
                passband: 0.4535,
                passband_tolerance_db: 0.01,
                transition_point: None,
                stopband: 0.5465,
                stopband_db: 100.0,
                group_delay: 0.0, // set by the design (linear phase); checked as (N−1)/2
                group_delay_tolerance: f64::INFINITY,
                phase: Phase::Linear,
            },
            ReferenceLinear => Figures {
                passband: 0.4535,
                passband_tolerance_db: 0.001,
                transition_point: None,
                stopband: 0.5,
                stopband_db: 140.0,
                group_delay: 0.0,
                group_delay_tolerance: f64::INFINITY,
                phase: Phase::Linear,
            },
            ReferenceMinimum => Figures {
                phase: Phase::Minimum,
                passband_tolerance_db: 0.01,
                stopband_db: 137.0,
                ..ReferenceLinear.figures()
            },
        }
    }

    /// [`OsFilter::design`], designed once per process ([`DesignCache`]) and shared.
    pub fn taps(self, fs: f64, factor: usize) -> Arc<Vec<f64>> {
        static TAPS: DesignCache<(OsFilter, u64, usize), Vec<f64>> = DesignCache::new();
        TAPS.get((self, fs.to_bits(), factor), || self.design(fs, factor))
    }

    /// Design the filter for oversampling `factor`× a DAC rate of `fs` Hz: taps at
    /// `factor·fs`, DC gain `factor`. Allocates; call at prepare time.
    pub fn design(self, fs: f64, factor: usize) -> Vec<f64> {
        let m = factor.max(1) as f64;
        let rate = m * fs;
        let f = self.figures();
        let linear = match self {
            OsFilter::Ak4493Sharp | OsFilter::Ak4493ShortDelaySharp => {
                design_lowpass(&LowpassSpec {
                    passband_hz: f.passband * fs,
                    stopband_hz: f.stopband * fs,
                    stopband_db: f.stopband_db + 1.0,
                    sample_rate: rate,
                })
            }
            OsFilter::R2rOs | OsFilter::ReferenceLinear | OsFilter::ReferenceMinimum => {
                design_lowpass(&LowpassSpec {
                    passband_hz: f.passband * fs,
                    stopband_hz: f.stopband * fs,
                    // Margin for f32 coefficients and the minimum-phase transform.
                    stopband_db: f.stopband_db + 3.0,
                    sample_rate: rate,
                })
            }
            OsFilter::Ak4493Slow => {
                // Length from the group delay (19.3/fs), cutoff placed so that the −3 dB
                // point lands at 0.4127 fs.
                let taps = 2 * (f.group_delay * m).round() as usize + 1;
                shaped(taps, f, fs, rate)
            }
            OsFilter::Ak4493LowDispersion => {
                let taps = 2 * (f.group_delay * m).round() as usize + 1;
                shaped(
                    taps,
                    Figures {
                        stopband_db: f.stopband_db - 6.0,
                        ..f
                    },
                    fs,
                    rate,
                )
            }
            OsFilter::Ak4493ShortDelaySlow | OsFilter::Ak4493SuperSlow => {
                // Minimum phase of a linear-phase design whose length is set by the
                // transition to the stopband.
                let spec = LowpassSpec {
                    passband_hz: f.passband * fs,
                    stopband_hz: f.stopband * fs,
                    stopband_db: f.stopband_db + 6.0,
                    sample_rate: rate,
                };
                // Twice Kaiser's length for the transition: the shortest that keeps the
                // passband within its figure once the −3/−6 dB point is pinned.
                let taps = (2 * crate::filter::design::kaiser_taps(
                    spec.stopband_db,
                    spec.stopband_hz - spec.passband_hz,
                    rate,
                )) | 1;
                shaped(taps.max(3), f, fs, rate)
            }
        };
        let mut h = match f.phase {
            Phase::Linear => linear,
            Phase::Minimum => min_phase(&linear),
        };
        if self == OsFilter::Ak4493ShortDelaySlow {
            // Pipeline delay up to the datasheet's 5.0/fs (see the module docs).
            let have = crate::filter::design::group_delay(&h, 0.02 * fs, rate);
            let pad = (f.group_delay * m - have).round().max(0.0) as usize;
            h.splice(0..0, std::iter::repeat_n(0.0, pad));
        }
        h.into_iter().map(|c| c * m).collect()
    }
}

/// A Kaiser-windowed sinc of `taps` taps whose cutoff is moved (bisection) until the
/// response at the figures' transition point equals its level; β from the stopband.
fn shaped(taps: usize, f: Figures, fs: f64, rate: f64) -> Vec<f64> {
    let beta = crate::filter::design::kaiser_beta(f.stopband_db + 6.0);
    let Some((point, level_db)) = f.transition_point else {
        return lowpass_kaiser(taps, 0.5 * (f.passband + f.stopband) * fs, rate, beta);
    };
    let (mut lo, mut hi) = (0.05 * fs, 0.5 * rate * 0.999);
    let mut h = lowpass_kaiser(taps, point * fs, rate, beta);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        h = lowpass_kaiser(taps, mid, rate, beta);
        if magnitude_db(&h, point * fs, rate) < level_db {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    h
}

/// The chip filter of every channel: in OS mode it oversamples the DAC-rate codes by `M`
/// (zero-stuffing and the filter, one polyphase FIR); in NOS it passes them on.
pub struct ChipFilter {
    channels: PerChannel<PolyphaseInterpolator>,
    m: usize,
}

impl ChipFilter {
    /// `taps` (designed at `M·fd` by [`OsFilter::design`]; `None` in NOS). Allocates.
    pub fn new(taps: Option<&[f64]>, clocks: &Clocks) -> Self {
        Self {
            channels: PerChannel::new(taps, clocks, |h| {
                PolyphaseInterpolator::new(h, clocks.m, clocks.dac_block)
            }),
            m: clocks.m,
        }
    }

    pub fn reset(&mut self) {
        self.channels.reset(PolyphaseInterpolator::reset);
    }

    /// Samples [`ChipFilter::process`] writes for `input_len` input samples.
    pub fn output_len(&self, input_len: usize) -> usize {
        if self.channels.is_empty() {
            input_len
        } else {
            input_len * self.m
        }
    }

    /// Channel `ch`'s codes at the DAC rate into `out` at the converter rate; returns the
    /// samples written (`M·input.len()`). Never allocates.
    pub fn process(&mut self, ch: usize, input: &[f32], out: &mut [f32]) -> usize {
        match self.channels.get_mut(ch) {
            Some(os) => {
                let n = input.len() * self.m;
                os.process(input, &mut out[..n]);
                n
            }
            None => pass_on(input, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::design::{group_delay, magnitude_db};

    const FS: f64 = 44_100.0;
    const M: usize = 8;

    struct Report {
        passband_dev_db: f64,
        transition_db: Option<f64>,
        stopband_db: f64,
        group_delay: f64,
        taps: usize,
    }

    fn measure(filter: OsFilter) -> Report {
        let h = filter.design(FS, M);
        let rate = FS * M as f64;
        let f = filter.figures();
        let dc = magnitude_db(&h, 0.0, rate);
        let mut passband_dev_db = 0.0f64;
        for i in 0..=400 {
            let freq = f.passband * FS * i as f64 / 400.0;
            passband_dev_db = passband_dev_db.max((magnitude_db(&h, freq, rate) - dc).abs());
        }
        let mut stop = f64::NEG_INFINITY;
        let n = 4000;
        for i in 0..=n {
            let freq = f.stopband * FS + (0.5 * rate - f.stopband * FS) * i as f64 / n as f64;
            stop = stop.max(magnitude_db(&h, freq, rate) - dc);
        }
        Report {
            passband_dev_db,
            transition_db: f
                .transition_point
                .map(|(p, _)| magnitude_db(&h, p * FS, rate) - dc),
            stopband_db: -stop,
            group_delay: group_delay(&h, 1000.0, rate) / M as f64,
            taps: h.len(),
        }
    }

    #[test]
    fn every_filter_meets_its_stated_figures_at_44_1_khz() {
        let mut failures = Vec::new();
        for filter in OsFilter::ALL {
            let f = filter.figures();
            let r = measure(*filter);
            println!(
                "{:36} taps {:5}  passband dev {:.4} dB  transition {:?}  stopband {:.1} dB  GD {:.2}/fs",
                filter.label(),
                r.taps,
                r.passband_dev_db,
                r.transition_db.map(|d| (d * 100.0).round() / 100.0),
                r.stopband_db,
                r.group_delay
            );
            if r.passband_dev_db > f.passband_tolerance_db {
                failures.push(format!(
                    "{}: passband deviation {} dB",
                    filter.label(),
                    r.passband_dev_db
                ));
            }
            if let (Some((_, want)), Some(got)) = (f.transition_point, r.transition_db) {
                if (got - want).abs() >= 0.05 {
                    failures.push(format!("{}: transition {got} dB", filter.label()));
                }
            }
            if r.stopband_db < f.stopband_db {
                failures.push(format!("{}: stopband {} dB", filter.label(), r.stopband_db));
            }
            if (r.group_delay - f.group_delay).abs() > f.group_delay_tolerance {
                failures.push(format!(
                    "{}: group delay {}/fs",
                    filter.label(),
                    r.group_delay
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
