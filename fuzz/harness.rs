//! What each fuzz target does with its input. The cargo fuzz targets (`fuzz/fuzz_targets`) and the corpus replay
//! test (`tests/fuzz_corpus.rs`, which runs every committed corpus file through these functions in CI) share it.
//!
//! Each function must return for any input without panicking. The invariants it checks on the way are
//! assertions, so a broken one is a crash the fuzzer reports.

use rest_api_source::hash::fingerprint;
use rest_api_source::request::HttpResponse;
use rest_api_source::retry::{RetryPolicy, parse_retry_after};
use rest_api_source::select::{self, Path};
use rest_api_source::template::{self, Lookup};
use rest_api_source::{Engine, Now, Step, config, detect, paginator, secrets};
use serde_json::Value;

/// The value every `{"secret": name}` reference resolves to: no error may ever show it.
const SECRET: &str = "Zq9-fuzz-secret-7Xw";
/// Most engine steps one input drives, so that every input ends.
const MAX_STEPS: usize = 200;

/// Configs the response and checkpoint targets run, one per paginator kind and shape the engine handles.
const CONFIGS: [&str; 9] = [
    r#"{"client": {"base_url": "https://api.example.com", "auth": {"type": "api_key", "name": "api_key", "api_key": {"secret": "k"}, "location": "query"}}, "resource_defaults": {"primary_key": "id", "write_disposition": "merge"}, "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data", "paginator": {"type": "offset", "limit": 2, "total_path": "total"}}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com/"}, "resources": ["items"]}"#,
    r#"{"client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": {"secret": "t"}}}, "resources": [{"name": "r", "endpoint": {"path": "r", "paginator": {"type": "json_link", "next_url_path": "next"}, "data_selector": "results"}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {"path": "r", "paginator": {"type": "cursor", "cursor_path": "meta.next", "cursor_param": "after"}, "data_selector": "$.data[*]"}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {"path": "r", "paginator": {"type": "page_number", "base_page": 1, "total_path": "pages"}}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com", "paginator": "header_link"}, "resources": [{"name": "r", "endpoint": {"path": "r", "response_actions": [{"status_code": 404, "action": "ignore"}, {"content": "empty", "action": "ignore"}]}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "parents", "endpoint": {"path": "p", "paginator": "single_page"}}, {"name": "kids", "include_from_parent": ["id"], "endpoint": {"path": "p/{resources.parents.id}/k", "paginator": {"type": "offset", "limit": 1}}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {"path": "r", "params": {"since": "{incremental.start_value}"}, "incremental": {"cursor_path": "updated_at", "initial_value": "2024-01-01T00:00:00Z"}, "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "c"}}}]}"#,
    r#"{"client": {"base_url": "https://api.example.com", "auth": {"type": "oauth2_client_credentials", "access_token_url": "https://auth.example.com/token", "client_id": {"secret": "id"}, "client_secret": {"secret": "s"}}}, "resources": [{"name": "r", "endpoint": {"path": "r", "method": "POST", "json": {"page": 1}, "paginator": {"type": "json_response", "next_url_path": "links.next"}}}]}"#,
];

fn at(ms: u64) -> Now {
    Now {
        monotonic_ms: ms,
        unix_ms: 1_700_000_000_000u64.saturating_add(ms),
    }
}

/// A config text with its secret references resolved, as the component does it. A config that names no secret
/// gives no guarantee about [`SECRET`]: it may hold that text itself.
fn engine_for(text: &str, checkpoint: Option<&str>) -> Option<Result<Engine, String>> {
    let mut value: Value = serde_json::from_str(text).ok()?;
    let secrets = match secrets::resolve(&mut value, |_| Ok(SECRET.to_string())) {
        Ok(secrets) => secrets,
        Err(e) => return Some(Err(e.to_string())),
    };
    let uses_secrets = !secrets.is_empty();
    let engine = Engine::new(text, &value, secrets, checkpoint).map_err(|e| e.to_string());
    if let (Err(message), true) = (&engine, uses_secrets) {
        assert!(!message.contains(SECRET), "a secret in: {message}");
    }
    Some(engine)
}

/// Config parsing and validation: the input is the config text.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let _ = config::parse(&value).map_err(|e| e.to_string());
    }
    if let Some(Ok(mut engine)) = engine_for(text, None) {
        // The first step: a request (or a token request), never a panic.
        if let Ok(Step::Send(request)) = engine.poll(at(0)) {
            assert!(!request.url.is_empty());
        }
    }
}

/// A response as the fuzzer writes it: the status on the first line, then header lines, a blank line, the body.
fn response(chunk: &[u8]) -> HttpResponse {
    let split = chunk.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&chunk[..i], &chunk[i + 2..]),
        None => (chunk, &b""[..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(200);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// Response handling end to end: the first byte picks a config, the rest are responses separated by `\n---\n`,
/// fed to the engine in turn (a response of `!` is a transport error). Every page's checkpoint must resume.
pub fn responses(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = CONFIGS[pick as usize % CONFIGS.len()];
    let Some(Ok(mut engine)) = engine_for(text, None) else {
        panic!("config {pick} must be valid");
    };
    drive(&mut engine, text, rest);
}

/// Drive `engine` on the responses in `input`. When the config names secrets, no error and no checkpoint may
/// show one, whatever the responses hold.
fn drive(engine: &mut Engine, config_text: &str, input: &[u8]) {
    let guarded = config_text.contains(r#"{"secret":"#);
    let shows_secret = |text: &str| guarded && text.contains(SECRET);
    let mut chunks = Chunks { rest: Some(input) };
    let mut now = 0u64;
    for _ in 0..MAX_STEPS {
        let step = match engine.poll(at(now)) {
            Ok(step) => step,
            Err(e) => {
                let message = e.to_string();
                assert!(!shows_secret(&message), "a secret in: {message}");
                return;
            }
        };
        match step {
            Step::Send(_) => {
                let Some(chunk) = chunks.next() else {
                    return;
                };
                now = now.saturating_add(1);
                let fed = match chunk {
                    b"!" => engine.on_transport_error(at(now), "connection reset", true),
                    _ => engine.on_response(at(now), response(chunk)),
                };
                if let Err(e) = fed {
                    assert!(!shows_secret(&e.to_string()), "a secret in: {e}");
                    return;
                }
            }
            Step::Sleep { until_ms } => now = until_ms.max(now),
            Step::Page(page) => {
                assert_eq!(
                    page.records.iter().filter(|&&b| b == b'\n').count(),
                    page.record_count as usize,
                    "one line per record"
                );
                assert!(!shows_secret(&page.checkpoint), "a secret in a checkpoint");
                if let Some(Err(e)) = engine_for(config_text, Some(&page.checkpoint)) {
                    panic!("a page's checkpoint does not resume: {e}");
                }
            }
            Step::Done => return,
        }
    }
}

/// Responses in one input, separated by `\n---\n`.
struct Chunks<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match rest.windows(5).position(|w| w == b"\n---\n") {
            Some(i) => {
                self.rest = Some(&rest[i + 5..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// JSONPath selectors: the first line is the path, the rest a JSON document it selects from. Records kept as text
/// must be the records the parsed path takes.
pub fn jsonpath(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path_text, doc_text) = text.split_once('\n').unwrap_or((text, "null"));
    let Ok(path) = Path::parse(path_text) else {
        return;
    };
    let Ok(doc) = serde_json::from_str::<Value>(doc_text) else {
        return;
    };
    let _ = path.first(&doc);
    let selection = path.locate(&doc);
    let count = selection.count(&doc);
    let mut taken = doc.clone();
    assert_eq!(
        selection.take(&mut taken).len(),
        count,
        "count and take agree"
    );
    let Some(keys) = path.keys() else {
        return;
    };
    let pointer: String = keys
        .iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect();
    if let (Some(page), Some(Value::Array(items))) = (
        select::raw::parse(doc_text.as_bytes(), &keys),
        doc.pointer(&pointer),
    ) {
        let raw: Vec<Value> = page
            .records
            .iter()
            .filter_map(|r| serde_json::from_str(r.get()).ok())
            .collect();
        assert_eq!(&raw, items, "records kept as text are the parsed records");
    }
    let _ = select::detect_data_path(&doc);
}

/// `Link` and `Retry-After` headers: each input line is a header (`Name: value`).
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<(String, String)> = text
        .lines()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => ("link".to_string(), l.to_string()),
        })
        .collect();
    let url = "https://api.example.com/v1/r?page=2";
    if let Ok(base) = url::Url::parse(url)
        && let Some(next) = paginator::link_target(&headers, "next", &base)
    {
        assert!(!next.is_empty());
    }
    let _ = detect::detect_paginator(&headers, &Value::Null, url);
    let policy = RetryPolicy::default();
    let cap_ms = (policy.max_delay_s.max(0.0) * 1000.0) as u64;
    for (_, value) in &headers {
        let _ = parse_retry_after(value, 1_700_000_000_000);
        assert!(
            policy.delay_ms(3, Some(value), 1_700_000_000_000) <= cap_ms,
            "waits are capped"
        );
    }
}

/// Checkpoint parsing: the first byte picks a config, the rest is the checkpoint text to resume from; a resumed
/// engine then gets one empty page. A checkpoint that is a JSON object gets the config's fingerprint, so that
/// inputs get past that check to the rest of the loading.
pub fn checkpoint(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(mut text) = std::str::from_utf8(rest).map(String::from) else {
        return;
    };
    let config_text = CONFIGS[pick as usize % CONFIGS.len()];
    if let Ok(Value::Object(mut cp)) = serde_json::from_str::<Value>(&text) {
        cp.insert("config".into(), fingerprint(config_text).into());
        text = Value::Object(cp).to_string();
    }
    if let Some(Ok(mut engine)) = engine_for(config_text, Some(&text)) {
        drive(
            &mut engine,
            config_text,
            b"200\n\n{\"data\": [], \"results\": []}",
        );
    }
}

/// Values a template placeholder may stand for: every JSON kind, numbers at their edges.
const PLACEHOLDER_VALUES: [&str; 9] = [
    "42",
    "-0.9862926128870997",
    "18446744073709551617",
    "1e400",
    "\"2024-01-02T03:04:05Z\"",
    "true",
    "null",
    "[1, \"two\"]",
    "{\"a\": {\"b\": 1}}",
];

/// Fills every placeholder with one of [`PLACEHOLDER_VALUES`], picked by the name's length.
struct AnyValue;

impl Lookup for AnyValue {
    fn value(&self, name: &str) -> Result<Value, String> {
        let text = PLACEHOLDER_VALUES[name.len() % PLACEHOLDER_VALUES.len()];
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// Templates with format specs and conversions (`{name!r:>10.3f}`): the input is the template. What the
/// configure-time check accepts must render without panicking, within the width it allows.
pub fn templates(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let as_value = Value::String(text.to_string());
    let checked = template::expressions(&as_value).is_ok();
    if let Ok(out) = template::render_str(&text, &AnyValue) {
        let longest = PLACEHOLDER_VALUES
            .iter()
            .map(|v| v.len() * 4)
            .max()
            .unwrap_or(0);
        let fields = text.matches('{').count();
        assert!(
            out.len() <= text.len() + fields * (template::MOST_WIDTH + longest) * 4,
            "a rendered template grew past its widths"
        );
    }
    let _ = template::render_value(&as_value, &AnyValue, checked);
}
