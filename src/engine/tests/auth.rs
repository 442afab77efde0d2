//! OAuth2 tokens (fetched, expired, refreshed on a 401) and credentials and secrets kept off other origins,
//! templates and errors.

use super::*;

#[test]
fn oauth_token_is_fetched_once_and_refreshed_on_expiry() {
    let mut e = engine(oauth_config());
    let token_req = expect_send(&mut e, at(0));
    assert_eq!(token_req.url, "https://api.example.com/token");
    e.on_response(at(1), ok(json!({"access_token": "tok1", "expires_in": 10})))
        .unwrap();
    let page_req = expect_send(&mut e, at(1));
    assert!(
        page_req
            .headers
            .contains(&("Authorization".into(), "Bearer tok1".into()))
    );
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "n1"})))
        .unwrap();
    expect_page(&mut e, at(2));
    let again = expect_send(&mut e, at(5_000));
    assert!(
        again.url.ends_with("after=n1"),
        "token still valid: {}",
        again.url
    );
    e.on_response(at(5_001), ok(json!({"data": [{"id": 2}], "next": "n2"})))
        .unwrap();
    expect_page(&mut e, at(5_001));
    let refresh = expect_send(&mut e, at(10_001));
    assert_eq!(
        refresh.url, "https://api.example.com/token",
        "expired: a new token first"
    );
}

/// dlt: `expires_in: 0` means a new token for every request, not a loop of token requests.
#[test]
fn a_token_that_expires_at_once_is_used_once() {
    let mut e = engine(oauth_config());
    assert!(expect_send(&mut e, at(0)).url.ends_with("/token"));
    e.on_response(at(1), ok(json!({"access_token": "t1", "expires_in": 0})))
        .unwrap();
    let page = expect_send(&mut e, at(1));
    assert!(
        page.headers
            .contains(&("Authorization".into(), "Bearer t1".into())),
        "{page:?}"
    );
    e.on_response(at(2), ok(json!({"data": [{"id": 1}], "next": "n"})))
        .unwrap();
    expect_page(&mut e, at(2));
    assert!(
        expect_send(&mut e, at(3)).url.ends_with("/token"),
        "a new token for the next request"
    );
}

/// A 401 with OAuth2 fetches a new token and asks once more; a second 401 fails (dlt never refreshes on 401).
#[test]
fn an_oauth_401_refreshes_the_token_once() {
    let mut e = engine(oauth_config());
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "old"})))
        .unwrap();
    expect_send(&mut e, at(1));
    e.on_response(at(2), status(401, &[])).unwrap();
    assert!(
        e.take_notes()[0].contains("status 401"),
        "the refresh is logged"
    );
    assert!(
        expect_send(&mut e, at(3)).url.ends_with("/token"),
        "a new token first"
    );
    e.on_response(at(4), ok(json!({"access_token": "new"})))
        .unwrap();
    let again = expect_send(&mut e, at(4));
    assert!(
        again
            .headers
            .contains(&("Authorization".into(), "Bearer new".into()))
    );
    e.on_response(at(5), ok(json!({"data": [{"id": 1}], "next": "n"})))
        .unwrap();
    expect_page(&mut e, at(5));
    // A later 401 gets its own single refresh; two in a row fail.
    expect_send(&mut e, at(6));
    e.on_response(at(7), status(401, &[])).unwrap();
    expect_send(&mut e, at(8));
    e.on_response(at(9), ok(json!({"access_token": "newer"})))
        .unwrap();
    expect_send(&mut e, at(9));
    let err = e
        .on_response(at(10), status(401, &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("(status 401)"), "{err}");
}

/// The OAuth token is masked like a secret: it never reaches an error or a checkpoint.
#[test]
fn the_access_token_is_masked_too() {
    let config = json!({"client": {"base_url": "https://api.example.com",
        "auth": {"type": "oauth2", "token_url": "https://api.example.com/token", "client_id": "id", "client_secret": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data", "paginator": {"type": "json_link"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(at(1), ok(json!({"access_token": "tok-XYZ"})))
        .unwrap();
    expect_send(&mut e, at(1));
    let err = e
        .on_response(
            at(2),
            ok(json!({"data": [{"id": 1}], "next": "https://api.example.com/v1/r?access=tok-XYZ"})),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds a secret value"), "{err}");
    assert!(!err.contains("tok-XYZ"), "{err}");
}

#[test]
fn credentials_stay_on_the_base_origin() {
    let config = json!({
        "client": {"base_url": "https://api.example.com", "headers": {"X-Team": SECRET},
                   "auth": {"type": "api_key", "name": "api_key", "api_key": SECRET, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "data_selector": "data", "paginator": {"type": "json_link"}}}]
    });
    let mut e = engine(config);
    let first = expect_send(&mut e, at(0));
    assert!(first.url.ends_with(&format!("api_key={SECRET}")));
    let next = format!("https://elsewhere.example.net/v1/r?page=2&api_key={SECRET}");
    e.on_response(at(1), ok(json!({"data": [{"id": 1}], "next": next})))
        .unwrap();
    let page = expect_page(&mut e, at(1));
    assert!(!page.checkpoint.contains(SECRET), "{}", page.checkpoint);
    let second = expect_send(&mut e, at(2));
    assert_eq!(
        second.url, "https://elsewhere.example.net/v1/r?page=2",
        "no key to another origin"
    );
    assert!(
        second.headers.iter().all(|(_, v)| !v.contains(SECRET)),
        "{:?}",
        second.headers
    );
}

#[test]
fn errors_never_carry_secret_values() {
    let config = json!({
        "client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": SECRET}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "paginator": "single_page",
            "auth": {"type": "api_key", "api_key": "k", "location": SECRET}}}]
    });
    let err = Engine::new(&config.to_string(), &config, vec![SECRET.into()], None)
        .err()
        .unwrap();
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err}");
}

/// A secret is used as it is: never read as a `{placeholder}` template, never unescaped.
#[test]
fn secrets_are_opaque_to_templates() {
    let secret = "ab{cd}ef{{x";
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "paginator": "single_page", "params": {"token": secret}}}]});
    let mut e = Engine::new(&config.to_string(), &config, vec![secret.into()], None).unwrap();
    let req = expect_send(&mut e, at(0));
    assert_eq!(
        req.url,
        "https://api.example.com/v1/r?token=ab%7Bcd%7Def%7B%7Bx"
    );
}

/// An API key under a name outside dlt's sensitive list, with characters that URL-encode, never shows.
#[test]
fn encoded_keys_under_any_name_are_masked() {
    let secret = "ab+c/d== é";
    let config = json!({"client": {"base_url": "https://api.example.com",
        "auth": {"type": "api_key", "name": "hapikey", "api_key": secret, "location": "query"}},
        "resources": [{"name": "r", "endpoint": {"path": "/v1/r", "paginator": "single_page"}}]});
    let mut e = Engine::new(&config.to_string(), &config, vec![secret.into()], None).unwrap();
    let req = expect_send(&mut e, at(0));
    assert!(
        req.url.ends_with("hapikey=ab%2Bc%2Fd%3D%3D+%C3%A9"),
        "{}",
        req.url
    );
    let err = e
        .on_response(at(1), status(404, &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("hapikey=***"), "{err}");
    for form in ["ab+c/d==", "ab%2Bc%2Fd%3D%3D", "d=="] {
        assert!(!err.contains(form), "{form} in {err}");
    }
}

/// A JSON body holding a secret is not sent to another origin.
#[test]
fn a_secret_body_does_not_follow_a_link_elsewhere() {
    let config = json!({"client": {"base_url": "https://api.example.com"}, "resources": [{"name": "r", "endpoint": {
        "path": "/v1/r", "method": "POST", "json": {"key": SECRET}, "data_selector": "data", "paginator": {"type": "json_link"}}}]});
    let mut e = engine(config);
    expect_send(&mut e, at(0));
    e.on_response(
        at(1),
        ok(json!({"data": [{"id": 1}], "next": "https://elsewhere.example.net/p2"})),
    )
    .unwrap();
    expect_page(&mut e, at(1));
    let err = e.poll(at(2)).unwrap_err().to_string();
    assert!(
        err.contains(
            "another origin than the base URL's and its body holds a secret; it is not sent"
        ),
        "{err}"
    );
}
