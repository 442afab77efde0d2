//! Embedding the host: load a plugin directory once, then run two tenants, each with its own config, secrets,
//! egress policy, limits and destination, and print what each did. A failing tenant touches no other.
//!
//! ```sh
//! cargo run -p host-test -- demo-api --port 8080 &          # an API to read (the demo API, on loopback)
//! mkdir -p plugins && cp target/wasm32-wasip2/component/rest_api_source.wasm plugins/
//! cargo run -p host-test --example embed -- plugins http://127.0.0.1:8080
//! ```

use host_test::{EgressPolicy, JsonlDir, Limits, PluginDir, Runtime, SecretStore, Tenant};
use std::{error::Error, path::Path, sync::Arc, time::Duration};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (plugins, api) = match args.as_slice() {
        [plugins, api] => (Path::new(plugins), api.as_str()),
        _ => return Err("usage: embed <plugin-dir> <api-url>".into()),
    };
    // One runtime per process; every plugin in the directory is compiled once (and cached) and pre-instantiated.
    let runtime = Arc::new(Runtime::new()?.with_cache(&plugins.join(".precompiled")));
    let directory = PluginDir::open(runtime, plugins)?;
    let plugin = directory
        .get("rest_api_source")
        .ok_or("no rest_api_source.wasm there")?;

    // Two tenants of one plugin: the same config shape, their own keys (globex's is wrong).
    for (name, key) in [("acme", "demo-api-key"), ("globex", "a-revoked-key")] {
        let config = serde_json::json!({
            "client": {"base_url": api, "auth": {"type": "api_key", "name": "api_key",
                "api_key": {"secret": "api_key"}, "location": "query"}},
            "resources": [{"name": "resource", "endpoint": {"path": "/v1/resource", "data_selector": "data",
                "paginator": {"type": "offset", "limit": 100}}}],
        });
        // Only the origins the config names; internal addresses too here, because the demo API is on loopback.
        let mut egress = EgressPolicy::from_config(&config);
        egress.allow_internal = true;
        let tenant = Tenant {
            name: name.into(),
            config: config.to_string(),
            secrets: SecretStore::from_pairs([("api_key", key)]),
            egress,
            limits: Limits {
                time_budget: Some(Duration::from_secs(60)),
                ..Limits::default()
            },
        };
        // The destination keeps no state here; `JsonlDir::with_state` or `SqliteDb` would resume a rerun.
        let mut dest = JsonlDir::new(&Path::new("embed-out").join(name));
        match plugin.run(&tenant, &mut dest) {
            Ok(summary) => println!("{name}: {:?} in {} pages", summary.rows, summary.pages),
            Err(failure) => println!("{name}: failed ({:?}): {failure}", failure.error.kind()),
        }
    }
    Ok(())
}
