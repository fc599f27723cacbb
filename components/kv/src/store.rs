//! All of the kv area's SQL. Parameters are always bound; sets travel as one JSON
//! array read with `json_each`. A KV secret is a row of `secrets` with its
//! `secret_versions` (the secrets area's tables, written the same way: a version is
//! reserved, its value sealed, then committed); Vault's settings live in `kv_metadata`.
//!
//! Values never pass through here: they are sealed at
//! `edgesafe_secrets_safe::versions::value_scope`, and versions are reserved there too.

use edgesafe_api_common::vault::{statement, Db, Row, Statement, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::ids::{FolderId, SafeId, SecretId};
use serde_json::Map;

use crate::value::Kind;

/// A JSON array for `json_each(?n)`.
fn json_list<T: serde::Serialize>(items: &[T]) -> Result<Value> {
    serde_json::to_string(items)
        .map(Value::Text)
        .map_err(|_| ApiError::internal("list serialization"))
}

fn size(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------- safes and folders

/// The safe and its name, for mount listings.
pub struct SafeRow {
    pub id: SafeId,
    pub name: String,
    pub description: String,
}

/// Safes named `name` (in any case: safe names are matched so everywhere). A user's
/// personal folder is a root too, but no mount: it is not a safe.
pub fn safes_named(name: &str) -> Result<Vec<SafeId>> {
    let rows = Db::query(
        "SELECT id FROM folders
          WHERE parent_id IS NULL AND personal_user_id IS NULL AND name = ?1 COLLATE NOCASE",
        &[name.into()],
    )?;
    rows.iter()
        .map(|r| Ok(SafeId::new(r.string("id")?)))
        .collect()
}

/// The safes among `ids` (the caller's readable ones), by name; no personal folder.
pub fn safes(ids: &[String]) -> Result<Vec<SafeRow>> {
    let rows = Db::query(
        "SELECT id, name, description FROM folders
          WHERE parent_id IS NULL AND personal_user_id IS NULL
            AND id IN (SELECT value FROM json_each(?1))
          ORDER BY name COLLATE NOCASE, id",
        &[json_list(ids)?],
    )?;
    rows.iter()
        .map(|r| {
            Ok(SafeRow {
                id: SafeId::new(r.string("id")?),
                name: r.string("name")?,
                description: r.string("description")?,
            })
        })
        .collect()
}

/// The folder `name` directly in `parent`.
pub fn child_folder(parent: &FolderId, name: &str) -> Result<Option<FolderId>> {
    let rows = Db::query(
        "SELECT id FROM folders WHERE parent_id = ?1 AND name = ?2 COLLATE NOCASE",
        &[parent.into(), name.into()],
    )?;
    rows.first()
        .map(|r| Ok(FolderId::new(r.string("id")?)))
        .transpose()
}

/// The names of the folders and secrets directly in `folder`, each sorted.
pub fn children(folder: &FolderId) -> Result<(Vec<String>, Vec<String>)> {
    let folders = Db::query(
        "SELECT name FROM folders WHERE parent_id = ?1 ORDER BY name",
        &[folder.into()],
    )?;
    let secrets = Db::query(
        "SELECT title FROM secrets WHERE folder_id = ?1 ORDER BY title",
        &[folder.into()],
    )?;
    Ok((
        folders
            .iter()
            .map(|r| r.string("name"))
            .collect::<Result<_>>()?,
        secrets
            .iter()
            .map(|r| r.string("title"))
            .collect::<Result<_>>()?,
    ))
}

/// Every folder of these safes with its parent and name, to build paths.
pub struct FolderRow {
    pub id: FolderId,
    pub parent_id: Option<FolderId>,
    pub safe_id: SafeId,
    pub name: String,
}

pub fn folders_of(safes: &[SafeId]) -> Result<Vec<FolderRow>> {
    let ids: Vec<&str> = safes.iter().map(SafeId::as_str).collect();
    let rows = Db::query(
        "SELECT id, parent_id, safe_id, name FROM folders
          WHERE safe_id IN (SELECT value FROM json_each(?1))",
        &[json_list(&ids)?],
    )?;
    rows.iter()
        .map(|r| {
            Ok(FolderRow {
                id: FolderId::new(r.string("id")?),
                parent_id: r.opt_str("parent_id")?.map(FolderId::new),
                safe_id: SafeId::new(r.string("safe_id")?),
                name: r.string("name")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- secrets

/// A secret's row as KV needs it.
#[derive(Clone, Debug)]
pub struct SecretRow {
    pub id: SecretId,
    pub folder_id: FolderId,
    pub safe_id: SafeId,
    pub kind: Kind,
    pub title: String,
    pub username: String,
    pub file_name: Option<String>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub modified_at: i64,
}

const SECRET_SELECT: &str = "SELECT s.id, s.folder_id, f.safe_id, s.kind, s.title, s.username,
        s.file_name, s.created_at, s.created_by, s.modified_at
    FROM secrets s JOIN folders f ON f.id = s.folder_id";

impl SecretRow {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(SecretRow {
            id: SecretId::new(row.string("id")?),
            folder_id: FolderId::new(row.string("folder_id")?),
            safe_id: SafeId::new(row.string("safe_id")?),
            kind: Kind::from_db(row.str("kind")?)?,
            title: row.string("title")?,
            username: row.string("username")?,
            file_name: row.opt_str("file_name")?.map(str::to_owned),
            created_at: row.i64("created_at")?,
            created_by: row.opt_i64("created_by")?,
            modified_at: row.i64("modified_at")?,
        })
    }
}

fn secrets(sql: &str, params: &[Value]) -> Result<Vec<SecretRow>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| SecretRow::read(&r))
        .collect()
}

/// The secret titled `title` (in any case) in `folder`.
pub fn secret_in(folder: &FolderId, title: &str) -> Result<Option<SecretRow>> {
    Ok(secrets(
        &format!("{SECRET_SELECT} WHERE s.folder_id = ?1 AND s.title = ?2 COLLATE NOCASE"),
        &[folder.into(), title.into()],
    )?
    .into_iter()
    .next())
}

/// Secrets of these safes whose title contains `q` (any case; every one for an empty
/// `q`), ordered by title then id.
pub fn search(safes: &[SafeId], q: &str) -> Result<Vec<SecretRow>> {
    let ids: Vec<&str> = safes.iter().map(SafeId::as_str).collect();
    secrets(
        &format!(
            "{SECRET_SELECT}
             WHERE f.safe_id IN (SELECT value FROM json_each(?1))
               AND instr(lower(s.title), lower(?2)) > 0
             ORDER BY s.title COLLATE NOCASE, s.id"
        ),
        &[json_list(&ids)?, q.into()],
    )
}

/// The secrets of these folders, ordered by title then id.
pub fn secrets_in(folders: &[FolderId]) -> Result<Vec<SecretRow>> {
    let ids: Vec<&str> = folders.iter().map(FolderId::as_str).collect();
    secrets(
        &format!(
            "{SECRET_SELECT} WHERE s.folder_id IN (SELECT value FROM json_each(?1))
             ORDER BY s.title COLLATE NOCASE, s.id"
        ),
        &[json_list(&ids)?],
    )
}

/// One version's marks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRow {
    pub version: i64,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub destroyed_at: Option<i64>,
    pub created_by: Option<i64>,
}

/// Every version of a secret, oldest first. A version reserved by a write still under
/// way shows as destroyed until it commits.
pub fn versions(secret: &SecretId) -> Result<Vec<VersionRow>> {
    let rows = Db::query(
        "SELECT version, created_at, deleted_at, destroyed_at, created_by FROM secret_versions
          WHERE secret_id = ?1 ORDER BY version",
        &[secret.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(VersionRow {
                version: r.i64("version")?,
                created_at: r.i64("created_at")?,
                deleted_at: r.opt_i64("deleted_at")?,
                destroyed_at: r.opt_i64("destroyed_at")?,
                created_by: r.opt_i64("created_by")?,
            })
        })
        .collect()
}

/// Vault's settings of a secret and the seed's owner stamps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    pub max_versions: i64,
    pub cas_required: bool,
    pub delete_version_after: i64,
    pub custom_metadata: Map<String, serde_json::Value>,
    /// `None` before the first KV write or setting.
    pub owner: Option<String>,
    pub metadata_version: i64,
    pub updated_at: Option<i64>,
}

pub fn metadata(secret: &SecretId) -> Result<Metadata> {
    let rows = Db::query(
        "SELECT max_versions, cas_required, delete_version_after, custom_metadata, owner,
                metadata_version, updated_at
           FROM kv_metadata WHERE secret_id = ?1",
        &[secret.into()],
    )?;
    let Some(r) = rows.first() else {
        return Ok(Metadata::default());
    };
    let custom = serde_json::from_str(r.str("custom_metadata")?)
        .map_err(|_| ApiError::internal("kv_metadata.custom_metadata is not a JSON object"))?;
    Ok(Metadata {
        max_versions: r.i64("max_versions")?,
        cas_required: r.bool("cas_required")?,
        delete_version_after: r.i64("delete_version_after")?,
        custom_metadata: custom,
        owner: Some(r.string("owner")?),
        metadata_version: r.i64("metadata_version")?,
        updated_at: Some(r.i64("updated_at")?),
    })
}

/// A user's name, for owners stamped by subject.
pub fn user_name(id: i64) -> Result<Option<String>> {
    let rows = Db::query("SELECT user_name FROM users WHERE id = ?1", &[id.into()])?;
    rows.first().map(|r| r.string("user_name")).transpose()
}

// ---------------------------------------------------------------- writing

/// A change event for `/api/secrets/events`, committed with the change; the oldest
/// beyond [`EVENTS_KEPT`] go in the same transaction.
pub struct EventRow<'a> {
    pub safe_id: &'a SafeId,
    pub uri: &'a str,
    pub operation: &'a str,
    pub version: Option<i64>,
    pub actor: &'a str,
    pub now: i64,
}

/// How many change events are kept.
pub const EVENTS_KEPT: i64 = 1000;

/// `committed`: the history id of a version whose commit is in the same transaction;
/// the event is recorded only when that version did commit.
fn push_event(event: &EventRow<'_>, committed: Option<&str>, out: &mut Vec<Statement>) {
    out.push(statement(
        "INSERT INTO kv_events (at, safe_id, uri, operation, version, actor)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6
          WHERE ?7 IS NULL OR EXISTS (SELECT 1 FROM secret_versions
                                       WHERE history_id = ?7 AND destroyed_at IS NULL)",
        vec![
            event.now.into(),
            event.safe_id.into(),
            event.uri.into(),
            event.operation.into(),
            event.version.into(),
            event.actor.into(),
            committed.into(),
        ],
    ));
    out.push(statement(
        "DELETE FROM kv_events WHERE seq <= (SELECT max(seq) FROM kv_events) - ?1",
        vec![EVENTS_KEPT.into()],
    ));
}

/// A new KV secret: the folders of its path that do not exist yet (outermost first,
/// each in the one before, the first in `parent`), the secret (a text secret), its
/// first version (sealed already at `value_scope(id, 1)`), its owner and metadata.
pub struct NewSecret<'a> {
    pub id: &'a SecretId,
    pub parent: &'a FolderId,
    pub new_folders: &'a [(FolderId, String)],
    pub title: &'a str,
    pub history_id: &'a str,
    pub size: usize,
    pub user_id: i64,
    pub owner: &'a str,
    pub now: i64,
    pub event: EventRow<'a>,
}

pub fn insert_secret(
    new: &NewSecret<'_>,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<()> {
    let mut out = Vec::new();
    let mut parent = new.parent.clone();
    for (id, name) in new.new_folders {
        out.push(statement(
            "INSERT INTO folders (id, parent_id, safe_id, name, description, owner_user_id,
                                  created_at, created_by, modified_at, modified_by)
             SELECT ?1, p.id, p.safe_id, ?3, '', ?4, ?5, ?4, ?5, ?4 FROM folders p WHERE p.id = ?2",
            vec![
                id.into(),
                (&parent).into(),
                name.as_str().into(),
                new.user_id.into(),
                new.now.into(),
            ],
        ));
        parent = id.clone();
    }
    out.push(statement(
        "INSERT INTO secrets (id, folder_id, kind, title, owner_type, owner_id, current_version,
                              created_at, created_by, modified_at, modified_by, value_modified_at)
         VALUES (?1, ?2, 'text', ?3, 'User', ?4, 1, ?5, ?4, ?5, ?4, ?5)",
        vec![
            new.id.into(),
            (&parent).into(),
            new.title.into(),
            new.user_id.into(),
            new.now.into(),
        ],
    ));
    out.push(statement(
        "INSERT INTO secret_versions (secret_id, version, history_id, size, created_at, created_by)
         VALUES (?1, 1, ?2, ?3, ?4, ?5)",
        vec![
            new.id.into(),
            new.history_id.into(),
            size(new.size).into(),
            new.now.into(),
            new.user_id.into(),
        ],
    ));
    out.push(statement(
        "INSERT INTO secret_owners (secret_id, position, user_id, name, email)
         SELECT ?1, 0, id, user_name, email FROM users WHERE id = ?2",
        vec![new.id.into(), new.user_id.into()],
    ));
    out.push(statement(
        "INSERT INTO kv_metadata (secret_id, owner, updated_at) VALUES (?1, ?2, ?3)",
        vec![new.id.into(), new.owner.into(), new.now.into()],
    ));
    push_event(&new.event, None, &mut out);
    Db::execute_audited(out, audit).map_err(|e| {
        if e.code() == ErrorCode::Conflict {
            ApiError::conflict("uri: a secret or folder of this name was created meanwhile; retry")
        } else {
            e
        }
    })?;
    Ok(())
}

/// The committing of a reserved version.
pub struct Commit<'a> {
    pub secret: &'a SecretId,
    pub version: i64,
    pub history_id: &'a str,
    /// With check-and-set: the version that must be the newest before this one.
    pub cas: Option<i64>,
    /// A credential's new username.
    pub username: Option<&'a str>,
    pub user_id: i64,
    pub owner: &'a str,
    pub now: i64,
    pub event: EventRow<'a>,
}

/// The statement that makes the secret serve its newest live version to v3 (neither
/// deleted nor destroyed), else its newest deleted one: never a destroyed one while
/// another has a value.
fn current_version(secret: &SecretId, now: i64, user_id: i64) -> Statement {
    statement(
        "UPDATE secrets SET current_version = coalesce(
                (SELECT max(version) FROM secret_versions
                  WHERE secret_id = ?1 AND deleted_at IS NULL AND destroyed_at IS NULL),
                (SELECT max(version) FROM secret_versions
                  WHERE secret_id = ?1 AND destroyed_at IS NULL),
                current_version),
                modified_at = ?2, modified_by = ?3
          WHERE id = ?1",
        vec![secret.into(), now.into(), user_id.into()],
    )
}

/// Commits a reserved version with its audit event. Every statement holds only while
/// the versions below it end at `cas` (checked again here: two writers with one `cas`
/// both reserve, only the lower commits). False when nothing was committed; the change
/// event is then left out too.
pub fn commit_version(
    commit: &Commit<'_>,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<bool> {
    let guard = "(?8 IS NULL OR (SELECT coalesce(max(version), 0) FROM secret_versions
                                   WHERE secret_id = ?1 AND version < ?2) = ?8)";
    let params = || -> Vec<Value> {
        vec![
            commit.secret.into(),
            commit.version.into(),
            commit.history_id.into(),
            commit.username.into(),
            commit.now.into(),
            commit.user_id.into(),
            commit.owner.into(),
            commit.cas.into(),
        ]
    };
    let mut out = vec![
        statement(
            &format!(
                "UPDATE secret_versions SET destroyed_at = NULL
                  WHERE history_id = ?3 AND secret_id = ?1 AND {guard}"
            ),
            params(),
        ),
        statement(
            &format!(
                "UPDATE secrets SET username = coalesce(?4, username), value_modified_at = ?5
                  WHERE id = ?1 AND {guard}"
            ),
            params(),
        ),
        current_version(commit.secret, commit.now, commit.user_id),
        statement(
            &format!(
                "INSERT OR IGNORE INTO kv_metadata (secret_id, owner, updated_at)
                 SELECT ?1, ?7, ?5 WHERE {guard}"
            ),
            params(),
        ),
    ];
    push_event(&commit.event, Some(commit.history_id), &mut out);
    let outcomes = Db::execute_audited(out, audit)?;
    Ok(outcomes.first().is_some_and(|o| o.changes > 0))
}

/// Marks versions deleted (`deleted`) or undeleted, never a destroyed one; returns how
/// many changed.
pub fn mark_deleted(
    secret: &SecretId,
    versions: &[i64],
    deleted: bool,
    user_id: i64,
    now: i64,
    event: &EventRow<'_>,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<u64> {
    let sql = if deleted {
        "UPDATE secret_versions SET deleted_at = ?3
          WHERE secret_id = ?1 AND version IN (SELECT value FROM json_each(?2))
            AND deleted_at IS NULL AND destroyed_at IS NULL"
    } else {
        "UPDATE secret_versions SET deleted_at = NULL
          WHERE secret_id = ?1 AND version IN (SELECT value FROM json_each(?2))
            AND deleted_at IS NOT NULL AND destroyed_at IS NULL AND ?3 IS NOT NULL"
    };
    let mut out = vec![statement(
        sql,
        vec![secret.into(), json_list(versions)?, now.into()],
    )];
    out.push(current_version(secret, now, user_id));
    push_event(event, None, &mut out);
    let outcomes = Db::execute_audited(out, audit)?;
    Ok(outcomes.first().map_or(0, |o| o.changes))
}

/// Marks versions destroyed; the caller then forgets their values.
pub fn mark_destroyed(
    secret: &SecretId,
    versions: &[i64],
    user_id: i64,
    now: i64,
    event: &EventRow<'_>,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<()> {
    let mut out = vec![statement(
        "UPDATE secret_versions SET destroyed_at = ?3
          WHERE secret_id = ?1 AND version IN (SELECT value FROM json_each(?2))
            AND destroyed_at IS NULL",
        vec![secret.into(), json_list(versions)?, now.into()],
    )];
    out.push(current_version(secret, now, user_id));
    push_event(event, None, &mut out);
    Db::execute_audited(out, audit)?;
    Ok(())
}

/// Forgets the rows of versions beyond `max_versions` (their values are forgotten
/// first by the caller, as they are marked destroyed by [`mark_destroyed`]).
pub fn purge_versions(secret: &SecretId, versions: &[i64]) -> Result<()> {
    Db::execute(vec![statement(
        "DELETE FROM secret_versions
          WHERE secret_id = ?1 AND version IN (SELECT value FROM json_each(?2))
            AND destroyed_at IS NOT NULL",
        vec![secret.into(), json_list(versions)?],
    )])?;
    Ok(())
}

/// Writes Vault's settings and custom metadata (`metadata_version` counts up).
pub fn write_metadata(
    secret: &SecretId,
    meta: &Metadata,
    owner: &str,
    now: i64,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<()> {
    let custom = serde_json::to_string(&meta.custom_metadata)
        .map_err(|_| ApiError::internal("custom metadata serialization"))?;
    Db::execute_audited(
        vec![statement(
            "INSERT INTO kv_metadata (secret_id, max_versions, cas_required, delete_version_after,
                                      custom_metadata, owner, metadata_version, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
             ON CONFLICT (secret_id) DO UPDATE SET max_versions = ?2, cas_required = ?3,
                 delete_version_after = ?4, custom_metadata = ?5,
                 metadata_version = metadata_version + 1, updated_at = ?7",
            vec![
                secret.into(),
                meta.max_versions.into(),
                meta.cas_required.into(),
                meta.delete_version_after.into(),
                custom.into(),
                owner.into(),
                now.into(),
            ],
        )],
        audit,
    )?;
    Ok(())
}

/// Sets the owner (created_by and created_at are the secret's own, never changed).
pub fn set_owner(
    secret: &SecretId,
    owner: &str,
    now: i64,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<()> {
    Db::execute_audited(
        vec![statement(
            "INSERT INTO kv_metadata (secret_id, owner, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (secret_id) DO UPDATE SET owner = ?2, updated_at = ?3",
            vec![secret.into(), owner.into(), now.into()],
        )],
        audit,
    )?;
    Ok(())
}

/// Deletes a secret with all its versions and metadata, provided no version was
/// reserved beyond `max_version` (as the secrets area's delete); false otherwise.
pub fn delete_secret(
    secret: &SecretId,
    max_version: i64,
    event: &EventRow<'_>,
    audit: &[edgesafe_api_common::vault::AuditEvent<'_>],
) -> Result<bool> {
    let mut out = vec![statement(
        "DELETE FROM secrets WHERE id = ?1
            AND (SELECT coalesce(max(version), 0) FROM secret_versions WHERE secret_id = ?1) = ?2",
        vec![secret.into(), max_version.into()],
    )];
    push_event(event, None, &mut out);
    let outcomes = Db::execute_audited(out, audit)?;
    Ok(outcomes.first().is_some_and(|o| o.changes > 0))
}

// ---------------------------------------------------------------- events and rates

/// A change event as `/api/secrets/events` shows it.
pub struct EventOut {
    pub seq: i64,
    pub at: i64,
    pub uri: String,
    pub operation: String,
    pub version: Option<i64>,
    pub actor: String,
}

/// Events after `after` in these safes (every safe for `None`), oldest first.
pub fn events(after: i64, safes: &[String], limit: i64) -> Result<Vec<EventOut>> {
    let safes = json_list(safes)?;
    let rows = Db::query(
        "SELECT seq, at, uri, operation, version, actor FROM kv_events
          WHERE seq > ?1 AND safe_id IN (SELECT value FROM json_each(?2))
          ORDER BY seq LIMIT ?3",
        &[after.into(), safes, limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(EventOut {
                seq: r.i64("seq")?,
                at: r.i64("at")?,
                uri: r.string("uri")?,
                operation: r.string("operation")?,
                version: r.opt_i64("version")?,
                actor: r.string("actor")?,
            })
        })
        .collect()
}

/// Counts a request of `caller` in the minute starting at `window`; returns the count
/// so far, this one included. Older windows are dropped on the way.
pub fn count_request(caller: &str, window: i64) -> Result<i64> {
    Db::execute(vec![
        statement(
            "DELETE FROM kv_request_counts WHERE window_start < ?1",
            vec![window.into()],
        ),
        statement(
            "INSERT INTO kv_request_counts (caller, window_start, count) VALUES (?1, ?2, 1)
             ON CONFLICT (caller, window_start) DO UPDATE SET count = count + 1",
            vec![caller.into(), window.into()],
        ),
    ])?;
    let rows = Db::query(
        "SELECT count FROM kv_request_counts WHERE caller = ?1 AND window_start = ?2",
        &[caller.into(), window.into()],
    )?;
    rows.first().map_or(Ok(1), |r| r.i64("count"))
}
