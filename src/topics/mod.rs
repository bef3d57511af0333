//! Topic queries: the language users write watched topics in, and matching stories against them.
//!
//! Owns parsing a query (`iraq AND (troops OR "coalition forces") NOT sport`) into a tree and
//! evaluating it on a [`Document`]. Hands on the list of terms that matched and a marked
//! snippet ([`snippet`]), for the alert.
//!
//! The language, FreshRSS-like:
//! - words, ANDed when written side by side; `AND`, `OR`, `NOT` and `-word`, with NOT binding
//!   tighter than AND and AND tighter than OR; parentheses. Lower-case `and`/`or`/`not` are words.
//! - `"exact phrases"` (folded, not stemmed), `troop*` prefixes, `NEAR(a b, 5)` (at most 5 words
//!   between them; 10 when the distance is left out).
//! - `title:`, `author:`, `feed:`, `tag:` and `url:` on a word, phrase, regex, NEAR or group;
//!   unfielded terms search the title and text. `tag:` matches whole tags.
//! - `/regex/i` (flags i, m, s), on the raw text as written.
//! - Case and diacritics are folded (é = e) and bare words are stemmed in English
//!   (troops = troop).
//!
//! - A query is at most [`MAX_QUERY_BYTES`] long and nests groups and NOTs at most 32 deep;
//!   past either it is refused with an error, never a stack overflow.
//!
//! Matching many queries against one story: build a [`PreparedDocument`] once and call
//! [`Query::matches_prepared`] for each query.

mod fold;
mod lexer;
mod matcher;
mod parser;
mod snippet;

pub use matcher::PreparedDocument;
pub use snippet::snippet;

use parser::Node;

/// A story as topic matching sees it: plain fields, no storage types.
#[derive(Debug, Clone, Default)]
pub struct Document<'a> {
    /// The headline: searched by unfielded terms and by `title:`.
    pub title: &'a str,
    /// The article (or the feed's own content): searched by unfielded terms, and the source of
    /// the snippet.
    pub text: &'a str,
    /// The byline, for `author:`.
    pub author: &'a str,
    /// The feed's name, for `feed:`.
    pub feed: &'a str,
    /// The feed's and the item's categories, for `tag:`.
    pub tags: &'a [String],
    /// The story's link, for `url:`.
    pub url: &'a str,
}

/// The longest query accepted, in bytes: ten times a long real one. Parsing is linear, but every
/// story is matched against every topic, so the size of a query is a cost paid per story.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// A query the user wrote, with its column when it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based column (in characters) in the query text where the problem starts.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// A parsed topic query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The query as the user wrote it, for messages and `topics test`.
    text: String,
    /// The parsed tree, its AND/OR children ordered cheapest first.
    root: Node,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryError {
                column: 1,
                message: format!(
                    "this query is {} bytes long, over the limit of {MAX_QUERY_BYTES}; \
                     split it into several topics",
                    text.len()
                ),
            });
        }
        let tokens = lexer::tokenize(text)?;
        let root = matcher::optimise(parser::parse(tokens)?);
        let query = Query {
            text: text.to_string(),
            root,
        };
        // A query that holds for a story with no words at all only excludes things: as a topic
        // it would alert on nearly every story.
        let empty = PreparedDocument::new(&Document::default());
        if matcher::eval(&query.root, &empty) {
            return Err(QueryError {
                column: 1,
                message: "this query matches stories that contain none of its terms (it only \
                          excludes); add a term that must appear, as in iraq -sport"
                    .into(),
            });
        }
        Ok(query)
    }

    /// The query as the user wrote it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The terms that matched when the document matches the query, else `None`.
    pub fn matches(&self, doc: &Document) -> Option<Vec<String>> {
        self.matches_prepared(&PreparedDocument::new(doc))
    }

    /// Whether the prepared story matches; the cheapest test, for when the terms are not needed.
    pub fn is_match(&self, doc: &PreparedDocument) -> bool {
        matcher::eval(&self.root, doc)
    }

    /// The terms that matched (as written, in query order, each once) when the prepared story
    /// matches the query, else `None`.
    pub fn matches_prepared(&self, doc: &PreparedDocument) -> Option<Vec<String>> {
        // Most stories fail most topics: decide with the short-circuiting pass, and only walk
        // the whole tree for the terms when it matched.
        if !matcher::eval(&self.root, doc) {
            return None;
        }
        let mut found = Vec::new();
        matcher::collect(&self.root, doc, &mut found);
        found.sort_by_key(|&(column, _)| column);
        let mut terms: Vec<String> = Vec::with_capacity(found.len());
        for (_, term) in found {
            if !terms.iter().any(|t| t == term) {
                terms.push(term.to_string());
            }
        }
        Some(terms)
    }
}

#[cfg(test)]
mod tests;
