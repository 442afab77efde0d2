//! A PostgreSQL schema of a test's own: created empty, read back as JSON, dropped when the test ends. The
//! database is `DATABASE_URL` (default `postgres://root@127.0.0.1:5432/test`).

use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The database tests use.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

/// A connection to [`database_url`].
pub fn connect() -> postgres::Client {
    postgres::Client::connect(&database_url(), postgres::NoTls)
        .unwrap_or_else(|e| panic!("PostgreSQL at {} (DATABASE_URL): {e}", database_url()))
}

/// A schema that exists for as long as this value does.
pub struct TestSchema {
    /// Its name: `t_<tag>_<process>_<n>`.
    pub name: String,
    /// The database it is in.
    pub url: String,
}

impl TestSchema {
    /// A fresh, unique schema name (the schema itself is created by whoever writes into it); any schema of that
    /// name left by an earlier process is dropped.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let name = format!("t_{tag}_{}_{n}", std::process::id());
        connect()
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
            .unwrap();
        Self {
            name,
            url: database_url(),
        }
    }

    /// The rows of `sql` (run with the schema first on the search path), each as its columns' JSON values in
    /// order (PostgreSQL's own `to_json` of each value: numbers keep their digits).
    pub fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let mut client = connect();
        client
            .batch_execute(&format!(
                "SET search_path TO \"{}\"; SET TimeZone = 'UTC'",
                self.name
            ))
            .unwrap();
        // Columns renamed by position, so two of one name both stay.
        let n = client
            .prepare(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .columns()
            .len();
        let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let wrapped = format!(
            "SELECT json_agg(to_json(q))::text FROM ({sql}) AS q({})",
            names.join(", ")
        );
        let text: Option<String> = client
            .query_one(&wrapped, &[])
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0);
        let rows: Vec<Value> = text.map_or(Vec::new(), |t| serde_json::from_str(&t).unwrap());
        rows.into_iter()
            .map(|row| match row {
                Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
                other => vec![other],
            })
            .collect()
    }

    /// One value: the first column of the first row.
    pub fn value(&self, sql: &str) -> Value {
        self.query(sql)
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ =
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}
