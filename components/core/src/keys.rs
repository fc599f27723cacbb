//! The vault's keys in an instance: the key-encryption keys from Spin variables, and
//! the keyring they wrap, stored in the core-only table `vault_keyring`.
//!
//! Each is read at most once per instance (the keyring again only when a value names
//! a term added by another instance since); copies handed out are `Zeroizing`, so they
//! are wiped when dropped rather than left in the instance's memory. Every
//! read-modify-write of the stored keyring (a re-wrap, a new term) runs under
//! `BEGIN IMMEDIATE` and starts from the row as it is then, so two instances cannot
//! lose each other's change.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use spin_sdk::sqlite3::Value;
use spin_sdk::variables;
use zeroize::Zeroizing;

use crate::db::{first_text, with_db, Db};
use crate::envelope::{Kek, SecretKey, Term};
use crate::error::{kek_does_not_open, VaultError, KEK_HELP, KEK_PREVIOUS_HELP};
use crate::keyring::Keyring;
use crate::{clock, random};

thread_local! {
    static KEKS: OnceCell<Rc<Keks>> = const { OnceCell::new() };
    static RING: RefCell<Option<Rc<Keyring>>> = const { RefCell::new(None) };
}

/// The current KEK (variable `kek`), and the previous one (variable `kek_previous`),
/// read only when something is wrapped by a key other than the current one.
pub struct Keks {
    current: Kek,
    previous: OnceCell<Option<Kek>>,
}

impl Keks {
    pub fn current(&self) -> &Kek {
        &self.current
    }

    pub fn previous(&self) -> Result<Option<&Kek>, VaultError> {
        let previous = match self.previous.get() {
            Some(previous) => previous,
            None => {
                let loaded = load_previous()?;
                self.previous.get_or_init(|| loaded)
            }
        };
        Ok(previous.as_ref())
    }

    /// The KEK whose id is `id`, if it is the current or the previous one.
    pub fn find(&self, id: &str) -> Result<Option<&Kek>, VaultError> {
        if self.current.id().to_string() == id {
            return Ok(Some(&self.current));
        }
        Ok(self.previous()?.filter(|k| k.id().to_string() == id))
    }

    /// [`Keks::find`], or the error that names both variables.
    pub fn require(&self, id: &str, what: &str) -> Result<&Kek, VaultError> {
        match self.find(id)? {
            Some(kek) => Ok(kek),
            None => Err(kek_does_not_open(
                what,
                id,
                self.current.id(),
                self.previous()?.map(Kek::id),
            )),
        }
    }
}

pub fn keks() -> Result<Rc<Keks>, VaultError> {
    KEKS.with(|cell| {
        if let Some(keks) = cell.get() {
            return Ok(Rc::clone(keks));
        }
        let text = variable("kek")?.ok_or_else(|| VaultError::KeyUnavailable(KEK_HELP.into()))?;
        let current =
            Kek::parse(&text).ok_or_else(|| VaultError::KeyUnavailable(KEK_HELP.into()))?;
        let keks = Rc::new(Keks {
            current,
            previous: OnceCell::new(),
        });
        Ok(Rc::clone(cell.get_or_init(|| keks)))
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

/// Which KEK wraps the stored keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrappedBy {
    Current,
    Previous,
}

/// The stored keyring as it is now, opened with whichever configured KEK wraps it.
/// Reads only: a keyring no configured KEK opens is refused with the error that names
/// both variables, and nothing is written.
pub fn load(db: &Db, keks: &Keks) -> Result<(Keyring, WrappedBy), VaultError> {
    let row = db.run(
        "SELECT kek_id, wrapped FROM vault_keyring WHERE id = 1",
        &[],
    )?;
    let (Some(kek_id), Some(Value::Blob(wrapped))) = (
        first_text(&row, 0),
        row.rows.first().and_then(|r| r.values.get(1)),
    ) else {
        eprintln!("edgesafe-core: the keyring is missing from table vault_keyring");
        return Err(VaultError::io("the keyring is missing"));
    };
    let kek = keks.require(kek_id, "the keyring")?;
    let by = if kek.id() == keks.current().id() {
        WrappedBy::Current
    } else {
        WrappedBy::Previous
    };
    let ring = Keyring::unwrap(kek, wrapped).inspect_err(|_| {
        eprintln!("edgesafe-core: the keyring failed authentication under KEK {kek_id}");
    })?;
    Ok((ring, by))
}

/// Stores the first keyring of a vault, wrapped by `kek`, in the row migration 0003
/// left empty. Runs inside the transaction of that migration.
pub fn store_first(db: &Db, ring: Keyring, now: i64) -> Result<Rc<Keyring>, VaultError> {
    let kek = keks()?;
    let kek = kek.current();
    db.run(
        "UPDATE vault_keyring SET kek_id = ?, wrapped = ?, updated_at = ? \
         WHERE id = 1 AND wrapped IS NULL",
        &[
            Value::Text(kek.id().to_string()),
            Value::Blob(ring.wrap(kek, random::array()?)?),
            Value::Integer(now),
        ],
    )?;
    if db.changes() != 1 {
        return Err(VaultError::io("the keyring exists already"));
    }
    Ok(cache(ring))
}

/// Re-wraps the stored keyring under `kek` if another KEK wraps it. Returns the
/// keyring as stored after.
pub fn rewrap(db: &Db, keks: &Keks) -> Result<Rc<Keyring>, VaultError> {
    let now = clock::now_unix()?;
    db.transaction(|db| {
        let (ring, by) = load(db, keks)?;
        if by == WrappedBy::Previous {
            write(db, keks.current(), &ring, now)?;
        }
        Ok(ring)
    })
    .map(cache)
}

/// Adds a data key as a new term; returns its number. The keyring stays wrapped by
/// the KEK that wraps it: moving to `kek` is the start's job (`bootstrap::open_keys`),
/// which first makes sure no value still needs `kek_previous`.
pub fn rotate() -> Result<Term, VaultError> {
    let keks = keks()?;
    let now = clock::now_unix()?;
    let (term, ring) = with_db(|db| {
        db.transaction(|db| {
            let (mut ring, by) = load(db, &keks)?;
            let kek = match by {
                WrappedBy::Current => keks.current(),
                WrappedBy::Previous => keks
                    .previous()?
                    .ok_or_else(|| VaultError::io("kek_previous vanished"))?,
            };
            let term = ring.add_term(Zeroizing::new(random::array()?), now)?;
            write(db, kek, &ring, now)?;
            Ok((term, ring))
        })
    })?;
    cache(ring);
    Ok(term)
}

fn write(db: &Db, kek: &Kek, ring: &Keyring, now: i64) -> Result<(), VaultError> {
    db.run(
        "UPDATE vault_keyring SET kek_id = ?, wrapped = ?, updated_at = ? WHERE id = 1",
        &[
            Value::Text(kek.id().to_string()),
            Value::Blob(ring.wrap(kek, random::array()?)?),
            Value::Integer(now),
        ],
    )?;
    Ok(())
}

/// The id of the KEK that wraps the stored keyring.
pub fn wrapping_kek_id(db: &Db) -> Result<String, VaultError> {
    let row = db.run("SELECT kek_id FROM vault_keyring WHERE id = 1", &[])?;
    first_text(&row, 0)
        .map(str::to_owned)
        .ok_or_else(|| VaultError::io("the keyring is missing"))
}

/// Makes `ring` the instance's keyring.
pub fn cache(ring: Keyring) -> Rc<Keyring> {
    let ring = Rc::new(ring);
    RING.with(|cell| *cell.borrow_mut() = Some(Rc::clone(&ring)));
    ring
}

fn cached() -> Option<Rc<Keyring>> {
    RING.with(|cell| cell.borrow().clone())
}

/// The instance's keyring. Opening the database opens it (see `bootstrap::open_keys`),
/// so the first call of an instance is the one that may fail.
pub fn keyring() -> Result<Rc<Keyring>, VaultError> {
    if let Some(ring) = cached() {
        return Ok(ring);
    }
    with_db(keyring_in)
}

/// [`keyring`] for code that already holds the connection (or is opening it).
pub fn keyring_in(db: &Db) -> Result<Rc<Keyring>, VaultError> {
    match cached() {
        Some(ring) => Ok(ring),
        None => reload(db),
    }
}

/// The stored keyring as it is now (with terms other instances added), made the
/// instance's.
pub fn reload(db: &Db) -> Result<Rc<Keyring>, VaultError> {
    let (ring, _) = load(db, &*keks()?)?;
    Ok(cache(ring))
}

/// The data key of `term`. A term this instance has not seen is looked up again, since
/// another instance may have added it.
pub fn term_key(db: &Db, term: Term) -> Result<SecretKey, VaultError> {
    let mut ring = keyring_in(db)?;
    if ring.term(term).is_none() {
        ring = reload(db)?;
    }
    match ring.term(term) {
        Some(key) => Ok(key.key.clone()),
        None => {
            eprintln!(
                "edgesafe-core: a sealed value names keyring term {term}, which does not exist"
            );
            Err(VaultError::Tampered)
        }
    }
}

pub type SystemKey = SecretKey;

/// HMAC key for API key and session token digests.
pub fn digest_key() -> Result<SystemKey, VaultError> {
    Ok(keyring()?.digest_key().clone())
}

/// HMAC key for the audit chain.
pub fn audit_key() -> Result<SystemKey, VaultError> {
    Ok(keyring()?.audit_key().clone())
}
