//! Authentication: how credentials are put on a request, and the OAuth2 client-credentials token exchange.
//!
//! The engine calls [`Auth::apply`] only for requests to the origin of the config's base URL; the token request
//! goes to the token URL. Nothing here leaves the sandbox except through those requests.

use crate::request::{HttpRequest, Method, RequestParts};
use base64::Engine as _;
use serde_json::Value;

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLocation {
    /// A request header.
    Header,
    /// A query parameter (dlt's `query` or `param`).
    Query,
    /// A cookie.
    Cookie,
}

/// A configured authentication.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// An API key in a header, the query or a cookie.
    ApiKey {
        /// Header, parameter or cookie name.
        name: String,
        /// The key.
        value: String,
        /// Where it goes.
        location: KeyLocation,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// OAuth2 client credentials (`client_secret_post`, or `client_secret_basic` as an extension).
    OAuth2(OAuth2),
}

/// OAuth2 client-credentials settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuth2 {
    /// Token endpoint (`access_token_url`, or `token_url` in the `oauth2` spelling).
    pub token_url: String,
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Extra form fields, sent after the standard ones (they may override them).
    pub extra: Vec<(String, String)>,
    /// Token lifetime in seconds when the response has no `expires_in`.
    pub default_expiration_s: u64,
    /// How the client authenticates to the token endpoint (`client_auth_method`).
    pub client_auth: ClientAuth,
}

/// How an OAuth2 client authenticates to the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_secret_post` (dlt's only way): `client_id` and `client_secret` in the form.
    #[default]
    Post,
    /// `client_secret_basic`: `Authorization: Basic` of the form-encoded id and secret, not in the form.
    Basic,
}

/// A token the token endpoint gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The access token.
    pub access_token: String,
    /// Seconds it is valid for.
    pub expires_in_s: u64,
}

impl Auth {
    /// Put the credentials on the request. `token` is the current OAuth2 access token.
    pub fn apply(&self, parts: &mut RequestParts, token: Option<&str>) {
        match self {
            Auth::Bearer { token } => parts.set_header("Authorization", &format!("Bearer {token}")),
            Auth::ApiKey {
                name,
                value,
                location,
            } => match location {
                KeyLocation::Header => parts.set_header(name, value),
                KeyLocation::Query => parts.set_param(name, Value::String(value.clone())),
                KeyLocation::Cookie => add_cookie(parts, name, value),
            },
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{password}");
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                parts.set_header("Authorization", &format!("Basic {encoded}"));
            }
            Auth::OAuth2(_) => {
                if let Some(token) = token {
                    parts.set_header("Authorization", &format!("Bearer {token}"));
                }
            }
        }
    }

    /// Secret values this auth derives from the config's: the base64 text of a `Basic` header (`http_basic`,
    /// or OAuth2's `client_secret_basic`), to mask like the secrets themselves.
    pub fn derived_secrets(&self) -> Vec<String> {
        let encode = |raw: String| base64::engine::general_purpose::STANDARD.encode(raw);
        match self {
            Auth::Basic { username, password } => vec![encode(format!("{username}:{password}"))],
            Auth::OAuth2(o) if o.client_auth == ClientAuth::Basic => {
                vec![encode(o.basic_credentials())]
            }
            _ => Vec::new(),
        }
    }

    /// The OAuth2 settings, when this auth needs a token.
    pub fn oauth2(&self) -> Option<&OAuth2> {
        match self {
            Auth::OAuth2(o) => Some(o),
            _ => None,
        }
    }
}

/// `secrets` with the values their auths derive from them ([`Auth::derived_secrets`]), each once.
pub fn with_derived<'a>(
    mut secrets: Vec<String>,
    auths: impl Iterator<Item = &'a Auth>,
) -> Vec<String> {
    for derived in auths.flat_map(Auth::derived_secrets) {
        if !secrets.contains(&derived) {
            secrets.push(derived);
        }
    }
    secrets
}

fn add_cookie(parts: &mut RequestParts, name: &str, value: &str) {
    let pair = format!("{name}={value}");
    let existing = parts
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| v.clone());
    let cookie = match existing {
        Some(v) if !v.is_empty() => format!("{v}; {pair}"),
        _ => pair,
    };
    parts.set_header("Cookie", &cookie);
}

impl OAuth2 {
    /// The token request: a form POST with `grant_type`, `client_id`, `client_secret` (or, with
    /// `client_secret_basic`, the id and secret in an `Authorization: Basic` header), then the extra fields.
    pub fn token_request(&self, timeout_ms: u64) -> HttpRequest {
        let mut fields: Vec<(String, String)> =
            vec![("grant_type".into(), "client_credentials".into())];
        let mut headers = Vec::new();
        match self.client_auth {
            ClientAuth::Post => {
                fields.push(("client_id".into(), self.client_id.clone()));
                fields.push(("client_secret".into(), self.client_secret.clone()));
            }
            ClientAuth::Basic => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(self.basic_credentials());
                headers.push(("Authorization".to_string(), format!("Basic {encoded}")));
            }
        }
        for (k, v) in &self.extra {
            match fields.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => fields.push((k.clone(), v.clone())),
            }
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&fields)
            .finish();
        HttpRequest {
            method: Method::Post,
            url: self.token_url.clone(),
            headers: [
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("User-Agent".into(), crate::request::USER_AGENT.into()),
                ("Accept".into(), "application/json".into()),
            ]
            .into_iter()
            .chain(headers)
            .collect(),
            body: Some(body.into_bytes()),
            timeout_ms,
            max_response_bytes: crate::limits::ResponseLimits::DEFAULT_MAX_BYTES,
            low_speed_limit: crate::retry::DEFAULT_LOW_SPEED_LIMIT,
        }
    }

    /// `id:secret` for `client_secret_basic`: RFC 6749 §2.3.1 form-encodes each before they are joined (and
    /// base64-encoded).
    fn basic_credentials(&self) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "{}:{}",
            encode(&self.client_id),
            encode(&self.client_secret)
        )
    }

    /// Read the token response body. The error text never repeats the body (it may hold a token).
    pub fn parse_token(&self, body: &[u8]) -> Result<Token, String> {
        let json: Value = serde_json::from_slice(body)
            .map_err(|e| format!("token response is not JSON ({e})"))?;
        let access_token = match json.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("token response has no `access_token`".into()),
        };
        let expires_in_s = match json.get("expires_in") {
            None | Some(Value::Null) => self.default_expiration_s,
            Some(Value::Number(n)) => n.as_f64().map_or(0, |f| f.max(0.0) as u64),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map_err(|_| "`expires_in` is not a number")?,
            Some(_) => return Err("`expires_in` is not a number".into()),
        };
        Ok(Token {
            access_token,
            expires_in_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> RequestParts {
        RequestParts {
            method: Method::Get,
            url: "https://a/x".into(),
            params: vec![("limit".into(), Value::from(10))],
            headers: Vec::new(),
            json: None,
            form: None,
        }
    }

    /// An auth, the URL it gives, the headers it gives.
    type Case = (Auth, &'static str, Vec<(&'static str, &'static str)>);

    #[test]
    fn each_kind_lands_where_dlt_puts_it() {
        let cases: Vec<Case> = vec![
            (
                Auth::Bearer { token: "t".into() },
                "https://a/x?limit=10",
                vec![("Authorization", "Bearer t")],
            ),
            (
                Auth::ApiKey {
                    name: "api_key".into(),
                    value: "k 1".into(),
                    location: KeyLocation::Query,
                },
                "https://a/x?limit=10&api_key=k+1",
                vec![],
            ),
            (
                Auth::ApiKey {
                    name: "X-Key".into(),
                    value: "k".into(),
                    location: KeyLocation::Header,
                },
                "https://a/x?limit=10",
                vec![("X-Key", "k")],
            ),
            (
                Auth::ApiKey {
                    name: "sid".into(),
                    value: "k".into(),
                    location: KeyLocation::Cookie,
                },
                "https://a/x?limit=10",
                vec![("Cookie", "sid=k")],
            ),
            (
                Auth::Basic {
                    username: "user".into(),
                    password: "pass".into(),
                },
                "https://a/x?limit=10",
                vec![("Authorization", "Basic dXNlcjpwYXNz")],
            ),
        ];
        for (auth, url, headers) in cases {
            let mut p = parts();
            auth.apply(&mut p, None);
            assert_eq!(p.full_url(), url, "{auth:?}");
            let want: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(p.headers, want, "{auth:?}");
        }
    }

    fn oauth() -> OAuth2 {
        OAuth2 {
            token_url: "https://a/oauth/token".into(),
            client_id: "id".into(),
            client_secret: "s&cret".into(),
            extra: vec![
                ("scope".into(), "read".into()),
                ("grant_type".into(), "other".into()),
            ],
            default_expiration_s: 3600,
            client_auth: ClientAuth::Post,
        }
    }

    #[test]
    fn client_secret_basic_sends_the_encoded_id_and_secret_in_a_header_not_the_form() {
        let o = OAuth2 {
            client_id: "my id".into(),
            client_auth: ClientAuth::Basic,
            ..oauth()
        };
        let req = o.token_request(5000);
        assert_eq!(
            String::from_utf8(req.body.unwrap()).unwrap(),
            "grant_type=other&scope=read"
        );
        let basic = req
            .headers
            .iter()
            .find(|(k, _)| k == "Authorization")
            .map(|(_, v)| v.as_str());
        // base64("my+id:s%26cret")
        assert_eq!(basic, Some("Basic bXkraWQ6cyUyNmNyZXQ="));
    }

    #[test]
    fn token_request_is_a_form_post() {
        let req = oauth().token_request(5000);
        assert_eq!(req.method, Method::Post);
        assert_eq!(req.url, "https://a/oauth/token");
        assert_eq!(
            String::from_utf8(req.body.unwrap()).unwrap(),
            "grant_type=other&client_id=id&client_secret=s%26cret&scope=read"
        );
    }

    #[test]
    fn token_response_parsing() {
        let o = oauth();
        assert_eq!(
            o.parse_token(br#"{"access_token":"abc","expires_in":60}"#)
                .unwrap(),
            Token {
                access_token: "abc".into(),
                expires_in_s: 60
            }
        );
        assert_eq!(
            o.parse_token(br#"{"access_token":"abc"}"#)
                .unwrap()
                .expires_in_s,
            3600
        );
        assert_eq!(
            o.parse_token(br#"{"access_token":"abc","expires_in":"5"}"#)
                .unwrap()
                .expires_in_s,
            5
        );
        let err = o.parse_token(br#"{"token":"abc"}"#).unwrap_err();
        assert!(!err.contains("abc"), "{err}");
        assert!(o.parse_token(b"<html>").is_err());
    }
}
