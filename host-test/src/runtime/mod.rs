//! Loading the component and running it for one tenant in a sandbox of its own.
//!
//! One [`Runtime`] (a wasmtime engine and linker) serves every plugin; a [`Plugin`] is a component compiled and
//! pre-instantiated once; every [`Plugin::run`] gets a fresh store with a memory cap, no filesystem, no
//! environment, no arguments, the tenant's secrets and the tenant's egress policy.
//!
//! - `mod.rs`: the [`Runtime`] (engine, linker, epoch ticker, pooling);
//! - `plugin.rs`: [`Plugin`] (load, probe, a store per tenant); `capability.rs` and `precompile.rs` beside it;
//! - `store.rs`: a tenant's store and the connector's imports;
//! - `session.rs`: [`Session`] (configure, next page, schema), deadlines and traps;
//! - `run.rs`: a whole run into a [`Destination`](crate::Destination).

mod capability;
mod plugin;
mod precompile;
mod run;
mod session;
mod store;

pub use capability::Capability;
pub use plugin::Plugin;
pub use session::Session;
pub(crate) use session::block_on;

use crate::error::RunError;
use crate::wit::bindings::{ConnectorCore, ConnectorCorePre};
use std::path::Path;
use store::TenantState;
use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

/// A wasmtime engine and linker shared by every plugin and tenant.
pub struct Runtime {
    engine: Engine,
    linker: Linker<TenantState>,
    cache: Option<std::path::PathBuf>,
}

/// Epoch ticks per second: deadlines are counted in these.
pub(crate) const TICKS_PER_SECOND: u64 = 100;

/// A running guest yields to the executor this often (in epoch ticks), so one busy tenant cannot hold a
/// worker thread.
pub(crate) const YIELD_TICKS: u64 = 2;

/// The largest linear memory of a guest under the pooling allocator.
pub const POOL_MAX_MEMORY: usize = 1 << 30;

impl Runtime {
    /// An engine with the WASI and wasi:http host and the connector's imports linked; instances are
    /// allocated on demand.
    pub fn new() -> Result<Self, RunError> {
        Self::build(None)
    }

    /// Like [`Runtime::new`], with the pooling allocator: `slots` tenants at most run at once, each with at most
    /// [`POOL_MAX_MEMORY`] of linear memory (a tenant's own `memory_bytes` still applies below that).
    /// Instantiation is faster and memory is recycled between tenants.
    pub fn pooled(slots: u32) -> Result<Self, RunError> {
        Self::build(Some(slots))
    }

    fn build(pool: Option<u32>) -> Result<Self, RunError> {
        Self::try_build(pool).map_err(|e| RunError::Host(format!("the wasmtime engine: {e:#}")))
    }

    fn try_build(pool: Option<u32>) -> wasmtime::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        if let Some(slots) = pool {
            // Instance memories and tables come from pre-reserved slots, recycled between tenants.
            let mut pooling = wasmtime::PoolingAllocationConfig::default();
            pooling
                .total_component_instances(slots)
                .total_core_instances(slots.saturating_mul(4))
                .total_memories(slots.saturating_mul(2))
                .total_tables(slots.saturating_mul(4))
                .max_memory_size(POOL_MAX_MEMORY);
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pooling));
        }
        let engine = Engine::new(&config)?;
        // The epoch advances TICKS_PER_SECOND times a second, for as long as any handle on the engine lives
        // (plugins keep one); a run's hard deadline is counted in these ticks.
        let weak = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(std::time::Duration::from_millis(1000 / TICKS_PER_SECOND));
            }
        });
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        ConnectorCore::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        Ok(Self {
            engine,
            linker,
            cache: None,
        })
    }

    /// Keep compiled components in `dir` (which only this host may write to), so a component is compiled once.
    pub fn with_cache(mut self, dir: &Path) -> Self {
        self.cache = Some(dir.to_path_buf());
        self
    }

    /// Compile (or load from the cache) and pre-instantiate a component file, which may use every capability
    /// this host offers.
    pub fn load(&self, path: &Path) -> Result<Plugin, RunError> {
        self.load_granting(path, &Capability::ALL)
    }

    /// Like [`Runtime::load`], but the component may import only what this host offers and `granted` allows;
    /// any other import is refused here, naming it.
    pub fn load_granting(&self, path: &Path, granted: &[Capability]) -> Result<Plugin, RunError> {
        let load_err = |message: String| RunError::Load {
            path: path.display().to_string(),
            message,
        };
        let component = precompile::load(&self.engine, path, self.cache.as_deref())
            .map_err(|e| load_err(format!("{e:#}")))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        capability::check_imports(&imports, granted).map_err(load_err)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| load_err(format!("{e:#}")))?;
        let pre = ConnectorCorePre::new(pre).map_err(|e| load_err(format!("{e:#}")))?;
        let plugin = Plugin {
            engine: self.engine.clone(),
            pre,
            imports,
        };
        block_on(plugin.probe()).map_err(|e| RunError::Load {
            path: path.display().to_string(),
            message: format!(
                "the component does not implement this host's connector contract: {e:#}"
            ),
        })?;
        Ok(plugin)
    }
}
