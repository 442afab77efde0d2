//! `client.rate_limit`, the API's rate-limit headers and the tenant's `requests_per_second`, against the demo
//! API in its rate-limit mode (429 with `Retry-After` past N requests in any second). Each test has a control:
//! the same run without the setting meets 429s, so the test could fail.

use crate::support::*;
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec, RateSpec};

/// A demo API that answers 429 past `requests` in any second, serving `rows` rows of `resource` (100 a page).
fn limited_api(requests: usize, headers: bool, rows: usize) -> DemoApi {
    limited_api_in(requests, 1000, headers, rows)
}

/// [`limited_api`] counting over windows of `window_ms`.
fn limited_api_in(requests: usize, window_ms: u64, headers: bool, rows: usize) -> DemoApi {
    let mut spec = DemoSpec {
        rate_limit: Some(RateSpec {
            requests,
            window_ms,
            headers,
        }),
        ..DemoSpec::default()
    };
    spec.resources.insert("resource".into(), rows);
    spec.resources.insert("customer_usage".into(), rows);
    DemoApi::start(spec, 0).expect("the fixture API starts")
}

/// Seed `id`'s config with `client.rate_limit` set (or not).
fn with_limit(id: &str, limit: Option<Value>) -> Value {
    let mut config: Value = serde_json::from_str(&seed_config(id)).unwrap();
    if let Some(limit) = limit {
        config["client"]["rate_limit"] = limit;
    }
    config
}

fn too_many(api: &DemoApi) -> usize {
    api.log().iter().filter(|l| l.status == 429).count()
}

#[test]
fn a_rate_limit_below_the_apis_meets_no_429_in_fifty_pages() {
    let api = limited_api(12, false, 5000);
    let config = with_limit("000", Some(json!({"requests": 10, "per_seconds": 1})));
    let (summary, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(summary.pages, 50);
    assert_eq!(too_many(&api), 0, "no request was refused");
    assert_eq!(api.log().len(), 50, "one request a page");
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));

    let control = limited_api(12, false, 5000);
    let (_, dir) = run_ok(&tenant(&control, &with_limit("000", None).to_string()));
    assert!(
        too_many(&control) > 0,
        "without the limit the API refuses some"
    );
    assert_eq!(rows(dir.path(), "resource_name"), control.rows("resource"));
}

/// Two lanes with a budget each would send 10 a second to an API that allows 8 (the margin covers requests that
/// leave together and arrive spread out on a loaded machine).
#[test]
fn lanes_side_by_side_share_one_rate_limit() {
    let mut config = with_limit("000", Some(json!({"requests": 5, "per_seconds": 1})));
    let first = config["resources"][0].clone();
    let mut second = first.clone();
    second["name"] = json!("usage");
    second["endpoint"]["path"] = json!("/v1/customer_usage");
    config["resources"] = json!([first, second]);
    for r in 0..2 {
        config["resources"][r]["parallelized"] = json!(true);
    }
    let api = limited_api(8, false, 1000);
    let (summary, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(summary.pages, 20);
    assert_eq!(too_many(&api), 0);
    assert_eq!(rows(dir.path(), "usage"), api.rows("customer_usage"));
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
}

/// The API allows 2 in any 0.9 s (a margin for the time a request takes to arrive): the token request and the
/// first two pages at once, as an uncounted token request would go, are three.
#[test]
fn the_oauth_token_request_counts_toward_the_limit() {
    let api = limited_api_in(2, 900, false, 500);
    let config = with_limit("001", Some(json!({"requests": 2, "per_seconds": 1})));
    let (summary, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(summary.pages, 5);
    let log = api.log();
    assert_eq!(log[0].path, "/oauth/v1/token");
    assert_eq!(too_many(&api), 0, "{log:?}");
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
}

#[test]
fn the_apis_remaining_and_reset_headers_pause_requests_before_a_429() {
    let api = limited_api(4, true, 1200);
    let (summary, dir) = run_ok(&tenant(&api, &with_limit("000", None).to_string()));
    assert_eq!(summary.pages, 12);
    assert_eq!(too_many(&api), 0, "paused on `X-RateLimit-Remaining: 0`");
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
}

#[test]
fn a_tenants_requests_per_second_spaces_its_requests_in_the_host() {
    let api = limited_api(3, false, 1000);
    let mut tenant = tenant(&api, &with_limit("000", None).to_string());
    tenant.limits.requests_per_second = Some(2.5);
    let (summary, dir) = run_ok(&tenant);
    assert_eq!(summary.pages, 10);
    assert_eq!(too_many(&api), 0, "the host held the requests back");
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
}
