//! The address guard: the DNS resolver that keeps feedwatch's fetches off the addresses
//! [`crate::address`] refuses (that classifier is shared with the webhook notifier).
//!
//! The resolver drops refused addresses from every lookup, so the socket is opened to an
//! address that was checked (no gap for DNS rebinding between a check and the connection).
//! IP-literal hosts never reach a resolver; [`check_url_host`] covers them and the fetcher calls
//! it before every hop.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use crate::address::{Refused, classify};

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
        // The ranges issue 18 found let through, as URL hosts.
        for url in [
            "http://198.18.0.1/",
            "http://192.0.0.170/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[::ffff:0:a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[100::1]/",
            "http://[::127.0.0.1]/",
            "http://[::8.8.8.8]/",
            "http://[2002:c0a8:101::1]/",
            "http://[fec0::1]/",
            "http://[2001:db8::1]/",
        ] {
            assert!(check_url_host(&Url::parse(url).unwrap()).is_err(), "{url}");
        }
        assert!(check_url_host(&Url::parse("http://8.8.8.8/").unwrap()).is_ok());
        assert!(check_url_host(&Url::parse("http://[2002:808:808::1]/").unwrap()).is_ok());
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
