//! edgesafe's checkout area: PAM v2 checkout and checkin by secret id, the access
//! records every checkout leaves, mark-safe, and the `objspec` descriptions of the
//! models these routes take and answer.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing or doubled slash) and the caller's
//! principal in `x-edgesafe-principal`. This file holds the entry point and the route
//! table only.

pub mod dto;
pub mod handlers;
pub mod objspec;
pub mod password_safe;
pub mod rules;
pub mod sessions;
pub mod store;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::{ApiError, Protocol, Result};
use edgesafe_secrets_safe::ids;
use http::Method;

/// The resources of this area. Secret ids are GUIDs, kept lower-case; access record
/// ids are positive integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `secret/access`: every access record the caller may see.
    Accesses,
    /// `secret/access/{id}/checkin`
    AccessCheckin(i64),
    /// `secret/{id}`: the checkout settings.
    Secret(String),
    /// `secret/{id}/checkout`
    Checkout(String),
    /// `secret/{id}/checkin`
    Checkin(String),
    /// `secret/{id}/access`: the secret's access records.
    SecretAccesses(String),
    /// `secret/{id}/mark_safe`
    MarkSafe(String),
    /// `objspec/{model}`
    Objspec(&'static objspec::Model),
    /// `secret/checkout`: checkout by account, in a session (seed 002).
    AccountCheckout,
    /// `secret/checkin`: ends a session.
    AccountCheckin,
    /// `secret/{id}/request`: an access request for the secret.
    SecretRequest(String),
    /// `secret/request`: the caller's requests, or those to approve.
    Requests,
    /// `secret/request/{id}`
    Request(i64),
    /// `secret/request/{id}/approve` (true) and `.../reject` (false).
    Decision(i64, bool),
    /// `collection/{id}`: a safe's checkout settings.
    Collection(String),
    /// v3 `ManagedAccounts`
    ManagedAccounts,
    /// v3 `Requests`
    PsRequests,
    /// v3 `Requests/{id}/checkin`
    PsCheckin(i64),
    /// v3 `Requests/{id}/approve` (true) and `.../deny` (false)
    PsDecision(i64, bool),
    /// v3 `Credentials/{requestId}`
    PsCredentials(i64),
}

/// An access record or request id in a path: a malformed one is simply not found.
fn access_id(segment: &str) -> Result<i64> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(ApiError::not_found)
}

/// The route of a canonical v2 path; 404 for anything else, including a malformed id.
pub fn route(protocol: Protocol, segments: &[&str]) -> Result<Route> {
    use Route::*;
    Ok(match (protocol, segments) {
        // Before `secret/{id}`: "access" is not a GUID, but the order says so too.
        (Protocol::V2, ["secret", "access"]) => Accesses,
        (Protocol::V2, ["secret", "access", id, "checkin"]) => AccessCheckin(access_id(id)?),
        (Protocol::V2, ["secret", "checkout"]) => AccountCheckout,
        (Protocol::V2, ["secret", "checkin"]) => AccountCheckin,
        (Protocol::V2, ["secret", "request"]) => Requests,
        (Protocol::V2, ["secret", "request", id]) => Request(access_id(id)?),
        (Protocol::V2, ["secret", "request", id, "approve"]) => Decision(access_id(id)?, true),
        (Protocol::V2, ["secret", "request", id, "reject"]) => Decision(access_id(id)?, false),
        (Protocol::V2, ["secret", id, "request"]) => SecretRequest(ids::path_id(id)?),
        (Protocol::V2, ["collection", id]) => Collection(ids::path_id(id)?),
        (Protocol::V3, ["managedaccounts"]) => ManagedAccounts,
        (Protocol::V3, ["requests"]) => PsRequests,
        (Protocol::V3, ["requests", id, "checkin"]) => PsCheckin(access_id(id)?),
        (Protocol::V3, ["requests", id, "approve"]) => PsDecision(access_id(id)?, true),
        (Protocol::V3, ["requests", id, "deny"]) => PsDecision(access_id(id)?, false),
        (Protocol::V3, ["credentials", id]) => PsCredentials(access_id(id)?),
        (Protocol::V2, ["secret", id]) => Secret(ids::path_id(id)?),
        (Protocol::V2, ["secret", id, "checkout"]) => Checkout(ids::path_id(id)?),
        (Protocol::V2, ["secret", id, "checkin"]) => Checkin(ids::path_id(id)?),
        (Protocol::V2, ["secret", id, "access"]) => SecretAccesses(ids::path_id(id)?),
        (Protocol::V2, ["secret", id, "mark_safe"]) => MarkSafe(ids::path_id(id)?),
        (Protocol::V2, ["objspec", name]) => {
            Objspec(objspec::model(name).ok_or_else(ApiError::not_found)?)
        }
        _ => return Err(ApiError::not_found()),
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use password_safe as ps;
    use sessions as s;
    use Route::*;
    // Every route needs a caller; the rest of authorization is per handler.
    ctx.principal()?;
    let m = &ctx.method;
    match route {
        Accesses if m == Method::GET => h::get_accesses(ctx),
        AccessCheckin(id) if m == Method::POST => h::post_access_checkin(ctx, id),
        Secret(id) if m == Method::GET => h::get_secret(ctx, &id),
        Secret(id) if m == Method::PUT => h::put_secret(ctx, &id),
        Checkout(id) if m == Method::POST => h::post_checkout(ctx, &id),
        Checkin(id) if m == Method::POST => h::post_checkin(ctx, &id),
        SecretAccesses(id) if m == Method::GET => h::get_secret_accesses(ctx, &id),
        MarkSafe(id) if m == Method::POST => h::post_mark_safe(ctx, &id),
        Objspec(model) if m == Method::GET => h::get_objspec(model),
        AccountCheckout if m == Method::POST => s::post_account_checkout(ctx),
        AccountCheckin if m == Method::POST => s::post_account_checkin(ctx),
        SecretRequest(id) if m == Method::POST => s::post_request(ctx, &id),
        Requests if m == Method::GET => s::get_requests(ctx),
        Request(id) if m == Method::GET => s::get_request(ctx, id),
        Decision(id, approve) if m == Method::POST => s::post_decision(ctx, id, approve),
        Collection(id) if m == Method::GET => h::get_collection(ctx, &id),
        Collection(id) if m == Method::PUT => h::put_collection(ctx, &id),
        ManagedAccounts if m == Method::GET => ps::get_managed_accounts(ctx),
        PsRequests if m == Method::GET => ps::get_requests(ctx),
        PsRequests if m == Method::POST => ps::post_request(ctx),
        PsCheckin(id) if m == Method::PUT => ps::put_checkin(ctx, id),
        PsDecision(id, approve) if m == Method::PUT => ps::put_decision(ctx, id, approve),
        PsCredentials(id) if m == Method::GET => ps::get_credentials(ctx, id),
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::Request) -> Response {
    let headers = request.headers().map(|(n, v)| (n, v.as_bytes()));
    let (method, path, query) = (request.method().clone(), request.path(), request.query());
    let incoming = Incoming::new(method.into(), path, query, headers, request.body());
    serve(incoming, route, dispatch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    #[test]
    fn routes() {
        let r = |s: &[&str]| route(Protocol::V2, s).map_err(|e| e.status().as_u16());
        assert_eq!(r(&["secret", "access"]), Ok(Route::Accesses));
        assert_eq!(
            r(&["secret", "access", "12", "checkin"]),
            Ok(Route::AccessCheckin(12))
        );
        assert_eq!(r(&["secret", ID]), Ok(Route::Secret(ID.to_owned())));
        assert_eq!(
            r(&["secret", ID, "checkout"]),
            Ok(Route::Checkout(ID.to_owned()))
        );
        assert_eq!(
            r(&["secret", ID, "checkin"]),
            Ok(Route::Checkin(ID.to_owned()))
        );
        assert_eq!(
            r(&["secret", ID, "access"]),
            Ok(Route::SecretAccesses(ID.to_owned()))
        );
        assert_eq!(
            r(&["secret", ID, "mark_safe"]),
            Ok(Route::MarkSafe(ID.to_owned()))
        );
        assert!(matches!(
            r(&["objspec", "secret_access"]),
            Ok(Route::Objspec(m)) if m.name == "secret_access"
        ));
        assert_eq!(r(&["objspec", "nope"]), Err(404));
        assert_eq!(r(&["secret", "checkout"]), Ok(Route::AccountCheckout));
        assert_eq!(r(&["secret", "checkin"]), Ok(Route::AccountCheckin));
        assert_eq!(r(&["secret", "request"]), Ok(Route::Requests));
        assert_eq!(r(&["secret", "request", "3"]), Ok(Route::Request(3)));
        assert_eq!(
            r(&["secret", "request", "3", "reject"]),
            Ok(Route::Decision(3, false))
        );
        assert_eq!(
            r(&["secret", ID, "request"]),
            Ok(Route::SecretRequest(ID.to_owned()))
        );
        assert_eq!(r(&["collection", ID]), Ok(Route::Collection(ID.to_owned())));
        assert_eq!(r(&["secret", "request", "x"]), Err(404));
        let v3 = |s: &[&str]| route(Protocol::V3, s).map_err(|e| e.status().as_u16());
        assert_eq!(v3(&["managedaccounts"]), Ok(Route::ManagedAccounts));
        assert_eq!(v3(&["requests"]), Ok(Route::PsRequests));
        assert_eq!(v3(&["requests", "4", "checkin"]), Ok(Route::PsCheckin(4)));
        assert_eq!(
            v3(&["requests", "4", "deny"]),
            Ok(Route::PsDecision(4, false))
        );
        assert_eq!(v3(&["credentials", "4"]), Ok(Route::PsCredentials(4)));
        assert_eq!(v3(&["credentials", "x"]), Err(404));
        assert_eq!(r(&["secret", "nope"]), Err(404));
        assert_eq!(r(&["secret", "access", "0", "checkin"]), Err(404));
        assert_eq!(r(&["secret", "access", "x", "checkin"]), Err(404));
        assert_eq!(r(&["secret", ID, "other"]), Err(404));
        assert_eq!(
            route(Protocol::V3, &["secret", ID]).map_err(|e| e.status().as_u16()),
            Err(404)
        );
    }
}
