//! Shared helpers for the workspace tests: where the built bundles are, the policy for a
//! missing host tool (skip on a user's machine, fail in CI), and small signal utilities.

pub mod clap_host;

use std::path::{Path, PathBuf};

/// CLAP plugin id of the Sourcery plugin (also in `plugins/sourcery`).
pub const CLAP_ID: &str = "audio.sourcery.sourcery";
/// LV2 URIs of the stereo and mono plugins (defined once, in `sourcery_dsp`).
pub use sourcery_dsp::presets::lv2::{URI_MONO as LV2_URI_MONO, URI_STEREO as LV2_URI_STEREO};

/// The workspace root (parent of this package).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Folder that `cargo xtask bundle sourcery --release` fills.
pub fn bundle_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("bundled")
}

/// Whether we run in CI, where a missing host tool or bundle is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A prerequisite is missing: in CI this panics (the test fails); on a user's machine it
/// prints why the test is skipped and how to fix it, and returns `false`.
#[must_use]
pub fn skip_unless(available: bool, what: &str, how_to_fix: &str) -> bool {
    if available {
        return true;
    }
    if in_ci() {
        panic!("{what} is missing, and CI=true makes that a failure. {how_to_fix}");
    }
    eprintln!("SKIPPED: {what} is missing. {how_to_fix}");
    false
}

/// Path of a built bundle (`Sourcery.clap`, `Sourcery.vst3`, `Sourcery.lv2`), or `None`
/// after [`skip_unless`] when it has not been built.
pub fn bundle(name: &str) -> Option<PathBuf> {
    let path = bundle_dir().join(name);
    skip_unless(
        path.exists(),
        &format!("the bundle {}", path.display()),
        "Build it with `cargo xtask bundle sourcery --release` (or run `cargo xtask test`).",
    )
    .then_some(path)
}

/// Whether a program can be started (`program --help` or similar runs).
pub fn have_program(program: &str) -> bool {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A sine of `amplitude` (peak) at `freq_hz`.
pub fn sine(freq_hz: f64, sample_rate: f64, frames: usize, amplitude: f32) -> Vec<f32> {
    (0..frames)
        .map(|i| {
            amplitude * (std::f64::consts::TAU * freq_hz * i as f64 / sample_rate).sin() as f32
        })
        .collect()
}

/// RMS level in dB re RMS 1.0 (a full-scale sine reads −3.01): the analyzer's own.
pub use sourcery_dsp::analysis::rms_db;

/// Level of `output` relative to `input` in dB (RMS over the given range).
pub fn gain_db(input: &[f32], output: &[f32]) -> f64 {
    rms_db(output) - rms_db(input)
}

/// `input` with `latency` zeros after each channel: a plugin's output from `latency` on is
/// then the whole latency-compensated render.
pub fn padded(input: &[Vec<f32>], latency: usize) -> Vec<Vec<f32>> {
    input
        .iter()
        .map(|c| {
            c.iter()
                .copied()
                .chain(std::iter::repeat_n(0.0, latency))
                .collect()
        })
        .collect()
}

/// Largest |a − b| between a latency-compensated render and a plugin's output whose first
/// `latency` samples are the plugin's delay.
pub fn max_diff_after(rendered: &[Vec<f32>], output: &[Vec<f32>], latency: usize) -> f32 {
    let mut diff = 0.0f32;
    for (r, o) in rendered.iter().zip(output) {
        for (a, b) in r.iter().zip(&o[latency..]) {
            diff = diff.max((a - b).abs());
        }
    }
    diff
}

/// Write a 32-bit float WAV at `rate` from one buffer per channel.
pub fn write_wav(path: &Path, channels: &[Vec<f32>], rate: u32) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("create the WAV");
    for i in 0..channels[0].len() {
        for channel in channels {
            writer.write_sample(channel[i]).unwrap();
        }
    }
    writer.finalize().unwrap();
}

/// Read a WAV (float or integer): its rate, and one buffer per channel, full scale = 1.0.
pub fn read_wav(path: &Path) -> (u32, Vec<Vec<f32>>) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let spec = reader.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let full_scale = (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / full_scale)
                .collect()
        }
    };
    let n = usize::from(spec.channels);
    let channels = (0..n)
        .map(|ch| interleaved.iter().skip(ch).step_by(n).copied().collect())
        .collect();
    (spec.sample_rate, channels)
}
