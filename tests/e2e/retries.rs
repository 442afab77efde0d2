//! Retries and halting through the real component and host, with faults injected by the fixture API.

use crate::support::*;
use host_test::RunError;
use host_test::describe::describe;
use host_test::wit::{ConnectorError, HttpFailure};
use serde_json::{Value, json};
use testkit::demo_api::Fault;

/// Seed `id`'s config with an `error_handler` put on its first resource's endpoint.
fn with_error_handler(id: &str, handler: Value) -> String {
    let mut config: Value = serde_json::from_str(&seed_config(id)).unwrap();
    config["resources"][0]["endpoint"]["error_handler"] = handler;
    config.to_string()
}

fn fault(from: usize, count: Option<usize>, status: u16, retry_after: Option<&str>) -> Fault {
    Fault::status("/v1/resource", from, count, status, retry_after)
}

#[test]
fn spent_retries_halt_the_run_with_a_clear_error_and_no_further_request() {
    let api = api();
    api.inject(fault(3, None, 503, None));
    let config = with_error_handler("000", json!({"max_retries": 2, "backoff_factor": 0.01}));
    let (result, dir) = run(&tenant(&api, &config));
    let failure = result.expect_err("the run halts");
    let checkpoint = failure
        .summary
        .last_checkpoint
        .clone()
        .expect("three pages were stored");
    assert!(
        checkpoint.contains(r#""position":{"at":"offset","value":300}"#),
        "the checkpoint stays at the last stored page: {checkpoint}"
    );
    let RunError::Connector(error) = failure.error else {
        panic!("expected a connector error, got {failure:?}")
    };
    assert_eq!(
        error,
        ConnectorError::Http(HttpFailure {
            resource: "resource_name".into(),
            url: "https://api.example.com/v1/resource?offset=300&limit=100&api_key=***".into(),
            status: Some(503),
            attempts: 3,
            message:
                "503 Server Error: Service Unavailable; the response began: {\"error\":\"injected fault\"}"
                    .into(),
        })
    );
    assert_eq!(
        describe(&error),
        "resource `resource_name`: request to https://api.example.com/v1/resource?offset=300&limit=100&api_key=*** \
         failed after 3 attempts (status 503): 503 Server Error: Service Unavailable; the response began: \
         {\"error\":\"injected fault\"}"
    );
    let log = api.log();
    let offsets: Vec<&str> = log.iter().map(|l| l.param("offset").unwrap()).collect();
    assert_eq!(
        offsets,
        vec!["0", "100", "200", "300", "300", "300"],
        "three attempts, then nothing"
    );
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource")[..300].to_vec(),
        "stored pages stay"
    );
}

#[test]
fn a_halted_session_sends_nothing_more_when_asked_again() {
    let api = api();
    api.inject(fault(0, None, 500, None));
    let config = with_error_handler("000", json!({"max_retries": 0}));
    let mut session = plugin().configure(&tenant(&api, &config), None).unwrap();
    let first = session.next_page().unwrap_err().to_string();
    let second = session.next_page().unwrap_err().to_string();
    assert_eq!(first, second, "the same error again");
    assert!(
        first.contains("failed after 1 attempt (status 500)"),
        "{first}"
    );
    assert_eq!(api.log().len(), 1, "no request after the halt");
}

#[test]
fn seed_001_error_handler_retries_its_statuses_and_keeps_the_token() {
    let api = api();
    api.inject(fault(2, Some(2), 429, Some("0.05")));
    let handler = json!({"retry_on_status_codes": [429, 500, 502, 503], "max_retries": 3, "backoff_factor": 2});
    let (summary, dir) = run_ok(&tenant(&api, &with_error_handler("001", handler)));
    assert_eq!(summary.rows, vec![("resource_name".to_string(), 1234)]);
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let pages: Vec<_> = api
        .log()
        .into_iter()
        .filter(|l| l.path == "/v1/resource")
        .collect();
    let cursors: Vec<Option<&str>> = pages.iter().take(5).map(|l| l.param("after")).collect();
    assert_eq!(
        cursors,
        vec![None, Some("c100"), Some("c200"), Some("c200"), Some("c200")]
    );
    let statuses: Vec<u16> = pages.iter().take(5).map(|l| l.status).collect();
    assert_eq!(statuses, vec![200, 200, 429, 429, 200]);
    assert_eq!(
        api.log()
            .iter()
            .filter(|l| l.path == "/oauth/v1/token")
            .count(),
        1
    );
}

#[test]
fn a_status_outside_the_seed_list_is_not_retried() {
    let api = api();
    api.inject(fault(1, None, 504, None));
    let handler = json!({"retry_on_status_codes": [429, 500, 502, 503], "max_retries": 3, "backoff_factor": 2});
    let (result, _dir) = run(&tenant(&api, &with_error_handler("001", handler)));
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("failed after 1 attempt (status 504)"),
        "{error}"
    );
    assert_eq!(
        api.log()
            .iter()
            .filter(|l| l.path == "/v1/resource")
            .count(),
        2
    );
}

#[test]
fn without_error_handler_dlt_defaults_make_five_attempts() {
    let api = api();
    api.inject(fault(0, None, 500, Some("0.01")));
    let (result, _dir) = run(&tenant(&api, &seed_config("004")));
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("failed after 5 attempts (status 500)"),
        "{error}"
    );
    assert_eq!(api.log().len(), 5);
}

#[test]
fn a_refused_token_is_an_auth_error_and_no_data_is_requested() {
    let api = api();
    let mut tenant = tenant(&api, &seed_config("001"));
    tenant.secrets = host_test::SecretStore::from_pairs([
        ("client_id", "demo-client"),
        ("client_secret", "wrong"),
    ]);
    let (result, _dir) = run(&tenant);
    let failure = result.expect_err("the token is refused").error;
    let RunError::Connector(ConnectorError::Auth(failure)) = failure else {
        panic!("expected auth error: {failure:?}")
    };
    assert_eq!(failure.url, "https://api.example.com/oauth/v1/token");
    assert_eq!(
        failure.message,
        "401 Client Error: Unauthorized; the response began: {\"error\":\"invalid_client\"}"
    );
    let error = RunError::Connector(ConnectorError::Auth(failure)).to_string();
    assert!(!error.contains("wrong"), "no secret in {error}");
    assert!(api.log().iter().all(|l| l.path == "/oauth/v1/token"));
}

#[test]
fn a_missing_secret_is_a_config_error_naming_it_before_any_request() {
    let api = api();
    let mut tenant = tenant(&api, &seed_config("000"));
    tenant.secrets = host_test::SecretStore::default();
    let (result, _dir) = run(&tenant);
    assert_eq!(
        result.unwrap_err().to_string(),
        "stopped by the host: secret `api_key` is not among this tenant's secrets; the connector reported: \
         invalid config: client.auth.api_key: secret `api_key` is not set for this tenant"
    );
    assert!(api.log().is_empty());
}

/// The tenant's time budget counts the waits before retries (they happen inside the component): the run stops
/// at the first page boundary past it, with the checkpoint of the last stored page.
#[test]
fn the_time_budget_counts_retry_waits_and_stops_at_a_page_boundary() {
    let api = api();
    api.inject(fault(1, Some(2), 503, Some("0.4")));
    let mut tenant = tenant(&api, &seed_config("000"));
    tenant.limits.time_budget = Some(std::time::Duration::from_millis(500));
    let (result, dir) = run(&tenant);
    let failure = result.expect_err("two 0.4 s waits exceed a 0.5 s budget");
    assert!(
        matches!(failure.error, RunError::TimeBudget { pages: 2, .. }),
        "{:?}",
        failure.error
    );
    assert!(
        failure
            .to_string()
            .starts_with("time budget of 0.5 s used up after 2 pages"),
        "{failure}"
    );
    assert_eq!(
        rows(dir.path(), "resource_name").len(),
        200,
        "the pages before the boundary are stored"
    );
    assert_eq!(
        api.log().len(),
        4,
        "page 1, two failures, page 2; nothing after"
    );
}

/// The OAuth2 token request is retried under the resource's policy, like any request.
#[test]
fn the_token_request_is_retried_like_any_request() {
    let api = api();
    api.inject(Fault::status(
        "/oauth/v1/token",
        0,
        Some(2),
        503,
        Some("0.01"),
    ));
    let (_, dir) = run_ok(&tenant(&api, &seed_config("001")));
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let tokens: Vec<u16> = api
        .log()
        .iter()
        .filter(|l| l.path == "/oauth/v1/token")
        .map(|l| l.status)
        .collect();
    assert_eq!(tokens, vec![503, 503, 200]);
}
