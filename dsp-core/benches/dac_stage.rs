//! Chain bench: the DAC and analog stages alone (OS chip filter, converter, band-limited hold into the
//! analog domain, analog low-pass, harmonic shaper, decimator back to the host rate), stereo,
//! host blocks of 512 frames, for the built-in voicings:
//!
//! - 44.1 kHz host (analog domain K = 8, 352.8 kHz): K13 OS, K13 NOS, Ideal, and K13 OS with
//!   the minimum-phase decimator;
//! - 96 kHz host (K = 4, 384 kHz): K13 OS.
//!
//! - the whole chain (`chain_*`: DAC, amp with clipping and noise, and the load — a lumped
//!   network as an IIR in the analog domain, or an imported curve as a FIR at the host
//!   rate), built from `Settings` exactly as the plugin builds it.
//!
//! - the whole engine around the K13 + Andromeda chain (`engine_*`), and the same engine
//!   bypassed once its crossfade is over: what bypass costs (≤ 5 %);
//! - after the Criterion-style summary, where the time goes stage by stage in the K13 DAC
//!   stage and the whole chain (`Chain::process_profiled`), against each target's budget;
//! - then the engine fed in host blocks of 1, 64, 512, 8192,
//!   16 384 frames and a varying sequence, each against blocks of 512 (within 15 %).
//!
//! Requirements: K13 at 44.1 kHz, stereo, ≥ 150× realtime on one core;
//! the whole chain with amp and load at 44.1/48 kHz ≥ 100×. Targets (the speed issue):
//! the K13 DAC stage ≥ 300×, the whole chain (K13 + Andromeda, 44.1 kHz) ≥ 200×; each row
//! says which it meets.
//!
//! The K13 and whole-chain rows run again on the portable `wide` path (what an ARM build
//! runs) and on the scalar reference, in the same run ([`Kernel::limit_best`]).
//!
//! Before the Criterion runs, a summary table prints the realtime factor (seconds of stereo
//! audio processed per second of CPU time; best of 7 short runs, the cases taking turns, so
//! other load on a shared machine inflates it less and falls on every case alike).
//!
//! Run: `cargo bench -p sourcery-dsp --bench dac_stage` (about 40 s).

mod common;

use common::block_rows;
use common::turns::best_in_turns;
use criterion::{Criterion, Throughput};
use sourcery_dsp::analog::decimator::{self, DecimatorPhase};
use sourcery_dsp::chain::{self, Chain, ChainConfig, StageProfiler};
use sourcery_dsp::clocks::ChainLayout;
use sourcery_dsp::dac::{DacConfig, DacMode, OsFilter};
use sourcery_dsp::filter::fir::Kernel;
use sourcery_dsp::load::{curve::ImpedanceCurve, examples, CustomLoad, Network};
use sourcery_dsp::presets::{Catalogue, DeviceSlot, HeadphoneSlot};
use sourcery_dsp::voicing::{k13_r2r, k7};
use sourcery_dsp::Settings;
use std::hint::black_box;
use std::time::{Duration, Instant};

const BLOCK: usize = 512;
const CHANNELS: usize = 2;
/// Realtime factor the K13 at 44.1 kHz must reach.
const REQUIRED_REALTIME: f64 = 150.0;
/// Realtime factor the whole chain (with amp and load) must reach at 44.1/48 kHz.
const REQUIRED_CHAIN_REALTIME: f64 = 100.0;
/// The speed issue's target for the K13 DAC stage at 44.1 kHz.
const TARGET_REALTIME: f64 = 300.0;
/// The speed issue's target for the whole chain at 44.1/48 kHz.
const TARGET_CHAIN_REALTIME: f64 = 200.0;

/// What a row meets: nothing for rows without a requirement, else the requirement and the
/// target, or which it misses.
fn verdict(name: &str, host_rate: f64, rt: f64) -> String {
    let (required, target) = if name.starts_with("chain") {
        (REQUIRED_CHAIN_REALTIME, TARGET_CHAIN_REALTIME)
    } else if name.starts_with("k13") && host_rate < 50_000.0 {
        (REQUIRED_REALTIME, TARGET_REALTIME)
    } else {
        return String::new();
    };
    if rt >= target {
        format!("  ok (≥ {target:.0}× target)")
    } else if rt >= required {
        format!("  ok (≥ {required:.0}×), below the {target:.0}× target")
    } else {
        format!("  BELOW REQUIREMENT ({required:.0}×)")
    }
}

/// One configuration to measure.
struct Case {
    name: &'static str,
    config: ChainConfig,
    host_rate: f64,
    /// Run the whole engine with these settings instead of the chain alone (`engine_*`).
    engine: Option<Settings>,
}

/// A device's DAC and analog stage alone, with its DAC changed by `edit`.
fn dac_only(
    device: &sourcery_dsp::presets::DeviceVoicing,
    edit: impl Fn(&mut DacConfig),
) -> ChainConfig {
    let mut dac = device.dac;
    edit(&mut dac);
    ChainConfig::dac_only(dac, device.analog)
}

/// The whole chain `settings` ask for, as the plugin builds it.
fn whole_chain(settings: Settings) -> ChainConfig {
    let custom = custom_load();
    settings
        .chain_request(custom.generation())
        .resolve(Catalogue::factory(), &custom)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "k13_os_44k1",
            config: dac_only(k13_r2r(), |_| {}),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "k13_nos_44k1",
            config: dac_only(k13_r2r(), |d| d.mode = DacMode::Nos),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "ideal_44k1",
            config: ChainConfig::ideal(),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "k13_os_minphase_44k1",
            config: ChainConfig {
                decimator: DecimatorPhase::Minimum,
                ..dac_only(k13_r2r(), |_| {})
            },
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "k13_os_96k",
            config: dac_only(k13_r2r(), |_| {}),
            host_rate: 96_000.0,
            engine: None,
        },
        Case {
            name: "k7_os_48k",
            config: dac_only(k7(), |_| {}),
            host_rate: 48_000.0,
            engine: None,
        },
        Case {
            name: "chain_k13_andromeda_44k1",
            config: whole_chain(Settings::default()),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "chain_k13_hd600_75ohm_44k1",
            config: whole_chain(Settings {
                headphone: HeadphoneSlot::by_id("sennheiser-hd600").expect("HD600"),
                z_out_custom: true,
                z_out_ohms: 75.0,
                ..Settings::default()
            }),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "chain_k13_curve_75ohm_44k1",
            config: whole_chain(Settings {
                headphone: HeadphoneSlot::CUSTOM,
                z_out_custom: true,
                z_out_ohms: 75.0,
                ..Settings::default()
            }),
            host_rate: 44_100.0,
            engine: None,
        },
        Case {
            name: "chain_k7_andromeda_48k",
            config: whole_chain(Settings {
                device: DeviceSlot::by_id("fiio-k7").expect("K7"),
                ..Settings::default()
            }),
            host_rate: 48_000.0,
            engine: None,
        },
        // The engine around the chain (PEQ, padding, level, limiter, bypass path), and the
        // same bypassed once its crossfade is over: what bypass costs.
        Case {
            name: "engine_k13_andromeda_44k1",
            config: whole_chain(Settings::default()),
            host_rate: 44_100.0,
            engine: Some(Settings::default()),
        },
        Case {
            name: "engine_bypassed_k13_andr_44k1",
            config: whole_chain(Settings::default()),
            host_rate: 44_100.0,
            engine: Some(Settings {
                bypass: true,
                ..Settings::default()
            }),
        },
    ]
}

/// The imported curve of the `chain_*_curve_*` case: the multi-BA model sampled at
/// 1/48 octave, as a measured file would give it.
fn custom_load() -> CustomLoad {
    let network = Network::parse(examples::MULTI_BA).expect("example parses");
    let freqs = sourcery_dsp::analysis::log_frequencies(10.0, 40_000.0, 48.0);
    let custom = CustomLoad::default();
    custom
        .import(
            "multi-ba.zma",
            &ImpedanceCurve::from_network(&network, &freqs).to_zma(),
        )
        .expect("a sampled curve is valid");
    custom
}

/// What a job runs: the chain alone, or the whole engine.
enum Stage {
    Chain(Box<Chain>),
    Engine(Box<sourcery_dsp::Engine>),
}

/// Processes one stereo block of [`BLOCK`] frames per call.
struct Job {
    stage: Stage,
    clocks: (usize, usize),
    input: Vec<Vec<f32>>,
    buffers: Vec<Vec<f32>>,
}

impl Job {
    fn new(case: &Case) -> Self {
        let layout = ChainLayout {
            host_rate: case.host_rate,
            max_block: BLOCK,
            channels: CHANNELS,
        };
        let chain = Chain::new(&case.config, layout);
        let clocks = (chain.clocks().m, chain.clocks().k);
        let stage = match &case.engine {
            None => Stage::Chain(Box::new(chain)),
            Some(settings) => {
                let mut engine = Box::new(sourcery_dsp::Engine::new(settings));
                engine.prepare(case.host_rate as f32, BLOCK, CHANNELS);
                Stage::Engine(engine)
            }
        };
        let input: Vec<Vec<f32>> = (0..CHANNELS)
            .map(|c| sourcery_dsp::analysis::xorshift_noise(BLOCK, c as u32 + 1))
            .collect();
        let mut job = Self {
            stage,
            clocks,
            buffers: input.clone(),
            input,
        };
        // Past every ramp and crossfade (the bypass crossfade is 10 ms).
        for _ in 0..20 {
            job.run();
        }
        job
    }

    /// Copy the input in (the stage works in place; the copy is ~0.1 % of the work) and
    /// process.
    fn run(&mut self) {
        for (buf, x) in self.buffers.iter_mut().zip(&self.input) {
            buf.copy_from_slice(x);
        }
        let [left, right] = &mut self.buffers[..] else {
            unreachable!("two channels")
        };
        let mut block = [&mut left[..], &mut right[..]];
        match &mut self.stage {
            Stage::Chain(chain) => chain.process(&mut block),
            Stage::Engine(engine) => engine.process(&mut block),
        }
        black_box(&self.buffers);
    }
}

/// CPU time of this thread in seconds (`CLOCK_THREAD_CPUTIME_ID`), so that other load on a
/// shared machine does not count; `None` where it is not available.
#[cfg(target_os = "linux")]
fn thread_cpu_seconds() -> Option<f64> {
    /// `struct timespec` on 64-bit Linux.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    /// `CLOCK_THREAD_CPUTIME_ID` in `<time.h>` (Linux).
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    if cfg!(not(target_pointer_width = "64")) {
        return None;
    }
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec` (two 64-bit fields on 64-bit Linux), and
    // `clock_gettime` only writes it.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut time) };
    (rc == 0).then_some(time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_seconds() -> Option<f64> {
    None
}

/// (CPU seconds, wall seconds) of `calls` calls; CPU = wall where thread time is missing.
fn measure(job: &mut Job, calls: usize) -> (f64, f64) {
    let cpu = thread_cpu_seconds();
    let wall = Instant::now();
    for _ in 0..calls {
        job.run();
    }
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu
        .zip(thread_cpu_seconds())
        .map_or(wall, |(start, end)| end - start);
    (cpu, wall)
}

/// (CPU, wall) seconds per call of each job: each warmed up and sized to runs of ~40 ms,
/// then 7 rounds in which the jobs take turns, the best run of each kept (a slow spell of
/// this shared machine falls on every job alike rather than on whichever was running).
fn time_per_call(jobs: &mut [Job]) -> Vec<(f64, f64)> {
    let calls: Vec<usize> = jobs
        .iter_mut()
        .map(|job| {
            let start = Instant::now();
            let mut warm = 0usize;
            while start.elapsed() < Duration::from_millis(60) || warm < 3 {
                job.run();
                warm += 1;
            }
            let per_call = start.elapsed().as_secs_f64() / warm as f64;
            ((0.04 / per_call).ceil() as usize).max(3)
        })
        .collect();
    best_in_turns(
        jobs,
        7,
        |i, job| measure(job, calls[i]),
        |a, b| (a.0.min(b.0), a.1.min(b.1)),
    )
    .into_iter()
    .zip(calls)
    .map(|((cpu, wall), calls)| (cpu / calls as f64, wall / calls as f64))
    .collect()
}

fn print_summary() {
    println!(
        "\nDAC stage, stereo, block {BLOCK}: realtime factor = audio s / CPU s of this thread \
         (wall-clock in brackets), best of 7; requirement ≥ {REQUIRED_REALTIME:.0}× for the \
         K13 at 44.1 kHz, ≥ {REQUIRED_CHAIN_REALTIME:.0}× for the whole chain (chain_*)"
    );
    let os_taps = OsFilter::R2rOs.design(44_100.0, 8).len();
    let decimator_taps = |phase| decimator::design(44_100.0, 8, phase).len();
    println!(
        "  44.1 kHz × 8: K13 OS filter {os_taps} taps, decimator {} taps (linear) / {} \
         (minimum phase); FIR kernel {:?}",
        decimator_taps(DecimatorPhase::Linear),
        decimator_taps(DecimatorPhase::Minimum),
        Kernel::best()
    );
    let mut engine_cpu = None;
    let all = cases();
    let mut jobs: Vec<Job> = all.iter().map(Job::new).collect();
    let times = time_per_call(&mut jobs);
    for ((case, job), (cpu, wall)) in all.iter().zip(&jobs).zip(times) {
        let (m, k) = job.clocks;
        let audio = BLOCK as f64 / case.host_rate;
        let rt = audio / cpu;
        let verdict = verdict(case.name, case.host_rate, rt);
        let verdict = match (case.name, engine_cpu) {
            ("engine_k13_andromeda_44k1", _) => {
                engine_cpu = Some(cpu);
                verdict.to_owned()
            }
            (name, Some(full)) if name.starts_with("engine_bypassed") => {
                let share = 100.0 * cpu / full;
                format!(
                    "  bypass costs {share:.1} % of the engine{}",
                    if share <= 5.0 {
                        " (≤ 5 %: ok)"
                    } else {
                        "  ABOVE 5 %"
                    }
                )
            }
            _ => verdict,
        };
        println!(
            "  {:<28} host {:5.1} kHz, K = {k}, M = {m}: {rt:7.1}× ({:7.1}× wall){verdict}",
            case.name,
            case.host_rate / 1000.0,
            audio / wall
        );
    }
    for limit in [Kernel::Portable, Kernel::Scalar] {
        Kernel::limit_best(Some(limit));
        println!("  on the {limit:?} path (every stage built with Kernel::best() = {limit:?}):");
        let cases: Vec<Case> = cases()
            .into_iter()
            .filter(|c| ["k13_os_44k1", "chain_k13_andromeda_44k1"].contains(&c.name))
            .collect();
        let mut jobs: Vec<Job> = cases.iter().map(Job::new).collect();
        let times = time_per_call(&mut jobs);
        for (case, (cpu, wall)) in cases.iter().zip(times) {
            let audio = BLOCK as f64 / case.host_rate;
            let rt = audio / cpu;
            println!(
                "  {:<28} {rt:7.1}× ({:7.1}× wall){}",
                case.name,
                audio / wall,
                verdict(case.name, case.host_rate, rt)
            );
        }
    }
    Kernel::limit_best(None);
    println!();
}

/// The whole engine (K13 + Andromeda, 44.1 kHz, stereo) fed in host blocks of each size
/// (and a varying sequence), the same 131 072 frames (3 s) per measurement; realtime factor
/// and its ratio to blocks of 512. A host's block size should not change the speed. The
/// sizes take turns (seven rounds, one run of each size per round, the best run of each
/// kept), so a slow spell of this shared machine falls on every size alike rather than on
/// whichever was running.
fn print_block_sizes() {
    const FRAMES: usize = 131_072;
    const ROUNDS: usize = 7;
    let rate = 44_100.0f32;
    let varying = [1usize, 7, 64, 333, 512, 2048, 8192, 100];
    let sizes: Vec<(String, Vec<usize>, usize)> = [1usize, 64, 512, 8192, 16_384]
        .iter()
        .map(|&b| (format!("{b}"), vec![b], b))
        .chain(std::iter::once((
            "varying 1…8192".to_owned(),
            varying.to_vec(),
            8192,
        )))
        .collect();
    let input: Vec<Vec<f32>> = (0..CHANNELS)
        .map(|c| sourcery_dsp::analysis::xorshift_noise(FRAMES, c as u32 + 1))
        .collect();
    println!(
        "Engine (K13 + Andromeda, 44.1 kHz, stereo) by host block size, {FRAMES} frames per \
         run, the sizes in turn, best of {ROUNDS} rounds:"
    );
    let mut buffers = input.clone();
    let mut run = |engine: &mut sourcery_dsp::Engine, pattern: &[usize]| {
        for (b, x) in buffers.iter_mut().zip(&input) {
            b.copy_from_slice(x);
        }
        let [left, right] = &mut buffers[..] else {
            unreachable!("two channels")
        };
        let (mut start, mut k) = (0, 0);
        while start < FRAMES {
            let n = pattern[k % pattern.len()].min(FRAMES - start);
            engine.process(&mut [&mut left[start..start + n], &mut right[start..start + n]]);
            start += n;
            k += 1;
        }
        black_box(&buffers);
    };
    let mut engines: Vec<sourcery_dsp::Engine> = sizes
        .iter()
        .map(|(_, pattern, max_block)| {
            let mut engine = sourcery_dsp::Engine::new(&Settings::default());
            engine.prepare(rate, *max_block, CHANNELS);
            run(&mut engine, pattern);
            engine
        })
        .collect();
    let best = best_in_turns(
        &mut engines,
        ROUNDS,
        |i, engine| {
            let start = thread_cpu_seconds();
            let wall = Instant::now();
            run(engine, &sizes[i].1);
            let wall = wall.elapsed().as_secs_f64();
            start.zip(thread_cpu_seconds()).map_or(wall, |(a, b)| b - a)
        },
        f64::min,
    );
    let rows: Vec<(String, f64)> = sizes
        .into_iter()
        .zip(best)
        .map(|((name, ..), cpu)| (name, FRAMES as f64 / f64::from(rate) / cpu))
        .collect();
    block_rows::print_block_rows(&rows);
    println!();
}

/// Wall-clock time between a chain's stage reports, summed per stage.
struct StageClock {
    last: Instant,
    spent: [Duration; chain::Stage::ALL.len()],
}

impl StageProfiler for StageClock {
    fn done(&mut self, stage: chain::Stage) {
        let now = Instant::now();
        self.spent[stage as usize] += now - self.last;
        self.last = now;
    }
}

/// Where the time goes, stage by stage ([`Chain::process_profiled`]), for the K13 DAC stage
/// and the whole chain: ms per second of stereo audio in blocks of [`BLOCK`] (the run with
/// the least total of 7, each 2 s of audio), against each target's budget, and the
/// realtime factor the chain would reach if the decimator and the load network cost
/// nothing (the most any redesign of those two could give), and if the converter did too.
fn print_stage_budget() {
    const RUNS: usize = 7;
    let chosen = [
        ("k13_os_44k1", TARGET_REALTIME),
        ("chain_k13_andromeda_44k1", TARGET_CHAIN_REALTIME),
    ];
    let picked: Vec<Case> = cases()
        .into_iter()
        .filter(|c| chosen.iter().any(|(n, _)| *n == c.name))
        .collect();
    let mut jobs: Vec<Job> = picked.iter().map(Job::new).collect();
    // One profiled run of ~2 s of audio: ms per second of audio, per stage.
    let profile = |job: &mut Job, host_rate: f64| {
        let calls = (2.0 * host_rate / BLOCK as f64).ceil() as usize;
        let audio_s = (calls * BLOCK) as f64 / host_rate;
        let Stage::Chain(chain) = &mut job.stage else {
            unreachable!("a chain case")
        };
        let mut clock = StageClock {
            last: Instant::now(),
            spent: [Duration::ZERO; chain::Stage::ALL.len()],
        };
        for _ in 0..calls {
            for (buf, x) in job.buffers.iter_mut().zip(&job.input) {
                buf.copy_from_slice(x);
            }
            let [left, right] = &mut job.buffers[..] else {
                unreachable!("two channels")
            };
            clock.last = Instant::now();
            chain.process_profiled(&mut [&mut left[..], &mut right[..]], &mut clock);
            black_box(&job.buffers);
        }
        clock.spent.map(|d| 1000.0 * d.as_secs_f64() / audio_s)
    };
    // The cases take turns, each run's profile kept when its total is the least so far.
    let best = best_in_turns(
        &mut jobs,
        RUNS,
        |i, job| profile(job, picked[i].host_rate),
        |a, b| {
            if b.iter().sum::<f64>() < a.iter().sum::<f64>() {
                b
            } else {
                a
            }
        },
    );
    let columns: Vec<(&str, f64, [f64; chain::Stage::ALL.len()])> = picked
        .iter()
        .zip(best)
        .map(|(case, ms)| {
            let target = chosen
                .iter()
                .find(|(n, _)| *n == case.name)
                .expect("chosen")
                .1;
            (case.name, target, ms)
        })
        .collect();
    println!(
        "Stage by stage (Chain::process_profiled), ms per second of stereo audio, block \
         {BLOCK}, the fastest of {RUNS} runs of 2 s (the two in turn):"
    );
    print!("  {:<34}", "");
    for (name, ..) in &columns {
        print!("{name:>26}");
    }
    println!();
    for stage in chain::Stage::ALL {
        print!("  {:<34}", stage.name());
        for (_, _, ms) in &columns {
            let total: f64 = ms.iter().sum();
            let share = 100.0 * ms[stage as usize] / total;
            print!("{:>17.3} ({share:4.1} %)", ms[stage as usize]);
        }
        println!();
    }
    let row = |label: &str, value: &dyn Fn(f64, &[f64]) -> String| {
        print!("  {label:<34}");
        for (_, target, ms) in &columns {
            print!("{:>26}", value(*target, ms));
        }
        println!();
    };
    row("total", &|_, ms| {
        let total: f64 = ms.iter().sum();
        format!("{total:.3} ({:.0}×)", 1000.0 / total)
    });
    row("the target's budget", &|target, _| {
        format!("{:.3} ({target:.0}×)", 1000.0 / target)
    });
    let without = |free: &'static [chain::Stage]| {
        move |_: f64, ms: &[f64]| {
            let rest: f64 =
                ms.iter().sum::<f64>() - free.iter().map(|&s| ms[s as usize]).sum::<f64>();
            format!("{rest:.3} ({:.0}×)", 1000.0 / rest)
        }
    };
    use chain::Stage::{Converter, Decimator, LoadNetwork};
    row(
        "decimator and load network free",
        &without(&[Decimator, LoadNetwork]),
    );
    row(
        "… and the converter free too",
        &without(&[Decimator, LoadNetwork, Converter]),
    );
    println!();
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("dac_stage_stereo_block{BLOCK}"));
    // Elements = host frames per call, so Criterion's throughput line reads as frames/s;
    // divide by the host rate for the realtime factor.
    group.throughput(Throughput::Elements(BLOCK as u64));
    for case in cases() {
        let mut job = Job::new(&case);
        group.bench_function(case.name, |b| b.iter(|| job.run()));
    }
    group.finish();
}

fn main() {
    print_summary();
    print_stage_budget();
    print_block_sizes();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(700))
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
