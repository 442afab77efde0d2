//! `{"secret": "name"}` references in a config: finding them and replacing them with the values the host gives.
//!
//! A reference is an object with exactly one key, `secret`, whose value is a string. It stands wherever dlt had
//! `dlt.secrets["name"]`.

use crate::error::{ConfigProblem, Error};
use serde_json::Value;

/// A secret reference found in a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Config path of the reference, e.g. `client.auth.api_key`.
    pub path: String,
    /// The secret's name.
    pub name: String,
}

/// Every secret reference in `config`, in document order.
pub fn find_refs(config: &Value) -> Vec<SecretRef> {
    let mut out = Vec::new();
    walk(config, String::new(), &mut out);
    out.into_iter().filter_map(Result::ok).collect()
}

/// Collects references, and as `Err(path)` objects whose only key is `secret` but whose value is no name.
fn walk(value: &Value, path: String, out: &mut Vec<Result<SecretRef, String>>) {
    if let Some(name) = as_ref(value) {
        out.push(Ok(SecretRef {
            path: display_path(&path),
            name: name.to_string(),
        }));
        return;
    }
    if value
        .as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("secret"))
    {
        out.push(Err(display_path(&path)));
        return;
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, child, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ".".into()
    } else {
        path.into()
    }
}

/// The name if `value` is a secret reference.
fn as_ref(value: &Value) -> Option<&str> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.get("secret")?.as_str()
}

/// Replace every reference in `config` with the value `lookup` gives for its name.
///
/// Returns the values used (to mask them in every later message). A name `lookup` cannot give is a config error
/// naming the secret and where it is referenced; all such problems are listed together.
pub fn resolve(
    config: &mut Value,
    mut lookup: impl FnMut(&str) -> Result<String, String>,
) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    walk(config, String::new(), &mut found);
    let mut values = Vec::new();
    let mut problems = Vec::new();
    for r in &found {
        let r = match r {
            Ok(r) => r,
            Err(path) => {
                let message =
                    r#"a secret reference names its secret with a string: {"secret": "name"}"#;
                problems.push(ConfigProblem::new(path.clone(), message));
                continue;
            }
        };
        match lookup(&r.name) {
            Ok(v) => values.push((r.name.clone(), v)),
            Err(why) => problems.push(ConfigProblem::new(
                r.path.clone(),
                format!("secret `{}` {why}", r.name),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidConfig(problems));
    }
    substitute(config, &values);
    Ok(values.into_iter().map(|(_, v)| v).collect())
}

fn substitute(value: &mut Value, values: &[(String, String)]) {
    if let Some(name) = as_ref(value) {
        if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
            *value = Value::String(v.clone());
        }
        return;
    }
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, values)),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, values)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_references_with_paths() {
        let cfg = json!({
            "client": {"auth": {"type": "api_key", "api_key": {"secret": "k"}}},
            "resources": [{"name": "a", "endpoint": {"headers": {"X": {"secret": "h"}}}}],
        });
        let refs = find_refs(&cfg);
        assert_eq!(
            refs,
            vec![
                SecretRef {
                    path: "client.auth.api_key".into(),
                    name: "k".into()
                },
                SecretRef {
                    path: "resources[0].endpoint.headers.X".into(),
                    name: "h".into()
                },
            ]
        );
    }

    #[test]
    fn objects_with_more_keys_are_not_references() {
        let cfg = json!({"a": {"secret": "x", "other": 1}, "b": {"secret": 3}});
        assert!(find_refs(&cfg).is_empty());
    }

    #[test]
    fn resolve_substitutes_values() {
        let mut cfg = json!({"auth": {"token": {"secret": "t"}}, "list": [{"secret": "t"}]});
        let used = resolve(&mut cfg, |n| Ok(format!("value-of-{n}"))).unwrap();
        assert_eq!(
            cfg,
            json!({"auth": {"token": "value-of-t"}, "list": ["value-of-t"]})
        );
        assert_eq!(used, vec!["value-of-t", "value-of-t"]);
    }

    #[test]
    fn missing_secrets_are_config_errors_naming_each() {
        let mut cfg = json!({"a": {"secret": "one"}, "b": {"secret": "two"}});
        let err = resolve(&mut cfg, |_| Err("is not set".into())).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidConfig(vec![
                ConfigProblem::new("a", "secret `one` is not set"),
                ConfigProblem::new("b", "secret `two` is not set"),
            ])
        );
    }
}
