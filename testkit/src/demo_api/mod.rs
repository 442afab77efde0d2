//! A seed-shaped REST API on 127.0.0.1, for the demo and as the tests' fixture.
//!
//! - `GET /v1/<resource>?api_key=…&offset=…&limit=…` → `{"data": [...], "total": N}` (seeds 000, 002–004);
//! - `POST /oauth/v1/token` (form: `grant_type=client_credentials`, `client_id`, `client_secret`) →
//!   `{"access_token": …, "expires_in": 3600}`;
//! - `GET /v1/<resource>?after=…&limit=…` with `Authorization: Bearer <token>` → `{"data": [...],
//!   "paging": {"next": {"after": "…"}}}`, no `paging` on the last page (seed 001).
//!
//! Rows are generated from the resource name and index, so [`DemoApi::rows`] is the truth a run must reproduce.
//! Every request is logged; [`Fault`] rules make chosen requests fail.

mod dlt_mock;
mod extras;
mod fault;
mod limit;
pub mod realistic;
mod seeds;

use fault::fault_for;
pub use fault::{Fault, FaultKind, Which};
pub use limit::RateSpec;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tiny_http::{Header, Request, Response, Server};

/// What the API serves and whom it lets in.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    /// Resource name → number of rows (served at `/v1/<name>`).
    pub resources: BTreeMap<String, usize>,
    /// The API key accepted in the `api_key` query parameter.
    pub api_key: String,
    /// The OAuth2 client id and secret accepted by the token endpoint.
    pub client: (String, String),
    /// Seconds a token lives.
    pub token_lifetime_s: u64,
    /// Largest page served (a larger `limit` is cut to this).
    pub max_page: usize,
    /// Which API to serve: the seed-shaped one, or dlt's test mock.
    pub routes: Routes,
    /// Milliseconds to wait before every answer: a run long enough to interrupt, or an API with real latency
    /// (requests are answered concurrently, up to [`LATENT_WORKERS`] at once).
    pub delay_ms: u64,
    /// The shape of the rows served.
    pub shape: Shape,
    /// Rows from this index on carry an extra column `late` (to exercise schema evolution).
    pub late_column_from: Option<usize>,
    /// Origin put in front of the cursor pages' `paging.next.link` (relative when `None`).
    pub link_origin: Option<String>,
    /// Answer with a gzip body (`Content-Encoding: gzip`) when the request accepts gzip.
    pub gzip: bool,
    /// Answer 429 past this many requests in a window.
    pub rate_limit: Option<RateSpec>,
}

impl Default for DemoSpec {
    fn default() -> Self {
        Self {
            resources: BTreeMap::from([
                ("resource".to_string(), 1234),
                ("customer_usage".to_string(), 1050),
                ("wallets".to_string(), 317),
            ]),
            api_key: "demo-api-key".into(),
            client: ("demo-client".into(), "demo-client-secret".into()),
            token_lifetime_s: 3600,
            max_page: 1000,
            routes: Routes::Seeds,
            delay_ms: 0,
            shape: Shape::Simple,
            late_column_from: None,
            link_origin: None,
            gzip: false,
            rate_limit: None,
        }
    }
}

impl DemoSpec {
    /// Row `i` of `resource` as this API serves it ([`row`] or [`realistic::row`], plus `late` from
    /// `late_column_from` on).
    pub fn row(&self, resource: &str, i: usize) -> Value {
        let mut r = match self.shape {
            Shape::Simple => row(resource, i),
            Shape::Realistic => realistic::row(resource, i),
        };
        if self.late_column_from.is_some_and(|from| i >= from) {
            r["late"] = json!(i);
        }
        r
    }

    /// The secrets a tenant needs for this API, as a secrets file holds them.
    pub fn secrets_json(&self) -> String {
        json!({"api_key": self.api_key, "client_id": self.client.0, "client_secret": self.client.1})
            .to_string()
    }
}

/// The shape of the rows a [`DemoApi`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// Small rows (about 190 bytes): a few typed columns, a nullable one, a small nested object ([`row`]).
    #[default]
    Simple,
    /// Rows like real API rows (about 400 bytes), see [`realistic`].
    Realistic,
}

/// Worker threads of an API with `delay_ms` set: that many requests are answered at once.
pub const LATENT_WORKERS: usize = 64;

/// A request the API received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Query pairs, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers (names lower case).
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
    /// Status answered.
    pub status: u16,
    /// The client's address and port: requests over one connection share it.
    pub peer: Option<std::net::SocketAddr>,
}

impl Logged {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    spec: DemoSpec,
    log: Mutex<Vec<Logged>>,
    faults: Mutex<Vec<Fault>>,
    tokens: Mutex<Vec<String>>,
    /// Bodies of API-key pages already served, by request target and gzip: served again without building their
    /// rows, so the API answers as fast as the network allows.
    pages: Mutex<PageCache>,
    /// Requests being answered now, and the most there ever were at once.
    busy: AtomicUsize,
    peak: AtomicUsize,
    limiter: Mutex<limit::Limiter>,
}

/// Page bodies by request target and gzip.
type PageCache = std::collections::HashMap<(String, bool), Arc<Vec<u8>>>;

/// A running demo API. Dropping it stops the server.
pub struct DemoApi {
    server: Arc<Server>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    port: u16,
}

/// A loopback listener whose connections send each write at once (`TCP_NODELAY`, inherited by accepted sockets
/// on Linux). Without it a keep-alive client waits out a delayed ACK (about 40 ms) on every response, because
/// the server writes the head and the body separately.
fn listener(port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl DemoApi {
    /// Start on 127.0.0.1 at `port` (0 for any free port).
    pub fn start(spec: DemoSpec, port: u16) -> std::io::Result<Self> {
        let server = Server::from_listener(listener(port)?, None).map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().map_or(0, |a| a.port());
        let server = Arc::new(server);
        let shared = Arc::new(Shared {
            spec,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            tokens: Mutex::new(Vec::new()),
            pages: Mutex::new(PageCache::new()),
            busy: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            limiter: Mutex::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let workers = match shared.spec.delay_ms {
            0 => 4,
            _ => LATENT_WORKERS,
        };
        let threads = (0..workers)
            .map(|_| {
                let (server, shared, stop) = (server.clone(), shared.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(Some(request)) =
                            server.recv_timeout(std::time::Duration::from_millis(100))
                        {
                            handle(&shared, request);
                        }
                    }
                })
            })
            .collect();
        Ok(Self {
            server,
            shared,
            stop,
            threads,
            port,
        })
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spec it serves.
    pub fn spec(&self) -> &DemoSpec {
        &self.shared.spec
    }

    /// Every row of a resource, in the order served.
    pub fn rows(&self, resource: &str) -> Vec<Value> {
        let n = self.count(resource);
        (0..n).map(|i| self.shared.spec.row(resource, i)).collect()
    }

    /// Every row of a resource as the dated route (`/v1/dated/<name>`) serves them: with a `ts` over 2025.
    pub fn dated_rows(&self, resource: &str) -> Vec<Value> {
        let n = self.count(resource);
        (0..n)
            .map(|i| extras::dated_row(&self.shared.spec, resource, i, n))
            .collect()
    }

    /// How many rows a resource has (0 for one not served).
    fn count(&self, resource: &str) -> usize {
        self.shared
            .spec
            .resources
            .get(resource)
            .copied()
            .unwrap_or(0)
    }

    /// The requests received so far.
    pub fn log(&self) -> Vec<Logged> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// With `delay_ms`: the most requests it was delaying at once so far, which is how many a client had in
    /// flight (0 without a delay).
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Add a fault rule.
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.shared.faults.lock() {
            f.push(fault);
        }
    }
}

impl Drop for DemoApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.server.unblock();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Row `i` of `resource`: a few columns of different types, a nullable one, a nested object.
pub fn row(resource: &str, i: usize) -> Value {
    json!({
        "id": i + 1,
        "name": format!("{resource} {i}"),
        "amount": (i as f64) * 1.25,
        "active": !i.is_multiple_of(3),
        "created_at": format!("2024-01-{:02}T{:02}:{:02}:00Z", 1 + i % 28, i % 24, i % 60),
        "note": if i.is_multiple_of(5) { Value::Null } else { Value::String(format!("note {i}")) },
        "attributes": {"tier": i % 4, "tags": [format!("t{}", i % 7)]},
    })
}

fn handle(shared: &Shared, mut request: Request) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let url =
        url::Url::parse(&format!("http://x{}", request.url())).expect("a request target joins");
    let mut logged = Logged {
        method: request.method().as_str().to_string(),
        path: url.path().to_string(),
        query: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers: headers_of(&request),
        body,
        status: 0,
        peer: request.remote_addr().copied(),
    };
    if shared.spec.delay_ms > 0 {
        // Counted over the wait only: a client's next request may arrive while this thread still writes the
        // last bytes of the answer before, and that is not two requests in flight.
        let now = shared.busy.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(shared.spec.delay_ms));
        shared.busy.fetch_sub(1, Ordering::SeqCst);
    }
    let limit_headers = match limited(shared) {
        Ok(headers) => headers,
        Err(headers) => {
            logged.status = 429;
            if let Ok(mut log) = shared.log.lock() {
                log.push(logged);
            }
            let body = br#"{"error": "rate limit exceeded"}"#.to_vec();
            reply(shared, request, 429, headers, body);
            return;
        }
    };
    let fault = fault_for(shared, &logged);
    let gzip = shared.spec.gzip
        && logged
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip"));
    // An API-key page without a fault is the same every time it is asked for.
    let cache_key = (fault.is_none()
        && shared.spec.routes == Routes::Seeds
        && logged.method == "GET"
        && logged.param("api_key").is_some())
    .then(|| (request.url().to_string(), gzip));
    let cached = cache_key
        .as_ref()
        .and_then(|key| shared.pages.lock().ok()?.get(key).cloned());
    if let Some(body) = cached {
        logged.status = 200;
        if let Ok(mut log) = shared.log.lock() {
            log.push(logged);
        }
        let mut headers = limit_headers;
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        if gzip {
            headers.push(("Content-Encoding".into(), "gzip".into()));
        }
        reply(shared, request, 200, headers, body.to_vec());
        return;
    }
    let (mut status, mut payload, mut extra) = answer(shared, &logged);
    let mut raw: Option<Vec<u8>> = None;
    match fault.map(|(f, nth)| (f.kind, nth)) {
        Some((FaultKind::Status { code, retry_after }, _)) => {
            (status, payload) = (code, Body::Json(json!({"error": "injected fault"})));
            extra = retry_after
                .map(|v| vec![("Retry-After".to_string(), v)])
                .unwrap_or_default();
        }
        Some((FaultKind::Cycle(codes), nth)) if !codes.is_empty() => {
            (status, payload, extra) = (
                codes[nth % codes.len()],
                Body::Json(json!({"error": "injected fault"})),
                vec![],
            );
        }
        Some((FaultKind::TruncatedJson, _)) => {
            let text = body_text(&payload);
            payload = Body::Text(text[..text.len() / 2].to_string());
        }
        Some((FaultKind::ShortBody, _)) => {
            let text = body_text(&payload);
            let head = json_head(200, text.len(), "");
            raw = Some([head.as_bytes(), &text.as_bytes()[..text.len() / 2]].concat());
            status = 0;
        }
        Some((FaultKind::Slow(ms), _)) => std::thread::sleep(std::time::Duration::from_millis(ms)),
        Some((FaultKind::Broken, _)) => {
            raw = Some(b"SPLAT 999 ???\r\n\r\n".to_vec());
            status = 0;
        }
        Some((FaultKind::CloseConnection, _)) => {
            // Written by hand: tiny_http does not let a response set `Connection`.
            let text = body_text(&payload);
            let head = json_head(status, text.len(), "Connection: close\r\n");
            raw = Some([head.as_bytes(), text.as_bytes()].concat());
        }
        _ => {}
    }
    logged.status = status;
    if let Ok(mut log) = shared.log.lock() {
        log.push(logged);
    }
    if let Some(bytes) = raw {
        let mut writer = request.into_writer();
        let _ = writer.write_all(&bytes).and_then(|()| writer.flush());
        return;
    }
    let (text, content_type) = match payload {
        Body::Json(v) => (v.to_string(), Some("application/json")),
        Body::Text(t) => (t, Some("text/plain")),
        Body::Empty => (String::new(), None),
    };
    let body = match gzip {
        true => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(text.as_bytes());
            encoder.finish().unwrap_or_default()
        }
        false => text.into_bytes(),
    };
    if let Some(key) = cache_key.filter(|_| status == 200)
        && let Ok(mut pages) = shared.pages.lock()
    {
        pages.insert(key, Arc::new(body.clone()));
    }
    let mut headers = extra;
    headers.extend(limit_headers);
    if gzip {
        headers.push(("Content-Encoding".into(), "gzip".into()));
    }
    if let Some(t) = content_type {
        headers.push(("Content-Type".into(), t.into()));
    }
    reply(shared, request, status, headers, body);
}

/// The rate limit's verdict on a request arriving now: the headers of its answer, or of the 429 instead.
fn limited(shared: &Shared) -> limit::Verdict {
    let Some(spec) = &shared.spec.rate_limit else {
        return Ok(Vec::new());
    };
    match shared.limiter.lock() {
        Ok(mut limiter) => limiter.admit(spec, std::time::Instant::now()),
        Err(_) => Ok(Vec::new()),
    }
}

/// Answer `request`. An API with latency closes the connection after each answer: tiny_http serves each
/// connection on a thread of its own and, when many connections open at once, can leave one waiting for a
/// thread that a kept-alive connection holds, so a client with requests in parallel would wait for ever.
fn reply(
    shared: &Shared,
    request: Request,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) {
    if shared.spec.delay_ms == 0 {
        let mut response = Response::from_data(body).with_status_code(status);
        for (k, v) in headers {
            if let Ok(h) = Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                response.add_header(h);
            }
        }
        let _ = request.respond(response);
        return;
    }
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut writer = request.into_writer();
    let _ = writer
        .write_all(&[head.as_bytes(), &body].concat())
        .and_then(|()| writer.flush());
}

/// A reason phrase for the status line (clients read the code, not the phrase).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Status",
    }
}

/// A request's headers as the fixtures log them: names in lower case, values as text.
pub fn headers_of(request: &Request) -> Vec<(String, String)> {
    request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect()
}

/// Which API the fixture serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Routes {
    /// The seed-shaped API (api_key + offset, oauth2 + cursor).
    #[default]
    Seeds,
    /// dlt's test mock API (the routes of `dlt_mock.rs`).
    Dlt,
}

/// A response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON, sent with `Content-Type: application/json`.
    Json(Value),
    /// Plain text.
    Text(String),
    /// No body at all (204).
    Empty,
}

/// Status, body and extra headers of an answer.
pub type Answer = (u16, Body, Vec<(String, String)>);

/// A response head written by hand, for answers tiny_http cannot give: a JSON body of `length` bytes, plus
/// `extra` header lines (each ending in CRLF).
fn json_head(status: u16, length: usize, extra: &str) -> String {
    format!(
        "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    )
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Json(v) => v.to_string(),
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
    }
}

fn answer(shared: &Shared, req: &Logged) -> Answer {
    if shared.spec.routes == Routes::Dlt {
        return dlt_mock::answer(req).unwrap_or((
            404,
            Body::Json(json!({"error": "not found"})),
            vec![],
        ));
    }
    if let Some(answer) = extras::answer(shared, req) {
        return answer;
    }
    let (status, body, headers) = seeds::answer(shared, req);
    (status, Body::Json(body), headers)
}
