//! The engine's side of the run's request budget ([`crate::budget`]): every request it sends is admitted by
//! the budget first, and every response is read for the pauses the API asks for.

use super::{Engine, Exchange, Now};
use crate::budget::{Budget, SharedBudget};
use crate::request::HttpRequest;
use std::sync::MutexGuard;

impl Engine {
    /// The run's request budget: requests sent ahead are paid from it ([`Budget::prepay`]).
    pub fn budget(&self) -> SharedBudget {
        self.budget.clone()
    }

    /// Use `budget` (another lane's) instead of this engine's own, so that every lane draws on one.
    pub fn share_budget(&mut self, budget: SharedBudget) {
        self.budget = budget;
    }

    /// Pay for a request listed by [`Engine::ahead`] and sent now; false if the budget does not allow it yet.
    pub fn prepay(&self, now: Now, request: &HttpRequest) -> bool {
        lock(&self.budget).prepay(now.monotonic_ms, request)
    }

    /// Undo [`Engine::prepay`] for a request that could not even be sent.
    pub fn unpay(&self, request: &HttpRequest) {
        lock(&self.budget).unpay(request);
    }

    /// Forget requests paid ahead that will never be asked for (their lane is done).
    pub fn forget_prepaid(&self, requests: &[HttpRequest]) {
        lock(&self.budget).forget(requests);
    }

    /// `None` if `exchange`'s request may go now (it is counted), else the time to wait until.
    pub(super) fn budget_wait(&mut self, now: Now, exchange: &Exchange) -> Option<u64> {
        let until_ms = lock(&self.budget).admit(now.monotonic_ms, &exchange.request)?;
        if let Some(limit) = self.config.rate_limit {
            let resource = self.frames[exchange.frame].resource;
            let note = format!(
                "resource `{}`: client.rate_limit allows {} requests per {} ms; requests are spaced to keep \
                 within it (said once per resource)",
                self.config.resources[resource].name, limit.requests, limit.window_ms
            );
            self.note_once(resource, "rate_limit", note);
        }
        Some(until_ms)
    }

    /// Read a response for the pauses the API asks for (no request of the run goes before the pause is over).
    pub(super) fn observe_limits(&mut self, now: Now, response: &crate::request::HttpResponse) {
        let Some(frame) = self.exchange_frame() else {
            return;
        };
        let cap_ms = (self.policy(frame).max_delay_s.max(0.0) * 1000.0) as u64;
        let pause = lock(&self.budget).observe(now.monotonic_ms, now.unix_ms, response, cap_ms);
        if let Some(pause) = pause {
            let note = format!(
                "resource `{}`: the API asked for a pause ({}); no request goes for {} ms",
                self.resource_of(frame).name,
                pause.header,
                pause.wait_ms
            );
            self.notes.push(note);
        }
    }

    /// The frame of the request in flight.
    fn exchange_frame(&self) -> Option<usize> {
        match &self.phase {
            super::Phase::InFlight(x) => Some(x.frame),
            _ => None,
        }
    }
}

/// The budget, locked. A poisoned lock (a panic elsewhere while it was held) still holds a consistent budget:
/// every change to it is a single step.
fn lock(budget: &SharedBudget) -> MutexGuard<'_, Budget> {
    budget.lock().unwrap_or_else(|e| e.into_inner())
}
