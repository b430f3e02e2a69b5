//! The PEQ in the engine: before the DAC, at the host rate, not compensated by level
//! matching; a headphone preset's PEQ arrives through the parameters exactly.

mod common;

use common::impulse_response;
use sourcery_dsp::analysis::{frequency_response, log_frequencies};
use sourcery_dsp::peq::{Band, FilterType};
use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use sourcery_dsp::settings::{headphone_peq, headphone_preset_values};
use sourcery_dsp::{Engine, ParamValues, Settings};

const IDEAL: DeviceSlot = DeviceSlot::IDEAL;

/// Magnitude (dB) of the engine's response at `freqs` (the whole impulse response, latency
/// included: a delay does not change the magnitude).
fn response_db(settings: Settings, rate: f64, freqs: &[f64]) -> Vec<f64> {
    let mut e = Engine::new(&settings);
    e.prepare(rate as f32, 512, 1);
    let x = impulse_response(&mut e, 1 << 15);
    frequency_response(&x, rate, freqs)
        .iter()
        .map(|h| 20.0 * h.norm().log10())
        .collect()
}

/// Level matching compensates the source and the load, not the user's EQ: with a 75 Ω
/// source on the Andromeda (the divider takes −19.4 dB at 1 kHz, which level matching
/// restores), a +6 dB peak at 1 kHz reads +6 dB. (The Ideal DAC, so that an impulse
/// measures the response: the K13's dithered ladder and amp hiss would add noise.)
#[test]
fn level_match_leaves_the_peq_alone() {
    let rate = 48_000.0;
    let mut settings = Settings {
        device: IDEAL,
        z_out_custom: true,
        z_out_ohms: 75.0,
        ..Settings::default()
    };
    let flat = response_db(settings, rate, &[1000.0])[0];
    settings.peq.bands[5] = Band::new(FilterType::Peak, 1000.0, 6.0, 1.0);
    let boosted = response_db(settings, rate, &[1000.0])[0];
    println!("1 kHz: {flat:+.4} dB flat, {boosted:+.4} dB with a +6 dB PK");
    assert!(flat.abs() < 0.01, "level match holds 1 kHz: {flat:.4}");
    assert!((boosted - flat - 6.0).abs() < 0.01, "{:.4}", boosted - flat);
}

/// A headphone preset (the parameter values an LV2 preset or the editor applies) sets the
/// headphone and its AutoEQ profile; the engine's response with it, divided by the same
/// headphone without PEQ, is the profile's RBJ response within 0.01 dB (20 Hz–20 kHz).
#[test]
fn headphone_preset_applies_its_peq() {
    let rate = 48_000.0;
    let freqs = log_frequencies(20.0, 20_000.0, 6.0);
    let catalogue = Catalogue::factory();
    let index = HeadphoneSlot::by_id("sennheiser-hd600").unwrap();
    let headphone = catalogue.headphone(index).unwrap();
    assert!(
        headphone.peq.is_some(),
        "the HD600 file carries its AutoEQ profile"
    );
    let mut values = ParamValues::default();
    values.set(sourcery_dsp::ParamId::Device, IDEAL.0 as f32);
    for (id, value) in headphone_preset_values(catalogue, index).unwrap() {
        values.set(id, value);
    }
    let with = Settings::from_values(&values);
    assert_eq!(with.headphone, index);
    let without = Settings {
        peq: Default::default(),
        ..with
    };
    let peq = headphone_peq(headphone);
    let (a, b) = (
        response_db(with, rate, &freqs),
        response_db(without, rate, &freqs),
    );
    let mut worst = 0.0f64;
    for ((f, a), b) in freqs.iter().zip(&a).zip(&b) {
        let expected = 20.0 * peq.response(*f, rate).norm().log10();
        worst = worst.max((a - b - expected).abs());
    }
    println!("HD600 preset: PEQ through the engine within {worst:.5} dB of its RBJ response");
    assert!(worst < 0.01, "{worst:.4} dB");
}
