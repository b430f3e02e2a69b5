//! The realtime PEQ: ten biquads in series on one or two channels, with smoothed
//! automation.
//!
//! # Structure
//! Transposed direct form II, `f64` state, the two channels in the two lanes of a
//! `wide::f64x2` (one biquad recursion serves L and R). Samples run through every active
//! band in turn, so the ten independent recursions overlap in the CPU pipeline. A scalar
//! path ([`Peq::process_scalar`]) does the same arithmetic lane by lane; both use plain
//! multiplies and adds in the same order (no FMA), so they agree bit for bit.
//!
//! # Automation
//! - A band's frequency (in log₂), gain (dB) and Q (in log₂) glide linearly to new values
//!   over [`RAMP_SECONDS`]; coefficients are recomputed every [`CONTROL_INTERVAL`]
//!   samples from the gliding values (a full design each time: a few `sin`/`cos`/`pow`,
//!   no allocation). Control ticks are counted from the last reset, whatever the block
//!   sizes, so any split of a signal gives the same bits.
//! - The preamp glides in linear gain over [`RAMP_SECONDS`].
//! - Switching a peak or shelf on or off glides its gain from or to 0 dB (where the biquad
//!   is the identity) — the same as automating the gain, so the in-between states are real
//!   EQ curves. Switching LP/HP/BP/notch/all-pass on or off, which have no neutral
//!   setting, crossfades the band's output with its input over [`RAMP_SECONDS`].
//! - Changing a band's type, or the design, crossfades: the band's wet/dry mix falls to 0
//!   over [`SWITCH_FADE_SECONDS`], the new filter starts from a clear state, and the mix
//!   rises back over [`SWITCH_FADE_SECONDS`]. A band that is silent switches at once.
//! - The master switch acts like switching every band and the preamp off.
//!
//! A band that is the identity (off, or a peak/shelf at 0 dB) costs nothing once its
//! leftover state has decayed below 10⁻⁸ (−160 dBFS); [`Peq::is_active`] is false and
//! [`Peq::process`] returns at once when every band is idle and the preamp is 0 dB.
//!
//! `set`, `process` and `reset` never allocate, lock or do I/O.

use wide::f64x2;

use super::{design, Band, FilterType, PeqDesign, PeqSettings, BANDS};
use crate::filter::biquad::{tdf2, BiquadCoefs, LaneCoefs, Pair, TwoLanes};
use crate::util::{db_to_gain, LinearRamp};

/// Samples between coefficient updates while parameters glide.
pub const CONTROL_INTERVAL: usize = 16;

/// Time a parameter change, a preamp change or a band toggle takes (s).
pub const RAMP_SECONDS: f64 = 0.020;

/// Each half (fade-out, fade-in) of a type or design change (s).
pub const SWITCH_FADE_SECONDS: f64 = 0.010;

/// Leftover state below which an identity band stops being processed (−160 dBFS; the
/// step this drops is far below 24-bit resolution).
const RESIDUE_FLOOR: f64 = 1e-8;

/// State magnitudes below this are flushed to zero once per block (denormal guard).
const DENORMAL_FLOOR: f64 = 1e-30;

/// Ramp lengths at the current sample rate.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Control ticks of a parameter glide.
    ramp_ticks: u32,
    /// Samples of a toggle crossfade or preamp glide.
    ramp_samples: u32,
    /// Samples of each half of a switch crossfade.
    fade_samples: u32,
}

impl Timing {
    fn new(sample_rate: f64) -> Self {
        let ramp_ticks =
            ((RAMP_SECONDS * sample_rate / CONTROL_INTERVAL as f64).round() as u32).max(1);
        Self {
            ramp_ticks,
            ramp_samples: ramp_ticks * CONTROL_INTERVAL as u32,
            fade_samples: ((SWITCH_FADE_SECONDS * sample_rate).round() as u32).max(1),
        }
    }
}

/// The gliding parameters: `[log₂ freq_hz, gain_db, log₂ q]`.
type Params = [f64; 3];

/// The parameters a band glides to; the gain is 0 dB when a peak/shelf is off, and 0 for
/// the types without gain.
fn goal_params(band: &Band, on: bool) -> Params {
    let gain = if band.kind.has_gain() && on {
        band.gain_db
    } else {
        0.0
    };
    [band.freq_hz.log2(), gain, band.q.log2()]
}

/// The mix a band settles at: peaks/shelves toggle by gain, so 1; the others by mix.
fn mix_goal(kind: FilterType, on: bool) -> f32 {
    if kind.has_gain() || on {
        1.0
    } else {
        0.0
    }
}

/// One band's running state.
#[derive(Debug, Clone, Copy)]
struct BandState {
    /// The type and design running now.
    kind: FilterType,
    design: PeqDesign,
    /// Type and design to switch to once the fade-out is done.
    pending: Option<(FilterType, PeqDesign)>,
    /// Whether the band (and the EQ) is on in the latest settings.
    on: bool,
    /// Gliding parameters, their goal, step per tick and ticks left.
    cur: Params,
    goal: Params,
    step: Params,
    ticks_left: u32,
    /// Wet/dry mix (1 = filter only).
    mix: LinearRamp,
    coefs: BiquadCoefs,
    /// Coefficients need recomputing.
    dirty: bool,
    /// TDF-II state, one lane per channel.
    s1: [f64; 2],
    s2: [f64; 2],
    /// Processed in the audio loop.
    active: bool,
}

impl BandState {
    fn new() -> Self {
        let goal = goal_params(&Band::OFF, false);
        Self {
            kind: Band::OFF.kind,
            design: PeqDesign::ApoRbj,
            pending: None,
            on: false,
            cur: goal,
            goal,
            step: [0.0; 3],
            ticks_left: 0,
            mix: LinearRamp::new(1.0, 1),
            coefs: BiquadCoefs::default(),
            dirty: false,
            s1: [0.0; 2],
            s2: [0.0; 2],
            active: false,
        }
    }

    fn mix_is_zero(&self) -> bool {
        self.mix.is_settled() && self.mix.value() == 0.0
    }

    /// Glide the mix to `target` over `samples`.
    fn fade_mix(&mut self, target: f32, samples: u32) {
        if self.mix.target() != target {
            self.mix = LinearRamp::new(self.mix.value(), samples);
            self.mix.set_target(target);
        }
    }

    fn clear_state(&mut self) {
        self.s1 = [0.0; 2];
        self.s2 = [0.0; 2];
    }

    /// Take new (sanitised) settings for this band.
    fn retarget(&mut self, band: &Band, eq_on: bool, design: PeqDesign, timing: &Timing) {
        let on = eq_on && band.on;
        let goal = goal_params(band, on);
        self.on = on;
        if (band.kind, design) != (self.kind, self.design) {
            self.goal = goal;
            if self.active {
                // Fade out, switch at the next tick after the mix reaches 0.
                self.pending = Some((band.kind, design));
                self.ticks_left = 0;
                self.fade_mix(0.0, timing.fade_samples);
            } else {
                self.switch_now(band.kind, design, timing);
            }
            return;
        }
        if self.pending.take().is_some() {
            // Back to the running type before the switch happened: fade back in.
            self.fade_mix(mix_goal(self.kind, on), timing.fade_samples);
        }
        if goal != self.goal || (self.ticks_left == 0 && self.cur != goal) {
            self.glide_to(goal, timing);
        }
        if !self.kind.has_gain() {
            self.fade_mix(mix_goal(self.kind, on), timing.ramp_samples);
        }
    }

    fn glide_to(&mut self, goal: Params, timing: &Timing) {
        self.goal = goal;
        self.ticks_left = timing.ramp_ticks;
        let ticks = f64::from(timing.ramp_ticks);
        self.step = std::array::from_fn(|i| (goal[i] - self.cur[i]) / ticks);
    }

    /// Switch a silent band at once: a peak/shelf starts at 0 dB and glides to its gain,
    /// another type fades in over the toggle time.
    fn switch_now(&mut self, kind: FilterType, design: PeqDesign, timing: &Timing) {
        self.kind = kind;
        self.design = design;
        self.pending = None;
        self.clear_state();
        self.dirty = true;
        let goal = self.goal;
        if kind.has_gain() {
            self.cur = [goal[0], 0.0, goal[2]];
            self.ticks_left = 0;
            self.mix = LinearRamp::new(1.0, 1);
            if goal[1] != 0.0 {
                self.glide_to(goal, timing);
            }
        } else {
            self.cur = goal;
            self.ticks_left = 0;
            self.mix = LinearRamp::new(0.0, timing.ramp_samples);
            self.mix.set_target(mix_goal(kind, self.on));
        }
    }

    /// Switch after the fade-out: new filter at its goal, clear state, fade in.
    fn switch_after_fade(&mut self, kind: FilterType, design: PeqDesign, timing: &Timing) {
        self.kind = kind;
        self.design = design;
        self.pending = None;
        self.clear_state();
        self.cur = self.goal;
        self.ticks_left = 0;
        self.dirty = true;
        self.mix = LinearRamp::new(0.0, timing.fade_samples);
        self.mix.set_target(mix_goal(kind, self.on));
    }

    /// Whether the coefficients are the identity (a peak/shelf resting at 0 dB).
    fn at_unity_gain(&self) -> bool {
        self.kind.has_gain() && self.cur[1] == 0.0 && self.ticks_left == 0
    }

    /// One control tick: finish a pending switch, advance the glide, recompute
    /// coefficients, decide whether the band needs processing.
    fn tick(&mut self, sample_rate: f64, timing: &Timing) {
        if let Some((kind, design)) = self.pending {
            if !self.active {
                self.switch_now(kind, design, timing);
            } else if self.mix_is_zero() {
                self.switch_after_fade(kind, design, timing);
            }
        }
        if self.kind.has_gain()
            && self.cur[1] == 0.0
            && self.goal[1] == 0.0
            && self.cur != self.goal
        {
            // Identity either way: frequency and Q can jump.
            self.cur = self.goal;
            self.ticks_left = 0;
            self.dirty = true;
        }
        if self.ticks_left > 0 {
            self.ticks_left -= 1;
            self.cur = if self.ticks_left == 0 {
                self.goal
            } else {
                std::array::from_fn(|i| self.cur[i] + self.step[i])
            };
            self.dirty = true;
        }
        if self.dirty {
            let band = Band {
                on: true,
                kind: self.kind,
                freq_hz: self.cur[0].exp2(),
                gain_db: self.cur[1],
                q: self.cur[2].exp2(),
            };
            self.coefs = design::design(&band, self.design, sample_rate);
            self.dirty = false;
        }
        self.update_activity();
    }

    /// Decide whether the band must run; clear the state of a band that goes idle.
    fn update_activity(&mut self) {
        if self.pending.is_some() {
            self.active = true;
        } else if self.mix_is_zero() {
            self.clear_state();
            self.active = false;
        } else if self.at_unity_gain() {
            let residue = self
                .s1
                .iter()
                .chain(&self.s2)
                .fold(0.0f64, |m, v| m.max(v.abs()));
            if residue < RESIDUE_FLOOR {
                self.clear_state();
                self.mix.reset(self.mix.target());
                self.active = false;
            } else {
                self.active = true;
            }
        } else {
            self.active = true;
        }
    }
}

/// A band as the audio loop sees it for one sub-block.
#[derive(Clone, Copy)]
struct Lane<V> {
    coefs: LaneCoefs<V>,
    state: [V; 2],
    mix: LinearRamp,
    mixing: bool,
}

impl<V: TwoLanes> Lane<V> {
    fn new(band: &BandState) -> Self {
        Self {
            coefs: LaneCoefs::splat(&band.coefs),
            state: [V::from_array(band.s1), V::from_array(band.s2)],
            mix: band.mix,
            mixing: !(band.mix.is_settled() && band.mix.value() == 1.0),
        }
    }
}

/// Ten-band stereo parametric EQ. Lifecycle: [`Peq::new`] → [`Peq::set`] (any time) →
/// [`Peq::process`]; latency 0.
#[derive(Debug, Clone)]
pub struct Peq {
    sample_rate: f64,
    channels: usize,
    max_block: usize,
    timing: Timing,
    /// The latest settings, sanitised.
    settings: PeqSettings,
    bands: [BandState; BANDS],
    /// Linear preamp gain.
    preamp: LinearRamp,
    /// Samples until the next control tick.
    until_tick: usize,
    /// Some band runs or the preamp is not settled at unity.
    active: bool,
}

impl Peq {
    /// A PEQ at `sample_rate` (Hz) for `channels` (1 or 2) channels, with the default
    /// (identity) settings. `max_block` is informational: [`Peq::process`] takes blocks of
    /// any length and needs no buffers.
    pub fn new(sample_rate: f64, channels: usize, max_block: usize) -> Self {
        let sample_rate = if sample_rate.is_finite() && sample_rate > 0.0 {
            sample_rate
        } else {
            48_000.0
        };
        let timing = Timing::new(sample_rate);
        Self {
            sample_rate,
            channels: channels.clamp(1, 2),
            max_block,
            timing,
            settings: PeqSettings::default(),
            bands: [BandState::new(); BANDS],
            preamp: LinearRamp::new(1.0, timing.ramp_samples),
            until_tick: 0,
            active: false,
        }
    }

    /// Sample rate (Hz).
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Channels given to [`Peq::new`] (1 or 2).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The `max_block` given to [`Peq::new`].
    pub fn max_block(&self) -> usize {
        self.max_block
    }

    /// The latest settings, sanitised for this sample rate ([`PeqSettings::sanitized`]).
    pub fn settings(&self) -> &PeqSettings {
        &self.settings
    }

    /// Take new settings (realtime: no allocation). Values are sanitised ([`Band::sanitized`]:
    /// NaN/∞ replaced, frequency 10 Hz … 0.49·fs, Q 0.1 … 40, gain and preamp ±30 dB);
    /// changes glide as described in the module docs. Unchanged settings cost a comparison.
    pub fn set(&mut self, settings: &PeqSettings) {
        let s = settings.sanitized(self.sample_rate);
        if s == self.settings {
            return;
        }
        self.settings = s;
        let preamp = if s.on {
            db_to_gain(s.preamp_db as f32)
        } else {
            1.0
        };
        self.preamp.set_target(preamp);
        for (state, band) in self.bands.iter_mut().zip(&s.bands) {
            state.retarget(band, s.on, s.design, &self.timing);
            if state.pending.is_none() {
                state.update_activity();
            }
        }
        self.refresh_active();
    }

    /// Clear the filter state and jump every glide and fade to its end (use after
    /// [`Peq::set`] to apply settings at once, e.g. on a preset load).
    pub fn reset(&mut self) {
        let timing = self.timing;
        for band in &mut self.bands {
            if let Some((kind, design)) = band.pending {
                band.switch_after_fade(kind, design, &timing);
            }
            band.clear_state();
            band.cur = band.goal;
            band.ticks_left = 0;
            band.mix.reset(band.mix.target());
            band.dirty = true;
            band.tick(self.sample_rate, &timing);
        }
        self.preamp.reset(self.preamp.target());
        self.until_tick = 0;
        self.refresh_active();
    }

    /// Whether [`Peq::process`] changes the signal: false once the EQ is off (or every
    /// band off or at 0 dB, and the preamp at 0 dB) and every fade has finished; process
    /// is then a no-op.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Latency in samples: 0 (minimum-phase IIR filters).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Process one or two channels in place (any length; extra channels beyond two are
    /// left untouched; with unequal lengths, the shortest is processed).
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        self.process_with::<f64x2>(channels);
    }

    /// [`Peq::process`] with scalar arithmetic: the reference for the SIMD path (bitwise
    /// identical results).
    pub fn process_scalar(&mut self, channels: &mut [&mut [f32]]) {
        self.process_with::<Pair>(channels);
    }

    fn refresh_active(&mut self) {
        let preamp_idle = self.preamp.is_settled() && self.preamp.value() == 1.0;
        self.active = !preamp_idle || self.bands.iter().any(|b| b.active);
    }

    fn process_with<V: TwoLanes>(&mut self, channels: &mut [&mut [f32]]) {
        let n_ch = channels.len().min(2);
        let Some(len) = channels[..n_ch].iter().map(|c| c.len()).min() else {
            return;
        };
        if !self.active {
            // Nothing runs, but keep the control ticks on the same samples as if it had,
            // so the output never depends on how the signal was split.
            self.until_tick = if len <= self.until_tick {
                self.until_tick - len
            } else {
                (CONTROL_INTERVAL - (len - self.until_tick) % CONTROL_INTERVAL) % CONTROL_INTERVAL
            };
            return;
        }
        let (first, rest) = channels.split_at_mut(1);
        let left = &mut *first[0];
        let mut right = if n_ch == 2 { Some(&mut *rest[0]) } else { None };
        let mut pos = 0;
        while pos < len {
            if self.until_tick == 0 {
                for band in &mut self.bands {
                    band.tick(self.sample_rate, &self.timing);
                }
                self.until_tick = CONTROL_INTERVAL;
            }
            let n = self.until_tick.min(len - pos);
            let l = &mut left[pos..pos + n];
            let r = right.as_mut().map(|r| &mut r[pos..pos + n]);
            self.run::<V>(l, r);
            pos += n;
            self.until_tick -= n;
        }
        for band in &mut self.bands {
            for v in band.s1.iter_mut().chain(band.s2.iter_mut()) {
                if v.abs() < DENORMAL_FLOOR {
                    *v = 0.0;
                }
            }
        }
        self.refresh_active();
    }

    /// One sub-block (no control tick inside).
    #[inline(always)]
    fn run<V: TwoLanes>(&mut self, left: &mut [f32], mut right: Option<&mut [f32]>) {
        let mut lanes: [Lane<V>; BANDS] = std::array::from_fn(|i| Lane::new(&self.bands[i]));
        let mut index = [0usize; BANDS];
        let mut count = 0;
        for (i, band) in self.bands.iter().enumerate() {
            if band.active {
                lanes[count] = lanes[i];
                index[count] = i;
                count += 1;
            }
        }
        let lanes = &mut lanes[..count];
        let mut preamp = self.preamp;
        let constant_preamp = preamp.is_settled();
        let g = V::splat(f64::from(preamp.value()));
        for n in 0..left.len() {
            let r_in = right.as_ref().map_or(0.0, |r| f64::from(r[n]));
            let mut x = V::from_array([f64::from(left[n]), r_in]);
            x = if constant_preamp {
                x * g
            } else {
                x * V::splat(f64::from(preamp.next_value()))
            };
            for lane in lanes.iter_mut() {
                let y = tdf2(&lane.coefs, &mut lane.state, x);
                x = if lane.mixing {
                    let m = V::splat(f64::from(lane.mix.next_value()));
                    x + m * (y - x)
                } else {
                    y
                };
            }
            let out = x.to_array();
            left[n] = out[0] as f32;
            if let Some(r) = right.as_mut() {
                r[n] = out[1] as f32;
            }
        }
        self.preamp = preamp;
        for (lane, &i) in lanes.iter().zip(&index) {
            let band = &mut self.bands[i];
            band.s1 = lane.state[0].to_array();
            band.s2 = lane.state[1].to_array();
            band.mix = lane.mix;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testutil::{sine, white_noise};
    use crate::analysis::{frequency_response, impulse_peak, log_frequencies, tone};
    use crate::peq::apo::{parse_apo, to_settings};

    const FS: f64 = 48_000.0;

    fn hd600() -> PeqSettings {
        let path = format!(
            "{}/tests/data/autoeq/Sennheiser HD 600 ParametricEQ.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        to_settings(&parse_apo(&text, "HD 600").unwrap()).unwrap()
    }

    /// Process `left`/`right` in blocks of `block` samples (SIMD or scalar).
    fn run(peq: &mut Peq, left: &mut [f32], right: &mut [f32], block: usize, scalar: bool) {
        for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
            let mut chans: [&mut [f32]; 2] = [l, r];
            if scalar {
                peq.process_scalar(&mut chans);
            } else {
                peq.process(&mut chans);
            }
        }
    }

    fn max_step(x: &[f32]) -> f64 {
        x.windows(2)
            .map(|w| (f64::from(w[1]) - f64::from(w[0])).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn measured_response_matches_the_settings() {
        // Settled (reset), an impulse through both channels; its DTFT against
        // `PeqSettings::response` at 1/24 octave, 20 Hz … 20 kHz. Tolerance 0.001 dB
        // (f32 output rounding is ~1e-6 dB; the 65536-sample response holds every tail).
        for design in [PeqDesign::ApoRbj, PeqDesign::AnalogMatched] {
            let settings = PeqSettings { design, ..hd600() };
            let mut peq = Peq::new(FS, 2, 512);
            peq.set(&settings);
            peq.reset();
            let len = 1 << 16;
            let mut l = vec![0.0f32; len];
            let mut r = vec![0.0f32; len];
            l[0] = 1.0;
            r[0] = -0.5;
            run(&mut peq, &mut l, &mut r, 512, false);
            let freqs = log_frequencies(20.0, 20_000.0, 24.0);
            let hl = frequency_response(&l, FS, &freqs);
            let hr = frequency_response(&r, FS, &freqs);
            let mut worst = 0.0f64;
            for (i, &f) in freqs.iter().enumerate() {
                let want = settings.response(f, FS);
                let db = |h: realfft::num_complex::Complex64| 20.0 * h.norm().log10();
                worst = worst
                    .max((db(hl[i]) - db(want)).abs())
                    .max((db(hr[i] * -2.0) - db(want)).abs());
            }
            println!("{design:?}: measured vs response() worst {worst:.2e} dB");
            assert!(worst < 1e-3);
            // Minimum phase: the impulse peak is at sample 0 = reported latency.
            assert_eq!(impulse_peak(&l), peq.latency_samples());
        }
    }

    /// Settings that exercise every path: all types, toggles, a design switch.
    fn scenario() -> Vec<(usize, PeqSettings)> {
        let mut s = hd600();
        let mut out = vec![(0, s)];
        s.bands[1].gain_db = 6.0;
        s.bands[3] = Band::new(FilterType::LowPass, 9000.0, 0.0, 0.9);
        out.push((3001, s));
        s.bands[3].on = false;
        s.bands[4].kind = FilterType::Notch;
        s.preamp_db = -2.0;
        out.push((7777, s));
        s.design = PeqDesign::AnalogMatched;
        s.bands[5] = Band::new(FilterType::AllPass, 300.0, 0.0, 0.5);
        s.bands[6] = Band::new(FilterType::BandPass, 3000.0, 0.0, 2.0);
        out.push((12_345, s));
        s.bands[0].freq_hz = 40.0;
        s.bands[7].kind = FilterType::HighShelf;
        s.bands[8] = Band::new(FilterType::HighPass, 80.0, 0.0, 0.7);
        s.on = false;
        out.push((20_000, s));
        s.on = true;
        out.push((25_000, s));
        out
    }

    /// Runs the scenario on noise; `blocks` gives the block sizes (cycled).
    fn run_scenario(blocks: &[usize], scalar: bool) -> (Vec<f32>, Vec<f32>) {
        let len = 32_000;
        let mut l: Vec<f32> = white_noise(len, 0.2, 1).iter().map(|&v| v as f32).collect();
        let mut r: Vec<f32> = white_noise(len, 0.2, 2).iter().map(|&v| v as f32).collect();
        let mut peq = Peq::new(FS, 2, 4096);
        let events = scenario();
        let mut pos = 0;
        let mut k = 0;
        while pos < len {
            for (at, s) in &events {
                if *at == pos {
                    peq.set(s);
                }
            }
            let next_event = events
                .iter()
                .map(|e| e.0)
                .filter(|&a| a > pos)
                .min()
                .unwrap_or(len);
            let n = blocks[k % blocks.len()]
                .min(next_event - pos)
                .min(len - pos);
            k += 1;
            run(
                &mut peq,
                &mut l[pos..pos + n],
                &mut r[pos..pos + n],
                n,
                scalar,
            );
            pos += n;
        }
        (l, r)
    }

    #[test]
    fn simd_equals_scalar_bit_for_bit() {
        let simd = run_scenario(&[256], false);
        let scalar = run_scenario(&[256], true);
        assert!(simd.0 == scalar.0 && simd.1 == scalar.1);
    }

    #[test]
    fn any_block_split_gives_the_same_bits() {
        let one = run_scenario(&[32_000], false);
        let split = run_scenario(&[1, 7, 16, 33, 500, 3, 1024], false);
        assert!(one.0 == split.0 && one.1 == split.1);
    }

    #[test]
    fn reset_is_reproducible_and_mono_matches_left() {
        let input: Vec<f32> = white_noise(8000, 0.3, 9)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut peq = Peq::new(FS, 2, 512);
        peq.set(&hd600());
        peq.reset();
        let (mut a, mut b) = (input.clone(), input.clone());
        run(&mut peq, &mut a, &mut b, 512, false);
        peq.reset();
        let (mut c, mut d) = (input.clone(), input.clone());
        run(&mut peq, &mut c, &mut d, 100, false);
        assert!(a == c && b == d && a == b);
        // One channel: the same as the left of two.
        let mut mono = Peq::new(FS, 1, 512);
        mono.set(&hd600());
        mono.reset();
        let mut m = input.clone();
        mono.process(&mut [&mut m[..]]);
        assert!(m == a);
    }

    #[test]
    fn identity_settings_are_an_exact_no_op() {
        let input: Vec<f32> = white_noise(4800, 0.3, 3)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut peq = Peq::new(FS, 2, 512);
        assert!(!peq.is_active());
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut peq, &mut l, &mut r, 480, false);
        assert!(l == input && r == input);
        // EQ on, then off: active during the 20 ms fade, then an exact bypass.
        peq.set(&hd600());
        assert!(peq.is_active());
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut peq, &mut l, &mut r, 480, false);
        let off = PeqSettings {
            on: false,
            ..hd600()
        };
        peq.set(&off);
        let fade = (RAMP_SECONDS * FS) as usize;
        let mut l = input.clone();
        let mut r = input.clone();
        run(
            &mut peq,
            &mut l[..fade + 2 * CONTROL_INTERVAL],
            &mut r[..fade + 2 * CONTROL_INTERVAL],
            64,
            false,
        );
        // Leftover states decay below 1e-8 within the slowest band's time constant.
        let mut waited = 0;
        while peq.is_active() && waited < 10 * 48_000 {
            let mut z = [0.0f32; 480];
            let mut y = [0.0f32; 480];
            peq.process(&mut [&mut z[..], &mut y[..]]);
            waited += 480;
        }
        println!("EQ off: idle {} ms after the fade", waited / 48);
        assert!(!peq.is_active());
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut peq, &mut l, &mut r, 480, false);
        assert!(l == input && r == input);
        // Every band off and 0 dB preamp: also idle.
        let mut s = hd600();
        s.preamp_db = 0.0;
        for b in &mut s.bands {
            b.on = false;
        }
        let mut peq = Peq::new(FS, 2, 512);
        peq.set(&hd600());
        peq.reset();
        peq.set(&s);
        peq.reset();
        assert!(!peq.is_active());
        assert_eq!(peq.latency_samples(), 0);
    }

    #[test]
    fn non_finite_settings_are_sanitised() {
        let mut s = PeqSettings {
            preamp_db: f64::NAN,
            ..PeqSettings::default()
        };
        s.bands[0] = Band::new(FilterType::Peak, f64::NAN, f64::INFINITY, f64::NAN);
        s.bands[1] = Band::new(FilterType::LowShelfQ, f64::INFINITY, f64::NEG_INFINITY, 0.0);
        s.bands[2] = Band::new(FilterType::HighPass, -1.0, 0.0, f64::INFINITY);
        s.bands[3] = Band::new(FilterType::Notch, 1e12, 0.0, -5.0);
        let mut peq = Peq::new(FS, 2, 512);
        peq.set(&s);
        let got = peq.settings();
        assert_eq!(got.preamp_db, 0.0);
        assert_eq!(
            (got.bands[0].freq_hz, got.bands[0].gain_db, got.bands[0].q),
            (1000.0, 30.0, 0.707)
        );
        assert_eq!(
            (got.bands[1].freq_hz, got.bands[1].gain_db, got.bands[1].q),
            (0.49 * FS, -30.0, 0.1)
        );
        assert_eq!((got.bands[2].freq_hz, got.bands[2].q), (10.0, 40.0));
        assert_eq!((got.bands[3].freq_hz, got.bands[3].q), (0.49 * FS, 0.1));
        let mut l: Vec<f32> = sine(9600, FS, 997.0, 0.1, 0.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut r = l.clone();
        run(&mut peq, &mut l, &mut r, 256, false);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()));
    }

    /// A 1 kHz sine at −6 dBFS through PK 1 kHz Q 1 whose gain steps at `step_at`.
    fn gain_step(from_db: f64, to_db: f64, smooth: bool) -> Vec<f32> {
        let amplitude = 10f64.powf(-6.0 / 20.0);
        let x = sine(24_000, FS, 1000.0, amplitude, 0.3);
        let step_at = 4800;
        let band = |g: f64| Band::new(FilterType::Peak, 1000.0, g, 1.0);
        if smooth {
            let mut s = PeqSettings::default();
            s.bands[0] = band(from_db);
            let mut peq = Peq::new(FS, 1, 512);
            peq.set(&s);
            peq.reset();
            let mut y: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            peq.process(&mut [&mut y[..step_at]]);
            s.bands[0] = band(to_db);
            peq.set(&s);
            peq.process(&mut [&mut y[step_at..]]);
            y
        } else {
            // The same filter with its coefficients switched at once (plain TDF-II).
            let before = design::rbj(&band(from_db), FS);
            let after = design::rbj(&band(to_db), FS);
            let (mut s1, mut s2) = (0.0, 0.0);
            x.iter()
                .enumerate()
                .map(|(n, &v)| {
                    let c = if n < step_at { &before } else { &after };
                    let y = c.b0 * v + s1;
                    s1 = c.b1 * v - c.a1 * y + s2;
                    s2 = c.b2 * v - c.a2 * y;
                    y as f32
                })
                .collect()
        }
    }

    /// Largest |second difference| relative to what a sine of the *local* amplitude can
    /// have, `4·A·sin²(π·f/fs)` (A = the largest |y| within one period either side). A
    /// steady or slowly swelling sine reads ≤ 1 (plus the envelope's own curvature); a
    /// jump in value or slope stands far above. The local amplitude is floored at 1 % of
    /// the window's largest (−40 dB), so a faded-out tail does not divide by ~0.
    fn click_ratio(y: &[f32], f: f64) -> f64 {
        let period = (FS / f).ceil() as usize;
        let bound = 4.0 * (std::f64::consts::PI * f / FS).sin().powi(2);
        let floor = 0.01 * y.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
        (period + 1..y.len() - period - 1)
            .map(|n| {
                let local = y[n - period..=n + period]
                    .iter()
                    .fold(floor, |m, &v| m.max(f64::from(v).abs()));
                let d2 = f64::from(y[n + 1]) - 2.0 * f64::from(y[n]) + f64::from(y[n - 1]);
                d2.abs() / (bound * local)
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn gain_automation_is_click_free() {
        // The brief's measure: the largest sample-to-sample change of the output over the
        // change and the 80 ms after it, against the sine's own largest step at the new
        // level, 2·A·sin(π·f/fs); margin 0.5 %. It cannot tell much (the settled sine at
        // the louder level dominates it), so also the local click ratio (`click_ratio`):
        // limit 1.05 — a glide of 24 dB in 20 ms alone curves the envelope by up to
        // 2k/ω ≈ 4.4 % (k = ln 16 / 960 per sample, ω = 2π·1000/48000).
        let amplitude = 10f64.powf(-6.0 / 20.0);
        let w = std::f64::consts::PI * 1000.0 / FS;
        for (from, to) in [(0.0f64, 12.0f64), (12.0, 0.0), (-12.0, 12.0)] {
            let level = amplitude * 10f64.powf(to / 20.0);
            let step_limit = 2.0 * level * w.sin();
            let smooth = gain_step(from, to, true);
            let instant = gain_step(from, to, false);
            let window = 4700..9000;
            let (s1, i1) = (
                max_step(&smooth[window.clone()]),
                max_step(&instant[window.clone()]),
            );
            let (s2, i2) = (
                click_ratio(&smooth[window.clone()], 1000.0),
                click_ratio(&instant[window], 1000.0),
            );
            println!(
                "PK 1 kHz Q 1, {from:+} → {to:+} dB: largest step {s1:.5} smoothed / {i1:.5} \
                 switched at once, sine's own at {to:+} dB {step_limit:.5} ({:+.2} % / {:+.2} %); \
                 click ratio {s2:.3} / {i2:.3}",
                100.0 * (s1 / step_limit - 1.0),
                100.0 * (i1 / step_limit - 1.0),
            );
            if to > from {
                assert!(
                    s1 <= step_limit * 1.005,
                    "{from} → {to}: {s1} > {step_limit}"
                );
            }
            assert!(s2 <= 1.05, "{from} → {to}: click ratio {s2}");
        }
        // After the glide the level is the new one (tone fit over the last 100 ms).
        let y = gain_step(0.0, 12.0, true);
        let level = tone(&y[24_000 - 4800..], FS, 1000.0).level_db;
        println!("settled level {level:.4} dBFS (want {:.4})", -6.0 + 12.0);
        assert!((level - 6.0).abs() < 0.01);
    }

    #[test]
    fn frequency_q_toggle_and_type_changes_stay_smooth() {
        // A 1 kHz sine at −6 dBFS; each change must not make the output move faster than
        // the sine itself does at the louder of the two settled levels (+1 % margin), and
        // the click ratio stays ≤ 1.1 (the glide's own envelope and phase motion reach a few
        // %; a coefficient switch at once reads 1.1–1.6 in `gain_automation_is_click_free`).
        let amplitude = 10f64.powf(-6.0 / 20.0);
        let x = sine(19_200, FS, 1000.0, amplitude, 0.0);
        let w_step = 2.0 * (std::f64::consts::PI * 1000.0 / FS).sin();
        let pk = Band::new(FilterType::Peak, 1000.0, 9.0, 1.0);
        let cases: [(&str, Band, Band); 6] = [
            (
                "PK 1 kHz → 3 kHz",
                pk,
                Band {
                    freq_hz: 3000.0,
                    ..pk
                },
            ),
            ("PK Q 1 → 8", pk, Band { q: 8.0, ..pk }),
            ("PK on → off", pk, Band { on: false, ..pk }),
            (
                "LP 500 Hz off → on",
                Band {
                    on: false,
                    ..Band::new(FilterType::LowPass, 500.0, 0.0, 0.7)
                },
                Band::new(FilterType::LowPass, 500.0, 0.0, 0.7),
            ),
            (
                "PK → HP 2 kHz",
                pk,
                Band::new(FilterType::HighPass, 2000.0, 9.0, 1.0),
            ),
            (
                "PK → notch 1 kHz",
                pk,
                Band::new(FilterType::Notch, 1000.0, 9.0, 1.0),
            ),
        ];
        for (name, a, b) in cases {
            let mut s = PeqSettings::default();
            s.bands[2] = a;
            let mut peq = Peq::new(FS, 1, 512);
            peq.set(&s);
            peq.reset();
            let mut y: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            peq.process(&mut [&mut y[..9600]]);
            let level_a = tone(&y[4800..9600], FS, 1000.0).amplitude;
            s.bands[2] = b;
            peq.set(&s);
            peq.process(&mut [&mut y[9600..]]);
            let level_b = tone(&y[19_200 - 4800..], FS, 1000.0).amplitude;
            let limit = w_step * level_a.max(level_b);
            let got = max_step(&y[9000..]);
            let ratio = click_ratio(&y[9000..14_000], 1000.0);
            println!(
                "{name}: largest step {got:.5}, limit {limit:.5} ({:+.2} %), click ratio {ratio:.3}",
                100.0 * (got / limit - 1.0)
            );
            assert!(got <= 1.01 * limit, "{name}");
            assert!(ratio <= 1.1, "{name}: click ratio {ratio}");
        }
    }

    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn cost_of_ten_bands_stereo() {
        let mut s = hd600();
        let len = 48_000 * 4;
        let mut l: Vec<f32> = white_noise(len, 0.2, 4).iter().map(|&v| v as f32).collect();
        let mut r = l.clone();
        for design in [PeqDesign::ApoRbj, PeqDesign::AnalogMatched] {
            s.design = design;
            let mut peq = Peq::new(FS, 2, 512);
            peq.set(&s);
            peq.reset();
            for scalar in [false, true] {
                let start = std::time::Instant::now();
                run(&mut peq, &mut l, &mut r, 512, scalar);
                let ns = start.elapsed().as_nanos() as f64 / len as f64;
                println!(
                    "{design:?} {}: {ns:.1} ns per stereo sample, 10 bands static ({:.0}× realtime at 48 kHz)",
                    if scalar { "scalar" } else { "SIMD" },
                    1e9 / (ns * FS)
                );
            }
            // Every band gliding all the time (coefficients recomputed every 16 samples).
            let start = std::time::Instant::now();
            for (i, (lc, rc)) in l.chunks_mut(512).zip(r.chunks_mut(512)).enumerate() {
                for b in &mut s.bands {
                    b.freq_hz *= if i % 2 == 0 { 1.01 } else { 1.0 / 1.01 };
                }
                peq.set(&s);
                peq.process(&mut [lc, rc]);
            }
            let ns = start.elapsed().as_nanos() as f64 / len as f64;
            println!("{design:?} SIMD: {ns:.1} ns per stereo sample, 10 bands gliding");
        }
    }
}
