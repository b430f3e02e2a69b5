//! `cargo xtask screenshots`: PNG screenshots of the editor, one per panel, taken from the
//! standalone application on a virtual X server.
//!
//! ```text
//! cargo xtask screenshots [--out docs/screenshots] [--panels source,load,yours,peq,character,compare]
//!     [--no-build]
//! ```
//!
//! 1. Builds `cargo build --release -p sourcery --features standalone --bin
//!    sourcery-standalone` (skipped with `--no-build`, which uses the binary already in
//!    `target/release/`). The binary is not named `sourcery`, so `cargo xtask bundle` never
//!    mistakes it for a standalone build of the plugin.
//! 2. Re-runs this xtask under one `xvfb-run -a -s "-screen 0 1400x900x24"` (one Xvfb server
//!    for every panel; `xvfb-run` stops it when the capture ends, also on an error). For each
//!    panel it starts `sourcery-standalone --backend dummy` with
//!    `SOURCERY_EDITOR_PANEL=<panel>` (the editor opens on that panel), waits until a window
//!    named "Sourcery" is viewable (`xwininfo`, at most 30 s), lets it draw a few frames
//!    (3 s), captures it with ImageMagick's `import -window <id> <out>/<panel>.png` (again
//!    after a moment if the image is a single colour, i.e. not drawn yet), then kills the
//!    application and waits for its window to go. The application's output goes to
//!    `target/screenshots/<panel>.log`; a failure names the panel and shows that log.
//! 3. Prints the files written with their pixel sizes (`identify`).
//!
//! Needs the Debian packages `xvfb`, `xauth`, `x11-utils` and `imagemagick` at run time, and
//! `libasound2-dev` and `libjack-jackd2-dev` to build the standalone application. Mesa's
//! software OpenGL (llvmpipe) draws the egui editor under Xvfb.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

pub const USAGE: &str = "cargo xtask screenshots [--out DIR] \
     [--panels source,load,yours,peq,character,compare] [--no-build]";

/// The editor's panels, as `SOURCERY_EDITOR_PANEL` names them.
pub const PANELS: [&str; 6] = ["source", "load", "yours", "peq", "character", "compare"];
/// Environment variable that picks the editor's opening panel.
const PANEL_ENV: &str = "SOURCERY_EDITOR_PANEL";
const DEFAULT_OUT: &str = "docs/screenshots";
const BINARY: &str = "sourcery-standalone";
/// The editor window's title (`EguiNiceSettings::with_tile`).
const WINDOW_NAME: &str = "Sourcery";
/// Xvfb's screen: larger than the editor's 1100×720 logical px.
const XVFB_SCREEN: &str = "-screen 0 1400x900x24";
/// Longest wait for the window to be mapped.
const MAP_TIMEOUT: Duration = Duration::from_secs(30);
/// Time for a few frames after the window is mapped.
const SETTLE: Duration = Duration::from_secs(3);
/// Further tries, one `RETRY_DELAY` apart, when a capture is a single colour.
const BLANK_RETRIES: u32 = 5;
const RETRY_DELAY: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(100);
/// Hidden flag: this process runs under `xvfb-run` and does the capture.
const INNER_FLAG: &str = "--inside-xvfb";
/// Lines of the application's log shown with an error.
const LOG_TAIL_LINES: usize = 60;

/// Tools run by this command and the Debian package that has each.
const TOOLS: [(&str, &str); 6] = [
    ("xvfb-run", "xvfb"),
    ("Xvfb", "xvfb"),
    ("xauth", "xauth"),
    ("xwininfo", "x11-utils"),
    ("import", "imagemagick"),
    ("identify", "imagemagick"),
];

#[derive(Debug, Clone, PartialEq)]
struct Options {
    out: PathBuf,
    panels: Vec<String>,
    build: bool,
    /// `Some(binary)`: running under `xvfb-run`, capture with this binary.
    inner: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Options> {
    let mut options = Options {
        out: PathBuf::from(DEFAULT_OUT),
        panels: PANELS.iter().map(|p| p.to_string()).collect(),
        build: true,
        inner: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow!("{flag} needs a value; usage: {USAGE}"))
        };
        match flag.as_str() {
            "--out" => options.out = PathBuf::from(value()?),
            "--panels" => options.panels = parse_panels(value()?)?,
            "--no-build" => options.build = false,
            INNER_FLAG => options.inner = Some(PathBuf::from(value()?)),
            _ => bail!("unknown option '{flag}'; usage: {USAGE}"),
        }
    }
    Ok(options)
}

/// `source,load` → the panels, checked against [`PANELS`], without repeats.
fn parse_panels(list: &str) -> Result<Vec<String>> {
    let mut panels: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = name.to_ascii_lowercase();
        if !PANELS.contains(&name.as_str()) {
            bail!("unknown panel '{name}'; choose from {}", PANELS.join(","));
        }
        if !panels.contains(&name) {
            panels.push(name);
        }
    }
    if panels.is_empty() {
        bail!("--panels is empty; choose from {}", PANELS.join(","));
    }
    Ok(panels)
}

pub fn run(args: &[String]) -> Result<()> {
    let options = parse_args(args)?;
    if let Some(binary) = &options.inner {
        return capture_all(binary, &options.out, &options.panels);
    }
    check_tools()?;

    let binary = std::env::current_dir()?
        .join(crate::target_dir())
        .join("release")
        .join(BINARY);
    if options.build {
        let started = Instant::now();
        crate::run(Command::new("cargo").args([
            "build",
            "--release",
            "-p",
            crate::PLUGIN_PACKAGE,
            "--features",
            "standalone",
            "--bin",
            BINARY,
        ]))
        .context(
            "could not build the standalone application (it needs the Debian packages \
             libasound2-dev and libjack-jackd2-dev)",
        )?;
        eprintln!("Built {BINARY} in {:.0} s", started.elapsed().as_secs_f64());
    }
    if !binary.is_file() {
        bail!(
            "{} does not exist: run without --no-build",
            binary.display()
        );
    }

    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("could not create {}", options.out.display()))?;
    let out = std::env::current_dir()?.join(&options.out);
    let started = Instant::now();
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "-s", XVFB_SCREEN])
        .arg(std::env::current_exe().context("cannot find the xtask executable")?)
        .args(["screenshots", "--out"])
        .arg(&out)
        .args(["--panels", &options.panels.join(",")])
        .arg(INNER_FLAG)
        .arg(&binary);
    crate::run(&mut command).context("the capture under xvfb-run failed (see above)")?;
    eprintln!(
        "Captured {} panel(s) in {:.0} s",
        options.panels.len(),
        started.elapsed().as_secs_f64()
    );

    for panel in &options.panels {
        let file = options.out.join(format!("{panel}.png"));
        println!("{}  {}", file.display(), image_size(&file)?);
    }
    Ok(())
}

/// Every tool in [`TOOLS`] is on `PATH`, or an error naming the packages to install.
fn check_tools() -> Result<()> {
    let missing: Vec<(&str, &str)> = TOOLS
        .iter()
        .copied()
        .filter(|(tool, _)| !on_path(tool))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let tools: Vec<String> = missing
        .iter()
        .map(|(tool, package)| format!("{tool} (Debian package {package})"))
        .collect();
    let mut packages: Vec<&str> = Vec::new();
    for (_, package) in &missing {
        if !packages.contains(package) {
            packages.push(package);
        }
    }
    bail!(
        "cargo xtask screenshots needs {}, not found on PATH; install with: apt-get install -y {}",
        tools.join(", "),
        packages.join(" ")
    )
}

fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// `identify`'s `WIDTHxHEIGHT` of an image.
fn image_size(file: &Path) -> Result<String> {
    let output = Command::new("identify")
        .args(["-format", "%wx%h"])
        .arg(file)
        .output()
        .context("could not run identify (Debian package imagemagick)")?;
    if !output.status.success() {
        bail!(
            "identify {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Under `xvfb-run`: every panel in turn on the one server.
fn capture_all(binary: &Path, out: &Path, panels: &[String]) -> Result<()> {
    let logs = std::env::current_dir()?
        .join(crate::target_dir())
        .join("screenshots");
    std::fs::create_dir_all(&logs)
        .with_context(|| format!("could not create {}", logs.display()))?;
    for panel in panels {
        let log = logs.join(format!("{panel}.log"));
        let file = out.join(format!("{panel}.png"));
        let started = Instant::now();
        capture_panel(binary, panel, &file, &log).map_err(|e| {
            anyhow!(
                "panel '{panel}': {e:#}\n--- {} (the application's output) ---\n{}",
                log.display(),
                log_tail(&log)
            )
        })?;
        eprintln!(
            "panel '{panel}': {} ({:.1} s)",
            file.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Kills the application when dropped, on success and on every error path alike.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl App {
    /// An error if the application has exited.
    fn check_running(&mut self) -> Result<()> {
        match self.0.try_wait()? {
            Some(status) => bail!("the application exited early ({status})"),
            None => Ok(()),
        }
    }
}

fn capture_panel(binary: &Path, panel: &str, file: &Path, log: &Path) -> Result<()> {
    if let Some(id) = find_window()? {
        bail!("a window named {WINDOW_NAME:?} ({id}) is already open before the start");
    }
    let stdout =
        File::create(log).with_context(|| format!("could not create {}", log.display()))?;
    let stderr = stdout.try_clone()?;
    let child = Command::new(binary)
        .args([
            "--backend",
            "dummy",
            "--sample-rate",
            "48000",
            "--period-size",
            "512",
        ])
        .env(PANEL_ENV, panel)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    let mut app = App(child);

    let started = Instant::now();
    let id = loop {
        app.check_running()?;
        if let Some(id) = find_window()? {
            if is_viewable(&id)? {
                break id;
            }
        }
        if started.elapsed() > MAP_TIMEOUT {
            bail!(
                "no viewable window named {WINDOW_NAME:?} after {} s",
                MAP_TIMEOUT.as_secs()
            );
        }
        sleep(POLL);
    };
    sleep(SETTLE);
    app.check_running()?;

    let mut tries = 0;
    loop {
        run_quiet(Command::new("import").args(["-window", &id]).arg(file))?;
        if colours(file)? > 1 {
            break;
        }
        tries += 1;
        if tries > BLANK_RETRIES {
            bail!(
                "the window stayed blank (a single colour) {} s after it was mapped; see {}",
                SETTLE.as_secs() + u64::from(BLANK_RETRIES) * RETRY_DELAY.as_secs(),
                file.display()
            );
        }
        sleep(RETRY_DELAY);
        app.check_running()?;
    }

    drop(app);
    // The next panel must not find this window: wait for the server to destroy it.
    let gone = Instant::now();
    while find_window()?.is_some() {
        if gone.elapsed() > Duration::from_secs(5) {
            bail!("the window stayed after the application was killed");
        }
        sleep(POLL);
    }
    Ok(())
}

/// The id (`0x…`) of the first window named [`WINDOW_NAME`] in `xwininfo -root -tree`.
fn find_window() -> Result<Option<String>> {
    let tree = run_quiet(Command::new("xwininfo").args(["-root", "-tree"]))?;
    Ok(window_id(&tree, WINDOW_NAME))
}

/// In `xwininfo -tree` output (`     0x400002 "Sourcery": ()  1100x720+0+0  +0+0`), the id of
/// the first window named `name`.
fn window_id(tree: &str, name: &str) -> Option<String> {
    let quoted = format!("\"{name}\":");
    tree.lines().find_map(|line| {
        let (id, rest) = line.trim().split_once(char::is_whitespace)?;
        (id.starts_with("0x") && rest.trim_start().starts_with(&quoted)).then(|| id.to_string())
    })
}

fn is_viewable(id: &str) -> Result<bool> {
    let info = run_quiet(Command::new("xwininfo").args(["-id", id]))?;
    Ok(info.lines().any(|l| l.trim() == "Map State: IsViewable"))
}

/// Number of distinct colours in an image (1: blank).
fn colours(file: &Path) -> Result<u64> {
    let output = run_quiet(Command::new("identify").args(["-format", "%k"]).arg(file))?;
    output
        .trim()
        .parse()
        .with_context(|| format!("identify -format %k gave '{}'", output.trim()))
}

/// Runs a command, returns its stdout; an error with its stderr if it fails.
fn run_quiet(command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The last [`LOG_TAIL_LINES`] lines of the application's log.
fn log_tail(log: &Path) -> String {
    match std::fs::read_to_string(log) {
        Ok(text) if text.trim().is_empty() => "(empty)".to_string(),
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(could not read it: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_window_in_xwininfo_tree() {
        let tree = "\n  Root window id: 0x3a4 (the root window) (has no name)\n  \
                    Parent window id: 0x0 (none)\n     2 children:\n     \
                    0x200001 \"Sourcery-ish\": ()  10x10+0+0  +0+0\n     \
                    0x400002 \"Sourcery\": ()  1100x720+0+0  +0+0\n        \
                    1 child:\n        0x400003 (has no name): ()  1x1+0+0  +0+0\n";
        assert_eq!(window_id(tree, "Sourcery").as_deref(), Some("0x400002"));
        assert_eq!(window_id(tree, "Other"), None);
    }

    #[test]
    fn parses_panels_and_options() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.panels, PANELS);
        assert_eq!(o.out, PathBuf::from(DEFAULT_OUT));
        assert!(o.build && o.inner.is_none());
        let args: Vec<String> = ["--panels", "PEQ, source,peq", "--out", "x", "--no-build"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = parse_args(&args).unwrap();
        assert_eq!(o.panels, ["peq", "source"]);
        assert_eq!(o.out, PathBuf::from("x"));
        assert!(!o.build);
        assert!(parse_panels("sauce").is_err());
        assert!(parse_panels(",").is_err());
        assert!(parse_args(&["--out".to_string()]).is_err());
    }
}
