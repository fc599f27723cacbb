//! The checkout engine every entry point shares, and its v2 routes: checkout requests
//! (the access requests behind `view_on_request` and require-approval, seed 002's
//! checkout sessions, Password Safe's `Requests`: one row each), their approval, and
//! the checkout that hands out a value.
//!
//! A request is opened (approved at once when nobody needs to approve it), decided by
//! someone who manages the secret's safe (never its requester), revealed by a checkout
//! while approved, and closed by a checkin. Expiry is decided lazily from the runner's
//! clock and written down, with its audit event, by the first call that sees it.

use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::{AuditEvent, Db, Decision, Outcome, Statement};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::ids::{self, SafeId};
use edgesafe_secrets_safe::{Access, Flags};
use serde_json::{json as j, Value};

use crate::dto::{self, AccessRequestIn, CheckinIn, CheckoutIn, DecisionIn};
use crate::handlers::{
    access, access_target, event, managed_safes, ok, secret_target, value_of, visible_secret,
    CHECKIN, CHECKOUT, EXPIRE,
};
use crate::objspec;
use crate::rules::{self, Status};
use crate::store::{self, NewCheckout, NewRequest, Policy, RequestFilter, RequestRow, SecretRow};
use crate::Ctx;

pub const REQUEST: &str = "secret.request";
pub const APPROVE: &str = "secret.request.approve";
pub const REJECT: &str = "secret.request.reject";
pub const REQUEST_EXPIRE: &str = "secret.request.expire";
pub const CANCEL: &str = "secret.request.cancel";
pub const FORCE: &str = "secret.checkout.force";

fn request_target(id: i64) -> String {
    format!("checkout_request:{id}")
}

/// Audit events built up for one transaction, owned until it commits.
#[derive(Default)]
struct Events(Vec<(&'static str, String, String)>);

impl Events {
    fn push(&mut self, action: &'static str, target: String, detail: String) {
        self.0.push((action, target, detail));
    }

    /// Runs `statements` in one transaction with these events, for `ctx`'s caller.
    fn commit(&self, ctx: &Ctx, statements: Vec<Statement>) -> Result<Vec<Outcome>> {
        let actor = ctx.actor();
        let events: Vec<AuditEvent<'_>> = self
            .0
            .iter()
            .map(|(action, target, detail)| event(&actor, action, target, detail))
            .collect();
        Db::execute_audited(statements, &events)
    }
}

// ---------------------------------------------------------------- checkout

/// What a checkout came to.
pub enum CheckedOut {
    Revealed {
        access_id: i64,
        exclusive: bool,
        expires_at: Option<i64>,
        value: Value,
    },
    /// Another user holds the secret exclusively (and the caller did not force).
    Held,
}

/// Checks `secret` out for the caller and hands out its value, under `request` when
/// one approved it. An exclusive checkout of another user holds the secret: the
/// caller waits unless `force`, which takes the lock over and is recorded as `forced`
/// (the other checkout stays active: its user has seen the value). An expired lock is
/// released first. Of two racing checkouts of an exclusive secret exactly one commits
/// (the unique lock index); the other is `Held`.
pub fn check_out(
    ctx: &Ctx,
    secret: &SecretRow,
    user_id: i64,
    request: Option<&RequestRow>,
    force: bool,
) -> Result<CheckedOut> {
    let id = secret.id.as_str();
    let history_id = secret
        .history_id
        .clone()
        .ok_or_else(|| ApiError::internal(format!("secret {id} has no current version row")))?;
    let mut statements = Vec::new();
    let mut events = Events::default();
    let mut forced = false;
    if let Some((lock, expired)) = store::lock_holder(id, ctx.now)? {
        if expired {
            statements.push(store::release_expired_lock(id, ctx.now));
            let note = format!("lock of user:{} released at expiry", lock.user_id);
            events.push(
                EXPIRE,
                access_target(lock.id),
                ctx.audit_detail(Some(&note)),
            );
        } else if lock.user_id == user_id || force {
            // The caller's own lock moves to the new checkout; another's is taken.
            forced = lock.user_id != user_id;
            statements.push(store::release_lock(lock.id, ctx.now));
            if forced {
                let note = format!("exclusive checkout of user:{} overridden", lock.user_id);
                events.push(FORCE, access_target(lock.id), ctx.audit_detail(Some(&note)));
            }
        } else {
            return Ok(CheckedOut::Held);
        }
    }
    // The value first: nothing is written for a checkout that cannot hand it out.
    let value = value_of(secret)?;
    let (source_ip, source_port) = dto::source(ctx.client_addr.as_deref());
    let expires_at =
        rules::checkout_end(ctx.now, secret.time_limit, request.and_then(|r| r.duration));
    statements.push(store::insert_checkout(&NewCheckout {
        secret,
        history_id: &history_id,
        user_id,
        source_ip,
        source_port,
        now: ctx.now,
        expires_at,
        forced,
    }));
    let insert_index = statements.len() - 1;
    let mut note = format!(
        "type={}; version={}; history_id={history_id}; forced={forced}",
        dto::checkout_type(secret.exclusive),
        secret.current_version
    );
    if let Some(request) = request {
        statements.push(store::link_checkout(request.id, id, user_id, ctx.now));
        note.push_str(&format!("; request={}", request.id));
        if let Some(reason) = &request.reason {
            note.push_str(&format!("; reason={reason}"));
        }
    }
    events.push(CHECKOUT, secret_target(id), ctx.audit_detail(Some(&note)));
    let outcomes = match events.commit(ctx, statements) {
        Ok(outcomes) => outcomes,
        // Another checkout took the lock between our look and our write.
        Err(e) if e.code() == ErrorCode::Conflict => return Ok(CheckedOut::Held),
        Err(e) => return Err(e),
    };
    let access_id = outcomes
        .get(insert_index)
        .map(|o| o.last_insert_rowid)
        .ok_or_else(|| ApiError::internal("checkout insert has no outcome"))?;
    Ok(CheckedOut::Revealed {
        access_id,
        exclusive: secret.exclusive,
        expires_at,
        value,
    })
}

// ---------------------------------------------------------------- requests

/// Opens a request of the caller for `secret`: refused (403) under the policy `none`,
/// 400 without a reason where one is required; pending when an approver must decide
/// (within the confirmation timeout), approved at once otherwise.
pub fn open_request(
    ctx: &Ctx,
    secret: &SecretRow,
    user_id: i64,
    reason: Option<String>,
    duration: Option<i64>,
    force: bool,
) -> Result<RequestRow> {
    let target = secret_target(&secret.id);
    if secret.policy == Policy::None {
        ctx.audit(REQUEST, &target, Decision::Deny, Some("access policy none"));
        return Err(ApiError::forbidden());
    }
    let settings = secret.settings();
    if settings.login_reason && reason.is_none() {
        return Err(ApiError::bad_request(
            "reason",
            "required: the safe asks for a reason",
        ));
    }
    let approval = rules::needs_approval(secret.policy, settings);
    let status = if approval {
        Status::Pending
    } else {
        Status::Approved
    };
    let expires_at = if approval {
        rules::window_end(ctx.now, settings.confirmation_timeout)
    } else {
        None
    };
    let mut events = Events::default();
    let note = format!(
        "status={}; duration={}; reason={}",
        status.as_str(),
        duration.map_or("default".into(), |d| d.to_string()),
        reason.as_deref().unwrap_or("-")
    );
    events.push(REQUEST, target, ctx.audit_detail(Some(&note)));
    let outcomes = events.commit(
        ctx,
        vec![store::insert_request(&NewRequest {
            user_id,
            secret,
            reason: reason.as_deref(),
            duration,
            force,
            status,
            expires_at,
            now: ctx.now,
        })],
    )?;
    let id = outcomes
        .first()
        .map(|o| o.last_insert_rowid)
        .ok_or_else(|| ApiError::internal("request insert has no outcome"))?;
    store::request(id, ctx.now)?.ok_or_else(|| ApiError::internal("request just made is gone"))
}

/// Writes down, with its audit event, that a request has expired, when the row does
/// not say so yet. Expiry is lazy: this is its first observer.
fn note_expiry(ctx: &Ctx, request: &RequestRow) -> Result<()> {
    if request.stored == Status::Expired || request.status(ctx.now) != Status::Expired {
        return Ok(());
    }
    let mut events = Events::default();
    let note = format!("was {}; window ended", request.stored.as_str());
    events.push(
        REQUEST_EXPIRE,
        request_target(request.id),
        ctx.audit_detail(Some(&note)),
    );
    events.commit(ctx, vec![store::expire_request(request.id, ctx.now)])?;
    Ok(())
}

/// A request the caller may decide: an administrator, or a manager of the request's
/// safe, who is not its requester. Others get 404 (they do not see it) or, the
/// requester, 403.
fn decidable(ctx: &Ctx, access: &Access<'_>, id: i64, action: &str) -> Result<RequestRow> {
    let request = store::request(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    let target = request_target(id);
    let caller = access.principal.user_id;
    let manages = access
        .flags_on(&SafeId::new(request.safe_id.clone()))?
        .contains(Flags::MANAGE);
    let refusal = if request.user_id == caller {
        Some((
            "requester may not decide his own request",
            ApiError::forbidden(),
        ))
    } else if !manages {
        Some(("needs Manage on the request's safe", ApiError::not_found()))
    } else {
        None
    };
    match refusal {
        Some((why, error)) => {
            ctx.audit(action, &target, Decision::Deny, Some(why));
            Err(error)
        }
        None => Ok(request),
    }
}

/// Approves (or rejects) request `id`. An approval opens the requester's window of
/// the confirmation timeout to use it. 409 when it is no longer pending (decided,
/// closed or expired).
pub fn decide(ctx: &Ctx, id: i64, approve: bool, comment: Option<String>) -> Result<()> {
    let action = if approve { APPROVE } else { REJECT };
    let target = request_target(id);
    let access = access(ctx, true, action, &target)?;
    let request = decidable(ctx, &access, id, action)?;
    if request.status(ctx.now) != Status::Pending {
        note_expiry(ctx, &request)?;
        return Err(ApiError::conflict("request: not pending"));
    }
    let (status, expires_at) = if approve {
        let settings = store::find_secret(&request.secret_id)?
            .ok_or_else(ApiError::not_found)?
            .settings();
        let window = rules::window_end(ctx.now, settings.confirmation_timeout);
        (Status::Approved, window)
    } else {
        (Status::Rejected, request.expires_at)
    };
    let mut events = Events::default();
    let note = format!(
        "requester=user:{}; secret={}; comment={}",
        request.user_id,
        request.secret_id,
        comment.as_deref().unwrap_or("-")
    );
    events.push(action, target, ctx.audit_detail(Some(&note)));
    let statement = store::decide(
        id,
        status,
        access.principal.user_id,
        comment.as_deref(),
        expires_at,
        ctx.now,
    );
    // The statement re-checks pending and the window: another approver may have
    // been first (the event then records an attempt that changed nothing).
    let outcomes = events.commit(ctx, vec![statement])?;
    if outcomes.first().map_or(0, |o| o.changes) == 0 {
        return Err(ApiError::conflict("request: not pending"));
    }
    Ok(())
}

/// Ends request `id` of the caller: checks its checkout in, or cancels it while it has
/// revealed nothing. Someone else's is refused: 403 when the caller manages its safe
/// (and so sees it), 404 otherwise; 409 when it is no longer open.
pub fn end_request(ctx: &Ctx, id: i64) -> Result<()> {
    let target = request_target(id);
    let access = access(ctx, false, CHECKIN, &target)?;
    let request = store::request(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    if request.user_id != access.principal.user_id {
        let sees = access
            .flags_on(&SafeId::new(request.safe_id.clone()))?
            .contains(Flags::MANAGE);
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
    let status = request.status(ctx.now);
    let mut events = Events::default();
    let mut statements = Vec::new();
    match (status, request.access_id) {
        (Status::Approved, Some(access_id)) => {
            statements.push(store::checkin(access_id, ctx.now));
            let note = format!("secret={}; request={id}", request.secret_id);
            events.push(
                CHECKIN,
                access_target(access_id),
                ctx.audit_detail(Some(&note)),
            );
        }
        (Status::Pending | Status::Approved, None) => {
            let note = format!("secret={}", request.secret_id);
            events.push(CANCEL, target, ctx.audit_detail(Some(&note)));
        }
        _ => {
            note_expiry(ctx, &request)?;
            return Err(ApiError::conflict("request: not open"));
        }
    }
    statements.push(store::close_request(id, ctx.now));
    let close_index = statements.len() - 1;
    let outcomes = events.commit(ctx, statements)?;
    if outcomes.get(close_index).map_or(0, |o| o.changes) == 0 {
        return Err(ApiError::conflict("request: not open"));
    }
    Ok(())
}

// ---------------------------------------------------------------- seed 002 sessions

/// The answer to a checkout by account: the session's state, and the password only
/// when it is revealed.
struct SessionAnswer<'a> {
    secret: &'a SecretRow,
    request: &'a RequestRow,
    status: &'a str,
    value: Value,
}

fn session_out(answer: SessionAnswer<'_>) -> Result<Response> {
    let settings = answer.secret.settings();
    let revealed = !answer.value.is_null();
    let (login, domain) = rules::login_and_domain(&answer.secret.username);
    let timeout = rules::checkout_end(0, answer.secret.time_limit, answer.request.duration);
    ok(j!({
        "status": answer.status,
        "session_id": answer.request.id.to_string(),
        "timeout": timeout,
        "confirmation_timeout": settings.confirmation_timeout,
        "reason": answer.request.reason,
        "pwd": answer.value,
        "login": if revealed { Value::from(login) } else { Value::Null },
        "domain": if revealed { domain.map_or(Value::Null, Value::from) } else { Value::Null },
    }))
}

/// Reveals the value for an approved request: its checkout again while that is
/// active, or a new checkout. `None` while another user holds the secret.
pub fn reveal(
    ctx: &Ctx,
    secret: &SecretRow,
    request: &RequestRow,
    force: bool,
) -> Result<Option<Value>> {
    if request.access_id.is_some() {
        let value = value_of(secret)?;
        let note = format!("again; request={}", request.id);
        ctx.try_audit(
            CHECKOUT,
            &secret_target(&secret.id),
            Decision::Allow,
            Some(&note),
        )?;
        return Ok(Some(value));
    }
    match check_out(ctx, secret, request.user_id, Some(request), force)? {
        CheckedOut::Revealed { value, .. } => Ok(Some(value)),
        CheckedOut::Held => {
            let note = format!("held exclusively by another user; request={}", request.id);
            ctx.audit(
                CHECKOUT,
                &secret_target(&secret.id),
                Decision::Deny,
                Some(&note),
            );
            Ok(None)
        }
    }
}

/// `POST secret/checkout` (seed 002): checks an account (a credential secret) out in
/// a session. Without `session_id` a session opens (pending when it needs approval);
/// with it the session is looked at again. Statuses: `approved` (with `pwd`, `login`,
/// `domain`), `pending`, `waiting` (another user holds the account exclusively and
/// `force` is false: call again), `rejected`, `expired`, `closed`.
pub fn post_account_checkout(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, CHECKOUT, "secret_checkout")?;
    let body = dto::model_body::<CheckoutIn>(ctx, &objspec::CHECKOUT, false)?;
    let account = ids::body_id("account_id", &body.account_id)?;
    let secret = visible_secret(ctx, &access, &account, CHECKOUT)?.secret;
    if secret.kind != "credential" {
        return Err(ApiError::bad_request(
            "account_id",
            "must be a credential secret (an account)",
        ));
    }
    let user_id = access.principal.user_id;
    let force = body.force.unwrap_or(true);
    let reason = dto::reason("reason", body.reason.as_deref())?;
    let request = match body.session_id.as_deref() {
        Some(session) => {
            let id = dto::session_id(session)?;
            store::request(id, ctx.now)?
                .filter(|r| r.user_id == user_id && r.secret_id == account)
                .ok_or_else(ApiError::not_found)?
        }
        None => open_request(ctx, &secret, user_id, reason, None, force)?,
    };
    let status = request.status(ctx.now);
    note_expiry(ctx, &request)?;
    let (status, value) = match status {
        Status::Approved => match reveal(ctx, &secret, &request, force)? {
            Some(value) => ("approved", value),
            None => ("waiting", Value::Null),
        },
        other => (other.as_str(), Value::Null),
    };
    session_out(SessionAnswer {
        secret: &secret,
        request: &request,
        status,
        value,
    })
}

/// `POST secret/checkin` (seed 002): ends the caller's session.
pub fn post_account_checkin(ctx: &Ctx) -> Result<Response> {
    access(ctx, false, CHECKIN, "secret_checkin")?;
    let body = dto::model_body::<CheckinIn>(ctx, &objspec::CHECKIN, false)?;
    end_request(ctx, dto::session_id(&body.session_id)?)?;
    ok(j!({}))
}

// ---------------------------------------------------------------- v2 access requests

/// `POST secret/{id}/request`: an access request for the secret (reason, duration).
pub fn post_request(ctx: &Ctx, id: &str) -> Result<Response> {
    let access = access(ctx, false, REQUEST, &secret_target(id))?;
    let secret = visible_secret(ctx, &access, id, REQUEST)?.secret;
    let body = ctx.optional_json::<AccessRequestIn>()?;
    let reason = dto::reason("reason", body.reason.as_deref())?;
    let duration = dto::duration("duration", body.duration)?;
    let request = open_request(
        ctx,
        &secret,
        access.principal.user_id,
        reason,
        duration,
        false,
    )?;
    ok(j!({ "access_request": dto::request_out(&request, ctx.now) }))
}

/// `GET secret/request/{id}`: the requester's own, or one the caller may decide.
pub fn get_request(ctx: &Ctx, id: i64) -> Result<Response> {
    let access = access(ctx, false, REQUEST, &request_target(id))?;
    let request = store::request(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    if request.user_id != access.principal.user_id {
        let manages = access
            .flags_on(&SafeId::new(request.safe_id.clone()))?
            .contains(Flags::MANAGE);
        if !manages {
            return Err(ApiError::not_found());
        }
    }
    ok(j!({ "access_request": dto::request_out(&request, ctx.now) }))
}

/// `GET secret/request?role=mine|approver`: the caller's requests (default), or the
/// ones the caller may decide. Filters `secret_id`, `status`; `limit`, `offset`.
pub fn get_requests(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, REQUEST, "checkout_request")?;
    let mine = match ctx.query.get("role").unwrap_or("mine") {
        "mine" => true,
        "approver" => false,
        _ => return Err(ApiError::bad_request("role", "one of mine, approver")),
    };
    let status = match ctx.query.get("status") {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "status",
                "one of pending, approved, rejected, expired, closed",
            )
        })?),
        None => None,
    };
    let secret_id = match ctx.query.get("secret_id") {
        Some(id) => Some(ids::body_id("secret_id", id)?),
        None => None,
    };
    let limit = ctx.query.int("limit", 1, 1000)?.unwrap_or(100);
    let offset = ctx
        .query
        .int("offset", 0, i64::from(i32::MAX))?
        .unwrap_or(0);
    let safes = managed_safes(&access)?;
    let rows = store::requests(&RequestFilter {
        mine,
        user_id: access.principal.user_id,
        all: access.principal.admin,
        safes: &safes,
        secret_id: secret_id.as_deref(),
        now: ctx.now,
    })?;
    let out: Vec<Value> = rows
        .iter()
        .filter(|r| status.is_none_or(|s| r.status(ctx.now) == s))
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|r| dto::request_out(r, ctx.now))
        .collect();
    ok(j!({ "access_request": out }))
}

/// `POST secret/request/{id}/approve` and `.../reject` (body empty or `{reason}`).
pub fn post_decision(ctx: &Ctx, id: i64, approve: bool) -> Result<Response> {
    let body = ctx.optional_json::<DecisionIn>()?;
    let comment = dto::reason("reason", body.reason.as_deref())?;
    decide(ctx, id, approve, comment)?;
    let request = store::request(id, ctx.now)?.ok_or_else(ApiError::not_found)?;
    ok(j!({ "access_request": dto::request_out(&request, ctx.now) }))
}
