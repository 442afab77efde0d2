//! Many tenants in one host process at once: 200 runs, each with its own config, secret, egress mapping and
//! data, all at the same time against four fixture APIs, as tasks on two executor threads with the pooling
//! allocator. Each ends with exactly its own rows, and each API only ever sees its own key.

use crate::support::*;
use host_test::fleet::tenant_file::{DestSpec, LoadedTenant};
use host_test::fleet::{self, FleetOptions};
use host_test::{Runtime, Tenant};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use testkit::demo_api::{DemoApi, DemoSpec};

const TENANTS: usize = 200;
const APIS: usize = 4;

/// Tenant `k`'s resource and its row count (all different).
fn resource(k: usize) -> (String, usize) {
    (format!("t{k}"), 20 + k)
}

/// Four APIs, each with its own key, serving the resources of the tenants assigned to it (`k % APIS`).
fn apis() -> Vec<DemoApi> {
    (0..APIS)
        .map(|a| {
            let resources: BTreeMap<String, usize> = (0..TENANTS)
                .filter(|k| k % APIS == a)
                .map(resource)
                .collect();
            let spec = DemoSpec {
                resources,
                api_key: format!("key-of-api-{a}"),
                ..DemoSpec::default()
            };
            DemoApi::start(spec, 0).expect("the fixture API starts")
        })
        .collect()
}

/// Tenant `k`: seed 000's shape, its own resource, page size and table name, and its API's key.
fn tenant_for(k: usize, api: &DemoApi) -> Tenant {
    let (name, _) = resource(k);
    let config = json!({
        "client": {
            "base_url": "https://api.example.com",
            "auth": {"type": "api_key", "name": "api_key", "api_key": {"secret": "api_key"}, "location": "query"}
        },
        "resources": [{
            "name": name,
            "endpoint": {
                "path": format!("/v1/{name}"),
                "data_selector": "data",
                "paginator": {"type": "offset", "limit": 7 + k % 13}
            }
        }]
    });
    let mut tenant = tenant(api, &config.to_string());
    tenant.name = format!("tenant-{k}");
    tenant.limits.memory_bytes = 64 * 1024 * 1024;
    tenant
}

#[test]
fn two_hundred_tenants_at_once_each_get_exactly_their_own_rows() {
    let apis = apis();
    let tenants: Vec<Tenant> = (0..TENANTS)
        .map(|k| tenant_for(k, &apis[k % APIS]))
        .collect();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("precompiled");
    let runtime = Runtime::pooled(TENANTS as u32)
        .expect("wasmtime starts")
        .with_cache(&cache);
    let plugin = Arc::new(runtime.load(component()).expect("the component loads"));
    let root = tempfile::tempdir().unwrap();
    let loaded: Vec<LoadedTenant> = tenants
        .into_iter()
        .map(|tenant| LoadedTenant {
            tenant,
            plugin: None,
            dest: DestSpec::Unset,
            file: Default::default(),
            env_vars: Vec::new(),
        })
        .collect();
    let options = FleetOptions {
        workers: 2,
        concurrency: TENANTS,
        default_root: root.path().to_path_buf(),
    };
    let reports = fleet::run_all(&loaded, |_| Ok(plugin.clone()), &options);
    for (k, report) in reports.into_iter().enumerate() {
        let (name, count) = resource(k);
        let dir = root.path().join(format!("tenant-{k}"));
        assert_eq!(report.tenant, format!("tenant-{k}"));
        let summary = report.result.unwrap_or_else(|e| panic!("tenant {k}: {e}"));
        assert_eq!(
            summary.rows,
            vec![(name.clone(), count as u64)],
            "tenant {k}"
        );
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".jsonl"))
            .collect();
        assert_eq!(files, vec![format!("{name}.jsonl")], "tenant {k}");
        let got: Vec<Value> = rows(&dir, &name);
        assert_eq!(got, apis[k % APIS].rows(&name), "tenant {k}");
    }
    for (a, api) in apis.iter().enumerate() {
        let log = api.log();
        let tenants_here = (0..TENANTS).filter(|k| k % APIS == a).count();
        assert!(log.len() >= tenants_here, "api {a}: {} requests", log.len());
        for line in &log {
            assert_eq!(
                line.param("api_key"),
                Some(format!("key-of-api-{a}").as_str())
            );
            let k: usize = line.path.trim_start_matches("/v1/t").parse().unwrap();
            assert_eq!(k % APIS, a, "api {a} was asked for tenant {k}'s resource");
            assert_eq!(line.status, 200, "{line:?}");
        }
    }
}
