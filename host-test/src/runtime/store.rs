//! One tenant's store: its WASI and wasi:http contexts, egress hooks, memory meter, secrets and log lines, and
//! the connector's imports (secrets, logging) implemented over them.

use crate::egress::EgressHooks;
use crate::sandbox::{MemoryMeter, Refusal, Refusals};
use crate::secrets::SecretStore;
use crate::summary::LogLine;
use crate::wit::Level;
use crate::wit::bindings;
use bindings::rest_source::connector::secrets::SecretError;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// The state of one tenant's store.
pub(super) struct TenantState {
    pub(super) tenant: String,
    pub(super) budget: Option<std::time::Duration>,
    /// Budget plus grace from the store's creation: past it, guest calls are interrupted or abandoned.
    pub(super) deadline: Option<std::time::Instant>,
    pub(super) stdout: MemoryOutputPipe,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) hooks: EgressHooks,
    pub(super) limits: MemoryMeter,
    pub(super) secrets: SecretStore,
    pub(super) refusals: Refusals,
    pub(super) output_bytes: usize,
    pub(super) logs: Vec<LogLine>,
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
    pub(super) fn mask(&self, message: String) -> String {
        let mut masked = message;
        for value in self.secrets.values().filter(|v| !v.is_empty()) {
            masked = masked.replace(value, "***");
        }
        masked
    }

    /// What the guest wrote to stdout and stderr (capped at the tenant's output limit), one log line per
    /// line, level `stdout` or `stderr`, secrets masked.
    pub(super) fn output_lines(&self) -> Vec<LogLine> {
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
