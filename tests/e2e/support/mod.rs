//! Shared by the end-to-end tests: the component built once per test binary, the seeds, and a runner.

#![allow(dead_code)]

pub mod server;

use host_test::wit::{Page, ResourceInfo};
use host_test::{
    Destination, EgressPolicy, JsonlDir, Limits, Origin, Plugin, RunFailure, RunState, RunSummary,
    Runtime, SecretStore, Tenant,
};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use testkit::demo_api::{DemoApi, DemoSpec};

/// The host runtime (one engine) of this test binary. Compiled components are cached under cargo's
/// temporary directory for tests, so each component is compiled once for all the test binaries.
pub fn runtime() -> &'static Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("precompiled");
        Arc::new(Runtime::new().expect("wasmtime starts").with_cache(&cache))
    })
}

/// The component's file, built with the `component` profile once per test binary.
pub fn component() -> &'static Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| testkit::component::build_component().expect("the component builds"))
}

/// The component, loaded once per test binary.
pub fn plugin() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| runtime().load(component()).expect("the component loads"))
}

/// The hostile connector (`host-test/tests/hostile`), built once per test binary.
pub fn hostile_wasm() -> &'static Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("host-test/tests/hostile");
        testkit::component::build_guest(&dir, "hostile_connector")
            .unwrap_or_else(|e| panic!("the hostile connector builds: {e}"))
    })
}

/// The seed documents, read from the repository's `seeds/` as written.
pub fn seed_documents() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("seeds/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .map(|p| {
            let id = p.file_name().unwrap().to_string_lossy()[..3].to_string();
            (id, std::fs::read_to_string(&p).expect("a readable seed"))
        })
        .collect();
    seeds.sort();
    seeds
}

/// The config of seed `id`, as written.
pub fn seed_config(id: &str) -> String {
    let (_, doc) = seed_documents()
        .into_iter()
        .find(|(i, _)| i == id)
        .expect("the seed exists");
    testkit::seed::config_json(&doc).expect("the seed's config converts")
}

/// A demo API with the default resources.
pub fn api() -> DemoApi {
    DemoApi::start(DemoSpec::default(), 0).expect("the fixture API starts")
}

/// A tenant running `config` against `api`, standing in for https://api.example.com.
pub fn tenant(api: &DemoApi, config: &str) -> Tenant {
    let mut t = tenant_at(&api.url(), config);
    t.secrets = SecretStore::from_json(&api.spec().secrets_json()).unwrap();
    t
}

/// A tenant running `config` against the server at `url`, standing in for https://api.example.com; no secrets.
pub fn tenant_at(url: &str, config: &str) -> Tenant {
    let value: Value = serde_json::from_str(config).expect("config JSON");
    let mut egress = EgressPolicy::from_config(&value);
    egress.map(
        Origin::of_url("https://api.example.com").unwrap(),
        Origin::of_url(url).unwrap(),
    );
    Tenant {
        name: "test".into(),
        config: config.to_string(),
        secrets: SecretStore::from_pairs(std::iter::empty::<(&str, &str)>()),
        egress,
        limits: Limits::default(),
    }
}

/// Run a tenant into a fresh directory; the summary (or error) and the rows written per file.
pub fn run(tenant: &Tenant) -> (Result<RunSummary, RunFailure>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let result = plugin().run(tenant, &mut JsonlDir::new(dir.path()));
    (result, dir)
}

/// [`run`], which must succeed: the summary and the directory (a failure panics with its message).
pub fn run_ok(tenant: &Tenant) -> (RunSummary, tempfile::TempDir) {
    let (result, dir) = run(tenant);
    (result.unwrap_or_else(|e| panic!("{e}")), dir)
}

/// Run a tenant into a fresh directory, resuming from `checkpoint` (one a page came with), as a platform that
/// keeps checkpoints itself would.
pub fn run_from(
    tenant: &Tenant,
    checkpoint: &str,
) -> (Result<RunSummary, RunFailure>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut dest = ResumeFrom {
        inner: JsonlDir::new(dir.path()),
        state: RunState::at(checkpoint.to_string(), false),
    };
    (plugin().run(tenant, &mut dest), dir)
}

/// JSON Lines that resume from a given state instead of a state file.
struct ResumeFrom {
    inner: JsonlDir,
    state: RunState,
}

impl Destination for ResumeFrom {
    fn resume_state(&self) -> std::io::Result<Option<RunState>> {
        Ok(Some(self.state.clone()))
    }
    fn begin(
        &mut self,
        resources: &[ResourceInfo],
        resume: Option<&RunState>,
    ) -> std::io::Result<()> {
        self.inner.begin(resources, resume)
    }
    fn write_page(&mut self, page: &Page) -> std::io::Result<()> {
        self.inner.write_page(page)
    }
    fn commit(&mut self, checkpoint: &str, complete: bool) -> std::io::Result<()> {
        self.inner.commit(checkpoint, complete)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// The records of `<dir>/<resource>.jsonl`.
pub fn rows(dir: &Path, resource: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(JsonlDir::file_for(dir, resource))
        .expect("the resource's file exists");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// dlt's test mock API (`tests/sources/rest_api/conftest.py`) on loopback.
pub fn dlt_api() -> DemoApi {
    let spec = DemoSpec {
        routes: testkit::demo_api::Routes::Dlt,
        ..DemoSpec::default()
    };
    DemoApi::start(spec, 0).expect("the fixture API starts")
}

/// What a run against dlt's mock produced.
pub struct Outcome {
    /// The run's result.
    pub result: Result<RunSummary, RunFailure>,
    /// Rows per resource file (missing files read as no rows).
    pub rows: std::collections::BTreeMap<String, Vec<Value>>,
    /// The requests the mock received.
    pub log: Vec<testkit::demo_api::Logged>,
}

impl Outcome {
    /// The summary of a run that must have succeeded (a failure panics with its message).
    pub fn ok(&self) -> &RunSummary {
        self.result.as_ref().unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Run `config` (a dlt config as JSON) against dlt's mock with `secrets`.
pub fn run_dlt(config: Value, secrets: &[(&str, &str)]) -> Outcome {
    let api = dlt_api();
    let mut t = tenant(&api, &config.to_string());
    t.secrets = SecretStore::from_pairs(secrets.iter().copied());
    let (result, dir) = run(&t);
    let mut rows_by = std::collections::BTreeMap::new();
    if let Some(resources) = config["resources"].as_array() {
        for r in resources {
            let name = r
                .as_str()
                .or_else(|| r["name"].as_str())
                .unwrap_or_default()
                .to_string();
            let file = JsonlDir::file_for(dir.path(), &name);
            let got = if file.exists() {
                rows(dir.path(), &name)
            } else {
                Vec::new()
            };
            rows_by.insert(name, got);
        }
    }
    Outcome {
        result,
        rows: rows_by,
        log: api.log(),
    }
}
