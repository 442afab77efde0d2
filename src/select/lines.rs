//! JSON Lines bodies (`response_format: "jsonl"`): one JSON value a line, read into a list of records.

use serde_json::Value;

/// The records of a JSON Lines body, as a JSON array. Blank lines (and a last line without its newline) are
/// fine; a line that is not JSON is an error naming its number. Each line is parsed as a JSON document of its
/// own, so numbers keep their text and the depth limit holds per line.
pub fn json_lines(body: &[u8]) -> Result<Value, String> {
    let mut records = Vec::new();
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice(line)
            .map_err(|e| format!("line {} of the JSON Lines body is not JSON: {e}", i + 1))?;
        records.push(record);
    }
    Ok(Value::Array(records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_line_is_a_record_and_a_bad_line_is_named() {
        let body = b"{\"id\": 1, \"x\": 0.1000000000000000055511151231257827}\r\n\n  \n{\"id\": 2}";
        let records = json_lines(body).unwrap();
        assert_eq!(records.as_array().map(Vec::len), Some(2));
        assert_eq!(records[1], json!({"id": 2}));
        assert_eq!(
            records[0]["x"].to_string(),
            "0.1000000000000000055511151231257827",
            "the number's text is kept"
        );
        assert_eq!(json_lines(b"").unwrap(), json!([]));
        let err = json_lines(b"{\"id\": 1}\n{\"id\": \n").unwrap_err();
        assert!(
            err.starts_with("line 2 of the JSON Lines body is not JSON"),
            "{err}"
        );
    }
}
