//! The SQLite backend: one file, one connection per process, WAL so readers do not wait for the
//! writer, and SQLite's write lock as the lock that serialises storing stories across processes.
//!
//! Owns opening the file, its pragmas and its migrations (`migrations/sqlite/`, the version in
//! `PRAGMA user_version`). Hands the entity files a [`Db`] over the connection.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use super::db::Db;
use super::migrations::SQLITE;
use super::{Result, StoreError};

pub struct Sqlite {
    /// The one connection, used one call at a time.
    conn: Mutex<Connection>,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::setup(conn)
    }

    pub fn open_in_memory() -> Result<Sqlite> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Sqlite> {
        // First, so that the steps below wait for another process opening the same file (the
        // daemon starting while a CLI command runs) instead of failing at once.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // WAL lets the CLI read while the daemon writes; NORMAL sync is safe with WAL (a crash
        // can lose the last transaction, never corrupt the file).
        retry_busy(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 16 MiB of page cache (the default is 2 MiB): the B-tree pages a lookup and an ingest
        // touch stay in memory instead of being re-read per lookup. 64 MiB was a third of the
        // peak RSS of a 10,000-feed pass and no faster (the file's pages stay in the OS's cache).
        conn.pragma_update(None, "cache_size", -16384)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Room for every statement of the ingest path at once (rusqlite keeps 16): a statement
        // pushed out is prepared again for each story.
        conn.set_prepared_statement_cache_capacity(96);
        retry_busy(|| migrate(&mut conn))?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let conn = self.conn();
        f(&mut Db::Sqlite(&conn))
    }

    /// A write transaction, the write lock taken at its start (`BEGIN IMMEDIATE`): two
    /// processes never interleave inside one, which is what the serial transaction needs.
    pub fn tx<T>(&self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let mut conn = self.conn();
        // Waits up to the busy timeout for another process's write to end.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&mut Db::Sqlite(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}

pub fn schema_version(db: &mut Db) -> Result<i64> {
    db.query_one("PRAGMA user_version", &[], |r| r.get(0))
}

/// Runs `step` again while SQLite answers "busy", for up to 10 s. The busy timeout does not
/// cover every case: a connection that holds a read lock and wants the write lock another one
/// is waiting for gets "busy" at once (SQLite's deadlock avoidance), which happens when several
/// processes open a new database together and each switches it to WAL.
fn retry_busy<T, E: BusyError>(
    mut step: impl FnMut() -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match step() {
            Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Errors that can say whether SQLite was busy.
trait BusyError {
    fn is_busy(&self) -> bool;
}

impl BusyError for rusqlite::Error {
    fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

impl BusyError for StoreError {
    fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => e.is_busy(),
            _ => false,
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // One write transaction, taken before the version is read: two processes opening a new
    // database at once must not both apply the same migration (the loser would fail on
    // "table already exists"); the second waits, then finds nothing left to do.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = SQLITE.len() as i64;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, (_name, sql)) in SQLITE.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}
