//! The web pages and the JSON API with a big archive: a SQLite store filled through
//! `Store::ingest_many` with 1,000,000 stories (50 feeds, 5,000 stories a day ending now, one in
//! 100 matching one of 10 topics, each match an alert), each feed's last 30 polls logged; then
//! every page and API endpoint served by the real server on loopback, timed from request to the
//! last byte of the answer. The goal: under 50 ms each.
//!
//! Run: `cargo bench --bench web -- [--stories N] [--db PATH] [--runs N]` (defaults: 1,000,000
//! stories, a temporary file, 20 timed requests per URL). With `--db`, an existing file that
//! already holds stories is used as it is (a second run skips the fill).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use feedwatch::store::{NewItem, PollOutcome, PollRecord, Store, TopicHit};
use feedwatch::web::{Catalog, FeedInfo, TopicInfo, Web};

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
    db: Option<PathBuf>,
    runs: usize,
}

fn options() -> Options {
    let mut o = Options {
        stories: 1_000_000,
        db: None,
        runs: 20,
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
            "--runs" => o.runs = num().max(1),
            "--db" => o.db = Some(PathBuf::from(&val)),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {
                i += 1;
                continue;
            }
            other => {
                eprintln!("unknown option {other}; use --stories N, --db PATH or --runs N");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    o
}

/// Words news is made of, enough that texts differ and topic words are rare.
const WORDS: &[&str] = &[
    "government",
    "minister",
    "said",
    "talks",
    "city",
    "market",
    "prices",
    "rose",
    "fell",
    "report",
    "officials",
    "week",
    "year",
    "police",
    "court",
    "election",
    "party",
    "vote",
    "company",
    "shares",
    "bank",
    "rates",
    "energy",
    "climate",
    "storm",
    "river",
    "school",
    "health",
    "hospital",
    "team",
    "match",
    "season",
    "coach",
    "players",
    "film",
    "music",
    "festival",
    "museum",
    "border",
    "trade",
    "exports",
    "factory",
    "workers",
    "strike",
    "union",
    "budget",
    "tax",
    "housing",
    "rent",
    "transport",
    "railway",
    "airport",
    "flights",
    "weather",
];

/// The topic words: one story in 100 carries one of them.
const TOPICS: [&str; 10] = [
    "volcano",
    "satellite",
    "vaccine",
    "drought",
    "earthquake",
    "submarine",
    "glacier",
    "pipeline",
    "refinery",
    "telescope",
];

fn text(rng: &mut Rng, words: usize, topic: Option<&str>) -> String {
    let mut out = String::with_capacity(words * 8);
    for w in 0..words {
        if w > 0 {
            out.push(' ');
        }
        if w == 7
            && let Some(t) = topic
        {
            out.push_str(t);
        } else {
            out.push_str(WORDS[rng.below(WORDS.len())]);
        }
        if w % 15 == 14 {
            out.push('.');
        }
    }
    out
}

fn fill(store: &Store, stories: usize) {
    let now = chrono::Utc::now().timestamp();
    let per_day = 5_000.0;
    let spacing = 86_400.0 / per_day;
    let start = now - (stories as f64 * spacing) as i64;
    let feeds: Vec<i64> = (0..50)
        .map(|f| {
            store
                .sync_feed(
                    &format!("feed-{f}"),
                    &format!("https://site{f}.example/rss"),
                )
                .map(|s| s.id)
                .unwrap_or_else(|e| {
                    eprintln!("{e}");
                    std::process::exit(1)
                })
        })
        .collect();
    for (f, &id) in feeds.iter().enumerate() {
        for p in 0..30i64 {
            let error = p % 13 == 12;
            let record = PollRecord {
                at: now - (30 - p) * 600,
                outcome: if error {
                    PollOutcome::Error
                } else if p % 3 == 0 {
                    PollOutcome::Ok
                } else {
                    PollOutcome::NotModified
                },
                http_status: Some(if error { 503 } else { 200 }),
                error: error.then(|| "HTTP 503".to_string()),
                next_due_at: now + 600 + f as i64,
                duration_ms: Some(20 + (p * 37 + f as i64 * 11) % 400),
                title: Some(format!("Feed {f}")),
                ..Default::default()
            };
            store.record_poll(id, &record).unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            });
        }
    }
    let mut rng = Rng(0x0077_6562_0001);
    let started = Instant::now();
    let mut batch: Vec<(NewItem, Vec<TopicHit>)> = Vec::with_capacity(1000);
    for n in 0..stories {
        let topic = (n % 100 == 37).then(|| TOPICS[rng.below(TOPICS.len())]);
        let body = text(&mut rng, 60, topic);
        let feed = feeds[n % feeds.len()];
        let url = format!("https://site{feed}.example/news/{n}");
        let item = NewItem {
            feed_id: feed,
            guid: url.clone(),
            url: Some(url.clone()),
            canonical_url: Some(url),
            title: body.split(' ').take(9).collect::<Vec<_>>().join(" "),
            seen_at: start + (n as f64 * spacing) as i64,
            published_at: Some(start + (n as f64 * spacing) as i64),
            summary: body.chars().take(200).collect(),
            text: body,
            categories: vec![["politics", "business", "sport", "culture"][n % 4].to_string()],
            ..Default::default()
        };
        let hits = topic
            .map(|t| {
                vec![TopicHit {
                    topic: t.to_string(),
                    matched: vec![t.to_string()],
                    notifiers: vec!["hook".to_string()],
                    digest: false,
                    snippet: String::new(),
                }]
            })
            .unwrap_or_default();
        batch.push((item, hits));
        if batch.len() == 1000 || n + 1 == stories {
            store.ingest_many(&batch).unwrap_or_else(|e| {
                eprintln!("ingest failed: {e}");
                std::process::exit(1)
            });
            batch.clear();
        }
        if (n + 1) % 100_000 == 0 {
            println!(
                "  {:>9} stored, {:.0} stories/s",
                n + 1,
                (n + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

fn catalog() -> Catalog {
    Catalog {
        topics: TOPICS
            .iter()
            .map(|t| TopicInfo {
                name: t.to_string(),
                query: t.to_string(),
                notify: vec!["hook".into()],
                digest: false,
            })
            .collect(),
        feeds: (0..50)
            .map(|f| {
                (
                    format!("feed-{f}"),
                    FeedInfo {
                        name: Some(format!("Feed {f}")),
                        tags: vec![if f % 5 == 0 { "world" } else { "local" }.to_string()],
                    },
                )
            })
            .collect(),
    }
}

fn main() {
    let o = options();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| {
        eprintln!("cannot make a temporary directory: {e}");
        std::process::exit(1)
    });
    let db =
        o.db.clone()
            .unwrap_or_else(|| tmp.path().join("web-bench.db"));
    let store = Store::open_path(&db).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let have = store.story_counts(0).map(|(all, _)| all).unwrap_or(0);
    if have == 0 {
        println!(
            "web bench: filling {} with {} stories",
            db.display(),
            o.stories
        );
        let t = Instant::now();
        fill(&store, o.stories);
        println!("filled in {:.0} s", t.elapsed().as_secs_f64());
    } else {
        println!("web bench: {} already holds {have} stories", db.display());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("{e}");
            std::process::exit(1)
        });
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let metrics = Arc::new(feedwatch::server::Metrics::default());
        let web = Web::new(store.clone(), catalog(), metrics.clone(), None);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(feedwatch::server::serve(
            listener,
            metrics,
            Some(web),
            async {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();
        let get = |path: String| {
            let client = client.clone();
            let url = format!("{base}{path}");
            async move {
                let res = client.get(&url).send().await.unwrap();
                let status = res.status();
                let body = res.bytes().await.unwrap();
                (status, body)
            }
        };
        // A cursor half way down the archive, a story and an alert to open.
        let mut cursor = String::new();
        for _ in 0..3 {
            let page: serde_json::Value =
                serde_json::from_slice(&get(format!("/api/stories?limit=200{cursor}")).await.1)
                    .unwrap();
            cursor = format!("&after={}", page["next"].as_str().unwrap_or(""));
        }
        let story = store.story_counts(0).map(|(all, _)| all / 2).unwrap_or(1);
        let alerts: serde_json::Value =
            serde_json::from_slice(&get("/api/alerts".into()).await.1).unwrap();
        let alert = alerts["items"][0]["id"].as_i64().unwrap_or(1);
        let paths: Vec<String> = vec![
            "/".into(),
            "/feeds".into(),
            "/stories".into(),
            format!("/stories?limit=50{cursor}"),
            "/stories?topic=volcano".into(),
            "/stories?feed=feed-7".into(),
            "/stories?tag=world".into(),
            "/stories?tag=nosuchtag".into(),
            "/stories?since=24h".into(),
            format!("/stories/{story}"),
            "/topics".into(),
            "/topics?q=volcano+OR+glacier".into(),
            "/topics?q=nosuchword".into(),
            "/alerts".into(),
            "/alerts?state=failed".into(),
            format!("/alerts/{alert}"),
            "/api/feeds".into(),
            "/api/stories".into(),
            "/api/stories?topic=volcano".into(),
            format!("/api/stories/{story}"),
            "/api/topics".into(),
            "/api/topics/test?q=volcano".into(),
            "/api/alerts".into(),
            format!("/api/alerts/{alert}"),
        ];
        println!(
            "\n{:<42} {:>8} {:>8} {:>8} {:>9}",
            "GET", "p50 ms", "p95 ms", "max ms", "bytes"
        );
        let mut over = 0;
        for path in &paths {
            let mut times: Vec<Duration> = Vec::with_capacity(o.runs);
            let mut size = 0;
            for run in 0..o.runs + 2 {
                let t = Instant::now();
                let (status, body) = get(path.clone()).await;
                let took = t.elapsed();
                if !status.is_success() {
                    eprintln!("{path}: {status}");
                    std::process::exit(1);
                }
                size = body.len();
                // Two warm-up requests first.
                if run >= 2 {
                    times.push(took);
                }
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let p50 = ms(times[times.len() / 2]);
            let p95 = ms(times[(times.len() * 95 / 100).min(times.len() - 1)]);
            let max = ms(*times.last().unwrap_or(&Duration::ZERO));
            if p95 >= 50.0 {
                over += 1;
            }
            println!("{path:<42} {p50:>8.1} {p95:>8.1} {max:>8.1} {size:>9}");
        }
        println!("\n{} of {} URLs at or over 50 ms at p95", over, paths.len());
        let _ = stop.send(());
        let _ = server.await;
    });
}
