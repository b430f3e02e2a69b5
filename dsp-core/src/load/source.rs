//! Which load a chain drives, and the load made concrete.
//!
//! - [`LoadSource`]: the choice (a catalogue headphone by slot, a resistor, or the user's
//!   imported curve), `Copy` so it travels in a rebuild request.
//! - [`ResolvedLoad`]: the network or curve behind it, which a chain is built with. The
//!   catalogue is not read here: [`LoadSource::resolve`] is handed a lookup.
//! - [`CustomLoad`]: the shared handle to the imported curve; the audio thread reads only
//!   its generation (an atomic), never the curve.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::curve::{ImpedanceCurve, LoadFileError};
use super::network::Network;
use super::Complex64;

/// Which load a chain drives (`Copy`, so it travels inside a rebuild request).
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

/// The load a chain drives, the output impedance driving it, and what the listener's own
/// source and headphone add.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub load: ResolvedLoad,
    /// The emulated source's output impedance.
    pub z_out_ohms: f64,
    /// The output impedance of the source the listener hears the chain through (0: an ideal
    /// source). The load stage applies `(Z_L + Z_yours)/(Z_L + Z_out)` ([`super::drive`]),
    /// so that the headphone, behind the listener's source, sees the emulated divider.
    pub your_z_out_ohms: f64,
    /// The headphone's sensitivity at 1 kHz, when published (calibrated SPL needs it).
    pub sensitivity: Option<crate::amp::Sensitivity>,
}

impl LoadConfig {
    /// `load` driven from `z_out_ohms`, heard through an ideal source, no sensitivity.
    pub fn new(load: ResolvedLoad, z_out_ohms: f64) -> Self {
        Self {
            load,
            z_out_ohms,
            your_z_out_ohms: 0.0,
            sensitivity: None,
        }
    }
}

/// A load made concrete: a lumped network (realised as an IIR in the analog domain) or a
/// measured curve (a minimum-phase FIR at the host rate).
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedLoad {
    Network(Network),
    Curve(Arc<ImpedanceCurve>),
}

impl ResolvedLoad {
    /// A resistor of `ohms` (clamped to 0.1 Ω…1 MΩ; not finite: 32 Ω).
    pub fn resistor(ohms: f64) -> Self {
        let ohms = if ohms.is_finite() {
            ohms.clamp(0.1, 1e6)
        } else {
            32.0
        };
        ResolvedLoad::Network(
            Network::parse(&format!("R({ohms})")).expect("a resistor always parses"),
        )
    }

    /// Complex impedance at `freq_hz`.
    pub fn impedance(&self, freq_hz: f64) -> Complex64 {
        match self {
            ResolvedLoad::Network(n) => n.impedance(freq_hz),
            ResolvedLoad::Curve(c) => c.impedance(freq_hz),
        }
    }
}

impl LoadSource {
    /// The network or curve behind this source: a catalogue slot through `headphone`
    /// (its network; an unknown slot gives a 32 Ω resistor), the imported curve from
    /// `custom`. Allocates and may lock `custom`: not on the audio thread.
    pub fn resolve(
        &self,
        custom: &CustomLoad,
        headphone: impl FnOnce(usize) -> Option<Network>,
    ) -> ResolvedLoad {
        match *self {
            LoadSource::Catalogue(slot) => {
                headphone(slot).map_or_else(|| ResolvedLoad::resistor(32.0), ResolvedLoad::Network)
            }
            LoadSource::Resistive(ohms) => ResolvedLoad::resistor(ohms),
            LoadSource::Custom { fallback_ohms, .. } => match custom.get().1 {
                Some(c) => ResolvedLoad::Curve(c.curve),
                None => ResolvedLoad::resistor(fallback_ohms),
            },
        }
    }
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
