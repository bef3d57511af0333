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
//! (its own memory high-water mark, `VmHWM`, read while it runs) and CPU time, the database
//! server's CPU time, the feed server's (this bench's threads), the cores all of them kept busy (their CPU seconds over the wall
//! time: at the machine's core count the case is CPU-bound, and more processes cannot go
//! faster), and each process's exit status.
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
//! statements PostgreSQL spent most time on in each case, from pg_stat_statements, nested ones
//! too: foreign-key checks and what triggers run, whose time is also in their statement's).

#[path = "support/feed_server.rs"]
mod feed_server;
#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use feed_server::{Feeds, MAX_PROCS};

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
    /// CPU seconds this bench's own threads used in the case: its feed server.
    feed_server_cpu_s: f64,
    exits: Vec<String>,
    failures: Vec<String>,
    /// The backend named was not the one written to (the row's figures are not that backend's).
    not_stored: bool,
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
            feed_server::write_config(&path, database, k, urls, o.concurrency, o.per_host);
            path
        })
        .collect();
    feeds.reset();
    let binary = &o.binary;
    let own_before = own_cpu_s();
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
    let mut peaks = vec![0u64; procs];
    let mut killed = false;
    while exits.iter().any(Option::is_none) {
        for (k, pid) in pids.iter().enumerate() {
            if exits[k].is_some() {
                continue;
            }
            if let Some(ended) = feed_server::reap(*pid, &mut peaks[k]) {
                rss_mib[k] = ended.rss_mib;
                cpu_s[k] = ended.cpu_s;
                exits[k] = Some(ended.status);
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
    let feed_server_cpu_s = own_cpu_s() - own_before;
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
        feed_server_cpu_s,
        exits,
        failures,
        not_stored: false,
    }
}

/// CPU seconds (user + system) this process's threads used so far.
fn own_cpu_s() -> f64 {
    // SAFETY: getrusage writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
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
        "{:<10} {:>5} {:>9} {:>8} {:>9} {:>10} {:>7} {:<18} {:<24} {:<24} {:>9} {:>6} {:>5} exits",
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
        "server CPU",
        "feeds",
        "cores"
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
        let cores =
            (r.cpu_s.iter().sum::<f64>() + r.server_cpu_s.unwrap_or(0.0) + r.feed_server_cpu_s)
                / secs.max(1e-9);
        println!(
            "{backend:<10} {:>5} {secs:>9.2} {:>8.0} {:>9} {:>10} {:>7} {split:<18} {rss:<24} {cpu:<24} {server:>9} {:>6.1} {cores:>5.2} {}",
            r.procs,
            r.fetched as f64 / secs.max(1e-9),
            r.requests,
            r.duplicates,
            r.missed,
            r.feed_server_cpu_s,
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
         seconds per process; server CPU: PostgreSQL's processes in the case; feeds: CPU s of \
         the bench's feed server; cores: all of those CPU seconds over the wall time (the cores \
         the case kept busy, of those the machine has)"
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
    let (urls, feeds) = match runtime.block_on(feed_server::serve(o.feeds, 5, o.addresses)) {
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
            // Statements run inside others (triggers, foreign-key checks) count as their own.
            settings.push("pg_stat_statements.track=all");
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
