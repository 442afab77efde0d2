//! Requests and responses as plain data, and request construction with `requests` semantics.

use crate::render::py_str;
use serde_json::{Map, Value};

/// HTTP method of an endpoint (dlt allows only these two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

impl Method {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// The `User-Agent` of every request the config does not give one.
pub const USER_AGENT: &str = concat!("rest-api-source/", env!("CARGO_PKG_VERSION"));

/// A request the engine wants sent.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL with its query.
    pub url: String,
    /// Headers in the order they are to be sent.
    pub headers: Vec<(String, String)>,
    /// Body bytes, if any.
    pub body: Option<Vec<u8>>,
    /// Connect, first-byte and between-bytes timeout, in milliseconds.
    pub timeout_ms: u64,
    /// The largest response body to read (`client.max_response_bytes`); a larger one fails the request.
    pub max_response_bytes: u64,
    /// The slowest the body may arrive, in bytes per second over each `timeout_ms` (0: no limit); slower fails
    /// the attempt like a timeout (`error_handler.low_speed_limit`).
    pub low_speed_limit: u64,
}

/// The most bytes a request's headers may take together.
pub const MOST_REQUEST_HEADER_BYTES: usize = 64 * 1024;

impl HttpRequest {
    /// A plain GET of `url` with small limits, for tests.
    #[cfg(test)]
    pub(crate) fn get(url: &str) -> Self {
        Self {
            method: Method::Get,
            url: url.into(),
            headers: vec![],
            body: None,
            timeout_ms: 1000,
            max_response_bytes: 10,
            low_speed_limit: 0,
        }
    }

    /// Refuse a request whose headers would not fit: placeholders can make headers grow past what the config
    /// showed, and such a request is not sent.
    pub fn check_header_size(&self) -> Result<(), String> {
        let size: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MOST_REQUEST_HEADER_BYTES || self.headers.len() > 2 * crate::config::MOST_HEADERS
        {
            return Err(format!(
                "the request's {} headers take {size} bytes; at most {MOST_REQUEST_HEADER_BYTES} are sent",
                self.headers.len()
            ));
        }
        Ok(())
    }
}
/// A response fed back to the engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers as received.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Refuses a body still in a content coding: the host decodes the codings it asks for and removes the
    /// header, so one left (an unknown coding, or a host that decodes nothing) would be read as garbage.
    pub fn check_coding(&self) -> Result<(), String> {
        match self.header("content-encoding").map(str::trim) {
            Some(c) if !c.is_empty() && !c.eq_ignore_ascii_case("identity") => Err(format!(
                "the body is encoded with `{c}` (Content-Encoding), which the host did not decode"
            )),
            _ => Ok(()),
        }
    }
}

/// A request being put together: URL without the params, params in order, headers, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestParts {
    /// Method.
    pub method: Method,
    /// URL without the params (it may carry a query of its own).
    pub url: String,
    /// Query params in insertion order; `null` values are dropped, lists repeat the key.
    pub params: Vec<(String, Value)>,
    /// Headers; later `set_header` calls override earlier ones case-insensitively.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub json: Option<Value>,
    /// Form or raw body (dlt's `data`), used when there is no JSON body.
    pub form: Option<Form>,
}

/// dlt's `data` body.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// Pairs sent `application/x-www-form-urlencoded`.
    Pairs(Vec<(String, String)>),
    /// A string sent as it is, with no Content-Type.
    Raw(String),
}

impl RequestParts {
    /// Set a query param, replacing an earlier one of the same name in place.
    pub fn set_param(&mut self, name: &str, value: Value) {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name.to_string(), value)),
        }
    }

    /// Set a header, replacing one of the same name (case-insensitive).
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// Set a value at a dotted path of the JSON body, creating objects (and the body) as needed.
    pub fn set_body_path(&mut self, path: &[String], value: Value) {
        let mut node = self.json.get_or_insert_with(|| Value::Object(Map::new()));
        for (i, key) in path.iter().enumerate() {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(map) = node else {
                return;
            };
            if i + 1 == path.len() {
                map.insert(key.clone(), value);
                return;
            }
            node = map
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }

    /// Go to a next URL: it carries its own query, so the configured params are dropped (dlt behaviour).
    pub fn replace_url(&mut self, url: &str) {
        self.url = url.to_string();
        self.params.clear();
    }

    /// The URL with the params encoded form-style (space as `+`), appended to any query the URL has.
    pub fn full_url(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            match v {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items.iter().filter(|i| !i.is_null()) {
                        query.append_pair(k, &py_str(item));
                    }
                }
                other => {
                    query.append_pair(k, &py_str(other));
                }
            }
        }
        let query = query.finish();
        if query.is_empty() {
            self.url.clone()
        } else if self.url.contains('?') {
            format!("{}&{query}", self.url)
        } else {
            format!("{}?{query}", self.url)
        }
    }

    /// The finished request.
    pub fn finish(self, timeout_ms: u64) -> HttpRequest {
        let url = self.full_url();
        let mut headers = self.headers;
        let mut content_type = |value: &str| {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".into(), value.into()));
        };
        let body = match (self.json, self.form) {
            (Some(v), _) => {
                content_type("application/json");
                Some(crate::render::py_json(&v).into_bytes())
            }
            (None, Some(Form::Pairs(pairs))) if !pairs.is_empty() => {
                content_type("application/x-www-form-urlencoded");
                Some(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish()
                        .into_bytes(),
                )
            }
            (None, Some(Form::Raw(text))) => Some(text.into_bytes()),
            _ => None,
        };
        if let Some(body) = &body {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-length"));
            headers.push(("Content-Length".into(), body.len().to_string()));
        }
        HttpRequest {
            method: self.method,
            url,
            headers,
            body,
            timeout_ms,
            max_response_bytes: crate::limits::ResponseLimits::DEFAULT_MAX_BYTES,
            low_speed_limit: crate::retry::DEFAULT_LOW_SPEED_LIMIT,
        }
    }
}

/// dlt's `join_url`: `base.rstrip("/") + "/" + path.lstrip("/")`; an absolute `path` is used as is.
pub fn join_url(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    if base.is_empty() {
        return path.to_string();
    }
    if path.is_empty() {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The origin (scheme, host, port) of a URL, if it parses.
pub fn origin(url: &str) -> Option<url::Origin> {
    url::Url::parse(url).ok().map(|u| u.origin())
}

/// `url` without the query parameter `name`.
pub fn without_param(url: &str, name: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if !parsed.query_pairs().any(|(k, _)| k == name) {
        return url.to_string();
    }
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.into()
}

/// A failure to get a response, as the component that does the I/O reports it to the engine.
pub struct Transport {
    /// What happened.
    pub message: String,
    /// Worth another attempt (a timeout, a reset connection).
    pub retryable: bool,
    /// A response arrived but cannot be used (its body is over the size limit).
    pub unusable: bool,
}

impl Transport {
    /// A failure that repeating cannot fix.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
            unusable: false,
        }
    }

    /// A failure worth another attempt.
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
            unusable: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts(url: &str) -> RequestParts {
        RequestParts {
            method: Method::Get,
            url: url.into(),
            params: Vec::new(),
            headers: Vec::new(),
            json: None,
            form: None,
        }
    }

    /// Ported from dlt `tests/sources/helpers/rest_client/test_utils.py::test_join_url` (all 22 cases).
    #[test]
    fn dlt_test_join_url() {
        let cases = [
            (
                "http://example.com",
                "path/to/resource",
                "http://example.com/path/to/resource",
            ),
            (
                "http://example.com/",
                "/path/to/resource",
                "http://example.com/path/to/resource",
            ),
            (
                "http://example.com/",
                "path/to/resource",
                "http://example.com/path/to/resource",
            ),
            (
                "http://example.com",
                "//path/to/resource",
                "http://example.com/path/to/resource",
            ),
            (
                "http://example.com///",
                "//path/to/resource",
                "http://example.com/path/to/resource",
            ),
            ("http://example.com/", "/", "http://example.com/"),
            ("http://example.com", "/", "http://example.com/"),
            ("http://example.com/", "///", "http://example.com/"),
            ("http://example.com", "///", "http://example.com/"),
            ("/", "path/to/resource", "/path/to/resource"),
            ("/", "/path/to/resource", "/path/to/resource"),
            ("", "", ""),
            (
                "",
                "http://example.com/path/to/resource",
                "http://example.com/path/to/resource",
            ),
            ("", "path/to/resource", "path/to/resource"),
            ("http://example.com", "", "http://example.com"),
            (
                "http://example.com",
                "path/to/resource?query=123",
                "http://example.com/path/to/resource?query=123",
            ),
            (
                "http://example.com/",
                "path/to/resource#fragment",
                "http://example.com/path/to/resource#fragment",
            ),
            (
                "http://example.com",
                "/path/to/resource with spaces",
                "http://example.com/path/to/resource with spaces",
            ),
            (
                "http://example.com",
                "/path/with/中文",
                "http://example.com/path/with/中文",
            ),
            (
                "https://sub.example.com",
                "path",
                "https://sub.example.com/path",
            ),
            ("ftp://example.com", "/path", "ftp://example.com/path"),
            ("example.com", "path", "example.com/path"),
        ];
        for (base, path, want) in cases {
            assert_eq!(join_url(base, path), want, "{base:?} + {path:?}");
        }
    }

    /// dlt's client uses an absolute `path` as is, ignoring `base_url` (`RESTClient._create_request`).
    #[test]
    fn absolute_paths_ignore_the_base() {
        assert_eq!(join_url("https://a", "https://b/x"), "https://b/x");
        assert_eq!(join_url("https://a", "http://b/x"), "http://b/x");
    }

    #[test]
    fn query_encoding_follows_requests() {
        let mut p = parts("https://a/x");
        p.params = vec![
            ("q".into(), json!("a b&c")),
            ("n".into(), json!(5)),
            ("skip".into(), Value::Null),
            ("ids".into(), json!([1, 2])),
            ("flag".into(), json!(true)),
        ];
        assert_eq!(
            p.full_url(),
            "https://a/x?q=a+b%26c&n=5&ids=1&ids=2&flag=True"
        );
        p.set_param("n", json!(6));
        p.set_param("new", json!("z"));
        assert_eq!(
            p.full_url(),
            "https://a/x?q=a+b%26c&n=6&ids=1&ids=2&flag=True&new=z"
        );
        let mut q = parts("https://a/x?keep=1");
        q.set_param("p", json!(2));
        assert_eq!(q.full_url(), "https://a/x?keep=1&p=2");
    }

    #[test]
    fn next_url_drops_params_and_body_paths_nest() {
        let mut p = parts("https://a/x");
        p.set_param("limit", json!(10));
        p.replace_url("https://a/x?page=2");
        assert_eq!(p.full_url(), "https://a/x?page=2");
        p.set_body_path(&["paging".into(), "offset".into()], json!(20));
        p.set_body_path(&["limit".into()], json!(10));
        assert_eq!(p.json, Some(json!({"paging": {"offset": 20}, "limit": 10})));
        let req = p.finish(1000);
        assert_eq!(
            req.body.as_deref(),
            Some(br#"{"paging": {"offset": 20}, "limit": 10}"#.as_slice())
        );
        assert!(
            req.headers
                .contains(&("Content-Type".into(), "application/json".into()))
        );
    }

    /// Ported from dlt `test_offline.py::test_request_form_data`, `test_request_raw_data`,
    /// `test_request_form_data_list_of_tuples` (the request side): form pairs are urlencoded, raw text goes as is.
    #[test]
    fn dlt_data_bodies() {
        let mut p = parts("https://a/post_form_data");
        p.method = Method::Post;
        p.form = Some(Form::Pairs(vec![
            ("name".into(), "test name".into()),
            ("id".into(), "1".into()),
        ]));
        let req = p.clone().finish(1);
        assert_eq!(req.body.as_deref(), Some(b"name=test+name&id=1".as_slice()));
        assert!(req.headers.contains(&(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into()
        )));
        p.form = Some(Form::Raw("<xml>a b</xml>".into()));
        let req = p.clone().finish(1);
        assert_eq!(req.body.as_deref(), Some(b"<xml>a b</xml>".as_slice()));
        assert!(
            req.headers
                .iter()
                .all(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        );
        p.form = Some(Form::Pairs(vec![]));
        assert_eq!(p.finish(1).body, None, "an empty dict sends no body");
    }

    #[test]
    fn headers_override_case_insensitively() {
        let mut p = parts("https://a");
        p.set_header("accept", "text/plain");
        p.set_header("Accept", "application/json");
        assert_eq!(
            p.headers,
            vec![("Accept".to_string(), "application/json".to_string())]
        );
    }
}
