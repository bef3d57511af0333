//! Keeps webhooks away from loopback, private and link-local receivers unless the user allows
//! them: a notifier URL must not become a way to poke at services on the daemon's own network.
//!
//! Checked twice: once before sending (for a clear error, and for IP literals, which never reach
//! a resolver), and again in the HTTP client's resolver, so that the address actually connected
//! to (after redirects, or a DNS answer that changed in between) is the one that was checked.

use std::net::{IpAddr, SocketAddr};

/// Why an address is not a public receiver (e.g. "loopback"), or None when it is one. The
/// classifier is [`crate::address::classify`], the fetcher's too.
pub fn private_kind(ip: IpAddr) -> Option<&'static str> {
    crate::address::classify(ip).map(|why| why.describe())
}

/// Resolves `host:port` and refuses the lot when any answer is private: a name that resolves to
/// both a public and a private address could be steered to the private one.
pub async fn resolve_public(host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| GuardError::Lookup {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(GuardError::Lookup {
            host: host.to_string(),
            reason: "no addresses".into(),
        });
    }
    for a in &addrs {
        if let Some(kind) = private_kind(a.ip()) {
            return Err(GuardError::Private {
                host: host.to_string(),
                ip: a.ip(),
                kind,
            });
        }
    }
    Ok(addrs)
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error(
        "{host} is a {kind} address ({ip}); webhooks to private receivers are refused \
         unless allow_private_addresses = true in [daemon]"
    )]
    Private {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
    #[error("cannot resolve {host}: {reason}; check the notifier's url and the machine's DNS")]
    Lookup { host: String, reason: String },
}

/// The reqwest resolver that refuses private answers: used when private receivers are not allowed.
pub struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in.
            let addrs = resolve_public(&host, 0).await?;
            let iter: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        private_kind(s.parse().unwrap())
    }

    #[test]
    fn loopback_private_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(kind(ip).is_some(), "{ip} should be refused");
        }
        for ip in [
            "::1",
            "fd00::1",
            "fe80::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(kind(ip).is_some(), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "172.32.0.1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(kind(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn the_ranges_found_let_through_are_refused() {
        // Issue 18's list: reserved ranges the webhook guard let through (one address each,
        // and the IPv4 forms it carries).
        for ip in [
            "198.18.0.1",
            "198.19.255.254",
            "192.0.0.1",
            "192.0.0.170",
            "64:ff9b:1::a00:1",
            "::ffff:0:a00:1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "::127.0.0.1",
            "::a00:1",
            "2002:a00:1::",
            "2002:c0a8:101::1",
            "2002:7f00:1::",
            "fec0::1",
            "2001:db8::1",
            "192.0.2.1",
        ] {
            assert!(kind(ip).is_some(), "{ip} should be refused");
        }
    }

    #[tokio::test]
    async fn localhost_by_name_is_refused_after_resolving() {
        let err = resolve_public("localhost", 80).await.unwrap_err();
        assert!(matches!(err, GuardError::Private { .. }), "{err}");
        assert!(err.to_string().contains("allow_private_addresses"), "{err}");
    }
}
