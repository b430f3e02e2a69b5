//! `cargo xtask …`: build, bundle, install and test Sourcery.
//!
//! - `cargo xtask bundle sourcery [--release] [cargo build args]`: `Sourcery.clap` and
//!   `Sourcery.vst3` through nice-plug-xtask, then `Sourcery.lv2` (the LV2 wrapper's `.so`
//!   with `manifest.ttl` and `sourcery.ttl` generated from the parameter table), all in
//!   `target/bundled/`.
//! - `cargo xtask install`: copy the bundles into `~/.clap`, `~/.vst3` and `~/.lv2`.
//! - `cargo xtask test [cargo test args]`: bundle (release), build the debug plugin (whose
//!   `process` aborts on any allocation), then `cargo test --workspace`, host tests included.
//! - `cargo xtask render|measure|peq|spl|presets|export …`: aliases of the `sourcery` command-line
//!   tool's commands (crate `sourcery-cli`; `sourcery --help`).
//! - `cargo xtask screenshots [--out DIR] [--panels source,load,yours,peq,character,compare]
//!   [--no-build]`: build the standalone application and capture each editor panel as
//!   `docs/screenshots/<panel>.png` under Xvfb (see [`screenshots`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

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
        // The user-facing tools are the `sourcery` command's; these are its aliases.
        "spl" | "peq" | "render" | "presets" | "measure" | "export" => {
            let code = sourcery_cli::main_from(
                ["sourcery", command.as_str()]
                    .into_iter()
                    .map(String::from)
                    .chain(rest),
            );
            if code != std::process::ExitCode::SUCCESS {
                std::process::exit(1);
            }
            Ok(())
        }
        "screenshots" => screenshots::run(&rest),
        _ => {
            eprintln!(
                "Usage:\n  cargo xtask bundle sourcery [--release] [cargo build args]\n  \
                 cargo xtask install\n  cargo xtask test [cargo test args]\n  {}\n  \
                 cargo xtask render|measure|peq|spl|presets|export …: the `sourcery` tool's commands \
                 (`cargo run -p sourcery-cli -- --help`)",
                screenshots::USAGE,
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
