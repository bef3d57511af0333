//! The configuration: `feedwatch.toml` plus every `feeds.d/*.toml` beside it.
//!
//! Owns reading, validating and resolving the TOML into plain values the other stages use
//! ([`Config`]). Every problem found is reported with the file, line and field it concerns, and
//! all problems are collected before giving up, so `feedwatch check` can list them at once.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Where the config is looked for when no `--config` or `$FEEDWATCH_CONFIG` is given.
pub const DEFAULT_PATHS: [&str; 2] = ["/etc/feedwatch/feedwatch.toml", "./feedwatch.toml"];

/// One problem in a config file, located for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file the problem is in, so `feeds.d/` mistakes are found quickly.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem has no single place (a missing file).
    pub line: usize,
    /// The dotted field name (`feed[2].schedule`), or empty when the whole file is at fault.
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in the config; shown one per line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}

/// The resolved configuration the daemon runs on.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main file, kept so SIGHUP can re-read the same place and `import-opml` knows where
    /// `feeds.d/` is.
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    pub feeds: Vec<FeedConfig>,
    pub topics: Vec<TopicConfig>,
    pub notifiers: Vec<NotifierConfig>,
    /// Per-site extraction rules for pages no general rule gets right.
    pub sites: Vec<SiteRule>,
    /// What is allowed but probably not meant (no feeds at all, a topic alerting nobody):
    /// `check` shows these and still exits 0.
    pub warnings: Vec<ConfigIssue>,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Where all state lives: a SQLite file, or a PostgreSQL database several processes share.
    pub database: crate::store::Database,
    /// How long a process holds a feed it polls or an alert it sends before another process
    /// may take it over (the holder renews it while it works; a process that dies holds its
    /// work this long).
    pub lease: Duration,
    /// Sent with every request so site owners can tell who polls them.
    pub user_agent: String,
    /// Global cap on requests in flight, so a large feed list cannot exhaust sockets.
    pub max_concurrent_fetches: usize,
    /// Cap per host, so we stay polite to one site that carries many feeds.
    pub per_host_concurrency: usize,
    /// Requests started per second to one host (0: no limit), so a feed with many new items
    /// does not have its site's pages fetched back to back.
    pub per_host_rate: u32,
    /// Loopback/private/link-local targets are refused unless this is set (SSRF guard).
    pub allow_private_addresses: bool,
    /// Where `/healthz`, `/metrics`, the web pages and the JSON API are served, if anywhere.
    pub listen: Option<SocketAddr>,
    /// The file holding the secret a request must carry (bearer token, or the password of HTTP
    /// basic auth) to read anything but `/healthz`: required when `listen` is not a loopback
    /// address, so feedwatch never serves what it knows beyond this machine to anyone who asks.
    pub api_token_file: Option<PathBuf>,
    /// How long a failed alert keeps being retried before it is marked failed.
    pub give_up_after: Duration,
    /// A feed failing for longer than this raises a "feed.failing" event.
    pub feed_failing_after: Duration,
    /// The longest one request may take, start to end, so a server that never answers costs
    /// one feed a bounded wait.
    pub fetch_timeout: Duration,
}

/// When a feed is due.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A cron line (normalised to 6 fields) and its parsed form.
    Cron(String, Box<cron::Schedule>),
    /// A fixed period between polls.
    Every(Duration),
}

impl Schedule {
    /// Parses a cron line of 5 fields (standard) or 6/7 (with seconds).
    pub fn parse_cron(line: &str) -> Result<Schedule, String> {
        let expanded = match cron_shorthand(line.trim()) {
            Some(Ok(standard)) => standard,
            Some(Err(e)) => return Err(e),
            None => line,
        };
        let fields = expanded.split_whitespace().count();
        let normalised = match fields {
            5 => {
                // The standard weekday field counts Sunday as 0 (or 7); the `cron` crate counts
                // it as 1. Days are written out as names, which both read alike.
                let mut parts: Vec<&str> = expanded.split_whitespace().collect();
                check_ranges(&parts[..4], &CRON_FIELDS[1..5])?;
                let days = standard_weekdays(parts[4])?;
                parts[4] = &days;
                format!("0 {}", parts.join(" "))
            }
            6 | 7 => {
                let parts: Vec<&str> = expanded.split_whitespace().collect();
                check_ranges(&parts[..5], &CRON_FIELDS)?;
                expanded.to_string()
            }
            n => {
                return Err(format!(
                    "a cron line has 5 fields (minute hour day month weekday) or 6 with seconds; this one has {n}"
                ));
            }
        };
        let parsed: cron::Schedule = normalised
            .parse()
            .map_err(|e| format!("not a valid cron line ({e}); e.g. \"*/30 * * * *\""))?;
        Ok(Schedule::Cron(line.to_string(), Box::new(parsed)))
    }

    pub fn parse_interval(text: &str) -> Result<Schedule, String> {
        let d = humantime::parse_duration(text)
            .map_err(|e| format!("not a duration ({e}); write e.g. \"30m\" or \"2h\""))?;
        if d < Duration::from_secs(60) {
            return Err(
                "an interval under 1 minute is impolite to the feed's site; use at least \"1m\""
                    .into(),
            );
        }
        Ok(Schedule::Every(d))
    }

    /// A short text for `feedwatch feeds`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron(line, _) => format!("cron {line}"),
            Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
        }
    }
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The cron shorthands crontab knows, as the standard line each stands for; `None` when `line`
/// is not one (`@reboot` is an error: a daemon has no boot of its own to run at).
fn cron_shorthand(line: &str) -> Option<Result<&'static str, String>> {
    let rest = line.strip_prefix('@')?;
    Some(match rest.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => Ok("0 0 1 1 *"),
        "monthly" => Ok("0 0 1 * *"),
        "weekly" => Ok("0 0 * * 0"),
        "daily" | "midnight" => Ok("0 0 * * *"),
        "hourly" => Ok("0 * * * *"),
        _ => Err(format!(
            "\"{line}\" is not a cron shorthand feedwatch knows; use @hourly, @daily, @weekly, \
             @monthly or @yearly, or a cron line such as \"*/30 * * * *\""
        )),
    })
}

/// The fields of a cron line with seconds, by name and the values each takes.
const CRON_FIELDS: [(&str, u32, u32); 5] = [
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
];

/// Checks the numbers of each field against its range, so a mistake is named by its field and
/// the values it takes ("the hour field takes 0-23, not 25") rather than by the cron parser.
/// Names (JAN) and anything not a number are left to the parser.
fn check_ranges(parts: &[&str], fields: &[(&str, u32, u32)]) -> Result<(), String> {
    for (part, (name, lo, hi)) in parts.iter().zip(fields) {
        for piece in part.split(',') {
            let (range, _) = piece.split_once('/').unwrap_or((piece, ""));
            for value in range.split('-') {
                if let Ok(n) = value.parse::<u32>()
                    && !(*lo..=*hi).contains(&n)
                {
                    return Err(format!(
                        "the {name} field takes {lo}-{hi}, not {n} (in \"{part}\")"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A standard cron weekday field (0-7, Sunday 0 or 7; names; lists, ranges and steps) as the
/// list of day names it means, or `*` unchanged.
fn standard_weekdays(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_string());
    }
    let day = |s: &str| -> Result<usize, String> {
        if let Some(i) = DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(s)) {
            return Ok(i);
        }
        match s.parse::<usize>() {
            Ok(n @ 0..=7) => Ok(n % 7),
            _ => Err(format!(
                "the weekday field wants 0-7 (Sunday is 0 or 7) or SUN-SAT, not {s:?}"
            )),
        }
    };
    let mut on = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("not a step in the weekday field: {s:?}"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match range.split_once('-') {
            _ if range == "*" => (0, 6),
            Some((a, b)) => {
                // 7 closes a range as Sunday at its end ("5-7" is Friday to Sunday).
                let hi = if b == "7" { 7 } else { day(b)? };
                (day(a)?, hi)
            }
            None if step > 1 => (day(range)?, 6),
            None => (day(range)?, day(range)?),
        };
        if lo > hi {
            return Err(format!("a weekday range runs backwards: {range:?}"));
        }
        for d in (lo..=hi).step_by(step) {
            on[d % 7] = true;
        }
    }
    Ok(DAY_NAMES
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect::<Vec<_>>()
        .join(","))
}

#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// The user's name for the feed; `None` means "use the feed's own title".
    pub name: Option<String>,
    pub url: Url,
    pub schedule: Schedule,
    /// The bounds the interval adapts within, following the feed's publish rate; `None` when
    /// the schedule is kept as configured (a cron line, or `adaptive = false`).
    pub adaptive: Option<crate::scheduler::Bounds>,
    /// Free labels that topics can scope on (`tag:world`).
    pub tags: Vec<String>,
    /// Whether each item's page is fetched and extracted, or the feed's own text kept.
    pub full_article: bool,
    /// Items taken from one poll: the newest. Bounds what a huge feed costs in time and memory.
    pub max_items_per_poll: usize,
    /// Article pages fetched in one poll, and from any one host in one poll: a feed naming
    /// thousands of pages (or hosts) must not turn feedwatch into a request amplifier.
    pub max_articles_per_poll: usize,
    pub max_articles_per_host: usize,
    /// Whether the items a feed already carries at its first successful poll are alerted;
    /// when not (the default), they are stored and searchable but kept back, so adding a feed
    /// with years of items does not send years of alerts.
    pub alert_backlog: bool,
    /// Where the feed was declared, for error messages: one path shared by every feed of a
    /// file (a copy in each of 100,000 feeds was 3.6 MB held as long as the config).
    pub source: std::sync::Arc<Path>,
    /// The line of its `[[feed]]` table in `source`, for the same.
    pub source_line: usize,
}

impl FeedConfig {
    /// The key the feed is stored under: its name when given, else its URL.
    pub fn key(&self) -> String {
        // Logged and shown everywhere: a password in the URL (basic auth) must not come along.
        self.name
            .clone()
            .unwrap_or_else(|| crate::redact::url(&self.url))
    }
}

#[derive(Debug, Clone)]
pub struct TopicConfig {
    pub name: String,
    /// The query text as the user wrote it (parsed by `topics`).
    pub query: String,
    /// Names of notifiers that receive this topic's alerts.
    pub notify: Vec<String>,
    /// When set, matches are batched and sent on this schedule instead of at once.
    pub digest: Option<Schedule>,
    /// Only stories from these feeds (by name) match, when not empty.
    pub feeds: Vec<String>,
    /// Only stories from feeds with one of these tags match, when not empty.
    pub tags: Vec<String>,
    /// Stories with a shorter body (in characters) are ignored, to skip teasers.
    pub min_length: usize,
    /// Local times between which alerts are held and sent when the window ends.
    pub quiet_hours: Option<QuietHours>,
}

/// A daily window, in the machine's local time; may wrap midnight ("22:00-07:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: chrono::NaiveTime,
    pub end: chrono::NaiveTime,
}

impl QuietHours {
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let bad = || {
            format!("write quiet hours as \"HH:MM-HH:MM\" (e.g. \"22:00-07:00\"), not \"{text}\"")
        };
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        let q = QuietHours {
            start: t(a)?,
            end: t(b)?,
        };
        if q.start == q.end {
            return Err(
                "quiet hours that start when they end are empty; remove them instead".into(),
            );
        }
        Ok(q)
    }

    /// When the quiet window around `now` ends, or `None` when `now` is outside it.
    pub fn ends_after(&self, now: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let t = now.time();
        let day = now.date();
        if self.start < self.end {
            (t >= self.start && t < self.end).then(|| day.and_time(self.end))
        } else if t >= self.start {
            day.succ_opt().map(|d| d.and_time(self.end))
        } else if t < self.end {
            Some(day.and_time(self.end))
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub name: String,
    pub kind: NotifierKind,
    /// Feed-health events this notifier also receives ("feed.gone", "feed.moved",
    /// "feed.failing"); topic alerts go only where topics send them.
    pub events: Vec<String>,
}

/// The feed-health events a notifier can ask for.
pub const FEED_EVENTS: [&str; 3] = ["feed.gone", "feed.moved", "feed.failing"];

#[derive(Debug, Clone)]
pub enum NotifierKind {
    Email(EmailConfig),
    Webhook(WebhookConfig),
}

#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `smtp://host:port` (plain, or `?tls=required` for STARTTLS) or `smtps://host:port`.
    pub smtp_url: Url,
    /// The notifier's `tls` key, when given: "none", "opportunistic", "required" (or
    /// "starttls") or "implicit"; read with `smtp_url` by [`smtp_security`].
    pub tls: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub username: Option<String>,
    /// The password is read from this file at send time, never from the config itself.
    pub password_file: Option<PathBuf>,
    /// A PEM CA certificate for private mail servers.
    pub ca_file: Option<PathBuf>,
    /// How much of each article the mail carries (`article`) and the zone its times are in
    /// (`timezone`).
    pub style: crate::notify::MailStyle,
}

/// How an email notifier's connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: for a trusted local relay only.
    Plain,
    /// STARTTLS when the server offers it, plain text when it does not (or when someone in
    /// between strips the offer).
    Opportunistic,
    /// STARTTLS, or no mail.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A mistake in an email notifier's security settings: the key it concerns and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSecurityIssue {
    /// "smtp_url" or "tls".
    pub field: &'static str,
    pub message: String,
}

/// Reads how an email notifier secures its connection from `smtp_url` (its scheme and `?tls=`)
/// and the notifier's `tls` key, and refuses a login that would cross the network in the clear:
/// `with_login` (a username or password_file is set) over plain SMTP needs `tls = "none"` (or
/// `?tls=none`) said explicitly, for a trusted local relay, and is never sent opportunistically.
/// Used by `check` (through [`load`]) and by the sender itself.
pub fn smtp_security(
    url: &Url,
    tls: Option<&str>,
    with_login: bool,
) -> Result<SmtpSecurity, SmtpSecurityIssue> {
    let on = |field: &'static str, message: String| SmtpSecurityIssue { field, message };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(on(
            "smtp_url",
            "smtp_url must not carry credentials; use username and password_file".to_string(),
        ));
    }
    let scheme = url.scheme();
    let mut param = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "tls" => param = Some(v.to_string()),
            other => {
                return Err(on(
                    "smtp_url",
                    format!(
                        "smtp_url has an unknown parameter \"{other}\"; only tls= is understood"
                    ),
                ));
            }
        }
    }
    let mode = |value: &str| match (scheme, value) {
        ("smtps", "required" | "implicit") => Some(SmtpSecurity::Implicit),
        ("smtp", "none") => Some(SmtpSecurity::Plain),
        ("smtp", "required" | "starttls") => Some(SmtpSecurity::StartTls),
        ("smtp", "opportunistic") => Some(SmtpSecurity::Opportunistic),
        _ => None,
    };
    let from_url = match param.as_deref() {
        None if scheme == "smtps" => SmtpSecurity::Implicit,
        None if scheme == "smtp" => SmtpSecurity::Plain,
        None => {
            return Err(on(
                "smtp_url",
                format!("smtp_url scheme {scheme}:// is not smtp:// or smtps://"),
            ));
        }
        Some(v) => mode(v).ok_or_else(|| {
            on(
                "smtp_url",
                format!(
                    "smtp_url: tls={v} is not understood with {scheme}://; use tls=required (STARTTLS) or smtps://"
                ),
            )
        })?,
    };
    let security = match tls {
        None => from_url,
        Some(key) => {
            if !matches!(
                key,
                "none" | "opportunistic" | "required" | "starttls" | "implicit"
            ) {
                return Err(on(
                    "tls",
                    format!(
                        "tls = \"{key}\" is not understood; use \"required\" (STARTTLS), \"implicit\" (with smtps://), \"opportunistic\" or \"none\""
                    ),
                ));
            }
            let Some(from_key) = mode(key) else {
                return Err(on(
                    "tls",
                    format!(
                        "tls = \"{key}\" contradicts {scheme}:// in smtp_url; {}",
                        if scheme == "smtps" {
                            "smtps:// is always TLS: drop the tls key or write smtp://"
                        } else {
                            "implicit TLS is written smtps://host:465"
                        }
                    ),
                ));
            };
            if param.is_some() && from_key != from_url {
                return Err(on(
                    "tls",
                    format!(
                        "tls = \"{key}\" contradicts the tls= parameter of smtp_url; keep one of them"
                    ),
                ));
            }
            from_key
        }
    };
    let explicit_none = tls == Some("none") || param.as_deref() == Some("none");
    if with_login {
        match security {
            SmtpSecurity::Plain if !explicit_none => {
                return Err(on(
                    "smtp_url",
                    "smtp:// without TLS would send username and password_file in the clear; \
                     use smtps://host:465 or smtp://host:587?tls=required (STARTTLS), or say \
                     tls = \"none\" in this notifier for a trusted local relay"
                        .to_string(),
                ));
            }
            SmtpSecurity::Opportunistic => {
                return Err(on(
                    if param.is_some() { "smtp_url" } else { "tls" },
                    "opportunistic TLS falls back to plain text when STARTTLS is not offered \
                     (or is stripped on the way) and would then send username and \
                     password_file in the clear; use tls=required (STARTTLS) or smtps://"
                        .to_string(),
                ));
            }
            _ => {}
        }
    }
    Ok(security)
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: Url,
    /// The Standard Webhooks signing secret lives in this file, never in the config.
    pub secret_file: Option<PathBuf>,
    /// Extra headers sent with every request (e.g. an auth token for the receiver).
    pub headers: BTreeMap<String, String>,
    /// Body shape: "json" (design.md), "slack", "discord" or "ntfy".
    pub format: String,
}

/// A per-site extraction rule: `[[site]] host = "example.com" content = "article .body"`.
#[derive(Debug, Clone, Default)]
pub struct SiteRule {
    pub host: String,
    pub content: Option<String>,
    pub remove: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The file format as written by users. Kept separate from the resolved types above so that the
// spans (line numbers) stay here and the rest of the program never sees them.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    daemon: Option<Spanned<RawDaemon>>,
    defaults: Option<RawDefaults>,
    #[serde(default)]
    feed: Vec<Spanned<RawFeed>>,
    #[serde(default)]
    topic: Vec<Spanned<RawTopic>>,
    #[serde(default)]
    notifier: Vec<Spanned<RawNotifier>>,
    #[serde(default)]
    site: Vec<Spanned<RawSite>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFeedsFile {
    #[serde(default)]
    feed: Vec<Spanned<RawFeed>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    database: Option<Spanned<String>>,
    database_password_file: Option<PathBuf>,
    lease: Option<Spanned<String>>,
    user_agent: Option<String>,
    max_concurrent_fetches: Option<Spanned<i64>>,
    per_host_concurrency: Option<Spanned<i64>>,
    per_host_rate: Option<Spanned<i64>>,
    allow_private_addresses: Option<bool>,
    listen: Option<Spanned<String>>,
    api_token_file: Option<Spanned<PathBuf>>,
    give_up_after: Option<Spanned<String>>,
    fetch_timeout: Option<Spanned<String>>,
    feed_failing_after: Option<Spanned<String>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    schedule: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    adaptive: Option<bool>,
    min_interval: Option<Spanned<String>>,
    max_interval: Option<Spanned<String>>,
    full_article: Option<bool>,
    alert_backlog: Option<bool>,
    // The per-poll caps, here and in each `[[feed]]` (not a flattened struct: `Spanned` and
    // `deny_unknown_fields` do not survive serde's flatten).
    max_items_per_poll: Option<Spanned<i64>>,
    max_articles_per_poll: Option<Spanned<i64>>,
    max_articles_per_host: Option<Spanned<i64>>,
}

/// The interval of a feed given neither a schedule nor an interval (here or in `[defaults]`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Defaults of the bounds an adaptive interval moves within: a feed that posts every few
/// minutes is polled every 10 minutes, one that posts weekly every 6 hours.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(10 * 60);
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// A `min_interval`/`max_interval` value: a duration of at least a minute.
fn parse_bound(text: &str) -> Result<Duration, String> {
    match Schedule::parse_interval(text)? {
        Schedule::Every(d) => Ok(d),
        Schedule::Cron(..) => Err("not a duration".into()),
    }
}

/// Defaults of the per-poll caps: the newest 2,000 items (a daily feed with years of items
/// still gives all that is new), 100 article pages, 50 of them from one host.
pub const DEFAULT_MAX_ITEMS_PER_POLL: usize = 2000;
pub const DEFAULT_MAX_ARTICLES_PER_POLL: usize = 100;
pub const DEFAULT_MAX_ARTICLES_PER_HOST: usize = 50;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Option<String>,
    url: Spanned<String>,
    schedule: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    adaptive: Option<bool>,
    min_interval: Option<Spanned<String>>,
    max_interval: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
    full_article: Option<bool>,
    alert_backlog: Option<bool>,
    max_items_per_poll: Option<Spanned<i64>>,
    max_articles_per_poll: Option<Spanned<i64>>,
    max_articles_per_host: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: Spanned<String>,
    query: Spanned<String>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
    digest: Option<Spanned<String>>,
    #[serde(default)]
    feeds: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    min_length: Option<usize>,
    quiet_hours: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifier {
    name: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    // email
    smtp_url: Option<Spanned<String>>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    tls: Option<Spanned<String>>,
    article: Option<Spanned<toml::Value>>,
    timezone: Option<Spanned<String>>,
    // webhook
    url: Option<Spanned<String>>,
    secret_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    format: Option<Spanned<String>>,
    #[serde(default)]
    events: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    host: String,
    content: Option<String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// Turns byte offsets into line numbers for one file's text.
struct Lines<'a> {
    file: &'a Path,
    /// `file`, once, for the feeds declared in it to share.
    shared: std::sync::Arc<Path>,
    text: &'a str,
    /// Where each newline stands, found once: a file of thousands of feeds asks for the line
    /// of each, and counting from the start every time cost the square of the file's size.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(file: &'a Path, text: &'a str) -> Lines<'a> {
        let newlines = text
            .bytes()
            .enumerate()
            .filter_map(|(i, b)| (b == b'\n').then_some(i))
            .collect();
        Lines {
            file,
            shared: std::sync::Arc::from(file),
            text,
            newlines,
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }

    fn issue(
        &self,
        offset: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigIssue {
        ConfigIssue {
            file: self.file.to_path_buf(),
            line: self.line_of(offset),
            field: field.into(),
            message: message.into(),
        }
    }

    fn parse_error(&self, e: &toml::de::Error) -> ConfigIssue {
        let line = e.span().map(|s| self.line_of(s.start)).unwrap_or(0);
        // toml's own message repeats the location in a multi-line form; keep its first line.
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        ConfigIssue {
            file: self.file.to_path_buf(),
            line,
            field: String::new(),
            message,
        }
    }
}

/// Decodes one config file, reporting every unknown key, not only the first: decoding stops at
/// an unknown key, so each one is reported, blanked out with spaces (every other value keeps
/// its place, so the spans read later still point into the file as written) and decoding is
/// tried again. Any other error ends decoding.
fn decode<T: serde::de::DeserializeOwned>(
    lines: &Lines,
    issues: &mut Vec<ConfigIssue>,
) -> Option<T> {
    let mut text = std::borrow::Cow::Borrowed(lines.text);
    // Each unknown key costs a decoding of the whole file: past a few the user has enough to
    // fix (200 of them in a 3 MB file once took 23 s, on every reload too). A big file gets
    // fewer tries, so the decodings stay within a fixed number of bytes.
    let tries = (DECODE_BUDGET / lines.text.len().max(1)).clamp(1, MAX_UNKNOWN_KEYS + 1);
    for _ in 0..tries {
        let e = match toml::from_str::<T>(&text) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        issues.push(lines.parse_error(&e));
        let span = e
            .span()
            .filter(|_| e.message().starts_with("unknown field"))?;
        let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let end = text[span.start..]
            .find('\n')
            .map_or(text.len(), |i| span.start + i);
        let mut blanked = text.into_owned();
        let spaces = " ".repeat(blanked[start..end].len());
        blanked.replace_range(start..end, &spaces);
        text = std::borrow::Cow::Owned(blanked);
    }
    issues.push(ConfigIssue {
        file: lines.file.to_path_buf(),
        line: 0,
        field: String::new(),
        message: format!(
            "more unknown keys than the {} above; fix these and run check again for the rest",
            tries
        ),
    });
    None
}

/// How many unknown keys of one file are reported before `check` stops reading it.
const MAX_UNKNOWN_KEYS: usize = 10;

/// How many bytes of one file are decoded again for its unknown keys, at most: four times the
/// largest file.
const DECODE_BUDGET: usize = 4 * MAX_FILE_BYTES as usize;

/// The largest config file (the main one or one in `feeds.d/`) read, in bytes: some 50,000 feeds.
/// Every load (`check`, the daemon's start and each reload) parses every file whole.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

enum ReadError {
    TooLarge,
    Io(std::io::Error),
}

/// A config file's text, refused past [`MAX_FILE_BYTES`] without reading further (a device or
/// a runaway file names no size up front).
fn read_file(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    String::from_utf8(bytes)
        .map_err(|_| ReadError::Io(std::io::Error::other("the file is not valid UTF-8")))
}

fn too_large(path: &Path) -> ConfigIssue {
    ConfigIssue {
        file: path.to_path_buf(),
        line: 0,
        field: String::new(),
        message: format!(
            "the file is larger than {} MiB, the most a config file may be; put the feeds in \
             several files under feeds.d/",
            MAX_FILE_BYTES >> 20
        ),
    }
}

/// Where the config is: `--config`, else `$FEEDWATCH_CONFIG` (both via clap), else the first
/// of [`DEFAULT_PATHS`] that exists.
pub fn locate(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    for candidate in DEFAULT_PATHS {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    PathBuf::from(DEFAULT_PATHS[1])
}

/// The default database: `$STATE_DIRECTORY/feedwatch.db` under systemd, else `./feedwatch.db`.
fn default_database() -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several colon-separated directories; the first is ours.
        Some(dirs) => {
            let first = dirs
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap_or(".")
                .to_string();
            PathBuf::from(first).join("feedwatch.db")
        }
        None => PathBuf::from("./feedwatch.db"),
    }
}

/// Reads and validates the config at `path` and every `feeds.d/*.toml` beside it.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_with(path, &[])
}

/// Loads the config as if the `extra` files (a path in `feeds.d/` and its text) were there too:
/// how `import-opml` checks what it would write before it writes anything.
pub fn load_with(path: &Path, extra: &[(PathBuf, String)]) -> Result<Config, ConfigError> {
    let text = match read_file(path) {
        Ok(t) => t,
        Err(ReadError::TooLarge) => {
            return Err(ConfigError {
                issues: vec![too_large(path)],
            });
        }
        Err(ReadError::Io(e)) => {
            let message = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no config file here (feedwatch looks at --config, then $FEEDWATCH_CONFIG, \
                     then {}); pass --config PATH, or start from the example \
                     (config/feedwatch.example.toml in the source, \
                     /usr/share/doc/feedwatch/examples/feedwatch.toml from the package)",
                    DEFAULT_PATHS.join(", then ")
                )
            } else {
                format!("cannot read the config file ({e}); check its permissions")
            };
            return Err(ConfigError {
                issues: vec![ConfigIssue {
                    file: path.to_path_buf(),
                    line: 0,
                    field: String::new(),
                    message,
                }],
            });
        }
    };
    from_text(path, &text, extra)
}

/// Validates `text` as the main config file at `path` (with the `feeds.d/` beside it and the
/// `extra` files, as [`load_with`] reads them): the same checks as [`load`], on text already
/// read. The fuzz target for config files drives this (see [`crate::fuzz`]).
pub fn from_text(
    path: &Path,
    text: &str,
    extra: &[(PathBuf, String)],
) -> Result<Config, ConfigError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ConfigError {
            issues: vec![too_large(path)],
        });
    }
    let mut issues = Vec::new();
    let config = parse_main(path, text, extra, &mut issues);
    if issues.is_empty()
        && let Some(config) = config
    {
        return Ok(config);
    }
    Err(ConfigError { issues })
}

fn parse_main(
    path: &Path,
    text: &str,
    extra: &[(PathBuf, String)],
    issues: &mut Vec<ConfigIssue>,
) -> Option<Config> {
    let lines = Lines::new(path, text);
    let Some(raw) = decode::<RawFile>(&lines, issues) else {
        // Still read feeds.d so one run of `check` shows every broken file.
        let _ = read_feeds_dir(path, &RawDefaults::default(), extra, issues);
        return None;
    };

    let daemon = resolve_daemon(&lines, raw.daemon, issues);
    let defaults = raw.defaults.unwrap_or_default();
    for (field, value) in [
        ("defaults.schedule", &defaults.schedule),
        ("defaults.interval", &defaults.interval),
    ] {
        if let Some(v) = value {
            let parsed = if field.ends_with("schedule") {
                Schedule::parse_cron(v.get_ref())
            } else {
                Schedule::parse_interval(v.get_ref())
            };
            if let Err(m) = parsed {
                issues.push(lines.issue(v.span().start, field, m));
            }
        }
    }
    let mut bounds = [DEFAULT_MIN_INTERVAL, DEFAULT_MAX_INTERVAL];
    for (slot, (field, value)) in bounds.iter_mut().zip([
        ("defaults.min_interval", &defaults.min_interval),
        ("defaults.max_interval", &defaults.max_interval),
    ]) {
        if let Some(v) = value {
            match parse_bound(v.get_ref()) {
                Ok(d) => *slot = d,
                Err(m) => issues.push(lines.issue(v.span().start, field, m)),
            }
        }
    }
    if bounds[1] < bounds[0]
        && let Some(v) = defaults
            .max_interval
            .as_ref()
            .or(defaults.min_interval.as_ref())
    {
        issues.push(lines.issue(
            v.span().start,
            "defaults.max_interval",
            "max_interval is shorter than min_interval",
        ));
    }

    let mut feeds = Vec::new();
    for (i, feed) in raw.feed.into_iter().enumerate() {
        if let Some(f) = resolve_feed(&lines, i, feed, &defaults, issues) {
            feeds.push(f);
        }
    }
    feeds.extend(read_feeds_dir(path, &defaults, extra, issues));
    let mut seen = HashSet::new();
    let mut urls: std::collections::HashMap<&str, &FeedConfig> = std::collections::HashMap::new();
    for f in &feeds {
        if !seen.insert(f.key()) {
            issues.push(ConfigIssue {
                file: f.source.to_path_buf(),
                line: f.source_line,
                field: "feed.name".into(),
                message: format!(
                    "two feeds are named \"{}\"; give each a different name",
                    f.key()
                ),
            });
        }
        // The same feed twice would be polled twice and file each story under both.
        if let Some(first) = urls.insert(f.url.as_str(), f) {
            issues.push(ConfigIssue {
                file: f.source.to_path_buf(),
                line: f.source_line,
                field: "feed.url".into(),
                message: format!(
                    "{} is already the feed \"{}\" at {}:{}; remove one of them (give the \
                     other its tags)",
                    crate::redact::url(&f.url),
                    first.key(),
                    first.source.display(),
                    first.source_line
                ),
            });
            urls.insert(f.url.as_str(), first);
        }
    }
    drop(urls);
    let mut warnings = Vec::new();
    if feeds.is_empty() {
        warnings.push(ConfigIssue {
            file: path.to_path_buf(),
            line: 0,
            field: "feed".into(),
            message: format!(
                "no feeds are configured, so nothing will be polled; add [[feed]] tables here or \
                 files under {}/ (feedwatch import-opml FILE writes them)",
                feeds_dir(path).display()
            ),
        });
    }

    let mut notifiers = Vec::new();
    let mut notifier_names: HashSet<String> = HashSet::new();
    for (i, n) in raw.notifier.into_iter().enumerate() {
        let name = n.get_ref().name.clone();
        if !notifier_names.insert(name.get_ref().clone()) {
            issues.push(lines.issue(
                name.span().start,
                format!("notifier[{i}].name"),
                format!(
                    "two notifiers are named \"{}\"; give each a different name",
                    name.get_ref()
                ),
            ));
        }
        if let Some(n) = resolve_notifier(&lines, i, n, daemon.allow_private_addresses, issues) {
            notifiers.push(n);
        }
    }

    let mut topics = Vec::new();
    let mut topic_names = HashSet::new();
    for (i, t) in raw.topic.into_iter().enumerate() {
        let start = t.span().start;
        let t = t.into_inner();
        let field = |f: &str| format!("topic[{i}].{f}");
        if !topic_names.insert(t.name.get_ref().clone()) {
            issues.push(lines.issue(
                t.name.span().start,
                field("name"),
                "another topic has this name",
            ));
        }
        if let Err(e) = crate::topics::Query::parse(t.query.get_ref()) {
            issues.push(lines.issue(t.query.span().start, field("query"), e.to_string()));
        }
        if t.notify.is_empty() {
            warnings.push(lines.issue(
                t.name.span().start,
                field("notify"),
                format!(
                    "topic \"{}\" names no notifier, so its matches are recorded but never sent; \
                     add notify = [\"NAME\"] naming a [[notifier]]",
                    t.name.get_ref()
                ),
            ));
        }
        for n in &t.notify {
            if !notifier_names.contains(n.get_ref()) {
                issues.push(lines.issue(
                    n.span().start,
                    field("notify"),
                    format!(
                        "no [[notifier]] is named \"{}\"; add one or fix the name",
                        n.get_ref()
                    ),
                ));
            }
        }
        let digest = match &t.digest {
            Some(d) => match Schedule::parse_cron(d.get_ref()) {
                Ok(s) => Some(s),
                Err(m) => {
                    issues.push(lines.issue(d.span().start, field("digest"), m));
                    None
                }
            },
            None => None,
        };
        let _ = start;
        let quiet_hours = match &t.quiet_hours {
            Some(q) => match QuietHours::parse(q.get_ref()) {
                Ok(q) => Some(q),
                Err(m) => {
                    issues.push(lines.issue(q.span().start, field("quiet_hours"), m));
                    None
                }
            },
            None => None,
        };
        topics.push(TopicConfig {
            quiet_hours,
            name: t.name.into_inner(),
            query: t.query.into_inner(),
            notify: t.notify.into_iter().map(|n| n.into_inner()).collect(),
            digest,
            feeds: t.feeds,
            tags: t.tags,
            min_length: t.min_length.unwrap_or(0),
        });
    }

    let sites = raw
        .site
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let start = s.span().start;
            let s = s.into_inner();
            for sel in s.content.iter().chain(s.remove.iter()) {
                if scraper::Selector::parse(sel).is_err() {
                    issues.push(lines.issue(
                        start,
                        format!("site[{i}]"),
                        format!("\"{sel}\" is not a CSS selector"),
                    ));
                    return None;
                }
            }
            Some(SiteRule {
                host: s.host.to_ascii_lowercase(),
                content: s.content,
                remove: s.remove,
            })
        })
        .collect();

    Some(Config {
        path: path.to_path_buf(),
        daemon,
        feeds,
        topics,
        notifiers,
        sites,
        warnings,
    })
}

fn resolve_daemon(
    lines: &Lines,
    raw: Option<Spanned<RawDaemon>>,
    issues: &mut Vec<ConfigIssue>,
) -> DaemonConfig {
    let raw = raw.map(|d| d.into_inner()).unwrap_or_default();
    let positive = |v: &Option<Spanned<i64>>,
                    field: &str,
                    default: usize,
                    issues: &mut Vec<ConfigIssue>| match v {
        Some(s) if *s.get_ref() < 1 => {
            issues.push(lines.issue(s.span().start, field, "must be at least 1"));
            default
        }
        Some(s) => usize::try_from(*s.get_ref()).unwrap_or(default),
        None => default,
    };
    let max_concurrent_fetches = positive(
        &raw.max_concurrent_fetches,
        "daemon.max_concurrent_fetches",
        16,
        issues,
    );
    let per_host_concurrency = positive(
        &raw.per_host_concurrency,
        "daemon.per_host_concurrency",
        2,
        issues,
    );
    let per_host_rate = match &raw.per_host_rate {
        Some(r) if !(0..=1000).contains(r.get_ref()) => {
            issues.push(lines.issue(
                r.span().start,
                "daemon.per_host_rate",
                "requests per second to one host: a whole number from 0 (no limit) to 1000",
            ));
            5
        }
        Some(r) => *r.get_ref() as u32,
        None => 5,
    };
    let listen = raw
        .listen
        .as_ref()
        .and_then(|l| match l.get_ref().parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                issues.push(lines.issue(
                    l.span().start,
                    "daemon.listen",
                    "write an address and port, e.g. \"127.0.0.1:9090\"",
                ));
                None
            }
        });
    if let Some(tf) = &raw.api_token_file {
        match secret_readable(tf.get_ref()) {
            Err(m) => issues.push(lines.issue(tf.span().start, "daemon.api_token_file", m)),
            Ok(()) => {
                if let Ok(content) = crate::secret_file::read_to_string(tf.get_ref())
                    && content.trim().len() < 16
                {
                    issues.push(lines.issue(
                        tf.span().start,
                        "daemon.api_token_file",
                        format!(
                            "{} holds {} characters; put a secret of at least 16 in it (e.g. \
                             `head -c 24 /dev/urandom | base64 > {}`)",
                            tf.get_ref().display(),
                            content.trim().len(),
                            tf.get_ref().display()
                        ),
                    ));
                }
            }
        }
    }
    if let (Some(addr), Some(l)) = (listen, &raw.listen)
        && !addr.ip().is_loopback()
        && raw.api_token_file.is_none()
    {
        issues.push(lines.issue(
            l.span().start,
            "daemon.listen",
            format!(
                "{addr} is reachable from other machines, and the web pages and API would show \
                 your feeds, stories and alerts to anyone who asks; set api_token_file (a file \
                 holding a secret that requests must carry) or listen on 127.0.0.1"
            ),
        ));
    }
    let give_up_after = match raw.give_up_after {
        Some(g) => humantime::parse_duration(g.get_ref()).unwrap_or_else(|e| {
            issues.push(lines.issue(
                g.span().start,
                "daemon.give_up_after",
                format!("not a duration ({e}); e.g. \"48h\""),
            ));
            Duration::from_secs(48 * 3600)
        }),
        None => Duration::from_secs(48 * 3600),
    };
    let fetch_timeout = match raw.fetch_timeout {
        Some(g) => match humantime::parse_duration(g.get_ref()) {
            Ok(d) if d >= Duration::from_secs(1) => d,
            _ => {
                issues.push(lines.issue(
                    g.span().start,
                    "daemon.fetch_timeout",
                    "write a duration of at least 1s, e.g. \"30s\"",
                ));
                Duration::from_secs(30)
            }
        },
        None => Duration::from_secs(30),
    };
    let feed_failing_after = match raw.feed_failing_after {
        Some(g) => humantime::parse_duration(g.get_ref()).unwrap_or_else(|e| {
            issues.push(lines.issue(
                g.span().start,
                "daemon.feed_failing_after",
                format!("not a duration ({e}); e.g. \"24h\""),
            ));
            Duration::from_secs(24 * 3600)
        }),
        None => Duration::from_secs(24 * 3600),
    };
    // FEEDWATCH_DATABASE stands in for the file's value: to try a config written for the
    // service (its database under /var/lib) as another user, or to point one command elsewhere.
    let from_env = std::env::var("FEEDWATCH_DATABASE")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let database = match (&from_env, &raw.database) {
        (Some(d), _) => crate::store::Database::parse(d, raw.database_password_file.as_deref())
            .unwrap_or_else(|e| {
                issues.push(lines.issue(0, "FEEDWATCH_DATABASE (environment)", e));
                crate::store::Database::Sqlite(default_database())
            }),
        (None, Some(d)) => {
            crate::store::Database::parse(d.get_ref(), raw.database_password_file.as_deref())
                .unwrap_or_else(|e| {
                    issues.push(lines.issue(d.span().start, "daemon.database", e));
                    crate::store::Database::Sqlite(default_database())
                })
        }
        (None, None) => {
            if raw.database_password_file.is_some() {
                issues.push(lines.issue(
                    0,
                    "daemon.database_password_file",
                    "is for a postgres:// database; set database = \"postgres://…\" beside it or remove it",
                ));
            }
            crate::store::Database::Sqlite(default_database())
        }
    };
    let lease = match &raw.lease {
        Some(g) => match humantime::parse_duration(g.get_ref()) {
            Ok(d) if d >= Duration::from_secs(1) => d,
            Ok(_) => {
                issues.push(lines.issue(
                    g.span().start,
                    "daemon.lease",
                    "must be at least 1s; e.g. \"10m\"",
                ));
                Duration::from_secs(600)
            }
            Err(e) => {
                issues.push(lines.issue(
                    g.span().start,
                    "daemon.lease",
                    format!("not a duration ({e}); e.g. \"10m\""),
                ));
                Duration::from_secs(600)
            }
        },
        None => Duration::from_secs(600),
    };
    DaemonConfig {
        fetch_timeout,
        feed_failing_after,
        database,
        lease,
        user_agent: raw.user_agent.unwrap_or_else(|| {
            format!(
                "feedwatch/{} (+https://github.com/feedwatch/feedwatch)",
                env!("CARGO_PKG_VERSION")
            )
        }),
        max_concurrent_fetches,
        per_host_concurrency,
        per_host_rate,
        allow_private_addresses: raw.allow_private_addresses.unwrap_or(false),
        listen,
        api_token_file: raw.api_token_file.map(Spanned::into_inner),
        give_up_after,
    }
}

fn resolve_feed(
    lines: &Lines,
    i: usize,
    raw: Spanned<RawFeed>,
    defaults: &RawDefaults,
    issues: &mut Vec<ConfigIssue>,
) -> Option<FeedConfig> {
    let start = raw.span().start;
    let raw = raw.into_inner();
    let field = |f: &str| format!("feed[{i}].{f}");
    let url = match Url::parse(raw.url.get_ref()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        Ok(_) => {
            issues.push(lines.issue(
                raw.url.span().start,
                field("url"),
                "only http:// and https:// feeds can be polled",
            ));
            None
        }
        Err(e) => {
            issues.push(lines.issue(
                raw.url.span().start,
                field("url"),
                format!("not a URL ({e})"),
            ));
            None
        }
    };
    if raw.schedule.is_some() && raw.interval.is_some() {
        issues.push(lines.issue(
            start,
            field("interval"),
            "give either schedule or interval, not both",
        ));
    }
    let schedule = if let Some(s) = &raw.schedule {
        Schedule::parse_cron(s.get_ref())
            .map_err(|m| issues.push(lines.issue(s.span().start, field("schedule"), m)))
            .ok()
    } else if let Some(s) = &raw.interval {
        Schedule::parse_interval(s.get_ref())
            .map_err(|m| issues.push(lines.issue(s.span().start, field("interval"), m)))
            .ok()
    } else if let Some(s) = &defaults.schedule {
        Schedule::parse_cron(s.get_ref()).ok()
    } else if let Some(s) = &defaults.interval {
        Schedule::parse_interval(s.get_ref()).ok()
    } else {
        Some(Schedule::Every(DEFAULT_INTERVAL))
    };
    // The bounds of the adaptive interval: the feed's, else `[defaults]`' (whose errors are
    // reported once, at `[defaults]`).
    let mut bound = |own: &Option<Spanned<String>>,
                     default: &Option<Spanned<String>>,
                     name: &str,
                     fallback: Duration| match (own, default) {
        (Some(v), _) => parse_bound(v.get_ref()).unwrap_or_else(|m| {
            issues.push(lines.issue(v.span().start, field(name), m));
            fallback
        }),
        (None, Some(v)) => parse_bound(v.get_ref()).unwrap_or(fallback),
        (None, None) => fallback,
    };
    let min_interval = bound(
        &raw.min_interval,
        &defaults.min_interval,
        "min_interval",
        DEFAULT_MIN_INTERVAL,
    );
    let max_interval = bound(
        &raw.max_interval,
        &defaults.max_interval,
        "max_interval",
        DEFAULT_MAX_INTERVAL,
    );
    if max_interval < min_interval && (raw.min_interval.is_some() || raw.max_interval.is_some()) {
        issues.push(lines.issue(
            start,
            field("max_interval"),
            "max_interval is shorter than min_interval",
        ));
    }
    // A cron line, the feed's or (when the feed gives no interval) `[defaults]`', wins.
    let cron = raw.schedule.is_some() || (raw.interval.is_none() && defaults.schedule.is_some());
    // The adaptive keys beside the feed's own cron line would be silently ignored: say so.
    if let Some(s) = &raw.schedule {
        let named = [
            ("min_interval", raw.min_interval.is_some()),
            ("max_interval", raw.max_interval.is_some()),
            ("adaptive", raw.adaptive == Some(true)),
        ];
        if let Some((name, _)) = named.iter().find(|(_, set)| *set) {
            issues.push(lines.issue(
                s.span().start,
                field(name),
                format!(
                    "{name} applies to an interval, and this feed has a cron line (which never \
                     adapts); write interval = \"…\" instead of schedule, or remove {name}"
                ),
            ));
        }
    }
    // Bounds left at their defaults stretch to take in the configured interval: a feed written
    // `interval = "5m"` (or "1d") is not held to 10 minutes (or 6 hours) until its rate is
    // known, as it was not before intervals adapted.
    let base = match &schedule {
        Some(Schedule::Every(d)) => Some(*d),
        _ => None,
    };
    let min_interval = match (&raw.min_interval, &defaults.min_interval, base) {
        (None, None, Some(b)) => min_interval.min(b),
        _ => min_interval,
    };
    let max_interval = match (&raw.max_interval, &defaults.max_interval, base) {
        (None, None, Some(b)) => max_interval.max(b),
        _ => max_interval,
    };
    let adaptive = (!cron && raw.adaptive.or(defaults.adaptive).unwrap_or(true)).then_some(
        crate::scheduler::Bounds {
            min: min_interval,
            max: max_interval.max(min_interval),
        },
    );
    // A cap from the feed, else from `[defaults]`; at least 1.
    let mut cap = |own: &Option<Spanned<i64>>,
                   default: &Option<Spanned<i64>>,
                   name: &str,
                   fallback: usize| {
        let (value, field_name) = match (own, default) {
            (Some(v), _) => (v, field(name)),
            (None, Some(v)) => (v, format!("defaults.{name}")),
            (None, None) => return fallback,
        };
        match usize::try_from(*value.get_ref()) {
            Ok(n) if n >= 1 => n,
            _ => {
                issues.push(lines.issue(value.span().start, field_name, "must be at least 1"));
                fallback
            }
        }
    };
    let d = defaults;
    let max_items_per_poll = cap(
        &raw.max_items_per_poll,
        &d.max_items_per_poll,
        "max_items_per_poll",
        DEFAULT_MAX_ITEMS_PER_POLL,
    );
    let max_articles_per_poll = cap(
        &raw.max_articles_per_poll,
        &d.max_articles_per_poll,
        "max_articles_per_poll",
        DEFAULT_MAX_ARTICLES_PER_POLL,
    );
    let max_articles_per_host = cap(
        &raw.max_articles_per_host,
        &d.max_articles_per_host,
        "max_articles_per_host",
        DEFAULT_MAX_ARTICLES_PER_HOST,
    );
    Some(FeedConfig {
        name: raw.name.filter(|n| !n.trim().is_empty()),
        url: url?,
        schedule: schedule?,
        adaptive,
        tags: raw.tags,
        full_article: raw.full_article.or(defaults.full_article).unwrap_or(true),
        alert_backlog: raw
            .alert_backlog
            .or(defaults.alert_backlog)
            .unwrap_or(false),
        max_items_per_poll,
        max_articles_per_poll,
        max_articles_per_host,
        source: lines.shared.clone(),
        source_line: lines.line_of(start),
    })
}

fn resolve_notifier(
    lines: &Lines,
    i: usize,
    raw: Spanned<RawNotifier>,
    allow_private: bool,
    issues: &mut Vec<ConfigIssue>,
) -> Option<NotifierConfig> {
    let start = raw.span().start;
    let raw = raw.into_inner();
    let field = |f: &str| format!("notifier[{i}].{f}");
    let name = raw.name.get_ref().clone();
    let kind = match raw.kind.get_ref().as_str() {
        "email" => {
            let smtp_url = match &raw.smtp_url {
                Some(u) => match Url::parse(u.get_ref()) {
                    Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host().is_some() => {
                        Some(url)
                    }
                    _ => {
                        issues.push(lines.issue(
                            u.span().start,
                            field("smtp_url"),
                            "write smtp://host:port or smtps://host:port",
                        ));
                        None
                    }
                },
                None => {
                    issues.push(lines.issue(
                        start,
                        field("smtp_url"),
                        "an email notifier needs smtp_url",
                    ));
                    None
                }
            };
            let from = raw.from.clone();
            let not_an_address = |a: &str| a.parse::<lettre::message::Mailbox>().is_err();
            match &from {
                None => issues.push(lines.issue(
                    start,
                    field("from"),
                    "an email notifier needs a from address",
                )),
                Some(a) if not_an_address(a) => issues.push(lines.issue(
                    start,
                    field("from"),
                    format!("\"{a}\" is not an email address; write e.g. feedwatch@example.org"),
                )),
                Some(_) => {}
            }
            if raw.to.is_empty() {
                issues.push(lines.issue(
                    start,
                    field("to"),
                    "an email notifier needs at least one address in to",
                ));
            }
            for a in raw.to.iter().filter(|a| not_an_address(a)) {
                issues.push(lines.issue(
                    start,
                    field("to"),
                    format!("\"{a}\" is not an email address; write e.g. me@example.org"),
                ));
            }
            if let Some(pf) = &raw.password_file
                && let Err(m) = secret_readable(pf)
            {
                issues.push(lines.issue(start, field("password_file"), m));
            }
            let tls = raw.tls.as_ref().map(|t| t.get_ref().clone());
            if let Some(url) = &smtp_url {
                let with_login = raw.username.is_some() || raw.password_file.is_some();
                if let Err(e) = smtp_security(url, tls.as_deref(), with_login) {
                    let at = match (e.field, &raw.tls, &raw.smtp_url) {
                        ("tls", Some(t), _) => t.span().start,
                        (_, _, Some(u)) => u.span().start,
                        _ => start,
                    };
                    issues.push(lines.issue(at, field(e.field), e.message));
                }
            }
            let mut style = crate::notify::MailStyle::default();
            if let Some(a) = &raw.article {
                match a.get_ref() {
                    toml::Value::Integer(n) if *n >= 0 => {
                        style.article = crate::notify::ArticleCut::Paragraphs(
                            usize::try_from(*n).unwrap_or(usize::MAX),
                        );
                    }
                    toml::Value::String(f) if f == "full" => {
                        style.article = crate::notify::ArticleCut::Full;
                    }
                    _ => issues.push(lines.issue(
                        a.span().start,
                        field("article"),
                        "how many of the article's paragraphs a mail carries: a number (0 for \
                         none, 3 by default) or \"full\"",
                    )),
                }
            }
            if let Some(z) = &raw.timezone {
                match mail_zone(z.get_ref()) {
                    Ok(zone) => style.zone = zone,
                    Err(m) => issues.push(lines.issue(z.span().start, field("timezone"), m)),
                }
            }
            NotifierKind::Email(EmailConfig {
                style,
                smtp_url: smtp_url?,
                tls,
                from: from?,
                to: raw.to,
                username: raw.username,
                password_file: raw.password_file,
                ca_file: raw.ca_file,
            })
        }
        "webhook" => {
            let url = match &raw.url {
                Some(u) => match Url::parse(u.get_ref()) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
                    _ => {
                        issues.push(lines.issue(
                            u.span().start,
                            field("url"),
                            "write an http:// or https:// URL",
                        ));
                        None
                    }
                },
                None => {
                    issues.push(lines.issue(start, field("url"), "a webhook notifier needs url"));
                    None
                }
            };
            let format = raw
                .format
                .as_ref()
                .map(|f| f.get_ref().clone())
                .unwrap_or_else(|| "json".into());
            if !matches!(format.as_str(), "json" | "slack" | "discord" | "ntfy") {
                let at = raw.format.as_ref().map(|f| f.span().start).unwrap_or(start);
                issues.push(lines.issue(
                    at,
                    field("format"),
                    "format is one of json, slack, discord, ntfy",
                ));
            }
            for (k, v) in &raw.headers {
                if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                    || reqwest::header::HeaderValue::from_str(v).is_err()
                {
                    issues.push(lines.issue(
                        start,
                        field("headers"),
                        format!("\"{k}\" is not a valid HTTP header name and value"),
                    ));
                }
            }
            if let Some(u) = &url
                && !allow_private
                && let Some(kind) = private_host(u)
            {
                issues.push(lines.issue(
                    raw.url.as_ref().map_or(start, |u| u.span().start),
                    field("url"),
                    format!(
                        "{} is a {kind} address, and webhooks to private receivers are refused; \
                         set allow_private_addresses = true in [daemon] if the receiver is yours",
                        u.host_str().unwrap_or("")
                    ),
                ));
            }
            // The secret is read at each send (so it can be rotated); the file must be there
            // and already hold a key receivers can verify with.
            if let Some(sf) = &raw.secret_file
                && let Err(m) = secret_readable(sf.get_ref())
            {
                issues.push(lines.issue(sf.span().start, field("secret_file"), m));
            }
            if let Some(sf) = &raw.secret_file
                && let Ok(content) = crate::secret_file::read(sf.get_ref())
                && let Err(why) = crate::notify::webhook_signing_key(&content)
            {
                issues.push(lines.issue(
                    sf.span().start,
                    field("secret_file"),
                    format!("{}: {why}", sf.get_ref().display()),
                ));
            }
            NotifierKind::Webhook(WebhookConfig {
                url: url?,
                secret_file: raw.secret_file.map(Spanned::into_inner),
                headers: raw.headers,
                format,
            })
        }
        other => {
            issues.push(lines.issue(
                raw.kind.span().start,
                field("type"),
                format!("unknown notifier type \"{other}\"; use \"email\" or \"webhook\""),
            ));
            return None;
        }
    };
    let mut events = Vec::new();
    for e in raw.events {
        if FEED_EVENTS.contains(&e.get_ref().as_str()) {
            events.push(e.into_inner());
        } else {
            issues.push(lines.issue(
                e.span().start,
                field("events"),
                format!(
                    "unknown event \"{}\"; events are {}",
                    e.get_ref(),
                    FEED_EVENTS.join(", ")
                ),
            ));
        }
    }
    Some(NotifierConfig { name, kind, events })
}

/// An email notifier's `timezone`: "local" (the system's, or the `TZ` environment variable's),
/// "UTC", a fixed offset such as "+01:00", or a named zone such as "Europe/Berlin".
fn mail_zone(text: &str) -> Result<crate::notify::MailZone, String> {
    use crate::notify::MailZone;
    use chrono::Offset;
    let t = text.trim();
    if t.eq_ignore_ascii_case("local") {
        return Ok(MailZone::Local);
    }
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(MailZone::Fixed(chrono::Utc.fix()));
    }
    if let Ok(named) = t.parse::<chrono_tz::Tz>() {
        return Ok(MailZone::Named(named));
    }
    let offset = t
        .strip_prefix("UTC")
        .unwrap_or(t)
        .parse::<chrono::FixedOffset>()
        .ok();
    offset.map(MailZone::Fixed).ok_or_else(|| {
        format!(
            "\"{text}\" is not a zone feedwatch reads: write \"local\" (the system's, the default), \
             \"UTC\", an offset such as \"+01:00\" or a zone name such as \"Europe/Berlin\""
        )
    })
}

/// Whether a secret file (`password_file`, `secret_file`) can be read now, or what to do. A
/// systemd credential (`/run/credentials/…`) exists only inside the service: outside it (an
/// operator's `check`) it is not looked for; inside, it must be there.
fn secret_readable(path: &Path) -> Result<(), String> {
    let credential = path.starts_with("/run/credentials")
        || std::env::var_os("CREDENTIALS_DIRECTORY").is_some_and(|d| path.starts_with(d));
    if credential && std::env::var_os("CREDENTIALS_DIRECTORY").is_none() {
        return Ok(());
    }
    match crate::secret_file::read(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{} does not exist; create it (mode 0600, readable by the service) or fix the path",
            path.display()
        )),
        Err(e) => Err(format!(
            "{} cannot be read ({e}); make it readable by the user feedwatch runs as, or pass \
             it with systemd's LoadCredential=",
            path.display()
        )),
    }
}

/// What kind of private address a notifier URL names, when it names one outright: an IP
/// literal in a private range, or `localhost`. (Other names are judged on their resolved
/// address at each send.)
fn private_host(url: &Url) -> Option<&'static str> {
    match url.host()? {
        url::Host::Ipv4(ip) => crate::notify::private_kind(ip.into()),
        url::Host::Ipv6(ip) => crate::notify::private_kind(ip.into()),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            (d == "localhost" || d.ends_with(".localhost")).then_some("loopback")
        }
    }
}

/// Reads `feeds.d/*.toml` beside the main file, in name order.
fn read_feeds_dir(
    main: &Path,
    defaults: &RawDefaults,
    extra: &[(PathBuf, String)],
    issues: &mut Vec<ConfigIssue>,
) -> Vec<FeedConfig> {
    let dir = feeds_dir(main);
    // Each file with its text when it is one of `extra`, not yet on disk.
    let mut files: Vec<(PathBuf, Option<&str>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| (p, None))
                .collect()
        })
        .unwrap_or_default();
    files.extend(extra.iter().map(|(p, t)| (p.clone(), Some(t.as_str()))));
    files.sort();
    let mut feeds = Vec::new();
    for (path, given) in files {
        let read = match given {
            Some(t) if t.len() as u64 > MAX_FILE_BYTES => Err(ReadError::TooLarge),
            Some(t) => Ok(t.to_string()),
            None => read_file(&path),
        };
        let text = match read {
            Ok(t) => t,
            Err(ReadError::TooLarge) => {
                issues.push(too_large(&path));
                continue;
            }
            Err(ReadError::Io(e)) => {
                issues.push(ConfigIssue {
                    file: path.clone(),
                    line: 0,
                    field: String::new(),
                    message: format!("cannot read ({e})"),
                });
                continue;
            }
        };
        let lines = Lines::new(&path, &text);
        if let Some(raw) = decode::<RawFeedsFile>(&lines, issues) {
            for (i, f) in raw.feed.into_iter().enumerate() {
                if let Some(f) = resolve_feed(&lines, i, f, defaults, issues) {
                    feeds.push(f);
                }
            }
        }
    }
    feeds
}

/// The `feeds.d/` directory that belongs to the main config file.
pub fn feeds_dir(main: &Path) -> PathBuf {
    main.parent().unwrap_or(Path::new(".")).join("feeds.d")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn the_checked_in_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/feedwatch.example.toml");
        let config = load(&path).unwrap_or_else(|e| panic!("example config rejected:\n{e}"));
        assert!(
            !config.feeds.is_empty(),
            "the example should give a new user feeds to try"
        );
        assert!(!config.topics.is_empty());
        assert!(!config.notifiers.is_empty());
    }

    #[test]
    fn the_database_is_a_sqlite_path_or_a_postgres_url_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let pg = write(
            dir.path(),
            "pg.toml",
            "[daemon]\ndatabase = \"postgres://fw@127.0.0.1:5432/news\"\nlease = \"2m\"\n",
        );
        let config = load(&pg).unwrap();
        assert!(matches!(
            config.daemon.database,
            crate::store::Database::Postgres(_)
        ));
        assert_eq!(config.daemon.lease, Duration::from_secs(120));

        let other = write(
            dir.path(),
            "other.toml",
            "[daemon]\nuser_agent = \"x\"\ndatabase = \"mysql://fw@127.0.0.1/news\"\n",
        );
        let text = load(&other).unwrap_err().to_string();
        assert!(
            text.contains(":3:") && text.contains("daemon.database") && text.contains("mysql://"),
            "{text}"
        );
        assert!(
            !dir.path().join("mysql:").exists(),
            "no folder named after the scheme"
        );

        let missing = write(
            dir.path(),
            "missing.toml",
            &format!(
                "[daemon]\ndatabase = \"postgres://fw@127.0.0.1/news\"\ndatabase_password_file = \"{}\"\n",
                dir.path().join("nope").display()
            ),
        );
        let text = load(&missing).unwrap_err().to_string();
        assert!(text.contains("cannot be read"), "{text}");
    }

    #[test]
    fn every_mistake_is_reported_with_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            r#"
[[feed]]
url = "https://example.com/rss"
schedule = "*/61 * *"

[[feed]]
url = "not a url"

[[topic]]
name = "t"
query = "iraq"
notify = ["nobody"]
"#,
        );
        let err = load(&path).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.issues.len(), 3, "{text}");
        assert!(
            text.contains("feedwatch.toml:4: feed[0].schedule"),
            "{text}"
        );
        assert!(text.contains("feedwatch.toml:7: feed[1].url"), "{text}");
        assert!(
            text.contains(
                "feedwatch.toml:12: topic[0].notify: no [[notifier]] is named \"nobody\""
            ),
            "{text}"
        );
    }

    #[test]
    fn poll_caps_come_from_the_feed_then_the_defaults_and_must_be_positive() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[defaults]\nmax_items_per_poll = 500\nmax_articles_per_host = 7\n\n[[feed]]\nurl = \"https://a.example/rss\"\nmax_items_per_poll = 20\n\n[[feed]]\nurl = \"https://b.example/rss\"\n",
        );
        let config = load(&path).unwrap();
        let caps: Vec<(usize, usize, usize)> = config
            .feeds
            .iter()
            .map(|f| {
                (
                    f.max_items_per_poll,
                    f.max_articles_per_poll,
                    f.max_articles_per_host,
                )
            })
            .collect();
        assert_eq!(
            caps,
            [
                (20, DEFAULT_MAX_ARTICLES_PER_POLL, 7),
                (500, DEFAULT_MAX_ARTICLES_PER_POLL, 7)
            ]
        );
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[[feed]]\nurl = \"https://a.example/rss\"\nmax_articles_per_poll = 0\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("feedwatch.toml:3: feed[0].max_articles_per_poll: must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[daemon]\nuser_agent = \"x\"\nmax_fetches = 3\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("feedwatch.toml:3"), "{err}");
        assert!(err.contains("max_fetches"), "{err}");
    }

    #[test]
    fn every_unknown_key_of_a_file_is_reported_with_the_mistakes_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[daemon]
listen_on = \"x\"

[[feed]]
url = \"https://a.example/feed\"
colour = \"red\"
interval = \"soon\"
",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("feedwatch.toml:2") && err.contains("listen_on"),
            "{err}"
        );
        assert!(
            err.contains("feedwatch.toml:6") && err.contains("colour"),
            "{err}"
        );
        assert!(err.contains("feedwatch.toml:7: feed[0].interval"), "{err}");
    }

    #[test]
    fn a_file_of_many_unknown_keys_is_read_a_bounded_number_of_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!("[[feed]]\nurl = \"https://f{i}.example/rss\"\n"));
            if i % 50 == 0 {
                text.push_str(&format!("colour{i} = 1\n"));
            }
        }
        let path = write(dir.path(), "feedwatch.toml", &text);
        let start = std::time::Instant::now();
        let err = load(&path).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.issues.len(), MAX_UNKNOWN_KEYS + 2, "{err}");
        assert!(
            err.to_string()
                .contains("feedwatch.toml:3: unknown field `colour0`"),
            "{err}"
        );
        assert!(
            err.to_string().ends_with("run check again for the rest"),
            "{err}"
        );
        // Once decoded again for each of 200 keys: 23 s for 3 MB in a release build, about 12 s
        // for this one (400 KB) in a debug build; now 11 times, under a second.
        assert!(took < Duration::from_secs(6), "{took:?}");
        // A file near the size limit is decoded a few times only.
        let mut big = text.clone();
        while big.len() < MAX_FILE_BYTES as usize - 100_000 {
            big.push_str("[[feed]]\nurl = \"https://more.example/rss\"\n");
        }
        write(dir.path(), "feedwatch.toml", &big);
        let err = load(&path).unwrap_err();
        assert_eq!(err.issues.len(), 5, "{err}");
        assert!(
            err.to_string()
                .ends_with("than the 4 above; fix these and run check again for the rest"),
            "{err}"
        );
    }

    #[test]
    fn intervals_adapt_within_their_bounds_unless_a_cron_line_or_adaptive_false_says_not() {
        use crate::scheduler::Bounds;
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[defaults]\nmin_interval = \"5m\"\nmax_interval = \"2h\"\n\n\
             [[feed]]\nname = \"plain\"\nurl = \"https://a.example/1\"\n\n\
             [[feed]]\nname = \"own\"\nurl = \"https://a.example/2\"\ninterval = \"1h\"\nmax_interval = \"1d\"\n\n\
             [[feed]]\nname = \"cron\"\nurl = \"https://a.example/3\"\nschedule = \"0 * * * *\"\n\n\
             [[feed]]\nname = \"fixed\"\nurl = \"https://a.example/4\"\ninterval = \"20m\"\nadaptive = false\n",
        );
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        let by = |n: &str| {
            config
                .feeds
                .iter()
                .find(|f| f.name.as_deref() == Some(n))
                .unwrap()
        };
        let min = Duration::from_secs(300);
        assert!(matches!(by("plain").schedule, Schedule::Every(d) if d == DEFAULT_INTERVAL));
        assert_eq!(
            by("plain").adaptive,
            Some(Bounds {
                min,
                max: Duration::from_secs(7200)
            })
        );
        assert_eq!(
            by("own").adaptive,
            Some(Bounds {
                min,
                max: Duration::from_secs(86_400)
            })
        );
        assert_eq!(by("cron").adaptive, None);
        assert_eq!(by("fixed").adaptive, None);

        // Bounds left at their defaults take in the interval written.
        write(
            dir.path(),
            "feedwatch.toml",
            "[[feed]]\nname = \"fast\"\nurl = \"https://a.example/1\"\ninterval = \"5m\"\n\n\
             [[feed]]\nname = \"slow\"\nurl = \"https://a.example/2\"\ninterval = \"1d\"\n\n\
             [[feed]]\nname = \"held\"\nurl = \"https://a.example/3\"\ninterval = \"5m\"\nmin_interval = \"10m\"\n",
        );
        let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
        let by = |n: &str| {
            config
                .feeds
                .iter()
                .find(|f| f.name.as_deref() == Some(n))
                .unwrap()
        };
        let bounds = |min: u64, max: u64| {
            Some(Bounds {
                min: Duration::from_secs(min),
                max: Duration::from_secs(max),
            })
        };
        assert_eq!(by("fast").adaptive, bounds(300, 6 * 3600));
        assert_eq!(by("slow").adaptive, bounds(600, 86_400));
        assert_eq!(by("held").adaptive, bounds(600, 6 * 3600));

        // A cron line in [defaults] keeps its feeds on it; bounds the wrong way round and a
        // bound that is no duration are named where they are.
        write(
            dir.path(),
            "feedwatch.toml",
            "[defaults]\nschedule = \"*/30 * * * *\"\n\n\
             [[feed]]\nurl = \"https://a.example/1\"\n\n\
             [[feed]]\nurl = \"https://a.example/2\"\nmin_interval = \"3h\"\nmax_interval = \"1h\"\n\n\
             [[feed]]\nurl = \"https://a.example/3\"\nmin_interval = \"often\"\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("feedwatch.toml:7: feed[1].max_interval"),
            "{err}"
        );
        assert!(err.contains("shorter than min_interval"), "{err}");
        assert!(
            err.contains("feedwatch.toml:14: feed[2].min_interval"),
            "{err}"
        );
        // The adaptive keys beside a feed's own cron line are a mistake, named as such.
        write(
            dir.path(),
            "feedwatch.toml",
            "[[feed]]\nurl = \"https://a.example/1\"\nschedule = \"0 * * * *\"\nmax_interval = \"2h\"\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("feedwatch.toml:3: feed[0].max_interval"),
            "{err}"
        );
        assert!(err.contains("never adapts"), "{err}");
        write(
            dir.path(),
            "feedwatch.toml",
            "[defaults]\nschedule = \"*/30 * * * *\"\n\n[[feed]]\nurl = \"https://a.example/1\"\n",
        );
        assert_eq!(load(&path).unwrap().feeds[0].adaptive, None);
    }

    #[test]
    fn a_name_given_twice_is_reported_at_the_second_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[[feed]]\nname = \"A\"\nurl = \"https://a.example/1\"\n\n[[feed]]\nname = \"A\"\nurl = \"https://a.example/2\"\n\n[[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://h.example/\"\n\n[[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://h.example/2\"\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("feedwatch.toml:5: feed.name"), "{err}");
        assert!(err.contains("feedwatch.toml:15: notifier[1].name"), "{err}");
    }

    #[test]
    fn feeds_dir_files_add_feeds_and_their_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "feedwatch.toml",
            "[defaults]\ninterval = \"15m\"\n",
        );
        std::fs::create_dir(dir.path().join("feeds.d")).unwrap();
        write(
            &dir.path().join("feeds.d"),
            "a.toml",
            "[[feed]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n",
        );
        let config = load(&path).unwrap();
        assert_eq!(config.feeds.len(), 1);
        assert!(
            matches!(config.feeds[0].schedule, Schedule::Every(d) if d == Duration::from_secs(900))
        );

        write(
            &dir.path().join("feeds.d"),
            "b.toml",
            "[[feed]]\nurl = \"https://b.example/feed\"\nschedul = \"x\"\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("b.toml:3"), "{err}");
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_by_name_without_reading_it_all() {
        let dir = tempfile::tempdir().unwrap();
        let feed = "[[feed]]\nurl = \"https://a.example/feed\"\n";
        let big = "# padding\n".repeat(MAX_FILE_BYTES as usize / 10 + 1);
        let path = write(dir.path(), "feedwatch.toml", &format!("{feed}{big}"));
        let err = load(&path).unwrap_err().to_string();
        assert!(
            err.contains("feedwatch.toml: the file is larger than 4 MiB"),
            "{err}"
        );

        write(dir.path(), "feedwatch.toml", feed);
        std::fs::create_dir(dir.path().join("feeds.d")).unwrap();
        let feeds_d = dir.path().join("feeds.d");
        write(
            &feeds_d,
            "a.toml",
            "[[feed]]\nurl = \"https://b.example/feed\"\n",
        );
        write(&feeds_d, "huge.toml", &big);
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("huge.toml: the file is larger than"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Just under the limit is read.
        write(&feeds_d, "huge.toml", &big[..MAX_FILE_BYTES as usize - 10]);
        assert_eq!(load(&path).unwrap().feeds.len(), 2);
    }

    #[test]
    fn line_numbers_of_thousands_of_feeds_are_found_in_linear_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..9_000 {
            text.push_str(&format!(
                "[[feed]]\nname = \"Feed {i}\"\nurl = \"https://f{i}.example/rss\"\n\n"
            ));
        }
        // The last feed takes the name of the first: reported at its own line.
        text.push_str("[[feed]]\nname = \"Feed 0\"\nurl = \"https://again.example/rss\"\n");
        let path = write(dir.path(), "feedwatch.toml", &text);
        let start = std::time::Instant::now();
        let err = load(&path).unwrap_err().to_string();
        let took = start.elapsed();
        assert!(err.contains("feedwatch.toml:36001: feed.name"), "{err}");
        // Counting lines from the start once per feed took 1.5 s in a release build (31 s in a
        // debug one); linear takes under 2 s in a debug build.
        assert!(
            took < Duration::from_secs(10),
            "loading 9,000 feeds took {took:?}"
        );
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours::parse("22:00-07:00").unwrap();
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            q.ends_after(at("2026-01-01 23:30")),
            Some(at("2026-01-02 07:00"))
        );
        assert_eq!(
            q.ends_after(at("2026-01-02 06:59")),
            Some(at("2026-01-02 07:00"))
        );
        assert_eq!(q.ends_after(at("2026-01-02 12:00")), None);
        assert!(QuietHours::parse("7pm to 8am").is_err());
    }

    #[test]
    fn cron_lines_with_five_or_six_fields_are_accepted() {
        assert!(Schedule::parse_cron("*/10 * * * *").is_ok());
        assert!(Schedule::parse_cron("30 */10 * * * *").is_ok());
        assert!(Schedule::parse_cron("* * *").is_err());
        assert!(Schedule::parse_cron("99 * * * *").is_err());
    }

    /// The weekdays a schedule fires on over two weeks from a Monday, as numbers (Sunday 0).
    fn weekdays_of(line: &str) -> Vec<u32> {
        use chrono::{Datelike, TimeZone};
        let Ok(Schedule::Cron(_, cron)) = Schedule::parse_cron(line) else {
            panic!("{line} does not parse");
        };
        let monday = chrono::Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let mut days: Vec<u32> = cron
            .after(&monday)
            .take_while(|t| *t < monday + chrono::Duration::days(7))
            .map(|t| t.weekday().num_days_from_sunday())
            .collect();
        days.sort();
        days.dedup();
        days
    }

    #[test]
    fn a_five_field_weekday_counts_sunday_as_zero_or_seven() {
        assert_eq!(weekdays_of("0 8 * * 0"), vec![0]);
        assert_eq!(weekdays_of("0 8 * * 7"), vec![0]);
        assert_eq!(weekdays_of("0 8 * * 1-5"), vec![1, 2, 3, 4, 5]);
        assert_eq!(weekdays_of("0 8 * * 5-7"), vec![0, 5, 6]);
        assert_eq!(weekdays_of("0 8 * * 0,6"), vec![0, 6]);
        assert_eq!(weekdays_of("0 8 * * */2"), vec![0, 2, 4, 6]);
        assert_eq!(weekdays_of("0 8 * * mon-fri"), vec![1, 2, 3, 4, 5]);
        assert!(Schedule::parse_cron("0 8 * * 8").is_err());
        assert!(Schedule::parse_cron("0 8 * * 5-1").is_err());
    }
}
