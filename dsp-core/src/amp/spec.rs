//! Device specifications: outputs, gain steps, output impedance, voltage/current limits and
//! noise floors of the emulated DAC/amps, each figure with its source.
//!
//! Sources are tagged as in `shared/reference/devices.md`:
//! - **\[pub\]** a manufacturer page (URL in the constructor's docs),
//! - **\[seed\]** a review text in `shared/seeds/`,
//! - **\[calc\]** derived from published figures by a stated formula,
//! - **\[est\]** an estimate or assumption (never presented as fact).
//!
//! All voltages are RMS of a sine unless a name says `peak`. "Open circuit" means at the
//! amp's output before its output impedance; the load divider `Z_L/(Z_L + Z_out)` is the
//! job of [`crate::load`].

use std::f64::consts::SQRT_2;

use super::volume::VolumeLaw;

crate::choice! {
    /// Which headphone output of the device is used: single-ended (6.35 mm / 3.5 mm) or
    /// balanced (4.4 mm, a bridged pair of amplifiers).
    #[derive(Default)]
    pub enum Output { #[default] Se = "SE", Bal = "BAL" }
}

crate::choice! {
    /// The gain switch position asked for by the user. Devices with two steps map Medium
    /// (see [`GainSteps`]); High is the one the published power figures are given for.
    #[derive(Default)]
    pub enum GainStep { Low = "Low", Medium = "Medium", #[default] High = "High" }
}

/// Which gain steps a device really has; [`AmpSpec::effective`] maps the user's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GainSteps {
    /// Low, Medium and High (K13 R2R, K11 R2R).
    Three,
    /// Low and High only (K7). Medium maps to **Low**: a user who picks the middle of three
    /// positions on a two-position device should never get more gain (and hiss, and
    /// loudness in absolute mode) than asked for.
    LowHigh,
    /// One fixed gain (dongles, the ideal source); every choice maps to `High`, and all
    /// three entries of [`OutputSpec::gains`] are equal.
    Fixed,
}

/// One gain step of one output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainSpec {
    /// Open-circuit output (Vrms) of a 0 dBFS sine at 100 % volume.
    pub full_scale_vrms: f64,
    /// A-weighted output noise, 20 Hz–20 kHz, with no signal (µV RMS); independent of the
    /// volume setting (the noise of the stages after the volume control dominates).
    pub noise_uv_a: f64,
}

impl GainSpec {
    /// `full_scale_vrms`, `noise_uv_a`.
    pub const fn new(full_scale_vrms: f64, noise_uv_a: f64) -> Self {
        Self {
            full_scale_vrms,
            noise_uv_a,
        }
    }
}

/// Output limits: the largest clean sine across a resistive load.
///
/// Model: `rated_vrms(R) = min(rail_vrms · R/(R + sag_ohms), peak_current_a · R/√2)` — a
/// voltage rail that sags through a small effective source resistance (supply sag and
/// output-stage drop; it lumps in the output impedance), and a peak output current limit.
/// "Clean" means THD+N < 1 %, the manufacturers' criterion for rated power; the stage's
/// soft clipper is placed so that a 1 kHz sine reaches exactly 1 % there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Rail-limited sine (Vrms) into an infinite load.
    pub rail_vrms: f64,
    /// Effective sag resistance (Ω) between the rail and the load.
    pub sag_ohms: f64,
    /// Peak output current (A).
    pub peak_current_a: f64,
}

impl Limits {
    /// No limit at all (the "Ideal" source): `rated_vrms` is +∞ for every load.
    pub const NONE: Self = Self {
        rail_vrms: f64::INFINITY,
        sag_ohms: 0.0,
        peak_current_a: f64::INFINITY,
    };

    /// Smallest load (Ω) the formulas accept; smaller (or NaN) loads are clamped to it.
    pub const MIN_LOAD_OHMS: f64 = 0.1;

    /// Largest sine (Vrms across a resistive `load_ohms`) with THD+N below 1 %. An infinite
    /// load gives `rail_vrms` (open circuit).
    pub fn rated_vrms(&self, load_ohms: f64) -> f64 {
        let load = clamp_load(load_ohms);
        let rail = self.rail_vrms * divider(load, self.sag_ohms);
        let current = self.peak_current_a * load / SQRT_2;
        rail.min(current)
    }

    /// [`Self::rated_vrms`] translated to the amp's open-circuit voltage (Vrms) behind
    /// `z_out_ohms`: `V_load·(R + Z_out)/R`. This is where the stage puts its clip point.
    pub fn open_circuit_vrms(&self, load_ohms: f64, z_out_ohms: f64) -> f64 {
        let load = clamp_load(load_ohms);
        let v = self.rated_vrms(load);
        if load.is_infinite() || !v.is_finite() {
            v
        } else {
            v * (load + z_out_ohms.max(0.0)) / load
        }
    }

    /// A rail-limited model (no current limit yet) through two published points
    /// `(load_a, vrms_a)` and `(load_b, vrms_b)`: solving
    /// `V·R_a/(R_a+s) = v_a`, `V·R_b/(R_b+s) = v_b` gives
    /// `s = R_a·R_b·(v_a − v_b)/(v_b·R_a − v_a·R_b)` and `V = v_a·(R_a + s)/R_a`.
    pub fn fit_rail(load_a: f64, vrms_a: f64, load_b: f64, vrms_b: f64) -> Self {
        let sag = load_a * load_b * (vrms_a - vrms_b) / (vrms_b * load_a - vrms_a * load_b);
        Self {
            rail_vrms: vrms_a * (load_a + sag) / load_a,
            sag_ohms: sag,
            peak_current_a: f64::INFINITY,
        }
    }

    /// A rail model with a chosen `sag_ohms` through one point: `V = vrms·(R + s)/R`.
    pub fn rail_through(load_ohms: f64, vrms: f64, sag_ohms: f64) -> Self {
        Self {
            rail_vrms: vrms * (load_ohms + sag_ohms) / load_ohms,
            sag_ohms,
            peak_current_a: f64::INFINITY,
        }
    }

    /// The same limits with a peak current limit.
    pub fn with_peak_current_a(self, peak_current_a: f64) -> Self {
        Self {
            peak_current_a,
            ..self
        }
    }

    /// Peak current (A) of a sine of `vrms` across `load_ohms`: `vrms·√2/R`. Used to turn
    /// a current-limited published point into `peak_current_a`.
    pub fn peak_current_for(load_ohms: f64, vrms: f64) -> f64 {
        vrms * SQRT_2 / load_ohms
    }
}

/// `R/(R + s)`, exactly 1 for an infinite load.
fn divider(load: f64, series: f64) -> f64 {
    if load.is_infinite() {
        1.0
    } else {
        load / (load + series)
    }
}

/// Clamp a load to `[MIN_LOAD_OHMS, +∞]` (NaN → the minimum).
fn clamp_load(load_ohms: f64) -> f64 {
    if load_ohms >= Limits::MIN_LOAD_OHMS {
        load_ohms
    } else {
        Limits::MIN_LOAD_OHMS
    }
}

/// `Vrms = sqrt(P·R)` for a published power `power_mw` (mW) into `load_ohms`.
pub fn vrms_from_mw(power_mw: f64, load_ohms: f64) -> f64 {
    (power_mw * 1e-3 * load_ohms).sqrt()
}

/// One output (SE or BAL) of a device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutputSpec {
    /// Output impedance (Ω), resistive.
    pub z_out_ohms: f64,
    /// Voltage and current limits.
    pub limits: Limits,
    /// Gain steps in [`GainStep`] index order (Low, Medium, High).
    pub gains: [GainSpec; 3],
}

impl OutputSpec {
    /// The gain entry for `step` (as stored; use [`AmpSpec::gain`] to apply the device's
    /// step mapping).
    pub fn gain(&self, step: GainStep) -> GainSpec {
        self.gains[step.index()]
    }
}

/// A complete source (DAC + amp) as the amp stage sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AmpSpec {
    /// Display name.
    pub name: &'static str,
    /// Outputs in [`Output`] index order (SE, BAL). A device without a balanced output
    /// repeats its SE output there (see `notes`).
    pub outputs: [OutputSpec; 2],
    /// Volume knob law.
    pub volume: VolumeLaw,
    /// Which gain steps exist.
    pub steps: GainSteps,
    /// Where the published figures come from.
    pub sources: &'static str,
    /// Which figures are estimates, and how they were derived.
    pub estimates: &'static str,
    /// Anything else worth showing (behaviour, caveats).
    pub notes: &'static str,
}

/// K13 R2R SE sag (Ω) from its two rail-limited points, shared by other estimates.
fn k13_se_limits() -> Limits {
    // [pub] 6.2 Vrms @ 32 Ω and 6.7 Vrms @ 300 Ω (both rail-limited), 4.4 Vrms @ 16 Ω
    // (current-limited).
    Limits::fit_rail(32.0, 6.2, 300.0, 6.7).with_peak_current_a(Limits::peak_current_for(16.0, 4.4))
}

/// Peak-to-peak → RMS of a sine: `Vpp/(2√2)`.
fn vpp_to_vrms(vpp: f64) -> f64 {
    vpp / (2.0 * SQRT_2)
}

/// Gain steps 6.02 dB apart below `high_vrms` (\[est\]: FiiO does not publish the low and
/// medium full-scale voltages; 6 dB steps agree with the K13's published SNR, see
/// [`AmpSpec::k13_r2r`]).
fn six_db_steps(high_vrms: f64, noise_uv: [f64; 3]) -> [GainSpec; 3] {
    [
        GainSpec::new(high_vrms / 4.0, noise_uv[0]),
        GainSpec::new(high_vrms / 2.0, noise_uv[1]),
        GainSpec::new(high_vrms, noise_uv[2]),
    ]
}

impl AmpSpec {
    /// FiiO K13 R2R.
    ///
    /// | figure | SE | BAL | source |
    /// |---|---|---|---|
    /// | rated, high gain | 4.4 V @16, 6.2 V @32, 6.7 V @300 Ω | 4.4 V @16, 8.8 V @32, 13.5 V @300 Ω | \[pub\]\[seed 002\] |
    /// | limits fit | rail 6.765 V, sag 2.917 Ω, I_pk 0.389 A | rail 13.76 V, sag 5.83 Ω, I_pk 0.389 A | \[calc\] SE exact through all three points; BAL: current from 16/32 Ω (both 0.275 A rms), sag = 2× SE \[est\], rail through 300 Ω |
    /// | z_out | 0.4 Ω | 1.0 Ω | \[pub\] "< 0.4 Ω", "< 1 Ω" (the seed's summary says < 0.7 / < 1.5) |
    /// | full scale H | 6.72 V | 13.43 V | \[calc\] from "peak output > 19 / > 38 Vp-p" \[pub\] |
    /// | full scale M, L | 3.36, 1.68 V | 6.72, 3.36 V | \[est\] 6 dB steps |
    /// | noise H | 9.4 µV | 18 µV | \[pub\] |
    /// | noise M | 5 µV | 8 µV | \[seed 002\] summary lines |
    /// | noise L | 3.0 µV | 4.8 µV | \[est\] |
    ///
    /// Cross-checks: 20·log10(6.72 V / 9.4 µV) = 117.1 dB matches the published SE SNR
    /// ≥ 117 dB(A); 20·log10(3.36 V / 5 µV) = 116.5 dB matches the core spec's SNR
    /// ≥ 116 dB(A), which supports the 6 dB medium step. Low-gain noise: with
    /// `n² = a² + (b·g)²` (a gain-independent floor plus noise proportional to gain) fitted
    /// to the SE high/medium figures, a = 1.97 µV and the low step gives 3.03 µV; BAL low
    /// scales the BAL medium figure by the same 3.03/5 ratio.
    pub fn k13_r2r() -> AmpSpec {
        let se_limits = k13_se_limits();
        let bal_sag = 2.0 * se_limits.sag_ohms;
        let bal_limits = Limits::rail_through(300.0, 13.5, bal_sag)
            .with_peak_current_a(Limits::peak_current_for(16.0, 4.4));
        AmpSpec {
            name: "FiiO K13 R2R",
            outputs: [
                OutputSpec {
                    z_out_ohms: 0.4,
                    limits: se_limits,
                    gains: six_db_steps(vpp_to_vrms(19.0), [3.0, 5.0, 9.4]),
                },
                OutputSpec {
                    z_out_ohms: 1.0,
                    limits: bal_limits,
                    gains: six_db_steps(vpp_to_vrms(38.0), [4.8, 8.0, 18.0]),
                },
            ],
            volume: VolumeLaw::NJW1195A,
            steps: GainSteps::Three,
            sources: "fiio.com/k13r2r_parameters (gain L/M/H, power, noise, z_out, peak \
                      output); seed 002 (same figures; M-gain noise PO < 5 uV, BAL < 8 uV); \
                      NJW1195A datasheet (volume +31.5 to -95 dB in 0.5 dB steps, mute)",
            estimates: "low/medium full-scale voltages (6 dB steps), low-gain noise, BAL sag \
                        resistance (2x SE), volume knob mapping (linear in dB, 0 to -95 dB)",
            notes: "R2R DAC -> OPA1642 I/V -> NJW1195AV analog volume -> OPA1642 + TPA6120A",
        }
    }

    /// FiiO K11 R2R \[pub: fiio.com/newsinfo/1015217.html\].
    ///
    /// | figure | SE | BAL | source |
    /// |---|---|---|---|
    /// | rated, high gain | ≥ 460 mW @32 (3.84 V), 50 mW @300 Ω (3.87 V) | ≥ 1300 mW @32 (6.45 V), 220 mW @300 Ω (8.12 V) | \[pub\] |
    /// | limits fit | rail 3.877 V, sag 0.339 Ω, I_pk 0.285 A | rail 8.142 V, sag 0.679 Ω, I_pk 0.285 A | \[calc\] SE exact through both points (rail-limited); BAL current-limited at 32 Ω (0.202 A rms), sag = 2× SE \[est\], rail through 300 Ω; SE current = BAL's \[est\] |
    /// | z_out | 1.0 Ω | 1.5 Ω | \[pub\] "< 1 Ω", "< 1.5 Ω" |
    /// | full scale H | 3.89 V | 8.16 V | \[est\] reaches the rated 300 Ω voltage at 0 dBFS, 100 % |
    /// | full scale M, L | 1.94, 0.97 V | 4.08, 2.04 V | \[est\] 6 dB steps as the K13 |
    /// | noise H | 7.2 µV | 14.1 µV | \[pub\], presumably at high gain (not stated) |
    /// | noise M, L | 3.83, 2.32 µV | 7.50, 4.55 µV | \[est\] scaled by the K13's M/H and L/H ratios |
    ///
    /// Cross-check: 20·log10(3.89 V / 7.2 µV) = 114.7 dB, consistent with the published SNR
    /// ≥ 115 dB(A) — which is why the noise figures are taken as high-gain ones.
    pub fn k11_r2r() -> AmpSpec {
        let bal_current = Limits::peak_current_for(32.0, vrms_from_mw(1300.0, 32.0));
        let se_limits = Limits::fit_rail(
            32.0,
            vrms_from_mw(460.0, 32.0),
            300.0,
            vrms_from_mw(50.0, 300.0),
        )
        .with_peak_current_a(bal_current);
        let bal_limits =
            Limits::rail_through(300.0, vrms_from_mw(220.0, 300.0), 2.0 * se_limits.sag_ohms)
                .with_peak_current_a(bal_current);
        let se_high = se_limits.open_circuit_vrms(300.0, 1.0);
        let bal_high = bal_limits.open_circuit_vrms(300.0, 1.5);
        // K13 noise ratios: medium 5/9.4, low 3.03/9.4 (SE) — [est].
        let (m, l) = (5.0 / 9.4, 3.03 / 9.4);
        AmpSpec {
            name: "FiiO K11 R2R",
            outputs: [
                OutputSpec {
                    z_out_ohms: 1.0,
                    limits: se_limits,
                    gains: six_db_steps(se_high, [7.2 * l, 7.2 * m, 7.2]),
                },
                OutputSpec {
                    z_out_ohms: 1.5,
                    limits: bal_limits,
                    gains: six_db_steps(bal_high, [14.1 * l, 14.1 * m, 14.1]),
                },
            ],
            volume: VolumeLaw::NJW1195A,
            steps: GainSteps::Three,
            sources: "fiio.com/newsinfo/1015217.html (power at high gain, noise PO < 7.2 uV, \
                      BAL < 14.1 uV, z_out, SNR >= 115 dB, NJW1195A volume)",
            estimates: "three gain steps and their full-scale voltages, medium/low noise, \
                        current limit (from the BAL 32 ohm point, shared by SE), BAL sag, \
                        volume knob mapping",
            notes: "R2R DAC -> NJW1195A analog volume -> headphone amp",
        }
    }

    /// FiiO K7 \[seed 000\]: 2 × AK4493SEQ, 2 × THX AAA 788+.
    ///
    /// | figure | SE | BAL | source |
    /// |---|---|---|---|
    /// | rated | 1220 mW @32 Ω (6.25 V) | 2000 mW @32 Ω (8.0 V) | \[seed 000\] |
    /// | limits | rail 6.82 V, sag 2.92 Ω, I_pk 0.354 A | rail 13.64 V, sag 5.83 Ω, I_pk 0.354 A | \[est\] sag as the K13 SE; BAL assumed current-limited at 32 Ω (0.25 A rms), rail 2× SE (bridged); SE current = BAL's. Other loads: assumption |
    /// | z_out | 1.0 Ω | 1.0 Ω | \[seed\] "< 1 Ω" |
    /// | full scale H | 6.77 V | 13.42 V | \[est\] reaches the rated voltage into 300 Ω at 0 dBFS, 100 % |
    /// | full scale L (= M) | 2.0 V | 4.0 V | \[est\] unity-gain amp after a 2 Vrms (4 Vrms BAL) line-level DAC |
    /// | noise H | 4.0 µV | 5.6 µV | \[est\] |
    /// | noise L (= M) | 2.0 µV | 2.8 µV | \[est\] |
    ///
    /// Noise: no K7 noise or SNR figure was found in the reference file or the searchable
    /// public docs, so it is estimated from the review: "a slight hissing noise" with the
    /// Campfire Andromeda 2020 (122.5 dB/mW, 8.7 Ω) "even at low gain", "more prominent" at
    /// high gain. 2 µV(A) gives 28 dB SPL(A) of hiss in the Andromeda (clearly audible in a
    /// quiet room) and −3 dB SPL(A) in the Final E5000 (93 dB/mW, 14 Ω: inaudible, and the
    /// review reports no hiss there). The E5000 stays below 0 dB SPL only up to about
    /// 2.8 µV, so the low-gain figure cannot be much higher. High gain doubles it (+6 dB;
    /// noise grows less than the ≈ 10.6 dB gain step because part of it is the DAC's).
    /// BAL: two uncorrelated amplifiers, ×√2.
    ///
    /// Volume: "ramps up slowly in the first half and then increases quickly in the second
    /// half" \[seed\] → [`VolumeLaw::K7`].
    pub fn k7() -> AmpSpec {
        let se_sag = k13_se_limits().sag_ohms;
        let se_rated = vrms_from_mw(1220.0, 32.0);
        let bal_rated = vrms_from_mw(2000.0, 32.0);
        let current = Limits::peak_current_for(32.0, bal_rated);
        let se_limits = Limits::rail_through(32.0, se_rated, se_sag).with_peak_current_a(current);
        let bal_limits = Limits {
            rail_vrms: 2.0 * se_limits.rail_vrms,
            sag_ohms: 2.0 * se_sag,
            peak_current_a: current,
        };
        let se_high = se_limits.open_circuit_vrms(300.0, 1.0);
        let bal_high = bal_limits.open_circuit_vrms(300.0, 1.0);
        let se_low = GainSpec::new(2.0, 2.0);
        let bal_low = GainSpec::new(4.0, 2.0 * SQRT_2);
        AmpSpec {
            name: "FiiO K7",
            outputs: [
                OutputSpec {
                    z_out_ohms: 1.0,
                    limits: se_limits,
                    gains: [se_low, se_low, GainSpec::new(se_high, 4.0)],
                },
                OutputSpec {
                    z_out_ohms: 1.0,
                    limits: bal_limits,
                    gains: [bal_low, bal_low, GainSpec::new(bal_high, 4.0 * SQRT_2)],
                },
            ],
            volume: VolumeLaw::K7,
            steps: GainSteps::LowHigh,
            sources: "seed 000 (review: SE 1220 mW @ 32 ohm, BAL 2000 mW @ 32 ohm, z_out < 1 \
                      ohm, two gains, volume knob behaviour, hiss with the Andromeda)",
            estimates: "everything else: limits at other loads, full-scale voltages, noise \
                        (from the review's hiss reports), volume law shape",
            notes: "two gain steps: Medium maps to Low",
        }
    }

    /// Apple USB-C to 3.5 mm adapter, US model (A2049): about 1.0 Vrms full scale
    /// \[est, devices.md\].
    ///
    /// Everything here is an estimate: full scale 1.0 V; limits rail 1.12 V (+1 dB above
    /// full scale, so the DAC's 0 dBFS limits first into ≥ 32 Ω), sag 1 Ω, peak current
    /// 80 mA (clips slightly below 0 dBFS into 16 Ω); z_out 1 Ω; noise 2.2 µV(A)
    /// (≈ 113 dB dynamic range re 1 V, the order reported for this adapter); one fixed gain;
    /// digital volume.
    pub fn apple_dongle_us() -> AmpSpec {
        Self::apple(
            "Apple USB-C dongle (US)",
            1.0,
            "US model: about 1.0 Vrms at full scale",
        )
    }

    /// Apple USB-C to 3.5 mm adapter, EU model (A2155): about 0.5 Vrms full scale
    /// \[est, devices.md\]. Assumed to be the US hardware with a −6 dB digital cap, so its
    /// limits and noise equal the US model's (an assumption: the source only says the US
    /// model is much louder).
    pub fn apple_dongle_eu() -> AmpSpec {
        Self::apple(
            "Apple USB-C dongle (EU)",
            0.5,
            "EU model: about 0.5 Vrms at full scale (assumed: US hardware, digital cap)",
        )
    }

    fn apple(name: &'static str, full_scale_vrms: f64, notes: &'static str) -> AmpSpec {
        let gain = GainSpec::new(full_scale_vrms, 2.2);
        let output = OutputSpec {
            z_out_ohms: 1.0,
            limits: Limits {
                rail_vrms: 1.12,
                sag_ohms: 1.0,
                peak_current_a: 0.08,
            },
            gains: [gain; 3],
        };
        AmpSpec {
            name,
            outputs: [output; 2],
            volume: VolumeLaw::DIGITAL,
            steps: GainSteps::Fixed,
            sources: "journaldulapin.com/2023/11/10/apple-dongle-usb-c-audio (US model much \
                      louder than EU model)",
            estimates: "all figures: full scale (1.0 / 0.5 Vrms), z_out 1 ohm, limits, \
                        noise 2.2 uV(A), digital volume law",
            notes,
        }
    }

    /// The ideal source: 2 Vrms full scale, no limits, no noise, 0 Ω, digital volume.
    /// SE and BAL are identical.
    pub fn ideal() -> AmpSpec {
        let gain = GainSpec::new(2.0, 0.0);
        let output = OutputSpec {
            z_out_ohms: 0.0,
            limits: Limits::NONE,
            gains: [gain; 3],
        };
        AmpSpec {
            name: "Ideal",
            outputs: [output; 2],
            volume: VolumeLaw::DIGITAL,
            steps: GainSteps::Fixed,
            sources: "",
            estimates: "",
            notes: "reference: a perfect voltage source",
        }
    }

    /// Every device, in a fixed order (K13 R2R, K11 R2R, K7, Apple US, Apple EU, Ideal).
    pub fn all() -> [AmpSpec; 6] {
        [
            Self::k13_r2r(),
            Self::k11_r2r(),
            Self::k7(),
            Self::apple_dongle_us(),
            Self::apple_dongle_eu(),
            Self::ideal(),
        ]
    }

    /// The output spec for `output`.
    pub fn output(&self, output: Output) -> &OutputSpec {
        &self.outputs[output.index()]
    }

    /// The gain step really used when the user asks for `step` (see [`GainSteps`]); for
    /// the editor to show.
    pub fn effective(&self, step: GainStep) -> GainStep {
        match (self.steps, step) {
            (GainSteps::Three, s) => s,
            (GainSteps::LowHigh, GainStep::Medium) => GainStep::Low,
            (GainSteps::LowHigh, s) => s,
            (GainSteps::Fixed, _) => GainStep::High,
        }
    }

    /// The gain entry used for `output` when the user asks for `step`.
    pub fn gain(&self, output: Output, step: GainStep) -> GainSpec {
        self.output(output).gain(self.effective(step))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    /// Every published power/voltage point, as (device, output, load Ω, published Vrms).
    pub(crate) fn published_points() -> Vec<(AmpSpec, Output, f64, f64)> {
        let k13 = AmpSpec::k13_r2r();
        let k11 = AmpSpec::k11_r2r();
        let k7 = AmpSpec::k7();
        vec![
            (k13, Output::Se, 16.0, 4.4),
            (k13, Output::Se, 32.0, 6.2),
            (k13, Output::Se, 300.0, 6.7),
            (k13, Output::Bal, 16.0, 4.4),
            (k13, Output::Bal, 32.0, 8.8),
            (k13, Output::Bal, 300.0, 13.5),
            (k11, Output::Se, 32.0, vrms_from_mw(460.0, 32.0)),
            (k11, Output::Se, 300.0, vrms_from_mw(50.0, 300.0)),
            (k11, Output::Bal, 32.0, vrms_from_mw(1300.0, 32.0)),
            (k11, Output::Bal, 300.0, vrms_from_mw(220.0, 300.0)),
            (k7, Output::Se, 32.0, vrms_from_mw(1220.0, 32.0)),
            (k7, Output::Bal, 32.0, vrms_from_mw(2000.0, 32.0)),
        ]
    }

    #[test]
    fn limits_reproduce_every_published_point() {
        for (spec, output, load, want) in published_points() {
            let got = spec.output(output).limits.rated_vrms(load);
            println!(
                "{} {:?} @{load} Ω: model {got:.4} Vrms, published {want:.4} ({:+.4} dB)",
                spec.name,
                output,
                db(got / want)
            );
            assert!(
                db(got / want).abs() < 0.01,
                "{} {output:?} {load}",
                spec.name
            );
        }
    }

    #[test]
    fn fitted_parameters() {
        let l = AmpSpec::k13_r2r().outputs[0].limits;
        println!("K13 SE {l:?}");
        assert!((l.sag_ohms - 2.917).abs() < 0.01);
        assert!((l.rail_vrms - 6.765).abs() < 0.01);
        assert!((l.peak_current_a - 0.3889).abs() < 0.001);
        for spec in AmpSpec::all() {
            for o in spec.outputs {
                println!("{}: {:?}", spec.name, o.limits);
            }
        }
        let k11 = AmpSpec::k11_r2r();
        assert!((k11.outputs[0].limits.sag_ohms - 0.3395).abs() < 0.001);
    }

    #[test]
    fn limits_shape() {
        let l = AmpSpec::k13_r2r().outputs[0].limits;
        // Infinite load: the bare rail; tiny/NaN loads are clamped and stay finite.
        assert_eq!(l.rated_vrms(f64::INFINITY), l.rail_vrms);
        assert!(l.rated_vrms(0.0).is_finite() && l.rated_vrms(f64::NAN).is_finite());
        assert!(l.rated_vrms(0.0) > 0.0);
        // Non-decreasing with load.
        let mut last = 0.0;
        for r in [1.0, 4.0, 8.0, 16.0, 32.0, 64.0, 300.0, 600.0, 1e4] {
            let v = l.rated_vrms(r);
            assert!(v >= last);
            last = v;
        }
        assert_eq!(Limits::NONE.rated_vrms(32.0), f64::INFINITY);
        assert_eq!(Limits::NONE.open_circuit_vrms(32.0, 1.0), f64::INFINITY);
        // Open circuit: V_load·(R + Z)/R.
        let oc = l.open_circuit_vrms(32.0, 0.4);
        assert!((oc - 6.2 * 32.4 / 32.0).abs() < 1e-3);
    }

    #[test]
    fn published_cross_checks() {
        // K13 SE: full scale vs published SNR ≥ 117 dB(A) with 9.4 µV.
        let k13 = AmpSpec::k13_r2r();
        let h = k13.gain(Output::Se, GainStep::High);
        let snr = db(h.full_scale_vrms / (h.noise_uv_a * 1e-6));
        println!("K13 SE high SNR {snr:.2} dB");
        assert!((snr - 117.0).abs() < 0.5);
        // Full scale at high gain reaches the rated 300 Ω voltage (within 0.05 dB).
        let v300 = h.full_scale_vrms * 300.0 / 300.4;
        assert!(db(v300 / 6.7).abs() < 0.05);
        let k11 = AmpSpec::k11_r2r();
        let h = k11.gain(Output::Se, GainStep::High);
        let snr = db(h.full_scale_vrms / (h.noise_uv_a * 1e-6));
        println!("K11 SE high SNR {snr:.2} dB (published >= 115)");
        assert!((snr - 115.0).abs() < 0.5);
    }

    #[test]
    fn indices_labels_and_step_mapping() {
        assert_eq!(Output::LABELS, &["SE", "BAL"]);
        assert_eq!(GainStep::LABELS, &["Low", "Medium", "High"]);
        assert_eq!(Output::from_index(0), Output::Se);
        assert_eq!(Output::from_index(1), Output::Bal);
        assert_eq!(Output::from_index(9), Output::Bal);
        for (i, s) in GainStep::ALL.iter().enumerate() {
            assert_eq!(GainStep::from_index(i), *s);
            assert_eq!(s.index(), i);
        }
        let k7 = AmpSpec::k7();
        assert_eq!(k7.effective(GainStep::Medium), GainStep::Low);
        assert_eq!(k7.effective(GainStep::High), GainStep::High);
        assert_eq!(
            k7.gain(Output::Se, GainStep::Medium),
            k7.gain(Output::Se, GainStep::Low)
        );
        let k13 = AmpSpec::k13_r2r();
        assert_eq!(k13.effective(GainStep::Medium), GainStep::Medium);
        assert_eq!(AmpSpec::ideal().effective(GainStep::Low), GainStep::High);
        // Gains rise with the step and every figure is finite and positive (but Ideal's
        // noise, which is 0).
        for spec in AmpSpec::all() {
            for o in spec.outputs {
                assert!(o.z_out_ohms >= 0.0);
                for w in o.gains.windows(2) {
                    assert!(w[0].full_scale_vrms <= w[1].full_scale_vrms);
                    assert!(w[0].noise_uv_a <= w[1].noise_uv_a);
                }
                for g in o.gains {
                    assert!(g.full_scale_vrms > 0.0 && g.noise_uv_a >= 0.0);
                }
            }
        }
    }
}
