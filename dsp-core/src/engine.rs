//! The signal chain.
//!
//! ```text
//! host rate                      analog domain (K·fs, issue "DAC stage")          host rate
//! input conditioning → PEQ → DAC ──► analog stages → load ──► decimator → output (level match,
//!                                                                           trim, bypass)
//! ```
//!
//! Each stage is a struct with `prepare` (allocates), `reset` and `process` (never
//! allocates). Stages not built yet are absent, not faked: the chain is the identity between
//! input conditioning and output, and [`Engine::latency_samples`] is the sum of the stages'
//! latencies (zero until the decimator exists).

use crate::settings::Settings;
use crate::util::{db_to_gain, sanitize_sample, LinearRamp, DENORMAL_FLOOR};
use crate::MAX_CHANNELS;

/// Length of gain ramps and of the bypass crossfade.
const RAMP_SECONDS: f32 = 0.010;

/// The Sourcery engine: one instance per plugin instance, mono or stereo.
pub struct Engine {
    settings: Settings,
    sample_rate: f32,
    max_block: usize,
    channels: usize,
    latency: usize,
    input: InputConditioner,
    output: OutputStage,
    /// Latency-compensated copy of the input for bypass: one ring per channel.
    dry: DryPath,
}

impl Engine {
    /// Create an engine for `settings`. Call [`Engine::prepare`] before processing.
    pub fn new(settings: &Settings) -> Self {
        let mut engine = Self {
            settings: settings.clone(),
            sample_rate: 48_000.0,
            max_block: 0,
            channels: 0,
            latency: 0,
            input: InputConditioner::default(),
            output: OutputStage::default(),
            dry: DryPath::default(),
        };
        engine.prepare(48_000.0, 512, MAX_CHANNELS);
        engine
    }

    /// Allocate everything for this sample rate, largest block and channel count (1 or 2).
    /// May allocate; never call it from the audio thread.
    pub fn prepare(&mut self, sample_rate: f32, max_block: usize, channels: usize) {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "invalid sample rate {sample_rate}"
        );
        self.sample_rate = sample_rate;
        self.max_block = max_block.max(1);
        self.channels = channels.clamp(1, MAX_CHANNELS);
        self.latency = 0;
        let ramp_len = (RAMP_SECONDS * sample_rate).round() as u32;
        self.output.prepare(ramp_len);
        self.dry
            .prepare(self.channels, self.max_block, self.latency);
        self.apply_settings();
        self.reset();
    }

    /// Clear all state (filters, delay lines, ramps). Does not allocate.
    pub fn reset(&mut self) {
        self.input.reset();
        self.dry.reset();
        self.output.reset(&self.targets());
    }

    /// Take new settings. Does not allocate; parameter-driven changes are ramped.
    pub fn set_settings(&mut self, settings: &Settings) {
        if *settings != self.settings {
            self.settings.clone_from(settings);
            self.apply_settings();
        }
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

    /// Latency of the processed path in samples at the host rate; the bypass path is delayed
    /// by the same amount.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Gain that level matching applies, in dB: minus the chain's level at 1 kHz. Zero while
    /// no level-changing stage exists.
    pub fn level_match_db(&self) -> f32 {
        0.0
    }

    /// Number of non-finite input samples replaced by silence since the last reset.
    pub fn non_finite_inputs(&self) -> u64 {
        self.input.replaced
    }

    fn targets(&self) -> OutputTargets {
        let level_match_db = if self.settings.level_match {
            self.level_match_db()
        } else {
            0.0
        };
        OutputTargets {
            wet_gain: db_to_gain(self.settings.output_trim_db + level_match_db),
            wet_mix: if self.settings.bypass { 0.0 } else { 1.0 },
        }
    }

    fn apply_settings(&mut self) {
        let targets = self.targets();
        self.output.set_targets(&targets);
    }

    /// Process audio in place. `channels` holds one slice per channel, all of the same
    /// length (any length, including 0 and lengths above `max_block`). Channels beyond the
    /// prepared count are left as they are. Never allocates.
    pub fn process(&mut self, channels: &mut [&mut [f32]]) {
        let n_ch = channels.len().min(self.channels);
        if n_ch == 0 {
            return;
        }
        let frames = channels[..n_ch].iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < frames {
            let len = (frames - start).min(self.max_block);
            self.process_block(&mut channels[..n_ch], start, len);
            start += len;
        }
    }

    fn process_block(&mut self, channels: &mut [&mut [f32]], start: usize, len: usize) {
        for (ch, buf) in channels.iter_mut().enumerate() {
            let block = &mut buf[start..start + len];
            self.input.process(block);
            self.dry.push(ch, block);
        }
        // PEQ (host rate) — issue "Parametric EQ".
        // DAC: host rate → analog domain — issue "DAC stage".
        // Analog stages and load (analog domain) — issues "DAC stage", "Amp and load".
        // Decimator: analog domain → host rate — issue "DAC stage".
        self.output
            .process(channels, start, len, &self.dry, self.channels);
        self.dry.advance(len);
    }
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

/// Delay line for the dry signal, so bypass is time-aligned with the processed path.
#[derive(Debug, Default)]
struct DryPath {
    /// One ring per channel, `latency + max_block` long.
    rings: Vec<Vec<f32>>,
    latency: usize,
    write: usize,
}

impl DryPath {
    fn prepare(&mut self, channels: usize, max_block: usize, latency: usize) {
        self.latency = latency;
        self.rings = vec![vec![0.0; latency + max_block]; channels];
        self.write = 0;
    }

    fn reset(&mut self) {
        for ring in &mut self.rings {
            ring.fill(0.0);
        }
        self.write = 0;
    }

    /// Store one channel's conditioned input block at the write position.
    fn push(&mut self, ch: usize, block: &[f32]) {
        let ring = &mut self.rings[ch];
        let n = ring.len();
        for (i, &x) in block.iter().enumerate() {
            ring[(self.write + i) % n] = x;
        }
    }

    /// The dry sample for frame `i` of the current block: the input `latency` frames ago.
    #[inline]
    fn get(&self, ch: usize, i: usize) -> f32 {
        let ring = &self.rings[ch];
        let n = ring.len();
        ring[(self.write + i + n - self.latency) % n]
    }

    fn advance(&mut self, len: usize) {
        if let Some(n) = self.rings.first().map(Vec::len) {
            self.write = (self.write + len) % n;
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

    fn set_targets(&mut self, targets: &OutputTargets) {
        self.gain.set_target(targets.wet_gain);
        self.mix.set_target(targets.wet_mix);
    }

    fn process(
        &mut self,
        channels: &mut [&mut [f32]],
        start: usize,
        len: usize,
        dry: &DryPath,
        prepared_channels: usize,
    ) {
        let n_ch = channels.len().min(prepared_channels);
        if self.gain.is_settled() && self.mix.is_settled() {
            let gain = self.gain.value();
            let mix = self.mix.value();
            for (ch, buf) in channels[..n_ch].iter_mut().enumerate() {
                for (i, x) in buf[start..start + len].iter_mut().enumerate() {
                    *x = flush(mix * gain * *x + (1.0 - mix) * dry.get(ch, i));
                }
            }
            return;
        }
        // Ramping: advance the ramps once per frame, shared by all channels.
        for i in 0..len {
            let gain = self.gain.next_value();
            let mix = self.mix.next_value();
            for (ch, buf) in channels[..n_ch].iter_mut().enumerate() {
                let x = &mut buf[start + i];
                *x = flush(mix * gain * *x + (1.0 - mix) * dry.get(ch, i));
            }
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
    use crate::util::gain_to_db;

    fn sine(freq_hz: f32, rate: f32, n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (std::f32::consts::TAU * freq_hz * i as f32 / rate).sin())
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    fn run(engine: &mut Engine, left: &mut [f32], right: &mut [f32]) {
        let mut chans: [&mut [f32]; 2] = [left, right];
        engine.process(&mut chans);
    }

    #[test]
    fn defaults_are_identity_with_zero_latency() {
        let mut e = Engine::new(&Settings::default());
        e.prepare(44_100.0, 256, 2);
        let input = sine(1000.0, 44_100.0, 1000, 0.5);
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        assert_eq!(l, input);
        assert_eq!(r, input);
        assert_eq!(e.latency_samples(), 0);
    }

    #[test]
    fn trim_sets_level_within_0_01_db() {
        let s = Settings {
            output_trim_db: -6.0,
            ..Settings::default()
        };
        let mut e = Engine::new(&s);
        e.prepare(48_000.0, 512, 2);
        let input = sine(1000.0, 48_000.0, 4800, 0.5);
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        let db = gain_to_db(rms(&l) / rms(&input));
        assert!((db + 6.0).abs() < 0.01, "measured {db} dB");
        assert_eq!(l, r);
    }

    #[test]
    fn trim_change_is_ramped_without_steps() {
        let mut e = Engine::new(&Settings::default());
        e.prepare(48_000.0, 64, 1);
        let mut dc = vec![0.5f32; 2000];
        e.set_settings(&Settings {
            output_trim_db: -12.0,
            ..Settings::default()
        });
        e.process(&mut [&mut dc[..]]);
        // 10 ms ramp at 48 kHz = 480 samples: no sample-to-sample step larger than the
        // total change / 480 (plus float slack), and the end value is exact.
        let total = 0.5 - 0.5 * db_to_gain(-12.0);
        let max_step = dc
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        assert!(max_step <= total / 480.0 * 1.01, "step {max_step}");
        assert!((dc[1999] - 0.5 * db_to_gain(-12.0)).abs() < 1e-6);
        assert!(dc[100] > dc[1999], "ramp must not jump");
    }

    #[test]
    fn bypass_is_exact_and_crossfaded() {
        let s = Settings {
            output_trim_db: -20.0,
            bypass: true,
            ..Settings::default()
        };
        let mut e = Engine::new(&s);
        e.prepare(44_100.0, 128, 2);
        let input = sine(440.0, 44_100.0, 3000, 0.3);
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        assert_eq!(l, input, "bypass passes the input through bit for bit");
        // Turning bypass off fades to the trimmed signal over 441 samples.
        e.set_settings(&Settings {
            bypass: false,
            ..s.clone()
        });
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        assert!((l[1000] - input[1000] * 0.1).abs() < 1e-6);
        // No click: the output's largest step is at most the input's largest step plus the
        // fade's own increment (|x| ≤ 0.3, gain 1 → 0.1 over 441 samples).
        let step = |x: &[f32]| {
            x.windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0.0, f32::max)
        };
        let fade_increment = 0.3 * 0.9 / 441.0;
        assert!(
            step(&l) <= step(&input) + fade_increment * 1.01,
            "crossfade step {} vs input {}",
            step(&l),
            step(&input)
        );
    }

    #[test]
    fn non_finite_bursts_never_poison_later_output() {
        let mut e = Engine::new(&Settings::default());
        e.prepare(96_000.0, 512, 2);
        let mut l = sine(1000.0, 96_000.0, 512, 0.5);
        let mut r = l.clone();
        l[10] = f32::NAN;
        l[11] = f32::INFINITY;
        r[12] = f32::NEG_INFINITY;
        r[13] = 1.0e-40; // denormal
        run(&mut e, &mut l, &mut r);
        assert!(l.iter().chain(r.iter()).all(|x| x.is_finite()));
        assert_eq!(e.non_finite_inputs(), 3);
        let input = sine(1000.0, 96_000.0, 512, 0.5);
        let (mut l, mut r) = (input.clone(), input.clone());
        run(&mut e, &mut l, &mut r);
        assert_eq!(l, input);
    }

    #[test]
    fn split_blocks_equal_one_block() {
        let s = Settings {
            output_trim_db: 3.0,
            ..Settings::default()
        };
        let input = sine(997.0, 44_100.0, 5000, 0.25);
        let mut whole = Engine::new(&s);
        whole.prepare(44_100.0, 8192, 1);
        let mut a = input.clone();
        // change settings mid-stream in both runs so the ramp is covered too
        whole.process(&mut [&mut a[..100]]);
        whole.set_settings(&Settings::default());
        whole.process(&mut [&mut a[100..]]);

        let mut split = Engine::new(&s);
        split.prepare(44_100.0, 64, 1);
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
    fn mono_and_extra_channels() {
        let mut e = Engine::new(&Settings {
            output_trim_db: -6.0,
            ..Settings::default()
        });
        e.prepare(48_000.0, 32, 1);
        let mut l = vec![1.0f32; 10];
        let mut r = vec![1.0f32; 10];
        run(&mut e, &mut l, &mut r);
        assert!((l[0] - db_to_gain(-6.0)).abs() < 1e-6);
        assert_eq!(
            r,
            vec![1.0; 10],
            "channels beyond the prepared count are untouched"
        );
        // zero-length blocks are fine
        run(&mut e, &mut [], &mut []);
    }
}
