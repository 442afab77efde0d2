//! Table schemas: declared hints merged with the types the records seen so far show.
//!
//! Inference, per value: `null` has no type (it makes the column nullable); `true`/`false` are `bool`; integers
//! that fit 64 signed bits are `bigint`, other numbers that fit a double `double`, any other number (an integer
//! outside 64 signed bits, `1e400`) `decimal`; strings are `timestamp` when they are ISO-8601 date-times
//! (`2024-01-02T03:04:05Z`, with an offset, fraction or a space), `date` when they are `YYYY-MM-DD`, else `text`;
//! objects and lists are `json`. A column missing from a record, or null in it, is nullable.
//!
//! Widening, when a column sees another type (deterministic, order-independent): `bigint` + `double` →
//! `double`; `bigint` or `double` + `decimal` → `decimal`; `date` + `timestamp` → `timestamp`; anything +
//! `json` → `json`; any other mix → `text`. Numbers are kept as the text the API sent (serde_json's
//! `arbitrary_precision`), so no value is rounded on its way to a destination.
//! Declared `columns` hints always win and are never widened.

use crate::config::{ColumnHint, Resource, WriteDisposition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// dlt data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// text
    Text,
    /// bigint
    Bigint,
    /// double
    Double,
    /// bool
    Bool,
    /// timestamp
    Timestamp,
    /// date
    Date,
    /// time
    Time,
    /// decimal
    Decimal,
    /// json
    Json,
    /// binary
    Binary,
}

impl DataType {
    /// The type for a dlt type name (`wei` counts as decimal).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "text" => Self::Text,
            "bigint" => Self::Bigint,
            "double" => Self::Double,
            "bool" => Self::Bool,
            "timestamp" => Self::Timestamp,
            "date" => Self::Date,
            "time" => Self::Time,
            "decimal" | "wei" => Self::Decimal,
            "json" => Self::Json,
            "binary" => Self::Binary,
            _ => return None,
        })
    }

    /// The type a JSON value shows; `None` for `null`.
    pub fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(Self::Bool),
            Value::Number(n) => Some(Self::of_number(n.as_str())),
            Value::String(s) if is_iso_timestamp(s) => Some(Self::Timestamp),
            Value::String(s) if is_iso_date(s) => Some(Self::Date),
            Value::String(_) => Some(Self::Text),
            Value::Array(_) | Value::Object(_) => Some(Self::Json),
        }
    }

    /// The type a number shows, from its JSON text (kept as the API sent it): an integer that fits 64 signed
    /// bits is `bigint`; `-0`, and a number with a fraction or exponent that fits a double, is `double`; any
    /// other number (an integer outside 64 signed bits, `1e400`) is `decimal`, whose value destinations keep as text.
    pub fn of_number(text: &str) -> Self {
        if !text.contains(['.', 'e', 'E']) && text != "-0" {
            if text.parse::<i64>().is_ok() {
                return Self::Bigint;
            }
            return Self::Decimal;
        }
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Self::Double,
            _ => Self::Decimal,
        }
    }

    /// The type a column that has shown both `self` and `other` gets.
    pub fn widen(self, other: Self) -> Self {
        use DataType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Bigint, Double) | (Double, Bigint) => Double,
            (Bigint | Double, Decimal) | (Decimal, Bigint | Double) => Decimal,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            (Json, _) | (_, Json) => Json,
            _ => Text,
        }
    }
}

/// `YYYY-MM-DD`.
fn is_iso_date(s: &str) -> bool {
    s.len() == 10 && crate::dates::date(s, crate::dates::DATE).is_some()
}

/// An ISO-8601 date-time with a time part: RFC 3339, or without an offset, `T` or space separated.
fn is_iso_timestamp(s: &str) -> bool {
    if s.len() < 16
        || !s.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
    {
        return false;
    }
    chrono::DateTime::parse_from_rfc3339(s).is_ok() || crate::dates::is_naive_date_time(s)
}

/// Where a fact about a column comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The config's `columns` hints.
    Declared,
    /// The records seen so far.
    Inferred,
}

/// One column of a table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Declared or inferred type; `None` if only nulls were seen.
    pub data_type: Option<DataType>,
    /// Whether nulls or missing values are allowed or were seen.
    pub nullable: bool,
    /// Where the type comes from.
    pub type_source: Source,
    /// Where the nullability comes from.
    pub nullable_source: Source,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Part of the merge key.
    pub merge_key: bool,
    /// The incremental cursor column.
    pub cursor: bool,
    seen_in: u64,
}

/// A change of the inferred schema, for hosts to act on (add a column, widen a type, drop a NOT NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A column appeared (with its type, if a non-null value was seen).
    NewColumn(String, Option<DataType>),
    /// A column's type widened.
    Widened(String, DataType, DataType),
    /// A column became nullable.
    BecameNullable(String),
    /// A column seen only as null so far got its first type.
    Typed(String, DataType),
}

/// The schema of one resource's table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Resource name.
    pub resource: String,
    /// Table name.
    pub table_name: String,
    /// Columns, declared first, then in the order first seen.
    pub columns: Vec<Column>,
    /// Primary key.
    pub primary_key: Vec<String>,
    /// Merge key.
    pub merge_key: Vec<String>,
    /// Write disposition.
    pub write_disposition: WriteDisposition,
    /// Parent resource.
    pub parent: Option<String>,
    /// Incremental cursor path.
    pub incremental_cursor: Option<String>,
    /// Whether rows are stored.
    pub selected: bool,
    records_seen: u64,
}

/// The inferred part of a table schema, as it rides in checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Inferred {
    /// Records seen.
    pub records: u64,
    /// Inferred columns in order: name, type, nullable, records the column was present in.
    pub columns: Vec<(String, Option<DataType>, bool, u64)>,
}

impl TableSchema {
    /// The schema declared by a resource's hints, before any record.
    pub fn declared(resource: &Resource) -> Self {
        let mut t = Self {
            resource: resource.name.clone(),
            table_name: resource.table_name.clone(),
            columns: resource.columns.iter().map(declared_column).collect(),
            primary_key: resource.primary_key.clone(),
            merge_key: resource.merge_key.clone(),
            write_disposition: resource.write_disposition,
            parent: None,
            incremental_cursor: None,
            selected: resource.selected,
            records_seen: 0,
        };
        t.mark_keys();
        t
    }

    /// Set the incremental cursor (a top-level column when the path is a plain name).
    pub fn set_cursor(&mut self, cursor_path: &str) {
        self.incremental_cursor = Some(cursor_path.to_string());
        self.mark_keys();
    }

    fn mark_keys(&mut self) {
        let cursor = self
            .incremental_cursor
            .as_deref()
            .map(|c| c.trim_start_matches("$."))
            .unwrap_or_default();
        for c in &mut self.columns {
            c.primary_key = self.primary_key.contains(&c.name);
            c.merge_key = self.merge_key.contains(&c.name);
            c.cursor = c.name == cursor;
        }
    }

    /// Learn from one record; the changes it made to the inferred schema.
    pub fn observe(&mut self, record: &Value) -> Vec<Change> {
        let mut changes = Vec::new();
        self.records_seen += 1;
        if let Value::Object(map) = record {
            let before = self.columns.len();
            for (place, (key, value)) in map.iter().enumerate() {
                let is_string = value.is_string();
                let type_of = || DataType::of(value);
                self.observe_field(place, key, is_string, type_of, &mut changes);
            }
            self.end_record(before, &mut changes);
        }
        changes
    }

    /// The first primary-key column `record` lacks, or holds `null` in.
    pub fn missing_key<'a>(&'a self, record: &Value) -> Option<&'a str> {
        self.primary_key
            .iter()
            .find(|k| record.get(k.as_str()).is_none_or(Value::is_null))
            .map(String::as_str)
    }

    /// Learn from one field of the current record: `type_of` gives the type its value shows, and is not asked
    /// when the value is a string in a column that is already text (text it stays, whatever the string holds,
    /// so there is no need to look for a date in it).
    ///
    /// `place` is the field's place in its record: records of one resource mostly list their keys in the same
    /// order, so the column at that place is looked at first.
    fn observe_field(
        &mut self,
        place: usize,
        key: &str,
        is_string: bool,
        type_of: impl FnOnce() -> Option<DataType>,
        changes: &mut Vec<Change>,
    ) {
        let found = match self.columns.get(place) {
            Some(c) if c.name == key => Some(place),
            _ => self.columns.iter().position(|c| c.name == key),
        };
        let Some(column) = found.map(|i| &mut self.columns[i]) else {
            let observed = type_of();
            self.columns.push(Column {
                name: key.to_string(),
                data_type: observed,
                // A column first seen after some records is missing from those.
                nullable: self.records_seen > 1 || observed.is_none(),
                type_source: Source::Inferred,
                nullable_source: Source::Inferred,
                primary_key: false,
                merge_key: false,
                cursor: false,
                seen_in: 1,
            });
            changes.push(Change::NewColumn(key.to_string(), observed));
            return;
        };
        let observed = match (column.data_type, is_string) {
            (Some(DataType::Text), true) => Some(DataType::Text),
            _ => type_of(),
        };
        column.seen_in += 1;
        if column.type_source == Source::Inferred {
            let widened = match (column.data_type, observed) {
                (None, t) => t,
                (Some(t), Some(o)) => Some(t.widen(o)),
                (t, None) => t,
            };
            match (column.data_type, widened) {
                (Some(from), Some(to)) if from != to => {
                    changes.push(Change::Widened(key.to_string(), from, to))
                }
                (None, Some(to)) if column.seen_in > 1 => {
                    changes.push(Change::Typed(key.to_string(), to))
                }
                _ => {}
            }
            column.data_type = widened;
        }
        if observed.is_none() {
            mark_nullable(column, changes);
        }
    }

    /// After a record's fields: columns it lacked become nullable, and new columns learn whether they are keys.
    fn end_record(&mut self, columns_before: usize, changes: &mut Vec<Change>) {
        let seen = self.records_seen;
        for column in self.columns.iter_mut().filter(|c| c.seen_in < seen) {
            mark_nullable(column, changes);
        }
        if self.columns.len() != columns_before {
            self.mark_keys();
        }
    }

    /// The inferred part, for a checkpoint.
    pub fn inferred(&self) -> Inferred {
        Inferred {
            records: self.records_seen,
            columns: self
                .columns
                .iter()
                .filter(|c| {
                    c.type_source == Source::Inferred || c.nullable_source == Source::Inferred
                })
                .map(|c| (c.name.clone(), c.data_type, c.nullable, c.seen_in))
                .collect(),
        }
    }

    /// Take back what a checkpoint says was inferred (declared hints keep winning).
    pub fn restore(&mut self, inferred: &Inferred) {
        self.records_seen = inferred.records;
        for (name, data_type, nullable, seen_in) in &inferred.columns {
            match self.columns.iter_mut().find(|c| c.name == *name) {
                Some(c) => {
                    c.seen_in = *seen_in;
                    if c.type_source == Source::Inferred {
                        c.data_type = *data_type;
                    }
                    if c.nullable_source == Source::Inferred {
                        c.nullable = *nullable;
                    }
                }
                None => self.columns.push(Column {
                    name: name.clone(),
                    data_type: *data_type,
                    nullable: *nullable,
                    type_source: Source::Inferred,
                    nullable_source: Source::Inferred,
                    primary_key: false,
                    merge_key: false,
                    cursor: false,
                    seen_in: *seen_in,
                }),
            }
        }
        self.mark_keys();
    }
}

fn mark_nullable(column: &mut Column, changes: &mut Vec<Change>) {
    if column.nullable_source == Source::Inferred && !column.nullable {
        column.nullable = true;
        changes.push(Change::BecameNullable(column.name.clone()));
    }
}

fn declared_column(hint: &ColumnHint) -> Column {
    let data_type = hint.data_type.as_deref().and_then(DataType::from_name);
    Column {
        name: hint.name.clone(),
        data_type,
        nullable: hint.nullable.unwrap_or(true),
        type_source: if data_type.is_some() {
            Source::Declared
        } else {
            Source::Inferred
        },
        // A declared column is nullable unless declared otherwise (dlt's default for declared columns).
        nullable_source: Source::Declared,
        primary_key: false,
        merge_key: false,
        cursor: false,
        seen_in: 0,
    }
}

mod raw;
#[cfg(test)]
mod tests;
