//! The one parameter table.
//!
//! The nice-plug plugin (CLAP/VST3), the LV2 wrapper, the LV2 TTL generator and the editor
//! all read [`PARAMS`]; no parameter is declared anywhere else. Every parameter's value is
//! carried as a plain `f32`: the value itself for floats, `0.0`/`1.0` for booleans and the
//! index for enumerations and integers (this is exactly what an LV2 control port holds).
//!
//! Ids are frozen: hosts store automation and state under them. `tests::ids_are_frozen`
//! fails when one is renamed or removed; new parameters are appended.

/// What kind of value a parameter holds, with its range and default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamKind {
    /// A continuous value in `min..=max`. `skew_center`, when set, is the value shown at the
    /// middle of a slider (a logarithmic-feeling range for frequencies, ohms and so on).
    Float {
        min: f32,
        max: f32,
        default: f32,
        skew_center: Option<f32>,
    },
    /// An integer in `min..=max`.
    Int { min: i32, max: i32, default: i32 },
    /// On/off.
    Bool { default: bool },
    /// One of `labels`; the value is the index.
    Enum {
        labels: &'static [&'static str],
        default: usize,
    },
}

/// One row of the parameter table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// Frozen identifier: the nice-plug id, the LV2 port symbol and the state key.
    pub id: &'static str,
    /// Human name shown by hosts.
    pub name: &'static str,
    /// Unit shown after the value, with its leading space (`" dB"`), or empty.
    pub unit: &'static str,
    pub kind: ParamKind,
    /// Group shown by hosts and the editor ("Source", "Load", "Output", …).
    pub group: &'static str,
    /// One sentence for tooltips and the LV2 `rdfs:comment`.
    pub description: &'static str,
}

impl ParamSpec {
    /// Default value as the plain `f32` the engine reads.
    pub const fn default_value(&self) -> f32 {
        match self.kind {
            ParamKind::Float { default, .. } => default,
            ParamKind::Int { default, .. } => default as f32,
            ParamKind::Bool { default } => {
                if default {
                    1.0
                } else {
                    0.0
                }
            }
            ParamKind::Enum { default, .. } => default as f32,
        }
    }

    /// Smallest plain value.
    pub const fn min(&self) -> f32 {
        match self.kind {
            ParamKind::Float { min, .. } => min,
            ParamKind::Int { min, .. } => min as f32,
            ParamKind::Bool { .. } | ParamKind::Enum { .. } => 0.0,
        }
    }

    /// Largest plain value.
    pub const fn max(&self) -> f32 {
        match self.kind {
            ParamKind::Float { max, .. } => max,
            ParamKind::Int { max, .. } => max as f32,
            ParamKind::Bool { .. } => 1.0,
            ParamKind::Enum { labels, .. } => (labels.len() - 1) as f32,
        }
    }

    /// Clamp (and for discrete kinds, round) a plain value into this parameter's range.
    /// Non-finite values give the default.
    pub fn sanitize(&self, value: f32) -> f32 {
        if !value.is_finite() {
            return self.default_value();
        }
        let clamped = value.clamp(self.min(), self.max());
        match self.kind {
            ParamKind::Float { .. } => clamped,
            _ => clamped.round(),
        }
    }

    /// Enumeration labels, or an empty slice for other kinds.
    pub const fn labels(&self) -> &'static [&'static str] {
        match self.kind {
            ParamKind::Enum { labels, .. } => labels,
            _ => &[],
        }
    }
}

/// Labels of the `device` enumeration. Grows with the presets issue; order is frozen
/// (append only), since hosts store the index. "Ideal" is the transparent reference.
/// Every enumeration has at least two entries: hosts normalise an index as
/// `i / (n − 1)`, which a one-entry list would turn into 0/0.
pub const DEVICE_LABELS: &[&str] = &["FiiO K13 R2R", "Ideal", "FiiO K7"];

/// Labels of the `headphone` enumeration (append only: hosts store the index). Every entry
/// but "Resistive" (a flat load of `load_ohms`) and "Custom (imported)" (a measured curve
/// the user imports, kept in the plugin state) is a file in `presets/headphones/`, checked
/// by `headphones::tests`.
pub const HEADPHONE_LABELS: &[&str] = &[
    "Campfire Andromeda 2020",
    "Resistive",
    "64 Audio U12T",
    "Final E5000",
    "TGXear Serratus",
    "FiiO JD7",
    "Sennheiser HD600",
    "HIFIMAN Edition XS",
    "FiiO JT7",
    "Crinear Protocol Max",
    "Truthear Pure",
    "Custom (imported)",
];

/// Index of "Resistive" in [`HEADPHONE_LABELS`].
pub const HEADPHONE_RESISTIVE: usize = 1;
/// Index of "Custom (imported)" in [`HEADPHONE_LABELS`].
pub const HEADPHONE_CUSTOM: usize = HEADPHONE_LABELS.len() - 1;

/// Labels of `dac_rate`; index 0 follows the host.
pub const DAC_RATE_LABELS: &[&str] = &[
    "Host",
    "44.1 kHz",
    "48 kHz",
    "88.2 kHz",
    "96 kHz",
    "176.4 kHz",
    "192 kHz",
];

/// DAC rates in Hz for [`DAC_RATE_LABELS`] (index 0, "Host", has none).
pub const DAC_RATES_HZ: &[f64] = &[
    0.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 176_400.0, 192_000.0,
];

/// Labels of `output` (the same as `amp::Output::LABELS`).
pub const OUTPUT_LABELS: &[&str] = &["SE", "BAL"];

/// Labels of `gain` (the same as `amp::GainStep::LABELS`).
pub const GAIN_LABELS: &[&str] = &["Low", "Medium", "High"];

/// Labels of `r2r_bits`.
pub const R2R_BITS_LABELS: &[&str] = &["16 bit", "20 bit", "24 bit"];

/// Resolutions for [`R2R_BITS_LABELS`].
pub const R2R_BITS: &[u32] = &[16, 20, 24];

macro_rules! param_table {
    ($( $variant:ident => $spec:expr ),+ $(,)?) => {
        /// Index of each parameter in [`PARAMS`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum ParamId { $( $variant ),+ }

        impl ParamId {
            /// Every parameter, in table order.
            pub const ALL: &'static [ParamId] = &[ $( ParamId::$variant ),+ ];

            /// This parameter's row in the table.
            pub const fn spec(self) -> &'static ParamSpec {
                &PARAMS[self as usize]
            }

            /// Find a parameter by its frozen id.
            pub fn from_id(id: &str) -> Option<ParamId> {
                Self::ALL.iter().copied().find(|p| p.spec().id == id)
            }
        }

        /// The parameter table, in display order.
        pub const PARAMS: &[ParamSpec] = &[ $( $spec ),+ ];
    };
}

param_table! {
    Bypass => ParamSpec {
        id: "bypass",
        name: "Bypass",
        unit: "",
        kind: ParamKind::Bool { default: false },
        group: "Output",
        description: "Pass the input through unchanged, delayed by the reported latency.",
    },
    LevelMatch => ParamSpec {
        id: "level_match",
        name: "Level Match",
        unit: "",
        kind: ParamKind::Bool { default: true },
        group: "Output",
        description: "Compensate the source's and load's level at 1 kHz so a voicing changes tone, not loudness.",
    },
    OutputTrim => ParamSpec {
        id: "output_trim_db",
        name: "Output Trim",
        unit: " dB",
        kind: ParamKind::Float { min: -24.0, max: 24.0, default: 0.0, skew_center: None },
        group: "Output",
        description: "Gain applied at the very end of the chain.",
    },
    Device => ParamSpec {
        id: "device",
        name: "Device",
        unit: "",
        kind: ParamKind::Enum { labels: DEVICE_LABELS, default: 0 },
        group: "Source",
        description: "The source (DAC and amp) whose sound is reproduced.",
    },
    Headphone => ParamSpec {
        id: "headphone",
        name: "Headphone",
        unit: "",
        kind: ParamKind::Enum { labels: HEADPHONE_LABELS, default: 0 },
        group: "Load",
        description: "The headphone or IEM the source drives.",
    },
    DacMode => ParamSpec {
        id: "dac_mode",
        name: "DAC Mode",
        unit: "",
        kind: ParamKind::Enum { labels: crate::dac::stage::DacMode::LABELS, default: 0 },
        group: "Source",
        description: "OS: the chip's oversampling filter reconstructs. NOS: the converter holds each sample (zero-order hold).",
    },
    OsFilter => ParamSpec {
        id: "os_filter",
        name: "OS Filter",
        unit: "",
        kind: ParamKind::Enum { labels: &crate::dac::os_filter::OsFilter::PARAM_LABELS, default: 0 },
        group: "Source",
        description: "The oversampling filter in OS mode.",
    },
    DacRate => ParamSpec {
        id: "dac_rate",
        name: "DAC Rate",
        unit: "",
        kind: ParamKind::Enum { labels: DAC_RATE_LABELS, default: 0 },
        group: "Source",
        description: "Rate the DAC runs at; other than Host, the input is first converted to it (e.g. 44.1 kHz NOS in a 96 kHz session).",
    },
    Decimator => ParamSpec {
        id: "decimator",
        name: "Decimator",
        unit: "",
        kind: ParamKind::Enum { labels: crate::analog::decimator::DecimatorPhase::LABELS, default: 0 },
        group: "Output",
        description: "Filter back from the oversampled analog domain: linear phase, or minimum phase for low latency.",
    },
    R2rCustom => ParamSpec {
        id: "r2r_custom",
        name: "Custom Ladder",
        unit: "",
        kind: ParamKind::Bool { default: false },
        group: "Ladder",
        description: "Off: the device's own ladder. On: the ladder below replaces the device's converter.",
    },
    R2rBits => ParamSpec {
        id: "r2r_bits",
        name: "Ladder Bits",
        unit: "",
        kind: ParamKind::Enum { labels: R2R_BITS_LABELS, default: 2 },
        group: "Ladder",
        description: "Resolution of the custom ladder.",
    },
    R2rTolerance => ParamSpec {
        id: "r2r_tolerance_pct",
        name: "Resistor Tolerance",
        unit: " %",
        kind: ParamKind::Float { min: 0.001, max: 1.0, default: 0.1, skew_center: Some(0.05) },
        group: "Ladder",
        description: "Resistor tolerance of the custom ladder (uniform within ±tolerance).",
    },
    R2rCoding => ParamSpec {
        id: "r2r_coding",
        name: "Ladder Coding",
        unit: "",
        kind: ParamKind::Enum { labels: crate::dac::r2r::Coding::LABELS, default: 2 },
        group: "Ladder",
        description: "Offset binary, sign-magnitude or complementary (two ladders).",
    },
    R2rSeed => ParamSpec {
        id: "r2r_seed",
        name: "Ladder Seed",
        unit: "",
        kind: ParamKind::Int { min: 0, max: 9999, default: 1 },
        group: "Ladder",
        description: "Which unit: the same seed gives the same resistor draw, bit for bit.",
    },
    Output => ParamSpec {
        id: "output",
        name: "Output",
        unit: "",
        kind: ParamKind::Enum { labels: OUTPUT_LABELS, default: 0 },
        group: "Amp",
        description: "Headphone output: single-ended (SE) or balanced (BAL), each with its own limits, noise and output impedance.",
    },
    Gain => ParamSpec {
        id: "gain",
        name: "Gain",
        unit: "",
        kind: ParamKind::Enum { labels: GAIN_LABELS, default: 0 },
        group: "Amp",
        description: "The amp's gain step; a device with two steps (K7) uses Low for Medium.",
    },
    Volume => ParamSpec {
        id: "volume",
        name: "Volume",
        unit: " %",
        kind: ParamKind::Float { min: 0.0, max: 100.0, default: 50.0, skew_center: None },
        group: "Amp",
        description: "Volume knob position; the device's own volume law maps it to dB.",
    },
    ZOutCustom => ParamSpec {
        id: "z_out_custom",
        name: "Custom Output Impedance",
        unit: "",
        kind: ParamKind::Bool { default: false },
        group: "Amp",
        description: "Off: the device's published output impedance. On: the value below (laptop jacks, 75 and 120 ohm references).",
    },
    ZOutOhms => ParamSpec {
        id: "z_out_ohms",
        name: "Output Impedance",
        unit: " Ω",
        kind: ParamKind::Float { min: 0.0, max: 150.0, default: 10.0, skew_center: Some(10.0) },
        group: "Amp",
        description: "Source output impedance used when Custom Output Impedance is on.",
    },
    LoadOhms => ParamSpec {
        id: "load_ohms",
        name: "Resistive Load",
        unit: " Ω",
        kind: ParamKind::Float { min: 1.0, max: 600.0, default: 32.0, skew_center: Some(32.0) },
        group: "Load",
        description: "Value of the Resistive headphone entry.",
    },
}

/// Number of parameters in the table.
pub const PARAM_COUNT: usize = PARAMS.len();

/// Plain values of every parameter, indexed by [`ParamId`]. `Copy`, so it can cross threads
/// by value and be compared cheaply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamValues(pub [f32; PARAM_COUNT]);

impl Default for ParamValues {
    fn default() -> Self {
        let mut values = [0.0; PARAM_COUNT];
        for (value, spec) in values.iter_mut().zip(PARAMS) {
            *value = spec.default_value();
        }
        Self(values)
    }
}

impl ParamValues {
    /// Plain value of one parameter, sanitized into its range.
    pub fn get(&self, id: ParamId) -> f32 {
        id.spec().sanitize(self.0[id as usize])
    }

    /// Set one parameter (sanitized into its range).
    pub fn set(&mut self, id: ParamId, value: f32) {
        self.0[id as usize] = id.spec().sanitize(value);
    }

    pub fn get_bool(&self, id: ParamId) -> bool {
        self.get(id) >= 0.5
    }

    pub fn get_index(&self, id: ParamId) -> usize {
        self.get(id) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts store automation and state under these ids: renaming one breaks users'
    /// sessions. Append new ids here and in the table; never edit or reorder.
    const FROZEN_IDS: &[&str] = &[
        "bypass",
        "level_match",
        "output_trim_db",
        "device",
        "headphone",
        "dac_mode",
        "os_filter",
        "dac_rate",
        "decimator",
        "r2r_custom",
        "r2r_bits",
        "r2r_tolerance_pct",
        "r2r_coding",
        "r2r_seed",
        "output",
        "gain",
        "volume",
        "z_out_custom",
        "z_out_ohms",
        "load_ohms",
    ];

    #[test]
    fn ids_are_frozen() {
        let ids: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
        assert!(ids.len() >= FROZEN_IDS.len());
        assert_eq!(&ids[..FROZEN_IDS.len()], FROZEN_IDS);
    }

    #[test]
    fn ids_are_unique_lv2_symbols() {
        for (i, p) in PARAMS.iter().enumerate() {
            // LV2 symbols: [_a-zA-Z][_a-zA-Z0-9]*, and not our reserved port names.
            assert!(
                p.id.chars().next().unwrap().is_ascii_alphabetic(),
                "{}",
                p.id
            );
            assert!(
                p.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{}",
                p.id
            );
            assert!(!["in_l", "in_r", "out_l", "out_r", "in", "out", "latency"].contains(&p.id));
            assert!(
                PARAMS[i + 1..].iter().all(|q| q.id != p.id),
                "duplicate {}",
                p.id
            );
        }
    }

    #[test]
    fn table_is_consistent() {
        for (i, id) in ParamId::ALL.iter().enumerate() {
            assert_eq!(*id as usize, i);
            assert_eq!(ParamId::from_id(id.spec().id), Some(*id));
            let spec = id.spec();
            assert!(spec.min() < spec.max(), "{}: empty range", spec.id);
            let d = spec.default_value();
            assert!(
                d >= spec.min() && d <= spec.max(),
                "{} default out of range",
                spec.id
            );
        }
        assert_eq!(ParamId::from_id("no_such_param"), None);
    }

    #[test]
    fn sanitize_clamps_rounds_and_rejects_nan() {
        let trim = ParamId::OutputTrim.spec();
        assert_eq!(trim.sanitize(100.0), 24.0);
        assert_eq!(trim.sanitize(f32::NAN), 0.0);
        assert_eq!(ParamId::Bypass.spec().sanitize(0.7), 1.0);
        assert_eq!(ParamId::Device.spec().sanitize(-3.0), 0.0);
        let mut v = ParamValues::default();
        assert!(
            v.get_bool(ParamId::LevelMatch),
            "level match is on by default"
        );
        v.set(ParamId::OutputTrim, f32::INFINITY);
        assert_eq!(v.get(ParamId::OutputTrim), 0.0);
    }
}
