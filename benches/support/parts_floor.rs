//! The parts floor: what the design's own parts take to fetch, parse and store a pass's items,
//! with none of feedwatch's own work (no conditional requests, no normalising, no dedup, no
//! stories, no alerts, no polling records).
//!
//! One reqwest client fetches every feed (`concurrency` at a time, as curl does), feed-rs
//! parses the bodies on one thread per core, and one writer thread stores each item (feed,
//! guid, link, title, summary) with rusqlite into a table with only the uniqueness feedwatch
//! needs, `(feed, guid)`, in WAL mode with `synchronous = NORMAL`, 1,000 rows a transaction.
//! That is less than any poller built of these parts that keeps its items in SQLite must do,
//! so such a poller's full pass cannot be faster than this.
//!
//! Used by `poll.rs` through `#[path]`.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::StreamExt as _;

/// Rows a transaction.
const BATCH: usize = 1000;

/// What the floor measured.
pub struct Floor {
    /// From the first request to the last row committed: the figure set beside curl's.
    pub wall: Duration,
    /// CPU seconds of the fetching runtime, the parsing threads and the writer together.
    pub cpu_s: f64,
    /// CPU seconds of the writer alone (the critical path when it is the larger part).
    pub store_cpu_s: f64,
    /// Items parsed and stored: every item of every feed when the floor did all the work.
    pub items: usize,
    /// "ok", or what failed (fetches, parses, SQLite), so a floor that skipped work is not
    /// read as a fast one.
    pub status: String,
}

/// The calling thread's CPU time so far.
fn thread_cpu_s() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out pointer for the current thread's clock.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

/// One item as stored.
struct Row {
    feed: usize,
    guid: String,
    link: Option<String>,
    title: Option<String>,
    summary: Option<String>,
}

/// Fetches every URL (`concurrency` at a time, one reqwest client on a tokio runtime of one
/// worker a core), parses the bodies and stores their items in a new database at `db`.
pub fn measure(urls: &[String], concurrency: usize, db: &Path) -> Floor {
    let _ = std::fs::remove_file(db);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (bodies, receive_bodies) = tokio::sync::mpsc::channel::<(usize, Bytes)>(256);
    let receive_bodies = Mutex::new(receive_bodies);
    let (send, receive) = mpsc::sync_channel::<Vec<Row>>(64);
    let fetch_cpu = Arc::new(Mutex::new(0.0));
    let start = Instant::now();
    let (cpu_s, store_cpu_s, items, status) = std::thread::scope(|s| {
        let writer = s.spawn(move || store(db, receive));
        let parsers: Vec<_> = (0..threads)
            .map(|_| {
                let send = send.clone();
                let receive_bodies = &receive_bodies;
                s.spawn(move || {
                    let cpu0 = thread_cpu_s();
                    let mut failed = 0;
                    loop {
                        let next = match receive_bodies.lock() {
                            Ok(mut r) => r.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some((feed, body)) = next else { break };
                        let Ok(parsed) = feed_rs::parser::parse(&body[..]) else {
                            failed += 1;
                            continue;
                        };
                        let rows = parsed
                            .entries
                            .into_iter()
                            .map(|e| Row {
                                feed,
                                guid: e.id,
                                link: e.links.into_iter().next().map(|l| l.href),
                                title: e.title.map(|t| t.content),
                                summary: e.summary.map(|t| t.content),
                            })
                            .collect();
                        if send.send(rows).is_err() {
                            break;
                        }
                    }
                    (thread_cpu_s() - cpu0, failed)
                })
            })
            .collect();
        drop(send);
        let fetched = fetch(urls, concurrency, threads, bodies, fetch_cpu.clone());
        let mut cpu = fetch_cpu.lock().map_or(0.0, |c| *c);
        let mut failed = 0;
        for p in parsers {
            if let Ok((c, f)) = p.join() {
                cpu += c;
                failed += f;
            }
        }
        let (writer_cpu, stored) = match writer.join() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return (cpu, 0.0, 0, format!("sqlite: {e}")),
            Err(_) => return (cpu, 0.0, 0, "the writer panicked".into()),
        };
        let status = match (fetched, failed) {
            (Err(e), _) => e,
            (Ok(()), 0) => "ok".to_string(),
            (Ok(()), n) => format!("{n} feeds did not parse"),
        };
        (cpu + writer_cpu, writer_cpu, stored, status)
    });
    Floor {
        wall: start.elapsed(),
        cpu_s,
        store_cpu_s,
        items,
        status,
    }
}

/// Fetches every URL and hands each body on; the runtime's threads add their CPU time to
/// `cpu` as they stop.
fn fetch(
    urls: &[String],
    concurrency: usize,
    threads: usize,
    bodies: tokio::sync::mpsc::Sender<(usize, Bytes)>,
    cpu: Arc<Mutex<f64>>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .on_thread_stop(move || {
            if let Ok(mut c) = cpu.lock() {
                *c += thread_cpu_s();
            }
        })
        .build()
        .map_err(|e| format!("a runtime for the fetch: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("a client: {e}"))?;
    let failed = runtime.block_on(async {
        let results = futures_util::stream::iter(urls.iter().enumerate())
            .map(|(feed, url)| {
                let (client, bodies) = (&client, &bodies);
                async move {
                    let body = client
                        .get(url)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    let _ = bodies.send((feed, body)).await;
                    Ok::<(), reqwest::Error>(())
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await;
        results.iter().filter(|r| r.is_err()).count()
    });
    drop(bodies);
    drop(runtime);
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} fetches failed")),
    }
}

/// The writer: every row received, `BATCH` a transaction; its CPU seconds and the rows stored.
fn store(db: &Path, receive: mpsc::Receiver<Vec<Row>>) -> rusqlite::Result<(f64, usize)> {
    let cpu0 = thread_cpu_s();
    let mut conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, feed INTEGER NOT NULL, guid TEXT NOT NULL,
            url TEXT, title TEXT, summary TEXT, UNIQUE (feed, guid))",
    )?;
    let mut stored = 0;
    let mut tx = conn.transaction()?;
    let mut in_tx = 0;
    for rows in receive {
        for r in rows {
            tx.prepare_cached(
                "INSERT INTO items (feed, guid, url, title, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![
                r.feed as i64,
                r.guid,
                r.link,
                r.title,
                r.summary
            ])?;
            stored += 1;
            in_tx += 1;
            if in_tx == BATCH {
                tx.commit()?;
                tx = conn.transaction()?;
                in_tx = 0;
            }
        }
    }
    tx.commit()?;
    Ok((thread_cpu_s() - cpu0, stored))
}
