//! dlt's detection rules: single-entity paths and, for endpoints without a paginator, the paginator the first
//! response implies (header link, JSON next link, total pages, cursor, else single page).

use crate::paginator::{Paginator, Range, Slot};
use crate::select::Path;
use serde_json::Value;

/// dlt's `single_entity_path`: the last segment of the path (`PurePosixPath(path).name`) holds a `{name}` whose
/// name is made of letters, digits, `.`, `-` and `_`.
pub fn single_entity_path(path: &str) -> bool {
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    name.match_indices('{').any(|(open, _)| {
        let rest = &name[open + 1..];
        let len = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
            .count();
        len > 0 && rest[len..].starts_with('}')
    })
}

fn starts_with_ci(key: &str, prefix: &str) -> bool {
    key.to_lowercase().starts_with(prefix)
}

/// A Python scalar as dlt's detectors accept it (`str`, `int`, `float`; `bool` is an `int` in Python).
fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// dlt's `find_next_page_path`: depth first, the first key starting with `next` (any case) whose value is a
/// scalar, or a dict with a scalar under a key starting with `href` or `url`.
pub fn next_page_path(body: &Value) -> Option<(Vec<String>, &Value)> {
    let Value::Object(map) = body else {
        return None;
    };
    for (key, value) in map {
        if starts_with_ci(key, "next") {
            match value {
                Value::Object(inner) => {
                    let found = inner.iter().find(|(k, v)| {
                        (starts_with_ci(k, "href") || starts_with_ci(k, "url")) && is_scalar(v)
                    });
                    if let Some((k, v)) = found {
                        return Some((vec![key.clone(), k.clone()], v));
                    }
                }
                v if is_scalar(v) => return Some((vec![key.clone()], v)),
                _ => {}
            }
        }
        if value.is_object()
            && let Some((mut path, v)) = next_page_path(value)
        {
            path.insert(0, key.clone());
            return Some((path, v));
        }
    }
    None
}

/// dlt's `find_total_pages_path`: depth first, the first key that is `total_pages`, `pages` or `totalpages` (any
/// case) with a scalar value.
pub fn total_pages_path(body: &Value) -> Option<(Vec<String>, &Value)> {
    let Value::Object(map) = body else {
        return None;
    };
    for (key, value) in map {
        let lower = key.to_lowercase();
        if ["total_pages", "pages", "totalpages"].contains(&lower.as_str()) && is_scalar(value) {
            return Some((vec![key.clone()], value));
        }
        if value.is_object()
            && let Some((mut path, v)) = total_pages_path(value)
        {
            path.insert(0, key.clone());
            return Some((path, v));
        }
    }
    None
}

/// Whether a next value is a link: absolute, or relative with a path or a query (`/items?page=2`, `?page=2`,
/// `./2`). dlt takes only `http…` and `/…` for links and any other value for a cursor, so a relative link
/// became a cursor parameter and the first page was fetched again and again.
fn looks_like_link(href: &str) -> bool {
    href.starts_with("http")
        || href.starts_with('/')
        || href.starts_with("./")
        || href.starts_with("../")
        || href.contains('?')
}

/// The integer page number a body states beside its total-pages key (`page`, `current_page`, `page_number`,
/// any case), if any.
fn stated_page(body: &Value, total_keys: &[String]) -> Option<i64> {
    let parent = total_keys.split_last().map_or(Some(body), |(_, up)| {
        up.iter().try_fold(body, |v, k| v.get(k))
    })?;
    let map = parent.as_object()?;
    map.iter()
        .find(|(k, _)| {
            let k = k.to_lowercase();
            [
                "page",
                "current_page",
                "currentpage",
                "page_number",
                "pagenumber",
            ]
            .contains(&k.as_str())
        })
        .and_then(|(_, v)| v.as_i64())
}

/// Python's `int(x)` succeeding for a JSON scalar.
fn int_coercible(v: &Value) -> bool {
    match v {
        Value::Number(_) | Value::Bool(_) => true,
        Value::String(s) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    }
}

fn path_of(keys: &[String]) -> Option<Path> {
    Path::parse(&keys.join(".")).ok()
}

/// The paginator dlt's `PaginatorFactory` picks for a first response (from `url`), in its order: a `Link` header with
/// `rel="next"`; a next link in the body starting with `http` or `/`; a total-pages key; any other next value as
/// a cursor; else a single page.
pub fn detect_paginator(headers: &[(String, String)], body: &Value, url: &str) -> Paginator {
    let has_link_next = url::Url::parse(url)
        .is_ok_and(|base| crate::paginator::link_target(headers, "next", &base).is_some());
    if has_link_next {
        return Paginator::HeaderLink {
            links_next_key: "next".into(),
        };
    }
    let next = next_page_path(body);
    if let Some((keys, Value::String(href))) = &next
        && looks_like_link(href)
        && let Some(next_url_path) = path_of(keys)
    {
        return Paginator::JsonLink { next_url_path };
    }
    if let Some((keys, total)) = total_pages_path(body)
        && let (true, Some(total_path)) = (int_coercible(total), path_of(&keys))
    {
        // The page the response says it is (fastapi-pagination's `page`): the next one is that plus one. dlt
        // counts from 0 whatever the API says, so it asks for the first page twice and misses the last.
        let stated = stated_page(body, &keys).unwrap_or(0);
        return Paginator::PageNumber {
            base_page: stated,
            page: stated,
            page_slot: Slot::Query("page".into()),
            range: Range {
                total_path: Some(total_path),
                maximum: None,
                stop_after_empty_page: true,
                has_more_path: None,
                total_fallback: false,
            },
        };
    }
    if let Some(cursor_path) = next.and_then(|(keys, _)| path_of(&keys)) {
        return Paginator::Cursor {
            cursor_path,
            cursor_slot: Slot::Query("cursor".into()),
            limit: None,
            stop_after_empty_page: false,
            has_more_path: None,
            initial_cursor: None,
        };
    }
    Paginator::SinglePage
}

#[cfg(test)]
mod tests;
