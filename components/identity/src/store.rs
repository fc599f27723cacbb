//! All of the identity area's SQL. Parameters are always bound, never formatted in;
//! writes that touch several rows go through one `Db::execute` (one transaction).

use edgesafe_api_common::principal::ALL_SCOPES;
use edgesafe_api_common::vault::{statement, Db, Row, Statement, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Result};

use crate::dto::{CredentialFields, GroupFields, UserFields};

// ---------------------------------------------------------------- users

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub blocked: bool,
}

const USER_COLUMNS: &str =
    "u.id, u.user_name, u.first_name, u.last_name, u.email, u.is_admin, u.blocked";

impl User {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(User {
            id: row.i64("id")?,
            user_name: row.string("user_name")?,
            first_name: row.string("first_name")?,
            last_name: row.string("last_name")?,
            email: row.string("email")?,
            is_admin: row.bool("is_admin")?,
            blocked: row.bool("blocked")?,
        })
    }
}

fn users(sql: &str, params: &[Value]) -> Result<Vec<User>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| User::read(&r))
        .collect()
}

/// Users that have not been removed, by id.
pub fn list_users() -> Result<Vec<User>> {
    users(
        &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.removed = 0 ORDER BY u.id"),
        &[],
    )
}

/// A user that has not been removed.
pub fn find_user(id: i64) -> Result<Option<User>> {
    Ok(users(
        &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1 AND u.removed = 0"),
        &[id.into()],
    )?
    .into_iter()
    .next())
}

/// Whether another user (removed ones included) has this name, in any case.
pub fn user_name_taken(name: &str, except: Option<i64>) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS taken FROM users WHERE user_name = ?1 AND (?2 IS NULL OR id <> ?2)",
        &[name.into(), except.into()],
    )?;
    Ok(!rows.is_empty())
}

/// A uniqueness conflict on a write that can only break one rule gets that rule's
/// message; anything else passes through.
fn conflict_as(e: ApiError, what: &str) -> ApiError {
    if e.code() == ErrorCode::Conflict {
        ApiError::conflict(what)
    } else {
        e
    }
}

pub const USER_NAME_TAKEN: &str = "UserName: already in use";

pub fn insert_user(user: &UserFields, now: i64) -> Result<i64> {
    let outcomes = Db::execute(vec![statement(
        "INSERT INTO users (user_name, first_name, last_name, email, is_admin, created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        vec![
            user.user_name.as_str().into(),
            user.first_name.as_str().into(),
            user.last_name.as_str().into(),
            user.email.as_str().into(),
            user.is_admin.into(),
            now.into(),
        ],
    )])
    .map_err(|e| conflict_as(e, USER_NAME_TAKEN))?;
    last_id(&outcomes)
}

/// Updates a user. Taking away the administrator role also ends the sessions the
/// user's keys opened as other users (run-as needs an administrator).
pub fn update_user(id: i64, user: &UserFields, now: i64) -> Result<()> {
    let mut statements = vec![statement(
        "UPDATE users SET user_name = ?2, first_name = ?3, last_name = ?4, email = ?5,
                          is_admin = ?6, modified_at = ?7
          WHERE id = ?1 AND removed = 0",
        vec![
            id.into(),
            user.user_name.as_str().into(),
            user.first_name.as_str().into(),
            user.last_name.as_str().into(),
            user.email.as_str().into(),
            user.is_admin.into(),
            now.into(),
        ],
    )];
    if !user.is_admin {
        statements.push(statement(
            "UPDATE sessions SET revoked_at = ?2
              WHERE revoked_at IS NULL AND user_id <> ?1
                AND credential_id IN (SELECT id FROM credentials WHERE user_id = ?1)",
            vec![id.into(), now.into()],
        ));
    }
    Db::execute(statements).map_err(|e| conflict_as(e, USER_NAME_TAKEN))?;
    Ok(())
}

/// Ends the user's own sessions and every session opened with one of the user's keys
/// (as the user or, run-as, as someone else).
fn revoke_user_sessions(id: i64, now: i64) -> Statement {
    statement(
        "UPDATE sessions SET revoked_at = ?2
          WHERE revoked_at IS NULL
            AND (user_id = ?1
                 OR credential_id IN (SELECT id FROM credentials WHERE user_id = ?1))",
        vec![id.into(), now.into()],
    )
}

/// Marks the user removed and revokes everything they could sign in with. The row
/// stays for the audit trail, renamed so that the name can be given to a new user.
pub fn remove_user(id: i64, now: i64) -> Result<()> {
    Db::execute(vec![
        statement(
            "UPDATE users SET removed = 1, blocked = 1, modified_at = ?2,
                              user_name = user_name || ' (removed #' || id || ')'
              WHERE id = ?1 AND removed = 0",
            vec![id.into(), now.into()],
        ),
        revoke_user_sessions(id, now),
        statement(
            "UPDATE credentials SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            vec![id.into(), now.into()],
        ),
        statement(
            "DELETE FROM group_members WHERE user_id = ?1",
            vec![id.into()],
        ),
    ])?;
    Ok(())
}

/// Quarantine (blocked) or lift it. Quarantine also ends the user's sessions, so that
/// lifting it does not bring a stolen session back.
pub fn set_blocked(id: i64, blocked: bool, now: i64) -> Result<()> {
    let mut statements = vec![statement(
        "UPDATE users SET blocked = ?2, modified_at = ?3 WHERE id = ?1 AND removed = 0",
        vec![id.into(), blocked.into(), now.into()],
    )];
    if blocked {
        statements.push(revoke_user_sessions(id, now));
    }
    Db::execute(statements)?;
    Ok(())
}

// ---------------------------------------------------------------- groups

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub is_active: bool,
}

impl Group {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(Group {
            id: row.i64("id")?,
            name: row.string("name")?,
            description: row.string("description")?,
            is_active: row.bool("is_active")?,
        })
    }
}

fn groups(sql: &str, params: &[Value]) -> Result<Vec<Group>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| Group::read(&r))
        .collect()
}

pub fn list_groups() -> Result<Vec<Group>> {
    groups(
        "SELECT id, name, description, is_active FROM user_groups ORDER BY id",
        &[],
    )
}

pub fn find_group(id: i64) -> Result<Option<Group>> {
    Ok(groups(
        "SELECT id, name, description, is_active FROM user_groups WHERE id = ?1",
        &[id.into()],
    )?
    .into_iter()
    .next())
}

pub fn group_name_taken(name: &str) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS taken FROM user_groups WHERE name = ?1",
        &[name.into()],
    )?;
    Ok(!rows.is_empty())
}

pub const GROUP_NAME_TAKEN: &str = "groupName: already in use";

fn set_feature(group: Value, feature: &str, level: u8) -> Statement {
    if level == 0 {
        statement(
            "DELETE FROM group_features WHERE group_id = ?1 AND feature = ?2",
            vec![group, feature.into()],
        )
    } else {
        statement(
            "INSERT INTO group_features (group_id, feature, access_level) VALUES (?1, ?2, ?3)
             ON CONFLICT (group_id, feature) DO UPDATE SET access_level = excluded.access_level",
            vec![group, feature.into(), i64::from(level).into()],
        )
    }
}

/// Creates the group with its permissions in one transaction.
pub fn insert_group(group: &GroupFields, now: i64) -> Result<i64> {
    let mut statements = vec![statement(
        "INSERT INTO user_groups (name, description, is_active, created_at) VALUES (?1, ?2, ?3, ?4)",
        vec![
            group.name.as_str().into(),
            group.description.as_str().into(),
            group.is_active.into(),
            now.into(),
        ],
    )];
    // The new id is not known before the transaction runs; the name is unique.
    for (feature, level) in group.permissions.iter().filter(|(_, level)| *level > 0) {
        statements.push(statement(
            "INSERT INTO group_features (group_id, feature, access_level)
             SELECT id, ?2, ?3 FROM user_groups WHERE name = ?1",
            vec![
                group.name.as_str().into(),
                (*feature).into(),
                i64::from(*level).into(),
            ],
        ));
    }
    let outcomes = Db::execute(statements).map_err(|e| conflict_as(e, GROUP_NAME_TAKEN))?;
    last_id(&outcomes)
}

/// Deletes the group with its memberships and permissions (not relying on the
/// connection enforcing `ON DELETE CASCADE`).
pub fn delete_group(id: i64) -> Result<()> {
    Db::execute(vec![
        statement(
            "DELETE FROM group_members WHERE group_id = ?1",
            vec![id.into()],
        ),
        statement(
            "DELETE FROM group_features WHERE group_id = ?1",
            vec![id.into()],
        ),
        statement("DELETE FROM user_groups WHERE id = ?1", vec![id.into()]),
    ])?;
    Ok(())
}

pub fn list_group_members(group: i64) -> Result<Vec<User>> {
    users(
        &format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN group_members m ON m.user_id = u.id
              WHERE m.group_id = ?1 AND u.removed = 0 ORDER BY u.id"
        ),
        &[group.into()],
    )
}

pub fn list_groups_of_user(user: i64) -> Result<Vec<Group>> {
    groups(
        "SELECT g.id, g.name, g.description, g.is_active
           FROM user_groups g JOIN group_members m ON m.group_id = g.id
          WHERE m.user_id = ?1 ORDER BY g.id",
        &[user.into()],
    )
}

/// Adds the membership; adding it twice is not an error.
pub fn add_member(group: i64, user: i64) -> Result<()> {
    Db::execute(vec![statement(
        "INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)",
        vec![group.into(), user.into()],
    )])?;
    Ok(())
}

pub fn remove_member(group: i64, user: i64) -> Result<()> {
    Db::execute(vec![statement(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
        vec![group.into(), user.into()],
    )])?;
    Ok(())
}

/// (feature, level) pairs of a group.
pub fn group_features(group: i64) -> Result<Vec<(String, u8)>> {
    Db::query(
        "SELECT feature, access_level FROM group_features WHERE group_id = ?1 ORDER BY feature",
        &[group.into()],
    )?
    .iter()
    .map(|r| {
        let level = u8::try_from(r.i64("access_level")?)
            .map_err(|_| ApiError::internal("group_features.access_level out of range"))?;
        Ok((r.string("feature")?, level))
    })
    .collect()
}

/// Sets the listed features (level 0 removes one); others stay as they are.
pub fn set_group_features(group: i64, features: &[(&'static str, u8)]) -> Result<()> {
    let statements = features
        .iter()
        .map(|(feature, level)| set_feature(group.into(), feature, *level))
        .collect::<Vec<_>>();
    if !statements.is_empty() {
        Db::execute(statements)?;
    }
    Ok(())
}

pub fn clear_group_features(group: i64) -> Result<()> {
    Db::execute(vec![statement(
        "DELETE FROM group_features WHERE group_id = ?1",
        vec![group.into()],
    )])?;
    Ok(())
}

// ---------------------------------------------------------------- credentials

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ApiKey,
    OAuthClient,
}

impl CredentialKind {
    fn as_sql(self) -> &'static str {
        match self {
            CredentialKind::ApiKey => "api_key",
            CredentialKind::OAuthClient => "oauth_client",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: i64,
    pub kind: CredentialKind,
    pub label: String,
    pub client_id: Option<String>,
    /// As stored; empty means every scope.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const CREDENTIAL_COLUMNS: &str =
    "id, kind, label, client_id, scopes, created_at, expires_at, revoked_at";

impl Credential {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(Credential {
            id: row.i64("id")?,
            kind: match row.str("kind")? {
                "oauth_client" => CredentialKind::OAuthClient,
                _ => CredentialKind::ApiKey,
            },
            label: row.string("label")?,
            client_id: row.opt_str("client_id")?.map(str::to_owned),
            scopes: split_scopes(row.str("scopes")?),
            created_at: row.i64("created_at")?,
            expires_at: row.opt_i64("expires_at")?,
            revoked_at: row.opt_i64("revoked_at")?,
        })
    }
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// What a credential's tokens may carry: its own scopes, or all of them when it has none.
pub fn effective_scopes(stored: &[String]) -> Vec<String> {
    if stored.is_empty() {
        ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        stored.to_vec()
    }
}

pub fn list_credentials(user: i64) -> Result<Vec<Credential>> {
    Db::query(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE user_id = ?1 ORDER BY id"),
        &[user.into()],
    )?
    .iter()
    .map(|r| Credential::read(&r))
    .collect()
}

pub fn find_credential(user: i64, id: i64) -> Result<Option<Credential>> {
    Db::query(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1 AND user_id = ?2"),
        &[id.into(), user.into()],
    )?
    .first()
    .map(|r| Credential::read(&r))
    .transpose()
}

/// Stores a credential by the digest of its secret; returns its id.
pub fn insert_credential(
    user: i64,
    fields: &CredentialFields,
    client_id: Option<&str>,
    digest: &str,
    now: i64,
) -> Result<i64> {
    let outcomes = Db::execute(vec![statement(
        "INSERT INTO credentials (user_id, kind, client_id, digest, label, scopes, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            user.into(),
            fields.kind.as_sql().into(),
            client_id.into(),
            digest.into(),
            fields.label.as_str().into(),
            fields.scopes.join(" ").into(),
            now.into(),
            fields.expires_at.into(),
        ],
    )])?;
    last_id(&outcomes)
}

/// Revokes the credential and every session issued from it, in one transaction.
pub fn revoke_credential(id: i64, now: i64) -> Result<()> {
    Db::execute(vec![
        statement(
            "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            vec![id.into(), now.into()],
        ),
        statement(
            "UPDATE sessions SET revoked_at = ?2 WHERE credential_id = ?1 AND revoked_at IS NULL",
            vec![id.into(), now.into()],
        ),
    ])?;
    Ok(())
}

/// An OAuth client that may get a token now.
pub struct OAuthClient {
    pub credential_id: i64,
    pub user_id: i64,
    pub scopes: Vec<String>,
}

/// The live OAuth client with this id and secret digest, whose user may sign in. The
/// secret is matched by digest equality in the query, never compared here.
pub fn find_oauth_client(client_id: &str, digest: &str, now: i64) -> Result<Option<OAuthClient>> {
    let rows = Db::query(
        "SELECT c.id, c.user_id, c.scopes
           FROM credentials c JOIN users u ON u.id = c.user_id
          WHERE c.client_id = ?1 AND c.digest = ?2 AND c.kind = 'oauth_client'
            AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?3)
            AND u.blocked = 0 AND u.removed = 0",
        &[client_id.into(), digest.into(), now.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(OAuthClient {
                credential_id: r.i64("id")?,
                user_id: r.i64("user_id")?,
                scopes: split_scopes(r.str("scopes")?),
            })
        })
        .transpose()
}

// ---------------------------------------------------------------- sessions

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Cookie,
    Bearer,
}

pub struct NewSession<'a> {
    pub digest: &'a str,
    pub user_id: i64,
    pub credential_id: Option<i64>,
    pub kind: SessionKind,
    pub scopes: &'a [String],
    pub expires_at: i64,
    /// The session (a bearer token) this one was made from; it ends with it.
    pub parent_digest: Option<&'a str>,
}

pub fn insert_session(session: &NewSession<'_>, now: i64) -> Result<()> {
    let kind = match session.kind {
        SessionKind::Cookie => "cookie",
        SessionKind::Bearer => "bearer",
    };
    Db::execute(vec![statement(
        "INSERT INTO sessions
                (digest, user_id, credential_id, kind, scopes, created_at, expires_at, parent_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        vec![
            session.digest.into(),
            session.user_id.into(),
            session.credential_id.into(),
            kind.into(),
            session.scopes.join(" ").into(),
            now.into(),
            session.expires_at.into(),
            session.parent_digest.into(),
        ],
    )])?;
    Ok(())
}

/// Ends a session and the sessions made from it.
pub fn revoke_session(digest: &str, now: i64) -> Result<()> {
    Db::execute(vec![statement(
        "UPDATE sessions SET revoked_at = ?2
          WHERE (digest = ?1 OR parent_digest = ?1) AND revoked_at IS NULL",
        vec![digest.into(), now.into()],
    )])?;
    Ok(())
}

fn last_id(outcomes: &[edgesafe_api_common::vault::Outcome]) -> Result<i64> {
    outcomes
        .first()
        .map(|o| o.last_insert_rowid)
        .ok_or_else(|| ApiError::internal("insert returned no outcome"))
}
