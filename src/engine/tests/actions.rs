//! `response_actions`: ignored responses end their pagination loop, are never retried, and match as dlt's do.

use super::*;

fn actions_config(actions: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": null},
        "response_actions": actions}}]})
}

/// dlt `test_response_actions.py::test_ignoring_endpoint_returning_404` and reference §12 (verified): a 404 on
/// page 2 keeps page 1 and ends that pagination loop, with no retry.
#[test]
fn dlt_ignore_404_keeps_earlier_pages_and_ends_the_loop() {
    let mut e = engine(actions_config(
        json!([{"status_code": 404, "action": "ignore"}]),
    ));
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"data": [{"id": 1}]})))
        .unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 1);
    assert!(expect_send(&mut e, at(2)).url.ends_with("page=2"));
    e.on_response(at(3), text(404, "missing")).unwrap();
    let page = expect_page(&mut e, at(3));
    assert_eq!((page.record_count, page.records.len()), (0, 0));
    assert!(
        page.checkpoint.contains(r#""at":"done""#),
        "{}",
        page.checkpoint
    );
    assert_eq!(e.poll(at(4)).unwrap(), Step::Done);
}

/// Reference §12: an ignored response is never retried, even a 429 or a 5xx (verified: one request, no sleep).
#[test]
fn dlt_ignored_429_and_503_are_not_retried() {
    for code in [429, 503] {
        let mut e = engine(actions_config(
            json!([{"status_code": code, "action": "ignore"}]),
        ));
        expect_send(&mut e, at(0));
        e.on_response(at(1), text(code, "")).unwrap();
        assert_eq!(expect_page(&mut e, at(1)).record_count, 0, "{code}");
        assert_eq!(e.poll(at(2)).unwrap(), Step::Done, "{code}: no retry");
    }
}

/// dlt `test_response_actions.py::test_response_action_on_status_code_and_content` family: both conditions must
/// hold; content alone matches 2xx bodies too.
#[test]
fn dlt_status_and_content_matching() {
    let both = json!([{"status_code": 200, "content": "not found", "action": "ignore"}]);
    let mut e = engine(actions_config(both.clone()));
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        text(200, r#"{"data": [{"id": 1}], "note": "found"}"#),
    )
    .unwrap();
    assert_eq!(
        expect_page(&mut e, at(1)).record_count,
        1,
        "content differs: not ignored"
    );
    let mut e = engine(actions_config(both));
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        text(200, r#"{"data": [{"id": 1}], "note": "not found"}"#),
    )
    .unwrap();
    assert_eq!(
        expect_page(&mut e, at(1)).record_count,
        0,
        "both hold: ignored"
    );
    let mut e = engine(actions_config(
        json!([{"content": "Gone", "action": "ignore"}]),
    ));
    expect_send(&mut e, at(0));
    e.on_response(at(1), text(410, "Gone away")).unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 0);
}

/// dlt ignores `"status_code": "404"` silently (a string never equals the int status); here it matches.
#[test]
fn a_status_code_written_as_a_string_matches() {
    let mut e = engine(actions_config(
        json!([{"status_code": "404", "action": "ignore"}]),
    ));
    expect_send(&mut e, at(0));
    e.on_response(at(1), text(404, "")).unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 0);
}

/// dlt `test_response_actions.py::test_ignoring_endpoint_returning_404` without the action: the 404 fails the run.
#[test]
fn dlt_unmatched_404_still_fails() {
    let mut e = engine(actions_config(
        json!([{"status_code": 422, "action": "ignore"}]),
    ));
    expect_send(&mut e, at(0));
    let err = e.on_response(at(1), text(404, "")).unwrap_err();
    assert!(
        err.to_string().contains("404 Client Error: Not Found"),
        "{err}"
    );
}

#[test]
fn response_actions_that_cannot_work_are_config_errors() {
    let config = actions_config(
        json!([{"action": "ignore"}, {"status_code": 404, "action": "retry"}, {"status_code": 404}]),
    );
    let err = Engine::new(&config.to_string(), &config, vec![], None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("response_actions[0]: needs `status_code` or `content`"),
        "{err}"
    );
    assert!(
        err.contains("response_actions[1].action: `retry` is not an action"),
        "{err}"
    );
    assert!(
        err.contains("response_actions[2].action: missing required field"),
        "{err}"
    );
}
