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

use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::request;
use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::{audit, AuditEvent, Decision};
use edgesafe_api_common::{time, ApiError, Principal, Protocol, Result};
use edgesafe_secrets_safe::{ids, Access};
use http::Method;

/// Everything a handler may look at.
pub struct Ctx {
    pub method: Method,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    principal: Option<Principal>,
    pub client_addr: Option<String>,
    pub now: i64,
}

impl Ctx {
    /// The authenticated caller; 401 without one.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }

    /// The caller's view of the safes at this request's moment.
    pub fn access(&self) -> Result<Access<'_>> {
        Ok(Access::new(self.principal()?, self.now))
    }

    /// A JSON body bound to `T` (415 for another media type, 400 for bad JSON).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        request::json_body(self.content_type.as_deref(), &self.body)
    }

    /// Appends an audit event for the caller. `detail` never holds a secret (this
    /// area has none: names, ids and flags only). A failure to record is logged: by
    /// the time an allowed change is audited it has been committed, and answering 500
    /// for a change that happened would make clients repeat it.
    pub fn audit(&self, action: &str, target: &str, decision: Decision, detail: Option<&str>) {
        let actor = self
            .principal
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), Principal::actor);
        let purpose = if self.method == Method::GET {
            "read"
        } else {
            "write"
        };
        let client = self.client_addr.as_deref().unwrap_or("-");
        let detail = match detail {
            Some(note) => format!("client={client}; {note}"),
            None => format!("client={client}"),
        };
        let recorded = audit(AuditEvent {
            actor: &actor,
            action,
            target,
            decision,
            purpose,
            detail: &detail,
        });
        if let Err(e) = recorded {
            eprintln!("could not record audit event {action}: {e}");
        }
    }
}

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

fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
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
fn handle(request: spin_sdk::http::Request) -> Response {
    // Everything routed here is v3; a path of another protocol is still answered in
    // v3's shape, since no client of ours speaks anything else to this area.
    let (protocol, segments) = Protocol::split(request.path()).unwrap_or((Protocol::V3, vec![]));
    let header = |name: &str| {
        request
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let result = (|| {
        let principal = match header(PRINCIPAL_HEADER) {
            Some(value) => Some(Principal::from_header_value(&value)?),
            None => None,
        };
        let route = route(protocol, &segments)?;
        let ctx = Ctx {
            method: Method::from(request.method().clone()),
            content_type: header("content-type"),
            body: request.body().to_vec(),
            principal,
            client_addr: header(CLIENT_ADDR_HEADER),
            now: time::now_unix(),
        };
        dispatch(route, &ctx)
    })();
    result.unwrap_or_else(|e| e.to_response(Protocol::V3))
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
