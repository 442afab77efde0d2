//! Small typed accessors over a JSON config that record every problem with its path instead of stopping.

use crate::error::ConfigProblem;
use serde_json::{Map, Value};

/// Collects config problems.
#[derive(Debug, Default)]
pub struct Checker {
    /// Problems found so far, in the order found.
    pub problems: Vec<ConfigProblem>,
    /// Secret values: strings equal to one are taken as they are, never read as templates.
    pub opaque: Vec<String>,
}

/// `parent.key`, or `key` at the top.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() || parent == "." {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Checker {
    /// Whether `s` is a secret value (to be used as it is).
    pub fn is_opaque(&self, s: &str) -> bool {
        self.opaque.iter().any(|o| o == s)
    }

    /// Record a problem.
    pub fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem::new(path, message));
    }

    /// Record a wrong-type problem.
    pub fn wrong_type(&mut self, path: &str, v: &Value, expected: &str) {
        self.problem(
            path,
            format!(
                "has invalid type `{}` while `{expected}` is expected",
                crate::render::py_type_name(v)
            ),
        );
    }

    /// `v` as an object, or a problem.
    pub fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(path, other, "dict");
                None
            }
        }
    }

    /// A problem for each key of `map` not in `allowed`.
    pub fn only_keys(&mut self, map: &Map<String, Value>, allowed: &[&str], path: &str) {
        for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.problem(
                if path.is_empty() { "." } else { path },
                format!(
                    "received unexpected field `{key}`; expected one of: {}",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// A required string.
    pub fn req_str(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => {
                self.problem(join(path, key), "missing required field");
                None
            }
            Some(_) => self.opt_str(map, key, path),
        }
    }

    /// An optional string (`null` counts as absent).
    pub fn opt_str(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong_type(&join(path, key), other, "str");
                None
            }
        }
    }

    /// An optional integer.
    pub fn opt_int(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<i64> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Value::Number(n)) if !n.to_string().contains(['.', 'e', 'E']) => {
                self.problem(
                    join(path, key),
                    format!("`{n}` is out of range (at most {})", i64::MAX),
                );
                None
            }
            Some(other) => {
                self.wrong_type(&join(path, key), other, "int");
                None
            }
        }
    }

    /// An optional integer from 0 to `u64::MAX`.
    pub fn opt_u64(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<u64> {
        match map.get(key) {
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
            _ => self.opt_int(map, key, path).map(|n| n.max(0) as u64),
        }
    }

    /// An optional non-negative number.
    pub fn opt_number(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<f64> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f >= 0.0 && f.is_finite() => Some(f),
                _ => {
                    self.problem(join(path, key), "must be a number ≥ 0");
                    None
                }
            },
            Some(other) => {
                self.wrong_type(&join(path, key), other, "float");
                None
            }
        }
    }

    /// An optional boolean.
    pub fn opt_bool(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Option<bool> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.wrong_type(&join(path, key), other, "bool");
                None
            }
        }
    }

    /// A string or a list of strings (a key such as `primary_key`); empty when absent.
    pub fn str_list(&mut self, map: &Map<String, Value>, key: &str, path: &str) -> Vec<String> {
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            self.wrong_type(&format!("{}[{i}]", join(path, key)), other, "str")
                        }
                    }
                }
                out
            }
            Some(other) => {
                self.wrong_type(&join(path, key), other, "str | list[str]");
                Vec::new()
            }
        }
    }

    /// A literal from `allowed`.
    pub fn literal(&mut self, v: &str, allowed: &[&str], path: &str) -> Option<String> {
        if allowed.contains(&v) {
            Some(v.to_string())
        } else {
            self.problem(path, format!("`{v}` is not one of: {}", allowed.join(", ")));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_record_problems_with_paths() {
        let v = json!({"a": 1, "b": "x", "c": [1, "y"], "d": -1.5, "e": "nope"});
        let map = v.as_object().unwrap();
        let mut ck = Checker::default();
        assert_eq!(ck.opt_str(map, "a", "client"), None);
        assert_eq!(ck.req_str(map, "zz", "client"), None);
        assert_eq!(ck.str_list(map, "c", "r"), vec!["y".to_string()]);
        assert_eq!(ck.opt_number(map, "d", "eh"), None);
        assert_eq!(ck.opt_bool(map, "e", "."), None);
        ck.only_keys(map, &["a", "b", "c", "d"], "");
        let got: Vec<String> = ck.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "client.a: has invalid type `int` while `str` is expected",
                "client.zz: missing required field",
                "r.c[0]: has invalid type `int` while `str` is expected",
                "eh.d: must be a number ≥ 0",
                "e: has invalid type `str` while `bool` is expected",
                ".: received unexpected field `e`; expected one of: a, b, c, d",
            ]
        );
    }
}
