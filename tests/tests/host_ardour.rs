//! Ardour 7, a real DAW, headless: the Sourcery LV2 in a session built by `ardour7-lua`
//! (the "None (Dummy)" audio backend), its parameters set through Ardour, the session saved,
//! reopened (the parameters come back from Ardour's state) and exported by `ardour7-export`
//! (Ardour freewheels). The export equals the renderer given the same input, after the
//! latency Ardour reports for the plugin.
//!
//! The input: Ardour's own sine generator (its "SinGen" Lua processor) on a bus, before
//! Sourcery; a second session with the generator alone is exported as the renderer's input.
//! (Importing a file onto a track needs Ardour's editor, which the headless tool lacks.)
//! The voicing is the transparent "Ideal" source on the HD600 with a PEQ band: every real
//! source adds hiss whose realisation depends on how long Ardour ran the plugin before the
//! export, which sample-exactness cannot allow for.

use std::path::{Path, PathBuf};
use std::process::Command;

use sourcery_dsp::params::BandField;
use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use sourcery_dsp::{ParamId, Settings};
use sourcery_tests::{bundle, have_program, read_wav, skip_unless};

const RATE: u32 = 48_000;
/// Session length, samples (2 s).
const LENGTH: u64 = 96_000;
/// Ardour 7's superclock ticks per second (session positions in the XML).
const SUPERCLOCK: u64 = 282_240_000;

/// The Sourcery parameters the session sets, as (table index, value).
fn parameters() -> Vec<(usize, f32)> {
    vec![
        (ParamId::Device as usize, DeviceSlot::IDEAL.0 as f32),
        (
            ParamId::Headphone as usize,
            HeadphoneSlot::by_id("sennheiser-hd600").unwrap().0 as f32,
        ),
        (ParamId::DacMode as usize, 0.0),
        (ParamId::band(0, BandField::Gain) as usize, 6.0),
        (ParamId::band(0, BandField::Freq) as usize, 3000.0),
    ]
}

fn settings() -> Settings {
    let mut values = sourcery_dsp::ParamValues::default();
    for (index, value) in parameters() {
        values.0[index] = value;
    }
    Settings::from_values(&values)
}

/// `ardour7-lua` running `script`; its output.
fn lua(script: &str, dir: &Path, lv2_path: &Path) -> String {
    let file = dir.join("script.lua");
    std::fs::write(&file, script).unwrap();
    let out = Command::new("ardour7-lua")
        .arg(&file)
        .env("LV2_PATH", lv2_path)
        .output()
        .expect("ardour7-lua runs");
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

/// A session `name` under `dir`: a stereo bus with the sine generator, and Sourcery after it
/// when `with_sourcery`.
fn make_session(dir: &Path, lv2_path: &Path, name: &str, with_sourcery: bool) -> PathBuf {
    let session = dir.join(name);
    let mut script = format!(
        r#"
AudioEngine:set_backend("None (Dummy)", "", "")
AudioEngine:start(false)
local s = create_session("{session}", "{name}", {RATE})
assert(s, "no session")
local bus = s:new_audio_route(2, 2, nil, 1, "B", ARDOUR.PresentationInfo.Flag.AudioBus,
    ARDOUR.PresentationInfo.max_order):front()
local gen = ARDOUR.LuaAPI.new_luaproc(s, "SinGen")
assert(not gen:isnil(), "no SinGen")
bus:add_processor_by_index(gen, 0, nil, true)
ARDOUR.LuaAPI.set_processor_param(gen, 0, 1000)
ARDOUR.LuaAPI.set_processor_param(gen, 1, -6)
"#,
        session = session.display()
    );
    if with_sourcery {
        script.push_str(&format!(
            r#"
local p = ARDOUR.LuaAPI.new_plugin(s, "{uri}", ARDOUR.PluginType.LV2, "")
assert(not p:isnil(), "no Sourcery")
bus:add_processor_by_index(p, 1, nil, true)
"#,
            uri = sourcery_tests::LV2_URI_STEREO
        ));
        for (index, value) in parameters() {
            script.push_str(&format!(
                "assert(ARDOUR.LuaAPI.set_processor_param(p, {index}, {value}))\n"
            ));
        }
        script.push_str("print(\"latency\", p:signal_latency())\n");
    }
    script.push_str(
        "s:save_state(\"\", false, false, false, false, false)\nclose_session()\nprint(\"saved\")\n",
    );
    lua(&script, dir, lv2_path);
    // The session range (what ardour7-export exports): 0 … LENGTH. The Lua bindings of
    // Ardour 7.3 set it only through the editor, so it is written into the session file.
    let file = session.join(format!("{name}.ardour"));
    let xml = std::fs::read_to_string(&file).unwrap();
    let range = format!(
        "<Locations><Location id=\"900\" name=\"session\" start=\"a0\" end=\"a{}\" \
         flags=\"IsSessionRange\" locked=\"0\" timestamp=\"0\" cue=\"0\"/></Locations>",
        LENGTH * (SUPERCLOCK / u64::from(RATE))
    );
    assert!(xml.contains("<Locations/>"), "unexpected session file");
    std::fs::write(&file, xml.replace("<Locations/>", &range)).unwrap();
    session
}

fn export(session: &Path, name: &str, lv2_path: &Path, out: &Path) -> Vec<Vec<f32>> {
    let status = Command::new("ardour7-export")
        .args(["-b", "float", "-o"])
        .arg(out)
        .arg(session)
        .arg(name)
        .env("LV2_PATH", lv2_path)
        .output()
        .expect("ardour7-export runs");
    assert!(
        status.status.success(),
        "ardour7-export: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (rate, channels) = read_wav(out);
    assert_eq!(rate, RATE, "the export is at the session rate");
    channels
}

#[test]
fn ardour_session_with_the_lv2_reopens_and_exports_what_the_renderer_gives() {
    if !skip_unless(
        have_program("ardour7-lua") && have_program("ardour7-export"),
        "Ardour 7 (ardour7-lua, ardour7-export)",
        "Install it with `sudo apt-get install ardour`.",
    ) {
        return;
    }
    let Some(lv2) = bundle("Sourcery.lv2") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sourcery-ardour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let lv2_path = dir.join("lv2");
    std::fs::create_dir_all(&lv2_path).unwrap();
    std::os::unix::fs::symlink(&lv2, lv2_path.join("Sourcery.lv2")).unwrap();

    let with = make_session(&dir, &lv2_path, "with", true);
    let without = make_session(&dir, &lv2_path, "without", false);

    // Reopened, the plugin has the values Ardour saved.
    let reopen = format!(
        r#"
AudioEngine:set_backend("None (Dummy)", "", "")
AudioEngine:start(false)
local s = load_session("{}", "with")
assert(s, "cannot reopen")
local bus = s:route_by_name("B")
local p = bus:nth_plugin(1)
assert(not p:isnil(), "Sourcery is gone")
print("latency", p:signal_latency())
{}
close_session()
"#,
        with.display(),
        parameters()
            .iter()
            .map(|(i, _)| format!(
                "print(\"param {i}\", ARDOUR.LuaAPI.get_processor_param(p, {i}))"
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let text = lua(&reopen, &dir, &lv2_path);
    for (index, value) in parameters() {
        let got: f32 = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|t| t.len() > 2 && t[0] == "param" && t[1] == index.to_string())
            .unwrap_or_else(|| panic!("parameter {index} not printed:\n{text}"))[2]
            .parse()
            .unwrap();
        assert!(
            (got - value).abs() <= 1e-4 * value.abs().max(1.0),
            "parameter {index}: {got} after reopening, {value} set"
        );
    }
    let latency: usize = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|t| t.len() > 1 && t[0] == "latency")
        .expect("latency printed")[1]
        .parse()
        .unwrap();

    let exported = export(&with, "with", &lv2_path, &dir.join("with.wav"));
    let input = export(&without, "without", &lv2_path, &dir.join("without.wav"));
    assert_eq!(exported[0].len(), LENGTH as usize);
    let rendered =
        sourcery_dsp::render::render_blocks(&settings(), &input, RATE as f32, 1024, &mut |_| {});
    // Ardour does not delay a lone bus's output by its plugin's latency: the export lags
    // the renderer (which removes it) by the latency the plugin reports. The first
    // SETTLE samples are left out: the renderer's input starts from silence, while in
    // Ardour the generator played (and Sourcery's filters filled) before the export began;
    // the two differ only while the filters settle (76 samples here).
    const SETTLE: usize = 2_400;
    let mut diff = 0.0f32;
    let mut start_diff = 0.0f32;
    for (r, e) in rendered.iter().zip(&exported) {
        for (i, (a, b)) in r[..LENGTH as usize - latency]
            .iter()
            .zip(&e[latency..])
            .enumerate()
        {
            if i < SETTLE {
                start_diff = start_diff.max((a - b).abs());
            } else {
                diff = diff.max((a - b).abs());
            }
        }
    }
    let peak = input[0].iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let changed = rendered[0]
        .iter()
        .zip(&input[0])
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "Ardour export vs renderer: max |Δ| {diff:e} after {latency} samples of latency and \
         the first 50 ms ({start_diff:e} within them; input peak {peak:.3}; the voicing \
         changes it by up to {changed:.3})"
    );
    assert!(peak > 0.4, "the generator played: peak {peak}");
    assert!(changed > 0.05, "the PEQ band changes the signal");
    assert!(diff <= 1e-6, "max |Δ| {diff:e}");
    let _ = std::fs::remove_dir_all(&dir);
}
