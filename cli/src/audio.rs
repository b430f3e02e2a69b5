//! Audio files, safely: what `render` reads and writes.
//!
//! - Reading: WAV through `hound` (8/16/24/32-bit integer, 32-bit float), everything else —
//!   64-bit float WAV, FLAC, AIFF, MP3, Ogg Vorbis — through `symphonia`. Integer files keep
//!   their bit depth in OUT; float and lossy ones are written as 32-bit float WAV (24-bit
//!   FLAC). Every error names the file, says what is wrong and what is accepted.
//! - Tags: read by symphonia from any of them (ID3, Vorbis comments, RIFF INFO), written
//!   into OUT where its format allows: Vorbis comments in FLAC, a `LIST`/`INFO` chunk in WAV
//!   (the keys INFO has, before the audio). ReplayGain tags are dropped (the render changes the level), and
//!   `ENCODER` names the voicing.
//! - Writing: WAV (`hound`) or FLAC (`flacenc`), by OUT's extension. Never destroys the input
//!   and never leaves a partial file: OUT equal to IN (the same path, or the same file
//!   through a link) is refused before anything is read; the audio is written into a
//!   temporary file beside OUT and renamed onto OUT only when complete. An error, or Ctrl-C
//!   ([`install_interrupt_cleanup`]), removes the temporary file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
                let mut audio = crate::render::read_wav(path).map_err(|e| {
                    let cause = e.root_cause().to_string();
                    anyhow!("{name}: the file is truncated or damaged ({cause}); {ACCEPTED}")
                })?;
                audio.tags = read_tags(path);
                return Ok(audio);
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

/// The tags of a file symphonia can probe, as (Vorbis comment name, value), in file order;
/// none if it has none or cannot be probed.
pub fn read_tags(path: &Path) -> Vec<(String, String)> {
    probe(path)
        .map(|mut probed| tags_of(&mut probed))
        .unwrap_or_default()
}

/// Open `path` and let symphonia find its format (its extension as the hint).
fn probe(path: &Path) -> Result<symphonia::core::probe::ProbeResult> {
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
    symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| anyhow!("not a known audio format ({e})"))
}

/// The tags `probed` found, as (Vorbis comment name, value), in file order: those read
/// while probing (an ID3v2 header before the audio), then the format's own.
fn tags_of(probed: &mut symphonia::core::probe::ProbeResult) -> Vec<(String, String)> {
    use symphonia::core::meta::MetadataRevision;
    let mut tags = Vec::new();
    let mut take = |revision: &MetadataRevision| {
        for tag in revision.tags() {
            let key = tag
                .std_key
                .and_then(vorbis_name)
                .map_or_else(|| tag.key.to_ascii_uppercase(), str::to_owned);
            // RIFF INFO strings end in NUL, which symphonia keeps.
            let value = tag.value.to_string().trim_end_matches('\0').to_owned();
            if !value.is_empty() && !tags.contains(&(key.clone(), value.clone())) {
                tags.push((key, value));
            }
        }
    };
    if let Some(metadata) = probed.metadata.get() {
        if let Some(revision) = metadata.current() {
            take(revision);
        }
    }
    if let Some(revision) = probed.format.metadata().current() {
        take(revision);
    }
    tags
}

/// The Vorbis comment name of a standard tag (the names FLAC files use).
fn vorbis_name(key: symphonia::core::meta::StandardTagKey) -> Option<&'static str> {
    use symphonia::core::meta::StandardTagKey as K;
    Some(match key {
        K::TrackTitle => "TITLE",
        K::Artist => "ARTIST",
        K::Album => "ALBUM",
        K::AlbumArtist => "ALBUMARTIST",
        K::Composer => "COMPOSER",
        K::Date | K::ReleaseDate => "DATE",
        K::Genre => "GENRE",
        K::Comment => "COMMENT",
        K::TrackNumber => "TRACKNUMBER",
        K::DiscNumber => "DISCNUMBER",
        K::Copyright => "COPYRIGHT",
        K::Encoder | K::EncodedBy => "ENCODER",
        K::Label => "LABEL",
        K::Language => "LANGUAGE",
        K::Performer => "PERFORMER",
        K::ReplayGainTrackGain => "REPLAYGAIN_TRACK_GAIN",
        K::ReplayGainTrackPeak => "REPLAYGAIN_TRACK_PEAK",
        K::ReplayGainAlbumGain => "REPLAYGAIN_ALBUM_GAIN",
        K::ReplayGainAlbumPeak => "REPLAYGAIN_ALBUM_PEAK",
        _ => return None,
    })
}

/// The RIFF INFO chunk id of a Vorbis comment name, for the keys INFO has.
fn info_id(key: &str) -> Option<&'static [u8; 4]> {
    Some(match key {
        "TITLE" => b"INAM",
        "ARTIST" => b"IART",
        "ALBUM" => b"IPRD",
        "DATE" => b"ICRD",
        "GENRE" => b"IGNR",
        "COMMENT" => b"ICMT",
        "TRACKNUMBER" => b"ITRK",
        "COPYRIGHT" => b"ICOP",
        "ENCODER" => b"ISFT",
        _ => return None,
    })
}

/// OUT's tags: IN's without the ReplayGain ones (the render changes the level) and with
/// `ENCODER` naming what made the file.
pub fn output_tags(input: &[(String, String)], encoder: &str) -> Vec<(String, String)> {
    input
        .iter()
        .filter(|(k, _)| !k.starts_with("REPLAYGAIN_") && k != "ENCODER")
        .cloned()
        .chain([("ENCODER".to_owned(), encoder.to_owned())])
        .collect()
}

/// Decode any format symphonia knows into 32-bit float samples.
fn decode(path: &Path) -> Result<Audio> {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
    use symphonia::core::errors::Error;

    let mut probed = probe(path)?;
    let tags = tags_of(&mut probed);
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| anyhow!("it has no audio track"))?;
    let format_of_output = pcm_format(&track.codec_params);
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
        format: format_of_output,
        channels,
        tags,
    })
}

/// The format OUT keeps for a decoded track: an integer PCM or FLAC track its bit depth,
/// anything else (float PCM, lossy codecs) 32-bit float.
fn pcm_format(params: &symphonia::core::codecs::CodecParameters) -> WavFormat {
    use symphonia::core::codecs as c;
    let integer = [
        c::CODEC_TYPE_FLAC,
        c::CODEC_TYPE_PCM_S8,
        c::CODEC_TYPE_PCM_U8,
        c::CODEC_TYPE_PCM_S16LE,
        c::CODEC_TYPE_PCM_S16BE,
        c::CODEC_TYPE_PCM_S24LE,
        c::CODEC_TYPE_PCM_S24BE,
        c::CODEC_TYPE_PCM_S32LE,
        c::CODEC_TYPE_PCM_S32BE,
    ];
    match params.bits_per_sample {
        Some(bits @ (8 | 16 | 24 | 32)) if integer.contains(&params.codec) => {
            WavFormat::Int(bits as u16)
        }
        _ => WavFormat::Float32,
    }
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
    if OutputKind::of(output).is_none() {
        bail!("{name}: OUT is written as WAV or FLAC; give it a .wav or .flac name");
    }
    Ok(())
}

/// The file formats OUT can have, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Wav,
    Flac,
}

impl OutputKind {
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "wav" | "wave" => Some(Self::Wav),
            "flac" => Some(Self::Flac),
            _ => None,
        }
    }
}

/// Write `audio` (with its tags) to `output` as WAV or FLAC, by its extension, through a
/// temporary file beside it, renamed when complete. Returns the number of samples clipped
/// to integer full scale.
pub fn write_atomically(output: &Path, audio: &Audio) -> Result<usize> {
    let kind = OutputKind::of(output).unwrap_or(OutputKind::Wav);
    replace_with(output, |tmp| match kind {
        OutputKind::Wav => {
            let clipped = crate::render::write_wav(tmp, audio)?;
            insert_info_chunk(tmp, &audio.tags)
                .with_context(|| format!("{}: cannot write its tags", output.display()))?;
            Ok(clipped)
        }
        OutputKind::Flac => write_flac(tmp, audio)
            .with_context(|| format!("{}: cannot write it as FLAC", output.display())),
    })
}

/// The bit depth a FLAC of `format` is written with: integer 16 or 24 bits are kept, 8 bits
/// become 16, float and 32-bit integer 24 (what FLAC encoders take).
pub fn flac_bits(format: WavFormat) -> u16 {
    match format {
        WavFormat::Int(8 | 16) => 16,
        _ => 24,
    }
}

/// `x` (±1 full scale) as a `bits`-bit integer, rounded; samples beyond full scale are
/// clipped and counted in `clipped`.
pub fn to_int(x: f32, bits: u16, clipped: &mut usize) -> i32 {
    let full = f64::from(1u32 << (bits - 1));
    let v = (f64::from(x) * full).round();
    if v > full - 1.0 || v < -full {
        *clipped += 1;
    }
    v.clamp(-full, full - 1.0) as i32
}

/// Encode `audio` as FLAC (see [`flac_bits`]) with its tags as a Vorbis comment block.
fn write_flac(path: &Path, audio: &Audio) -> Result<usize> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;

    let bits = flac_bits(audio.format);
    let mut clipped = 0;
    let mut interleaved = Vec::with_capacity(audio.frames() * audio.channels.len());
    for i in 0..audio.frames() {
        for channel in &audio.channels {
            interleaved.push(to_int(channel[i], bits, &mut clipped));
        }
    }
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| anyhow!("encoder settings: {e}"))?;
    let source = flacenc::source::MemSource::from_samples(
        &interleaved,
        audio.channels.len(),
        usize::from(bits),
        audio.sample_rate as usize,
    );
    let mut stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|e| anyhow!("encoding: {e}"))?;
    if !audio.tags.is_empty() {
        let block = flacenc::component::MetadataBlockData::new_unknown(
            VORBIS_COMMENT,
            &vorbis_comment(&audio.tags),
        )
        .map_err(|e| anyhow!("tags: {e}"))?;
        stream.add_metadata_block(block);
    }
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| anyhow!("encoding: {e}"))?;
    let mut bytes = sink.as_slice().to_vec();
    // STREAMINFO (after "fLaC" and its 4-byte block header): flacenc gives the last,
    // shorter block as the minimum block size, but FLAC's minimum excludes the last block;
    // with min ≠ max, decoders such as symphonia take the stream for variable-blocksize and
    // find no frame. A fixed-blocksize stream has min = max.
    assert_eq!(&bytes[..4], b"fLaC", "flacenc writes the stream marker");
    let max_block = [bytes[10], bytes[11]];
    bytes[8..10].copy_from_slice(&max_block);
    std::fs::write(path, bytes)?;
    Ok(clipped)
}

/// FLAC's metadata block type of a Vorbis comment.
const VORBIS_COMMENT: u8 = 4;

/// A Vorbis comment block's body: vendor, then `KEY=value` pairs, lengths little-endian.
fn vorbis_comment(tags: &[(String, String)]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::new();
    field(&mut out, b"Sourcery");
    out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
    for (key, value) in tags {
        field(&mut out, format!("{key}={value}").as_bytes());
    }
    out
}

/// Put a RIFF `LIST`/`INFO` chunk with the tags INFO has into a finished WAV file, before
/// its `data` chunk (where readers such as symphonia look), and fix the RIFF size. The file
/// is left as it is when no tag fits.
fn insert_info_chunk(path: &Path, tags: &[(String, String)]) -> Result<()> {
    let mut chunk = b"LIST\0\0\0\0INFO".to_vec();
    for (key, value) in tags {
        let Some(id) = info_id(key) else { continue };
        let mut text = value.as_bytes().to_vec();
        text.push(0);
        chunk.extend_from_slice(id);
        chunk.extend_from_slice(&(text.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&text);
        if text.len() % 2 == 1 {
            chunk.push(0);
        }
    }
    if chunk.len() == 12 {
        return Ok(());
    }
    let size = (chunk.len() - 8) as u32;
    chunk[4..8].copy_from_slice(&size.to_le_bytes());
    let mut bytes = std::fs::read(path)?;
    // Chunks after the 12-byte RIFF/WAVE header: find `data`.
    let mut at = 12;
    while at + 8 <= bytes.len() && &bytes[at..at + 4] != b"data" {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        at += 8 + len + len % 2;
    }
    if at + 8 > bytes.len() {
        bail!("no data chunk in the WAV just written");
    }
    bytes.splice(at..at, chunk);
    let riff_size =
        u32::try_from(bytes.len() - 8).map_err(|_| anyhow!("the file is too large for WAV"))?;
    bytes[4..8].copy_from_slice(&riff_size.to_le_bytes());
    std::fs::write(path, bytes)?;
    Ok(())
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
    set_pending(Some(tmp.clone()));
    let result = write(&tmp).and_then(|value| {
        hold_for_tests();
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
    set_pending(None);
    result
}

/// Test hook: with `SOURCERY_TEST_HOLD_TEMP_MS` set, wait that long between finishing the
/// temporary file and renaming it, so a test can interrupt the tool at that moment.
fn hold_for_tests() {
    if let Some(ms) = std::env::var("SOURCERY_TEST_HOLD_TEMP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// The temporary file being written, which Ctrl-C removes.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

fn set_pending(path: Option<PathBuf>) {
    *PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = path;
}

/// On Ctrl-C (SIGINT, SIGTERM on Unix): remove the temporary file being written, if any,
/// and exit with 130. OUT is then either untouched or complete, never partial.
pub fn install_interrupt_cleanup() {
    let _ = ctrlc::set_handler(|| {
        let pending = PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(tmp) = pending {
            let _ = std::fs::remove_file(&tmp);
        }
        eprintln!("interrupted: no output written");
        std::process::exit(130);
    });
}

/// `.NAME.sourcery-PID.tmp` in OUT's folder (the same file system, so the rename is atomic).
fn temporary_beside(output: &Path) -> PathBuf {
    let file = output
        .file_name()
        .map_or_else(|| "out".into(), |f| f.to_string_lossy().into_owned());
    output.with_file_name(format!(".{file}.sourcery-{}.tmp", std::process::id()))
}
