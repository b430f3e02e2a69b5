//! Three example loads as [`Network`](super::Network) expressions, used by the tests and by
//! the headphone catalogue. All three are *modelled* curves (lumped networks chosen to
//! reproduce a published shape), not measurements; `devices.md` notes that no open data set
//! of IEM impedance curves was found.

/// A planar-magnetic headphone (HIFIMAN Edition XS-like): 18 Ω nominal
/// (`devices.md`: 18 Ω, estimate) and essentially resistive. A planar's flat conductor
/// trace has very little inductance; 10 µH is an assumed upper figure, which puts the
/// corner R/(2πL) at 286 kHz, so |Z| rises only 0.02 dB-equivalent (18.0 → 18.04 Ω) by
/// 20 kHz. |Z| over 20 Hz–20 kHz: 18.00–18.04 Ω.
pub const FLAT_PLANAR: &str = "R(18) + L(10u)";

/// A dynamic headphone with a bass resonance (Sennheiser HD600-like): 300 Ω nominal
/// (`devices.md`), impedance peak about 500 Ω near 95 Hz, voice-coil inductance rise at HF.
///
/// Electrical equivalent of a moving-coil driver (Thiele–Small; e.g. Beranek & Mellow,
/// *Acoustics: Sound Fields, Transducers and Vibration*, 2nd ed., §3.11): the voice coil's
/// resistance `Re` and inductance `Le` in series with the motional impedance, a parallel
/// `R_m | L_m | C_m` (mechanical damping, compliance and moving mass seen through the
/// motor). Values:
/// - `Re` = 300 Ω: the nominal impedance, which this headphone reaches between ~300 Hz and
///   ~5 kHz.
/// - `R_m` = 200 Ω: at the motional resonance the parallel branch is purely `R_m`, so the
///   peak is Re + R_m = 500 Ω.
/// - resonance f0 = 95 Hz (the middle of the published 90–100 Hz) with quality factor
///   Q = R_m·√(C_m/L_m) = 2, an estimate of the peak's width (|Z| is back to ~308 Ω at
///   30 Hz and 300 Hz): `L_m = R_m/(2π f0 Q)` = 200/(2π·95·2) = 167.5 mH → 167 mH,
///   `C_m = Q/(2π f0 R_m)` = 2/(2π·95·200) = 16.75 µF → 16.8 µF
///   (check: 1/(2π√(0.167·16.8e-6)) = 95.0 Hz).
/// - `Le` = 0.5 mH: an assumed figure for a 300 Ω coil; |Z(20 kHz)| ≈ |300 + j63| ≈ 306 Ω.
///
/// |Z| over 20 Hz–20 kHz: 300.1–500 Ω (the minimum is near 2.5 kHz, where the motional
/// branch and Le's reactance are both small).
pub const HD600_LIKE: &str = "R(300) + L(0.5m) + (R(200) | L(167m) | C(16.8u))";

/// A five-driver balanced-armature earphone with a passive crossover (Campfire
/// Andromeda-like: 5 BA, "strongly varying Z", 8.7 Ω nominal per `devices.md`), modelled as
/// three parallel branches:
/// - woofer: two BA drivers in parallel, as one equivalent `R(11) + L(570u)` (a BA's coil
///   is a few ohms to tens of ohms and strongly inductive);
/// - mid: one BA `R(16) + L(1m)` behind a 7.5 µF series capacitor (a first-order
///   high-pass crossover);
/// - tweeter: two BA in parallel as one equivalent `R(4.7) + L(2.7m)` behind 1.5 µF.
///
/// The values were fitted (a random search, not a measurement) so that |Z| ≈ 11 Ω in the
/// bass, |Z(1 kHz)| ≈ 8.5 Ω (near the 8.7 Ω nominal), a dip to 3.0 Ω at 2.5 kHz where the
/// mid branch's series resonance (7.5 µF with 1 mH, 1.84 kHz) meets the woofer's rising
/// inductance, and a rise to 40 Ω at 20 kHz — the 3 Ω…40 Ω swing typical of multi-BA
/// earphones. |Z| over 20 Hz–20 kHz: 3.04–40.4 Ω; the phase swings from −8° to +83°.
pub const MULTI_BA: &str =
    "(R(11) + L(570u)) | (C(7.5u) + R(16) + L(1m)) | (C(1.5u) + R(4.7) + L(2.7m))";

/// All three, with short names, for tests and listings.
pub const ALL: [(&str, &str); 3] = [
    ("flat planar", FLAT_PLANAR),
    ("HD600-like", HD600_LIKE),
    ("multi-BA", MULTI_BA),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Network;

    /// The figures quoted in the docs above, measured on the networks.
    #[test]
    fn documented_figures() {
        let flat = Network::parse(FLAT_PLANAR).unwrap();
        let (lo, hi) = flat.min_max_ohms(20.0, 20_000.0);
        println!("flat planar: {lo:.3}..{hi:.3} Ω");
        assert!((lo - 18.0).abs() < 0.01 && (hi - 18.04).abs() < 0.01);

        let hd600 = Network::parse(HD600_LIKE).unwrap();
        let (lo, hi) = hd600.min_max_ohms(20.0, 20_000.0);
        let peak_hz = crate::analysis::log_frequencies(50.0, 200.0, 960.0)
            .into_iter()
            .max_by(|a, b| {
                hd600
                    .impedance(*a)
                    .norm()
                    .total_cmp(&hd600.impedance(*b).norm())
            })
            .unwrap();
        println!(
            "HD600-like: {lo:.1}..{hi:.1} Ω, peak at {peak_hz:.1} Hz, |Z(30)| {:.0}, |Z(300)| {:.0}, |Z(1k)| {:.1}, |Z(20k)| {:.1}",
            hd600.impedance(30.0).norm(),
            hd600.impedance(300.0).norm(),
            hd600.impedance(1000.0).norm(),
            hd600.impedance(20_000.0).norm()
        );
        assert!((hi - 500.0).abs() < 1.0, "peak {hi}");
        assert!((90.0..=100.0).contains(&peak_hz));
        assert!((300.0..302.0).contains(&lo));
        assert!(hd600.impedance(30.0).norm() < 310.0 && hd600.impedance(300.0).norm() < 310.0);
        assert!((hd600.impedance(20_000.0).norm() - 306.4).abs() < 0.1);

        let ba = Network::parse(MULTI_BA).unwrap();
        let (lo, hi) = ba.min_max_ohms(20.0, 20_000.0);
        let at_1k = ba.impedance(1000.0).norm();
        println!("multi-BA: {lo:.2}..{hi:.2} Ω, |Z(1k)| {at_1k:.2}");
        // The acceptance figures of the brief: min in 2.5..3.5 Ω, max in 35..45 Ω.
        assert!((2.5..3.5).contains(&lo), "min {lo}");
        assert!((35.0..45.0).contains(&hi), "max {hi}");
        assert!((8.0..9.5).contains(&at_1k));
        let phases: Vec<f64> = crate::analysis::log_frequencies(20.0, 20_000.0, 48.0)
            .iter()
            .map(|&f| ba.impedance(f).arg().to_degrees())
            .collect();
        let (p_lo, p_hi) = phases
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &p| (a.min(p), b.max(p)));
        println!("multi-BA phase {p_lo:.1}..{p_hi:.1}°");
        assert!(p_lo < -5.0 && p_hi > 80.0);
    }
}
