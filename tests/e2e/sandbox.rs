//! The sandbox around one tenant's run: a guest that computes past its deadline is interrupted, a request
//! still in flight at the deadline is cut off, a memory limit holds, a request allowance holds, and a tenant
//! stopped by any of these leaves a checkpoint to resume from and does not disturb another tenant.

use crate::support::*;
use host_test::Refusal;
use host_test::RunError;
use serde_json::{Value, json};
use std::time::Duration;
use testkit::demo_api::{Fault, FaultKind, Which};

/// Seed 000 (pages of 100) with a request timeout far beyond the tests' deadlines.
fn config() -> String {
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    config["resources"][0]["endpoint"]["error_handler"] =
        json!({"max_retries": 3, "backoff_factor": 0.01, "timeout": 30});
    config.to_string()
}

/// Seed 000 with a query parameter of `mb` megabytes: a config that keeps `configure` busy (16 MB: well
/// over half a second) and needs more memory than a small limit.
fn huge_config(mb: usize) -> String {
    let mut config: Value = serde_json::from_str(&config()).unwrap();
    config["resources"][0]["endpoint"]["params"]["pad"] = json!("x".repeat(mb << 20));
    config.to_string()
}

fn is_budget_stop(error: &RunError) -> bool {
    matches!(
        error,
        RunError::Interrupted { .. } | RunError::TimeBudget { .. }
    )
}

/// Without the cut-off the slow page would arrive after 3 s and be stored (two pages); with it, the run
/// stops on the time budget holding only the first page, and a resume from its checkpoint gives the truth.
#[test]
fn a_request_in_flight_at_the_deadline_is_cut_off_and_the_run_resumes() {
    let api = api();
    api.inject(Fault {
        path: "/v1/resource".into(),
        which: Which::Range {
            from: 1,
            count: Some(1),
        },
        kind: FaultKind::Slow(3000),
    });
    let mut tenant = tenant(&api, &config());
    tenant.limits.time_budget = Some(Duration::from_millis(200));
    tenant.limits.grace = Duration::from_millis(100);
    let (result, dir) = run(&tenant);
    let failure = result.expect_err("the slow page outlasts budget and grace");
    assert!(is_budget_stop(&failure.error), "{:?}", failure.error);
    assert_eq!(failure.summary.pages, 1);
    assert_eq!(rows(dir.path(), "resource_name").len(), 100);

    let mut resumed = tenant.clone();
    resumed.limits = host_test::Limits::default();
    let checkpoint = failure
        .summary
        .last_checkpoint
        .clone()
        .expect("a page was stored");
    let (result, dir) = run_from(&resumed, &checkpoint);
    result.expect("the resumed run finishes");
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource")[100..].to_vec(),
        "the resume starts after the stored page"
    );
}

/// Guest code past the hard deadline traps with `Interrupted`, here in `configure` before any request.
#[test]
fn a_guest_busy_past_its_deadline_is_interrupted() {
    let api = api();
    let mut tenant = tenant(&api, &huge_config(15));
    tenant.limits.time_budget = Some(Duration::from_millis(1));
    tenant.limits.grace = Duration::ZERO;
    let (result, _dir) = run(&tenant);
    let failure = result.expect_err("configuring a 15 MB config takes far longer than two ticks");
    assert!(
        matches!(failure.error, RunError::Interrupted { .. }),
        "{:?}",
        failure.error
    );
    assert!(
        failure.to_string().contains("interrupted mid-page"),
        "{failure}"
    );
    assert!(api.log().is_empty(), "nothing was sent");
}

/// A guest that needs more memory than its limit traps; the host is unharmed.
#[test]
fn the_memory_limit_holds() {
    let api = api();
    let mut tenant = tenant(&api, &huge_config(64));
    tenant.limits.memory_bytes = 8 * 1024 * 1024;
    let (result, _dir) = run(&tenant);
    let failure = result.expect_err("a 64 MB config does not fit in 8 MiB");
    assert!(
        matches!(failure.error, RunError::Trap(_)),
        "{:?}",
        failure.error
    );
    assert!(api.log().is_empty(), "nothing was sent");
}

/// The summary reports the guest's memory high-water mark, in wasm pages, and it follows what the guest needed.
#[test]
fn the_guest_memory_high_water_mark_is_reported() {
    let api = api();
    let (plain, _a) = run(&tenant(&api, &config()));
    let plain = plain.expect("the run succeeds").guest_memory_peak;
    // The padded request line is refused before it is sent; the summary still holds the guest's peak.
    let (padded, _b) = run(&tenant(&api, &huge_config(4)));
    let padded = padded.map_or_else(|f| f.summary.guest_memory_peak, |s| s.guest_memory_peak);
    eprintln!("guest memory peak: {plain} bytes; with a 4 MB config: {padded} bytes");
    assert!(plain > 0 && plain % 65536 == 0, "{plain}");
    assert!(
        plain < 8 << 20,
        "pages of 100 rows fit in a few MiB: {plain}"
    );
    assert!(padded >= plain + (4 << 20), "{padded} vs {plain}");
}

/// The request allowance is enforced by the host: the third request is denied and never reaches the API.
#[test]
fn the_request_allowance_holds() {
    let api = api();
    let mut tenant = tenant(&api, &config());
    tenant.limits.max_requests = Some(2);
    let (result, dir) = run(&tenant);
    let failure = result.expect_err("13 pages need 13 requests");
    let RunError::Refused { refusal, connector } = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert_eq!(*refusal, Refusal::Requests { max: 2 });
    assert!(
        connector.as_deref().is_some_and(|c| c.contains("denied")),
        "{connector:?}"
    );
    assert_eq!(api.log().len(), 2);
    assert_eq!(rows(dir.path(), "resource_name").len(), 200);
    assert!(
        failure.summary.egress.iter().any(|e| !e.allowed),
        "{:?}",
        failure.summary.egress
    );
}

/// A tenant stopped by its limits runs beside a good one, which gets every row.
#[test]
fn a_stopped_tenant_does_not_disturb_a_good_one() {
    let api = api();
    let mut bad = tenant(&api, &huge_config(64));
    bad.name = "bad".into();
    bad.limits.time_budget = Some(Duration::from_millis(1));
    bad.limits.grace = Duration::ZERO;
    let good = tenant(&api, &config());
    let (bad_result, good_result) = std::thread::scope(|s| {
        let bad = s.spawn(|| run(&bad));
        let good = s.spawn(|| run(&good));
        (bad.join().unwrap(), good.join().unwrap())
    });
    assert!(is_budget_stop(&bad_result.0.unwrap_err().error));
    let (result, dir) = good_result;
    result.expect("the good tenant finishes");
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
}

/// Response bytes are counted by the host across all of a run's requests: past the allowance the body fails,
/// the run ends with the refusal, and only whole pages were stored.
#[test]
fn the_response_bytes_allowance_holds() {
    let api = api();
    let mut tenant = tenant(&api, &config());
    tenant.limits.response_bytes = Some(30_000);
    let (result, dir) = run(&tenant);
    let failure = result.expect_err("1234 rows are more than 30 kB");
    let RunError::Refused { refusal, .. } = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert_eq!(*refusal, Refusal::ResponseBytes { limit: 30_000 });
    let stored = rows(dir.path(), "resource_name");
    assert!(
        stored.len() < 1234 && stored.len().is_multiple_of(100),
        "{}",
        stored.len()
    );
    assert_eq!(stored, api.rows("resource")[..stored.len()].to_vec());
}
