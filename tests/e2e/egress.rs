//! Credentials stay with the config's origins: the host refuses other origins, the engine strips credentials.

use crate::support::*;
use host_test::Refusal;
use host_test::RunError;
use serde_json::{Value, json};
use testkit::demo_api::{DemoApi, DemoSpec};

/// Seed 001 paging by its `paging.next.link` instead of the cursor.
fn link_config() -> String {
    let mut config: Value = serde_json::from_str(&seed_config("001")).unwrap();
    config["resources"][0]["endpoint"]["paginator"] =
        json!({"type": "json_link", "next_url_path": "paging.next.link"});
    config.to_string()
}

#[test]
fn a_next_link_to_another_origin_is_refused_by_the_host() {
    let spec = DemoSpec {
        link_origin: Some("https://other.example.net".into()),
        ..DemoSpec::default()
    };
    let api = DemoApi::start(spec, 0).unwrap();
    let (result, dir) = run(&tenant(&api, &link_config()));
    let failure = result.expect_err("the run stops at the refusal");
    let decisions: Vec<(String, bool)> = failure
        .summary
        .egress
        .iter()
        .map(|e| (e.origin.clone(), e.allowed))
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("https://api.example.com:443".to_string(), true),
            ("https://api.example.com:443".to_string(), true),
            ("https://other.example.net:443".to_string(), false),
        ],
        "token, first page, then the refused link"
    );
    assert_eq!(
        failure.summary.rows,
        vec![("resource_name".to_string(), 100)]
    );
    assert_eq!(
        failure.summary.egress[2].reason.as_deref(),
        Some("the config does not name this origin")
    );
    let RunError::Refused { refusal, connector } = failure.error else {
        panic!("expected a refusal: {failure:?}")
    };
    assert_eq!(
        refusal,
        Refusal::Egress {
            origin: "https://other.example.net:443".into(),
            reason: "the config does not name this origin".into()
        }
    );
    assert_eq!(
        connector.as_deref(),
        Some(
            "resource `resource_name`: request to https://other.example.net/v1/resource?after=c100&limit=100 \
             failed after 1 attempt (no response): the host's egress policy denied the request"
        ),
        "a refusal is not retried"
    );
    assert_eq!(
        rows(dir.path(), "resource_name"),
        api.rows("resource")[..100].to_vec()
    );
    let paths: Vec<String> = api.log().iter().map(|l| l.path.clone()).collect();
    assert_eq!(
        paths,
        vec!["/oauth/v1/token", "/v1/resource"],
        "nothing reached the other origin"
    );
}

#[test]
fn relative_next_links_keep_paging_on_the_same_origin() {
    let api = api();
    let (_, dir) = run_ok(&tenant(&api, &link_config()));
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let pages: Vec<_> = api
        .log()
        .into_iter()
        .filter(|l| l.path == "/v1/resource")
        .collect();
    assert_eq!(pages.len(), 13);
    assert!(
        pages
            .iter()
            .all(|p| p.header("authorization") == Some("Bearer demo-token-1"))
    );
    assert_eq!(
        pages[1].query,
        vec![
            ("after".to_string(), "c100".to_string()),
            ("limit".to_string(), "100".to_string())
        ]
    );
}
