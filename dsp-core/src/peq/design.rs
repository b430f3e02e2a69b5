//! Biquad design for the PEQ bands: EqualizerAPO's RBJ biquads ([`rbj`]), analog-matched
//! biquads without cramping ([`analog_matched`]) and the analog prototypes both
//! approximate ([`analog_response`]).
//!
//! # What EqualizerAPO computes
//! From EqualizerAPO's source (`filters/BiQuad.cpp`, `filters/BiQuadFilter.cpp`,
//! `filters/BiQuadFilterFactory.cpp`, version 1.2 and later; GPL, read for reference, not
//! copied): every filter is one RBJ Audio-EQ-Cookbook biquad (R. Bristow-Johnson,
//! <https://www.w3.org/TR/audio-eq-cookbook/>) in `f64`, with `w0 = 2π·Fc/fs`,
//! `A = 10^(gain/40)` and
//!
//! - `alpha = sin(w0)/(2Q)` when a `Q` is given;
//! - `alpha = sin(w0)·sinh(ln2/2 · BW · w0/sin(w0))` for `BW Oct` (cookbook's digital
//!   bandwidth; see [`apo_bandwidth_q`]);
//! - shelves without Q use the cookbook's slope S:
//!   `alpha = sin(w0)/2 · √((A + 1/A)(1/S − 1) + 2)`, with S = 0.9 when no slope is given
//!   ([`APO_SHELF_SLOPE`], "found out by experimentation with RoomEQWizard") or
//!   `S = slope_dB/12` for `LS 6dB`-style lines;
//! - shelves: `beta = 2·√A·alpha` (cookbook `2·√A·alpha`);
//! - `BP` is the cookbook's constant-0-dB-peak band-pass (`b = (alpha, 0, −alpha)`), its
//!   gain ignored; `NO` is the cookbook notch, `AP` the cookbook all-pass;
//! - defaults when no Q/BW is given: LP/HP/BP Q = 1/√2, NO Q = 30 ([`APO_NOTCH_Q`]); PK and
//!   AP require one.
//! - `LS`/`HS` (no `C`) given a slope or a Q treat `Fc` as a *corner* frequency (as the
//!   Behringer DCX2496) and move the cookbook midpoint by `10^(|gain|/(80·S))` (up for
//!   `LS`, down for `HS`); with neither, `Fc` stays the midpoint. The importer turns those
//!   lines into exact `LSC`/`HSC` equivalents ([`super::apo`]).

use std::f64::consts::{FRAC_1_SQRT_2, LN_2, TAU};

use realfft::num_complex::Complex64;

use super::{Band, FilterType, PeqDesign};
use crate::filter::biquad::BiquadCoefs;

/// EqualizerAPO's shelf slope S for `LS`/`HS`/`LSC`/`HSC` given without slope or Q
/// (`BiQuadFilterFactory.cpp`: "found out by experimentation with RoomEQWizard").
pub const APO_SHELF_SLOPE: f64 = 0.9;

/// EqualizerAPO's Q for `LP`/`HP`/`BP` given without Q or bandwidth (Butterworth).
pub const APO_DEFAULT_Q: f64 = FRAC_1_SQRT_2;

/// EqualizerAPO's Q for `NO` (notch) given without Q or bandwidth.
pub const APO_NOTCH_Q: f64 = 30.0;

/// The band's biquad at `sample_rate` with the chosen design. Ignores `band.on`.
pub fn design(band: &Band, design: PeqDesign, sample_rate: f64) -> BiquadCoefs {
    match design {
        PeqDesign::ApoRbj => rbj(band, sample_rate),
        PeqDesign::AnalogMatched => analog_matched(band, sample_rate),
    }
}

/// The cookbook shelf Q for slope `slope` (S; 1 = steepest monotonic) at `gain_db`:
/// `1/Q = √((A + 1/A)(1/S − 1) + 2)`, `A = 10^(gain/40)`. NaN when the slope is too
/// steep for the gain (the root's argument is negative) or not positive.
pub fn shelf_q_from_slope(gain_db: f64, slope: f64) -> f64 {
    let a = 10f64.powf(gain_db / 40.0);
    let arg = (a + 1.0 / a) * (1.0 / slope - 1.0) + 2.0;
    if slope > 0.0 && arg > 0.0 {
        1.0 / arg.sqrt()
    } else {
        f64::NAN
    }
}

/// The inverse of [`shelf_q_from_slope`]: `1/S = (1/Q² − 2)/(A + 1/A) + 1` (NaN or
/// negative when no slope corresponds).
pub fn shelf_slope_from_q(gain_db: f64, q: f64) -> f64 {
    let a = 10f64.powf(gain_db / 40.0);
    1.0 / ((1.0 / (q * q) - 2.0) / (a + 1.0 / a) + 1.0)
}

/// Q of a bandwidth of `bw_oct` octaves, by the analog relation
/// `1/Q = 2·sinh(ln2/2 · BW)` (cookbook). Sample-rate independent, so a band keeps its
/// shape at every host rate; EqualizerAPO's own conversion differs near Nyquist
/// ([`apo_bandwidth_q`]).
pub fn q_from_bandwidth(bw_oct: f64) -> f64 {
    1.0 / (2.0 * (LN_2 / 2.0 * bw_oct).sinh())
}

/// The Q EqualizerAPO effectively uses for `BW Oct bw_oct` at `freq_hz` and `sample_rate`:
/// it computes `alpha = sin(w0)·sinh(ln2/2 · BW · w0/sin(w0))` (the cookbook's digital
/// bandwidth, which undoes the bilinear transform's warping), i.e.
/// `Q = 1/(2·sinh(ln2/2 · BW · w0/sin(w0)))`. Equals [`q_from_bandwidth`] as w0 → 0.
pub fn apo_bandwidth_q(bw_oct: f64, freq_hz: f64, sample_rate: f64) -> f64 {
    let w0 = TAU * freq_hz / sample_rate;
    1.0 / (2.0 * (LN_2 / 2.0 * bw_oct * w0 / w0.sin()).sinh())
}

/// The Q of the band's analog prototype: `q` for most types, the Q of slope
/// [`APO_SHELF_SLOPE`] at the band's gain for the fixed-slope shelves.
pub fn prototype_q(band: &Band) -> f64 {
    match band.kind {
        FilterType::LowShelf | FilterType::HighShelf => {
            shelf_q_from_slope(band.gain_db, APO_SHELF_SLOPE)
        }
        _ => band.q,
    }
}

/// Exactly the biquad EqualizerAPO computes for `band` at `sample_rate` (RBJ
/// Audio-EQ-Cookbook; see the module docs for the per-type definitions). Parameters are
/// clamped first ([`Band::sanitized`]). Ignores `band.on`.
pub fn rbj(band: &Band, sample_rate: f64) -> BiquadCoefs {
    let b = band.sanitized(sample_rate);
    let w0 = TAU * b.freq_hz / sample_rate;
    let (sn, cs) = w0.sin_cos();
    let a = 10f64.powf(b.gain_db / 40.0);
    // Cookbook: alpha = sin(w0)/(2Q); for the fixed-slope shelves the slope form, which is
    // the same expression with Q = prototype_q (S = 0.9).
    let alpha = sn / (2.0 * prototype_q(&b));
    let beta = 2.0 * a.sqrt() * alpha;
    let (b0, b1, b2, a0, a1, a2) = match b.kind {
        FilterType::Peak => (
            1.0 + alpha * a,
            -2.0 * cs,
            1.0 - alpha * a,
            1.0 + alpha / a,
            -2.0 * cs,
            1.0 - alpha / a,
        ),
        FilterType::LowShelfQ | FilterType::LowShelf => (
            a * ((a + 1.0) - (a - 1.0) * cs + beta),
            2.0 * a * ((a - 1.0) - (a + 1.0) * cs),
            a * ((a + 1.0) - (a - 1.0) * cs - beta),
            (a + 1.0) + (a - 1.0) * cs + beta,
            -2.0 * ((a - 1.0) + (a + 1.0) * cs),
            (a + 1.0) + (a - 1.0) * cs - beta,
        ),
        FilterType::HighShelfQ | FilterType::HighShelf => (
            a * ((a + 1.0) + (a - 1.0) * cs + beta),
            -2.0 * a * ((a - 1.0) + (a + 1.0) * cs),
            a * ((a + 1.0) + (a - 1.0) * cs - beta),
            (a + 1.0) - (a - 1.0) * cs + beta,
            2.0 * ((a - 1.0) - (a + 1.0) * cs),
            (a + 1.0) - (a - 1.0) * cs - beta,
        ),
        FilterType::LowPass => (
            (1.0 - cs) / 2.0,
            1.0 - cs,
            (1.0 - cs) / 2.0,
            1.0 + alpha,
            -2.0 * cs,
            1.0 - alpha,
        ),
        FilterType::HighPass => (
            (1.0 + cs) / 2.0,
            -(1.0 + cs),
            (1.0 + cs) / 2.0,
            1.0 + alpha,
            -2.0 * cs,
            1.0 - alpha,
        ),
        FilterType::BandPass => (alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cs, 1.0 - alpha),
        FilterType::Notch => (1.0, -2.0 * cs, 1.0, 1.0 + alpha, -2.0 * cs, 1.0 - alpha),
        FilterType::AllPass => (
            1.0 - alpha,
            -2.0 * cs,
            1.0 + alpha,
            1.0 + alpha,
            -2.0 * cs,
            1.0 - alpha,
        ),
    };
    BiquadCoefs {
        b0: b0 / a0,
        b1: b1 / a0,
        b2: b2 / a0,
        a1: a1 / a0,
        a2: a2 / a0,
    }
}

/// Response of the band's analog prototype at `freq_hz` (s = j·f/f0), the filter both
/// designs approximate (RBJ cookbook's analog forms, `A = 10^(gain/40)`):
///
/// - PK: `(s² + s·A/Q + 1)/(s² + s/(A·Q) + 1)`
/// - low shelf: `A·(s² + s·√A/Q + A)/(A·s² + s·√A/Q + 1)`
/// - high shelf: `A·(A·s² + s·√A/Q + 1)/(s² + s·√A/Q + A)`
/// - LP `1/D`, HP `s²/D`, BP `(s/Q)/D`, notch `(s² + 1)/D`, all-pass `(s² − s/Q + 1)/D`
///   with `D = s² + s/Q + 1`,
///
/// with Q from [`prototype_q`] (S = 0.9 for LS/HS). Parameters are clamped as
/// [`Band::sanitized`] but without the Nyquist limit. Ignores `band.on`.
pub fn analog_response(band: &Band, freq_hz: f64) -> Complex64 {
    let b = band.sanitized(f64::INFINITY);
    let s = Complex64::new(0.0, freq_hz / b.freq_hz);
    let s2 = s * s;
    let a = 10f64.powf(b.gain_db / 40.0);
    let q = prototype_q(&b);
    let one = Complex64::new(1.0, 0.0);
    let d = s2 + s / q + one;
    match b.kind {
        FilterType::Peak => (s2 + s * (a / q) + one) / (s2 + s / (a * q) + one),
        FilterType::LowShelfQ | FilterType::LowShelf => {
            (s2 + s * (a.sqrt() / q) + a) * a / (s2 * a + s * (a.sqrt() / q) + one)
        }
        FilterType::HighShelfQ | FilterType::HighShelf => {
            (s2 * a + s * (a.sqrt() / q) + one) * a / (s2 + s * (a.sqrt() / q) + a)
        }
        FilterType::LowPass => one / d,
        FilterType::HighPass => s2 / d,
        FilterType::BandPass => (s / q) / d,
        FilterType::Notch => (s2 + one) / d,
        FilterType::AllPass => (s2 - s / q + one) / d,
    }
}

/// A biquad whose magnitude matches the band's analog prototype ([`analog_response`])
/// without the bilinear transform's cramping near Nyquist.
///
/// # Why this method
/// The PEQ runs at the host rate (the device's EQ is digital, before its DAC), often
/// 44.1 or 48 kHz, where a bilinear (RBJ) peak at 15 kHz is visibly narrower than its
/// analog prototype and shelves bend toward Nyquist. Oversampling would cost latency and
/// CPU; closed-form magnitude matching fixes the magnitude at no running cost (the
/// coefficients are computed in well under a microsecond, so they can follow automation).
///
/// # Method
/// Built on M. Vicanek, "Matched Second Order Digital Filters" (2016,
/// <https://www.vicanek.de/articles/BiquadFits.pdf>). Write the digital magnitude as
/// `|H(e^{jω})|² = (B0·φ0 + B1·φ1 + B2·φ2)/(A0·φ0 + A1·φ1 + A2·φ2)` with
/// `φ1 = sin²(ω/2)`, `φ0 = 1 − φ1`, `φ2 = 4·φ0·φ1`, where `A0 = (1 + a1 + a2)²`,
/// `A1 = (1 − a1 + a2)²`, `A2 = −4·a2` (likewise B for the numerator). Magnitude
/// conditions of the analog prototype are linear in the A's and B's; a polynomial is
/// recovered from them by Vicanek's factorisation `b1 = (√B0 − √B1)/2`,
/// `W = (√B0 + √B1)/2`, `b0 = (W + √(W² + B2))/2`, `b2 = −B2/(4·b0)`.
///
/// - Poles, where fixed: impulse invariance `z = e^{s·T}` of the analog poles (exact
///   resonance and damping): with ζ = 1/(2Q), `a1 = −2·e^{−ζw}·cos(w·√(1−ζ²))` (cosh for
///   ζ > 1), `a2 = e^{−2ζw}` (Vicanek).
/// - PK, f0 ≥ fs/32: *five* conditions with poles and zeros free — gain at DC, gain and
///   zero slope at f0, and gain at both midpoint-gain (dBgain/2) frequencies, the
///   cookbook's bandwidth edges (`peak_fit`). Vicanek's three-condition peak (poles
///   fixed, DC, f0, slope at f0) is 0.07/0.16 dB off at 12/18 kHz for a 15 kHz, Q 2, +6 dB
///   peak at 44.1 kHz; the five-condition fit is 0.01/0.04 dB. Below fs/32, and as a
///   fallback, Vicanek's peak (the two agree there: cramping is small so low). A cut is
///   the inverted boost of the opposite gain (the analog cut is exactly the reciprocal of
///   the boost).
/// - LP (Vicanek): gain at DC and at f0 (`b2 = 0`); HP (Vicanek): `k·(1 − z⁻¹)²`, `k` for
///   the gain at f0; BP (Vicanek): zero at DC, 0 dB and zero slope at f0.
/// - Shelves (same idea; Vicanek's paper treats first-order shelves separately): fixed
///   poles, gain at DC, at the midpoint f0 (|H| = A) and at Nyquist, so the shelf keeps
///   its exact analog level at Nyquist. Designed as the variant whose poles lie *below*
///   f0 (low-shelf boost, high-shelf cut; the others by inversion), so the impulse-invariant
///   poles never alias.
/// - Notch: the zeros exactly on the unit circle at f0, fixed poles, gain 1 at DC.
/// - All-pass: fixed poles and their mirror zeros (`b = (a2, a1, 1)`): |H| = 1 exactly.
///
/// If a result is not finite or not stable (not seen anywhere in the supported ranges,
/// see the tests), the RBJ design is returned instead. Parameters are clamped first
/// ([`Band::sanitized`]).
pub fn analog_matched(band: &Band, sample_rate: f64) -> BiquadCoefs {
    matched(band, sample_rate).unwrap_or_else(|| rbj(band, sample_rate))
}

/// [`analog_matched`] without the fallback (`None` where it would fall back).
pub(crate) fn matched(band: &Band, sample_rate: f64) -> Option<BiquadCoefs> {
    let b = band.sanitized(sample_rate);
    let w0 = TAU * b.freq_hz / sample_rate;
    let phi = Phi::at(w0);
    let coefs = match b.kind {
        FilterType::Peak => {
            // Design the boost of |gain| and invert it for a cut (the analog cut is the
            // reciprocal of the boost).
            let a = 10f64.powf(b.gain_db.abs() / 40.0);
            let boost = (w0 >= PEAK_FIT_MIN_W0)
                .then(|| peak_fit(w0, b.q, a))
                .flatten()
                .or_else(|| peak_match(&Poles::new(w0, b.q * a), &phi, 1.0, a.powi(4)))?;
            if b.gain_db < 0.0 {
                invert(&boost)?
            } else {
                boost
            }
        }
        FilterType::LowShelfQ
        | FilterType::LowShelf
        | FilterType::HighShelfQ
        | FilterType::HighShelf => shelf(&b, sample_rate, w0, &phi)?,
        FilterType::LowPass => {
            let poles = Poles::new(w0, b.q);
            let b0_sq = poles.big_a[0];
            let r1 = poles.denom_sq(&phi) * b.q * b.q;
            // Vicanek: match DC (1) and f0 (|H| = Q), b2 = 0.
            let b1_sq = (r1 - b0_sq * phi.p0) / phi.p1;
            let (b0, b1, b2) = factor(b0_sq, b1_sq, 0.0)?;
            poles.with_numerator(b0, b1, b2)
        }
        FilterType::HighPass => {
            // Vicanek: k·(1 − z⁻¹)², |k·(1 − e^{−jω})²|² = 16·k²·φ1², equal to Q² at f0.
            let poles = Poles::new(w0, b.q);
            let k = b.q * poles.denom_sq(&phi).sqrt() / (4.0 * phi.p1);
            poles.with_numerator(k, -2.0 * k, k)
        }
        FilterType::BandPass => {
            // |H(0)| = 0, |H(f0)| = 1, peak at f0.
            let poles = Poles::new(w0, b.q);
            peak_match(&poles, &phi, 0.0, 1.0)?
        }
        FilterType::Notch => {
            // Zeros at e^{±j·w0}; gain 1 at DC: k·(2 − 2cos w0) = 1 + a1 + a2.
            let poles = Poles::new(w0, b.q);
            let cs = w0.cos();
            let k = (1.0 + poles.a1 + poles.a2) / (2.0 - 2.0 * cs);
            poles.with_numerator(k, -2.0 * cs * k, k)
        }
        FilterType::AllPass => {
            let poles = Poles::new(w0, b.q);
            poles.with_numerator(poles.a2, poles.a1, 1.0)
        }
    };
    let finite = [coefs.b0, coefs.b1, coefs.b2, coefs.a1, coefs.a2]
        .iter()
        .all(|v| v.is_finite());
    (finite && coefs.is_stable()).then_some(coefs)
}

/// `sin²(ω/2)` and friends at one frequency (Vicanek's φ's).
struct Phi {
    p0: f64,
    p1: f64,
    p2: f64,
}

impl Phi {
    fn at(omega: f64) -> Self {
        let p1 = (omega / 2.0).sin().powi(2);
        let p0 = 1.0 - p1;
        Self {
            p0,
            p1,
            p2: 4.0 * p0 * p1,
        }
    }
}

/// An impulse-invariant pole pair and its `A0, A1, A2`.
struct Poles {
    a1: f64,
    a2: f64,
    big_a: [f64; 3],
}

impl Poles {
    /// Poles of `s² + s·w/q + w²` (w in rad/sample) mapped by `z = e^{s}`.
    fn new(w: f64, q: f64) -> Self {
        let zeta = 1.0 / (2.0 * q);
        let decay = (-zeta * w).exp();
        let a1 = if zeta <= 1.0 {
            -2.0 * decay * (w * (1.0 - zeta * zeta).sqrt()).cos()
        } else {
            -2.0 * decay * (w * (zeta * zeta - 1.0).sqrt()).cosh()
        };
        let a2 = decay * decay;
        Self {
            a1,
            a2,
            big_a: [(1.0 + a1 + a2).powi(2), (1.0 - a1 + a2).powi(2), -4.0 * a2],
        }
    }

    /// `|1 + a1·e^{−jω} + a2·e^{−2jω}|²` at `phi`.
    fn denom_sq(&self, phi: &Phi) -> f64 {
        self.big_a[0] * phi.p0 + self.big_a[1] * phi.p1 + self.big_a[2] * phi.p2
    }

    /// `d/dφ1` of [`Self::denom_sq`] (φ0 = 1 − φ1, φ2 = 4φ0φ1).
    fn denom_sq_slope(&self, phi: &Phi) -> f64 {
        -self.big_a[0] + self.big_a[1] + 4.0 * (phi.p0 - phi.p1) * self.big_a[2]
    }

    fn with_numerator(&self, b0: f64, b1: f64, b2: f64) -> BiquadCoefs {
        BiquadCoefs {
            b0,
            b1,
            b2,
            a1: self.a1,
            a2: self.a2,
        }
    }
}

/// Numerator from `B0, B1, B2` (Vicanek's factorisation; `None` if not realisable).
fn factor(b0_sq: f64, b1_sq: f64, b2_big: f64) -> Option<(f64, f64, f64)> {
    let r0 = b0_sq.max(0.0).sqrt();
    let r1 = b1_sq.max(0.0).sqrt();
    let w = 0.5 * (r0 + r1);
    let disc = w * w + b2_big;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    let b0 = 0.5 * (w + disc.sqrt());
    if b0 <= 0.0 {
        return None;
    }
    Some((b0, 0.5 * (r0 - r1), -b2_big / (4.0 * b0)))
}

/// Numerator for `|H(0)|² = dc_sq`, `|H(ω0)|² = peak_sq` and zero slope at ω0.
fn peak_match(poles: &Poles, phi: &Phi, dc_sq: f64, peak_sq: f64) -> Option<BiquadCoefs> {
    let b0_sq = poles.big_a[0] * dc_sq;
    let r1 = poles.denom_sq(phi) * peak_sq;
    let r2 = poles.denom_sq_slope(phi) * peak_sq;
    let b2_big = (r1 - r2 * phi.p1 - b0_sq) / (4.0 * phi.p1 * phi.p1);
    let b1_sq = r2 + b0_sq + 4.0 * (phi.p1 - phi.p0) * b2_big;
    let (b0, b1, b2) = factor(b0_sq, b1_sq, b2_big)?;
    Some(poles.with_numerator(b0, b1, b2))
}

/// Lowest `w0` (rad/sample) for [`peak_fit`]: 2π/32, f0 = fs/32 (1.5 kHz at 48 kHz).
/// Below, the five conditions crowd together near DC and the linear system loses
/// precision (at 192 kHz a Q 40 peak at 500 Hz came out 11 dB wrong), while the cramping
/// the fit corrects is small that far below Nyquist and Vicanek's design matches as well
/// (measured: both within 0.2 dB for 100 Hz … 1 kHz peaks at 48 kHz, Q 0.7 … 40, ±30 dB).
const PEAK_FIT_MIN_W0: f64 = TAU / 32.0;

/// A boost peak (A ≥ 1) fitted to five magnitude conditions of the analog prototype,
/// numerator and denominator both free: `|H|² = 1` at DC, `A⁴` at f0 with zero slope
/// there, and `A²` at both midpoint-gain frequencies `f0·(√(1 + 1/(4Q²)) ± 1/(2Q))` (the
/// cookbook's bandwidth edges, exact for every gain). When the upper edge lies beyond
/// halfway from f0 to Nyquist, that halfway point (with the prototype's gain there) is
/// used instead. Every condition is linear in `(B0, B1, B2, A0, A2)` with `A1 = 1`; the
/// 5×5 system is solved, then numerator and denominator are factored as in Vicanek.
/// `None` if the result is not realisable, not stable or does not hit the peak.
fn peak_fit(w0: f64, q: f64, a: f64) -> Option<BiquadCoefs> {
    let half = 1.0 / (2.0 * q);
    let root = (1.0 + half * half).sqrt();
    let lower = w0 * (root - half);
    let upper = w0 * (root + half);
    let halfway = 0.5 * (w0 + std::f64::consts::PI);
    let upper_row = if upper < halfway {
        value_row(&Phi::at(upper), a * a)
    } else {
        let u = (halfway / w0).powi(2);
        let k = 1.0 / (q * q);
        let m = ((1.0 - u).powi(2) + a * a * k * u) / ((1.0 - u).powi(2) + k * u / (a * a));
        value_row(&Phi::at(halfway), m)
    };
    let phi = Phi::at(w0);
    let peak_sq = a.powi(4);
    let x = solve5([
        value_row(&Phi::at(0.0), 1.0),
        value_row(&phi, peak_sq),
        slope_row(&phi, peak_sq, 0.0),
        value_row(&Phi::at(lower), a * a),
        upper_row,
    ])?;
    let (c0, c1, c2) = factor(x[3], 1.0, x[4])?;
    let (b0, b1, b2) = factor(x[0], x[1], x[2])?;
    let c = BiquadCoefs {
        b0: b0 / c0,
        b1: b1 / c0,
        b2: b2 / c0,
        a1: c1 / c0,
        a2: c2 / c0,
    };
    let w0_hz = w0 / TAU; // response() takes (freq, fs); use fs = 1
    let hit = (c.response(w0_hz, 1.0).norm_sqr() / peak_sq - 1.0).abs() < 1e-6;
    (c.is_stable() && hit).then_some(c)
}

/// `N(φ) − m·D(φ) = 0` as a row over `(B0, B1, B2, A0, A2 | rhs)` with `A1 = 1`.
fn value_row(p: &Phi, m: f64) -> [f64; 6] {
    [p.p0, p.p1, p.p2, -m * p.p0, -m * p.p2, m * p.p1]
}

/// `N'(φ) − m'·D(φ) − m·D'(φ) = 0` (derivatives in φ1) as a row, `A1 = 1`.
fn slope_row(p: &Phi, m: f64, m_slope: f64) -> [f64; 6] {
    let d = p.p0 - p.p1;
    [
        -1.0,
        1.0,
        4.0 * d,
        m - m_slope * p.p0,
        -m_slope * p.p2 - 4.0 * d * m,
        m_slope * p.p1 + m,
    ]
}

/// Gaussian elimination with partial pivoting on an augmented 5×6 system.
fn solve5(mut m: [[f64; 6]; 5]) -> Option<[f64; 5]> {
    for col in 0..5 {
        let pivot = (col..5).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        m.swap(col, pivot);
        if m[col][col] == 0.0 {
            return None;
        }
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let x: [f64; 5] = std::array::from_fn(|i| m[i][5] / m[i][i]);
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// `1/H`: numerator and denominator swapped, renormalised (needs minimum-phase `H`).
fn invert(c: &BiquadCoefs) -> Option<BiquadCoefs> {
    let inv = BiquadCoefs {
        b0: 1.0 / c.b0,
        b1: c.a1 / c.b0,
        b2: c.a2 / c.b0,
        a1: c.b1 / c.b0,
        a2: c.b2 / c.b0,
    };
    inv.is_stable().then_some(inv)
}

/// Matched shelf: the analog prototype's gain at DC, at the midpoint f0 (|H| = A) and at
/// Nyquist.
fn shelf(b: &Band, sample_rate: f64, w0: f64, phi: &Phi) -> Option<BiquadCoefs> {
    let low = matches!(b.kind, FilterType::LowShelfQ | FilterType::LowShelf);
    let q = prototype_q(b);
    // Poles at w0/√A (low) or w0·√A (high): below w0 for a low boost or a high cut.
    let inverted = if low {
        b.gain_db < 0.0
    } else {
        b.gain_db > 0.0
    };
    let gain_db = if inverted { -b.gain_db } else { b.gain_db };
    let a = 10f64.powf(gain_db / 40.0);
    let w_pole = if low { w0 / a.sqrt() } else { w0 * a.sqrt() };
    let poles = Poles::new(w_pole, q);
    // Analog |H|² in u = (f/f0)²: A²·n(u)/d(u) with n = (A − u)² + k·u and
    // d = (1 − A·u)² + k·u, k = A/Q², for the low shelf (n and d swapped for the high
    // shelf): A⁴ or 1 at DC, A² at u = 1.
    let k = a / (q * q);
    let u = (sample_rate / 2.0 / b.freq_hz).powi(2);
    let n = (a - u).powi(2) + k * u;
    let d = (1.0 - a * u).powi(2) + k * u;
    let (dc_sq, nyquist_sq) = if low {
        (a.powi(4), a * a * n / d)
    } else {
        (1.0, a * a * d / n)
    };
    let b0_sq = poles.big_a[0] * dc_sq;
    let b1_sq = poles.big_a[1] * nyquist_sq;
    let b2_big = (a * a * poles.denom_sq(phi) - b0_sq * phi.p0 - b1_sq * phi.p1) / phi.p2;
    let (b0, b1, b2) = factor(b0_sq, b1_sq, b2_big)?;
    let coefs = poles.with_numerator(b0, b1, b2);
    if inverted {
        invert(&coefs)
    } else {
        Some(coefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{frequency_response, log_frequencies};

    fn db(h: Complex64) -> f64 {
        20.0 * h.norm().log10()
    }

    /// Impulse response of a biquad, run sample by sample (TDF-II, f64).
    fn impulse(c: &BiquadCoefs, len: usize) -> Vec<f64> {
        let (mut s1, mut s2) = (0.0, 0.0);
        (0..len)
            .map(|n| {
                let x = if n == 0 { 1.0 } else { 0.0 };
                let y = c.b0 * x + s1;
                s1 = c.b1 * x - c.a1 * y + s2;
                s2 = c.b2 * x - c.a2 * y;
                y
            })
            .collect()
    }

    /// Measured magnitude (dB) of a biquad at `freqs`, from its impulse response.
    fn measured_db(c: &BiquadCoefs, sample_rate: f64, freqs: &[f64]) -> Vec<f64> {
        let h = impulse(c, 1 << 15);
        frequency_response(&h, sample_rate, freqs)
            .into_iter()
            .map(db)
            .collect()
    }

    #[test]
    fn rbj_types_meet_their_definitions() {
        // Each measured on the impulse response (32768 samples; every pole here decays
        // far below 1e-12 in that time), tolerance 1e-6 dB.
        let fs = 48_000.0;
        let tol = 1e-6;
        let check = |band: Band, f: f64, want_db: f64| {
            let got = measured_db(&rbj(&band, fs), fs, &[f])[0];
            assert!(
                (got - want_db).abs() < tol,
                "{:?} at {f} Hz: {got} dB, want {want_db}",
                band.kind
            );
        };
        let pk = Band::new(FilterType::Peak, 1000.0, 6.0, 1.41);
        check(pk, 1000.0, 6.0);
        check(pk, 0.0, 0.0);
        check(pk, 24_000.0, 0.0);
        for kind in [FilterType::LowShelfQ, FilterType::LowShelf] {
            let ls = Band::new(kind, 200.0, -8.0, 0.7);
            check(ls, 200.0, -4.0); // midpoint: half the gain in dB
            check(ls, 0.0, -8.0);
            check(ls, 24_000.0, 0.0);
        }
        for kind in [FilterType::HighShelfQ, FilterType::HighShelf] {
            let hs = Band::new(kind, 8000.0, 5.0, 0.7);
            check(hs, 8000.0, 2.5);
            check(hs, 0.0, 0.0);
            check(hs, 24_000.0, 5.0);
        }
        // LP/HP: |H(f0)| = Q (bilinear prewarped at f0): −3.0103 dB for Butterworth.
        let butterworth_db = 20.0 * FRAC_1_SQRT_2.log10();
        check(
            Band::new(FilterType::LowPass, 3000.0, 0.0, FRAC_1_SQRT_2),
            3000.0,
            butterworth_db,
        );
        check(
            Band::new(FilterType::HighPass, 3000.0, 0.0, FRAC_1_SQRT_2),
            3000.0,
            butterworth_db,
        );
        check(
            Band::new(FilterType::LowPass, 3000.0, 0.0, 2.0),
            3000.0,
            20.0 * 2f64.log10(),
        );
        check(
            Band::new(FilterType::BandPass, 2000.0, 9.0, 3.0),
            2000.0,
            0.0,
        );
        check(Band::new(FilterType::Notch, 2000.0, 0.0, 3.0), 0.0, 0.0);
        for f in [20.0, 999.0, 2000.0, 20_000.0] {
            check(Band::new(FilterType::AllPass, 2000.0, 0.0, 3.0), f, 0.0);
        }
        // The notch's zero: at least 120 dB down at f0 (the truncated impulse limits it).
        let notch = measured_db(
            &rbj(&Band::new(FilterType::Notch, 2000.0, 0.0, 3.0), fs),
            fs,
            &[2000.0],
        );
        assert!(notch[0] < -120.0, "notch depth {} dB", notch[0]);
        // All-pass: −180° at f0.
        let ap = rbj(&Band::new(FilterType::AllPass, 2000.0, 0.0, 3.0), fs).response(2000.0, fs);
        assert!((ap.arg().abs() - std::f64::consts::PI).abs() < 1e-9);
        // The fixed-slope shelf is the Q shelf at the Q of S = 0.9.
        let ls = Band::new(FilterType::LowShelf, 150.0, 7.0, 3.0);
        let lsc = Band::new(
            FilterType::LowShelfQ,
            150.0,
            7.0,
            shelf_q_from_slope(7.0, 0.9),
        );
        let (a, b) = (rbj(&ls, fs), rbj(&lsc, fs));
        for (x, y) in [
            (a.b0, b.b0),
            (a.b1, b.b1),
            (a.b2, b.b2),
            (a.a1, b.a1),
            (a.a2, b.a2),
        ] {
            assert!((x - y).abs() < 1e-14);
        }
    }

    #[test]
    fn zero_gain_peak_and_shelves_are_the_identity() {
        for design in [PeqDesign::ApoRbj, PeqDesign::AnalogMatched] {
            for kind in [
                FilterType::Peak,
                FilterType::LowShelfQ,
                FilterType::HighShelf,
            ] {
                let c = super::design(&Band::new(kind, 3000.0, 0.0, 2.0), design, 48_000.0);
                for f in [0.0, 100.0, 3000.0, 23_000.0] {
                    let h = c.response(f, 48_000.0);
                    assert!((h - 1.0).norm() < 1e-12, "{design:?} {kind:?} {f}: {h}");
                }
            }
        }
    }

    #[test]
    fn slope_and_bandwidth_conversions() {
        // S = 1 is Q = 1/√2 at any gain (cookbook).
        for g in [-12.0, 0.0, 6.0] {
            assert!((shelf_q_from_slope(g, 1.0) - FRAC_1_SQRT_2).abs() < 1e-15);
            let q = shelf_q_from_slope(g, 0.9);
            assert!((shelf_slope_from_q(g, q) - 0.9).abs() < 1e-12);
        }
        // Too steep a slope for the gain has no Q.
        assert!(shelf_q_from_slope(24.0, 3.0).is_nan());
        // One octave is Q = √2 (cookbook: 1/Q = 2·sinh(ln2/2)).
        assert!((q_from_bandwidth(1.0) - 2f64.sqrt()).abs() < 1e-12);
        // EqualizerAPO's sample-rate-dependent bandwidth agrees at low frequencies and
        // gives a wider filter near Nyquist.
        let fs = 48_000.0;
        let low = apo_bandwidth_q(1.0, 100.0, fs);
        assert!((low / q_from_bandwidth(1.0) - 1.0).abs() < 1e-4);
        let high = apo_bandwidth_q(1.0, 10_000.0, fs);
        println!(
            "BW 1 oct: Q {:.4} (ours) vs {:.4} (EqualizerAPO at 100 Hz), {:.4} (at 10 kHz, 48 kHz)",
            q_from_bandwidth(1.0),
            low,
            high
        );
        assert!(high < 0.8 * q_from_bandwidth(1.0));
    }

    #[test]
    fn analog_matched_peak_at_15k_tracks_the_prototype() {
        // The brief's case: 15 kHz, Q 2, +6 dB at 44.1 kHz, within 0.1 dB of the analog
        // prototype at 12 and 18 kHz (measured on the impulse response).
        let fs = 44_100.0;
        let band = Band::new(FilterType::Peak, 15_000.0, 6.0, 2.0);
        let freqs = [12_000.0, 15_000.0, 18_000.0];
        let matched_db = measured_db(&analog_matched(&band, fs), fs, &freqs);
        let rbj_db = measured_db(&rbj(&band, fs), fs, &freqs);
        for (i, &f) in freqs.iter().enumerate() {
            let want = db(analog_response(&band, f));
            println!(
                "{f} Hz: analog {want:.3} dB, matched {:.3} ({:+.3}), RBJ {:.3} ({:+.3})",
                matched_db[i],
                matched_db[i] - want,
                rbj_db[i],
                rbj_db[i] - want
            );
            assert!((matched_db[i] - want).abs() < 0.1, "{f} Hz");
        }
        // The bilinear design is visibly off there (cramping), which is the point.
        assert!((rbj_db[0] - db(analog_response(&band, 12_000.0))).abs() > 1.0);
    }

    #[test]
    fn analog_matched_tolerances_up_to_0_45_fs() {
        // Worst |matched − analog| (dB) over 10 Hz … 0.45·fs at 1/24 octave, where the
        // analog response is above `floor_db`, for f0 from 20 Hz to `f0_max`·fs (1/6-octave
        // steps) and gains ±3, ±6, ±12 dB. Tolerances are the measured worst (printed)
        // rounded up; the RBJ design's worst is printed for contrast.
        struct Case {
            kinds: &'static [FilterType],
            qs: &'static [f64],
            f0_max: f64,
            floor_db: f64,
            tol_db: f64,
        }
        let cases = [
            Case {
                kinds: &[FilterType::Peak],
                qs: &[0.5, 1.0, 2.0, 5.0],
                f0_max: 0.45,
                floor_db: -60.0,
                tol_db: 0.6,
            },
            Case {
                kinds: &[FilterType::Peak],
                qs: &[2.0, 5.0],
                f0_max: 0.35,
                floor_db: -60.0,
                tol_db: 0.5,
            },
            Case {
                kinds: &[
                    FilterType::LowShelfQ,
                    FilterType::HighShelfQ,
                    FilterType::LowShelf,
                    FilterType::HighShelf,
                ],
                qs: &[0.5, 0.707, 1.0],
                f0_max: 0.25,
                floor_db: -60.0,
                tol_db: 0.4,
            },
            Case {
                kinds: &[FilterType::LowShelfQ, FilterType::HighShelfQ],
                qs: &[0.5, 0.707, 1.0],
                f0_max: 0.45,
                floor_db: -60.0,
                tol_db: 2.3,
            },
            Case {
                kinds: &[FilterType::LowPass, FilterType::HighPass],
                qs: &[0.707],
                f0_max: 0.25,
                floor_db: -6.0,
                tol_db: 0.15,
            },
            Case {
                kinds: &[FilterType::LowPass, FilterType::HighPass],
                qs: &[0.5, 0.707, 1.0, 2.0],
                f0_max: 0.45,
                floor_db: -6.0,
                tol_db: 2.3,
            },
            Case {
                kinds: &[FilterType::LowPass, FilterType::HighPass],
                qs: &[0.5, 0.707, 1.0, 2.0],
                f0_max: 0.25,
                floor_db: -20.0,
                tol_db: 1.7,
            },
        ];
        for fs in [44_100.0, 48_000.0, 96_000.0] {
            let eval = log_frequencies(10.0, 0.45 * fs, 24.0);
            for case in &cases {
                let (mut worst, mut worst_rbj) = (0.0f64, 0.0f64);
                let mut worst_at = (Band::OFF, 0.0);
                for &kind in case.kinds {
                    for &q in case.qs {
                        for f0 in log_frequencies(20.0, case.f0_max * fs, 6.0) {
                            for g in [-12.0, -6.0, -3.0, 3.0, 6.0, 12.0] {
                                let band = Band::new(kind, f0, g, q);
                                assert!(matched(&band, fs).is_some(), "fallback for {band:?}");
                                let m = analog_matched(&band, fs);
                                let r = rbj(&band, fs);
                                for &f in &eval {
                                    let want = db(analog_response(&band, f));
                                    if want < case.floor_db {
                                        continue;
                                    }
                                    let e = (db(m.response(f, fs)) - want).abs();
                                    if e > worst {
                                        worst = e;
                                        worst_at = (band, f);
                                    }
                                    worst_rbj = worst_rbj.max((db(r.response(f, fs)) - want).abs());
                                }
                            }
                        }
                    }
                }
                println!(
                    "{fs} Hz {:?} Q {:?}, f0 ≤ {}·fs, above {} dB: matched {worst:.3} dB (tol {}; \
                     f0 {:.0} Hz, {} dB, Q {} at {:.0} Hz), RBJ {worst_rbj:.2} dB",
                    case.kinds,
                    case.qs,
                    case.f0_max,
                    case.floor_db,
                    case.tol_db,
                    worst_at.0.freq_hz,
                    worst_at.0.gain_db,
                    worst_at.0.q,
                    worst_at.1
                );
                assert!(worst < case.tol_db);
            }
        }
    }

    #[test]
    fn analog_matched_cut_mirrors_boost() {
        // The analog cut is the reciprocal of the boost; so is the matched design.
        let fs = 48_000.0;
        for kind in [
            FilterType::Peak,
            FilterType::LowShelfQ,
            FilterType::HighShelfQ,
        ] {
            for f0 in [100.0, 3000.0, 15_000.0] {
                let boost = analog_matched(&Band::new(kind, f0, 9.0, 1.3), fs);
                let cut = analog_matched(&Band::new(kind, f0, -9.0, 1.3), fs);
                for f in log_frequencies(20.0, 0.49 * fs, 6.0) {
                    let sum = db(boost.response(f, fs)) + db(cut.response(f, fs));
                    assert!(sum.abs() < 1e-9, "{kind:?} {f0} at {f}: {sum}");
                }
            }
        }
    }

    #[test]
    fn designs_are_stable_over_the_whole_range() {
        // Every type, 10 Hz … 0.49·fs, Q 0.1 … 40, gain ±30 dB, at 44.1 … 192 kHz: both
        // designs stable and finite, and the matched design never needs its fallback.
        for fs in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
            for kind in FilterType::ALL {
                for f0 in log_frequencies(10.0, 0.49 * fs, 2.0) {
                    for q in [0.1, 0.3, 0.707, 2.0, 8.0, 40.0] {
                        for g in [-30.0, -6.0, 0.0, 0.5, 12.0, 30.0] {
                            let band = Band::new(*kind, f0, g, q);
                            assert!(rbj(&band, fs).is_stable(), "rbj {band:?} @ {fs}");
                            let m = matched(&band, fs);
                            assert!(m.is_some(), "matched fallback {band:?} @ {fs}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn analog_matched_all_pass_and_notch() {
        let fs = 48_000.0;
        let ap = analog_matched(&Band::new(FilterType::AllPass, 12_000.0, 0.0, 0.9), fs);
        for f in log_frequencies(10.0, 0.49 * fs, 12.0) {
            assert!(db(ap.response(f, fs)).abs() < 1e-9);
        }
        // Notch: a true zero at f0, unity at DC, within 0.25 dB of the analog notch
        // elsewhere for a 5 kHz, Q 5 notch (up to 0.45·fs, away from the zero).
        let band = Band::new(FilterType::Notch, 5000.0, 0.0, 5.0);
        let no = analog_matched(&band, fs);
        assert!(no.response(5000.0, fs).norm() < 1e-9);
        assert!((db(no.response(0.0, fs))).abs() < 1e-9);
        let mut worst = 0.0f64;
        for f in log_frequencies(10.0, 0.45 * fs, 24.0) {
            let want = db(analog_response(&band, f));
            if want > -20.0 {
                worst = worst.max((db(no.response(f, fs)) - want).abs());
            }
        }
        println!("matched notch worst {worst:.3} dB");
        assert!(worst < 0.25);
    }
}
