//! `host-test demo`: the demo API on loopback, the five seed configs run against it as written, each into a SQLite
//! database, every table checked against the API's rows, and what landed shown with how to query it.

use super::inspect::print_schema;
use super::load_plugin;
use anyhow::{Context, Result, bail};
use host_test::SecretStore;
use host_test::SqliteDb;
use host_test::sqlite_query::{self, open_read_only, render};
use host_test::wit::TableSchema;
use host_test::{EgressPolicy, Origin};
use host_test::{Plugin, Tenant};
use std::path::{Path, PathBuf};
use std::time::Instant;
use testkit::demo_api::{DemoApi, DemoSpec, RateSpec, Shape};
use testkit::seed;

/// The seed documents the project started from, embedded so the demo needs nothing else.
const SEEDS: [(&str, &str); 5] = [
    (
        "000",
        include_str!("../../../../../seeds/000_d0cafc2d376f2708.txt"),
    ),
    (
        "001",
        include_str!("../../../../../seeds/001_83c6850a21edb35c.txt"),
    ),
    (
        "002",
        include_str!("../../../../../seeds/002_31675668ca6b169b.txt"),
    ),
    (
        "003",
        include_str!("../../../../../seeds/003_6673f0883176f87d.txt"),
    ),
    (
        "004",
        include_str!("../../../../../seeds/004_b10a0b374197c601.txt"),
    ),
];

/// The seed whose database the demo shows in detail (two resources).
const SHOWN: &str = "003";

/// Where the origin the seeds name is served from.
const SEED_ORIGIN: &str = "https://api.example.com";

/// One seed's run: its database, the schema its run ended with, its pages and duration.
struct SeedRun {
    id: &'static str,
    db: PathBuf,
    config: serde_json::Value,
    tables: Vec<TableSchema>,
    pages: u64,
    seconds: f64,
}

/// Run the demo: `dir` receives `seed-NNN.db`, one database per seed (four seeds name their resource
/// `resource_name`, so they cannot share one).
pub fn demo(plugin: Option<PathBuf>, rows: usize, dir: &Path) -> Result<()> {
    let plugin = load_plugin(plugin.as_deref())?;
    let mut spec = DemoSpec::default();
    spec.resources.insert("resource".into(), rows);
    let api = DemoApi::start(spec, 0)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    println!(
        "demo API on {} (standing in for {SEED_ORIGIN}); the five seed configs run as written,",
        api.url()
    );
    println!("each into its own SQLite database in {}/", dir.display());
    println!();
    let mut failures = 0;
    let mut runs = Vec::new();
    for (id, document) in SEEDS {
        let run = run_seed(&plugin, &api, id, document, dir)?;
        let conn = open_read_only(&run.db)?;
        for (i, table) in run.tables.iter().enumerate() {
            let got = sqlite_query::records(&conn, table)?;
            let truth = without_nulls(api.rows(&served_name(&run.config, &table.resource)));
            let verdict = if got == truth {
                "matches the API"
            } else {
                "DIFFERS from the API"
            };
            failures += usize::from(got != truth);
            let whole_run = if i == 0 {
                format!(
                    "  {:>3} pages {:>5.2} s  {}",
                    run.pages,
                    run.seconds,
                    run.db.display()
                )
            } else {
                String::new()
            };
            println!(
                "seed {id}  {:<16} {:>6} rows  {verdict}{whole_run}",
                table.resource,
                got.len()
            );
        }
        runs.push(run);
    }
    if failures > 0 {
        bail!("{failures} table(s) differ from the demo API's rows");
    }
    println!(
        "all seed configs reproduced the API's rows exactly ({} requests served)",
        api.log().len()
    );
    if let Some(run) = runs.iter().find(|r| r.id == SHOWN) {
        show(run)?;
    }
    Ok(())
}

/// Run one seed into `<dir>/seed-<id>.db`, starting from an empty database.
fn run_seed(
    plugin: &Plugin,
    api: &DemoApi,
    id: &'static str,
    document: &str,
    dir: &Path,
) -> Result<SeedRun> {
    let config = seed::config_json(document).with_context(|| format!("seed {id}"))?;
    let value: serde_json::Value = serde_json::from_str(&config)?;
    let mut egress = EgressPolicy::from_config(&value);
    let local = Origin::of_url(&api.url()).context("the demo API's URL")?;
    egress.map(
        Origin::of_url(SEED_ORIGIN).context("the seed origin")?,
        local,
    );
    let secrets = SecretStore::from_json(&api.spec().secrets_json()).map_err(anyhow::Error::msg)?;
    let tenant = Tenant {
        name: format!("seed-{id}"),
        config,
        secrets,
        egress,
        ..Tenant::default()
    };
    let db = dir.join(format!("seed-{id}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
        }
    }
    let mut dest = SqliteDb::open(&db).with_context(|| format!("opening {}", db.display()))?;
    let started = Instant::now();
    let summary = plugin
        .run(&tenant, &mut dest)
        .with_context(|| format!("seed {id}"))?;
    let seconds = started.elapsed().as_secs_f64();
    // The schema the run ended with: the declared one plus what its pages inferred.
    let tables = plugin
        .configure(&tenant, summary.last_checkpoint.as_deref())?
        .schema()?;
    let tables = tables.into_iter().filter(|t| t.selected).collect();
    Ok(SeedRun {
        id,
        db,
        config: value,
        tables,
        pages: summary.pages,
        seconds,
    })
}

/// Print one seed's database in detail: tables, row counts, schema, a sample, and how to query it.
fn show(run: &SeedRun) -> Result<()> {
    let conn = open_read_only(&run.db)?;
    println!();
    println!("What landed in {}:", run.db.display());
    for (name, count) in sqlite_query::tables(&conn)? {
        println!("  table {name}: {count} rows");
    }
    for table in &run.tables {
        println!();
        print_schema(std::slice::from_ref(table));
        let sql = format!("SELECT * FROM {} LIMIT 3", table.table_name);
        println!("  {sql}");
        println!("{}", render(&sqlite_query::query(&conn, &sql)?, 22, "  "));
    }
    let cli = if std::env::var_os("CARGO").is_some() {
        "cargo run -q -p host-test --"
    } else {
        "host-test"
    };
    let db = run.db.display();
    let table = run
        .tables
        .first()
        .map_or("wallets", |t| t.table_name.as_str());
    println!();
    println!("Query it (any SQLite client works too, e.g. `sqlite3 {db}`):");
    println!(
        "  {cli} sql {db} \"SELECT count(*), sum(amount), avg(active) FROM {table} WHERE note IS NOT NULL\""
    );
    println!(
        "  {cli} sql {db} \"SELECT * FROM _rest_source_loads\"   # every run: status, rows, pages"
    );
    println!("  {cli} state show --db {db}                          # what a rerun resumes from");
    Ok(())
}

/// The demo API resource a seed's resource reads: the last segment of its endpoint path.
fn served_name(config: &serde_json::Value, resource: &str) -> String {
    let resources = config["resources"].as_array().cloned().unwrap_or_default();
    let path = resources
        .iter()
        .find(|r| r["name"] == resource)
        .and_then(|r| r["endpoint"]["path"].as_str().map(str::to_string))
        .unwrap_or_else(|| resource.to_string());
    path.rsplit('/').next().unwrap_or_default().to_string()
}

/// Records as a SQLite table gives them back: a null field is a NULL column, which reads back as absent.
fn without_nulls(rows: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    rows.into_iter()
        .map(|row| match row {
            serde_json::Value::Object(map) => {
                serde_json::Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
            }
            other => other,
        })
        .collect()
}

/// `demo-api`'s options.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// Port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Rows of the main demo resource.
    #[arg(long, default_value_t = 1234)]
    rows: usize,
    /// Answer with gzip bodies when the request accepts them.
    #[arg(long)]
    gzip: bool,
    /// Rows like real API rows (about 400 bytes: nested objects and lists, full-precision doubles, big
    /// integers, unicode, escapes) instead of small ones.
    #[arg(long)]
    realistic: bool,
    /// Delay every answer by this many milliseconds (answered concurrently), like an API far away.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Answer 429 (with `Retry-After`) past this many requests in any second.
    #[arg(long, value_name = "N")]
    rate_limit: Option<usize>,
    /// With --rate-limit: say `X-RateLimit-Remaining` and `X-RateLimit-Reset` on every answer.
    #[arg(long, requires = "rate_limit")]
    rate_limit_headers: bool,
}

/// `demo-api`: serve the demo API on 127.0.0.1 until interrupted.
pub(crate) fn serve(args: ServeArgs) -> Result<()> {
    let mut spec = DemoSpec {
        gzip: args.gzip,
        delay_ms: args.latency_ms,
        shape: match args.realistic {
            true => Shape::Realistic,
            false => Shape::Simple,
        },
        rate_limit: args.rate_limit.map(|requests| RateSpec {
            requests,
            window_ms: 1000,
            headers: args.rate_limit_headers,
        }),
        ..DemoSpec::default()
    };
    spec.resources.insert("resource".into(), args.rows);
    let api = DemoApi::start(spec, args.port)?;
    println!(
        "demo API on {}; secrets for it: {}",
        api.url(),
        api.spec().secrets_json()
    );
    println!(
        "try: host-test run --config cfg.json --secrets secrets.json --out out --connect-to https://api.example.com={}",
        api.url()
    );
    loop {
        std::thread::park();
    }
}
