//! The address guard: which IP addresses feedwatch refuses to connect to, and the DNS resolver
//! that enforces it.
//!
//! Owns the classification of addresses (loopback, private, link-local, …) and a
//! [`reqwest::dns::Resolve`] implementation that drops refused addresses from every lookup, so the
//! socket is opened to an address that was checked (no gap for DNS rebinding between a check and
//! the connection). IP-literal hosts never reach a resolver; [`check_url_host`] covers them and the
//! fetcher calls it before every hop.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why an address is refused; `None` from [`classify`] means it is a public address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unspecified,
    Loopback,
    Private,
    SharedCgnat,
    LinkLocal,
    UniqueLocal,
    Multicast,
    Broadcast,
    Reserved,
}

/// Classifies `ip`: `Some(reason)` when feedwatch must not connect to it by default.
pub fn classify(ip: IpAddr) -> Option<Refused> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refused> {
    let [a, b, _, _] = ip.octets();
    if ip.is_broadcast() {
        Some(Refused::Broadcast)
    } else if a == 0 {
        // 0.0.0.0/8 is "this network"; Linux connects 0.0.0.0 to the local host.
        Some(Refused::Unspecified)
    } else if ip.is_loopback() {
        Some(Refused::Loopback)
    } else if ip.is_private() {
        Some(Refused::Private)
    } else if a == 100 && (b & 0xc0) == 64 {
        Some(Refused::SharedCgnat)
    } else if ip.is_link_local() {
        Some(Refused::LinkLocal)
    } else if ip.is_multicast() {
        Some(Refused::Multicast)
    } else if a >= 240 {
        Some(Refused::Reserved)
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refused> {
    // Forms that carry an IPv4 address inside are judged by that address, otherwise
    // ::ffff:127.0.0.1 or a NAT64/6to4 wrapping of 10.0.0.1 would slip through.
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some(Refused::Unspecified)
    } else if ip.is_loopback() {
        Some(Refused::Loopback)
    } else if (first & 0xffc0) == 0xfe80 {
        Some(Refused::LinkLocal)
    } else if (first & 0xffc0) == 0xfec0 {
        // Deprecated site-local, still private in practice.
        Some(Refused::UniqueLocal)
    } else if (first & 0xfe00) == 0xfc00 {
        Some(Refused::UniqueLocal)
    } else if ip.is_multicast() {
        Some(Refused::Multicast)
    } else {
        None
    }
}

/// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96, not :: or
/// ::1), NAT64 well-known (64:ff9b::/96) or 6to4 (2002::/16) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(tail(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(tail(s[1], s[2]));
    }
    None
}

/// A refusal, carried through reqwest's error chain from the resolver back to the fetcher.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused to connect to {host} ({addr})")]
pub struct BlockedAddress {
    /// The host name the user configured, so the error names the feed's host.
    pub host: String,
    /// The refused address it resolved to, so the user sees why.
    pub addr: IpAddr,
}

/// Refuses an IP-literal host of `url` that [`classify`] rejects. Names are left to the resolver.
pub fn check_url_host(url: &Url) -> Result<(), BlockedAddress> {
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match classify(ip) {
        Some(_) => Err(BlockedAddress {
            host: url.host_str().unwrap_or_default().to_string(),
            addr: ip,
        }),
        None => Ok(()),
    }
}

/// Resolves with the system resolver (through tokio) and keeps only allowed addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// When true every address is kept: the user opted into private targets.
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in afterwards.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (kept, first_refused) = filter_addrs(found, allow_private);
            if kept.is_empty()
                && let Some(addr) = first_refused
            {
                return Err(Box::new(BlockedAddress { host, addr })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// Splits resolved addresses into the allowed ones and the first refused one (for the error).
fn filter_addrs(found: Vec<SocketAddr>, allow_private: bool) -> (Vec<SocketAddr>, Option<IpAddr>) {
    if allow_private {
        return (found, None);
    }
    let mut first_refused = None;
    let kept = found
        .into_iter()
        .filter(|sa| match classify(sa.ip()) {
            Some(_) => {
                first_refused.get_or_insert(sa.ip());
                false
            }
            None => true,
        })
        .collect();
    (kept, first_refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classifier_refuses_internal_ranges_and_allows_public_ones() {
        let table: &[(&str, Option<Refused>)] = &[
            ("127.0.0.1", Some(Refused::Loopback)),
            ("127.255.0.9", Some(Refused::Loopback)),
            ("10.1.2.3", Some(Refused::Private)),
            ("172.16.0.1", Some(Refused::Private)),
            ("172.31.255.255", Some(Refused::Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(Refused::Private)),
            ("100.64.0.1", Some(Refused::SharedCgnat)),
            ("100.127.255.255", Some(Refused::SharedCgnat)),
            ("100.128.0.1", None),
            ("169.254.169.254", Some(Refused::LinkLocal)),
            ("0.0.0.0", Some(Refused::Unspecified)),
            ("224.0.0.1", Some(Refused::Multicast)),
            ("255.255.255.255", Some(Refused::Broadcast)),
            ("240.0.0.1", Some(Refused::Reserved)),
            ("93.184.215.14", None),
            ("8.8.8.8", None),
            ("::1", Some(Refused::Loopback)),
            ("::", Some(Refused::Unspecified)),
            ("fe80::1", Some(Refused::LinkLocal)),
            ("fc00::1", Some(Refused::UniqueLocal)),
            ("fd12:3456::1", Some(Refused::UniqueLocal)),
            ("ff02::1", Some(Refused::Multicast)),
            ("::ffff:127.0.0.1", Some(Refused::Loopback)),
            ("::ffff:10.0.0.1", Some(Refused::Private)),
            ("::ffff:169.254.169.254", Some(Refused::LinkLocal)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::192.168.0.1", Some(Refused::Private)),
            ("2002:7f00:1::", Some(Refused::Loopback)),
            ("2606:4700:4700::1111", None),
            ("2001:db8::1", None),
        ];
        for (text, expected) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *expected, "{text}");
        }
    }

    #[test]
    fn ip_literal_hosts_are_checked_before_any_request() {
        for url in [
            "http://127.0.0.1:8080/",
            "http://[::1]/feed",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let url = Url::parse(url).unwrap();
            let err = check_url_host(&url).unwrap_err();
            assert!(
                err.addr.is_loopback() || classify(err.addr) == Some(Refused::Loopback),
                "{url}"
            );
        }
        assert!(check_url_host(&Url::parse("http://8.8.8.8/").unwrap()).is_ok());
        // Names are the resolver's job.
        assert!(check_url_host(&Url::parse("http://localhost/").unwrap()).is_ok());
    }

    #[test]
    fn refused_addresses_are_dropped_and_public_ones_kept() {
        let found: Vec<SocketAddr> =
            vec!["10.0.0.1:0".parse().unwrap(), "8.8.8.8:0".parse().unwrap()];
        let (kept, refused) = filter_addrs(found.clone(), false);
        assert_eq!(kept, vec!["8.8.8.8:0".parse::<SocketAddr>().unwrap()]);
        assert_eq!(refused, Some("10.0.0.1".parse().unwrap()));
        let (kept, _) = filter_addrs(found.clone(), true);
        assert_eq!(kept, found);
    }
}
