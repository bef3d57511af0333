//! Politeness limits: how many requests may be in flight at once, overall and per host, and
//! how fast requests to one host may start.
//!
//! Owns a global semaphore, a map of host → semaphore and a per-host rate limiter (governor).
//! Hands out permits that are released when dropped, so an early return or a cancelled fetch
//! always gives its slot back.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Above this many remembered hosts, idle entries are dropped so the map cannot grow for ever
/// with the hosts of article links.
const PRUNE_ABOVE: usize = 512;

/// The limits shared by all clones of a fetcher.
#[derive(Debug)]
pub struct Limits {
    /// Requests in flight over all hosts.
    global: Arc<Semaphore>,
    /// One semaphore per lowercased host, created on first use.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Permits of each host's semaphore.
    per_host: usize,
    /// Request starts per second for each host; `None` when unlimited (a rate of 0).
    rate: Option<DefaultKeyedRateLimiter<String>>,
}

impl Limits {
    pub fn new(max_concurrent: usize, per_host: usize, per_second: u32) -> Limits {
        Limits {
            global: Arc::new(Semaphore::new(max_concurrent.max(1))),
            hosts: Mutex::new(HashMap::new()),
            per_host: per_host.max(1),
            rate: NonZeroU32::new(per_second).map(|n| RateLimiter::keyed(Quota::per_second(n))),
        }
    }

    /// Waits for a global slot. Held for one hop.
    pub async fn global(&self) -> OwnedSemaphorePermit {
        acquire(self.global.clone()).await
    }

    /// Waits for a slot on `host`, then for the host's rate to allow another start. Held for
    /// one hop.
    pub async fn host(&self, host: &str) -> OwnedSemaphorePermit {
        let key = host.to_ascii_lowercase();
        let semaphore = {
            let mut hosts = self
                .hosts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if hosts.len() > PRUNE_ABOVE {
                // Permits and waiters hold an Arc, so a count of one means nobody uses the host now.
                hosts.retain(|_, s| Arc::strong_count(s) > 1);
                if let Some(rate) = &self.rate {
                    rate.retain_recent();
                }
            }
            hosts
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        let permit = acquire(semaphore).await;
        if let Some(rate) = &self.rate {
            rate.until_key_ready(&key).await;
        }
        permit
    }
}

async fn acquire(semaphore: Arc<Semaphore>) -> OwnedSemaphorePermit {
    // Acquiring fails only on a closed semaphore, and these are never closed.
    semaphore
        .acquire_owned()
        .await
        .expect("fetch semaphores are never closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_gets_its_burst_of_starts_then_waits_while_others_go_on() {
        let limits = Limits::new(8, 8, 2);
        let zero = std::time::Duration::ZERO;
        for _ in 0..2 {
            let slot = tokio::time::timeout(zero, limits.host("a.example")).await;
            assert!(slot.is_ok(), "the burst of a host's rate goes at once");
        }
        let third = tokio::time::timeout(zero, limits.host("A.example")).await;
        assert!(third.is_err(), "a third start in the same second must wait");
        let other = tokio::time::timeout(zero, limits.host("b.example")).await;
        assert!(
            other.is_ok(),
            "another host is not held up by the first one's rate"
        );
    }

    #[tokio::test]
    async fn hosts_differing_only_in_case_share_one_limit() {
        let limits = Limits::new(8, 1, 0);
        let _held = limits.host("Example.COM").await;
        let second =
            tokio::time::timeout(std::time::Duration::ZERO, limits.host("example.com")).await;
        assert!(
            second.is_err(),
            "a second request to the same host got a slot"
        );
        let other =
            tokio::time::timeout(std::time::Duration::ZERO, limits.host("example.org")).await;
        assert!(other.is_ok(), "another host was held up");
    }
}
