//! No number is changed: random doubles (17 significant digits, shortest form, subnormals, large and small
//! exponents), integers at and past the 64-bit limits and decimals with trailing zeros go from a loopback API
//! through every way records are read (a key path kept as text, `$.data[*]`, a top-level list, paginator
//! detection, an incremental cursor, parent/child) into JSON Lines and SQLite, and are compared value for value.

use crate::support::server::{Answer, RouteServer};
use crate::support::*;
use host_test::SqliteDb;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Records per page.
const PAGE: usize = 7;

/// One record as the API writes it: each field's JSON text.
#[derive(Debug, Clone)]
struct Rec {
    /// A double written with 17 significant digits or in its shortest form, and the double itself.
    d: (String, f64),
    /// An integer that fits 64 signed bits.
    small: i64,
    /// An integer outside 64 signed bits.
    big: String,
    /// A decimal with trailing zeros.
    t: String,
}

impl Rec {
    fn text(&self, id: usize) -> String {
        format!(
            r#"{{"id": {id}, "d": {}, "small": {}, "big": {}, "t": {}, "nested": {{"d": {}, "l": [{}, {}]}}}}"#,
            self.d.0, self.small, self.big, self.t, self.d.0, self.big, self.t
        )
    }
}

fn double() -> impl Strategy<Value = (String, f64)> {
    let finite = any::<u64>()
        .prop_map(f64::from_bits)
        .prop_filter("finite", |f| f.is_finite());
    let subnormal = (1u64..(1 << 52)).prop_map(f64::from_bits);
    let unit = (0.0f64..1.0).prop_map(|f| f);
    (prop_oneof![finite, subnormal, unit], 0..3u8).prop_map(|(f, form)| {
        let text = match form {
            0 => format!("{f:.16e}"),
            1 => format!("{f:e}"),
            // Plain decimals, where Rust writes them without an exponent.
            _ if (1e-5..1e15).contains(&f.abs()) => format!("{f:?}"),
            _ => format!("{f:E}"),
        };
        (text, f)
    })
}

fn big() -> impl Strategy<Value = String> {
    let above = (i128::from(i64::MAX) + 1..i128::MAX).prop_map(|i| i.to_string());
    let below = (i128::MIN..i128::from(i64::MIN)).prop_map(|i| i.to_string());
    let edges = prop::sample::select(vec![
        "9223372036854775808".to_string(),
        "18446744073709551615".to_string(),
        "18446744073709551616".to_string(),
        "18446744073709551617".to_string(),
        "-9223372036854775809".to_string(),
        "123456789012345678901234567890123456789012345678901234567890".to_string(),
    ]);
    prop_oneof![above, below, edges]
}

fn record() -> impl Strategy<Value = Rec> {
    let small = prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), -1000i64..1000];
    let t = (any::<i32>(), 0u32..1_000_000, 1usize..4)
        .prop_map(|(i, f, zeros)| format!("{i}.{f}{}", "0".repeat(zeros)));
    (double(), small, big(), t).prop_map(|(d, small, big, t)| Rec { d, small, big, t })
}

/// The API: `/obj?page=n` (records under `data`, a `next` link in the body), `/list?page=n` (a top-level list,
/// a `Link` header), `/parents` and `/parents/<p>/values` (the records split among three parents).
fn api(records: Vec<Rec>) -> RouteServer {
    let texts: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(i, r)| r.text(i + 1))
        .collect();
    RouteServer::start(move |seen| {
        let (path, query) = seen.url.split_once('?').unwrap_or((&seen.url, ""));
        let page: usize = query
            .strip_prefix("page=")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let chunk =
            |from: usize, to: usize| texts[from.min(texts.len())..to.min(texts.len())].join(", ");
        let more = page * PAGE < texts.len();
        let next = |route: &str| format!("https://api.example.com/{route}?page={}", page + 1);
        let items = chunk((page - 1) * PAGE, page * PAGE);
        match path {
            "/obj" => {
                let link = if more {
                    format!("\"{}\"", next("obj"))
                } else {
                    "null".into()
                };
                Answer::json(format!(r#"{{"data": [{items}], "next": {link}}}"#))
            }
            "/list" => {
                let answer = Answer::json(format!("[{items}]"));
                match more {
                    true => answer.with("Link", &format!("<{}>; rel=\"next\"", next("list"))),
                    false => answer,
                }
            }
            "/parents" => Answer::json(r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#),
            _ => {
                let p: usize = path
                    .split('/')
                    .nth(2)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let third = texts.len().div_ceil(3);
                Answer::json(format!(
                    r#"{{"data": [{}]}}"#,
                    chunk((p - 1) * third, p * third)
                ))
            }
        }
    })
}

/// The configs, each with the resource whose rows hold the records.
fn configs() -> Vec<(&'static str, Value, &'static str)> {
    let json_link = json!({"type": "json_link", "next_url_path": "next"});
    let resource = |endpoint: Value| json!({"name": "r", "endpoint": endpoint});
    let with = |resources: Value| json!({"client": {"base_url": "https://api.example.com"}, "resources": resources});
    vec![
        (
            "a key path, kept as text",
            with(json!([resource(
                json!({"path": "obj", "data_selector": "data", "paginator": json_link})
            )])),
            "r",
        ),
        (
            "$.data[*]",
            with(json!([resource(
                json!({"path": "obj", "data_selector": "$.data[*]", "paginator": json_link})
            )])),
            "r",
        ),
        (
            "$ on a top-level list",
            with(json!([resource(
                json!({"path": "list", "data_selector": "$", "paginator": "header_link"})
            )])),
            "r",
        ),
        (
            "detection in an object",
            with(json!([resource(json!({"path": "obj"}))])),
            "r",
        ),
        (
            "detection on a list",
            with(json!([resource(json!({"path": "list"}))])),
            "r",
        ),
        (
            "incremental",
            with(json!([resource(
                json!({"path": "obj", "data_selector": "data", "paginator": json_link,
            "incremental": {"cursor_path": "id", "initial_value": 0}})
            )])),
            "r",
        ),
        (
            "parent/child",
            with(json!([
            {"name": "parents", "endpoint": {"path": "parents", "paginator": "single_page"}},
            {"name": "r", "endpoint": {"path": "parents/{resources.parents.id}/values", "data_selector": "data",
             "paginator": "single_page"}}])),
            "r",
        ),
    ]
}

/// A number's text with serde_json's exponent form (`1E5` → `1e+5`): the same number, the text it writes.
fn exponent_form(text: &str) -> String {
    match text.split_once(['e', 'E']) {
        Some((m, e)) if e.starts_with(['+', '-']) => format!("{m}e{e}"),
        Some((m, e)) => format!("{m}e+{e}"),
        None => text.to_string(),
    }
}

fn number_text(v: &Value) -> String {
    exponent_form(&v.to_string())
}

fn check_jsonl(case: &str, rows: &[Value], records: &[Rec]) {
    assert_eq!(rows.len(), records.len(), "{case}: every record, no other");
    for row in rows {
        let id = row["id"].as_u64().expect("an id") as usize;
        let r = &records[id - 1];
        let want = |field: &str, text: &str| {
            assert_eq!(
                number_text(&row[field]),
                exponent_form(text),
                "{case}: record {id}, {field}"
            );
        };
        want("d", &r.d.0);
        want("small", &r.small.to_string());
        want("big", &r.big);
        want("t", &r.t);
        assert_eq!(
            number_text(&row["nested"]["d"]),
            exponent_form(&r.d.0),
            "{case}: nested"
        );
        assert_eq!(
            row["nested"]["l"][0].to_string(),
            r.big,
            "{case}: nested big"
        );
        assert_eq!(
            row["nested"]["l"][1].to_string(),
            r.t,
            "{case}: nested decimal"
        );
    }
}

fn check_sqlite(case: &str, db: &std::path::Path, records: &[Rec]) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, d, small, big, t, nested, typeof(big) FROM r ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, f64, i64, String, f64, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), records.len(), "{case}: every record in SQLite");
    for (id, d, small, big, t, nested, big_type) in rows {
        let r = &records[id as usize - 1];
        assert_eq!(
            d.to_bits(),
            r.d.1.to_bits(),
            "{case}: record {id}, d {} in SQLite",
            r.d.0
        );
        assert_eq!(small, r.small, "{case}: record {id}, small");
        assert_eq!(
            (big, big_type.as_str()),
            (r.big.clone(), "text"),
            "{case}: record {id}, big"
        );
        assert_eq!(
            t,
            r.t.parse::<f64>().unwrap(),
            "{case}: record {id}, t {}",
            r.t
        );
        let nested: Value = serde_json::from_str(&nested).unwrap();
        assert_eq!(
            nested["l"][0].to_string(),
            r.big,
            "{case}: nested in SQLite"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_number_arrives_as_the_api_sent_it(records in prop::collection::vec(record(), 1..40)) {
        let server = api(records.clone());
        for (case, config, resource) in configs() {
            let tenant = tenant_at(&server.url(), &config.to_string());
            let (result, dir) = run(&tenant);
            result.unwrap_or_else(|e| panic!("{case}: {e}"));
            check_jsonl(case, &rows(dir.path(), resource), &records);
            let db = dir.path().join("out.db");
            let mut dest = SqliteDb::open(&db).unwrap();
            plugin().run(&tenant, &mut dest).unwrap_or_else(|e| panic!("{case}: {e}"));
            check_sqlite(case, &db, &records);
        }
    }
}

/// A column created for 64-bit integers cannot hold a bigger one later: the page fails, naming the table and
/// column, instead of SQLite rounding the number to a double.
#[test]
fn sqlite_refuses_a_number_its_column_would_round() {
    let server = RouteServer::start(|_| {
        Answer::json(r#"{"data": [{"id": 1}, {"id": 18446744073709551617}]}"#)
    });
    let config = json!({"client": {"base_url": "https://api.example.com"},
        "resources": [{"name": "r", "endpoint": {"path": "obj", "data_selector": "data", "paginator": "single_page"}}]});
    let tenant = tenant_at(&server.url(), &config.to_string());
    let dir = tempfile::tempdir().unwrap();
    let mut dest = SqliteDb::open(&dir.path().join("out.db")).unwrap();
    let error = plugin().run(&tenant, &mut dest).unwrap_err().to_string();
    assert!(
        error.contains("table r, column id: the number 18446744073709551617 does not fit"),
        "{error}"
    );
}
