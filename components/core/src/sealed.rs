//! Sealed values in Spin's key-value store `default`, under `sealed/<scope>`, as
//! records made by [`crate::envelope`].

use std::cell::OnceCell;

use spin_sdk::key_value::{Error as KvError, Store};

use crate::envelope::{self, SealRandomness, SealedRecord};
use crate::error::VaultError;
use crate::keys::{keyring, KeyRing};

const STORE: &str = "default";
const PREFIX: &str = "sealed/";
/// Keeps `sealed/<scope>` well within the key sizes of Spin's key-value backends.
const MAX_SCOPE_LEN: usize = 240;
/// Larger than the 5 MB file secrets the APIs accept, far below what hurts.
const MAX_VALUE_LEN: usize = 16 * 1024 * 1024;
/// Scopes under this prefix hold the vault's own keys, which never leave the core.
const RESERVED_PREFIX: &str = "system/";

thread_local! {
    static KV: OnceCell<Store> = const { OnceCell::new() };
}

/// storage.seal: encrypts and stores `plaintext` under a caller's scope.
pub fn seal(scope: &str, plaintext: &[u8]) -> Result<(), VaultError> {
    check_scope(scope)?;
    if plaintext.len() > MAX_VALUE_LEN {
        return Err(VaultError::invalid("sealed values are at most 16 MiB"));
    }
    store(&*keyring()?, scope, plaintext)
}

/// storage.unseal: the value under a caller's scope, if any.
pub fn unseal(scope: &str) -> Result<Option<Vec<u8>>, VaultError> {
    check_scope(scope)?;
    load(&*keyring()?, scope)
}

/// storage.forget: deletes the value under a caller's scope; absent is fine.
pub fn forget(scope: &str) -> Result<(), VaultError> {
    check_scope(scope)?;
    with_store(|kv| kv.delete(&key(scope)))
}

/// Seals under any scope, the reserved ones included.
pub(crate) fn store(ring: &KeyRing, scope: &str, plaintext: &[u8]) -> Result<(), VaultError> {
    let record = envelope::seal(ring.current(), scope, plaintext, SealRandomness::from_os()?)?;
    with_store(|kv| kv.set(&key(scope), &record))
}

/// Unseals any scope, the reserved ones included.
pub(crate) fn load(ring: &KeyRing, scope: &str) -> Result<Option<Vec<u8>>, VaultError> {
    let Some(bytes) = with_store(|kv| kv.get(&key(scope)))? else {
        return Ok(None);
    };
    let record = SealedRecord::decode(&bytes)?;
    let Some(kek) = ring.find(record.key_id())? else {
        eprintln!(
            "edgesafe-core: sealed value at `{scope}` names unknown key {}",
            record.key_id()
        );
        return Err(VaultError::Tampered);
    };
    record.open(kek, scope).map(Some).inspect_err(|_| {
        eprintln!("edgesafe-core: sealed value at `{scope}` failed authentication");
    })
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
