//! A plugin directory: every `<name>.wasm` in it is a plugin, with an optional manifest `<name>.toml` beside it:
//!
//! ```toml
//! name = "rest-api-source"          # default: the file stem
//! version = "0.1.0"                 # default: none
//! capabilities = ["http", "secrets", "logging"]   # default: all this host offers
//! ```
//!
//! Each plugin is validated (its imports against what the host offers and the manifest grants), compiled once
//! (through the runtime's cache, keyed by content hash and engine) and pre-instantiated once; tenants share the
//! handle. [`PluginDir::refresh`] notices added, changed and removed files.

use crate::error::RunError;
use crate::runtime::{Capability, Plugin, Runtime};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A plugin's manifest.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The name tenants use.
    pub name: Option<String>,
    /// Its version, for the operator's record.
    pub version: Option<String>,
    /// What it may import; all that this host offers when absent.
    pub capabilities: Option<Vec<Capability>>,
}

/// A plugin found in the directory.
pub struct Entry {
    /// The `.wasm` file.
    pub path: PathBuf,
    /// Its manifest (empty when it has none).
    pub manifest: Manifest,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The loaded plugin, or why it was refused.
    loaded: Result<Arc<Plugin>, String>,
    stamp: (u64, Option<SystemTime>, Option<SystemTime>),
}

impl Entry {
    /// The loaded plugin, or why it was refused ([`RunError::Load`], naming the file).
    pub fn plugin(&self) -> Result<Arc<Plugin>, RunError> {
        self.loaded.clone().map_err(|message| RunError::Load {
            path: self.path.display().to_string(),
            message,
        })
    }
}

/// What a scan found different from the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new plugin (loaded or refused).
    Added(String),
    /// A plugin whose file or manifest changed, reloaded.
    Changed(String),
    /// A plugin whose file is gone.
    Removed(String),
}

/// A directory of plugins, loaded.
pub struct PluginDir {
    dir: PathBuf,
    runtime: Arc<Runtime>,
    entries: BTreeMap<String, Entry>,
}

/// Why the directory could not be read.
#[derive(Debug, thiserror::Error)]
#[error("plugin directory {dir}: {source}")]
pub struct PluginDirError {
    dir: String,
    source: std::io::Error,
}

impl PluginDir {
    /// Scan `dir` and load every plugin in it.
    pub fn open(runtime: Arc<Runtime>, dir: &Path) -> Result<Self, PluginDirError> {
        let mut plugins = Self {
            dir: dir.to_path_buf(),
            runtime,
            entries: BTreeMap::new(),
        };
        plugins.refresh()?;
        Ok(plugins)
    }

    /// The plugin named `name`, if it is loaded.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        self.entries.get(name)?.loaded.as_ref().ok().cloned()
    }

    /// Every plugin found, loaded or refused, by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Scan again: load new plugins, reload changed ones (size and times, then content hash and manifest),
    /// drop removed ones. A plugin that fails validation is kept as refused, with the reason.
    pub fn refresh(&mut self) -> Result<Vec<Change>, PluginDirError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|source| PluginDirError {
                dir: self.dir.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        files.sort();
        let mut old = std::mem::take(&mut self.entries);
        let mut changes = Vec::new();
        for path in files {
            let manifest_path = path.with_extension("toml");
            let stamp = stamp(&path, &manifest_path);
            let manifest = read_manifest(&manifest_path);
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            let mut name = match &manifest {
                Ok(m) => m.name.clone().unwrap_or_else(|| stem.to_string()),
                Err(_) => stem.to_string(),
            };
            let duplicate = self.entries.contains_key(&name);
            if duplicate {
                name = format!("{name} ({file_name})");
            }
            // The file is hashed only when its size or times changed, and then once.
            let hashed = std::cell::OnceCell::new();
            let digest = || {
                hashed
                    .get_or_init(|| hex(&Sha256::digest(std::fs::read(&path).unwrap_or_default())))
                    .clone()
            };
            let previous = match old.remove(&name) {
                // Untouched: same size and times.
                Some(p) if p.stamp == stamp && p.path == path => {
                    self.entries.insert(name, p);
                    continue;
                }
                // Touched but the same content and manifest.
                Some(mut p)
                    if p.path == path
                        && p.sha256 == digest()
                        && Ok(&p.manifest) == manifest.as_ref() =>
                {
                    p.stamp = stamp;
                    self.entries.insert(name, p);
                    continue;
                }
                other => other,
            };
            let sha256 = digest();
            let plugin = match (&manifest, duplicate) {
                (_, true) => Err("another plugin in the directory has the same name".to_string()),
                (Err(e), _) => Err(e.clone()),
                (Ok(m), _) => {
                    let granted = m.capabilities.clone().unwrap_or(Capability::ALL.to_vec());
                    self.runtime
                        .load_granting(&path, &granted)
                        .map(Arc::new)
                        .map_err(|e| match e {
                            RunError::Load { message, .. } => message,
                            other => other.to_string(),
                        })
                }
            };
            changes.push(match previous {
                Some(_) => Change::Changed(name.clone()),
                None => Change::Added(name.clone()),
            });
            let entry = Entry {
                path,
                manifest: manifest.unwrap_or_default(),
                sha256,
                loaded: plugin,
                stamp,
            };
            self.entries.insert(name, entry);
        }
        changes.extend(old.into_keys().map(Change::Removed));
        Ok(changes)
    }
}

/// Size and modification times of a plugin file and its manifest: a cheap first test for a change.
fn stamp(path: &Path, manifest: &Path) -> (u64, Option<SystemTime>, Option<SystemTime>) {
    let meta = std::fs::metadata(path).ok();
    (
        meta.as_ref().map_or(0, |m| m.len()),
        meta.and_then(|m| m.modified().ok()),
        std::fs::metadata(manifest).and_then(|m| m.modified()).ok(),
    )
}

/// The manifest beside a plugin; an empty one when there is none.
fn read_manifest(path: &Path) -> Result<Manifest, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| format!("manifest {}: {}", path.display(), e.message())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(format!("manifest {}: {e}", path.display())),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
