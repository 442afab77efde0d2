//! Tenant files: one tenant's plugin, config, secrets, limits, egress allowances and destination, in TOML or
//! JSON. Relative paths are relative to the tenant file.
//!
//! ```toml
//! name = "acme"                      # default: the file stem
//! plugin = "rest-api-source"         # a plugin of the plugin directory, or a path to a .wasm
//! config = "acme/config.json"        # a dlt rest_api_source config as JSON (or an inline table)
//! out = "acme/out"                   # JSON Lines, one file per resource; or sqlite = "acme.db"
//! # postgres = { url = "postgres://loader@db.internal/warehouse", schema = "acme" }   # schema: the tenant's name
//!
//! [secrets]                          # one of:
//! file = "acme/secrets.json"         # {"name": "value"}
//! # env = { api_key = "ACME_API_KEY" }                  # each secret from the variable named
//! # env_prefix = "ACME_"  names = ["api_key"]           # the names listed, from ACME_API_KEY
//!
//! [limits]                           # each optional; defaults in the README
//! memory_mib = 512
//! time_budget_s = 3600
//! grace_s = 5
//! max_requests = 100000
//! requests_per_second = 10           # each request starts at least 0.1 s after the one before
//! response_mib = 4096
//! output_kib = 1024
//! page_mib = 64
//!
//! [egress]
//! allowed_outbound_hosts = ["https://*.acme.example"]   # the operator's list, intersected with the config's
//! allow_private = ["127.0.0.0/8"]    # internal networks this tenant may reach (none by default)
//! connect_to = { "https://api.acme.example" = "http://127.0.0.1:8080" }
//! resolve = { "api.acme.example" = "127.0.0.1" }
//! proxy = "http://proxy.acme.internal:3128"   # http in absolute form, https through CONNECT (the environment's
//! no_proxy = ["internal.acme.example", "10.0.0.0/8"]   # http_proxy is not read for tenants)
//!
//! [tls]                              # each optional
//! ca_file = "acme/internal-ca.pem"   # trusted besides the platform's roots (SSL_CERT_FILE / SSL_CERT_DIR)
//! client_cert = "acme/client.pem"    # mutual TLS: the certificate chain and its key, PEM
//! client_key = "acme/client.key"
//! platform_roots = true              # false: only the compiled-in roots and ca_file
//! ```

pub use super::tenant_secrets::SecretsSpec;
use crate::egress::AllowedHosts;
use crate::egress::{EgressPolicy, Origin};
use crate::sandbox::Limits;
use crate::tenant::Tenant;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default time budget of a tenant run: an hour, so no tenant holds the host for ever.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(3600);

/// A tenant file as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// The tenant's name (default: the file stem).
    pub name: Option<String>,
    /// The plugin: a name in the plugin directory, or a path to a `.wasm`.
    pub plugin: Option<String>,
    /// The config: a path to a JSON file, or the config inline.
    pub config: Value,
    /// JSON Lines output directory.
    pub out: Option<PathBuf>,
    /// SQLite database.
    pub sqlite: Option<PathBuf>,
    /// A PostgreSQL schema.
    pub postgres: Option<PostgresSpec>,
    /// Where the secrets come from.
    #[serde(default)]
    pub secrets: SecretsSpec,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Egress allowances.
    #[serde(default)]
    pub egress: EgressSpec,
    /// TLS trust.
    #[serde(default)]
    pub tls: TlsSpec,
}

/// A PostgreSQL destination as written.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// The database: `postgres://user@host:port/db` (a password, if any, from `PGPASSWORD` when the URL has none).
    pub url: String,
    /// The schema (default: the tenant's name, lowercased, anything but letters, digits and `_` as `_`).
    pub schema: Option<String>,
}

/// TLS trust as written (all optional).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// A PEM file of CA certificates to trust besides the platform's.
    pub ca_file: Option<PathBuf>,
    /// The client certificate chain (PEM), for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub client_key: Option<PathBuf>,
    /// Trust the platform's roots (default true).
    pub platform_roots: Option<bool>,
}

/// Limits as written (all optional).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Guest memory, MiB.
    pub memory_mib: Option<u64>,
    /// Time budget, seconds (default [`DEFAULT_TIME_BUDGET`]).
    pub time_budget_s: Option<f64>,
    /// Grace past the budget, seconds.
    pub grace_s: Option<f64>,
    /// Requests per run.
    pub max_requests: Option<u64>,
    /// Requests started per second ([`LEAST_REQUESTS_PER_SECOND`] to [`MOST_REQUESTS_PER_SECOND`]).
    pub requests_per_second: Option<f64>,
    /// Response body bytes per run, MiB.
    pub response_mib: Option<u64>,
    /// Bytes to each of stdout and stderr, KiB.
    pub output_kib: Option<u64>,
    /// Largest page, MiB.
    pub page_mib: Option<u64>,
}

/// Egress allowances as written.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EgressSpec {
    /// The operator's allow-list (Spin grammar); absent: the config's origins only.
    pub allowed_outbound_hosts: Option<Vec<String>>,
    /// Internal networks (CIDR) the tenant may reach.
    #[serde(default)]
    pub allow_private: Vec<String>,
    /// Origin mappings, FROM = TO.
    #[serde(default)]
    pub connect_to: BTreeMap<String, String>,
    /// Names pinned to addresses.
    #[serde(default)]
    pub resolve: BTreeMap<String, String>,
    /// A forward proxy for every request (`http://[user:password@]host:port`).
    pub proxy: Option<String>,
    /// Hosts reached without the proxy.
    #[serde(default)]
    pub no_proxy: Vec<String>,
}

/// Why a tenant file cannot be used. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
#[error("tenant file {file}: {message}")]
pub struct TenantFileError {
    /// The tenant file.
    pub file: String,
    /// What is wrong, naming the key.
    pub message: String,
}

/// Where a tenant's rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestSpec {
    /// JSON Lines in this directory.
    Jsonl(PathBuf),
    /// This SQLite database.
    Sqlite(PathBuf),
    /// This schema of this PostgreSQL database.
    Postgres {
        /// The database URL.
        url: String,
        /// The schema.
        schema: String,
    },
    /// Not said in the file (the runner picks).
    Unset,
}

/// A tenant file, read and resolved.
#[derive(Debug, Clone)]
pub struct LoadedTenant {
    /// The tenant, ready to run.
    pub tenant: Tenant,
    /// The plugin it names, if any.
    pub plugin: Option<String>,
    /// Its destination.
    pub dest: DestSpec,
    /// The file it came from.
    pub file: PathBuf,
    /// The environment variables its secrets are read from.
    pub env_vars: Vec<String>,
}

/// Refuse tenants that read the same environment variable: each secret belongs to one tenant, so a variable
/// two tenant files name is a mistake in one of them (or an attempt to read another tenant's key).
pub fn check_env_shared(tenants: &[LoadedTenant]) -> Result<(), TenantFileError> {
    let mut seen: BTreeMap<&str, &LoadedTenant> = BTreeMap::new();
    for t in tenants {
        // A tenant may read one variable for two of its own secrets.
        let own: std::collections::BTreeSet<&String> = t.env_vars.iter().collect();
        for var in own {
            if let Some(other) = seen.insert(var, t) {
                return Err(TenantFileError {
                    file: t.file.display().to_string(),
                    message: format!(
                        "secrets: the environment variable `{var}` is read by tenant `{}` ({}) too; a secret \
                         belongs to one tenant",
                        other.tenant.name,
                        other.file.display()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Read a tenant file (`.toml` or `.json`).
pub fn load(path: &Path) -> Result<LoadedTenant, TenantFileError> {
    let fail = |message: String| TenantFileError {
        file: path.display().to_string(),
        message,
    };
    resolve(parse(path)?, path).map_err(fail)
}

/// A tenant file as written (`.json` as JSON, anything else as TOML), its paths not yet resolved.
pub(super) fn parse(path: &Path) -> Result<TenantFile, TenantFileError> {
    let fail = |message: String| TenantFileError {
        file: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).map_err(|e| fail(e.to_string())),
        _ => toml::from_str(&text).map_err(|e| fail(e.message().to_string())),
    }
}

/// The tenant file `file`, read from `path`, with its paths resolved against the file's directory.
pub(super) fn resolve(file: TenantFile, path: &Path) -> Result<LoadedTenant, String> {
    let base = path.parent().unwrap_or(Path::new("."));
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let config = match &file.config {
        Value::String(p) => std::fs::read_to_string(base.join(p))
            .map_err(|e| format!("config: cannot read {}: {e}", base.join(p).display()))?,
        Value::Object(_) => file.config.to_string(),
        _ => return Err("config: a path to a JSON file, or the config inline".into()),
    };
    let value: Value =
        serde_json::from_str(&config).map_err(|e| format!("config: not valid JSON: {e}"))?;
    let name = file.name.clone().unwrap_or_else(|| stem.to_string());
    let dest = match (&file.out, &file.sqlite, &file.postgres) {
        (Some(out), None, None) => DestSpec::Jsonl(base.join(out)),
        (None, Some(db), None) => DestSpec::Sqlite(base.join(db)),
        (None, None, Some(pg)) => DestSpec::Postgres {
            url: pg.url.clone(),
            schema: pg.schema.clone().unwrap_or_else(|| schema_name(&name)),
        },
        (None, None, None) => DestSpec::Unset,
        _ => return Err("`out`, `sqlite` and `postgres` exclude each other".into()),
    };
    let plugin = file.plugin.as_ref().map(|p| match p.ends_with(".wasm") {
        true => base.join(p).display().to_string(),
        false => p.clone(),
    });
    let mut egress = egress(&file.egress, &value)?;
    egress.tls = tls(&file.tls, base)?;
    let (secrets, env_vars) = file.secrets.resolve(base)?;
    let tenant = Tenant {
        secrets,
        egress,
        limits: limits(&file.limits)?,
        name,
        config,
    };
    Ok(LoadedTenant {
        tenant,
        plugin,
        dest,
        file: path.to_path_buf(),
        env_vars,
    })
}

/// The default schema of a tenant: its name, lowercased, with anything but ASCII letters, digits and `_` as `_`
/// (and a leading `_` before a digit), at most 63 bytes.
pub fn schema_name(tenant: &str) -> String {
    let mut name: String = tenant
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '_',
        })
        .take(63)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name.insert(0, '_');
        name.truncate(63);
    }
    name
}

/// The names of the `{"secret": "name"}` references in a config.
pub fn secret_names(config: &Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![config];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => match (map.len(), map.get("secret")) {
                (1, Some(Value::String(name))) => names.push(name.clone()),
                _ => stack.extend(map.values()),
            },
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The longest time budget or grace a tenant may have: a year (a deadline further out overflows the clock).
pub const MOST_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Seconds that are not a usable budget: not a number, negative, infinite or over a year.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("`{0:?}` is not a number of seconds from 0 to {MOST_SECONDS} (a year)")]
pub struct BadSeconds(pub f64);

/// The smallest `limits.requests_per_second` accepted: one request a day.
pub const LEAST_REQUESTS_PER_SECOND: f64 = 1.0 / 86_400.0;

/// The largest `limits.requests_per_second` accepted.
pub const MOST_REQUESTS_PER_SECOND: f64 = 1_000_000.0;

/// A `requests_per_second` limit, or why it is not usable.
pub fn per_second(n: f64) -> Result<f64, String> {
    match n {
        _ if (LEAST_REQUESTS_PER_SECOND..=MOST_REQUESTS_PER_SECOND).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{n}` is not a number from {LEAST_REQUESTS_PER_SECOND} (one request a day) to {MOST_REQUESTS_PER_SECOND}"
        )),
    }
}

/// Seconds as a duration, or why they are not usable.
pub fn seconds(s: f64) -> Result<Duration, BadSeconds> {
    match s {
        _ if (0.0..=MOST_SECONDS).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(BadSeconds(s)),
    }
}

fn limits(spec: &LimitsSpec) -> Result<Limits, String> {
    let d = Limits::default();
    let mib = |n: u64| n.saturating_mul(1 << 20);
    let secs = |value: Option<f64>, key: &str, default: Duration| match value {
        Some(s) => seconds(s).map_err(|e| format!("limits.{key}: {e}")),
        None => Ok(default),
    };
    Ok(Limits {
        memory_bytes: spec.memory_mib.map_or(d.memory_bytes, |m| mib(m) as usize),
        time_budget: Some(secs(
            spec.time_budget_s,
            "time_budget_s",
            DEFAULT_TIME_BUDGET,
        )?),
        grace: secs(spec.grace_s, "grace_s", d.grace)?,
        output_bytes: spec
            .output_kib
            .map_or(d.output_bytes, |k| k.saturating_mul(1024) as usize),
        max_requests: spec.max_requests,
        requests_per_second: spec
            .requests_per_second
            .map(per_second)
            .transpose()
            .map_err(|e| format!("limits.requests_per_second: {e}"))?,
        response_bytes: spec.response_mib.map(mib),
        page_bytes: spec.page_mib.map_or(d.page_bytes, |m| mib(m) as usize),
    })
}

/// The TLS trust a file asks for, checked now: a CA file or client certificate that cannot be used is the tenant
/// file's error, not every request's.
fn tls(spec: &TlsSpec, base: &Path) -> Result<crate::egress::TlsTrust, String> {
    let client_cert = match (&spec.client_cert, &spec.client_key) {
        (Some(cert), Some(key)) => Some((base.join(cert), base.join(key))),
        (None, None) => None,
        _ => return Err("tls: `client_cert` and `client_key` go together".into()),
    };
    let trust = crate::egress::TlsTrust {
        platform_roots: spec.platform_roots.unwrap_or(true),
        ca_files: spec.ca_file.iter().map(|f| base.join(f)).collect(),
        client_cert,
    };
    trust.client_config().map_err(|e| format!("tls.{e}"))?;
    Ok(trust)
}

fn egress(spec: &EgressSpec, config: &Value) -> Result<EgressPolicy, String> {
    let mut policy = EgressPolicy::from_config(config);
    if let Some(hosts) = &spec.allowed_outbound_hosts {
        policy.operator = Some(AllowedHosts::parse(hosts).map_err(|e| format!("egress: {e}"))?);
    }
    for net in &spec.allow_private {
        let parsed = net.parse().map_err(|_| {
            format!("egress.allow_private: `{net}` is not a network such as 127.0.0.0/8")
        })?;
        policy.internal_networks.push(parsed);
    }
    let origin = |s: &str| {
        Origin::of_url(s).ok_or(format!("egress.connect_to: `{s}` is not an absolute URL"))
    };
    for (from, to) in &spec.connect_to {
        policy.map(origin(from)?, origin(to)?);
    }
    for (host, ip) in &spec.resolve {
        let ip = ip
            .parse()
            .map_err(|_| format!("egress.resolve: `{ip}` is not an IP address"))?;
        policy.resolve.push((host.to_ascii_lowercase(), ip));
    }
    if let Some(proxy) = &spec.proxy {
        policy.proxy = crate::egress::ProxySettings::single(proxy, &spec.no_proxy)
            .map_err(|e| format!("egress.{e}"))?;
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const CONFIG: &str = r#"{"client": {"base_url": "https://api.acme.example/v1",
        "auth": {"type": "bearer", "token": {"secret": "acme token"}}}, "resources": ["things"]}"#;

    #[test]
    fn a_full_toml_tenant_file_resolves_relative_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "config.json", CONFIG);
        write(dir.path(), "secrets.json", r#"{"acme token": "t0ken"}"#);
        let file = write(
            dir.path(),
            "acme.toml",
            r#"
            plugin = "rest-api-source"
            config = "config.json"
            sqlite = "acme.db"
            [secrets]
            file = "secrets.json"
            [limits]
            memory_mib = 64
            max_requests = 10
            requests_per_second = 2.5
            response_mib = 2
            [egress]
            allowed_outbound_hosts = ["https://*.acme.example"]
            allow_private = ["127.0.0.0/8"]
            connect_to = { "https://api.acme.example" = "http://127.0.0.1:9" }
            resolve = { "API.acme.example" = "127.0.0.2" }
            "#,
        );
        let loaded = load(&file).unwrap();
        let t = &loaded.tenant;
        assert_eq!(t.name, "acme");
        assert_eq!(loaded.plugin.as_deref(), Some("rest-api-source"));
        assert_eq!(loaded.dest, DestSpec::Sqlite(dir.path().join("acme.db")));
        assert_eq!(t.secrets.get("acme token"), Some("t0ken"));
        assert_eq!(t.limits.memory_bytes, 64 << 20);
        assert_eq!(t.limits.max_requests, Some(10));
        assert_eq!(t.limits.requests_per_second, Some(2.5));
        assert_eq!(t.limits.response_bytes, Some(2 << 20));
        assert_eq!(t.limits.time_budget, Some(DEFAULT_TIME_BUDGET));
        let api = Origin::of_url("https://api.acme.example/v1/things").unwrap();
        assert!(t.egress.allows(&api));
        assert!(!t.egress.allow_internal);
        assert_eq!(t.egress.internal_networks.len(), 1);
        assert_eq!(t.egress.connect_to.len(), 1);
        assert_eq!(
            t.egress.resolve,
            vec![("api.acme.example".into(), [127, 0, 0, 2].into())]
        );
    }

    #[test]
    fn the_operator_list_narrows_the_config_origins() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "t.json",
            &format!(
                r#"{{"config": {CONFIG}, "egress": {{"allowed_outbound_hosts": ["https://other.example"]}}}}"#
            ),
        );
        let loaded = load(&file).unwrap();
        let api = Origin::of_url("https://api.acme.example/").unwrap();
        assert_eq!(
            loaded.tenant.egress.check(&api).map_err(|d| d.to_string()),
            Err("the operator's allowed_outbound_hosts do not include it".into())
        );
        assert_eq!(loaded.dest, DestSpec::Unset);
        assert_eq!(loaded.tenant.name, "t");
    }

    #[test]
    fn two_tenants_cannot_read_one_variable() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "config.json", CONFIG);
        let acme =
            "config = 'config.json'\n[secrets]\nenv_prefix = 'ACME_'\nnames = ['eu_api_key']\n";
        let acme_eu =
            "config = 'config.json'\n[secrets]\nenv_prefix = 'ACME_EU_'\nnames = ['api_key']\n";
        let tenants = [("acme.toml", acme), ("acme_eu.toml", acme_eu)]
            .map(|(name, text)| load(&write(dir.path(), name, text)).unwrap());
        let error = check_env_shared(&tenants).unwrap_err().to_string();
        assert!(error.contains("acme_eu.toml"), "{error}");
        assert!(
            error.contains("`ACME_EU_API_KEY` is read by tenant `acme`"),
            "{error}"
        );
        assert!(check_env_shared(&tenants[..1]).is_ok());
        let twice = "config = 'config.json'\n[secrets]\nenv = { a = 'X_KEY', b = 'X_KEY' }\n";
        let one = load(&write(dir.path(), "twice.toml", twice)).unwrap();
        assert!(
            check_env_shared(&[one]).is_ok(),
            "one tenant, one variable for two secrets"
        );
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("a.toml", "config = 'missing.json'\n", "config: cannot read"),
            (
                "b.toml",
                "config = {}\nbogus = 1\n",
                "unknown field `bogus`",
            ),
            (
                "c.toml",
                "config = {}\n[egress]\nallowed_outbound_hosts = ['ftp://x']\n",
                "egress: allowed_outbound_hosts entry `ftp://x`: unknown scheme `ftp`",
            ),
            (
                "d.toml",
                "config = {}\n[egress]\nallow_private = ['localhost']\n",
                "egress.allow_private: `localhost` is not a network",
            ),
            (
                "e.toml",
                "config = {}\nout = 'o'\nsqlite = 'd'\n",
                "`out`, `sqlite` and `postgres` exclude each other",
            ),
            (
                "inf.toml",
                "config = {}\n[limits]\ntime_budget_s = inf\n",
                "limits.time_budget_s: `inf` is not a number of seconds",
            ),
            (
                "huge.toml",
                "config = {}\n[limits]\ngrace_s = 1e300\n",
                "limits.grace_s: `1e300` is not a number of seconds",
            ),
            (
                "neg.toml",
                "config = {}\n[limits]\ntime_budget_s = -1\n",
                "limits.time_budget_s: `-1.0` is not a number of seconds",
            ),
            (
                "rps.toml",
                "config = {}\n[limits]\nrequests_per_second = 0\n",
                "limits.requests_per_second: `0` is not a number from",
            ),
            (
                "f.json",
                "{\"config\": 3}",
                "config: a path to a JSON file, or the config inline",
            ),
        ];
        for (name, text, expected) in cases {
            let file = write(dir.path(), name, text);
            let err = load(&file).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("tenant file {}", file.display()))
            );
            assert!(err.message.contains(expected), "{name}: {}", err.message);
        }
    }

    #[test]
    fn secret_references_are_found_anywhere_in_the_config() {
        let config: Value = serde_json::from_str(
            r#"{"a": {"secret": "x"}, "b": [{"c": {"secret": "y"}}, {"secret": "x"}], "d": {"secret": "z", "other": 1}}"#,
        )
        .unwrap();
        assert_eq!(secret_names(&config), vec!["x", "y"]);
    }
}
