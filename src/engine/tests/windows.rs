//! `incremental.window`: a cursor's range asked for window by window, each paged to its end; checkpoints that
//! resume in the right window; the last window ending at the time given; `lookback` without duplicates.

use super::*;

/// One event a day from 2024-01-01, `n` of them: (id, "YYYY-MM-DDT12:00:00Z").
fn days(n: i64) -> Vec<(i64, String)> {
    (0..n)
        .map(|i| {
            let day =
                chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(i);
            (i, format!("{day}T12:00:00Z"))
        })
        .collect()
}

/// The API: the events with `since <= ts < until` (either bound optional), two a page by `offset`, with a total.
fn events_api(rows: &[(i64, String)], url: &str) -> HttpResponse {
    let query: Vec<(String, String)> = url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (since, until) = (param("since"), param("until"));
    let offset: usize = param("offset").map_or(0, |o| o.parse().unwrap());
    // As a real API does: by the instant, whatever the precision of the text.
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let hits: Vec<Value> = rows
        .iter()
        .filter(|(_, ts)| {
            since.as_ref().is_none_or(|s| at(ts) >= at(s))
                && until.as_ref().is_none_or(|u| at(ts) < at(u))
        })
        .map(|(id, ts)| json!({"id": id, "ts": ts}))
        .collect();
    let page: Vec<Value> = hits.iter().skip(offset).take(2).cloned().collect();
    ok(json!({"data": page, "total": hits.len()}))
}

fn windowed(window: Value, end_value: Option<&str>) -> Value {
    let mut inc = json!({"cursor_path": "ts", "initial_value": "2024-01-01T00:00:00Z",
        "start_param": "since", "end_param": "until", "window": window});
    if let Some(end) = end_value {
        inc["end_value"] = json!(end);
    }
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "events", "primary_key": "id",
        "endpoint": {"path": "events", "data_selector": "data", "paginator": {"type": "offset", "limit": 2},
            "incremental": inc}}]})
}

/// A run to the end at `now_ms` (Unix), resumed from `checkpoint`: the URLs asked for, and each page's ids and
/// checkpoint.
struct Run {
    urls: Vec<String>,
    pages: Vec<(Vec<i64>, String)>,
}

impl Run {
    fn ids(&self) -> Vec<i64> {
        self.pages.iter().flat_map(|(ids, _)| ids.clone()).collect()
    }
}

fn run_at(config: &Value, checkpoint: Option<&str>, now_ms: u64, rows: &[(i64, String)]) -> Run {
    let text = config.to_string();
    let mut e = Engine::new(&text, config, vec![], checkpoint).unwrap_or_else(|e| panic!("{e}"));
    let now = Now {
        monotonic_ms: 0,
        unix_ms: now_ms,
    };
    let mut run = Run {
        urls: Vec::new(),
        pages: Vec::new(),
    };
    loop {
        match e.poll(now).unwrap() {
            Step::Send(r) => {
                e.on_response(now, events_api(rows, &r.url)).unwrap();
                run.urls.push(r.url);
            }
            Step::Page(p) => {
                let ids = String::from_utf8(p.records)
                    .unwrap()
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<Value>(l).unwrap()["id"]
                            .as_i64()
                            .unwrap()
                    })
                    .collect();
                run.pages.push((ids, p.checkpoint));
            }
            Step::Done => return run,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
    }
}

/// 2024-03-01T00:00:00Z.
const MARCH_1: u64 = 1_709_251_200_000;

#[test]
fn each_window_is_asked_for_with_its_bounds_and_paged_to_its_end() {
    let rows = days(60);
    let config = windowed(json!({"step": "P30D"}), None);
    let run = run_at(&config, None, MARCH_1, &rows);
    assert_eq!(
        run.ids(),
        (0..60).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let firsts: Vec<&String> = run.urls.iter().filter(|u| u.contains("offset=0")).collect();
    assert_eq!(
        firsts,
        vec![
            "https://api.example.com/events?since=2024-01-01T00%3A00%3A00Z&until=2024-01-31T00%3A00%3A00Z&offset=0&limit=2",
            "https://api.example.com/events?since=2024-01-31T00%3A00%3A00Z&until=2024-03-01T00%3A00%3A00Z&offset=0&limit=2",
        ],
        "two windows; the last ends at the time given"
    );
    assert_eq!(run.urls.len(), 30, "15 pages in each window");
    let last: Value = serde_json::from_str(&run.pages.last().unwrap().1).unwrap();
    assert_eq!(last["complete"], true);
    assert_eq!(
        last["incremental"]["events"]["last_value"],
        "2024-02-29T12:00:00Z"
    );
}

#[test]
fn a_run_resumed_from_any_page_ends_with_every_row_once() {
    let rows = days(75);
    let config = windowed(json!({"step": "P7D"}), Some("2024-03-10T00:00:00Z"));
    let whole = run_at(&config, None, MARCH_1, &rows);
    let all = whole.ids();
    assert_eq!(all, (0..69).collect::<Vec<_>>(), "up to the end value");
    let (last, before) = whole.pages.split_last().unwrap();
    assert!(
        last.1.contains(r#""complete":true"#),
        "the last page ends the run"
    );
    for k in 0..before.len() {
        let mut ids: Vec<i64> = whole.pages[..=k]
            .iter()
            .flat_map(|(ids, _)| ids.clone())
            .collect();
        // Resumed a day later: the windows were fixed when the resource started.
        let rest = run_at(
            &config,
            Some(&whole.pages[k].1),
            MARCH_1 + 86_400_000,
            &rows,
        );
        ids.extend(rest.ids());
        assert_eq!(ids, all, "resumed after page {k}");
    }
}

#[test]
fn an_api_that_ignores_the_bounds_still_gives_each_row_once() {
    let rows = days(20);
    let mut config = windowed(json!({"step": "P7D"}), None);
    config["resources"][0]["endpoint"]["incremental"]["start_param"] = json!("ignored_since");
    config["resources"][0]["endpoint"]["incremental"]["end_param"] = json!("ignored_until");
    let run = run_at(&config, None, MARCH_1, &rows);
    assert_eq!(
        run.ids(),
        (0..20).collect::<Vec<_>>(),
        "each window keeps its own rows"
    );
}

#[test]
fn the_next_run_looks_back_and_loads_only_what_is_new() {
    let mut rows = days(40);
    let config = windowed(json!({"step": "P30D", "lookback": "P3D"}), None);
    let first = run_at(&config, None, MARCH_1, &rows);
    assert_eq!(first.ids().len(), 40);
    let done = first.pages.last().unwrap().1.clone();
    // A late record inside the lookback (before the last value), and a new one after it.
    rows.push((100, "2024-02-08T00:00:00Z".into()));
    rows.push((101, "2024-02-20T00:00:00Z".into()));
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    let second = run_at(&config, Some(&done), MARCH_1, &rows);
    assert!(
        second.urls[0].contains("since=2024-02-06T12%3A00%3A00Z"),
        "three days before the last value: {}",
        second.urls[0]
    );
    assert_eq!(
        second.ids(),
        vec![100, 101],
        "the rows loaded before are not loaded again"
    );
}

#[test]
fn window_settings_that_cannot_work_are_refused() {
    let problems = |inc: Value| {
        let config = json!({"client": {"base_url": "https://a.example"}, "resources": [{"name": "e",
            "endpoint": {"path": "e", "incremental": inc}}]});
        match crate::config::parse(&config) {
            Err(Error::InvalidConfig(ps)) => ps.iter().map(ToString::to_string).collect::<Vec<_>>(),
            other => panic!("expected problems, got {other:?}"),
        }
    };
    let base = json!({"cursor_path": "ts", "initial_value": "2024-01-01T00:00:00Z", "start_param": "s", "end_param": "u"});
    let with = |extra: Value| {
        let mut inc = base.clone();
        inc.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        inc
    };
    let cases = [
        (
            with(json!({"window": {"step": "P1M"}})),
            "resources[0].endpoint.incremental.window.step: `P1M` is not an ISO 8601 duration of weeks, days, hours, minutes or seconds: years and months vary in length; give days",
        ),
        (
            with(json!({"window": {"step": 30}})),
            "resources[0].endpoint.incremental.window.step: does not fit `initial_value` \"2024-01-01T00:00:00Z\": the window is a number, but the cursor value \"2024-01-01T00:00:00Z\" is not a number",
        ),
        (
            with(json!({"window": {"step": "P1D"}, "lag": 3600})),
            "resources[0].endpoint.incremental.window: `lag` and a window do not go together: give `window.lookback` instead",
        ),
        (
            with(json!({"window": {"step": "P1D"}, "end_param": null})),
            "resources[0].endpoint.incremental.window: needs `start_param` and `end_param`: each window is asked for with both",
        ),
        (
            with(json!({"window": {"lookback": "P1D"}})),
            "resources[0].endpoint.incremental.window: missing required field `step`",
        ),
        (
            with(json!({"window": {"step": 1000}, "initial_value": 1_700_000_000_000u64})),
            "resources[0].endpoint.incremental.window: a numeric window without `end_value` ends at the current \
             time in Unix seconds, and `initial_value` 1700000000000 is not one (from 1000000000 to 100000000000): \
             give `end_value`",
        ),
        (
            with(json!({"window": {"step": 1e19}, "initial_value": 1, "end_value": 5})),
            "resources[0].endpoint.incremental.window.step: `1e+19` is not a number above 0 and at most \
             1000000000000000",
        ),
    ];
    for (inc, want) in cases {
        assert_eq!(problems(inc), vec![want.to_string()]);
    }
}

#[test]
fn runs_that_find_nothing_new_look_back_from_the_same_cursor() {
    let rows = days(10);
    let config = windowed(json!({"step": "P30D", "lookback": "P3D"}), None);
    let mut checkpoint = run_at(&config, None, MARCH_1, &rows)
        .pages
        .last()
        .unwrap()
        .1
        .clone();
    let mut starts = Vec::new();
    for _ in 0..3 {
        let run = run_at(&config, Some(&checkpoint), MARCH_1, &rows);
        assert_eq!(run.ids(), Vec::<i64>::new(), "nothing new, nothing twice");
        starts.push(run.urls[0].split('&').next().unwrap().to_string());
        checkpoint = run.pages.last().unwrap().1.clone();
    }
    assert!(starts.iter().all(|s| s == &starts[0]), "{starts:?}");
    assert!(
        starts[0].ends_with("since=2024-01-07T12%3A00%3A00Z"),
        "{}",
        starts[0]
    );
}

#[test]
fn a_record_whose_time_is_written_more_precisely_than_the_bounds_is_kept_once() {
    let rows: Vec<(i64, String)> = vec![
        (1, "2024-01-30T12:00:00Z".into()),
        (2, "2024-01-31T00:00:00.250Z".into()),
        (3, "2024-01-31T02:00:00+01:00".into()),
        (4, "2024-02-02T00:00:00Z".into()),
    ];
    let config = windowed(json!({"step": "P30D"}), None);
    assert_eq!(
        run_at(&config, None, MARCH_1, &rows).ids(),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn a_descending_api_with_a_lookback_pages_past_the_records_it_had_loaded() {
    let rows = days(10);
    let mut config = windowed(json!({"step": "P30D", "lookback": "P3D"}), None);
    config["resources"][0]["endpoint"]["incremental"]["row_order"] = json!("desc");
    let done = run_at(&config, None, MARCH_1, &rows)
        .pages
        .last()
        .unwrap()
        .1
        .clone();
    let mut late = rows.clone();
    late.push((100, "2024-01-08T00:00:00Z".into()));
    // Newest first, as the API pages them.
    late.sort_by(|a, b| b.1.cmp(&a.1));
    assert_eq!(
        run_at(&config, Some(&done), MARCH_1, &late).ids(),
        vec![100]
    );
}
