//! Per-tenant secret stores. A tenant's connector can read only the names in its own store.

use std::collections::BTreeMap;
use std::path::Path;

/// Why a secrets file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The file could not be read.
    #[error("cannot read secrets file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON object of strings (the message never repeats a value).
    #[error("secrets file {path} must be a JSON object of string values: {why}")]
    Shape {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

/// One tenant's secrets, by name. Its `Debug` form hides the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretStore {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore {
    /// A store holding these pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Read a JSON file `{"name": "value", ...}`.
    pub fn from_file(path: &Path) -> Result<Self, SecretsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SecretsError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|why| SecretsError::Shape { path: shown, why })
    }

    /// Parse `{"name": "value", ...}` (an error names the text as `(inline JSON)`).
    pub fn from_json(text: &str) -> Result<Self, SecretsError> {
        Self::parse(text).map_err(|why| SecretsError::Shape {
            path: "(inline JSON)".into(),
            why,
        })
    }

    fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let map = value.as_object().ok_or("not an object")?;
        let mut values = BTreeMap::new();
        for (k, v) in map {
            let s = v.as_str().ok_or_else(|| format!("`{k}` is not a string"))?;
            values.insert(k.clone(), s.to_string());
        }
        Ok(Self { values })
    }

    /// The value of `name`, if the tenant has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every value (to mask them in anything the host prints).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.values().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_hides_values() {
        let s = SecretStore::from_json(r#"{"api_key": "k-123", "other": "x"}"#).unwrap();
        assert_eq!(s.get("api_key"), Some("k-123"));
        assert_eq!(s.get("missing"), None);
        let shown = format!("{s:?}");
        assert!(
            shown.contains("api_key") && !shown.contains("k-123"),
            "{shown}"
        );
        assert!(
            SecretStore::from_json(r#"{"a": 1}"#)
                .unwrap_err()
                .to_string()
                .contains("`a` is not a string")
        );
        assert!(SecretStore::from_json("[]").is_err());
    }
}
