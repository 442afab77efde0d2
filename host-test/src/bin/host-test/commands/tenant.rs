//! The tenant commands of the CLI: `run --tenant`, `run-all`, `plugins list`.

use anyhow::{Context, Result, bail};
use host_test::PluginDir;
use host_test::RunError;
use host_test::fleet::tenant_file::{self, LoadedTenant};
use host_test::fleet::{self, FleetOptions, Report};
use host_test::{Plugin, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Tenants running at once: the pooling allocator's instance slots.
const SLOTS: u32 = 1000;

/// Plugins for tenants: by name from a plugin directory, by path, or this workspace's component.
pub(crate) struct Plugins {
    runtime: Arc<Runtime>,
    dir: Option<PluginDir>,
    by_path: Mutex<BTreeMap<PathBuf, Arc<Plugin>>>,
}

impl Plugins {
    pub(crate) fn open(dir: Option<&Path>) -> Result<Self> {
        let cache = match dir {
            Some(d) => d.join(".precompiled"),
            None => super::plugin_file(None)?
                .parent()
                .unwrap_or(Path::new("."))
                .join(".precompiled"),
        };
        let runtime = Arc::new(Runtime::pooled(SLOTS)?.with_cache(&cache));
        let dir = match dir {
            Some(d) => Some(PluginDir::open(runtime.clone(), d)?),
            None => None,
        };
        Ok(Self {
            runtime,
            dir,
            by_path: Mutex::new(BTreeMap::new()),
        })
    }

    pub(crate) fn for_tenant(&self, loaded: &LoadedTenant) -> Result<Arc<Plugin>, RunError> {
        let name = loaded.plugin.as_deref();
        if let (Some(name), Some(dir)) = (name, &self.dir)
            && !name.ends_with(".wasm")
        {
            return match dir.entries().find(|(n, _)| *n == name) {
                Some((_, entry)) => entry.plugin(),
                None => Err(RunError::Setup(format!(
                    "no plugin named `{name}` in the plugin directory"
                ))),
            };
        }
        let path = match name {
            Some(n) if n.ends_with(".wasm") => PathBuf::from(n),
            Some(n) => {
                return Err(RunError::Setup(format!(
                    "plugin `{n}`: give --plugins <dir> to look names up"
                )));
            }
            None => super::plugin_file(None).map_err(|e| RunError::Load {
                path: "(the workspace's component)".into(),
                message: format!("{e:#}"),
            })?,
        };
        let mut loaded_plugins = self
            .by_path
            .lock()
            .map_err(|_| RunError::Host("plugin cache poisoned".into()))?;
        if let Some(p) = loaded_plugins.get(&path) {
            return Ok(p.clone());
        }
        let plugin = Arc::new(self.runtime.load(&path)?);
        loaded_plugins.insert(path, plugin.clone());
        Ok(plugin)
    }
}

/// `run --tenant <file>`.
pub fn run_tenant(file: &Path, plugins: Option<&Path>) -> Result<()> {
    let loaded = tenant_file::load(file)?;
    let plugins = Plugins::open(plugins)?;
    let report = fleet::run_one(
        &loaded,
        plugins.for_tenant(&loaded),
        Path::new("tenant-runs"),
    );
    print_reports(std::slice::from_ref(&report));
    match report.result {
        // The failure itself, so the exit code says what kind it was.
        Err(failure) => {
            Err(anyhow::Error::new(failure).context(format!("tenant {}", report.tenant)))
        }
        Ok(_) => Ok(()),
    }
}

/// `run-all <dir>`.
pub fn run_all(dir: &Path, plugins: Option<&Path>, out: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml" || x == "json"))
        .collect();
    files.sort();
    // A tenant file that cannot be used fails alone; the others run.
    let (loaded, broken): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|f| tenant_file::load(f))
        .partition(Result::is_ok);
    let tenants: Vec<LoadedTenant> = loaded.into_iter().filter_map(Result::ok).collect();
    let broken: Vec<String> = broken
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    tenant_file::check_env_shared(&tenants)?;
    let mut names = std::collections::BTreeSet::new();
    for t in &tenants {
        if !names.insert(t.tenant.name.as_str()) {
            bail!("two tenant files name the tenant `{}`", t.tenant.name);
        }
    }
    let plugins = Plugins::open(plugins)?;
    let options = FleetOptions {
        concurrency: SLOTS as usize,
        default_root: out.to_path_buf(),
        ..FleetOptions::default()
    };
    let reports = fleet::run_all(&tenants, |t| plugins.for_tenant(t), &options);
    print_reports(&reports);
    for error in &broken {
        println!("{:<20} FAILED {error}", "(tenant file)");
    }
    let failed = reports.iter().filter(|r| r.error().is_some()).count() + broken.len();
    match failed {
        0 => Ok(()),
        n => bail!("{n} of {} tenants failed", reports.len() + broken.len()),
    }
}

fn print_reports(reports: &[Report]) {
    println!(
        "{:<20} {:<6} {:>9} {:>6} {:>8} {:>8}  destination / error",
        "tenant", "status", "rows", "pages", "requests", "seconds"
    );
    for r in reports {
        let pages = r.summary().pages;
        let (status, tail) = match r.error() {
            Some(e) => ("FAILED", e),
            None => ("ok", r.dest.clone()),
        };
        println!(
            "{:<20} {status:<6} {:>9} {pages:>6} {:>8} {:>8.2}  {tail}",
            r.tenant,
            r.rows(),
            r.requests(),
            r.seconds
        );
    }
}

/// `plugins list <dir>`.
pub fn list_plugins(dir: &Path) -> Result<()> {
    let plugins = Plugins::open(Some(dir))?;
    let Some(dir) = &plugins.dir else {
        return Ok(());
    };
    for (name, entry) in dir.entries() {
        let version = entry.manifest.version.as_deref().unwrap_or("-");
        let file = entry.path.file_name().unwrap_or_default().to_string_lossy();
        match entry.plugin() {
            Ok(p) => println!(
                "{name:<24} {version:<10} {file}  sha256 {}  loaded; imports {}",
                &entry.sha256[..12],
                p.imports().join(", ")
            ),
            Err(e) => println!("{name:<24} {version:<10} {file}  REFUSED: {e}"),
        }
    }
    Ok(())
}
