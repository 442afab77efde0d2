//! Crash safety of the reference runner: `host-test run --state` is killed with SIGKILL at many points of a
//! multi-resource run (offset, cursor, and parent/child), resumed from its state each time, and must end with
//! exactly the API's rows: none missing, none twice.

use host_test::JsonlDir;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;
use testkit::demo_api::{DemoApi, DemoSpec, Routes};

fn config() -> Value {
    json!({"client": {"base_url": "https://api.example.com", "concurrency": 4}, "resources": [
        {"name": "offset_posts", "endpoint": {"path": "posts_offset_limit",
            "paginator": {"type": "offset", "limit": 5, "total_path": "total_records"}}},
        {"name": "cursor_posts", "endpoint": {"path": "posts_cursor",
            "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}}},
        {"name": "posts", "endpoint": {"path": "posts", "paginator": {"type": "json_link", "next_url_path": "next_page"}}},
        {"name": "comments", "include_from_parent": ["title"], "endpoint": {"path": "posts/{resources.posts.id}/comments",
            "paginator": {"type": "json_link", "next_url_path": "next_page"}}}
    ]})
}

/// The same resources, every one `parallelized`: several requests in flight whenever a kill lands.
fn parallelized() -> Value {
    let mut config = config();
    for r in config["resources"].as_array_mut().unwrap() {
        r["parallelized"] = json!(true);
    }
    config
}

/// Where a run writes: JSON Lines with a state file, or a SQLite database.
#[derive(Clone, Copy, PartialEq)]
enum Dest {
    Jsonl,
    Sqlite,
}

fn spawn(plugin: &Path, dir: &Path, api: &DemoApi) -> Child {
    spawn_into(plugin, dir, api, Dest::Jsonl)
}

fn spawn_into(plugin: &Path, dir: &Path, api: &DemoApi, dest: Dest) -> Child {
    let (out, state, db) = (dir.join("out"), dir.join("state.json"), dir.join("out.db"));
    let dest_args = match dest {
        Dest::Jsonl => vec![
            "--out",
            out.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        Dest::Sqlite => vec!["--db", db.to_str().unwrap()],
    };
    Command::new(env!("CARGO_BIN_EXE_host-test"))
        .args(["run", "--plugin", plugin.to_str().unwrap()])
        .args(["--config", dir.join("config.json").to_str().unwrap()])
        .args(dest_args)
        .args([
            "--connect-to",
            &format!("https://api.example.com={}", api.url()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("host-test starts")
}

/// What the stored state says was committed: total bytes in the output files, how many frames deep the run was
/// (2 while a parent's children are being fetched), and whether the run had finished.
fn committed(dir: &Path) -> Committed {
    let Ok(text) = std::fs::read_to_string(dir.join("state.json")) else {
        return (0, 0, false);
    };
    let state: Value = serde_json::from_str(&text).unwrap();
    let bytes = state["files"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let checkpoint: Value = serde_json::from_str(state["checkpoint"].as_str().unwrap()).unwrap();
    let depth = checkpoint["frames"].as_array().map_or(0, Vec::len);
    (bytes, depth, state["complete"] == true)
}

/// Rows or bytes committed, frames deep, and whether the run had finished.
type Committed = (u64, usize, bool);

/// The JSON Lines run's state file.
fn state(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap()
}

/// Every resource's stored rows are the truth's: none missing, none twice, in order.
fn assert_truth(dir: &Path, truth: &[(String, Vec<Value>)]) {
    for (name, want) in truth {
        assert_eq!(
            &rows(dir, name),
            want,
            "{name}: no row missing, none twice, in order"
        );
    }
}

fn rows(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(JsonlDir::file_for(&dir.join("out"), name)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("every stored line is whole JSON"))
        .collect()
}

/// The rows of the same config run without interruption, and its request count.
fn truth(plugin: &Path) -> (Vec<(String, Vec<Value>)>, usize) {
    let api = DemoApi::start(
        DemoSpec {
            routes: Routes::Dlt,
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config().to_string()).unwrap();
    assert!(spawn(plugin, dir.path(), &api).wait().unwrap().success());
    let names = ["offset_posts", "cursor_posts", "posts", "comments"];
    (
        names
            .iter()
            .map(|n| (n.to_string(), rows(dir.path(), n)))
            .collect(),
        api.log().len(),
    )
}

#[test]
fn sigkill_at_twenty_points_then_resume_gives_exactly_the_truth() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let (truth, baseline_requests) = truth(&plugin);
    assert_eq!(
        truth.iter().map(|(_, r)| r.len()).sum::<usize>(),
        25 * 3 + 25 * 50
    );

    let api = slow_api();
    let dir = tempfile::tempdir().unwrap();
    let (kills, points) = kill_and_resume(&plugin, dir.path(), &api, Dest::Jsonl, committed);
    assert!(kills >= 20, "killed {kills} times");
    let distinct = distinct(&points);
    assert!(
        distinct >= 15,
        "kills at {} different committed points: {points:?}",
        distinct
    );
    assert!(
        points.iter().any(|(_, depth)| *depth == 2),
        "some kills land inside a parent's fan-out: {points:?}"
    );
    assert_truth(dir.path(), &truth);
    assert_eq!(state(dir.path())["complete"], true);
    let requests = api.log().len();
    let extra = requests - baseline_requests;
    eprintln!(
        "{kills} kills; {requests} requests against {baseline_requests} uninterrupted: {extra} repeated"
    );
    // A kill repeats the request in flight; during a parent's fan-out the resume also fetches the parent page
    // again (its rows are not stored again).
    assert!(
        extra <= 2 * kills,
        "{extra} repeated requests for {kills} kills"
    );
}

/// Run the config into `dir` through `dest`, killing the runner with SIGKILL 24 times at spread-out moments and
/// restarting it each time, then let it finish. The kills, and what was committed at each (from `committed`).
fn kill_and_resume(
    plugin: &Path,
    dir: &Path,
    api: &DemoApi,
    dest: Dest,
    committed: fn(&Path) -> Committed,
) -> (usize, Vec<(u64, usize)>) {
    kill_and_resume_with(plugin, dir, api, dest, committed, &config())
}

/// [`kill_and_resume`] with a config of its own.
fn kill_and_resume_with(
    plugin: &Path,
    dir: &Path,
    api: &DemoApi,
    dest: Dest,
    committed: fn(&Path) -> Committed,
    config: &Value,
) -> (usize, Vec<(u64, usize)>) {
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut kills = 0;
    let mut points: Vec<(u64, usize)> = Vec::new();
    loop {
        let sent = api.log().len();
        let mut child = spawn_into(plugin, dir, api, dest);
        if kills < 24 {
            // Kill points spread over the run: once it is under way (its first request reached the API, however
            // slowly the process started on a busy machine), a few ms to a few hundred more.
            while api.log().len() == sent && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20 + (kills as u64 * 53) % 300));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                let (rows, depth, complete) = committed(dir);
                points.push((rows, depth));
                if complete {
                    // Killed after its last commit, while the process was ending: the run is done, and starting
                    // it again would begin the next run (which appends every row again).
                    return (kills, points);
                }
                continue;
            }
        }
        assert!(child.wait().unwrap().success(), "the final run finishes");
        return (kills, points);
    }
}

/// What the database's state says was committed: rows in all tables, and how many frames deep the run was.
fn committed_sqlite(dir: &Path) -> Committed {
    let db = dir.join("out.db");
    let Ok(Some(state)) = host_test::SqliteDb::open(&db).and_then(|d| d.state()) else {
        return (0, 0, false);
    };
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = ["offset_posts", "cursor_posts", "posts", "comments"]
        .iter()
        .map(|t| {
            conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap_or(0)
        })
        .sum();
    let checkpoint: Value = serde_json::from_str(&state.checkpoint).unwrap();
    let depth = checkpoint["frames"].as_array().map_or(0, Vec::len);
    (rows as u64, depth, state.complete)
}

/// A table's rows in insertion order, as JSON objects with the columns `like` has.
fn table_rows(db: &Path, table: &str, like: &Value) -> Vec<Value> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let columns: Vec<String> = like.as_object().unwrap().keys().cloned().collect();
    let list: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY _rowid", list.join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| {
        let mut row = serde_json::Map::new();
        for (i, c) in columns.iter().enumerate() {
            let v = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => json!(n),
                rusqlite::types::ValueRef::Real(f) => json!(f),
                rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                rusqlite::types::ValueRef::Blob(_) => Value::Null,
            };
            row.insert(c.clone(), v);
        }
        Ok(Value::Object(row))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The same kills against the SQLite destination: each page's rows and its checkpoint are one transaction, so
/// every table ends with exactly the API's rows, in order, none twice.
#[test]
fn sigkill_during_a_sqlite_run_then_resume_gives_exactly_the_truth() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let (truth, _) = truth(&plugin);
    let api = slow_api();
    let dir = tempfile::tempdir().unwrap();
    let (kills, points) =
        kill_and_resume(&plugin, dir.path(), &api, Dest::Sqlite, committed_sqlite);
    assert!(kills >= 20, "killed {kills} times");
    let distinct = distinct(&points);
    assert!(
        distinct >= 10,
        "{} different committed points: {points:?}",
        distinct
    );
    for (name, want) in &truth {
        let got = table_rows(&dir.path().join("out.db"), name, &want[0]);
        assert_eq!(&got, want, "{name}: no row missing, none twice, in order");
    }
}

/// Kills while `parallelized` resources have requests in flight: pages are still stored in order and each
/// checkpoint covers only pages stored, so the resumed runs end with exactly the serial run's rows.
#[test]
fn sigkill_during_a_parallelized_run_then_resume_gives_exactly_the_truth() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let (truth, baseline_requests) = truth(&plugin);
    let api = slow_api();
    let dir = tempfile::tempdir().unwrap();
    let (kills, points) = kill_and_resume_with(
        &plugin,
        dir.path(),
        &api,
        Dest::Jsonl,
        committed,
        &parallelized(),
    );
    assert!(kills >= 20, "killed {kills} times");
    assert!(distinct(&points) >= 10, "committed points: {points:?}");
    assert_truth(dir.path(), &truth);
    // The three root resources paged in lanes of their own: the checkpoint holds one per lane.
    let state = state(dir.path());
    let checkpoint: Value = serde_json::from_str(state["checkpoint"].as_str().unwrap()).unwrap();
    assert_eq!(
        checkpoint["lanes"].as_array().map(Vec::len),
        Some(3),
        "{checkpoint}"
    );
    // A kill loses what was in flight: up to `client.concurrency` requests, and a parent page fetched again.
    let extra = api.log().len() - baseline_requests;
    assert!(
        extra <= 5 * kills,
        "{extra} repeated requests for {kills} kills"
    );
}

/// dlt's mock API answering each request after 8 ms, so kills land mid-run.
fn slow_api() -> DemoApi {
    let spec = DemoSpec {
        routes: Routes::Dlt,
        delay_ms: 8,
        ..DemoSpec::default()
    };
    DemoApi::start(spec, 0).unwrap()
}

/// How many different committed points the kills landed at.
fn distinct(points: &[(u64, usize)]) -> usize {
    let mut points = points.to_vec();
    points.sort();
    points.dedup();
    points.len()
}

/// A windowed first load (`incremental.window`, a year of dated rows in 30-day windows, the API slow enough
/// for kills to land mid-window), killed and resumed again and again: exactly the API's rows.
#[test]
fn sigkill_during_a_windowed_run_then_resume_gives_exactly_the_apis_rows() {
    let plugin = testkit::component::build_component().expect("the component builds");
    let mut spec = DemoSpec {
        delay_ms: 10,
        ..DemoSpec::default()
    };
    spec.resources.insert("events".into(), 6000);
    let api = DemoApi::start(spec, 0).unwrap();
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "events",
        "endpoint": {"path": "/v1/dated/events", "params": {"api_key": "demo-api-key"}, "data_selector": "data",
            "paginator": {"type": "offset", "limit": 25},
            "incremental": {"cursor_path": "ts", "initial_value": "2025-01-01T00:00:00Z",
                "start_param": "since", "end_param": "until", "window": {"step": "P30D", "lookback": "PT12H"}}}}]});
    let dir = tempfile::tempdir().unwrap();
    let (kills, points) =
        kill_and_resume_with(&plugin, dir.path(), &api, Dest::Jsonl, committed, &config);
    assert!(kills >= 10, "killed {kills} times");
    assert!(distinct(&points) >= 5, "committed points: {points:?}");
    assert_eq!(
        rows(dir.path(), "events"),
        api.dated_rows("events"),
        "no row missing, none twice, in order"
    );
}
