//! Placeholder editor: every parameter of the table with nice-plug-egui's generic widgets,
//! grouped as in the table, the SPL readout, and an import field for a measured impedance
//! curve. The real editor is a later issue.

use std::sync::Arc;

use nice_plug::context::gui::{GuiContext, ParamSetter};
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp,
    RepaintNotifier,
};
use sourcery_dsp::settings::{headphone_preset_values, peq_values};
use sourcery_dsp::{ParamId, Settings, PARAMS};

use crate::params::{SourceryParams, TableParam};

/// Initial window size in logical pixels.
pub const WINDOW_SIZE: (f64, f64) = (520.0, 420.0);

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(WINDOW_SIZE.0, WINDOW_SIZE.1), 1.0)
}

/// The editor's state: the parameters and, once the window is built, the GUI context.
pub struct SourceryEditor {
    params: Arc<SourceryParams>,
    gui: Option<GuiContext>,
    /// Path typed into the impedance import field.
    import_path: String,
    /// Result of the last import, shown under the field.
    import_status: String,
    /// Path typed into the AutoEQ import field.
    peq_path: String,
}

/// Set one parameter from the GUI as a host gesture (begin, set, end).
fn set_plain(setter: &ParamSetter, param: &TableParam, value: f32) {
    match param {
        TableParam::Float(p) => {
            setter.begin_set_parameter(p);
            setter.set_parameter(p, value);
            setter.end_set_parameter(p);
        }
        TableParam::Int(p) => {
            setter.begin_set_parameter(p);
            setter.set_parameter(p, value.round() as i32);
            setter.end_set_parameter(p);
        }
        TableParam::Bool(p) => {
            setter.begin_set_parameter(p);
            setter.set_parameter(p, value >= 0.5);
            setter.end_set_parameter(p);
        }
    }
}

/// Read an AutoEQ / EqualizerAPO `ParametricEQ.txt` into PEQ settings (errors name the file
/// and line).
fn read_apo(path: &std::path::Path) -> Result<sourcery_dsp::peq::PeqSettings, String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() > sourcery_dsp::peq::apo::MAX_FILE_BYTES {
        return Err(format!(
            "{name}: {} bytes is too large for a PEQ file",
            bytes.len()
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not a text file"))?;
    let profile = sourcery_dsp::peq::parse_apo(&text, &name).map_err(|e| e.to_string())?;
    sourcery_dsp::peq::to_settings(&profile).map_err(|e| e.to_string())
}

pub fn create(params: Arc<SourceryParams>) -> Option<EguiEditor<SourceryEditor>> {
    create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("Sourcery"),
        SourceryEditor {
            params,
            gui: None,
            import_path: String::new(),
            import_status: String::new(),
            peq_path: String::new(),
        },
    )
}

impl NiceEguiApp for SourceryEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let Some(gui) = &self.gui else {
            return;
        };
        let setter = gui.param_setter();
        ui.heading("Sourcery");
        let settings = Settings::from_values(&self.params.values());
        match settings.spl_report() {
            Some(r) => ui.label(format!(
                "0 dBFS: {:.1} dB SPL · hiss: {:.1} dB(A) SPL · headroom: {:.1} dB",
                r.spl_full_scale_db, r.noise_spl_db, r.headroom_db
            )),
            None => ui.label("SPL: the headphone has no published sensitivity"),
        };
        ui.horizontal(|ui| {
            ui.label("Impedance curve (.zma/.csv):");
            ui.text_edit_singleline(&mut self.import_path);
            if ui.button("Import").clicked() {
                let path = std::path::Path::new(self.import_path.trim());
                self.import_status = match self.params.custom_load.import_file(path) {
                    Ok(()) => format!(
                        "Imported {}; choose \"Custom (imported)\" as the headphone.",
                        path.display()
                    ),
                    Err(e) => e.to_string(),
                };
            }
        });
        ui.horizontal(|ui| {
            ui.label("AutoEQ / EqualizerAPO file:");
            ui.text_edit_singleline(&mut self.peq_path);
            if ui.button("Import PEQ").clicked() {
                let path = std::path::Path::new(self.peq_path.trim());
                self.import_status = match read_apo(path) {
                    Ok(peq) => {
                        for (id, value) in peq_values(&peq) {
                            set_plain(&setter, self.params.get(id), value);
                        }
                        format!("PEQ imported from {}", path.display())
                    }
                    Err(e) => e,
                };
            }
        });
        if ui
            .button("Load the headphone's preset (its load and its PEQ)")
            .clicked()
        {
            self.import_status = match headphone_preset_values(settings.headphone) {
                Some(values) => {
                    for (id, value) in values {
                        set_plain(&setter, self.params.get(id), value);
                    }
                    "Headphone preset loaded.".to_owned()
                }
                None => "This entry has no preset (Resistive, Custom).".to_owned(),
            };
        }
        if !self.import_status.is_empty() {
            ui.label(&self.import_status);
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            let mut group = "";
            for id in ParamId::ALL {
                let spec = &PARAMS[*id as usize];
                if spec.group != group {
                    group = spec.group;
                    ui.separator();
                    ui.strong(group);
                }
                ui.horizontal(|ui| {
                    ui.label(spec.name).on_hover_text(spec.description);
                    match self.params.get(*id) {
                        TableParam::Float(p) => ui.add(ParamSlider::for_param(p, &setter)),
                        TableParam::Int(p) => ui.add(ParamSlider::for_param(p, &setter)),
                        TableParam::Bool(p) => ui.add(ParamSlider::for_param(p, &setter)),
                    };
                });
            }
        });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}
