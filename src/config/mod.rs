//! The config: dlt's `rest_api_source` dictionary as JSON, parsed and validated whole before any request.
//!
//! [`parse`] expands resource shorthands, merges `resource_defaults` with dlt's rules, resolves paginator and auth
//! precedence, and reports every problem it finds with its path. Secrets must already be substituted.

mod auth_parts;
mod bind;
mod check;
mod endpoint;
mod hints;
mod incremental;
mod merge;
mod parts;
mod steps;

pub use parts::{MOST_HEADER_BYTES, MOST_HEADERS, RESERVED_TABLE_PREFIX};

use crate::auth::Auth;
use crate::budget::{MOST_WINDOW_REQUESTS, MOST_WINDOW_SECONDS, RateLimit};
use crate::error::Error;
use crate::limits::ResponseLimits;
use crate::paginator::Paginator;
use crate::request::Method;
use crate::retry::RetryPolicy;
use crate::select::Path;
use check::{Checker, join};
pub use parts::ResponseAction;
use serde_json::{Map, Value};

/// The largest config accepted, in bytes: a config that size describes thousands of resources.
pub const MOST_CONFIG_BYTES: usize = 16 * 1024 * 1024;

/// A validated config.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Resources in the order they run.
    pub resources: Vec<Resource>,
    /// The client base URL (empty when every path is absolute).
    pub base_url: String,
    /// Per resource (by index), the resources whose templates name it as their parent, in config order.
    pub children: Vec<Vec<usize>>,
    /// Caps on each response (`client.max_response_bytes`, `client.max_response_depth`).
    pub limits: ResponseLimits,
    /// The most requests of `parallelized` resources in flight at once (`client.concurrency`, extension).
    pub concurrency: u32,
    /// At most this many requests in any window (`client.rate_limit`, extension).
    pub rate_limit: Option<RateLimit>,
}

/// `client.concurrency` when the config does not set it.
pub const DEFAULT_CONCURRENCY: u32 = 8;

/// The largest `client.concurrency` accepted.
pub const MOST_CONCURRENCY: u32 = 64;

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
    /// dlt's `parallelized`: its requests may run beside others (up to `client.concurrency`).
    pub parallelized: bool,
    /// The parent resource (index), when templates reference `{resources.<parent>.<field>}`.
    pub parent: Option<usize>,
    /// Parent fields copied into each record as `_<parent>_<field>`.
    pub include_from_parent: Vec<String>,
    /// `processing_steps`: declarative filters and maps, in order.
    pub steps: Vec<crate::steps::ProcessingStep>,
    /// How to fetch it.
    pub endpoint: Endpoint,
}

/// An endpoint, ready to build requests from.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Absolute URL template: the base joined with the bound path (placeholders filled per request).
    pub url: String,
    /// Method.
    pub method: Method,
    /// Query params in order (values and keys are templates).
    pub params: Vec<(String, Value)>,
    /// Client headers: sent as they are, never interpolated (dlt).
    pub client_headers: Vec<(String, String)>,
    /// Endpoint headers: templates, sent over the client headers.
    pub headers: Vec<(String, String)>,
    /// JSON body template (single placeholders keep their type).
    pub json: Option<Value>,
    /// `data` body template: a dict or pairs (a form) or a string (raw).
    pub data: Option<Value>,
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
    /// Incremental loading (`endpoint.incremental`, or a legacy `type: incremental` param).
    pub incremental: Option<crate::incremental::Incremental>,
    /// Stop a pagination loop cleanly after this many pages (extension; dlt's `add_limit`).
    pub max_pages: Option<u32>,
    /// The body is JSON Lines, one record a line (`response_format: "jsonl"`, extension).
    pub jsonl: bool,
}

const TOP_KEYS: [&str; 3] = ["client", "resources", "resource_defaults"];
const CLIENT_KEYS: [&str; 9] = [
    "base_url",
    "headers",
    "auth",
    "paginator",
    "error_handler",
    "max_response_bytes",
    "max_response_depth",
    "concurrency",
    "rate_limit",
];
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
const ENDPOINT_KEYS: [&str; 14] = [
    "max_pages",
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
    "response_format",
];

/// Client-level settings shared by every resource.
struct Client {
    base_url: String,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    paginator: Option<Paginator>,
    retry: RetryPolicy,
    limits: ResponseLimits,
    concurrency: u32,
    rate_limit: Option<RateLimit>,
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
            // Unknown keys are reported here, once, and not merged into every resource.
            let known: Vec<&str> = RESOURCE_KEYS
                .iter()
                .copied()
                .filter(|k| *k != "name")
                .collect();
            let mut rest = d.clone();
            rest.remove("name");
            ck.only_keys(&rest, &known, "resource_defaults");
            d.into_iter()
                .filter(|(k, _)| RESOURCE_KEYS.contains(&k.as_str()))
                .collect()
        }
    };
    let mut merged = Vec::new();
    // A set: with thousands of resources, a list searched for each name would take quadratic time.
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    match top.get("resources") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("resources[{i}]");
                let Some(m) = merge::expand(item, &defaults, &path, &mut ck) else {
                    continue;
                };
                if let Some(Value::String(name)) = m.get("name")
                    && !names.insert(name.clone())
                {
                    ck.problem(
                        "resources",
                        format!("Resource `{name}` is already defined."),
                    );
                }
                merged.push((path, m));
            }
        }
        Some(other) => ck.wrong_type("resources", other, "list"),
        None => {}
    }
    let mut resources = Vec::new();
    let mut parent_names = Vec::new();
    for (path, m) in &merged {
        if let Some((r, parent)) = resource(m, &client, &names, path, &mut ck) {
            resources.push(r);
            parent_names.push(parent);
        }
    }
    let children = link_parents(&mut resources, &parent_names, &mut ck);
    for (i, r) in resources.iter().enumerate() {
        let windowed = r
            .endpoint
            .incremental
            .as_ref()
            .is_some_and(|inc| inc.window.is_some());
        if windowed && r.parent.is_some() {
            let message = "a window pages a root resource; a child is paged for each parent record";
            ck.problem(
                format!("resources[{i}].endpoint.incremental.window"),
                message,
            );
        }
    }
    if ck.problems.is_empty() {
        Ok(SourceConfig {
            resources,
            base_url: client.base_url,
            children,
            limits: client.limits,
            concurrency: client.concurrency,
            rate_limit: client.rate_limit,
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
        headers: parts::headers(map.get("headers"), "client.headers", ck),
        auth: map
            .get("auth")
            .filter(|v| !v.is_null())
            .and_then(|v| auth_parts::auth(v, "client.auth", ck)),
        paginator: map
            .get("paginator")
            .and_then(|v| parts::paginator(v, "client.paginator", ck)),
        retry: map
            .get("error_handler")
            .map_or_else(RetryPolicy::default, |v| {
                parts::error_handler(v, &RetryPolicy::default(), "client.error_handler", ck)
            }),
        limits: parts::response_limits(map, ck),
        concurrency: concurrency(map, ck),
        rate_limit: map
            .get("rate_limit")
            .filter(|v| !v.is_null())
            .and_then(|v| rate_limit(v, ck)),
        base_url,
    }
}

/// `client.concurrency` (extension): from 1 to [`MOST_CONCURRENCY`].
fn concurrency(map: &Map<String, Value>, ck: &mut Checker) -> u32 {
    match ck.opt_int(map, "concurrency", "client") {
        None => DEFAULT_CONCURRENCY,
        Some(n) => match u32::try_from(n) {
            Ok(n) if (1..=MOST_CONCURRENCY).contains(&n) => n,
            _ => {
                let message = format!("must be an integer from 1 to {MOST_CONCURRENCY}");
                ck.problem("client.concurrency", message);
                DEFAULT_CONCURRENCY
            }
        },
    }
}

/// `client.rate_limit` (extension): `{"requests": N, "per_seconds": S}`, N from 1 to [`MOST_WINDOW_REQUESTS`],
/// S above 0 and at most [`MOST_WINDOW_SECONDS`].
fn rate_limit(v: &Value, ck: &mut Checker) -> Option<RateLimit> {
    let path = "client.rate_limit";
    let map = ck.object(v, path)?;
    ck.only_keys(map, &["requests", "per_seconds"], path);
    let requests = ck.opt_int(map, "requests", path);
    let seconds = ck.opt_number(map, "per_seconds", path);
    let requests = match requests.map(u32::try_from) {
        Some(Ok(n)) if (1..=MOST_WINDOW_REQUESTS).contains(&n) => Some(n),
        _ => {
            let message = format!("must be an integer from 1 to {MOST_WINDOW_REQUESTS}");
            ck.problem(join(path, "requests"), message);
            None
        }
    };
    let window_ms = match seconds {
        Some(s) if s > 0.0 && s <= MOST_WINDOW_SECONDS => {
            Some(((s * 1000.0).round() as u64).max(1))
        }
        _ => {
            let message =
                format!("must be a number of seconds above 0 and at most {MOST_WINDOW_SECONDS}");
            ck.problem(join(path, "per_seconds"), message);
            None
        }
    };
    Some(RateLimit {
        requests: requests?,
        window_ms: window_ms?,
    })
}

/// One merged resource, and the name of the parent its templates reference.
fn resource(
    map: &Map<String, Value>,
    client: &Client,
    names: &std::collections::HashSet<String>,
    path: &str,
    ck: &mut Checker,
) -> Option<(Resource, Option<String>)> {
    ck.only_keys(map, &RESOURCE_KEYS, path);
    let name = ck.req_str(map, "name", path);
    let steps = steps::processing_steps(map.get("processing_steps"), path, ck);
    let write_disposition = hints::write_disposition(
        map.get("write_disposition"),
        &join(path, "write_disposition"),
        ck,
    );
    let include_from_parent = ck.str_list(map, "include_from_parent", path);
    let endpoint_map = map.get("endpoint")?.as_object()?;
    let shown = name.clone().unwrap_or_default();
    let (endpoint, parent) = endpoint::endpoint(
        endpoint_map,
        client,
        &shown,
        names,
        &join(path, "endpoint"),
        ck,
    )?;
    let name = name?;
    let resource = Resource {
        table_name: parts::table_name(map, &name, path, ck),
        write_disposition,
        primary_key: ck.str_list(map, "primary_key", path),
        merge_key: ck.str_list(map, "merge_key", path),
        columns: hints::columns(map.get("columns"), &join(path, "columns"), ck),
        selected: ck.opt_bool(map, "selected", path).unwrap_or(true),
        parallelized: ck.opt_bool(map, "parallelized", path).unwrap_or(false),
        parent: None,
        include_from_parent,
        steps,
        endpoint,
        name,
    };
    Some((resource, parent))
}

/// Set each resource's parent index, refuse cycles and `include_from_parent` without a parent, and list the
/// children of every resource.
fn link_parents(
    resources: &mut [Resource],
    parents: &[Option<String>],
    ck: &mut Checker,
) -> Vec<Vec<usize>> {
    let by_name: std::collections::HashMap<&str, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let index = |name: &str| by_name.get(name).copied();
    let links: Vec<Option<usize>> = parents
        .iter()
        .map(|p| p.as_deref().and_then(index))
        .collect();
    for (r, link) in resources.iter_mut().zip(&links) {
        r.parent = *link;
        if link.is_none() && !r.include_from_parent.is_empty() {
            ck.problem(
                "resources",
                format!("Resource `{}` has `include_from_parent` but is not dependent on another resource", r.name),
            );
        }
    }
    if let Some(cycle) = bind::cycle(&links) {
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("'{}'", resources[i].name))
            .collect();
        ck.problem(
            "resources",
            format!("nodes are in a cycle: [{}]", names.join(", ")),
        );
    }
    let mut children = vec![Vec::new(); resources.len()];
    for (child, link) in links.iter().enumerate() {
        if let Some(parent) = link {
            children[*parent].push(child);
        }
    }
    children
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

#[cfg(test)]
mod json_schema_tests;
#[cfg(test)]
mod tests;
