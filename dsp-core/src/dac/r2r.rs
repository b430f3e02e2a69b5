//! R-2R resistor-ladder DAC model.
//!
//! A voltage-mode R-2R ladder with ideal switches is linear in its bit weights: by
//! superposition, the output is `Σ bᵢ·wᵢ` where `wᵢ` is the open-circuit output with only
//! bit i driven to Vref. Resistor tolerance therefore maps exactly to a fixed vector of bit
//! weights — one vector per physical unit. We draw each resistor uniformly within ±tolerance
//! from a seeded generator, solve the ladder by nodal analysis for every bit, and from then
//! on a sample costs three table look-ups (the code is split into bytes, each byte's partial
//! sum precomputed).
//!
//! Codings (`devices.md`, "R2R ladder behaviour to reproduce"):
//! - **Offset binary**: one ladder, code 0 = −FS. Zero sits at the major carry
//!   (0x7F…F → 0x80…0), where every bit toggles: the MSB's error is a step at the zero
//!   crossing, constant in absolute level, so THD rises ~20 dB per 20 dB of level drop (H3).
//! - **Sign-magnitude**: a sign bit and a (B−1)-bit magnitude ladder; small signals use only
//!   the LSBs, so low-level linearity stays close to full-scale linearity.
//! - **Complementary** (differential): two independently drawn ladders driven with the code
//!   and its complement, output `V_A(c) − V_B(~c)`. With ideal switches this is still linear
//!   in the bits (weights `w_A + w_B`), so the two halves' errors average (about 3 dB less
//!   distortion than one ladder) but stay odd-symmetric about mid-scale: `e(~c) = E − e(c)`.
//!   Odd harmonics only — a test pins this. Even harmonics need an asymmetric mechanism:
//!   switch on-resistances that differ between the Vref and ground positions bow each
//!   ladder ([`LadderConfig::switch_bow`]); the complementary halves cancel that bow except
//!   for their mismatch, which is what leaves even harmonics in a differential ladder.
//!
//! Optional **major-carry glitch**: switches turning on lag those turning off by
//! `glitch_skew_s`, so during a transition the output briefly shows the code `old AND new`.
//! The glitch's area, `(V(old & new) − V(new))·skew`, spread over one sample period, is
//! added to the sample (a first-order, sample-rate model of the glitch energy).

use crate::filter::fir::Kernel;
use wide::f64x4;

crate::choice! {
    /// How codes drive the ladder(s).
    pub enum Coding {
        OffsetBinary = "Offset binary", SignMagnitude = "Sign-magnitude",
        Complementary = "Complementary",
    }
}

crate::choice! {
    /// The resolutions a user's ladder offers (`r2r_bits`).
    pub enum LadderBits { B16 = "16 bit", B20 = "20 bit", B24 = "24 bit" }
}

impl LadderBits {
    /// Bits of resolution.
    pub fn bits(self) -> u32 {
        match self {
            LadderBits::B16 => 16,
            LadderBits::B20 => 20,
            LadderBits::B24 => 24,
        }
    }

    /// The entry for `bits` (a resolution not offered gives 24 bit).
    pub fn from_bits(bits: u32) -> Self {
        match bits {
            16 => LadderBits::B16,
            20 => LadderBits::B20,
            _ => LadderBits::B24,
        }
    }
}

/// Everything that defines one ladder unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderConfig {
    /// Resolution: 16, 20 or 24 (any 8..=24 works).
    pub bits: u32,
    /// Resistor tolerance in percent (uniform within ±tolerance), 0.001 … 1.
    pub tolerance_pct: f64,
    pub coding: Coding,
    /// Seed of the resistor draw: the same seed gives the same unit, bit for bit.
    pub seed: u64,
    /// Switch skew for the major-carry glitch term, in seconds (0 = off).
    pub glitch_skew_s: f64,
    /// TPDF dither of ±1 LSB before quantisation.
    pub dither: bool,
    /// Switch on-resistance bow α (relative, 0 = ideal switches): a switch's on-resistance
    /// differs between its Vref and ground positions, so a leg's resistance depends on its
    /// bit and the ladder stops being linear in the bits. To first order each ladder's
    /// output bows by `α·v·(1 − v)` (v = code ÷ 2^bits, its ideal output): a single ladder
    /// gets even-order distortion; in the complementary pair ladder B sees `1 − v`, so the
    /// halves' bows cancel but for their mismatch, `(α_A − α_B)·v·(1 − v)`.
    pub switch_bow: f64,
    /// Relative spread of α between the two halves (each drawn uniformly within
    /// ±mismatch of `switch_bow` from the seed, on a stream apart from the resistors').
    pub switch_bow_mismatch: f64,
}

impl Default for LadderConfig {
    fn default() -> Self {
        Self {
            bits: 24,
            tolerance_pct: 0.1,
            coding: Coding::OffsetBinary,
            seed: 1,
            glitch_skew_s: 0.0,
            dither: true,
            switch_bow: 0.0,
            switch_bow_mismatch: 0.0,
        }
    }
}

/// Small, fast, seedable generator (xorshift64*), good enough for resistor draws and dither.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

/// Increment of splitmix64's counter: 2^64/φ, odd (Steele, Lea & Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output function: a bijective 64-bit mix (same paper; the constants are
/// David Stafford's "Mix13").
#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl XorShift64 {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so nearby seeds give unrelated streams and 0 is valid.
        Self {
            state: splitmix64(seed.wrapping_add(GOLDEN_GAMMA)).max(1),
        }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Chris Wellons' "lowbias32" (hash-prospector, 2018): a bijective 32-bit integer hash
/// with low bias (0.17 on his avalanche measure), two multiplies and three xor-shifts.
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x
}

/// The dither generator, counter-based: the i-th sample after the stored `counter` (i = 1,
/// 2, …) takes its two uniform values from [`lowbias32`] of `counter + 2i` and
/// `counter + 2i + 1` (wrapping), so samples do not wait on each other and SIMD
/// lanes compute four samples (eight 32-bit draws) at once. (xorshift's shift–xor chain cost
/// ~12 cycles of latency per sample, more than all the rest of the converter; splitmix64 in
/// 64-bit lanes cost six 32×32 products per four samples, 0.6 ms per second of stereo audio
/// at 352.8 kHz, against two 32-bit products here.) The counter wraps after 2^31 samples
/// (1.7 hours at 352.8 kHz): the period of a ±1 LSB noise at 24 bits.
#[derive(Debug, Clone)]
struct Dither {
    counter: u32,
}

impl Dither {
    fn new(seed: u64) -> Self {
        Self {
            counter: splitmix64(seed) as u32,
        }
    }

    #[inline(always)]
    fn next_lsb(&mut self) -> f64 {
        self.counter = self.counter.wrapping_add(2);
        tpdf_lsb(
            lowbias32(self.counter),
            lowbias32(self.counter.wrapping_add(1)),
        )
    }
}

/// TPDF in LSB, in (−1, 1), from two 32-bit draws: (a − b)·2^−32 with both read as uniform
/// signed 32-bit integers (the difference is exact in `f64`).
#[inline(always)]
fn tpdf_lsb(a: u32, b: u32) -> f64 {
    (f64::from(a as i32) - f64::from(b as i32)) * (1.0 / 4_294_967_296.0)
}

/// Offset-binary code (offset binary and complementary codings) of a dithered value in LSB
/// units: round half away from zero, add mid-scale `half`, clamp to 0..=`max_code` (NaN → 0).
#[inline(always)]
fn offset_code(lsbs: f64, half: f64, max_code: f64) -> u32 {
    (round_half_away(lsbs) + half).clamp(0.0, max_code) as u32
}

/// Samples quantised per pass of [`R2rDac::process`] (codes kept in a stack array).
const CHUNK: usize = 256;

/// `x.round()` (half away from zero) without the libm call that `f64::round` is on the
/// x86-64 baseline; exact (same result for every input, NaN and ±inf included).
#[inline(always)]
fn round_half_away(x: f64) -> f64 {
    // At or above 2^52 every f64 is an integer (and ±inf, NaN fail the test).
    if x.abs() < 4_503_599_627_370_496.0 {
        let truncated = x as i64 as f64; // exact below 2^52
        let fraction = x - truncated; // exact: same sign, |fraction| < 1
        let carry = i8::from(fraction >= 0.5) - i8::from(fraction <= -0.5);
        // `copysign` keeps the sign of a zero result (−0.3 rounds to −0).
        (truncated + f64::from(carry)).copysign(x)
    } else {
        x
    }
}

/// Bit weights of one voltage-mode R-2R ladder of `bits` bits whose resistors deviate by
/// the given relative errors. Index 0 is the LSB. Ideal: `wᵢ = 2^i / 2^bits`.
///
/// Network: node i (0 = LSB end) has a leg 2R·(1+εᵢ) to its bit switch and a series
/// R·(1+δᵢ) to node i+1; node 0 is terminated by 2R·(1+τ) to ground; the output is node
/// bits−1, unloaded. Each weight is found by nodal analysis (a tridiagonal system, Thomas
/// algorithm) with only that bit at Vref = 1.
pub fn ladder_weights(bits: usize, leg_err: &[f64], series_err: &[f64], term_err: f64) -> Vec<f64> {
    assert!(bits >= 1 && leg_err.len() == bits && series_err.len() + 1 >= bits);
    let g_leg: Vec<f64> = leg_err.iter().map(|e| 1.0 / (2.0 * (1.0 + e))).collect();
    let g_ser: Vec<f64> = series_err[..bits - 1]
        .iter()
        .map(|e| 1.0 / (1.0 + e))
        .collect();
    let g_term = 1.0 / (2.0 * (1.0 + term_err));
    // Conductance matrix (tridiagonal): diag, off-diagonal between i and i+1 is −g_ser[i].
    let mut diag = vec![0.0; bits];
    for i in 0..bits {
        diag[i] = g_leg[i]
            + if i == 0 { g_term } else { g_ser[i - 1] }
            + if i + 1 < bits { g_ser[i] } else { 0.0 };
    }
    let mut weights = vec![0.0; bits];
    let mut c_prime = vec![0.0; bits];
    let mut d_prime = vec![0.0; bits];
    for (bit, weight) in weights.iter_mut().enumerate() {
        // Right-hand side: current injected through bit's leg from Vref = 1.
        for i in 0..bits {
            let rhs = if i == bit { g_leg[i] } else { 0.0 };
            let lower = if i == 0 { 0.0 } else { -g_ser[i - 1] };
            let upper = if i + 1 < bits { -g_ser[i] } else { 0.0 };
            let denom = diag[i] - lower * if i == 0 { 0.0 } else { c_prime[i - 1] };
            c_prime[i] = upper / denom;
            d_prime[i] = (rhs - lower * if i == 0 { 0.0 } else { d_prime[i - 1] }) / denom;
        }
        // Back substitution; only the output node (last) is needed, and it is d'[last].
        *weight = d_prime[bits - 1];
    }
    weights
}

/// One ladder: per-byte partial-sum tables of its bit weights.
#[derive(Debug, Clone)]
struct Ladder {
    /// `tables[k][byte]` = Σ of the weights of the set bits of `byte` at bits 8k..8k+7.
    tables: [[f64; 256]; 3],
}

impl Ladder {
    fn new(weights: &[f64]) -> Self {
        let mut tables = [[0.0; 256]; 3];
        for (k, table) in tables.iter_mut().enumerate() {
            for (byte, entry) in table.iter_mut().enumerate() {
                *entry = (0..8)
                    .filter(|b| byte & (1 << b) != 0)
                    .filter_map(|b| weights.get(8 * k + b))
                    .sum();
            }
        }
        Self { tables }
    }

    #[inline]
    fn output(&self, code: u32) -> f64 {
        self.tables[0][(code & 0xFF) as usize]
            + self.tables[1][((code >> 8) & 0xFF) as usize]
            + self.tables[2][((code >> 16) & 0xFF) as usize]
    }

    /// The complementary pair as one table set: `V_A(c) − V_B(~c)` is linear in the bits of
    /// `c`, so byte k contributes `A_k[byte] − B_k[!byte]` (bits above the ladder's width
    /// have zero weight in both) — three look-ups per sample instead of six. The same values
    /// as the two ladders summed apart, up to `f64` rounding (~1e−16 of full scale).
    fn complementary(a: &Ladder, b: &Ladder) -> Self {
        let mut tables = [[0.0; 256]; 3];
        for (k, table) in tables.iter_mut().enumerate() {
            for (byte, entry) in table.iter_mut().enumerate() {
                *entry = a.tables[k][byte] - b.tables[k][!byte & 0xFF];
            }
        }
        Self { tables }
    }

    /// A ladder drawn from `rng` within ±`tolerance` (relative).
    fn draw(bits: usize, tolerance: f64, rng: &mut XorShift64) -> (Self, Vec<f64>) {
        let mut uniform = || (2.0 * rng.next_f64() - 1.0) * tolerance;
        let leg: Vec<f64> = (0..bits).map(|_| uniform()).collect();
        let series: Vec<f64> = (0..bits.saturating_sub(1)).map(|_| uniform()).collect();
        let term = uniform();
        let weights = ladder_weights(bits, &leg, &series, term);
        (Self::new(&weights), weights)
    }
}

/// An R2R DAC: quantiser (with TPDF dither) and one or two ladders. Process `f32` samples in
/// −1..1 (full scale); output is the analog value in the same scale.
#[derive(Debug, Clone)]
pub struct R2rDac {
    config: LadderConfig,
    bits: u32,
    /// Ladder A's tables, or for the complementary coding the pair's
    /// ([`Ladder::complementary`]).
    ladder: Ladder,
    /// Bit weights of ladder A (for inspection and tests).
    weights: Vec<f64>,
    /// Output of the ladder(s) at digital zero, subtracted so 0 in gives 0 out (a DC servo).
    zero: f64,
    /// Scale from ladder volts to full scale.
    scale: f64,
    /// Largest code magnitude (sign-magnitude) or largest code (offset binary).
    max_code: i64,
    /// Glitch factor: skew × sample rate (fraction of a sample period).
    glitch: f64,
    /// Net switch bow of the coding: α_A (one ladder) or α_A − α_B (complementary).
    bow: f64,
    /// 1 / 2^(ladder bits): turns a ladder code into its ideal output v.
    inv_codes: f64,
    last_code: u32,
    /// One LSB in full-scale units, and its inverse (both powers of two, so dividing by the
    /// one and multiplying by the other are exact and equal).
    lsb: f64,
    inv_lsb: f64,
    dither: Dither,
    /// [`Kernel::Avx2Fma`]: the quantiser and the ladder look-ups run four samples per step
    /// in AVX2 (offset-binary and complementary codings); else the scalar reference and
    /// `wide`'s `f64x4`.
    kernel: Kernel,
}

/// Seed offset of the dither stream (so it is unrelated to the resistor draw).
const DITHER_SEED: u64 = 0xD1_7E4D;
/// Seed offset of the switch-bow draw.
const BOW_SEED: u64 = 0xB0_5E;

impl R2rDac {
    /// Build a unit. Allocates (prepare time only).
    pub fn new(config: &LadderConfig) -> Self {
        let bits = config.bits.clamp(8, 24);
        let tolerance = config.tolerance_pct.clamp(0.0, 1.0) / 100.0;
        let mut rng = XorShift64::new(config.seed);
        let ladder_bits = match config.coding {
            Coding::SignMagnitude => bits - 1,
            _ => bits,
        } as usize;
        let (a, weights) = Ladder::draw(ladder_bits, tolerance, &mut rng);
        let ladder = if config.coding == Coding::Complementary {
            let b = Ladder::draw(ladder_bits, tolerance, &mut rng).0;
            Ladder::complementary(&a, &b)
        } else {
            a
        };
        let lsb = match config.coding {
            Coding::SignMagnitude => 1.0 / (1u64 << (bits - 1)) as f64,
            _ => 2.0 / (1u64 << bits) as f64,
        };
        let mut dac = Self {
            config: *config,
            bits,
            ladder,
            weights,
            zero: 0.0,
            scale: 1.0,
            max_code: 0,
            glitch: 0.0,
            bow: 0.0,
            inv_codes: 1.0 / (1u64 << ladder_bits) as f64,
            last_code: 0,
            lsb,
            inv_lsb: 1.0 / lsb,
            dither: Dither::new(config.seed ^ DITHER_SEED),
            kernel: Kernel::best(),
        };
        dac.max_code = match config.coding {
            Coding::SignMagnitude => (1i64 << (bits - 1)) - 1,
            _ => (1i64 << bits) - 1,
        };
        // Ideal scale: an offset-binary ladder spans [0, 1 − 2^−B] V for codes 0..2^B−1, so
        // 2 V per full scale; a sign-magnitude ladder spans ±(1 − 2^−(B−1)), 1 V per FS; the
        // complementary pair spans twice the single ladder, 1 V per FS.
        dac.scale = match config.coding {
            Coding::OffsetBinary => 2.0,
            Coding::SignMagnitude | Coding::Complementary => 1.0,
        };
        // The halves' switch bows, drawn apart from the resistors so those stay the same.
        let mut bow_rng = XorShift64::new(config.seed ^ BOW_SEED);
        let mismatch = config.switch_bow_mismatch.clamp(0.0, 1.0);
        let mut draw_bow =
            || config.switch_bow * (1.0 + (2.0 * bow_rng.next_f64() - 1.0) * mismatch);
        let (bow_a, bow_b) = (draw_bow(), draw_bow());
        dac.bow = match config.coding {
            Coding::Complementary => bow_a - bow_b,
            _ => bow_a,
        };
        dac.zero = dac.volts(dac.code_for_lsb(0.0));
        dac.last_code = dac.code_for_lsb(0.0);
        dac
    }

    pub fn config(&self) -> &LadderConfig {
        &self.config
    }

    /// Bit weights of the (first) ladder, LSB first, in volts per bit at Vref = 1.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Set the rate at which codes are converted (scales the glitch term).
    pub fn set_sample_rate(&mut self, sample_rate: f64) {
        self.glitch = self.config.glitch_skew_s.max(0.0) * sample_rate;
    }

    /// Restart the dither sequence and the glitch memory.
    pub fn reset(&mut self) {
        self.dither = Dither::new(self.config.seed ^ DITHER_SEED);
        self.last_code = self.code_for_lsb(0.0);
    }

    /// Size of one LSB in full-scale units.
    pub fn lsb(&self) -> f64 {
        self.lsb
    }

    /// Quantise a value in LSB units (full scale ÷ [`Self::lsb`], already dithered) to the
    /// ladder's code: round half away from zero, then clamp.
    #[inline(always)]
    fn code_for_lsb(&self, lsbs: f64) -> u32 {
        match self.config.coding {
            Coding::SignMagnitude => {
                let magnitude = round_half_away(lsbs.abs()).min(self.max_code as f64) as u32;
                let sign = u32::from(lsbs < 0.0 && magnitude > 0);
                (sign << (self.bits - 1)) | magnitude
            }
            _ => offset_code(lsbs, self.half(), self.max_code as f64),
        }
    }

    /// Mid-scale code (digital zero) of the offset-binary codings.
    #[inline(always)]
    fn half(&self) -> f64 {
        (1i64 << (self.bits - 1)) as f64
    }

    /// Start the dither's counter at `counter` (to test its wrap).
    #[cfg(test)]
    fn set_dither_counter(&mut self, counter: u32) {
        self.dither.counter = counter;
    }

    /// Choose the kernel of the quantiser and the look-ups: [`Kernel::Avx2Fma`] (if this CPU
    /// has it) or the scalar reference (anything else); returns the one in use. Both give
    /// the same bits.
    pub fn set_kernel(&mut self, kernel: Kernel) -> Kernel {
        self.kernel = kernel.avx2_or(Kernel::Scalar);
        self.kernel
    }

    /// The net switch bow α·v·(1 − v) for a ladder code (see [`LadderConfig::switch_bow`]).
    #[inline(always)]
    fn bow(&self, ladder_code: u32) -> f64 {
        let v = f64::from(ladder_code) * self.inv_codes;
        self.bow * v * (1.0 - v)
    }

    /// The net switch bow α_A − α_B (complementary) or α_A of this unit.
    pub fn net_switch_bow(&self) -> f64 {
        self.bow
    }

    /// Ladder output in volts (Vref = 1) for a code.
    #[inline(always)]
    fn volts(&self, code: u32) -> f64 {
        match self.config.coding {
            Coding::OffsetBinary | Coding::Complementary => {
                self.ladder.output(code) + self.bow(code)
            }
            Coding::SignMagnitude => {
                let magnitude_mask = (1u32 << (self.bits - 1)) - 1;
                let v = self.ladder.output(code & magnitude_mask) + self.bow(code & magnitude_mask);
                if code >> (self.bits - 1) != 0 {
                    -v
                } else {
                    v
                }
            }
        }
    }

    /// Convert one sample.
    #[inline]
    pub fn convert(&mut self, x: f32) -> f32 {
        self.convert_inline(x)
    }

    #[inline(always)]
    fn convert_inline(&mut self, x: f32) -> f32 {
        let code = self.quantize(x);
        self.output(code)
    }

    /// Dither and quantise one sample (the scalar reference of the quantiser).
    #[inline(always)]
    fn quantize(&mut self, x: f32) -> u32 {
        // In LSB units: x/lsb + tpdf is exactly (x + tpdf·lsb)/lsb (lsb is a power of two).
        let mut lsbs = f64::from(x) * self.inv_lsb;
        if self.config.dither {
            // TPDF, ±1 LSB peak.
            lsbs += self.dither.next_lsb();
        }
        self.code_for_lsb(lsbs)
    }

    /// The ladder's output for a code, with the glitch of the transition from the last one.
    #[inline(always)]
    fn output(&mut self, code: u32) -> f32 {
        let mut out = self.volts(code);
        if self.glitch > 0.0 && code != self.last_code {
            // During the skew the output shows `old & new` (turning-on switches are late).
            out += (self.volts(code & self.last_code) - out) * self.glitch.min(1.0);
        }
        self.last_code = code;
        ((out - self.zero) * self.scale) as f32
    }

    /// The outputs of the offset-binary codings for `codes` into `out`, four at a time:
    /// the table sums one by one, the switch bow, offset and scale in `f64x4` lanes, with
    /// the operations of [`Self::volts`] in the same order (the same bits). Returns how many
    /// were done (a multiple of 4).
    fn volts_x4(&self, out: &mut [f32], codes: &[u32]) -> usize {
        let (zero, scale) = (f64x4::splat(self.zero), f64x4::splat(self.scale));
        let (bow, inv_codes, one) = (
            f64x4::splat(self.bow),
            f64x4::splat(self.inv_codes),
            f64x4::splat(1.0),
        );
        let (out4, _) = out.as_chunks_mut::<4>();
        let (codes4, _) = codes.as_chunks::<4>();
        for (x4, c4) in out4.iter_mut().zip(codes4) {
            let ladder = f64x4::new(c4.map(|c| self.ladder.output(c)));
            let v = f64x4::new(c4.map(f64::from)) * inv_codes;
            let volts = ladder + bow * v * (one - v);
            *x4 = ((volts - zero) * scale).to_array().map(|y| y as f32);
        }
        out4.len().min(codes4.len()) * 4
    }

    /// [`Self::volts_x4`], or with AVX2 the same operations in 256-bit registers
    /// ([`avx2::volts`]; `wide`'s `f64x4` in a baseline build is two SSE2 halves with
    /// scalar integer conversions). Returns how many were done (a multiple of 4).
    fn volts_block(&self, out: &mut [f32], codes: &[u32]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if self.kernel == Kernel::Avx2Fma {
            // SAFETY: `kernel` is only `Avx2Fma` after `is_available` confirmed (by
            // `is_x86_feature_detected!`) that this CPU has AVX2 and FMA.
            return unsafe {
                avx2::volts(
                    &self.ladder,
                    codes,
                    out,
                    [self.bow, self.inv_codes, self.zero, self.scale],
                )
            };
        }
        self.volts_x4(out, codes)
    }

    /// Quantise `x` into `codes` (same length), as [`Self::quantize`] sample by sample.
    fn quantize_block(&mut self, x: &[f32], codes: &mut [u32]) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if self.kernel == Kernel::Avx2Fma && self.config.coding != Coding::SignMagnitude {
            let dither = self.config.dither.then_some(self.dither.counter);
            // SAFETY: `kernel` is only `Avx2Fma` after `is_available` confirmed (by
            // `is_x86_feature_detected!`) that this CPU has AVX2 and FMA.
            done = unsafe {
                avx2::offset_codes(
                    x,
                    codes,
                    dither,
                    self.inv_lsb,
                    self.half(),
                    self.max_code as f64,
                )
            };
            if dither.is_some() {
                self.dither.counter = self.dither.counter.wrapping_add(2 * done as u32);
            }
        }
        for (x, code) in x[done..].iter().zip(&mut codes[done..]) {
            *code = self.quantize(*x);
        }
    }

    /// Convert a block in place: quantise a chunk (SIMD), then look the codes up (four at a
    /// time; one by one with the glitch's transition memory when a glitch is set).
    pub fn process(&mut self, block: &mut [f32]) {
        let mut codes = [0u32; CHUNK];
        for chunk in block.chunks_mut(CHUNK) {
            let codes = &mut codes[..chunk.len()];
            self.quantize_block(chunk, codes);
            if self.glitch > 0.0 {
                for (x, &code) in chunk.iter_mut().zip(codes.iter()) {
                    *x = self.output(code);
                }
            } else {
                // No glitch: the same output without the transition memory in the loop.
                let mut done = 0;
                if self.config.coding != Coding::SignMagnitude {
                    done = self.volts_block(chunk, codes);
                }
                for (x, &code) in chunk[done..].iter_mut().zip(&codes[done..]) {
                    *x = ((self.volts(code) - self.zero) * self.scale) as f32;
                }
                if let Some(&last) = codes.last() {
                    self.last_code = last;
                }
            }
        }
    }
}

/// AVX2 kernels of the converter, bit-identical to the scalar path's:
/// - [`avx2::offset_codes`], the quantiser four samples at a time: the dither's
///   [`lowbias32`] in eight 32-bit lanes (two per sample), then the same `f64` arithmetic
///   as the scalar [`offset_code`] — the rounding as `trunc(x + copysign(0.5 − 2^−54, x))`,
///   which is exactly round-half-away (LLVM lowers `f64::round` the same way);
/// - [`avx2::volts`], the ladder's output for four codes: the table sums, then the switch
///   bow, offset and scale in one 256-bit register.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256d, __m256i, _mm256_add_epi32, _mm256_add_pd, _mm256_and_pd, _mm256_castsi256_si128,
        _mm256_cvtepi32_pd, _mm256_cvtpd_ps, _mm256_cvtps_pd, _mm256_cvttpd_epi32,
        _mm256_extracti128_si256, _mm256_max_pd, _mm256_min_pd, _mm256_mul_pd, _mm256_mullo_epi32,
        _mm256_or_pd, _mm256_permutevar8x32_epi32, _mm256_round_pd, _mm256_set1_epi32,
        _mm256_set1_pd, _mm256_setr_epi32, _mm256_setr_pd, _mm256_setzero_pd, _mm256_srli_epi32,
        _mm256_sub_pd, _mm256_xor_si256, _mm_loadu_ps, _mm_loadu_si128, _mm_storeu_ps,
        _mm_storeu_si128, _MM_FROUND_NO_EXC, _MM_FROUND_TO_ZERO,
    };

    /// `super::R2rDac::volts_x4` in 256-bit registers: for each four codes the table sums
    /// (scalar, as `Ladder::output`), then the switch bow `bow·v·(1 − v)` with
    /// `v = code·inv_codes`, the offset and the scale, each operation in the same order, so
    /// the same bits. `[bow, inv_codes, zero, scale]`; codes below 2^31 (a ladder has at
    /// most 24 bits), so their conversion through `i32` is exact.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn volts(
        ladder: &super::Ladder,
        codes: &[u32],
        out: &mut [f32],
        [bow, inv_codes, zero, scale]: [f64; 4],
    ) -> usize {
        let (bow, inv_codes, one) = (
            _mm256_set1_pd(bow),
            _mm256_set1_pd(inv_codes),
            _mm256_set1_pd(1.0),
        );
        let (zero, scale) = (_mm256_set1_pd(zero), _mm256_set1_pd(scale));
        let (codes4, _) = codes.as_chunks::<4>();
        let (out4, _) = out.as_chunks_mut::<4>();
        for (c4, y4) in codes4.iter().zip(out4.iter_mut()) {
            let sums = _mm256_setr_pd(
                ladder.output(c4[0]),
                ladder.output(c4[1]),
                ladder.output(c4[2]),
                ladder.output(c4[3]),
            );
            // SAFETY: `c4` is 4 readable `u32` (16 bytes); no alignment needed.
            let c = unsafe { _mm_loadu_si128(c4.as_ptr().cast()) };
            let v = _mm256_mul_pd(_mm256_cvtepi32_pd(c), inv_codes);
            let bowed = _mm256_mul_pd(_mm256_mul_pd(bow, v), _mm256_sub_pd(one, v));
            let volts = _mm256_add_pd(sums, bowed);
            let y = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(volts, zero), scale));
            // SAFETY: `y4` is 4 writable `f32` (16 bytes); no alignment needed.
            unsafe { _mm_storeu_ps(y4.as_mut_ptr(), y) };
        }
        codes4.len().min(out4.len()) * 4
    }

    /// `super::lowbias32` in each 32-bit lane.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn lowbias32(x: __m256i) -> __m256i {
        let x = _mm256_xor_si256(x, _mm256_srli_epi32::<16>(x));
        let x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x7FEB_352D));
        let x = _mm256_xor_si256(x, _mm256_srli_epi32::<15>(x));
        let x = _mm256_mullo_epi32(x, _mm256_set1_epi32(0x846C_A68B_u32 as i32));
        _mm256_xor_si256(x, _mm256_srli_epi32::<16>(x))
    }

    /// The dither four samples at a time, as `super::Dither::next_lsb` gives it sample by
    /// sample from the same counter: lanes 2j and 2j + 1 hold the two draws of the step's
    /// j-th sample, counter + 2(j + 1) and the one after (wrapping, as there).
    pub(super) struct DitherLanes {
        counters: __m256i,
    }

    impl DitherLanes {
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub(super) fn new(counter: u32) -> Self {
            let c = counter as i32;
            Self {
                counters: _mm256_setr_epi32(
                    c.wrapping_add(2),
                    c.wrapping_add(3),
                    c.wrapping_add(4),
                    c.wrapping_add(5),
                    c.wrapping_add(6),
                    c.wrapping_add(7),
                    c.wrapping_add(8),
                    c.wrapping_add(9),
                ),
            }
        }

        /// The next four samples' TPDF in LSB, `(a − b)·2^−32` as `super::tpdf_lsb`.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub(super) fn next(&mut self) -> __m256d {
            // The first draws (even lanes) to the low 128 bits, the second (odd lanes) above.
            let halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
            let draws = _mm256_permutevar8x32_epi32(lowbias32(self.counters), halves);
            let a = _mm256_cvtepi32_pd(_mm256_castsi256_si128(draws));
            let b = _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(draws));
            self.counters = _mm256_add_epi32(self.counters, _mm256_set1_epi32(8));
            _mm256_mul_pd(_mm256_sub_pd(a, b), _mm256_set1_pd(1.0 / 4_294_967_296.0))
        }
    }

    /// Codes of `x[..4·⌊n/4⌋]` (n = the common length) into `codes`, as `super::offset_code`
    /// of `x·inv_lsb + tpdf`; `dither` is the generator's counter before the first sample,
    /// or `None` for no dither. Returns how many samples were done (the caller does the rest
    /// and advances the counter by two per sample done).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn offset_codes(
        x: &[f32],
        codes: &mut [u32],
        dither: Option<u32>,
        inv_lsb: f64,
        half: f64,
        max_code: f64,
    ) -> usize {
        let n = x.len().min(codes.len()) / 4 * 4;
        let (x, codes) = (&x[..n], &mut codes[..n]);
        let mut tpdf = DitherLanes::new(dither.unwrap_or(0));
        let inv_lsb = _mm256_set1_pd(inv_lsb);
        let sign = _mm256_set1_pd(-0.0);
        let just_below_half = _mm256_set1_pd(0.499_999_999_999_999_94);
        let half = _mm256_set1_pd(half);
        let zero = _mm256_setzero_pd();
        let max_code = _mm256_set1_pd(max_code);
        for (x4, out) in x
            .as_chunks::<4>()
            .0
            .iter()
            .zip(codes.as_chunks_mut::<4>().0)
        {
            // SAFETY: `x4` is 4 readable `f32` (16 bytes); `_mm_loadu_ps` needs no alignment.
            let samples = _mm256_cvtps_pd(unsafe { _mm_loadu_ps(x4.as_ptr()) });
            let mut lsbs = _mm256_mul_pd(samples, inv_lsb);
            if dither.is_some() {
                lsbs = _mm256_add_pd(lsbs, tpdf.next());
            }
            let bias = _mm256_or_pd(_mm256_and_pd(lsbs, sign), just_below_half);
            let rounded = _mm256_round_pd::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(
                _mm256_add_pd(lsbs, bias),
            );
            // max(NaN, 0) is 0 (the second operand), as `clamp` then `as u32` gives 0.
            let code = _mm256_min_pd(_mm256_max_pd(_mm256_add_pd(rounded, half), zero), max_code);
            // SAFETY: `out` is 4 writable `u32` (16 bytes); `_mm_storeu_si128` needs no
            // alignment.
            unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_cvttpd_epi32(code)) };
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_ladder_has_binary_weights() {
        for bits in [4usize, 16, 24] {
            let w = ladder_weights(bits, &vec![0.0; bits], &vec![0.0; bits - 1], 0.0);
            for (i, wi) in w.iter().enumerate() {
                let ideal = (1u64 << i) as f64 / (1u64 << bits) as f64;
                assert!(
                    (wi - ideal).abs() < 1e-15 * ideal.max(1e-6),
                    "bit {i}: {wi} vs {ideal}"
                );
            }
        }
    }

    #[test]
    fn one_leg_error_moves_its_weight_by_the_circuit_formula() {
        // Looking from any node toward the LSB end, an ideal R-2R ladder is 2R. So with the
        // MSB leg at 2R(1+ε) the output node divides Vref between 2R(1+ε) and 2R:
        // w_MSB = 2R / (2R + 2R(1+ε)) = 1/(2+ε).
        let bits = 8;
        let eps = 0.001;
        let mut leg = vec![0.0; bits];
        leg[bits - 1] = eps;
        let w = ladder_weights(bits, &leg, &vec![0.0; bits - 1], 0.0);
        assert!((w[bits - 1] - 1.0 / (2.0 + eps)).abs() < 1e-15);
    }

    #[test]
    fn ideal_dac_reproduces_input_within_half_lsb() {
        for coding in [
            Coding::OffsetBinary,
            Coding::SignMagnitude,
            Coding::Complementary,
        ] {
            let mut dac = R2rDac::new(&LadderConfig {
                bits: 16,
                tolerance_pct: 0.0,
                coding,
                dither: false,
                ..LadderConfig::default()
            });
            let lsb = dac.lsb();
            for i in -1000..=1000 {
                let x = i as f32 / 1001.0;
                let y = dac.convert(x);
                assert!(
                    (f64::from(y) - f64::from(x)).abs() <= 0.5 * lsb + 1e-9,
                    "{coding:?}: {x} -> {y}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_unit_bit_for_bit() {
        let config = LadderConfig {
            bits: 20,
            coding: Coding::Complementary,
            seed: 42,
            ..LadderConfig::default()
        };
        let mut a = R2rDac::new(&config);
        let mut b = R2rDac::new(&config);
        let c = R2rDac::new(&LadderConfig { seed: 43, ..config });
        assert_eq!(a.weights(), b.weights());
        assert_ne!(a.weights(), c.weights());
        for i in 0..10_000 {
            let x = (i as f32 * 0.001).sin() * 0.7;
            assert_eq!(a.convert(x).to_bits(), b.convert(x).to_bits());
        }
    }

    /// Inputs that exercise the quantiser: noise, exact half-LSB ties (no dither), full
    /// scale and beyond, ±0, ±inf and NaN.
    fn quantiser_inputs(bits: u32) -> Vec<f32> {
        let lsb = 2.0 / (1u64 << bits) as f64;
        let mut state = 0x1234_5678_u64;
        let mut x: Vec<f32> = (0..3000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.4 - 1.2
            })
            .collect();
        x.extend((-40..40).map(|k| ((f64::from(k) + 0.5) * lsb) as f32));
        x.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            3.0,
            -3.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e30,
            -1e-30,
        ]);
        x
    }

    /// The AVX2 quantiser and look-ups (four samples a step, the dither's lowbias32 in
    /// lanes) against the scalar reference: the same bits for every coding, with and without
    /// dither, glitch and switch bow, whatever the block split, with the dither's counter
    /// also started just below its wrap — and the same as `convert` sample by sample.
    #[test]
    fn simd_quantiser_equals_scalar_bit_for_bit() {
        let cases = [
            (true, 0.0, 0.0),
            (false, 5e-9, 0.0),
            (false, 0.0, 2e-4),
            (true, 0.0, -1e-4),
        ];
        for coding in [
            Coding::OffsetBinary,
            Coding::Complementary,
            Coding::SignMagnitude,
        ] {
            // `None`: the counter from the seed; `Some`: started 20 below its wrap, so the
            // tenth sample's two draws straddle it (u32::MAX, then 0). The blocks below
            // start 1, 3, 64: the SIMD path runs samples 5 to 68, the wrap among them.
            for (start, (dither, glitch_skew_s, switch_bow)) in [None, Some(u32::MAX - 20)]
                .into_iter()
                .flat_map(|start| cases.map(|case| (start, case)))
            {
                let config = LadderConfig {
                    bits: 24,
                    coding,
                    dither,
                    seed: 5,
                    glitch_skew_s,
                    switch_bow,
                    switch_bow_mismatch: 0.5,
                    ..LadderConfig::default()
                };
                let build = || {
                    let mut dac = R2rDac::new(&config);
                    dac.set_sample_rate(352_800.0);
                    if let Some(start) = start {
                        dac.set_dither_counter(start);
                    }
                    dac
                };
                let x = quantiser_inputs(config.bits);
                let mut reference = build();
                assert_eq!(reference.set_kernel(Kernel::Scalar), Kernel::Scalar);
                let mut expected = x.clone();
                reference.process(&mut expected);

                let mut simd = build();
                let kernel = simd.set_kernel(Kernel::best());
                let mut y = x.clone();
                let mut pos = 0;
                for n in [1usize, 3, 64, 300, 1000, 7].iter().cycle() {
                    if pos == y.len() {
                        break;
                    }
                    let n = (*n).min(y.len() - pos);
                    simd.process(&mut y[pos..pos + n]);
                    pos += n;
                }

                let mut single = build();
                let by_sample: Vec<f32> = x.iter().map(|&v| single.convert(v)).collect();
                for (i, ((a, b), c)) in y.iter().zip(&expected).zip(&by_sample).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "{coding:?}, dither {dither} from {start:?}, {kernel:?}: sample {i} \
                         ({}): {a} vs {b}",
                        x[i]
                    );
                    assert_eq!(b.to_bits(), c.to_bits(), "process vs convert, sample {i}");
                }
            }
        }
    }

    #[test]
    fn round_half_away_equals_f64_round() {
        let specials = [
            0.5,
            -0.5,
            1.5,
            -2.5,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            -4_503_599_627_370_497.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
        ];
        let mut rng = XorShift64::new(3);
        let random = (0..10_000).map(|_| (rng.next_f64() - 0.5) * 2e7);
        for x in specials.into_iter().chain(random) {
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x}");
        }
        assert!(round_half_away(f64::NAN).is_nan());
    }

    /// The complementary pair's single table set equals the two ladders summed apart.
    #[test]
    fn complementary_table_equals_two_ladders() {
        for bits in [16usize, 20, 24] {
            let mut rng = XorShift64::new(9);
            let (a, _) = Ladder::draw(bits, 0.001, &mut rng);
            let (b, _) = Ladder::draw(bits, 0.001, &mut rng);
            let pair = Ladder::complementary(&a, &b);
            let mask = ((1u64 << bits) - 1) as u32;
            for _ in 0..10_000 {
                let code = rng.next_u64() as u32 & mask;
                let two = a.output(code) - b.output(!code & mask);
                assert!(
                    (pair.output(code) - two).abs() < 1e-15,
                    "{bits} bits, {code:#x}"
                );
            }
        }
    }

    /// The AVX2 dither lanes give the scalar generator's values, bit for bit, from a
    /// counter near its wrap (a pair of draws straddles it) and from an ordinary one.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_dither_equals_scalar_across_the_wrap() {
        if !Kernel::Avx2Fma.is_available() {
            eprintln!("no AVX2 on this CPU: nothing to compare");
            return;
        }
        for start in [u32::MAX - 20, u32::MAX - 1, 12_345] {
            let mut scalar = Dither { counter: start };
            let expected: Vec<f64> = (0..64).map(|_| scalar.next_lsb()).collect();
            // SAFETY: AVX2 and FMA are available (checked above).
            let got: Vec<f64> = unsafe {
                let mut lanes = avx2::DitherLanes::new(start);
                (0..16)
                    .flat_map(|_| {
                        let mut four = [0.0f64; 4];
                        std::arch::x86_64::_mm256_storeu_pd(four.as_mut_ptr(), lanes.next());
                        four
                    })
                    .collect()
            };
            for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
                    "from {start}: sample {i}: {g} vs {e}"
                );
            }
        }
    }

    /// The dither: triangular on (−1, 1) LSB — mean 0, variance 1/6, third and fourth
    /// moments of the triangle (0 and 1/15·… : E[t⁴] = 1/15), no correlation at lags 1 to 16
    /// (the SIMD path draws four samples, eight counters, at a time), and its histogram the
    /// triangle's in each of 20 bins, within 5 standard deviations of the bin's count.
    #[test]
    fn dither_is_tpdf_of_one_lsb() {
        let mut dither = Dither::new(42);
        let n = 1_000_000;
        let t: Vec<f64> = (0..n).map(|_| dither.next_lsb()).collect();
        let mean = t.iter().sum::<f64>() / n as f64;
        let moment = |k: i32| t.iter().map(|v| v.powi(k)).sum::<f64>() / n as f64;
        let lag = |l: usize| t.windows(l + 1).map(|w| w[0] * w[l]).sum::<f64>() / n as f64;
        for l in 1..=16 {
            // A lag product of independent draws has σ = Var(t)/√n = (1/6)/1000 ≈ 1.7e-4:
            // 1e-3 is about 6σ (a correlation of 0.6 %).
            assert!(lag(l).abs() < 1e-3, "lag-{l} correlation {}", lag(l));
        }
        let mut bins = [0usize; 20];
        for v in &t {
            bins[(((v + 1.0) * 10.0) as usize).min(19)] += 1;
        }
        for (i, &count) in bins.iter().enumerate() {
            // The triangle's mass on [x0, x1] ⊂ (−1, 1).
            let cdf = |x: f64| {
                if x < 0.0 {
                    0.5 * (1.0 + x).powi(2)
                } else {
                    1.0 - 0.5 * (1.0 - x).powi(2)
                }
            };
            let (x0, x1) = (i as f64 / 10.0 - 1.0, (i + 1) as f64 / 10.0 - 1.0);
            let expected = (cdf(x1) - cdf(x0)) * n as f64;
            assert!(
                (count as f64 - expected).abs() < 5.0 * expected.sqrt(),
                "bin {i}: {count} against {expected:.0}"
            );
        }
        assert!(t.iter().all(|v| v.abs() < 1.0));
        assert!(mean.abs() < 2e-3, "mean {mean}");
        assert!(
            (moment(2) - 1.0 / 6.0).abs() < 2e-3,
            "variance {}",
            moment(2)
        );
        assert!(moment(3).abs() < 2e-3, "third moment {}", moment(3));
        assert!(
            (moment(4) - 1.0 / 15.0).abs() < 2e-3,
            "fourth moment {}",
            moment(4)
        );
    }

    #[test]
    fn weights_stay_within_tolerance_bounds() {
        // A weight's relative error cannot exceed a few times the tolerance.
        let dac = R2rDac::new(&LadderConfig {
            bits: 24,
            tolerance_pct: 0.1,
            seed: 7,
            ..LadderConfig::default()
        });
        for (i, w) in dac.weights().iter().enumerate() {
            let ideal = (1u64 << i) as f64 / (1u64 << 24) as f64;
            let rel = (w / ideal - 1.0).abs();
            assert!(rel < 0.004, "bit {i} off by {rel}");
        }
    }

    #[test]
    fn glitch_appears_only_at_transitions_and_scales_with_skew() {
        let base = LadderConfig {
            bits: 16,
            tolerance_pct: 0.0,
            dither: false,
            ..LadderConfig::default()
        };
        let lsb = 2.0 / 65536.0;
        let run = |skew: f64| {
            let mut dac = R2rDac::new(&LadderConfig {
                glitch_skew_s: skew,
                ..base
            });
            dac.set_sample_rate(44_100.0);
            // Cross zero downward: code 0x8000 → 0x7FFF, the major carry.
            let _ = dac.convert(0.0);
            let held = dac.convert(0.0);
            let carry = dac.convert(-lsb as f32);
            (held, carry)
        };
        let (held, clean) = run(0.0);
        assert_eq!(held, 0.0);
        let (_, g1) = run(10e-9);
        let (_, g2) = run(20e-9);
        // old & new = 0x0000 = −FS: the glitch pulls toward −1 by skew·rate.
        let expected = -(1.0 - lsb) * 10e-9 * 44_100.0;
        assert!(
            ((g1 - clean) as f64 - expected).abs() < 1e-7,
            "{g1} vs {clean}"
        );
        assert!((((g2 - clean) / (g1 - clean)) - 2.0).abs() < 1e-3);
    }

    /// THD (H2…H9, dB re fundamental) and H2/H3 of a 16-bit unit at a level, 1 kHz, 44.1 kHz.
    fn ladder_thd(coding: Coding, seed: u64, level_dbfs: f64) -> (f64, f64, f64) {
        let mut dac = R2rDac::new(&LadderConfig {
            bits: 16,
            tolerance_pct: 0.1,
            coding,
            seed,
            ..LadderConfig::default()
        });
        let amplitude = 10f64.powf(level_dbfs / 20.0);
        let rate = 44_100.0;
        let y: Vec<f32> = (0..44_100)
            .map(|i| {
                let x = amplitude * (std::f64::consts::TAU * 1000.0 * i as f64 / rate).sin();
                dac.convert(x as f32)
            })
            .collect();
        let m = crate::analysis::thd_n(&y, rate, 1000.0, crate::analysis::AUDIO_BAND_HZ);
        (m.thd_db, m.harmonics_db[0], m.harmonics_db[1])
    }

    fn percent(db: f64) -> f64 {
        100.0 * 10f64.powf(db / 20.0)
    }

    /// devices.md, "R2R ladder behaviour to reproduce": 16 bits, ±0.1 %, 1 kHz, TPDF.
    /// Offset binary: 0.02–0.04 % at 0 dBFS, 0.1–0.3 % at −20, 0.8–2.9 % at −40, 7–18 % at
    /// −60, odd-order dominant; sign-magnitude: 0.004–0.014, 0.012–0.029, 0.014–0.057,
    /// 0.07–0.12 %. Over eight units (resistors uniform within ±0.1 %): the median unit lies
    /// within the published range widened by ±6 dB (units spread: one with a large MSB error
    /// reads >100 % at −60 dBFS, which is physical); offset binary rises 20 ± 4 dB per 20 dB
    /// of level drop with H3 dominant; sign-magnitude stays within 6 dB of its full-scale THD
    /// down to −40 dBFS and within the table's own +20 dB at −60 dBFS.
    /// (level dBFS, published THD low %, high %) per row of the table.
    type TableRows = [(f64, f64, f64); 4];

    #[test]
    fn sixteen_bit_units_reproduce_the_behaviour_table() {
        let table: [(Coding, TableRows); 2] = [
            (
                Coding::OffsetBinary,
                [
                    (0.0, 0.02, 0.04),
                    (-20.0, 0.1, 0.3),
                    (-40.0, 0.8, 2.9),
                    (-60.0, 7.0, 18.0),
                ],
            ),
            (
                Coding::SignMagnitude,
                [
                    (0.0, 0.004, 0.014),
                    (-20.0, 0.012, 0.029),
                    (-40.0, 0.014, 0.057),
                    (-60.0, 0.07, 0.12),
                ],
            ),
        ];
        let mut report = String::new();
        let mut failures = Vec::new();
        for (coding, rows) in table {
            let mut medians_db = Vec::new();
            for (level, lo, hi) in rows {
                let mut thds: Vec<f64> = Vec::new();
                let mut h3_dominant = 0;
                for seed in 1..=8u64 {
                    let (thd, h2, h3) = ladder_thd(coding, seed, level);
                    thds.push(percent(thd));
                    h3_dominant += usize::from(h3 > h2);
                }
                thds.sort_by(f64::total_cmp);
                let median = 0.5 * (thds[3] + thds[4]);
                medians_db.push(20.0 * (median / 100.0).log10());
                report += &format!(
                    "{coding:?} {level:>4} dBFS: THD {:.4}–{:.4} % (median {median:.4}; table {lo}–{hi}), H3 > H2 in {h3_dominant}/8\n",
                    thds[0], thds[7]
                );
                if median < lo / 2.0 || median > hi * 2.0 {
                    failures.push(format!(
                        "{coding:?} at {level} dBFS: median {median} % vs {lo}–{hi} %"
                    ));
                }
                if coding == Coding::OffsetBinary && h3_dominant < 6 {
                    failures.push(format!(
                        "offset binary at {level} dBFS: H3 dominant only {h3_dominant}/8"
                    ));
                }
            }
            match coding {
                Coding::OffsetBinary => {
                    for step in medians_db.windows(2) {
                        let rise = step[1] - step[0];
                        if (rise - 20.0).abs() > 4.0 {
                            failures.push(format!("offset binary rises {rise:.1} dB per 20 dB"));
                        }
                    }
                }
                _ => {
                    let rise_40 = medians_db[2] - medians_db[0];
                    let rise_60 = medians_db[3] - medians_db[0];
                    if rise_40 > 6.0 || rise_60 > 20.0 {
                        failures.push(format!(
                            "sign-magnitude rises {rise_40:.1} dB at −40, {rise_60:.1} dB at −60"
                        ));
                    }
                }
            }
        }
        println!("{report}");
        assert!(failures.is_empty(), "{failures:#?}\n{report}");
    }

    #[test]
    fn linear_ladders_make_odd_harmonics_only() {
        // Any coding that is linear in its bits has an error odd-symmetric about mid-scale,
        // so H2 stays at the dither/noise floor while H3 carries the distortion.
        for coding in [Coding::OffsetBinary, Coding::Complementary] {
            for seed in 1..=4u64 {
                let (_, h2, h3) = ladder_thd(coding, seed, -6.0);
                assert!(
                    h3 - h2 > 25.0,
                    "{coding:?} seed {seed}: H2 {h2:.1} dBc, H3 {h3:.1} dBc"
                );
            }
        }
    }

    /// H2 of a −6 dBFS, 1 kHz sine through an ideal-resistor 24-bit unit with a switch bow.
    fn bow_h2(coding: Coding, bow: f64, mismatch: f64, seed: u64) -> (f64, f64) {
        let config = LadderConfig {
            bits: 24,
            tolerance_pct: 0.0,
            coding,
            seed,
            dither: false,
            switch_bow: bow,
            switch_bow_mismatch: mismatch,
            ..LadderConfig::default()
        };
        let mut dac = R2rDac::new(&config);
        let y: Vec<f32> = (0..44_100)
            .map(|i| {
                dac.convert(
                    (0.5 * (std::f64::consts::TAU * 1000.0 * i as f64 / 44_100.0).sin()) as f32,
                )
            })
            .collect();
        let m = crate::analysis::thd_n(&y, 44_100.0, 1000.0, crate::analysis::AUDIO_BAND_HZ);
        (m.harmonics_db[0], dac.net_switch_bow())
    }

    #[test]
    fn switch_bow_gives_h2_and_the_complementary_pair_cancels_all_but_its_mismatch() {
        let alpha = 2e-3;
        let a = 0.5;
        // One ladder (offset binary, 2 V per full scale): out = 2α·v(1 − v) with
        // v = (1 + x)/2, whose x² term gives H2 = α·A/4 re the fundamental.
        let (h2, net) = bow_h2(Coding::OffsetBinary, alpha, 0.0, 1);
        let expected = 20.0 * (net * a / 4.0).log10();
        assert!(
            (h2 - expected).abs() < 0.1,
            "single ladder H2 {h2:.2} vs {expected:.2} dBc"
        );
        // The complementary pair with matched switches: the bows cancel.
        let (h2, net) = bow_h2(Coding::Complementary, alpha, 0.0, 1);
        assert_eq!(net, 0.0);
        assert!(h2 < -140.0, "matched pair H2 {h2:.1} dBc");
        // With ±10 % mismatch: H2 = (α_A − α_B)·A/8 (1 V per full scale).
        for seed in 1..=4 {
            let (h2, net) = bow_h2(Coding::Complementary, alpha, 0.1, seed);
            let expected = 20.0 * (net.abs() * a / 8.0).log10();
            assert!(net.abs() <= 2.0 * 0.1 * alpha);
            if expected > -125.0 {
                assert!(
                    (h2 - expected).abs() < 0.1,
                    "seed {seed}: H2 {h2:.2} vs {expected:.2} dBc"
                );
            } else {
                // Halves matched so closely that H2 sits at the f32 output's floor.
                assert!(h2 < -125.0, "seed {seed}: H2 {h2:.2} dBc");
            }
        }
    }
}
