//! Incremental loading across runs: the start value, filtering, boundary dedup and `row_order`.

use super::*;

/// dlt `test_offline.py::test_incremental_*` shape and reference §14.3–14.4: the start value is sent once per
/// run (start_param and placeholders), records are filtered, and the finished run's checkpoint starts the next
/// run from its cursor with boundary dedup.
#[test]
fn dlt_incremental_across_two_runs() {
    let config = incremental_config(
        json!({"cursor_path": "updated_at", "initial_value": "2024-01-01", "start_param": "since"}),
        json!({"from": "{incremental.start_value}", "initial": "{incremental.initial_value}"}),
    );
    let text = config.to_string();
    let mut run1 = Engine::new(&text, &config, vec![], None).unwrap();
    let (urls, ids, cp) = drive(&mut run1, &|url| {
        if url.contains("page=2") {
            events(&[(3, "2024-01-02"), (4, "2023-12-31")], 2)
        } else {
            events(&[(1, "2024-01-01"), (2, "2024-01-02")], 2)
        }
    });
    assert_eq!(
        urls,
        vec![
            "https://api.example.com/events?from=2024-01-01&initial=2024-01-01&since=2024-01-01&page=1",
            "https://api.example.com/events?from=2024-01-01&initial=2024-01-01&since=2024-01-01&page=2",
        ],
        "the start value is fixed for the run; only the page changes (dlt's order: params, incremental, page)"
    );
    assert_eq!(ids, vec![1, 2, 3], "id 4 is before the start value");
    assert!(cp.contains(r#""complete":true"#), "{cp}");
    assert!(cp.contains(r#""last_value":"2024-01-02""#), "{cp}");

    let mut run2 = Engine::new(&text, &config, vec![], Some(&cp)).unwrap();
    let (urls, ids, _) = drive(&mut run2, &|_| {
        events(
            &[
                (2, "2024-01-02"),
                (3, "2024-01-02"),
                (5, "2024-01-02"),
                (6, "2024-01-03"),
            ],
            1,
        )
    });
    assert_eq!(
        urls,
        vec![
            "https://api.example.com/events?from=2024-01-02&initial=2024-01-01&since=2024-01-02&page=1"
        ]
    );
    assert_eq!(
        ids,
        vec![5, 6],
        "ids 2 and 3 were loaded at the boundary last run"
    );
}

/// Reference §14.1 (verified): `row_order: asc` stops paging once a record reaches `end_value`; the page is
/// still processed.
#[test]
fn dlt_row_order_asc_stops_requesting_pages() {
    let config = incremental_config(
        json!({"cursor_path": "updated_at", "initial_value": "2024-01-01", "end_value": "2024-01-03", "row_order": "asc", "end_param": "until"}),
        json!({}),
    );
    let mut e = engine(config);
    let (urls, ids, cp) = drive(&mut e, &|url| {
        let page: i64 = url
            .split("page=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let day = format!("2024-01-0{page}");
        events(&[(page, day.as_str())], 5)
    });
    assert_eq!(urls.len(), 3, "pages 1-3 of 5: {urls:?}");
    assert!(urls[0].ends_with("until=2024-01-03&page=1"), "{}", urls[0]);
    assert_eq!(ids, vec![1, 2], "2024-01-03 is the exclusive end");
    assert!(cp.contains(r#""complete":true"#));
}
