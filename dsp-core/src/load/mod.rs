//! The load: a headphone's impedance `Z_L(f)` and the divider `Z_L/(Z_L + Z_out)` it forms
//! with the source's output impedance.
//!
//! A source with output impedance `Z_out` (taken as a pure resistance, as amplifier data
//! sheets give it) driving a load `Z_L(f)` delivers `H(f) = Z_L/(Z_L + Z_out)` of its open-
//! circuit voltage ([`divider`]; `devices.md`, "Source/load divider"). Where `|Z_L|` varies
//! with frequency, so does `|H|`: a 75 Ω source on a multi-BA earphone swinging between
//! 3 Ω and 40 Ω changes its tonal balance by several dB.
//!
//! - [`network`]: loads as lumped R/L/C networks written as text (`R(300) + L(0.5m) + …`),
//!   with the exact complex impedance and its rational form `Z(s) = N(s)/D(s)`.
//! - [`iir`]: [`LoadIir`], the divider of a network as an IIR filter at the oversampled
//!   analog rate (a cascade of biquads).
//! - [`curve`]: measured impedance curves ([`ImpedanceCurve`], REW `.zma` and CSV files),
//!   with minimum-phase reconstruction when the file has no phase.
//! - [`fir`]: [`LoadFir`], the divider of a measured curve as a minimum-phase FIR at the
//!   host rate.
//! - [`examples`]: three modelled loads (flat planar, HD600-like, multi-BA).
//! - [`source`]: which load a chain drives ([`LoadSource`]), the load made concrete
//!   ([`ResolvedLoad`]) and the handle to the user's imported curve ([`CustomLoad`]).
//!
//! In a chain the divider runs as [`LoadNetwork`] (a network's IIR, analog domain) or
//! [`LoadCurve`] (a curve's FIR, host rate).
//!
//! Everything that designs (parsing, root finding, fitting, FFTs) allocates and runs off
//! the audio thread; `process`/`reset` never allocate, lock or do I/O.

pub mod curve;
pub mod examples;
pub mod fir;
pub mod iir;
pub mod network;
mod roots;
pub mod source;

pub use curve::{CurvePoint, ImpedanceCurve, LoadErrorKind, LoadFileError};
pub use fir::{LoadCurve, LoadFir};
pub use iir::{LoadIir, LoadNetwork};
pub use network::{Network, NetworkError, Rational};
/// Complex numbers (`f64`) for impedances and responses.
pub use realfft::num_complex::Complex64;
pub use source::{CustomCurve, CustomLoad, LoadConfig, LoadSource, ResolvedLoad};

/// The source/load voltage divider `H = Z_L/(Z_L + Z_out)`: the fraction of the source's
/// open-circuit voltage that appears across a load of complex impedance `z_load` (ohms)
/// driven through a resistive output impedance `z_out_ohms` (`devices.md` [calc]).
///
/// `z_out_ohms = 0` gives exactly 1 (an ideal voltage source). For a passive load
/// (Re Z_L ≥ 0) and Z_out ≥ 0 the denominator vanishes only when both are 0; that case
/// returns 1 as well (the limit for Z_out → 0).
pub fn divider(z_load: Complex64, z_out_ohms: f64) -> Complex64 {
    let total = z_load + z_out_ohms;
    if total.norm_sqr() == 0.0 || z_out_ohms == 0.0 {
        Complex64::new(1.0, 0.0)
    } else {
        z_load / total
    }
}

/// What the load stage applies when the listener hears the chain through a source of their
/// own: `(Z_L + Z_yours)/(Z_L + Z_emulated)`.
///
/// The listener's source (output impedance `z_yours_ohms`) divides whatever we send by
/// `Z_L/(Z_L + Z_yours)` on its way into the headphone, so to have the headphone see the
/// emulated source's divider `Z_L/(Z_L + Z_emulated)` we apply the ratio of the two. With
/// `z_yours_ohms = 0` (an ideal source, the default) this is exactly [`divider`]; with equal
/// impedances it is exactly 1. For a passive load and both impedances ≥ 0, numerator and
/// denominator are positive-real functions, so the ratio's zeros and poles lie in the left
/// half plane: a stable, minimum-phase filter.
pub fn drive(z_load: Complex64, z_emulated_ohms: f64, z_yours_ohms: f64) -> Complex64 {
    if z_yours_ohms == 0.0 {
        return divider(z_load, z_emulated_ohms);
    }
    if z_yours_ohms == z_emulated_ohms {
        return Complex64::new(1.0, 0.0);
    }
    let den = z_load + z_emulated_ohms;
    if den.norm_sqr() == 0.0 {
        // A short driven by an ideal source: bounded by the largest ratio a real load can
        // make, taken at 1 mΩ.
        return (z_load + z_yours_ohms) / (z_load + 1e-3);
    }
    (z_load + z_yours_ohms) / den
}

/// Level of `h_f` relative to `h_1k` in dB: `20·log10|h_f| − 20·log10|h_1k|` — the
/// deviation of a response from its 1 kHz value (`devices.md`: deviation(f)).
pub fn deviation_db(h_f: Complex64, h_1k: Complex64) -> f64 {
    20.0 * (h_f.norm() / h_1k.norm()).log10()
}

/// Shared helpers for the load tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// The Z_out values of the acceptance tests (ohms): 0.5 (a good headphone amp), 2.2 (a
    /// typical portable), 10 (a weak one) and 75 (a high-impedance source, like some
    /// laptops and old headphone outputs).
    pub const Z_OUTS: [f64; 4] = [0.5, 2.2, 10.0, 75.0];

    /// The three example networks, parsed.
    pub fn example_networks() -> Vec<(&'static str, Network)> {
        examples::ALL
            .iter()
            .map(|(name, text)| (*name, Network::parse(text).expect("example parses")))
            .collect()
    }

    /// The formula: deviation of the divider from its 1 kHz value, dB.
    pub fn formula_deviation_db(network: &Network, z_out: f64, freq_hz: f64) -> f64 {
        deviation_db(
            divider(network.impedance(freq_hz), z_out),
            divider(network.impedance(1000.0), z_out),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divider_of_resistors_and_limits() {
        // 32 Ω on 10 Ω: 32/42.
        let h = divider(Complex64::new(32.0, 0.0), 10.0);
        assert!((h.re - 32.0 / 42.0).abs() < 1e-15 && h.im == 0.0);
        assert_eq!(
            divider(Complex64::new(32.0, 5.0), 0.0),
            Complex64::new(1.0, 0.0)
        );
        assert_eq!(
            divider(Complex64::new(0.0, 0.0), 0.0),
            Complex64::new(1.0, 0.0)
        );
        // A pure inductance jX on R: |H| = X/√(X² + R²).
        let h = divider(Complex64::new(0.0, 3.0), 4.0);
        assert!((h.norm() - 0.6).abs() < 1e-15);
        // Through a source of one's own: (Z + Z_y)/(Z + Z_e); the ideal source gives the
        // divider, equal sources give 1, and the product with the listener's own divider
        // is the emulated divider.
        let z = Complex64::new(8.0, 3.0);
        assert_eq!(drive(z, 10.0, 0.0), divider(z, 10.0));
        assert_eq!(drive(z, 2.2, 2.2), Complex64::new(1.0, 0.0));
        let heard = drive(z, 0.4, 10.0) * divider(z, 10.0);
        assert!((heard - divider(z, 0.4)).norm() < 1e-15);
        // Deviation: 2× in magnitude is +6.02 dB.
        let d = deviation_db(Complex64::new(0.0, 2.0), Complex64::new(1.0, 0.0));
        assert!((d - 6.020_599_913_279_624).abs() < 1e-12);
    }
}
