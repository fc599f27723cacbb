//! Authentication at the edge: who is calling, from the credentials a request carries.
//!
//! All of the gateway's SQL lives here. Tokens and keys are never compared or stored
//! raw: each is turned into its keyed digest (`crypto.token-digest`) and looked up by
//! that digest, so equality is decided by the database on digests only.
//!
//! Every check that can fail for a user (blocked, removed, revoked, expired, unknown)
//! answers the same 401 to the client; the reason goes to the log and, for sign-ins,
//! to the audit trail.

use std::collections::BTreeMap;

use edgesafe_api_common::principal::{AuthMethod, Principal, ALL_SCOPES};
use edgesafe_api_common::vault::{token_digest, Db, Row, Value};
use edgesafe_api_common::ApiError;

use crate::routes::AuthRule;

/// The session cookie set by `Auth/SignAppIn`.
pub const SESSION_COOKIE: &str = "edgesafe_session";

/// Longer than any key or token we issue (128 hex characters for an API key): no need
/// to spend a digest on it.
const MAX_TOKEN_LEN: usize = 512;

/// What a request presented.
#[derive(Debug, Default)]
pub struct Presented {
    pub authorization: Option<String>,
    pub session_cookie: Option<String>,
    /// `X-Vault-Token`, which Vault clients send instead of `Authorization`.
    pub vault_token: Option<String>,
}

impl Presented {
    pub fn presents_credentials(&self) -> bool {
        self.authorization.is_some() || self.session_cookie.is_some() || self.vault_token.is_some()
    }
}

/// Why there is no principal.
#[derive(Debug)]
pub enum Failure {
    /// No credentials, or unusable ones. `user` is the credential owner when known (for
    /// the audit trail); `reason` is for the log and the audit trail, not the client.
    Denied {
        reason: &'static str,
        user: Option<i64>,
    },
    /// The vault failed; not the caller's fault.
    Error(ApiError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Error(e)
    }
}

impl Failure {
    fn denied(reason: &'static str) -> Self {
        Failure::Denied { reason, user: None }
    }

    /// The client's answer: one message for every kind of bad credential.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Failure::Denied {
                reason: MISSING, ..
            } => ApiError::unauthorized(MISSING),
            Failure::Denied { .. } => {
                ApiError::unauthorized("invalid, expired or revoked credentials")
            }
            Failure::Error(e) => e,
        }
    }
}

const MISSING: &str = "missing credentials";

/// A parsed `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorization {
    /// `PS-Auth key=<key>; runas=<user>; pwd=[...];`
    PsAuth { key: String, runas: Option<String> },
    /// `Bearer <token>`
    Bearer(String),
    /// A bare token (v2 sends the key or token without a scheme).
    Bare(String),
}

pub fn parse_authorization(value: &str) -> Option<Authorization> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("PS-Auth") {
        parse_ps_auth(rest)
    } else if scheme.eq_ignore_ascii_case("Bearer") {
        (!rest.is_empty() && !rest.contains(char::is_whitespace))
            .then(|| Authorization::Bearer(rest.to_owned()))
    } else if rest.is_empty() && !scheme.is_empty() {
        Some(Authorization::Bare(scheme.to_owned()))
    } else {
        None
    }
}

/// Parses `key=...; runas=...; pwd=[...]` with optional spaces. The Python library puts
/// `; runas=<user>;` inside the key value it is given, which this reads the same way.
fn parse_ps_auth(params: &str) -> Option<Authorization> {
    let mut key = None;
    let mut runas = None;
    for (name, value) in ps_auth_params(params) {
        if name.eq_ignore_ascii_case("key") {
            key = Some(value);
        } else if name.eq_ignore_ascii_case("runas") {
            runas = Some(value).filter(|v| !v.is_empty());
        }
        // `pwd=[...]` is Password Safe's password of the run-as user. edgesafe users
        // have no passwords (they authenticate by key or client secret only), so it is
        // parsed, to keep the rest readable, and ignored. Unknown names are ignored too.
    }
    key.filter(|k| !k.is_empty())
        .map(|key| Authorization::PsAuth { key, runas })
}

/// `name=value` pairs separated by `;`. A value in brackets (`pwd=[a;b]`) may hold `;`.
fn ps_auth_params(input: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
        if rest.is_empty() {
            break;
        }
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let after = after.trim_start();
        let (value, remainder) = if let Some(bracketed) = after.strip_prefix('[') {
            match bracketed.split_once(']') {
                Some((inside, tail)) => {
                    let tail = tail.split_once(';').map_or("", |(_, t)| t);
                    (inside, tail)
                }
                None => (bracketed, ""),
            }
        } else {
            after.split_once(';').unwrap_or((after, ""))
        };
        pairs.push((name.trim().to_owned(), value.trim().to_owned()));
        rest = remainder;
    }
    pairs
}

/// The value of the session cookie among the request's `Cookie` headers.
pub fn session_cookie<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    cookie_headers
        .into_iter()
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Authenticates a request under `rule`. `Ok(None)` only for anonymous routes.
pub fn authenticate(
    rule: AuthRule,
    presented: &Presented,
    now: i64,
) -> Result<Option<Principal>, Failure> {
    let authorization = presented.authorization.as_deref().map(parse_authorization);
    match rule {
        AuthRule::Anonymous => Ok(None),
        AuthRule::V3Header => v3_header(authorization, now).map(Some),
        AuthRule::V3CookieOrHeader => {
            if let Some(token) = &presented.session_cookie {
                match by_session(token, Some("cookie"), now) {
                    Ok(p) => return Ok(Some(p)),
                    // A stale cookie next to a good header is normal (clients keep
                    // both after signing out); fall through to the header.
                    Err(Failure::Denied { .. }) if authorization.is_some() => {}
                    Err(e) => return Err(e),
                }
            }
            v3_header(authorization, now).map(Some)
        }
        AuthRule::V2Token => match authorization {
            None => Err(Failure::denied(MISSING)),
            Some(Some(Authorization::Bearer(t) | Authorization::Bare(t))) => {
                let digest = digest_of(&t)?;
                match by_api_key_digest(&digest, None, now) {
                    Err(Failure::Denied { .. }) => by_session_digest(digest, None, now),
                    other => other,
                }
                .map(Some)
            }
            Some(_) => Err(Failure::denied("unsupported authorization scheme")),
        },
        AuthRule::KvBearer => match authorization {
            None => Err(Failure::denied(MISSING)),
            Some(Some(Authorization::Bearer(t))) => token_or_key(&t, now).map(Some),
            Some(_) => Err(Failure::denied("unsupported authorization scheme")),
        },
        AuthRule::VaultToken => match (&presented.vault_token, authorization) {
            (Some(token), _) => token_or_key(token.trim(), now).map(Some),
            (None, Some(Some(Authorization::Bearer(t)))) => token_or_key(&t, now).map(Some),
            (None, None) => Err(Failure::denied(MISSING)),
            (None, Some(_)) => Err(Failure::denied("unsupported authorization scheme")),
        },
    }
}

/// A bearer access token, or else an API key (KV and Vault clients send either).
fn token_or_key(token: &str, now: i64) -> Result<Principal, Failure> {
    let digest = digest_of(token)?;
    match by_session_digest(digest.clone(), Some("bearer"), now) {
        Err(Failure::Denied { .. }) => by_api_key_digest(&digest, None, now),
        other => other,
    }
}

fn v3_header(authorization: Option<Option<Authorization>>, now: i64) -> Result<Principal, Failure> {
    match authorization {
        None => Err(Failure::denied(MISSING)),
        Some(Some(Authorization::PsAuth { key, runas })) => {
            by_api_key_digest(&digest_of(&key)?, runas.as_deref(), now)
        }
        Some(Some(Authorization::Bearer(token))) => by_session(&token, Some("bearer"), now),
        Some(_) => Err(Failure::denied("unsupported authorization scheme")),
    }
}

fn digest_of(token: &str) -> Result<String, Failure> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(Failure::denied("malformed token"));
    }
    Ok(token_digest(token)?)
}

fn by_session(token: &str, kind: Option<&str>, now: i64) -> Result<Principal, Failure> {
    by_session_digest(digest_of(token)?, kind, now)
}

/// A live API key; `runas` names the user to act as (see [`runas_user`]).
fn by_api_key_digest(digest: &str, runas: Option<&str>, now: i64) -> Result<Principal, Failure> {
    let rows = Db::query(
        "SELECT c.id AS credential_id, c.scopes, u.id AS user_id, u.user_name, u.is_admin
           FROM credentials c JOIN users u ON u.id = c.user_id
          WHERE c.digest = ?1 AND c.kind = 'api_key' AND c.revoked_at IS NULL
            AND (c.expires_at IS NULL OR c.expires_at > ?2)
            AND u.blocked = 0 AND u.removed = 0",
        &[digest.into(), now.into()],
    )?;
    let Some(row) = rows.first() else {
        return Err(Failure::denied(
            "unknown, revoked or expired API key, or blocked owner",
        ));
    };
    let owner = UserRow::read(&row)?;
    let credential = Credential {
        id: Some(row.i64("credential_id")?),
        owner: Some(owner.id),
    };
    let scopes = scope_list(row.str("scopes")?);
    let user = runas_user(owner, runas)?;
    principal(user, AuthMethod::ApiKey, scopes, None, credential)
}

/// Password Safe's run-as: a key acts as its owner, or, when the owner is an
/// administrator, as any user named in `runas` (the key then works like a Password
/// Safe API registration).
fn runas_user(owner: UserRow, runas: Option<&str>) -> Result<UserRow, Failure> {
    let Some(name) = runas.filter(|n| !n.eq_ignore_ascii_case(&owner.user_name)) else {
        return Ok(owner);
    };
    if !owner.admin {
        return Err(Failure::Denied {
            reason: "runas names another user and the key's owner is not an administrator",
            user: Some(owner.id),
        });
    }
    // user_name is COLLATE NOCASE, so this matches in any case.
    let rows = Db::query(
        "SELECT id AS user_id, user_name, is_admin FROM users
          WHERE user_name = ?1 AND blocked = 0 AND removed = 0",
        &[name.into()],
    )?;
    match rows.first() {
        Some(row) => Ok(UserRow::read(&row)?),
        None => Err(Failure::Denied {
            reason: "runas names no active user",
            user: Some(owner.id),
        }),
    }
}

/// A live session (`kind` = `cookie` or `bearer`; any when `None`) whose user is active.
///
/// A session made from a credential lives only while that credential is valid and its
/// owner may still act as the session's user: active, and an administrator when the
/// session runs as someone else (run-as). A cookie made from a bearer token lives only
/// while that token does. All of it is checked on every use, so a quarantine, removal,
/// demotion, revocation or sign-out ends such sessions at once.
fn by_session_digest(digest: String, kind: Option<&str>, now: i64) -> Result<Principal, Failure> {
    let rows = Db::query(
        "SELECT s.kind, s.scopes, s.credential_id, c.user_id AS owner_id,
                u.id AS user_id, u.user_name, u.is_admin
           FROM sessions s JOIN users u ON u.id = s.user_id
           LEFT JOIN credentials c ON c.id = s.credential_id
           LEFT JOIN users o ON o.id = c.user_id
          WHERE s.digest = ?1 AND (?3 IS NULL OR s.kind = ?3)
            AND s.revoked_at IS NULL AND s.expires_at > ?2
            AND u.blocked = 0 AND u.removed = 0
            AND (s.credential_id IS NULL OR (
                   c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?2)
                   AND o.blocked = 0 AND o.removed = 0
                   AND (o.id = s.user_id OR o.is_admin = 1)))
            AND (s.parent_digest IS NULL OR EXISTS (
                   SELECT 1 FROM sessions p
                    WHERE p.digest = s.parent_digest AND p.revoked_at IS NULL
                      AND p.expires_at > ?2))",
        &[digest.as_str().into(), now.into(), kind.into()],
    )?;
    let Some(row) = rows.first() else {
        return Err(Failure::denied(
            "unknown, revoked or expired session, or blocked user",
        ));
    };
    let auth = match row.str("kind")? {
        "cookie" => AuthMethod::Session,
        _ => AuthMethod::Bearer,
    };
    let user = UserRow::read(&row)?;
    let scopes = scope_list(row.str("scopes")?);
    let credential = Credential {
        id: row.opt_i64("credential_id")?,
        owner: row.opt_i64("owner_id")?,
    };
    principal(user, auth, scopes, Some(digest), credential)
}

/// Space-separated scopes; none means every scope (a credential made without a list).
fn scope_list(text: &str) -> Vec<String> {
    let scopes: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() {
        ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        scopes
    }
}

/// The credential behind a request and the user who owns it.
struct Credential {
    id: Option<i64>,
    owner: Option<i64>,
}

struct UserRow {
    id: i64,
    user_name: String,
    admin: bool,
}

impl UserRow {
    fn read(row: &Row<'_>) -> Result<Self, ApiError> {
        Ok(UserRow {
            id: row.i64("user_id")?,
            user_name: row.string("user_name")?,
            admin: row.bool("is_admin")?,
        })
    }
}

/// The principal of an authenticated user: active groups, and per feature the highest
/// access level any of them grants.
fn principal(
    user: UserRow,
    auth: AuthMethod,
    scopes: Vec<String>,
    session: Option<String>,
    credential: Credential,
) -> Result<Principal, Failure> {
    let id: Value = user.id.into();
    let groups = Db::query(
        "SELECT g.id FROM group_members m JOIN user_groups g ON g.id = m.group_id
          WHERE m.user_id = ?1 AND g.is_active = 1 ORDER BY g.id",
        std::slice::from_ref(&id),
    )?
    .iter()
    .map(|r| r.i64("id"))
    .collect::<Result<Vec<_>, _>>()?;
    let mut features = BTreeMap::new();
    for row in Db::query(
        "SELECT f.feature, MAX(f.access_level) AS level
           FROM group_features f
           JOIN group_members m ON m.group_id = f.group_id
           JOIN user_groups g ON g.id = f.group_id
          WHERE m.user_id = ?1 AND g.is_active = 1
          GROUP BY f.feature",
        std::slice::from_ref(&id),
    )?
    .iter()
    {
        let level = u8::try_from(row.i64("level")?)
            .map_err(|_| ApiError::internal("group_features.access_level out of range"))?;
        features.insert(row.string("feature")?, level);
    }
    Ok(Principal {
        user_id: user.id,
        user_name: user.user_name,
        admin: user.admin,
        groups,
        features,
        scopes,
        auth,
        session,
        credential: credential.id,
        credential_owner: credential.owner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(key: &str, runas: Option<&str>) -> Option<Authorization> {
        Some(Authorization::PsAuth {
            key: key.into(),
            runas: runas.map(Into::into),
        })
    }

    #[test]
    fn parses_ps_auth_as_clients_send_it() {
        assert_eq!(
            parse_authorization("PS-Auth key=abc; runas=bob;"),
            ps("abc", Some("bob"))
        );
        assert_eq!(
            parse_authorization("PS-Auth key=abc;runas=bob"),
            ps("abc", Some("bob"))
        );
        assert_eq!(parse_authorization("ps-auth key=abc"), ps("abc", None));
        assert_eq!(
            parse_authorization("PS-Auth key=abc; runas=bob; pwd=[p;a=ss];"),
            ps("abc", Some("bob"))
        );
        assert_eq!(
            parse_authorization("PS-Auth  key = abc ;  runas = dom\\bob ; "),
            ps("abc", Some("dom\\bob"))
        );
        assert_eq!(
            parse_authorization("PS-Auth runas=bob; key=abc; "),
            ps("abc", Some("bob"))
        );
        assert_eq!(parse_authorization("PS-Auth runas=bob;"), None);
        assert_eq!(parse_authorization("PS-Auth key=;"), None);
        assert_eq!(parse_authorization("PS-Auth"), None);
    }

    #[test]
    fn parses_bearer_and_bare_tokens() {
        assert_eq!(
            parse_authorization("Bearer abc"),
            Some(Authorization::Bearer("abc".into()))
        );
        assert_eq!(
            parse_authorization("bearer   abc "),
            Some(Authorization::Bearer("abc".into()))
        );
        assert_eq!(parse_authorization("Bearer"), None);
        assert_eq!(parse_authorization("Bearer a b"), None);
        assert_eq!(
            parse_authorization("abc123"),
            Some(Authorization::Bare("abc123".into()))
        );
        assert_eq!(parse_authorization("Basic dXNlcjpwYXNz"), None);
        assert_eq!(parse_authorization(""), None);
    }

    #[test]
    fn finds_the_session_cookie() {
        assert_eq!(
            session_cookie(["a=1; edgesafe_session=tok; b=2"]),
            Some("tok".into())
        );
        assert_eq!(
            session_cookie(["a=1", "edgesafe_session=tok"]),
            Some("tok".into())
        );
        assert_eq!(session_cookie(["a=1"]), None);
        assert_eq!(session_cookie(["edgesafe_session="]), None);
    }

    #[test]
    fn empty_scopes_mean_all() {
        assert_eq!(scope_list("").len(), ALL_SCOPES.len());
        assert_eq!(
            scope_list("publicapi  secrets.read"),
            vec!["publicapi", "secrets.read"]
        );
    }

    #[test]
    fn missing_and_bad_credentials_are_401_without_touching_the_vault() {
        let status = |r: Result<Option<Principal>, Failure>| {
            r.err().map(|f| f.into_api_error().status().as_u16())
        };
        let none = Presented::default();
        for rule in [
            AuthRule::V3Header,
            AuthRule::V3CookieOrHeader,
            AuthRule::V2Token,
            AuthRule::KvBearer,
            AuthRule::VaultToken,
        ] {
            assert_eq!(status(authenticate(rule, &none, 0)), Some(401));
        }
        let basic = Presented {
            authorization: Some("Basic dXNlcjpwYXNz".into()),
            ..Presented::default()
        };
        assert_eq!(
            status(authenticate(AuthRule::V3Header, &basic, 0)),
            Some(401)
        );
        let bare = Presented {
            authorization: Some("abc".into()),
            ..Presented::default()
        };
        assert_eq!(
            status(authenticate(AuthRule::KvBearer, &bare, 0)),
            Some(401)
        );
        assert_eq!(
            status(authenticate(AuthRule::VaultToken, &bare, 0)),
            Some(401)
        );
        assert!(matches!(
            authenticate(AuthRule::Anonymous, &none, 0),
            Ok(None)
        ));
    }
}
