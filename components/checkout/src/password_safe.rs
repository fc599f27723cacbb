//! The checkout engine in Password Safe's words (v3 `ManagedAccounts`, `Requests`,
//! `Credentials`), as the official clients call them
//! (`../shared/clients/beyondtrust.md`). A managed account is a credential secret; its
//! managed system is the folder that holds it (`SystemName` is that folder's path,
//! `Safe` or `Safe/Folder`); a request is a checkout request of [`crate::sessions`],
//! so a checkout made here shows in `/api/v2/secret/access` like any other.

use edgesafe_api_common::response::{empty, json, Response};
use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::folders;
use edgesafe_secrets_safe::ids;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json as j, Value};

use crate::dto;
use crate::handlers::{access, visible_secret, CHECKOUT};
use crate::rules::{self, Status};
use crate::sessions::{self, open_request, REQUEST};
use crate::store::{self, RequestRow};
use crate::Ctx;

/// The longest release Password Safe grants, in minutes (a week).
const DURATION_MAX_MINUTES: i64 = 7 * 24 * 60;

/// `GET ManagedAccounts?systemName=&accountName=`: the credential secrets the caller
/// may read, as managed accounts; `systemName` matches the holding folder's path and
/// `accountName` the title, both in any case. One match is answered as a single
/// object (the library reads `SystemId` and `AccountId` from it), several as a list,
/// none with 404. `limit` (1 to 1000) and `offset` page a list.
pub fn get_managed_accounts(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, CHECKOUT, "managed_account")?;
    let system = ctx.query.get("systemname").filter(|s| !s.is_empty());
    let account = ctx.query.get("accountname").filter(|s| !s.is_empty());
    let limit = ctx.query.int("limit", 1, 1000)?.unwrap_or(1000);
    let offset = ctx
        .query
        .int("offset", 0, i64::from(i32::MAX))?
        .unwrap_or(0);
    let view = access.safe_view()?;
    let paths = folders::all_paths()?;
    let mut found = Vec::new();
    for row in store::accounts(account)? {
        let path = paths.get(&row.folder_id).cloned().unwrap_or_default();
        if system.is_some_and(|s| !s.eq_ignore_ascii_case(&path)) {
            continue;
        }
        let safe = ids::SafeId::new(row.safe_id.clone());
        let shared = store::shared_into_safes(&row.secret_id)?;
        if !view.can_see_secret(&safe, &shared) {
            continue;
        }
        let (login, domain) = rules::login_and_domain(&row.username);
        found.push(j!({
            "SystemId": row.folder_id,
            "SystemName": path,
            "AccountId": row.secret_id,
            "AccountName": row.title,
            "DomainName": domain,
            "UserName": login,
            "MaximumReleaseDuration": DURATION_MAX_MINUTES,
        }));
    }
    let page: Vec<Value> = found
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    match page.as_slice() {
        [] => Err(ApiError::not_found()),
        [one] => json(StatusCode::OK, one),
        _ => json(StatusCode::OK, &page),
    }
}

/// `POST Requests`, as Password Safe takes it (property names in any case).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestIn {
    systemid: String,
    accountid: String,
    durationminutes: i64,
    reason: Option<String>,
    /// `reuse` an open request of the caller for the account, or `renew` it (close it
    /// and open another); without one, an open request is a conflict (409).
    conflictoption: Option<String>,
    /// Accepted and ignored: edgesafe rotates no passwords on checkin.
    #[serde(rename = "rotateoncheckin")]
    _rotate_on_checkin: Option<bool>,
    /// Accepted when `View`: a release of the password is the only access there is.
    accesstype: Option<String>,
}

/// `POST Requests`: a checkout request for a managed account; answers 201 and the bare
/// request id. Pending when an approver must decide, approved at once otherwise.
pub fn post_request(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, REQUEST, "checkout_request")?;
    let body: RequestIn = ctx.json()?;
    let account = ids::body_id("AccountID", &body.accountid)?;
    let system = ids::body_id("SystemID", &body.systemid)?;
    if !(1..=DURATION_MAX_MINUTES).contains(&body.durationminutes) {
        return Err(ApiError::bad_request(
            "DurationMinutes",
            &format!("minutes from 1 to {DURATION_MAX_MINUTES}"),
        ));
    }
    if body
        .accesstype
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("view"))
    {
        return Err(ApiError::bad_request("AccessType", "only View is offered"));
    }
    let reason = dto::reason("Reason", body.reason.as_deref())?;
    let secret = visible_secret(ctx, &access, &account, REQUEST)?.secret;
    if secret.kind != "credential" || secret.folder_id != system {
        // Not a managed account of that system: as if it did not exist.
        return Err(ApiError::not_found());
    }
    let user_id = access.principal.user_id;
    let open = [Status::Pending, Status::Approved]
        .into_iter()
        .map(|s| store::latest_request(&secret.id, user_id, s, ctx.now))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .max_by_key(|r| r.id);
    let conflict = body.conflictoption.as_deref().map(str::to_ascii_lowercase);
    if let Some(existing) = open {
        match conflict.as_deref() {
            Some("reuse") => return json(StatusCode::CREATED, &existing.id),
            Some("renew") => sessions::end_request(ctx, existing.id)?,
            _ => return Err(ApiError::conflict("request: an open one exists")),
        }
    } else if conflict
        .as_deref()
        .is_some_and(|c| c != "reuse" && c != "renew")
    {
        return Err(ApiError::bad_request(
            "ConflictOption",
            "one of reuse, renew",
        ));
    }
    let duration = Some(body.durationminutes * 60);
    let request = open_request(ctx, &secret, user_id, reason, duration, false)?;
    json(StatusCode::CREATED, &request.id)
}

/// The caller's own request `id`; 404 for anyone else's.
fn own_request(ctx: &Ctx, user_id: i64, id: i64) -> Result<RequestRow> {
    store::request(id, ctx.now)?
        .filter(|r| r.user_id == user_id)
        .ok_or_else(ApiError::not_found)
}

/// `GET Credentials/{requestId}`: the password of an approved request, as a JSON
/// string (a checkout of the account). 403 while the request is not approved (pending,
/// denied, expired or checked in), 409 while another user holds the account
/// exclusively.
pub fn get_credentials(ctx: &Ctx, id: i64) -> Result<Response> {
    let access = access(ctx, false, CHECKOUT, "checkout_request")?;
    let request = own_request(ctx, access.principal.user_id, id)?;
    // The caller must still be allowed to read the account.
    let secret = visible_secret(ctx, &access, &request.secret_id, CHECKOUT)?.secret;
    if request.status(ctx.now) != Status::Approved {
        return Err(ApiError::forbidden());
    }
    match sessions::reveal(ctx, &secret, &request, request.force)? {
        Some(value) => json(StatusCode::OK, &value),
        None => Err(ApiError::conflict(
            "account: checked out exclusively by another user",
        )),
    }
}

/// `PUT Requests/{id}/checkin` (body `{}` or `{Reason}`): 204.
pub fn put_checkin(ctx: &Ctx, id: i64) -> Result<Response> {
    sessions::end_request(ctx, id)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionIn {
    reason: Option<String>,
}

/// `PUT Requests/{id}/approve` and `.../deny` (body `{}` or `{Reason}`): 204.
pub fn put_decision(ctx: &Ctx, id: i64, approve: bool) -> Result<Response> {
    let body = ctx.optional_json::<DecisionIn>()?;
    let comment = dto::reason("Reason", body.reason.as_deref())?;
    sessions::decide(ctx, id, approve, comment)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Password Safe's word for a request's state.
fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pending => "Pending",
        Status::Approved => "Active",
        Status::Rejected => "Denied",
        Status::Expired => "Expired",
        Status::Closed => "Released",
    }
}

/// `GET Requests`: the caller's requests.
pub fn get_requests(ctx: &Ctx) -> Result<Response> {
    let access = access(ctx, false, REQUEST, "checkout_request")?;
    let rows = store::requests(&store::RequestFilter {
        mine: true,
        user_id: access.principal.user_id,
        all: false,
        safes: &[],
        secret_id: None,
        now: ctx.now,
    })?;
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            j!({
                "RequestID": r.id,
                "AccountID": r.secret_id,
                "AccountName": r.secret_name,
                "Status": status_word(r.status(ctx.now)),
                "Reason": r.reason,
                "DurationMinutes": r.duration.map(|d| d / 60),
                "RequestReleaseDate": format_utc(r.created_at),
                "ExpiresDate": r.expires_at.map(format_utc),
                "ApproverUserID": r.decided_by,
            })
        })
        .collect();
    json(StatusCode::OK, &out)
}
