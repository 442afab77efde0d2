//! dlt's `resource_defaults` merge (`_merge_resource_endpoints`): resource shorthands expanded, resource keys
//! merged shallowly, endpoint keys replaced whole except `params` and `json`, columns merged per column.

use super::check::{Checker, join};
use serde_json::{Map, Value};

/// A resource entry expanded from its shorthand and merged with the defaults (dlt's `_merge_resource_endpoints`).
pub(super) fn expand(
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
