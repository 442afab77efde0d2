//! The routes of dlt's own test mock API (`tests/sources/rest_api/conftest.py`), served by the fixture so dlt's
//! black-box cases run against the real component: posts paged five at a time, comments, details, status codes,
//! auth and bodies. Behaviour and data match the mock (facts from dlt's suite; the code is this project's).

use super::{Answer, Body, Logged};
use serde_json::{Value, json};

/// The base URL dlt's mock serves (configs use it; the host maps it to the fixture).
pub const BASE_URL: &str = "https://api.example.com";
const PAGE_SIZE: usize = 5;
const TOTAL_PAGES: usize = 5;
const COMMENTS: usize = 50;

/// dlt's `generate_posts`: `{"id": i, "title": "Post i"}`.
pub fn posts(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| json!({"id": i, "title": format!("Post {i}")}))
        .collect()
}

/// dlt's `generate_comments`.
pub fn comments(post_id: i64) -> Vec<Value> {
    (0..COMMENTS)
        .map(|i| json!({"id": i, "post_id": post_id, "body": format!("Comment {i} for post {post_id}")}))
        .collect()
}

fn posts_with_reactions() -> Vec<Value> {
    (0..PAGE_SIZE * TOTAL_PAGES)
        .map(|i| {
            let reactions: Vec<Value> = (0..5)
                .map(|j| json!({"id": j, "title": format!("Reaction {j} for post {i}")}))
                .collect();
            json!({"id": i, "title": format!("Post {i}"), "reactions": reactions})
        })
        .collect()
}

fn ok(v: Value) -> Answer {
    (200, Body::Json(v), vec![])
}

fn status(code: u16, v: Value) -> Answer {
    (code, Body::Json(v), vec![])
}

fn page_number(req: &Logged, base: usize) -> usize {
    req.param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(base)
}

/// A page of `records` and the page number of the next one, if any (dlt's mock `PageNumberPaginator`).
fn page_of(records: &[Value], page: usize, base: usize) -> (Vec<Value>, usize, Option<usize>) {
    let total = records.len().div_ceil(PAGE_SIZE);
    let start = page.saturating_sub(base) * PAGE_SIZE;
    let slice = records
        .iter()
        .skip(start)
        .take(PAGE_SIZE)
        .cloned()
        .collect();
    let next = (page + 1 < total + base).then_some(page + 1);
    (slice, total, next)
}

/// dlt's `paginate_by_page_number`: `{key: records, "page": n, "total_pages": t, "next_page": url}`.
fn paginate(req: &Logged, records: &[Value], key: &str, absolute: bool, base: usize) -> Answer {
    let page = page_number(req, base);
    let (slice, total, next) = page_of(records, page, base);
    let mut body = json!({key: slice, "page": page, "total_pages": total});
    if let Some(n) = next {
        let origin = if absolute { BASE_URL } else { "" };
        body["next_page"] = json!(format!("{origin}{}?page={n}", req.path));
    }
    ok(body)
}

fn id_in(path: &str, from_end: usize) -> Option<i64> {
    path.rsplit('/').nth(from_end)?.parse().ok()
}

fn body_json(req: &Logged) -> Value {
    serde_json::from_str(&req.body).unwrap_or(Value::Null)
}

fn form(req: &Logged) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect()
}

fn form_field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The answer of dlt's mock to a request; `None` for a route it does not have (404).
pub fn answer(req: &Logged) -> Option<Answer> {
    let all = posts(PAGE_SIZE * TOTAL_PAGES);
    let path = req.path.as_str();
    let get = req.method == "GET";
    Some(match path {
        "/posts" if get => paginate(req, &all, "data", true, 1),
        "/posts_no_key" => paginate(req, &all, "null", true, 1),
        "/posts_zero_based" => paginate(req, &all, "data", true, 0),
        "/posts_relative_next_url" => paginate(req, &all, "data", false, 1),
        "/posts_under_a_different_key" => paginate(req, &all, "many-results", true, 1),
        "/posts_with_reactions" => paginate(req, &posts_with_reactions(), "data", true, 1),
        "/posts_form_data_incremental" => paginate(req, &all, "data", true, 1),
        "/posts_header_link" | "/posts_header_cursor" => {
            let page = page_number(req, 1);
            let (slice, _, next) = page_of(&all, page, 1);
            let headers = match (next, path) {
                (Some(n), "/posts_header_link") => vec![(
                    "Link".into(),
                    format!("<{BASE_URL}{path}?page={n}>; rel=\"next\""),
                )],
                (Some(n), _) => vec![("cursor".into(), n.to_string())],
                (None, _) => vec![],
            };
            (200, Body::Json(Value::Array(slice)), headers)
        }
        "/posts_offset_limit" | "/posts_offset_limit_via_json_body" => {
            let (offset, limit) = if get {
                (
                    req.param("offset")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                    req.param("limit")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(10),
                )
            } else {
                let b = body_json(req);
                (
                    b["offset"].as_u64().unwrap_or(0) as usize,
                    b["limit"].as_u64().unwrap_or(10) as usize,
                )
            };
            let slice: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
            ok(json!({"data": slice, "total_records": all.len(), "offset": offset, "limit": limit}))
        }
        "/posts_cursor" => {
            let cursor: usize = req
                .param("cursor")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let slice: Vec<Value> = all.iter().skip(cursor).take(5).cloned().collect();
            let next = (cursor + 5 < all.len()).then_some(cursor + 5);
            ok(json!({"data": slice, "next_cursor": next}))
        }
        "/posts_cursor_null_terminated" => match req.param("cursor") {
            None => ok(
                json!({"users": (0..10).map(|i| json!({"id": i, "name": format!("User {i}")})).collect::<Vec<_>>(), "next_token": "cursor_page_2"}),
            ),
            Some("cursor_page_2") => ok(
                json!({"users": (10..14).map(|i| json!({"id": i, "name": format!("User {i}")})).collect::<Vec<_>>(), "next_token": "cursor_final"}),
            ),
            Some(_) => ok(json!({"users": null, "next_token": null})),
        },
        "/post_comments" if get => paginate(
            req,
            &comments(
                req.param("post_id")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
            ),
            "data",
            true,
            1,
        ),
        "/post_comments" => paginate(
            req,
            &comments(body_json(req)["post_id"].as_i64().unwrap_or(0)),
            "data",
            true,
            1,
        ),
        "/post_comments_via_headers" => paginate(
            req,
            &comments(req.header("post_id")?.parse().ok()?),
            "data",
            true,
            1,
        ),
        "/post_comments_via_form_data" => {
            let post_id: i64 = match req.header("content-type") {
                Some(t) if t.eq_ignore_ascii_case("application/x-www-form-urlencoded") => {
                    form_field(&form(req), "post_id")?.parse().ok()?
                }
                None => req.body.trim().parse().ok()?,
                Some(_) => return Some(status(400, json!({"error": "unsupported content type"}))),
            };
            paginate(req, &comments(post_id), "data", true, 1)
        }
        "/post_detail" | "/post_detail_via_headers" => {
            let id: i64 = match (path, get) {
                ("/post_detail", true) => req
                    .param("post_id")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0),
                ("/post_detail", false) => body_json(req)["post_id"].as_i64().unwrap_or(0),
                _ => req.header("post_id")?.parse().ok()?,
            };
            ok(json!({"id": id, "body": format!("Post body {id}")}))
        }
        "/posts/search" => search(req),
        "/protected/posts/basic-auth" => guarded(
            req,
            req.header("authorization") == Some("Basic dXNlcjpwYXNzd29yZA=="),
            &all,
        ),
        "/protected/posts/bearer-token" => guarded(
            req,
            req.header("authorization") == Some("Bearer test-token"),
            &all,
        ),
        "/protected/posts/bearer-token-plain-text-error" => {
            if req.header("authorization") == Some("Bearer test-token") {
                paginate(req, &all, "data", true, 1)
            } else {
                (401, Body::Text("Unauthorized".into()), vec![])
            }
        }
        "/protected/posts/api-key" => {
            guarded(req, req.header("x-api-key") == Some("test-api-key"), &all)
        }
        "/oauth/token" | "/oauth/token-expires-now" => {
            let f = form(req);
            let ok_client = form_field(&f, "grant_type")
                .is_some_and(|g| g.contains("client_credentials"))
                && form_field(&f, "client_id") == Some("test-client-id")
                && form_field(&f, "client_secret") == Some("test-client-secret");
            let expires = if path.ends_with("now") { 0 } else { 3600 };
            if ok_client {
                ok(json!({"access_token": "test-token", "expires_in": expires}))
            } else {
                status(401, json!({"error": "Unauthorized"}))
            }
        }
        "/post_form_data" => match req.header("content-type") {
            Some("application/x-www-form-urlencoded") => {
                let mut data = serde_json::Map::new();
                for (k, v) in form(req) {
                    data.entry(k)
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                        .expect("a list")
                        .push(json!(v));
                }
                ok(json!({"data": data}))
            }
            other => ok(
                json!({"error": format!("Unsupported content type: {}", other.unwrap_or("None")), "data": req.body}),
            ),
        },
        "/post_raw_data" => ok(json!({"data": req.body})),
        _ => return detail_routes(req),
    })
}

fn guarded(req: &Logged, allowed: bool, all: &[Value]) -> Answer {
    if allowed {
        paginate(req, all, "data", true, 1)
    } else {
        status(401, json!({"error": "Unauthorized"}))
    }
}

/// dlt's `search_posts`: POST with the page in the JSON body.
fn search(req: &Logged) -> Answer {
    let b = body_json(req);
    let size = b["page_size"].as_u64().unwrap_or(PAGE_SIZE as u64) as usize;
    let count = b["page_count"].as_u64().unwrap_or(TOTAL_PAGES as u64) as usize;
    let page = b["page"].as_u64().unwrap_or(1) as usize;
    let above = b["ids_greater_than"].as_i64().unwrap_or(0);
    let records: Vec<Value> = posts(size * count)
        .into_iter()
        .filter(|r| r["id"].as_i64() > Some(above))
        .collect();
    let total_pages = records.len().div_ceil(size);
    let slice: Vec<Value> = records
        .iter()
        .skip((page.max(1) - 1) * size)
        .take(size)
        .cloned()
        .collect();
    let next = if page < total_pages {
        json!(page + 1)
    } else {
        Value::Null
    };
    ok(json!({"data": slice, "next_page": next, "total_pages": count}))
}

/// `/posts/{id}`, `/posts/{id}/comments` and the status-code routes under a post.
fn detail_routes(req: &Logged) -> Option<Answer> {
    let path = req.path.as_str();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["posts", id] => {
            let id: i64 = id.parse().ok()?;
            Some(ok(json!({"id": id, "body": format!("Post body {id}")})))
        }
        ["posts", _, "comments"] => {
            Some(paginate(req, &comments(id_in(path, 1)?), "data", true, 1))
        }
        ["posts", id, route] => {
            let id: i64 = id.parse().ok()?;
            let fine = ok(json!({"id": id, "body": format!("Post body {id}")}));
            let not_found = status(
                404,
                json!({"error": format!("Post with id {id} not found")}),
            );
            Some(match (*route, id) {
                (_, 0) => fine,
                ("some_details_404", _) => not_found,
                ("some_details_404_others_422", 1) => not_found,
                ("some_details_404_others_422", _) => (422, Body::Json(Value::Null), vec![]),
                ("some_details_204", _) => (204, Body::Empty, vec![]),
                _ => return None,
            })
        }
        _ => None,
    }
}
