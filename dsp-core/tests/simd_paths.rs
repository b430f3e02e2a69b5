//! The whole chain (K13 OS + Andromeda at 44.1 kHz: chip filter, R2R ladder with dither,
//! hold, analog low-pass, shaper, amp with hiss, load IIR, decimator) gives the same audio
//! on each SIMD path: AVX2 (where the CPU has it), the portable `wide` path (what an ARM
//! build runs) and the scalar reference, within a stated bound.
//!
//! One test in its own binary: [`Kernel::limit_best`] is process-wide, so nothing else may
//! build stages while it is set.

use sourcery_dsp::chain::Chain;
use sourcery_dsp::clocks::ChainLayout;
use sourcery_dsp::filter::fir::Kernel;
use sourcery_dsp::load::CustomLoad;
use sourcery_dsp::presets::Catalogue;
use sourcery_dsp::Settings;

/// Largest difference allowed between two paths (full scale 1.0). The FIR kernels sum in
/// other orders (`f32` rounding, ~1e-7 of the signal), the block biquad fuses its
/// multiply-adds or not (`f64` rounding), and a rounding difference before the ladder can
/// move a code by one LSB (2^-23 of full scale for the K13's 24 bits).
const BOUND: f32 = 1e-6;

/// `frames` of stereo noise plus a −6 dBFS 1 kHz tone, through a chain built with
/// `Kernel::best()` limited to `limit`, in host blocks of 512.
fn render(limit: Option<Kernel>, frames: usize) -> [Vec<f32>; 2] {
    Kernel::limit_best(limit);
    let custom = CustomLoad::default();
    let config = Settings::default()
        .chain_request(custom.generation())
        .resolve(Catalogue::factory(), &custom);
    let mut chain = Chain::new(
        &config,
        ChainLayout {
            host_rate: 44_100.0,
            max_block: 512,
            channels: 2,
        },
    );
    Kernel::limit_best(None);
    let mut out: [Vec<f32>; 2] = std::array::from_fn(|ch| {
        let noise = sourcery_dsp::analysis::xorshift_noise(frames, ch as u32 + 1);
        noise
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let t = i as f64 / 44_100.0;
                0.1 * n + (0.5 * (std::f64::consts::TAU * 1000.0 * t).sin()) as f32
            })
            .collect()
    });
    let [left, right] = &mut out;
    for (l, r) in left.chunks_mut(512).zip(right.chunks_mut(512)) {
        chain.process(&mut [l, r]);
    }
    out
}

#[test]
fn every_simd_path_gives_the_same_chain_output() {
    let frames = 16_384;
    let reference = render(Some(Kernel::Scalar), frames);
    let level = reference[0].iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(level > 0.05, "the chain passes the signal (peak {level})");
    let mut paths = vec![Kernel::Portable];
    if Kernel::Avx2Fma.is_available() {
        paths.push(Kernel::Avx2Fma);
    } else {
        println!("this CPU has no AVX2+FMA: only the portable path is compared");
    }
    for path in paths {
        let got = render(Some(path), frames);
        let diff = got
            .iter()
            .zip(&reference)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0f32, f32::max);
        println!(
            "{path:?} against Scalar: max |Δ| {diff:.3e} (bound {BOUND:.0e}, peak {level:.3})"
        );
        assert!(diff <= BOUND, "{path:?}: max |Δ| {diff:e} > {BOUND:e}");
    }
}
