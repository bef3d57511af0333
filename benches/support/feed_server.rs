//! The benches' feed server: N RSS feeds of made-up but distinct stories, served from many
//! loopback addresses (127.0.1.1 upwards) the way a static file server serves them (a prepared
//! body, an ETag, a 304 for a matching If-None-Match), counting requests per feed and per
//! process (told apart by the user agent `feedwatch-bench/pK`).
//!
//! Used by `scale_out.rs` and `poll.rs` through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;

/// Processes the server tells apart at most.
pub const MAX_PROCS: usize = 8;

/// What the server serves and what it saw.
pub struct Feeds {
    pub bodies: Vec<Bytes>,
    etags: Vec<String>,
    /// Requests per feed (200s and 304s alike).
    pub hits: Vec<AtomicU32>,
    /// 304 answers, all feeds together.
    pub not_modified: AtomicU64,
    /// Requests per process (told apart by the user agent `feedwatch-bench/pK`).
    pub by_proc: [AtomicU64; MAX_PROCS],
    /// Requests for anything but a feed path.
    pub strays: AtomicU64,
}

impl Feeds {
    /// Forgets what was counted, for the next case.
    pub fn reset(&self) {
        for h in &self.hits {
            h.store(0, Ordering::SeqCst);
        }
        for p in &self.by_proc {
            p.store(0, Ordering::SeqCst);
        }
        self.strays.store(0, Ordering::SeqCst);
        self.not_modified.store(0, Ordering::SeqCst);
    }

    /// Bytes of all feed bodies together.
    pub fn total_bytes(&self) -> usize {
        self.bodies.iter().map(Bytes::len).sum()
    }
}

/// A small, fast, seeded generator: the same feeds on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A vocabulary of pronounceable made-up words, so every story's text is its own.
fn vocabulary(rng: &mut Rng, n: usize) -> Vec<String> {
    const ONSETS: &[&str] = &[
        "b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pr",
        "r", "s", "st", "t", "tr", "v", "w", "z",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
    (0..n)
        .map(|_| {
            let syllables = 2 + rng.below(2);
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(ONSETS[rng.below(ONSETS.len())]);
                w.push_str(VOWELS[rng.below(VOWELS.len())]);
            }
            w
        })
        .collect()
}

/// Feed `i`: `items` items, each its own story (a title of 8 words, a description of 60).
fn feed_body(i: usize, items: usize, base: &str, rng: &mut Rng, words: &[String]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Bench feed {i}</title><link>{base}/</link><description>feed {i}</description>\n"
    );
    for j in 0..items {
        let mut sentence = |n: usize| {
            (0..n)
                .map(|_| words[rng.below(words.len())].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let title = sentence(8);
        let text = sentence(60);
        let _ = writeln!(
            s,
            "<item><guid isPermaLink=\"false\">bench-{i}-{j}</guid><title>{title}</title>\
             <link>{base}/story/{i}/{j}</link>\
             <pubDate>Wed, 29 May 2024 {:02}:{:02}:00 GMT</pubDate>\
             <description>{text}.</description></item>",
            j / 60 % 24,
            j % 60
        );
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn address(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, (n + 1) as u8)
}

/// Binds one listener per address (`addresses` ≤ 250) and serves `feeds` feeds of `items`
/// items spread over them, on the current tokio runtime; returns each feed's URL and the
/// served state.
pub async fn serve(
    feeds: usize,
    items: usize,
    addresses: usize,
) -> std::io::Result<(Vec<String>, Arc<Feeds>)> {
    let addresses = addresses.clamp(1, 250);
    let mut ports = Vec::new();
    let mut listeners = Vec::new();
    for a in 0..addresses {
        let addr = SocketAddr::new(IpAddr::V4(address(a)), 0);
        let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("binding {addr} for the feed server: {e}"))
        })?;
        ports.push(l.local_addr()?.port());
        listeners.push(l);
    }
    let mut rng = Rng(12);
    let words = vocabulary(&mut rng, 5000);
    let mut urls = Vec::with_capacity(feeds);
    let mut bodies = Vec::with_capacity(feeds);
    let mut etags = Vec::with_capacity(feeds);
    for i in 0..feeds {
        let a = i % addresses;
        let base = format!("http://{}:{}", address(a), ports[a]);
        urls.push(format!("{base}/feed/{i}.xml"));
        bodies.push(Bytes::from(feed_body(i, items, &base, &mut rng, &words)));
        etags.push(format!("\"f{i}-1\""));
    }
    let state = Arc::new(Feeds {
        bodies,
        etags,
        hits: (0..feeds).map(|_| AtomicU32::new(0)).collect(),
        not_modified: AtomicU64::new(0),
        by_proc: Default::default(),
        strays: AtomicU64::new(0),
    });
    let app = Router::new().fallback(answer).with_state(state.clone());
    for l in listeners {
        let app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    Ok((urls, state))
}

async fn answer(State(feeds): State<Arc<Feeds>>, req: Request) -> Response {
    let proc = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.strip_prefix("feedwatch-bench/p"))
        .and_then(|k| k.parse::<usize>().ok())
        .filter(|k| *k < MAX_PROCS);
    if let Some(k) = proc {
        feeds.by_proc[k].fetch_add(1, Ordering::Relaxed);
    }
    let index = req
        .uri()
        .path()
        .strip_prefix("/feed/")
        .and_then(|p| p.strip_suffix(".xml"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|i| *i < feeds.bodies.len());
    let mut b = Response::builder();
    let Some(i) = index else {
        feeds.strays.fetch_add(1, Ordering::Relaxed);
        return b.status(404).body(Body::empty()).unwrap_or_default();
    };
    feeds.hits[i].fetch_add(1, Ordering::Relaxed);
    let etag = &feeds.etags[i];
    b = b.header("etag", etag.as_str());
    let matches = req
        .headers()
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        feeds.not_modified.fetch_add(1, Ordering::Relaxed);
        return b.status(304).body(Body::empty()).unwrap_or_default();
    }
    b.status(200)
        .header("content-type", "application/rss+xml")
        .body(Body::from(feeds.bodies[i].clone()))
        .unwrap_or_default()
}

/// Writes a `feedwatch` config for the served feeds: process `proc` (its user agent
/// `feedwatch-bench/pPROC`, which the server counts by) on `database`, loopback allowed, no
/// per-host rate, no article pages, `concurrency` and `per_host` fetches at once.
pub fn write_config(
    path: &std::path::Path,
    database: &str,
    proc: usize,
    urls: &[String],
    concurrency: usize,
    per_host: usize,
) {
    let mut s = String::new();
    let _ = write!(
        s,
        "# Written by a feedwatch bench.\n[daemon]\ndatabase = \"{database}\"\n\
         user_agent = \"feedwatch-bench/p{proc}\"\nmax_concurrent_fetches = {concurrency}\n\
         per_host_concurrency = {per_host}\nper_host_rate = 0\nallow_private_addresses = true\n\n\
         [defaults]\ninterval = \"30m\"\nfull_article = false\n"
    );
    // A config file holds some 50,000 feeds at most: past 20,000 they go in `feeds.d/` beside
    // it, 20,000 a file (the same files for every process's config in one folder).
    let feed = |i: usize, url: &str| format!("\n[[feed]]\nname = \"bench-{i}\"\nurl = \"{url}\"\n");
    if urls.len() <= FEEDS_PER_FILE {
        for (i, url) in urls.iter().enumerate() {
            s.push_str(&feed(i, url));
        }
    } else {
        let dir = path.with_file_name("feeds.d");
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("creating {}: {e}", dir.display());
        }
        for (n, chunk) in urls.chunks(FEEDS_PER_FILE).enumerate() {
            let text: String = chunk
                .iter()
                .enumerate()
                .map(|(k, url)| feed(n * FEEDS_PER_FILE + k, url))
                .collect();
            let file = dir.join(format!("bench-{n}.toml"));
            if let Err(e) = std::fs::write(&file, text) {
                panic!("writing {}: {e}", file.display());
            }
        }
    }
    if let Err(e) = std::fs::write(path, s) {
        panic!("writing the bench config {}: {e}", path.display());
    }
}

/// Feeds per config file the benches write.
const FEEDS_PER_FILE: usize = 20_000;

/// How a child process ended, with what it used.
pub struct Ended {
    /// "exit N" or "signal N".
    pub status: String,
    /// Peak resident memory, MiB: the high-water mark of the child's own memory (`VmHWM`),
    /// as last read while it ran.
    pub rss_mib: f64,
    /// User + system CPU seconds.
    pub cpu_s: f64,
}

/// Waits for the child `pid` if it has ended (`wait4` with WNOHANG), with its resource use.
/// Called again and again while the child runs, it reads the child's memory high-water mark
/// each time into `peak_kib`: `wait4`'s `ru_maxrss` cannot serve, as it counts the memory the
/// parent had when it started the child (Linux keeps the larger of the old and the new
/// memory's marks across the exec), and this bench holds every feed body in memory.
pub fn reap(pid: i32, peak_kib: &mut u64) -> Option<Ended> {
    *peak_kib = (*peak_kib).max(high_water_kib(pid));
    let mut status = 0;
    // SAFETY: a plain `rusage` is valid zeroed, and wait4 only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is the caller's child, not yet reaped (std never waits for it: we do).
    let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
    if r == pid {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Some(Ended {
            status: if libc::WIFEXITED(status) {
                format!("exit {}", libc::WEXITSTATUS(status))
            } else {
                format!("signal {}", libc::WTERMSIG(status))
            },
            rss_mib: *peak_kib as f64 / 1024.0,
            cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
        })
    } else if r < 0 {
        Some(Ended {
            status: format!("wait4: {}", std::io::Error::last_os_error()),
            rss_mib: 0.0,
            cpu_s: 0.0,
        })
    } else {
        None
    }
}

/// A running process's memory high-water mark (`VmHWM` in `/proc/PID/status`), KiB; 0 once
/// it has ended.
fn high_water_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
