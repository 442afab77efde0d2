//! The config: dlt's `rest_api_source` dictionary as JSON, parsed and validated whole before any request.
//!
//! [`parse`] expands resource shorthands, merges `resource_defaults` with dlt's rules, resolves paginator and auth
//! precedence, and reports every problem it finds with its path. Secrets must already be substituted.

mod check;
mod parts;

use crate::auth::Auth;
use crate::error::Error;
use crate::paginator::Paginator;
use crate::render::{Piece, parse_template, py_str};
use crate::request::{Form, Method, join_url};
use crate::retry::RetryPolicy;
use crate::select::Path;
use check::{Checker, join};
pub use parts::ResponseAction;
use serde_json::{Map, Value};

/// A validated config.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Resources in the order they run.
    pub resources: Vec<Resource>,
    /// The client base URL (empty when every path is absolute).
    pub base_url: String,
}

/// dlt's write dispositions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteDisposition {
    /// Append rows.
    Append,
    /// Replace the table.
    Replace,
    /// Merge on the primary key.
    Merge,
    /// Do not load.
    Skip,
}

/// A declared column hint.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnHint {
    /// Column name.
    pub name: String,
    /// Declared dlt data type (`text`, `bigint`, ...).
    pub data_type: Option<String>,
    /// Declared nullability.
    pub nullable: Option<bool>,
}

/// A resource after defaults were merged.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Name.
    pub name: String,
    /// Table name (`table_name` or the name).
    pub table_name: String,
    /// Write disposition (default `append`).
    pub write_disposition: WriteDisposition,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// Merge key columns.
    pub merge_key: Vec<String>,
    /// Declared columns.
    pub columns: Vec<ColumnHint>,
    /// Whether rows are to be stored.
    pub selected: bool,
    /// How to fetch it.
    pub endpoint: Endpoint,
}

/// An endpoint, ready to build requests from.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Absolute URL (base joined with the path) without params.
    pub url: String,
    /// Method.
    pub method: Method,
    /// Query params in order.
    pub params: Vec<(String, Value)>,
    /// Client headers, then endpoint headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub json: Option<Value>,
    /// Form or raw body (`data`).
    pub data: Option<Form>,
    /// The paginator in effect; `None` means detect it from the first response (dlt's `auto`).
    pub paginator: Option<Paginator>,
    /// `data_selector`; `None` means detect the record list.
    pub data_selector: Option<Path>,
    /// Auth in effect (`None`: no auth).
    pub auth: Option<Auth>,
    /// Retry policy in effect.
    pub retry: RetryPolicy,
    /// Responses to ignore: they end that pagination loop without records and are never retried.
    pub response_actions: Vec<ResponseAction>,
}

const TOP_KEYS: [&str; 3] = ["client", "resources", "resource_defaults"];
const CLIENT_KEYS: [&str; 5] = ["base_url", "headers", "auth", "paginator", "error_handler"];
const RESOURCE_KEYS: [&str; 18] = [
    "name",
    "endpoint",
    "table_name",
    "write_disposition",
    "primary_key",
    "merge_key",
    "columns",
    "selected",
    "include_from_parent",
    "processing_steps",
    "max_table_nesting",
    "parallelized",
    "schema_contract",
    "table_format",
    "file_format",
    "references",
    "parent_table_name",
    "nested_hints",
];
const ENDPOINT_KEYS: [&str; 12] = [
    "path",
    "method",
    "params",
    "json",
    "data",
    "headers",
    "paginator",
    "data_selector",
    "response_actions",
    "incremental",
    "auth",
    "error_handler",
];

/// Client-level settings shared by every resource.
struct Client {
    base_url: String,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    paginator: Option<Paginator>,
    retry: RetryPolicy,
}

/// Parse and validate a whole config that holds no secret values.
pub fn parse(config: &Value) -> Result<SourceConfig, Error> {
    parse_with_secrets(config, &[])
}

/// Parse and validate a whole config whose secret references were replaced by `secrets`: strings equal to a
/// secret value are used as they are (never read as `{placeholder}` templates).
pub fn parse_with_secrets(config: &Value, secrets: &[String]) -> Result<SourceConfig, Error> {
    let mut ck = Checker {
        opaque: secrets.to_vec(),
        ..Checker::default()
    };
    let top = ck.object(config, ".").cloned().unwrap_or_default();
    ck.only_keys(&top, &TOP_KEYS, "");
    for key in ["client", "resources"] {
        if !top.contains_key(key) {
            ck.problem(".", format!("missing required field `{key}`"));
        }
    }
    let client = client(top.get("client"), &mut ck);
    let defaults = match top.get("resource_defaults") {
        None | Some(Value::Null) => Map::new(),
        Some(v) => {
            let d = ck
                .object(v, "resource_defaults")
                .cloned()
                .unwrap_or_default();
            if d.contains_key("name") {
                ck.problem("resource_defaults", "received unexpected field `name`");
            }
            d
        }
    };
    let mut resources = Vec::new();
    let mut names: Vec<String> = Vec::new();
    match top.get("resources") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("resources[{i}]");
                let Some(merged) = expand(item, &defaults, &path, &mut ck) else {
                    continue;
                };
                if let Some(Value::String(name)) = merged.get("name") {
                    if names.contains(name) {
                        ck.problem(
                            "resources",
                            format!("Resource `{name}` is already defined."),
                        );
                    }
                    names.push(name.clone());
                }
                if let Some(r) = resource(&merged, &client, &path, &mut ck) {
                    resources.push(r);
                }
            }
        }
        Some(other) => ck.wrong_type("resources", other, "list"),
        None => {}
    }
    if ck.problems.is_empty() {
        Ok(SourceConfig {
            resources,
            base_url: client.base_url,
        })
    } else {
        Err(Error::InvalidConfig(ck.problems))
    }
}

fn client(v: Option<&Value>, ck: &mut Checker) -> Client {
    let empty = Map::new();
    let map = v.and_then(|v| ck.object(v, "client")).unwrap_or(&empty);
    ck.only_keys(map, &CLIENT_KEYS, "client");
    let base_url = ck.opt_str(map, "base_url", "client").unwrap_or_default();
    if !base_url.is_empty() && url::Url::parse(&base_url).is_err() {
        ck.problem(
            "client.base_url",
            format!("`{base_url}` is not an absolute URL"),
        );
    }
    Client {
        headers: headers(map.get("headers"), "client.headers", ck),
        auth: map
            .get("auth")
            .filter(|v| !v.is_null())
            .and_then(|v| parts::auth(v, "client.auth", ck)),
        paginator: map
            .get("paginator")
            .and_then(|v| parts::paginator(v, "client.paginator", ck)),
        retry: map
            .get("error_handler")
            .map_or_else(RetryPolicy::default, |v| {
                parts::error_handler(v, &RetryPolicy::default(), "client.error_handler", ck)
            }),
        base_url,
    }
}

fn headers(v: Option<&Value>, path: &str, ck: &mut Checker) -> Vec<(String, String)> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(map) = ck.object(v, path) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.clone(), s.clone())),
            Value::Null => None,
            other => Some((k.clone(), py_str(other))),
        })
        .collect()
}

/// A resource entry expanded from its shorthand and merged with the defaults (dlt's `_merge_resource_endpoints`).
fn expand(
    item: &Value,
    defaults: &Map<String, Value>,
    path: &str,
    ck: &mut Checker,
) -> Option<Map<String, Value>> {
    let mut resource = match item {
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(s.clone()));
            m
        }
        other => ck.object(other, path)?.clone(),
    };
    let own_endpoint = match resource.remove("endpoint") {
        Some(Value::String(p)) => Some(Map::from_iter([("path".to_string(), Value::String(p))])),
        Some(Value::Object(m)) => Some(m),
        Some(Value::Null) | None => None,
        Some(other) => {
            ck.wrong_type(&join(path, "endpoint"), &other, "str | Endpoint");
            return None;
        }
    };
    let default_endpoint = match defaults.get("endpoint") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(p)) => Map::from_iter([("path".to_string(), Value::String(p.clone()))]),
        _ => Map::new(),
    };
    let mut endpoint = default_endpoint.clone();
    for (k, v) in own_endpoint.unwrap_or_default() {
        let merged = match (k.as_str(), default_endpoint.get(&k), &v) {
            ("params" | "json", Some(Value::Object(d)), Value::Object(r)) => {
                let mut m = d.clone();
                m.extend(r.clone());
                Value::Object(m)
            }
            _ => v,
        };
        endpoint.insert(k, merged);
    }
    let columns = merge_columns(defaults.get("columns"), resource.get("columns"));
    let mut merged = defaults.clone();
    merged.remove("endpoint");
    merged.extend(resource);
    if let Some(columns) = columns {
        merged.insert("columns".into(), columns);
    }
    if !endpoint.contains_key("path")
        && let Some(Value::String(name)) = merged.get("name")
    {
        endpoint.insert("path".into(), Value::String(name.clone()));
    }
    merged.insert("endpoint".into(), Value::Object(endpoint));
    Some(merged)
}

/// dlt's column merge: when defaults and resource both give columns (as a dict or a list), merge them hint by
/// hint per column; resource hints win, default-only columns stay first. `None` leaves the shallow merge.
fn merge_columns(defaults: Option<&Value>, own: Option<&Value>) -> Option<Value> {
    let as_map = |v: &Value| -> Option<Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m.clone()),
            Value::Array(items) => items
                .iter()
                .map(|c| Some((c.get("name")?.as_str()?.to_string(), c.clone())))
                .collect(),
            _ => None,
        }
    };
    let (mut merged, own) = (as_map(defaults?)?, as_map(own?)?);
    for (name, hints) in own {
        match (merged.get_mut(&name), hints) {
            (Some(Value::Object(base)), Value::Object(h)) => base.extend(h),
            (_, hints) => {
                merged.insert(name, hints);
            }
        }
    }
    Some(Value::Object(merged))
}

fn resource(
    map: &Map<String, Value>,
    client: &Client,
    path: &str,
    ck: &mut Checker,
) -> Option<Resource> {
    ck.only_keys(map, &RESOURCE_KEYS, path);
    let name = ck.req_str(map, "name", path);
    for key in ["include_from_parent", "processing_steps"] {
        let present = map
            .get(key)
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()));
        if present {
            let why = if key == "processing_steps" {
                "needs Python callables, which a JSON config cannot carry"
            } else {
                "is not supported yet (parent/child resources)"
            };
            ck.problem(join(path, key), why);
        }
    }
    let write_disposition = write_disposition(
        map.get("write_disposition"),
        &join(path, "write_disposition"),
        ck,
    );
    let endpoint = endpoint(
        map.get("endpoint")?.as_object()?,
        client,
        &join(path, "endpoint"),
        ck,
    );
    let name = name?;
    Some(Resource {
        table_name: ck
            .opt_str(map, "table_name", path)
            .unwrap_or_else(|| name.clone()),
        write_disposition,
        primary_key: ck.str_list(map, "primary_key", path),
        merge_key: ck.str_list(map, "merge_key", path),
        columns: columns(map.get("columns"), &join(path, "columns"), ck),
        selected: ck.opt_bool(map, "selected", path).unwrap_or(true),
        endpoint: endpoint?,
        name,
    })
}

fn write_disposition(v: Option<&Value>, path: &str, ck: &mut Checker) -> WriteDisposition {
    let text = match v {
        None | Some(Value::Null) => return WriteDisposition::Append,
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => match m.get("disposition") {
            Some(Value::String(s)) => s.clone(),
            _ => {
                ck.problem(join(path, "disposition"), "missing required field");
                return WriteDisposition::Append;
            }
        },
        Some(other) => {
            ck.wrong_type(path, other, "str | dict");
            return WriteDisposition::Append;
        }
    };
    match ck
        .literal(&text, &["append", "replace", "merge", "skip"], path)
        .as_deref()
    {
        Some("replace") => WriteDisposition::Replace,
        Some("merge") => WriteDisposition::Merge,
        Some("skip") => WriteDisposition::Skip,
        _ => WriteDisposition::Append,
    }
}

const DATA_TYPES: [&str; 11] = [
    "text",
    "bigint",
    "double",
    "bool",
    "timestamp",
    "date",
    "time",
    "decimal",
    "json",
    "binary",
    "wei",
];

fn columns(v: Option<&Value>, path: &str, ck: &mut Checker) -> Vec<ColumnHint> {
    let entries: Vec<(String, &Value)> = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| {
                (
                    c.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    c,
                )
            })
            .collect(),
        Some(other) => {
            ck.wrong_type(path, other, "dict | list");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (name, spec) in entries {
        let cpath = join(path, &name);
        let Some(m) = ck.object(spec, &cpath) else {
            continue;
        };
        if name.is_empty() {
            ck.problem(path, "a column without a `name`");
            continue;
        }
        let data_type = ck.opt_str(m, "data_type", &cpath);
        if let Some(t) = &data_type {
            ck.literal(t, &DATA_TYPES, &join(&cpath, "data_type"));
        }
        out.push(ColumnHint {
            nullable: ck.opt_bool(m, "nullable", &cpath),
            data_type,
            name,
        });
    }
    out
}

fn endpoint(
    map: &Map<String, Value>,
    client: &Client,
    path: &str,
    ck: &mut Checker,
) -> Option<Endpoint> {
    ck.only_keys(map, &ENDPOINT_KEYS, path);
    for key in ["incremental"] {
        if map.get(key).is_some_and(|v| !v.is_null()) {
            ck.problem(join(path, key), "is not supported yet");
        }
    }
    let method = match ck.opt_str(map, "method", path) {
        None => Method::Get,
        Some(m) => match ck
            .literal(&m, &["GET", "POST"], &join(path, "method"))
            .as_deref()
        {
            Some("POST") => Method::Post,
            _ => Method::Get,
        },
    };
    let mut params: Vec<(String, Value)> = match map.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => ck
            .object(v, &join(path, "params"))
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default(),
    };
    for (k, v) in params.iter_mut() {
        let at = format!("{path}.params.{k}");
        if v.is_object() && v.get("type").is_some() {
            ck.problem(
                at,
                "`resolve` and `incremental` params are not supported yet",
            );
        } else {
            *v = unescape_value(v, &at, ck);
        }
    }
    let raw_path = ck.opt_str(map, "path", path).unwrap_or_default();
    let single_entity = crate::detect::single_entity_path(&raw_path);
    let url_path = bind_path(&raw_path, &mut params, &join(path, "path"), ck);
    if !raw_path.starts_with("http://")
        && !raw_path.starts_with("https://")
        && client.base_url.is_empty()
    {
        ck.problem(
            "client.base_url",
            format!("missing required field (needed by the relative path `{raw_path}`)"),
        );
    }
    let json = map
        .get("json")
        .filter(|v| !v.is_null())
        .map(|v| unescape_value(v, &join(path, "json"), ck));
    let data = form(map.get("data"), &join(path, "data"), ck);
    let truthy = |v: &Option<Value>| {
        v.as_ref()
            .is_some_and(|v| v.as_object().is_none_or(|m| !m.is_empty()))
    };
    if truthy(&json)
        && data
            .as_ref()
            .is_some_and(|f| !matches!(f, Form::Pairs(p) if p.is_empty()))
    {
        ck.problem(
            path,
            "Cannot use both 'json' and 'data' parameters simultaneously.",
        );
    }
    let mut headers = client.headers.clone();
    for (k, v) in self::headers(map.get("headers"), &join(path, "headers"), ck) {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    let auth = match map.get("auth") {
        Some(Value::Null) => None,
        Some(v) => parts::auth(v, &join(path, "auth"), ck),
        None => client.auth.clone(),
    };
    let own_paginator = map.get("paginator").filter(|v| !v.is_null());
    let paginator = own_paginator.and_then(|v| parts::paginator(v, &join(path, "paginator"), ck));
    let paginator = match (paginator, single_entity) {
        (Some(p), _) => Some(p),
        (None, true) => Some(Paginator::SinglePage),
        (None, false) => client.paginator.clone(),
    };
    let data_selector = match ck.opt_str(map, "data_selector", path) {
        Some(s) => Path::parse(&s)
            .map_err(|e| ck.problem(join(path, "data_selector"), e))
            .ok(),
        None if single_entity => Path::parse("$").ok(),
        None => None,
    };
    let retry = match map.get("error_handler") {
        Some(v) => parts::error_handler(v, &client.retry, &join(path, "error_handler"), ck),
        None => client.retry.clone(),
    };
    let response_actions = match map.get("response_actions") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => parts::response_actions(v, &join(path, "response_actions"), ck),
    };
    Some(Endpoint {
        response_actions,
        url: join_url(&client.base_url, &url_path?),
        method,
        params,
        headers,
        json,
        data,
        paginator,
        data_selector,
        auth,
        retry,
    })
}

/// A paginator from its dlt config form (used for paginators stored in checkpoints).
pub fn paginator_from_value(v: &Value, path: &str) -> Result<Option<Paginator>, Error> {
    let mut ck = Checker::default();
    let p = parts::paginator(v, path, &mut ck);
    if ck.problems.is_empty() {
        Ok(p)
    } else {
        Err(Error::InvalidConfig(ck.problems))
    }
}

/// dlt's `data`: a dict or a list of pairs is a form, a string is sent as it is. Values render as `str()`.
fn form(v: Option<&Value>, path: &str, ck: &mut Checker) -> Option<Form> {
    let v = v.filter(|v| !v.is_null())?;
    let v = unescape_value(v, path, ck);
    match &v {
        Value::String(s) => Some(Form::Raw(s.clone())),
        Value::Object(m) => Some(Form::Pairs(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), py_str(v)))
                .collect(),
        )),
        Value::Array(items) => {
            let mut pairs = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_array().map(Vec::as_slice) {
                    Some([k, v]) => pairs.push((py_str(k), py_str(v))),
                    _ => ck.problem(format!("{path}[{i}]"), "expected a [key, value] pair"),
                }
            }
            Some(Form::Pairs(pairs))
        }
        other => {
            ck.wrong_type(path, other, "dict | list | str");
            None
        }
    }
}

/// Fill legacy `{name}` path placeholders from static params (removing them from the query) and unescape braces.
fn bind_path(
    path: &str,
    params: &mut Vec<(String, Value)>,
    at: &str,
    ck: &mut Checker,
) -> Option<String> {
    if ck.is_opaque(path) {
        return Some(path.to_string());
    }
    let pieces = parse_template(path).map_err(|e| ck.problem(at, e)).ok()?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field(f) if f.starts_with("resources.") || f.starts_with("incremental.") => {
                ck.problem(at, format!("placeholder `{{{f}}}` is not supported yet"));
                return None;
            }
            Piece::Field(f) => match params.iter().position(|(k, _)| *k == f) {
                Some(i) if !params[i].1.is_object() => out.push_str(&py_str(&params.remove(i).1)),
                _ => {
                    ck.problem(at, format!("The path '{path}' requires a param named '{f}', but it was not found in 'endpoint.params'"));
                    return None;
                }
            },
        }
    }
    Some(out)
}

/// Unescape `{{`/`}}` in strings of a param or body value; single-brace placeholders are not supported yet.
fn unescape_value(v: &Value, at: &str, ck: &mut Checker) -> Value {
    match v {
        Value::String(s) if ck.is_opaque(s) => v.clone(),
        Value::String(s) => match parse_template(s) {
            Ok(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        Piece::Text(t) => out.push_str(&t),
                        Piece::Field(f) => {
                            ck.problem(at, format!("placeholder `{{{f}}}` is not supported yet"))
                        }
                    }
                }
                Value::String(out)
            }
            Err(e) => {
                ck.problem(at, e);
                v.clone()
            }
        },
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), unescape_value(x, &join(at, k), ck)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| unescape_value(x, at, ck)).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests;
