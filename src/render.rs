//! Rendering JSON values the way dlt (Python `str()`) renders them into query strings, paths and headers.

use serde_json::Value;

/// Python's `str()` of the value `json.loads` would give: `True`, `None`, `1.0`, `{'a': 1}`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's name of the type `json.loads` gives for the value (`NoneType`, `bool`, `int`, `float`, `str`,
/// `list`, `dict`), as dlt's messages use them.
pub fn py_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `repr()` of the value `json.loads` would give.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
fn py_str_repr(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\");
    if s.contains('\'') && !s.contains('"') {
        format!("\"{escaped}\"")
    } else {
        format!("'{}'", escaped.replace('\'', "\\'"))
    }
}

/// Python's `repr(float)`: shortest round-trip digits, `.0` on integral values, exponent form outside
/// `1e-4 <= |f| < 1e16`.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        // Rust's exponent form is `<mantissa>e<integer>`; Python pads the exponent to two digits with a sign.
        if let Some((mantissa, Ok(exp))) = s.split_once('e').map(|(m, e)| (m, e.parse::<i32>())) {
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mantissa}e{sign}{:02}", exp.abs());
        }
        return s;
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Python's `json.dumps(value)` with its defaults: `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`,
/// floats as `repr`. This is the body `requests` sends for `json=`.
pub fn py_json(value: &Value) -> String {
    let mut out = String::new();
    write_py_json(value, &mut out);
    out
}

fn write_py_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_f64() => out.push_str(&py_float(n.as_f64().unwrap_or_default())),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_py_json_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_py_json_str(k, out);
                out.push_str(": ");
                write_py_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_py_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_bodies_match_python_json_dumps() {
        let v = json!({"a": 1, "b": [true, null, 1.5, 1e10], "s": "é\"\n😀", "o": {}});
        assert_eq!(
            py_json(&v),
            r#"{"a": 1, "b": [true, null, 1.5, 10000000000.0], "s": "\u00e9\"\n\ud83d\ude00", "o": {}}"#
        );
    }

    #[test]
    fn renders_like_python_str() {
        let cases = [
            (json!("abc"), "abc"),
            (json!(1), "1"),
            (json!(-7), "-7"),
            (json!(1e10), "10000000000.0"),
            (json!(1.5), "1.5"),
            (json!(0.1), "0.1"),
            (json!(1e20), "1e+20"),
            (json!(1.5e-5), "1.5e-05"),
            (json!(true), "True"),
            (json!(false), "False"),
            (json!(null), "None"),
            (json!({"a": 1}), "{'a': 1}"),
            (
                json!({"a": "it's", "b": [true, null]}),
                "{'a': \"it's\", 'b': [True, None]}",
            ),
            (json!(18446744073709551615u64), "18446744073709551615"),
        ];
        for (value, want) in cases {
            assert_eq!(py_str(&value), want, "{value}");
        }
    }
}
