//! The PostgreSQL backend: one database shared by any number of feedwatch processes.
//!
//! Owns reading the `postgres://` URL, a small pool of connections (each keeping the statements
//! it prepared), the migrations (`migrations/postgres/`, the version in `feedwatch_schema`) and
//! the advisory lock that serialises storing stories across processes. Connections are opened
//! lazily: a daemon started while PostgreSQL is down runs, says so, and works once it is back.
//!
//! The client is the synchronous `postgres` crate (the tokio-postgres family): the store's API is
//! synchronous, as rusqlite's is, so one set of entity functions serves both backends. Calls made
//! from async code are handed to [`super::blocking`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::db::{Db, PgConn};
use super::migrations::POSTGRES;
use super::{PostgresTarget, Result, StoreError, blocking};

/// The advisory lock key of serial transactions (storing stories, making digests).
const SERIAL_LOCK: i64 = 0x6665_6564_7374; // "feedst"
/// The advisory lock key of migrations.
const MIGRATION_LOCK: i64 = 0x6665_6564_6d67; // "feedmg"
/// Connections one process keeps at most: enough for the polls and the notify worker, few
/// enough that many processes fit in PostgreSQL's default of 100.
const MAX_CONNECTIONS: usize = 8;

/// Reads a `postgres://user[:password]@host[:port]/dbname[?sslmode=…]` URL; the password may
/// instead come from `password_file` (the first line).
pub fn parse_target(value: &str, password_file: Option<&Path>) -> Result<PostgresTarget, String> {
    let url = url::Url::parse(value)
        .map_err(|e| format!("not a valid postgres:// URL ({e}); e.g. \"postgres://feedwatch@127.0.0.1:5432/feedwatch\""))?;
    let host_param = url
        .query_pairs()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.to_string());
    if url.host_str().is_none_or(str::is_empty) && host_param.is_none() {
        return Err("the postgres:// URL names no host; e.g. \"postgres://feedwatch@127.0.0.1:5432/feedwatch\"".into());
    }
    if url.path().trim_start_matches('/').is_empty() {
        return Err(
            "the postgres:// URL names no database; add it as the path, e.g. \".../feedwatch\""
                .into(),
        );
    }
    for (k, v) in url.query_pairs() {
        match (&*k, &*v) {
            ("sslmode", "disable" | "prefer" | "allow")
            | ("host" | "application_name" | "connect_timeout", _) => {}
            ("sslmode", other) => {
                return Err(format!(
                    "sslmode={other} needs TLS, which this feedwatch does not speak to PostgreSQL yet; connect over loopback, a Unix socket (?host=/run/postgresql) or a private network with sslmode=disable"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "unknown parameter \"{other}\" in the postgres:// URL; feedwatch reads sslmode, host, application_name and connect_timeout"
                ));
            }
        }
    }
    let from_url = url.password().map(percent_decode).filter(|p| !p.is_empty());
    let password = match (password_file, from_url) {
        (Some(_), Some(_)) => {
            return Err("the password is given twice, in the URL and in database_password_file; keep one (the file is safer: the config is often world-readable)".into());
        }
        (Some(file), None) => {
            let text = crate::secret_file::read_to_string(file).map_err(|e| {
                format!(
                    "database_password_file {} cannot be read ({e}); check the path and its permissions",
                    file.display()
                )
            })?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        (None, p) => p,
    };
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    Ok(PostgresTarget {
        url: shown.to_string(),
        password,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client configuration for a target.
fn client_config(target: &PostgresTarget) -> Result<postgres::Config, String> {
    let url = url::Url::parse(&target.url).map_err(|e| e.to_string())?;
    let mut c = postgres::Config::new();
    if let Some(h) = url.host_str().filter(|h| !h.is_empty()) {
        c.host(h.trim_start_matches('[').trim_end_matches(']'));
    }
    c.port(url.port().unwrap_or(5432));
    let user = percent_decode(url.username());
    c.user(if user.is_empty() { "feedwatch" } else { &user });
    c.dbname(&percent_decode(url.path().trim_start_matches('/')));
    c.application_name("feedwatch");
    c.connect_timeout(Duration::from_secs(10));
    for (k, v) in url.query_pairs() {
        match &*k {
            "host" => {
                c.host(&v);
            }
            "application_name" => {
                c.application_name(&v);
            }
            "connect_timeout" => {
                if let Ok(s) = v.parse::<u64>() {
                    c.connect_timeout(Duration::from_secs(s));
                }
            }
            _ => {}
        }
    }
    if let Some(p) = &target.password {
        c.password(p);
    }
    Ok(c)
}

/// A few connections to one database, opened when first needed and reopened after a failure.
pub struct Pool {
    config: postgres::Config,
    /// The URL without its password, for messages.
    shown: String,
    idle: Mutex<Vec<PgConn>>,
    /// Connections checked out or being opened; waits on `freed` at [`MAX_CONNECTIONS`].
    busy: Mutex<usize>,
    freed: Condvar,
    /// Set once this process has brought the schema up to date.
    migrated: AtomicBool,
    /// Held through each serial transaction of this process: its polls take the advisory
    /// lock one at a time, so at most one of its connections waits on it while the others
    /// go on claiming feeds and recording polls.
    serial_gate: Mutex<()>,
}

impl Pool {
    pub fn open(target: &PostgresTarget) -> Result<Pool> {
        let config = client_config(target).map_err(StoreError::Unavailable)?;
        Ok(Pool {
            config,
            shown: target.url.clone(),
            idle: Mutex::new(Vec::new()),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            migrated: AtomicBool::new(false),
            serial_gate: Mutex::new(()),
        })
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn checkout(&self) -> Result<Checked<'_>> {
        let mut busy = Self::lock(&self.busy);
        while *busy >= MAX_CONNECTIONS {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        drop(busy);
        let mut checked = Checked {
            pool: self,
            conn: None,
            in_tx: false,
        };
        let idle = Self::lock(&self.idle).pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
        checked.conn = Some(conn);
        Ok(checked)
    }

    fn connect(&self) -> Result<PgConn> {
        let mut client = self.config.connect(postgres::NoTls).map_err(|e| {
            StoreError::Unavailable(format!(
                "{} cannot be reached ({}); check that PostgreSQL is running and the URL, user and password are right",
                self.shown,
                super::chain(&e)
            ))
        })?;
        if !self.migrated.load(Ordering::Acquire) {
            migrate(&mut client)?;
            self.migrated.store(true, Ordering::Release);
        }
        Ok(PgConn {
            client,
            statements: HashMap::new(),
        })
    }

    pub fn with<T: Send>(&self, f: impl FnOnce(&mut Db) -> Result<T> + Send) -> Result<T> {
        blocking(|| {
            let mut checked = self.checkout()?;
            let conn = checked.conn()?;
            let PgConn { client, statements } = conn;
            let mut db = Db::Postgres { client, statements };
            f(&mut db)
        })
    }

    /// A transaction; `serial` takes the advisory lock first, so serial transactions of every
    /// process run one at a time. `BEGIN` and the lock go in one message (one round trip to the
    /// server, where the client's own transaction type would take two).
    pub fn tx<T: Send>(
        &self,
        serial: bool,
        f: impl FnOnce(&mut Db) -> Result<T> + Send,
    ) -> Result<T> {
        blocking(|| {
            let _gate = serial.then(|| Self::lock(&self.serial_gate));
            let mut checked = self.checkout()?;
            // Until COMMIT or ROLLBACK has gone through, the connection is mid-transaction: if
            // anything panics or fails before, it is closed rather than pooled.
            checked.in_tx = true;
            let conn = checked.conn()?;
            let PgConn { client, statements } = conn;
            if serial {
                client.batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({SERIAL_LOCK})"
                ))?;
            } else {
                client.batch_execute("BEGIN")?;
            }
            let out = f(&mut Db::Postgres { client, statements });
            let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = client.batch_execute(end);
            if ended.is_ok() {
                checked.in_tx = false;
            }
            let out = out?;
            ended?;
            Ok(out)
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A client closes its connection by blocking on its own small runtime, which must not
        // happen on a thread that drives async tasks (the store is often dropped inside one):
        // the connections are closed on a thread of their own.
        let conns = std::mem::take(&mut *Self::lock(&self.idle));
        if !conns.is_empty() {
            let _ = std::thread::spawn(move || drop(conns)).join();
        }
    }
}

/// A checked-out connection, returned to the pool on drop unless it broke.
struct Checked<'p> {
    pool: &'p Pool,
    conn: Option<PgConn>,
    /// Set while a transaction is open on the connection: one left open is not pooled.
    in_tx: bool,
}

impl Checked<'_> {
    fn conn(&mut self) -> Result<&mut PgConn> {
        self.conn.as_mut().ok_or_else(|| {
            StoreError::Unavailable(format!("{} has no connection", self.pool.shown))
        })
    }
}

impl Drop for Checked<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && !c.client.is_closed()
            && !self.in_tx
        {
            Pool::lock(&self.pool.idle).push(c);
        }
        let mut busy = Pool::lock(&self.pool.busy);
        *busy = busy.saturating_sub(1);
        self.pool.freed.notify_one();
    }
}

pub fn schema_version(db: &mut Db) -> Result<i64> {
    db.query_one(
        "SELECT COALESCE(MAX(version), 0) FROM feedwatch_schema",
        &[],
        |r| r.get(0),
    )
}

/// Takes, inside a transaction begun without it, the advisory lock serial transactions take
/// at their start: held until the transaction ends.
pub fn take_serial_lock(db: &mut super::db::Db) -> Result<()> {
    db.execute(
        "SELECT pg_advisory_xact_lock($1)",
        super::db::args![SERIAL_LOCK],
    )?;
    Ok(())
}

/// Takes that lock inside a transaction if no one holds it; whether it did.
pub fn try_serial_lock(db: &mut super::db::Db) -> Result<bool> {
    let got: bool = db.query_one(
        "SELECT pg_try_advisory_xact_lock($1)",
        super::db::args![SERIAL_LOCK],
        |r| Ok(r.get::<i64>(0)? != 0),
    )?;
    Ok(got)
}

/// Applies the migrations not applied yet, under an advisory lock so processes starting
/// together apply each once.
fn migrate(client: &mut postgres::Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS feedwatch_schema (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM feedwatch_schema",
            &[],
        )?
        .get(0);
    let known = POSTGRES.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, (name, sql)) in POSTGRES.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO feedwatch_schema (version, name) VALUES ($1, $2)",
            &[&(i as i64 + 1), name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_password_is_kept_apart_from_the_url_shown() {
        let t = parse_target("postgres://fw:s%40cret@127.0.0.1:5433/news", None).unwrap();
        assert_eq!(t.password.as_deref(), Some("s@cret"));
        assert!(!t.url.contains("cret"), "{}", t.url);
        assert!(t.url.contains("127.0.0.1:5433/news"));
    }

    #[test]
    fn the_password_file_gives_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "hunter2\n").unwrap();
        let t = parse_target("postgresql://fw@db.internal/news?sslmode=disable", Some(&f)).unwrap();
        assert_eq!(t.password.as_deref(), Some("hunter2"));
        let missing = parse_target("postgres://fw@h/news", Some(&dir.path().join("nope")));
        assert!(missing.unwrap_err().contains("cannot be read"));
    }

    #[test]
    fn urls_feedwatch_cannot_use_are_refused_with_the_fix() {
        assert!(
            parse_target("postgres://fw@h/", None)
                .unwrap_err()
                .contains("no database")
        );
        assert!(
            parse_target("postgres://fw@h/db?sslmode=require", None)
                .unwrap_err()
                .contains("sslmode=disable")
        );
        assert!(
            parse_target("postgres://fw@h/db?pool=3", None)
                .unwrap_err()
                .contains("unknown parameter")
        );
    }
}
