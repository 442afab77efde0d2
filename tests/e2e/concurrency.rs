//! `parallelized` resources against APIs with latency, sent ahead and in lanes side by side: several requests in
//! flight, yet the same requests as a serial run, the same rows in the same order, and checkpoints a run resumes
//! from exactly.

use crate::support::*;
use host_test::{Destination, JsonlDir};
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec, Routes};

/// Seed 000 (offset paging, the total in each page) with `parallelized` set and `client.concurrency`.
fn seed_000(parallelized: bool, concurrency: u32) -> String {
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["client"]["concurrency"] = json!(concurrency);
    config["resources"][0]["parallelized"] = json!(parallelized);
    config.to_string()
}

fn latent(routes: Routes, delay_ms: u64) -> DemoApi {
    let spec = DemoSpec {
        routes,
        delay_ms,
        ..DemoSpec::default()
    };
    DemoApi::start(spec, 0).expect("the fixture API starts")
}

/// The request targets the API received, sorted: the set of requests, whatever their order.
fn targets(api: &DemoApi) -> Vec<String> {
    let mut all: Vec<String> = api
        .log()
        .iter()
        .map(|l| format!("{} {} {:?}", l.method, l.path, l.query))
        .collect();
    all.sort();
    all
}

/// Run `config(false)` and `config(true)` against two APIs with latency: the same rows per resource, in the same
/// order, and the same set of requests; the serial run has one request in flight at a time. The parallelized
/// run's summary, the most requests it had in flight at once, and its rows.
fn serial_then_parallel(
    routes: Routes,
    delay_ms: u64,
    config: impl Fn(bool) -> String,
) -> (host_test::RunSummary, usize, tempfile::TempDir) {
    let serial_api = latent(routes, delay_ms);
    let (serial, serial_dir) = run_ok(&tenant(&serial_api, &config(false)));
    let api = latent(routes, delay_ms);
    let (summary, dir) = run_ok(&tenant(&api, &config(true)));
    assert!(summary.logs.is_empty(), "no retries: {:?}", summary.logs);
    assert_eq!(summary.rows, serial.rows);
    for (name, _) in &summary.rows {
        let want = rows(serial_dir.path(), name);
        assert_eq!(rows(dir.path(), name), want, "{name}");
    }
    assert_eq!(
        targets(&api),
        targets(&serial_api),
        "the same requests, none extra"
    );
    assert_eq!(serial_api.peak_in_flight(), 1, "serially, one at a time");
    (summary, api.peak_in_flight(), dir)
}

#[test]
fn a_parallelized_offset_resource_has_pages_in_flight_together_and_stores_them_in_order() {
    let (summary, peak, dir) = serial_then_parallel(Routes::Seeds, 15, |p| seed_000(p, 4));
    assert_eq!(summary.rows, vec![("resource_name".to_string(), 1234)]);
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource"),
        "every row once, in the API's order"
    );
    assert!((2..=4).contains(&peak), "in flight at once: {peak}");
}

fn blog(parallelized: bool) -> String {
    let paged = json!({"type": "page_number", "base_page": 1, "total_path": "total_pages"});
    json!({"client": {"base_url": "https://api.example.com", "concurrency": 6}, "resources": [
        {"name": "posts", "parallelized": parallelized,
            "endpoint": {"path": "posts", "data_selector": "data", "paginator": paged}},
        {"name": "post_comments", "parallelized": parallelized, "include_from_parent": ["title"],
            "endpoint": {"path": "post_comments", "params": {"post_id": "{resources.posts.id}"},
                "data_selector": "data", "paginator": paged, "max_pages": 2}}
    ]})
    .to_string()
}

#[test]
fn parallelized_children_are_fetched_together_and_their_rows_keep_dlts_order() {
    let (summary, peak, _) = serial_then_parallel(Routes::Dlt, 5, blog);
    let want = [("posts", 25), ("post_comments", 25 * 10)];
    assert_eq!(summary.rows, want.map(|(n, r)| (n.to_string(), r)));
    assert!((2..=6).contains(&peak), "in flight at once: {peak}");
}

/// A run stopped after a few pages, with later requests in flight, resumes from the last page's checkpoint and
/// ends with exactly the rows of an uninterrupted run.
#[test]
fn a_parallelized_run_stopped_with_requests_in_flight_resumes_exactly() {
    let api = latent(Routes::Dlt, 5);
    // One lane with children sent ahead; three lanes side by side.
    for config in [blog(true), cursors(true)] {
        let tenant = tenant(&api, &config);
        let (summary, whole) = run_ok(&tenant);
        for stop_after in [1, 3, 7, 12] {
            let (first, checkpoint) = stop_after_pages(&tenant, stop_after);
            let (result, rest) = run_from(&tenant, &checkpoint);
            result.unwrap_or_else(|e| panic!("{e}"));
            for (name, _) in &summary.rows {
                let mut got = read_or_empty(first.path(), name);
                got.extend(read_or_empty(rest.path(), name));
                let want = rows(whole.path(), name);
                assert_eq!(got, want, "{name} after stopping at page {stop_after}");
            }
        }
    }
}

/// Store the first `pages` pages of a run, then drop it with its requests in flight: the rows stored, and the
/// checkpoint of the last page.
fn stop_after_pages(tenant: &host_test::Tenant, pages: usize) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut dest = JsonlDir::new(dir.path());
    let mut session = plugin().configure(tenant, None).unwrap();
    dest.begin(&session.resources, None).unwrap();
    let mut checkpoint = None;
    for _ in 0..pages {
        let page = session.next_page().unwrap().expect("more pages");
        dest.write_page(&page).unwrap();
        checkpoint = Some(page.checkpoint);
    }
    (dir, checkpoint.unwrap())
}

fn read_or_empty(dir: &std::path::Path, name: &str) -> Vec<Value> {
    match JsonlDir::file_for(dir, name).exists() {
        true => rows(dir, name),
        false => Vec::new(),
    }
}

/// Two cursor resources and a next-link one, each `parallelized`: each pages in a lane of its own, side by side.
fn cursors(parallelized: bool) -> String {
    let cursor = json!({"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"});
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [
        {"name": "first", "parallelized": parallelized,
            "endpoint": {"path": "posts_cursor", "data_selector": "data", "paginator": cursor}},
        {"name": "second", "parallelized": parallelized,
            "endpoint": {"path": "posts_cursor", "data_selector": "data", "paginator": cursor}},
        {"name": "linked", "parallelized": parallelized, "endpoint": {"path": "posts", "data_selector": "data",
            "paginator": {"type": "json_link", "next_url_path": "next_page"}}}
    ]})
    .to_string()
}

#[test]
fn parallelized_cursor_resources_page_side_by_side() {
    let (summary, peak, _) = serial_then_parallel(Routes::Dlt, 10, cursors);
    let want = [("first", 25), ("second", 25), ("linked", 25)];
    assert_eq!(summary.rows, want.map(|(n, r)| (n.to_string(), r)));
    assert_eq!(peak, 3, "one request of each lane in flight");
}

/// `client.concurrency` bounds the requests in flight, but each lane keeps one of its own: with 1, three lanes
/// still page side by side, and nothing is sent ahead.
#[test]
fn each_lane_keeps_a_request_of_its_own_within_client_concurrency() {
    let (summary, peak, _) = serial_then_parallel(Routes::Dlt, 10, |parallelized| {
        let mut config: Value = serde_json::from_str(&cursors(parallelized)).unwrap();
        config["client"]["concurrency"] = json!(1);
        config.to_string()
    });
    assert_eq!(summary.rows.len(), 3);
    assert_eq!(peak, 3, "one request of each lane");
}
