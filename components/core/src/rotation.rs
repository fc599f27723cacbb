//! keyring.status, keyring.rotate and keyring.reseal: the key rotation an
//! administrator drives (the caller checks who may). KEK rotation needs no call: a
//! start with `kek_previous` set re-wraps the keyring (see `bootstrap::open_keys`).

use crate::db::with_db;
use crate::envelope::Term;
use crate::error::VaultError;
use crate::keys;
use crate::sealed::{self, Resealed, KEK_SEALED};

/// The most values one re-seal call moves, so that one call stays short.
pub const MAX_RESEAL_BATCH: u32 = 1000;

pub struct TermStatus {
    pub term: Term,
    pub created_at: i64,
    pub values: u64,
}

pub struct Status {
    /// Id of the KEK that wraps the keyring (not the key).
    pub kek_id: String,
    /// Oldest first; the last one seals new values.
    pub terms: Vec<TermStatus>,
    /// Values sealed directly under a KEK by a vault made before the keyring.
    pub kek_sealed: u64,
}

pub fn status() -> Result<Status, VaultError> {
    with_db(|db| {
        // As stored now: other instances may have added terms.
        let ring = keys::reload(db)?;
        let kek_id = keys::wrapping_kek_id(db)?;
        let counts = sealed::counts(db)?;
        let count = |term: i64| {
            counts
                .iter()
                .find(|(t, _)| *t == term)
                .map_or(0, |(_, n)| *n)
        };
        Ok(Status {
            kek_id,
            terms: ring
                .terms()
                .map(|(term, created_at)| TermStatus {
                    term,
                    created_at,
                    values: count(i64::from(term)),
                })
                .collect(),
            kek_sealed: count(KEK_SEALED),
        })
    })
}

/// Adds a data key as a new term, which seals every new value from now on.
pub fn rotate() -> Result<Term, VaultError> {
    let term = keys::rotate()?;
    eprintln!("edgesafe-core: added keyring term {term}");
    Ok(term)
}

/// Moves up to `limit` values from older terms to the newest.
pub fn reseal(limit: u32) -> Result<Resealed, VaultError> {
    if limit == 0 || limit > MAX_RESEAL_BATCH {
        return Err(VaultError::invalid(format!(
            "reseal limit must be 1 to {MAX_RESEAL_BATCH}"
        )));
    }
    with_db(|db| {
        let ring = keys::reload(db)?;
        let newest = ring.newest().0;
        sealed::reseal(db, &ring, newest, limit)
    })
}
