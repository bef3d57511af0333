//! Items: one row per feed item, linked to its story; a duplicate is linked, never dropped.
//! Storing an item is the store's central step: find or file its story, record the topics it
//! matched and queue their alerts, all in one serial transaction, so a crash loses nothing and
//! two processes never file one story twice or queue one alert twice.

use super::db::{Db, args};
use super::fingerprints::{self, Bands};
use super::{Result, Store, outbox, stories};
use crate::dedup;

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
    /// Where its alert goes. None: the match is recorded (the story lists the topic, and a later
    /// copy does not alert it) but never sent nor digested: how a new feed's backlog is kept.
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

/// The feed's stored item for an entry, `columns` read by `read` from column 2 on: by its GUID,
/// else (a feed re-issuing GUIDs for one page) the newest at the same canonical URL. One
/// statement, one round trip to a database server. The newest is chosen here rather than by
/// `ORDER BY id DESC LIMIT 1`: with that, SQLite (built with STAT4) planned the statement again
/// on every run, a tenth of an ingest's time.
fn stored_item<T>(
    db: &mut Db,
    columns: &str,
    feed_id: i64,
    guid: &str,
    canonical_url: Option<&str>,
    read: impl Fn(&super::db::Row) -> Result<T>,
) -> Result<Option<T>> {
    let rows: Vec<(i64, i64, T)> = db.query(
        &format!(
            "SELECT 1, id, {columns} FROM items WHERE feed_id = $1 AND guid = $2
             UNION ALL
             SELECT 0, id, {columns} FROM items WHERE feed_id = $1 AND canonical_url = $3"
        ),
        args![feed_id, guid, canonical_url],
        |r| Ok((r.get(0)?, r.get(1)?, read(r)?)),
    )?;
    Ok(rows
        .into_iter()
        .max_by_key(|(by_guid, id, _)| (*by_guid, *id))
        .map(|(_, _, t)| t))
}

/// Stores one item inside the caller's serial transaction (see [`Store::ingest`]).
fn ingest_one(
    db: &mut Db,
    bands: &mut Bands,
    item: &NewItem,
    hits: &[TopicHit],
) -> Result<Ingested> {
    let (hash, shingles) = dedup::digest(&item.title, &item.text);

    // An unstable GUID: the feed re-issued, under a new GUID, an item it carried already at
    // the same page. The same text is nothing new; a changed one is an update of that item.
    let existing: Option<(i64, String, i64)> = stored_item(
        db,
        "content_hash, story_id",
        item.feed_id,
        &item.guid,
        item.canonical_url.as_deref(),
        |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if let Some((item_id, old_hash, story_id)) = existing {
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
                &hash,
                item.url.as_deref(),
                &item.entry_hash
            ],
        )?;
        db.execute(
            "INSERT INTO item_revisions (item_id, seen_at, title, text, content_hash)
             VALUES ($1, $2, $3, $4, $5)",
            args![item_id, item.seen_at, &item.title, &item.text, &hash],
        )?;
        return Ok(Ingested::Updated { story_id });
    }

    let fingerprint = dedup::Fingerprint::of_shingles(&shingles);
    let found = stories::find(
        db,
        &bands.index,
        item,
        &hash,
        &shingles,
        fingerprint.as_ref(),
    )?;
    let (story_id, joined) = match found {
        Some(id) => (id, true),
        None => (
            stories::insert(db, bands, item, &hash, &shingles, fingerprint.as_ref())?,
            false,
        ),
    };
    db.execute(
        "INSERT INTO items (feed_id, guid, url, canonical_url, title, published_at, first_seen_at, content_hash, story_id, entry_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            item.feed_id,
            &item.guid,
            item.url.as_deref(),
            item.canonical_url.as_deref(),
            &item.title,
            item.published_at,
            item.seen_at,
            &hash,
            story_id,
            &item.entry_hash
        ],
    )?;
    let alerts = outbox::record_hits(db, story_id, hits, item.seen_at)?;
    Ok(if joined {
        Ingested::JoinedStory { story_id, alerts }
    } else {
        Ingested::NewStory { story_id, alerts }
    })
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
        type Stored = (Option<String>, Option<String>);
        let stored: Option<Stored> = self.with(|db| {
            stored_item(db, "title, entry_hash", feed_id, guid, canonical_url, |r| {
                Ok((r.get(2)?, r.get(3)?))
            })
        })?;
        Ok(match (stored, title) {
            (None, _) => false,
            (Some((_, Some(old))), _) if !entry_hash.is_empty() => old == entry_hash,
            (Some((old, _)), Some(new)) if !new.trim().is_empty() => old.as_deref() == Some(new),
            (Some(_), _) => true,
        })
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

    fn ingest_all(&self, items: &[(&NewItem, &[TopicHit])]) -> Result<Vec<Ingested>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let done = self.serial(|db| {
            // Inside the serial transaction: the band index is brought up to date with every
            // process's stories under the lock, so none can slip in between.
            let mut bands = self.bands();
            let mut out = Vec::with_capacity(items.len());
            let stored = (|| {
                for (item, hits) in items {
                    let index = fingerprints::fresh(db, &mut bands, item.seen_at)?;
                    out.push(ingest_one(db, index, item, hits)?);
                }
                Ok(())
            })();
            if stored.is_err() {
                // The index may hold stories the rollback takes back: load it again next time.
                *bands = None;
            }
            stored.map(|()| out)
        });
        if done.is_err() {
            // The commit itself may have failed after the index took this batch's stories.
            *self.bands() = None;
        }
        done
    }
}
