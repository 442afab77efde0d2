//! Paginator detection where dlt's guesses lose or repeat rows, and the guards that catch a wrong paginator.

use crate::engine::{Engine, Now, Step};
use crate::request::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

fn engine(endpoint: Value) -> Engine {
    let config = json!({"client": {"base_url": "https://api.example.com"},
                        "resources": [{"name": "r", "endpoint": endpoint}]});
    Engine::new(&config.to_string(), &config, vec![], None).unwrap_or_else(|e| panic!("{e}"))
}

fn param(r: &HttpRequest, name: &str) -> Option<String> {
    url::Url::parse(&r.url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Run to the end, answering each request with `answer`: the requests, the record ids, notes and the error.
fn drive(
    mut e: Engine,
    answer: impl Fn(&HttpRequest) -> Value,
) -> (Vec<HttpRequest>, Vec<i64>, Vec<String>, Option<String>) {
    let (mut sent, mut ids) = (Vec::new(), Vec::new());
    let error = loop {
        match e.poll(Now::default()) {
            Ok(Step::Send(r)) => {
                let body = answer(&r).to_string().into_bytes();
                sent.push(r);
                if sent.len() > 100 {
                    break Some("endless".to_string());
                }
                let response = HttpResponse {
                    status: 200,
                    headers: vec![],
                    body,
                };
                if let Err(error) = e.on_response(Now::default(), response) {
                    break Some(error.to_string());
                }
            }
            Ok(Step::Page(p)) => {
                for line in String::from_utf8(p.records).unwrap().lines() {
                    ids.push(
                        serde_json::from_str::<Value>(line).unwrap()["id"]
                            .as_i64()
                            .unwrap(),
                    );
                }
            }
            Ok(Step::Sleep { .. }) => {}
            Ok(Step::Done) => break None,
            Err(error) => break Some(error.to_string()),
        }
    };
    (sent, ids, e.take_notes(), error)
}

/// fastapi-pagination's page: `items`, `total`, `page` (from 1), `size`, `pages`.
fn fastapi(r: &HttpRequest) -> Value {
    let (total, size) = (1234i64, 100i64);
    let page: i64 = param(r, "page").map_or(1, |p| p.parse().unwrap());
    let items: Vec<Value> = ((page - 1) * size + 1..=(page * size).min(total))
        .map(|id| json!({"id": id}))
        .collect();
    json!({"items": items, "total": total, "page": page, "size": size, "pages": (total + size - 1) / size})
}

#[test]
fn a_page_the_response_states_is_where_the_count_goes_on() {
    let (sent, ids, _, error) = drive(engine(json!({"path": "items"})), fastapi);
    assert_eq!(error, None);
    assert_eq!(
        ids,
        (1..=1234).collect::<Vec<_>>(),
        "every row once, none lost"
    );
    let pages: Vec<Option<String>> = sent.iter().map(|r| param(r, "page")).collect();
    let mut want = vec![None];
    want.extend((2..=13).map(|p| Some(p.to_string())));
    assert_eq!(pages, want);
}

#[test]
fn a_relative_next_link_is_a_link_not_a_cursor() {
    let api = |r: &HttpRequest| {
        let page: i64 = param(r, "page").map_or(1, |p| p.parse().unwrap());
        let next = (page < 3).then(|| format!("?page={}", page + 1));
        json!({"results": [{"id": page}], "next": next})
    };
    let (sent, ids, _, error) = drive(engine(json!({"path": "items"})), api);
    assert_eq!(error, None);
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(sent[2].url, "https://api.example.com/items?page=3");
}

#[test]
fn a_page_that_repeats_the_last_one_is_an_error() {
    // The API ignores the offset: every page is the first one.
    let api = |_: &HttpRequest| json!({"data": [{"id": 1}, {"id": 2}], "total": 10});
    for selector in ["data", "$.data[*]"] {
        let endpoint = json!({"path": "items", "data_selector": selector,
                              "paginator": {"type": "offset", "limit": 2}});
        let (sent, ids, _, error) = drive(engine(endpoint), api);
        let error = error.unwrap_or_default();
        assert!(
            error.contains("this page's 2 records repeat the previous page's exactly"),
            "{error}"
        );
        assert!(
            error.contains("the configured paginator (offset) does not fit"),
            "{error}"
        );
        assert_eq!(
            (sent.len(), ids.len()),
            (2, 2),
            "{selector}: the repeat is not stored"
        );
    }
    // Detected from a first page parsed, repeated by a second kept as text.
    let api =
        |_: &HttpRequest| json!({"data": [{"id": 1}], "next_cursor": "abc", "total_pages": 5});
    let (_, ids, _, error) = drive(
        engine(json!({"path": "items", "data_selector": "data"})),
        api,
    );
    assert!(
        error
            .unwrap_or_default()
            .contains("the detected paginator (page_number)")
    );
    assert_eq!(ids, [1]);
}

#[test]
fn every_guess_is_said_once_per_resource() {
    let (_, ids, notes, error) = drive(engine(json!({"path": "items"})), |_| json!([{"id": 1}]));
    assert_eq!((ids, error), (vec![1], None));
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("resource `r`: no paginator is configured")
            && notes[0].contains("only that page is read")
    );
    let api = |r: &HttpRequest| match param(r, "cursor") {
        None => json!({"data": [{"id": 1}], "next": "c2"}),
        Some(_) => json!({"data": [{"id": 2}], "next": null}),
    };
    let (_, ids, notes, error) = drive(engine(json!({"path": "items"})), api);
    assert_eq!((ids, error), (vec![1, 2], None));
    assert!(
        notes
            .iter()
            .any(|n| n.contains("guessed a cursor from `next`")),
        "{notes:?}"
    );
    // A configured paginator is no guess.
    let endpoint = json!({"path": "items", "paginator": "single_page"});
    let (_, _, notes, _) = drive(engine(endpoint), |_| json!([{"id": 1}]));
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn a_repeat_is_seen_across_a_resume_and_only_a_true_repeat_counts() {
    // The API ignores the offset. The first page's checkpoint is taken, and a new engine resumes from it.
    let endpoint = json!({"path": "items", "data_selector": "data", "paginator": {"type": "offset", "limit": 2}});
    let config = json!({"client": {"base_url": "https://api.example.com"},
                        "resources": [{"name": "r", "endpoint": endpoint}]});
    let body = json!({"data": [{"id": 1}, {"id": 2}], "total": 10})
        .to_string()
        .into_bytes();
    let respond = |e: &mut Engine| {
        let Ok(Step::Send(_)) = e.poll(Now::default()) else {
            panic!("a request")
        };
        let response = HttpResponse {
            status: 200,
            headers: vec![],
            body: body.clone(),
        };
        e.on_response(Now::default(), response)
    };
    let mut first = Engine::new(&config.to_string(), &config, vec![], None).unwrap();
    respond(&mut first).unwrap();
    let Ok(Step::Page(page)) = first.poll(Now::default()) else {
        panic!("a page")
    };
    let mut resumed =
        Engine::new(&config.to_string(), &config, vec![], Some(&page.checkpoint)).unwrap();
    let error = respond(&mut resumed).unwrap_err().to_string();
    assert!(
        error.contains("repeat the previous page's exactly"),
        "{error}"
    );

    // Same count, first and last, different middle: not a repeat.
    let api = |r: &HttpRequest| match param(r, "offset").as_deref() {
        Some("0") => json!({"data": [{"id": 1}, {"id": 2}, {"id": 3}], "total": 6}),
        _ => json!({"data": [{"id": 1}, {"id": 9}, {"id": 3}], "total": 6}),
    };
    let endpoint = json!({"path": "items", "data_selector": "data", "paginator": {"type": "offset", "limit": 3}});
    let (_, ids, _, error) = drive(engine(endpoint), api);
    assert_eq!((ids.len(), error), (6, None));
}
