//! The vault, as an API component sees it: bindings for world `api` of `wit/vault.wit`
//! and a thin typed layer over them.
//!
//! The raw bindings are re-exported for the rare call that needs them; handlers use
//! [`Db`], [`Rows`]/[`Row`], [`random_token`], [`token_digest`] and [`audit`], which
//! return [`ApiError`] so that `?` maps every vault failure the same way.

use crate::error::{ApiError, Result};

#[allow(clippy::all, missing_docs)]
mod bindings {
    wit_bindgen::generate!({ world: "api", path: "../../wit" });
}

pub use bindings::edgesafe::vault::{
    audit as wit_audit, crypto, keyring, settings, storage, types,
};
pub use storage::{Outcome, Statement};
pub use types::Value;

impl From<types::Error> for ApiError {
    /// Only the kind of failure reaches the client; the payload (a rule name, an I/O
    /// reason, never a secret by the interface's contract) goes to the log.
    fn from(e: types::Error) -> Self {
        match e {
            types::Error::Conflict(rule) => {
                eprintln!("vault refused a write: {rule}");
                ApiError::conflict("conflicts with an existing record")
            }
            // Our SQL or arguments are wrong: a bug on our side, not the client's.
            types::Error::Invalid(reason) => ApiError::internal(format!("vault invalid: {reason}")),
            types::Error::KeyUnavailable(reason) => {
                ApiError::unavailable(format!("vault key unavailable: {reason}"))
            }
            types::Error::Tampered => {
                ApiError::internal("vault: a sealed value failed authentication")
            }
            // The store is contended, not broken: 503, and the client may retry.
            types::Error::Busy(reason) => {
                eprintln!("vault busy: {reason}");
                ApiError::overloaded(1)
            }
            types::Error::Io(reason) => ApiError::internal(format!("vault io: {reason}")),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One statement for [`Db::execute`].
pub fn statement(sql: &str, params: Vec<Value>) -> Statement {
    Statement {
        sql: sql.to_owned(),
        params,
    }
}

/// The relational store behind the vault's `storage` interface.
pub struct Db;

impl Db {
    /// Runs one read-only statement.
    pub fn query(sql: &str, params: &[Value]) -> Result<Rows> {
        Ok(Rows::from(storage::query(sql, params)?))
    }

    /// Runs the statements in one transaction: all apply or none does. Inside
    /// [`audited_change`], the first call also commits that change's audit event.
    pub fn execute(statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        match PENDING_EVENT.with(|pending| pending.borrow_mut().take()) {
            Some(event) => Ok(storage::execute_audited(&statements, &[event])?),
            None => Ok(storage::execute(&statements)?),
        }
    }

    /// Runs the statements and appends `events` to the audit trail in one transaction,
    /// so a change and its record commit together or not at all.
    pub fn execute_audited(
        statements: Vec<Statement>,
        events: &[AuditEvent<'_>],
    ) -> Result<Vec<Outcome>> {
        let events: Vec<wit_audit::Event> = events.iter().map(AuditEvent::to_wit).collect();
        Ok(storage::execute_audited(&statements, &events)?)
    }
}

/// A non-secret app setting (a Spin variable the core hands out), parsed; `default`
/// (with a log line for the operator) when it is missing or unusable.
pub fn setting<T>(name: &str, default: T, valid: impl Fn(&T) -> bool) -> T
where
    T: std::str::FromStr + std::fmt::Display,
{
    match settings::get(name).map(|v| v.trim().parse::<T>()) {
        Some(Ok(value)) if valid(&value) => value,
        _ => {
            eprintln!("setting {name} is missing or invalid; using {default}");
            default
        }
    }
}

/// A fresh random token of `bytes` random bytes, hex encoded.
pub fn random_token(bytes: u32) -> String {
    crypto::random_token(bytes)
}

/// The keyed digest under which a token or key is stored and looked up.
pub fn token_digest(token: &str) -> Result<String> {
    Ok(crypto::token_digest(token)?)
}

/// Whether an audited action was let through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// One audit event; see `audit.event` in the WIT for what each field holds. None of
/// them may carry a secret.
pub struct AuditEvent<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub decision: Decision,
    pub purpose: &'a str,
    pub detail: &'a str,
}

impl AuditEvent<'_> {
    fn to_wit(&self) -> wit_audit::Event {
        let decision = match self.decision {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        };
        wit_audit::Event {
            actor: self.actor.to_owned(),
            action: self.action.to_owned(),
            target: self.target.to_owned(),
            decision: decision.to_owned(),
            purpose: self.purpose.to_owned(),
            detail: self.detail.to_owned(),
        }
    }
}

thread_local! {
    /// The event of the change [`audited_change`] is running, until a write takes it.
    static PENDING_EVENT: std::cell::RefCell<Option<wit_audit::Event>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `change` with `event` waiting for its first [`Db::execute`], which commits the
/// event in the same transaction as the change's statements. A change that wrote
/// nothing yet succeeded (nothing to do) gets its event on its own; a change that
/// failed before writing gets none. The store functions stay unaware of auditing.
pub fn audited_change<T>(event: AuditEvent<'_>, change: impl FnOnce() -> Result<T>) -> Result<T> {
    PENDING_EVENT.with(|pending| *pending.borrow_mut() = Some(event.to_wit()));
    let result = change();
    let unwritten = PENDING_EVENT.with(|pending| pending.borrow_mut().take());
    if let (Ok(_), Some(event)) = (&result, unwritten) {
        wit_audit::append(&event)?;
    }
    result
}

/// Appends an event to the audit trail on its own; returns its sequence number. A write
/// and its event go together through [`audited_change`] or [`Db::execute_audited`].
pub fn audit(event: AuditEvent<'_>) -> Result<i64> {
    Ok(wit_audit::append(&event.to_wit())?)
}

/// Query results with access to columns by name.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl From<types::Rows> for Rows {
    fn from(rows: types::Rows) -> Self {
        Rows {
            columns: rows.columns,
            rows: rows.rows.into_iter().map(|r| r.values).collect(),
        }
    }
}

impl Rows {
    /// Builds results by hand (tests, and synthetic rows).
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Self {
        Rows { columns, rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }
}

/// One result row. A missing column or a value of the wrong type means our SQL and our
/// code disagree, so the accessors fail with an internal error naming the column.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> Result<&'a Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| ApiError::internal(format!("no column {column} in result")))
    }

    fn wrong_type(column: &str, wanted: &str) -> ApiError {
        ApiError::internal(format!("column {column} is not {wanted}"))
    }

    pub fn i64(&self, column: &str) -> Result<i64> {
        self.opt_i64(column)?
            .ok_or_else(|| Self::wrong_type(column, "a non-null integer"))
    }

    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>> {
        match self.get(column)? {
            Value::Integer(v) => Ok(Some(*v)),
            Value::Null => Ok(None),
            _ => Err(Self::wrong_type(column, "an integer")),
        }
    }

    /// An integer column holding 0 or 1.
    pub fn bool(&self, column: &str) -> Result<bool> {
        Ok(self.i64(column)? != 0)
    }

    pub fn str(&self, column: &str) -> Result<&'a str> {
        self.opt_str(column)?
            .ok_or_else(|| Self::wrong_type(column, "non-null text"))
    }

    pub fn opt_str(&self, column: &str) -> Result<Option<&'a str>> {
        match self.get(column)? {
            Value::Text(v) => Ok(Some(v.as_str())),
            Value::Null => Ok(None),
            _ => Err(Self::wrong_type(column, "text")),
        }
    }

    pub fn string(&self, column: &str) -> Result<String> {
        self.str(column).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rows {
        Rows::new(
            vec![
                "id".into(),
                "user_name".into(),
                "expires_at".into(),
                "is_admin".into(),
            ],
            vec![
                vec![
                    Value::Integer(1),
                    "alice".into(),
                    Value::Null,
                    Value::Integer(1),
                ],
                vec![
                    Value::Integer(2),
                    "bob".into(),
                    Value::Integer(99),
                    Value::Integer(0),
                ],
            ],
        )
    }

    #[test]
    fn reads_columns_by_name() {
        let rows = sample();
        assert_eq!(rows.len(), 2);
        let got: Vec<(i64, String, Option<i64>, bool)> = rows
            .iter()
            .map(|r| {
                Ok::<_, ApiError>((
                    r.i64("id")?,
                    r.string("user_name")?,
                    r.opt_i64("expires_at")?,
                    r.bool("is_admin")?,
                ))
            })
            .collect::<Result<_>>()
            .unwrap_or_default();
        assert_eq!(
            got,
            vec![
                (1, "alice".into(), None, true),
                (2, "bob".into(), Some(99), false)
            ]
        );
    }

    #[test]
    fn wrong_or_missing_columns_are_internal_errors() {
        let rows = sample();
        let Some(row) = rows.first() else {
            panic!("sample has rows")
        };
        let status = |r: Result<i64>| r.err().map(|e| e.status().as_u16());
        assert_eq!(status(row.i64("nope")), Some(500));
        assert_eq!(status(row.i64("user_name")), Some(500));
        assert_eq!(status(row.i64("expires_at")), Some(500));
        assert_eq!(row.opt_str("expires_at").ok(), Some(None));
    }

    #[test]
    fn maps_vault_errors() {
        let status = |e: types::Error| ApiError::from(e).status().as_u16();
        assert_eq!(
            status(types::Error::Conflict("UNIQUE users.user_name".into())),
            409
        );
        assert_eq!(status(types::Error::Invalid("syntax error".into())), 500);
        assert_eq!(
            status(types::Error::KeyUnavailable("kek missing".into())),
            503
        );
        assert_eq!(status(types::Error::Tampered), 500);
        assert_eq!(status(types::Error::Io("disk".into())), 500);
        assert_eq!(status(types::Error::Busy("locked".into())), 503);
        let e = ApiError::from(types::Error::KeyUnavailable("kek missing".into()));
        assert!(e.message().contains("server log"));
        assert!(!e.message().contains("kek"));
        let e = ApiError::from(types::Error::Conflict("UNIQUE users.user_name".into()));
        assert!(!e.message().contains("users"));
    }

    #[test]
    fn values_from_rust_types() {
        assert_eq!(
            format!("{:?}", Value::from(Some(3_i64))),
            format!("{:?}", Value::Integer(3))
        );
        assert_eq!(
            format!("{:?}", Value::from(None::<i64>)),
            format!("{:?}", Value::Null)
        );
        assert_eq!(
            format!("{:?}", Value::from(true)),
            format!("{:?}", Value::Integer(1))
        );
    }
}
