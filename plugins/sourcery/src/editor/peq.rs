//! PEQ panel: the ten bands as a curve editor (drag a node for frequency and gain, wheel for
//! Q, double-click to switch a band) and as a table; AutoEQ/EqualizerAPO import and export.
//! The curves are `PeqSettings::response`, the function the DSP tests check the filters
//! against.

use egui::{pos2, vec2, Align2, Color32, FontId, RichText, Sense, Stroke};
use sourcery_dsp::params::BandField;
use sourcery_dsp::peq::{PeqSettings, BANDS};
use sourcery_dsp::settings::peq_values;
use sourcery_dsp::ParamId;

use super::files::FileField;
use super::widgets::{self, colour, FreqAxis};
use super::Ctl;

/// Frequency span of the curve editor (Hz).
pub const GRAPH_HZ: (f64, f64) = (20.0, 20_000.0);
/// Gain span of the curve editor (dB).
pub const GRAPH_DB: (f64, f64) = (-18.0, 18.0);
/// How close (px) the pointer must be to a node to grab it.
pub const GRAB_RADIUS: f32 = 14.0;
/// Q factor per wheel notch (50 px of scroll).
const Q_PER_NOTCH: f64 = 1.12;

/// Read an AutoEQ / EqualizerAPO `ParametricEQ.txt` into PEQ settings (errors name the file
/// and line).
pub fn read_apo(path: &std::path::Path) -> Result<PeqSettings, String> {
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

/// Import an AutoEQ/EqualizerAPO file into the PEQ parameters; the message to show.
pub(super) fn import_apo(ctl: &Ctl, path: &std::path::Path) -> String {
    match read_apo(path) {
        Ok(peq) => {
            for (id, value) in peq_values(&peq) {
                ctl.set(id, value);
            }
            format!("PEQ imported from {}", path.display())
        }
        Err(e) => e,
    }
}

/// The PEQ's largest gain over 20 Hz–20 kHz (preamp included; 0 dB when off).
pub fn max_gain_db(peq: &PeqSettings, rate: f64) -> f64 {
    if !peq.on {
        return 0.0;
    }
    widgets::log_freqs(20.0, 20_000.0f64.min(0.499 * rate), 121)
        .into_iter()
        .map(|f| 20.0 * peq.response(f, rate).norm().log10())
        .fold(f64::NEG_INFINITY, f64::max)
}

#[derive(Default)]
pub(super) struct PeqState {
    /// The band being dragged and its latest (freq, gain).
    dragging: Option<(usize, f64, f64)>,
    pub import: FileField,
    pub export: FileField,
    /// The last graph's coordinates (tests use them to find the nodes).
    pub axis: Option<FreqAxis>,
}

/// Where band `b`'s node sits: its frequency, and its gain (0 dB for types without gain).
pub fn node_value(peq: &PeqSettings, b: usize) -> (f64, f64) {
    let band = &peq.bands[b];
    let gain = if band.kind.has_gain() {
        band.gain_db
    } else {
        0.0
    };
    (band.freq_hz, gain.clamp(GRAPH_DB.0, GRAPH_DB.1))
}

impl PeqState {
    /// Forget a drag in progress (the window closed; its gestures are ended by the caller).
    pub fn drag_ended(&mut self) {
        self.dragging = None;
    }

    pub(super) fn show(&mut self, ui: &mut egui::Ui, ctl: &Ctl, rate: f32, status: &mut String) {
        let mut peq = ctl.settings.peq;
        let rate = f64::from(rate);
        ui.horizontal(|ui| {
            ctl.toggle(ui, ParamId::PeqOn, "PEQ on");
            ui.separator();
            ui.label("Design");
            ctl.choice(ui, ParamId::PeqDesign);
            ui.separator();
            ui.label("Preamp");
            ctl.slider(ui, ParamId::PeqPreamp, 1);
        });
        // While dragging, draw the node where the pointer is (the parameter follows).
        if let Some((b, f, g)) = self.dragging {
            peq.bands[b].freq_hz = f;
            if peq.bands[b].kind.has_gain() {
                peq.bands[b].gain_db = g;
            }
        }
        self.curve(ui, ctl, &peq, rate);
        ui.label(
            RichText::new(
                "Drag a node: frequency and gain · wheel over a node: Q · double-click: band on/off",
            )
            .small()
            .weak(),
        );
        ui.add_space(4.0);
        table(ui, ctl);
        ui.add_space(6.0);
        ui.strong("Import AutoEQ / EqualizerAPO (ParametricEQ.txt)");
        if self.import.show(ui, "peq-import", &["txt"], "Import") {
            let path = std::path::PathBuf::from(self.import.path.trim());
            *status = import_apo(ctl, &path);
        }
        ui.strong("Export as EqualizerAPO text");
        if self.export.show(ui, "peq-export", &["txt"], "Export") {
            let path = std::path::PathBuf::from(self.export.path.trim());
            *status = match std::fs::write(&path, sourcery_dsp::peq::to_apo(&ctl.settings.peq)) {
                Ok(()) => format!("PEQ exported to {}", path.display()),
                Err(e) => format!("{}: {e}", path.display()),
            };
        }
    }

    fn curve(&mut self, ui: &mut egui::Ui, ctl: &Ctl, peq: &PeqSettings, rate: f64) {
        let (response, axis) = widgets::graph(
            ui,
            300.0,
            Sense::click_and_drag(),
            GRAPH_HZ,
            GRAPH_DB,
            false,
        );
        self.axis = Some(axis);
        axis.draw_grid(ui, &[-18.0, -12.0, -6.0, 0.0, 6.0, 12.0, 18.0], "");
        let freqs = widgets::log_freqs(GRAPH_HZ.0, GRAPH_HZ.1.min(0.499 * rate), 300);
        // Each active band alone, faint; the sum (preamp included) bold.
        for b in 0..BANDS {
            if !peq.bands[b].on {
                continue;
            }
            let mut alone = PeqSettings {
                preamp_db: 0.0,
                ..*peq
            };
            for (i, band) in alone.bands.iter_mut().enumerate() {
                band.on = i == b;
            }
            let points: Vec<(f64, f64)> = freqs
                .iter()
                .map(|&f| (f, 20.0 * alone.response(f, rate).norm().log10()))
                .collect();
            axis.draw_curve(ui, &points, Stroke::new(1.0, colour::BAND));
        }
        let sum: Vec<(f64, f64)> = freqs
            .iter()
            .map(|&f| (f, 20.0 * peq.response(f, rate).norm().log10()))
            .collect();
        axis.draw_curve(ui, &sum, Stroke::new(2.5, colour::CURVE));

        // Interaction.
        let nearest = |pos: egui::Pos2| -> Option<usize> {
            (0..BANDS)
                .map(|b| {
                    let (f, g) = node_value(peq, b);
                    (b, axis.point(f, g).distance(pos))
                })
                .filter(|&(_, d)| d <= GRAB_RADIUS)
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(b, _)| b)
        };
        if response.drag_started() {
            let origin = ui.input(|i| i.pointer.press_origin());
            if let Some(b) = origin.and_then(nearest) {
                let (f, g) = node_value(peq, b);
                ctl.begin(ParamId::band(b, BandField::Freq));
                ctl.begin(ParamId::band(b, BandField::Gain));
                self.dragging = Some((b, f, g));
            }
        }
        if let Some((b, _, _)) = self.dragging {
            if let Some(pos) = response.interact_pointer_pos() {
                let pos = axis.rect.clamp(pos);
                let f = axis.freq(pos.x).clamp(GRAPH_HZ.0, GRAPH_HZ.1);
                let g = axis.value(pos.y).clamp(GRAPH_DB.0, GRAPH_DB.1);
                let (f, g) = (round_sig(f, 3), (g * 10.0).round() / 10.0);
                ctl.set_in_gesture(ParamId::band(b, BandField::Freq), f as f32);
                if peq.bands[b].kind.has_gain() {
                    ctl.set_in_gesture(ParamId::band(b, BandField::Gain), g as f32);
                }
                self.dragging = Some((b, f, g));
            }
            if response.drag_stopped() || !response.dragged() && !response.drag_started() {
                ctl.end(ParamId::band(b, BandField::Freq));
                ctl.end(ParamId::band(b, BandField::Gain));
                self.dragging = None;
            }
        }
        if response.double_clicked() {
            let pos = response.interact_pointer_pos().or(response.hover_pos());
            if let Some(b) = pos.and_then(nearest) {
                ctl.set(
                    ParamId::band(b, BandField::On),
                    if peq.bands[b].on { 0.0 } else { 1.0 },
                );
            }
        }
        if response.hovered() {
            let scroll = ui.input(|i| i.smooth_scroll_delta.y);
            if scroll != 0.0 {
                if let Some(b) = response.hover_pos().and_then(nearest) {
                    // The wheel is for Q here, not for scrolling the panel.
                    ui.input_mut(|i| i.smooth_scroll_delta.y = 0.0);
                    let q = f64::from(ctl.get(ParamId::band(b, BandField::Q)));
                    let new = q * Q_PER_NOTCH.powf(f64::from(scroll) / 50.0);
                    ctl.set(ParamId::band(b, BandField::Q), new as f32);
                }
            }
        }

        // Nodes on top.
        let painter = ui.painter_at(axis.rect.expand(GRAB_RADIUS));
        for b in 0..BANDS {
            let (f, g) = node_value(peq, b);
            let p = axis.point(f, g);
            let on = peq.bands[b].on;
            let hot = self.dragging.map(|d| d.0) == Some(b);
            painter.circle(
                p,
                if hot { 9.0 } else { 7.5 },
                if on { colour::NODE } else { colour::NODE_OFF },
                Stroke::new(1.5, if hot { Color32::WHITE } else { Color32::BLACK }),
            );
            painter.text(
                p,
                Align2::CENTER_CENTER,
                format!("{}", b + 1),
                FontId::proportional(10.0),
                Color32::BLACK,
            );
        }
        if let Some(pos) = response.hover_pos() {
            if axis.rect.contains(pos) {
                painter.text(
                    pos2(axis.rect.right() - 6.0, axis.rect.top() + 6.0),
                    Align2::RIGHT_TOP,
                    format!("{:.0} Hz  {:+.1} dB", axis.freq(pos.x), axis.value(pos.y)),
                    FontId::monospace(11.0),
                    colour::GRID_TEXT,
                );
            }
        }
    }
}

/// The ten bands as a table.
fn table(ui: &mut egui::Ui, ctl: &Ctl) {
    egui::Grid::new("peq-table")
        .num_columns(6)
        .striped(true)
        .spacing(vec2(14.0, 4.0))
        .show(ui, |ui| {
            for head in ["Band", "On", "Type", "Frequency", "Gain", "Q"] {
                ui.strong(head);
            }
            ui.end_row();
            for b in 0..BANDS {
                ui.label(format!("{}", b + 1));
                let mut on = ctl.values.get_bool(ParamId::band(b, BandField::On));
                let check = ui.checkbox(&mut on, "");
                check.widget_info(|| {
                    egui::WidgetInfo::selected(
                        egui::Role::CheckBox,
                        true,
                        on,
                        ParamId::band(b, BandField::On).spec().name,
                    )
                });
                if check.changed() {
                    ctl.set(ParamId::band(b, BandField::On), f32::from(u8::from(on)));
                }
                ctl.combo_width(ui, ParamId::band(b, BandField::Type), 120.0);
                let f = ctl.get(ParamId::band(b, BandField::Freq));
                ctl.drag_value(
                    ui,
                    ParamId::band(b, BandField::Freq),
                    f64::from(f) * 0.005,
                    0,
                );
                ctl.drag_value(ui, ParamId::band(b, BandField::Gain), 0.05, 1);
                ctl.drag_value(ui, ParamId::band(b, BandField::Q), 0.01, 2);
                ui.end_row();
            }
        });
}

/// `x` rounded to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x <= 0.0 {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.log10().floor() as i32);
    (x * scale).round() / scale
}
