//! edgesafe's core component: exports the `core` world of `wit/vault.wit` (storage,
//! sealed values, crypto, audit) and is the only component that touches Spin's SQLite,
//! key-value store and variables. Composed into every API component; instantiated
//! fresh per request, so per-instance caches live only as long as one request.
//!
//! This file only wires the WIT exports to the modules and converts types.

mod areas;
mod audit;
mod audit_chain;
mod bootstrap;
mod clock;
mod db;
mod digests;
mod envelope;
mod error;
mod keyring;
mod keys;
mod migrate;
mod password;
mod random;
mod rotation;
mod sealed;
mod sql_error;
mod sql_script;
mod storage;

wit_bindgen::generate!({
    world: "core",
    path: "../../wit",
});

use exports::edgesafe::vault::{
    audit as wit_audit, crypto, keyring as wit_keyring, settings as wit_settings,
    storage as wit_storage, types,
};

use crate::error::VaultError;

struct Core;

// Native builds (unit tests) skip the export symbols: their names (`edgesafe:vault/...`)
// are not valid in a native linker's version script.
#[cfg(target_arch = "wasm32")]
export!(Core);

impl wit_storage::Guest for Core {
    fn query(sql: String, params: Vec<types::Value>) -> Result<types::Rows, types::Error> {
        let params = params.into_iter().map(to_sqlite).collect::<Vec<_>>();
        let result = storage::query(&sql, &params).map_err(to_wit)?;
        Ok(types::Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| types::Row {
                    values: row.values.into_iter().map(from_sqlite).collect(),
                })
                .collect(),
        })
    }

    fn execute(
        statements: Vec<wit_storage::Statement>,
    ) -> Result<Vec<wit_storage::Outcome>, types::Error> {
        let outcomes = storage::execute(&to_statements(statements)).map_err(to_wit)?;
        Ok(to_outcomes(outcomes))
    }

    fn execute_audited(
        statements: Vec<wit_storage::Statement>,
        events: Vec<wit_audit::Event>,
    ) -> Result<Vec<wit_storage::Outcome>, types::Error> {
        let events = events.into_iter().map(to_new_event).collect();
        let outcomes =
            storage::execute_audited(&to_statements(statements), events).map_err(to_wit)?;
        Ok(to_outcomes(outcomes))
    }

    fn seal(scope: String, plaintext: Vec<u8>) -> Result<(), types::Error> {
        let plaintext = zeroize::Zeroizing::new(plaintext);
        own_scope(&scope)?;
        sealed::seal(&scope, &plaintext).map_err(to_wit)
    }

    fn unseal(scope: String) -> Result<Option<Vec<u8>>, types::Error> {
        own_scope(&scope)?;
        sealed::unseal(&scope).map_err(to_wit)
    }

    fn forget(scope: String) -> Result<(), types::Error> {
        own_scope(&scope)?;
        sealed::forget(&scope).map_err(to_wit)
    }
}

impl crypto::Guest for Core {
    fn random_token(bytes: u32) -> String {
        let mut buf = zeroize::Zeroizing::new(vec![0u8; digests::token_len(bytes)]);
        if random::fill(&mut buf).is_err() {
            // Unreachable on WASI 0.2, whose random source cannot fail; and with no
            // error in the signature, failing closed (a trap) beats a weak token.
            eprintln!("edgesafe-core: random source unavailable");
            std::process::abort();
        }
        hex::encode(buf.as_slice())
    }

    fn token_digest(token: String) -> Result<String, types::Error> {
        let token = zeroize::Zeroizing::new(token);
        let key = keys::digest_key().map_err(to_wit)?;
        Ok(digests::token_digest(&key, &token))
    }

    fn sha256_hex(data: Vec<u8>) -> String {
        digests::sha256_upper_hex(&data)
    }

    fn generate_password(rule: crypto::PasswordRule) -> Result<String, types::Error> {
        let rule = password::PasswordRule {
            length: rule.length,
            lowercase: rule.lowercase,
            uppercase: rule.uppercase,
            digits: rule.digits,
            symbols: rule.symbols,
        };
        password::generate(&rule, &mut random::next_u32).map_err(to_wit)
    }
}

impl wit_audit::Guest for Core {
    fn append(e: wit_audit::Event) -> Result<i64, types::Error> {
        audit::append(to_new_event(e)).map_err(to_wit)
    }

    fn verify() -> Result<i64, i64> {
        audit::verify()
    }

    fn check() -> Result<Result<i64, wit_audit::ChainBreak>, types::Error> {
        areas::current()
            .and_then(|g| g.check_audit_reader())
            .map_err(to_wit)?;
        match audit::check_chain() {
            Ok(n) => Ok(Ok(n)),
            Err(audit::CheckFailure::Broken(b)) => Ok(Err(wit_audit::ChainBreak {
                seq: b.seq,
                kind: match b.kind {
                    audit_chain::BreakKind::Edited => wit_audit::BreakKind::Edited,
                    audit_chain::BreakKind::Missing => wit_audit::BreakKind::Missing,
                    audit_chain::BreakKind::Reordered => wit_audit::BreakKind::Reordered,
                },
            })),
            Err(audit::CheckFailure::Unavailable) => {
                Err(types::Error::Io("the audit trail cannot be read".into()))
            }
        }
    }

    fn read(filter: wit_audit::EventFilter) -> Result<wit_audit::EventPage, types::Error> {
        areas::current()
            .and_then(|g| g.check_audit_reader())
            .map_err(to_wit)?;
        let filter = audit::Filter {
            actors: filter.actors,
            action_prefixes: filter.action_prefixes,
            since: filter.since,
            until: filter.until,
            after_seq: filter.after_seq,
            offset: filter.offset,
            limit: filter.limit,
        };
        let (total, events) = audit::read(&filter).map_err(to_wit)?;
        Ok(wit_audit::EventPage {
            total,
            events: events
                .into_iter()
                .map(|e| wit_audit::StoredEvent {
                    seq: e.record.seq,
                    at: e.record.at,
                    actor: e.record.actor,
                    action: e.record.action,
                    target: e.record.target,
                    decision: e.record.decision,
                    purpose: e.record.purpose,
                    detail: e.record.detail,
                    mac: e.mac,
                })
                .collect(),
        })
    }
}

impl wit_keyring::Guest for Core {
    fn status() -> Result<wit_keyring::KeyringStatus, types::Error> {
        keyring_keeper()?;
        let status = rotation::status().map_err(to_wit)?;
        Ok(wit_keyring::KeyringStatus {
            kek_id: status.kek_id,
            terms: status
                .terms
                .into_iter()
                .map(|t| wit_keyring::TermStatus {
                    term: t.term,
                    created_at: t.created_at,
                    values: t.values,
                })
                .collect(),
            kek_sealed_values: status.kek_sealed,
        })
    }

    fn rotate() -> Result<u32, types::Error> {
        keyring_keeper()?;
        rotation::rotate().map_err(to_wit)
    }

    fn reseal(limit: u32) -> Result<wit_keyring::ResealOutcome, types::Error> {
        keyring_keeper()?;
        let outcome = rotation::reseal(limit).map_err(to_wit)?;
        Ok(wit_keyring::ResealOutcome {
            resealed: outcome.resealed,
            remaining: outcome.remaining,
        })
    }
}

/// Settings API components may read; everything else (the keys above all) stays here.
const READABLE_SETTINGS: &[&str] = &[
    "max_body_bytes",
    "session_ttl_seconds",
    "token_ttl_seconds",
    "sign_in_failure_limit",
    "sign_in_failure_window_seconds",
    "secrets_enforce_scopes",
    "secrets_api_rate_limit",
    "secrets_api_page_limit",
];

impl wit_settings::Guest for Core {
    fn get(name: String) -> Option<String> {
        if !READABLE_SETTINGS.contains(&name.as_str()) {
            return None;
        }
        match keys::variable(&name) {
            Ok(value) => value.map(|v| v.to_string()),
            Err(_) => None,
        }
    }
}

fn to_statements(statements: Vec<wit_storage::Statement>) -> Vec<storage::Statement> {
    statements
        .into_iter()
        .map(|s| storage::Statement {
            sql: s.sql,
            params: s.params.into_iter().map(to_sqlite).collect(),
        })
        .collect()
}

fn to_outcomes(outcomes: Vec<storage::Outcome>) -> Vec<wit_storage::Outcome> {
    outcomes
        .into_iter()
        .map(|o| wit_storage::Outcome {
            changes: o.changes,
            last_insert_rowid: o.last_insert_rowid,
        })
        .collect()
}

fn to_new_event(e: wit_audit::Event) -> audit::NewEvent {
    audit::NewEvent {
        actor: e.actor,
        action: e.action,
        target: e.target,
        decision: e.decision,
        purpose: e.purpose,
        detail: e.detail,
    }
}

/// Only the area that serves the keyring's admin routes may see or turn it.
fn keyring_keeper() -> Result<(), types::Error> {
    areas::current()
        .and_then(areas::Grant::check_keyring_keeper)
        .map_err(to_wit)
}

/// Sealed scopes belong to one area each (`secret/...` to secrets).
fn own_scope(scope: &str) -> Result<(), types::Error> {
    areas::current()
        .and_then(|grant| grant.check_scope(scope))
        .map_err(to_wit)
}

fn to_wit(e: VaultError) -> types::Error {
    match e {
        VaultError::Conflict(rule) => types::Error::Conflict(rule),
        VaultError::Invalid(reason) => types::Error::Invalid(reason),
        VaultError::KeyUnavailable(reason) => types::Error::KeyUnavailable(reason),
        VaultError::Tampered => types::Error::Tampered,
        VaultError::Busy(reason) => types::Error::Busy(reason),
        VaultError::Io(reason) => types::Error::Io(reason),
    }
}

fn to_sqlite(v: types::Value) -> spin_sdk::sqlite3::Value {
    use spin_sdk::sqlite3::Value as S;
    match v {
        types::Value::Integer(n) => S::Integer(n),
        types::Value::Real(f) => S::Real(f),
        types::Value::Text(s) => S::Text(s),
        types::Value::Blob(b) => S::Blob(b),
        types::Value::Null => S::Null,
    }
}

fn from_sqlite(v: spin_sdk::sqlite3::Value) -> types::Value {
    use spin_sdk::sqlite3::Value as S;
    match v {
        S::Integer(n) => types::Value::Integer(n),
        S::Real(f) => types::Value::Real(f),
        S::Text(s) => types::Value::Text(s),
        S::Blob(b) => types::Value::Blob(b),
        S::Null => types::Value::Null,
    }
}
