//! A component compiled and pre-instantiated once, and a fresh store per tenant run.

use super::YIELD_TICKS;
use super::session::{Session, executor, outcome, trap, within};
use super::store::TenantState;
use crate::egress::{EgressEvent, EgressHooks};
use crate::error::RunError;
use crate::sandbox::{MemoryMeter, Refusals};
use crate::tenant::Tenant;
use crate::wit::bindings::ConnectorCorePre;
use std::sync::{Arc, Mutex};
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpCtx;

/// A loaded, pre-instantiated component.
pub struct Plugin {
    pub(super) engine: Engine,
    pub(super) pre: ConnectorCorePre<TenantState>,
    pub(super) imports: Vec<String>,
}

impl Plugin {
    /// The interfaces the component imports, as it names them (`wasi:http/outgoing-handler@0.2.12`, ...).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// Call every export once on a throwaway instance, so that a component built against another version of
    /// the contract is refused at load, not on its first run (typed calls check the signatures).
    pub(super) async fn probe(&self) -> wasmtime::Result<()> {
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
            .with_requests_per_second(tenant.limits.requests_per_second)
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

    /// Instantiate the component for `tenant` in a fresh store and call `configure`, resuming from
    /// `checkpoint` (one the connector returned with a page) when given.
    pub async fn configure_async(
        &self,
        tenant: &Tenant,
        checkpoint: Option<&str>,
    ) -> Result<Session, RunError> {
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
            checkpoint,
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
    pub fn configure(
        &self,
        tenant: &Tenant,
        checkpoint: Option<&str>,
    ) -> Result<Session, RunError> {
        let executor = executor();
        let mut session = executor.block_on(self.configure_async(tenant, checkpoint))?;
        session.executor = Some(executor);
        Ok(session)
    }
}
