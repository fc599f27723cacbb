//! The instance's connection to Spin's SQLite database `default`.
//!
//! An instance serves one request, so the connection is opened (and the schema brought
//! up to date) on first use and kept in a thread-local for the rest of the instance.

use std::cell::{Cell, OnceCell};
use std::time::{Duration, Instant};

use spin_sdk::sqlite3::{Connection, Error as SqliteError, QueryResult, Value};

use crate::error::VaultError;
use crate::{migrate, sql_error};

const DATABASE: &str = "default";

thread_local! {
    static DB: OnceCell<Db> = const { OnceCell::new() };
}

pub struct Db {
    conn: Connection,
    /// Between `BEGIN IMMEDIATE` and its end: statements there hold the write lock and
    /// are not retried on their own.
    in_transaction: Cell<bool>,
}

/// The longest a statement waits for another connection's lock before it fails, unless
/// the variable `database_lock_wait_ms` says otherwise (1 ms to 60 s).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The lock wait in force: read only once a lock is met, which is rare.
fn lock_wait() -> Duration {
    crate::keys::variable("database_lock_wait_ms")
        .ok()
        .flatten()
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .filter(|ms| (1..=60_000).contains(ms))
        .map_or(LOCK_WAIT, Duration::from_millis)
}

/// Runs `f` with the instance's connection, opening and migrating it first if needed.
/// A failed open is not remembered, so the next call tries again.
pub fn with_db<T>(f: impl FnOnce(&Db) -> Result<T, VaultError>) -> Result<T, VaultError> {
    DB.with(|cell| {
        if let Some(db) = cell.get() {
            return f(db);
        }
        let db = Db::open()?;
        migrate::ensure_current(&db)?;
        // The cell was empty above and nothing between could fill it.
        let db = cell.get_or_init(|| db);
        f(db)
    })
}

impl Db {
    fn open() -> Result<Self, VaultError> {
        let conn = Connection::open(DATABASE).map_err(|e| {
            let err = from_sqlite(e);
            eprintln!("edgesafe-core: cannot open database `{DATABASE}`: {err}");
            err
        })?;
        let db = Db {
            conn,
            in_transaction: Cell::new(false),
        };
        // Spin opens the file as it is, with no pragmas (a new database journals in
        // `delete` mode, syncs FULL): the vault sets what it needs on every host, outside
        // any transaction, or SQLite ignores it. In WAL (see `migrate`), synchronous
        // NORMAL keeps every commit across a crash of the app and risks only the last
        // ones on power loss. No busy timeout: a statement that finds another
        // instance's lock comes back at once and `run` waits for it (see there). None of
        // these writes the file.
        for pragma in [
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 0",
            "PRAGMA foreign_keys = ON",
        ] {
            db.run(pragma, &[])?;
        }
        Ok(db)
    }

    /// Runs one statement. One that finds another connection's lock (SQLITE_BUSY)
    /// outside a transaction, `BEGIN IMMEDIATE` included, changed nothing, and is tried
    /// again after a short random pause, for up to [`lock_wait`]. SQLite's own busy
    /// handler would wait too, but its sleeps grow to 100 ms and nothing wakes it when
    /// the lock frees: with every read appending an audit event, writers queued behind
    /// each other for seconds under Spin. A pause about as long as a writer holds the
    /// lock hands it over in about that time.
    pub fn run(&self, sql: &str, params: &[Value]) -> Result<QueryResult, VaultError> {
        let mut waiting: Option<(Instant, Duration)> = None;
        let mut attempt = 0u32;
        loop {
            match self.conn.execute(sql, params) {
                Err(SqliteError::Io(message))
                    if is_busy(&message) && !self.in_transaction.get() =>
                {
                    let (started, limit) =
                        *waiting.get_or_insert_with(|| (Instant::now(), lock_wait()));
                    if started.elapsed() >= limit {
                        return Err(VaultError::Busy(format!(
                            "the database stayed locked for {limit:?}"
                        )));
                    }
                    std::thread::sleep(lock_pause(attempt));
                    attempt = attempt.saturating_add(1);
                }
                result => return result.map_err(from_sqlite),
            }
        }
    }

    /// Rows modified by the most recent INSERT, UPDATE or DELETE on this connection.
    pub fn changes(&self) -> u64 {
        self.conn.changes()
    }

    pub fn last_insert_rowid(&self) -> i64 {
        self.conn.last_insert_rowid()
    }

    /// Runs `f` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back if `f` or the commit
    /// fails. IMMEDIATE takes the write lock up front, so read-then-write work inside
    /// (the migration check, the audit chain head) cannot race another writer.
    pub fn transaction<T>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.run("BEGIN IMMEDIATE", &[])?;
        self.in_transaction.set(true);
        let result = f(self).and_then(|value| self.run("COMMIT", &[]).map(|_| value));
        self.in_transaction.set(false);
        if result.is_err() {
            if let Err(e) = self.run("ROLLBACK", &[]) {
                // After a failed COMMIT SQLite may already have rolled back.
                if !matches!(&e, VaultError::Io(m) if m.contains("no transaction is active")) {
                    eprintln!("edgesafe-core: rollback failed: {e}");
                }
            }
        }
        result
    }
}

/// SQLite's text for SQLITE_BUSY, as Spin's hosts pass it on.
fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
}

/// The pause before try `attempt` (from 0) at a lock: random, so waiting writers spread
/// out, and a little longer each time, up to 2 ms.
fn lock_pause(attempt: u32) -> Duration {
    let ceiling_us = (100u64 << attempt.min(5)).min(2_000);
    let random = u64::from(crate::random::next_u32().unwrap_or(0));
    Duration::from_micros(20 + random % ceiling_us)
}

pub fn from_sqlite(e: SqliteError) -> VaultError {
    match e {
        SqliteError::Io(message) => sql_error::classify(&message),
        SqliteError::NoSuchDatabase | SqliteError::AccessDenied => VaultError::io(format!(
            "database `{DATABASE}` is not available to this component (see `sqlite_databases` in spin.toml)"
        )),
        SqliteError::InvalidConnection => VaultError::io("database connection is not valid"),
        SqliteError::DatabaseFull => VaultError::io("database is full"),
    }
}

/// Reads column `i` of the first row as an integer; NULL or no row reads as `None`.
pub fn first_integer(result: &QueryResult, i: usize) -> Option<i64> {
    match result.rows.first()?.values.get(i)? {
        Value::Integer(n) => Some(*n),
        _ => None,
    }
}

/// Reads column `i` of the first row as text; NULL or no row reads as `None`.
pub fn first_text(result: &QueryResult, i: usize) -> Option<&str> {
    match result.rows.first()?.values.get(i)? {
        Value::Text(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_pauses_are_short_random_and_grow_to_a_ceiling() {
        for attempt in 0..40 {
            let pause = lock_pause(attempt);
            assert!(pause >= Duration::from_micros(20), "{pause:?}");
            let ceiling = (100u64 << attempt.min(5)).min(2_000);
            assert!(pause < Duration::from_micros(20 + ceiling), "{pause:?}");
        }
    }

    #[test]
    fn only_a_lock_is_waited_for() {
        assert!(is_busy("database is locked"));
        assert!(!is_busy("UNIQUE constraint failed: users.user_name"));
        assert!(!is_busy("no such table: x"));
    }
}
