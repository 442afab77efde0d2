//! Addresses a tenant may not reach unless its operator allows them: everything that is not globally
//! routable, from the IANA special-purpose address registries for IPv4 and IPv6, with IPv4 embedded in IPv6
//! (mapped, compatible, NAT64, 6to4) judged by its IPv4 address. One table per family; each range has a test.

use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are not globally reachable, or not unicast (IANA IPv4 Special-Purpose Address Registry,
/// plus multicast and the reserved class E).
const V4: [(&str, &str); 16] = [
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "limited broadcast"),
    ("240.0.0.0/4", "reserved"),
];

/// IPv6 ranges inside global unicast (`2000::/3`) that are not globally reachable (IANA IPv6 Special-Purpose
/// Address Registry). Everything outside `2000::/3` is refused too, but for the forms that embed an IPv4 address.
const V6: [(&str, &str); 4] = [
    (
        "2001::/23",
        "IETF protocol assignments (Teredo, ORCHID, benchmarking)",
    ),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("2002::/16", "6to4 (judged by the IPv4 address it embeds)"),
];

/// Why `ip` is not globally routable, or `None` when it is.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4.iter()
        .find(|(net, _)| net.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&ip)))
        .map(|(_, why)| *why)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let within = |net: &str| net.parse::<Ipv6Net>().is_ok_and(|n| n.contains(&ip));
    let o = ip.octets();
    let v4 = |b: [u8; 4]| Ipv4Addr::from(b);
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): the IPv4 address decides.
    if within("::ffff:0:0/96") || within("64:ff9b::/96") {
        return special_v4(v4([o[12], o[13], o[14], o[15]]));
    }
    if within("2002::/16") {
        return special_v4(v4([o[2], o[3], o[4], o[5]]))
            .map(|_| "6to4 of an address that is not global");
    }
    if !within("2000::/3") {
        return Some(match ip {
            _ if ip.is_loopback() => "loopback",
            _ if ip.is_unspecified() => "unspecified",
            _ if within("::/96") => "IPv4-compatible (deprecated)",
            _ if within("fc00::/7") => "unique local",
            _ if within("fe80::/10") => "link-local",
            _ if within("fec0::/10") => "site-local (deprecated)",
            _ if within("ff00::/8") => "multicast",
            _ => "not global unicast",
        });
    }
    V6.iter().find(|(net, _)| within(net)).map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ipv4_range_is_refused_at_its_edges_and_its_neighbours_are_not() {
        for (net, why) in V4 {
            let net: Ipv4Net = net.parse().unwrap();
            assert_eq!(special_v4(net.network()), Some(why), "{net} first");
            assert!(special_v4(net.broadcast()).is_some(), "{net} last");
        }
        for global in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "192.0.1.255",
            "198.20.0.1",
            "223.255.255.255",
        ] {
            assert_eq!(special_v4(global.parse().unwrap()), None, "{global}");
        }
    }

    #[test]
    fn ipv6_ranges_and_embedded_ipv4_are_refused() {
        let refused = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::169.254.169.254", "IPv4-compatible (deprecated)"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
            ("64:ff9b::a9fe:a9fe", "link-local (cloud metadata)"),
            ("64:ff9b:1::1", "not global unicast"),
            ("100::1", "not global unicast"),
            (
                "2001::1",
                "IETF protocol assignments (Teredo, ORCHID, benchmarking)",
            ),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("2002:a9fe:a9fe::1", "6to4 of an address that is not global"),
            ("5f00::1", "not global unicast"),
            ("fc00::1", "unique local"),
            ("fd00::1", "unique local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local (deprecated)"),
            ("ff02::1", "multicast"),
        ];
        for (ip, why) in refused {
            assert_eq!(special_v6(ip.parse().unwrap()), Some(why), "{ip}");
        }
        for global in [
            "2606:4700::1111",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(special_v6(global.parse().unwrap()), None, "{global}");
        }
    }
}
