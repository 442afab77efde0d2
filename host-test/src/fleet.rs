//! Running many tenants at once in one host: each in its own sandbox, each into its own destination, one report
//! per tenant. A tenant that fails (a refusal, a trap, a limit) does not affect the others.

use crate::dest::{Destination, JsonlDir};
use crate::runtime::{Plugin, RunFailure, RunSummary};
use crate::sqlite::SqliteDb;
use crate::tenant_file::{DestSpec, LoadedTenant};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// How one tenant's run went.
#[derive(Debug)]
pub struct Report {
    /// The tenant.
    pub tenant: String,
    /// Where its rows went.
    pub dest: String,
    /// The run's summary, or its failure (with the summary up to it); `Err(None)` when it could not start.
    pub result: Result<RunSummary, Option<RunFailure>>,
    /// Why it could not start (no plugin, an unreadable destination), when it could not.
    pub setup_error: Option<String>,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl Report {
    /// The summary of what was done, whether the run finished or not.
    pub fn summary(&self) -> Option<&RunSummary> {
        match &self.result {
            Ok(s) => Some(s),
            Err(Some(f)) => Some(&f.summary),
            Err(None) => None,
        }
    }

    /// Rows stored, over all resources.
    pub fn rows(&self) -> u64 {
        self.summary()
            .map_or(0, |s| s.rows.iter().map(|(_, n)| n).sum())
    }

    /// Requests sent (allowed by the egress policy).
    pub fn requests(&self) -> usize {
        self.summary()
            .map_or(0, |s| s.egress.iter().filter(|e| e.allowed).count())
    }

    /// The error, one line, if the run did not finish.
    pub fn error(&self) -> Option<String> {
        match (&self.result, &self.setup_error) {
            (_, Some(e)) => Some(e.clone()),
            (Err(Some(f)), None) => Some(f.to_string()),
            _ => None,
        }
    }
}

/// Run every tenant at once; `plugin_for` finds each one's plugin. A tenant whose file names no destination
/// writes JSON Lines to `<default_root>/<tenant>`. Reports come back in the tenants' order.
pub fn run_all<F>(tenants: &[LoadedTenant], plugin_for: F, default_root: &Path) -> Vec<Report>
where
    F: Fn(&LoadedTenant) -> Result<Arc<Plugin>, String> + Sync,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = tenants
            .iter()
            .map(|t| scope.spawn(|| run_one(t, &plugin_for, default_root)))
            .collect();
        handles
            .into_iter()
            .zip(tenants)
            .map(|(h, t)| {
                h.join().unwrap_or_else(|_| Report {
                    tenant: t.tenant.name.clone(),
                    dest: String::new(),
                    result: Err(None),
                    setup_error: Some("the host thread running this tenant panicked".into()),
                    seconds: 0.0,
                })
            })
            .collect()
    })
}

/// Run one tenant into its destination.
pub fn run_one<F>(loaded: &LoadedTenant, plugin_for: &F, default_root: &Path) -> Report
where
    F: Fn(&LoadedTenant) -> Result<Arc<Plugin>, String>,
{
    let started = Instant::now();
    let path = match &loaded.dest {
        DestSpec::Jsonl(p) | DestSpec::Sqlite(p) => p.clone(),
        DestSpec::Unset => default_root.join(&loaded.tenant.name),
    };
    let mut report = Report {
        tenant: loaded.tenant.name.clone(),
        dest: path.display().to_string(),
        result: Err(None),
        setup_error: None,
        seconds: 0.0,
    };
    let outcome = plugin_for(loaded).and_then(|plugin| {
        let mut tenant = loaded.tenant.clone();
        let (mut dest, resume): (Box<dyn Destination>, _) = match &loaded.dest {
            DestSpec::Sqlite(_) => {
                let db = SqliteDb::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let resume = db.state().map_err(|e| format!("{}: {e}", path.display()))?;
                (Box::new(db), resume)
            }
            _ => (Box::new(JsonlDir::new(&PathBuf::from(&path))), None),
        };
        tenant.checkpoint = resume.as_ref().map(|r| r.checkpoint.clone());
        Ok(plugin.run(&tenant, dest.as_mut(), resume.as_ref()))
    });
    match outcome {
        Ok(result) => report.result = result.map_err(Some),
        Err(e) => report.setup_error = Some(e),
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}
