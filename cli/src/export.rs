//! `sourcery export apo`: the linear part of a voicing as an EqualizerAPO configuration,
//! for listeners who want it system-wide without an LV2 host (EqualizerAPO on Windows; its
//! format is what EasyEffects and other equalizers import).
//!
//! What it holds: the PEQ as `Filter:` lines (EqualizerAPO's own filter types, so AutoEQ
//! profiles come out as they came in) and one `GraphicEQ:` line with the magnitude of what
//! is linear in the rest of the chain at the host rate, relative to 1 kHz: the output
//! impedance × headphone divider (compensated for your own source's output impedance when
//! one is given) and, in NOS mode, the hold's sinc droop. The preamp leaves headroom for
//! the largest boost. The file says what it leaves out.

use std::fmt::Write as _;

use anyhow::Result;
use sourcery_dsp::dac::DacMode;
use sourcery_dsp::load::{drive, Complex64};
use sourcery_dsp::params::{DEVICE_LABELS, HEADPHONE_LABELS};
use sourcery_dsp::presets::{Catalogue, HeadphoneSlot};
use sourcery_dsp::Settings;

/// Points of the `GraphicEQ:` line: log-spaced from 20 Hz to 20 kHz.
pub const GRAPHIC_POINTS: usize = 61;

/// The linear magnitude (dB re 1 kHz) at `freq_hz` that the export's `GraphicEQ` carries;
/// `None` when the load is an imported curve (not in the catalogue).
pub fn linear_db(
    settings: &Settings,
    catalogue: &Catalogue,
    rate_hz: f64,
    freq_hz: f64,
) -> Option<f64> {
    let z_out = settings.z_out_ohms(catalogue);
    let z_yours = settings.your_z_out_ohms(catalogue);
    let impedance = |f: f64| -> Option<Complex64> {
        if settings.headphone == HeadphoneSlot::RESISTIVE {
            Some(Complex64::new(f64::from(settings.load_ohms), 0.0))
        } else {
            catalogue
                .headphone(settings.headphone)
                .map(|h| h.network.impedance(f))
        }
    };
    let load = |f: f64| impedance(f).map(|z| drive(z, z_out, z_yours).norm());
    let hold = |f: f64| {
        if settings.dac_mode != DacMode::Nos {
            return 1.0;
        }
        let fs = settings.dac_rate.hz().unwrap_or(rate_hz);
        let x = std::f64::consts::PI * f / fs;
        if x == 0.0 {
            1.0
        } else {
            (x.sin() / x).abs()
        }
    };
    let at = |f: f64| load(f).map(|l| l * hold(f));
    Some(20.0 * (at(freq_hz)? / at(1000.0)?).log10())
}

/// The configuration text (see the module docs) for `settings` at `rate_hz`.
pub fn apo(settings: &Settings, catalogue: &Catalogue, rate_hz: f64) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Sourcery {}: {}, the linear part of the voicing, for EqualizerAPO.",
        env!("CARGO_PKG_VERSION"),
        voicing(settings)
    );
    let freqs: Vec<f64> = (0..GRAPHIC_POINTS)
        .map(|i| 20.0 * 1000f64.powf(i as f64 / (GRAPHIC_POINTS - 1) as f64))
        .collect();
    let curve: Option<Vec<f64>> = freqs
        .iter()
        .map(|&f| linear_db(settings, catalogue, rate_hz, f))
        .collect();
    let _ = writeln!(
        out,
        "# Included: the PEQ (Filter lines){}.",
        if curve.is_some() {
            ", and as GraphicEQ (re 1 kHz) the output impedance × headphone divider and, in \
             NOS mode, the hold's sinc droop at the DAC rate"
        } else {
            "; the load is an imported curve, which the command line does not carry, so \
             the output impedance effect is left out"
        }
    );
    let _ = writeln!(
        out,
        "# Left out (not linear, or not magnitude): the NOS hold's ultrasonic images, the OS \
         filters' and the analog stage's phase and ultrasonic response, R2R ladder errors and \
         harmonics, noise, clipping and the amp's limits, the limiter, level matching."
    );
    let boost = curve
        .as_ref()
        .map_or(0.0, |c| c.iter().copied().fold(0.0, f64::max));
    let preamp = if settings.peq.on {
        settings.peq.preamp_db
    } else {
        0.0
    } - boost;
    let _ = writeln!(out, "Preamp: {preamp:.2} dB");
    if settings.peq.on {
        let peq = sourcery_dsp::peq::to_apo(&settings.peq);
        for line in peq.lines().filter(|l| !l.starts_with("Preamp:")) {
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(curve) = curve {
        let points: Vec<String> = freqs
            .iter()
            .zip(&curve)
            .map(|(f, db)| format!("{f:.1} {db:.3}"))
            .collect();
        let _ = writeln!(out, "GraphicEQ: {}", points.join("; "));
    }
    Ok(out)
}

/// A PipeWire filter-chain configuration (a `pipewire.conf.d` fragment) that makes the
/// Sourcery LV2 a system-wide virtual sink with `settings`: every parameter that differs from
/// its default is a control value. `target` names the node it plays into (default: the
/// session manager's choice, normally your default output).
pub fn pipewire(settings: &Settings, target: Option<&str>) -> Result<String> {
    use sourcery_dsp::{ParamValues, PARAMS};
    if settings.headphone == HeadphoneSlot::CUSTOM {
        anyhow::bail!(
            "an imported impedance curve is plugin state, which a PipeWire filter-chain \
             configuration cannot carry; export a catalogue headphone or a resistor"
        );
    }
    let values = settings.to_values();
    let defaults = ParamValues::default();
    let description = format!("Sourcery: {}", voicing(settings));
    let mut controls = String::new();
    for (spec, (v, d)) in PARAMS.iter().zip(values.0.iter().zip(defaults.0.iter())) {
        if v != d && spec.id != "bypass" {
            let _ = writeln!(
                controls,
                "                            \"{}\" = {v}",
                spec.id
            );
        }
    }
    let target = target.map_or_else(String::new, |t| {
        format!(
            "                node.target    = \"{t}\"\n                target.object  = \"{t}\"\n"
        )
    });
    Ok(format!(
        r#"# {description}, as a system-wide PipeWire sink (Sourcery {version}).
# Install: save as ~/.config/pipewire/pipewire.conf.d/sourcery.conf, make sure the Sourcery
# LV2 bundle is on LV2_PATH (`cargo xtask install` puts it in ~/.lv2), then
#   systemctl --user restart pipewire pipewire-pulse
# and pick it ("{description}") as the output device:
# it plays into your default output (or the node named with --target). PipeWire reads the
# plugin's latency from its latency port.
context.modules = [
    {{   name = libpipewire-module-filter-chain
        args = {{
            node.description = "{description}"
            media.name       = "{description}"
            filter.graph = {{
                nodes = [
                    {{
                        type    = lv2
                        name    = sourcery
                        plugin  = "{uri}"
                        control = {{
{controls}                        }}
                    }}
                ]
                inputs  = [ "sourcery:in_l" "sourcery:in_r" ]
                outputs = [ "sourcery:out_l" "sourcery:out_r" ]
            }}
            capture.props = {{
                node.name      = "sourcery_input"
                media.class    = Audio/Sink
                audio.channels = 2
                audio.position = [ FL FR ]
            }}
            playback.props = {{
                node.name      = "sourcery_output"
                node.passive   = true
                audio.channels = 2
                audio.position = [ FL FR ]
{target}            }}
        }}
    }}
]
"#,
        version = env!("CARGO_PKG_VERSION"),
        uri = sourcery_dsp::presets::lv2::URI_STEREO,
    ))
}

/// "FiiO K13 R2R (NOS) on Sennheiser HD600": what an exported file describes.
fn voicing(settings: &Settings) -> String {
    let label = |labels: &[&'static str], i: usize| labels.get(i).copied().unwrap_or("?");
    format!(
        "{} ({}) on {}",
        label(DEVICE_LABELS, settings.device.0),
        settings.dac_mode.label(),
        label(HEADPHONE_LABELS, settings.headphone.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sourcery_dsp::presets::DeviceSlot;

    fn settings(device: &str, headphone: &str) -> Settings {
        Settings {
            device: DeviceSlot::by_id(device).unwrap(),
            headphone: HeadphoneSlot::by_id(headphone).unwrap(),
            ..Settings::default()
        }
    }

    #[test]
    fn the_graphic_eq_is_the_divider_re_1_khz_and_the_nos_droop() {
        let catalogue = Catalogue::factory();
        // The Apple dongle's own output impedance on the Andromeda.
        let mut s = settings("apple-usb-c-dongle-eu", "campfire-andromeda-2020");
        s.peq.on = false;
        let text = apo(&s, catalogue, 48_000.0).unwrap();
        let line = text.lines().find(|l| l.starts_with("GraphicEQ:")).unwrap();
        let points: Vec<(f64, f64)> = line["GraphicEQ:".len()..]
            .split(';')
            .map(|p| {
                let mut it = p.split_whitespace().map(|x| x.parse::<f64>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect();
        assert_eq!(points.len(), GRAPHIC_POINTS);
        let z_out = s.z_out_ohms(catalogue);
        let h = catalogue.headphone(s.headphone).unwrap();
        for &(f, db) in &points {
            let want = 20.0
                * (sourcery_dsp::load::divider(h.network.impedance(f), z_out).norm()
                    / sourcery_dsp::load::divider(h.network.impedance(1000.0), z_out).norm())
                .log10();
            assert!((db - want).abs() < 0.002, "{f} Hz: {db} vs {want}");
        }
        // The preamp leaves room for the largest boost.
        let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
        assert!(text.contains(&format!("Preamp: {:.2} dB", -max)), "{text}");

        // NOS on the K13 at 44.1 kHz: the hold's droop at 20 kHz, −3.2 dB re 1 kHz.
        let mut nos = settings("fiio-k13-r2r", "sennheiser-hd600");
        nos.dac_mode = DacMode::Nos;
        let droop = linear_db(&nos, catalogue, 44_100.0, 20_000.0).unwrap();
        let os = {
            let mut s = nos;
            s.dac_mode = DacMode::Os;
            linear_db(&s, catalogue, 44_100.0, 20_000.0).unwrap()
        };
        let x = std::f64::consts::PI * 20_000.0 / 44_100.0;
        let x1 = std::f64::consts::PI * 1_000.0 / 44_100.0;
        let sinc_db = 20.0 * ((x.sin() / x) / (x1.sin() / x1)).log10();
        assert!(
            (droop - os - sinc_db).abs() < 1e-9,
            "{droop} {os} {sinc_db}"
        );
        assert!((sinc_db + 3.2).abs() < 0.1, "{sinc_db}");
    }

    #[test]
    fn the_peq_comes_out_as_equalizer_apo_filters() {
        let catalogue = Catalogue::factory();
        let mut s = settings("fiio-k7", "sennheiser-hd600");
        s.peq = sourcery_dsp::settings::headphone_peq(catalogue.headphone(s.headphone).unwrap());
        s.peq.on = true;
        let text = apo(&s, catalogue, 48_000.0).unwrap();
        let filters = text.lines().filter(|l| l.starts_with("Filter")).count();
        assert_eq!(filters, 10, "{text}");
        assert!(text.contains("Left out"), "{text}");
        // Re-imported (the PEQ importer reads Preamp and Filter lines), the filters are the
        // PEQ's.
        let filters: String = text
            .lines()
            .filter(|l| !l.starts_with("GraphicEQ"))
            .collect::<Vec<_>>()
            .join("\n");
        let profile = sourcery_dsp::peq::parse_apo(&filters, "export.txt").unwrap();
        let back = sourcery_dsp::peq::to_settings(&profile).unwrap();
        assert_eq!(back.bands, s.peq.bands);
    }
}
