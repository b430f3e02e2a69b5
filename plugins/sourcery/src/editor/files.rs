//! A small file picker drawn in egui. A plugin window cannot safely run the desktop's
//! native dialog on Linux (it needs its own event loop or a portal), so the picker lists a
//! folder inside the editor: folders first, then files with the wanted extensions.

use std::path::{Path, PathBuf};

/// A path field with a "Browse…" picker.
#[derive(Debug, Default)]
pub struct FileField {
    pub path: String,
    browsing: Option<Browser>,
}

#[derive(Debug)]
struct Browser {
    dir: PathBuf,
    entries: Vec<(String, bool)>,
    error: Option<String>,
}

impl Browser {
    fn open(dir: PathBuf, extensions: &[&str]) -> Self {
        let mut browser = Self {
            dir,
            entries: Vec::new(),
            error: None,
        };
        browser.refresh(extensions);
        browser
    }

    fn refresh(&mut self, extensions: &[&str]) {
        self.entries.clear();
        self.error = None;
        match std::fs::read_dir(&self.dir) {
            Ok(read) => {
                for entry in read.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') {
                        continue;
                    }
                    let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                    let wanted = is_dir
                        || extensions
                            .iter()
                            .any(|ext| name.to_ascii_lowercase().ends_with(&format!(".{ext}")));
                    if wanted {
                        self.entries.push((name, is_dir));
                    }
                }
                self.entries.sort_by(|a, b| {
                    b.1.cmp(&a.1)
                        .then(a.0.to_lowercase().cmp(&b.0.to_lowercase()))
                });
            }
            Err(e) => self.error = Some(format!("{}: {e}", self.dir.display())),
        }
    }
}

fn start_dir(path: &str) -> PathBuf {
    let p = Path::new(path.trim());
    if p.is_dir() {
        return p.to_path_buf();
    }
    if let Some(parent) = p
        .parent()
        .filter(|d| d.is_dir() && !d.as_os_str().is_empty())
    {
        return parent.to_path_buf();
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| PathBuf::from("/"))
}

impl FileField {
    /// The path field, "Browse…" and the action button labelled `action`. Returns true when
    /// the action was asked for (button, Enter in the field, or a file picked).
    pub fn show(&mut self, ui: &mut egui::Ui, id: &str, extensions: &[&str], action: &str) -> bool {
        let mut go = false;
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path)
                    .id_salt(id)
                    .hint_text(format!("path to a .{} file", extensions.join(" / .")))
                    .desired_width(ui.available_width() - 170.0),
            );
            if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                go = true;
            }
            if ui.button("Browse…").clicked() {
                self.browsing = match self.browsing {
                    Some(_) => None,
                    None => Some(Browser::open(start_dir(&self.path), extensions)),
                };
            }
            if ui.button(action).clicked() {
                go = true;
            }
        });
        let mut close = false;
        if let Some(browser) = &mut self.browsing {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.horizontal(|ui| {
                    if ui.button("Up").clicked() {
                        if let Some(parent) = browser.dir.parent() {
                            browser.dir = parent.to_path_buf();
                            browser.refresh(extensions);
                        }
                    }
                    ui.monospace(browser.dir.display().to_string());
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
                if let Some(e) = &browser.error {
                    ui.colored_label(super::widgets::colour::WARN, e);
                }
                let mut enter = None;
                egui::ScrollArea::vertical()
                    .id_salt(format!("{id}-browser"))
                    .max_height(160.0)
                    .show(ui, |ui| {
                        for (name, is_dir) in &browser.entries {
                            let text = if *is_dir {
                                format!("{name}/")
                            } else {
                                name.clone()
                            };
                            if ui.selectable_label(false, text).clicked() {
                                enter = Some((name.clone(), *is_dir));
                            }
                        }
                        if browser.entries.is_empty() {
                            ui.weak("(no matching files)");
                        }
                    });
                if let Some((name, is_dir)) = enter {
                    let path = browser.dir.join(name);
                    if is_dir {
                        browser.dir = path;
                        browser.refresh(extensions);
                    } else {
                        self.path = path.display().to_string();
                        close = true;
                        go = true;
                    }
                }
            });
        }
        if close {
            self.browsing = None;
        }
        go
    }
}
