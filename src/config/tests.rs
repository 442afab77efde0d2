//! Config parsing: merge rules, precedence, extensions, and the problems reported (all of them, with paths).

use super::*;
use crate::auth::KeyLocation;
use serde_json::json;

fn ok(config: Value) -> SourceConfig {
    parse(&config).unwrap_or_else(|e| panic!("{e}"))
}

fn problems(config: Value) -> Vec<String> {
    match parse(&config) {
        Ok(_) => panic!("expected problems"),
        Err(Error::InvalidConfig(ps)) => ps.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("unexpected {other}"),
    }
}

fn base(resources: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com/", "paginator": "single_page"}, "resources": resources})
}

#[test]
fn seed_shape_parses_with_extensions() {
    let cfg = ok(json!({
        "client": {
            "base_url": "https://api.example.com",
            "auth": {"type": "oauth2", "client_id": "id", "client_secret": "s", "token_url": "https://api.example.com/oauth/v1/token"}
        },
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [{
            "name": "resource_name",
            "endpoint": {
                "path": "/v1/resource",
                "data_selector": "data",
                "paginator": {"type": "cursor", "limit": 100, "cursor_param": "after", "cursor_path": "paging.next.after"},
                "error_handler": {"retry_on_status_codes": [429, 500, 502, 503], "max_retries": 3, "backoff_factor": 2}
            }
        }]
    }));
    let r = &cfg.resources[0];
    assert_eq!(r.endpoint.url, "https://api.example.com/v1/resource");
    assert_eq!(r.primary_key, vec!["id"]);
    assert_eq!(r.write_disposition, WriteDisposition::Merge);
    assert!(matches!(
        &r.endpoint.paginator,
        Some(Paginator::Cursor {
            limit: Some(100),
            ..
        })
    ));
    let retry = &r.endpoint.retry;
    assert_eq!((retry.max_attempts, retry.backoff_factor), (4, 2.0));
    assert_eq!(retry.statuses, Some(vec![429, 500, 502, 503]));
    let Some(Auth::OAuth2(o)) = &r.endpoint.auth else {
        panic!("oauth2 expected")
    };
    assert_eq!(o.token_url, "https://api.example.com/oauth/v1/token");
}

#[test]
fn shorthands_expand_and_path_defaults_to_name() {
    let cfg = ok(base(
        json!(["users", {"name": "posts"}, {"name": "c", "endpoint": "comments/all"}]),
    ));
    let urls: Vec<&str> = cfg
        .resources
        .iter()
        .map(|r| r.endpoint.url.as_str())
        .collect();
    assert_eq!(
        urls,
        vec![
            "https://api.example.com/users",
            "https://api.example.com/posts",
            "https://api.example.com/comments/all"
        ]
    );
}

#[test]
fn defaults_merge_shallow_except_params_and_json() {
    let cfg = ok(json!({
        "client": {"base_url": "https://a", "paginator": "single_page"},
        "resource_defaults": {
            "primary_key": "id",
            "endpoint": {"params": {"a": 1, "b": 2}, "headers": {"X-D": "d"}, "json": {"q": 1}, "method": "POST"}
        },
        "resources": [{
            "name": "r",
            "primary_key": null,
            "endpoint": {"params": {"b": 3, "c": 4}, "headers": {"X-R": "r"}, "json": {"z": 2}}
        }]
    }));
    let ep = &cfg.resources[0].endpoint;
    assert_eq!(
        ep.params,
        vec![
            ("a".into(), json!(1)),
            ("b".into(), json!(3)),
            ("c".into(), json!(4))
        ]
    );
    assert_eq!(
        ep.headers,
        vec![("X-R".to_string(), "r".to_string())],
        "headers replaced whole"
    );
    assert_eq!(ep.json, Some(json!({"q": 1, "z": 2})));
    assert_eq!(ep.method, Method::Post);
    assert!(
        cfg.resources[0].primary_key.is_empty(),
        "explicit null resets the default"
    );
}

#[test]
fn paginator_precedence_endpoint_then_client_and_single_entity() {
    let cfg = ok(json!({
        "client": {"base_url": "https://a", "paginator": {"type": "header_link"}},
        "resources": [
            {"name": "own", "endpoint": {"paginator": {"type": "offset", "limit": 5}}},
            {"name": "inherits"},
            {"name": "auto", "endpoint": {"paginator": "auto"}},
            {"name": "entity", "endpoint": {"path": "users/{id}", "params": {"id": 7}}}
        ]
    }));
    let kinds: Vec<&str> = cfg
        .resources
        .iter()
        .map(|r| match r.endpoint.paginator {
            Some(Paginator::Offset { .. }) => "offset",
            Some(Paginator::HeaderLink { .. }) => "header_link",
            Some(Paginator::SinglePage) => "single_page",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["offset", "header_link", "header_link", "single_page"]
    );
    let entity = &cfg.resources[3].endpoint;
    assert_eq!(entity.url, "https://a/users/7");
    assert!(
        entity.params.is_empty(),
        "a bound path param leaves the query"
    );
    assert_eq!(entity.data_selector.as_ref().map(Path::as_str), Some("$"));
}

#[test]
fn auth_forms() {
    let cfg = ok(json!({
        "client": {"base_url": "https://a", "paginator": "single_page", "auth": {"token": "t"}},
        "resources": [
            {"name": "bearer"},
            {"name": "none", "endpoint": {"auth": null}},
            {"name": "key", "endpoint": {"auth": {"type": "api_key", "api_key": "k", "name": "api_key", "location": "param"}}},
            {"name": "cookie", "endpoint": {"auth": {"type": "api_key", "api_key": "k", "location": "cookie"}}},
            {"name": "basic", "endpoint": {"auth": {"type": "http_basic", "username": "u", "password": "p"}}},
            {"name": "cc", "endpoint": {"auth": {"type": "oauth2_client_credentials", "access_token_url": "https://a/t",
                "client_id": "i", "client_secret": "s", "access_token_request_data": {"scope": "read"}}}}
        ]
    }));
    let auths: Vec<Option<Auth>> = cfg
        .resources
        .iter()
        .map(|r| r.endpoint.auth.clone())
        .collect();
    assert_eq!(auths[0], Some(Auth::Bearer { token: "t".into() }));
    assert_eq!(auths[1], None);
    assert_eq!(
        auths[2],
        Some(Auth::ApiKey {
            name: "api_key".into(),
            value: "k".into(),
            location: KeyLocation::Query
        })
    );
    assert_eq!(
        auths[3],
        Some(Auth::ApiKey {
            name: "Authorization".into(),
            value: "k".into(),
            location: KeyLocation::Cookie
        })
    );
    assert_eq!(
        auths[4],
        Some(Auth::Basic {
            username: "u".into(),
            password: "p".into()
        })
    );
    let Some(Auth::OAuth2(o)) = &auths[5] else {
        panic!()
    };
    assert_eq!(
        (o.default_expiration_s, o.extra.clone()),
        (3600, vec![("scope".to_string(), "read".to_string())])
    );
}

#[test]
fn client_error_handler_applies_under_endpoint_overrides() {
    let cfg = ok(json!({
        "client": {"base_url": "https://a", "paginator": "single_page", "error_handler": {"max_retries": 1, "timeout": 5}},
        "resources": [{"name": "a"}, {"name": "b", "endpoint": {"error_handler": {"backoff_factor": 0.5}}}]
    }));
    let a = &cfg.resources[0].endpoint.retry;
    let b = &cfg.resources[1].endpoint.retry;
    assert_eq!(
        (a.max_attempts, a.timeout_ms, a.backoff_factor),
        (2, 5000, 1.0)
    );
    assert_eq!(
        (b.max_attempts, b.timeout_ms, b.backoff_factor),
        (2, 5000, 0.5)
    );
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let got = problems(json!({
        "client": {"base_url": "https://a", "timeout": 5},
        "resources": [
            {"name": "a", "endpoint": {"method": "PUT", "paginator": {"type": "offset"}}},
            {"endpoint": {"paginator": {"type": "json_link", "limit": 10}}},
            {"name": "c", "endpoint": {"paginator": "nope", "error_handler": {"max_retries": "3"}}},
            {"name": "a", "endpoint": {"paginator": "single_page", "auth": {"type": "api_key"}}}
        ],
        "extra": 1
    }));
    let want = [
        ".: received unexpected field `extra`; expected one of: client, resources, resource_defaults",
        "client: received unexpected field `timeout`; expected one of: base_url, headers, auth, paginator, error_handler, max_response_bytes, max_response_depth",
        "resources[0].endpoint.method: `PUT` is not one of: GET, POST",
        "resources[0].endpoint.paginator.limit: missing required field",
        "resources[1].name: missing required field",
        "resources[1].endpoint.paginator: received unexpected field `limit`; expected one of: type, next_url_path",
        "resources[2].endpoint.paginator.type: `nope` is not one of: json_link, json_response, header_link, header_cursor, auto, single_page, cursor, offset, page_number",
        "resources[2].endpoint.error_handler.max_retries: has invalid type `str` while `int` is expected",
        "resources[3].endpoint.auth.api_key: missing required field",
        "resources: Resource `a` is already defined.",
    ];
    for w in want {
        assert!(
            got.iter().any(|g| g == w),
            "missing problem:\n  {w}\ngot:\n  {}",
            got.join("\n  ")
        );
    }
}

#[test]
fn python_only_features_are_refused_not_ignored() {
    let got = problems(base(json!([
        {"name": "d", "processing_steps": [{"filter": "x"}]},
        {"name": "i", "endpoint": {"incremental": {"cursor_path": "ts", "convert": "int"}}},
    ])));
    assert_eq!(
        got,
        vec![
            "resources[0].processing_steps: needs Python callables, which a JSON config cannot carry",
            "resources[1].endpoint.incremental.convert: needs a Python callable, which a JSON config cannot carry",
        ]
    );
}

/// dlt `test_incremental_config.py` and reference §14.1–14.2: the incremental errors.
#[test]
fn dlt_incremental_config_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"incremental": {"cursor_path": "ts", "end_value": 5}}),
            "Incremental `end_value` was specified without `initial_value`.",
        ),
        (
            json!({"incremental": {"cursor_path": "ts", "initial_value": 9, "end_value": 5}}),
            "Incremental `initial_value` (9) is past `end_value` (5)",
        ),
        (
            json!({"params": {"since": {"type": "incremental", "cursor_path": "a"}, "until": {"type": "incremental", "cursor_path": "b"}}}),
            "Only a single incremental parameter is allower per endpoint. Found parameters: `['since', 'until']`",
        ),
        (
            json!({"params": {"since": {"type": "incremental", "cursor_path": "a", "end_value": 3}}}),
            "Only `start_param` and `initial_value` are allowed in the configuration of param: `since`.",
        ),
        (
            json!({"incremental": {"initial_value": 1}}),
            "incremental.cursor_path: missing required field",
        ),
        (
            json!({"incremental": {"cursor_path": "ts", "row_order": "up"}}),
            "`up` is not one of: asc, desc",
        ),
        (
            json!({"params": {"q": "{incremental.start_value}"}}),
            "Expression `incremental.start_value` defined in `params` is not valid. Valid expressions must start with one of: `{'resources'}`.",
        ),
        (
            json!({"path": "x/{incremental.start_value}"}),
            "contains a placeholder `incremental.start_value`. This placeholder is not a valid name.",
        ),
    ];
    for (endpoint, want) in cases {
        let got = problems_of(json!([{"name": "r", "endpoint": endpoint}]));
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{endpoint}\nwant: {want}\ngot: {got:?}"
        );
    }
}

/// dlt `test_incremental_config.py::test_param_incremental_wins` (reference §14.2): a `type: incremental`
/// param becomes the start param and leaves the static params.
#[test]
fn dlt_param_incremental_becomes_the_start_param() {
    let cfg = ok(base(
        json!([{"name": "r", "endpoint": {"params": {"since": {"type": "incremental", "cursor_path": "updated",
        "initial_value": "2024-01-01"}, "sort": "asc"}, "incremental": {"cursor_path": "other"}}}]),
    ));
    let ep = &cfg.resources[0].endpoint;
    assert_eq!(ep.params, vec![("sort".to_string(), json!("asc"))]);
    let inc = ep.incremental.as_ref().unwrap();
    assert_eq!(
        (inc.cursor_path.as_str(), inc.start_param.as_deref()),
        ("updated", Some("since")),
        "the param wins"
    );
}

#[test]
fn escaped_braces_are_unescaped() {
    let cfg = ok(base(
        json!([{"name": "q", "endpoint": {"path": "graph{{ql}}", "params": {"query": "{{ viewer }}"}}}]),
    ));
    let ep = &cfg.resources[0].endpoint;
    assert_eq!(
        ep.url, "https://api.example.com/graph{{ql}}",
        "kept as a template, unescaped per request"
    );
    assert_eq!(
        ep.params,
        vec![("query".to_string(), json!("{{ viewer }}"))]
    );
}

/// No paginator anywhere (or `auto`) means detection from the first response (dlt `paginator: None`).
#[test]
fn missing_or_auto_paginator_means_detection() {
    let cfg = ok(
        json!({"client": {"base_url": "https://a"}, "resources": ["x", {"name": "y", "endpoint": {"paginator": "auto"}}]}),
    );
    assert!(cfg.resources.iter().all(|r| r.endpoint.paginator.is_none()));
}

#[test]
fn relative_paths_need_a_base_url() {
    let got = problems(json!({"client": {"paginator": "single_page"}, "resources": ["x"]}));
    assert_eq!(
        got,
        vec!["client.base_url: missing required field (needed by the relative path `x`)"]
    );
    let cfg = ok(
        json!({"client": {"paginator": "single_page"}, "resources": [{"name": "x", "endpoint": "https://b/x"}]}),
    );
    assert_eq!(cfg.resources[0].endpoint.url, "https://b/x");
}

/// dlt `test_configuration.py` merge rules: `columns` merge hint by hint per column; the resource wins.
#[test]
fn dlt_columns_merge_per_column() {
    let cfg = ok(json!({
        "client": {"base_url": "https://a", "paginator": "single_page"},
        "resource_defaults": {"columns": {"a": {"data_type": "text", "nullable": false}, "b": {"data_type": "bigint"}}},
        "resources": [{"name": "r", "columns": [{"name": "a", "data_type": "double"}, {"name": "c", "data_type": "bool"}]}]
    }));
    let cols: Vec<(String, Option<String>, Option<bool>)> = cfg.resources[0]
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone(), c.nullable))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("a".into(), Some("double".into()), Some(false)),
            ("b".into(), Some("bigint".into()), None),
            ("c".into(), Some("bool".into()), None),
        ]
    );
}

fn problems_of(resources: Value) -> Vec<String> {
    problems(base(resources))
}

/// dlt `test_resolve_config.py` and reference §7.2/§8: the errors for bad placeholders and parents.
#[test]
fn dlt_placeholder_and_parent_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!([{"name": "a", "endpoint": {"path": "x/{foo.bar}"}}]),
            "The `path=x/{foo.bar}` defined in resource `a` contains a placeholder `foo.bar`. This placeholder is not a valid name. Valid names are: ['resources', 'incremental'].",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "x/{foo}"}}]),
            "The path 'x/{foo}' defined in resource 'a' requires a param named 'foo', but it was not found in 'endpoint.params': {}",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "x/{resources.name}"}}]),
            "Invalid definition of `resources.name`. Expected format: 'resources.<resource>.<field>'",
        ),
        (
            json!([{"name": "a", "endpoint": {"params": {"q": "{unknown.posts.id}"}}}]),
            "Expression `unknown.posts.id` defined in `params` is not valid. Valid expressions must start with one of: `{'resources'}`.",
        ),
        (
            json!(["p", "q", {"name": "c", "endpoint": {"path": "x/{resources.p.id}", "params": {"q": "{resources.q.id}"}}}]),
            "Multiple parent resources for resource `c` with params `['resources.p.id', 'resources.q.id']`",
        ),
        (
            json!([{"name": "c", "endpoint": {"path": "x/{resources.zz.id}"}}]),
            "A dependent resource `c` refers to non existing parent resource `zz` on param `resources.zz.id`",
        ),
        (
            json!([{"name": "a", "endpoint": {"path": "a/{resources.b.id}"}}, {"name": "b", "endpoint": {"path": "b/{resources.a.id}"}}]),
            "nodes are in a cycle: ['a', 'b', 'a']",
        ),
        (
            json!([{"name": "post_details", "endpoint": {"path": "posts", "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}}}}, "posts"]),
            "Resource `post_details` defines resolve params `['post_id']` that are not bound in path `posts`. To reference parent resource in query params use syntax 'resources.<parent_resource>.<field>'",
        ),
        (
            json!([{"name": "x", "include_from_parent": ["id"]}]),
            "Resource `x` has `include_from_parent` but is not dependent on another resource",
        ),
        (
            json!([{"name": "x", "endpoint": {"params": {"p": {"type": "foo"}}}}]),
            "Received invalid value `p['type']=foo`. Valid values are: ['incremental', 'resolve']",
        ),
    ];
    for (resources, want) in cases {
        let got = problems_of(resources.clone());
        assert!(
            got.iter().any(|g| g.contains(want)),
            "{resources}\nwant: {want}\ngot: {got:?}"
        );
    }
}

/// dlt `test_resolve_config.py::test_bind_path_param`: legacy `resolve` params become parent placeholders.
#[test]
fn dlt_resolve_params_bind_the_path() {
    let cfg = ok(base(
        json!(["posts", {"name": "comments", "endpoint": {"path": "posts/{post_id}/comments",
        "params": {"post_id": {"type": "resolve", "resource": "posts", "field": "id"}, "sort": "asc"}}}]),
    ));
    let ep = &cfg.resources[1].endpoint;
    assert_eq!(
        ep.url,
        "https://api.example.com/posts/{resources.posts.id}/comments"
    );
    assert_eq!(ep.params, vec![("sort".to_string(), json!("asc"))]);
    assert_eq!(cfg.resources[1].parent, Some(0));
    assert_eq!(cfg.children, vec![vec![1], vec![]]);
}

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

/// dlt `source_configs.py::PAGINATOR_TYPE_CONFIGS` (`test_paginator_config.py`): each dict form builds.
#[test]
fn dlt_paginator_type_configs() {
    let paginators = [
        json!({"type": "auto"}),
        json!({"type": "single_page"}),
        json!({"type": "page_number", "page": 10, "base_page": 1, "total_path": "response.pages"}),
        json!({"type": "offset", "limit": 100, "maximum_offset": 1000}),
        json!({"type": "header_link", "links_next_key": "next_page"}),
        json!({"type": "header_cursor", "cursor_key": "X-Next-Cursor", "cursor_param": "cursor"}),
        json!({"type": "json_link", "next_url_path": "response.nex_page_link"}),
        json!({"type": "cursor", "cursor_param": "cursor"}),
        json!("json_link"),
        json!("json_response"),
        json!("header_link"),
        json!("header_cursor"),
        json!("auto"),
        json!("single_page"),
        json!("cursor"),
        json!("page_number"),
    ];
    for p in paginators {
        parse(&base(json!([{"name": "r", "endpoint": {"paginator": p}}])))
            .unwrap_or_else(|e| panic!("{p}: {e}"));
    }
    let got = problems(base(
        json!([{"name": "r", "endpoint": {"paginator": "offset"}}]),
    ));
    assert!(
        got[0].contains("Paginator `offset` requires arguments"),
        "{got:?}"
    );
}

/// dlt `test_configuration.py::test_paginator_overrides` and `test_paginator_overrides_single_entity_paths`:
/// every combination of client, defaults and endpoint paginator (absent, set, or an explicit `null`), on a
/// plain path and on a single-entity path.
#[test]
fn dlt_paginator_precedence_matrix() {
    let client_p = json!("header_link");
    let defaults_p = json!({"type": "json_link", "next_url_path": "from_defaults"});
    let endpoint_p = json!({"type": "json_link", "next_url_path": "from_endpoint"});
    let kind = |p: &Option<Paginator>| match p {
        None => "auto".to_string(),
        Some(Paginator::HeaderLink { .. }) => "client".to_string(),
        Some(Paginator::SinglePage) => "single_page".to_string(),
        Some(Paginator::JsonLink { next_url_path }) => next_url_path
            .as_str()
            .trim_start_matches("from_")
            .to_string(),
        Some(other) => format!("{other:?}"),
    };
    let mut cases = 0;
    for client in [false, true] {
        for defaults in [false, true] {
            for endpoint in ["absent", "set", "null"] {
                for single in [false, true] {
                    let mut cfg = json!({"client": {"base_url": "https://api.example.com"}, "resources": ["users"]});
                    if client {
                        cfg["client"]["paginator"] = client_p.clone();
                    }
                    if defaults {
                        cfg["resource_defaults"] = json!({"endpoint": {"paginator": defaults_p}});
                    }
                    let path = if single {
                        "user/{resources.users.id}"
                    } else {
                        "user"
                    };
                    let mut ep = json!({"path": path});
                    match endpoint {
                        "set" => ep["paginator"] = endpoint_p.clone(),
                        "null" => ep["paginator"] = Value::Null,
                        _ => {}
                    }
                    cfg["resources"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"name": "user", "endpoint": ep}));
                    let parsed = ok(cfg);
                    // The endpoint's own (a null resets the default), else the default; single-entity paths
                    // then get single_page; others fall back to the client, then to detection.
                    let merged = match endpoint {
                        "set" => Some("endpoint"),
                        "absent" if defaults => Some("defaults"),
                        _ => None,
                    };
                    let want = match (merged, single, client) {
                        (Some(m), _, _) => m,
                        (None, true, _) => "single_page",
                        (None, false, true) => "client",
                        (None, false, false) => "auto",
                    };
                    assert_eq!(
                        kind(&parsed.resources[1].endpoint.paginator),
                        want,
                        "client {client}, defaults {defaults}, endpoint {endpoint}, single {single}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 24);
}
