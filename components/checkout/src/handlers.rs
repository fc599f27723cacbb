//! The checkout area's handlers, one per route and method.
//!
//! Each one checks, in this order: the Secrets-Safe feature permission (read for
//! checkouts, checkins and lists; read/write for changes; 403); the caller's view of
//! the secret (without Read on a safe that holds it, 404 exactly like a missing one,
//! the reason only in the audit trail); what the action needs beyond that (Manage on
//! the secret's safe for settings and mark-safe; the access policy and the lock for a
//! checkout); the input (415/400); and only then writes. Every checkout, checkin,
//! settings change and mark-safe commits with its audit event, which never carries the
//! value.

use edgesafe_api_common::response::{json, Response};
use edgesafe_api_common::vault::{storage, AuditEvent, Db, Decision, Outcome};
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::ids::{self, SafeId};
use edgesafe_secrets_safe::{Access, Flags};
use http::StatusCode;
use serde_json::{json as j, Value};

use crate::dto::{self, Fields, SafeSettingsIn, SecretCheckoutIn, SecretRefIn, SettingsIn};
use crate::objspec::{Model, SECRET_ACCESS, SECRET_CHECKIN, SECRET_CHECKOUT};
use crate::rules::{self, Status};
use crate::sessions::{self, CheckedOut};
use crate::store::{self, AccessRecord, Policy, RecordFilter, SecretRow};
use crate::Ctx;

pub(crate) const CHECKOUT: &str = "secret.checkout";
pub(crate) const CHECKIN: &str = "secret.checkin";
pub(crate) const EXPIRE: &str = "secret.checkout.expire";
const MARK_SAFE: &str = "secret.mark_safe";
const SETTINGS: &str = "secret.checkout_settings";
const SAFE_SETTINGS: &str = "safe.checkout_settings";
const ACCESS_LIST: &str = "secret.access.list";

/// Default and largest page of access records.
const PAGE_DEFAULT: i64 = 100;
const PAGE_MAX: i64 = 1000;

pub(crate) fn secret_target(id: &str) -> String {
    format!("secret:{id}")
}

pub(crate) fn access_target(id: i64) -> String {
    format!("secret_access:{id}")
}

pub(crate) fn ok(body: Value) -> Result<Response> {
    json(StatusCode::OK, &dto::success(body))
}

// ---------------------------------------------------------------- authorization

/// The caller's view of the safes, once the Secrets-Safe feature permission is
/// checked (read/write when `write`); a refusal is audited.
pub(crate) fn access<'a>(
    ctx: &'a Ctx,
    write: bool,
    action: &str,
    target: &str,
) -> Result<Access<'a>> {
    let access = Access::new(ctx.principal()?, ctx.now);
    access.require_feature(write).inspect_err(|_| {
        ctx.audit(
            action,
            target,
            Decision::Deny,
            Some("no Secrets-Safe feature permission"),
        )
    })?;
    Ok(access)
}

/// A secret the caller can see, with the flags held on its own safe.
pub(crate) struct Visible {
    pub secret: SecretRow,
    pub own: Flags,
}

/// The secret `id` if the caller may read it (`Access::secret_flags`); 404 otherwise,
/// like a missing one.
pub(crate) fn visible_secret(
    ctx: &Ctx,
    access: &Access<'_>,
    id: &str,
    action: &str,
) -> Result<Visible> {
    let secret = store::find_secret(id)?.ok_or_else(ApiError::not_found)?;
    let safe = SafeId::new(secret.safe_id.clone());
    if let Some(own) = access.secret_flags(&safe, &store::shared_into_safes(id)?)? {
        return Ok(Visible { secret, own });
    }
    ctx.audit(
        action,
        &secret_target(id),
        Decision::Deny,
        Some("no Read on a safe that holds the secret"),
    );
    Err(ApiError::not_found())
}

/// 403 unless the caller manages the secret's own safe.
pub(crate) fn require_manage(ctx: &Ctx, visible: &Visible, action: &str) -> Result<()> {
    if visible.own.contains(Flags::MANAGE) {
        return Ok(());
    }
    ctx.audit(
        action,
        &secret_target(&visible.secret.id),
        Decision::Deny,
        Some("needs Manage on the secret's safe"),
    );
    Err(ApiError::forbidden())
}

/// An allowed change's audit event, committed with the change.
pub(crate) fn event<'a>(
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    detail: &'a str,
) -> AuditEvent<'a> {
    AuditEvent {
        actor,
        action,
        target,
        decision: Decision::Allow,
        purpose: "write",
        detail,
    }
}

pub(crate) fn changes(outcomes: &[Outcome], index: usize) -> u64 {
    outcomes.get(index).map_or(0, |o| o.changes)
}

// ---------------------------------------------------------------- settings

/// `GET secret/{id}`: the checkout settings, and `my_checkout_id` while the caller
/// holds an active checkout.
pub fn get_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = access(ctx, false, CHECKOUT, &secret_target(id))?;
    let visible = visible_secret(ctx, &access, id, CHECKOUT)?;
    let mine = store::my_checkout(id, access.principal.user_id, ctx.now)?;
    ok(j!({ "secret": dto::secret_out(&visible.secret, mine.map(|c| c.id)) }))
}

/// `PUT secret/{id}`: changes the checkout settings; needs Manage on the safe.
pub fn put_secret(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = access(ctx, true, SETTINGS, &secret_target(id))?;
    let visible = visible_secret(ctx, &access, id, SETTINGS)?;
    require_manage(ctx, &visible, SETTINGS)?;
    let settings = ctx.json::<SettingsIn>()?.apply(&visible.secret)?;
    let user_id = access.principal.user_id;
    let actor = ctx.actor();
    let target = secret_target(id);
    let o = settings.overrides;
    let note = format!(
        "access_policy={}; checkout_exclusive={}; checkout_time_limit={:?}; \
         login_reason={:?}; require_approval={:?}; confirmation_timeout={:?}",
        settings.policy.as_str(),
        settings.exclusive,
        settings.time_limit,
        o.login_reason,
        o.require_approval,
        o.confirmation_timeout,
    );
    let detail = ctx.audit_detail(Some(&note));
    let update = store::update_settings(id, &settings, user_id, ctx.now);
    let outcomes = Db::execute_audited(vec![update], &[event(&actor, SETTINGS, &target, &detail)])?;
    if changes(&outcomes, 0) == 0 {
        // Deleted since it was read.
        return Err(ApiError::not_found());
    }
    let secret = store::find_secret(id)?.ok_or_else(ApiError::not_found)?;
    let mine = store::my_checkout(id, user_id, ctx.now)?;
    ok(j!({ "secret": dto::secret_out(&secret, mine.map(|c| c.id)) }))
}

// ---------------------------------------------------------------- checkout

/// The value a checkout hands out: the current version's text or password. A file's
/// bytes are not JSON; they stay behind the v3 download.
pub(crate) fn value_of(secret: &SecretRow) -> Result<Value> {
    if secret.kind == "file" {
        return Ok(Value::Null);
    }
    let scope = format!("secret/{}/v/{}", secret.id, secret.current_version);
    // A secret deleted since its row was read is not found, as if deleted first.
    let bytes = match storage::unseal(&scope)? {
        Some(bytes) => bytes,
        None if store::find_secret(&secret.id)?.is_none() => return Err(ApiError::not_found()),
        None => {
            return Err(ApiError::internal(format!(
                "secret {} has no sealed value for version {}",
                secret.id, secret.current_version
            )))
        }
    };
    String::from_utf8(bytes)
        .map(Value::from)
        .map_err(|_| ApiError::internal("a sealed text value is not UTF-8"))
}

fn checkout_out(
    access_id: i64,
    exclusive: bool,
    expires_at: Option<i64>,
    value: Value,
) -> Result<Response> {
    ok(j!({
        "secret_access_id": access_id.to_string(),
        "checkout_type": dto::checkout_type(exclusive),
        "expires_at": expires_at.map(edgesafe_api_common::time::format_utc),
        "value": value,
    }))
}

/// `POST secret/{id}/checkout` (body empty or `SecretCheckoutModel`): checks the
/// secret out and hands out its value. `none` refuses (403); where an approver must
/// agree (`view_on_request`, or require-approval on the safe or secret) the caller
/// needs an approved access request (`POST secret/{id}/request`) not used yet (403);
/// a `reason` is required where the settings ask for one; an exclusive checkout by
/// another user refuses (409) until it is checked in or expires. A caller who already
/// holds an active checkout gets that one again.
pub fn post_checkout(ctx: &Ctx, id: &str) -> Result<Response> {
    let target = secret_target(id);
    let access = access(ctx, false, CHECKOUT, &target)?;
    let visible = visible_secret(ctx, &access, id, CHECKOUT)?;
    let body = dto::model_body::<SecretCheckoutIn>(ctx, &SECRET_CHECKOUT, true)?;
    body.check(id)?;
    let secret = visible.secret;
    let user_id = access.principal.user_id;
    let refuse = |why: &str, error: ApiError| {
        ctx.audit(CHECKOUT, &target, Decision::Deny, Some(why));
        Err(error)
    };
    if secret.policy == Policy::None {
        return refuse("access policy none", ApiError::forbidden());
    }
    if let Some(mine) = store::my_checkout(id, user_id, ctx.now)? {
        let value = value_of(&secret)?;
        let note = format!(
            "again; access={}; version={}",
            mine.id, secret.current_version
        );
        ctx.try_audit(CHECKOUT, &target, Decision::Allow, Some(&note))?;
        return checkout_out(mine.id, mine.exclusive, mine.expires_at, value);
    }
    let settings = secret.settings();
    let reason = dto::reason("reason", body.reason.as_deref())?;
    let request = if rules::needs_approval(secret.policy, settings) {
        match store::latest_request(id, user_id, Status::Approved, ctx.now)?
            .filter(|r| r.access_id.is_none())
        {
            Some(request) => Some(request),
            None => return refuse("needs an approved access request", ApiError::forbidden()),
        }
    } else {
        None
    };
    let has_reason = reason.is_some() || request.as_ref().is_some_and(|r| r.reason.is_some());
    if settings.login_reason && !has_reason {
        return Err(ApiError::bad_request(
            "reason",
            "required: the safe asks for a reason",
        ));
    }
    match sessions::check_out(ctx, &secret, user_id, request.as_ref(), false)? {
        CheckedOut::Revealed {
            access_id,
            exclusive,
            expires_at,
            value,
        } => checkout_out(access_id, exclusive, expires_at, value),
        CheckedOut::Held => refuse(
            "held exclusively by another user",
            ApiError::conflict("secret: checked out exclusively by another user"),
        ),
    }
}

/// Checks in `record` for the caller, with its audit event. The event commits with
/// the update: should a concurrent checkin or the expiry win in between, the answer
/// is 409 while the trail shows an attempt that changed nothing, never a checkin that
/// went unrecorded.
fn checkin(ctx: &Ctx, record_id: i64, secret_id: &str) -> Result<()> {
    let actor = ctx.actor();
    let target = access_target(record_id);
    let detail = ctx.audit_detail(Some(&format!("secret={secret_id}")));
    let outcomes = Db::execute_audited(
        vec![store::checkin(record_id, ctx.now)],
        &[event(&actor, CHECKIN, &target, &detail)],
    )?;
    if changes(&outcomes, 0) == 0 {
        return Err(ApiError::conflict("secret_access: not active"));
    }
    Ok(())
}

/// `POST secret/{id}/checkin` (body empty or `SecretCheckinModel`): checks in the
/// caller's active checkout of the secret; 409 when the caller holds none.
pub fn post_checkin(ctx: &Ctx, id: &str) -> Result<Response> {
    let target = secret_target(id);
    let access = access(ctx, false, CHECKIN, &target)?;
    visible_secret(ctx, &access, id, CHECKIN)?;
    dto::model_body::<SecretRefIn>(ctx, &SECRET_CHECKIN, true)?.check(id)?;
    let Some(mine) = store::my_checkout(id, access.principal.user_id, ctx.now)? else {
        ctx.audit(
            CHECKIN,
            &target,
            Decision::Deny,
            Some("no active checkout of the caller"),
        );
        return Err(ApiError::conflict("secret: not checked out by the caller"));
    };
    checkin(ctx, mine.id, id)?;
    ok(j!({}))
}

/// `POST secret/access/{id}/checkin`: checks in one of the caller's own checkouts.
/// Someone else's is refused (403) when the caller may see it, 404 otherwise.
pub fn post_access_checkin(ctx: &Ctx, id: i64) -> Result<Response> {
    let target = access_target(id);
    let access = access(ctx, false, CHECKIN, &target)?;
    let record = store::record(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    let user_id = access.principal.user_id;
    if record.user_id != user_id {
        let managed = managed_safes(&access)?;
        let sees = access.principal.admin || managed.contains(&record.safe_id);
        ctx.audit(
            CHECKIN,
            &target,
            Decision::Deny,
            Some("someone else's checkout"),
        );
        return Err(if sees {
            ApiError::forbidden()
        } else {
            ApiError::not_found()
        });
    }
    if !record.active(ctx.now) {
        return Err(ApiError::conflict("secret_access: not active"));
    }
    checkin(ctx, id, &record.secret_id)?;
    let checked_in = store::record(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    ok(j!({ "secret_access": [{
        "id": id.to_string(),
        "checked_in_at": checked_in.checked_in_at.map(edgesafe_api_common::time::format_utc),
        "active": checked_in.active(ctx.now),
    }] }))
}

// ---------------------------------------------------------------- access records

/// Safes the caller manages (their records are the caller's to review).
pub(crate) fn managed_safes(access: &Access<'_>) -> Result<Vec<String>> {
    if access.principal.admin {
        return Ok(Vec::new());
    }
    let mut safes: Vec<String> = access
        .all_grants()?
        .into_iter()
        .filter(|(_, flags)| flags.contains(Flags::MANAGE))
        .map(|(safe, _)| safe.as_str().to_owned())
        .collect();
    safes.sort_unstable();
    Ok(safes)
}

fn records_out(ctx: &Ctx, filter: &RecordFilter<'_>) -> Result<Response> {
    let fields = Fields::parse(&SECRET_ACCESS, ctx.query.get("fields"))?;
    let records: Vec<AccessRecord> = store::records(filter)?;
    let out = records
        .iter()
        .map(|r| dto::access_out(r, &fields, ctx.now))
        .collect::<Result<Vec<Value>>>()?;
    ok(j!({ "secret_access": out }))
}

/// The filters and page a list takes from its query: `user_id`, `active`, `limit`
/// (1 to 1000, default 100) and `offset`.
struct ListQuery {
    of_user: Option<i64>,
    active: Option<bool>,
    limit: i64,
    offset: i64,
}

impl ListQuery {
    fn parse(ctx: &Ctx) -> Result<Self> {
        Ok(ListQuery {
            of_user: ctx.query.int("user_id", 1, i64::MAX)?,
            active: ctx.query.bool("active")?,
            limit: ctx.query.int("limit", 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT),
            offset: ctx
                .query
                .int("offset", 0, i64::from(i32::MAX))?
                .unwrap_or(0),
        })
    }
}

/// `GET secret/access`: the caller's own records, and every record of the safes the
/// caller manages (all of them for an administrator). Filters `secret_id`, `user_id`,
/// `active`; `fields`, `limit`, `offset`.
pub fn get_accesses(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, ACCESS_LIST, "secret_access")?;
    let list = ListQuery::parse(ctx)?;
    let secret_id = match ctx.query.get("secret_id") {
        Some(id) => Some(ids::body_id("secret_id", id)?),
        None => None,
    };
    let managed = managed_safes(&access)?;
    records_out(
        ctx,
        &RecordFilter {
            all: access.principal.admin,
            user_id: access.principal.user_id,
            managed_safes: &managed,
            secret_id: secret_id.as_deref(),
            of_user: list.of_user,
            active: list.active,
            limit: list.limit,
            offset: list.offset,
            now: ctx.now,
        },
    )
}

/// `GET secret/{id}/access`: the secret's records; all of them for its safe's
/// managers, the caller's own for anyone else who may see the secret. Filters
/// `user_id`, `active`; `fields`, `limit`, `offset`.
pub fn get_secret_accesses(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = access(ctx, false, ACCESS_LIST, &secret_target(id))?;
    let visible = visible_secret(ctx, &access, id, ACCESS_LIST)?;
    let list = ListQuery::parse(ctx)?;
    records_out(
        ctx,
        &RecordFilter {
            all: visible.own.contains(Flags::MANAGE),
            user_id: access.principal.user_id,
            managed_safes: &[],
            secret_id: Some(id),
            of_user: list.of_user,
            active: list.active,
            limit: list.limit,
            offset: list.offset,
            now: ctx.now,
        },
    )
}

/// `POST secret/{id}/mark_safe`: the secret's records are reviewed; their exposure is
/// cleared. Needs Manage on the secret's safe.
pub fn post_mark_safe(ctx: &Ctx, id: &str) -> Result<Response> {
    let target = secret_target(id);
    let access = access(ctx, true, MARK_SAFE, &target)?;
    let visible = visible_secret(ctx, &access, id, MARK_SAFE)?;
    require_manage(ctx, &visible, MARK_SAFE)?;
    let actor = ctx.actor();
    let detail = ctx.audit_detail(Some("records of the secret marked safe"));
    Db::execute_audited(
        vec![store::mark_safe(id, access.principal.user_id, ctx.now)],
        &[event(&actor, MARK_SAFE, &target, &detail)],
    )?;
    ok(j!({}))
}

// ---------------------------------------------------------------- objspec

/// `GET objspec/{model}`: the model's attributes.
pub fn get_objspec(model: &Model) -> Result<Response> {
    ok(j!({ "name": model.name, "attributes": model.attributes }))
}

// ---------------------------------------------------------------- safe settings

/// The safe `id` with the caller's flags on it: 404 without Read (like a missing one).
fn visible_safe(ctx: &Ctx, access: &Access<'_>, id: &str, action: &str) -> Result<(String, Flags)> {
    let name = store::safe_name(id)?.ok_or_else(ApiError::not_found)?;
    let flags = access.flags_on(&SafeId::new(id))?;
    if !access.can_see(flags) {
        ctx.audit(
            action,
            &format!("safe:{id}"),
            Decision::Deny,
            Some("no Read on the safe"),
        );
        return Err(ApiError::not_found());
    }
    Ok((name, flags))
}

/// `GET collection/{id}`: a safe's checkout settings; needs Read on the safe.
pub fn get_collection(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = access(ctx, false, SAFE_SETTINGS, &format!("safe:{id}"))?;
    let (name, _) = visible_safe(ctx, &access, id, SAFE_SETTINGS)?;
    let settings = store::safe_settings(id)?;
    ok(j!({ "collection": dto::collection_out(id, &name, settings) }))
}

/// `PUT collection/{id}`: changes a safe's checkout settings; needs Manage on it.
pub fn put_collection(ctx: &Ctx, id: &str) -> Result<Response> {
    let target = format!("safe:{id}");
    let access = access(ctx, true, SAFE_SETTINGS, &target)?;
    let (name, flags) = visible_safe(ctx, &access, id, SAFE_SETTINGS)?;
    if !flags.contains(Flags::MANAGE) {
        ctx.audit(
            SAFE_SETTINGS,
            &target,
            Decision::Deny,
            Some("needs Manage on the safe"),
        );
        return Err(ApiError::forbidden());
    }
    let settings = ctx
        .json::<SafeSettingsIn>()?
        .apply(store::safe_settings(id)?)?;
    let note = format!(
        "login_reason={}; require_approval={}; confirmation_timeout={:?}",
        settings.login_reason, settings.require_approval, settings.confirmation_timeout
    );
    let actor = ctx.actor();
    let detail = ctx.audit_detail(Some(&note));
    Db::execute_audited(
        vec![store::put_safe_settings(
            id,
            settings,
            access.principal.user_id,
            ctx.now,
        )],
        &[event(&actor, SAFE_SETTINGS, &target, &detail)],
    )?;
    ok(j!({ "collection": dto::collection_out(id, &name, settings) }))
}
