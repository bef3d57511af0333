//! The near-duplicate band index alone: what storing a new story costs it on the store
//! thread (the pass's critical path), beside the floor of the same work in std's `HashMap`.
//!
//! Each story brings 40 band keys no other story carries (the common case: a story seen for
//! the first time). For each it asks `dedup::candidates` (every key looked up, the ids
//! counted), then records every key, as the store does; the floor does the same with a
//! `HashMap<i64, Vec<i64>>` (foldhash). The keys are spread as band keys are (hashes), so
//! each lands in a random place of a table far larger than the cache.
//!
//! With `--batch N`, N stories' lookups come first, then their keys are recorded, as the store
//! does for a batch of items (looked up before the batch is filed): the keys' cache lines
//! are then cold again when they are recorded.
//!
//! Run: `cargo bench --bench band_index -- [--stories 200000] [--rounds 3] [--batch 1]`.

use std::collections::HashMap;
use std::time::Instant;

use feedwatch::dedup::{BandIndex, Fingerprint, candidates};

/// Band keys of a story.
const BANDS: u64 = 40;

fn key(n: u64) -> i64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) as i64
}

fn fingerprint(story: u64) -> Fingerprint {
    Fingerprint {
        bands: (0..BANDS).map(|b| key(story * 64 + b)).collect(),
    }
}

/// Stories 1..=`stories`, `batch` at a time, each with its fingerprint.
fn batches(stories: u64, batch: u64) -> impl Iterator<Item = Vec<(u64, Fingerprint)>> {
    (1..=stories).step_by(batch as usize).map(move |first| {
        (first..=(first + batch - 1).min(stories))
            .map(|s| (s, fingerprint(s)))
            .collect()
    })
}

/// Seconds to take `stories` stories into the band index, `batch` at a time (each batch's
/// lookups first, then its keys recorded, as the store looks a batch's items up before it
/// files them), and the candidates it found.
fn ours(stories: u64, batch: u64) -> (f64, usize, usize) {
    let mut index = BandIndex::new();
    let mut found = 0;
    let start = Instant::now();
    for fps in batches(stories, batch) {
        for (_, fp) in &fps {
            found += candidates(&index, fp).len();
        }
        for (s, fp) in &fps {
            index.insert_story(&fp.bands, *s as i64);
        }
    }
    (start.elapsed().as_secs_f64(), found, index.bytes())
}

/// The same work in a `HashMap` of key to ids.
fn floor(stories: u64, batch: u64) -> (f64, usize, usize) {
    let mut map: HashMap<i64, Vec<i64>, foldhash::fast::RandomState> = HashMap::default();
    let mut found = 0;
    let start = Instant::now();
    for fps in batches(stories, batch) {
        for (_, fp) in &fps {
            let mut ids: Vec<i64> = fp
                .bands
                .iter()
                .filter_map(|k| map.get(k))
                .flatten()
                .copied()
                .collect();
            ids.sort_unstable();
            ids.dedup();
            found += ids.len();
        }
        for (s, fp) in &fps {
            for k in &fp.bands {
                map.entry(*k).or_default().push(*s as i64);
            }
        }
    }
    let bytes = map.capacity() * (8 + 24) + map.len() * 8;
    (start.elapsed().as_secs_f64(), found, bytes)
}

fn main() {
    let mut stories = 200_000u64;
    let mut rounds = 3;
    let mut batch = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = || args.next().and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--stories" => stories = num().unwrap_or(stories),
            "--rounds" => rounds = num().unwrap_or(3) as usize,
            "--batch" => batch = num().unwrap_or(1).max(1),
            // `cargo bench` passes --bench.
            _ => {}
        }
    }
    println!(
        "{stories} new stories of {BANDS} band keys each, {batch} a batch, {rounds} rounds (the \
         best is shown)"
    );
    println!(
        "{:<22} {:>9} {:>11} {:>10} {:>8}",
        "", "s", "us/story", "found", "MB"
    );
    for (name, run) in [
        ("band index", ours as fn(u64, u64) -> (f64, usize, usize)),
        ("floor: HashMap<Vec>", floor),
    ] {
        let mut best: Option<(f64, usize, usize)> = None;
        for _ in 0..rounds.max(1) {
            let r = run(stories, batch);
            if best.is_none_or(|b| r.0 < b.0) {
                best = Some(r);
            }
        }
        if let Some((secs, found, bytes)) = best {
            println!(
                "{name:<22} {secs:>9.3} {:>11.2} {found:>10} {:>8.1}",
                secs * 1e6 / stories as f64,
                bytes as f64 / 1e6
            );
        }
    }
}
