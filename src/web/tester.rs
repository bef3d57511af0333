//! The topic tester: a query run over the stored stories, newest first, with the terms that
//! matched and a marked snippet: the `topics test` engine ([`crate::topics::Query`]) over the
//! archive, read a slice at a time. A search stops when it has a page of hits or its time is up,
//! and says how far back it looked; the next page carries on from there (a keyset cursor).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::Catalog;
use crate::store::{Store, StoreError, StoryCursor, rfc3339};
use crate::topics::{Document, Query, QueryError};

/// Stories read from the store per slice.
const SLICE: usize = 250;

/// One story the query matched.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// The story's id: its page is `/stories/ID`.
    pub id: i64,
    /// Its headline.
    pub title: String,
    /// Where it is read.
    pub url: String,
    /// The feed that brought it.
    pub feed: String,
    /// As the item said, RFC 3339 UTC.
    pub published: Option<String>,
    /// When feedwatch first saw it, RFC 3339 UTC.
    pub first_seen: String,
    /// The query's terms found in it.
    pub matched: Vec<String>,
    /// The text around the first match, each matched term marked `**like this**`.
    pub snippet: String,
}

/// What a search found, and how far it looked.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The query as given, to show it back.
    pub query: String,
    /// The stories it matched, newest first.
    pub hits: Vec<Hit>,
    /// Stories looked at.
    pub searched: usize,
    /// Where to carry on (older stories), when the search stopped before the archive's start.
    pub next: Option<String>,
}

/// Why a search gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("the query is not valid: {0}")]
    Query(#[from] QueryError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Runs `text` over the archive from `after` (the newest when `None`), until `limit` hits or
/// `budget` has passed.
pub fn search(
    store: &Store,
    catalog: &Catalog,
    text: &str,
    after: Option<StoryCursor>,
    limit: usize,
    budget: Duration,
) -> Result<Found, TestError> {
    let query = Query::parse(text)?;
    let started = Instant::now();
    let tags = |key: &str| {
        catalog
            .feeds
            .get(key)
            .map(|f| f.tags.clone())
            .unwrap_or_default()
    };
    let mut cursor = after;
    let mut hits = Vec::new();
    let mut searched = 0;
    loop {
        let docs = store.story_docs_page(cursor, SLICE, &tags)?;
        let exhausted = docs.len() < SLICE;
        for d in &docs {
            searched += 1;
            cursor = Some(StoryCursor {
                first_seen: d.first_seen,
                id: d.id,
            });
            let doc = Document {
                title: &d.title,
                text: &d.text,
                author: &d.author,
                feed: &d.feed,
                tags: &d.tags,
                url: &d.url,
            };
            if let Some(matched) = query.matches(&doc) {
                hits.push(Hit {
                    id: d.id,
                    title: d.title.clone(),
                    url: d.url.clone(),
                    feed: d.feed.clone(),
                    published: d.published.map(rfc3339),
                    first_seen: rfc3339(d.first_seen),
                    snippet: crate::topics::snippet(&doc, &matched, 200),
                    matched,
                });
                if hits.len() >= limit {
                    return Ok(Found {
                        query: text.to_string(),
                        hits,
                        searched,
                        next: cursor.map(|c| c.encode()),
                    });
                }
            }
        }
        if exhausted {
            return Ok(Found {
                query: text.to_string(),
                hits,
                searched,
                next: None,
            });
        }
        if started.elapsed() >= budget {
            return Ok(Found {
                query: text.to_string(),
                hits,
                searched,
                next: cursor.map(|c| c.encode()),
            });
        }
    }
}

/// A snippet's text split into (plain, marked) runs, for a page to mark without trusting it.
pub fn marked_runs(snippet: &str) -> Vec<(bool, &str)> {
    snippet
        .split("**")
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| (i % 2 == 1, s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippets_marks_become_runs_without_their_asterisks() {
        assert_eq!(
            marked_runs("US **troops** in **Iraq**."),
            vec![
                (false, "US "),
                (true, "troops"),
                (false, " in "),
                (true, "Iraq"),
                (false, ".")
            ]
        );
    }
}
