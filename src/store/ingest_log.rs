//! The ingest log (PostgreSQL only): one entry per ingest that committed, in commit order, with
//! the stories it filed and the URLs and content hashes a later ingest could have matched.
//!
//! On PostgreSQL a process writes a batch's stories and items before it takes the lock that
//! serialises storing stories, then, under the lock, reads the entries committed since it
//! last looked ([`since`]): if none of them holds a story its items would have joined, what it
//! wrote is what a serial run would have written, and it appends its own entry ([`append`])
//! and commits. Each process's band index also catches up by this log (see `fingerprints`).
//! SQLite needs none of it: its ingest holds the write lock from its first statement.

use super::Result;
use super::db::{ColumnType, ColumnValues, Db, Value, args};

/// How long entries are kept (seconds). A process whose index has not caught up for half of
/// this reloads it from the fingerprint rows instead of reading the log.
pub const KEPT_SECS: i64 = 6 * 3600;

/// Entries read at once when catching up.
const PAGE: i64 = 256;

/// Entries past the last one read: what other processes stored since.
#[derive(Default)]
pub struct Entries {
    /// The sequence number of the last entry read (the one given when there were none).
    pub last: i64,
    /// The stories they filed.
    pub story_ids: Vec<i64>,
    /// The canonical URLs of the items they stored.
    pub urls: std::collections::HashSet<String>,
    /// The content hashes of the stories they filed.
    pub hashes: std::collections::HashSet<String>,
}

/// The entries after `after`, in commit order (all of them, a page at a time).
pub fn since(db: &mut Db, after: i64) -> Result<Entries> {
    let mut out = Entries {
        last: after,
        ..Entries::default()
    };
    loop {
        type Entry = (i64, Vec<i64>, Vec<String>, Vec<String>);
        let rows: Vec<Entry> = db.query(
            "SELECT seq, story_ids, urls, hashes FROM ingest_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            args![out.last, PAGE],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let more = rows.len() as i64 == PAGE;
        for (seq, ids, urls, hashes) in rows {
            out.last = out.last.max(seq);
            out.story_ids.extend(ids);
            out.urls.extend(urls);
            out.hashes.extend(hashes);
        }
        if !more {
            return Ok(out);
        }
    }
}

/// The sequence number of the last entry committed (0 for none).
pub fn last(db: &mut Db) -> Result<i64> {
    db.query_one("SELECT COALESCE(MAX(seq), 0) FROM ingest_log", &[], |r| {
        r.get(0)
    })
}

/// Appends this ingest's entry, under the lock, and returns its sequence number. Now and then
/// it also drops the entries older than [`KEPT_SECS`].
pub fn append(db: &mut Db, story_ids: &[i64], urls: &[&str], hashes: &[&str]) -> Result<i64> {
    let ids = ColumnValues::Ints(story_ids.iter().map(|&i| Some(i)).collect());
    let urls = ColumnValues::Texts(urls.iter().map(|&u| Some(u)).collect());
    let hashes = ColumnValues::Texts(hashes.iter().map(|&h| Some(h)).collect());
    let seq: i64 = db.query_one(
        &format!(
            "INSERT INTO ingest_log (at, story_ids, urls, hashes)
             VALUES (CAST(EXTRACT(EPOCH FROM now()) AS BIGINT), CAST($1 AS {}), CAST($2 AS {}), CAST($3 AS {}))
             RETURNING seq",
            ColumnType::Int.array(),
            ColumnType::Text.array(),
            ColumnType::Text.array()
        ),
        &[
            Value::Column(&ids),
            Value::Column(&urls),
            Value::Column(&hashes),
        ],
        |r| r.get(0),
    )?;
    if seq % 128 == 0 {
        db.execute(
            "DELETE FROM ingest_log WHERE at < CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) - $1",
            args![KEPT_SECS],
        )?;
    }
    Ok(seq)
}
