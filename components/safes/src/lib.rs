//! edgesafe's safes area: Secrets Safe safes (folders without a parent) and the
//! permissions granted on them.
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
use edgesafe_secrets_safe::ids;
use http::Method;

/// The resources of this area. Safe ids are GUIDs, kept lower-case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `secrets-safe/safes`
    Safes,
    /// `secrets-safe/safes/safe-permissions`: the permission names.
    PermissionNames,
    /// `secrets-safe/safes/{id}`
    Safe(String),
    /// `secrets-safe/safes/{id}/safe-permissions`
    SafePermissions(String),
}

/// The route of a canonical v3 path; 404 for anything else, including a malformed id.
pub fn route(protocol: Protocol, segments: &[&str]) -> Result<Route> {
    use Route::*;
    Ok(match (protocol, segments) {
        (Protocol::V3, ["secrets-safe", "safes"]) => Safes,
        // Before `{id}`: "safe-permissions" is not a GUID, but the order says so too.
        (Protocol::V3, ["secrets-safe", "safes", "safe-permissions"]) => PermissionNames,
        (Protocol::V3, ["secrets-safe", "safes", id]) => Safe(ids::path_id(id)?),
        (Protocol::V3, ["secrets-safe", "safes", id, "safe-permissions"]) => {
            SafePermissions(ids::path_id(id)?)
        }
        _ => return Err(ApiError::not_found()),
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
    // Every route needs a caller; the rest of authorization is per handler.
    ctx.principal()?;
    let m = &ctx.method;
    match route {
        Safes if m == Method::GET => h::get_safes(ctx),
        Safes if m == Method::POST => h::post_safes(ctx),
        PermissionNames if m == Method::GET => h::get_safe_permission_names(ctx),
        Safe(id) if m == Method::GET => h::get_safe(ctx, &id),
        Safe(id) if m == Method::PUT => h::put_safe(ctx, &id),
        Safe(id) if m == Method::DELETE => h::delete_safe(ctx, &id),
        SafePermissions(id) if m == Method::GET => h::get_safe_permissions(ctx, &id),
        SafePermissions(id) if m == Method::PUT => h::put_safe_permissions(ctx, &id),
        SafePermissions(id) if m == Method::DELETE => h::delete_safe_permissions(ctx, &id),
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
        let r = |s: &[&str]| route(Protocol::V3, s).map_err(|e| e.status().as_u16());
        assert_eq!(r(&["secrets-safe", "safes"]), Ok(Route::Safes));
        assert_eq!(
            r(&["secrets-safe", "safes", "safe-permissions"]),
            Ok(Route::PermissionNames)
        );
        assert_eq!(
            r(&["secrets-safe", "safes", ID]),
            Ok(Route::Safe(ID.to_owned()))
        );
        assert_eq!(
            r(&["secrets-safe", "safes", ID, "safe-permissions"]),
            Ok(Route::SafePermissions(ID.to_owned()))
        );
        assert_eq!(r(&["secrets-safe", "safes", "nope"]), Err(404));
        assert_eq!(r(&["secrets-safe", "safes", ID, "other"]), Err(404));
        assert_eq!(
            route(Protocol::V2, &["secrets-safe", "safes"]).map_err(|e| e.status().as_u16()),
            Err(404)
        );
    }
}
