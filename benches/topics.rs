//! Topic matching throughput: 1,000 topics against 1,000 stories, as the daemon meets them
//! when a busy poll brings in new stories.
//!
//! Run with `cargo bench --bench topics`. Stories are the article texts of the extraction
//! benchmark (`../shared/bench/extraction/zyte/truth.json`, or the file named by
//! `FEEDWATCH_BENCH_TRUTH`) when present, otherwise generated text. Prints stories per second
//! for 1,000 topics (preparing each story once, then every topic against it) and the cost of
//! one (topic, story) pair.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use feedwatch::topics::{Document, PreparedDocument, Query};

const STORIES: usize = 1_000;
const TOPICS: usize = 1_000;
const ROUNDS: usize = 5;

/// A small deterministic generator, so every run benchmarks the same topics and stories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

struct Story {
    title: String,
    text: String,
    author: String,
    feed: String,
    tags: Vec<String>,
    url: String,
}

const FEEDS: &[&str] = &[
    "World News",
    "Tech Daily",
    "Business Wire",
    "Science Now",
    "Sport Desk",
];
const AUTHORS: &[&str] = &[
    "Jane Doe",
    "John Smith",
    "María López",
    "Wei Zhang",
    "Amara Okafor",
];
const TAGS: &[&str] = &[
    "World",
    "Technology",
    "Business",
    "Science",
    "Sport",
    "Middle East",
    "Politics",
];

fn truth_path() -> PathBuf {
    match std::env::var_os("FEEDWATCH_BENCH_TRUTH") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/bench/extraction/zyte/truth.json"),
    }
}

/// Article bodies and URLs from the extraction benchmark, if it is there.
fn real_articles() -> Option<Vec<(String, String)>> {
    let raw = std::fs::read_to_string(truth_path()).ok()?;
    let json: serde_json::Value = serde_json::from_str(&raw).ok()?;
    let mut out: Vec<(String, String)> = json
        .as_object()?
        .values()
        .filter_map(|v| {
            let body = v.get("articleBody")?.as_str()?.to_string();
            let url = v
                .get("url")
                .and_then(|u| u.as_str())
                .unwrap_or("https://example.org/")
                .to_string();
            (!body.trim().is_empty()).then_some((body, url))
        })
        .collect();
    out.sort();
    (!out.is_empty()).then_some(out)
}

/// Articles of English-like text for machines without the benchmark data.
fn generated_articles(rng: &mut Rng) -> Vec<(String, String)> {
    const WORDS: &[&str] = &[
        "government",
        "officials",
        "said",
        "on",
        "Tuesday",
        "that",
        "the",
        "troops",
        "would",
        "leave",
        "market",
        "shares",
        "rose",
        "after",
        "company",
        "reported",
        "earnings",
        "scientists",
        "found",
        "climate",
        "change",
        "policy",
        "election",
        "voters",
        "minister",
        "announced",
        "new",
        "plans",
        "for",
        "economy",
        "growth",
        "inflation",
        "central",
        "bank",
        "rates",
        "football",
        "season",
        "players",
        "coach",
        "team",
        "won",
        "match",
        "research",
        "study",
        "health",
        "hospital",
        "patients",
        "technology",
        "software",
        "users",
        "data",
        "privacy",
        "security",
        "attack",
        "police",
        "investigation",
        "court",
        "judge",
        "ruling",
        "coalition",
        "forces",
        "Iraq",
        "city",
    ];
    (0..181)
        .map(|n| {
            let mut text = String::new();
            for p in 0..12 {
                for _ in 0..5 {
                    let len = 8 + rng.below(15);
                    let words: Vec<&str> = (0..len).map(|_| *rng.pick(WORDS)).collect();
                    text.push_str(&words.join(" "));
                    text.push_str(". ");
                }
                if p < 11 {
                    text.push_str("\n\n");
                }
            }
            (text, format!("https://news{}.example.org/story/{n}", n % 7))
        })
        .collect()
}

fn stories(rng: &mut Rng) -> (Vec<Story>, &'static str) {
    let (articles, source) = match real_articles() {
        Some(a) => (a, "extraction benchmark article texts"),
        None => (generated_articles(rng), "generated text"),
    };
    let stories = (0..STORIES)
        .map(|i| {
            let (body, url) = &articles[i % articles.len()];
            // Later copies of an article rotate its paragraphs, so no two stories are identical.
            let mut paragraphs: Vec<&str> = body.split("\n\n").collect();
            let turn = (i / articles.len()) % paragraphs.len().max(1);
            paragraphs.rotate_left(turn);
            let text = paragraphs.join("\n\n");
            let title: String = text
                .split_whitespace()
                .take(6 + i % 7)
                .collect::<Vec<_>>()
                .join(" ");
            let tags = (0..1 + i % 3).map(|_| rng.pick(TAGS).to_string()).collect();
            Story {
                title,
                text,
                author: rng.pick(AUTHORS).to_string(),
                feed: rng.pick(FEEDS).to_string(),
                tags,
                url: url.clone(),
            }
        })
        .collect();
    (stories, source)
}

/// Topic words from the middle of the corpus's frequency list: common enough to match now
/// and then, rare enough that most topics miss most stories, as real topics do.
fn vocabulary(stories: &[Story]) -> (Vec<String>, Vec<(String, String)>) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut bigrams: HashMap<(String, String), usize> = HashMap::new();
    for s in stories.iter().take(200) {
        let words: Vec<String> = s
            .text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.len() >= 4)
            .map(str::to_lowercase)
            .collect();
        for w in &words {
            *counts.entry(w.clone()).or_default() += 1;
        }
        for pair in words.windows(2) {
            *bigrams
                .entry((pair[0].clone(), pair[1].clone()))
                .or_default() += 1;
        }
    }
    let mut words: Vec<(String, usize)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let words: Vec<String> = words
        .into_iter()
        .skip(30)
        .take(3_000)
        .map(|(w, _)| w)
        .collect();
    let mut pairs: Vec<((String, String), usize)> =
        bigrams.into_iter().filter(|(_, n)| *n >= 2).collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let pairs = pairs.into_iter().take(1_000).map(|(p, _)| p).collect();
    (words, pairs)
}

fn topics(rng: &mut Rng, words: &[String], pairs: &[(String, String)]) -> Vec<String> {
    (0..TOPICS)
        .map(|i| {
            let mut w = || rng.pick(words).clone();
            let (w1, w2, w3, w4, w5) = (w(), w(), w(), w(), w());
            let (p1, p2) = rng.pick(pairs).clone();
            let tag = rng.pick(TAGS).to_string();
            let feed = rng.pick(FEEDS).to_string();
            let author = rng
                .pick(AUTHORS)
                .split(' ')
                .nth(1)
                .unwrap_or("doe")
                .to_string();
            let stem: String = w1.chars().take(5).collect();
            // One topic in fifty uses a regex, the costliest term.
            if i % 50 == 49 {
                return if i % 100 == 49 {
                    format!("title:/^{w1}/i OR {w2}")
                } else {
                    format!(r"/\b{w1}s?\b/i {w2}")
                };
            }
            match i % 12 {
                0 => w1,
                1 => format!("{w1} {w2}"),
                2 => format!("{w1} OR {w2}"),
                3 => format!("{w1} AND ({w2} OR \"{p1} {p2}\") NOT {w5}"),
                4 => format!("\"{p1} {p2}\""),
                5 => format!("{stem}* {w2}"),
                6 => format!("title:{w1} OR title:\"{p1} {p2}\""),
                7 => format!("NEAR({w1} {w2}, 5) OR NEAR({p1} {p2}, 3)"),
                8 => format!("tag:\"{tag}\" ({w1} OR {w2})"),
                9 => format!("{w1} -{w2} -{w3}"),
                10 => format!("(author:{author} OR feed:\"{feed}\") {w1}"),
                _ => format!("({w1} OR {w2} OR {w3}) ({w4} OR {w5})"),
            }
        })
        .collect()
}

/// Time this thread has spent on a CPU, when Linux tells (`/proc/thread-self/schedstat`): the
/// machine running the benchmark may be busy with other work, and wall time would count it.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    (nanos > 0).then(|| Duration::from_nanos(nanos))
}

/// A stopwatch that reads CPU time where it can, else wall time.
struct Clock {
    /// Whether `cpu_time` works here.
    cpu: bool,
    /// For the wall-time fallback.
    origin: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            cpu: cpu_time().is_some(),
            origin: Instant::now(),
        }
    }

    fn now(&self) -> Duration {
        if self.cpu {
            cpu_time().unwrap_or_default()
        } else {
            self.origin.elapsed()
        }
    }

    fn kind(&self) -> &'static str {
        if self.cpu {
            "CPU time of the benchmark thread"
        } else {
            "wall time"
        }
    }
}

fn main() {
    let mut rng = Rng(0x5eed_f00d_cafe_beef);
    let (stories, source) = stories(&mut rng);
    let (words, pairs) = vocabulary(&stories);
    let texts = topics(&mut rng, &words, &pairs);

    let clock = Clock::new();
    let started = clock.now();
    let queries: Vec<Query> = texts
        .iter()
        .map(|t| {
            Query::parse(t).unwrap_or_else(|e| panic!("bench topic {t:?} does not parse: {e}"))
        })
        .collect();
    let parse_time = clock.now() - started;

    let docs: Vec<Document> = stories
        .iter()
        .map(|s| Document {
            title: &s.title,
            text: &s.text,
            author: &s.author,
            feed: &s.feed,
            tags: &s.tags,
            url: &s.url,
        })
        .collect();
    let avg_words = stories
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .sum::<usize>()
        / STORIES;

    // The first pass fills the stemmer's cache as a freshly started daemon would.
    let cold = clock.now();
    let prepared: Vec<PreparedDocument> = docs.iter().map(PreparedDocument::new).collect();
    let cold_prepare = clock.now() - cold;
    drop(prepared);

    let mut best_prepare = Duration::MAX;
    let mut best_match = Duration::MAX;
    let mut best_total = Duration::MAX;
    let mut hits = 0usize;
    let mut best_wall = Duration::MAX;
    for _ in 0..ROUNDS {
        let wall = Instant::now();
        // Prepared and matched in separate passes, so the clock is read twice per pass, not
        // per story.
        let t0 = clock.now();
        let prepared: Vec<PreparedDocument> = docs.iter().map(PreparedDocument::new).collect();
        let t1 = clock.now();
        hits = 0;
        for p in &prepared {
            for q in &queries {
                if let Some(terms) = q.matches_prepared(p) {
                    hits += std::hint::black_box(terms).len().min(1);
                }
            }
        }
        let t2 = clock.now();
        drop(prepared);
        best_prepare = best_prepare.min(t1 - t0);
        best_match = best_match.min(t2 - t1);
        best_total = best_total.min(t2 - t0);
        best_wall = best_wall.min(wall.elapsed());
    }

    let pairs_n = (STORIES * TOPICS) as f64;
    println!("topic matching benchmark ({source})");
    println!(
        "  stories: {STORIES} (avg {avg_words} words), topics: {TOPICS}, best of {ROUNDS} rounds"
    );
    println!("  measured in {}", clock.kind());
    println!(
        "  parse 1000 topics:            {:>10.2} ms",
        parse_time.as_secs_f64() * 1e3
    );
    println!(
        "  prepare, cold stem cache:     {:>10.1} µs/story",
        cold_prepare.as_secs_f64() * 1e6 / STORIES as f64
    );
    println!(
        "  prepare, warm:                {:>10.1} µs/story",
        best_prepare.as_secs_f64() * 1e6 / STORIES as f64
    );
    println!(
        "  match 1000 topics:            {:>10.1} µs/story",
        best_match.as_secs_f64() * 1e6 / STORIES as f64
    );
    println!(
        "  per (topic, story) pair:      {:>10.1} ns",
        best_match.as_secs_f64() * 1e9 / pairs_n
    );
    println!(
        "  matching pairs:               {:>10} ({:.2}%)",
        hits,
        hits as f64 * 100.0 / pairs_n
    );
    println!(
        "  stories/s against 1000 topics: {:>9.0} (one core, prepare + match)",
        STORIES as f64 / best_total.as_secs_f64()
    );
    println!(
        "  same, in wall time:            {:>9.0} (lower when the machine is busy)",
        STORIES as f64 / best_wall.as_secs_f64()
    );
}
