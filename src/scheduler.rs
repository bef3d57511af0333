//! When each feed is polled next.
//!
//! Owns the timing rules: cron lines and intervals, spreading feeds that share a schedule over
//! its period (so 500 feeds on `*/30` don't all fire at :00 and :30), exponential backoff with
//! jitter for failing feeds, and the floors servers ask for (Retry-After, Cache-Control max-age).
//! Pure functions of "now" and the feed's state: the daemon loop calls them and sleeps.

use std::hash::Hasher;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use siphasher::sip::SipHasher13;

use crate::config::Schedule;

/// A failing feed is retried after 1 min, 2, 4, … and never later than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// A server's Retry-After or max-age is honoured up to this; beyond, it is more likely a
/// misconfiguration than a wish to be polled once a month.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 3600);

/// What the last poll told us about timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollTiming {
    /// Failures in a row, this poll included (0 after a success).
    pub consecutive_errors: u32,
    /// The server's Retry-After, if it sent one.
    pub retry_after: Option<Duration>,
    /// The server's Cache-Control max-age, if it sent one.
    pub max_age: Option<Duration>,
}

/// A fraction in [0, 1) fixed per feed: the same feed keeps its place in the period across
/// restarts, and different feeds spread out.
fn spread(key: &str, salt: u64) -> f64 {
    let mut h = SipHasher13::new_with_keys(0x7363_6865_6475_6c65, salt);
    h.write(key.as_bytes());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The next regular poll strictly after `now`.
pub fn next_regular(schedule: &Schedule, key: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    match schedule {
        Schedule::Every(d) => {
            // Each feed keeps a fixed phase within its interval, so feeds sharing an interval
            // (all due together at start) drift apart after their first poll and stay apart.
            // The next poll is the first tick of that phase at least half an interval ahead.
            let period = (d.as_secs() as i64).max(1);
            let phase = (spread(key, 2) * period as f64) as i64;
            let earliest = now.timestamp() + period / 2;
            let ticks = (earliest - phase).div_euclid(period) + 1;
            DateTime::from_timestamp(ticks * period + phase, 0)
                .unwrap_or(now + chrono::Duration::seconds(period))
        }
        Schedule::Cron(_, cron) => {
            let mut ticks = cron.after(&now);
            let (Some(a), Some(b)) = (ticks.next(), ticks.next()) else {
                // A cron line that never fires again (a past date): poll daily instead of never.
                return now + chrono::Duration::days(1);
            };
            let period = (b - a).num_seconds().max(1);
            // Spread over the period, but by no more than an hour: a daily schedule still means
            // "around that time".
            let window = period.min(3600);
            let offset = chrono::Duration::seconds((spread(key, 1) * window as f64) as i64);
            // The first tick whose shifted time is still ahead of us.
            cron.after(&(now - offset))
                .next()
                .map(|t| t + offset)
                .unwrap_or(a + offset)
        }
    }
}

/// How long a feed that failed `errors` times in a row waits: doubling from a minute, capped at
/// 24 h, with ±20% jitter so feeds of one broken host don't retry in lockstep.
pub fn backoff(errors: u32, key: &str) -> Duration {
    if errors == 0 {
        return Duration::ZERO;
    }
    let exp = FIRST_BACKOFF.as_secs_f64() * 2f64.powi(errors.saturating_sub(1).min(20) as i32);
    let capped = exp.min(MAX_BACKOFF.as_secs_f64());
    let jitter = 0.8 + 0.4 * spread(key, errors as u64 + 7);
    Duration::from_secs_f64((capped * jitter).min(MAX_BACKOFF.as_secs_f64()))
}

/// When to poll next after a poll at `now`.
pub fn next_due(
    schedule: &Schedule,
    key: &str,
    now: DateTime<Utc>,
    timing: PollTiming,
) -> DateTime<Utc> {
    let mut due = next_regular(schedule, key, now);
    let floor =
        |d: Duration| now + chrono::Duration::from_std(d.min(MAX_SERVER_DELAY)).unwrap_or_default();
    if timing.consecutive_errors > 0 {
        // A failing feed is retried on its backoff, even before its next regular tick.
        due = floor(backoff(timing.consecutive_errors, key));
    }
    if let Some(r) = timing.retry_after {
        due = due.max(floor(r));
    }
    if let Some(m) = timing.max_age {
        due = due.max(floor(m));
    }
    due
}

pub fn from_unix(ts: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(ts, 0).single().unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn feeds_sharing_a_cron_line_are_spread_over_its_period() {
        let s = Schedule::parse_cron("*/30 * * * *").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let mut minutes: Vec<i64> = (0..50)
            .map(|i| (next_regular(&s, &format!("feed-{i}"), now) - now).num_minutes())
            .collect();
        assert!(minutes.iter().all(|m| (0..=30).contains(m)), "{minutes:?}");
        minutes.sort();
        minutes.dedup();
        assert!(
            minutes.len() > 10,
            "50 feeds should not share a handful of minutes: {minutes:?}"
        );
    }

    #[test]
    fn a_feed_keeps_its_place_in_the_period_and_is_always_due_in_the_future() {
        let s = Schedule::parse_cron("0 * * * *").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let first = next_regular(&s, "feed", now);
        assert!(first > now);
        let second = next_regular(&s, "feed", first);
        assert_eq!((second - first).num_minutes(), 60);
    }

    #[test]
    fn an_interval_schedule_polls_once_per_interval_at_a_place_of_its_own() {
        let s = Schedule::parse_interval("15m").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let first = next_regular(&s, "x", now);
        assert!(first - now >= chrono::Duration::seconds(450), "{first}");
        assert!(first - now <= chrono::Duration::seconds(1350), "{first}");
        let second = next_regular(&s, "x", first);
        assert_eq!((second - first).num_minutes(), 15);
        // Fifty feeds polled together at start are spread over the interval afterwards.
        let mut seconds: Vec<i64> = (0..50)
            .map(|i| next_regular(&s, &format!("feed-{i}"), now).timestamp() % 900)
            .collect();
        seconds.sort();
        seconds.dedup();
        assert!(seconds.len() > 40, "{seconds:?}");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_a_day() {
        let one = backoff(1, "f").as_secs();
        let three = backoff(3, "f").as_secs();
        assert!((48..=72).contains(&one), "{one}");
        assert!((192..=288).contains(&three), "{three}");
        assert!(backoff(40, "f") <= MAX_BACKOFF);
        assert!(backoff(40, "f") >= Duration::from_secs(19 * 3600));
    }

    #[test]
    fn a_failing_feed_is_retried_on_its_backoff_not_its_daily_schedule() {
        let s = Schedule::parse_cron("0 6 * * *").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let due = next_due(
            &s,
            "f",
            now,
            PollTiming {
                consecutive_errors: 1,
                ..Default::default()
            },
        );
        assert!((due - now).num_seconds() <= 72, "{due}");
    }

    #[test]
    fn retry_after_and_max_age_push_the_next_poll_back() {
        let s = Schedule::parse_interval("5m").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let due = next_due(
            &s,
            "f",
            now,
            PollTiming {
                consecutive_errors: 1,
                retry_after: Some(Duration::from_secs(3600)),
                max_age: None,
            },
        );
        assert_eq!(due, at("2026-01-01T11:00:00Z"));
        let due = next_due(
            &s,
            "f",
            now,
            PollTiming {
                max_age: Some(Duration::from_secs(900)),
                ..Default::default()
            },
        );
        assert_eq!(due, at("2026-01-01T10:15:00Z"));
    }
}
