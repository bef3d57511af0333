//! Several `feedwatch once` processes sharing one database: how fast a pass over many feeds goes
//! with 1, 2 and 4 processes on PostgreSQL and 1 and 2 on SQLite, and whether any feed is fetched
//! twice (with leased feeds, none may be).
//!
//! The bench serves N RSS feeds (5 items each, every item its own story) from its own HTTP
//! server, listening on many loopback addresses (127.0.1.1 upwards) with the feeds spread over
//! them, and answering as a static file server would: a prepared body, an ETag, a 304 for a
//! matching If-None-Match. It writes one config per process (identical but for `user_agent`, so
//! the server can tell which process fetched what), then for each case creates a fresh database
//! (a new SQLite file, or a new database on a throw-away PostgreSQL cluster started the way the
//! tests start theirs: `tests/support/postgres.rs`), starts K `feedwatch once` processes at once
//! on it and waits for them all.
//!
//! Reported per case: wall time from start to the last exit, polls/s (feeds fetched at least
//! once, per second of wall time), duplicate fetches (requests beyond one per feed: must be 0),
//! feeds never fetched, how the fetches split between the processes, each process's peak RSS
//! (`wait4`'s `ru_maxrss`) and its exit status.
//!
//! The binary is the one `cargo bench` builds beside this bench (the `bench` profile, i.e.
//! release): nothing to build by hand. PostgreSQL runs with `synchronous_commit=off`, the
//! durability SQLite's `synchronous=NORMAL` in WAL mode has (a commit is not flushed at once;
//! fsync stays on for checkpoints).
//!
//! Run: `cargo bench --bench scale_out -- [--feeds 20000] [--backend sqlite|postgres|both]
//! [--addresses 250] [--concurrency 64] [--per-host 8] [--timeout 900] [--keep DIR]`
//! (`--concurrency` and `--per-host` are `max_concurrent_fetches` and `per_host_concurrency`;
//! `--keep DIR` writes configs, databases and each process's output under DIR and keeps them;
//! `--procs 1,2` runs only those process counts; `--binary PATH` runs another feedwatch build,
//! e.g. an earlier commit's, to compare the two on one machine; `--pg-stats` prints the
//! statements PostgreSQL spent most time on in each case, from pg_stat_statements).

#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;

/// At most this many processes per case (the server keeps a counter per process).
const MAX_PROCS: usize = 8;

struct Options {
    feeds: usize,
    sqlite: bool,
    postgres: bool,
    addresses: usize,
    concurrency: usize,
    per_host: usize,
    timeout: Duration,
    keep: Option<PathBuf>,
    /// The feedwatch binary to run: the one built beside the bench unless `--binary` names
    /// another (an earlier build, to compare two in one run on one machine).
    binary: PathBuf,
    /// Print the statements the server spent most time on in each PostgreSQL case.
    pg_stats: bool,
    /// The process counts to run (default 1, 2 on SQLite and 1, 2, 4 on PostgreSQL).
    procs: Option<Vec<usize>>,
}

fn options() -> Options {
    let mut o = Options {
        feeds: 20_000,
        sqlite: true,
        postgres: true,
        addresses: 250,
        concurrency: 64,
        per_host: 8,
        timeout: Duration::from_secs(900),
        keep: None,
        procs: None,
        pg_stats: false,
        binary: PathBuf::from(env!("CARGO_BIN_EXE_feedwatch")),
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
            "--feeds" => o.feeds = num().max(1),
            "--addresses" => o.addresses = num().clamp(1, 250),
            "--concurrency" => o.concurrency = num().max(1),
            "--per-host" => o.per_host = num().max(1),
            "--timeout" => o.timeout = Duration::from_secs(num() as u64),
            "--keep" => o.keep = Some(PathBuf::from(&val)),
            "--binary" => o.binary = PathBuf::from(&val),
            "--procs" => {
                let list: Option<Vec<usize>> = val
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=MAX_PROCS).contains(n))
                    })
                    .collect();
                match list {
                    Some(l) if !l.is_empty() => o.procs = Some(l),
                    _ => {
                        eprintln!(
                            "--procs wants a list such as 1,2,4 (each 1 to {MAX_PROCS}), got {val:?}"
                        );
                        std::process::exit(2)
                    }
                }
            }
            "--backend" => match val.as_str() {
                "sqlite" => (o.sqlite, o.postgres) = (true, false),
                "postgres" => (o.sqlite, o.postgres) = (false, true),
                "both" => (o.sqlite, o.postgres) = (true, true),
                other => {
                    eprintln!("--backend is sqlite, postgres or both, not {other:?}");
                    std::process::exit(2)
                }
            },
            "--pg-stats" => {
                o.pg_stats = true;
                i += 1;
                continue;
            }
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

// ---------------------------------------------------------------- the feed server

/// What the server serves and what it saw.
struct Feeds {
    bodies: Vec<Bytes>,
    etags: Vec<String>,
    /// Requests per feed (200s and 304s alike).
    hits: Vec<AtomicU32>,
    /// Requests per process (told apart by the user agent `feedwatch-bench/pK`).
    by_proc: [AtomicU64; MAX_PROCS],
    /// Requests for anything but a feed path.
    strays: AtomicU64,
}

impl Feeds {
    fn reset(&self) {
        for h in &self.hits {
            h.store(0, Ordering::SeqCst);
        }
        for p in &self.by_proc {
            p.store(0, Ordering::SeqCst);
        }
        self.strays.store(0, Ordering::SeqCst);
    }
}

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

fn feed_body(i: usize, base: &str, rng: &mut Rng, words: &[String]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Bench feed {i}</title><link>{base}/</link><description>feed {i}</description>\n"
    );
    for j in 0..5 {
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
             <pubDate>Wed, 29 May 2024 1{j}:00:00 GMT</pubDate>\
             <description>{text}.</description></item>"
        );
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn address(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, (n + 1) as u8)
}

/// Binds one listener per address; returns each feed's URL and the served state.
async fn serve(o: &Options) -> std::io::Result<(Vec<String>, Arc<Feeds>)> {
    let mut ports = Vec::new();
    let mut listeners = Vec::new();
    for a in 0..o.addresses {
        let addr = SocketAddr::new(IpAddr::V4(address(a)), 0);
        let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("binding {addr} for the feed server: {e}"))
        })?;
        ports.push(l.local_addr()?.port());
        listeners.push(l);
    }
    let mut rng = Rng(12);
    let words = vocabulary(&mut rng, 5000);
    let mut urls = Vec::with_capacity(o.feeds);
    let mut bodies = Vec::with_capacity(o.feeds);
    let mut etags = Vec::with_capacity(o.feeds);
    for i in 0..o.feeds {
        let a = i % o.addresses;
        let base = format!("http://{}:{}", address(a), ports[a]);
        urls.push(format!("{base}/feed/{i}.xml"));
        bodies.push(Bytes::from(feed_body(i, &base, &mut rng, &words)));
        etags.push(format!("\"f{i}-1\""));
    }
    let feeds = Arc::new(Feeds {
        bodies,
        etags,
        hits: (0..o.feeds).map(|_| AtomicU32::new(0)).collect(),
        by_proc: Default::default(),
        strays: AtomicU64::new(0),
    });
    let app = Router::new().fallback(answer).with_state(feeds.clone());
    for l in listeners {
        let app = app.clone();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    Ok((urls, feeds))
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
        return b.status(304).body(Body::empty()).unwrap_or_default();
    }
    b.status(200)
        .header("content-type", "application/rss+xml")
        .body(Body::from(feeds.bodies[i].clone()))
        .unwrap_or_default()
}

// ---------------------------------------------------------------- the cases

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Outcome {
    backend: Backend,
    procs: usize,
    wall: Duration,
    fetched: usize,
    requests: u64,
    duplicates: u64,
    missed: usize,
    split: Vec<u64>,
    rss_mib: Vec<f64>,
    /// CPU seconds (user + system) each process used.
    cpu_s: Vec<f64>,
    /// CPU seconds the database server used in the case (PostgreSQL: its processes), if known.
    server_cpu_s: Option<f64>,
    exits: Vec<String>,
    failures: Vec<String>,
    /// The backend named was not the one written to (the row's figures are not that backend's).
    not_stored: bool,
}

fn write_config(path: &Path, database: &str, proc: usize, urls: &[String], o: &Options) {
    let mut s = String::new();
    let _ = write!(
        s,
        "# Written by benches/scale_out.rs.\n[daemon]\ndatabase = \"{database}\"\n\
         user_agent = \"feedwatch-bench/p{proc}\"\nmax_concurrent_fetches = {}\n\
         per_host_concurrency = {}\nper_host_rate = 0\nallow_private_addresses = true\n\n\
         [defaults]\ninterval = \"30m\"\nfull_article = false\n",
        o.concurrency, o.per_host
    );
    for (i, url) in urls.iter().enumerate() {
        let _ = write!(s, "\n[[feed]]\nname = \"bench-{i}\"\nurl = \"{url}\"\n");
    }
    if let Err(e) = std::fs::write(path, s) {
        panic!("writing the bench config {}: {e}", path.display());
    }
}

/// Starts `procs` `feedwatch once` on one database at once and waits for them all.
fn run_case(
    backend: Backend,
    procs: usize,
    database: &str,
    dir: &Path,
    urls: &[String],
    feeds: &Feeds,
    o: &Options,
) -> Outcome {
    if let Err(e) = std::fs::create_dir_all(dir) {
        panic!("creating {}: {e}", dir.display());
    }
    let configs: Vec<PathBuf> = (0..procs)
        .map(|k| {
            let path = dir.join(format!("p{k}.toml"));
            write_config(&path, database, k, urls, o);
            path
        })
        .collect();
    feeds.reset();
    let binary = &o.binary;
    let start = Instant::now();
    let mut children = Vec::new();
    for (k, config) in configs.iter().enumerate() {
        let out = std::fs::File::create(dir.join(format!("p{k}.out")));
        let err = std::fs::File::create(dir.join(format!("p{k}.err")));
        let (Ok(out), Ok(err)) = (out, err) else {
            panic!("creating the output files in {}", dir.display());
        };
        // Run in the case's folder: a database value taken as a relative path lands there.
        let child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("once")
            .current_dir(dir)
            .env_remove("FEEDWATCH_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        children.push(child);
    }
    let pids: Vec<i32> = children.iter().map(|c| c.id() as i32).collect();
    let mut exits: Vec<Option<String>> = vec![None; procs];
    let mut rss_mib = vec![0.0; procs];
    let mut cpu_s = vec![0.0; procs];
    let mut killed = false;
    while exits.iter().any(Option::is_none) {
        for (k, pid) in pids.iter().enumerate() {
            if exits[k].is_some() {
                continue;
            }
            let mut status = 0;
            // SAFETY: a plain `rusage` is valid zeroed, and wait4 only writes into it.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: `pid` is our child, not yet reaped (std never waits for it: we do).
            let r = unsafe { libc::wait4(*pid, &mut status, libc::WNOHANG, &mut usage) };
            if r == *pid {
                rss_mib[k] = usage.ru_maxrss as f64 / 1024.0;
                let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
                cpu_s[k] = secs(usage.ru_utime) + secs(usage.ru_stime);
                exits[k] = Some(if libc::WIFEXITED(status) {
                    format!("exit {}", libc::WEXITSTATUS(status))
                } else {
                    format!("signal {}", libc::WTERMSIG(status))
                });
            } else if r < 0 {
                exits[k] = Some(format!("wait4: {}", std::io::Error::last_os_error()));
            }
        }
        if !killed && start.elapsed() > o.timeout {
            for (k, pid) in pids.iter().enumerate() {
                if exits[k].is_none() {
                    // SAFETY: signalling our own unreaped child.
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                }
            }
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let wall = start.elapsed();
    // The children were reaped by wait4 above; std's handles must not wait again.
    drop(children);
    let exits: Vec<String> = exits.into_iter().map(Option::unwrap_or_default).collect();

    let mut fetched = 0;
    let mut requests = 0;
    let mut duplicates = 0;
    let mut missed = 0;
    for h in &feeds.hits {
        let n = h.load(Ordering::SeqCst) as u64;
        requests += n;
        if n == 0 {
            missed += 1;
        } else {
            fetched += 1;
            duplicates += n - 1;
        }
    }
    let mut failures = Vec::new();
    for (k, e) in exits.iter().enumerate() {
        if e != "exit 0" {
            let err = std::fs::read_to_string(dir.join(format!("p{k}.err"))).unwrap_or_default();
            let last = err.lines().rev().find(|l| !l.trim().is_empty());
            failures.push(format!(
                "process {k}: {e}{}",
                last.map(|l| format!(": {l}")).unwrap_or_default()
            ));
        }
    }
    if killed {
        failures.push(format!("killed after the {}s timeout", o.timeout.as_secs()));
    }
    let strays = feeds.strays.load(Ordering::SeqCst);
    if strays > 0 {
        failures.push(format!("{strays} requests for paths that are no feed"));
    }
    Outcome {
        backend,
        procs,
        wall,
        fetched,
        requests,
        duplicates,
        missed,
        split: (0..procs)
            .map(|k| feeds.by_proc[k].load(Ordering::SeqCst))
            .collect(),
        rss_mib,
        cpu_s,
        server_cpu_s: None,
        exits,
        failures,
        not_stored: false,
    }
}

/// CPU seconds the cluster's processes used so far: the postmaster's own and its reaped
/// children's (each connection's server process), from `/proc`.
fn server_cpu(cluster: &postgres::Cluster) -> Option<f64> {
    let pid_file = std::fs::read_to_string(cluster.dir.join("data/postmaster.pid")).ok()?;
    let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 to 17 of stat(5) (utime, stime, cutime, cstime); `fields` starts at field 3.
    let ticks: f64 = fields
        .get(11..15)?
        .iter()
        .filter_map(|f| f.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks / hz as f64)
}

fn print_table(o: &Options, rows: &[Outcome]) {
    println!(
        "\n{} feeds over {} loopback addresses; max_concurrent_fetches {}, per_host_concurrency {}; \
         {} cores",
        o.feeds,
        o.addresses,
        o.concurrency,
        o.per_host,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<10} {:>5} {:>9} {:>8} {:>9} {:>10} {:>7} {:<18} {:<24} {:<24} {:>9} exits",
        "backend",
        "procs",
        "wall s",
        "polls/s",
        "requests",
        "duplicate",
        "missed",
        "split",
        "peak RSS MiB",
        "CPU s",
        "server CPU"
    );
    for r in rows {
        let backend = match (r.backend, r.not_stored) {
            (Backend::Sqlite, false) => "sqlite",
            (Backend::Sqlite, true) => "sqlite!",
            (Backend::Postgres, false) => "postgres",
            (Backend::Postgres, true) => "postgres!",
        };
        let split = r
            .split
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("/");
        let rss = r
            .rss_mib
            .iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join("/");
        let cpu = r
            .cpu_s
            .iter()
            .map(|c| format!("{c:.1}"))
            .collect::<Vec<_>>()
            .join("/");
        let server = r.server_cpu_s.map_or("-".into(), |c| format!("{c:.1}"));
        let secs = r.wall.as_secs_f64();
        println!(
            "{backend:<10} {:>5} {secs:>9.2} {:>8.0} {:>9} {:>10} {:>7} {split:<18} {rss:<24} {cpu:<24} {server:>9} {}",
            r.procs,
            r.fetched as f64 / secs.max(1e-9),
            r.requests,
            r.duplicates,
            r.missed,
            r.exits.join(",")
        );
    }
    for r in rows {
        for f in &r.failures {
            let backend = match r.backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            };
            println!("  {backend} x{}: {f}", r.procs);
        }
    }
    println!(
        "duplicate: requests beyond one per feed (must be 0); missed: feeds never fetched; \
         split: requests per process; polls/s: feeds fetched / wall time; CPU s: user + system \
         seconds per process; server CPU: PostgreSQL's processes in the case"
    );
    if rows.iter().any(|r| r.not_stored) {
        println!("!: the processes did not write to that backend (see above): not its figures");
    }
}

fn main() {
    let o = options();
    let temp;
    let root = match &o.keep {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
            temp.path().to_path_buf()
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a tokio runtime for the feed server: {e}"));
    let (urls, feeds) = match runtime.block_on(serve(&o)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    eprintln!(
        "serving {} feeds on {} addresses; binary {}",
        o.feeds,
        o.addresses,
        o.binary.display()
    );

    let mut rows = Vec::new();
    if o.sqlite {
        for procs in o.procs.clone().unwrap_or(vec![1, 2]) {
            let dir = root.join(format!("sqlite-{procs}"));
            let db = dir.join("feedwatch.db");
            eprintln!("sqlite, {procs} process(es)...");
            let mut row = run_case(
                Backend::Sqlite,
                procs,
                &db.display().to_string(),
                &dir,
                &urls,
                &feeds,
                &o,
            );
            if !db.is_file() {
                row.not_stored = true;
                row.failures.push(format!(
                    "no SQLite database was written at {}",
                    db.display()
                ));
            }
            rows.push(row);
        }
    }
    if o.postgres {
        let mut settings = vec!["synchronous_commit=off", "max_connections=200"];
        if o.pg_stats {
            settings.push("shared_preload_libraries=pg_stat_statements");
        }
        let cluster = postgres::Cluster::start(&settings);
        for procs in o.procs.clone().unwrap_or(vec![1, 2, 4]) {
            let dir = root.join(format!("postgres-{procs}"));
            let db = cluster.create_database();
            eprintln!("postgres, {procs} process(es) on {db}...");
            if o.pg_stats {
                cluster.psql(&db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
                cluster.psql(&db, "SELECT pg_stat_statements_reset()");
            }
            let before = server_cpu(&cluster);
            let mut row = run_case(Backend::Postgres, procs, &db, &dir, &urls, &feeds, &o);
            // The server processes of the case's connections end (and are counted in the
            // postmaster's children's time) a moment after the clients exit.
            std::thread::sleep(Duration::from_millis(500));
            row.server_cpu_s = before.zip(server_cpu(&cluster)).map(|(b, a)| a - b);
            if o.pg_stats {
                println!(
                    "postgres x{procs}: statements by server time (ms total, calls, ms per call, rows):\n{}",
                    cluster.psql(
                        &db,
                        "SELECT round((total_exec_time + total_plan_time)::numeric, 0) || ' ms, ' || calls \
                         || ' calls, ' || round(((total_exec_time + total_plan_time) / calls)::numeric, 3) \
                         || ' ms, ' || rows || ' rows: ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 110) \
                         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                         ORDER BY total_exec_time + total_plan_time DESC LIMIT 12"
                    )
                );
            }
            // A binary without the PostgreSQL backend takes the URL for a file path and
            // "succeeds" on SQLite: say so rather than report SQLite's figures as PostgreSQL's.
            let tables = cluster.psql(
                &db,
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
            );
            if tables == "0" {
                row.not_stored = true;
                row.failures.push(format!(
                    "nothing was written to {db} (no tables): this feedwatch has no PostgreSQL \
                     backend{}",
                    if dir.join("postgres:").exists() {
                        " (it made a SQLite file under postgres:/ in the case's folder)"
                    } else {
                        ""
                    }
                ));
            }
            rows.push(row);
        }
    }
    print_table(&o, &rows);
}
