//! JSONPath in dlt's dialect over an RFC 9535 implementation (`serde_json_path`), and record selection.
//!
//! dlt (jsonpath-ng) accepts bare paths such as `data`, `paging.next.after` or `my-key`; RFC 9535 wants them rooted
//! and quoted where a name is not an identifier. [`Path::parse`] does that normalisation.

use serde_json::Value;
use serde_json_path::JsonPath;

mod lines;
pub mod raw;

pub use lines::json_lines;

/// A compiled JSONPath, keeping the text it was written as.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    compiled: JsonPath,
}

/// The deepest bracket nesting a path may have. serde_json_path's parser takes time exponential in the nesting
/// of filters (`$[?$[?$[?…]]]`, about twice as long per level); at this depth it takes well under a millisecond.
const MAX_BRACKET_DEPTH: usize = 6;

/// How deeply `[` brackets nest in `text`, outside quoted names (an unclosed one counts).
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote, mut escaped) = (0usize, 0, None, false);
    for c in text.chars() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

/// Whether the last `\u` escape in `text` is cut short by its end. serde_json_path 0.7.2 panics on such a path
/// (its string parser asks for more input, which it treats as unreachable), so it is refused before parsing. Only
/// the end of the text can cut an escape short, so only the last one matters.
fn truncated_unicode_escape(text: &str) -> bool {
    text.rfind("\\u").is_some_and(|i| text.len() - i - 2 < 4)
}

impl Path {
    /// Compile a dlt-style path. The error text says why it does not parse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let normalised = normalise(text);
        if bracket_depth(&normalised) > MAX_BRACKET_DEPTH {
            return Err(format!(
                "`{text}` is not accepted: its brackets nest deeper than {MAX_BRACKET_DEPTH} levels"
            ));
        }
        if truncated_unicode_escape(&normalised) {
            return Err(format!(
                "`{text}` is not a valid JSONPath: a `\\u` escape needs four hex digits"
            ));
        }
        let compiled = JsonPath::parse(&normalised)
            .map_err(|e| format!("`{text}` is not a valid JSONPath: {e}"))?;
        Ok(Self {
            text: text.to_string(),
            compiled,
        })
    }

    /// The object keys this path follows from the root, when it is nothing but plain names (`data`,
    /// `$.result.items`); `None` for anything else.
    pub fn keys(&self) -> Option<Vec<String>> {
        let text = self.text.trim();
        let rest = match text.strip_prefix('$') {
            Some("") => return Some(Vec::new()),
            Some(rest) => rest.strip_prefix('.')?,
            None => text,
        };
        rest.split('.')
            .map(|k| is_identifier(k).then(|| k.to_string()))
            .collect()
    }

    /// The path as written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first match, like dlt's `find_values(...)[0]`.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.compiled.query(value).first()
    }

    /// Where the records are, with dlt's rules: one match that is a list unwraps to its items; one `null` match
    /// is no records; one other match is one record; several matches are the records; no match is none.
    pub fn locate(&self, body: &Value) -> Selection {
        let located = self.compiled.query_located(body);
        let mut nodes = located
            .iter()
            .map(|n| (n.location().to_json_pointer(), n.node()));
        match (nodes.next(), located.len()) {
            (None, _) => Selection::Nodes(Vec::new()),
            (Some((pointer, node)), 1) => at_node(pointer, node),
            (Some((first, _)), _) => Selection::Nodes(
                std::iter::once(first)
                    .chain(nodes.map(|(p, _)| p))
                    .collect(),
            ),
        }
    }
}

/// Where a page's records are in its body, so that they can be moved out of it rather than copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The items of the array at this JSON pointer.
    Items(String),
    /// These nodes, in order, by JSON pointer.
    Nodes(Vec<String>),
}

impl Selection {
    /// How many records there are.
    pub fn count(&self, body: &Value) -> usize {
        match self {
            Self::Items(pointer) => body
                .pointer(pointer)
                .and_then(Value::as_array)
                .map_or(0, Vec::len),
            Self::Nodes(pointers) => pointers.len(),
        }
    }

    /// The records, moved out of `body` (which keeps `null` in their place). Nodes that nest in one another or
    /// repeat are copied instead, so each record is whole.
    pub fn take(&self, body: &mut Value) -> Vec<Value> {
        match self {
            Self::Items(pointer) => match body.pointer_mut(pointer).map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            Self::Nodes(pointers) if disjoint(pointers) => pointers
                .iter()
                .filter_map(|p| body.pointer_mut(p).map(Value::take))
                .collect(),
            Self::Nodes(pointers) => pointers
                .iter()
                .filter_map(|p| body.pointer(p).cloned())
                .collect(),
        }
    }
}

/// The selection for one matched node.
fn at_node(pointer: String, node: &Value) -> Selection {
    match node {
        Value::Array(_) => Selection::Items(pointer),
        Value::Null => Selection::Nodes(Vec::new()),
        _ => Selection::Nodes(vec![pointer]),
    }
}

/// Whether no pointer repeats or lies inside another.
fn disjoint(pointers: &[String]) -> bool {
    let mut sorted: Vec<&str> = pointers.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| {
        let (a, b) = (w[0], w[1]);
        !(b == a || b.strip_prefix(a).is_some_and(|rest| rest.starts_with('/')))
    })
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

/// Where the records are when following `keys` (from [`detect_data_path`]); an empty path makes the whole body
/// the records.
pub fn locate_at_keys(body: &Value, keys: &[String]) -> Selection {
    let mut node = body;
    let mut pointer = String::new();
    for key in keys {
        match node.get(key) {
            Some(v) => node = v,
            None => return Selection::Nodes(Vec::new()),
        }
        pointer.push('/');
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    }
    at_node(pointer, node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the `jsonpath` fuzz target: parsing took seconds, then hours, as filters nested deeper.
    #[test]
    fn deeply_nested_filters_are_refused_before_parsing() {
        let nested = |n: usize| format!("{}@.a{}", "$[?".repeat(n), "]".repeat(n));
        assert!(Path::parse(&nested(MAX_BRACKET_DEPTH)).is_ok());
        for text in [
            nested(MAX_BRACKET_DEPTH + 1),
            "[?$".repeat(40),
            "[?$[? $[?$[?$[?$[? $[? !($[? $[?$[?$[? $[?$[? $[?$[?$[?$[?$[?$<$[lqqngth(".to_string(),
        ] {
            let error = Path::parse(&text).err().unwrap_or_default();
            assert!(
                error.contains("brackets nest deeper than 6 levels"),
                "{error}"
            );
        }
        assert_eq!(bracket_depth("$['[[[[[[[[', \"]]\\\"[[[[\"][0]"), 1);
        assert!(Path::parse("$.a[0].b[1].c[2].d[3].e[4].f[5].g[6].h[7]").is_ok());
    }

    /// Found by the `jsonpath` fuzz target: these made serde_json_path 0.7.2 panic.
    #[test]
    fn a_unicode_escape_cut_short_is_an_error_not_a_panic() {
        for text in [
            ".[\": \\u",
            "$['\\u",
            "$['\\uD",
            "$['\\uD83D\\u",
            "$['\\uD83D\\uD",
            "x\\u",
        ] {
            let error = Path::parse(text).err().unwrap_or_default();
            assert!(
                error.contains("is not a valid JSONPath"),
                "{text:?}: {error}"
            );
        }
        assert!(Path::parse("$['\\u00e9']").is_ok());
        assert!(Path::parse("$['\\uD83D\\uDE00']").is_ok());
    }

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
                .locate(&body)
                .take(&mut body.clone())
        };
        assert_eq!(ids("data"), vec![json!({"id": 1}), json!({"id": 2})]);
        assert_eq!(ids("$.data[*]"), vec![json!({"id": 1}), json!({"id": 2})]);
        assert_eq!(ids("one"), vec![json!({"id": 3})]);
        assert_eq!(ids("nil"), Vec::<Value>::new());
        assert_eq!(ids("missing"), Vec::<Value>::new());
        assert_eq!(ids("$.nested.*[*]").len(), 2);
        assert_eq!(ids("$").len(), 1, "an object body is one record");
        let list = json!([1, 2, 3]);
        assert_eq!(
            Path::parse("$").unwrap().locate(&list),
            Selection::Items(String::new())
        );
        assert_eq!(Path::parse("$").unwrap().locate(&list).count(&list), 3);
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
        assert_eq!(locate_at_keys(&body, &[]).count(&body), 1);
    }

    #[test]
    fn plain_paths_give_their_keys() {
        let keys = |p: &str| Path::parse(p).unwrap().keys();
        let owned = |k: &[&str]| Some(k.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(keys("data"), owned(&["data"]));
        assert_eq!(keys("$.result.items"), owned(&["result", "items"]));
        assert_eq!(keys("$"), owned(&[]));
        for other in [
            "$.data[*]",
            "data.0",
            "['my-key']",
            "$..id",
            "my-key",
            "data.*",
        ] {
            assert_eq!(keys(other), None, "{other}");
        }
    }

    #[test]
    fn regex_functions_are_not_available() {
        for path in [
            "$.data[?match(@.name, 'a.*')]",
            "$.data[?search(@.name, 'a')]",
        ] {
            let err = Path::parse(path).unwrap_err();
            assert!(err.contains("is not a valid JSONPath"), "{err}");
        }
        let body = json!({"data": [{"tags": [1, 2]}, {"tags": []}]});
        let non_empty = Path::parse("$.data[?length(@.tags) > 0]").unwrap();
        assert_eq!(
            non_empty.locate(&body),
            Selection::Nodes(vec!["/data/0".into()])
        );
    }

    #[test]
    fn records_are_moved_out_unless_they_nest_or_repeat() {
        let body = json!({"data": [{"id": 1, "sub": {"id": 9}}, {"id": 2}], "a/b": {"c~": [7, 8]}});
        let take = |p: &str| {
            let mut copy = body.clone();
            let records = Path::parse(p).unwrap().locate(&body).take(&mut copy);
            (records, copy)
        };
        let (records, left) = take("data");
        assert_eq!(
            records,
            vec![json!({"id": 1, "sub": {"id": 9}}), json!({"id": 2})]
        );
        assert_eq!(left["data"], Value::Null, "moved, not copied");
        let (records, left) = take("$.data[*]");
        assert_eq!(records.len(), 2);
        assert_eq!(left["data"], json!([null, null]));
        let (mut records, left) = take("$..id");
        records.sort_by_key(|r| r.as_i64());
        assert_eq!(records, vec![json!(1), json!(2), json!(9)]);
        assert_eq!(
            left["data"][0],
            json!({"id": null, "sub": {"id": null}}),
            "disjoint nodes are moved"
        );
        let (records, left) = take("$.data[0,0]");
        assert_eq!(
            records,
            vec![body["data"][0].clone(), body["data"][0].clone()]
        );
        assert_eq!(left, body, "a repeated node is copied");
        let (records, _) = take("$..[?@.id]");
        assert_eq!(records.len(), 3, "nested matches are copied whole");
        assert_eq!(records[0], body["data"][0]);
        let keys = vec!["a/b".to_string(), "c~".to_string()];
        let mut copy = body.clone();
        assert_eq!(
            locate_at_keys(&body, &keys).take(&mut copy),
            vec![json!(7), json!(8)]
        );
    }
}
