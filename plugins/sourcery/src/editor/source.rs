//! Source panel: device, output, gain, the volume knob (on the device's own law), OS/NOS and
//! the OS filter; the DAC rate, decimator, output impedance and R2R ladder in "Advanced".

use egui::RichText;
use sourcery_dsp::amp::{AmpSpec, GainSteps};
use sourcery_dsp::dac::{ConverterKind, DacConfig};
use sourcery_dsp::params::DEVICE_LABELS;
use sourcery_dsp::presets::{Catalogue, DeviceSlot};
use sourcery_dsp::ParamId;

use super::widgets;
use super::Ctl;

pub(super) fn show(ui: &mut egui::Ui, ctl: &Ctl) {
    let s = ctl.settings;
    let catalogue = Catalogue::active();
    let device = catalogue.device(s.device);
    let spec = device.map_or_else(AmpSpec::ideal, |d| d.amp);
    let converter = match s.custom_ladder {
        Some(ladder) => ConverterKind::R2r(ladder),
        None => device.map_or(DacConfig::IDEAL.converter, |d| d.dac.converter),
    };
    ui.columns(3, |cols| {
        // Device list.
        let ui = &mut cols[0];
        ui.strong("Device");
        for (i, label) in DEVICE_LABELS.iter().enumerate() {
            let slot = DeviceSlot(i);
            if ui
                .selectable_label(s.device == slot, RichText::new(*label).size(14.0))
                .clicked()
                && s.device != slot
            {
                ctl.set(ParamId::Device, i as f32);
            }
        }
        ui.add_space(8.0);
        ui.label(RichText::new(converter_text(&converter)).weak());

        // Controls.
        let ui = &mut cols[1];
        ui.strong("Output");
        ctl.choice(ui, ParamId::Output);
        ui.add_space(6.0);
        ui.strong("Gain");
        ctl.choice(ui, ParamId::Gain);
        let asked = s.gain;
        let used = spec.effective(asked);
        match spec.steps {
            GainSteps::Fixed => {
                ui.label(RichText::new("fixed gain on this device").weak());
            }
            _ if used != asked => {
                ui.label(RichText::new(format!("{} on this device", used.label())).weak());
            }
            _ => {}
        }
        ui.add_space(6.0);
        ui.strong("Volume");
        let pct = s.volume_pct;
        let law_db = spec.volume.gain_db(f64::from(pct));
        let text = if law_db.is_finite() {
            format!("{pct:.0} %  ·  {law_db:+.1} dB")
        } else {
            format!("{pct:.0} %  ·  mute")
        };
        let (response, new) = widgets::knob(ui, pct / 100.0, 0.5, &text);
        let response = response.on_hover_text(
            "Drag up/down (Shift: fine), double-click: 50 %. The dB figure follows the \
             device's own volume law.",
        );
        ctl.follow(ParamId::Volume, &response, new.map(|p| p * 100.0));
        ui.label(RichText::new(volume_law_text(&spec.volume)).small().weak());
        ui.add_space(6.0);
        ui.strong("Conversion");
        ctl.choice(ui, ParamId::DacMode);
        ui.label(RichText::new("OS filter").small());
        ctl.combo(ui, ParamId::OsFilter);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.label("Output trim");
            ctl.slider(ui, ParamId::OutputTrim, 1);
        });

        // About the device, and the advanced fold.
        let ui = &mut cols[2];
        ui.strong(spec.name);
        let output = s.output;
        let out = spec.output(output);
        let gain = spec.gain(output, asked);
        egui::Grid::new("device-figures")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                ui.label("Output impedance");
                ui.label(format!("{:.2} Ω", s.z_out_ohms(catalogue)));
                ui.end_row();
                ui.label("Full scale (100 %)");
                ui.label(format!("{:.2} Vrms", gain.full_scale_vrms));
                ui.end_row();
                ui.label("Noise, A-weighted");
                ui.label(format!("{:.1} µV", gain.noise_uv_a));
                ui.end_row();
                for ohms in [16.0, 32.0, 300.0] {
                    let v = out.limits.rated_vrms(ohms);
                    ui.label(format!("Clip (1 % THD+N), {ohms:.0} Ω"));
                    ui.label(if v.is_finite() {
                        format!("{v:.2} Vrms · {:.0} mW", v * v / ohms * 1e3)
                    } else {
                        "no limit".to_owned()
                    });
                    ui.end_row();
                }
            });
        ui.add_space(4.0);
        egui::CollapsingHeader::new("Sources and estimates")
            .default_open(false)
            .show(ui, |ui| {
                ui.label(RichText::new(spec.sources).small());
                ui.label(RichText::new(spec.estimates).small().weak());
                if !spec.notes.is_empty() {
                    ui.label(RichText::new(spec.notes).small());
                }
            });
        egui::CollapsingHeader::new("Advanced")
            .id_salt("advanced")
            .default_open(false)
            .show(ui, |ui| {
                egui::Grid::new("advanced-grid")
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("DAC rate");
                        ctl.combo(ui, ParamId::DacRate);
                        ui.end_row();
                        ui.label("Decimator");
                        ctl.combo(ui, ParamId::Decimator);
                        ui.end_row();
                        ctl.toggle(ui, ParamId::ZOutCustom, "Own output impedance");
                        ctl.slider(ui, ParamId::ZOutOhms, 2);
                        ui.end_row();
                    });
                ui.separator();
                ctl.toggle(ui, ParamId::R2rCustom, "Custom R2R ladder");
                ui.add_enabled_ui(s.custom_ladder.is_some(), |ui| {
                    egui::Grid::new("ladder-grid")
                        .num_columns(2)
                        .show(ui, |ui| {
                            ui.label("Bits");
                            ctl.choice(ui, ParamId::R2rBits);
                            ui.end_row();
                            ui.label("Resistor tolerance");
                            ctl.slider(ui, ParamId::R2rTolerance, 3);
                            ui.end_row();
                            ui.label("Coding");
                            ctl.combo(ui, ParamId::R2rCoding);
                            ui.end_row();
                            ui.label("Seed (one unit)");
                            ctl.drag_value(ui, ParamId::R2rSeed, 1.0, 0);
                            ui.end_row();
                        });
                });
            });
    });
}

fn converter_text(kind: &ConverterKind) -> String {
    match kind {
        ConverterKind::Ideal => "Ideal converter: the reference.".to_owned(),
        ConverterKind::R2r(l) => format!(
            "R2R ladder, {} bit, resistors ±{} %",
            l.bits, l.tolerance_pct
        ),
        ConverterKind::DeltaSigma { noise_dbfs } => {
            format!("Delta-sigma, in-band noise {noise_dbfs:.0} dBFS")
        }
    }
}

fn volume_law_text(law: &sourcery_dsp::amp::volume::VolumeLaw) -> String {
    format!(
        "Law: {:.1} dB at 25 %, {:.1} dB at 50 %, {:.1} dB at 75 %",
        law.gain_db(25.0),
        law.gain_db(50.0),
        law.gain_db(75.0)
    )
}
