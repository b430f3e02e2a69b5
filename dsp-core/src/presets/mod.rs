//! Presets as data: the sources ("devices": DAC + amp voicings) and the headphones are TOML
//! files, compiled in from `presets/devices/` and `presets/headphones/`, plus the user's own
//! files from the config folder.
//!
//! # Files
//! Every file carries `schema = 1` (a later, incompatible layout gets a new number; a file
//! with a number this build does not know is refused, never half-read), a `name`, and a
//! `slot`: its index in the host-visible `device` / `headphone` parameter. Hosts store the
//! index, so slots are frozen: a new factory file takes the next free slot. `build.rs` reads
//! only `name` and `slot` of every factory file, checks the slots are unique and contiguous
//! (headphone slots [`HeadphoneSlot::RESISTIVE`] and [`HeadphoneSlot::CUSTOM`] are reserved
//! for "Resistive" and "Custom (imported)") and generates the parameter labels, the ids (the
//! files' stems) and the embedded file list (`$OUT_DIR/presets_index.rs`). Adding a factory
//! device or headphone is one file; no Rust changes: a device's published figures are in
//! its file too (`[[published]]`, [`device::Published`]), and the conformance table judges
//! every row it finds.
//!
//! Parsing is strict (validate at the edge, STYLE.md §4): serde with `deny_unknown_fields`,
//! then every value range-checked and every label checked against the labels the engine
//! knows (every enumeration's [`Choice::LABELS`], the volume laws, the gain-step kinds, the
//! PEQ band types). Every error is a [`PresetError`], shown as
//! `"{file}:{line}: {reason}"`.
//!
//! The device schema is in [`device`](mod@device) (its docs have an example); headphones
//! are parsed by [`headphone::parse`], their optional PEQ by [`peq`](mod@peq).
//!
//! # The catalogue
//! A [`Catalogue`] holds the devices and headphones a process uses. The engine is handed
//! one when it is built and gives it to its rebuild worker: nothing on the audio thread
//! reads a preset list.
//!
//! # User presets
//! [`user_config_dir`] is `$SOURCERY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/sourcery`, else
//! `~/.config/sourcery`. [`load_user_presets`] reads `devices/*.toml` and `headphones/*.toml`
//! there, in the same schema as the factory files. A bad file is reported and skipped;
//! nothing else changes. The rules (checked when loading):
//! - a user file whose `name` equals a factory preset's **overrides** it; its `slot` must be
//!   that preset's slot (so a host session that stored the index gets the override);
//! - a user file with a new `name` is an **extra** preset; its `slot` must not be a factory
//!   slot (nor a reserved headphone slot) nor another user file's. Extras are not in the
//!   host's parameter lists (those are fixed at build time); the CLI and the editor list
//!   them from [`Catalogue::devices`] / [`Catalogue::headphones`], and a chain can be built
//!   from any [`DeviceVoicing`]. Copying an extra into `presets/` makes it a factory preset
//!   with no other change.
//!
//! User files take effect through [`install_user_presets`] (or [`install_from_config_dir`]),
//! which the plugin calls once, before the first engine is built: [`Catalogue::active`] is
//! then fixed for the process's lifetime. Without that call it is [`Catalogue::factory`]
//! (as in every test); [`Catalogue::with_user`] builds one from any user files without
//! touching the process's.
//!
//! [`Choice::LABELS`]: crate::choice::Choice::LABELS

pub mod device;
pub mod headphone;
pub mod lv2;
pub mod peq;
pub mod preset;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use toml::Spanned;

use crate::choice::Choice;

pub use device::{parse_device, DeviceVoicing, Published, ReviewerWords};
pub use headphone::Headphone;
pub use peq::{PresetBand, PresetPeq, MAX_PEQ_BANDS, PEQ_BAND_TYPES};
pub use preset::{
    factory_file, factory_preset_dir, factory_presets, install_factory_files, parse_preset,
    read_preset, save_user_preset, user_preset_dir, user_presets, Preset, PresetCurve,
};

/// What `build.rs` generated from `presets/`: the parameter labels and ids in slot order and
/// the embedded factory files.
pub mod index {
    include!(concat!(env!("OUT_DIR"), "/presets_index.rs"));
}

/// The schema version this build reads.
pub const SCHEMA: i64 = 1;

/// Largest preset file we read (bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Largest slot a preset may claim (parameter lists stay far below this).
pub const MAX_SLOT: i64 = 255;

/// A preset file that could not be read: the file, the line (1-based; problems with the
/// whole file, such as a missing key, name line 1) and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct PresetError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Checks values of one file and turns spans into lines.
pub(crate) struct Checker<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl<'a> Checker<'a> {
    pub fn new(text: &'a str, file: &'a str) -> Self {
        Self { file, text }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        line_of_offset(self.text.as_bytes(), offset)
    }

    pub fn fail(&self, span: Range<usize>, message: impl Into<String>) -> PresetError {
        PresetError {
            file: self.file.to_owned(),
            line: self.line(span.start),
            message: message.into(),
        }
    }

    /// The size limit and the schema version, before the full parse (so that a file of a
    /// later schema is refused for its version, not for a key this build does not know).
    pub fn preflight(&self, what: &str) -> Result<(), PresetError> {
        if self.text.len() > MAX_FILE_BYTES {
            return Err(self.fail(
                MAX_FILE_BYTES..MAX_FILE_BYTES,
                format!(
                    "file is {} bytes; a {what} file is at most {MAX_FILE_BYTES} (64 KiB), \
                     passed on this line",
                    self.text.len()
                ),
            ));
        }
        #[derive(serde::Deserialize)]
        struct Version {
            schema: Option<Spanned<toml::Value>>,
        }
        let version: Version = self.de(self.text)?;
        let Some(schema) = version.schema else {
            return Err(self.fail(0..0, format!("missing `schema = {SCHEMA}`")));
        };
        match schema.get_ref().as_integer() {
            Some(SCHEMA) => Ok(()),
            Some(n) => Err(self.fail(
                schema.span(),
                format!("schema {n} is not supported: this build reads schema {SCHEMA}"),
            )),
            None => Err(self.fail(
                schema.span(),
                format!("`schema` must be the integer {SCHEMA}"),
            )),
        }
    }

    /// Deserialize, naming the line of any error.
    pub fn de<T: serde::de::DeserializeOwned>(&self, text: &str) -> Result<T, PresetError> {
        toml::from_str(text).map_err(|e| {
            let start = e.span().map_or(0, |s| s.start);
            self.fail(start..start, e.message().trim_end().to_owned())
        })
    }

    /// A number within `lo..=hi` (finite unless a bound is infinite).
    pub fn num(&self, v: &Spanned<f64>, key: &str, lo: f64, hi: f64) -> Result<f64, PresetError> {
        let x = *v.get_ref();
        if x.is_nan() || x < lo || x > hi {
            Err(self.fail(v.span(), format!("`{key}` = {x} is outside {lo} … {hi}")))
        } else {
            Ok(x)
        }
    }

    /// An optional number within `lo..=hi`.
    pub fn opt_num(
        &self,
        v: &Option<Spanned<f64>>,
        key: &str,
        lo: f64,
        hi: f64,
    ) -> Result<Option<f64>, PresetError> {
        v.as_ref().map(|v| self.num(v, key, lo, hi)).transpose()
    }

    /// An integer within `lo..=hi`.
    pub fn int(&self, v: &Spanned<i64>, key: &str, lo: i64, hi: i64) -> Result<i64, PresetError> {
        let x = *v.get_ref();
        if (lo..=hi).contains(&x) {
            Ok(x)
        } else {
            Err(self.fail(v.span(), format!("`{key}` = {x} is outside {lo} … {hi}")))
        }
    }

    /// The index of a label in `labels` (exact match).
    pub fn label(
        &self,
        v: &Spanned<String>,
        key: &str,
        labels: &[&str],
    ) -> Result<usize, PresetError> {
        labels
            .iter()
            .position(|l| *l == v.get_ref().as_str())
            .ok_or_else(|| {
                self.fail(
                    v.span(),
                    format!(
                        "`{key}` = {:?} is not one of {}",
                        v.get_ref(),
                        labels
                            .iter()
                            .map(|l| format!("{l:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    /// The value of an enumeration whose label is `v` (exact match).
    pub fn choice<T: Choice>(&self, v: &Spanned<String>, key: &str) -> Result<T, PresetError> {
        self.label(v, key, T::LABELS).map(T::from_index)
    }

    /// A display name: not empty, at most 64 characters, one line.
    pub fn name(&self, v: &Spanned<String>) -> Result<String, PresetError> {
        let name = v.get_ref().trim();
        if name.is_empty() {
            return Err(self.fail(v.span(), "`name` is empty"));
        }
        if name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(self.fail(v.span(), "`name` must be one line of at most 64 characters"));
        }
        Ok(name.to_owned())
    }

    /// A slot within `0..=MAX_SLOT`.
    pub fn slot(&self, v: &Spanned<i64>) -> Result<usize, PresetError> {
        Ok(self.int(v, "slot", 0, MAX_SLOT)? as usize)
    }

    /// A list of non-empty strings (at most 64 of them).
    pub fn texts(&self, v: &Spanned<Vec<String>>, key: &str) -> Result<Vec<String>, PresetError> {
        if v.get_ref().len() > 64 {
            return Err(self.fail(v.span(), format!("`{key}` has more than 64 entries")));
        }
        if v.get_ref().iter().any(|s| s.trim().is_empty()) {
            return Err(self.fail(v.span(), format!("`{key}` has an empty entry")));
        }
        Ok(v.get_ref().iter().map(|s| s.trim().to_owned()).collect())
    }
}

/// 1-based line of byte `offset` in `bytes`.
fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A `&'static str` for `s`, leaked once per distinct text (a bounded pool: the factory
/// files, parsed once, and the user's files; reloading the same files leaks nothing new).
/// [`AmpSpec`] keeps its texts as `&'static str` so that it stays `Copy` and can travel in
/// a stage request.
pub(crate) fn intern(s: &str) -> &'static str {
    static POOL: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut pool = POOL
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&found) = pool.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    pool.insert(leaked);
    leaked
}

/// Read a preset file: at most [`MAX_FILE_BYTES`] (a larger file is refused without being
/// read whole), UTF-8. Errors name the file and line.
pub fn read_preset_file(path: &Path) -> Result<String, PresetError> {
    use std::io::Read;
    let file = path.display().to_string();
    let fail = |line: usize, message: String| PresetError {
        file: file.clone(),
        line,
        message,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(1, format!("cannot read: {e}")))?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(fail(
            line_of_offset(&bytes, MAX_FILE_BYTES),
            format!("file is larger than {MAX_FILE_BYTES} bytes (64 KiB), passed on this line"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        fail(
            line_of_offset(e.as_bytes(), at),
            format!("not UTF-8 text (byte {at})"),
        )
    })
}

/// A device of the catalogue, by its frozen slot (the `device` parameter's index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeviceSlot(pub usize);

impl DeviceSlot {
    /// The transparent reference, found by its id (`presets/devices/ideal.toml`).
    pub const IDEAL: DeviceSlot = DeviceSlot(slot_of(index::DEVICE_IDS, "ideal"));

    /// The factory device whose file is `presets/devices/{id}.toml`.
    pub fn by_id(id: &str) -> Option<DeviceSlot> {
        index::DEVICE_IDS
            .iter()
            .position(|i| *i == id)
            .map(DeviceSlot)
    }

    /// The factory device's id, if the slot has one.
    pub fn id(self) -> Option<&'static str> {
        index::DEVICE_IDS.get(self.0).copied()
    }
}

/// A headphone entry, by its frozen slot (the `headphone` parameter's index): a catalogue
/// headphone, or one of the two reserved entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeadphoneSlot(pub usize);

impl HeadphoneSlot {
    /// "Resistive": a flat load of `load_ohms`.
    pub const RESISTIVE: HeadphoneSlot = HeadphoneSlot(index::HEADPHONE_RESISTIVE);
    /// "Custom (imported)": the curve the user imports.
    pub const CUSTOM: HeadphoneSlot = HeadphoneSlot(index::HEADPHONE_CUSTOM);

    /// The factory headphone whose file is `presets/headphones/{id}.toml` (or the reserved
    /// `resistive` / `custom`).
    pub fn by_id(id: &str) -> Option<HeadphoneSlot> {
        index::HEADPHONE_IDS
            .iter()
            .position(|i| *i == id)
            .map(HeadphoneSlot)
    }

    /// One of the two reserved entries, which have no file.
    pub fn is_reserved(self) -> bool {
        self == Self::RESISTIVE || self == Self::CUSTOM
    }
}

/// Position of `id` in `ids`, at compile time (a missing id fails the build).
const fn slot_of(ids: &[&str], id: &str) -> usize {
    let mut i = 0;
    while i < ids.len() {
        let (a, b) = (ids[i].as_bytes(), id.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("no preset with that id");
}

/// The devices and headphones a process (or a test) uses, in slot order. Cheap to clone
/// (shared); built off the audio thread and handed to the engine, whose rebuild worker
/// resolves devices and headphones through it.
#[derive(Debug, Clone)]
pub struct Catalogue(Arc<Lists>);

#[derive(Debug)]
struct Lists {
    devices: Vec<DeviceVoicing>,
    headphones: Vec<Headphone>,
}

static FACTORY: OnceLock<Catalogue> = OnceLock::new();
static ACTIVE: OnceLock<Catalogue> = OnceLock::new();

impl Catalogue {
    /// The factory presets (embedded at build time), parsed once per process. A broken
    /// factory file is a build defect the tests catch, so it panics here.
    pub fn factory() -> &'static Catalogue {
        FACTORY.get_or_init(|| {
            let devices = index::FACTORY_DEVICES
                .iter()
                .map(|(file, text)| parse_device(text, file).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            let headphones = index::FACTORY_HEADPHONES
                .iter()
                .map(|(file, text)| headphone::parse(text, file).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            Catalogue(Arc::new(Lists {
                devices,
                headphones,
            }))
        })
    }

    /// The catalogue in use: the factory presets, with the user's if
    /// [`install_user_presets`] installed any. Fixed once first read.
    pub fn active() -> &'static Catalogue {
        ACTIVE.get_or_init(|| Self::factory().clone())
    }

    /// The factory presets with `devices` and `headphones` (from [`load_user_presets`])
    /// merged in: a user preset replaces the factory one of its slot, extras join in slot
    /// order.
    pub fn with_user(devices: Vec<DeviceVoicing>, headphones: Vec<Headphone>) -> Catalogue {
        let factory = Self::factory();
        Catalogue(Arc::new(Lists {
            devices: merge(factory.devices(), devices, |d| d.slot),
            headphones: merge(factory.headphones(), headphones, |h| h.slot),
        }))
    }

    /// The devices, in slot order.
    pub fn devices(&self) -> &[DeviceVoicing] {
        &self.0.devices
    }

    /// The headphones with a file, in slot order (the reserved slots have none).
    pub fn headphones(&self) -> &[Headphone] {
        &self.0.headphones
    }

    /// The device in `slot`, if any.
    pub fn device(&self, slot: DeviceSlot) -> Option<&DeviceVoicing> {
        let devices = self.devices();
        match devices.get(slot.0) {
            Some(d) if d.slot == slot.0 => Some(d),
            _ => devices.iter().find(|d| d.slot == slot.0),
        }
    }

    /// The headphone in `slot` (`None` for the reserved entries and unknown slots).
    pub fn headphone(&self, slot: HeadphoneSlot) -> Option<&Headphone> {
        self.headphones().iter().find(|h| h.slot == slot.0)
    }

    /// The device whose id (file stem) is `id`.
    pub fn device_by_id(&self, id: &str) -> Option<&DeviceVoicing> {
        self.devices().iter().find(|d| d.id == id)
    }
}

/// Returned by [`install_user_presets`] when the active lists are already in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("presets are already in use; user presets must be installed before the first engine")]
pub struct AlreadyInUse;

/// Make user presets (from [`load_user_presets`]) active ([`Catalogue::with_user`]). Call
/// once, before anything reads [`Catalogue::active`] (before the first [`crate::Engine`]);
/// later calls return [`AlreadyInUse`] and change nothing.
pub fn install_user_presets(
    devices: Vec<DeviceVoicing>,
    headphones: Vec<Headphone>,
) -> Result<(), AlreadyInUse> {
    if ACTIVE.get().is_some() {
        return Err(AlreadyInUse);
    }
    ACTIVE
        .set(Catalogue::with_user(devices, headphones))
        .map_err(|_| AlreadyInUse)
}

/// [`load_user_presets`] from [`user_config_dir`], then [`install_user_presets`]. Returns
/// the files that were skipped (and an entry for [`AlreadyInUse`], naming the folder).
pub fn install_from_config_dir() -> Vec<PresetError> {
    let Some(dir) = user_config_dir() else {
        return Vec::new();
    };
    let (devices, headphones, mut errors) = load_user_presets(&dir);
    if let Err(e) = install_user_presets(devices, headphones) {
        errors.push(PresetError {
            file: dir.display().to_string(),
            line: 1,
            message: e.to_string(),
        });
    }
    errors
}

/// Factory list with user entries: same slot replaces, others join; sorted by slot.
fn merge<T: Clone>(factory: &[T], user: Vec<T>, slot: impl Fn(&T) -> usize) -> Vec<T> {
    let mut merged = factory.to_vec();
    for preset in user {
        match merged.iter_mut().find(|p| slot(p) == slot(&preset)) {
            Some(p) => *p = preset,
            None => merged.push(preset),
        }
    }
    merged.sort_by_key(|p| slot(p));
    merged
}

/// The user's preset folder: `$SOURCERY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/sourcery`, else
/// `~/.config/sourcery` (`$HOME`, or `%USERPROFILE%` on Windows). Empty or relative
/// variables are ignored (as the XDG spec says). `None` if none is set.
pub fn user_config_dir() -> Option<PathBuf> {
    config_dir_from(|name| std::env::var_os(name))
}

/// [`user_config_dir`] with the environment as a function (for tests).
fn config_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    var("SOURCERY_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|p| p.join("sourcery")))
        .or_else(|| {
            var("HOME")
                .or_else(|| var("USERPROFILE"))
                .map(|p| p.join(".config").join("sourcery"))
        })
}

/// `*.toml` files of `dir`, sorted by name (a missing folder has none).
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}

/// Where a user preset's slot and name fit among the factory presets and the other user
/// files: `Ok` if it overrides a factory preset of the same name in the same slot, or is an
/// extra with a free slot.
fn check_user_slot(
    checker: &Checker,
    name: &str,
    slot: usize,
    factory: &[(&str, usize)],
    reserved: &[usize],
    taken: &mut Vec<(String, usize)>,
) -> Result<(), PresetError> {
    let slot_span = slot_span(checker.text);
    if let Some((other, _)) = taken.iter().find(|(n, s)| *n == name || *s == slot) {
        return Err(checker.fail(
            slot_span,
            format!("name or slot {slot} already used by the user preset {other:?}"),
        ));
    }
    if let Some(&(_, factory_slot)) = factory.iter().find(|(n, _)| *n == name) {
        if factory_slot != slot {
            return Err(checker.fail(
                slot_span,
                format!(
                    "{name:?} overrides the factory preset of that name, which is in slot \
                     {factory_slot}, not {slot}"
                ),
            ));
        }
    } else if let Some((other, _)) = factory.iter().find(|(_, s)| *s == slot) {
        return Err(checker.fail(
            slot_span,
            format!("slot {slot} belongs to the factory preset {other:?}; pick a free slot"),
        ));
    } else if reserved.contains(&slot) {
        return Err(checker.fail(slot_span, format!("slot {slot} is reserved")));
    }
    taken.push((name.to_owned(), slot));
    Ok(())
}

/// Span of the top-level `slot` key (for errors found after parsing).
fn slot_span(text: &str) -> Range<usize> {
    #[derive(serde::Deserialize)]
    struct Slot {
        slot: Option<Spanned<toml::Value>>,
    }
    toml::from_str::<Slot>(text)
        .ok()
        .and_then(|s| s.slot)
        .map_or(0..0, |s| s.span())
}

/// Read the user's presets from `dir/devices/*.toml` and `dir/headphones/*.toml` (a missing
/// folder is empty). Every file is parsed and validated as a factory file is, and its name
/// and slot checked against the factory presets and the other user files (see the module
/// docs); a bad file is reported in the third list and skipped. Allocates and reads files:
/// not for the audio thread.
pub fn load_user_presets(dir: &Path) -> (Vec<DeviceVoicing>, Vec<Headphone>, Vec<PresetError>) {
    let mut errors = Vec::new();
    let factory = Catalogue::factory();
    let devices = load_kind(
        &dir.join("devices"),
        parse_device,
        |d: &DeviceVoicing| (d.name.as_str(), d.slot),
        factory.devices(),
        &[],
        &mut errors,
    );
    let headphones = load_kind(
        &dir.join("headphones"),
        headphone::parse,
        |h: &Headphone| (h.name.as_str(), h.slot),
        factory.headphones(),
        &[HeadphoneSlot::RESISTIVE.0, HeadphoneSlot::CUSTOM.0],
        &mut errors,
    );
    (devices, headphones, errors)
}

/// The `*.toml` files of one kind in `folder`, each parsed with `parse` and its name and
/// slot checked against `factory` (by `key`), the `reserved` slots and the files before it;
/// a bad file goes to `errors` and is skipped.
fn load_kind<T>(
    folder: &Path,
    parse: impl Fn(&str, &str) -> Result<T, PresetError>,
    key: impl Fn(&T) -> (&str, usize),
    factory: &[T],
    reserved: &[usize],
    errors: &mut Vec<PresetError>,
) -> Vec<T> {
    let factory: Vec<(&str, usize)> = factory.iter().map(&key).collect();
    let mut taken = Vec::new();
    let mut presets = Vec::new();
    for path in toml_files(folder) {
        let result = read_preset_file(&path).and_then(|text| {
            let file = path.display().to_string();
            let preset = parse(&text, &file)?;
            let (name, slot) = key(&preset);
            let checker = Checker::new(&text, &file);
            check_user_slot(&checker, name, slot, &factory, reserved, &mut taken)?;
            Ok(preset)
        });
        match result {
            Ok(p) => presets.push(p),
            Err(e) => errors.push(e),
        }
    }
    presets
}
