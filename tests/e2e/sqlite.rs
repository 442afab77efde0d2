//! The SQLite destination: tables created and evolved from the connector's schema, write dispositions, and a
//! page's rows committed together with its checkpoint.

use crate::support::*;
use host_test::SqliteDb;
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec, Fault};

fn run_into(
    db: &std::path::Path,
    tenant: &mut host_test::Tenant,
) -> Result<host_test::RunSummary, host_test::RunFailure> {
    let mut dest = SqliteDb::open(db).unwrap();
    plugin().run(tenant, &mut dest)
}

fn query(db: &std::path::Path, sql: &str) -> Vec<Vec<Value>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => json!(v),
                rusqlite::types::ValueRef::Real(v) => json!(v),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(_) => json!("<blob>"),
            })
            .collect())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn column_types(db: &std::path::Path, table: &str) -> Vec<(String, String)> {
    query(db, &format!("PRAGMA table_info({table})"))
        .into_iter()
        .map(|r| {
            (
                r[1].as_str().unwrap().to_string(),
                r[2].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn tables_come_from_the_schema_and_evolve_with_it() {
    let api = DemoApi::start(
        DemoSpec {
            late_column_from: Some(250),
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.db");
    let mut t = tenant(&api, &seed_config("003"));
    run_into(&db, &mut t).unwrap();
    let want: Vec<(String, String)> = [
        ("_rowid", "INTEGER"),
        ("id", "INTEGER"),
        ("name", "TEXT"),
        ("amount", "REAL"),
        ("active", "INTEGER"),
        ("created_at", "TEXT"),
        ("note", "TEXT"),
        ("attributes", "TEXT"),
        ("late", "INTEGER"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        column_types(&db, "customer_usage"),
        want,
        "`late` was added when it appeared (row 250)"
    );
    assert_eq!(
        query(
            &db,
            "SELECT count(*), count(late), min(late) FROM customer_usage"
        ),
        vec![vec![json!(1050), json!(800), json!(250)]]
    );
    assert_eq!(
        query(&db, "SELECT count(*) FROM wallets"),
        vec![vec![json!(317)]]
    );
    let first = &query(
        &db,
        "SELECT id, name, amount, active, attributes FROM customer_usage ORDER BY id LIMIT 1",
    )[0];
    assert_eq!(
        first,
        &vec![
            json!(1),
            json!("customer_usage 0"),
            json!(0.0),
            json!(0),
            json!(r#"{"tier":0,"tags":["t0"]}"#)
        ]
    );
}

#[test]
fn merge_upserts_on_the_primary_key_append_adds_replace_empties() {
    let dir = tempfile::tempdir().unwrap();
    for (disposition, after_two_runs) in [("merge", 1234), ("append", 2468), ("replace", 1234)] {
        let api = api();
        let db = dir.path().join(format!("{disposition}.db"));
        let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
        config["resource_defaults"]["write_disposition"] = json!(disposition);
        let mut t = tenant(&api, &config.to_string());
        run_into(&db, &mut t).unwrap();
        run_into(&db, &mut t).expect("a finished state starts the next run");
        assert_eq!(
            query(&db, "SELECT count(*) FROM resource_name"),
            vec![vec![json!(after_two_runs)]],
            "{disposition}"
        );
    }
}

/// A second merge run whose API changed rows and added some: the changed rows are updated in place, the new
/// ones added, none duplicated, and the untouched ones stay as they were.
#[test]
fn a_second_merge_run_updates_changed_rows_and_adds_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("merge.db");
    let config = seed_config("000");
    let first = api();
    run_into(&db, &mut tenant(&first, &config)).unwrap();
    let mut spec = DemoSpec {
        late_column_from: Some(1000),
        ..DemoSpec::default()
    };
    spec.resources.insert("resource".into(), 1300);
    let changed = DemoApi::start(spec, 0).unwrap();
    run_into(&db, &mut tenant(&changed, &config)).expect("the next run");
    assert_eq!(
        query(
            &db,
            "SELECT count(*), count(DISTINCT id), count(late), min(late), max(late) FROM resource_name"
        ),
        vec![vec![
            json!(1300),
            json!(1300),
            json!(300),
            json!(1000),
            json!(1299)
        ]]
    );
    // Row 1001 (index 1000) existed after the first run and now carries the API's new value.
    assert_eq!(
        query(
            &db,
            "SELECT late, name FROM resource_name WHERE id IN (1000, 1001) ORDER BY id"
        ),
        vec![
            vec![Value::Null, json!("resource 999")],
            vec![json!(1000), json!("resource 1000")]
        ]
    );
}

#[test]
fn a_halted_run_resumes_to_exactly_the_truth_with_rows_and_checkpoint_committed_together() {
    let api = api();
    api.inject(Fault::status("/v1/resource", 4, Some(5), 503, Some("0.01")));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.db");
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resource_defaults"]["write_disposition"] = json!("append");
    let mut t = tenant(&api, &config.to_string());
    run_into(&db, &mut t).expect_err("5 failures exhaust 5 attempts");
    assert_eq!(
        query(&db, "SELECT count(*) FROM resource_name"),
        vec![vec![json!(400)]],
        "4 pages committed"
    );
    run_into(&db, &mut t).unwrap();
    let ids: Vec<Value> = query(&db, "SELECT id FROM resource_name ORDER BY _rowid")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let truth: Vec<Value> = api
        .rows("resource")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, truth, "append mode: no row missing, none twice");
}

/// `replace` swaps the new rows in only when the run finishes: a run that fails halfway leaves the previous
/// run's rows as they were, and resuming it ends with exactly the new truth.
#[test]
fn a_failed_replace_run_leaves_the_old_rows_and_its_resume_swaps_in_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.db");
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resource_defaults"]["write_disposition"] = json!("replace");
    let old = DemoApi::start(
        DemoSpec {
            resources: [("resource".to_string(), 300)].into(),
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    run_into(&db, &mut tenant(&old, &config.to_string())).unwrap();
    let ids = |db: &std::path::Path| -> Vec<Value> {
        query(db, "SELECT id FROM resource_name ORDER BY _rowid")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    };
    let truth = |api: &DemoApi| -> Vec<Value> {
        api.rows("resource")
            .iter()
            .map(|r| r["id"].clone())
            .collect()
    };
    assert_eq!(ids(&db), truth(&old));

    let new = api();
    new.inject(Fault::status("/v1/resource", 6, Some(5), 503, Some("0.01")));
    let mut t = tenant(&new, &config.to_string());
    run_into(&db, &mut t).expect_err("5 failures exhaust 5 attempts");
    assert_eq!(ids(&db), truth(&old), "the old rows are untouched");
    assert_eq!(
        query(&db, "SELECT count(*) FROM resource_name__replacing"),
        vec![vec![json!(600)]],
        "6 new pages wait in the staging table"
    );
    run_into(&db, &mut t).unwrap();
    assert_eq!(
        ids(&db),
        truth(&new),
        "resumed and swapped in: exactly the new rows"
    );
    assert!(
        query(
            &db,
            "SELECT name FROM sqlite_master WHERE name LIKE '%replacing%'"
        )
        .is_empty(),
        "no staging table left"
    );
}

/// `merge` with a `merge_key` is dlt's delete-insert: the rows whose merge key appears in the new load are
/// replaced by the load, the others stay. Row 0 (`active: false`) alone replaces the 100 old inactive rows.
#[test]
fn a_merge_key_replaces_the_rows_sharing_it_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("out.db");
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resources"][0]["write_disposition"] = json!("merge");
    config["resources"][0]["primary_key"] = json!("id");
    config["resources"][0]["merge_key"] = json!("active");
    let with_rows = |n: usize| {
        let spec = DemoSpec {
            resources: [("resource".to_string(), n)].into(),
            ..DemoSpec::default()
        };
        DemoApi::start(spec, 0).unwrap()
    };
    run_into(&db, &mut tenant(&with_rows(0), &config.to_string()))
        .expect("a first run without a row settles nothing");
    let first = with_rows(300);
    run_into(&db, &mut tenant(&first, &config.to_string())).unwrap();
    assert_eq!(
        query(&db, "SELECT count(*), sum(active) FROM resource_name"),
        vec![vec![json!(300), json!(200)]]
    );
    let second = with_rows(1);
    run_into(&db, &mut tenant(&second, &config.to_string())).unwrap();
    assert_eq!(
        query(
            &db,
            "SELECT count(*), sum(active), min(id) FROM resource_name"
        ),
        vec![vec![json!(201), json!(200), json!(1)]],
        "200 active rows kept, the 100 inactive ones replaced by row 1"
    );
}
