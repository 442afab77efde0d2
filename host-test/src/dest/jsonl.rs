//! The JSON Lines destination: one file per selected resource, with an optional state file.

use super::state_file::VERSION;
use super::{Destination, RunState, StateFile};
use crate::wit::{Page, ResourceInfo};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    fn resume_state(&self) -> std::io::Result<Option<RunState>> {
        match &self.state {
            Some(file) => file.load().map_err(std::io::Error::other),
            None => Ok(None),
        }
    }

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
