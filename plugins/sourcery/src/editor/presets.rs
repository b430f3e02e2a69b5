//! The top bar's preset menu: the factory presets (devices, headphones, pairings) and the
//! user's presets, the same list a CLAP host's browser crawls, for every format (VST3 has
//! no preset discovery). Choosing one sets its parameters as one gesture: every parameter
//! is begun, then set, then ended, so a host records one undoable change. "Save as preset"
//! writes the current settings into the user folder (and an LV2 preset bundle).

use std::path::PathBuf;

use egui::RichText;
use sourcery_dsp::presets::{
    factory_presets, save_user_preset, user_preset_dir, user_presets, Preset, PresetCurve,
};
use sourcery_dsp::ParamId;

use super::Ctl;
use crate::params::SourceryParams;

/// What the preset menu keeps between frames.
pub struct PresetsState {
    /// The user folder (`None`: no config folder on this system).
    dir: Option<PathBuf>,
    /// Where a saved preset's LV2 bundle goes (`~/.lv2`; `None`: not written).
    lv2_dir: Option<PathBuf>,
    /// The user presets as last read (the menu re-reads when it opens).
    user: Vec<Preset>,
    /// The save dialog, while open.
    save: Option<SaveDialog>,
}

#[derive(Default)]
struct SaveDialog {
    name: String,
    description: String,
    overwrite: bool,
}

impl Default for PresetsState {
    fn default() -> Self {
        Self::with_dirs(
            user_preset_dir(),
            sourcery_dsp::presets::lv2::user_lv2_dir(),
        )
    }
}

impl PresetsState {
    /// A menu over the user folder `dir`, saving LV2 bundles into `lv2_dir`.
    pub fn with_dirs(dir: Option<PathBuf>, lv2_dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            lv2_dir,
            user: Vec::new(),
            save: None,
        }
    }

    /// Re-read the user folder; files that fail are named in `status`.
    fn rescan(&mut self, status: &mut String) {
        let Some(dir) = &self.dir else {
            return;
        };
        let (presets, errors) = user_presets(dir);
        self.user = presets;
        if let Some(first) = errors.first() {
            *status = format!("User preset skipped: {first}");
        }
    }

    /// The "Presets" menu button.
    pub fn menu(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        params: &SourceryParams,
        status: &mut String,
    ) {
        let response = ui.menu_button("Presets", |ui| {
            ui.set_min_width(260.0);
            let factory = factory_presets();
            for (title, prefix) in [
                ("Pairings from the reviews", "combo/"),
                ("Devices", "device/"),
                ("Headphones (with their PEQ)", "headphone/"),
            ] {
                ui.menu_button(title, |ui| {
                    for preset in factory.iter().filter(|p| p.id.starts_with(prefix)) {
                        if preset_button(ui, preset).clicked() {
                            apply(ctl, params, preset, status);
                            ui.close();
                        }
                    }
                });
            }
            ui.menu_button("User presets", |ui| {
                if self.user.is_empty() {
                    ui.label(RichText::new("None yet: “Save as preset…” adds one.").weak());
                }
                for preset in &self.user {
                    if preset_button(ui, preset).clicked() {
                        apply(ctl, params, preset, status);
                        ui.close();
                    }
                }
            });
            ui.separator();
            if ui.button("Save as preset…").clicked() {
                self.save = Some(SaveDialog::default());
                ui.close();
            }
        });
        if response.response.clicked() {
            self.rescan(status);
        }
        self.save_dialog(ui, ctl, params, status);
    }

    fn save_dialog(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        params: &SourceryParams,
        status: &mut String,
    ) {
        let Some(dialog) = &mut self.save else {
            return;
        };
        let mut close = false;
        let mut save = false;
        egui::Window::new("Save as preset")
            .collapsible(false)
            .resizable(false)
            .show(ui.ctx(), |ui| {
                egui::Grid::new("save-preset")
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("Name");
                        let r = ui.text_edit_singleline(&mut dialog.name);
                        super::name_widget(&r, egui::Role::TextInput, "Preset name");
                        ui.end_row();
                        ui.label("Description");
                        let r = ui.text_edit_multiline(&mut dialog.description);
                        super::name_widget(&r, egui::Role::TextInput, "Preset description");
                        ui.end_row();
                    });
                ui.checkbox(&mut dialog.overwrite, "Replace a preset of the same name");
                match &self.dir {
                    Some(dir) => ui.label(
                        RichText::new(format!("Into {}", dir.display()))
                            .small()
                            .weak(),
                    ),
                    None => ui.label("No user folder on this system."),
                };
                ui.horizontal(|ui| {
                    save = ui
                        .add_enabled(
                            !dialog.name.trim().is_empty() && self.dir.is_some(),
                            egui::Button::new("Save"),
                        )
                        .clicked();
                    close = ui.button("Cancel").clicked();
                });
            });
        if save {
            let Some(dir) = &self.dir else {
                return;
            };
            let mut preset = Preset::from_values(&dialog.name, &ctl.values);
            let description = dialog.description.trim();
            preset.description = (!description.is_empty()).then(|| description.to_owned());
            if ctl.settings.headphone == sourcery_dsp::presets::HeadphoneSlot::CUSTOM {
                if let (_, Some(curve)) = params.custom_load.get() {
                    preset.custom_load = Some(PresetCurve {
                        name: curve.name,
                        text: curve.text,
                    });
                }
            }
            match save_user_preset(dir, &preset, dialog.overwrite) {
                Ok(path) => {
                    *status = format!("Saved “{}” to {}", preset.name, path.display());
                    let lv2 = self
                        .lv2_dir
                        .as_deref()
                        .map(|dir| sourcery_dsp::presets::lv2::write_user_lv2_preset(&preset, dir));
                    match lv2 {
                        Some(Ok(bundle)) => {
                            status.push_str(&format!(" and {}", bundle.display()));
                        }
                        Some(Err(e)) => status.push_str(&format!(" (LV2 preset not written: {e})")),
                        None => {}
                    }
                    close = true;
                    self.rescan(status);
                }
                Err(e) => *status = format!("Not saved: {e}"),
            }
        }
        if close {
            self.save = None;
        }
    }
}

fn preset_button(ui: &mut egui::Ui, preset: &Preset) -> egui::Response {
    let response = ui.button(&preset.name);
    match preset.comment() {
        Some(tip) => response.on_hover_text(tip),
        None => response,
    }
}

/// Set every parameter of `preset` as one gesture (begin all, set all, end all) and import
/// its curve.
pub(crate) fn apply(ctl: &Ctl, params: &SourceryParams, preset: &Preset, status: &mut String) {
    if let Some(curve) = &preset.custom_load {
        if let Err(e) = params.custom_load.import(&curve.name, &curve.text) {
            *status = format!("Preset “{}” not loaded: {e}", preset.name);
            return;
        }
    }
    let ids: Vec<ParamId> = preset.values.iter().map(|&(id, _)| id).collect();
    for &id in &ids {
        ctl.begin(id);
    }
    for &(id, value) in &preset.values {
        ctl.set_in_gesture(id, value);
    }
    for &id in &ids {
        ctl.end(id);
    }
    *status = format!("Loaded the preset “{}”.", preset.name);
}
