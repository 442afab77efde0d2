//! Paginator state machines, case by case (dlt 1.31 stop rules).

use super::*;
use crate::request::Method;
use serde_json::json;

fn path(p: &str) -> Path {
    Path::parse(p).unwrap()
}

fn offset(limit: i64, total: Option<&str>, max: Option<i64>, stop_empty: bool) -> Paginator {
    Paginator::Offset {
        limit,
        offset: 0,
        offset_slot: Slot::Query("offset".into()),
        limit_slot: Slot::Query("limit".into()),
        range: Range {
            total_path: total.map(path),
            maximum: max,
            stop_after_empty_page: stop_empty,
            has_more_path: None,
            total_fallback: false,
        },
    }
}

fn page(body: &Value, count: usize) -> PageView<'_> {
    PageView {
        body,
        headers: &[],
        record_count: count,
        url: "https://a/x?p=1",
    }
}

/// Walk a paginator over (body, records) responses; returns the positions it asked for.
fn walk(p: &Paginator, responses: &[(Value, usize)]) -> Result<Vec<Position>, String> {
    let mut at = p.start();
    let mut seen = vec![at.clone()];
    for (body, count) in responses {
        at = p.advance(&at, &page(body, *count))?;
        seen.push(at.clone());
        if at == Position::Done {
            break;
        }
    }
    Ok(seen)
}

#[test]
fn offset_stops_at_total() {
    let p = offset(100, Some("total"), None, true);
    let body = json!({"total": 250});
    let got = walk(&p, &[(body.clone(), 100), (body.clone(), 100), (body, 50)]).unwrap();
    assert_eq!(
        got,
        vec![
            Position::Offset(0),
            Position::Offset(100),
            Position::Offset(200),
            Position::Done
        ]
    );
}

#[test]
fn offset_total_as_string_and_exact_multiple() {
    let p = offset(100, Some("total"), None, true);
    let body = json!({"total": "200"});
    let got = walk(&p, &[(body.clone(), 100), (body, 100)]).unwrap();
    assert_eq!(
        got,
        vec![Position::Offset(0), Position::Offset(100), Position::Done]
    );
}

#[test]
fn offset_missing_or_bad_total_is_an_error() {
    let p = offset(10, Some("total"), None, true);
    let err = p
        .advance(&Position::Offset(0), &page(&json!({"data": []}), 3))
        .unwrap_err();
    assert!(
        err.starts_with("Total `total` not found in the response in `OffsetPaginator`"),
        "{err}"
    );
    let err = p
        .advance(&Position::Offset(0), &page(&json!({"total": null}), 3))
        .unwrap_err();
    assert!(err.contains("not found"), "{err}");
    let err = p
        .advance(&Position::Offset(0), &page(&json!({"total": "many"}), 3))
        .unwrap_err();
    assert!(err.contains("is not an `int`"), "{err}");
}

#[test]
fn offset_empty_page_stops_before_reading_total() {
    let p = offset(10, Some("total"), None, true);
    assert_eq!(
        p.advance(&Position::Offset(30), &page(&json!({}), 0)),
        Ok(Position::Done)
    );
}

#[test]
fn offset_maximum_is_exclusive() {
    let p = offset(50, None, Some(100), false);
    let body = json!({});
    let got = walk(&p, &[(body.clone(), 50), (body.clone(), 50), (body, 50)]).unwrap();
    assert_eq!(
        got,
        vec![Position::Offset(0), Position::Offset(50), Position::Done]
    );
}

#[test]
fn page_number_total_pages_and_maximum() {
    let p = Paginator::PageNumber {
        base_page: 1,
        page: 1,
        page_slot: Slot::Query("page".into()),
        range: Range {
            total_path: Some(path("total_pages")),
            maximum: None,
            stop_after_empty_page: true,
            has_more_path: None,
            total_fallback: false,
        },
    };
    let body = json!({"total_pages": 3});
    let got = walk(&p, &[(body.clone(), 5), (body.clone(), 5), (body, 5)]).unwrap();
    assert_eq!(
        got,
        vec![
            Position::Page(1),
            Position::Page(2),
            Position::Page(3),
            Position::Done
        ]
    );
    let capped = Paginator::PageNumber {
        base_page: 1,
        page: 1,
        page_slot: Slot::Query("page".into()),
        range: Range {
            total_path: None,
            maximum: Some(3),
            stop_after_empty_page: true,
            has_more_path: None,
            total_fallback: false,
        },
    };
    let got = walk(&capped, &[(json!({}), 5), (json!({}), 5), (json!({}), 5)]).unwrap();
    assert_eq!(
        got,
        vec![Position::Page(1), Position::Page(2), Position::Done],
        "base 1, max 3: pages 1 and 2"
    );
}

fn cursor(has_more: Option<&str>, stop_empty: bool) -> Paginator {
    Paginator::Cursor {
        cursor_path: path("paging.next.after"),
        cursor_slot: Slot::Query("after".into()),
        limit: Some(100),
        stop_after_empty_page: stop_empty,
        has_more_path: has_more.map(path),
        initial_cursor: None,
    }
}

#[test]
fn cursor_stops_on_missing_or_falsy_cursor() {
    let p = cursor(None, false);
    let cases = [
        (
            json!({"paging": {"next": {"after": "abc"}}}),
            Position::Cursor("abc".into()),
        ),
        (
            json!({"paging": {"next": {"after": 17}}}),
            Position::Cursor(json!(17)),
        ),
        (json!({"paging": {"next": {"after": ""}}}), Position::Done),
        (json!({"paging": {"next": {"after": null}}}), Position::Done),
        (json!({"paging": {"next": {"after": 0}}}), Position::Done),
        (
            json!({"paging": {"next": {"after": false}}}),
            Position::Done,
        ),
        (json!({"data": []}), Position::Done),
    ];
    for (body, want) in cases {
        assert_eq!(
            p.advance(&Position::First, &page(&body, 5)),
            Ok(want),
            "{body}"
        );
    }
}

#[test]
fn cursor_has_more_and_empty_pages() {
    let p = cursor(Some("has_more"), false);
    let body = |more: Value| json!({"has_more": more, "paging": {"next": {"after": "n"}}});
    assert_eq!(
        p.advance(&Position::First, &page(&body(json!(false)), 5)),
        Ok(Position::Done)
    );
    assert_eq!(
        p.advance(&Position::First, &page(&body(json!("yes")), 5)),
        Ok(Position::Cursor("n".into()))
    );
    assert!(
        p.advance(&Position::First, &page(&body(json!(1)), 5))
            .unwrap_err()
            .contains("is not a `bool`")
    );
    let missing = json!({"paging": {"next": {"after": "n"}}});
    assert!(
        p.advance(&Position::First, &page(&missing, 5))
            .unwrap_err()
            .contains("Has more value not found")
    );
    let stop = cursor(None, true);
    assert_eq!(
        stop.advance(&Position::First, &page(&missing, 0)),
        Ok(Position::Done)
    );
    assert_eq!(
        cursor(None, false).advance(&Position::First, &page(&missing, 0)),
        Ok(Position::Cursor("n".into()))
    );
}

fn parts() -> RequestParts {
    RequestParts {
        method: Method::Get,
        url: "https://a/v1/x".into(),
        params: vec![("keep".into(), json!("1")), ("limit".into(), json!(5))],
        headers: vec![],
        json: None,
        form: None,
    }
}

#[test]
fn apply_puts_positions_in_query_or_body() {
    let mut r = parts();
    offset(100, None, Some(1), true).apply(&Position::Offset(200), &mut r);
    assert_eq!(
        r.full_url(),
        "https://a/v1/x?keep=1&limit=100&offset=200",
        "paginator overrides a user limit"
    );

    let mut r = parts();
    cursor(None, false).apply(&Position::First, &mut r);
    assert_eq!(
        r.full_url(),
        "https://a/v1/x?keep=1&limit=100",
        "first cursor request: limit, no cursor"
    );
    cursor(None, false).apply(&Position::Cursor(json!(17)), &mut r);
    assert_eq!(
        r.full_url(),
        "https://a/v1/x?keep=1&limit=100&after=17",
        "a number cursor renders with str()"
    );
    cursor(None, false).apply(&Position::Cursor("c 1".into()), &mut r);
    assert_eq!(r.full_url(), "https://a/v1/x?keep=1&limit=100&after=c+1");

    let mut r = parts();
    let body_pager = Paginator::PageNumber {
        base_page: 0,
        page: 0,
        page_slot: Slot::Body(vec!["paging".into(), "page".into()]),
        range: Range {
            total_path: None,
            maximum: Some(9),
            stop_after_empty_page: true,
            has_more_path: None,
            total_fallback: false,
        },
    };
    body_pager.apply(&Position::Page(3), &mut r);
    assert_eq!(r.json, Some(json!({"paging": {"page": 3}})));

    let mut r = parts();
    Paginator::JsonLink {
        next_url_path: path("next"),
    }
    .apply(&Position::NextUrl("https://a/v1/x?page=2".into()), &mut r);
    assert_eq!(
        r.full_url(),
        "https://a/v1/x?page=2",
        "next URLs carry their own query"
    );
}

#[test]
fn json_link_resolves_relative_links_and_stops_on_null() {
    let p = Paginator::JsonLink {
        next_url_path: path("next"),
    };
    let cases = [
        (
            json!({"next": "https://b/y?page=2"}),
            Ok(Position::NextUrl("https://b/y?page=2".into())),
        ),
        (
            json!({"next": "/v1/x?page=3"}),
            Ok(Position::NextUrl("https://a/v1/x?page=3".into())),
        ),
        (
            json!({"next": "?p=4"}),
            Ok(Position::NextUrl("https://a/x?p=4".into())),
        ),
        (json!({"next": null}), Ok(Position::Done)),
        (json!({}), Ok(Position::Done)),
    ];
    for (body, want) in cases {
        assert_eq!(p.advance(&Position::First, &page(&body, 1)), want, "{body}");
    }
}

#[test]
fn header_link_and_header_cursor() {
    let link = Paginator::HeaderLink {
        links_next_key: "next".into(),
    };
    let headers = vec![(
        "Link".to_string(),
        r#"<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last""#.to_string(),
    )];
    let body = json!([]);
    let view = PageView {
        body: &body,
        headers: &headers,
        record_count: 1,
        url: "https://a/x",
    };
    assert_eq!(
        link.advance(&Position::First, &view),
        Ok(Position::NextUrl("https://a/x?page=2".into()))
    );
    let none = PageView {
        body: &body,
        headers: &[],
        record_count: 1,
        url: "https://a/x",
    };
    assert_eq!(link.advance(&Position::First, &none), Ok(Position::Done));

    let cur = Paginator::HeaderCursor {
        cursor_key: "X-Next".into(),
        cursor_param: "cursor".into(),
    };
    let headers = vec![("x-next".to_string(), "tok".to_string())];
    let view = PageView {
        body: &body,
        headers: &headers,
        record_count: 1,
        url: "https://a/x",
    };
    assert_eq!(
        cur.advance(&Position::First, &view),
        Ok(Position::Cursor("tok".into()))
    );
    assert_eq!(cur.advance(&Position::First, &none), Ok(Position::Done));
}

#[test]
fn link_headers_as_rfc_8288_parses_them() {
    let next = |value: &str| {
        let headers = vec![("link".to_string(), value.to_string())];
        let base = url::Url::parse("https://a/v1/x?page=1").unwrap();
        super::link_target(&headers, "next", &base)
    };
    let cases = [
        // A relative target resolves against the page URL.
        (
            r#"</v1/x?page=2>; rel="next""#,
            Some("https://a/v1/x?page=2"),
        ),
        (r#"<?page=3>; rel=next"#, Some("https://a/v1/x?page=3")),
        // Several relation types in one entry; relation types compare case-insensitively.
        (r#"<https://a/p2>; rel="last next""#, Some("https://a/p2")),
        (r#"<https://a/p2>; rel="NEXT""#, Some("https://a/p2")),
        // Parameters in any order, quoted commas inside them, extra whitespace.
        (
            r#"<https://a/p0>; title="a, b"; rel="prev" ,  <https://a/p4>;rel=next"#,
            Some("https://a/p4"),
        ),
        (r#"<https://a/p9>; rel="last""#, None),
        // Not a Link header value: ignored, no next page (and no panic).
        ("https://a/p2; rel=next", None),
        (r#"<https://a/p2; rel="next""#, None),
        (r#"<https://a/p2>; rel="next"#, None),
        ("<https://a/p2>; rel=\"\u{e9}\"", None),
        ("", None),
    ];
    for (value, want) in cases {
        assert_eq!(next(value).as_deref(), want, "{value}");
    }
}

#[test]
fn single_page_stops_after_one() {
    assert_eq!(
        Paginator::SinglePage.advance(&Position::First, &page(&json!({}), 3)),
        Ok(Position::Done)
    );
}

#[test]
fn a_missing_or_null_total_fails_unless_fallback_lets_the_other_rules_decide() {
    let raise = offset(2, Some("total"), None, true);
    let mut fallback = raise.clone();
    if let Paginator::Offset { range, .. } = &mut fallback {
        range.total_fallback = true;
    }
    let pages = [
        (json!({"total": null}), 2),
        (json!({}), 2),
        (json!({"total": null}), 0),
    ];
    for body in [json!({"total": null}), json!({})] {
        let err = walk(&raise, &[(body, 2)]).unwrap_err();
        assert!(err.contains("Total `total` not found"), "{err}");
    }
    assert_eq!(
        walk(&fallback, &pages).unwrap(),
        vec![
            Position::Offset(0),
            Position::Offset(2),
            Position::Offset(4),
            Position::Done
        ],
        "the empty page stops it"
    );
    let given = [(json!({"total": 3}), 2), (json!({"total": 3}), 1)];
    assert_eq!(
        walk(&fallback, &given).unwrap(),
        vec![Position::Offset(0), Position::Offset(2), Position::Done],
        "a total given is used"
    );
    assert_eq!(
        walk(&fallback, &[(json!({"total": "many"}), 2)]).unwrap_err(),
        "'total' is not an `int` in the response in `OffsetPaginator`: \"many\"",
        "a total that is there but wrong still fails"
    );
    assert_eq!(fallback.known_range(&json!({"total": null})), None);
}

#[test]
fn an_initial_cursor_goes_on_the_first_request() {
    let mut p = cursor(None, false);
    assert_eq!(p.start(), Position::First);
    if let Paginator::Cursor { initial_cursor, .. } = &mut p {
        *initial_cursor = Some(json!("*"));
    }
    assert_eq!(p.start(), Position::Cursor(json!("*")));
    let mut parts = parts();
    p.apply(&p.start(), &mut parts);
    assert!(
        parts.params.contains(&("after".to_string(), json!("*"))),
        "{:?}",
        parts.params
    );
    let next = json!({"paging": {"next": {"after": "c2"}}});
    let got = walk(&p, &[(next, 1), (json!({}), 1)]).unwrap();
    assert_eq!(
        got,
        vec![
            Position::Cursor(json!("*")),
            Position::Cursor(json!("c2")),
            Position::Done
        ]
    );
}
