//! `client.rate_limit` and the API's rate-limit headers: when requests go, on a clock the test moves.

use super::*;

fn limited(mut config: Value, requests: u32, per_seconds: f64) -> Value {
    config["client"]["rate_limit"] = json!({"requests": requests, "per_seconds": per_seconds});
    config
}

/// Run the engine to its end, answering each request at once with `answer(n)` (n counts from 0) and moving the
/// clock only when it asks to sleep: the times requests went, and the pages' record counts.
fn drive(e: &mut Engine, mut answer: impl FnMut(usize, &HttpRequest) -> HttpResponse) -> Vec<u64> {
    let (mut now, mut sent) = (0, Vec::new());
    loop {
        match e.poll(at(now)).unwrap() {
            Step::Send(request) => {
                let response = answer(sent.len(), &request);
                sent.push(now);
                e.on_response(at(now), response).unwrap();
            }
            Step::Sleep { until_ms } => {
                assert!(until_ms > now, "a sleep is for later: {until_ms} at {now}");
                now = until_ms;
            }
            Step::Page(_) => {}
            Step::Done => return sent,
        }
    }
}

/// An offset page of two records out of `total`.
fn offset_page(n: usize, total: usize) -> HttpResponse {
    ok(json!({"data": [{"id": 2 * n}, {"id": 2 * n + 1}], "total": total}))
}

#[test]
fn requests_go_as_soon_as_the_window_allows_and_never_more_in_any_window() {
    let table: [(u32, f64, Vec<u64>); 3] = [
        (2, 1.0, vec![0, 0, 1000, 1000, 2000, 2000, 3000]),
        (1, 0.25, vec![0, 250, 500, 750, 1000, 1250, 1500]),
        (10, 60.0, vec![0; 7]),
    ];
    for (requests, seconds, expected) in table {
        let mut e = engine(limited(offset_config(json!({})), requests, seconds));
        let sent = drive(&mut e, |n, _| offset_page(n, 14));
        assert_eq!(sent, expected, "{requests} per {seconds} s");
    }
}

#[test]
fn without_a_limit_nothing_waits() {
    let mut e = engine(offset_config(json!({})));
    assert_eq!(drive(&mut e, |n, _| offset_page(n, 14)), vec![0; 7]);
}

#[test]
fn the_token_request_is_counted_too() {
    let mut e = engine(limited(oauth_config(), 1, 1.0));
    let sent = drive(&mut e, |n, request| match n {
        0 => {
            assert!(request.url.ends_with("/token"));
            ok(json!({"access_token": "t", "expires_in": 3600}))
        }
        1 => ok(json!({"data": [{"id": 1}], "next": "c2"})),
        _ => ok(json!({"data": [{"id": 2}], "next": null})),
    });
    assert_eq!(
        sent,
        vec![0, 1000, 2000],
        "token, page 1, page 2: one a second"
    );
}

#[test]
fn remaining_zero_in_the_apis_headers_pauses_until_its_reset() {
    let mut e = engine(offset_config(json!({})));
    let sent = drive(&mut e, |n, _| {
        let mut page = offset_page(n, 8);
        let left = if n == 1 { "0" } else { "5" };
        page.headers = vec![
            ("X-RateLimit-Remaining".into(), left.into()),
            ("X-RateLimit-Reset".into(), "2".into()),
        ];
        page
    });
    assert_eq!(
        sent,
        vec![0, 0, 2000, 2000],
        "the third waits out the reset"
    );
    let notes = e.take_notes();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("x-ratelimit-reset") && n.contains("2000 ms")),
        "{notes:?}"
    );
}

#[test]
fn a_retry_after_on_429_holds_back_every_request_and_the_limit_still_applies() {
    let mut e = engine(limited(offset_config(json!({})), 2, 1.0));
    let mut answered = 0;
    let sent = drive(&mut e, |n, _| match n {
        1 => status(429, &[("Retry-After", "3")]),
        _ => {
            answered += 1;
            offset_page(answered - 1, 6)
        }
    });
    assert_eq!(
        sent,
        vec![0, 0, 3000, 3000],
        "the retry waits 3 s, then two in its window"
    );
}
