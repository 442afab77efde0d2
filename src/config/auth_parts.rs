//! Parsing an auth setting: dlt's four types and the seeds' `oauth2` spelling.

use super::check::{Checker, join};
use crate::auth::{Auth, ClientAuth, KeyLocation, OAuth2};
use crate::render::py_str;
use serde_json::{Map, Value};

/// Auth type names: dlt's four plus the seeds' `oauth2`.
pub(super) const AUTH_TYPES: [&str; 5] = [
    "bearer",
    "api_key",
    "http_basic",
    "oauth2_client_credentials",
    "oauth2",
];

/// An auth setting (secrets already substituted).
pub fn auth(v: &Value, path: &str, ck: &mut Checker) -> Option<Auth> {
    let map = match v {
        Value::String(s) => {
            if ck.literal(s, &AUTH_TYPES, path).is_some() {
                ck.problem(path, format!("auth `{s}` needs its fields: write it as an object whose credentials are {{\"secret\": \"name\"}} values"));
            }
            return None;
        }
        other => ck.object(other, path)?,
    };
    let kind = ck
        .opt_str(map, "type", path)
        .unwrap_or_else(|| "bearer".into());
    ck.literal(&kind, &AUTH_TYPES, &join(path, "type"))?;
    let before = ck.problems.len();
    let auth = match kind.as_str() {
        "bearer" => {
            ck.only_keys(map, &["type", "token"], path);
            Auth::Bearer {
                token: ck.req_str(map, "token", path).unwrap_or_default(),
            }
        }
        "api_key" => {
            ck.only_keys(map, &["type", "api_key", "name", "location"], path);
            let location = ck
                .opt_str(map, "location", path)
                .unwrap_or_else(|| "header".into());
            let location = match ck.literal(
                &location,
                &["header", "query", "param", "cookie"],
                &join(path, "location"),
            ) {
                Some(l) if l == "header" => KeyLocation::Header,
                Some(l) if l == "cookie" => KeyLocation::Cookie,
                _ => KeyLocation::Query,
            };
            Auth::ApiKey {
                value: ck.req_str(map, "api_key", path).unwrap_or_default(),
                name: ck
                    .opt_str(map, "name", path)
                    .unwrap_or_else(|| "Authorization".into()),
                location,
            }
        }
        "http_basic" => {
            ck.only_keys(map, &["type", "username", "password"], path);
            Auth::Basic {
                username: ck.req_str(map, "username", path).unwrap_or_default(),
                password: ck.req_str(map, "password", path).unwrap_or_default(),
            }
        }
        _ => Auth::OAuth2(oauth2(map, path, ck)),
    };
    (ck.problems.len() == before).then_some(auth)
}

fn oauth2(map: &Map<String, Value>, path: &str, ck: &mut Checker) -> OAuth2 {
    ck.only_keys(
        map,
        &[
            "type",
            "access_token_url",
            "token_url",
            "client_id",
            "client_secret",
            "access_token_request_data",
            "default_token_expiration",
            "access_token",
            "client_auth_method",
        ],
        path,
    );
    let token_url = match (
        map.contains_key("access_token_url"),
        map.contains_key("token_url"),
    ) {
        (true, true) => {
            ck.problem(path, "give `access_token_url` or `token_url`, not both");
            None
        }
        (false, true) => ck.req_str(map, "token_url", path),
        _ => ck.req_str(map, "access_token_url", path),
    };
    if let Some(url) = &token_url
        && url::Url::parse(url).is_err()
    {
        ck.problem(path, format!("token URL `{url}` is not an absolute URL"));
    }
    let mut extra = Vec::new();
    if let Some(v) = map.get("access_token_request_data")
        && let Some(data) = ck.object(v, &join(path, "access_token_request_data"))
    {
        extra = data.iter().map(|(k, v)| (k.clone(), py_str(v))).collect();
    }
    let method = ck.opt_str(map, "client_auth_method", path);
    let methods = ["client_secret_post", "client_secret_basic"];
    let client_auth =
        match method.and_then(|m| ck.literal(&m, &methods, &join(path, "client_auth_method"))) {
            Some(m) if m == "client_secret_basic" => ClientAuth::Basic,
            _ => ClientAuth::Post,
        };
    let expiry = ck
        .opt_int(map, "default_token_expiration", path)
        .unwrap_or(3600);
    OAuth2 {
        token_url: token_url.unwrap_or_default(),
        client_id: ck.req_str(map, "client_id", path).unwrap_or_default(),
        client_secret: ck.req_str(map, "client_secret", path).unwrap_or_default(),
        extra,
        default_expiration_s: expiry.max(0) as u64,
        client_auth,
    }
}
