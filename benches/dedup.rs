//! The story store at scale: stories inserted through `Store::ingest` into a real SQLite file,
//! then the near-duplicate lookup timed for texts not yet stored.
//!
//! Stories are synthetic but realistic in length (300-800 words) and in word statistics: a
//! word-pair (Markov) model learnt from the extraction benchmark's article texts
//! (`../shared/bench/extraction/*/truth.json`, or `FEEDWATCH_BENCH_DATA`), so common phrases
//! recur across stories as they do in news. One story in 20 is another outlet's copy of a
//! recent one (bottom cut, boilerplate added), which the store must join to its story. By default
//! all stories fall inside one near-duplicate window: the worst case for the band index.
//!
//! Run: `cargo bench --bench dedup -- [--stories N] [--lookups N] [--batch N] [--dir PATH]
//! [--per-day N]` (defaults: 1,000,000 stories, 10,000 lookups, one transaction per story, all
//! stories inside one near-duplicate window; `--per-day` spreads them over time instead).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use feedwatch::store::{Ingested, NewItem, Store};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct Options {
    stories: usize,
    lookups: usize,
    batch: usize,
    dir: Option<PathBuf>,
    /// Stories first seen per day; unset, all fall within one near-duplicate window.
    per_day: Option<usize>,
}

fn options() -> Options {
    let mut o = Options {
        stories: 1_000_000,
        lookups: 10_000,
        batch: 1,
        dir: None,
        per_day: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        let num = || {
            val.replace('_', "").parse::<usize>().unwrap_or_else(|_| {
                eprintln!("{} wants a number, got {val:?}", args[i]);
                std::process::exit(2)
            })
        };
        match args[i].as_str() {
            "--stories" => o.stories = num(),
            "--lookups" => o.lookups = num(),
            "--batch" => o.batch = num().max(1),
            "--dir" => o.dir = Some(PathBuf::from(&val)),
            "--per-day" => o.per_day = Some(num()),
            // `cargo bench` passes `--bench`; nothing else is ours.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// A word-pair model: for each word, the words seen after it.
struct Model {
    vocab: Vec<String>,
    next: Vec<Vec<u32>>,
}

impl Model {
    fn learn() -> Model {
        let dir = std::env::var_os("FEEDWATCH_BENCH_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/extraction")
            });
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut vocab: Vec<String> = Vec::new();
        let mut next: Vec<Vec<u32>> = Vec::new();
        for set in ["zyte", "wcxb-dev"] {
            let path = dir.join(set).join("truth.json");
            let Ok(raw) = std::fs::read_to_string(&path) else {
                eprintln!(
                    "cannot read {}; set FEEDWATCH_BENCH_DATA to the extraction benchmark directory",
                    path.display()
                );
                std::process::exit(2);
            };
            let truth: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&raw).unwrap_or_default();
            for v in truth.values() {
                let text = v.get("articleBody").and_then(|t| t.as_str()).unwrap_or("");
                let mut prev: Option<u32> = None;
                for w in text.split_whitespace() {
                    let id = *ids.entry(w.to_string()).or_insert_with(|| {
                        vocab.push(w.to_string());
                        next.push(Vec::new());
                        (vocab.len() - 1) as u32
                    });
                    if let Some(p) = prev {
                        next[p as usize].push(id);
                    }
                    prev = Some(id);
                }
            }
        }
        if vocab.is_empty() {
            eprintln!("no article text found to learn words from");
            std::process::exit(2);
        }
        Model { vocab, next }
    }

    fn story(&self, rng: &mut Rng) -> String {
        let n = 300 + rng.below(501);
        let mut out = String::with_capacity(n * 7);
        let mut w = rng.below(self.vocab.len());
        for i in 0..n {
            if i > 0 {
                out.push_str(if i % 70 == 0 { "\n\n" } else { " " });
            }
            out.push_str(&self.vocab[w]);
            let succ = &self.next[w];
            w = if succ.is_empty() || rng.below(40) == 0 {
                rng.below(self.vocab.len())
            } else {
                succ[rng.below(succ.len())] as usize
            };
        }
        out
    }
}

/// Another outlet's copy: the bottom fifth cut, a credit line added.
fn copy_of(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let keep = words.len() * 4 / 5;
    format!(
        "{}\n\nReporting by the wire desk; editing by the night editor.",
        words[..keep].join(" ")
    )
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let o = options();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| {
        eprintln!("cannot make a temporary directory: {e}");
        std::process::exit(1)
    });
    let dir = o.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let db = dir.join("dedup-bench.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let model = Model::learn();
    let store = Store::open_path(&db).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let feeds: Vec<i64> = (0..50)
        .map(|f| {
            store
                .sync_feed(&format!("feed{f}"), &format!("https://site{f}.example/rss"))
                .map(|s| s.id)
                .unwrap_or_else(|e| {
                    eprintln!("{e}");
                    std::process::exit(1)
                })
        })
        .collect();
    println!(
        "dedup bench: {} stories into {} (batch {}), vocabulary {} words",
        o.stories,
        db.display(),
        o.batch,
        model.vocab.len()
    );

    let mut rng = Rng(0x00de_d0b0_0001);
    // Recent texts, so copies of them can be sent in as other outlets' items.
    let mut recent: Vec<String> = Vec::with_capacity(1024);
    let base = 1_700_000_000i64;
    // By default all stories fall within one near-duplicate window (3 days): the worst case,
    // every story in the in-memory index. `--per-day N` spreads them as a real install would.
    let spacing = match o.per_day {
        Some(n) => 86_400.0 / n.max(1) as f64,
        None => 200_000.0 / o.stories.max(1) as f64,
    };
    let (mut new_stories, mut joined, mut copies) = (0usize, 0usize, 0usize);
    let mut busy = std::time::Duration::ZERO;
    let mut segment = Instant::now();
    let mut pending: Vec<(NewItem, Vec<feedwatch::store::TopicHit>)> = Vec::new();
    let count = |r: &Ingested, new_stories: &mut usize, joined: &mut usize| match r {
        Ingested::NewStory { .. } => *new_stories += 1,
        Ingested::JoinedStory { .. } => *joined += 1,
        _ => {}
    };
    for n in 0..o.stories {
        let is_copy = n % 20 == 19 && !recent.is_empty();
        let text = if is_copy {
            copies += 1;
            copy_of(&recent[rng.below(recent.len())])
        } else {
            model.story(&mut rng)
        };
        let feed = feeds[n % feeds.len()];
        let url = format!("https://site{feed}.example/news/{n}");
        let item = NewItem {
            feed_id: feed,
            guid: url.clone(),
            url: Some(url.clone()),
            canonical_url: Some(url),
            title: text.split(' ').take(9).collect::<Vec<_>>().join(" "),
            seen_at: base + (n as f64 * spacing) as i64,
            summary: text.chars().take(200).collect(),
            text: text.clone(),
            ..Default::default()
        };
        if !is_copy {
            if recent.len() < 1024 {
                recent.push(text);
            } else {
                let i = rng.below(1024);
                recent[i] = text;
            }
        }
        let t = Instant::now();
        if o.batch <= 1 {
            match store.ingest(&item, &[]) {
                Ok(r) => count(&r, &mut new_stories, &mut joined),
                Err(e) => {
                    eprintln!("ingest failed: {e}");
                    std::process::exit(1)
                }
            }
        } else {
            pending.push((item, Vec::new()));
            if pending.len() >= o.batch || n + 1 == o.stories {
                match store.ingest_many(&pending) {
                    Ok(rs) => rs
                        .iter()
                        .for_each(|r| count(r, &mut new_stories, &mut joined)),
                    Err(e) => {
                        eprintln!("ingest failed: {e}");
                        std::process::exit(1)
                    }
                }
                pending.clear();
            }
        }
        busy += t.elapsed();
        if (n + 1) % 100_000 == 0 {
            println!(
                "  {:>9} stored, {:>7.0} stories/s wall over the last 100k, {:.0} stories/s in ingest so far",
                n + 1,
                100_000.0 / segment.elapsed().as_secs_f64(),
                (n + 1) as f64 / busy.as_secs_f64()
            );
            segment = Instant::now();
        }
    }
    let rate = o.stories as f64 / busy.as_secs_f64();

    // Lookups: texts never stored (the common case: news), then copies of stored ones.
    let mut fresh_lat = Vec::with_capacity(o.lookups);
    let mut false_hits = 0;
    let now = base + (o.stories as f64 * spacing) as i64;
    for _ in 0..o.lookups {
        let text = model.story(&mut rng);
        let t = Instant::now();
        let r = store.find_near_duplicate(&text, now);
        fresh_lat.push(t.elapsed().as_secs_f64() * 1e3);
        if matches!(r, Ok(Some(_))) {
            false_hits += 1;
        }
    }
    // The pure part of a lookup: shingles and fingerprint of the new text.
    let mut fp_lat = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let text = model.story(&mut rng);
        let t = Instant::now();
        let sh = feedwatch::dedup::Shingles::of(&text);
        let fp = feedwatch::dedup::Fingerprint::of_shingles(&sh);
        fp_lat.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(fp);
    }
    fp_lat.sort_by(f64::total_cmp);
    let mut dup_lat = Vec::with_capacity(o.lookups / 10);
    let mut found = 0;
    for _ in 0..(o.lookups / 10).min(recent.len() * 4) {
        let text = copy_of(&recent[rng.below(recent.len())]);
        let t = Instant::now();
        let r = store.find_near_duplicate(&text, now);
        dup_lat.push(t.elapsed().as_secs_f64() * 1e3);
        if matches!(r, Ok(Some(_))) {
            found += 1;
        }
    }
    fresh_lat.sort_by(f64::total_cmp);
    dup_lat.sort_by(f64::total_cmp);
    let index_bytes = store.band_index_bytes();
    drop(store);

    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    let bands = rusqlite::Connection::open(&db).ok().and_then(|c| {
        c.query_row(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = 'story_fingerprints'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .ok()
    });

    println!("stories ingested        {}", o.stories);
    println!("  new stories           {new_stories}");
    println!("  copies sent / joined  {copies} / {joined}");
    println!("insert rate             {rate:.0} stories/s (time inside Store::ingest)");
    println!(
        "lookup, new text        p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  ({} lookups, {} false joins)",
        percentile(&fresh_lat, 0.5),
        percentile(&fresh_lat, 0.99),
        fresh_lat.last().copied().unwrap_or(0.0),
        fresh_lat.len(),
        false_hits
    );
    println!(
        "  of which fingerprint  p50 {:.3} ms  p99 {:.3} ms",
        percentile(&fp_lat, 0.5),
        percentile(&fp_lat, 0.99)
    );
    println!(
        "lookup, copy of a story p50 {:.3} ms  p99 {:.3} ms  ({} lookups, {} found)",
        percentile(&dup_lat, 0.5),
        percentile(&dup_lat, 0.99),
        dup_lat.len(),
        found
    );
    println!(
        "peak memory (VmHWM)     {:.1} MiB",
        peak_rss_kib() as f64 / 1024.0
    );
    println!(
        "database                {:.2} GiB, {:.0} bytes/story",
        bytes as f64 / (1u64 << 30) as f64,
        bytes as f64 / o.stories.max(1) as f64
    );
    if let Some(b) = bands {
        println!(
            "  of which fingerprints {:.0} bytes/story",
            b as f64 / o.stories.max(1) as f64
        );
    }
    println!(
        "band index in memory    {:.1} MiB, {:.0} bytes/story",
        index_bytes as f64 / (1u64 << 20) as f64,
        index_bytes as f64 / o.stories.max(1) as f64
    );
}
