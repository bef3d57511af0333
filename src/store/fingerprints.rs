//! Story fingerprints: each story's near-duplicate band keys and shingle sample
//! (`story_fingerprints`), and the in-memory band index of the recent ones that lookups use.
//!
//! The index is read from the rows at the first lookup and kept up to date by reading the rows
//! stored since (by this process or any other) before each lookup inside an ingest, so a
//! process sees the stories its peers stored: on SQLite by story id (an ingest holds the write
//! lock from its start, so ids are drawn in commit order), on PostgreSQL by the ingest log
//! (`ingest_log`: stories are written there before the lock is taken, so their ids are not in
//! commit order, and the log's sequence is). The rules (window, candidate ranking, when two
//! texts are one story) are `dedup`'s; this file only reads and writes what they need.

use std::time::{Duration, Instant};

use super::db::{Db, Dialect, Value, args};
use super::{Result, Store, ingest_log};
use crate::dedup;

/// The in-memory band index and what it covers.
pub struct Bands {
    pub index: dedup::BandIndex,
    /// Stories first seen before this are not in the index (older than the window when it
    /// was loaded).
    horizon: i64,
    /// Where the index has read to: stories stored after it (by another process, too) are
    /// read before the next lookup. On SQLite the highest story id loaded; on PostgreSQL the
    /// last ingest log entry read.
    loaded_to: i64,
    /// When the index last caught up: on PostgreSQL, one idle for longer than the log keeps
    /// its entries is loaded again (the entries it missed are gone).
    caught_up: Instant,
}

/// What other processes stored since the index last caught up, as [`catch_up`] found it under
/// the lock: what a batch written before the lock must not have missed.
#[derive(Default)]
pub struct Delta {
    /// Each band key of the stories filed with its story, sorted by key (left empty when the
    /// caller only wants the index brought up to date). One flat list: a map from key to
    /// stories allocated a list per key, some forty per story, for every story others stored.
    pub keys: Vec<(i64, i64)>,
    /// The canonical URLs of the items stored.
    pub urls: std::collections::HashSet<String>,
    /// The content hashes of the stories filed.
    pub hashes: std::collections::HashSet<String>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.urls.is_empty() && self.hashes.is_empty()
    }

    /// The stories filed since that share a band key with `fp`.
    pub fn sharing(&self, fp: &dedup::Fingerprint) -> Vec<i64> {
        let mut ids: Vec<i64> = Vec::new();
        for &band in &fp.bands {
            let from = self.keys.partition_point(|&(k, _)| k < band);
            ids.extend(
                self.keys[from..]
                    .iter()
                    .take_while(|&&(k, _)| k == band)
                    .map(|&(_, id)| id),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// How much older than the window (seconds) the band index reaches when loaded.
const INDEX_SLACK: i64 = 3600;

/// The band index, loaded if it is not, and holding every story stored so far that a text
/// seen at `seen_at` could be joined to.
pub fn fresh<'a>(db: &mut Db, slot: &'a mut Option<Bands>, seen_at: i64) -> Result<&'a mut Bands> {
    Ok(up_to_date(db, slot, seen_at, None)?.0)
}

/// Where the index has read to (see [`Bands::loaded_to`]), for a later [`catch_up`].
pub fn cursor(slot: &Option<Bands>) -> Option<i64> {
    slot.as_ref().map(|b| b.loaded_to)
}

/// [`fresh`], with what others stored after `since` (a [`cursor`] taken before): on
/// PostgreSQL, the ingest log's entries past it, even those the index read since; on SQLite
/// nothing, as no one else stores while an ingest runs.
pub fn catch_up<'a>(
    db: &mut Db,
    slot: &'a mut Option<Bands>,
    seen_at: i64,
    since: Option<i64>,
) -> Result<(&'a mut Bands, Delta)> {
    up_to_date(db, slot, seen_at, Some(since.unwrap_or(0)))
}

/// Brings the index up to date; with `delta_since`, also says what others stored after it.
fn up_to_date<'a>(
    db: &mut Db,
    slot: &'a mut Option<Bands>,
    seen_at: i64,
    delta_since: Option<i64>,
) -> Result<(&'a mut Bands, Delta)> {
    // Loaded an hour further back than the window, since items fetched at once may be stored
    // a little out of order; loaded again for a text from before that (a clock set back), and
    // once stories past the window make up half of it, so it holds about two windows' worth.
    let window = dedup::NEAR_DUPLICATE_WINDOW;
    let idle = Duration::from_secs((ingest_log::KEPT_SECS / 2) as u64);
    if slot
        .as_ref()
        .is_none_or(|b| stale(b, seen_at) || b.caught_up.elapsed() > idle)
    {
        *slot = Some(load(db, seen_at - window - INDEX_SLACK)?);
    }
    let Some(bands) = slot.as_mut() else {
        unreachable!("loaded above")
    };
    let delta = read_after(db, bands, delta_since)?;
    Ok((bands, delta))
}

/// The band index for a text seen at `seen_at`, within an ingest that made it [`fresh`]
/// already: loaded again only if that text is outside what it covers.
pub fn current<'a>(
    db: &mut Db,
    slot: &'a mut Option<Bands>,
    seen_at: i64,
) -> Result<&'a mut Bands> {
    if slot.as_ref().is_none_or(|b| stale(b, seen_at)) {
        return fresh(db, slot, seen_at);
    }
    let Some(bands) = slot.as_mut() else {
        unreachable!("checked above")
    };
    Ok(bands)
}

/// Whether the index does not cover a text seen at `seen_at`.
fn stale(b: &Bands, seen_at: i64) -> bool {
    let window = dedup::NEAR_DUPLICATE_WINDOW;
    seen_at - window < b.horizon || seen_at - b.horizon > 2 * window + INDEX_SLACK
}

/// A band index of the stories first seen from `horizon` on.
fn load(db: &mut Db, horizon: i64) -> Result<Bands> {
    // On PostgreSQL the log's last entry is read first: what commits while the rows are read
    // is read again from the log, and a key put in twice is held once.
    let log_from = match db.dialect() {
        Dialect::Postgres => Some(ingest_log::last(db)?),
        Dialect::Sqlite => None,
    };
    let first: Option<i64> = db.query_one(
        "SELECT MIN(id) FROM stories WHERE first_seen_at >= $1",
        args![horizon],
        |r| r.get(0),
    )?;
    // Not sized ahead: it grows with the keys read, a shard at a time, so its size follows
    // the keys the stories really have.
    let mut bands = Bands {
        index: dedup::BandIndex::new(),
        horizon,
        loaded_to: 0,
        caught_up: Instant::now(),
    };
    let loaded_to = match first {
        Some(first) => {
            let last = read_rows(db, &mut bands, first - 1)?;
            // Stories stored before fingerprints were kept (SQLite schema 6) have none: their
            // keys are computed from the text, which only happens for a window's worth after
            // the upgrade (and a PostgreSQL story whose row an operator removed).
            let old: Vec<(i64, String)> = db.query(
                "SELECT s.id, s.text FROM stories s WHERE s.first_seen_at >= $1
                   AND NOT EXISTS (SELECT 1 FROM story_fingerprints f WHERE f.story_id = s.id)",
                args![horizon],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            for (id, text) in old {
                if let Some(fp) = dedup::Fingerprint::of(&text) {
                    add(&mut bands, id, &fp.bands);
                }
            }
            last
        }
        None => db.query_one("SELECT COALESCE(MAX(id), 0) FROM stories", &[], |r| {
            r.get(0)
        })?,
    };
    bands.loaded_to = log_from.unwrap_or(loaded_to);
    Ok(bands)
}

/// Rows read at once when catching up: bounds the memory of a first load of a large window.
const PAGE: i64 = 4096;

/// Adds to the index the fingerprint rows in its window with a story id above `after`, and
/// returns the highest id read (`after` for none).
fn read_rows(db: &mut Db, bands: &mut Bands, after: i64) -> Result<i64> {
    let mut last = after;
    let mut keys: Vec<i64> = Vec::new();
    loop {
        let rows: Vec<(i64, Vec<u8>)> = db.query(
            "SELECT story_id, bands FROM story_fingerprints WHERE story_id > $1 AND first_seen_at >= $2
             ORDER BY story_id LIMIT $3",
            args![last, bands.horizon, PAGE],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let more = rows.len() as i64 == PAGE;
        for (id, blob) in rows {
            keys.clear();
            keys.extend(dedup::decode_bands(&blob));
            add(bands, id, &keys);
            last = last.max(id);
        }
        if !more {
            return Ok(last);
        }
    }
}

/// Adds to the index the stories stored after the last one it holds; on PostgreSQL, with
/// `delta_since`, returns what the ingests after that stored (re-reading those the index
/// holds already: a key put in twice is held once).
fn read_after(db: &mut Db, bands: &mut Bands, delta_since: Option<i64>) -> Result<Delta> {
    bands.caught_up = Instant::now();
    match db.dialect() {
        Dialect::Sqlite => {
            bands.loaded_to = read_rows(db, bands, bands.loaded_to)?;
            Ok(Delta::default())
        }
        Dialect::Postgres => {
            let delta_keys = delta_since.is_some();
            let from = delta_since.map_or(bands.loaded_to, |d| d.min(bands.loaded_to));
            let entries = ingest_log::since(db, from)?;
            let mut delta = Delta {
                keys: Vec::new(),
                urls: if delta_keys {
                    entries.urls
                } else {
                    Default::default()
                },
                hashes: if delta_keys {
                    entries.hashes
                } else {
                    Default::default()
                },
            };
            if !entries.story_ids.is_empty() {
                let ids = super::db::ColumnValues::Ints(
                    entries.story_ids.iter().map(|&i| Some(i)).collect(),
                );
                let rows: Vec<(i64, Vec<u8>)> = db.query(
                    "SELECT story_id, bands FROM story_fingerprints
                     WHERE story_id = ANY(CAST($1 AS BIGINT[])) AND first_seen_at >= $2",
                    &[Value::Column(&ids), Value::Int(bands.horizon)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                for (id, blob) in rows {
                    let keys: Vec<i64> = dedup::decode_bands(&blob).collect();
                    add(bands, id, &keys);
                    if delta_keys {
                        delta.keys.extend(keys.into_iter().map(|k| (k, id)));
                    }
                }
            }
            bands.loaded_to = bands.loaded_to.max(entries.last);
            delta.keys.sort_unstable();
            Ok(delta)
        }
    }
}

/// Puts a story's keys into the index (which grows as it fills).
fn add(bands: &mut Bands, id: i64, keys: &[i64]) {
    bands.index.insert_story(keys, id);
}

/// The columns of a fingerprint row besides its story and time, as [`Row::params`] gives them.
pub const ROW_COLUMNS: &str = "bands, shingles, sketch";

/// The statement storing a fingerprint row, written once (not formatted per story on the
/// storing thread).
static INSERT_ROW: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO story_fingerprints (story_id, first_seen_at, {ROW_COLUMNS})
         VALUES ($1, $2, $3, $4, $5)"
    )
});

/// A new story's fingerprint row, encoded. Stored also for a text too short to have bands: an
/// empty row tells it from a story stored before fingerprints were kept, whose keys a load
/// computes from the text.
pub struct Row {
    bands: Vec<u8>,
    shingles: usize,
    sketch: Vec<u8>,
}

impl Row {
    pub fn of(shingles: &dedup::Shingles, keys: &[i64]) -> Row {
        let sketch: Vec<i64> = shingles.sketch().iter().map(|v| *v as i64).collect();
        Row {
            bands: dedup::encode_bands(keys),
            shingles: shingles.len(),
            sketch: dedup::encode_bands(&sketch),
        }
    }

    /// The values of [`ROW_COLUMNS`].
    pub fn params(&self) -> [Value<'_>; 3] {
        [
            Value::Blob(&self.bands),
            Value::from(self.shingles),
            Value::Blob(&self.sketch),
        ]
    }

    /// Stores the row for a story.
    pub fn insert(&self, db: &mut Db, story_id: i64, seen_at: i64) -> Result<()> {
        let [bands, shingles, sketch] = self.params();
        db.execute(
            &INSERT_ROW,
            &[
                Value::Int(story_id),
                Value::Int(seen_at),
                bands,
                shingles,
                sketch,
            ],
        )?;
        Ok(())
    }
}

/// Puts a new story's keys (its row stored in this transaction) in the index.
pub fn indexed(db: &mut Db, bands: &mut Bands, story_id: i64, keys: &[i64]) -> Result<()> {
    add(bands, story_id, keys);
    if db.dialect() == Dialect::Sqlite {
        bands.loaded_to = bands.loaded_to.max(story_id);
    }
    Ok(())
}

/// Marks the index as holding everything up to the ingest log entry `seq`: this process's own,
/// appended under the lock right after the index caught up.
pub fn logged(bands: &mut Bands, seq: i64) {
    bands.loaded_to = bands.loaded_to.max(seq);
}

/// The story whose text `shingles` duplicates, among the candidates `dedup` ranks from the
/// index and first seen within its window.
pub fn near_duplicate(
    db: &mut Db,
    index: &dedup::BandIndex,
    shingles: &dedup::Shingles,
    fp: &dedup::Fingerprint,
    seen_at: i64,
) -> Result<Option<i64>> {
    near_duplicate_among(db, dedup::candidates(index, fp), shingles, seen_at)
}

/// The first of the stories `candidates` whose text `shingles` duplicates, within the window.
pub fn near_duplicate_among(
    db: &mut Db,
    candidates: Vec<i64>,
    shingles: &dedup::Shingles,
    seen_at: i64,
) -> Result<Option<i64>> {
    let mut sketch: Vec<u64> = Vec::with_capacity(dedup::SKETCH_LEN);
    for id in candidates {
        // The narrow fingerprint row first: most candidates share a key by chance, and their
        // window or sample rules them out without reading and shingling their text.
        let sample: Option<(i64, i64, Vec<u8>)> = db.query_opt(
            "SELECT first_seen_at, shingles, sketch FROM story_fingerprints WHERE story_id = $1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if let Some((seen, len, blob)) = sample {
            sketch.clear();
            sketch.extend(dedup::decode_bands(&blob).map(|v| v as u64));
            if !dedup::within_window(seen_at, seen)
                || !dedup::could_be_same(shingles, &sketch, len.max(0) as usize)
            {
                continue;
            }
        }
        let Some((body, seen)): Option<(String, i64)> = db.query_opt(
            "SELECT text, first_seen_at FROM stories WHERE id = $1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        else {
            continue;
        };
        if dedup::within_window(seen_at, seen)
            && dedup::same_shingles(shingles, &dedup::Shingles::of(&body))
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

impl Store {
    /// The stored story a text seen at `seen_at` is a near-duplicate of, if any: the lookup
    /// `ingest` does after URL and content hash, exposed for tooling and benchmarks.
    pub fn find_near_duplicate(&self, text: &str, seen_at: i64) -> Result<Option<i64>> {
        let sh = dedup::Shingles::of(text);
        let Some(fp) = dedup::Fingerprint::of_shingles(&sh) else {
            return Ok(None);
        };
        self.with(|db| {
            let mut slot = self.bands();
            let bands = fresh(db, &mut slot, seen_at)?;
            near_duplicate(db, &bands.index, &sh, &fp, seen_at)
        })
    }

    /// Memory held by the near-duplicate band index (0 before the first ingest or lookup).
    pub fn band_index_bytes(&self) -> usize {
        self.bands().as_ref().map_or(0, |b| b.index.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Others' stories since a cursor, as a catch-up gathers them: found by any band key they
    /// share with a text, each once, and none that shares no key.
    #[test]
    fn a_delta_finds_each_story_sharing_a_band_key_once() {
        let stories: [(i64, Vec<i64>); 4] = [
            (7, vec![40, 10, 99]),
            (3, vec![10, 55]),
            (9, vec![-5, 70]),
            (4, vec![99, 12, 10]),
        ];
        let mut delta = Delta::default();
        for (id, keys) in &stories {
            delta.keys.extend(keys.iter().map(|&k| (k, *id)));
        }
        delta.keys.sort_unstable();
        let text = |bands: Vec<i64>| dedup::Fingerprint { bands };
        assert_eq!(delta.sharing(&text(vec![10, 99])), [3, 4, 7]);
        assert_eq!(delta.sharing(&text(vec![-5])), [9]);
        assert_eq!(delta.sharing(&text(vec![11, 56, 100])), Vec::<i64>::new());
    }
}
