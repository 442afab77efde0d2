//! The PostgreSQL destination against the real database (`DATABASE_URL`): tables with dlt's PostgreSQL types,
//! evolved with the schema, the three write dispositions, a page's rows committed with its checkpoint, resume
//! after a failure, values unchanged, and commits fenced by an epoch.

use crate::support::*;
use host_test::wit::{Page, ResourceInfo, WriteDisposition};
use host_test::{Destination, Fence, Fenced, PostgresDb};
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec, Fault, Shape};
use testkit::pg::TestSchema;

fn run_into(
    schema: &TestSchema,
    tenant: &host_test::Tenant,
) -> Result<host_test::RunSummary, host_test::RunFailure> {
    let mut dest = PostgresDb::open(&schema.url, &schema.name).unwrap();
    plugin().run(tenant, &mut dest)
}

fn ids(schema: &TestSchema, table: &str) -> Vec<Value> {
    schema
        .query(&format!("SELECT id FROM {table} ORDER BY _rowid"))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn truth(api: &DemoApi, resource: &str) -> Vec<Value> {
    api.rows(resource).iter().map(|r| r["id"].clone()).collect()
}

/// A demo API whose `resource` has `rows` rows.
fn api_with(rows: usize) -> DemoApi {
    let spec = DemoSpec {
        resources: [("resource".to_string(), rows)].into(),
        ..DemoSpec::default()
    };
    DemoApi::start(spec, 0).unwrap()
}

fn config_with(seed: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut config: Value = serde_json::from_str(&seed_config(seed)).unwrap();
    edit(&mut config);
    config.to_string()
}

#[test]
fn tables_get_dlts_postgres_types_and_evolve_with_the_schema() {
    let api = DemoApi::start(
        DemoSpec {
            late_column_from: Some(250),
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let schema = TestSchema::new("types");
    run_into(&schema, &tenant(&api, &seed_config("003"))).unwrap();
    let types = schema.query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'customer_usage' ORDER BY ordinal_position",
    );
    let want = [
        ("_rowid", "bigint"),
        ("id", "bigint"),
        ("name", "text"),
        ("amount", "double precision"),
        ("active", "boolean"),
        ("created_at", "timestamp with time zone"),
        ("note", "text"),
        ("attributes", "jsonb"),
        ("late", "bigint"),
    ];
    let want: Vec<Vec<Value>> = want.iter().map(|(c, t)| vec![json!(c), json!(t)]).collect();
    assert_eq!(types, want, "`late` was added when it appeared (row 250)");
    assert_eq!(
        schema.query("SELECT count(*), count(late), min(late) FROM customer_usage"),
        vec![vec![json!(1050), json!(800), json!(250)]]
    );
    let first = &schema.query(
        "SELECT id, name, amount, active, created_at, attributes FROM customer_usage ORDER BY id LIMIT 1",
    )[0];
    assert_eq!(
        first,
        &vec![
            json!(1),
            json!("customer_usage 0"),
            json!(0),
            json!(false),
            json!("2024-01-01T00:00:00+00:00"),
            json!({"tier": 0, "tags": ["t0"]})
        ]
    );
    let loads = schema.query("SELECT status, pages > 0, error FROM _rest_source_loads");
    assert_eq!(
        loads,
        vec![vec![json!("completed"), json!(true), Value::Null]]
    );
}

#[test]
fn merge_upserts_append_adds_replace_empties() {
    for (disposition, after_two_runs) in [("merge", 1234), ("append", 2468), ("replace", 1234)] {
        let api = api();
        let schema = TestSchema::new(disposition);
        let config = config_with("000", |c| {
            c["resource_defaults"]["write_disposition"] = json!(disposition)
        });
        let t = tenant(&api, &config);
        run_into(&schema, &t).unwrap();
        run_into(&schema, &t).expect("a finished state starts the next run");
        assert_eq!(
            schema.value("SELECT count(*) FROM resource_name"),
            json!(after_two_runs),
            "{disposition}"
        );
        if disposition != "append" {
            assert_eq!(
                ids(&schema, "resource_name"),
                truth(&api, "resource"),
                "{disposition}"
            );
        }
    }
}

/// A second merge run whose API changed rows and added some: the changed rows are updated in place, the new
/// ones added, none duplicated.
#[test]
fn a_second_merge_run_updates_changed_rows_and_adds_new_ones() {
    let schema = TestSchema::new("merge2");
    let config = seed_config("000");
    run_into(&schema, &tenant(&api(), &config)).unwrap();
    let mut spec = DemoSpec {
        late_column_from: Some(1000),
        ..DemoSpec::default()
    };
    spec.resources.insert("resource".into(), 1300);
    let changed = DemoApi::start(spec, 0).unwrap();
    run_into(&schema, &tenant(&changed, &config)).expect("the next run");
    assert_eq!(
        schema.query(
            "SELECT count(*), count(DISTINCT id), count(late), min(late), max(late) FROM resource_name"
        ),
        vec![vec![json!(1300), json!(1300), json!(300), json!(1000), json!(1299)]]
    );
    assert_eq!(
        schema.query("SELECT late, name FROM resource_name WHERE id IN (1000, 1001) ORDER BY id"),
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
    let schema = TestSchema::new("resume");
    let config = config_with("000", |c| {
        c["resource_defaults"]["write_disposition"] = json!("append")
    });
    let t = tenant(&api, &config);
    run_into(&schema, &t).expect_err("5 failures exhaust 5 attempts");
    assert_eq!(
        schema.value("SELECT count(*) FROM resource_name"),
        json!(400),
        "4 pages committed"
    );
    let state = PostgresDb::open(&schema.url, &schema.name)
        .unwrap()
        .state()
        .unwrap();
    assert!(
        state.is_some_and(|s| !s.complete),
        "the checkpoint of page 4, in progress"
    );
    assert_eq!(
        schema.query("SELECT status, pages FROM _rest_source_loads"),
        vec![vec![json!("failed"), json!(4)]]
    );
    run_into(&schema, &t).unwrap();
    assert_eq!(
        ids(&schema, "resource_name"),
        truth(&api, "resource"),
        "no row missing, none twice"
    );
}

#[test]
fn a_failed_replace_run_leaves_the_old_rows_and_its_resume_swaps_in_the_new_ones() {
    let schema = TestSchema::new("replace");
    let config = config_with("000", |c| {
        c["resource_defaults"]["write_disposition"] = json!("replace")
    });
    let old = api_with(300);
    run_into(&schema, &tenant(&old, &config)).unwrap();
    assert_eq!(ids(&schema, "resource_name"), truth(&old, "resource"));
    let new = api();
    new.inject(Fault::status("/v1/resource", 6, Some(5), 503, Some("0.01")));
    let t = tenant(&new, &config);
    run_into(&schema, &t).expect_err("5 failures exhaust 5 attempts");
    assert_eq!(
        ids(&schema, "resource_name"),
        truth(&old, "resource"),
        "old rows untouched"
    );
    assert_eq!(
        schema.value("SELECT count(*) FROM resource_name__replacing"),
        json!(600)
    );
    run_into(&schema, &t).unwrap();
    assert_eq!(ids(&schema, "resource_name"), truth(&new, "resource"));
    assert_eq!(
        schema.value(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()
             AND table_name LIKE '%replacing%'"
        ),
        json!(0),
        "no staging table left"
    );
}

/// dlt's delete-insert: the rows whose merge key appears in the new load are replaced by it, the others stay.
#[test]
fn a_merge_key_replaces_the_rows_sharing_it_and_keeps_the_others() {
    let schema = TestSchema::new("mergekey");
    let config = config_with("000", |c| {
        c["resources"][0]["write_disposition"] = json!("merge");
        c["resources"][0]["primary_key"] = json!("id");
        c["resources"][0]["merge_key"] = json!("active");
    });
    run_into(&schema, &tenant(&api_with(0), &config))
        .expect("a first run without a row settles nothing");
    run_into(&schema, &tenant(&api_with(300), &config)).unwrap();
    let active = "SELECT count(*), count(*) FILTER (WHERE active), min(id) FROM resource_name";
    assert_eq!(
        schema.query(active),
        vec![vec![json!(300), json!(200), json!(1)]]
    );
    run_into(&schema, &tenant(&api_with(1), &config)).unwrap();
    assert_eq!(
        schema.query(active),
        vec![vec![json!(201), json!(200), json!(1)]],
        "200 active rows kept, the 100 inactive ones replaced by row 1"
    );
}

/// Two values the same, the way a destination may print them: numbers by value (integers by their digits),
/// timestamps by instant, objects whatever the order of their keys.
fn same(api: &Value, stored: &Value) -> bool {
    match (api, stored) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.to_string(), b.to_string());
            match (a.parse::<i128>(), b.parse::<i128>()) {
                (Ok(x), Ok(y)) => x == y,
                _ => a.parse::<f64>().ok() == b.parse::<f64>().ok(),
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
            instant(a).is_some() && instant(a) == instant(b)
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
        }
        (a, b) => a == b,
    }
}

/// Realistic rows (long doubles, integers up to 2^53, unicode, nested lists) come back equal, value for value;
/// an integer past 2^53 in a double column turns the column `numeric` instead of being rounded.
#[test]
fn realistic_rows_come_back_unchanged_and_a_big_integer_widens_a_double_column() {
    let api = DemoApi::start(
        DemoSpec {
            resources: [("resource".to_string(), 700)].into(),
            shape: Shape::Realistic,
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let schema = TestSchema::new("values");
    run_into(&schema, &tenant(&api, &seed_config("000"))).unwrap();
    let stored: Vec<Value> = schema
        .query("SELECT to_jsonb(r) - '_rowid' FROM resource_name r ORDER BY _rowid")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let rows = api.rows("resource");
    assert_eq!(stored.len(), rows.len());
    for (api_row, row) in rows.iter().zip(&stored) {
        let api_row: serde_json::Map<String, Value> = api_row
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let row: serde_json::Map<String, Value> = row
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(
            same(&Value::Object(api_row.clone()), &Value::Object(row.clone())),
            "{api_row:?}\n{row:?}"
        );
    }

    let server = server::RouteServer::start(|_| {
        server::Answer::json(r#"[{"id": 1, "x": 0.5}, {"id": 2, "x": 9007199254740993}]"#)
    });
    let config = json!({"client": {"base_url": "https://api.example.com/"},
        "resources": [{"name": "nums", "endpoint": {"path": "nums", "paginator": "single_page"}}]});
    let big = TestSchema::new("bigint");
    run_into(&big, &tenant_at(&server.url(), &config.to_string())).unwrap();
    assert_eq!(
        big.query("SELECT data_type::text FROM information_schema.columns WHERE table_schema = current_schema()
                   AND table_name = 'nums' AND column_name = 'x'"),
        vec![vec![json!("numeric")]]
    );
    assert_eq!(
        big.query("SELECT x::text FROM nums ORDER BY id"),
        vec![vec![json!("0.5")], vec![json!("9007199254740993")]]
    );
}

fn resource() -> ResourceInfo {
    ResourceInfo {
        name: "r".into(),
        table_name: "r".into(),
        write_disposition: WriteDisposition::Append,
        primary_key: vec![],
        selected: true,
    }
}

fn page(ids: std::ops::Range<u32>, checkpoint: &str) -> Page {
    let records: String = ids.clone().map(|i| format!("{{\"id\": {i}}}\n")).collect();
    Page {
        resource: "r".into(),
        records: records.into_bytes(),
        record_count: ids.len() as u32,
        checkpoint: checkpoint.into(),
        schema_changes: vec![host_test::wit::SchemaChange {
            column: "id".into(),
            kind: host_test::wit::ChangeKind::NewColumn,
            data_type: Some(host_test::wit::DataType::Bigint),
            previous_type: None,
        }],
    }
}

fn fence(epoch: i64) -> Fence {
    Fence {
        epoch,
        run: epoch * 10,
    }
}

/// A worker that lost its claim (a newer epoch opened the destination) cannot commit another page: its page and
/// checkpoint are rolled back together, and it cannot take the destination back with its old epoch.
#[test]
fn a_stale_epoch_cannot_commit() {
    let schema = TestSchema::new("fence");
    let mut stale = PostgresDb::open_fenced(&schema.url, &schema.name, fence(7), true).unwrap();
    stale.begin(&[resource()], None).unwrap();
    stale.write_page(&page(0..10, "\"cp1\"")).unwrap();
    stale.commit("\"cp1\"", false).unwrap();

    let fresh = PostgresDb::open_fenced(&schema.url, &schema.name, fence(8), true).unwrap();
    assert_eq!(
        fresh.state().unwrap().map(|s| s.checkpoint),
        Some("\"cp1\"".to_string())
    );
    stale.write_page(&page(10..20, "\"cp2\"")).unwrap();
    let refused = stale.commit("\"cp2\"", false).unwrap_err();
    assert_eq!(
        Fenced::find(&refused),
        Some(Fenced { epoch: 7, held: 8 }),
        "{refused}"
    );
    stale.finish().unwrap();
    assert_eq!(
        schema.value("SELECT count(*) FROM r"),
        json!(10),
        "the late page is not there"
    );
    assert_eq!(
        fresh.state().unwrap().map(|s| s.checkpoint),
        Some("\"cp1\"".to_string())
    );
    let Err(again) = PostgresDb::open_fenced(&schema.url, &schema.name, fence(7), true) else {
        panic!("an old epoch cannot reopen the destination")
    };
    assert!(Fenced::find(&again).is_some(), "{again}");

    // Nor begin a run (and drop a staging table the newer claim fills) once a newer claim opened it.
    let mut late = PostgresDb::open_fenced(&schema.url, &schema.name, fence(9), true).unwrap();
    let newest = PostgresDb::open_fenced(&schema.url, &schema.name, fence(10), true).unwrap();
    let refused = late.begin(&[resource()], None).unwrap_err();
    assert_eq!(Fenced::find(&refused), Some(Fenced { epoch: 9, held: 10 }));
    drop(newest);
}

/// The run's end records the queue run it ended: a later claim of the same run finds it done.
#[test]
fn the_end_of_a_run_records_its_queue_run() {
    let schema = TestSchema::new("done");
    let mut dest = PostgresDb::open_fenced(&schema.url, &schema.name, fence(3), true).unwrap();
    dest.begin(&[resource()], None).unwrap();
    dest.write_page(&page(0..5, "\"cp\"")).unwrap();
    dest.commit("\"cp\"", false).unwrap();
    assert_eq!(dest.completed_run().unwrap(), None, "not ended yet");
    dest.commit("\"cp\"", true).unwrap();
    dest.finish().unwrap();
    let again = PostgresDb::open_fenced(&schema.url, &schema.name, fence(4), true).unwrap();
    assert_eq!(again.completed_run().unwrap(), Some(30));
}

/// A column widened between pages changes type with its values kept: `bigint` → `double precision` (every value
/// within ±2^53), a number then a string → `text`, a date then a timestamp → `timestamptz`.
#[test]
fn widened_columns_keep_every_value() {
    let pages = [
        r#"{"items": [{"id": 1, "x": 3, "y": 5, "d": "2024-01-02"}], "total": 2}"#,
        r#"{"items": [{"id": 2, "x": 0.1, "y": "five", "d": "2024-01-03T04:05:06.5Z"}], "total": 2}"#,
    ];
    let server = server::RouteServer::start(move |seen| {
        let second = seen.url.contains("offset=1");
        server::Answer::json(pages[usize::from(second)])
    });
    let config = json!({"client": {"base_url": "https://api.example.com/"},
        "resources": [{"name": "w", "endpoint": {"path": "w", "data_selector": "items",
            "paginator": {"type": "offset", "limit": 1, "total_path": "total"}}}]});
    let schema = TestSchema::new("widen");
    run_into(&schema, &tenant_at(&server.url(), &config.to_string())).unwrap();
    assert_eq!(
        schema.query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'w' ORDER BY ordinal_position"
        ),
        [
            ("_rowid", "bigint"),
            ("id", "bigint"),
            ("x", "double precision"),
            ("y", "text"),
            ("d", "timestamp with time zone")
        ]
        .iter()
        .map(|(c, t)| vec![json!(c), json!(t)])
        .collect::<Vec<_>>()
    );
    assert_eq!(
        schema.query("SELECT x::text, y, d::text FROM w ORDER BY id"),
        vec![
            vec![json!("3"), json!("5"), json!("2024-01-02 00:00:00+00")],
            vec![
                json!("0.1"),
                json!("five"),
                json!("2024-01-03 04:05:06.5+00")
            ]
        ]
    );
}

/// A merge-key run widens its staging table; the run's end widens the table it settles into the same way, so no
/// value is cast down to the old type on its way in.
#[test]
fn a_merge_key_run_widens_the_table_it_settles_into() {
    let config = json!({"client": {"base_url": "https://api.example.com/"},
        "resources": [{"name": "m", "write_disposition": "merge", "primary_key": "id", "merge_key": "k",
            "endpoint": {"path": "m", "paginator": "single_page"}}]});
    let schema = TestSchema::new("mkwiden");
    for body in [
        r#"[{"id": 1, "k": 1, "x": 3}, {"id": 2, "k": 2, "x": 4}]"#,
        r#"[{"id": 1, "k": 1, "x": 19.99}, {"id": 3, "k": 1, "x": 9007199254740993}]"#,
    ] {
        let server = server::RouteServer::start(move |_| server::Answer::json(body));
        run_into(&schema, &tenant_at(&server.url(), &config.to_string())).unwrap();
    }
    assert_eq!(
        schema.query("SELECT id, x::text FROM m ORDER BY id"),
        vec![
            vec![json!(1), json!("19.99")],
            vec![json!(2), json!("4")],
            vec![json!(3), json!("9007199254740993")]
        ]
    );
}
