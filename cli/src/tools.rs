//! `sourcery spl` and `sourcery peq`.

use anyhow::{anyhow, bail, Context, Result};

/// Index of the label that contains `name` (case-insensitive), or an error listing them.
fn pick(labels: &[&str], name: &str, what: &str) -> Result<usize> {
    let wanted = name.to_ascii_lowercase();
    labels
        .iter()
        .position(|l| l.to_ascii_lowercase() == wanted)
        .or_else(|| {
            labels
                .iter()
                .position(|l| l.to_ascii_lowercase().contains(&wanted))
        })
        .ok_or_else(|| anyhow!("no {what} matches '{name}'; choose one of {labels:?}"))
}

/// `sourcery spl`: for every device × headphone with a published sensitivity, the SPL of a
/// 0 dBFS sine, of the hiss (A-weighted), the headroom before 1 % THD+N and the loudest
/// clean SPL.
pub fn spl(args: &[String]) -> Result<()> {
    use sourcery_dsp::amp::{GainStep, Output};
    use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
    use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
    use sourcery_dsp::Settings;

    let mut settings = Settings::default();
    let mut devices: Vec<usize> = (0..DEVICE_LABELS.len()).collect();
    let mut headphones: Vec<usize> = (0..HEADPHONE_LABELS.len()).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow!("{flag} needs a value"))?
            .as_str();
        match flag.as_str() {
            "--device" => devices = vec![pick(DEVICE_LABELS, value, "device")?],
            "--headphone" => headphones = vec![pick(HEADPHONE_LABELS, value, "headphone")?],
            "--output" => {
                settings.output = Output::from_index(pick(Output::LABELS, value, "output")?);
            }
            "--gain" => {
                settings.gain = GainStep::from_index(pick(GainStep::LABELS, value, "gain")?);
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
    for &device in &devices {
        for &headphone in &headphones {
            let s = Settings {
                device: DeviceSlot(device),
                headphone: HeadphoneSlot(headphone),
                ..settings
            };
            let catalogue = Catalogue::active();
            let Some(report) = s.spl_report(catalogue) else {
                continue;
            };
            let ohms = catalogue
                .headphone(s.headphone)
                .map_or(f64::NAN, |h| h.network.impedance(1000.0).norm());
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
    }
    Ok(())
}

/// `sourcery peq FILE`: import an AutoEQ / EqualizerAPO `ParametricEQ.txt` and print it as a
/// headphone file's `[peq]`, as `lv2apply` controls and back as EqualizerAPO text.
pub fn peq(args: &[String]) -> Result<()> {
    use sourcery_dsp::peq::{self, FilterType};
    let [file] = args else {
        bail!("usage: sourcery peq FILE");
    };
    let bytes = std::fs::read(file).with_context(|| format!("read {file}"))?;
    if bytes.len() > peq::apo::MAX_FILE_BYTES {
        bail!("{file}: {} bytes is too large for a PEQ file", bytes.len());
    }
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("{file}: not a text file"))?;
    let profile = peq::parse_apo(&text, file).map_err(|e| anyhow!("{e}"))?;
    let settings = peq::to_settings(&profile).map_err(|e| anyhow!("{e}"))?;
    let active = settings.bands.iter().filter(|b| b.on).count();
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
