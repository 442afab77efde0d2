//! The run's request budget: `client.rate_limit` (extension) and the pauses an API asks for in its headers.
//!
//! `client.rate_limit: {"requests": N, "per_seconds": S}` allows at most N requests in any window of S seconds,
//! which is how APIs count. It is kept as the times of the last N requests: the next may go when the oldest of
//! them is S seconds old. (A token bucket that bursts to N and refills at N/S can send 2N in one window.)
//!
//! Besides, a response that says none are left pauses every request until its reset: `X-RateLimit-Remaining: 0`
//! or `RateLimit-Remaining: 0` with `X-RateLimit-Reset`/`RateLimit-Reset` (seconds from now, or a Unix time when
//! that large, as GitHub's), or the IETF draft's single header, `RateLimit: "name";r=0;t=30` (draft 8 on) or
//! `RateLimit: limit=5, remaining=0, reset=30` (draft 7). A 429 or 503 with `Retry-After` pauses every request,
//! not only the one retried. A pause is capped at the resource's `error_handler.max_delay`.
//!
//! One budget is shared by every request of a run (every lane's, the OAuth2 token request's, and those sent
//! ahead). Pure: the caller passes the time in, and waits come back as the time to wait until.

use crate::request::{HttpRequest, HttpResponse};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The largest `client.rate_limit.requests` accepted (the budget keeps one time per request of a window).
pub const MOST_WINDOW_REQUESTS: u32 = 100_000;

/// The longest `client.rate_limit.per_seconds` accepted: a day.
pub const MOST_WINDOW_SECONDS: f64 = 86_400.0;

/// Requests sent ahead and not asked for yet, kept at most: older ones are forgotten, so a request asked for
/// later is counted twice (never too few).
const MOST_PREPAID: usize = 256;

/// A Unix time in seconds is at least this large; a smaller reset value is seconds from now.
const UNIX_SECONDS_FROM: f64 = 1_000_000_000.0;

/// `client.rate_limit`: at most `requests` in any window of `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window, in milliseconds.
    pub window_ms: u64,
}

/// The budget, shared by a run's engines.
pub type SharedBudget = Arc<Mutex<Budget>>;

/// Who may send when.
#[derive(Debug, Default)]
pub struct Budget {
    limit: Option<RateLimit>,
    /// The monotonic times of the last requests sent, oldest first: at most `limit.requests`.
    sent: VecDeque<u64>,
    /// Requests sent ahead (already counted), until the engine asks for them.
    prepaid: VecDeque<HttpRequest>,
    /// No request before this monotonic time (a pause the API asked for).
    paused_until: u64,
}

/// Why a response paused the budget, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    /// The header that asked for it.
    pub header: &'static str,
    /// Milliseconds paused.
    pub wait_ms: u64,
}

impl Budget {
    /// A budget with `limit` (none: only the API's pauses).
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The budget, ready to share.
    pub fn shared(limit: Option<RateLimit>) -> SharedBudget {
        Arc::new(Mutex::new(Self::new(limit)))
    }

    /// Whether `request` may go at `now_ms`: `None` when it may (it is counted, or it was sent ahead), else the
    /// monotonic time to wait until.
    pub fn admit(&mut self, now_ms: u64, request: &HttpRequest) -> Option<u64> {
        if let Some(i) = self.prepaid.iter().position(|r| r == request) {
            self.prepaid.remove(i);
            return None;
        }
        self.spend(now_ms)
    }

    /// Count a request sent ahead at `now_ms` if the budget allows it now, and remember it as paid; false if it
    /// must not go yet.
    pub fn prepay(&mut self, now_ms: u64, request: &HttpRequest) -> bool {
        if self.spend(now_ms).is_some() {
            return false;
        }
        if self.prepaid.len() >= MOST_PREPAID {
            self.prepaid.pop_front();
        }
        self.prepaid.push_back(request.clone());
        true
    }

    /// Undo [`Budget::prepay`] of `request`, which could not even be sent.
    pub fn unpay(&mut self, request: &HttpRequest) {
        if let Some(i) = self.prepaid.iter().rposition(|r| r == request) {
            self.prepaid.remove(i);
            if self.limit.is_some() {
                self.sent.pop_back();
            }
        }
    }

    /// Forget requests sent ahead that will never be asked for (their lane is done): a request like one of them
    /// asked for later is counted.
    pub fn forget(&mut self, requests: &[HttpRequest]) {
        for request in requests {
            if let Some(i) = self.prepaid.iter().position(|r| r == request) {
                self.prepaid.remove(i);
            }
        }
    }

    /// Count one request at `now_ms`, or say until when it must wait.
    fn spend(&mut self, now_ms: u64) -> Option<u64> {
        if now_ms < self.paused_until {
            return Some(self.paused_until);
        }
        if let Some(limit) = self.limit {
            while self.sent.len() >= limit.requests as usize {
                let free_at = self.sent[0].saturating_add(limit.window_ms);
                if free_at > now_ms {
                    return Some(free_at);
                }
                self.sent.pop_front();
            }
            self.sent.push_back(now_ms);
        }
        None
    }

    /// Read what a response says of the API's own limit (at `now_ms` on the monotonic clock, `unix_ms` on the
    /// wall clock) and pause for at most `cap_ms` when it asks. Returns the pause begun, if any.
    pub fn observe(
        &mut self,
        now_ms: u64,
        unix_ms: u64,
        response: &HttpResponse,
        cap_ms: u64,
    ) -> Option<Pause> {
        let (header, wait_ms) = asked_pause(response, unix_ms)?;
        let wait_ms = wait_ms.min(cap_ms);
        let until = now_ms.saturating_add(wait_ms);
        if until <= self.paused_until || wait_ms == 0 {
            return None;
        }
        self.paused_until = until;
        Some(Pause { header, wait_ms })
    }
}

/// The pause a response asks for, and the header that says so.
fn asked_pause(response: &HttpResponse, unix_ms: u64) -> Option<(&'static str, u64)> {
    if matches!(response.status, 429 | 503)
        && let Some(ms) = response
            .header("retry-after")
            .and_then(|v| crate::retry::parse_retry_after(v, unix_ms))
    {
        return Some(("Retry-After", ms));
    }
    for (remaining, reset) in [
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("ratelimit-remaining", "ratelimit-reset"),
    ] {
        let left = response
            .header(remaining)
            .and_then(|v| v.trim().parse::<f64>().ok());
        if left.is_some_and(|n| n <= 0.0)
            && let Some(ms) = response.header(reset).and_then(|v| reset_ms(v, unix_ms))
        {
            return Some((reset, ms));
        }
    }
    // The IETF draft's one header: `RateLimit: "default";r=0;t=30` (draft 8 on: r is the quota left, t the
    // seconds until more), or `RateLimit: limit=5, remaining=0, reset=30` (draft 7).
    let structured = response.header("ratelimit")?;
    let param = |key: &str| {
        structured
            .split([';', ','])
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim() == key)
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
    };
    if param("r")
        .or_else(|| param("remaining"))
        .is_some_and(|r| r <= 0.0)
    {
        let seconds = param("t")
            .or_else(|| param("reset"))
            .filter(|t| t.is_finite() && *t > 0.0)?;
        return Some(("RateLimit", (seconds * 1000.0) as u64));
    }
    None
}

/// Milliseconds until a reset given as seconds from now or, when that large, as a Unix time in seconds.
fn reset_ms(value: &str, unix_ms: u64) -> Option<u64> {
    let seconds = value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)?;
    if seconds < UNIX_SECONDS_FROM {
        return Some((seconds * 1000.0) as u64);
    }
    let at_ms = (seconds * 1000.0) as u64;
    (at_ms > unix_ms).then(|| at_ms - unix_ms)
}

#[cfg(test)]
mod tests;
