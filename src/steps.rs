//! Declarative processing steps: the JSON stand-in for dlt's Python `processing_steps`, under the same key and
//! with dlt's order. The steps run in list order on each record after the data selector (and after a child's
//! `include_from_parent` fields are added), before incremental filtering, so a map can make the cursor field.
//! A parent's steps shape the records its children are fetched for, as in dlt.
//!
//! - `{"filter": "<expression>"}` keeps the records for which an RFC 9535 JSONPath filter expression holds, with
//!   `@` the record: `@.active == true && @.amount > 10`.
//! - `{"map": {"set": {..}, "rename": {..}, "remove": [..]}}` sets fields (a value, or a string with
//!   `{field}` placeholders filled from the record; a string that is one placeholder keeps the value's type),
//!   then renames, then removes. Field names are dotted paths (`a.b`).
//!
//! Within one step object, `filter` goes before `map`, as in dlt. Nothing is silently lost: a placeholder
//! naming a field the record lacks, a rename onto a field that exists, or a map of a record that is not an
//! object fails the page with an error naming the step.

use crate::select::Path;
use crate::template::{Lookup, render_value};
use serde_json::{Map, Value};

/// One processing step.
#[derive(Debug, Clone)]
pub enum ProcessingStep {
    /// Keep the records a filter expression holds for.
    Filter(Filter),
    /// Change each record's fields.
    Map(Mapping),
}

/// A filter expression, compiled as the JSONPath `$[?<expression>]` over a one-record list.
#[derive(Debug, Clone)]
pub struct Filter {
    path: Path,
}

impl Filter {
    /// Compile `expression`; the error says why it does not parse.
    pub fn new(expression: &str) -> Result<Self, String> {
        let path = Path::parse(&format!("$[?{expression}]")).map_err(|e| {
            format!("`{expression}` is not a JSONPath filter expression (RFC 9535, `@` is the record): {e}")
        })?;
        Ok(Self { path })
    }

    /// Whether `record` passes; the record comes back (it is moved into a one-record list to be queried).
    fn keeps(&self, record: Value) -> (bool, Value) {
        let mut list = Value::Array(vec![record]);
        let keep = self.path.first(&list).is_some();
        let record = list.as_array_mut().and_then(Vec::pop).unwrap_or_default();
        (keep, record)
    }
}

/// A dotted field path, split.
pub type FieldPath = Vec<String>;

/// `map`: fields set (templates), renamed, removed, in that order.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Its place in `processing_steps`, for errors.
    pub index: usize,
    /// Fields set, with the value or template each gets.
    pub set: Vec<(FieldPath, Value)>,
    /// Fields renamed, old to new.
    pub rename: Vec<(FieldPath, FieldPath)>,
    /// Fields removed.
    pub remove: Vec<FieldPath>,
}

/// Split a dotted field name; an error for an empty part.
pub fn field_path(name: &str) -> Result<FieldPath, String> {
    let parts: Vec<String> = name.split('.').map(str::to_string).collect();
    match parts.iter().any(String::is_empty) {
        true => Err(format!("`{name}` is not a field name (empty part)")),
        false => Ok(parts),
    }
}

/// Run `steps` over `records`: the records kept, changed. The error names the step (`processing_steps[i]`).
pub fn apply(steps: &[ProcessingStep], records: Vec<Value>) -> Result<Vec<Value>, String> {
    if steps.is_empty() {
        return Ok(records);
    }
    let mut out = Vec::with_capacity(records.len());
    'records: for mut record in records {
        for step in steps {
            match step {
                ProcessingStep::Filter(f) => {
                    let (keep, back) = f.keeps(record);
                    if !keep {
                        continue 'records;
                    }
                    record = back;
                }
                ProcessingStep::Map(m) => {
                    m.apply(&mut record)
                        .map_err(|e| format!("processing_steps[{}].map: {e}", m.index))?;
                }
            }
        }
        out.push(record);
    }
    Ok(out)
}

impl Mapping {
    fn apply(&self, record: &mut Value) -> Result<(), String> {
        let Value::Object(fields) = record else {
            return Err(format!("the record is not an object: {record}"));
        };
        // Every template sees the record as it came to this step.
        let values = self
            .set
            .iter()
            .map(|(path, template)| {
                render_value(template, &Fields(fields), true).map(|v| (path, v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("set: {e}"))?;
        for (path, value) in values {
            put(fields, path, value).map_err(|e| format!("set `{}`: {e}", path.join(".")))?;
        }
        for (from, to) in &self.rename {
            let Some(value) = take(fields, from) else {
                continue;
            };
            if get(fields, to).is_some() {
                return Err(format!(
                    "rename `{}` to `{}`: the record already has `{}`, whose value would be lost",
                    from.join("."),
                    to.join("."),
                    to.join(".")
                ));
            }
            put(fields, to, value).map_err(|e| format!("rename to `{}`: {e}", to.join(".")))?;
        }
        for path in &self.remove {
            take(fields, path);
        }
        Ok(())
    }
}

/// A record's fields as placeholders see them: `{a.b}` is field `b` of field `a`.
struct Fields<'a>(&'a Map<String, Value>);

impl Lookup for Fields<'_> {
    fn value(&self, name: &str) -> Result<Value, String> {
        let path = field_path(name)?;
        get(self.0, &path)
            .cloned()
            .ok_or_else(|| format!("the record has no field `{name}`"))
    }
}

fn get<'a>(fields: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut at = fields;
    for key in parents {
        at = at.get(key)?.as_object()?;
    }
    at.get(last)
}

fn take(fields: &mut Map<String, Value>, path: &[String]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut at = fields;
    for key in parents {
        at = at.get_mut(key)?.as_object_mut()?;
    }
    at.shift_remove(last)
}

/// Set `path` to `value`, making the objects on the way; an error where a field on the way is not an object.
fn put(fields: &mut Map<String, Value>, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Ok(());
    };
    let mut at = fields;
    for key in parents {
        let next = at
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        at = next
            .as_object_mut()
            .ok_or_else(|| format!("`{key}` is not an object"))?;
    }
    at.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
