//! Ported from dlt `tests/sources/helpers/rest_client/test_detector.py`: the 22 response shapes of
//! `TEST_RESPONSES`, each checked three ways (`test_find_response_page_data`, `test_find_next_page_key`,
//! `test_find_paginator`), and the `test_single_entity_path_valid` / `_invalid` tables.

use super::*;
use crate::select::{detect_data_path, locate_at_keys};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Offset,
    PageNumber,
    Cursor,
    JsonLink,
    HeaderLink,
    SinglePage,
}

struct Case {
    response: Value,
    link_next: bool,
    kind: Kind,
    records_path: &'static str,
    next_path: Option<&'static str>,
    total_path: Option<&'static str>,
}

fn case(response: Value, kind: Kind, records_path: &'static str) -> Case {
    Case {
        response,
        link_next: false,
        kind,
        records_path,
        next_path: None,
        total_path: None,
    }
}

fn with_next(mut c: Case, next: &'static str) -> Case {
    c.next_path = Some(next);
    c
}

fn with_total(mut c: Case, total: &'static str) -> Case {
    c.total_path = Some(total);
    c
}

fn test_responses() -> Vec<Case> {
    use Kind::*;
    let mut header = case(
        json!([{"id": 101, "product_name": "Product A"}, {"id": 102, "product_name": "Product B"}]),
        HeaderLink,
        "$",
    );
    header.link_next = true;
    vec![
        case(
            json!({"data": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}],
                    "pagination": {"offset": 0, "limit": 2, "total": 100}}),
            Offset,
            "data",
        ),
        with_total(
            case(
                json!({"items": [{"id": 11, "title": "Page Item 1"}, {"id": 12, "title": "Page Item 2"}],
                    "page_info": {"current_page": 1, "items_per_page": 2, "total_pages": 50}}),
                PageNumber,
                "items",
            ),
            "page_info.total_pages",
        ),
        with_next(
            case(
                json!({"products": [{"id": 101, "name": "Product 1"}, {"id": 102, "name": "Product 2"}],
                    "next_cursor": "eyJpZCI6MTAyfQ=="}),
                Cursor,
                "products",
            ),
            "next_cursor",
        ),
        with_next(
            case(
                json!({"results": [{"id": 201, "description": "Result 1"}, {"id": 202, "description": "Result 2"}],
                    "cursors": {"next": "NjM=", "previous": "MTk="}}),
                Cursor,
                "results",
            ),
            "cursors.next",
        ),
        with_next(
            case(
                json!({"entries": [{"id": 31, "value": "Entry 1"}, {"id": 32, "value": "Entry 2"}],
                    "next_id": 33, "limit": 2}),
                Cursor,
                "entries",
            ),
            "next_id",
        ),
        with_total(
            case(
                json!({"comments": [{"id": 51, "text": "Comment 1"}, {"id": 52, "text": "Comment 2"}],
                    "page_number": 3, "total_pages": 15}),
                PageNumber,
                "comments",
            ),
            "total_pages",
        ),
        with_next(
            case(
                json!({"count": 1023, "next": "https://api.example.org/accounts/?page=5",
                    "previous": "https://api.example.org/accounts/?page=3",
                    "results": [{"id": 1, "name": "Account 1"}, {"id": 2, "name": "Account 2"}]}),
                JsonLink,
                "results",
            ),
            "next",
        ),
        with_next(
            case(
                json!({"_embedded": {"items": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}]},
                    "_links": {"first": {"href": "http://api.example.com/items?page=0&size=2"},
                               "self": {"href": "http://api.example.com/items?page=1&size=2"},
                               "next": {"href": "http://api.example.com/items?page=2&size=2"},
                               "last": {"href": "http://api.example.com/items?page=50&size=2"}},
                    "page": {"size": 2, "totalElements": 100, "totalPages": 50, "number": 1}}),
                JsonLink,
                "_embedded.items",
            ),
            "_links.next.href",
        ),
        with_next(
            case(
                json!({"items": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}],
                    "meta": {"currentPage": 1, "pageSize": 2, "totalPages": 50, "totalItems": 100},
                    "links": {"firstPage": "/items?page=1&limit=2", "previousPage": "/items?page=0&limit=2",
                              "nextPage": "/items?page=2&limit=2", "lastPage": "/items?page=50&limit=2"}}),
                JsonLink,
                "items",
            ),
            "links.nextPage",
        ),
        with_total(
            case(
                json!({"data": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}],
                    "pagination": {"currentPage": 1, "pageSize": 2, "totalPages": 5, "totalItems": 10}}),
                PageNumber,
                "data",
            ),
            "pagination.totalPages",
        ),
        with_total(
            case(
                json!({"items": [{"id": 1, "title": "Item 1"}, {"id": 2, "title": "Item 2"}],
                    "pagination": {"page": 1, "perPage": 2, "total": 10, "totalPages": 5}}),
                PageNumber,
                "items",
            ),
            "pagination.totalPages",
        ),
        with_next(
            case(
                json!({"data": [{"id": 1, "description": "Item 1"}, {"id": 2, "description": "Item 2"}],
                    "meta": {"currentPage": 1, "itemsPerPage": 2, "totalItems": 10, "totalPages": 5},
                    "links": {"first": "/api/items?page=1", "previous": null, "next": "/api/items?page=2", "last": "/api/items?page=5"}}),
                JsonLink,
                "data",
            ),
            "links.next",
        ),
        with_total(
            case(
                json!({"page": 2, "per_page": 10, "total": 100, "pages": 10,
                    "data": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}]}),
                PageNumber,
                "data",
            ),
            "pages",
        ),
        with_total(
            case(
                json!({"currentPage": 1, "pageSize": 10, "totalPages": 5, "totalRecords": 50,
                    "items": [{"id": 1, "name": "Item 1"}, {"id": 2, "name": "Item 2"}]}),
                PageNumber,
                "items",
            ),
            "totalPages",
        ),
        case(
            json!({"articles": [{"id": 21, "headline": "Article 1"}, {"id": 22, "headline": "Article 2"}],
                    "paging": {"current": 3, "size": 2, "total": 60}}),
            SinglePage,
            "articles",
        ),
        case(
            json!({"feed": [{"id": 41, "content": "Feed Content 1"}, {"id": 42, "content": "Feed Content 2"}],
                    "offset": 40, "limit": 2, "total_count": 200}),
            Offset,
            "feed",
        ),
        with_total(
            case(
                json!({"query_results": [{"id": 81, "snippet": "Result Snippet 1"}, {"id": 82, "snippet": "Result Snippet 2"}],
                    "page_details": {"number": 1, "size": 2, "total_elements": 50, "total_pages": 25}}),
                PageNumber,
                "query_results",
            ),
            "page_details.total_pages",
        ),
        with_total(
            case(
                json!({"posts": [{"id": 91, "title": "Blog Post 1"}, {"id": 92, "title": "Blog Post 2"}],
                    "pagination_details": {"current_page": 4, "posts_per_page": 2, "total_posts": 100, "total_pages": 50}}),
                PageNumber,
                "posts",
            ),
            "pagination_details.total_pages",
        ),
        with_total(
            case(
                json!({"catalog": [{"id": 101, "product_name": "Product A"}, {"id": 102, "product_name": "Product B"}],
                    "page_metadata": {"index": 1, "size": 2, "total_items": 20, "total_pages": 10}}),
                PageNumber,
                "catalog",
            ),
            "page_metadata.total_pages",
        ),
        case(
            json!([{"id": 101, "product_name": "Product A"}, {"id": 102, "product_name": "Product B"}]),
            SinglePage,
            "$",
        ),
        header,
        case(
            json!({"id": 101, "product_name": "Product A"}),
            SinglePage,
            "$",
        ),
    ]
}

fn dotted(keys: &[String]) -> String {
    if keys.is_empty() {
        "$".into()
    } else {
        keys.join(".")
    }
}

#[test]
fn dlt_test_find_response_page_data() {
    for (i, c) in test_responses().iter().enumerate() {
        let keys = detect_data_path(&c.response);
        assert_eq!(dotted(&keys), c.records_path, "case {i}");
        let want: Vec<Value> = match c.records_path {
            "$" => match &c.response {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            },
            p => Path::parse(p)
                .unwrap()
                .locate(&c.response)
                .take(&mut c.response.clone()),
        };
        let got = locate_at_keys(&c.response, &keys).take(&mut c.response.clone());
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn dlt_test_find_next_page_key() {
    for (i, c) in test_responses().iter().enumerate() {
        let found = next_page_path(&c.response);
        assert_eq!(
            found.as_ref().map(|(k, _)| k.join(".")),
            c.next_path.map(String::from),
            "case {i}"
        );
        if let Some((keys, value)) = found {
            assert_eq!(
                Path::parse(&keys.join(".")).unwrap().first(&c.response),
                Some(value),
                "case {i}"
            );
        }
    }
}

#[test]
fn dlt_test_find_paginator() {
    for (i, c) in test_responses().iter().enumerate() {
        let headers = if c.link_next {
            vec![(
                "Link".to_string(),
                "<https://api.example.com/next_page>; rel=\"next\"".to_string(),
            )]
        } else {
            vec![]
        };
        let got = detect_paginator(&headers, &c.response, "https://api.example.com/items");
        // dlt has no offset detector: those shapes fall back to a single page.
        let want = if c.kind == Kind::Offset {
            Kind::SinglePage
        } else {
            c.kind
        };
        let (kind, path) = match &got {
            Paginator::PageNumber { range, .. } => (
                Kind::PageNumber,
                range.total_path.as_ref().map(|p| p.as_str().to_string()),
            ),
            Paginator::JsonLink { next_url_path } => {
                (Kind::JsonLink, Some(next_url_path.as_str().to_string()))
            }
            Paginator::Cursor { cursor_path, .. } => {
                (Kind::Cursor, Some(cursor_path.as_str().to_string()))
            }
            Paginator::HeaderLink { .. } => (Kind::HeaderLink, None),
            Paginator::SinglePage => (Kind::SinglePage, None),
            other => panic!("case {i}: unexpected {other:?}"),
        };
        assert_eq!(kind, want, "case {i}");
        let want_path = match want {
            Kind::PageNumber => c.total_path,
            Kind::JsonLink | Kind::Cursor => c.next_path,
            _ => None,
        };
        assert_eq!(path.as_deref(), want_path, "case {i}");
    }
}

#[test]
fn dlt_test_single_entity_path_valid() {
    let valid = [
        "/users/{user_id}",
        "/api/v1/products/{product_id}/",
        "/api/v1/products/{product_id}//",
        "/api/v1/products/{product_id}?param1=value1",
        "/api/v1/products/{product_id}#section",
        "/api/v1/products/{product_id}.json",
        "/api/v1/products/{product_id}.json/",
        "/api/v1/products/{product_id}_data",
        "/api/v1/products/{product_id}_data?param=true",
        "/users/{user_id}/posts/{post_id}",
        "/users/{user_id}/posts/{post_id}/comments/{comment_id}",
        "{entity}",
        "/{entity}",
        "/{user_123}",
        "/users/{user-id}",
        "/users/{123}",
    ];
    for path in valid {
        assert!(single_entity_path(path), "{path}");
    }
}

#[test]
fn dlt_test_single_entity_path_invalid() {
    let invalid = [
        "/users/user_id",
        "/api/v1/products/product_id/",
        "/users/{user_id}/details",
        "/",
        "/{}",
        "/api/v1/products/{product_id}/#section",
        "/users/{user id}",
        "/users/{user_id}/{",
    ];
    for path in invalid {
        assert!(!single_entity_path(path), "{path}");
    }
}

/// A next key holding a dict without `href`/`url` is searched inside (dlt recurses into it).
#[test]
fn next_key_dicts_without_href_are_searched_inside() {
    let body = json!({"paging": {"next": {"after": "abc"}}});
    assert_eq!(next_page_path(&body).map(|(k, _)| k.join(".")), None);
    let body = json!({"next": {"next_cursor": "abc"}});
    assert_eq!(
        next_page_path(&body).map(|(k, _)| k.join(".")),
        Some("next.next_cursor".into())
    );
}
