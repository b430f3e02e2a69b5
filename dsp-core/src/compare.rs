//! Level-matched A/B between the main engine (A) and a reference voicing (B).
//!
//! ```text
//!            ┌── main Engine (A) ──── delay A ──┐
//! input ─────┤                                  ├── crossfade A↔B ── mute ── output
//!            └── reference Engine (B) ─ delay B ─ × B gain ┘
//! ```
//!
//! The reference runs the main settings with another device. While the comparison is
//! active, the shorter of the two paths is delayed so A and B are time-aligned, and B is
//! gained so that its 1 kHz level equals A's ([`Comparator::reference_gain_db`]). Switching
//! between A and B is a 10 ms linear crossfade. Changing the alignment delays (activating,
//! deactivating, or either engine's latency changing when a rebuilt stage is swapped in)
//! is done under a 5 ms fade-out/fade-in, as the engine does for its own stage swaps.
//!
//! While inactive (and the fades settled), the output is the main engine's, bit for bit.

use crate::util::{db_to_gain, LinearRamp};
use crate::{Engine, Settings, MAX_CHANNELS};

/// Length of the A/B crossfade and of the B gain ramp.
const XFADE_SECONDS: f32 = 0.010;
/// Length of each half of the fade around a change of the alignment delays.
const MUTE_FADE_SECONDS: f32 = 0.005;
/// Longest alignment delay, in samples.
pub const MAX_ALIGN_DELAY: usize = 16_384;

/// A multichannel delay line: one ring per channel, `max_delay + max_block` long.
#[derive(Debug, Default)]
struct DelayLine {
    rings: Vec<Vec<f32>>,
    delay: usize,
    max_delay: usize,
    write: usize,
}

impl DelayLine {
    fn prepare(&mut self, channels: usize, max_block: usize, max_delay: usize) {
        self.max_delay = max_delay;
        self.delay = self.delay.min(max_delay);
        self.rings = vec![vec![0.0; max_delay + max_block]; channels];
        self.write = 0;
    }

    fn set_delay(&mut self, delay: usize) {
        self.delay = delay.min(self.max_delay);
    }

    fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
        self.write = 0;
    }

    /// Store one channel's block at the write position.
    fn push(&mut self, ch: usize, block: &[f32]) {
        let ring = &mut self.rings[ch];
        let n = ring.len();
        for (i, &x) in block.iter().enumerate() {
            ring[(self.write + i) % n] = x;
        }
    }

    /// The sample for frame `i` of the current block, `delay` frames ago.
    #[inline]
    fn get(&self, ch: usize, i: usize) -> f32 {
        let ring = &self.rings[ch];
        let n = ring.len();
        ring[(self.write + i + n - self.delay) % n]
    }

    fn advance(&mut self, len: usize) {
        if let Some(n) = self.rings.first().map(Vec::len) {
            self.write = (self.write + len) % n;
        }
    }
}

/// Level-matched A/B between the main engine and a reference voicing (see the module docs).
pub struct Comparator {
    /// The reference engine (B).
    reference: Engine,
    /// The settings the reference runs (the main settings with another device).
    reference_settings: Settings,
    /// The last main settings and reference device given to `set_settings`.
    last: Option<(Settings, usize)>,
    /// The main engine's 1 kHz output level (dB re input, trim excluded) seen at the
    /// last block; see [`output_level_db`].
    main_level_db: f32,
    channels: usize,
    max_block: usize,
    /// Input copy for the reference, one `max_block` buffer per channel.
    scratch: Vec<Vec<f32>>,
    delay_a: DelayLine,
    delay_b: DelayLine,
    /// 0 = A, 1 = B.
    xfade: LinearRamp,
    /// Linear gain on B.
    reference_gain: LinearRamp,
    /// Output fade around changes of the alignment delays.
    mute: LinearRamp,
    /// The reference is processing (applied state; changes only at silence).
    running: bool,
    /// The alignment delays in use (A, B).
    delays: (usize, usize),
    /// Samples until the just-started reference is past its onset transient and B may be
    /// heard (A plays until then).
    priming: usize,
    /// Length of the crossfade, samples.
    xfade_len: usize,
}

impl Comparator {
    /// `reference` = the settings the reference engine starts with.
    pub fn new(reference: &Settings) -> Self {
        Self {
            reference: Engine::new(reference),
            reference_settings: *reference,
            last: None,
            main_level_db: 0.0,
            channels: 0,
            max_block: 0,
            scratch: Vec::new(),
            delay_a: DelayLine::default(),
            delay_b: DelayLine::default(),
            xfade: LinearRamp::new(0.0, 1),
            reference_gain: LinearRamp::new(1.0, 1),
            mute: LinearRamp::new(1.0, 1),
            running: false,
            delays: (0, 0),
            priming: 0,
            xfade_len: 1,
        }
    }

    /// Allocates; never from the audio thread. Same arguments as [`Engine::prepare`].
    pub fn prepare(&mut self, sample_rate: f32, max_block: usize, channels: usize) {
        self.reference.prepare(sample_rate, max_block, channels);
        self.max_block = max_block.max(1);
        self.channels = channels.clamp(1, MAX_CHANNELS);
        self.scratch = vec![vec![0.0; self.max_block]; self.channels];
        self.delay_a
            .prepare(self.channels, self.max_block, MAX_ALIGN_DELAY);
        self.delay_b
            .prepare(self.channels, self.max_block, MAX_ALIGN_DELAY);
        let xfade_len = (XFADE_SECONDS * sample_rate).round() as u32;
        self.xfade_len = xfade_len as usize;
        self.xfade = LinearRamp::new(self.xfade.target(), xfade_len);
        self.reference_gain = LinearRamp::new(self.reference_gain.target(), xfade_len);
        let mute_len = (MUTE_FADE_SECONDS * sample_rate).round() as u32;
        self.mute = LinearRamp::new(1.0, mute_len);
        self.reset();
    }

    /// Clear all state (the reference engine, delay lines); ramps jump to their targets.
    /// Does not allocate.
    pub fn reset(&mut self) {
        self.reference.reset();
        for buf in &mut self.scratch {
            buf.fill(0.0);
        }
        self.delay_a.reset();
        self.delay_b.reset();
        self.priming = 0;
        self.xfade.reset(self.xfade.target());
        self.reference_gain
            .reset(db_to_gain(self.reference_gain_db()));
        self.mute.reset(self.mute.target());
    }

    /// The reference runs the main settings with `device` replaced by `reference_device`.
    /// Never allocates; cheap when unchanged.
    pub fn set_settings(&mut self, main: &Settings, reference_device: usize) {
        if self.last == Some((*main, reference_device)) {
            return;
        }
        self.last = Some((*main, reference_device));
        self.reference_settings = Settings {
            device: reference_device,
            ..*main
        };
        if self.running {
            self.reference.set_settings(&self.reference_settings);
        }
    }

    /// [`Comparator::set_settings`], building the reference's stage on this thread
    /// (allocates; for offline rendering and tests). Call after [`Comparator::prepare`].
    pub fn apply_now(&mut self, main: &Settings, reference_device: usize) {
        self.set_settings(main, reference_device);
        self.reference.apply_now(&self.reference_settings);
    }

    /// Process in place: always runs `main`; runs the reference only while `active` (or
    /// while fading out of it). `play_reference` selects B (10 ms linear crossfade between
    /// A and B). Any block length. Never allocates.
    ///
    /// Activating or deactivating fades the output out (5 ms), changes the alignment delays
    /// and fades back in (5 ms). A reference just started plays A until it is past its
    /// onset transient (twice its latency + 10 ms), then crossfades to B if selected.
    pub fn process(
        &mut self,
        main: &mut Engine,
        channels: &mut [&mut [f32]],
        active: bool,
        play_reference: bool,
    ) {
        let all = channels.len().min(MAX_CHANNELS);
        if self.max_block == 0 || all == 0 {
            main.process(channels);
            return;
        }
        let frames = channels[..all].iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < frames {
            let len = (frames - start).min(self.max_block);
            let mut block: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (slot, channel) in block.iter_mut().zip(channels[..all].iter_mut()) {
                *slot = &mut channel[start..start + len];
            }
            self.process_block(main, &mut block[..all], active, play_reference);
            start += len;
        }
    }

    /// The alignment delays (A, B) for the current latencies while running.
    fn wanted_delays(&self, main: &Engine) -> (usize, usize) {
        let (a, b) = (main.latency_samples(), self.reference.latency_samples());
        let both = a.max(b);
        (
            (both - a).min(MAX_ALIGN_DELAY),
            (both - b).min(MAX_ALIGN_DELAY),
        )
    }

    /// Start, stop or realign under the mute fade (start of each block).
    fn update_state(&mut self, main: &Engine, active: bool, play_reference: bool) {
        let change = active != self.running || (active && self.wanted_delays(main) != self.delays);
        if !change {
            self.mute.set_target(1.0);
        } else if !(self.mute.is_settled() && self.mute.value() == 0.0) {
            self.mute.set_target(0.0);
        } else {
            // Silent now: start or stop the reference, change the delays, fade back in.
            let starting = active && !self.running;
            if starting {
                self.reference.reset();
                self.reference.set_settings(&self.reference_settings);
                self.delay_b.reset();
                self.reference_gain
                    .reset(db_to_gain(self.reference_gain_db()));
                // The reference starts from rest in the middle of the signal: its output is
                // an onset transient until its filters are full (about twice its latency for
                // the linear-phase ones), so B is heard only after that.
                self.priming = 2 * self.reference.latency_samples() + self.xfade_len;
            }
            self.running = active;
            self.delays = if active {
                self.wanted_delays(main)
            } else {
                (0, 0)
            };
            self.delay_a.set_delay(self.delays.0);
            self.delay_b.set_delay(self.delays.1);
            let b = active && play_reference && !starting && self.priming == 0;
            self.xfade.reset(if b { 1.0 } else { 0.0 });
            self.mute.set_target(1.0);
        }
        if self.running {
            let b = play_reference && self.priming == 0;
            self.xfade.set_target(if b { 1.0 } else { 0.0 });
            self.reference_gain
                .set_target(db_to_gain(self.reference_gain_db()));
        }
    }

    fn process_block(
        &mut self,
        main: &mut Engine,
        block: &mut [&mut [f32]],
        active: bool,
        play_reference: bool,
    ) {
        let len = block.first().map_or(0, |b| b.len());
        let n_ch = block.len().min(self.channels);
        self.main_level_db = output_level_db(main);
        self.update_state(main, active, play_reference);
        if self.running {
            for (buf, input) in self.scratch.iter_mut().zip(block[..n_ch].iter()) {
                buf[..len].copy_from_slice(input);
            }
        }
        main.process(block);
        for (ch, samples) in block[..n_ch].iter().enumerate() {
            self.delay_a.push(ch, samples);
        }
        if self.running {
            let mut refs: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (slot, buf) in refs.iter_mut().zip(self.scratch.iter_mut()) {
                *slot = &mut buf[..len];
            }
            self.reference.process(&mut refs[..n_ch]);
            for (ch, samples) in refs[..n_ch].iter().enumerate() {
                self.delay_b.push(ch, samples);
            }
        }
        self.mix(&mut block[..n_ch], len);
        self.delay_a.advance(len);
        if self.running {
            self.delay_b.advance(len);
            self.priming = self.priming.saturating_sub(len);
        }
    }

    /// Write the output: A and B (delayed) crossfaded, B gained, under the mute fade.
    fn mix(&mut self, block: &mut [&mut [f32]], len: usize) {
        let settled =
            self.mute.is_settled() && self.xfade.is_settled() && self.reference_gain.is_settled();
        if !self.running && settled && self.mute.value() == 1.0 && self.delays.0 == 0 {
            return; // the main engine's output as it is
        }
        let (a, b) = (&self.delay_a, &self.delay_b);
        if settled {
            let mute = self.mute.value();
            let x = if self.running {
                self.xfade.value()
            } else {
                0.0
            };
            let gain = self.reference_gain.value();
            for (ch, buf) in block.iter_mut().enumerate() {
                for (i, y) in buf.iter_mut().enumerate() {
                    *y = if x == 0.0 {
                        mute * a.get(ch, i)
                    } else if x == 1.0 {
                        mute * gain * b.get(ch, i)
                    } else {
                        let va = a.get(ch, i);
                        mute * (va + x * (gain * b.get(ch, i) - va))
                    };
                }
            }
            return;
        }
        // Ramping: advance the ramps once per frame, shared by all channels.
        for i in 0..len {
            let mute = self.mute.next_value();
            let x = self.xfade.next_value();
            let gain = self.reference_gain.next_value();
            for (ch, buf) in block.iter_mut().enumerate() {
                let va = a.get(ch, i);
                let vb = if self.running {
                    gain * b.get(ch, i)
                } else {
                    0.0
                };
                buf[i] = mute * (va + x * (vb - va));
            }
        }
    }

    /// The output's latency: main's when inactive; max(main, reference) while active (the
    /// shorter path is delayed so A and B are time-aligned).
    pub fn latency_samples(&self, main: &Engine) -> usize {
        if self.running {
            main.latency_samples() + self.delays.0
        } else {
            main.latency_samples()
        }
    }

    /// The gain (dB) applied to B so that its 1 kHz level equals A's (the main engine's
    /// as seen at the last processed block; see [`output_level_db`]).
    ///
    /// With level matching on, 0: both are matched already (unless the volume is below
    /// the amp's match floor, [`crate::amp::LEVEL_MATCH_FLOOR_DB`], where the amps' volume
    /// laws differ). With it off, `reference.level_match_db() − main.level_match_db()` plus
    /// the difference of the amps' absolute gains (gain step × volume, which
    /// `level_match_db` leaves out).
    pub fn reference_gain_db(&self) -> f32 {
        let db = self.main_level_db - output_level_db(&self.reference);
        // Level-matched amps have a linear gain of exactly 1 up to rounding.
        if db.abs() < 1e-4 {
            0.0
        } else {
            db
        }
    }

    /// Whether the reference is running now.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Whether the reference engine is still building or swapping in a stage.
    pub fn rebuild_pending(&self) -> bool {
        self.reference.rebuild_pending()
    }

    /// The reference engine (B).
    pub fn reference(&self) -> &Engine {
        &self.reference
    }

    /// The settings the reference runs.
    pub fn reference_settings(&self) -> &Settings {
        &self.reference_settings
    }
}

/// The 1 kHz level (dB re the input, trim excluded) of `engine`'s output: the amp's linear
/// gain (gain step × volume; 1 when level-matched) times the linear part's gain, which
/// level matching compensates (`−level_match_db`).
pub fn output_level_db(engine: &Engine) -> f32 {
    let amp_db = engine
        .dac()
        .and_then(|dac| dac.amp())
        .map_or(0.0, |amp| (20.0 * amp.linear_gain().log10()) as f32);
    if engine.settings().level_match {
        amp_db
    } else {
        amp_db - engine.level_match_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{impulse_peak, tone};

    const RATE: f32 = 48_000.0;
    const K13: usize = 0;
    const IDEAL: usize = 1;

    fn sine(n: usize, amplitude: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let phase = std::f64::consts::TAU * 1000.0 * i as f64 / f64::from(RATE);
                amplitude * phase.sin() as f32
            })
            .collect()
    }

    /// A K13 main engine and a comparator with an Ideal reference, both built at once.
    fn setup(level_match: bool, block: usize) -> (Engine, Comparator) {
        let main_settings = Settings {
            device: K13,
            level_match,
            ..Settings::default()
        };
        let mut main = Engine::new(&main_settings);
        main.prepare(RATE, block, 2);
        let mut comp = Comparator::new(&Settings {
            device: IDEAL,
            ..main_settings
        });
        comp.prepare(RATE, block, 2);
        comp.apply_now(&main_settings, IDEAL);
        (main, comp)
    }

    fn run(
        main: &mut Engine,
        comp: &mut Comparator,
        left: &mut [f32],
        right: &mut [f32],
        active: bool,
        play_reference: bool,
    ) {
        comp.process(main, &mut [left, right], active, play_reference);
    }

    /// Activate and let the fades settle (30 ms of silence).
    fn activate(main: &mut Engine, comp: &mut Comparator) {
        let mut l = vec![0.0f32; (0.03 * RATE) as usize];
        let mut r = l.clone();
        run(main, comp, &mut l, &mut r, true, false);
        assert!(comp.is_running());
    }

    /// A 1 kHz −20 dBFS sine reads the same level in A and in B (Ideal gained to the
    /// K13's level when level matching is off; both matched when it is on).
    #[test]
    fn a_and_b_are_level_matched() {
        for level_match in [false, true] {
            let (mut main, mut comp) = setup(level_match, 512);
            let amplitude = 0.1; // −20 dBFS
            let half = (0.6 * RATE) as usize;
            let x = sine(2 * half, amplitude);
            let (mut l, mut r) = (x.clone(), x.clone());
            run(
                &mut main,
                &mut comp,
                &mut l[..half],
                &mut r[..half],
                true,
                false,
            );
            let (lb, rb) = (&mut l[half..], &mut r[half..]);
            run(&mut main, &mut comp, lb, rb, true, true);
            // Read 0.4 s of each, after 0.2 s of settling (activation, crossfade, the
            // K13's analog high-pass).
            let skip = (0.2 * RATE) as usize;
            let read = |s: &[f32]| tone(&s[skip..half], f64::from(RATE), 1000.0).level_db;
            let (a, b) = (read(&l[..half]), read(&l[half..]));
            let (a_r, b_r) = (read(&r[..half]), read(&r[half..]));
            println!(
                "level match {level_match}: A {a:.4} dB, B {b:.4} dB (B − A {:+.4} dB; right \
                 {:+.4} dB); B gain {:+.3} dB",
                b - a,
                b_r - a_r,
                comp.reference_gain_db()
            );
            assert!((b - a).abs() < 0.05);
            assert!((b_r - a_r).abs() < 0.05);
            if level_match {
                assert_eq!(comp.reference_gain_db(), 0.0);
            } else {
                assert!(
                    comp.reference_gain_db().abs() > 0.1,
                    "the K13 is not at 0 dB"
                );
            }
        }
    }

    /// An impulse through A and through B peaks at the same index, the reported latency.
    #[test]
    fn a_and_b_are_time_aligned_at_the_reported_latency() {
        let (mut main, mut comp) = setup(true, 256);
        let inactive = comp.latency_samples(&main);
        assert_eq!(inactive, main.latency_samples());
        activate(&mut main, &mut comp);
        let latency = comp.latency_samples(&main);
        assert_eq!(
            latency,
            main.latency_samples()
                .max(comp.reference().latency_samples())
        );
        let mut peaks = Vec::new();
        for play_reference in [false, true] {
            // Settle the crossfade on silence, then clear the state and send an impulse.
            let mut l = vec![0.0f32; 2048];
            let mut r = l.clone();
            run(&mut main, &mut comp, &mut l, &mut r, true, play_reference);
            main.reset();
            comp.reset();
            let mut l = vec![0.0f32; 8192];
            l[0] = 0.5;
            let mut r = l.clone();
            run(&mut main, &mut comp, &mut l, &mut r, true, play_reference);
            peaks.push((impulse_peak(&l), impulse_peak(&r)));
        }
        println!(
            "latency: main {}, reference {}, active {latency}; peaks A {:?}, B {:?}",
            main.latency_samples(),
            comp.reference().latency_samples(),
            peaks[0],
            peaks[1]
        );
        assert_ne!(main.latency_samples(), comp.reference().latency_samples());
        assert_eq!(peaks[0], (latency, latency));
        assert_eq!(peaks[1], (latency, latency));
    }

    /// While inactive, the output is the main engine's, bit for bit — also after an
    /// activation and deactivation, once the fades are over.
    #[test]
    fn inactive_output_is_the_main_engine_bit_for_bit() {
        let (mut via, mut comp) = setup(true, 128);
        let mut alone = Engine::new(via.settings());
        alone.prepare(RATE, 128, 2);
        let x = sine(48_000, 0.3);
        let sizes = [1usize, 64, 300, 7, 128, 129];
        let (mut a_l, mut a_r) = (x.clone(), x.clone());
        let (mut b_l, mut b_r) = (x.clone(), x.clone());
        let (mut pos, mut k) = (0, 0);
        let (on, off) = (10_000, 14_000);
        while pos < x.len() {
            let n = sizes[k % sizes.len()].min(x.len() - pos);
            let range = pos..pos + n;
            alone.process(&mut [&mut a_l[range.clone()], &mut a_r[range.clone()]]);
            let active = (on..off).contains(&pos);
            comp.process(
                &mut via,
                &mut [&mut b_l[range.clone()], &mut b_r[range.clone()]],
                active,
                active,
            );
            pos += n;
            k += 1;
        }
        assert!(!comp.is_running());
        assert_eq!(&a_l[..on], &b_l[..on]);
        assert_eq!(&a_r[..on], &b_r[..on]);
        assert_ne!(&a_l[on..off], &b_l[on..off], "the comparison did run");
        // 10 ms: the fade out of B and back in to A, plus the block in progress.
        let back = off + (0.011 * RATE) as usize + 300;
        assert_eq!(&a_l[back..], &b_l[back..]);
        assert_eq!(&a_r[back..], &b_r[back..]);
    }

    /// Switching A → B mid-sine steps no more than the sine itself.
    #[test]
    fn a_to_b_crossfade_has_no_step() {
        for level_match in [false, true] {
            let (mut main, mut comp) = setup(level_match, 64);
            activate(&mut main, &mut comp);
            let n = (0.4 * RATE) as usize;
            let x = sine(n, 0.5);
            let (mut l, mut r) = (x.clone(), x.clone());
            let switch = n / 2 + 17;
            run(
                &mut main,
                &mut comp,
                &mut l[..switch],
                &mut r[..switch],
                true,
                false,
            );
            let (lb, rb) = (&mut l[switch..], &mut r[switch..]);
            run(&mut main, &mut comp, lb, rb, true, true);
            let max_step = |s: &[f32]| {
                s.windows(2)
                    .map(|w| (w[1] - w[0]).abs())
                    .fold(0.0f32, f32::max)
            };
            let own = max_step(&l[n / 4..switch]);
            let across = max_step(&l[switch - 100..switch + 1000]);
            println!(
                "level match {level_match}: sine's own max step {own:.5}, across the \
                 switch {across:.5} ({:.4}×)",
                across / own
            );
            assert!(across <= own * 1.05);
        }
    }

    /// Activating and deactivating (which change the alignment delays, under the 5 ms
    /// fade) mid-sine step no more than the sine itself, while playing B.
    #[test]
    fn activation_and_deactivation_have_no_step() {
        let (mut main, mut comp) = setup(true, 64);
        let n = (0.6 * RATE) as usize;
        let x = sine(n, 0.5);
        let (mut l, mut r) = (x.clone(), x.clone());
        let (on, off) = (n / 3 + 5, 2 * n / 3 + 11);
        run(
            &mut main,
            &mut comp,
            &mut l[..on],
            &mut r[..on],
            false,
            true,
        );
        run(
            &mut main,
            &mut comp,
            &mut l[on..off],
            &mut r[on..off],
            true,
            true,
        );
        assert!(comp.is_running());
        run(
            &mut main,
            &mut comp,
            &mut l[off..],
            &mut r[off..],
            false,
            true,
        );
        assert!(!comp.is_running());
        let max_step = |s: &[f32]| {
            s.windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0f32, f32::max)
        };
        let own = max_step(&l[n / 6..on]);
        let around_on = max_step(&l[on - 10..on + 2000]);
        let around_off = max_step(&l[off - 10..off + 2000]);
        println!(
            "sine's own max step {own:.5}; activation {around_on:.5}, deactivation \
             {around_off:.5}"
        );
        assert!(around_on <= own * 1.05);
        assert!(around_off <= own * 1.05);
    }
}
