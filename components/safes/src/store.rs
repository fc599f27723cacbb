//! All of the safes area's SQL. Parameters are always bound, never formatted in;
//! every change is one `Db::execute` (one transaction).
//!
//! A safe is a row of `folders` without a parent whose `safe_id` is its own id; grants
//! are rows of `safe_permissions`.

use edgesafe_api_common::vault::{statement, Db, Outcome, Row, Statement};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::folders::{Folder, COLUMNS};
use edgesafe_secrets_safe::ids::SafeId;
use edgesafe_secrets_safe::{ids, Flags};

use crate::dto::PrincipalKind;

/// Safe names are unique, whatever their case, among the safes one caller sees (an
/// administrator sees them all): a safe the caller cannot see never makes his name
/// taken, so a 409 tells him nothing he could not list. The index
/// `safes_unique_name_per_owner` (migration 0004) is the one uniqueness rule a safe
/// write can break in the database.
pub const NAME_TAKEN: &str = "Name: a safe with this name already exists";

/// A safe write that hit a uniqueness rule gets the name message; anything else
/// passes through.
fn name_conflict(e: ApiError) -> ApiError {
    if e.code() == ErrorCode::Conflict {
        ApiError::conflict(NAME_TAKEN)
    } else {
        e
    }
}

// ---------------------------------------------------------------- safes

/// Every safe, by name.
pub fn list_safes() -> Result<Vec<Folder>> {
    Db::query(
        &format!(
            "SELECT {COLUMNS} FROM folders WHERE parent_id IS NULL AND personal_user_id IS NULL
             ORDER BY name COLLATE NOCASE, id"
        ),
        &[],
    )?
    .iter()
    .map(|r| Folder::from_row(&r))
    .collect()
}

/// Whether one of `safe_ids` other than `except` is called `name`, in any case.
pub fn name_seen(name: &str, safe_ids: &[SafeId], except: Option<&SafeId>) -> Result<bool> {
    let ids: Vec<&str> = safe_ids.iter().map(SafeId::as_str).collect();
    let ids = serde_json::to_string(&ids).map_err(|_| ApiError::internal("safe id list"))?;
    let rows = Db::query(
        "SELECT 1 AS taken FROM folders
          WHERE parent_id IS NULL AND personal_user_id IS NULL AND name = ?1 COLLATE NOCASE
            AND id IN (SELECT value FROM json_each(?2)) AND (?3 IS NULL OR id <> ?3)
          LIMIT 1",
        &[name.into(), ids.into(), except.map(SafeId::as_str).into()],
    )?;
    Ok(!rows.is_empty())
}

/// Creates a safe owned by `user` and grants `user` Manage on it, in one transaction,
/// so that no safe ever exists without its creator's grant. Returns the new id.
pub fn insert_safe(name: &str, description: &str, user: i64, now: i64) -> Result<String> {
    let id = ids::new_id();
    Db::execute(vec![
        statement(
            "INSERT INTO folders (id, parent_id, safe_id, name, description, owner_user_id,
                                  created_at, created_by, modified_at, modified_by)
             VALUES (?1, NULL, ?1, ?2, ?3, ?4, ?5, ?4, ?5, ?4)",
            vec![
                id.as_str().into(),
                name.into(),
                description.into(),
                user.into(),
                now.into(),
            ],
        ),
        insert_grant_statement(&id, PrincipalKind::User, user, Flags::ALL, None, user, now),
    ])
    .map_err(name_conflict)?;
    Ok(id)
}

/// Renames a safe and sets its description; `None` keeps the stored description.
pub fn update_safe(
    id: &str,
    name: &str,
    description: Option<&str>,
    user: i64,
    now: i64,
) -> Result<()> {
    Db::execute(vec![statement(
        "UPDATE folders SET name = ?2, description = coalesce(?3, description),
                            modified_at = ?4, modified_by = ?5
          WHERE id = ?1 AND parent_id IS NULL",
        vec![
            id.into(),
            name.into(),
            description.into(),
            now.into(),
            user.into(),
        ],
    )])
    .map_err(name_conflict)?;
    Ok(())
}

/// Whether a secret lives in the safe or in any folder under it.
pub fn safe_holds_secrets(safe_id: &str) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS held FROM secrets s JOIN folders f ON f.id = s.folder_id
          WHERE f.safe_id = ?1 LIMIT 1",
        &[safe_id.into()],
    )?;
    Ok(!rows.is_empty())
}

pub const HOLDS_SECRETS: &str = "Safe: holds secrets; delete or move them first";

/// Deletes the safe, its folders and its grants, in one transaction. Shares into its
/// folders and favourites of them go with the folders (`ON DELETE CASCADE`). A secret
/// still in one of its folders makes the folder delete break `secrets.folder_id`'s
/// foreign key, so a secret written after the caller's check still stops the delete
/// (409) instead of being orphaned.
pub fn delete_safe(safe_id: &str) -> Result<()> {
    Db::execute(vec![
        statement(
            "DELETE FROM safe_permissions WHERE safe_id = ?1",
            vec![safe_id.into()],
        ),
        // One statement for the whole tree: SQLite checks `parent_id`'s foreign key
        // at the end of the statement, when the children are gone too.
        statement(
            "DELETE FROM folders WHERE safe_id = ?1",
            vec![safe_id.into()],
        ),
    ])
    .map_err(|e| {
        if e.code() == ErrorCode::Conflict {
            ApiError::conflict(HOLDS_SECRETS)
        } else {
            e
        }
    })?;
    Ok(())
}

// ---------------------------------------------------------------- grants

/// One row of `safe_permissions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub safe_id: String,
    pub kind: PrincipalKind,
    pub principal_id: i64,
    pub flags: Flags,
    pub expires_at: Option<i64>,
}

const GRANT_COLUMNS: &str = "id, safe_id, principal_type, principal_id, flags, expires_at";

impl Grant {
    fn read(row: &Row<'_>) -> Result<Self> {
        let kind = PrincipalKind::from_code(row.i64("principal_type")?)
            .ok_or_else(|| ApiError::internal("safe_permissions.principal_type out of range"))?;
        Ok(Grant {
            id: row.string("id")?,
            safe_id: row.string("safe_id")?,
            kind,
            principal_id: row.i64("principal_id")?,
            flags: Flags::from_bits(row.i64("flags")?),
            expires_at: row.opt_i64("expires_at")?,
        })
    }
}

/// Every grant on a safe, expired ones included (they still exist and can be
/// revoked); users first, then groups, by id.
pub fn list_grants(safe_id: &str) -> Result<Vec<Grant>> {
    Db::query(
        &format!(
            "SELECT {GRANT_COLUMNS} FROM safe_permissions WHERE safe_id = ?1
             ORDER BY principal_type, principal_id"
        ),
        &[safe_id.into()],
    )?
    .iter()
    .map(|r| Grant::read(&r))
    .collect()
}

pub fn find_grant(safe_id: &str, kind: PrincipalKind, principal_id: i64) -> Result<Option<Grant>> {
    Db::query(
        &format!(
            "SELECT {GRANT_COLUMNS} FROM safe_permissions
              WHERE safe_id = ?1 AND principal_type = ?2 AND principal_id = ?3"
        ),
        &[safe_id.into(), kind.code().into(), principal_id.into()],
    )?
    .iter()
    .map(|r| Grant::read(&r))
    .next()
    .transpose()
}

fn insert_grant_statement(
    safe_id: &str,
    kind: PrincipalKind,
    principal_id: i64,
    flags: Flags,
    expires_at: Option<i64>,
    by: i64,
    now: i64,
) -> Statement {
    statement(
        "INSERT INTO safe_permissions (id, safe_id, principal_type, principal_id, flags,
                                       expires_at, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            ids::new_id().into(),
            safe_id.into(),
            kind.code().into(),
            principal_id.into(),
            i64::from(flags.bits()).into(),
            expires_at.into(),
            now.into(),
            by.into(),
        ],
    )
}

/// SQL that holds when the safe `?1` keeps a current Manage grant other than the one
/// of principal (`?2`, `?3`), at time `?4`. Used as a guard inside the statement that
/// takes or lowers a grant, so that the check and the write cannot be interleaved.
const ANOTHER_MANAGER: &str = "EXISTS (SELECT 1 FROM safe_permissions o
      WHERE o.safe_id = ?1 AND (o.flags & 32) <> 0
        AND (o.expires_at IS NULL OR o.expires_at > ?4)
        AND NOT (o.principal_type = ?2 AND o.principal_id = ?3))";

/// The target grant is not a current Manage grant (so changing it leaves the safe's
/// managers as they are), written for the row named `g`.
const NOT_A_CURRENT_MANAGER: &str =
    "((g.flags & 32) = 0 OR (g.expires_at IS NOT NULL AND g.expires_at <= ?4))";

/// What a guarded write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardedWrite {
    Done,
    /// Refused: it would have left the safe without a current Manage grant.
    LastManager,
}

/// Creates or replaces the grant of a principal on a safe (one row per safe and
/// principal; its `Id` survives updates). `flags` `None` keeps an existing grant's
/// flags. Taking Manage away from the safe's last current manager is refused.
pub fn upsert_grant(
    safe_id: &str,
    kind: PrincipalKind,
    principal_id: i64,
    flags: Option<Flags>,
    expires_at: Option<i64>,
    by: i64,
    now: i64,
) -> Result<GuardedWrite> {
    // A new grant without flags is a grant of nothing (the caller refuses that).
    let new_flags = flags.unwrap_or(Flags::NONE);
    let sql = format!(
        "INSERT INTO safe_permissions AS g (id, safe_id, principal_type, principal_id, flags,
                                            expires_at, created_at, created_by)
         VALUES (?5, ?1, ?2, ?3, ?6, ?7, ?4, ?8)
         ON CONFLICT (safe_id, principal_type, principal_id) DO UPDATE
            SET flags = coalesce(?9, g.flags), expires_at = excluded.expires_at
          WHERE coalesce(?9, g.flags) & 32 <> 0 OR {NOT_A_CURRENT_MANAGER} OR {ANOTHER_MANAGER}"
    );
    let outcomes = Db::execute(vec![statement(
        &sql,
        vec![
            safe_id.into(),
            kind.code().into(),
            principal_id.into(),
            now.into(),
            ids::new_id().into(),
            i64::from(new_flags.bits()).into(),
            expires_at.into(),
            by.into(),
            flags.map(|f| i64::from(f.bits())).into(),
        ],
    )])?;
    Ok(guarded(&outcomes))
}

/// Deletes the grant of a principal on a safe, unless it is the safe's last current
/// Manage grant. The caller has checked that the grant exists.
pub fn delete_grant(
    safe_id: &str,
    kind: PrincipalKind,
    principal_id: i64,
    now: i64,
) -> Result<GuardedWrite> {
    let sql = format!(
        "DELETE FROM safe_permissions AS g
          WHERE g.safe_id = ?1 AND g.principal_type = ?2 AND g.principal_id = ?3
            AND ({NOT_A_CURRENT_MANAGER} OR {ANOTHER_MANAGER})"
    );
    let outcomes = Db::execute(vec![statement(
        &sql,
        vec![
            safe_id.into(),
            kind.code().into(),
            principal_id.into(),
            now.into(),
        ],
    )])?;
    Ok(guarded(&outcomes))
}

fn guarded(outcomes: &[Outcome]) -> GuardedWrite {
    if outcomes.first().is_some_and(|o| o.changes > 0) {
        GuardedWrite::Done
    } else {
        GuardedWrite::LastManager
    }
}
