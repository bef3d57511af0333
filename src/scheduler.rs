//! When each feed is polled next, and why.
//!
//! Owns the timing rules: cron lines and intervals, spreading feeds that share a schedule over
//! its period (so 500 feeds on `*/30` don't all fire at :00 and :30), the adaptive interval that
//! follows a feed's publish rate ([`Rate`]) within the config's `min_interval`/`max_interval`,
//! the feed's own hints (`<ttl>`, `sy:updatePeriod`, `skipHours`/`skipDays`), exponential
//! backoff with jitter for failing feeds, and the floors servers ask for (Retry-After,
//! Cache-Control max-age, Expires). A configured cron line wins over the rate and the feed's
//! hints. Pure functions of "now" and the feed's state: the daemon loop calls them with its
//! clock's time and sleeps; each answer carries its [`DueReason`], stored with the feed and
//! shown by `feedwatch feeds`.

use std::hash::Hasher;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use siphasher::sip::SipHasher13;

use crate::config::Schedule;
use crate::feed::hints::Hints;

/// A failing feed is retried after 1 min, 2, 4, … and never later than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
const FIRST_BACKOFF: Duration = Duration::from_secs(60);
/// A server's Retry-After or max-age, or a feed's ttl, is honoured up to this; beyond, it is
/// more likely a misconfiguration than a wish to be polled once a month.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 3600);
/// Posting times closer than this are one post (a batch, or an archive stamped at once).
const SAME_POST: i64 = 60;
/// The posts a rate is measured over: the most recent ones.
const RATE_POSTS: i64 = 20;
/// Dates this far ahead of now are not believed.
const FUTURE_SLACK: i64 = 600;

/// Why a feed is due when it is: stored with the feed, shown by `feedwatch feeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueReason {
    /// The configured interval: the feed's publish rate is not known yet, or it does not adapt.
    Interval,
    /// The configured cron line.
    Cron,
    /// Half the feed's typical gap between posts.
    Rate,
    /// The publish rate asked for more often than `min_interval`.
    MinInterval,
    /// The publish rate asked for less often than `max_interval`.
    MaxInterval,
    /// The feed's `<ttl>`.
    Ttl,
    /// The feed's `sy:updatePeriod`/`sy:updateFrequency`.
    UpdatePeriod,
    /// Moved past an hour the feed's `<skipHours>` names.
    SkipHours,
    /// Moved past a day the feed's `<skipDays>` names.
    SkipDays,
    /// The server's `Cache-Control: max-age`.
    CacheControl,
    /// The server's `Expires`.
    Expires,
    /// The server's `Retry-After`.
    RetryAfter,
    /// Failed polls in a row: backing off.
    Backoff,
    /// Made due at once by `feedwatch feeds reset`.
    Reset,
}

impl DueReason {
    pub const ALL: [DueReason; 14] = [
        DueReason::Interval,
        DueReason::Cron,
        DueReason::Rate,
        DueReason::MinInterval,
        DueReason::MaxInterval,
        DueReason::Ttl,
        DueReason::UpdatePeriod,
        DueReason::SkipHours,
        DueReason::SkipDays,
        DueReason::CacheControl,
        DueReason::Expires,
        DueReason::RetryAfter,
        DueReason::Backoff,
        DueReason::Reset,
    ];

    /// The stored and shown spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DueReason::Interval => "interval",
            DueReason::Cron => "cron",
            DueReason::Rate => "rate",
            DueReason::MinInterval => "min-interval",
            DueReason::MaxInterval => "max-interval",
            DueReason::Ttl => "ttl",
            DueReason::UpdatePeriod => "update-period",
            DueReason::SkipHours => "skip-hours",
            DueReason::SkipDays => "skip-days",
            DueReason::CacheControl => "cache-control",
            DueReason::Expires => "expires",
            DueReason::RetryAfter => "retry-after",
            DueReason::Backoff => "backoff",
            DueReason::Reset => "reset",
        }
    }

    /// The stored spelling read back; `None` for one this version does not know.
    pub fn parse(text: &str) -> Option<DueReason> {
        DueReason::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for DueReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bounds an adaptive interval moves within (`min_interval`, `max_interval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: Duration,
    pub max: Duration,
}

/// A feed's recent publishing: `posts` distinct posting times, the oldest of them at `since`
/// (unix seconds). Stored with the feed between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub since: i64,
    pub posts: i64,
}

impl Rate {
    /// The typical gap between posts as of `now`: the time from the oldest post to now over
    /// the posts after it, so a feed that falls silent is seen to slow down. `None` with fewer
    /// than two posts.
    pub fn gap(&self, now: i64) -> Option<Duration> {
        if self.posts < 2 {
            return None;
        }
        let span = (now - self.since).max(0);
        Some(Duration::from_secs(
            u64::try_from(span / (self.posts - 1)).unwrap_or(0),
        ))
    }

    /// The rate the items' dates (unix seconds) tell, when they can be believed: dates ahead of
    /// now are dropped; posts within a minute of each other are one (a batch, or an archive
    /// stamped at once); and a feed that gives one date to most of its items (the time it was
    /// built, or republished) tells nothing. `None` then, or with fewer than two posts: the
    /// first-seen times ([`Rate::saw_new`]) are used instead.
    pub fn from_dates(dates: impl IntoIterator<Item = i64>, now: i64) -> Option<Rate> {
        let mut dates: Vec<i64> = dates.into_iter().collect();
        let total = dates.len();
        dates.retain(|&d| d <= now + FUTURE_SLACK);
        if dates.len() * 2 < total {
            return None;
        }
        dates.sort_unstable_by(|a, b| b.cmp(a));
        let mut posts: Vec<i64> = Vec::new();
        let (mut run, mut longest) = (0usize, 0usize);
        for d in dates.iter().copied() {
            match posts.last() {
                Some(&last) if last - d < SAME_POST => run += 1,
                _ => {
                    posts.push(d);
                    run = 1;
                }
            }
            longest = longest.max(run);
        }
        if dates.len() >= 3 && longest * 2 >= dates.len() {
            return None;
        }
        posts.truncate(RATE_POSTS as usize);
        let since = *posts.last()?;
        (posts.len() >= 2).then_some(Rate {
            since,
            posts: posts.len() as i64,
        })
    }

    /// One more post seen first at `now` (a poll that found new items), for a feed whose dates
    /// cannot be believed. However many items the poll found, it is one post: a feed that
    /// republishes its whole archive does not look busy. Past [`RATE_POSTS`] the older half is
    /// forgotten, keeping the gap.
    pub fn saw_new(prev: Option<Rate>, now: i64) -> Rate {
        let Some(r) = prev.filter(|r| r.posts >= 1 && r.since <= now) else {
            return Rate {
                since: now,
                posts: 1,
            };
        };
        let mut next = Rate {
            since: r.since,
            posts: r.posts + 1,
        };
        if next.posts > RATE_POSTS {
            let gap = (now - next.since) / (next.posts - 1);
            next.posts = RATE_POSTS / 2;
            next.since = now - gap * (next.posts - 1);
        }
        next
    }
}

/// What the last poll told us about timing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollTiming {
    /// Failures in a row, this poll included (0 after a success).
    pub consecutive_errors: u32,
    /// The server's Retry-After, if it sent one.
    pub retry_after: Option<Duration>,
    /// The server's Cache-Control max-age, if it sent one.
    pub max_age: Option<Duration>,
    /// The server's Expires (as a delay), if it sent one.
    pub expires: Option<Duration>,
    /// The feed's own hints, from this poll or (after a 304 or an error) the last one read.
    pub hints: Hints,
    /// The feed's publish rate, when known.
    pub rate: Option<Rate>,
}

/// When a feed is due next, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<Utc>,
    pub reason: DueReason,
    /// The interval the reason stands for (the rate's interval, the ttl, the backoff, …).
    pub interval: Duration,
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

/// The interval a feed's publish rate asks for: half its typical gap between posts (a post
/// waits a quarter of a gap on average), within `bounds`; the configured `base` while the rate
/// is unknown. A feed seen to post once and silent since has a gap at least that silence: once
/// half of it is longer than `base`, that is the interval (so a feed that never changes slows
/// to `max_interval`).
pub fn adaptive_interval(
    base: Duration,
    bounds: Bounds,
    rate: Option<Rate>,
    now: i64,
) -> (Duration, DueReason) {
    let want = rate.and_then(|r| match r.gap(now) {
        Some(gap) => Some(gap / 2),
        None if r.posts == 1 => {
            let silence = Duration::from_secs(u64::try_from(now - r.since).unwrap_or(0));
            Some(silence / 2).filter(|w| *w > base)
        }
        None => None,
    });
    let Some(want) = want else {
        return (
            base.clamp(bounds.min, bounds.max.max(bounds.min)),
            DueReason::Interval,
        );
    };
    if want < bounds.min {
        (bounds.min, DueReason::MinInterval)
    } else if want > bounds.max {
        (bounds.max.max(bounds.min), DueReason::MaxInterval)
    } else {
        (want, DueReason::Rate)
    }
}

fn period_of(schedule: &Schedule, now: DateTime<Utc>) -> Duration {
    match schedule {
        Schedule::Every(d) => *d,
        Schedule::Cron(_, cron) => {
            let mut ticks = cron.after(&now);
            match (ticks.next(), ticks.next()) {
                (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::ZERO),
                _ => Duration::from_secs(86_400),
            }
        }
    }
}

/// When to poll next after a poll at `now`. `adaptive` is `None` for a feed that keeps its
/// configured schedule (a cron line, or `adaptive = false`): its feed hints are not read then,
/// the server's floors and backoff still are.
pub fn next_due(
    schedule: &Schedule,
    adaptive: Option<Bounds>,
    key: &str,
    now: DateTime<Utc>,
    timing: PollTiming,
) -> Due {
    let after = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or_default();
    let mut due = match (schedule, adaptive) {
        (Schedule::Every(base), Some(bounds)) => {
            let (interval, reason) = adaptive_interval(*base, bounds, timing.rate, now.timestamp());
            // A steady interval (the configured one, a bound) keeps the feed's place in its
            // period, as a fixed interval does; one that follows the rate moves a little at
            // each poll, and a place in a period that moves jumps about: it is simply added.
            let at = if reason == DueReason::Rate {
                after(interval)
            } else {
                next_regular(&Schedule::Every(interval), key, now)
            };
            // Never sooner than min_interval nor later than max_interval, whatever the feed's
            // place in its period (a feed moving between the rate and a bound changes period).
            let at = at
                .max(after(bounds.min))
                .min(after(bounds.max.max(bounds.min)));
            Due {
                at,
                reason,
                interval,
            }
        }
        (Schedule::Every(_), None) => Due {
            at: next_regular(schedule, key, now),
            reason: DueReason::Interval,
            interval: period_of(schedule, now),
        },
        (Schedule::Cron(..), _) => Due {
            at: next_regular(schedule, key, now),
            reason: DueReason::Cron,
            interval: period_of(schedule, now),
        },
    };
    let adapts = adaptive.is_some() && matches!(schedule, Schedule::Every(_));
    if timing.consecutive_errors > 0 {
        // A failing feed is retried on its backoff, even before its next regular tick.
        let b = backoff(timing.consecutive_errors, key);
        due = Due {
            at: after(b),
            reason: DueReason::Backoff,
            interval: b,
        };
    }
    // Each floor pushes the poll back to at least its delay from now.
    let mut floor = |delay: Option<Duration>, reason: DueReason| {
        if let Some(d) = delay.map(|d| d.min(MAX_SERVER_DELAY))
            && after(d) > due.at
        {
            due = Due {
                at: after(d),
                reason,
                interval: d,
            };
        }
    };
    if adapts && timing.consecutive_errors == 0 {
        floor(timing.hints.ttl, DueReason::Ttl);
        floor(timing.hints.update_period, DueReason::UpdatePeriod);
    }
    floor(timing.retry_after, DueReason::RetryAfter);
    match (timing.max_age, timing.expires) {
        (Some(m), _) => floor(Some(m), DueReason::CacheControl),
        (None, e) => floor(e, DueReason::Expires),
    }
    if adapts {
        skip(&mut due, timing.hints);
    }
    due
}

/// Moves `due` past the hours (GMT) and days the feed asks not to be polled in.
fn skip(due: &mut Due, hints: Hints) {
    if hints.skip_hours == 0 && hints.skip_days == 0 {
        return;
    }
    // A week of hours at most: the hints are never "every hour" or "every day" (see `hints`).
    for _ in 0..24 * 8 {
        let day_skipped = hints.skip_days & (1 << due.at.weekday().num_days_from_monday()) != 0;
        let hour_skipped = hints.skip_hours & (1 << due.at.hour()) != 0;
        if !day_skipped && !hour_skipped {
            return;
        }
        due.reason = if day_skipped {
            DueReason::SkipDays
        } else {
            DueReason::SkipHours
        };
        let hour_start = due
            .at
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(due.at);
        due.at = hour_start + chrono::Duration::hours(1);
    }
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
            None,
            "f",
            now,
            PollTiming {
                consecutive_errors: 1,
                ..Default::default()
            },
        );
        assert!((due.at - now).num_seconds() <= 72, "{due:?}");
        assert_eq!(due.reason, DueReason::Backoff);
    }

    #[test]
    fn retry_after_and_max_age_push_the_next_poll_back() {
        let s = Schedule::parse_interval("5m").unwrap();
        let now = at("2026-01-01T10:00:00Z");
        let due = next_due(
            &s,
            None,
            "f",
            now,
            PollTiming {
                consecutive_errors: 1,
                retry_after: Some(Duration::from_secs(3600)),
                ..Default::default()
            },
        );
        assert_eq!(
            (due.at, due.reason),
            (at("2026-01-01T11:00:00Z"), DueReason::RetryAfter)
        );
        let due = next_due(
            &s,
            None,
            "f",
            now,
            PollTiming {
                max_age: Some(Duration::from_secs(900)),
                ..Default::default()
            },
        );
        assert_eq!(
            (due.at, due.reason),
            (at("2026-01-01T10:15:00Z"), DueReason::CacheControl)
        );
        // Expires counts only without a max-age.
        let due = next_due(
            &s,
            None,
            "f",
            now,
            PollTiming {
                expires: Some(Duration::from_secs(1200)),
                ..Default::default()
            },
        );
        assert_eq!(
            (due.at, due.reason),
            (at("2026-01-01T10:20:00Z"), DueReason::Expires)
        );
    }

    const HOUR: i64 = 3600;
    const BOUNDS: Bounds = Bounds {
        min: Duration::from_secs(600),
        max: Duration::from_secs(6 * 3600),
    };

    fn adaptive(timing: PollTiming, now: DateTime<Utc>) -> Due {
        let s = Schedule::parse_interval("30m").unwrap();
        next_due(&s, Some(BOUNDS), "feed", now, timing)
    }

    fn rated(rate: Option<Rate>) -> PollTiming {
        PollTiming {
            rate,
            ..Default::default()
        }
    }

    #[test]
    fn an_hourly_feed_is_polled_more_often_than_a_weekly_one_within_the_bounds() {
        let now = at("2026-01-01T10:00:00Z");
        let t = now.timestamp();
        let hourly = Rate::from_dates((1..=20).map(|i| t - i * HOUR), t).unwrap();
        let weekly = Rate::from_dates((1..=10).map(|i| t - i * 7 * 24 * HOUR), t).unwrap();
        let busy = Rate::from_dates((1..=20).map(|i| t - i * 120), t).unwrap();
        let h = adaptive(rated(Some(hourly)), now);
        let w = adaptive(rated(Some(weekly)), now);
        let b = adaptive(rated(Some(busy)), now);
        assert_eq!((h.reason, h.interval.as_secs()), (DueReason::Rate, 1894));
        assert_eq!((w.reason, w.interval), (DueReason::MaxInterval, BOUNDS.max));
        assert_eq!((b.reason, b.interval), (DueReason::MinInterval, BOUNDS.min));
        // Unknown rate: the configured interval.
        let u = adaptive(rated(None), now);
        assert_eq!(
            (u.reason, u.interval.as_secs()),
            (DueReason::Interval, 1800)
        );
        // Polled on those intervals, wherever each feed's place in the period falls.
        for d in [h, w, b, u] {
            let ahead = (d.at - now).to_std().unwrap();
            assert!(
                ahead >= d.interval / 2 && ahead <= d.interval * 3 / 2,
                "{d:?}"
            );
        }
    }

    #[test]
    fn a_feed_whose_rate_hovers_at_a_bound_is_never_polled_past_it() {
        let mut now = at("2026-01-01T10:00:00Z");
        for i in 0..200 {
            let t = now.timestamp();
            // Posts 18 or 22 minutes apart by turns: the rate asks for 9 minutes (under the
            // bound: 10) or 11 (the rate itself).
            let gap = if i % 2 == 0 { 18 * 60 } else { 22 * 60 };
            let rate = Rate::from_dates((1..=20).map(|k| t - k * gap + gap), t);
            let d = adaptive(rated(rate), now);
            assert!(
                d.at - now >= chrono::Duration::minutes(10),
                "poll {i}: {:?} after {now}",
                d
            );
            now = d.at;
        }
        // And never later than max_interval (6 h) when it hovers there (11 or 13 hours).
        for i in 0..200 {
            let t = now.timestamp();
            let gap = if i % 2 == 0 { 11 * 3600 } else { 13 * 3600 };
            let rate = Rate::from_dates((1..=20).map(|k| t - k * gap + gap), t);
            let d = adaptive(rated(rate), now);
            assert!(
                d.at - now <= chrono::Duration::hours(6),
                "poll {i}: {:?} after {now}",
                d
            );
            now = d.at;
        }
    }

    #[test]
    fn a_feed_seen_to_post_once_slows_down_as_its_silence_grows() {
        let t = at("2026-01-01T00:00:00Z").timestamp();
        let once = Some(Rate { since: t, posts: 1 });
        let base = Duration::from_secs(1800);
        let at_hour = |h: i64| adaptive_interval(base, BOUNDS, once, t + h * HOUR);
        assert_eq!(at_hour(0), (base, DueReason::Interval));
        assert_eq!(at_hour(1), (base, DueReason::Interval));
        assert_eq!(at_hour(3), (Duration::from_secs(5400), DueReason::Rate));
        assert_eq!(at_hour(24), (BOUNDS.max, DueReason::MaxInterval));
    }

    #[test]
    fn a_feed_that_falls_silent_is_polled_less_and_less() {
        let start = at("2026-01-01T10:00:00Z").timestamp();
        let r = Rate::from_dates((0..20).map(|i| start - i * HOUR), start).unwrap();
        let gap = |days: i64| r.gap(start + days * 24 * HOUR).unwrap().as_secs() as i64;
        assert_eq!(gap(0), HOUR);
        assert!(gap(1) > 2 * HOUR, "{}", gap(1));
        assert!(gap(7) > 9 * HOUR, "{}", gap(7));
    }

    #[test]
    fn an_archive_republished_at_once_or_dates_that_lie_tell_no_rate() {
        let t = at("2026-01-01T10:00:00Z").timestamp();
        // The whole archive stamped with the time it was republished.
        assert_eq!(Rate::from_dates(std::iter::repeat_n(t - 5, 200), t), None);
        // Items dated in the future.
        assert_eq!(Rate::from_dates((1..=10).map(|i| t + i * HOUR), t), None);
        // Most items carrying one date, a few their own.
        let mostly_one = std::iter::repeat_n(t, 15).chain((1..=5).map(|i| t - i * HOUR));
        assert_eq!(Rate::from_dates(mostly_one, t), None);
        // An archive republished with its own dates keeps the rate of its newest posts.
        let archive = (2..=500).map(|i| t - i * 24 * HOUR);
        let recent = (1..=20).map(|i| t - i * HOUR);
        let r = Rate::from_dates(recent.chain(archive), t).unwrap();
        assert!(r.gap(t).unwrap() < Duration::from_secs(3 * 3600), "{r:?}");
        // A batch posted at once is one post.
        let batches = (0..10).flat_map(|i| (0..5).map(move |j| t - i * 6 * HOUR - j));
        let r = Rate::from_dates(batches, t).unwrap();
        assert_eq!(r.posts, 10);
    }

    #[test]
    fn first_seen_times_count_each_poll_with_new_items_once() {
        let t = at("2026-01-01T00:00:00Z").timestamp();
        let mut r = Rate::saw_new(None, t);
        assert_eq!(r.gap(t), None);
        for i in 1..=40 {
            r = Rate::saw_new(Some(r), t + i * 2 * HOUR);
        }
        // Forty polls with news two hours apart: a two-hour gap, kept as the older half goes.
        assert!(r.posts <= RATE_POSTS, "{r:?}");
        assert_eq!(r.gap(t + 80 * HOUR), Some(Duration::from_secs(2 * 3600)));
    }

    #[test]
    fn ttl_and_update_period_hold_an_adaptive_feed_back_but_a_cron_line_wins() {
        let now = at("2026-01-01T10:00:00Z");
        let t = now.timestamp();
        let hourly = Rate::from_dates((1..=20).map(|i| t - i * HOUR), t);
        let with = |hints: Hints| PollTiming {
            rate: hourly,
            hints,
            ..Default::default()
        };
        let ttl = adaptive(
            with(Hints {
                ttl: Some(Duration::from_secs(2 * 3600)),
                ..Default::default()
            }),
            now,
        );
        assert_eq!(
            (ttl.reason, ttl.at),
            (DueReason::Ttl, at("2026-01-01T12:00:00Z"))
        );
        let sy = adaptive(
            with(Hints {
                update_period: Some(Duration::from_secs(86_400)),
                ..Default::default()
            }),
            now,
        );
        assert_eq!(
            (sy.reason, sy.at),
            (DueReason::UpdatePeriod, at("2026-01-02T10:00:00Z"))
        );
        let cron = Schedule::parse_cron("*/15 * * * *").unwrap();
        let c = next_due(
            &cron,
            Some(BOUNDS),
            "feed",
            now,
            with(Hints {
                ttl: Some(Duration::from_secs(2 * 3600)),
                skip_hours: u32::MAX >> 8,
                ..Default::default()
            }),
        );
        assert_eq!(c.reason, DueReason::Cron);
        assert!(c.at - now <= chrono::Duration::minutes(15), "{c:?}");
    }

    #[test]
    fn skip_hours_and_skip_days_move_the_poll_to_the_first_allowed_hour() {
        // A Saturday, 22:00 GMT.
        let now = at("2026-01-03T22:00:00Z");
        let t = now.timestamp();
        let hourly = Rate::from_dates((1..=20).map(|i| t - i * HOUR), t);
        let hours = (22..24).chain(0..6).fold(0u32, |m, h| m | 1 << h);
        let d = adaptive(
            PollTiming {
                rate: hourly,
                hints: Hints {
                    skip_hours: hours,
                    ..Default::default()
                },
                ..Default::default()
            },
            now,
        );
        assert_eq!(
            (d.reason, d.at),
            (DueReason::SkipHours, at("2026-01-04T06:00:00Z"))
        );
        let d = adaptive(
            PollTiming {
                rate: hourly,
                hints: Hints {
                    skip_hours: hours,
                    // Saturday and Sunday.
                    skip_days: 0b110_0000,
                    ..Default::default()
                },
                ..Default::default()
            },
            now,
        );
        assert_eq!(
            (d.reason, d.at),
            (DueReason::SkipHours, at("2026-01-05T06:00:00Z"))
        );
    }

    #[test]
    fn every_reason_reads_back_as_stored() {
        for r in DueReason::ALL {
            assert_eq!(DueReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(DueReason::parse("whim"), None);
    }
}
