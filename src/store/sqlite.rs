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
    /// The connection that writes (and reads what no other connection may answer), used one
    /// call at a time.
    conn: Mutex<Connection>,
    /// A second connection for the reads polls make while the writer is inside a transaction
    /// (WAL lets a reader go on beside the writer): without it, a poll looking up its items
    /// waits for a whole batch of other polls' items to be stored, holding an async worker
    /// thread meanwhile. `None` for an in-memory database, which a second connection cannot see.
    reader: Option<Mutex<Connection>>,
    /// Copies committed pages from the WAL into the database file on a thread of its own,
    /// so the writer does not stop to do it (it was a quarter of the time spent storing a
    /// pass's items) and the WAL stays small. `None` for an in-memory database. Dropped
    /// last, after the other connections: its own is then the last to close, which copies
    /// what is left of the WAL into the file and removes it.
    #[allow(dead_code)]
    checkpointer: Option<Checkpointer>,
}

/// WAL frames after which a commit asks the checkpointer to copy them into the file (SQLite's
/// own default for its automatic checkpoint).
const CHECKPOINT_FRAMES: i32 = 1000;
/// WAL frames after which the writer checkpoints itself. The WAL starts again from its
/// beginning only when a transaction begins with every frame copied; under writes that never
/// pause, the checkpointer is always a few transactions behind and the WAL would grow without
/// bound. The writer then copies what is left (little: the checkpointer copied the rest), so
/// its next transaction starts the WAL again.
const CHECKPOINT_FRAMES_WRITER: i32 = 4 * CHECKPOINT_FRAMES;

/// A thread with its own connection that runs a passive checkpoint each time a commit leaves
/// enough frames in the WAL. Passive: it never waits for the writer or a reader, and copies
/// what it can; the next request copies the rest.
struct Checkpointer {
    /// Asks for a checkpoint (`false`), or for the thread to end (`true`).
    wake: std::sync::mpsc::SyncSender<bool>,
    /// Held while a checkpoint runs, by the thread or by the writer: SQLite answers "busy" at
    /// once to a second checkpoint, and the writer's must not be lost that way.
    running: std::sync::Arc<Mutex<()>>,
    /// Joined when the store is dropped, so that its connection is closed before the process
    /// ends: the last connection to close copies the WAL into the file and removes it.
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take()
            && self.wake.send(true).is_ok()
        {
            let _ = t.join();
        }
    }
}

impl Checkpointer {
    fn start(conn: Connection) -> Checkpointer {
        // One request waiting is enough: it copies everything committed by the time it runs.
        let (wake, woken) = std::sync::mpsc::sync_channel::<bool>(1);
        let running = std::sync::Arc::new(Mutex::new(()));
        let spawned = {
            let running = running.clone();
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || {
                    while let Ok(false) = woken.recv() {
                        let _running = running.lock().unwrap_or_else(|p| p.into_inner());
                        if let Err(e) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            tracing::debug!("checkpoint: {e}");
                        }
                    }
                })
        };
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                // The writer's own checkpoint (above CHECKPOINT_FRAMES_WRITER) still bounds
                // the WAL.
                tracing::warn!("could not start the checkpoint thread: {e}");
                None
            }
        };
        Checkpointer {
            wake,
            running,
            thread,
        }
    }

    /// Has the writer's commits ask for checkpoints, in place of SQLite's automatic
    /// checkpoint (which the committing thread runs itself).
    fn attach(&self, writer: &mut Connection) -> Result<()> {
        let wake = self.wake.clone();
        let running = self.running.clone();
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames: i32| {
            if frames >= CHECKPOINT_FRAMES_WRITER {
                let _running = running.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = wal.checkpoint() {
                    tracing::debug!("checkpoint: {e}");
                }
            } else if frames >= CHECKPOINT_FRAMES {
                let _ = wake.try_send(false);
            }
            Ok(())
        }))?;
        Ok(())
    }
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let open = || {
            Connection::open(path).map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })
        };
        let mut store = Self::setup(open()?)?;
        store.reader = Some(Mutex::new(Self::reading_connection(open()?)?));
        let checkpointer = Checkpointer::start({
            let conn = open()?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn
        });
        checkpointer.attach(&mut store.conn())?;
        store.checkpointer = Some(checkpointer);
        Ok(store)
    }

    pub fn open_in_memory() -> Result<Sqlite> {
        Self::setup(Connection::open_in_memory()?)
    }

    /// The reading connection, opened after the writer has set the file up (WAL, migrations).
    fn reading_connection(conn: Connection) -> Result<Connection> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Its own page cache: a quarter of the writer's, for the pages of the lookups.
        conn.pragma_update(None, "cache_size", -4096)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
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
            reader: None,
            checkpointer: None,
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

    /// Runs `f`, which only reads, on the reading connection: it sees what was committed, and
    /// does not wait for a transaction the writer is in.
    pub fn read<T>(&self, f: impl FnOnce(&mut Db) -> Result<T>) -> Result<T> {
        let Some(reader) = &self.reader else {
            return self.with(f);
        };
        let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn count(db: &mut Db) -> Result<i64> {
        db.query_one("SELECT count(*) FROM feeds", &[], |r| r.get(0))
    }

    fn add_feed(db: &mut Db, key: &str) -> Result<u64> {
        db.execute(
            "INSERT INTO feeds (key, url, config_url) VALUES ($1, $1, $1)",
            &[super::super::db::Value::Text(key)],
        )
    }

    /// One transaction of `rows` feeds whose keys (`tag`-n-…) are about a page long each.
    fn add_page_long_feeds(store: &Sqlite, tag: &str, rows: usize) {
        store
            .tx(|db| {
                for i in 0..rows {
                    add_feed(db, &format!("{tag}-{i}-{}", "x".repeat(1000)))?;
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_read_does_not_wait_for_a_write_transaction_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Sqlite::open(&dir.path().join("f.db")).unwrap());
        store.with(|db| add_feed(db, "before")).unwrap();
        let (inside, wait_inside) = mpsc::channel();
        let (release, held) = mpsc::channel::<()>();
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.tx(|db| {
                    add_feed(db, "uncommitted")?;
                    let _ = inside.send(());
                    // Held open until the reader has answered (or the test gives up).
                    let _ = held.recv_timeout(Duration::from_secs(10));
                    Ok(())
                })
            })
        };
        wait_inside.recv().unwrap();
        let (answer, answered) = mpsc::channel();
        {
            let store = store.clone();
            std::thread::spawn(move || {
                let _ = answer.send(store.read(count));
            });
        }
        // The read answers while the transaction is still open, with what was committed.
        let seen = answered.recv_timeout(Duration::from_secs(5));
        release.send(()).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(
            seen.expect("the read waited for the writer's transaction")
                .unwrap(),
            1
        );
        assert_eq!(store.read(count).unwrap(), 2);
    }

    #[test]
    fn the_wal_is_copied_into_the_file_as_writes_go_on_and_removed_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        let wal = dir.path().join("f.db-wal");
        let store = Sqlite::open(&path).unwrap();
        let frames = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len()) / 4096;
        // A few transactions, past the point where a checkpoint is asked for but short of
        // where the writer would run one itself: the pages reach the file all the same,
        // copied by the checkpoint thread while nothing else happens.
        let empty = frames(&path);
        for t in 0..6 {
            add_page_long_feeds(&store, &format!("a{t}"), 100);
        }
        let written = frames(&wal);
        assert!(written > CHECKPOINT_FRAMES as u64 && written < CHECKPOINT_FRAMES_WRITER as u64);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while frames(&path) < empty + 500 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            frames(&path) >= empty + 500,
            "nothing was copied from the WAL into the file"
        );
        store
            .with(|db| db.execute("DELETE FROM feeds", &[]))
            .unwrap();
        let mut most = 0;
        // Some 20,000 pages written, a hundred transactions of rows a page long each.
        for t in 0..100 {
            add_page_long_feeds(&store, &t.to_string(), 200);
            most = most.max(frames(&wal));
        }
        // The checkpoint thread keeps up: the WAL never holds more than a few checkpoints'
        // worth, far below what the writer would let it grow to on its own.
        assert!(
            most < 8 * CHECKPOINT_FRAMES as u64,
            "the WAL grew to {most} pages"
        );
        assert_eq!(store.read(count).unwrap(), 20_000);
        drop(store);
        assert!(!wal.exists(), "the WAL was left behind at close");
        let again = Sqlite::open(&path).unwrap();
        assert_eq!(again.read(count).unwrap(), 20_000);
    }
}
