//! Parsing `processing_steps` (extension of dlt's key): a list of `{"filter": "<expression>"}` and
//! `{"map": {"set": {..}, "rename": {..}, "remove": [..]}}` objects; see [`crate::steps`].

use super::check::{Checker, join};
use crate::steps::{Filter, Mapping, ProcessingStep, field_path};
use serde_json::{Map, Value};

/// The steps of `processing_steps` (absent or `null`: none), every problem reported with its path.
pub(super) fn processing_steps(
    v: Option<&Value>,
    path: &str,
    ck: &mut Checker,
) -> Vec<ProcessingStep> {
    let path = join(path, "processing_steps");
    let items = match v {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            ck.wrong_type(&path, other, "list");
            return Vec::new();
        }
    };
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(map) = ck.object(item, &at) else {
            continue;
        };
        ck.only_keys(map, &["filter", "map"], &at);
        if map.is_empty() {
            ck.problem(
                &at,
                "give `filter` or `map` (Python callables cannot be carried in JSON)",
            );
        }
        if let Some(v) = map.get("filter") {
            match v {
                Value::String(e) => match Filter::new(e) {
                    Ok(f) => steps.push(ProcessingStep::Filter(f)),
                    Err(e) => ck.problem(join(&at, "filter"), e),
                },
                other => ck.wrong_type(&join(&at, "filter"), other, "str"),
            }
        }
        if let Some(v) = map.get("map") {
            let at = join(&at, "map");
            if let Some(m) = ck.object(v, &at).cloned() {
                let mapping = Mapping {
                    index: i,
                    ..mapping(&m, &at, ck)
                };
                steps.push(ProcessingStep::Map(mapping));
            }
        }
    }
    steps
}

fn mapping(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> Mapping {
    ck.only_keys(map, &["set", "rename", "remove"], path);
    if map.is_empty() {
        ck.problem(path, "give `set`, `rename` or `remove`");
    }
    let field = |name: &str, at: &str, ck: &mut Checker| {
        field_path(name).map_err(|e| ck.problem(at, e)).ok()
    };
    let mut out = Mapping::default();
    if let Some(set) = map
        .get("set")
        .and_then(|v| ck.object(v, &join(path, "set")).cloned())
    {
        for (name, value) in set {
            let at = join(&join(path, "set"), &name);
            if let Err(e) = crate::template::expressions(&value) {
                ck.problem(&at, e);
            }
            if let Some(p) = field(&name, &at, ck) {
                out.set.push((p, value));
            }
        }
    }
    if let Some(rename) = map
        .get("rename")
        .and_then(|v| ck.object(v, &join(path, "rename")).cloned())
    {
        for (from, to) in rename {
            let at = join(&join(path, "rename"), &from);
            let Some(to) = to.as_str().map(str::to_string) else {
                ck.wrong_type(&at, &to, "str");
                continue;
            };
            if let (Some(f), Some(t)) = (field(&from, &at, ck), field(&to, &at, ck)) {
                out.rename.push((f, t));
            }
        }
    }
    for name in ck.str_list(map, "remove", path) {
        if let Some(p) = field(&name, &join(path, "remove"), ck) {
            out.remove.push(p);
        }
    }
    out
}
