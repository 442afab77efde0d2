//! A queue of tenant runs in PostgreSQL, shared by any number of workers on any number of hosts.
//!
//! One table, `rest_source_queue.runs`: a row per submitted run with its tenant file in queued form
//! ([`queued_form`](crate::fleet::queued::queued_form): no secret), its status (`queued`, `running`,
//! `completed`, `failed`), the worker holding it, the lease that worker renews, the epoch of its claim, attempts,
//! rows, pages and error.
//!
//! - A claim takes the oldest run that is queued, or running with a lapsed lease (its worker died or stalled), with
//!   `FOR UPDATE SKIP LOCKED`, and never one whose destination another live claim is writing (checked again
//!   under a lock on the destination, taken without waiting). It takes a fresh epoch from a sequence.
//! - The epoch fences the destination ([`PostgresDb::open_fenced`](crate::PostgresDb::open_fenced)): a worker that
//!   lost its lease and wakes up cannot commit another page, and cannot finish the run here either (every update
//!   of a run checks its epoch).
//! - A run whose worker was lost `max_attempts` times is failed rather than claimed again (by the next worker
//!   that finds nothing to claim).

pub mod worker;

use crate::dest::pg_config;
use postgres::Client;
use std::io;
use std::time::Duration;

/// The schema the queue lives in.
pub const SCHEMA: &str = "rest_source_queue";

/// A claimed run: what a worker needs to execute it.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The run.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// The tenant file in queued form (JSON).
    pub spec: String,
    /// The claim's epoch.
    pub epoch: i64,
}

/// One run, as `runs` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    /// The run.
    pub id: i64,
    /// The tenant.
    pub tenant: String,
    /// queued, running, completed or failed.
    pub status: String,
    /// The worker that holds or last held it.
    pub worker: Option<String>,
    /// Claims so far.
    pub attempts: i32,
    /// Rows stored by its claims that ended (a claim whose worker was lost reports none: the destination's
    /// loads table and its rows are the truth).
    pub rows: i64,
    /// Pages stored, counted as `rows` is.
    pub pages: i64,
    /// Why it failed.
    pub error: Option<String>,
}

/// A connection to the queue.
pub struct Queue {
    client: Client,
}

fn pg(doing: &'static str) -> impl Fn(postgres::Error) -> io::Error {
    move |e| {
        let text = e
            .as_db_error()
            .map_or(e.to_string(), |d| d.message().to_string());
        io::Error::other(format!("queue: {doing}: {text}"))
    }
}

impl Queue {
    /// Connect (a password, when the URL has none, from `PGPASSWORD`) and create the queue's table if missing.
    pub fn connect(url: &str) -> io::Result<Self> {
        let mut client = pg_config(url, true)?
            .connect(postgres::NoTls)
            .map_err(pg("connecting"))?;
        // Created once: `CREATE INDEX IF NOT EXISTS` locks the table even when the index exists, and would queue
        // every claim and renewal behind a claim in progress (a stalled worker's, for as long as it stalls).
        let exists: bool = client
            .query_one(
                &format!("SELECT to_regclass('{SCHEMA}.runs') IS NOT NULL"),
                &[],
            )
            .map_err(pg("connecting"))?
            .get(0);
        if exists {
            return Ok(Self { client });
        }
        // Under a lock, so workers starting together do not race to create the same objects.
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('{SCHEMA}'));
                 CREATE SCHEMA IF NOT EXISTS {SCHEMA};
                 CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.epochs;
                 CREATE TABLE IF NOT EXISTS {SCHEMA}.runs (id bigserial PRIMARY KEY, tenant text NOT NULL,
                     dest text NOT NULL, spec jsonb NOT NULL, status text NOT NULL DEFAULT 'queued',
                     worker text, epoch bigint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,
                     lease_until timestamptz, rows bigint NOT NULL DEFAULT 0, pages bigint NOT NULL DEFAULT 0,
                     error text, submitted_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
                 CREATE INDEX IF NOT EXISTS runs_open ON {SCHEMA}.runs (id) WHERE status IN ('queued', 'running');
                 CREATE INDEX IF NOT EXISTS runs_running_dest ON {SCHEMA}.runs (dest) WHERE status = 'running';
                 COMMIT;"
            ))
            .map_err(pg("creating the queue"))?;
        Ok(Self { client })
    }

    /// Enqueue a run of a tenant file in queued form; its id.
    pub fn submit(&mut self, queued: &crate::fleet::queued::Queued) -> io::Result<i64> {
        let sql = format!(
            "INSERT INTO {SCHEMA}.runs (tenant, dest, spec) VALUES ($1, $2, $3::text::jsonb) RETURNING id"
        );
        let spec = queued.spec.to_string();
        let row = self
            .client
            .query_one(&sql, &[&queued.tenant, &queued.dest, &spec])
            .map_err(pg("submitting"))?;
        Ok(row.get(0))
    }

    /// Claim the oldest claimable run for `worker` with a lease of `lease`: queued, or running with a lapsed
    /// lease and fewer than `max_attempts` claims; `None` when there is none, after failing the runs that lost
    /// their worker `max_attempts` times.
    pub fn claim(
        &mut self,
        worker: &str,
        lease: Duration,
        max_attempts: i32,
    ) -> io::Result<Option<Claim>> {
        let row = self.claim_one(worker, lease, max_attempts)?;
        if row.is_none() {
            let give_up = format!(
                "UPDATE {SCHEMA}.runs SET status = 'failed', finished_at = now(), lease_until = NULL,
                     error = 'its worker was lost ' || attempts || ' times (max attempts)'
                 WHERE status = 'running' AND lease_until < now() AND attempts >= $1"
            );
            self.client
                .execute(&give_up, &[&max_attempts])
                .map_err(pg("failing runs out of attempts"))?;
        }
        Ok(row.map(|r| Claim {
            id: r.get(0),
            tenant: r.get(1),
            spec: r.get(2),
            epoch: r.get(3),
        }))
    }

    /// One claim, in a transaction: the oldest claimable run whose destination no live claim holds, checked again
    /// under a lock on the destination (taken without waiting: a destination another worker is claiming right
    /// now is skipped), so two claims never hold one destination.
    fn claim_one(
        &mut self,
        worker: &str,
        lease: Duration,
        max_attempts: i32,
    ) -> io::Result<Option<postgres::Row>> {
        let candidate = format!(
            "SELECT id, dest FROM {SCHEMA}.runs r
             WHERE (status = 'queued' OR (status = 'running' AND lease_until < now() AND attempts < $1))
               AND dest <> ALL($2)
               AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.runs o WHERE o.dest = r.dest AND o.id <> r.id
                               AND o.status = 'running' AND o.lease_until >= now())
             ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
        );
        let lock = format!("SELECT pg_try_advisory_xact_lock(hashtext('{SCHEMA}.dest:' || $1))");
        let held = format!(
            "SELECT 1 FROM {SCHEMA}.runs WHERE dest = $1 AND id <> $2 AND status = 'running'
             AND lease_until >= now()"
        );
        let take = format!(
            "UPDATE {SCHEMA}.runs SET status = 'running', worker = $2, epoch = nextval('{SCHEMA}.epochs'),
                 attempts = attempts + 1, lease_until = now() + make_interval(secs => $3), error = NULL
             WHERE id = $1 RETURNING id, tenant, spec::text, epoch"
        );
        let mut skipped: Vec<String> = Vec::new();
        let mut tx = self.client.transaction().map_err(pg("claiming"))?;
        while let Some(run) = tx
            .query_opt(&candidate, &[&max_attempts, &skipped])
            .map_err(pg("claiming"))?
        {
            let (id, dest): (i64, String) = (run.get(0), run.get(1));
            let locked: bool = tx
                .query_one(&lock, &[&dest])
                .map_err(pg("claiming"))?
                .get(0);
            // A new statement, a new snapshot: a claim of this destination committed meanwhile shows now.
            if locked
                && tx
                    .query_opt(&held, &[&dest, &id])
                    .map_err(pg("claiming"))?
                    .is_none()
            {
                let row = tx
                    .query_one(&take, &[&id, &worker, &lease.as_secs_f64()])
                    .map_err(pg("claiming"))?;
                tx.commit().map_err(pg("claiming"))?;
                return Ok(Some(row));
            }
            skipped.push(dest);
        }
        tx.commit().map_err(pg("claiming"))?;
        Ok(None)
    }

    /// Renew a claim's lease; false when the claim is no longer this epoch's.
    pub fn renew(&mut self, claim: &Claim, lease: Duration) -> io::Result<bool> {
        let sql = format!(
            "UPDATE {SCHEMA}.runs SET lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND epoch = $2 AND status = 'running'"
        );
        let n = self
            .client
            .execute(&sql, &[&claim.id, &claim.epoch, &lease.as_secs_f64()])
            .map_err(pg("renewing a lease"))?;
        Ok(n == 1)
    }

    /// End a claimed run: `completed` (`error` is `None`) or `failed`, with the rows and pages this claim
    /// stored. False when the claim is no longer this epoch's (nothing is changed).
    pub fn finish(
        &mut self,
        claim: &Claim,
        rows: i64,
        pages: i64,
        error: Option<&str>,
    ) -> io::Result<bool> {
        let status = if error.is_some() {
            "failed"
        } else {
            "completed"
        };
        let sql = format!(
            "UPDATE {SCHEMA}.runs SET status = $3, rows = rows + $4, pages = pages + $5, error = $6,
                 finished_at = now(), lease_until = NULL
             WHERE id = $1 AND epoch = $2 AND status = 'running'"
        );
        let n = self
            .client
            .execute(
                &sql,
                &[&claim.id, &claim.epoch, &status, &rows, &pages, &error],
            )
            .map_err(pg("finishing a run"))?;
        Ok(n == 1)
    }

    /// Every run, oldest first.
    pub fn list(&mut self) -> io::Result<Vec<RunRow>> {
        let sql = format!(
            "SELECT id, tenant, status, worker, attempts, rows, pages, error FROM {SCHEMA}.runs ORDER BY id"
        );
        let rows = self.client.query(&sql, &[]).map_err(pg("listing runs"))?;
        Ok(rows
            .iter()
            .map(|r| RunRow {
                id: r.get(0),
                tenant: r.get(1),
                status: r.get(2),
                worker: r.get(3),
                attempts: r.get(4),
                rows: r.get(5),
                pages: r.get(6),
                error: r.get(7),
            })
            .collect())
    }

    /// How many runs are queued or running.
    pub fn open_runs(&mut self) -> io::Result<i64> {
        let sql =
            format!("SELECT count(*) FROM {SCHEMA}.runs WHERE status IN ('queued', 'running')");
        let row = self
            .client
            .query_one(&sql, &[])
            .map_err(pg("counting runs"))?;
        Ok(row.get(0))
    }
}
