//! A stored record's fields as SQLite values, read straight from its JSON text. Scalars are bound from the text
//! without building a `serde_json::Value`, and strings without escapes are not even copied. Nested objects and
//! lists are stored as compact JSON text: their own text when it has no whitespace between tokens (as the
//! connector writes records, and as most APIs send them), else written again without it.

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// How SQLite treats a value bound to a column, from the column's declared type (SQLite's affinity rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Affinity {
    /// `INTEGER`, `REAL` or `NUMERIC`: numeric text is converted, big integers rounded to a double.
    Numeric,
    /// `TEXT`: a number bound as text stays that text.
    Text,
    /// `BLOB` or no type: stored as bound.
    Blob,
}

impl Affinity {
    /// The affinity of a declared column type.
    pub(super) fn of(declared: &str) -> Self {
        let t = declared.to_ascii_uppercase();
        match () {
            _ if t.contains("INT") => Self::Numeric,
            _ if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") => Self::Text,
            _ if t.contains("BLOB") || t.is_empty() => Self::Blob,
            _ => Self::Numeric,
        }
    }
}

/// One record: its fields in order, each value as the JSON text it came as. A repeated key keeps its first
/// place and its last value, as serde_json's own map does.
pub(super) struct Record<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Record<'a> {
    /// One JSON Lines record; `None` for a line that is JSON but not an object (it has no columns).
    pub(super) fn parse(line: &'a [u8]) -> Result<Option<Self>, serde_json::Error> {
        // As text, checked once: parsing bytes would check each raw value's text again.
        let Ok(text) = std::str::from_utf8(line) else {
            return serde_json::from_slice::<Record>(line).map(Some);
        };
        match serde_json::from_str::<Record>(text) {
            Ok(record) => Ok(Some(record)),
            Err(e) => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => Ok(None),
                Err(_) => Err(e),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RecordVisitor)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Record<'de>, M::Error> {
        let mut fields: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::with_capacity(16);
        while let Some(Text(key)) = map.next_key()? {
            let value: &RawValue = map.next_value()?;
            match fields.iter_mut().find(|(k, _)| *k == key) {
                Some(field) => field.1 = value,
                None => fields.push((key, value)),
            }
        }
        Ok(Record(fields))
    }
}

/// A JSON string's text, borrowed from the input when it has no escapes.
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// The SQLite value of a JSON value (its text) bound to a column of `affinity`; `None` for a number the column
/// would change (an integer beyond 64 bits, `1e400`, in a numeric column).
pub(super) fn sql_value(
    raw: &RawValue,
    affinity: Affinity,
) -> Result<Option<ToSqlOutput<'_>>, serde_json::Error> {
    let text = raw.get();
    Ok(Some(match text.as_bytes().first() {
        Some(b'n') => ToSqlOutput::Owned(SqlValue::Null),
        Some(b't') => ToSqlOutput::Owned(SqlValue::Integer(1)),
        Some(b'f') => ToSqlOutput::Owned(SqlValue::Integer(0)),
        // Valid JSON (the record parsed): without a backslash, the string's content is what is between its quotes.
        Some(b'"') if !text.contains('\\') => {
            ToSqlOutput::Borrowed(ValueRef::Text(&text.as_bytes()[1..text.len() - 1]))
        }
        Some(b'"') => match serde_json::from_str::<Text>(text)?.0 {
            Cow::Borrowed(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Cow::Owned(s) => ToSqlOutput::Owned(SqlValue::Text(s)),
        },
        Some(b'{' | b'[') if compact(text) => {
            ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))
        }
        Some(b'{' | b'[') => {
            let value: serde_json::Value = serde_json::from_str(text)?;
            ToSqlOutput::Owned(SqlValue::Text(value.to_string()))
        }
        _ => return Ok(number(text, affinity)),
    }))
}

/// Whether JSON text has no whitespace between its tokens (whitespace inside strings is their content).
pub(super) fn compact(text: &str) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for &b in text.as_bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') | (false, _, b'"') => in_string = !in_string,
            (false, _, b' ' | b'\t' | b'\n' | b'\r') => return false,
            _ => {}
        }
    }
    true
}

/// A number, from its text: an integer that fits 64 signed bits as one; otherwise a double (correctly rounded)
/// in a numeric column and the text itself in any other.
fn number(text: &str, affinity: Affinity) -> Option<ToSqlOutput<'_>> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(ToSqlOutput::Owned(SqlValue::Integer(i)));
    }
    match affinity {
        Affinity::Text | Affinity::Blob => {
            Some(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())))
        }
        Affinity::Numeric if text.contains(['.', 'e', 'E']) => text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| ToSqlOutput::Owned(SqlValue::Real(f))),
        Affinity::Numeric => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(line: &str, affinity: Affinity) -> Vec<Option<SqlValue>> {
        let record = Record::parse(line.as_bytes()).unwrap().unwrap();
        record
            .0
            .iter()
            .map(|(_, raw)| {
                sql_value(raw, affinity).unwrap().map(|v| match v {
                    ToSqlOutput::Borrowed(r) => r.into(),
                    ToSqlOutput::Owned(v) => v,
                    _ => unreachable!("only borrowed and owned values are made"),
                })
            })
            .collect()
    }

    #[test]
    fn values_are_bound_as_their_text_says() {
        let line = r#"{"n": null, "t": true, "f": false, "s": "a\"b", "i": -12, "d": 1.50, "e": 1E5, "o": {"a": [1, 2.0]}}"#;
        let got = values(line, Affinity::Numeric);
        assert_eq!(
            got,
            vec![
                Some(SqlValue::Null),
                Some(SqlValue::Integer(1)),
                Some(SqlValue::Integer(0)),
                Some(SqlValue::Text("a\"b".into())),
                Some(SqlValue::Integer(-12)),
                Some(SqlValue::Real(1.5)),
                Some(SqlValue::Real(100000.0)),
                Some(SqlValue::Text(r#"{"a":[1,2.0]}"#.into())),
            ]
        );
        let big = r#"{"u": 18446744073709551616, "x": 1e400, "d": 0.1000000000000000000001}"#;
        assert_eq!(
            values(big, Affinity::Text),
            vec![
                Some(SqlValue::Text("18446744073709551616".into())),
                Some(SqlValue::Text("1e400".into())),
                Some(SqlValue::Text("0.1000000000000000000001".into())),
            ]
        );
        assert_eq!(values(big, Affinity::Numeric)[..2], [None, None]);
    }

    #[test]
    fn nested_values_are_stored_compact() {
        let line = r#"{"a": {"b":"x y\" z","c":[1,2]}, "d": [ 1, {"e" : 2} ]}"#;
        assert_eq!(
            values(line, Affinity::Text),
            vec![
                Some(SqlValue::Text(r#"{"b":"x y\" z","c":[1,2]}"#.into())),
                Some(SqlValue::Text(r#"[1,{"e":2}]"#.into())),
            ]
        );
        assert!(compact(r#"{"a":"\\","b":" "}"#));
        assert!(!compact(r#"{"a":"\\", "b":" "}"#));
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_its_last_value() {
        let record = Record::parse(br#"{"a": 1, "b": 2, "a": 3}"#)
            .unwrap()
            .unwrap();
        let fields: Vec<(&str, &str)> = record
            .0
            .iter()
            .map(|(k, v)| (k.as_ref(), v.get()))
            .collect();
        assert_eq!(fields, [("a", "3"), ("b", "2")]);
        assert!(
            Record::parse(b"[1]").unwrap().is_none(),
            "not an object: no columns"
        );
        assert!(Record::parse(b"{\"a\": ").is_err());
    }
}
