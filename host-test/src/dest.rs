//! Destinations: where a run's pages go.

use crate::runtime::{Page, ResourceInfo};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Receives a run's pages in order.
pub trait Destination {
    /// Called once, before any page, with the resources the connector will produce.
    fn begin(&mut self, resources: &[ResourceInfo]) -> std::io::Result<()>;
    /// Store one page's records. When this returns, the records are written.
    fn write_page(&mut self, page: &Page) -> std::io::Result<()>;
    /// Called once after the last page; make everything durable.
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

impl Destination for JsonlDir {
    fn begin(&mut self, resources: &[ResourceInfo]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for r in resources.iter().filter(|r| r.selected) {
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(Self::file_for(&self.dir, &r.name))?;
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
