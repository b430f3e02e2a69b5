//! Compare panel: level-matched A/B between the chosen voicing (A) and a reference (B:
//! "Ideal" or a second voicing), and a blind ABX test with its score and p-value.
//!
//! The audio thread runs the reference beside the main engine only while comparing
//! (`sourcery_dsp::compare::Comparator`: time-aligned, the reference's 1 kHz level matched
//! to A's, 10 ms crossfades); this panel only flips atomics in [`Shared`].

use egui::{vec2, RichText};
use sourcery_dsp::params::DEVICE_LABELS;
use sourcery_dsp::presets::DeviceSlot;

use super::abx::Abx;
use super::widgets::{colour, MeterDisplay};
use super::{format_dbfs, Ctl};
use crate::shared::Shared;

/// What the listener hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    A,
    B,
    X,
}

pub(super) struct CompareState {
    /// A/B comparison switched on.
    pub active: bool,
    pub listen: Listen,
    /// Trials of the next ABX session.
    pub trials: usize,
    pub abx: Option<Abx>,
    /// The (A, B) devices the running session compares.
    abx_devices: Option<(DeviceSlot, DeviceSlot)>,
    /// Why the last session was abandoned, if it was.
    abx_note: Option<String>,
}

impl Default for CompareState {
    fn default() -> Self {
        Self {
            active: false,
            listen: Listen::A,
            trials: 16,
            abx: None,
            abx_devices: None,
            abx_note: None,
        }
    }
}

impl CompareState {
    /// Whether a blind session is in progress.
    pub fn abx_running(&self) -> bool {
        self.abx.as_ref().is_some_and(|a| !a.is_done())
    }

    /// Whether the reference must run, and whether it is what plays.
    pub fn routing(&self) -> (bool, bool) {
        let abx_running = self.abx.as_ref().is_some_and(|a| !a.is_done());
        let active = self.active || abx_running;
        let reference = match self.listen {
            Listen::A => false,
            Listen::B => true,
            Listen::X => self.abx.as_ref().and_then(Abx::x_is_b).unwrap_or(false),
        };
        (active, active && reference)
    }

    fn route(&self, shared: &Shared) {
        let (active, reference) = self.routing();
        shared.set_compare_active(active);
        shared.set_play_reference(reference);
    }

    /// The window closed: play the chosen voicing alone.
    pub fn stop(&mut self, shared: &Shared) {
        shared.set_compare_active(false);
        shared.set_play_reference(false);
    }

    /// Start an ABX session of `self.trials` trials drawn from `seed` (the clock if `None`).
    pub fn start_abx(&mut self, seed: Option<u64>) {
        self.abx_devices = None;
        self.abx_note = None;
        self.abx = Some(match seed {
            Some(seed) => Abx::new(self.trials, seed),
            None => Abx::from_clock(self.trials),
        });
        self.listen = Listen::X;
    }

    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        shared: &Shared,
        output: &MeterDisplay,
    ) {
        let device = ctl.settings.device;
        let reference = shared.reference_device();
        let a_name = DEVICE_LABELS.get(device.0).copied().unwrap_or("?");
        let b_name = DEVICE_LABELS.get(reference.0).copied().unwrap_or("?");
        // A session compares fixed devices: a change of either ends it.
        if self.abx_running() {
            match self.abx_devices {
                None => self.abx_devices = Some((device, reference)),
                Some(pair) if pair != (device, reference) => {
                    self.abx = None;
                    self.abx_devices = None;
                    self.listen = Listen::A;
                    self.abx_note =
                        Some("The ABX session was abandoned: A or B changed during it.".to_owned());
                }
                Some(_) => {}
            }
        }
        let abx_running = self.abx_running();

        ui.heading("A/B");
        ui.horizontal(|ui| {
            ui.add_enabled_ui(!abx_running, |ui| {
                ui.checkbox(&mut self.active, "Compare A/B");
            });
            ui.label("Reference (B):");
            ui.add_enabled_ui(!abx_running, |ui| {
                let combo = egui::ComboBox::from_id_salt("reference-device")
                    .selected_text(b_name)
                    .width(200.0)
                    .show_ui(ui, |ui| {
                        for (i, label) in DEVICE_LABELS.iter().enumerate() {
                            if ui.selectable_label(reference.0 == i, *label).clicked() {
                                shared.set_reference_device(DeviceSlot(i));
                            }
                        }
                    })
                    .response;
                super::name_widget(&combo, egui::Role::ComboBox, "Reference device");
            });
        });
        ui.add_enabled_ui(self.active && !abx_running, |ui| {
            ui.horizontal(|ui| {
                let big = |t: &str| RichText::new(t.to_owned()).size(22.0).strong();
                if ui
                    .add_sized(
                        vec2(150.0, 48.0),
                        egui::Button::selectable(self.listen == Listen::A, big("A")),
                    )
                    .on_hover_text(a_name)
                    .clicked()
                {
                    self.listen = Listen::A;
                }
                if ui
                    .add_sized(
                        vec2(150.0, 48.0),
                        egui::Button::selectable(self.listen == Listen::B, big("B")),
                    )
                    .on_hover_text(b_name)
                    .clicked()
                {
                    self.listen = Listen::B;
                }
                ui.vertical(|ui| {
                    ui.label(format!("A: {a_name}"));
                    ui.label(format!("B: {b_name}"));
                    ui.label(
                        RichText::new(format!(
                            "B's level matched to A at 1 kHz ({:+.2} dB); both time-aligned",
                            shared.reference_gain_db()
                        ))
                        .small()
                        .weak(),
                    );
                });
            });
        });
        if !abx_running {
            ui.label(
                RichText::new(format!(
                    "Output now: peak {} dBFS, RMS {} dBFS",
                    format_dbfs(output.hold[0].max(output.hold[1])),
                    format_dbfs(output.rms[0].max(output.rms[1]))
                ))
                .small(),
            );
        }
        ui.separator();

        ui.heading("Blind ABX");
        if let Some(note) = &self.abx_note {
            ui.colored_label(colour::WARN, note);
        }
        match &mut self.abx {
            None => {
                self.abx_setup(ui, a_name, b_name);
            }
            Some(abx) if !abx.is_done() => {
                let trial = abx.current().unwrap_or(0);
                ui.label(format!(
                    "Trial {} of {} — X is A or B. Listen as often as you like, then answer.",
                    trial + 1,
                    abx.trials()
                ));
                ui.horizontal(|ui| {
                    for (listen, text) in [
                        (Listen::A, "Play A"),
                        (Listen::B, "Play B"),
                        (Listen::X, "Play X"),
                    ] {
                        if ui
                            .add_sized(
                                vec2(110.0, 36.0),
                                egui::Button::selectable(self.listen == listen, text),
                            )
                            .clicked()
                        {
                            self.listen = listen;
                        }
                    }
                });
                ui.horizontal(|ui| {
                    let mut answered = false;
                    if ui
                        .add_sized(vec2(170.0, 36.0), egui::Button::new("X is A"))
                        .clicked()
                    {
                        abx.answer(false);
                        answered = true;
                    }
                    if ui
                        .add_sized(vec2(170.0, 36.0), egui::Button::new("X is B"))
                        .clicked()
                    {
                        abx.answer(true);
                        answered = true;
                    }
                    if answered {
                        // The next trial starts on X; after the last one, back to A.
                        self.listen = if abx.is_done() { Listen::A } else { Listen::X };
                    }
                });
                ui.label(format!("Answered {} of {}", abx.answered(), abx.trials()));
                if ui.button("Abandon").clicked() {
                    self.abx = None;
                    self.listen = Listen::A;
                }
            }
            Some(abx) => {
                let (k, n, p) = (abx.correct(), abx.answered(), abx.p_value());
                ui.label(
                    RichText::new(format!("Score: {k} / {n}"))
                        .size(20.0)
                        .strong(),
                );
                let verdict = if p < 0.05 {
                    (
                        colour::OK,
                        format!("p = {p:.4}: you heard a difference (p < 0.05)."),
                    )
                } else {
                    (
                        colour::GRID_TEXT,
                        format!("p = {p:.4}: not distinguishable from guessing (p ≥ 0.05)."),
                    )
                };
                ui.colored_label(verdict.0, verdict.1);
                ui.label(
                    RichText::new("p: the chance of scoring at least this well by guessing.")
                        .small()
                        .weak(),
                );
                let history: String = abx
                    .history()
                    .map(|(x, a)| match (x, a == x) {
                        (true, true) => "B+ ",
                        (true, false) => "B- ",
                        (false, true) => "A+ ",
                        (false, false) => "A- ",
                    })
                    .collect();
                ui.label(RichText::new(format!("X was (+ right, - wrong): {history}")).monospace());
                if ui.button("New session").clicked() {
                    self.abx = None;
                    self.listen = Listen::A;
                }
            }
        }
        self.route(shared);
    }

    fn abx_setup(&mut self, ui: &mut egui::Ui, a_name: &str, b_name: &str) {
        ui.label(format!(
            "A = {a_name}, B = {b_name}. X is one of them, drawn at random per trial."
        ));
        ui.horizontal(|ui| {
            ui.label("Trials");
            let trials = ui.add(egui::DragValue::new(&mut self.trials).range(5..=100));
            super::name_widget(&trials, egui::Role::SpinButton, "Trials");
            if ui.button("Start ABX").clicked() {
                self.start_abx(None);
            }
        });
    }
}
