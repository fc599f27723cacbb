//! The start of the vault: its keys are opened before anything else touches the
//! database, a new vault gets its keyring and first administrator, and a vault made
//! before the keyring gets one built from its existing keys.
//!
//! Migrations call in here: [`open_keys`] before any of them, [`after_migrations`] in
//! their transaction (so the first run, or the upgrade, happens exactly once per
//! database even when several first requests arrive together), and
//! [`finish_upgrade`] after it commits.

use spin_sdk::sqlite3::Value;
use zeroize::Zeroizing;

use crate::db::{first_integer, Db};
use crate::digests::token_digest;
use crate::envelope::SecretKey;
use crate::error::VaultError;
use crate::keyring::Keyring;
use crate::keys::{self, WrappedBy};
use crate::{random, sealed};

/// The schema version from which a vault has a keyring (migration 0003).
const KEYRING_SCHEMA: u32 = 3;
/// Where a vault made before the keyring kept its system keys, sealed under a KEK.
const FORMER_DIGEST_KEY_SCOPE: &str = "system/digest-key";
const FORMER_AUDIT_KEY_SCOPE: &str = "system/audit-key";

const DEFAULT_ADMIN: &str = "admin";
/// Below this an API key is guessable; the vault still starts, but says so.
const WEAK_API_KEY_LEN: usize = 16;

/// Opens the vault's keys for this instance, given the schema version `applied`. Only
/// reads until the keys are known to open: a vault that neither `kek` nor
/// `kek_previous` opens is refused with an error naming both, and left untouched.
///
/// A keyring still wrapped by `kek_previous` is re-wrapped under `kek` here, so one
/// start with both set completes a KEK rotation. Values sealed directly under a KEK (by
/// a vault made before the keyring) are re-sealed first: the re-wrap waits until none
/// is left, since after it `kek_previous` may go and those values with it.
pub fn open_keys(db: &Db, applied: u32) -> Result<(), VaultError> {
    let keks = keys::keks()?;
    if applied == 0 {
        // A new vault: `first_run` makes the keyring.
        return Ok(());
    }
    if applied < KEYRING_SCHEMA {
        former_system_keys()?;
        return Ok(());
    }
    let (ring, by) = keys::load(db, &keks)?;
    let ring = keys::cache(ring);
    if by == WrappedBy::Current {
        return Ok(());
    }
    let left = reseal_kek_sealed(db, &ring);
    if left > 0 {
        eprintln!(
            "edgesafe-core: the keyring stays wrapped by `kek_previous` until the {left} values \
             sealed before the keyring are re-sealed (see the keyring status); keep `kek_previous`"
        );
        return Ok(());
    }
    match keys::rewrap(db, &keks) {
        Ok(_) => eprintln!(
            "edgesafe-core: the keyring is now wrapped by `kek` (key id {}); `kek_previous` is no longer needed",
            keks.current().id()
        ),
        // Still open with `kek_previous`; the next instance tries again.
        Err(e) => eprintln!("edgesafe-core: could not re-wrap the keyring under `kek`: {e}"),
    }
    Ok(())
}

/// The first run of a new vault, or the upgrade of one made before the keyring, in the
/// transaction that applied the migrations after `applied`. Whether it upgraded.
pub fn after_migrations(db: &Db, applied: u32, now: i64) -> Result<bool, VaultError> {
    if applied == 0 {
        first_run(db, now)?;
        Ok(false)
    } else if applied < KEYRING_SCHEMA {
        upgrade(db, now)?;
        Ok(true)
    } else {
        Ok(false)
    }
}

fn first_run(db: &Db, now: i64) -> Result<(), VaultError> {
    let ring = Keyring::new(
        Zeroizing::new(random::array()?),
        Zeroizing::new(random::array()?),
        Zeroizing::new(random::array()?),
        now,
    );
    let ring = keys::store_first(db, ring, now)?;
    create_first_admin(db, ring.digest_key(), now)
}

/// A vault made before the keyring: its system keys go into a new keyring (so API keys
/// and the audit chain keep working), and its values are recorded as sealed under a
/// KEK, to be re-sealed by [`finish_upgrade`].
fn upgrade(db: &Db, now: i64) -> Result<(), VaultError> {
    let (digest_key, audit_key) = former_system_keys()?;
    let ring = Keyring::new(digest_key, audit_key, Zeroizing::new(random::array()?), now);
    keys::store_first(db, ring, now)?;
    let values = sealed::track_kek_sealed(db)?;
    eprintln!(
        "edgesafe-core: the vault now has a keyring; re-sealing its {values} values under it"
    );
    Ok(())
}

/// After the upgrade commits: re-seals the values sealed under a KEK, and deletes the
/// former system keys, which the keyring now holds. What is left (an interrupted start)
/// is re-sealed by the next start that re-wraps the keyring, or by an admin re-seal.
pub fn finish_upgrade(db: &Db) {
    match keys::keyring_in(db) {
        Ok(ring) => {
            let left = reseal_kek_sealed(db, &ring);
            if left > 0 {
                eprintln!(
                    "edgesafe-core: {left} values sealed before the keyring are not re-sealed yet"
                );
            }
        }
        Err(e) => {
            eprintln!("edgesafe-core: cannot re-seal the values sealed before the keyring: {e}")
        }
    }
    for scope in [FORMER_DIGEST_KEY_SCOPE, FORMER_AUDIT_KEY_SCOPE] {
        if let Err(e) = sealed::delete_reserved(scope) {
            eprintln!("edgesafe-core: could not delete the former system key `{scope}`: {e}");
        }
    }
}

/// Re-seals every value sealed directly under a KEK; returns how many are left (all
/// of them when the re-seal failed, which is logged).
fn reseal_kek_sealed(db: &Db, ring: &Keyring) -> u64 {
    match sealed::reseal(db, ring, 1, u32::MAX) {
        Ok(outcome) => outcome.remaining,
        Err(e) => {
            eprintln!("edgesafe-core: re-sealing values sealed before the keyring failed: {e}");
            sealed::kek_sealed_count(db).unwrap_or(u64::MAX)
        }
    }
}

/// The token digest key and audit key of a vault made before the keyring; they must
/// open with `kek` or `kek_previous`.
fn former_system_keys() -> Result<(SecretKey, SecretKey), VaultError> {
    let load = |scope: &str| {
        sealed::load_kek_sealed_key(scope)?.ok_or_else(|| {
            eprintln!("edgesafe-core: system key `{scope}` is missing from the key-value store");
            VaultError::io(format!(
                "system key `{scope}` is missing from the key-value store"
            ))
        })
    };
    Ok((
        load(FORMER_DIGEST_KEY_SCOPE)?,
        load(FORMER_AUDIT_KEY_SCOPE)?,
    ))
}

fn create_first_admin(db: &Db, digest_key: &[u8; 32], now: i64) -> Result<(), VaultError> {
    let Some(api_key) = keys::variable("admin_api_key")? else {
        eprintln!("edgesafe-core: no administrator created: variable `admin_api_key` is not set");
        return Ok(());
    };
    let api_key = api_key.trim();
    if api_key.is_empty() {
        eprintln!("edgesafe-core: no administrator created: variable `admin_api_key` is empty");
        return Ok(());
    }
    if api_key.len() < WEAK_API_KEY_LEN {
        eprintln!(
            "edgesafe-core: variable `admin_api_key` is shorter than {WEAK_API_KEY_LEN} characters; use a long random key"
        );
    }
    let users = db.run("SELECT EXISTS (SELECT 1 FROM users)", &[])?;
    if first_integer(&users, 0) != Some(0) {
        return Ok(());
    }
    let user_name = keys::variable("admin_user")?
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN.to_string());
    db.run(
        "INSERT INTO users (user_name, is_admin, created_at, modified_at) VALUES (?, 1, ?, ?)",
        &[
            Value::Text(user_name),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )?;
    let user_id = db.last_insert_rowid();
    db.run(
        "INSERT INTO credentials (user_id, kind, label, scopes, digest, created_at) \
         VALUES (?, 'api_key', 'bootstrap', '', ?, ?)",
        &[
            Value::Integer(user_id),
            Value::Text(token_digest(digest_key, api_key)),
            Value::Integer(now),
        ],
    )?;
    eprintln!("edgesafe-core: created the first administrator (user id {user_id})");
    Ok(())
}
