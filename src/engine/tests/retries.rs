//! Retries: backoff and `Retry-After`, transport errors, statuses that are not retried, and dlt's retry cases.

use super::*;

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
