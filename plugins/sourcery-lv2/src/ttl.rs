//! Turtle (TTL) description of the bundle, generated from [`PARAMS`] and the port layout in
//! [`crate::ports`].
//!
//! Pure Rust and independent of `lv2-sys`: `cargo xtask bundle` calls [`write_bundle`] and
//! copies the shared library next to the files it writes. Nothing here is hand-maintained
//! per parameter; a new row in the table becomes a new control port.
//!
//! References: LV2 core (<http://lv2plug.in/ns/lv2core>), units
//! (<http://lv2plug.in/ns/extensions/units>), port groups
//! (<http://lv2plug.in/ns/ext/port-groups>), port properties
//! (<http://lv2plug.in/ns/ext/port-props>), Turtle (<https://www.w3.org/TR/turtle/>).

use std::fmt::Write as _;
use std::path::Path;

use sourcery_dsp::presets::lv2 as lv2_presets;
use sourcery_dsp::presets::Preset;
use sourcery_dsp::{ParamKind, ParamSpec, PARAMS};

use crate::ports::{port_index, Port, Variant};

/// File name of the plugin description inside the bundle (referenced by the manifest).
pub const PLUGIN_TTL_FILE: &str = "sourcery.ttl";

/// File name of the bundle's manifest.
pub const MANIFEST_FILE: &str = "manifest.ttl";

/// File name of the factory presets (`pset:Preset`s) inside the bundle.
pub const PRESETS_TTL_FILE: &str = "presets.ttl";

/// `doap:license` of both plugins (the workspace license, as an SPDX URI).
pub const LICENSE_URI: &str = "https://spdx.org/licenses/GPL-3.0-or-later";

const PREFIXES: &str = "\
@prefix atom:  <http://lv2plug.in/ns/ext/atom#> .
@prefix doap:  <http://usefulinc.com/ns/doap#> .
@prefix lv2:   <http://lv2plug.in/ns/lv2core#> .
@prefix pg:    <http://lv2plug.in/ns/ext/port-groups#> .
@prefix pprops: <http://lv2plug.in/ns/ext/port-props#> .
@prefix rdf:   <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .
@prefix units: <http://lv2plug.in/ns/extensions/units#> .
@prefix urid:  <http://lv2plug.in/ns/ext/urid#> .
";

/// Write `manifest.ttl` and `sourcery.ttl` into `dir` (which must exist). The caller copies
/// the plugin binary, named `binary_file_name`, into the same folder.
pub fn write_bundle(dir: &Path, binary_file_name: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(MANIFEST_FILE), manifest_ttl(binary_file_name))?;
    std::fs::write(dir.join(PLUGIN_TTL_FILE), plugin_ttl())?;
    std::fs::write(dir.join(PRESETS_TTL_FILE), presets_ttl())
}

/// One factory preset as an LV2 preset (`pset:Preset`) of one plugin variant.
#[derive(Debug, Clone, PartialEq)]
pub struct FactoryPreset {
    /// The preset's URI: `<plugin>/presets/<id>` (see [`factory_presets`]).
    pub uri: String,
    /// The plugin it applies to.
    pub plugin: &'static str,
    /// The preset: its name is the `rdfs:label`, its description and basis the
    /// `rdfs:comment`, its values the port values.
    pub preset: &'static Preset,
}

/// Every factory preset ([`sourcery_dsp::presets::factory_presets`]: the device voicings,
/// the headphones with their PEQ and the pairings) for each plugin variant.
///
/// URIs are `<plugin>/presets/<preset id>` (`…/presets/device/fiio-k7`,
/// `…/presets/combo/k7-andromeda`), except the headphones', which keep the URIs of the
/// headphone-only preset list that came first (`…/presets/sennheiser-hd600`: every
/// character of the label that is not a letter or digit a `-`), since hosts store them.
pub fn factory_presets() -> Vec<FactoryPreset> {
    let mut presets = Vec::new();
    for variant in Variant::ALL {
        for preset in sourcery_dsp::presets::factory_presets() {
            let path = match preset.id.strip_prefix("headphone/") {
                Some(_) => legacy_headphone_slug(&preset.name),
                None => iri_escape(&preset.id),
            };
            presets.push(FactoryPreset {
                uri: format!("{}/presets/{path}", variant.uri()),
                plugin: variant.uri(),
                preset,
            });
        }
    }
    presets
}

/// The path of a headphone preset's URI in the first preset list: the label lower-cased,
/// every character not an ASCII letter or digit a `-`, leading and trailing `-` trimmed.
fn legacy_headphone_slug(label: &str) -> String {
    let slug: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug.trim_matches('-').to_owned()
}

/// `presets.ttl`: the [`factory_presets`] as LV2 presets (`pset:Preset` with
/// `lv2:port [ lv2:symbol …; pset:value … ]`, and `state:state` for one with a curve).
pub fn presets_ttl() -> String {
    let mut ttl = String::from(lv2_presets::PRESET_PREFIXES);
    for FactoryPreset {
        uri,
        plugin,
        preset,
    } in factory_presets()
    {
        let _ = write!(
            ttl,
            "\n<{uri}>\n{}",
            lv2_presets::preset_statements(preset, plugin)
        );
    }
    ttl
}

/// The bundle's `manifest.ttl`: both plugins, their binary (relative to the bundle) and a
/// pointer to [`PLUGIN_TTL_FILE`].
pub fn manifest_ttl(binary_file_name: &str) -> String {
    let mut ttl = String::from(
        "@prefix lv2:  <http://lv2plug.in/ns/lv2core#> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
    );
    for variant in Variant::ALL {
        // `write!` into a String cannot fail.
        let _ = write!(
            ttl,
            "\n<{uri}>\n    a lv2:Plugin ;\n    lv2:binary <{binary}> ;\n    rdfs:seeAlso <{seealso}> .\n",
            uri = variant.uri(),
            binary = iri_escape(binary_file_name),
            seealso = PLUGIN_TTL_FILE,
        );
    }
    ttl.push_str("@prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n");
    for FactoryPreset { uri, plugin, .. } in factory_presets() {
        let _ = write!(
            ttl,
            "\n<{uri}>\n    a pset:Preset ;\n    lv2:appliesTo <{plugin}> ;\n    rdfs:seeAlso <{PRESETS_TTL_FILE}> .\n",
        );
    }
    ttl
}

/// The description of both plugins: class, license, features, port groups and every port.
pub fn plugin_ttl() -> String {
    let mut ttl = String::from(PREFIXES);
    for variant in Variant::ALL {
        ttl.push('\n');
        write_plugin(&mut ttl, variant);
    }
    // The state properties, described so that a saved state or preset validates.
    for (uri, label, comment) in [
        (
            lv2_presets::STATE_CUSTOM_LOAD_NAME,
            "Imported curve file name",
            "File name of the imported impedance curve (its extension picks the parser: .zma/.txt or .csv).",
        ),
        (
            lv2_presets::STATE_CUSTOM_LOAD,
            "Imported curve",
            "Text of the imported impedance curve file, verbatim (REW .zma or CSV: frequency, magnitude in ohms, phase in degrees).",
        ),
    ] {
        let _ = write!(
            ttl,
            "\n<{uri}>\n    a rdf:Property ;\n    rdfs:label \"{}\" ;\n    rdfs:comment \"{}\" ;\n    rdfs:range atom:String .\n",
            escape(label),
            escape(comment)
        );
    }
    ttl
}

fn write_plugin(ttl: &mut String, variant: Variant) {
    let uri = variant.uri();
    let (audio_group_class, designations): (&str, &[&str]) = match variant.channels() {
        1 => ("pg:MonoGroup", &["pg:center"]),
        _ => ("pg:StereoGroup", &["pg:left", "pg:right"]),
    };

    // Groups: the main audio input and output, then one per parameter group.
    for (suffix, class, label) in [
        ("main_in", "pg:InputGroup", "Input"),
        ("main_out", "pg:OutputGroup", "Output"),
    ] {
        let _ = write!(
            ttl,
            "<{uri}#{suffix}>\n    a {audio_group_class} , {class} ;\n    lv2:symbol \"{suffix}\" ;\n    rdfs:label \"{label}\" .\n\n",
        );
    }
    for group in param_groups() {
        let _ = write!(
            ttl,
            "<{uri}#{symbol}>\n    a pg:Group , pg:InputGroup ;\n    lv2:symbol \"{symbol}\" ;\n    rdfs:label \"{label}\" .\n\n",
            symbol = group_symbol(group),
            label = escape(group),
        );
    }

    let mut statements = vec![
        "a lv2:Plugin , lv2:SimulatorPlugin".to_owned(),
        format!("doap:name \"{}\"", escape(variant.name())),
        format!("doap:license <{LICENSE_URI}>"),
        // LV2 reads an odd minor version as a development release: crate minor m is
        // published as 2·m, so every release is even and versions still increase.
        format!(
            "lv2:minorVersion {} ;\n    lv2:microVersion {}",
            2 * env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap_or(0),
            env!("CARGO_PKG_VERSION_PATCH")
        ),
        "rdfs:comment \"Reproduces how a headphone DAC/amp and its load shape the sound.\""
            .to_owned(),
        // The imported impedance curve is saved and restored as state properties, whose
        // keys and type are URIDs: without `urid:map` the plugin runs, with no state.
        "lv2:optionalFeature lv2:hardRTCapable , urid:map".to_owned(),
        "lv2:extensionData state:interface".to_owned(),
        format!("pg:mainInput <{uri}#main_in>"),
        format!("pg:mainOutput <{uri}#main_out>"),
    ];
    for port in variant.ports() {
        let index = port_index(variant, port);
        let symbol = port.symbol(variant);
        let mut props: Vec<String> = Vec::new();
        match port {
            Port::AudioIn(ch) | Port::AudioOut(ch) => {
                let is_input = matches!(port, Port::AudioIn(_));
                let direction = if is_input {
                    "lv2:InputPort"
                } else {
                    "lv2:OutputPort"
                };
                let group = if is_input { "main_in" } else { "main_out" };
                props.push(format!("a {direction} , lv2:AudioPort"));
                props.push(format!("lv2:index {index}"));
                props.push(format!("lv2:symbol \"{symbol}\""));
                props.push(format!("lv2:name \"{}\"", audio_port_name(variant, port)));
                props.push(format!("pg:group <{uri}#{group}>"));
                props.push(format!("lv2:designation {}", designations[ch]));
            }
            Port::Control(row) => {
                props.push("a lv2:InputPort , lv2:ControlPort".to_owned());
                props.push(format!("lv2:index {index}"));
                props.push(format!("lv2:symbol \"{symbol}\""));
                control_port_props(&mut props, uri, &PARAMS[row]);
            }
            Port::Latency => {
                props.push("a lv2:OutputPort , lv2:ControlPort".to_owned());
                props.push(format!("lv2:index {index}"));
                props.push(format!("lv2:symbol \"{symbol}\""));
                props.push("lv2:name \"Latency\"".to_owned());
                props.push(
                    "rdfs:comment \"Latency of the processed and bypassed paths, in samples.\""
                        .to_owned(),
                );
                props.push("lv2:designation lv2:latency".to_owned());
                props.push("lv2:portProperty lv2:reportsLatency , lv2:integer".to_owned());
                props.push("lv2:minimum 0".to_owned());
                props.push("units:unit units:frame".to_owned());
            }
            Port::Freewheel => {
                props.push("a lv2:InputPort , lv2:ControlPort".to_owned());
                props.push(format!("lv2:index {index}"));
                props.push(format!("lv2:symbol \"{symbol}\""));
                props.push("lv2:name \"Freewheel\"".to_owned());
                props.push(
                    "rdfs:comment \"Set by the host while it renders faster than real time: \
                     a voicing change is then built in the block where it arrives.\""
                        .to_owned(),
                );
                props.push("lv2:designation lv2:freeWheeling".to_owned());
                props.push(
                    "lv2:portProperty lv2:toggled , lv2:integer , pprops:notOnGUI".to_owned(),
                );
                props.push("lv2:default 0".to_owned());
                props.push("lv2:minimum 0".to_owned());
                props.push("lv2:maximum 1".to_owned());
            }
        }
        statements.push(format!(
            "lv2:port [\n        {}\n    ]",
            props.join(" ;\n        ")
        ));
    }
    let _ = writeln!(ttl, "<{uri}>\n    {} .", statements.join(" ;\n    "));
}

/// Name of an audio port ("In L", "Out", …).
fn audio_port_name(variant: Variant, port: Port) -> &'static str {
    match (variant, port) {
        (Variant::Stereo, Port::AudioIn(0)) => "In L",
        (Variant::Stereo, Port::AudioIn(_)) => "In R",
        (Variant::Stereo, Port::AudioOut(0)) => "Out L",
        (Variant::Stereo, Port::AudioOut(_)) => "Out R",
        (Variant::Mono, Port::AudioIn(_)) => "In",
        _ => "Out",
    }
}

/// Properties of one parameter's control port, from its table row.
fn control_port_props(props: &mut Vec<String>, plugin_uri: &str, spec: &ParamSpec) {
    props.push(format!("lv2:name \"{}\"", escape(spec.name)));
    if !spec.description.is_empty() {
        props.push(format!("rdfs:comment \"{}\"", escape(spec.description)));
    }
    let (min, max) = (spec.min(), spec.max());
    // A one-label enumeration has min == max; hosts that normalise the range divide by
    // (max - min), so widen it to 0..1. The plugin clamps back to 0 (`ParamSpec::sanitize`).
    let max = if max > min { max } else { min + 1.0 };
    match spec.kind {
        ParamKind::Float { skew_center, .. } => {
            props.push(format!("lv2:default {}", float(spec.default_value())));
            props.push(format!("lv2:minimum {}", float(min)));
            props.push(format!("lv2:maximum {}", float(max)));
            // A slider whose middle is above the arithmetic mean of a positive range reads
            // as logarithmic (frequencies, ohms); LV2 has only the one hint for that.
            if let Some(center) = skew_center {
                if min > 0.0 && center < 0.5 * (min + max) {
                    props.push("lv2:portProperty pprops:logarithmic".to_owned());
                }
            }
        }
        ParamKind::Int { .. } => {
            props.push(format!("lv2:default {}", int(spec.default_value())));
            props.push(format!("lv2:minimum {}", int(min)));
            props.push(format!("lv2:maximum {}", int(max)));
            props.push("lv2:portProperty lv2:integer".to_owned());
        }
        ParamKind::Bool { .. } => {
            props.push(format!("lv2:default {}", int(spec.default_value())));
            props.push("lv2:minimum 0".to_owned());
            props.push("lv2:maximum 1".to_owned());
            props.push("lv2:portProperty lv2:toggled".to_owned());
        }
        ParamKind::Enum { labels, .. } => {
            props.push(format!("lv2:default {}", int(spec.default_value())));
            props.push(format!("lv2:minimum {}", int(min)));
            props.push(format!("lv2:maximum {}", int(max)));
            props.push("lv2:portProperty lv2:integer , lv2:enumeration".to_owned());
            let points: Vec<String> = labels
                .iter()
                .enumerate()
                .map(|(i, label)| format!("[ rdfs:label \"{}\" ; rdf:value {i} ]", escape(label)))
                .collect();
            props.push(format!(
                "lv2:scalePoint {}",
                points.join(" ,\n            ")
            ));
        }
    }
    if let Some(unit) = unit_ttl(spec.unit) {
        props.push(format!("units:unit {unit}"));
    }
    if !spec.group.is_empty() {
        props.push(format!(
            "pg:group <{plugin_uri}#{}>",
            group_symbol(spec.group)
        ));
    }
}

/// The `units:unit` object for a table unit (`" dB"`, `" Hz"`, …), or `None` for no unit.
/// Units outside the LV2 units vocabulary get an inline `units:Unit`.
fn unit_ttl(unit: &str) -> Option<String> {
    let unit = unit.trim();
    let known = match unit {
        "" => return None,
        "dB" => "units:db",
        "Hz" => "units:hz",
        "kHz" => "units:khz",
        "MHz" => "units:mhz",
        "%" => "units:pc",
        "ms" => "units:ms",
        "s" => "units:s",
        "samples" => "units:frame",
        "ct" | "cents" => "units:cent",
        "oct" => "units:oct",
        "st" => "units:semitone12TET",
        _ => {
            let label = match unit {
                "Ω" => "ohm",
                "µV" => "microvolt",
                "kΩ" => "kilohm",
                other => other,
            };
            // `units:render` is a printf format: a literal % is written %%.
            return Some(format!(
                "[ a units:Unit ; rdfs:label \"{label}\" ; units:symbol \"{symbol}\" ; units:render \"%f {render}\" ]",
                label = escape(label),
                symbol = escape(unit),
                render = escape(&unit.replace('%', "%%")),
            ));
        }
    };
    Some(known.to_owned())
}

/// Distinct non-empty parameter groups, in table order.
fn param_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for spec in PARAMS {
        if !spec.group.is_empty() && !groups.contains(&spec.group) {
            groups.push(spec.group);
        }
    }
    groups
}

/// A group's `lv2:symbol` (also its fragment in the group URI): `"Output"` → `group_output`.
/// The prefix keeps it apart from the audio groups `main_in` and `main_out`.
fn group_symbol(group: &str) -> String {
    let mut symbol = String::from("group_");
    for c in group.chars() {
        if c.is_ascii_alphanumeric() {
            symbol.push(c.to_ascii_lowercase());
        } else {
            symbol.push('_');
        }
    }
    symbol
}

/// Escape a string for a Turtle `"…"` literal (the text between the quotes).
fn escape(text: &str) -> String {
    let quoted = lv2_presets::turtle_string(text);
    quoted[1..quoted.len() - 1].to_owned()
}

/// Percent-encode a file name for use as a relative IRI (`<…>`).
fn iri_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A finite float as a Turtle decimal or double (`0.0`, `-24.0`, `1e-7`).
fn float(value: f32) -> String {
    lv2_presets::turtle_float(value)
}

/// A whole number as a Turtle integer.
fn int(value: f32) -> String {
    assert!(
        value.is_finite() && value.fract() == 0.0,
        "{value} is not an integer"
    );
    format!("{}", value as i64)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ports::{URI_MONO, URI_STEREO};

    /// One port block of the generated TTL, as `(index, symbol, full text)`.
    type PortBlock = (u32, String, String);

    /// The text describing `variant` (from its `<uri>` subject line to the final `.`).
    fn plugin_section(ttl: &str, variant: Variant) -> &str {
        let start = ttl
            .find(&format!("\n<{}>\n    a lv2:Plugin", variant.uri()))
            .expect("plugin subject present");
        let rest = &ttl[start + 1..];
        let end = rest.find(" .\n").expect("statement terminated");
        &rest[..end]
    }

    /// `(index, symbol)` of every port of `variant`, read back from the generated TTL.
    pub(crate) fn ttl_port_indices(variant: Variant) -> Vec<(u32, String)> {
        port_blocks(plugin_section(&plugin_ttl(), variant))
            .into_iter()
            .map(|(index, symbol, _)| (index, symbol))
            .collect()
    }

    /// Crude parse of the port blocks (enough for text we generate ourselves).
    fn port_blocks(section: &str) -> Vec<PortBlock> {
        section
            .split("lv2:port [")
            .skip(1)
            .map(|block| {
                let field = |key: &str| {
                    let at = block
                        .find(key)
                        .unwrap_or_else(|| panic!("{key} in {block}"));
                    block[at + key.len()..]
                        .split(" ;")
                        .next()
                        .unwrap()
                        .trim()
                        .to_owned()
                };
                let index = field("lv2:index ").parse().unwrap();
                let symbol = field("lv2:symbol ").trim_matches('"').to_owned();
                (index, symbol, block.to_owned())
            })
            .collect()
    }

    #[test]
    fn every_param_is_a_control_port_with_its_range() {
        let ttl = plugin_ttl();
        for variant in Variant::ALL {
            let blocks = port_blocks(plugin_section(&ttl, variant));
            for (row, spec) in PARAMS.iter().enumerate() {
                let (_, _, block) = blocks
                    .iter()
                    .find(|(_, s, _)| s == spec.id)
                    .unwrap_or_else(|| panic!("{} missing from {variant:?}", spec.id));
                assert!(block.contains("a lv2:InputPort , lv2:ControlPort"));
                assert!(block.contains(&format!("lv2:name \"{}\"", escape(spec.name))));
                assert!(block.contains("lv2:default "), "{}", spec.id);
                assert!(block.contains("lv2:minimum "), "{}", spec.id);
                assert!(block.contains("lv2:maximum "), "{}", spec.id);
                match spec.kind {
                    ParamKind::Bool { .. } => assert!(block.contains("lv2:toggled")),
                    ParamKind::Int { .. } => assert!(block.contains("lv2:integer")),
                    ParamKind::Enum { labels, .. } => {
                        assert!(block.contains("lv2:enumeration"));
                        for (i, label) in labels.iter().enumerate() {
                            let point =
                                format!("[ rdfs:label \"{}\" ; rdf:value {i} ]", escape(label));
                            assert!(block.contains(&point), "{} lacks {point}", spec.id);
                        }
                    }
                    ParamKind::Float { .. } => {
                        let default = format!("lv2:default {}", float(spec.default_value()));
                        assert!(block.contains(&default), "{}", spec.id);
                    }
                }
                if spec.unit.trim() == "dB" {
                    assert!(block.contains("units:unit units:db"), "{}", spec.id);
                }
                let index = port_index(variant, Port::Control(row));
                assert!(block.contains(&format!("lv2:index {index} ;")));
            }
        }
    }

    #[test]
    fn port_indices_in_ttl_match_runtime_layout() {
        let ttl = plugin_ttl();
        for variant in Variant::ALL {
            let blocks = port_blocks(plugin_section(&ttl, variant));
            assert_eq!(blocks.len() as u32, variant.port_count());
            for (index, symbol, _) in &blocks {
                let port = variant.port(*index).expect("index in range");
                assert_eq!(port.symbol(variant), symbol, "{variant:?} port {index}");
            }
            let latency = blocks
                .iter()
                .find(|(_, s, _)| s == "latency")
                .expect("latency port");
            assert_eq!(latency.0, port_index(variant, Port::Latency));
            assert!(latency.2.contains("a lv2:OutputPort , lv2:ControlPort"));
            assert!(latency.2.contains("lv2:designation lv2:latency"));
            assert!(latency.2.contains("lv2:reportsLatency"));
        }
    }

    #[test]
    fn plugin_header_and_manifest() {
        let ttl = plugin_ttl();
        for variant in Variant::ALL {
            let section = plugin_section(&ttl, variant);
            assert!(section.contains("a lv2:Plugin , lv2:SimulatorPlugin"));
            assert!(section.contains(&format!("doap:name \"{}\"", variant.name())));
            assert!(section.contains(&format!("doap:license <{LICENSE_URI}>")));
            assert!(section.contains("lv2:optionalFeature lv2:hardRTCapable , urid:map"));
            assert!(section.contains("lv2:extensionData state:interface"));
            assert!(!section.contains("lv2:requiredFeature"));
        }
        assert!(!ttl.contains("inPlaceBroken"));
        // The state properties are described (a saved state then validates).
        for key in [
            lv2_presets::STATE_CUSTOM_LOAD_NAME,
            lv2_presets::STATE_CUSTOM_LOAD,
        ] {
            assert!(
                ttl.contains(&format!("\n<{key}>\n    a rdf:Property ;")),
                "{key}"
            );
        }
        assert!(ttl.contains("doap:name \"Sourcery (mono)\""));

        let manifest = manifest_ttl("libsourcery_lv2.so");
        for variant in Variant::ALL {
            assert!(manifest.contains(&format!("<{}>", variant.uri())));
        }
        assert_eq!(
            manifest.matches("lv2:binary <libsourcery_lv2.so>").count(),
            2
        );
        assert_eq!(manifest.matches("rdfs:seeAlso <sourcery.ttl>").count(), 2);
        assert!(manifest_ttl("my plugin>.so").contains("lv2:binary <my%20plugin%3E.so>"));
    }

    #[test]
    fn strings_and_numbers_are_valid_turtle() {
        assert_eq!(escape(r#"a "b" \c"#), r#"a \"b\" \\c"#);
        assert_eq!(escape("line\nnext"), "line\\nnext");
        assert_eq!(float(0.0), "0.0");
        assert_eq!(float(-24.0), "-24.0");
        assert_eq!(float(0.5), "0.5");
        assert_eq!(int(3.0), "3");
        assert_eq!(unit_ttl(" dB").as_deref(), Some("units:db"));
        assert_eq!(unit_ttl(" Hz").as_deref(), Some("units:hz"));
        assert_eq!(unit_ttl(" %").as_deref(), Some("units:pc"));
        assert_eq!(unit_ttl(""), None);
        let ohm = unit_ttl(" Ω").unwrap();
        assert!(ohm.contains("rdfs:label \"ohm\"") && ohm.contains("units:render \"%f Ω\""));
        assert_eq!(group_symbol("Output"), "group_output");
        assert_eq!(group_symbol("Amp & Load"), "group_amp___load");
        let symbols: Vec<String> = param_groups().into_iter().map(group_symbol).collect();
        for (i, s) in symbols.iter().enumerate() {
            assert!(!symbols[i + 1..].contains(s), "two groups map to {s}");
        }
        // Every quote in the generated text is balanced (no unescaped quote in a literal).
        for line in plugin_ttl().lines() {
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
        }
    }

    #[test]
    fn presets_ttl_lists_every_factory_preset_for_both_plugins() {
        let factory = sourcery_dsp::presets::factory_presets();
        let presets = factory_presets();
        assert_eq!(presets.len(), 2 * factory.len());
        let ttl = presets_ttl();
        let manifest = manifest_ttl("libsourcery_lv2.so");
        let mut uris: Vec<&str> = presets.iter().map(|p| p.uri.as_str()).collect();
        uris.sort_unstable();
        uris.dedup();
        assert_eq!(uris.len(), presets.len(), "preset URIs are unique");
        for variant in Variant::ALL {
            for preset in factory {
                let entry = presets
                    .iter()
                    .find(|p| p.plugin == variant.uri() && p.preset.id == preset.id)
                    .unwrap_or_else(|| panic!("{variant:?}: {} missing", preset.id));
                // The statement in presets.ttl: label, comment, every port the preset sets.
                let start = ttl.find(&format!("\n<{}>\n", entry.uri)).expect("subject");
                let block = &ttl[start..];
                let block = &block[..block.find(" .\n").expect("statement end")];
                assert!(block.contains(&format!("lv2:appliesTo <{}>", variant.uri())));
                assert!(block.contains(&format!("rdfs:label \"{}\"", escape(&preset.name))));
                if let Some(description) = &preset.description {
                    assert!(block.contains(&format!("rdfs:comment \"{}", escape(description))));
                }
                if let Some(basis) = &preset.basis {
                    assert!(block.contains(&escape(basis)), "{}: basis", preset.id);
                }
                assert_eq!(block.matches("lv2:symbol").count(), preset.values.len());
                for &(id, value) in &preset.values {
                    let port = format!(
                        "lv2:symbol \"{}\" ;\n        pset:value {}\n",
                        id.spec().id,
                        float(value)
                    );
                    assert!(block.contains(&port), "{}: {port}", preset.id);
                }
                assert!(manifest.contains(&format!(
                    "<{}>\n    a pset:Preset ;\n    lv2:appliesTo <{}> ;\n    rdfs:seeAlso <{PRESETS_TTL_FILE}> .",
                    entry.uri,
                    variant.uri()
                )));
            }
        }
        // The headphone presets keep the URIs hosts stored before device and combo presets
        // came; the others are named by their id.
        for uri in [
            format!("{URI_STEREO}/presets/sennheiser-hd600"),
            format!("{URI_MONO}/presets/sennheiser-hd600"),
            format!("{URI_STEREO}/presets/device/fiio-k7"),
        ] {
            assert!(uris.contains(&uri.as_str()), "{uri}");
        }
        assert_eq!(
            legacy_headphone_slug("Campfire Andromeda (2020)"),
            "campfire-andromeda--2020"
        );
        let combos = presets
            .iter()
            .filter(|p| p.preset.id.starts_with("combo/"))
            .count();
        assert!(combos >= 10, "{combos} combo presets for the two plugins");
    }

    #[test]
    fn write_bundle_writes_both_files() {
        let dir = std::env::temp_dir().join(format!("sourcery-lv2-ttl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_bundle(&dir, "libsourcery_lv2.so").unwrap();
        let manifest = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        let plugin = std::fs::read_to_string(dir.join(PLUGIN_TTL_FILE)).unwrap();
        assert_eq!(manifest, manifest_ttl("libsourcery_lv2.so"));
        assert_eq!(plugin, plugin_ttl());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
