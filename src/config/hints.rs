//! Schema hints of a resource: `write_disposition` and `columns`.

use super::check::{Checker, join};
use super::{ColumnHint, WriteDisposition};
use serde_json::Value;

pub(super) fn write_disposition(
    v: Option<&Value>,
    path: &str,
    ck: &mut Checker,
) -> WriteDisposition {
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

pub(super) fn columns(v: Option<&Value>, path: &str, ck: &mut Checker) -> Vec<ColumnHint> {
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
