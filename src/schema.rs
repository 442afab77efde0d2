//! Table schemas: declared hints merged with the types the records seen so far show.

use crate::config::{ColumnHint, Resource, WriteDisposition};
use serde_json::Value;

/// dlt data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::Null => None,
            Value::Bool(_) => Some(Self::Bool),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(Self::Bigint),
            Value::Number(_) => Some(Self::Double),
            Value::String(_) => Some(Self::Text),
            Value::Array(_) | Value::Object(_) => Some(Self::Json),
        }
    }
}

/// One column of a table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Declared or inferred type.
    pub data_type: Option<DataType>,
    /// Whether nulls or missing values are allowed or were seen.
    pub nullable: bool,
    declared: bool,
    seen_in: u64,
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

impl TableSchema {
    /// The schema declared by a resource's hints, before any record.
    pub fn declared(resource: &Resource) -> Self {
        Self {
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
        }
    }

    /// Learn from one record: new columns, types of undeclared ones, nullability.
    pub fn observe(&mut self, record: &Value) {
        self.records_seen += 1;
        let Value::Object(map) = record else { return };
        for (key, value) in map {
            let observed = DataType::of(value);
            let column = match self.columns.iter_mut().position(|c| c.name == *key) {
                Some(i) => &mut self.columns[i],
                None => {
                    self.columns.push(Column {
                        name: key.clone(),
                        data_type: None,
                        // A column first seen after some records is missing from those.
                        nullable: self.records_seen > 1,
                        declared: false,
                        seen_in: 0,
                    });
                    self.columns.last_mut().expect("pushed above")
                }
            };
            column.seen_in += 1;
            if observed.is_none() && !column.declared {
                column.nullable = true;
            }
            if !column.declared {
                column.data_type = match (column.data_type, observed) {
                    (None, t) => t,
                    (Some(DataType::Bigint), Some(DataType::Double)) => Some(DataType::Double),
                    (t, _) => t,
                };
            }
        }
        for column in self.columns.iter_mut().filter(|c| !c.declared) {
            if column.seen_in < self.records_seen {
                column.nullable = true;
            }
        }
    }
}

fn declared_column(hint: &ColumnHint) -> Column {
    Column {
        name: hint.name.clone(),
        data_type: hint.data_type.as_deref().and_then(DataType::from_name),
        nullable: hint.nullable.unwrap_or(true),
        declared: true,
        seen_in: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(columns: Vec<ColumnHint>) -> TableSchema {
        TableSchema {
            resource: "r".into(),
            table_name: "r".into(),
            columns: columns.iter().map(declared_column).collect(),
            primary_key: vec!["id".into()],
            merge_key: vec![],
            write_disposition: WriteDisposition::Merge,
            parent: None,
            incremental_cursor: None,
            selected: true,
            records_seen: 0,
        }
    }

    #[test]
    fn infers_types_and_nullability() {
        let mut t = table(vec![]);
        t.observe(&json!({"id": 1, "name": "a", "score": 1, "tags": [1], "flag": true}));
        t.observe(
            &json!({"id": 2, "name": null, "score": 2.5, "tags": [], "flag": false, "late": "x"}),
        );
        t.observe(&json!({"id": 3, "score": 3, "tags": {}, "flag": true, "late": "y"}));
        let got: Vec<(&str, Option<DataType>, bool)> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.data_type, c.nullable))
            .collect();
        assert_eq!(
            got,
            vec![
                ("id", Some(DataType::Bigint), false),
                ("name", Some(DataType::Text), true),
                ("score", Some(DataType::Double), false),
                ("tags", Some(DataType::Json), false),
                ("flag", Some(DataType::Bool), false),
                ("late", Some(DataType::Text), true),
            ]
        );
    }

    #[test]
    fn declared_hints_win() {
        let mut t = table(vec![ColumnHint {
            name: "id".into(),
            data_type: Some("text".into()),
            nullable: Some(false),
        }]);
        t.observe(&json!({"id": 5}));
        assert_eq!(t.columns[0].data_type, Some(DataType::Text));
        assert!(!t.columns[0].nullable);
    }
}
