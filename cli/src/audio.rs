//! Audio files, safely: what `render` reads and writes.
//!
//! - Reading: WAV through `hound` (8/16/24/32-bit integer, 32-bit float; the output keeps
//!   that format), everything else — 64-bit float WAV, FLAC, AIFF, MP3, Ogg Vorbis — through
//!   `symphonia` (the output is then 32-bit float WAV). Every error names the file, says
//!   what is wrong and what is accepted.
//! - Writing never destroys the input and never leaves a partial file: OUT equal to IN (the
//!   same path, or the same file through a link) is refused before anything is read; the
//!   audio is written into a temporary file beside OUT and renamed onto OUT only when
//!   complete (an error removes the temporary file).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::render::{Audio, WavFormat};

/// What `render` accepts, for error messages.
pub const ACCEPTED: &str = "accepted: WAV (8/16/24/32-bit integer, 32/64-bit float), FLAC, \
                            AIFF, MP3 and Ogg Vorbis, mono or stereo";

/// Read an audio file (see the module docs).
pub fn read_audio(path: &Path) -> Result<Audio> {
    let name = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("{name}: no such file"),
        _ => anyhow!("{name}: cannot read it ({e})"),
    })?;
    if meta.is_dir() {
        bail!("{name}: is a folder, not an audio file");
    }
    if meta.len() == 0 {
        bail!("{name}: the file is empty; {ACCEPTED}");
    }
    let is_wav = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("wave"));
    if is_wav {
        match hound::WavReader::open(path) {
            Ok(_) => {
                return crate::render::read_wav(path).map_err(|e| {
                    let cause = e.root_cause().to_string();
                    anyhow!("{name}: the file is truncated or damaged ({cause}); {ACCEPTED}")
                })
            }
            // hound reads no 64-bit float WAV; symphonia does.
            Err(hound::Error::FormatError(m)) if m.contains("bits per sample") => {}
            Err(hound::Error::Unsupported) => {}
            Err(hound::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    || e.to_string().contains("enough bytes") =>
            {
                bail!("{name}: the file is truncated (it ends inside its header); {ACCEPTED}")
            }
            Err(hound::Error::FormatError(m)) => {
                bail!("{name}: not a WAV file ({m}); {ACCEPTED}")
            }
            Err(e) => bail!("{name}: cannot read it ({e}); {ACCEPTED}"),
        }
    }
    decode(path).with_context(|| format!("{name}: cannot decode it; {ACCEPTED}"))
}

/// Decode any format symphonia knows into 32-bit float samples.
fn decode(path: &Path) -> Result<Audio> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
    use symphonia::core::errors::Error;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let file = std::fs::File::open(path)?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| anyhow!("not a known audio format ({e})"))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| anyhow!("it has no audio track"))?;
    let track_id = track.id;
    let sample_rate = track
        .codec_params
        .sample_rate
        .ok_or_else(|| anyhow!("its sample rate is not given"))?;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| anyhow!("its codec is not supported ({e})"))?;
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut buffer: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(e) => bail!("bad data ({e})"),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged packet: skipped, as players do.
            Err(Error::DecodeError(_)) => continue,
            Err(e) => bail!("bad data ({e})"),
        };
        let spec = *decoded.spec();
        let count = spec.channels.count();
        if !(1..=sourcery_dsp::MAX_CHANNELS).contains(&count) {
            bail!("{count} channels; only mono and stereo files can be rendered");
        }
        if channels.is_empty() {
            channels = vec![Vec::new(); count];
        }
        let buf =
            buffer.get_or_insert_with(|| SampleBuffer::<f32>::new(decoded.capacity() as u64, spec));
        if buf.capacity() < decoded.capacity() * count {
            *buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        }
        buf.copy_interleaved_ref(decoded);
        for frame in buf.samples().chunks_exact(count) {
            for (channel, &x) in channels.iter_mut().zip(frame) {
                channel.push(x);
            }
        }
    }
    if channels.first().is_none_or(Vec::is_empty) {
        bail!("no audio in it (empty or truncated)");
    }
    Ok(Audio {
        sample_rate,
        format: WavFormat::Float32,
        channels,
    })
}

/// Whether `a` and `b` name the same file (the same path, or one file through links).
pub fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) if x == y => return true,
        _ => {}
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

/// Check before any work that OUT can be written: not IN, its folder exists.
pub fn check_output(output: &Path, input: Option<&Path>) -> Result<()> {
    let name = output.display();
    if let Some(input) = input {
        if same_file(input, output) {
            bail!(
                "{name}: OUT is IN ({}); refusing to overwrite the input — choose another \
                 output file",
                input.display()
            );
        }
    }
    let folder = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        bail!("{name}: the folder {} does not exist", folder.display());
    }
    if output.is_dir() {
        bail!("{name}: is a folder; give a file name such as out.wav");
    }
    let is_wav = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("wave"));
    if !is_wav {
        bail!("{name}: the output is written as WAV; give it a .wav name");
    }
    Ok(())
}

/// Write `audio` to `output` through a temporary file beside it, renamed when complete.
/// Returns the number of samples clipped to integer full scale.
pub fn write_atomically(output: &Path, audio: &Audio) -> Result<usize> {
    replace_with(output, |tmp| crate::render::write_wav(tmp, audio))
}

/// Write a text file through a temporary file beside it, renamed when complete.
pub fn write_text_atomically(output: &Path, text: &str) -> Result<()> {
    replace_with(output, |tmp| {
        std::fs::write(tmp, text).with_context(|| format!("{}: cannot write it", output.display()))
    })
}

/// Let `write` fill a temporary file beside `output`, then rename it onto `output`; on any
/// error the temporary file is removed and `output` is untouched.
fn replace_with<T>(output: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let tmp = temporary_beside(output);
    let result = write(&tmp).and_then(|value| {
        std::fs::rename(&tmp, output).with_context(|| {
            format!(
                "{}: cannot move the finished file into place",
                output.display()
            )
        })?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.NAME.sourcery-PID.tmp` in OUT's folder (the same file system, so the rename is atomic).
fn temporary_beside(output: &Path) -> PathBuf {
    let file = output
        .file_name()
        .map_or_else(|| "out".into(), |f| f.to_string_lossy().into_owned());
    output.with_file_name(format!(".{file}.sourcery-{}.tmp", std::process::id()))
}
