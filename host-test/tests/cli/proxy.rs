//! Forward proxies through the command line, with a loopback proxy: https goes through a `CONNECT` tunnel (TLS
//! end to end, SNI the config's name), plain http in absolute form, both with the proxy's credentials;
//! `no_proxy` goes direct; and a tenant file's proxy does not widen egress: an API the policy refuses is
//! refused before the proxy hears of it.

use crate::cli_support::tls_server::*;
use crate::cli_support::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use testkit::demo_api::{DemoApi, DemoSpec};

/// A forward proxy on loopback: one request (or one tunnel) per connection. It logs each request line and its
/// `Proxy-Authorization`.
struct ForwardProxy {
    port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
}

/// A request line the proxy received, and its `Proxy-Authorization`.
type Seen = (String, Option<String>);

fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn relay(from: TcpStream, to: TcpStream) {
    let (mut from, mut to) = (from, to);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

fn forward_proxy() -> ForwardProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut client = client;
                let Some(head) = read_head(&mut client) else {
                    return;
                };
                let mut lines = head.split("\r\n");
                let line = lines.next().unwrap_or_default().to_string();
                let auth = head
                    .split("\r\n")
                    .find_map(|l| {
                        l.strip_prefix("Proxy-Authorization: ")
                            .or(l.strip_prefix("proxy-authorization: "))
                    })
                    .map(String::from);
                seen.lock().unwrap().push((line.clone(), auth));
                let mut parts = line.split(' ');
                let (method, target) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                if method == "CONNECT" {
                    let Ok(upstream) = TcpStream::connect(target) else {
                        return;
                    };
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap();
                    relay(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                    relay(upstream, client);
                    return;
                }
                // GET http://host:port/path: forward in origin form, one request per connection.
                let rest = target.strip_prefix("http://").unwrap_or_default();
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let Ok(mut upstream) = TcpStream::connect(authority) else {
                    return;
                };
                let headers: Vec<&str> = lines
                    .filter(|l| {
                        !l.is_empty() && !l.to_ascii_lowercase().starts_with("proxy-authorization")
                    })
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection"))
                    .collect();
                let forwarded = format!(
                    "{method} {path} HTTP/1.1\r\n{}\r\nConnection: close\r\n\r\n",
                    headers.join("\r\n")
                );
                upstream.write_all(forwarded.as_bytes()).unwrap();
                let _ = std::io::copy(&mut upstream, &mut client);
            });
        }
    });
    ForwardProxy { port, log }
}

#[test]
fn https_goes_through_a_connect_tunnel_with_the_proxys_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test Root");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert, key) = ca.leaf(&[NAME], false);
    let api = server(&cert, &key, None);
    let proxy = forward_proxy();
    let config = write(
        dir.path(),
        "config.json",
        r#"{"client": {"base_url": "https://api.example.com", "paginator": "single_page"}, "resources": ["items"]}"#,
    );
    let out = dir.path().join("out");
    let connect = format!("https://{NAME}=https://127.0.0.1:{}", api.port);
    let proxy_url = format!("http://user:pa%40ss@127.0.0.1:{}", proxy.port);
    let run_with = |env: &[(&str, &str)]| {
        let trust = ["--cacert", ca_file.to_str().unwrap()];
        let output = host_env(&run_args(&config, &out, &connect, &trust), env);
        assert_ok(&output);
    };
    run_with(&[("HTTPS_PROXY", &proxy_url), ("NO_PROXY", "")]);
    assert_eq!(
        std::fs::read_to_string(out.join("items.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    let log = proxy.log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].0, format!("CONNECT 127.0.0.1:{} HTTP/1.1", api.port));
    assert_eq!(
        log[0].1.as_deref(),
        Some("Basic dXNlcjpwYUBzcw=="),
        "user:pa@ss"
    );
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0.as_deref(), Some(NAME), "SNI through the tunnel");

    // no_proxy: straight to the API.
    run_with(&[("https_proxy", &proxy_url), ("no_proxy", "example.com")]);
    assert_eq!(
        proxy.log.lock().unwrap().len(),
        1,
        "the proxy saw nothing more"
    );
}

#[test]
fn plain_http_goes_to_the_proxy_in_absolute_form() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (config, secrets) = files(&api, dir.path());
    let proxy = forward_proxy();
    let out = dir.path().join("out");
    let connect = format!("https://api.example.com={}", api.url());
    let all = run_args(
        &config,
        &out,
        &connect,
        &["--secrets", secrets.to_str().unwrap()],
    );
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let output = host_env(&all, &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", "")]);
    assert_ok(&output);
    let rows = std::fs::read_to_string(out.join("wallets.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 317);
    let log = proxy.log.lock().unwrap().clone();
    let prefix = format!("GET {}/v1/", api.url());
    assert!(
        !log.is_empty() && log.iter().all(|(line, _)| line.starts_with(&prefix)),
        "{log:?}"
    );
    assert!(
        api.log()
            .iter()
            .all(|l| l.header("proxy-authorization").is_none())
    );
}

#[test]
fn a_proxy_does_not_widen_egress() {
    let api = DemoApi::start(DemoSpec::default(), 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let proxy = forward_proxy();
    // A tenant (internal addresses refused) whose config names the API on loopback, without allow_private.
    write(
        dir.path(),
        "config.json",
        &format!(
            r#"{{"client": {{"base_url": "{}", "paginator": "single_page"}}, "resources": ["items"]}}"#,
            api.url()
        ),
    );
    let tenant = write(
        dir.path(),
        "t.toml",
        &format!(
            "plugin = \"{}\"\nconfig = \"config.json\"\nout = \"out\"\n[egress]\nproxy = \"http://127.0.0.1:{}\"\n",
            component().display(),
            proxy.port
        ),
    );
    let output = host(&["run", "--tenant", tenant.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("an internal address"), "{stderr}");
    assert!(
        proxy.log.lock().unwrap().is_empty(),
        "the proxy never heard of it"
    );
}
