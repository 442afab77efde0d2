//! An embedded SQLite destination: one table per selected resource, created and evolved from the connector's
//! schema, written with the resource's `write_disposition`. A page's rows and its checkpoint are committed in one
//! transaction, so they are durable together or not at all.
//!
//! Tables are created from the schema events the pages carry (`new-column` → `ALTER TABLE ADD COLUMN`).
//! SQLite columns have type *affinities*, so a widened type needs no change and no column is `NOT NULL` (a
//! column that becomes nullable needs none either). Type mapping: `bigint`/`bool` → `INTEGER`, `double` → `REAL`,
//! `binary` → `BLOB`, everything else (`decimal`, `text`, `timestamp`, `date`, `time`, `json`) → `TEXT`;
//! objects and lists are stored as compact JSON text (their own text when it has no whitespace between tokens).
//!
//! No number is changed on its way in. An integer that fits 64 signed bits is stored as an integer; any other
//! number is stored as a double (correctly rounded from the API's text) in an `INTEGER` or `REAL` column, and as
//! the API's own text in a `TEXT` column (so a `decimal` keeps every digit: SQLite's `NUMERIC` affinity would
//! round it to 15 digits). A number that an `INTEGER`, `REAL` or `NUMERIC` column cannot hold exactly (an
//! integer outside 64 signed bits, `1e400`) fails the page with an error naming the table and column, instead
//! of being rounded: that happens only when such a column later widens to `decimal`.
//!
//! Every run is recorded in `_rest_source_loads` (start, end, `completed` or `failed`, rows per resource as JSON,
//! pages, error).
//!
//! Dispositions: `append` inserts; `merge` upserts on the primary key (a unique index over it), `append` without
//! a primary key; `merge` with a `merge_key` stages the run's rows and, at the run's end, deletes the rows whose
//! merge key appears among them and inserts them (upserting on the primary key, if any), as dlt's delete-insert; `replace` writes a run's rows into a staging table `<table>__replacing` and swaps it in for the
//! table in the transaction that commits the run's end. Until then the old rows stay as they were: a failed run
//! leaves them untouched, a resumed run goes on filling the staging table, and a fresh run starts it again.

use super::RunState;
use super::sqlite_record::{Affinity, Record, sql_value};
use super::{Destination, LoadRecord};
use crate::wit::{
    ChangeKind, DataType, Page, ResourceInfo, SchemaChange, TableSchema, WriteDisposition,
};
use rusqlite::{Connection, params_from_iter};
use serde_json::Value;
use std::path::Path;

/// The table the run state is kept in.
const STATE_TABLE: &str = "_rest_source_state";

/// The table that records every run: start, end, status, rows per resource, pages, error.
pub const LOADS_TABLE: &str = "_rest_source_loads";

/// A SQLite database file as the destination.
pub struct SqliteDb {
    conn: Connection,
    tables: Vec<Table>,
    /// Merge keys per resource, from the declared schema.
    merge_keys: Vec<(String, Vec<String>)>,
}

struct Table {
    resource: String,
    /// The table the rows end up in.
    name: String,
    /// The table pages are written to: `name`, or its staging table for `replace`.
    target: String,
    columns: Vec<String>,
    /// Each column's affinity, by name.
    affinity: std::collections::HashMap<String, Affinity>,
    primary_key: Vec<String>,
    /// Delete-insert on these columns at the run's end (merge with a merge key).
    merge_key: Vec<String>,
    merge: bool,
    /// The last insert statement made: records of a page share their keys.
    insert: Option<Insert>,
}

/// An insert statement for records with these keys, and each key's column affinity.
struct Insert {
    keys: Vec<String>,
    sql: String,
    affinity: Vec<Affinity>,
}

impl Table {
    /// Whether a record is upserted on the primary key (merge into the table itself, with the key's columns).
    fn upserts(&self) -> bool {
        self.merge
            && self.target == self.name
            && !self.primary_key.is_empty()
            && self.primary_key.iter().all(|k| self.columns.contains(k))
    }

    /// The INSERT (or upsert) statement for a record with these keys, made once per set of keys in a row; and
    /// whether it was made just now (a statement prepared for the last one no longer fits).
    fn insert_for(&mut self, record: &Record) -> (&Insert, bool) {
        let (insert, made) = match self.insert.take() {
            Some(insert) if insert.fits(record) => (insert, false),
            _ => (self.make_insert(record), true),
        };
        (self.insert.insert(insert), made)
    }

    fn make_insert(&self, record: &Record) -> Insert {
        let keys = || record.0.iter().map(|(k, _)| k.as_ref());
        let names: Vec<String> = keys().map(ident).collect();
        let marks: Vec<&str> = keys().map(|_| "?").collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ident(&self.target),
            names.join(", "),
            marks.join(", ")
        );
        if self.upserts() {
            let pk: Vec<String> = self.primary_key.iter().map(|k| ident(k)).collect();
            let sets: Vec<String> = names
                .iter()
                .map(|n| format!("{n} = excluded.{n}"))
                .collect();
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                pk.join(", "),
                sets.join(", ")
            ));
        }
        Insert {
            keys: keys().map(str::to_string).collect(),
            sql,
            affinity: keys()
                .map(|k| self.affinity.get(k).copied().unwrap_or(Affinity::Numeric))
                .collect(),
        }
    }
}

impl Insert {
    /// Whether this statement is for a record with exactly these keys, in this order.
    fn fits(&self, record: &Record) -> bool {
        self.keys.len() == record.0.len()
            && self.keys.iter().zip(&record.0).all(|(a, (b, _))| a == b)
    }
}

fn io(e: rusqlite::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// A quoted SQL identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn sql_type(t: Option<DataType>) -> &'static str {
    match t {
        Some(DataType::Bigint | DataType::Bool) => "INTEGER",
        Some(DataType::Double) => "REAL",
        Some(DataType::Binary) => "BLOB",
        _ => "TEXT",
    }
}

impl SqliteDb {
    /// Open (or create) the database file.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let conn = Connection::open(path).map_err(io)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL,
                 finished_at TEXT NOT NULL, status TEXT NOT NULL, rows TEXT NOT NULL, pages INTEGER NOT NULL,
                 error TEXT);"
        ))
        .map_err(io)?;
        Ok(Self {
            conn,
            tables: Vec::new(),
            merge_keys: Vec::new(),
        })
    }

    /// The run state stored with the data, if any.
    pub fn state(&self) -> std::io::Result<Option<RunState>> {
        let text: Option<String> = self
            .conn
            .query_row(
                &format!("SELECT state FROM {STATE_TABLE} WHERE id = 1"),
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(io)?;
        text.map(|t| serde_json::from_str(&t).map_err(std::io::Error::other))
            .transpose()
    }

    /// Forget the run state: the next run starts from the beginning (the tables keep their rows). True when
    /// there was a state.
    pub fn reset_state(&self) -> std::io::Result<bool> {
        let sql = format!("DELETE FROM {STATE_TABLE}");
        Ok(self.conn.execute(&sql, []).map_err(io)? > 0)
    }

    /// The last `n` loads, newest first: started, finished, status, rows (JSON), pages, error.
    pub fn loads(&self, n: usize) -> std::io::Result<Vec<[String; 6]>> {
        let sql = format!(
            "SELECT started_at, finished_at, status, rows, pages, coalesce(error, '') FROM {LOADS_TABLE}
             ORDER BY id DESC LIMIT ?1"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(io)?;
        let rows = stmt
            .query_map([n as i64], |r| {
                Ok([
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(4)?.to_string(),
                    r.get(5)?,
                ])
            })
            .map_err(io)?;
        rows.collect::<Result<_, _>>().map_err(io)
    }

    fn table_columns(&self, name: &str) -> std::io::Result<Vec<String>> {
        Ok(self.table_info(name)?.into_iter().map(|(c, _)| c).collect())
    }

    /// A table's columns and declared types, in order.
    fn table_info(&self, name: &str) -> std::io::Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA table_info({})", ident(name)))
            .map_err(io)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(io)?;
        rows.collect::<Result<_, _>>().map_err(io)
    }

    /// Move table `i`'s staged rows into it (inside the open transaction).
    fn settle(&mut self, i: usize) -> std::io::Result<()> {
        let t = &self.tables[i];
        let (name, target) = (ident(&t.name), ident(&t.target));
        if t.merge_key.is_empty() {
            let swap = format!("DROP TABLE {name}; ALTER TABLE {target} RENAME TO {name};");
            return self.conn.execute_batch(&swap).map_err(io);
        }
        let existing = self.table_columns(&t.name)?;
        for (column, kind) in self.table_info(&t.target)? {
            if !existing.contains(&column) {
                let add = format!("ALTER TABLE {name} ADD COLUMN {} {kind}", ident(&column));
                self.conn.execute(&add, []).map_err(io)?;
            }
        }
        let list = |cols: &[String]| cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let keys = list(&t.merge_key);
        let columns: Vec<String> = t
            .columns
            .iter()
            .filter(|c| *c != "_rowid")
            .cloned()
            .collect();
        if columns.is_empty() {
            // No record this run: nothing to merge.
            let drop = format!("DROP TABLE {target};");
            return self.conn.execute_batch(&drop).map_err(io);
        }
        let mut sql = format!(
            "DELETE FROM {name} WHERE ({keys}) IN (SELECT {keys} FROM {target});
             INSERT INTO {name} ({cols}) SELECT {cols} FROM {target} WHERE true",
            cols = list(&columns)
        );
        if !t.primary_key.is_empty() {
            let sets: Vec<String> = columns
                .iter()
                .map(|c| format!("{0} = excluded.{0}", ident(c)))
                .collect();
            let index = format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {name} ({});\n",
                ident(&format!("{}__primary_key", t.name)),
                list(&t.primary_key)
            );
            sql = format!(
                "{index}{sql} ON CONFLICT ({}) DO UPDATE SET {}",
                list(&t.primary_key),
                sets.join(", ")
            );
        }
        sql.push_str(&format!("; DROP TABLE {target};"));
        self.conn.execute_batch(&sql).map_err(io)
    }

    fn apply(&mut self, resource: &str, changes: &[SchemaChange]) -> std::io::Result<()> {
        let Some(t) = self.tables.iter_mut().find(|t| t.resource == resource) else {
            return Ok(());
        };
        for c in changes.iter().filter(|c| c.kind == ChangeKind::NewColumn) {
            if t.columns.contains(&c.column) {
                continue;
            }
            let add = format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                ident(&t.target),
                ident(&c.column),
                sql_type(c.data_type)
            );
            self.conn.execute(&add, []).map_err(io)?;
            t.columns.push(c.column.clone());
            // Whether records upsert may have changed with the column.
            t.insert = None;
            let affinity = Affinity::of(sql_type(c.data_type));
            t.affinity.insert(c.column.clone(), affinity);
            if t.upserts() {
                let cols: Vec<String> = t.primary_key.iter().map(|k| ident(k)).collect();
                let index = format!(
                    "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})",
                    ident(&format!("{}__primary_key", t.name)),
                    ident(&t.name),
                    cols.join(", ")
                );
                self.conn.execute(&index, []).map_err(io)?;
            }
        }
        Ok(())
    }
}

impl Destination for SqliteDb {
    fn resume_state(&self) -> std::io::Result<Option<RunState>> {
        self.state()
    }

    fn declare(&mut self, tables: &[TableSchema]) -> std::io::Result<()> {
        self.merge_keys = super::merge_keys(tables);
        Ok(())
    }

    fn begin(
        &mut self,
        resources: &[ResourceInfo],
        resume: Option<&RunState>,
    ) -> std::io::Result<()> {
        let resuming = resume.is_some_and(|s| !s.complete);
        let create = |name: &str| {
            format!(
                "CREATE TABLE IF NOT EXISTS {} (_rowid INTEGER PRIMARY KEY)",
                ident(name)
            )
        };
        for r in resources.iter().filter(|r| r.selected) {
            let name = r.table_name.clone();
            self.conn.execute(&create(&name), []).map_err(io)?;
            let (merge_key, target) = super::staging_plan(r, &self.merge_keys);
            if target != name && !resuming {
                // A fresh staging table with the columns the table has (the schema carries over between runs,
                // so no new-column event will announce them again).
                let drop = format!("DROP TABLE IF EXISTS {}", ident(&target));
                self.conn.execute(&drop, []).map_err(io)?;
                let columns: Vec<String> = self
                    .table_info(&name)?
                    .into_iter()
                    .filter(|(c, _)| c != "_rowid")
                    .map(|(c, t)| format!(", {} {t}", ident(&c)))
                    .collect();
                let sql = format!(
                    "CREATE TABLE {} (_rowid INTEGER PRIMARY KEY{})",
                    ident(&target),
                    columns.concat()
                );
                self.conn.execute(&sql, []).map_err(io)?;
            }
            self.conn.execute(&create(&target), []).map_err(io)?;
            let info = self.table_info(&target)?;
            let affinity = info
                .iter()
                .map(|(c, t)| (c.clone(), Affinity::of(t)))
                .collect();
            self.tables.push(Table {
                resource: r.name.clone(),
                columns: info.into_iter().map(|(c, _)| c).collect(),
                affinity,
                primary_key: r.primary_key.clone(),
                merge_key,
                merge: r.write_disposition == WriteDisposition::Merge,
                insert: None,
                name,
                target,
            });
        }
        self.conn.execute_batch("BEGIN").map_err(io)
    }

    fn write_page(&mut self, page: &Page) -> std::io::Result<()> {
        self.apply(&page.resource, &page.schema_changes)?;
        let Some(t) = self.tables.iter_mut().find(|t| t.resource == page.resource) else {
            return Ok(());
        };
        let table = t.name.clone();
        // Prepared once per table and set of keys (rusqlite's statement cache), and held while the records that
        // follow have the same keys.
        let mut statement = None;
        for line in page
            .records
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            let Some(record) = Record::parse(line).map_err(std::io::Error::other)? else {
                continue;
            };
            let (insert, made) = t.insert_for(&record);
            if made {
                statement = None;
            }
            let mut values = Vec::with_capacity(record.0.len());
            for ((column, raw), affinity) in record.0.iter().zip(&insert.affinity) {
                let value = sql_value(raw, *affinity).map_err(std::io::Error::other)?;
                values.push(value.ok_or_else(|| {
                    std::io::Error::other(format!(
                        "table {table}, column {column}: the number {} does not fit the column's SQLite type \
                         exactly (declare the column `decimal` to keep it as text)",
                        raw.get()
                    ))
                })?);
            }
            let statement = match &mut statement {
                Some(statement) => statement,
                None => statement.insert(self.conn.prepare_cached(&insert.sql).map_err(io)?),
            };
            statement.execute(params_from_iter(values)).map_err(io)?;
        }
        Ok(())
    }

    fn commit(&mut self, checkpoint: &str, complete: bool) -> std::io::Result<()> {
        let state = RunState::at(checkpoint.into(), complete);
        let text = serde_json::to_string(&state).expect("a state serialises");
        self.conn
            .execute(
                &format!("INSERT OR REPLACE INTO {STATE_TABLE} (id, state) VALUES (1, ?1)"),
                [text],
            )
            .map_err(io)?;
        if complete {
            // The end of the run, atomically: staged `replace` tables take the place of the old ones; staged
            // merge-key rows replace the rows sharing their merge key.
            for i in 0..self.tables.len() {
                if self.tables[i].target != self.tables[i].name {
                    self.settle(i)?;
                }
            }
        }
        self.conn.execute_batch("COMMIT; BEGIN").map_err(io)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        // What was not committed with a checkpoint is rolled back: it is fetched again on resume.
        self.conn.execute_batch("ROLLBACK").map_err(io)
    }

    fn record_load(&mut self, load: &LoadRecord) -> std::io::Result<()> {
        let rows: serde_json::Map<String, Value> = load
            .rows
            .iter()
            .map(|(name, n)| (name.clone(), Value::from(*n)))
            .collect();
        let status = if load.error.is_some() {
            "failed"
        } else {
            "completed"
        };
        let sql = format!(
            "INSERT INTO {LOADS_TABLE} (started_at, finished_at, status, rows, pages, error)
             VALUES (datetime(?1, 'unixepoch', 'subsec'), datetime(?2, 'unixepoch', 'subsec'), ?3, ?4, ?5, ?6)"
        );
        let values: [&dyn rusqlite::ToSql; 6] = [
            &load.started,
            &load.finished,
            &status,
            &Value::Object(rows).to_string(),
            &(load.pages as i64),
            &load.error,
        ];
        self.conn.execute(&sql, &values[..]).map_err(io)?;
        Ok(())
    }
}
