//! Against real rate-limiting software from the npm registry, not our own mock: Express with express-rate-limit
//! (`tests/real/express-rate-limit`, installed with `npm ci` on first use), which allows 5 requests in each
//! second and says so in the IETF RateLimit headers of the draft it is told (6: `RateLimit-Remaining` and
//! `RateLimit-Reset`; 7: `RateLimit: limit=5, remaining=0, reset=1`; 8: `RateLimit: "5-in-1sec"; r=0; t=1`).
//! Twenty pages with no `client.rate_limit` set: the connector pauses when the headers say the quota is spent,
//! and the server refuses none. (Before draft 7's form was read, the same run met three 429s.)

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The fixture's directory, its packages installed (once per test run).
fn installed() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real/express-rate-limit");
        if !dir.join("node_modules/express-rate-limit").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm runs (Node.js 20 and npm are needed for this test)");
            assert!(status.success(), "npm ci in {}", dir.display());
        }
        dir
    })
}

/// The server, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(draft: &str) -> Self {
        let mut child = Command::new("node")
            .arg("server.js")
            .arg(draft)
            .current_dir(installed())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        let stdout = child.stdout.as_mut().expect("piped");
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a port, got {line:?}"));
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What it counted: requests served and refused.
    fn stats(&self) -> (u64, u64) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .write_all(b"GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let stats: Value = serde_json::from_str(body).unwrap();
        (
            stats["served"].as_u64().unwrap(),
            stats["refused"].as_u64().unwrap(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Twenty pages of 50 from a server speaking `draft`: every row, and no request refused.
fn twenty_pages_and_no_429(draft: &str) {
    let server = Server::start(draft);
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "items",
        "endpoint": {"path": "/items", "data_selector": "data", "paginator": {"type": "offset", "limit": 50}}}]});
    let (summary, dir) = run_ok(&tenant_at(&server.url(), &config.to_string()));
    assert_eq!(summary.pages, 20);
    let ids: Vec<u64> = rows(dir.path(), "items")
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (0..1000).collect::<Vec<_>>());
    assert_eq!(server.stats(), (20, 0), "{draft}: served 20, refused none");
    let pauses = summary
        .logs
        .iter()
        .filter(|l| l.message.contains("the API asked for a pause"))
        .count();
    assert!(pauses >= 3, "{draft}: paused {pauses} times on the headers");
}

#[test]
fn express_rate_limit_draft_6_headers_pause_the_run() {
    twenty_pages_and_no_429("draft-6");
}

#[test]
fn express_rate_limit_draft_7_header_pauses_the_run() {
    twenty_pages_and_no_429("draft-7");
}

#[test]
fn express_rate_limit_draft_8_header_pauses_the_run() {
    twenty_pages_and_no_429("draft-8");
}
