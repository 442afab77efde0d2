//! Redirects through the engine: what each hop sends, and where the chain is refused.

use crate::engine::{Engine, Now, Step};
use crate::request::{HttpRequest, HttpResponse, Method};
use serde_json::{Value, json};

const SECRET: &str = "s3cret-key";

fn engine(auth: Value, endpoint: Value) -> Engine {
    let mut endpoint = endpoint;
    endpoint["paginator"] = json!("single_page");
    let config = json!({"client": {"base_url": "https://api.example.com", "auth": auth},
                        "resources": [{"name": "r", "endpoint": endpoint}]});
    let text = config.to_string();
    Engine::new(&text, &config, vec![SECRET.into()], None).unwrap_or_else(|e| panic!("{e}"))
}

fn bearer() -> Value {
    json!({"type": "bearer", "token": SECRET})
}

fn response(status: u16, location: Option<&str>, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: location
            .map(|l| ("Location".to_string(), l.to_string()))
            .into_iter()
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

/// Answer each request with `answer` until the run ends: the requests sent and the error, if any.
fn drive(
    mut e: Engine,
    answer: impl Fn(usize, &HttpRequest) -> HttpResponse,
) -> (Vec<HttpRequest>, Option<String>) {
    let mut sent = Vec::new();
    loop {
        match e.poll(Now::default()) {
            Ok(Step::Send(request)) => {
                let r = answer(sent.len(), &request);
                sent.push(request);
                if let Err(error) = e.on_response(Now::default(), r) {
                    return (sent, Some(error.to_string()));
                }
            }
            Ok(Step::Page(_) | Step::Sleep { .. }) => {}
            Ok(Step::Done) => return (sent, None),
            Err(error) => return (sent, Some(error.to_string())),
        }
    }
}

fn header<'r>(r: &'r HttpRequest, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_same_origin_redirect_is_followed_with_its_credentials() {
    let e = engine(bearer(), json!({"path": "api/items"}));
    let (sent, error) = drive(e, |i, _| match i {
        0 => response(301, Some("/api/items/"), ""),
        _ => response(200, None, r#"[{"id": 1}]"#),
    });
    assert_eq!(error, None);
    assert_eq!(sent[1].url, "https://api.example.com/api/items/");
    assert_eq!(header(&sent[1], "authorization"), Some("Bearer s3cret-key"));
}

#[test]
fn methods_and_bodies_change_as_in_requests() {
    // (status, method after the hop, body kept)
    let cases = [
        (301, Method::Get, false),
        (302, Method::Get, false),
        (303, Method::Get, false),
        (307, Method::Post, true),
        (308, Method::Post, true),
    ];
    for (status, method, body) in cases {
        let e = engine(
            bearer(),
            json!({"path": "search", "method": "POST", "json": {"q": 1}}),
        );
        let (sent, error) = drive(e, |i, _| match i {
            0 => response(status, Some("https://api.example.com/found"), ""),
            _ => response(200, None, "[]"),
        });
        assert_eq!(error, None, "{status}");
        assert_eq!(sent[1].method, method, "{status}");
        assert_eq!(sent[1].body.is_some(), body, "{status}");
        assert_eq!(header(&sent[1], "content-type").is_some(), body, "{status}");
    }
}

#[test]
fn another_origin_gets_no_credential() {
    let auths = [
        bearer(),
        json!({"type": "api_key", "name": "X-Key", "api_key": SECRET, "location": "header"}),
        json!({"type": "api_key", "name": "key", "api_key": SECRET, "location": "query"}),
        json!({"type": "api_key", "name": "sid", "api_key": SECRET, "location": "cookie"}),
        json!({"type": "http_basic", "username": "u", "password": SECRET}),
    ];
    for auth in auths {
        let e = engine(
            auth.clone(),
            json!({"path": "items", "headers": {"X-Echo": SECRET}}),
        );
        let (sent, error) = drive(e, |i, r| match i {
            0 => response(
                302,
                Some(&format!(
                    "https://cdn.example.net/items?{}",
                    r.url
                        .split_once('?')
                        .map_or("", |q| q.1)
                        .replace(SECRET, "x")
                )),
                "",
            ),
            _ => response(200, None, "[]"),
        });
        assert_eq!(error, None, "{auth}");
        let hop = &sent[1];
        assert!(
            hop.url.starts_with("https://cdn.example.net/items"),
            "{auth}"
        );
        let text = format!("{} {:?}", hop.url, hop.headers);
        assert!(!text.contains(SECRET), "{auth}: {text}");
        for name in ["authorization", "cookie", "x-key"] {
            assert_eq!(header(hop, name), None, "{auth}: {name}");
        }
    }
}

/// A scripted server: request number and request in, response out.
type Answer = Box<dyn Fn(usize, &HttpRequest) -> HttpResponse>;

#[test]
fn redirects_that_are_refused_say_why() {
    let key = json!({"type": "api_key", "name": "key", "api_key": SECRET, "location": "query"});
    let cases: Vec<(Value, Value, Answer, &str)> = vec![
        (
            bearer(),
            json!({"path": "a"}),
            Box::new(|_, _| response(302, Some("/a"), "")),
            "a redirect loop",
        ),
        (
            bearer(),
            json!({"path": "a"}),
            Box::new(|i, _| response(302, Some(&format!("/hop{i}")), "")),
            "more than 30 redirects",
        ),
        (
            bearer(),
            json!({"path": "a"}),
            Box::new(|_, _| response(302, Some("ftp://files.example.com/a"), "")),
            "is not followed (not http or https)",
        ),
        (
            key.clone(),
            json!({"path": "a"}),
            Box::new(|_, _| {
                response(
                    302,
                    Some(&format!("https://evil.example.net/?k={SECRET}")),
                    "",
                )
            }),
            "would carry a secret in its URL",
        ),
        (
            bearer(),
            json!({"path": "a", "method": "POST", "json": {"token": SECRET}}),
            Box::new(|_, _| response(307, Some("https://evil.example.net/a"), "")),
            "would send the request body again",
        ),
        (
            bearer(),
            json!({"path": "a"}),
            Box::new(|_, _| response(302, None, "")),
            "a redirect without a Location",
        ),
    ];
    for (auth, endpoint, answer, want) in cases {
        let (sent, error) = drive(engine(auth, endpoint), answer);
        let error = error.unwrap_or_default();
        assert!(error.contains(want), "{want}: {error}");
        assert!(!error.contains(SECRET), "{error}");
        assert!(
            sent.iter().all(|r| !r.url.starts_with("https://evil")),
            "{want}: nothing sent there"
        );
    }
    // 30 hops are followed; the 31st is refused.
    let (sent, _) = drive(engine(bearer(), json!({"path": "a"})), |i, _| {
        response(302, Some(&format!("/hop{i}")), "")
    });
    assert_eq!(sent.len(), 31);
}

#[test]
fn a_loop_through_a_method_change_is_not_a_loop_until_it_repeats() {
    // POST /a → 302 /a turns into GET /a (a new request); its 302 back to /a repeats it.
    let e = engine(bearer(), json!({"path": "a", "method": "POST", "json": {}}));
    let (sent, error) = drive(e, |_, _| response(302, Some("/a"), ""));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].method, Method::Get);
    assert!(error.unwrap_or_default().contains("a redirect loop"));
}

#[test]
fn a_same_origin_hop_keeps_an_api_key_in_the_query() {
    let key = json!({"type": "api_key", "name": "key", "api_key": SECRET, "location": "query"});
    let (sent, error) = drive(engine(key, json!({"path": "api/items"})), |i, _| match i {
        0 => response(301, Some("/api/items/?page=1"), ""),
        _ => response(200, None, "[]"),
    });
    assert_eq!(error, None);
    assert_eq!(
        sent[1].url,
        format!("https://api.example.com/api/items/?page=1&key={SECRET}")
    );
}

#[test]
fn a_body_never_follows_a_redirect_to_another_origin() {
    // A 307 keeps the body; a token request's body holds the client secret even when it is written in the config.
    let e = engine(
        bearer(),
        json!({"path": "a", "method": "POST", "json": {"q": "not a known secret"}}),
    );
    let (sent, error) = drive(e, |_, _| {
        response(307, Some("https://other.example.net/a"), "")
    });
    assert_eq!(sent.len(), 1);
    assert!(
        error
            .unwrap_or_default()
            .contains("would send the request body again")
    );
    // http on 80 to https on 443 of the same host keeps the credentials, as in requests.
    let config = json!({"client": {"base_url": "http://api.example.com", "auth": bearer()},
                        "resources": [{"name": "r", "endpoint": {"path": "a", "paginator": "single_page"}}]});
    let e = Engine::new(&config.to_string(), &config, vec![SECRET.into()], None).unwrap();
    let (sent, error) = drive(e, |i, _| match i {
        0 => response(301, Some("https://api.example.com/a"), ""),
        _ => response(200, None, "[]"),
    });
    assert_eq!(error, None);
    assert_eq!(header(&sent[1], "authorization"), Some("Bearer s3cret-key"));
}
