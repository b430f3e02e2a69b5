//! The listener's own chain, through the whole engine: the source they listen through is
//! taken away from the load stage (`(Z_L + Z_yours)/(Z_L + Z_emulated)`), and calibrated SPL
//! reproduces the emulated source's absolute level and hiss through it.

mod common;

use std::f64::consts::{SQRT_2, TAU};

use common::impulse_response;
use sourcery_dsp::amp::GainStep;
use sourcery_dsp::analysis::{
    a_weighting_db, frequency_response, log_frequencies, spectrum, tone, Window, AUDIO_BAND_HZ,
};
use sourcery_dsp::load::{divider, drive, CustomLoad, ImpedanceCurve, Network};
use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use sourcery_dsp::settings::LevelMode;
use sourcery_dsp::{Engine, Settings};

fn device(id: &str) -> DeviceSlot {
    DeviceSlot::by_id(id).unwrap_or_else(|| panic!("no device {id}"))
}

fn headphone(id: &str) -> HeadphoneSlot {
    HeadphoneSlot::by_id(id).unwrap_or_else(|| panic!("no headphone {id}"))
}

fn network(slot: HeadphoneSlot) -> Network {
    Catalogue::factory()
        .headphone(slot)
        .expect("a catalogue headphone")
        .network
        .clone()
}

fn engine(settings: &Settings, rate: f64, custom: CustomLoad) -> Engine {
    let mut e = Engine::with_custom_load(settings, custom);
    e.prepare(rate as f32, 512, 1);
    e
}

/// Deviation re 1 kHz (dB) of the engine's response at `freqs`.
fn deviation_db(e: &mut Engine, rate: f64, freqs: &[f64]) -> Vec<f64> {
    let ir = impulse_response(e, 1 << 15);
    let h = frequency_response(&ir, rate, freqs);
    let h_1k = frequency_response(&ir, rate, &[1000.0])[0];
    h.iter()
        .map(|h| 20.0 * (h.norm() / h_1k.norm()).log10())
        .collect()
}

/// The K13 (SE, 0.4 Ω) on the Andromeda 2020.
fn k13_on_andromeda() -> Settings {
    Settings {
        device: device("fiio-k13-r2r"),
        headphone: headphone("campfire-andromeda-2020"),
        ..Settings::default()
    }
}

/// Your source's output impedance, by figure.
fn yours_ohms(settings: Settings, ohms: f32) -> Settings {
    let mut s = settings;
    s.yours.z_out_custom = true;
    s.yours.z_out_ohms = ohms;
    s
}

/// The acceptance test: the Andromeda heard through a 10 Ω laptop jack, asked for
/// the K13 (0.4 Ω). The engine's response, divided by the same chain with no output
/// impedance anywhere (which cancels the DAC's own response), equals
/// `(Z_L + 10)/(Z_L + 0.4)` re 1 kHz within 0.02 dB from 20 Hz to 20 kHz, at 44.1 and
/// 48 kHz — so what reaches the ear through the 10 Ω jack is the K13's divider. The same
/// for the curve imported from the same network (a FIR at the host rate).
#[test]
fn your_source_is_taken_away_from_the_load() {
    let freqs = log_frequencies(20.0, 20_000.0, 12.0);
    let andromeda = network(headphone("campfire-andromeda-2020"));
    let custom = CustomLoad::default();
    let curve = ImpedanceCurve::from_network(&andromeda, &log_frequencies(5.0, 40_000.0, 48.0));
    custom
        .import("andromeda.zma", &curve.to_zma())
        .expect("the curve imports");
    for rate in [44_100.0, 48_000.0] {
        for imported in [false, true] {
            let base = Settings {
                headphone: if imported {
                    HeadphoneSlot::CUSTOM
                } else {
                    k13_on_andromeda().headphone
                },
                ..k13_on_andromeda()
            };
            let bare = Settings {
                z_out_custom: true,
                z_out_ohms: 0.0,
                ..base
            };
            let mut e = engine(&bare, rate, custom.clone());
            let reference = deviation_db(&mut e, rate, &freqs);
            e.apply_now(&yours_ohms(base, 10.0));
            let measured = deviation_db(&mut e, rate, &freqs);
            let h_1k = drive(andromeda.impedance(1000.0), 0.4, 10.0).norm();
            let (mut worst, mut lo, mut hi) = (0.0f64, f64::MAX, f64::MIN);
            for ((f, m), r) in freqs.iter().zip(&measured).zip(&reference) {
                let formula =
                    20.0 * (drive(andromeda.impedance(*f), 0.4, 10.0).norm() / h_1k).log10();
                worst = worst.max((m - r - formula).abs());
                lo = lo.min(formula);
                hi = hi.max(formula);
            }
            println!(
                "{rate} Hz, {}: compensation {lo:+.2} … {hi:+.2} dB re 1 kHz, worst error {worst:.5} dB",
                if imported { "imported curve" } else { "network" }
            );
            assert!(worst <= 0.02, "{rate} {imported}: {worst} dB");
            assert!(hi - lo > 5.0, "the laptop jack's swing is several dB");
        }
    }
}

/// Your source equal to the emulated one: nothing to take away (flat within 0.001 dB), by
/// figure and by device (the K13 as your source). A resistor: flat too, whatever the two
/// impedances.
#[test]
fn equal_sources_and_resistors_are_flat() {
    let rate = 48_000.0;
    let freqs = log_frequencies(20.0, 20_000.0, 12.0);
    let base = k13_on_andromeda();
    let mut e = engine(
        &Settings {
            z_out_custom: true,
            z_out_ohms: 0.0,
            ..base
        },
        rate,
        CustomLoad::default(),
    );
    let reference = deviation_db(&mut e, rate, &freqs);
    let mut k13_as_yours = base;
    k13_as_yours.yours.source = base.device;
    let resistor = Settings {
        headphone: HeadphoneSlot::RESISTIVE,
        load_ohms: 32.0,
        ..yours_ohms(base, 10.0)
    };
    let mut resistor_reference = resistor;
    resistor_reference.yours.z_out_ohms = 0.4;
    for (name, settings, reference) in [
        ("yours = 0.4 Ω", yours_ohms(base, 0.4), reference.clone()),
        ("yours = the K13", k13_as_yours, reference.clone()),
        ("32 Ω resistor, yours 10 Ω", resistor, {
            e.apply_now(&resistor_reference);
            deviation_db(&mut e, rate, &freqs)
        }),
    ] {
        e.apply_now(&settings);
        let measured = deviation_db(&mut e, rate, &freqs);
        let worst = measured
            .iter()
            .zip(&reference)
            .map(|(m, r)| (m - r).abs())
            .fold(0.0f64, f64::max);
        println!("{name}: worst {worst:.2e} dB");
        assert!(worst <= 0.001, "{name}: {worst} dB");
    }
}

/// A 1 kHz sine through the engine in calibrated SPL: its level (dB re full scale).
fn calibrated_level_db(settings: &Settings, rate: f64, input_dbfs: f64) -> f64 {
    let mut e = engine(settings, rate, CustomLoad::default());
    assert_eq!(e.effective_level_mode(), LevelMode::Calibrated);
    let amplitude = 10f64.powf(input_dbfs / 20.0);
    let len = (rate * 0.4) as usize;
    let mut x: Vec<f32> = (0..len)
        .map(|i| (amplitude * (TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    e.process(&mut [&mut x[..]]);
    20.0 * tone(&x[len / 2..], rate, 1000.0).amplitude.log10()
}

/// Calibrated SPL: a 1 kHz sine leaves at (emulated SPL − your SPL at 0 dBFS), within
/// 0.01 dB, for volumes, your source's impedance and your SPL; the volume knob changes the
/// loudness as on the device.
#[test]
fn calibrated_output_level_is_the_emulated_spl_minus_yours() {
    let catalogue = Catalogue::factory();
    let rate = 48_000.0;
    let input_dbfs = -20.0;
    let mut worst = 0.0f64;
    for volume in [30.0f32, 50.0] {
        for yours in [0.0f32, 2.0, 10.0] {
            for spl in [95.0f32, 100.0, 110.0] {
                let mut s = Settings {
                    gain: GainStep::Low,
                    volume_pct: volume,
                    ..yours_ohms(k13_on_andromeda(), yours)
                };
                s.set_level_mode(LevelMode::Calibrated);
                s.yours.spl_db = spl;
                let emulated = s.spl_report(catalogue).expect("a sensitivity");
                let want = emulated.spl_full_scale_db + input_dbfs - f64::from(spl);
                let got = calibrated_level_db(&s, rate, input_dbfs);
                worst = worst.max((got - want).abs());
                assert!(
                    (got - want).abs() <= 0.01,
                    "volume {volume} %, yours {yours} Ω, {spl} dB SPL: {got:.4} vs {want:.4} dBFS"
                );
            }
        }
    }
    println!("worst error {worst:.4} dB");
}

/// The A-weighted hiss at the output of calibrated SPL, mapped back to the ear through your
/// chain (your SPL at 0 dBFS, your source's divider `Z_L/(Z_L + Z_yours)` re 1 kHz), in
/// dB SPL(A).
fn calibrated_hiss_spl(settings: &Settings, rate: f64) -> f64 {
    let mut e = engine(settings, rate, CustomLoad::default());
    let settle = e.latency_samples() + (0.1 * rate) as usize;
    let mut x = vec![0.0f32; settle + rate as usize];
    e.process(&mut [&mut x[..]]);
    let catalogue = Catalogue::factory();
    let load = &catalogue.headphone(settings.headphone).unwrap().network;
    let yours = settings.your_z_out_ohms(catalogue);
    let h_1k = divider(load.impedance(1000.0), yours).norm();
    let s = spectrum(&x[settle..], rate, Window::BlackmanHarris7);
    let (lo, hi) = AUDIO_BAND_HZ;
    let power: f64 = s
        .bins_in(lo, hi)
        .map(|k| {
            let f = s.freqs_hz[k];
            let yours = divider(load.impedance(f), yours).norm() / h_1k;
            s.bin_power[k] * 10f64.powf(a_weighting_db(f) / 10.0) * yours * yours
        })
        .sum();
    // A 0 dBFS sine (RMS 1/√2) plays at your SPL.
    f64::from(settings.yours.spl_db) + 20.0 * (power.sqrt() * SQRT_2).log10()
}

/// The K7 at low gain hisses audibly into the Andromeda 2020 (122.5 dB/mW) and not into the
/// Final E5000 (93 dB/mW), as the K7 review says; in calibrated SPL the output's hiss,
/// mapped back to the ear through your chain, equals the SPL report's within 0.2 dB (heard
/// through an ideal source and through a 10 Ω jack).
#[test]
fn calibrated_hiss_plays_at_its_real_spl() {
    let catalogue = Catalogue::factory();
    let rate = 48_000.0;
    for (phone, audible) in [("campfire-andromeda-2020", true), ("final-e5000", false)] {
        for yours in [0.0f32, 10.0] {
            let mut s = Settings {
                device: device("fiio-k7"),
                headphone: headphone(phone),
                gain: GainStep::Low,
                volume_pct: 50.0,
                ..yours_ohms(Settings::default(), yours)
            };
            s.set_level_mode(LevelMode::Calibrated);
            s.yours.spl_db = 100.0;
            let report = s.spl_report(catalogue).unwrap().noise_spl_db;
            let measured = calibrated_hiss_spl(&s, rate);
            println!(
                "K7 low gain into {phone}, yours {yours} Ω: hiss {measured:.2} dB SPL(A), report {report:.2}"
            );
            assert!((measured - report).abs() <= 0.2, "{phone} {yours}");
            assert_eq!(measured > 0.0, audible, "{phone}: {measured:.2} dB SPL(A)");
        }
    }
}

/// When the emulated source plays louder than your chain can (its 0 dBFS), the output is
/// limited to full scale, and the limiter reports by how much; a headphone without a
/// sensitivity falls back to level matching.
#[test]
fn calibrated_spl_limits_at_your_full_scale() {
    let catalogue = Catalogue::factory();
    let rate = 48_000.0;
    let mut s = Settings {
        device: device("fiio-k13-r2r"),
        headphone: headphone("sennheiser-hd600"),
        gain: GainStep::High,
        volume_pct: 100.0,
        ..Settings::default()
    };
    s.set_level_mode(LevelMode::Calibrated);
    s.yours.spl_db = 100.0;
    let report = s.spl_report(catalogue).unwrap();
    // A −12 dBFS sine would leave at this many dBFS.
    let over = report.spl_full_scale_db - 12.0 - 100.0;
    assert!(
        over > 3.0,
        "the case is louder than the chain: {over:.2} dB"
    );
    let mut e = engine(&s, rate, CustomLoad::default());
    let len = (rate * 0.5) as usize;
    let amplitude = 10f64.powf(-12.0 / 20.0);
    let mut x: Vec<f32> = (0..len)
        .map(|i| (amplitude * (TAU * 1000.0 * i as f64 / rate).sin()) as f32)
        .collect();
    e.process(&mut [&mut x[..]]);
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let reduction = e.take_limiter_reduction_db();
    let level = 20.0 * tone(&x[len / 2..], rate, 1000.0).amplitude.log10();
    println!("{over:.2} dB over: peak {peak}, limited by {reduction:.2} dB, level {level:.3} dBFS");
    assert!(peak <= 1.0);
    assert!(
        (f64::from(reduction) - over).abs() < 0.1,
        "{reduction} vs {over}"
    );
    assert!(level.abs() < 0.05);

    // No sensitivity (a resistor): calibrated falls back to the level-matched output.
    let resistor = Settings {
        headphone: HeadphoneSlot::RESISTIVE,
        gain: GainStep::Low,
        volume_pct: 50.0,
        ..s
    };
    let e = engine(&resistor, rate, CustomLoad::default());
    assert_eq!(e.effective_level_mode(), LevelMode::Matched);
    let level = |settings: &Settings| {
        let mut e = engine(settings, rate, CustomLoad::default());
        let mut x: Vec<f32> = (0..len)
            .map(|i| (0.25 * (TAU * 1000.0 * i as f64 / rate).sin()) as f32)
            .collect();
        e.process(&mut [&mut x[..]]);
        tone(&x[len / 2..], rate, 1000.0).amplitude
    };
    let mut matched = resistor;
    matched.set_level_mode(LevelMode::Matched);
    assert!((level(&resistor) / level(&matched) - 1.0).abs() < 1e-6);
}
