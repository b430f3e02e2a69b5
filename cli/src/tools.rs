//! `sourcery spl` and `sourcery peq`.

use anyhow::{anyhow, bail, Context, Result};

/// `sourcery spl`: for every device × headphone with a published sensitivity, the SPL of a
/// 0 dBFS sine, of the hiss (A-weighted), the headroom before 1 % THD+N and the loudest
/// clean SPL; with `--json`, the same rows as a JSON array (∞ as `null`).
pub fn spl(args: &[String]) -> Result<()> {
    use crate::render::{label, preset_slot};
    use sourcery_dsp::amp::{GainStep, Output};
    use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
    use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
    use sourcery_dsp::Settings;

    let mut settings = Settings::default();
    let mut devices: Vec<usize> = (0..DEVICE_LABELS.len()).collect();
    let mut headphones: Vec<usize> = (0..HEADPHONE_LABELS.len()).collect();
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--json" {
            json = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| anyhow!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--device" => devices = vec![preset_slot("devices", DEVICE_LABELS, value)?],
            "--headphone" => {
                headphones = vec![preset_slot("headphones", HEADPHONE_LABELS, value)?];
            }
            "--output" => {
                settings.output = Output::from_index(
                    label(Output::LABELS, value).with_context(|| "--output".to_owned())?,
                );
            }
            "--gain" => {
                settings.gain = GainStep::from_index(
                    label(GainStep::LABELS, value).with_context(|| "--gain".to_owned())?,
                );
            }
            "--volume" => {
                settings.volume_pct = value
                    .parse::<f32>()
                    .ok()
                    .filter(|v| (0.0..=100.0).contains(v))
                    .ok_or_else(|| anyhow!("--volume takes 0…100, not '{value}'"))?;
            }
            _ => bail!("unknown option '{flag}'"),
        }
    }
    let catalogue = Catalogue::active();
    let mut rows = Vec::new();
    for &device in &devices {
        for &headphone in &headphones {
            let s = Settings {
                device: DeviceSlot(device),
                headphone: HeadphoneSlot(headphone),
                ..settings
            };
            let Some(report) = s.spl_report(catalogue) else {
                continue;
            };
            let ohms = catalogue
                .headphone(s.headphone)
                .map_or(f64::NAN, |h| h.network.impedance(1000.0).norm());
            rows.push((device, headphone, ohms, report));
        }
    }
    if json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|(device, headphone, ohms, r)| {
                serde_json::json!({
                    "device": DEVICE_LABELS[*device],
                    "headphone": HEADPHONE_LABELS[*headphone],
                    "output": settings.output.label(),
                    "gain": settings.gain.label(),
                    "volume_pct": settings.volume_pct,
                    "impedance_1khz_ohms": ohms,
                    "spl_full_scale_db": r.spl_full_scale_db,
                    "noise_spl_dba": r.noise_spl_db,
                    "headroom_db": r.headroom_db,
                    "max_spl_db": r.max_spl_db,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "Output {}, gain {}, volume {:.0} %. SPL of a 0 dBFS sine, of the hiss (A-weighted) and \
         headroom of 0 dBFS before THD+N reaches 1 % (dB; negative: clips before full scale).",
        settings.output.label(),
        settings.gain.label(),
        settings.volume_pct
    );
    println!(
        "{:<14} {:<26} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "device", "headphone", "|Z| Ω", "0 dBFS", "hiss", "headroom", "max SPL"
    );
    for (device, headphone, ohms, report) in rows {
        println!(
            "{:<14} {:<26} {:>8.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            DEVICE_LABELS[device],
            HEADPHONE_LABELS[headphone],
            ohms,
            report.spl_full_scale_db,
            report.noise_spl_db,
            report.headroom_db,
            report.max_spl_db
        );
    }
    Ok(())
}

/// `sourcery peq FILE`: import an AutoEQ / EqualizerAPO `ParametricEQ.txt` and print it as a
/// headphone file's `[peq]`, as `lv2apply` controls and back as EqualizerAPO text.
pub fn peq(args: &[String]) -> Result<()> {
    use sourcery_dsp::peq::{self, FilterType};
    let (json, file) = match args {
        [file] => (false, file),
        [flag, file] if flag == "--json" => (true, file),
        _ => bail!("usage: sourcery peq [--json] FILE"),
    };
    let bytes = std::fs::read(file).with_context(|| format!("read {file}"))?;
    if bytes.len() > peq::apo::MAX_FILE_BYTES {
        bail!("{file}: {} bytes is too large for a PEQ file", bytes.len());
    }
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{file}: not a text file"))?;
    let profile = peq::parse_apo(&text, file).map_err(|e| anyhow!("{e}"))?;
    let settings = peq::to_settings(&profile).map_err(|e| anyhow!("{e}"))?;
    let active = settings.bands.iter().filter(|b| b.on).count();
    if json {
        let bands: Vec<serde_json::Value> = settings
            .bands
            .iter()
            .filter(|b| b.on)
            .map(|b| {
                serde_json::json!({
                    "type": FilterType::LABELS[b.kind.index()],
                    "freq_hz": b.freq_hz,
                    "gain_db": b.gain_db,
                    "q": b.q,
                })
            })
            .collect();
        let value = serde_json::json!({
            "file": file,
            "preamp_db": settings.preamp_db,
            "bands": bands,
            "controls": sourcery_dsp::settings::peq_values(&settings)
                .into_iter()
                .map(|(id, value)| (id.spec().id.to_owned(), serde_json::json!(value)))
                .collect::<serde_json::Map<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "# {file}: preamp {} dB, {active} active filters",
        settings.preamp_db
    );
    println!("\n# As a headphone file's PEQ (presets/headphones/*.toml):\n[peq]");
    println!("source = {:?}\npreamp_db = {}", file, settings.preamp_db);
    for band in settings.bands.iter().filter(|b| b.on) {
        println!(
            "\n[[peq.band]]\ntype = {:?}\nfreq_hz = {}\ngain_db = {}\nq = {}",
            FilterType::LABELS[band.kind.index()],
            band.freq_hz,
            band.gain_db,
            band.q
        );
    }
    let controls: Vec<String> = sourcery_dsp::settings::peq_values(&settings)
        .into_iter()
        .map(|(id, value)| format!("-c {} {value}", id.spec().id))
        .collect();
    println!("\n# As lv2apply controls:\n{}", controls.join(" "));
    println!(
        "\n# Exported back to EqualizerAPO:\n{}",
        peq::to_apo(&settings)
    );
    Ok(())
}
