//! VST3 host tests: the built `Sourcery.vst3` loaded by pedalboard (PyPI), headless.
//! Each test runs one check of `tests/vst3_host.py`.

use std::process::Command;

use sourcery_tests::{bundle, skip_unless, workspace_root};

fn have_pedalboard() -> bool {
    Command::new("python3")
        .args(["-c", "import pedalboard, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_check(check: &str) {
    run_check_with(check, &[]);
}

fn run_check_with(check: &str, args: &[&std::path::Path]) {
    if !skip_unless(
        have_pedalboard(),
        "python3 with pedalboard and numpy",
        "Install them with `pip install pedalboard numpy`.",
    ) {
        return;
    }
    let Some(vst3) = bundle("Sourcery.vst3") else {
        return;
    };
    let script = workspace_root().join("tests/vst3_host.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&vst3)
        .arg(check)
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "VST3 check '{check}' failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

#[test]
fn vst3_parameters_are_listed_and_settable_by_label() {
    run_check("params");
}

#[test]
fn vst3_level_stereo_and_mono() {
    run_check("level");
}

#[test]
fn vst3_state_round_trip_gives_identical_output() {
    run_check("state");
}

#[test]
fn vst3_non_finite_input_never_poisons_output() {
    run_check("bad_input");
}

#[test]
fn vst3_your_chain_and_calibrated_spl() {
    run_check("your_chain");
}

/// The normalised value a VST3 host sets for a plain value of `spec` (nice-plug's mapping
/// of the parameter table: linear, or skewed so that `skew_center` sits at 0.5).
fn normalised(spec: &sourcery_dsp::ParamSpec, plain: f32) -> f64 {
    use sourcery_dsp::ParamKind;
    let (min, max) = (f64::from(spec.min()), f64::from(spec.max()));
    let x = (f64::from(plain) - min) / (max - min);
    match spec.kind {
        ParamKind::Float {
            skew_center: Some(center),
            ..
        } => {
            let c = (f64::from(center) - min) / (max - min);
            x.powf(0.5f64.ln() / c.ln())
        }
        _ => x,
    }
}

/// pedalboard's key of a parameter: its name and unit in snake case.
fn pedalboard_key(name: &str) -> String {
    let mut key = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

#[test]
fn vst3_a_saved_user_preset_set_through_the_host_equals_the_renderer() {
    use sourcery_dsp::presets::{factory_presets, read_preset, save_user_preset, Preset};
    use sourcery_dsp::{ParamId, ParamValues, Settings};
    if !skip_unless(
        have_pedalboard(),
        "python3 with pedalboard and numpy",
        "Install them with `pip install pedalboard numpy`.",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sourcery-vst3-preset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A user preset: the K7 + Andromeda pairing at 40 % volume, saved and read back.
    let mut values = ParamValues::default();
    factory_presets()
        .iter()
        .find(|p| p.name == "K7 + Andromeda")
        .expect("the pairing")
        .apply_to(&mut values);
    values.set(ParamId::Volume, 40.0);
    let file =
        save_user_preset(&dir, &Preset::from_values("VST3 test", &values), true).expect("save");
    let preset = read_preset(&file).expect("read back");
    let mut json = String::from("{");
    let defaults = ParamValues::default();
    for &(id, value) in &preset.values {
        if value != defaults.get(id) {
            let spec = id.spec();
            json.push_str(&format!(
                "\"{}\": {},",
                pedalboard_key(&format!("{} {}", spec.name, spec.unit)),
                normalised(spec, value)
            ));
        }
    }
    json.pop();
    json.push('}');
    let values_path = dir.join("values.json");
    std::fs::write(&values_path, json).unwrap();
    let sr = 48_000.0;
    let input = vec![
        sourcery_tests::sine(1000.0, sr, 24_000, 0.5),
        sourcery_tests::sine(3000.0, sr, 24_000, 0.25),
    ];
    let raw: Vec<u8> = input
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let input_path = dir.join("in.f32");
    let output_path = dir.join("out.f32");
    std::fs::write(&input_path, raw).unwrap();
    run_check_with("preset", &[&values_path, &input_path, &output_path]);
    if !output_path.exists() {
        return; // skipped
    }
    let bytes = std::fs::read(&output_path).unwrap();
    let out: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let frames = out.len() / 2;
    let output = [out[..frames].to_vec(), out[frames..].to_vec()];
    let mut settings_values = ParamValues::default();
    preset.apply_to(&mut settings_values);
    let settings = Settings::from_values(&settings_values);
    let rendered =
        sourcery_dsp::render::render_blocks(&settings, &input, sr as f32, 512, &mut |_| {});
    // pedalboard compensates the reported latency (checked: the lag that fits best is
    // used, 0 or the latency). The source's hiss is random noise whose realisation depends
    // on when a real-time instance built its chain, so the comparison is of what is
    // deterministic: each tone's amplitude and phase in each channel (least squares over
    // whole periods, after the 20 ms parameter ramps), and the level of what is left (the
    // hiss), which must agree within 0.5 dB.
    let mut engine = sourcery_dsp::Engine::new(&settings);
    engine.prepare(sr as f32, 512, 2);
    let latency = engine.latency_samples();
    let (start, len) = (2_400, 19_200); // 400 periods of 1 kHz, 1200 of 3 kHz
    let fit = |x: &[f32], lag: usize| {
        let x = &x[start + lag..start + lag + len];
        let mut residual: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let mut tones = Vec::new();
        for f in [1000.0, 3000.0] {
            let w = 2.0 * std::f64::consts::PI * f / sr;
            let (mut s, mut c) = (0.0, 0.0);
            for (n, v) in x.iter().enumerate() {
                let t = w * (start + n) as f64;
                s += f64::from(*v) * t.sin();
                c += f64::from(*v) * t.cos();
            }
            let (s, c) = (2.0 * s / len as f64, 2.0 * c / len as f64);
            for (n, r) in residual.iter_mut().enumerate() {
                let t = w * (start + n) as f64;
                *r -= s * t.sin() + c * t.cos();
            }
            tones.push((s, c));
        }
        let rms = (residual.iter().map(|r| r * r).sum::<f64>() / len as f64).sqrt();
        (tones, rms)
    };
    let tone_error = |lag: usize| {
        let mut worst = 0.0f64;
        for (r, o) in rendered.iter().zip(&output) {
            let ((a, _), (b, _)) = (fit(r, 0), fit(o, lag));
            for ((s1, c1), (s2, c2)) in a.iter().zip(&b) {
                worst = worst.max((s1 - s2).hypot(c1 - c2));
            }
        }
        worst
    };
    let (e0, el) = (tone_error(0), tone_error(latency));
    let lag = if e0 <= el { 0 } else { latency };
    let tone = e0.min(el);
    let (hiss_render, hiss_vst3) = (fit(&rendered[0], 0).1, fit(&output[0], lag).1);
    let hiss_db = 20.0 * (hiss_vst3 / hiss_render).log10();
    let amplitude = fit(&rendered[0], 0).0[0]
        .0
        .hypot(fit(&rendered[0], 0).0[0].1);
    println!(
        "VST3 preset by host parameters vs renderer: tones within {tone:e} (1 kHz amplitude \
         {amplitude:.4}); hiss {:.1} vs {:.1} dBFS rms ({hiss_db:+.3} dB); lag {lag}",
        20.0 * hiss_vst3.log10(),
        20.0 * hiss_render.log10()
    );
    assert!(amplitude > 0.05, "the preset's output is not silent");
    assert!(
        tone <= 1e-4 * amplitude.max(1.0),
        "tones differ by {tone:e}"
    );
    assert!(hiss_db.abs() <= 0.5, "hiss differs by {hiss_db:+.2} dB");
    let _ = std::fs::remove_dir_all(&dir);
}
