//! Feeds: each configured feed's polling state (URL after redirects, validators, last poll,
//! next due, errors), the log of its polls, and the lease of the process polling it.
//!
//! A poll starts by claiming the feed ([`Store::claim_feed`]): one conditional update that only
//! one process can win while the feed is due (or, for `feedwatch once`, not yet polled in this
//! pass) and nobody else's lease is live. The poll's record releases the lease.

use std::time::Duration;

use super::db::{ColumnType, Columns, Db, Dialect, Row, Value, args, values_list};
use super::{Lease, Result, Store, StoreError, lease_until};
use crate::feed::hints::Hints;
use crate::scheduler::{DueReason, Rate};

/// What the scheduler and fetcher need to know about a feed between polls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    pub id: i64,
    pub key: String,
    /// The URL to poll (may differ from the config's after a permanent redirect).
    pub url: String,
    pub title: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub next_due_at: Option<i64>,
    pub consecutive_errors: i64,
    pub disabled_reason: Option<String>,
    /// Items stored from this feed.
    pub items: i64,
    /// When the current run of failed polls began; `None` while the feed is healthy.
    pub failing_since: Option<i64>,
    /// The process polling the feed now, if its lease has not expired (as of reading).
    pub lease: Option<Lease>,
    /// Why `next_due_at` is what it is, and the interval that reason stands for (seconds).
    pub due_reason: Option<DueReason>,
    pub due_interval: Option<i64>,
    /// The feed's recent publishing, when known.
    pub rate: Option<Rate>,
    /// The feed's own polling hints as last read.
    pub hints: Hints,
}

/// How a poll ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PollOutcome {
    /// The feed was fetched and parsed.
    #[default]
    Ok,
    /// The server answered 304: nothing changed.
    NotModified,
    /// Fetching or parsing failed.
    Error,
}

impl PollOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PollOutcome::Ok => "ok",
            PollOutcome::NotModified => "not-modified",
            PollOutcome::Error => "error",
        }
    }
}

/// What one poll of a feed did, recorded at once.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    pub at: i64,
    pub outcome: PollOutcome,
    pub http_status: Option<u16>,
    pub bytes: Option<usize>,
    pub new_items: usize,
    pub error: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_due_at: i64,
    pub consecutive_errors: i64,
    /// Set when the feed moved permanently.
    pub new_url: Option<String>,
    /// Set when the feed is gone (410) and must not be polled again.
    pub disabled_reason: Option<String>,
    pub title: Option<String>,
    pub site_link: Option<String>,
    /// Why `next_due_at`, and the interval that reason stands for (seconds).
    pub due_reason: Option<DueReason>,
    pub due_interval: Option<i64>,
    /// The publish rate to keep (`None` forgets it).
    pub rate: Option<Rate>,
    /// The feed's hints to keep.
    pub hints: Hints,
    /// How long the poll took (ms), for the feeds page's chart of recent polls.
    pub duration_ms: Option<i64>,
}

/// Which polls a claim takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimMode {
    /// The daemon's: the feed must be due (`next_due_at` reached, or never polled).
    Due,
    /// `feedwatch once`'s: every feed, except one another process claimed after this pass
    /// began (unix ms), so several `once` started together poll each feed once.
    Pass { since_ms: i64 },
}

/// What a claim got.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This process holds the feed's lease: poll it.
    Claimed(Box<FeedState>),
    /// Another process holds a live lease.
    Held(Lease),
    /// Not due until then (another process polled it).
    NotDue { next_due_at: i64 },
    /// Another process polled it during this `once` pass.
    Polled { by: Option<String> },
    /// The feed is disabled (410 Gone), for this reason.
    Disabled(String),
}

const FEED_SELECT: &str = "SELECT f.id, f.key, f.url, f.title, f.etag, f.last_modified, f.last_poll_at, f.last_success_at,
        f.last_status, f.last_error, f.next_due_at, f.consecutive_errors, f.disabled_reason,
        f.item_count, f.failing_since, f.lease_owner, f.lease_until,
        f.due_reason, f.due_interval, f.rate_since, f.rate_posts, f.feed_hints
     FROM feeds f";

/// The columns of [`FEED_SELECT`] as an `UPDATE … RETURNING` gives them (the item count,
/// which only `feeds` shows, as 0).
const FEED_RETURNING: &str =
    "id, key, url, title, etag, last_modified, last_poll_at, last_success_at,
        last_status, last_error, next_due_at, consecutive_errors, disabled_reason, 0, failing_since,
        lease_owner, lease_until, due_reason, due_interval, rate_since, rate_posts, feed_hints";

/// On PostgreSQL, a row another process is claiming this moment is skipped, not waited for.
fn skip_locked(db: &Db) -> &'static str {
    match db.dialect() {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    }
}

fn feed_from_row(r: &Row, now: i64) -> Result<FeedState> {
    let owner: Option<String> = r.get(15)?;
    let until: Option<i64> = r.get(16)?;
    let reason: Option<String> = r.get(17)?;
    let rate_since: Option<i64> = r.get(19)?;
    let rate_posts: Option<i64> = r.get(20)?;
    let hints: Option<String> = r.get(21)?;
    Ok(FeedState {
        due_reason: reason.as_deref().and_then(DueReason::parse),
        due_interval: r.get(18)?,
        rate: rate_since
            .zip(rate_posts)
            .map(|(since, posts)| Rate { since, posts }),
        hints: hints.as_deref().map(Hints::decode).unwrap_or_default(),
        id: r.get(0)?,
        key: r.get(1)?,
        url: r.get(2)?,
        title: r.get(3)?,
        etag: r.get(4)?,
        last_modified: r.get(5)?,
        last_poll_at: r.get(6)?,
        last_success_at: r.get(7)?,
        last_status: r.get(8)?,
        last_error: r.get(9)?,
        next_due_at: r.get(10)?,
        consecutive_errors: r.get(11)?,
        disabled_reason: r.get(12)?,
        items: r.get(13)?,
        failing_since: r.get(14)?,
        lease: match (owner, until) {
            (Some(owner), Some(until)) if until >= now => Some(Lease { owner, until }),
            _ => None,
        },
    })
}

fn feed_state(db: &mut Db, key: &str, now: i64) -> Result<Option<FeedState>> {
    db.query_opt(
        &format!("{FEED_SELECT} WHERE f.key = $1"),
        args![key],
        |r| feed_from_row(r, now),
    )
}

/// Makes sure the feed's row exists. A feed whose configured URL changed starts over at the new
/// URL; one moved by a redirect keeps its move.
///
/// Two statements that write (and on PostgreSQL lock the row) only when something changes, so
/// processes claiming a feed together do not queue behind each other's no-op upsert.
fn upsert(db: &mut Db, key: &str, config_url: &str) -> Result<()> {
    db.execute(
        "INSERT INTO feeds (key, config_url, url) VALUES ($1, $2, $2) ON CONFLICT (key) DO NOTHING",
        args![key, config_url],
    )?;
    db.execute(
        "UPDATE feeds SET url = $2, disabled_reason = NULL, config_url = $2
         WHERE key = $1 AND config_url <> $2",
        args![key, config_url],
    )?;
    Ok(())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Makes sure a row exists for each of these configured feeds (key, URL), a few hundred per
    /// statement: done once before a pass, it spares each new feed's first claim the
    /// transaction that files it (several round trips to a server per feed). A feed whose URL
    /// changed is left to its claim, which resets its state.
    pub fn register_feeds(&self, feeds: &[(&str, &str)]) -> Result<()> {
        if feeds.is_empty() {
            return Ok(());
        }
        self.tx(|db| {
            for chunk in feeds.chunks(500) {
                let params: Vec<Value> = chunk
                    .iter()
                    .flat_map(|(key, url)| [Value::Text(key), Value::Text(url)])
                    .collect();
                let values = values_list(chunk.len(), &[None, None]);
                db.execute(
                    &format!(
                        // `WHERE true`: SQLite's reading of an upsert from a SELECT.
                        "WITH q(k, u) AS (VALUES {values})
                         INSERT INTO feeds (key, config_url, url)
                         SELECT k, u, u FROM q WHERE true
                         ON CONFLICT (key) DO NOTHING"
                    ),
                    &params,
                )?;
            }
            Ok(())
        })
    }

    /// Of these feeds, those another process claimed since `since_ms` (unix ms: when this
    /// `once` pass began), each with the process that holds or held it: one read for many
    /// feeds, where a claim each would lose one by one.
    pub fn polled_in_pass(
        &self,
        keys: &[&str],
        since_ms: i64,
    ) -> Result<std::collections::HashMap<String, Option<String>>> {
        if keys.is_empty() {
            return Ok(Default::default());
        }
        let owner = self.owner();
        self.read(|db| {
            let mut params: Vec<Value> = vec![Value::Int(since_ms), Value::Text(owner)];
            params.extend(keys.iter().map(|k| Value::Text(k)));
            let list: Vec<String> = (3..3 + keys.len()).map(|n| format!("${n}")).collect();
            let rows: Vec<(String, Option<String>)> = db.query(
                &format!(
                    "SELECT key, lease_owner FROM feeds
                     WHERE key IN ({}) AND claimed_at_ms >= $1
                       AND (lease_owner IS NULL OR lease_owner <> $2)",
                    list.join(", ")
                ),
                &params,
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(rows.into_iter().collect())
        })
    }

    /// Makes sure a row exists for each configured feed and returns its state.
    pub fn sync_feed(&self, key: &str, config_url: &str) -> Result<FeedState> {
        let now = now();
        self.tx(|db| {
            upsert(db, key, config_url)?;
            feed_state(db, key, now)?.ok_or_else(|| StoreError::NotFound(format!("feed {key}")))
        })
    }

    pub fn feed(&self, key: &str) -> Result<Option<FeedState>> {
        let now = now();
        self.with(|db| feed_state(db, key, now))
    }

    pub fn feeds(&self) -> Result<Vec<FeedState>> {
        let now = now();
        self.with(|db| {
            db.query(&format!("{FEED_SELECT} ORDER BY f.key"), &[], |r| {
                feed_from_row(r, now)
            })
        })
    }

    /// [`Store::claim_feed`]'s common case for many feeds in one statement: of these configured
    /// feeds (key, URL), those whose rows are there with the URL unchanged and which are this
    /// process's to take are claimed and returned by key. On PostgreSQL, rows other processes
    /// are claiming are skipped, so processes walking the same feeds take different ones. A
    /// feed not returned may still be claimable (a new feed, a changed URL): ask
    /// [`Store::claim_feed`] for it, which also says why not.
    pub fn claim_feeds(
        &self,
        feeds: &[(&str, &str)],
        mode: ClaimMode,
        lease: Duration,
        now_ms: i64,
    ) -> Result<std::collections::HashMap<String, FeedState>> {
        if feeds.is_empty() {
            return Ok(Default::default());
        }
        let now = now_ms.div_euclid(1000);
        let until = lease_until(now, lease);
        let owner: &str = &self.owner;
        let since_ms = match mode {
            ClaimMode::Due => None,
            ClaimMode::Pass { since_ms } => Some(since_ms),
        };
        self.with(|db| {
            // $5, the pass's start, only where the condition uses it: PostgreSQL refuses a
            // parameter whose type nothing in the statement tells.
            let mut params: Vec<Value> = args![owner, until, now, now_ms].to_vec();
            if let Some(since) = since_ms {
                params.push(Value::Int(since));
            }
            let first = params.len() + 1;
            for (key, url) in feeds {
                params.extend([Value::Text(key), Value::Text(url)]);
            }
            let keys: Vec<String> = (0..feeds.len())
                .map(|n| format!("${}", first + 2 * n))
                .collect();
            let urls: Vec<String> = (0..feeds.len())
                .map(|n| format!("WHEN ${} THEN ${}", first + 2 * n, first + 2 * n + 1))
                .collect();
            let condition = match mode {
                ClaimMode::Due => "(next_due_at IS NULL OR next_due_at <= $3)",
                ClaimMode::Pass { .. } => {
                    "(claimed_at_ms IS NULL OR claimed_at_ms < $5 OR lease_owner = $1)"
                }
            };
            let lock = skip_locked(db);
            let rows = db.query(
                &format!(
                    "UPDATE feeds SET lease_owner = $1, lease_until = $2, claimed_at_ms = $4
                     WHERE id IN (SELECT id FROM feeds
                       WHERE key IN ({keys}) AND config_url = CASE key {urls} END
                         AND disabled_reason IS NULL
                         AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $1)
                         AND {condition} {lock})
                     RETURNING {FEED_RETURNING}",
                    keys = keys.join(", "),
                    urls = urls.join(" "),
                ),
                &params,
                |r| feed_from_row(r, now),
            )?;
            Ok(rows.into_iter().map(|f| (f.key.clone(), f)).collect())
        })
    }

    /// Claims a configured feed for one poll by this process, for `lease` from `now_ms` (unix
    /// ms; see [`ClaimMode`]).
    pub fn claim_feed(
        &self,
        key: &str,
        config_url: &str,
        mode: ClaimMode,
        lease: Duration,
        now_ms: i64,
    ) -> Result<Claim> {
        let now = now_ms.div_euclid(1000);
        let until = lease_until(now, lease);
        let owner: &str = &self.owner;
        // The common case in one statement (one round trip to a server): the feed's row is
        // there, its URL unchanged, and it is this process's to take.
        let fast = self
            .claim_feeds(&[(key, config_url)], mode, lease, now_ms)?
            .remove(key);
        if let Some(state) = fast {
            return Ok(Claim::Claimed(Box::new(state)));
        }
        // Not taken. Most often another process has the feed or had it in this pass (with
        // several processes, most claims end so): that is told from one read, without the
        // transaction below, which files the row and tries again.
        type Why = (
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let why: Option<Why> = self.with(|db| {
            db.query_opt(
                "SELECT config_url, disabled_reason, lease_owner, lease_until, next_due_at, claimed_at_ms
                 FROM feeds WHERE key = $1",
                args![key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
        })?;
        if let Some((url, disabled, lease_owner, lease_until, next_due, claimed)) = why
            && url == config_url
        {
            if let Some(reason) = disabled {
                return Ok(Claim::Disabled(reason));
            }
            let theirs = lease_owner.as_deref().is_some_and(|o| o != owner);
            if theirs
                && let (Some(o), Some(until)) = (&lease_owner, lease_until)
                && until >= now
            {
                return Ok(Claim::Held(Lease {
                    owner: o.clone(),
                    until,
                }));
            }
            match (mode, next_due, claimed) {
                (ClaimMode::Due, Some(due), _) if due > now => {
                    return Ok(Claim::NotDue { next_due_at: due });
                }
                (ClaimMode::Pass { since_ms }, _, Some(at)) if at >= since_ms && theirs => {
                    return Ok(Claim::Polled { by: lease_owner });
                }
                (ClaimMode::Pass { since_ms }, _, Some(at))
                    if at >= since_ms && lease_owner.is_none() =>
                {
                    return Ok(Claim::Polled { by: None });
                }
                // Free and due after all (a lease ran out since): the whole story below.
                _ => {}
            }
        }
        // A new feed, a changed URL, or not ours to take: the whole story, in a transaction.
        self.tx(|db| {
            upsert(db, key, config_url)?;
            // On PostgreSQL a row another process is claiming right now is skipped, not
            // waited for: that process has the feed.
            let lock = skip_locked(db);
            let claim = |condition: &str| {
                format!(
                    "UPDATE feeds SET lease_owner = $2, lease_until = $3, claimed_at_ms = $5
                     WHERE id IN (SELECT id FROM feeds
                       WHERE key = $1 AND disabled_reason IS NULL
                         AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $2)
                         AND {condition} {lock})"
                )
            };
            let taken = match mode {
                ClaimMode::Due => db.execute(
                    &claim("(next_due_at IS NULL OR next_due_at <= $4)"),
                    args![key, owner, until, now, now_ms],
                )?,
                ClaimMode::Pass { since_ms } => db.execute(
                    &claim("(claimed_at_ms IS NULL OR claimed_at_ms < $6 OR lease_owner = $2)"),
                    args![key, owner, until, now, now_ms, since_ms],
                )?,
            };
            let state = feed_state(db, key, now)?
                .ok_or_else(|| StoreError::NotFound(format!("feed {key}")))?;
            if taken == 1 {
                return Ok(Claim::Claimed(Box::new(state)));
            }
            if let Some(reason) = state.disabled_reason {
                return Ok(Claim::Disabled(reason));
            }
            if let Some(lease) = state.lease.filter(|l| l.owner != owner) {
                return Ok(Claim::Held(lease));
            }
            Ok(match mode {
                // Due, free, and still not taken: another process is claiming it this moment
                // (its row was skipped as locked); it is theirs.
                ClaimMode::Due if state.next_due_at.is_none_or(|d| d <= now) => {
                    Claim::Held(Lease {
                        owner: "another process (claiming it now)".into(),
                        until: now + 1,
                    })
                }
                ClaimMode::Due => Claim::NotDue {
                    next_due_at: state.next_due_at.unwrap_or(now),
                },
                ClaimMode::Pass { .. } => Claim::Polled {
                    by: db.query_one(
                        "SELECT lease_owner FROM feeds WHERE key = $1",
                        args![key],
                        |r| r.get(0),
                    )?,
                },
            })
        })
    }

    /// Extends this process's lease on a feed it is still polling; false when the lease was
    /// lost (expired and taken by another process).
    pub fn renew_feed_lease(&self, feed_id: i64, lease: Duration) -> Result<bool> {
        let until = lease_until(now(), lease);
        let owner: &str = &self.owner;
        self.with(|db| {
            Ok(db.execute(
                "UPDATE feeds SET lease_until = $3 WHERE id = $1 AND lease_owner = $2",
                args![feed_id, owner, until],
            )? == 1)
        })
    }

    /// Makes a feed due now and healthy again (`feedwatch feeds reset`): a feed disabled by
    /// 410 Gone is enabled, its backoff and failure streak cleared. `false` when the feed has
    /// no row (it was never polled).
    pub fn reset_feed(&self, key: &str) -> Result<bool> {
        let n = self.with(|db| {
            db.execute(
                "UPDATE feeds SET disabled_reason = NULL, consecutive_errors = 0,
                   failing_since = NULL, next_due_at = NULL, due_reason = $2, due_interval = NULL
                 WHERE key = $1",
                args![key, DueReason::Reset.as_str()],
            )
        })?;
        Ok(n > 0)
    }

    /// Records a poll and releases this process's lease on the feed.
    pub fn record_poll(&self, feed_id: i64, r: &PollRecord) -> Result<()> {
        self.record_polls(&[(feed_id, r)])
    }

    /// [`Store::record_poll`] for polls that end together: one transaction for all, and on
    /// PostgreSQL one statement (one round trip to the server instead of one per poll). All or
    /// nothing.
    pub fn record_polls(&self, polls: &[(i64, &PollRecord)]) -> Result<()> {
        if polls.is_empty() {
            return Ok(());
        }
        let owner: &str = &self.owner;
        match self.dialect() {
            Dialect::Postgres => self.with(|db| record_polls_postgres(db, owner, polls))?,
            Dialect::Sqlite => self.tx(|db| {
                for (feed_id, r) in polls {
                    record_poll_sqlite(db, owner, *feed_id, r)?;
                }
                Ok(())
            })?,
        }
        // The log is for diagnosis, not history: each feed keeps its last 100 polls, and a
        // few more between trims, made at one poll in 16 on average (a trim at every poll
        // cost a statement each time).
        let trimmed: Vec<i64> = polls
            .iter()
            .filter(|(feed_id, r)| trim_dice(*feed_id, r.at))
            .map(|(feed_id, _)| *feed_id)
            .collect();
        if trimmed.is_empty() {
            return Ok(());
        }
        self.with(|db| {
            for feed_id in trimmed {
                db.execute(
                    "DELETE FROM fetch_log WHERE feed_id = $1 AND id NOT IN
                       (SELECT id FROM fetch_log WHERE feed_id = $1 ORDER BY id DESC LIMIT 100)",
                    args![feed_id],
                )?;
            }
            Ok(())
        })
    }

    /// [`Store::record_poll`] for async callers: the poll waits for its record without holding
    /// a thread, and one blocking task writes every record waiting then in one
    /// [`Store::record_polls`], so polls that end together share a round trip and a commit.
    /// Should that fail, each record is written alone and gets its own answer.
    pub async fn record_poll_async(&self, feed_id: i64, record: PollRecord) -> Result<()> {
        let store = self.clone();
        self.poll_queue
            .ask((feed_id, record), records_per_statement, move |polls| {
                let refs: Vec<(i64, &PollRecord)> = polls.iter().map(|(id, r)| (*id, r)).collect();
                match store.record_polls(&refs) {
                    Ok(()) => polls.iter().map(|_| Ok(())).collect(),
                    Err(_) => refs
                        .iter()
                        .map(|(id, r)| store.record_poll(*id, r))
                        .collect(),
                }
            })
            .await
            .unwrap_or_else(|| {
                Err(StoreError::Unavailable(
                    "the poll was not recorded (the process is stopping); the feed is polled again once its lease ends".into(),
                ))
            })
    }
}

/// Poll records waiting to be written (see [`Store::record_poll_async`]): each feed's id and
/// record, answered with whether it was written.
pub(super) type PollQueue = super::gather::Gather<(i64, PollRecord), Result<()>>;

/// How many of the oldest waiting records one statement writes: at most
/// [`RECORDS_PER_STATEMENT`], each feed once (were a feed's two polls in one statement, which
/// one its row kept would be left to chance).
fn records_per_statement(waiting: &[((i64, PollRecord), impl Sized)]) -> usize {
    let mut feeds = std::collections::HashSet::new();
    waiting
        .iter()
        .take(RECORDS_PER_STATEMENT)
        .take_while(|((feed_id, _), _)| feeds.insert(*feed_id))
        .count()
}

/// Records written by one statement at most: a pass's polls end a few dozen at a time, and a
/// statement this size still takes a few milliseconds.
const RECORDS_PER_STATEMENT: usize = 256;

/// Whether this poll trims its feed's log: about one in 16, drawn from the clock.
fn trim_dice(feed_id: i64, at: i64) -> bool {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // The feed and the time mixed in, so polls recorded in the same instant draw apart.
    let mixed =
        u64::from(nanos >> 10) ^ (feed_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (at as u64);
    mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60 == 0
}

/// The feed row's new values for a poll's record, as both engines write them (`r` names the
/// record's columns, `$OWNER` this process).
const RECORD_SET: &str = "
       last_poll_at = r.at,
       last_success_at = CASE WHEN r.outcome = 'error' THEN f.last_success_at ELSE r.at END,
       failing_since = CASE WHEN r.outcome = 'error' THEN COALESCE(f.failing_since, r.at) END,
       last_status = r.outcome || COALESCE(' ' || r.http_status, ''),
       last_error = r.error,
       etag = CASE WHEN r.outcome = 'ok' THEN r.etag ELSE f.etag END,
       last_modified = CASE WHEN r.outcome = 'ok' THEN r.last_modified ELSE f.last_modified END,
       next_due_at = r.next_due_at,
       consecutive_errors = r.consecutive_errors,
       url = COALESCE(r.new_url, f.url),
       disabled_reason = COALESCE(r.disabled_reason, f.disabled_reason),
       title = COALESCE(r.title, f.title),
       site_link = COALESCE(r.site_link, f.site_link),
       lease_owner = CASE WHEN f.lease_owner = $OWNER THEN NULL ELSE f.lease_owner END,
       lease_until = CASE WHEN f.lease_owner = $OWNER THEN NULL ELSE f.lease_until END,
       due_reason = r.due_reason, due_interval = r.due_interval, rate_since = r.rate_since,
       rate_posts = r.rate_posts, feed_hints = r.hints";

/// [`RECORD_SET`] with each `r.COLUMN` written as the parameter holding it (the column's
/// place in [`RECORD_COLUMNS`]) and the owner as the one after them.
fn record_set_with_parameters() -> String {
    let columns: Vec<&str> = RECORD_COLUMNS.split(',').map(str::trim).collect();
    let set = RECORD_SET.replace("$OWNER", &format!("${}", RECORD_WIDTH + 1));
    let mut out = String::with_capacity(set.len());
    let mut rest = set.as_str();
    while let Some(at) = rest.find("r.") {
        let before = &rest[..at];
        let after = &rest[at + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        // Only `r.` that starts a word (not the end of `f.other_r`), naming a column.
        let starts_word = !before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(before);
        match columns.iter().position(|c| *c == name) {
            Some(i) if starts_word => out.push_str(&format!("${}", i + 1)),
            _ => {
                out.push_str("r.");
                out.push_str(name);
            }
        }
        rest = &after[name_len..];
    }
    out.push_str(rest);
    out
}

/// How many values [`record_values`] gives: one per column of [`RECORD_COLUMNS`].
const RECORD_WIDTH: usize = 21;

/// The record's columns, in the order of [`record_values`].
const RECORD_COLUMNS: &str =
    "id, at, outcome, http_status, error, etag, last_modified, next_due_at,
       consecutive_errors, new_url, disabled_reason, title, site_link, bytes, new_items,
       due_reason, due_interval, rate_since, rate_posts, hints, duration_ms";

const LOG_INSERT: &str = "INSERT INTO fetch_log (feed_id, at, outcome, http_status, bytes, new_items, error, duration_ms)";

/// A poll's record as the values of [`RECORD_COLUMNS`] (`hints` is its hints encoded).
fn record_values<'a>(
    feed_id: i64,
    r: &'a PollRecord,
    hints: Option<&'a str>,
) -> [Value<'a>; RECORD_WIDTH] {
    [
        Value::from(feed_id),
        Value::from(r.at),
        Value::from(r.outcome.as_str()),
        Value::from(r.http_status),
        Value::from(r.error.as_deref()),
        Value::from(r.etag.as_deref()),
        Value::from(r.last_modified.as_deref()),
        Value::from(r.next_due_at),
        Value::from(r.consecutive_errors),
        Value::from(r.new_url.as_deref()),
        Value::from(r.disabled_reason.as_deref()),
        Value::from(r.title.as_deref()),
        Value::from(r.site_link.as_deref()),
        Value::from(r.bytes),
        Value::from(r.new_items),
        Value::from(r.due_reason.map(DueReason::as_str)),
        Value::from(r.due_interval),
        Value::from(r.rate.map(|r| r.since)),
        Value::from(r.rate.map(|r| r.posts)),
        Value::from(hints),
        Value::from(r.duration_ms),
    ]
}

/// Every record's feed row and log line in one statement, the records as arrays (see
/// [`Columns`]).
fn record_polls_postgres(db: &mut Db, owner: &str, polls: &[(i64, &PollRecord)]) -> Result<()> {
    use ColumnType::{Int, Text};
    const TYPES: [ColumnType; RECORD_WIDTH] = [
        Int, Int, Text, Int, Text, Text, Text, Int, Int, Text, Text, Text, Text, Int, Int, Text,
        Int, Int, Int, Text, Int,
    ];
    let hints: Vec<Option<String>> = polls.iter().map(|(_, r)| r.hints.encode()).collect();
    let columns = Columns::of(
        &TYPES,
        polls
            .iter()
            .zip(&hints)
            .flat_map(|((feed_id, r), h)| record_values(*feed_id, r, h.as_deref())),
    )?;
    let params: Vec<Value> = columns
        .params()
        .chain(std::iter::once(Value::from(owner)))
        .collect();
    db.execute(
        &format!(
            "WITH r({RECORD_COLUMNS}) AS ({rows}),
             u AS (UPDATE feeds f SET {set} FROM r WHERE f.id = r.id RETURNING f.id)
             {LOG_INSERT} SELECT r.id, r.at, r.outcome, r.http_status, r.bytes, r.new_items,
                                 r.error, r.duration_ms
             FROM r JOIN u ON u.id = r.id",
            rows = columns.select(&TYPES, 0),
            set = RECORD_SET.replace("$OWNER", &format!("${}", TYPES.len() + 1)),
        ),
        &params,
    )?;
    Ok(())
}

/// One record's feed row and log line, as two statements (SQLite has no arrays to unnest; in
/// one transaction they cost no round trip).
fn record_poll_sqlite(db: &mut Db, owner: &str, feed_id: i64, r: &PollRecord) -> Result<()> {
    /// The update, written once per process: the same text for every record. The record's
    /// values are the statement's parameters, put where [`RECORD_SET`] names them (`r.at` is
    /// `$2`): a one-row `VALUES` joined in, as PostgreSQL's batch has, made SQLite build and
    /// fill a temporary table for every record.
    static UPDATE: std::sync::LazyLock<(String, String)> = std::sync::LazyLock::new(|| {
        (
            format!(
                "UPDATE feeds AS f SET {} WHERE f.id = $1",
                record_set_with_parameters()
            ),
            format!("{LOG_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        )
    });
    let hints = r.hints.encode();
    let mut params = record_values(feed_id, r, hints.as_deref()).to_vec();
    params.push(Value::from(owner));
    let (update, log) = &*UPDATE;
    db.execute(update, &params)?;
    db.execute(
        log,
        args![
            feed_id,
            r.at,
            r.outcome.as_str(),
            r.http_status,
            r.bytes,
            r.new_items,
            r.error.as_deref(),
            r.duration_ms
        ],
    )?;
    Ok(())
}

/// Whether the process named by a lease owner ("host:pid:tag") is certainly gone: it ran on
/// this host and no process has its pid. Any doubt (another host, a pid in use) keeps the lease
/// until it expires.
fn owner_is_dead(owner: &str, this_host: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(_tag), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    host == this_host
        && pid.parse::<i32>().is_ok_and(|pid| {
            // Signal 0 tests for the process without touching it; "no such process" is the
            // only answer that means gone (one of another user answers "not permitted").
            pid != std::process::id() as i32
                && rustix::process::Pid::from_raw(pid).is_some_and(|p| {
                    rustix::process::test_kill_process(p) == Err(rustix::io::Errno::SRCH)
                })
        })
}

impl Store {
    /// Frees the leases of processes of this host that have died (a restart after `kill -9`
    /// or a crash), so their feeds and alerts are taken up at once instead of when the leases
    /// expire. Returns how many feeds and alerts were freed.
    pub fn release_dead_leases(&self) -> Result<usize> {
        let now = now();
        let this_host = self
            .owner
            .rsplitn(3, ':')
            .nth(2)
            .unwrap_or_default()
            .to_string();
        let owners: Vec<String> = self.with(|db| {
            let mut owners: Vec<String> = db.query(
                "SELECT DISTINCT lease_owner FROM feeds WHERE lease_owner IS NOT NULL AND lease_until >= $1",
                args![now],
                |r| r.get(0),
            )?;
            owners.extend(db.query(
                "SELECT DISTINCT lease_owner FROM outbox WHERE lease_owner IS NOT NULL AND state = 'sending' AND lease_until >= $1",
                args![now],
                |r| r.get::<String>(0),
            )?);
            Ok(owners)
        })?;
        let mut freed = 0;
        for owner in owners.iter().filter(|o| owner_is_dead(o, &this_host)) {
            freed += self.with(|db| {
                let feeds = db.execute(
                    "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
                    args![owner],
                )?;
                let alerts = db.execute(
                    "UPDATE outbox SET lease_until = 0 WHERE lease_owner = $1 AND state = 'sending'",
                    args![owner],
                )?;
                Ok((feeds + alerts) as usize)
            })?;
            tracing::info!(owner = %owner, "freed the leases of a feedwatch process of this host that is gone");
        }
        Ok(freed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_of_this_host_loses_its_leases_early() {
        assert!(owner_is_dead("box:4000000:ab12", "box"), "no such pid");
        assert!(!owner_is_dead("box:1:ab12", "box"), "pid 1 is alive");
        assert!(!owner_is_dead(
            &format!("box:{}:ab12", std::process::id()),
            "box"
        ));
        assert!(!owner_is_dead("other:4000000:ab12", "box"), "another host");
        assert!(!owner_is_dead("garbage", "box"));
    }

    #[test]
    fn sqlites_record_update_reads_each_value_from_the_parameter_holding_it() {
        let set = record_set_with_parameters();
        assert!(!set.contains("r."), "{set}");
        // `at` is the record's second value, `hints` its twentieth; the owner comes after.
        assert!(set.contains("last_poll_at = $2,"), "{set}");
        assert!(set.contains("feed_hints = $20"), "{set}");
        assert!(set.contains("f.lease_owner = $22 THEN NULL"), "{set}");
        assert!(set.contains("COALESCE($10, f.url)"), "{set}");
    }
}
