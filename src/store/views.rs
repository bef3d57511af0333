//! Reads for the web pages and the JSON API (`crate::web`): pages of stories, alerts and polls
//! in keyset order (a page is found by an index seek from the last row shown, never by an
//! offset that grows with the archive), one story or alert whole, and the counts the overview
//! and the topic charts draw.
//!
//! Read-only: nothing here writes. Each statement is written once for both backends.

use serde::Serialize;

use super::db::{Row, Value, args};
use super::feeds::PollOutcome;
use super::outbox::OutboxRow;
use super::stories::{Copy, copies};
use super::{Result, Store, rfc3339};
use crate::outbox::OutboxState;

/// One poll of a feed, as its chart on the feeds page draws it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PollPoint {
    /// When the poll started (unix seconds; RFC 3339 in JSON).
    #[serde(serialize_with = "as_rfc3339")]
    pub at: i64,
    /// How it ended: the colour of its bar.
    pub outcome: PollOutcome,
    /// The HTTP status, when the server answered.
    pub http_status: Option<i64>,
    /// How long it took (ms): the height of its bar; `None` for polls logged before this was kept.
    pub duration_ms: Option<i64>,
    /// Items it brought that were new.
    pub new_items: i64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

fn as_rfc3339<S: serde::Serializer>(t: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// The most stories a feed or tag filter tests for one page (see [`Store::story_page`]).
pub const SCAN_WINDOW: usize = 20_000;

/// A page of stories.
#[derive(Debug, Clone)]
pub struct StoryPage {
    /// The stories, newest first.
    pub items: Vec<StoryListing>,
    /// Where a filtered scan stopped without filling the page: the next page starts there.
    /// `None` when the page is full or the archive has been read to its start.
    pub scanned_to: Option<StoryCursor>,
}

/// Which stories a page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryFilter {
    /// Only stories that matched this topic.
    pub topic: Option<String>,
    /// Only stories one of whose items came from the feed with this key.
    pub feed: Option<String>,
    /// Only stories one of these feeds carried (the feeds configured with the tag asked for)
    /// or whose own categories hold the tag: (feed keys, tag).
    pub tag: Option<(Vec<String>, String)>,
    /// Only stories first seen at or after this time (unix seconds).
    pub since: Option<i64>,
    /// Only stories first seen before this time (unix seconds).
    pub until: Option<i64>,
}

/// Where a page of stories starts: after the story last shown, in the list's order (newest
/// first by first sighting, then by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryCursor {
    /// The last story shown's first sighting (unix seconds).
    pub first_seen: i64,
    /// The last story shown's id, which breaks ties between stories first seen together.
    pub id: i64,
}

impl StoryCursor {
    /// The cursor as it travels in a URL: `SECONDS.ID`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.first_seen, self.id)
    }

    /// Reads [`StoryCursor::encode`]'s form.
    pub fn decode(s: &str) -> Option<StoryCursor> {
        let (a, b) = s.split_once('.')?;
        Some(StoryCursor {
            first_seen: a.parse().ok()?,
            id: b.parse().ok()?,
        })
    }
}

/// A topic a story matched, and the terms that made it match.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TopicMatch {
    /// The topic's name.
    pub topic: String,
    /// The query's terms found in the story, as the alert listed them.
    pub terms: Vec<String>,
}

/// A story as the stories page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StoryListing {
    /// The story's id: its page is `/stories/ID`.
    pub id: i64,
    /// Its headline.
    pub title: String,
    /// Where it is read (its canonical URL when known).
    pub url: String,
    /// The feed that brought it first (its title, else its key).
    pub feed: String,
    /// The feed's key, for the feed filter's link.
    pub feed_key: String,
    /// As the item said, RFC 3339 UTC.
    pub published: Option<String>,
    /// When feedwatch first saw it, RFC 3339 UTC.
    pub first_seen: String,
    /// The same moment in unix seconds: the cursor of the next page is made of it.
    #[serde(skip)]
    pub first_seen_at: i64,
    /// The author, when the page names one.
    pub byline: Option<String>,
    /// A few sentences of it.
    pub summary: String,
    /// The same story at other outlets.
    pub also_at: Vec<Copy>,
    /// The topics it matched, with their terms.
    pub topics: Vec<TopicMatch>,
}

/// One item (a feed's copy) of a story.
#[derive(Debug, Clone, Serialize)]
pub struct StoryItem {
    /// The feed that carried it.
    pub feed: String,
    /// Where that feed's copy is read.
    pub url: Option<String>,
    /// That feed's headline for it.
    pub title: Option<String>,
    /// When feedwatch saw that copy, RFC 3339 UTC.
    pub first_seen: String,
}

/// A story whole, for its page.
#[derive(Debug, Clone, Serialize)]
pub struct StoryDetail {
    /// What the list shows of it.
    #[serde(flatten)]
    pub listing: StoryListing,
    /// The site's name, from the page's metadata.
    pub site_name: Option<String>,
    /// The clean article text (plain text, paragraphs separated by blank lines).
    pub text: String,
    /// Why the page's own text was not used, when it was not.
    pub extraction_note: Option<String>,
    /// The item's categories.
    pub categories: Vec<String>,
    /// Every item that carried it, first seen first.
    pub items: Vec<StoryItem>,
}

/// An alert's deliveries by state, per notifier.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OutboxCounts {
    /// The notifier these alerts go to.
    pub notifier: String,
    /// Waiting for their (next) try.
    pub pending: i64,
    /// Being sent now by some process.
    pub sending: i64,
    /// Taken by the receiver.
    pub delivered: i64,
    /// Given up on.
    pub failed: i64,
}

/// One delivery attempt of an alert, as it ended.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// When it ended, RFC 3339 UTC.
    pub at: String,
    /// The alert's state after it: delivered, pending (a retry is due), failed (given up).
    pub state: OutboxState,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// Which alerts the alerts page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only alerts in this state.
    pub state: Option<OutboxState>,
    /// Only alerts to this notifier.
    pub notifier: Option<String>,
    /// Only alerts older than this row (the last one shown): the keyset of the next page.
    pub before: Option<i64>,
}

const LISTING_COLUMNS: &str = "s.id, s.title, s.url, COALESCE(f.title, f.key), f.key, s.published_at, s.first_seen_at, s.byline, s.summary";

fn listing(r: &Row) -> Result<StoryListing> {
    let first_seen_at: i64 = r.get(6)?;
    Ok(StoryListing {
        id: r.get(0)?,
        title: r.get(1)?,
        url: r.get(2)?,
        feed: r.get(3)?,
        feed_key: r.get(4)?,
        published: r.get::<Option<i64>>(5)?.map(rfc3339),
        first_seen: rfc3339(first_seen_at),
        first_seen_at,
        byline: r.get(7)?,
        summary: r.get(8)?,
        also_at: Vec::new(),
        topics: Vec::new(),
    })
}

/// `%`, `_` and the escape itself made literal in a `LIKE` pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn topic_matches(db: &mut super::db::Db, story_id: i64) -> Result<Vec<TopicMatch>> {
    db.query(
        "SELECT topic, matched FROM matches WHERE story_id = $1 ORDER BY topic",
        args![story_id],
        |r| {
            let matched: String = r.get(1)?;
            Ok(TopicMatch {
                topic: r.get(0)?,
                terms: serde_json::from_str(&matched).unwrap_or_default(),
            })
        },
    )
}

impl PollOutcome {
    /// Reads [`PollOutcome::as_str`]'s names; an unknown one (a newer release's) reads as an error.
    pub fn parse(s: &str) -> PollOutcome {
        match s {
            "ok" => PollOutcome::Ok,
            "not-modified" => PollOutcome::NotModified,
            _ => PollOutcome::Error,
        }
    }
}

impl Serialize for PollOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Store {
    /// Every feed's key and own title, by key: for a page's feed filter, without the item
    /// counts [`Store::feeds`] makes.
    pub fn feed_names(&self) -> Result<Vec<(String, Option<String>)>> {
        self.read(|db| {
            db.query("SELECT key, title FROM feeds ORDER BY key", &[], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
    }

    /// Each feed's last `per_feed` polls, oldest first, by feed id.
    pub fn recent_polls(
        &self,
        feed_ids: &[i64],
        per_feed: usize,
    ) -> Result<std::collections::HashMap<i64, Vec<PollPoint>>> {
        self.read(|db| {
            let mut out = std::collections::HashMap::new();
            for &id in feed_ids {
                let mut polls: Vec<PollPoint> = db.query(
                    "SELECT at, outcome, http_status, duration_ms, new_items, error FROM fetch_log
                     WHERE feed_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                    args![id, per_feed],
                    |r| {
                        Ok(PollPoint {
                            at: r.get(0)?,
                            outcome: PollOutcome::parse(&r.get::<String>(1)?),
                            http_status: r.get(2)?,
                            duration_ms: r.get(3)?,
                            new_items: r.get(4)?,
                            error: r.get(5)?,
                        })
                    },
                )?;
                polls.reverse();
                out.insert(id, polls);
            }
            Ok(out)
        })
    }

    /// A page of stories, newest first (by first sighting), after `after`, with their copies
    /// and matched topics; `limit` at most. A feed or tag filter is tested story by story over
    /// the next [`SCAN_WINDOW`] stories at most: when they hold fewer than `limit` matches, the
    /// page is short and says where the scan stopped, so a rare filter costs a bounded time
    /// per page instead of a scan of the whole archive.
    pub fn story_page(
        &self,
        filter: &StoryFilter,
        after: Option<StoryCursor>,
        limit: usize,
    ) -> Result<StoryPage> {
        /// A parameter of the statement being built, numbered in the order pushed.
        enum P {
            Text(String),
            Int(i64),
        }
        let mut ps: Vec<P> = Vec::new();
        let push = |ps: &mut Vec<P>, p: P| {
            ps.push(p);
            ps.len()
        };
        // The bounds every part of the statement shares: the limit, the cursor, `until`.
        let lim = push(&mut ps, P::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let before = |ps: &mut Vec<P>, alias: &str| -> Vec<String> {
            let mut out = Vec::new();
            if let Some(c) = after {
                let a = push(ps, P::Int(c.first_seen));
                let b = push(ps, P::Int(c.id));
                out.push(format!(
                    "({alias}.first_seen_at < ${a} OR ({alias}.first_seen_at = ${a} AND {alias}.id < ${b}))"
                ));
            }
            if let Some(until) = filter.until {
                let p = push(ps, P::Int(until));
                out.push(format!("{alias}.first_seen_at < ${p}"));
            }
            out
        };
        let mut conditions: Vec<String> = before(&mut ps, "s");
        if let Some(t) = &filter.topic {
            let p = push(&mut ps, P::Text(t.clone()));
            conditions.push(format!(
                "s.id IN (SELECT story_id FROM matches WHERE topic = ${p})"
            ));
        }
        if let Some(f) = &filter.feed {
            // Tested story by story, newest first: the story's own feed, else any item of it
            // (a copy), read from the (story, feed) index.
            let p = push(&mut ps, P::Text(f.clone()));
            conditions.push(format!(
                "(s.feed_id = (SELECT id FROM feeds WHERE key = ${p})
                  OR EXISTS (SELECT 1 FROM items i WHERE i.story_id = s.id
                             AND i.feed_id = (SELECT id FROM feeds WHERE key = ${p})))"
            ));
        }
        if let Some((keys, tag)) = &filter.tag {
            // Tested story by story, newest first (a tag is usually carried by many feeds,
            // so a page is found after a few rows).
            let mut alternatives = Vec::new();
            if !keys.is_empty() {
                let placeholders: Vec<String> = keys
                    .iter()
                    .map(|k| format!("${}", push(&mut ps, P::Text(k.clone()))))
                    .collect();
                let tagged = format!(
                    "(SELECT id FROM feeds WHERE key IN ({}))",
                    placeholders.join(", ")
                );
                alternatives.push(format!("s.feed_id IN {tagged}"));
                alternatives.push(format!(
                    "EXISTS (SELECT 1 FROM items i WHERE i.story_id = s.id AND i.feed_id IN {tagged})"
                ));
            }
            // A whole line of the categories: the text between two line ends.
            let nl = push(&mut ps, P::Text("\n".into()));
            let p = push(
                &mut ps,
                P::Text(format!("%\n{}\n%", like_literal(&tag.to_lowercase()))),
            );
            alternatives.push(format!(
                "LOWER(${nl} || s.categories || ${nl}) LIKE ${p} ESCAPE '\\'"
            ));
            conditions.push(format!("({})", alternatives.join(" OR ")));
        }
        if let Some(since) = filter.since {
            let p = push(&mut ps, P::Int(since));
            conditions.push(format!("s.first_seen_at >= ${p}"));
        }
        let mut window_end: Option<(String, Vec<P>)> = None;
        let where_ = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let scanned = filter.feed.is_some() || filter.tag.is_some();
        let source = if scanned {
            // The window: the next stories in the list's order, whatever the filter.
            let mut window = vec![String::from("true")];
            let mut wps: Vec<P> = Vec::new();
            window.extend(before(&mut wps, "s0"));
            if let Some(since) = filter.since {
                let p = push(&mut wps, P::Int(since));
                window.push(format!("s0.first_seen_at >= ${p}"));
            }
            let n = push(&mut wps, P::Int(SCAN_WINDOW as i64 - 1));
            window_end = Some((
                format!(
                    "SELECT first_seen_at, id FROM stories s0 WHERE {}
                     ORDER BY first_seen_at DESC, id DESC LIMIT 1 OFFSET ${n}",
                    window.join(" AND ")
                ),
                wps,
            ));
            let w = push(&mut ps, P::Int(SCAN_WINDOW as i64));
            let mut bounds = vec![String::from("true")];
            bounds.extend(before(&mut ps, "s0"));
            if let Some(since) = filter.since {
                let p = push(&mut ps, P::Int(since));
                bounds.push(format!("s0.first_seen_at >= ${p}"));
            }
            format!(
                "(SELECT s0.id, s0.title, s0.url, s0.feed_id, s0.published_at, s0.first_seen_at,
                         s0.byline, s0.summary, s0.categories
                  FROM stories s0 WHERE {}
                  ORDER BY s0.first_seen_at DESC, s0.id DESC LIMIT ${w}) s",
                bounds.join(" AND ")
            )
        } else {
            "stories s".to_string()
        };
        let params: Vec<Value> = ps
            .iter()
            .map(|p| match p {
                P::Text(t) => Value::Text(t),
                P::Int(i) => Value::Int(*i),
            })
            .collect();
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM {source} JOIN feeds f ON f.id = s.feed_id {where_}
             ORDER BY s.first_seen_at DESC, s.id DESC LIMIT ${lim}"
        );
        self.read(|db| {
            let mut rows = db.query(&sql, &params, listing)?;
            for row in &mut rows {
                row.also_at = copies(db, row.id, &row.url)?;
                row.topics = topic_matches(db, row.id)?;
            }
            let scanned_to = match (&window_end, rows.len() < limit) {
                (Some((sql, wps)), true) => {
                    let wparams: Vec<Value> = wps
                        .iter()
                        .map(|p| match p {
                            P::Text(t) => Value::Text(t),
                            P::Int(i) => Value::Int(*i),
                        })
                        .collect();
                    db.query_opt(sql, &wparams, |r| {
                        Ok(StoryCursor {
                            first_seen: r.get(0)?,
                            id: r.get(1)?,
                        })
                    })?
                }
                _ => None,
            };
            Ok(StoryPage {
                items: rows,
                scanned_to,
            })
        })
    }

    /// One story whole, if there is one with this id.
    pub fn story_detail(&self, id: i64) -> Result<Option<StoryDetail>> {
        self.read(|db| {
            let found = db.query_opt(
                &format!(
                    "SELECT {LISTING_COLUMNS}, s.site_name, s.text, s.extraction_note, s.categories
                     FROM stories s JOIN feeds f ON f.id = s.feed_id WHERE s.id = $1"
                ),
                args![id],
                |r| {
                    let categories: String = r.get(12)?;
                    Ok(StoryDetail {
                        listing: listing(r)?,
                        site_name: r.get(9)?,
                        text: r.get(10)?,
                        extraction_note: r.get(11)?,
                        categories: categories
                            .lines()
                            .filter(|c| !c.trim().is_empty())
                            .map(str::to_string)
                            .collect(),
                        items: Vec::new(),
                    })
                },
            )?;
            let Some(mut story) = found else {
                return Ok(None);
            };
            story.listing.also_at = copies(db, id, &story.listing.url)?;
            story.listing.topics = topic_matches(db, id)?;
            story.items = db.query(
                "SELECT COALESCE(f.title, f.key), COALESCE(i.canonical_url, i.url), i.title, i.first_seen_at
                 FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.story_id = $1
                 ORDER BY i.first_seen_at, i.id",
                args![id],
                |r| {
                    Ok(StoryItem {
                        feed: r.get(0)?,
                        url: r.get(1)?,
                        title: r.get(2)?,
                        first_seen: rfc3339(r.get(3)?),
                    })
                },
            )?;
            Ok(Some(story))
        })
    }

    /// How many stories each day (UTC, as unix day numbers) matched the topic, from `since`.
    pub fn topic_hits_per_day(&self, topic: &str, since: i64) -> Result<Vec<(i64, i64)>> {
        self.read(|db| {
            db.query(
                "SELECT created_at / 86400, COUNT(*) FROM matches
                 WHERE topic = $1 AND created_at >= $2 GROUP BY created_at / 86400 ORDER BY 1",
                args![topic, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// How many stories there are, and how many were first seen from `since` on.
    pub fn story_counts(&self, since: i64) -> Result<(i64, i64)> {
        self.read(|db| {
            // MAX(id) stands for the count of all: stories are never deleted, and counting a
            // million rows is most of a page's time budget.
            let all: Option<i64> =
                db.query_one("SELECT MAX(id) FROM stories", &[], |r| r.get(0))?;
            let recent: i64 = db.query_one(
                "SELECT COUNT(*) FROM stories WHERE first_seen_at >= $1",
                args![since],
                |r| r.get(0),
            )?;
            Ok((all.unwrap_or(0), recent))
        })
    }

    /// Each notifier's alerts by state.
    pub fn outbox_counts(&self) -> Result<Vec<OutboxCounts>> {
        let rows: Vec<(String, String, i64)> = self.read(|db| {
            db.query(
                "SELECT notifier, state, COUNT(*) FROM outbox GROUP BY notifier, state ORDER BY notifier",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })?;
        let mut out: Vec<OutboxCounts> = Vec::new();
        for (notifier, state, count) in rows {
            if out.last().is_none_or(|c| c.notifier != notifier) {
                out.push(OutboxCounts {
                    notifier: notifier.clone(),
                    ..OutboxCounts::default()
                });
            }
            if let Some(c) = out.last_mut() {
                match OutboxState::parse(&state) {
                    OutboxState::Pending => c.pending += count,
                    OutboxState::Sending => c.sending += count,
                    OutboxState::Delivered => c.delivered += count,
                    OutboxState::Failed => c.failed += count,
                }
            }
        }
        Ok(out)
    }

    /// A page of alerts, newest first, `limit` at most.
    pub fn alert_page(&self, filter: &AlertFilter, limit: usize) -> Result<Vec<OutboxRow>> {
        let state = filter.state.map(OutboxState::as_str);
        let now = chrono::Utc::now().timestamp();
        self.read(|db| {
            db.query(
                &format!(
                    "SELECT {cols} FROM outbox
                     WHERE ($1 = '' OR state = $1) AND ($2 = '' OR notifier = $2) AND id < $3
                     ORDER BY id DESC LIMIT $4",
                    cols = super::outbox::OUTBOX_COLUMNS
                ),
                args![
                    state.unwrap_or(""),
                    filter.notifier.as_deref().unwrap_or(""),
                    filter.before.unwrap_or(i64::MAX),
                    limit
                ],
                |r| super::outbox::outbox_from_row(r, now),
            )
        })
    }

    /// One alert (by its row id) and its delivery log, oldest attempt first.
    pub fn alert_detail(&self, id: i64) -> Result<Option<(OutboxRow, Vec<DeliveryAttempt>)>> {
        let now = chrono::Utc::now().timestamp();
        self.read(|db| {
            let Some(row) = db.query_opt(
                &format!(
                    "SELECT {cols} FROM outbox WHERE id = $1",
                    cols = super::outbox::OUTBOX_COLUMNS
                ),
                args![id],
                |r| super::outbox::outbox_from_row(r, now),
            )?
            else {
                return Ok(None);
            };
            let log = db.query(
                "SELECT at, state, error FROM delivery_log WHERE outbox_id = $1 ORDER BY id",
                args![id],
                |r| {
                    Ok(DeliveryAttempt {
                        at: rfc3339(r.get(0)?),
                        state: OutboxState::parse(&r.get::<String>(1)?),
                        error: r.get(2)?,
                    })
                },
            )?;
            Ok(Some((row, log)))
        })
    }

    /// Stories' searchable fields, newest first, after `after`, `limit` at most: the topic
    /// tester's archive, read a slice at a time so it can stop when its time is up.
    pub fn story_docs_page(
        &self,
        after: Option<StoryCursor>,
        limit: usize,
        feed_tags: &(dyn Fn(&str) -> Vec<String> + Sync),
    ) -> Result<Vec<super::StoryDoc>> {
        let c = after.unwrap_or(StoryCursor {
            first_seen: i64::MAX,
            id: i64::MAX,
        });
        self.read(|db| {
            db.query(
                "SELECT s.id, s.title, s.text, COALESCE(s.byline, ''), COALESCE(f.title, f.key), f.key, s.url,
                        s.published_at, s.first_seen_at, s.categories
                 FROM stories s JOIN feeds f ON f.id = s.feed_id
                 WHERE (s.first_seen_at < $1 OR (s.first_seen_at = $1 AND s.id < $2))
                 ORDER BY s.first_seen_at DESC, s.id DESC LIMIT $3",
                args![c.first_seen, c.id, limit],
                |r| {
                    let key: String = r.get(5)?;
                    let mut tags = feed_tags(&key);
                    let categories: String = r.get(9)?;
                    for c in categories.lines() {
                        if !tags.iter().any(|t| t.eq_ignore_ascii_case(c)) {
                            tags.push(c.to_string());
                        }
                    }
                    Ok(super::StoryDoc {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_cursor_survives_its_trip_through_a_url_and_rejects_garbage() {
        let c = StoryCursor {
            first_seen: 1_700_000_000,
            id: 42,
        };
        assert_eq!(StoryCursor::decode(&c.encode()), Some(c));
        assert_eq!(StoryCursor::decode("12"), None);
        assert_eq!(StoryCursor::decode("a.b"), None);
    }

    #[test]
    fn like_patterns_take_a_tag_literally() {
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
    }
}
