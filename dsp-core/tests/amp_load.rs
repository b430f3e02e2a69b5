//! The amp and the load through the whole engine (host rate in and out): the load's
//! frequency response against the divider formula, level matching with a load, the amp's
//! noise floor and its 1 % clip point, each measured on the engine's output.

mod common;

use common::impulse_response;
use sourcery_dsp::amp::GainStep;
use sourcery_dsp::amp::{AmpSpec, Output, V_REF_VRMS};
use sourcery_dsp::analysis::{self, frequency_response, log_frequencies, tone};
use sourcery_dsp::load::{curve::ImpedanceCurve, divider, examples, CustomLoad, Network};
use sourcery_dsp::params::HEADPHONE_LABELS;
use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use sourcery_dsp::{Engine, Settings};

const IDEAL: DeviceSlot = DeviceSlot::IDEAL;
const K13: DeviceSlot = DeviceSlot(0);

fn headphone(name: &str) -> HeadphoneSlot {
    HEADPHONE_LABELS
        .iter()
        .position(|l| *l == name)
        .map(HeadphoneSlot)
        .unwrap_or_else(|| panic!("no headphone {name}"))
}

fn engine(settings: Settings, rate: f32, custom: CustomLoad) -> Engine {
    let mut e = Engine::with_custom_load(&settings, custom);
    e.prepare(rate, 512, 1);
    e
}

/// Deviation re 1 kHz (dB) of the engine's response at `freqs`.
fn deviation_db(ir: &[f32], rate: f64, freqs: &[f64]) -> Vec<f64> {
    let h = frequency_response(ir, rate, freqs);
    let h_1k = frequency_response(ir, rate, &[1000.0])[0];
    h.iter()
        .map(|h| 20.0 * (h.norm() / h_1k.norm()).log10())
        .collect()
}

/// The acceptance test, through the whole chain: for a flat planar load, an
/// HD600-like resonance and a multi-BA load swinging 3–40 Ω, each driven from 0.5, 2.2, 10
/// and 75 Ω, the engine's response divided by its response from 0 Ω equals the divider
/// formula within 0.02 dB from 20 Hz to 20 kHz (the DAC's own response cancels in the
/// ratio). Lumped loads run as IIRs in the analog domain.
#[test]
fn load_response_through_the_engine_matches_the_divider_formula() {
    let rate = 48_000.0;
    let freqs = log_frequencies(20.0, 20_000.0, 12.0);
    let len = 1 << 15;
    let loads = [
        ("HIFIMAN Edition XS", examples::FLAT_PLANAR),
        ("Sennheiser HD600", examples::HD600_LIKE),
        ("Campfire Andromeda 2020", examples::MULTI_BA),
    ];
    for (name, network) in loads {
        let network = Network::parse(network).unwrap();
        let base = Settings {
            device: IDEAL,
            headphone: headphone(name),
            z_out_custom: true,
            z_out_ohms: 0.0,
            ..Settings::default()
        };
        let mut e = engine(base, rate as f32, CustomLoad::default());
        let reference = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
        let mut worst = 0.0f64;
        for z_out in [0.5f32, 2.2, 10.0, 75.0] {
            e.apply_now(&Settings {
                z_out_ohms: z_out,
                ..base
            });
            let measured = deviation_db(&impulse_response(&mut e, len), rate, &freqs);
            let h_1k = divider(network.impedance(1000.0), f64::from(z_out));
            for ((f, m), r) in freqs.iter().zip(&measured).zip(&reference) {
                let formula = 20.0
                    * (divider(network.impedance(*f), f64::from(z_out)).norm() / h_1k.norm())
                        .log10();
                let err = (m - r - formula).abs();
                worst = worst.max(err);
                assert!(
                    err < 0.02,
                    "{name}, Z_out {z_out} Ω, {f:.0} Hz: {:.4} dB vs formula {formula:.4} dB",
                    m - r
                );
            }
        }
        println!("{name}: worst deviation from the formula {worst:.5} dB");
    }
}

/// The same through an imported curve (the multi-BA load sampled at 1/48 octave and written
/// as a REW `.zma`), which runs as a minimum-phase FIR at the host rate; and level matching
/// holds the 1 kHz level at 0 dB with a 75 Ω source on it.
#[test]
fn imported_curve_through_the_engine_matches_the_divider_formula() {
    let rate = 44_100.0;
    let network = Network::parse(examples::MULTI_BA).unwrap();
    let sampled = ImpedanceCurve::from_network(&network, &log_frequencies(10.0, 40_000.0, 48.0));
    let custom = CustomLoad::default();
    custom
        .import("multi-ba.zma", &sampled.to_zma())
        .expect("valid");
    let base = Settings {
        device: IDEAL,
        headphone: HeadphoneSlot::CUSTOM,
        z_out_custom: true,
        z_out_ohms: 0.0,
        ..Settings::default()
    };
    let freqs = log_frequencies(20.0, 20_000.0, 12.0);
    let mut e = engine(base, rate as f32, custom);
    let reference = deviation_db(&impulse_response(&mut e, 1 << 15), rate, &freqs);
    let z_out = 75.0;
    e.apply_now(&Settings {
        z_out_ohms: z_out as f32,
        ..base
    });
    let ir = impulse_response(&mut e, 1 << 15);
    let measured = deviation_db(&ir, rate, &freqs);

    let curve = |f: f64| divider(sampled.impedance(f), z_out);
    let mut worst = 0.0f64;
    for ((f, m), r) in freqs.iter().zip(&measured).zip(&reference) {
        let formula = 20.0 * (curve(*f).norm() / curve(1000.0).norm()).log10();
        worst = worst.max((m - r - formula).abs());
    }
    println!("imported multi-BA, 75 Ω: worst {worst:.5} dB");
    assert!(worst < 0.02, "worst {worst:.4} dB");

    // Level match: 1 kHz in = 1 kHz out, although the divider takes ~19 dB there.
    let x: Vec<f32> = (0..(rate as usize / 2))
        .map(|i| (0.25 * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    let mut y = x.clone();
    e.reset();
    e.process(&mut [&mut y[..]]);
    let level = tone(&y[4096..], rate, 1000.0).level_db - tone(&x[4096..], rate, 1000.0).level_db;
    let divider_db = 20.0 * curve(1000.0).norm().log10();
    println!("level matched: {level:.4} dB (the divider alone: {divider_db:.2} dB)");
    assert!(level.abs() < 0.01, "{level:.4} dB");
    assert!(divider_db < -15.0);
}

/// Silence in, absolute levels: the engine's output noise, A-weighted, is the device's
/// published figure (K13 SE high gain < 9.4 µV(A); K7 is an estimate) across a 32 Ω
/// resistor, ±0.3 dB. In level-matched mode the noise relative to full scale rises dB for
/// dB as the volume falls (SNR falls with the volume).
#[test]
fn noise_floor_through_the_engine() {
    let rate = 48_000.0;
    let seconds = 2.0;
    // The K13's DAC is 30 dB quieter than its amp, so the output noise is the amp's. (The
    // K7's delta-sigma noise floor, −121 dBFS before the volume control, adds to its amp's
    // estimated 4 µV at full volume, as it would in the device.)
    {
        let (device, spec) = (K13, AmpSpec::k13_r2r());
        let settings = Settings {
            device,
            headphone: HeadphoneSlot::RESISTIVE,
            load_ohms: 32.0,
            gain: GainStep::High,
            volume_pct: 100.0,
            level_match: false,
            ..Settings::default()
        };
        let mut e = engine(settings, rate as f32, CustomLoad::default());
        let mut x = vec![0.0f32; (rate * seconds) as usize];
        e.process(&mut [&mut x[..]]);
        let settle = e.latency_samples() + 4800;
        // Digital RMS → volts: a 1 Vrms sine reads as a 0 dBFS sine (peak 1, RMS 1/√2).
        let volts = analysis::noise_rms_a_weighted(&x[settle..], rate)
            * std::f64::consts::SQRT_2
            * V_REF_VRMS;
        let out = spec.output(Output::Se);
        let published = out.gains[2].noise_uv_a * 1e-6 * 32.0 / (32.0 + out.z_out_ohms);
        let err = 20.0 * (volts / published).log10();
        println!(
            "{}: noise {:.2} µV(A) across 32 Ω (spec {:.2}): {err:+.2} dB",
            spec.name,
            volts * 1e6,
            published * 1e6
        );
        assert!(err.abs() < 0.3, "{}: {err:.2} dB", spec.name);
    }

    // SNR vs volume (level-matched): noise re the matched full scale.
    let noise_at = |volume: f32| {
        let settings = Settings {
            device: K13,
            headphone: HeadphoneSlot::RESISTIVE,
            gain: GainStep::High,
            volume_pct: volume,
            ..Settings::default()
        };
        let mut e = engine(settings, rate as f32, CustomLoad::default());
        let mut x = vec![0.0f32; rate as usize];
        e.process(&mut [&mut x[..]]);
        let settle = e.latency_samples() + 4800;
        20.0 * analysis::noise_rms_a_weighted(&x[settle..], rate).log10()
    };
    let law = AmpSpec::k13_r2r().volume;
    let (full, lower) = (noise_at(100.0), noise_at(60.0));
    let expected = law.gain_db(100.0) - law.gain_db(60.0);
    println!("K13: matched noise {full:.1} dBFS at 100 %, {lower:.1} dBFS at 60 % (law: {expected:.1} dB)");
    assert!((lower - full - expected).abs() < 0.3);
}

/// The amp clips where the device's rated power says (THD+N = 1 %), measured on the
/// engine's host-rate output: K13 SE high gain into a 32 Ω resistor, 6.2 Vrms (1220 mW),
/// and BAL, 8.8 Vrms (2400 mW), ±0.25 dB.
#[test]
fn rated_power_through_the_engine() {
    let rate = 48_000.0;
    for (output, published_vrms) in [(Output::Se, 6.2f64), (Output::Bal, 8.8)] {
        let settings = Settings {
            device: K13,
            output,
            gain: GainStep::High,
            volume_pct: 100.0,
            headphone: HeadphoneSlot::RESISTIVE,
            load_ohms: 32.0,
            level_match: false,
            ..Settings::default()
        };
        let mut e = engine(settings, rate as f32, CustomLoad::default());
        // THD+N and output Vrms for a 1 kHz input at `level` (digital peak).
        let mut run = |level: f64| {
            e.reset();
            let n = (rate * 0.3) as usize;
            let mut x: Vec<f32> = (0..n)
                .map(|i| (level * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin()) as f32)
                .collect();
            e.process(&mut [&mut x[..]]);
            let y = &x[e.latency_samples() + 2400..];
            let thd = analysis::thd_n(y, rate, 1000.0, (20.0, 20_000.0)).thd_n_db;
            let vrms = tone(y, rate, 1000.0).amplitude * V_REF_VRMS; // peak 1 ↔ 1 Vrms
            (thd, vrms)
        };
        // Bisection on the input level for THD+N = −40 dB (1 %).
        let (mut lo, mut hi) = (0.05f64, 4.0f64);
        for _ in 0..40 {
            let mid = (lo * hi).sqrt();
            if run(mid).0 < -40.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (_, vrms) = run(lo);
        let err = 20.0 * (vrms / published_vrms).log10();
        println!(
            "K13 {}: THD+N 1 % at {vrms:.2} Vrms into 32 Ω ({:.0} mW; published {published_vrms} Vrms): {err:+.2} dB",
            output.label(),
            vrms * vrms / 32.0 * 1000.0
        );
        assert!(err.abs() < 0.25, "{err:.2} dB");
    }
}

/// Every catalogue headphone drives the engine; the imported-curve entry without a curve
/// falls back to the resistor; nothing leaves the engine non-finite.
#[test]
fn every_headphone_runs() {
    assert_eq!(
        Catalogue::factory().headphones().len() + 2,
        HEADPHONE_LABELS.len()
    );
    for (index, label) in HEADPHONE_LABELS.iter().enumerate() {
        let settings = Settings {
            headphone: HeadphoneSlot(index),
            z_out_custom: true,
            z_out_ohms: 75.0,
            ..Settings::default()
        };
        let mut e = engine(settings, 44_100.0, CustomLoad::default());
        let mut x: Vec<f32> = (0..8192).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
        e.process(&mut [&mut x[..]]);
        assert!(x.iter().all(|v| v.is_finite()), "{label}");
    }
}
