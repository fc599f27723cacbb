//! edgesafe's audit area: the audit trail as auditors read it. Password Safe's
//! `UserAudits` (v3) over edgesafe's events, and v2 routes that verify the chain and
//! export events as JSON lines.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing or doubled slash) and the caller's
//! principal in `x-edgesafe-principal`. This file holds the entry point and the route
//! table only.

pub mod dto;
pub mod handlers;
pub mod store;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::{ApiError, Protocol, Result};
use http::Method;

/// The resources of this area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// v3 `UserAudits`
    UserAudits,
    /// v3 `UserAudits/{auditId}/UserAuditDetails`: the audit id is the event's number.
    UserAuditDetails(i64),
    /// v2 `audit/verify`
    Verify,
    /// v2 `audit/events`: the export.
    Events,
}

/// The route of a canonical path; 404 for anything else, including a malformed id.
pub fn route(protocol: Protocol, segments: &[&str]) -> Result<Route> {
    use Route::*;
    Ok(match (protocol, segments) {
        (Protocol::V3, ["useraudits"]) => UserAudits,
        (Protocol::V3, ["useraudits", id, "userauditdetails"]) => {
            UserAuditDetails(dto::audit_id(id)?)
        }
        (Protocol::V2, ["audit", "verify"]) => Verify,
        (Protocol::V2, ["audit", "events"]) => Events,
        _ => return Err(ApiError::not_found()),
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
    // Every route is a read by an auditor or an administrator.
    if ctx.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    match route {
        UserAudits => h::get_user_audits(ctx),
        UserAuditDetails(id) => h::get_user_audit_details(ctx, id),
        Verify => h::get_verify(ctx),
        Events => h::get_events(ctx),
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

    #[test]
    fn routes() {
        let r = |p: Protocol, s: &[&str]| route(p, s).map_err(|e| e.status().as_u16());
        assert_eq!(r(Protocol::V3, &["useraudits"]), Ok(Route::UserAudits));
        assert_eq!(
            r(Protocol::V3, &["useraudits", "12", "userauditdetails"]),
            Ok(Route::UserAuditDetails(12))
        );
        assert_eq!(
            r(Protocol::V3, &["useraudits", "0", "userauditdetails"]),
            Err(404)
        );
        assert_eq!(
            r(Protocol::V3, &["useraudits", "x", "userauditdetails"]),
            Err(404)
        );
        assert_eq!(r(Protocol::V3, &["useraudits", "12"]), Err(404));
        assert_eq!(r(Protocol::V2, &["audit", "verify"]), Ok(Route::Verify));
        assert_eq!(r(Protocol::V2, &["audit", "events"]), Ok(Route::Events));
        assert_eq!(r(Protocol::V2, &["useraudits"]), Err(404));
        assert_eq!(r(Protocol::V3, &["audit", "events"]), Err(404));
    }
}
