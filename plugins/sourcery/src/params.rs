//! nice-plug parameters generated from `sourcery_dsp::PARAMS`.
//!
//! nice-plug's `#[derive(Params)]` wants one struct field per parameter; we implement
//! [`Params`] by hand instead so the table in dsp-core stays the only declaration.
//! Enumerations become stepped integer parameters whose values display as their labels.

use std::collections::BTreeMap;
use std::sync::Arc;

use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use sourcery_dsp::load::CustomLoad;
use sourcery_dsp::params::DEVICE_LABELS;
use sourcery_dsp::presets::{DeviceSlot, Preset};
use sourcery_dsp::{ParamId, ParamKind, ParamSpec, ParamValues, PARAMS};

use crate::shared::Shared;

/// Put `preset`'s values (and its imported curve) into a nice-plug state; every other
/// parameter and field keeps its value. Loading the state then applies the preset.
pub fn put_preset(state: &mut PluginState, preset: &Preset) {
    for &(id, value) in &preset.values {
        let spec = id.spec();
        let value = match spec.kind {
            ParamKind::Float { .. } => ParamValue::F32(value),
            ParamKind::Int { .. } | ParamKind::Enum { .. } => ParamValue::I32(value.round() as i32),
            ParamKind::Bool { .. } => ParamValue::Bool(value >= 0.5),
        };
        state.params.insert(spec.id.to_owned(), value);
    }
    if let Some(curve) = &preset.custom_load {
        state
            .fields
            .insert(CUSTOM_LOAD_NAME_KEY.to_owned(), curve.name.clone());
        state
            .fields
            .insert(CUSTOM_LOAD_TEXT_KEY.to_owned(), curve.text.clone());
    }
}

/// State keys of the imported impedance curve: its file name and its text, verbatim.
const CUSTOM_LOAD_NAME_KEY: &str = "custom_load_name";
const CUSTOM_LOAD_TEXT_KEY: &str = "custom_load";
/// State key of the A/B comparison's reference device (its label).
const COMPARE_REFERENCE_KEY: &str = "compare_reference";

/// One parameter of the table, as the nice-plug type that fits its kind.
pub enum TableParam {
    Float(FloatParam),
    Int(IntParam),
    Bool(BoolParam),
}

impl TableParam {
    fn from_spec(spec: &'static ParamSpec) -> Self {
        match spec.kind {
            ParamKind::Float {
                min,
                max,
                default,
                skew_center,
            } => {
                let range = match skew_center {
                    // nice-plug's skewed range maps plain p to ((p − min)/(max − min))^factor;
                    // choose the factor that puts `center` at the slider's middle.
                    Some(center) => FloatRange::Skewed {
                        min,
                        max,
                        factor: 0.5f32.ln() / ((center - min) / (max - min)).ln(),
                    },
                    None => FloatRange::Linear { min, max },
                };
                TableParam::Float(
                    FloatParam::new(spec.name, default, range)
                        .with_unit(spec.unit)
                        .with_value_to_string(Arc::new(|v| format!("{v:.2}"))),
                )
            }
            ParamKind::Int { min, max, default } => TableParam::Int(
                IntParam::new(spec.name, default, IntRange::Linear { min, max })
                    .with_unit(spec.unit),
            ),
            ParamKind::Bool { default } => {
                let param = BoolParam::new(spec.name, default);
                // Flag our bypass so hosts link their own bypass button to it.
                TableParam::Bool(if spec.id == ParamId::Bypass.spec().id {
                    param.make_bypass()
                } else {
                    param
                })
            }
            ParamKind::Enum { labels, default } => TableParam::Int(
                IntParam::new(
                    spec.name,
                    default as i32,
                    IntRange::Linear {
                        min: 0,
                        max: labels.len() as i32 - 1,
                    },
                )
                .with_value_to_string(Arc::new(move |i| {
                    labels
                        .get(i.max(0) as usize)
                        .copied()
                        .unwrap_or("?")
                        .to_string()
                }))
                .with_string_to_value(Arc::new(move |s| {
                    let s = s.trim();
                    labels
                        .iter()
                        .position(|l| l.eq_ignore_ascii_case(s))
                        .map(|i| i as i32)
                        .or_else(|| s.parse().ok())
                })),
            ),
        }
    }

    /// Plain value as the engine's `f32` convention (index for enums, 0/1 for bools).
    #[inline]
    fn plain(&self) -> f32 {
        match self {
            TableParam::Float(p) => p.value(),
            TableParam::Int(p) => p.value() as f32,
            TableParam::Bool(p) => f32::from(u8::from(p.value())),
        }
    }

    fn as_ptr(&self) -> ParamPtr {
        match self {
            TableParam::Float(p) => p.as_ptr(),
            TableParam::Int(p) => p.as_ptr(),
            TableParam::Bool(p) => p.as_ptr(),
        }
    }
}

/// All of Sourcery's parameters, the imported impedance curve ("Custom (imported)", saved
/// with the plugin state) and the editor's window state.
pub struct SourceryParams {
    /// In [`PARAMS`] order, so `table[id as usize]` is the parameter `id`.
    table: Vec<TableParam>,
    /// Shared with the engine (and its rebuild worker); survives re-activation.
    pub custom_load: CustomLoad,
    pub editor_state: Arc<EguiEditorState>,
    /// What the audio thread and the editor share (meters, A/B switches).
    pub shared: Arc<Shared>,
}

impl Default for SourceryParams {
    fn default() -> Self {
        Self {
            table: PARAMS.iter().map(TableParam::from_spec).collect(),
            custom_load: CustomLoad::default(),
            editor_state: crate::editor::default_state(),
            shared: Arc::new(Shared::default()),
        }
    }
}

impl SourceryParams {
    /// Current plain values of every parameter. Does not allocate.
    pub fn values(&self) -> ParamValues {
        let mut values = ParamValues::default();
        for (id, param) in ParamId::ALL.iter().zip(&self.table) {
            values.set(*id, param.plain());
        }
        values
    }

    /// The nice-plug parameter for a table row.
    pub fn get(&self, id: ParamId) -> &TableParam {
        &self.table[id as usize]
    }
}

// SAFETY: the `ParamPtr`s point into `self.table`, a `Vec` that is never resized after
// construction; the wrapper keeps this object alive in an `Arc` for as long as it uses them.
unsafe impl Params for SourceryParams {
    fn param_map(&self) -> Vec<(String, ParamPtr, String)> {
        PARAMS
            .iter()
            .zip(&self.table)
            .map(|(spec, param)| (spec.id.to_string(), param.as_ptr(), spec.group.to_string()))
            .collect()
    }

    fn serialize_fields(&self) -> BTreeMap<String, String> {
        let mut fields = BTreeMap::new();
        if let (_, Some(curve)) = self.custom_load.get() {
            fields.insert(CUSTOM_LOAD_NAME_KEY.to_owned(), curve.name);
            fields.insert(CUSTOM_LOAD_TEXT_KEY.to_owned(), curve.text);
        }
        if let Some(label) = DEVICE_LABELS.get(self.shared.reference_device().0) {
            fields.insert(COMPARE_REFERENCE_KEY.to_owned(), (*label).to_owned());
        }
        fields
    }

    /// A state with a curve imports it (a bad one is logged and the current curve kept); a
    /// state without one clears it, so a session reopens as it was saved.
    fn deserialize_fields(&self, fields: &BTreeMap<String, String>) {
        match (
            fields.get(CUSTOM_LOAD_NAME_KEY),
            fields.get(CUSTOM_LOAD_TEXT_KEY),
        ) {
            (Some(name), Some(text)) => {
                if let Err(e) = self.custom_load.import(name, text) {
                    nice_log!("Sourcery: the saved impedance curve is not valid: {e}");
                }
            }
            _ => self.custom_load.clear(),
        }
        // A state without a reference (older sessions) compares with "Ideal".
        let reference = fields
            .get(COMPARE_REFERENCE_KEY)
            .and_then(|label| DEVICE_LABELS.iter().position(|l| l == label))
            .map_or(DeviceSlot::IDEAL, DeviceSlot);
        self.shared.set_reference_device(reference);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_row_is_a_parameter_with_its_default() {
        let params = SourceryParams::default();
        let map = params.param_map();
        assert_eq!(map.len(), PARAMS.len());
        for ((id, ptr, group), spec) in map.iter().zip(PARAMS) {
            assert_eq!(id, spec.id);
            assert_eq!(group, spec.group);
            // SAFETY: `params` outlives this loop and its table is not modified.
            let name = unsafe { ptr.name() };
            assert_eq!(name, spec.name);
        }
        assert_eq!(params.values(), ParamValues::default());
    }

    #[test]
    fn enums_display_their_labels() {
        let params = SourceryParams::default();
        let TableParam::Int(device) = params.get(ParamId::Device) else {
            panic!("device is an enumeration");
        };
        assert_eq!(device.to_string(), "FiiO K13 R2R");
        let normalized = device
            .string_to_normalized_value("Ideal")
            .expect("label parses");
        assert_eq!(device.preview_plain(normalized), 1);
    }

    #[test]
    fn the_imported_curve_round_trips_through_the_state_fields() {
        let params = SourceryParams::default();
        assert!(!params.serialize_fields().contains_key(CUSTOM_LOAD_TEXT_KEY));
        let zma = "* measured\n20 300 1\n100 480 20\n1000 301 -2\n20000 306 10\n";
        params.custom_load.import("hd600.zma", zma).expect("valid");
        let fields = params.serialize_fields();
        assert_eq!(fields[CUSTOM_LOAD_TEXT_KEY], zma);

        let restored = SourceryParams::default();
        restored.deserialize_fields(&fields);
        let (_, curve) = restored.custom_load.get();
        let curve = curve.expect("restored");
        assert_eq!(curve.name, "hd600.zma");
        assert!((curve.curve.impedance(100.0).norm() - 480.0).abs() < 1e-6);

        // A broken state keeps what is there; a state without a curve clears it.
        let mut broken = fields.clone();
        broken.insert(
            CUSTOM_LOAD_TEXT_KEY.to_owned(),
            "20 300\n10 -5\n".to_owned(),
        );
        restored.deserialize_fields(&broken);
        assert!(restored.custom_load.get().1.is_some());
        restored.deserialize_fields(&BTreeMap::new());
        assert!(restored.custom_load.get().1.is_none());

        // The comparison's reference device travels by label.
        params.shared.set_reference_device(DeviceSlot(2));
        let fields = params.serialize_fields();
        assert_eq!(fields[COMPARE_REFERENCE_KEY], DEVICE_LABELS[2]);
        restored.deserialize_fields(&fields);
        assert_eq!(restored.shared.reference_device(), DeviceSlot(2));
    }
}
