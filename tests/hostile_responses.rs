//! The hostile-response catalogue: what third-party APIs send when they misbehave, fed to the engine, each with
//! its expected outcome (an error naming the problem, or the rows and requests that follow). The transport-level
//! cases (a `Content-Length` lie, an oversized body, compression) run through the host in `hostile_transport.rs`.

use rest_api_source::request::{HttpRequest, HttpResponse};
use rest_api_source::{Engine, Now, Step};
use serde_json::{Value, json};

/// Most requests one case may make: an API that never stops paging is cut off here (and the case says so).
const MAX_REQUESTS: usize = 40;

/// What a run of the engine on scripted responses came to.
#[derive(Debug, Default)]
struct Outcome {
    requests: Vec<HttpRequest>,
    rows: Vec<Value>,
    error: Option<String>,
    waits_ms: Vec<u64>,
    /// The engine still wanted more after [`MAX_REQUESTS`].
    cut_off: bool,
    /// The engine's notes (warnings) for the host's log.
    notes: Vec<String>,
}

/// Run `config` with `key` as its `{"secret": "key"}`, answering request `i` with `responses[i]` (the last one
/// again once they run out).
fn run(config: Value, responses: &[HttpResponse]) -> Outcome {
    let mut value = config.clone();
    let secrets = rest_api_source::secrets::resolve(&mut value, |_| Ok(KEY.to_string())).unwrap();
    let mut engine = Engine::new(&config.to_string(), &value, secrets, None).unwrap();
    let mut out = Outcome::default();
    let mut now = 0u64;
    loop {
        let at = Now {
            monotonic_ms: now,
            unix_ms: 1_700_000_000_000 + now,
        };
        match engine.poll(at) {
            Ok(Step::Send(request)) => {
                if out.requests.len() == MAX_REQUESTS {
                    out.cut_off = true;
                    return out;
                }
                let i = out.requests.len().min(responses.len() - 1);
                out.requests.push(request);
                engine.on_response(at, responses[i].clone()).unwrap_or(());
            }
            Ok(Step::Sleep { until_ms }) => {
                out.waits_ms.push(until_ms - now);
                now = until_ms;
            }
            Ok(Step::Page(page)) => {
                let text = String::from_utf8(page.records).expect("pages are UTF-8");
                out.rows.extend(
                    text.lines()
                        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line")),
                );
            }
            Ok(Step::Done) => {
                out.notes = engine.take_notes();
                return out;
            }
            Err(e) => {
                out.error = Some(e.to_string());
                out.notes = engine.take_notes();
                return out;
            }
        }
    }
}

const KEY: &str = "k3y-VALUE";

fn resp(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

fn ok(body: impl Into<Vec<u8>>) -> HttpResponse {
    resp(200, &[], body)
}

fn json(value: Value) -> HttpResponse {
    ok(value.to_string())
}

/// One resource at `https://api.example.com/items` with this endpoint (an API key in the query).
fn config(endpoint: Value) -> Value {
    let mut endpoint = endpoint;
    endpoint["path"] = json!("items");
    json!({
        "client": {"base_url": "https://api.example.com",
                   "auth": {"type": "api_key", "name": "key", "api_key": {"secret": "key"}, "location": "query"}},
        "resources": [{"name": "items", "endpoint": endpoint}]
    })
}

fn offset() -> Value {
    config(
        json!({"data_selector": "data", "paginator": {"type": "offset", "limit": 2, "total_path": "total"}}),
    )
}

fn cursor() -> Value {
    config(
        json!({"data_selector": "data", "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "after"}}),
    )
}

fn link() -> Value {
    config(
        json!({"data_selector": "data", "paginator": {"type": "json_link", "next_url_path": "next"}}),
    )
}

fn auto() -> Value {
    config(json!({}))
}

fn oauth() -> Value {
    json!({
        "client": {"base_url": "https://api.example.com",
                   "auth": {"type": "oauth2_client_credentials", "access_token_url": "https://auth.example.com/token",
                            "client_id": "app", "client_secret": {"secret": "key"}}},
        "resources": [{"name": "items", "endpoint": {"path": "items", "paginator": "single_page"}}]
    })
}

/// `config` with `value` set at `pointer` (whose parent exists).
fn with(mut config: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    config.pointer_mut(parent).expect("the parent exists")[key] = value;
    config
}

/// What a case must come to.
enum Expect {
    /// The run ends with an error containing this text, after this many rows.
    Fails(&'static str, usize),
    /// The run ends without error with this many rows.
    Rows(usize),
    /// The run ends without error with exactly these rows, as JSON text.
    Exact(&'static [&'static str]),
    /// The run ends without error with this many rows, and a warning containing this text.
    Warns(&'static str, usize),
    /// The API never stops paging: the engine is still asking after [`MAX_REQUESTS`], with a row per page.
    Endless,
}

/// The catalogue: name, config, responses, expected outcome.
fn catalogue() -> Vec<(&'static str, Value, Vec<HttpResponse>, Expect)> {
    use Expect::*;
    let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
    let never_ending: Vec<HttpResponse> = (0..MAX_REQUESTS + 5)
        .map(|i| json(json!({"data": [{"id": i}], "next": format!("c{}", i + 1)})))
        .collect();
    vec![
        (
            "not JSON",
            offset(),
            vec![ok("hello")],
            Fails("body is not JSON: expected value at line 1 column 1", 0),
        ),
        (
            "an HTML error page with status 200",
            offset(),
            vec![resp(
                200,
                &[("content-type", "text/html")],
                "<html><body>Error</body></html>",
            )],
            Fails("body is not JSON", 0),
        ),
        (
            "an empty body",
            offset(),
            vec![ok("")],
            Fails("body is not JSON: EOF while parsing a value", 0),
        ),
        (
            "204 No Content",
            offset(),
            vec![resp(204, &[], "")],
            Fails("body is not JSON: EOF", 0),
        ),
        (
            "a JSON null body: no records, with a warning",
            offset(),
            vec![ok("null")],
            Warns("the data selector `data` matches nothing", 0),
        ),
        (
            "nesting deeper than the parser's 128 levels",
            auto(),
            vec![ok(deep)],
            Fails(
                "nests arrays and objects deeper than 128 levels (client.max_response_depth)",
                0,
            ),
        ),
        (
            "nesting deeper than a configured cap",
            with(offset(), "/client/max_response_depth", json!(3)),
            vec![json(json!({"data": [{"a": {"b": [1]}}], "total": 1}))],
            Fails("deeper than 3 levels (client.max_response_depth)", 0),
        ),
        (
            "a body over the configured size cap",
            with(offset(), "/client/max_response_bytes", json!(64)),
            vec![json(
                json!({"data": [{"id": 1, "pad": "x".repeat(100)}], "total": 1}),
            )],
            Fails(
                "the response body is larger than 64 bytes (client.max_response_bytes)",
                0,
            ),
        ),
        (
            "a number beyond a double is kept as the API wrote it",
            offset(),
            vec![ok(r#"{"data": [{"id": 1e400}], "total": 1}"#)],
            Exact(&[r#"{"id":1e+400}"#]),
        ),
        (
            "an integer beyond 64 bits keeps every digit",
            offset(),
            vec![ok(
                r#"{"data": [{"id": 123456789012345678901234567890}], "total": 1}"#,
            )],
            Exact(&[r#"{"id":123456789012345678901234567890}"#]),
        ),
        (
            "invalid UTF-8 in a string",
            offset(),
            vec![ok(
                b"{\"data\": [{\"n\": \"\xff\xfe\"}], \"total\": 1}".to_vec()
            )],
            Fails("body is not JSON: invalid unicode code point", 0),
        ),
        (
            "NaN is not JSON",
            offset(),
            vec![ok(r#"{"data": [NaN], "total": 1}"#)],
            Fails("body is not JSON", 0),
        ),
        (
            "a byte order mark is dropped",
            offset(),
            vec![ok("\u{feff}{\"data\": [{\"id\": 1}], \"total\": 1}")],
            Rows(1),
        ),
        (
            "the data selector points at a scalar: wrapped as dlt wraps it",
            offset(),
            vec![json(json!({"data": 5, "total": 1}))],
            Exact(&[r#"{"value":5}"#]),
        ),
        (
            "the data selector points at an object: one record",
            offset(),
            vec![json(json!({"data": {"id": 1}, "total": 1}))],
            Rows(1),
        ),
        (
            "the data selector finds nothing: no records, and a warning",
            offset(),
            vec![json(json!({"other": [], "total": 1}))],
            Warns("the data selector `data` matches nothing in the page", 0),
        ),
        (
            "an error object with status 200: no records, paging ends, and a warning",
            offset(),
            vec![json(json!({"error": "rate limited"}))],
            Warns("an error object sent with status 200 looks like this", 0),
        ),
        (
            "records that are not objects are wrapped as dlt wraps them",
            offset(),
            vec![
                json(json!({"data": [1, "two"], "total": 4})),
                json(json!({"data": [null, [3]], "total": 4})),
            ],
            Exact(&[
                r#"{"value":1}"#,
                r#"{"value":"two"}"#,
                r#"{"value":null}"#,
                r#"{"value":[3]}"#,
            ]),
        ),
        (
            "a record without its primary key, kept as text",
            with(offset(), "/resources/0/primary_key", json!("id")),
            vec![json(
                json!({"data": [{"id": 1}, {"name": "x"}], "total": 2}),
            )],
            Fails(
                "a record has no value for its primary key `id` (primary_key)",
                0,
            ),
        ),
        (
            "a scalar record with a primary key",
            with(offset(), "/resources/0/primary_key", json!("id")),
            vec![json(json!({"data": 5, "total": 1}))],
            Fails("a record has no value for its primary key `id`", 0),
        ),
        (
            "a record whose primary key is null, parsed",
            with(
                config(json!({"data_selector": "$.data[*]", "paginator": "single_page"})),
                "/resources/0/primary_key",
                json!(["id"]),
            ),
            vec![json(json!({"data": [{"id": null}]}))],
            Fails("a record has no value for its primary key `id`", 0),
        ),
        (
            "a record nested past the parser's depth, kept as text",
            offset(),
            vec![ok(format!(
                r#"{{"data": [{{"id": 1, "deep": {}1{}}}], "total": 1}}"#,
                "[".repeat(100_000),
                "]".repeat(100_000)
            ))],
            Fails(
                "nests arrays and objects deeper than 128 levels (client.max_response_depth)",
                0,
            ),
        ),
        (
            "a record with a key twice: the last wins",
            offset(),
            vec![ok(r#"{"data": [{"id": 1, "id": 2}], "total": 1}"#)],
            Rows(1),
        ),
        (
            "a total that is a numeric string",
            offset(),
            vec![
                json(json!({"data": [{"id": 1}, {"id": 2}], "total": "3"})),
                json(json!({"data": [{"id": 3}], "total": "3"})),
            ],
            Rows(3),
        ),
        (
            "a negative total is an error, not the end",
            offset(),
            vec![json(json!({"data": [{"id": 1}, {"id": 2}], "total": -1}))],
            Fails(
                "the total at `total` (total_path) is -1 in `OffsetPaginator`: a negative total cannot be right",
                0,
            ),
        ),
        (
            "a null total",
            offset(),
            vec![json(json!({"data": [{"id": 1}], "total": null}))],
            Fails("Total `total` not found in the response", 0),
        ),
        (
            "a huge total and then an empty page",
            offset(),
            vec![
                json(json!({"data": [{"id": 1}, {"id": 2}], "total": 1e18})),
                json(json!({"data": [], "total": 1e18})),
            ],
            Rows(2),
        ),
        (
            "a cursor that repeats",
            cursor(),
            vec![json(json!({"data": [{"id": 1}], "next": "c1"}))],
            Fails("pagination does not advance", 1),
        ),
        (
            "a cursor that never ends",
            cursor(),
            never_ending.clone(),
            Endless,
        ),
        (
            "a cursor that never ends, under max_pages",
            with(cursor(), "/resources/0/endpoint/max_pages", json!(5)),
            never_ending,
            Rows(5),
        ),
        (
            "a next link to itself",
            link(),
            vec![json(
                json!({"data": [{"id": 1}], "next": "https://api.example.com/items"}),
            )],
            Fails("pagination does not advance", 1),
        ),
        (
            "a next link to another host gets no credentials",
            link(),
            vec![
                json(json!({"data": [{"id": 1}], "next": "https://evil.example.net/steal"})),
                json(json!({"data": [], "next": null})),
            ],
            Rows(1),
        ),
        (
            "a next link to ftp",
            link(),
            vec![json(
                json!({"data": [{"id": 1}], "next": "ftp://api.example.com/x"}),
            )],
            Fails("next URL `ftp://api.example.com/x` is not http or https", 0),
        ),
        (
            "a next link that is a number",
            link(),
            vec![json(json!({"data": [{"id": 1}], "next": 7}))],
            Fails("next URL at `next` is not a string: 7", 0),
        ),
        (
            "a Link header to a javascript: URL",
            config(json!({"paginator": "header_link"})),
            vec![resp(
                200,
                &[("link", r#"<javascript:alert(1)>; rel="next""#)],
                "[{\"id\": 1}]",
            )],
            Fails("is not http or https", 0),
        ),
        (
            "a Link header that does not parse ends paging, with a warning",
            config(json!({"paginator": "header_link"})),
            vec![resp(
                200,
                &[("link", "<<<>>>; rel=next; ,,,")],
                "[{\"id\": 1}]",
            )],
            Warns(
                "the Link header of the page from https://api.example.com/items?key=*** cannot be read",
                1,
            ),
        ),
        (
            "500 on every attempt",
            offset(),
            vec![resp(500, &[], "oops")],
            Fails("failed after 5 attempts (status 500)", 0),
        ),
        (
            "a 301 redirect is followed",
            offset(),
            vec![
                resp(
                    301,
                    &[("location", "https://api.example.com/elsewhere")],
                    "",
                ),
                json(json!({"data": [{"id": 1}], "total": 1})),
            ],
            Rows(1),
        ),
        (
            "a redirect to itself is a loop",
            offset(),
            vec![resp(
                302,
                &[("location", "https://api.example.com/items?offset=0&limit=2")],
                "",
            )],
            Fails("a redirect loop", 0),
        ),
        (
            "a 300 is not followed",
            offset(),
            vec![resp(
                300,
                &[("location", "https://api.example.com/elsewhere")],
                "",
            )],
            Fails("status 300 is not a redirect that is followed", 0),
        ),
        (
            "an error body that echoes the key",
            offset(),
            vec![resp(400, &[], format!("bad key {KEY}"))],
            Fails("(status 400)", 0),
        ),
        (
            "a token response that is not JSON",
            oauth(),
            vec![ok("<html>login</html>")],
            Fails("token response is not JSON", 0),
        ),
        (
            "a token response without a token",
            oauth(),
            vec![json(json!({"token_type": "bearer"}))],
            Fails("access_token", 0),
        ),
        (
            "a bare scalar body: one record, wrapped",
            auto(),
            vec![ok("42")],
            Exact(&[r#"{"value":42}"#]),
        ),
    ]
}

#[test]
fn each_hostile_response_has_its_expected_outcome() {
    let cases = catalogue();
    assert!(
        cases.len() >= 30,
        "the catalogue has {} responses",
        cases.len()
    );
    for (name, config, responses, expect) in cases {
        let o = run(config, &responses);
        let error = o.error.clone().unwrap_or_default();
        assert!(!error.contains(KEY), "{name}: the key in {error}");
        match expect {
            Expect::Fails(text, rows) => {
                assert!(
                    error.contains(text),
                    "{name}: expected an error with {text:?}, got {o:?}"
                );
                assert_eq!(o.rows.len(), rows, "{name}");
            }
            Expect::Rows(rows) => {
                assert!(o.error.is_none() && !o.cut_off, "{name}: {o:?}");
                assert_eq!(o.rows.len(), rows, "{name}: {o:?}");
            }
            Expect::Warns(text, rows) => {
                assert!(o.error.is_none() && !o.cut_off, "{name}: {o:?}");
                assert_eq!(o.rows.len(), rows, "{name}: {o:?}");
                assert!(
                    o.notes.iter().any(|n| n.contains(text)),
                    "{name}: {:?}",
                    o.notes
                );
            }
            Expect::Exact(rows) => {
                assert!(o.error.is_none() && !o.cut_off, "{name}: {o:?}");
                let texts: Vec<String> = o.rows.iter().map(Value::to_string).collect();
                assert_eq!(texts, rows, "{name}");
            }
            Expect::Endless => {
                assert!(o.cut_off && o.error.is_none(), "{name}: {o:?}");
                assert_eq!(o.rows.len(), MAX_REQUESTS, "{name}");
            }
        }
    }
}

#[test]
fn credentials_never_leave_the_configured_origins() {
    for (name, config, responses, _) in catalogue() {
        for request in run(config, &responses).requests {
            let ours = ["https://api.example.com/", "https://auth.example.com/"]
                .iter()
                .any(|o| request.url.starts_with(o));
            let carries_key = request.url.contains(KEY)
                || request.headers.iter().any(|(_, v)| v.contains(KEY))
                || request
                    .body
                    .as_ref()
                    .is_some_and(|b| String::from_utf8_lossy(b).contains(KEY));
            assert!(
                ours || !carries_key,
                "{name}: the key went to {}",
                request.url
            );
        }
    }
}

#[test]
fn waits_are_capped_and_junk_retry_after_falls_back_to_backoff() {
    let cases = [
        ("99999999", 300_000),
        ("soon", 1_000),
        ("-5", 1_000),
        ("2", 2_000),
    ];
    for (retry_after, wait_ms) in cases {
        let responses = [
            resp(429, &[("retry-after", retry_after)], ""),
            json(json!({"data": [], "total": 0})),
        ];
        let o = run(offset(), &responses);
        assert_eq!(o.waits_ms, [wait_ms], "Retry-After: {retry_after}");
        assert!(o.error.is_none() && o.requests.len() == 2, "{o:?}");
    }
}

/// A request of 100,000 params fails with an error line of at most a few thousand characters: each URL and
/// message loses its middle past its cap.
#[test]
fn error_lines_stay_short_whatever_the_request() {
    let params: serde_json::Map<String, Value> =
        (0..100_000).map(|i| (format!("p{i}"), json!(i))).collect();
    let config = with(
        offset(),
        "/resources/0/endpoint/params",
        Value::Object(params),
    );
    let o = run(config, &[resp(500, &[], "x".repeat(1_000_000))]);
    let error = o.error.expect("the run fails");
    assert!(error.len() < 3000, "{} characters", error.len());
    assert!(
        error.contains("https://api.example.com/items?p0=0&p1=1"),
        "{error}"
    );
    assert!(error.contains('…'), "{error}");
}
