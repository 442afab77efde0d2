//! Egress policy: where a tenant's connector may send requests. It lives in the host's outgoing-request hook,
//! never in the guest.
//!
//! A request goes out when all of these hold, checked in this order:
//! 1. its origin (scheme, host, port) is one the tenant's config names: the base URL, the OAuth2 token URL and
//!    absolute endpoint paths — a next link or redirect to another origin is refused;
//! 2. the operator's allow-list ([`AllowedHosts`], Spin's `allowed_outbound_hosts` grammar), when
//!    there is one, allows it;
//! 3. the run's request allowance is not used up;
//! 4. after name resolution, at least one address is not internal (loopback, private, link-local, CGNAT), unless
//!    internal addresses are allowed (all of them, or listed networks). The connection goes only to the
//!    addresses that passed, so a name cannot be re-pointed between the check and the connection.
//!
//! Every decision is recorded with the tenant; a refusal answers `HttpRequestDenied` to the guest and ends the
//! run ([`crate::sandbox::Refusal`]). `connect_to` maps an origin the config names to another one to connect to
//! (like curl's `--connect-to`, the operator's own choice, not checked further), so a config can run unchanged
//! against a local copy of an API; `resolve` pins a name to addresses (like curl's `--resolve`), which are
//! checked like any DNS answer.

//!
//! Files: `mod.rs` the policy (no wasmtime); `allow.rs` the operator's allow-list grammar; `hooks.rs` the
//! outgoing-request hook; `send.rs` the sender (`proxy.rs`, `tls.rs` and `decode.rs` beside it);
//! `special_addresses.rs` the IANA tables of addresses that are not globally routable.
//!
//! The policy derives the allowed origins from the config JSON itself ([`EgressPolicy::from_config`]), apart
//! from what the connector computes: the guest cannot widen its own allowance.

mod allow;
mod decode;
mod hooks;
mod proxy;
mod send;
mod special_addresses;
mod tls;

pub use allow::{AllowError, AllowedHosts};
pub(crate) use hooks::EgressHooks;
pub use proxy::{ProxyError, ProxySettings};
pub use tls::{TlsError, TlsTrust};

use ipnet::IpNet;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use wasmtime_wasi_http::Error as HttpError;

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
    /// Origins requests may go to (from the config).
    pub allowed: Vec<Origin>,
    /// The operator's allow-list; `None` adds no restriction beyond `allowed`.
    pub operator: Option<AllowedHosts>,
    /// Origins to connect to instead of the ones requested (the operator's choice, not checked further).
    pub connect_to: Vec<(Origin, Origin)>,
    /// Allow every loopback, private and link-local address (off by default).
    pub allow_internal: bool,
    /// Internal networks allowed all the same (`127.0.0.0/8` for a test API on loopback).
    pub internal_networks: Vec<IpNet>,
    /// Names pinned to an address instead of asking DNS (checked like a DNS answer).
    pub resolve: Vec<(String, IpAddr)>,
    /// Which servers TLS connections trust and the client certificate they present (not a policy decision:
    /// how the connections the policy allows are verified).
    pub tls: TlsTrust,
    /// Forward proxies, and the hosts reached without them.
    pub proxy: ProxySettings,
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

    /// Whether a request to `origin` may go out, before name resolution; the reason when not.
    pub fn check(&self, origin: &Origin) -> Result<(), Denial> {
        if !self.allowed.contains(origin) {
            return Err(Denial::NotInConfig);
        }
        if self.operator.as_ref().is_some_and(|o| !o.allows(origin)) {
            return Err(Denial::NotInOperatorList);
        }
        match is_internal(&origin.host) && !self.host_literal_allowed(&origin.host) {
            true => Err(Denial::Internal),
            false => Ok(()),
        }
    }

    /// Whether a request to `origin` may go out, before name resolution.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.check(origin).is_ok()
    }

    /// Whether a connection to `ip` may be made.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        self.allow_internal
            || !is_internal_ip(ip)
            || self.internal_networks.iter().any(|n| n.contains(&ip))
    }

    fn host_literal_allowed(&self, host: &str) -> bool {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.address_allowed(ip),
            // `localhost` names: allowed when loopback is.
            Err(_) => self.address_allowed(IpAddr::from([127, 0, 0, 1])),
        }
    }

    /// The addresses to connect to for `origin`: pinned or resolved, then filtered by the address check unless
    /// `trusted` (an operator's `connect_to` target).
    async fn addresses(
        &self,
        origin: &Origin,
        trusted: bool,
    ) -> Result<Vec<SocketAddr>, Unreachable> {
        let bare = origin.host.trim_start_matches('[').trim_end_matches(']');
        let pinned: Vec<SocketAddr> = self
            .resolve
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(bare))
            .map(|(_, ip)| SocketAddr::new(*ip, origin.port))
            .collect();
        let found: Vec<SocketAddr> = match (pinned.is_empty(), bare.parse::<IpAddr>()) {
            (false, _) => pinned,
            (true, Ok(ip)) => vec![SocketAddr::new(ip, origin.port)],
            (true, Err(_)) => match tokio::net::lookup_host((bare, origin.port)).await {
                Ok(found) => found.collect(),
                Err(e) => {
                    return Err(Unreachable::Dns(HttpError::DnsError {
                        rcode: Some(e.to_string()),
                        info_code: None,
                    }));
                }
            },
        };
        let usable: Vec<SocketAddr> = found
            .iter()
            .copied()
            .filter(|a| trusted || self.address_allowed(a.ip()))
            .collect();
        match (usable.is_empty(), found.first()) {
            (false, _) => Ok(usable),
            (true, Some(first)) => Err(Unreachable::Denied(format!(
                "it resolves to an internal address ({})",
                first.ip()
            ))),
            (true, None) => Err(Unreachable::Dns(HttpError::DestinationNotFound)),
        }
    }
}

/// Why the policy refuses an origin before name resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// Not the config's base URL, token URL or an absolute endpoint path.
    #[error("the config does not name this origin")]
    NotInConfig,
    /// The operator's allow-list does not include it.
    #[error("the operator's allowed_outbound_hosts do not include it")]
    NotInOperatorList,
    /// A loopback, private or otherwise internal host that the tenant may not reach.
    #[error("an internal address")]
    Internal,
}

/// Why no connection can be made to an origin.
pub(crate) enum Unreachable {
    /// The policy refuses every address it resolves to.
    Denied(String),
    /// Name resolution failed (a transport error the connector may retry).
    Dns(HttpError),
}

/// Loopback, private, link-local, unspecified and carrier-grade NAT addresses, and `localhost` names.
/// (Names that resolve to such addresses are not caught here: the hook sees names, not addresses.)
pub fn is_internal(host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse().is_ok_and(is_internal_ip)
}

/// Every address that is not globally routable (`special_addresses.rs`): loopback, private, link-local,
/// shared, documentation, benchmarking, multicast and reserved ranges, and IPv4 embedded in IPv6 by its IPv4 form.
pub fn is_internal_ip(ip: IpAddr) -> bool {
    special_addresses::special(ip).is_some()
}

/// A request the hook saw, for the tenant's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressEvent {
    /// The tenant whose connector asked.
    pub tenant: String,
    /// The origin the guest asked for.
    pub origin: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why it was refused.
    pub reason: Option<String>,
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
        for host in [
            "localhost.",
            "api.localhost.",
            "[::169.254.169.254]",
            "[64:ff9b::a9fe:a9fe]",
            "192.0.2.1",
        ] {
            assert!(is_internal(host), "{host}");
        }
        for host in [
            "8.8.8.8",
            "api.example.com",
            "[2606:4700::1111]",
            "100.128.0.1",
        ] {
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
