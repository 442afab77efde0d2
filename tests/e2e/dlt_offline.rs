//! Black-box cases ported from dlt's `tests/sources/rest_api/integration/test_offline.py`, run through the
//! real component in the real host against dlt's mock API on loopback. Each test names the dlt test it ports.
//! Cases that use `add_limit(1)` run the whole source and assert on the same requests.

use crate::support::*;
use serde_json::{Value, json};

/// A case id, the endpoint (or params) of the case, and the query pairs expected besides the page.
type QueryCase = (&'static str, Value, Vec<(&'static str, &'static str)>);

fn posts_titles(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!(format!("Post {i}"))).collect()
}

fn field(rows: &[Value], key: &str) -> Vec<Value> {
    rows.iter().map(|r| r[key].clone()).collect()
}

/// The call's query pairs, without `skip`, against `expected` (order-independent, as dlt's `parse_qs`).
fn assert_query(
    call: &testkit::demo_api::Logged,
    skip: &str,
    expected: &[(&str, &str)],
    context: &str,
) {
    let mut got: Vec<(String, String)> = call
        .query
        .iter()
        .filter(|(k, _)| k != skip)
        .cloned()
        .collect();
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{context}: {}", call.path);
}

/// `test_load_mock_api`, all five configs: posts, their comments (50 each, paged) and details.
#[test]
fn dlt_test_load_mock_api() {
    let resolve = json!({"type": "resolve", "resource": "posts", "field": "id"});
    let configs = [
        (
            "resolve_params_in_path",
            json!([{"name": "post_comments", "endpoint": {"path": "posts/{post_id}/comments", "params": {"post_id": resolve}}},
            {"name": "post_details", "endpoint": {"path": "posts/{post_id}", "params": {"post_id": resolve}}}]),
        ),
        (
            "interpolated_params_in_path",
            json!([{"name": "post_comments", "endpoint": "posts/{resources.posts.id}/comments"},
            {"name": "post_details", "endpoint": "posts/{resources.posts.id}"}]),
        ),
        (
            "interpolated_params_in_query_string",
            json!([{"name": "post_comments", "endpoint": {"path": "post_comments", "params": {"post_id": "{resources.posts.id}"}}},
            {"name": "post_details", "endpoint": {"path": "post_detail", "params": {"post_id": "{resources.posts.id}"}}}]),
        ),
        (
            "interpolated_params_in_json_string",
            json!([{"name": "post_comments", "endpoint": {"path": "post_comments", "method": "POST", "json": {"post_id": "{resources.posts.id}"}}},
            {"name": "post_details", "endpoint": {"path": "post_detail", "method": "POST", "json": {"post_id": "{resources.posts.id}"}}}]),
        ),
        (
            "interpolated_params_in_the_headers",
            json!([{"name": "post_comments", "endpoint": {"path": "post_comments_via_headers", "headers": {"post_id": "{resources.posts.id}"}}},
            {"name": "post_details", "endpoint": {"path": "post_detail_via_headers", "headers": {"post_id": "{resources.posts.id}"}}}]),
        ),
    ];
    for (id, children) in configs {
        let mut resources = vec![json!("posts")];
        resources.extend(children.as_array().unwrap().iter().cloned());
        let out = run_dlt(
            json!({"client": {"base_url": "https://api.example.com"}, "resources": resources}),
            &[],
        );
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(field(&out.rows["posts"], "title"), posts_titles(25), "{id}");
        let bodies: Vec<Value> = (0..25).map(|i| json!(format!("Post body {i}"))).collect();
        assert_eq!(field(&out.rows["post_details"], "body"), bodies, "{id}");
        let comments = &out.rows["post_comments"];
        assert_eq!(comments.len(), 50 * 25, "{id}");
        let first: Vec<Value> = (0..5)
            .map(|i| json!(format!("Comment {i} for post 0")))
            .collect();
        assert_eq!(field(&comments[..5], "body"), first, "{id}");
    }
}

fn page_number_client() -> Value {
    json!({"base_url": "https://api.example.com", "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}})
}

/// `test_single_resource_query_string_params`, all eight cases: five requests, static params kept, the
/// paginator's `page` overriding a user `page`, incremental params, escaped braces.
#[test]
fn dlt_test_single_resource_query_string_params() {
    let inc = json!({"start_param": "since", "end_param": "until", "cursor_path": "id", "initial_value": 1, "end_value": 10});
    let cases: Vec<QueryCase> = vec![
        (
            "static_params",
            json!({"path": "posts", "params": {"sort": "desc", "locale": "en"}}),
            vec![("sort", "desc"), ("locale", "en")],
        ),
        (
            "empty_params",
            json!({"path": "posts", "params": {}}),
            vec![],
        ),
        (
            "one_empty_param",
            json!({"path": "posts", "params": {"sort": "desc", "locale": ""}}),
            vec![("sort", "desc"), ("locale", "")],
        ),
        (
            "explicit_page_param",
            json!({"path": "posts", "params": {"sort": "desc", "locale": "en", "page": "100"}}),
            vec![("sort", "desc"), ("locale", "en")],
        ),
        (
            "incremental_in_endpoint",
            json!({"path": "posts", "incremental": inc}),
            vec![("since", "1"), ("until", "10")],
        ),
        (
            "incremental_in_endpoint_mixed_with_static",
            json!({"path": "posts", "params": {"sort": "desc", "locale": "en"}, "incremental": inc}),
            vec![
                ("sort", "desc"),
                ("locale", "en"),
                ("since", "1"),
                ("until", "10"),
            ],
        ),
        (
            "incremental_in_params",
            json!({"path": "posts", "params": {"sort": "desc", "since": {"type": "incremental", "cursor_path": "id", "initial_value": 1}}}),
            vec![("sort", "desc"), ("since", "1")],
        ),
        (
            "escaped_braces_in_params",
            json!({"path": "posts", "params": {"sort": "desc", "param_with_braces": "{{not_this}}",
            "param_with_nested_braces": "{{not_this {{and}} {{not_that}}}}"}}),
            vec![
                ("sort", "desc"),
                ("param_with_braces", "{not_this}"),
                ("param_with_nested_braces", "{not_this {and} {not_that}}"),
            ],
        ),
    ];
    for (id, endpoint, expected) in cases {
        let out = run_dlt(
            json!({"client": page_number_client(), "resources": [{"name": "posts", "endpoint": endpoint}]}),
            &[],
        );
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(out.log.len(), 5, "{id}");
        for (i, call) in out.log.iter().enumerate() {
            let page = (i + 1).to_string();
            let mut want = expected.clone();
            want.push(("page", page.as_str()));
            assert_query(call, "", &want, &format!("{id} request {i}"));
        }
    }
}

/// `test_dependent_resource_query_string_params`, all eight cases: per parent record, the child's requests
/// carry the static params and the incremental values; resolve params leave the query.
#[test]
fn dlt_test_dependent_resource_query_string_params() {
    let resolve = json!({"type": "resolve", "resource": "posts", "field": "id"});
    let inc = json!({"start_param": "since", "end_param": "until", "cursor_path": "id", "initial_value": 1, "end_value": 10});
    let p_inc = json!({"type": "incremental", "cursor_path": "id", "initial_value": 1});
    let cases: Vec<QueryCase> = vec![
        (
            "static_params",
            json!({"params": {"post_id": resolve, "sort": "desc", "locale": "en"}}),
            vec![("sort", "desc"), ("locale", "en")],
        ),
        (
            "empty_params",
            json!({"params": {"post_id": resolve}}),
            vec![],
        ),
        (
            "one_empty_param",
            json!({"params": {"post_id": resolve, "sort": "desc", "locale": ""}}),
            vec![("sort", "desc"), ("locale", "")],
        ),
        (
            "explicit_page_param",
            json!({"params": {"post_id": resolve, "sort": "desc", "locale": "en", "page": "100"}}),
            vec![("sort", "desc"), ("locale", "en")],
        ),
        (
            "incremental_in_endpoint",
            json!({"params": {"post_id": resolve}, "incremental": inc}),
            vec![("since", "1"), ("until", "10")],
        ),
        (
            "incremental_in_endpoint_mixed_with_static",
            json!({"params": {"post_id": resolve, "sort": "desc", "locale": "en"}, "incremental": inc}),
            vec![
                ("sort", "desc"),
                ("locale", "en"),
                ("since", "1"),
                ("until", "10"),
            ],
        ),
        (
            "incremental_in_params",
            json!({"params": {"post_id": resolve, "since": p_inc}}),
            vec![("since", "1")],
        ),
        (
            "incremental_in_params_with_static",
            json!({"params": {"post_id": resolve, "since": p_inc, "sort": "desc", "locale": "en"}}),
            vec![("since", "1"), ("sort", "desc"), ("locale", "en")],
        ),
    ];
    for (id, mut endpoint, expected) in cases {
        endpoint["path"] = json!("posts/{post_id}/comments");
        let config = json!({"client": page_number_client(), "resources": ["posts", {"name": "post_comments", "endpoint": endpoint}]});
        let out = run_dlt(config, &[]);
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        let calls: Vec<_> = out
            .log
            .iter()
            .filter(|l| l.path.ends_with("/comments"))
            .collect();
        assert_eq!(
            calls.len(),
            25 * 10,
            "{id}: 10 pages of comments for each of 25 posts"
        );
        for call in calls {
            assert_query(call, "page", &expected, id);
        }
    }
}

/// `test_interpolate_params_in_query_string`, all four cases.
#[test]
fn dlt_test_interpolate_params_in_query_string() {
    let cases: Vec<QueryCase> = vec![
        (
            "interpolate_param_only",
            json!({"post_id": "{resources.posts.id}"}),
            vec![],
        ),
        (
            "interpolate_param_with_static",
            json!({"post_id": "{resources.posts.id}", "sort": "desc"}),
            vec![("sort", "desc")],
        ),
        (
            "one_static_param_is_empty",
            json!({"post_id": "{resources.posts.id}", "sort": "desc", "locale": ""}),
            vec![("sort", "desc"), ("locale", "")],
        ),
        (
            "escaped_braces_in_params",
            json!({"post_id": "{resources.posts.id}", "sort": "desc", "param_with_braces": "{{not_this}}"}),
            vec![("sort", "desc"), ("param_with_braces", "{not_this}")],
        ),
    ];
    for (id, params, expected) in cases {
        let config = json!({"client": {"base_url": "https://api.example.com"},
            "resources": ["posts", {"name": "post_details", "endpoint": {"path": "post_detail", "params": params}}]});
        let out = run_dlt(config, &[]);
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        let calls: Vec<_> = out
            .log
            .iter()
            .filter(|l| l.path == "/post_detail")
            .collect();
        assert_eq!(calls.len(), 25, "{id}");
        for (index, call) in calls.iter().enumerate() {
            assert_eq!(
                call.param("post_id"),
                Some(index.to_string().as_str()),
                "{id}"
            );
            assert_query(call, "post_id", &expected, id);
        }
    }
}

/// `test_request_json_body`: no `json` sends no body; `json: {}` sends `{}` even on GET.
#[test]
fn dlt_test_request_json_body() {
    for (id, extra, want) in [
        ("no_json_get", json!({}), ""),
        ("empty_json_get", json!({"method": "GET", "json": {}}), "{}"),
    ] {
        let mut endpoint = json!({"path": "posts/{resources.posts.id}/comments"});
        endpoint
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let out = run_dlt(
            json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts", {"name": "posts_comments", "endpoint": endpoint}]}),
            &[],
        );
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        let first = out
            .log
            .iter()
            .find(|l| l.path.ends_with("/comments"))
            .unwrap();
        assert_eq!(first.body, want, "{id}");
    }
}

/// `test_json_body_in_top_level_resource`: single placeholders keep their type, escaped braces unescape.
#[test]
fn dlt_test_json_body_in_top_level_resource() {
    let cases = [
        (
            json!({"initial_value": "{incremental.initial_value}", "escaped_braces": "{{not_this}}",
                "nested": {"initial_value": "{incremental.initial_value}", "escaped": "{{not_this_either}}"},
                "array_values": ["{incremental.initial_value}", "{{not_array_either}}"]}),
            json!({"initial_value": 1, "escaped_braces": "{not_this}", "nested": {"initial_value": 1, "escaped": "{not_this_either}"},
                "array_values": [1, "{not_array_either}"]}),
        ),
        (json!({}), json!({})),
    ];
    for (body, want) in cases {
        let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {
            "path": "posts/search", "method": "POST", "json": body, "paginator": "single_page",
            "incremental": {"cursor_path": "id", "initial_value": 1}}}]});
        let out = run_dlt(config, &[]);
        out.ok();
        assert_eq!(out.log.len(), 1);
        assert_eq!(
            serde_json::from_str::<Value>(&out.log[0].body).unwrap(),
            want
        );
    }
}

/// `test_source_with_post_request`, with dlt's custom paginator written as a `cursor` on the body path `page`.
#[test]
fn dlt_test_source_with_post_request() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "search_posts", "endpoint": {
        "path": "/posts/search", "method": "POST", "json": {"ids_greater_than": 50, "page_size": 25, "page_count": 4},
        "paginator": {"type": "cursor", "cursor_path": "next_page", "cursor_body_path": "page"}}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    let rows = &out.rows["search_posts"];
    assert_eq!(rows.len(), 49);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row,
            &json!({"id": 51 + i, "title": format!("Post {}", 51 + i)})
        );
    }
    let pages: Vec<Value> = out
        .log
        .iter()
        .map(|l| serde_json::from_str::<Value>(&l.body).unwrap()["page"].clone())
        .collect();
    assert_eq!(
        pages,
        vec![Value::Null, json!(2)],
        "the cursor goes in the body, as the number it is"
    );
}

/// `test_unauthorized_access_to_protected_endpoint`: a 401 fails the run with the status.
#[test]
fn dlt_test_unauthorized_access_to_protected_endpoint() {
    let out = run_dlt(
        json!({"client": {"base_url": "https://api.example.com"}, "resources": ["/protected/posts/bearer-token-plain-text-error"]}),
        &[],
    );
    let error = out.result.unwrap_err().to_string();
    assert!(
        error.contains("(status 401): 401 Client Error: Unauthorized"),
        "{error}"
    );
}

/// `test_posts_under_results_key`: a dashed key in `data_selector`.
#[test]
fn dlt_test_posts_under_results_key() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "posts", "endpoint": {
        "path": "posts_under_a_different_key", "data_selector": "many-results",
        "paginator": {"type": "json_link", "next_url_path": "next_page"}}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    assert_eq!(field(&out.rows["posts"], "title"), posts_titles(25));
}

/// `test_posts_without_key` (`header_link` with a top-level list, reference §19).
#[test]
fn dlt_test_posts_without_key() {
    let config = json!({"client": {"base_url": "https://api.example.com", "paginator": "header_link"},
        "resources": [{"name": "posts_no_key", "endpoint": {"path": "posts_header_link"}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    assert_eq!(field(&out.rows["posts_no_key"], "title"), posts_titles(25));
}

/// `test_headers_in_top_level_resource`, `test_client_headers_are_not_interpolated`: endpoint headers over
/// client headers; escaped braces unescape in endpoint headers only.
#[test]
fn dlt_test_headers() {
    let config = json!({"client": {"base_url": "https://api.example.com", "headers": {"X-Client": "{{kept}}", "X-Both": "client"}},
        "resources": [{"name": "posts", "endpoint": {"path": "posts", "paginator": "single_page",
            "headers": {"X-Both": "endpoint", "X-Escaped": "{{not_this}}"}}}]});
    let out = run_dlt(config, &[]);
    out.ok();
    let call = &out.log[0];
    assert_eq!(call.header("x-client"), Some("{{kept}}"));
    assert_eq!(call.header("x-both"), Some("endpoint"));
    assert_eq!(call.header("x-escaped"), Some("{not_this}"));
}

/// `test_request_data_body` family: form data from a dict, from pairs, and raw text, on child requests.
#[test]
fn dlt_test_post_data_param() {
    let cases = [
        ("dict", json!({"post_id": "{resources.posts.id}"})),
        (
            "list_of_tuples",
            json!([["post_id", "{resources.posts.id}"]]),
        ),
        ("raw", json!("{resources.posts.id}")),
    ];
    for (id, data) in cases {
        let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": ["posts",
            {"name": "post_comments", "endpoint": {"path": "post_comments_via_form_data", "method": "POST", "data": data}}]});
        let out = run_dlt(config, &[]);
        out.result.as_ref().unwrap_or_else(|e| panic!("{id}: {e}"));
        let comments = &out.rows["post_comments"];
        assert_eq!(comments.len(), 50 * 25, "{id}");
        assert_eq!(comments[0]["body"], "Comment 0 for post 0", "{id}");
        let first = out
            .log
            .iter()
            .find(|l| l.path == "/post_comments_via_form_data")
            .unwrap();
        let want_type = if id == "raw" {
            None
        } else {
            Some("application/x-www-form-urlencoded")
        };
        assert_eq!(first.header("content-type"), want_type, "{id}");
    }
}
