//! The editor: six panels (Source, Load, Your chain, PEQ, Character, Compare) around
//! always-visible input/output meters, and a preset menu in the top bar.
//!
//! Every control is a host parameter set through nice-plug's `ParamSetter` (begin, set, end
//! — drags are one gesture), so the host records automation and undo. What the audio thread
//! produces for display (meter levels) arrives through atomics in [`crate::shared::Shared`],
//! and only while the window is open; anything heavy (the character analysis) runs on a
//! worker thread that lives as long as the window.

mod abx;
mod character;
mod compare;
mod files;
mod load;
mod peq;
mod presets;
mod source;
#[cfg(test)]
mod tests;
pub mod widgets;
mod yours;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{vec2, RichText};
use nice_plug::context::gui::{GuiContext, ParamSetter};
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::ResizeHint;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp,
    RepaintNotifier,
};
use sourcery_dsp::{ParamId, ParamValues, Settings};

use crate::params::{SourceryParams, TableParam};

pub use abx::{p_value_at_least, Abx};

/// Initial window size in logical pixels.
pub const WINDOW_SIZE: (f64, f64) = (1100.0, 720.0);
/// Smallest window size in logical pixels.
pub const MIN_SIZE: (f32, f32) = (900.0, 600.0);
/// Environment variable naming the panel the editor opens on (`source`, `load`, `peq`,
/// `character`, `compare`); used for the screenshots.
pub const PANEL_ENV: &str = "SOURCERY_EDITOR_PANEL";

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(WINDOW_SIZE.0, WINDOW_SIZE.1), 1.0)
}

/// The editor's panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Source,
    Load,
    Yours,
    Peq,
    Character,
    Compare,
}

impl Panel {
    pub const ALL: [Panel; 6] = [
        Panel::Source,
        Panel::Load,
        Panel::Yours,
        Panel::Peq,
        Panel::Character,
        Panel::Compare,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Panel::Source => "Source",
            Panel::Load => "Load",
            Panel::Yours => "Your chain",
            Panel::Peq => "PEQ",
            Panel::Character => "Character",
            Panel::Compare => "Compare",
        }
    }

    /// A one-word name (`source`, `load`, `yours`, `peq`, `character`, `compare`): the
    /// screenshot files and [`PANEL_ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Panel::Source => "source",
            Panel::Load => "load",
            Panel::Yours => "yours",
            Panel::Peq => "peq",
            Panel::Character => "character",
            Panel::Compare => "compare",
        }
    }

    /// The panel named `name` (its title or its one-word name, any case).
    pub fn from_name(name: &str) -> Option<Panel> {
        let name = name.trim();
        Panel::ALL
            .into_iter()
            .find(|p| p.title().eq_ignore_ascii_case(name) || p.name().eq_ignore_ascii_case(name))
    }
}

/// Parameter access for one frame: the values as they were at the frame's start and the
/// setter that reports changes to the host.
pub(crate) struct Ctl<'a> {
    params: &'a SourceryParams,
    setter: ParamSetter<'a>,
    /// Gestures begun and not yet ended (kept by the editor across frames, so that closing
    /// the window can end them).
    open: OpenGestures,
    pub values: ParamValues,
    pub settings: Settings,
}

/// Parameters inside an unfinished gesture (GUI thread only; the mutex is never contended).
type OpenGestures = Arc<Mutex<Vec<ParamId>>>;

impl<'a> Ctl<'a> {
    fn new(params: &'a SourceryParams, setter: ParamSetter<'a>, open: OpenGestures) -> Self {
        let values = params.values();
        Self {
            params,
            setter,
            open,
            settings: Settings::from_values(&values),
            values,
        }
    }

    /// End every gesture still open (the window is closing).
    fn end_all(&self) {
        let open: Vec<ParamId> =
            std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        for id in open {
            self.end_raw(id);
        }
    }

    pub fn get(&self, id: ParamId) -> f32 {
        self.values.get(id)
    }

    /// Start a gesture (drag) on `id`.
    pub fn begin(&self, id: ParamId) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        match self.params.get(id) {
            TableParam::Float(p) => self.setter.begin_set_parameter(p),
            TableParam::Int(p) => self.setter.begin_set_parameter(p),
            TableParam::Bool(p) => self.setter.begin_set_parameter(p),
        }
    }

    /// Set `id` inside a gesture.
    pub fn set_in_gesture(&self, id: ParamId, value: f32) {
        let value = id.spec().sanitize(value);
        match self.params.get(id) {
            TableParam::Float(p) => self.setter.set_parameter(p, value),
            TableParam::Int(p) => self.setter.set_parameter(p, value.round() as i32),
            TableParam::Bool(p) => self.setter.set_parameter(p, value >= 0.5),
        }
    }

    /// End a gesture on `id`.
    pub fn end(&self, id: ParamId) {
        {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = open.iter().position(|&o| o == id) {
                open.remove(i);
            }
        }
        self.end_raw(id);
    }

    fn end_raw(&self, id: ParamId) {
        match self.params.get(id) {
            TableParam::Float(p) => self.setter.end_set_parameter(p),
            TableParam::Int(p) => self.setter.end_set_parameter(p),
            TableParam::Bool(p) => self.setter.end_set_parameter(p),
        }
    }

    /// Set `id` as one gesture (a click, a typed value).
    pub fn set(&self, id: ParamId, value: f32) {
        self.begin(id);
        self.set_in_gesture(id, value);
        self.end(id);
    }

    /// Apply a widget's new `value` for `id`: a drag is one gesture from start to stop,
    /// anything else is a gesture of its own.
    pub fn follow(&self, id: ParamId, response: &egui::Response, value: Option<f32>) {
        if response.drag_started() {
            self.begin(id);
        }
        if let Some(value) = value {
            // A slider can report its last change on the release frame: still the drag.
            if response.dragged() || response.drag_started() || response.drag_stopped() {
                self.set_in_gesture(id, value);
            } else {
                self.set(id, value);
            }
        }
        if response.drag_stopped() {
            self.end(id);
        }
    }

    /// A row of buttons, one per label, for an enumeration.
    pub fn choice(&self, ui: &mut egui::Ui, id: ParamId) {
        let labels = id.spec().labels();
        let current = self.values.get_index(id);
        ui.horizontal_wrapped(|ui| {
            for (i, label) in labels.iter().enumerate() {
                if ui.selectable_label(current == i, *label).clicked() && current != i {
                    self.set(id, i as f32);
                }
            }
        });
    }

    /// A drop-down for an enumeration.
    pub fn combo(&self, ui: &mut egui::Ui, id: ParamId) {
        self.combo_width(ui, id, 200.0);
    }

    /// [`Ctl::combo`] `width` points wide.
    pub fn combo_width(&self, ui: &mut egui::Ui, id: ParamId, width: f32) {
        let labels = id.spec().labels();
        let current = self.values.get_index(id);
        let response = egui::ComboBox::from_id_salt(id.spec().id)
            .selected_text(labels.get(current).copied().unwrap_or("?"))
            .width(width)
            .show_ui(ui, |ui| {
                for (i, label) in labels.iter().enumerate() {
                    if ui.selectable_label(current == i, *label).clicked() && current != i {
                        self.set(id, i as f32);
                    }
                }
            })
            .response;
        name_widget(&response, egui::Role::ComboBox, id.spec().name);
    }

    /// A checkbox for a boolean.
    pub fn toggle(&self, ui: &mut egui::Ui, id: ParamId, text: &str) -> egui::Response {
        let mut on = self.values.get_bool(id);
        let response = ui
            .checkbox(&mut on, text)
            .on_hover_text(id.spec().description);
        if response.changed() {
            self.set(id, f32::from(u8::from(on)));
        }
        response
    }

    /// A slider over the parameter's range (logarithmic when the range is skewed).
    pub fn slider(&self, ui: &mut egui::Ui, id: ParamId, decimals: usize) -> egui::Response {
        let spec = id.spec();
        let mut v = self.get(id);
        let log = matches!(
            spec.kind,
            sourcery_dsp::ParamKind::Float {
                skew_center: Some(_),
                ..
            }
        ) && spec.min() > 0.0;
        let response = ui
            .add(
                egui::Slider::new(&mut v, spec.min()..=spec.max())
                    .logarithmic(log)
                    .fixed_decimals(decimals)
                    .suffix(spec.unit),
            )
            .on_hover_text(spec.description);
        let changed = response.changed().then_some(v);
        self.follow(id, &response, changed);
        response
    }

    /// A drag value over the parameter's range.
    pub fn drag_value(
        &self,
        ui: &mut egui::Ui,
        id: ParamId,
        speed: f64,
        decimals: usize,
    ) -> egui::Response {
        let spec = id.spec();
        let mut v = self.get(id);
        let response = ui.add(
            egui::DragValue::new(&mut v)
                .range(spec.min()..=spec.max())
                .speed(speed)
                .fixed_decimals(decimals)
                .suffix(spec.unit),
        );
        name_widget(&response, egui::Role::SpinButton, spec.name);
        let changed = response.changed().then_some(v);
        self.follow(id, &response, changed);
        response
    }
}

/// Give a widget without a visible label its accessible name (screen readers, tests).
pub fn name_widget(response: &egui::Response, role: egui::Role, name: &str) {
    response.widget_info(|| egui::WidgetInfo::labeled(role, response.enabled(), name));
}

/// The editor's state.
pub struct SourceryEditor {
    params: Arc<SourceryParams>,
    gui: Option<GuiContext>,
    panel: Panel,
    /// The last import/export message.
    status: String,
    load: load::LoadState,
    yours: yours::YoursState,
    peq: peq::PeqState,
    character: character::CharacterState,
    compare: compare::CompareState,
    presets: presets::PresetsState,
    meters_in: widgets::MeterDisplay,
    meters_out: widgets::MeterDisplay,
    last_frame: Option<Instant>,
    open_gestures: OpenGestures,
}

impl SourceryEditor {
    pub fn new(params: Arc<SourceryParams>) -> Self {
        let panel = std::env::var(PANEL_ENV)
            .ok()
            .and_then(|name| Panel::from_name(&name))
            .unwrap_or(Panel::Source);
        Self {
            params,
            gui: None,
            panel,
            status: String::new(),
            load: load::LoadState::default(),
            yours: yours::YoursState::default(),
            peq: peq::PeqState::default(),
            character: character::CharacterState::default(),
            compare: compare::CompareState::default(),
            presets: presets::PresetsState::default(),
            meters_in: widgets::MeterDisplay::default(),
            meters_out: widgets::MeterDisplay::default(),
            last_frame: None,
            open_gestures: OpenGestures::default(),
        }
    }

    /// Attach to a window (what `build` does).
    pub fn open(&mut self, gui: GuiContext) {
        self.gui = Some(gui);
        self.last_frame = None;
    }

    /// Detach from the window: stop the worker, stop comparing.
    pub fn close(&mut self) {
        if let Some(gui) = self.gui.take() {
            let params = self.params.clone();
            Ctl::new(&params, gui.param_setter(), self.open_gestures.clone()).end_all();
        }
        self.peq.drag_ended();
        self.character.stop();
        let params = self.params.clone();
        self.compare.stop(&params.shared);
    }

    pub fn panel(&self) -> Panel {
        self.panel
    }

    pub fn set_panel(&mut self, panel: Panel) {
        self.panel = panel;
    }

    pub fn status(&self) -> &str {
        &self.status
    }

    /// Read and save user presets in `dir` instead of the user config folder, and write
    /// their LV2 bundles into `lv2_dir` instead of `~/.lv2`.
    pub fn set_preset_dirs(
        &mut self,
        dir: Option<std::path::PathBuf>,
        lv2_dir: Option<std::path::PathBuf>,
    ) {
        self.presets = presets::PresetsState::with_dirs(dir, lv2_dir);
    }

    /// Draw one frame into `ui`.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let params = self.params.clone();
        let ctl = Ctl::new(&params, gui.param_setter(), self.open_gestures.clone());
        ui.ctx().request_repaint_after(Duration::from_millis(33));
        let now = Instant::now();
        let dt = self
            .last_frame
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.last_frame = Some(now);
        self.meters_in
            .update(&params.shared.meters.input.take(), dt);
        self.meters_out
            .update(&params.shared.meters.output.take(), dt);

        ResizableWindow::new("sourcery-editor")
            .min_size(vec2(MIN_SIZE.0, MIN_SIZE.1))
            .show(ui, |ui| {
                egui::Panel::top("sourcery-tabs").show(ui, |ui| self.top_bar(ui, &ctl));
                egui::Panel::right("sourcery-meters")
                    .resizable(false)
                    .exact_size(132.0)
                    .show(ui, |ui| self.meters(ui));
                egui::Panel::bottom("sourcery-status").show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(&self.status).small());
                    });
                });
                egui::CentralPanel::default().show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .auto_shrink([false, false])
                        .show(ui, |ui| match self.panel {
                            Panel::Source => source::show(ui, &ctl),
                            Panel::Load => {
                                self.load
                                    .show(ui, &ctl, &params, &self.meters_in, &mut self.status)
                            }
                            Panel::Yours => {
                                self.yours.show(ui, &ctl, &params.shared, &mut self.status)
                            }
                            Panel::Peq => self.peq.show(
                                ui,
                                &ctl,
                                params.shared.sample_rate(),
                                &mut self.status,
                            ),
                            Panel::Character => self.character.show(
                                ui,
                                &ctl,
                                &params.custom_load,
                                params.shared.sample_rate(),
                                &self.meters_in,
                            ),
                            Panel::Compare => {
                                self.compare
                                    .show(ui, &ctl, &params.shared, &self.meters_out)
                            }
                        });
                });
            });
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, ctl: &Ctl) {
        ui.horizontal(|ui| {
            ui.heading(RichText::new("Sourcery").strong());
            ui.add_space(12.0);
            for panel in Panel::ALL {
                if ui
                    .selectable_label(self.panel == panel, RichText::new(panel.title()).size(15.0))
                    .clicked()
                {
                    self.panel = panel;
                }
            }
            ui.add_space(12.0);
            let params = self.params.clone();
            self.presets.menu(ui, ctl, &params, &mut self.status);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ctl.toggle(ui, ParamId::Bypass, "Bypass");
                level_mode_combo(ui, ctl);
                let s = &ctl.settings;
                ui.label(
                    RichText::new(format!(
                        "{}  ›  {}",
                        sourcery_dsp::params::DEVICE_LABELS
                            .get(s.device.0)
                            .unwrap_or(&"?"),
                        sourcery_dsp::params::HEADPHONE_LABELS
                            .get(s.headphone.0)
                            .unwrap_or(&"?")
                    ))
                    .weak(),
                );
            });
        });
    }

    fn meters(&mut self, ui: &mut egui::Ui) {
        ui.vertical_centered(|ui| ui.strong("Levels"));
        let height = (ui.available_height() - 90.0).clamp(120.0, 420.0);
        // During a blind test the output's level could tell X apart: hide it.
        let hide_out = self.compare.abx_running();
        ui.horizontal(|ui| {
            for (name, display) in [("In", &mut self.meters_in), ("Out", &mut self.meters_out)] {
                ui.vertical(|ui| {
                    ui.label(name);
                    if hide_out && name == "Out" {
                        ui.label(RichText::new("hidden\nduring\nABX").small().weak());
                        return;
                    }
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 3.0;
                        let channels = display.channels.clamp(1, 2);
                        for ch in 0..channels {
                            let r = widgets::meter_bar(
                                ui,
                                display.rms[ch],
                                display.hold[ch],
                                display.clipped,
                                height,
                            );
                            if r.on_hover_text("Click to reset the clip lamp").clicked() {
                                display.clipped = false;
                            }
                        }
                    });
                    let peak = display.hold[..display.channels.clamp(1, 2)]
                        .iter()
                        .copied()
                        .fold(0.0f32, f32::max);
                    ui.label(RichText::new(format_dbfs(peak)).monospace().small());
                });
            }
        });
        ui.label(
            RichText::new("RMS bar, peak line, clip lamp (0 dBFS)")
                .small()
                .weak(),
        );
    }
}

/// The level mode as a drop-down (level-matched, absolute, calibrated SPL).
fn level_mode_combo(ui: &mut egui::Ui, ctl: &Ctl) {
    use sourcery_dsp::settings::LevelMode;
    let mode = ctl.settings.level_mode();
    let label = |m: LevelMode| match m {
        LevelMode::Matched => "Level-matched",
        LevelMode::Absolute => "Absolute",
        LevelMode::Calibrated => "Calibrated SPL",
    };
    let response = egui::ComboBox::from_id_salt("level-mode")
        .selected_text(label(mode))
        .width(120.0)
        .show_ui(ui, |ui| {
            for m in [
                LevelMode::Matched,
                LevelMode::Absolute,
                LevelMode::Calibrated,
            ] {
                if ui.selectable_label(mode == m, label(m)).clicked() && mode != m {
                    yours::set_level_mode(ctl, m);
                }
            }
        })
        .response;
    name_widget(&response, egui::Role::ComboBox, "Level mode");
}

/// "−12.3" (dBFS, with a real minus sign) or "−∞".
pub fn format_dbfs(level: f32) -> String {
    if level <= 1e-6 {
        "−∞".to_owned()
    } else {
        format!("{:+.1}", widgets::db(level)).replace('-', "−")
    }
}

pub fn create(params: Arc<SourceryParams>) -> Option<EguiEditor<SourceryEditor>> {
    create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Sourcery")
            .with_resize_hint(
                ResizeHint::resizable()
                    .with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
            ),
        SourceryEditor::new(params),
    )
}

impl NiceEguiApp for SourceryEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.open(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.draw(ui);
    }

    fn editor_closed(&mut self) {
        self.close();
    }
}
