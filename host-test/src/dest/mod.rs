//! Destinations: where a run's pages go.

use crate::runtime::{Page, ResourceInfo, TableSchema};
use crate::state::{RunState, StateFile, VERSION};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Receives a run's pages in order.
pub trait Destination {
    /// Called before `begin` with the schema the connector declares (keys, merge keys, dispositions), for
    /// destinations that need more than [`ResourceInfo`] says.
    fn declare(&mut self, _tables: &[TableSchema]) -> std::io::Result<()> {
        Ok(())
    }
    /// Called once, before any page, with the resources the connector will produce and the state the run
    /// resumes from (if any): rows committed before it stay, rows written after it are dropped.
    fn begin(
        &mut self,
        resources: &[ResourceInfo],
        resume: Option<&RunState>,
    ) -> std::io::Result<()>;
    /// Write one page's records.
    fn write_page(&mut self, page: &Page) -> std::io::Result<()>;
    /// Make the records written so far durable, then store `checkpoint` with them. `complete` marks the end of
    /// the run. The checkpoint is stored only after the records before it are durable (the no-loss rule).
    fn commit(&mut self, checkpoint: &str, complete: bool) -> std::io::Result<()>;
    /// Called once after the last page, or after a failure; make what was written durable.
    fn finish(&mut self) -> std::io::Result<()>;
    /// Called after `finish` with what the run did; a destination that keeps a history of loads stores it.
    fn record_load(&mut self, _load: &LoadRecord) -> std::io::Result<()> {
        Ok(())
    }
}

/// One run, as a destination's load history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRecord {
    /// When the run started, seconds since the Unix epoch.
    pub started: f64,
    /// When it ended, seconds since the Unix epoch.
    pub finished: f64,
    /// Rows stored per resource.
    pub rows: Vec<(String, u64)>,
    /// Pages stored.
    pub pages: u64,
    /// Why it failed (secrets masked), or `None` when it completed.
    pub error: Option<String>,
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// JSON Lines files, one per selected resource: `<dir>/<resource>.jsonl`, with an optional state file.
pub struct JsonlDir {
    dir: PathBuf,
    files: Vec<(String, File)>,
    state: Option<StateFile>,
}

impl JsonlDir {
    /// A destination writing into `dir` (created if missing), keeping no state.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            state: None,
        }
    }

    /// Also commit the run state to `state` after every page (records first, then the state).
    pub fn with_state(mut self, state: StateFile) -> Self {
        self.state = Some(state);
        self
    }

    /// The file a resource's rows go to: the name with every byte outside `A-Za-z0-9_-.` percent-encoded (and
    /// a leading `.` too), so any resource name maps to one plain file inside the directory and no two collide.
    pub fn file_for(dir: &Path, resource: &str) -> PathBuf {
        dir.join(format!("{}.jsonl", file_stem(resource)))
    }
}

/// A resource or tenant name as a plain file name: characters outside `A-Za-z0-9_-.` percent-encoded, and a
/// leading `.` too, so a name can never reach outside the directory it is joined to (see [`JsonlDir::file_for`]).
pub(crate) fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() { "%".into() } else { out }
}

impl Destination for JsonlDir {
    fn begin(
        &mut self,
        resources: &[ResourceInfo],
        resume: Option<&RunState>,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for r in resources.iter().filter(|r| r.selected) {
            let path = Self::file_for(&self.dir, &r.name);
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            match resume {
                // Resuming: keep what was committed, drop what was written after the last commit.
                Some(state) if !state.complete => {
                    file.set_len(state.files.get(&r.name).copied().unwrap_or(0))?
                }
                // A finished run's state starts the next run, which appends.
                Some(_) => {}
                None => file.set_len(0)?,
            }
            self.files.push((r.name.clone(), file));
        }
        Ok(())
    }

    fn commit(&mut self, checkpoint: &str, complete: bool) -> std::io::Result<()> {
        let Some(state) = &self.state else {
            return Ok(());
        };
        let mut files = BTreeMap::new();
        for (name, file) in &mut self.files {
            file.sync_data()?;
            files.insert(name.clone(), file.metadata()?.len());
        }
        let run = RunState {
            v: VERSION,
            checkpoint: checkpoint.to_string(),
            complete,
            files,
        };
        state.store(&run).map_err(std::io::Error::other)
    }

    fn write_page(&mut self, page: &Page) -> std::io::Result<()> {
        match self
            .files
            .iter_mut()
            .find(|(name, _)| *name == page.resource)
        {
            Some((_, file)) => file.write_all(&page.records),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for (_, file) in &mut self.files {
            file.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_one_plain_file_inside_the_directory() {
        let cases = [
            ("users", "users"),
            ("customer_usage", "customer_usage"),
            ("a.b", "a.b"),
            ("..", "%2E."),
            ("../x", "%2E.%2Fx"),
            ("/protected/posts", "%2Fprotected%2Fposts"),
            ("a\\b", "a%5Cb"),
            ("a\nb", "a%0Ab"),
            ("ü", "%C3%BC"),
            ("", "%"),
        ];
        for (name, stem) in cases {
            assert_eq!(file_stem(name), stem, "{name:?}");
            let file = JsonlDir::file_for(Path::new("/out"), name);
            assert_eq!(file.parent(), Some(Path::new("/out")), "{name:?}");
        }
        assert_ne!(file_stem("a/b"), file_stem("a%2Fb"), "no collisions");
    }
}
