//! Storage: the one SQLite file that holds feeds' state, items, stories, matches and the outbox.
//!
//! Owns every SQL statement of the program (the schema lives in `migrations/`), applying the
//! migrations at open, and the transactions that make "store the story, record its topic matches
//! and queue its alerts" one atomic step, so a crash never loses or duplicates an alert.
//! Hands out plain rows; the other stages never see a connection.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::dedup;
use crate::notify::{Alert, AlertStory};

/// The migrations, in order. Append-only: a released file is never edited.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../migrations/0001_init.sql")),
    (
        "0002_dedup.sql",
        include_str!("../migrations/0002_dedup.sql"),
    ),
    (
        "0003_failing_since.sql",
        include_str!("../migrations/0003_failing_since.sql"),
    ),
    (
        "0004_entry_hash.sql",
        include_str!("../migrations/0004_entry_hash.sql"),
    ),
    (
        "0005_story_categories.sql",
        include_str!("../migrations/0005_story_categories.sql"),
    ),
    (
        "0006_story_fingerprints.sql",
        include_str!("../migrations/0006_story_fingerprints.sql"),
    ),
];

/// How far apart (seconds) two copies of one story may first be seen and still be merged by
/// text similarity; older stories are news of another day.
const NEAR_DUPLICATE_WINDOW: i64 = 3 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "cannot open the database {path}: {source}; check the path and that its directory is writable"
    )]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "the database is at schema version {found}, newer than this feedwatch knows ({known}); upgrade feedwatch"
    )]
    TooNew { found: i64, known: i64 },
    #[error("a stored alert could not be read: {0}")]
    BadPayload(#[from] serde_json::Error),
    #[error("no {0}")]
    NotFound(String),
}

type Result<T> = std::result::Result<T, StoreError>;

/// The database. Cheap to clone; all clones share one connection, used one call at a time.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The band keys of the stories inside the near-duplicate window, loaded at the first
    /// ingest or lookup (CLI commands that only read never pay for it). Locked after `conn`.
    bands: Arc<Mutex<Option<Bands>>>,
}

/// The in-memory band index and what it covers.
struct Bands {
    index: dedup::BandIndex,
    /// Stories first seen before this are not in the index (older than the window when it
    /// was loaded).
    horizon: i64,
    /// The highest story id loaded: stories stored after it (by another process, too) are
    /// read before the next lookup.
    loaded_to: i64,
}

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
}

/// What one poll of a feed did, recorded at once.
#[derive(Debug, Clone, Default)]
pub struct PollRecord {
    pub at: i64,
    /// "ok", "not-modified" or "error".
    pub outcome: String,
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
}

/// An item about to be stored, with its extracted article.
#[derive(Debug, Clone, Default)]
pub struct NewItem {
    pub feed_id: i64,
    pub guid: String,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub title: String,
    pub published_at: Option<i64>,
    pub seen_at: i64,
    pub byline: Option<String>,
    pub site_name: Option<String>,
    pub summary: String,
    pub text: String,
    pub html: String,
    pub extraction_note: Option<String>,
    /// Hash of the feed's own title, summary and content for the item (see
    /// [`Store::item_known`]); empty when the caller has none.
    pub entry_hash: String,
    /// The item's own categories, for `tag:` (beside its feed's tags).
    pub categories: Vec<String>,
}

/// A topic the item matched, and where its alerts go.
#[derive(Debug, Clone)]
pub struct TopicHit {
    pub topic: String,
    pub matched: Vec<String>,
    pub notifiers: Vec<String>,
    /// Digest topics queue the match for the next digest instead of alerting at once.
    pub digest: bool,
    /// A short excerpt with the matched terms marked, sent as the alert's summary.
    pub snippet: String,
}

/// What storing an item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// The item was stored already and is unchanged.
    Seen,
    /// The item was stored already; its title or text changed and were updated.
    Updated { story_id: i64 },
    /// A story never seen before.
    NewStory { story_id: i64, alerts: usize },
    /// A new copy of a story already stored (another outlet, or the same page by another link).
    JoinedStory { story_id: i64, alerts: usize },
}

/// A story with its copies, for `feedwatch stories`.
#[derive(Debug, Clone, Serialize)]
pub struct StoryRow {
    pub id: i64,
    pub title: String,
    pub url: String,
    pub feed: String,
    pub published: Option<String>,
    pub first_seen: String,
    pub byline: Option<String>,
    pub summary: String,
    /// The same story at other outlets: (feed, url).
    pub also_at: Vec<Copy>,
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Copy {
    pub feed: String,
    pub url: String,
}

/// A story's searchable fields, for topic queries over the archive.
#[derive(Debug, Clone)]
pub struct StoryDoc {
    pub id: i64,
    pub title: String,
    pub text: String,
    pub author: String,
    pub feed: String,
    pub tags: Vec<String>,
    pub url: String,
    pub published: Option<i64>,
    pub first_seen: i64,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_id: String,
    pub notifier: String,
    pub topic: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub payload: String,
}

impl OutboxRow {
    pub fn alert(&self) -> Result<Alert> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::setup(conn)
    }

    /// An in-memory database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Store> {
        // First, so that the steps below wait for another process opening the same file (the
        // daemon starting while a CLI command runs) instead of failing at once.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets the CLI read while the daemon writes; NORMAL sync is safe with WAL (a crash
        // can lose the last transaction, never corrupt the file).
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 64 MiB of page cache (the default is 2 MiB): the band index and the story rows a
        // near-duplicate lookup touches stay in memory instead of being re-read per lookup.
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Room for every statement of the ingest path at once (rusqlite keeps 16): a statement
        // pushed out is prepared again for each story.
        conn.set_prepared_statement_cache_capacity(64);
        retry_busy(|| migrate(&mut conn))?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            bands: Arc::new(Mutex::new(None)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema version applied.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    // ---- feeds ----------------------------------------------------------------------------

    /// Makes sure a row exists for each configured feed and returns its state. A feed whose
    /// configured URL changed starts over at the new URL; one moved by a redirect keeps its move.
    pub fn sync_feed(&self, key: &str, config_url: &str) -> Result<FeedState> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO feeds (key, config_url, url) VALUES (?1, ?2, ?2)
             ON CONFLICT(key) DO UPDATE SET
               url = CASE WHEN feeds.config_url = excluded.config_url THEN feeds.url ELSE excluded.config_url END,
               disabled_reason = CASE WHEN feeds.config_url = excluded.config_url THEN feeds.disabled_reason ELSE NULL END,
               config_url = excluded.config_url",
            params![key, config_url],
        )?;
        feed_state(&conn, key)?.ok_or_else(|| StoreError::NotFound(format!("feed {key}")))
    }

    pub fn feed(&self, key: &str) -> Result<Option<FeedState>> {
        feed_state(&self.conn(), key)
    }

    pub fn feeds(&self) -> Result<Vec<FeedState>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{FEED_SELECT} ORDER BY f.key"))?;
        let rows = stmt
            .query_map([], feed_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn record_poll(&self, feed_id: i64, r: &PollRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE feeds SET
               last_poll_at = ?2,
               last_success_at = CASE WHEN ?3 = 'error' THEN last_success_at ELSE ?2 END,
               failing_since = CASE WHEN ?3 = 'error' THEN COALESCE(failing_since, ?2) END,
               last_status = ?3 || COALESCE(' ' || ?4, ''),
               last_error = ?5,
               etag = CASE WHEN ?3 = 'ok' THEN ?6 ELSE etag END,
               last_modified = CASE WHEN ?3 = 'ok' THEN ?7 ELSE last_modified END,
               next_due_at = ?8,
               consecutive_errors = ?9,
               url = COALESCE(?10, url),
               disabled_reason = COALESCE(?11, disabled_reason),
               title = COALESCE(?12, title),
               site_link = COALESCE(?13, site_link)
             WHERE id = ?1",
            params![
                feed_id,
                r.at,
                r.outcome,
                r.http_status,
                r.error,
                r.etag,
                r.last_modified,
                r.next_due_at,
                r.consecutive_errors,
                r.new_url,
                r.disabled_reason,
                r.title,
                r.site_link
            ],
        )?;
        tx.execute(
            "INSERT INTO fetch_log (feed_id, at, outcome, http_status, bytes, new_items, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                feed_id,
                r.at,
                r.outcome,
                r.http_status,
                r.bytes.map(|b| b as i64),
                r.new_items as i64,
                r.error
            ],
        )?;
        // The log is for diagnosis, not history: keep the last 100 polls of each feed.
        tx.execute(
            "DELETE FROM fetch_log WHERE feed_id = ?1 AND id NOT IN
               (SELECT id FROM fetch_log WHERE feed_id = ?1 ORDER BY id DESC LIMIT 100)",
            params![feed_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether an item is stored already and unchanged: by GUID, or (for feeds whose GUIDs
    /// change on every poll) by its canonical URL within the same feed. An item whose title
    /// changed since it was stored is not "known": storing it again records a revision.
    /// Whether the feed's item is stored already and unchanged, so its page need not be
    /// fetched again. An item whose entry hash (or, for items stored before entry hashes,
    /// whose title) differs is an update to store as a revision.
    pub fn item_known(
        &self,
        feed_id: i64,
        guid: &str,
        canonical_url: Option<&str>,
        title: Option<&str>,
        entry_hash: &str,
    ) -> Result<bool> {
        let conn = self.conn();
        type Stored = (Option<String>, Option<String>);
        let mut stored: Option<Stored> = conn
            .prepare_cached(
                "SELECT id, title, entry_hash FROM items WHERE feed_id = ?1 AND guid = ?2",
            )?
            .query_row(params![feed_id, guid], |r| Ok((r.get(1)?, r.get(2)?)))
            .optional()?;
        if stored.is_none()
            && let Some(u) = canonical_url
        {
            stored = newest_item_at(&conn, "title, entry_hash", feed_id, u, |r| {
                Ok((r.get(1)?, r.get(2)?))
            })?;
        }
        Ok(match (stored, title) {
            (None, _) => false,
            (Some((_, Some(old))), _) if !entry_hash.is_empty() => old == entry_hash,
            (Some((old, _)), Some(new)) if !new.trim().is_empty() => old.as_deref() == Some(new),
            (Some(_), _) => true,
        })
    }

    // ---- items and stories ----------------------------------------------------------------

    /// Stores an item: links it to the story it belongs to (creating one when it is news),
    /// records the topics it matched and queues their alerts, all in one transaction.
    pub fn ingest(&self, item: &NewItem, hits: &[TopicHit]) -> Result<Ingested> {
        let mut done = self.ingest_all(std::iter::once((item, hits)))?;
        Ok(done.remove(0))
    }

    /// [`Store::ingest`] for many items in one transaction: one commit instead of one per
    /// item, for a poll that brings many items (and for bulk imports). All or nothing.
    pub fn ingest_many(&self, items: &[(NewItem, Vec<TopicHit>)]) -> Result<Vec<Ingested>> {
        self.ingest_all(items.iter().map(|(i, h)| (i, h.as_slice())))
    }

    fn ingest_all<'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a NewItem, &'a [TopicHit])>,
    ) -> Result<Vec<Ingested>> {
        let mut conn = self.conn();
        // Immediate: the band index is brought up to date under the write lock, so no other
        // process's story can slip in between that and this transaction's own stories.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut bands = self.bands();
        let mut out = Vec::with_capacity(items.len());
        let done = (|| {
            for (item, hits) in items {
                let index = fresh_bands(&tx, &mut bands, item.seen_at)?;
                out.push(ingest_one(&tx, index, item, hits)?);
            }
            tx.commit().map_err(StoreError::from)
        })();
        if done.is_err() {
            // The index may hold stories the rollback took back: load it again next time.
            *bands = None;
        }
        done.map(|()| out)
    }

    fn bands(&self) -> MutexGuard<'_, Option<Bands>> {
        self.bands.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored story a text seen at `seen_at` is a near-duplicate of, if any: the lookup
    /// `ingest` does after URL and content hash, exposed for `stories` tooling and benchmarks.
    pub fn find_near_duplicate(&self, text: &str, seen_at: i64) -> Result<Option<i64>> {
        let conn = self.conn();
        let mut bands = self.bands();
        let sh = dedup::Shingles::of(text);
        match dedup::Fingerprint::of_shingles(&sh) {
            Some(fp) => {
                let index = fresh_bands(&conn, &mut bands, seen_at)?;
                near_duplicate(&conn, &index.index, &sh, &fp, seen_at)
            }
            None => Ok(None),
        }
    }

    /// Memory held by the near-duplicate band index (0 before the first ingest or lookup).
    pub fn band_index_bytes(&self) -> usize {
        self.bands().as_ref().map_or(0, |b| b.index.bytes())
    }

    /// Recent stories, newest first, with their copies; `topic` keeps those that matched it.
    pub fn stories(&self, since: i64, topic: Option<&str>, limit: usize) -> Result<Vec<StoryRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.id, s.title, s.url, COALESCE(f.title, f.key), s.published_at, s.first_seen_at, s.byline, s.summary
             FROM stories s JOIN feeds f ON f.id = s.feed_id
             WHERE s.first_seen_at >= ?1
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM matches m WHERE m.story_id = s.id AND m.topic = ?2))
             ORDER BY s.first_seen_at DESC, s.id DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![since, topic, limit as i64], |r| {
                Ok(StoryRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    url: r.get(2)?,
                    feed: r.get(3)?,
                    published: r.get::<_, Option<i64>>(4)?.map(rfc3339),
                    first_seen: rfc3339(r.get(5)?),
                    byline: r.get(6)?,
                    summary: r.get(7)?,
                    also_at: Vec::new(),
                    topics: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            row.also_at = copies(&conn, row.id, &row.url)?;
            let mut t = conn
                .prepare_cached("SELECT topic FROM matches WHERE story_id = ?1 ORDER BY topic")?;
            row.topics = t
                .query_map([row.id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            out.push(row);
        }
        Ok(out)
    }

    /// Calls `f` on every stored story (newest first, at most `limit`), for topic queries over
    /// the archive. `feed_tags` gives the configured tags of a feed by its key.
    pub fn story_docs(
        &self,
        limit: usize,
        feed_tags: &dyn Fn(&str) -> Vec<String>,
    ) -> Result<Vec<StoryDoc>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.id, s.title, s.text, COALESCE(s.byline, ''), COALESCE(f.title, f.key), f.key, s.url,
                    s.published_at, s.first_seen_at, s.categories
             FROM stories s JOIN feeds f ON f.id = s.feed_id ORDER BY s.first_seen_at DESC, s.id DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let key: String = r.get(5)?;
                let mut tags = feed_tags(&key);
                let categories: String = r.get(9)?;
                tags.extend(
                    categories
                        .lines()
                        .filter(|c| !tags.iter().any(|t| t.eq_ignore_ascii_case(c)))
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                );
                Ok(StoryDoc {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    text: r.get(2)?,
                    author: r.get(3)?,
                    feed: r.get(4)?,
                    tags,
                    url: r.get(6)?,
                    published: r.get(7)?,
                    first_seen: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    // ---- outbox ---------------------------------------------------------------------------

    /// Alerts to send now: pending ones whose time has come, and ones left "sending" by a
    /// daemon that died mid-send (resent with the same id, so receivers can drop the repeat).
    /// With `all_pending`, every undelivered alert is due whatever its retry time (`once`).
    pub fn due_alerts(&self, now: i64, all_pending: bool, limit: usize) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{OUTBOX_SELECT} WHERE state IN ('pending', 'sending') AND (?2 OR next_attempt_at <= ?1)
             ORDER BY next_attempt_at, id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![now, all_pending, limit as i64], outbox_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// When the next pending alert falls due, to sleep until then.
    pub fn next_alert_due(&self) -> Result<Option<i64>> {
        Ok(self.conn().query_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks an alert as being sent: if the daemon dies now, the row is resent on restart.
    pub fn mark_sending(&self, id: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn mark_delivered(&self, id: i64, now: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET state = 'delivered', delivered_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    pub fn mark_retry(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_attempt_at, error],
        )?;
        Ok(())
    }

    /// Holds an alert until `at` without counting a try (quiet hours).
    pub fn postpone(&self, id: i64, at: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2 WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        Ok(())
    }

    /// The delivery log, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{OUTBOX_SELECT} ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit as i64], outbox_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Puts a failed (or delivered) alert back in the queue, due now, with the same id.
    pub fn retry_alert(&self, id: i64, now: i64) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("alert {id}")));
        }
        Ok(())
    }

    /// Refreshes the "also at" lists of an alert's stories at send time, so copies found after
    /// the alert was queued are included.
    pub fn refresh_alert(&self, alert: &mut Alert) -> Result<()> {
        let conn = self.conn();
        for story in &mut alert.stories {
            if let Ok(id) = story.id.parse::<i64>() {
                story.also_at = copies(&conn, id, &story.url)?
                    .into_iter()
                    .map(|c| c.url)
                    .collect();
            }
        }
        Ok(())
    }

    /// Queues an alert that is not about a story match (feed health, a test alert).
    pub fn queue_alert(&self, alert: &Alert, notifiers: &[String], now: i64) -> Result<usize> {
        let conn = self.conn();
        let mut n = 0;
        for notifier in notifiers {
            let alert_id = alert_id(&[&alert.id, notifier]);
            let mut a = alert.clone();
            a.id = alert_id.clone();
            n += conn.execute(
                "INSERT OR IGNORE INTO outbox (alert_id, notifier, topic, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![alert_id, notifier, a.topic, serde_json::to_string(&a)?, now],
            )?;
        }
        Ok(n)
    }

    /// Gathers a digest topic's undigested matches into one alert per notifier. Returns how
    /// many stories went in (0: nothing to send this tick).
    pub fn make_digest(&self, topic: &str, notifiers: &[String], tick: i64) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let hits: Vec<(i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT story_id, matched FROM matches WHERE topic = ?1 AND digested = 0 ORDER BY created_at, story_id",
            )?;
            stmt.query_map([topic], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        if hits.is_empty() {
            return Ok(0);
        }
        let mut stories = Vec::new();
        for (story_id, matched) in &hits {
            let matched: Vec<String> = serde_json::from_str(matched).unwrap_or_default();
            stories.push(alert_story(&tx, *story_id, matched)?);
        }
        for notifier in notifiers {
            let id = alert_id(&["digest", topic, notifier, &tick.to_string()]);
            let alert = Alert {
                id: id.clone(),
                kind: "topic.digest".into(),
                topic: topic.into(),
                stories: stories.clone(),
            };
            tx.execute(
                "INSERT OR IGNORE INTO outbox (alert_id, notifier, topic, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, notifier, topic, serde_json::to_string(&alert)?, tick],
            )?;
        }
        tx.execute(
            "UPDATE matches SET digested = 1 WHERE topic = ?1 AND digested = 0",
            [topic],
        )?;
        tx.commit()?;
        Ok(hits.len())
    }
}

const FEED_SELECT: &str = "SELECT f.id, f.key, f.url, f.title, f.etag, f.last_modified, f.last_poll_at, f.last_success_at,
        f.last_status, f.last_error, f.next_due_at, f.consecutive_errors, f.disabled_reason,
        (SELECT COUNT(*) FROM items i WHERE i.feed_id = f.id), f.failing_since
     FROM feeds f";

fn feed_from_row(r: &rusqlite::Row) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
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
    })
}

fn feed_state(conn: &Connection, key: &str) -> Result<Option<FeedState>> {
    Ok(conn
        .query_row(
            &format!("{FEED_SELECT} WHERE f.key = ?1"),
            [key],
            feed_from_row,
        )
        .optional()?)
}

const OUTBOX_SELECT: &str =
    "SELECT id, alert_id, notifier, topic, state, attempts, next_attempt_at, created_at,
        delivered_at, last_error, payload FROM outbox";

fn outbox_from_row(r: &rusqlite::Row) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        notifier: r.get(2)?,
        topic: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        created_at: r.get(7)?,
        delivered_at: r.get(8)?,
        last_error: r.get(9)?,
        payload: r.get(10)?,
    })
}

/// Runs `step` again while SQLite answers "busy", for up to 10 s. The busy timeout does not
/// cover every case: a connection that holds a read lock and wants the write lock another one
/// is waiting for gets "busy" at once (SQLite's deadlock avoidance), which happens when several
/// processes open a new database together and each switches it to WAL.
fn retry_busy<T, E>(
    mut step: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: BusyError,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match step() {
            Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Errors that can say whether SQLite was busy.
trait BusyError {
    fn is_busy(&self) -> bool;
}

impl BusyError for rusqlite::Error {
    fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

impl BusyError for StoreError {
    fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => e.is_busy(),
            _ => false,
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // One write transaction, taken before the version is read: two processes opening a new
    // database at once must not both apply the same migration (the loser would fail on
    // "table already exists"); the second waits, then finds nothing left to do.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// The newest item of a feed at a page, `columns` read by `read` after the id (column 0).
/// Chosen here rather than by `ORDER BY id DESC LIMIT 1`: with that, SQLite (built with STAT4)
/// planned the statement again on every run, a tenth of an ingest's time.
fn newest_item_at<T>(
    conn: &Connection,
    columns: &str,
    feed_id: i64,
    url: &str,
    read: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, {columns} FROM items WHERE feed_id = ?1 AND canonical_url = ?2"
    ))?;
    let mut rows = stmt.query(params![feed_id, url])?;
    let mut newest: Option<(i64, T)> = None;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if newest.as_ref().is_none_or(|(n, _)| id > *n) {
            newest = Some((id, read(r)?));
        }
    }
    Ok(newest.map(|(_, t)| t))
}

/// Stores one item inside the caller's transaction (see [`Store::ingest`]).
fn ingest_one(
    tx: &Transaction,
    bands: &mut Bands,
    item: &NewItem,
    hits: &[TopicHit],
) -> Result<Ingested> {
    let (hash, shingles) = dedup::digest(&item.title, &item.text);

    let existing: Option<(i64, String, i64)> = tx
        .prepare_cached(
            "SELECT id, content_hash, story_id FROM items WHERE feed_id = ?1 AND guid = ?2",
        )?
        .query_row(params![item.feed_id, item.guid], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    // An unstable GUID: the feed re-issued, under a new GUID, an item it carried already at
    // the same page. The same text is nothing new; a changed one is an update of that item.
    let existing = match (existing, &item.canonical_url) {
        (Some(e), _) => Some(e),
        (None, Some(u)) => newest_item_at(tx, "content_hash, story_id", item.feed_id, u, |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?,
        (None, None) => None,
    };
    if let Some((item_id, old_hash, story_id)) = existing {
        if old_hash == hash {
            // The feed's words changed but not the story's (a new summary of the same page):
            // remember them, so the next poll does not fetch the page again.
            tx.prepare_cached("UPDATE items SET entry_hash = ?2 WHERE id = ?1")?
                .execute(params![item_id, item.entry_hash])?;
            return Ok(Ingested::Seen);
        }
        tx.execute(
            "UPDATE items SET title = ?2, content_hash = ?3, url = COALESCE(?4, url), entry_hash = ?5
             WHERE id = ?1",
            params![item_id, item.title, hash, item.url, item.entry_hash],
        )?;
        tx.prepare_cached(
            "INSERT INTO item_revisions (item_id, seen_at, title, text, content_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![item_id, item.seen_at, item.title, item.text, hash])?;
        return Ok(Ingested::Updated { story_id });
    }

    let fingerprint = dedup::Fingerprint::of_shingles(&shingles);
    let found = find_story(
        tx,
        &bands.index,
        item,
        &hash,
        &shingles,
        fingerprint.as_ref(),
    )?;
    let (story_id, joined) = match found {
        Some(id) => (id, true),
        None => (
            insert_story(tx, bands, item, &hash, &shingles, fingerprint.as_ref())?,
            false,
        ),
    };
    tx.prepare_cached(
        "INSERT INTO items (feed_id, guid, url, canonical_url, title, published_at, first_seen_at, content_hash, story_id, entry_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        item.feed_id,
        item.guid,
        item.url,
        item.canonical_url,
        item.title,
        item.published_at,
        item.seen_at,
        hash,
        story_id,
        item.entry_hash
    ])?;
    let alerts = record_hits(tx, story_id, hits, item.seen_at)?;
    Ok(if joined {
        Ingested::JoinedStory { story_id, alerts }
    } else {
        Ingested::NewStory { story_id, alerts }
    })
}

/// Finds the story an item belongs to: the same page (canonical URL) in any feed, the same text
/// (content hash), or a near-duplicate text seen recently (fingerprint bands, then a check).
fn find_story(
    tx: &Transaction,
    index: &dedup::BandIndex,
    item: &NewItem,
    hash: &str,
    shingles: &dedup::Shingles,
    fingerprint: Option<&dedup::Fingerprint>,
) -> Result<Option<i64>> {
    if let Some(u) = &item.canonical_url {
        let by_url: Option<i64> = tx
            .prepare_cached("SELECT story_id FROM items WHERE canonical_url = ?1 LIMIT 1")?
            .query_row([u], |r| r.get(0))
            .optional()?;
        if by_url.is_some() {
            return Ok(by_url);
        }
    }
    if !item.text.trim().is_empty() {
        let by_hash: Option<i64> = tx
            .prepare_cached("SELECT id FROM stories WHERE content_hash = ?1 LIMIT 1")?
            .query_row([hash], |r| r.get(0))
            .optional()?;
        if by_hash.is_some() {
            return Ok(by_hash);
        }
    }
    match fingerprint {
        Some(fp) => near_duplicate(tx, index, shingles, fp, item.seen_at),
        None => Ok(None),
    }
}

/// At most this many candidates are checked per lookup, those sharing the most band keys
/// first: a template shared by many stories must not make one lookup read them all.
const MAX_CANDIDATES: usize = 24;

/// The band index, loaded if it is not, and holding every story stored so far that a text
/// seen at `seen_at` could be joined to.
fn fresh_bands<'a>(
    conn: &Connection,
    slot: &'a mut Option<Bands>,
    seen_at: i64,
) -> Result<&'a mut Bands> {
    // Loaded an hour further back than the window, since items fetched at once may be stored
    // a little out of order; loaded again for a text from before that (a clock set back), and
    // once stories past the window make up half of it, so it holds about two windows' worth.
    let stale = slot.as_ref().is_none_or(|b| {
        seen_at - NEAR_DUPLICATE_WINDOW < b.horizon
            || seen_at - b.horizon > 2 * NEAR_DUPLICATE_WINDOW + INDEX_SLACK
    });
    if stale {
        *slot = Some(load_bands(
            conn,
            seen_at - NEAR_DUPLICATE_WINDOW - INDEX_SLACK,
            0,
        )?);
    }
    let Some(bands) = slot.as_mut() else {
        unreachable!("loaded above")
    };
    read_bands_after(conn, bands)?;
    Ok(bands)
}

/// How much older than the window (seconds) the band index reaches when loaded.
const INDEX_SLACK: i64 = 3600;

/// Band keys a story has at most (16 whole-text bands and up to 25 from its leads), to size
/// the index before reading.
const KEYS_PER_STORY: usize = 41;

/// A band index of the stories first seen from `horizon` on, sized for `extra` more keys.
fn load_bands(conn: &Connection, horizon: i64, extra: usize) -> Result<Bands> {
    let (count, first): (i64, Option<i64>) = conn
        .prepare_cached("SELECT COUNT(*), MIN(id) FROM stories WHERE first_seen_at >= ?1")?
        .query_row([horizon], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut bands = Bands {
        index: dedup::BandIndex::with_room_for(
            (count.max(0) as usize).saturating_mul(KEYS_PER_STORY) + extra,
        ),
        horizon,
        loaded_to: first.map_or(i64::MAX, |f| f - 1),
    };
    if first.is_none() {
        bands.loaded_to = conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM stories")?
            .query_row([], |r| r.get(0))?;
        return Ok(bands);
    }
    read_bands_after(conn, &mut bands)?;
    // Stories stored before fingerprints were kept (schema 6) have none: their keys are
    // computed from the text, which only happens for a window's worth after the upgrade.
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, s.text FROM stories s WHERE s.first_seen_at >= ?1
           AND NOT EXISTS (SELECT 1 FROM story_fingerprints f WHERE f.story_id = s.id)",
    )?;
    let mut rows = stmt.query([horizon])?;
    while let Some(row) = rows.next()? {
        let text: String = row.get(1)?;
        if let Some(fp) = dedup::Fingerprint::of(&text) {
            add_bands(conn, &mut bands, row.get(0)?, &fp.bands)?;
        }
    }
    Ok(bands)
}

/// Adds to the index the stories stored after the last one it holds.
fn read_bands_after(conn: &Connection, bands: &mut Bands) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT story_id, bands FROM story_fingerprints WHERE story_id > ?1 AND first_seen_at >= ?2",
    )?;
    let mut rows = stmt.query(params![bands.loaded_to, bands.horizon])?;
    let mut keys: Vec<i64> = Vec::new();
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        keys.clear();
        keys.extend(dedup::decode_bands(
            row.get_ref(1)?.as_blob().unwrap_or(&[]),
        ));
        add_bands(conn, bands, id, &keys)?;
        bands.loaded_to = bands.loaded_to.max(id);
    }
    Ok(())
}

/// Puts a story's keys into the index, rebuilding it larger from the rows when it is full.
fn add_bands(conn: &Connection, bands: &mut Bands, id: i64, keys: &[i64]) -> Result<()> {
    if !bands.index.has_room_for(keys.len()) {
        // The table keeps no copy of the keys it was built from, so a larger one is read from
        // the rows again (this transaction's own included): amortised over a doubling, cheap.
        let horizon = bands.horizon;
        *bands = load_bands(conn, horizon, bands.index.len() + keys.len())?;
    }
    for k in keys {
        bands.index.insert(*k, id);
    }
    Ok(())
}

/// The story whose text `shingles` duplicates, among those sharing a band key and first seen
/// within [`NEAR_DUPLICATE_WINDOW`].
fn near_duplicate(
    conn: &Connection,
    index: &dedup::BandIndex,
    shingles: &dedup::Shingles,
    fp: &dedup::Fingerprint,
    seen_at: i64,
) -> Result<Option<i64>> {
    // (story, keys shared): more shared keys, more likely the same story. Counted by sorting:
    // when stock phrases crowd the keys, ~40 keys of up to 64 stories each give thousands of
    // ids, and a search of the list per id would grow with the square of that.
    let mut ids: Vec<i64> = Vec::new();
    for key in &fp.bands {
        index.stories_with(*key, |id| ids.push(id));
    }
    ids.sort_unstable();
    let mut candidates: Vec<(i64, usize)> = ids
        .chunk_by(|a, b| a == b)
        .map(|same| (same[0], same.len()))
        .collect();
    // Newest first among equals: today's copy is likelier than last week's.
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    // The narrow fingerprint row first: most candidates share a key by chance, and their
    // window or sample rules them out without reading and shingling their text.
    let mut sample = conn.prepare_cached(
        "SELECT first_seen_at, shingles, sketch FROM story_fingerprints WHERE story_id = ?1",
    )?;
    let mut text = conn.prepare_cached("SELECT text, first_seen_at FROM stories WHERE id = ?1")?;
    let mut sketch: Vec<u64> = Vec::with_capacity(dedup::SKETCH_LEN);
    for (id, _) in candidates.into_iter().take(MAX_CANDIDATES) {
        {
            let mut rows = sample.query([id])?;
            if let Some(row) = rows.next()? {
                let seen: i64 = row.get(0)?;
                let len: i64 = row.get(1)?;
                sketch.clear();
                sketch.extend(
                    dedup::decode_bands(row.get_ref(2)?.as_blob().unwrap_or(&[])).map(|v| v as u64),
                );
                if (seen_at - seen).abs() > NEAR_DUPLICATE_WINDOW
                    || !dedup::could_be_same(shingles, &sketch, len.max(0) as usize)
                {
                    continue;
                }
            }
        }
        let Some((body, seen)): Option<(String, i64)> = text
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        else {
            continue;
        };
        if (seen_at - seen).abs() <= NEAR_DUPLICATE_WINDOW
            && dedup::same_shingles(shingles, &dedup::Shingles::of(&body))
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn insert_story(
    tx: &Transaction,
    bands: &mut Bands,
    item: &NewItem,
    hash: &str,
    shingles: &dedup::Shingles,
    fingerprint: Option<&dedup::Fingerprint>,
) -> Result<i64> {
    let keys = fingerprint.map_or(&[][..], |f| f.bands.as_slice());
    tx.prepare_cached(
        "INSERT INTO stories (title, url, feed_id, published_at, first_seen_at, byline, site_name, summary, text, html,
                              extraction_note, content_hash, categories)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        item.title,
        item.canonical_url.as_deref().or(item.url.as_deref()).unwrap_or(""),
        item.feed_id,
        item.published_at,
        item.seen_at,
        item.byline,
        item.site_name,
        item.summary,
        item.text,
        item.html,
        item.extraction_note,
        hash,
        item.categories.join("\n"),
    ])?;
    let id = tx.last_insert_rowid();
    // Also for a text too short to have bands: an empty row tells it from a story stored
    // before fingerprints were kept, whose keys a load computes from the text.
    tx.prepare_cached(
        "INSERT INTO story_fingerprints (story_id, first_seen_at, bands, shingles, sketch)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        item.seen_at,
        dedup::encode_bands(keys),
        shingles.len() as i64,
        dedup::encode_bands(
            &shingles
                .sketch()
                .iter()
                .map(|v| *v as i64)
                .collect::<Vec<_>>()
        ),
    ])?;
    add_bands(tx, bands, id, keys)?;
    bands.loaded_to = bands.loaded_to.max(id);
    Ok(id)
}

/// Records topic matches for a story; each (topic, story) pair alerts once, ever.
fn record_hits(tx: &Transaction, story_id: i64, hits: &[TopicHit], now: i64) -> Result<usize> {
    let mut alerts = 0;
    for hit in hits {
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO matches (topic, story_id, matched, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![hit.topic, story_id, serde_json::to_string(&hit.matched)?, now],
        )?;
        if inserted == 0 || hit.digest {
            continue;
        }
        let mut story = alert_story(tx, story_id, hit.matched.clone())?;
        if !hit.snippet.trim().is_empty() {
            story.summary = hit.snippet.clone();
        }
        for notifier in &hit.notifiers {
            let id = alert_id(&["match", &hit.topic, &story_id.to_string(), notifier]);
            let alert = Alert {
                id: id.clone(),
                kind: "topic.match".into(),
                topic: hit.topic.clone(),
                stories: vec![story.clone()],
            };
            alerts += tx.execute(
                "INSERT OR IGNORE INTO outbox (alert_id, notifier, topic, payload, next_attempt_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, notifier, hit.topic, serde_json::to_string(&alert)?, now],
            )?;
        }
    }
    Ok(alerts)
}

fn alert_story(conn: &Connection, story_id: i64, matched: Vec<String>) -> Result<AlertStory> {
    let (title, url, feed, published, summary): (String, String, String, Option<i64>, String) =
        conn.query_row(
            "SELECT s.title, s.url, COALESCE(f.title, f.key), s.published_at, s.summary
         FROM stories s JOIN feeds f ON f.id = s.feed_id WHERE s.id = ?1",
            [story_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let also_at = copies(conn, story_id, &url)?
        .into_iter()
        .map(|c| c.url)
        .collect();
    Ok(AlertStory {
        id: story_id.to_string(),
        title,
        url,
        feed,
        published: published.map(rfc3339),
        summary,
        matched,
        also_at,
    })
}

/// The other places a story was seen, excluding its own URL.
fn copies(conn: &Connection, story_id: i64, own_url: &str) -> Result<Vec<Copy>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(f.title, f.key), COALESCE(i.canonical_url, i.url) FROM items i JOIN feeds f ON f.id = i.feed_id
         WHERE i.story_id = ?1 ORDER BY i.first_seen_at, i.id",
    )?;
    let mut out: Vec<Copy> = Vec::new();
    for row in stmt.query_map([story_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })? {
        let (feed, url) = row?;
        if let Some(url) = url
            && url != own_url
            && !out.iter().any(|c| c.url == url)
        {
            out.push(Copy { feed, url });
        }
    }
    Ok(out)
}

/// A stable alert id from its parts: what makes it this alert and no other.
fn alert_id(parts: &[&str]) -> String {
    use std::hash::Hasher;
    let mut h = siphasher::sip128::SipHasher13::new_with_keys(0x66_6565_6477, 0x616c_6572_7473);
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0);
    }
    let v = siphasher::sip128::Hasher128::finish128(&h);
    format!("msg_{:016x}{:016x}", v.h1, v.h2)
}

pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(feed_id: i64, guid: &str, url: &str, title: &str, text: &str, at: i64) -> NewItem {
        NewItem {
            feed_id,
            guid: guid.into(),
            url: Some(url.into()),
            canonical_url: dedup::canonical_url(url),
            title: title.into(),
            seen_at: at,
            summary: text.chars().take(100).collect(),
            text: text.into(),
            ..Default::default()
        }
    }

    fn hit(topic: &str) -> TopicHit {
        TopicHit {
            topic: topic.into(),
            matched: vec!["iraq".into()],
            notifiers: vec!["hook".into()],
            digest: false,
            snippet: String::new(),
        }
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn migrations_are_applied_once_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(store);
        // Re-opening must not re-run 0001 (it would fail on existing tables).
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn processes_opening_a_new_database_at_once_all_get_it_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || Store::open(&path).map(|s| s.schema_version()))
            })
            .collect();
        for o in openers {
            let version = o.join().unwrap().expect("every opener succeeds");
            assert_eq!(version.unwrap(), MIGRATIONS.len() as i64);
        }
    }

    #[test]
    fn the_same_item_seen_again_is_not_a_new_story_and_alerts_once() {
        let store = Store::open_in_memory().unwrap();
        let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
        let it = item(
            feed.id,
            "g1",
            "https://a.example/1?utm_source=rss",
            "Iraq talks",
            "iraq troops talks",
            10,
        );
        assert!(matches!(
            store.ingest(&it, &[hit("t")]).unwrap(),
            Ingested::NewStory { alerts: 1, .. }
        ));
        assert_eq!(store.ingest(&it, &[hit("t")]).unwrap(), Ingested::Seen);
        // A new GUID for the same page (an unstable GUID) is the same item.
        let again = item(
            feed.id,
            "g2",
            "https://a.example/1?utm_medium=x",
            "Iraq talks",
            "iraq troops talks",
            20,
        );
        assert_eq!(store.ingest(&again, &[hit("t")]).unwrap(), Ingested::Seen);
        assert_eq!(store.due_alerts(100, false, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_changed_item_is_an_update_not_a_new_story() {
        let store = Store::open_in_memory().unwrap();
        let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
        let first = item(
            feed.id,
            "g1",
            "https://a.example/1",
            "Talks",
            "first text",
            10,
        );
        let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
            panic!()
        };
        let changed = item(
            feed.id,
            "g1",
            "https://a.example/1",
            "Talks begin",
            "first text, updated",
            20,
        );
        assert!(
            !store
                .item_known(feed.id, "g1", None, Some("Talks begin"), "")
                .unwrap(),
            "a changed title must be stored again, as a revision"
        );
        assert!(
            store
                .item_known(feed.id, "g1", None, Some("Talks"), "")
                .unwrap()
        );
        assert_eq!(
            store.ingest(&changed, &[]).unwrap(),
            Ingested::Updated { story_id }
        );
        assert_eq!(store.stories(0, None, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_body_changed_under_the_same_title_is_kept_as_a_revision() {
        let store = Store::open_in_memory().unwrap();
        let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
        let first = NewItem {
            entry_hash: "e1".into(),
            ..item(
                feed.id,
                "g1",
                "https://a.example/1",
                "Talks",
                "first text",
                10,
            )
        };
        let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
            panic!()
        };
        assert!(
            store
                .item_known(feed.id, "g1", None, Some("Talks"), "e1")
                .unwrap()
        );
        assert!(
            !store
                .item_known(feed.id, "g1", None, Some("Talks"), "e2")
                .unwrap(),
            "the feed's text changed under the same title: fetch and store it again"
        );
        let changed = NewItem {
            entry_hash: "e2".into(),
            ..item(
                feed.id,
                "g1",
                "https://a.example/1",
                "Talks",
                "first text, corrected",
                20,
            )
        };
        assert_eq!(
            store.ingest(&changed, &[]).unwrap(),
            Ingested::Updated { story_id }
        );
        assert!(
            store
                .item_known(feed.id, "g1", None, Some("Talks"), "e2")
                .unwrap()
        );
        let revisions: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM item_revisions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(revisions, 1);
        // A new summary of an unchanged page is remembered, not stored again.
        let resummarised = NewItem {
            entry_hash: "e3".into(),
            ..changed.clone()
        };
        assert_eq!(store.ingest(&resummarised, &[]).unwrap(), Ingested::Seen);
        assert!(
            store
                .item_known(feed.id, "g1", None, Some("Talks"), "e3")
                .unwrap()
        );
    }

    #[test]
    fn the_fixture_pair_from_two_outlets_is_one_story_with_one_alert() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let b = store
            .sync_feed("wire", "https://wire.example/atom")
            .unwrap();
        let tome = fixture("tome-iraq-troops.expected.txt");
        let wire = fixture("wire-iraq-troops.expected.txt");
        let first = item(
            a.id,
            "t1",
            "https://tome.example/world/troops",
            "Future of foreign troops",
            &tome,
            100,
        );
        let second = item(
            b.id,
            "w1",
            "https://wire.example/iraq-troops",
            "US and Iraq to discuss troops",
            &wire,
            200,
        );
        let Ingested::NewStory {
            story_id,
            alerts: 1,
        } = store.ingest(&first, &[hit("iraq")]).unwrap()
        else {
            panic!("first copy must be a new story with one alert")
        };
        assert_eq!(
            store.ingest(&second, &[hit("iraq")]).unwrap(),
            Ingested::JoinedStory {
                story_id,
                alerts: 0
            }
        );
        let stories = store.stories(0, None, 10).unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(
            stories[0].also_at[0].url,
            "https://wire.example/iraq-troops"
        );
        let mut alert = store.due_alerts(1000, false, 10).unwrap()[0]
            .alert()
            .unwrap();
        store.refresh_alert(&mut alert).unwrap();
        assert_eq!(
            alert.stories[0].also_at,
            vec!["https://wire.example/iraq-troops".to_string()]
        );
    }

    #[test]
    fn a_feed_summary_in_another_feed_joins_the_full_article() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let b = store.sync_feed("agg", "https://agg.example/rss").unwrap();
        let article = fixture("tome-iraq-troops.expected.txt");
        let summary = fixture("dedup/tome-feed-summary.txt");
        let Ingested::NewStory { story_id, .. } = store
            .ingest(
                &item(
                    a.id,
                    "t1",
                    "https://tome.example/t",
                    "Troops",
                    &article,
                    100,
                ),
                &[],
            )
            .unwrap()
        else {
            panic!("the article is news")
        };
        let short = item(
            b.id,
            "s1",
            "https://agg.example/s/1",
            "Troops talks",
            &summary,
            900,
        );
        assert_eq!(
            store.ingest(&short, &[]).unwrap(),
            Ingested::JoinedStory {
                story_id,
                alerts: 0
            }
        );
    }

    #[test]
    fn newsletters_sharing_a_template_stay_separate_stories() {
        let store = Store::open_in_memory().unwrap();
        let f = store.sync_feed("n", "https://n.example/rss").unwrap();
        let mon = item(
            f.id,
            "mon",
            "https://n.example/briefing/mon",
            "Daily briefing",
            &fixture("dedup/newsletter-monday.txt"),
            100,
        );
        let tue = item(
            f.id,
            "tue",
            "https://n.example/briefing/tue",
            "Daily briefing",
            &fixture("dedup/newsletter-tuesday.txt"),
            200,
        );
        assert!(matches!(
            store.ingest(&mon, &[]).unwrap(),
            Ingested::NewStory { .. }
        ));
        assert!(matches!(
            store.ingest(&tue, &[]).unwrap(),
            Ingested::NewStory { .. }
        ));
        assert_eq!(store.stories(0, None, 10).unwrap().len(), 2);
    }

    /// The fixture's words in an order of `seed`'s own: a text of news length that shares no
    /// shingles with another seed's.
    fn shuffled_text(seed: u64) -> String {
        let mut words: Vec<String> = fixture("tome-iraq-troops.expected.txt")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for i in (1..words.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            words.swap(i, (x % (i as u64 + 1)) as usize);
        }
        words.join(" ")
    }

    /// Stores the TOME story in the store at `path`, as one process would.
    fn store_tome(path: &std::path::Path) -> i64 {
        let store = Store::open(path).unwrap();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let tome = fixture("tome-iraq-troops.expected.txt");
        let Ingested::NewStory { story_id, .. } = store
            .ingest(
                &item(a.id, "t", "https://tome.example/t", "T", &tome, 100),
                &[],
            )
            .unwrap()
        else {
            panic!("the first copy is a new story")
        };
        story_id
    }

    /// Ingests the wire copy of the TOME story into `store` and checks that it joins the
    /// story `story_id`.
    fn assert_wire_joins(store: &Store, story_id: i64) {
        let b = store.sync_feed("wire", "https://wire.example/rss").unwrap();
        let wire = fixture("wire-iraq-troops.expected.txt");
        let got = store
            .ingest(
                &item(b.id, "w", "https://wire.example/w", "W", &wire, 200),
                &[],
            )
            .unwrap();
        assert!(
            matches!(got, Ingested::JoinedStory { story_id: s, .. } if s == story_id),
            "the wire copy joins story {story_id}: {got:?}"
        );
    }

    #[test]
    fn after_a_restart_a_copy_joins_the_story_stored_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let story_id = store_tome(&path);
        let store = Store::open(&path).unwrap();
        assert_wire_joins(&store, story_id);
    }

    #[test]
    fn a_story_stored_by_another_process_is_found_by_a_running_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let running = Store::open(&path).unwrap();
        // The running store's index is loaded before the other process stores the story.
        assert_eq!(
            running.find_near_duplicate(&shuffled_text(1), 150).unwrap(),
            None
        );
        let story_id = store_tome(&path);
        assert_wire_joins(&running, story_id);
    }

    #[test]
    fn stories_stored_before_band_keys_were_kept_in_rows_still_join() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let story_id = store_tome(&path);
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM story_fingerprints", [])
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_wire_joins(&store, story_id);
    }

    #[test]
    fn copies_join_their_stories_after_the_index_has_grown_many_times() {
        let store = Store::open_in_memory().unwrap();
        let f = store.sync_feed("a", "https://a.example/rss").unwrap();
        let g = store.sync_feed("b", "https://b.example/rss").unwrap();
        let mut ids = Vec::new();
        for n in 0..300u64 {
            let url = format!("https://a.example/{n}");
            let text = shuffled_text(n);
            match store
                .ingest(&item(f.id, &url, &url, "N", &text, 100), &[])
                .unwrap()
            {
                Ingested::NewStory { story_id, .. } => ids.push(story_id),
                other => panic!("story {n} is new, got {other:?}"),
            }
        }
        assert!(
            store.band_index_bytes() > 1024 * 8,
            "the index grew past its first size"
        );
        for n in [0usize, 150, 299] {
            // Another outlet's copy: the last fifth cut, a credit added.
            let text = shuffled_text(n as u64);
            let words: Vec<&str> = text.split(' ').collect();
            let copy = format!(
                "{}\n\nReporting by the wire desk.",
                words[..words.len() * 4 / 5].join(" ")
            );
            let url = format!("https://b.example/{n}");
            assert_eq!(
                store
                    .ingest(&item(g.id, &url, &url, "C", &copy, 200), &[])
                    .unwrap(),
                Ingested::JoinedStory {
                    story_id: ids[n],
                    alerts: 0
                },
                "copy of story {n}"
            );
        }
    }

    #[test]
    fn a_copy_seen_days_later_is_a_new_story() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let b = store.sync_feed("wire", "https://wire.example/rss").unwrap();
        let tome = fixture("tome-iraq-troops.expected.txt");
        let wire = fixture("wire-iraq-troops.expected.txt");
        store
            .ingest(
                &item(a.id, "t", "https://tome.example/t", "T", &tome, 0),
                &[],
            )
            .unwrap();
        let late = item(
            b.id,
            "w",
            "https://wire.example/w",
            "W",
            &wire,
            NEAR_DUPLICATE_WINDOW + 1,
        );
        assert!(matches!(
            store.ingest(&late, &[]).unwrap(),
            Ingested::NewStory { .. }
        ));
    }

    #[test]
    fn a_reissued_guid_for_the_same_page_is_seen_or_kept_as_a_revision() {
        let store = Store::open_in_memory().unwrap();
        let f = store.sync_feed("a", "https://a.example/rss").unwrap();
        let first = item(f.id, "g1", "https://a.example/1", "Talks", "first text", 10);
        let Ingested::NewStory { story_id, .. } = store.ingest(&first, &[]).unwrap() else {
            panic!()
        };
        let same = item(f.id, "g2", "https://a.example/1", "Talks", "first text", 20);
        assert_eq!(store.ingest(&same, &[]).unwrap(), Ingested::Seen);
        let changed = item(
            f.id,
            "g3",
            "https://a.example/1",
            "Talks end",
            "second text",
            30,
        );
        assert_eq!(
            store.ingest(&changed, &[]).unwrap(),
            Ingested::Updated { story_id }
        );
        let conn = store.conn();
        let (n, title): (i64, String) = conn
            .query_row("SELECT COUNT(*), MAX(title) FROM item_revisions", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, title.as_str()), (1, "Talks end"));
    }

    #[test]
    fn items_stored_in_one_transaction_are_filed_like_single_ones() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("tome", "https://tome.example/rss").unwrap();
        let b = store.sync_feed("wire", "https://wire.example/rss").unwrap();
        let tome = fixture("tome-iraq-troops.expected.txt");
        let wire = fixture("wire-iraq-troops.expected.txt");
        let done = store
            .ingest_many(&[
                (
                    item(a.id, "t", "https://tome.example/t", "T", &tome, 1),
                    vec![hit("iraq")],
                ),
                (
                    item(b.id, "w", "https://wire.example/w", "W", &wire, 2),
                    vec![hit("iraq")],
                ),
            ])
            .unwrap();
        let Ingested::NewStory {
            story_id,
            alerts: 1,
        } = done[0]
        else {
            panic!("{done:?}")
        };
        assert_eq!(
            done[1],
            Ingested::JoinedStory {
                story_id,
                alerts: 0
            }
        );
    }

    #[test]
    fn an_alert_left_sending_by_a_crash_is_due_again_with_the_same_id() {
        let store = Store::open_in_memory().unwrap();
        let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
        store
            .ingest(
                &item(feed.id, "g", "https://a.example/1", "T", "iraq", 10),
                &[hit("t")],
            )
            .unwrap();
        let row = store.due_alerts(10, false, 10).unwrap().remove(0);
        store.mark_sending(row.id).unwrap();
        let again = store.due_alerts(10, false, 10).unwrap();
        assert_eq!(again[0].alert_id, row.alert_id);
        store.mark_delivered(row.id, 11).unwrap();
        assert!(store.due_alerts(10_000, true, 10).unwrap().is_empty());
    }

    #[test]
    fn a_digest_topic_gathers_its_matches_into_one_alert() {
        let store = Store::open_in_memory().unwrap();
        let feed = store.sync_feed("a", "https://a.example/rss").unwrap();
        let mut h = hit("d");
        h.digest = true;
        for i in 0..3 {
            let it = item(
                feed.id,
                &format!("g{i}"),
                &format!("https://a.example/{i}"),
                "T",
                &format!("story {i}"),
                10,
            );
            store.ingest(&it, std::slice::from_ref(&h)).unwrap();
        }
        assert!(
            store.due_alerts(100, true, 10).unwrap().is_empty(),
            "digest matches wait for the tick"
        );
        assert_eq!(store.make_digest("d", &["hook".into()], 50).unwrap(), 3);
        let due = store.due_alerts(100, false, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].alert().unwrap().stories.len(), 3);
        assert_eq!(store.make_digest("d", &["hook".into()], 60).unwrap(), 0);
    }

    #[test]
    fn a_permanent_redirect_moves_the_feed_until_the_user_changes_its_url() {
        let store = Store::open_in_memory().unwrap();
        let f = store.sync_feed("a", "https://old.example/rss").unwrap();
        store
            .record_poll(
                f.id,
                &PollRecord {
                    outcome: "ok".into(),
                    new_url: Some("https://new.example/rss".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            store.sync_feed("a", "https://old.example/rss").unwrap().url,
            "https://new.example/rss"
        );
        assert_eq!(
            store
                .sync_feed("a", "https://other.example/rss")
                .unwrap()
                .url,
            "https://other.example/rss"
        );
    }
}
