//! dlt's `source_configs.py`: the valid configs parse and the invalid ones are refused.

use super::*;

/// dlt `source_configs.py::VALID_CONFIGS`: every JSON-expressible one parses (Python instances written as their
/// dict forms; the lambda `table_name` and `DltResource` entries are not expressible).
#[test]
fn dlt_valid_configs() {
    let resolve =
        |res: &str, field: &str| json!({"type": "resolve", "resource": res, "field": field});
    let configs = vec![
        json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts",
            {"name": "post_comments", "endpoint": {"path": "posts/{post_id}/comments", "params": {"post_id": resolve("posts", "id")}}}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts",
            {"name": "post_comments", "endpoint": {"path": "posts/{resources.posts.id}/comments"}}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts",
            {"name": "post_comments", "endpoint": "posts/{resources.posts.id}/comments"}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [
            {"name": "posts", "endpoint": {"path": "posts", "params": {"limit": 100}, "paginator": "json_link"}}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [
            {"name": "posts", "endpoint": {"path": "posts", "params": {"limit": 1}, "paginator": "single_page"}}]}),
        json!({"client": {"base_url": "https://example.com", "auth": {"type": "bearer", "token": "X"}}, "resources": ["users"]}),
        json!({"client": {"base_url": "https://example.com", "auth": {"token": "X"}}, "resources": ["users"]}),
        json!({"client": {"base_url": "https://example.com", "paginator": "header_link",
            "auth": {"type": "http_basic", "username": "my-secret", "password": ""}}, "resources": ["users"]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {"path": "posts",
            "params": {"limit": 100, "since": {"type": "incremental", "cursor_path": "updated_at", "initial_value": "2024-01-25T11:21:28Z"}},
            "paginator": "json_link"}}]}),
        json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {"path": "posts",
            "params": {"limit": 100}, "paginator": "json_link", "incremental": {"start_param": "since", "end_param": "until",
            "cursor_path": "updated_at", "initial_value": "2024-01-25T11:21:28Z"}}}]}),
        json!({"client": {"base_url": "https://api.example.com", "headers": {"X-Test-Header": "test42"}},
            "resources": ["users", {"name": "users_2"}, {"name": "users_list", "endpoint": "users_list"}]}),
        json!({"client": {"base_url": "https://github.com/api/v2"}, "resources": [
            {"name": "issues", "endpoint": {"path": "{org}/{repo}/issues/", "params": {"org": "dlt-hub", "repo": "dlt"}}},
            {"name": "comments", "endpoint": {"path": "{org}/{repo}/issues/{id}/comments",
                "params": {"org": "dlt-hub", "repo": "dlt", "id": resolve("issues", "id")}}}]}),
        json!({"client": {"base_url": "https://github.com/api/v2"}, "resources": [{"name": "issues", "endpoint": {"path": "user/repos",
            "auth": {"type": "http_basic", "username": "", "password": "BASIC_AUTH_TOKEN"}}}]}),
    ];
    for config in configs {
        parse(&config).unwrap_or_else(|e| panic!("{config}\n{e}"));
    }
    let issues = parse(&json!({"client": {"base_url": "https://github.com/api/v2"}, "resources": [
        {"name": "issues", "endpoint": {"path": "{org}/{repo}/issues/", "params": {"org": "dlt-hub", "repo": "dlt"}}},
        {"name": "comments", "endpoint": {"path": "{org}/{repo}/issues/{id}/comments",
            "params": {"org": "dlt-hub", "repo": "dlt", "id": resolve("issues", "id")}}}]}))
    .unwrap();
    assert_eq!(
        issues.resources[1].endpoint.url,
        "https://github.com/api/v2/dlt-hub/dlt/issues/{resources.issues.id}/comments"
    );
}

/// dlt `source_configs.py::INVALID_CONFIGS` (JSON-expressible ones): each is refused, naming what dlt names.
#[test]
fn dlt_invalid_configs() {
    let resolve = |res: &str| json!({"type": "resolve", "resource": res, "field": "id"});
    let cases = vec![
        (
            json!({"client": {"base_url": ""}}),
            "missing required field `resources`",
        ),
        (json!({"resources": []}), "missing required field `client`"),
        (
            json!({"client": {"base_url": "https://api.example.com", "auth": "api_key"}, "resources": ["posts"]}),
            "client.auth: auth `api_key` needs its fields",
        ),
        (
            json!({"client": {"base_url": "https://api.example.com", "auth": {"type": "api_key", "location": "header"}}, "resources": ["posts"]}),
            "client.auth.api_key: missing required field",
        ),
        (
            json!({"client": {"base_url": "https://api.example.com", "invalid_key": "value"}, "resources": ["posts"]}),
            "client: received unexpected field `invalid_key`",
        ),
        (
            json!({"client": {"base_url": "https://api.example.com", "paginator": "invalid_paginator"}, "resources": ["posts"]}),
            "client.paginator.type: `invalid_paginator` is not one of",
        ),
        (
            json!({"client": {"base_url": "https://github.com/api/v2"}, "resources": ["issues",
            {"name": "comments", "endpoint": {"path": "issues/{id}/comments", "params": {"id": resolve("issuess")}}}]}),
            "issuess",
        ),
        (
            json!({"client": {"base_url": "https://github.com/api/v2"}, "resources": [
            {"name": "issues", "endpoint": {"path": "{org}/{repo}/issues/"}},
            {"name": "comments", "endpoint": {"path": "{org}/{repo}/issues/{id}/comments", "params": {"id": resolve("issues")}}}]}),
            "{org}/{repo}/issues/",
        ),
    ];
    for (config, want) in cases {
        let got = problems(config.clone());
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{config}\nwant: {want}\ngot: {got:?}"
        );
    }
}
