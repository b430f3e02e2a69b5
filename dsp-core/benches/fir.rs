//! FIR kernel benches: the 8× polyphase interpolator and the 8× decimator of the DAC stage
//! (44.1 kHz ↔ 352.8 kHz, stereo = 2 instances, blocks of 512 host frames) with each kernel
//! this CPU runs (AVX2+FMA picked at run time, the portable `wide` one, the scalar
//! reference), for the 100 dB and 150 dB designs (20 → 24.1 kHz transition, `design_lowpass`:
//! 583 and 929 taps), next to rubato's resamplers at the same ratio.
//!
//! Before the Criterion runs, a summary table prints the realtime factor (seconds of stereo
//! audio processed per second of wall-clock time; best of 7 short runs, so other load on a
//! shared machine inflates it less), our speed ÷ rubato's, and each of our kernels'
//! multiply-adds per second as a share of this core's peak `f32` FMA rate, measured in the
//! same run.
//!
//! Rubato configurations (rubato 5, `f32`, 2 channels, `process_into_buffer`):
//! - `Fft` (synchronous, fixed ratio): `FixedSync::Input`, 512 frames at 44.1 kHz per call,
//!   2 sub-chunks → FFT block of 256 frames at 44.1 kHz (2048 at 352.8 kHz), the
//!   `BlackmanHarris2` anti-aliasing window (rubato's default). Its filter is a 256-tap sinc
//!   at 44.1 kHz, cutoff 0.947·Nyquist (≈ 20.9 kHz), stopband far below our 150 dB: quality
//!   at least ours. The decimator uses the mirror image (4096 frames at 352.8 kHz per call).
//! - `Async` sinc with `SincInterpolationType::Nearest` and `oversampling_factor` 8: at a
//!   fixed ratio of exactly 8 (or 1/8) every output lands on a stored sub-filter, so this is a
//!   polyphase FIR with the same multiply count as ours (`sinc_len` = our taps per phase for
//!   upsampling, our padded length for downsampling), `BlackmanHarris2` window, automatic
//!   cutoff (lower than ours at these lengths). Rubato also picks AVX at run time.
//!
//! Run: `cargo bench -p sourcery-dsp --bench fir` (about 30 s).

use criterion::{Criterion, Throughput};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Resampler, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};
use sourcery_dsp::filter::design::{design_lowpass, interpolation_filter, LowpassSpec};
use sourcery_dsp::filter::fir::{Decimator, Kernel, PolyphaseInterpolator};
use std::hint::black_box;
use std::time::{Duration, Instant};

const FS: usize = 44_100;
const FACTOR: usize = 8;
const BLOCK: usize = 512;
const CHANNELS: usize = 2;

fn spec(stopband_db: f64) -> LowpassSpec {
    LowpassSpec {
        passband_hz: 20_000.0,
        stopband_hz: 24_100.0,
        stopband_db,
        sample_rate: (FS * FACTOR) as f64,
    }
}

/// Full-scale-ish noise (±0.8): the shared test noise, scaled.
fn test_signal(len: usize, seed: u32) -> Vec<f32> {
    sourcery_dsp::analysis::xorshift_noise(len, seed)
        .into_iter()
        .map(|x| 1.6 * x)
        .collect()
}

/// Something that processes one block (512 frames at 44.1 kHz, stereo) per call.
type Job = Box<dyn FnMut()>;

/// Our stereo 8× interpolator: two instances.
fn ours_up(stopband_db: f64, kernel: Kernel) -> (Job, usize) {
    let h = interpolation_filter(FACTOR, &spec(stopband_db));
    let taps = h.len();
    let mut chans: Vec<PolyphaseInterpolator> = (0..CHANNELS)
        .map(|_| {
            let mut p = PolyphaseInterpolator::new(&h, FACTOR, BLOCK);
            p.set_kernel(kernel);
            p
        })
        .collect();
    let input: Vec<Vec<f32>> = (0..CHANNELS)
        .map(|c| test_signal(BLOCK, c as u32 + 1))
        .collect();
    let mut output = vec![vec![0.0f32; BLOCK * FACTOR]; CHANNELS];
    let job = move || {
        for ((interp, x), y) in chans.iter_mut().zip(&input).zip(output.iter_mut()) {
            interp.process(black_box(x), y);
            black_box(&y[0]);
        }
    };
    (Box::new(job), taps)
}

/// Our stereo 8× decimator: two instances.
fn ours_down(stopband_db: f64, kernel: Kernel) -> (Job, usize) {
    let h = design_lowpass(&spec(stopband_db));
    let taps = h.len();
    let mut chans: Vec<Decimator> = (0..CHANNELS)
        .map(|_| {
            let mut d = Decimator::new(&h, FACTOR, BLOCK * FACTOR);
            d.set_kernel(kernel);
            d
        })
        .collect();
    let input: Vec<Vec<f32>> = (0..CHANNELS)
        .map(|c| test_signal(BLOCK * FACTOR, c as u32 + 1))
        .collect();
    let mut output = vec![vec![0.0f32; BLOCK]; CHANNELS];
    let job = move || {
        for ((dec, x), y) in chans.iter_mut().zip(&input).zip(output.iter_mut()) {
            dec.process(black_box(x), y);
            black_box(&y[0]);
        }
    };
    (Box::new(job), taps)
}

/// Wrap a rubato resampler whose fixed input is `frames_in` frames per call.
fn rubato_job(mut resampler: Box<dyn Resampler<f32>>, frames_in: usize) -> Job {
    let input: Vec<Vec<f32>> = (0..CHANNELS)
        .map(|c| test_signal(frames_in, c as u32 + 1))
        .collect();
    let out_frames = resampler.output_frames_max();
    let mut output = vec![vec![0.0f32; out_frames]; CHANNELS];
    Box::new(move || {
        let needed = resampler.input_frames_next();
        assert_eq!(needed, frames_in);
        let adapter_in = SequentialSliceOfVecs::new(&input, CHANNELS, needed).unwrap();
        let mut adapter_out =
            SequentialSliceOfVecs::new_mut(&mut output, CHANNELS, out_frames).unwrap();
        let (_, written) = resampler
            .process_into_buffer(&adapter_in, &mut adapter_out, None)
            .unwrap();
        black_box(written);
    })
}

fn rubato_fft_up() -> Job {
    let r = Fft::<f32>::new_custom(
        FS,
        FS * FACTOR,
        BLOCK,
        2,
        CHANNELS,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .unwrap();
    rubato_job(Box::new(r), BLOCK)
}

fn rubato_fft_down() -> Job {
    let r = Fft::<f32>::new_custom(
        FS * FACTOR,
        FS,
        BLOCK * FACTOR,
        2,
        CHANNELS,
        WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .unwrap();
    rubato_job(Box::new(r), BLOCK * FACTOR)
}

fn sinc_params(sinc_len: usize) -> SincInterpolationParameters {
    SincInterpolationParameters {
        sinc_len,
        f_cutoff: None,
        oversampling_factor: FACTOR,
        interpolation: SincInterpolationType::Nearest,
        window: WindowFunction::BlackmanHarris2,
    }
}

fn rubato_sinc_up(sinc_len: usize) -> Job {
    let r = Async::<f32>::new_sinc(
        FACTOR as f64,
        1.0,
        &sinc_params(sinc_len),
        BLOCK,
        CHANNELS,
        FixedAsync::Input,
    )
    .unwrap();
    rubato_job(Box::new(r), BLOCK)
}

fn rubato_sinc_down(sinc_len: usize) -> Job {
    let r = Async::<f32>::new_sinc(
        1.0 / FACTOR as f64,
        1.0,
        &sinc_params(sinc_len),
        BLOCK * FACTOR,
        CHANNELS,
        FixedAsync::Input,
    )
    .unwrap();
    rubato_job(Box::new(r), BLOCK * FACTOR)
}

/// This core's peak rate of `f32` multiply-adds (lane operations per second): 12
/// independent chains of 256-bit FMAs (enough to cover the FMA latency on both FMA ports),
/// after 0.3 s of warm-up (the clock ramps up), best of 7 runs of ~25 ms. `None` without
/// AVX2 and FMA.
fn peak_fma_rate() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return None;
        }
        const CHAINS: usize = 12;
        #[target_feature(enable = "avx2,fma")]
        fn chains(iterations: usize) -> f32 {
            use std::arch::x86_64::{
                _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps,
            };
            let mut acc = [_mm256_set1_ps(1.0); CHAINS];
            let a = _mm256_set1_ps(black_box(0.999_999));
            let b = _mm256_set1_ps(black_box(1.0e-7));
            for _ in 0..iterations {
                for v in &mut acc {
                    *v = _mm256_fmadd_ps(*v, a, b);
                }
            }
            let total = acc
                .iter()
                .fold(_mm256_set1_ps(0.0), |t, v| _mm256_add_ps(t, *v));
            let mut out = [0.0f32; 8];
            // SAFETY: `out` is 8 writable f32; no alignment needed.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), total) };
            out.iter().sum()
        }
        // ~25 ms per run; the core's clock first ramps up for 0.3 s.
        let iterations = 10_000_000;
        // SAFETY: AVX2 and FMA were detected above.
        let run = || unsafe { chains(black_box(iterations)) };
        let warm = Instant::now();
        while warm.elapsed() < Duration::from_millis(300) {
            black_box(run());
        }
        let best = (0..7)
            .map(|_| {
                let t = Instant::now();
                black_box(run());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        Some((iterations * CHAINS * 8) as f64 / best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Seconds per call: warm up, then the best of 7 runs of ~40 ms each.
fn time_per_call(job: &mut Job) -> f64 {
    let start = Instant::now();
    let mut warm = 0usize;
    while start.elapsed() < Duration::from_millis(60) || warm < 3 {
        job();
        warm += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / warm as f64;
    let calls = ((0.04 / per_call).ceil() as usize).max(3);
    (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                job();
            }
            t.elapsed().as_secs_f64() / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Seconds of audio per second of processing, for one call = 512 frames at 44.1 kHz.
fn realtime_factor(job: &mut Job) -> f64 {
    (BLOCK as f64 / FS as f64) / time_per_call(job)
}

/// The kernels to compare: the best one, the portable `wide` one if different, scalar.
fn kernels() -> Vec<Kernel> {
    let mut k = vec![Kernel::best()];
    if Kernel::best() != Kernel::Portable {
        k.push(Kernel::Portable);
    }
    k.push(Kernel::Scalar);
    k
}

fn print_summary() {
    println!(
        "\nFIR 8× at 44.1 kHz, stereo, block {BLOCK}: realtime factor (audio s / wall s, best \
         of 7); best kernel here: {:?}",
        Kernel::best()
    );
    let peak = peak_fma_rate();
    match peak {
        Some(rate) => println!(
            "  this core's peak f32 FMA rate (AVX2, 12 chains of 256-bit FMAs): {:.1} G/s",
            rate / 1e9
        ),
        None => println!("  peak FMA rate: not measured (no AVX2/FMA)"),
    }
    // A kernel's multiply-adds per second as a share of that peak.
    let share = |macs_per_call: usize, realtime: f64| -> String {
        peak.map_or_else(String::new, |rate| {
            let calls_per_second = realtime * FS as f64 / BLOCK as f64;
            format!(
                ", {:3.0} % of peak",
                100.0 * macs_per_call as f64 * calls_per_second / rate
            )
        })
    };
    for &db in &[100.0, 150.0] {
        let per_phase =
            PolyphaseInterpolator::new(&interpolation_filter(FACTOR, &spec(db)), FACTOR, BLOCK)
                .taps_per_phase();
        let padded =
            Decimator::new(&design_lowpass(&spec(db)), FACTOR, BLOCK * FACTOR).padded_taps();
        let taps = design_lowpass(&spec(db)).len();
        println!(
            "  {db:.0} dB design: {taps} taps; interpolator {per_phase} taps/phase, decimator \
             {padded} padded"
        );
        let rt_sinc_up = realtime_factor(&mut rubato_sinc_up(per_phase));
        let rt_sinc_down = realtime_factor(&mut rubato_sinc_down(padded));
        let rt_fft_up = realtime_factor(&mut rubato_fft_up());
        let rt_fft_down = realtime_factor(&mut rubato_fft_down());
        println!(
            "    rubato sinc-nearest: up {rt_sinc_up:7.1}× (sinc_len {per_phase}), down \
             {rt_sinc_down:7.1}× (sinc_len {padded}); rubato Fft: up {rt_fft_up:7.1}×, down \
             {rt_fft_down:7.1}×"
        );
        let (up_macs, down_macs) = (
            CHANNELS * BLOCK * FACTOR * per_phase,
            CHANNELS * BLOCK * padded,
        );
        for kernel in kernels() {
            let rt_up = realtime_factor(&mut ours_up(db, kernel).0);
            let rt_down = realtime_factor(&mut ours_down(db, kernel).0);
            println!(
                "    ours {:<9} up {rt_up:7.1}× (÷ rubato sinc {:5.2}, ÷ Fft {:5.2}{})   down \
                 {rt_down:7.1}× (÷ rubato sinc {:5.2}, ÷ Fft {:5.2}{})",
                format!("{kernel:?}"),
                rt_up / rt_sinc_up,
                rt_up / rt_fft_up,
                share(up_macs, rt_up),
                rt_down / rt_sinc_down,
                rt_down / rt_fft_down,
                share(down_macs, rt_down),
            );
        }
    }
    println!();
}

fn bench(c: &mut Criterion) {
    for &db in &[100.0, 150.0] {
        let mut group = c.benchmark_group(format!("fir8x_{db:.0}dB_stereo_block{BLOCK}"));
        // Elements = host frames (44.1 kHz) per call, so Criterion's throughput line reads as
        // frames/s; divide by 44 100 for the realtime factor.
        group.throughput(Throughput::Elements(BLOCK as u64));
        for kernel in kernels() {
            let (mut up, _) = ours_up(db, kernel);
            group.bench_function(format!("up_{kernel:?}"), |b| b.iter(&mut up));
            let (mut down, _) = ours_down(db, kernel);
            group.bench_function(format!("down_{kernel:?}"), |b| b.iter(&mut down));
        }
        group.finish();
    }
    let mut group = c.benchmark_group(format!("rubato8x_stereo_block{BLOCK}"));
    group.throughput(Throughput::Elements(BLOCK as u64));
    let mut up = rubato_fft_up();
    group.bench_function("fft_up", |b| b.iter(&mut up));
    let mut down = rubato_fft_down();
    group.bench_function("fft_down", |b| b.iter(&mut down));
    group.finish();
}

fn main() {
    print_summary();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(700))
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
