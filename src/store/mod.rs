//! Storage: feeds' state, items, stories, their fingerprints, topic matches and the outbox, in
//! one SQLite file (the embedded default) or one PostgreSQL database shared by several processes.
//!
//! One boundary, two backends: the rest of the program calls [`Store`] and never sees a
//! connection or a statement. Every SQL statement of the program lives in this folder (one file
//! per entity: `feeds`, `items`, `stories`, `fingerprints`, `outbox`; the schema in
//! `migrations/<backend>/`), written once in the SQL both engines speak (`db`). The backends
//! (`sqlite`, `postgres`) open connections, apply migrations and provide the three ways a call
//! runs: a single statement, a transaction, and a *serial* transaction that no other process's
//! serial transaction overlaps (SQLite's write lock; a PostgreSQL advisory lock), used to store a
//! story so two processes never file one story twice.
//!
//! Work shared between processes is leased: a feed is polled, and an alert sent, by the one
//! process holding its lease (`owner` + expiry); a process that dies holds its leases only until
//! they expire.

mod db;
mod feeds;
mod fingerprints;
mod gather;
mod ingest_log;
mod items;
mod migrations;
mod outbox;
mod postgres;
mod sqlite;
mod stories;
mod views;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

pub use feeds::{Claim, ClaimMode, FeedState, PollOutcome, PollRecord};
pub use items::{Ingested, Known, KnownQuery, NewItem, Revision, Stored, StoredCopy, TopicHit};
pub use outbox::{NotifierStats, OutboxRow};
pub use stories::{Copy, StoryDoc, StoryRow};
pub use views::{
    AlertFilter, DeliveryAttempt, OutboxCounts, PollPoint, StoryCursor, StoryDetail, StoryFilter,
    StoryItem, StoryListing, StoryPage, TopicMatch,
};

use db::Db;
use fingerprints::Bands;

/// Where the data lives, as `[daemon] database` says.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created with its folder when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL database shared by any number of feedwatch processes.
    Postgres(PostgresTarget),
}

/// A PostgreSQL database to connect to. The password is kept apart from the URL so that the
/// URL can be shown in logs and errors.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresTarget {
    /// The URL without its password.
    pub url: String,
    /// From the URL (for local use) or from `database_password_file`.
    pub password: Option<String>,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: configs are printed in debug logs.
        f.debug_struct("PostgresTarget")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Database::Postgres(t) => f.debug_tuple("Postgres").field(t).finish(),
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            Database::Postgres(t) => f.write_str(&t.url),
        }
    }
}

impl Database {
    /// Reads `[daemon] database`: a `postgres://` or `postgresql://` URL, or a SQLite path. Any
    /// other URL scheme is an error (it would otherwise become a folder named after the scheme).
    /// `password_file` holds the PostgreSQL password; it is read here, when given.
    pub fn parse(value: &str, password_file: Option<&std::path::Path>) -> Result<Database, String> {
        match value.split_once("://") {
            Some((scheme, _))
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                postgres::parse_target(value, password_file).map(Database::Postgres)
            }
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                Err(format!(
                    "\"{scheme}://\" is not a database feedwatch knows; give a SQLite file path (e.g. \"/var/lib/feedwatch/feedwatch.db\") or a postgres:// URL"
                ))
            }
            _ => {
                if password_file.is_some() {
                    return Err(
                        "database_password_file is for a postgres:// database; a SQLite file has no password".into(),
                    );
                }
                Ok(Database::Sqlite(PathBuf::from(value)))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", chain(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error(
        "cannot open the database {path}: {source}; check the path and that its directory is writable"
    )]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("the database {0}")]
    Unavailable(String),
    #[error(
        "the database is at schema version {found}, newer than this feedwatch knows ({known}); upgrade feedwatch"
    )]
    TooNew { found: i64, known: i64 },
    #[error("a stored alert could not be read: {0}")]
    BadPayload(#[from] serde_json::Error),
    #[error("a stored value could not be read: {0}")]
    Column(String),
    #[error("no {0}")]
    NotFound(String),
    /// A batch written before the lock missed a story another process stored meanwhile: it
    /// is rolled back and written again under the lock (never shown to a user).
    #[error("another process stored a story this batch would have joined; storing it again")]
    Conflict,
}

impl StoreError {
    /// Whether the database could not be reached at all (PostgreSQL down or unreachable), as
    /// opposed to a statement failing: the daemon waits for it to come back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Postgres(e) => e.is_closed() || e.code().is_none(),
            _ => false,
        }
    }
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An error with its causes ("db error: FATAL: terminating connection due to administrator
/// command"): the client's own message alone says too little to act on.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The database. Cheap to clone; clones share the connections and the band index.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    /// The band keys of the stories inside the near-duplicate window, loaded at the first
    /// ingest or lookup (CLI commands that only read never pay for it). Locked inside a serial
    /// transaction, so it is brought up to date with other processes' stories under the lock.
    bands: Arc<Mutex<Option<Bands>>>,
    /// This process's name on the leases it takes ("host:pid:tag"), shown by `feedwatch feeds`.
    owner: Arc<str>,
    /// Polls waiting to store their items: those that wait together are stored together.
    ingest_queue: Arc<items::IngestQueue>,
    /// Polls waiting for their record to be written: those that wait together are written
    /// in one statement.
    poll_queue: Arc<feeds::PollQueue>,
}

enum Backend {
    Sqlite(Box<sqlite::Sqlite>),
    Postgres(Box<postgres::Pool>),
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(database: &Database) -> Result<Store> {
        let backend = match database {
            Database::Sqlite(path) => Backend::Sqlite(Box::new(sqlite::Sqlite::open(path)?)),
            Database::Postgres(target) => {
                Backend::Postgres(Box::new(postgres::Pool::open(target)?))
            }
        };
        Ok(Store::with_backend(backend))
    }

    /// Opens a SQLite file (tests, tools).
    pub fn open_path(path: &std::path::Path) -> Result<Store> {
        Store::open(&Database::Sqlite(path.to_path_buf()))
    }

    /// An in-memory SQLite database, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        Ok(Store::with_backend(Backend::Sqlite(Box::new(
            sqlite::Sqlite::open_in_memory()?,
        ))))
    }

    fn with_backend(backend: Backend) -> Store {
        Store {
            backend: Arc::new(backend),
            bands: Arc::new(Mutex::new(None)),
            owner: owner_name().into(),
            ingest_queue: Arc::default(),
            poll_queue: Arc::default(),
        }
    }

    /// The name this process's leases carry.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The schema version applied.
    pub fn schema_version(&self) -> Result<i64> {
        match &*self.backend {
            Backend::Sqlite(s) => s.with(sqlite::schema_version),
            Backend::Postgres(p) => p.with(postgres::schema_version),
        }
    }

    /// Whether the database answers; the reason when it does not.
    pub fn ping(&self) -> Result<()> {
        self.schema_version().map(|_| ())
    }

    /// Which engine the store talks to, for the few statements the two write differently.
    fn dialect(&self) -> db::Dialect {
        match &*self.backend {
            Backend::Sqlite(_) => db::Dialect::Sqlite,
            Backend::Postgres(_) => db::Dialect::Postgres,
        }
    }

    /// Runs `f` on a handle outside any explicit transaction (each statement commits alone).
    fn with<T: Send>(&self, f: impl FnOnce(&mut Db) -> Result<T> + Send) -> Result<T> {
        match &*self.backend {
            Backend::Sqlite(s) => s.with(f),
            Backend::Postgres(p) => p.with(f),
        }
    }

    /// Runs `f`, which only reads committed data, beside the writer: on SQLite on a
    /// connection of its own, so it does not wait for a transaction in progress.
    fn read<T: Send>(&self, f: impl FnOnce(&mut Db) -> Result<T> + Send) -> Result<T> {
        match &*self.backend {
            Backend::Sqlite(s) => s.read(f),
            Backend::Postgres(p) => p.with(f),
        }
    }

    /// Runs `f` in one transaction: all of it or none. On SQLite the write lock is taken at
    /// the start, so what `f` reads is what it writes over.
    fn tx<T: Send>(&self, f: impl FnOnce(&mut Db) -> Result<T> + Send) -> Result<T> {
        match &*self.backend {
            Backend::Sqlite(s) => s.tx(f),
            Backend::Postgres(p) => p.tx(false, f),
        }
    }

    /// Runs `f` in one transaction that no other process's serial transaction overlaps: for
    /// storing stories, so two processes never both find "no such story" and both file it.
    fn serial<T: Send>(&self, f: impl FnOnce(&mut Db) -> Result<T> + Send) -> Result<T> {
        match &*self.backend {
            Backend::Sqlite(s) => s.tx(f),
            Backend::Postgres(p) => p.tx(true, f),
        }
    }

    fn bands(&self) -> MutexGuard<'_, Option<Bands>> {
        self.bands.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// "host:pid:tag": enough for a person to find the process holding a lease, and unique even
/// when a pid is reused after a restart.
fn owner_name() -> String {
    let host = host_name();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}:{}:{:04x}", std::process::id(), nanos & 0xffff)
}

/// This machine's name, as leases carry it.
fn host_name() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .trim()
        .to_string();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// Runs blocking database work from anywhere: on a tokio worker it tells the runtime first (so
/// other tasks move to another thread, and the PostgreSQL client may run its own small runtime
/// inside); on a single-threaded runtime it runs on a thread of its own; elsewhere, directly.
fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}

/// When a lease taken at `now` (unix seconds) for `lease` runs out: at least a second on.
fn lease_until(now: i64, lease: std::time::Duration) -> i64 {
    now.saturating_add(
        i64::try_from(lease.as_secs())
            .unwrap_or(i64::MAX / 2)
            .max(1),
    )
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Who holds a feed (or an alert) and until when: shown by `feedwatch feeds` and in the
/// reason `once --feed` gives for not polling.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Lease {
    /// The holding process, "host:pid:tag".
    pub owner: String,
    /// Unix seconds; after this the lease is free for any process.
    pub until: i64,
}

#[cfg(test)]
mod tests;
