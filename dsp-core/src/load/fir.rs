//! The divider of a measured impedance curve, `|H(f)| = |Z_L(f)/(Z_L(f) + Z_out)|`, as a
//! minimum-phase FIR at the host rate (it runs after the decimator, where a curve known
//! only at points cannot be turned into poles and zeros).
//!
//! # Design (at construction, off the audio thread)
//! 1. Sample `|H|` from the curve ([`ImpedanceCurve::impedance`], ends held) on the bins of
//!    an FFT of `N` points, `N` the power of two giving a bin spacing ≤ 0.7 Hz (65 536 at
//!    44.1 kHz, 131 072 at 48 kHz, 262 144 at 96 kHz), so that the 20 Hz region and a
//!    bass resonance are resolved.
//! 2. Minimum phase by the folded real cepstrum (Oppenheim & Schafer, *Discrete-Time
//!    Signal Processing*, 3rd ed., §13.5; the same steps as
//!    [`crate::filter::design::min_phase`], but starting from a magnitude rather than an
//!    FIR): `c = IFFT(ln|H|)`, keep `c[0]` and `c[N/2]`, double `c[1..N/2]`, zero the rest,
//!    `h = IFFT(exp(FFT(c)))`. `H` is minimum-phase (the divider of a passive load), so
//!    this is its own phase, and the FIR has no latency (impulse peak at sample 0).
//! 3. Truncate to the shortest power-of-two length `L` ≥ [`MIN_TAPS`] (at most
//!    [`MAX_TAPS_SECONDS`] of taps), the last quarter tapered by a half Hann window, whose
//!    level re 1 kHz differs from the sampled |H| by at most [`TRUNCATION_ERROR_DB`] at
//!    every FFT bin from 20 Hz to 20 kHz — checked by one FFT per candidate length. (A
//!    bound on the tail, `Σ|h[n]|`, was tried and is far too pessimistic: `h` has a long,
//!    low-level tail falling only as ~1/n², as the kinks of piecewise data and held ends
//!    produce, whose spectral effect stays far below 0.002 dB.) Measured tap counts (test
//!    `matches_the_divider_formula_at_host_rates`, Z_out = 0.5 / 2.2 / 10 / 75 Ω):
//!
//!    | load | 44.1 kHz | 48 kHz | 96 kHz |
//!    |---|---|---|---|
//!    | flat planar | 64 / 64 / 64 / 64 | 64 / 64 / 64 / 64 | 64 / 64 / 64 / 64 |
//!    | HD600-like | 256 / 1024 / 1024 / 2048 | 512 / 1024 / 1024 / 2048 | 1024 / 2048 / 2048 / 4096 |
//!    | multi-BA | 512 / 512 / 2048 / 2048 | 512 / 512 / 2048 / 2048 | 1024 / 1024 / 4096 / 4096 |
//!
//!    The length roughly doubles with the rate (it is set by time constants, not by
//!    frequency resolution).
//! 4. Scale so the response at 1 kHz equals `|H(1 kHz)|` exactly.
//!
//! # Run time
//! Convolution by [`fft_convolver::FFTConvolver`] (uniformly partitioned overlap-add,
//! `f32`). Its source (0.4.0, `src/lib.rs`) allocates only in `init`; `process` copies
//! into preallocated buffers, runs `realfft` with preallocated scratch
//! (`process_with_scratch`) and never allocates, locks or does I/O (its methods carry
//! `rtsan` `#[nonblocking]` markers). It has **zero latency**: each call transforms the
//! partially filled input block and adds its contribution at once, so output sample n
//! depends on inputs up to n. The price is that every call, however short, runs one
//! forward and one inverse FFT of twice the partition size; the partition is therefore
//! `max_block` rounded up to a power of two and clamped to 64…1024.
//! `process` takes separate input and output slices, so [`LoadFir::process`] copies each
//! chunk into a preallocated scratch buffer first.

use fft_convolver::FFTConvolver;
use realfft::RealFftPlanner;

use super::iir::sanitize_z_out;
use super::{drive, Complex64, ImpedanceCurve};
use crate::clocks::{Clocks, PerChannel};

/// Shortest FIR (a flat load needs no more).
pub const MIN_TAPS: usize = 64;
/// Longest FIR, in seconds of taps (rounded up to a power of two): 0.1 s → 8192 taps at
/// 44.1 kHz, four times what the HD600-like bass resonance needs with 75 Ω. A much
/// sharper resonance (a decay time constant of tens of ms) would stop at this length,
/// and then be less exact near its frequency.
pub const MAX_TAPS_SECONDS: f64 = 0.1;
/// Length criterion: the truncated FIR's level (re 1 kHz) may differ from the sampled
/// |H| by at most this much at any FFT bin from 20 Hz to 20 kHz (a tenth of the 0.02 dB
/// budget).
pub const TRUNCATION_ERROR_DB: f64 = 0.002;
/// Largest bin spacing of the design FFT, Hz.
const MAX_BIN_HZ: f64 = 0.7;

/// The source/load divider of a measured impedance curve as a minimum-phase FIR, applied by
/// zero-latency partitioned FFT convolution. `process` and `reset` never allocate.
#[derive(Debug, Clone)]
pub struct LoadFir {
    taps: Vec<f64>,
    convolver: FFTConvolver<f32>,
    scratch: Vec<f32>,
    sample_rate: f64,
    identity: bool,
}

impl LoadFir {
    /// Design the divider of `curve` driven from `z_out_ohms` (clamped to 0…1 MΩ; NaN or
    /// negative → 0, which gives the identity) at `sample_rate` (Hz; invalid → 48 kHz,
    /// clamped to 8 kHz…1.6 MHz), for blocks of up to `max_block` samples (larger blocks
    /// are processed in chunks). Allocates; call off the audio thread. See the
    /// [module docs](self).
    pub fn new(
        curve: &ImpedanceCurve,
        z_out_ohms: f64,
        sample_rate: f64,
        max_block: usize,
    ) -> LoadFir {
        Self::driven(curve, z_out_ohms, 0.0, sample_rate, max_block)
    }

    /// The load stage heard through the listener's own source of output impedance
    /// `z_yours_ohms`: the magnitude of `(Z_L + Z_yours)/(Z_L + Z_out)` ([`drive`]),
    /// minimum phase (a ratio of two positive-real functions is minimum-phase), otherwise
    /// designed as [`LoadFir::new`] (which is this with `z_yours_ohms = 0`). Equal
    /// impedances give the identity.
    pub fn driven(
        curve: &ImpedanceCurve,
        z_out_ohms: f64,
        z_yours_ohms: f64,
        sample_rate: f64,
        max_block: usize,
    ) -> LoadFir {
        let fs = if sample_rate.is_finite() && sample_rate > 0.0 {
            sample_rate.clamp(8_000.0, 1.6e6)
        } else {
            48_000.0
        };
        let z_out = sanitize_z_out(z_out_ohms);
        let z_yours = sanitize_z_out(z_yours_ohms);
        let taps = if z_out == z_yours {
            vec![1.0]
        } else {
            design(curve, z_out, z_yours, fs)
        };
        let max_block = max_block.max(1);
        let partition = max_block.next_power_of_two().clamp(64, 1024);
        let mut convolver = FFTConvolver::<f32>::default();
        let taps_f32: Vec<f32> = taps.iter().map(|&v| v as f32).collect();
        convolver
            .init(partition, &taps_f32)
            .expect("the partition size is at least 64");
        LoadFir {
            identity: taps == [1.0],
            taps,
            convolver,
            scratch: vec![0.0; max_block],
            sample_rate: fs,
        }
    }

    /// Filter a block in place (zero latency). Never allocates: the block is convolved in
    /// chunks of at most `max_block` samples through a preallocated scratch buffer.
    pub fn process(&mut self, block: &mut [f32]) {
        if self.identity {
            return;
        }
        let chunk_len = self.scratch.len();
        for chunk in block.chunks_mut(chunk_len) {
            let input = &mut self.scratch[..chunk.len()];
            input.copy_from_slice(chunk);
            // Only fails for unequal slice lengths (impossible here) or an FFT buffer size
            // mismatch (sizes come from its own plan); it then zero-fills `chunk` itself.
            let _ = self.convolver.process(input, chunk);
        }
    }

    /// Clear the convolution history. Never allocates.
    pub fn reset(&mut self) {
        self.convolver.reset();
    }

    /// The FIR coefficients (`f64`; the convolver runs an `f32` copy).
    pub fn taps(&self) -> &[f64] {
        &self.taps
    }

    /// Complex response of the taps at `freq_hz`: `Σ h[n]·e^{−j2πfn/fs}`.
    pub fn response(&self, freq_hz: f64) -> Complex64 {
        crate::filter::design::response(&self.taps, freq_hz, self.sample_rate)
    }

    /// `|response(1 kHz)|`: the divider's level at 1 kHz (equal to `|H(1 kHz)|` of the
    /// curve by construction).
    pub fn gain_1khz(&self) -> f64 {
        self.response(1000.0).norm()
    }

    /// Latency in samples: 0 (minimum-phase taps, zero-latency convolution).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// The sample rate the filter was designed for, Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Whether the filter is the identity (`Z_out = 0`): `process` leaves samples untouched.
    pub fn is_identity(&self) -> bool {
        self.identity
    }
}

/// Steps 1–4 of the [module docs](self).
fn design(curve: &ImpedanceCurve, z_out: f64, z_yours: f64, fs: f64) -> Vec<f64> {
    let taps = min_phase_taps(curve, z_out, z_yours, fs);
    normalise_at_1khz(taps, curve, z_out, z_yours, fs)
}

/// Steps 1–3: the truncated minimum-phase taps (not yet normalised).
fn min_phase_taps(curve: &ImpedanceCurve, z_out: f64, z_yours: f64, fs: f64) -> Vec<f64> {
    let n_fft = ((fs / MAX_BIN_HZ).ceil() as usize)
        .next_power_of_two()
        .clamp(1 << 13, 1 << 22);
    let bins = n_fft / 2 + 1;
    let bin_hz = fs / n_fft as f64;
    let magnitude = |f: f64| drive(curve.impedance(f), z_out, z_yours).norm().max(1e-12);
    let ln_mag: Vec<f64> = (0..bins)
        .map(|k| magnitude(k as f64 * bin_hz).ln())
        .collect();
    let h = crate::filter::design::min_phase_from_log_magnitude(&ln_mag, n_fft);
    let max_taps = ((fs * MAX_TAPS_SECONDS).ceil() as usize)
        .next_power_of_two()
        .min(n_fft / 2);
    // Bins checked by the length search: 20 Hz … min(20 kHz, 0.499·fs), and 1 kHz.
    let band = (20.0 / bin_hz).ceil() as usize..=((20_000.0f64.min(0.499 * fs)) / bin_hz) as usize;
    let bin_1k = (1000.0 / bin_hz).round() as usize;
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n_fft);
    let mut padded = forward.make_input_vec();
    let mut spectrum = forward.make_output_vec();
    let mut len = MIN_TAPS;
    loop {
        let taps = truncate(&h, len);
        if len >= max_taps {
            break taps;
        }
        padded.fill(0.0);
        padded[..len].copy_from_slice(&taps);
        forward
            .process(&mut padded, &mut spectrum)
            .expect("FFT buffer sizes come from the plan");
        let error = |k: usize| spectrum[k].norm().max(1e-300).ln() - ln_mag[k];
        let at_1k = error(bin_1k);
        let worst = band
            .clone()
            .map(|k| (error(k) - at_1k).abs())
            .fold(0.0, f64::max);
        if worst <= TRUNCATION_ERROR_DB / (20.0 / std::f64::consts::LN_10) {
            break taps;
        }
        len *= 2;
    }
}

/// The first `len` samples of `h`, the last quarter tapered by a half Hann window.
fn truncate(h: &[f64], len: usize) -> Vec<f64> {
    let mut taps = h[..len].to_vec();
    let fade = len / 4;
    for (k, v) in taps[len - fade..].iter_mut().enumerate() {
        let x = std::f64::consts::PI * (k + 1) as f64 / (fade + 1) as f64;
        *v *= 0.5 * (1.0 + x.cos());
    }
    taps
}

/// Step 4: scale `taps` so their response at 1 kHz is `|H(1 kHz)|` of the curve.
fn normalise_at_1khz(
    mut taps: Vec<f64>,
    curve: &ImpedanceCurve,
    z_out: f64,
    z_yours: f64,
    fs: f64,
) -> Vec<f64> {
    let got = crate::filter::design::response(&taps, 1000.0, fs).norm();
    let want = drive(curve.impedance(1000.0), z_out, z_yours).norm();
    if got > 0.0 && got.is_finite() {
        taps.iter_mut().for_each(|v| *v *= want / got);
    }
    taps
}

/// A measured curve's divider for every channel, at the host rate (nothing for an
/// identity divider).
pub struct LoadCurve {
    channels: PerChannel<LoadFir>,
}

impl LoadCurve {
    /// `design` (from [`LoadFir::new`] at the host rate; `None`: no divider) copied into
    /// every channel.
    pub fn new(design: Option<&LoadFir>, clocks: &Clocks) -> Self {
        Self {
            channels: PerChannel::new(design, clocks, LoadFir::clone),
        }
    }

    pub fn reset(&mut self) {
        self.channels.reset(LoadFir::reset);
    }

    /// Channel `ch` in place. Never allocates.
    pub fn process(&mut self, ch: usize, block: &mut [f32]) {
        self.channels.with(ch, |fir| fir.process(block));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{frequency_response, impulse_peak, log_frequencies};
    use crate::load::testutil::{example_networks, formula_deviation_db, Z_OUTS};
    use crate::load::{deviation_db, divider, examples, Network};

    fn sampled_curve(network: &Network) -> ImpedanceCurve {
        ImpedanceCurve::from_network(network, &log_frequencies(10.0, 40_000.0, 48.0))
    }

    /// The impulse response as `process` produces it, in blocks of `block`.
    fn impulse_response(fir: &mut LoadFir, block: usize) -> Vec<f32> {
        fir.reset();
        let len = fir.taps().len() + 64;
        let mut out = vec![0.0f32; len];
        out[0] = 1.0;
        for chunk in out.chunks_mut(block) {
            fir.process(chunk);
        }
        out
    }

    /// The acceptance test: curves sampled from the three examples (1/48 octave,
    /// 10 Hz–40 kHz, with phase) × Z_out {0.5, 2.2, 10, 75} Ω at 44.1, 48 and 96 kHz,
    /// measured by running an impulse through `process` in blocks of 1, 37 or 512, equal the
    /// formula within 0.02 dB from 20 Hz to 20 kHz; impulse peak at sample 0…2.
    #[test]
    fn matches_the_divider_formula_at_host_rates() {
        const TOLERANCE_DB: f64 = 0.02;
        let mut worst_all = 0.0f64;
        for (n, (name, network)) in example_networks().into_iter().enumerate() {
            let curve = sampled_curve(&network);
            for fs in [44_100.0, 48_000.0, 96_000.0] {
                let mut line = format!("{name:>12} @ {:.1} kHz:", fs / 1000.0);
                for (i, &z_out) in Z_OUTS.iter().enumerate() {
                    let block = [1, 37, 512][(n + i) % 3];
                    let mut fir = LoadFir::new(&curve, z_out, fs, 512);
                    let h = impulse_response(&mut fir, block);
                    let peak = impulse_peak(&h);
                    assert!(peak <= 2, "{name} {z_out} {fs}: peak at {peak}");
                    let mut freqs = log_frequencies(20.0, 20_000.0, 12.0);
                    freqs.push(1000.0);
                    let measured = frequency_response(&h, fs, &freqs);
                    let h_1k = *measured.last().unwrap();
                    let mut worst = 0.0f64;
                    for (&f, &m) in freqs.iter().zip(&measured) {
                        let err = deviation_db(m, h_1k) - formula_deviation_db(&network, z_out, f);
                        worst = worst.max(err.abs());
                        // What process does equals response() (f32 arithmetic).
                        let r = fir.response(f);
                        assert!((m - r).norm() < 1e-5 * r.norm(), "{name} {z_out} {fs} {f}");
                    }
                    line += &format!("  {z_out} Ω {worst:.4} dB ({} taps)", fir.taps().len());
                    assert!(
                        worst < TOLERANCE_DB,
                        "{name} Z_out {z_out} fs {fs}: {worst} dB"
                    );
                    worst_all = worst_all.max(worst);
                }
                println!("{line}");
            }
        }
        println!("worst measured deviation from the formula: {worst_all:.4} dB");
    }

    /// `process` (any block split) equals a direct f64 convolution with `taps()`, and
    /// `reset` reproduces the output.
    #[test]
    fn process_equals_direct_convolution() {
        let network = Network::parse(examples::MULTI_BA).unwrap();
        let mut fir = LoadFir::new(&sampled_curve(&network), 10.0, 48_000.0, 256);
        let x: Vec<f32> = (0..6000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / (1u32 << 24) as f32) - 0.5)
            .collect();
        let taps = fir.taps().to_vec();
        let direct: Vec<f64> = (0..x.len())
            .map(|n| {
                taps.iter()
                    .take(n + 1)
                    .enumerate()
                    .map(|(k, t)| t * f64::from(x[n - k]))
                    .sum()
            })
            .collect();
        let mut first: Option<Vec<f32>> = None;
        for block in [1, 37, 256, 1000] {
            fir.reset();
            let mut y = x.clone();
            for chunk in y.chunks_mut(block) {
                fir.process(chunk);
            }
            let worst = y
                .iter()
                .zip(&direct)
                .map(|(a, b)| (f64::from(*a) - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-5, "block {block}: {worst:e}");
            if let Some(f) = &first {
                let diff = y
                    .iter()
                    .zip(f)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(diff < 1e-6, "block {block} vs first: {diff}");
            } else {
                first = Some(y);
            }
        }
    }

    /// Z_out = 0 is the identity; the 1 kHz gain is the divider's; a curve without phase
    /// (minimum phase derived) gives a FIR within 0.05 dB of the formula.
    #[test]
    fn identity_gain_and_derived_phase() {
        let network = Network::parse(examples::HD600_LIKE).unwrap();
        let curve = sampled_curve(&network);
        let mut fir = LoadFir::new(&curve, 0.0, 48_000.0, 64);
        assert!(fir.is_identity() && fir.taps() == [1.0]);
        let mut x = [0.5f32, -0.25, 1.0];
        fir.process(&mut x);
        assert_eq!(x, [0.5, -0.25, 1.0]);

        let fir = LoadFir::new(&curve, 75.0, 48_000.0, 64);
        let want = divider(curve.impedance(1000.0), 75.0).norm();
        assert!((fir.gain_1khz() - want).abs() < 1e-12 * want);

        let fir = LoadFir::new(&curve.without_phase(), 75.0, 48_000.0, 64);
        let worst = log_frequencies(20.0, 20_000.0, 12.0)
            .into_iter()
            .map(|f| {
                (deviation_db(fir.response(f), fir.response(1000.0))
                    - formula_deviation_db(&network, 75.0, f))
                .abs()
            })
            .fold(0.0, f64::max);
        println!("HD600-like from |Z| only, 75 Ω: {worst:.4} dB");
        assert!(worst < 0.05);
    }
}
