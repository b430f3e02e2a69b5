//! The headphone catalogue: `presets/headphones/*.toml`, one file per model.
//!
//! Each file names the model, gives the published figures it rests on (and where they come
//! from) and the impedance as a lumped network ([`Network`]); a curve that is modelled rather
//! than measured says so (`modelled = true`) and writes its assumptions in the file. The
//! files are compiled in (the plugin needs no files at run time) and parsed once, off the
//! audio thread, by [`catalogue`]. [`parse`] reads a user's file the same way and names the
//! file and line of any error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::Deserialize;

use crate::amp::spl::Sensitivity;
use crate::load::curve::{ImpedanceCurve, LoadFileError};
use crate::load::network::Network;
use crate::load::Complex64;
use crate::params::{HEADPHONE_CUSTOM, HEADPHONE_RESISTIVE};

/// Which load a stage drives (`Copy`, so it travels inside a stage request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LoadSource {
    /// A catalogue headphone, by its `headphone` parameter index.
    Catalogue(usize),
    /// A resistor of this many ohms.
    Resistive(f64),
    /// The user's imported curve of this [`CustomLoad::generation`]; with no curve
    /// imported, a resistor of `fallback_ohms`.
    Custom { generation: u64, fallback_ohms: f64 },
}

/// The load and the output impedance driving it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadConfig {
    pub source: LoadSource,
    pub z_out_ohms: f64,
}

/// A load made concrete: a lumped network (realised as an IIR in the analog domain) or a
/// measured curve (a minimum-phase FIR at the host rate).
#[derive(Debug, Clone)]
pub enum ResolvedLoad {
    Network(Network),
    Curve(Arc<ImpedanceCurve>),
}

impl ResolvedLoad {
    /// Complex impedance at `freq_hz`.
    pub fn impedance(&self, freq_hz: f64) -> Complex64 {
        match self {
            ResolvedLoad::Network(n) => n.impedance(freq_hz),
            ResolvedLoad::Curve(c) => c.impedance(freq_hz),
        }
    }
}

impl LoadSource {
    /// The network or curve behind this source (allocates and may lock `custom`: not on
    /// the audio thread).
    pub fn resolve(&self, custom: &CustomLoad) -> ResolvedLoad {
        let resistor = |ohms: f64| {
            let ohms = if ohms.is_finite() {
                ohms.clamp(0.1, 1e6)
            } else {
                32.0
            };
            ResolvedLoad::Network(
                Network::parse(&format!("R({ohms})")).expect("a resistor always parses"),
            )
        };
        match *self {
            LoadSource::Catalogue(index) => match by_index(index) {
                Some(h) => ResolvedLoad::Network(h.network.clone()),
                None => resistor(32.0),
            },
            LoadSource::Resistive(ohms) => resistor(ohms),
            LoadSource::Custom { fallback_ohms, .. } => match custom.get().1 {
                Some(c) => ResolvedLoad::Curve(c.curve),
                None => resistor(fallback_ohms),
            },
        }
    }
}

/// What kind of transducer it is (for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Iem,
    Earbud,
    Headphone,
}

/// A headphone file as written (every field checked, unknown fields rejected).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadphoneFile {
    name: String,
    kind: Kind,
    drivers: String,
    nominal_ohms: Option<f64>,
    sensitivity_db_per_mw: Option<f64>,
    sensitivity_db_per_v: Option<f64>,
    figures: String,
    modelled: bool,
    assumptions: Option<String>,
    network: String,
}

/// One headphone of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Headphone {
    pub name: String,
    pub kind: Kind,
    pub drivers: String,
    /// Published nominal impedance, if any.
    pub nominal_ohms: Option<f64>,
    /// Published sensitivity, if any.
    pub sensitivity: Option<Sensitivity>,
    /// Where the published figures come from.
    pub figures: String,
    /// The impedance curve is a model, not a measurement.
    pub modelled: bool,
    /// What the model assumes (required when `modelled`).
    pub assumptions: String,
    pub network: Network,
}

/// A preset file that could not be read: the file, the line (1-based; 0 for the whole file)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct PresetError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Largest preset file we read.
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Parse a headphone file; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Headphone, PresetError> {
    let fail = |line: usize, message: String| PresetError {
        file: file.to_owned(),
        line,
        message,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(fail(
            0,
            format!(
                "file is {} bytes; a headphone file is at most {MAX_FILE_BYTES}",
                text.len()
            ),
        ));
    }
    let raw: HeadphoneFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |span| {
            text[..span.start.min(text.len())].lines().count().max(1)
        });
        fail(line, e.message().to_owned())
    })?;
    // Lines of fields, for errors found after parsing.
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map_or(0, |i| i + 1)
    };
    let positive = |key: &str, v: Option<f64>, lo: f64, hi: f64| match v {
        Some(x) if !(x.is_finite() && x > lo && x < hi) => Err(fail(
            line_of(key),
            format!("`{key}` = {x} is outside {lo}…{hi}"),
        )),
        _ => Ok(()),
    };
    positive("nominal_ohms", raw.nominal_ohms, 0.0, 100_000.0)?;
    positive(
        "sensitivity_db_per_mw",
        raw.sensitivity_db_per_mw,
        40.0,
        160.0,
    )?;
    positive(
        "sensitivity_db_per_v",
        raw.sensitivity_db_per_v,
        40.0,
        180.0,
    )?;
    if raw.name.trim().is_empty() {
        return Err(fail(line_of("name"), "`name` is empty".into()));
    }
    let sensitivity = match (raw.sensitivity_db_per_mw, raw.sensitivity_db_per_v) {
        (Some(_), Some(_)) => {
            return Err(fail(
                line_of("sensitivity_db_per_v"),
                "give sensitivity in dB/mW or in dB/V, not both".into(),
            ))
        }
        (Some(s), None) => Some(Sensitivity::DbPerMw(s)),
        (None, Some(s)) => Some(Sensitivity::DbPerV(s)),
        (None, None) => None,
    };
    let assumptions = raw.assumptions.unwrap_or_default();
    if raw.modelled && assumptions.trim().is_empty() {
        return Err(fail(
            line_of("modelled"),
            "a modelled curve must write its `assumptions`".into(),
        ));
    }
    let network = Network::parse(&raw.network)
        .map_err(|e| fail(line_of("network"), format!("`network`: {e}")))?;
    Ok(Headphone {
        name: raw.name,
        kind: raw.kind,
        drivers: raw.drivers,
        nominal_ohms: raw.nominal_ohms,
        sensitivity,
        figures: raw.figures,
        modelled: raw.modelled,
        assumptions,
        network,
    })
}

/// A curve as imported: its file name, the file's text (what the plugin state stores, so a
/// session reopens with the same data) and the parsed curve.
#[derive(Debug, Clone)]
pub struct CustomCurve {
    pub name: String,
    pub text: String,
    pub curve: Arc<ImpedanceCurve>,
}

#[derive(Debug, Default)]
struct Inner {
    generation: AtomicU64,
    curve: Mutex<Option<CustomCurve>>,
}

/// Handle to the imported curve; clones share it. The audio thread calls only
/// [`CustomLoad::generation`] (an atomic load); everything else locks and is for other threads.
#[derive(Debug, Clone, Default)]
pub struct CustomLoad(Arc<Inner>);

impl CustomLoad {
    /// Parse `text` (REW `.zma` or CSV, chosen by the name's extension) and, if it is valid,
    /// make it the custom curve. On error nothing changes and the error names the file and
    /// line.
    pub fn import(&self, name: &str, text: &str) -> Result<(), LoadFileError> {
        let curve = if name.to_ascii_lowercase().ends_with(".csv") {
            crate::load::curve::parse_csv(text, name)?
        } else {
            crate::load::curve::parse_zma(text, name)?
        };
        self.store(CustomCurve {
            name: name.to_owned(),
            text: text.to_owned(),
            curve: Arc::new(curve),
        });
        Ok(())
    }

    /// Read a file (REW `.zma`/`.txt` or `.csv`) and make it the custom curve; on error
    /// nothing changes and the error names the file and line.
    pub fn import_file(&self, path: &std::path::Path) -> Result<(), LoadFileError> {
        // `parse_file` checks the size, the encoding and every line; the text it accepted
        // is then read again to be kept verbatim for the plugin state.
        let curve = crate::load::curve::parse_file(path)?;
        let text = std::fs::read_to_string(path).unwrap_or_else(|_| curve.to_zma());
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.store(CustomCurve {
            name,
            text,
            curve: Arc::new(curve),
        });
        Ok(())
    }

    fn store(&self, curve: CustomCurve) {
        let mut slot = self.0.curve.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = Some(curve);
        self.0.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Forget the curve.
    pub fn clear(&self) {
        let mut slot = self.0.curve.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = None;
        self.0.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes whenever the curve does (0: never set). Lock-free; audio-thread safe.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// The current curve and its generation (locks: not on the audio thread).
    pub fn get(&self) -> (u64, Option<CustomCurve>) {
        let slot = self.0.curve.lock().unwrap_or_else(PoisonError::into_inner);
        (self.generation(), slot.clone())
    }
}

macro_rules! builtin {
    ($($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../../presets/headphones/", $file)))),+]
    };
}

/// The built-in files, in the order of [`HEADPHONE_LABELS`] without "Resistive" and
/// "Custom (imported)".
const BUILTIN: &[(&str, &str)] = builtin![
    "campfire-andromeda-2020.toml",
    "64audio-u12t.toml",
    "final-e5000.toml",
    "tgxear-serratus.toml",
    "fiio-jd7.toml",
    "sennheiser-hd600.toml",
    "hifiman-edition-xs.toml",
    "fiio-jt7.toml",
    "crinear-protocol-max.toml",
    "truthear-pure.toml",
];

/// The built-in catalogue, parsed on first use (allocates: call it off the audio thread;
/// [`crate::Engine::prepare`] does). A broken built-in file is a build defect the tests
/// catch, so it panics here.
pub fn catalogue() -> &'static [Headphone] {
    static CATALOGUE: OnceLock<Vec<Headphone>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        BUILTIN
            .iter()
            .map(|(file, text)| {
                parse(text, &format!("presets/headphones/{file}")).unwrap_or_else(|e| panic!("{e}"))
            })
            .collect()
    })
}

/// The catalogue entry behind a `headphone` parameter index (`None` for "Resistive" and
/// "Custom (imported)").
pub fn by_index(index: usize) -> Option<&'static Headphone> {
    if index == HEADPHONE_RESISTIVE || index >= HEADPHONE_CUSTOM {
        return None;
    }
    let slot = if index > HEADPHONE_RESISTIVE {
        index - 1
    } else {
        index
    };
    catalogue().get(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::HEADPHONE_LABELS;

    #[test]
    fn catalogue_matches_the_parameter_labels() {
        assert_eq!(catalogue().len() + 2, HEADPHONE_LABELS.len());
        for (i, label) in HEADPHONE_LABELS.iter().enumerate() {
            match by_index(i) {
                Some(h) => assert_eq!(&h.name, label, "index {i}"),
                None => assert!(i == HEADPHONE_RESISTIVE || i == HEADPHONE_CUSTOM),
            }
        }
    }

    /// Where a nominal impedance is published, the model meets it at 1 kHz within 5 %
    /// (nominal figures are rounded and are not always quoted at 1 kHz).
    #[test]
    fn models_meet_their_nominal_impedance() {
        for h in catalogue() {
            let z = h.network.impedance(1000.0).norm();
            if let Some(nominal) = h.nominal_ohms {
                assert!(
                    (z / nominal - 1.0).abs() < 0.05,
                    "{}: |Z(1 kHz)| = {z:.2} Ω, nominal {nominal} Ω",
                    h.name
                );
            }
            assert!(h.modelled, "{}: every built-in curve is modelled", h.name);
        }
    }

    #[test]
    fn bad_files_name_the_file_and_line() {
        let good = BUILTIN[1].1;
        let cases: &[(String, usize, &str)] = &[
            (
                good.replace("nominal_ohms = 12.6", "nominal_ohms = -3.0"),
                6,
                "nominal_ohms",
            ),
            (format!("{good}\ncolour = \"red\"\n"), 0, "unknown field"),
            (
                good.replace("R(12.6) + L(20u)", "R(12.6) + Q(20u)"),
                0,
                "network",
            ),
            (good.replace("name = ", "name = 12 #"), 3, "invalid type"),
            ("".to_owned(), 0, "missing field"),
            ("\u{0}\u{1}binary junk".repeat(10_000), 0, "bytes"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text, "my.toml").unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("my.toml:"), "{shown}");
            assert!(shown.contains(needle), "{shown} should mention {needle}");
            if *line > 0 {
                assert_eq!(err.line, *line, "{shown}");
            }
        }
    }
}
