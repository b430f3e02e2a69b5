//! Placeholder editor: every parameter of the table with nice-plug-egui's generic widgets,
//! grouped as in the table. The real editor is a later issue.

use std::sync::Arc;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp,
    RepaintNotifier,
};
use sourcery_dsp::{ParamId, PARAMS};

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
}

pub fn create(params: Arc<SourceryParams>) -> Option<EguiEditor<SourceryEditor>> {
    create_egui_editor(
        params.editor_state.clone(),
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile("Sourcery"),
        SourceryEditor { params, gui: None },
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
