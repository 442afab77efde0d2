//! Paginator settings: precedence (endpoint, defaults, client, single-entity paths), `auto`, and dlt's
//! paginator configs.

use super::*;

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

/// No paginator anywhere (or `auto`) means detection from the first response (dlt `paginator: None`).
#[test]
fn missing_or_auto_paginator_means_detection() {
    let cfg = ok(
        json!({"client": {"base_url": "https://a"}, "resources": ["x", {"name": "y", "endpoint": {"paginator": "auto"}}]}),
    );
    assert!(cfg.resources.iter().all(|r| r.endpoint.paginator.is_none()));
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

#[test]
fn extension_keys_of_paginators_and_oauth2_are_checked() {
    let cases = [
        (
            json!({"type": "offset", "limit": 10, "on_missing_total": "fallback", "stop_after_empty_page": false}),
            "resources[0].endpoint.paginator.on_missing_total: `fallback` needs another way to stop when the \
             total is missing: `maximum_offset`, `has_more_path` or `stop_after_empty_page`",
        ),
        (
            json!({"type": "page_number", "on_missing_total": "skip"}),
            "resources[0].endpoint.paginator.on_missing_total: `skip` is not one of: raise, fallback",
        ),
    ];
    for (paginator, want) in cases {
        let got =
            problems_of(json!([{"name": "r", "endpoint": {"path": "r", "paginator": paginator}}]));
        assert_eq!(got, vec![want.to_string()]);
    }
    let fine = json!([{"name": "r", "endpoint": {"path": "r", "paginator":
        {"type": "page_number", "on_missing_total": "fallback", "maximum_page": 9, "stop_after_empty_page": false}}}]);
    let Some(Paginator::PageNumber { range, .. }) = &ok(base(fine)).resources[0].endpoint.paginator
    else {
        panic!("a page number paginator")
    };
    assert!(range.total_fallback);
    let oauth = |method: &str| {
        json!({"client": {"base_url": "https://a.example", "auth": {"type": "oauth2", "token_url": "https://a.example/t",
            "client_id": "i", "client_secret": "s", "client_auth_method": method}}, "resources": ["r"]})
    };
    assert_eq!(
        problems(oauth("private_key_jwt")),
        vec![
            "client.auth.client_auth_method: `private_key_jwt` is not one of: client_secret_post, \
             client_secret_basic"
        ]
    );
    let parsed = ok(oauth("client_secret_basic"));
    let auth = parsed.resources[0]
        .endpoint
        .auth
        .as_ref()
        .and_then(Auth::oauth2);
    assert_eq!(
        auth.map(|o| o.client_auth),
        Some(crate::auth::ClientAuth::Basic)
    );
}
