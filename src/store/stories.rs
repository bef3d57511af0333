//! Stories: one piece of news, carried by one or more items (outlets, feeds). Finding the story
//! an item belongs to, filing a new one, and reading them back for `stories`, `search` and
//! alerts, with the other places each was seen (`also_at`).

use serde::Serialize;

use super::db::{ColumnType, Columns, Db, Dialect, Value, args, values_list};
use super::fingerprints;
use super::items::{self, NewItem};
use super::{Result, Store, StoreError, rfc3339};
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

/// For each (canonical URL, content hash) of a batch, the story with that page in any feed and
/// the story with those words, in one statement (one round trip to a server). A near-duplicate
/// text is looked for after, by [`fingerprints::near_duplicate`], for what this finds nothing.
pub fn find_exact(
    db: &mut Db,
    keys: &[(Option<&str>, Option<&str>)],
) -> Result<Vec<(Option<i64>, Option<i64>)>> {
    let mut out = vec![(None, None); keys.len()];
    const LOOKUP: &str = "SELECT q.n,
                (SELECT story_id FROM items WHERE canonical_url = q.url LIMIT 1),
                (SELECT id FROM stories WHERE content_hash = q.hash LIMIT 1)
         FROM q";
    for (chunk_no, chunk) in keys.chunks(256).enumerate() {
        let rows = chunk
            .iter()
            .enumerate()
            .flat_map(|(n, (url, hash))| [Value::from(n), Value::from(*url), Value::from(*hash)]);
        let read = |r: &super::db::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
        let found: Vec<(i64, Option<i64>, Option<i64>)> = match db.dialect() {
            Dialect::Sqlite => {
                let params: Vec<Value> = rows.collect();
                let values = values_list(chunk.len(), &[Some("BIGINT"), None, None]);
                db.query(
                    &format!("WITH q(n, url, hash) AS (VALUES {values}) {LOOKUP}"),
                    &params,
                    read,
                )?
            }
            Dialect::Postgres => {
                use ColumnType::{Int, Text};
                let columns = Columns::of(&[Int, Text, Text], rows)?;
                let params: Vec<Value> = columns.params().collect();
                db.query(
                    &format!(
                        "WITH q(n, url, hash) AS ({}) {LOOKUP}",
                        columns.select(&[Int, Text, Text], 0)
                    ),
                    &params,
                    read,
                )?
            }
        };
        for (n, by_url, by_hash) in found {
            if let Some(slot) = out.get_mut(chunk_no * 256 + n as usize) {
                *slot = (by_url, by_hash);
            }
        }
    }
    Ok(out)
}

/// The columns of a story row, in the order [`story_params`] gives them.
const STORY_COLUMNS: &str = "title, url, feed_id, published_at, first_seen_at, byline, site_name, summary, text, html, extraction_note, content_hash, categories";

fn story_params<'a>(item: &'a NewItem, hash: &'a str, categories: &'a str) -> [Value<'a>; 13] {
    [
        Value::Text(&item.title),
        Value::Text(
            item.canonical_url
                .as_deref()
                .or(item.url.as_deref())
                .unwrap_or(""),
        ),
        Value::Int(item.feed_id),
        Value::from(item.published_at),
        Value::Int(item.seen_at),
        Value::from(item.byline.as_deref()),
        Value::from(item.site_name.as_deref()),
        Value::Text(&item.summary),
        Value::Text(&item.text),
        Value::Text(&item.html),
        Value::from(item.extraction_note.as_deref()),
        Value::Text(hash),
        Value::Text(categories),
    ]
}

/// SQLite's statement filing one story, written once: formatting it per story was an allocation
/// and a copy per row on the storing thread, the critical path of a large pass.
static INSERT_STORY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO stories ({STORY_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
});

/// A story to file: the item that brings it, its content hash and its fingerprint row.
pub struct NewStory<'a> {
    pub item: &'a NewItem,
    pub hash: &'a str,
    pub row: fingerprints::Row,
}

/// Files new stories with their fingerprints, and items under stories (a negative story is the
/// new story `-id - 1` of `new`); returns the new stories' ids, in order. On PostgreSQL it is
/// all one statement (one round trip to the server, under the lock every process's ingest
/// takes), the stories' ids drawn from their sequence in it.
pub fn insert_batch(
    db: &mut Db,
    new: &[NewStory],
    filed: &[(&NewItem, &str, i64)],
) -> Result<Vec<i64>> {
    let categories: Vec<String> = new.iter().map(|n| n.item.categories.join("\n")).collect();
    match db.dialect() {
        Dialect::Sqlite => {
            let mut ids = Vec::with_capacity(new.len());
            for (n, cats) in new.iter().zip(&categories) {
                let id = db.insert_row(&INSERT_STORY, &story_params(n.item, n.hash, cats))?;
                n.row.insert(db, id, n.item.seen_at)?;
                ids.push(id);
            }
            for &(item, hash, story) in filed {
                let story_id = if story < 0 {
                    ids.get((-story - 1) as usize).copied().unwrap_or(story)
                } else {
                    story
                };
                items::insert_item(db, item, hash, story_id)?;
            }
            items::count_filed(db, filed.iter().map(|&(item, _, _)| item.feed_id))?;
            Ok(ids)
        }
        Dialect::Postgres => {
            // Both batches as arrays, one per column (see `Columns`): the statement's text is
            // the same whatever the batch's size, so each connection prepares it once.
            use ColumnType::{Blob, Int, Text};
            const STORY_TYPES: [ColumnType; 17] = [
                Int, Text, Text, Int, Int, Int, Text, Text, Text, Text, Text, Text, Text, Text,
                Blob, Int, Blob,
            ];
            const ITEM_TYPES: [ColumnType; 11] =
                [Int, Text, Text, Text, Text, Int, Int, Text, Text, Int, Int];
            let stories = Columns::of(
                &STORY_TYPES,
                new.iter()
                    .zip(&categories)
                    .enumerate()
                    .flat_map(|(ord, (n, cats))| {
                        std::iter::once(Value::from(ord))
                            .chain(story_params(n.item, n.hash, cats))
                            .chain(n.row.params())
                    }),
            )?;
            let items = Columns::of(
                &ITEM_TYPES,
                filed.iter().flat_map(|&(item, hash, story)| {
                    let story = if story < 0 {
                        [Value::Null, Value::Int(-story - 1)]
                    } else {
                        [Value::Int(story), Value::Null]
                    };
                    items::item_params(item, hash).into_iter().chain(story)
                }),
            )?;
            let params: Vec<Value> = stories.params().chain(items.params()).collect();
            let rows: Vec<(i64, i64)> = db.query(
                &format!(
                    "WITH d(ord, title, url, feed_id, published_at, first_seen_at, byline, site_name,
                            summary, text, html, extraction_note, content_hash, categories,
                            bands, shingles, sketch) AS ({story_rows}),
                     -- The sequence looked up once (a subquery the plan runs once): named in
                     -- the call, it was looked up again for every row, a fifth of the
                     -- statement's time.
                     seq AS (SELECT CAST(pg_get_serial_sequence('stories', 'id') AS regclass) AS seq),
                     ids AS MATERIALIZED (
                       SELECT ord, nextval((SELECT seq FROM seq)) AS id FROM d),
                     s AS (
                       INSERT INTO stories (id, {STORY_COLUMNS})
                       SELECT ids.id, d.title, d.url, d.feed_id, d.published_at, d.first_seen_at,
                              d.byline, d.site_name, d.summary, d.text, d.html, d.extraction_note,
                              d.content_hash, d.categories
                       FROM d JOIN ids USING (ord)),
                     f AS (
                       INSERT INTO story_fingerprints (story_id, first_seen_at, {FP})
                       SELECT ids.id, d.first_seen_at, d.bands, d.shingles, d.sketch
                       FROM d JOIN ids USING (ord)),
                     it(feed_id, guid, url, canonical_url, title, published_at, first_seen_at,
                        content_hash, entry_hash, story_id, new_ord) AS ({item_rows}),
                     i AS (
                       INSERT INTO items ({ITEMS})
                       SELECT it.feed_id, it.guid, it.url, it.canonical_url, it.title,
                              it.published_at, it.first_seen_at, it.content_hash, it.entry_hash,
                              COALESCE(it.story_id, ids.id)
                       FROM it LEFT JOIN ids ON ids.ord = it.new_ord)
                     SELECT ord, id FROM ids",
                    story_rows = stories.select(&STORY_TYPES, 0),
                    item_rows = items.select(&ITEM_TYPES, STORY_TYPES.len()),
                    FP = fingerprints::ROW_COLUMNS,
                    ITEMS = items::ITEM_COLUMNS,
                ),
                &params,
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut ids = vec![0; new.len()];
            for (ord, id) in rows {
                if let Some(slot) = ids.get_mut(ord as usize) {
                    *slot = id;
                }
            }
            if ids.contains(&0) {
                return Err(StoreError::NotFound("the id of a story just filed".into()));
            }
            Ok(ids)
        }
    }
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
