//! A page's records as the text of PostgreSQL's `COPY ... FROM STDIN`: one line per record, the table's columns
//! in order, separated by tabs, `\N` for a null or missing value, `\`, tab, newline and carriage return escaped.
//!
//! Each value goes in as the text the API sent (numbers keep every digit; PostgreSQL parses them for the column's
//! type), strings as their content, objects and lists as compact JSON text; into a `jsonb` column every value
//! goes as its JSON text (a string keeps its quotes). Where PostgreSQL would change a value
//! without a word, the page is refused or the column widened first:
//! - an integer outside ±2^53 in a `double precision` column would be rounded: the column must become `numeric`
//!   ([`Problem::Widen`]);
//! - a timestamp or time with more than six digits of fraction would be rounded to microseconds: refused;
//! - a time with a zone or offset would lose it in a `time` column: refused.
//!
//! Anything else a column cannot hold (text in a `bigint` column, `\u0000` in text) PostgreSQL refuses itself.

use super::sqlite_record::{Record, Text, compact};
use crate::wit::DataType;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// A column's PostgreSQL type (dlt's types on PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PgType {
    Bigint,
    Double,
    Numeric,
    Bool,
    Timestamptz,
    Date,
    Time,
    Jsonb,
    Bytea,
    Text,
}

impl PgType {
    /// The type of a column of this data type; text while only nulls were seen.
    pub(super) fn of(t: Option<DataType>) -> Self {
        match t {
            Some(DataType::Bigint) => Self::Bigint,
            Some(DataType::Double) => Self::Double,
            Some(DataType::Decimal) => Self::Numeric,
            Some(DataType::Bool) => Self::Bool,
            Some(DataType::Timestamp) => Self::Timestamptz,
            Some(DataType::Date) => Self::Date,
            Some(DataType::Time) => Self::Time,
            Some(DataType::Json) => Self::Jsonb,
            Some(DataType::Binary) => Self::Bytea,
            Some(DataType::Text) | None => Self::Text,
        }
    }

    /// The type's SQL name, as `information_schema.columns.data_type` spells it.
    pub(super) fn sql(self) -> &'static str {
        match self {
            Self::Bigint => "bigint",
            Self::Double => "double precision",
            Self::Numeric => "numeric",
            Self::Bool => "boolean",
            Self::Timestamptz => "timestamp with time zone",
            Self::Date => "date",
            Self::Time => "time without time zone",
            Self::Jsonb => "jsonb",
            Self::Bytea => "bytea",
            Self::Text => "text",
        }
    }

    /// The type `information_schema` names; text for any other.
    pub(super) fn from_sql(name: &str) -> Self {
        [
            Self::Bigint,
            Self::Double,
            Self::Numeric,
            Self::Bool,
            Self::Timestamptz,
            Self::Date,
            Self::Time,
            Self::Jsonb,
            Self::Bytea,
        ]
        .into_iter()
        .find(|t| t.sql() == name)
        .unwrap_or(Self::Text)
    }
}

/// Why a page cannot be copied as it is.
#[derive(Debug, PartialEq)]
pub(super) enum Problem {
    /// Column `.0` (an index) must become `numeric` to hold a value exactly.
    Widen(usize),
    /// A value no column type holds unchanged, or a record that does not fit the table: the message.
    Refused(String),
}

/// The COPY text of a page's records for a table with `columns` (name and type, in the COPY's order); `table`
/// names it in errors. Lines that are JSON but not objects have no columns and are skipped.
pub(super) fn encode(
    records: &[u8],
    columns: &[(String, PgType)],
    table: &str,
) -> Result<Vec<u8>, Problem> {
    let index: HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    let mut out = Vec::with_capacity(records.len() + records.len() / 8);
    let mut row: Vec<Option<&RawValue>> = vec![None; columns.len()];
    for line in records.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let record = Record::parse(line)
            .map_err(|e| Problem::Refused(format!("table {table}: a record is not JSON: {e}")))?;
        let Some(record) = record else { continue };
        row.iter_mut().for_each(|v| *v = None);
        for (key, raw) in &record.0 {
            let Some(&i) = index.get(key.as_ref()) else {
                return Err(Problem::Refused(format!(
                    "table {table}: a record has the column `{key}`, which the schema did not announce"
                )));
            };
            row[i] = Some(raw);
        }
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match value {
                Some(raw) => write_value(&mut out, raw, columns[i].1).map_err(|p| match p {
                    Fault::Widen => Problem::Widen(i),
                    Fault::Refused(why) => {
                        Problem::Refused(format!("table {table}, column {}: {why}", columns[i].0))
                    }
                })?,
                None => out.extend_from_slice(b"\\N"),
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// What one value needs before it can go in.
enum Fault {
    Widen,
    Refused(String),
}

/// Whether a double holds this integer (its JSON text) exactly: within ±2^53, where every integer is one.
fn exact_in_double(integer: &str) -> bool {
    integer
        .trim_start_matches('-')
        .parse::<u64>()
        .is_ok_and(|n| n <= 1 << 53)
}

fn write_value(out: &mut Vec<u8>, raw: &RawValue, ty: PgType) -> Result<(), Fault> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'n') => out.extend_from_slice(b"\\N"),
        // A JSON column takes every value as JSON: a string stays a string (`"42"` is not the number 42).
        _ if ty == PgType::Jsonb && compact(text) => escape(out, text),
        _ if ty == PgType::Jsonb => {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| Fault::Refused(e.to_string()))?;
            escape(out, &value.to_string());
        }
        Some(b'"') => {
            let content = match text.contains('\\') {
                false => std::borrow::Cow::Borrowed(&text[1..text.len() - 1]),
                true => {
                    serde_json::from_str::<Text>(text)
                        .map_err(|e| Fault::Refused(e.to_string()))?
                        .0
                }
            };
            match ty {
                PgType::Bytea => {
                    out.extend_from_slice(b"\\\\x");
                    for b in content.as_bytes() {
                        out.extend_from_slice(format!("{b:02x}").as_bytes());
                    }
                    return Ok(());
                }
                PgType::Timestamptz => sub_microsecond(&content)?,
                PgType::Time => {
                    sub_microsecond(&content)?;
                    zoneless(&content)?;
                }
                _ => {}
            }
            escape(out, &content);
        }
        Some(b'{' | b'[') if compact(text) => escape(out, text),
        Some(b'{' | b'[') => {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| Fault::Refused(e.to_string()))?;
            escape(out, &value.to_string());
        }
        Some(b't' | b'f') => out.extend_from_slice(text.as_bytes()),
        _ => {
            let integer = !text.contains(['.', 'e', 'E']);
            if ty == PgType::Double && integer && !exact_in_double(text) {
                return Err(Fault::Widen);
            }
            out.extend_from_slice(text.as_bytes());
        }
    }
    Ok(())
}

/// Refuse a time of day with more than six digits of fraction (PostgreSQL would round it to microseconds);
/// trailing zeros beyond the sixth are harmless.
fn sub_microsecond(text: &str) -> Result<(), Fault> {
    let Some(colon) = text.find(':') else {
        return Ok(());
    };
    let Some(dot) = text[colon..].find(['.', ',']) else {
        return Ok(());
    };
    let fraction: &str = &text[colon + dot + 1..];
    let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
    if fraction.as_bytes()[..digits]
        .iter()
        .skip(6)
        .any(|d| *d != b'0')
    {
        return Err(Fault::Refused(format!(
            "`{text}` has more than microsecond precision, which PostgreSQL would round (declare the column \
             `text` to keep it)"
        )));
    }
    Ok(())
}

/// Refuse a time of day with a zone or offset (`10:00+02`, `10:00Z`): a PostgreSQL `time` column would drop it.
fn zoneless(text: &str) -> Result<(), Fault> {
    if text.contains(['+', '-', 'Z', 'z']) {
        return Err(Fault::Refused(format!(
            "`{text}` has a time zone, which a PostgreSQL time column would drop (declare the column `text` to \
             keep it)"
        )));
    }
    Ok(())
}

/// Append `text` with COPY's escapes: backslash, tab, newline and carriage return.
fn escape(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(types: &[(&str, PgType)]) -> Vec<(String, PgType)> {
        types.iter().map(|(n, t)| (n.to_string(), *t)).collect()
    }

    #[test]
    fn values_go_in_as_their_text_with_copy_escapes() {
        let columns = cols(&[
            ("a", PgType::Text),
            ("b", PgType::Double),
            ("c", PgType::Jsonb),
            ("d", PgType::Bool),
            ("e", PgType::Bytea),
            ("f", PgType::Numeric),
        ]);
        let records = concat!(
            r#"{"a": "x\ty\\z\n", "b": 0.1000000000000000055511151231257827, "c": {"k": [1, 2.50]}, "d": true, "e": "hi", "f": 123456789012345678901234567890}"#,
            "\n",
            r#"{"f": null, "a": "plain"}"#,
            "\n"
        );
        let text = encode(records.as_bytes(), &columns, "t").unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "x\\ty\\\\z\\n\t0.1000000000000000055511151231257827\t{\"k\":[1,2.50]}\ttrue\t\\\\x6869\t\
             123456789012345678901234567890\nplain\t\\N\t\\N\t\\N\t\\N\t\\N\n"
        );
    }

    #[test]
    fn values_postgres_would_change_are_not_copied() {
        let double = cols(&[("n", PgType::Double)]);
        assert_eq!(
            encode(b"{\"n\": 9007199254740993}\n", &double, "t"),
            Err(Problem::Widen(0))
        );
        assert_eq!(
            encode(b"{\"n\": -123456789012345678901234}\n", &double, "t"),
            Err(Problem::Widen(0))
        );
        assert!(encode(b"{\"n\": 9007199254740992}\n", &double, "t").is_ok());
        let at = cols(&[("at", PgType::Timestamptz)]);
        assert!(encode(b"{\"at\": \"2024-01-02T03:04:05.123456000Z\"}\n", &at, "t").is_ok());
        let Err(Problem::Refused(why)) =
            encode(b"{\"at\": \"2024-01-02T03:04:05.1234567Z\"}\n", &at, "t")
        else {
            panic!("a nanosecond timestamp is refused")
        };
        assert!(
            why.starts_with("table t, column at: `2024-01-02T03:04:05.1234567Z`"),
            "{why}"
        );
        let time = cols(&[("t", PgType::Time)]);
        assert!(encode(b"{\"t\": \"10:00:01.5\"}\n", &time, "t").is_ok());
        for zoned in ["10:00+02", "10:00:00Z", "10:00-05:30"] {
            let line = format!("{{\"t\": \"{zoned}\"}}\n");
            let Err(Problem::Refused(why)) = encode(line.as_bytes(), &time, "t") else {
                panic!("{zoned}: a time with a zone is refused")
            };
            assert!(why.contains("time zone"), "{why}");
        }
        let json = cols(&[("j", PgType::Jsonb)]);
        let text = encode(
            b"{\"j\": \"42\"}\n{\"j\": \"a\\tb\"}\n{\"j\": [1, \"x\"]}\n",
            &json,
            "t",
        );
        assert_eq!(
            String::from_utf8(text.unwrap()).unwrap(),
            "\"42\"\n\"a\\\\tb\"\n[1,\"x\"]\n",
            "strings stay JSON strings in a JSON column"
        );
        let Err(Problem::Refused(why)) = encode(b"{\"zz\": 1}\n", &at, "t") else {
            panic!("an unknown column is refused")
        };
        assert!(why.contains("`zz`"), "{why}");
    }
}
