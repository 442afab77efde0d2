//! The PostgreSQL destination's connection and everything done with it, on the destination's own thread: the
//! host tables, the tenant's tables from the schema (created, evolved, staged), pages copied in, the state with
//! its fencing epoch, and the run's end. `evolve.rs` changes the tables as the schema changes and settles staged
//! rows at the run's end.

use super::postgres::{Fence, Fenced};
use super::postgres_copy::{PgType, Problem, encode};
use super::sqlite::ident;
use super::{LoadRecord, RunState};
use crate::wit::{Page, ResourceInfo, WriteDisposition};
use postgres::Client;
use std::io::{self, Write};

mod evolve;

/// The table the run state (and the fencing epoch) is kept in.
pub(super) const STATE_TABLE: &str = "_rest_source_state";
/// The table that records every run.
pub(super) const LOADS_TABLE: &str = "_rest_source_loads";
/// The prefix of the session's temporary tables merge pages are copied into before they are upserted.
const PAGE_TABLE: &str = "_rest_source_page";

/// A PostgreSQL error as an I/O error, with what was being done.
pub(super) fn pg(doing: &str) -> impl Fn(postgres::Error) -> io::Error + '_ {
    move |e| {
        let text = match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{}: {}", db.severity(), db.message());
                // The detail and where it happened (`COPY t, line 3, column c: "..."`) name the table and column.
                for (what, part) in [("detail", db.detail()), ("where", db.where_())] {
                    if let Some(part) = part {
                        text.push_str(&format!(" ({what}: {part})"));
                    }
                }
                text
            }
            None => e.to_string(),
        };
        io::Error::other(format!("postgres: {doing}: {text}"))
    }
}

/// The longest name PostgreSQL keeps (a longer one it cuts silently, and two names may then meet).
const MOST_NAME_BYTES: usize = 63;

/// Refuse a table or column name PostgreSQL would cut, or one of the host's own tables' names.
fn usable_name(what: &str, name: &str, resource: &str) -> io::Result<()> {
    let why = if name.len() > MOST_NAME_BYTES {
        format!("is longer than PostgreSQL's {MOST_NAME_BYTES} bytes")
    } else if name.starts_with("_rest_source_") {
        "begins with `_rest_source_`, which the host keeps for its own tables".to_string()
    } else {
        return Ok(());
    };
    let hint = match what {
        "table" => " (set the resource's `table_name`)",
        _ => "",
    };
    Err(io::Error::other(format!(
        "resource {resource}: the {what} name `{name}` {why}{hint}"
    )))
}

/// One selected resource's table.
struct Table {
    resource: String,
    /// The table the rows end up in.
    name: String,
    /// The table pages go to: `name`, or its staging table (`replace`, merge with a merge key).
    target: String,
    /// The target's columns (without `_rowid`) and their types.
    columns: Vec<(String, PgType)>,
    primary_key: Vec<String>,
    merge_key: Vec<String>,
    merge: bool,
}

impl Table {
    /// Whether pages are upserted on the primary key into the table itself.
    fn upserts(&self) -> bool {
        self.merge
            && self.target == self.name
            && !self.primary_key.is_empty()
            && self
                .primary_key
                .iter()
                .all(|k| self.columns.iter().any(|(c, _)| c == k))
    }
}

/// The connection and what the run knows of the tenant's tables.
pub(super) struct Conn {
    pub(super) client: Client,
    /// The claim this destination was opened for, if any: its epoch fences every commit.
    fence: Option<Fence>,
    tables: Vec<Table>,
    pub(super) merge_keys: Vec<(String, Vec<String>)>,
    /// Set once a commit was refused: the run's load is then not recorded either.
    fenced: bool,
    /// The columns each table's page table was made with (see [`Conn::page_table`]).
    page_tables: std::collections::HashMap<usize, Vec<(String, PgType)>>,
}

fn list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Conn {
    /// Set the session up in `schema` (created if missing) with the host's tables; with a fence, take `epoch`
    /// for the state first, refusing one older than the state's.
    pub(super) fn new(mut client: Client, schema: &str, fence: Option<Fence>) -> io::Result<Self> {
        let schema = ident(schema);
        // Doubles print with their shortest exact text (a server or role setting below 1 would round them).
        let setup = format!(
            "SET TimeZone = 'UTC'; SET search_path TO {schema}; SET synchronous_commit = off;
             SET extra_float_digits = 1;
             CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id integer PRIMARY KEY CHECK (id = 1), state text,
                 epoch bigint NOT NULL DEFAULT 0, run bigint);
             CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (id bigserial PRIMARY KEY,
                 started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL, status text NOT NULL,
                 rows jsonb NOT NULL, pages bigint NOT NULL, error text);"
        );
        let mut tries = 0;
        loop {
            match client.batch_execute(&setup) {
                Ok(()) => break,
                // Two sessions making the same schema at once (a new claim beside a stalled one): the second
                // meets the first's objects once those commit, and finds them there when it tries again.
                Err(e)
                    if tries < 3
                        && e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) =>
                {
                    tries += 1;
                }
                Err(e) => return Err(pg("setting up the schema")(e)),
            }
        }
        if let Some(Fence { epoch, .. }) = fence {
            let sql = format!(
                "INSERT INTO {STATE_TABLE} (id, state, epoch) VALUES (1, NULL, $1) ON CONFLICT (id) DO UPDATE
                 SET epoch = greatest({STATE_TABLE}.epoch, excluded.epoch) RETURNING epoch"
            );
            let held: i64 = client
                .query_one(&sql, &[&epoch])
                .map_err(pg("taking the fencing epoch"))?
                .get(0);
            if held != epoch {
                return Err(io::Error::other(Fenced { epoch, held }));
            }
        }
        Ok(Self {
            client,
            fence,
            tables: Vec::new(),
            merge_keys: Vec::new(),
            fenced: false,
            page_tables: std::collections::HashMap::new(),
        })
    }

    /// The stored run state, if any.
    pub(super) fn state(&mut self) -> io::Result<Option<RunState>> {
        let sql = format!("SELECT state FROM {STATE_TABLE} WHERE id = 1 AND state IS NOT NULL");
        let row = self
            .client
            .query_opt(&sql, &[])
            .map_err(pg("reading the state"))?;
        row.map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(io::Error::other))
            .transpose()
    }

    /// The queue run whose end the state records, if it records one's.
    pub(super) fn completed_run(&mut self) -> io::Result<Option<i64>> {
        let sql = format!("SELECT run FROM {STATE_TABLE} WHERE id = 1");
        let row = self
            .client
            .query_opt(&sql, &[])
            .map_err(pg("reading the state"))?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// Forget the state; true when there was one.
    pub(super) fn reset_state(&mut self) -> io::Result<bool> {
        let sql = format!("UPDATE {STATE_TABLE} SET state = NULL WHERE state IS NOT NULL");
        Ok(self
            .client
            .execute(&sql, &[])
            .map_err(pg("resetting the state"))?
            > 0)
    }

    /// A table's columns (without `_rowid`) and their types, in order; empty when it does not exist.
    fn columns_of(&mut self, table: &str) -> io::Result<Vec<(String, PgType)>> {
        let rows = self
            .client
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> '_rowid'
                 ORDER BY ordinal_position",
                &[&table],
            )
            .map_err(pg("reading a table's columns"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), PgType::from_sql(r.get(1))))
            .collect())
    }

    /// Create (or find) every selected resource's table and, for `replace` and merge-key merges, its staging
    /// table (fresh unless the run resumes), then open the run's first transaction.
    ///
    /// With a fence, this is one transaction that first checks the epoch is still the newest: a worker that
    /// lost its claim cannot drop a staging table the newer claim fills.
    pub(super) fn begin(&mut self, resources: &[ResourceInfo], resuming: bool) -> io::Result<()> {
        if let Some(Fence { epoch, .. }) = self.fence {
            self.client
                .batch_execute("BEGIN")
                .map_err(pg("beginning a transaction"))?;
            let held = self.held_epoch(true)?;
            if held != epoch {
                self.rollback()?;
                self.fenced = true;
                return Err(io::Error::other(Fenced { epoch, held }));
            }
        }
        let create = |name: &str| {
            format!(
                "CREATE TABLE IF NOT EXISTS {} (_rowid bigint GENERATED ALWAYS AS IDENTITY)",
                ident(name)
            )
        };
        for r in resources.iter().filter(|r| r.selected) {
            let name = r.table_name.clone();
            let (merge_key, target) = super::staging_plan(r, &self.merge_keys);
            for table in [&name, &target] {
                usable_name("table", table, &r.name)?;
            }
            self.client
                .batch_execute(&create(&name))
                .map_err(pg("creating a table"))?;
            if target != name && !resuming {
                // A fresh staging table with the table's columns (the schema carries over between runs, so no
                // new-column event announces them again).
                let sql = format!(
                    "DROP TABLE IF EXISTS {target}; CREATE TABLE {target} (LIKE {name} INCLUDING IDENTITY)",
                    target = ident(&target),
                    name = ident(&name)
                );
                self.client
                    .batch_execute(&sql)
                    .map_err(pg("creating a staging table"))?;
            }
            self.client
                .batch_execute(&create(&target))
                .map_err(pg("creating a staging table"))?;
            let columns = self.columns_of(&target)?;
            self.tables.push(Table {
                resource: r.name.clone(),
                columns,
                primary_key: r.primary_key.clone(),
                merge_key,
                merge: r.write_disposition == WriteDisposition::Merge,
                name,
                target,
            });
        }
        let begin = match self.fence {
            Some(_) => "COMMIT; BEGIN",
            None => "BEGIN",
        };
        self.client
            .batch_execute(begin)
            .map_err(pg("beginning a transaction"))
    }

    /// Copy a page's records into its table (upserting on the primary key for a merge), inside the open
    /// transaction.
    pub(super) fn write_page(&mut self, page: &Page) -> io::Result<()> {
        let Some(i) = self.tables.iter().position(|t| t.resource == page.resource) else {
            return Ok(());
        };
        self.apply(i, &page.schema_changes)?;
        let text = loop {
            let t = &self.tables[i];
            match encode(&page.records, &t.columns, &t.name) {
                Ok(text) => break text,
                Err(Problem::Widen(c)) => self.retype(i, c, PgType::Numeric)?,
                Err(Problem::Refused(why)) => return Err(io::Error::other(why)),
            }
        };
        if text.is_empty() {
            return Ok(());
        }
        let t = &self.tables[i];
        let names: Vec<String> = t.columns.iter().map(|(c, _)| c.clone()).collect();
        if !t.upserts() {
            return self.copy(&t.target.clone(), &names, &text);
        }
        let (pk, table) = (list(&t.primary_key), ident(&t.name));
        let staged = self.page_table(i)?;
        self.copy(&staged, &names, &text)?;
        let cols = list(&names);
        let sets: Vec<String> = names
            .iter()
            .map(|c| format!("{0} = excluded.{0}", ident(c)))
            .collect();
        // The last record of a key wins, as it would row by row.
        let sql = format!(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM (SELECT DISTINCT ON ({pk}) * FROM {staged}
             ORDER BY {pk}, _seq DESC) AS page ORDER BY _seq ON CONFLICT ({pk}) DO UPDATE SET {}",
            sets.join(", ")
        );
        self.client
            .batch_execute(&sql)
            .map_err(pg("upserting a page"))
    }

    /// The session's temporary table a page of table `i` is copied into before it is upserted: made once per
    /// set of columns, emptied by every commit.
    fn page_table(&mut self, i: usize) -> io::Result<String> {
        let name = format!("{PAGE_TABLE}_{i}");
        let columns = self.tables[i].columns.clone();
        if self.page_tables.get(&i) == Some(&columns) {
            return Ok(name);
        }
        let types: Vec<String> = columns
            .iter()
            .map(|(c, ty)| format!(", {} {}", ident(c), ty.sql()))
            .collect();
        let sql = format!(
            "DROP TABLE IF EXISTS pg_temp.{name};
             CREATE TEMP TABLE {name} (_seq bigint GENERATED ALWAYS AS IDENTITY{}) ON COMMIT DELETE ROWS",
            types.concat()
        );
        self.client
            .batch_execute(&sql)
            .map_err(pg("staging a page"))?;
        self.page_tables.insert(i, columns);
        Ok(name)
    }

    fn copy(&mut self, table: &str, columns: &[String], text: &[u8]) -> io::Result<()> {
        let sql = format!("COPY {} ({}) FROM STDIN", ident(table), list(columns));
        let mut writer = self.client.copy_in(&sql).map_err(pg("copying a page"))?;
        writer.write_all(text)?;
        writer.finish().map_err(pg("copying a page"))?;
        Ok(())
    }

    /// Store the checkpoint (checking the fence) and commit; at the run's end, staged tables take their place
    /// first, in the same transaction.
    pub(super) fn commit(&mut self, state: &RunState) -> io::Result<()> {
        let text = serde_json::to_string(state).expect("a state serialises");
        let stored = match self.fence {
            Some(Fence { epoch, run }) => {
                let sql = format!(
                    "UPDATE {STATE_TABLE} SET state = $1, run = $3 WHERE id = 1 AND epoch = $2"
                );
                let run = state.complete.then_some(run);
                self.client.execute(&sql, &[&text, &epoch, &run])
            }
            None => {
                let sql = format!(
                    "INSERT INTO {STATE_TABLE} (id, state) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET state = excluded.state"
                );
                self.client.execute(&sql, &[&text])
            }
        }
        .map_err(pg("storing the checkpoint"))?;
        if stored == 0 {
            let held = self.held_epoch(false)?;
            let epoch = self.fence.map_or(0, |f| f.epoch);
            self.rollback()?;
            self.fenced = true;
            return Err(io::Error::other(Fenced { epoch, held }));
        }
        if state.complete {
            // The run's end waits for the disk (and with it every page commit before it).
            self.client
                .batch_execute("SET LOCAL synchronous_commit = on")
                .map_err(pg("committing the run's end"))?;
            for i in 0..self.tables.len() {
                if self.tables[i].target != self.tables[i].name {
                    self.settle(i)?;
                }
            }
        }
        self.client
            .batch_execute("COMMIT; BEGIN")
            .map_err(pg("committing a page"))
    }

    /// The epoch the state holds now; with `lock`, its row locked until the transaction ends. (After an update
    /// that found no row, no lock is needed: that update already saw the newest epoch.)
    fn held_epoch(&mut self, lock: bool) -> io::Result<i64> {
        let lock = if lock { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT epoch FROM {STATE_TABLE} WHERE id = 1{lock}");
        let row = self
            .client
            .query_opt(&sql, &[])
            .map_err(pg("reading the epoch"))?;
        Ok(row.map_or(0, |r| r.get(0)))
    }

    /// Undo what was written since the last commit (it is fetched again on resume).
    pub(super) fn rollback(&mut self) -> io::Result<()> {
        self.client
            .batch_execute("ROLLBACK")
            .map_err(pg("rolling back"))
    }

    /// Record a run in the loads table (its own transaction, after the run's last); not a fenced one, which is
    /// another worker's now.
    pub(super) fn record_load(&mut self, load: &LoadRecord) -> io::Result<()> {
        if self.fenced {
            return Ok(());
        }
        let rows: serde_json::Map<String, serde_json::Value> = load
            .rows
            .iter()
            .map(|(name, n)| (name.clone(), (*n).into()))
            .collect();
        let status = if load.error.is_some() {
            "failed"
        } else {
            "completed"
        };
        let sql = format!(
            "INSERT INTO {LOADS_TABLE} (started_at, finished_at, status, rows, pages, error)
             VALUES (to_timestamp($1), to_timestamp($2), $3, $4::text::jsonb, $5, $6)"
        );
        let rows = serde_json::Value::Object(rows).to_string();
        self.client
            .execute(
                &sql,
                &[
                    &load.started,
                    &load.finished,
                    &status,
                    &rows,
                    &(load.pages as i64),
                    &load.error,
                ],
            )
            .map_err(pg("recording the load"))?;
        Ok(())
    }
}
