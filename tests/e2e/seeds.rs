//! The five seed configs, as written, through the real component in the real host against the fixture API.

use crate::support::*;
use serde_json::json;
use testkit::demo_api::Logged;

fn data_requests(log: &[Logged], path: &str) -> Vec<Logged> {
    log.iter().filter(|l| l.path == path).cloned().collect()
}

/// Every api_key + offset seed: exact rows, and the requests dlt would send.
#[test]
fn api_key_offset_seeds_reproduce_the_api() {
    for id in ["000", "002", "004"] {
        let api = api();
        let (result, dir) = run(&tenant(&api, &seed_config(id)));
        let summary = result.unwrap_or_else(|e| panic!("seed {id}: {e}"));
        assert_eq!(
            summary.rows,
            vec![("resource_name".to_string(), 1234)],
            "seed {id}"
        );
        assert_eq!(
            rows(dir.path(), "resource_name"),
            api.rows("resource"),
            "seed {id}"
        );
        let requests = data_requests(&api.log(), "/v1/resource");
        let offsets: Vec<String> = (0..=12).map(|i| (i * 100).to_string()).collect();
        assert_eq!(
            requests.len(),
            13,
            "seed {id}: 12 full pages and a partial one"
        );
        for (req, offset) in requests.iter().zip(&offsets) {
            let query: Vec<(&str, &str)> = req
                .query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                query,
                vec![
                    ("offset", offset.as_str()),
                    ("limit", "100"),
                    ("api_key", "demo-api-key")
                ]
            );
            assert_eq!(req.method, "GET");
            assert_eq!(
                req.header("host"),
                Some("api.example.com"),
                "the config's host, as written"
            );
            assert_eq!(req.header("authorization"), None);
        }
        assert_eq!(api.log().len(), 13, "seed {id}: nothing but the pages");
    }
}

/// Seed 001 (which dlt rejects): `type: oauth2` + `token_url`, cursor paginator with `limit`.
#[test]
fn oauth2_cursor_seed_001_reproduces_the_api() {
    let api = api();
    let (result, dir) = run(&tenant(&api, &seed_config("001")));
    let summary = result.unwrap_or_else(|e| panic!("seed 001: {e}"));
    assert_eq!(summary.rows, vec![("resource_name".to_string(), 1234)]);
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let log = api.log();
    let tokens = data_requests(&log, "/oauth/v1/token");
    assert_eq!(tokens.len(), 1, "one token request, reused for every page");
    assert_eq!(log[0].path, "/oauth/v1/token", "the token comes first");
    let token = &tokens[0];
    assert_eq!(token.method, "POST");
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        token.body,
        "grant_type=client_credentials&client_id=demo-client&client_secret=demo-client-secret"
    );
    let pages = data_requests(&log, "/v1/resource");
    assert_eq!(pages.len(), 13);
    for (i, req) in pages.iter().enumerate() {
        let query: Vec<(&str, &str)> = req
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let after = format!("c{}", i * 100);
        let want = if i == 0 {
            vec![("limit", "100")]
        } else {
            vec![("limit", "100"), ("after", after.as_str())]
        };
        assert_eq!(query, want, "page {i}");
        assert_eq!(
            req.header("authorization"),
            Some("Bearer demo-token-1"),
            "page {i}"
        );
    }
}

/// Seed 003: two resources, run in order, with different counts.
#[test]
fn two_resource_seed_003_reproduces_both() {
    let api = api();
    let (result, dir) = run(&tenant(&api, &seed_config("003")));
    let summary = result.unwrap_or_else(|e| panic!("seed 003: {e}"));
    assert_eq!(
        summary.rows,
        vec![
            ("customer_usage".to_string(), 1050),
            ("wallets".to_string(), 317)
        ]
    );
    assert_eq!(
        rows(dir.path(), "customer_usage"),
        api.rows("customer_usage")
    );
    assert_eq!(rows(dir.path(), "wallets"), api.rows("wallets"));
    let log = api.log();
    let paths: Vec<&str> = log.iter().map(|l| l.path.as_str()).collect();
    let first_wallets = paths.iter().position(|p| *p == "/v1/wallets").unwrap();
    assert!(
        paths[..first_wallets]
            .iter()
            .all(|p| *p == "/v1/customer_usage"),
        "resources run in order"
    );
    assert_eq!(paths.len(), 11 + 4);
}

/// Every page comes with a checkpoint; the last one says the last resource is done and holds no secret.
#[test]
fn checkpoints_name_the_position_and_hold_no_secret() {
    for (id, secrets) in [
        ("000", ["demo-api-key"].as_slice()),
        ("001", &["demo-client-secret", "demo-token-1"]),
    ] {
        let api = api();
        let mut session = plugin()
            .configure(&tenant(&api, &seed_config(id)), None)
            .unwrap();
        let mut checkpoints = Vec::new();
        while let Some(page) = session.next_page().unwrap() {
            checkpoints.push(page.checkpoint);
        }
        assert_eq!(checkpoints.len(), 13, "seed {id}: one checkpoint per page");
        let first: serde_json::Value = serde_json::from_str(&checkpoints[0]).unwrap();
        let want = if id == "000" {
            json!({"at": "offset", "value": 100})
        } else {
            json!({"at": "cursor", "value": "c100"})
        };
        assert_eq!(
            first["frames"][0]["position"], want,
            "seed {id}: the next request after page 1"
        );
        let last: serde_json::Value = serde_json::from_str(checkpoints.last().unwrap()).unwrap();
        assert_eq!(
            (
                &last["frames"][0]["resource"],
                &last["frames"][0]["position"]["at"]
            ),
            (&json!("resource_name"), &json!("done"))
        );
        let requests = api.log();
        for secret in secrets {
            assert!(
                requests.iter().any(|r| format!("{r:?}").contains(secret)),
                "seed {id} sends {secret}"
            );
            assert!(
                checkpoints.iter().all(|c| !c.contains(secret)),
                "seed {id}: a checkpoint holds {secret}"
            );
        }
    }
}

/// A fresh instance given the checkpoint of page 3 fetches exactly the rest, for offset and cursor seeds.
#[test]
fn resuming_from_a_page_checkpoint_fetches_exactly_the_rest() {
    for id in ["000", "001"] {
        let api = api();
        let tenant = tenant(&api, &seed_config(id));
        let mut session = plugin().configure(&tenant, None).unwrap();
        let mut first = Vec::new();
        let mut checkpoint = String::new();
        for _ in 0..3 {
            let page = session.next_page().unwrap().expect("a page");
            first.extend_from_slice(&page.records);
            checkpoint = page.checkpoint;
        }
        drop(session);
        let before = api.log().len();
        let (result, dir) = run_from(&tenant, &checkpoint);
        result.unwrap_or_else(|e| panic!("seed {id}: {e}"));
        let mut all: Vec<serde_json::Value> = String::from_utf8(first)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        all.extend(rows(dir.path(), "resource_name"));
        assert_eq!(
            all,
            api.rows("resource"),
            "seed {id}: no row lost, none twice"
        );
        let resumed: Vec<_> = api.log()[before..]
            .iter()
            .filter(|l| l.path == "/v1/resource")
            .cloned()
            .collect();
        let page_of = |l: &testkit::demo_api::Logged| {
            let key = if id == "000" { "offset" } else { "after" };
            l.param(key).map(str::to_string)
        };
        // The first session may have sent page 4's request ahead before it was dropped, and the API may log it
        // after `before` was read: pages are counted, not requests.
        let pages: std::collections::BTreeSet<Option<String>> =
            resumed.iter().map(page_of).collect();
        assert_eq!(pages.len(), 10, "seed {id}: pages 4 to 13 only");
        assert!(resumed.len() <= 11, "seed {id}: at most page 4 twice");
        let next = page_of(&resumed[0]);
        assert_eq!(
            next.as_deref(),
            Some(if id == "000" { "300" } else { "c300" }),
            "seed {id}"
        );
    }
}

/// A checkpoint made with another config is refused, never silently restarted.
#[test]
fn a_checkpoint_from_another_config_is_refused() {
    let api = api();
    let mut session = plugin()
        .configure(&tenant(&api, &seed_config("000")), None)
        .unwrap();
    let checkpoint = session.next_page().unwrap().unwrap().checkpoint;
    let other = tenant(
        &api,
        &seed_config("002").replace("\"limit\": 100", "\"limit\": 50"),
    );
    let error = plugin()
        .configure(&other, Some(&checkpoint))
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(
        error,
        "invalid config: checkpoint: was made with a different config; delete it to start over"
    );
}
