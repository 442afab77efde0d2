//! The queue commands: `submit` tenant files as runs, `worker` to execute them (on any number of hosts), `runs`
//! to list them.

use super::tenant::Plugins;
use anyhow::{Context, Result, bail};
use host_test::fleet::queued::queued_form;
use host_test::queue::worker::{WorkerOptions, work};
use host_test::queue::{Queue, RunRow};
use std::path::{Path, PathBuf};

/// `submit --queue <url> <tenant-file>...`: every file is checked before any run is enqueued.
pub(crate) fn submit(url: &str, files: &[PathBuf]) -> Result<()> {
    let queued = files
        .iter()
        .map(|f| queued_form(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut queue = Queue::connect(url)?;
    for q in &queued {
        let id = queue.submit(q)?;
        println!("{id} {}", q.tenant);
    }
    Ok(())
}

/// `worker --queue <url> ...`.
pub(crate) fn worker(mut options: WorkerOptions, plugins: Option<&Path>) -> Result<()> {
    if options.lease.as_secs_f64() < 1.0 {
        bail!("--lease-s: at least 1 second");
    }
    let plugins = Plugins::open(plugins)?;
    options.concurrency = options.concurrency.max(1);
    eprintln!(
        "worker {}: {} at once, lease {:.0} s",
        options.name,
        options.concurrency,
        options.lease.as_secs_f64()
    );
    let say = |line: String| eprintln!("{line}");
    work(&options, &|t| plugins.for_tenant(t), &say).context("worker")
}

/// `runs --queue <url> [--json]`.
pub(crate) fn runs(url: &str, json: bool) -> Result<()> {
    let rows = Queue::connect(url)?.list()?;
    if json {
        println!("{}", serde_json::to_string(&rows)?);
        return Ok(());
    }
    println!(
        "{:>6} {:<20} {:<10} {:<24} {:>8} {:>10} {:>7}  error",
        "id", "tenant", "status", "worker", "attempts", "rows", "pages"
    );
    for RunRow {
        id,
        tenant,
        status,
        worker,
        attempts,
        rows,
        pages,
        error,
    } in rows
    {
        println!(
            "{id:>6} {tenant:<20} {status:<10} {:<24} {attempts:>8} {rows:>10} {pages:>7}  {}",
            worker.unwrap_or_default(),
            error.unwrap_or_default()
        );
    }
    Ok(())
}
