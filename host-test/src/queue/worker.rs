//! A worker: claims runs from the queue and executes them, `concurrency` at a time, each on a thread of its own
//! into its fenced PostgreSQL destination, while one more thread renews the leases of the runs it holds.
//!
//! A claimed run resumes from its destination's last committed checkpoint, whoever committed it. When it ends,
//! the worker marks it `completed` or `failed`, if its claim is still the newest. A run fenced by a newer claim
//! is left to that claim: this worker writes nothing more for it, here or in the destination.

use super::{Claim, Queue};
use crate::dest::{Fence, Fenced, PostgresDb};
use crate::error::RunError;
use crate::fleet::queued::from_queued;
use crate::fleet::tenant_file::{DestSpec, LoadedTenant};
use crate::runtime::Plugin;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The queue's database URL.
    pub queue_url: String,
    /// This worker's name, as `runs` shows it (default: host name and process id).
    pub name: String,
    /// Runs executed at once.
    pub concurrency: usize,
    /// How long a claim holds without renewal; renewed every third of it.
    pub lease: Duration,
    /// Stop once no run is queued or running (instead of waiting for more).
    pub until_idle: bool,
    /// How long to wait before looking again when nothing can be claimed.
    pub poll: Duration,
    /// Claims a run gets before a run whose worker keeps getting lost is failed.
    pub max_attempts: i32,
}

impl WorkerOptions {
    /// The defaults for a queue at `url`: 2 at once, a 30 s lease, a poll every second, 5 attempts.
    pub fn new(url: &str) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        Self {
            queue_url: url.to_string(),
            name: format!("{host}-{}", std::process::id()),
            concurrency: 2,
            lease: Duration::from_secs(30),
            until_idle: false,
            poll: Duration::from_secs(1),
            max_attempts: 5,
        }
    }
}

/// How one claimed run ended on this worker.
#[derive(Debug)]
pub enum Outcome {
    /// Completed: rows and pages this claim stored.
    Completed(u64, u64),
    /// Completed before this claim: the destination had recorded the run's end.
    AlreadyDone,
    /// Failed, with why (marked `failed` in the queue).
    Failed(String),
    /// A newer claim took the run: nothing more was committed or marked.
    Fenced(String),
}

/// Claim and execute runs until stopped (or, with `until_idle`, until none is open). `plugin_for` finds a
/// tenant's plugin; `say` hears one line per claim and per outcome.
pub fn work(
    options: &WorkerOptions,
    plugin_for: &(dyn Fn(&LoadedTenant) -> Result<Arc<Plugin>, RunError> + Sync),
    say: &(dyn Fn(String) + Sync),
) -> io::Result<()> {
    let active: Mutex<Vec<Claim>> = Mutex::new(Vec::new());
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let renewer = scope.spawn(|| renew_leases(options, &active, &done, say));
        let runners: Vec<_> = (0..options.concurrency.max(1))
            .map(|_| scope.spawn(|| run_claims(options, plugin_for, &active, say)))
            .collect();
        let results: Vec<io::Result<()>> = runners
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a runner panicked")))
            })
            .collect();
        done.store(true, Ordering::SeqCst);
        let renewed = renewer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the lease renewer panicked")));
        results.into_iter().chain([renewed]).collect()
    })
}

/// One runner: claim, execute, mark; again. A queue error (the database restarting, a dropped connection) is
/// said, and the runner reconnects after a poll interval: a run it could not mark is claimed again once its lease
/// lapses, and found done if it was.
fn run_claims(
    options: &WorkerOptions,
    plugin_for: &(dyn Fn(&LoadedTenant) -> Result<Arc<Plugin>, RunError> + Sync),
    active: &Mutex<Vec<Claim>>,
    say: &(dyn Fn(String) + Sync),
) -> io::Result<()> {
    let mut queue: Option<Queue> = None;
    loop {
        match claim_and_run(options, plugin_for, active, say, &mut queue) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => {
                say(format!("queue: {e}; reconnecting"));
                queue = None;
                std::thread::sleep(options.poll);
            }
        }
    }
}

/// One turn of a runner: claim a run and execute it, or wait a poll interval; true once idle with `until_idle`.
fn claim_and_run(
    options: &WorkerOptions,
    plugin_for: &(dyn Fn(&LoadedTenant) -> Result<Arc<Plugin>, RunError> + Sync),
    active: &Mutex<Vec<Claim>>,
    say: &(dyn Fn(String) + Sync),
    queue: &mut Option<Queue>,
) -> io::Result<bool> {
    let queue = match queue {
        Some(q) => q,
        None => queue.insert(Queue::connect(&options.queue_url)?),
    };
    let Some(claim) = queue.claim(&options.name, options.lease, options.max_attempts)? else {
        if options.until_idle && queue.open_runs()? == 0 {
            return Ok(true);
        }
        std::thread::sleep(options.poll);
        return Ok(false);
    };
    say(format!(
        "run {} ({}): claimed, epoch {}",
        claim.id, claim.tenant, claim.epoch
    ));
    lock(active).push(claim.clone());
    let started = Instant::now();
    let outcome = execute(&claim, plugin_for, &options.queue_url);
    lock(active).retain(|c| c.id != claim.id);
    let seconds = started.elapsed().as_secs_f64();
    let (rows, pages, error) = match &outcome {
        Outcome::Completed(rows, pages) => (*rows, *pages, None),
        Outcome::AlreadyDone => (0, 0, None),
        Outcome::Failed(why) => (0, 0, Some(why.as_str())),
        Outcome::Fenced(why) => {
            say(format!("run {} ({}): {why}", claim.id, claim.tenant));
            return Ok(false);
        }
    };
    let marked = queue.finish(&claim, rows as i64, pages as i64, error)?;
    let what = match (&outcome, marked) {
        (_, false) => "taken over by a newer claim; not marked".to_string(),
        (Outcome::AlreadyDone, true) => {
            "completed: its destination had recorded its end (its worker was lost before saying so)"
                .into()
        }
        (Outcome::Completed(rows, pages), true) => {
            format!("completed, {rows} rows in {pages} pages, {seconds:.2} s")
        }
        (_, true) => format!("failed: {}", error.unwrap_or_default()),
    };
    say(format!("run {} ({}): {what}", claim.id, claim.tenant));
    Ok(false)
}

/// Whether two database URLs name the same server (host and port): a worker's `PGPASSWORD` is for its queue's
/// server, and goes to no other.
fn same_server(a: &str, b: &str) -> bool {
    let server = |url: &str| {
        crate::dest::pg_config(url, false)
            .ok()
            .map(|c| (format!("{:?}", c.get_hosts()), c.get_ports().to_vec()))
    };
    matches!((server(a), server(b)), (Some(x), Some(y)) if x == y)
}

/// Execute one claimed run into its fenced destination; a run whose end the destination already recorded (its
/// worker was lost after committing it) is completed without running again.
fn execute(
    claim: &Claim,
    plugin_for: &(dyn Fn(&LoadedTenant) -> Result<Arc<Plugin>, RunError> + Sync),
    queue_url: &str,
) -> Outcome {
    let loaded = match from_queued(&claim.spec) {
        Ok(loaded) => loaded,
        Err(why) => return Outcome::Failed(why),
    };
    let plugin = match plugin_for(&loaded) {
        Ok(plugin) => plugin,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let DestSpec::Postgres { url, schema } = &loaded.dest else {
        return Outcome::Failed("a queued run needs a PostgreSQL destination".into());
    };
    let fence = Fence {
        epoch: claim.epoch,
        run: claim.id,
    };
    let opened = PostgresDb::open_fenced(url, schema, fence, same_server(url, queue_url));
    let mut dest = match opened.and_then(|d| d.completed_run().map(|done| (d, done))) {
        Ok((_, Some(done))) if done == claim.id => return Outcome::AlreadyDone,
        Ok((dest, _)) => dest,
        Err(e) => {
            return match Fenced::find(&e) {
                Some(fenced) => Outcome::Fenced(fenced.to_string()),
                None => Outcome::Failed(e.to_string()),
            };
        }
    };
    match plugin.run(&loaded.tenant, &mut dest) {
        Ok(summary) => {
            let rows = summary.rows.iter().map(|(_, n)| n).sum();
            Outcome::Completed(rows, summary.pages)
        }
        Err(failure) => match &failure.error {
            RunError::Destination(e) if Fenced::find(e).is_some() => {
                Outcome::Fenced(Fenced::find(e).map(|f| f.to_string()).unwrap_or_default())
            }
            _ => Outcome::Failed(failure.to_string()),
        },
    }
}

/// Renew every active claim's lease every third of the lease, until the runners are done.
fn renew_leases(
    options: &WorkerOptions,
    active: &Mutex<Vec<Claim>>,
    done: &AtomicBool,
    say: &(dyn Fn(String) + Sync),
) -> io::Result<()> {
    let mut queue: Option<Queue> = None;
    let every = options.lease / 3;
    let mut last = Instant::now();
    while !done.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50).min(every));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let claims = lock(active).clone();
        if let Err(e) = renew_all(options, &mut queue, &claims, say) {
            say(format!("queue: renewing leases: {e}; reconnecting"));
            queue = None;
        }
    }
    Ok(())
}

fn renew_all(
    options: &WorkerOptions,
    queue: &mut Option<Queue>,
    claims: &[Claim],
    say: &(dyn Fn(String) + Sync),
) -> io::Result<()> {
    let queue = match queue {
        Some(q) => q,
        None => queue.insert(Queue::connect(&options.queue_url)?),
    };
    for claim in claims {
        if !queue.renew(claim, options.lease)? {
            say(format!(
                "run {} ({}): lease lost to a newer claim (epoch {} is stale)",
                claim.id, claim.tenant, claim.epoch
            ));
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
