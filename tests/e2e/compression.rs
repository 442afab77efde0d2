//! Compressed responses through the host, on loopback: every coding the host asks for is decoded, the
//! config's own `Accept-Encoding` wins, a coding the host does not decode is refused by name, a corrupt body
//! says which coding failed, and a body that inflates a thousandfold stops at `client.max_response_bytes`
//! with the guest's memory within the cap.

use crate::support::server::{Answer, RouteServer};
use crate::support::*;
use serde_json::{Value, json};
use std::io::Write;

fn rows_json(n: usize) -> String {
    let rows: Vec<String> = (1..=n)
        .map(|i| format!(r#"{{"id": {i}, "x": 0.9862926128870997, "name": "row \u00e9 {i}"}}"#))
        .collect();
    format!("[{}]", rows.join(", "))
}

fn encode(coding: &str, text: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(text).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut &text[..], &mut out, &Default::default()).unwrap();
            out
        }
        "zstd" => zstd::encode_all(text, 3).unwrap(),
        _ => text.to_vec(),
    }
}

fn config(client: Value) -> String {
    let mut config = json!({"client": {"base_url": "https://api.example.com", "paginator": "single_page",
                                       "error_handler": {"max_retries": 0}},
                            "resources": ["items"]});
    if let (Some(c), Value::Object(extra)) = (config["client"].as_object_mut(), client) {
        c.extend(extra);
    }
    config.to_string()
}

/// A server answering every request with `body` in `coding`.
fn serving(coding: &'static str, body: Vec<u8>) -> RouteServer {
    RouteServer::start(move |_| {
        Answer::json("")
            .with("Content-Encoding", coding)
            .body(body.clone())
    })
}

#[test]
fn every_coding_the_host_asks_for_is_decoded() {
    let text = rows_json(500);
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let encoded = encode(coding, text.as_bytes());
        assert!(encoded.len() * 5 < text.len(), "{coding} compresses");
        let api = serving(coding, encoded);
        let (result, dir) = run(&tenant_at(&api.url(), &config(json!({}))));
        result.unwrap_or_else(|e| panic!("{coding}: {e}"));
        let rows = rows(dir.path(), "items");
        assert_eq!(rows.len(), 500, "{coding}");
        assert_eq!(rows[499]["x"].to_string(), "0.9862926128870997", "{coding}");
        let seen = api.log();
        assert_eq!(
            seen[0].header("accept-encoding"),
            Some("gzip, deflate, br, zstd")
        );
    }
}

#[test]
fn the_configs_own_accept_encoding_wins() {
    let api = RouteServer::start(|seen| match seen.header("accept-encoding") {
        Some("identity") => Answer::json(r#"[{"id": 1}]"#),
        _ => Answer::status(406),
    });
    let config = config(json!({"headers": {"Accept-Encoding": "identity"}}));
    let (_, dir) = run_ok(&tenant_at(&api.url(), &config));
    assert_eq!(rows(dir.path(), "items").len(), 1);
}

#[test]
fn a_coding_the_host_does_not_decode_is_refused_by_name() {
    let api = serving("compress", b"\x1f\x9d\x90[".to_vec());
    let (result, _dir) = run(&tenant_at(&api.url(), &config(json!({}))));
    let error = result.expect_err("refused").to_string();
    assert!(
        error.contains("encoded with `compress` (Content-Encoding)"),
        "{error}"
    );
}

#[test]
fn a_corrupt_body_names_its_coding() {
    let mut gzip = encode("gzip", rows_json(50).as_bytes());
    let middle = gzip.len() / 2;
    gzip[middle..middle + 8].copy_from_slice(b"GARBAGE!");
    let api = serving("gzip", gzip);
    let (result, _dir) = run(&tenant_at(&api.url(), &config(json!({}))));
    let error = result.expect_err("refused").to_string();
    assert!(error.contains("does not decode as gzip"), "{error}");
}

/// A gzip body of `mib` MiB of zeros, built from one compressed MiB repeated: a sync flush after each MiB
/// leaves the compressor where it was, so the bytes for every MiB after the first two are the same. Its
/// trailer is never reached.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    let mut chunk = |out: &mut Vec<u8>| {
        let before = out.len();
        out.reserve(1 << 16);
        deflate
            .compress_vec(&zeros, out, flate2::FlushCompress::Sync)
            .unwrap();
        assert!(out.len() > before);
        out.split_off(before)
    };
    let mut out = Vec::new();
    let mut body = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut pieces: Vec<Vec<u8>> = (0..4).map(|_| chunk(&mut out)).collect();
    assert_eq!(pieces[2], pieces[3], "the compressor repeats itself");
    let steady = pieces.pop().unwrap();
    for p in &pieces {
        body.extend_from_slice(p);
    }
    for _ in pieces.len()..mib {
        body.extend_from_slice(&steady);
    }
    body
}

#[test]
fn a_body_that_inflates_a_thousandfold_stops_at_the_cap() {
    let bomb = gzip_bomb(2048);
    assert!(bomb.len() < 4 << 20, "a 2 GiB body in {} bytes", bomb.len());
    let baseline = {
        let api = serving("gzip", encode("gzip", b"[{\"id\": 1}]"));
        let (result, _dir) = run(&tenant_at(&api.url(), &config(json!({}))));
        result.unwrap_or_else(|e| panic!("{e}")).guest_memory_peak
    };
    let cap = 8u64 << 20;
    let api = serving("gzip", bomb);
    let (result, _dir) = run(&tenant_at(
        &api.url(),
        &config(json!({"max_response_bytes": cap})),
    ));
    let failure = result.expect_err("stopped at the cap");
    let error = failure.error.to_string();
    assert!(
        error.contains(&format!(
            "larger than {cap} bytes (client.max_response_bytes)"
        )),
        "{error}"
    );
    let grown = failure.summary.guest_memory_peak.saturating_sub(baseline);
    assert!(grown <= cap + 4 * 65536, "the guest grew {grown} bytes");
}

/// A body of several gzip members (or zstd frames) is decoded whole, as urllib3 decodes it.
#[test]
fn every_member_of_a_body_is_decoded() {
    for coding in ["gzip", "zstd"] {
        let mut body = encode(coding, br#"[{"id": 1}, "#);
        body.extend(encode(coding, br#"{"id": 2}]"#));
        let api = serving(coding, body);
        let (result, dir) = run(&tenant_at(&api.url(), &config(json!({}))));
        result.unwrap_or_else(|e| panic!("{coding}: {e}"));
        assert_eq!(rows(dir.path(), "items").len(), 2, "{coding}");
    }
}
