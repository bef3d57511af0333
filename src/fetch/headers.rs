//! Reading the response headers the scheduler and parser act on: `Retry-After`,
//! `Cache-Control: max-age`, `Expires` and `Content-Type`.
//!
//! Pure functions over header text, so the odd forms servers send are tested without a server.

use std::time::{Duration, SystemTime};

/// `Retry-After` as a delay from `now`: delta-seconds or an HTTP date (a date in the past means
/// "now", zero). Anything unreadable is `None`, so the scheduler falls back to its own backoff.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `max-age` directive of a `Cache-Control` header.
pub fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        let secs = value.trim().trim_matches('"').parse::<u64>().ok()?;
        Some(Duration::from_secs(secs))
    })
}

/// `Expires` as a delay: measured from the answer's `Date` when it has one (so a server whose
/// clock is off still means what it says), else from `now`. A date in the past, or the `0` and
/// other non-dates servers send for "already expired", is zero.
pub fn expires(value: &str, date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let Ok(when) = httpdate::parse_http_date(value.trim()) else {
        return Some(Duration::ZERO);
    };
    let from = date
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or(now);
    Some(when.duration_since(from).unwrap_or(Duration::ZERO))
}

/// Splits a `Content-Type` into the media type (lowercased, no parameters) and its charset
/// (lowercased, quotes removed).
pub fn content_type(value: &str) -> (Option<String>, Option<String>) {
    let mut parts = value.split(';');
    let media = parts
        .next()
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let charset = parts.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches('"').trim();
        (!value.is_empty()).then(|| value.to_ascii_lowercase())
    });
    (media, charset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT").unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Wed, 25 Nov 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn expires_counts_from_the_servers_date_and_a_past_or_bogus_one_is_zero() {
        let now = httpdate::parse_http_date("Wed, 25 Nov 2026 10:00:00 GMT").unwrap();
        let at = "Wed, 25 Nov 2026 12:00:00 GMT";
        assert_eq!(expires(at, None, now), Some(Duration::from_secs(7200)));
        // The server's clock is an hour behind ours: its Date is what the delay counts from.
        assert_eq!(
            expires(at, Some("Wed, 25 Nov 2026 09:00:00 GMT"), now),
            Some(Duration::from_secs(3 * 3600))
        );
        assert_eq!(
            expires("Wed, 25 Nov 2026 08:00:00 GMT", None, now),
            Some(Duration::ZERO)
        );
        assert_eq!(expires("0", None, now), Some(Duration::ZERO));
    }

    #[test]
    fn max_age_is_found_among_other_directives() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age("Max-Age = 60 , must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-cache"), None);
        assert_eq!(max_age("s-maxage=30"), None);
        assert_eq!(max_age("max-age=abc"), None);
    }

    #[test]
    fn content_type_gives_a_lowercased_media_type_and_charset() {
        assert_eq!(
            content_type("Application/RSS+XML; Charset=\"ISO-8859-1\""),
            (
                Some("application/rss+xml".into()),
                Some("iso-8859-1".into())
            )
        );
        assert_eq!(content_type("text/html"), (Some("text/html".into()), None));
        assert_eq!(
            content_type("text/html; boundary=x; charset=utf-8"),
            (Some("text/html".into()), Some("utf-8".into()))
        );
        assert_eq!(content_type(""), (None, None));
    }
}
