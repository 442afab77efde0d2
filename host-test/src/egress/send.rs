//! Sending one request to addresses the egress policy has already checked, and counting the response bytes.
//!
//! The host resolves names itself and connects only to the addresses it checked, so a name cannot be made to
//! point at a private address between the check and the connection. TLS verifies the certificate against the
//! name in the URL, also when `connect_to` sends the connection elsewhere (as curl's `--connect-to`), with the
//! tenant's trusted roots ([`super::tls`]).
//!
//! Connections are HTTP/1.1 with keep-alive, pooled per run ([`ConnectionPool`]): a connection is reused only once
//! the response before it was read to its end, and only by a request whose own checked addresses include the
//! connection's peer and whose TLS name is the one the connection's certificate was verified for. Every request is still checked by the egress policy first; the
//! pool only saves the connect and the handshake.
//!
//! A request that names no `Accept-Encoding` asks for every coding the host decodes, and a response in one of
//! them reaches the guest decoded, without its `Content-Encoding` and `Content-Length` (see [`super::decode`]).

use super::decode;
use crate::sandbox::{Refusal, Refusals};
use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// What a send returns to `wasi:http`: the response, and the connection's own future.
pub type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

/// Response bytes a run may still receive, shared by all its requests.
#[derive(Debug)]
pub struct ResponseBudget {
    limit: Option<u64>,
    used: AtomicU64,
    refusals: Refusals,
}

impl ResponseBudget {
    /// A budget of `limit` bytes (`None`: unlimited); going over it is recorded in `refusals`.
    pub fn new(limit: Option<u64>, refusals: Refusals) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
            refusals,
        }
    }

    /// Count `n` more bytes; false (and a refusal recorded) once the total is over the limit.
    fn take(&self, n: u64) -> bool {
        let used = self.used.fetch_add(n, Ordering::Relaxed) + n;
        match self.limit.filter(|limit| used > *limit) {
            Some(limit) => {
                self.refusals.record(Refusal::ResponseBytes { limit });
                false
            }
            None => true,
        }
    }

    /// The limit, when there is one.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    #[cfg(test)]
    /// Bytes received so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// Where to connect: checked addresses, and for `https` the name the certificate must carry and the TLS
/// configuration to verify it with.
pub struct Target {
    /// The addresses to try, in order.
    pub addrs: Vec<SocketAddr>,
    /// `Some(host)` for TLS: the name sent as SNI and verified in the certificate.
    pub tls_name: Option<String>,
    /// The tenant's TLS configuration (its trusted roots and client certificate), or why it is unusable.
    pub tls: Result<Arc<rustls::ClientConfig>, String>,
    /// Through a forward proxy (then `addrs` are the proxy's).
    pub via: Option<Via>,
}

/// A request's way through a forward proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The proxy's `host:port`.
    pub proxy: String,
    /// Its `Proxy-Authorization`, if any.
    pub authorization: Option<String>,
    /// The API's `host:port`: the `CONNECT` target for https, the authority of the absolute-form URI for http.
    pub target: String,
}

impl Target {
    /// What a pooled connection must have been opened for to serve this target, besides its TLS name.
    fn route(&self) -> Option<String> {
        self.via
            .as_ref()
            .map(|v| format!("{} > {}", v.proxy, v.target))
    }
}

/// Idle keep-alive connections of one run, each with the address it is connected to and, for https, the name
/// its certificate was verified for. Runs never share connections.
#[derive(Default)]
pub struct ConnectionPool {
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    peer: SocketAddr,
    tls_name: Option<String>,
    route: Option<String>,
    sender: SendRequest<WasiBody>,
}

/// Idle connections kept per run; more are closed when their exchange ends.
const MAX_IDLE: usize = 32;

impl ConnectionPool {
    /// An idle, ready connection this target may use: same TLS name, peer among its checked addresses.
    fn take(&self, target: &Target) -> Option<(SocketAddr, SendRequest<WasiBody>)> {
        let mut idle = self.idle.lock().ok()?;
        idle.retain(|c| !c.sender.is_closed());
        let route = target.route();
        let i = idle.iter().position(|c| {
            c.tls_name == target.tls_name
                && c.route == route
                && target.addrs.contains(&c.peer)
                && c.sender.is_ready()
        })?;
        let c = idle.swap_remove(i);
        Some((c.peer, c.sender))
    }

    fn put(&self, connection: Idle) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(connection);
        }
    }
}

/// Send `request` to `target` over a pooled connection or a new one; the response body counts against `budget`
/// and fails once it is spent. Nothing of the exchange outlives `deadline`: connecting, waiting and reading the
/// body all fail with a timeout there.
pub async fn send(
    mut request: http::Request<WasiBody>,
    target: Target,
    options: Option<RequestOptions>,
    budget: Arc<ResponseBudget>,
    deadline: Option<Instant>,
    pool: Arc<ConnectionPool>,
) -> SendResult {
    // Ask for every coding the host decodes, unless the config asked for something itself.
    request
        .headers_mut()
        .entry(http::header::ACCEPT_ENCODING)
        .or_insert(http::HeaderValue::from_static(decode::ACCEPT_ENCODING));
    let head = exchange(request, target, options, &pool);
    let (response, connection) = match deadline {
        Some(at) => tokio::time::timeout_at(at.into(), head)
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)??,
        None => head.await?,
    };
    let between_bytes = options.and_then(|o| o.between_bytes_timeout);
    let empty = response.body().is_end_stream();
    let idle = match empty {
        true => {
            pool.put(connection);
            None
        }
        false => Some((pool, connection)),
    };
    let mut response = response.map(|incoming| {
        Counted {
            incoming,
            idle,
            budget,
            between_bytes: between_bytes.map(|d| (d, None)),
            deadline: deadline.map(|at| Box::pin(tokio::time::sleep_until(at.into()))),
        }
        .boxed_unsync()
    });
    let coding = response
        .headers()
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .and_then(decode::Coding::of_header);
    if let Some(coding) = coding.filter(|_| !empty) {
        // The guest sees the decoded body, of a length nobody declared.
        let headers = response.headers_mut();
        headers.remove(http::header::CONTENT_ENCODING);
        headers.remove(http::header::CONTENT_LENGTH);
        response = response.map(|body| decode::decode(body, coding));
    }
    // The connection is driven by its own task (see `connect`), so it can outlive this exchange in the pool.
    Ok((response, Box::new(async { Ok(()) })))
}

/// Send the request and wait for the response head; with it, the connection, to go back to the pool once the
/// body has been read to its end. A pooled connection that closed before the request went out is replaced by a
/// new one, once.
async fn exchange(
    mut request: http::Request<WasiBody>,
    target: Target,
    options: Option<RequestOptions>,
    pool: &ConnectionPool,
) -> Result<(http::Response<Incoming>, Idle), HttpError> {
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(Duration::from_secs(30));
    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(Duration::from_secs(600));
    // The request line carries the path only (the authority is in the Host header), or, to a proxy for plain
    // http, the absolute URI of the API it is to reach.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let line = match (&target.via, &target.tls_name) {
        (Some(via), None) => {
            if let Some(auth) = via.authorization.as_deref().and_then(|a| a.parse().ok()) {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }
            format!("http://{}{path}", via.target)
        }
        _ => path,
    };
    *request.uri_mut() = line.parse().map_err(|_| HttpError::HttpRequestUriInvalid)?;
    let mut pooled = pool.take(&target);
    loop {
        let reused = pooled.is_some();
        let (peer, mut sender) = match pooled.take() {
            Some(conn) => conn,
            None => connect(&target, connect_timeout).await?,
        };
        let sent = tokio::time::timeout(first_byte, sender.try_send_request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?;
        match sent {
            Ok(response) => {
                let connection = Idle {
                    peer,
                    tls_name: target.tls_name.clone(),
                    route: target.route(),
                    sender,
                };
                return Ok((response, connection));
            }
            Err(mut e) => match e.take_message() {
                Some(unsent) if reused => request = unsent,
                _ => return Err(HttpError::from(e.into_error())),
            },
        }
    }
}

/// Open a connection to the first checked address that answers (TLS for https) and start the task that drives
/// it. The task ends when the connection closes or its last sender is dropped.
async fn connect(
    target: &Target,
    timeout: Duration,
) -> Result<(SocketAddr, SendRequest<WasiBody>), HttpError> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(&target.addrs[..]))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::Connect)?;
    let peer = tcp.peer_addr().map_err(HttpError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let mut tcp = tcp;
    if let (Some(via), Some(_)) = (&target.via, &target.tls_name) {
        tokio::time::timeout(timeout, tunnel(&mut tcp, via))
            .await
            .map_err(|_| HttpError::ConnectionTimeout)??;
    }
    let sender = match &target.tls_name {
        Some(_) => {
            let bare = bare_name(&target.tls_name);
            let name = rustls::pki_types::ServerName::try_from(bare.clone())
                .map_err(|_| HttpError::HttpRequestUriInvalid)?;
            let config = target
                .tls
                .clone()
                .map_err(|e| HttpError::InternalError(Some(e)))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| tls_failure(&bare, &e))?;
            handshake(TokioIo::new(tls), timeout).await?
        }
        None => handshake(TokioIo::new(tcp), timeout).await?,
    };
    Ok((peer, sender))
}

async fn handshake<T>(io: TokioIo<T>, timeout: Duration) -> Result<SendRequest<WasiBody>, HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = tokio::time::timeout(timeout, hyper::client::conn::http1::handshake(io))
        .await
        .map_err(|_| HttpError::ConnectionTimeout)?
        .map_err(HttpError::from)?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("connection ended: {e}");
        }
    });
    Ok(sender)
}

/// Open a `CONNECT` tunnel to `via.target` through the proxy `tcp` is connected to.
async fn tunnel(tcp: &mut TcpStream, via: &Via) -> Result<(), HttpError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", via.target);
    if let Some(auth) = &via.authorization {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes())
        .await
        .map_err(HttpError::Connect)?;
    // The proxy's answer, byte by byte so nothing of the tunnel is read past it; a head over 16 KiB is no answer.
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let byte = tcp.read_u8().await.map_err(HttpError::Connect)?;
        answer.push(byte);
        if answer.len() > 16 * 1024 {
            return Err(HttpError::InternalError(Some(format!(
                "the proxy {} answered CONNECT with more than 16 KiB of headers",
                via.proxy
            ))));
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or_default();
    match status.split_whitespace().nth(1) {
        Some(code) if code.starts_with('2') => Ok(()),
        _ => Err(HttpError::InternalError(Some(format!(
            "the proxy {} did not open a tunnel to {}: {status}",
            via.proxy, via.target
        )))),
    }
}

fn bare_name(name: &Option<String>) -> String {
    name.as_deref()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// A failed TLS handshake as the guest sees it: its reason in the message (`UnknownIssuer`, an expired
/// certificate, a name it is not valid for). A certificate that is not trusted starts with "TLS certificate",
/// which the component does not retry; other handshake failures may be passing and are retried.
fn tls_failure(host: &str, e: &std::io::Error) -> HttpError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let message = match inner {
        Some(rustls::Error::InvalidCertificate(why)) => {
            format!("TLS certificate of {host} not accepted: {why}")
        }
        Some(other) => format!("TLS handshake with {host} failed: {other}"),
        None => format!("TLS handshake with {host} failed: {e}"),
    };
    tracing::debug!("{message}");
    HttpError::InternalError(Some(message))
}

/// A response body that counts its bytes against the run's budget and times out between frames. Read to its end,
/// it gives its connection back to the pool: until then the connection is not free, for HTTP/1.1 would queue a
/// new request behind a response nobody reads yet (a connector with requests sent ahead holds some unread).
struct Counted {
    incoming: Incoming,
    idle: Option<(Arc<ConnectionPool>, Idle)>,
    budget: Arc<ResponseBudget>,
    /// The timeout, and its timer: started by the first read, since a response sent ahead may wait unread a while.
    between_bytes: Option<(Duration, Option<Pin<Box<tokio::time::Sleep>>>)>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for Counted {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                if !self.budget.take(n) {
                    let limit = self.budget.limit();
                    return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(limit))));
                }
                if let Some((d, sleep)) = &mut self.between_bytes {
                    let at = tokio::time::Instant::now() + *d;
                    match sleep {
                        Some(sleep) => sleep.as_mut().reset(at),
                        None => *sleep = Some(Box::pin(tokio::time::sleep_until(at))),
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => {
                if let Some((pool, connection)) = self.idle.take() {
                    pool.put(connection);
                }
                Poll::Ready(None)
            }
            Poll::Pending => {
                let between = self.between_bytes.as_mut().is_some_and(|(d, sleep)| {
                    let d = *d;
                    sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(d)))
                        .as_mut()
                        .poll(cx)
                        .is_ready()
                });
                let over = self
                    .deadline
                    .as_mut()
                    .is_some_and(|s| s.as_mut().poll(cx).is_ready());
                match between || over {
                    true => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                    false => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_counts_every_byte() {
        let refusals = Refusals::default();
        let budget = ResponseBudget::new(Some(10), refusals.clone());
        assert!(budget.take(6));
        assert!(budget.take(4));
        assert_eq!(refusals.first(), None);
        assert!(!budget.take(1));
        assert_eq!(budget.used(), 11);
        assert_eq!(refusals.first(), Some(Refusal::ResponseBytes { limit: 10 }));
        assert!(ResponseBudget::new(None, Refusals::default()).take(u64::MAX / 2));
    }
}
