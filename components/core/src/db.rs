//! The instance's connection to Spin's SQLite database `default`.
//!
//! An instance serves one request, so the connection is opened (and the schema brought
//! up to date) on first use and kept in a thread-local for the rest of the instance.

use std::cell::OnceCell;

use spin_sdk::sqlite3::{Connection, Error as SqliteError, QueryResult, Value};

use crate::error::VaultError;
use crate::{migrate, sql_error};

const DATABASE: &str = "default";

thread_local! {
    static DB: OnceCell<Db> = const { OnceCell::new() };
}

pub struct Db {
    conn: Connection,
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
        let db = Db { conn };
        // Spin opens the file as it is, with no pragmas (a new database journals in
        // `delete` mode, syncs FULL): the vault sets what it needs on every host, outside
        // any transaction, or SQLite ignores it. In WAL (see `migrate`), synchronous
        // NORMAL keeps every commit across a crash of the app and risks only the last
        // ones on power loss; the busy timeout makes a writer wait for another
        // instance's lock instead of failing. None of these writes the file.
        for pragma in [
            "PRAGMA synchronous = NORMAL",
            "PRAGMA busy_timeout = 5000",
            "PRAGMA foreign_keys = ON",
        ] {
            db.run(pragma, &[])?;
        }
        Ok(db)
    }

    /// Runs one statement.
    pub fn run(&self, sql: &str, params: &[Value]) -> Result<QueryResult, VaultError> {
        self.conn.execute(sql, params).map_err(from_sqlite)
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
        let result = f(self).and_then(|value| self.run("COMMIT", &[]).map(|_| value));
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
