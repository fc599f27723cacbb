//! edgesafe's identity area: sign-in, tokens, users, groups, feature permissions,
//! API keys and OAuth clients.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing slash) and the caller's principal in
//! `x-edgesafe-principal`. This file holds the entry point and the route table only.

pub mod dto;
pub mod handlers;
pub mod store;

use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::request::{self, Query};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::{audit, AuditEvent, Decision};
use edgesafe_api_common::{time, ApiError, Principal, Protocol, Result};
use http::Method;

/// Everything a handler may look at.
pub struct Ctx {
    pub protocol: Protocol,
    pub method: Method,
    pub query: Query,
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

    /// The caller, who must be an administrator (403 otherwise). A refused write is
    /// recorded in the audit trail.
    pub fn admin(&self, action: &str, target: &str) -> Result<&Principal> {
        let principal = self.principal()?;
        if principal.admin {
            return Ok(principal);
        }
        if self.method != Method::GET {
            self.audit(action, target, Decision::Deny, "write");
        }
        Err(ApiError::forbidden())
    }

    /// A JSON body bound to `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        request::json_body(self.content_type.as_deref(), &self.body)
    }

    /// A JSON body when there is one; `T::default()` for an empty body.
    pub fn optional_json<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// Appends an audit event for the caller (or `anonymous`). A failure to record
    /// is logged: by the time an action is audited it has been committed, and
    /// answering 500 for a change that happened would make clients repeat it.
    pub fn audit(&self, action: &str, target: &str, decision: Decision, purpose: &str) {
        if let Err(e) = self.try_audit(action, target, decision, purpose) {
            eprintln!("could not record audit event {action}: {e}");
        }
    }

    /// Appends an audit event for the caller, failing if it cannot be recorded.
    pub fn try_audit(
        &self,
        action: &str,
        target: &str,
        decision: Decision,
        purpose: &str,
    ) -> Result<i64> {
        let actor = self
            .principal
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), Principal::actor);
        self.record(&actor, action, target, decision, purpose, None)
    }

    /// Appends an audit event for `actor` (for calls whose caller is only known once
    /// the handler has checked a secret). `note` joins the detail; never a secret.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        decision: Decision,
        purpose: &str,
        note: Option<&str>,
    ) -> Result<i64> {
        let client = self.client_addr.as_deref().unwrap_or("-");
        let detail = match note {
            Some(note) => format!("client={client}; {note}"),
            None => format!("client={client}"),
        };
        audit(AuditEvent {
            actor,
            action,
            target,
            decision,
            purpose,
            detail: &detail,
        })
    }
}

/// The resources of this area. Ids are positive integers; anything else is no route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Token,
    SignAppIn,
    SignOut,
    Version,
    Users,
    User(i64),
    UserQuarantine(i64),
    UserUnquarantine(i64),
    UserGroupsOfUser(i64),
    Membership { user: i64, group: i64 },
    ApiKeys(i64),
    ApiKey { user: i64, key: i64 },
    Groups,
    Group(i64),
    GroupUsers(i64),
    GroupPermissions(i64),
    Permissions,
    V2Session,
    KvWhoami,
}

fn id(segment: &str) -> Option<i64> {
    // Digits only: `+5`, ` 5` or `5.0` are not ids, and the parse details stay ours.
    if segment.is_empty() || segment.len() > 18 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok().filter(|n| *n > 0)
}

pub fn route(protocol: Protocol, segments: &[&str]) -> Option<Route> {
    use Route::*;
    Some(match (protocol, segments) {
        (Protocol::V3, ["auth", "connect", "token"]) => Token,
        (Protocol::V3, ["auth", "signappin"]) => SignAppIn,
        (Protocol::V3, ["auth", "signout"]) => SignOut,
        (Protocol::V3, ["configuration", "version"]) => Version,
        (Protocol::V3, ["users"]) => Users,
        (Protocol::V3, ["users", u]) => User(id(u)?),
        (Protocol::V3, ["users", u, "quarantine"]) => UserQuarantine(id(u)?),
        (Protocol::V3, ["users", u, "unquarantine"]) => UserUnquarantine(id(u)?),
        (Protocol::V3, ["users", u, "usergroups"]) => UserGroupsOfUser(id(u)?),
        (Protocol::V3, ["users", u, "usergroups", g]) => Membership {
            user: id(u)?,
            group: id(g)?,
        },
        (Protocol::V3, ["users", u, "apikeys"]) => ApiKeys(id(u)?),
        (Protocol::V3, ["users", u, "apikeys", k]) => ApiKey {
            user: id(u)?,
            key: id(k)?,
        },
        (Protocol::V3, ["usergroups"]) => Groups,
        (Protocol::V3, ["usergroups", g]) => Group(id(g)?),
        (Protocol::V3, ["usergroups", g, "users"]) => GroupUsers(id(g)?),
        (Protocol::V3, ["usergroups", g, "permissions"]) => GroupPermissions(id(g)?),
        (Protocol::V3, ["permissions"]) => Permissions,
        (Protocol::V2, ["session"]) => V2Session,
        (Protocol::Kv, ["whoami"]) => KvWhoami,
        _ => return None,
    })
}

fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
    // Only the token endpoint is anonymous (it checks a client secret itself).
    if route != Token {
        ctx.principal()?;
    }
    let m = &ctx.method;
    match route {
        Token if m == Method::POST => h::post_connect_token(ctx),
        SignAppIn if m == Method::POST => h::post_signappin(ctx),
        SignOut if m == Method::POST => h::post_signout(ctx),
        Version if m == Method::GET => h::get_version(ctx),
        Users if m == Method::GET => h::get_users(ctx),
        Users if m == Method::POST => h::post_users(ctx),
        User(u) if m == Method::GET => h::get_user(ctx, u),
        User(u) if m == Method::PUT => h::put_user(ctx, u),
        User(u) if m == Method::DELETE => h::delete_user(ctx, u),
        UserQuarantine(u) if m == Method::POST => h::post_user_quarantine(ctx, u, true),
        UserUnquarantine(u) if m == Method::POST => h::post_user_quarantine(ctx, u, false),
        UserGroupsOfUser(u) if m == Method::GET => h::get_user_usergroups(ctx, u),
        Membership { user, group } if m == Method::POST => h::post_user_usergroup(ctx, user, group),
        Membership { user, group } if m == Method::DELETE => {
            h::delete_user_usergroup(ctx, user, group)
        }
        ApiKeys(u) if m == Method::GET => h::get_user_apikeys(ctx, u),
        ApiKeys(u) if m == Method::POST => h::post_user_apikeys(ctx, u),
        ApiKey { user, key } if m == Method::DELETE => h::delete_user_apikey(ctx, user, key),
        Groups if m == Method::GET => h::get_usergroups(ctx),
        Groups if m == Method::POST => h::post_usergroups(ctx),
        Group(g) if m == Method::GET => h::get_usergroup(ctx, g),
        Group(g) if m == Method::DELETE => h::delete_usergroup(ctx, g),
        GroupUsers(g) if m == Method::GET => h::get_usergroup_users(ctx, g),
        GroupPermissions(g) if m == Method::GET => h::get_usergroup_permissions(ctx, g),
        GroupPermissions(g) if m == Method::POST => h::post_usergroup_permissions(ctx, g),
        GroupPermissions(g) if m == Method::DELETE => h::delete_usergroup_permissions(ctx, g),
        Permissions if m == Method::GET => h::get_permissions(ctx),
        V2Session if m == Method::GET => h::get_v2_session(ctx),
        KvWhoami if m == Method::GET => h::get_kv_whoami(ctx),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn plain_not_found() -> Response {
    let mut response = Response::new(br#"{"error":"not found"}"#.to_vec());
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[spin_sdk::http_component]
fn handle(request: spin_sdk::http::Request) -> Response {
    let Some((protocol, segments)) = Protocol::split(request.path()) else {
        return plain_not_found();
    };
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
        let route = route(protocol, &segments).ok_or_else(ApiError::not_found)?;
        let ctx = Ctx {
            protocol,
            method: Method::from(request.method().clone()),
            query: Query::parse(request.query().as_bytes()),
            content_type: header("content-type"),
            body: request.body().to_vec(),
            principal,
            client_addr: header(CLIENT_ADDR_HEADER),
            now: time::now_unix(),
        };
        dispatch(route, &ctx)
    })();
    result.unwrap_or_else(|e| e.to_response(protocol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_digits() {
        assert_eq!(id("12"), Some(12));
        assert_eq!(id("0"), None);
        assert_eq!(id("+5"), None);
        assert_eq!(id("5.0"), None);
        assert_eq!(id("abc"), None);
        assert_eq!(id("9999999999999999999"), None);
    }

    #[test]
    fn routes() {
        assert_eq!(
            route(Protocol::V3, &["users", "3", "usergroups", "4"]),
            Some(Route::Membership { user: 3, group: 4 })
        );
        assert_eq!(route(Protocol::V3, &["users", "x"]), None);
        assert_eq!(route(Protocol::V2, &["users"]), None);
        assert_eq!(route(Protocol::Kv, &["whoami"]), Some(Route::KvWhoami));
        assert_eq!(
            route(Protocol::V3, &["auth", "connect", "token"]),
            Some(Route::Token)
        );
    }
}
