//! A throw-away PostgreSQL cluster for tests and benchmarks: Debian's `postgresql` package's
//! `initdb` into a temporary folder, `pg_ctl start` on a free loopback port, one cluster per
//! process (started on first use), and a fresh database per [`fresh_database`] call so tests
//! sharing the cluster never see each other's rows.
//!
//! PostgreSQL refuses to run as root, and tests often do (CI does): then the folder is handed to
//! the `postgres` user and every server command runs through `runuser -u postgres --`. As any
//! other user the commands run as that user.
//!
//! Cleanup: a static is never dropped, so the cluster is stopped by a watchdog, a small shell
//! started beside it in its own process group (a Ctrl-C to the test does not reach it). The
//! watchdog blocks reading a pipe whose only writer is this process; when this process ends in
//! any way (tests passed, a test failed, a panic, `kill -9`), the kernel closes the pipe, the
//! read returns, and the watchdog runs `pg_ctl stop -m immediate` and deletes the folder.
//!
//! This file is shared: the tests declare it from `tests/support/mod.rs`, and
//! `benches/scale_out.rs` includes it with `#[path]`, so it depends on nothing but std.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Settings for test clusters: durability is not wanted, speed is.
pub const TEST_SETTINGS: &[&str] = &[
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
];

/// A running cluster. Its data and socket live in `dir`; it listens on 127.0.0.1:`port` and
/// trusts every local connection (user `postgres`, no password).
pub struct Cluster {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    /// The server options it was started with, to start it again after [`Cluster::stop`].
    options: String,
    /// The watchdog, its stdin pipe held open for the life of the process (see the module doc).
    _watchdog: Child,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The process's cluster, started (with [`TEST_SETTINGS`]) on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::start(TEST_SETTINGS))
}

/// A new, empty database on the process's cluster; its `postgres://` URL.
pub fn fresh_database() -> String {
    cluster().create_database()
}

impl Cluster {
    /// Starts a new cluster with these extra `-c` settings (`name=value`). Panics, saying what
    /// to do, when PostgreSQL is not installed or does not start.
    pub fn start(settings: &[&str]) -> Cluster {
        let bin = bin_dir();
        let as_root = is_root();
        let dir = make_dir();
        if as_root {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .output()
                .expect("running chown");
            assert!(
                out.status.success(),
                "chown postgres {} failed (is there a `postgres` user? Debian's postgresql \
                 package creates it): {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let data = dir.join("data");
        let out = server_command(as_root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C"])
            .output()
            .expect("running initdb");
        check(&out, "initdb", &dir);

        // A port free now; another process may take it before the server binds, so retry.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_loopback_port();
            let mut options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                dir.display()
            );
            for s in settings {
                options.push_str(" -c ");
                options.push_str(s);
            }
            let out = server_command(as_root, &bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-o", &options, "-w", "-t", "60", "start"])
                .stdin(Stdio::null())
                .output()
                .expect("running pg_ctl start");
            if out.status.success() {
                let watchdog = watchdog(as_root, &bin, &dir);
                return Cluster {
                    port,
                    dir,
                    bin,
                    options,
                    _watchdog: watchdog,
                };
            }
            last = format!(
                "{}{}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("PostgreSQL did not start (5 ports tried): {last}");
    }

    /// Stops the server (fast shutdown: connections are cut), as an outage would.
    pub fn stop(&self) {
        let out = server_command(is_root(), &self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdin(Stdio::null())
            .output()
            .expect("running pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server again after [`Cluster::stop`], on the same port with the same data.
    pub fn start_again(&self) {
        let out = server_command(is_root(), &self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &self.options, "-w", "-t", "60", "start"])
            .stdin(Stdio::null())
            .output()
            .expect("running pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a database with a name unused in this cluster; returns its URL.
    pub fn create_database(&self) -> String {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let name = format!("feedwatch_{}_{n}", std::process::id());
        self.psql(&self.url("postgres"), &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs SQL through `psql` (stops at the first error); returns its unaligned, tuples-only
    /// output. Panics with psql's message when it fails.
    pub fn psql(&self, url: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "psql {url} -c {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// The binaries of the newest PostgreSQL installed (`/usr/lib/postgresql/VERSION/bin`), or
/// `$FEEDWATCH_PG_BIN` when set.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FEEDWATCH_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("initdb").is_file(),
            "FEEDWATCH_PG_BIN is {}, which holds no initdb: point it at PostgreSQL's bin folder, \
             or unset it to use Debian's postgresql package",
            dir.display()
        );
        return dir;
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut best: Option<(u32, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let Some(version) = e.file_name().to_str().and_then(|v| v.parse::<u32>().ok()) else {
                continue;
            };
            let bin = e.path().join("bin");
            if bin.join("initdb").is_file() && best.as_ref().is_none_or(|(v, _)| version > *v) {
                best = Some((version, bin));
            }
        }
    }
    match best {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server found (no /usr/lib/postgresql/*/bin/initdb): these tests run \
             a real PostgreSQL; install Debian's package with `apt-get install -y postgresql` \
             (or point FEEDWATCH_PG_BIN at a folder holding initdb, pg_ctl and psql)"
        ),
    }
}

/// Whether this process runs as root (then the server must run as `postgres`).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A new empty folder under the temporary directory, its path short enough for a Unix socket.
fn make_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for _ in 0..100 {
        let dir = std::env::temp_dir().join(format!(
            "feedwatch-pg-{}-{}-{nanos:x}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        if std::fs::create_dir(&dir).is_ok() {
            return dir;
        }
    }
    panic!(
        "could not create a folder for PostgreSQL under {}",
        std::env::temp_dir().display()
    );
}

/// A command for a server binary: as `postgres` through runuser when we are root.
fn server_command(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn check(out: &Output, what: &str, dir: &Path) {
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(dir);
        panic!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A loopback port nobody listens on now (the kernel's choice).
fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// Starts the watchdog (see the module doc); its stdin is the pipe that must stay open.
fn watchdog(as_root: bool, bin: &Path, dir: &Path) -> Child {
    let run_as = if as_root {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "read _ignored; {run_as}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; \
         rm -rf '{dir}'",
        pg_ctl = bin.join("pg_ctl").display(),
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    Command::new("/bin/sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("starting the PostgreSQL watchdog shell")
}
