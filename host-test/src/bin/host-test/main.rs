//! `host-test`: the reference runner for the REST API source component.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use commands::{check, demo, inspect, run, tenant};
use host_test::{FailureKind, RunError, RunFailure};
use std::path::{Path, PathBuf};
use testkit::seed;

mod commands;
mod progress;

/// Where `run` writes when no destination is given.
const DEFAULT_DB: &str = "rest-source.db";

/// Examples and exit codes, at the end of `--help`.
const AFTER_HELP: &str = "\
Examples:
  host-test demo                                   the demo API, the five seeds, into SQLite
  host-test check --config c.json --secrets s.json --connect
  host-test run --config c.json --secrets s.json   into rest-source.db (rerun: resume or next run)
  host-test run --config c.json --secrets s.json --out out --state out/state.json
  host-test run --config c.json --postgres postgres://loader@db/warehouse --schema acme
  host-test sql rest-source.db \"SELECT * FROM _rest_source_loads\"
  host-test run --tenant tenants/acme.toml --plugins plugins/
  host-test submit --queue postgres://loader@db/ops tenants/*.toml
  host-test worker --queue postgres://loader@db/ops --plugins plugins/ --concurrency 4
  host-test runs --queue postgres://loader@db/ops
  RUST_LOG=connector=debug host-test run ...       the connector's own log lines

Exit codes:
  0  success
  1  the host, the destination or the plugin file failed
  2  usage error (unknown flag, missing argument)
  3  the config or its secrets are wrong
  4  the API failed (HTTP error after retries, auth refused, unusable response)
  5  the sandbox stopped the connector (egress, secret, request, output, page or memory limit)
  6  the time budget ran out: committed pages stay, rerun to resume";

#[derive(Parser)]
#[command(
    name = "host-test",
    version,
    about = "Run the REST API source component in a wasmtime sandbox",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more: the connector's info lines, schema changes (RUST_LOG, when set, decides instead).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(clap::Args)]
struct Common {
    /// The component (.wasm); defaults to the one this workspace builds.
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// The config: dlt's rest_api_source dict as JSON, secrets as {"secret": "name"}.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The tenant's secrets: a JSON object {"name": "value"}.
    #[arg(long)]
    secrets: Option<PathBuf>,
    /// Connect to another origin than the one the config names: FROM=TO, e.g.
    /// https://api.example.com=http://127.0.0.1:8080 (repeatable).
    #[arg(long = "connect-to", value_name = "FROM=TO")]
    connect_to: Vec<String>,
    /// Refuse loopback, private and link-local addresses (the default for tenant runs). An operator running its
    /// own config reaches whatever API the config names, loopback included, unless this is set.
    #[arg(long)]
    block_internal: bool,
    /// Stop the run cleanly at the first page boundary after this many seconds (waits before retries count).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    time_budget: Option<std::time::Duration>,
    /// How long past the time budget a connector that has not reached a page boundary may run before it is
    /// interrupted (its requests in flight are cut off; stored pages stay committed).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    grace: std::time::Duration,
    /// Most requests the run may send; later ones are denied.
    #[arg(long, value_name = "N")]
    max_requests: Option<u64>,
    /// Most requests the run may start per second: each starts at least 1/N s after the one before.
    #[arg(long, value_name = "N", value_parser = per_second)]
    requests_per_second: Option<f64>,
    /// Memory the connector may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    memory_mib: usize,
    /// Also trust the CA certificates of this PEM file (repeatable), besides the platform's roots and
    /// SSL_CERT_FILE / SSL_CERT_DIR.
    #[arg(long, value_name = "FILE")]
    cacert: Vec<PathBuf>,
    /// Present this client certificate chain (PEM) to servers that ask for one; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every resource of a config and write <out>/<resource>.jsonl (or a tenant file, with --tenant).
    Run {
        /// A tenant file (TOML or JSON) naming the plugin, config, secrets, limits, egress allowances and
        /// destination; run under the tenant sandbox defaults (internal addresses blocked, 1 h budget).
        #[arg(long, conflicts_with_all = ["config", "out", "sqlite", "state", "secrets", "postgres"])]
        tenant: Option<PathBuf>,
        /// The plugin directory where a tenant file's `plugin` name is looked up.
        #[arg(long, requires = "tenant")]
        plugins: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
        /// Output directory for JSON Lines files (one per resource), instead of the SQLite database.
        #[arg(long, conflicts_with = "sqlite")]
        out: Option<PathBuf>,
        /// The SQLite database (the default destination, `rest-source.db` when neither this nor --out is given):
        /// tables from the schema, write dispositions honoured, and the run state kept in the database (a rerun
        /// resumes, or starts the next run after a finished one).
        #[arg(long, visible_alias = "db")]
        sqlite: Option<PathBuf>,
        /// With --out: keep the run state here: resume from it if it exists; commit every page to it. A
        /// finished run's state starts the next run (incremental resources continue from their cursors).
        #[arg(long, requires = "out")]
        state: Option<PathBuf>,
        /// A PostgreSQL database (postgres://user@host:port/db; a password from PGPASSWORD) instead of SQLite:
        /// tables with dlt's PostgreSQL types in --schema, each page copied in and committed with its checkpoint.
        #[arg(long, value_name = "URL", conflicts_with_all = ["out", "sqlite"])]
        postgres: Option<String>,
        /// With --postgres: the schema the tables, the run state and the loads go in.
        #[arg(long, requires = "postgres", default_value = "rest_source")]
        schema: String,
    },
    /// Validate a config and print the declared schema as JSON (no request is sent).
    Schema {
        #[command(flatten)]
        common: Common,
        /// The state file of a run: print the schema that run inferred (no request is sent).
        #[arg(long)]
        state: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start the demo API on 127.0.0.1, run the five seed configs against it as written, each into a SQLite
    /// database, check every table against the API's rows, and show what landed and how to query it.
    Demo {
        /// The component (.wasm); defaults to the one this workspace builds.
        #[arg(long)]
        plugin: Option<PathBuf>,
        /// Rows of the main demo resource.
        #[arg(long, default_value_t = 1234)]
        rows: usize,
        /// Where the databases go (seed-NNN.db; earlier demo databases there are replaced).
        #[arg(long, default_value = "rest-source-demo")]
        dir: PathBuf,
    },
    /// Validate a config and its secrets without sending a data request; with --connect, fetch the first page
    /// of every resource (nothing is stored).
    Check {
        #[command(flatten)]
        common: Common,
        /// Also send requests: one page per resource.
        #[arg(long)]
        connect: bool,
    },
    /// Run one SQL statement against a SQLite destination, read-only, and print the result.
    Sql {
        /// The database.
        db: PathBuf,
        /// The statement, e.g. "SELECT * FROM _rest_source_loads".
        statement: String,
        /// Print JSON Lines (one object per row) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve the demo API on 127.0.0.1 until interrupted (to try `run` against it).
    DemoApi(demo::ServeArgs),
    /// Run every tenant file (*.toml, *.json) of a directory at once, one sandbox each, and print a summary
    /// per tenant. Exits with 1 when any tenant failed.
    RunAll {
        /// The directory of tenant files.
        dir: PathBuf,
        /// The plugin directory where the tenants' `plugin` names are looked up.
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Where tenants whose file names no destination write JSON Lines (<out>/<tenant>/).
        #[arg(long, default_value = "tenant-runs")]
        out: PathBuf,
    },
    /// Enqueue one run per tenant file in a queue of runs in PostgreSQL (created if missing) and print the run
    /// ids. A queued tenant file must name a PostgreSQL destination (`postgres = { url = ... }`) without a
    /// password; its config is stored inline, its secrets never (each worker reads them from its own host).
    Submit {
        /// The queue's database (postgres://user@host:port/db; a password from PGPASSWORD).
        #[arg(long, value_name = "URL")]
        queue: String,
        /// Tenant files (TOML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Claim runs from the queue and execute them, --concurrency at a time, until stopped (or, with
    /// --until-idle, until no run is queued or running). Any number of workers on any number of hosts may
    /// share a queue; a run whose worker dies is resumed by another from its last committed checkpoint.
    Worker {
        /// The queue's database.
        #[arg(long, value_name = "URL")]
        queue: String,
        /// The plugin directory where the tenants' `plugin` names are looked up.
        #[arg(long)]
        plugins: Option<PathBuf>,
        /// Runs executed at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Seconds a claim holds without renewal (renewed every third of it); a worker silent that long loses
        /// its runs to other workers, and its later commits are refused.
        #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
        lease_s: f64,
        /// Stop once no run is queued or running.
        #[arg(long)]
        until_idle: bool,
        /// This worker's name in `runs` (default: host name and process id).
        #[arg(long)]
        name: Option<String>,
        /// Claims a run gets before it is failed when its workers keep getting lost.
        #[arg(long, default_value_t = 5)]
        max_attempts: i32,
    },
    /// List the queue's runs: tenant, status, worker, attempts, rows, pages, error.
    Runs {
        /// The queue's database.
        #[arg(long, value_name = "URL")]
        queue: String,
        /// One JSON array of objects instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A run's state: `show` what a rerun would resume from (and, for SQLite, the last loads); `reset` forgets
    /// it, so the next run starts from the beginning.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Plugin directories: list what a directory holds, loaded or refused, with manifests and imports.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Print the JSON Schema of the config dialect (dlt keys and this connector's extensions), for editors;
    /// the same as docs/config.schema.json.
    ConfigSchema,
    /// Print the config of a seed document as JSON.
    SeedConfig {
        /// The seed document.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum StateCommand {
    /// Print the state: in progress or complete, and the checkpoint.
    Show(StateWhere),
    /// Forget the state (the data stays).
    Reset(StateWhere),
}

#[derive(clap::Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("place").required(true).args(["sqlite", "state", "postgres"])))]
struct StateWhere {
    /// The SQLite database of `run --db`.
    #[arg(long, visible_alias = "db")]
    sqlite: Option<PathBuf>,
    /// The state file of `run --state`.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The PostgreSQL database of `run --postgres`.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// With --postgres: the schema.
    #[arg(long, requires = "postgres", default_value = "rest_source")]
    schema: String,
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Scan a plugin directory, validate and load each plugin, and print one line per plugin.
    List {
        /// The plugin directory.
        dir: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    progress::init_logging(cli.verbose);
    if let Err(e) = real_main(cli) {
        eprintln!("error: {}", one_line(&format!("{e:#}")));
        std::process::exit(exit_code(&e).into());
    }
}

/// A problem the CLI finds in a config or its secrets before the connector sees them (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ConfigError(pub String);

/// A `--time-budget` or `--grace` value: seconds from 0 to a year (a usage error otherwise).
fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let s: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    host_test::fleet::tenant_file::seconds(s).map_err(|e| e.to_string())
}

fn per_second(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    host_test::fleet::tenant_file::per_second(n)
}

/// The documented exit code for an error (see `--help`).
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if let Some(failure) = cause.downcast_ref::<RunFailure>() {
            return failure.error.kind().exit_code();
        }
        if let Some(error) = cause.downcast_ref::<RunError>() {
            return error.kind().exit_code();
        }
        if cause.downcast_ref::<ConfigError>().is_some() {
            return FailureKind::Config.exit_code();
        }
    }
    FailureKind::Host.exit_code()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn real_main(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            tenant: Some(file),
            plugins,
            ..
        } => tenant::run_tenant(&file, plugins.as_deref()),
        Command::RunAll { dir, plugins, out } => tenant::run_all(&dir, plugins.as_deref(), &out),
        Command::Submit { queue, files } => commands::queue::submit(&queue, &files),
        Command::Worker {
            queue,
            plugins,
            concurrency,
            lease_s,
            until_idle,
            name,
            max_attempts,
        } => {
            let mut options = host_test::queue::worker::WorkerOptions::new(&queue);
            options.concurrency = concurrency;
            options.lease = seconds(&lease_s.to_string()).map_err(anyhow::Error::msg)?;
            options.until_idle = until_idle;
            options.max_attempts = max_attempts;
            if let Some(name) = name {
                options.name = name;
            }
            commands::queue::worker(options, plugins.as_deref())
        }
        Command::Runs { queue, json } => commands::queue::runs(&queue, json),
        Command::Plugins {
            command: PluginsCommand::List { dir },
        } => tenant::list_plugins(&dir),
        Command::State { command } => inspect::state_cmd(command),
        Command::Check { common, connect } => check::check(&common, connect),
        Command::Sql {
            db,
            statement,
            json,
        } => inspect::sql(&db, &statement, json),
        Command::Run {
            common,
            postgres: Some(url),
            schema,
            ..
        } => run::into_postgres(&common, &url, &schema),
        Command::Run {
            common,
            out,
            sqlite,
            state,
            ..
        } => match (out, sqlite) {
            (_, Some(db)) => run::into_sqlite(&common, &db),
            (Some(out), None) => run::into_jsonl(&common, &out, state.as_deref()),
            (None, None) => run::into_sqlite(&common, Path::new(DEFAULT_DB)),
        },
        Command::Schema {
            common,
            state,
            json,
        } => inspect::schema(&common, state.as_deref(), json),
        Command::Demo { plugin, rows, dir } => demo::demo(plugin, rows, &dir),
        Command::DemoApi(args) => demo::serve(args),
        Command::ConfigSchema => {
            print!("{}", host_test::config_schema::json_schema());
            Ok(())
        }
        Command::SeedConfig { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            println!(
                "{}",
                seed::config_json(&text).with_context(|| format!("seed {}", file.display()))?
            );
            Ok(())
        }
    }
}
