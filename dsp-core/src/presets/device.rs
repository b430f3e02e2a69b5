//! Device (source) files: `presets/devices/*.toml`, schema 1.
//!
//! ```toml
//! schema = 1
//! name = "FiiO K13 R2R"
//! slot = 0                      # index in the `device` parameter; frozen
//! notes = "R2R DAC -> OPA1642 I/V -> NJW1195AV volume -> OPA1642 + TPA6120A"
//! sources = ["fiio.com/k13r2r_parameters: power, noise, z_out", "seed 002: ..."]
//! estimates = ["low/medium full-scale voltages (6 dB steps)", "..."]
//! from_reviewer_words = false   # optional; see [[reviewer_words]]
//!
//! [dac]
//! type = "r2r"                  # "ideal" | "r2r" | "delta_sigma"
//! mode = "OS"                   # DacMode::LABELS: "OS" | "NOS" (the default mode)
//! os_filter = "R2R OS (K13/K11)"  # one of OsFilter::LABELS
//! hold = true                   # render the converter's staircase
//! # rate_hz = 48000.0           # optional: a fixed DAC rate (absent: the host rate)
//! # noise_dbfs = -121.0         # delta_sigma only: in-band noise, unweighted
//!
//! [dac.ladder]                  # r2r only
//! bits = 24                     # 8 ..= 24
//! tolerance_pct = 0.1           # 0.001 ..= 1
//! coding = "Complementary"      # one of Coding::LABELS
//! seed = 2345
//! switch_bow = 0.002
//! switch_bow_mismatch = 0.1
//! dither = true
//! glitch_skew_s = 0.0
//!
//! [analog]                      # optional
//! lowpass = { corner_hz = 87876.79159972511, match_hz = 80000.0 }  # optional
//! harmonics = { reference_dbfs = -6.0, dbc = [-77.0, -81.0] }     # H2, H3, … (≤ 8)
//!
//! [amp]
//! steps = "Three"               # "Three" | "LowHigh" | "Fixed"
//! notes = "R2R DAC -> ..."      # optional amp.sources / amp.estimates / amp.notes: the
//!                               # amp's own texts (default: the device's lists, joined)
//! volume = { law = "stepped_db", min_db = -95.0, step_db = 0.5 }
//!
//! [amp.se]
//! z_out_ohms = 0.4
//! limits = { rail_vrms = 6.765143412736997, sag_ohms = 2.916869227029655, peak_current_a = 0.3889087296526012 }
//! gains = [                     # 3 (Three: L, M, H), 2 (LowHigh: L, H) or 1 (Fixed)
//!     { full_scale_vrms = 1.6793786053180502, noise_uv_a = 3.0 },
//!     { full_scale_vrms = 3.3587572106361003, noise_uv_a = 5.0 },
//!     { full_scale_vrms = 6.717514421272201, noise_uv_a = 9.4 },
//! ]
//! # [amp.bal] likewise; absent: the device has no balanced output (BAL repeats SE).
//!
//! [[published]]                # optional, any number: the figures the voicing is judged by
//! figure = "thd_n"              # thd_n | fr_deviation | fr_at | noise | max_output
//! text = "0.0173 % (1 kHz, -6 dBFS, 32 ohm)"   # the figure as published
//! source = "seed 002"           # where: a seed file, [pub], [calc]
//! value = 0.0173                # or `bound = …` for a published "< x"
//! unit = "%"                    # thd_n: % | dB; fr_*: dB; noise: uV; max_output: Vrms | mW
//! tolerance_db = 1.0            # how far the measurement may be, in dB
//! estimate = false              # optional: the voicing's own figure (shown, not judged)
//! condition = { output = "SE", load_ohms = 32.0, level_dbfs = -6.0 }   # see below
//!
//! [[reviewer_words]]            # optional, any number
//! words = "a deliberate colouration that adds a warm hue"
//! source = "seed 000 (FiiO K7 review)"
//! mapped_to = "analog.harmonics: H2 -55 dBc at -6 dBFS"
//! reproduced = true
//! ```
//!
//! Volume laws (see [`VolumeLaw`]): `{ law = "stepped_db", min_db, step_db }` and
//! `{ law = "two_segment_db", floor_db, knee_percent, knee_db }`.
//!
//! `from_reviewer_words = true` says the voicing rests (partly) on a reviewer's words rather
//! than on published figures; it needs at least one `[[reviewer_words]]` entry with
//! `reproduced = true`, saying which words were mapped to which figure. Words with no
//! physical cause in the model are listed with `reproduced = false`.
//!
//! Ranges (checked): frequencies in Hz, levels in dB, impedances in Ω; see [`parse_device`].
//!
//! A `[[published]]` row's `condition` (every key optional unless said): `output` ("SE" |
//! "BAL", default SE), `gain` ("Low" | "Medium" | "High", default High), `rate_hz` (host
//! rate, default 48 000), `load_ohms` (a resistor: default 32 Ω, 600 Ω for noise; required
//! for max_output), `level_dbfs` (thd_n, default −6: judged at the worst point of ±0.5 dB
//! around it, [`crate::measure::conformance::thd_band_levels`]),
//! `freq_hz` (fr_at, required), `from_hz`/`to_hz` (fr_deviation, default 20…20 000).
//! Measured at 100 % volume, OS mode, the device's own filter ([`crate::measure`]).

use serde::Deserialize;
use toml::Spanned;

use super::{intern, Checker, PresetError};
use crate::amp::spec::{AmpSpec, GainSpec, GainStep, GainSteps, Limits, Output, OutputSpec};
use crate::amp::volume::VolumeLaw;
use crate::analog::lowpass::AnalogLowpass;
use crate::analog::shaper::HarmonicProfile;
use crate::analog::AnalogConfig;
use crate::dac::r2r::{Coding, LadderConfig};
use crate::dac::{ConverterKind, DacConfig, DacMode, OsFilter};

/// The `dac.type` labels.
pub const DAC_TYPES: &[&str] = &["ideal", "r2r", "delta_sigma"];
/// The `amp.steps` labels, in [`GainSteps`] order.
pub const GAIN_STEP_KINDS: &[&str] = &["Three", "LowHigh", "Fixed"];
/// The `amp.volume.law` labels.
pub const VOLUME_LAWS: &[&str] = &["stepped_db", "two_segment_db"];

/// One device (source) as its file describes it: the voicing a chain is built from, and
/// the published figures it is judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceVoicing {
    /// The file's stem (`fiio-k13-r2r`).
    pub id: String,
    /// Display name (the parameter label of a factory preset).
    pub name: String,
    /// Index in the `device` parameter.
    pub slot: usize,
    /// The file it came from (for messages).
    pub file: String,
    /// The DAC (the user's mode, filter, rate and ladder replace parts of it).
    pub dac: DacConfig,
    /// The analog stage after the DAC.
    pub analog: AnalogConfig,
    /// The amp: outputs, gain steps, volume law. Its `name` is this preset's; its
    /// `sources`, `estimates` and `notes` are the file's `amp.sources`, `amp.estimates` and
    /// `amp.notes` (about the amp's figures), or else this preset's (joined with "; ").
    pub amp: AmpSpec,
    /// Whether the file gives a balanced output (otherwise BAL repeats SE).
    pub has_balanced: bool,
    /// Where each figure comes from.
    pub sources: Vec<String>,
    /// Which values are estimates or assumptions, and how they were derived.
    pub estimates: Vec<String>,
    pub notes: String,
    /// The voicing rests (partly) on a reviewer's words; see [`ReviewerWords`].
    pub from_reviewer_words: bool,
    pub reviewer_words: Vec<ReviewerWords>,
    /// The published figures the voicing is judged by ([`crate::measure::conformance`]).
    pub published: Vec<Published>,
}

/// A reviewer's words and what the voicing made of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerWords {
    /// The words, quoted.
    pub words: String,
    /// Where they are (a seed file, a review).
    pub source: String,
    /// The figure they were mapped to, or why nothing was.
    pub mapped_to: String,
    /// Whether the model reproduces them.
    pub reproduced: bool,
}

crate::choice! {
    /// What a published figure is, and so how it is measured ([`crate::measure`]):
    /// `thd_n`, THD+N of a 1 kHz sine at `level_dbfs` into `load_ohms`; `fr_deviation`, the
    /// largest deviation re 1 kHz of the response from `from_hz` to `to_hz`; `fr_at`, the
    /// response at `freq_hz` re 1 kHz; `noise`, the A-weighted noise floor across
    /// `load_ohms`, silence in; `max_output`, the largest 1 kHz output into `load_ohms`
    /// before THD+N reaches 1 %.
    pub enum Figure {
        ThdN = "thd_n", FrDeviation = "fr_deviation", FrAt = "fr_at", Noise = "noise",
        MaxOutput = "max_output",
    }
}

crate::choice! {
    /// The unit a published figure is written in.
    pub enum Unit { Percent = "%", Db = "dB", MicrovoltsA = "uV", Vrms = "Vrms", Milliwatts = "mW" }
}

/// The conditions of a published figure (see the module docs for the defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub output: Output,
    pub gain: GainStep,
    /// Host rate of the measurement (Hz).
    pub rate_hz: f64,
    /// The resistor the output drives (Ω).
    pub load_ohms: f64,
    /// Level of the test sine (dBFS, sine peak).
    pub level_dbfs: f64,
    /// The frequency of an `fr_at` figure (Hz).
    pub freq_hz: f64,
    /// The band of an `fr_deviation` figure (Hz).
    pub from_hz: f64,
    pub to_hz: f64,
}

/// One published figure of a device, as its file states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub figure: Figure,
    /// The figure as published (`"0.0173 % (1 kHz, -6 dBFS, 32 ohm)"`).
    pub text: String,
    /// Where it is published.
    pub source: String,
    /// The figure in `unit`.
    pub value: f64,
    /// The figure is an upper bound ("< x"): the measurement passes at or below it.
    pub bound: bool,
    pub unit: Unit,
    /// How far (dB) the measurement may be from the figure.
    pub tolerance_db: f64,
    /// The voicing's own figure, not a published one: shown, not judged.
    pub estimate: bool,
    pub condition: Condition,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    #[allow(dead_code)]
    schema: i64,
    name: Spanned<String>,
    slot: Spanned<i64>,
    notes: String,
    sources: Spanned<Vec<String>>,
    estimates: Spanned<Vec<String>>,
    from_reviewer_words: Option<Spanned<bool>>,
    #[serde(default)]
    reviewer_words: Vec<WordsFile>,
    #[serde(default)]
    published: Vec<PublishedFile>,
    dac: DacFile,
    analog: Option<AnalogFile>,
    amp: AmpFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsFile {
    words: Spanned<String>,
    source: Spanned<String>,
    mapped_to: Spanned<String>,
    reproduced: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedFile {
    figure: Spanned<String>,
    text: Spanned<String>,
    source: Spanned<String>,
    value: Option<Spanned<f64>>,
    bound: Option<Spanned<f64>>,
    unit: Spanned<String>,
    tolerance_db: Spanned<f64>,
    #[serde(default)]
    estimate: bool,
    #[serde(default)]
    condition: Option<Spanned<ConditionFile>>,
}

/// A `[[published]]` row's `condition`: its keys are checked against the figure.
type ConditionFile = std::collections::BTreeMap<String, Spanned<toml::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DacFile {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    mode: Spanned<String>,
    os_filter: Spanned<String>,
    hold: bool,
    rate_hz: Option<Spanned<f64>>,
    noise_dbfs: Option<Spanned<f64>>,
    ladder: Option<Spanned<LadderFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LadderFile {
    bits: Spanned<i64>,
    tolerance_pct: Spanned<f64>,
    coding: Spanned<String>,
    seed: Spanned<i64>,
    switch_bow: Spanned<f64>,
    switch_bow_mismatch: Spanned<f64>,
    dither: bool,
    glitch_skew_s: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalogFile {
    lowpass: Option<LowpassFile>,
    harmonics: Option<HarmonicsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LowpassFile {
    corner_hz: Spanned<f64>,
    match_hz: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HarmonicsFile {
    reference_dbfs: Spanned<f64>,
    dbc: Spanned<Vec<Spanned<f64>>>,
    polarity: Option<Spanned<Vec<Spanned<f64>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmpFile {
    /// The amp's own texts (shown with its figures); default: the device's lists, joined.
    sources: Option<String>,
    estimates: Option<String>,
    notes: Option<String>,
    steps: Spanned<String>,
    volume: Spanned<VolumeFile>,
    se: OutputFile,
    bal: Option<OutputFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VolumeFile {
    law: Spanned<String>,
    min_db: Option<Spanned<f64>>,
    step_db: Option<Spanned<f64>>,
    floor_db: Option<Spanned<f64>>,
    knee_percent: Option<Spanned<f64>>,
    knee_db: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputFile {
    z_out_ohms: Spanned<f64>,
    limits: LimitsFile,
    gains: Spanned<Vec<GainFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    rail_vrms: Spanned<f64>,
    sag_ohms: Spanned<f64>,
    peak_current_a: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GainFile {
    full_scale_vrms: Spanned<f64>,
    noise_uv_a: Spanned<f64>,
}

/// Parse and validate a device file; `file` names it in errors.
///
/// Ranges: `slot` 0…255; `dac.rate_hz` 8 k…768 kHz; `dac.noise_dbfs` −200…−60; ladder
/// `bits` 8…24, `tolerance_pct` 0.001…1, `seed` ≥ 0, `switch_bow` 0…0.1,
/// `switch_bow_mismatch` 0…1, `glitch_skew_s` 0…1 µs; low-pass `corner_hz` 1 k…1 MHz,
/// `match_hz` 100 Hz…1 MHz; harmonics `reference_dbfs` −60…0, each `dbc` −200…−10 or
/// `-inf` (none), `polarity` ±1; amp `z_out_ohms` 0…1000, `rail_vrms` 0.01…1000 or `inf`,
/// `sag_ohms` 0…1000, `peak_current_a` 0.001…100 or `inf`, `full_scale_vrms` 0.001…100 and
/// rising with the step, `noise_uv_a` 0…10 000; volume `min_db`/`floor_db` −150…−10,
/// `step_db` 0…6, `knee_percent` 1…99, `knee_db` between `floor_db` and 0.
pub fn parse_device(text: &str, file: &str) -> Result<DeviceVoicing, PresetError> {
    let c = Checker::new(text, file);
    c.preflight("device")?;
    let raw: DeviceFile = c.de(text)?;

    let name = c.name(&raw.name)?;
    let slot = c.slot(&raw.slot)?;
    let sources = c.texts(&raw.sources, "sources")?;
    let estimates = c.texts(&raw.estimates, "estimates")?;
    let notes = raw.notes.trim().to_owned();

    let mut reviewer_words = Vec::new();
    for w in &raw.reviewer_words {
        for (v, key) in [
            (&w.words, "words"),
            (&w.source, "source"),
            (&w.mapped_to, "mapped_to"),
        ] {
            if v.get_ref().trim().is_empty() {
                return Err(c.fail(v.span(), format!("`reviewer_words.{key}` is empty")));
            }
        }
        reviewer_words.push(ReviewerWords {
            words: w.words.get_ref().trim().to_owned(),
            source: w.source.get_ref().trim().to_owned(),
            mapped_to: w.mapped_to.get_ref().trim().to_owned(),
            reproduced: w.reproduced,
        });
    }
    let from_reviewer_words = match &raw.from_reviewer_words {
        Some(v) if *v.get_ref() => {
            if !reviewer_words.iter().any(|w| w.reproduced) {
                return Err(c.fail(
                    v.span(),
                    "`from_reviewer_words = true` needs a [[reviewer_words]] entry with \
                     `reproduced = true` (which words became which figure)",
                ));
            }
            true
        }
        _ => false,
    };

    let (dac, analog) = dac_config(&c, &raw.dac, raw.analog.as_ref())?;
    let (amp, has_balanced) = amp_spec(&c, &raw.amp, &name, &sources, &estimates, &notes)?;
    let published = raw
        .published
        .iter()
        .map(|p| published(&c, p, has_balanced))
        .collect::<Result<_, _>>()?;

    Ok(DeviceVoicing {
        analog,
        id: std::path::Path::new(file)
            .file_stem()
            .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned()),
        name,
        slot,
        file: file.to_owned(),
        dac,
        amp,
        has_balanced,
        sources,
        estimates,
        notes,
        from_reviewer_words,
        reviewer_words,
        published,
    })
}

fn dac_config(
    c: &Checker,
    raw: &DacFile,
    analog: Option<&AnalogFile>,
) -> Result<(DacConfig, AnalogConfig), PresetError> {
    let kind = c.label(&raw.kind, "dac.type", DAC_TYPES)?;
    let mode: DacMode = c.choice(&raw.mode, "dac.mode")?;
    let os_filter: OsFilter = c.choice(&raw.os_filter, "dac.os_filter")?;
    let dac_rate_hz = c.opt_num(&raw.rate_hz, "dac.rate_hz", 8_000.0, 768_000.0)?;

    let type_span = raw.kind.span();
    let converter = match DAC_TYPES[kind] {
        "r2r" => {
            if let Some(n) = &raw.noise_dbfs {
                return Err(c.fail(n.span(), "`noise_dbfs` is for type = \"delta_sigma\""));
            }
            let Some(ladder) = &raw.ladder else {
                return Err(c.fail(type_span, "type = \"r2r\" needs a [dac.ladder] table"));
            };
            ConverterKind::R2r(ladder_config(c, ladder.get_ref())?)
        }
        "delta_sigma" => {
            if let Some(l) = &raw.ladder {
                return Err(c.fail(l.span(), "[dac.ladder] is for type = \"r2r\""));
            }
            let Some(noise) = &raw.noise_dbfs else {
                return Err(c.fail(type_span, "type = \"delta_sigma\" needs `noise_dbfs`"));
            };
            ConverterKind::DeltaSigma {
                noise_dbfs: c.num(noise, "dac.noise_dbfs", -200.0, -60.0)?,
            }
        }
        _ => {
            if let Some(l) = &raw.ladder {
                return Err(c.fail(l.span(), "[dac.ladder] is for type = \"r2r\""));
            }
            if let Some(n) = &raw.noise_dbfs {
                return Err(c.fail(n.span(), "`noise_dbfs` is for type = \"delta_sigma\""));
            }
            ConverterKind::Ideal
        }
    };

    let analog_lowpass = match analog.and_then(|a| a.lowpass.as_ref()) {
        Some(lp) => Some(AnalogLowpass {
            corner_hz: c.num(&lp.corner_hz, "analog.lowpass.corner_hz", 1_000.0, 1e6)?,
            match_hz: c.num(&lp.match_hz, "analog.lowpass.match_hz", 100.0, 1e6)?,
        }),
        None => None,
    };
    let harmonics = match analog.and_then(|a| a.harmonics.as_ref()) {
        Some(h) => harmonic_profile(c, h)?,
        None => HarmonicProfile::CLEAN,
    };

    Ok((
        DacConfig {
            mode,
            os_filter,
            dac_rate_hz,
            converter,
            hold: raw.hold,
        },
        AnalogConfig {
            lowpass: analog_lowpass,
            harmonics,
        },
    ))
}

fn ladder_config(c: &Checker, raw: &LadderFile) -> Result<LadderConfig, PresetError> {
    Ok(LadderConfig {
        bits: c.int(&raw.bits, "ladder.bits", 8, 24)? as u32,
        tolerance_pct: c.num(&raw.tolerance_pct, "ladder.tolerance_pct", 0.001, 1.0)?,
        coding: c.choice::<Coding>(&raw.coding, "ladder.coding")?,
        seed: c.int(&raw.seed, "ladder.seed", 0, i64::MAX)? as u64,
        glitch_skew_s: c.num(&raw.glitch_skew_s, "ladder.glitch_skew_s", 0.0, 1e-6)?,
        dither: raw.dither,
        switch_bow: c.num(&raw.switch_bow, "ladder.switch_bow", 0.0, 0.1)?,
        switch_bow_mismatch: c.num(
            &raw.switch_bow_mismatch,
            "ladder.switch_bow_mismatch",
            0.0,
            1.0,
        )?,
    })
}

fn harmonic_profile(c: &Checker, raw: &HarmonicsFile) -> Result<HarmonicProfile, PresetError> {
    let reference_dbfs = c.num(&raw.reference_dbfs, "harmonics.reference_dbfs", -60.0, 0.0)?;
    let list = raw.dbc.get_ref();
    if list.is_empty() || list.len() > 8 {
        return Err(c.fail(
            raw.dbc.span(),
            format!(
                "`harmonics.dbc` lists H2, H3, …: 1 to 8 values, not {}",
                list.len()
            ),
        ));
    }
    // −400 marks "none", as `HarmonicProfile::from_dbc` reads anything at or below −300.
    let mut dbc = [-400.0; 8];
    for (slot, v) in dbc.iter_mut().zip(list) {
        *slot = if *v.get_ref() == f64::NEG_INFINITY {
            -400.0
        } else {
            c.num(v, "harmonics.dbc", -200.0, -10.0)?
        };
    }
    let mut polarity = [1.0; 8];
    if let Some(p) = &raw.polarity {
        if p.get_ref().len() != list.len() {
            return Err(c.fail(
                p.span(),
                "`harmonics.polarity` needs one +1/-1 per `dbc` entry",
            ));
        }
        for (slot, v) in polarity.iter_mut().zip(p.get_ref()) {
            let x = *v.get_ref();
            if x != 1.0 && x != -1.0 {
                return Err(c.fail(
                    v.span(),
                    format!("`harmonics.polarity` = {x} is not +1 or -1"),
                ));
            }
            *slot = x;
        }
    }
    Ok(HarmonicProfile::from_dbc(reference_dbfs, dbc, polarity))
}

fn amp_spec(
    c: &Checker,
    raw: &AmpFile,
    name: &str,
    sources: &[String],
    estimates: &[String],
    notes: &str,
) -> Result<(AmpSpec, bool), PresetError> {
    let steps = match c.label(&raw.steps, "amp.steps", GAIN_STEP_KINDS)? {
        0 => GainSteps::Three,
        1 => GainSteps::LowHigh,
        _ => GainSteps::Fixed,
    };
    let volume = volume_law(c, &raw.volume)?;
    let se = output_spec(c, &raw.se, steps, "amp.se")?;
    let bal = match &raw.bal {
        Some(bal) => Some(output_spec(c, bal, steps, "amp.bal")?),
        None => None,
    };
    let spec = AmpSpec {
        name: intern(name),
        outputs: [se, bal.unwrap_or(se)],
        volume,
        steps,
        sources: intern(raw.sources.as_deref().unwrap_or(&sources.join("; ")).trim()),
        estimates: intern(
            raw.estimates
                .as_deref()
                .unwrap_or(&estimates.join("; "))
                .trim(),
        ),
        notes: intern(raw.notes.as_deref().unwrap_or(notes).trim()),
    };
    Ok((spec, bal.is_some()))
}

fn volume_law(c: &Checker, raw: &Spanned<VolumeFile>) -> Result<VolumeLaw, PresetError> {
    let v = raw.get_ref();
    fn need<'x>(
        c: &Checker,
        law: &Spanned<String>,
        x: &'x Option<Spanned<f64>>,
        key: &str,
    ) -> Result<&'x Spanned<f64>, PresetError> {
        x.as_ref().ok_or_else(|| {
            c.fail(
                law.span(),
                format!("law = {:?} needs `{key}`", law.get_ref()),
            )
        })
    }
    let need = |x, key| need(c, &v.law, x, key);
    let forbid = |x: &Option<Spanned<f64>>, key: &str| match x {
        Some(x) => Err(c.fail(
            x.span(),
            format!("`{key}` does not belong to law = {:?}", v.law.get_ref()),
        )),
        None => Ok(()),
    };
    match VOLUME_LAWS[c.label(&v.law, "amp.volume.law", VOLUME_LAWS)?] {
        "stepped_db" => {
            forbid(&v.floor_db, "floor_db")?;
            forbid(&v.knee_percent, "knee_percent")?;
            forbid(&v.knee_db, "knee_db")?;
            Ok(VolumeLaw::SteppedDb {
                min_db: c.num(need(&v.min_db, "min_db")?, "min_db", -150.0, -10.0)?,
                step_db: c.num(need(&v.step_db, "step_db")?, "step_db", 0.0, 6.0)?,
            })
        }
        _ => {
            forbid(&v.min_db, "min_db")?;
            forbid(&v.step_db, "step_db")?;
            let floor_db = c.num(need(&v.floor_db, "floor_db")?, "floor_db", -150.0, -10.0)?;
            let knee = need(&v.knee_db, "knee_db")?;
            Ok(VolumeLaw::TwoSegmentDb {
                floor_db,
                knee_percent: c.num(
                    need(&v.knee_percent, "knee_percent")?,
                    "knee_percent",
                    1.0,
                    99.0,
                )?,
                knee_db: c.num(knee, "knee_db", floor_db, -0.1)?,
            })
        }
    }
}

fn output_spec(
    c: &Checker,
    raw: &OutputFile,
    steps: GainSteps,
    key: &str,
) -> Result<OutputSpec, PresetError> {
    let z_out_ohms = c.num(&raw.z_out_ohms, &format!("{key}.z_out_ohms"), 0.0, 1000.0)?;
    let l = &raw.limits;
    let infinite_or =
        |v: &Spanned<f64>, name: &str, lo: f64, hi: f64| -> Result<f64, PresetError> {
            if *v.get_ref() == f64::INFINITY {
                Ok(f64::INFINITY)
            } else {
                c.num(v, &format!("{key}.limits.{name}"), lo, hi)
            }
        };
    let limits = Limits {
        rail_vrms: infinite_or(&l.rail_vrms, "rail_vrms", 0.01, 1000.0)?,
        sag_ohms: c.num(&l.sag_ohms, &format!("{key}.limits.sag_ohms"), 0.0, 1000.0)?,
        peak_current_a: infinite_or(&l.peak_current_a, "peak_current_a", 0.001, 100.0)?,
    };
    let want = match steps {
        GainSteps::Three => 3,
        GainSteps::LowHigh => 2,
        GainSteps::Fixed => 1,
    };
    let listed = raw.gains.get_ref();
    if listed.len() != want {
        return Err(c.fail(
            raw.gains.span(),
            format!(
                "`{key}.gains` needs {want} entries for steps = {:?} (Three: Low, Medium, High; \
                 LowHigh: Low, High; Fixed: one), not {}",
                GAIN_STEP_KINDS[steps as usize],
                listed.len()
            ),
        ));
    }
    let mut gains = Vec::with_capacity(3);
    for g in listed {
        gains.push(GainSpec::new(
            c.num(&g.full_scale_vrms, "full_scale_vrms", 0.001, 100.0)?,
            c.num(&g.noise_uv_a, "noise_uv_a", 0.0, 10_000.0)?,
        ));
    }
    for (pair, g) in gains.windows(2).zip(&listed[1..]) {
        if pair[1].full_scale_vrms < pair[0].full_scale_vrms {
            return Err(c.fail(
                g.full_scale_vrms.span(),
                format!("`{key}.gains`: full scale must not fall as the gain step rises"),
            ));
        }
    }
    // Medium maps to Low on a two-step device (`GainSteps::LowHigh`); a fixed gain fills
    // all three.
    let gains = match steps {
        GainSteps::Three => [gains[0], gains[1], gains[2]],
        GainSteps::LowHigh => [gains[0], gains[0], gains[1]],
        GainSteps::Fixed => [gains[0]; 3],
    };
    Ok(OutputSpec {
        z_out_ohms,
        limits,
        gains,
    })
}

/// Check one `[[published]]` row: the figure's unit and its conditions.
fn published(
    c: &Checker,
    raw: &PublishedFile,
    has_balanced: bool,
) -> Result<Published, PresetError> {
    let figure: Figure = c.choice(&raw.figure, "published.figure")?;
    let unit: Unit = c.choice(&raw.unit, "published.unit")?;
    let allowed: &[Unit] = match figure {
        Figure::ThdN => &[Unit::Percent, Unit::Db],
        Figure::FrDeviation | Figure::FrAt => &[Unit::Db],
        Figure::Noise => &[Unit::MicrovoltsA],
        Figure::MaxOutput => &[Unit::Vrms, Unit::Milliwatts],
    };
    if !allowed.contains(&unit) {
        return Err(c.fail(
            raw.unit.span(),
            format!(
                "`published.unit` = {:?} does not fit figure = {:?}; use one of {}",
                unit.label(),
                figure.label(),
                allowed
                    .iter()
                    .map(|u| format!("{:?}", u.label()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    for (v, key) in [(&raw.text, "text"), (&raw.source, "source")] {
        if v.get_ref().trim().is_empty() {
            return Err(c.fail(v.span(), format!("`published.{key}` is empty")));
        }
    }
    let (value, bound) = match (&raw.value, &raw.bound) {
        (Some(v), None) => (v, false),
        (None, Some(b)) => (b, true),
        (Some(_), Some(b)) => {
            return Err(c.fail(b.span(), "give `value` or `bound`, not both"));
        }
        (None, None) => {
            return Err(c.fail(
                raw.figure.span(),
                "a published row needs `value` or `bound`",
            ));
        }
    };
    let value = match unit {
        Unit::Db => c.num(value, "published.value", -200.0, 200.0)?,
        _ => c.num(value, "published.value", 1e-9, 1e9)?,
    };
    let tolerance_db = c.num(&raw.tolerance_db, "published.tolerance_db", 0.0, 20.0)?;

    let empty = ConditionFile::default();
    let cond = raw.condition.as_ref().map_or(&empty, |s| s.get_ref());
    let cond_span = raw
        .condition
        .as_ref()
        .map_or_else(|| raw.figure.span(), |s| s.span());
    // Which keys each figure reads; any other is refused.
    let reads: &[&str] = match figure {
        Figure::ThdN => &["output", "gain", "rate_hz", "load_ohms", "level_dbfs"],
        Figure::FrDeviation => &["output", "rate_hz", "load_ohms", "from_hz", "to_hz"],
        Figure::FrAt => &["output", "rate_hz", "load_ohms", "freq_hz"],
        Figure::Noise | Figure::MaxOutput => &["output", "gain", "rate_hz", "load_ohms"],
    };
    if let Some((key, v)) = cond.iter().find(|(k, _)| !reads.contains(&k.as_str())) {
        return Err(c.fail(
            v.span(),
            format!(
                "`condition.{key}` does not apply to figure = {:?} (it reads {})",
                figure.label(),
                reads.join(", ")
            ),
        ));
    }
    // A number key (integers read as numbers), range-checked.
    let opt = |key: &str, lo: f64, hi: f64| -> Result<Option<f64>, PresetError> {
        let Some(v) = cond.get(key) else {
            return Ok(None);
        };
        let x = match v.get_ref() {
            toml::Value::Float(x) => *x,
            toml::Value::Integer(n) => *n as f64,
            _ => return Err(c.fail(v.span(), format!("`condition.{key}` must be a number"))),
        };
        c.num(
            &Spanned::new(v.span(), x),
            &format!("condition.{key}"),
            lo,
            hi,
        )
        .map(Some)
    };
    // A label key.
    let label = |key: &str| -> Result<Option<Spanned<String>>, PresetError> {
        let Some(v) = cond.get(key) else {
            return Ok(None);
        };
        match v.get_ref() {
            toml::Value::String(text) => Ok(Some(Spanned::new(v.span(), text.clone()))),
            _ => Err(c.fail(v.span(), format!("`condition.{key}` must be a string"))),
        }
    };
    let output_label = label("output")?;
    let output = match &output_label {
        Some(o) => c.choice::<Output>(o, "condition.output")?,
        None => Output::Se,
    };
    if output == Output::Bal && !has_balanced {
        let span = output_label
            .as_ref()
            .map_or(cond_span.clone(), Spanned::span);
        return Err(c.fail(
            span,
            "condition.output = \"BAL\" but the device has no [amp.bal]",
        ));
    }
    let gain = match label("gain")? {
        Some(g) => c.choice::<GainStep>(&g, "condition.gain")?,
        None => GainStep::High,
    };
    let load_ohms = match (opt("load_ohms", 0.1, 100_000.0)?, figure) {
        (Some(r), _) => r,
        (None, Figure::MaxOutput) => {
            return Err(c.fail(cond_span, "a max_output figure needs `condition.load_ohms`"));
        }
        (None, Figure::Noise) => 600.0,
        (None, _) => 32.0,
    };
    let freq_hz = match (opt("freq_hz", 1.0, 400_000.0)?, figure) {
        (Some(f), _) => f,
        (None, Figure::FrAt) => {
            return Err(c.fail(cond_span, "an fr_at figure needs `condition.freq_hz`"));
        }
        (None, _) => 1000.0,
    };
    let rate_hz = opt("rate_hz", 8_000.0, 768_000.0)?.unwrap_or(48_000.0);
    let from_hz = opt("from_hz", 1.0, 400_000.0)?.unwrap_or(20.0);
    let to_hz = opt("to_hz", 1.0, 400_000.0)?.unwrap_or(20_000.0);
    if from_hz >= to_hz {
        let span = cond.get("to_hz").map_or(cond_span.clone(), Spanned::span);
        return Err(c.fail(span, "`condition.from_hz` must be below `to_hz`"));
    }
    let nyquist = 0.5 * rate_hz;
    if (figure == Figure::FrAt && freq_hz >= nyquist)
        || (figure == Figure::FrDeviation && to_hz >= nyquist)
    {
        return Err(c.fail(
            cond_span,
            format!("the frequency is above half of rate_hz ({nyquist} Hz)"),
        ));
    }
    Ok(Published {
        figure,
        text: raw.text.get_ref().trim().to_owned(),
        source: raw.source.get_ref().trim().to_owned(),
        value,
        bound,
        unit,
        tolerance_db,
        estimate: raw.estimate,
        condition: Condition {
            output,
            gain,
            rate_hz,
            load_ohms,
            level_dbfs: opt("level_dbfs", -150.0, 12.0)?.unwrap_or(-6.0),
            freq_hz,
            from_hz,
            to_hz,
        },
    })
}
