//! `sourcery measure`: the virtual analyzer of [`sourcery_dsp::measure`] on the command
//! line.
//!
//! - `sourcery measure --device ID [--headphone ID] [--mode os|nos] [--json]
//!   [--plots DIR]`: measures one setting (low gain, 100 % volume, level-matched, the
//!   device's own output impedance; headphone default: a 32 Ω resistor; the clip point at
//!   high gain) at 48 kHz and prints
//!   a summary, or with `--json` the whole [`Measurement`]; `--plots DIR` also writes PNGs.
//! - `sourcery measure --all --markdown`: the conformance table of every voicing into
//!   `docs/conformance.md`.
//!
//! IDs are preset file names (`fiio-k13-r2r`) or display names, case-insensitive.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use sourcery_dsp::amp::GainStep;
use sourcery_dsp::dac::DacMode;
use sourcery_dsp::measure::{self, ConformanceRow, Measurement, IMPULSE_PRE_SAMPLES};
use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use sourcery_dsp::Settings;

pub const USAGE: &str = "sourcery measure --device ID [--headphone ID] [--mode os|nos] \
                         [--rate HZ] [--your-source ID|OHMS] [--your-output se|bal] [--json] \
                         [--plots DIR]\n  sourcery measure --all --markdown";

/// Where `--all --markdown` writes.
const CONFORMANCE_MD: &str = "docs/conformance.md";
/// Default host rate of `sourcery measure` (Hz); `--rate` picks another (44 100, 96 000
/// and 192 000 show how the response to fs/2 changes with the rate).
const RATE_HZ: f64 = 48_000.0;

pub fn run(args: &[String]) -> Result<()> {
    let mut device = None;
    let mut headphone = HeadphoneSlot::RESISTIVE;
    let mut mode = DacMode::Os;
    let (mut json, mut all, mut markdown) = (false, false, false);
    let mut plots = None;
    let mut rate = RATE_HZ;
    let mut yours = Settings::default();
    let mut full_scale_vrms = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow!("{flag} needs a value\nusage: {USAGE}"))
        };
        match flag.as_str() {
            "--device" => {
                device = Some(DeviceSlot(crate::render::preset_slot(
                    "devices",
                    DEVICE_LABELS,
                    value()?,
                )?))
            }
            "--headphone" => {
                headphone = HeadphoneSlot(crate::render::preset_slot(
                    "headphones",
                    HEADPHONE_LABELS,
                    value()?,
                )?);
            }
            "--mode" => {
                mode = match value()?.to_ascii_lowercase().as_str() {
                    "os" => DacMode::Os,
                    "nos" => DacMode::Nos,
                    other => bail!("--mode {other}: choose os or nos"),
                }
            }
            "--rate" => {
                let text = value()?;
                rate = text
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (8_000.0..=384_000.0).contains(r))
                    .ok_or_else(|| anyhow!("--rate takes 8000…384000 Hz, not '{text}'"))?;
            }
            "--json" => json = true,
            "--plots" => plots = Some(value()?.clone()),
            "--all" => all = true,
            "--markdown" => markdown = true,
            "--your-source" | "--your-output" => {
                crate::render::your_chain_flag(flag, value()?, &mut yours, &mut full_scale_vrms)?;
            }
            _ => bail!("unknown option '{flag}'\nusage: {USAGE}"),
        }
    }
    if all {
        if !markdown {
            bail!("--all goes with --markdown\nusage: {USAGE}");
        }
        return write_conformance();
    }
    let device = device.ok_or_else(|| anyhow!("--device is required\nusage: {USAGE}"))?;
    let settings = Settings {
        device,
        headphone,
        dac_mode: mode,
        gain: GainStep::Low,
        volume_pct: 100.0,
        level_match: true,
        yours: yours.yours,
        ..Settings::default()
    };
    let m = measure::measure(&settings, rate);
    if json {
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        print_summary(&m);
    }
    if let Some(dir) = plots {
        let dir = Path::new(&dir);
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        plots::write_all(&m, dir)?;
        eprintln!("plots written to {}", dir.display());
    }
    Ok(())
}

fn print_summary(m: &Measurement) {
    println!(
        "{} ({} {} gain, {}), {} at {} Hz; latency {} samples (impulse peak {})",
        m.device,
        m.output,
        m.gain,
        m.dac_mode,
        m.headphone,
        m.sample_rate_hz,
        m.latency_samples,
        m.impulse_peak_samples
    );
    println!("\nFrequency response re 1 kHz (into a resistor):");
    for p in m.frequency_response.iter().step_by(3) {
        println!("  {:>8.1} Hz  {:+8.3} dB", p.freq_hz, p.level_db);
    }
    println!("\nTHD+N at 1 kHz:");
    for t in &m.thd_vs_level {
        let h: Vec<String> = t
            .harmonics_dbc
            .iter()
            .map(|h| h.map_or("-".into(), |h| format!("{h:.0}")))
            .collect();
        println!(
            "  {:>4} dBFS  THD+N {:7.1} dB ({:.4} %)  H2..H9 {} dBc",
            t.level_dbfs,
            t.thd_n_db,
            t.thd_n_percent,
            h.join(" ")
        );
    }
    print!("\nNoise floor: {:.2} µV(A) across the load", m.noise.uv_a);
    match m.noise.spl_db_a {
        Some(spl) => println!(" = {spl:.1} dB SPL(A) in the headphone"),
        None => println!(),
    }
    match &m.max_output {
        Some(o) => println!(
            "Max output (THD+N 1 %, high gain, 100 %): {:.2} Vrms = {:.0} mW into {:.1} Ω \
             (input {:+.2} dBFS)",
            o.vrms, o.mw, o.load_ohms, o.input_dbfs
        ),
        None => println!("Max output: no 1 % point up to +12 dBFS (no limits)"),
    }
    if let Some(z) = &m.z_out_effect {
        println!(
            "\nZ_out {} Ω into the load{}, re 1 kHz (measured / formula), worst error {:.4} dB:",
            z.z_out_ohms,
            if z.your_z_out_ohms > 0.0 {
                format!(", heard through your {} Ω", z.your_z_out_ohms)
            } else {
                String::new()
            },
            z.worst_error_db
        );
        for p in &z.points {
            println!(
                "  {:>7.0} Hz  {:+7.3} / {:+7.3} dB",
                p.freq_hz, p.measured_db, p.formula_db
            );
        }
    }
}

/// `--all --markdown`: the conformance of every voicing into [`CONFORMANCE_MD`].
fn write_conformance() -> Result<()> {
    let catalogue = Catalogue::factory();
    let tables: Vec<Vec<ConformanceRow>> = std::thread::scope(|scope| {
        let handles: Vec<_> = catalogue
            .devices()
            .iter()
            .map(|d| scope.spawn(move || measure::conformance(catalogue, DeviceSlot(d.slot))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("conformance thread"))
            .collect()
    });
    let mut md = String::from(
        "# Conformance: published figures against the engine\n\n\
         Generated by `sourcery measure --all --markdown` (regenerate after changing a \
         voicing; the test `measure::tests::conformance_rows_pass` fails when a published \
         figure is out of tolerance).\n\n\
         Each figure is measured through the whole engine at 48 kHz (the 80 kHz point at \
         192 kHz), high gain, 100 % volume, OS mode, into a resistor unless stated: THD+N by \
         the analyzer's fit (20 Hz–20 kHz) at every level from 0.5 dB below to 0.5 dB above \
         the published one in 0.1 dB steps and at −6.02 dBFS (where a ladder's second bit \
         carries), the row showing the worst point, noise with silence in and A-weighting across \
         600 Ω, the clip point by bisection for THD+N = 1 %, the frequency response from the \
         whole impulse response, and the output impedance's effect into the Campfire \
         Andromeda 2020 model against the divider formula `Z_L/(Z_L + Z_out)` (its error is \
         the worst over 20 Hz–20 kHz at 1/12 octave). \"Value\" rows pass when \
         |measured − published| ≤ tolerance, \"≤\" rows (published bounds) when measured ≤ \
         published + tolerance; estimates are the voicing's own figures, shown, not judged. \
         Sources: `shared/reference/devices.md`.\n",
    );
    for (device, rows) in catalogue.devices().iter().zip(&tables) {
        md.push_str(&format!("\n## {}\n\n", device.name));
        md.push_str(
            "| figure | published | measured | error | tolerance | pass |\n\
             |---|---|---|---|---|---|\n",
        );
        for r in rows {
            let digits = if r.unit == "Vrms" || r.unit == "µV" {
                2
            } else {
                3
            };
            md.push_str(&format!(
                "| {} | {} | {:.*} {} | {:+.3} dB | {} | {} |\n",
                r.figure,
                r.published,
                digits,
                r.measured,
                r.unit,
                r.error_db,
                r.tolerance_text(),
                r.pass_text()
            ));
        }
    }
    std::fs::create_dir_all("docs")?;
    std::fs::write(CONFORMANCE_MD, &md).with_context(|| format!("write {CONFORMANCE_MD}"))?;
    print!("{md}");
    eprintln!("wrote {CONFORMANCE_MD}");
    let failed: usize = tables
        .iter()
        .flatten()
        .filter(|r| r.pass == Some(false))
        .count();
    if failed > 0 {
        bail!("{failed} published figure(s) out of tolerance");
    }
    Ok(())
}

/// PNG plots with `plotters` (bitmap backend, text through `ab_glyph` with an embedded
/// font: no system libraries).
mod plots {
    use super::*;
    use plotters::prelude::*;

    type Series<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

    fn register_font() -> Result<()> {
        plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::HACK_REGULAR,
        )
        .map_err(|_| anyhow!("the embedded font does not load"))
    }

    pub fn write_all(m: &Measurement, dir: &Path) -> Result<()> {
        register_font()?;
        let title = format!("{} ({}, {})", m.device, m.dac_mode, m.headphone);
        let pts = |v: &[sourcery_dsp::measure::Point]| -> Vec<(f64, f64)> {
            v.iter().map(|p| (p.freq_hz, p.level_db)).collect()
        };
        line(
            &dir.join("frequency_response.png"),
            &format!("Frequency response re 1 kHz: {title}"),
            ("Hz", "dB"),
            true,
            &[("response", pts(&m.frequency_response), BLUE)],
        )?;
        let thd: Vec<(f64, f64)> = m
            .thd_vs_level
            .iter()
            .map(|t| (t.level_dbfs, t.thd_n_db))
            .collect();
        // Harmonics relative to the fundamental (dBc) as levels re the same reference as
        // THD+N (dB re the fundamental), so the three lines share the axis.
        let harmonic = |k: usize| -> Vec<(f64, f64)> {
            m.thd_vs_level
                .iter()
                .filter_map(|t| Some((t.level_dbfs, (*t.harmonics_dbc.get(k)?)?)))
                .collect()
        };
        line(
            &dir.join("thd_vs_level.png"),
            &format!("THD+N, H2, H3 at 1 kHz vs level: {title}"),
            ("input dBFS", "dB re the fundamental"),
            false,
            &[
                ("THD+N", thd, RED),
                ("H2", harmonic(0), BLUE),
                ("H3", harmonic(1), GREEN),
            ],
        )?;
        line(
            &dir.join("spectrum_minus_6_dbfs.png"),
            &format!("Spectrum, 1 kHz at -6 dBFS: {title}"),
            ("Hz", "dB peak"),
            true,
            &[("spectrum", pts(&m.spectrum_minus_6_dbfs), BLUE)],
        )?;
        let window = |v: &[f32]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, &y)| (i as f64 - IMPULSE_PRE_SAMPLES as f64, f64::from(y)))
                .collect()
        };
        line(
            &dir.join("impulse_os_nos.png"),
            &format!("Impulse response, OS vs NOS: {}", m.device),
            ("samples from the peak", "per unit impulse"),
            false,
            &[
                ("OS", window(&m.impulse_os), BLUE),
                ("NOS", window(&m.impulse_nos), RED),
            ],
        )?;
        line(
            &dir.join("step_os_nos.png"),
            &format!("Step response, OS vs NOS: {}", m.device),
            ("samples from the impulse peak", "per unit step"),
            false,
            &[
                ("OS", window(&m.step_os), BLUE),
                ("NOS", window(&m.step_nos), RED),
            ],
        )?;
        if let Some(z) = &m.z_out_effect {
            let measured = z
                .points
                .iter()
                .map(|p| (p.freq_hz, p.measured_db))
                .collect();
            let formula = z.points.iter().map(|p| (p.freq_hz, p.formula_db)).collect();
            line(
                &dir.join("z_out_effect.png"),
                &format!(
                    "Z_out {} ohm into {}{}: re 1 kHz",
                    z.z_out_ohms,
                    m.headphone,
                    if z.your_z_out_ohms > 0.0 {
                        format!(", heard through {} ohm", z.your_z_out_ohms)
                    } else {
                        String::new()
                    }
                ),
                ("Hz", "dB"),
                true,
                &[
                    ("engine", measured, BLUE),
                    ("divider formula", formula, RED),
                ],
            )?;
        }
        Ok(())
    }

    /// One line chart, 1000×600, with a legend.
    fn line(
        path: &Path,
        title: &str,
        labels: (&str, &str),
        log_x: bool,
        series: &[Series],
    ) -> Result<()> {
        let finite = series
            .iter()
            .flat_map(|s| s.1.iter())
            .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_x || p.0 > 0.0));
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in finite {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 >= x1 {
            x1 = x0 + 1.0;
        }
        let pad = ((y1 - y0) * 0.05).max(0.05);
        let (y0, y1) = (y0 - pad, y1 + pad);
        let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(labels.0)
                    .y_desc(labels.1)
                    .draw()
                    .map_err(|e| anyhow!("{e}"))?;
                for (name, points, color) in series {
                    let color = *color;
                    chart
                        .draw_series(LineSeries::new(
                            points
                                .iter()
                                .copied()
                                .filter(|p| p.0.is_finite() && p.1.is_finite()),
                            color.stroke_width(2),
                        ))
                        .map_err(|e| anyhow!("{e}"))?
                        .label(*name)
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                        });
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| anyhow!("{e}"))?;
            }};
        }
        if log_x {
            draw!(builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(|e| anyhow!("{e}"))?);
        } else {
            draw!(builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| anyhow!("{e}"))?);
        }
        root.present().map_err(|e| anyhow!("{e}"))?;
        Ok(())
    }
}
