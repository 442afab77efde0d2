//! Resuming from the checkpoint of an unfinished run: after the last stored page, in the middle of a parent's
//! children, and with the run's incremental start value.

use super::*;

#[test]
fn resume_from_a_checkpoint_continues_after_that_page() {
    let config = offset_config(json!({}));
    let text = config.to_string();
    let mut e = engine(config.clone());
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}, {"id": 2}], "total": 5})),
    )
    .unwrap();
    let cp = expect_page(&mut e, at(1)).checkpoint;
    let mut resumed = Engine::new(&text, &config, vec![SECRET.into()], Some(&cp)).unwrap();
    assert!(
        expect_send(&mut resumed, at(0))
            .url
            .contains("offset=2&limit=2")
    );
    let other = json!({"client": {"base_url": "https://b", "paginator": "single_page"}, "resources": ["r"]});
    let err = Engine::new(&other.to_string(), &other, vec![], Some(&cp))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("checkpoint: was made with a different config"),
        "{err}"
    );
}

/// Resume in the middle of a parent page's children: the parent page is fetched again (not stored again), and
/// the run continues with the next parent record.
#[test]
fn resume_mid_fan_out_replays_the_parent_page() {
    let config = blog(
        json!({"endpoint": {"path": "posts/{resources.posts.id}/comments", "data_selector": "data", "paginator": "single_page"}}),
    );
    let mut e = engine(config.clone());
    expect_send(&mut e, at(0));
    e.on_response(at(1), page_of(&[1, 2], None)).unwrap();
    expect_page(&mut e, at(1));
    assert!(expect_send(&mut e, at(2)).url.ends_with("posts/1/comments"));
    e.on_response(at(3), comments(1, 1, 1)).unwrap();
    let cp = expect_page(&mut e, at(3)).checkpoint;
    assert!(
        cp.contains(r#""pending":{"from":{"at":"first"},"next_record":1,"next_child":0}"#),
        "{cp}"
    );
    assert!(cp.contains(r#""parent_record":0"#), "{cp}");

    let mut r = Engine::new(&config.to_string(), &config, vec![], Some(&cp)).unwrap();
    assert_eq!(
        expect_send(&mut r, at(0)).url,
        "https://api.example.com/posts",
        "the parent page again"
    );
    r.on_response(at(1), page_of(&[1, 2], None)).unwrap();
    assert!(
        expect_send(&mut r, at(2)).url.ends_with("posts/2/comments"),
        "no page stored twice"
    );
    r.on_response(at(3), comments(2, 1, 1)).unwrap();
    let page = expect_page(&mut r, at(3));
    assert_eq!(page.record_count, 1);
    assert_eq!(r.poll(at(4)).unwrap(), Step::Done);
}

/// A resumed run (unfinished checkpoint) keeps the run's start value and boundary: nothing is re-sent
/// differently and nothing loaded before the checkpoint loads again.
#[test]
fn resuming_mid_run_keeps_the_start_value() {
    let config = incremental_config(
        json!({"cursor_path": "updated_at", "initial_value": "2024-01-01", "start_param": "since"}),
        json!({}),
    );
    let text = config.to_string();
    let mut e = Engine::new(&text, &config, vec![], None).unwrap();
    expect_send(&mut e, at(0));
    e.on_response(at(1), events(&[(1, "2024-01-05")], 2))
        .unwrap();
    let cp = expect_page(&mut e, at(1)).checkpoint;
    assert!(!cp.contains("complete"), "{cp}");
    let mut resumed = Engine::new(&text, &config, vec![], Some(&cp)).unwrap();
    let req = expect_send(&mut resumed, at(0));
    assert!(
        req.url.ends_with("since=2024-01-01&page=2"),
        "same start value, next page: {}",
        req.url
    );
}
