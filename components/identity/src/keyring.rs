//! The vault's keyring for administrators, on the v2 protocol (DESIGN.md section 5):
//! its status, a new data-key term, and bounded re-seals of values to the newest term.
//! Rotating the key-encryption key needs no call: see README, "Key rotation".
//!
//! Every call is for administrators only; a refusal is a 403 and an audit event, and
//! each rotation and re-seal is an audit event. No key material reaches this
//! component: the vault answers with term numbers, counts and the wrapping key's id.

use edgesafe_api_common::response::{json, Response};
use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::vault::{keyring, Decision};
use edgesafe_api_common::{ErrorCode, Result};
use http::StatusCode;

use crate::Ctx;

const TARGET: &str = "vault:keyring";
/// Values one re-seal call moves when `limit` is not given, and at most.
const DEFAULT_RESEAL_LIMIT: i64 = 100;
const MAX_RESEAL_LIMIT: i64 = 1000;

/// `GET /api/v2/vault/keyring`: the terms (number, creation time, values sealed under
/// each), the id of the key-encryption key that wraps the keyring, and how many values
/// are still sealed directly under a key-encryption key (vaults made before the keyring).
pub fn get_keyring(ctx: &Ctx) -> Result<Response> {
    require_admin(ctx, "vault.keyring.read")?;
    let status = keyring::status()?;
    let terms: Vec<_> = status
        .terms
        .iter()
        .map(|t| {
            serde_json::json!({
                "term": t.term,
                "created_at": format_utc(t.created_at),
                "values": t.values,
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "result": "success",
            "keyring": {
                "kek_id": status.kek_id,
                "newest_term": status.terms.last().map(|t| t.term),
                "terms": terms,
                "kek_sealed_values": status.kek_sealed_values,
            },
        }),
    )
}

/// `POST /api/v2/vault/keyring/rotate`: adds a data key as a new term; new values are
/// sealed under it, older ones stay readable under theirs.
pub fn post_keyring_rotate(ctx: &Ctx) -> Result<Response> {
    let action = "vault.keyring.rotate";
    require_admin(ctx, action)?;
    let term = keyring::rotate()?;
    ctx.audit(
        action,
        TARGET,
        Decision::Allow,
        Some(&format!("term={term}")),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({ "result": "success", "term": term }),
    )
}

/// `POST /api/v2/vault/keyring/reseal?limit=N`: moves up to N (1 to 1000, default 100)
/// values from older terms to the newest; `remaining` says how many are left to move.
pub fn post_keyring_reseal(ctx: &Ctx) -> Result<Response> {
    let action = "vault.keyring.reseal";
    require_admin(ctx, action)?;
    let limit = ctx
        .query
        .int("limit", 1, MAX_RESEAL_LIMIT)?
        .unwrap_or(DEFAULT_RESEAL_LIMIT);
    // In range by the check above.
    let outcome = keyring::reseal(limit as u32)?;
    ctx.audit(
        action,
        TARGET,
        Decision::Allow,
        Some(&format!(
            "resealed={}; remaining={}",
            outcome.resealed, outcome.remaining
        )),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({
            "result": "success",
            "resealed": outcome.resealed,
            "remaining": outcome.remaining,
        }),
    )
}

/// [`Ctx::admin`], which records a refused write, also recording a refused read: who
/// probes the keyring is worth knowing.
fn require_admin(ctx: &Ctx, action: &str) -> Result<()> {
    match ctx.admin(action, TARGET) {
        Ok(_) => Ok(()),
        Err(e) => {
            if e.code() == ErrorCode::Forbidden && !ctx.is_write() {
                ctx.audit(action, TARGET, Decision::Deny, None);
            }
            Err(e)
        }
    }
}
