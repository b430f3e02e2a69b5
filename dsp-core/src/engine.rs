//! The signal chain as the plugins run it.
//!
//! ```text
//! host rate                        analog domain (K·fs)                                host rate
//! input conditioning → PEQ → Chain: DAC ──► analog stages → amp → load (network) ──► decimator → load (curve) → output (level match, trim, bypass)
//! ```
//!
//! One sample's path, file by file: `engine.rs` (input conditioning: NaN/∞ → 0,
//! denormals → 0) → `peq/processor.rs` (the user's PEQ, host rate) → `chain/mod.rs`
//! ([`Chain::process`]: `chain/to_dac_rate.rs` → `dac/os_filter.rs` → `dac/converter.rs`
//! → `dac/hold.rs` → `analog/lowpass.rs` → `analog/shaper.rs` → `amp/stage.rs` →
//! `load/iir.rs` → `analog/decimator.rs` → `load/fir.rs`) → `engine.rs` (level match,
//! trim, bypass crossfade with the latency-compensated dry signal).
//!
//! Each stage has `new`/`prepare` (allocates), `reset` and `process` (never allocates).
//!
//! Parameters that change the chain's structure (device, mode, filter, DAC rate, ladder,
//! decimator, output, output impedance, headphone) are a new [`ChainRequest`]: it is built
//! off the audio thread by a [`Rebuilder`], which resolves it against the [`Catalogue`] the
//! engine was given; the new chain is swapped in under a 5 ms fade-out/fade-in, and
//! [`Engine::latency_samples`] follows it (the plugins report the change to the host).
//! Offline callers can use [`Engine::apply_now`]. The audio thread reads no preset list.

use crate::analog::decimator::DecimatorPhase;
use crate::chain::{latency_bound, Chain};
use crate::clocks::{ChainLayout, MAX_CHANNELS};
use crate::dac::DacRate;
use crate::limiter::Limiter;
use crate::load::CustomLoad;
use crate::peq::Peq;
use crate::presets::Catalogue;
use crate::rebuild::{Built, Rebuilder, Request};
use crate::settings::{ChainRequest, LevelMode, Settings};
use crate::util::{db_to_gain, sanitize_sample, LinearRamp, MultiDelay, DENORMAL_FLOOR};

/// Length of gain ramps and of the bypass crossfade.
const RAMP_SECONDS: f32 = 0.010;
/// Length of each half of the fade around a chain swap.
const SWAP_FADE_SECONDS: f32 = 0.005;
/// Longest latency the bypass path can follow, in samples.
const MAX_DRY_DELAY: usize = 16_384;
/// Longest an offline block (or [`Engine::install_now`]) waits for the worker.
pub const BLOCKING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The Sourcery engine: one instance per plugin instance, mono or stereo.
pub struct Engine {
    settings: Settings,
    sample_rate: f32,
    max_block: usize,
    channels: usize,
    input: InputConditioner,
    /// The user's PEQ (host rate, before the DAC).
    peq: Peq,
    /// The running chain (`None` until [`Engine::prepare`]).
    running: Option<Box<Built>>,
    /// The chain the settings ask for.
    wanted: ChainRequest,
    /// `wanted` could not be sent to the worker yet.
    unsent: bool,
    /// A finished chain waiting for the fade-out.
    incoming: Option<Box<Built>>,
    /// A retired chain the worker could not take yet.
    outgoing: Option<Box<Built>>,
    rebuilder: Option<Rebuilder>,
    swap_fade: LinearRamp,
    output: OutputStage,
    /// Latency-compensated copy of the input for bypass: one ring per channel.
    dry: MultiDelay,
    /// The processed path was not run in the last block (bypassed, its crossfade over): it
    /// is primed before it runs again ([`Engine::prime_wet`]).
    wet_idle: bool,
    /// Scratch channels for [`Engine::prime_wet`], `max_block` frames each.
    prime: Vec<Vec<f32>>,
    /// Calibrated SPL's output limiter (always in the path: its look-ahead is part of the
    /// latency in every level mode).
    limiter: Limiter,
    /// The running chain's output delayed by `latency − chain latency`, so the engine's
    /// latency is the same for every voicing.
    pad: MultiDelay,
    /// [`latency_bound`] on the prepared layout (the linear decimator's, the larger): the
    /// latency every chain is padded to.
    latency_bound: usize,
    /// The latency the engine reports and runs at: `latency_bound` (or the running
    /// chain's own, were it longer) plus the limiter's look-ahead.
    latency: usize,
    /// The DAC rates a chain can run at besides the host's: the DAC rate parameter's and
    /// the catalogue devices' own.
    dac_rates: Vec<f64>,
    /// Structural changes are built in the block where they arrive (offline rendering).
    offline: bool,
    /// The devices and headphones requests are resolved against (by the worker).
    catalogue: Catalogue,
    /// The user's imported impedance curve (shared with the plugin and the worker).
    custom: CustomLoad,
    /// `custom`'s generation last seen by the audio thread.
    custom_generation: u64,
}

impl Engine {
    /// Create an engine for `settings` on the process's [`Catalogue::active`]. Nothing is
    /// designed until [`Engine::prepare`]; before it, `process` leaves the audio untouched.
    pub fn new(settings: &Settings) -> Self {
        Self::with_custom_load(settings, CustomLoad::default())
    }

    /// [`Engine::new`] with a handle to the imported impedance curve, which the plugin keeps
    /// across engines (and in its state).
    pub fn with_custom_load(settings: &Settings, custom: CustomLoad) -> Self {
        Self::with_catalogue(settings, Catalogue::active().clone(), custom)
    }

    /// An engine whose devices and headphones come from `catalogue`.
    pub fn with_catalogue(settings: &Settings, catalogue: Catalogue, custom: CustomLoad) -> Self {
        Self {
            settings: *settings,
            sample_rate: 48_000.0,
            max_block: 0,
            channels: 0,
            input: InputConditioner::default(),
            peq: Peq::new(48_000.0, 1, 1),
            running: None,
            wanted: settings.chain_request(custom.generation()),
            unsent: false,
            incoming: None,
            outgoing: None,
            rebuilder: None,
            swap_fade: LinearRamp::new(1.0, 1),
            output: OutputStage::default(),
            dry: MultiDelay::default(),
            wet_idle: false,
            prime: Vec::new(),
            limiter: Limiter::default(),
            pad: MultiDelay::default(),
            latency_bound: 0,
            latency: 0,
            dac_rates: dac_rates(&catalogue),
            offline: false,
            catalogue,
            custom_generation: custom.generation(),
            custom,
        }
    }

    /// The handle to the imported impedance curve ("Custom (imported)").
    pub fn custom_load(&self) -> &CustomLoad {
        &self.custom
    }

    /// The catalogue the engine resolves devices and headphones against.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The chain the settings ask for, with the custom curve's current generation.
    fn wanted_request(&self) -> ChainRequest {
        self.settings.chain_request(self.custom_generation)
    }

    /// Build `request` on this thread (allocates).
    fn build(&self, request: ChainRequest) -> Box<Built> {
        let request = Request {
            chain: request,
            layout: self.layout(),
        };
        let mut built = Box::new(Built::new(request, &self.catalogue, &self.custom));
        built.chain.snap_amp_controls(&self.settings.amp_controls());
        built
    }

    /// Allocate and design everything for this sample rate, largest block and channel
    /// count (1 or 2), and start the rebuild worker. Never call it from the audio thread.
    pub fn prepare(&mut self, sample_rate: f32, max_block: usize, channels: usize) {
        self.prepare_with(sample_rate, max_block, channels, true);
    }

    /// [`Engine::prepare`] without building the chain: the engine reports its latency at
    /// once but builds its chain on the worker when first asked to ([`Engine::wake`]), and
    /// until it is in, `process` leaves the audio as it is and [`Engine::rebuild_pending`]
    /// is true. For the comparator's reference, which most sessions never run.
    pub fn prepare_deferred(&mut self, sample_rate: f32, max_block: usize, channels: usize) {
        self.prepare_with(sample_rate, max_block, channels, false);
    }

    fn prepare_with(&mut self, sample_rate: f32, max_block: usize, channels: usize, build: bool) {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "invalid sample rate {sample_rate}"
        );
        self.sample_rate = sample_rate;
        self.max_block = max_block.max(1);
        self.channels = channels.clamp(1, MAX_CHANNELS);
        self.custom_generation = self.custom.generation();
        self.wanted = self.wanted_request();
        self.unsent = false;
        self.incoming = None;
        self.outgoing = None;
        // The decimator is a user setting too: the latency does not follow it either, so
        // it never changes while the host processes (a change there asks the host to
        // restart the plugin, which hosts do not all do in time). The linear-phase
        // decimator's bound is the larger (a minimum-phase filter peaks before the middle
        // of the same length; `tests/latency.rs` checks it).
        self.latency_bound = latency_bound(self.layout(), DecimatorPhase::Linear, &self.dac_rates);
        // A host re-activating with the same rate, block size, channels and voicing (JUCE
        // hosts do it several times while loading) keeps the chain it has: reset, not
        // rebuilt.
        let wanted = Request {
            chain: self.wanted,
            layout: self.layout(),
        };
        let kept = self.running.take().filter(|b| b.request == wanted);
        self.running = match kept {
            Some(mut built) => {
                built.chain.snap_amp_controls(&self.settings.amp_controls());
                Some(built)
            }
            None => build.then(|| self.build(self.wanted)),
        };
        self.latency = self.latency_bound;
        if self.rebuilder.is_none() {
            self.rebuilder = Some(Rebuilder::spawn(
                self.catalogue.clone(),
                self.custom.clone(),
            ));
        }
        self.peq = Peq::new(f64::from(sample_rate), self.channels, self.max_block);
        let ramp_len = (RAMP_SECONDS * sample_rate).round() as u32;
        self.output.prepare(ramp_len);
        self.swap_fade = LinearRamp::new(1.0, (SWAP_FADE_SECONDS * sample_rate).round() as u32);
        self.dry
            .prepare(self.channels, self.max_block, MAX_DRY_DELAY);
        self.prime = vec![vec![0.0; self.max_block]; self.channels];
        self.limiter = Limiter::new(self.channels, f64::from(sample_rate));
        self.pad
            .prepare(self.channels, self.max_block, MAX_DRY_DELAY);
        self.follow_latency();
        self.apply_settings();
        self.reset();
    }

    fn layout(&self) -> ChainLayout {
        ChainLayout {
            host_rate: f64::from(self.sample_rate),
            max_block: self.max_block,
            channels: self.channels,
        }
    }

    /// Set the latency and the delays for the running chain (at a swap: the old chain's
    /// output in the pad ring is cleared). Does not allocate.
    fn follow_latency(&mut self) {
        let Some(chain) = self.chain() else {
            return;
        };
        let own = chain.latency_samples();
        let lookahead = self.limiter.latency_samples();
        let padded = self.latency_bound.max(own).min(MAX_DRY_DELAY - lookahead);
        self.pad.set_delay(padded - own.min(padded));
        self.pad.reset();
        self.latency = padded + lookahead;
        self.dry.set_delay(self.latency);
        // Whether calibrated SPL can run depends on the chain's headphone.
        self.limiter
            .set_active(self.effective_level_mode() == LevelMode::Calibrated);
    }

    /// Clear all state (filters, delay lines, ramps). Does not allocate.
    pub fn reset(&mut self) {
        self.input.reset();
        self.peq.reset();
        self.dry.reset();
        self.pad.reset();
        self.limiter.reset();
        if let Some(built) = &mut self.running {
            built.chain.reset();
        }
        self.swap_fade.reset(1.0);
        self.output.reset(&self.targets());
        self.wet_idle = false;
    }

    /// Take `settings` as the ones the next [`Engine::prepare`] builds, without asking the
    /// worker for anything (for a host's re-activation: the engine, its worker and, when
    /// nothing structural changed, its chain are kept).
    pub fn set_settings_for_prepare(&mut self, settings: &Settings) {
        self.settings = *settings;
        self.wanted = self.wanted_request();
        self.unsent = false;
    }

    /// Take new settings. Does not allocate: level changes are ramped, structural changes
    /// are sent to the rebuild worker and swapped in when ready.
    pub fn set_settings(&mut self, settings: &Settings) {
        if *settings == self.settings {
            return;
        }
        self.settings = *settings;
        self.apply_settings();
        let request = self.wanted_request();
        if request != self.wanted {
            self.wanted = request;
            self.send_request();
        }
    }

    /// Apply settings at once, building any new chain on this thread (allocates; for
    /// offline rendering and tests, not for the audio thread).
    pub fn apply_now(&mut self, settings: &Settings) {
        self.settings = *settings;
        self.custom_generation = self.custom.generation();
        let request = self.wanted_request();
        if self
            .running
            .as_ref()
            .is_none_or(|b| b.request.chain != request)
        {
            self.running = Some(self.build(request));
            self.follow_latency();
        }
        self.wanted = request;
        self.incoming = None;
        self.unsent = false;
        self.apply_settings();
        self.output.reset(&self.targets());
    }

    /// Offline (a host's offline render, an LV2 host's freewheeling): a structural change is
    /// built in the block where it arrives — the audio thread waits for the worker (which
    /// allocates; the audio thread does not) — and then swapped in under the same fade as
    /// in real time, so an offline render does not depend on how fast the machine is.
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }

    /// Whether [`Engine::set_offline`] is on.
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Ask the worker for the chain the settings need, if none is running or coming (for an
    /// engine prepared with [`Engine::prepare_deferred`]). Never allocates.
    pub fn wake(&mut self) {
        if self.running.is_none() && self.incoming.is_none() {
            self.send_request();
        }
    }

    /// Take `settings` and run their chain from the next sample, with no fade: the worker
    /// builds it while this thread waits (this thread does not allocate), and it replaces
    /// the running chain from rest. For the first block after an activation whose settings
    /// were not known before it (an LV2 host sets its control ports only at `run`), so the
    /// output is the settings' from sample 0. Returns `false` (and keeps the old chain, the
    /// new one following as usual) if the worker took longer than [`BLOCKING_TIMEOUT`].
    pub fn install_now(&mut self, settings: &Settings) -> bool {
        // A curve imported since the last block (an LV2 host restores the state before it
        // activates) belongs to this chain too: without this, the chain built here would be
        // rebuilt for the new generation at the next block and faded in again.
        self.custom_generation = self.custom.generation();
        self.set_settings(settings);
        let request = self.wanted_request();
        if request != self.wanted {
            self.wanted = request;
            self.send_request();
        }
        if self
            .running
            .as_ref()
            .is_some_and(|b| b.request.chain == self.wanted)
        {
            // The same chain: the level, amp and PEQ settings still start where they are.
            self.peq.reset();
            if let Some(built) = &mut self.running {
                built.chain.snap_amp_controls(&self.settings.amp_controls());
            }
            self.output.reset(&self.targets());
            return true;
        }
        if !self.wait_for_worker() {
            return false;
        }
        if let Some(mut incoming) = self.incoming.take() {
            incoming
                .chain
                .snap_amp_controls(&self.settings.amp_controls());
            if let Some(old) = self.running.replace(incoming) {
                self.retire(old);
            }
            self.follow_latency();
            self.dry.reset();
            self.peq.reset();
            self.swap_fade.reset(1.0);
            self.output.reset(&self.targets());
        }
        true
    }

    /// Wait until the chain `wanted` asks for has come back from the worker (it is then in
    /// `incoming`) or is running. Sleeps, never allocates. `false` after
    /// [`BLOCKING_TIMEOUT`].
    fn wait_for_worker(&mut self) -> bool {
        let start = std::time::Instant::now();
        loop {
            if self.unsent {
                self.send_request();
            }
            if let Some(rebuilder) = &self.rebuilder {
                rebuilder.wake();
            }
            self.collect_results();
            let done = self
                .incoming
                .as_ref()
                .is_some_and(|b| b.request.chain == self.wanted)
                || self
                    .running
                    .as_ref()
                    .is_some_and(|b| b.request.chain == self.wanted);
            if done {
                return true;
            }
            if start.elapsed() > BLOCKING_TIMEOUT || self.rebuilder.is_none() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    }

    /// Whether a structural change is still being built or swapped in.
    pub fn rebuild_pending(&self) -> bool {
        self.incoming.is_some()
            || self
                .running
                .as_ref()
                .is_none_or(|b| b.request.chain != self.wanted)
            || !self.swap_fade.is_settled()
    }

    /// Current settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Sample rate given to [`Engine::prepare`].
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Channel count given to [`Engine::prepare`] (clamped to 1..=2).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The running chain.
    pub fn chain(&self) -> Option<&Chain> {
        self.running.as_deref().map(|b| &b.chain)
    }

    /// The request the running chain was built for.
    pub fn running_request(&self) -> Option<ChainRequest> {
        self.running.as_ref().map(|b| b.request.chain)
    }

    /// Latency of the processed path in samples at the host rate: the same for every
    /// voicing, decimator and level mode at this rate (the larger [`latency_bound`] of the
    /// two decimators, to which each chain's own impulse peak is padded, plus the output
    /// limiter's look-ahead). The bypass path is delayed by the same amount.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Gain that level matching applies, in dB: minus the chain's level at 1 kHz.
    pub fn level_match_db(&self) -> f32 {
        self.chain()
            .map_or(0.0, |c| -(20.0 * c.gain_1khz().log10()) as f32)
    }

    /// Number of non-finite input samples replaced by silence since the last reset.
    pub fn non_finite_inputs(&self) -> u64 {
        self.input.replaced
    }

    /// The gain (dB) that maps the running chain's absolute output to the listener's
    /// chain in calibrated SPL (`None` without a sensitivity: level matching instead).
    pub fn calibration_db(&self) -> Option<f32> {
        let calibration = self.chain()?.calibration()?;
        Some(calibration.gain_db(f64::from(self.settings.yours.spl_db)) as f32)
    }

    /// The level mode the output runs in: calibrated SPL falls back to level matching when
    /// the running chain's headphone has no sensitivity ([`Chain::effective_level_mode`]).
    pub fn effective_level_mode(&self) -> LevelMode {
        let wanted = self.settings.level_mode();
        self.chain()
            .map_or(wanted, |c| c.effective_level_mode(wanted))
    }

    /// The smallest gain the output limiter applied since the last call, in dB (0: none),
    /// and start again. For the editor's "limited by" readout.
    pub fn take_limiter_reduction_db(&mut self) -> f32 {
        -20.0 * self.limiter.take_min_gain().log10()
    }

    fn targets(&self) -> OutputTargets {
        let level_db = match self.effective_level_mode() {
            LevelMode::Matched => self.level_match_db(),
            LevelMode::Absolute => 0.0,
            LevelMode::Calibrated => self.calibration_db().unwrap_or(0.0),
        };
        OutputTargets {
            wet_gain: db_to_gain(self.settings.output_trim_db + level_db),
            wet_mix: if self.settings.bypass { 0.0 } else { 1.0 },
        }
    }

    fn apply_settings(&mut self) {
        let targets = self.targets();
        self.output.set_targets(&targets);
        self.limiter
            .set_active(self.effective_level_mode() == LevelMode::Calibrated);
        let controls = self.settings.amp_controls();
        if let Some(built) = &mut self.running {
            built.chain.set_amp_controls(&controls);
        }
        self.peq.set(&self.settings.peq);
    }

    fn send_request(&mut self) {
        let request = Request {
            chain: self.wanted,
            layout: self.layout(),
        };
        self.unsent = match &mut self.rebuilder {
            Some(rebuilder) => !rebuilder.request(request),
            None => false,
        };
    }

    fn retire(&mut self, built: Box<Built>) {
        if let Some(rebuilder) = &mut self.rebuilder {
            if let Err(built) = rebuilder.retire(built) {
                // The worker is behind: keep it (one slot) and retry next block. A second
                // one would have to be freed here, so the older is kept waiting instead.
                if self.outgoing.is_none() {
                    self.outgoing = Some(built);
                } else {
                    std::mem::forget(built);
                }
            }
        }
    }

    /// Take the worker's finished chains: the one `wanted` asks for waits in `incoming` (or,
    /// with nothing running yet, runs at once); others are retired, and so is one equal to
    /// the running chain (asked for before a re-activation built it on the host's thread).
    fn collect_results(&mut self) {
        let layout = self.layout();
        while let Some(built) = self.rebuilder.as_mut().and_then(Rebuilder::take_result) {
            let stale = built.request.chain != self.wanted || built.request.layout != layout;
            let running = self
                .running
                .as_ref()
                .is_some_and(|r| r.request == built.request);
            if stale || running {
                self.retire(built);
            } else if self.running.is_none() {
                // Nothing was playing (a deferred engine): no fade to make.
                let mut built = built;
                built.chain.snap_amp_controls(&self.settings.amp_controls());
                self.running = Some(built);
                self.follow_latency();
                self.output.reset(&self.targets());
            } else {
                if let Some(old) = self.incoming.replace(built) {
                    self.retire(old);
                }
                self.swap_fade.set_target(0.0);
            }
        }
    }

    /// Collect finished chains and run the swap state machine (start of each block).
    fn poll_rebuild(&mut self) {
        if let Some(built) = self.outgoing.take() {
            self.retire(built);
        }
        if self.unsent {
            self.send_request();
        }
        let generation = self.custom.generation();
        if generation != self.custom_generation {
            self.custom_generation = generation;
            let request = self.wanted_request();
            if request != self.wanted {
                self.wanted = request;
                self.send_request();
            }
        }
        let building = self
            .running
            .as_ref()
            .is_some_and(|b| b.request.chain != self.wanted)
            && self.incoming.is_none();
        if self.offline && building {
            // Offline: the change is built in this block (see `set_offline`).
            self.wait_for_worker();
        } else {
            self.collect_results();
        }
        if let Some(incoming) = self.incoming.take() {
            if incoming.request.chain != self.wanted {
                self.retire(incoming);
                self.swap_fade.set_target(1.0);
            } else if self.swap_fade.is_settled() && self.swap_fade.value() == 0.0 {
                // Silent now: swap, follow the new latency and level, fade back in.
                let mut incoming = incoming;
                incoming
                    .chain
                    .snap_amp_controls(&self.settings.amp_controls());
                if let Some(old) = self.running.replace(incoming) {
                    self.retire(old);
                }
                self.follow_latency();
                self.output.reset(&self.targets());
                self.swap_fade.set_target(1.0);
            } else {
                self.incoming = Some(incoming);
            }
        }
    }

    /// Process audio in place. `channels` holds one slice per channel, all of the same
    /// length (any length, including 0 and lengths above `max_block`). Channels beyond the
    /// prepared count are left as they are. Never allocates.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        if self.max_block == 0 {
            return;
        }
        let n_ch = channels.len().min(self.channels);
        if n_ch == 0 {
            return;
        }
        let frames = channels[..n_ch].iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < frames {
            self.poll_rebuild();
            // A block ends where a swap's fade-out does, so the chains swap at that sample
            // whatever the host's block boundaries (an offline render is then the same in
            // every host and in the renderer).
            let mut len = (frames - start).min(self.max_block);
            if self.incoming.is_some() && self.swap_fade.target() == 0.0 {
                let fade = self.swap_fade.remaining() as usize;
                if fade > 0 {
                    len = len.min(fade);
                }
            }
            let mut block: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (slot, channel) in block.iter_mut().zip(channels[..n_ch].iter_mut()) {
                *slot = &mut channel[start..start + len];
            }
            self.process_block(&mut block[..n_ch]);
            start += len;
        }
    }

    /// One block of at most `max_block` frames, after [`Engine::poll_rebuild`].
    fn process_block(&mut self, block: &mut [&mut [f32]]) {
        if self.running.is_none() {
            return;
        }
        for (ch, samples) in block.iter_mut().enumerate() {
            self.input.process(samples);
            self.dry.push(ch, samples);
        }
        let len = block.first().map_or(0, |b| b.len());
        if self.output.is_dry() {
            // Bypassed, the crossfade over: the processed path would be multiplied by 0, so
            // it is not run. Its ramps jump to their targets (nothing of it is heard), so a
            // chain swap asked for meanwhile is not held up.
            for (ch, samples) in block.iter_mut().enumerate() {
                self.dry.read(ch, samples);
                samples.iter_mut().for_each(|x| *x = flush(*x));
            }
            self.dry.advance(len);
            self.swap_fade.reset(self.swap_fade.target());
            self.output.settle_gain();
            self.wet_idle = true;
            return;
        }
        if self.wet_idle {
            self.wet_idle = false;
            self.prime_wet();
        }
        self.processed_path(block);
        // Level and trim, and the swap fade, before the limiter (which sees the final level;
        // a chain swap's fade passes through its look-ahead like the signal, so the new chain
        // fades in over its own output only).
        self.output.apply_gain(block);
        apply_ramp(block, &mut self.swap_fade);
        self.limiter.process(block);
        self.output.mix(block, &self.dry);
        self.dry.advance(len);
    }
}

impl Engine {
    /// The processed path up to its gain: PEQ, chain, and the padding that brings every
    /// chain to the engine's latency.
    fn processed_path(&mut self, block: &mut [&mut [f32]]) {
        self.peq.process(block);
        if let Some(built) = &mut self.running {
            built.chain.process(block);
        }
        let len = block.first().map_or(0, |b| b.len());
        for (ch, samples) in block.iter_mut().enumerate() {
            self.pad.push(ch, samples);
            self.pad.read(ch, samples);
        }
        self.pad.advance(len);
    }

    /// Frames of past input the processed path is run over before it resumes after a
    /// bypass: four times the latency bound (its FIRs' memory is at most twice the latency;
    /// the rest lets the IIR stages settle), at least 1024, at most what the dry ring holds.
    fn prime_frames(&self) -> usize {
        (4 * self.latency).clamp(1024, MAX_DRY_DELAY)
    }

    /// The processed path resumes after a bypass during which it was not run: its state is
    /// from before the bypass. Reset it and run it over the last [`Engine::prime_frames`]
    /// frames of input (kept in the dry ring), discarding the output, so its filters hold
    /// what they would had it run all along and the crossfade back brings in the processed
    /// signal, not a stale or silent start. Runs in the block where the bypass ends; no
    /// allocation (the scratch channels are prepared).
    fn prime_wet(&mut self) {
        let frames = self.prime_frames();
        let Some(built) = &mut self.running else {
            return;
        };
        built.chain.reset();
        self.peq.reset();
        self.pad.reset();
        self.limiter.reset();
        let gain = self.output.gain.value() * self.swap_fade.value();
        // The scratch channels are taken out for the loop (`processed_path` borrows the
        // engine) and put back: a move, no allocation.
        let mut prime = std::mem::take(&mut self.prime);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(self.max_block);
            let mut block: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (ch, (slot, buf)) in block.iter_mut().zip(prime.iter_mut()).enumerate() {
                for (i, x) in buf[..n].iter_mut().enumerate() {
                    *x = self.dry.history(ch, frames - done - i);
                }
                *slot = &mut buf[..n];
            }
            let block = &mut block[..self.channels];
            self.processed_path(block);
            for samples in block.iter_mut() {
                samples.iter_mut().for_each(|x| *x *= gain);
            }
            self.limiter.process(block);
            done += n;
        }
        self.prime = prime;
    }
}

/// The DAC rates a chain from `catalogue` can run at besides the host's.
fn dac_rates(catalogue: &Catalogue) -> Vec<f64> {
    let mut rates: Vec<f64> = DacRate::ALL.iter().filter_map(|r| r.hz()).collect();
    rates.extend(catalogue.devices().iter().filter_map(|d| d.dac.dac_rate_hz));
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    rates
}

/// Input conditioning: NaN/±Inf → 0, denormals → 0, magnitudes limited to +18 dBFS.
#[derive(Debug, Default)]
struct InputConditioner {
    replaced: u64,
}

impl InputConditioner {
    fn reset(&mut self) {
        self.replaced = 0;
    }

    fn process(&mut self, block: &mut [f32]) {
        for x in block.iter_mut() {
            let (y, replaced) = sanitize_sample(*x);
            *x = y;
            self.replaced += u64::from(replaced);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct OutputTargets {
    wet_gain: f32,
    wet_mix: f32,
}

/// Output stage: level match and trim on the processed path, then the bypass crossfade.
#[derive(Debug)]
struct OutputStage {
    gain: LinearRamp,
    mix: LinearRamp,
}

impl Default for OutputStage {
    fn default() -> Self {
        Self {
            gain: LinearRamp::new(1.0, 1),
            mix: LinearRamp::new(1.0, 1),
        }
    }
}

impl OutputStage {
    fn prepare(&mut self, ramp_len: u32) {
        self.gain = LinearRamp::new(self.gain.target(), ramp_len);
        self.mix = LinearRamp::new(self.mix.target(), ramp_len);
    }

    fn reset(&mut self, targets: &OutputTargets) {
        self.gain.reset(targets.wet_gain);
        self.mix.reset(targets.wet_mix);
    }

    /// Only the dry signal is heard: the bypass crossfade is over.
    fn is_dry(&self) -> bool {
        self.mix.is_settled() && self.mix.value() == 0.0
    }

    /// Jump the processed path's gain ramp to its target.
    fn settle_gain(&mut self) {
        self.gain.reset(self.gain.target());
    }

    fn set_targets(&mut self, targets: &OutputTargets) {
        self.gain.set_target(targets.wet_gain);
        self.mix.set_target(targets.wet_mix);
    }

    /// The processed path's gain (level and trim), before the limiter. `block` holds the
    /// prepared channels only (the engine slices it).
    fn apply_gain(&mut self, block: &mut [&mut [f32]]) {
        apply_ramp(block, &mut self.gain);
    }

    /// The bypass crossfade with the latency-compensated dry signal.
    fn mix(&mut self, block: &mut [&mut [f32]], dry: &MultiDelay) {
        let len = block.first().map_or(0, |b| b.len());
        if self.mix.is_settled() {
            let mix = self.mix.value();
            if mix == 1.0 {
                // Not bypassed: `1·x + 0·dry` is `x` (the dry signal is finite).
                for buf in block.iter_mut() {
                    buf.iter_mut().for_each(|x| *x = flush(*x));
                }
                return;
            }
            for (ch, buf) in block.iter_mut().enumerate() {
                for (i, x) in buf.iter_mut().enumerate() {
                    *x = flush(mix * *x + (1.0 - mix) * dry.get(ch, i));
                }
            }
            return;
        }
        for i in 0..len {
            let mix = self.mix.next_value();
            for (ch, buf) in block.iter_mut().enumerate() {
                let x = &mut buf[i];
                *x = flush(mix * *x + (1.0 - mix) * dry.get(ch, i));
            }
        }
    }
}

/// Multiply `block` by `ramp`, advanced once per frame (shared by all channels).
fn apply_ramp(block: &mut [&mut [f32]], ramp: &mut LinearRamp) {
    if ramp.is_settled() {
        let gain = ramp.value();
        if gain != 1.0 {
            for buf in block.iter_mut() {
                buf.iter_mut().for_each(|x| *x *= gain);
            }
        }
        return;
    }
    let len = block.first().map_or(0, |b| b.len());
    for i in 0..len {
        let gain = ramp.next_value();
        for buf in block.iter_mut() {
            buf[i] *= gain;
        }
    }
}

#[inline]
fn flush(x: f32) -> f32 {
    if x.abs() < DENORMAL_FLOOR {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{impulse_peak, tone};
    use crate::dac::DacMode;
    use crate::presets::{DeviceSlot, HeadphoneSlot};

    const IDEAL: DeviceSlot = DeviceSlot::IDEAL;

    fn sine(freq_hz: f32, rate: f32, n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (std::f32::consts::TAU * freq_hz * i as f32 / rate).sin())
            .collect()
    }

    fn run(engine: &mut Engine, left: &mut [f32], right: &mut [f32]) {
        let mut chans: [&mut [f32]; 2] = [left, right];
        engine.process(&mut chans);
    }

    /// A curve imported between `prepare` and the first block (an LV2 host restoring its
    /// state before it activates) is in the chain `install_now` builds: no rebuild follows,
    /// and the output equals an engine that had the curve before `prepare`.
    #[test]
    fn install_now_takes_a_curve_imported_after_prepare() {
        let zma = "20 8 0\n1000 12 20\n3000 40 60\n10000 9.5 -10\n20000 9 0\n";
        let settings = Settings {
            device: IDEAL,
            headphone: HeadphoneSlot::CUSTOM,
            z_out_custom: true,
            z_out_ohms: 75.0,
            ..Settings::default()
        };
        let late = CustomLoad::default();
        let mut engine = Engine::with_custom_load(&Settings::default(), late.clone());
        engine.prepare(48_000.0, 512, 2);
        late.import("c.zma", zma).unwrap();
        assert!(engine.install_now(&settings));

        let early = CustomLoad::default();
        early.import("c.zma", zma).unwrap();
        let mut reference = Engine::with_custom_load(&settings, early);
        reference.prepare(48_000.0, 512, 2);

        let input = sine(3000.0, 48_000.0, 512, 0.5);
        for block in 0..40 {
            let (mut l, mut r) = (input.clone(), input.clone());
            let (mut l2, mut r2) = (input.clone(), input.clone());
            run(&mut engine, &mut l, &mut r);
            run(&mut reference, &mut l2, &mut r2);
            assert!(
                !engine.rebuild_pending(),
                "block {block}: a rebuild followed"
            );
            assert_eq!((l, r), (l2, r2), "block {block}");
        }
    }

    fn prepared(settings: Settings, rate: f32, block: usize, channels: usize) -> Engine {
        let mut e = Engine::new(&settings);
        e.prepare(rate, block, channels);
        e
    }

    /// Level of `freq` through the engine relative to the input, in dB.
    fn level_db(e: &mut Engine, freq: f32, seconds: f32) -> f64 {
        let rate = e.sample_rate();
        let n = (rate * seconds) as usize;
        let input = sine(freq, rate, n, 0.5);
        let mut x = input.clone();
        e.reset();
        e.process(&mut [&mut x[..]]);
        let skip = e.latency_samples() + (rate * 0.01) as usize;
        tone(&x[skip..], f64::from(rate), f64::from(freq)).level_db - 20.0 * 0.5f64.log10()
    }

    /// Process silence until a structural change has been built and swapped in.
    fn settle(e: &mut Engine) {
        let start = std::time::Instant::now();
        let mut silence = vec![0.0f32; 256];
        while e.rebuild_pending() {
            e.process(&mut [&mut silence[..]]);
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert!(start.elapsed().as_secs() < 20, "rebuild did not finish");
        }
    }

    /// A re-activation (prepare again) with the same layout and settings keeps the built
    /// chain (the same allocation) and its output is a fresh engine's, bit for bit; another
    /// rate, or other settings, build anew.
    #[test]
    fn prepare_again_keeps_the_chain_when_nothing_changed() {
        let k13 = Settings::default();
        let chain_ptr = |e: &Engine| e.chain().map(|c| c as *const Chain);
        let mut e = prepared(k13, 48_000.0, 512, 2);
        let first = chain_ptr(&e);
        let first_layout = e.chain().expect("built").layout();
        let noise = crate::analysis::testutil::to_f32(&crate::analysis::testutil::white_noise(
            4800, 0.1, 3,
        ));
        let mut dirty = noise.clone();
        e.process(&mut [&mut dirty[..]]);
        e.set_settings_for_prepare(&k13);
        e.prepare(48_000.0, 512, 2);
        assert_eq!(chain_ptr(&e), first, "same layout and settings: kept");
        let mut fresh = prepared(k13, 48_000.0, 512, 2);
        let (mut a, mut b) = (noise.clone(), noise.clone());
        e.process(&mut [&mut a[..]]);
        fresh.process(&mut [&mut b[..]]);
        assert_eq!(a, b, "a kept chain starts from rest like a new one");
        // A rebuilt chain may reuse the freed allocation, so what tells it apart is what it
        // was built for, not its address.
        e.prepare(44_100.0, 512, 2);
        let rate = |e: &Engine| e.chain().map(|c| c.layout());
        assert_ne!(rate(&e), Some(first_layout), "another rate: rebuilt");
        e.set_settings_for_prepare(&Settings {
            dac_mode: crate::dac::DacMode::Nos,
            ..k13
        });
        e.prepare(44_100.0, 512, 2);
        assert_eq!(
            e.chain().map(Chain::mode),
            Some(crate::dac::DacMode::Nos),
            "other settings: rebuilt"
        );
        assert!(e.chain().unwrap().config().dac.hold, "the NOS chain holds");
    }

    /// A host re-activates while the worker is still building the chain a change asked for:
    /// `prepare` builds that chain itself, and the worker's copy, arriving later, is not
    /// swapped in (no fade, no jump): the output equals a fresh engine's, bit for bit.
    #[test]
    fn prepare_during_a_rebuild_ignores_the_late_copy() {
        let base = Settings::default();
        let mut changed = Settings {
            output_trim_db: -9.0,
            headphone: HeadphoneSlot(3),
            ..base
        };
        changed.peq.bands[0] = crate::peq::Band {
            on: true,
            kind: crate::peq::FilterType::Peak,
            freq_hz: 100.0,
            gain_db: 6.0,
            q: 2.0,
        };
        let x = sine(440.0, 48_000.0, 48_000, 0.1);
        let mut e = prepared(base, 48_000.0, 512, 1);
        e.set_settings(&changed);
        // Two blocks: the request is out, the worker (tens of ms) not done.
        let mut head = x[..1024].to_vec();
        for block in head.chunks_mut(512) {
            e.process(&mut [block]);
        }
        e.set_settings_for_prepare(&changed);
        e.prepare(48_000.0, 512, 1);
        let mut fresh = prepared(changed, 48_000.0, 512, 1);
        let (mut a, mut b) = (x.clone(), x.clone());
        for (ba, bb) in a.chunks_mut(512).zip(b.chunks_mut(512)) {
            e.process(&mut [ba]);
            fresh.process(&mut [bb]);
            // Give the worker time to deliver its copy within the run.
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        let first = a.iter().zip(&b).position(|(p, q)| p != q);
        assert_eq!(first, None, "re-activated engine differs from a fresh one");
    }

    #[test]
    fn ideal_device_is_transparent_and_latency_is_the_impulse_peak() {
        let s = Settings {
            device: IDEAL,
            ..Settings::default()
        };
        for rate in [44_100.0f32, 96_000.0, 192_000.0] {
            let mut e = prepared(s, rate, 256, 1);
            for f in [100.0f32, 1000.0, 10_000.0, 20_000.0] {
                let l = level_db(&mut e, f, 0.2);
                assert!(l.abs() < 0.01, "{rate} Hz host, {f} Hz: {l:.4} dB");
            }
            let mut x = vec![0.0f32; 8192];
            x[0] = 0.5;
            e.reset();
            e.process(&mut [&mut x[..]]);
            assert!(e.latency_samples() > 0);
            assert_eq!(impulse_peak(&x), e.latency_samples(), "{rate} Hz");
        }
    }

    #[test]
    fn level_match_holds_the_k13_at_0_db_and_trim_sets_the_level() {
        let mut e = prepared(Settings::default(), 48_000.0, 512, 2);
        let matched = level_db(&mut e, 1000.0, 0.3);
        assert!(matched.abs() < 0.01, "level matched: {matched:.4} dB");
        e.apply_now(&Settings {
            output_trim_db: -6.0,
            ..Settings::default()
        });
        let trimmed = level_db(&mut e, 1000.0, 0.3);
        assert!((trimmed + 6.0).abs() < 0.01, "trim −6 dB: {trimmed:.4} dB");
        e.apply_now(&Settings {
            level_match: false,
            ..Settings::default()
        });
        // Absolute: the amp's volts (K13 SE, low gain, 50 % on its volume law) re 1 Vrms,
        // times the DAC and the load at 1 kHz.
        let raw = level_db(&mut e, 1000.0, 0.3);
        let spec = crate::amp::AmpSpec::k13_r2r();
        let volts = spec
            .gain(crate::amp::Output::Se, crate::amp::GainStep::Low)
            .full_scale_vrms
            * spec.volume.gain(50.0);
        let expected =
            20.0 * (volts / crate::amp::V_REF_VRMS).log10() - f64::from(e.level_match_db());
        assert!(
            (raw - expected).abs() < 0.01,
            "unmatched {raw:.4} dB, expected {expected:.4}"
        );
    }

    #[test]
    fn trim_change_is_ramped_without_steps() {
        let s = Settings {
            device: IDEAL,
            ..Settings::default()
        };
        let mut e = prepared(s, 48_000.0, 64, 1);
        let mut dc = vec![0.5f32; 4000];
        e.process(&mut [&mut dc[..2000]]);
        e.set_settings(&Settings {
            output_trim_db: -12.0,
            ..s
        });
        e.process(&mut [&mut dc[2000..]]);
        // 10 ms ramp at 48 kHz = 480 samples: no step larger than the total change / 480
        // (plus the settled chain's own ripple on DC, < 1e-6), and the end value is exact.
        let total = 0.5 - 0.5 * db_to_gain(-12.0);
        let max_step = dc[2000..]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(max_step <= total / 480.0 * 1.01 + 1e-6, "step {max_step}");
        assert!((dc[3999] - 0.5 * db_to_gain(-12.0)).abs() < 1e-4);
    }

    #[test]
    fn bypass_is_the_input_delayed_by_the_latency() {
        let s = Settings {
            output_trim_db: -20.0,
            bypass: true,
            ..Settings::default()
        };
        let mut e = prepared(s, 44_100.0, 128, 2);
        let latency = e.latency_samples();
        assert!(latency > 0);
        let input = sine(440.0, 44_100.0, 3000, 0.3);
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        assert_eq!(
            &l[latency..],
            &input[..3000 - latency],
            "bit for bit, delayed"
        );
        assert!(l[..latency].iter().all(|&x| x == 0.0));
    }

    /// A catalogue whose K13 has no hiss and no ladder dither: its output is then
    /// deterministic, so two engines can be compared sample by sample.
    fn noiseless_k13() -> (Catalogue, DeviceSlot) {
        let slot = DeviceSlot::by_id("fiio-k13-r2r").unwrap();
        let mut k13 = Catalogue::factory().devices()[slot.0].clone();
        if let crate::dac::ConverterKind::R2r(ladder) = &mut k13.dac.converter {
            ladder.dither = false;
        }
        for output in &mut k13.amp.outputs {
            for gain in &mut output.gains {
                gain.noise_uv_a = 0.0;
            }
        }
        (Catalogue::with_user(vec![k13], Vec::new()), slot)
    }

    /// Bypass, then back: while bypassed (its crossfade over) the processed path is not
    /// run, and it is primed when the bypass ends. Through the crossfade back and after it,
    /// the output equals the ideal crossfade between an engine that was never bypassed and
    /// the latency-compensated input (the K13 without hiss on the HD600 from 10 Ω, a PEQ
    /// band on): max |Δ| 4.6e-7. Resetting without priming fails this (the processed path
    /// starts silent and rings in: 0.17), and so does not resetting (its old state plays:
    /// 0.21).
    #[test]
    fn the_chain_resumes_after_a_bypass_without_a_click() {
        let rate = 44_100.0;
        let block = 256;
        let (catalogue, k13) = noiseless_k13();
        let mut base = Settings {
            device: k13,
            headphone: HeadphoneSlot::by_id("sennheiser-hd600").unwrap(),
            z_out_custom: true,
            z_out_ohms: 10.0,
            ..Settings::default()
        };
        base.peq.on = true;
        base.peq.bands[0] = crate::peq::Band {
            on: true,
            kind: crate::peq::FilterType::Peak,
            freq_hz: 3000.0,
            gain_db: 6.0,
            q: 1.0,
        };
        let bypassed = Settings {
            bypass: true,
            ..base
        };
        let engine = || {
            let mut e = Engine::with_catalogue(&base, catalogue.clone(), CustomLoad::default());
            e.prepare(rate, block, 2);
            e
        };
        let (mut never, mut resumed) = (engine(), engine());
        let latency = never.latency_samples();
        let segment = 80 * block;
        let n = 3 * segment;
        let input: Vec<f32> = sine(1000.0, rate, n, 0.2)
            .iter()
            .zip(sine(7000.0, rate, n, 0.05))
            .map(|(a, b)| a + b)
            .collect();
        let (mut a, mut b) = (input.clone(), input.clone());
        for (k, (ca, cb)) in a.chunks_mut(block).zip(b.chunks_mut(block)).enumerate() {
            let start = k * block;
            if start == segment {
                resumed.set_settings(&bypassed);
            } else if start == 2 * segment {
                resumed.set_settings(&base);
            }
            let (mut ra, mut rb) = (ca.to_vec(), cb.to_vec());
            run(&mut never, ca, &mut ra);
            run(&mut resumed, cb, &mut rb);
        }
        let ramp = (RAMP_SECONDS * rate).round() as usize;
        // Bypassed (after its crossfade): the input, delayed.
        for i in segment + ramp..2 * segment {
            assert_eq!(b[i], input[i - latency], "bypassed at {i}");
        }
        // Back: the crossfade from the input to the never-bypassed output, then that output.
        let mut worst = (0.0f32, 0);
        for i in 2 * segment..n {
            let m = ((i - 2 * segment + 1) as f32 / ramp as f32).min(1.0);
            let expected = m * a[i] + (1.0 - m) * input[i - latency];
            let d = (b[i] - expected).abs();
            if d > worst.0 {
                worst = (d, i - 2 * segment);
            }
        }
        println!(
            "after the bypass: max |Δ| {:.2e} against the ideal crossfade ({} frames after \
             the bypass ended; latency {latency}, ramp {ramp})",
            worst.0, worst.1
        );
        assert!(worst.0 < 1e-5, "max |Δ| {:e} at {}", worst.0, worst.1);
    }

    #[test]
    fn non_finite_bursts_never_poison_later_output() {
        let mut e = prepared(Settings::default(), 96_000.0, 512, 2);
        let mut l = sine(1000.0, 96_000.0, 512, 0.5);
        let mut r = l.clone();
        l[10] = f32::NAN;
        l[11] = f32::INFINITY;
        r[12] = f32::NEG_INFINITY;
        r[13] = 1.0e-40; // denormal
        run(&mut e, &mut l, &mut r);
        assert!(l.iter().chain(r.iter()).all(|x| x.is_finite()));
        assert_eq!(e.non_finite_inputs(), 3);
        let mut l = sine(1000.0, 96_000.0, 9600, 0.5);
        let mut r = l.clone();
        run(&mut e, &mut l, &mut r);
        assert!(l.iter().chain(r.iter()).all(|x| x.is_finite()));
        let level = tone(&l[4800..], 96_000.0, 1000.0).level_db - 20.0 * 0.5f64.log10();
        assert!(level.abs() < 0.01, "after the burst {level:.4} dB");
    }

    #[test]
    fn split_blocks_equal_one_block() {
        let s = Settings {
            output_trim_db: 3.0,
            ..Settings::default()
        };
        let input = sine(997.0, 44_100.0, 5000, 0.25);
        let mut whole = prepared(s, 44_100.0, 8192, 1);
        let mut a = input.clone();
        // change a level setting mid-stream in both runs so the ramp is covered too
        whole.process(&mut [&mut a[..100]]);
        whole.set_settings(&Settings::default());
        whole.process(&mut [&mut a[100..]]);

        let mut split = prepared(s, 44_100.0, 64, 1);
        let mut b = input.clone();
        let sizes = [1usize, 7, 64, 13, 15];
        let mut pos = 0;
        let mut k = 0;
        while pos < b.len() {
            if pos == 100 {
                split.set_settings(&Settings::default());
            }
            let mut n = sizes[k % sizes.len()].min(b.len() - pos);
            if pos < 100 {
                n = n.min(100 - pos);
            }
            split.process(&mut [&mut b[pos..pos + n]]);
            pos += n;
            k += 1;
        }
        assert_eq!(a, b);
    }

    #[test]
    fn nos_switch_is_built_off_thread_and_shows_the_droop() {
        let mut e = prepared(Settings::default(), 44_100.0, 512, 1);
        let os_latency = e.latency_samples();
        let os_chain_latency = e.chain().unwrap().latency_samples();
        let os_20k = level_db(&mut e, 20_000.0, 0.2) - level_db(&mut e, 1000.0, 0.2);
        e.set_settings(&Settings {
            dac_mode: DacMode::Nos,
            ..Settings::default()
        });
        assert!(e.rebuild_pending());
        settle(&mut e);
        assert_eq!(e.chain().unwrap().mode(), DacMode::Nos);
        let nos_20k = level_db(&mut e, 20_000.0, 0.2) - level_db(&mut e, 1000.0, 0.2);
        // ZOH droop (−3.16 dB re 1 kHz) on top of the K13's analog low-pass.
        let droop = nos_20k - os_20k;
        assert!(
            (droop + 3.16).abs() < 0.1,
            "NOS − OS at 20 kHz: {droop:.3} dB"
        );
        assert_eq!(
            e.latency_samples(),
            os_latency,
            "the latency does not move with the voicing"
        );
        assert!(
            e.chain().unwrap().latency_samples() < os_chain_latency,
            "NOS has no OS filter delay: the padding makes up for it"
        );
        let mut x = vec![0.0f32; 8192];
        x[0] = 0.5;
        e.reset();
        e.process(&mut [&mut x[..]]);
        assert_eq!(impulse_peak(&x), e.latency_samples());
    }

    #[test]
    fn mono_and_extra_channels() {
        let mut e = prepared(
            Settings {
                device: IDEAL,
                output_trim_db: -6.0,
                ..Settings::default()
            },
            48_000.0,
            32,
            1,
        );
        let mut l = vec![0.5f32; 4000];
        let mut r = vec![1.0f32; 4000];
        run(&mut e, &mut l, &mut r);
        assert!((l[3999] - 0.5 * db_to_gain(-6.0)).abs() < 1e-4);
        assert_eq!(
            r,
            vec![1.0; 4000],
            "channels beyond the prepared count are untouched"
        );
        // zero-length blocks are fine
        run(&mut e, &mut [], &mut []);
    }

    #[test]
    fn unprepared_engine_leaves_audio_alone() {
        let mut e = Engine::new(&Settings::default());
        let mut x = vec![0.25f32; 64];
        e.process(&mut [&mut x[..]]);
        assert_eq!(x, vec![0.25f32; 64]);
    }
}
