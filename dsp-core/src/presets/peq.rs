//! A headphone file's optional parametric EQ:
//!
//! ```toml
//! [peq]
//! source = "AutoEQ (github.com/jaakkopasanen/AutoEq), 'Sennheiser HD 600 ParametricEQ.txt'"
//! preamp_db = -6.3
//!
//! [[peq.band]]
//! type = "LSC"        # PK | LSC | HSC | LS | HS | LP | HP | BP | Notch | All-pass
//! freq_hz = 105
//! gain_db = 6.5       # optional (0): peaks and shelves
//! q = 0.70
//! on = true           # optional (true)
//! ```
//!
//! At most [`MAX_PEQ_BANDS`] bands (the engine's EQ has ten). Plain values: the PEQ stage
//! (`crate::peq`) designs the filters; the type names are EqualizerAPO's, as AutoEQ writes
//! them.

use serde::Deserialize;
use toml::Spanned;

use super::{Checker, PresetError};
use crate::choice::Choice;
use crate::peq::FilterType;

/// Band types: the labels of [`FilterType`], in the order of the `peq{n}_type` parameter.
pub const PEQ_BAND_TYPES: &[&str] = <FilterType as Choice>::LABELS;

/// Most bands a preset may carry.
pub const MAX_PEQ_BANDS: usize = 10;

/// A preset's PEQ.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetPeq {
    /// Where the profile comes from (e.g. an AutoEQ file), if stated.
    pub source: Option<String>,
    /// Gain before the bands (dB), −30…30.
    pub preamp_db: f64,
    /// Up to [`MAX_PEQ_BANDS`] bands, in file order.
    pub bands: Vec<PresetBand>,
}

/// One band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresetBand {
    /// Index in [`PEQ_BAND_TYPES`].
    pub kind: usize,
    /// Centre or corner frequency (Hz), 10…24 000.
    pub freq_hz: f64,
    /// Gain (dB), −30…30 (ignored by the types without gain).
    pub gain_db: f64,
    /// Quality factor, 0.1…40.
    pub q: f64,
    pub on: bool,
}

impl PresetBand {
    /// The type's name ([`PEQ_BAND_TYPES`]).
    pub fn kind_label(&self) -> &'static str {
        PEQ_BAND_TYPES[self.kind]
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeqFile {
    source: Option<Spanned<String>>,
    preamp_db: Spanned<f64>,
    #[serde(default)]
    band: Vec<Spanned<BandFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BandFile {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    freq_hz: Spanned<f64>,
    gain_db: Option<Spanned<f64>>,
    q: Spanned<f64>,
    on: Option<bool>,
}

/// Validate a parsed `[peq]` table.
pub(crate) fn validate(c: &Checker, raw: &PeqFile) -> Result<PresetPeq, PresetError> {
    if let Some(extra) = raw.band.get(MAX_PEQ_BANDS) {
        return Err(c.fail(
            extra.span(),
            format!("{} PEQ bands; at most {MAX_PEQ_BANDS}", raw.band.len()),
        ));
    }
    let source = match &raw.source {
        Some(s) if s.get_ref().trim().is_empty() => {
            return Err(c.fail(s.span(), "`peq.source` is empty"))
        }
        Some(s) => Some(s.get_ref().trim().to_owned()),
        None => None,
    };
    let preamp_db = c.num(&raw.preamp_db, "peq.preamp_db", -30.0, 30.0)?;
    let mut bands = Vec::with_capacity(raw.band.len());
    for band in &raw.band {
        let b = band.get_ref();
        bands.push(PresetBand {
            kind: c.label(&b.kind, "peq.band.type", PEQ_BAND_TYPES)?,
            freq_hz: c.num(&b.freq_hz, "peq.band.freq_hz", 10.0, 24_000.0)?,
            gain_db: b
                .gain_db
                .as_ref()
                .map_or(Ok(0.0), |g| c.num(g, "peq.band.gain_db", -30.0, 30.0))?,
            q: c.num(&b.q, "peq.band.q", 0.1, 40.0)?,
            on: b.on.unwrap_or(true),
        });
    }
    Ok(PresetPeq {
        source,
        preamp_db,
        bands,
    })
}
