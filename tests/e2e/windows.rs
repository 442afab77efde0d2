//! Windowed incremental loads (`incremental.window`) against the demo API's dated route (`/v1/dated/<name>`:
//! rows with a `ts` spread over 2025, filtered by `since <= ts < until`): a first load over a year in 30-day
//! windows gives exactly the API's rows; interrupted mid-window and resumed, still exactly; the next run loads
//! nothing twice.

use crate::support::*;
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec};

/// 3,000 rows over 2025: about eight a day, 250 in a 30-day window.
fn dated_api() -> DemoApi {
    let mut spec = DemoSpec::default();
    spec.resources.insert("events".into(), 3000);
    DemoApi::start(spec, 0).expect("the fixture API starts")
}

fn windowed(window: Value) -> Value {
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resources"] = json!([{"name": "events", "endpoint": {"path": "/v1/dated/events", "data_selector": "data",
        "paginator": {"type": "offset", "limit": 100},
        "incremental": {"cursor_path": "ts", "initial_value": "2025-01-01T00:00:00Z",
            "start_param": "since", "end_param": "until", "window": window}}}]);
    config
}

/// The `since`/`until` of each window's first request.
fn windows_asked(api: &DemoApi) -> Vec<(String, String)> {
    api.log()
        .iter()
        .filter(|l| l.param("offset") == Some("0"))
        .map(|l| {
            (
                l.param("since").unwrap().to_string(),
                l.param("until").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_first_load_over_a_year_in_30_day_windows_gives_exactly_the_apis_rows() {
    let api = dated_api();
    let config = windowed(json!({"step": "P30D"}));
    let (summary, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(rows(dir.path(), "events"), api.dated_rows("events"));
    let windows = windows_asked(&api);
    assert_eq!(
        windows[0],
        ("2025-01-01T00:00:00Z".into(), "2025-01-31T00:00:00Z".into())
    );
    assert_eq!(
        windows[12],
        ("2025-12-27T00:00:00Z".into(), "2026-01-26T00:00:00Z".into())
    );
    for pair in windows.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "each window starts where the last ended"
        );
    }
    // The last window ends at the time of the run: today, whatever today is.
    let last = &windows.last().unwrap().1;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = chrono::DateTime::from_timestamp(seconds as i64, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        last[..10] == now[..10] || last.as_str() < now.as_str(),
        "{last} vs {now}"
    );
    let checkpoint: Value =
        serde_json::from_str(summary.last_checkpoint.as_deref().unwrap()).unwrap();
    assert_eq!(checkpoint["complete"], true);

    // The next run starts from the stored cursor and finds nothing new.
    let log_before = api.log().len();
    let (again, dir) = run_from(
        &tenant(&api, &config.to_string()),
        summary.last_checkpoint.as_deref().unwrap(),
    );
    let again = again.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.rows.iter().map(|(_, n)| n).sum::<u64>(), 0);
    assert!(rows_or_none(dir.path()).is_empty());
    assert!(
        api.log()[log_before]
            .param("since")
            .unwrap()
            .starts_with("2025-12-31T")
    );
}

#[test]
fn interrupted_mid_window_and_resumed_the_rows_are_still_exact() {
    let api = dated_api();
    let config = windowed(json!({"step": "P30D", "lookback": "P1D"}));
    let mut interrupted = tenant(&api, &config.to_string());
    // Window 1 holds 247 rows: pages at offsets 0, 100 and 200. Five requests store window 2's first two pages;
    // the sixth, its offset 200, is refused.
    interrupted.limits.max_requests = Some(5);
    let (result, first) = run(&interrupted);
    let failure = result.expect_err("the request allowance stops it");
    let checkpoint = failure
        .summary
        .last_checkpoint
        .clone()
        .expect("pages were stored");
    let cp: Value = serde_json::from_str(&checkpoint).unwrap();
    assert_eq!(
        cp["frames"][0]["position"],
        json!({"at": "offset", "value": 200}),
        "{cp}"
    );
    assert_eq!(
        cp["incremental"]["events"]["window"]["start"],
        "2025-01-31T00:00:00Z"
    );
    let (resumed, second) = run_from(&tenant(&api, &config.to_string()), &checkpoint);
    resumed.unwrap_or_else(|e| panic!("{e}"));
    let mut all = rows(first.path(), "events");
    all.extend(rows(second.path(), "events"));
    assert_eq!(all, api.dated_rows("events"), "no row missing, none twice");
}

/// The rows of every file in `dir`.
fn rows_or_none(dir: &std::path::Path) -> Vec<Value> {
    let file = host_test::JsonlDir::file_for(dir, "events");
    match std::fs::read_to_string(file) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}
