//! The identity area's handlers, one per route and method.
//!
//! Each one checks who may call it first (401/403), then the input (415/400), then
//! the objects it touches (404/409), and only then writes, in one transaction.

use edgesafe_api_common::failed_sign_ins;
use edgesafe_api_common::principal::AuthMethod;
use edgesafe_api_common::request::{self, FORM};
use edgesafe_api_common::response::{empty, json, with_header, Response};
use edgesafe_api_common::vault::{random_token, token_digest, Decision};
use edgesafe_api_common::{ApiError, Result};
use http::{header, StatusCode};

use crate::dto::{
    self, CredentialIn, CredentialOut, GroupIn, GroupOut, NewCredentialOut, OAuthError,
    PermissionIn, PermissionOut, SignInOut, TokenOut, UserIn, UserOut, VersionOut,
};
use crate::store::{self, CredentialKind, Group, NewSession, SessionKind, User};
use crate::Ctx;

/// The session cookie read by the gateway.
const SESSION_COOKIE: &str = "edgesafe_session";
/// Covers every v3 route. Cookie paths match case-sensitively, and this is the
/// spelling Password Safe clients use in their base URL.
const COOKIE_PATH: &str = "/BeyondTrust/api/public/v3";

const DEFAULT_SESSION_TTL: i64 = 1200;
const DEFAULT_TOKEN_TTL: i64 = 3600;

/// Random bytes in a session cookie or access token (64 hex characters).
const SESSION_TOKEN_BYTES: u32 = 32;
/// Random bytes in an API key (128 hex characters, like a Password Safe key).
const API_KEY_BYTES: u32 = 64;
/// Random bytes in an OAuth client secret (64 hex characters; the BeyondTrust library
/// accepts 36 to 64).
const CLIENT_SECRET_BYTES: u32 = 32;

/// A lifetime in seconds from an app setting, or `default` when it is unusable.
fn ttl(name: &str, default: i64) -> i64 {
    edgesafe_api_common::vault::setting(name, default, |seconds| *seconds > 0)
}

/// Responses that carry a secret must not be stored by caches on the way.
fn no_store(response: Response) -> Result<Response> {
    let response = with_header(response, header::CACHE_CONTROL, "no-store")?;
    with_header(response, header::PRAGMA, "no-cache")
}

fn user_target(id: i64) -> String {
    format!("user:{id}")
}

fn group_target(id: i64) -> String {
    format!("group:{id}")
}

fn existing_user(id: i64) -> Result<User> {
    store::find_user(id)?.ok_or_else(ApiError::not_found)
}

fn existing_group(id: i64) -> Result<Group> {
    store::find_group(id)?.ok_or_else(ApiError::not_found)
}

// ---------------------------------------------------------------- sign-in

/// Records a sign-in or sign-out of the caller, who is also its target. A failure to
/// record is logged, as `Ctx::audit` does.
fn audit_session(ctx: &Ctx, action: &str, decision: Decision, purpose: &str) {
    let actor = ctx.actor();
    if let Err(e) = ctx.record(&actor, action, &actor, decision, purpose, None) {
        eprintln!("could not record audit event {action}: {e}");
    }
}

/// `POST Auth/SignAppIn`: turns an API key or access token (checked by the gateway)
/// into a session cookie. Every call issues a new session, so calling it again in
/// the middle of a session answers 200 again.
pub fn post_signappin(ctx: &Ctx) -> Result<Response> {
    let principal = ctx.principal()?;
    if principal.auth == AuthMethod::Session {
        // The gateway only takes the Authorization header here; a session principal
        // means something upstream is off. Refuse rather than extend a session.
        audit_session(ctx, "identity.sign-in", Decision::Deny, "sign-in");
        return Err(ApiError::unauthorized(
            "sign in with an API key or access token",
        ));
    }
    let user = store::find_user(principal.user_id)?
        .ok_or_else(|| ApiError::unauthorized("invalid, expired or revoked credentials"))?;
    let token = random_token(SESSION_TOKEN_BYTES);
    let digest = token_digest(&token)?;
    store::insert_session(
        &NewSession {
            digest: &digest,
            user_id: user.id,
            credential_id: principal.credential,
            kind: SessionKind::Cookie,
            scopes: &principal.scopes,
            expires_at: ctx
                .now
                .saturating_add(ttl("session_ttl_seconds", DEFAULT_SESSION_TTL)),
            // A cookie made from a bearer token ends when the token does.
            parent_digest: principal.session.as_deref(),
        },
        ctx.now,
    )?;
    // The detail also names the credential and its owner, who really signed in when
    // an administrator's key ran as another user.
    let note = match principal.auth {
        AuthMethod::ApiKey => "auth=api_key",
        _ => "auth=bearer",
    };
    // Fail closed: a sign-in that cannot be audited hands out no cookie. The session
    // row stays behind unusable, since nobody ever saw its token.
    ctx.record(
        &principal.actor(),
        "identity.sign-in",
        &user_target(user.id),
        Decision::Allow,
        "sign-in",
        Some(note),
    )?;
    let response = json(StatusCode::OK, &SignInOut::from(&user))?;
    // No `Secure` attribute: clients on plain http (the quick start) would drop the
    // cookie. Behind TLS the transport protects it.
    let cookie = format!("{SESSION_COOKIE}={token}; Path={COOKIE_PATH}; HttpOnly; SameSite=Lax");
    no_store(with_header(response, header::SET_COOKIE, &cookie)?)
}

/// `POST Auth/Signout`: ends the session the request came with (if it came with one)
/// and tells the client to drop the cookie.
pub fn post_signout(ctx: &Ctx) -> Result<Response> {
    let principal = ctx.principal()?;
    if let Some(digest) = &principal.session {
        store::revoke_session(digest, ctx.now)?;
        audit_session(ctx, "identity.sign-out", Decision::Allow, "sign-out");
    }
    let cookie =
        format!("{SESSION_COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax");
    with_header(empty(StatusCode::OK), header::SET_COOKIE, &cookie)
}

/// An OAuth error answer; refused credentials and scopes are recorded as denied
/// sign-ins (`actor` is the client's user when the secret checked out).
fn oauth_error(ctx: &Ctx, error: OAuthError, actor: &str, target: &str) -> Result<Response> {
    if error == OAuthError::InvalidClient {
        // Counted like any failed sign-in; the gateway refuses the source once it
        // reached the limit, before this is called again.
        let source = failed_sign_ins::source(ctx.client_addr.as_deref());
        if let Err(e) =
            failed_sign_ins::record(failed_sign_ins::Limit::from_settings(), &source, ctx.now)
        {
            eprintln!("could not count a failed token request: {e}");
        }
    }
    if error == OAuthError::InvalidClient || error == OAuthError::InvalidScope {
        let recorded = ctx.record(
            actor,
            "identity.token",
            target,
            Decision::Deny,
            "sign-in",
            None,
        );
        if let Err(e) = recorded {
            eprintln!("could not record a denied token request: {e}");
        }
    }
    no_store(json(
        error.status(),
        &serde_json::json!({ "error": error.code() }),
    )?)
}

/// `POST Auth/connect/token`: OAuth client credentials grant. Answers in OAuth's
/// shapes, which is what clients of this endpoint parse.
pub fn post_connect_token(ctx: &Ctx) -> Result<Response> {
    // Client ids and secrets are identifiers and secrets, not names: the audit target
    // never repeats what the client typed, in case a secret was typed in the wrong field.
    const UNKNOWN: &str = "oauth-client:unknown";
    const ANONYMOUS: &str = "anonymous";
    if request::media_type(ctx.content_type.as_deref()).as_deref() != Some(FORM) {
        return oauth_error(ctx, OAuthError::InvalidRequest, ANONYMOUS, UNKNOWN);
    }
    let form = request::Params::parse(&ctx.body);
    let field = |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty());
    let Some(grant_type) = field("grant_type") else {
        return oauth_error(ctx, OAuthError::InvalidRequest, ANONYMOUS, UNKNOWN);
    };
    if grant_type != "client_credentials" {
        return oauth_error(ctx, OAuthError::UnsupportedGrantType, ANONYMOUS, UNKNOWN);
    }
    let (Some(client_id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return oauth_error(ctx, OAuthError::InvalidRequest, ANONYMOUS, UNKNOWN);
    };
    if client_id.len() > 64 || secret.len() > 512 {
        return oauth_error(ctx, OAuthError::InvalidClient, ANONYMOUS, UNKNOWN);
    }
    let digest = token_digest(secret)?;
    let Some(client) = store::find_oauth_client(client_id, &digest, ctx.now)? else {
        return oauth_error(ctx, OAuthError::InvalidClient, ANONYMOUS, UNKNOWN);
    };
    let target = format!("credential:{}", client.credential_id);
    let actor = user_target(client.user_id);
    let allowed = store::effective_scopes(&client.scopes);
    let scopes = match dto::grant_scopes(field("scope"), &allowed) {
        Ok(scopes) => scopes,
        Err(error) => return oauth_error(ctx, error, &actor, &target),
    };
    let token = random_token(SESSION_TOKEN_BYTES);
    let token_digest = token_digest(&token)?;
    let expires_in = ttl("token_ttl_seconds", DEFAULT_TOKEN_TTL);
    store::insert_session(
        &NewSession {
            digest: &token_digest,
            user_id: client.user_id,
            credential_id: Some(client.credential_id),
            kind: SessionKind::Bearer,
            scopes: &scopes,
            expires_at: ctx.now.saturating_add(expires_in),
            parent_digest: None,
        },
        ctx.now,
    )?;
    // Fail closed, as for SignAppIn.
    ctx.record(
        &actor,
        "identity.token",
        &target,
        Decision::Allow,
        "sign-in",
        None,
    )?;
    no_store(json(
        StatusCode::OK,
        &TokenOut {
            access_token: token,
            expires_in,
            token_type: "Bearer",
            scope: scopes.join(" "),
        },
    )?)
}

/// `GET configuration/version`.
pub fn get_version(ctx: &Ctx) -> Result<Response> {
    ctx.principal()?;
    json(
        StatusCode::OK,
        &VersionOut {
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}

/// `GET /api/v2/session`: who the v2 credentials belong to.
pub fn get_v2_session(ctx: &Ctx) -> Result<Response> {
    let principal = ctx.principal()?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "result": "success",
            "user": { "id": principal.user_id.to_string(), "user_name": principal.user_name },
        }),
    )
}

/// `GET /api/secrets/whoami`: who the KV credentials belong to, and their scopes.
pub fn get_kv_whoami(ctx: &Ctx) -> Result<Response> {
    let principal = ctx.principal()?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "subject": principal.actor(),
            "user_name": principal.user_name,
            "scopes": principal.scopes,
        }),
    )
}

// ---------------------------------------------------------------- users

pub fn get_users(ctx: &Ctx) -> Result<Response> {
    ctx.admin("identity.user.list", "users")?;
    let users = store::list_users()?;
    json(
        StatusCode::OK,
        &users.iter().map(UserOut::from).collect::<Vec<_>>(),
    )
}

pub fn get_user(ctx: &Ctx, id: i64) -> Result<Response> {
    ctx.admin("identity.user.read", &user_target(id))?;
    json(StatusCode::OK, &UserOut::from(&existing_user(id)?))
}

pub fn post_users(ctx: &Ctx) -> Result<Response> {
    ctx.admin("identity.user.create", "users")?;
    let fields = ctx.json::<UserIn>()?.validate_new()?;
    if store::user_name_taken(&fields.user_name, None)? {
        return Err(ApiError::conflict(store::USER_NAME_TAKEN));
    }
    let id = store::insert_user(&fields, ctx.now)?;
    ctx.audit(
        "identity.user.create",
        &user_target(id),
        Decision::Allow,
        None,
    );
    json(StatusCode::CREATED, &UserOut::from(&existing_user(id)?))
}

pub fn put_user(ctx: &Ctx, id: i64) -> Result<Response> {
    let principal = ctx.admin("identity.user.update", &user_target(id))?;
    let input = ctx.json::<UserIn>()?;
    let user = existing_user(id)?;
    let fields = input.validate_update(&user)?;
    if id == principal.user_id && !fields.is_admin {
        return Err(ApiError::conflict(
            "IsAdministrator: you cannot take away your own administrator role",
        ));
    }
    if !fields.user_name.eq_ignore_ascii_case(&user.user_name)
        && store::user_name_taken(&fields.user_name, Some(id))?
    {
        return Err(ApiError::conflict(store::USER_NAME_TAKEN));
    }
    ctx.audited("identity.user.update", &user_target(id), None, || {
        store::update_user(id, &fields, ctx.now)
    })?;
    json(StatusCode::OK, &UserOut::from(&existing_user(id)?))
}

pub fn delete_user(ctx: &Ctx, id: i64) -> Result<Response> {
    let principal = ctx.admin("identity.user.delete", &user_target(id))?;
    existing_user(id)?;
    if id == principal.user_id {
        return Err(ApiError::conflict(
            "UserID: you cannot delete the user you are signed in as",
        ));
    }
    ctx.audited("identity.user.delete", &user_target(id), None, || {
        store::remove_user(id, ctx.now)
    })?;
    Ok(empty(StatusCode::OK))
}

/// `POST users/{id}/quarantine` (blocked = true) and `.../unquarantine`.
pub fn post_user_quarantine(ctx: &Ctx, id: i64, blocked: bool) -> Result<Response> {
    let action = if blocked {
        "identity.user.quarantine"
    } else {
        "identity.user.unquarantine"
    };
    let principal = ctx.admin(action, &user_target(id))?;
    existing_user(id)?;
    if blocked && id == principal.user_id {
        return Err(ApiError::conflict(
            "UserID: you cannot quarantine the user you are signed in as",
        ));
    }
    ctx.audited(action, &user_target(id), None, || {
        store::set_blocked(id, blocked, ctx.now)
    })?;
    json(StatusCode::OK, &UserOut::from(&existing_user(id)?))
}

// ---------------------------------------------------------------- groups and membership

pub fn get_usergroups(ctx: &Ctx) -> Result<Response> {
    ctx.admin("identity.group.list", "usergroups")?;
    let groups = store::list_groups()?;
    json(
        StatusCode::OK,
        &groups.iter().map(GroupOut::from).collect::<Vec<_>>(),
    )
}

pub fn get_usergroup(ctx: &Ctx, id: i64) -> Result<Response> {
    ctx.admin("identity.group.read", &group_target(id))?;
    json(StatusCode::OK, &GroupOut::from(&existing_group(id)?))
}

pub fn post_usergroups(ctx: &Ctx) -> Result<Response> {
    ctx.admin("identity.group.create", "usergroups")?;
    let fields = ctx.json::<GroupIn>()?.validate()?;
    if store::group_name_taken(&fields.name)? {
        return Err(ApiError::conflict(store::GROUP_NAME_TAKEN));
    }
    let id = store::insert_group(&fields, ctx.now)?;
    ctx.audit(
        "identity.group.create",
        &group_target(id),
        Decision::Allow,
        None,
    );
    json(StatusCode::CREATED, &GroupOut::from(&existing_group(id)?))
}

pub fn delete_usergroup(ctx: &Ctx, id: i64) -> Result<Response> {
    ctx.admin("identity.group.delete", &group_target(id))?;
    existing_group(id)?;
    ctx.audited("identity.group.delete", &group_target(id), None, || {
        store::delete_group(id)
    })?;
    Ok(empty(StatusCode::OK))
}

pub fn get_usergroup_users(ctx: &Ctx, group: i64) -> Result<Response> {
    ctx.admin("identity.group.members", &group_target(group))?;
    existing_group(group)?;
    let users = store::list_group_members(group)?;
    json(
        StatusCode::OK,
        &users.iter().map(UserOut::from).collect::<Vec<_>>(),
    )
}

pub fn get_user_usergroups(ctx: &Ctx, user: i64) -> Result<Response> {
    ctx.admin("identity.user.groups", &user_target(user))?;
    existing_user(user)?;
    let groups = store::list_groups_of_user(user)?;
    json(
        StatusCode::OK,
        &groups.iter().map(GroupOut::from).collect::<Vec<_>>(),
    )
}

pub fn post_user_usergroup(ctx: &Ctx, user: i64, group: i64) -> Result<Response> {
    let target = format!("{}/{}", user_target(user), group_target(group));
    ctx.admin("identity.group.add-member", &target)?;
    existing_user(user)?;
    existing_group(group)?;
    ctx.audited("identity.group.add-member", &target, None, || {
        store::add_member(group, user)
    })?;
    Ok(empty(StatusCode::CREATED))
}

pub fn delete_user_usergroup(ctx: &Ctx, user: i64, group: i64) -> Result<Response> {
    let target = format!("{}/{}", user_target(user), group_target(group));
    ctx.admin("identity.group.remove-member", &target)?;
    existing_user(user)?;
    existing_group(group)?;
    ctx.audited("identity.group.remove-member", &target, None, || {
        store::remove_member(group, user)
    })?;
    Ok(empty(StatusCode::OK))
}

// ---------------------------------------------------------------- feature permissions

/// `GET permissions`: the features a group can be given access to.
pub fn get_permissions(ctx: &Ctx) -> Result<Response> {
    ctx.admin("identity.permission.list", "permissions")?;
    let features: Vec<PermissionOut> = dto::FEATURES
        .iter()
        .map(|f| PermissionOut {
            permission_id: f.id,
            name: f.name,
        })
        .collect();
    json(StatusCode::OK, &features)
}

pub fn get_usergroup_permissions(ctx: &Ctx, group: i64) -> Result<Response> {
    ctx.admin("identity.group.permissions", &group_target(group))?;
    existing_group(group)?;
    let permissions: Vec<_> = store::group_features(group)?
        .iter()
        .filter_map(|(feature, level)| dto::group_permission(feature, *level))
        .collect();
    json(StatusCode::OK, &permissions)
}

pub fn post_usergroup_permissions(ctx: &Ctx, group: i64) -> Result<Response> {
    ctx.admin("identity.group.set-permissions", &group_target(group))?;
    let list = ctx.json::<Vec<PermissionIn>>()?;
    let permissions = dto::validate_permissions("Permissions", list)?;
    existing_group(group)?;
    ctx.audited(
        "identity.group.set-permissions",
        &group_target(group),
        None,
        || store::set_group_features(group, &permissions),
    )?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn delete_usergroup_permissions(ctx: &Ctx, group: i64) -> Result<Response> {
    ctx.admin("identity.group.clear-permissions", &group_target(group))?;
    existing_group(group)?;
    ctx.audited(
        "identity.group.clear-permissions",
        &group_target(group),
        None,
        || store::clear_group_features(group),
    )?;
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---------------------------------------------------------------- API keys and OAuth clients

pub fn get_user_apikeys(ctx: &Ctx, user: i64) -> Result<Response> {
    ctx.admin("identity.credential.list", &user_target(user))?;
    existing_user(user)?;
    let credentials = store::list_credentials(user)?;
    json(
        StatusCode::OK,
        &credentials
            .iter()
            .map(CredentialOut::from)
            .collect::<Vec<_>>(),
    )
}

/// A UUID (version 4) for a new OAuth client id, from the vault's random source.
fn new_client_id() -> Result<String> {
    let hex = random_token(16);
    let random = uuid::Uuid::try_parse(&hex)
        .map_err(|_| ApiError::internal("random-token did not return 32 hex digits"))?;
    Ok(uuid::Builder::from_random_bytes(*random.as_bytes())
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// Creates an API key or OAuth client and shows its secret this once.
pub fn post_user_apikeys(ctx: &Ctx, user: i64) -> Result<Response> {
    ctx.admin("identity.credential.create", &user_target(user))?;
    let fields = ctx.optional_json::<CredentialIn>()?.validate(ctx.now)?;
    existing_user(user)?;
    let (secret, client_id) = match fields.kind {
        CredentialKind::ApiKey => (random_token(API_KEY_BYTES), None),
        CredentialKind::OAuthClient => (random_token(CLIENT_SECRET_BYTES), Some(new_client_id()?)),
    };
    let digest = token_digest(&secret)?;
    let id = store::insert_credential(user, &fields, client_id.as_deref(), &digest, ctx.now)?;
    ctx.audit(
        "identity.credential.create",
        &format!("credential:{id}"),
        Decision::Allow,
        None,
    );
    let credential = store::find_credential(user, id)?
        .ok_or_else(|| ApiError::internal("a credential just created is not there"))?;
    let (key, client_secret) = match fields.kind {
        CredentialKind::ApiKey => (Some(secret), None),
        CredentialKind::OAuthClient => (None, Some(secret)),
    };
    no_store(json(
        StatusCode::CREATED,
        &NewCredentialOut {
            credential: CredentialOut::from(&credential),
            key,
            client_secret,
        },
    )?)
}

/// Revokes the credential and every session issued from it.
pub fn delete_user_apikey(ctx: &Ctx, user: i64, key: i64) -> Result<Response> {
    let target = format!("credential:{key}");
    ctx.admin("identity.credential.revoke", &target)?;
    store::find_credential(user, key)?.ok_or_else(ApiError::not_found)?;
    ctx.audited("identity.credential.revoke", &target, None, || {
        store::revoke_credential(key, ctx.now)
    })?;
    Ok(empty(StatusCode::OK))
}
