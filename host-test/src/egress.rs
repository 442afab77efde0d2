//! Egress policy: where a tenant's connector may send requests. It lives in the host's outgoing-request hook,
//! never in the guest; the one function that sends ([`wasmtime_wasi_http::default_send_request`]) is separate.
//!
//! A request is allowed when its origin (scheme, host, port) is one the tenant's config names: the base URL, the
//! OAuth2 token URL and absolute endpoint paths. Anything else — a next link or redirect to another host — is
//! refused with `HttpRequestDenied`. `connect_to` maps an origin the config names to another one to connect to
//! (like curl's `--connect-to`), so a config can run unchanged against a local copy of an API.

use http_body_util::BodyExt;
use serde_json::Value;
use std::future::Future;
use std::sync::{Arc, Mutex};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// An origin: scheme, host and port (the default port filled in).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address, lower case.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute URL.
    pub fn of_url(raw: &str) -> Option<Self> {
        let url = url::Url::parse(raw).ok()?;
        Some(Self {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    fn of_uri(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_string();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Self {
            host: uri.host()?.to_ascii_lowercase(),
            scheme,
            port,
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// What a tenant may reach.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Origins requests may go to.
    pub allowed: Vec<Origin>,
    /// Origins to connect to instead of the ones requested (the operator's choice, not checked further).
    pub connect_to: Vec<(Origin, Origin)>,
    /// Allow loopback, private and link-local hosts (off by default).
    pub allow_internal: bool,
}

impl EgressPolicy {
    /// The origins a config names: `client.base_url`, the token URL of every `auth`, and absolute endpoint
    /// paths (of resources and `resource_defaults`). Nothing else in the config widens the list.
    pub fn from_config(config: &Value) -> Self {
        let mut urls: Vec<&Value> = vec![&config["client"]["base_url"]];
        let mut endpoints: Vec<&Value> = vec![&config["resource_defaults"]["endpoint"]];
        if let Some(resources) = config["resources"].as_array() {
            endpoints.extend(resources.iter().map(|r| &r["endpoint"]));
        }
        let mut auths = vec![&config["client"]["auth"]];
        for endpoint in endpoints {
            urls.push(if endpoint.is_string() {
                endpoint
            } else {
                &endpoint["path"]
            });
            auths.push(&endpoint["auth"]);
        }
        for auth in auths {
            urls.extend([&auth["token_url"], &auth["access_token_url"]]);
        }
        let mut allowed = Vec::new();
        for origin in urls
            .into_iter()
            .filter_map(Value::as_str)
            .filter_map(Origin::of_url)
        {
            if !allowed.contains(&origin) {
                allowed.push(origin);
            }
        }
        Self {
            allowed,
            ..Self::default()
        }
    }

    /// Add an origin mapping (`from=to`, both absolute URLs).
    pub fn map(&mut self, from: Origin, to: Origin) {
        self.connect_to.push((from, to));
    }

    /// Whether a request to `origin` may go out.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.allowed.contains(origin) && (self.allow_internal || !is_internal(&origin.host))
    }
}

/// Loopback, private, link-local, unspecified and carrier-grade NAT addresses, and `localhost` names.
/// (Names that resolve to such addresses are not caught here: the hook sees names, not addresses.)
pub fn is_internal(host: &str) -> bool {
    use std::net::IpAddr;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            let [a, b, ..] = ip.octets();
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        Ok(IpAddr::V6(ip)) => {
            let mapped = ip
                .to_ipv4_mapped()
                .is_some_and(|v4| is_internal(&v4.to_string()));
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_unique_local()
                || ip.is_unicast_link_local()
                || mapped
        }
        Err(_) => false,
    }
}

/// A request the hook saw, for the tenant's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressEvent {
    /// The origin the guest asked for.
    pub origin: String,
    /// Whether it was allowed.
    pub allowed: bool,
}

/// The `wasi:http` hooks of one tenant's store.
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    deadline: Option<std::time::Instant>,
    requests_left: Option<u64>,
}

impl EgressHooks {
    /// Hooks enforcing `policy`, recording each decision into `events`.
    pub fn new(policy: Arc<EgressPolicy>, events: Arc<Mutex<Vec<EgressEvent>>>) -> Self {
        Self {
            policy,
            events,
            deadline: None,
            requests_left: None,
        }
    }

    /// Requests still in flight at `deadline` fail with a timeout, so a slow API cannot hold the run past
    /// its time budget.
    pub fn with_deadline(mut self, deadline: Option<std::time::Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// At most `max` requests are sent; later ones are denied.
    pub fn with_max_requests(mut self, max: Option<u64>) -> Self {
        self.requests_left = max;
        self
    }

    /// Takes one request from the run's allowance; false once it is used up.
    fn take_request(&mut self) -> bool {
        match &mut self.requests_left {
            Some(0) => false,
            Some(left) => {
                *left -= 1;
                true
            }
            None => true,
        }
    }
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for EgressHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        drop(fut);
        let origin = Origin::of_uri(request.uri());
        let allowed = origin.as_ref().is_some_and(|o| self.policy.allows(o)) && self.take_request();
        if let Ok(mut events) = self.events.lock() {
            events.push(EgressEvent {
                origin: origin
                    .as_ref()
                    .map_or_else(|| request.uri().to_string(), ToString::to_string),
                allowed,
            });
        }
        if !allowed {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let target = origin.and_then(|o| {
            self.policy
                .connect_to
                .iter()
                .find(|(from, _)| *from == o)
                .map(|(_, to)| to.clone())
        });
        if let Some(to) = target {
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            match format!("{}://{}:{}{path}", to.scheme, to.host, to.port).parse() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => return Box::new(async { Err(HttpError::HttpRequestUriInvalid) }),
            }
        }
        let deadline = self.deadline;
        Box::new(async move {
            let send = wasmtime_wasi_http::default_send_request(request, options);
            let (response, io) = match deadline {
                Some(at) => tokio::time::timeout_at(at.into(), send)
                    .await
                    .map_err(|_| HttpError::ConnectionReadTimeout)??,
                None => send.await?,
            };
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let internal = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "[::1]",
            "[fd00::1]",
            "[fe80::1]",
            "[::ffff:127.0.0.1]",
            "localhost",
            "api.localhost",
        ];
        for host in internal {
            assert!(is_internal(host), "{host}");
        }
        for host in ["8.8.8.8", "api.example.com", "[2001:db8::1]", "100.128.0.1"] {
            assert!(!is_internal(host), "{host}");
        }
        let cfg =
            json!({"client": {"base_url": "http://169.254.169.254/latest"}, "resources": ["x"]});
        let mut p = EgressPolicy::from_config(&cfg);
        let metadata = Origin::of_url("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(!p.allows(&metadata), "named by the config, but internal");
        p.allow_internal = true;
        assert!(p.allows(&metadata));
    }

    #[test]
    fn only_endpoint_keys_widen_the_list() {
        let cfg = json!({
            "client": {"base_url": "https://api.example.com"},
            "resources": [{"name": "x", "endpoint": {"path": "/x", "json": {"path": "https://evil.example.net/"},
                "params": {"base_url": "https://evil2.example.net/"}}}]
        });
        let allowed: Vec<String> = EgressPolicy::from_config(&cfg)
            .allowed
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(allowed, vec!["https://api.example.com:443"]);
    }

    #[test]
    fn config_origins_are_allowed_and_nothing_else() {
        let cfg = json!({
            "client": {"base_url": "https://api.example.com/v2", "auth": {"type": "oauth2", "token_url": "https://login.example.com/token"}},
            "resources": [{"name": "x", "endpoint": {"path": "http://other.example.com:8080/x"}}, {"name": "y", "endpoint": {"path": "/rel"}}]
        });
        let p = EgressPolicy::from_config(&cfg);
        let allowed: Vec<String> = p.allowed.iter().map(ToString::to_string).collect();
        assert_eq!(
            allowed,
            vec![
                "https://api.example.com:443",
                "http://other.example.com:8080",
                "https://login.example.com:443"
            ]
        );
        assert!(p.allows(&Origin::of_url("https://API.example.com/anything?x=1").unwrap()));
        assert!(
            !p.allows(&Origin::of_url("http://api.example.com/").unwrap()),
            "scheme differs"
        );
        assert!(!p.allows(&Origin::of_url("https://evil.example.net/").unwrap()));
    }
}
