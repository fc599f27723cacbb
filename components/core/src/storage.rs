//! storage.query and storage.execute: the API components' SQL, checked against the
//! calling area's grant and run on the instance's connection.

use spin_sdk::sqlite3::{QueryResult, Value};

use crate::db::{with_db, Db};
use crate::error::VaultError;
use crate::sql_script::{self, NotReadOnly};
use crate::{areas, audit, keys};

pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

pub struct Outcome {
    pub changes: u64,
    pub last_insert_rowid: i64,
}

/// Statements that would end, nest or escape `execute`'s transaction, or change the
/// connection under the other statements.
const NOT_IN_EXECUTE: [&str; 15] = [
    "BEGIN",
    "COMMIT",
    "END",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "ATTACH",
    "DETACH",
    "PRAGMA",
    "VACUUM",
    // The schema is the migrations' alone.
    "CREATE",
    "DROP",
    "ALTER",
    "REINDEX",
    "ANALYZE",
];

/// Statements after which SQLite's `changes()` counts this statement's rows; after any
/// other it still reports the last such statement's, so `execute` reports 0.
const COUNTS_CHANGES: [&str; 5] = ["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"];

pub fn query(sql: &str, params: &[Value]) -> Result<QueryResult, VaultError> {
    sql_script::check_read_only(sql).map_err(|why| {
        VaultError::invalid(match why {
            NotReadOnly::Empty => "query: empty statement",
            NotReadOnly::SeveralStatements => "query: one statement at a time",
            NotReadOnly::Writes => {
                "query: only SELECT, VALUES or WITH ... SELECT; use execute to write"
            }
        })
    })?;
    areas::current()?.check_sql(sql)?;
    with_db(|db| db.run(sql, params))
}

/// storage.execute-audited: the statements and the audit events they earn, in one
/// transaction, so a change never commits without its record or the other way round.
pub fn execute_audited(
    statements: &[Statement],
    events: Vec<audit::NewEvent>,
) -> Result<Vec<Outcome>, VaultError> {
    audit::check_all(&events)?;
    let key = keys::audit_key()?;
    run_checked(statements, |db| {
        events
            .into_iter()
            .try_for_each(|e| audit::append_in(db, &key, e).map(|_| ()))
    })
}

pub fn execute(statements: &[Statement]) -> Result<Vec<Outcome>, VaultError> {
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    run_checked(statements, |_| Ok(()))
}

/// Checks the statements against the area's grant, then runs them and `then` in one
/// write transaction.
fn run_checked(
    statements: &[Statement],
    then: impl FnOnce(&Db) -> Result<(), VaultError>,
) -> Result<Vec<Outcome>, VaultError> {
    let grant = areas::current()?;
    let mut counts = Vec::with_capacity(statements.len());
    for (i, s) in statements.iter().enumerate() {
        counts.push(check_for_execute(i, &s.sql)?);
        grant.check_sql(&s.sql)?;
    }
    with_db(|db| {
        db.transaction(|db| {
            let mut outcomes = Vec::with_capacity(statements.len());
            for (s, counts) in statements.iter().zip(counts) {
                db.run(&s.sql, &s.params)?;
                outcomes.push(Outcome {
                    changes: if counts { db.changes() } else { 0 },
                    last_insert_rowid: db.last_insert_rowid(),
                });
            }
            then(db)?;
            Ok(outcomes)
        })
    })
}

/// Whether statement `i` may run inside `execute`, and whether its `changes()` count.
fn check_for_execute(i: usize, sql: &str) -> Result<bool, VaultError> {
    let n = i + 1;
    let Some(keyword) = sql_script::leading_keyword(sql) else {
        return Err(VaultError::invalid(format!("statement {n} is empty")));
    };
    if NOT_IN_EXECUTE.contains(&keyword.as_str()) {
        return Err(VaultError::invalid(format!(
            "statement {n}: {keyword} is not allowed; execute runs its statements in one transaction"
        )));
    }
    if sql_script::split(sql).len() > 1 {
        return Err(VaultError::invalid(format!(
            "statement {n} holds several statements; pass them separately"
        )));
    }
    Ok(COUNTS_CHANGES.contains(&keyword.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execute_refuses_transaction_control_and_batches() {
        for sql in [
            "COMMIT",
            "  begin immediate",
            "ROLLBACK",
            "savepoint a",
            "PRAGMA foreign_keys = OFF",
            "ATTACH 'x' AS y",
            "CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM audit_events; END",
            "DROP TABLE audit_events",
            "CREATE TABLE t (x)",
            "",
            "-- nothing",
            "INSERT INTO a VALUES (1); DELETE FROM a",
        ] {
            assert!(
                matches!(check_for_execute(0, sql), Err(VaultError::Invalid(_))),
                "{sql:?}"
            );
        }
    }

    #[test]
    fn execute_counts_changes_only_for_writes_to_rows() {
        assert_eq!(check_for_execute(0, "insert into a values (?)"), Ok(true));
        assert_eq!(check_for_execute(0, "UPDATE a SET x = 1;"), Ok(true));
        assert_eq!(check_for_execute(0, "DELETE FROM a"), Ok(true));
        assert_eq!(check_for_execute(0, "SELECT 1"), Ok(false));
    }
}
