//! The engine as a state machine: scripted responses in, requests, sleeps, pages and errors out. This file
//! holds the helpers the test files share.

mod actions;
mod ahead;
mod auth;
mod children;
mod incremental;
mod pacing;
mod paging;
mod resume;
mod retries;
mod steps;
mod traps;
mod windows;

use super::*;
use serde_json::json;

const SECRET: &str = "s3cret-key";

fn engine(config: Value) -> Engine {
    let text = config.to_string();
    Engine::new(&text, &config, vec![SECRET.into()], None).unwrap_or_else(|e| panic!("{e}"))
}

fn offset_config(handler: Value) -> Value {
    json!({
        "client": {"base_url": "https://api.example.com", "auth": {"type": "api_key", "name": "api_key", "api_key": SECRET, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data",
            "paginator": {"type": "offset", "limit": 2}, "error_handler": handler}}]
    })
}

fn oauth_config() -> Value {
    json!({
        "client": {"base_url": "https://api.example.com",
                   "auth": {"type": "oauth2", "token_url": "https://api.example.com/token", "client_id": "id", "client_secret": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data",
            "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "after"}}}]
    })
}

fn at(ms: u64) -> Now {
    Now {
        monotonic_ms: ms,
        unix_ms: 1_700_000_000_000 + ms,
    }
}

fn ok(body: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![],
        body: body.to_string().into_bytes(),
    }
}

fn status(code: u16, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status: code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: b"{}".to_vec(),
    }
}

fn text(code: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status: code,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn expect_send(e: &mut Engine, now: Now) -> HttpRequest {
    match e.poll(now).unwrap() {
        Step::Send(r) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn expect_page(e: &mut Engine, now: Now) -> Page {
    match e.poll(now).unwrap() {
        Step::Page(p) => p,
        other => panic!("expected a page, got {other:?}"),
    }
}

fn blog(child_extra: Value) -> Value {
    let mut child = json!({"name": "comments", "endpoint": {"path": "posts/{resources.posts.id}/comments",
        "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": "total_pages"}}});
    if let (Some(c), Some(extra)) = (child.as_object_mut(), child_extra.as_object()) {
        c.extend(extra.clone());
    }
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [
        {"name": "posts", "endpoint": {"path": "posts", "data_selector": "data",
            "paginator": {"type": "json_link", "next_url_path": "next"}}},
        child
    ]})
}

fn page_of(ids: &[i64], next: Option<&str>) -> HttpResponse {
    let data: Vec<Value> = ids
        .iter()
        .map(|i| json!({"id": i, "title": format!("t{i}")}))
        .collect();
    ok(json!({"data": data, "next": next}))
}

fn comments(post: i64, page: i64, pages: i64) -> HttpResponse {
    ok(json!({"data": [{"cid": post * 100 + page}], "total_pages": pages}))
}

fn incremental_config(inc: Value, params: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "events", "primary_key": "id",
        "endpoint": {"path": "events", "data_selector": "data", "paginator": {"type": "page_number", "base_page": 1, "total_path": "pages"},
            "params": params, "incremental": inc}}]})
}

fn events(rows: &[(i64, &str)], pages: i64) -> HttpResponse {
    let data: Vec<Value> = rows
        .iter()
        .map(|(id, ts)| json!({"id": id, "updated_at": ts}))
        .collect();
    ok(json!({"data": data, "pages": pages}))
}

/// Drive an engine to the end with scripted responses per URL; the URLs asked for, the rows and the last
/// checkpoint.
fn drive(
    e: &mut Engine,
    respond: &dyn Fn(&str) -> HttpResponse,
) -> (Vec<String>, Vec<i64>, String) {
    let (mut urls, mut ids, mut last) = (Vec::new(), Vec::new(), String::new());
    for step in 0.. {
        match e.poll(at(step)).unwrap() {
            Step::Send(req) => {
                urls.push(req.url.clone());
                e.on_response(at(step), respond(&req.url)).unwrap();
            }
            Step::Page(p) => {
                for line in String::from_utf8(p.records).unwrap().lines() {
                    ids.push(
                        serde_json::from_str::<Value>(line).unwrap()["id"]
                            .as_i64()
                            .unwrap(),
                    );
                }
                last = p.checkpoint;
            }
            Step::Done => break,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
    }
    (urls, ids, last)
}

/// Count requests and sleeps until the run ends: `(requests, sleeps in ms, outcome)`.
fn run_with(
    e: &mut Engine,
    responses: &mut dyn FnMut(usize) -> Result<HttpResponse, &'static str>,
) -> (usize, Vec<u64>, Result<(), Error>) {
    let (mut sent, mut sleeps, mut now) = (0, Vec::new(), 0u64);
    loop {
        match e.poll(at(now)) {
            Ok(Step::Send(_)) => {
                let outcome = match responses(sent) {
                    Ok(r) => e.on_response(at(now), r),
                    Err(m) => e.on_transport_error(at(now), m, true),
                };
                sent += 1;
                if let Err(err) = outcome {
                    return (sent, sleeps, Err(err));
                }
            }
            Ok(Step::Sleep { until_ms }) => {
                sleeps.push(until_ms - now);
                now = until_ms;
            }
            Ok(Step::Page(_)) => {}
            Ok(Step::Done) => return (sent, sleeps, Ok(())),
            Err(err) => return (sent, sleeps, Err(err)),
        }
    }
}
