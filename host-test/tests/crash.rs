//! Crash safety of the reference runner: `host-test run --state` is killed with SIGKILL at many points of a
//! multi-resource run (offset, cursor, and parent/child), resumed from its state each time, and must end with
//! exactly the API's rows: none missing, none twice.

use host_test::demo_api::{DemoApi, DemoSpec, Routes};
use host_test::dest::JsonlDir;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn config() -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [
        {"name": "offset_posts", "endpoint": {"path": "posts_offset_limit",
            "paginator": {"type": "offset", "limit": 5, "total_path": "total_records"}}},
        {"name": "cursor_posts", "endpoint": {"path": "posts_cursor",
            "paginator": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}}},
        {"name": "posts", "endpoint": {"path": "posts", "paginator": {"type": "json_link", "next_url_path": "next_page"}}},
        {"name": "comments", "include_from_parent": ["title"], "endpoint": {"path": "posts/{resources.posts.id}/comments",
            "paginator": {"type": "json_link", "next_url_path": "next_page"}}}
    ]})
}

fn spawn(plugin: &Path, dir: &Path, api: &DemoApi) -> Child {
    Command::new(env!("CARGO_BIN_EXE_host-test"))
        .args(["run", "--plugin", plugin.to_str().unwrap()])
        .args(["--config", dir.join("config.json").to_str().unwrap()])
        .args([
            "--out",
            dir.join("out").to_str().unwrap(),
            "--state",
            dir.join("state.json").to_str().unwrap(),
        ])
        .args([
            "--connect-to",
            &format!("https://api.example.com={}", api.url()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("host-test starts")
}

/// What the stored state says was committed: total bytes in the output files, and how many frames deep the
/// run was (2 while a parent's children are being fetched).
fn committed(dir: &Path) -> (u64, usize) {
    let Ok(text) = std::fs::read_to_string(dir.join("state.json")) else {
        return (0, 0);
    };
    let state: Value = serde_json::from_str(&text).unwrap();
    let bytes = state["files"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let checkpoint: Value = serde_json::from_str(state["checkpoint"].as_str().unwrap()).unwrap();
    (bytes, checkpoint["frames"].as_array().map_or(0, Vec::len))
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
    let plugin = host_test::build::build_component().expect("the component builds");
    let (truth, baseline_requests) = truth(&plugin);
    assert_eq!(
        truth.iter().map(|(_, r)| r.len()).sum::<usize>(),
        25 * 3 + 25 * 50
    );

    let api = DemoApi::start(
        DemoSpec {
            routes: Routes::Dlt,
            delay_ms: 8,
            ..DemoSpec::default()
        },
        0,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config().to_string()).unwrap();
    let mut kills = 0;
    let mut points: Vec<(u64, usize)> = Vec::new();
    let started = Instant::now();
    loop {
        let mut child = spawn(&plugin, dir.path(), &api);
        if kills < 24 {
            // Kill points spread over the run: a few ms to a few hundred after start.
            std::thread::sleep(Duration::from_millis(20 + (kills as u64 * 53) % 300));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
                points.push(committed(dir.path()));
                continue;
            }
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "the final run finishes");
        break;
    }
    assert!(kills >= 20, "killed {kills} times");
    let mut distinct = points.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() >= 15,
        "kills at {} different committed points: {points:?}",
        distinct.len()
    );
    assert!(
        points.iter().any(|(_, depth)| *depth == 2),
        "some kills land inside a parent's fan-out: {points:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(600));
    for (name, want) in &truth {
        assert_eq!(
            &rows(dir.path(), name),
            want,
            "{name}: no row missing, none twice, in order"
        );
    }
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["complete"], true);
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
