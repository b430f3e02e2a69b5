//! A device's published figures against the engine: every `[[published]]` row of its file
//! ([`Published`]) measured through the whole engine the way [`super::measure`] measures,
//! and judged within the row's tolerance. No device or figure is named here: a new device
//! with published rows is judged with no Rust change.
//!
//! Besides the file's rows every device gets two computed ones: its amp's own noise figure
//! as an estimate when the file publishes no noise figure, and its SE output impedance
//! into [`Z_OUT_REFERENCE`] (a 3–40 Ω multi-BA) against the divider formula.
//!
//! Rows come in figure order (THD+N, response, noise, output, then the output impedance),
//! each kind in file order.

use serde::Serialize;

use super::{
    band, clip_point, deviation_db, engine, full_power, impulse_response, ir_len, noise_vrms,
    sine_through, small_signal, z_out_effect,
};
use crate::amp::{GainStep, Output};
use crate::analysis::{log_frequencies, thd_n};
use crate::dac::DacMode;
use crate::presets::device::{Figure, Published, Unit};
use crate::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use crate::Settings;

/// Host rate of the conformance measurements (Hz), where a figure names none.
pub const CONFORMANCE_RATE_HZ: f64 = 48_000.0;

/// The load the output impedance's effect is checked on, for every device: a multi-BA IEM
/// whose impedance swings between 3 and 40 Ω.
pub const Z_OUT_REFERENCE: &str = "campfire-andromeda-2020";

/// How a row is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Check {
    /// |measured − published| ≤ tolerance (in dB).
    Value,
    /// measured ≤ published + tolerance (in dB): the published figure is a bound ("< x").
    UpperBound,
    /// The figure is the voicing's own estimate: shown, not judged.
    Estimate,
}

/// One published figure against the engine's measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ConformanceRow {
    /// What is measured, and how (output, load, level).
    pub figure: String,
    /// The published figure as written (with its source tag).
    pub published: String,
    /// The published figure as a number, in `unit`.
    pub published_value: f64,
    pub measured: f64,
    pub unit: String,
    /// measured − published, in dB (for voltages and percentages `20·log10` of the ratio).
    pub error_db: f64,
    pub tolerance_db: f64,
    pub check: Check,
    /// `None` for estimates.
    pub pass: Option<bool>,
}

impl ConformanceRow {
    fn new(
        figure: impl Into<String>,
        published: impl Into<String>,
        published_value: f64,
        measured: f64,
        unit: &str,
        tolerance_db: f64,
        check: Check,
    ) -> Self {
        let error_db = match unit {
            "dB" => measured - published_value,
            _ => 20.0 * (measured / published_value).log10(),
        };
        let pass = match check {
            Check::Value => Some(error_db.abs() <= tolerance_db),
            Check::UpperBound => Some(error_db <= tolerance_db),
            Check::Estimate => None,
        };
        Self {
            figure: figure.into(),
            published: published.into(),
            published_value,
            measured,
            unit: unit.to_string(),
            error_db,
            tolerance_db,
            check,
            pass,
        }
    }

    /// The tolerance as the table prints it.
    pub fn tolerance_text(&self) -> String {
        match self.check {
            Check::Value => format!("±{} dB", self.tolerance_db),
            Check::UpperBound => format!("≤ published + {} dB", self.tolerance_db),
            Check::Estimate => "estimate".to_string(),
        }
    }

    /// The verdict as the table prints it.
    pub fn pass_text(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "estimate",
        }
    }
}

/// The settings of a conformance measurement: `device`, `output`, `gain`, 100 % volume,
/// absolute mode, a resistor of `load_ohms`, OS mode.
fn bench(device: DeviceSlot, output: Output, gain: GainStep, load_ohms: f64) -> Settings {
    Settings {
        device,
        output,
        headphone: HeadphoneSlot::RESISTIVE,
        load_ohms: load_ohms as f32,
        dac_mode: DacMode::Os,
        gain,
        ..full_power(&Settings::default())
    }
}

/// Half-width (dB) of the band of levels a THD+N figure must hold over: a figure
/// published at −6 dBFS is judged from −6.5 to −5.5 dBFS, at its worst point, so a
/// voicing cannot meet it at one level and miss it beside it.
pub const THD_BAND_DB: f64 = 0.5;

/// The levels (dBFS) a THD+N figure at `level_dbfs` is measured at: ±[`THD_BAND_DB`] in
/// 0.1 dB steps, and −6.02 dBFS (a peak of exactly 0.5, where a ladder's second bit
/// carries) when it lies in the band.
pub fn thd_band_levels(level_dbfs: f64) -> Vec<f64> {
    let steps = (2.0 * THD_BAND_DB / 0.1).round() as i32;
    let mut levels: Vec<f64> = (0..=steps)
        .map(|i| level_dbfs - THD_BAND_DB + 0.1 * f64::from(i))
        .collect();
    let half = 20.0 * 0.5f64.log10();
    if (half - level_dbfs).abs() <= THD_BAND_DB {
        levels.push(half);
    }
    levels
}

/// "20 Hz", "20 kHz", "44.1 kHz".
fn hz(f: f64) -> String {
    if f >= 1000.0 {
        format!("{} kHz", f / 1000.0)
    } else {
        format!("{f} Hz")
    }
}

/// A level as the table shows it: whole dB when it is one (within 0.05 dB).
fn dbfs(level: f64) -> String {
    let shown = if (level - level.round()).abs() < 0.05 {
        format!("{}", level.round())
    } else {
        format!("{level:.1}")
    };
    shown.replace('-', "−")
}

/// The device's published figures measured through the engine, one row each (see
/// [`Check`]), and the two computed rows of the module docs. `catalogue` holds the device
/// (a user file's device too). About a second per device in the dev profile.
pub fn conformance(catalogue: &Catalogue, device: DeviceSlot) -> Vec<ConformanceRow> {
    let Some(voicing) = catalogue.device(device) else {
        return Vec::new();
    };
    let mut published: Vec<&Published> = voicing.published.iter().collect();
    published.sort_by_key(|p| p.figure.index());
    let mut rows = Vec::new();
    // Without a published noise figure, the amp's own estimate takes the noise rows' place.
    let mut noise_estimate = !published.iter().any(|p| p.figure == Figure::Noise);
    for p in published {
        if noise_estimate && p.figure == Figure::MaxOutput {
            push_noise_estimate(catalogue, device, &mut rows);
            noise_estimate = false;
        }
        rows.push(row(catalogue, device, p));
    }
    if noise_estimate {
        push_noise_estimate(catalogue, device, &mut rows);
    }
    rows.extend(z_out_row(catalogue, device));
    rows
}

/// Measure one published row.
fn row(catalogue: &Catalogue, device: DeviceSlot, p: &Published) -> ConformanceRow {
    let c = &p.condition;
    let rate = c.rate_hz;
    let settings = bench(device, c.output, c.gain, c.load_ohms);
    let check = if p.estimate {
        Check::Estimate
    } else if p.bound {
        Check::UpperBound
    } else {
        Check::Value
    };
    let published_text = format!("{} [{}]", p.text, p.source);
    let gain = p.condition.gain.label().to_lowercase();
    let (figure, published_text, published_value, measured, unit) = match p.figure {
        Figure::ThdN => {
            // Level-matched so that the sine's level is relative to the device's full scale
            // at the row's gain and full volume.
            let settings = Settings {
                level_match: true,
                ..settings
            };
            let published_db = match p.unit {
                Unit::Percent => 20.0 * (p.value / 100.0).log10(),
                _ => p.value,
            };
            let mut e = engine(catalogue, &settings, rate);
            let measured: Vec<(f64, f64)> = thd_band_levels(c.level_dbfs)
                .into_iter()
                .map(|level| {
                    let y = sine_through(&mut e, rate, 10f64.powf(level / 20.0), 0.3);
                    (level, thd_n(&y, rate, 1000.0, band(rate)).thd_n_db)
                })
                .collect();
            // The worst point of the band: the farthest from a value, the highest under a
            // bound.
            let (level, worst) = measured
                .iter()
                .copied()
                .max_by(|a, b| match check {
                    Check::UpperBound => a.1.total_cmp(&b.1),
                    _ => (a.1 - published_db)
                        .abs()
                        .total_cmp(&(b.1 - published_db).abs()),
                })
                .expect("the band has levels");
            (
                format!(
                    "THD+N, 1 kHz {}…{} dBFS (worst: {} dBFS), {}, {} Ω, {gain} gain, {}",
                    dbfs(c.level_dbfs - THD_BAND_DB),
                    dbfs(c.level_dbfs + THD_BAND_DB),
                    format!("{level:.2}").replace('-', "−"),
                    c.output.label(),
                    c.load_ohms,
                    hz(rate)
                ),
                published_text,
                published_db,
                worst,
                "dB",
            )
        }
        Figure::FrDeviation => {
            let mut e = engine(catalogue, &small_signal(&settings), rate);
            let ir = impulse_response(&mut e, ir_len(rate));
            let freqs = log_frequencies(c.from_hz, c.to_hz, 12.0);
            let worst = deviation_db(&ir, rate, &freqs)
                .into_iter()
                .fold(0.0f64, |a, d| a.max(d.abs()));
            (
                format!(
                    "FR {}–{}, largest deviation re 1 kHz ({}, OS)",
                    hz(c.from_hz),
                    hz(c.to_hz),
                    hz(rate)
                ),
                published_text,
                p.value,
                worst,
                "dB",
            )
        }
        Figure::FrAt => {
            let mut e = engine(catalogue, &small_signal(&settings), rate);
            let ir = impulse_response(&mut e, 1 << 14);
            let measured = deviation_db(&ir, rate, &[c.freq_hz])[0];
            (
                format!("FR at {} re 1 kHz ({}, OS)", hz(c.freq_hz), hz(rate)),
                published_text,
                p.value,
                measured,
                "dB",
            )
        }
        Figure::Noise => (
            noise_figure(c.output, &gain, c.load_ohms),
            published_text,
            p.value,
            noise_vrms(catalogue, &settings, rate, 0.25) * 1e6,
            "µV",
        ),
        Figure::MaxOutput => {
            let published_vrms = match p.unit {
                Unit::Milliwatts => (p.value * 1e-3 * c.load_ohms).sqrt(),
                _ => p.value,
            };
            // Guess: the input that gives the published voltage from the full scale through
            // the divider.
            let out = catalogue
                .device(device)
                .map(|d| *d.amp.output(c.output))
                .expect("the device is in the catalogue");
            let full_scale = out.gains[c.gain.index()].full_scale_vrms * c.load_ohms
                / (c.load_ohms + out.z_out_ohms);
            let guess = published_vrms / full_scale;
            let measured = clip_point(catalogue, &settings, rate, Some(guess)).map_or(0.0, |c| c.0);
            (
                format!(
                    "max output at 1 % THD+N, {}, {} Ω, {gain} gain (Vrms)",
                    c.output.label(),
                    c.load_ohms
                ),
                format!("{published_text} = {published_vrms:.2} Vrms"),
                published_vrms,
                measured,
                "Vrms",
            )
        }
    };
    ConformanceRow::new(
        figure,
        published_text,
        published_value,
        measured,
        unit,
        p.tolerance_db,
        check,
    )
}

fn noise_figure(output: Output, gain: &str, load_ohms: f64) -> String {
    format!(
        "noise floor, A-weighted, {}, {gain} gain, {load_ohms} Ω",
        output.label()
    )
}

/// A device that publishes no noise figure: its amp's own figure (SE, high gain), as an
/// estimate (the DAC's floor adds to it).
fn push_noise_estimate(catalogue: &Catalogue, device: DeviceSlot, rows: &mut Vec<ConformanceRow>) {
    let Some(voicing) = catalogue.device(device) else {
        return;
    };
    let uv = voicing.amp.gain(Output::Se, GainStep::High).noise_uv_a;
    if uv > 0.0 {
        let settings = bench(device, Output::Se, GainStep::High, 600.0);
        rows.push(ConformanceRow::new(
            noise_figure(Output::Se, "high", 600.0),
            format!(
                "{uv:.1} µV(A), the amp alone (the voicing's estimate; the DAC's floor adds to it)"
            ),
            uv,
            noise_vrms(catalogue, &settings, CONFORMANCE_RATE_HZ, 0.25) * 1e6,
            "µV",
            1.0,
            Check::Estimate,
        ));
    }
}

/// The device's SE output impedance into [`Z_OUT_REFERENCE`]: the engine against the
/// divider formula. The row shows the largest formula deviation and the measurement at
/// that frequency; `error_db` is the worst error over 1/12 octave.
fn z_out_row(catalogue: &Catalogue, device: DeviceSlot) -> Option<ConformanceRow> {
    let headphone = HeadphoneSlot::by_id(Z_OUT_REFERENCE)?;
    let settings = Settings {
        headphone,
        ..bench(device, Output::Se, GainStep::High, 32.0)
    };
    let effect = z_out_effect(catalogue, &settings, CONFORMANCE_RATE_HZ)?;
    let extreme = effect
        .points
        .iter()
        .copied()
        .max_by(|a, b| a.formula_db.abs().total_cmp(&b.formula_db.abs()))
        .expect("points");
    let mut row = ConformanceRow::new(
        format!(
            "Z_out {} Ω into the Andromeda, deviation at {:.0} Hz re 1 kHz",
            effect.z_out_ohms, extreme.freq_hz
        ),
        format!("[calc] divider formula: {:+.3} dB", extreme.formula_db),
        extreme.formula_db,
        extreme.measured_db,
        "dB",
        0.02,
        Check::Value,
    );
    row.error_db = effect.worst_error_db;
    row.pass = Some(effect.worst_error_db <= row.tolerance_db);
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conformance_rows_pass() {
        // One thread per device: the rows of a device run in sequence (K13, the longest,
        // about 3 s in the dev profile).
        let start = std::time::Instant::now();
        let catalogue = Catalogue::factory();
        let all: Vec<Vec<ConformanceRow>> = std::thread::scope(|scope| {
            let handles: Vec<_> = catalogue
                .devices()
                .iter()
                .map(|d| scope.spawn(move || conformance(catalogue, DeviceSlot(d.slot))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        });
        let mut failures = Vec::new();
        for (device, rows) in catalogue.devices().iter().zip(&all) {
            for row in rows {
                println!(
                    "{:<24} {:<66} {:>9.4} {:<4} vs {:>9.4}  err {:+.3} dB  {}",
                    device.name,
                    row.figure,
                    row.measured,
                    row.unit,
                    row.published_value,
                    row.error_db,
                    row.pass_text()
                );
                if row.pass == Some(false) {
                    failures.push(format!("{}: {}", device.name, row.figure));
                }
            }
        }
        println!("conformance of every device: {:?}", start.elapsed());
        assert!(failures.is_empty(), "{failures:#?}");
    }

    /// "A new device is one file": a device from a user folder, with two published rows of
    /// its own, gets both judged — one that holds and one that does not — with no Rust
    /// change.
    #[test]
    fn a_user_device_file_is_judged_by_its_own_rows() {
        let dir = std::env::temp_dir().join(format!("sourcery-conformance-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("devices")).unwrap();
        let k13 = crate::presets::index::FACTORY_DEVICES
            .iter()
            .find(|(file, _)| file.ends_with("fiio-k13-r2r.toml"))
            .expect("the K13 file")
            .1;
        // Its own rows go; two new ones come.
        let text = k13[..k13.find("[[published]]").expect("published rows")]
            .replace("name = \"FiiO K13 R2R\"", "name = \"My Bench DAC\"")
            .replace("slot = 0\n", "slot = 40\n")
            + r#"
[[published]]
figure = "fr_deviation"
text = "20 Hz–20 kHz < 0.2 dB"
source = "my bench"
bound = 0.2
unit = "dB"
tolerance_db = 0.1

[[published]]
figure = "noise"
text = "4 µV(A), SE high gain"
source = "my bench"
value = 4.0
unit = "uV"
tolerance_db = 1.0
condition = { output = "SE" }
"#;
        std::fs::write(dir.join("devices").join("my-bench-dac.toml"), text).unwrap();
        let (devices, headphones, errors) = crate::presets::load_user_presets(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        let catalogue = Catalogue::with_user(devices, headphones);
        let rows = conformance(&catalogue, DeviceSlot(40));
        for row in &rows {
            println!(
                "{} | {} | {:.3} {} | {}",
                row.figure,
                row.published,
                row.measured,
                row.unit,
                row.pass_text()
            );
        }
        let judged: Vec<&ConformanceRow> = rows
            .iter()
            .filter(|r| r.published.contains("[my bench]"))
            .collect();
        assert_eq!(judged.len(), 2, "both rows of the file");
        assert_eq!(
            judged[0].pass,
            Some(true),
            "the response holds: {:.3} dB",
            judged[0].measured
        );
        // The K13's amp makes 9.4 µV: 7.4 dB above the file's 4 µV, outside its 1 dB.
        assert_eq!(
            judged[1].pass,
            Some(false),
            "the noise does not: {:.2} µV",
            judged[1].measured
        );
        assert!((judged[1].error_db - 20.0 * (judged[1].measured / 4.0).log10()).abs() < 1e-9);
    }
}
