//! Presets as LV2 presets (`pset:Preset`), in Turtle text: for the LV2 bundle's factory
//! presets and for user preset bundles that any LV2 host (lilv) lists beside them.
//!
//! Pure text, no LV2 library: the CLAP plugin (which saves user presets), the xtask and the
//! LV2 wrapper all call it. The two plugin URIs and the state keys are defined here once; the
//! LV2 wrapper re-exports them.
//!
//! A user preset bundle has the shape `lilv_state_save` writes:
//! ```text
//! ~/.lv2/sourcery-<slug>.preset.lv2/
//!     manifest.ttl     <slug>.ttl a pset:Preset ; lv2:appliesTo <plugin> ; rdfs:seeAlso <slug.ttl>
//!     <slug>.ttl       <> a pset:Preset ; lv2:appliesTo <plugin> ; rdfs:label "…" ;
//!                         lv2:port [ lv2:symbol "volume" ; pset:value 50.0 ] , … ;
//!                         state:state [ <…#custom_load_name> "…" ; <…#custom_load> """…""" ]
//!     <slug>-mono.ttl  the same preset for the mono plugin
//! ```
//! Port values are the parameters' plain values, exactly what the control ports hold; the
//! imported impedance curve, if any, travels in `state:state` as two `atom:String`
//! properties ([`STATE_CUSTOM_LOAD_NAME`], [`STATE_CUSTOM_LOAD`]) that the plugin's
//! `state:interface` restores.
//!
//! References: LV2 presets (<http://lv2plug.in/ns/ext/presets>), state
//! (<http://lv2plug.in/ns/ext/state>), Turtle (<https://www.w3.org/TR/turtle/>), lilv's
//! `lilv_state_save` (the layout hosts write).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::preset::{slug, Preset};

/// LV2 URI of the stereo plugin.
pub const URI_STEREO: &str = "https://sourcery.audio/lv2/sourcery";
/// LV2 URI of the mono plugin.
pub const URI_MONO: &str = "https://sourcery.audio/lv2/sourcery-mono";

/// State property (`atom:String`): the imported impedance curve's file name (its extension
/// picks the parser).
pub const STATE_CUSTOM_LOAD_NAME: &str = "https://sourcery.audio/lv2/sourcery#custom_load_name";
/// State property (`atom:String`): the imported impedance curve's file text, verbatim.
pub const STATE_CUSTOM_LOAD: &str = "https://sourcery.audio/lv2/sourcery#custom_load";

/// The prefixes [`preset_statements`] uses.
pub const PRESET_PREFIXES: &str = "\
@prefix lv2:   <http://lv2plug.in/ns/lv2core#> .
@prefix pset:  <http://lv2plug.in/ns/ext/presets#> .
@prefix rdfs:  <http://www.w3.org/2000/01/rdf-schema#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .
";

/// The predicate-object list of `preset` as an LV2 preset of `plugin` (one of the plugin
/// URIs), ending in ` .\n`; the caller writes the subject before it. Labels it with the
/// preset's name, comments it with its description and basis, sets every port the preset
/// sets (symbol = parameter id, value = plain value) and puts its curve, if any, in
/// `state:state`.
///
/// # Panics
/// On a non-finite value (a [`Preset`] from the parser never has one).
pub fn preset_statements(preset: &Preset, plugin: &str) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = write!(
        out,
        "    a pset:Preset ;\n    lv2:appliesTo <{plugin}> ;\n    rdfs:label {}",
        turtle_string(&preset.name)
    );
    if let Some(comment) = preset.comment() {
        let _ = write!(out, " ;\n    rdfs:comment {}", turtle_string(&comment));
    }
    if !preset.values.is_empty() {
        let ports: Vec<String> = preset
            .values
            .iter()
            .map(|&(id, value)| {
                format!(
                    "[\n        lv2:symbol {} ;\n        pset:value {}\n    ]",
                    turtle_string(id.spec().id),
                    turtle_float(value)
                )
            })
            .collect();
        let _ = write!(out, " ;\n    lv2:port {}", ports.join(" , "));
    }
    if let Some(curve) = &preset.custom_load {
        let _ = write!(
            out,
            " ;\n    state:state [\n        <{STATE_CUSTOM_LOAD_NAME}> {} ;\n        <{STATE_CUSTOM_LOAD}> {}\n    ]",
            turtle_string(&curve.name),
            turtle_long_string(&curve.text)
        );
    }
    out.push_str(" .\n");
    out
}

/// Name of the user preset bundle of `preset`: `sourcery-<slug>.preset.lv2`.
pub fn user_bundle_name(preset: &Preset) -> String {
    format!("sourcery-{}.preset.lv2", slug(&preset.name))
}

/// The files of `preset`'s user bundle as `(file name, text)`: the manifest, then one preset
/// file per plugin (stereo `<slug>.ttl`, mono `<slug>-mono.ttl`).
pub fn user_bundle_files(preset: &Preset) -> Vec<(String, String)> {
    let slug = slug(&preset.name);
    let variants = [
        (URI_STEREO, format!("{slug}.ttl")),
        (URI_MONO, format!("{slug}-mono.ttl")),
    ];
    let mut manifest = String::from(
        "@prefix lv2:  <http://lv2plug.in/ns/lv2core#> .\n\
         @prefix pset: <http://lv2plug.in/ns/ext/presets#> .\n\
         @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
    );
    let mut files = Vec::new();
    for (plugin, file) in variants {
        let _ = write!(
            manifest,
            "\n<{file}>\n    a pset:Preset ;\n    lv2:appliesTo <{plugin}> ;\n    rdfs:seeAlso <{file}> .\n"
        );
        files.push((
            file,
            format!(
                "{PRESET_PREFIXES}\n<>\n{}",
                preset_statements(preset, plugin)
            ),
        ));
    }
    files.insert(0, ("manifest.ttl".to_owned(), manifest));
    files
}

/// Write `preset` as an LV2 preset bundle `<lv2_dir>/sourcery-<slug>.preset.lv2/` (see the
/// module docs), for both plugins, creating `lv2_dir` if needed. The bundle is written into
/// a temporary folder beside it and renamed into place, replacing a bundle of the same name,
/// so a host never reads half a preset. Returns the bundle's path.
pub fn write_user_lv2_preset(preset: &Preset, lv2_dir: &Path) -> std::io::Result<PathBuf> {
    if let Some((id, value)) = preset.values.iter().find(|(_, v)| !v.is_finite()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{}` = {value} is not a number", id.spec().id),
        ));
    }
    std::fs::create_dir_all(lv2_dir)?;
    let name = user_bundle_name(preset);
    let bundle = lv2_dir.join(&name);
    let unique = format!("{}-{}", std::process::id(), unique_suffix());
    let tmp = lv2_dir.join(format!(".{name}.tmp-{unique}"));
    let result = (|| {
        std::fs::create_dir(&tmp)?;
        for (file, text) in user_bundle_files(preset) {
            std::fs::write(tmp.join(file), text)?;
        }
        replace_dir(
            &tmp,
            &bundle,
            &lv2_dir.join(format!(".{name}.old-{unique}")),
        )
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map(|()| bundle)
}

/// Rename `from` to `to`; an existing `to` is first moved to `backup` (a folder cannot be
/// renamed over a non-empty one) and removed after, or put back if the rename fails.
fn replace_dir(from: &Path, to: &Path, backup: &Path) -> std::io::Result<()> {
    if !to.exists() {
        return std::fs::rename(from, to);
    }
    std::fs::rename(to, backup)?;
    match std::fs::rename(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(backup);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::rename(backup, to);
            Err(e)
        }
    }
}

/// A number that differs between calls in one process (temporary names of concurrent saves).
fn unique_suffix() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The user's LV2 folder, where hosts look for bundles by default (`$LV2_PATH` overrides
/// the whole search path, so it is not where to write): `~/.lv2` on Linux and other Unix,
/// `~/Library/Audio/Plug-Ins/LV2` on macOS, `%APPDATA%\LV2` on Windows. `None` when the home
/// (or `APPDATA`) folder is unknown.
pub fn user_lv2_dir() -> Option<PathBuf> {
    lv2_dir_from(|name| std::env::var_os(name))
}

/// [`user_lv2_dir`] with the environment as a function (for tests).
fn lv2_dir_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let var = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        var("APPDATA").map(|p| p.join("LV2"))
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|p| p.join("Library/Audio/Plug-Ins/LV2"))
    } else {
        var("HOME").map(|p| p.join(".lv2"))
    }
}

/// `text` as a Turtle short string literal `"…"`: quotes, backslashes and control
/// characters escaped (Turtle §6.4 ECHAR and UCHAR).
pub fn turtle_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` as a Turtle long string literal `"""…"""` (line breaks kept as they are, so a
/// curve file stays readable): every quote and backslash escaped, so no run of quotes can
/// end it early, and control characters other than the line feed and tab escaped.
pub fn turtle_long_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 6);
    out.push_str("\"\"\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str("\"\"\"");
    out
}

/// A finite float as a Turtle decimal or double (`0.0`, `-24.0`, `1e-7`): the shortest text
/// that reads back to the same `f32`.
///
/// # Panics
/// On a non-finite value, which Turtle cannot write as a number.
pub fn turtle_float(value: f32) -> String {
    assert!(value.is_finite(), "{value} has no Turtle number");
    // `Debug` always writes a `.` or an exponent, both valid Turtle numeric literals.
    format!("{value:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{BandField, ParamId, ParamValues};
    use crate::presets::{HeadphoneSlot, PresetCurve};

    /// Undo [`turtle_string`] / [`turtle_long_string`] escapes (the ones they write).
    fn unescape(body: &str) -> String {
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().unwrap() {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                other => out.push(other),
            }
        }
        out
    }

    fn sample_preset() -> Preset {
        let mut values = ParamValues::default();
        values.set(ParamId::Volume, 37.123_455);
        values.set(ParamId::OutputTrim, -3.3);
        values.set(ParamId::Headphone, HeadphoneSlot::CUSTOM.0 as f32);
        values.set(ParamId::band(3, BandField::Q), 0.691_234_5);
        let mut preset = Preset::from_values("My \"K13\" \\ HD600\nnight", &values);
        preset.description = Some("Two lines\nof \"text\"".into());
        preset.basis = Some("my ears".into());
        preset.custom_load = Some(PresetCurve {
            name: "my \"iem\".zma".into(),
            text: "* REW \"quoted\" \\ path\r\n20 30 0\n1000 32 5\n\"\"\"\n20000 40 10\n".into(),
        });
        preset
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(turtle_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(
            turtle_string("line\nnext\r\t\u{1}"),
            "\"line\\nnext\\r\\t\\u0001\""
        );
        assert_eq!(
            turtle_long_string("a\n\"\"\"b\\"),
            "\"\"\"a\n\\\"\\\"\\\"b\\\\\"\"\""
        );
        let text = "x \"y\"\n\\z\r\n\"\"\"\"\u{7f}";
        let short = turtle_string(text);
        assert_eq!(unescape(&short[1..short.len() - 1]), text);
        let long = turtle_long_string(text);
        let body = &long[3..long.len() - 3];
        assert!(!body.contains("\"\"\""), "{long}");
        assert_eq!(unescape(body), text);
        assert_eq!(turtle_float(0.0), "0.0");
        assert_eq!(turtle_float(-24.0), "-24.0");
        assert_eq!(turtle_float(1e-7), "1e-7");
        assert_eq!(turtle_float(0.691_234_5).parse::<f32>(), Ok(0.691_234_5));
    }

    #[test]
    fn preset_file_sets_every_port_and_carries_the_curve() {
        let preset = sample_preset();
        let files = user_bundle_files(&preset);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let slug = "my-k13-hd600-night";
        assert_eq!(
            names,
            [
                "manifest.ttl",
                &format!("{slug}.ttl"),
                &format!("{slug}-mono.ttl")
            ]
        );
        for ((_, text), plugin) in files[1..].iter().zip([URI_STEREO, URI_MONO]) {
            assert!(text.starts_with(PRESET_PREFIXES));
            assert!(text.contains(&format!(
                "\n<>\n    a pset:Preset ;\n    lv2:appliesTo <{plugin}> ;"
            )));
            assert!(
                text.contains(r#"rdfs:label "My \"K13\" \\ HD600\nnight""#),
                "{text}"
            );
            assert!(text.contains(r#"rdfs:comment "Two lines\nof \"text\"\nBasis: my ears""#));
            // Every value the preset sets, once, with the value that reads back bit for bit.
            assert_eq!(text.matches("lv2:symbol ").count(), preset.values.len());
            for &(id, value) in &preset.values {
                let port = format!(
                    "lv2:symbol \"{}\" ;\n        pset:value {}\n",
                    id.spec().id,
                    turtle_float(value)
                );
                assert_eq!(text.matches(&port).count(), 1, "{port}");
                assert_eq!(
                    turtle_float(value).parse::<f32>().unwrap().to_bits(),
                    value.to_bits()
                );
            }
            // The curve, verbatim after unescaping, in state:state.
            let state = &text[text.find("state:state [").expect("state")..];
            let name_at = state
                .find(&format!("<{STATE_CUSTOM_LOAD_NAME}> \""))
                .unwrap();
            let name = &state[name_at + STATE_CUSTOM_LOAD_NAME.len() + 4..];
            let name = &name[..name.find("\" ;").unwrap()];
            assert_eq!(unescape(name), "my \"iem\".zma");
            let text_at = state
                .find(&format!("<{STATE_CUSTOM_LOAD}> \"\"\""))
                .unwrap();
            let body = &state[text_at + STATE_CUSTOM_LOAD.len() + 6..];
            let body = &body[..body.find("\"\"\"\n    ] .\n").expect("long string closed")];
            assert_eq!(unescape(body), preset.custom_load.as_ref().unwrap().text);
            assert!(text.ends_with("    ] .\n"));
        }
        let manifest = &files[0].1;
        for (file, plugin) in [
            (format!("{slug}.ttl"), URI_STEREO),
            (format!("{slug}-mono.ttl"), URI_MONO),
        ] {
            assert!(manifest.contains(&format!(
                "<{file}>\n    a pset:Preset ;\n    lv2:appliesTo <{plugin}> ;\n    rdfs:seeAlso <{file}> .\n"
            )));
        }
        // Without a curve there is no state; without metadata no comment.
        let plain = Preset {
            custom_load: None,
            description: None,
            basis: None,
            ..preset
        };
        let text = preset_statements(&plain, URI_STEREO);
        assert!(!text.contains("state:state") && !text.contains("rdfs:comment"));
    }

    #[test]
    fn bundle_is_written_atomically_and_replaced() {
        let dir = std::env::temp_dir().join(format!("sourcery-lv2-presets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut preset = sample_preset();
        let path = write_user_lv2_preset(&preset, &dir).unwrap();
        assert_eq!(path, dir.join("sourcery-my-k13-hd600-night.preset.lv2"));
        for (file, text) in user_bundle_files(&preset) {
            assert_eq!(std::fs::read_to_string(path.join(file)).unwrap(), text);
        }
        // Saved again with another value: replaced, and nothing else is left in the folder.
        preset.values[0].1 = 12.0;
        std::fs::write(path.join("stale.ttl"), "").unwrap();
        assert_eq!(write_user_lv2_preset(&preset, &dir).unwrap(), path);
        assert!(!path.join("stale.ttl").exists());
        for (file, text) in user_bundle_files(&preset) {
            assert_eq!(std::fs::read_to_string(path.join(file)).unwrap(), text);
        }
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries,
            [std::ffi::OsString::from(
                "sourcery-my-k13-hd600-night.preset.lv2"
            )]
        );
        // A non-finite value is refused before anything is written.
        preset.values[0].1 = f32::NAN;
        preset.name = "Broken".into();
        assert!(write_user_lv2_preset(&preset, &dir).is_err());
        assert!(!dir.join("sourcery-broken.preset.lv2").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn user_lv2_dir_is_the_platform_folder() {
        let env = |name: &str| (name == "HOME" || name == "APPDATA").then(|| "/home/u".into());
        let want = if cfg!(windows) {
            "/home/u/LV2"
        } else if cfg!(target_os = "macos") {
            "/home/u/Library/Audio/Plug-Ins/LV2"
        } else {
            "/home/u/.lv2"
        };
        assert_eq!(lv2_dir_from(env), Some(PathBuf::from(want)));
        assert_eq!(lv2_dir_from(|_| None), None);
        assert_eq!(lv2_dir_from(|_| Some("relative".into())), None);
    }
}
