//! The `wasi:http` hook of one tenant's store: the policy's check, the request allowance, name resolution to
//! allowed addresses only, then the sender.

use super::send::{ConnectionPool, ResponseBudget, SendResult, Target};
use super::{EgressEvent, EgressPolicy, Origin, Unreachable, is_internal_ip};
use crate::sandbox::{Refusal, Refusals};
use std::future::Future;
use std::sync::{Arc, Mutex};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// Where a tenant's egress decisions go: its event list and its refusals.
#[derive(Clone)]
struct Recorder {
    tenant: String,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    refusals: Refusals,
}

impl Recorder {
    fn allow(&self, origin: &str) {
        self.push(origin, None);
    }

    fn deny(&self, origin: &str, refusal: Refusal) {
        let reason = match &refusal {
            Refusal::Egress { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        tracing::warn!(tenant = %self.tenant, %origin, %reason, "egress refused");
        self.push(origin, Some(reason));
        self.refusals.record(refusal);
    }

    fn push(&self, origin: &str, reason: Option<String>) {
        if let Ok(mut events) = self.events.lock() {
            events.push(EgressEvent {
                tenant: self.tenant.clone(),
                origin: origin.to_string(),
                allowed: reason.is_none(),
                reason,
            });
        }
    }
}

/// The `wasi:http` hooks of one tenant's store.
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    recorder: Recorder,
    deadline: Option<std::time::Instant>,
    max_requests: Option<u64>,
    sent: u64,
    /// `requests_per_second`: when the next request may start.
    spacing: Option<Spacing>,
    budget: Arc<ResponseBudget>,
    pool: Arc<ConnectionPool>,
    /// The TLS configuration of `policy.tls`, built once per run.
    tls: Result<Arc<rustls::ClientConfig>, String>,
}

impl EgressHooks {
    /// Hooks enforcing `policy` for `tenant`, recording each decision into `events` and the first refusal into
    /// `refusals`.
    pub fn new(
        tenant: &str,
        policy: Arc<EgressPolicy>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
        refusals: Refusals,
    ) -> Self {
        let tls = policy.tls.client_config().map_err(|e| e.to_string());
        Self {
            policy,
            tls,
            recorder: Recorder {
                tenant: tenant.to_string(),
                events,
                refusals,
            },
            deadline: None,
            max_requests: None,
            sent: 0,
            spacing: None,
            budget: Arc::new(ResponseBudget::new(None, Refusals::default())),
            pool: Arc::default(),
        }
    }

    /// Requests still in flight at `deadline` fail with a timeout, so a slow API cannot hold the run past
    /// its time budget.
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// At most `max` requests are sent; the next one is refused.
    pub fn with_max_requests(mut self, max: Option<u64>) -> Self {
        self.max_requests = max;
        self
    }

    /// Each request starts at least `1 / per_second` seconds after the one before.
    pub fn with_requests_per_second(mut self, per_second: Option<f64>) -> Self {
        self.spacing = per_second.map(Spacing::new);
        self
    }

    /// At most `limit` response body bytes are received in all; past it the body fails and the run ends.
    pub fn with_response_bytes(mut self, limit: Option<u64>) -> Self {
        self.budget = Arc::new(ResponseBudget::new(limit, self.recorder.refusals.clone()));
        self
    }

    /// Every check that needs no name resolution: the origin, then the request allowance.
    fn check(&mut self, origin: Option<&Origin>) -> Result<(), Refusal> {
        let refused = |origin: String, reason: String| Refusal::Egress { origin, reason };
        let Some(origin) = origin else {
            return Err(refused(
                "(none)".into(),
                "not an absolute http(s) URL".into(),
            ));
        };
        self.policy
            .check(origin)
            .map_err(|denial| refused(origin.to_string(), denial.to_string()))?;
        if let Some(max) = self.max_requests.filter(|max| self.sent >= *max) {
            return Err(Refusal::Requests { max });
        }
        self.sent += 1;
        Ok(())
    }
}

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let origin = Origin::of_uri(request.uri());
        let shown = origin
            .as_ref()
            .map_or_else(|| request.uri().to_string(), ToString::to_string);
        if let Err(refusal) = self.check(origin.as_ref()) {
            self.recorder.deny(&shown, refusal);
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let Some(origin) = origin else {
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        let (policy, recorder, budget, pool, tls) = (
            self.policy.clone(),
            self.recorder.clone(),
            self.budget.clone(),
            self.pool.clone(),
            self.tls.clone(),
        );
        let deadline = self.deadline;
        let now = std::time::Instant::now();
        let start_at = self.spacing.as_mut().map(|s| s.next_start(now));
        Box::new(async move {
            if let Some(at) = start_at {
                tokio::time::sleep_until(at.into()).await;
            }
            let mapped = policy
                .connect_to
                .iter()
                .find(|(from, _)| *from == origin)
                .map(|(_, to)| to.clone());
            let to = mapped.as_ref().unwrap_or(&origin);
            // `no_proxy` names the API as the config does (or the `connect_to` target).
            let proxy = policy
                .proxy
                .for_target(&to.scheme, &to.host)
                .filter(|_| policy.proxy.for_target(&to.scheme, &origin.host).is_some());
            let addrs = match policy.addresses(to, mapped.is_some()).await {
                Ok(addrs) => addrs,
                Err(Unreachable::Denied(reason)) => {
                    let refusal = Refusal::Egress {
                        origin: shown.clone(),
                        reason,
                    };
                    recorder.deny(&shown, refusal);
                    return Err(HttpError::HttpRequestDenied);
                }
                // A name the host cannot resolve cannot be checked, so it is not sent to a proxy either.
                Err(Unreachable::Dns(e)) => return Err(e),
            };
            // An internal address the operator allowed is the host's own network: reached directly, not
            // through the proxy, whose network it is not (unless the operator's `connect_to` sent it there).
            let proxy =
                proxy.filter(|_| mapped.is_some() || addrs.iter().all(|a| !is_internal_ip(a.ip())));
            let (addrs, via) = match proxy {
                None => (addrs, None),
                Some(p) => {
                    let found = tokio::net::lookup_host((p.host.as_str(), p.port)).await;
                    let proxy_addrs = found.map_err(|e| HttpError::DnsError {
                        rcode: Some(format!("proxy {}: {e}", p.authority())),
                        info_code: None,
                    })?;
                    // The proxy is sent to the address checked here, not the name, so it cannot resolve the
                    // name to another (internal) address: rebinding and pinned names hold through it too.
                    let checked = addrs
                        .first()
                        .copied()
                        .ok_or(HttpError::DestinationNotFound)?;
                    let via = super::send::Via {
                        proxy: p.authority(),
                        authorization: p.authorization.clone(),
                        target: checked.to_string(),
                    };
                    (proxy_addrs.collect(), Some(via))
                }
            };
            recorder.allow(&shown);
            // TLS verifies the name the config asked for, wherever `connect_to` sends the connection.
            let target = Target {
                addrs,
                tls_name: (to.scheme == "https").then(|| origin.host.clone()),
                tls,
                via,
            };
            super::send::send(request, target, options, budget, deadline, pool).await
        })
    }
}

/// The tenant's `requests_per_second`: each request starts at least the interval after the one before. Requests
/// are spaced, never bursted, so no window of a second holds more than the rate (a request waits in the host,
/// and the connector sees a slower answer).
struct Spacing {
    interval: std::time::Duration,
    next: Option<std::time::Instant>,
}

impl Spacing {
    fn new(per_second: f64) -> Self {
        Self {
            interval: std::time::Duration::from_secs_f64(1.0 / per_second),
            next: None,
        }
    }

    /// The time the request being sent at `now` may start, which holds the next one back by the interval.
    fn next_start(&mut self, now: std::time::Instant) -> std::time::Instant {
        let at = self.next.map_or(now, |next| next.max(now));
        self.next = Some(at + self.interval);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::Spacing;
    use std::time::{Duration, Instant};

    #[test]
    fn requests_start_an_interval_apart_and_a_quiet_spell_earns_no_burst() {
        let mut spacing = Spacing::new(4.0);
        let t0 = Instant::now();
        let starts: Vec<_> = (0..5).map(|_| spacing.next_start(t0)).collect();
        for pair in starts.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(250));
        }
        assert_eq!(starts[0], t0, "the first goes at once");
        let later = t0 + Duration::from_secs(10);
        let (a, b) = (spacing.next_start(later), spacing.next_start(later));
        assert_eq!(a, later);
        assert_eq!(
            b - a,
            Duration::from_millis(250),
            "no credit for the quiet spell"
        );
    }
}
