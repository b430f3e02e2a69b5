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
    let mut reader = hound::WavReader::open(path).unwrap();
    let channels = usize::from(reader.spec().channels);
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
        .collect()
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
