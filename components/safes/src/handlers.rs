//! The safes area's handlers, one per route and method.
//!
//! Each one checks, in this order: the Secrets-Safe feature level its [`Endpoint`]
//! needs (403), the caller's flags on the safe (no Read: 404, exactly like a missing
//! safe; Read without the endpoint's flag: 403), the input (415/400), the
//! objects it touches (404/409), and only then writes, in one transaction. Refusals
//! of an existing safe and every change are recorded in the audit trail.

use edgesafe_api_common::response::{empty, json, Response};
use edgesafe_api_common::vault::Decision;
use edgesafe_api_common::{time, ApiError, Result};
use edgesafe_secrets_safe::ids::SafeId;
use edgesafe_secrets_safe::permissions::PERMISSION_NAMES;
use edgesafe_secrets_safe::{feature_access, folders, Access, Endpoint, Flags, Folder};
use http::StatusCode;

use crate::dto::{GrantIn, GrantOut, PermissionNameOut, PrincipalKind, RevokeIn, SafeIn, SafeOut};
use crate::store::{self, GuardedWrite};
use crate::Ctx;

const SAFE_LIST: &str = "safes.safe.list";
const SAFE_READ: &str = "safes.safe.read";
const SAFE_CREATE: &str = "safes.safe.create";
const SAFE_UPDATE: &str = "safes.safe.update";
const SAFE_DELETE: &str = "safes.safe.delete";
const PERMISSION_NAMES_READ: &str = "safes.permission.names";
const PERMISSION_LIST: &str = "safes.permission.list";
const PERMISSION_GRANT: &str = "safes.permission.grant";
const PERMISSION_REVOKE: &str = "safes.permission.revoke";

/// Refusing to leave a safe that nobody but administrators could manage.
const LAST_MANAGER: &str =
    "PermissionFlags: the safe must keep a manager; grant Manage to another user or group first";

/// The one answer for a principal that does not exist and one the caller may not see.
const NOT_NAMEABLE: &str = "no such user or group among those you can see: yourself, your groups, \
     and principals with a grant on a safe you can read";

fn safe_target(id: &str) -> String {
    format!("safe:{id}")
}

/// The safe `id`, when the caller holds the flag `endpoint` needs on it. A safe the caller may not read
/// answers 404 like a missing one (the real reason only in the audit trail); a folder
/// id answers 400, but only to a caller who could see that folder.
fn authorized_safe(
    ctx: &Ctx,
    access: &Access<'_>,
    id: &str,
    endpoint: Endpoint,
    action: &str,
) -> Result<(Folder, Flags)> {
    let need = endpoint.safe_flag();
    let folder = folders::load(id)?.ok_or_else(ApiError::not_found)?;
    let target = safe_target(id);
    let flags = access
        .require_on_safe(&folder.safe_id, Flags::READ)
        .inspect_err(|_| {
            ctx.audit(action, &target, Decision::Deny, Some("no Read on the safe"));
        })?;
    if !folder.is_safe() {
        return Err(ApiError::bad_request("id", "is a folder, not a safe"));
    }
    if !flags.contains(need) {
        let note = format!("needs {} on the safe", need.names().join(", "));
        ctx.audit(action, &target, Decision::Deny, Some(&note));
        return Err(ApiError::forbidden());
    }
    Ok((folder, flags))
}

// ---------------------------------------------------------------- safes

/// `GET secrets-safe/safes`: the safes the caller may read (administrators: all).
pub fn get_safes(ctx: &Ctx) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SafeList, SAFE_LIST, "safes")?;
    let readable = access.readable_safes()?;
    let safes: Vec<SafeOut> = store::list_safes()?
        .iter()
        .filter_map(|safe| {
            let flags = readable.get(safe.id.as_str())?;
            Some(SafeOut::new(safe, *flags))
        })
        .collect();
    json(StatusCode::OK, &safes)
}

/// 409 when the caller sees another safe called `name` (see `store::NAME_TAKEN`).
fn refuse_seen_name(access: &Access<'_>, name: &str, except: Option<&SafeId>) -> Result<()> {
    let seen: Vec<SafeId> = access.readable_safes()?.into_keys().collect();
    if store::name_seen(name, &seen, except)? {
        return Err(ApiError::conflict(store::NAME_TAKEN));
    }
    Ok(())
}

/// `POST secrets-safe/safes`: creates a safe; its creator manages it.
pub fn post_safes(ctx: &Ctx) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SafeCreate, SAFE_CREATE, "safes")?;
    let fields = ctx.json::<SafeIn>()?.validate()?;
    refuse_seen_name(&access, &fields.name, None)?;
    let description = fields.description.unwrap_or_default();
    let user = access.principal.user_id;
    let id = store::insert_safe(&fields.name, &description, user, ctx.now)?;
    ctx.audit(
        SAFE_CREATE,
        &safe_target(&id),
        Decision::Allow,
        Some(&format!("manager=user:{user}")),
    );
    json(
        StatusCode::CREATED,
        &SafeOut {
            id,
            name: fields.name,
            secret_name: description.clone(),
            description,
            permission_flags: Flags::ALL.names(),
        },
    )
}

/// `GET secrets-safe/safes/{id}`.
pub fn get_safe(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SafeRead, SAFE_READ, &safe_target(id))?;
    let (safe, flags) = authorized_safe(ctx, &access, id, Endpoint::SafeRead, SAFE_READ)?;
    json(StatusCode::OK, &SafeOut::new(&safe, flags))
}

/// `PUT secrets-safe/safes/{id}`: renames a safe and sets its description (a left-out
/// Description keeps the stored one). Needs Update (Edit) or Manage.
pub fn put_safe(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SafeUpdate, SAFE_UPDATE, &safe_target(id))?;
    let (safe, _) = authorized_safe(ctx, &access, id, Endpoint::SafeUpdate, SAFE_UPDATE)?;
    let fields = ctx.json::<SafeIn>()?.validate()?;
    refuse_seen_name(&access, &fields.name, Some(&safe.safe_id))?;
    ctx.audited(SAFE_UPDATE, &safe_target(&safe.id), None, || {
        store::update_safe(
            &safe.id,
            &fields.name,
            fields.description.as_deref(),
            access.principal.user_id,
            ctx.now,
        )
    })?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE secrets-safe/safes/{id}`: deletes an empty safe (no secret in it or in any
/// folder under it) with its folders and grants. Needs Delete or Manage.
pub fn delete_safe(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(ctx, Endpoint::SafeDelete, SAFE_DELETE, &safe_target(id))?;
    let (safe, _) = authorized_safe(ctx, &access, id, Endpoint::SafeDelete, SAFE_DELETE)?;
    // Checked first for a clear answer; the store's foreign key closes the race.
    if store::safe_holds_secrets(&safe.id)? {
        return Err(ApiError::conflict(store::HOLDS_SECRETS));
    }
    ctx.audited(SAFE_DELETE, &safe_target(&safe.id), None, || {
        store::delete_safe(&safe.id)
    })?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- safe permissions

/// `GET secrets-safe/safes/safe-permissions`: the permission names there are.
pub fn get_safe_permission_names(ctx: &Ctx) -> Result<Response> {
    feature_access(
        ctx,
        Endpoint::PermissionNames,
        PERMISSION_NAMES_READ,
        "safe-permissions",
    )?;
    let names: Vec<PermissionNameOut> = PERMISSION_NAMES
        .iter()
        .map(|name| PermissionNameOut {
            permission_name: name,
        })
        .collect();
    json(StatusCode::OK, &names)
}

/// `GET secrets-safe/safes/{id}/safe-permissions`: every grant on the safe, expired
/// ones included. Read on the safe is enough: whoever works in a safe may see who
/// else can (the seed asks only for the Secrets-Safe read feature); changing grants
/// needs Manage.
pub fn get_safe_permissions(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::PermissionList,
        PERMISSION_LIST,
        &safe_target(id),
    )?;
    let (safe, _) = authorized_safe(ctx, &access, id, Endpoint::PermissionList, PERMISSION_LIST)?;
    let grants: Vec<GrantOut> = store::list_grants(&safe.id)?
        .iter()
        .map(GrantOut::from)
        .collect();
    json(StatusCode::OK, &grants)
}

/// `PUT secrets-safe/safes/{id}/safe-permissions`: gives a user or group exactly these
/// permissions on the safe, replacing any it had. `PermissionFlags` `[]` or `["None"]`
/// revokes (bt-cli revokes that way); left out, an existing grant keeps its flags and
/// only `ExpiresOn` changes. `ExpiresOn` left out or null means no expiry. Needs Manage.
pub fn put_safe_permissions(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::PermissionGrant,
        PERMISSION_GRANT,
        &safe_target(id),
    )?;
    let (safe, _) = authorized_safe(
        ctx,
        &access,
        id,
        Endpoint::PermissionGrant,
        PERMISSION_GRANT,
    )?;
    let grant = ctx.json::<GrantIn>()?.validate(ctx.now)?;
    let principal = grant.kind.target(grant.principal_id);
    let existing = store::find_grant(&safe.id, grant.kind, grant.principal_id)?;
    if grant.flags.is_some_and(Flags::is_empty) {
        // Revoking what is not there is already done.
        if existing.is_some() {
            revoke(ctx, &safe.id, grant.kind, grant.principal_id)?;
        }
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    // Checked only when granting: the grant of a user removed since must still be
    // revocable. A principal the caller may not name answers exactly like one that
    // does not exist (see `Access::may_name_user`).
    let nameable = match grant.kind {
        PrincipalKind::User => access.may_name_user(grant.principal_id)?,
        PrincipalKind::Group => access.may_name_group(grant.principal_id)?,
    };
    if !nameable {
        return Err(ApiError::bad_request("PrincipalID", NOT_NAMEABLE));
    }
    if grant.flags.is_none() && existing.is_none() {
        return Err(ApiError::bad_request(
            "PermissionFlags",
            "required for a principal without a grant on the safe",
        ));
    }
    let written = store::upsert_grant(
        &safe.id,
        grant.kind,
        grant.principal_id,
        grant.flags,
        grant.expires_at,
        access.principal.user_id,
        ctx.now,
    )?;
    if written == GuardedWrite::LastManager {
        return Err(ApiError::conflict(LAST_MANAGER));
    }
    let flags = grant
        .flags
        .or(existing.map(|g| g.flags))
        .unwrap_or_default();
    let expires = grant
        .expires_at
        .map_or_else(|| "never".to_owned(), time::format_utc);
    let note = format!(
        "principal={principal}; flags={}; expires={expires}",
        flags.names().join(",")
    );
    ctx.audit(
        PERMISSION_GRANT,
        &safe_target(&safe.id),
        Decision::Allow,
        Some(&note),
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE secrets-safe/safes/{id}/safe-permissions` with `{PrincipalType,
/// PrincipalID}` in the body: removes that principal's grant (404 when it has none).
/// Needs Manage.
pub fn delete_safe_permissions(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = feature_access(
        ctx,
        Endpoint::PermissionRevoke,
        PERMISSION_REVOKE,
        &safe_target(id),
    )?;
    let (safe, _) = authorized_safe(
        ctx,
        &access,
        id,
        Endpoint::PermissionRevoke,
        PERMISSION_REVOKE,
    )?;
    let (kind, principal_id) = ctx.json::<RevokeIn>()?.validate()?;
    if store::find_grant(&safe.id, kind, principal_id)?.is_none() {
        return Err(ApiError::not_found());
    }
    revoke(ctx, &safe.id, kind, principal_id)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Deletes an existing grant, unless it is the safe's last current Manage grant (409),
/// and records it.
fn revoke(ctx: &Ctx, safe_id: &str, kind: PrincipalKind, principal_id: i64) -> Result<()> {
    if store::delete_grant(safe_id, kind, principal_id, ctx.now)? == GuardedWrite::LastManager {
        return Err(ApiError::conflict(LAST_MANAGER));
    }
    let note = format!("principal={}", kind.target(principal_id));
    ctx.audit(
        PERMISSION_REVOKE,
        &safe_target(safe_id),
        Decision::Allow,
        Some(&note),
    );
    Ok(())
}
