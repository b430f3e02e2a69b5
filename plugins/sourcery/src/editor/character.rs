//! Character panel: the voicing's harmonics H2–H9 and THD+N at the current level, and its
//! OS and NOS impulse responses. Both are measured on the model itself
//! (`sourcery_dsp::measure::character`: a 1 kHz sine and an impulse through an offline
//! engine with the current settings), on a worker thread that lives while the window is
//! open; nothing here touches the audio thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui::{pos2, vec2, Align2, FontId, Rect, RichText, Sense, Stroke};
use sourcery_dsp::load::CustomLoad;
use sourcery_dsp::measure::{character, Character};
use sourcery_dsp::Settings;

use super::widgets::{self, colour, MeterDisplay};
use super::Ctl;

/// Settings must hold still this long before they are analysed.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// What one analysis depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Job {
    pub settings: Settings,
    pub rate: f64,
    pub level_dbfs: f64,
    /// The imported curve's generation (a new curve is a new job).
    pub curve_generation: u64,
}

/// Decrements the live-worker count when the thread ends, panic or not.
struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Worker {
    /// `None` once dropped, which ends the thread's loop.
    jobs: Option<Sender<Job>>,
    results: Receiver<(Job, Character)>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// `custom`: the imported impedance curve, for "Custom (imported)".
    fn start(custom: CustomLoad, live: &Arc<AtomicUsize>) -> Self {
        let (jobs, job_rx) = channel::<Job>();
        let (result_tx, results) = channel();
        live.fetch_add(1, Ordering::AcqRel);
        let alive = Alive(live.clone());
        let thread = std::thread::Builder::new()
            .name("sourcery-character".into())
            .spawn(move || {
                let _alive = alive;
                while let Ok(mut job) = job_rx.recv() {
                    // Only the newest request matters.
                    while let Ok(newer) = job_rx.try_recv() {
                        job = newer;
                    }
                    let c = character(&job.settings, &custom, job.rate, job.level_dbfs);
                    if result_tx.send((job, c)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the character worker");
        Self {
            jobs: Some(jobs),
            results,
            thread: Some(thread),
        }
    }
}

impl Drop for Worker {
    /// Close the queue and wait for the thread (at most one analysis, well under a second),
    /// so no thread of ours outlives the editor — the host may unload the library next.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(super) struct CharacterState {
    /// Analysis level (dBFS, sine peak) when not following the input.
    pub level_dbfs: f64,
    pub follow_input: bool,
    worker: Option<Worker>,
    /// Latest job asked for and when the settings last changed.
    wanted: Option<(Job, Instant)>,
    sent: Option<Job>,
    pub result: Option<(Job, Character)>,
    /// Workers alive (0 or 1; tests check that closing the editor ends them).
    pub live_workers: Arc<AtomicUsize>,
    /// The analysis failed (the worker ended without answering).
    failed: bool,
}

impl Default for CharacterState {
    fn default() -> Self {
        Self {
            level_dbfs: -6.0,
            follow_input: false,
            worker: None,
            wanted: None,
            sent: None,
            result: None,
            live_workers: Arc::default(),
            failed: false,
        }
    }
}

impl CharacterState {
    /// End the worker (window closed).
    pub fn stop(&mut self) {
        self.worker = None;
        self.sent = None;
        self.wanted = None;
        self.failed = false;
    }

    /// Whether the result on screen is for the current settings.
    pub fn is_current(&self) -> bool {
        matches!((&self.result, &self.wanted), (Some((r, _)), Some((w, _))) if r == w)
    }

    fn schedule(&mut self, job: Job, custom: &CustomLoad) {
        let now = Instant::now();
        match &self.wanted {
            Some((w, _)) if *w == job => {}
            _ => self.wanted = Some((job, now)),
        }
        let Some((job, since)) = self.wanted else {
            return;
        };
        if self.failed {
            return;
        }
        let live = self.live_workers.clone();
        let worker = self
            .worker
            .get_or_insert_with(|| Worker::start(custom.clone(), &live));
        loop {
            match worker.results.try_recv() {
                Ok(r) => self.result = Some(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // The analysis panicked: say so instead of spinning forever.
                    self.worker = None;
                    self.sent = None;
                    self.failed = true;
                    return;
                }
            }
        }
        let first = self.result.is_none() && self.sent.is_none();
        if self.sent != Some(job)
            && (first || now.duration_since(since) >= DEBOUNCE)
            && worker.jobs.as_ref().is_some_and(|q| q.send(job).is_ok())
        {
            self.sent = Some(job);
        }
    }

    pub(super) fn show(
        &mut self,
        ui: &mut egui::Ui,
        ctl: &Ctl,
        custom: &CustomLoad,
        rate: f32,
        input: &MeterDisplay,
    ) {
        ui.horizontal(|ui| {
            ui.label("Level");
            ui.add_enabled(
                !self.follow_input,
                egui::Slider::new(&mut self.level_dbfs, -60.0..=0.0)
                    .fixed_decimals(1)
                    .suffix(" dBFS"),
            );
            ui.checkbox(&mut self.follow_input, "Follow the input's peak")
                .on_hover_text("Analyse at the input's held peak level, in 3 dB steps");
        });
        let mut level = self.level_dbfs;
        if self.follow_input {
            let peak = input.hold[0].max(input.hold[1]);
            if peak > 0.0 {
                level = ((f64::from(widgets::db(peak)) / 3.0).round() * 3.0).clamp(-60.0, 0.0);
            }
        }
        let job = Job {
            settings: ctl.settings,
            rate: f64::from(rate),
            level_dbfs: level,
            curve_generation: custom.generation(),
        };
        self.schedule(job, custom);
        if self.failed {
            ui.colored_label(
                colour::WARN,
                "The analysis failed for these settings (see the host's log); close and reopen \
                 the editor to retry.",
            );
            return;
        }
        let Some((done, c)) = &self.result else {
            ui.spinner();
            ui.label("Measuring the model…");
            return;
        };
        if !self.is_current() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(RichText::new("updating…").weak());
            });
        }
        ui.columns(2, |cols| {
            let ui = &mut cols[0];
            ui.strong(format!(
                "Harmonics of a 1 kHz sine at {:.0} dBFS",
                done.level_dbfs
            ));
            ui.label(format!(
                "THD+N {:.4} % ({:.1} dB) · THD {:.1} dB",
                c.thd.thd_n_percent, c.thd.thd_n_db, c.thd.thd_db
            ));
            harmonic_bars(ui, &c.thd.harmonics_dbc);
            ui.label(
                RichText::new(
                    "Measured on the model: the voicing's converter, ladder, amp and load at \
                     the current gain, volume and level matching.",
                )
                .small()
                .weak(),
            );
            let ui = &mut cols[1];
            ui.strong("Impulse response at the headphone: OS vs NOS");
            let pre = c.analog_pre_samples as f64;
            impulse_plot(
                ui,
                &c.analog_os,
                &c.analog_nos,
                c.analog_rate_hz,
                pre,
                240.0,
            );
            ui.horizontal(|ui| {
                ui.colored_label(colour::CURVE, "— OS");
                ui.colored_label(colour::CURVE_B, "— NOS");
                ui.label(
                    RichText::new(format!(
                        "{:.0} kHz analog domain, at each peak",
                        c.analog_rate_hz / 1000.0
                    ))
                    .weak(),
                );
            });
            ui.add_space(6.0);
            ui.strong("…and back at the host rate");
            // From IMPULSE_PRE_SAMPLES before the peak to 1.5 ms after it.
            let pre = sourcery_dsp::measure::IMPULSE_PRE_SAMPLES as f64;
            let shown = (pre + 0.0015 * c.sample_rate_hz).ceil() as usize;
            impulse_plot(
                ui,
                &c.impulse_os[..shown.min(c.impulse_os.len())],
                &c.impulse_nos[..shown.min(c.impulse_nos.len())],
                c.sample_rate_hz,
                pre,
                150.0,
            );
            ui.label(
                RichText::new(format!(
                    "{:.1} kHz output: the decimator band-limits both",
                    c.sample_rate_hz / 1000.0
                ))
                .small()
                .weak(),
            );
        });
    }
}

/// Bars of H2…H9 in dBc, from −160 dBc up to 0.
fn harmonic_bars(ui: &mut egui::Ui, harmonics: &[Option<f64>]) {
    const FLOOR: f64 = -160.0;
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), 240.0), Sense::hover());
    let plot = Rect::from_min_max(rect.min + vec2(44.0, 8.0), rect.max - vec2(8.0, 20.0));
    let painter = ui.painter_at(rect);
    painter.rect_filled(plot, 4.0, colour::BACKGROUND);
    let y =
        |db: f64| plot.bottom() - ((db - FLOOR) / -FLOOR).clamp(0.0, 1.0) as f32 * plot.height();
    for db in [
        -160.0, -140.0, -120.0, -100.0, -80.0, -60.0, -40.0, -20.0, 0.0,
    ] {
        painter.line_segment(
            [pos2(plot.left(), y(db)), pos2(plot.right(), y(db))],
            Stroke::new(0.5, colour::GRID),
        );
        painter.text(
            pos2(plot.left() - 3.0, y(db)),
            Align2::RIGHT_CENTER,
            format!("{db:.0}"),
            FontId::proportional(10.0),
            colour::GRID_TEXT,
        );
    }
    let n = harmonics.len().max(1);
    let w = plot.width() / n as f32;
    for (i, h) in harmonics.iter().enumerate() {
        let x0 = plot.left() + i as f32 * w;
        let bar = Rect::from_min_max(
            pos2(x0 + w * 0.2, y(h.unwrap_or(FLOOR))),
            pos2(x0 + w * 0.8, plot.bottom()),
        );
        painter.rect_filled(
            bar,
            2.0,
            if i % 2 == 0 {
                colour::CURVE
            } else {
                colour::CURVE_B
            },
        );
        painter.text(
            pos2(x0 + w / 2.0, plot.bottom() + 3.0),
            Align2::CENTER_TOP,
            format!("H{}", i + 2),
            FontId::proportional(11.0),
            colour::GRID_TEXT,
        );
        if let Some(h) = h {
            painter.text(
                pos2(x0 + w / 2.0, bar.top() - 2.0),
                Align2::CENTER_BOTTOM,
                format!("{h:.0}"),
                FontId::proportional(10.0),
                colour::GRID_TEXT,
            );
        }
    }
    painter.text(
        pos2(plot.left() + 4.0, plot.top() + 2.0),
        Align2::LEFT_TOP,
        "dBc (even orange, odd blue)",
        FontId::proportional(10.0),
        colour::GRID_TEXT,
    );
}

/// Two impulse responses on one time axis (ms re each one's peak): `pre` samples before
/// the peak, at `rate`.
fn impulse_plot(ui: &mut egui::Ui, os: &[f32], nos: &[f32], rate: f64, pre: f64, height: f32) {
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let plot = Rect::from_min_max(rect.min + vec2(20.0, 8.0), rect.max - vec2(24.0, 20.0));
    let painter = ui.painter_at(rect);
    painter.rect_filled(plot, 4.0, colour::BACKGROUND);
    let len = os.len().max(nos.len()).max(2) as f64;
    let peak = os
        .iter()
        .chain(nos)
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(1e-6);
    let x = |i: f64| plot.left() + ((i / (len - 1.0)) as f32) * plot.width();
    let y = |v: f32| plot.center().y + plot.height() * 0.2 - v / peak * plot.height() * 0.6;
    painter.line_segment(
        [pos2(plot.left(), y(0.0)), pos2(plot.right(), y(0.0))],
        Stroke::new(0.5, colour::GRID),
    );
    let ms_per_sample = 1000.0 / rate;
    let span_ms = len * ms_per_sample;
    let step = if span_ms > 2.0 { 0.5 } else { 0.25 };
    let mut t = -((pre * ms_per_sample) / step).floor() * step;
    while t <= (len - pre) * ms_per_sample {
        let xi = x(pre + t / ms_per_sample);
        painter.line_segment(
            [pos2(xi, plot.top()), pos2(xi, plot.bottom())],
            Stroke::new(if t == 0.0 { 1.0 } else { 0.5 }, colour::GRID),
        );
        painter.text(
            pos2(xi, plot.bottom() + 3.0),
            Align2::CENTER_TOP,
            format!("{t:.2} ms"),
            FontId::proportional(10.0),
            colour::GRID_TEXT,
        );
        t += step;
    }
    for (ir, col) in [(os, colour::CURVE), (nos, colour::CURVE_B)] {
        let points: Vec<egui::Pos2> = ir
            .iter()
            .enumerate()
            .map(|(i, &v)| pos2(x(i as f64), y(v)))
            .collect();
        painter.add(egui::Shape::line(points, Stroke::new(1.5, col)));
    }
}
