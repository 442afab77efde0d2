//! Destinations: where a run's pages go, each committed with its checkpoint.
//!
//! - `mod.rs`: the [`Destination`] trait and [`LoadRecord`];
//! - `jsonl.rs`: [`JsonlDir`], JSON Lines files with an optional state file (`state_file.rs`, [`StateFile`]);
//! - `sqlite.rs`: [`SqliteDb`], tables from the schema, the run state in the database; `sqlite_query.rs`:
//!   reading it back;
//! - `postgres.rs`: [`PostgresDb`], a schema per tenant, on a connection thread of its own (`postgres_conn.rs`),
//!   pages copied in as `COPY` text (`postgres_copy.rs`), commits fenced by an epoch ([`Fenced`]).

mod jsonl;
mod postgres;
mod postgres_conn;
mod postgres_copy;
mod sqlite;
pub mod sqlite_query;
mod sqlite_record;
mod state_file;

pub use jsonl::JsonlDir;
pub(crate) use jsonl::file_stem;
pub(crate) use postgres::pg_config;
pub use postgres::{Fence, Fenced, PostgresDb};
pub use sqlite::SqliteDb;
pub use state_file::{RunState, StateError, StateFile};

use crate::wit::{Page, ResourceInfo, TableSchema, WriteDisposition};

/// Receives a run's pages in order.
pub trait Destination {
    /// Called before `begin` with the schema the connector declares (keys, merge keys, dispositions), for
    /// destinations that need more than [`ResourceInfo`] says.
    fn declare(&mut self, _tables: &[TableSchema]) -> std::io::Result<()> {
        Ok(())
    }
    /// The state a run into this destination resumes from: the checkpoint of its last committed page, and
    /// whether that run completed (then the next run starts from it). `None` (the default): from the start.
    /// [`Plugin::run`](crate::Plugin::run) reads it here, so the checkpoint and the rows it covers come from one
    /// place.
    fn resume_state(&self) -> std::io::Result<Option<RunState>> {
        Ok(None)
    }
    /// Called once, before any page, with the resources the connector will produce and the state the run
    /// resumes from (what [`Destination::resume_state`] returned): rows committed before it stay, rows written
    /// after it are dropped.
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
    /// Write a page and commit it with its checkpoint, as [`Destination::write_page`] then
    /// [`Destination::commit`] (the default, done at once). A destination that can do it in the background
    /// returns at once and reports the outcome at [`Destination::flush`]; [`Plugin::run`](crate::Plugin::run)
    /// meanwhile fetches the next page, and counts a page as stored only once `flush` confirmed it.
    fn send_page(&mut self, page: &Page) -> std::io::Result<()> {
        self.write_page(page)?;
        self.commit(&page.checkpoint, false)
    }
    /// Wait until the page sent last is committed, or say why it was not. The default: nothing to wait for.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The merge keys the declared schema gives, by resource (only resources that have one).
pub(crate) fn merge_keys(tables: &[TableSchema]) -> Vec<(String, Vec<String>)> {
    tables
        .iter()
        .filter(|t| !t.merge_key.is_empty())
        .map(|t| (t.resource.clone(), t.merge_key.clone()))
        .collect()
}

/// Where a database destination writes a resource's pages: its merge key (a merge with one), and the table
/// pages go to: the table itself, or its staging table `<table>__replacing` (`replace`, and a merge with a merge
/// key), which takes effect at the run's end.
pub(crate) fn staging_plan(
    r: &ResourceInfo,
    merge_keys: &[(String, Vec<String>)],
) -> (Vec<String>, String) {
    let merge_key = match r.write_disposition {
        WriteDisposition::Merge => merge_keys
            .iter()
            .find(|(resource, _)| *resource == r.name)
            .map(|(_, keys)| keys.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let target = match (r.write_disposition, merge_key.is_empty()) {
        (WriteDisposition::Replace, _) | (WriteDisposition::Merge, false) => {
            format!("{}__replacing", r.table_name)
        }
        _ => r.table_name.clone(),
    };
    (merge_key, target)
}
