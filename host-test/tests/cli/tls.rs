//! TLS trust through the command line, on loopback, with a CA made in the test: a private CA is trusted through
//! `--cacert`, `SSL_CERT_FILE` and a tenant file's `ca_file`; self-signed, expired and wrong-name certificates
//! are refused with their reason in the error line; `--connect-to` verifies and sends SNI for the config's host
//! name; a server that asks for a client certificate gets one from `--cert`/`--key` or `client_cert`.

use crate::cli_support::tls_server::*;
use crate::cli_support::*;
use rcgen::{CertificateParams, IsCa, KeyPair};
use std::path::Path;

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
    let args = run_args(&config, &out, &connect, extra);
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
