//! The plugin directory (validation against what the host offers and the manifest grants, change detection)
//! and tenant files run together in one host.

use crate::support::*;
use host_test::fleet;
use host_test::fleet::tenant_file;
use host_test::{Change, PluginDir};
use std::path::Path;

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
}

#[test]
fn the_plugin_directory_validates_and_notices_changes() {
    let real = testkit::component::build_component().unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy(&real, &dir.path().join("rest.wasm"));
    std::fs::write(
        dir.path().join("rest.toml"),
        "name = \"rest-api-source\"\nversion = \"0.1.0\"\ncapabilities = [\"http\", \"secrets\", \"logging\"]\n",
    )
    .unwrap();
    copy(hostile_wasm(), &dir.path().join("mallory.wasm"));
    std::fs::write(
        dir.path().join("mallory.toml"),
        "capabilities = [\"logging\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("junk.wasm"), b"not a component").unwrap();
    let mut plugins = PluginDir::open(runtime().clone(), dir.path()).unwrap();

    let names: Vec<&str> = plugins.entries().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["junk", "mallory", "rest-api-source"]);
    assert!(plugins.get("rest-api-source").is_some());
    let (_, rest) = plugins
        .entries()
        .find(|(n, _)| *n == "rest-api-source")
        .unwrap();
    assert_eq!(rest.manifest.version.as_deref(), Some("0.1.0"));
    let refused = |name: &str| {
        let (_, e) = plugins.entries().find(|(n, _)| *n == name).unwrap();
        e.plugin().err().map(|e| e.to_string()).unwrap_or_default()
    };
    let mallory = refused("mallory");
    assert!(
        mallory.contains("refused imports: `wasi:http/"),
        "{mallory}"
    );
    assert!(
        mallory.contains("needs the `http` capability, which its manifest does not grant"),
        "{mallory}"
    );
    assert!(
        refused("junk").starts_with("cannot load plugin"),
        "{}",
        refused("junk")
    );

    assert_eq!(plugins.refresh().unwrap(), vec![], "nothing changed");
    // Granting http changes the manifest: reloaded, now accepted.
    std::fs::write(
        dir.path().join("mallory.toml"),
        "capabilities = [\"http\", \"secrets\", \"logging\"]\n",
    )
    .unwrap();
    assert_eq!(
        plugins.refresh().unwrap(),
        vec![Change::Changed("mallory".into())]
    );
    assert!(plugins.get("mallory").is_some());
    // A new file, a replaced file, a removed file.
    copy(&real, &dir.path().join("second.wasm"));
    copy(&real, &dir.path().join("junk.wasm"));
    std::fs::remove_file(dir.path().join("mallory.wasm")).unwrap();
    let mut changes = plugins.refresh().unwrap();
    changes.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        changes,
        vec![
            Change::Added("second".into()),
            Change::Changed("junk".into()),
            Change::Removed("mallory".into()),
        ]
    );
    assert!(plugins.get("junk").is_some(), "the replaced file loads now");
    assert!(plugins.get("mallory").is_none());
}

#[test]
fn tenant_files_run_side_by_side_each_into_its_own_destination() {
    let api = api();
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir(&plugin_dir).unwrap();
    copy(
        &testkit::component::build_component().unwrap(),
        &plugin_dir.join("rest-api-source.wasm"),
    );
    copy(hostile_wasm(), &plugin_dir.join("mallory.wasm"));
    std::fs::write(dir.path().join("seed000.json"), seed_config("000")).unwrap();
    std::fs::write(dir.path().join("secrets.json"), api.spec().secrets_json()).unwrap();
    let connect = format!("{{ \"https://api.example.com\" = \"{}\" }}", api.url());
    let good = format!(
        "plugin = \"rest-api-source\"\nconfig = \"seed000.json\"\nout = \"out/good\"\n\
         [secrets]\nfile = \"secrets.json\"\n\
         [egress]\nallowed_outbound_hosts = [\"https://*.example.com\"]\nconnect_to = {connect}\n"
    );
    std::fs::write(dir.path().join("good.toml"), good).unwrap();
    // The same config, but the operator's list does not include the API: refused before any request.
    let fenced = format!(
        "plugin = \"rest-api-source\"\nconfig = \"seed000.json\"\n\
         [secrets]\nfile = \"secrets.json\"\n\
         [egress]\nallowed_outbound_hosts = [\"https://other.example.org\"]\nconnect_to = {connect}\n"
    );
    std::fs::write(dir.path().join("fenced.toml"), fenced).unwrap();
    let spin = "{\"plugin\": \"mallory\", \"config\": {\"behaviour\": \"spin\"}, \
                \"limits\": {\"time_budget_s\": 0.2, \"grace_s\": 0.1}}";
    std::fs::write(dir.path().join("spin.json"), spin).unwrap();

    let tenants: Vec<_> = ["good.toml", "fenced.toml", "spin.json"]
        .iter()
        .map(|f| tenant_file::load(&dir.path().join(f)).unwrap())
        .collect();
    let plugins = PluginDir::open(runtime().clone(), &plugin_dir).unwrap();
    let plugin_for = |t: &tenant_file::LoadedTenant| {
        plugins
            .get(t.plugin.as_deref().unwrap_or_default())
            .ok_or_else(|| host_test::RunError::Setup("no such plugin".into()))
    };
    let options = fleet::FleetOptions {
        default_root: dir.path().join("default-out"),
        ..fleet::FleetOptions::default()
    };
    let reports = fleet::run_all(&tenants, plugin_for, &options);

    assert_eq!(reports[0].error(), None);
    assert_eq!(reports[0].rows(), 1234);
    assert_eq!(
        rows(&dir.path().join("out/good"), "resource_name"),
        api.rows("resource")
    );
    let fenced = reports[1].error().unwrap();
    assert!(
        fenced.contains("the operator's allowed_outbound_hosts do not include it"),
        "{fenced}"
    );
    assert_eq!(reports[1].requests(), 0);
    assert_eq!(
        reports[1].dest,
        dir.path().join("default-out/fenced").display().to_string()
    );
    let spin = reports[2].error().unwrap();
    assert!(spin.contains("interrupted"), "{spin}");
    let served = api
        .log()
        .iter()
        .filter(|l| l.path == "/v1/resource")
        .count();
    assert_eq!(served, 13, "only the good tenant's pages were served");
}
