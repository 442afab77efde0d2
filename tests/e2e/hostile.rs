//! Hostile connectors (`host-test/tests/hostile`, built here) are each stopped with the right error while a
//! well-behaved tenant runs at the same time in the same host and ends with exactly its rows.

use crate::support::*;
use host_test::Limits;
use host_test::Refusal;
use host_test::SecretStore;
use host_test::{EgressPolicy, Origin};
use host_test::{Plugin, RunError, RunFailure, Tenant};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use testkit::demo_api::DemoApi;

/// The hostile connector, built once and loaded into the same runtime as the real one.
fn hostile() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        runtime()
            .load(hostile_wasm())
            .expect("the hostile connector loads")
    })
}

/// A tenant of the hostile connector: `config` says how it misbehaves; it may reach only
/// `http://api.tenant.test:<port of api>`, which is pinned to 127.0.0.1.
fn bad_tenant(api: &DemoApi, config: Value) -> Tenant {
    let port = Origin::of_url(&api.url()).unwrap().port;
    let egress = EgressPolicy {
        allowed: vec![Origin::of_url(&format!("http://api.tenant.test:{port}")).unwrap()],
        resolve: vec![("api.tenant.test".into(), [127, 0, 0, 1].into())],
        ..EgressPolicy::default()
    };
    Tenant {
        name: "mallory".into(),
        config: config.to_string(),
        secrets: SecretStore::from_pairs([("mine", "mallory-own-value")]),
        egress,
        limits: Limits::default(),
    }
}

/// Run `bad` (hostile) and a good tenant of the real connector at once against `api`; the good one must end
/// with exactly the API's rows. The hostile run's failure, and the rows it stored.
fn beside_a_good_tenant(api: &DemoApi, bad: &Tenant) -> (RunFailure, Vec<Value>) {
    let good = tenant(api, &seed_config("000"));
    let (bad_result, good_result) = std::thread::scope(|s| {
        let bad = s.spawn(|| {
            let dir = tempfile::tempdir().unwrap();
            let dest = &mut host_test::JsonlDir::new(dir.path());
            let result = hostile().run(bad, dest);
            let file = host_test::JsonlDir::file_for(dir.path(), "hostile");
            let stored = std::fs::read_to_string(file).unwrap_or_default();
            let rows: Vec<Value> = stored
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            (result, rows)
        });
        let good = s.spawn(|| run(&good));
        (bad.join().unwrap(), good.join().unwrap())
    });
    let (good_result, dir) = good_result;
    let summary = good_result.unwrap_or_else(|e| panic!("the good tenant fails: {e}"));
    assert_eq!(summary.rows, vec![("resource_name".to_string(), 1234)]);
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let (bad_result, bad_rows) = bad_result;
    let failure = bad_result.expect_err("the hostile tenant is stopped");
    (failure, bad_rows)
}

#[test]
fn allocating_without_end_hits_the_memory_cap() {
    let api = api();
    let mut bad = bad_tenant(&api, json!({"behaviour": "alloc"}));
    bad.limits.memory_bytes = 64 << 20;
    let (failure, _) = beside_a_good_tenant(&api, &bad);
    let RunError::Trap(message) = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert!(
        message.contains("memory allocation of 1048576 bytes failed"),
        "{message}"
    );
}

/// A hostile tenant with `behaviour`, a 300 ms budget and 200 ms grace, is stopped as `Interrupted`.
fn assert_interrupted(behaviour: &str) {
    let api = api();
    let mut bad = bad_tenant(&api, json!({"behaviour": behaviour}));
    bad.limits.time_budget = Some(Duration::from_millis(300));
    bad.limits.grace = Duration::from_millis(200);
    let (failure, _) = beside_a_good_tenant(&api, &bad);
    assert!(
        matches!(failure.error, RunError::Interrupted { .. }),
        "{behaviour}: {:?}",
        failure.error
    );
}

#[test]
fn looping_forever_is_interrupted_at_the_deadline() {
    assert_interrupted("spin");
}

/// The epoch cannot reach a guest waiting in a host call; the host abandons the call at the deadline.
#[test]
fn sleeping_inside_a_host_call_is_abandoned_at_the_deadline() {
    assert_interrupted("sleep");
}

#[test]
fn a_host_it_is_not_allowed_is_refused_and_ends_the_run() {
    let api = api();
    let bad = bad_tenant(
        &api,
        json!({"behaviour": "fetch", "url": "http://evil.example.net/steal"}),
    );
    let (failure, stored) = beside_a_good_tenant(&api, &bad);
    let RunError::Refused { refusal, .. } = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert_eq!(
        *refusal,
        Refusal::Egress {
            origin: "http://evil.example.net:80".into(),
            reason: "the config does not name this origin".into()
        }
    );
    assert!(stored.is_empty(), "the page after a refusal is not stored");
    let egress = &failure.summary.egress;
    assert_eq!(egress.len(), 3, "it kept asking: {egress:?}");
    assert!(egress.iter().all(|e| !e.allowed && e.tenant == "mallory"));
}

#[test]
fn a_private_address_behind_an_allowed_name_is_refused_after_resolution() {
    let api = api();
    let port = Origin::of_url(&api.url()).unwrap().port;
    let url = format!("http://api.tenant.test:{port}/v1/resource");
    let bad = bad_tenant(&api, json!({"behaviour": "fetch", "url": url}));
    let (failure, _) = beside_a_good_tenant(&api, &bad);
    let RunError::Refused { refusal, .. } = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert_eq!(
        *refusal,
        Refusal::Egress {
            origin: format!("http://api.tenant.test:{port}"),
            reason: "it resolves to an internal address (127.0.0.1)".into()
        }
    );
    let reached = |api: &DemoApi| {
        api.log().iter().any(|l| {
            l.header("host")
                .is_some_and(|h| h.starts_with("api.tenant.test"))
        })
    };
    assert!(!reached(&api), "nothing reached the API under that name");

    // The same tenant with loopback allowed explicitly gets through: the resolved address was the reason.
    let mut allowed = bad.clone();
    allowed.egress.internal_networks = vec!["127.0.0.0/8".parse().unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let summary = hostile()
        .run(&allowed, &mut host_test::JsonlDir::new(dir.path()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary.rows, vec![("hostile".to_string(), 1)]);
    assert!(reached(&api));
}

#[test]
fn asking_for_a_secret_it_was_not_given_ends_the_run_and_reveals_nothing() {
    let api = api();
    let good_key = SecretStore::from_json(&api.spec().secrets_json())
        .unwrap()
        .get("api_key")
        .unwrap()
        .to_string();
    let bad = bad_tenant(&api, json!({"behaviour": "secret", "name": "api_key"}));
    let (failure, stored) = beside_a_good_tenant(&api, &bad);
    let RunError::Refused { refusal, .. } = &failure.error else {
        panic!("{:?}", failure.error)
    };
    assert_eq!(
        *refusal,
        Refusal::Secret {
            name: "api_key".into()
        }
    );
    assert!(stored.is_empty(), "the page after a refusal is not stored");
    let everything = format!("{failure} {:?}", failure.summary);
    assert!(!everything.contains(&good_key), "{everything}");
}

#[test]
fn gigabytes_to_stderr_stop_at_the_output_cap() {
    let api = api();
    let bad = bad_tenant(&api, json!({"behaviour": "stderr", "gib": 4}));
    let (failure, _) = beside_a_good_tenant(&api, &bad);
    assert!(
        matches!(&failure.error, RunError::OutputLimit { stream, limit } if stream == "stderr" && *limit == 1 << 20),
        "{:?}",
        failure.error
    );
    let captured: usize = failure
        .summary
        .logs
        .iter()
        .filter(|l| l.level == "stderr")
        .map(|l| l.message.len())
        .sum();
    assert!(captured <= 1 << 20, "captured {captured} bytes");
}

#[test]
fn a_gigantic_page_is_refused_before_it_is_stored() {
    let api = api();
    let bad = bad_tenant(&api, json!({"behaviour": "page", "bytes": 100 << 20}));
    let (failure, stored) = beside_a_good_tenant(&api, &bad);
    assert!(
        matches!(&failure.error, RunError::PageTooLarge { bytes, limit, .. } if *bytes == 100 << 20 && *limit == 64 << 20),
        "{:?}",
        failure.error
    );
    assert!(stored.is_empty());
}
