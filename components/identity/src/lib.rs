//! edgesafe's identity area: sign-in, tokens, users, groups, feature permissions,
//! API keys and OAuth clients.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing slash) and the caller's principal in
//! `x-edgesafe-principal`. This file holds the entry point and the route table only.

pub mod dto;
pub mod handlers;
pub mod keyring;
pub mod store;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::{ApiError, Protocol, Result};
use http::Method;

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
    VaultKeyring,
    VaultKeyringRotate,
    VaultKeyringReseal,
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
        (Protocol::V2, ["vault", "keyring"]) => VaultKeyring,
        (Protocol::V2, ["vault", "keyring", "rotate"]) => VaultKeyringRotate,
        (Protocol::V2, ["vault", "keyring", "reseal"]) => VaultKeyringReseal,
        (Protocol::Kv, ["whoami"]) => KvWhoami,
        _ => return None,
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
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
        VaultKeyring if m == Method::GET => keyring::get_keyring(ctx),
        VaultKeyringRotate if m == Method::POST => keyring::post_keyring_rotate(ctx),
        VaultKeyringReseal if m == Method::POST => keyring::post_keyring_reseal(ctx),
        KvWhoami if m == Method::GET => h::get_kv_whoami(ctx),
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::Request) -> Response {
    let headers = request.headers().map(|(n, v)| (n, v.as_bytes()));
    let (method, path, query) = (request.method().clone(), request.path(), request.query());
    let incoming = Incoming::new(method.into(), path, query, headers, request.body());
    let route =
        |protocol, segments: &[&str]| route(protocol, segments).ok_or_else(ApiError::not_found);
    serve(incoming, route, dispatch).await
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
            route(Protocol::V2, &["vault", "keyring", "reseal"]),
            Some(Route::VaultKeyringReseal)
        );
        assert_eq!(route(Protocol::V2, &["vault", "keyring", "x"]), None);
        assert_eq!(
            route(Protocol::V3, &["auth", "connect", "token"]),
            Some(Route::Token)
        );
    }
}
