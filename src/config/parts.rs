//! Parsing the parts of an endpoint: paginator, headers, response actions and the `error_handler` extension
//! (auth: `auth_parts.rs`).

use super::check::{Checker, join};
use crate::limits::ResponseLimits;
use crate::paginator::{Paginator, Range, Slot};
use crate::retry::RetryPolicy;
use crate::select::Path;
use serde_json::{Map, Value};

/// Paginator type names dlt accepts.
pub(super) const PAGINATOR_TYPES: [&str; 9] = [
    "json_link",
    "json_response",
    "header_link",
    "header_cursor",
    "auto",
    "single_page",
    "cursor",
    "offset",
    "page_number",
];

/// A paginator setting: `None` is `auto` (fall back to the next level, then detection).
pub fn paginator(v: &Value, path: &str, ck: &mut Checker) -> Option<Paginator> {
    let (kind, map) = match v {
        Value::String(s) => (s.as_str(), Map::new()),
        Value::Object(m) => match m.get("type") {
            Some(Value::String(t)) => (t.as_str(), m.clone()),
            Some(other) => {
                ck.wrong_type(&join(path, "type"), other, "str");
                return None;
            }
            None => {
                ck.problem(join(path, "type"), "missing required field");
                return None;
            }
        },
        other => {
            ck.wrong_type(path, other, "str | dict");
            return None;
        }
    };
    ck.literal(kind, &PAGINATOR_TYPES, &join(path, "type"))?;
    if kind == "offset" && v.is_string() {
        ck.problem(path, "Paginator `offset` requires arguments to create an instance: write it as an object with `limit`");
        return None;
    }
    ck.only_keys(&map, paginator_keys(kind), path);
    let before = ck.problems.len();
    let p = match kind {
        "offset" => offset(&map, path, ck),
        "page_number" => page_number(&map, path, ck),
        "cursor" => cursor(&map, path, ck),
        "json_link" | "json_response" => Some(Paginator::JsonLink {
            next_url_path: json_path(&map, "next_url_path", "next", path, ck)?,
        }),
        "header_link" => Some(Paginator::HeaderLink {
            links_next_key: ck
                .opt_str(&map, "links_next_key", path)
                .unwrap_or_else(|| "next".into()),
        }),
        "header_cursor" => Some(Paginator::HeaderCursor {
            cursor_key: ck
                .opt_str(&map, "cursor_key", path)
                .unwrap_or_else(|| "next".into()),
            cursor_param: ck
                .opt_str(&map, "cursor_param", path)
                .unwrap_or_else(|| "cursor".into()),
        }),
        "single_page" => Some(Paginator::SinglePage),
        _ => None,
    };
    if ck.problems.len() > before { None } else { p }
}

/// A JSONPath setting with a default; `null` is the default too.
fn json_path(
    map: &Map<String, Value>,
    key: &str,
    default: &str,
    path: &str,
    ck: &mut Checker,
) -> Option<Path> {
    let text = ck.opt_str(map, key, path).unwrap_or_else(|| default.into());
    Path::parse(&text)
        .map_err(|e| ck.problem(join(path, key), e))
        .ok()
}

/// An optional JSONPath: absent means `default`, explicit `null` means none.
fn opt_json_path(
    map: &Map<String, Value>,
    key: &str,
    default: Option<&str>,
    path: &str,
    ck: &mut Checker,
) -> Option<Path> {
    let text = match map.get(key) {
        Some(Value::Null) => return None,
        None => default?.to_string(),
        Some(_) => ck.opt_str(map, key, path)?,
    };
    Path::parse(&text)
        .map_err(|e| ck.problem(join(path, key), e))
        .ok()
}

/// A query-param or body-path slot; the two spellings exclude each other.
fn slot(
    map: &Map<String, Value>,
    param: &str,
    body: &str,
    default: &str,
    path: &str,
    ck: &mut Checker,
) -> Slot {
    let p = ck.opt_str(map, param, path);
    let b = ck.opt_str(map, body, path);
    match (p, b) {
        (Some(_), Some(_)) => {
            ck.problem(
                path,
                format!("Either '{param}' or '{body}' must be provided, not both."),
            );
            Slot::Query(default.into())
        }
        (Some(p), None) => Slot::Query(p),
        (None, Some(b)) => Slot::Body(b.split('.').map(String::from).collect()),
        (None, None) => Slot::Query(default.into()),
    }
}

fn offset(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Option<Paginator> {
    let limit = ck.opt_int(map, "limit", path);
    if limit.is_none() && map.get("limit").is_none_or(Value::is_null) {
        ck.problem(join(path, "limit"), "missing required field");
    }
    Some(Paginator::Offset {
        limit: limit?,
        offset: ck.opt_int(map, "offset", path).unwrap_or(0),
        offset_slot: slot(map, "offset_param", "offset_body_path", "offset", path, ck),
        limit_slot: slot(map, "limit_param", "limit_body_path", "limit", path, ck),
        range: range(map, "maximum_offset", path, ck),
    })
}

fn page_number(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Option<Paginator> {
    let base_page = ck.opt_int(map, "base_page", path).unwrap_or(0);
    Some(Paginator::PageNumber {
        base_page,
        page: ck.opt_int(map, "page", path).unwrap_or(base_page),
        page_slot: slot(map, "page_param", "page_body_path", "page", path, ck),
        range: range(map, "maximum_page", path, ck),
    })
}

/// The settings `offset` and `page_number` share (dlt's `RangePaginator`); `maximum` is the key of the bound
/// (`maximum_offset`, `maximum_page`). At least one way to stop must be given.
fn range(map: &Map<String, Value>, maximum: &str, path: &str, ck: &mut Checker) -> Range {
    let range = Range {
        total_path: opt_json_path(map, "total_path", Some("total"), path, ck),
        maximum: ck.opt_int(map, maximum, path),
        stop_after_empty_page: ck
            .opt_bool(map, "stop_after_empty_page", path)
            .unwrap_or(true),
        has_more_path: opt_json_path(map, "has_more_path", None, path, ck),
        total_fallback: on_missing_total(map, path, ck),
    };
    if let Range {
        total_path: None,
        maximum: None,
        has_more_path: None,
        stop_after_empty_page: false,
        ..
    } = range
    {
        ck.problem(path, format!("One of `total_path`, `{maximum}`, `has_more_path`, or `stop_after_empty_page` must be provided."));
    }
    let other_stop =
        range.maximum.is_some() || range.has_more_path.is_some() || range.stop_after_empty_page;
    if range.total_fallback && !other_stop {
        let message = format!(
            "`fallback` needs another way to stop when the total is missing: `{maximum}`, `has_more_path` or \
             `stop_after_empty_page`"
        );
        ck.problem(join(path, "on_missing_total"), message);
    }
    range
}

/// `on_missing_total` (extension): `raise` (dlt: a page without a total fails) or `fallback` (the other stop rules
/// decide; dlt-hub/dlt#4429).
fn on_missing_total(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> bool {
    let value = ck.opt_str(map, "on_missing_total", path);
    let key = join(path, "on_missing_total");
    value.and_then(|v| ck.literal(&v, &["raise", "fallback"], &key)) == Some("fallback".into())
}

fn cursor(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Option<Paginator> {
    let limit = ck.opt_int(map, "limit", path);
    if limit.is_some_and(|l| l <= 0) {
        ck.problem(join(path, "limit"), "must be a positive integer");
    }
    Some(Paginator::Cursor {
        cursor_path: json_path(map, "cursor_path", "cursors.next", path, ck)?,
        cursor_slot: slot(map, "cursor_param", "cursor_body_path", "cursor", path, ck),
        limit,
        stop_after_empty_page: ck
            .opt_bool(map, "stop_after_empty_page", path)
            .unwrap_or(false),
        has_more_path: opt_json_path(map, "has_more_path", None, path, ck),
        initial_cursor: map.get("initial_cursor").filter(|v| !v.is_null()).cloned(),
    })
}

/// The keys a paginator `type` takes.
pub(super) fn paginator_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "offset" => &[
            "type",
            "limit",
            "offset",
            "offset_param",
            "offset_body_path",
            "limit_param",
            "limit_body_path",
            "total_path",
            "maximum_offset",
            "stop_after_empty_page",
            "has_more_path",
            "on_missing_total",
        ],
        "page_number" => &[
            "type",
            "base_page",
            "page",
            "page_param",
            "page_body_path",
            "total_path",
            "maximum_page",
            "stop_after_empty_page",
            "has_more_path",
            "on_missing_total",
        ],
        "cursor" => &[
            "type",
            "cursor_path",
            "cursor_param",
            "cursor_body_path",
            "stop_after_empty_page",
            "has_more_path",
            "limit",
            "initial_cursor",
        ],
        "json_link" | "json_response" => &["type", "next_url_path"],
        "header_link" => &["type", "links_next_key"],
        "header_cursor" => &["type", "cursor_key", "cursor_param"],
        _ => &["type"],
    }
}

/// Apply an `error_handler` object over `base` (keys it does not set keep `base`'s values).
pub fn error_handler(v: &Value, base: &RetryPolicy, path: &str, ck: &mut Checker) -> RetryPolicy {
    let mut policy = base.clone();
    let Some(map) = ck.object(v, path) else {
        return policy;
    };
    ck.only_keys(
        map,
        &[
            "retry_on_status_codes",
            "max_retries",
            "backoff_factor",
            "max_delay",
            "timeout",
            "low_speed_limit",
        ],
        path,
    );
    if let Some(v) = map.get("retry_on_status_codes") {
        let key = join(path, "retry_on_status_codes");
        match v.as_array() {
            Some(items) => {
                let codes: Vec<u16> = items
                    .iter()
                    .filter_map(|c| match c.as_u64() {
                        Some(c @ 100..=599) => Some(c as u16),
                        _ => {
                            ck.problem(&key, format!("`{c}` is not an HTTP status code"));
                            None
                        }
                    })
                    .collect();
                policy.statuses = Some(codes);
            }
            None => ck.wrong_type(&key, v, "list[int]"),
        }
    }
    if let Some(n) = ck.opt_int(map, "max_retries", path) {
        if n < 0 {
            ck.problem(join(path, "max_retries"), "must be ≥ 0");
        }
        policy.max_attempts = (n.clamp(0, 100) as u32) + 1;
    }
    if let Some(f) = ck.opt_number(map, "backoff_factor", path) {
        policy.backoff_factor = f;
    }
    if let Some(f) = ck.opt_number(map, "max_delay", path) {
        policy.max_delay_s = f;
    }
    if let Some(t) = ck.opt_number(map, "timeout", path) {
        if t == 0.0 {
            ck.problem(join(path, "timeout"), "must be > 0");
        }
        policy.timeout_ms = (t * 1000.0) as u64;
    }
    if let Some(n) = ck.opt_int(map, "low_speed_limit", path) {
        if n < 0 {
            ck.problem(
                join(path, "low_speed_limit"),
                "must be ≥ 0 (bytes per second; 0: no limit)",
            );
        }
        policy.low_speed_limit = n.max(0) as u64;
    }
    policy
}

/// One `response_actions` entry: ignore responses with this status and/or containing this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseAction {
    /// Status to match.
    pub status: Option<u16>,
    /// Text the body must contain.
    pub content: Option<String>,
}

impl ResponseAction {
    /// dlt's matching: both conditions when both are given, else the one given.
    pub fn matches(&self, status: u16, body: &str) -> bool {
        self.status.is_none_or(|s| s == status)
            && self
                .content
                .as_ref()
                .is_none_or(|c| body.contains(c.as_str()))
    }
}

/// `response_actions`: the JSON-expressible entries, `{status_code?, content?, action: "ignore"}`.
pub fn response_actions(v: &Value, path: &str, ck: &mut Checker) -> Vec<ResponseAction> {
    let Some(items) = v.as_array() else {
        ck.wrong_type(path, v, "list");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(map) = ck.object(item, &at) else {
            continue;
        };
        ck.only_keys(map, &["status_code", "content", "action"], &at);
        match map.get("action") {
            Some(Value::String(a)) if a == "ignore" => {}
            Some(Value::String(a)) => ck.problem(join(&at, "action"), format!("`{a}` is not an action: a JSON config can only `ignore` (other actions are Python callables)")),
            Some(other) => ck.wrong_type(&join(&at, "action"), other, "str"),
            None => ck.problem(join(&at, "action"), "missing required field"),
        }
        let status = match map.get("status_code") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
            Some(_) => None,
        };
        if map.get("status_code").is_some_and(|v| !v.is_null()) && status.is_none() {
            ck.problem(join(&at, "status_code"), "is not an HTTP status code");
        }
        let content = ck.opt_str(map, "content", &at);
        if status.is_none() && content.is_none() {
            ck.problem(
                &at,
                "needs `status_code` or `content` (without either it never matches)",
            );
        }
        out.push(ResponseAction { status, content });
    }
    out
}

/// `client.max_response_bytes` and `client.max_response_depth` (extensions), over the defaults.
pub fn response_limits(map: &Map<String, Value>, ck: &mut Checker) -> ResponseLimits {
    let mut limits = ResponseLimits::default();
    if let Some(n) = ck.opt_u64(map, "max_response_bytes", "client") {
        match n {
            1.. => limits.max_bytes = n,
            0 => ck.problem(
                "client.max_response_bytes",
                "must be a positive integer (bytes)",
            ),
        }
    }
    if let Some(n) = ck.opt_int(map, "max_response_depth", "client") {
        let most = ResponseLimits::MOST_DEPTH;
        match u32::try_from(n) {
            Ok(n) if (1..=most).contains(&n) => limits.max_depth = n,
            _ => ck.problem(
                "client.max_response_depth",
                format!("must be an integer from 1 to {most}"),
            ),
        }
    }
    limits
}

/// Tables the host keeps for itself begin with this (`_rest_source_state`, `_rest_source_loads`).
pub const RESERVED_TABLE_PREFIX: &str = "_rest_source_";

/// A resource's table: `table_name`, or its name. A name the host keeps for its own tables is refused: a
/// `replace` into `_rest_source_state` would overwrite the run state.
pub fn table_name(map: &Map<String, Value>, name: &str, path: &str, ck: &mut Checker) -> String {
    let table = ck
        .opt_str(map, "table_name", path)
        .unwrap_or_else(|| name.to_string());
    if table.starts_with(RESERVED_TABLE_PREFIX) {
        ck.problem(
            join(path, "table_name"),
            format!(
                "`{table}`: table names beginning `{RESERVED_TABLE_PREFIX}` are the host's own"
            ),
        );
    }
    table
}

/// The most headers one `headers` map may hold.
pub const MOST_HEADERS: usize = 100;
/// The longest header, name and value together, in bytes.
pub const MOST_HEADER_BYTES: usize = 8 * 1024;

/// A `headers` map (client or endpoint): names and values as text, `null` values dropped. More than
/// [`MOST_HEADERS`] headers, or one longer than [`MOST_HEADER_BYTES`], is refused: no API needs them, and the
/// host would refuse the request.
pub fn headers(v: Option<&Value>, path: &str, ck: &mut Checker) -> Vec<(String, String)> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(map) = ck.object(v, path) else {
        return Vec::new();
    };
    if map.len() > MOST_HEADERS {
        ck.problem(
            path,
            format!("{} headers; at most {MOST_HEADERS} are sent", map.len()),
        );
    }
    let out: Vec<(String, String)> = map
        .iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Null => None,
            other => Some((k.clone(), crate::render::py_str(other))),
        })
        .collect();
    for (name, value) in out
        .iter()
        .filter(|(k, v)| k.len() + v.len() > MOST_HEADER_BYTES)
    {
        let shown: String = name.chars().take(40).collect();
        ck.problem(
            join(path, &shown),
            format!(
                "{} bytes; a header may have at most {MOST_HEADER_BYTES}",
                name.len() + value.len()
            ),
        );
    }
    out
}
