//! Presets the user picks ("my headphone on that source"): any subset of the parameters,
//! with a name and metadata, and optionally an imported impedance curve.
//!
//! # File format (schema 1)
//! ```toml
//! schema = 1
//! name = "K7 + Andromeda"
//! author = "Sourcery"                       # optional
//! description = "What the listener hears."  # optional
//! tags = ["iem", "delta-sigma"]             # optional
//! basis = "Pairing from the K7 review."     # optional: what the preset rests on
//! headphone_peq = true  # optional: the chosen headphone's own PEQ (its AutoEQ profile),
//!                       # applied before [params], so [params] can still change a band
//!
//! [params]              # any subset, by frozen parameter id
//! device = "fiio-k7"    # enumerations: a label ("FiiO K7"), or for device, headphone and
//!                       # your_source the preset file's id
//! headphone = "campfire-andromeda-2020"
//! gain = "High"
//! volume = 50.0         # numbers within the parameter's range, never clamped
//! level_match = true    # switches as booleans
//!
//! [custom_load]         # optional: an imported impedance curve, kept verbatim
//! name = "my-iem.zma"   # .zma/.txt (REW) or .csv, as in the importer
//! curve = """
//! 20 8.1 -3
//! …"""
//! ```
//! Parsing is strict like every preset file: unknown keys, unknown parameters, values out
//! of range and labels that do not exist are errors naming the file and line; a file that
//! fails changes nothing.
//!
//! # Where presets come from
//! [`factory_presets`]: one per device voicing (R2R devices in OS and in NOS), one per
//! headphone with its own PEQ, and the source × headphone pairings in `presets/combos/`.
//! [`user_presets`] reads `presets/*.toml` in the user config folder
//! ([`user_preset_dir`]); [`save_user_preset`] writes one there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use toml::Spanned;

use super::{index, Catalogue, Checker, HeadphoneSlot, PresetError, SCHEMA};
use crate::dac::{ConverterKind, DacMode};
use crate::params::{ParamId, ParamKind, ParamValues, DEVICE_LABELS, HEADPHONE_LABELS};
use crate::settings::headphone_preset_values;

/// An imported impedance curve carried by a preset: the file name (its extension picks the
/// parser) and the text, verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetCurve {
    pub name: String,
    pub text: String,
}

/// A preset: metadata and the parameter values it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Stable key: the factory preset's id (`device/fiio-k7`, `headphone/…`, `combo/…`) or
    /// the user file's stem.
    pub id: String,
    pub name: String,
    pub author: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// What the preset rests on when that is an estimate or a reviewer's words.
    pub basis: Option<String>,
    /// The parameters it sets, in table order; every other parameter keeps its value.
    pub values: Vec<(ParamId, f32)>,
    pub custom_load: Option<PresetCurve>,
}

impl Preset {
    /// `values` with this preset's values set.
    pub fn apply_to(&self, values: &mut ParamValues) {
        for &(id, value) in &self.values {
            values.set(id, value);
        }
    }

    /// What a host shows about the preset (CLAP's description, LV2's `rdfs:comment`, the
    /// editor's tooltip): its description, then what it rests on.
    pub fn comment(&self) -> Option<String> {
        match (&self.description, &self.basis) {
            (Some(d), Some(b)) => Some(format!("{d}\nBasis: {b}")),
            (Some(d), None) => Some(d.clone()),
            (None, Some(b)) => Some(format!("Basis: {b}")),
            (None, None) => None,
        }
    }

    /// The value this preset sets for `id`, if it sets one.
    pub fn value(&self, id: ParamId) -> Option<f32> {
        self.values.iter().find(|(i, _)| *i == id).map(|&(_, v)| v)
    }

    /// A preset of every parameter in `values` (bypass aside: a preset never bypasses).
    pub fn from_values(name: &str, values: &ParamValues) -> Self {
        Self {
            id: slug(name),
            name: name.trim().to_owned(),
            author: None,
            description: None,
            tags: Vec::new(),
            basis: None,
            values: ParamId::ALL
                .iter()
                .filter(|&&id| id != ParamId::Bypass)
                .map(|&id| (id, values.get(id)))
                .collect(),
            custom_load: None,
        }
    }

    /// The preset as a schema-1 file that [`parse_preset`] reads back to the same values.
    pub fn to_toml(&self) -> String {
        let mut doc = toml::Table::new();
        doc.insert("schema".into(), SCHEMA.into());
        doc.insert("name".into(), self.name.clone().into());
        for (key, value) in [
            ("author", &self.author),
            ("description", &self.description),
            ("basis", &self.basis),
        ] {
            if let Some(value) = value {
                doc.insert(key.into(), value.clone().into());
            }
        }
        if !self.tags.is_empty() {
            doc.insert("tags".into(), self.tags.clone().into());
        }
        let mut params = toml::Table::new();
        for &(id, value) in &self.values {
            let spec = id.spec();
            let item: toml::Value = match spec.kind {
                // The f32 widened exactly; reading it back narrows to the same f32.
                ParamKind::Float { .. } => f64::from(value).into(),
                ParamKind::Int { .. } => i64::from(value as i32).into(),
                ParamKind::Bool { .. } => (value >= 0.5).into(),
                ParamKind::Enum { labels, .. } => {
                    let index = value as usize;
                    enum_ids(id)
                        .and_then(|ids| ids.get(index))
                        .or(labels.get(index))
                        .map_or_else(|| i64::from(value as i32).into(), |s| (*s).into())
                }
            };
            params.insert(spec.id.into(), item);
        }
        doc.insert("params".into(), params.into());
        if let Some(curve) = &self.custom_load {
            let mut table = toml::Table::new();
            table.insert("name".into(), curve.name.clone().into());
            table.insert("curve".into(), curve.text.clone().into());
            doc.insert("custom_load".into(), table.into());
        }
        format!(
            "# A Sourcery preset (schema {SCHEMA}); see the README, \"Presets\".\n{}",
            toml::to_string(&doc).unwrap_or_default()
        )
    }
}

/// Ids accepted for an enumeration beside its labels: the preset files' stems.
fn enum_ids(id: ParamId) -> Option<&'static [&'static str]> {
    match id {
        ParamId::Device | ParamId::YourSource => Some(index::DEVICE_IDS),
        ParamId::Headphone => Some(index::HEADPHONE_IDS),
        _ => None,
    }
}

/// A file-name-safe, lower-case form of `name` (`"K7 + Andromeda"` → `k7-andromeda`).
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "preset".to_owned()
    } else {
        out
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    #[allow(dead_code)]
    schema: i64,
    name: Spanned<String>,
    author: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    tags: Option<Spanned<Vec<String>>>,
    basis: Option<Spanned<String>>,
    headphone_peq: Option<Spanned<bool>>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<toml::Value>>,
    custom_load: Option<RawCurve>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCurve {
    name: Spanned<String>,
    curve: Spanned<String>,
}

/// Parse a preset file. `file` names it in errors; `id` becomes [`Preset::id`].
pub fn parse_preset(text: &str, file: &str, id: &str) -> Result<Preset, PresetError> {
    let check = Checker::new(text, file);
    check.preflight("preset")?;
    let raw: RawPreset = check.de(text)?;
    let text_field = |v: &Option<Spanned<String>>, key: &str| -> Result<_, PresetError> {
        match v {
            Some(v) if v.get_ref().chars().count() > 2000 => {
                Err(check.fail(v.span(), format!("`{key}` is longer than 2000 characters")))
            }
            Some(v) if v.get_ref().trim().is_empty() => {
                Err(check.fail(v.span(), format!("`{key}` is empty")))
            }
            Some(v) => Ok(Some(v.get_ref().trim().to_owned())),
            None => Ok(None),
        }
    };
    let mut values = ParamValues::default();
    let mut set: Vec<ParamId> = Vec::new();
    // Keys in file order, so the first bad line is the one reported.
    let mut params: Vec<_> = raw.params.iter().collect();
    params.sort_by_key(|(_, v)| v.span().start);
    let mut resolved = Vec::with_capacity(params.len());
    for (key, value) in params {
        let Some(id) = ParamId::from_id(key) else {
            return Err(check.fail(
                value.span(),
                format!("`{key}` is not a parameter id (see the README's parameter table)"),
            ));
        };
        resolved.push((id, param_value(&check, id, value)?));
    }
    if let Some(flag) = &raw.headphone_peq {
        if *flag.get_ref() {
            let slot = resolved
                .iter()
                .find(|(id, _)| *id == ParamId::Headphone)
                .map(|&(_, v)| HeadphoneSlot(v as usize))
                .ok_or_else(|| {
                    check.fail(flag.span(), "`headphone_peq` needs `headphone` in [params]")
                })?;
            let peq = headphone_preset_values(Catalogue::factory(), slot).ok_or_else(|| {
                check.fail(
                    flag.span(),
                    format!(
                        "{} is not a headphone preset (it has no PEQ)",
                        HEADPHONE_LABELS[slot.0]
                    ),
                )
            })?;
            for (id, value) in peq {
                values.set(id, value);
                set.push(id);
            }
        }
    }
    for (id, value) in resolved {
        values.set(id, value);
        set.push(id);
    }
    let custom_load = match &raw.custom_load {
        Some(curve) => {
            let name = check.name(&curve.name)?;
            let parsed = if name.to_ascii_lowercase().ends_with(".csv") {
                crate::load::curve::parse_csv(curve.curve.get_ref(), &name).map(drop)
            } else {
                crate::load::curve::parse_zma(curve.curve.get_ref(), &name).map(drop)
            };
            if let Err(e) = parsed {
                return Err(check.fail(
                    curve.curve.span(),
                    format!("the imported curve is not valid: {e}"),
                ));
            }
            Some(PresetCurve {
                name,
                text: curve.curve.get_ref().clone(),
            })
        }
        None => None,
    };
    Ok(Preset {
        id: id.to_owned(),
        name: check.name(&raw.name)?,
        author: text_field(&raw.author, "author")?,
        description: text_field(&raw.description, "description")?,
        tags: raw
            .tags
            .as_ref()
            .map(|t| check.texts(t, "tags"))
            .transpose()?
            .unwrap_or_default(),
        basis: text_field(&raw.basis, "basis")?,
        values: ParamId::ALL
            .iter()
            .filter(|id| set.contains(id))
            .map(|&id| (id, values.get(id)))
            .collect(),
        custom_load,
    })
}

/// One `[params]` entry as the plain value the engine reads; out of range is an error.
fn param_value(
    check: &Checker,
    id: ParamId,
    value: &Spanned<toml::Value>,
) -> Result<f32, PresetError> {
    let spec = id.spec();
    let key = spec.id;
    let wrong = |what: &str| check.fail(value.span(), format!("`{key}` must be {what}"));
    match (spec.kind, value.get_ref()) {
        (ParamKind::Float { min, max, .. }, toml::Value::Float(_) | toml::Value::Integer(_)) => {
            let x = match value.get_ref() {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                _ => unreachable!(),
            };
            let v = Spanned::new(value.span(), x);
            check.num(&v, key, f64::from(min), f64::from(max))?;
            Ok(x as f32)
        }
        (ParamKind::Float { min, max, .. }, _) => Err(wrong(&format!("a number, {min} … {max}"))),
        (ParamKind::Int { min, max, .. }, toml::Value::Integer(i)) => {
            let v = Spanned::new(value.span(), *i);
            Ok(check.int(&v, key, i64::from(min), i64::from(max))? as f32)
        }
        (ParamKind::Int { min, max, .. }, _) => Err(wrong(&format!("an integer, {min} … {max}"))),
        (ParamKind::Bool { .. }, toml::Value::Boolean(b)) => Ok(f32::from(u8::from(*b))),
        (ParamKind::Bool { .. }, _) => Err(wrong("true or false")),
        (ParamKind::Enum { labels, .. }, toml::Value::String(s)) => {
            if let Some(i) = enum_ids(id).and_then(|ids| ids.iter().position(|x| x == s)) {
                return Ok(i as f32);
            }
            let v = Spanned::new(value.span(), s.clone());
            Ok(check.label(&v, key, labels)? as f32)
        }
        (ParamKind::Enum { labels, .. }, _) => Err(wrong(&format!(
            "one of {}",
            labels
                .iter()
                .map(|l| format!("{l:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Read and parse one preset file; the id is its stem.
pub fn read_preset(path: &Path) -> Result<Preset, PresetError> {
    let text = super::read_preset_file(path)?;
    let id = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    parse_preset(&text, &path.display().to_string(), &id)
}

/// The factory presets, in a stable order: the device voicings, the headphones with their
/// own PEQ, then the pairings of `presets/combos/`.
pub fn factory_presets() -> &'static [Preset] {
    static FACTORY: OnceLock<Vec<Preset>> = OnceLock::new();
    FACTORY.get_or_init(|| {
        let catalogue = Catalogue::factory();
        let mut presets = Vec::new();
        for (slot, label) in DEVICE_LABELS.iter().enumerate() {
            let id = index::DEVICE_IDS[slot];
            let device = catalogue.device(super::DeviceSlot(slot));
            let r2r = device.is_some_and(|d| matches!(d.dac.converter, ConverterKind::R2r(_)));
            let modes: &[DacMode] = if r2r {
                &[DacMode::Os, DacMode::Nos]
            } else {
                &[DacMode::Os]
            };
            for &mode in modes {
                let (name, pid) = if r2r {
                    (
                        format!("{label} ({})", mode.label()),
                        format!("device/{id}/{}", mode.label().to_ascii_lowercase()),
                    )
                } else {
                    ((*label).to_owned(), format!("device/{id}"))
                };
                presets.push(Preset {
                    id: pid,
                    name,
                    author: Some("Sourcery".into()),
                    description: Some(format!(
                        "The {label} as the source{}; headphone and PEQ unchanged.",
                        if r2r {
                            format!(", {} mode", mode.label())
                        } else {
                            String::new()
                        }
                    )),
                    tags: vec!["device".into()],
                    basis: device.and_then(device_basis),
                    values: vec![
                        (ParamId::Device, slot as f32),
                        (ParamId::DacMode, mode.index() as f32),
                    ],
                    custom_load: None,
                });
            }
        }
        for (slot, label) in HEADPHONE_LABELS.iter().enumerate() {
            let Some(values) = headphone_preset_values(catalogue, HeadphoneSlot(slot)) else {
                continue;
            };
            let headphone = catalogue.headphone(HeadphoneSlot(slot));
            let with_peq = headphone.is_some_and(|h| h.peq.is_some());
            presets.push(Preset {
                id: format!("headphone/{}", index::HEADPHONE_IDS[slot]),
                name: (*label).to_owned(),
                author: Some("Sourcery".into()),
                description: Some(if with_peq {
                    format!("{label} as the load, with its own PEQ (AutoEQ profile).")
                } else {
                    format!("{label} as the load, PEQ flat.")
                }),
                tags: vec!["headphone".into()],
                basis: headphone
                    .filter(|h| h.modelled)
                    .map(|_| "Impedance curve modelled, not measured.".to_owned()),
                values,
                custom_load: None,
            });
        }
        for (file, text) in index::FACTORY_COMBOS {
            let stem = Path::new(file)
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            match parse_preset(text, file, &format!("combo/{stem}")) {
                Ok(preset) => presets.push(preset),
                // The build's tests parse every factory file; this cannot happen in a
                // tested build.
                Err(e) => panic!("factory preset: {e}"),
            }
        }
        presets
    })
}

/// What a device preset rests on, when some of its voicing is an estimate or a reviewer's
/// words (the device file says which).
fn device_basis(device: &super::DeviceVoicing) -> Option<String> {
    let mut parts = Vec::new();
    if !device.estimates.is_empty() {
        parts.push(format!(
            "{} value(s) of the voicing are estimates ({})",
            device.estimates.len(),
            device.file
        ));
    }
    if device.from_reviewer_words {
        parts.push("part of the voicing rests on a reviewer's words".to_owned());
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Where the factory presets are written as files for hosts' preset browsers:
/// `$SOURCERY_DATA_DIR/factory-presets`, else `$XDG_DATA_HOME/sourcery/factory-presets`, else
/// `~/.local/share/sourcery/factory-presets` (`~/Library/Application Support/Sourcery/…` on
/// macOS, `%LOCALAPPDATA%\Sourcery\…` on Windows).
pub fn factory_preset_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = var("SOURCERY_DATA_DIR").or_else(|| {
        if cfg!(target_os = "macos") {
            var("HOME").map(|h| h.join("Library/Application Support/Sourcery"))
        } else if cfg!(windows) {
            var("LOCALAPPDATA").map(|d| d.join("Sourcery"))
        } else {
            var("XDG_DATA_HOME")
                .map(|d| d.join("sourcery"))
                .or_else(|| var("HOME").map(|h| h.join(".local/share/sourcery")))
        }
    })?;
    Some(base.join("factory-presets"))
}

/// A factory preset's file, relative to [`factory_preset_dir`]: a folder per kind
/// (`devices/`, `headphones/`, `pairings/`), then the rest of its id.
pub fn factory_file(preset: &Preset) -> PathBuf {
    let (kind, rest) = preset.id.split_once('/').unwrap_or(("other", &preset.id));
    let folder = match kind {
        "device" => "devices",
        "headphone" => "headphones",
        "combo" => "pairings",
        other => other,
    };
    Path::new(folder).join(format!("{}.toml", slug(rest)))
}

/// Write every factory preset as a file under `dir` ([`factory_file`]), rewriting only
/// files whose text differs (each through a temporary file and a rename, so a reader never
/// sees half a file) and removing `.toml` files no factory preset has any more. Returns the
/// files.
pub fn install_factory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for preset in factory_presets() {
        let path = dir.join(factory_file(preset));
        let text = format!(
            "# Factory preset of Sourcery {}, written by the plugin for hosts' preset \
             browsers;\n# it is rewritten when it differs from the plugin's. Save your own \
             presets in the user folder.\n{}",
            env!("CARGO_PKG_VERSION"),
            preset.to_toml()
        );
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            let parent = path.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent)?;
            let tmp = parent.join(format!(
                ".{}.{}.tmp",
                path.file_name().unwrap_or_default().to_string_lossy(),
                std::process::id()
            ));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, &path)?;
        }
        written.push(path);
    }
    for folder in ["devices", "headphones", "pairings"] {
        for entry in std::fs::read_dir(dir.join(folder))
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") && !written.contains(&path) {
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(written)
}

/// The user preset folder: `presets/` in [`super::user_config_dir`].
pub fn user_preset_dir() -> Option<PathBuf> {
    super::user_config_dir().map(|d| d.join("presets"))
}

/// The user presets in `dir` (`*.toml`, sorted by file name), and the files that failed.
pub fn user_presets(dir: &Path) -> (Vec<Preset>, Vec<PresetError>) {
    let mut presets = Vec::new();
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (presets, errors);
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    for path in paths {
        match read_preset(&path) {
            Ok(preset) => presets.push(preset),
            Err(e) => errors.push(e),
        }
    }
    (presets, errors)
}

/// Write `preset` into `dir` as `{slug(name)}.toml` (creating `dir`); an existing file of
/// that name is replaced only with `overwrite`. The text is written to a temporary file and
/// renamed, so a failure leaves no partial preset. Returns the path.
pub fn save_user_preset(
    dir: &Path,
    preset: &Preset,
    overwrite: bool,
) -> Result<PathBuf, std::io::Error> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}.toml", slug(&preset.name)));
    if path.exists() && !overwrite {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} exists; choose another name or overwrite",
                path.display()
            ),
        ));
    }
    let text = preset.to_toml();
    // Refuse to write what we could not read back.
    parse_preset(&text, &path.display().to_string(), &preset.id)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let tmp = dir.join(format!(".{}.toml.tmp", slug(&preset.name)));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Preset, PresetError> {
        parse_preset(text, "p.toml", "p")
    }

    /// The error's line and that its message contains `needle`.
    fn fails_at(text: &str, line: usize, needle: &str) {
        let e = parse(text).expect_err("a bad file must be refused");
        assert_eq!((e.file.as_str(), e.line), ("p.toml", line), "{e}");
        assert!(e.message.contains(needle), "{e}");
    }

    #[test]
    fn factory_presets_cover_devices_headphones_and_the_review_pairings() {
        let presets = factory_presets();
        let devices = presets
            .iter()
            .filter(|p| p.id.starts_with("device/"))
            .count();
        // Every device, the two R2R ones twice (OS and NOS).
        assert_eq!(devices, DEVICE_LABELS.len() + 2);
        let headphones = presets
            .iter()
            .filter(|p| p.id.starts_with("headphone/"))
            .count();
        assert_eq!(headphones, HEADPHONE_LABELS.len() - 2);
        let combos: Vec<_> = presets
            .iter()
            .filter(|p| p.id.starts_with("combo/"))
            .collect();
        assert!(combos.len() >= 5, "{}", combos.len());
        let mut ids: Vec<_> = presets.iter().map(|p| &p.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), presets.len(), "ids are unique");
        // Every combo says what it rests on.
        assert!(combos.iter().all(|p| p.basis.is_some()));
    }

    #[test]
    fn k7_andromeda_sets_the_k7_the_andromeda_and_its_autoeq_profile() {
        let preset = factory_presets()
            .iter()
            .find(|p| p.name == "K7 + Andromeda")
            .expect("factory combo");
        let andromeda = HeadphoneSlot::by_id("campfire-andromeda-2020").unwrap();
        assert_eq!(
            preset.value(ParamId::Device),
            Some(super::super::DeviceSlot::by_id("fiio-k7").unwrap().0 as f32)
        );
        assert_eq!(preset.value(ParamId::Headphone), Some(andromeda.0 as f32));
        assert_eq!(preset.value(ParamId::Gain), Some(0.0));
        for (id, value) in headphone_preset_values(Catalogue::factory(), andromeda).unwrap() {
            assert_eq!(preset.value(id), Some(value), "{}", id.spec().id);
        }
        // The first band is AutoEQ's 105 Hz low shelf, +4.1 dB.
        assert_eq!(
            preset.value(ParamId::band(0, crate::params::BandField::Freq)),
            Some(105.0)
        );
        assert_eq!(preset.value(ParamId::PeqPreamp), Some(-6.3));
        // Nothing else: the output, volume and your chain keep the user's values.
        assert_eq!(preset.value(ParamId::Volume), None);
        assert_eq!(preset.value(ParamId::YourSource), None);
    }

    #[test]
    fn a_saved_preset_reads_back_to_the_same_values_bit_for_bit() {
        let mut values = ParamValues::default();
        values.set(ParamId::Volume, 37.123_455);
        values.set(ParamId::OutputTrim, -3.3);
        values.set(ParamId::Device, 2.0);
        values.set(ParamId::Headphone, HeadphoneSlot::CUSTOM.0 as f32);
        values.set(ParamId::R2rSeed, 4242.0);
        values.set_bool(ParamId::LevelMatch, false);
        values.set(ParamId::band(3, crate::params::BandField::Q), 0.691_234_5);
        let mut preset = Preset::from_values("My K13 + \"HD600\"", &values);
        preset.description = Some("Two lines\nof text".into());
        preset.tags = vec!["mine".into()];
        preset.custom_load = Some(PresetCurve {
            name: "x.zma".into(),
            text: "20 30 0\n1000 32 5\n20000 40 10\n".into(),
        });
        let text = preset.to_toml();
        let back = parse_preset(&text, "saved.toml", &preset.id).unwrap();
        assert_eq!(back, preset);
        let mut restored = ParamValues::default();
        back.apply_to(&mut restored);
        for &id in ParamId::ALL {
            if id != ParamId::Bypass {
                assert_eq!(
                    restored.get(id).to_bits(),
                    values.get(id).to_bits(),
                    "{}",
                    id.spec().id
                );
            }
        }
    }

    #[test]
    fn factory_files_read_back_to_the_factory_presets_and_stale_files_go() {
        let dir =
            std::env::temp_dir().join(format!("sourcery-factory-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pairings")).unwrap();
        std::fs::write(dir.join("pairings/old.toml"), "schema = 1").unwrap();
        let files = install_factory_files(&dir).unwrap();
        assert_eq!(files.len(), factory_presets().len());
        assert!(!dir.join("pairings/old.toml").exists());
        assert!(dir.join("pairings/k7-andromeda.toml").exists());
        assert!(dir.join("devices/fiio-k13-r2r-nos.toml").exists());
        for (file, preset) in files.iter().zip(factory_presets()) {
            let back = read_preset(file).unwrap();
            assert_eq!(back.name, preset.name);
            assert_eq!(back.values, preset.values, "{}", preset.id);
            assert_eq!(back.basis, preset.basis);
        }
        // A second install rewrites nothing.
        let before = std::fs::metadata(&files[0]).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        install_factory_files(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().modified().unwrap(),
            before
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn labels_and_ids_both_name_a_device() {
        let by_label = parse("schema = 1\nname = \"a\"\n[params]\ndevice = \"FiiO K7\"\n").unwrap();
        let by_id = parse("schema = 1\nname = \"a\"\n[params]\ndevice = \"fiio-k7\"\n").unwrap();
        assert_eq!(by_label.values, by_id.values);
    }

    #[test]
    fn bad_files_are_refused_with_their_line() {
        let head = "schema = 1\nname = \"x\"\n[params]\n";
        fails_at(
            &format!("{head}volume = 50\nvolumme = 3\n"),
            5,
            "not a parameter id",
        );
        fails_at(&format!("{head}volume = 500\n"), 4, "outside");
        fails_at(&format!("{head}gain = \"Loud\"\n"), 4, "not one of");
        fails_at(&format!("{head}level_match = 1\n"), 4, "true or false");
        fails_at(&format!("{head}r2r_seed = 1.5\n"), 4, "an integer");
        fails_at(&format!("{head}volume = \"high\"\n"), 4, "a number");
        fails_at("schema = 1\nname = \"x\"\ncolour = 1\n", 3, "unknown field");
        fails_at("schema = 2\nname = \"x\"\n", 1, "schema 2 is not supported");
        fails_at("name = \"x\"\n", 1, "missing `schema");
        fails_at("schema = 1\nname = \"\"\n", 2, "empty");
        fails_at(
            "schema = 1\nname = \"x\"\nheadphone_peq = true\n",
            3,
            "needs `headphone`",
        );
        fails_at(
            "schema = 1\nname = \"x\"\n[custom_load]\nname = \"c.zma\"\ncurve = \"\"\"\n20 abc 0\n\"\"\"\n",
            5,
            "not valid",
        );
        fails_at("schema = 1\nname = \"x\"\n[params\n", 3, "");
    }

    #[test]
    fn user_folder_saves_lists_and_skips_bad_files() {
        let dir =
            std::env::temp_dir().join(format!("sourcery-user-presets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut values = ParamValues::default();
        values.set(ParamId::Volume, 61.0);
        let preset = Preset::from_values("Night listening", &values);
        let path = save_user_preset(&dir, &preset, false).unwrap();
        assert_eq!(path, dir.join("night-listening.toml"));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let again = save_user_preset(&dir, &preset, false).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        save_user_preset(&dir, &preset, true).unwrap();
        std::fs::write(
            dir.join("broken.toml"),
            "schema = 1\nname = \"b\"\n[params]\nvolume = -4\n",
        )
        .unwrap();
        let (presets, errors) = user_presets(&dir);
        assert_eq!(presets.len(), 1);
        assert_eq!(presets[0].id, "night-listening");
        assert_eq!(presets[0].value(ParamId::Volume), Some(61.0));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .ends_with("broken.toml:4: `volume` = -4 is outside 0 … 100"),
            "{}",
            errors[0]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
