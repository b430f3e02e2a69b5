//! `sourcery presets …`: list, show and save presets ([`sourcery_dsp::presets::preset`]).
//!
//! ```text
//! sourcery presets list [--json]
//! sourcery presets show ID|NAME|FILE
//! sourcery presets save --name NAME [--description TEXT] [--overwrite] [--dir DIR]
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
        bail!("no preset '{value}'; `sourcery presets list` shows them")
    }
    bail!("no preset '{value}'; did you mean: {}", close.join(", "))
}

/// `sourcery presets list`.
pub fn list(json: bool) -> Result<()> {
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

/// Where `presets save` writes the LV2 preset bundle.
#[derive(Debug, Clone, PartialEq)]
pub enum Lv2Target {
    /// `~/.lv2` (or the platform's user LV2 folder).
    User,
    Dir(PathBuf),
    None,
}

/// What `presets save` is asked to do.
#[derive(Debug, Clone)]
pub struct SaveRequest {
    pub name: String,
    pub description: Option<String>,
    pub overwrite: bool,
    /// The user preset folder when `None`.
    pub dir: Option<PathBuf>,
    pub lv2: Lv2Target,
    /// The settings, as `render`'s setting flags (`--preset` among them).
    pub settings: Vec<String>,
}

/// `sourcery presets save …`: the path of the preset file written.
pub fn save(request: &SaveRequest) -> Result<PathBuf> {
    let (settings, rate, files) = crate::render::parse_settings(&request.settings)?;
    if rate.is_some() || !files.is_empty() {
        bail!("a preset holds settings only (no --rate, no files)");
    }
    let mut preset = Preset::from_values(&request.name, &settings.to_values());
    preset.description.clone_from(&request.description);
    let dir = request
        .dir
        .clone()
        .or_else(user_preset_dir)
        .ok_or_else(|| anyhow!("no user config folder on this system; give --dir"))?;
    let path = save_user_preset(&dir, &preset, request.overwrite)
        .with_context(|| format!("save the preset into {}", dir.display()))?;
    println!("Saved '{}' to {}", preset.name, path.display());
    let lv2_dir = match &request.lv2 {
        Lv2Target::User => sourcery_dsp::presets::lv2::user_lv2_dir(),
        Lv2Target::Dir(dir) => Some(dir.clone()),
        Lv2Target::None => None,
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
        let request = |name: &str, lv2: Lv2Target, settings: &str| SaveRequest {
            name: name.to_owned(),
            description: Some("Mine".into()),
            overwrite: false,
            dir: Some(dir.join("presets")),
            lv2,
            settings: args(settings),
        };
        let path = save(&request("Desk", Lv2Target::Dir(dir.join("lv2")), flags)).unwrap();
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
        let again = save(&request("Desk", Lv2Target::None, "--device ideal"));
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
