//! JSONPath in dlt's dialect over an RFC 9535 implementation (`serde_json_path`), and record selection.
//!
//! dlt (jsonpath-ng) accepts bare paths such as `data`, `paging.next.after` or `my-key`; RFC 9535 wants them rooted
//! and quoted where a name is not an identifier. [`Path::parse`] does that normalisation.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A compiled JSONPath, keeping the text it was written as.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    compiled: JsonPath,
}

impl Path {
    /// Compile a dlt-style path. The error text says why it does not parse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let normalised = normalise(text);
        let compiled = JsonPath::parse(&normalised)
            .map_err(|e| format!("`{text}` is not a valid JSONPath: {e}"))?;
        Ok(Self {
            text: text.to_string(),
            compiled,
        })
    }

    /// The path as written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first match, like dlt's `find_values(...)[0]`.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.compiled.query(value).first()
    }

    /// Records at this path with dlt's rules: one match that is a list unwraps to its items; one `null` match
    /// is no records; one other match is one record; several matches are the records; no match is none.
    pub fn records<'a>(&self, body: &'a Value) -> Vec<&'a Value> {
        let matches = self.compiled.query(body).all();
        match matches.as_slice() {
            [] => Vec::new(),
            [Value::Array(items)] => items.iter().collect(),
            [Value::Null] => Vec::new(),
            _ => matches,
        }
    }
}

fn is_identifier(segment: &str) -> bool {
    let mut chars = segment.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Turn a jsonpath-ng style path into RFC 9535 syntax.
fn normalise(text: &str) -> String {
    let text = text.trim();
    if text.starts_with('$') {
        return text.to_string();
    }
    if text.starts_with('[') {
        return format!("${text}");
    }
    let simple = !text.contains(['[', '(', '?', '\'', '"', '@']) && !text.contains("..");
    if !simple {
        return format!("$.{text}");
    }
    let mut out = String::from("$");
    for segment in text.split('.') {
        if segment == "*" {
            out.push_str("[*]");
        } else if is_identifier(segment) {
            out.push('.');
            out.push_str(segment);
        } else if let Ok(index) = segment.parse::<i64>() {
            out.push_str(&format!("[{index}]"));
        } else {
            out.push_str(&format!(
                "['{}']",
                segment.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    out
}

/// The record keys dlt prefers when it looks for the record list (`find_response_page_data`).
const RECORD_KEYS: [&str; 11] = [
    "data", "items", "results", "entries", "records", "rows", "entities", "payload", "content",
    "objects", "values",
];

/// dlt's record-list detection for a response without `data_selector`: the path of the first list (depth-first,
/// up to three keys deep) whose last key is a preferred name, else of the first list found, else `$`.
pub fn detect_data_path(body: &Value) -> Vec<String> {
    let Value::Object(_) = body else {
        return Vec::new();
    };
    let mut lists = Vec::new();
    collect_lists(body, &mut Vec::new(), &mut lists);
    lists
        .iter()
        .find(|p| p.last().is_some_and(|k| RECORD_KEYS.contains(&k.as_str())))
        .or_else(|| lists.first())
        .cloned()
        .unwrap_or_default()
}

fn collect_lists(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        prefix.push(key.clone());
        match v {
            Value::Array(_) => out.push(prefix.clone()),
            Value::Object(_) if prefix.len() < 3 => collect_lists(v, prefix, out),
            _ => {}
        }
        prefix.pop();
    }
}

/// Records found by following `keys` (from [`detect_data_path`]); an empty path makes the whole body the records.
pub fn records_at_keys<'a>(body: &'a Value, keys: &[String]) -> Vec<&'a Value> {
    let mut node = body;
    for key in keys {
        match node.get(key) {
            Some(v) => node = v,
            None => return Vec::new(),
        }
    }
    match node {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_dlt_paths() {
        let cases = [
            ("data", "$.data"),
            ("paging.next.after", "$.paging.next.after"),
            ("$.data[*]", "$.data[*]"),
            ("my-key", "$['my-key']"),
            ("['@odata.nextLink']", "$['@odata.nextLink']"),
            ("data.*", "$.data[*]"),
            ("items.0", "$.items[0]"),
            ("..id", "$...id"),
        ];
        for (input, want) in cases {
            assert_eq!(normalise(input), want, "{input}");
        }
    }

    #[test]
    fn selection_rules() {
        let body = json!({"data": [{"id": 1}, {"id": 2}], "one": {"id": 3}, "nil": null,
                          "nested": {"a": [{"x": 1}], "b": [{"x": 2}]}});
        let ids = |p: &str| {
            Path::parse(p)
                .unwrap()
                .records(&body)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("data"), vec![json!({"id": 1}), json!({"id": 2})]);
        assert_eq!(ids("$.data[*]"), vec![json!({"id": 1}), json!({"id": 2})]);
        assert_eq!(ids("one"), vec![json!({"id": 3})]);
        assert_eq!(ids("nil"), Vec::<Value>::new());
        assert_eq!(ids("missing"), Vec::<Value>::new());
        assert_eq!(ids("$.nested.*[*]").len(), 2);
        assert_eq!(ids("$").len(), 1, "an object body is one record");
        let list = json!([1, 2, 3]);
        assert_eq!(Path::parse("$").unwrap().records(&list).len(), 3);
    }

    #[test]
    fn first_match() {
        let body = json!({"paging": {"next": {"after": "abc"}}, "total": "7"});
        let p = Path::parse("paging.next.after").unwrap();
        assert_eq!(p.first(&body), Some(&json!("abc")));
        assert_eq!(Path::parse("nope").unwrap().first(&body), None);
    }

    #[test]
    fn bad_paths_are_reported() {
        let err = Path::parse("$.[").unwrap_err();
        assert!(err.contains("`$.[` is not a valid JSONPath"), "{err}");
    }

    #[test]
    fn data_detection_follows_dlt() {
        let cases = [
            (
                json!({"meta": {"items": [1]}, "data": [2]}),
                vec!["meta", "items"],
            ),
            (json!({"meta": {"x": [1]}, "stuff": [2]}), vec!["meta", "x"]),
            (json!({"Data": [1], "count": 1}), vec!["Data"]),
            (
                json!({"a": {"b": {"c": {"items": [1]}}}, "rows": [1]}),
                vec!["rows"],
            ),
            (json!({"data": null, "next": null}), vec![]),
            (json!([1, 2]), vec![]),
        ];
        for (body, want) in cases {
            assert_eq!(detect_data_path(&body), want, "{body}");
        }
        let body = json!({"data": null, "next": null});
        assert_eq!(records_at_keys(&body, &[]).len(), 1);
    }
}
