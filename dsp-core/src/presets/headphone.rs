//! Headphone files: `presets/headphones/*.toml`, schema 1, one file per model.
//!
//! Each file names the model and its `slot` in the `headphone` parameter, gives the
//! published figures it rests on (and where they come from) and the impedance as a lumped
//! network ([`Network`]); a curve that is modelled rather than measured says so
//! (`modelled = true`) and writes its assumptions in the file. A file may carry a
//! parametric EQ (`[peq]`, e.g. an AutoEQ profile, [`PresetPeq`]). [`parse`] reads a
//! factory or a user's file and names the file and line of any error.

use serde::Deserialize;
use toml::Spanned;

use super::index::{HEADPHONE_CUSTOM, HEADPHONE_LABELS, HEADPHONE_RESISTIVE};
use super::peq::PeqFile;
use super::{Checker, PresetError, PresetPeq};
use crate::amp::spl::Sensitivity;
use crate::load::network::Network;

/// What kind of transducer it is (for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Iem,
    Earbud,
    Headphone,
}

/// A headphone file as written (every field checked, unknown fields rejected).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadphoneFile {
    #[allow(dead_code)]
    schema: i64,
    name: Spanned<String>,
    slot: Spanned<i64>,
    kind: Kind,
    drivers: String,
    nominal_ohms: Option<Spanned<f64>>,
    sensitivity_db_per_mw: Option<Spanned<f64>>,
    sensitivity_db_per_v: Option<Spanned<f64>>,
    figures: String,
    modelled: Spanned<bool>,
    assumptions: Option<String>,
    network: Spanned<String>,
    peq: Option<PeqFile>,
}

/// One headphone of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Headphone {
    pub name: String,
    /// Index in the `headphone` parameter (never a reserved slot, see [`HeadphoneSlot`]).
    ///
    /// [`HeadphoneSlot`]: super::HeadphoneSlot
    pub slot: usize,
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
    /// A parametric EQ for this headphone (e.g. an AutoEQ profile), if the file has one.
    pub peq: Option<PresetPeq>,
}

/// Parse a headphone file (schema 1, see [`crate::presets`]); `file` names it in errors.
///
/// Keys: `schema = 1`, `name`, `slot` (0…255, not a reserved slot), `kind` (iem | earbud |
/// headphone), `drivers`, optional `nominal_ohms` (0…100 000), `sensitivity_db_per_mw`
/// (40…160) or `sensitivity_db_per_v` (40…180), `figures` (their sources), `modelled`,
/// `assumptions` (required when modelled), `network` ([`Network::parse`]) and an optional
/// `[peq]` ([`crate::presets::peq`]).
pub fn parse(text: &str, file: &str) -> Result<Headphone, PresetError> {
    let c = Checker::new(text, file);
    c.preflight("headphone")?;
    let raw: HeadphoneFile = c.de(text)?;
    let name = c.name(&raw.name)?;
    let slot = c.slot(&raw.slot)?;
    if slot == HEADPHONE_RESISTIVE || slot == HEADPHONE_CUSTOM {
        return Err(c.fail(
            raw.slot.span(),
            format!("slot {slot} is reserved for {:?}", HEADPHONE_LABELS[slot]),
        ));
    }
    let nominal_ohms = c.opt_num(&raw.nominal_ohms, "nominal_ohms", 1e-3, 100_000.0)?;
    let per_mw = c.opt_num(
        &raw.sensitivity_db_per_mw,
        "sensitivity_db_per_mw",
        40.0,
        160.0,
    )?;
    let per_v = c.opt_num(
        &raw.sensitivity_db_per_v,
        "sensitivity_db_per_v",
        40.0,
        180.0,
    )?;
    let sensitivity = match (per_mw, per_v) {
        (Some(_), Some(_)) => {
            let span = raw.sensitivity_db_per_v.as_ref().map_or(0..0, |v| v.span());
            return Err(c.fail(span, "give sensitivity in dB/mW or in dB/V, not both"));
        }
        (Some(s), None) => Some(Sensitivity::DbPerMw(s)),
        (None, Some(s)) => Some(Sensitivity::DbPerV(s)),
        (None, None) => None,
    };
    let assumptions = raw.assumptions.unwrap_or_default();
    let modelled = *raw.modelled.get_ref();
    if modelled && assumptions.trim().is_empty() {
        return Err(c.fail(
            raw.modelled.span(),
            "a modelled curve must write its `assumptions`",
        ));
    }
    let network = Network::parse(raw.network.get_ref())
        .map_err(|e| c.fail(raw.network.span(), format!("`network`: {e}")))?;
    let peq = raw
        .peq
        .as_ref()
        .map(|p| super::peq::validate(&c, p))
        .transpose()?;
    Ok(Headphone {
        name,
        slot,
        kind: raw.kind,
        drivers: raw.drivers,
        nominal_ohms,
        sensitivity,
        figures: raw.figures,
        modelled,
        assumptions,
        network,
        peq,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::Catalogue;

    fn catalogue() -> &'static [Headphone] {
        Catalogue::factory().headphones()
    }

    fn by_index(slot: usize) -> Option<&'static Headphone> {
        Catalogue::factory().headphone(crate::presets::HeadphoneSlot(slot))
    }

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
        // 64 Audio U12T (slot 2; slot 1 is "Resistive").
        let good = crate::presets::index::FACTORY_HEADPHONES[1].1;
        let line_of = |needle: &str| {
            good.lines()
                .position(|l| l.starts_with(needle))
                .expect("key in the file")
                + 1
        };
        let lines = good.lines().count();
        let cases: &[(String, usize, &str)] = &[
            (
                good.replace("nominal_ohms = 12.6", "nominal_ohms = -3.0"),
                line_of("nominal_ohms"),
                "nominal_ohms",
            ),
            (
                format!("{good}\ncolour = \"red\"\n"),
                lines + 2,
                "unknown field",
            ),
            (
                good.replace("R(12.6) + L(20u)", "R(12.6) + Q(20u)"),
                line_of("network"),
                "network",
            ),
            (
                good.replace("name = ", "name = 12 #"),
                line_of("name"),
                "invalid type",
            ),
            (
                good.replace("slot = 2", "slot = 11"),
                line_of("slot"),
                "reserved",
            ),
            ("".to_owned(), 1, "missing `schema"),
            ("\u{0}\u{1}binary junk".repeat(10_000), 0, "bytes"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text, "my.toml").unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with("my.toml:"), "{shown}");
            assert!(shown.contains(needle), "{shown} should mention {needle}");
            assert!(err.line >= 1, "{shown}");
            if *line > 0 {
                assert_eq!(err.line, *line, "{shown}");
            }
        }
    }

    /// The AutoEQ profiles in the catalogue are the AutoEQ files' numbers, band for band.
    #[test]
    fn autoeq_profiles_match_their_files() {
        let hd600 = catalogue()
            .iter()
            .find(|h| h.name == "Sennheiser HD600")
            .and_then(|h| h.peq.as_ref())
            .expect("HD600 has a PEQ");
        assert_eq!(hd600.preamp_db, -6.3);
        assert_eq!(hd600.bands.len(), 10);
        let first = hd600.bands[0];
        assert_eq!(
            (
                first.kind_label(),
                first.freq_hz,
                first.gain_db,
                first.q,
                first.on
            ),
            ("LSC", 105.0, 6.5, 0.70, true)
        );
        let last = hd600.bands[9];
        assert_eq!(
            (last.kind_label(), last.freq_hz, last.gain_db, last.q),
            ("PK", 5434.0, -1.2, 5.70)
        );
        let with_peq: Vec<&str> = catalogue()
            .iter()
            .filter(|h| h.peq.is_some())
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(
            with_peq,
            [
                "Campfire Andromeda 2020",
                "Final E5000",
                "Sennheiser HD600",
                "HIFIMAN Edition XS"
            ]
        );
    }
}
