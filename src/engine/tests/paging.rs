//! Paging: positions and checkpoints, a cursor that repeats, paginator and record detection, `max_pages`,
//! unselected resources and the schemas.

use super::*;

#[test]
fn pages_flow_with_checkpoints_until_done() {
    let mut e = engine(offset_config(json!({})));
    let req = expect_send(&mut e, at(0));
    assert_eq!(
        req.url,
        format!("https://api.example.com/v1/r?offset=0&limit=2&api_key={SECRET}")
    );
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}, {"id": 2}], "total": 3})),
    )
    .unwrap();
    let page = expect_page(&mut e, at(1));
    assert_eq!(page.records, b"{\"id\":1}\n{\"id\":2}\n");
    assert_eq!(page.record_count, 2);
    assert!(
        page.checkpoint
            .contains(r#""position":{"at":"offset","value":2}"#),
        "{}",
        page.checkpoint
    );
    let req = expect_send(&mut e, at(2));
    assert!(req.url.contains("offset=2&limit=2"), "{}", req.url);
    e.on_response(at(3), ok(json!({"data": [{"id": 3}], "total": 3})))
        .unwrap();
    let page = expect_page(&mut e, at(3));
    assert!(
        page.checkpoint.contains(r#""at":"done""#),
        "{}",
        page.checkpoint
    );
    assert_eq!(e.poll(at(4)).unwrap(), Step::Done);
}

#[test]
fn a_repeated_cursor_is_an_error_not_a_loop() {
    let mut e = engine(oauth_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "t"})))
        .unwrap();
    expect_send(&mut e, at(1));
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "same"})))
        .unwrap();
    expect_page(&mut e, at(2));
    expect_send(&mut e, at(3));
    let err = e
        .on_response(at(4), ok(json!({"data": [{"id": 2}], "next": "same"})))
        .unwrap_err();
    assert!(
        err.to_string().contains("pagination does not advance"),
        "{err}"
    );
}

#[test]
fn records_are_detected_without_a_data_selector_and_schema_is_inferred() {
    let config = json!({"client": {"base_url": "https://a"}, "resources": [{"name": "r", "primary_key": "id",
        "endpoint": {"paginator": "single_page"}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"meta": {"n": 2}, "items": [{"id": 1, "x": null}, {"id": 2, "x": "b"}]})),
    )
    .unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 2);
    let schema = &e.schemas()[0];
    assert_eq!(schema.primary_key, vec!["id"]);
    let cols: Vec<(&str, bool)> = schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    assert_eq!(cols, vec![("id", false), ("x", true)]);
}

fn auto_config() -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {"path": "/v1/r"}}]})
}

/// dlt detects the paginator on the first response (`RESTClient.paginate` with `paginator=None`).
#[test]
fn detected_json_link_pages_on_and_rides_in_the_checkpoint() {
    let config = auto_config();
    let mut e = engine(config.clone());
    assert_eq!(
        expect_send(&mut e, at(0)).url,
        "https://api.example.com/v1/r"
    );
    e.on_response(
        at(1),
        ok(json!({"results": [{"id": 1}], "next": "/v1/r?page=2"})),
    )
    .unwrap();
    let page = expect_page(&mut e, at(1));
    assert!(
        page.checkpoint
            .contains(r#""detected":{"type":"json_link","next_url_path":"next"}"#),
        "{}",
        page.checkpoint
    );
    assert_eq!(
        expect_send(&mut e, at(2)).url,
        "https://api.example.com/v1/r?page=2"
    );

    let mut resumed =
        Engine::new(&config.to_string(), &config, vec![], Some(&page.checkpoint)).unwrap();
    assert_eq!(
        expect_send(&mut resumed, at(0)).url,
        "https://api.example.com/v1/r?page=2"
    );
    resumed
        .on_response(at(1), ok(json!({"results": [{"id": 2}], "next": null})))
        .unwrap();
    assert_eq!(expect_page(&mut resumed, at(1)).record_count, 1);
    assert_eq!(resumed.poll(at(2)).unwrap(), Step::Done);
}

/// A detected page-number paginator asks for page 1 next, as dlt does (first request had no page param).
#[test]
fn detected_total_pages_asks_for_page_one_next() {
    let mut e = engine(auto_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"items": [{"id": 1}], "total_pages": 2})))
        .unwrap();
    expect_page(&mut e, at(1));
    assert_eq!(
        expect_send(&mut e, at(2)).url,
        "https://api.example.com/v1/r?page=1"
    );
    e.on_response(at(3), ok(json!({"items": [{"id": 2}], "total_pages": 2})))
        .unwrap();
    expect_page(&mut e, at(3));
    assert_eq!(e.poll(at(4)).unwrap(), Step::Done);
}

/// Nothing to detect: one page (dlt's `SinglePagePaginator` fallback).
#[test]
fn nothing_detected_means_one_page() {
    let mut e = engine(auto_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!([{"id": 1}, {"id": 2}])))
        .unwrap();
    assert_eq!(expect_page(&mut e, at(1)).record_count, 2);
    assert_eq!(e.poll(at(2)).unwrap(), Step::Done);
}

/// `selected: false` feeds no table; with no children to feed it is not fetched. An empty list is valid.
#[test]
fn unselected_resources_are_not_fetched_and_empty_lists_are_done() {
    let config = json!({"client": {"base_url": "https://a", "paginator": "single_page"},
        "resources": [{"name": "skip", "selected": false}, "keep"]});
    let mut e = engine(config);
    assert_eq!(expect_send(&mut e, at(0)).url, "https://a/keep");
    let empty = json!({"client": {"base_url": "https://a"}, "resources": []});
    assert_eq!(engine(empty).poll(at(0)).unwrap(), Step::Done);
}

/// `max_pages` (extension, dlt's `add_limit`) ends each pagination loop cleanly; the count rides in the
/// checkpoint so a resume stops at the same place.
#[test]
fn max_pages_stops_cleanly_and_survives_resume() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "x", "data_selector": "data", "max_pages": 3, "paginator": {"type": "page_number", "base_page": 1, "total_path": null}}}]});
    let text = config.to_string();
    let mut e = engine(config.clone());
    let mut cp = String::new();
    for page in 1..=2 {
        assert!(
            expect_send(&mut e, at(page))
                .url
                .ends_with(&format!("page={page}"))
        );
        e.on_response(at(page), ok(json!({"data": [{"id": page}]})))
            .unwrap();
        cp = expect_page(&mut e, at(page)).checkpoint;
    }
    assert!(cp.contains(r#""pages":2"#), "{cp}");
    let mut resumed = Engine::new(&text, &config, vec![], Some(&cp)).unwrap();
    assert!(expect_send(&mut resumed, at(0)).url.ends_with("page=3"));
    resumed
        .on_response(at(1), ok(json!({"data": [{"id": 3}]})))
        .unwrap();
    expect_page(&mut resumed, at(1));
    assert_eq!(
        resumed.poll(at(2)).unwrap(),
        Step::Done,
        "three pages in all"
    );
    let bad = json!({"client": {"base_url": "https://a", "paginator": "single_page"}, "resources": [{"name": "r", "endpoint": {"max_pages": 0}}]});
    let err = Engine::new(&bad.to_string(), &bad, vec![], None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("max_pages: must be a positive integer"),
        "{err}"
    );
}

/// `schema()` names each resource's parent and incremental cursor.
#[test]
fn schema_names_parents_and_cursors() {
    let config = json!({"client": {"base_url": "https://a", "paginator": "single_page"}, "resources": [
        {"name": "posts", "endpoint": {"incremental": {"cursor_path": "updated_at"}}},
        {"name": "comments", "endpoint": "posts/{resources.posts.id}/comments"}]});
    let e = engine(config);
    let got: Vec<(Option<String>, Option<String>)> = e
        .schemas()
        .iter()
        .map(|t| (t.parent.clone(), t.incremental_cursor.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (None, Some("updated_at".into())),
            (Some("posts".into()), None)
        ]
    );
}
