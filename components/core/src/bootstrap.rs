//! The first run of a vault: system keys and the first administrator. It runs inside
//! the transaction of the first migration, so it happens exactly once per database
//! even when several first requests arrive together.

use spin_sdk::sqlite3::Value;

use crate::db::{first_integer, Db};
use crate::digests::token_digest;
use crate::error::VaultError;
use crate::keys::{self, AUDIT_KEY_SCOPE, DIGEST_KEY_SCOPE};

const DEFAULT_ADMIN: &str = "admin";
/// Below this an API key is guessable; the vault still starts, but says so.
const WEAK_API_KEY_LEN: usize = 16;

pub fn first_run(db: &Db, now: i64) -> Result<(), VaultError> {
    let ring = keys::keyring()?;
    let digest_key = keys::provision_system_key(&ring, DIGEST_KEY_SCOPE)?;
    keys::provision_system_key(&ring, AUDIT_KEY_SCOPE)?;
    create_first_admin(db, &digest_key, now)
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
