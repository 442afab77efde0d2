//! `processing_steps` in the engine: after the data selector, before incremental filtering; a parent's steps
//! shape the records its children are fetched for; paging counts the records the API sent.

use super::*;

#[test]
fn a_page_filtered_empty_does_not_stop_paging() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r",
        "processing_steps": [{"filter": "@.id > 3"}],
        "endpoint": {"path": "r", "data_selector": "data", "paginator": {"type": "offset", "limit": 2, "total_path": null}}}]});
    let mut e = engine(config);
    let (urls, ids, _) = drive(&mut e, &|url| {
        let offset: i64 = url.split("offset=").nth(1).unwrap()[..1].parse().unwrap();
        let data: Vec<Value> = (offset..(offset + 2).min(6))
            .map(|i| json!({"id": i}))
            .collect();
        ok(json!({ "data": data }))
    });
    assert_eq!(
        ids,
        vec![4, 5],
        "pages 0-1 and 2-3 kept nothing, and paging went on"
    );
    assert_eq!(urls.len(), 4, "until the API's own empty page");
}

#[test]
fn a_map_can_make_the_cursor_field_incremental_loading_reads() {
    let mut config = incremental_config(
        json!({"cursor_path": "ts", "initial_value": "2024-01-02"}),
        json!({}),
    );
    config["resources"][0]["processing_steps"] = json!([{"map": {"set": {"ts": "{updated_at}"}}}]);
    let mut e = engine(config);
    let rows = [(1, "2024-01-01"), (2, "2024-01-02"), (3, "2024-01-03")];
    let (_, ids, checkpoint) = drive(&mut e, &|_| events(&rows, 1));
    assert_eq!(ids, vec![2, 3], "filtered on the field the map set");
    assert!(checkpoint.contains("2024-01-03"), "{checkpoint}");
}

#[test]
fn a_parents_filter_decides_which_children_are_fetched() {
    let mut config = blog(json!({"include_from_parent": ["title"]}));
    config["resources"][0]["processing_steps"] =
        json!([{"filter": "@.id != 2"}, {"map": {"set": {"title": "post {id}"}}}]);
    let mut e = engine(config);
    let (mut urls, mut records) = (Vec::new(), Vec::new());
    loop {
        match e.poll(at(0)).unwrap() {
            Step::Send(request) => {
                let response = match request.url.split('/').nth(4) {
                    None => page_of(&[1, 2, 3], None),
                    Some(post) => comments(post.parse().unwrap(), 1, 1),
                };
                urls.push(request.url);
                e.on_response(at(0), response).unwrap();
            }
            Step::Page(p) => records.push(String::from_utf8(p.records).unwrap()),
            Step::Done => break,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
    }
    assert_eq!(
        urls,
        vec![
            "https://api.example.com/posts",
            "https://api.example.com/posts/1/comments?page=1",
            "https://api.example.com/posts/3/comments?page=1",
        ]
    );
    assert!(
        records
            .iter()
            .any(|r| r.contains(r#""_posts_title":"post 3""#)),
        "children see the mapped parent: {records:?}"
    );
}

#[test]
fn an_error_names_the_step_as_written_in_the_list() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r",
        "processing_steps": [{"filter": "@.id > 0", "map": {"set": {"a": 1}}}, {"map": {"set": {"b": "{nope}"}}}],
        "endpoint": {"path": "r", "data_selector": "data", "paginator": "single_page"}}]});
    let mut e = engine(config);
    let _ = expect_send(&mut e, at(0));
    let err = e
        .on_response(at(0), ok(json!({"data": [{"id": 1}]})))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("processing_steps[1].map: set: the record has no field `nope`"),
        "{err}"
    );
}
