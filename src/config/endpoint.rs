//! Parsing one endpoint: method, params and incremental loading, the path bound to its parent, the body and
//! headers, and the parts that fall back to the client's (auth, paginator, retry policy).
//!
//! Problems are reported in a fixed order: params, path, body and headers, then the endpoint's parts.

use super::check::{Checker, join};
use super::{
    Client, ENDPOINT_KEYS, Endpoint, ResponseAction, auth_parts, bind, incremental, parts,
};
use crate::auth::Auth;
use crate::incremental::Incremental;
use crate::paginator::Paginator;
use crate::request::{Method, join_url};
use crate::retry::RetryPolicy;
use crate::select::Path;
use serde_json::{Map, Value};

/// An endpoint, and the parent its templates reference.
pub(super) fn endpoint(
    map: &Map<String, Value>,
    client: &Client,
    resource: &str,
    names: &std::collections::HashSet<String>,
    path: &str,
    ck: &mut Checker,
) -> Option<(Endpoint, Option<String>)> {
    ck.only_keys(map, &ENDPOINT_KEYS, path);
    let method = method(map, path, ck);
    let (params, incremental) = params_and_incremental(map, path, ck);
    let request = Templates::parse(map, params, &client.base_url, resource, path, ck);
    let parent = bind::parent(&request.values(), resource, names, path, ck);
    let own = EndpointParts::parse(map, client, request.single_entity, path, ck);
    let base = client.base_url.replace('{', "{{").replace('}', "}}");
    let endpoint = Endpoint {
        url: join_url(&base, &request.url_path?),
        method,
        params: request.params,
        client_headers: client.headers.clone(),
        headers: request.headers,
        json: request.json,
        data: request.data,
        paginator: own.paginator,
        data_selector: own.data_selector,
        auth: own.auth,
        retry: own.retry,
        response_actions: own.response_actions,
        incremental,
        max_pages: own.max_pages,
        jsonl: own.jsonl,
    };
    Some((endpoint, parent))
}

/// `method`: `GET` (the default) or `POST`.
fn method(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Method {
    match ck.opt_str(map, "method", path) {
        None => Method::Get,
        Some(m) => match ck
            .literal(&m, &["GET", "POST"], &join(path, "method"))
            .as_deref()
        {
            Some("POST") => Method::Post,
            _ => Method::Get,
        },
    }
}

/// `params` in order, and the incremental loading: a legacy `type: incremental` param (taken out of the params)
/// wins over `incremental`.
fn params_and_incremental(
    map: &Map<String, Value>,
    path: &str,
    ck: &mut Checker,
) -> (Vec<(String, Value)>, Option<Incremental>) {
    let mut params: Vec<(String, Value)> = match map.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => ck
            .object(v, &join(path, "params"))
            .map(|m| m.clone().into_iter().collect())
            .unwrap_or_default(),
    };
    for (k, v) in &params {
        bind::check_param(k, v, &format!("{path}.params.{k}"), ck);
    }
    let from_param = incremental::param_incremental(&params, path, ck);
    if let Some((name, _)) = &from_param {
        params.retain(|(k, _)| k != name);
    }
    let own = map
        .get("incremental")
        .filter(|v| !v.is_null())
        .and_then(|v| incremental::incremental(v, None, &join(path, "incremental"), ck));
    (params, from_param.map(|(_, i)| i).or(own))
}

/// The parts of a request that are templates, bound and checked: the path, params, body and headers.
struct Templates {
    /// The path with its placeholders bound (`None` when it cannot be bound).
    url_path: Option<String>,
    /// The path names a single entity (dlt's `single_entity_path`).
    single_entity: bool,
    params: Vec<(String, Value)>,
    json: Option<Value>,
    data: Option<Value>,
    headers: Vec<(String, String)>,
}

impl Templates {
    /// Bind the path to the params, then check the expressions of params, body and headers.
    fn parse(
        map: &Map<String, Value>,
        mut params: Vec<(String, Value)>,
        base_url: &str,
        resource: &str,
        path: &str,
        ck: &mut Checker,
    ) -> Self {
        let has_incremental = map.get("incremental").is_some_and(|v| !v.is_null());
        let raw_path = ck.opt_str(map, "path", path).unwrap_or_default();
        let url_path = bind_url_path(
            &raw_path,
            &mut params,
            base_url,
            resource,
            has_incremental,
            path,
            ck,
        );
        let params_value = Value::Object(params.iter().cloned().collect());
        bind::check_expressions(
            &params_value,
            "params",
            has_incremental,
            &join(path, "params"),
            ck,
        );
        let (json, data) = body(map, has_incremental, path, ck);
        let headers = parts::headers(map.get("headers"), &join(path, "headers"), ck);
        let at = join(path, "headers");
        bind::check_expressions(
            &headers_value(&headers),
            "headers",
            has_incremental,
            &at,
            ck,
        );
        Self {
            url_path,
            single_entity: crate::detect::single_entity_path(&raw_path),
            params,
            json,
            data,
            headers,
        }
    }

    /// Every template, in the order the parent is looked for in them.
    fn values(&self) -> Vec<Value> {
        let mut templates: Vec<Value> = self
            .url_path
            .clone()
            .map(Value::String)
            .into_iter()
            .collect();
        templates.push(Value::Object(self.params.iter().cloned().collect()));
        templates.extend(self.json.clone());
        templates.extend(self.data.clone());
        templates.push(headers_value(&self.headers));
        templates
    }
}

/// Bind `raw_path`'s placeholders (the params it binds leave the query), refuse `resolve` params it leaves
/// unbound, and refuse a relative path without a base URL.
fn bind_url_path(
    raw_path: &str,
    params: &mut Vec<(String, Value)>,
    base_url: &str,
    resource: &str,
    has_incremental: bool,
    path: &str,
    ck: &mut Checker,
) -> Option<String> {
    let url_path = bind::bind_path(
        raw_path,
        params,
        resource,
        has_incremental,
        &join(path, "path"),
        ck,
    );
    bind::unbound_resolve(params, resource, raw_path, &join(path, "params"), ck);
    params.retain(|(_, v)| !bind::is_resolve(v));
    if !raw_path.starts_with("http://") && !raw_path.starts_with("https://") && base_url.is_empty()
    {
        ck.problem(
            "client.base_url",
            format!("missing required field (needed by the relative path `{raw_path}`)"),
        );
    }
    url_path
}

/// `json` and `data`, their expressions checked; both non-empty is refused, as dlt refuses it.
fn body(
    map: &Map<String, Value>,
    has_incremental: bool,
    path: &str,
    ck: &mut Checker,
) -> (Option<Value>, Option<Value>) {
    let json = map.get("json").filter(|v| !v.is_null()).cloned();
    if let Some(j) = &json {
        bind::check_expressions(j, "json", has_incremental, &join(path, "json"), ck);
    }
    let data = map.get("data").filter(|v| !v.is_null()).cloned();
    if let Some(d) = &data {
        check_data(d, &join(path, "data"), ck);
        bind::check_expressions(d, "data", has_incremental, &join(path, "data"), ck);
    }
    let truthy = |v: &Option<Value>| {
        v.as_ref().is_some_and(|v| match v {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        })
    };
    if truthy(&json) && truthy(&data) {
        ck.problem(
            path,
            "Cannot use both 'json' and 'data' parameters simultaneously.",
        );
    }
    (json, data)
}

/// dlt's `data`: a dict or a list of `[key, value]` pairs is a form, a string is sent as it is.
fn check_data(v: &Value, path: &str, ck: &mut Checker) {
    match v {
        Value::String(_) | Value::Object(_) => {}
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if !matches!(item.as_array().map(Vec::len), Some(2)) {
                    ck.problem(format!("{path}[{i}]"), "expected a [key, value] pair");
                }
            }
        }
        other => ck.wrong_type(path, other, "dict | list | str"),
    }
}

/// Headers as a JSON object of strings (to look for expressions in).
fn headers_value(headers: &[(String, String)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The endpoint's parts that fall back to the client's (or to a single-entity path's) where absent.
struct EndpointParts {
    auth: Option<Auth>,
    paginator: Option<Paginator>,
    data_selector: Option<Path>,
    retry: RetryPolicy,
    response_actions: Vec<ResponseAction>,
    max_pages: Option<u32>,
    jsonl: bool,
}

impl EndpointParts {
    /// Auth, paginator, data selector, retry policy, response actions and `max_pages`, in that order.
    fn parse(
        map: &Map<String, Value>,
        client: &Client,
        single_entity: bool,
        path: &str,
        ck: &mut Checker,
    ) -> Self {
        let auth = match map.get("auth") {
            Some(Value::Null) => None,
            Some(v) => auth_parts::auth(v, &join(path, "auth"), ck),
            None => client.auth.clone(),
        };
        let (paginator, data_selector) = paging(map, client, single_entity, path, ck);
        let retry = match map.get("error_handler") {
            Some(v) => parts::error_handler(v, &client.retry, &join(path, "error_handler"), ck),
            None => client.retry.clone(),
        };
        let response_actions = match map.get("response_actions") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parts::response_actions(v, &join(path, "response_actions"), ck),
        };
        let jsonl = response_format(map, paginator.as_ref(), data_selector.as_ref(), path, ck);
        Self {
            auth,
            paginator,
            data_selector,
            retry,
            response_actions,
            max_pages: max_pages(map, path, ck),
            jsonl,
        }
    }
}

/// The paginator (the endpoint's, else single page for a single-entity path, else the client's) and the data
/// selector (`$` for a single-entity path when none is given).
fn paging(
    map: &Map<String, Value>,
    client: &Client,
    single_entity: bool,
    path: &str,
    ck: &mut Checker,
) -> (Option<Paginator>, Option<Path>) {
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
    (paginator, data_selector)
}

/// `response_format` (extension): `json` (default) or `jsonl`, a body of JSON Lines whose lines are the records.
/// With `jsonl` nothing can be read from a body: no data selector, and no paginator that reads the body.
fn response_format(
    map: &Map<String, Value>,
    paginator: Option<&Paginator>,
    data_selector: Option<&Path>,
    path: &str,
    ck: &mut Checker,
) -> bool {
    let key = join(path, "response_format");
    let format = ck.opt_str(map, "response_format", path);
    if format.and_then(|f| ck.literal(&f, &["json", "jsonl"], &key)) != Some("jsonl".into()) {
        return false;
    }
    if let Some(selector) = data_selector.filter(|s| s.as_str() != "$") {
        let message = format!(
            "`jsonl`: each line is a record, so there is nothing for the data selector `{}` to select",
            selector.as_str()
        );
        ck.problem(key.clone(), message);
    }
    if let Some(read) = paginator.and_then(|p| p.body_paths().first().copied()) {
        let message = format!(
            "`jsonl`: the paginator reads `{}` from a JSON body, which a JSON Lines body does not have (for \
             offset and page-number paging set `total_path` to null)",
            read.as_str()
        );
        ck.problem(key, message);
    }
    true
}

/// `max_pages` (extension): a positive integer.
fn max_pages(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Option<u32> {
    match ck.opt_int(map, "max_pages", path) {
        Some(n) if n >= 1 => u32::try_from(n).ok(),
        Some(_) => {
            ck.problem(join(path, "max_pages"), "must be a positive integer");
            None
        }
        None => None,
    }
}
