//! Look-ahead: what [`Engine::ahead`] lists is what the engine later asks for, only `parallelized` resources get
//! more than the one request that comes next, and nothing is listed while a retry waits.

use super::*;

/// Every request the engine asked for, and what `ahead` listed after each response (with the index of the
/// first request asked for after it).
struct Trace {
    sent: Vec<HttpRequest>,
    listed: Vec<(usize, Vec<HttpRequest>)>,
}

fn trace(mut e: Engine, api: impl Fn(&str) -> HttpResponse, now: Now) -> Trace {
    let mut t = Trace {
        sent: Vec::new(),
        listed: Vec::new(),
    };
    loop {
        match e.poll(now).unwrap() {
            Step::Send(req) => {
                let url = req.url.clone();
                t.sent.push(req);
                t.listed.push((t.sent.len(), e.ahead(now)));
                e.on_response(now, api(&url)).unwrap();
                t.listed.push((t.sent.len(), e.ahead(now)));
            }
            Step::Page(_) => {}
            Step::Done => return t,
            Step::Sleep { .. } => panic!("no sleep expected"),
        }
    }
}

impl Trace {
    /// Each listed request is asked for later; none is listed that the run never sends.
    fn assert_listed_are_sent(&self) {
        for (from, listed) in &self.listed {
            for req in listed {
                assert!(
                    self.sent[*from..].contains(req),
                    "listed but never asked for after request {from}: {}",
                    req.url
                );
            }
        }
    }

    fn most_listed(&self) -> usize {
        self.listed.iter().map(|(_, l)| l.len()).max().unwrap_or(0)
    }

    fn paths(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|r| {
                r.url
                    .trim_start_matches("https://api.example.com/")
                    .to_string()
            })
            .collect()
    }
}

fn numbered(parallelized: bool, extra: Value) -> Value {
    let mut endpoint = json!({"path": "items", "data_selector": "data",
        "paginator": {"type": "offset", "limit": 10, "total_path": "total"}});
    if let (Some(e), Some(x)) = (endpoint.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    json!({"client": {"base_url": "https://api.example.com", "concurrency": 4},
        "resources": [{"name": "items", "parallelized": parallelized, "endpoint": endpoint}]})
}

/// 95 items in pages of 10, with their total.
fn items(url: &str) -> HttpResponse {
    let offset: i64 = url
        .split("offset=")
        .nth(1)
        .and_then(|o| o.split('&').next())
        .map_or(0, |o| o.parse().unwrap());
    let data: Vec<Value> = (offset..(offset + 10).min(95))
        .map(|i| json!({"id": i}))
        .collect();
    ok(json!({"data": data, "total": 95}))
}

#[test]
fn a_parallelized_offset_resource_lists_its_later_pages_once_the_total_is_known() {
    let t = trace(engine(numbered(true, json!({}))), items, at(0));
    assert_eq!(t.sent.len(), 10, "{:?}", t.paths());
    t.assert_listed_are_sent();
    assert_eq!(t.most_listed(), 4, "client.concurrency bounds the list");
    // Before the first response nothing is known; after it, the next four pages.
    assert!(t.listed[0].1.is_empty());
    let after_first: Vec<&str> = t.listed[1].1.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        after_first,
        [10, 20, 30, 40].map(|o| format!("https://api.example.com/items?offset={o}&limit=10"))
    );
}

#[test]
fn without_parallelized_only_the_next_request_is_listed_and_it_is_the_next_one_sent() {
    let t = trace(engine(numbered(false, json!({}))), items, at(0));
    assert_eq!(t.sent.len(), 10);
    for (from, listed) in &t.listed {
        assert!(listed.len() <= 1, "{listed:?}");
        if let Some(req) = listed.first() {
            assert_eq!(Some(req), t.sent.get(*from), "the very next request");
        }
    }
    assert!(t.listed.iter().filter(|(_, l)| l.len() == 1).count() >= 9);
}

#[test]
fn max_pages_bounds_what_is_listed() {
    let t = trace(
        engine(numbered(true, json!({"max_pages": 3}))),
        items,
        at(0),
    );
    assert_eq!(t.sent.len(), 3);
    t.assert_listed_are_sent();
}

#[test]
fn parallelized_children_list_the_first_request_of_each_parent_record() {
    let mut config = blog(json!({"parallelized": true}));
    config["resources"][0]["parallelized"] = json!(true);
    let api = |url: &str| {
        let u = url.trim_start_matches("https://api.example.com/");
        match u {
            "posts" => page_of(&[1, 2, 3], Some("https://api.example.com/posts?page=2")),
            "posts?page=2" => page_of(&[4], None),
            _ => {
                let post: i64 = u.split('/').nth(1).unwrap().parse().unwrap();
                let page = u.split("page=").nth(1).map_or(1, |p| p.parse().unwrap());
                comments(post, page, if post == 1 { 3 } else { 1 })
            }
        }
    };
    let t = trace(engine(config), api, at(0));
    t.assert_listed_are_sent();
    let after_posts: Vec<String> = t.listed[1]
        .1
        .iter()
        .map(|r| {
            r.url
                .trim_start_matches("https://api.example.com/")
                .to_string()
        })
        .collect();
    assert_eq!(
        after_posts,
        [
            "posts/1/comments?page=1",
            "posts/2/comments?page=1",
            "posts/3/comments?page=1",
            "posts?page=2"
        ]
    );
    // The engine still asks in dlt's order.
    assert_eq!(
        t.paths(),
        [
            "posts",
            "posts/1/comments?page=1",
            "posts/1/comments?page=2",
            "posts/1/comments?page=3",
            "posts/2/comments?page=1",
            "posts/3/comments?page=1",
            "posts?page=2",
            "posts/4/comments?page=1"
        ]
    );
}

#[test]
fn a_next_link_to_another_origin_is_not_sent_ahead() {
    let config = json!({"client": {"base_url": "https://api.example.com"},
        "resources": [{"name": "r", "parallelized": true, "endpoint": {"path": "r", "data_selector": "data",
            "paginator": {"type": "json_link", "next_url_path": "next"}}}]});
    let api = |url: &str| match url {
        "https://api.example.com/r" => page_of(&[1], Some("https://cdn.example.org/r2")),
        _ => page_of(&[2], None),
    };
    let t = trace(engine(config), api, at(0));
    assert_eq!(t.sent.len(), 2);
    assert!(t.listed.iter().all(|(_, l)| l.is_empty()), "{:?}", t.listed);
}

#[test]
fn an_oauth2_token_about_to_expire_stops_the_look_ahead() {
    let mut config = oauth_config();
    config["resources"][0]["parallelized"] = json!(true);
    let paging = |expires_in: i64| {
        move |url: &str| match url {
            "https://api.example.com/token" => {
                ok(json!({"access_token": "tok", "expires_in": expires_in}))
            }
            u if u.ends_with("/v1/r") => ok(json!({"data": [{"id": 1}], "next": "c2"})),
            _ => ok(json!({"data": [{"id": 2}], "next": null})),
        }
    };
    let lasting = trace(engine(config.clone()), paging(3600), at(0));
    assert_eq!(lasting.sent.len(), 3);
    lasting.assert_listed_are_sent();
    assert!(lasting.most_listed() >= 1);
    let expiring = trace(engine(config), paging(30), at(0));
    assert_eq!(expiring.sent.len(), 3);
    assert_eq!(expiring.most_listed(), 0, "{:?}", expiring.listed);
}

#[test]
fn nothing_is_listed_while_a_retry_waits() {
    let mut e = engine(numbered(true, json!({})));
    let now = at(0);
    let first = expect_send(&mut e, now);
    e.on_response(now, items(&first.url)).unwrap();
    assert_eq!(e.ahead(now).len(), 4);
    expect_page(&mut e, now);
    let _second = expect_send(&mut e, now);
    e.on_response(now, status(503, &[])).unwrap();
    assert!(e.ahead(now).is_empty(), "the API asked for a pause");
}

#[test]
fn a_maximum_without_a_total_is_an_end_only_when_empty_pages_do_not_stop_paging() {
    let listed_after_first = |stop_after_empty_page: bool| {
        let paginator = json!({"type": "offset", "limit": 10, "total_path": null, "maximum_offset": 50,
            "stop_after_empty_page": stop_after_empty_page});
        let mut e = engine(numbered(true, json!({"paginator": paginator})));
        let first = expect_send(&mut e, at(0));
        e.on_response(at(0), items(&first.url)).unwrap();
        e.ahead(at(0)).len()
    };
    assert_eq!(
        listed_after_first(true),
        1,
        "only the next page: an empty one may end paging"
    );
    assert_eq!(
        listed_after_first(false),
        4,
        "up to the maximum, within the concurrency"
    );
}
