//! Forward proxies, as `requests` and curl take them: `http_proxy`, `https_proxy` and `no_proxy` (either
//! case, lower case first) for the command line's own runs, or `proxy` and `no_proxy` in a tenant file. Plain
//! http goes to the proxy in absolute form; https goes through a `CONNECT` tunnel, with TLS to the API end to
//! end. The proxy is the operator's choice, so its own address is not checked further; the API's origin is
//! judged by the egress policy as for any request, its name is resolved and checked here, and the proxy is
//! asked for the checked address (`CONNECT 203.0.113.7:443`), never the name, so it cannot resolve it anywhere
//! else. A name that does not resolve here is not sent. An internal address the operator allowed is reached
//! directly, not through the proxy.

use base64::Engine as _;

/// A proxy to send requests through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Host name or address.
    pub host: String,
    /// Port (default 80, or 1080 never: only `http://` proxies are supported).
    pub port: u16,
    /// `Proxy-Authorization` value from the URL's user and password, if any.
    pub authorization: Option<String>,
}

impl Proxy {
    /// A proxy from its URL (`http://[user:password@]host[:port]`).
    pub fn parse(raw: &str) -> Result<Self, ProxyError> {
        let bad = |why: &str| ProxyError(format!("proxy `{}`: {why}", without_userinfo(raw)));
        let with_scheme = match raw.contains("://") {
            true => raw.to_string(),
            false => format!("http://{raw}"),
        };
        let url = url::Url::parse(&with_scheme).map_err(|_| bad("not a URL"))?;
        if url.scheme() != "http" {
            return Err(bad(
                "only http:// proxies are supported (https is tunnelled through them)",
            ));
        }
        let host = url.host_str().ok_or_else(|| bad("no host"))?.to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let authorization = (!url.username().is_empty()).then(|| {
            let pair = format!(
                "{}:{}",
                decode(url.username()),
                decode(url.password().unwrap_or(""))
            );
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        Ok(Self {
            host,
            port: url.port().unwrap_or(80),
            authorization,
        })
    }

    /// `host:port`, as a connection target and in errors (never the credentials).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A proxy URL as it may be shown: its user and password as `***`.
fn without_userinfo(raw: &str) -> String {
    match (raw.split_once("://"), raw.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, rest))) => format!("{scheme}://***@{rest}"),
        (None, Some((_, rest))) => format!("***@{rest}"),
        _ => raw.to_string(),
    }
}

/// A proxy setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProxyError(String);

/// Which proxy each request goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// For `http://` URLs.
    pub http: Option<Proxy>,
    /// For `https://` URLs.
    pub https: Option<Proxy>,
    /// Hosts reached directly: a name (and its subdomains; a leading `.` is optional), an IP address, a CIDR
    /// network, or `*` for every host.
    pub no_proxy: Vec<String>,
}

impl ProxySettings {
    /// From the environment, as `requests` reads it: `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`,
    /// lower case first, then upper case.
    pub fn from_env() -> Result<Self, ProxyError> {
        let var = |name: &str| {
            std::env::var(name.to_ascii_lowercase())
                .or_else(|_| std::env::var(name.to_ascii_uppercase()))
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let all = var("all_proxy");
        let parse = |v: Option<String>| v.or(all.clone()).map(|v| Proxy::parse(&v)).transpose();
        Ok(Self {
            http: parse(var("http_proxy"))?,
            https: parse(var("https_proxy"))?,
            no_proxy: split_list(&var("no_proxy").unwrap_or_default()),
        })
    }

    /// One proxy for both schemes (a tenant file's `proxy`), with its `no_proxy` list.
    pub fn single(proxy: &str, no_proxy: &[String]) -> Result<Self, ProxyError> {
        let proxy = Proxy::parse(proxy)?;
        Ok(Self {
            http: Some(proxy.clone()),
            https: Some(proxy),
            no_proxy: no_proxy.iter().flat_map(|n| split_list(n)).collect(),
        })
    }

    /// The proxy a request to `scheme://host` goes through, if any.
    pub fn for_target(&self, scheme: &str, host: &str) -> Option<&Proxy> {
        let proxy = match scheme {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let bypass = self
            .no_proxy
            .iter()
            .any(|entry| matches_no_proxy(entry, &host));
        (!bypass).then_some(proxy)
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether a `no_proxy` entry covers `host` (lower case, without brackets).
fn matches_no_proxy(entry: &str, host: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if let (Ok(net), Ok(ip)) = (
        entry.parse::<ipnet::IpNet>(),
        host.parse::<std::net::IpAddr>(),
    ) {
        return net.contains(&ip);
    }
    // A port in the entry is ignored, as `requests` does for names.
    let name = entry.trim_start_matches('.');
    let name = match name.rsplit_once(':') {
        Some((n, port)) if port.chars().all(|c| c.is_ascii_digit()) && !n.contains(':') => n,
        _ => name,
    };
    host == name || host.ends_with(&format!(".{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_parsed_with_their_credentials() {
        let p = Proxy::parse("http://user:p%40ss@proxy.corp:3128").unwrap();
        assert_eq!(p.authority(), "proxy.corp:3128");
        let expected = base64::engine::general_purpose::STANDARD.encode("user:p@ss");
        assert_eq!(p.authorization, Some(format!("Basic {expected}")));
        assert_eq!(
            Proxy::parse("proxy.corp").unwrap().authority(),
            "proxy.corp:80"
        );
        let error = Proxy::parse("socks5://u:secret@proxy:1080")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("only http://") && !error.contains("secret"),
            "{error}"
        );
    }

    #[test]
    fn no_proxy_covers_names_subdomains_addresses_and_networks() {
        let proxy = Some(Proxy::parse("http://proxy:3128").unwrap());
        let settings = ProxySettings {
            http: proxy.clone(),
            https: proxy,
            no_proxy: split_list(
                "internal.example, .corp.example,10.0.0.0/8 ,192.168.1.5,localhost:8080",
            ),
        };
        for direct in [
            "internal.example",
            "api.internal.example",
            "x.corp.example",
            "corp.example",
            "10.2.3.4",
            "192.168.1.5",
            "localhost",
        ] {
            assert!(settings.for_target("https", direct).is_none(), "{direct}");
        }
        for proxied in [
            "api.example.com",
            "notinternal.example",
            "192.168.1.6",
            "11.0.0.1",
        ] {
            assert!(settings.for_target("https", proxied).is_some(), "{proxied}");
        }
        let all = ProxySettings {
            no_proxy: vec!["*".into()],
            ..settings
        };
        assert!(all.for_target("http", "api.example.com").is_none());
    }
}
