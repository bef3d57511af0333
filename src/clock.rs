//! The time the daemon acts on: when feeds are due, how long a failing feed waits, when a digest
//! goes and whether quiet hours are on.
//!
//! In production it is the system's wall clock. Tests hand the daemon a clock driven by tokio's
//! timer instead ([`Clock::tokio`]): with `tokio::time::pause` it stands still until the test
//! advances it, so a week of polling runs in milliseconds and never sleeps for real. Sleeping
//! goes through the same clock ([`Clock::sleep_until`]), so the daemon wakes when the clock
//! says, whichever clock it is.
//!
//! Paused tokio time jumps to the next timer whenever every task waits, network reads
//! included: a poll waiting for a loopback server's answer would see its fetch time out. Work
//! in flight therefore holds the clock ([`Clock::hold`]): a no-op on the system clock; on a
//! tokio clock, a blocking task that lives as long as the hold, which keeps tokio from jumping.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// Wall time that moves with tokio's clock (paused and advanced by tests): `start` at the
    /// tokio instant `origin`.
    Tokio {
        start: DateTime<Utc>,
        origin: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `start` now and then moves as tokio's clock does.
    pub fn tokio(start: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { start, origin } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*origin);
                *start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::zero())
            }
        }
    }

    /// Unix seconds.
    pub fn unix(&self) -> i64 {
        self.now().timestamp()
    }

    /// Unix milliseconds.
    pub fn unix_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// How long from now until `when` (zero when it has passed).
    pub fn until(&self, when: DateTime<Utc>) -> Duration {
        (when - self.now()).to_std().unwrap_or(Duration::ZERO)
    }

    /// Keeps a tokio clock from jumping ahead while the returned hold lives (see the module's
    /// doc); nothing on the system clock.
    pub fn hold(&self) -> Hold {
        match self {
            Clock::System => Hold(None),
            Clock::Tokio { .. } => {
                let (tx, rx) = std::sync::mpsc::channel::<()>();
                // Ends when the hold's sender is dropped; tokio does not move paused time
                // while a blocking task runs.
                tokio::task::spawn_blocking(move || {
                    let _ = rx.recv();
                });
                Hold(Some(tx))
            }
        }
    }

    /// Sleeps until this clock reads `when` (at once when it has passed).
    pub async fn sleep_until(&self, when: DateTime<Utc>) {
        tokio::time::sleep(self.until(when)).await;
    }
}

/// See [`Clock::hold`]; released when dropped (the sender's drop ends the blocking task).
#[derive(Debug)]
pub struct Hold(#[allow(dead_code)] Option<std::sync::mpsc::Sender<()>>);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_moves_only_when_tokio_time_does() {
        let start = DateTime::parse_from_rfc3339("2026-03-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::tokio(start);
        assert_eq!(clock.now(), start);
        tokio::time::advance(Duration::from_secs(7 * 24 * 3600)).await;
        assert_eq!(clock.now(), start + chrono::Duration::days(7));
        let target = start + chrono::Duration::days(8);
        clock.sleep_until(target).await;
        assert_eq!(clock.now(), target);
    }
}
