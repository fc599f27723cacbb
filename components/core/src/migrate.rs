//! Applies the embedded `migrations/NNNN_name.sql` files once per database, in order,
//! each recorded in `schema_migrations` in the same transaction as its statements.
//!
//! Steady state costs two queries per instance: the recorded version is read outside
//! any transaction, the vault's keys are opened (`bootstrap::open_keys`, which reads
//! the keyring, and refuses a vault no configured KEK opens before anything is
//! written) and, when the version is the latest, nothing else happens. Otherwise the
//! work runs under `BEGIN IMMEDIATE` and re-reads the version there, so of two
//! concurrent first requests one migrates and the other, once it gets the lock, finds
//! nothing left to do. All pending migrations share that one transaction: a database
//! is never left half way between two versions.

use spin_sdk::sqlite3::Value;

use crate::bootstrap;
use crate::clock;
use crate::db::{first_integer, Db};
use crate::error::VaultError;

pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations not in `applied`, in order. By set rather than by the highest number:
/// a migration numbered below one already applied (branches landing out of order) still
/// runs.
pub fn pending(applied: &[u32]) -> Vec<&'static Migration> {
    MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect()
}

pub fn ensure_current(db: &Db) -> Result<(), VaultError> {
    let (applied, known_applied) = match recorded(db) {
        Ok(v) => v,
        // A new database: `schema_migrations` is created below.
        Err(VaultError::Invalid(m)) if m.contains("no such table") => (0, 0),
        Err(e) => return Err(e),
    };
    // The keys before anything else: a vault no configured KEK opens stays untouched.
    bootstrap::open_keys(db, applied)?;
    // WAL lets readers run beside the writer; it persists in the file, so this only
    // writes once, and only to a vault whose keys opened.
    db.run("PRAGMA journal_mode = WAL", &[])?;
    if applied >= latest() && known_applied >= MIGRATIONS.len() {
        if applied > latest() {
            eprintln!(
                "edgesafe-core: database schema {applied} is newer than this build's {}",
                latest()
            );
        }
        return Ok(());
    }
    let upgraded = db.transaction(|db| {
        db.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
                version    INTEGER PRIMARY KEY, \
                name       TEXT    NOT NULL, \
                applied_at INTEGER NOT NULL)",
            &[],
        )?;
        let (applied, _) = recorded(db)?;
        let todo = pending(&recorded_versions(db)?);
        if todo.is_empty() {
            return Ok(false);
        }
        let now = clock::now_unix()?;
        for m in todo {
            apply(db, m, now)?;
        }
        bootstrap::after_migrations(db, applied, now)
    })?;
    if upgraded {
        bootstrap::finish_upgrade(db);
    }
    Ok(())
}

fn recorded_versions(db: &Db) -> Result<Vec<u32>, VaultError> {
    let result = db.run("SELECT version FROM schema_migrations", &[])?;
    Ok(result
        .rows
        .iter()
        .filter_map(|row| match row.values.first() {
            Some(Value::Integer(v)) => u32::try_from(*v).ok(),
            _ => None,
        })
        .collect())
}

/// The highest recorded version, and how many recorded versions this build knows of
/// (one query: the steady state's only schema check).
fn recorded(db: &Db) -> Result<(u32, usize), VaultError> {
    let result = db.run(
        "SELECT MAX(version), TOTAL(version <= ?) FROM schema_migrations",
        &[Value::Integer(i64::from(latest()))],
    )?;
    let version = first_integer(&result, 0).unwrap_or(0);
    let known = match result.rows.first().and_then(|r| r.values.get(1)) {
        Some(Value::Real(n)) => *n as usize,
        Some(Value::Integer(n)) => usize::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    let version = u32::try_from(version)
        .map_err(|_| VaultError::io("schema_migrations holds a bad version"))?;
    Ok((version, known))
}

fn apply(db: &Db, m: &Migration, now: i64) -> Result<(), VaultError> {
    for (i, sql) in m.statements.iter().enumerate() {
        db.run(sql, &[]).map_err(|e| {
            eprintln!(
                "edgesafe-core: migration {:04}_{} statement {} failed: {e}",
                m.version,
                m.name,
                i + 1
            );
            VaultError::io(format!("migration {:04}_{} failed", m.version, m.name))
        })?;
    }
    db.run(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        &[
            Value::Integer(i64::from(m.version)),
            Value::Text(m.name.to_string()),
            Value::Integer(now),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_embedded_in_order() {
        assert!(!MIGRATIONS.is_empty());
        assert_eq!(MIGRATIONS[0].version, 1);
        assert_eq!(MIGRATIONS[0].name, "identity");
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| !m.statements.is_empty()));
    }

    #[test]
    fn pending_skips_what_is_applied() {
        let all: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(pending(&[]).len(), MIGRATIONS.len());
        assert!(pending(&all).is_empty());
        assert_eq!(pending(&[])[0].version, 1);
        // One landed out of order: only it is pending.
        let without_second: Vec<u32> = all.iter().copied().filter(|v| *v != all[1]).collect();
        let todo = pending(&without_second);
        assert_eq!(todo.len(), 1);
        assert_eq!(todo[0].version, all[1]);
    }
}
