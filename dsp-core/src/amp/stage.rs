//! The amp stage: digital full scale → volts at the amp's open-circuit output (gain step ×
//! volume) → soft clip at the device's limits → + noise → back to the chain's units.
//!
//! Per sample, at the analog rate F:
//!
//! ```text
//! v = pre·x                 pre  = full_scale_vrms·√2·10^(volume_db/20)   (volts per FS peak)
//! v = clip(v)               rail = √2·(open-circuit rated voltage) / R1
//! v = v + σ·n               σ from the A-weighted noise figure (see `noise`)
//! y = post·v                level-matched: post = 1/max(pre, pre_floor)
//!                           absolute:      post = 1/(√2·V_REF_VRMS)
//! ```
//!
//! **Level-matched** (default): the linear gain `post·pre` is exactly 1, so loudness does
//! not follow the knob; what the knob changes is what a real amp's knob changes relative
//! to the music — the noise (fixed in volts) rises by 1 dB per dB of volume taken away,
//! and clipping arrives earlier as the volume rises. Below [`LEVEL_MATCH_FLOOR_DB`] of
//! volume the match stops (`pre_floor`) and the output fades with the knob, so 0 %
//! (mute) gives the amp's noise at that floor — never a noise gain that explodes as
//! `pre → 0`.
//!
//! **Absolute**: volts at the amp output map to the chain's units with a fixed scale, a
//! 1 Vrms sine reading as a 0 dBFS sine ([`V_REF_VRMS`]): a 0.5 Vrms device reads −6.02 dB.
//!
//! Gain step, volume and mode changes ramp over [`RAMP_SECONDS`] with `LinearRamp`s
//! (`pre`, `pre_floor`, the mode crossfade and σ), one set per channel so every channel
//! follows exactly the same trajectory. While ramping, `post` is recomputed per sample from
//! the ramped `pre`, so in level-matched mode the gain stays exactly 1 *during* a volume
//! ramp too. Settled blocks run eight lanes at a time (`wide::f32x8`), bit-identical to the
//! per-sample path.

use std::f64::consts::SQRT_2;

use wide::f32x8;

use super::clipper::{load8, SoftClipper, R1};
use super::noise::{sigma_for_a_weighted, NoiseGen};
use super::spec::{AmpSpec, GainSpec, GainStep, Output, OutputSpec};
use crate::util::LinearRamp;

/// Absolute mode's reference: a sine of this many Vrms at the amp output reads as a 0 dBFS
/// sine (digital peak 1.0 = √2·V_REF volts).
pub const V_REF_VRMS: f64 = 1.0;

/// Level matching compensates volume settings down to this many dB below 100 %; below it
/// the output follows the knob (at 0 % only the amp's noise remains, at the level of this
/// floor). 60 dB covers every sensible listening setting (−60 dB of volume costs 60 dB of
/// SNR: the K13's 117 dB becomes 57 dB) while bounding the noise gain at mute.
pub const LEVEL_MATCH_FLOOR_DB: f64 = -60.0;

/// Ramp time (s) for gain step, volume and mode changes.
pub const RAMP_SECONDS: f64 = 0.010;

/// Samples processed per inner pass (noise scratch on the stack).
const SUB_BLOCK: usize = 256;

/// `post` in absolute mode: `1/(√2·V_REF)` (volts → digital units).
const ABSOLUTE_POST: f64 = 1.0 / (SQRT_2 * V_REF_VRMS);

/// Base of the per-channel noise seeds (channel index added).
const NOISE_SEED: u64 = 0x50_55_52_43_45_52_59_41; // arbitrary

/// The amp a chain runs: the device's amp and the output in use. The stage is built from
/// it and what the output drives ([`AmpOutput::driving`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmpOutput {
    pub spec: AmpSpec,
    pub output: Output,
}

impl AmpOutput {
    /// The stage's configuration when the output drives `load_ohms` (|Z_L(1 kHz)|, `+∞`
    /// for an open circuit) through `z_out_ohms`.
    pub fn driving(&self, load_ohms: f64, z_out_ohms: f64) -> AmpConfig {
        AmpConfig {
            spec: self.spec,
            output: self.output,
            load_ohms,
            z_out_ohms,
        }
    }
}

/// The amp's realtime controls (ramped; no rebuild).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmpControls {
    pub gain: GainStep,
    pub volume_percent: f64,
    /// How the output level is set: the stage runs level-matched, or absolute (1 Vrms at
    /// the amp reads as a 0 dBFS sine) in both other modes.
    pub level: LevelMode,
}

/// How the output level is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelMode {
    /// The chain's 1 kHz level is compensated: a voicing changes tone, not loudness.
    Matched,
    /// 1 Vrms across the headphone reads as a 0 dBFS sine.
    Absolute,
    /// The emulated source's absolute SPL, reproduced through the listener's chain (whose
    /// SPL at 0 dBFS the user states).
    Calibrated,
}

impl Default for AmpControls {
    fn default() -> Self {
        Self {
            gain: GainStep::Low,
            volume_percent: 50.0,
            level: LevelMode::Matched,
        }
    }
}

/// What the amp stage is built for (changing it means building a new stage).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmpConfig {
    /// The device.
    pub spec: AmpSpec,
    /// Which output.
    pub output: Output,
    /// Load |Z_L| at 1 kHz (Ω), used only to place the clip point (the rated voltage
    /// depends on the load); `+∞` for open circuit. Clamped to ≥ 0.1 Ω.
    pub load_ohms: f64,
    /// Output impedance (Ω): the device's by default, may be overridden by the user. Used
    /// here only to translate the rated load voltage into the amp's open-circuit voltage
    /// `V_load·(R + Z_out)/R`, so the 1 % point across the load stays at the rated figure
    /// whatever the override; the divider itself is applied by `load`.
    pub z_out_ohms: f64,
}

impl AmpConfig {
    /// `spec`'s `output` into `load_ohms`, with the device's own output impedance.
    pub fn new(spec: AmpSpec, output: Output, load_ohms: f64) -> Self {
        Self {
            spec,
            output,
            load_ohms,
            z_out_ohms: spec.output(output).z_out_ohms,
        }
    }

    /// The output's spec.
    pub fn output_spec(&self) -> &OutputSpec {
        self.spec.output(self.output)
    }

    /// Open-circuit fundamental peak (V) of the output when THD+N reaches 1 % into
    /// `load_ohms`: `rated_vrms(R)·√2·(R + Z_out)/R`; `+∞` without limits.
    pub fn one_percent_peak_v(&self) -> f64 {
        self.output_spec()
            .limits
            .open_circuit_vrms(self.load_ohms, self.z_out_ohms)
            * SQRT_2
    }
}

/// Per-channel state: noise stream and ramps.
#[derive(Clone, Debug)]
struct Channel {
    noise: NoiseGen,
    pre: LinearRamp,
    floor: LinearRamp,
    matched: LinearRamp,
    sigma: LinearRamp,
}

impl Channel {
    fn settled(&self) -> bool {
        self.pre.is_settled()
            && self.floor.is_settled()
            && self.matched.is_settled()
            && self.sigma.is_settled()
    }
}

/// `post` from the (ramped) values: a crossfade `m` between level-matched and absolute.
#[inline(always)]
fn post_of(pre: f32, floor: f32, matched: f32) -> f32 {
    matched / pre.max(floor) + (1.0 - matched) * ABSOLUTE_POST as f32
}

/// The amp stage (see the module docs). Lifecycle: `new` (allocates) → setters → `reset`
/// → `process` per channel and block. `process`, `reset` and the setters never allocate,
/// lock or do I/O.
#[derive(Clone, Debug)]
pub struct AmpStage {
    config: AmpConfig,
    analog_rate: f64,
    clipper: SoftClipper,
    channels: Vec<Channel>,
    gain_step: GainStep,
    volume_percent: f64,
    absolute: bool,
    /// σ (V) per gain step, at this analog rate.
    sigma_v: [f64; 3],
}

impl AmpStage {
    /// A stage for `config` at `analog_rate` (Hz, e.g. 352 800 or 384 000) with
    /// `channels` channels. It starts at high gain, 100 % volume, level-matched, settled.
    /// `max_block` is accepted for the common lifecycle; the stage needs no block-sized
    /// buffers (it works in sub-blocks of 256 on the stack) and takes blocks of any length.
    pub fn new(config: &AmpConfig, analog_rate: f64, channels: usize, max_block: usize) -> Self {
        let _ = max_block;
        let out = config.output_spec();
        let sigma_v = [0, 1, 2]
            .map(|i: usize| sigma_for_a_weighted(out.gains[i].noise_uv_a * 1e-6, analog_rate));
        let clipper = SoftClipper::for_one_percent_peak(config.one_percent_peak_v());
        let ramp_len = (RAMP_SECONDS * analog_rate).round().max(1.0) as u32;
        let channels = (0..channels)
            .map(|ch| Channel {
                noise: NoiseGen::new(NOISE_SEED.wrapping_add(ch as u64)),
                pre: LinearRamp::new(0.0, ramp_len),
                floor: LinearRamp::new(1.0, ramp_len),
                matched: LinearRamp::new(1.0, ramp_len),
                sigma: LinearRamp::new(0.0, ramp_len),
            })
            .collect();
        let mut stage = Self {
            config: *config,
            analog_rate,
            clipper,
            channels,
            gain_step: GainStep::High,
            volume_percent: 100.0,
            absolute: false,
            sigma_v,
        };
        stage.update_targets();
        stage.reset();
        stage
    }

    /// The configuration the stage was built for.
    pub fn config(&self) -> &AmpConfig {
        &self.config
    }

    /// The analog rate (Hz) the stage was built for.
    pub fn analog_rate(&self) -> f64 {
        self.analog_rate
    }

    /// Latency (samples): 0, the stage is memoryless.
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// Select the gain step (ramped). The device's mapping applies (see
    /// [`AmpSpec::effective`]).
    pub fn set_gain_step(&mut self, step: GainStep) {
        self.gain_step = step;
        self.update_targets();
    }

    /// Set the volume knob (0–100 %, clamped; NaN → 0 %), ramped.
    pub fn set_volume_percent(&mut self, percent: f64) {
        self.volume_percent = if percent >= 0.0 {
            percent.min(100.0)
        } else {
            0.0
        };
        self.update_targets();
    }

    /// Absolute (`true`) or level-matched (`false`) output, crossfaded over the ramp.
    pub fn set_absolute(&mut self, absolute: bool) {
        self.absolute = absolute;
        self.update_targets();
    }

    /// Gain step, volume and level mode at once (each ramped).
    pub fn set_controls(&mut self, controls: &AmpControls) {
        self.set_gain_step(controls.gain);
        self.set_volume_percent(controls.volume_percent);
        self.set_absolute(controls.level != LevelMode::Matched);
    }

    /// Gain step asked for.
    pub fn gain_step(&self) -> GainStep {
        self.gain_step
    }

    /// Gain step really used (the device's mapping of [`Self::gain_step`]).
    pub fn effective_gain_step(&self) -> GainStep {
        self.config.spec.effective(self.gain_step)
    }

    /// Volume knob position (%).
    pub fn volume_percent(&self) -> f64 {
        self.volume_percent
    }

    /// Volume gain (dB) at the knob position (−∞ at 0 %).
    pub fn volume_db(&self) -> f64 {
        self.config.spec.volume.gain_db(self.volume_percent)
    }

    /// Whether the output is absolute.
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }

    /// The gain entry in use.
    pub fn gain_spec(&self) -> GainSpec {
        self.config.spec.gain(self.config.output, self.gain_step)
    }

    /// `pre` at the ramps' targets: volts (open circuit, peak) per unit of digital peak,
    /// `full_scale_vrms·√2·10^(volume_db/20)`; 0 at mute.
    pub fn pre_gain(&self) -> f64 {
        self.gain_spec().full_scale_vrms
            * SQRT_2
            * self.config.spec.volume.gain(self.volume_percent)
    }

    /// `post` at the ramps' targets (digital units per volt).
    pub fn post_gain(&self) -> f64 {
        if self.absolute {
            ABSOLUTE_POST
        } else {
            1.0 / self.pre_gain().max(self.pre_floor())
        }
    }

    /// `post·pre` at the ramps' targets: the stage's linear gain below clipping (1 in
    /// level-matched mode above the match floor), for the lead's level bookkeeping.
    pub fn linear_gain(&self) -> f64 {
        self.post_gain() * self.pre_gain()
    }

    /// The clip rail (open-circuit peak volts); `+∞` without limits.
    pub fn clip_rail_v(&self) -> f64 {
        f64::from(self.clipper.rail())
    }

    /// Open-circuit fundamental peak (V) of the output at THD+N = 1 % (`clip_rail_v()·R1`).
    pub fn one_percent_peak_v(&self) -> f64 {
        self.clip_rail_v() * R1
    }

    /// RMS (V) of the white noise added at the analog rate for the current gain step.
    pub fn noise_sigma_v(&self) -> f64 {
        self.sigma_v[self.effective_gain_step().index()]
    }

    /// `pre` below which level matching stops.
    fn pre_floor(&self) -> f64 {
        (self.gain_spec().full_scale_vrms * SQRT_2 * 10f64.powf(LEVEL_MATCH_FLOOR_DB / 20.0))
            .max(1e-12)
    }

    /// Point every channel's ramps at the current settings.
    fn update_targets(&mut self) {
        let pre = self.pre_gain() as f32;
        let floor = self.pre_floor() as f32;
        let matched = if self.absolute { 0.0 } else { 1.0 };
        let sigma = self.noise_sigma_v() as f32;
        for c in &mut self.channels {
            c.pre.set_target(pre);
            c.floor.set_target(floor);
            c.matched.set_target(matched);
            c.sigma.set_target(sigma);
        }
    }

    /// Jump every ramp to its target and restart the noise streams (reproducible).
    pub fn reset(&mut self) {
        for c in &mut self.channels {
            c.noise.reset();
            for ramp in [&mut c.pre, &mut c.floor, &mut c.matched, &mut c.sigma] {
                ramp.reset(ramp.target());
            }
        }
    }

    /// Process one channel's block in place (digital units in and out). Channels past the
    /// count given to [`Self::new`] are left untouched. Every channel must be given the
    /// same number of samples per block so their ramps stay aligned.
    pub fn process(&mut self, ch: usize, block: &mut [f32]) {
        let clipper = self.clipper;
        let Some(c) = self.channels.get_mut(ch) else {
            return;
        };
        let mut scratch = [0.0f32; SUB_BLOCK];
        for sub in block.chunks_mut(SUB_BLOCK) {
            let noise = &mut scratch[..sub.len()];
            let silent = c.sigma.is_settled() && c.sigma.value() == 0.0;
            if silent {
                noise.fill(0.0);
            } else {
                c.noise.fill(noise);
            }
            if c.settled() {
                let pre = c.pre.value();
                let post = post_of(pre, c.floor.value(), c.matched.value());
                run_settled(&clipper, sub, noise, pre, c.sigma.value(), post);
            } else {
                for (x, n) in sub.iter_mut().zip(noise.iter()) {
                    let pre = c.pre.next_value();
                    let floor = c.floor.next_value();
                    let matched = c.matched.next_value();
                    let sigma = c.sigma.next_value();
                    let post = post_of(pre, floor, matched);
                    *x = (clipper.clip(pre * *x) + sigma * *n) * post;
                }
            }
        }
    }
}

/// The settled path: `y = (clip(pre·x) + σ·n)·post`, eight lanes at a time, the same
/// operations per lane as the per-sample path.
#[inline]
fn run_settled(
    clipper: &SoftClipper,
    block: &mut [f32],
    noise: &[f32],
    pre: f32,
    sigma: f32,
    post: f32,
) {
    let (pre8, sigma8, post8) = (f32x8::splat(pre), f32x8::splat(sigma), f32x8::splat(post));
    let mut xs = block.chunks_exact_mut(8);
    let mut ns = noise.chunks_exact(8);
    for (x, n) in (&mut xs).zip(&mut ns) {
        let y = (clipper.clip_x8(pre8 * load8(x)) + sigma8 * load8(n)) * post8;
        x.copy_from_slice(&y.to_array());
    }
    for (x, n) in xs.into_remainder().iter_mut().zip(ns.remainder()) {
        *x = (clipper.clip(pre * *x) + sigma * *n) * post;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amp::spec::tests::published_points;
    use crate::amp::testutil::*;
    use crate::amp::volume::VolumeLaw;
    use crate::analysis::{noise_rms_a_weighted, tone};

    #[test]
    fn one_percent_points_match_published_figures() {
        // Every published rated voltage, measured: 1 kHz sine through the stage (high gain,
        // 100 % volume), then the resistive divider R/(R + Z_out), THD+N in 20 Hz–20 kHz.
        for fs in RATES {
            for (spec, output, load, published) in published_points() {
                let config = AmpConfig::new(spec, output, load);
                let (level, vrms) = one_percent_point(&config, fs, GainStep::High)
                    .expect("no 1 % crossing below +18 dBFS");
                let err = db(vrms / published);
                println!(
                    "{fs} Hz {} {output:?} {load} Ω: 1 % at {level:+.2} dBFS, {vrms:.3} Vrms \
                     (published {published:.3}, {err:+.3} dB)",
                    spec.name
                );
                assert!(err.abs() <= 0.25, "{} {output:?} {load}", spec.name);
            }
        }
    }

    #[test]
    fn one_percent_points_follow_the_model_where_nothing_is_published() {
        // Estimated limits (other loads, the dongles): the measured point must follow the
        // fitted model `Limits::rated_vrms`.
        let cases = [
            (AmpSpec::k11_r2r(), Output::Se, 16.0),
            (AmpSpec::k7(), Output::Se, 300.0),
            (AmpSpec::k7(), Output::Bal, 16.0),
            (AmpSpec::apple_dongle_us(), Output::Se, 16.0),
            (AmpSpec::apple_dongle_us(), Output::Se, 32.0),
            (AmpSpec::apple_dongle_eu(), Output::Se, 32.0),
        ];
        for (spec, output, load) in cases {
            let config = AmpConfig::new(spec, output, load);
            let model = config.output_spec().limits.rated_vrms(load);
            let (level, vrms) = one_percent_point(&config, 352_800.0, GainStep::High).unwrap();
            let err = db(vrms / model);
            println!(
                "{} {output:?} {load} Ω: 1 % at {level:+.2} dBFS, {vrms:.3} Vrms (model {model:.3}, {err:+.3} dB)",
                spec.name
            );
            assert!(err.abs() <= 0.25);
        }
        // The ideal source never clips.
        let config = AmpConfig::new(AmpSpec::ideal(), Output::Se, 32.0);
        assert!(one_percent_point(&config, 352_800.0, GainStep::High).is_none());
    }

    #[test]
    fn noise_floor_matches_spec_at_both_rates() {
        let cases = [
            (AmpSpec::k13_r2r(), GainStep::High, 9.4),
            (AmpSpec::k13_r2r(), GainStep::Medium, 5.0),
            (AmpSpec::k11_r2r(), GainStep::High, 7.2),
        ];
        for fs in RATES {
            for (spec, step, published_uv) in cases {
                let config = AmpConfig::new(spec, Output::Se, 32.0);
                let got_uv = noise_volts_a(&config, fs, step) * 1e6;
                let err = db(got_uv / published_uv);
                println!(
                    "{fs} Hz {} SE {step:?}: {got_uv:.3} µV(A) (spec {published_uv}, {err:+.3} dB)",
                    spec.name
                );
                assert!(err.abs() <= 0.3);
            }
        }
        // No noise from the ideal source.
        let config = AmpConfig::new(AmpSpec::ideal(), Output::Se, 32.0);
        assert_eq!(noise_volts_a(&config, 352_800.0, GainStep::High), 0.0);
    }

    #[test]
    fn snr_falls_db_for_db_with_volume_in_level_matched_mode() {
        let spec = AmpSpec::k13_r2r();
        let config = AmpConfig::new(spec, Output::Se, f64::INFINITY);
        for fs in RATES {
            let snr_at = |volume_db: f64| {
                let percent = spec.volume.percent_for_db(volume_db);
                assert_eq!(spec.volume.gain_db(percent), volume_db);
                let mut st = stage(&config, fs, GainStep::High, percent, false);
                assert!((st.linear_gain() - 1.0).abs() < 1e-12);
                let mut x = sine((0.2 * fs) as usize, fs, 1_000.0, 1.0);
                st.process(0, &mut x);
                let signal_rms = tone(&x, fs, 1_000.0).amplitude / SQRT_2;
                let mut silence = vec![0.0f32; fs as usize];
                st.process(0, &mut silence);
                db(signal_rms / noise_rms_a_weighted(&silence, fs))
            };
            let snr0 = snr_at(0.0);
            let snr20 = snr_at(-20.0);
            let snr40 = snr_at(-40.0);
            println!(
                "{fs} Hz K13 SE high: SNR {snr0:.2} dB(A) at 100 % (published >= 117), \
                 {snr20:.2} at -20 dB, {snr40:.2} at -40 dB"
            );
            assert!((snr0 - 117.1).abs() <= 0.3);
            assert!((snr0 - snr20 - 20.0).abs() <= 0.3);
            assert!((snr0 - snr40 - 40.0).abs() <= 0.3);
        }
    }

    #[test]
    fn absolute_mode_reads_volts_re_one_vrms() {
        let config = AmpConfig::new(AmpSpec::apple_dongle_eu(), Output::Se, 32.0);
        for fs in RATES {
            let mut st = stage(&config, fs, GainStep::High, 100.0, true);
            let mut x = sine((0.1 * fs) as usize, fs, 1_000.0, 1.0);
            st.process(0, &mut x);
            let level = tone(&x, fs, 1_000.0).level_db;
            println!("{fs} Hz Apple EU, 0 dBFS at 100 %: {level:.4} dB re V_REF");
            assert!((level - -6.0206).abs() <= 0.05);
            assert!((db(st.linear_gain()) - db(0.5)).abs() < 1e-9);
        }
    }

    #[test]
    fn volume_ramp_is_smooth_in_absolute_mode() {
        // Ideal source (no noise, no clip), DC in: the output is the ramp itself.
        let config = AmpConfig::new(AmpSpec::ideal(), Output::Se, 32.0);
        let fs = 352_800.0;
        let ramp_len = (RAMP_SECONDS * fs).round() as usize;
        let mut st = stage(&config, fs, GainStep::High, 0.0, true);
        st.set_volume_percent(100.0);
        let mut y = vec![0.5f32; 2 * ramp_len];
        st.process(0, &mut y);
        // 0.5 FS → 0.5·2√2 V → ·1/√2: 1.0 at the end.
        let final_value = *y.last().unwrap();
        assert!((f64::from(final_value) - 0.5 * st.linear_gain()).abs() < 1e-6);
        let allowed = final_value / ramp_len as f32 * 1.001;
        let worst = y
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        println!("ramp over {ramp_len} samples: worst step {worst:e} (allowed {allowed:e})");
        assert!(worst <= allowed);
        assert_eq!(y[ramp_len - 1], final_value);
        assert!(y[ramp_len - 2] < final_value);
        assert!(y[ramp_len..].iter().all(|&v| v == final_value));
        // A gain step change ramps too.
        let config = AmpConfig::new(AmpSpec::k13_r2r(), Output::Se, 32.0);
        let mut st = stage(&config, fs, GainStep::Low, 100.0, true);
        let mut y = vec![0.05f32; 2 * ramp_len];
        st.set_gain_step(GainStep::High);
        st.process(0, &mut y);
        let total = y[2 * ramp_len - 1] - y[0];
        let worst = y
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f32::max);
        // Noise adds up to ±3.5σ per sample on top of the ramp step.
        let noise_fs = (3.5 * 2.0 * st.noise_sigma_v() * ABSOLUTE_POST) as f32;
        assert!(
            worst <= total / ramp_len as f32 * 1.001 + noise_fs,
            "{worst}"
        );
    }

    #[test]
    fn level_matched_gain_stays_one_during_a_volume_ramp() {
        let spec = AmpSpec::k13_r2r();
        let config = AmpConfig::new(spec, Output::Se, 32.0);
        let fs = 384_000.0;
        let mut st = stage(&config, fs, GainStep::High, 100.0, false);
        let x = sine(20_000, fs, 1_000.0, 0.3);
        let mut y = x.clone();
        st.process(0, &mut y[..1_000]);
        st.set_volume_percent(spec.volume.percent_for_db(-40.0));
        st.process(0, &mut y[1_000..]);
        // Only the noise, scaled by 1/pre, may separate y from x; it is bounded by
        // Irwin–Hall's ±√12/2·σ and largest at the lowest pre (−40 dB).
        let bound = 3.47 * st.noise_sigma_v() / st.pre_gain();
        let worst = x
            .iter()
            .zip(&y)
            .map(|(a, b)| f64::from((a - b).abs()))
            .fold(0.0, f64::max);
        println!(
            "level-matched volume ramp: worst |y − x| = {worst:.3e} (noise bound {bound:.3e})"
        );
        assert!(worst <= bound + 1e-6);
    }

    #[test]
    fn channels_follow_identical_ramps() {
        let config = AmpConfig::new(AmpSpec::ideal(), Output::Bal, 32.0);
        let mut st = stage(&config, 352_800.0, GainStep::High, 30.0, true);
        st.set_volume_percent(90.0);
        st.set_absolute(false);
        let x = sine(9_000, 352_800.0, 997.0, 0.7);
        let (mut l, mut r) = (x.clone(), x.clone());
        for (lc, rc) in l.chunks_mut(100).zip(r.chunks_mut(100)) {
            st.process(0, lc);
            st.process(1, rc);
        }
        assert!(l == r);
        // A channel index past the count is ignored.
        let mut z = x.clone();
        st.process(5, &mut z);
        assert!(z == x);
    }

    #[test]
    fn split_blocks_and_reset_reproduce_one_block() {
        let config = AmpConfig::new(AmpSpec::k7(), Output::Se, 16.0);
        let fs = 352_800.0;
        let x = sine(30_000, fs, 3_000.0, 1.5);
        // Settings change at samples 5 000 and 12 000; each segment is cut into blocks of
        // the given size.
        let run = |size: usize| {
            let mut st = stage(&config, fs, GainStep::High, 80.0, false);
            let mut y = x.clone();
            for (k, (start, end)) in [(0, 5_000), (5_000, 12_000), (12_000, 30_000)]
                .into_iter()
                .enumerate()
            {
                if k == 1 {
                    st.set_volume_percent(95.0);
                    st.set_gain_step(GainStep::Low);
                }
                if k == 2 {
                    st.set_absolute(true);
                }
                for block in y[start..end].chunks_mut(size) {
                    st.process(0, block);
                }
            }
            (y, st)
        };
        let (whole, mut st) = run(30_000);
        for size in [1, 7, 64, 333, 4_096] {
            let (split, _) = run(size);
            let first_diff = whole
                .iter()
                .zip(&split)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert_eq!(first_diff, None, "block size {size}");
        }
        // Reset restarts the noise: silence in gives the same noise twice.
        let mut a = vec![0.0f32; 1_000];
        let mut b = a.clone();
        st.reset();
        st.process(0, &mut a);
        st.reset();
        st.process(0, &mut b);
        assert!(a == b && a.iter().any(|&v| v != 0.0));
    }

    #[test]
    fn settled_path_equals_ramp_path() {
        // The SIMD (settled) path and the per-sample (ramping) path compute the same bits:
        // process a block during which the ramps end, compare with a fresh settled stage
        // from the settling point on.
        let config = AmpConfig::new(AmpSpec::k13_r2r(), Output::Bal, 32.0);
        let fs = 352_800.0;
        let ramp_len = (RAMP_SECONDS * fs).round() as usize;
        let x = sine(3 * ramp_len, fs, 1_234.0, 1.3);
        // Stage A: starts at 50 %, moves to 100 %; the per-sample path runs until the
        // sub-block in which the ramp ends, the settled path afterwards.
        let mut a = stage(&config, fs, GainStep::Medium, 50.0, false);
        a.set_volume_percent(100.0);
        let mut ya = x.clone();
        a.process(0, &mut ya);
        // Stage B: settled at 100 % from the start, noise muted in both by comparing with
        // the clipper directly.
        let b = stage(&config, fs, GainStep::Medium, 100.0, false);
        let pre = b.pre_gain() as f32;
        let post = post_of(pre, b.pre_floor() as f32, 1.0);
        let sigma = b.noise_sigma_v() as f32;
        let mut noise = vec![0.0f32; x.len()];
        NoiseGen::new(NOISE_SEED).fill(&mut noise);
        for i in ramp_len..x.len() {
            let want = (a.clipper.clip(pre * x[i]) + sigma * noise[i]) * post;
            assert_eq!(ya[i].to_bits(), want.to_bits(), "sample {i}");
        }
    }

    #[test]
    fn output_is_always_finite() {
        let volumes = [
            0.0,
            1e-9,
            0.3,
            1.0,
            10.0,
            50.0,
            99.9,
            100.0,
            f64::NAN,
            -5.0,
            1e3,
        ];
        let fs = 352_800.0;
        let mut inputs = sine(4_096, fs, 1_000.0, 7.94); // +18 dBFS
        inputs.extend([8.0, -8.0, 0.0, -0.0, 1e-38, -1e-38, 7.999, -7.999]);
        let mut seed = 12345u32;
        inputs.extend((0..1_000).map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32 - 0.5) * 16.0
        }));
        for spec in AmpSpec::all() {
            for output in Output::ALL {
                for load in [0.0, 8.7, 32.0, 300.0, f64::INFINITY] {
                    let config = AmpConfig::new(spec, *output, load);
                    let mut st = AmpStage::new(&config, fs, 1, 4_096);
                    for step in GainStep::ALL {
                        for &volume in &volumes {
                            for absolute in [false, true] {
                                st.set_gain_step(*step);
                                st.set_volume_percent(volume);
                                st.set_absolute(absolute);
                                let mut y = inputs.clone();
                                st.process(0, &mut y);
                                assert!(
                                    y.iter().all(|v| v.is_finite()),
                                    "{} {output:?} {load} {step:?} {volume} {absolute}",
                                    spec.name
                                );
                                let g = st.linear_gain();
                                assert!(g.is_finite() && g >= 0.0);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn mute_gives_only_floor_noise_in_level_matched_mode() {
        let spec = AmpSpec::k13_r2r();
        let config = AmpConfig::new(spec, Output::Se, 32.0);
        let fs = 352_800.0;
        let mut st = stage(&config, fs, GainStep::High, 0.0, false);
        assert_eq!(st.pre_gain(), 0.0);
        assert_eq!(st.linear_gain(), 0.0);
        let mut y = sine(fs as usize, fs, 1_000.0, 1.0);
        st.process(0, &mut y);
        // No signal; noise at the 60 dB floor: 9.4 µV / (6.72·√2 V·10^(−60/20)) → −60.1 dB
        // re an RMS of 1 (A-weighted).
        let noise_db = db(noise_rms_a_weighted(&y, fs));
        let want = db(9.4e-6 / (6.7175 * SQRT_2 * 1e-3));
        println!("mute: {noise_db:.2} dB(A) re 1.0 (want {want:.2})");
        assert!((noise_db - want).abs() < 0.3);
        assert!(tone(&y, fs, 1_000.0).amplitude < 1e-3);
        // Below the floor the gain follows the knob.
        let p = spec.volume.percent_for_db(-80.0);
        st.set_volume_percent(p);
        assert!((db(st.linear_gain()) - -20.0).abs() < 1e-9);
        assert_eq!(VolumeLaw::NJW1195A.gain_db(p), -80.0);
    }

    #[test]
    fn cost_per_sample() {
        // Rough timing on a shared machine; the assert is loose and only in release builds.
        let config = AmpConfig::new(AmpSpec::k13_r2r(), Output::Se, 32.0);
        let fs = 384_000.0;
        let mut st = stage(&config, fs, GainStep::High, 70.0, false);
        let mut block = sine(4_096, fs, 1_000.0, 0.5);
        let reps = 500;
        let start = std::time::Instant::now();
        for _ in 0..reps {
            st.process(0, std::hint::black_box(&mut block));
        }
        let ns = start.elapsed().as_secs_f64() * 1e9 / (reps * 4_096) as f64;
        // Its parts: the noise generator and the clipper alone.
        let mut noise = NoiseGen::new(1);
        let start = std::time::Instant::now();
        for _ in 0..reps {
            noise.fill(std::hint::black_box(&mut block));
        }
        let ns_noise = start.elapsed().as_secs_f64() * 1e9 / (reps * 4_096) as f64;
        let clipper = st.clipper;
        let start = std::time::Instant::now();
        for _ in 0..reps {
            clipper.process(std::hint::black_box(&mut block));
        }
        let ns_clip = start.elapsed().as_secs_f64() * 1e9 / (reps * 4_096) as f64;
        println!(
            "AmpStage::process: {ns:.3} ns/sample (4096-sample blocks, noise on); \
             noise alone {ns_noise:.3}, clipper alone {ns_clip:.3}"
        );
        if !cfg!(debug_assertions) {
            assert!(ns < 4.0);
        }
    }
}
