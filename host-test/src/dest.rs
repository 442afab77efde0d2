//! Destinations: where a run's pages go.

use crate::runtime::{Page, ResourceInfo};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Receives a run's pages in order.
pub trait Destination {
    /// Called once, before any page, with the resources the connector will produce. `resuming` is true when
    /// the run continues from a checkpoint: rows stored before it must stay.
    fn begin(&mut self, resources: &[ResourceInfo], resuming: bool) -> std::io::Result<()>;
    /// Store one page's records. When this returns, the records are written.
    fn write_page(&mut self, page: &Page) -> std::io::Result<()>;
    /// Called once after the last page, or after a failure; make what was written durable.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// JSON Lines files, one per selected resource: `<dir>/<resource>.jsonl`.
pub struct JsonlDir {
    dir: PathBuf,
    files: Vec<(String, File)>,
}

impl JsonlDir {
    /// A destination writing into `dir` (created if missing).
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        }
    }

    /// The file a resource's rows go to.
    pub fn file_for(dir: &Path, resource: &str) -> PathBuf {
        dir.join(format!("{resource}.jsonl"))
    }
}

/// A resource name must be one plain file name: the config comes from a tenant and must not reach outside the
/// output directory.
fn check_name(name: &str) -> std::io::Result<()> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control);
    if bad {
        let message =
            format!("resource name {name:?} cannot be used as a file name in the output directory");
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            message,
        ));
    }
    Ok(())
}

impl Destination for JsonlDir {
    fn begin(&mut self, resources: &[ResourceInfo], resuming: bool) -> std::io::Result<()> {
        for r in resources.iter().filter(|r| r.selected) {
            check_name(&r.name)?;
        }
        std::fs::create_dir_all(&self.dir)?;
        for r in resources.iter().filter(|r| r.selected) {
            let mut options = OpenOptions::new();
            options.create(true);
            if resuming {
                options.append(true);
            } else {
                options.write(true).truncate(true);
            }
            let file = options.open(Self::file_for(&self.dir, &r.name))?;
            self.files.push((r.name.clone(), file));
        }
        Ok(())
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
    fn names_that_leave_the_directory_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "a\0b",
            "a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["users", "customer_usage", "a.b", "..hidden", "ünïcode"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }
}
