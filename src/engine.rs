//! The sans-IO engine: asked "what next?", it answers send this request, sleep until then, here is a page, or
//! done; it is fed responses, transport errors and the time. It never does I/O and never reads a clock.
//!
//! # Phases
//!
//! [`Engine::poll`] answers with a [`Step`] from the phase the engine is in; [`Engine::on_response`],
//! [`Engine::on_transport_error`] and [`Engine::on_unusable`] settle the request in flight.
//!
//! ```text
//!                  poll: Step::Send (a token, page or replay request)
//!          +------+ ----------------------------------------------> +----------+
//!   new -> | Idle |                                                 | InFlight |
//!          +------+ <---------------------------------------------- +----------+
//!           | ^  |   on_response: token held, page ready, parent page    |    ^
//!   poll:   +-+  |   replayed, 401 (token dropped) or response ignored   |    |
//!   Step::Page   |                                                       |    | poll at or after until_ms:
//!   (if ready)   |                  retry (status or transport           v    | Step::Send (the same request,
//!                |                  error) or redirect hop          +---------+  or the redirect's next hop)
//!                |                                                  | Waiting |--+
//!                v                                                  +---------+<-+ poll before until_ms:
//!   poll: Step::Done (no frame left)                                               Step::Sleep
//! ```
//!
//! A failure ends the run: the call that meets it and every later [`Engine::poll`] return the error.
//!
//! # Frames
//!
//! In `Idle` the next request comes from a stack of frames (`frames.rs`), one per resource being paged: a root
//! resource and, below a parent page with records, one frame per parent record and child resource, each with
//! fresh paginator state (dlt §8). For posts with comments:
//!
//! ```text
//!   []                    push the next wanted root resource, or Step::Done when none is left
//!   [posts]               a page of posts: its records wait for their children
//!   [posts, comments#1]   the comments of post 1, paged until done, then popped
//!   [posts, comments#2]   the comments of post 2, and so on
//!   [posts]               the next page of posts, or popped once posts is done
//! ```
//!
//! Each page's checkpoint holds the frames. A resumed run rebuilds the stack, and a frame that was in the middle
//! of its children's records fetches its page again first (a replay: the records are not stored again).

mod ahead;
mod frames;
mod guard;
mod lane;
mod pacing;
mod raw_page;
mod redirect;
mod request;
mod token;
mod windows;

use crate::budget::{Budget, SharedBudget};
use crate::checkpoint::Checkpoint;
use crate::config::{self, Resource, SourceConfig};
use crate::error::{Error, scrub_text};
use crate::incremental::CursorState;
use crate::request::{HttpRequest, HttpResponse};
use crate::retry::RetryPolicy;
use crate::schema::TableSchema;
use frames::Frame;
use serde_json::Value;
use token::Token;

/// The time, as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    /// A monotonic clock, in milliseconds (for waits and token expiry).
    pub monotonic_ms: u64,
    /// The wall clock, in milliseconds since the Unix epoch (for HTTP-date `Retry-After`).
    pub unix_ms: u64,
}

/// One page of one resource, with the checkpoint that is true once its records are stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// Resource name.
    pub resource: String,
    /// Records as JSON Lines.
    pub records: Vec<u8>,
    /// Number of records.
    pub record_count: u32,
    /// Checkpoint JSON.
    pub checkpoint: String,
    /// What this page's records changed in the resource's inferred schema.
    pub schema_changes: Vec<crate::schema::Change>,
}

/// What the engine wants done next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this request, then call [`Engine::on_response`] or [`Engine::on_transport_error`].
    Send(HttpRequest),
    /// Wait until the monotonic clock reads this many milliseconds, then poll again.
    Sleep {
        /// Monotonic deadline in milliseconds.
        until_ms: u64,
    },
    /// A page is ready.
    Page(Page),
    /// Every resource is done.
    Done,
}

/// What an exchange is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The OAuth2 token request.
    Token,
    /// A page of the frame's resource.
    Page,
    /// Re-fetching a parent page on resume, to get back the records its children are fetched for.
    Replay,
}

#[derive(Debug, Clone)]
struct Exchange {
    purpose: Purpose,
    /// The frame (index in the stack) the request is for.
    frame: usize,
    request: HttpRequest,
    attempts: u32,
    /// The requests made before this one in its chain of redirects, first to last.
    hops: Vec<HttpRequest>,
}

#[derive(Debug, Clone)]
enum Phase {
    Idle,
    InFlight(Exchange),
    Waiting { until_ms: u64, exchange: Exchange },
}

/// The connector's whole state.
pub struct Engine {
    config: SourceConfig,
    secrets: Vec<String>,
    fingerprint: String,
    /// The resources being paged: a root, then a child per level of parent record being fanned out.
    frames: Vec<Frame>,
    /// Where to look for the next root resource once the frames are done.
    next_root: usize,
    /// Per resource: rows are stored, or it feeds a resource whose rows are.
    wanted: Vec<bool>,
    /// Per resource with incremental loading: its cursor for this run.
    cursors: Vec<Option<CursorState>>,
    /// The OAuth2 token in use.
    token: Option<Token>,
    /// A token was just fetched and not used yet.
    token_fresh: bool,
    /// The token was dropped after a 401 and no page has succeeded since.
    refreshed: bool,
    phase: Phase,
    ready: Option<Page>,
    failed: Option<Error>,
    schemas: Vec<TableSchema>,
    /// Log lines for the host, drained by [`Engine::take_notes`].
    notes: Vec<String>,
    /// Notes said once per resource, by resource and topic.
    said: Vec<(usize, &'static str)>,
    /// The run's request budget (`client.rate_limit` and the API's pauses), shared with the other lanes.
    budget: SharedBudget,
    /// The time given by the last call (a window that ends "now" ends there).
    clock: Now,
}

impl Engine {
    /// Build an engine from config JSON text whose secret references were replaced by `secrets`' values.
    ///
    /// `config_as_written` is the text before substitution (it fingerprints checkpoints); `checkpoint` resumes.
    pub fn new(
        config_as_written: &str,
        config: &Value,
        secrets: Vec<String>,
        checkpoint: Option<&str>,
    ) -> Result<Self, Error> {
        let parsed = config::parse_with_secrets(config, &secrets).map_err(|e| e.scrub(&secrets))?;
        let auths = parsed
            .resources
            .iter()
            .filter_map(|r| r.endpoint.auth.as_ref());
        let secrets = crate::auth::with_derived(secrets, auths);
        let scrub = |e: Error| e.scrub(&secrets);
        let fingerprint = crate::hash::fingerprint(config_as_written);
        let parsed_rate_limit = parsed.rate_limit;
        let loaded = match checkpoint {
            Some(text) => Some(Checkpoint::load(text, &parsed, &fingerprint).map_err(scrub)?),
            None => None,
        };
        let cursors = bind_cursors(&parsed, loaded.as_ref().map(|(cp, _)| cp)).map_err(scrub)?;
        let schemas = schemas(&parsed, loaded.as_ref().map(|(cp, _)| cp));
        let (frames, next_root) = match loaded {
            Some((cp, detected)) if !cp.complete => (frames::restore(&cp, detected), cp.next_root),
            _ => (Vec::new(), 0),
        };
        Ok(Self {
            schemas,
            wanted: wanted(&parsed),
            cursors,
            config: parsed,
            secrets,
            fingerprint,
            frames,
            next_root,
            token: None,
            token_fresh: false,
            refreshed: false,
            phase: Phase::Idle,
            ready: None,
            failed: None,
            notes: Vec::new(),
            said: Vec::new(),
            budget: Budget::shared(parsed_rate_limit),
            clock: Now::default(),
        })
    }

    /// The resources, in config order.
    pub fn resources(&self) -> &[Resource] {
        &self.config.resources
    }

    /// The most requests of `parallelized` resources in flight at once (`client.concurrency`).
    pub fn concurrency(&self) -> usize {
        self.config.concurrency as usize
    }

    /// Table schemas: declared hints merged with the records seen so far.
    pub fn schemas(&self) -> &[TableSchema] {
        &self.schemas
    }

    /// The values to mask in any text that leaves the engine: the config's secrets and the current token.
    pub fn masks(&self) -> Vec<String> {
        let mut masks = self.secrets.clone();
        masks.extend(self.token.as_ref().map(|t| t.access_token.clone()));
        masks
    }

    /// Lines for the host's log (retries and waits) since the last call. They hold no secret value.
    pub fn take_notes(&mut self) -> Vec<String> {
        let masks = self.masks();
        std::mem::take(&mut self.notes)
            .into_iter()
            .map(|n| crate::error::elide(&scrub_text(&n, &masks), crate::error::MOST_TEXT_CHARS))
            .collect()
    }

    /// What to do next. After a failure every call returns the same error.
    pub fn poll(&mut self, now: Now) -> Result<Step, Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.clock = now;
        if let Some(page) = self.ready.take() {
            return Ok(Step::Page(page));
        }
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::InFlight(_) => self.fail(Error::Internal(
                "poll called while a request is in flight".into(),
            )),
            Phase::Waiting { until_ms, exchange } if now.monotonic_ms < until_ms => {
                self.phase = Phase::Waiting { until_ms, exchange };
                Ok(Step::Sleep { until_ms })
            }
            Phase::Waiting { exchange, .. } => Ok(self.send(now, exchange)),
            Phase::Idle => self.next_exchange(now),
        }
    }

    fn next_exchange(&mut self, now: Now) -> Result<Step, Error> {
        let next = match self.next_frame() {
            Ok(next) => next,
            Err(e) => return self.fail(e),
        };
        let Some((frame, purpose)) = next else {
            return Ok(Step::Done);
        };
        if let Some(request) = self.token_request(frame, now) {
            return Ok(self.send(
                now,
                Exchange {
                    purpose: Purpose::Token,
                    frame,
                    request,
                    attempts: 0,
                    hops: Vec::new(),
                },
            ));
        }
        let request = match self.page_request(frame, purpose == Purpose::Replay) {
            Ok(r) => r,
            Err(e) => return self.fail(e),
        };
        Ok(self.send(
            now,
            Exchange {
                purpose,
                frame,
                request,
                attempts: 0,
                hops: Vec::new(),
            },
        ))
    }

    /// Send `exchange` now, or wait (in `Waiting`) until the budget lets it go.
    fn send(&mut self, now: Now, mut exchange: Exchange) -> Step {
        self.dress(self.frames[exchange.frame].resource, &mut exchange.request);
        if let Some(until_ms) = self.budget_wait(now, &exchange) {
            self.phase = Phase::Waiting { until_ms, exchange };
            return Step::Sleep { until_ms };
        }
        let request = exchange.request.clone();
        self.phase = Phase::InFlight(exchange);
        Step::Send(request)
    }

    /// Set the limits a request of resource `index` is read with.
    fn dress(&self, index: usize, request: &mut HttpRequest) {
        request.max_response_bytes = self.config.limits.max_bytes;
        request.low_speed_limit = self.config.resources[index].endpoint.retry.low_speed_limit;
    }

    /// The response to the request in flight cannot be used at all (for example its body is over the size
    /// limit). Not retried.
    pub fn on_unusable(&mut self, message: &str) -> Result<(), Error> {
        let Phase::InFlight(exchange) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return self.fail(Error::Internal(
                "an outcome arrived with no request in flight".into(),
            ));
        };
        let error = Error::BadResponse {
            resource: self.exchange_name(&exchange),
            url: self.redact(exchange.frame, &exchange.request.url),
            message: message.to_string(),
        };
        self.fail(error)
    }

    /// Feed the response to the request last sent.
    pub fn on_response(&mut self, now: Now, mut response: HttpResponse) -> Result<(), Error> {
        self.observe_limits(now, &response);
        // A UTF-8 byte order mark is not JSON, but some APIs send one (Python's requests drops it too).
        if response.body.starts_with(b"\xEF\xBB\xBF") {
            response.body.drain(..3);
        }
        if let Phase::InFlight(x) = &self.phase
            && x.purpose == Purpose::Page
            && self.ignores(x.frame, &response)
        {
            let frame = x.frame;
            self.phase = Phase::Idle;
            return self.ignore(frame);
        }
        if self.refresh_on_401(&response) {
            return Ok(());
        }
        if let Some(followed) = self.follow_redirect(&response) {
            return followed;
        }
        let retryable = self
            .policy_of(&self.phase)
            .is_some_and(|p| p.retries_status(response.status));
        let what = format!("status {}", response.status);
        let Some((exchange, attempts)) =
            self.settle(now, retryable, response.header("retry-after"), &what)?
        else {
            return Ok(());
        };
        if response.status >= 300 {
            return self.fail(self.status_error(&exchange, attempts, &response));
        }
        let usable = response.check_coding();
        if let Err(message) = usable.and_then(|()| self.config.limits.check(&response.body)) {
            return self.fail(self.bad(&exchange, message));
        }
        match exchange.purpose {
            Purpose::Token => self.take_token(now, &exchange, &response),
            Purpose::Page => self.take_page(&exchange, &response),
            Purpose::Replay => self.take_replay(&exchange, &response),
        }
    }

    /// Feed a failure to get any response (connection refused, timeout, reset). `retryable` is false for
    /// failures that repeating cannot fix, such as a request the host's egress policy denied.
    pub fn on_transport_error(
        &mut self,
        now: Now,
        message: &str,
        retryable: bool,
    ) -> Result<(), Error> {
        let Some((exchange, attempts)) = self.settle(now, retryable, None, message)? else {
            return Ok(());
        };
        let error = Error::Http {
            resource: self.exchange_name(&exchange),
            url: self.redact(exchange.frame, &exchange.request.url),
            status: None,
            attempts,
            message: message.to_string(),
        };
        self.fail(error)
    }

    /// Count the attempt of the request in flight. When it may be retried and attempts remain, schedule the
    /// retry (`Retry-After` first, else backoff) and return `None`; otherwise return it for the caller to handle.
    fn settle(
        &mut self,
        now: Now,
        retryable: bool,
        retry_after: Option<&str>,
        what: &str,
    ) -> Result<Option<(Exchange, u32)>, Error> {
        let Phase::InFlight(exchange) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return self.fail(Error::Internal(
                "an outcome arrived with no request in flight".into(),
            ));
        };
        let attempts = exchange.attempts + 1;
        let policy = self.policy(exchange.frame);
        if retryable && attempts < policy.max_attempts {
            let wait_ms = policy.delay_ms(attempts, retry_after, now.unix_ms);
            let until_ms = now.monotonic_ms.saturating_add(wait_ms);
            let note = format!(
                "resource `{}`: {what} from {} (attempt {attempts} of {}); retrying in {wait_ms} ms",
                self.exchange_name(&exchange),
                self.redact(exchange.frame, &exchange.request.url),
                policy.max_attempts
            );
            self.notes.push(note);
            self.phase = Phase::Waiting {
                until_ms,
                exchange: Exchange {
                    attempts,
                    ..exchange
                },
            };
            return Ok(None);
        }
        Ok(Some((exchange, attempts)))
    }

    fn resource_of(&self, frame: usize) -> &Resource {
        &self.config.resources[self.frames[frame].resource]
    }

    fn policy(&self, frame: usize) -> &RetryPolicy {
        &self.resource_of(frame).endpoint.retry
    }

    fn policy_of(&self, phase: &Phase) -> Option<&RetryPolicy> {
        match phase {
            Phase::InFlight(x) => Some(self.policy(x.frame)),
            _ => None,
        }
    }

    fn exchange_name(&self, exchange: &Exchange) -> String {
        let name = &self.resource_of(exchange.frame).name;
        match exchange.purpose {
            Purpose::Token => format!("{name} (oauth2 token)"),
            Purpose::Page | Purpose::Replay => name.clone(),
        }
    }

    fn status_error(&self, exchange: &Exchange, attempts: u32, response: &HttpResponse) -> Error {
        let url = self.redact(exchange.frame, &exchange.request.url);
        let status = response.status;
        let resource = self.exchange_name(exchange);
        if (300..400).contains(&status) {
            let target = response
                .header("location")
                .map(|l| self.redact(exchange.frame, l))
                .unwrap_or_default();
            let message = match target.is_empty() {
                true => format!("status {status}: a redirect without a Location"),
                false => format!(
                    "status {status} is not a redirect that is followed (Location: {target})"
                ),
            };
            return Error::BadResponse {
                resource,
                url,
                message,
            };
        }
        let kind = if status < 500 {
            "Client Error"
        } else {
            "Server Error"
        };
        let mut message = format!("{status} {kind}: {}", crate::status::reason(status));
        if let Some(start) = crate::status::excerpt(&response.body) {
            message.push_str(&format!("; the response began: {start}"));
        }
        if exchange.purpose == Purpose::Token && (400..500).contains(&status) && status != 429 {
            return Error::Auth {
                resource,
                url,
                message,
            };
        }
        Error::Http {
            resource,
            url,
            status: Some(status),
            attempts,
            message,
        }
    }

    fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        let error = error.scrub(&self.masks());
        self.failed = Some(error.clone());
        self.phase = Phase::Idle;
        Err(error)
    }
}

/// Each incremental resource's cursor: from a checkpoint of an unfinished run as it was; from a finished run's
/// checkpoint, continued (lag applied); else from `initial_value`.
fn bind_cursors(
    config: &SourceConfig,
    checkpoint: Option<&Checkpoint>,
) -> Result<Vec<Option<CursorState>>, Error> {
    let bad = |name: &str, why: String| {
        Error::config(
            "checkpoint",
            format!("incremental state of `{name}`: {why}"),
        )
    };
    config
        .resources
        .iter()
        .map(|r| {
            let Some(inc) = &r.endpoint.incremental else {
                return Ok(None);
            };
            let stored =
                checkpoint.and_then(|cp| cp.incremental.get(&r.name).map(|s| (cp.complete, s)));
            match stored {
                Some((false, state)) => Ok(Some(state.clone())),
                Some((true, state)) => inc.bind(Some(state)).map(Some).map_err(|e| bad(&r.name, e)),
                None => inc.bind(None).map(Some).map_err(|e| bad(&r.name, e)),
            }
        })
        .collect()
}

/// The declared schema of each resource, with what a checkpoint says was inferred so far.
fn schemas(config: &SourceConfig, checkpoint: Option<&Checkpoint>) -> Vec<TableSchema> {
    config
        .resources
        .iter()
        .map(|r| {
            let mut t = TableSchema::declared(r);
            t.parent = r.parent.map(|p| config.resources[p].name.clone());
            if let Some(inc) = &r.endpoint.incremental {
                t.set_cursor(inc.cursor_path.as_str());
            }
            if let Some(inferred) = checkpoint.and_then(|cp| cp.schema.get(&r.name)) {
                t.restore(inferred);
            }
            t
        })
        .collect()
}

/// Per resource: its rows are stored (`selected`), or a resource below it wants them.
fn wanted(config: &SourceConfig) -> Vec<bool> {
    fn visit(i: usize, config: &SourceConfig, memo: &mut Vec<Option<bool>>) -> bool {
        if let Some(w) = memo[i] {
            return w;
        }
        memo[i] = Some(config.resources[i].selected);
        let w = config.resources[i].selected
            || config.children[i].iter().any(|&c| visit(c, config, memo));
        memo[i] = Some(w);
        w
    }
    let mut memo = vec![None; config.resources.len()];
    (0..config.resources.len())
        .map(|i| visit(i, config, &mut memo))
        .collect()
}

#[cfg(test)]
mod tests;
