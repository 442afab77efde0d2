//! Records kept as text give the same rows, schema and paging as records parsed and written again, and the text
//! path is taken only where it is safe.

use crate::engine::{Engine, Now, Page, Step};
use crate::request::HttpResponse;
use serde_json::{Value, json};

/// Two pages of records with line breaks, escapes, `1.50` and a big integer in their text.
const PAGES: [&str; 2] = [
    "{\"total\": 3, \"data\": [{\"id\": 1, \"x\": 1.50,\n \"s\": \"a\\\"b\\u00e9\", \"at\": \"2024-01-02\"},\r\n {\"id\": 18446744073709551616, \"n\": null}]}",
    r#"{"total": 3, "data": [{"id": 3, "x": 2, "nested": {"k": [1, "v"]}, "at": "2024-01-02T00:00:00Z"}]}"#,
];

fn config(endpoint: Value) -> Value {
    let mut endpoint = endpoint;
    endpoint["path"] = json!("/v1/r");
    json!({"client": {"base_url": "https://api.example.com"},
           "resources": [{"name": "r", "endpoint": endpoint}]})
}

/// Run `config` over `bodies` (answered in order): the pages and the URLs requested.
fn run(config: Value, bodies: &[&str]) -> (Vec<Page>, Vec<String>) {
    let text = config.to_string();
    let mut engine = Engine::new(&text, &config, vec![], None).unwrap_or_else(|e| panic!("{e}"));
    let (mut pages, mut urls, mut next) = (Vec::new(), Vec::new(), bodies.iter());
    loop {
        match engine
            .poll(Now::default())
            .unwrap_or_else(|e| panic!("{e}"))
        {
            Step::Send(request) => {
                urls.push(request.url);
                let body = next.next().expect("no more requests than bodies");
                let response = HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: body.as_bytes().to_vec(),
                };
                engine.on_response(Now::default(), response).unwrap();
            }
            Step::Page(page) => pages.push(page),
            Step::Sleep { .. } => panic!("no retries expected"),
            Step::Done => return (pages, urls),
        }
    }
}

fn lines(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| {
            String::from_utf8(p.records.clone())
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn values(pages: &[Page]) -> Vec<Value> {
    lines(pages)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn text_records_match_parsed_records() {
    let paginator = json!({"type": "offset", "limit": 2});
    let (raw, raw_urls) = run(
        config(json!({"data_selector": "data", "paginator": paginator})),
        &PAGES,
    );
    let (parsed, parsed_urls) = run(
        config(json!({"data_selector": "$.data[*]", "paginator": paginator})),
        &PAGES,
    );
    assert_eq!(raw_urls, parsed_urls, "the same pages are requested");
    assert_eq!(values(&raw), values(&parsed), "the same rows");
    let changes = |pages: &[Page]| {
        pages
            .iter()
            .map(|p| p.schema_changes.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(changes(&raw), changes(&parsed), "the same schema changes");
    let counts = |pages: &[Page]| pages.iter().map(|p| p.record_count).collect::<Vec<_>>();
    assert_eq!(counts(&raw), vec![2, 1]);
    assert_eq!(counts(&parsed), vec![2, 1]);
    let raw_lines = lines(&raw);
    assert!(
        raw_lines[0].contains("1.50") && raw_lines[0].contains("\\u00e9"),
        "{}",
        raw_lines[0]
    );
    assert!(
        raw_lines[1].contains("18446744073709551616"),
        "big integers keep every digit"
    );
    assert!(
        lines(&parsed)[0].starts_with(r#"{"id":1,"x":1.50,"#),
        "the parsed path writes records again, numbers as they came"
    );
    assert!(
        lines(&parsed)[1].contains("18446744073709551616"),
        "on both paths"
    );
}

#[test]
fn a_detected_record_path_keeps_text_from_the_second_page_on() {
    let paginator = json!({"type": "offset", "limit": 2});
    let (pages, _) = run(config(json!({"paginator": paginator})), &PAGES);
    let lines = lines(&pages);
    assert!(
        !lines[0].contains("\"id\": 1"),
        "the first page detects the path"
    );
    let (pages, _) = run(
        config(json!({"paginator": paginator})),
        &[
            PAGES[0],
            &PAGES[0].replace("18446744073709551616", "2"),
            PAGES[1],
        ],
    );
    assert!(
        self::lines(&pages)[2].contains("\"id\": 1"),
        "later pages use it"
    );
}

#[test]
fn records_are_parsed_where_text_would_not_do() {
    let first = |endpoint: Value| lines(&run(config(endpoint), &PAGES).0)[0].clone();
    let offset = json!({"type": "offset", "limit": 2});
    // The paginator reads a path that starts where the records are.
    let nested = r#"{"result": {"items": [{"id": 1, "x": 1.50}], "total": 1}}"#;
    let shared = json!({"data_selector": "result.items",
                        "paginator": {"type": "offset", "limit": 2, "total_path": "result.total"}});
    let (pages, _) = run(config(shared), &[nested]);
    assert_eq!(lines(&pages), vec![r#"{"id":1,"x":1.50}"#.to_string()]);
    let cases = [
        // The records are not at a plain key path.
        json!({"data_selector": "$.data[0:2]", "paginator": offset}),
        // An incremental cursor reads every record.
        json!({"data_selector": "data", "paginator": offset,
               "incremental": {"cursor_path": "id", "initial_value": 0}}),
    ];
    for endpoint in cases {
        let line = first(endpoint.clone());
        assert!(!line.contains("\"id\": 1"), "{endpoint}: {line}");
    }
    assert!(first(json!({"data_selector": "data", "paginator": offset})).contains("\"id\": 1"));
}

/// Records kept as text meet the same depth cap as parsed ones: 127 levels pass, 128 do not, on both paths.
#[test]
fn both_paths_cap_depth_at_the_same_level() {
    let body = |nested: usize| {
        format!(
            r#"{{"data": [{{"id": 1, "a": {}1{}}}]}}"#,
            "[".repeat(nested),
            "]".repeat(nested)
        )
    };
    let outcome = |selector: &str, text: &str| {
        let config = config(json!({"data_selector": selector, "paginator": "single_page"}));
        let text_config = config.to_string();
        let mut engine = Engine::new(&text_config, &config, vec![], None).unwrap();
        let Ok(Step::Send(_)) = engine.poll(Now::default()) else {
            panic!("a request first")
        };
        let response = HttpResponse {
            status: 200,
            headers: vec![],
            body: text.as_bytes().to_vec(),
        };
        engine.on_response(Now::default(), response).is_ok()
    };
    for (levels, ok) in [(127, true), (128, false)] {
        let text = body(levels - 3);
        assert_eq!(outcome("data", &text), ok, "kept as text, {levels} levels");
        assert_eq!(outcome("$.data[*]", &text), ok, "parsed, {levels} levels");
    }
}
