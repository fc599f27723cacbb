//! The vault's keys: the key-encryption keys from Spin variables, and the system keys
//! (token digest key, audit key) sealed in the key-value store. Each is read at most
//! once per instance; copies handed out are `Zeroizing`, so they are wiped when
//! dropped rather than left in the instance's memory.

use std::cell::OnceCell;
use std::rc::Rc;

use spin_sdk::variables;
use zeroize::Zeroizing;

use crate::db::with_db;
use crate::envelope::{Kek, KeyId};
use crate::error::{VaultError, KEK_HELP, KEK_PREVIOUS_HELP};
use crate::{random, sealed};

/// HMAC key for API key and session token digests.
pub const DIGEST_KEY_SCOPE: &str = "system/digest-key";
/// HMAC key for the audit chain.
pub const AUDIT_KEY_SCOPE: &str = "system/audit-key";

pub type SystemKey = Zeroizing<[u8; 32]>;

thread_local! {
    static RING: OnceCell<Rc<KeyRing>> = const { OnceCell::new() };
    static DIGEST_KEY: OnceCell<SystemKey> = const { OnceCell::new() };
    static AUDIT_KEY: OnceCell<SystemKey> = const { OnceCell::new() };
}

/// The current KEK, and the previous one (variable `kek_previous`) read only when a
/// record names a key other than the current one.
pub struct KeyRing {
    current: Kek,
    previous: OnceCell<Option<Kek>>,
}

impl KeyRing {
    pub fn current(&self) -> &Kek {
        &self.current
    }

    /// The KEK whose id is `id`, if it is the current or the previous one.
    pub fn find(&self, id: KeyId) -> Result<Option<&Kek>, VaultError> {
        if self.current.id() == id {
            return Ok(Some(&self.current));
        }
        let previous = match self.previous.get() {
            Some(previous) => previous,
            None => {
                let loaded = load_previous()?;
                self.previous.get_or_init(|| loaded)
            }
        };
        Ok(previous.as_ref().filter(|k| k.id() == id))
    }
}

pub fn keyring() -> Result<Rc<KeyRing>, VaultError> {
    RING.with(|cell| {
        if let Some(ring) = cell.get() {
            return Ok(Rc::clone(ring));
        }
        let text = variable("kek")?.ok_or_else(|| VaultError::KeyUnavailable(KEK_HELP.into()))?;
        let current =
            Kek::parse(&text).ok_or_else(|| VaultError::KeyUnavailable(KEK_HELP.into()))?;
        let ring = Rc::new(KeyRing {
            current,
            previous: OnceCell::new(),
        });
        Ok(Rc::clone(cell.get_or_init(|| ring)))
    })
}

fn load_previous() -> Result<Option<Kek>, VaultError> {
    let Some(text) = variable("kek_previous")? else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    Kek::parse(&text)
        .map(Some)
        .ok_or_else(|| VaultError::KeyUnavailable(KEK_PREVIOUS_HELP.into()))
}

/// A Spin variable, `None` when it is not defined for this component. Wiped on drop,
/// since most of the variables read here are secrets.
pub fn variable(name: &str) -> Result<Option<Zeroizing<String>>, VaultError> {
    match variables::get(name) {
        Ok(value) => Ok(Some(Zeroizing::new(value))),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(_) => {
            eprintln!("edgesafe-core: variable `{name}` could not be read");
            Err(VaultError::io(format!(
                "variable `{name}` could not be read"
            )))
        }
    }
}

pub fn digest_key() -> Result<SystemKey, VaultError> {
    DIGEST_KEY.with(|cell| cached_system_key(cell, DIGEST_KEY_SCOPE))
}

pub fn audit_key() -> Result<SystemKey, VaultError> {
    AUDIT_KEY.with(|cell| cached_system_key(cell, AUDIT_KEY_SCOPE))
}

fn cached_system_key(cell: &OnceCell<SystemKey>, scope: &str) -> Result<SystemKey, VaultError> {
    if let Some(key) = cell.get() {
        return Ok(key.clone());
    }
    // The first run creates the system keys; make sure it has happened.
    with_db(|_| Ok(()))?;
    let ring = keyring()?;
    let Some(stored) = sealed::load(&ring, scope)? else {
        eprintln!("edgesafe-core: system key `{scope}` is missing from the key-value store");
        return Err(VaultError::io(format!(
            "system key `{scope}` is missing from the key-value store"
        )));
    };
    let key = to_system_key(stored)?;
    Ok(cell.get_or_init(|| key).clone())
}

/// Returns the system key sealed at `scope`, creating it if there is none. Only the
/// first run calls this, inside its SQLite transaction.
///
/// The key-value write is not part of that transaction. If the transaction then fails
/// (or its instance dies before COMMIT), the key stays behind while the database shows
/// no first run, and the next first run finds it here and keeps it. Keeping it is
/// right: nothing was committed under it yet, and replacing an existing key could
/// orphan digests or audit MACs made with it should the database and the store ever
/// disagree the other way (e.g. a database restored next to a live store). Two first
/// runs never get here at once: they serialise on `BEGIN IMMEDIATE`, and the second
/// finds the migration recorded and stops.
pub fn provision_system_key(ring: &KeyRing, scope: &str) -> Result<SystemKey, VaultError> {
    if let Some(stored) = sealed::load(ring, scope)? {
        return to_system_key(stored);
    }
    let key: SystemKey = Zeroizing::new(random::array()?);
    sealed::store(ring, scope, key.as_slice())?;
    Ok(key)
}

fn to_system_key(stored: Vec<u8>) -> Result<SystemKey, VaultError> {
    let stored = Zeroizing::new(stored);
    let key: [u8; 32] = stored
        .as_slice()
        .try_into()
        .map_err(|_| VaultError::Tampered)?;
    Ok(Zeroizing::new(key))
}
