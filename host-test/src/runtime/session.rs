//! A configured connector instance: its calls, each within the tenant's deadline, and how their failures read.

use super::store::TenantState;
use super::{TICKS_PER_SECOND, YIELD_TICKS};
use crate::describe::describe;
use crate::egress::EgressEvent;
use crate::error::RunError;
use crate::summary::LogLine;
use crate::wit::bindings::ConnectorCore;
use crate::wit::{ConnectorError, Page, ResourceInfo, TableSchema};
use std::sync::{Arc, Mutex};
use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// A configured connector instance, inside its tenant's store.
pub struct Session {
    pub(super) store: Store<TenantState>,
    pub(super) bindings: ConnectorCore,
    pub(super) events: Arc<Mutex<Vec<EgressEvent>>>,
    /// The resources the config declares, in run order.
    pub resources: Vec<ResourceInfo>,
    /// The executor of the synchronous methods (made on first use).
    pub(super) executor: Option<tokio::runtime::Runtime>,
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
        let state = self.store.data();
        // A request over the allowance gets no data, so a page the connector made from requests within it is
        // stored: a connector sends its next request while the host stores the page before it, and that
        // request may be the one refused. The refusal ends the run at the next call. Any other refusal
        // discards the call's page.
        match page {
            Ok(Ok(Some(page))) if state.refusals.only_over_allowance() => Ok(Some(page)),
            page => outcome(page, state),
        }
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
pub(super) async fn within<T>(
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
pub(super) fn outcome<T>(
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
pub(super) fn trap(e: wasmtime::Error, state: &TenantState) -> RunError {
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
