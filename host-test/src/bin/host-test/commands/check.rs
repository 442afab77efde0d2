//! `host-test check`: validate a config and its secrets without sending a data request, or, with `--connect`,
//! fetch one page of every resource and store nothing.

use super::{load_plugin, tenant};
use crate::Common;
use anyhow::Result;
use host_test::RunError;
use host_test::describe::disposition_name;
use host_test::fleet::tenant_file::secret_names;
use serde_json::{Map, Value, json};

/// The most requests a `--connect` check sends per resource (a token request and a child's first parent
/// record included).
const REQUESTS_PER_RESOURCE: u64 = 3;

/// Validate the config and the secrets it names; with `connect`, also fetch the first page of each resource.
pub fn check(common: &Common, connect: bool) -> Result<()> {
    let plugin = load_plugin(common.plugin.as_deref())?;
    let mut tenant = tenant(common)?;
    let config: Value = serde_json::from_str(&tenant.config)?;
    let names = secret_names(&config);
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| tenant.secrets.get(n).is_none())
        .collect();
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        anyhow::bail!(
            "the config names secrets the secrets file does not hold: {}",
            list.join(", ")
        );
    }
    // configure validates the whole config and resolves every secret; it sends no request.
    let mut session = plugin.configure(&tenant, None)?;
    let tables = session.schema()?;
    println!("config: valid, {} resources", session.resources.len());
    for t in &tables {
        let parent = t
            .parent
            .as_ref()
            .map(|p| format!(", child of {p}"))
            .unwrap_or_default();
        let stored = if t.selected { "" } else { ", not stored" };
        println!(
            "  {} -> table {} ({}{parent}{stored})",
            t.resource,
            t.table_name,
            disposition_name(t.write_disposition)
        );
    }
    let mut origins: Vec<String> = tenant
        .egress
        .allowed
        .iter()
        .map(ToString::to_string)
        .collect();
    origins.sort();
    println!("origins: {}", origins.join(", "));
    if names.is_empty() {
        println!("secrets: none named");
    } else {
        println!("secrets: {} found", names.join(", "));
    }
    if !connect {
        println!("no request sent (add --connect to fetch one page of each resource)");
        return Ok(());
    }
    drop(session);
    tenant.config = one_page_config(&config).to_string();
    tenant.limits.max_requests = Some(REQUESTS_PER_RESOURCE * tables.len().max(1) as u64);
    connect_check(&plugin, &tenant, &tables)
}

/// Fetch pages until every stored resource has shown one; print what each returned.
fn connect_check(
    plugin: &host_test::Plugin,
    tenant: &host_test::Tenant,
    tables: &[host_test::wit::TableSchema],
) -> Result<()> {
    let mut seen: Vec<(String, Option<u32>)> = tables
        .iter()
        .filter(|t| t.selected)
        .map(|t| (t.resource.clone(), None))
        .collect();
    let mut session = plugin.configure(tenant, None)?;
    let ended = loop {
        if seen.iter().all(|(_, n)| n.is_some()) {
            break Ok(());
        }
        match session.next_page() {
            Ok(Some(page)) => {
                if let Some(slot) = seen.iter_mut().find(|(r, _)| *r == page.resource) {
                    slot.1.get_or_insert(page.record_count);
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let requests = session.egress_events().len();
    for (resource, records) in &seen {
        match records {
            Some(n) => println!("  {resource}: ok, first page holds {n} records"),
            None => println!("  {resource}: no page (the API returned no records for it)"),
        }
    }
    println!("{requests} requests sent; nothing stored");
    match ended {
        Ok(()) => Ok(()),
        // The check's own request cap: the pages it wanted came first.
        Err(RunError::Refused { .. }) if seen.iter().all(|(_, n)| n.is_some()) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The config with every resource limited to its first page (`endpoint.max_pages: 1`), so the check reaches
/// each resource after one request instead of after its last page.
pub fn one_page_config(config: &Value) -> Value {
    let mut config = config.clone();
    let Some(resources) = config.get_mut("resources").and_then(Value::as_array_mut) else {
        return config;
    };
    for resource in resources.iter_mut() {
        if let Value::String(name) = resource {
            *resource = json!({"name": name, "endpoint": {"path": name}});
        }
        let Some(map) = resource.as_object_mut() else {
            continue;
        };
        let endpoint = match map.remove("endpoint") {
            Some(Value::String(path)) => json!({ "path": path }),
            Some(Value::Object(e)) => Value::Object(e),
            Some(other) => other,
            None => Value::Object(Map::new()),
        };
        let mut endpoint = endpoint;
        if let Some(e) = endpoint.as_object_mut() {
            e.insert("max_pages".into(), json!(1));
        }
        map.insert("endpoint".into(), endpoint);
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_shape_gets_one_page() {
        let config = json!({"client": {"base_url": "https://x"}, "resources": [
            "posts",
            {"name": "users", "endpoint": "people"},
            {"name": "orders", "endpoint": {"path": "orders", "max_pages": 9}},
            {"name": "plain"},
        ]});
        let out = one_page_config(&config);
        assert_eq!(
            out["resources"],
            json!([
                {"name": "posts", "endpoint": {"path": "posts", "max_pages": 1}},
                {"name": "users", "endpoint": {"path": "people", "max_pages": 1}},
                {"name": "orders", "endpoint": {"path": "orders", "max_pages": 1}},
                {"name": "plain", "endpoint": {"max_pages": 1}},
            ])
        );
        assert_eq!(out["client"], config["client"]);
    }
}
