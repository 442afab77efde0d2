//! The command line's tools around a run: `demo` into SQLite, `sql`, `check` and `check --connect`.

use crate::cli_support::*;
use std::process::Output;
use testkit::demo_api::{DemoApi, DemoSpec};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The demo, as the README runs it (stdout not a terminal): every seed into its own database, every table
/// checked against the API, then the detail of seed 003 and how to query it.
#[test]
fn demo_lands_every_seed_in_sqlite_and_says_how_to_query_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let plugin = component().to_str().unwrap();
    let args = ["demo", "--plugin", plugin, "--rows", "345"];
    let out = host(&[&args[..], &["--dir", demo.to_str().unwrap()]].concat());
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("all seed configs reproduced the API's rows exactly"),
        "{text}"
    );
    assert!(!text.contains("DIFFERS"), "{text}");
    for id in ["000", "001", "002", "003", "004"] {
        let db = demo.join(format!("seed-{id}.db"));
        assert!(db.exists(), "{}", db.display());
        assert!(text.contains(&format!("seed {id}  ")), "{text}");
    }
    assert!(
        text.contains("resource_name       345 rows  matches the API"),
        "{text}"
    );
    assert!(
        text.contains("SELECT * FROM customer_usage LIMIT 3"),
        "{text}"
    );
    assert!(text.contains("sql "), "{text}");

    // A second demo replaces the databases instead of appending to them.
    let again = host(&[&args[..], &["--dir", demo.to_str().unwrap()]].concat());
    assert_ok(&again);
    let db = demo.join("seed-000.db");
    let count = host(&[
        "sql",
        db.to_str().unwrap(),
        "SELECT count(*) AS n FROM resource_name",
    ]);
    assert_ok(&count);
    assert_eq!(stdout(&count), "n\n---\n345\n(1 rows)\n");
}

#[test]
fn sql_reads_only_and_prints_a_table_or_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, NULL);",
    )
    .unwrap();
    drop(conn);
    let db = db.to_str().unwrap();
    let table = host(&["sql", db, "SELECT * FROM t ORDER BY id"]);
    assert_ok(&table);
    assert_eq!(
        stdout(&table),
        "id | name\n---+-----\n1  | a\n2  | NULL\n(2 rows)\n"
    );
    let json = host(&["sql", "--json", db, "SELECT * FROM t ORDER BY id"]);
    assert_ok(&json);
    assert_eq!(
        stdout(&json),
        "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":null}\n"
    );
    let write = host(&["sql", db, "DELETE FROM t"]);
    assert!(!write.status.success());
    assert!(String::from_utf8_lossy(&write.stderr).contains("readonly"));
    let still = host(&["sql", db, "SELECT count(*) FROM t"]);
    assert!(stdout(&still).contains("\n2\n"), "{}", stdout(&still));
    let missing = host(&["sql", "/nonexistent/x.db", "SELECT 1"]);
    assert!(!missing.status.success());
}

/// `check` validates the config and its secrets and sends nothing; `--connect` sends one page's request per
/// resource and stores nothing.
#[test]
fn check_sends_nothing_and_check_connect_one_page_per_resource() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, secrets) = files(&api, dir.path());
    let plugin = component().to_str().unwrap();
    let connect = format!("https://api.example.com={}", api.url());
    let base = [
        "check",
        "--plugin",
        plugin,
        "--config",
        config.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
        "--connect-to",
        &connect,
    ];
    let out = host(&base);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("config: valid, 2 resources"), "{text}");
    assert!(text.contains("secrets: api_key found"), "{text}");
    assert!(text.contains("no request sent"), "{text}");
    assert_eq!(api.log().len(), 0, "check without --connect sent a request");

    let out = host(&[&base[..], &["--connect"]].concat());
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("customer_usage: ok, first page holds 100 records"),
        "{text}"
    );
    assert!(
        text.contains("wallets: ok, first page holds 100 records"),
        "{text}"
    );
    assert!(text.contains("2 requests sent; nothing stored"), "{text}");
    let paths: Vec<String> = api.log().iter().map(|l| l.path.clone()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(!dir.path().join("rest-source.db").exists());

    // A secret the file does not hold fails the check, naming it and nothing else.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    let mut args = base.to_vec();
    args[6] = empty.to_str().unwrap();
    let out = host(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secrets file does not hold: api_key"), "{err}");
}

/// `run` of seed 003 against `api` into `<dir>/db.db`, with `extra` arguments and `secrets`.
fn run_003(
    api: &DemoApi,
    dir: &std::path::Path,
    secrets: &std::path::Path,
    extra: &[&str],
) -> Output {
    run_003_env(api, dir, secrets, extra, &[])
}

/// [`run_003`] with environment variables set.
fn run_003_env(
    api: &DemoApi,
    dir: &std::path::Path,
    secrets: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let (config, _) = files(api, dir);
    let connect = format!("https://api.example.com={}", api.url());
    let db = dir.join("db.db");
    let args = [
        "run",
        "--plugin",
        component().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--secrets",
        secrets.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--connect-to",
        &connect,
    ];
    host_env(&[&args[..], extra].concat(), env)
}

/// Each kind of failure has its documented exit code (`--help` lists them).
#[test]
fn exit_codes_say_what_kind_of_failure_it_was() {
    let api = DemoApi::start(
        DemoSpec {
            delay_ms: 30,
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let code = |out: Output| {
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("error: "));
        out.status.code()
    };
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, r#"{"api_key": "not-it"}"#).unwrap();
    assert_eq!(code(run_003(&api, dir.path(), &wrong, &[])), Some(4), "401");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{}").unwrap();
    assert_eq!(
        code(run_003(&api, dir.path(), &empty, &[])),
        Some(3),
        "missing secret"
    );
    let limited = run_003(&api, dir.path(), &secrets, &["--max-requests", "1"]);
    assert_eq!(code(limited), Some(5), "request cap");
    let budget = run_003(&api, dir.path(), &secrets, &["--time-budget", "0.01"]);
    assert_eq!(code(budget), Some(6), "time budget");
    let not_json = dir.path().join("bad.json");
    std::fs::write(&not_json, "{not json").unwrap();
    let out = host(&["check", "--config", not_json.to_str().unwrap()]);
    assert_eq!(code(out), Some(3), "config not JSON");
    assert_eq!(host(&["run", "--no-such-flag"]).status.code(), Some(2));
    let help = stdout(&host(&["--help"]));
    assert!(
        help.contains("Exit codes:") && help.contains("6  the time budget ran out"),
        "{help}"
    );
}

/// Retries show as warnings on stderr by default and are counted in the summary; `RUST_LOG` chooses what is
/// logged (here: nothing below errors).
#[test]
fn retries_are_logged_and_counted_and_rust_log_filters() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    api.inject(testkit::demo_api::Fault::status(
        "/v1/customer_usage",
        1,
        Some(2),
        503,
        Some("0.01"),
    ));
    let dir = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, dir.path());
    let out = run_003(&api, dir.path(), &secrets, &[]);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("retrying in").count(), 2, "{err}");
    assert!(err.contains("WARN connector"), "{err}");
    assert!(
        stdout(&out).contains("1367 rows in 15 pages, 2 retries"),
        "{}",
        stdout(&out)
    );

    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let quiet = tempfile::tempdir().unwrap();
    let (_, secrets) = files(&api, quiet.path());
    api.inject(testkit::demo_api::Fault::status(
        "/v1/customer_usage",
        3,
        Some(1),
        503,
        Some("0.01"),
    ));
    let out = run_003_env(&api, quiet.path(), &secrets, &[], &[("RUST_LOG", "error")]);
    assert_ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("retrying"), "{err}");
    assert!(stdout(&out).contains("1 retries"), "{}", stdout(&out));
}
