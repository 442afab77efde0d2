//! Running many tenants at once in one host: each a task on a small pool of executor threads (not a thread
//! each), in its own sandbox, into its own destination, with one report per tenant. A tenant that fails (a
//! refusal, a trap, a limit) does not affect the others. Destinations write synchronously from the task; a
//! page commit is short, and SQLite and JSON Lines files are per tenant.

pub mod queued;
pub mod tenant_file;
mod tenant_secrets;

use crate::dest::{Destination, JsonlDir, PostgresDb, SqliteDb};
use crate::error::{RunError, RunFailure};
use crate::runtime::Plugin;
use crate::summary::RunSummary;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tenant_file::{DestSpec, LoadedTenant};

/// How one tenant's run went.
#[derive(Debug)]
pub struct Report {
    /// The tenant.
    pub tenant: String,
    /// Where its rows went.
    pub dest: String,
    /// The run's summary, or its failure with the summary up to it (a run that could not start, for want of
    /// its plugin or destination, fails with its cause and an empty summary).
    pub result: Result<RunSummary, RunFailure>,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl Report {
    /// The summary of what was done, whether the run finished or not.
    pub fn summary(&self) -> &RunSummary {
        match &self.result {
            Ok(s) => s,
            Err(f) => &f.summary,
        }
    }

    /// Rows stored, over all resources.
    pub fn rows(&self) -> u64 {
        self.summary().rows.iter().map(|(_, n)| n).sum()
    }

    /// Requests sent (allowed by the egress policy).
    pub fn requests(&self) -> usize {
        self.summary().egress.iter().filter(|e| e.allowed).count()
    }

    /// The error, one line, if the run did not finish.
    pub fn error(&self) -> Option<String> {
        self.result.as_ref().err().map(ToString::to_string)
    }
}

/// How a fleet runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Executor threads (tenants are tasks, not threads).
    pub workers: usize,
    /// Most tenants running at once (the pooling allocator's slots, when the runtime is pooled).
    pub concurrency: usize,
    /// Where tenants whose file names no destination write JSON Lines (`<root>/<tenant>/`).
    pub default_root: PathBuf,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            concurrency: 1000,
            default_root: PathBuf::from("tenant-runs"),
        }
    }
}

/// Run every tenant, up to `options.concurrency` at once, as tasks on `options.workers` threads;
/// `plugin_for` finds each one's plugin. Reports come back in the tenants' order.
pub fn run_all<F>(tenants: &[LoadedTenant], plugin_for: F, options: &FleetOptions) -> Vec<Report>
where
    F: Fn(&LoadedTenant) -> Result<Arc<Plugin>, RunError>,
{
    let executor = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.workers.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime builds");
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    // Plugins load synchronously (compiling or probing), so before the executor starts.
    let plugins: Vec<_> = tenants.iter().map(&plugin_for).collect();
    executor.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (loaded, plugin)) in tenants.iter().zip(plugins).enumerate() {
            let loaded = loaded.clone();
            let (root, permits) = (options.default_root.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, run_one_async(&loaded, plugin, &root).await)
            });
        }
        let mut reports: Vec<Option<Report>> = tenants.iter().map(|_| None).collect();
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, report)) = done {
                reports[i] = Some(report);
            }
        }
        reports
            .into_iter()
            .zip(tenants)
            .map(|(r, t)| r.unwrap_or_else(|| panicked(&t.tenant.name)))
            .collect()
    })
}

fn panicked(tenant: &str) -> Report {
    Report {
        tenant: tenant.to_string(),
        dest: String::new(),
        result: Err(RunFailure {
            error: RunError::Host("the task running this tenant panicked".into()),
            summary: Box::default(),
        }),
        seconds: 0.0,
    }
}

/// Run one tenant into its destination, on the caller's thread.
pub fn run_one(
    loaded: &LoadedTenant,
    plugin: Result<Arc<Plugin>, RunError>,
    default_root: &Path,
) -> Report {
    crate::runtime::block_on(run_one_async(loaded, plugin, default_root))
}

/// Run one tenant into its destination.
pub async fn run_one_async(
    loaded: &LoadedTenant,
    plugin: Result<Arc<Plugin>, RunError>,
    default_root: &Path,
) -> Report {
    let started = Instant::now();
    let path = match &loaded.dest {
        DestSpec::Jsonl(p) | DestSpec::Sqlite(p) => p.clone(),
        DestSpec::Postgres { url, schema } => PathBuf::from(pg_place(url, schema)),
        DestSpec::Unset => default_dir(default_root, &loaded.tenant.name),
    };
    let opened = plugin.and_then(|plugin| open_dest(&loaded.dest, &path).map(|d| (plugin, d)));
    let result = match opened {
        Ok((plugin, mut dest)) => plugin.run_async(&loaded.tenant, dest.as_mut()).await,
        // The failure's own kind: a plugin that does not load or a database that does not open is the host's
        // (exit 1), as under `run --db`; only a tenant file naming no usable plugin is a setup mistake.
        Err(error) => Err(RunFailure {
            error,
            summary: Box::default(),
        }),
    };
    Report {
        tenant: loaded.tenant.name.clone(),
        dest: path.display().to_string(),
        result,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// A PostgreSQL destination as a report names it: `postgres://user@host:port/db#schema`, without a password.
pub fn pg_place(url: &str, schema: &str) -> String {
    match crate::dest::pg_config(url, false) {
        Ok(config) => {
            let host = match config.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                #[cfg(unix)]
                Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                None => "localhost".into(),
            };
            let port = config.get_ports().first().copied().unwrap_or(5432);
            let user = config.get_user().unwrap_or_default();
            let db = config.get_dbname().unwrap_or(user);
            format!("postgres://{user}@{host}:{port}/{db}#{schema}")
        }
        Err(_) => format!("postgres (an unusable URL)#{schema}"),
    }
}

/// The directory of a tenant whose file names no destination: its name as a plain directory name, so a tenant
/// named `../../x` still writes inside `root`.
fn default_dir(root: &Path, tenant: &str) -> PathBuf {
    root.join(crate::dest::file_stem(tenant))
}

/// The destination at `path` (SQLite keeps its own state to resume from).
fn open_dest(spec: &DestSpec, path: &Path) -> Result<Box<dyn Destination + Send>, RunError> {
    let failed = |e: std::io::Error| {
        RunError::Destination(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    match spec {
        DestSpec::Sqlite(_) => Ok(Box::new(SqliteDb::open(path).map_err(failed)?)),
        DestSpec::Postgres { url, schema } => {
            Ok(Box::new(PostgresDb::open(url, schema).map_err(failed)?))
        }
        _ => Ok(Box::new(JsonlDir::new(path))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_name_cannot_leave_the_output_directory() {
        let root = Path::new("/runs");
        for name in ["../../x", "..", "a/b", "/etc", ".hidden", "x\\..\\y"] {
            let dir = default_dir(root, name);
            assert_eq!(dir.parent(), Some(root), "{name}: {}", dir.display());
            assert!(
                !dir.file_name().unwrap().to_string_lossy().starts_with('.'),
                "{name}"
            );
        }
        assert_eq!(default_dir(root, "acme"), root.join("acme"));
    }
}
