//! Ardour 7, a real DAW, headless: Sourcery in sessions built by `ardour7-lua` (the "None
//! (Dummy)" audio backend), exported by `ardour7-export` (Ardour freewheels).
//!
//! Each session has a stereo track holding a test WAV (2 s at 48 kHz: 1 kHz and 15 kHz
//! tones) and Sourcery on it — the LV2 in one session, the VST3 in another — with the device,
//! the headphone, the DAC mode and a PEQ band set through Ardour's parameter API. The session
//! is saved and reopened (Ardour gives back every value, the plugin's latency and the
//! automation) and exported; the export equals the renderer (`sourcery render`'s engine) fed
//! the same file with the values Ardour reports, within 1e-6, after Ardour's latency
//! compensation (a track's export is aligned with its input). In the LV2 session `dac_mode`
//! is automated from OS to NOS at sample 48 000: the export equals the renderer handed the
//! change where Ardour hands it to the plugin (the automation point plus the plugin's
//! latency, Ardour's latency compensation of automation), and the switch is heard from
//! sample 48 000 + 48, the limiter's 1 ms look-ahead, which follows the chain swap's fade.
//!
//! Headless Ardour 7.3 cannot import a file onto a track nor set the session range from Lua:
//! `tests/ardour_session.py` writes both into the session file. It reads VST3 plugins only
//! from its scan cache: the test runs Ardour's own `ardour-vst3-scanner` into a private
//! cache first. Everything runs with private XDG config and cache folders.
//!
//! The device is the FiiO K13 R2R with its hiss and its ladder's dither set to 0, through a
//! user device file in a private `SOURCERY_CONFIG_DIR` (it overrides the factory K13 in the
//! plugins and in this test alike): hiss is a random signal whose realisation depends on how
//! long Ardour ran the plugin before the export, which a sample-exact comparison cannot
//! allow for. Everything else about the K13 (ladder, hold, filters, amp, load) is in.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::Duration;

use wait_timeout::ChildExt;

use sourcery_dsp::params::BandField;
use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use sourcery_dsp::{ParamId, ParamValues, Settings};
use sourcery_tests::{bundle, have_program, read_wav, skip_unless, workspace_root, write_wav};

const RATE: u32 = 48_000;
/// The test file's length, samples (2 s).
const LENGTH: usize = 96_000;
/// Where the LV2 session's automation switches `dac_mode` from OS to NOS.
const SWITCH: usize = 48_000;
/// How long one Ardour program may run (each takes seconds): past it, it is taken as hung.
const HANG: Duration = Duration::from_secs(180);
/// How many times an `ardour7-export` that hung is run again before the test fails. Ardour
/// 7.3's export has been seen to hang once in dozens of runs (its butler thread and its
/// process graph each waiting on the other, no Sourcery code on any stack).
const EXPORT_RETRIES: usize = 1;

/// The Sourcery parameters each session sets, as (parameter index, value): the LV2 control
/// index and the VST3 parameter index are both the table index.
fn parameters(dac_mode: f32) -> Vec<(usize, f32)> {
    vec![
        (
            ParamId::Device as usize,
            DeviceSlot::by_id("fiio-k13-r2r").unwrap().0 as f32,
        ),
        (
            ParamId::Headphone as usize,
            HeadphoneSlot::by_id("sennheiser-hd600").unwrap().0 as f32,
        ),
        (ParamId::DacMode as usize, dac_mode),
        (ParamId::band(0, BandField::Gain) as usize, 6.0),
        (ParamId::band(0, BandField::Freq) as usize, 3000.0),
    ]
}

/// The settings of `values` (parameter index, value) over the defaults.
fn settings(values: &[(usize, f32)]) -> Settings {
    let mut all = ParamValues::default();
    for &(index, value) in values {
        all.0[index] = value;
    }
    Settings::from_values(&all)
}

/// The test file: 1 kHz at 0.3 and 15 kHz at 0.2 (where the NOS hold's droop shows), the
/// right channel at half the left.
fn test_signal() -> Vec<Vec<f32>> {
    let left: Vec<f32> = (0..LENGTH)
        .map(|n| {
            let t = n as f64 / f64::from(RATE);
            (0.3 * (std::f64::consts::TAU * 1000.0 * t).sin()
                + 0.2 * (std::f64::consts::TAU * 15_000.0 * t).sin()) as f32
        })
        .collect();
    let right = left.iter().map(|x| 0.5 * x).collect();
    vec![left, right]
}

/// A private Ardour environment under `dir`: XDG config and cache folders, an LV2 path and a
/// VST3 path holding only Sourcery, and Sourcery's own config folder with the noiseless K13.
struct Ardour {
    dir: PathBuf,
}

/// The K13's factory file with its hiss and dither at 0 (see the module docs).
fn noiseless_k13() -> String {
    let factory =
        std::fs::read_to_string(workspace_root().join("presets/devices/fiio-k13-r2r.toml"))
            .unwrap();
    assert!(factory.contains("dither = true"), "the K13 has dither");
    let mut out = String::new();
    for line in factory.replace("dither = true", "dither = false").lines() {
        match line.find("noise_uv_a = ") {
            Some(at) => {
                let end = at + line[at..].find(" }").expect("an inline table");
                out.push_str(&format!("{}noise_uv_a = 0.0{}", &line[..at], &line[end..]));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Sourcery's config folder shared by the tests of this process, installed once into this
/// process's catalogue (the renderer's), as the plugins in Ardour install it.
fn sourcery_config() -> PathBuf {
    static INSTALL: Once = Once::new();
    let dir = std::env::temp_dir().join(format!("sourcery-ardour-{}-config", std::process::id()));
    INSTALL.call_once(|| {
        std::fs::create_dir_all(dir.join("devices")).unwrap();
        std::fs::write(dir.join("devices/fiio-k13-r2r.toml"), noiseless_k13()).unwrap();
        // SAFETY (set_var): called once, before any thread of this test reads the
        // environment for it.
        unsafe { std::env::set_var("SOURCERY_CONFIG_DIR", &dir) };
        let errors = sourcery_dsp::presets::install_from_config_dir();
        assert!(errors.is_empty(), "{errors:?}");
    });
    dir
}

impl Ardour {
    fn new(name: &str, lv2: &Path, vst3: &Path) -> Self {
        let dir =
            std::env::temp_dir().join(format!("sourcery-ardour-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["lv2", "vst3", "cache", "config"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(lv2, dir.join("lv2/Sourcery.lv2")).unwrap();
        std::os::unix::fs::symlink(vst3, dir.join("vst3/Sourcery.vst3")).unwrap();
        Self { dir }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("LV2_PATH", self.dir.join("lv2"))
            .env("VST3_PATH", self.dir.join("vst3"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("SOURCERY_CONFIG_DIR", sourcery_config());
        cmd
    }

    /// Runs `cmd` to its end and gives its output, or kills it and gives `None` when it runs
    /// past [`HANG`]. Its output goes to files (`what`.out/.err in the test's folder), so a
    /// chatty program cannot block on a full pipe while it is waited for.
    fn run(&self, cmd: &mut Command, what: &str) -> Option<Output> {
        let (out_path, err_path) = (
            self.dir.join(format!("{what}.out")),
            self.dir.join(format!("{what}.err")),
        );
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{:?} does not start: {e}", cmd.get_program()));
        let status = match child.wait_timeout(HANG).unwrap() {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        };
        Some(Output {
            status,
            stdout: std::fs::read(&out_path).unwrap(),
            stderr: std::fs::read(&err_path).unwrap(),
        })
    }

    /// `ardour7-lua` running `script` after starting the dummy backend; its output.
    fn lua(&self, script: &str) -> String {
        let file = self.dir.join("script.lua");
        std::fs::write(
            &file,
            format!(
                "AudioEngine:set_backend(\"None (Dummy)\", \"\", \"\")\n\
                 AudioEngine:start(false)\n{script}"
            ),
        )
        .unwrap();
        let mut cmd = self.command("ardour7-lua");
        cmd.arg(&file);
        let out = self
            .run(&mut cmd, "lua")
            .unwrap_or_else(|| panic!("ardour7-lua {} hung for {HANG:?}", file.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && !text.contains("Error:"),
            "ardour7-lua failed:\n{text}"
        );
        text
    }

    /// Headless Ardour finds VST3 plugins only in its scan cache: scan the bundle into it
    /// with Ardour's own scanner.
    fn scan_vst3(&self) {
        let mut cmd = self.command("/usr/lib/ardour7/ardour-vst3-scanner");
        cmd.env("LD_LIBRARY_PATH", "/usr/lib/ardour7")
            .args(["-f", "-q"])
            .arg(self.dir.join("vst3/Sourcery.vst3"));
        let out = self
            .run(&mut cmd, "scan")
            .unwrap_or_else(|| panic!("ardour-vst3-scanner hung for {HANG:?}"));
        assert!(
            out.status.success(),
            "ardour-vst3-scanner: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A session `name` with track "T" holding `wav` and Sourcery (`plugin`: the Lua
    /// `new_plugin_with_time_domain` arguments) with `values` set, and `dac_mode` automated
    /// 0 → 1 at [`SWITCH`] when `automate`; saved, with the file and range written in.
    fn make_session(
        &self,
        name: &str,
        plugin: &str,
        values: &[(usize, f32)],
        automate: bool,
        wav: &Path,
    ) -> PathBuf {
        let session = self.dir.join("sessions").join(name);
        let mut script = format!(
            r#"
local s = create_session("{session}", "{name}", {RATE})
assert(s, "no session")
local t = s:new_audio_track(2, 2, nil, 1, "T", ARDOUR.PresentationInfo.max_order,
    ARDOUR.TrackMode.Normal, true, false):front()
-- Audio time: automation positions in samples (the session default counts beats).
local p = ARDOUR.LuaAPI.new_plugin_with_time_domain(s, {plugin},
    Temporal.TimeDomain.AudioTime, "")
assert(not p:isnil(), "no Sourcery")
assert(t:add_processor_by_index(p, 0, nil, true) == 0, "cannot add Sourcery")
"#,
            session = session.display()
        );
        for (index, value) in values {
            script.push_str(&format!(
                "assert(ARDOUR.LuaAPI.set_processor_param(p, {index}, {value}))\n"
            ));
        }
        if automate {
            script.push_str(&format!(
                r#"
local al, cl, pd = ARDOUR.LuaAPI.plugin_automation(p, {mode})
cl:clear_list()
cl:set_interpolation(Evoral.InterpolationStyle.Discrete)
cl:add(Temporal.timepos_t(0), 0, false, false)
cl:add(Temporal.timepos_t({SWITCH}), 1, false, false)
{control}
ac:set_automation_state(ARDOUR.AutoState.Play)
"#,
                mode = ParamId::DacMode as usize,
                control = automation_control(ParamId::DacMode as usize),
            ));
        }
        // The VST3's state chunk (saved after the port values, restored over them) has the
        // values only once the plugin has processed.
        script.push_str(
            "assert(ARDOUR.LuaAPI.wait_for_process_callback(4, 2000), \"no process\")\n\
             s:save_state(\"\", false, false, false, false, false)\nclose_session()\n",
        );
        self.lua(&script);
        let out = Command::new("python3")
            .arg(workspace_root().join("tests/ardour_session.py"))
            .arg(&session)
            .arg(name)
            .arg("T")
            .arg(wav)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "ardour_session.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        session
    }

    /// Reopen the session: (the values Ardour gives back, the plugin's latency, the
    /// automation events and state when `automate`).
    fn reopen(
        &self,
        session: &Path,
        name: &str,
        values: &[(usize, f32)],
        automate: bool,
    ) -> (Vec<(usize, f32)>, usize, String) {
        let mut script = format!(
            r#"
local s = load_session("{}", "{name}")
assert(s, "cannot reopen")
local t = s:route_by_name("T"):to_track()
print("regions", t:playlist():region_list():size())
local p = t:nth_plugin(0)
assert(not p:isnil(), "Sourcery is gone")
print("latency", p:signal_latency())
"#,
            session.display()
        );
        for (index, _) in values {
            script.push_str(&format!(
                "print(\"param {index}\", ARDOUR.LuaAPI.get_processor_param(p, {index}))\n"
            ));
        }
        if automate {
            script.push_str(&format!(
                r#"
local al, cl, pd = ARDOUR.LuaAPI.plugin_automation(p, {mode})
for e in cl:events():iter() do print("event", e.when:samples(), e.value) end
{control}
print("automation state", ac:automation_state(), ARDOUR.AutoState.Play)
"#,
                mode = ParamId::DacMode as usize,
                control = automation_control(ParamId::DacMode as usize),
            ));
        }
        script.push_str("close_session()\n");
        let text = self.lua(&script);
        let field = |key: &str| -> Vec<String> {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_else(|| panic!("no {key:?} in\n{text}"))
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(field("regions")[0], "1", "the file is on the track");
        let latency = field("latency")[0].parse().unwrap();
        let got = values
            .iter()
            .map(|&(index, set)| {
                let value: f32 = field(&format!("param {index}"))[0].parse().unwrap();
                assert!(
                    (value - set).abs() <= 1e-4 * set.abs().max(1.0),
                    "parameter {index}: {value} after reopening, {set} set"
                );
                (index, value)
            })
            .collect();
        let automation = text
            .lines()
            .filter(|l| l.starts_with("event") || l.starts_with("automation"))
            .collect::<Vec<_>>()
            .join("; ");
        (got, latency, automation)
    }

    fn export(&self, session: &Path, name: &str) -> Vec<Vec<f32>> {
        let out = self.dir.join(format!("{name}.wav"));
        let mut cmd = self.command("ardour7-export");
        cmd.args(["-b", "float", "-o"])
            .arg(&out)
            .arg(session)
            .arg(name);
        let status = (0..=EXPORT_RETRIES)
            .find_map(|attempt| {
                let status = self.run(&mut cmd, &format!("export-{name}"));
                if status.is_none() {
                    eprintln!(
                        "ardour7-export of {name} hung for {HANG:?} and was killed \
                         (attempt {} of {})",
                        attempt + 1,
                        EXPORT_RETRIES + 1
                    );
                }
                status
            })
            .unwrap_or_else(|| {
                panic!(
                    "ardour7-export of {} hung {} times for {HANG:?} each",
                    session.display(),
                    EXPORT_RETRIES + 1
                )
            });
        assert!(
            status.status.success(),
            "ardour7-export: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let (rate, channels) = read_wav(&out);
        assert_eq!(rate, RATE, "the export is at the session rate");
        assert_eq!(channels[0].len(), LENGTH, "the export is the session range");
        channels
    }
}

/// Lua finding the automation control `ac` of Sourcery's control number `index` in `p`
/// (the plugin's parameter id: the `index`-th control input, as `plugin_automation`
/// counts).
fn automation_control(index: usize) -> String {
    format!(
        r#"local pl = p:to_insert():plugin(0)
local n, pid = 0, -1
for j = 0, pl:parameter_count() - 1 do
  if pl:parameter_is_control(j) then
    if n == {index} then pid = j break end
    n = n + 1
  end
end
local ac = p:to_automatable():automation_control(
    Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, pid), false)
assert(not ac:isnil(), "no automation control")"#
    )
}

/// max |a − b| over both channels.
fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

/// The first sample where `a` and `b` differ by more than `tolerance`.
fn first_difference(a: &[Vec<f32>], b: &[Vec<f32>], tolerance: f32) -> Option<usize> {
    (0..a[0].len()).find(|&i| {
        a.iter()
            .zip(b)
            .any(|(x, y)| (x[i] - y[i]).abs() > tolerance)
    })
}

/// The environment the tests need, or `None` after [`skip_unless`].
fn setup(name: &str) -> Option<(Ardour, PathBuf, Vec<Vec<f32>>)> {
    if !skip_unless(
        have_program("ardour7-lua") && have_program("ardour7-export") && have_program("python3"),
        "Ardour 7 (ardour7-lua, ardour7-export) and python3",
        "Install them with `sudo apt-get install ardour python3`.",
    ) {
        return None;
    }
    let lv2 = bundle("Sourcery.lv2")?;
    let vst3 = bundle("Sourcery.vst3")?;
    let ardour = Ardour::new(name, &lv2, &vst3);
    let input = test_signal();
    let wav = ardour.dir.join("test.wav");
    write_wav(&wav, &input, RATE);
    Some((ardour, wav, input))
}

#[test]
fn ardour_lv2_session_reopens_exports_what_the_renderer_gives_and_automation_lands() {
    let Some((ardour, wav, input)) = setup("lv2") else {
        return;
    };
    let plugin = format!(
        "\"{}\", ARDOUR.PluginType.LV2",
        sourcery_tests::LV2_URI_STEREO
    );
    let set = parameters(0.0);
    let session = ardour.make_session("lv2", &plugin, &set, true, &wav);
    let (values, latency, automation) = ardour.reopen(&session, "lv2", &set, true);
    println!("LV2 session reopened: latency {latency}, automation {automation}");
    assert!(
        automation.contains(&format!("event {SWITCH} 1")),
        "the automation point is back: {automation}"
    );
    assert!(
        automation.contains("automation state 4 4"),
        "and plays: {automation}"
    );
    let exported = ardour.export(&session, "lv2");

    let os = settings(&values);
    let nos = Settings {
        dac_mode: sourcery_dsp::dac::DacMode::Nos,
        ..os
    };
    let render = |changes: &[(usize, Settings)]| {
        sourcery_dsp::render::render_automated(&os, changes, &input, RATE as f32, 1024, &mut |_| {})
    };
    // Ardour compensates automation for a plugin's latency: it hands the change to the
    // plugin when the plugin's input is `latency` samples past the automation point, so
    // that it is heard at the point (output time). The renderer is handed it there too.
    let automated = render(&[(SWITCH + latency, nos)]);
    let os_only = render(&[]);
    let diff = max_diff(&exported, &automated);
    let heard = first_difference(&exported, &os_only, 1e-6);
    let lookahead = sourcery_dsp::limiter::lookahead_samples(f64::from(RATE));
    println!(
        "LV2 in Ardour: export vs renderer with dac_mode OS → NOS handed over at {} \
         ({SWITCH} + latency {latency}): max |Δ| {diff:e}; the export leaves the OS-only \
         render at {heard:?} (the swap's fade-out begins, behind the limiter's look-ahead \
         of {lookahead}); vs OS only after the switch: {:.3}",
        SWITCH + latency,
        max_diff(&exported, &os_only)
    );
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
    assert_eq!(
        heard,
        Some(SWITCH + lookahead),
        "the automation lands at its sample (plus the limiter's look-ahead)"
    );
    assert!(
        max_diff(&exported, &os_only) > 0.01,
        "the automation changes the output"
    );
    let _ = std::fs::remove_dir_all(&ardour.dir);
}

#[test]
fn ardour_vst3_session_reopens_and_exports_what_the_renderer_gives() {
    let Some((ardour, wav, input)) = setup("vst3") else {
        return;
    };
    ardour.scan_vst3();
    let set = parameters(1.0);
    let session = ardour.make_session(
        "vst3",
        "\"Sourcery\", ARDOUR.PluginType.VST3",
        &set,
        false,
        &wav,
    );
    let (values, latency, _) = ardour.reopen(&session, "vst3", &set, false);
    println!("VST3 session reopened: latency {latency}, values {values:?}");
    let exported = ardour.export(&session, "vst3");
    let nos = settings(&values);
    let rendered =
        sourcery_dsp::render::render_blocks(&nos, &input, RATE as f32, 1024, &mut |_| {});
    let diff = max_diff(&exported, &rendered);
    let changed = max_diff(&rendered, &input);
    println!(
        "VST3 in Ardour: export vs renderer (K13 NOS, HD600, a PEQ band): max |Δ| {diff:e} \
         (the voicing changes the input by up to {changed:.3})"
    );
    assert!(changed > 0.05, "the voicing changes the signal");
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");

    // The same automation as the LV2 session's. Ardour 7.3 tells a VST3 plugin it renders
    // offline only in each `process` call, which nice-plug does not read (it takes the mode
    // from `setupProcessing`), so the plugin runs as in real time: the NOS chain is built on
    // the background thread and swapped in when ready, after the automation point.
    let set = parameters(0.0);
    let session = ardour.make_session(
        "vst3auto",
        "\"Sourcery\", ARDOUR.PluginType.VST3",
        &set,
        true,
        &wav,
    );
    let (values, _, automation) = ardour.reopen(&session, "vst3auto", &set, true);
    assert!(
        automation.contains(&format!("event {SWITCH} 1")) && automation.contains("state 4 4"),
        "the automation is back: {automation}"
    );
    let exported = ardour.export(&session, "vst3auto");
    let os = settings(&values);
    let nos = Settings {
        dac_mode: sourcery_dsp::dac::DacMode::Nos,
        ..os
    };
    let os_only = sourcery_dsp::render::render_blocks(&os, &input, RATE as f32, 1024, &mut |_| {});
    // Late by how long the build takes in wall-clock time while Ardour freewheels (179 ms
    // of audio when measured); the file leaves it a second.
    let heard = first_difference(&exported, &os_only, 1e-6)
        .expect("the mode changes within the second after its point");
    let lookahead = sourcery_dsp::limiter::lookahead_samples(f64::from(RATE));
    // Where the plugin swapped: the renderer handed the change there gives the export.
    let handed = heard + latency - lookahead;
    let automated = sourcery_dsp::render::render_automated(
        &os,
        &[(handed, nos)],
        &input,
        RATE as f32,
        1024,
        &mut |_| {},
    );
    let diff = max_diff(&exported, &automated);
    println!(
        "VST3 in Ardour, dac_mode automated at {SWITCH}: heard from {heard} ({:.1} ms late, \
         the background build); the renderer handed the change at {handed}: max |Δ| {diff:e}",
        (heard - SWITCH - lookahead) as f64 * 1000.0 / f64::from(RATE)
    );
    assert!(heard >= SWITCH + lookahead, "not before its point: {heard}");

    assert!(diff <= 1e-6, "a clean swap at {heard}: max |Δ| {diff:e}");
    let _ = std::fs::remove_dir_all(&ardour.dir);
}
