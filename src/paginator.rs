//! Paginators in dlt 1.31 semantics, as pure state machines.
//!
//! A paginator is a config ([`Paginator`]) plus a [`Position`]: what the next request asks for. The engine applies
//! the position to the request ([`Paginator::apply`]) and, once the page is in, asks for the next position
//! ([`Paginator::advance`]). Positions serialise into checkpoints. Offset and page-number paging share their stop
//! rule, a [`Range`] (dlt's `RangePaginator`).

use crate::request::RequestParts;
use crate::select::Path;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a paginator puts a value: a query parameter or a dotted path in the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// A query parameter name.
    Query(String),
    /// A dotted path in the JSON body (`page`, `paging.offset`).
    Body(Vec<String>),
}

impl Slot {
    fn set(&self, parts: &mut RequestParts, value: Value) {
        match self {
            Slot::Query(name) => parts.set_param(name, value),
            Slot::Body(path) => parts.set_body_path(path, value),
        }
    }
}

/// A configured paginator.
#[derive(Debug, Clone)]
pub enum Paginator {
    /// One request, one page.
    SinglePage,
    /// `offset`/`limit` paging.
    Offset {
        /// Page size, sent in `limit_slot`.
        limit: i64,
        /// First offset.
        offset: i64,
        /// Where the offset goes.
        offset_slot: Slot,
        /// Where the limit goes.
        limit_slot: Slot,
        /// When to stop: the total is of records, the maximum (`maximum_offset`) bounds the offset.
        range: Range,
    },
    /// Page-number paging.
    PageNumber {
        /// Number of the first page (0 by default).
        base_page: i64,
        /// Page to start from (`base_page` by default).
        page: i64,
        /// Where the page number goes.
        page_slot: Slot,
        /// When to stop: the total is of pages, the maximum (`maximum_page`) bounds the page number.
        range: Range,
    },
    /// A cursor taken from the response body and sent back as a parameter.
    Cursor {
        /// JSONPath of the next cursor in the body.
        cursor_path: Path,
        /// Where the cursor goes.
        cursor_slot: Slot,
        /// Page size sent as the `limit` query parameter on every request (seed extension).
        limit: Option<i64>,
        /// Stop on a page with no records (default false).
        stop_after_empty_page: bool,
        /// JSONPath of a "has more" flag.
        has_more_path: Option<Path>,
        /// The cursor sent on the first request (`initial_cursor`, extension): without it the first request has
        /// none.
        initial_cursor: Option<Value>,
    },
    /// A next URL taken from the body.
    JsonLink {
        /// JSONPath of the next URL.
        next_url_path: Path,
    },
    /// A next URL taken from the `Link` header.
    HeaderLink {
        /// The `rel` to follow (`next`).
        links_next_key: String,
    },
    /// A cursor taken from a response header and sent back as a query parameter.
    HeaderCursor {
        /// Response header holding the cursor.
        cursor_key: String,
        /// Query parameter to send it in.
        cursor_param: String,
    },
}

/// The part the offset and page-number paginators share (dlt's `RangePaginator`): a value that steps by a fixed
/// amount until it reaches the total or the maximum, a page comes with no records, or a "has more" flag is false.
#[derive(Debug, Clone)]
pub struct Range {
    /// JSONPath of the total (`total` by default): of records for offsets, of pages for page numbers.
    pub total_path: Option<Path>,
    /// Exclusive upper bound on the value (`maximum_offset`, `maximum_page`).
    pub maximum: Option<i64>,
    /// Stop on a page with no records (default true).
    pub stop_after_empty_page: bool,
    /// JSONPath of a "has more" flag.
    pub has_more_path: Option<Path>,
    /// A missing or `null` total leaves the decision to the other stop rules instead of failing
    /// (`on_missing_total: "fallback"`, extension).
    pub total_fallback: bool,
}

impl Range {
    /// The value after `current` (one `step` on), or `None` when `page` was the last. `base` is the value of the
    /// first page (dlt's `base_index`), from which a total counts; `who` names the paginator in errors.
    fn next(
        &self,
        current: i64,
        step: i64,
        base: i64,
        page: &PageView<'_>,
        who: &str,
    ) -> Result<Option<i64>, String> {
        if page.record_count == 0 && self.stop_after_empty_page {
            return Ok(None);
        }
        let total = self.total(page.body, who)?;
        let next = current + step;
        let more = total.is_none_or(|t| next < t + base)
            && self.maximum.is_none_or(|m| next < m)
            && has_more(self.has_more_path.as_ref(), page.body)?;
        Ok(more.then_some(next))
    }

    /// The total this page gives, if any; an error when it has none and no fallback was asked for.
    fn total(&self, body: &Value, who: &str) -> Result<Option<i64>, String> {
        let path = self.total_path.as_ref();
        if self.total_fallback && path.and_then(|p| p.first(body)).is_none_or(Value::is_null) {
            return Ok(None);
        }
        read_total(path, body, who)
    }

    /// The first value `next` would refuse, from this page's total and the maximum; `None` when the run may end
    /// before it: no total and no maximum, a maximum while an empty page stops paging, or a "has more" flag.
    fn bound(&self, base: i64, body: &Value) -> Option<i64> {
        if self.has_more_path.is_some() {
            return None;
        }
        let total = self.total(body, "").ok().flatten();
        match (total.map(|t| t.saturating_add(base)), self.maximum) {
            (Some(t), Some(m)) => Some(t.min(m)),
            (Some(t), None) => Some(t),
            // Without a total, an empty page ends paging wherever it comes: the maximum is a certain end only
            // when empty pages do not stop it.
            (None, m) => m.filter(|_| !self.stop_after_empty_page),
        }
    }
}

/// What the next request of a paginated resource asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", content = "value", rename_all = "snake_case")]
pub enum Position {
    /// The first request (no cursor yet).
    First,
    /// An offset.
    Offset(i64),
    /// A page number.
    Page(i64),
    /// A cursor value, as the response gave it (sent raw in a JSON body, as `str()` in a query).
    Cursor(Value),
    /// A next URL (absolute).
    NextUrl(String),
    /// No more pages.
    Done,
}

impl Paginator {
    /// The JSONPaths this paginator reads from a response body.
    pub fn body_paths(&self) -> Vec<&Path> {
        match self {
            Paginator::Offset { range, .. } | Paginator::PageNumber { range, .. } => range
                .total_path
                .iter()
                .chain(&range.has_more_path)
                .collect(),
            Paginator::Cursor {
                cursor_path,
                has_more_path,
                ..
            } => std::iter::once(cursor_path).chain(has_more_path).collect(),
            Paginator::JsonLink { next_url_path } => vec![next_url_path],
            Paginator::SinglePage
            | Paginator::HeaderLink { .. }
            | Paginator::HeaderCursor { .. } => Vec::new(),
        }
    }

    /// The dlt config form of a paginator detection can pick (to store it in a checkpoint); `None` for the
    /// kinds detection never picks.
    pub fn describe(&self) -> Option<Value> {
        use serde_json::json;
        Some(match self {
            Paginator::SinglePage => json!({"type": "single_page"}),
            Paginator::HeaderLink { links_next_key } => {
                json!({"type": "header_link", "links_next_key": links_next_key})
            }
            Paginator::JsonLink { next_url_path } => {
                json!({"type": "json_link", "next_url_path": next_url_path.as_str()})
            }
            Paginator::PageNumber {
                base_page,
                page,
                page_slot: Slot::Query(param),
                range:
                    Range {
                        total_path: Some(total),
                        maximum: None,
                        stop_after_empty_page: true,
                        has_more_path: None,
                        total_fallback: false,
                    },
            } if page == base_page => {
                json!({"type": "page_number", "page_param": param, "total_path": total.as_str(),
                       "base_page": base_page})
            }
            Paginator::Cursor {
                cursor_path,
                cursor_slot: Slot::Query(param),
                limit: None,
                stop_after_empty_page: false,
                has_more_path: None,
                initial_cursor: None,
            } => {
                json!({"type": "cursor", "cursor_path": cursor_path.as_str(), "cursor_param": param})
            }
            _ => return None,
        })
    }
}

/// What a response carries that paginators read.
pub struct PageView<'a> {
    /// The parsed body.
    pub body: &'a Value,
    /// Response headers.
    pub headers: &'a [(String, String)],
    /// How many records the page had after selection.
    pub record_count: usize,
    /// The URL the page was fetched from (to resolve relative next links).
    pub url: &'a str,
}

impl Paginator {
    /// The position of the first request.
    pub fn start(&self) -> Position {
        match self {
            Paginator::Offset { offset, .. } => Position::Offset(*offset),
            Paginator::PageNumber { page, .. } => Position::Page(*page),
            Paginator::Cursor {
                initial_cursor: Some(c),
                ..
            } => Position::Cursor(c.clone()),
            _ => Position::First,
        }
    }

    /// For offset and page-number paging: the step between positions and the first value the run will not
    /// ask for, as this page tells it (its total, or the maximum). With them, the positions of the pages still
    /// to come are known before their responses are in; any other paginator learns each from the last page.
    pub fn known_range(&self, body: &Value) -> Option<(i64, i64)> {
        match self {
            Paginator::Offset { limit, range, .. } => Some((*limit, range.bound(0, body)?)),
            Paginator::PageNumber {
                base_page, range, ..
            } => Some((1, range.bound(*base_page, body)?)),
            _ => None,
        }
    }

    /// Put the position into the request.
    pub fn apply(&self, position: &Position, parts: &mut RequestParts) {
        match (self, position) {
            (
                Paginator::Offset {
                    limit,
                    offset_slot,
                    limit_slot,
                    ..
                },
                Position::Offset(o),
            ) => {
                offset_slot.set(parts, Value::from(*o));
                limit_slot.set(parts, Value::from(*limit));
            }
            (Paginator::PageNumber { page_slot, .. }, Position::Page(p)) => {
                page_slot.set(parts, Value::from(*p));
            }
            (
                Paginator::Cursor {
                    cursor_slot, limit, ..
                },
                pos,
            ) => {
                if let Some(limit) = limit {
                    parts.set_param("limit", Value::from(*limit));
                }
                if let Position::Cursor(c) = pos {
                    cursor_slot.set(parts, c.clone());
                }
            }
            (Paginator::HeaderCursor { cursor_param, .. }, Position::Cursor(c)) => {
                parts.set_param(cursor_param, c.clone());
            }
            (_, Position::NextUrl(url)) => parts.replace_url(url),
            _ => {}
        }
    }

    /// The position after the page `page`, or an error text when the response breaks the paginator's rules.
    pub fn advance(&self, position: &Position, page: &PageView<'_>) -> Result<Position, String> {
        match self {
            Paginator::SinglePage => Ok(Position::Done),
            Paginator::Offset { limit, range, .. } => {
                let Position::Offset(current) = position else {
                    return Err(format!("offset paginator at {position:?}"));
                };
                let next = range.next(*current, *limit, 0, page, "OffsetPaginator")?;
                Ok(next.map_or(Position::Done, Position::Offset))
            }
            Paginator::PageNumber {
                base_page, range, ..
            } => {
                let Position::Page(current) = position else {
                    return Err(format!("page number paginator at {position:?}"));
                };
                let next = range.next(*current, 1, *base_page, page, "PageNumberPaginator")?;
                Ok(next.map_or(Position::Done, Position::Page))
            }
            Paginator::Cursor {
                cursor_path,
                stop_after_empty_page,
                has_more_path,
                ..
            } => {
                let empty = page.record_count == 0;
                if empty && *stop_after_empty_page || !has_more(has_more_path.as_ref(), page.body)?
                {
                    return Ok(Position::Done);
                }
                Ok(match cursor_path.first(page.body).filter(|v| truthy(v)) {
                    Some(c) => Position::Cursor(c.clone()),
                    None => Position::Done,
                })
            }
            Paginator::JsonLink { next_url_path } => match next_url_path.first(page.body) {
                None | Some(Value::Null) => Ok(Position::Done),
                Some(Value::String(s)) if s.is_empty() => Ok(Position::Done),
                Some(Value::String(s)) => resolve_url(page.url, s).map(Position::NextUrl),
                Some(other) => Err(format!(
                    "next URL at `{}` is not a string: {other}",
                    next_url_path.as_str()
                )),
            },
            Paginator::HeaderLink { links_next_key } => {
                let base =
                    url::Url::parse(page.url).map_err(|e| format!("bad request URL: {e}"))?;
                match link_target(page.headers, links_next_key, &base) {
                    Some(target) => resolve_url(page.url, &target).map(Position::NextUrl),
                    None => Ok(Position::Done),
                }
            }
            Paginator::HeaderCursor { cursor_key, .. } => Ok(header(page.headers, cursor_key)
                .map_or(Position::Done, |v| {
                    Position::Cursor(Value::String(v.to_string()))
                })),
        }
    }
}

/// Python truthiness of a cursor: `null`, `false`, `0`, `""`, `[]` and `{}` stop pagination (dlt).
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) => true,
    }
}

fn read_total(path: Option<&Path>, body: &Value, who: &str) -> Result<Option<i64>, String> {
    let Some(path) = path else { return Ok(None) };
    let value = match path.first(body) {
        None | Some(Value::Null) => {
            return Err(format!(
                "Total `{}` not found in the response in `{who}`. Expected a response with a `total` key, or set `total_path` to null",
                path.as_str()
            ));
        }
        Some(v) => v,
    };
    let total = match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match total {
        // dlt stops after the first page on a negative total and keeps its rows; that loses the rest.
        Some(t) if t < 0 => Err(format!(
            "the total at `{}` (total_path) is {value} in `{who}`: a negative total cannot be right, and \
             paging by it would stop early and lose rows",
            path.as_str()
        )),
        Some(t) => Ok(Some(t)),
        None => Err(format!(
            "'{}' is not an `int` in the response in `{who}`: {value}",
            path.as_str()
        )),
    }
}

fn has_more(path: Option<&Path>, body: &Value) -> Result<bool, String> {
    let Some(path) = path else { return Ok(true) };
    match path.first(body) {
        None => Err(format!(
            "Has more value not found in the response at `{}`",
            path.as_str()
        )),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "t" | "y" | "1" => Ok(true),
            "no" | "false" | "f" | "n" | "0" => Ok(false),
            _ => Err(format!("'{}' is not a `bool`: {s:?}", path.as_str())),
        },
        Some(other) => Err(format!("'{}' is not a `bool`: {other}", path.as_str())),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The target of the first `Link` header entry with relation `rel` (relation types compare case-insensitively),
/// resolved against `base`, the URL of the page it came with. A `Link` header that does not parse is ignored.
pub fn link_target(headers: &[(String, String)], rel: &str, base: &url::Url) -> Option<String> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("link"))
        .filter_map(|(_, v)| http_link::parse_link_header(v, base).ok())
        .flatten()
        .find(|link| link.rel.eq_ignore_ascii_case(rel))
        .map(|link| link.target.into())
}

/// Whether a response has a `Link` header that cannot be read at all (it may have held the next page).
pub fn unreadable_link(headers: &[(String, String)], base: &url::Url) -> bool {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("link"))
        .any(|(_, v)| http_link::parse_link_header(v, base).is_err())
}

/// Resolve `target` against the URL of the page it came from (RFC 3986, like Python's `urljoin`).
fn resolve_url(base: &str, target: &str) -> Result<String, String> {
    let base = url::Url::parse(base).map_err(|e| format!("bad request URL: {e}"))?;
    let next = base
        .join(target)
        .map_err(|e| format!("next URL `{target}` is invalid: {e}"))?;
    match next.scheme() {
        "http" | "https" => Ok(next.into()),
        other => Err(format!(
            "next URL `{target}` is not http or https (scheme `{other}`)"
        )),
    }
}

#[cfg(test)]
mod tests;
