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

use crate::clocks::MAX_CHANNELS;
use crate::load::CustomLoad;
use crate::presets::DeviceSlot;
use crate::util::{db_to_gain, LinearRamp, MultiDelay};
use crate::{Engine, Settings};

/// Length of the A/B crossfade and of the B gain ramp.
const XFADE_SECONDS: f32 = 0.010;
/// Length of each half of the fade around a change of the alignment delays.
const MUTE_FADE_SECONDS: f32 = 0.005;
/// Longest alignment delay, in samples.
pub const MAX_ALIGN_DELAY: usize = 16_384;

/// Level-matched A/B between the main engine and a reference voicing (see the module docs).
pub struct Comparator {
    /// The reference engine (B).
    reference: Engine,
    /// The settings the reference runs (the main settings with another device).
    reference_settings: Settings,
    /// The last main settings and reference device given to `set_settings`.
    last: Option<(Settings, DeviceSlot)>,
    /// The main engine's 1 kHz output level (dB re input, trim excluded) seen at the
    /// last block; see [`output_level_db`].
    main_level_db: f32,
    channels: usize,
    max_block: usize,
    /// Input copy for the reference, one `max_block` buffer per channel.
    scratch: Vec<Vec<f32>>,
    delay_a: MultiDelay,
    delay_b: MultiDelay,
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
    /// Samples until the reference's current stage is past its onset transient (started
    /// from rest, or just swapped in) and B may be heard; A plays until then.
    priming: usize,
    /// The reference was building or swapping in a stage at the last block: B is not heard
    /// until that is over and the new stage is primed.
    stage_changing: bool,
    /// Length of the crossfade, samples.
    xfade_len: usize,
}

impl Comparator {
    /// `reference` = the settings the reference engine starts with; `custom` = the handle
    /// to the imported impedance curve the main engine uses, so that with "Custom
    /// (imported)" B drives the same curve as A.
    pub fn new(reference: &Settings, custom: CustomLoad) -> Self {
        Self {
            reference: Engine::with_custom_load(reference, custom),
            reference_settings: *reference,
            last: None,
            main_level_db: 0.0,
            channels: 0,
            max_block: 0,
            scratch: Vec::new(),
            delay_a: MultiDelay::default(),
            delay_b: MultiDelay::default(),
            xfade: LinearRamp::new(0.0, 1),
            reference_gain: LinearRamp::new(1.0, 1),
            mute: LinearRamp::new(1.0, 1),
            running: false,
            delays: (0, 0),
            priming: 0,
            stage_changing: false,
            xfade_len: 1,
        }
    }

    /// Back to a comparator that is not comparing, with `reference` as the reference's
    /// settings for the next [`Comparator::prepare`], keeping its engine, worker and (if
    /// nothing structural changed) built chain: for a host's re-activation. Call before
    /// `prepare`.
    pub fn restart(&mut self, reference: &Settings) {
        self.reference.set_settings_for_prepare(reference);
        self.reference_settings = *reference;
        self.last = None;
        self.main_level_db = 0.0;
        self.running = false;
        self.delays = (0, 0);
        self.delay_a.set_delay(0);
        self.delay_b.set_delay(0);
        self.priming = 0;
        self.stage_changing = false;
    }

    /// Allocates; never from the audio thread. Same arguments as [`Engine::prepare`]. The
    /// reference's chain is not built here: it is built on its worker when comparing
    /// starts (A plays meanwhile), so an instance that never compares never designs it.
    pub fn prepare(&mut self, sample_rate: f32, max_block: usize, channels: usize) {
        self.reference
            .prepare_deferred(sample_rate, max_block, channels);
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
    pub fn set_settings(&mut self, main: &Settings, reference_device: DeviceSlot) {
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
    pub fn apply_now(&mut self, main: &Settings, reference_device: DeviceSlot) {
        self.set_settings(main, reference_device);
        self.reference.apply_now(&self.reference_settings);
    }

    /// Start comparing at once, for `activate` when the comparison is already on: the
    /// reference is brought to `main_settings` with `reference_device` on this thread
    /// ([`Comparator::apply_now`]: allocates, never from the audio thread), the alignment
    /// delays are set for max(main, reference) latency and the comparator is running with
    /// no fade, so [`Comparator::latency_samples`] reports the final latency before the
    /// first block. Call after [`Comparator::prepare`], with `main` prepared.
    ///
    /// Both engines are expected to start from rest together (as after `prepare`), so B
    /// needs no priming: its onset is A's.
    pub fn start_running(
        &mut self,
        main: &Engine,
        main_settings: &Settings,
        reference_device: DeviceSlot,
    ) {
        self.apply_now(main_settings, reference_device);
        self.reference.reset();
        self.delay_a.reset();
        self.delay_b.reset();
        self.running = true;
        self.stage_changing = false;
        self.priming = 0;
        self.delays = self.wanted_delays(main);
        self.delay_a.set_delay(self.delays.0);
        self.delay_b.set_delay(self.delays.1);
        self.main_level_db = output_level_db(main);
        self.reference_gain
            .reset(db_to_gain(self.reference_gain_db()));
        self.xfade.reset(0.0);
        self.mute.reset(1.0);
    }

    /// Process in place: always runs `main`; runs the reference only while `active` (or
    /// while fading out of it). `play_reference` selects B (10 ms linear crossfade between
    /// A and B). Any block length. Never allocates.
    ///
    /// Activating or deactivating fades the output out (5 ms), changes the alignment delays
    /// and fades back in (5 ms). A reference just started plays A until it is past its
    /// onset transient (twice its latency + B's alignment delay + 10 ms), then crossfades to
    /// B if selected. While the reference builds or swaps in a stage (another reference
    /// device, or a structural change of the main settings), B is crossfaded out (10 ms)
    /// and A plays until the new stage is in and past its onset the same way.
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

    /// Samples for which a reference stage that starts now (from rest, or swapped in) is
    /// not heard: its onset transient lasts about twice its latency (the linear-phase
    /// filters filling), B's alignment delay postpones it, and 10 ms (one crossfade) of
    /// margin follows.
    fn priming_len(&self, main: &Engine) -> usize {
        2 * self.reference.latency_samples() + self.wanted_delays(main).1 + self.xfade_len
    }

    /// Whether B is out of the mix now (crossfade settled on A).
    fn b_silent(&self) -> bool {
        self.xfade.is_settled() && self.xfade.value() == 0.0
    }

    /// Start, stop or realign under the mute fade; hold B out while the reference's stage
    /// is changing (start of each block).
    fn update_state(&mut self, main: &Engine, active: bool, play_reference: bool) {
        if self.running {
            // A stage being built or swapped in: the reference still plays the old voicing
            // (or fades between them), so B is held out; once it is in, it is primed anew.
            if self.reference.rebuild_pending() {
                self.stage_changing = true;
            } else if self.stage_changing {
                self.stage_changing = false;
                self.priming = self.priming.max(self.priming_len(main));
            }
        }
        let wanted = self.wanted_delays(main);
        if active && self.running && wanted.0 == self.delays.0 && wanted.1 != self.delays.1 {
            // Only B's delay changes (the reference's latency did, at a swap): while B is
            // out of the mix, A need not be muted; B waits until its ring holds the new
            // stage's output.
            if self.b_silent() {
                self.delays.1 = wanted.1;
                self.delay_b.set_delay(wanted.1);
                self.priming = self.priming.max(self.priming_len(main));
            }
        }
        let change = active != self.running || (active && wanted.0 != self.delays.0);
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
                self.reference.wake();
                self.delay_b.reset();
                self.reference_gain
                    .reset(db_to_gain(self.reference_gain_db()));
                // The reference starts from rest in the middle of the signal: its output is
                // an onset transient until its filters are full, so B is heard only after
                // that (and after any stage the settings asked for is in).
                self.stage_changing = self.reference.rebuild_pending();
                self.priming = self.priming_len(main);
            }
            self.running = active;
            self.delays = if active { wanted } else { (0, 0) };
            self.delay_a.set_delay(self.delays.0);
            self.delay_b.set_delay(self.delays.1);
            let b = active && play_reference && !starting && self.b_allowed();
            self.xfade.reset(if b { 1.0 } else { 0.0 });
            self.mute.set_target(1.0);
        }
        if self.running {
            let b = play_reference && self.b_allowed() && self.delays == wanted;
            self.xfade.set_target(if b { 1.0 } else { 0.0 });
            self.reference_gain
                .set_target(db_to_gain(self.reference_gain_db()));
        }
    }

    /// Whether B may be heard: the reference runs the stage its settings ask for, primed.
    fn b_allowed(&self) -> bool {
        self.priming == 0 && !self.stage_changing && !self.reference.rebuild_pending()
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
        debug_assert_eq!((a.delay(), b.delay()), self.delays);
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

    /// Offline processing for the reference too (see [`Engine::set_offline`]).
    pub fn set_offline(&mut self, offline: bool) {
        self.reference.set_offline(offline);
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
        .chain()
        .and_then(|chain| chain.amp())
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
    use crate::analysis::testutil::{self, to_f32, white_noise};
    use crate::analysis::{impulse_peak, tone};
    use crate::presets::HeadphoneSlot;

    const RATE: f32 = 48_000.0;
    const K13: DeviceSlot = DeviceSlot(0);
    const IDEAL: DeviceSlot = DeviceSlot::IDEAL;

    /// A 1 kHz sine of peak `amplitude` at [`RATE`].
    fn sine(n: usize, amplitude: f32) -> Vec<f32> {
        to_f32(&testutil::sine(
            n,
            f64::from(RATE),
            1000.0,
            f64::from(amplitude),
            0.0,
        ))
    }

    /// White noise of RMS `rms` (seeded), as f32.
    fn noise(n: usize, rms: f64) -> Vec<f32> {
        to_f32(&white_noise(n, rms, 11))
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
        let mut comp = Comparator::new(
            &Settings {
                device: IDEAL,
                ..main_settings
            },
            CustomLoad::default(),
        );
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

    /// `x` on both channels with comparing on: the first `half` samples as A, the rest as B.
    fn a_then_b(
        main: &mut Engine,
        comp: &mut Comparator,
        x: &[f32],
        half: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (mut l, mut r) = (x.to_vec(), x.to_vec());
        run(main, comp, &mut l[..half], &mut r[..half], true, false);
        run(main, comp, &mut l[half..], &mut r[half..], true, true);
        (l, r)
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
            let (l, r) = a_then_b(&mut main, &mut comp, &x, half);
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

    /// An impulse through A and through B peaks at the same index, the reported latency:
    /// the two chains' own latencies differ, but every engine runs at its rate's bound, so
    /// neither path needs an alignment delay.
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
        let own = |e: &Engine| e.chain().expect("built").latency_samples();
        assert_ne!(own(&main), own(comp.reference()), "the chains differ");
        assert_eq!(main.latency_samples(), comp.reference().latency_samples());
        assert_eq!(latency, inactive, "comparing does not move the latency");
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

    /// A fade or crossfade read off the output: at each sample `i` in `range` where
    /// `|to − from| > floor`, the coefficient `x = (out − from)/(to − from)` (so
    /// `out = from + x·(to − from)`, e.g. `from` = A, `to` = B; or `from` = 0 for a fade).
    fn coefficients(
        out: &[f32],
        from: &[f32],
        to: &[f32],
        range: std::ops::Range<usize>,
        floor: f32,
    ) -> Vec<(usize, f64)> {
        range
            .filter(|&i| (to[i] - from[i]).abs() > floor)
            .map(|i| (i, f64::from(out[i] - from[i]) / f64::from(to[i] - from[i])))
            .collect()
    }

    /// A linear ramp fitted (least squares) to the coefficients strictly inside it
    /// (0.01 < x < 0.99): `(start, len, worst residual)` where the line is at its first
    /// value's side (0 rising, 1 falling) at `start` and has moved by 1 after `len` samples.
    /// Also the largest deviation of the other coefficients from 0 or 1 (before/after).
    fn ramp(points: &[(usize, f64)], rising: bool) -> (f64, f64, f64, f64) {
        let inside: Vec<(f64, f64)> = points
            .iter()
            .filter(|(_, x)| *x > 0.01 && *x < 0.99)
            .map(|&(i, x)| (i as f64, x))
            .collect();
        assert!(
            inside.len() > 50,
            "only {} points on the ramp",
            inside.len()
        );
        let n = inside.len() as f64;
        let (mx, my) = inside
            .iter()
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
        let sxy: f64 = inside.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = inside.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
        let slope = sxy / sxx;
        let intercept = my - slope * mx;
        let line = |t: f64| intercept + slope * t;
        let worst_fit = inside
            .iter()
            .map(|&(t, x)| (x - line(t)).abs())
            .fold(0.0, f64::max);
        let (first, last) = if rising { (0.0, 1.0) } else { (1.0, 0.0) };
        let start = (first - intercept) / slope;
        let len = (last - first) / slope;
        // Outside the ramp the coefficient sits at its end values.
        let worst_flat = points
            .iter()
            .map(|&(i, x)| {
                let t = i as f64;
                if t <= start {
                    (x - first).abs()
                } else if t >= start + len {
                    (x - last).abs()
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max);
        (start, len, worst_fit, worst_flat)
    }

    /// Switching A → B is a 10 ms linear crossfade: with noise in, where A (K13) and B
    /// (Ideal) differ, the output is `A + x·(B − A)` with A and B recorded alone and `x`
    /// rising linearly from the switch over 480 samples (±1), 0 before and 1 after. A hard
    /// switch would read a ramp of length 0; the old test (max step on a 1 kHz sine, where
    /// A and B are matched and aligned) passed with one.
    #[test]
    fn a_to_b_is_a_linear_10_ms_crossfade() {
        for level_match in [false, true] {
            let n = (0.3 * RATE) as usize;
            let x = noise(n, 0.2);
            let switch = n / 2 + 17;
            let record = |until_switch: bool, after: bool| {
                let (mut main, mut comp) = setup(level_match, 64);
                activate(&mut main, &mut comp);
                let (mut l, mut r) = (x.clone(), x.clone());
                run(
                    &mut main,
                    &mut comp,
                    &mut l[..switch],
                    &mut r[..switch],
                    true,
                    until_switch,
                );
                let (lb, rb) = (&mut l[switch..], &mut r[switch..]);
                run(&mut main, &mut comp, lb, rb, true, after);
                l
            };
            let (a, b, out) = (
                record(false, false),
                record(true, true),
                record(false, true),
            );
            assert_eq!(&out[..switch], &a[..switch], "runs are reproducible");
            // B alone is B from 10 ms into the record on (activation let it settle).
            let rms_diff = (a[switch..]
                .iter()
                .zip(&b[switch..])
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / (n - switch) as f64)
                .sqrt();
            let rms_a = (a[switch..]
                .iter()
                .map(|v| f64::from(*v).powi(2))
                .sum::<f64>()
                / (n - switch) as f64)
                .sqrt();
            // Where B − A is at least half its RMS: x is then exact to ~1e-5 (f32 rounding
            // of the output over |B − A|).
            let floor = 0.5 * rms_diff as f32;
            let points = coefficients(&out, &a, &b, switch - 1000..switch + 1500, floor);
            let (start, len, fit, flat) = ramp(&points, true);
            println!(
                "level match {level_match}: RMS(B − A) {:.1} dB re A; {} points; \
                 ramp from {:+.3} re the switch, {len:.3} samples; worst residual {fit:.2e} on \
                 the ramp, {flat:.2e} off it",
                20.0 * (rms_diff / rms_a).log10(),
                points.len(),
                start - switch as f64,
            );
            // x(switch + i) = (i + 1)/480: the line is at 0 one sample before the switch.
            assert!((start - (switch as f64 - 1.0)).abs() < 1.0, "start {start}");
            assert!(
                (len - f64::from(XFADE_SECONDS * RATE)).abs() <= 1.0,
                "len {len}"
            );
            assert!(fit < 1e-3 && flat < 1e-3, "fit {fit:e}, flat {flat:e}");
        }
    }

    /// Activating and deactivating (which change the alignment delays) fade the output out
    /// linearly over 5 ms, hold silence for at most the rest of a block, and fade in over
    /// 5 ms with the new delays: read as `out = m·ref` against the output recorded without
    /// that change (A undelayed, A delayed, B playing, A undelayed).
    #[test]
    fn activation_and_deactivation_fade_out_and_in_over_5_ms() {
        let block = 64;
        let n = (0.6 * RATE) as usize;
        let x = sine(n, 0.5);
        let (on, off) = (n / 3 + 5, 2 * n / 3 + 11);
        let main_settings = *setup(true, block).0.settings();
        // A alone: the main engine as the comparator runs it.
        let mut alone = Engine::new(&main_settings);
        alone.prepare(RATE, block, 2);
        let (mut a, mut a_r) = (x.clone(), x.clone());
        alone.process(&mut [&mut a[..], &mut a_r[..]]);
        // The comparison activated at `on` and kept on; and on, then off at `off`.
        let record = |deactivate: bool| {
            let (mut main, mut comp) = setup(true, block);
            let (mut l, mut r) = (x.clone(), x.clone());
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
            let delay_a = comp.latency_samples(&main) - main.latency_samples();
            let (lb, rb) = (&mut l[off..], &mut r[off..]);
            run(&mut main, &mut comp, lb, rb, !deactivate, true);
            assert_eq!(comp.is_running(), !deactivate);
            (l, delay_a)
        };
        let ((b, delay_a), (out, _)) = (record(false), record(true));
        assert_eq!(
            delay_a, 0,
            "every chain runs at the same latency: nothing to align"
        );
        let a_delayed: Vec<f32> = (0..n)
            .map(|i| if i >= delay_a { a[i - delay_a] } else { 0.0 })
            .collect();
        let silence = vec![0.0f32; n];
        let half = f64::from(MUTE_FADE_SECONDS * RATE);
        let check = |name: &str, at: usize, before: &[f32], after: &[f32]| {
            let window = at - 200..at + 800;
            let out_pts = coefficients(&out, &silence, before, window.clone(), 0.1);
            let (start_out, len_out, fit_out, _) = ramp(
                &out_pts
                    .iter()
                    .copied()
                    .filter(|p| p.0 < at + half as usize + 10)
                    .collect::<Vec<_>>(),
                false,
            );
            let in_pts = coefficients(&out, &silence, after, window, 0.1);
            let (start_in, len_in, fit_in, _) = ramp(
                &in_pts
                    .iter()
                    .copied()
                    .filter(|p| p.0 > at + half as usize)
                    .collect::<Vec<_>>(),
                true,
            );
            let end_out = start_out + len_out;
            // Before the fade-out: `before` exactly; between the fades: silence; after the
            // fade-in: `after` exactly.
            let exact_before = (at - 200..at).all(|i| out[i] == before[i]);
            let silent =
                (end_out.ceil() as usize..start_in.floor() as usize + 1).all(|i| out[i] == 0.0);
            let settled = start_in as usize + len_in as usize + 1;
            let exact_after = (settled..settled + 500).all(|i| out[i] == after[i]);
            println!(
                "{name}: fade-out from {:+.2} re the change, {len_out:.3} samples (fit {fit_out:.1e}); \
                 silence {:.1} samples; fade-in {len_in:.3} samples (fit {fit_in:.1e})",
                start_out - at as f64,
                start_in - end_out,
            );
            assert!(
                (start_out - (at as f64 - 1.0)).abs() < 1.0,
                "{name}: starts {start_out}"
            );
            assert!((len_out - half).abs() <= 1.0 && (len_in - half).abs() <= 1.0);
            assert!(fit_out < 1e-4 && fit_in < 1e-4);
            assert!(
                start_in - end_out < block as f64,
                "{name}: silence longer than a block"
            );
            assert!(exact_before && silent && exact_after, "{name}");
        };
        check("activation", on, &a, &a_delayed);
        check("deactivation", off, &b, &a);
    }

    /// With "Custom (imported)" and a 75 Ω output impedance, B drives the imported curve as
    /// A does: with the same device on both sides, A's and B's 100 Hz level re 1 kHz agree
    /// within 0.05 dB, and equal the divider formula on the curve. A comparator without the
    /// curve (its fallback resistor: the bug) reads the formula's 0.67 dB less.
    #[test]
    fn b_drives_the_imported_curve_as_a_does() {
        let custom = CustomLoad::default();
        custom
            .import(
                "test.zma",
                "20 300 1\n100 480 20\n1000 301 -2\n20000 306 10\n",
            )
            .expect("valid curve");
        let settings = Settings {
            device: IDEAL,
            headphone: HeadphoneSlot::CUSTOM,
            z_out_custom: true,
            z_out_ohms: 75.0,
            ..Settings::default()
        };
        let curve = custom.get().1.expect("imported").curve;
        let div = |f: f64| crate::load::divider(curve.impedance(f), 75.0).norm();
        let formula_db = 20.0 * (div(100.0) / div(1000.0)).log10();
        // 100 Hz + 1 kHz; the reading windows hold whole periods of both (480 samples).
        let half = (0.6 * RATE) as usize;
        let x: Vec<f32> = to_f32(
            &testutil::sine(2 * half, f64::from(RATE), 100.0, 0.1, 0.0)
                .iter()
                .zip(testutil::sine(2 * half, f64::from(RATE), 1000.0, 0.1, 0.3))
                .map(|(a, b)| a + b)
                .collect::<Vec<_>>(),
        );
        let ratio = |s: &[f32]| {
            let read = |f| tone(s, f64::from(RATE), f).level_db;
            read(100.0) - read(1000.0)
        };
        let measure = |reference_custom: CustomLoad| {
            let mut main = Engine::with_custom_load(&settings, custom.clone());
            main.prepare(RATE, 512, 2);
            let mut comp = Comparator::new(&settings, reference_custom);
            comp.prepare(RATE, 512, 2);
            comp.apply_now(&settings, IDEAL);
            let (l, _) = a_then_b(&mut main, &mut comp, &x, half);
            // 0.2 s of settling, then 0.4 s (40 periods of 100 Hz).
            let skip = (0.2 * RATE) as usize;
            (ratio(&l[skip..half]), ratio(&l[half + skip..]))
        };
        let (a, b) = measure(custom.clone());
        let (_, b_fallback) = measure(CustomLoad::default());
        println!(
            "100 Hz re 1 kHz: A {a:+.4} dB, B {b:+.4} dB, formula {formula_db:+.4} dB; B on the \
             fallback resistor {b_fallback:+.4} dB"
        );
        assert!(formula_db > 0.5, "the curve must make a difference");
        assert!((a - b).abs() < 0.05);
        assert!((a - formula_db).abs() < 0.05);
        assert!(
            (b_fallback - a).abs() > 0.5,
            "the test tells the fallback apart"
        );
    }

    /// `start_running` (for `activate` while comparing): the latency is max(main, reference)
    /// before the first block and stays so while processing, and there is no fade: the
    /// output is A delayed by its alignment from the first sample. Without it the
    /// comparator first reports the main latency and changes it a few blocks in (the loop
    /// of re-reports on re-activation).
    #[test]
    fn start_running_reports_the_final_latency_at_once() {
        let main_settings = Settings {
            device: K13,
            ..Settings::default()
        };
        let mut main = Engine::new(&main_settings);
        main.prepare(RATE, 256, 2);
        let mut comp = Comparator::new(&main_settings, CustomLoad::default());
        comp.prepare(RATE, 256, 2);
        assert_eq!(
            comp.latency_samples(&main),
            main.latency_samples(),
            "not yet started"
        );
        comp.start_running(&main, &main_settings, IDEAL);
        assert!(comp.is_running());
        let both = main
            .latency_samples()
            .max(comp.reference().latency_samples());
        assert_eq!(comp.reference().settings().device, IDEAL);
        assert_eq!(comp.latency_samples(&main), both);
        let mut alone = Engine::new(&main_settings);
        alone.prepare(RATE, 256, 2);
        let n = (0.2 * RATE) as usize;
        let x = sine(n, 0.5);
        let (mut a, mut a_r) = (x.clone(), x.clone());
        alone.process(&mut [&mut a[..], &mut a_r[..]]);
        let (mut l, mut r) = (x.clone(), x.clone());
        let mut latencies = std::collections::BTreeSet::new();
        for start in (0..n).step_by(256) {
            let end = (start + 256).min(n);
            let play_reference = start >= n / 2;
            run(
                &mut main,
                &mut comp,
                &mut l[start..end],
                &mut r[start..end],
                true,
                play_reference,
            );
            latencies.insert(comp.latency_samples(&main));
        }
        let delay_a = both - main.latency_samples();
        println!(
            "main {}, reference {}: latencies seen {latencies:?}; A delayed by {delay_a}",
            main.latency_samples(),
            comp.reference().latency_samples()
        );
        assert_eq!(latencies.into_iter().collect::<Vec<_>>(), [both]);
        assert!(l[..delay_a].iter().all(|&v| v == 0.0));
        assert_eq!(
            &l[delay_a..n / 2],
            &a[..n / 2 - delay_a],
            "A from the first sample, no fade"
        );
    }

    /// Changing the reference device while B plays: from the request, the old voicing
    /// fades out over the 10 ms crossfade (`out = A + x·(B_old − A)`, x falling linearly
    /// from 1 to 0), then the output is A bit for bit until the new stage is swapped in and
    /// past its onset (twice its latency plus its alignment delay); only then does B (the
    /// new device) come back. Main: Ideal (the longest latency, so A is never delayed or
    /// muted); old reference K13, new K7.
    #[test]
    fn switching_the_reference_never_plays_the_stale_voicing() {
        let k7 = DeviceSlot::by_id("fiio-k7").unwrap();
        let main_settings = Settings {
            device: IDEAL,
            ..Settings::default()
        };
        let n = (4.0 * RATE) as usize;
        let x = noise(n, 0.2);
        let block = 256;
        let make = || {
            let mut main = Engine::new(&main_settings);
            main.prepare(RATE, block, 1);
            let mut comp = Comparator::new(&main_settings, CustomLoad::default());
            comp.prepare(RATE, block, 1);
            comp.apply_now(&main_settings, K13);
            (main, comp)
        };
        let request = (0.2 * RATE) as usize + 13;
        let fade = (XFADE_SECONDS * RATE) as usize;
        // A alone, and B with the old device on throughout (to just past the fade).
        let mut a = x.clone();
        make().0.process(&mut [&mut a[..]]);
        let (mut main, mut comp) = make();
        let mut old = x[..request + 2 * fade].to_vec();
        comp.process(&mut main, &mut [&mut old[..]], true, true);
        assert_eq!(main.latency_samples(), comp.reference().latency_samples());
        // The switch.
        let (mut main, mut comp) = make();
        let mut out = x.clone();
        comp.process(&mut main, &mut [&mut out[..request]], true, true);
        assert_eq!(&out[..request], &old[..request], "runs are reproducible");
        comp.set_settings(&main_settings, k7);
        // The fade (and a block) at once: the worker cannot have built the stage yet.
        let mut pos = request + fade + 64;
        comp.process(&mut main, &mut [&mut out[request..pos]], true, true);
        assert_eq!(
            comp.reference().running_request(),
            Some(
                Settings {
                    device: K13,
                    ..main_settings
                }
                .chain_request(0)
            ),
            "the old stage ran through the fade"
        );
        let started = std::time::Instant::now();
        let mut swapped = None;
        while pos < n {
            let end = (pos + block).min(n);
            comp.process(&mut main, &mut [&mut out[pos..end]], true, true);
            pos = end;
            if swapped.is_none() {
                if comp.rebuild_pending() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    assert!(started.elapsed().as_secs() < 30, "rebuild did not finish");
                } else {
                    swapped = Some(pos);
                }
            }
        }
        let swapped = swapped.expect("the new stage came in within the record");
        assert_eq!(
            comp.reference().running_request(),
            Some(
                Settings {
                    device: k7,
                    ..main_settings
                }
                .chain_request(0)
            )
        );
        let (new_latency, delay_b) = (
            comp.reference().latency_samples(),
            main.latency_samples() - comp.reference().latency_samples(),
        );
        // 1. The fade-out of the old voicing, from the request.
        let points = coefficients(&out, &a, &old, request - 500..request + fade + 64, 0.02);
        let (start, len, fit, flat) = ramp(&points, false);
        // 2. Then A, bit for bit, until B comes back.
        let back = (request + fade..n)
            .find(|&i| out[i] != a[i])
            .expect("B comes back");
        let primed = swapped + 2 * new_latency + delay_b;
        println!(
            "old voicing: fade-out from {:+.2} re the request, {len:.3} samples (fit {fit:.1e}, \
             off-ramp {flat:.1e}); A alone from {:+} to {:+}; new stage in by {:+} \
             (latency {new_latency}, B delay {delay_b}), primed by {:+}",
            start - request as f64,
            fade,
            back - request,
            swapped - request,
            primed - request
        );
        assert!(
            (start - (request as f64 - 1.0)).abs() < 1.0,
            "fade starts {start}"
        );
        assert!((len - fade as f64).abs() <= 1.0, "fade {len}");
        assert!(fit < 1e-3 && flat < 1e-3);
        assert!(
            back >= primed,
            "B came back at {back}, before the new stage was primed"
        );
        // And it is the new device: the output leaves A as a crossfade toward B.
        assert!(back < n - fade, "B came back within the record");
    }
}
