//! One poll of one feed, through every stage: fetch → parse → (new items) fetch page → extract →
//! match topics → store with alerts. Also one pass of the outbox: send what is due.
//!
//! Owns the joining of the stages and the rule that a failure at any step costs that feed or that
//! item, never the rest. The daemon calls [`Pipeline::poll`] on schedule; `feedwatch once` calls
//! it for every feed. Timing decisions come from `scheduler`, storage from `store`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use tokio::sync::Notify;
use url::Url;

use crate::bounds::{Budget, EXTRACT_BUDGET, FEED_PARSE_BUDGET, OutOfTime};
use crate::clock::Clock;
use crate::config::{Config, FeedConfig, SiteRule, TopicConfig};
use crate::extract::{self, Article};
use crate::feed::{self, Entry, ParsedFeed};
use crate::fetch::{
    Conditional, FEED_MAX_BYTES, FetchError, FetchOptions, FetchOutcome, Fetcher, PAGE_MAX_BYTES,
};
use crate::notify::{Alert, AlertStory, Notifiers};
use crate::outbox::AlertKind;
use crate::scheduler::{self, PollTiming};
use crate::store::{
    Claim, ClaimMode, Ingested, KnownQuery, NewItem, PollOutcome, PollRecord, Store, TopicHit,
};
use crate::topics::{Document, PreparedDocument, Query};
use crate::{dedup, discover, store};

/// Article pages fetched at once for one feed; the fetcher's own per-host cap still applies.
const PAGE_CONCURRENCY: usize = 4;
/// Items stored in one transaction.
const INGEST_CHUNK: usize = 32;
/// Characters of story text kept as the alert summary.
const SUMMARY_CHARS: usize = 300;

/// A topic ready to match.
#[derive(Debug, Clone)]
pub struct Topic {
    pub config: TopicConfig,
    pub query: Query,
}

/// Everything a poll needs, shared by all polls of one configuration.
#[derive(Clone)]
pub struct Pipeline {
    pub store: Store,
    pub fetcher: Fetcher,
    pub notifiers: Notifiers,
    pub topics: Arc<Vec<Topic>>,
    /// Per-site extraction rules from the config.
    pub sites: Arc<Vec<SiteRule>>,
    /// Woken when alerts are queued, so the notify worker sends them without waiting for its
    /// next timer.
    pub alerts_queued: Arc<Notify>,
    /// How long an alert keeps being retried.
    pub give_up_after: Duration,
    /// Which notifiers want which feed-health events.
    pub feed_events: Arc<Vec<(String, Vec<String>)>>,
    /// A feed failing this long raises "feed.failing".
    pub feed_failing_after: Duration,
    /// How long a claimed feed or alert stays this process's (see `[daemon] lease`).
    pub lease: Duration,
    /// Polls under way at once, so thousands of due feeds claim (and hold database
    /// connections) a few at a time; the fetcher's own limits still apply inside.
    pub poll_slots: Arc<tokio::sync::Semaphore>,
    /// Poll tasks worth having at once: a few more than [`Pipeline::poll_slots`] lets run.
    /// Each waiting task holds its whole future (kilobytes): ten thousand feeds due together
    /// are spawned as others finish, not all at once.
    pub polls_in_flight: usize,
    /// Parses and extractions running at once: one a core. Each poll's parse ran on a
    /// blocking thread of its own, so a pass over thousands of feeds had a hundred threads
    /// parsing side by side on two cores, every one with its working memory live (and
    /// allocating from the malloc arena it drew); the rest now wait their turn before starting.
    pub cpu_slots: Arc<tokio::sync::Semaphore>,
    /// Where "now" comes from for scheduling, backoff and quiet hours (tests drive it).
    pub clock: Clock,
}

/// How a poll ended, for logs and `feedwatch once`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PollResult {
    /// Fetched and parsed (or, before anything ran, not known yet).
    #[default]
    Ok,
    /// The server answered 304.
    NotModified,
    /// Fetching or parsing failed, or the database did not answer.
    Error,
    /// The feed is disabled (410 Gone).
    Disabled,
    /// Not polled by this process: another one holds it, or polled it already; `until` is when
    /// to look again, when known.
    Skipped { why: String, until: Option<i64> },
}

impl PollResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            PollResult::Ok => "ok",
            PollResult::NotModified => "not-modified",
            PollResult::Error => "error",
            PollResult::Disabled => "disabled",
            PollResult::Skipped { .. } => "skipped",
        }
    }
}

impl From<PollOutcome> for PollResult {
    fn from(o: PollOutcome) -> PollResult {
        match o {
            PollOutcome::Ok => PollResult::Ok,
            PollOutcome::NotModified => PollResult::NotModified,
            PollOutcome::Error => PollResult::Error,
        }
    }
}

impl std::fmt::Display for PollResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollResult::Skipped { why, .. } => write!(f, "skipped ({why})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// What one poll did, for logs and `feedwatch once`.
#[derive(Debug, Clone, Default)]
pub struct PollReport {
    pub feed: String,
    pub outcome: PollResult,
    pub new_stories: usize,
    pub joined_stories: usize,
    pub updated: usize,
    pub alerts: usize,
    /// Items matching a topic that were stored without an alert: what a feed already carried
    /// at its first successful poll, unless `alert_backlog = true`.
    pub kept_back: usize,
    pub error: Option<String>,
    /// Per-item problems that did not stop the poll (an article page that failed).
    pub notes: Vec<String>,
}

/// Whether the matches of a poll's new items are alerted, or kept back as the backlog a feed
/// carried when it was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backlog {
    Alert,
    KeepBack,
}

/// The report of a feed another process polled in this `once` pass (`by`, when known).
pub fn polled_elsewhere(feed: String, by: Option<&str>) -> PollReport {
    PollReport {
        feed,
        outcome: PollResult::Skipped {
            why: format!(
                "already polled in this pass by {}",
                by.unwrap_or("another process")
            ),
            until: None,
        },
        ..Default::default()
    }
}

/// What to say of a poll's kept-back items (see [`PollReport::kept_back`]).
pub fn kept_back_note(n: usize) -> String {
    format!(
        "first poll: {n} {} the feed already carried {} a topic; {} stored (see \
         `feedwatch stories`) but not alerted. To alert what a new feed carries, set \
         alert_backlog = true on it before its first poll",
        if n == 1 { "item" } else { "items" },
        if n == 1 { "matches" } else { "match" },
        if n == 1 { "it is" } else { "they are" }
    )
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Default)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Held for a topic's quiet hours.
    pub held: usize,
    pub retrying: usize,
    pub failed: usize,
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot set up the HTTP client: {0}")]
    Fetch(#[from] FetchError),
    #[error("cannot set up notifier: {0}")]
    Notify(#[from] crate::notify::NotifyError),
    #[error("topic \"{topic}\": {error}")]
    Query {
        topic: String,
        error: crate::topics::QueryError,
    },
}

impl Pipeline {
    /// Builds the stages from a config, on an open store.
    pub fn new(config: &Config, store: Store) -> Result<Pipeline, SetupError> {
        let d = &config.daemon;
        let fetcher = Fetcher::new(FetchOptions {
            user_agent: d.user_agent.clone(),
            allow_private_addresses: d.allow_private_addresses,
            max_concurrent: d.max_concurrent_fetches,
            per_host: d.per_host_concurrency,
            per_host_rate: d.per_host_rate,
            total_timeout: d.fetch_timeout,
            connect_timeout: d.fetch_timeout.min(std::time::Duration::from_secs(10)),
            ..FetchOptions::default()
        })?;
        let notifiers =
            Notifiers::new(&config.notifiers, &d.user_agent, d.allow_private_addresses)?;
        let topics = compile_topics(&config.topics)?;
        Ok(Pipeline {
            store,
            fetcher,
            notifiers,
            topics: Arc::new(topics),
            sites: Arc::new(config.sites.clone()),
            alerts_queued: Arc::new(Notify::new()),
            give_up_after: d.give_up_after,
            feed_events: Arc::new(
                config
                    .notifiers
                    .iter()
                    .map(|n| (n.name.clone(), n.events.clone()))
                    .collect(),
            ),
            feed_failing_after: d.feed_failing_after,
            lease: d.lease,
            poll_slots: Arc::new(tokio::sync::Semaphore::new(
                d.max_concurrent_fetches.saturating_mul(2).max(1),
            )),
            polls_in_flight: d.max_concurrent_fetches.saturating_mul(3).max(1),
            cpu_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
            clock: Clock::System,
        })
    }

    /// Polls one feed and stores what is new, if this process can claim it (`mode`): another
    /// process may hold the feed or have polled it already. Never fails: problems are in the
    /// report and in the feed's stored state.
    pub async fn poll(&self, feed: &FeedConfig, mode: ClaimMode) -> PollReport {
        let key = feed.key();
        let mut report = PollReport {
            feed: key.clone(),
            ..Default::default()
        };
        // A test's paused clock stands still while the poll talks to its servers.
        let _hold = self.clock.hold();
        let Ok(_slot) = self.poll_slots.acquire().await else {
            report.outcome = PollResult::Error;
            report.error = Some("shutting down".into());
            return report;
        };
        let state = match self.store.claim_feed(
            &key,
            feed.url.as_str(),
            mode,
            self.lease,
            self.clock.unix_ms(),
        ) {
            Ok(Claim::Claimed(s)) => *s,
            Ok(Claim::Disabled(reason)) => {
                report.outcome = PollResult::Disabled;
                report.error = Some(reason);
                return report;
            }
            Ok(Claim::Held(lease)) => {
                report.outcome = PollResult::Skipped {
                    why: format!(
                        "being polled by {} until {}",
                        lease.owner,
                        store::rfc3339(lease.until)
                    ),
                    until: Some(lease.until + 1),
                };
                return report;
            }
            Ok(Claim::NotDue { next_due_at }) => {
                report.outcome = PollResult::Skipped {
                    why: format!(
                        "polled by another process; next due {}",
                        store::rfc3339(next_due_at)
                    ),
                    until: Some(next_due_at),
                };
                return report;
            }
            Ok(Claim::Polled { by }) => return polled_elsewhere(key, by.as_deref()),
            Err(e) => {
                report.outcome = PollResult::Error;
                report.error = Some(e.to_string());
                return report;
            }
        };
        self.poll_leased(feed, state, report).await
    }

    /// Polls a feed this process claimed already (see [`Store::claim_feeds`]), when a poll slot
    /// is free.
    pub async fn poll_claimed_feed(
        &self,
        feed: &FeedConfig,
        state: crate::store::FeedState,
    ) -> PollReport {
        let report = PollReport {
            feed: feed.key(),
            ..Default::default()
        };
        let _hold = self.clock.hold();
        let Ok(_slot) = self.poll_slots.acquire().await else {
            return PollReport {
                outcome: PollResult::Error,
                error: Some("shutting down".into()),
                ..report
            };
        };
        self.poll_leased(feed, state, report).await
    }

    /// Polls a feed whose lease this process holds, renewing the lease until done.
    async fn poll_leased(
        &self,
        feed: &FeedConfig,
        state: crate::store::FeedState,
        report: PollReport,
    ) -> PollReport {
        // Keeps the lease while the poll runs, however long its pages take.
        let renewer = {
            let store = self.store.clone();
            let lease = self.lease;
            let id = state.id;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if !matches!(store.renew_feed_lease(id, lease), Ok(true)) {
                        return;
                    }
                }
            })
        };
        let report = self.poll_claimed(feed, state, report).await;
        renewer.abort();
        report
    }

    async fn poll_claimed(
        &self,
        feed: &FeedConfig,
        state: crate::store::FeedState,
        mut report: PollReport,
    ) -> PollReport {
        let key = report.feed.clone();
        let now = self.clock.now();
        let url = Url::parse(&state.url).unwrap_or_else(|_| feed.url.clone());
        let conditional = Conditional {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let mut record = PollRecord {
            at: now.timestamp(),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let errors_before = u32::try_from(state.consecutive_errors).unwrap_or(u32::MAX);

        let outcome = self.fetcher.get(&url, &conditional, FEED_MAX_BYTES).await;
        // Until this poll says otherwise, the feed's hints and publish rate are as last known.
        let mut timing = PollTiming {
            hints: state.hints,
            rate: state.rate,
            ..PollTiming::default()
        };
        match outcome {
            Ok(FetchOutcome::NotModified {
                max_age,
                expires,
                moved_permanently,
                ..
            }) => {
                timing.expires = expires;
                record.outcome = PollOutcome::NotModified;
                record.http_status = Some(304);
                record.etag = state.etag.clone();
                record.last_modified = state.last_modified.clone();
                timing.max_age = max_age;
                if let Some(moved) = &moved_permanently {
                    self.feed_moved(&key, moved);
                }
                record.new_url = moved_permanently.map(|u| u.to_string());
            }
            Ok(FetchOutcome::Fetched(fetched)) => {
                timing.max_age = fetched.max_age;
                timing.expires = fetched.expires;
                record.http_status = Some(200);
                record.bytes = Some(fetched.body.len());
                record.new_url = fetched.moved_permanently.as_ref().map(|u| u.to_string());
                if let Some(moved) = &fetched.moved_permanently {
                    self.feed_moved(&key, moved);
                }
                let charset = fetched.charset.clone();
                let base =
                    feed::document_base(&fetched.final_url, fetched.content_location.as_deref());
                let body = fetched.body;
                let max_items = feed.max_items_per_poll;
                let (parsed, alternates) =
                    match within_budget(&self.cpu_slots, FEED_PARSE_BUDGET, move |budget| {
                        let limits = feed::Limits { max_items, budget };
                        let parsed =
                            feed::parse_within(&body, charset.as_deref(), Some(&base), &limits);
                        // A site's page instead of its feed: the feeds it links.
                        let alternates = match &parsed {
                            Err(feed::FeedError::HtmlPage) => discover::alternates(&body, &base),
                            _ => Vec::new(),
                        };
                        (parsed, alternates)
                    })
                    .await
                    {
                        Ok(Ok(done)) => done,
                        Ok(Err(e)) => (Err(feed::FeedError::Panicked(e.to_string())), Vec::new()),
                        Err(e) => (Err(feed::FeedError::OutOfTime(e)), Vec::new()),
                    };
                let (mut etag, mut last_modified) = (fetched.etag, fetched.last_modified);
                let parsed = match (parsed, alternates.as_slice()) {
                    (Err(feed::FeedError::HtmlPage), [one]) => {
                        match self.discovered_feed(feed, one).await {
                            Ok((parsed, found_etag, found_last_modified)) => {
                                report.notes.push(format!(
                                    "the url is a web page; polling the feed it links from now \
                                     on: {one} (put it in the config to skip the page)"
                                ));
                                record.new_url = Some(one.url.to_string());
                                etag = found_etag;
                                last_modified = found_last_modified;
                                Ok(parsed)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    (Err(feed::FeedError::HtmlPage), many) if many.len() > 1 => {
                        let list: Vec<String> = many.iter().map(|c| c.to_string()).collect();
                        Err(feed::FeedError::NotAFeed(format!(
                            "the url is a web page linking {} feeds: {}; set the feed's url to \
                             the one you want (usually the first, the site's main feed)",
                            many.len(),
                            list.join(", ")
                        )))
                    }
                    (parsed, _) => parsed,
                };
                match parsed {
                    Ok(parsed) => {
                        record.outcome = PollOutcome::Ok;
                        record.etag = etag;
                        record.last_modified = last_modified;
                        record.title = feed.name.clone().or(parsed.title.clone());
                        record.site_link = parsed.link.clone();
                        if parsed.recovered {
                            report.notes.push(format!(
                                "the feed is not well-formed; it was repaired and {} entries read",
                                parsed.entries.len()
                            ));
                        }
                        let backlog = if feed.alert_backlog || state.last_success_at.is_some() {
                            Backlog::Alert
                        } else {
                            Backlog::KeepBack
                        };
                        self.store_entries(feed, state.id, &parsed, backlog, &mut report)
                            .await;
                        record.new_items = report.new_stories + report.joined_stories;
                        timing.hints = parsed.hints;
                        timing.rate = publish_rate(&parsed, state.rate, record.new_items, now);
                    }
                    Err(e) => {
                        record.outcome = PollOutcome::Error;
                        record.error = Some(format!("the feed could not be parsed: {e}"));
                    }
                }
            }
            Err(FetchError::Gone) => {
                record.outcome = PollOutcome::Error;
                record.http_status = Some(410);
                record.error = Some(FetchError::Gone.to_string());
                record.disabled_reason =
                    Some("the server answered 410 Gone; remove the feed or fix its URL".into());
                tracing::warn!(feed = %key, "feed is gone (410); it will not be polled again");
                self.feed_event(
                    AlertKind::FeedGone,
                    &key,
                    url.as_str(),
                    format!("Feed \"{key}\" is gone (410 Gone); it is no longer polled"),
                    url.as_str(),
                );
            }
            Err(e) => {
                record.outcome = PollOutcome::Error;
                if let FetchError::Status { code, retry_after } = &e {
                    record.http_status = Some(*code);
                    timing.retry_after = *retry_after;
                }
                record.error = Some(e.to_string());
            }
        }
        if record.outcome == PollOutcome::Error {
            timing.consecutive_errors = errors_before.saturating_add(1);
            tracing::warn!(feed = %key, url = %crate::redact::url(&url), error = record.error.as_deref().unwrap_or(""), "poll failed");
            // Measured from the start of this run of failures: one event per streak.
            let since = state.failing_since.unwrap_or(record.at);
            if record.at - since >= self.feed_failing_after.as_secs() as i64 {
                self.feed_event(
                    AlertKind::FeedFailing,
                    &key,
                    &since.to_string(),
                    format!(
                        "Feed \"{key}\" has failed since {}: {}",
                        store::rfc3339(since),
                        record.error.as_deref().unwrap_or("")
                    ),
                    url.as_str(),
                );
            }
        }
        record.consecutive_errors = i64::from(timing.consecutive_errors);
        let due = scheduler::next_due(&feed.schedule, feed.adaptive, &key, now, timing);
        record.next_due_at = due.at.timestamp();
        record.due_reason = Some(due.reason);
        record.due_interval = i64::try_from(due.interval.as_secs()).ok();
        record.rate = timing.rate;
        record.hints = timing.hints;
        record.duration_ms = i64::try_from(started.elapsed().as_millis()).ok();
        report.outcome = record.outcome.into();
        report.error = record.error.clone();
        if let Err(e) = self.store.record_poll_async(state.id, record).await {
            tracing::error!(feed = %key, error = %e, "could not record the poll");
        }
        if report.alerts > 0 {
            self.alerts_queued.notify_one();
        }
        report
    }

    /// Fetches and parses the feed a page links (see [`discover`]): the parsed feed and the
    /// validators to store with it.
    async fn discovered_feed(
        &self,
        feed: &FeedConfig,
        found: &discover::Candidate,
    ) -> Result<(ParsedFeed, Option<String>, Option<String>), feed::FeedError> {
        let fetched = match self
            .fetcher
            .get(&found.url, &Conditional::default(), FEED_MAX_BYTES)
            .await
        {
            Ok(FetchOutcome::Fetched(f)) => f,
            Ok(FetchOutcome::NotModified { .. }) => {
                return Err(feed::FeedError::NotAFeed(format!(
                    "the feed the page links ({found}) answered 304 to a plain request"
                )));
            }
            Err(e) => {
                return Err(feed::FeedError::NotAFeed(format!(
                    "the url is a web page; the feed it links ({found}) could not be fetched: {e}"
                )));
            }
        };
        let max_items = feed.max_items_per_poll;
        let charset = fetched.charset.clone();
        let base = feed::document_base(&fetched.final_url, fetched.content_location.as_deref());
        let body = fetched.body;
        let parsed = match within_budget(&self.cpu_slots, FEED_PARSE_BUDGET, move |budget| {
            let limits = feed::Limits { max_items, budget };
            feed::parse_within(&body, charset.as_deref(), Some(&base), &limits)
        })
        .await
        {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(e)) => Err(feed::FeedError::Panicked(e.to_string())),
            Err(e) => Err(feed::FeedError::OutOfTime(e)),
        }?;
        Ok((parsed, fetched.etag, fetched.last_modified))
    }

    /// A feed answered through permanent redirects only (with content or a 304): say so once
    /// per new address; the caller records the new URL to poll.
    fn feed_moved(&self, key: &str, moved: &Url) {
        // Shown in the log and sent to notifiers: without a password the URL may carry.
        let moved = crate::redact::url(moved);
        tracing::info!(feed = %key, to = %moved, "feed moved permanently; polling the new URL from now on");
        self.feed_event(
            AlertKind::FeedMoved,
            key,
            &moved,
            format!("Feed \"{key}\" moved permanently to {moved}; update its url in the config"),
            &moved,
        );
    }

    /// Queues a feed-health event for the notifiers that asked for it; `unique` makes repeats of
    /// the same event (the same move, the same failure streak) one alert.
    fn feed_event(&self, kind: AlertKind, key: &str, unique: &str, title: String, url: &str) {
        let notifiers: Vec<String> = self
            .feed_events
            .iter()
            .filter(|(_, events)| events.iter().any(|e| e == kind.as_str()))
            .map(|(n, _)| n.clone())
            .collect();
        if notifiers.is_empty() {
            return;
        }
        let now = self.clock.now();
        let alert = Alert {
            id: format!("{kind}:{key}:{unique}"),
            kind,
            topic: key.to_string(),
            stories: vec![AlertStory {
                id: format!("feed:{key}"),
                title: title.clone(),
                url: url.to_string(),
                feed: key.to_string(),
                published: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                summary: title,
                matched: vec![],
                also_at: vec![],
                byline: None,
                text: String::new(),
            }],
        };
        match self.store.queue_alert(&alert, &notifiers, now.timestamp()) {
            Ok(n) if n > 0 => self.alerts_queued.notify_one(),
            Ok(_) => {}
            Err(e) => tracing::error!(feed = %key, error = %e, "could not queue the {kind} event"),
        }
    }

    async fn store_entries(
        &self,
        feed: &FeedConfig,
        feed_id: i64,
        parsed: &ParsedFeed,
        backlog: Backlog,
        report: &mut PollReport,
    ) {
        let feed_name = feed
            .name
            .clone()
            .or(parsed.title.clone())
            .unwrap_or_else(|| feed.key());
        let entries = distinct_ids(&parsed.entries);
        // Oldest first, so the first outlet to carry a story is the one it is filed under.
        let oldest_first: Vec<&Entry> = entries.iter().rev().collect();
        let canonical: Vec<Option<String>> = oldest_first
            .iter()
            .map(|e| e.link.as_deref().and_then(dedup::canonical_url))
            .collect();
        let hashes: Vec<String> = oldest_first.iter().map(|e| entry_hash(e)).collect();
        let queries: Vec<KnownQuery> = oldest_first
            .iter()
            .zip(&canonical)
            .zip(&hashes)
            .map(|((e, c), h)| KnownQuery {
                feed_id,
                guid: &e.id,
                canonical_url: c.as_deref(),
                title: e.title.as_deref(),
                entry_hash: h,
            })
            .collect();
        // One lookup for the poll's items: they are checked together, not one round trip each.
        let (fresh, mut stored): (Vec<(&Entry, &String)>, Vec<store::Stored>) =
            match self.store.items_stored(&queries) {
                Ok(known) => oldest_first
                    .iter()
                    .zip(&hashes)
                    .zip(known)
                    .filter_map(|((e, hash), known)| match known {
                        store::Known::Unchanged => None,
                        store::Known::Fresh(stored) => Some(((*e, hash), stored)),
                    })
                    .unzip(),
                Err(e) => {
                    report
                        .notes
                        .push(format!("the feed's stored items could not be read: {e}"));
                    (Vec::new(), Vec::new())
                }
            };
        let owned: Vec<Entry> = fresh.iter().map(|(e, _)| (*e).clone()).collect();
        let pages = article_quota(feed, &owned);
        let skipped = pages.iter().filter(|p| !**p).count();
        if skipped > 0 {
            report.notes.push(format!(
                "{skipped} article pages not fetched (at most {} a poll, {} from one host: max_articles_per_poll, max_articles_per_host); those items keep the feed's text",
                feed.max_articles_per_poll, feed.max_articles_per_host
            ));
        }
        // Owned clones so the futures are 'static (a borrowed closure here trips the compiler's
        // higher-ranked lifetime inference inside spawned tasks). Consumed as they come, so a
        // poll holds PAGE_CONCURRENCY articles at most, whatever the item count.
        let mut articles = futures_util::stream::iter(owned.into_iter().zip(pages))
            .map(|(entry, page)| {
                let this = self.clone();
                let feed = feed.clone();
                async move {
                    if page {
                        this.article_for(&feed, &entry).await
                    } else {
                        (None, None)
                    }
                }
            })
            .buffered(PAGE_CONCURRENCY);
        let mut batch: Vec<(NewItem, Vec<TopicHit>)> = Vec::with_capacity(INGEST_CHUNK);
        for ((entry, hash), stored) in fresh.into_iter().zip(stored.drain(..)) {
            let Some((article, note)) = articles.next().await else {
                break;
            };
            if let Some(n) = &note {
                report.notes.push(format!(
                    "{}: {n}",
                    entry.link.as_deref().unwrap_or(&entry.id)
                ));
            }
            let mut item = compose_item(feed_id, entry, hash.clone(), article.as_ref(), note);
            item.stored = stored;
            let mut hits = self.match_topics(feed, &feed_name, &item);
            if backlog == Backlog::KeepBack && !hits.is_empty() {
                // Recorded (the story lists its topics; a later copy does not alert them
                // either), sent to no one, never digested.
                for hit in &mut hits {
                    hit.notifiers.clear();
                    hit.digest = false;
                }
                report.kept_back += 1;
            }
            batch.push((item, hits));
            if batch.len() == INGEST_CHUNK {
                self.ingest_batch(&mut batch, report).await;
            }
        }
        self.ingest_batch(&mut batch, report).await;
    }

    /// Stores a chunk of a poll's items in one transaction (one commit, one turn of the lock
    /// that stores stories across processes, held briefly); if that fails, item by item, so a
    /// bad item costs only itself. Leaves `batch` empty.
    async fn ingest_batch(
        &self,
        batch: &mut Vec<(NewItem, Vec<TopicHit>)>,
        report: &mut PollReport,
    ) {
        if batch.is_empty() {
            return;
        }
        let results: Vec<(String, Result<Ingested, store::StoreError>)> =
            match self.store.ingest_many_async(batch).await {
                Ok(done) => batch
                    .iter()
                    .map(|(i, _)| i.guid.clone())
                    .zip(done.into_iter().map(Ok))
                    .collect(),
                // Item by item, each looked up afresh (what the poll found may be out of date:
                // another process may have slipped an item in).
                Err(_) => batch
                    .iter_mut()
                    .map(|(item, hits)| {
                        item.stored = store::Stored::Unknown;
                        (item.guid.clone(), self.store.ingest(item, hits))
                    })
                    .collect(),
            };
        batch.clear();
        for (guid, result) in results {
            match result {
                Ok(Ingested::NewStory { alerts, .. }) => {
                    report.new_stories += 1;
                    report.alerts += alerts;
                }
                Ok(Ingested::JoinedStory { alerts, .. }) => {
                    report.joined_stories += 1;
                    report.alerts += alerts;
                }
                Ok(Ingested::Updated { .. }) => report.updated += 1,
                Ok(Ingested::Seen) => {}
                Err(e) => report.notes.push(format!("item {guid} not stored: {e}")),
            }
        }
    }

    /// Fetches and extracts an item's page when the feed wants full articles. On failure the
    /// item keeps the feed's own text, with a note saying why.
    async fn article_for(
        &self,
        feed: &FeedConfig,
        entry: &Entry,
    ) -> (Option<Article>, Option<String>) {
        if !feed.full_article {
            return (None, None);
        }
        let Some(link) = entry.link.as_deref().and_then(|l| Url::parse(l).ok()) else {
            return (None, None);
        };
        let fetched = match self
            .fetcher
            .get(&link, &Conditional::default(), PAGE_MAX_BYTES)
            .await
        {
            Ok(FetchOutcome::Fetched(f)) => f,
            Ok(FetchOutcome::NotModified { .. }) => {
                return (None, Some("the article page answered 304".into()));
            }
            Err(e) => {
                return (
                    None,
                    Some(format!(
                        "article page not fetched ({e}); kept the feed's text"
                    )),
                );
            }
        };
        let sites = self.sites.clone();
        let final_url = fetched.final_url.clone();
        let fetched_url = final_url.to_string();
        let charset = fetched.charset.clone();
        let body = fetched.body;
        let article = within_budget(&self.cpu_slots, EXTRACT_BUDGET, move |budget| {
            extract::extract_within(&body, charset.as_deref(), Some(&final_url), &sites, &budget)
        })
        .await;
        let article = match article {
            Ok(article) => article,
            Err(e) => {
                tracing::warn!(feed = %feed.key(), page = %link, error = %e, "article page not extracted in time");
                return (
                    None,
                    Some(format!(
                        "article page not extracted ({e}); kept the feed's text"
                    )),
                );
            }
        };
        match article {
            Ok(a) if a.not_article.is_some() => {
                let why = a.not_article.clone().unwrap_or_default();
                (
                    Some(a),
                    Some(format!(
                        "the page is not an article ({why}); kept the feed's text"
                    )),
                )
            }
            Ok(a) if a.text.trim().is_empty() => (
                Some(a),
                Some("no article text found on the page; kept the feed's text".into()),
            ),
            Ok(mut a) => {
                // Where the redirects ended is the page's address when it declares none.
                if a.url.is_none() {
                    a.url = Some(fetched_url);
                }
                (Some(a), None)
            }
            Err(e) => (
                None,
                Some(format!("extraction crashed ({e}); kept the feed's text")),
            ),
        }
    }

    fn match_topics(&self, feed: &FeedConfig, feed_name: &str, item: &NewItem) -> Vec<TopicHit> {
        // With no topic to match, the text is not tokenised at all (a tenth of a pass's CPU).
        if self.topics.is_empty() {
            return Vec::new();
        }
        // `tag:` and a topic's tag scope see the feed's tags and the item's own categories.
        let mut tags = feed.tags.clone();
        for c in &item.categories {
            if !tags.iter().any(|t| t.eq_ignore_ascii_case(c)) {
                tags.push(c.clone());
            }
        }
        let doc = Document {
            title: &item.title,
            text: &item.text,
            author: item.byline.as_deref().unwrap_or(""),
            feed: feed_name,
            tags: &tags,
            url: item.url.as_deref().unwrap_or(""),
        };
        // Tokenised, folded and stemmed once for all topics.
        let prepared = PreparedDocument::new(&doc);
        let mut hits = Vec::new();
        for topic in self.topics.iter() {
            let c = &topic.config;
            if !c.feeds.is_empty() && !c.feeds.iter().any(|f| f == feed_name || *f == feed.key()) {
                continue;
            }
            if !c.tags.is_empty()
                && !c
                    .tags
                    .iter()
                    .any(|t| tags.iter().any(|ft| ft.eq_ignore_ascii_case(t)))
            {
                continue;
            }
            if item.text.chars().count() < c.min_length {
                continue;
            }
            if let Some(matched) = topic.query.matches_prepared(&prepared) {
                hits.push(TopicHit {
                    topic: c.name.clone(),
                    snippet: crate::topics::snippet(&doc, &matched, SUMMARY_CHARS),
                    matched,
                    notifiers: c.notify.clone(),
                    digest: c.digest.is_some(),
                });
            }
        }
        hits
    }

    /// When the quiet hours of `topic` end, if they are on now.
    fn quiet_until(&self, topic: &str) -> Option<i64> {
        let t = self.topics.iter().find(|t| t.config.name == topic)?;
        let q = t.config.quiet_hours?;
        let now = self.clock.now().with_timezone(&chrono::Local);
        let end = q.ends_after(now.naive_local())?;
        end.and_local_timezone(chrono::Local)
            .earliest()
            .map(|e| e.timestamp())
    }

    /// Sends the alerts that are due (all undelivered ones with `all_pending`), one attempt
    /// each; failures are scheduled for a retry with backoff, or given up after the limit.
    pub async fn deliver_due(&self, all_pending: bool) -> DeliveryReport {
        let _hold = self.clock.hold();
        let mut report = DeliveryReport::default();
        let now = self.clock.unix();
        let rows = match self.store.claim_alerts(now, all_pending, 500, self.lease) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(e.to_string());
                return report;
            }
        };
        for row in rows {
            let mut alert = match row.alert() {
                Ok(a) => a,
                Err(e) => {
                    let _ = self.store.mark_failed(row.id, &e.to_string());
                    report.failed += 1;
                    continue;
                }
            };
            if let Some(until) = self.quiet_until(&row.topic) {
                if let Err(e) = self.store.postpone(row.id, until) {
                    report.errors.push(e.to_string());
                }
                report.held += 1;
                continue;
            }
            // The batch was claimed at once and is sent one by one: each alert's lease is
            // renewed just before it goes, and one whose lease ran out and was taken over by
            // another process is left to that process.
            match self
                .store
                .renew_alert_lease(row.id, self.clock.unix(), self.lease)
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    report.errors.push(e.to_string());
                    continue;
                }
            }
            if let Err(e) = self.store.refresh_alert(&mut alert) {
                tracing::warn!(alert = %row.alert_id, error = %e, "could not refresh the alert's copies");
            }
            let result = self.notifiers.send(&row.notifier, &alert).await;
            let now = self.clock.unix();
            let recorded = match result {
                Ok(()) => {
                    report.delivered += 1;
                    tracing::info!(alert = %row.alert_id, notifier = %row.notifier, topic = %row.topic, "alert delivered");
                    self.store.mark_delivered(row.id, now)
                }
                Err(e) => {
                    let msg = e.to_string();
                    report.errors.push(msg.clone());
                    let expired = now - row.created_at > self.give_up_after.as_secs() as i64;
                    if !e.retryable || expired {
                        report.failed += 1;
                        tracing::error!(alert = %row.alert_id, error = %msg, "alert given up");
                        self.store.mark_failed(row.id, &msg)
                    } else {
                        report.retrying += 1;
                        let wait = alert_backoff(row.attempts + 1, &row.alert_id);
                        tracing::warn!(alert = %row.alert_id, error = %msg, retry_in = ?wait, "alert not delivered");
                        self.store
                            .mark_retry(row.id, now + wait.as_secs() as i64, &msg)
                    }
                }
            };
            if let Err(e) = recorded {
                report.errors.push(format!(
                    "could not record delivery of {}: {e}",
                    row.alert_id
                ));
            }
        }
        report
    }
}

/// Runs `work` on the blocking pool once one of `slots` is free, and waits for it at most
/// `limit` and a grace second. The work is handed its [`Budget`] of `limit`, started as it
/// starts (not while it waited for a slot behind other polls' parses), and checks it as it
/// goes; the wait here is the backstop for work that cannot, so the poll moves on (the
/// work's result, should it come, is dropped). The slot is given back then too: work that
/// overran must not hold back every other poll's parse.
async fn within_budget<T: Send + 'static>(
    slots: &tokio::sync::Semaphore,
    limit: Duration,
    work: impl FnOnce(Budget) -> T + Send + 'static,
) -> Result<Result<T, tokio::task::JoinError>, OutOfTime> {
    // Never closed: an error here could only mean running without a slot.
    let _slot = slots.acquire().await.ok();
    tokio::time::timeout(
        limit + Duration::from_secs(1),
        tokio::task::spawn_blocking(move || work(Budget::new(limit))),
    )
    .await
    .map_err(|_| OutOfTime(limit))
}

/// Which of a poll's new entries (oldest first) may have their article page fetched: the
/// newest, up to the feed's caps per poll and per host.
fn article_quota(feed: &FeedConfig, entries: &[Entry]) -> Vec<bool> {
    let mut per_host: std::collections::HashMap<String, usize> = Default::default();
    let mut taken = 0;
    let mut quota = vec![true; entries.len()];
    if !feed.full_article {
        return quota;
    }
    // Newest first: by date, then (undated, or on a tie) later in the list.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((entries[i].published.or(entries[i].updated), i)));
    for i in order {
        let Some(host) = entries[i]
            .link
            .as_deref()
            .and_then(|l| Url::parse(l).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        else {
            continue;
        };
        let from_host = per_host.entry(host).or_default();
        if taken >= feed.max_articles_per_poll || *from_host >= feed.max_articles_per_host {
            quota[i] = false;
        } else {
            taken += 1;
            *from_host += 1;
        }
    }
    quota
}

/// Entries whose GUID repeats inside one feed are told apart by GUID + link: some feeds give
/// every item the same GUID (or reuse one per day), and those are different items.
fn distinct_ids(entries: &[Entry]) -> Vec<Entry> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for e in entries {
        *counts.entry(e.id.as_str()).or_default() += 1;
    }
    entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if counts.get(e.id.as_str()).copied().unwrap_or(0) > 1
                && let Some(link) = &e.link
            {
                e.id = format!("{} {link}", e.id);
            }
            e
        })
        .collect()
}

/// Delay before an alert's next try: 5 s, 10 s, 20 s, … capped at an hour, ±20%.
pub fn alert_backoff(attempts: i64, alert_id: &str) -> Duration {
    let base = 5.0 * 2f64.powi((attempts.max(1) - 1).min(20) as i32);
    let capped = base.min(3600.0);
    let jitter = scheduler::backoff(1, alert_id).as_secs_f64() / 60.0; // 0.8..1.2, fixed per alert
    Duration::from_secs_f64((capped * jitter).clamp(1.0, 3600.0))
}

pub fn compile_topics(topics: &[TopicConfig]) -> Result<Vec<Topic>, SetupError> {
    topics
        .iter()
        .map(|t| {
            Query::parse(&t.query)
                .map(|query| Topic {
                    config: t.clone(),
                    query,
                })
                .map_err(|error| SetupError::Query {
                    topic: t.name.clone(),
                    error,
                })
        })
        .collect()
}

/// The item as stored: the article's text when extraction worked, else the feed's own.
fn compose_item(
    feed_id: i64,
    entry: &Entry,
    entry_hash: String,
    article: Option<&Article>,
    note: Option<String>,
) -> NewItem {
    let good = article.filter(|a| a.not_article.is_none() && !a.text.trim().is_empty());
    let feed_text = entry
        .content
        .clone()
        .or(entry.summary.clone())
        .unwrap_or_default();
    let mut text = good.map(|a| a.text.clone()).unwrap_or(feed_text);
    // Topic matching and fingerprints cost a multiple of the text: a page's 5 MB is cut to
    // what the feed stage keeps of a field.
    text.truncate(crate::bounds::prefix(&text, feed::normalise::MAX_TEXT_BYTES).len());
    let title = entry
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .or_else(|| article.and_then(|a| a.title.clone()))
        .unwrap_or_else(|| text.chars().take(80).collect());
    let url = entry.link.clone();
    let canonical_url = good
        .and_then(|a| a.url.as_deref())
        .and_then(dedup::canonical_url)
        .or_else(|| url.as_deref().and_then(dedup::canonical_url));
    let published_at = entry
        .published
        .or(entry.updated)
        .or_else(|| article.and_then(|a| a.published))
        .map(|d| d.timestamp());
    NewItem {
        feed_id,
        guid: entry.id.clone(),
        url,
        canonical_url,
        title,
        published_at,
        seen_at: Utc::now().timestamp(),
        stored: store::Stored::Unknown,
        byline: good.and_then(|a| a.byline.clone()).or(entry.author.clone()),
        site_name: article.and_then(|a| a.site_name.clone()),
        summary: summarise(
            entry
                .summary
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(&text),
        ),
        // The feed's HTML arrives unsanitised (see `Entry::content_html`): it is cleaned here,
        // the one place it is stored, so nothing unsafe reaches the database or a mail.
        html: good
            .map(|a| cut_html(&a.html))
            .or_else(|| entry.content_html.as_deref().map(feed::sanitize_html))
            .unwrap_or_default(),
        text,
        extraction_note: note,
        entry_hash,
        categories: entry.categories.clone(),
    }
}

/// An article's clean HTML cut to what the feed stage keeps of a field, before a tag (the
/// elements left open close at the end of the document): a 5 MB page's HTML is not held in a
/// poll's ingest batch nor stored whole.
fn cut_html(html: &str) -> String {
    let max = feed::normalise::MAX_FIELD_BYTES;
    if html.len() <= max {
        return html.to_string();
    }
    let head = crate::bounds::prefix(html, max);
    head[..head.rfind('<').unwrap_or(head.len())].to_string()
}

/// What the feed itself says of an entry, hashed: a change in it is an update of the item.
fn entry_hash(entry: &Entry) -> String {
    let title = entry.title.as_deref().unwrap_or_default();
    let body = [entry.summary.as_deref(), entry.content.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    dedup::content_hash(title, &body)
}

/// The text's words, one space between them, up to [`SUMMARY_CHARS`] characters: the words
/// that fit whole, then "…" if any were left. (Read word by word up to the cut, since this
/// runs on every new item and item texts run to many times the summary.)
pub fn summarise(text: &str) -> String {
    let mut out = String::with_capacity(SUMMARY_CHARS + 3);
    let mut chars = 0;
    for word in text.split_whitespace() {
        let sep = usize::from(!out.is_empty());
        let len = word.chars().count();
        if chars + sep + len <= SUMMARY_CHARS {
            if sep == 1 {
                out.push(' ');
            }
            out.push_str(word);
            chars += sep + len;
            continue;
        }
        if out.is_empty() {
            // One word longer than the summary: cut inside it.
            out.extend(word.chars().take(SUMMARY_CHARS));
        } else if chars == SUMMARY_CHARS
            && let Some(i) = out.rfind(' ')
        {
            // Full to the last character: no room is left for the space before the next
            // word, so the cut falls at the space before the last word, which goes too.
            out.truncate(i);
        }
        out.push('…');
        break;
    }
    out
}

/// The feed's publish rate after a poll that read it: from its items' dates when they can be
/// believed, else from first-seen times (this poll counting as one post when it found new
/// items), else as it was.
fn publish_rate(
    parsed: &ParsedFeed,
    before: Option<scheduler::Rate>,
    new_items: usize,
    now: chrono::DateTime<Utc>,
) -> Option<scheduler::Rate> {
    let dates = parsed
        .entries
        .iter()
        .filter_map(|e| e.published.or(e.updated))
        .map(|d| d.timestamp());
    scheduler::Rate::from_dates(dates, now.timestamp()).or(if new_items > 0 {
        Some(scheduler::Rate::saw_new(before, now.timestamp()))
    } else {
        before
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, link: &str) -> Entry {
        Entry {
            id: id.into(),
            link: Some(link.into()),
            title: Some("T".into()),
            summary: Some("feed text".into()),
            ..Default::default()
        }
    }

    #[test]
    fn items_sharing_a_guid_in_one_feed_are_told_apart_by_link() {
        let out = distinct_ids(&[
            entry("daily", "https://a.example/1"),
            entry("daily", "https://a.example/2"),
            entry("solo", "https://a.example/3"),
        ]);
        assert_ne!(out[0].id, out[1].id);
        assert_eq!(out[2].id, "solo", "a unique GUID is kept as it is");
    }

    #[test]
    fn a_failed_article_page_keeps_the_feeds_text_and_says_why() {
        let e = entry("g", "https://a.example/1?utm_source=x");
        let item = compose_item(1, &e, entry_hash(&e), None, Some("page failed".into()));
        assert_eq!(item.text, "feed text");
        assert_eq!(item.extraction_note.as_deref(), Some("page failed"));
        assert_eq!(
            item.canonical_url.as_deref(),
            Some("https://a.example/1"),
            "tracking junk is gone"
        );
    }

    #[test]
    fn an_article_that_is_not_one_does_not_replace_the_feeds_text() {
        let e = entry("g", "https://a.example/1");
        let paywall = Article {
            text: "Subscribe to read".into(),
            not_article: Some("paywall".into()),
            ..Default::default()
        };
        assert_eq!(
            compose_item(1, &e, entry_hash(&e), Some(&paywall), None).text,
            "feed text"
        );
        let good = Article {
            text: "The full story.".into(),
            ..Default::default()
        };
        assert_eq!(
            compose_item(1, &e, entry_hash(&e), Some(&good), None).text,
            "The full story."
        );
    }

    #[test]
    fn alert_retries_start_within_ten_seconds_and_stop_growing_at_an_hour() {
        let first = alert_backoff(1, "msg_x");
        assert!(
            first >= Duration::from_secs(4) && first <= Duration::from_secs(10),
            "{first:?}"
        );
        assert!(alert_backoff(3, "msg_x") > first);
        assert!(alert_backoff(40, "msg_x") <= Duration::from_secs(3600));
    }

    #[test]
    fn article_pages_go_to_the_newest_items_within_the_caps_per_poll_and_host() {
        let mut feed = FeedConfig {
            name: None,
            url: Url::parse("https://a.example/rss").unwrap(),
            schedule: crate::config::Schedule::Every(Duration::from_secs(60)),
            adaptive: None,
            tags: vec![],
            full_article: true,
            max_items_per_poll: 10,
            max_articles_per_poll: 3,
            max_articles_per_host: 2,
            alert_backlog: false,
            source: std::sync::Arc::from(std::path::Path::new("")),
            source_line: 1,
        };
        // Oldest first, as the poll hands them on; b.example has the two newest.
        let entries: Vec<Entry> = [
            "https://a.example/1",
            "https://a.example/2",
            "https://a.example/3",
            "https://b.example/4",
            "https://b.example/5",
        ]
        .iter()
        .enumerate()
        .map(|(i, l)| entry(&i.to_string(), l))
        .collect();
        assert_eq!(
            article_quota(&feed, &entries),
            [false, false, true, true, true]
        );
        feed.max_articles_per_poll = 10;
        assert_eq!(
            article_quota(&feed, &entries),
            [false, true, true, true, true]
        );
    }

    #[tokio::test]
    async fn work_past_its_budget_is_left_behind_and_the_poll_moves_on() {
        // One slot: the next work runs although the work that overran is still going.
        let slots = tokio::sync::Semaphore::new(1);
        let start = std::time::Instant::now();
        let out = within_budget(&slots, Duration::from_millis(10), |_| {
            std::thread::sleep(Duration::from_secs(2));
        })
        .await;
        assert!(out.is_err());
        assert!(start.elapsed() < Duration::from_millis(1900));
        assert_eq!(
            within_budget(&slots, Duration::from_secs(5), |_| 7)
                .await
                .unwrap()
                .unwrap(),
            7
        );
        assert!(
            start.elapsed() < Duration::from_millis(1900),
            "waited for the overrun work's slot"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_parse_budget_starts_when_its_turn_comes_not_while_it_waits_for_a_slot() {
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let first = {
            let slots = slots.clone();
            tokio::spawn(async move {
                within_budget(&slots, Duration::from_secs(5), move |_| {
                    let _ = held_tx.send(());
                    // Longer than the next work's whole budget.
                    std::thread::sleep(Duration::from_millis(400));
                })
                .await
            })
        };
        held_rx.await.unwrap();
        let waited = std::time::Instant::now();
        // Waits about 400 ms for the slot, then has its 300 ms.
        let second = within_budget(&slots, Duration::from_millis(300), |budget| budget.check())
            .await
            .unwrap()
            .unwrap();
        assert!(
            waited.elapsed() >= Duration::from_millis(350),
            "did not wait"
        );
        assert!(
            second.is_ok(),
            "the budget ran out while waiting for a slot"
        );
        assert!(first.await.unwrap().is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_parses_run_at_once_than_there_are_slots() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let slots = Arc::new(tokio::sync::Semaphore::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
            tasks.spawn(async move {
                within_budget(&slots, Duration::from_secs(5), move |_| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                    n
                })
                .await
            });
        }
        let mut done = Vec::new();
        while let Some(r) = tasks.join_next().await {
            done.push(r.unwrap().unwrap().unwrap());
        }
        done.sort();
        assert_eq!(done, (0..8).collect::<Vec<_>>(), "every work ran");
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_huge_article_is_stored_cut_before_a_tag() {
        let e = entry("g", "https://a.example/1");
        let big = Article {
            text: "word ".repeat(200_000),
            html: "<p>word word</p>".repeat(100_000),
            ..Default::default()
        };
        let item = compose_item(1, &e, entry_hash(&e), Some(&big), None);
        assert!(item.text.len() <= feed::normalise::MAX_TEXT_BYTES);
        assert!(item.html.len() <= feed::normalise::MAX_FIELD_BYTES);
        // Never inside a tag.
        assert!(item.html.rfind('<') < item.html.rfind('>'));
        assert!(item.html.starts_with("<p>word word</p>"));
    }

    #[test]
    fn summaries_are_cut_at_a_word() {
        let long = "word ".repeat(200);
        let s = summarise(&long);
        assert!(s.ends_with('…') && s.chars().count() <= SUMMARY_CHARS + 1);
        assert_eq!(summarise("short  text"), "short text");
    }

    /// The whole text flattened, then cut: what `summarise` returns, worked out the long way.
    fn summary_of_the_flattened_text(text: &str) -> String {
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if flat.chars().count() <= SUMMARY_CHARS {
            return flat;
        }
        let cut: String = flat.chars().take(SUMMARY_CHARS).collect();
        match cut.rfind(' ') {
            Some(i) => format!("{}…", &cut[..i]),
            None => format!("{cut}…"),
        }
    }

    #[test]
    fn a_summary_is_the_flattened_text_cut_before_the_word_that_does_not_fit() {
        // Words ending just before, at and after the cut, in several scripts, with runs of
        // spaces and line breaks, and single words longer than a summary.
        let mut texts = vec![
            String::new(),
            " \n ".to_string(),
            "é".repeat(SUMMARY_CHARS + 5),
            format!("{} tail", "x".repeat(SUMMARY_CHARS)),
            format!("{} tail", "x".repeat(SUMMARY_CHARS - 1)),
            format!("a {} tail", "x".repeat(SUMMARY_CHARS - 2)),
        ];
        for word in ["ab", "word", "naïve", "日本語", "x"] {
            for extra in 0..8 {
                for sep in [" ", "  \n\t"] {
                    let words = SUMMARY_CHARS / (word.chars().count() + 1) + extra;
                    let text: String = (0..words)
                        .map(|i| format!("{word}{}{sep}", "y".repeat(i % 3)))
                        .collect();
                    texts.push(text);
                }
            }
        }
        for text in &texts {
            assert_eq!(
                summarise(text),
                summary_of_the_flattened_text(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn feed_html_is_sanitised_before_it_is_stored() {
        let entry = Entry {
            id: "1".into(),
            content_html: Some(r#"<p onclick="x()">Hi</p><script>steal()</script>"#.into()),
            ..Entry::default()
        };
        let item = compose_item(1, &entry, entry_hash(&entry), None, None);
        assert!(item.html.contains("<p>Hi</p>"));
        assert!(!item.html.contains("script") && !item.html.contains("onclick"));
    }
}
