//! TLS trust through the command line, on loopback, with a CA made in the test: a private CA is trusted through
//! `--cacert`, `SSL_CERT_FILE` and a tenant file's `ca_file`; self-signed, expired and wrong-name certificates
//! are refused with their reason in the error line; `--connect-to` verifies and sends SNI for the config's host
//! name; a server that asks for a client certificate gets one from `--cert`/`--key` or `client_cert`.

mod cli_support;

use cli_support::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The name the config asks for.
const NAME: &str = "api.example.com";

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// A server certificate for `names`, valid now (or expired), and its key, as PEM.
    fn leaf(&self, names: &[&str], expired: bool) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

/// A TLS server on loopback answering every request with one JSON record; it records the SNI names it saw
/// and whether a client certificate came.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Handshake>>>,
}

/// The SNI name a handshake sent, and whether a client certificate came.
type Handshake = (Option<String>, bool);

fn server(cert_pem: &str, key_pem: &str, client_ca: Option<&Ca>) -> Server {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.issuer.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, log) = (config.clone(), log.clone());
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let sni = tls.conn.server_name().map(String::from);
                let client = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
                log.lock().unwrap().push((sni, client));
                let body = r#"[{"id": 1}]"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    Server { port, seen }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `host-test run` of a one-resource config at https://api.example.com, connected to `server`, with `extra`
/// arguments and `env`: (success, stdout + stderr).
fn run(dir: &Path, server: &Server, extra: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let config = write(
        dir,
        "config.json",
        r#"{"client": {"base_url": "https://api.example.com", "paginator": "single_page",
            "error_handler": {"max_retries": 0}}, "resources": ["items"]}"#,
    );
    let out = dir.join("out");
    let connect = format!("https://{NAME}=https://127.0.0.1:{}", server.port);
    let mut args = vec![
        "run",
        "--plugin",
        component().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--connect-to",
        &connect,
    ];
    args.extend_from_slice(extra);
    let output = host_env(&args, env);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_private_ca_is_trusted_through_each_route() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test Root");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert, key) = ca.leaf(&[NAME], false);
    let api = server(&cert, &key, None);

    let (ok, text) = run(dir.path(), &api, &[], &[]);
    assert!(!ok, "not trusted without the CA: {text}");
    assert!(
        text.contains("TLS certificate of api.example.com not accepted"),
        "{text}"
    );
    assert!(
        text.contains("UnknownIssuer"),
        "the reason in the error line: {text}"
    );
    assert!(
        text.contains("failed after 1 attempt"),
        "not retried: {text}"
    );

    let (ok, text) = run(
        dir.path(),
        &api,
        &["--cacert", ca_file.to_str().unwrap()],
        &[],
    );
    assert!(ok, "--cacert: {text}");
    let (ok, text) = run(
        dir.path(),
        &api,
        &[],
        &[("SSL_CERT_FILE", ca_file.to_str().unwrap())],
    );
    assert!(ok, "SSL_CERT_FILE: {text}");
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    write(&certs, "test-root.pem", &ca.pem());
    let (ok, text) = run(
        dir.path(),
        &api,
        &[],
        &[("SSL_CERT_DIR", certs.to_str().unwrap())],
    );
    assert!(ok, "SSL_CERT_DIR: {text}");
    // --connect-to: SNI and verification use the config's name, not 127.0.0.1.
    let seen = api.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|(sni, _)| sni.as_deref() == Some(NAME)),
        "{seen:?}"
    );
}

#[test]
fn bad_certificates_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test Root");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let trust = ["--cacert", ca_file.to_str().unwrap()];
    let stranger = Ca::new("Somebody Else");
    let cases = [
        (stranger.leaf(&[NAME], false), "UnknownIssuer"),
        (ca.leaf(&[NAME], true), "certificate expired"),
        (
            ca.leaf(&["other.example.com"], false),
            "certificate not valid for name",
        ),
    ];
    for ((cert, key), reason) in cases {
        let api = server(&cert, &key, None);
        let (ok, text) = run(dir.path(), &api, &trust, &[]);
        assert!(!ok, "{reason}: {text}");
        assert!(
            text.contains("TLS certificate of api.example.com not accepted"),
            "{text}"
        );
        assert!(text.contains(reason), "{reason}: {text}");
    }
    // Self-signed: a certificate that is its own issuer, trusted by nobody.
    let own = Ca::new(NAME);
    let mut params = CertificateParams::new(vec![NAME.to_string()]).unwrap();
    params.is_ca = IsCa::NoCa;
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let api = server(&cert.pem(), &key.serialize_pem(), None);
    let (ok, text) = run(dir.path(), &api, &trust, &[]);
    assert!(!ok && text.contains("UnknownIssuer"), "self-signed: {text}");
    drop(own);
}

#[test]
fn a_client_certificate_is_presented_when_the_server_asks() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("Test Root");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert, key) = ca.leaf(&[NAME], false);
    let clients = Ca::new("Client CA");
    let api = server(&cert, &key, Some(&clients));
    let (client_cert, client_key) = clients.leaf(&["client.example.com"], false);
    let cert_file = write(dir.path(), "client.pem", &client_cert);
    let key_file = write(dir.path(), "client.key", &client_key);

    let trust = ["--cacert", ca_file.to_str().unwrap()];
    let (ok, text) = run(dir.path(), &api, &trust, &[]);
    assert!(!ok, "no client certificate: {text}");
    let mut with = trust.to_vec();
    with.extend([
        "--cert",
        cert_file.to_str().unwrap(),
        "--key",
        key_file.to_str().unwrap(),
    ]);
    let (ok, text) = run(dir.path(), &api, &with, &[]);
    assert!(ok, "{text}");
    assert!(api.seen.lock().unwrap().iter().any(|(_, client)| *client));

    // The same from a tenant file.
    let tenant = write(
        dir.path(),
        "acme.toml",
        &format!(
            r#"plugin = "{}"
config = "config.json"
out = "tenant-out"
[egress]
connect_to = {{ "https://{NAME}" = "https://127.0.0.1:{}" }}
[tls]
ca_file = "ca.pem"
client_cert = "client.pem"
client_key = "client.key"
"#,
            component().display(),
            api.port
        ),
    );
    let output = host(&["run", "--tenant", tenant.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "tenant file: {text}");
    let rows = std::fs::read_to_string(dir.path().join("tenant-out/items.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 1);
}
