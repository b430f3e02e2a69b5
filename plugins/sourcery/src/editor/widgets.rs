//! Drawing helpers shared by the panels: a log-frequency graph, a knob and a level meter.

use egui::{pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Response, Sense, Stroke, Ui};

/// Colours of the editor.
pub mod colour {
    use egui::Color32;
    pub const GRID: Color32 = Color32::from_gray(60);
    pub const GRID_TEXT: Color32 = Color32::from_gray(150);
    pub const BACKGROUND: Color32 = Color32::from_gray(22);
    pub const CURVE: Color32 = Color32::from_rgb(255, 176, 59);
    pub const CURVE_B: Color32 = Color32::from_rgb(92, 186, 255);
    pub const BAND: Color32 = Color32::from_rgba_premultiplied(120, 120, 120, 120);
    pub const NODE: Color32 = Color32::from_rgb(255, 210, 120);
    pub const NODE_OFF: Color32 = Color32::from_gray(100);
    pub const WARN: Color32 = Color32::from_rgb(255, 120, 80);
    pub const OK: Color32 = Color32::from_rgb(120, 210, 120);
    pub const METER: Color32 = Color32::from_rgb(90, 200, 120);
    pub const METER_HOT: Color32 = Color32::from_rgb(240, 200, 70);
    pub const CLIP: Color32 = Color32::from_rgb(240, 60, 50);
}

/// A graph's coordinates: log frequency across, a linear or log value up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreqAxis {
    pub rect: Rect,
    pub f_lo: f64,
    pub f_hi: f64,
    pub y_lo: f64,
    pub y_hi: f64,
    pub log_y: bool,
}

impl FreqAxis {
    fn yv(&self, v: f64) -> f64 {
        if self.log_y {
            v.max(1e-12).log10()
        } else {
            v
        }
    }

    /// Screen x of a frequency.
    pub fn x(&self, freq_hz: f64) -> f32 {
        let t = (freq_hz.max(1e-3) / self.f_lo).ln() / (self.f_hi / self.f_lo).ln();
        self.rect.left() + (t as f32) * self.rect.width()
    }

    /// Frequency at screen x.
    pub fn freq(&self, x: f32) -> f64 {
        let t = f64::from((x - self.rect.left()) / self.rect.width());
        self.f_lo * (self.f_hi / self.f_lo).powf(t)
    }

    /// Screen y of a value.
    pub fn y(&self, v: f64) -> f32 {
        let (lo, hi) = (self.yv(self.y_lo), self.yv(self.y_hi));
        let t = (self.yv(v) - lo) / (hi - lo);
        self.rect.bottom() - (t as f32) * self.rect.height()
    }

    /// Value at screen y.
    pub fn value(&self, y: f32) -> f64 {
        let (lo, hi) = (self.yv(self.y_lo), self.yv(self.y_hi));
        let t = f64::from((self.rect.bottom() - y) / self.rect.height());
        let v = lo + t * (hi - lo);
        if self.log_y {
            10f64.powf(v)
        } else {
            v
        }
    }

    pub fn point(&self, freq_hz: f64, v: f64) -> Pos2 {
        pos2(self.x(freq_hz), self.y(v))
    }

    /// Background, frequency grid (decades and 2/5 marks) and value grid at `ticks`.
    pub fn draw_grid(&self, ui: &Ui, ticks: &[f64], unit: &str) {
        let painter = ui.painter_at(self.rect.expand(40.0));
        painter.rect_filled(self.rect, 4.0, colour::BACKGROUND);
        let font = FontId::proportional(10.0);
        let mut decade = 1.0;
        while decade <= self.f_hi {
            for m in [1.0, 2.0, 5.0] {
                let f = decade * m;
                if f < self.f_lo || f > self.f_hi {
                    continue;
                }
                let x = self.x(f);
                painter.line_segment(
                    [pos2(x, self.rect.top()), pos2(x, self.rect.bottom())],
                    Stroke::new(if m == 1.0 { 1.0 } else { 0.5 }, colour::GRID),
                );
                let text = if f >= 1000.0 {
                    format!("{}k", f / 1000.0)
                } else {
                    format!("{f}")
                };
                painter.text(
                    pos2(x, self.rect.bottom() + 2.0),
                    Align2::CENTER_TOP,
                    text,
                    font.clone(),
                    colour::GRID_TEXT,
                );
            }
            decade *= 10.0;
        }
        for &v in ticks {
            let y = self.y(v);
            if y < self.rect.top() - 0.5 || y > self.rect.bottom() + 0.5 {
                continue;
            }
            painter.line_segment(
                [pos2(self.rect.left(), y), pos2(self.rect.right(), y)],
                Stroke::new(if v == 0.0 { 1.0 } else { 0.5 }, colour::GRID),
            );
            painter.text(
                pos2(self.rect.left() - 3.0, y),
                Align2::RIGHT_CENTER,
                format!("{v}{unit}"),
                font.clone(),
                colour::GRID_TEXT,
            );
        }
    }

    /// A curve through `(freq, value)` points, clipped to the graph.
    pub fn draw_curve(&self, ui: &Ui, points: &[(f64, f64)], stroke: Stroke) {
        let painter = ui.painter_at(self.rect);
        let line: Vec<Pos2> = points
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|&(f, v)| self.point(f, v))
            .collect();
        painter.add(egui::Shape::line(line, stroke));
    }
}

/// Allocate a graph of `height` across the available width, with room for axis labels.
pub fn graph(
    ui: &mut Ui,
    height: f32,
    sense: Sense,
    f: (f64, f64),
    y: (f64, f64),
    log_y: bool,
) -> (Response, FreqAxis) {
    let (outer, response) = ui.allocate_exact_size(vec2(ui.available_width(), height), sense);
    let rect = Rect::from_min_max(outer.min + vec2(44.0, 6.0), outer.max - vec2(10.0, 18.0));
    let axis = FreqAxis {
        rect,
        f_lo: f.0,
        f_hi: f.1,
        y_lo: y.0,
        y_hi: y.1,
        log_y,
    };
    (response, axis)
}

/// Log-spaced frequencies from `lo` to `hi`, `n` of them.
pub fn log_freqs(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
        .collect()
}

/// A rotary knob for a 0–1 position; drag up/down (shift: fine), double-click: `default`.
/// Returns the response and the new position when it changed.
pub fn knob(ui: &mut Ui, position: f32, default: f32, text: &str) -> (Response, Option<f32>) {
    let size = vec2(96.0, 110.0);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click_and_drag());
    let centre = pos2(rect.center().x, rect.top() + 46.0);
    let radius = 38.0;
    let mut new = None;
    if response.dragged() {
        let fine = ui.input(|i| i.modifiers.shift);
        let delta = -response.drag_delta().y / if fine { 1000.0 } else { 200.0 };
        if delta != 0.0 {
            new = Some((position + delta).clamp(0.0, 1.0));
        }
    }
    if response.double_clicked() {
        new = Some(default);
    }
    let shown = new.unwrap_or(position);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, text));
    let painter = ui.painter_at(rect);
    let start = std::f32::consts::PI * 0.75;
    let sweep = std::f32::consts::PI * 1.5;
    let arc = |from: f32, to: f32, n: usize| -> Vec<Pos2> {
        (0..=n)
            .map(|i| {
                let a = start + (from + (to - from) * i as f32 / n as f32) * sweep;
                centre + radius * vec2(a.cos(), a.sin())
            })
            .collect()
    };
    painter.circle_filled(centre, radius - 6.0, Color32::from_gray(45));
    painter.add(egui::Shape::line(
        arc(0.0, 1.0, 48),
        Stroke::new(4.0, Color32::from_gray(70)),
    ));
    painter.add(egui::Shape::line(
        arc(0.0, shown, 48),
        Stroke::new(4.0, colour::CURVE),
    ));
    let a = start + shown * sweep;
    painter.line_segment(
        [
            centre + (radius - 26.0) * vec2(a.cos(), a.sin()),
            centre + (radius - 8.0) * vec2(a.cos(), a.sin()),
        ],
        Stroke::new(3.0, Color32::WHITE),
    );
    painter.text(
        pos2(rect.center().x, rect.bottom() - 10.0),
        Align2::CENTER_CENTER,
        text,
        FontId::proportional(13.0),
        ui.visuals().text_color(),
    );
    (response, new)
}

/// dBFS of a linear level (−∞ for silence).
pub fn db(level: f32) -> f32 {
    20.0 * level.max(1e-10).log10()
}

/// Meter scale bottom (dBFS).
pub const METER_FLOOR_DB: f32 = -60.0;
/// Meter scale top (dBFS).
pub const METER_TOP_DB: f32 = 6.0;

/// One channel's bar: RMS fill, peak-hold line and a clip lamp on top.
pub fn meter_bar(ui: &mut Ui, rms: f32, peak_hold: f32, clipped: bool, height: f32) -> Response {
    let (rect, response) = ui.allocate_exact_size(vec2(14.0, height), Sense::click());
    let painter = ui.painter_at(rect);
    let lamp = Rect::from_min_size(rect.min, vec2(rect.width(), 8.0));
    let bar = Rect::from_min_max(pos2(rect.left(), lamp.bottom() + 3.0), rect.max);
    painter.rect_filled(
        lamp,
        2.0,
        if clipped {
            colour::CLIP
        } else {
            Color32::from_gray(50)
        },
    );
    painter.rect_filled(bar, 2.0, colour::BACKGROUND);
    let y = |level: f32| {
        let t = ((db(level) - METER_FLOOR_DB) / (METER_TOP_DB - METER_FLOOR_DB)).clamp(0.0, 1.0);
        bar.bottom() - t * bar.height()
    };
    let fill = Rect::from_min_max(pos2(bar.left() + 1.0, y(rms)), bar.max - vec2(1.0, 0.0));
    painter.rect_filled(
        fill,
        1.0,
        if db(rms) > -6.0 {
            colour::METER_HOT
        } else {
            colour::METER
        },
    );
    if peak_hold > 0.0 {
        let py = y(peak_hold);
        painter.line_segment(
            [pos2(bar.left(), py), pos2(bar.right(), py)],
            Stroke::new(
                2.0,
                if peak_hold >= 1.0 {
                    colour::CLIP
                } else {
                    Color32::WHITE
                },
            ),
        );
    }
    let zero = y(1.0);
    painter.line_segment(
        [pos2(bar.left(), zero), pos2(bar.right(), zero)],
        Stroke::new(1.0, colour::CLIP.gamma_multiply(0.6)),
    );
    response
}

/// Peak-hold and clip latch for one meter bank, kept by the editor between frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterDisplay {
    pub rms: [f32; 2],
    pub peak: [f32; 2],
    pub hold: [f32; 2],
    hold_age: [f64; 2],
    pub clipped: bool,
    pub channels: usize,
}

impl MeterDisplay {
    /// Hold time of the peak line (s).
    pub const HOLD_S: f64 = 1.5;
    /// Fall of the peak line after the hold (dB/s).
    pub const FALL_DB_PER_S: f32 = 20.0;

    /// Fold in a reading taken `dt` seconds after the previous one.
    pub fn update(&mut self, reading: &sourcery_dsp::meter::MeterReading, dt: f64) {
        self.channels = reading.channels;
        self.rms = reading.rms;
        self.clipped |= reading.clipped;
        for ch in 0..2 {
            let peak = reading.peak[ch];
            self.hold_age[ch] += dt;
            if peak >= self.hold[ch] {
                self.hold[ch] = peak;
                self.hold_age[ch] = 0.0;
            } else if self.hold_age[ch] > Self::HOLD_S {
                let fall = 10f32.powf(-Self::FALL_DB_PER_S * dt as f32 / 20.0);
                self.hold[ch] = (self.hold[ch] * fall).max(peak);
            }
            self.peak[ch] = peak;
        }
    }
}
