use super::*;
use crate::analog::decimator::DecimatorPhase;
use crate::analog::lowpass::AnalogLowpass;
use crate::analog::AnalogConfig;
use crate::analysis::{impulse_peak, tone};
use crate::dac::{DacConfig, OsFilter};

fn layout(host_rate: f64, channels: usize) -> ChainLayout {
    ChainLayout {
        host_rate,
        max_block: 512,
        channels,
    }
}

fn nos_ideal(dac_rate_hz: Option<f64>) -> DacConfig {
    DacConfig {
        mode: DacMode::Nos,
        dac_rate_hz,
        hold: true,
        ..DacConfig::IDEAL
    }
}

/// A DAC alone, with the linear decimator or another.
fn chain(dac: DacConfig, decimator: DecimatorPhase, layout: ChainLayout) -> Chain {
    Chain::new(
        &ChainConfig {
            decimator,
            ..ChainConfig::dac_only(dac, AnalogConfig::CLEAN)
        },
        layout,
    )
}

/// Level (dB) of a sine of `freq_hz` through the stage, relative to its input level.
fn level_db(stage: &mut Chain, freq_hz: f64, seconds: f64) -> f64 {
    let rate = stage.layout().host_rate;
    let n = (rate * seconds) as usize;
    let mut x: Vec<f32> = (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * freq_hz * i as f64 / rate).sin()) as f32)
        .collect();
    stage.reset();
    stage.process(&mut [&mut x[..]]);
    let skip = stage.latency_samples() + (rate * 0.01) as usize;
    tone(&x[skip..], rate, freq_hz).level_db - 20.0 * 0.5f64.log10()
}

fn sinc_db(freq_hz: f64, fs: f64) -> f64 {
    let x = std::f64::consts::PI * freq_hz / fs;
    20.0 * (x.sin() / x).log10()
}

#[test]
fn nos_droop_at_20_khz_matches_the_zero_order_hold() {
    // devices.md: −3.17 dB (44.1 kHz), −2.64 dB (48 kHz), −0.63 dB (96 kHz), ±0.05 dB.
    for (rate, published) in [(44_100.0, -3.17), (48_000.0, -2.64), (96_000.0, -0.63)] {
        let mut stage = chain(nos_ideal(None), DecimatorPhase::Linear, layout(rate, 1));
        let droop = level_db(&mut stage, 20_000.0, 0.25) - level_db(&mut stage, 1000.0, 0.25);
        println!(
            "NOS at {rate} Hz: 20 kHz {droop:.3} dB (formula {:.3})",
            sinc_db(20_000.0, rate) - sinc_db(1000.0, rate)
        );
        assert!(
            (droop - published).abs() <= 0.05,
            "{rate} Hz: {droop:.3} dB vs {published}"
        );
    }
}

#[test]
fn nos_at_44_1_khz_in_a_96_khz_session_shows_the_44_1_khz_droop() {
    let mut stage = chain(
        nos_ideal(Some(44_100.0)),
        DecimatorPhase::Linear,
        layout(96_000.0, 1),
    );
    assert_eq!((stage.clocks().m, stage.clocks().dac_rate), (1, 44_100.0));
    let droop = level_db(&mut stage, 20_000.0, 0.25) - level_db(&mut stage, 1000.0, 0.25);
    println!("NOS 44.1 kHz in 96 kHz: 20 kHz {droop:.3} dB");
    assert!((droop + 3.17).abs() <= 0.05, "{droop:.3} dB");
    // And the 44.1 kHz material is band-limited: 30 kHz (above 22.05 kHz) is gone.
    let gone = level_db(&mut stage, 30_000.0, 0.25);
    assert!(gone < -90.0, "30 kHz through a 44.1 kHz DAC: {gone:.1} dB");
}

#[test]
fn ideal_os_chain_is_flat_to_20_khz_within_0_01_db() {
    for rate in [44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0] {
        let mut stage = chain(DacConfig::IDEAL, DecimatorPhase::Linear, layout(rate, 1));
        let reference = level_db(&mut stage, 1000.0, 0.1);
        assert!(reference.abs() < 0.01, "{rate}: 1 kHz at {reference} dB");
        for f in [20.0, 100.0, 10_000.0, 20_000.0] {
            let l = level_db(&mut stage, f, if f < 100.0 { 1.0 } else { 0.1 });
            assert!(l.abs() < 0.01, "{rate} Hz host, {f} Hz: {l:.4} dB");
        }
    }
}

/// The independently measured impulse peak of a built stage (with its real converter).
fn measured_peak(stage: &mut Chain) -> usize {
    let n = 16_384;
    let mut x = vec![0.0f32; n];
    x[0] = 0.5;
    stage.reset();
    stage.process(&mut [&mut x[..]]);
    impulse_peak(&x)
}

#[test]
fn latency_equals_the_measured_impulse_peak_for_every_rate_and_filter() {
    let rates = [
        44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0, 352_800.0, 384_000.0,
    ];
    let mut cases = Vec::new();
    for rate in rates {
        for decimator in DecimatorPhase::ALL.iter().copied() {
            cases.push((rate, DacConfig::IDEAL, decimator));
            cases.push((rate, nos_ideal(None), decimator));
        }
    }
    for filter in OsFilter::ALL.iter().copied() {
        for decimator in DecimatorPhase::ALL.iter().copied() {
            let dac = DacConfig {
                os_filter: filter,
                hold: true,
                ..DacConfig::IDEAL
            };
            cases.push((44_100.0, dac, decimator));
        }
    }
    for (rate, dac, decimator) in cases {
        let mut stage = chain(dac, decimator, layout(rate, 1));
        let peak = measured_peak(&mut stage);
        assert_eq!(
            stage.latency_samples(),
            peak,
            "{rate} Hz, {:?} {:?} {decimator:?}",
            dac.mode,
            dac.os_filter,
        );
    }
}

#[test]
fn split_blocks_and_reset_are_reproducible() {
    let config = ChainConfig::dac_only(
        DacConfig {
            converter: ConverterKind::R2r(LadderConfig::default()),
            hold: true,
            mode: DacMode::Os,
            os_filter: OsFilter::R2rOs,
            ..DacConfig::IDEAL
        },
        AnalogConfig {
            lowpass: Some(AnalogLowpass {
                corner_hz: 88_000.0,
                match_hz: 80_000.0,
            }),
            harmonics: HarmonicProfile::from_dbc(
                -6.0,
                [-80.0, -82.0, -400.0, -400.0, -400.0, -400.0, -400.0, -400.0],
                [1.0; 8],
            ),
        },
    );
    let input: Vec<f32> = (0..6000).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
    let mut a = Chain::new(&config, layout(48_000.0, 2));
    let (mut l1, mut r1) = (input.clone(), input.clone());
    a.process(&mut [&mut l1[..], &mut r1[..]]);
    let mut b = Chain::new(&config, layout(48_000.0, 2));
    let (mut l2, mut r2) = (input.clone(), input.clone());
    let sizes = [1usize, 7, 64, 512, 13, 333];
    let mut pos = 0;
    let mut i = 0;
    while pos < input.len() {
        let n = sizes[i % sizes.len()].min(input.len() - pos);
        b.process(&mut [&mut l2[pos..pos + n], &mut r2[pos..pos + n]]);
        pos += n;
        i += 1;
    }
    assert_eq!(l1, l2);
    assert_eq!(r1, r2);
    a.reset();
    let mut l3 = input.clone();
    let mut r3 = input.clone();
    a.process(&mut [&mut l3[..], &mut r3[..]]);
    assert_eq!(l1, l3, "reset reproduces the output, dither included");
}

/// A profiler that writes down the stages in the order they report.
#[derive(Default)]
struct Recorder(Vec<Stage>);

impl StageProfiler for Recorder {
    fn done(&mut self, stage: Stage) {
        self.0.push(stage);
    }
}

#[test]
fn the_profiler_hears_every_stage_in_order_and_changes_nothing() {
    // The whole chain as the plugin builds it (K13 R2R + Andromeda: amp and load network).
    let config = crate::Settings::default()
        .chain_request(0)
        .resolve(crate::presets::Catalogue::factory(), &Default::default());
    let layout = ChainLayout {
        max_block: 256,
        ..layout(44_100.0, 2)
    };
    let input: Vec<f32> = (0..300).map(|i| 0.3 * (i as f32 * 0.05).sin()).collect();
    let mut plain = Chain::new(&config, layout);
    let (mut l1, mut r1) = (input.clone(), input.clone());
    plain.process(&mut [&mut l1[..], &mut r1[..]]);
    let mut profiled = Chain::new(&config, layout);
    let (mut l2, mut r2) = (input.clone(), input.clone());
    let mut recorder = Recorder::default();
    profiled.process_profiled(&mut [&mut l2[..], &mut r2[..]], &mut recorder);
    assert_eq!((l1, r1), (l2, r2), "profiling changes no sample");

    use Stage::*;
    let analog = [
        ToDacRate, Hold, ChipFilter, Converter, Hold, Lowpass, Shaper, Amp,
    ];
    let chunk: Vec<Stage> = [&analog[..], &analog[..]]
        .concat()
        .into_iter()
        .chain([LoadNetwork])
        .chain([Decimator, LoadCurve, Decimator, LoadCurve])
        .collect();
    // 300 frames in pieces of at most 256: two chunks.
    assert_eq!(recorder.0, [&chunk[..], &chunk[..]].concat());
    for stage in Stage::ALL {
        assert!(
            recorder.0.contains(&stage),
            "{} never reported",
            stage.name()
        );
    }
}
