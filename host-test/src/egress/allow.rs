//! The operator's allow-list of outbound hosts, in Spin's `allowed_outbound_hosts` grammar.
//!
//! Each entry is `<scheme>://<host>[:<port>]`, without a path:
//! - scheme: `http`, `https` or `*`;
//! - host: `*`, `*.example.com` (any subdomain, not the bare domain), a literal name or address (`[::1]` for
//!   IPv6), or a network in CIDR form (`10.0.0.0/8`, `[fd00::/8]`), which matches address literals in it;
//! - port: a number, `*`, or a range `8000..8080` (inclusive); when omitted, the scheme's default port (`http`
//!   80, `https` 443), and an error with `*://`.
//!
//! `*://*:*` allows every origin. A tenant's requests must pass both this list and the origins its config names.

use super::Origin;
use ipnet::IpNet;
use std::net::IpAddr;

/// A parsed allow-list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowedHosts {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostPattern,
    ports: (u16, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    Subdomains(String),
    Exact(String),
    Network(IpNet),
}

/// An entry that does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowed_outbound_hosts entry `{entry}`: {reason}")]
pub struct AllowError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

impl AllowedHosts {
    /// Parse a list of entries; the first bad entry is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, AllowError> {
        let entries = entries
            .iter()
            .map(|e| {
                parse_entry(e.as_ref()).map_err(|reason| AllowError {
                    entry: e.as_ref().to_string(),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether some entry allows `origin`.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.entries.iter().any(|e| e.matches(origin))
    }
}

impl Entry {
    fn matches(&self, origin: &Origin) -> bool {
        let scheme = self.scheme.as_ref().is_none_or(|s| *s == origin.scheme);
        let port = (self.ports.0..=self.ports.1).contains(&origin.port);
        let host = unbracket(&origin.host);
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            HostPattern::Exact(exact) => host == *exact,
            HostPattern::Network(net) => host.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
        };
        scheme && port && host_ok
    }
}

fn unbracket(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or("it needs a scheme: `https://host`, `*://host:port`")?;
    let scheme = match scheme {
        "*" => None,
        "http" | "https" => Some(scheme.to_string()),
        other => return Err(format!("unknown scheme `{other}` (http, https or *)")),
    };
    let (host, port) = split_port(rest);
    let ports = match port {
        Some(port) => parse_ports(port)?,
        None => match scheme.as_deref() {
            Some("http") => (80, 80),
            Some("https") => (443, 443),
            _ => return Err("`*://` needs a port (a number, a range a..b, or *)".into()),
        },
    };
    Ok(Entry {
        scheme,
        host: parse_host(host)?,
        ports,
    })
}

/// `host[:port]`, where an IPv6 host is bracketed.
fn split_port(rest: &str) -> (&str, Option<&str>) {
    match rest.rfind(':') {
        Some(i)
            if !rest[i..].contains(']') && (rest.starts_with('[') || !rest[..i].contains(':')) =>
        {
            (&rest[..i], Some(&rest[i + 1..]))
        }
        _ => (rest, None),
    }
}

fn parse_ports(port: &str) -> Result<(u16, u16), String> {
    let number = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("`{p}` is not a port number"))
    };
    match port {
        "*" => Ok((0, u16::MAX)),
        range if range.contains("..") => {
            let (low, high) = range.split_once("..").unwrap_or_default();
            let (low, high) = (number(low)?, number(high)?);
            match low <= high {
                true => Ok((low, high)),
                false => Err(format!("the port range `{range}` is empty")),
            }
        }
        single => number(single).map(|p| (p, p)),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, String> {
    let bare = unbracket(host);
    if bare.is_empty() {
        return Err("the host is empty".into());
    }
    if bare == "*" {
        return Ok(HostPattern::Any);
    }
    if let Some(domain) = bare.strip_prefix("*.") {
        return match domain.contains(['*', '/']) || domain.is_empty() {
            true => Err("`*` may only stand as the first label: `*.example.com`".into()),
            false => Ok(HostPattern::Subdomains(format!(".{domain}"))),
        };
    }
    if bare.contains('/') {
        return bare
            .parse::<IpNet>()
            .map(|net| HostPattern::Network(net.trunc()))
            .map_err(|_| {
                "no path is allowed, and this is not a network such as 10.0.0.0/8".into()
            });
    }
    if bare.contains('*') {
        return Err("`*` may only stand alone or as the first label: `*.example.com`".into());
    }
    Ok(HostPattern::Exact(bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], url: &str) -> bool {
        AllowedHosts::parse(entries)
            .unwrap()
            .allows(&Origin::of_url(url).unwrap())
    }

    #[test]
    fn literal_hosts_take_the_scheme_default_port() {
        assert!(allows(
            &["https://api.example.com"],
            "https://API.example.com/x"
        ));
        assert!(!allows(
            &["https://api.example.com"],
            "http://api.example.com/"
        ));
        assert!(!allows(
            &["https://api.example.com"],
            "https://api.example.com:8443/"
        ));
        assert!(allows(
            &["http://api.example.com"],
            "http://api.example.com:80/"
        ));
        assert!(!allows(
            &["https://api.example.com"],
            "https://example.com/"
        ));
    }

    #[test]
    fn wildcards_cover_subdomains_schemes_and_ports() {
        let sub = ["https://*.example.com"];
        assert!(allows(&sub, "https://a.example.com/"));
        assert!(allows(&sub, "https://a.b.example.com/"));
        assert!(
            !allows(&sub, "https://example.com/"),
            "the bare domain is not a subdomain"
        );
        assert!(!allows(&sub, "https://badexample.com/"));
        assert!(allows(
            &["*://api.example.com:*"],
            "http://api.example.com:1234/"
        ));
        assert!(allows(&["*://*:*"], "https://anything.test:9/"));
        assert!(allows(&["https://*"], "https://anything.test/"));
        assert!(!allows(&["https://*"], "https://anything.test:8443/"));
    }

    #[test]
    fn port_ranges_and_networks() {
        let range = ["http://127.0.0.1:8000..8010"];
        assert!(allows(&range, "http://127.0.0.1:8000/"));
        assert!(allows(&range, "http://127.0.0.1:8010/"));
        assert!(!allows(&range, "http://127.0.0.1:8011/"));
        let net = ["http://10.0.0.0/8:*"];
        assert!(allows(&net, "http://10.2.3.4:99/"));
        assert!(!allows(&net, "http://11.0.0.1/"));
        assert!(
            !allows(&net, "http://ten.example.com/"),
            "names are not in networks"
        );
        assert!(allows(&["http://[::1]:*"], "http://[::1]:8080/"));
        assert!(allows(&["http://[fd00::/8]:80"], "http://[fd12::1]/"));
    }

    #[test]
    fn bad_entries_are_named() {
        let cases = [
            ("api.example.com", "it needs a scheme"),
            ("ftp://api.example.com", "unknown scheme `ftp`"),
            ("*://api.example.com", "`*://` needs a port"),
            ("https://api.example.com/v1", "no path is allowed"),
            ("https://api.*.com", "`*` may only stand"),
            (
                "https://api.example.com:http",
                "`http` is not a port number",
            ),
            ("https://h:9..8", "the port range `9..8` is empty"),
            ("https://", "the host is empty"),
        ];
        for (entry, reason) in cases {
            let err = AllowedHosts::parse(&[entry]).unwrap_err();
            assert_eq!(err.entry, entry);
            assert!(err.reason.contains(reason), "{entry}: {}", err.reason);
        }
    }
}
