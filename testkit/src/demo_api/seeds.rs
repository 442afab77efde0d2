//! The seed-shaped API: API-key pages by offset with a total, OAuth2 tokens, and bearer pages by cursor.

use super::{Logged, Shared};
use serde_json::{Value, json};

/// Status, JSON body and extra headers.
pub(super) type SeedAnswer = (u16, Value, Vec<(String, String)>);

/// The seed-shaped API's answer.
pub(super) fn answer(shared: &Shared, req: &Logged) -> SeedAnswer {
    let spec = &shared.spec;
    if req.path == "/oauth/v1/token" {
        return token(shared, req);
    }
    let Some(name) = req.path.strip_prefix("/v1/") else {
        return (404, json!({"error": "not found"}), vec![]);
    };
    let Some(&total) = spec.resources.get(name) else {
        return (404, json!({"error": "no such resource"}), vec![]);
    };
    let limit = req
        .param("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, spec.max_page);
    if let Some(bearer) = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
    {
        let known = shared
            .tokens
            .lock()
            .map(|t| t.iter().any(|x| x == bearer))
            .unwrap_or(false);
        if !known {
            return (401, json!({"error": "invalid token"}), vec![]);
        }
        let start = match req.param("after") {
            None => 0,
            Some(c) => match c.strip_prefix("c").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n <= total => n,
                _ => return (400, json!({"error": "bad cursor"}), vec![]),
            },
        };
        let end = (start + limit).min(total);
        let data: Vec<Value> = (start..end).map(|i| spec.row(name, i)).collect();
        let mut body = json!({"data": data});
        if end < total {
            let origin = spec.link_origin.as_deref().unwrap_or_default();
            let link = format!("{origin}/v1/{name}?after=c{end}&limit={limit}");
            body["paging"] = json!({"next": {"after": format!("c{end}"), "link": link}});
        }
        return (200, body, vec![]);
    }
    if req.param("api_key") != Some(spec.api_key.as_str()) {
        return (401, json!({"error": "missing or wrong api_key"}), vec![]);
    }
    let offset = req
        .param("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (offset + limit).min(total);
    let data: Vec<Value> = (offset.min(total)..end)
        .map(|i| spec.row(name, i))
        .collect();
    (200, json!({"data": data, "total": total}), vec![])
}

fn token(shared: &Shared, req: &Logged) -> SeedAnswer {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // client_secret_basic (RFC 6749 §2.3.1: each form-encoded, then joined and base64-encoded), or in the form.
    let presented = match basic_credentials(req) {
        Some(pair) => {
            (field("client_id").is_none() && field("client_secret").is_none()).then_some(pair)
        }
        None => field("client_id").zip(field("client_secret")),
    };
    let (id, secret) = &shared.spec.client;
    let ok = req.method == "POST"
        && field("grant_type").as_deref() == Some("client_credentials")
        && presented == Some((id.clone(), secret.clone()));
    if !ok {
        return (401, json!({"error": "invalid_client"}), vec![]);
    }
    let mut tokens = shared.tokens.lock().expect("token list lock");
    let access_token = format!("demo-token-{}", tokens.len() + 1);
    tokens.push(access_token.clone());
    let body = json!({"access_token": access_token, "token_type": "bearer", "expires_in": shared.spec.token_lifetime_s});
    (200, body, vec![])
}

/// The client id and secret of an `Authorization: Basic` header, each form-decoded.
fn basic_credentials(req: &Logged) -> Option<(String, String)> {
    use base64::Engine as _;
    let encoded = req.header("authorization")?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}
