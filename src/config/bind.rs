//! Placeholders at config time (dlt §7–8): binding the path (static and `resolve` params), checking every
//! template's expressions, and finding the parent resource they reference.

use super::check::{Checker, join};
use crate::render::py_str;
use crate::template::{Field, Piece, expressions, parse_template};
use serde_json::Value;

/// Bind the path: a `{p}` naming a plain param is filled with its value and the param leaves the query; a `{p}`
/// naming a `resolve` param becomes `{resources.<resource>.<field>}` and the param leaves the query. Returns the
/// path template (braces still escaped).
pub fn bind_path(
    path: &str,
    params: &mut Vec<(String, Value)>,
    resource: &str,
    incremental: bool,
    at: &str,
    ck: &mut Checker,
) -> Option<String> {
    if ck.is_opaque(path) {
        return Some(path.replace('{', "{{").replace('}', "}}"));
    }
    let pieces = parse_template(path).map_err(|e| ck.problem(at, e)).ok()?;
    let mut out = String::new();
    let mut ok = true;
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t.replace('{', "{{").replace('}', "}}")),
            Piece::Field(raw) => {
                let field = Field::parse(&raw);
                if let Err(e) = field.check() {
                    ck.problem(at, e);
                    ok = false;
                }
                if field.name.contains('.') {
                    let context_ok = field.name.starts_with("resources.")
                        || (incremental && field.name.starts_with("incremental."));
                    if !context_ok {
                        ck.problem(at, format!(
                            "The `path={path}` defined in resource `{resource}` contains a placeholder `{}`. This placeholder is not a valid name. Valid names are: ['resources', 'incremental'].",
                            field.name
                        ));
                        ok = false;
                    }
                    out.push_str(&format!("{{{raw}}}"));
                    continue;
                }
                match params.iter().position(|(k, _)| *k == field.name) {
                    Some(i) if is_resolve(&params[i].1) => {
                        let spec = params.remove(i).1;
                        let res = spec
                            .get("resource")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let f = spec
                            .get("field")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        out.push_str(&format!("{{resources.{res}.{f}}}"));
                    }
                    Some(i) if !params[i].1.is_object() => {
                        let value = py_str(&params.remove(i).1);
                        out.push_str(&value.replace('{', "{{").replace('}', "}}"));
                    }
                    _ => {
                        let known: Vec<String> = params
                            .iter()
                            .map(|(k, v)| format!("'{k}': {}", crate::render::py_repr(v)))
                            .collect();
                        ck.problem(at, format!(
                            "The path '{path}' defined in resource '{resource}' requires a param named '{}', but it was not found in 'endpoint.params': {{{}}}",
                            field.name,
                            known.join(", ")
                        ));
                        ok = false;
                    }
                }
            }
        }
    }
    ok.then_some(out)
}

/// `{"type": "resolve", ...}`.
pub fn is_resolve(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("resolve")
}

/// Check a legacy `resolve` param (it must name a resource and a field) and the `type` of any dict param.
/// Returns false for a param that must not stay in the query.
pub fn check_param(name: &str, v: &Value, at: &str, ck: &mut Checker) {
    let Some(kind) = v.as_object().and_then(|m| m.get("type")) else {
        return;
    };
    match kind.as_str() {
        Some("resolve") => {
            for key in ["resource", "field"] {
                if v.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                    ck.problem(join(at, key), "missing required field");
                }
            }
        }
        Some("incremental") => {}
        _ => ck.problem(
            at,
            format!("Received invalid value `{name}['type']={}`. Valid values are: ['incremental', 'resolve']", py_str(kind)),
        ),
    }
}

/// Check the expressions of a template value (`params`, `json`, `data`, `headers`): each must start with a
/// context this endpoint has. `incremental.*` is refused until incremental loading is supported.
pub fn check_expressions(
    value: &Value,
    location: &str,
    incremental: bool,
    at: &str,
    ck: &mut Checker,
) {
    let found = match expressions(&without_secrets(value, ck)) {
        Ok(found) => found,
        Err(e) => {
            ck.problem(at, e);
            return;
        }
    };
    let contexts = if incremental {
        "{'resources', 'incremental'}"
    } else {
        "{'resources'}"
    };
    for expr in &found {
        let ok =
            expr.starts_with("resources.") || (incremental && expr.starts_with("incremental."));
        if !ok {
            ck.problem(at, format!(
                "Expression `{expr}` defined in `{location}` is not valid. Valid expressions must start with one of: `{contexts}`. If you need to use literal curly braces in your expression, escape them by doubling them: {{{{ and }}}}"
            ));
        }
    }
}

/// The parent a resource's templates reference through `{resources.<parent>.<field>}`: it must exist and be
/// the only one.
pub fn parent(
    templates: &[Value],
    resource: &str,
    names: &std::collections::HashSet<String>,
    at: &str,
    ck: &mut Checker,
) -> Option<String> {
    let mut parents: Vec<(String, String)> = Vec::new();
    for template in templates {
        for expr in expressions(&without_secrets(template, ck)).unwrap_or_default() {
            let Some(rest) = expr.strip_prefix("resources.") else {
                continue;
            };
            match rest.split_once('.') {
                Some((p, f)) if !p.is_empty() && !f.is_empty() => {
                    if !parents.iter().any(|(q, _)| q == p) {
                        parents.push((p.to_string(), expr.clone()));
                    }
                }
                _ => ck.problem(at, format!("Invalid definition of `{expr}`. Expected format: 'resources.<resource>.<field>'")),
            }
        }
    }
    match parents.as_slice() {
        [] => None,
        [(p, _)] if names.contains(p) => Some(p.clone()),
        [(p, expr)] => {
            ck.problem(at, format!("A dependent resource `{resource}` refers to non existing parent resource `{p}` on param `{expr}`"));
            None
        }
        many => {
            let exprs: Vec<String> = many.iter().map(|(_, e)| format!("'{e}'")).collect();
            ck.problem(
                at,
                format!(
                    "Multiple parent resources for resource `{resource}` with params `[{}]`",
                    exprs.join(", ")
                ),
            );
            None
        }
    }
}

/// A copy with every secret string blanked: secrets are values, never templates.
fn without_secrets(value: &Value, ck: &Checker) -> Value {
    match value {
        Value::String(s) if ck.is_opaque(s) => Value::String(String::new()),
        Value::Array(items) => Value::Array(items.iter().map(|v| without_secrets(v, ck)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), without_secrets(v, ck)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Resolve params left in `params` after path binding are not bound in the path (dlt refuses them).
pub fn unbound_resolve(
    params: &[(String, Value)],
    resource: &str,
    path: &str,
    at: &str,
    ck: &mut Checker,
) {
    let unbound: Vec<String> = params
        .iter()
        .filter(|(_, v)| is_resolve(v))
        .map(|(k, _)| format!("'{k}'"))
        .collect();
    if !unbound.is_empty() {
        ck.problem(at, format!(
            "Resource `{resource}` defines resolve params `[{}]` that are not bound in path `{path}`. To reference parent resource in query params use syntax 'resources.<parent_resource>.<field>'",
            unbound.join(", ")
        ));
    }
}

/// Parent links must not form a cycle; returns the resources on one, if any: from its lowest index, round to
/// it again. Each resource is walked once (a long chain of parents is linear, not quadratic).
pub fn cycle(parents: &[Option<usize>]) -> Option<Vec<usize>> {
    // 0: not seen; w + 1: seen on walk w (a walk that ends in a resource seen before is done with).
    let mut walk_of = vec![0usize; parents.len()];
    for start in 0..parents.len() {
        let mut at = start;
        while walk_of[at] == 0 {
            walk_of[at] = start + 1;
            match parents[at] {
                Some(p) if p < parents.len() => at = p,
                _ => break,
            }
        }
        if walk_of[at] != start + 1 || parents[at].is_none() {
            continue;
        }
        // `at` was reached twice on this walk: it is on a cycle. Collect it, then start from its lowest index.
        let mut ring = vec![at];
        let mut next = parents[at]?;
        while next != at {
            ring.push(next);
            next = parents[next]?;
        }
        let low = ring
            .iter()
            .enumerate()
            .min_by_key(|(_, r)| **r)
            .map_or(0, |(i, _)| i);
        ring.rotate_left(low);
        ring.push(ring[0]);
        return Some(ring);
    }
    None
}

#[cfg(test)]
mod cycle_tests {
    use super::cycle;

    #[test]
    fn a_cycle_is_found_from_its_lowest_index_and_long_chains_are_walked_once() {
        // 0 -> 2 -> 1 -> 2: the ring is 1, 2; 0 only leads into it.
        assert_eq!(cycle(&[Some(2), Some(2), Some(1)]), Some(vec![1, 2, 1]));
        assert_eq!(cycle(&[Some(0)]), Some(vec![0, 0]));
        assert_eq!(cycle(&[None, Some(0), Some(1)]), None);
        let chain: Vec<Option<usize>> = (0..200_000usize).map(|i| i.checked_sub(1)).collect();
        assert_eq!(cycle(&chain), None);
        let mut ring = chain;
        ring[0] = Some(199_999);
        assert_eq!(
            cycle(&ring).map(|r| (r.len(), r[0], r[1])),
            Some((200_001, 0, 199_999))
        );
    }
}
