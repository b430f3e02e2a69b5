//! `sourcery render`: an audio file (or a built-in demo signal) through the same engine as
//! the plugins, offline.
//!
//! ```text
//! sourcery render --device <id> [--headphone <id>] [--mode os|nos]
//!     [--filter <label or index>] [--gain low|medium|high] [--volume <percent>]
//!     [--output se|bal] [--peq FILE] [--rate HZ] [--level-match on|off] [IN.wav] OUT.wav
//! ```
//!
//! - Devices and headphones are named by their preset file (`fiio-k13-r2r`,
//!   `sennheiser-hd600`: `presets/{devices,headphones}/<id>.toml`) or by their display name,
//!   case-insensitively; an unknown name is an error listing the valid ids. Options not given
//!   keep the plugin's defaults (level matching on).
//! - The rendering itself is [`sourcery_dsp::render::render_blocks`]: the engine is prepared,
//!   the settings applied with `Engine::apply_now`, the latency dropped and the tail flushed,
//!   so OUT has exactly IN's length and lines up with it. This module only does the I/O.
//! - Files through [`crate::audio`]: IN is WAV, FLAC, AIFF, MP3 or Ogg Vorbis, any rate, mono
//!   or stereo; OUT is WAV or FLAC (by its extension) with IN's bit depth where it has one
//!   (integer output is rounded without dither and clipped to full scale; the number of
//!   clipped samples is reported) and IN's tags.
//! - `--rate HZ` (different from IN's rate) converts IN with rubato's synchronous FFT resampler
//!   (`rubato::Fft`, `f64`, FFT sizes kept even so the output is aligned) before rendering at that rate. Rubato's README names it the choice
//!   for a fixed-ratio offline conversion: as good as its best asynchronous sinc resampler
//!   (BlackmanHarris² window, passband flat to about 0.9 × the lower Nyquist) and much faster.
//! - Without IN, the demo signal ([`demo_signal`], 5 s stereo, written as 32-bit float at
//!   `--rate` or 48 kHz): 3 s log sweep 20 Hz → 20 kHz at −6 dBFS, 0.5 s silence, a 1 s
//!   1 kHz burst at −6 dBFS, 0.5 s silence (the hiss floor). Sweep and burst have 10 ms
//!   raised-cosine fades.
//! - Files longer than [`PROGRESS_SECONDS`] get an `indicatif` progress bar on stderr.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use sourcery_dsp::amp::{GainStep, Output};
use sourcery_dsp::choice::Choice;
use sourcery_dsp::dac::{DacMode, OsFilter};
use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use sourcery_dsp::{Settings, MAX_CHANNELS};

/// Files longer than this (seconds) get a progress bar.
pub const PROGRESS_SECONDS: f64 = 10.0;
/// Rate of the demo signal when `--rate` is not given, Hz.
pub const DEMO_RATE_HZ: u32 = 48_000;

pub const USAGE: &str =
    "sourcery render [--preset ID|NAME|FILE] --device ID [--headphone ID] [--mode os|nos] \
     [--filter LABEL|INDEX] [--gain low|medium|high] [--volume PERCENT] [--output se|bal] \
     [--peq FILE] [--rate HZ] [--level-match on|off] [--level matched|absolute|calibrated] \
     [--your-source ID|OHMS] [--your-output se|bal] [--your-spl DB | --your-fs-vrms V] \
     [--your-noise UV] [IN.wav] OUT.wav";

/// The listener's own chain on the command line (`render` and `measure`).
pub const YOUR_CHAIN_USAGE: &str = "--your-source ID|OHMS: the source you listen through (a \
     device id, or its output impedance in ohms; default: an ideal 0 ohm source); \
     --your-output se|bal; --level matched|absolute|calibrated; --your-spl DB: the SPL of a \
     0 dBFS 1 kHz sine through your chain and headphone (calibrated SPL); --your-fs-vrms V: \
     compute it from your source's full-scale voltage and the headphone's sensitivity; \
     --your-noise UV: your chain's A-weighted noise";

/// Apply one of the your-chain flags (`--your-source`, `--your-output`, `--level`,
/// `--your-spl`, `--your-fs-vrms`, `--your-noise`) to `settings`; `Ok(false)` when `flag`
/// is not one of them. `--your-fs-vrms` needs the headphone, which a later flag may set: its
/// value waits in `full_scale_vrms` for [`finish_your_chain`].
pub fn your_chain_flag(
    flag: &str,
    value: &str,
    settings: &mut Settings,
    full_scale_vrms: &mut Option<f64>,
) -> Result<bool> {
    use sourcery_dsp::settings::LevelMode;
    let number = |what: &str, lo: f64, hi: f64| -> Result<f64> {
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (lo..=hi).contains(v))
            .ok_or_else(|| anyhow!("{flag} takes {what} ({lo}…{hi}), not '{value}'"))
    };
    match flag {
        "--your-source" => {
            if value.parse::<f64>().is_ok() {
                settings.yours.z_out_custom = true;
                settings.yours.z_out_ohms =
                    number("an output impedance in ohms", 0.0, 150.0)? as f32;
            } else {
                settings.yours.source = DeviceSlot(preset_slot("devices", DEVICE_LABELS, value)?);
                settings.yours.z_out_custom = false;
            }
        }
        "--your-output" => {
            settings.yours.output = Output::from_index(label(Output::LABELS, value)?);
        }
        "--level" => settings.set_level_mode(match value.to_ascii_lowercase().as_str() {
            "matched" | "level-matched" => LevelMode::Matched,
            "absolute" => LevelMode::Absolute,
            "calibrated" => LevelMode::Calibrated,
            _ => bail!("--level takes matched, absolute or calibrated, not '{value}'"),
        }),
        "--your-spl" => settings.yours.spl_db = number("dB SPL", 60.0, 150.0)? as f32,
        "--your-fs-vrms" => *full_scale_vrms = Some(number("Vrms", 0.01, 30.0)?),
        "--your-noise" => settings.yours.noise_uv = number("µV(A)", 0.0, 200.0)? as f32,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Finish the your-chain flags once every other flag is read: `--your-fs-vrms` into your
/// SPL at 0 dBFS.
pub fn finish_your_chain(settings: &mut Settings, full_scale_vrms: Option<f64>) -> Result<()> {
    if let Some(vrms) = full_scale_vrms {
        let catalogue = sourcery_dsp::presets::Catalogue::active();
        let spl = settings
            .your_spl_from_full_scale(catalogue, vrms)
            .ok_or_else(|| {
                anyhow!(
                    "--your-fs-vrms needs a headphone with a published sensitivity ({} has none)",
                    HEADPHONE_LABELS[settings.headphone.0]
                )
            })?;
        settings.yours.spl_db = spl as f32;
    }
    Ok(())
}

/// Audio in memory: one `Vec` per channel, samples in ±1 full scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    /// Sample format of the file it came from / goes to.
    pub format: WavFormat,
    pub channels: Vec<Vec<f32>>,
    /// Tags as (Vorbis comment name, value): `TITLE`, `ARTIST`… (see [`crate::audio`]).
    pub tags: Vec<(String, String)>,
}

impl Audio {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

/// The WAV sample formats read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// Integer PCM of this many bits (8, 16, 24 or 32).
    Int(u16),
    /// 32-bit IEEE float.
    Float32,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub settings: Settings,
    /// `--rate`: render at this rate (the input is converted to it).
    pub rate_hz: Option<u32>,
    /// `None`: the demo signal.
    pub input: Option<PathBuf>,
    pub output: PathBuf,
}

/// `sourcery render …`: see the module docs.
pub fn run(args: &[String]) -> Result<()> {
    let options = parse_args(args)?;
    crate::audio::check_output(&options.output, options.input.as_deref())?;
    let input = match &options.input {
        Some(path) => crate::audio::read_audio(path)?,
        None => {
            let rate = options.rate_hz.unwrap_or(DEMO_RATE_HZ);
            let x = demo_signal(rate);
            Audio {
                sample_rate: rate,
                format: WavFormat::Float32,
                channels: vec![x.clone(), x],
                tags: Vec::new(),
            }
        }
    };
    if options.settings.level_calibrated {
        let catalogue = sourcery_dsp::presets::Catalogue::active();
        if let Some(r) = options.settings.calibration_report(catalogue) {
            eprintln!(
                "Calibrated SPL: the emulated source plays a 0 dBFS sine at {:.1} dB SPL, your \
                 chain at {:.1} dB SPL ({:.2} Vrms through {:.2} Ω); {}; hiss {:.1} dB(A) SPL",
                r.emulated.spl_full_scale_db,
                r.your_spl_db,
                r.your_full_scale_vrms,
                r.your_z_out_ohms,
                if r.over_full_scale_db > 0.0 {
                    format!(
                        "inputs above {:.1} dBFS are limited to your full scale",
                        -r.over_full_scale_db
                    )
                } else {
                    format!("{:.1} dB of headroom", -r.over_full_scale_db)
                },
                r.emulated.noise_spl_db
            );
        } else {
            eprintln!(
                "note: {} has no published sensitivity: calibrated SPL cannot place it, the \
                 output stays level-matched",
                HEADPHONE_LABELS[options.settings.headphone.0]
            );
        }
    }
    let started = std::time::Instant::now();
    let mut output = render_audio(&options.settings, &input, options.rate_hz, true)?;
    output.tags = crate::audio::output_tags(
        &input.tags,
        &format!(
            "Sourcery {} render: {} on {}",
            env!("CARGO_PKG_VERSION"),
            DEVICE_LABELS[options.settings.device.0],
            HEADPHONE_LABELS[options.settings.headphone.0]
        ),
    );
    let clipped = crate::audio::write_atomically(&options.output, &output)?;
    let seconds = output.frames() as f64 / f64::from(output.sample_rate);
    eprintln!(
        "Rendered {seconds:.2} s ({} ch, {} Hz) with {} / {} into {} in {:.2} s",
        output.channels.len(),
        output.sample_rate,
        DEVICE_LABELS[options.settings.device.0],
        HEADPHONE_LABELS[options.settings.headphone.0],
        options.output.display(),
        started.elapsed().as_secs_f64()
    );
    if clipped > 0 {
        eprintln!(
            "warning: {clipped} samples above full scale were clipped (integer output; \
             lower --volume, use --level-match on or a float input)"
        );
    }
    Ok(())
}

/// Parse the command line (everything after `render`).
pub fn parse_args(args: &[String]) -> Result<Options> {
    let (settings, rate_hz, mut files) = parse_settings(args)?;
    let (input, output) = match files.len() {
        1 => (None, files.remove(0)),
        2 => {
            let output = files.remove(1);
            (Some(files.remove(0)), output)
        }
        0 => bail!("OUT.wav is missing\nusage: {USAGE}"),
        _ => bail!("at most two files (IN.wav OUT.wav), got {files:?}\nusage: {USAGE}"),
    };
    Ok(Options {
        settings,
        rate_hz,
        input,
        output,
    })
}

/// The settings the flags describe (`--preset` first, whatever its position, then every
/// other flag over it), `--rate`, and the file arguments.
pub fn parse_settings(args: &[String]) -> Result<(Settings, Option<u32>, Vec<PathBuf>)> {
    let mut settings = Settings::default();
    let mut device = None;
    let mut rate_hz = None;
    let mut full_scale_vrms = None;
    let mut files = Vec::new();
    if let Some(i) = args.iter().position(|a| a == "--preset") {
        let value = args
            .get(i + 1)
            .ok_or_else(|| anyhow!("--preset needs a value\nusage: {USAGE}"))?;
        let preset = crate::presets::find(value)?;
        if preset.custom_load.is_some() {
            bail!(
                "the preset '{}' carries an imported impedance curve; render it in a plugin \
                 (the command line renders catalogue loads)",
                preset.name
            );
        }
        let mut values = settings.to_values();
        preset.apply_to(&mut values);
        settings = Settings::from_values(&values);
        if preset.value(sourcery_dsp::ParamId::Device).is_some() {
            device = Some(settings.device);
        }
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            files.push(PathBuf::from(arg));
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| anyhow!("{arg} needs a value\nusage: {USAGE}"))?
            .as_str();
        match arg.as_str() {
            "--preset" => {}
            "--device" => {
                device = Some(DeviceSlot(preset_slot("devices", DEVICE_LABELS, value)?));
            }
            "--headphone" => {
                settings.headphone =
                    HeadphoneSlot(preset_slot("headphones", HEADPHONE_LABELS, value)?);
            }
            "--mode" => settings.dac_mode = DacMode::from_index(label(DacMode::LABELS, value)?),
            "--filter" => {
                settings.os_filter = <Option<OsFilter>>::from_index(filter_index(value)?);
            }
            "--gain" => settings.gain = GainStep::from_index(label(GainStep::LABELS, value)?),
            "--output" => settings.output = Output::from_index(label(Output::LABELS, value)?),
            "--volume" => {
                settings.volume_pct = value
                    .trim_end_matches('%')
                    .parse::<f32>()
                    .ok()
                    .filter(|v| (0.0..=100.0).contains(v))
                    .ok_or_else(|| anyhow!("--volume takes 0…100 (%), not '{value}'"))?;
            }
            "--level-match" => {
                settings.level_match = match value.to_ascii_lowercase().as_str() {
                    "on" => true,
                    "off" => false,
                    _ => bail!("--level-match takes on or off, not '{value}'"),
                };
            }
            "--peq" => settings.peq = read_peq(Path::new(value))?,
            "--rate" => {
                rate_hz = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|r| (8_000..=768_000).contains(r))
                        .ok_or_else(|| anyhow!("--rate takes 8000…768000 Hz, not '{value}'"))?,
                );
            }
            _ => {
                if !your_chain_flag(arg, value, &mut settings, &mut full_scale_vrms)? {
                    bail!("unknown option '{arg}'\nusage: {USAGE}")
                }
            }
        }
    }
    settings.device = device.ok_or_else(|| {
        anyhow!("--device (or a --preset that sets one) is required\nusage: {USAGE}")
    })?;
    finish_your_chain(&mut settings, full_scale_vrms)?;
    Ok((settings, rate_hz, files))
}

/// Index of `value` in `labels`, compared case-insensitively.
pub(crate) fn label(labels: &[&str], value: &str) -> Result<usize> {
    labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case(value))
        .ok_or_else(|| anyhow!("'{value}' is not one of {labels:?}"))
}

/// `--filter`: an index into the `os_filter` labels (0 = the device's own) or a label,
/// matched exactly or as the only label containing it (case-insensitive).
fn filter_index(value: &str) -> Result<usize> {
    let labels = <Option<OsFilter> as Choice>::LABELS;
    if let Ok(index) = value.parse::<usize>() {
        if index < labels.len() {
            return Ok(index);
        }
    }
    if let Ok(index) = label(labels, value) {
        return Ok(index);
    }
    let wanted = value.to_ascii_lowercase();
    let matches: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i].to_ascii_lowercase().contains(&wanted))
        .collect();
    match matches[..] {
        [index] => Ok(index),
        _ => {
            let list: Vec<String> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{i}: {l}"))
                .collect();
            bail!(
                "--filter '{value}' does not name one filter; choose an index or label:\n  {}",
                list.join("\n  ")
            )
        }
    }
}

/// The factory presets of `kind` ("devices" or "headphones") as (file id, slot), by id.
pub fn preset_ids(kind: &str) -> Result<Vec<(String, usize)>> {
    use sourcery_dsp::presets::index::{DEVICE_IDS, HEADPHONE_IDS};
    let (ids, reserved): (&[&str], &[&str]) = match kind {
        "devices" => (DEVICE_IDS, &[]),
        "headphones" => (HEADPHONE_IDS, &["resistive", "custom"]),
        _ => bail!("no presets of kind {kind:?}"),
    };
    let mut ids: Vec<(String, usize)> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !reserved.contains(id))
        .map(|(slot, id)| ((*id).to_owned(), slot))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Slot of a device or headphone named by its file id, its display name (any case), or a
/// part of either that names one only (`k13`). A miss lists the closest ids, then all.
pub fn preset_slot(kind: &str, labels: &[&str], value: &str) -> Result<usize> {
    let ids = preset_ids(kind)?;
    if let Some((_, slot)) = ids.iter().find(|(id, _)| id.eq_ignore_ascii_case(value)) {
        return Ok(*slot);
    }
    if let Some(slot) = labels.iter().position(|l| l.eq_ignore_ascii_case(value)) {
        return Ok(slot);
    }
    let wanted = value.to_ascii_lowercase();
    let mut matches: Vec<(&str, usize)> = ids
        .iter()
        .filter(|(id, slot)| {
            id.contains(&wanted) || labels[*slot].to_ascii_lowercase().contains(&wanted)
        })
        .map(|(id, slot)| (id.as_str(), *slot))
        .collect();
    matches.dedup();
    let what = kind.trim_end_matches('s');
    match matches.as_slice() {
        [(_, slot)] => return Ok(*slot),
        [] => {}
        many => bail!(
            "'{value}' names more than one {what}: {}; give more of the id",
            many.iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    let mut closest: Vec<(usize, &str)> = ids
        .iter()
        .map(|(id, _)| {
            // The nearest of the whole id and each of its parts (`k99` is near `k13`).
            let d = id
                .split('-')
                .chain([id.as_str()])
                .map(|part| edit_distance(&wanted, part))
                .min()
                .unwrap_or(usize::MAX);
            (d, id.as_str())
        })
        .collect();
    closest.sort();
    let near: Vec<&str> = closest
        .iter()
        .take_while(|(d, _)| *d == closest[0].0)
        .take(3)
        .map(|(_, id)| *id)
        .collect();
    let valid: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
    let extra = if kind == "headphones" {
        " (or \"Resistive\")"
    } else {
        ""
    };
    bail!(
        "unknown {what} '{value}'; did you mean {}? Valid ids: {}{extra}",
        near.join(" or "),
        valid.join(", ")
    )
}

/// Levenshtein distance (for suggestions).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// `--peq FILE`: an AutoEQ / EqualizerAPO `ParametricEQ.txt`, switched on.
fn read_peq(path: &Path) -> Result<sourcery_dsp::peq::PeqSettings> {
    use sourcery_dsp::peq;
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("read {name}"))?;
    if bytes.len() > peq::apo::MAX_FILE_BYTES {
        bail!("{name}: {} bytes is too large for a PEQ file", bytes.len());
    }
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{name}: not a text file"))?;
    let profile = peq::parse_apo(&text, &name).map_err(|e| anyhow!("{e}"))?;
    let mut settings = peq::to_settings(&profile).map_err(|e| anyhow!("{e}"))?;
    settings.on = true;
    Ok(settings)
}

/// Convert to `rate_hz` if asked (and different), then render. `progress`: show a bar on
/// stderr for files longer than [`PROGRESS_SECONDS`].
pub fn render_audio(
    settings: &Settings,
    input: &Audio,
    rate_hz: Option<u32>,
    progress: bool,
) -> Result<Audio> {
    let channels = match rate_hz {
        Some(rate) if rate != input.sample_rate => {
            resample(&input.channels, input.sample_rate, rate)?
        }
        _ => input.channels.clone(),
    };
    let sample_rate = rate_hz.unwrap_or(input.sample_rate);
    let frames = channels.first().map_or(0, Vec::len);
    let long = frames as f64 / f64::from(sample_rate) > PROGRESS_SECONDS;
    let bar = (progress && long).then(|| {
        let bar = indicatif::ProgressBar::new(frames as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} rendering [{bar:40}] {percent:>3}% {elapsed_precise} (eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    });
    let rendered = sourcery_dsp::render::render_blocks(
        settings,
        &channels,
        sample_rate as f32,
        sourcery_dsp::render::BLOCK_FRAMES,
        &mut |done| {
            if let Some(bar) = &bar {
                bar.set_position(done as u64);
            }
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Audio {
        sample_rate,
        format: input.format,
        channels: rendered,
        tags: input.tags.clone(),
    })
}

/// Resample whole channels from `from_hz` to `to_hz` with rubato's FFT resampler (see the
/// module docs); the result has `ceil(frames · to / from)` frames, aligned with the input.
pub fn resample(channels: &[Vec<f32>], from_hz: u32, to_hz: u32) -> Result<Vec<Vec<f32>>> {
    use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
    use rubato::{Fft, FixedSync, Resampler, WindowFunction};

    let count = channels.len();
    let frames = channels.first().map_or(0, Vec::len);
    if frames == 0 {
        return Ok(vec![Vec::new(); count]);
    }
    // The FFT sizes are `k · from/gcd` and `k · to/gcd` for a chunk of `k · from/gcd` input
    // frames. Rubato trims `fft_size_out / 2` frames of delay, which is the filter's true
    // delay only when both sizes are even (measured: 44.1 → 96 kHz with odd sizes comes out
    // half an input sample early), so `k` is made even, and the chunk ≥ 1024 frames.
    let gcd = gcd(from_hz, to_hz);
    let min_chunk = (from_hz / gcd) as usize;
    let chunk = min_chunk * 2 * 512usize.div_ceil(min_chunk);
    let mut resampler = Fft::<f64>::new_custom(
        from_hz as usize,
        to_hz as usize,
        chunk,
        1,
        count,
        WindowFunction::BlackmanHarris2,
        FixedSync::Both,
    )
    .map_err(|e| anyhow!("cannot resample {from_hz} → {to_hz} Hz: {e}"))?;
    let input: Vec<Vec<f64>> = channels
        .iter()
        .map(|c| c.iter().map(|&x| f64::from(x)).collect())
        .collect();
    let needed = resampler.process_all_needed_output_len(frames);
    let mut output = vec![vec![0.0f64; needed]; count];
    let adapter_in = SequentialSliceOfVecs::new(&input, count, frames)
        .map_err(|e| anyhow!("resampler input: {e}"))?;
    let mut adapter_out = SequentialSliceOfVecs::new_mut(&mut output, count, needed)
        .map_err(|e| anyhow!("resampler output: {e}"))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&adapter_in, &mut adapter_out, frames, None)
        .map_err(|e| anyhow!("resampling {from_hz} → {to_hz} Hz failed: {e}"))?;
    let expected = (frames as u64 * u64::from(to_hz)).div_ceil(u64::from(from_hz)) as usize;
    let len = produced.min(expected);
    Ok(output
        .into_iter()
        .map(|c| c[..len].iter().map(|&x| x as f32).collect())
        .collect())
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Read a WAV file: 8/16/24/32-bit integer or 32-bit float, mono or stereo.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let name = path.display();
    let mut reader = WavReader::open(path).with_context(|| format!("cannot read {name}"))?;
    let spec = reader.spec();
    let count = usize::from(spec.channels);
    if !(1..=MAX_CHANNELS).contains(&count) {
        bail!("{name}: {count} channels; only mono and stereo files can be rendered");
    }
    let format = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => WavFormat::Float32,
        (SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => WavFormat::Int(bits),
        (kind, bits) => bail!("{name}: {bits}-bit {kind:?} samples are not supported"),
    };
    let interleaved: Vec<f32> = match format {
        WavFormat::Float32 => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .with_context(|| format!("{name}: bad sample data"))?,
        WavFormat::Int(bits) => {
            let scale = 1.0 / f64::from(1u32 << (bits - 1));
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| (f64::from(s) * scale) as f32))
                .collect::<Result<_, _>>()
                .with_context(|| format!("{name}: bad sample data"))?
        }
    };
    let mut channels = vec![Vec::with_capacity(interleaved.len() / count); count];
    for frame in interleaved.chunks_exact(count) {
        for (channel, &x) in channels.iter_mut().zip(frame) {
            channel.push(x);
        }
    }
    Ok(Audio {
        sample_rate: spec.sample_rate,
        format,
        channels,
        tags: Vec::new(),
    })
}

/// Write `audio` in its format; returns the number of samples clipped to integer full scale.
pub fn write_wav(path: &Path, audio: &Audio) -> Result<usize> {
    let name = path.display();
    let (bits_per_sample, sample_format) = match audio.format {
        WavFormat::Float32 => (32, SampleFormat::Float),
        WavFormat::Int(bits) => (bits, SampleFormat::Int),
    };
    let spec = WavSpec {
        channels: audio.channels.len() as u16,
        sample_rate: audio.sample_rate,
        bits_per_sample,
        sample_format,
    };
    let mut writer =
        WavWriter::create(path, spec).with_context(|| format!("cannot create {name}"))?;
    let mut clipped = 0;
    for i in 0..audio.frames() {
        for channel in &audio.channels {
            let x = channel[i];
            match audio.format {
                WavFormat::Float32 => writer.write_sample(x)?,
                WavFormat::Int(bits) => {
                    writer.write_sample(crate::audio::to_int(x, bits, &mut clipped))?;
                }
            }
        }
    }
    writer
        .finalize()
        .with_context(|| format!("cannot finish {name}"))?;
    Ok(clipped)
}

/// The demo signal at `sample_rate` (one channel; see the module docs): 3 s log sweep
/// 20 Hz → min(20 kHz, 0.45 fs) at −6 dBFS, 0.5 s silence, 1 s of 1 kHz at −6 dBFS, 0.5 s
/// silence.
pub fn demo_signal(sample_rate: u32) -> Vec<f32> {
    use std::f64::consts::TAU;
    let fs = f64::from(sample_rate);
    let amplitude = 0.5; // −6 dBFS peak
    let frames = |seconds: f64| (seconds * fs).round() as usize;
    let fade = frames(0.010);
    // Raised-cosine fade in and out over `fade` frames.
    let envelope = |i: usize, n: usize| {
        let edge = i.min(n - 1 - i);
        if edge >= fade {
            1.0
        } else {
            0.5 - 0.5 * (std::f64::consts::PI * edge as f64 / fade as f64).cos()
        }
    };
    let mut out = Vec::with_capacity(frames(5.0));
    // Exponential sweep (Farina 2000): phase = 2π f1 T / ln(f2/f1) · (e^{t ln(f2/f1)/T} − 1).
    let (f1, f2) = (20.0, (0.45 * fs).min(20_000.0));
    let sweep_s = 3.0;
    let rate = (f2 / f1).ln();
    let n = frames(sweep_s);
    out.extend((0..n).map(|i| {
        let t = i as f64 / fs;
        let phase = TAU * f1 * sweep_s / rate * ((t * rate / sweep_s).exp() - 1.0);
        (amplitude * envelope(i, n) * phase.sin()) as f32
    }));
    out.extend(std::iter::repeat_n(0.0, frames(0.5)));
    let n = frames(1.0);
    out.extend((0..n).map(|i| {
        let phase = TAU * 1000.0 * i as f64 / fs;
        (amplitude * envelope(i, n) * phase.sin()) as f32
    }));
    out.extend(std::iter::repeat_n(0.0, frames(0.5)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn ideal() -> Settings {
        parse_args(&args("--device ideal out.wav"))
            .expect("parse")
            .settings
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("sourcery-render-{}-{name}", std::process::id()))
    }

    fn tone(freq_hz: f64, sample_rate: u32, frames: usize, amplitude: f64) -> Vec<f32> {
        (0..frames)
            .map(|i| {
                let t = i as f64 / f64::from(sample_rate);
                (amplitude * (std::f64::consts::TAU * freq_hz * t).sin()) as f32
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// Frequency from the interpolated positive-going zero crossings.
    fn frequency_hz(x: &[f32], sample_rate: u32) -> f64 {
        let crossings: Vec<f64> = (1..x.len())
            .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
            .map(|i| {
                let (a, b) = (f64::from(x[i - 1]), f64::from(x[i]));
                (i - 1) as f64 + a / (a - b)
            })
            .collect();
        let periods = (crossings.len() - 1) as f64;
        f64::from(sample_rate) * periods / (crossings[crossings.len() - 1] - crossings[0])
    }

    #[test]
    fn parses_ids_names_and_options() {
        let o = parse_args(&args(
            "--device FiiO-K13-R2R --headphone sennheiser-hd600 --mode nos --filter 8 \
             --gain high --volume 62.5 --output bal --level-match off --rate 96000 in.wav out.wav",
        ))
        .expect("parse");
        assert_eq!(DEVICE_LABELS[o.settings.device.0], "FiiO K13 R2R");
        assert_eq!(HEADPHONE_LABELS[o.settings.headphone.0], "Sennheiser HD600");
        assert_eq!(o.settings.dac_mode, DacMode::from_index(1));
        assert_eq!(o.settings.os_filter, <Option<OsFilter>>::from_index(8));
        assert_eq!(o.settings.gain.label(), "High");
        assert_eq!(o.settings.output.label(), "BAL");
        assert_eq!(o.settings.volume_pct, 62.5);
        assert!(!o.settings.level_match);
        assert_eq!(o.rate_hz, Some(96_000));
        assert_eq!(o.input.as_deref(), Some(Path::new("in.wav")));
        assert_eq!(o.output, PathBuf::from("out.wav"));
        // Human names, a filter by label, the demo (no IN).
        let o = parse_args(&args("--device Ideal --filter slow out.wav"));
        assert!(o.is_err(), "'slow' names several filters");
        let o = parse_args(&args("--device ideal --filter super out.wav")).expect("parse");
        assert_eq!(o.settings.os_filter, Some(OsFilter::Ak4493SuperSlow));
        assert_eq!(o.input, None);
        // Every file id resolves, and an unknown one lists them.
        for (id, slot) in preset_ids("devices").expect("device ids") {
            let o = parse_args(&args(&format!("--device {id} out.wav"))).expect("parse");
            assert_eq!(o.settings.device, DeviceSlot(slot), "{id}");
        }
        let err = parse_args(&args("--device k99 out.wav"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fiio-k13-r2r") && err.contains("ideal"),
            "{err}"
        );
        let err = parse_args(&args("--device ideal --headphone hd999 out.wav"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("sennheiser-hd600"), "{err}");
        assert!(parse_args(&args("--headphone sennheiser-hd600 out.wav")).is_err());
    }

    /// Every format reads back as written (exactly, for values on its grid), and a render
    /// keeps the input's format, rate, channel count and length.
    #[test]
    fn wav_formats_round_trip() {
        let rate = 44_100;
        let x = tone(1000.0, rate, 4_410, 0.5);
        for format in [
            WavFormat::Int(16),
            WavFormat::Int(24),
            WavFormat::Int(32),
            WavFormat::Float32,
        ] {
            let path = temp_path(&format!("{format:?}.wav"));
            // Values on the format's grid, so the round trip must be exact.
            let quantize = |v: f32| match format {
                WavFormat::Int(bits) => {
                    let full = f64::from(1u32 << (bits - 1));
                    ((f64::from(v) * full).round() / full) as f32
                }
                WavFormat::Float32 => v,
            };
            let left: Vec<f32> = x.iter().map(|&v| quantize(v)).collect();
            let right: Vec<f32> = x.iter().map(|&v| quantize(-0.5 * v)).collect();
            let audio = Audio {
                sample_rate: rate,
                format,
                channels: vec![left, right],
                tags: Vec::new(),
            };
            assert_eq!(write_wav(&path, &audio).expect("write"), 0);
            let back = read_wav(&path).expect("read");
            assert_eq!(back, audio, "{format:?} round trip");

            let out = render_audio(&ideal(), &back, None, false).expect("render");
            let out_path = temp_path(&format!("{format:?}-out.wav"));
            write_wav(&out_path, &out).expect("write render");
            let rendered = read_wav(&out_path).expect("read render");
            assert_eq!(rendered.format, format);
            assert_eq!(rendered.sample_rate, rate);
            assert_eq!(rendered.channels.len(), 2);
            assert_eq!(rendered.frames(), audio.frames());
            // Ideal, level-matched: the input again, past the 10 ms ramps and filter ring.
            let diff = audio.channels[0][1_000..3_400]
                .iter()
                .zip(&rendered.channels[0][1_000..3_400])
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-3, "{format:?}: Ideal render differs by {diff:e}");
            let spec = WavReader::open(&out_path).expect("open").spec();
            println!("{format:?}: {spec:?}, Ideal render max diff {diff:e}");
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&out_path);
        }
    }

    #[test]
    fn unsupported_files_are_refused() {
        let path = temp_path("three.wav");
        let spec = WavSpec {
            channels: 3,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let mut writer = WavWriter::create(&path, spec).expect("create");
        for _ in 0..30 {
            writer.write_sample(0i16).expect("write");
        }
        writer.finalize().expect("finalize");
        let err = read_wav(&path).unwrap_err().to_string();
        assert!(err.contains("3 channels"), "{err}");
        let _ = std::fs::remove_file(&path);
    }

    /// A 1 kHz tone at 44.1 kHz rendered at 96 kHz with the Ideal device keeps its frequency
    /// and its level (within 0.05 dB).
    #[test]
    fn rate_conversion_keeps_frequency_and_level() {
        let (from, to) = (44_100, 96_000);
        let x = tone(1000.0, from, 2 * from as usize, 0.5);
        let input = Audio {
            sample_rate: from,
            format: WavFormat::Float32,
            channels: vec![x.clone()],
            tags: Vec::new(),
        };
        let out = render_audio(&ideal(), &input, Some(to), false).expect("render");
        assert_eq!(out.sample_rate, to);
        let expected = (x.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
        assert_eq!(out.frames(), expected);
        // The middle second (away from the ramps and the edges).
        let y = &out.channels[0][to as usize / 2..3 * to as usize / 2];
        let level_db = 20.0 * (rms(y) / rms(&x[from as usize / 2..3 * from as usize / 2])).log10();
        let freq = frequency_hz(y, to);
        println!("44.1 → 96 kHz, Ideal: level {level_db:+.2e} dB, frequency {freq:.6} Hz");
        assert!(level_db.abs() <= 0.05, "level {level_db:+.4} dB");
        assert!((freq - 1000.0).abs() < 0.01, "frequency {freq} Hz");
        // And the resampler alone is aligned with its input (no delay): the tone's phase at
        // the middle matches.
        let r = resample(std::slice::from_ref(&x), from, to).expect("resample");
        let t = 1.0; // s
        let want = (std::f64::consts::TAU * 1000.0 * t).sin() * 0.5;
        let got = f64::from(r[0][to as usize]);
        assert!(
            (got - want).abs() < 1e-3,
            "resampled at 1 s: {got} vs {want}"
        );
    }

    /// The converted signal lines up with the input (no fractional delay), for ratios whose
    /// FFT sizes would be odd with rubato's default chunking (44.1 ↔ 48/96 kHz).
    #[test]
    fn resampler_is_aligned() {
        let freq_hz = 1000.0;
        for (from, to) in [
            (44_100, 96_000),
            (44_100, 48_000),
            (48_000, 44_100),
            (96_000, 44_100),
            (48_000, 96_000),
        ] {
            let x = tone(freq_hz, from, 2 * from as usize, 0.5);
            let r = resample(&[x], from, to).expect("resample");
            // Fit sin and cos over the middle second: y ≈ a·sin(ωt + φ).
            let start = to as usize / 2;
            let (mut s, mut c) = (0.0, 0.0);
            for (k, &v) in r[0][start..start + to as usize].iter().enumerate() {
                let phase = std::f64::consts::TAU * freq_hz * (start + k) as f64 / f64::from(to);
                s += f64::from(v) * phase.sin();
                c += f64::from(v) * phase.cos();
            }
            let delay = -c.atan2(s) / (std::f64::consts::TAU * freq_hz) * f64::from(to);
            println!("{from} → {to} Hz: delay {delay:+.6} output samples");
            assert!(
                delay.abs() < 1e-3,
                "{from} → {to} Hz: delay {delay} samples"
            );
        }
    }

    #[test]
    fn demo_signal_has_its_parts() {
        let fs = 48_000;
        let x = demo_signal(fs);
        assert_eq!(x.len(), 5 * fs as usize);
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((peak - 0.5).abs() < 1e-3, "peak {peak}");
        let s = |a: f64, b: f64| &x[(a * 48_000.0) as usize..(b * 48_000.0) as usize];
        assert!(s(3.01, 3.49).iter().all(|&v| v == 0.0));
        assert!(s(4.51, 5.0).iter().all(|&v| v == 0.0));
        let burst = s(3.6, 4.4);
        let level_db = 20.0 * (rms(burst) / (0.5 / 2f64.sqrt())).log10();
        assert!(level_db.abs() < 0.01, "burst level {level_db}");
        assert!((frequency_hz(burst, fs) - 1000.0).abs() < 0.01);
    }
}
