//! Human and JSON descriptions of what the connector reports: errors, schemas, schema changes, and dlt's
//! names for types, dispositions and fact sources.

use crate::wit::{
    ChangeKind, ConnectorError, DataType, FactSource, SchemaChange, TableSchema, WriteDisposition,
};

/// One line per connector error, naming the path, resource and URL it concerns.
pub fn describe(e: &ConnectorError) -> String {
    match e {
        ConnectorError::InvalidConfig(problems) => {
            let parts: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
                .collect();
            format!("invalid config: {}", parts.join("; "))
        }
        ConnectorError::Auth(f) => format!(
            "auth failed for resource `{}` at {}: {}",
            f.resource, f.url, f.message
        ),
        ConnectorError::Http(f) => {
            let status = f
                .status
                .map_or_else(|| "no response".to_string(), |s| format!("status {s}"));
            let tries = if f.attempts == 1 {
                "attempt"
            } else {
                "attempts"
            };
            format!(
                "resource `{}`: request to {} failed after {} {tries} ({status}): {}",
                f.resource, f.url, f.attempts, f.message
            )
        }
        ConnectorError::BadResponse(f) => format!(
            "bad response for resource `{}` from {}: {}",
            f.resource, f.url, f.message
        ),
        ConnectorError::Internal(m) => format!("internal connector error: {m}"),
    }
}

/// The schema as JSON, with dlt's names for types and dispositions.
pub fn describe_schema(tables: &[TableSchema]) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = tables
        .iter()
        .map(|t| {
            let columns: Vec<serde_json::Value> = t
                .columns
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "name": c.name,
                        "data_type": c.data_type.map(data_type_name),
                                                "nullable": c.nullable,
                        "type_source": source_name(c.type_source),
                        "nullable_source": source_name(c.nullable_source),
                        "primary_key": c.primary_key,
                        "merge_key": c.merge_key,
                        "cursor": c.cursor,
                    })
                })
                .collect();
            serde_json::json!({
                "resource": t.resource,
                "table_name": t.table_name,
                "columns": columns,
                "primary_key": t.primary_key,
                "merge_key": t.merge_key,
                "write_disposition": disposition_name(t.write_disposition),
                "parent": t.parent,
                "incremental_cursor": t.incremental_cursor,
                "selected": t.selected,
            })
        })
        .collect();
    serde_json::Value::Array(tables)
}

/// Where a column fact comes from, by name.
pub fn source_name(s: FactSource) -> &'static str {
    match s {
        FactSource::Declared => "declared",
        FactSource::Inferred => "inferred",
    }
}

/// One line for a schema change: `events.amount: widened bigint -> double`.
pub fn describe_change(resource: &str, c: &SchemaChange) -> String {
    let name = |t: Option<DataType>| t.map_or("unknown", data_type_name);
    let what = match c.kind {
        ChangeKind::NewColumn => format!("new column ({})", name(c.data_type)),
        ChangeKind::Widened => {
            format!("widened {} -> {}", name(c.previous_type), name(c.data_type))
        }
        ChangeKind::BecameNullable => "became nullable".to_string(),
        ChangeKind::Typed => format!("typed ({})", name(c.data_type)),
    };
    format!("{resource}.{}: {what}", c.column)
}

/// dlt's name of a write disposition.
pub fn disposition_name(d: WriteDisposition) -> &'static str {
    match d {
        WriteDisposition::Append => "append",
        WriteDisposition::Replace => "replace",
        WriteDisposition::Merge => "merge",
        WriteDisposition::Skip => "skip",
    }
}

/// dlt's name of a data type.
pub fn data_type_name(t: DataType) -> &'static str {
    match t {
        DataType::Text => "text",
        DataType::Bigint => "bigint",
        DataType::Double => "double",
        DataType::Bool => "bool",
        DataType::Timestamp => "timestamp",
        DataType::Date => "date",
        DataType::Time => "time",
        DataType::Decimal => "decimal",
        DataType::Json => "json",
        DataType::Binary => "binary",
    }
}
