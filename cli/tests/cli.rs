//! The `sourcery` binary as a user runs it (assert_cmd): help texts, exit codes, named
//! errors for every kind of bad input, inputs that are never overwritten, the formats read.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn sourcery() -> Command {
    let mut cmd = Command::cargo_bin("sourcery").expect("the sourcery binary");
    // Presets from the test's own (empty) folders, never the user's.
    cmd.env("SOURCERY_CONFIG_DIR", scratch("config"))
        .env("SOURCERY_DATA_DIR", scratch("data"));
    cmd
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("sourcery-cli-{}", std::process::id()))
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Run and expect `code`; the stderr.
fn fails(cmd: &mut Command, code: i32) -> String {
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
    stderr(&output)
}

fn read_wav(path: &Path) -> Vec<Vec<f32>> {
    sourcery_cli::audio::read_audio(path).unwrap().channels
}

fn rms_db(x: &[f32]) -> f64 {
    let p = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * p.log10()
}

#[test]
fn every_command_has_help() {
    let output = sourcery().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["render", "measure", "peq", "spl", "presets"] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    for (args, expect) in [
        (vec!["render", "--help"], "--your-source"),
        (vec!["measure", "--help"], "--plots"),
        (vec!["peq", "--help"], "ParametricEQ.txt"),
        (vec!["spl", "--help"], "--headphone"),
        (vec!["presets", "--help"], "save"),
        (vec!["presets", "save", "--help"], "--description"),
    ] {
        let output = sourcery().args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(expect), "{args:?}: {text}");
    }
}

#[test]
fn a_bad_option_is_a_usage_error_with_a_suggestion() {
    let err = fails(sourcery().args(["render", "--devce", "k7", "out.wav"]), 2);
    assert!(err.contains("unexpected argument '--devce'"), "{err}");
    assert!(err.contains("'--device'"), "{err}");
    let err = fails(sourcery().args(["render"]), 2);
    assert!(err.contains("OUT"), "{err}");
}

#[test]
fn device_ids_accept_a_unique_part_and_a_miss_lists_the_ids() {
    let dir = scratch("ids");
    let out = dir.join("k13.wav");
    sourcery()
        .args(["render", "--device", "k13"])
        .arg(&out)
        .assert()
        .success();
    assert!(out.is_file());
    let err = fails(sourcery().args(["render", "--device", "k99"]).arg(&out), 1);
    assert!(err.contains("unknown device 'k99'"), "{err}");
    assert!(
        err.contains("did you mean fiio-k11-r2r or fiio-k13-r2r"),
        "{err}"
    );
    assert!(err.contains("Valid ids: apple-usb-c-dongle-eu"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    let err = fails(sourcery().args(["render", "--device", "fiio"]).arg(&out), 1);
    assert!(err.contains("names more than one device"), "{err}");
}

#[test]
fn render_in_in_is_refused_and_in_is_untouched() {
    let dir = scratch("in-in");
    let input = dir.join("music.wav");
    std::fs::copy(data("tone-f64.wav"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let err = fails(
        sourcery()
            .args(["render", "--device", "k7"])
            .arg(&input)
            .arg(&input),
        1,
    );
    assert!(err.contains("OUT is IN"), "{err}");
    // The same file through a hard link.
    let link = dir.join("link.wav");
    std::fs::hard_link(&input, &link).unwrap();
    let err = fails(
        sourcery()
            .args(["render", "--device", "k7"])
            .arg(&input)
            .arg(&link),
        1,
    );
    assert!(err.contains("OUT is IN"), "{err}");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "IN is byte-identical"
    );
}

#[test]
fn bad_inputs_are_named_with_what_is_wrong_and_what_is_accepted() {
    let dir = scratch("bad");
    let out = dir.join("out.wav");
    let good = std::fs::read(data("tone-f64.wav")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.wav", Vec::new(), "the file is empty"),
        ("header.wav", good[..20].to_vec(), "truncated"),
        (
            "random.wav",
            (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            "not a WAV file",
        ),
        (
            "random.flac",
            (0..3000u32).map(|i| (i * 31 % 253) as u8).collect(),
            "cannot decode it",
        ),
    ];
    for (name, bytes, expect) in cases {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let err = fails(
            sourcery()
                .args(["render", "--device", "k7"])
                .arg(&input)
                .arg(&out),
            1,
        );
        assert!(err.contains(&input.display().to_string()), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(err.contains("accepted: WAV"), "{name}: {err}");
        assert!(!out.exists(), "{name}: no output after an error");
    }
    // A 16-bit WAV cut in its data.
    let wav16 = dir.join("cut.wav");
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&wav16, spec).unwrap();
        for i in 0..4800 {
            w.write_sample((i % 100) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let bytes = std::fs::read(&wav16).unwrap();
    std::fs::write(&wav16, &bytes[..bytes.len() - 1001]).unwrap();
    let err = fails(
        sourcery()
            .args(["render", "--device", "k7"])
            .arg(&wav16)
            .arg(&out),
        1,
    );
    assert!(err.contains("truncated or damaged"), "{err}");

    let missing = dir.join("nothing-here.wav");
    let err = fails(
        sourcery()
            .args(["render", "--device", "k7"])
            .arg(&missing)
            .arg(&out),
        1,
    );
    assert!(
        err.contains(&format!("{}: no such file", missing.display())),
        "{err}"
    );
    let err = fails(
        sourcery()
            .args(["render", "--device", "k7"])
            .arg(data("tone.flac"))
            .arg(dir.join("no-folder/out.wav")),
        1,
    );
    assert!(err.contains("no-folder does not exist"), "{err}");
    // No temporary file is left behind by any of these.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn wav_f64_flac_aiff_mp3_and_ogg_render_alike() {
    let dir = scratch("formats");
    let mut levels = Vec::new();
    for name in [
        "tone-f64.wav",
        "tone.flac",
        "tone.aiff",
        "tone.mp3",
        "tone.ogg",
    ] {
        let out = dir.join(format!("{name}.wav"));
        sourcery()
            .args(["render", "--device", "ideal", "--headphone", "resistive"])
            .arg(data(name))
            .arg(&out)
            .assert()
            .success();
        let channels = read_wav(&out);
        assert_eq!(channels.len(), 2, "{name}");
        // Lossy codecs add the encoder's padding; the others keep every frame.
        if name.ends_with("mp3") || name.ends_with("ogg") {
            assert!(channels[0].len() >= 2400, "{name}");
        } else {
            assert_eq!(channels[0].len(), 2400, "{name}");
        }
        // 30 periods of 1 kHz, after the parameter ramps.
        let level = rms_db(&channels[0][480..1920]);
        let peak = channels[0].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        println!("{name}: left channel {level:.3} dBFS rms, peak {peak:.3}");
        levels.push((name, level, peak));
    }
    // A 0.5 sine is −9.031 dBFS rms: the lossless inputs within 0.01 dB. The lossy ones
    // are shifted by their codec's delay (the window is not all tone): their peak is
    // checked, 0.5 within 10 %.
    for (name, level, peak) in levels {
        if name.ends_with("mp3") || name.ends_with("ogg") {
            assert!((peak - 0.5).abs() < 0.05, "{name}: peak {peak:.3}");
        } else {
            assert!((level + 9.031).abs() < 0.01, "{name}: {level:.3} dBFS");
        }
    }
}

#[test]
fn presets_list_and_show() {
    let output = sourcery()
        .args(["presets", "list", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("\"id\":\"combo/k7-andromeda\""), "{text}");
    let output = sourcery()
        .args(["presets", "show", "K7 + Andromeda"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("device = \"fiio-k7\""), "{text}");
    let err = fails(sourcery().args(["presets", "show", "andromedaa"]), 1);
    assert!(err.contains("no preset 'andromedaa'"), "{err}");
}

#[test]
fn export_apo_writes_the_linear_part_and_says_what_it_leaves_out() {
    let dir = scratch("export");
    let out = dir.join("k13-nos-hd600.txt");
    sourcery()
        .args([
            "export",
            "apo",
            "--preset",
            "K13 NOS + HD600",
            "--rate",
            "44100",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("FiiO K13 R2R (NOS) on Sennheiser HD600"),
        "{text}"
    );
    assert!(text.contains("Left out"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("Filter")).count(), 10);
    // The NOS droop at 20 kHz (44.1 kHz hold, −3.2 dB re 1 kHz) is in the GraphicEQ.
    let graphic = text.lines().find(|l| l.starts_with("GraphicEQ:")).unwrap();
    let last: f64 = graphic
        .rsplit(';')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((last + 3.2).abs() < 0.15, "{graphic}");
}

/// A 24-bit stereo FLAC with tags (written by the tool's own writer), rendered into FLAC and
/// into WAV: both keep 24 bits and the samples the renderer gives (to the 24-bit grid), the
/// tags come along (ReplayGain dropped, ENCODER naming the voicing), and WAV carries the
/// ones RIFF INFO has.
#[test]
fn flac_and_wav_out_keep_the_bit_depth_the_samples_and_the_tags() {
    use sourcery_cli::render::{Audio, WavFormat};
    let dir = scratch("flac-out");
    let rate = 48_000u32;
    let grid = |v: f64| ((v * 8_388_608.0).round() / 8_388_608.0) as f32;
    let tone = |f: f64, a: f64| -> Vec<f32> {
        (0..9_600)
            .map(|n| grid(a * (std::f64::consts::TAU * f * f64::from(n) / f64::from(rate)).sin()))
            .collect()
    };
    let input = Audio {
        sample_rate: rate,
        format: WavFormat::Int(24),
        channels: vec![tone(1000.0, 0.5), tone(15_000.0, 0.25)],
        tags: vec![
            ("TITLE".into(), "Sine à 1 kHz".into()),
            ("ARTIST".into(), "Sourcery tests".into()),
            ("REPLAYGAIN_TRACK_GAIN".into(), "-3.2 dB".into()),
        ],
    };
    let in_path = dir.join("in.flac");
    sourcery_cli::audio::write_atomically(&in_path, &input).unwrap();
    let back = sourcery_cli::audio::read_audio(&in_path).unwrap();
    assert_eq!(back.format, WavFormat::Int(24));
    assert_eq!(
        back.channels, input.channels,
        "FLAC is lossless on the 24-bit grid"
    );
    assert_eq!(back.tags, input.tags, "tags read back from our FLAC");

    let settings = sourcery_dsp::Settings {
        device: sourcery_dsp::presets::DeviceSlot::by_id("fiio-k13-r2r").unwrap(),
        headphone: sourcery_dsp::presets::HeadphoneSlot::by_id("sennheiser-hd600").unwrap(),
        dac_mode: sourcery_dsp::dac::DacMode::Nos,
        ..sourcery_dsp::Settings::default()
    };
    let rendered = sourcery_dsp::render::render(&settings, &input.channels, rate as f32);
    for name in ["out.flac", "out.wav"] {
        let out = dir.join(name);
        sourcery()
            .args([
                "render",
                "--device",
                "k13",
                "--headphone",
                "hd600",
                "--mode",
                "nos",
            ])
            .arg(&in_path)
            .arg(&out)
            .assert()
            .success();
        let got = sourcery_cli::audio::read_audio(&out).unwrap();
        assert_eq!(got.format, WavFormat::Int(24), "{name} keeps 24 bits");
        let mut diff = 0.0f32;
        for (a, b) in got.channels.iter().zip(&rendered) {
            assert_eq!(a.len(), b.len(), "{name}: every frame");
            for (x, y) in a.iter().zip(b) {
                diff = diff.max((x - y).abs());
            }
        }
        println!(
            "{name}: max |Δ| {diff:e} against the renderer; tags {:?}",
            got.tags
        );
        assert!(
            diff <= 0.6 / 8_388_608.0,
            "{name}: max |Δ| {diff:e}, half an LSB allowed"
        );
        let tag = |key: &str| {
            got.tags
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(tag("TITLE"), Some("Sine à 1 kHz"), "{name}");
        assert_eq!(tag("ARTIST"), Some("Sourcery tests"), "{name}");
        assert_eq!(
            tag("REPLAYGAIN_TRACK_GAIN"),
            None,
            "{name}: the level changed"
        );
        let encoder = tag("ENCODER").unwrap_or_default();
        assert!(
            encoder.contains("FiiO K13 R2R") && encoder.contains("Sennheiser HD600"),
            "{name}: ENCODER {encoder:?}"
        );
    }
}

/// Ctrl-C while rendering, and again with the finished temporary file not yet renamed:
/// exit code 130, OUT not created, no temporary file left.
#[test]
fn ctrl_c_leaves_no_partial_or_temporary_file() {
    use sourcery_cli::render::{Audio, WavFormat};
    let dir = scratch("ctrl-c");
    let input = dir.join("long.wav");
    let x: Vec<f32> = (0..48_000 * 20)
        .map(|n| (0.3 * (f64::from(n) * 0.0654).sin()) as f32)
        .collect();
    sourcery_cli::render::write_wav(
        &input,
        &Audio {
            sample_rate: 48_000,
            format: WavFormat::Float32,
            channels: vec![x.clone(), x],
            tags: Vec::new(),
        },
    )
    .unwrap();
    let files = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    for (out, hold) in [("during-render.flac", false), ("before-rename.wav", true)] {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sourcery"));
        cmd.args(["render", "--device", "k13"])
            .arg(&input)
            .arg(dir.join(out))
            .env("SOURCERY_CONFIG_DIR", scratch("config"))
            .env("SOURCERY_DATA_DIR", scratch("data"))
            .stderr(std::process::Stdio::piped());
        if hold {
            cmd.env("SOURCERY_TEST_HOLD_TEMP_MS", "60000");
        }
        let child = cmd.spawn().unwrap();
        let started = std::time::Instant::now();
        if hold {
            // Wait for the finished temporary file.
            while !files().iter().any(|f| f.ends_with(".tmp")) {
                assert!(
                    started.elapsed().as_secs() < 60,
                    "no temporary file appeared"
                );
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        let seen = files();
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on the child's own pid.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr).into_owned();
        println!("{out}: files when interrupted {seen:?}; {err}");
        assert_eq!(output.status.code(), Some(130), "{out}: {err}");
        assert!(err.contains("interrupted"), "{out}: {err}");
        assert_eq!(files(), vec!["long.wav".to_owned()], "{out}: nothing left");
    }
}

#[test]
fn spl_and_peq_print_json() {
    let output = sourcery()
        .args(["spl", "--device", "k13", "--headphone", "hd600", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["device"], "FiiO K13 R2R");
    assert_eq!(rows[0]["headphone"], "Sennheiser HD600");
    let spl = rows[0]["spl_full_scale_db"].as_f64().unwrap();
    assert!((40.0..140.0).contains(&spl), "{spl}");

    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../dsp-core/tests/data/autoeq/Sennheiser HD 600 ParametricEQ.txt");
    let text = std::fs::read_to_string(&file).unwrap();
    let output = sourcery()
        .args(["peq", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bands = value["bands"].as_array().unwrap();
    let filters = text.lines().filter(|l| l.starts_with("Filter")).count();
    assert_eq!(bands.len(), filters, "one band per Filter line");
    let preamp: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Preamp:"))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap();
    assert_eq!(value["preamp_db"].as_f64(), Some(preamp));
    assert_eq!(value["controls"]["peq_on"], 1.0, "{}", value["controls"]);
}
