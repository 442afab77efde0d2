//! dlt's known traps, fixed by opt-in keys: an initial cursor, a missing total that falls back to the other stop
//! rules, JSON Lines bodies.

use super::*;

fn resource(endpoint: Value) -> Value {
    json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": endpoint}]})
}

#[test]
fn an_initial_cursor_goes_on_the_first_request_and_later_ones_follow_the_body() {
    let mut e = engine(resource(json!({"path": "r", "data_selector": "data",
        "paginator": {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor", "initial_cursor": "*"}})));
    let (urls, ids, _) = drive(&mut e, &|url| match url {
        "https://api.example.com/r?cursor=*" => ok(json!({"data": [{"id": 1}], "next": "AoE2"})),
        "https://api.example.com/r?cursor=AoE2" => ok(json!({"data": [{"id": 2}], "next": null})),
        other => panic!("unexpected {other}"),
    });
    assert_eq!(urls.len(), 2);
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn a_null_total_with_fallback_pages_on_until_an_empty_page() {
    let config = |fallback: bool| {
        let mut p = json!({"type": "offset", "limit": 2});
        if fallback {
            p["on_missing_total"] = json!("fallback");
        }
        resource(json!({"path": "r", "data_selector": "data", "paginator": p}))
    };
    let respond = |url: &str| {
        let offset: i64 = url.split("offset=").nth(1).unwrap()[..1].parse().unwrap();
        let data: Vec<Value> = (offset..(offset + 2).min(5))
            .map(|i| json!({"id": i}))
            .collect();
        ok(json!({"data": data, "total": null}))
    };
    let mut e = engine(config(true));
    let (urls, ids, _) = drive(&mut e, &respond);
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    assert_eq!(urls.len(), 4, "the fourth page is empty");
    let mut e = engine(config(false));
    let _ = expect_send(&mut e, at(0));
    let err = e.on_response(at(0), respond("x?offset=0")).unwrap_err();
    assert!(err.to_string().contains("Total `total` not found"), "{err}");
}

#[test]
fn a_json_lines_body_gives_one_record_a_line_and_pages_by_link_header() {
    let mut e = engine(resource(
        json!({"path": "export", "response_format": "jsonl"}),
    ));
    let _ = expect_send(&mut e, at(0));
    let mut first = text(200, "{\"id\": 1, \"n\": 1.10}\n{\"id\": 2}\n");
    first.headers = vec![(
        "Link".into(),
        "<https://api.example.com/export?part=2>; rel=\"next\"".into(),
    )];
    e.on_response(at(0), first).unwrap();
    let page = expect_page(&mut e, at(0));
    assert_eq!(
        String::from_utf8(page.records).unwrap(),
        "{\"id\":1,\"n\":1.10}\n{\"id\":2}\n"
    );
    let second = expect_send(&mut e, at(0));
    assert_eq!(second.url, "https://api.example.com/export?part=2");
    e.on_response(at(0), text(200, "{\"id\": 3}")).unwrap();
    assert_eq!(expect_page(&mut e, at(0)).record_count, 1);
    assert_eq!(e.poll(at(0)).unwrap(), Step::Done);
}

#[test]
fn json_lines_refuse_what_would_read_a_json_body() {
    let bad = |endpoint: Value| match Engine::new("{}", &resource(endpoint), vec![], None) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("refused"),
    };
    let err = bad(json!({"path": "x", "response_format": "jsonl", "data_selector": "data"}));
    assert!(
        err.contains("nothing for the data selector `data`"),
        "{err}"
    );
    let err = bad(
        json!({"path": "x", "response_format": "jsonl", "paginator": {"type": "offset", "limit": 5}}),
    );
    assert!(err.contains("reads `total` from a JSON body"), "{err}");
    let err = bad(json!({"path": "x", "response_format": "csv"}));
    assert!(err.contains("`csv` is not one of: json, jsonl"), "{err}");
    let mut e = engine(resource(json!({"path": "x", "response_format": "jsonl"})));
    let _ = expect_send(&mut e, at(0));
    let err = e
        .on_response(at(0), text(200, "{\"id\": 1}\nnot json\n"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2 of the JSON Lines body is not JSON"),
        "{err}"
    );
}

#[test]
fn the_basic_header_of_client_secret_basic_is_masked_like_the_secret() {
    let mut config = oauth_config();
    config["client"]["auth"]["client_auth_method"] = json!("client_secret_basic");
    let mut e = engine(config);
    let token = expect_send(&mut e, at(0));
    let header = token
        .headers
        .iter()
        .find(|(k, _)| k == "Authorization")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(
        !String::from_utf8(token.body.unwrap())
            .unwrap()
            .contains(SECRET)
    );
    let echo = text(
        401,
        &format!("{{\"error\": \"bad client\", \"got\": \"{header}\"}}"),
    );
    let err = e.on_response(at(0), echo).unwrap_err().to_string();
    let encoded = header.trim_start_matches("Basic ");
    assert!(!err.contains(encoded), "{err}");
    assert!(err.contains("***"), "{err}");
}
