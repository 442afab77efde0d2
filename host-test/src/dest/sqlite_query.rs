//! Reading a SQLite destination back: ad-hoc queries (the `sql` command), the tables a run wrote with their row
//! counts, a table's rows as the JSON records they came from, and a plain-text rendering of a result.

use super::sqlite::ident;
use crate::wit::{DataType, TableSchema};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The prefix of the tables the host keeps for itself (run state, loads).
const OWN_PREFIX: &str = "_rest_source_";

/// A query's result: its column names and its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, one JSON value per column (`NULL` → null, text → string, numbers → numbers, a blob → its length).
    pub rows: Vec<Vec<Value>>,
}

/// Open a database for reading only: a query can never change it.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
}

fn json_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => json!(n),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!(format!("<{} bytes>", b.len())),
    }
}

/// Run one SQL statement and collect its result.
pub fn query(conn: &Connection, sql: &str) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare(sql)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| r.get_ref(i).map(json_of))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(QueryResult { columns, rows })
}

/// The data tables of a database (not the host's own tables), with their row counts, by name.
pub fn tables(conn: &Connection) -> rusqlite::Result<Vec<(String, u64)>> {
    let names = query(
        conn,
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    )?;
    let mut out = Vec::new();
    for name in names.rows.iter().filter_map(|r| r[0].as_str()) {
        if name.starts_with(OWN_PREFIX) || name.starts_with("sqlite_") {
            continue;
        }
        let sql = format!("SELECT count(*) FROM {}", ident(name));
        let count: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        out.push((name.to_string(), count.max(0) as u64));
    }
    Ok(out)
}

/// A table's rows in the order they were written, as the records they came from: the schema's columns, with
/// booleans and JSON columns read back into their JSON form and NULL columns left out.
pub fn records(conn: &Connection, table: &TableSchema) -> rusqlite::Result<Vec<Value>> {
    let result = query(
        conn,
        &format!("SELECT * FROM {} ORDER BY _rowid", ident(&table.table_name)),
    )?;
    let kind = |column: &str| {
        table
            .columns
            .iter()
            .find(|c| c.name == column)
            .and_then(|c| c.data_type)
    };
    let rows = result.rows.into_iter().map(|row| {
        let mut record = Map::new();
        for (column, value) in result.columns.iter().zip(row) {
            if column == "_rowid" || value.is_null() {
                continue;
            }
            let value = match (kind(column), value) {
                (Some(DataType::Bool), Value::Number(n)) => Value::Bool(n.as_i64() != Some(0)),
                (Some(DataType::Json), Value::String(s)) => {
                    serde_json::from_str(&s).unwrap_or(Value::String(s))
                }
                (_, v) => v,
            };
            record.insert(column.clone(), value);
        }
        Value::Object(record)
    });
    Ok(rows.collect())
}

/// One cell as text: strings as they are, everything else as JSON; cut to `width` characters.
fn cell(v: &Value, width: usize) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    };
    if text.chars().count() <= width {
        return text;
    }
    let cut: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// A result as an aligned plain-text table, each cell cut to `width` characters, every line indented by
/// `indent`.
pub fn render(result: &QueryResult, width: usize, indent: &str) -> String {
    let cells: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|r| r.iter().map(|v| cell(v, width)).collect())
        .collect();
    let widths: Vec<usize> = (0..result.columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([result.columns[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: &[String]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        format!("{indent}{}", padded.join(" | ").trim_end())
    };
    let mut out = vec![line(&result.columns)];
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push(format!("{indent}{}", rule.join("-+-")));
    out.extend(cells.iter().map(|r| line(r)));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_aligns_columns_and_cuts_long_cells() {
        let result = QueryResult {
            columns: vec!["id".into(), "name".into()],
            rows: vec![
                vec![json!(1), json!("a very long name indeed")],
                vec![json!(22), Value::Null],
            ],
        };
        assert_eq!(
            render(&result, 10, "  "),
            "  id | name\n  ---+-----------\n  1  | a very lo…\n  22 | NULL"
        );
    }

    #[test]
    fn tables_leave_out_the_hosts_own_and_count_rows() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE _rest_source_loads (id INTEGER); CREATE TABLE b (x); CREATE TABLE a (x);
             INSERT INTO a VALUES (1), (2); INSERT INTO _rest_source_loads VALUES (1);",
        )
        .unwrap();
        assert_eq!(
            tables(&conn).unwrap(),
            vec![("a".to_string(), 2), ("b".to_string(), 0)]
        );
    }
}
