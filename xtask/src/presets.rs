//! `cargo xtask preset …`: list, show and save presets ([`sourcery_dsp::presets::preset`]).
//!
//! ```text
//! cargo xtask preset list [--json]
//! cargo xtask preset show ID|NAME|FILE
//! cargo xtask preset save --name NAME [--description TEXT] [--overwrite] [--dir DIR]
//!     [--lv2-dir DIR | --no-lv2] [--preset ID] [render's setting flags]
//! ```
//! `save` writes the settings the flags describe (every parameter but bypass, as the
//! editor's "Save as preset" does) into the user preset folder, where CLAP hosts find it
//! after a rescan and the editor lists it, and an LV2 preset bundle into `~/.lv2`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use sourcery_dsp::presets::{
    factory_presets, read_preset, save_user_preset, user_preset_dir, user_presets, Preset,
};

pub const USAGE: &str = "cargo xtask preset list [--json] | preset show ID|NAME|FILE | \
     preset save --name NAME [--description TEXT] [--overwrite] [--dir DIR] \
     [--lv2-dir DIR | --no-lv2] [render's setting flags, --preset ID included]";

/// Every preset: the factory ones, then the user's (files that fail are reported).
fn all_presets() -> Vec<(Preset, bool)> {
    let mut all: Vec<(Preset, bool)> = factory_presets()
        .iter()
        .map(|p| (p.clone(), true))
        .collect();
    if let Some(dir) = user_preset_dir() {
        let (presets, errors) = user_presets(&dir);
        for error in errors {
            eprintln!("warning: user preset skipped: {error}");
        }
        all.extend(presets.into_iter().map(|p| (p, false)));
    }
    all
}

/// A preset named by its id (`combo/k7-andromeda`, a user file's stem), its name (any
/// case), or a `.toml` file.
pub fn find(value: &str) -> Result<Preset> {
    let path = Path::new(value);
    if path.extension().is_some_and(|e| e == "toml") && path.exists() {
        return read_preset(path).map_err(|e| anyhow!("{e}"));
    }
    let all = all_presets();
    if let Some((preset, _)) = all
        .iter()
        .find(|(p, _)| p.id == value || p.name.eq_ignore_ascii_case(value))
    {
        return Ok(preset.clone());
    }
    let lower = value.to_ascii_lowercase();
    let close: Vec<&str> = all
        .iter()
        .filter(|(p, _)| p.id.contains(&lower) || p.name.to_ascii_lowercase().contains(&lower))
        .map(|(p, _)| p.id.as_str())
        .collect();
    if close.is_empty() {
        bail!("no preset '{value}'; `cargo xtask preset list` shows them")
    }
    bail!("no preset '{value}'; did you mean: {}", close.join(", "))
}

pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("list") => list(&args[1..]),
        Some("show") => {
            let name = args.get(1).ok_or_else(|| anyhow!("usage: {USAGE}"))?;
            print!("{}", find(name)?.to_toml());
            Ok(())
        }
        Some("save") => save(&args[1..]).map(drop),
        _ => bail!("usage: {USAGE}"),
    }
}

fn list(args: &[String]) -> Result<()> {
    let json = match args {
        [] => false,
        [flag] if flag == "--json" => true,
        _ => bail!("usage: {USAGE}"),
    };
    let all = all_presets();
    if json {
        let rows: Vec<String> = all
            .iter()
            .map(|(p, factory)| {
                format!(
                    "{{\"id\":{:?},\"name\":{:?},\"factory\":{factory},\"description\":{:?},\"basis\":{:?}}}",
                    p.id,
                    p.name,
                    p.description.as_deref().unwrap_or(""),
                    p.basis.as_deref().unwrap_or("")
                )
            })
            .collect();
        println!("[{}]", rows.join(",\n "));
        return Ok(());
    }
    for (preset, factory) in &all {
        println!(
            "{:<40} {}{}{}",
            preset.id,
            preset.name,
            if *factory { "" } else { "  (user)" },
            if preset.basis.is_some() {
                "  [basis given]"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `preset save …`: the path of the preset file written.
pub fn save(args: &[String]) -> Result<PathBuf> {
    let mut name = None;
    let mut description = None;
    let mut overwrite = false;
    let mut dir = None;
    let mut lv2_dir: Option<Option<PathBuf>> = None;
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{arg} needs a value\nusage: {USAGE}"))
        };
        match arg.as_str() {
            "--name" => name = Some(value()?),
            "--description" => description = Some(value()?),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--lv2-dir" => lv2_dir = Some(Some(PathBuf::from(value()?))),
            "--no-lv2" => lv2_dir = Some(None),
            "--overwrite" => overwrite = true,
            _ => rest.push(arg.clone()),
        }
    }
    let name = name.ok_or_else(|| anyhow!("--name is required\nusage: {USAGE}"))?;
    let (settings, rate, files) = crate::render::parse_settings(&rest)?;
    if rate.is_some() || !files.is_empty() {
        bail!("a preset holds settings only (no --rate, no files)\nusage: {USAGE}");
    }
    let mut preset = Preset::from_values(&name, &settings.to_values());
    preset.description = description;
    let dir = dir
        .or_else(user_preset_dir)
        .ok_or_else(|| anyhow!("no user config folder on this system; give --dir"))?;
    let path = save_user_preset(&dir, &preset, overwrite)
        .with_context(|| format!("save the preset into {}", dir.display()))?;
    println!("Saved '{}' to {}", preset.name, path.display());
    let lv2_dir = match lv2_dir {
        Some(dir) => dir,
        None => sourcery_dsp::presets::lv2::user_lv2_dir(),
    };
    if let Some(lv2_dir) = lv2_dir {
        let bundle = sourcery_dsp::presets::lv2::write_user_lv2_preset(&preset, &lv2_dir)
            .with_context(|| format!("write the LV2 preset into {}", lv2_dir.display()))?;
        println!("LV2 preset bundle: {}", bundle.display());
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sourcery_dsp::{ParamId, Settings};

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn save_writes_the_settings_a_render_would_use_and_an_lv2_bundle() {
        let dir =
            std::env::temp_dir().join(format!("sourcery-xtask-preset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let flags = "--preset combo/k7-andromeda --volume 40 --output bal";
        let path = save(&args(&format!(
            "--name Desk --description Mine --dir {} --lv2-dir {} {flags}",
            dir.join("presets").display(),
            dir.join("lv2").display()
        )))
        .unwrap();
        let saved = read_preset(&path).unwrap();
        assert_eq!(saved.name, "Desk");
        assert_eq!(saved.description.as_deref(), Some("Mine"));
        // The same flags on `render` give the same settings.
        let (settings, _, _) = crate::render::parse_settings(&args(flags)).unwrap();
        let mut values = Settings::default().to_values();
        saved.apply_to(&mut values);
        assert_eq!(Settings::from_values(&values), settings);
        assert_eq!(saved.value(ParamId::Volume), Some(40.0));
        // --preset set the K7 + Andromeda and its PEQ; the flags came after it.
        let k7 = factory_presets()
            .iter()
            .find(|p| p.id == "combo/k7-andromeda")
            .unwrap();
        assert_eq!(
            saved.value(ParamId::PeqPreamp),
            k7.value(ParamId::PeqPreamp)
        );
        assert!(dir
            .join("lv2/sourcery-desk.preset.lv2/manifest.ttl")
            .is_file());
        // Saving again without --overwrite is refused.
        let again = save(&args(&format!(
            "--name Desk --dir {} --no-lv2 --device ideal",
            dir.join("presets").display()
        )));
        assert!(format!("{:#}", again.unwrap_err()).contains("exists"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unknown_preset_suggests_close_ones() {
        let err = find("andromeda").unwrap_err().to_string();
        assert!(err.contains("combo/k7-andromeda"), "{err}");
        assert!(find("K7 + ANDROMEDA").is_ok());
        assert!(find("headphone/sennheiser-hd600").is_ok());
    }
}
