//! Parent and child resources: one pagination loop per parent record, placeholders from the parent, and
//! unselected parents that still feed their children.

use super::*;

/// dlt `test_offline.py::test_load_mock_api` shape: each parent page is followed by its children, one
/// pagination loop per parent record, with child paginator state fresh per record (dlt #1921, #3685, #3772).
#[test]
fn dlt_children_page_per_parent_record_with_fresh_state() {
    let mut e = engine(blog(json!({"include_from_parent": ["title"]})));
    let mut urls = Vec::new();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut step = 0;
    loop {
        match e.poll(at(step)).unwrap() {
            Step::Send(req) => {
                urls.push(req.url.clone());
                let u = req.url.trim_start_matches("https://api.example.com/");
                let response = match u {
                    "posts" => page_of(&[1, 2], Some("https://api.example.com/posts?page=2")),
                    "posts?page=2" => page_of(&[3], None),
                    _ => {
                        let post: i64 = u.split('/').nth(1).unwrap().parse().unwrap();
                        let page = u.split("page=").nth(1).map_or(1, |p| p.parse().unwrap());
                        comments(post, page, if post == 1 { 2 } else { 1 })
                    }
                };
                e.on_response(at(step), response).unwrap();
            }
            Step::Page(p) => {
                for line in String::from_utf8(p.records).unwrap().lines() {
                    rows.push((p.resource.clone(), line.to_string()));
                }
            }
            Step::Done => break,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
        step += 1;
    }
    let paths: Vec<&str> = urls
        .iter()
        .map(|u| u.trim_start_matches("https://api.example.com/"))
        .collect();
    assert_eq!(
        paths,
        vec![
            "posts",
            "posts/1/comments?page=1",
            "posts/1/comments?page=2",
            "posts/2/comments?page=1",
            "posts?page=2",
            "posts/3/comments?page=1"
        ]
    );
    let children: Vec<&str> = rows
        .iter()
        .filter(|(r, _)| r == "comments")
        .map(|(_, l)| l.as_str())
        .collect();
    assert_eq!(
        children,
        vec![
            r#"{"cid":101,"_posts_title":"t1"}"#,
            r#"{"cid":102,"_posts_title":"t1"}"#,
            r#"{"cid":201,"_posts_title":"t2"}"#,
            r#"{"cid":301,"_posts_title":"t3"}"#
        ]
    );
    assert_eq!(rows.iter().filter(|(r, _)| r == "posts").count(), 3);
}

/// dlt `test_resolve_config.py::test_process_parent_data_item` errors: a missing field names what is there.
#[test]
fn dlt_missing_parent_fields_are_errors() {
    let mut e = engine(blog(
        json!({"endpoint": {"path": "posts/{resources.posts.uid}/comments", "paginator": "single_page"}}),
    ));
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    expect_page(&mut e, at(1));
    let err = e.poll(at(2)).unwrap_err().to_string();
    assert!(
        err.contains("Resource expects a field `uid` to be present in the incoming data from resource `posts` in order to bind it to path param: `resources.posts.uid`. Available parent fields are: ['id', 'title']"),
        "{err}"
    );
    let mut e = engine(blog(json!({"include_from_parent": ["nope"]})));
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    expect_page(&mut e, at(1));
    expect_send(&mut e, at(2));
    let err = e
        .on_response(at(3), comments(1, 1, 1))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("in order to include it in child records under `_posts_nope`"),
        "{err}"
    );
}

/// Placeholders fill params, json bodies (type kept), headers and data; client headers stay literal (dlt).
#[test]
fn dlt_placeholders_fill_every_part_of_a_child_request() {
    let config = json!({"client": {"base_url": "https://api.example.com", "headers": {"X-Client": "{resources.posts.id}"}},
        "resources": ["posts", {"name": "detail", "endpoint": {"path": "detail", "method": "POST", "paginator": "single_page",
            "params": {"post_id": "{resources.posts.id}", "lit": "{{x}}"},
            "json": {"id": "{resources.posts.id}", "label": "post {resources.posts.id}", "meta": "{resources.posts.meta}"},
            "headers": {"X-Post": "{resources.posts.id}"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!([{"id": 7, "meta": {"a": true}}])))
        .unwrap();
    expect_page(&mut e, at(1));
    let req = expect_send(&mut e, at(2));
    assert_eq!(
        req.url,
        "https://api.example.com/detail?post_id=7&lit=%7Bx%7D"
    );
    assert_eq!(
        String::from_utf8(req.body.unwrap()).unwrap(),
        r#"{"id": 7, "label": "post 7", "meta": {"a": true}}"#
    );
    assert!(
        req.headers.contains(&("X-Post".into(), "7".into())),
        "{:?}",
        req.headers
    );
    assert!(
        req.headers
            .contains(&("X-Client".into(), "{resources.posts.id}".into())),
        "client headers are literal"
    );
}

/// A parent that is not selected is still fetched to feed its children, but its rows are not stored.
#[test]
fn unselected_parents_feed_children() {
    let mut config = blog(
        json!({"endpoint": {"path": "posts/{resources.posts.id}/comments", "data_selector": "data", "paginator": "single_page"}}),
    );
    config["resources"][0]["selected"] = json!(false);
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1], None)).unwrap();
    let parent = expect_page(&mut e, at(1));
    assert_eq!(
        (
            parent.resource.as_str(),
            parent.record_count,
            parent.records.len()
        ),
        ("posts", 0, 0)
    );
    assert!(expect_send(&mut e, at(2)).url.ends_with("posts/1/comments"));
}
