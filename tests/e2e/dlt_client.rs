//! Black-box cases ported from dlt's `test_response_actions.py`, the auth and pagination cases of
//! `helpers/rest_client/test_client.py` and `test_paginators.py` (client pagination against the mock), run
//! through the real component in the real host against dlt's mock API.

use crate::support::*;
use serde_json::{Value, json};

fn titles(rows: &[Value]) -> Vec<Value> {
    rows.iter().map(|r| r["title"].clone()).collect()
}

fn posts_titles(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!(format!("Post {i}"))).collect()
}

fn details_with_actions(path: &str, actions: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts", {"name": "post_details", "endpoint": {
        "path": path, "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}}, "response_actions": actions}}]})
}

/// `test_ignoring_endpoint_returning_404`, `_404_others_422` (both orders), `_204`: only post 0 has details;
/// every other response is ignored and the run goes on.
#[test]
fn dlt_test_ignoring_endpoint_responses() {
    let cases = [
        (
            "posts/{post_id}/some_details_404",
            json!([{"status_code": 404, "action": "ignore"}]),
        ),
        (
            "posts/{post_id}/some_details_404_others_422",
            json!([{"status_code": 422, "action": "ignore"}, {"status_code": 404, "action": "ignore"}]),
        ),
        (
            "posts/{post_id}/some_details_404_others_422",
            json!([{"status_code": 404, "action": "ignore"}, {"status_code": 422, "action": "ignore"}]),
        ),
        (
            "posts/{post_id}/some_details_204",
            json!([{"status_code": 204, "action": "ignore"}]),
        ),
    ];
    for (path, actions) in cases {
        let out = run_dlt(details_with_actions(path, actions), &[]);
        out.result
            .as_ref()
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            out.rows["post_details"],
            vec![json!({"id": 0, "body": "Post body 0"})],
            "{path}"
        );
        assert_eq!(titles(&out.rows["posts"]), posts_titles(25), "{path}");
        let detail_calls = out
            .log
            .iter()
            .filter(|l| l.path.contains("some_details"))
            .count();
        assert_eq!(
            detail_calls, 25,
            "{path}: one request per post, none retried"
        );
    }
}

/// `test_response_action_ignore_on_content`: a 200 whose body contains the text is ignored.
#[test]
fn dlt_test_response_action_ignore_on_content() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "post_details", "endpoint": {
        "path": "posts/0/some_details_404", "response_actions": [{"content": "Post body 0", "action": "ignore"}]}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    assert_eq!(out.rows["post_details"], Vec::<Value>::new());
}

/// `test_empty_response_actions_raise_on_404_by_default`, `test_non_empty_response_actions_raise_on_error_by_default`.
#[test]
fn dlt_test_response_actions_raise_by_default() {
    let out = run_dlt(
        details_with_actions("posts/{post_id}/some_details_404", json!([])),
        &[],
    );
    assert!(
        out.result
            .unwrap_err()
            .to_string()
            .contains("404 Client Error")
    );
    let out = run_dlt(
        details_with_actions(
            "posts/{post_id}/some_details_404_others_422",
            json!([{"status_code": 404, "action": "ignore"}]),
        ),
        &[],
    );
    assert!(
        out.result
            .unwrap_err()
            .to_string()
            .contains("422 Client Error")
    );
}

fn protected(path: &str, auth: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com", "auth": auth}, "resources": [{"name": "posts", "endpoint": path}]})
}

/// `test_client.py` auth cases: basic, bearer, api key in a header, OAuth2 client credentials; the
/// credentials come from the tenant's secrets.
#[test]
fn dlt_test_auth_kinds() {
    let cases = [
        (
            "/protected/posts/basic-auth",
            json!({"type": "http_basic", "username": {"secret": "u"}, "password": {"secret": "p"}}),
        ),
        (
            "/protected/posts/bearer-token",
            json!({"type": "bearer", "token": {"secret": "t"}}),
        ),
        (
            "/protected/posts/bearer-token",
            json!({"token": {"secret": "t"}}),
        ),
        (
            "/protected/posts/api-key",
            json!({"type": "api_key", "name": "x-api-key", "api_key": {"secret": "k"}, "location": "header"}),
        ),
        (
            "/protected/posts/bearer-token",
            json!({"type": "oauth2_client_credentials", "access_token_url": "https://api.example.com/oauth/token",
            "client_id": {"secret": "id"}, "client_secret": {"secret": "cs"}}),
        ),
    ];
    let secrets = [
        ("u", "user"),
        ("p", "password"),
        ("t", "test-token"),
        ("k", "test-api-key"),
        ("id", "test-client-id"),
        ("cs", "test-client-secret"),
    ];
    for (path, auth) in cases {
        let out = run_dlt(protected(path, auth.clone()), &secrets);
        out.result
            .as_ref()
            .unwrap_or_else(|e| panic!("{auth}: {e}"));
        assert_eq!(titles(&out.rows["posts"]), posts_titles(25), "{auth}");
    }
}

/// `test_oauth2_client_credentials_flow_*`: a wrong secret fails at the token endpoint; `expires_in: 0`
/// fetches a new token for every request.
#[test]
fn dlt_test_oauth2_token_flow() {
    let auth = |url: &str| {
        json!({"type": "oauth2_client_credentials", "access_token_url": url,
        "client_id": {"secret": "id"}, "client_secret": {"secret": "cs"}})
    };
    let out = run_dlt(
        protected(
            "/protected/posts/bearer-token",
            auth("https://api.example.com/oauth/token"),
        ),
        &[("id", "test-client-id"), ("cs", "nope")],
    );
    let error = out.result.unwrap_err().to_string();
    assert!(
        error.starts_with("auth failed for resource `posts (oauth2 token)`"),
        "{error}"
    );
    assert!(!error.contains("nope"));
    let out = run_dlt(
        protected(
            "/protected/posts/bearer-token",
            auth("https://api.example.com/oauth/token-expires-now"),
        ),
        &[("id", "test-client-id"), ("cs", "test-client-secret")],
    );
    out.ok();
    let tokens = out
        .log
        .iter()
        .filter(|l| l.path.starts_with("/oauth"))
        .count();
    let pages = out
        .log
        .iter()
        .filter(|l| l.path.starts_with("/protected"))
        .count();
    assert_eq!(
        (tokens, pages),
        (5, 5),
        "a new token for each of the 5 pages"
    );
}

/// `test_paginators.py` client pagination cases: every paginator type walks dlt's mock to 25 posts.
#[test]
fn dlt_test_client_pagination() {
    let cases = [
        ("posts", Value::Null, "auto-detected json_link"),
        (
            "posts",
            json!({"type": "json_link", "next_url_path": "next_page"}),
            "json_link",
        ),
        (
            "posts_relative_next_url",
            json!({"type": "json_link", "next_url_path": "next_page"}),
            "relative next url",
        ),
        ("posts_header_link", json!("header_link"), "header_link"),
        (
            "posts_header_cursor",
            json!({"type": "header_cursor", "cursor_key": "cursor", "cursor_param": "page"}),
            "header_cursor",
        ),
        (
            "posts_offset_limit",
            json!({"type": "offset", "limit": 5, "total_path": "total_records"}),
            "offset",
        ),
        (
            "posts_cursor",
            json!({"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}),
            "cursor",
        ),
        (
            "posts_zero_based",
            json!({"type": "page_number", "base_page": 0, "total_path": "total_pages"}),
            "page_number zero based",
        ),
        (
            "posts",
            json!({"type": "page_number", "base_page": 1, "total_path": "total_pages"}),
            "page_number",
        ),
        (
            "posts",
            json!({"type": "page_number", "base_page": 1, "total_path": null, "maximum_page": 6}),
            "page_number maximum_page",
        ),
    ];
    for (path, paginator, id) in cases {
        let mut endpoint = json!({"path": path});
        if !paginator.is_null() {
            endpoint["paginator"] = paginator;
        }
        let out = run_dlt(
            json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": endpoint}]}),
            &[],
        );
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(titles(&out.rows["posts"]), posts_titles(25), "{id}");
        assert_eq!(out.log.len(), 5, "{id}: five pages of five");
    }
}

/// `test_paginators.py::test_offset_paginator_via_json_body`: offset and limit in a POST body.
#[test]
fn dlt_test_offset_paginator_in_json_body() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {
        "path": "posts_offset_limit_via_json_body", "method": "POST",
        "paginator": {"type": "offset", "limit": 5, "offset_body_path": "offset", "limit_body_path": "limit", "total_path": "total_records"}}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    assert_eq!(titles(&out.rows["posts"]), posts_titles(25));
    let bodies: Vec<Value> = out
        .log
        .iter()
        .map(|l| serde_json::from_str(&l.body).unwrap())
        .collect();
    assert_eq!(bodies[1], json!({"offset": 5, "limit": 5}));
}

/// `test_client.py::test_paginate_cursor_null_terminated` (dlt #2932): a final `null` page is an empty page.
#[test]
fn dlt_test_cursor_null_terminated() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "users", "endpoint": {
        "path": "posts_cursor_null_terminated", "data_selector": "users",
        "paginator": {"type": "cursor", "cursor_path": "next_token", "cursor_param": "cursor"}}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    assert_eq!(out.rows["users"].len(), 14);
    assert_eq!(out.log.len(), 3);
}

/// Issue requirement: an invalid config sends no request at all (asserted on the fixture's log).
#[test]
fn invalid_configs_send_zero_requests() {
    let configs = [
        json!({"client": {"base_url": "https://api.example.com", "timeout": 5}, "resources": ["posts"]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts", {"name": "c", "endpoint": "posts/{resources.nope.id}"}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {"paginator": {"type": "offset"}}}]}),
        json!({"client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": {"secret": "missing"}}}, "resources": ["posts"]}),
    ];
    for config in configs {
        let out = run_dlt(config.clone(), &[]);
        let error = out.result.unwrap_err().to_string();
        // A missing secret is also a refusal by the host, which comes first in the message.
        assert!(error.contains("invalid config: "), "{config}: {error}");
        assert!(out.log.is_empty(), "{config}: sent {:?}", out.log);
    }
}
