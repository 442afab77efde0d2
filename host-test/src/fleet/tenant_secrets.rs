//! Where a tenant file's secrets come from: a JSON file, or environment variables the operator names one by
//! one. A tenant reaches only the variables its file lists: `env = { api_key = "ACME_API_KEY" }`, or
//! `env_prefix = "ACME_"` with `names = ["api_key"]` (read from `ACME_API_KEY`). A prefix alone is refused: with it,
//! tenant `acme` (`ACME_`) asking for `eu_api_key` would read `ACME_EU_API_KEY`, another tenant's key, and an
//! empty prefix would read any variable of the host.

use crate::secrets::SecretStore;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a tenant's secrets come from, as written.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSpec {
    /// A JSON file `{"name": "value"}`.
    pub file: Option<PathBuf>,
    /// Secret name → the environment variable it is read from.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// With `names`: secret `api_key` is read from `<prefix>API_KEY`.
    pub env_prefix: Option<String>,
    /// The secrets read with `env_prefix`, and no others.
    #[serde(default)]
    pub names: Vec<String>,
}

impl SecretsSpec {
    /// The tenant's secrets, and the environment variables they were read from (a variable that is not set
    /// gives no secret: the run then names the missing secret).
    pub fn resolve(&self, base: &Path) -> Result<(SecretStore, Vec<String>), String> {
        let sources = [
            self.file.is_some(),
            !self.env.is_empty(),
            self.env_prefix.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err("secrets: `file`, `env` and `env_prefix` exclude each other".into());
        }
        if !self.names.is_empty() && self.env_prefix.is_none() {
            return Err("secrets: `names` goes with `env_prefix`".into());
        }
        if let Some(file) = &self.file {
            let store =
                SecretStore::from_file(&base.join(file)).map_err(|e| format!("secrets: {e}"))?;
            return Ok((store, Vec::new()));
        }
        let pairs: Vec<(String, String)> = match &self.env_prefix {
            Some(prefix) => self.prefixed(prefix)?,
            None => self
                .env
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        };
        if let Some((name, _)) = pairs.iter().find(|(_, var)| var.trim().is_empty()) {
            return Err(format!("secrets.env: secret `{name}` names no variable"));
        }
        let vars = pairs.iter().map(|(_, v)| v.clone()).collect();
        let found = pairs
            .into_iter()
            .filter_map(|(name, var)| std::env::var(&var).ok().map(|value| (name, value)));
        Ok((SecretStore::from_pairs(found), vars))
    }

    /// The listed names with their variables under `prefix`.
    fn prefixed(&self, prefix: &str) -> Result<Vec<(String, String)>, String> {
        if prefix.is_empty() {
            return Err(
                "secrets.env_prefix: an empty prefix would read any variable of the host".into(),
            );
        }
        if self.names.is_empty() {
            return Err(format!(
                "secrets.env_prefix: list the secrets this tenant may read in `names`; a prefix alone reaches \
                 other tenants' variables (`{prefix}` with secret `eu_api_key` is `{}`)",
                env_name(prefix, "eu_api_key")
            ));
        }
        Ok(self
            .names
            .iter()
            .map(|n| (n.clone(), env_name(prefix, n)))
            .collect())
    }
}

/// `<prefix><NAME>`: the name upper-cased, anything but letters and digits as `_`.
pub fn env_name(prefix: &str, name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_uppercase(),
            false => '_',
        })
        .collect();
    format!("{prefix}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SecretsSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_tenant_reads_only_the_variables_its_file_lists() {
        // SAFETY: only this test uses the SECRETS_TEST_ variables; no other thread reads them.
        unsafe {
            std::env::set_var("SECRETS_TEST_ACME_API_KEY", "acme-key");
            std::env::set_var("SECRETS_TEST_ACME_EU_API_KEY", "acme-eu-key");
            std::env::set_var("SECRETS_TEST_OTHER", "other");
        }
        let base = Path::new(".");
        // The attack: tenant `acme` asks for `eu_api_key`, which its prefix would map to acme_eu's variable.
        let (store, vars) = spec("env_prefix = 'SECRETS_TEST_ACME_'\nnames = ['api_key']")
            .resolve(base)
            .unwrap();
        assert_eq!(store.get("api_key"), Some("acme-key"));
        assert_eq!(store.get("eu_api_key"), None, "not listed, not read");
        assert_eq!(vars, ["SECRETS_TEST_ACME_API_KEY"]);
        let (store, vars) = spec("env = { token = 'SECRETS_TEST_OTHER' }")
            .resolve(base)
            .unwrap();
        assert_eq!(store.get("token"), Some("other"));
        assert_eq!(vars, ["SECRETS_TEST_OTHER"]);
    }

    #[test]
    fn set_ups_that_reach_too_far_are_refused() {
        let cases = [
            (
                "env_prefix = ''\nnames = ['x']",
                "an empty prefix would read any variable",
            ),
            (
                "env_prefix = 'ACME_'",
                "list the secrets this tenant may read in `names`",
            ),
            ("names = ['x']", "`names` goes with `env_prefix`"),
            (
                "file = 'x.json'\nenv_prefix = 'A_'\nnames = ['x']",
                "exclude each other",
            ),
            ("env = { x = ' ' }", "secret `x` names no variable"),
        ];
        for (text, want) in cases {
            let error = spec(text).resolve(Path::new(".")).unwrap_err();
            assert!(error.contains(want), "{text}: {error}");
        }
    }
}
