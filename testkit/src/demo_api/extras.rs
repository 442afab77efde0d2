//! Routes for dlt's known traps, each serving `resource` rows of the spec (API key in the query):
//!
//! - `GET /v1/cursor_required/<name>?cursor=…&limit=…` → `{"data": [...], "next_cursor": …}`. Without a
//!   `cursor` parameter the first page comes with `"next_cursor": null` (the trap: a client that sends no
//!   cursor at first stops after one page); `cursor=*` starts paging, and `next_cursor` is null on the last page.
//! - `GET /v1/nototal/<name>?offset=…&limit=…` → `{"data": [...], "total": null}`.
//! - `GET /v1/export/<name>?part=…` → JSON Lines, 100 rows a part, with `Link: <…?part=N>; rel="next"` while
//!   parts remain.
//! - `GET /v1/dated/<name>?since=…&until=…&offset=…&limit=…` → `{"data": [...], "total": N}`: the rows with a
//!   `ts` spread evenly over 2025 ([`dated_row`]), those with `since <= ts < until` (either bound optional, as
//!   RFC 3339 date-times), in `ts` order, with the total of that range.

use super::{Answer, Body, Logged, Shared};
use serde_json::{Value, json};

/// Rows per part of an export.
const EXPORT_PART: usize = 100;

/// The answer of a trap route, or `None` for other paths.
pub(super) fn answer(shared: &Shared, req: &Logged) -> Option<Answer> {
    let rest = req.path.strip_prefix("/v1/")?;
    let (route, name) = rest.split_once('/')?;
    if !matches!(route, "cursor_required" | "nototal" | "export" | "dated") {
        return None;
    }
    let spec = &shared.spec;
    if req.param("api_key") != Some(spec.api_key.as_str()) {
        return Some(error(401, "missing or wrong api_key"));
    }
    let Some(&total) = spec.resources.get(name) else {
        return Some(error(404, "no such resource"));
    };
    let number = |key: &str, default: usize| {
        req.param(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let limit = number("limit", 100).clamp(1, spec.max_page);
    let rows = |from: usize, to: usize| -> Vec<Value> {
        (from.min(total)..to.min(total))
            .map(|i| spec.row(name, i))
            .collect()
    };
    Some(match route {
        "cursor_required" => {
            let start = match req.param("cursor") {
                None => None,
                Some("*") => Some(0),
                Some(c) => match c.strip_prefix('c').and_then(|n| n.parse().ok()) {
                    Some(n) => Some(n),
                    None => return Some(error(400, "bad cursor")),
                },
            };
            let from = start.unwrap_or(0);
            let next =
                (start.is_some() && from + limit < total).then(|| format!("c{}", from + limit));
            let body = json!({"data": rows(from, from + limit), "next_cursor": next});
            (200, Body::Json(body), vec![])
        }
        "dated" => {
            let bound = |key: &str| {
                req.param(key)
                    .map(|v| chrono::DateTime::parse_from_rfc3339(v).map(|t| t.timestamp()))
            };
            let (since, until) = match (bound("since").transpose(), bound("until").transpose()) {
                (Ok(s), Ok(u)) => (s, u),
                _ => return Some(error(400, "since and until must be RFC 3339 date-times")),
            };
            let within = |i: &usize| {
                let at = dated_seconds(*i, total);
                since.is_none_or(|s| at >= s) && until.is_none_or(|u| at < u)
            };
            let hits: Vec<usize> = (0..total).filter(within).collect();
            let offset = number("offset", 0);
            let data: Vec<Value> = hits
                .iter()
                .skip(offset)
                .take(limit)
                .map(|&i| dated_row(spec, name, i, total))
                .collect();
            (
                200,
                Body::Json(json!({"data": data, "total": hits.len()})),
                vec![],
            )
        }
        "nototal" => {
            let offset = number("offset", 0);
            let body = json!({"data": rows(offset, offset + limit), "total": null});
            (200, Body::Json(body), vec![])
        }
        _ => {
            let part = number("part", 0);
            let lines: String = rows(part * EXPORT_PART, (part + 1) * EXPORT_PART)
                .iter()
                .map(|r| format!("{r}\n"))
                .collect();
            let mut headers = vec![];
            if (part + 1) * EXPORT_PART < total {
                let next = format!("<{}?part={}>; rel=\"next\"", req.path, part + 1);
                headers.push(("Link".to_string(), next));
            }
            (200, Body::Text(lines), headers)
        }
    })
}

fn error(status: u16, message: &str) -> Answer {
    (status, Body::Json(json!({ "error": message })), vec![])
}

/// 2025-01-01T00:00:00Z.
const YEAR_START: i64 = 1_735_689_600;

/// Row `i` of `n` of the dated route: the resource's row with `ts`, spread evenly over 2025.
pub fn dated_row(spec: &super::DemoSpec, name: &str, i: usize, n: usize) -> Value {
    let mut row = spec.row(name, i);
    let at = chrono::DateTime::from_timestamp(dated_seconds(i, n), 0).unwrap_or_default();
    row["ts"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    row
}

/// Unix seconds of row `i` of `n`: `i` × (a year / `n`), whole seconds.
fn dated_seconds(i: usize, n: usize) -> i64 {
    YEAR_START + (i as i64) * (365 * 86_400) / (n.max(1) as i64)
}
