//! Tenant files as a queue of runs keeps them, for workers on other hosts: the config inline, every path made
//! absolute, the name and the PostgreSQL schema spelled out, and never a secret value. Secrets stay where the
//! file says they come from (`file`, `env`, `env_prefix`), and each worker reads them from its own host; a
//! PostgreSQL password comes from each worker's `PGPASSWORD`, never from the queue.

use super::pg_place;
use super::tenant_file::{DestSpec, LoadedTenant, TenantFile, TenantFileError, parse, resolve};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A tenant file ready to be queued.
#[derive(Debug, Clone)]
pub struct Queued {
    /// The tenant's name.
    pub tenant: String,
    /// Its destination, as reports name it (no password): one run per destination runs at a time.
    pub dest: String,
    /// The tenant file, resolved, as JSON.
    pub spec: Value,
}

/// Read a tenant file and make it the form a queue keeps, or say why it cannot be queued: it must name a
/// PostgreSQL destination (every worker can reach it; files are on one host only) whose URL holds no password.
/// Everything else is checked as `run --tenant` would, except that the secrets are not read here.
pub fn queued_form(path: &Path) -> Result<Queued, TenantFileError> {
    let fail = |message: String| TenantFileError {
        file: path.display().to_string(),
        message,
    };
    let mut file = parse(path)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let base =
        std::path::absolute(parent.unwrap_or(Path::new("."))).map_err(|e| fail(e.to_string()))?;
    let absolute = |p: &mut Option<PathBuf>| {
        if let Some(p) = p.as_mut() {
            *p = base.join(&*p);
        }
    };
    if let Value::String(config) = &file.config {
        let at = base.join(config);
        let text = std::fs::read_to_string(&at)
            .map_err(|e| fail(format!("config: cannot read {}: {e}", at.display())))?;
        file.config = serde_json::from_str(&text)
            .map_err(|e| fail(format!("config: not valid JSON: {e}")))?;
    }
    absolute(&mut file.secrets.file);
    absolute(&mut file.tls.ca_file);
    absolute(&mut file.tls.client_cert);
    absolute(&mut file.tls.client_key);
    if let Some(plugin) = file.plugin.as_mut().filter(|p| p.ends_with(".wasm")) {
        *plugin = base.join(&*plugin).display().to_string();
    }
    let Some(pg) = &file.postgres else {
        return Err(fail(
            "a queued run needs a destination every worker can reach: `postgres = { url = \"...\" }`".into(),
        ));
    };
    // A URL the client cannot read is refused too: it might hold a password nobody checked.
    let config = <postgres::Config as std::str::FromStr>::from_str(&pg.url)
        .map_err(|e| fail(format!("postgres.url: not a usable URL: {e}")))?;
    let in_url = url::Url::parse(&pg.url).is_ok_and(|u| u.password().is_some());
    if config.get_password().is_some() || in_url || pg.url.contains("password=") {
        return Err(fail(
            "postgres.url: a queued run's URL must not hold a password (the queue never stores a secret); \
             give each worker PGPASSWORD"
                .into(),
        ));
    }
    // Checked as a run would check it, but without reading the secrets: they are the workers'.
    let mut unsecret = file.clone();
    unsecret.secrets = Default::default();
    let loaded = resolve(unsecret, path).map_err(fail)?;
    let DestSpec::Postgres { url, schema } = &loaded.dest else {
        unreachable!("a file with `postgres` has a PostgreSQL destination")
    };
    file.name = Some(loaded.tenant.name.clone());
    file.postgres.as_mut().expect("checked above").schema = Some(schema.clone());
    Ok(Queued {
        tenant: loaded.tenant.name.clone(),
        dest: pg_place(url, schema),
        spec: serde_json::to_value(&file).map_err(|e| fail(e.to_string()))?,
    })
}

/// A queued tenant file, resolved on this worker: its secrets read from this host.
pub fn from_queued(spec: &str) -> Result<LoadedTenant, String> {
    let file: TenantFile =
        serde_json::from_str(spec).map_err(|e| format!("a queued tenant: {e}"))?;
    resolve(file, Path::new("/queued.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, postgres: &str) -> PathBuf {
        let path = dir.join("acme.toml");
        let text = format!(
            "config = {{ client = {{ base_url = \"https://api.acme.example\" }}, resources = [\"things\"] }}\n\
             postgres = {postgres}\n[secrets]\nfile = \"secrets.json\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_queued_file_keeps_no_secret_and_every_path_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "{ url = \"postgres://loader@db.internal/w\" }");
        let queued = queued_form(&path).unwrap();
        assert_eq!(queued.tenant, "acme");
        assert_eq!(queued.dest, "postgres://loader@db.internal:5432/w#acme");
        assert_eq!(queued.spec["postgres"]["schema"], "acme");
        let secrets = dir.path().join("secrets.json");
        assert_eq!(
            queued.spec["secrets"]["file"],
            secrets.display().to_string()
        );
        let loaded = from_queued(&queued.spec.to_string());
        assert!(
            loaded.unwrap_err().contains("secrets"),
            "the secrets file is read on the worker, not here"
        );
    }

    #[test]
    fn a_password_or_a_destination_workers_cannot_reach_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for url in [
            "postgres://u:hunter2@db/w",
            "postgres://u:hunter2@db/w?sslmode=verify-full",
            "host=db user=u password=hunter2",
        ] {
            let path = file(dir.path(), &format!("{{ url = {url:?} }}"));
            let error = queued_form(&path).unwrap_err().to_string();
            assert!(error.contains("postgres.url"), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
        let path = dir.path().join("local.toml");
        std::fs::write(&path, "config = {}\nsqlite = \"x.db\"\n").unwrap();
        let error = queued_form(&path).unwrap_err().to_string();
        assert!(error.contains("every worker can reach"), "{error}");
    }
}
