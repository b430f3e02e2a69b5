//! Load panel: the headphone picker (searchable; factory and user presets), imports of an
//! impedance curve and of an AutoEQ profile, plots of |Z_L(f)| and of the frequency-response
//! change the output impedance makes on it, and what the setting means at the ear.

use egui::{RichText, Sense, Stroke};
use sourcery_dsp::load::{divider, drive, Complex64};
use sourcery_dsp::params::HEADPHONE_LABELS;
use sourcery_dsp::presets::{Catalogue, HeadphoneSlot};
use sourcery_dsp::settings::headphone_preset_values;
use sourcery_dsp::ParamId;

use super::files::FileField;
use super::widgets::{self, colour, MeterDisplay};
use super::Ctl;
use crate::params::SourceryParams;

/// Hiss above this SPL (dB(A)) is called audible: the threshold of hearing near 1–4 kHz
/// is about 0 dB SPL.
pub const AUDIBLE_HISS_DB_SPL: f64 = 0.0;

#[derive(Default)]
pub(super) struct LoadState {
    pub search: String,
    pub curve_file: FileField,
    pub peq_file: FileField,
    plot: Option<Plot>,
}

/// The plotted curves and what they were computed for.
struct Plot {
    key: PlotKey,
    /// |Z_L| (Ω) at log-spaced frequencies.
    z: Vec<(f64, f64)>,
    /// The emulated source's divider `Z_L/(Z_L + Z_out)` re 1 kHz (dB).
    deviation: Vec<(f64, f64)>,
    /// Your source's divider `Z_L/(Z_L + Z_yours)` re 1 kHz (dB).
    yours: Vec<(f64, f64)>,
    /// What the load stage applies: `(Z_L + Z_yours)/(Z_L + Z_out)` re 1 kHz (dB).
    compensation: Vec<(f64, f64)>,
}

/// What the plotted curves depend on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlotKey {
    headphone: HeadphoneSlot,
    load_ohms: f32,
    z_out: f64,
    your_z_out: f64,
    generation: u64,
}

impl LoadState {
    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        params: &SourceryParams,
        input: &MeterDisplay,
        status: &mut String,
    ) {
        let s = ctl.settings;
        let catalogue = Catalogue::active();
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.strong("Headphone");
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .id_salt("headphone-search")
                    .hint_text("search…"),
            );
            let needle = self.search.trim().to_lowercase();
            egui::ScrollArea::vertical()
                .id_salt("headphone-list")
                .max_height(200.0)
                .show(ui, |ui| {
                    for (i, label) in HEADPHONE_LABELS.iter().enumerate() {
                        let slot = HeadphoneSlot(i);
                        let detail = catalogue.headphone(slot).map(|h| {
                            let z = h
                                .nominal_ohms
                                .map_or(String::new(), |z| format!("{z:.0} Ω"));
                            (h.name.clone(), format!("{} {z}", h.drivers))
                        });
                        let name = detail.as_ref().map_or(label.to_string(), |d| d.0.clone());
                        let hay = format!(
                            "{} {}",
                            name.to_lowercase(),
                            detail.as_ref().map_or("", |d| d.1.as_str()).to_lowercase()
                        );
                        if !needle.is_empty() && !hay.contains(&needle) {
                            continue;
                        }
                        let response = ui.selectable_label(s.headphone == slot, &name);
                        let response = match &detail {
                            Some(d) => response.on_hover_text(&d.1),
                            None => response,
                        };
                        if response.clicked() && s.headphone != slot {
                            ctl.set(ParamId::Headphone, i as f32);
                        }
                    }
                    // User files beyond the host's list: shown, not selectable (see README).
                    for h in catalogue
                        .headphones()
                        .iter()
                        .filter(|h| h.slot >= HEADPHONE_LABELS.len())
                    {
                        ui.add_enabled(false, egui::Button::selectable(false, h.name.as_str()))
                            .on_disabled_hover_text(
                                "A user preset with a new slot: the host's list is fixed when \
                                 the plugin loads. Give the file a factory slot to replace one.",
                            );
                    }
                });
            ui.horizontal(|ui| {
                if ui
                    .button("Load its PEQ preset")
                    .on_hover_text(
                        "Sets the headphone and its own PEQ (e.g. AutoEQ), or a flat PEQ",
                    )
                    .clicked()
                {
                    *status = match headphone_preset_values(catalogue, s.headphone) {
                        Some(values) => {
                            for (id, value) in values {
                                ctl.set(id, value);
                            }
                            format!("Loaded the preset of {}.", HEADPHONE_LABELS[s.headphone.0])
                        }
                        None => "Resistive and Custom have no preset.".to_owned(),
                    };
                }
                if s.headphone == HeadphoneSlot::RESISTIVE {
                    ui.label("R");
                    ctl.slider(ui, ParamId::LoadOhms, 1);
                }
            });
            if let Some(h) = catalogue.headphone(s.headphone) {
                ui.label(
                    RichText::new(format!(
                        "{}{}",
                        h.figures,
                        if h.modelled {
                            " · impedance modelled, not measured"
                        } else {
                            ""
                        }
                    ))
                    .small()
                    .weak(),
                );
            }
            ui.add_space(6.0);
            ui.strong("Import an impedance curve (REW .zma, CSV)");
            if self
                .curve_file
                .show(ui, "curve-file", &["zma", "csv", "txt"], "Import")
            {
                let path = std::path::PathBuf::from(self.curve_file.path.trim());
                *status = match params.custom_load.import_file(&path) {
                    Ok(()) => {
                        ctl.set(ParamId::Headphone, HeadphoneSlot::CUSTOM.0 as f32);
                        format!(
                            "Imported {}; playing it as \"Custom (imported)\".",
                            path.display()
                        )
                    }
                    Err(e) => e.to_string(),
                };
            }
            ui.strong("Import an AutoEQ / EqualizerAPO profile");
            if self.peq_file.show(ui, "autoeq-file", &["txt"], "Import") {
                let path = std::path::PathBuf::from(self.peq_file.path.trim());
                *status = super::peq::import_apo(ctl, &path);
            }
            ui.add_space(6.0);
            self.readouts(ui, ctl, input, params.shared.sample_rate());

            let ui = &mut cols[1];
            self.plots(ui, ctl, params);
        });
    }

    fn readouts(&self, ui: &mut egui::Ui, ctl: &Ctl, input: &MeterDisplay, rate: f32) {
        let s = ctl.settings;
        ui.strong("At the ear");
        let Some(r) = s.spl_report(Catalogue::active()) else {
            ui.label(RichText::new("No published sensitivity for this load: no SPL.").weak());
            return;
        };
        egui::Grid::new("spl-grid")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                ui.label("SPL of a 0 dBFS sine");
                ui.label(format!("{:.1} dB SPL", r.spl_full_scale_db));
                ui.end_row();
                ui.label("Hiss");
                ui.label(if r.noise_spl_db.is_finite() {
                    format!("{:.1} dB(A) SPL", r.noise_spl_db)
                } else {
                    "none".to_owned()
                });
                ui.end_row();
                ui.label("Clip headroom");
                ui.label(if r.headroom_db.is_finite() {
                    format!("{:+.1} dB re 0 dBFS", r.headroom_db)
                } else {
                    "no limit".to_owned()
                });
                ui.end_row();
                ui.label("Loudest clean SPL");
                ui.label(format!("{:.1} dB SPL", r.max_spl_db));
                ui.end_row();
            });
        if r.noise_spl_db > AUDIBLE_HISS_DB_SPL {
            ui.colored_label(
                colour::WARN,
                format!(
                    "! Audible hiss: {:.1} dB(A) SPL is above the threshold of hearing.",
                    r.noise_spl_db
                ),
            );
        }
        if r.headroom_db < 0.0 {
            ui.colored_label(
                colour::WARN,
                format!(
                    "! The amp clips {:.1} dB below full scale at this gain and volume.",
                    -r.headroom_db
                ),
            );
        }
        // The amp sees the input after the PEQ (preamp and boosts included).
        let input_peak = input.hold[0].max(input.hold[1]);
        let peq_db = super::peq::max_gain_db(&s.peq, f64::from(rate));
        let peak_db = f64::from(widgets::db(input_peak)) + peq_db;
        if r.headroom_db.is_finite() && input_peak > 0.0 && peak_db > r.headroom_db {
            ui.colored_label(
                colour::CLIP,
                format!(
                    "! Clipping now: the signal reaches {peak_db:+.1} dBFS after the PEQ \
                     ({peq_db:+.1} dB at most), above the amp's {:+.1} dBFS.",
                    r.headroom_db
                ),
            );
        }
    }

    fn plots(&mut self, ui: &mut egui::Ui, ctl: &Ctl, params: &SourceryParams) {
        let s = ctl.settings;
        let key = PlotKey {
            headphone: s.headphone,
            load_ohms: s.load_ohms,
            z_out: s.z_out_ohms(Catalogue::active()),
            your_z_out: s.your_z_out_ohms(Catalogue::active()),
            generation: params.custom_load.generation(),
        };
        if self.plot.as_ref().map(|p| p.key) != Some(key) {
            // The load the engine drives (resolved as the rebuild worker resolves it).
            let config = s
                .chain_request(params.custom_load.generation())
                .resolve(Catalogue::active(), &params.custom_load);
            let Some(load) = config.load.map(|l| l.load) else {
                return;
            };
            let freqs = widgets::log_freqs(20.0, 20_000.0, 240);
            let z: Vec<(f64, f64)> = freqs
                .iter()
                .map(|&f| (f, load.impedance(f).norm()))
                .collect();
            let curve = |h: &dyn Fn(f64) -> Complex64| -> Vec<(f64, f64)> {
                let h_1k = h(1000.0).norm();
                freqs
                    .iter()
                    .map(|&f| (f, 20.0 * (h(f).norm() / h_1k).log10()))
                    .collect()
            };
            let deviation = curve(&|f| divider(load.impedance(f), key.z_out));
            let yours = curve(&|f| divider(load.impedance(f), key.your_z_out));
            let compensation = curve(&|f| drive(load.impedance(f), key.z_out, key.your_z_out));
            self.plot = Some(Plot {
                key,
                z,
                deviation,
                yours,
                compensation,
            });
        }
        let Some(Plot {
            key,
            z,
            deviation: dev,
            yours,
            compensation,
        }) = &self.plot
        else {
            return;
        };
        let through_yours = key.your_z_out > 0.0;
        ui.strong("|Z_L(f)|");
        let z_min = z.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let z_max = z.iter().map(|p| p.1).fold(0.0, f64::max);
        let lo = 10f64.powf((z_min * 0.8).max(0.5).log10().floor());
        let hi = 10f64.powf((z_max * 1.25).log10().ceil());
        let (_, axis) = widgets::graph(ui, 190.0, Sense::hover(), (20.0, 20_000.0), (lo, hi), true);
        let mut ticks = Vec::new();
        let mut d = lo;
        while d <= hi * 1.001 {
            ticks.extend([d, 2.0 * d, 5.0 * d]);
            d *= 10.0;
        }
        ticks.retain(|&t| t <= hi * 1.001);
        axis.draw_grid(ui, &ticks, "Ω");
        axis.draw_curve(ui, z, Stroke::new(2.0, colour::CURVE));
        ui.add_space(4.0);
        ui.strong(if through_yours {
            format!(
                "Z_out {:.2} Ω emulated, {:.2} Ω yours (dB re 1 kHz)",
                key.z_out, key.your_z_out
            )
        } else {
            format!(
                "Response change from Z_out = {:.2} Ω (dB re 1 kHz)",
                key.z_out
            )
        });
        let all = dev
            .iter()
            .chain(if through_yours {
                yours.iter()
            } else {
                [].iter()
            })
            .chain(if through_yours {
                compensation.iter()
            } else {
                [].iter()
            });
        let worst = all.map(|p| p.1.abs()).fold(0.0, f64::max);
        let span = if worst < 0.5 {
            0.5
        } else if worst < 1.0 {
            1.0
        } else if worst < 3.0 {
            3.0
        } else {
            (worst * 1.2).ceil()
        };
        let (_, axis) = widgets::graph(
            ui,
            170.0,
            Sense::hover(),
            (20.0, 20_000.0),
            (-span, span),
            false,
        );
        let step = span / 2.0;
        axis.draw_grid(ui, &[-span, -step, 0.0, step, span], "");
        if through_yours {
            axis.draw_curve(ui, yours, Stroke::new(1.5, colour::WARN));
            axis.draw_curve(ui, compensation, Stroke::new(2.0, colour::CURVE));
        }
        axis.draw_curve(ui, dev, Stroke::new(2.0, colour::CURVE_B));
        let largest = |v: &[(f64, f64)]| v.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
        let text = if through_yours {
            format!(
                "blue: emulated Z_L/(Z_L+Z_out) (±{:.2} dB) · red: yours Z_L/(Z_L+Z_yours) \
                 (±{:.2} dB) · orange: what the load stage applies, (Z_L+Z_yours)/(Z_L+Z_out) \
                 (±{:.2} dB)",
                largest(dev),
                largest(yours),
                largest(compensation)
            )
        } else {
            format!("20·log10|Z_L/(Z_L+Z_out)| re 1 kHz; largest change {worst:.2} dB")
        };
        ui.label(RichText::new(text).small().weak());
    }
}
