//! Hostile responses at the transport level, through the host and the component: a raw loopback server writes
//! exactly the bytes of each case (lying `Content-Length`s, endless bodies, compressed bodies,
//! bytes that are not HTTP). Each case has its expected outcome, and memory stays under the response cap.

use crate::support::*;
use host_test::RunError;
use host_test::SecretStore;
use host_test::{EgressPolicy, Origin};
use host_test::{Limits, RunSummary};
use host_test::{RunFailure, Tenant};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the server writes for one request.
#[derive(Clone)]
enum Reply {
    /// These bytes, then the connection is closed.
    Bytes(Vec<u8>),
    /// A chunked `200` whose body never ends: chunks of JSON text until the client goes away.
    Endless,
    /// A `200` whose body arrives one byte every half second.
    Trickle,
}

/// A loopback server answering every request with `reply`; it counts the bytes it managed to write.
struct RawServer {
    port: u16,
    written: Arc<AtomicUsize>,
}

impl RawServer {
    fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let written = Arc::new(AtomicUsize::new(0));
        let count = written.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (reply, count) = (reply.clone(), count.clone());
                std::thread::spawn(move || serve(stream, &reply, &count));
            }
        });
        Self { port, written }
    }
}

fn serve(mut stream: TcpStream, reply: &Reply, written: &AtomicUsize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    match reply {
        Reply::Bytes(bytes) => {
            if stream.write_all(bytes).is_ok() {
                written.fetch_add(bytes.len(), Ordering::Relaxed);
            }
        }
        Reply::Trickle => {
            let body = br#"[{"id": 1}]"#.repeat(10);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for byte in body {
                std::thread::sleep(std::time::Duration::from_millis(500));
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
            while stream.write_all(chunk.as_bytes()).is_ok() {
                written.fetch_add(0x10000, Ordering::Relaxed);
            }
        }
    }
}

/// A response with this head (status line and headers, CRLF-separated) and body.
fn http(head: &str, body: &[u8]) -> Reply {
    let mut bytes = format!("{head}\r\n\r\n").into_bytes();
    bytes.extend_from_slice(body);
    Reply::Bytes(bytes)
}

/// One resource, one page, at the server; `client` keys merged into the client.
fn config(client: Value) -> String {
    let mut config = json!({
        "client": {"base_url": "https://api.example.com", "paginator": "single_page",
                   "error_handler": {"max_retries": 1, "backoff_factor": 0, "timeout": 5}},
        "resources": ["items"]
    });
    if let (Some(c), Value::Object(extra)) = (config["client"].as_object_mut(), client) {
        c.extend(extra);
    }
    config.to_string()
}

fn run_against(server: &RawServer, config: &str) -> Result<RunSummary, RunFailure> {
    let value: Value = serde_json::from_str(config).expect("config JSON");
    let mut egress = EgressPolicy::from_config(&value);
    egress.map(
        Origin::of_url("https://api.example.com").expect("an origin"),
        Origin::of_url(&format!("http://127.0.0.1:{}", server.port)).expect("an origin"),
    );
    let tenant = Tenant {
        name: "transport".into(),
        config: config.into(),
        secrets: SecretStore::from_pairs::<String, String>([]),
        egress,
        limits: Limits::default(),
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    plugin().run(&tenant, &mut host_test::JsonlDir::new(dir.path()))
}

fn error_text(result: Result<RunSummary, RunFailure>) -> (String, RunSummary) {
    match result {
        Err(failure) => (failure.error.to_string(), *failure.summary),
        Ok(summary) => panic!("the run succeeded: {summary:?}"),
    }
}

const MIB: u64 = 1024 * 1024;

/// The guest's memory high-water mark in a run of one small page: what a run needs besides the body.
fn baseline_peak() -> u64 {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11";
    let server = RawServer::start(http(head, b"[{\"id\": 1}]"));
    let summary = run_against(&server, &config(json!({}))).expect("the run succeeds");
    summary.guest_memory_peak
}

#[test]
fn an_endless_body_stops_at_the_cap_and_memory_stays_within_it() {
    let baseline = baseline_peak();
    for cap in [MIB, 8 * MIB] {
        let server = RawServer::start(Reply::Endless);
        let (error, summary) = error_text(run_against(
            &server,
            &config(json!({"max_response_bytes": cap})),
        ));
        let expected = format!("larger than {cap} bytes (client.max_response_bytes)");
        assert!(error.contains(&expected), "{error}");
        assert_eq!(summary.rows.iter().map(|(_, n)| n).sum::<u64>(), 0);
        // Past the baseline, only the body's chunks up to the cap, and a few 64 KiB reads.
        let grown = summary.guest_memory_peak.saturating_sub(baseline);
        assert!(
            grown <= cap + 4 * 65536,
            "cap {cap}: grew {grown} bytes past {baseline}"
        );
        let sent = server.written.load(Ordering::Relaxed) as u64;
        assert!(sent > cap, "the server sent {sent} bytes");
        eprintln!(
            "cap {cap}: the guest grew {grown} bytes past its {baseline}; the server sent {sent}"
        );
    }
}

#[test]
fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 104857600";
    let server = RawServer::start(http(head, b"[{\"id\": 1}"));
    let (error, summary) = error_text(run_against(
        &server,
        &config(json!({"max_response_bytes": MIB})),
    ));
    assert!(error.contains("client.max_response_bytes"), "{error}");
    assert!(summary.guest_memory_peak < 4 * MIB);
}

#[test]
fn a_body_shorter_than_its_content_length_fails_the_page() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000";
    let server = RawServer::start(http(head, b"[{\"id\": 1}]"));
    let (error, summary) = error_text(run_against(&server, &config(json!({}))));
    assert!(
        error.contains("reading the response body failed"),
        "{error}"
    );
    assert!(summary.rows.iter().all(|(_, n)| *n == 0), "nothing stored");
}

#[test]
fn bytes_past_the_content_length_are_not_read() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11";
    let server = RawServer::start(http(head, b"[{\"id\": 1}]GARBAGE{{{{"));
    let summary = run_against(&server, &config(json!({}))).expect("the run succeeds");
    assert_eq!(summary.rows, [("items".to_string(), 1)]);
}

#[test]
fn a_gzip_body_is_decoded_and_a_lying_coding_is_named() {
    let gzip = [
        31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 139, 174, 86, 202, 76, 81, 178, 82, 48, 172, 141, 5, 0,
        209, 226, 206, 137, 11, 0, 0, 0,
    ];
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}",
        gzip.len()
    );
    let server = RawServer::start(http(&head, &gzip));
    let summary = run_against(&server, &config(json!({}))).expect("the run succeeds");
    assert_eq!(summary.rows, [("items".to_string(), 1)]);
    // Plain JSON that claims to be gzip.
    let plain = b"[{\"id\": 1}]";
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}",
        plain.len()
    );
    let server = RawServer::start(http(&head, plain));
    let once = json!({"error_handler": {"max_retries": 0}});
    let (error, _) = error_text(run_against(&server, &config(once)));
    assert!(error.contains("does not decode as gzip"), "{error}");
}

#[test]
fn header_values_that_are_not_utf8_do_not_stop_a_page() {
    let mut bytes =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-odd: \xff\xfe\r\n".to_vec();
    bytes.extend_from_slice(b"content-length: 11\r\n\r\n[{\"id\": 1}]");
    let server = RawServer::start(Reply::Bytes(bytes));
    let summary = run_against(&server, &config(json!({}))).expect("the run succeeds");
    assert_eq!(summary.rows, [("items".to_string(), 1)]);
}

#[test]
fn bytes_that_are_not_http_fail_after_the_retries() {
    let server = RawServer::start(Reply::Bytes(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()));
    let (error, _) = error_text(run_against(&server, &config(json!({}))));
    assert!(error.contains("after 2 attempts"), "{error}");
    let failure = run_against(&server, &config(json!({}))).expect_err("fails");
    assert!(
        matches!(failure.error, RunError::Connector(_)),
        "{}",
        failure.error
    );
}

#[test]
fn a_body_that_trickles_fails_at_the_low_speed_limit() {
    let server = RawServer::start(Reply::Trickle);
    let handler = json!({"error_handler": {"max_retries": 1, "backoff_factor": 0, "timeout": 1}});
    let started = std::time::Instant::now();
    let (error, _) = error_text(run_against(&server, &config(handler)));
    assert!(
        error.contains(
            "slower than error_handler.low_speed_limit (1000 bytes/s over the 1 s timeout)"
        ),
        "{error}"
    );
    assert!(
        error.contains("after 2 attempts"),
        "retried like a timeout: {error}"
    );
    // Each attempt ends after about one window, while the body would take 55 s.
    let sent = server.written.load(Ordering::Relaxed);
    assert!(sent < 20, "the server wrote {sent} bytes of 110");
    eprintln!("the trickle ended after {:?}", started.elapsed());
}
