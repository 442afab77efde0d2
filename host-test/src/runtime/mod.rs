//! Loading the component and running it for one tenant in a sandbox of its own.
//!
//! One [`Runtime`] (a wasmtime engine and linker) serves every plugin; a [`Plugin`] is a component compiled and
//! pre-instantiated once; every [`Plugin::run`] gets a fresh store with a memory cap, no filesystem, no
//! environment, no arguments, the tenant's secrets and the tenant's egress policy.

pub use crate::capability::Capability;
use crate::egress::{EgressEvent, EgressHooks, EgressPolicy};
pub use crate::error::{FailureKind, RunError, RunFailure};
pub use crate::sandbox::Limits;
use crate::sandbox::{MemoryMeter, Refusal, Refusals};
use crate::secrets::SecretStore;
use std::path::Path;
use std::sync::{Arc, Mutex};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "connector-core",
        additional_derives: [PartialEq, Clone],
        exports: { default: async },
    });
}

pub use crate::describe::{
    data_type_name, describe, describe_change, describe_schema, disposition_name, source_name,
};
pub use bindings::rest_source::connector::logging::Level;
use bindings::rest_source::connector::secrets::SecretError;
pub use bindings::rest_source::connector::types::{
    ChangeKind, Column, ConfigProblem, DataType, Error as ConnectorError, FactSource, HttpFailure,
    Page, ResourceFailure, ResourceInfo, SchemaChange, TableSchema, WriteDisposition,
};
use bindings::{ConnectorCore, ConnectorCorePre};

/// A log line from the guest, tagged with its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The tenant.
    pub tenant: String,
    /// Severity.
    pub level: String,
    /// Message (secret values masked).
    pub message: String,
}

/// Everything one tenant's run needs.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Tenant name, used to tag logs.
    pub name: String,
    /// The config, JSON text as written (secret references, not values).
    pub config: String,
    /// The tenant's secrets.
    pub secrets: SecretStore,
    /// Where it may connect.
    pub egress: EgressPolicy,
    /// Limits.
    pub limits: Limits,
    /// A checkpoint to resume from.
    pub checkpoint: Option<String>,
}

/// What a finished run did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Per resource, in run order: name and rows.
    pub rows: Vec<(String, u64)>,
    /// Pages received.
    pub pages: u64,
    /// The last checkpoint received.
    pub last_checkpoint: Option<String>,
    /// The guest's log lines.
    pub logs: Vec<LogLine>,
    /// Each outgoing request's origin and the policy's decision.
    pub egress: Vec<EgressEvent>,
    /// The schema changes the pages reported, with their resource, in order.
    pub schema_changes: Vec<(String, SchemaChange)>,
    /// The guest's largest linear memory during the run, in bytes (its high-water mark).
    pub guest_memory_peak: u64,
}

/// The state of one tenant's store.
struct TenantState {
    tenant: String,
    budget: Option<std::time::Duration>,
    /// Budget plus grace from the store's creation: past it, guest calls are interrupted or abandoned.
    deadline: Option<std::time::Instant>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    limits: MemoryMeter,
    secrets: SecretStore,
    refusals: Refusals,
    output_bytes: usize,
    logs: Vec<LogLine>,
}

impl WasiView for TenantState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for TenantState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl bindings::rest_source::connector::types::Host for TenantState {}

impl bindings::rest_source::connector::secrets::Host for TenantState {
    fn get(&mut self, name: String) -> Result<String, SecretError> {
        match self.secrets.get(&name) {
            Some(value) => Ok(value.to_string()),
            None => {
                tracing::warn!(tenant = %self.tenant, secret = %name, "secret refused");
                self.refusals.record(Refusal::Secret { name });
                Err(SecretError::NotFound)
            }
        }
    }
}

impl TenantState {
    /// `message` with every secret value of the tenant masked.
    fn mask(&self, message: String) -> String {
        let mut masked = message;
        for value in self.secrets.values().filter(|v| !v.is_empty()) {
            masked = masked.replace(value, "***");
        }
        masked
    }

    /// What the guest wrote to stdout and stderr (capped at the tenant's output limit), one log line per
    /// line, level `stdout` or `stderr`, secrets masked.
    fn output_lines(&self) -> Vec<LogLine> {
        let mut lines = Vec::new();
        for (level, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = String::from_utf8_lossy(&pipe.contents()).into_owned();
            for message in text.lines().filter(|l| !l.is_empty()) {
                lines.push(LogLine {
                    tenant: self.tenant.clone(),
                    level: level.into(),
                    message: self.mask(message.to_string()),
                });
            }
        }
        lines
    }
}

impl bindings::rest_source::connector::logging::Host for TenantState {
    fn log(&mut self, level: Level, message: String) {
        let masked = self.mask(message);
        let line = LogLine {
            tenant: self.tenant.clone(),
            level: match level {
                Level::Trace => "trace",
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            }
            .into(),
            message: masked,
        };
        let (tenant, message) = (&line.tenant, &line.message);
        match level {
            Level::Trace => tracing::trace!(target: "connector", %tenant, "{message}"),
            Level::Debug => tracing::debug!(target: "connector", %tenant, "{message}"),
            Level::Info => tracing::info!(target: "connector", %tenant, "{message}"),
            Level::Warn => tracing::warn!(target: "connector", %tenant, "{message}"),
            Level::Error => tracing::error!(target: "connector", %tenant, "{message}"),
        }
        self.logs.push(line);
    }
}

/// A wasmtime engine and linker shared by every plugin and tenant.
pub struct Runtime {
    engine: Engine,
    linker: Linker<TenantState>,
    cache: Option<std::path::PathBuf>,
}

/// Epoch ticks per second: deadlines are counted in these.
const TICKS_PER_SECOND: u64 = 100;

/// A running guest yields to the executor this often (in epoch ticks), so one busy tenant cannot hold a
/// worker thread.
const YIELD_TICKS: u64 = 2;

/// The largest linear memory of a guest under the pooling allocator.
pub const POOL_MAX_MEMORY: usize = 1 << 30;

impl Runtime {
    /// An engine with the WASI and wasi:http host and the connector's imports linked; instances are
    /// allocated on demand.
    pub fn new() -> wasmtime::Result<Self> {
        Self::build(None)
    }

    /// Like [`Runtime::new`], with the pooling allocator: `slots` tenants at most run at once, each with at most
    /// [`POOL_MAX_MEMORY`] of linear memory (a tenant's own `memory_bytes` still applies below that).
    /// Instantiation is faster and memory is recycled between tenants.
    pub fn pooled(slots: u32) -> wasmtime::Result<Self> {
        Self::build(Some(slots))
    }

    fn build(pool: Option<u32>) -> wasmtime::Result<Self> {
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
        let component = crate::precompile::load(&self.engine, path, self.cache.as_deref())
            .map_err(|e| load_err(format!("{e:#}")))?;
        let imports: Vec<String> = component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect();
        crate::capability::check_imports(&imports, granted).map_err(load_err)?;
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

/// A loaded, pre-instantiated component.
pub struct Plugin {
    engine: Engine,
    pre: ConnectorCorePre<TenantState>,
    imports: Vec<String>,
}

/// A configured connector instance, inside its tenant's store.
pub struct Session {
    store: Store<TenantState>,
    bindings: ConnectorCore,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    /// The resources the config declares, in run order.
    pub resources: Vec<ResourceInfo>,
    /// The executor of the synchronous methods (made on first use).
    executor: Option<tokio::runtime::Runtime>,
}

impl Plugin {
    /// The interfaces the component imports, as it names them (`wasi:http/outgoing-handler@0.2.12`, ...).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Call every export once on a throwaway instance, so that a component built against another version of
    /// the contract is refused at load, not on its first run (typed calls check the signatures).
    async fn probe(&self) -> wasmtime::Result<()> {
        let (mut store, _) = self.store(&Tenant::default());
        let bindings = self.pre.instantiate_async(&mut store).await?;
        let source = bindings.rest_source_connector_source();
        let configured = source.call_configure(&mut store, "{}", None).await?;
        if configured.is_ok() {
            wasmtime::bail!("configure accepted an empty config");
        }
        source.call_next_page(&mut store).await?.ok();
        source.call_schema(&mut store).await?.ok();
        Ok(())
    }

    /// A fresh store for one tenant run, with its limits, secrets and egress policy.
    fn store(&self, tenant: &Tenant) -> (Store<TenantState>, Arc<Mutex<Vec<EgressEvent>>>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let refusals = Refusals::default();
        let stdout = MemoryOutputPipe::new(tenant.limits.output_bytes);
        let stderr = MemoryOutputPipe::new(tenant.limits.output_bytes);
        let budget = tenant.limits.time_budget;
        let hard = budget.map(|b| b.saturating_add(tenant.limits.grace));
        // A deadline past what the clock holds is no deadline (an embedder's `Duration::MAX`).
        let deadline = hard.and_then(|h| std::time::Instant::now().checked_add(h));
        let state = TenantState {
            tenant: tenant.name.clone(),
            budget,
            deadline,
            stdout: stdout.clone(),
            stderr: stderr.clone(),
            wasi: WasiCtx::builder().stdout(stdout).stderr(stderr).build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: EgressHooks::new(
                &tenant.name,
                Arc::new(tenant.egress.clone()),
                events.clone(),
                refusals.clone(),
            )
            .with_deadline(deadline)
            .with_max_requests(tenant.limits.max_requests)
            .with_response_bytes(tenant.limits.response_bytes),
            limits: MemoryMeter::new(
                StoreLimitsBuilder::new()
                    .memory_size(tenant.limits.memory_bytes)
                    .instances(4)
                    .build(),
            ),
            secrets: tenant.secrets.clone(),
            refusals,
            output_bytes: tenant.limits.output_bytes,
            logs: Vec::new(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // The guest yields every few ticks; once the hard deadline has passed, it is interrupted instead.
        store.epoch_deadline_callback(move |_| match deadline {
            Some(at) if std::time::Instant::now() >= at => Ok(UpdateDeadline::Interrupt),
            _ => Ok(UpdateDeadline::Yield(YIELD_TICKS)),
        });
        store.set_epoch_deadline(YIELD_TICKS);
        (store, events)
    }

    /// Instantiate the component for `tenant` in a fresh store and drop it, without calling it: the fixed cost
    /// every run pays before `configure` (for benchmarks and warm-up).
    pub async fn instantiate_async(&self, tenant: &Tenant) -> Result<(), RunError> {
        let (mut store, _) = self.store(tenant);
        self.pre
            .instantiate_async(&mut store)
            .await
            .map(drop)
            .map_err(|e| trap(e, store.data()))
    }

    /// Instantiate the component for `tenant` in a fresh store and call `configure`.
    pub async fn configure_async(&self, tenant: &Tenant) -> Result<Session, RunError> {
        let (mut store, events) = self.store(tenant);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| trap(e, store.data()))?;
        let deadline = store.data().deadline;
        let configured = bindings.rest_source_connector_source().call_configure(
            &mut store,
            &tenant.config,
            tenant.checkpoint.as_deref(),
        );
        let configured = within(deadline, configured).await;
        let resources = outcome(configured, store.data())?;
        Ok(Session {
            store,
            bindings,
            events,
            resources,
            executor: None,
        })
    }

    /// [`Plugin::configure_async`] for synchronous callers: the session keeps its own executor.
    pub fn configure(&self, tenant: &Tenant) -> Result<Session, RunError> {
        let executor = executor();
        let mut session = executor.block_on(self.configure_async(tenant))?;
        session.executor = Some(executor);
        Ok(session)
    }
}

impl Session {
    /// The next page, or `None` when every resource is done.
    pub async fn next_page_async(&mut self) -> Result<Option<Page>, RunError> {
        let deadline = self.store.data().deadline;
        let page = self
            .bindings
            .rest_source_connector_source()
            .call_next_page(&mut self.store);
        let page = within(deadline, page).await;
        outcome(page, self.store.data())
    }

    /// The schema as the connector sees it now.
    pub async fn schema_async(&mut self) -> Result<Vec<TableSchema>, RunError> {
        let deadline = self.store.data().deadline;
        let schema = self
            .bindings
            .rest_source_connector_source()
            .call_schema(&mut self.store);
        let schema = within(deadline, schema).await;
        outcome(schema, self.store.data())
    }

    /// [`Session::next_page_async`] for synchronous callers.
    pub fn next_page(&mut self) -> Result<Option<Page>, RunError> {
        let executor = self.executor.take().unwrap_or_else(executor);
        let page = executor.block_on(self.next_page_async());
        self.executor = Some(executor);
        page
    }

    /// [`Session::schema_async`] for synchronous callers.
    pub fn schema(&mut self) -> Result<Vec<TableSchema>, RunError> {
        let executor = self.executor.take().unwrap_or_else(executor);
        let schema = executor.block_on(self.schema_async());
        self.executor = Some(executor);
        schema
    }

    /// The guest's log lines, then its stdout and stderr lines, taken out of the session.
    pub(crate) fn take_logs(&mut self) -> Vec<LogLine> {
        let mut logs = std::mem::take(&mut self.store.data_mut().logs);
        logs.extend(self.store.data().output_lines());
        logs
    }

    /// The guest's log lines so far.
    pub fn logs(&self) -> &[LogLine] {
        &self.store.data().logs
    }

    /// Each outgoing request's origin and whether the policy allowed it.
    pub fn egress_events(&self) -> Vec<EgressEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The guest's largest linear memory so far, in bytes.
    pub fn guest_memory_peak(&self) -> u64 {
        self.store.data().limits.peak() as u64
    }
}

/// A guest call that is abandoned at `deadline` (plus a moment for the epoch interrupt to land first) even when
/// the guest is waiting inside a host call, such as a sleep, where the epoch cannot reach it. An abandoned
/// call reads as an epoch interrupt; the store is not used again.
async fn within<T>(
    deadline: Option<std::time::Instant>,
    call: impl std::future::Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    match deadline {
        Some(at) => {
            let at = at + std::time::Duration::from_millis(1000 / TICKS_PER_SECOND * YIELD_TICKS);
            match tokio::time::timeout_at(at.into(), call).await {
                Ok(result) => result,
                Err(_) => Err(wasmtime::Trap::Interrupt.into()),
            }
        }
        None => call.await,
    }
}

/// The result of a guest call as a run result. A refusal by the host comes first (the connector cannot talk
/// its way past it), then a trap, then the connector's own error.
fn outcome<T>(
    result: wasmtime::Result<Result<T, ConnectorError>>,
    state: &TenantState,
) -> Result<T, RunError> {
    if let Some(refusal) = state.refusals.first() {
        let connector = match &result {
            Ok(Err(e)) => Some(describe(e)),
            _ => None,
        };
        return Err(RunError::Refused { refusal, connector });
    }
    result
        .map_err(|e| trap(e, state))?
        .map_err(RunError::Connector)
}

/// A guest trap as a run error: an epoch interrupt means the time budget ran out mid-call; any other trap
/// carries what the guest wrote to stderr (a panic message, say), secrets masked.
fn trap(e: wasmtime::Error, state: &TenantState) -> RunError {
    match (e.downcast_ref::<wasmtime::Trap>(), state.budget) {
        (Some(wasmtime::Trap::Interrupt), Some(budget)) => RunError::Interrupted {
            seconds: budget.as_secs_f64(),
        },
        _ if full(&state.stdout, state.output_bytes) => RunError::OutputLimit {
            stream: "stdout".into(),
            limit: state.output_bytes,
        },
        _ if full(&state.stderr, state.output_bytes) => RunError::OutputLimit {
            stream: "stderr".into(),
            limit: state.output_bytes,
        },
        _ => {
            let stderr: Vec<String> = state
                .output_lines()
                .into_iter()
                .filter(|l| l.level == "stderr")
                .map(|l| l.message)
                .collect();
            match stderr.is_empty() {
                true => RunError::Trap(format!("{e:#}")),
                false => RunError::Trap(format!("{e:#}\nguest stderr: {}", stderr.join("\n"))),
            }
        }
    }
}

/// Whether a guest's output pipe has no room for another write (guests write up to 4 KiB at a time).
fn full(pipe: &MemoryOutputPipe, limit: usize) -> bool {
    pipe.contents().len() + 4096 > limit
}

/// A single-threaded executor for synchronous callers (its timers and sockets serve one tenant's calls).
pub(crate) fn executor() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds (it starts no thread)")
}

/// Run `f` to completion on a fresh [`executor`]. The synchronous methods that use it (`Runtime::load`,
/// `Plugin::run`, `Plugin::configure`, `Session::next_page`) must not be called from inside an async task; use
/// the `_async` forms there.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    executor().block_on(f)
}
