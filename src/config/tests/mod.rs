//! Config parsing: merge rules, precedence, extensions, and the problems reported (all of them, with paths).
//! This file holds the helpers the test files share.

mod dlt_configs;
mod incremental;
mod paginators;
mod placeholders;

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

fn problems_of(resources: Value) -> Vec<String> {
    problems(base(resources))
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
fn concurrency_and_parallelized_are_read_and_checked() {
    let config = |client: Value, parallelized: Value| {
        json!({"client": client, "resources": [
            {"name": "a", "parallelized": parallelized, "endpoint": {"path": "a"}}]})
    };
    let plain = ok(config(json!({"base_url": "https://a"}), Value::Null));
    assert_eq!(plain.concurrency, DEFAULT_CONCURRENCY);
    assert!(!plain.resources[0].parallelized);
    let set = ok(config(
        json!({"base_url": "https://a", "concurrency": 3}),
        json!(true),
    ));
    assert_eq!(set.concurrency, 3);
    assert!(set.resources[0].parallelized);
    for bad in [json!(0), json!(65), json!("4")] {
        let got = problems(config(
            json!({"base_url": "https://a", "concurrency": bad}),
            json!(true),
        ));
        assert!(
            got.iter().any(|g| g.starts_with("client.concurrency: ")),
            "{bad}: {got:?}"
        );
    }
    let got = problems(config(json!({"base_url": "https://a"}), json!("yes")));
    assert!(
        got.iter()
            .any(|g| g.starts_with("resources[0].parallelized: ")),
        "{got:?}"
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
        "client: received unexpected field `timeout`; expected one of: base_url, headers, auth, paginator, error_handler, max_response_bytes, max_response_depth, concurrency, rate_limit",
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
        {"name": "d", "processing_steps": [{"map": "lambda r: r"}]},
        {"name": "i", "endpoint": {"incremental": {"cursor_path": "ts", "convert": "int"}}},
    ])));
    assert_eq!(
        got,
        vec![
            "resources[0].processing_steps[0].map: has invalid type `str` while `dict` is expected",
            "resources[1].endpoint.incremental.convert: needs a Python callable, which a JSON config cannot carry",
        ]
    );
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
