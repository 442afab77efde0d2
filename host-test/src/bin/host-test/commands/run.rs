//! `run` with `--out` (JSON Lines, optionally with a state file), `--sqlite` or `--postgres`: one config, with a progress line,
//! then where each resource's rows went and the totals.

use super::{load_plugin, tenant};
use crate::Common;
use crate::progress::Progress;
use anyhow::{Context, Result};
use host_test::fleet::pg_place;
use host_test::{
    Destination, JsonlDir, Plugin, PostgresDb, RunSummary, SqliteDb, StateFile, Tenant,
};
use std::path::Path;
use std::time::Instant;

/// `run --out <dir> [--state <file>]`.
pub(crate) fn into_jsonl(common: &Common, out: &Path, state: Option<&Path>) -> Result<()> {
    let plugin = load_plugin(common.plugin.as_deref())?;
    let tenant = tenant(common)?;
    let mut dest = JsonlDir::new(out);
    if let Some(path) = state {
        dest = dest.with_state(StateFile::new(path));
    }
    let state_place = state.unwrap_or(out);
    run_with_progress(&plugin, &tenant, &mut dest, state_place, |name| {
        JsonlDir::file_for(out, name).display().to_string()
    })
}

/// Run into `dest` (whose state is kept at `state_place`) with a progress line, then print where each
/// resource's rows went (`place`) and the totals.
fn run_with_progress(
    plugin: &Plugin,
    tenant: &Tenant,
    dest: &mut dyn Destination,
    state_place: &Path,
    place: impl Fn(&str) -> String,
) -> Result<()> {
    if let Some(stored) = dest.resume_state()? {
        say_resuming(stored.complete, state_place);
    }
    let started = Instant::now();
    let summary = plugin.run(tenant, &mut Progress::new(dest))?;
    for (name, rows) in &summary.rows {
        println!("{name}: {rows} rows -> {}", place(name));
    }
    print_totals(&summary, started);
    Ok(())
}

fn say_resuming(complete: bool, place: &Path) {
    let what = if complete {
        "starting the next run after"
    } else {
        "resuming"
    };
    eprintln!("{what} the state in {}", place.display());
}

/// The run's last line: rows, pages, retries, time.
fn print_totals(summary: &RunSummary, started: Instant) {
    let total: u64 = summary.rows.iter().map(|(_, n)| n).sum();
    let retries = summary
        .logs
        .iter()
        .filter(|l| l.message.contains("; retrying in "))
        .count();
    println!(
        "{total} rows in {} pages, {retries} retries, {:.2} s, guest memory peak {:.1} MiB",
        summary.pages,
        started.elapsed().as_secs_f64(),
        summary.guest_memory_peak as f64 / (1 << 20) as f64
    );
    // The connector's warnings other than retries (a paginator guessed, a redirect followed), once each.
    let mut warnings: Vec<&str> = Vec::new();
    for line in summary.logs.iter().filter(|l| l.level == "warn") {
        if !line.message.contains("; retrying in ") && !warnings.contains(&line.message.as_str()) {
            warnings.push(&line.message);
        }
    }
    for warning in warnings {
        println!("warning: {warning}");
    }
}

/// `run --sqlite <db>` (the default destination).
pub(crate) fn into_sqlite(common: &Common, db: &Path) -> Result<()> {
    let plugin = load_plugin(common.plugin.as_deref())?;
    let tenant = tenant(common)?;
    let mut dest = SqliteDb::open(db).with_context(|| format!("opening {}", db.display()))?;
    run_with_progress(&plugin, &tenant, &mut dest, db, |_| {
        format!("{} table", db.display())
    })
}

/// `run --postgres <url> --schema <name>`.
pub(crate) fn into_postgres(common: &Common, url: &str, schema: &str) -> Result<()> {
    let plugin = load_plugin(common.plugin.as_deref())?;
    let tenant = tenant(common)?;
    let place = pg_place(url, schema);
    let mut dest = PostgresDb::open(url, schema).with_context(|| format!("opening {place}"))?;
    run_with_progress(&plugin, &tenant, &mut dest, Path::new(&place), |name| {
        format!("{place}, table of {name}")
    })
}
