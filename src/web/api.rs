//! The JSON API under `/api/`: the pages' data with stable field names (documented in the
//! README's "Web pages and JSON API" section, and checked against it by `tests/web.rs`).
//!
//! Owns the views both the API and the pages are made from ([`FeedView`], [`TopicView`],
//! [`AlertView`]) and the lists' envelope: `{"items": [...], "next": CURSOR | null}`, where
//! `next` is passed back as `after=` (stories, feeds, the tester) or `before=` (alerts) for the
//! following page.

use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{Catalog, Params, Web, feed_name, store_failure, tester};
use crate::outbox::OutboxState;
use crate::store::{
    AlertFilter, DeliveryAttempt, FeedState, OutboxCounts, OutboxRow, PollPoint, StoryCursor,
    StoryDetail, StoryFilter, StoryListing, rfc3339,
};

/// How many recent polls each feed's chart shows.
pub const POLLS_SHOWN: usize = 30;
/// Days of hits each topic's chart shows.
pub const CHART_DAYS: i64 = 30;
/// How long the topic tester searches before it answers with what it has (and where to go on).
pub const TESTER_BUDGET: Duration = Duration::from_millis(20);

/// A feed's health at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedStatus {
    /// Not polled yet.
    New,
    /// Its last poll succeeded (or was answered 304).
    Ok,
    /// Its last poll failed; retried with backoff.
    Failing,
    /// Gone (410): not polled until `feeds reset`.
    Disabled,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedStatus::New => "new",
            FeedStatus::Ok => "ok",
            FeedStatus::Failing => "failing",
            FeedStatus::Disabled => "disabled",
        }
    }
}

/// One feed, as the feeds page and `/api/feeds` show it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedView {
    /// The feed's key (its configured name, else its URL): what `feed=` filters take.
    pub key: String,
    /// What a person calls it: the configured name, else the feed's own title.
    pub name: String,
    /// The URL polled (after any permanent redirect).
    pub url: String,
    /// Its health at a glance, the status column's colour.
    pub status: FeedStatus,
    /// The last poll's status line (`ok 200`, `error 503`, `not-modified 304`).
    pub last_status: Option<String>,
    /// Why the last poll failed (or why the feed is disabled).
    pub last_error: Option<String>,
    /// When it was last polled.
    pub last_poll: Option<String>,
    /// When a poll last succeeded: how stale its stories may be.
    pub last_success: Option<String>,
    /// Failed polls in a row: how long it has been failing.
    pub consecutive_errors: i64,
    /// When it will be polled next (`None` while disabled).
    pub next_poll: Option<String>,
    /// Why the next poll is when it is (`rate (15m)`, `backoff (2m)`, `cron`, …).
    pub next_poll_reason: Option<String>,
    /// Items stored from it.
    pub items: i64,
    /// Its configured tags, which `tag=` filters on.
    pub tags: Vec<String>,
    /// Its last polls, oldest first.
    pub polls: Vec<PollPoint>,
}

impl FeedView {
    pub fn of(s: FeedState, catalog: &Catalog, polls: Vec<PollPoint>) -> FeedView {
        let status = if s.disabled_reason.is_some() {
            FeedStatus::Disabled
        } else if s.last_poll_at.is_none() {
            FeedStatus::New
        } else if s.consecutive_errors > 0 {
            FeedStatus::Failing
        } else {
            FeedStatus::Ok
        };
        let disabled = s.disabled_reason.is_some();
        FeedView {
            name: feed_name(catalog, &s.key, s.title.as_deref()),
            tags: catalog
                .feeds
                .get(&s.key)
                .map(|f| f.tags.clone())
                .unwrap_or_default(),
            next_poll_reason: (!disabled)
                .then(|| crate::commands::why_due(&s))
                .filter(|r| r != "-"),
            next_poll: if disabled {
                None
            } else {
                s.next_due_at.map(rfc3339)
            },
            last_error: s.last_error.or(s.disabled_reason),
            key: s.key,
            url: s.url,
            status,
            last_status: s.last_status,
            last_poll: s.last_poll_at.map(rfc3339),
            last_success: s.last_success_at.map(rfc3339),
            consecutive_errors: s.consecutive_errors,
            items: s.items,
            polls,
        }
    }
}

/// Every feed the store knows, sorted by key, with its recent polls.
pub fn feed_views(web: &Web) -> Result<Vec<FeedView>, crate::store::StoreError> {
    let catalog = web.catalog();
    let states = web.store.feeds()?;
    let ids: Vec<i64> = states.iter().map(|s| s.id).collect();
    let mut polls = web.store.recent_polls(&ids, POLLS_SHOWN)?;
    Ok(states
        .into_iter()
        .map(|s| {
            let p = polls.remove(&s.id).unwrap_or_default();
            FeedView::of(s, &catalog, p)
        })
        .collect())
}

/// One day's hits of a topic.
#[derive(Debug, Clone, Serialize)]
pub struct DayHits {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Stories it matched that day.
    pub hits: i64,
}

/// A configured topic with its recent hits.
#[derive(Debug, Clone, Serialize)]
pub struct TopicView {
    /// The topic's name, as alerts and `topic=` name it.
    pub name: String,
    /// Its query, as written, to read beside its hits.
    pub query: String,
    /// The notifiers its alerts go to.
    pub notify: Vec<String>,
    /// Whether its matches wait for a digest instead of alerting at once.
    pub digest: bool,
    /// Stories matched over the last [`CHART_DAYS`] days.
    pub hits: i64,
    /// The days of those that had hits, oldest first.
    pub per_day: Vec<DayHits>,
    /// The same as (unix day, hits), for the chart.
    #[serde(skip)]
    pub days: Vec<(i64, i64)>,
}

pub fn topic_views(web: &Web, now: i64) -> Result<Vec<TopicView>, crate::store::StoreError> {
    let today = now.div_euclid(86400);
    let since = (today - CHART_DAYS + 1) * 86400;
    let mut out = Vec::new();
    for t in web.catalog().topics {
        let days = web.store.topic_hits_per_day(&t.name, since)?;
        out.push(TopicView {
            hits: days.iter().map(|&(_, n)| n).sum(),
            per_day: days
                .iter()
                .map(|&(d, n)| DayHits {
                    day: super::chart::day_label(d),
                    hits: n,
                })
                .collect(),
            days,
            name: t.name,
            query: t.query,
            notify: t.notify,
            digest: t.digest,
        });
    }
    Ok(out)
}

/// One alert (one delivery to one notifier) in the outbox.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// The outbox row: `/alerts/ID` and `/api/alerts/ID`.
    pub id: i64,
    /// The alert's stable id (`msg_…`), as the webhook-id and the mail's Message-ID carry it.
    pub alert_id: String,
    /// The notifier it goes to.
    pub notifier: String,
    /// The topic (or feed event) it is about.
    pub topic: String,
    /// Where it is on its way out.
    pub state: OutboxState,
    /// Tries so far.
    pub attempts: i64,
    /// When it was queued.
    pub created: String,
    /// When it will be tried (again), while it waits.
    pub next_attempt: Option<String>,
    /// When the receiver took it.
    pub delivered: Option<String>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// The titles of the stories it carries.
    pub stories: Vec<AlertStoryView>,
}

/// A story an alert carries.
#[derive(Debug, Clone, Serialize)]
pub struct AlertStoryView {
    /// The story's id, when it is a stored story (`/stories/ID`).
    pub id: Option<i64>,
    /// Its headline, as the alert carried it.
    pub title: String,
    /// Its link, as the alert carried it.
    pub url: String,
}

impl AlertView {
    pub fn of(r: &OutboxRow) -> AlertView {
        let stories = r
            .alert()
            .map(|a| {
                a.stories
                    .into_iter()
                    .map(|s| AlertStoryView {
                        id: s.id.parse().ok(),
                        title: s.title,
                        url: s.url,
                    })
                    .collect()
            })
            .unwrap_or_default();
        AlertView {
            id: r.id,
            alert_id: r.alert_id.clone(),
            notifier: r.notifier.clone(),
            topic: r.topic.clone(),
            state: r.state,
            attempts: r.attempts,
            created: rfc3339(r.created_at),
            next_attempt: matches!(r.state, OutboxState::Pending | OutboxState::Sending)
                .then(|| rfc3339(r.next_attempt_at)),
            delivered: r.delivered_at.map(rfc3339),
            last_error: r.last_error.clone(),
            stories,
        }
    }
}

/// Reads the stories page's filters (`topic`, `feed`, `tag`, `since`) and cursor (`after`).
pub fn story_query(
    p: &Params,
    catalog: &Catalog,
    now: i64,
) -> Result<(StoryFilter, Option<StoryCursor>, usize), String> {
    let after = p
        .get("after")
        .map(|a| {
            StoryCursor::decode(a).ok_or_else(|| {
                format!("after={a}: not a cursor; pass back the `next` of the previous page")
            })
        })
        .transpose()?;
    let filter = StoryFilter {
        topic: p.get("topic").map(str::to_string),
        feed: p.get("feed").map(str::to_string),
        tag: p
            .get("tag")
            .map(|t| (catalog.feeds_tagged(t), t.to_string())),
        since: p.since(now)?,
        until: None,
    };
    Ok((filter, after, p.limit()?))
}

/// Reads the alerts page's filters (`state`, `notifier`) and cursor (`before`).
pub fn alert_query(p: &Params) -> Result<(AlertFilter, usize), String> {
    let state = match p.get("state") {
        None => None,
        Some("pending") => Some(OutboxState::Pending),
        Some("sending") => Some(OutboxState::Sending),
        Some("delivered") => Some(OutboxState::Delivered),
        Some("failed") => Some(OutboxState::Failed),
        Some(other) => {
            return Err(format!(
                "state={other}: say pending, sending, delivered or failed"
            ));
        }
    };
    let before = p
        .get("before")
        .map(|b| {
            b.parse::<i64>().map_err(|_| {
                format!("before={b}: not an alert id; pass back the `next` of the previous page")
            })
        })
        .transpose()?;
    Ok((
        AlertFilter {
            state,
            notifier: p.get("notifier").map(str::to_string),
            before,
        },
        p.limit()?,
    ))
}

/// A list's envelope.
#[derive(Serialize)]
struct Page<T: Serialize> {
    items: Vec<T>,
    next: Option<String>,
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// An error as JSON: `{"error": "what is wrong and what to do"}`.
fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": message }).to_string(),
    )
        .into_response()
}

fn failed(e: crate::store::StoreError) -> Response {
    let (status, message) = store_failure(e);
    error(status, message)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub async fn feeds(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let limit = match p.limit() {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let all = match feed_views(&web) {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let items: Vec<FeedView> = all
        .into_iter()
        .filter(|f| p.get("after").is_none_or(|a| f.key.as_str() > a))
        .take(limit + 1)
        .collect();
    let mut items = items;
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|f| f.key.clone()).unwrap_or_default()
    });
    json(&Page { items, next })
}

pub async fn stories(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let (filter, after, limit) = match story_query(&p, &web.catalog(), now()) {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match story_page(&web, &filter, after, limit) {
        Ok((items, next)) => json(&Page { items, next }),
        Err(e) => failed(e),
    }
}

/// A page of stories and the cursor of the next (one more row is read to know there is one).
pub fn story_page(
    web: &Web,
    filter: &StoryFilter,
    after: Option<StoryCursor>,
    limit: usize,
) -> Result<(Vec<StoryListing>, Option<String>), crate::store::StoreError> {
    let page = web.store.story_page(filter, after, limit + 1)?;
    let mut items = page.items;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|s| {
            StoryCursor {
                first_seen: s.first_seen_at,
                id: s.id,
            }
            .encode()
        })
    } else {
        // A rare filter's scan stopped before the archive's start: carry on from there.
        page.scanned_to.map(|c| c.encode())
    };
    Ok((items, next))
}

pub async fn story(State(web): State<Web>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{id} is not a story id; ids are numbers, as /api/stories lists them"),
        );
    };
    match web.store.story_detail(id) {
        Ok(Some(s)) => json::<StoryDetail>(&s),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no story {id}")),
        Err(e) => failed(e),
    }
}

pub async fn topics(State(web): State<Web>) -> Response {
    match topic_views(&web, now()) {
        Ok(items) => json(&Page { items, next: None }),
        Err(e) => failed(e),
    }
}

pub async fn topics_test(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let Some(text) = p.get("q") else {
        return error(
            StatusCode::BAD_REQUEST,
            "give the query to test as q=, e.g. /api/topics/test?q=iraq+AND+troops".into(),
        );
    };
    let after = match p.get("after").map(|a| StoryCursor::decode(a).ok_or(a)) {
        Some(Err(a)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("after={a}: not a cursor; pass back the `next` of the previous answer"),
            );
        }
        Some(Ok(c)) => Some(c),
        None => None,
    };
    let limit = match p.limit() {
        Ok(l) => l,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match tester::search(
        &web.store,
        &web.catalog(),
        text,
        after,
        limit,
        TESTER_BUDGET,
    ) {
        Ok(found) => json(&serde_json::json!({
            "query": found.query,
            "items": found.hits,
            "searched": found.searched,
            "next": found.next,
        })),
        Err(tester::TestError::Query(e)) => error(
            StatusCode::BAD_REQUEST,
            format!("the query is not valid: {e}"),
        ),
        Err(tester::TestError::Store(e)) => failed(e),
    }
}

/// Alerts per notifier by state, and a page of the outbox.
#[derive(Serialize)]
struct AlertsPage {
    counts: Vec<OutboxCounts>,
    items: Vec<AlertView>,
    next: Option<String>,
}

/// A page of alerts and the cursor of the next.
pub fn alert_page(
    web: &Web,
    filter: &AlertFilter,
    limit: usize,
) -> Result<(Vec<AlertView>, Option<String>), crate::store::StoreError> {
    let mut rows = web.store.alert_page(filter, limit + 1)?;
    let next = (rows.len() > limit).then(|| {
        rows.truncate(limit);
        rows.last().map(|r| r.id.to_string()).unwrap_or_default()
    });
    Ok((rows.iter().map(AlertView::of).collect(), next))
}

pub async fn alerts(State(web): State<Web>, RawQuery(q): RawQuery) -> Response {
    let p = Params::of(q.as_deref());
    let (filter, limit) = match alert_query(&p) {
        Ok(x) => x,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let counts = match web.store.outbox_counts() {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    match alert_page(&web, &filter, limit) {
        Ok((items, next)) => json(&AlertsPage {
            counts,
            items,
            next,
        }),
        Err(e) => failed(e),
    }
}

/// One alert and its delivery log.
#[derive(Serialize)]
struct AlertDetail {
    #[serde(flatten)]
    alert: AlertView,
    log: Vec<DeliveryAttempt>,
}

pub async fn alert(State(web): State<Web>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{id} is not an alert id; ids are numbers, as /api/alerts lists them"),
        );
    };
    match web.store.alert_detail(id) {
        Ok(Some((row, log))) => json(&AlertDetail {
            alert: AlertView::of(&row),
            log,
        }),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no alert {id}")),
        Err(e) => failed(e),
    }
}
