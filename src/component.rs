//! The one file that binds the engine to WIT and does I/O: HTTP through `wasi:http/outgoing-handler`, sleeping
//! and time through `wasi:clocks`, secrets and logging through the host's imports.

use crate::config::WriteDisposition;
use crate::engine::{Engine, Now, Step};
use crate::error::{ConfigProblem, Error};
use crate::lanes::{Ahead, Lanes, Turns};
use crate::limits::ResponseLimits;
use crate::pace::Pace;
use crate::request::{HttpRequest, HttpResponse, Method, Transport};
use crate::schema::DataType;
use std::cell::RefCell;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    self as http, ErrorCode, Fields, FutureIncomingResponse, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

wit_bindgen::generate!({
    path: "wit",
    world: "connector",
    with: {
        "wasi:http/types@0.2.12": wasi::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasi::http::outgoing_handler,
        "wasi:io/error@0.2.12": wasi::io::error,
        "wasi:io/poll@0.2.12": wasi::io::poll,
        "wasi:io/streams@0.2.12": wasi::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasi::clocks::monotonic_clock,
    },
});

use exports::rest_source::connector::source::Guest;
use rest_source::connector::logging::{self, Level};
use rest_source::connector::secrets::{self, SecretError};
use rest_source::connector::types as wit;

/// Bytes asked for per read of a response body.
const READ_CHUNK: u64 = 64 * 1024;

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// A configured run: its lanes' engines, what each lane waits for, and the requests sent ahead.
struct Run {
    lanes: Lanes,
    turns: Turns<Sent>,
    ahead: Ahead<FutureIncomingResponse>,
}

/// A request handed to the host: its response to come, or why it could not even start.
type Sent = Result<FutureIncomingResponse, Transport>;

struct Component;

export!(Component);

impl Guest for Component {
    fn configure(
        config: String,
        checkpoint: Option<String>,
    ) -> Result<Vec<wit::ResourceInfo>, wit::Error> {
        if config.len() > crate::config::MOST_CONFIG_BYTES {
            let message = format!(
                "the config is {} bytes; at most {} are accepted",
                config.len(),
                crate::config::MOST_CONFIG_BYTES
            );
            return Err(Error::config(".", message).into());
        }
        let mut value: serde_json::Value = serde_json::from_str(&config)
            .map_err(|e| Error::config(".", format!("the config is not valid JSON: {e}")))?;
        let secret_values = crate::secrets::resolve(&mut value, |name| match secrets::get(name) {
            Ok(v) => Ok(v),
            Err(SecretError::NotFound) => Err("is not set for this tenant".into()),
            Err(SecretError::Denied) => Err("was refused by the host".into()),
        })?;
        let lanes = Lanes::new(&config, &value, secret_values, checkpoint.as_deref())?;
        let infos = lanes
            .resources()
            .iter()
            .map(|r| wit::ResourceInfo {
                name: r.name.clone(),
                table_name: r.table_name.clone(),
                write_disposition: disposition(r.write_disposition),
                primary_key: r.primary_key.clone(),
                selected: r.selected,
            })
            .collect();
        let run = Run {
            turns: Turns::new(&lanes),
            lanes,
            ahead: Ahead::default(),
        };
        RUN.with(|r| *r.borrow_mut() = Some(run));
        Ok(infos)
    }

    fn next_page() -> Result<Option<wit::Page>, wit::Error> {
        RUN.with(|cell| {
            let mut guard = cell.borrow_mut();
            let run = guard
                .as_mut()
                .ok_or_else(|| Error::Internal("next-page called before configure".into()))?;
            if let Some(e) = &run.turns.failed {
                return Err(e.clone().into());
            }
            let result = run.next_page();
            if !matches!(result, Ok(Some(_))) {
                run.ahead.clear();
                run.turns.in_flight.iter_mut().for_each(|f| *f = None);
            }
            if let Err(e) = &result {
                run.turns.failed = Some(e.clone());
            }
            result.map_err(wit::Error::from)
        })
    }

    fn schema() -> Result<Vec<wit::TableSchema>, wit::Error> {
        RUN.with(|cell| {
            let guard = cell.borrow();
            let run = guard
                .as_ref()
                .ok_or_else(|| Error::Internal("schema called before configure".into()))?;
            Ok(run.lanes.schemas().iter().map(table_schema).collect())
        })
    }
}

impl Run {
    /// Drive the lanes until one has a page, all are done, or one fails. A lane asks for its next request as soon
    /// as its last response is in, while other lanes wait for theirs. Requests an engine lists ahead go out as
    /// soon as it lists them: while a request is in flight, up to `client.concurrency` in all.
    fn next_page(&mut self) -> Result<Option<wit::Page>, Error> {
        let most = self.lanes.engine(0).concurrency();
        loop {
            let order: Vec<usize> = self.turns.order().collect();
            for lane in order {
                if !self.turns.free(lane, now().monotonic_ms) {
                    continue;
                }
                self.turns.sleeping[lane] = None;
                let engine = self.lanes.engine(lane);
                match engine.poll(now())? {
                    Step::Send(request) => {
                        let sent = self
                            .ahead
                            .take(&request)
                            .map_or_else(|| start(&request), Ok);
                        self.turns.in_flight[lane] = Some((request, sent));
                        self.top_up(lane, most);
                    }
                    Step::Sleep { until_ms } => self.turns.sleeping[lane] = Some(until_ms),
                    Step::Page(mut page) => {
                        self.turns.next = (lane + 1) % self.lanes.len();
                        let own = std::mem::take(&mut page.checkpoint);
                        let checkpoint = self.lanes.checkpoint(lane, own)?;
                        return Ok(Some(wit_page(page, checkpoint)));
                    }
                    Step::Done => {
                        self.turns.done[lane] = true;
                        engine.forget_prepaid(&self.ahead.drop_lane(lane));
                    }
                }
            }
            if self.turns.all_done() {
                return Ok(None);
            }
            self.wait(most)?;
        }
    }

    /// Wait until a lane's response is in or its sleep is over, and feed the engines the responses that are in.
    fn wait(&mut self, most: usize) -> Result<(), Error> {
        let lanes = 0..self.lanes.len();
        // A request that could not even start is settled at once.
        let mut ready: Vec<usize> = lanes
            .clone()
            .filter(|&l| matches!(self.turns.in_flight[l], Some((_, Err(_)))))
            .collect();
        if ready.is_empty() {
            let mut pollables = Vec::new();
            let mut owners = Vec::new();
            for lane in lanes {
                if let Some((_, Ok(future))) = &self.turns.in_flight[lane] {
                    pollables.push(future.subscribe());
                    owners.push(Some(lane));
                }
            }
            if let Some(until_ms) = self.turns.sleeping.iter().flatten().min() {
                let at = until_ms.saturating_mul(1_000_000);
                pollables.push(wasi::clocks::monotonic_clock::subscribe_instant(at));
                owners.push(None);
            }
            if pollables.is_empty() {
                return Ok(());
            }
            let refs: Vec<&wasi::io::poll::Pollable> = pollables.iter().collect();
            let done = wasi::io::poll::poll(&refs);
            ready.extend(done.into_iter().filter_map(|i| owners[i as usize]));
            // The pollables go before their futures are read: a future cannot be consumed while one exists.
        }
        for lane in ready {
            let Some((request, sent)) = self.turns.in_flight[lane].take() else {
                continue;
            };
            let engine = self.lanes.engine(lane);
            let outcome = match sent.and_then(|future| receive(&request, future)) {
                Ok(response) => engine.on_response(now(), response),
                Err(t) if t.unusable => engine.on_unusable(&t.message),
                Err(t) => engine.on_transport_error(now(), &t.message, t.retryable),
            };
            for note in engine.take_notes() {
                logging::log(Level::Warn, &note);
            }
            outcome?;
            self.top_up(lane, most);
        }
        Ok(())
    }

    /// Send what lane `lane`'s engine lists ahead, within the cap and the run's budget.
    fn top_up(&mut self, lane: usize, most: usize) {
        let cap = self.turns.ahead_cap(most);
        let engine = self.lanes.engine(lane);
        let listed = engine.ahead(now());
        self.ahead
            .top_up(lane, listed, cap, |r| send_ahead(engine, r));
    }
}

/// Send a request listed ahead, paid from the run's budget; `None` if the budget does not allow it yet or it
/// cannot even start (the engine meets that in its turn).
fn send_ahead(engine: &Engine, request: &HttpRequest) -> Option<FutureIncomingResponse> {
    let sent = engine.prepay(now(), request).then(|| start(request).ok())?;
    if sent.is_none() {
        engine.unpay(request);
    }
    sent
}

fn wit_page(page: crate::engine::Page, checkpoint: String) -> wit::Page {
    wit::Page {
        resource: page.resource,
        records: page.records,
        record_count: page.record_count,
        checkpoint,
        schema_changes: page.schema_changes.into_iter().map(schema_change).collect(),
    }
}

fn now() -> Now {
    let wall = wasi::clocks::wall_clock::now();
    Now {
        monotonic_ms: wasi::clocks::monotonic_clock::now() / 1_000_000,
        unix_ms: wall.seconds * 1000 + u64::from(wall.nanoseconds / 1_000_000),
    }
}

/// Send one request through the host; its response is to come.
fn start(req: &HttpRequest) -> Result<FutureIncomingResponse, Transport> {
    let url =
        url::Url::parse(&req.url).map_err(|e| Transport::fatal(format!("invalid URL: {e}")))?;
    req.check_header_size().map_err(Transport::fatal)?;
    let headers = Fields::new();
    for (name, value) in &req.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| Transport::fatal(format!("header `{name}` refused: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match req.method {
        Method::Get => http::Method::Get,
        Method::Post => http::Method::Post,
    };
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_string()),
    };
    let authority = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => return Err(Transport::fatal("URL has no host")),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let ok = outgoing.set_method(&method).is_ok()
        && outgoing.set_scheme(Some(&scheme)).is_ok()
        && outgoing.set_authority(Some(&authority)).is_ok()
        && outgoing.set_path_with_query(Some(&path)).is_ok();
    if !ok {
        return Err(Transport::fatal("the host refused the request line"));
    }
    let options = RequestOptions::new();
    let timeout_ns = Some(req.timeout_ms.saturating_mul(1_000_000));
    let _ = options.set_connect_timeout(timeout_ns);
    let _ = options.set_first_byte_timeout(timeout_ns);
    let _ = options.set_between_bytes_timeout(timeout_ns);
    let body = outgoing
        .body()
        .map_err(|()| Transport::fatal("request body unavailable"))?;
    let future = outgoing_handler::handle(outgoing, Some(options)).map_err(transport)?;
    write_body(body, req.body.as_deref())?;
    Ok(future)
}

/// Wait for the response to `req` and read it whole (up to `req.max_response_bytes`).
fn receive(req: &HttpRequest, future: FutureIncomingResponse) -> Result<HttpResponse, Transport> {
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(transport(code)),
        _ => return Err(Transport::fatal("response future gave no response")),
    };
    let status = response.status();
    let headers: Vec<(String, String)> = response
        .headers()
        .entries()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let pace = Pace::new(req.low_speed_limit, req.timeout_ms);
    let body = read_body(&response, &headers, req.max_response_bytes, pace)?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn write_body(body: OutgoingBody, bytes: Option<&[u8]>) -> Result<(), Transport> {
    if let Some(bytes) = bytes {
        let stream = body
            .write()
            .map_err(|()| Transport::fatal("request body stream unavailable"))?;
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| Transport::retry(format!("writing the request body failed: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(transport)
}

/// Read a response body of at most `max` bytes: a larger `Content-Length` is refused before reading, and the
/// read stops as soon as the body grows past `max`.
fn read_body(
    response: &http::IncomingResponse,
    headers: &[(String, String)],
    max: u64,
    mut pace: Pace,
) -> Result<Vec<u8>, Transport> {
    let too_large = || Transport {
        message: ResponseLimits {
            max_bytes: max,
            ..ResponseLimits::default()
        }
        .too_large(),
        retryable: false,
        unusable: true,
    };
    let declared = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let incoming = response
        .consume()
        .map_err(|()| Transport::fatal("response body unavailable"))?;
    let stream = incoming
        .stream()
        .map_err(|()| Transport::fatal("response body stream unavailable"))?;
    // The chunks as they come, joined at the end: no buffer doubles and leaves its old copies behind, and a
    // body of one chunk is never copied. With a declared length (within the cap) the body is one allocation.
    let mut body = Vec::with_capacity(declared.unwrap_or(0) as usize);
    let mut chunks = Vec::new();
    let mut total = 0u64;
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                total += chunk.len() as u64;
                if total > max {
                    return Err(too_large());
                }
                pace.add(chunk.len() as u64, now().monotonic_ms)
                    .map_err(Transport::retry)?;
                match declared {
                    Some(_) => body.extend_from_slice(&chunk),
                    None => chunks.push(chunk),
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(Transport::retry(format!(
                    "reading the response body failed: {}",
                    e.to_debug_string()
                )));
            }
        }
    }
    if chunks.len() == 1 {
        body = chunks.swap_remove(0);
    } else if !chunks.is_empty() {
        body = chunks.concat();
    }
    drop(stream);
    let _ = http::IncomingBody::finish(incoming);
    Ok(body)
}

/// Classify a wasi:http error: what a repeat cannot fix (a denied or malformed request) is not retried.
fn transport(code: ErrorCode) -> Transport {
    // The host names an untrusted certificate's reason in an internal error starting "TLS certificate".
    let untrusted =
        matches!(&code, ErrorCode::InternalError(Some(m)) if m.starts_with("TLS certificate"));
    let retryable = !untrusted
        && !matches!(
            code,
            ErrorCode::HttpRequestDenied
                | ErrorCode::HttpRequestUriInvalid
                | ErrorCode::HttpRequestMethodInvalid
                | ErrorCode::HttpRequestUriTooLong
                | ErrorCode::DestinationIpProhibited
                | ErrorCode::TlsCertificateError
        );
    let message = match &code {
        ErrorCode::HttpRequestDenied => "the host's egress policy denied the request".to_string(),
        ErrorCode::ConnectionRefused => "connection refused".to_string(),
        ErrorCode::ConnectionTimeout => "connecting timed out".to_string(),
        ErrorCode::ConnectionTerminated => "the connection was closed".to_string(),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            "no response within the timeout".to_string()
        }
        ErrorCode::DnsError(_) | ErrorCode::DnsTimeout => {
            "the host name could not be resolved".to_string()
        }
        ErrorCode::HttpProtocolError => "the response broke the HTTP protocol".to_string(),
        ErrorCode::InternalError(Some(m)) | ErrorCode::HttpResponseContentCoding(Some(m)) => {
            m.clone()
        }
        other => format!("{other:?}"),
    };
    Transport {
        message,
        retryable,
        unusable: false,
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidConfig(problems) => {
                wit::Error::InvalidConfig(problems.into_iter().map(problem).collect())
            }
            Error::Auth {
                resource,
                url,
                message,
            } => wit::Error::Auth(wit::ResourceFailure {
                resource,
                url,
                message,
            }),
            Error::Http {
                resource,
                url,
                status,
                attempts,
                message,
            } => wit::Error::Http(wit::HttpFailure {
                resource,
                url,
                status,
                attempts,
                message,
            }),
            Error::BadResponse {
                resource,
                url,
                message,
            } => wit::Error::BadResponse(wit::ResourceFailure {
                resource,
                url,
                message,
            }),
            Error::Internal(m) => wit::Error::Internal(m),
        }
    }
}

fn problem(p: ConfigProblem) -> wit::ConfigProblem {
    wit::ConfigProblem {
        path: p.path,
        message: p.message,
    }
}

fn disposition(d: WriteDisposition) -> wit::WriteDisposition {
    match d {
        WriteDisposition::Append => wit::WriteDisposition::Append,
        WriteDisposition::Replace => wit::WriteDisposition::Replace,
        WriteDisposition::Merge => wit::WriteDisposition::Merge,
        WriteDisposition::Skip => wit::WriteDisposition::Skip,
    }
}

fn data_type(t: DataType) -> wit::DataType {
    match t {
        DataType::Text => wit::DataType::Text,
        DataType::Bigint => wit::DataType::Bigint,
        DataType::Double => wit::DataType::Double,
        DataType::Bool => wit::DataType::Bool,
        DataType::Timestamp => wit::DataType::Timestamp,
        DataType::Date => wit::DataType::Date,
        DataType::Time => wit::DataType::Time,
        DataType::Decimal => wit::DataType::Decimal,
        DataType::Json => wit::DataType::Json,
        DataType::Binary => wit::DataType::Binary,
    }
}

fn source(s: crate::schema::Source) -> wit::FactSource {
    match s {
        crate::schema::Source::Declared => wit::FactSource::Declared,
        crate::schema::Source::Inferred => wit::FactSource::Inferred,
    }
}

fn schema_change(c: crate::schema::Change) -> wit::SchemaChange {
    use crate::schema::Change;
    let (column, kind, data_type, previous_type) = match c {
        Change::NewColumn(col, t) => (col, wit::ChangeKind::NewColumn, t, None),
        Change::Widened(col, from, to) => (col, wit::ChangeKind::Widened, Some(to), Some(from)),
        Change::BecameNullable(col) => (col, wit::ChangeKind::BecameNullable, None, None),
        Change::Typed(col, t) => (col, wit::ChangeKind::Typed, Some(t), None),
    };
    wit::SchemaChange {
        column,
        kind,
        data_type: data_type.map(self::data_type),
        previous_type: previous_type.map(self::data_type),
    }
}

fn table_schema(t: &crate::schema::TableSchema) -> wit::TableSchema {
    wit::TableSchema {
        resource: t.resource.clone(),
        table_name: t.table_name.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| wit::Column {
                name: c.name.clone(),
                data_type: c.data_type.map(data_type),
                nullable: c.nullable,
                type_source: source(c.type_source),
                nullable_source: source(c.nullable_source),
                primary_key: c.primary_key,
                merge_key: c.merge_key,
                cursor: c.cursor,
            })
            .collect(),
        primary_key: t.primary_key.clone(),
        merge_key: t.merge_key.clone(),
        write_disposition: disposition(t.write_disposition),
        parent: t.parent.clone(),
        incremental_cursor: t.incremental_cursor.clone(),
        selected: t.selected,
    }
}
