//! Offline rendering: a whole signal through the same [`Engine`] the plugins run, with the
//! latency removed, so the output lines up with the input sample for sample.
//!
//! The engine is built and prepared with the settings (its chain designed before the first
//! sample), set offline ([`Engine::set_offline`]: a change of settings is built in the
//! block where it arrives), then fed the input followed by [`Engine::latency_samples`]
//! zeros in blocks of `max_block` frames, split where the automation changes the
//! settings; the first `latency_samples()` output frames are dropped. A plugin activated
//! with the same parameter values and block size produces exactly the same samples,
//! delayed by its reported latency, and so does an offline bounce of the same automation
//! (`tests/tests/render.rs` checks both against the CLAP build).

use crate::clocks::MAX_CHANNELS;
use crate::{Engine, Settings};

/// Block size [`render`] uses, in frames (a common host buffer size).
pub const BLOCK_FRAMES: usize = 512;

/// Render `input` (one `Vec` per channel, 1 or 2 channels of equal length, at
/// `sample_rate` Hz) through an engine with `settings`, in blocks of [`BLOCK_FRAMES`].
/// Returns as many channels and frames as `input`, latency-compensated. Allocates; not for
/// the audio thread.
pub fn render(settings: &Settings, input: &[Vec<f32>], sample_rate: f32) -> Vec<Vec<f32>> {
    render_blocks(settings, input, sample_rate, BLOCK_FRAMES, &mut |_| {})
}

/// [`render`] with the block size `max_block` (frames, ≥ 1) and a progress callback, called
/// after each block with the number of input frames consumed so far (up to the input's
/// length).
///
/// # Panics
/// If `input` has no channel or more than [`MAX_CHANNELS`], or channels of different lengths.
pub fn render_blocks(
    settings: &Settings,
    input: &[Vec<f32>],
    sample_rate: f32,
    max_block: usize,
    progress: &mut dyn FnMut(usize),
) -> Vec<Vec<f32>> {
    render_automated(settings, &[], input, sample_rate, max_block, progress)
}

/// [`render_blocks`] with automation: `changes` are (input frame, settings) in frame order;
/// each takes effect at its frame, as a host's offline bounce delivers it (a block starts
/// there).
///
/// # Panics
/// As [`render_blocks`], and if `changes` are not in frame order.
pub fn render_automated(
    settings: &Settings,
    changes: &[(usize, Settings)],
    input: &[Vec<f32>],
    sample_rate: f32,
    max_block: usize,
    progress: &mut dyn FnMut(usize),
) -> Vec<Vec<f32>> {
    assert!(
        changes.windows(2).all(|w| w[0].0 <= w[1].0),
        "render: automation out of order"
    );
    let channels = input.len();
    assert!(
        (1..=MAX_CHANNELS).contains(&channels),
        "render: {channels} channels, want 1..={MAX_CHANNELS}"
    );
    let frames = input[0].len();
    assert!(
        input.iter().all(|c| c.len() == frames),
        "render: channels differ in length"
    );
    let max_block = max_block.max(1);

    let mut engine = Engine::new(settings);
    engine.prepare(sample_rate, max_block, channels);
    engine.set_offline(true);
    let latency = engine.latency_samples();
    let mut pending = changes.iter().peekable();

    // The input, then `latency` zeros to flush the tail out.
    let total = frames + latency;
    let mut output: Vec<Vec<f32>> = vec![Vec::with_capacity(total); channels];
    let mut scratch = vec![vec![0.0f32; max_block]; channels];
    let mut pos = 0;
    while pos < total {
        while let Some((_, s)) = pending.next_if(|(at, _)| *at <= pos) {
            engine.set_settings(s);
        }
        let next_change = pending.peek().map_or(usize::MAX, |(at, _)| *at);
        let n = max_block.min(total - pos).min(next_change - pos);
        for (buf, src) in scratch.iter_mut().zip(input) {
            let start = pos.min(frames);
            let from_input = (frames - start).min(n);
            buf[..from_input].copy_from_slice(&src[start..start + from_input]);
            buf[from_input..n].fill(0.0);
        }
        let mut block: [&mut [f32]; MAX_CHANNELS] = Default::default();
        for (slot, buf) in block.iter_mut().zip(scratch.iter_mut()) {
            *slot = &mut buf[..n];
        }
        engine.process(&mut block[..channels]);
        for (dst, buf) in output.iter_mut().zip(&scratch) {
            dst.extend_from_slice(&buf[..n]);
        }
        pos += n;
        progress(pos.min(frames));
    }
    for channel in &mut output {
        channel.drain(..latency);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::DeviceSlot;

    fn ideal() -> Settings {
        Settings {
            device: DeviceSlot::IDEAL,
            ..Settings::default()
        }
    }

    fn tone(freq_hz: f64, sample_rate: f64, frames: usize) -> Vec<f32> {
        (0..frames)
            .map(|i| {
                (0.5 * (std::f64::consts::TAU * freq_hz * i as f64 / sample_rate).sin()) as f32
            })
            .collect()
    }

    /// Same length as the input, aligned: the Ideal device passes a 1 kHz tone through.
    #[test]
    fn output_is_aligned_with_the_input() {
        let sr = 48_000.0;
        let x = tone(1000.0, sr, 24_000);
        let y = render(&ideal(), &[x.clone(), x.clone()], sr as f32);
        assert_eq!(y.len(), 2);
        assert_eq!(y[0].len(), x.len());
        // Skip the 10 ms ramps and the filter's ring at both ends.
        let diff = x[2_000..22_000]
            .iter()
            .zip(&y[0][2_000..22_000])
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff < 1e-3,
            "Ideal render differs from the input by {diff:e}"
        );
    }

    /// The block size does not change a sample, including blocks shorter than the latency
    /// (the zero tail then spans several blocks).
    #[test]
    fn block_size_does_not_matter() {
        let sr = 44_100.0;
        let x = tone(440.0, sr, 10_000);
        let settings = Settings::default();
        let a = render_blocks(
            &settings,
            std::slice::from_ref(&x),
            sr as f32,
            512,
            &mut |_| {},
        );
        for block in [333, 7] {
            let b = render_blocks(
                &settings,
                std::slice::from_ref(&x),
                sr as f32,
                block,
                &mut |_| {},
            );
            assert_eq!(b[0].len(), x.len());
            let diff = a[0]
                .iter()
                .zip(&b[0])
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(diff <= 1e-6, "blocks of 512 vs {block} differ by {diff:e}");
        }
    }

    /// A structural change (OS → NOS) swaps the chains where the swap's fade-out ends,
    /// wherever the blocks end: the render is the same for every block size (a host's
    /// offline bounce equals the renderer whatever its block boundaries). Before, the swap
    /// waited for the next block, and blocks of 1024 and 96 differed by 0.44.
    #[test]
    fn a_chain_swap_lands_on_its_sample_whatever_the_blocks() {
        let sr = 48_000.0;
        let x = tone(15_000.0, f64::from(sr), 20_000);
        let os = Settings {
            device: DeviceSlot::by_id("fiio-k13-r2r").unwrap(),
            ..Settings::default()
        };
        let nos = Settings {
            dac_mode: crate::dac::DacMode::Nos,
            ..os
        };
        let changes = [(7_001, nos)];
        let run = |block| {
            render_automated(
                &os,
                &changes,
                std::slice::from_ref(&x),
                sr,
                block,
                &mut |_| {},
            )
        };
        let a = run(1024);
        for block in [96, 333, 4096] {
            let b = run(block);
            let diff = a[0]
                .iter()
                .zip(&b[0])
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(diff <= 1e-6, "blocks of 1024 vs {block} differ by {diff:e}");
        }
    }
}
