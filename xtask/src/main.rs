//! `cargo xtask …`: build, bundle, install and test Sourcery.
//!
//! - `cargo xtask bundle sourcery [--release] [cargo build args]`: `Sourcery.clap` and
//!   `Sourcery.vst3` through nice-plug-xtask, then `Sourcery.lv2` (the LV2 wrapper's `.so`
//!   with `manifest.ttl` and `sourcery.ttl` generated from the parameter table), all in
//!   `target/bundled/`.
//! - `cargo xtask install`: copy the bundles into `~/.clap`, `~/.vst3` and `~/.lv2`.
//! - `cargo xtask test [cargo test args]`: bundle (release), build the debug plugin (whose
//!   `process` aborts on any allocation), then `cargo test --workspace`, host tests included.
//! - `cargo xtask spl [--device NAME] [--output SE|BAL] [--gain Low|Medium|High]
//!   [--volume PERCENT] [--headphone NAME]`: what a setting means at the ear — SPL of a
//!   0 dBFS sine, of the hiss, the headroom before 1 % THD+N — for every catalogue headphone
//!   with a published sensitivity (names match case-insensitively by substring).
//! - `cargo xtask peq FILE`: import an AutoEQ / EqualizerAPO `ParametricEQ.txt` (errors name
//!   the file and line), and print it as a headphone file's `[peq]` section, as `lv2apply`
//!   control arguments, and exported back to EqualizerAPO text.
//! - `cargo xtask render --device ID [--headphone ID] [--mode os|nos] [--filter LABEL|INDEX]
//!   [--gain low|medium|high] [--volume PERCENT] [--output se|bal] [--peq FILE] [--rate HZ]
//!   [--level-match on|off] [--level matched|absolute|calibrated] [--your-source ID|OHMS]
//!   [--your-output se|bal] [--your-spl DB | --your-fs-vrms V] [--your-noise UV] [IN.wav]
//!   OUT.wav`: a WAV file (or, without IN, a demo signal) through the plugins' engine,
//!   offline and latency-compensated (see [`render`]); the `--your-*` flags describe the
//!   listener's own chain (`render::YOUR_CHAIN_USAGE`).
//! - `cargo xtask preset list [--json] | show ID | save --name NAME [--description TEXT]
//!   [--overwrite] [settings flags]`: the presets, and saving the settings as a user preset
//!   (see [`presets`]); `render --preset ID|NAME|FILE` renders one.
//! - `cargo xtask measure --device ID [--headphone ID] [--mode os|nos] [--your-source
//!   ID|OHMS] [--json] [--plots DIR]`: the virtual analyzer (frequency response, THD+N vs level, noise, clip
//!   point, Z_out effect, impulse/step, latency); `cargo xtask measure --all --markdown`
//!   writes `docs/conformance.md` (see [`measure`]).
//! - `cargo xtask screenshots [--out DIR] [--panels source,load,yours,peq,character,compare]
//!   [--no-build]`: build the standalone application and capture each editor panel as
//!   `docs/screenshots/<panel>.png` under Xvfb (see [`screenshots`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

mod measure;
mod presets;
mod render;
mod screenshots;

const PLUGIN_PACKAGE: &str = "sourcery";
const LV2_PACKAGE: &str = "sourcery-lv2";
const LV2_LIBRARY: &str = "libsourcery_lv2.so";
const BUNDLE_NAME: &str = "Sourcery";

fn main() -> Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "bundle" => bundle(&rest),
        "install" => install(),
        "test" => test(&rest),
        "spl" => spl(&rest),
        "peq" => peq(&rest),
        "render" => render::run(&rest),
        "preset" => presets::run(&rest),
        "measure" => measure::run(&rest),
        "screenshots" => screenshots::run(&rest),
        _ => {
            eprintln!(
                "Usage:\n  cargo xtask bundle sourcery [--release] [cargo build args]\n  \
                 cargo xtask install\n  cargo xtask test [cargo test args]\n  \
                 cargo xtask spl [--device NAME] [--output SE|BAL] [--gain Low|Medium|High] \
                 [--volume PERCENT] [--headphone NAME]\n  cargo xtask peq FILE\n  {}\n  {}\n  {}\n  {}\n\
                 Your chain: {}",
                render::USAGE,
                presets::USAGE,
                measure::USAGE,
                screenshots::USAGE,
                render::YOUR_CHAIN_USAGE
            );
            std::process::exit(2);
        }
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn bundled_dir() -> PathBuf {
    target_dir().join("bundled")
}

/// Profile folder that `cargo build` with these arguments writes to.
fn profile_dir(args: &[String]) -> String {
    let mut profile = "debug".to_string();
    for (i, arg) in args.iter().enumerate() {
        if arg == "--release" {
            profile = "release".into();
        } else if arg == "--profile" {
            if let Some(p) = args.get(i + 1) {
                profile.clone_from(p);
            }
        } else if let Some(p) = arg.strip_prefix("--profile=") {
            profile = p.into();
        }
    }
    profile
}

fn bundle(args: &[String]) -> Result<()> {
    // `bundle sourcery …`: the package name is accepted (and checked) for nice-plug-xtask's
    // familiar syntax; Sourcery is the only plugin.
    let build_args: Vec<String> = match args.first().map(String::as_str) {
        Some(PLUGIN_PACKAGE) => args[1..].to_vec(),
        Some(arg) if !arg.starts_with('-') => {
            bail!("unknown package '{arg}': the only bundle is '{PLUGIN_PACKAGE}'")
        }
        _ => args.to_vec(),
    };
    let packages = [PLUGIN_PACKAGE.to_string(), LV2_PACKAGE.to_string()];
    nice_plug_xtask::build(&packages, &build_args)?;
    nice_plug_xtask::bundle(&target_dir(), PLUGIN_PACKAGE, &build_args, false)?;
    bundle_lv2(&build_args)
}

fn bundle_lv2(build_args: &[String]) -> Result<()> {
    let library = target_dir().join(profile_dir(build_args)).join(LV2_LIBRARY);
    let dir = bundled_dir().join(format!("{BUNDLE_NAME}.lv2"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(&library, dir.join(LV2_LIBRARY))
        .with_context(|| format!("could not copy {}", library.display()))?;
    sourcery_lv2::ttl::write_bundle(&dir, LV2_LIBRARY)
        .with_context(|| format!("could not write the TTL files into {}", dir.display()))?;
    eprintln!("Created an LV2 bundle at '{}'", dir.display());
    Ok(())
}

fn install() -> Result<()> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("HOME is not set"))?;
    for (bundle, folder) in [
        (format!("{BUNDLE_NAME}.clap"), ".clap"),
        (format!("{BUNDLE_NAME}.vst3"), ".vst3"),
        (format!("{BUNDLE_NAME}.lv2"), ".lv2"),
    ] {
        let from = bundled_dir().join(&bundle);
        if !from.exists() {
            bail!(
                "{} does not exist: run `cargo xtask bundle sourcery --release` first",
                from.display()
            );
        }
        let to = home.join(folder).join(&bundle);
        copy_recursively(&from, &to)?;
        eprintln!("Installed {}", to.display());
    }
    Ok(())
}

fn copy_recursively(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        if to.exists() {
            std::fs::remove_dir_all(to)?;
        }
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to)?;
    }
    Ok(())
}

fn test(args: &[String]) -> Result<()> {
    bundle(&["--release".to_string()])?;
    // The debug plugin, whose `process` aborts on any allocation (nice-plug's
    // `assert_process_allocs`): the CLAP host test runs it.
    run(Command::new("cargo").args(["build", "--workspace"]))?;
    let mut command = Command::new("cargo");
    command
        .args(["test", "--workspace"])
        .args(args)
        .stdout(Stdio::piped());
    eprintln!("> {command:?}");
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().context("cargo test has no stdout")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        if let Some((p, f)) = parse_test_result(&line) {
            passed += p;
            failed += f;
        }
    }
    let status = child.wait()?;
    // One closing line over every test binary (cargo's own last line is the doc tests').
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed with {status}");
    }
    Ok(())
}

/// `test result: ok. 12 passed; 0 failed; …` → (12, 0).
fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |word: &str| {
        rest.split(';')
            .find_map(|part| {
                part.trim()
                    .trim_start_matches("ok. ")
                    .trim_start_matches("FAILED. ")
                    .strip_suffix(word)
            })
            .and_then(|n| n.trim().parse::<u64>().ok())
    };
    Some((count(" passed")?, count(" failed")?))
}

fn run(command: &mut Command) -> Result<()> {
    eprintln!("> {command:?}");
    let status = command.status()?;
    if status.success() {
        Ok(())
    } else {
        bail!("{command:?} failed with {status}")
    }
}

/// Index of the label that contains `name` (case-insensitive), or an error listing them.
fn pick(labels: &[&str], name: &str, what: &str) -> Result<usize> {
    let wanted = name.to_ascii_lowercase();
    labels
        .iter()
        .position(|l| l.to_ascii_lowercase() == wanted)
        .or_else(|| {
            labels
                .iter()
                .position(|l| l.to_ascii_lowercase().contains(&wanted))
        })
        .ok_or_else(|| anyhow!("no {what} matches '{name}'; choose one of {labels:?}"))
}

/// `cargo xtask spl`: the SPL table (see the module docs).
fn spl(args: &[String]) -> Result<()> {
    use sourcery_dsp::amp::{GainStep, Output};
    use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
    use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
    use sourcery_dsp::Settings;

    let mut settings = Settings::default();
    let mut devices: Vec<usize> = (0..DEVICE_LABELS.len()).collect();
    let mut headphones: Vec<usize> = (0..HEADPHONE_LABELS.len()).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--device" => devices = vec![pick(DEVICE_LABELS, value, "device")?],
            "--headphone" => headphones = vec![pick(HEADPHONE_LABELS, value, "headphone")?],
            "--output" => {
                settings.output = Output::from_index(pick(Output::LABELS, value, "output")?);
            }
            "--gain" => {
                settings.gain = GainStep::from_index(pick(GainStep::LABELS, value, "gain")?);
            }
            "--volume" => {
                settings.volume_pct = value
                    .parse::<f32>()
                    .ok()
                    .filter(|v| (0.0..=100.0).contains(v))
                    .ok_or_else(|| anyhow!("--volume takes 0…100, not '{value}'"))?;
            }
            _ => bail!("unknown option '{flag}'"),
        }
    }
    println!(
        "Output {}, gain {}, volume {:.0} %. SPL of a 0 dBFS sine, of the hiss (A-weighted) and \
         headroom of 0 dBFS before THD+N reaches 1 % (dB; negative: clips before full scale).",
        settings.output.label(),
        settings.gain.label(),
        settings.volume_pct
    );
    println!(
        "{:<14} {:<26} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "device", "headphone", "|Z| Ω", "0 dBFS", "hiss", "headroom", "max SPL"
    );
    for &device in &devices {
        for &headphone in &headphones {
            let s = Settings {
                device: DeviceSlot(device),
                headphone: HeadphoneSlot(headphone),
                ..settings
            };
            let catalogue = Catalogue::active();
            let Some(report) = s.spl_report(catalogue) else {
                continue;
            };
            let ohms = catalogue
                .headphone(s.headphone)
                .map_or(f64::NAN, |h| h.network.impedance(1000.0).norm());
            println!(
                "{:<14} {:<26} {:>8.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                DEVICE_LABELS[device],
                HEADPHONE_LABELS[headphone],
                ohms,
                report.spl_full_scale_db,
                report.noise_spl_db,
                report.headroom_db,
                report.max_spl_db
            );
        }
    }
    Ok(())
}

/// `cargo xtask peq FILE`: see the module docs.
fn peq(args: &[String]) -> Result<()> {
    use sourcery_dsp::peq::{self, FilterType};
    let [file] = args else {
        bail!("usage: cargo xtask peq FILE");
    };
    let bytes = std::fs::read(file).with_context(|| format!("read {file}"))?;
    if bytes.len() > peq::apo::MAX_FILE_BYTES {
        bail!("{file}: {} bytes is too large for a PEQ file", bytes.len());
    }
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{file}: not a text file"))?;
    let profile = peq::parse_apo(&text, file).map_err(|e| anyhow!("{e}"))?;
    let settings = peq::to_settings(&profile).map_err(|e| anyhow!("{e}"))?;
    let active = settings.bands.iter().filter(|b| b.on).count();
    println!(
        "# {file}: preamp {} dB, {active} active filters",
        settings.preamp_db
    );
    println!("\n# As a headphone file's PEQ (presets/headphones/*.toml):\n[peq]");
    println!("source = {:?}\npreamp_db = {}", file, settings.preamp_db);
    for band in settings.bands.iter().filter(|b| b.on) {
        println!(
            "\n[[peq.band]]\ntype = {:?}\nfreq_hz = {}\ngain_db = {}\nq = {}",
            FilterType::LABELS[band.kind.index()],
            band.freq_hz,
            band.gain_db,
            band.q
        );
    }
    let controls: Vec<String> = sourcery_dsp::settings::peq_values(&settings)
        .into_iter()
        .map(|(id, value)| format!("-c {} {value}", id.spec().id))
        .collect();
    println!("\n# As lv2apply controls:\n{}", controls.join(" "));
    println!(
        "\n# Exported back to EqualizerAPO:\n{}",
        peq::to_apo(&settings)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_test_result;

    #[test]
    fn parses_cargo_test_summaries() {
        assert_eq!(
            parse_test_result("test result: ok. 85 passed; 0 failed; 0 ignored; 0 measured"),
            Some((85, 0))
        );
        assert_eq!(
            parse_test_result("test result: FAILED. 3 passed; 2 failed; 0 ignored"),
            Some((3, 2))
        );
        assert_eq!(parse_test_result("running 3 tests"), None);
    }
}
