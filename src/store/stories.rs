//! Stories: one piece of news, carried by one or more items (outlets, feeds). Finding the story
//! an item belongs to, filing a new one, and reading them back for `stories`, `search` and
//! alerts, with the other places each was seen (`also_at`).

use serde::Serialize;

use super::db::{Db, args};
use super::fingerprints::{self, Bands};
use super::items::NewItem;
use super::{Result, Store, rfc3339};
use crate::dedup;
use crate::notify::AlertStory;

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

/// Finds the story an item belongs to: the same page (canonical URL) in any feed, the same text
/// (content hash), or a near-duplicate text seen recently (fingerprint bands, then a check).
pub fn find(
    db: &mut Db,
    index: &dedup::BandIndex,
    item: &NewItem,
    hash: &str,
    shingles: &dedup::Shingles,
    fingerprint: Option<&dedup::Fingerprint>,
) -> Result<Option<i64>> {
    // The same page anywhere, or the same words: one round trip for both.
    let hash_key = if item.text.trim().is_empty() {
        None
    } else {
        Some(hash)
    };
    let (by_url, by_hash): (Option<i64>, Option<i64>) = db.query_one(
        "SELECT (SELECT story_id FROM items WHERE canonical_url = $1 LIMIT 1),
                (SELECT id FROM stories WHERE content_hash = $2 LIMIT 1)",
        args![item.canonical_url.as_deref(), hash_key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let Some(found) = by_url.or(by_hash) {
        return Ok(Some(found));
    }
    match fingerprint {
        Some(fp) => fingerprints::near_duplicate(db, index, shingles, fp, item.seen_at),
        None => Ok(None),
    }
}

/// Files a new story with its fingerprint; returns its id.
pub fn insert(
    db: &mut Db,
    bands: &mut Bands,
    item: &NewItem,
    hash: &str,
    shingles: &dedup::Shingles,
    fingerprint: Option<&dedup::Fingerprint>,
) -> Result<i64> {
    let keys = fingerprint.map_or(&[][..], |f| f.bands.as_slice());
    let categories = item.categories.join("\n");
    let id: i64 = db.query_one(
        "INSERT INTO stories (title, url, feed_id, published_at, first_seen_at, byline, site_name, summary, text, html,
                              extraction_note, content_hash, categories)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        args![
            &item.title,
            item.canonical_url
                .as_deref()
                .or(item.url.as_deref())
                .unwrap_or(""),
            item.feed_id,
            item.published_at,
            item.seen_at,
            item.byline.as_deref(),
            item.site_name.as_deref(),
            &item.summary,
            &item.text,
            &item.html,
            item.extraction_note.as_deref(),
            hash,
            &categories,
        ],
        |r| r.get(0),
    )?;
    fingerprints::insert(db, bands, id, item.seen_at, shingles, keys)?;
    Ok(id)
}

/// A story as it goes into an alert.
pub fn alert_story(db: &mut Db, story_id: i64, matched: Vec<String>) -> Result<AlertStory> {
    let (title, url, feed, published, summary): (String, String, String, Option<i64>, String) = db
        .query_one(
            "SELECT s.title, s.url, COALESCE(f.title, f.key), s.published_at, s.summary
             FROM stories s JOIN feeds f ON f.id = s.feed_id WHERE s.id = $1",
            args![story_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let also_at = copies(db, story_id, &url)?
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
        byline: None,
        text: String::new(),
    })
}

/// A story's byline and clean text, for the mail (see [`AlertStory::text`]).
pub fn article(db: &mut Db, story_id: i64) -> Result<Option<(Option<String>, String)>> {
    db.query_opt(
        "SELECT byline, text FROM stories WHERE id = $1",
        args![story_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The other places a story was seen, excluding its own URL.
pub fn copies(db: &mut Db, story_id: i64, own_url: &str) -> Result<Vec<Copy>> {
    let rows: Vec<(String, Option<String>)> = db.query(
        "SELECT COALESCE(f.title, f.key), COALESCE(i.canonical_url, i.url) FROM items i JOIN feeds f ON f.id = i.feed_id
         WHERE i.story_id = $1 ORDER BY i.first_seen_at, i.id",
        args![story_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut out: Vec<Copy> = Vec::new();
    for (feed, url) in rows {
        if let Some(url) = url
            && url != own_url
            && !out.iter().any(|c| c.url == url)
        {
            out.push(Copy { feed, url });
        }
    }
    Ok(out)
}

impl Store {
    /// Recent stories, newest first, with their copies; `topic` keeps those that matched it.
    pub fn stories(&self, since: i64, topic: Option<&str>, limit: usize) -> Result<Vec<StoryRow>> {
        self.with(|db| {
            let rows = match topic {
                Some(t) => db.query(
                    "SELECT s.id, s.title, s.url, COALESCE(f.title, f.key), s.published_at, s.first_seen_at, s.byline, s.summary
                     FROM stories s JOIN feeds f ON f.id = s.feed_id
                     WHERE s.first_seen_at >= $1
                       AND EXISTS (SELECT 1 FROM matches m WHERE m.story_id = s.id AND m.topic = $2)
                     ORDER BY s.first_seen_at DESC, s.id DESC LIMIT $3",
                    args![since, t, limit],
                    story_row,
                )?,
                None => db.query(
                    "SELECT s.id, s.title, s.url, COALESCE(f.title, f.key), s.published_at, s.first_seen_at, s.byline, s.summary
                     FROM stories s JOIN feeds f ON f.id = s.feed_id
                     WHERE s.first_seen_at >= $1
                     ORDER BY s.first_seen_at DESC, s.id DESC LIMIT $2",
                    args![since, limit],
                    story_row,
                )?,
            };
            let mut out = Vec::with_capacity(rows.len());
            for mut row in rows {
                row.also_at = copies(db, row.id, &row.url)?;
                row.topics = db.query(
                    "SELECT topic FROM matches WHERE story_id = $1 ORDER BY topic",
                    args![row.id],
                    |r| r.get(0),
                )?;
                out.push(row);
            }
            Ok(out)
        })
    }

    /// Every stored story (newest first, at most `limit`), for topic queries over the archive.
    /// `feed_tags` gives the configured tags of a feed by its key.
    pub fn story_docs(
        &self,
        limit: usize,
        feed_tags: &(dyn Fn(&str) -> Vec<String> + Sync),
    ) -> Result<Vec<StoryDoc>> {
        self.with(|db| {
            db.query(
                "SELECT s.id, s.title, s.text, COALESCE(s.byline, ''), COALESCE(f.title, f.key), f.key, s.url,
                        s.published_at, s.first_seen_at, s.categories
                 FROM stories s JOIN feeds f ON f.id = s.feed_id ORDER BY s.first_seen_at DESC, s.id DESC LIMIT $1",
                args![limit],
                |r| {
                    let key: String = r.get(5)?;
                    let mut tags = feed_tags(&key);
                    let categories: String = r.get(9)?;
                    let extra: Vec<String> = categories
                        .lines()
                        .filter(|c| !tags.iter().any(|t| t.eq_ignore_ascii_case(c)))
                        .map(str::to_string)
                        .collect();
                    tags.extend(extra);
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
                },
            )
        })
    }
}

fn story_row(r: &super::db::Row) -> Result<StoryRow> {
    Ok(StoryRow {
        id: r.get(0)?,
        title: r.get(1)?,
        url: r.get(2)?,
        feed: r.get(3)?,
        published: r.get::<Option<i64>>(4)?.map(rfc3339),
        first_seen: rfc3339(r.get(5)?),
        byline: r.get(6)?,
        summary: r.get(7)?,
        also_at: Vec::new(),
        topics: Vec::new(),
    })
}
