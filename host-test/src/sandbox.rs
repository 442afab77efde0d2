//! What contains one tenant run: its limits, and the host's refusals that end it.
//!
//! Where each limit is enforced:
//!
//! | limit | enforced in |
//! |---|---|
//! | `memory_bytes` | the store's limiter, [`MemoryMeter`] (set up in `runtime/plugin.rs`, `Plugin::store`) |
//! | `time_budget` | `runtime/run.rs`, after every page (a clean stop at a page boundary) |
//! | `grace` | the epoch deadline callback (`runtime/plugin.rs`) and `within` around every guest call (`runtime/session.rs`); the sender's deadline (`egress/send.rs`) |
//! | `output_bytes` | the capped stdout/stderr pipes (`runtime/plugin.rs`), read back as `OutputLimit` in `runtime/session.rs` |
//! | `max_requests` | the egress hook (`egress/hooks.rs`, `EgressHooks::check`) |
//! | `requests_per_second` | the egress hook (`egress/hooks.rs`, `Spacing`): each request starts at least 1/N s after the last |
//! | `response_bytes` | the sender's shared byte budget (`egress/send.rs`, `ResponseBudget`) |
//! | `page_bytes` | `runtime/run.rs`, before a page is written |
//! | secrets | the secrets import (`runtime/store.rs`): a name the tenant lacks is a [`Refusal::Secret`] |
//! | egress | the policy (`egress/mod.rs`, `EgressPolicy::check` and the address check) in the hook |

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limits of one tenant run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest linear memory the guest may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of a run, waits before retries included. It is checked after every page, so a run
    /// stops cleanly at a page boundary; a page still in progress may overrun it by at most `grace`.
    pub time_budget: Option<Duration>,
    /// How long past `time_budget` a guest that has not reached a page boundary may run before it is
    /// interrupted (its calls trap, its requests in flight are cut off). The stored pages stay committed.
    pub grace: Duration,
    /// Bytes the guest may write to each of stdout and stderr; writing more fails (and stops the guest).
    pub output_bytes: usize,
    /// Requests a run may send; more are refused and end the run.
    pub max_requests: Option<u64>,
    /// Requests a run may start per second: each starts at least `1 / n` seconds after the one before (the
    /// connector sees a slower API; its own `client.rate_limit` is within the tenant's).
    pub requests_per_second: Option<f64>,
    /// Response body bytes a run may receive in all; past it the body fails and the run ends.
    pub response_bytes: Option<u64>,
    /// The largest page (its JSON Lines records) the host accepts; a larger one ends the run.
    pub page_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 512 * 1024 * 1024,
            time_budget: None,
            grace: Duration::from_secs(5),
            output_bytes: 1024 * 1024,
            max_requests: None,
            requests_per_second: None,
            response_bytes: None,
            page_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A store's resource limiter: wasmtime's [`wasmtime::StoreLimits`] (the memory cap of [`Limits`]), and the
/// largest linear memory the guest has grown to.
pub struct MemoryMeter {
    limits: wasmtime::StoreLimits,
    peak: usize,
}

impl MemoryMeter {
    /// A meter enforcing `limits`.
    pub fn new(limits: wasmtime::StoreLimits) -> Self {
        Self { limits, peak: 0 }
    }

    /// The largest size, in bytes, any of the guest's linear memories was allowed to reach.
    pub fn peak(&self) -> usize {
        self.peak
    }
}

impl wasmtime::ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.peak = self.peak.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Something the host refused a tenant's connector. The first refusal ends the run, whatever the connector
/// makes of it, so a guest cannot keep probing after being told no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A request to an origin outside the tenant's allowance, or to a name resolving to a blocked address.
    #[error("egress to {origin} refused: {reason}")]
    Egress {
        /// The origin asked for (`scheme://host:port`).
        origin: String,
        /// Why.
        reason: String,
    },
    /// A secret the tenant was not given.
    #[error("secret `{name}` is not among this tenant's secrets")]
    Secret {
        /// The name asked for.
        name: String,
    },
    /// The request allowance is used up.
    #[error("the run's allowance of {max} requests is used up")]
    Requests {
        /// The allowance.
        max: u64,
    },
    /// The response bytes allowance is used up.
    #[error("the run's allowance of {limit} response bytes is used up")]
    ResponseBytes {
        /// The allowance.
        limit: u64,
    },
}

/// The first refusal of a run, shared by the store's parts that can refuse (egress hook, secrets).
#[derive(Debug, Clone, Default)]
pub struct Refusals(Arc<Mutex<Kept>>);

/// The first refusal, and whether any refusal was other than the request allowance's.
#[derive(Debug, Default)]
struct Kept {
    first: Option<Refusal>,
    beyond_allowance: bool,
}

impl Refusals {
    /// Keep `refusal` unless an earlier one is kept.
    pub fn record(&self, refusal: Refusal) {
        if let Ok(mut kept) = self.0.lock() {
            kept.beyond_allowance |= !matches!(refusal, Refusal::Requests { .. });
            kept.first.get_or_insert(refusal);
        }
    }

    /// The first refusal, if any.
    pub fn first(&self) -> Option<Refusal> {
        self.0.lock().ok().and_then(|k| k.first.clone())
    }

    /// Whether every refusal so far was of a request over the allowance (true when there was none).
    pub fn only_over_allowance(&self) -> bool {
        self.0.lock().is_ok_and(|k| !k.beyond_allowance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_refusal_is_kept() {
        let refusals = Refusals::default();
        assert_eq!(refusals.first(), None);
        refusals.record(Refusal::Requests { max: 2 });
        assert!(refusals.only_over_allowance());
        refusals
            .clone()
            .record(Refusal::Secret { name: "x".into() });
        assert_eq!(refusals.first(), Some(Refusal::Requests { max: 2 }));
        assert!(!refusals.only_over_allowance(), "the later refusal counts");
    }
}
