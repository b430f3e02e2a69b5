//! "Your chain" panel: the source the listener hears the plugin through (its output
//! impedance is taken away from the load stage), the level mode (level-matched, absolute,
//! calibrated SPL), how loud the listener's chain plays, and what calibrated SPL makes of
//! it: the emulated source's SPL and hiss against the listener's full scale and noise, and
//! the output limiter at work.

use egui::RichText;
use sourcery_dsp::amp::{GainStep, Output};
use sourcery_dsp::params::DEVICE_LABELS;
use sourcery_dsp::presets::{Catalogue, DeviceSlot};
use sourcery_dsp::settings::LevelMode;
use sourcery_dsp::ParamId;

use super::widgets::colour;
use super::Ctl;
use crate::shared::Shared;

/// Seconds the limiter readout holds its largest value.
const LIMITER_HOLD_SECONDS: f64 = 1.5;

pub(super) struct YoursState {
    /// The "compute from full-scale voltage" helper's value (Vrms).
    full_scale_vrms: f64,
    /// Largest limiter reduction (dB) shown, and when it was seen.
    limiter_db: f32,
    limiter_seen: Option<std::time::Instant>,
}

impl Default for YoursState {
    fn default() -> Self {
        Self {
            full_scale_vrms: 1.0,
            limiter_db: 0.0,
            limiter_seen: None,
        }
    }
}

/// The level modes as the selector offers them.
const MODES: [(LevelMode, &str, &str); 3] = [
    (
        LevelMode::Matched,
        "Level-matched",
        "The chain's 1 kHz level is compensated: a voicing changes tone, not loudness (A/B).",
    ),
    (
        LevelMode::Absolute,
        "Absolute",
        "1 Vrms across the headphone reads as a 0 dBFS sine.",
    ),
    (
        LevelMode::Calibrated,
        "Calibrated SPL",
        "The emulated source's own SPL at your ear, through your chain: the volume knob, the \
         hiss and the clipping as on the device.",
    ),
];

/// Set the level mode: the parameters behind it ([`sourcery_dsp::Settings::set_level_mode`]) that
/// change, each as one gesture.
pub(super) fn set_level_mode(ctl: &Ctl, mode: LevelMode) {
    let mut settings = ctl.settings;
    settings.set_level_mode(mode);
    let wanted = settings.to_values();
    for id in [ParamId::LevelCalibrated, ParamId::LevelMatch] {
        if wanted.get(id) != ctl.get(id) {
            ctl.set(id, wanted.get(id));
        }
    }
}

/// The lowest published noise of `device`'s `output` (its quietest gain step), µV(A).
fn device_noise_uv(catalogue: &Catalogue, device: DeviceSlot, output: Output) -> Option<f64> {
    let d = catalogue.device(device)?;
    GainStep::ALL
        .iter()
        .map(|&g| d.amp.gain(output, g).noise_uv_a)
        .filter(|&n| n > 0.0)
        .reduce(f64::min)
}

impl YoursState {
    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        shared: &Shared,
        status: &mut String,
    ) {
        let s = ctl.settings;
        let catalogue = Catalogue::active();
        let now = std::time::Instant::now();
        let taken = shared.take_limiter_db();
        let expired = self
            .limiter_seen
            .is_none_or(|t| now.duration_since(t).as_secs_f64() > LIMITER_HOLD_SECONDS);
        if taken >= self.limiter_db || expired {
            self.limiter_db = taken;
            self.limiter_seen = Some(now);
        }
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.strong("Your source (what you listen through)");
            ui.label(
                RichText::new(
                    "The headphone already hears your source's output impedance; the load \
                     stage takes its effect away, so what reaches the ear is the emulated \
                     source's.",
                )
                .small()
                .weak(),
            );
            ui.horizontal(|ui| {
                ui.label("Device");
                ctl.combo(ui, ParamId::YourSource);
            });
            ui.horizontal(|ui| {
                ui.label("Output");
                ctl.choice(ui, ParamId::YourOutput);
            });
            ctl.toggle(ui, ParamId::YourZOutCustom, "My own output impedance");
            if s.yours.z_out_custom {
                ctl.slider(ui, ParamId::YourZOutOhms, 2);
            }
            let yours = s.your_z_out_ohms(catalogue);
            let emulated = s.z_out_ohms(catalogue);
            ui.label(format!(
                "Your output impedance {yours:.2} Ω · emulated {emulated:.2} Ω ({})",
                DEVICE_LABELS.get(s.device.0).unwrap_or(&"?")
            ));
            ui.add_space(8.0);
            ui.strong("Level");
            let mode = s.level_mode();
            ui.horizontal_wrapped(|ui| {
                for (m, label, hint) in MODES {
                    let r = ui.selectable_label(mode == m, label).on_hover_text(hint);
                    if r.clicked() && mode != m {
                        set_level_mode(ctl, m);
                    }
                }
            });
            ui.add_space(6.0);
            ui.strong("Your chain with this headphone");
            ui.horizontal(|ui| {
                ui.label("SPL of a 0 dBFS 1 kHz sine");
                ctl.drag_value(ui, ParamId::YourSplDb, 0.1, 1);
            });
            ui.horizontal(|ui| {
                ui.label("or from your source's full scale");
                let r = ui.add(
                    egui::DragValue::new(&mut self.full_scale_vrms)
                        .range(0.01..=30.0)
                        .speed(0.01)
                        .fixed_decimals(2)
                        .suffix(" Vrms"),
                );
                super::name_widget(&r, egui::Role::SpinButton, "Your full-scale voltage");
                if ui.button("Set").clicked() {
                    *status = match s.your_spl_from_full_scale(catalogue, self.full_scale_vrms) {
                        Some(spl) => {
                            ctl.set(ParamId::YourSplDb, spl as f32);
                            format!(
                                "Your SPL at 0 dBFS: {spl:.1} dB from {:.2} Vrms through {yours:.2} Ω.",
                                self.full_scale_vrms
                            )
                        }
                        None => "This headphone has no published sensitivity.".to_owned(),
                    };
                }
            });
            ui.horizontal(|ui| {
                ui.label("Your noise floor");
                ctl.drag_value(ui, ParamId::YourNoiseUv, 0.05, 2);
                if let Some(uv) = device_noise_uv(catalogue, s.yours.source, s.yours.output) {
                    if ui
                        .button("Use your device's")
                        .on_hover_text(format!(
                            "{uv:.1} µV(A): the lowest published figure of its {} output",
                            s.yours.output.label()
                        ))
                        .clicked()
                    {
                        ctl.set(ParamId::YourNoiseUv, uv as f32);
                    }
                }
            });
            ui.label(RichText::new("0 µV: not given").small().weak());

            let ui = &mut cols[1];
            self.readouts(ui, ctl);
        });
    }

    fn readouts(&self, ui: &mut egui::Ui, ctl: &Ctl) {
        let s = ctl.settings;
        ui.strong("Through your chain");
        let Some(r) = s.calibration_report(Catalogue::active()) else {
            ui.colored_label(
                colour::WARN,
                "This load has no published sensitivity: calibrated SPL cannot place it, \
                 so the output stays level-matched.",
            );
            return;
        };
        egui::Grid::new("calibration-grid")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                ui.label("Emulated source, 0 dBFS");
                ui.label(format!("{:.1} dB SPL", r.emulated.spl_full_scale_db));
                ui.end_row();
                ui.label("Your chain, 0 dBFS");
                ui.label(format!(
                    "{:.1} dB SPL ({:.2} Vrms at your source)",
                    r.your_spl_db, r.your_full_scale_vrms
                ));
                ui.end_row();
                ui.label("Emulated hiss");
                ui.label(if r.emulated.noise_spl_db.is_finite() {
                    format!("{:.1} dB(A) SPL", r.emulated.noise_spl_db)
                } else {
                    "none".to_owned()
                });
                ui.end_row();
                ui.label("Your noise floor");
                ui.label(
                    r.your_noise_spl_db
                        .map_or("not given".to_owned(), |n| format!("{n:.1} dB(A) SPL")),
                );
                ui.end_row();
                ui.label("Limiter now");
                ui.label(if self.limiter_db > 0.005 {
                    format!("−{:.1} dB", self.limiter_db)
                } else {
                    "idle".to_owned()
                });
                ui.end_row();
            });
        let calibrated = s.level_mode() == LevelMode::Calibrated;
        if r.over_full_scale_db > 0.0 {
            ui.colored_label(
                if calibrated {
                    colour::WARN
                } else {
                    ui.visuals().weak_text_color()
                },
                format!(
                    "{} The emulated source plays {:.1} dB louder than your chain's full scale: \
                     inputs above {:.1} dBFS are limited{}.",
                    if calibrated { "!" } else { "·" },
                    r.over_full_scale_db,
                    -r.over_full_scale_db,
                    if calibrated { "" } else { " in calibrated SPL" }
                ),
            );
        } else {
            ui.label(format!(
                "A 0 dBFS input stays {:.1} dB under your chain's full scale.",
                -r.over_full_scale_db
            ));
        }
        if r.hiss_below_yours() {
            ui.colored_label(
                colour::WARN,
                format!(
                    "! The emulated hiss ({:.1} dB(A) SPL) lies below your chain's own noise \
                     ({:.1} dB(A) SPL): you cannot hear it through your chain.",
                    r.emulated.noise_spl_db,
                    r.your_noise_spl_db.unwrap_or(f64::NAN)
                ),
            );
        } else if r.emulated.noise_spl_db > super::load::AUDIBLE_HISS_DB_SPL {
            ui.label(format!(
                "The emulated hiss ({:.1} dB(A) SPL) is above the threshold of hearing{}.",
                r.emulated.noise_spl_db,
                if calibrated {
                    ", and plays at that level"
                } else {
                    "; calibrated SPL plays it at that level"
                }
            ));
        }
        if !calibrated {
            ui.label(
                RichText::new(
                    "Choose \"Calibrated SPL\" to hear these levels; level-matched stays the \
                     default for A/B.",
                )
                .small()
                .weak(),
            );
        }
    }
}
