//! The run state a host keeps between runs and across crashes: the connector's last committed checkpoint and
//! the length of every output file at that checkpoint.
//!
//! Commit order (the no-loss rule): a page's records are written and made durable (`fsync`) first; then the
//! state is written to a temporary file, `fsync`ed, and renamed over the old one (atomic), and the directory is
//! `fsync`ed. A crash at any point leaves the old state or the new one, never a torn one. On resume, each
//! output file is cut back to its committed length, so rows written after the last commit (whose checkpoint
//! never got stored) are dropped and fetched again: in append mode no row is ever written twice.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Format version of the state file.
pub const VERSION: u32 = 1;

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// Format version.
    pub v: u32,
    /// The connector's checkpoint after the last committed page (opaque to the host).
    pub checkpoint: String,
    /// True once the run finished: the next run starts from this checkpoint (and appends to the files).
    pub complete: bool,
    /// Committed length in bytes of each resource's output file, by resource name (JSON Lines only; other
    /// destinations keep their rows and checkpoint together and leave it empty).
    pub files: BTreeMap<String, u64>,
}

impl RunState {
    /// The state of a destination that keeps its rows and checkpoint together (no file lengths): resume from
    /// `checkpoint`, or, when `complete`, start the next run from it.
    pub fn at(checkpoint: String, complete: bool) -> Self {
        Self {
            v: VERSION,
            checkpoint,
            complete,
            files: BTreeMap::new(),
        }
    }
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a state this host wrote.
    #[error("state file {path} is not a valid run state ({why}); delete it to start over")]
    Invalid {
        /// The state file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// A state file on disk.
#[derive(Debug, Clone)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// Forget the state: the next run starts from the beginning (the output files stay as they are).
    pub fn reset(&self) -> Result<bool, StateError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StateError::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }

    /// The state kept at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    fn io(&self, source: std::io::Error) -> StateError {
        StateError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The stored state, or `None` when there is none yet.
    pub fn load(&self) -> Result<Option<RunState>, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let invalid = |why: String| StateError::Invalid {
            path: self.path.display().to_string(),
            why,
        };
        let state: RunState = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if state.v != VERSION {
            return Err(invalid(format!(
                "version {}, this host reads {VERSION}",
                state.v
            )));
        }
        Ok(Some(state))
    }

    /// Replace the stored state atomically: write a temporary file, `fsync`, rename, `fsync` the directory.
    pub fn store(&self, state: &RunState) -> Result<(), StateError> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_vec(state).expect("a state serialises");
        let mut file = File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io(e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = OpenOptions::new().read(true).open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_then_load_round_trips_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(&dir.path().join("state.json"));
        assert_eq!(file.load().unwrap(), None);
        let mut state = RunState {
            v: VERSION,
            checkpoint: "{}".into(),
            complete: false,
            files: BTreeMap::from([("a".into(), 10)]),
        };
        file.store(&state).unwrap();
        state.files.insert("a".into(), 20);
        state.complete = true;
        file.store(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state));
        assert!(
            !dir.path().join("state.tmp").exists(),
            "the temporary file was renamed"
        );
    }

    #[test]
    fn a_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"v\": 9}").unwrap();
        let err = StateFile::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("is not a valid run state"), "{err}");
    }
}
