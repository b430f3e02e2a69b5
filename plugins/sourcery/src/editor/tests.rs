//! Interaction tests of the editor with egui_kittest: clicks and drags go through egui's
//! input, parameter changes through nice-plug's `ParamSetter` into a stand-in host that
//! applies them to the real parameter objects and records the gestures.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{vec2, Pos2};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use nice_plug::context::gui::{GuiContext, GuiContextInner};
use nice_plug::context::PluginApi;
use nice_plug::params::internals::ParamPtr;
use nice_plug::plugin::PluginState;
use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
use sourcery_dsp::ParamId;

use super::compare::Listen;
use super::peq::node_value;
use super::{Panel, SourceryEditor, WINDOW_SIZE};
use crate::params::SourceryParams;
use sourcery_dsp::params::BandField;

/// A host that applies every change at once and logs the gestures.
#[derive(Default)]
struct TestHost {
    /// ("begin" | "set" | "end", parameter name).
    log: Mutex<Vec<(&'static str, String)>>,
}

impl TestHost {
    fn count(&self, what: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| *w == what)
            .count()
    }
}

impl GuiContextInner for TestHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }

    unsafe fn raw_begin_set_parameter(&self, param: ParamPtr) {
        let name = unsafe { param.name() }.to_owned();
        self.log.lock().unwrap().push(("begin", name));
    }

    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        let name = unsafe { param.name() }.to_owned();
        self.log.lock().unwrap().push(("set", name));
        // SAFETY: the parameters outlive the editor in every test.
        unsafe {
            param._internal_set_normalized_value(normalized);
        }
    }

    unsafe fn raw_end_set_parameter(&self, param: ParamPtr) {
        let name = unsafe { param.name() }.to_owned();
        self.log.lock().unwrap().push(("end", name));
    }

    /// This host keeps no state of its own (the editor never asks for one).
    fn get_state(&self) -> PluginState {
        PluginState {
            version: String::new(),
            params: Default::default(),
            fields: Default::default(),
        }
    }

    fn set_state(&self, _state: PluginState) {}

    fn request_restart(&self) {}
}

struct Fixture {
    params: Arc<SourceryParams>,
    host: Arc<TestHost>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            params: Arc::new(SourceryParams::default()),
            host: Arc::new(TestHost::default()),
        }
    }

    fn gui(&self) -> GuiContext {
        GuiContext::new(self.host.clone())
    }

    /// Set a parameter as the host would (outside the editor).
    fn set(&self, id: ParamId, value: f32) {
        let gui = self.gui();
        let setter = gui.param_setter();
        match self.params.get(id) {
            crate::params::TableParam::Float(p) => setter.set_parameter(p, value),
            crate::params::TableParam::Int(p) => setter.set_parameter(p, value as i32),
            crate::params::TableParam::Bool(p) => setter.set_parameter(p, value >= 0.5),
        }
    }

    fn get(&self, id: ParamId) -> f32 {
        self.params.values().get(id)
    }

    fn harness(&self, panel: Panel) -> Harness<'static, SourceryEditor> {
        let mut editor = SourceryEditor::new(self.params.clone());
        editor.open(self.gui());
        editor.set_panel(panel);
        let mut harness = harness_for(editor);
        if panel == Panel::Character {
            // The spinner repaints until the worker answers.
            harness.run_steps(3);
        } else {
            harness.run();
        }
        harness
    }
}

/// A window of the editor's size drawing `editor`, 60 frames a second.
fn harness_for(editor: SourceryEditor) -> Harness<'static, SourceryEditor> {
    Harness::builder()
        .with_size(vec2(WINDOW_SIZE.0 as f32, WINDOW_SIZE.1 as f32))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, editor: &mut SourceryEditor| editor.draw(ui), editor)
}

/// Steps until `done` holds (the character worker runs on its own thread).
fn run_until(
    harness: &mut Harness<'static, SourceryEditor>,
    timeout: Duration,
    done: impl Fn(&SourceryEditor) -> bool,
) {
    let start = Instant::now();
    while !done(harness.state()) {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(2);
}

#[test]
fn source_panel_sets_device_output_gain_and_volume() {
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Source);
    assert_eq!(f.get(ParamId::Device), 0.0);

    harness.get_by_label("FiiO K7").click();
    harness.run();
    assert_eq!(f.get(ParamId::Device) as usize, 2, "{}", DEVICE_LABELS[2]);
    harness.get_by_label("BAL").click();
    harness.get_by_label("High").click();
    harness.run();
    assert_eq!(f.get(ParamId::Output), 1.0);
    assert_eq!(f.get(ParamId::Gain), 2.0);
    // The K7's own law reads on the knob: 50 % is −60 dB there.
    harness.get_by_label_contains("50 %  ·  -60.0 dB");

    // Dragging the knob up 40 px raises the volume by 20 % in one gesture.
    let knob = harness.get_by_label_contains("50 %  ·").rect().center();
    let before = f.host.count("begin");
    harness.hover_at(knob);
    harness.drag_at(knob);
    harness.step();
    for dy in [10.0, 20.0, 30.0, 40.0] {
        harness.hover_at(knob - vec2(0.0, dy));
        harness.step();
    }
    harness.drop_at(knob - vec2(0.0, 40.0));
    harness.run();
    let volume = f.get(ParamId::Volume);
    assert!((volume - 70.0).abs() < 2.0, "volume {volume}");
    assert_eq!(f.host.count("begin") - before, 1, "one gesture");
    assert_eq!(f.host.count("begin"), f.host.count("end"));
}

/// The screen position of band `b`'s node on the PEQ graph.
fn node_pos(harness: &Harness<'static, SourceryEditor>, f: &Fixture, b: usize) -> Pos2 {
    let axis = harness.state().peq.axis.expect("graph drawn");
    let settings = sourcery_dsp::Settings::from_values(&f.params.values());
    let (freq, gain) = node_value(&settings.peq, b);
    axis.point(freq, gain)
}

#[test]
fn dragging_a_peq_node_sets_its_frequency_and_gain() {
    let f = Fixture::new();
    f.set(ParamId::band(0, BandField::On), 1.0);
    f.set(ParamId::band(0, BandField::Freq), 1000.0);
    f.set(ParamId::band(0, BandField::Gain), 0.0);
    let mut harness = f.harness(Panel::Peq);
    let start = node_pos(&harness, &f, 0);
    let axis = harness.state().peq.axis.unwrap();
    let target = axis.point(4000.0, 6.0);
    let begins = f.host.count("begin");

    harness.hover_at(start);
    harness.drag_at(start);
    harness.step();
    for i in 1..=8 {
        harness.hover_at(start + (target - start) * (i as f32 / 8.0));
        harness.step();
    }
    harness.drop_at(target);
    harness.run();

    let freq = f.get(ParamId::band(0, BandField::Freq));
    let gain = f.get(ParamId::band(0, BandField::Gain));
    // One pixel is 0.6 % in frequency and 0.07 dB in gain at this size; the editor rounds
    // to 3 significant digits and 0.1 dB.
    assert!((freq / 4000.0 - 1.0).abs() < 0.01, "freq {freq}");
    assert!((gain - 6.0).abs() < 0.15, "gain {gain}");
    // Frequency and gain each changed inside one gesture.
    assert_eq!(f.host.count("begin") - begins, 2);
    assert_eq!(f.host.count("begin"), f.host.count("end"));
    // The node sits on the filter's own response (`PeqSettings::response`, which the editor
    // draws): +6 dB at the node's frequency.
    let peq = sourcery_dsp::Settings::from_values(&f.params.values()).peq;
    let at_node = 20.0 * peq.response(f64::from(freq), 48_000.0).norm().log10();
    assert!((at_node - f64::from(gain)).abs() < 1e-6, "{at_node}");

    // A double-click switches the band off.
    let node = node_pos(&harness, &f, 0);
    harness.hover_at(node);
    harness.step();
    assert_eq!(f.get(ParamId::band(0, BandField::On)), 1.0);
    for _ in 0..2 {
        for pressed in [true, false] {
            harness.event(egui::Event::PointerButton {
                pos: node,
                button: egui::PointerButton::Primary,
                pressed,
                modifiers: egui::Modifiers::NONE,
            });
        }
        harness.step();
    }
    harness.run();
    assert_eq!(
        f.get(ParamId::band(0, BandField::On)),
        0.0,
        "double-click switches band 1 off"
    );
}

#[test]
fn abx_scores_the_answers_and_reports_the_p_value() {
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Compare);
    let shared = f.params.shared.clone();

    // A/B: "Compare" starts the reference; B plays it.
    harness.get_by_label("Compare A/B").click();
    harness.run();
    assert!(shared.compare_active());
    assert!(!shared.play_reference());
    harness.get_by_label("B").click();
    harness.run();
    assert!(shared.play_reference());
    harness.get_by_label("A").click();
    harness.run();
    assert!(!shared.play_reference());
    harness.get_by_label("Compare A/B").click();
    harness.run();
    assert!(!shared.compare_active());

    // ABX, 8 trials: right on all but the first.
    harness.state_mut().compare.trials = 8;
    harness.state_mut().compare.start_abx(Some(2026));
    harness.run();
    for trial in 0..8 {
        let x_is_b = harness
            .state()
            .compare
            .abx
            .as_ref()
            .unwrap()
            .x_is_b()
            .unwrap();
        // What plays is X (the reference runs, and plays exactly when X is B).
        assert_eq!(harness.state().compare.listen, Listen::X);
        assert!(shared.compare_active());
        assert_eq!(shared.play_reference(), x_is_b, "trial {trial}");
        // The screen never says which X is, nor shows the output's level.
        assert!(harness.query_by_label_contains("X was").is_none());
        assert!(harness.query_by_label_contains("Output now").is_none());
        harness.get_by_label_contains("during");
        let answer_b = if trial == 0 { !x_is_b } else { x_is_b };
        harness
            .get_by_label(if answer_b { "X is B" } else { "X is A" })
            .click();
        harness.run();
    }
    harness.get_by_label("Score: 7 / 8");
    // P(K ≥ 7 | n = 8, ½) = (8 + 1)/256 = 0.0352.
    harness.get_by_label_contains("p = 0.0352");
    let abx = harness.state().compare.abx.as_ref().unwrap();
    assert!((abx.p_value() - 9.0 / 256.0).abs() < 1e-12);
    // Finished: the reference stops.
    assert!(!shared.compare_active());

    // A session ends when A or B changes under it.
    harness.get_by_label("New session").click();
    harness.run();
    harness.state_mut().compare.start_abx(Some(7));
    harness.run();
    assert!(harness.state().compare.abx_running());
    f.set(ParamId::Device, 2.0);
    harness.run();
    assert!(!harness.state().compare.abx_running());
    harness.get_by_label_contains("abandoned");
    assert!(!shared.compare_active());
}

#[test]
fn closing_mid_drag_ends_the_gesture() {
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Source);
    let knob = harness.get_by_label_contains("50 %  ·").rect().center();
    harness.hover_at(knob);
    harness.drag_at(knob);
    harness.step();
    harness.hover_at(knob - vec2(0.0, 20.0));
    harness.step();
    assert_eq!(
        f.host.count("begin"),
        f.host.count("end") + 1,
        "a drag is open"
    );
    harness.state_mut().close();
    assert_eq!(f.host.count("begin"), f.host.count("end"));
}

#[test]
fn load_panel_searches_selects_and_warns() {
    let f = Fixture::new();
    f.set(ParamId::Device, 2.0); // FiiO K7
    let mut harness = f.harness(Panel::Load);
    harness.state_mut().load.search = "androm".to_owned();
    harness.run();
    assert!(harness.query_by_label("Sennheiser HD600").is_none());
    harness.get_by_label("Campfire Andromeda 2020").click();
    harness.run();
    let andromeda = HEADPHONE_LABELS
        .iter()
        .position(|l| *l == "Campfire Andromeda 2020")
        .unwrap();
    assert_eq!(f.get(ParamId::Headphone) as usize, andromeda);
    // The K7's hiss into a 122.5 dB/mW IEM is audible (+28 dB SPL(A) at low gain).
    harness.get_by_label_contains("Audible hiss");
}

#[test]
fn meters_show_what_the_audio_thread_measured() {
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Source);
    let sine: Vec<f32> = (0..4800)
        .map(|i| 0.5 * (std::f32::consts::TAU * 1000.0 * i as f32 / 48_000.0).sin())
        .collect();
    f.params
        .shared
        .meters
        .output
        .update(&[&sine[..], &sine[..]], 48_000.0);
    harness.step();
    harness.run();
    let hold = harness.state().meters_out.hold;
    assert!((hold[0] - 0.5).abs() < 1e-3, "{hold:?}");
    harness.get_by_label("−6.0");
    assert!(!harness.state().meters_out.clipped);
    f.params
        .shared
        .meters
        .output
        .update(&[&[1.0f32][..]], 48_000.0);
    harness.step();
    assert!(harness.state().meters_out.clipped);
}

#[test]
fn character_panel_measures_the_model() {
    let f = Fixture::new();
    // The conditions of the K13's published THD+N: high gain, full volume, 32 Ω.
    f.set(ParamId::Gain, 2.0);
    f.set(ParamId::Volume, 100.0);
    f.set(
        ParamId::Headphone,
        sourcery_dsp::presets::HeadphoneSlot::RESISTIVE.0 as f32,
    );
    f.set(ParamId::LoadOhms, 32.0);
    let mut harness = f.harness(Panel::Character);
    run_until(&mut harness, Duration::from_secs(60), |e| {
        e.character.is_current()
    });
    let (job, c) = harness.state().character.result.clone().unwrap();
    assert_eq!(job.level_dbfs, -6.0);
    assert_eq!(
        job.settings,
        sourcery_dsp::Settings::from_values(&f.params.values())
    );
    // What the panel shows is the model measured offline: the same numbers as
    // `measure::character` (deterministic: fixed ladder unit, seeded noise).
    let direct =
        sourcery_dsp::measure::character(&job.settings, &f.params.custom_load, 48_000.0, -6.0);
    assert_eq!(c.thd.harmonics_dbc, direct.thd.harmonics_dbc);
    assert_eq!(c.thd.thd_n_db, direct.thd.thd_n_db);
    // Within 4 dB of the K13's published 0.0173 % at −6 dBFS [seed 002]. (The conformance
    // table reads −75.0 dB at a peak of exactly 0.5; at −6.00 dBFS this ladder unit reads
    // 0.026 %: an R2R's distortion depends on which codes the peaks reach.)
    let error_db = 20.0 * (c.thd.thd_n_percent / 0.0173).log10();
    assert!(error_db.abs() < 4.0, "THD+N {:.4} %", c.thd.thd_n_percent);
    harness.get_by_label_contains("THD+N");
    assert_eq!(c.thd.harmonics_dbc.len(), 8);
}

#[test]
fn survives_twenty_open_close_cycles() {
    let f = Fixture::new();
    let mut editor = SourceryEditor::new(f.params.clone());
    for cycle in 0..20 {
        editor.open(f.gui());
        let panel = Panel::ALL[cycle % Panel::ALL.len()];
        editor.set_panel(panel);
        if panel == Panel::Compare {
            editor.compare.active = true;
        }
        let mut harness = harness_for(editor);
        harness.run_steps(3);
        harness.get_by_label("Sourcery");
        editor = harness.into_state();
        if panel == Panel::Character {
            assert_eq!(editor.character.live_workers.load(Ordering::Acquire), 1);
        }
        editor.close();
        assert_eq!(editor.character.live_workers.load(Ordering::Acquire), 0);
        assert!(!f.params.shared.compare_active(), "cycle {cycle}");
    }
    // The character worker ended with its window (it is joined on close).
    assert_eq!(editor.character.live_workers.load(Ordering::Acquire), 0);
}

#[test]
fn wheel_over_a_peq_node_changes_its_q() {
    let f = Fixture::new();
    f.set(ParamId::band(0, BandField::On), 1.0);
    f.set(ParamId::band(0, BandField::Freq), 1000.0);
    f.set(ParamId::band(0, BandField::Gain), 6.0);
    f.set(ParamId::band(0, BandField::Q), 1.0);
    let mut harness = f.harness(Panel::Peq);
    let node = node_pos(&harness, &f, 0);
    harness.hover_at(node);
    harness.step();
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: vec2(0.0, 50.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: egui::Modifiers::NONE,
    });
    // egui spreads the wheel over a few frames (smooth scrolling).
    harness.run_steps(20);
    let q = f.get(ParamId::band(0, BandField::Q));
    println!("Q after one 50 px notch: {q}");
    // One notch is ×1.12 (egui may spread the scroll over frames; the product is the same).
    assert!((q / 1.12 - 1.0).abs() < 0.01, "Q {q}");
    // The page did not scroll: the node is where it was.
    assert!(node_pos(&harness, &f, 0).distance(node) < 0.5);
}

/// A scratch folder for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sourcery-editor-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn load_panel_imports_files_and_names_the_line_of_a_bad_one() {
    let dir = scratch("imports");
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Load);
    let import = |harness: &mut Harness<'static, SourceryEditor>, which: usize| {
        let buttons: Vec<_> = harness.get_all_by_label("Import").collect();
        buttons[which].click();
        harness.run();
    };

    // A measured curve: imported, and the headphone becomes "Custom (imported)".
    let curve = dir.join("curve.zma");
    std::fs::write(
        &curve,
        "* test\n20 300 1\n100 480 20\n1000 301 -2\n20000 306 10\n",
    )
    .unwrap();
    harness.state_mut().load.curve_file.path = curve.display().to_string();
    import(&mut harness, 0);
    assert_eq!(
        f.get(ParamId::Headphone) as usize,
        sourcery_dsp::presets::HeadphoneSlot::CUSTOM.0
    );
    let (_, imported) = f.params.custom_load.get();
    assert_eq!(imported.expect("imported").name, "curve.zma");

    // A broken curve: the message names the file and line; the curve in use stays.
    let bad = dir.join("bad.zma");
    std::fs::write(&bad, "20 300 1\n100 abc 20\n").unwrap();
    harness.state_mut().load.curve_file.path = bad.display().to_string();
    import(&mut harness, 0);
    let status = harness.state().status().to_owned();
    assert!(
        status.contains("bad.zma") && status.contains(":2"),
        "{status}"
    );
    assert_eq!(f.params.custom_load.get().1.unwrap().name, "curve.zma");

    // An AutoEQ profile sets the PEQ.
    let eq = dir.join("ParametricEQ.txt");
    std::fs::write(
        &eq,
        "Preamp: -6.2 dB\nFilter 1: ON PK Fc 105 Hz Gain 4.5 dB Q 0.70\n",
    )
    .unwrap();
    harness.state_mut().load.peq_file.path = eq.display().to_string();
    import(&mut harness, 1);
    assert!((f.get(ParamId::PeqPreamp) + 6.2).abs() < 1e-4);
    assert_eq!(f.get(ParamId::band(0, BandField::On)), 1.0);
    assert!((f.get(ParamId::band(0, BandField::Freq)) - 105.0).abs() < 1e-3);
    assert!((f.get(ParamId::band(0, BandField::Gain)) - 4.5).abs() < 1e-4);

    // A broken profile: file and line named, the PEQ unchanged.
    let bad_eq = dir.join("bad.txt");
    std::fs::write(
        &bad_eq,
        "Preamp: -3 dB\nFilter 1: ON PK Fc lots Hz Gain 4 dB Q 1\n",
    )
    .unwrap();
    harness.state_mut().load.peq_file.path = bad_eq.display().to_string();
    import(&mut harness, 1);
    let status = harness.state().status().to_owned();
    assert!(
        status.contains("bad.txt") && status.contains(":2"),
        "{status}"
    );
    assert!((f.get(ParamId::PeqPreamp) + 6.2).abs() < 1e-4);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn peq_export_writes_what_import_reads() {
    let dir = scratch("export");
    let f = Fixture::new();
    for b in 0..10 {
        f.set(ParamId::band(b, BandField::On), 0.0);
    }
    f.set(ParamId::band(2, BandField::On), 1.0);
    f.set(ParamId::band(2, BandField::Freq), 3150.0);
    f.set(ParamId::band(2, BandField::Gain), -4.5);
    f.set(ParamId::band(2, BandField::Q), 2.5);
    f.set(ParamId::PeqPreamp, -2.0);
    let mut harness = f.harness(Panel::Peq);
    let path = dir.join("export.txt");
    harness.state_mut().peq.export.path = path.display().to_string();
    // The export row is below the fold at this window size.
    harness.get_by_label("Export").scroll_to_me();
    harness.run();
    harness.get_by_label("Export").click();
    harness.run();
    let text = std::fs::read_to_string(&path).expect("exported");
    let profile = sourcery_dsp::peq::parse_apo(&text, "export.txt").expect("parses");
    let back = sourcery_dsp::peq::to_settings(&profile).expect("fits");
    let now = sourcery_dsp::Settings::from_values(&f.params.values()).peq;
    assert_eq!(back.preamp_db, now.preamp_db);
    let on = |p: &sourcery_dsp::peq::PeqSettings| -> Vec<_> {
        p.bands.iter().filter(|b| b.on).copied().collect()
    };
    assert_eq!(on(&back), on(&now));
    std::fs::remove_dir_all(&dir).ok();
}

/// The "Your chain" panel: picking your source, the level mode (both parameters behind it,
/// one gesture each), your SPL from a full-scale voltage (the formula), the limiter's
/// reduction from the audio side, and the warnings (limiting, hiss below your floor).
#[test]
fn your_chain_panel_sets_the_chain_and_explains_calibrated_spl() {
    use sourcery_dsp::presets::{Catalogue, DeviceSlot};
    use sourcery_dsp::settings::LevelMode;
    let f = Fixture::new();
    let mut harness = f.harness(Panel::Yours);
    assert_eq!(f.get(ParamId::YourSource) as usize, DeviceSlot::IDEAL.0);
    // The K13 on the Andromeda by default: a 0 dBFS sine's SPL is shown.
    harness.get_by_label("Emulated source, 0 dBFS");

    // Your source by figure: a 10 Ω jack.
    harness.get_by_label("My own output impedance").click();
    harness.run();
    assert_eq!(f.get(ParamId::YourZOutCustom), 1.0);
    harness.get_by_label_contains("Your output impedance 10.00 Ω");

    // Calibrated SPL sets both level parameters.
    let begins = f.host.count("begin");
    harness.get_by_label("Calibrated SPL").click();
    harness.run();
    assert_eq!(f.get(ParamId::LevelCalibrated), 1.0);
    assert_eq!(f.get(ParamId::LevelMatch), 0.0);
    assert_eq!(
        f.host.count("begin") - begins,
        2,
        "one gesture per parameter"
    );
    assert_eq!(f.host.count("begin"), f.host.count("end"));
    let settings = sourcery_dsp::Settings::from_values(&f.params.values());
    assert_eq!(settings.level_mode(), LevelMode::Calibrated);

    // "Set" computes your SPL from the full-scale voltage (1.00 Vrms by default) through
    // your 10 Ω into the Andromeda, as `your_spl_from_full_scale` does.
    harness.get_by_label("Set").click();
    harness.run();
    let want = settings
        .your_spl_from_full_scale(Catalogue::active(), 1.0)
        .unwrap();
    let got = f64::from(f.get(ParamId::YourSplDb));
    assert!((got - want).abs() < 1e-3, "{got} vs {want}");

    // At the default 110 dB SPL the K13 (low gain, 50 %) stays under your full scale; at
    // 60 dB SPL it plays above it and the panel says from which input level it is limited.
    f.set(ParamId::YourSplDb, 60.0);
    harness.run();
    harness.get_by_label_contains("louder than your chain's full scale");
    // The audio thread's limiter reading shows (and is held).
    f.params.shared.note_limiter_db(3.3);
    harness.run();
    harness.get_by_label("−3.3 dB");

    // Your noise floor above the emulated hiss: said so.
    f.set(ParamId::YourNoiseUv, 100.0);
    harness.run();
    harness.get_by_label_contains("lies below your chain's own noise");

    // Your source as a device: the K13's own SE output (0.4 Ω), so nothing to take away.
    f.set(ParamId::YourZOutCustom, 0.0);
    f.set(ParamId::YourSource, 0.0);
    harness.run();
    harness.get_by_label_contains("Your output impedance 0.40 Ω · emulated 0.40 Ω");
}

#[test]
fn preset_menu_loads_a_pairing_as_one_gesture_and_saves_the_settings() {
    use sourcery_dsp::presets::{factory_presets, read_preset};
    let f = Fixture::new();
    let dir = std::env::temp_dir().join(format!("sourcery-editor-presets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut editor = SourceryEditor::new(f.params.clone());
    editor.open(f.gui());
    editor.set_preset_dirs(Some(dir.join("presets")), Some(dir.join("lv2")));
    let mut harness = harness_for(editor);
    harness.run();

    // Presets › Pairings from the reviews › K7 + Andromeda.
    harness.get_by_label("Presets").click();
    harness.run();
    harness.get_by_label("Pairings from the reviews").click();
    harness.run();
    let log_start = f.host.log.lock().unwrap().len();
    harness.get_by_label("K7 + Andromeda").click();
    harness.run();
    let preset = factory_presets()
        .iter()
        .find(|p| p.name == "K7 + Andromeda")
        .unwrap();
    // Float parameters travel normalised through the host: equal within f32 rounding.
    for &(id, value) in &preset.values {
        let got = f.get(id);
        assert!(
            (got - value).abs() <= 1e-5 * value.abs().max(1.0),
            "{}: {got} vs {value}",
            id.spec().id
        );
    }
    // One gesture: every parameter begun before any is set, every one ended after.
    let log: Vec<_> = f.host.log.lock().unwrap()[log_start..].to_vec();
    let n = preset.values.len();
    assert_eq!(log.len(), 3 * n, "{log:?}");
    assert!(log[..n].iter().all(|(w, _)| *w == "begin"));
    assert!(log[n..2 * n].iter().all(|(w, _)| *w == "set"));
    assert!(log[2 * n..].iter().all(|(w, _)| *w == "end"));
    assert_eq!(
        harness.state().status(),
        "Loaded the preset “K7 + Andromeda”."
    );

    // Save as preset… with a name and a description.
    f.set(ParamId::Volume, 42.0);
    harness.run();
    harness.get_by_label("Presets").click();
    harness.run();
    harness.get_by_label("Save as preset…").click();
    harness.run();
    harness.get_by_label("Preset name").click();
    harness.run();
    harness.get_by_label("Preset name").type_text("Evening K7");
    harness.run();
    harness.get_by_label("Preset description").click();
    harness.run();
    harness
        .get_by_label("Preset description")
        .type_text("Quiet");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    let path = dir.join("presets").join("evening-k7.toml");
    let bundle = dir.join("lv2").join("sourcery-evening-k7.preset.lv2");
    assert!(
        bundle.join("manifest.ttl").is_file(),
        "the LV2 preset bundle"
    );
    let ttl = std::fs::read_to_string(bundle.join("evening-k7.ttl")).unwrap();
    assert!(ttl.contains("rdfs:label \"Evening K7\""), "{ttl}");
    assert!(
        harness.state().status().starts_with("Saved “Evening K7”"),
        "{}",
        harness.state().status()
    );
    let saved = read_preset(&path).expect("the saved preset reads back");
    assert_eq!(saved.name, "Evening K7");
    assert_eq!(saved.description.as_deref(), Some("Quiet"));
    let values = f.params.values();
    for &(id, value) in &saved.values {
        assert_eq!(
            value.to_bits(),
            values.get(id).to_bits(),
            "{}",
            id.spec().id
        );
    }
    assert_eq!(saved.value(ParamId::Volume), Some(42.0));

    // It is listed under User presets and loads back.
    f.set(ParamId::Volume, 10.0);
    harness.get_by_label("Presets").click();
    harness.run();
    harness.get_by_label("User presets").click();
    harness.run();
    harness.get_by_label("Evening K7").click();
    harness.run();
    assert_eq!(f.get(ParamId::Volume), 42.0);
    let _ = std::fs::remove_dir_all(&dir);
}
