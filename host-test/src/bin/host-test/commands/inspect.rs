//! Commands that look at a config or a destination without running anything: `schema`, `state`, `sql`.

use super::{load_plugin, tenant};
use crate::{Common, StateCommand};
use anyhow::{Context, Result, bail};
use host_test::SqliteDb;
use host_test::StateFile;
use host_test::describe::{data_type_name, describe_schema, disposition_name, source_name};
use host_test::sqlite_query::{self, open_read_only, render};
use host_test::wit::TableSchema;
use std::path::Path;

/// `schema`: validate the config (no request is sent) and print the declared schema, or what a state's run
/// inferred.
pub fn schema(common: &Common, state: Option<&Path>, json: bool) -> Result<()> {
    let plugin = load_plugin(common.plugin.as_deref())?;
    let tenant = tenant(common)?;
    let mut checkpoint = None;
    if let Some(path) = state {
        let stored = StateFile::new(path)
            .load()?
            .with_context(|| format!("no state in {}", path.display()))?;
        checkpoint = Some(stored.checkpoint);
    }
    // configure sends no request: the schema is the declared one plus what the state's run inferred.
    let mut session = plugin.configure(&tenant, checkpoint.as_deref())?;
    let tables = session.schema()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&describe_schema(&tables))?
        );
        return Ok(());
    }
    print_schema(&tables);
    Ok(())
}

/// `state show|reset`: print or forget the run state of a database or a state file.
pub fn state_cmd(command: StateCommand) -> Result<()> {
    let (show, at) = match command {
        StateCommand::Show(at) => (true, at),
        StateCommand::Reset(at) => (false, at),
    };
    if let Some(url) = &at.postgres {
        return postgres_state(url, &at.schema, show);
    }
    let (state, db) = match (&at.sqlite, &at.state) {
        (Some(path), _) => {
            if !path.exists() {
                bail!("no database at {}", path.display());
            }
            let db = SqliteDb::open(path).with_context(|| format!("opening {}", path.display()))?;
            (db.state()?, Some((db, path)))
        }
        (None, Some(path)) => (StateFile::new(path).load()?, None),
        (None, None) => bail!("give --sqlite <db> or --state <file>"),
    };
    if !show {
        let forgot = match (&db, &at.state) {
            (Some((db, _)), _) => db.reset_state()?,
            (None, Some(path)) => StateFile::new(path).reset()?,
            (None, None) => false,
        };
        print_reset(forgot);
        return Ok(());
    }
    print_state(state.as_ref())?;
    if let Some((db, path)) = db {
        println!("last loads in {}:", path.display());
        for [started, finished, status, rows, pages, error] in db.loads(5)? {
            println!("  {started} .. {finished}  {status:<9} {pages:>5} pages  {rows}  {error}");
        }
    }
    Ok(())
}

/// Print tables as the `schema` command does: one line per table, one per column.
pub fn print_schema(tables: &[TableSchema]) {
    for t in tables {
        let keys = if t.primary_key.is_empty() {
            String::new()
        } else {
            format!(" on {}", t.primary_key.join(", "))
        };
        let parent = t
            .parent
            .as_ref()
            .map(|p| format!(", child of {p}"))
            .unwrap_or_default();
        println!(
            "{} (table {}, {}{keys}{parent})",
            t.resource,
            t.table_name,
            disposition_name(t.write_disposition)
        );
        for c in &t.columns {
            let mut marks = Vec::new();
            for (on, mark) in [
                (c.primary_key, "primary key"),
                (c.merge_key, "merge key"),
                (c.cursor, "cursor"),
            ] {
                if on {
                    marks.push(mark);
                }
            }
            let line = format!(
                "  {:<24} {:<10} {:<9} {:<9} {}",
                c.name,
                c.data_type.map_or("?", data_type_name),
                if c.nullable { "null" } else { "not null" },
                source_name(c.type_source),
                marks.join(", ")
            );
            println!("{}", line.trim_end());
        }
    }
}

/// Run one SQL statement against a database, read-only, and print the result as a table (or JSON Lines).
pub fn sql(db: &Path, statement: &str, json: bool) -> Result<()> {
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let conn = open_read_only(db).with_context(|| format!("opening {}", db.display()))?;
    let result =
        sqlite_query::query(&conn, statement).with_context(|| format!("in {}", db.display()))?;
    if json {
        for row in &result.rows {
            let record: serde_json::Map<String, serde_json::Value> = result
                .columns
                .iter()
                .cloned()
                .zip(row.iter().cloned())
                .collect();
            println!("{}", serde_json::Value::Object(record));
        }
        return Ok(());
    }
    println!("{}", render(&result, 40, ""));
    println!("({} rows)", result.rows.len());
    Ok(())
}

/// `state show|reset --postgres <url> [--schema <name>]`: a schema that does not exist is not created.
fn postgres_state(url: &str, schema: &str, show: bool) -> Result<()> {
    let place = host_test::fleet::pg_place(url, schema);
    let exists = host_test::PostgresDb::schema_exists(url, schema)
        .with_context(|| format!("reading {place}"))?;
    if !exists {
        bail!("no schema {schema} in {place}");
    }
    let db =
        host_test::PostgresDb::open(url, schema).with_context(|| format!("opening {place}"))?;
    if !show {
        print_reset(db.reset_state()?);
        return Ok(());
    }
    print_state(db.state()?.as_ref())
}

fn print_reset(forgot: bool) {
    println!(
        "{}",
        if forgot {
            "state reset: the next run starts from the beginning"
        } else {
            "no state to reset"
        }
    );
}

fn print_state(state: Option<&host_test::RunState>) -> Result<()> {
    match state {
        None => println!("no state: the next run starts from the beginning"),
        Some(s) => {
            let what = if s.complete {
                "complete (the next run continues from it)"
            } else {
                "in progress (a rerun resumes it)"
            };
            println!("state: {what}");
            let checkpoint: serde_json::Value = serde_json::from_str(&s.checkpoint)
                .unwrap_or(serde_json::Value::String(s.checkpoint.clone()));
            println!("checkpoint: {}", serde_json::to_string_pretty(&checkpoint)?);
        }
    }
    Ok(())
}
