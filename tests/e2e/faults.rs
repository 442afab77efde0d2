//! Fault injection against the fixture API: each run ends with exactly the API's rows, or halts with the
//! expected error and sends nothing more.

use crate::support::*;
use host_test::RunError;
use host_test::wit::ConnectorError;
use serde_json::{Value, json};
use testkit::demo_api::{Fault, FaultKind, Which};

const PATH: &str = "/v1/resource";

/// Seed 000 with a fast retry policy: 4 attempts, short waits, a 0.5 s timeout.
fn config() -> String {
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resources"][0]["endpoint"]["error_handler"] =
        json!({"max_retries": 3, "backoff_factor": 0.01, "timeout": 0.5});
    config.to_string()
}

fn fault(which: Which, kind: FaultKind) -> Fault {
    Fault {
        path: PATH.into(),
        which,
        kind,
    }
}

fn offsets(api: &testkit::demo_api::DemoApi) -> Vec<String> {
    api.log()
        .iter()
        .map(|l| l.param("offset").unwrap_or("-").to_string())
        .collect()
}

/// The run ends with exactly the API's rows.
fn assert_truth(api: &testkit::demo_api::DemoApi, what: &str) {
    let (result, dir) = run(&tenant(api, &config()));
    result.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource"),
        "{what}"
    );
}

#[test]
fn every_third_request_failing_with_cycling_statuses_still_gives_the_truth() {
    let api = api();
    api.inject(fault(
        Which::Every(3),
        FaultKind::Cycle(vec![429, 500, 502, 503, 504]),
    ));
    assert_truth(&api, "cycling statuses");
    let statuses: Vec<u16> = api
        .log()
        .iter()
        .map(|l| l.status)
        .filter(|s| *s != 200)
        .collect();
    assert_eq!(
        &statuses[..5],
        &[429, 500, 502, 503, 504],
        "each status was served"
    );
    assert_eq!(
        api.log().len(),
        13 + statuses.len(),
        "one retry per failure"
    );
}

#[test]
fn a_burst_just_under_the_retry_limit_is_absorbed() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(3),
        },
        FaultKind::Status {
            code: 503,
            retry_after: None,
        },
    ));
    assert_truth(&api, "burst of 3 with 4 attempts");
    assert_eq!(
        &offsets(&api)[..6],
        &["0", "100", "200", "200", "200", "200"]
    );
}

#[test]
fn a_burst_just_over_the_retry_limit_halts_with_nothing_after() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(4),
        },
        FaultKind::Status {
            code: 503,
            retry_after: None,
        },
    ));
    let (result, dir) = run(&tenant(&api, &config()));
    let failure = result.expect_err("4 failures exhaust 4 attempts");
    assert!(
        failure
            .to_string()
            .contains("failed after 4 attempts (status 503)"),
        "{failure}"
    );
    assert_eq!(
        offsets(&api),
        vec!["0", "100", "200", "200", "200", "200"],
        "no request after the halt"
    );
    assert_eq!(rows(dir.path(), "resource_name").len(), 200);
    let cp = failure.summary.last_checkpoint.unwrap();
    assert!(
        cp.contains(r#""position":{"at":"offset","value":200}"#),
        "{cp}"
    );
}

#[test]
fn truncated_json_halts_without_retrying() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(1),
        },
        FaultKind::TruncatedJson,
    ));
    let (result, _dir) = run(&tenant(&api, &config()));
    let failure = result.expect_err("a body that is not JSON is not retried (dlt)");
    let RunError::Connector(ConnectorError::BadResponse(bad)) = &failure.error else {
        panic!("{failure:?}")
    };
    assert!(
        bad.message.starts_with("body is not JSON"),
        "{}",
        bad.message
    );
    assert_eq!(
        offsets(&api),
        vec!["0", "100", "200"],
        "nothing after the bad page"
    );
}

#[test]
fn a_body_shorter_than_its_content_length_is_retried() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(1),
        },
        FaultKind::ShortBody,
    ));
    assert_truth(&api, "short body");
    assert_eq!(&offsets(&api)[..4], &["0", "100", "200", "200"]);
}

#[test]
fn a_response_slower_than_the_timeout_is_retried() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(1),
        },
        FaultKind::Slow(1500),
    ));
    assert_truth(&api, "slow response");
    assert_eq!(&offsets(&api)[..4], &["0", "100", "200", "200"]);
}

#[test]
fn a_broken_connection_is_retried() {
    let api = api();
    api.inject(fault(
        Which::Range {
            from: 2,
            count: Some(2),
        },
        FaultKind::Broken,
    ));
    assert_truth(&api, "broken responses");
    assert_eq!(&offsets(&api)[..5], &["0", "100", "200", "200", "200"]);
}
