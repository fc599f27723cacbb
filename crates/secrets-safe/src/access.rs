//! Who may do what to which safe: the feature permission, then the grants on the safe
//! (user grants and the grants of the user's active groups combine; expired grants
//! count as none; administrators may do everything).

use crate::folders::{self, Folder};
use crate::permissions::Flags;
use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::principal::{LEVEL_READ, LEVEL_WRITE};
use edgesafe_api_common::vault::{Db, Decision, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Principal, Result};
use std::collections::HashMap;

/// The feature permission key of Secrets Safe (PermissionID 1).
pub const FEATURE: &str = "secrets_safe";

const GRANTS_SQL: &str = "SELECT safe_id, flags FROM safe_permissions
    WHERE (expires_at IS NULL OR expires_at > ?1)
      AND ((principal_type = 0 AND principal_id = ?2)
        OR (principal_type = 1 AND principal_id IN (
              SELECT m.group_id FROM group_members m
              JOIN user_groups g ON g.id = m.group_id AND g.is_active = 1
              WHERE m.user_id = ?2)))";

/// A principal's view of the safes at one moment.
pub struct Access<'a> {
    pub principal: &'a Principal,
    now: i64,
}

impl<'a> Access<'a> {
    pub fn new(principal: &'a Principal, now: i64) -> Self {
        Self { principal, now }
    }

    /// The caller's view of the safes at the request's moment, once the Secrets-Safe
    /// feature permission is checked: read for a GET, read/write otherwise (403).
    pub fn for_request(ctx: &'a Ctx) -> Result<Self> {
        let access = Self::new(ctx.principal()?, ctx.now);
        access.require_feature(ctx.is_write())?;
        Ok(access)
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    /// Secrets-Safe (Read) for reads, (Read/Write) for writes: 403 without it.
    pub fn require_feature(&self, write: bool) -> Result<()> {
        let level = if write { LEVEL_WRITE } else { LEVEL_READ };
        if self.principal.can(FEATURE, level) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Effective permissions on every safe the principal has any grant on.
    pub fn all_grants(&self) -> Result<HashMap<String, Flags>> {
        let rows = Db::query(
            GRANTS_SQL,
            &[
                Value::Integer(self.now),
                Value::Integer(self.principal.user_id),
            ],
        )?;
        let mut grants: HashMap<String, Flags> = HashMap::new();
        for row in rows.iter() {
            let flags = Flags::from_bits(row.i64("flags")?);
            let entry = grants.entry(row.string("safe_id")?).or_default();
            *entry = entry.union(flags);
        }
        Ok(grants)
    }

    /// Effective permissions on one safe.
    pub fn flags_on(&self, safe_id: &str) -> Result<Flags> {
        if self.principal.admin {
            return Ok(Flags::ALL);
        }
        Ok(self.all_grants()?.remove(safe_id).unwrap_or_default())
    }

    /// Whether the principal may see objects of a safe with these flags.
    pub fn can_see(&self, flags: Flags) -> bool {
        flags.contains(Flags::READ)
    }

    /// Checks `need` on a safe: without Read the object does not exist for the caller
    /// (404); with Read but not `need`, 403.
    pub fn require_on_safe(&self, safe_id: &str, need: Flags) -> Result<Flags> {
        let flags = self.flags_on(safe_id)?;
        if !self.can_see(flags) {
            return Err(ApiError::not_found());
        }
        if !flags.contains(need) {
            return Err(ApiError::forbidden());
        }
        Ok(flags)
    }

    /// The folder `id` (a safe or a folder), when the principal holds `need` on its safe.
    pub fn folder(&self, id: &str, need: Flags) -> Result<Folder> {
        let folder = folders::load(id)?.ok_or_else(ApiError::not_found)?;
        self.require_on_safe(&folder.safe_id, need)?;
        Ok(folder)
    }

    /// Safe ids the principal may read, with their flags (every safe for an admin).
    pub fn readable_safes(&self) -> Result<HashMap<String, Flags>> {
        if self.principal.admin {
            let rows = Db::query("SELECT id FROM folders WHERE parent_id IS NULL", &[])?;
            return rows
                .iter()
                .map(|r| Ok((r.string("id")?, Flags::ALL)))
                .collect();
        }
        Ok(self
            .all_grants()?
            .into_iter()
            .filter(|(_, f)| self.can_see(*f))
            .collect())
    }
}

/// [`Access::for_request`], with a refused feature permission recorded in the audit
/// trail against `action` and `target`.
pub fn feature_access<'a>(ctx: &'a Ctx, action: &str, target: &str) -> Result<Access<'a>> {
    Access::for_request(ctx).inspect_err(|e| {
        if e.code() == ErrorCode::Forbidden {
            ctx.audit(
                action,
                target,
                Decision::Deny,
                Some("no Secrets-Safe feature permission"),
            );
        }
    })
}
