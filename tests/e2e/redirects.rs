//! Redirects through the host, on loopback: a Django-style 301 to the URL with a slash is followed with its
//! credentials, a hop to another origin travels without them, and a hop the egress policy refuses fails the
//! run with the redacted Location in the error and nothing sent there.

use crate::support::server::{Answer, RouteServer};
use crate::support::*;
use serde_json::json;

const TOKEN: &str = "t0ken-VALUE";

fn config(path: &str) -> String {
    json!({"client": {"base_url": "https://api.example.com", "auth": {"type": "bearer", "token": TOKEN}},
           "resources": [{"name": "items", "endpoint": {"path": path, "paginator": "single_page"}}]})
    .to_string()
}

#[test]
fn a_slash_redirect_is_followed_with_the_credentials() {
    let api = RouteServer::start(|seen| match seen.url.as_str() {
        "/api/items" => Answer::status(301).with("Location", "/api/items/"),
        "/api/items/" if seen.header("authorization") == Some(&format!("Bearer {TOKEN}")) => {
            Answer::json(r#"[{"id": 1}, {"id": 2}]"#)
        }
        _ => Answer::status(401),
    });
    let (_, dir) = run_ok(&tenant_at(&api.url(), &config("api/items")));
    assert_eq!(rows(dir.path(), "items").len(), 2);
    let urls: Vec<String> = api.log().into_iter().map(|s| s.url).collect();
    assert_eq!(urls, ["/api/items", "/api/items/"]);
}

#[test]
fn a_hop_to_another_origin_goes_without_credentials_or_not_at_all() {
    let elsewhere = RouteServer::start(|_| Answer::json(r#"[{"id": 1}]"#));
    let target = format!("{}/data?key=from-location", elsewhere.url());
    let api = RouteServer::start(move |_| Answer::status(302).with("Location", &target));
    let config = config("items");

    // The operator does not allow the other origin: refused by the egress policy, nothing sent there.
    let (result, _dir) = run(&tenant_at(&api.url(), &config));
    let error = result.expect_err("the hop is refused").to_string();
    assert!(
        error.contains(&format!("{}/data?key=***", elsewhere.url())),
        "the redacted Location: {error}"
    );
    assert!(error.contains("egress"), "{error}");
    assert!(
        !error.contains(TOKEN) && !error.contains("from-location"),
        "{error}"
    );
    assert!(
        elsewhere.log().is_empty(),
        "no request reached the other origin"
    );

    // Allowed: it gets the request, without the token.
    let mut tenant = tenant_at(&api.url(), &config);
    let other = host_test::Origin::of_url(&elsewhere.url()).unwrap();
    tenant.egress.allowed.push(other);
    tenant
        .egress
        .internal_networks
        .push("127.0.0.0/8".parse().unwrap());
    let (_, dir) = run_ok(&tenant);
    assert_eq!(rows(dir.path(), "items").len(), 1);
    let seen = elsewhere.log();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
    assert!(seen[0].headers.iter().all(|(_, v)| !v.contains(TOKEN)));
}
