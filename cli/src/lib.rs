//! `sourcery`: the command-line tool. Render a file through a voicing, measure a voicing,
//! import a PEQ, print what a setting means at the ear, list and save presets.
//!
//! Arguments are parsed by `clap` (derive); every subcommand has its `--help`. Exit codes:
//! 0 done, 1 the work failed (the message names the file and what is wrong), 2 the command
//! line is wrong. `cargo xtask render|measure|peq|spl|presets` are aliases of these.

pub mod audio;
pub mod export;
pub mod measure;
pub mod presets;
pub mod render;
pub mod tools;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Hear your headphone as it would sound on a specific DAC/amp.
#[derive(Parser, Debug)]
#[command(name = "sourcery", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run an audio file (or a built-in demo signal) through a voicing, offline, as the
    /// plugins would: same engine, latency removed, same length as the input.
    Render(Box<RenderArgs>),
    /// The virtual analyzer: frequency response, THD+N vs level, noise, clip point, output
    /// impedance effect, impulse, latency; or the conformance table of every voicing.
    Measure(MeasureArgs),
    /// Import an AutoEQ / EqualizerAPO ParametricEQ.txt and print it as a headphone file's
    /// [peq], as lv2apply controls and back as EqualizerAPO text.
    Peq {
        /// The ParametricEQ.txt file.
        file: PathBuf,
        /// Print the preamp, the bands and the plugin's control values as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What a setting means at the ear: SPL of a 0 dBFS sine, hiss SPL(A), headroom, for
    /// every device × headphone with a published sensitivity.
    Spl(SplArgs),
    /// List, show and save presets ("my headphone on that source").
    #[command(subcommand)]
    Presets(PresetsCommand),
    /// Export a voicing for other software.
    #[command(subcommand)]
    Export(ExportCommand),
}

#[derive(Subcommand, Debug)]
enum ExportCommand {
    /// The linear part of the voicing (PEQ, output impedance × headphone, NOS droop) as an
    /// EqualizerAPO configuration; the file says what it leaves out.
    Apo {
        #[command(flatten)]
        settings: Box<SettingsArgs>,
        /// The host rate the NOS droop is computed at when the DAC follows the host.
        #[arg(long, value_name = "HZ", default_value_t = 48_000)]
        rate: u32,
        /// Write into FILE (default: print).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// A PipeWire filter-chain configuration: the Sourcery LV2 as a system-wide virtual
    /// sink with these settings (Linux). Install it as
    /// ~/.config/pipewire/pipewire.conf.d/sourcery.conf.
    Pipewire {
        #[command(flatten)]
        settings: Box<SettingsArgs>,
        /// The node the sink plays into (default: the session manager's choice).
        #[arg(long, value_name = "NODE")]
        target: Option<String>,
        /// Write into FILE (default: print).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// The settings every command that renders takes. Devices and headphones are named by
/// their preset file's id (`fiio-k13-r2r`), their display name, or a unique part of either
/// (`k13`).
#[derive(Args, Debug, Default)]
pub struct SettingsArgs {
    /// Start from a preset (its id, name or .toml file); the other options override it.
    #[arg(long, value_name = "ID|NAME|FILE")]
    preset: Option<String>,
    /// The source (DAC/amp) to emulate.
    #[arg(long, value_name = "ID")]
    device: Option<String>,
    /// The headphone (its impedance is the load), or "resistive".
    #[arg(long, value_name = "ID")]
    headphone: Option<String>,
    /// DAC mode: os (the chip's filter) or nos (zero-order hold).
    #[arg(long, value_name = "os|nos")]
    mode: Option<String>,
    /// OS filter: a label or its index (0 = the device's own).
    #[arg(long, value_name = "LABEL|INDEX")]
    filter: Option<String>,
    /// Gain step.
    #[arg(long, value_name = "low|medium|high")]
    gain: Option<String>,
    /// Volume, 0…100 %.
    #[arg(long, value_name = "PERCENT")]
    volume: Option<String>,
    /// Output: se or bal.
    #[arg(long, value_name = "se|bal")]
    output: Option<String>,
    /// Your EQ: an AutoEQ / EqualizerAPO ParametricEQ.txt.
    #[arg(long, value_name = "FILE")]
    peq: Option<String>,
    /// Level matching to the input at 1 kHz.
    #[arg(long, value_name = "on|off")]
    level_match: Option<String>,
    /// Level mode: matched, absolute or calibrated (SPL of your chain).
    #[arg(long, value_name = "matched|absolute|calibrated")]
    level: Option<String>,
    /// The source you listen through: a device id or its output impedance in ohms.
    #[arg(long, value_name = "ID|OHMS")]
    your_source: Option<String>,
    /// Your source's output: se or bal.
    #[arg(long, value_name = "se|bal")]
    your_output: Option<String>,
    /// Your chain's SPL of a 0 dBFS sine in this headphone (calibrated level).
    #[arg(long, value_name = "DB", conflicts_with = "your_fs_vrms")]
    your_spl: Option<String>,
    /// Your source's full-scale voltage (sets your SPL from the headphone's sensitivity).
    #[arg(long, value_name = "V")]
    your_fs_vrms: Option<String>,
    /// Your chain's noise floor, µV(A).
    #[arg(long, value_name = "UV")]
    your_noise: Option<String>,
}

impl SettingsArgs {
    /// The options as the flag list the setting parser reads (`--preset` first).
    fn to_flags(&self) -> Vec<String> {
        let pairs = [
            ("--preset", &self.preset),
            ("--device", &self.device),
            ("--headphone", &self.headphone),
            ("--mode", &self.mode),
            ("--filter", &self.filter),
            ("--gain", &self.gain),
            ("--volume", &self.volume),
            ("--output", &self.output),
            ("--peq", &self.peq),
            ("--level-match", &self.level_match),
            ("--level", &self.level),
            ("--your-source", &self.your_source),
            ("--your-output", &self.your_output),
            ("--your-spl", &self.your_spl),
            ("--your-fs-vrms", &self.your_fs_vrms),
            ("--your-noise", &self.your_noise),
        ];
        pairs
            .into_iter()
            .filter_map(|(flag, value)| value.as_ref().map(|v| [flag.to_owned(), v.clone()]))
            .flatten()
            .collect()
    }
}

#[derive(Args, Debug)]
struct RenderArgs {
    #[command(flatten)]
    settings: SettingsArgs,
    /// Render at this rate (IN is converted first, with rubato's FFT resampler).
    #[arg(long, value_name = "HZ")]
    rate: Option<String>,
    /// IN (WAV, FLAC, AIFF, MP3, Ogg Vorbis) and OUT (.wav or .flac; IN's bit depth and
    /// tags); with OUT alone, a 5 s demo signal (sweep, burst, silence) is rendered.
    #[arg(value_name = "[IN] OUT", num_args = 1..=2, required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct MeasureArgs {
    /// The source to measure (low gain, 100 %, level-matched).
    #[arg(long, value_name = "ID", required_unless_present = "all")]
    device: Option<String>,
    /// The load (default: a 32 Ω resistor).
    #[arg(long, value_name = "ID")]
    headphone: Option<String>,
    /// DAC mode: os or nos.
    #[arg(long, value_name = "os|nos")]
    mode: Option<String>,
    /// Host rate, Hz (default 48000).
    #[arg(long, value_name = "HZ")]
    rate: Option<String>,
    /// The source you listen through: a device id or ohms.
    #[arg(long, value_name = "ID|OHMS")]
    your_source: Option<String>,
    /// Your source's output: se or bal.
    #[arg(long, value_name = "se|bal")]
    your_output: Option<String>,
    /// Print the whole measurement as JSON.
    #[arg(long)]
    json: bool,
    /// Also write PNG plots into DIR.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Every voicing's conformance table (with --markdown: into docs/conformance.md).
    #[arg(long)]
    all: bool,
    /// With --all: write the table as Markdown.
    #[arg(long, requires = "all")]
    markdown: bool,
}

#[derive(Args, Debug)]
struct SplArgs {
    /// Only this device (its id, name or a unique part of either).
    #[arg(long, value_name = "ID")]
    device: Option<String>,
    /// Only this headphone (its id, name or a unique part of either).
    #[arg(long, value_name = "ID")]
    headphone: Option<String>,
    /// se or bal.
    #[arg(long, value_name = "se|bal")]
    output: Option<String>,
    /// Gain step.
    #[arg(long, value_name = "low|medium|high")]
    gain: Option<String>,
    /// 0…100 %.
    #[arg(long, value_name = "PERCENT")]
    volume: Option<String>,
    /// Print the rows as JSON (∞ as null).
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum PresetsCommand {
    /// Every preset: factory, then yours.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// One preset, as its file.
    Show {
        /// Its id, name or .toml file.
        preset: String,
    },
    /// Save settings as a preset in your preset folder (and as an LV2 preset bundle).
    Save {
        /// The preset's name.
        #[arg(long)]
        name: String,
        /// One or more sentences about it.
        #[arg(long)]
        description: Option<String>,
        /// Replace a preset of the same name.
        #[arg(long)]
        overwrite: bool,
        /// Save into DIR instead of your preset folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Write the LV2 preset bundle into DIR instead of ~/.lv2.
        #[arg(long, value_name = "DIR", conflicts_with = "no_lv2")]
        lv2_dir: Option<PathBuf>,
        /// Do not write an LV2 preset bundle.
        #[arg(long)]
        no_lv2: bool,
        #[command(flatten)]
        settings: Box<SettingsArgs>,
    },
}

/// The settings `args` describe, for a command that takes no file arguments.
fn settings_only(args: &SettingsArgs, command: &str) -> anyhow::Result<sourcery_dsp::Settings> {
    let (settings, _, files) = render::parse_settings(&args.to_flags())?;
    if !files.is_empty() {
        anyhow::bail!("{command} takes no file arguments; use --out FILE");
    }
    Ok(settings)
}

/// Write `text` into `out` (atomically), or print it.
fn write_or_print(out: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            audio::write_text_atomically(path, text)?;
            eprintln!("Wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn push(flags: &mut Vec<String>, flag: &str, value: &Option<String>) {
    if let Some(value) = value {
        flags.extend([flag.to_owned(), value.clone()]);
    }
}

/// A switch (a flag without a value) when it is on.
fn push_switch(flags: &mut Vec<String>, flag: &str, on: bool) {
    if on {
        flags.push(flag.to_owned());
    }
}

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Cli {
    /// Do what the command line says.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Render(args) => {
                let mut flags = args.settings.to_flags();
                push(&mut flags, "--rate", &args.rate);
                flags.extend(args.files.iter().map(|f| path(f)));
                render::run(&flags)
            }
            Command::Measure(args) => {
                let mut flags = Vec::new();
                push(&mut flags, "--device", &args.device);
                push(&mut flags, "--headphone", &args.headphone);
                push(&mut flags, "--mode", &args.mode);
                push(&mut flags, "--rate", &args.rate);
                push(&mut flags, "--your-source", &args.your_source);
                push(&mut flags, "--your-output", &args.your_output);
                push(&mut flags, "--plots", &args.plots.as_deref().map(path));
                push_switch(&mut flags, "--json", args.json);
                push_switch(&mut flags, "--all", args.all);
                push_switch(&mut flags, "--markdown", args.markdown);
                measure::run(&flags)
            }
            Command::Peq { file, json } => {
                let mut flags = Vec::new();
                push_switch(&mut flags, "--json", json);
                flags.push(path(&file));
                tools::peq(&flags)
            }
            Command::Spl(args) => {
                let mut flags = Vec::new();
                push(&mut flags, "--device", &args.device);
                push(&mut flags, "--headphone", &args.headphone);
                push(&mut flags, "--output", &args.output);
                push(&mut flags, "--gain", &args.gain);
                push(&mut flags, "--volume", &args.volume);
                push_switch(&mut flags, "--json", args.json);
                tools::spl(&flags)
            }
            Command::Export(ExportCommand::Apo {
                settings,
                rate,
                out,
            }) => {
                let settings = settings_only(&settings, "export apo")?;
                let catalogue = sourcery_dsp::presets::Catalogue::active();
                let text = export::apo(&settings, catalogue, f64::from(rate))?;
                write_or_print(out.as_deref(), &text)
            }
            Command::Export(ExportCommand::Pipewire {
                settings,
                target,
                out,
            }) => {
                let settings = settings_only(&settings, "export pipewire")?;
                let text = export::pipewire(&settings, target.as_deref())?;
                write_or_print(out.as_deref(), &text)
            }
            Command::Presets(PresetsCommand::List { json }) => presets::list(json),
            Command::Presets(PresetsCommand::Show { preset }) => {
                print!("{}", presets::find(&preset)?.to_toml());
                Ok(())
            }
            Command::Presets(PresetsCommand::Save {
                name,
                description,
                overwrite,
                dir,
                lv2_dir,
                no_lv2,
                settings,
            }) => {
                let lv2 = match (no_lv2, lv2_dir) {
                    (true, _) => presets::Lv2Target::None,
                    (false, Some(dir)) => presets::Lv2Target::Dir(dir),
                    (false, None) => presets::Lv2Target::User,
                };
                presets::save(&presets::SaveRequest {
                    name,
                    description,
                    overwrite,
                    dir,
                    lv2,
                    settings: settings.to_flags(),
                })
                .map(drop)
            }
        }
    }
}

/// Parse `args` (the program name first) and run: the process's exit code. Usage errors
/// and `--help` are clap's (exit 2 and 0); a failure prints its message and causes (never a
/// backtrace) and exits 1.
pub fn main_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    audio::install_interrupt_cleanup();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match cli.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
