//! Addresses a tenant may not reach unless its operator allows them: everything that is not globally
//! routable, from the IANA special-purpose address registries for IPv4 and IPv6, with IPv4 embedded in IPv6
//! (mapped, compatible, NAT64, 6to4) judged by its IPv4 address. One table per family; each range has a test.

use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are not globally reachable, or not unicast (IANA IPv4 Special-Purpose Address Registry,
/// plus multicast and the reserved class E).
const V4: [(Ipv4Net, &str); 16] = [
    (v4([0, 0, 0, 0], 8), "this network"),
    (v4([10, 0, 0, 0], 8), "private"),
    (
        v4([100, 64, 0, 0], 10),
        "shared address space (carrier-grade NAT)",
    ),
    (v4([127, 0, 0, 0], 8), "loopback"),
    (v4([169, 254, 0, 0], 16), "link-local (cloud metadata)"),
    (v4([172, 16, 0, 0], 12), "private"),
    (v4([192, 0, 0, 0], 24), "IETF protocol assignments"),
    (v4([192, 0, 2, 0], 24), "documentation (TEST-NET-1)"),
    (v4([192, 88, 99, 0], 24), "6to4 relay anycast (deprecated)"),
    (v4([192, 168, 0, 0], 16), "private"),
    (v4([198, 18, 0, 0], 15), "benchmarking"),
    (v4([198, 51, 100, 0], 24), "documentation (TEST-NET-2)"),
    (v4([203, 0, 113, 0], 24), "documentation (TEST-NET-3)"),
    (v4([224, 0, 0, 0], 4), "multicast"),
    (v4([255, 255, 255, 255], 32), "limited broadcast"),
    (v4([240, 0, 0, 0], 4), "reserved"),
];

/// IPv6 ranges inside global unicast (`2000::/3`) that are not globally reachable (IANA IPv6 Special-Purpose
/// Address Registry). Everything outside `2000::/3` is refused too, but for the forms that embed an IPv4 address.
const V6: [(Ipv6Net, &str); 4] = [
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments (Teredo, ORCHID, benchmarking)",
    ),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (SIX_TO_FOUR, "6to4 (judged by the IPv4 address it embeds)"),
];

/// IPv6 prefixes the checks below name.
const MAPPED: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);
const COMPATIBLE: Ipv6Net = v6([0, 0, 0, 0, 0, 0, 0, 0], 96);
const UNIQUE_LOCAL: Ipv6Net = v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7);
const LINK_LOCAL: Ipv6Net = v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10);
const SITE_LOCAL: Ipv6Net = v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10);
const MULTICAST: Ipv6Net = v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8);

/// A network from its octets and prefix length (checked when the tables are compiled).
const fn v4(o: [u8; 4], prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(o[0], o[1], o[2], o[3]), prefix)
}

/// A network from its segments and prefix length (checked when the tables are compiled).
const fn v6(s: [u16; 8], prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        prefix,
    )
}

/// Why `ip` is not globally routable, or `None` when it is.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4.iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let within = |net: Ipv6Net| net.contains(&ip);
    let o = ip.octets();
    let v4 = |b: [u8; 4]| Ipv4Addr::from(b);
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): the IPv4 address decides.
    if within(MAPPED) || within(NAT64) {
        return special_v4(v4([o[12], o[13], o[14], o[15]]));
    }
    if within(SIX_TO_FOUR) {
        return special_v4(v4([o[2], o[3], o[4], o[5]]))
            .map(|_| "6to4 of an address that is not global");
    }
    if !within(GLOBAL_UNICAST) {
        return Some(match ip {
            _ if ip.is_loopback() => "loopback",
            _ if ip.is_unspecified() => "unspecified",
            _ if within(COMPATIBLE) => "IPv4-compatible (deprecated)",
            _ if within(UNIQUE_LOCAL) => "unique local",
            _ if within(LINK_LOCAL) => "link-local",
            _ if within(SITE_LOCAL) => "site-local (deprecated)",
            _ if within(MULTICAST) => "multicast",
            _ => "not global unicast",
        });
    }
    V6.iter().find(|(net, _)| within(*net)).map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ipv4_range_is_refused_at_its_edges_and_its_neighbours_are_not() {
        for (net, why) in V4 {
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
