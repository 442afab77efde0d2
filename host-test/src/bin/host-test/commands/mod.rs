//! The CLI's commands, one file each, and what they share: finding and loading the plugin, and the tenant of a
//! `--config` run.
//!
//! - `run.rs`: `run` into JSON Lines or SQLite, with progress and totals;
//! - `check.rs`: `check`, validating a config and its secrets (with `--connect`, one page per resource);
//! - `inspect.rs`: `schema`, `state` and `sql`;
//! - `demo.rs`: `demo` (the seeds against the demo API) and `demo-api`;
//! - `tenant.rs`: `run --tenant`, `run-all` and `plugins`;
//! - `queue.rs`: `submit`, `worker` and `runs`, the queue of runs in PostgreSQL.

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod inspect;
pub(crate) mod queue;
pub(crate) mod run;
pub(crate) mod tenant;

use crate::{Common, ConfigError};
use anyhow::{Context, Result, bail};
use host_test::{
    EgressPolicy, Limits, Origin, Plugin, ProxySettings, Runtime, SecretStore, Tenant, TlsTrust,
};
use std::path::{Path, PathBuf};
use testkit::component::build_component;
use testkit::default_plugin_path;

/// The component `path` names, or this workspace's (built on first use).
pub(crate) fn plugin_file(path: Option<&Path>) -> Result<PathBuf> {
    Ok(match path {
        Some(p) => p.to_path_buf(),
        None if default_plugin_path().exists() => default_plugin_path(),
        None => {
            eprintln!("building the component (first run) ...");
            build_component()
                .context("no --plugin given and the default component could not be built")?
        }
    })
}

pub(crate) fn load_plugin(path: Option<&Path>) -> Result<Plugin> {
    let path = plugin_file(path)?;
    if !path.exists() {
        bail!("no component at {}", path.display());
    }
    // Compiled components are cached beside the plugin file, so later runs skip compiling it.
    let cache = path.parent().unwrap_or(Path::new(".")).join(".precompiled");
    let runtime = Runtime::new()?.with_cache(&cache);
    Ok(runtime.load(&path)?)
}

pub(crate) fn tenant(common: &Common) -> Result<Tenant> {
    let path = common
        .config
        .as_ref()
        .context("--config is required (or --tenant with `run`)")?;
    let config = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&config)
        .map_err(|e| ConfigError(format!("config {} is not valid JSON: {e}", path.display())))?;
    let secrets = match &common.secrets {
        Some(path) => SecretStore::from_file(path)?,
        None => SecretStore::default(),
    };
    let mut egress = EgressPolicy::from_config(&value);
    egress.allow_internal = !common.block_internal;
    for mapping in &common.connect_to {
        let (from, to) = mapping
            .split_once('=')
            .context("--connect-to takes FROM=TO")?;
        let origin = |s: &str| {
            Origin::of_url(s).with_context(|| format!("--connect-to: `{s}` is not an absolute URL"))
        };
        egress.map(origin(from)?, origin(to)?);
    }
    egress.tls = TlsTrust {
        ca_files: common.cacert.clone(),
        client_cert: common.cert.clone().zip(common.key.clone()),
        ..Default::default()
    };
    egress.tls.client_config()?;
    // As `requests` does: http_proxy, https_proxy, all_proxy and no_proxy from the environment.
    egress.proxy = ProxySettings::from_env()?;
    Ok(Tenant {
        name: "cli".into(),
        config,
        secrets,
        egress,
        limits: Limits {
            time_budget: common.time_budget,
            grace: common.grace,
            max_requests: common.max_requests,
            requests_per_second: common.requests_per_second,
            memory_bytes: common.memory_mib.saturating_mul(1024 * 1024),
            ..Limits::default()
        },
    })
}
