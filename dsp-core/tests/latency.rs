//! The engine's latency is one number per host rate and decimator: every device, mode, OS
//! filter and DAC rate runs at it (its own chain padded to it), and an impulse peaks there.
//! Offline, a structural change is built in the block where it arrives; `install_now` runs
//! a voicing from sample 0.

use sourcery_dsp::analog::decimator::DecimatorPhase;
use sourcery_dsp::analysis::impulse_peak;
use sourcery_dsp::dac::{DacMode, DacRate, OsFilter};
use sourcery_dsp::presets::{Catalogue, DeviceSlot};
use sourcery_dsp::{Engine, Settings};

/// The impulse peak of `e` (from rest).
fn peak(e: &mut Engine) -> usize {
    let mut x = vec![0.0f32; e.latency_samples() + 4096];
    x[0] = 0.5;
    e.reset();
    e.process(&mut [&mut x[..]]);
    impulse_peak(&x)
}

/// Every device × OS (each filter, and the device's own) and NOS, and the K13 at every DAC
/// rate, at 44.1 and 96 kHz with both decimators: the engine reports one latency per host
/// rate (the decimator does not move it either), and the impulse peaks at it.
#[test]
fn the_latency_is_the_same_for_every_voicing() {
    let catalogue = Catalogue::factory();
    let mut variants: Vec<Settings> = Vec::new();
    for device in catalogue.devices() {
        let base = Settings {
            device: DeviceSlot(device.slot),
            ..Settings::default()
        };
        variants.push(base);
        variants.push(Settings {
            dac_mode: DacMode::Nos,
            ..base
        });
        for &filter in OsFilter::ALL {
            variants.push(Settings {
                os_filter: Some(filter),
                ..base
            });
        }
    }
    for &rate in &DacRate::ALL[1..] {
        for mode in [DacMode::Os, DacMode::Nos] {
            variants.push(Settings {
                dac_rate: rate,
                dac_mode: mode,
                os_filter: Some(OsFilter::ReferenceLinear),
                ..Settings::default()
            });
        }
    }
    for host in [44_100.0f32, 96_000.0] {
        let mut per_decimator = Vec::new();
        for decimator in [DecimatorPhase::Linear, DecimatorPhase::Minimum] {
            let first = Settings {
                decimator,
                ..variants[0]
            };
            let mut e = Engine::new(&first);
            e.prepare(host, 512, 1);
            let latency = e.latency_samples();
            let mut own = Vec::new();
            for v in &variants {
                let settings = Settings { decimator, ..*v };
                e.apply_now(&settings);
                assert_eq!(e.latency_samples(), latency, "{host} Hz {settings:?}");
                assert_eq!(peak(&mut e), latency, "{host} Hz {settings:?}");
                own.push(e.chain().unwrap().latency_samples());
            }
            let (lo, hi) = (own.iter().min().unwrap(), own.iter().max().unwrap());
            println!(
                "{host} Hz, {decimator:?}: latency {latency} for {} voicings (own {lo}…{hi})",
                variants.len()
            );
            assert!(hi <= &latency && lo < hi);
            per_decimator.push(latency);
        }
        assert_eq!(per_decimator[0], per_decimator[1], "{host} Hz");
        // The linear decimator's bound is the one the engine uses: the larger.
        let layout = sourcery_dsp::clocks::ChainLayout {
            host_rate: f64::from(host),
            max_block: 512,
            channels: 1,
        };
        let bound = |d| sourcery_dsp::chain::latency_bound(layout, d, &[44_100.0, 48_000.0]);
        assert!(bound(DecimatorPhase::Minimum) <= bound(DecimatorPhase::Linear));
    }
}

/// Offline, a structural change set between two blocks is in the output from that block
/// on (after the 5 ms swap fade), whatever the worker's speed: two runs are bit-identical,
/// and the NOS droop is there 10 ms after the change.
#[test]
fn offline_changes_are_built_in_their_block() {
    let rate = 48_000.0f32;
    let n = 48_000;
    let change = 12_000;
    let run = || {
        let mut e = Engine::new(&Settings::default());
        e.prepare(rate, 256, 1);
        e.set_offline(true);
        let mut x: Vec<f32> = (0..n)
            .map(|i| 0.4 * (std::f32::consts::TAU * 20_000.0 * i as f32 / rate).sin())
            .collect();
        e.process(&mut [&mut x[..change]]);
        e.set_settings(&Settings {
            dac_mode: DacMode::Nos,
            ..Settings::default()
        });
        e.process(&mut [&mut x[change..]]);
        assert_eq!(e.chain().unwrap().mode(), DacMode::Nos);
        (x, e.latency_samples())
    };
    let (a, latency) = run();
    let (b, _) = run();
    assert_eq!(a, b, "offline renders are reproducible");
    let level = |x: &[f32]| sourcery_dsp::analysis::tone(x, f64::from(rate), 20_000.0).level_db;
    let settle = latency + 480;
    let before = level(&a[settle..change]);
    let after = level(&a[change + settle + 480..]);
    println!("20 kHz: {before:.3} dB in OS, {after:.3} dB in NOS");
    // The 48 kHz hold's droop at 20 kHz is −2.6 dB.
    assert!(before - after > 2.0, "{before} → {after}");
}

/// `install_now` runs the settings' chain from sample 0 with no fade: its output equals an
/// engine prepared with those settings, sample for sample.
#[test]
fn install_now_runs_the_voicing_from_sample_0() {
    let rate = 44_100.0f32;
    let nos = Settings {
        dac_mode: DacMode::Nos,
        ..Settings::default()
    };
    let input: Vec<f32> = (0..8192).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect();
    let mut reference = Engine::new(&nos);
    reference.prepare(rate, 512, 1);
    let mut expected = input.clone();
    reference.process(&mut [&mut expected[..]]);
    let mut e = Engine::new(&Settings::default());
    e.prepare(rate, 512, 1);
    assert!(e.install_now(&nos));
    let mut got = input.clone();
    e.process(&mut [&mut got[..]]);
    assert_eq!(got, expected);
}

/// The A/B comparison with every device as the reference, main in OS and in NOS: comparing
/// reports the main engine's latency (no alignment delay anywhere), and an impulse through
/// A and through B peaks at it.
#[test]
fn comparing_with_any_reference_keeps_the_latency() {
    use sourcery_dsp::compare::Comparator;
    use sourcery_dsp::load::CustomLoad;
    let rate = 48_000.0f32;
    let catalogue = Catalogue::factory();
    let mut checked = 0;
    for mode in [DacMode::Os, DacMode::Nos] {
        let main_settings = Settings {
            dac_mode: mode,
            ..Settings::default()
        };
        let mut main = Engine::new(&main_settings);
        main.prepare(rate, 512, 2);
        let latency = main.latency_samples();
        for device in catalogue.devices() {
            let reference = DeviceSlot(device.slot);
            let mut comp = Comparator::new(&main_settings, CustomLoad::default());
            comp.prepare(rate, 512, 2);
            assert_eq!(comp.latency_samples(&main), latency);
            comp.start_running(&main, &main_settings, reference);
            let what = format!("{mode:?}, reference {}", device.id);
            assert_eq!(comp.latency_samples(&main), latency, "{what}");
            for play_reference in [false, true] {
                // Settle the crossfade to the side under test, then an impulse from rest.
                let mut silence = [vec![0.0f32; 4096], vec![0.0f32; 4096]];
                let [l, r] = &mut silence;
                comp.process(
                    &mut main,
                    &mut [&mut l[..], &mut r[..]],
                    true,
                    play_reference,
                );
                main.reset();
                comp.reset();
                let mut l = vec![0.0f32; latency + 4096];
                l[0] = 0.5;
                let mut r = l.clone();
                comp.process(
                    &mut main,
                    &mut [&mut l[..], &mut r[..]],
                    true,
                    play_reference,
                );
                assert_eq!(impulse_peak(&l), latency, "{what}, B {play_reference}");
                assert_eq!(impulse_peak(&r), latency, "{what}, B {play_reference}");
            }
            checked += 1;
        }
    }
    println!("comparing keeps latency at {rate} Hz for {checked} main × reference pairs");
}
