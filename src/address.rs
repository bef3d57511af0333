//! The one address classifier: which IP addresses feedwatch refuses to connect to unless
//! `allow_private_addresses = true`. The fetcher (`fetch::guard`) and the webhook notifier
//! (`notify::guard`) both ask [`classify`], so a feed, an article link and a webhook receiver
//! are judged alike.
//!
//! Refused: every range of IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890
//! and its updates), the multicast ranges, the deprecated IPv6 site-local range, and every IPv6
//! address outside the global unicast block 2000::/3 (none of it is reachable on the public
//! internet, so none of it can be a feed or a receiver; a local network may still route it).
//! Forms that carry an IPv4 address are judged by that address: IPv4-mapped (::ffff:0:0/96,
//! which the kernel connects over IPv4), the NAT64 well-known prefix (64:ff9b::/96) and 6to4
//! (2002::/16). The deprecated IPv4-compatible form (::/96) is refused whatever it carries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused; `None` from [`classify`] means it is a public address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 0.0.0.0/8 ("this network"; Linux connects 0.0.0.0 to the local host) and `::`.
    Unspecified,
    /// 127.0.0.0/8 and ::1.
    Loopback,
    /// 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    SharedCgnat,
    /// 169.254.0.0/16 (cloud metadata lives here) and fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// fec0::/10, deprecated but still private where it is used.
    SiteLocal,
    /// 224.0.0.0/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// TEST-NET-1/2/3, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15 and 2001:2::/48 (inside 2001::/23).
    Benchmarking,
    /// 192.0.0.0/24 and 2001::/23 (IETF protocol assignments: DS-Lite, Teredo, ORCHID, …).
    ProtocolAssignment,
    /// 64:ff9b:1::/48, local-use IPv4/IPv6 translation.
    LocalTranslation,
    /// 100::/64 (discard-only) and 100:0:0:1::/64 (dummy prefix).
    Discard,
    /// AS112 and AMT anycast, the deprecated 6to4 relay anycast, SRv6 SIDs (5f00::/16): special
    /// services, not web servers.
    SpecialService,
    /// 240.0.0.0/4, the deprecated IPv4-compatible IPv6 form, and IPv6 outside 2000::/3.
    Reserved,
}

impl Refused {
    /// What kind of address this is, for messages: "a {describe()} address".
    pub fn describe(self) -> &'static str {
        match self {
            Refused::Unspecified => "unspecified",
            Refused::Loopback => "loopback",
            Refused::Private => "private",
            Refused::SharedCgnat => "shared (carrier-grade NAT)",
            Refused::LinkLocal => "link-local",
            Refused::UniqueLocal => "private (unique local)",
            Refused::SiteLocal => "site-local",
            Refused::Multicast => "multicast",
            Refused::Broadcast => "broadcast",
            Refused::Documentation => "documentation",
            Refused::Benchmarking => "benchmarking",
            Refused::ProtocolAssignment => "IETF protocol assignment",
            Refused::LocalTranslation => "local-use translation",
            Refused::Discard => "discard-only",
            Refused::SpecialService => "special-purpose service",
            Refused::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// IPv4 ranges refused, as (network, prefix length, why). The first match wins, so the more
/// specific 255.255.255.255/32 comes before 240.0.0.0/4.
const V4: &[([u8; 4], u8, Refused)] = &[
    ([0, 0, 0, 0], 8, Refused::Unspecified),
    ([10, 0, 0, 0], 8, Refused::Private),
    ([100, 64, 0, 0], 10, Refused::SharedCgnat),
    ([127, 0, 0, 0], 8, Refused::Loopback),
    ([169, 254, 0, 0], 16, Refused::LinkLocal),
    ([172, 16, 0, 0], 12, Refused::Private),
    ([192, 0, 0, 0], 24, Refused::ProtocolAssignment),
    ([192, 0, 2, 0], 24, Refused::Documentation),
    ([192, 31, 196, 0], 24, Refused::SpecialService), // AS112-v4
    ([192, 52, 193, 0], 24, Refused::SpecialService), // AMT
    ([192, 88, 99, 0], 24, Refused::SpecialService),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16, Refused::Private),
    ([192, 175, 48, 0], 24, Refused::SpecialService), // AS112 direct delegation
    ([198, 18, 0, 0], 15, Refused::Benchmarking),
    ([198, 51, 100, 0], 24, Refused::Documentation),
    ([203, 0, 113, 0], 24, Refused::Documentation),
    ([224, 0, 0, 0], 4, Refused::Multicast),
    ([255, 255, 255, 255], 32, Refused::Broadcast),
    ([240, 0, 0, 0], 4, Refused::Reserved),
];

/// IPv6 ranges refused, as (network, prefix length, why), checked after the forms that carry
/// an IPv4 address. The first match wins.
const V6: &[(u128, u8, Refused)] = &[
    (0, 128, Refused::Unspecified),
    (1, 128, Refused::Loopback),
    (0x0064_ff9b_0001 << 80, 48, Refused::LocalTranslation),
    (0x0100 << 112, 64, Refused::Discard),
    ((0x0100 << 112) | (1 << 64), 64, Refused::Discard),
    (0x2001_0db8 << 96, 32, Refused::Documentation),
    (0x2001 << 112, 23, Refused::ProtocolAssignment),
    (0x2620_004f_8000 << 80, 48, Refused::SpecialService), // AS112 direct delegation
    (0x3fff << 112, 20, Refused::Documentation),
    (0x5f00 << 112, 16, Refused::SpecialService), // SRv6 SIDs
    (0xfc00 << 112, 7, Refused::UniqueLocal),
    (0xfe80 << 112, 10, Refused::LinkLocal),
    (0xfec0 << 112, 10, Refused::SiteLocal),
    (0xff00 << 112, 8, Refused::Multicast),
];

/// Classifies `ip`: `Some(reason)` when feedwatch must not connect to it by default.
pub fn classify(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refused> {
    let bits = u32::from(ip);
    V4.iter()
        .find(|(net, len, _)| in_prefix_v4(bits, u32::from_be_bytes(*net), *len))
        .map(|&(_, _, why)| why)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refused> {
    let bits = u128::from(ip);
    // Forms that carry an IPv4 address are judged by it, otherwise ::ffff:127.0.0.1 or a
    // NAT64/6to4 wrapping of 10.0.0.1 would slip through.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if in_prefix_v6(bits, 0x0064_ff9b << 96, 96) {
        return classify_v4(Ipv4Addr::from(bits as u32));
    }
    if in_prefix_v6(bits, 0x2002 << 112, 16) {
        return classify_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    // IPv4-compatible (::/96 but :: and ::1): deprecated, so refused whatever it carries; the
    // carried address names the reason when it has one.
    if bits >> 32 == 0 && bits > 1 {
        return classify_v4(Ipv4Addr::from(bits as u32)).or(Some(Refused::Reserved));
    }
    if let Some(&(_, _, why)) = V6
        .iter()
        .find(|(net, len, _)| in_prefix_v6(bits, *net, *len))
    {
        return Some(why);
    }
    // Outside 2000::/3 nothing is allocated for global unicast.
    if bits >> 125 != 0b001 {
        return Some(Refused::Reserved);
    }
    None
}

fn in_prefix_v4(bits: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    bits & mask == net
}

fn in_prefix_v6(bits: u128, net: u128, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    bits & mask == net
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address inside and one just outside each range (first inside, then outside): the
    /// registries' ranges and the forms that carry an IPv4 address.
    const TABLE: &[(&str, Option<Refused>)] = &[
        // IPv4 Special-Purpose Address Registry, in its order.
        ("0.0.0.0", Some(Refused::Unspecified)),
        ("0.255.255.255", Some(Refused::Unspecified)),
        ("1.0.0.0", None),
        ("10.0.0.0", Some(Refused::Private)),
        ("10.255.255.255", Some(Refused::Private)),
        ("9.255.255.255", None),
        ("11.0.0.0", None),
        ("100.64.0.0", Some(Refused::SharedCgnat)),
        ("100.127.255.255", Some(Refused::SharedCgnat)),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("127.0.0.1", Some(Refused::Loopback)),
        ("127.255.255.255", Some(Refused::Loopback)),
        ("126.255.255.255", None),
        ("128.0.0.0", None),
        ("169.254.169.254", Some(Refused::LinkLocal)),
        ("169.253.255.255", None),
        ("169.255.0.0", None),
        ("172.16.0.0", Some(Refused::Private)),
        ("172.31.255.255", Some(Refused::Private)),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("192.0.0.0", Some(Refused::ProtocolAssignment)),
        ("192.0.0.8", Some(Refused::ProtocolAssignment)),
        ("192.0.0.170", Some(Refused::ProtocolAssignment)),
        ("192.0.0.255", Some(Refused::ProtocolAssignment)),
        ("191.255.255.255", None),
        ("192.0.1.0", None),
        ("192.0.2.1", Some(Refused::Documentation)),
        ("192.0.3.0", None),
        ("192.31.196.1", Some(Refused::SpecialService)),
        ("192.31.195.255", None),
        ("192.31.197.0", None),
        ("192.52.193.1", Some(Refused::SpecialService)),
        ("192.52.194.0", None),
        ("192.88.99.1", Some(Refused::SpecialService)),
        ("192.88.98.255", None),
        ("192.88.100.0", None),
        ("192.168.1.1", Some(Refused::Private)),
        ("192.167.255.255", None),
        ("192.169.0.0", None),
        ("192.175.48.1", Some(Refused::SpecialService)),
        ("192.175.49.0", None),
        ("198.18.0.0", Some(Refused::Benchmarking)),
        ("198.19.255.255", Some(Refused::Benchmarking)),
        ("198.17.255.255", None),
        ("198.20.0.0", None),
        ("198.51.100.7", Some(Refused::Documentation)),
        ("198.51.101.0", None),
        ("203.0.113.7", Some(Refused::Documentation)),
        ("203.0.112.255", None),
        ("203.0.114.0", None),
        ("224.0.0.1", Some(Refused::Multicast)),
        ("239.255.255.255", Some(Refused::Multicast)),
        ("223.255.255.255", None),
        ("240.0.0.0", Some(Refused::Reserved)),
        ("255.255.255.254", Some(Refused::Reserved)),
        ("255.255.255.255", Some(Refused::Broadcast)),
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        // IPv6 Special-Purpose Address Registry, in its order.
        ("::", Some(Refused::Unspecified)),
        ("::1", Some(Refused::Loopback)),
        ("::2", Some(Refused::Unspecified)),
        // IPv4-mapped: the IPv4 address inside decides.
        ("::ffff:127.0.0.1", Some(Refused::Loopback)),
        ("::ffff:10.0.0.1", Some(Refused::Private)),
        ("::ffff:169.254.169.254", Some(Refused::LinkLocal)),
        ("::ffff:198.18.0.1", Some(Refused::Benchmarking)),
        ("::ffff:0.0.0.0", Some(Refused::Unspecified)),
        ("::ffff:8.8.8.8", None),
        ("::fffe:808:808", Some(Refused::Reserved)),
        ("::1:0:808:808", Some(Refused::Reserved)),
        // IPv4-compatible (deprecated): refused whatever it carries.
        ("::127.0.0.1", Some(Refused::Loopback)),
        ("::10.0.0.1", Some(Refused::Private)),
        ("::8.8.8.8", Some(Refused::Reserved)),
        // NAT64 well-known prefix: the IPv4 address inside decides.
        ("64:ff9b::192.168.0.1", Some(Refused::Private)),
        ("64:ff9b::127.0.0.1", Some(Refused::Loopback)),
        ("64:ff9b::8.8.8.8", None),
        ("64:ff9b:0:0:0:1:808:808", Some(Refused::Reserved)),
        // Local-use translation.
        ("64:ff9b:1::8.8.8.8", Some(Refused::LocalTranslation)),
        (
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::LocalTranslation),
        ),
        ("64:ff9b:2::", Some(Refused::Reserved)),
        // Discard-only and the dummy prefix.
        ("100::", Some(Refused::Discard)),
        ("100::ffff:ffff:ffff:ffff", Some(Refused::Discard)),
        ("100:0:0:1::1", Some(Refused::Discard)),
        ("100:0:0:2::", Some(Refused::Reserved)),
        // IETF protocol assignments, Teredo among them.
        ("2001::", Some(Refused::ProtocolAssignment)),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            Some(Refused::ProtocolAssignment),
        ),
        ("2001:2::1", Some(Refused::ProtocolAssignment)),
        (
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::ProtocolAssignment),
        ),
        ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:200::1", None),
        // Documentation.
        ("2001:db8::1", Some(Refused::Documentation)),
        (
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::Documentation),
        ),
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:db9::", None),
        ("3fff::1", Some(Refused::Documentation)),
        ("3fff:fff::", Some(Refused::Documentation)),
        ("3ffe:ffff::", None),
        ("3fff:1000::", None),
        // 6to4: the IPv4 address inside decides.
        ("2002:7f00:1::", Some(Refused::Loopback)),
        ("2002:c0a8:101::1", Some(Refused::Private)),
        ("2002:a9fe:a9fe::", Some(Refused::LinkLocal)),
        ("2002:808:808::1", None),
        ("2003::1", None),
        // AS112 direct delegation.
        ("2620:4f:8000::1", Some(Refused::SpecialService)),
        ("2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", None),
        ("2620:4f:8001::", None),
        // SRv6 SIDs.
        ("5f00::1", Some(Refused::SpecialService)),
        // Unique local, link-local, site-local, multicast.
        ("fc00::1", Some(Refused::UniqueLocal)),
        (
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::UniqueLocal),
        ),
        ("fe80::1", Some(Refused::LinkLocal)),
        (
            "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::LinkLocal),
        ),
        ("fec0::1", Some(Refused::SiteLocal)),
        (
            "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::SiteLocal),
        ),
        ("ff02::1", Some(Refused::Multicast)),
        ("ff0e::1", Some(Refused::Multicast)),
        // Global unicast is 2000::/3; the rest is not allocated for it.
        (
            "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::Reserved),
        ),
        ("4000::", Some(Refused::Reserved)),
        (
            "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            Some(Refused::Reserved),
        ),
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001::200e", None),
        ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ];

    #[test]
    fn every_special_purpose_range_is_refused_and_its_neighbours_are_not() {
        let mut wrong = Vec::new();
        for (text, expected) in TABLE {
            let ip: IpAddr = text.parse().unwrap();
            let got = classify(ip);
            if got != *expected {
                wrong.push(format!("{text}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_reason_has_a_description_for_messages() {
        for (_, why) in TABLE {
            if let Some(why) = why {
                assert!(!why.describe().is_empty());
                assert_eq!(why.to_string(), why.describe());
            }
        }
    }
}
