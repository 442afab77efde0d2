//! The engine as a state machine: scripted responses in, requests, sleeps, pages and errors out.

use super::*;
use serde_json::json;

const SECRET: &str = "s3cret-key";

fn engine(config: Value) -> Engine {
    let text = config.to_string();
    Engine::new(&text, &config, vec![SECRET.into()], None).unwrap_or_else(|e| panic!("{e}"))
}

fn offset_config(handler: Value) -> Value {
    json!({
        "client": {"base_url": "https://api.example.com", "auth": {"type": "api_key", "name": "api_key", "api_key": SECRET, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data",
            "paginator": {"type": "offset", "limit": 2}, "error_handler": handler}}]
    })
}

fn at(ms: u64) -> Now {
    Now {
        monotonic_ms: ms,
        unix_ms: 1_700_000_000_000 + ms,
    }
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![],
        body: body.to_string().into_bytes(),
    }
}

fn status(code: u16, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: b"{}".to_vec(),
    }
}

fn expect_send(e: &mut Engine, now: Now) -> HttpRequest {
    match e.poll(now).unwrap() {
        Step::Send(r) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn expect_page(e: &mut Engine, now: Now) -> Page {
    match e.poll(now).unwrap() {
        Step::Page(p) => p,
        other => panic!("expected a page, got {other:?}"),
    }
}

#[test]
fn pages_flow_with_checkpoints_until_done() {
    let mut e = engine(offset_config(json!({})));
    let req = expect_send(&mut e, at(0));
    assert_eq!(
        req.url,
        format!("https://api.example.com/v1/r?offset=0&limit=2&api_key={SECRET}")
    );
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}, {"id": 2}], "total": 3})),
    )
    .unwrap();
    let page = expect_page(&mut e, at(1));
    assert_eq!(page.records, b"{\"id\":1}\n{\"id\":2}\n");
    assert_eq!(page.record_count, 2);
    assert!(
        page.checkpoint
            .contains(r#""position":{"at":"offset","value":2}"#),
        "{}",
        page.checkpoint
    );
    let req = expect_send(&mut e, at(2));
    assert!(req.url.contains("offset=2&limit=2"), "{}", req.url);
    e.on_response(at(3), ok(json!({"data": [{"id": 3}], "total": 3})))
        .unwrap();
    let page = expect_page(&mut e, at(3));
    assert!(
        page.checkpoint.contains(r#""at":"done""#),
        "{}",
        page.checkpoint
    );
    assert_eq!(e.poll(at(4)).unwrap(), Step::Done);
}

#[test]
fn retries_wait_with_backoff_then_resend_the_same_request() {
    let mut e = engine(offset_config(
        json!({"max_retries": 2, "backoff_factor": 2}),
    ));
    let first = expect_send(&mut e, at(0));
    e.on_response(at(10), status(503, &[])).unwrap();
    assert_eq!(e.poll(at(10)).unwrap(), Step::Sleep { until_ms: 2010 });
    assert_eq!(
        e.poll(at(2000)).unwrap(),
        Step::Sleep { until_ms: 2010 },
        "too early: still waiting"
    );
    assert_eq!(expect_send(&mut e, at(2010)), first);
    e.on_response(at(2020), status(429, &[("Retry-After", "7")]))
        .unwrap();
    assert_eq!(
        e.poll(at(2020)).unwrap(),
        Step::Sleep { until_ms: 9020 },
        "Retry-After wins over backoff"
    );
    assert_eq!(expect_send(&mut e, at(9020)), first);
    let err = e.on_response(at(9030), status(503, &[])).unwrap_err();
    assert_eq!(
        err,
        Error::Http {
            resource: "r".into(),
            url: "https://api.example.com/v1/r?offset=0&limit=2&api_key=***".into(),
            status: Some(503),
            attempts: 3,
            message: "503 Server Error: Service Unavailable; the response began: {}".into(),
        }
    );
    assert_eq!(
        e.poll(at(99_999)),
        Err(err),
        "halted: no request after the last attempt"
    );
}

#[test]
fn transport_errors_retry_unless_denied() {
    let mut e = engine(offset_config(
        json!({"max_retries": 1, "backoff_factor": 0}),
    ));
    expect_send(&mut e, at(0));
    e.on_transport_error(at(5), "connection refused", true)
        .unwrap();
    expect_send(&mut e, at(5));
    let err = e
        .on_transport_error(at(6), "connection refused", true)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: None,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );

    let mut e = engine(offset_config(json!({})));
    expect_send(&mut e, at(0));
    let err = e
        .on_transport_error(at(1), "the host's egress policy denied the request", false)
        .unwrap_err();
    assert!(matches!(err, Error::Http { attempts: 1, .. }), "{err:?}");
}

#[test]
fn client_errors_are_not_retried_and_bodies_must_be_json() {
    let mut e = engine(offset_config(json!({})));
    expect_send(&mut e, at(0));
    let err = e.on_response(at(1), status(404, &[])).unwrap_err();
    assert!(
        err.to_string()
            .contains("after 1 attempt (status 404): 404 Client Error: Not Found"),
        "{err}"
    );

    let mut e = engine(offset_config(json!({})));
    expect_send(&mut e, at(0));
    let html = HttpResponse {
        status: 200,
        headers: vec![],
        body: b"<html>".to_vec(),
    };
    let err = e.on_response(at(1), html).unwrap_err();
    assert!(
        matches!(&err, Error::BadResponse { message, .. } if message.starts_with("body is not JSON")),
        "{err:?}"
    );
}

fn oauth_config() -> Value {
    json!({
        "client": {"base_url": "https://api.example.com",
                   "auth": {"type": "oauth2", "token_url": "https://api.example.com/token", "client_id": "id", "client_secret": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data",
            "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "after"}}}]
    })
}

#[test]
fn oauth_token_is_fetched_once_and_refreshed_on_expiry() {
    let mut e = engine(oauth_config());
    let token_req = expect_send(&mut e, at(0));
    assert_eq!(token_req.url, "https://api.example.com/token");
    e.on_response(at(1), ok(json!({"access_token": "tok1", "expires_in": 10})))
        .unwrap();
    let page_req = expect_send(&mut e, at(1));
    assert!(
        page_req
            .headers
            .contains(&("Authorization".into(), "Bearer tok1".into()))
    );
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "n1"})))
        .unwrap();
    expect_page(&mut e, at(2));
    let again = expect_send(&mut e, at(5_000));
    assert!(
        again.url.ends_with("after=n1"),
        "token still valid: {}",
        again.url
    );
    e.on_response(at(5_001), ok(json!({"data": [{"id": 2}], "next": "n2"})))
        .unwrap();
    expect_page(&mut e, at(5_001));
    let refresh = expect_send(&mut e, at(10_001));
    assert_eq!(
        refresh.url, "https://api.example.com/token",
        "expired: a new token first"
    );
}

#[test]
fn credentials_stay_on_the_base_origin() {
    let config = json!({
        "client": {"base_url": "https://api.example.com", "headers": {"X-Team": SECRET},
                   "auth": {"type": "api_key", "name": "api_key", "api_key": SECRET, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data", "paginator": {"type": "json_link"}}}]
    });
    let mut e = engine(config);
    let first = expect_send(&mut e, at(0));
    assert!(first.url.ends_with(&format!("api_key={SECRET}")));
    let next = format!("https://elsewhere.example.net/v1/r?page=2&api_key={SECRET}");
    e.on_response(at(1), ok(json!({"data": [{"id": 1}], "next": next})))
        .unwrap();
    let page = expect_page(&mut e, at(1));
    assert!(!page.checkpoint.contains(SECRET), "{}", page.checkpoint);
    let second = expect_send(&mut e, at(2));
    assert_eq!(
        second.url, "https://elsewhere.example.net/v1/r?page=2",
        "no key to another origin"
    );
    assert!(
        second.headers.iter().all(|(_, v)| !v.contains(SECRET)),
        "{:?}",
        second.headers
    );
}

#[test]
fn a_repeated_cursor_is_an_error_not_a_loop() {
    let mut e = engine(oauth_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "t"})))
        .unwrap();
    expect_send(&mut e, at(1));
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "same"})))
        .unwrap();
    expect_page(&mut e, at(2));
    expect_send(&mut e, at(3));
    let err = e
        .on_response(at(4), ok(json!({"data": [{"id": 2}], "next": "same"})))
        .unwrap_err();
    assert!(
        err.to_string().contains("pagination does not advance"),
        "{err}"
    );
}

#[test]
fn resume_from_a_checkpoint_continues_after_that_page() {
    let config = offset_config(json!({}));
    let text = config.to_string();
    let mut e = engine(config.clone());
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}, {"id": 2}], "total": 5})),
    )
    .unwrap();
    let cp = expect_page(&mut e, at(1)).checkpoint;
    let mut resumed = Engine::new(&text, &config, vec![SECRET.into()], Some(&cp)).unwrap();
    assert!(
        expect_send(&mut resumed, at(0))
            .url
            .contains("offset=2&limit=2")
    );
    let other = json!({"client": {"base_url": "https://b", "paginator": "single_page"}, "resources": ["r"]});
    let err = Engine::new(&other.to_string(), &other, vec![], Some(&cp))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("checkpoint: was made with a different config"),
        "{err}"
    );
}

#[test]
fn errors_never_carry_secret_values() {
    let config = json!({
        "client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "paginator": "single_page",
            "auth": {"type": "api_key", "api_key": "k", "location": SECRET}}}]
    });
    let err = Engine::new(&config.to_string(), &config, vec![SECRET.into()], None)
        .err()
        .unwrap();
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");
}

#[test]
fn records_are_detected_without_a_data_selector_and_schema_is_inferred() {
    let config = json!({"client": {"base_url": "https://a"}, "resources": [{"name": "r", "primary_key": "id",
        "endpoint": {"paginator": "single_page"}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"meta": {"n": 2}, "items": [{"id": 1, "x": null}, {"id": 2, "x": "b"}]})),
    )
    .unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 2);
    let schema = &e.schemas()[0];
    assert_eq!(schema.primary_key, vec!["id"]);
    let cols: Vec<(&str, bool)> = schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    assert_eq!(cols, vec![("id", false), ("x", true)]);
}

fn auto_config() -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {"path": "/v1/r"}}]})
}

/// dlt detects the paginator on the first response (`RESTClient.paginate` with `paginator=None`).
#[test]
fn detected_json_link_pages_on_and_rides_in_the_checkpoint() {
    let config = auto_config();
    let mut e = engine(config.clone());
    assert_eq!(
        expect_send(&mut e, at(0)).url,
        "https://api.example.com/v1/r"
    );
    e.on_response(
        at(1),
        ok(json!({"results": [{"id": 1}], "next": "/v1/r?page=2"})),
    )
    .unwrap();
    let page = expect_page(&mut e, at(1));
    assert!(
        page.checkpoint
            .contains(r#""detected":{"type":"json_link","next_url_path":"next"}"#),
        "{}",
        page.checkpoint
    );
    assert_eq!(
        expect_send(&mut e, at(2)).url,
        "https://api.example.com/v1/r?page=2"
    );

    let mut resumed =
        Engine::new(&config.to_string(), &config, vec![], Some(&page.checkpoint)).unwrap();
    assert_eq!(
        expect_send(&mut resumed, at(0)).url,
        "https://api.example.com/v1/r?page=2"
    );
    resumed
        .on_response(at(1), ok(json!({"results": [{"id": 2}], "next": null})))
        .unwrap();
    assert_eq!(expect_page(&mut resumed, at(1)).record_count, 1);
    assert_eq!(resumed.poll(at(2)).unwrap(), Step::Done);
}

/// A detected page-number paginator asks for page 1 next, as dlt does (first request had no page param).
#[test]
fn detected_total_pages_asks_for_page_one_next() {
    let mut e = engine(auto_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"items": [{"id": 1}], "total_pages": 2})))
        .unwrap();
    expect_page(&mut e, at(1));
    assert_eq!(
        expect_send(&mut e, at(2)).url,
        "https://api.example.com/v1/r?page=1"
    );
    e.on_response(at(3), ok(json!({"items": [{"id": 2}], "total_pages": 2})))
        .unwrap();
    expect_page(&mut e, at(3));
    assert_eq!(e.poll(at(4)).unwrap(), Step::Done);
}

/// Nothing to detect: one page (dlt's `SinglePagePaginator` fallback).
#[test]
fn nothing_detected_means_one_page() {
    let mut e = engine(auto_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!([{"id": 1}, {"id": 2}])))
        .unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 2);
    assert_eq!(e.poll(at(2)).unwrap(), Step::Done);
}

fn actions_config(actions: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": null},
        "response_actions": actions}}]})
}

fn text(code: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status: code,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
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

/// A secret is used as it is: never read as a `{placeholder}` template, never unescaped.
#[test]
fn secrets_are_opaque_to_templates() {
    let secret = "ab{cd}ef{{x";
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "paginator": "single_page", "params": {"token": secret}}}]});
    let mut e = Engine::new(&config.to_string(), &config, vec![secret.into()], None).unwrap();
    let req = expect_send(&mut e, at(0));
    assert_eq!(
        req.url,
        "https://api.example.com/v1/r?token=ab%7Bcd%7Def%7B%7Bx"
    );
}

/// An API key under a name outside dlt's sensitive list, with characters that URL-encode, never shows.
#[test]
fn encoded_keys_under_any_name_are_masked() {
    let secret = "ab+c/d== é";
    let config = json!({"client": {"base_url": "https://api.example.com",
        "auth": {"type": "api_key", "name": "hapikey", "api_key": secret, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "paginator": "single_page"}}]});
    let mut e = Engine::new(&config.to_string(), &config, vec![secret.into()], None).unwrap();
    let req = expect_send(&mut e, at(0));
    assert!(
        req.url.ends_with("hapikey=ab%2Bc%2Fd%3D%3D+%C3%A9"),
        "{}",
        req.url
    );
    let err = e
        .on_response(at(1), status(404, &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hapikey=***"), "{err}");
    for form in ["ab+c/d==", "ab%2Bc%2Fd%3D%3D", "d=="] {
        assert!(!err.contains(form), "{form} in {err}");
    }
}

/// dlt: `expires_in: 0` means a new token for every request, not a loop of token requests.
#[test]
fn a_token_that_expires_at_once_is_used_once() {
    let mut e = engine(oauth_config());
    assert!(expect_send(&mut e, at(0)).url.ends_with("/token"));
    e.on_response(at(1), ok(json!({"access_token": "t1", "expires_in": 0})))
        .unwrap();
    let page = expect_send(&mut e, at(1));
    assert!(
        page.headers
            .contains(&("Authorization".into(), "Bearer t1".into())),
        "{page:?}"
    );
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "n"})))
        .unwrap();
    expect_page(&mut e, at(2));
    assert!(
        expect_send(&mut e, at(3)).url.ends_with("/token"),
        "a new token for the next request"
    );
}

/// The OAuth token is masked like a secret: it never reaches an error or a checkpoint.
#[test]
fn the_access_token_is_masked_too() {
    let config = json!({"client": {"base_url": "https://api.example.com",
        "auth": {"type": "oauth2", "token_url": "https://api.example.com/token", "client_id": "id", "client_secret": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data", "paginator": {"type": "json_link"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "tok-XYZ"})))
        .unwrap();
    expect_send(&mut e, at(1));
    let err = e
        .on_response(
            at(2),
            ok(json!({"data": [{"id": 1}], "next": "https://api.example.com/v1/r?access=tok-XYZ"})),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds a secret value"), "{err}");
    assert!(!err.contains("tok-XYZ"), "{err}");
}

/// A JSON body holding a secret is not sent to another origin.
#[test]
fn a_secret_body_does_not_follow_a_link_elsewhere() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "method": "POST", "json": {"key": SECRET}, "data_selector": "data", "paginator": {"type": "json_link"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}], "next": "https://elsewhere.example.net/p2"})),
    )
    .unwrap();
    expect_page(&mut e, at(1));
    let err = e.poll(at(2)).unwrap_err().to_string();
    assert!(
        err.contains(
            "another origin than the base URL's and its body holds a secret; it is not sent"
        ),
        "{err}"
    );
}

/// Each scheduled retry leaves a note for the host's log, naming the status, URL and attempt.
#[test]
fn retries_leave_notes_for_the_log() {
    let mut e = engine(offset_config(json!({"max_retries": 1})));
    expect_send(&mut e, at(0));
    e.on_response(at(1), status(503, &[])).unwrap();
    let notes = e.take_notes();
    assert_eq!(
        notes,
        vec![
            "resource `r`: status 503 from https://api.example.com/v1/r?offset=0&limit=2&api_key=*** (attempt 1 of 2); retrying in 1000 ms"
        ]
    );
    assert!(e.take_notes().is_empty());
}

/// `selected: false` feeds no table; with no children to feed it is not fetched. An empty list is valid.
#[test]
fn unselected_resources_are_not_fetched_and_empty_lists_are_done() {
    let config = json!({"client": {"base_url": "https://a", "paginator": "single_page"},
        "resources": [{"name": "skip", "selected": false}, "keep"]});
    let mut e = engine(config);
    assert_eq!(expect_send(&mut e, at(0)).url, "https://a/keep");
    let empty = json!({"client": {"base_url": "https://a"}, "resources": []});
    assert_eq!(engine(empty).poll(at(0)).unwrap(), Step::Done);
}

fn blog(child_extra: Value) -> Value {
    let mut child = json!({"name": "comments", "endpoint": {"path": "posts/{resources.posts.id}/comments",
        "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}}});
    if let (Some(c), Some(extra)) = (child.as_object_mut(), child_extra.as_object()) {
        c.extend(extra.clone());
    }
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [
        {"name": "posts", "endpoint": {"path": "posts", "data_selector": "data",
            "paginator": {"type": "json_link", "next_url_path": "next"}}},
        child
    ]})
}

fn page_of(ids: &[i64], next: Option<&str>) -> HttpResponse {
    let data: Vec<Value> = ids
        .iter()
        .map(|i| json!({"id": i, "title": format!("t{i}")}))
        .collect();
    ok(json!({"data": data, "next": next}))
}

fn comments(post: i64, page: i64, pages: i64) -> HttpResponse {
    ok(json!({"data": [{"cid": post * 100 + page}], "total_pages": pages}))
}

/// dlt `test_offline.py::test_load_mock_api` shape: each parent page is followed by its children, one
/// pagination loop per parent record, with child paginator state fresh per record (dlt #1921, #3685, #3772).
#[test]
fn dlt_children_page_per_parent_record_with_fresh_state() {
    let mut e = engine(blog(json!({"include_from_parent": ["title"]})));
    let mut urls = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut step = 0;
    loop {
        match e.poll(at(step)).unwrap() {
            Step::Send(req) => {
                urls.push(req.url.clone());
                let u = req.url.trim_start_matches("https://api.example.com/");
                let response = match u {
                    "posts" => page_of(&[1, 2], Some("https://api.example.com/posts?page=2")),
                    "posts?page=2" => page_of(&[3], None),
                    _ => {
                        let post: i64 = u.split('/').nth(1).unwrap().parse().unwrap();
                        let page = u.split("page=").nth(1).map_or(1, |p| p.parse().unwrap());
                        comments(post, page, if post == 1 { 2 } else { 1 })
                    }
                };
                e.on_response(at(step), response).unwrap();
            }
            Step::Page(p) => {
                for line in String::from_utf8(p.records).unwrap().lines() {
                    rows.push((p.resource.clone(), line.to_string()));
                }
            }
            Step::Done => break,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
        step += 1;
    }
    let paths: Vec<&str> = urls
        .iter()
        .map(|u| u.trim_start_matches("https://api.example.com/"))
        .collect();
    assert_eq!(
        paths,
        vec![
            "posts",
            "posts/1/comments?page=1",
            "posts/1/comments?page=2",
            "posts/2/comments?page=1",
            "posts?page=2",
            "posts/3/comments?page=1"
        ]
    );
    let children: Vec<&str> = rows
        .iter()
        .filter(|(r, _)| r == "comments")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(
        children,
        vec![
            r#"{"cid":101,"_posts_title":"t1"}"#,
            r#"{"cid":102,"_posts_title":"t1"}"#,
            r#"{"cid":201,"_posts_title":"t2"}"#,
            r#"{"cid":301,"_posts_title":"t3"}"#
        ]
    );
    assert_eq!(rows.iter().filter(|(r, _)| r == "posts").count(), 3);
}

/// dlt `test_resolve_config.py::test_process_parent_data_item` errors: a missing field names what is there.
#[test]
fn dlt_missing_parent_fields_are_errors() {
    let mut e = engine(blog(
        json!({"endpoint": {"path": "posts/{resources.posts.uid}/comments", "paginator": "single_page"}}),
    ));
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    expect_page(&mut e, at(1));
    let err = e.poll(at(2)).unwrap_err().to_string();
    assert!(
        err.contains("Resource expects a field `uid` to be present in the incoming data from resource `posts` in order to bind it to path param: `resources.posts.uid`. Available parent fields are: ['id', 'title']"),
        "{err}"
    );
    let mut e = engine(blog(json!({"include_from_parent": ["nope"]})));
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    expect_page(&mut e, at(1));
    expect_send(&mut e, at(2));
    let err = e
        .on_response(at(3), comments(1, 1, 1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("in order to include it in child records under `_posts_nope`"),
        "{err}"
    );
}

/// Placeholders fill params, json bodies (type kept), headers and data; client headers stay literal (dlt).
#[test]
fn dlt_placeholders_fill_every_part_of_a_child_request() {
    let config = json!({"client": {"base_url": "https://api.example.com", "headers": {"X-Client": "{resources.posts.id}"}},
        "resources": ["posts", {"name": "detail", "endpoint": {"path": "detail", "method": "POST", "paginator": "single_page",
            "params": {"post_id": "{resources.posts.id}", "lit": "{{x}}"},
            "json": {"id": "{resources.posts.id}", "label": "post {resources.posts.id}", "meta": "{resources.posts.meta}"},
            "headers": {"X-Post": "{resources.posts.id}"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!([{"id": 7, "meta": {"a": true}}])))
        .unwrap();
    expect_page(&mut e, at(1));
    let req = expect_send(&mut e, at(2));
    assert_eq!(
        req.url,
        "https://api.example.com/detail?post_id=7&lit=%7Bx%7D"
    );
    assert_eq!(
        String::from_utf8(req.body.unwrap()).unwrap(),
        r#"{"id": 7, "label": "post 7", "meta": {"a": true}}"#
    );
    assert!(
        req.headers.contains(&("X-Post".into(), "7".into())),
        "{:?}",
        req.headers
    );
    assert!(
        req.headers
            .contains(&("X-Client".into(), "{resources.posts.id}".into())),
        "client headers are literal"
    );
}

/// A parent that is not selected is still fetched to feed its children, but its rows are not stored.
#[test]
fn unselected_parents_feed_children() {
    let mut config = blog(
        json!({"endpoint": {"path": "posts/{resources.posts.id}/comments", "data_selector": "data", "paginator": "single_page"}}),
    );
    config["resources"][0]["selected"] = json!(false);
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    let parent = expect_page(&mut e, at(1));
    assert_eq!(
        (
            parent.resource.as_str(),
            parent.record_count,
            parent.records.len()
        ),
        ("posts", 0, 0)
    );
    assert!(expect_send(&mut e, at(2)).url.ends_with("posts/1/comments"));
}

/// Resume in the middle of a parent page's children: the parent page is fetched again (not stored again), and
/// the run continues with the next parent record.
#[test]
fn resume_mid_fan_out_replays_the_parent_page() {
    let config = blog(
        json!({"endpoint": {"path": "posts/{resources.posts.id}/comments", "data_selector": "data", "paginator": "single_page"}}),
    );
    let mut e = engine(config.clone());
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1, 2], None)).unwrap();
    expect_page(&mut e, at(1));
    assert!(expect_send(&mut e, at(2)).url.ends_with("posts/1/comments"));
    e.on_response(at(3), comments(1, 1, 1)).unwrap();
    let cp = expect_page(&mut e, at(3)).checkpoint;
    assert!(
        cp.contains(r#""pending":{"from":{"at":"first"},"next_record":1,"next_child":0}"#),
        "{cp}"
    );
    assert!(cp.contains(r#""parent_record":0"#), "{cp}");

    let mut r = Engine::new(&config.to_string(), &config, vec![], Some(&cp)).unwrap();
    assert_eq!(
        expect_send(&mut r, at(0)).url,
        "https://api.example.com/posts",
        "the parent page again"
    );
    r.on_response(at(1), page_of(&[1, 2], None)).unwrap();
    assert!(
        expect_send(&mut r, at(2)).url.ends_with("posts/2/comments"),
        "no page stored twice"
    );
    r.on_response(at(3), comments(2, 1, 1)).unwrap();
    let page = expect_page(&mut r, at(3));
    assert_eq!(page.record_count, 1);
    assert_eq!(r.poll(at(4)).unwrap(), Step::Done);
}

fn incremental_config(inc: Value, params: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "events", "primary_key": "id",
        "endpoint": {"path": "events", "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": "pages"},
            "params": params, "incremental": inc}}]})
}

fn events(rows: &[(i64, &str)], pages: i64) -> HttpResponse {
    let data: Vec<Value> = rows
        .iter()
        .map(|(id, ts)| json!({"id": id, "updated_at": ts}))
        .collect();
    ok(json!({"data": data, "pages": pages}))
}

/// Drive an engine to the end with scripted responses per URL; the URLs asked for, the rows and the last
/// checkpoint.
fn drive(
    e: &mut Engine,
    respond: &dyn Fn(&str) -> HttpResponse,
) -> (Vec<String>, Vec<i64>, String) {
    let (mut urls, mut ids, mut last) = (Vec::new(), Vec::new(), String::new());
    for step in 0.. {
        match e.poll(at(step)).unwrap() {
            Step::Send(req) => {
                urls.push(req.url.clone());
                e.on_response(at(step), respond(&req.url)).unwrap();
            }
            Step::Page(p) => {
                for line in String::from_utf8(p.records).unwrap().lines() {
                    ids.push(
                        serde_json::from_str::<Value>(line).unwrap()["id"]
                            .as_i64()
                            .unwrap(),
                    );
                }
                last = p.checkpoint;
            }
            Step::Done => break,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
    }
    (urls, ids, last)
}

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

/// A resumed run (unfinished checkpoint) keeps the run's start value and boundary: nothing is re-sent
/// differently and nothing loaded before the checkpoint loads again.
#[test]
fn resuming_mid_run_keeps_the_start_value() {
    let config = incremental_config(
        json!({"cursor_path": "updated_at", "initial_value": "2024-01-01", "start_param": "since"}),
        json!({}),
    );
    let text = config.to_string();
    let mut e = Engine::new(&text, &config, vec![], None).unwrap();
    expect_send(&mut e, at(0));
    e.on_response(at(1), events(&[(1, "2024-01-05")], 2))
        .unwrap();
    let cp = expect_page(&mut e, at(1)).checkpoint;
    assert!(!cp.contains("complete"), "{cp}");
    let mut resumed = Engine::new(&text, &config, vec![], Some(&cp)).unwrap();
    let req = expect_send(&mut resumed, at(0));
    assert!(
        req.url.ends_with("since=2024-01-01&page=2"),
        "same start value, next page: {}",
        req.url
    );
}

/// `schema()` names each resource's parent and incremental cursor.
#[test]
fn schema_names_parents_and_cursors() {
    let config = json!({"client": {"base_url": "https://a", "paginator": "single_page"}, "resources": [
        {"name": "posts", "endpoint": {"incremental": {"cursor_path": "updated_at"}}},
        {"name": "comments", "endpoint": "posts/{resources.posts.id}/comments"}]});
    let e = engine(config);
    let got: Vec<(Option<String>, Option<String>)> = e
        .schemas()
        .iter()
        .map(|t| (t.parent.clone(), t.incremental_cursor.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, Some("updated_at".into())),
            (Some("posts".into()), None)
        ]
    );
}

/// Count requests and sleeps until the run ends: `(requests, sleeps in ms, outcome)`.
fn run_with(
    e: &mut Engine,
    responses: &mut dyn FnMut(usize) -> Result<HttpResponse, &'static str>,
) -> (usize, Vec<u64>, Result<(), Error>) {
    let (mut sent, mut sleeps, mut now) = (0, Vec::new(), 0u64);
    loop {
        match e.poll(at(now)) {
            Ok(Step::Send(_)) => {
                let outcome = match responses(sent) {
                    Ok(r) => e.on_response(at(now), r),
                    Err(m) => e.on_transport_error(at(now), m, true),
                };
                sent += 1;
                if let Err(err) = outcome {
                    return (sent, sleeps, Err(err));
                }
            }
            Ok(Step::Sleep { until_ms }) => {
                sleeps.push(until_ms - now);
                now = until_ms;
            }
            Ok(Step::Page(_)) => {}
            Ok(Step::Done) => return (sent, sleeps, Ok(())),
            Err(err) => return (sent, sleeps, Err(err)),
        }
    }
}

fn single(handler: Value) -> Engine {
    engine(
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "x", "paginator": "single_page", "error_handler": handler}}]}),
    )
}

/// dlt `tests/sources/helpers/test_requests.py` with a fake clock: default settings (5 attempts, waits
/// 1, 2, 4, 8 s), success after 2, exceptions, `Retry-After`, and custom settings (`error_handler` here).
#[test]
fn dlt_test_requests_retry_cases() {
    // test_retry_on_status_all_fails / test_default_session_retry_settings
    let (sent, sleeps, outcome) = run_with(&mut single(json!({})), &mut |_| Ok(status(503, &[])));
    assert_eq!((sent, sleeps), (5, vec![1000, 2000, 4000, 8000]));
    assert!(matches!(
        outcome,
        Err(Error::Http {
            status: Some(503),
            attempts: 5,
            ..
        })
    ));
    // test_retry_on_status_success_after_2
    let (sent, sleeps, outcome) = run_with(&mut single(json!({})), &mut |n| {
        Ok(if n < 2 {
            text(503, "error")
        } else {
            ok(json!([{"id": 1}]))
        })
    });
    assert_eq!((sent, sleeps.len()), (3, 2));
    assert!(outcome.is_ok());
    // test_retry_on_exception_all_fails (ConnectionError, Timeout, ChunkedEncodingError)
    for err in [
        "connection refused",
        "no response within the timeout",
        "reading the response body failed",
    ] {
        let (sent, _, outcome) = run_with(&mut single(json!({})), &mut |_| Err(err));
        assert_eq!(sent, 5, "{err}");
        assert!(
            matches!(
                outcome,
                Err(Error::Http {
                    status: None,
                    attempts: 5,
                    ..
                })
            ),
            "{err}"
        );
    }
    // test_wait_retry_after_int (dlt adds up to 1 s of jitter; none here)
    let (sent, sleeps, _) = run_with(&mut single(json!({})), &mut |n| {
        Ok(if n == 0 {
            status(429, &[("retry-after", "4")])
        } else {
            ok(json!([]))
        })
    });
    assert_eq!((sent, sleeps), (2, vec![4000]));
    // test_custom_session_retry_settings: 14 attempts, multiplier 2, capped
    let (sent, sleeps, _) = run_with(
        &mut single(json!({"max_retries": 13, "backoff_factor": 2, "max_delay": 60})),
        &mut |_| Ok(status(500, &[])),
    );
    assert_eq!(sent, 14);
    assert_eq!(&sleeps[..6], &[2000, 4000, 8000, 16000, 32000, 60000]);
    // non-retried statuses: one request (reference §15: 404 makes one call)
    let (sent, sleeps, _) = run_with(&mut single(json!({})), &mut |_| Ok(status(404, &[])));
    assert_eq!((sent, sleeps.len()), (1, 0));
}

/// A 401 with OAuth2 fetches a new token and asks once more; a second 401 fails (dlt never refreshes on 401).
#[test]
fn an_oauth_401_refreshes_the_token_once() {
    let mut e = engine(oauth_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "old"})))
        .unwrap();
    expect_send(&mut e, at(1));
    e.on_response(at(2), status(401, &[])).unwrap();
    assert!(
        e.take_notes()[0].contains("status 401"),
        "the refresh is logged"
    );
    assert!(
        expect_send(&mut e, at(3)).url.ends_with("/token"),
        "a new token first"
    );
    e.on_response(at(4), ok(json!({"access_token": "new"})))
        .unwrap();
    let again = expect_send(&mut e, at(4));
    assert!(
        again
            .headers
            .contains(&("Authorization".into(), "Bearer new".into()))
    );
    e.on_response(at(5), ok(json!({"data": [{"id": 1}], "next": "n"})))
        .unwrap();
    expect_page(&mut e, at(5));
    // A later 401 gets its own single refresh; two in a row fail.
    expect_send(&mut e, at(6));
    e.on_response(at(7), status(401, &[])).unwrap();
    expect_send(&mut e, at(8));
    e.on_response(at(9), ok(json!({"access_token": "newer"})))
        .unwrap();
    expect_send(&mut e, at(9));
    let err = e
        .on_response(at(10), status(401, &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("(status 401)"), "{err}");
}

/// `max_pages` (extension, dlt's `add_limit`) ends each pagination loop cleanly; the count rides in the
/// checkpoint so a resume stops at the same place.
#[test]
fn max_pages_stops_cleanly_and_survives_resume() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "x", "data_selector": "data", "max_pages": 3, "paginator": {"type": "page_number", "base_page": 1, "total_path": null}}}]});
    let text = config.to_string();
    let mut e = engine(config.clone());
    let mut cp = String::new();
    for page in 1..=2 {
        assert!(
            expect_send(&mut e, at(page))
                .url
                .ends_with(&format!("page={page}"))
        );
        e.on_response(at(page), ok(json!({"data": [{"id": page}]})))
            .unwrap();
        cp = expect_page(&mut e, at(page)).checkpoint;
    }
    assert!(cp.contains(r#""pages":2"#), "{cp}");
    let mut resumed = Engine::new(&text, &config, vec![], Some(&cp)).unwrap();
    assert!(expect_send(&mut resumed, at(0)).url.ends_with("page=3"));
    resumed
        .on_response(at(1), ok(json!({"data": [{"id": 3}]})))
        .unwrap();
    expect_page(&mut resumed, at(1));
    assert_eq!(
        resumed.poll(at(2)).unwrap(),
        Step::Done,
        "three pages in all"
    );
    let bad = json!({"client": {"base_url": "https://a", "paginator": "single_page"}, "resources": [{"name": "r", "endpoint": {"max_pages": 0}}]});
    let err = Engine::new(&bad.to_string(), &bad, vec![], None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("max_pages: must be a positive integer"),
        "{err}"
    );
}
