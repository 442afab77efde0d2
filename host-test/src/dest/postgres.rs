//! A PostgreSQL destination: one schema per tenant, one table per selected resource, created and evolved from the
//! connector's schema with dlt's PostgreSQL types, written with the resource's `write_disposition`, each page
//! copied in with `COPY` and committed with its checkpoint in one transaction.
//!
//! - Types: `bigint`, `double precision`, `numeric` (decimal), `boolean`, `timestamptz` (timestamp; one without
//!   an offset is UTC), `date`, `time`, `jsonb` (objects and lists), `bytea` (binary: the string's UTF-8 bytes)
//!   and `text` (text, and a column only nulls were seen in so far). A new column is added; a widened one changes
//!   type with its values converted exactly (`bigint` to `numeric` rather than to `double precision` when a value
//!   is beyond ±2^53; `double precision` to `numeric` through its shortest exact text).
//! - No value is changed on its way in: see `postgres_copy.rs` for what is refused or widened first.
//! - Dispositions, as the SQLite destination: `append` copies; `merge` upserts on the primary key (the last
//!   record of a key in a page wins); with a `merge_key` it stages the run's rows and deletes and inserts at the
//!   run's end; `replace` stages the run's rows in `<table>__replacing` and swaps it in for the table in the
//!   transaction that commits the run's end. A failed run leaves the old rows untouched and resumes.
//! - The run state is in `<schema>._rest_source_state`, every run in `<schema>._rest_source_loads`.
//! - Fencing ([`PostgresDb::open_fenced`]): the state row holds the newest epoch a worker opened the destination
//!   with, and a page commits (and a run begins) only if it is still its own, so a worker that lost its claim
//!   commits nothing more. The run's end records the queue run it ended, so a run completed by a worker that was
//!   lost before it could say so is not run again.
//!
//! [`Destination`] is synchronous and is called from inside the host's async executor, where a blocking client
//! (which runs an executor of its own) cannot run: the connection lives on a thread of its own, and each call is
//! sent to it and waited for.

use super::postgres_conn::Conn;
use super::{Destination, LoadRecord, RunState};
use crate::wit::{Page, ResourceInfo, TableSchema};
use std::io;
use std::str::FromStr;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// A page commit refused because another worker took the destination with a newer epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "fenced: this worker's claim (epoch {epoch}) was taken over (epoch {held}); nothing more is committed"
)]
pub struct Fenced {
    /// The epoch this worker holds.
    pub epoch: i64,
    /// The epoch the destination holds.
    pub held: i64,
}

impl Fenced {
    /// The fencing refusal among an error's causes, if it is one.
    pub fn find(error: &(dyn std::error::Error + 'static)) -> Option<Fenced> {
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(fenced) = e.downcast_ref::<Fenced>() {
                return Some(*fenced);
            }
            let inner = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref());
            if let Some(fenced) = inner.and_then(|inner| inner.downcast_ref::<Fenced>()) {
                return Some(*fenced);
            }
            cause = e.source();
        }
        None
    }
}

/// A worker's claim on a destination: its epoch fences every commit, and its run is recorded with the run's
/// end, so a later claim of the same run sees it already done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    /// The claim's epoch.
    pub epoch: i64,
    /// The queue run claimed.
    pub run: i64,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// A PostgreSQL schema as the destination.
pub struct PostgresDb {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The outcome of the page sent last, while it is being stored.
    pending: std::sync::Mutex<Option<mpsc::Receiver<io::Result<()>>>>,
}

/// The connection settings of a URL (`postgres://user@host:port/db` or `host=... user=...`); with
/// `env_password`, the password, when the URL has none, from `PGPASSWORD`, as libpq does.
pub(crate) fn pg_config(url: &str, env_password: bool) -> io::Result<postgres::Config> {
    let mut config = postgres::Config::from_str(url)
        .map_err(|e| io::Error::other(format!("postgres: the URL is not usable: {e}")))?;
    if let (true, None, Ok(password)) = (
        env_password,
        config.get_password(),
        std::env::var("PGPASSWORD"),
    ) {
        config.password(password);
    }
    config.application_name("rest-source");
    Ok(config)
}

impl PostgresDb {
    /// Connect and set up `schema` (created if missing) with the host's tables.
    pub fn open(url: &str, schema: &str) -> io::Result<Self> {
        Self::start(url, schema, None, true)
    }

    /// [`PostgresDb::open`] for a worker's claim: the destination takes the claim's epoch (a [`Fenced`] error if
    /// it already holds a newer one), and every commit checks it is still the newest. `env_password`: whether
    /// `PGPASSWORD` may be sent to this database (a worker sends it only to its queue's server).
    pub fn open_fenced(
        url: &str,
        schema: &str,
        fence: Fence,
        env_password: bool,
    ) -> io::Result<Self> {
        Self::start(url, schema, Some(fence), env_password)
    }

    fn start(
        url: &str,
        schema: &str,
        fence: Option<Fence>,
        env_password: bool,
    ) -> io::Result<Self> {
        let config = pg_config(url, env_password)?;
        let schema = schema.to_string();
        let (ready, opened) = mpsc::sync_channel(1);
        let (jobs, work) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("postgres-destination".into())
            .spawn(move || {
                let conn = config
                    .connect(postgres::NoTls)
                    .map_err(super::postgres_conn::pg("connecting"))
                    .and_then(|client| Conn::new(client, &schema, fence));
                let mut conn = match conn {
                    Ok(conn) => {
                        let _ = ready.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                for job in work {
                    job(&mut conn);
                }
            })?;
        let db = Self {
            jobs: Some(jobs),
            thread: Some(thread),
            pending: std::sync::Mutex::new(None),
        };
        opened.recv().map_err(|_| gone())??;
        Ok(db)
    }

    /// Run `f` on the connection's thread (after whatever was sent before) and wait for it.
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> io::Result<R> + Send + 'static,
    ) -> io::Result<R> {
        self.wait_pending()?;
        self.send(f)?.recv().map_err(|_| gone())?
    }

    /// Queue `f` on the connection's thread; its outcome comes on the receiver.
    fn send<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Conn) -> io::Result<R> + Send + 'static,
    ) -> io::Result<mpsc::Receiver<io::Result<R>>> {
        let (tx, rx) = mpsc::sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        }))
        .map_err(|_| gone())?;
        Ok(rx)
    }

    /// Wait for the page sent last, if any, and give its outcome.
    fn wait_pending(&self) -> io::Result<()> {
        let pending = self.pending.lock().map_or(None, |mut p| p.take());
        match pending {
            Some(rx) => rx.recv().map_err(|_| gone())?,
            None => Ok(()),
        }
    }

    /// Whether `schema` exists in the database at `url` (nothing is created).
    pub fn schema_exists(url: &str, schema: &str) -> io::Result<bool> {
        let config = pg_config(url, true)?;
        let schema = schema.to_string();
        // A thread of its own, as every connection of this type: the caller may be inside an async executor.
        std::thread::spawn(move || {
            let mut client = config
                .connect(postgres::NoTls)
                .map_err(super::postgres_conn::pg("connecting"))?;
            let row = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                    &[&schema],
                )
                .map_err(super::postgres_conn::pg("looking for the schema"))?;
            Ok(row.get(0))
        })
        .join()
        .map_err(|_| gone())?
    }

    /// The run state stored with the data, if any.
    pub fn state(&self) -> io::Result<Option<RunState>> {
        self.call(Conn::state)
    }

    /// The queue run whose end the destination recorded last (see [`Fence`]), if any.
    pub fn completed_run(&self) -> io::Result<Option<i64>> {
        self.call(Conn::completed_run)
    }

    /// Forget the run state: the next run starts from the beginning (the tables keep their rows). True when
    /// there was a state.
    pub fn reset_state(&self) -> io::Result<bool> {
        self.call(Conn::reset_state)
    }
}

fn gone() -> io::Error {
    io::Error::other("postgres: the destination's connection thread stopped")
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Destination for PostgresDb {
    fn resume_state(&self) -> io::Result<Option<RunState>> {
        self.state()
    }

    fn declare(&mut self, tables: &[TableSchema]) -> io::Result<()> {
        let keys = super::merge_keys(tables);
        self.call(move |conn| {
            conn.merge_keys = keys;
            Ok(())
        })
    }

    fn begin(&mut self, resources: &[ResourceInfo], resume: Option<&RunState>) -> io::Result<()> {
        let resuming = resume.is_some_and(|s| !s.complete);
        let resources = resources.to_vec();
        self.call(move |conn| conn.begin(&resources, resuming))
    }

    fn write_page(&mut self, page: &Page) -> io::Result<()> {
        let page = page.clone();
        self.call(move |conn| conn.write_page(&page))
    }

    fn commit(&mut self, checkpoint: &str, complete: bool) -> io::Result<()> {
        let state = RunState::at(checkpoint.into(), complete);
        self.call(move |conn| conn.commit(&state))
    }

    /// The page is copied in and committed on the connection's thread while the caller goes on.
    fn send_page(&mut self, page: &Page) -> io::Result<()> {
        self.wait_pending()?;
        let (page, state) = (page.clone(), RunState::at(page.checkpoint.clone(), false));
        let rx = self.send(move |conn| {
            conn.write_page(&page)?;
            conn.commit(&state)
        })?;
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Some(rx);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.wait_pending()
    }

    fn finish(&mut self) -> io::Result<()> {
        // A page still being stored is waited for; whatever it says, the open transaction is rolled back.
        let _ = self.wait_pending();
        self.call(Conn::rollback)
    }

    fn record_load(&mut self, load: &LoadRecord) -> io::Result<()> {
        let load = load.clone();
        self.call(move |conn| conn.record_load(&load))
    }
}
