//! `parallelized` resources against APIs with latency: several requests in flight, yet the same requests as a
//! serial run, the same rows in the same order, and checkpoints a run resumes from exactly.

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

#[test]
fn a_parallelized_offset_resource_has_pages_in_flight_together_and_stores_them_in_order() {
    let serial_api = latent(Routes::Seeds, 15);
    let (_, serial_dir) = run_ok(&tenant(&serial_api, &seed_000(false, 4)));
    assert_eq!(
        serial_api.peak_in_flight(),
        1,
        "without parallelized, one at a time"
    );

    let api = latent(Routes::Seeds, 15);
    let (summary, dir) = run_ok(&tenant(&api, &seed_000(true, 4)));
    assert_eq!(summary.rows, vec![("resource_name".to_string(), 1234)]);
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource"),
        "every row once, in the API's order"
    );
    assert_eq!(
        rows(dir.path(), "resource_name"),
        rows(serial_dir.path(), "resource_name")
    );
    assert_eq!(
        targets(&api),
        targets(&serial_api),
        "the same requests, none extra"
    );
    let peak = api.peak_in_flight();
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
    let serial_api = latent(Routes::Dlt, 5);
    let (serial, serial_dir) = run_ok(&tenant(&serial_api, &blog(false)));
    let api = latent(Routes::Dlt, 5);
    let (summary, dir) = run_ok(&tenant(&api, &blog(true)));
    assert!(summary.logs.is_empty(), "no retries: {:?}", summary.logs);
    assert_eq!(summary.rows, serial.rows);
    assert_eq!(
        summary.rows,
        vec![
            ("posts".to_string(), 25),
            ("post_comments".to_string(), 25 * 10)
        ]
    );
    for name in ["posts", "post_comments"] {
        assert_eq!(
            rows(dir.path(), name),
            rows(serial_dir.path(), name),
            "{name}"
        );
    }
    assert_eq!(
        targets(&api),
        targets(&serial_api),
        "the same requests, none extra"
    );
    assert_eq!(serial_api.peak_in_flight(), 1);
    let peak = api.peak_in_flight();
    assert!((2..=6).contains(&peak), "in flight at once: {peak}");
}

/// A run stopped after a few pages, with later requests in flight, resumes from the last page's checkpoint and
/// ends with exactly the rows of an uninterrupted run.
#[test]
fn a_parallelized_run_stopped_with_requests_in_flight_resumes_exactly() {
    let api = latent(Routes::Dlt, 5);
    let tenant = tenant(&api, &blog(true));
    let (_, whole) = run_ok(&tenant);
    for stop_after in [1, 3, 7, 12] {
        let first = tempfile::tempdir().unwrap();
        let mut dest = JsonlDir::new(first.path());
        let mut session = plugin().configure(&tenant, None).unwrap();
        dest.begin(&session.resources, None).unwrap();
        let mut checkpoint = None;
        for _ in 0..stop_after {
            let page = session.next_page().unwrap().expect("more pages");
            dest.write_page(&page).unwrap();
            checkpoint = Some(page.checkpoint);
        }
        drop(session);
        let checkpoint = checkpoint.unwrap();
        let (result, rest) = run_from(&tenant, &checkpoint);
        result.unwrap_or_else(|e| panic!("{e}"));
        for name in ["posts", "post_comments"] {
            let mut got = read_or_empty(first.path(), name);
            got.extend(read_or_empty(rest.path(), name));
            assert_eq!(
                got,
                rows(whole.path(), name),
                "{name} after stopping at page {stop_after}"
            );
        }
    }
}

fn read_or_empty(dir: &std::path::Path, name: &str) -> Vec<Value> {
    match JsonlDir::file_for(dir, name).exists() {
        true => rows(dir, name),
        false => Vec::new(),
    }
}
