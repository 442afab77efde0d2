//! The sans-IO engine: asked "what next?", it answers send this request, sleep until then, here is a page, or
//! done; it is fed responses, transport errors and the time. It never does I/O and never reads a clock.

use crate::auth::Auth;
use crate::checkpoint::{self, Checkpoint};
use crate::config::{self, Resource, SourceConfig};
use crate::error::Error;
use crate::error::{contains_secret, scrub_text};
use crate::paginator::{PageView, Paginator, Position};
use crate::redact::redact_url_with;
use crate::request::{HttpRequest, HttpResponse, RequestParts, origin};
use crate::retry::RetryPolicy;
use crate::schema::TableSchema;
use crate::select;
use serde_json::Value;

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
    Token,
    Page,
}

#[derive(Debug, Clone)]
struct Exchange {
    purpose: Purpose,
    request: HttpRequest,
    attempts: u32,
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
    index: usize,
    position: Position,
    /// The OAuth2 token in use.
    token: Option<Token>,
    phase: Phase,
    ready: Option<Page>,
    failed: Option<Error>,
    schemas: Vec<TableSchema>,
    /// Detected record path of the current resource when it has no `data_selector`.
    detected: Option<Vec<String>>,
    /// Paginator detected from the current resource's first response when its config sets none.
    found: Option<Paginator>,
    /// A token was just fetched and not used yet.
    token_fresh: bool,
    /// Log lines for the host, drained by [`Engine::take_notes`].
    notes: Vec<String>,
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
        let scrub = |e: Error| e.scrub(&secrets);
        let parsed = config::parse_with_secrets(config, &secrets).map_err(scrub)?;
        let fingerprint = checkpoint::fingerprint(config_as_written);
        let (index, position, found) = match checkpoint {
            Some(text) => {
                let (cp, found) = Checkpoint::load(text, &parsed, &fingerprint).map_err(scrub)?;
                (cp.index, cp.position, found)
            }
            None => (
                0,
                parsed.resources.first().map_or(Position::Done, start),
                None,
            ),
        };
        Ok(Self {
            schemas: parsed.resources.iter().map(TableSchema::declared).collect(),
            config: parsed,
            secrets,
            fingerprint,
            index,
            position,
            token: None,
            phase: Phase::Idle,
            ready: None,
            failed: None,
            detected: None,
            found,
            token_fresh: false,
            notes: Vec::new(),
        })
    }

    /// The resources, in run order.
    pub fn resources(&self) -> &[Resource] {
        &self.config.resources
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
            .map(|n| scrub_text(&n, &masks))
            .collect()
    }

    /// What to do next. After a failure every call returns the same error.
    pub fn poll(&mut self, now: Now) -> Result<Step, Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
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
            Phase::Waiting { exchange, .. } => Ok(self.send(exchange)),
            Phase::Idle => self.next_exchange(now),
        }
    }

    fn next_exchange(&mut self, now: Now) -> Result<Step, Error> {
        // A resource that is not selected feeds no table; without children to feed it is not fetched.
        while self.position == Position::Done || !self.config.resources[self.index].selected {
            self.index += 1;
            self.detected = None;
            self.found = None;
            match self.config.resources.get(self.index) {
                Some(r) => self.position = start(r),
                None => return Ok(Step::Done),
            }
        }
        let resource = &self.config.resources[self.index];
        let timeout_ms = resource.endpoint.retry.timeout_ms;
        if let Some(oauth) = resource.endpoint.auth.as_ref().and_then(Auth::oauth2) {
            // A token just fetched is used once even if it expires at once (dlt: `expires_in: 0` means a new
            // token for every request).
            let fresh = std::mem::take(&mut self.token_fresh);
            let valid = self.token.as_ref().is_some_and(|t| {
                t.token_url == oauth.token_url
                    && t.client_id == oauth.client_id
                    && (fresh || now.monotonic_ms < t.expires_at_ms)
            });
            if !valid {
                let request = oauth.token_request(timeout_ms);
                return Ok(self.send(Exchange {
                    purpose: Purpose::Token,
                    request,
                    attempts: 0,
                }));
            }
        }
        let request = match self.page_request(resource) {
            Ok(r) => r,
            Err(e) => return self.fail(e),
        };
        Ok(self.send(Exchange {
            purpose: Purpose::Page,
            request,
            attempts: 0,
        }))
    }

    fn send(&mut self, exchange: Exchange) -> Step {
        let request = exchange.request.clone();
        self.phase = Phase::InFlight(exchange);
        Step::Send(request)
    }

    /// The request for the current position. Credentials go only to the trusted origin: the base URL's (or,
    /// without a base URL, the endpoint's own). A next link elsewhere gets no auth and no header holding a secret;
    /// a body holding a secret is not sent there at all (an error).
    fn page_request(&self, resource: &Resource) -> Result<HttpRequest, Error> {
        let ep = &resource.endpoint;
        let mut parts = RequestParts {
            method: ep.method,
            url: ep.url.clone(),
            params: ep.params.clone(),
            headers: vec![("Accept".into(), "application/json".into())],
            json: ep.json.clone(),
            form: ep.data.clone(),
        };
        for (k, v) in &ep.headers {
            parts.set_header(k, v);
        }
        if let Some(paginator) = ep.paginator.as_ref().or(self.found.as_ref()) {
            paginator.apply(&self.position, &mut parts);
        }
        let trusted = origin(&self.config.base_url).or_else(|| origin(&ep.url));
        if trusted.is_some() && origin(&parts.url) == trusted {
            if let Some(auth) = &ep.auth {
                auth.apply(
                    &mut parts,
                    self.token.as_ref().map(|t| t.access_token.as_str()),
                );
            }
            return Ok(parts.finish(ep.retry.timeout_ms));
        }
        let masks = self.masks();
        parts.headers.retain(|(_, v)| !contains_secret(v, &masks));
        let request = parts.finish(ep.retry.timeout_ms);
        if request
            .body
            .as_ref()
            .is_some_and(|b| contains_secret(&String::from_utf8_lossy(b), &masks))
        {
            return Err(Error::BadResponse {
                resource: resource.name.clone(),
                url: self.redact(&request.url),
                message: "the next page is on another origin and its request body holds a secret; it is not sent"
                    .into(),
            });
        }
        Ok(request)
    }

    /// The URL with credentials masked: dlt's sensitive names, the API-key parameter of the current resource,
    /// and every secret value in any encoding.
    fn redact(&self, url: &str) -> String {
        let key = match &self
            .config
            .resources
            .get(self.index)
            .and_then(|r| r.endpoint.auth.as_ref())
        {
            Some(Auth::ApiKey {
                name,
                location: crate::auth::KeyLocation::Query,
                ..
            }) => Some(name.as_str()),
            _ => None,
        };
        scrub_text(&redact_url_with(url, key.as_slice()), &self.masks())
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
            url: self.redact(&exchange.request.url),
            message: message.to_string(),
        };
        self.fail(error)
    }

    /// Feed the response to the request last sent.
    pub fn on_response(&mut self, now: Now, response: HttpResponse) -> Result<(), Error> {
        if self.ignores(&response) {
            return self.ignore();
        }
        let retryable = self.policy().retries_status(response.status);
        let Some((exchange, attempts)) = self.settle(
            now,
            retryable,
            response.header("retry-after"),
            &format!("status {}", response.status),
        )?
        else {
            return Ok(());
        };
        if response.status >= 300 {
            return self.fail(self.status_error(&exchange, attempts, &response));
        }
        match exchange.purpose {
            Purpose::Token => self.take_token(now, &exchange, &response),
            Purpose::Page => self.take_page(&exchange, &response),
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
            url: self.redact(&exchange.request.url),
            status: None,
            attempts,
            message: message.to_string(),
        };
        self.fail(error)
    }

    /// Whether a `response_actions` entry of the current resource ignores this response to a page request.
    fn ignores(&self, response: &HttpResponse) -> bool {
        let page = matches!(&self.phase, Phase::InFlight(x) if x.purpose == Purpose::Page);
        let actions = &self.config.resources[self.index].endpoint.response_actions;
        page && !actions.is_empty() && {
            let text = String::from_utf8_lossy(&response.body);
            actions.iter().any(|a| a.matches(response.status, &text))
        }
    }

    /// An ignored response ends the resource's pagination loop: no records from it, no retry (dlt's
    /// `IgnoreResponseException`). An empty page carries the checkpoint that says so.
    fn ignore(&mut self) -> Result<(), Error> {
        self.phase = Phase::Idle;
        self.position = Position::Done;
        let checkpoint = self.checkpoint(None);
        self.ready = Some(Page {
            resource: self.resource_name(),
            records: Vec::new(),
            record_count: 0,
            checkpoint,
        });
        Ok(())
    }

    fn checkpoint(&self, detected: Option<Value>) -> String {
        Checkpoint {
            v: checkpoint::VERSION,
            config: self.fingerprint.clone(),
            index: self.index,
            resource: self.resource_name(),
            position: self.position.clone(),
            detected,
        }
        .to_json()
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
        let policy = self.policy();
        if retryable && attempts < policy.max_attempts {
            let wait_ms = policy.delay_ms(attempts, retry_after, now.unix_ms);
            let until_ms = now.monotonic_ms.saturating_add(wait_ms);
            let note = format!(
                "resource `{}`: {what} from {} (attempt {attempts} of {}); retrying in {wait_ms} ms",
                self.exchange_name(&exchange),
                self.redact(&exchange.request.url),
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

    fn policy(&self) -> &RetryPolicy {
        &self.config.resources[self.index].endpoint.retry
    }

    fn resource_name(&self) -> String {
        self.config.resources[self.index].name.clone()
    }

    fn exchange_name(&self, exchange: &Exchange) -> String {
        match exchange.purpose {
            Purpose::Token => format!("{} (oauth2 token)", self.resource_name()),
            Purpose::Page => self.resource_name(),
        }
    }

    fn status_error(&self, exchange: &Exchange, attempts: u32, response: &HttpResponse) -> Error {
        let url = self.redact(&exchange.request.url);
        let status = response.status;
        if (300..400).contains(&status) {
            let target = response
                .header("location")
                .map(|l| self.redact(l))
                .unwrap_or_default();
            return Error::BadResponse {
                resource: self.exchange_name(exchange),
                url,
                message: format!(
                    "status {status}: redirects are not followed (Location: {target})"
                ),
            };
        }
        let kind = if status < 500 {
            "Client Error"
        } else {
            "Server Error"
        };
        let message = format!("{status} {kind}: {}", reason(status));
        if exchange.purpose == Purpose::Token && (400..500).contains(&status) && status != 429 {
            return Error::Auth {
                resource: self.exchange_name(exchange),
                url,
                message,
            };
        }
        Error::Http {
            resource: self.exchange_name(exchange),
            url,
            status: Some(status),
            attempts,
            message,
        }
    }

    fn take_token(
        &mut self,
        now: Now,
        exchange: &Exchange,
        response: &HttpResponse,
    ) -> Result<(), Error> {
        let resource = &self.config.resources[self.index];
        let oauth = resource
            .endpoint
            .auth
            .as_ref()
            .and_then(Auth::oauth2)
            .expect("token exchanges need oauth2");
        match oauth.parse_token(&response.body) {
            Ok(token) => {
                self.token_fresh = true;
                self.token = Some(Token {
                    token_url: oauth.token_url.clone(),
                    client_id: oauth.client_id.clone(),
                    access_token: token.access_token,
                    expires_at_ms: now
                        .monotonic_ms
                        .saturating_add(token.expires_in_s.saturating_mul(1000)),
                });
                Ok(())
            }
            Err(message) => {
                let error = Error::Auth {
                    resource: self.exchange_name(exchange),
                    url: self.redact(&exchange.request.url),
                    message,
                };
                self.fail(error)
            }
        }
    }

    fn take_page(&mut self, exchange: &Exchange, response: &HttpResponse) -> Result<(), Error> {
        let url = exchange.request.url.clone();
        let bad = |this: &Self, message: String| Error::BadResponse {
            resource: this.resource_name(),
            url: this.redact(&url),
            message,
        };
        let body: Value = match serde_json::from_slice(&response.body) {
            Ok(v) => v,
            Err(e) => return self.fail(bad(self, format!("body is not JSON: {e}"))),
        };
        let resource = &self.config.resources[self.index];
        let records = match &resource.endpoint.data_selector {
            Some(path) => path.records(&body),
            None => {
                let keys = self
                    .detected
                    .get_or_insert_with(|| select::detect_data_path(&body));
                select::records_at_keys(&body, keys)
            }
        };
        let view = PageView {
            body: &body,
            headers: &response.headers,
            record_count: records.len(),
            url: &url,
        };
        let (paginator, at) = match (&resource.endpoint.paginator, &self.found) {
            (Some(p), _) | (None, Some(p)) => (p.clone(), self.position.clone()),
            (None, None) => {
                let p = crate::detect::detect_paginator(&response.headers, &body);
                let at = p.start();
                (p, at)
            }
        };
        let next = match paginator.advance(&at, &view) {
            Ok(next) => self.strip_auth_from_next(next),
            Err(message) => return self.fail(bad(self, message)),
        };
        let detected = resource
            .endpoint
            .paginator
            .is_none()
            .then(|| paginator.describe())
            .flatten();
        if resource.endpoint.paginator.is_none() {
            self.found = Some(paginator);
        }
        if next != Position::Done && next == self.position {
            let message = format!("pagination does not advance: the response sends {next:?} again");
            return self.fail(bad(self, message));
        }
        let mut lines = Vec::with_capacity(response.body.len());
        let schema = &mut self.schemas[self.index];
        for record in &records {
            schema.observe(record);
            serde_json::to_writer(&mut lines, record).expect("a JSON value serialises");
            lines.push(b'\n');
        }
        let count = records.len() as u32;
        self.position = next;
        let position_text =
            serde_json::to_string(&(&self.position, &detected)).expect("serialises");
        let checkpoint = self.checkpoint(detected);
        if contains_secret(&position_text, &self.masks()) {
            return self.fail(bad(
                self,
                "the next page's position holds a secret value; it cannot be checkpointed".into(),
            ));
        }
        self.ready = Some(Page {
            resource: self.resource_name(),
            records: lines,
            record_count: count,
            checkpoint,
        });
        Ok(())
    }

    /// A next URL keeps no API key of ours in its query: the key is added again on the way out (and only to the
    /// trusted origin), so it never reaches a checkpoint and is never sent twice.
    fn strip_auth_from_next(&self, next: Position) -> Position {
        let Position::NextUrl(link) = &next else {
            return next;
        };
        let Some(Auth::ApiKey {
            name,
            location: crate::auth::KeyLocation::Query,
            ..
        }) = &self.config.resources[self.index].endpoint.auth
        else {
            return next;
        };
        let Ok(mut url) = url::Url::parse(link) else {
            return next;
        };
        if !url.query_pairs().any(|(k, _)| k == name.as_str()) {
            return next;
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != name.as_str())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        Position::NextUrl(url.into())
    }

    fn fail<T>(&mut self, error: Error) -> Result<T, Error> {
        let error = error.scrub(&self.masks());
        self.failed = Some(error.clone());
        self.phase = Phase::Idle;
        Err(error)
    }
}

/// The position of a resource's first request.
fn start(resource: &Resource) -> Position {
    resource
        .endpoint
        .paginator
        .as_ref()
        .map_or(Position::First, Paginator::start)
}

/// An OAuth2 access token held in memory only.
#[derive(Debug, Clone)]
struct Token {
    token_url: String,
    client_id: String,
    access_token: String,
    expires_at_ms: u64,
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests;
