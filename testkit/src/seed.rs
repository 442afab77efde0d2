//! Reading the config out of a seed document: the dict passed to `rest_api_source(...)` in its Python block,
//! turned into JSON as written, with every `dlt.secrets["name"]` becoming `{"secret": "name"}`.

/// Why a seed's config could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// The document has no `rest_api_source({...})` call.
    #[error("no `rest_api_source({{...}})` call found")]
    NoConfig,
    /// The dict is cut off.
    #[error("the config dict is not closed")]
    Unclosed,
    /// The dict uses Python the converter does not read.
    #[error("cannot convert the config dict to JSON: {0}")]
    Convert(String),
}

/// The config of a seed document as JSON text.
pub fn config_json(document: &str) -> Result<String, SeedError> {
    let call = document
        .find("rest_api_source(")
        .ok_or(SeedError::NoConfig)?;
    let start = call + document[call..].find('{').ok_or(SeedError::NoConfig)?;
    let dict = balanced(&document[start..]).ok_or(SeedError::Unclosed)?;
    let json = python_to_json(dict)?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| SeedError::Convert(e.to_string()))?;
    Ok(serde_json::to_string_pretty(&value).expect("a JSON value serialises"))
}

/// The text from the opening `{` to its matching `}`, skipping brackets inside strings.
fn balanced(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[..=i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Convert a Python literal (dicts, lists, strings, numbers, True/False/None, `dlt.secrets[...]`) to JSON text.
fn python_to_json(src: &str) -> Result<String, SeedError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                let (s, next) = string_literal(&chars, i)?;
                out.push_str(&serde_json::to_string(&s).expect("a string serialises"));
                i = next;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ',' => {
                let rest = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(rest, Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "True" => out.push_str("true"),
                    "False" => out.push_str("false"),
                    "None" => out.push_str("null"),
                    "dlt.secrets" => {
                        let (name, next) = subscript(&chars, i)?;
                        out.push_str(&serde_json::json!({"secret": name}).to_string());
                        i = next;
                    }
                    other => {
                        return Err(SeedError::Convert(format!(
                            "`{other}` is Python, not a literal"
                        )));
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A quoted string starting at `i`; returns its value and the index after it.
fn string_literal(chars: &[char], i: usize) -> Result<(String, usize), SeedError> {
    let quote = chars[i];
    let mut s = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' if j + 1 < chars.len() => {
                s.push(match chars[j + 1] {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                j += 2;
            }
            c if c == quote => return Ok((s, j + 1)),
            c => {
                s.push(c);
                j += 1;
            }
        }
    }
    Err(SeedError::Unclosed)
}

/// `["name"]` right after `dlt.secrets`.
fn subscript(chars: &[char], mut i: usize) -> Result<(String, usize), SeedError> {
    let bad = || SeedError::Convert("expected dlt.secrets[\"name\"]".into());
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    if chars.get(i) != Some(&'[') {
        return Err(bad());
    }
    let (name, mut next) = string_literal(chars, i + 1).map_err(|_| bad())?;
    if chars.get(next) != Some(&']') {
        return Err(bad());
    }
    next += 1;
    Ok((name, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn converts_a_seed_block() {
        let doc = r#"
text before
```python
source = rest_api_source({
    "client": {
        "base_url": "https://api.example.com",  # comment
        "auth": {"type": 'api_key', "api_key": dlt.secrets["api_key"], "location": "query"},
    },
    "resources": [{"name": "r", "selected": True, "x": None, "n": -1.5, "s": "a}b"},],
})
```"#;
        let v: Value = serde_json::from_str(&config_json(doc).unwrap()).unwrap();
        assert_eq!(
            v,
            json!({
                "client": {"base_url": "https://api.example.com",
                           "auth": {"type": "api_key", "api_key": {"secret": "api_key"}, "location": "query"}},
                "resources": [{"name": "r", "selected": true, "x": null, "n": -1.5, "s": "a}b"}]
            })
        );
    }

    #[test]
    fn reports_what_it_cannot_read() {
        assert_eq!(config_json("no config here"), Err(SeedError::NoConfig));
        assert_eq!(
            config_json("rest_api_source({\"a\": 1"),
            Err(SeedError::Unclosed)
        );
        assert!(matches!(
            config_json("rest_api_source({\"a\": my_func})"),
            Err(SeedError::Convert(_))
        ));
    }
}
