//! Sealed values in Spin's key-value store `default`, under `sealed/<scope>`, as
//! records made by [`crate::envelope`] under the keyring's newest term, and the
//! core-only table `vault_sealed`, which says which term seals each scope.
//!
//! A seal, a forget and the re-seal of one value each hold SQLite's write lock
//! (`BEGIN IMMEDIATE`) around their key-value write, so a re-seal can never write back
//! an old value over a newer one or bring back a forgotten one. The table may lag the
//! store (a seal whose commit failed after its key-value write): status counts are then
//! off until the next seal or re-seal of that scope, but no value is ever unreadable,
//! since every record names its own term and terms are never removed.

use std::cell::OnceCell;

use spin_sdk::key_value::{Error as KvError, Store};
use spin_sdk::sqlite3::Value;
use zeroize::Zeroizing;

use crate::db::{first_integer, with_db, Db};
use crate::envelope::{self, SealedRecord, SecretKey, Term, KEY_LEN};
use crate::error::VaultError;
use crate::keyring::Keyring;
use crate::{keys, random};

const STORE: &str = "default";
const PREFIX: &str = "sealed/";
/// Keeps `sealed/<scope>` well within the key sizes of Spin's key-value backends.
const MAX_SCOPE_LEN: usize = 240;
/// Larger than the 5 MB file secrets the APIs accept, far below what hurts.
const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;
/// Scopes under this prefix held the vault's own keys before the keyring.
const RESERVED_PREFIX: &str = "system/";
/// The term recorded for a value sealed directly under a KEK (format 1).
pub const KEK_SEALED: i64 = 0;

thread_local! {
    static KV: OnceCell<Store> = const { OnceCell::new() };
}

/// storage.seal: encrypts and stores `plaintext` under a caller's scope.
pub fn seal(scope: &str, plaintext: &[u8]) -> Result<(), VaultError> {
    check_scope(scope)?;
    if plaintext.len() > MAX_VALUE_LEN {
        return Err(VaultError::invalid("sealed values are at most 16 MiB"));
    }
    let ring = keys::keyring()?;
    let (term, data_key) = ring.newest();
    let record = envelope::seal(term, &data_key.key, scope, plaintext, random::array()?)?;
    with_db(|db| db.transaction(|db| write(db, scope, term, &record)))
}

/// storage.unseal: the value under a caller's scope, if any.
pub fn unseal(scope: &str) -> Result<Option<Vec<u8>>, VaultError> {
    check_scope(scope)?;
    let Some(bytes) = with_store(|kv| kv.get(&key(scope)))? else {
        return Ok(None);
    };
    // The plaintext leaves through the interface as a plain vector.
    with_db(|db| open(db, scope, &bytes)).map(|plain| Some(plain.to_vec()))
}

/// storage.forget: deletes the value under a caller's scope; absent is fine.
pub fn forget(scope: &str) -> Result<(), VaultError> {
    check_scope(scope)?;
    with_db(|db| {
        db.transaction(|db| {
            db.run(
                "DELETE FROM vault_sealed WHERE scope = ?",
                &[Value::Text(scope.to_owned())],
            )?;
            with_store(|kv| kv.delete(&key(scope)))
        })
    })
}

/// Stores `record` (sealed under `term`) at `scope` and records its term. The caller
/// holds the write lock.
fn write(db: &Db, scope: &str, term: Term, record: &[u8]) -> Result<(), VaultError> {
    db.run(
        "INSERT INTO vault_sealed (scope, term) VALUES (?, ?) \
         ON CONFLICT (scope) DO UPDATE SET term = excluded.term",
        &[
            Value::Text(scope.to_owned()),
            Value::Integer(i64::from(term)),
        ],
    )?;
    with_store(|kv| kv.set(&key(scope), record))
}

/// Opens a record of either format: format 2 with its term's data key, format 1 with
/// the KEK it names (`kek` or `kek_previous`).
fn open(db: &Db, scope: &str, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let opened = match SealedRecord::decode(bytes)? {
        SealedRecord::Term(record) => {
            let data_key = keys::term_key(db, record.term())?;
            record.open(&data_key, scope)
        }
        SealedRecord::Kek(record) => {
            let keks = keys::keks()?;
            let kek = keks.require(
                &record.key_id().to_string(),
                &format!("the value at `{scope}`, sealed before the keyring,"),
            )?;
            record.open(kek, scope)
        }
    };
    opened.inspect_err(|e| {
        if *e == VaultError::Tampered {
            eprintln!("edgesafe-core: sealed value at `{scope}` failed authentication");
        }
    })
}

/// What one call of [`reseal`] did.
pub struct Resealed {
    pub resealed: u32,
    /// Values still sealed under an older term (or directly under a KEK).
    pub remaining: u64,
}

/// Moves up to `limit` values sealed under a term before `below` (format-1 values,
/// term 0, first) to the newest term of `ring`. A value that fails to open stops it
/// (the error is the caller's), except a format-1 value whose KEK is not configured,
/// which is skipped.
pub fn reseal(db: &Db, ring: &Keyring, below: Term, limit: u32) -> Result<Resealed, VaultError> {
    let (newest, data_key) = ring.newest();
    let below = Value::Integer(i64::from(below.min(newest)));
    let batch = db.run(
        "SELECT scope FROM vault_sealed WHERE term < ? ORDER BY term, scope LIMIT ?",
        &[below.clone(), Value::Integer(i64::from(limit))],
    )?;
    let mut resealed = 0;
    for row in &batch.rows {
        let Some(Value::Text(scope)) = row.values.first() else {
            continue;
        };
        match reseal_one(db, scope, newest, &data_key.key) {
            Ok(true) => resealed += 1,
            Ok(false) => {}
            // A format-1 value whose KEK is not configured now: it stays, still
            // readable once that KEK is back, and counts as remaining.
            Err(VaultError::KeyUnavailable(reason)) => {
                eprintln!("edgesafe-core: cannot re-seal `{scope}` yet: {reason}");
            }
            Err(e) => return Err(e),
        }
    }
    let left = db.run("SELECT COUNT(*) FROM vault_sealed WHERE term < ?", &[below])?;
    Ok(Resealed {
        resealed,
        remaining: first_integer(&left, 0).unwrap_or(0).max(0) as u64,
    })
}

/// How many values are still sealed directly under a KEK (format 1).
pub fn kek_sealed_count(db: &Db) -> Result<u64, VaultError> {
    let rows = db.run(
        "SELECT COUNT(*) FROM vault_sealed WHERE term = ?",
        &[Value::Integer(KEK_SEALED)],
    )?;
    Ok(first_integer(&rows, 0).unwrap_or(0).max(0) as u64)
}

/// Re-seals the value at `scope` under `newest`, unless a concurrent seal or forget
/// got there first. Whether it re-sealed one.
fn reseal_one(
    db: &Db,
    scope: &str,
    newest: Term,
    data_key: &[u8; KEY_LEN],
) -> Result<bool, VaultError> {
    let scope_param = Value::Text(scope.to_owned());
    db.transaction(|db| {
        let row = db.run(
            "SELECT term FROM vault_sealed WHERE scope = ?",
            std::slice::from_ref(&scope_param),
        )?;
        match first_integer(&row, 0) {
            Some(term) if term < i64::from(newest) => {}
            _ => return Ok(false),
        }
        let Some(bytes) = with_store(|kv| kv.get(&key(scope)))? else {
            // Forgotten without its row (a failed commit): nothing to move.
            db.run(
                "DELETE FROM vault_sealed WHERE scope = ?",
                std::slice::from_ref(&scope_param),
            )?;
            return Ok(false);
        };
        let plain = open(db, scope, &bytes)?;
        let record = envelope::seal(newest, data_key, scope, &plain, random::array()?)?;
        write(db, scope, newest, &record)?;
        Ok(true)
    })
}

/// How many values each term seals (term 0: format 1, directly under a KEK).
pub fn counts(db: &Db) -> Result<Vec<(i64, u64)>, VaultError> {
    let rows = db.run(
        "SELECT term, COUNT(*) FROM vault_sealed GROUP BY term ORDER BY term",
        &[],
    )?;
    Ok(rows
        .rows
        .iter()
        .filter_map(|row| match row.values.as_slice() {
            [Value::Integer(term), Value::Integer(n)] => Some((*term, (*n).max(0) as u64)),
            _ => None,
        })
        .collect())
}

/// Records every value of a vault made before the keyring as sealed under a KEK
/// (format 1), so that re-seals and status see them. The vault's former system keys
/// are not values and are left out. Runs inside the upgrade's transaction.
pub fn track_kek_sealed(db: &Db) -> Result<u64, VaultError> {
    let mut tracked = 0;
    for stored in with_store(|kv| kv.get_keys())? {
        let Some(scope) = stored.strip_prefix(PREFIX) else {
            continue;
        };
        if scope.starts_with(RESERVED_PREFIX) {
            continue;
        }
        db.run(
            "INSERT OR IGNORE INTO vault_sealed (scope, term) VALUES (?, ?)",
            &[Value::Text(scope.to_owned()), Value::Integer(KEK_SEALED)],
        )?;
        tracked += db.changes();
    }
    Ok(tracked)
}

/// A 256-bit key that a vault made before the keyring sealed (format 1) at a reserved
/// scope; `None` when there is none.
pub fn load_kek_sealed_key(scope: &str) -> Result<Option<SecretKey>, VaultError> {
    let Some(bytes) = with_store(|kv| kv.get(&key(scope)))? else {
        return Ok(None);
    };
    let SealedRecord::Kek(record) = SealedRecord::decode(&bytes)? else {
        return Err(VaultError::Tampered);
    };
    let keks = keys::keks()?;
    let kek = keks.require(
        &record.key_id().to_string(),
        "the vault (made before the keyring)",
    )?;
    let plain = record.open(kek, scope).inspect_err(|_| {
        eprintln!("edgesafe-core: the former system key at `{scope}` failed authentication");
    })?;
    let key: [u8; KEY_LEN] = plain
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Tampered)?;
    Ok(Some(Zeroizing::new(key)))
}

/// Deletes a former system key once the keyring holds it.
pub fn delete_reserved(scope: &str) -> Result<(), VaultError> {
    with_store(|kv| kv.delete(&key(scope)))
}

fn key(scope: &str) -> String {
    format!("{PREFIX}{scope}")
}

/// Scopes are names like `secret/<id>/v/<n>`: printable, bounded, not reserved.
pub fn check_scope(scope: &str) -> Result<(), VaultError> {
    if scope.is_empty() || scope.len() > MAX_SCOPE_LEN {
        return Err(VaultError::invalid(format!(
            "scope must be 1 to {MAX_SCOPE_LEN} bytes"
        )));
    }
    if scope.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "scope must not contain control characters",
        ));
    }
    if scope.starts_with(RESERVED_PREFIX) {
        return Err(VaultError::invalid(
            "scopes under `system/` are reserved for the vault",
        ));
    }
    Ok(())
}

fn with_store<T>(f: impl FnOnce(&Store) -> Result<T, KvError>) -> Result<T, VaultError> {
    KV.with(|cell| {
        let kv = match cell.get() {
            Some(kv) => kv,
            None => {
                let opened = Store::open(STORE).map_err(from_kv)?;
                cell.get_or_init(|| opened)
            }
        };
        f(kv).map_err(from_kv)
    })
}

fn from_kv(e: KvError) -> VaultError {
    let err = match e {
        KvError::NoSuchStore | KvError::AccessDenied => VaultError::io(format!(
            "key-value store `{STORE}` is not available to this component (see `key_value_stores` in spin.toml)"
        )),
        KvError::StoreTableFull => VaultError::io(format!("key-value store `{STORE}` is full")),
        KvError::Other(_) => VaultError::io(format!("key-value store `{STORE}` failed")),
    };
    eprintln!("edgesafe-core: {err}");
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked() {
        assert!(check_scope("secret/12/v/3").is_ok());
        assert!(check_scope(&"a".repeat(MAX_SCOPE_LEN)).is_ok());
        for bad in ["", "a\nb", "system/digest-key", "system/anything"] {
            assert!(
                matches!(check_scope(bad), Err(VaultError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(check_scope(&"a".repeat(MAX_SCOPE_LEN + 1)).is_err());
    }
}
