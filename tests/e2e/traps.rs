//! dlt's known traps, fixed by opt-in keys, against the demo API's trap routes: an initial cursor, a `null`
//! total, OAuth2 `client_secret_basic`, and JSON Lines bodies. Each test runs the config without the key too,
//! and shows dlt's behaviour: rows lost, or the run failing.

use crate::support::*;
use serde_json::{Value, json};

/// Seed 000's config (API key in the query) with one resource on `path` paged by `paginator`.
fn config_for(path: &str, endpoint_extra: Value) -> Value {
    let mut config: Value = serde_json::from_str(&seed_config("000")).unwrap();
    let endpoint = &mut config["resources"][0]["endpoint"];
    endpoint["path"] = json!(path);
    for (k, v) in endpoint_extra.as_object().unwrap() {
        endpoint[k] = v.clone();
    }
    config
}

#[test]
fn an_initial_cursor_gets_every_page_where_none_stops_after_the_first() {
    let api = api();
    let cursor = |initial: Option<&str>| {
        let mut p = json!({"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor", "limit": 100});
        if let Some(c) = initial {
            p["initial_cursor"] = json!(c);
        }
        config_for("/v1/cursor_required/resource", json!({"paginator": p}))
    };
    let (summary, dir) = run_ok(&tenant(&api, &cursor(Some("*")).to_string()));
    assert_eq!(summary.pages, 13);
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    assert_eq!(api.log()[0].param("cursor"), Some("*"));

    let (summary, dir) = run_ok(&tenant(&api, &cursor(None).to_string()));
    assert_eq!(
        summary.pages, 1,
        "dlt's trap: the API gives no cursor without one"
    );
    assert_eq!(rows(dir.path(), "resource_name").len(), 100);
}

#[test]
fn a_null_total_falls_back_to_the_empty_page_when_asked_and_fails_otherwise() {
    let api = api();
    let offset = |fallback: bool| {
        let mut p = json!({"type": "offset", "limit": 100});
        if fallback {
            p["on_missing_total"] = json!("fallback");
        }
        config_for("/v1/nototal/resource", json!({"paginator": p}))
    };
    let (summary, dir) = run_ok(&tenant(&api, &offset(true).to_string()));
    assert_eq!(
        summary.pages, 14,
        "13 pages of rows, and the empty one that stops paging"
    );
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));

    let (result, _) = run(&tenant(&api, &offset(false).to_string()));
    let error = result.expect_err("dlt fails on a null total").to_string();
    assert!(error.contains("Total `total` not found"), "{error}");
}

#[test]
fn oauth2_client_secret_basic_sends_the_credentials_in_a_header() {
    let api = api();
    let mut config: Value = serde_json::from_str(&seed_config("001")).unwrap();
    config["client"]["auth"]["client_auth_method"] = json!("client_secret_basic");
    let (_, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));
    let token = &api.log()[0];
    assert_eq!(token.path, "/oauth/v1/token");
    assert_eq!(token.body, "grant_type=client_credentials");
    assert!(
        token
            .header("authorization")
            .is_some_and(|h| h.starts_with("Basic ")),
        "{token:?}"
    );
}

#[test]
fn a_json_lines_export_is_read_line_by_line_and_paged_by_its_link_header() {
    let api = api();
    let config = config_for(
        "/v1/export/resource",
        json!({"response_format": "jsonl", "paginator": "header_link", "data_selector": null}),
    );
    let (summary, dir) = run_ok(&tenant(&api, &config.to_string()));
    assert_eq!(summary.pages, 13);
    assert_eq!(rows(dir.path(), "resource_name"), api.rows("resource"));

    let mut as_json = config.clone();
    as_json["resources"][0]["endpoint"]["response_format"] = json!("json");
    let (result, _) = run(&tenant(&api, &as_json.to_string()));
    let error = result.expect_err("not one JSON document").to_string();
    assert!(error.contains("body is not JSON"), "{error}");
}
