//! Items: one row per feed item, linked to its story; a duplicate is linked, never dropped.
//! Storing an item is the store's central step: find or file its story, record the topics it
//! matched and queue their alerts, all in one serial transaction, so a crash loses nothing and
//! two processes never file one story twice or queue one alert twice.

use super::db::{Db, Dialect, Value, args};
use super::fingerprints::{self, Bands};
use super::{Result, Store, StoreError, ingest_log, outbox, stories};
use crate::dedup;
use std::sync::{Arc, Mutex, MutexGuard};

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
    /// The item's stored copy as [`Store::items_stored`] found it when the poll checked its
    /// items, so storing it does not look again (a poll's items are stored only by the
    /// process holding its feed's lease). [`Stored::Unknown`] makes the store look.
    pub stored: Stored,
}

/// What the store holds of an item, as a poll found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Stored {
    /// Not looked up.
    #[default]
    Unknown,
    /// Not stored.
    Absent,
    /// Stored, and since changed.
    Copy(StoredCopy),
}

/// An item's stored row, as storing a new version of it needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCopy(Prior);

/// What [`Store::items_stored`] found of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// Stored, and the feed still says the same of it: nothing to do.
    Unchanged,
    /// New, or changed since stored: to be stored (with this, see [`NewItem::stored`]).
    Fresh(Stored),
}

/// A topic the item matched, and where its alerts go.
#[derive(Debug, Clone)]
pub struct TopicHit {
    pub topic: String,
    pub matched: Vec<String>,
    /// Where its alert goes. None: the match is recorded (the story lists the topic, and a later
    /// copy does not alert it) but never sent nor digested: how a new feed's backlog is kept.
    pub notifiers: Vec<String>,
    /// Digest topics queue the match for the next digest instead of alerting at once.
    pub digest: bool,
    /// A short excerpt with the matched terms marked, sent as the alert's summary.
    pub snippet: String,
}

/// An item to ask [`Store::items_known`] about.
#[derive(Debug, Clone, Copy)]
pub struct KnownQuery<'a> {
    pub feed_id: i64,
    pub guid: &'a str,
    pub canonical_url: Option<&'a str>,
    /// The feed's title for the item, for items stored before entry hashes were kept.
    pub title: Option<&'a str>,
    /// The hash of the feed's words for the item (see [`NewItem::entry_hash`]).
    pub entry_hash: &'a str,
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

/// Where a feed's item is looked up: its feed, GUID and canonical URL.
#[derive(Debug, Clone, Copy)]
struct ItemKey<'a> {
    feed_id: i64,
    guid: &'a str,
    canonical_url: Option<&'a str>,
}

/// Keys looked up in one statement at most (two `SELECT`s each, under SQLite's limit of 500
/// in one compound statement).
const LOOKUP_CHUNK: usize = 100;

/// For each key, the feed's stored item, `columns` (of `items i`) read by `read` from column 3
/// on: by its GUID, else (a feed re-issuing GUIDs for one page) the newest at the same
/// canonical URL. One statement for a whole batch (one round trip to a database server), made
/// of one indexed lookup per key and field: a join of the keys with `items` let PostgreSQL,
/// before it had statistics of a new table, scan the whole table for every batch. The newest is
/// chosen here rather than by `ORDER BY id DESC LIMIT 1`: with that, SQLite (built with STAT4)
/// planned the statement again on every run, a tenth of an ingest's time.
fn stored_items<T>(
    db: &mut Db,
    columns: &str,
    keys: &[ItemKey],
    read: impl Fn(&super::db::Row) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    let mut best: Vec<Option<(i64, i64, T)>> = (0..keys.len()).map(|_| None).collect();
    for (chunk_no, chunk) in keys.chunks(LOOKUP_CHUNK).enumerate() {
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        let mut sql = String::new();
        for (n, k) in chunk.iter().enumerate() {
            let p = params.len();
            params.extend([Value::from(n), Value::Int(k.feed_id), Value::Text(k.guid)]);
            if n > 0 {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str(&format!(
                "SELECT CAST(${} AS BIGINT), 1, i.id, {columns} FROM items i
                 WHERE i.feed_id = ${} AND i.guid = ${}",
                p + 1,
                p + 2,
                p + 3
            ));
            if let Some(url) = k.canonical_url {
                params.push(Value::Text(url));
                sql.push_str(&format!(
                    " UNION ALL SELECT CAST(${} AS BIGINT), 0, i.id, {columns} FROM items i
                     WHERE i.feed_id = ${} AND i.canonical_url = ${}",
                    p + 1,
                    p + 2,
                    p + 4
                ));
            }
        }
        let rows: Vec<(usize, i64, i64, T)> = db.query(&sql, &params, |r| {
            let n: i64 = r.get(0)?;
            Ok((n as usize, r.get(1)?, r.get(2)?, read(r)?))
        })?;
        for (n, by_guid, id, t) in rows {
            let Some(slot) = best.get_mut(chunk_no * LOOKUP_CHUNK + n) else {
                continue;
            };
            if slot
                .as_ref()
                .is_none_or(|(g, i, _)| (by_guid, id) > (*g, *i))
            {
                *slot = Some((by_guid, id, t));
            }
        }
    }
    Ok(best.into_iter().map(|b| b.map(|(_, _, t)| t)).collect())
}

/// An item's story keys, computed before the serial transaction (they need no database, and
/// the lock that transaction holds is every process's).
struct Prepared {
    hash: String,
    shingles: dedup::Shingles,
    fingerprint: Option<dedup::Fingerprint>,
}

impl Prepared {
    fn of(item: &NewItem) -> Prepared {
        let (hash, shingles) = dedup::digest(&item.title, &item.text);
        let fingerprint = dedup::Fingerprint::of_shingles(&shingles);
        Prepared {
            hash,
            shingles,
            fingerprint,
        }
    }

    /// The hash a story is looked up by: none for an item without text (a title alone says
    /// too little to call two items one story).
    fn hash_key<'a>(&'a self, item: &NewItem) -> Option<&'a str> {
        (!item.text.trim().is_empty()).then_some(self.hash.as_str())
    }
}

/// The stored item an item updates: (item id, content hash, story id).
type Prior = (i64, String, i64);

/// The columns [`read_prior`] reads, from `items i`.
const PRIOR_COLUMNS: &str = "i.content_hash, i.story_id";

fn read_prior(r: &super::db::Row) -> Result<Prior> {
    Ok((r.get(2)?, r.get(3)?, r.get(4)?))
}

/// Where each of `items` is looked up.
fn item_keys<'a>(items: impl Iterator<Item = &'a NewItem>) -> Vec<ItemKey<'a>> {
    items
        .map(|i| ItemKey {
            feed_id: i.feed_id,
            guid: &i.guid,
            canonical_url: i.canonical_url.as_deref(),
        })
        .collect()
}

/// Items stored in one serial transaction at most, however many polls' batches wait: bounds
/// the transaction (and PostgreSQL's parameters per statement, about 28 an item).
const COMBINED_ITEMS: usize = 512;

/// The polls of this process waiting to store their items, and the turn at storing them.
#[derive(Default)]
pub(super) struct IngestQueue {
    /// Batches not stored yet.
    waiting: Mutex<Waiting>,
    /// Held by the thread storing: the one that takes it next stores every batch waiting
    /// then, its own and others', so that polls finishing together share one transaction.
    turn: Mutex<()>,
}

/// The batches waiting, and whether a task is storing them for async callers.
#[derive(Default)]
struct Waiting {
    /// Oldest first.
    requests: Vec<Arc<Request>>,
    /// A blocking task is storing batches (see [`Store::ingest_many_async`]): the next async
    /// caller need not start one.
    draining: bool,
}

impl Waiting {
    /// The oldest batches, as many as one transaction takes.
    fn take(&mut self) -> Vec<Arc<Request>> {
        let mut size = 0;
        let mut count = 0;
        for r in &self.requests {
            let len = lock(&r.batch).as_ref().map_or(0, |b| b.items.len());
            if count > 0 && size + len > COMBINED_ITEMS {
                break;
            }
            size += len;
            count += 1;
        }
        self.requests.drain(..count).collect()
    }
}

/// One call's batch, handed to whichever thread stores it, and its result.
struct Request {
    /// Taken by the thread that stores it.
    batch: Mutex<Option<Batch>>,
    /// Left by that thread for the caller.
    done: Mutex<Option<Result<Vec<Ingested>>>>,
    /// Wakes an async caller once `done` is there.
    wake: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// Items with what was worked out for them before the serial transaction.
#[derive(Default)]
struct Batch {
    items: Vec<(NewItem, Vec<TopicHit>)>,
    prepared: Vec<Prepared>,
    priors: Vec<Option<Prior>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The store thread's sets of one batch: foldhash rather than std's SipHash, which was 1.7% of
/// a 10,000-feed pass's samples on that thread (the pass's critical path), hashing 80 band
/// keys a story. Seeded per process; a batch holds at most some hundreds of items, so keys
/// chosen to collide could cost one batch, not the process.
type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What the earlier items of a batch stored, which the batch's lookups (made before any of
/// them was stored) cannot have seen.
#[derive(Default)]
struct BatchSoFar<'a> {
    /// (feed, GUID) and (feed, canonical URL) of the items stored.
    keys: FastSet<(i64, &'a str)>,
    /// The story of each canonical URL and each content hash stored.
    urls: FastMap<&'a str, i64>,
    hashes: FastMap<&'a str, i64>,
}

impl<'a> BatchSoFar<'a> {
    fn touches(&self, item: &NewItem) -> bool {
        self.keys.contains(&(item.feed_id, item.guid.as_str()))
            || item
                .canonical_url
                .as_deref()
                .is_some_and(|u| self.keys.contains(&(item.feed_id, u)))
    }

    /// Notes what storing `item` did, as the batch's lookups would have found it: an item
    /// filed (new story or joined) is found by its canonical URL, a new story by its hash.
    fn add(&mut self, item: &'a NewItem, prepared: &'a Prepared, done: Ingested) {
        self.keys.insert((item.feed_id, item.guid.as_str()));
        if let Some(u) = item.canonical_url.as_deref() {
            self.keys.insert((item.feed_id, u));
        }
        let (story_id, new_story) = match done {
            Ingested::NewStory { story_id, .. } => (story_id, true),
            Ingested::JoinedStory { story_id, .. } => (story_id, false),
            Ingested::Seen | Ingested::Updated { .. } => return,
        };
        if let Some(u) = item.canonical_url.as_deref() {
            self.urls.entry(u).or_insert(story_id);
        }
        if new_story && let Some(h) = prepared.hash_key(item) {
            self.hashes.entry(h).or_insert(story_id);
        }
    }
}

/// Stores the update of an item stored already (`prior`): nothing new for the same text, else
/// the new title and hash with the old version kept as a revision.
fn update_item(db: &mut Db, item: &NewItem, hash: &str, prior: Prior) -> Result<Ingested> {
    let (item_id, old_hash, story_id) = prior;
    if old_hash == hash {
        // The feed's words changed but not the story's (a new summary of the same page):
        // remember them, so the next poll does not fetch the page again.
        db.execute(
            "UPDATE items SET entry_hash = $2 WHERE id = $1",
            args![item_id, &item.entry_hash],
        )?;
        return Ok(Ingested::Seen);
    }
    db.execute(
        "UPDATE items SET title = $2, content_hash = $3, url = COALESCE($4, url), entry_hash = $5
         WHERE id = $1",
        args![
            item_id,
            &item.title,
            hash,
            item.url.as_deref(),
            &item.entry_hash
        ],
    )?;
    db.execute(
        "INSERT INTO item_revisions (item_id, seen_at, title, text, content_hash)
         VALUES ($1, $2, $3, $4, $5)",
        args![item_id, item.seen_at, &item.title, &item.text, hash],
    )?;
    Ok(Ingested::Updated { story_id })
}

/// A batch's writes not made yet: its new stories and the items to file, written together by
/// [`Pending::flush`] (on PostgreSQL in one statement). Until then a new story has a
/// provisional id, negative, which the flush replaces in what the batch returns.
#[derive(Default)]
struct Pending {
    /// The new stories: the batch index of the item that brings each.
    stories: Vec<usize>,
    /// The near-duplicate band keys of those stories, for [`Pending::shares_bands`] (a scan of
    /// every pending story's keys per item grew with the square of the batch).
    keys: FastSet<i64>,
    /// The items to file: batch index and story (a provisional id for a new one).
    items: Vec<(usize, i64)>,
}

impl Pending {
    fn provisional(&self) -> i64 {
        -(self.stories.len() as i64) - 1
    }

    /// Whether a pending new story shares a near-duplicate band key with `fp`: the index does
    /// not hold them yet, so they must be written (and indexed) before that lookup.
    fn shares_bands(&self, fp: &dedup::Fingerprint) -> bool {
        fp.bands.iter().any(|b| self.keys.contains(b))
    }

    /// Adds the item `k` as a new story.
    fn new_story(&mut self, k: usize, prepared: &[Prepared]) -> i64 {
        let story_id = self.provisional();
        if let Some(fp) = prepared[k].fingerprint.as_ref() {
            self.keys.extend(fp.bands.iter().copied());
        }
        self.stories.push(k);
        self.items.push((k, story_id));
        story_id
    }

    /// Writes what is pending, puts the new stories in the index, records the items' topic
    /// hits (with their alerts), and replaces provisional ids in `out` and `so_far`.
    fn flush(
        &mut self,
        db: &mut Db,
        slot: &mut Option<Bands>,
        items: &[(&NewItem, &[TopicHit])],
        prepared: &[Prepared],
        out: &mut [Ingested],
        so_far: &mut BatchSoFar,
    ) -> Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let new: Vec<stories::NewStory> = self
            .stories
            .iter()
            .map(|&k| stories::NewStory {
                item: items[k].0,
                hash: &prepared[k].hash,
                row: fingerprints::Row::of(
                    &prepared[k].shingles,
                    prepared[k]
                        .fingerprint
                        .as_ref()
                        .map_or(&[][..], |f| f.bands.as_slice()),
                ),
            })
            .collect();
        let filed: Vec<(&NewItem, &str, i64)> = self
            .items
            .iter()
            .map(|&(k, story)| (items[k].0, prepared[k].hash.as_str(), story))
            .collect();
        let ids = stories::insert_batch(db, &new, &filed)?;
        for (&k, &id) in self.stories.iter().zip(&ids) {
            let bands = fingerprints::current(db, slot, items[k].0.seen_at)?;
            let keys = prepared[k]
                .fingerprint
                .as_ref()
                .map_or(&[][..], |f| f.bands.as_slice());
            fingerprints::indexed(db, bands, id, keys)?;
        }
        let real = |id: i64| -> i64 {
            if id < 0 {
                ids.get((-id - 1) as usize).copied().unwrap_or(id)
            } else {
                id
            }
        };
        for &(k, story) in &self.items {
            let story_id = real(story);
            let alerts = outbox::record_hits(db, story_id, items[k].1, items[k].0.seen_at)?;
            out[k] = match out[k] {
                Ingested::NewStory { .. } => Ingested::NewStory { story_id, alerts },
                _ => Ingested::JoinedStory { story_id, alerts },
            };
        }
        for id in so_far.urls.values_mut().chain(so_far.hashes.values_mut()) {
            *id = real(*id);
        }
        self.stories.clear();
        self.keys.clear();
        self.items.clear();
        Ok(())
    }
}

/// The columns of an item row: those [`item_params`] gives, then its story.
pub(super) const ITEM_COLUMNS: &str = "feed_id, guid, url, canonical_url, title, published_at, first_seen_at, content_hash, entry_hash, story_id";

/// An item row's values but its story, for [`ITEM_COLUMNS`].
pub(super) fn item_params<'a>(item: &'a NewItem, hash: &'a str) -> [Value<'a>; 9] {
    [
        Value::Int(item.feed_id),
        Value::Text(&item.guid),
        Value::from(item.url.as_deref()),
        Value::from(item.canonical_url.as_deref()),
        Value::Text(&item.title),
        Value::from(item.published_at),
        Value::Int(item.seen_at),
        Value::Text(hash),
        Value::Text(&item.entry_hash),
    ]
}

/// The statement filing an item, written once (not formatted per item on the storing thread).
static INSERT_ITEM: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("INSERT INTO items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
});

/// Files an item under a story stored already.
pub(super) fn insert_item(db: &mut Db, item: &NewItem, hash: &str, story_id: i64) -> Result<()> {
    let mut params: Vec<Value> = Vec::with_capacity(10);
    params.extend(item_params(item, hash));
    params.push(Value::Int(story_id));
    db.execute(&INSERT_ITEM, &params)?;
    Ok(())
}

/// Adds items just filed to their feeds' counts (`feeds.item_count`), one statement per feed:
/// on SQLite the count is kept by the store, not by a trigger firing for each item (migration
/// 0010); PostgreSQL's trigger counts a whole statement's rows at once.
pub(super) fn count_filed(db: &mut Db, feeds: impl Iterator<Item = i64>) -> Result<()> {
    // A batch holds the items of at most the polls running at once (64 by default): a short
    // list is enough.
    let mut counts: Vec<(i64, i64)> = Vec::new();
    for feed in feeds {
        match counts.iter_mut().find(|(f, _)| *f == feed) {
            Some((_, n)) => *n += 1,
            None => counts.push((feed, 1)),
        }
    }
    for (feed, n) in counts {
        db.execute(
            "UPDATE feeds SET item_count = item_count + $1 WHERE id = $2",
            &[Value::Int(n), Value::Int(feed)],
        )?;
    }
    Ok(())
}

/// An earlier version of an item, kept when the feed changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub seen_at: i64,
    pub title: String,
}

impl Store {
    /// The revisions kept of a feed's item (by its GUID), oldest first.
    pub fn revisions(&self, feed_id: i64, guid: &str) -> Result<Vec<Revision>> {
        self.with(|db| {
            db.query(
                "SELECT r.seen_at, r.title FROM item_revisions r JOIN items i ON i.id = r.item_id
                 WHERE i.feed_id = $1 AND i.guid = $2 ORDER BY r.seen_at, r.id",
                args![feed_id, guid],
                |r| {
                    Ok(Revision {
                        seen_at: r.get(0)?,
                        title: r.get(1)?,
                    })
                },
            )
        })
    }

    /// Whether the feed's item is stored already and unchanged, so its page need not be
    /// fetched again: by GUID, or (for feeds whose GUIDs change on every poll) by its canonical
    /// URL within the same feed. An item whose entry hash (or, for items stored before entry
    /// hashes, whose title) differs is an update to store as a revision.
    pub fn item_known(
        &self,
        feed_id: i64,
        guid: &str,
        canonical_url: Option<&str>,
        title: Option<&str>,
        entry_hash: &str,
    ) -> Result<bool> {
        Ok(self
            .items_known(&[KnownQuery {
                feed_id,
                guid,
                canonical_url,
                title,
                entry_hash,
            }])?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// [`Store::item_known`] for many items in one statement (one round trip to a server per
    /// few hundred items, instead of one per item).
    pub fn items_known(&self, items: &[KnownQuery]) -> Result<Vec<bool>> {
        Ok(self
            .items_stored(items)?
            .into_iter()
            .map(|k| k == Known::Unchanged)
            .collect())
    }

    /// [`Store::items_known`], with each fresh item's stored copy for storing it.
    pub fn items_stored(&self, items: &[KnownQuery]) -> Result<Vec<Known>> {
        type Row = (Option<String>, Option<String>, Prior);
        let keys: Vec<ItemKey> = items
            .iter()
            .map(|q| ItemKey {
                feed_id: q.feed_id,
                guid: q.guid,
                canonical_url: q.canonical_url,
            })
            .collect();
        let stored: Vec<Option<Row>> = self.read(|db| {
            stored_items(
                db,
                "i.title, i.entry_hash, i.content_hash, i.story_id",
                &keys,
                |r| Ok((r.get(3)?, r.get(4)?, (r.get(2)?, r.get(5)?, r.get(6)?))),
            )
        })?;
        Ok(items
            .iter()
            .zip(stored)
            .map(|(q, stored)| {
                let Some((old_title, old_hash, prior)) = stored else {
                    return Known::Fresh(Stored::Absent);
                };
                let unchanged = match (old_hash, q.title) {
                    (Some(old), _) if !q.entry_hash.is_empty() => old == q.entry_hash,
                    (_, Some(new)) if !new.trim().is_empty() => old_title.as_deref() == Some(new),
                    _ => true,
                };
                if unchanged {
                    Known::Unchanged
                } else {
                    Known::Fresh(Stored::Copy(StoredCopy(prior)))
                }
            })
            .collect())
    }

    /// Stores an item: links it to the story it belongs to (creating one when it is news),
    /// records the topics it matched and queues their alerts, all in one transaction.
    pub fn ingest(&self, item: &NewItem, hits: &[TopicHit]) -> Result<Ingested> {
        let mut done = self.ingest_all(&[(item, hits)])?;
        Ok(done.remove(0))
    }

    /// [`Store::ingest`] for many items in one transaction: one commit instead of one per
    /// item, for a poll that brings many items (and for bulk imports). All or nothing.
    pub fn ingest_many(&self, items: &[(NewItem, Vec<TopicHit>)]) -> Result<Vec<Ingested>> {
        let refs: Vec<(&NewItem, &[TopicHit])> =
            items.iter().map(|(i, h)| (i, h.as_slice())).collect();
        self.ingest_all(&refs)
    }

    /// [`Store::ingest_many`] for async callers: the poll waits for its batch to be stored
    /// without holding a thread, and one blocking task stores what the waiting polls bring.
    pub async fn ingest_many_async(
        &self,
        items: &[(NewItem, Vec<TopicHit>)],
    ) -> Result<Vec<Ingested>> {
        let refs: Vec<(&NewItem, &[TopicHit])> =
            items.iter().map(|(i, h)| (i, h.as_slice())).collect();
        let Some(request) = self.request(&refs)? else {
            return Ok(Vec::new());
        };
        let (wake, woken) = tokio::sync::oneshot::channel();
        *lock(&request.wake) = Some(wake);
        let start = {
            let mut waiting = lock(&self.ingest_queue.waiting);
            waiting.requests.push(Arc::clone(&request));
            !std::mem::replace(&mut waiting.draining, true)
        };
        if start {
            let store = self.clone();
            tokio::task::spawn_blocking(move || store.drain_ingests());
        }
        let _ = woken.await;
        lock(&request.done).take().unwrap_or_else(|| {
            Err(super::StoreError::Unavailable(
                "the items were not stored (the process is stopping); they are fetched again at the next poll".into(),
            ))
        })
    }

    /// Stores what waits, batch after batch, until nothing does.
    fn drain_ingests(&self) {
        loop {
            let _turn = lock(&self.ingest_queue.turn);
            let taken = {
                let mut waiting = lock(&self.ingest_queue.waiting);
                if waiting.requests.is_empty() {
                    waiting.draining = false;
                    return;
                }
                waiting.take()
            };
            self.store_combined(&taken);
        }
    }

    /// The batch `items` makes, with what is worked out before the serial transaction.
    fn request(&self, items: &[(&NewItem, &[TopicHit])]) -> Result<Option<Arc<Request>>> {
        if items.is_empty() {
            return Ok(None);
        }
        // The hashing and shingling, outside the lock every process's ingest takes.
        let prepared: Vec<Prepared> = items.iter().map(|(item, _)| Prepared::of(item)).collect();
        // The items' stored copies, also before the lock (those whose poll did not look them
        // up already): only the process polling a feed stores its items (it holds the feed's
        // lease). Were another to slip one in, storing it again would break the feed's
        // unique GUID and the batch would go again, item by item, looking afresh.
        let unknown: Vec<&NewItem> = items
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| i.stored == Stored::Unknown)
            .collect();
        let keys = item_keys(unknown.into_iter());
        let mut looked_up = if keys.is_empty() {
            Vec::new()
        } else {
            self.with(|db| stored_items(db, PRIOR_COLUMNS, &keys, read_prior))?
        }
        .into_iter();
        let priors: Vec<Option<Prior>> = items
            .iter()
            .map(|(i, _)| match &i.stored {
                Stored::Unknown => looked_up.next().flatten(),
                Stored::Absent => None,
                Stored::Copy(StoredCopy(prior)) => Some(prior.clone()),
            })
            .collect();
        Ok(Some(Arc::new(Request {
            batch: Mutex::new(Some(Batch {
                items: items
                    .iter()
                    .map(|(i, h)| ((*i).clone(), h.to_vec()))
                    .collect(),
                prepared,
                priors,
            })),
            done: Mutex::new(None),
            wake: Mutex::new(None),
        })))
    }

    fn ingest_all(&self, items: &[(&NewItem, &[TopicHit])]) -> Result<Vec<Ingested>> {
        let Some(request) = self.request(items)? else {
            return Ok(Vec::new());
        };
        lock(&self.ingest_queue.waiting)
            .requests
            .push(Arc::clone(&request));
        loop {
            let _turn = lock(&self.ingest_queue.turn);
            if let Some(done) = lock(&request.done).take() {
                return done;
            }
            // This thread's turn at the serial transaction: it stores every batch waiting,
            // its own among them, in one transaction (one turn of the lock all processes
            // share, one commit), as many as fit.
            let taken = lock(&self.ingest_queue.waiting).take();
            self.store_combined(&taken);
        }
    }

    /// Stores the batches `requests` carry in one serial transaction and leaves each its
    /// result; if that transaction fails, each batch alone, so one bad batch costs only itself.
    fn store_combined(&self, requests: &[Arc<Request>]) {
        let mut all = Batch::default();
        let mut lens = Vec::with_capacity(requests.len());
        for r in requests {
            let Some(b) = lock(&r.batch).take() else {
                lens.push(0);
                continue;
            };
            lens.push(b.items.len());
            all.items.extend(b.items);
            all.prepared.extend(b.prepared);
            all.priors.extend(b.priors);
        }
        let refs: Vec<(&NewItem, &[TopicHit])> =
            all.items.iter().map(|(i, h)| (i, h.as_slice())).collect();
        let together = if requests.len() > 1 {
            self.store_serial(&refs, &all.prepared, &all.priors).ok()
        } else {
            None
        };
        let mut at = 0;
        for (r, len) in requests.iter().zip(lens) {
            let range = at..at + len;
            at += len;
            let done = match &together {
                Some(out) => Ok(out[range].to_vec()),
                None => self.store_serial(
                    &refs[range.clone()],
                    &all.prepared[range.clone()],
                    &all.priors[range],
                ),
            };
            *lock(&r.done) = Some(done);
            if let Some(wake) = lock(&r.wake).take() {
                let _ = wake.send(());
            }
        }
    }

    /// Stores `items` (with their [`Prepared`] keys and stored copies read before) as one
    /// serial transaction would. On PostgreSQL the batch is first written without the lock
    /// ([`Store::store_unlocked`]); only if another process stored, meanwhile, a story it
    /// would have joined is it written again under the lock, from the start.
    fn store_serial(
        &self,
        items: &[(&NewItem, &[TopicHit])],
        prepared: &[Prepared],
        priors: &[Option<Prior>],
    ) -> Result<Vec<Ingested>> {
        if self.dialect() == Dialect::Postgres {
            match self.store_unlocked(items, prepared, priors) {
                Ok(Some(out)) => return Ok(out),
                Ok(None) => {}
                Err(e) => tracing::debug!(
                    "storing {} items before the lock failed ({e}); storing them under it",
                    items.len()
                ),
            }
        }
        let done = self.serial(|db| {
            // Inside the serial transaction: the band index is brought up to date with every
            // process's stories under the lock, so none can slip in between.
            let mut bands = self.bands();
            let stored = (|| {
                let (out, _) = file(db, &mut bands, items, prepared, priors)?;
                if db.dialect() == Dialect::Postgres {
                    let seq = log(db, items, prepared, &out)?;
                    if let Some(b) = bands.as_mut() {
                        fingerprints::logged(b, seq);
                    }
                }
                Ok(out)
            })();
            if stored.is_err() {
                // The index may hold stories the rollback takes back: load it again next time.
                *bands = None;
            }
            stored
        });
        if done.is_err() {
            // The commit itself may have failed after the index took this batch's stories.
            *self.bands() = None;
        }
        done
    }

    /// PostgreSQL: takes the lock if it is free (then this is a serial transaction); else
    /// writes the batch without it, so several processes write at once, then takes the lock
    /// and reads what the others committed since the band index last caught up (the ingest
    /// log). If none of it is a story one of the batch's items would have joined (same
    /// canonical URL, same content hash, or a near-duplicate text), what was written is what
    /// a serial run would have written: the batch's log entry is appended and it commits.
    /// Otherwise it rolls back and returns `None`. The index may keep the rolled-back
    /// stories' ids: PostgreSQL never draws an id twice, and a lookup skips an id with no row.
    fn store_unlocked(
        &self,
        items: &[(&NewItem, &[TopicHit])],
        prepared: &[Prepared],
        priors: &[Option<Prior>],
    ) -> Result<Option<Vec<Ingested>>> {
        let outcome = self.tx(|db| {
            let mut bands = self.bands();
            // No one storing: the lock is held from the start, as a serial transaction would,
            // and nothing can have been missed.
            let locked = super::postgres::try_serial_lock(db)?;
            let (out, since) = file(db, &mut bands, items, prepared, priors)?;
            if !locked {
                super::postgres::take_serial_lock(db)?;
                let seen_at = items.first().map_or(0, |(i, _)| i.seen_at);
                let (_, delta) = fingerprints::catch_up(db, &mut bands, seen_at, since)?;
                if would_have_joined(db, &delta, items, prepared, &out)? {
                    return Err(StoreError::Conflict);
                }
            }
            let seq = log(db, items, prepared, &out)?;
            if let Some(b) = bands.as_mut() {
                fingerprints::logged(b, seq);
            }
            Ok(out)
        });
        match outcome {
            Ok(out) => Ok(Some(out)),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => {
                *self.bands() = None;
                Err(e)
            }
        }
    }
}

/// Whether any item of a batch that filed or joined a story would have joined one of those
/// another process stored meanwhile (`delta`): by canonical URL, by content hash, or by text.
fn would_have_joined(
    db: &mut Db,
    delta: &fingerprints::Delta,
    items: &[(&NewItem, &[TopicHit])],
    prepared: &[Prepared],
    out: &[Ingested],
) -> Result<bool> {
    if delta.is_empty() {
        return Ok(false);
    }
    for (((item, _), p), done) in items.iter().zip(prepared).zip(out) {
        if !matches!(
            done,
            Ingested::NewStory { .. } | Ingested::JoinedStory { .. }
        ) {
            continue;
        }
        if item
            .canonical_url
            .as_deref()
            .is_some_and(|u| delta.urls.contains(u))
            || p.hash_key(item).is_some_and(|h| delta.hashes.contains(h))
        {
            return Ok(true);
        }
        if let Some(fp) = p.fingerprint.as_ref() {
            let sharing = delta.sharing(fp);
            if !sharing.is_empty()
                && fingerprints::near_duplicate_among(db, sharing, &p.shingles, item.seen_at)?
                    .is_some()
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Appends the batch's ingest log entry (PostgreSQL, under the lock): the stories it filed,
/// the canonical URLs of the items it filed, and the new stories' content hashes.
fn log(
    db: &mut Db,
    items: &[(&NewItem, &[TopicHit])],
    prepared: &[Prepared],
    out: &[Ingested],
) -> Result<i64> {
    let mut ids = Vec::new();
    let mut urls = Vec::new();
    let mut hashes = Vec::new();
    for (((item, _), p), done) in items.iter().zip(prepared).zip(out) {
        match *done {
            Ingested::NewStory { story_id, .. } => {
                ids.push(story_id);
                hashes.push(p.hash.as_str());
            }
            Ingested::JoinedStory { .. } => {}
            Ingested::Seen | Ingested::Updated { .. } => continue,
        }
        if let Some(u) = item.canonical_url.as_deref() {
            urls.push(u);
        }
    }
    ingest_log::append(db, &ids, &urls, &hashes)
}

/// Files `items`: each one's story found by URL, content hash or text (among the stories the
/// band index holds, caught up first) or filed new, the batch's rows written, the topic hits
/// recorded with their alerts. The caller's transaction decides what the lookups can have
/// missed (see [`Store::store_serial`]); returned with the results is where the band index
/// had read to when the lookups began ([`fingerprints::cursor`]).
fn file(
    db: &mut Db,
    bands: &mut Option<Bands>,
    items: &[(&NewItem, &[TopicHit])],
    prepared: &[Prepared],
    priors: &[Option<Prior>],
) -> Result<(Vec<Ingested>, Option<i64>)> {
    let Some((first, _)) = items.first() else {
        return Ok((Vec::new(), fingerprints::cursor(bands)));
    };
    let keys = item_keys(items.iter().map(|(i, _)| *i));
    fingerprints::fresh(db, bands, first.seen_at)?;
    let since = fingerprints::cursor(bands);
    // Each item's story by URL or text, for the whole batch at once; the batch's own earlier
    // items are added as it goes.
    let lookups: Vec<(Option<&str>, Option<&str>)> = items
        .iter()
        .zip(prepared)
        .map(|((i, _), p)| (i.canonical_url.as_deref(), p.hash_key(i)))
        .collect();
    let exact = stories::find_exact(db, &lookups)?;
    let mut so_far = BatchSoFar::default();
    let mut out = vec![Ingested::Seen; items.len()];
    let mut pending = Pending::default();
    for (k, ((item, _), p)) in items.iter().zip(prepared).enumerate() {
        fingerprints::current(db, bands, item.seen_at)?;
        let prior = if so_far.touches(item) {
            // An earlier item of this batch went under its GUID or URL: that one is written
            // first, then looked up as a stored one.
            pending.flush(db, bands, items, prepared, &mut out, &mut so_far)?;
            stored_items(db, PRIOR_COLUMNS, &keys[k..=k], read_prior)?
                .pop()
                .flatten()
        } else {
            priors.get(k).cloned().flatten()
        };
        let done = if let Some(prior) = prior {
            update_item(db, item, &p.hash, prior)?
        } else {
            let (by_url, by_hash) = exact.get(k).copied().unwrap_or((None, None));
            let local_url = lookups[k].0.and_then(|u| so_far.urls.get(u).copied());
            let local_hash = lookups[k].1.and_then(|h| so_far.hashes.get(h).copied());
            let mut story = by_url.or(local_url).or(by_hash).or(local_hash);
            if story.is_none()
                && let Some(fp) = p.fingerprint.as_ref()
            {
                if pending.shares_bands(fp) {
                    pending.flush(db, bands, items, prepared, &mut out, &mut so_far)?;
                }
                let index = fingerprints::current(db, bands, item.seen_at)?;
                story =
                    fingerprints::near_duplicate(db, &index.index, &p.shingles, fp, item.seen_at)?;
            }
            match story {
                Some(story_id) => {
                    pending.items.push((k, story_id));
                    Ingested::JoinedStory {
                        story_id,
                        alerts: 0,
                    }
                }
                None => {
                    let story_id = pending.new_story(k, prepared);
                    Ingested::NewStory {
                        story_id,
                        alerts: 0,
                    }
                }
            }
        };
        so_far.add(item, p, done);
        out[k] = done;
    }
    pending.flush(db, bands, items, prepared, &mut out, &mut so_far)?;
    Ok((out, since))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(feed_id: i64, guid: &str, text: &str) -> NewItem {
        let url = format!("https://news.example/{guid}");
        NewItem {
            feed_id,
            guid: guid.into(),
            canonical_url: dedup::canonical_url(&url),
            url: Some(url),
            title: format!("Story {guid}"),
            seen_at: 1_700_000_000,
            text: text.into(),
            ..Default::default()
        }
    }

    /// Starts `batches` ingests on threads while the turn is held, so that all of them wait
    /// and the first to get the turn stores them together; returns each one's result.
    fn ingest_together(store: &Store, batches: Vec<Vec<NewItem>>) -> Vec<Result<Vec<Ingested>>> {
        let turn = lock(&store.ingest_queue.turn);
        let n = batches.len();
        let threads: Vec<_> = batches
            .into_iter()
            .map(|batch| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let pairs: Vec<(NewItem, Vec<TopicHit>)> =
                        batch.into_iter().map(|i| (i, Vec::new())).collect();
                    store.ingest_many(&pairs)
                })
            })
            .collect();
        while lock(&store.ingest_queue.waiting).requests.len() < n {
            std::thread::yield_now();
        }
        drop(turn);
        threads
            .into_iter()
            .map(|t| t.join().expect("ingest thread"))
            .collect()
    }

    #[test]
    fn polls_that_wait_together_are_stored_together_and_a_copy_across_them_joins_one_story() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("a", "https://a.example/feed").unwrap().id;
        let b = store.sync_feed("b", "https://b.example/feed").unwrap().id;
        let wire = "The council voted on Tuesday to close the old bridge to cars from March, \
                    after engineers found cracks in two of its supports during an inspection.";
        let mut copy = item(b, "b-1", wire);
        copy.url = Some("https://b.example/bridge".into());
        copy.canonical_url = dedup::canonical_url("https://b.example/bridge");
        let done = ingest_together(
            &store,
            vec![
                vec![
                    item(a, "a-1", wire),
                    item(a, "a-2", "Another story entirely."),
                ],
                vec![copy],
            ],
        );
        let first = done[0].as_ref().unwrap();
        let second = done[1].as_ref().unwrap();
        // The two waited together; which went first is the threads' race. One of the two
        // outlets' copies files the story, the other joins it in the same transaction.
        let story = |i: &Ingested| match *i {
            Ingested::NewStory { story_id, .. } | Ingested::JoinedStory { story_id, .. } => {
                story_id
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(story(&first[0]), story(&second[0]), "{first:?} {second:?}");
        let new = [first[0], second[0]]
            .iter()
            .filter(|i| matches!(i, Ingested::NewStory { .. }))
            .count();
        assert_eq!(new, 1, "{first:?} {second:?}");
        assert!(matches!(first[1], Ingested::NewStory { .. }), "{first:?}");
        assert_eq!(store.stories(0, None, 10).unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polls_waiting_without_a_thread_each_get_their_own_results() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("a", "https://a.example/feed").unwrap().id;
        let b = store.sync_feed("b", "https://b.example/feed").unwrap().id;
        let tasks: Vec<_> = (0..40)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    // Feed b carries feed a's story n under its own GUID and page.
                    // Words of its own for each story, so that no two are near copies.
                    let text: String = (0..30).map(|w| format!("word{n}x{w} ")).collect();
                    let mine = item(a, &format!("a-{n}"), &text);
                    let mut copy = item(b, &format!("b-{n}"), &text);
                    copy.url = Some(format!("https://b.example/{n}"));
                    copy.canonical_url = dedup::canonical_url(&format!("https://b.example/{n}"));
                    let first = store
                        .ingest_many_async(&[(mine, Vec::new())])
                        .await
                        .unwrap();
                    let second = store
                        .ingest_many_async(&[(copy, Vec::new())])
                        .await
                        .unwrap();
                    (first, second)
                })
            })
            .collect();
        for t in tasks {
            let (first, second) = t.await.unwrap();
            let [Ingested::NewStory { story_id, .. }] = first[..] else {
                panic!("{first:?}")
            };
            assert_eq!(
                second,
                vec![Ingested::JoinedStory {
                    story_id,
                    alerts: 0
                }]
            );
        }
        assert_eq!(store.stories(0, None, 100).unwrap().len(), 40);
    }

    #[test]
    fn a_bad_batch_waiting_beside_good_ones_costs_only_itself() {
        let store = Store::open_in_memory().unwrap();
        let a = store.sync_feed("a", "https://a.example/feed").unwrap().id;
        // No feed 9999: its items break a foreign key, and fail the transaction they are in.
        let done = ingest_together(
            &store,
            vec![
                vec![item(a, "a-1", "First good story.")],
                vec![item(9999, "x-1", "Orphan.")],
                vec![item(a, "a-2", "Second good story.")],
            ],
        );
        assert!(
            matches!(done[0].as_deref(), Ok([Ingested::NewStory { .. }])),
            "{:?}",
            done[0]
        );
        assert!(done[1].is_err(), "{:?}", done[1]);
        assert!(
            matches!(done[2].as_deref(), Ok([Ingested::NewStory { .. }])),
            "{:?}",
            done[2]
        );
        assert_eq!(store.stories(0, None, 10).unwrap().len(), 2);
    }
}
