//! The operations both KV protocols share (`/api/secrets` and Vault's `/v1/`): finding
//! the secret a path names, authorizing the caller's purpose on its safe, and reading,
//! writing, deleting, undeleting and destroying versions, each with its audit event.
//!
//! Who may do what is the Secrets Safe's rule (`edgesafe_secrets_safe::access`): the
//! Secrets-Safe feature permission, then the grants on the safe (the mount). Reading
//! needs Read; creating a secret (and the folders of its path) Create; a new version
//! or new settings Update; deleting, undeleting and destroying versions Delete; the
//! owner Manage. Without Read the path does not exist for the caller (404).
//!
//! Every access is an audit event: the subject (actor), the purpose (seed 003's:
//! `read`, `write`, `delete`, ...), the effect (allow or deny), the resource (the
//! secret's canonical URI, as target) and a decision id (in the detail), never a value.
//! Writes commit with their event; value reads are recorded before the answer.

use edgesafe_api_common::principal::SCOPE_PUBLIC_API;
use edgesafe_api_common::vault::{setting, storage, AuditEvent, Decision};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::ids::{new_id, FolderId, SafeId, SecretId};
use edgesafe_secrets_safe::{versions, Access, Flags};
use serde_json::{Map, Value};

use crate::store::{self, Commit, EventRow, Metadata, NewSecret, SecretRow, VersionRow};
use crate::uri::KvPath;
use crate::value::{self, Columns, Kind};
use crate::Ctx;

/// Why the caller acts: seed 003's purposes, which the audit trail records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Write,
    Delete,
    Undelete,
    DestroyVersions,
    Rotate,
    ReadMetadata,
    OwnerUpdate,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Read => "read",
            Purpose::Write => "write",
            Purpose::Delete => "delete",
            Purpose::Undelete => "undelete",
            Purpose::DestroyVersions => "destroy_versions",
            Purpose::Rotate => "rotate",
            Purpose::ReadMetadata => "read_metadata",
            Purpose::OwnerUpdate => "owner_update",
        }
    }

    /// The token scopes that allow a purpose (seed 003; `publicapi` allows all, as on
    /// v3, and a value reader may read metadata, as the gateway's table says).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Purpose::Read => &["secrets.read", SCOPE_PUBLIC_API],
            Purpose::Write => &["secrets.write", SCOPE_PUBLIC_API],
            Purpose::Delete | Purpose::Undelete => &["secrets.delete", SCOPE_PUBLIC_API],
            Purpose::DestroyVersions => &["secrets.destroy", SCOPE_PUBLIC_API],
            Purpose::Rotate => &["secrets.rotate", SCOPE_PUBLIC_API],
            Purpose::ReadMetadata => &["secrets.read_metadata", "secrets.read", SCOPE_PUBLIC_API],
            Purpose::OwnerUpdate => &["secrets.set_owner", SCOPE_PUBLIC_API],
        }
    }

    /// Whether the purpose changes something (the feature permission's write level).
    fn writes(self) -> bool {
        !matches!(self, Purpose::Read | Purpose::ReadMetadata)
    }
}

/// Whether token scopes are enforced (`secrets_enforce_scopes`, on by default).
pub fn scopes_enforced() -> bool {
    setting("secrets_enforce_scopes", true, |_| true)
}

/// One caller acting for one purpose on one resource, with the decision id every
/// event of this access carries.
pub struct Act<'a> {
    pub ctx: &'a Ctx,
    pub access: Access<'a>,
    pub purpose: Purpose,
    pub decision_id: String,
    /// `vault` or `kv`: which protocol the access came through.
    pub via: &'static str,
}

impl<'a> Act<'a> {
    /// The caller acting for `purpose`: the feature permission, and the purpose's scope
    /// when the gateway could not tell it from the route (a bulk item, `destroy=true`).
    pub fn new(ctx: &'a Ctx, purpose: Purpose, via: &'static str) -> Result<Self> {
        let act = Self::any_scope(ctx, purpose, via)?;
        let principal = act.access.principal;
        if scopes_enforced() && !purpose.scopes().iter().any(|s| principal.has_scope(s)) {
            act.deny("-", "missing scope");
            return Err(ApiError::forbidden());
        }
        Ok(act)
    }

    /// The caller acting for `purpose` whatever his token's scopes, for the routes every
    /// caller may use (Vault's mount detection, which the CLI calls before any write
    /// too); the feature permission still holds.
    pub fn any_scope(ctx: &'a Ctx, purpose: Purpose, via: &'static str) -> Result<Self> {
        let act = Act {
            ctx,
            access: Access::new(ctx.principal()?, ctx.now),
            purpose,
            decision_id: new_id(),
            via,
        };
        if act.access.require_feature(purpose.writes()).is_err() {
            act.deny("-", "no Secrets-Safe feature permission");
            return Err(ApiError::forbidden());
        }
        Ok(act)
    }

    pub fn user_id(&self) -> i64 {
        self.access.principal.user_id
    }

    pub fn actor(&self) -> String {
        self.ctx.actor()
    }

    fn detail(&self, note: &str) -> String {
        self.ctx.audit_detail(Some(&format!(
            "decision_id={}; via={}; {note}",
            self.decision_id, self.via
        )))
    }

    /// Runs `f` with the allow event of this access for `resource`.
    pub fn with_event<T>(
        &self,
        action: &str,
        resource: &str,
        note: &str,
        f: impl FnOnce(&[AuditEvent<'_>]) -> Result<T>,
    ) -> Result<T> {
        let actor = self.actor();
        let detail = self.detail(note);
        let event = AuditEvent {
            actor: &actor,
            action,
            target: resource,
            decision: Decision::Allow,
            purpose: self.purpose.as_str(),
            detail: &detail,
        };
        f(&[event])
    }

    /// Records an allowed access that changes nothing (a read); fails when it cannot be
    /// recorded, so no value leaves unrecorded.
    pub fn allow(&self, action: &str, resource: &str, note: &str) -> Result<()> {
        self.ctx
            .record(
                &self.actor(),
                action,
                resource,
                Decision::Allow,
                self.purpose.as_str(),
                Some(&format!(
                    "decision_id={}; via={}; {note}",
                    self.decision_id, self.via
                )),
            )
            .map(|_| ())
    }

    /// Records a refusal (logged when it cannot be recorded; the refusal stands).
    pub fn deny(&self, resource: &str, reason: &str) {
        let note = format!(
            "decision_id={}; via={}; reason={reason}",
            self.decision_id, self.via
        );
        let action = format!("kv.{}", self.purpose.as_str());
        if let Err(e) = self.ctx.record(
            &self.actor(),
            &action,
            resource,
            Decision::Deny,
            self.purpose.as_str(),
            Some(&note),
        ) {
            eprintln!("could not record a refused kv access: {e}");
        }
    }
}

/// Where a path leads in the vault, as far as it exists.
pub struct Place {
    pub path: KvPath,
    pub safe: SafeId,
    pub flags: Flags,
    /// The deepest folder of the path that exists (the safe itself at least).
    pub folder: FolderId,
    /// The folder names below `folder` that do not exist yet.
    pub missing: Vec<String>,
    /// The secret, when the folders exist and it does.
    pub secret: Option<SecretRow>,
}

impl Place {
    pub fn uri(&self) -> String {
        self.path.uri()
    }

    /// The secret; 404 when there is none.
    pub fn existing(&self) -> Result<&SecretRow> {
        self.secret.as_ref().ok_or_else(ApiError::not_found)
    }

    /// The folder a prefix names; 404 when part of it does not exist.
    pub fn folder_of_prefix(&self) -> Result<&FolderId> {
        if self.missing.is_empty() {
            Ok(&self.folder)
        } else {
            Err(ApiError::not_found())
        }
    }
}

/// The safe a mount names among those the caller reads: 404 for none, 409 when an
/// administrator sees two of that name.
pub fn mount(access: &Access<'_>, name: &str) -> Result<(SafeId, Flags)> {
    let mut seen = Vec::new();
    for safe in store::safes_named(name)? {
        let flags = access.flags_on(&safe)?;
        if access.can_see(flags) {
            seen.push((safe, flags));
        }
    }
    match seen.len() {
        0 => Err(ApiError::not_found()),
        1 => Ok(seen.remove(0)),
        _ => Err(ApiError::conflict(
            "uri: the mount names more than one safe; rename one of them",
        )),
    }
}

/// Follows `path` below its mount: folders while they exist, then the secret (the last
/// segment) when `secret` is true, else the whole path as folders (a prefix).
pub fn locate(act: &Act<'_>, path: &KvPath, secret: bool) -> Result<Place> {
    let (safe, flags) = mount(&act.access, &path.mount)?;
    let folders: &[String] = if secret {
        path.folders()
    } else {
        &path.segments
    };
    let mut folder = FolderId::of_safe(&safe);
    let mut missing = Vec::new();
    for name in folders {
        if !missing.is_empty() {
            missing.push(name.clone());
            continue;
        }
        match store::child_folder(&folder, name)? {
            Some(child) => folder = child,
            None => missing.push(name.clone()),
        }
    }
    let found = match (secret, missing.is_empty(), path.name()) {
        (true, true, Some(title)) => store::secret_in(&folder, title)?,
        _ => None,
    };
    Ok(Place {
        path: path.clone(),
        safe,
        flags,
        folder,
        missing,
        secret: found,
    })
}

/// 403 (recorded) unless the caller holds `need` on the place's safe.
pub fn require(act: &Act<'_>, place: &Place, need: Flags) -> Result<()> {
    if place.flags.contains(need) {
        Ok(())
    } else {
        act.deny(&place.uri(), "no grant on the safe");
        Err(ApiError::forbidden())
    }
}

/// A version as KV shows it: its marks, with the settings' automatic deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionView {
    pub version: i64,
    pub created_at: i64,
    pub deletion_time: Option<i64>,
    pub destroyed: bool,
    pub created_by: Option<i64>,
}

impl VersionView {
    pub fn of(row: &VersionRow, meta: &Metadata) -> Self {
        let automatic = (meta.delete_version_after > 0)
            .then(|| row.created_at.saturating_add(meta.delete_version_after));
        VersionView {
            version: row.version,
            created_at: row.created_at,
            deletion_time: row.deleted_at.or(automatic),
            destroyed: row.destroyed_at.is_some(),
            created_by: row.created_by,
        }
    }

    /// Deleted (now or by the settings' automatic deletion) or destroyed.
    pub fn is_gone(&self, now: i64) -> bool {
        self.destroyed || self.deletion_time.is_some_and(|t| t <= now)
    }
}

/// A secret's versions and settings.
pub struct History {
    pub meta: Metadata,
    pub versions: Vec<VersionView>,
}

impl History {
    pub fn of(secret: &SecretRow) -> Result<Self> {
        let meta = store::metadata(&secret.id)?;
        let versions = store::versions(&secret.id)?
            .iter()
            .map(|v| VersionView::of(v, &meta))
            .collect();
        Ok(History { meta, versions })
    }

    /// Vault's `current_version`: the newest.
    pub fn current(&self) -> i64 {
        self.versions.last().map_or(0, |v| v.version)
    }

    pub fn oldest(&self) -> i64 {
        self.versions.first().map_or(0, |v| v.version)
    }

    pub fn version(&self, n: i64) -> Option<&VersionView> {
        self.versions.iter().find(|v| v.version == n)
    }
}

/// What a read of one version finds.
pub enum Found {
    /// The value, as a map.
    Live(Map<String, Value>, VersionView),
    /// Deleted or destroyed: no value, but the version's marks.
    Gone(VersionView),
}

/// Reads version `version` (the newest for `None` or 0) of the place's secret; 404
/// when there is no such version. A value read is recorded before it is returned.
pub fn read(act: &Act<'_>, place: &Place, version: Option<i64>) -> Result<(Found, History)> {
    let secret = place.existing()?;
    let history = History::of(secret)?;
    let n = version
        .filter(|n| *n > 0)
        .unwrap_or_else(|| history.current());
    let view = history
        .version(n)
        .cloned()
        .ok_or_else(ApiError::not_found)?;
    if view.is_gone(act.ctx.now) {
        return Ok((Found::Gone(view), history));
    }
    let sealed = storage::unseal(&versions::value_scope(&secret.id, n))?
        .ok_or_else(|| ApiError::internal("a live secret version has no sealed value"))?;
    let columns = Columns {
        kind: secret.kind,
        username: &secret.username,
        file_name: secret.file_name.as_deref(),
    };
    let map = value::to_map(&columns, sealed)?;
    act.allow(
        "kv.read",
        &place.uri(),
        &format!("secret=secret:{}; version={n}", secret.id),
    )?;
    Ok((Found::Live(map, view), history))
}

/// How a write changes the value.
#[derive(Clone)]
pub enum Change {
    /// The whole map.
    Replace(Map<String, Value>),
    /// A JSON merge patch onto the newest live version (Vault's PATCH, a fragment write);
    /// `create` allows a secret that does not exist yet (a fragment write).
    Patch {
        patch: Map<String, Value>,
        create: bool,
    },
}

/// The version a write made.
pub struct Written {
    pub version: i64,
    pub created_at: i64,
    pub meta: Metadata,
}

const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";

fn cas_mismatch() -> ApiError {
    ApiError::bad_request("options.cas", CAS_MISMATCH)
}

/// Writes a new version at `path` (creating the secret and the folders of its path
/// when needed), with check-and-set when `cas` is given or the settings require it.
pub fn write(act: &Act<'_>, path: &KvPath, change: Change, cas: Option<i64>) -> Result<Written> {
    match write_once(act, path, change.clone(), cas) {
        // Another writer created the secret (or a folder of its path) meanwhile: this
        // write is then a new version of it, as Vault would have made it.
        Err(e) if e.code() == ErrorCode::Conflict && cas.is_none_or(|c| c != 0) => {
            write_once(act, path, change, cas)
        }
        other => other,
    }
}

fn write_once(act: &Act<'_>, path: &KvPath, change: Change, cas: Option<i64>) -> Result<Written> {
    let place = locate(act, path, true)?;
    let uri = place.uri();
    let Some(secret) = &place.secret else {
        let map = match change {
            Change::Replace(map) => map,
            Change::Patch {
                patch,
                create: true,
            } => {
                let mut map = Map::new();
                value::merge_patch(&mut map, &patch);
                map
            }
            Change::Patch { create: false, .. } => return Err(ApiError::not_found()),
        };
        if cas.is_some_and(|c| c != 0) {
            return Err(cas_mismatch());
        }
        require(act, &place, Flags::CREATE)?;
        return create(act, &place, &map);
    };
    require(act, &place, Flags::UPDATE)?;
    let history = History::of(secret)?;
    if history.meta.cas_required && cas.is_none() {
        return Err(ApiError::bad_request(
            "options.cas",
            "check-and-set parameter required for this call",
        ));
    }
    if cas.is_some_and(|c| c != history.current()) {
        return Err(cas_mismatch());
    }
    let map = match change {
        Change::Replace(map) => map,
        Change::Patch { patch, .. } => {
            let (found, _) = read(act, &place, None)?;
            let Found::Live(mut map, _) = found else {
                return Err(ApiError::not_found());
            };
            value::merge_patch(&mut map, &patch);
            map
        }
    };
    let stored = value::from_map(secret.kind, &map)?;
    let history_id = new_id();
    let now = act.ctx.now;
    let Some(version) = versions::reserve(
        &secret.id,
        &history_id,
        stored.sealed.len(),
        act.user_id(),
        now,
        cas,
    )?
    else {
        return Err(if cas.is_some() {
            cas_mismatch()
        } else {
            ApiError::not_found()
        });
    };
    let scope = versions::value_scope(&secret.id, version);
    if let Err(e) = storage::seal(&scope, &stored.sealed) {
        versions::release(&history_id);
        return Err(e.into());
    }
    let actor = act.actor();
    let owner = actor.clone();
    let note = format!("secret=secret:{}; version={version}", secret.id);
    let committed = act.with_event("kv.write", &uri, &note, |audit| {
        store::commit_version(
            &Commit {
                secret: &secret.id,
                version,
                history_id: &history_id,
                cas,
                username: stored.username.as_deref(),
                user_id: act.user_id(),
                owner: &owner,
                now,
                event: EventRow {
                    safe_id: &place.safe,
                    uri: &uri,
                    operation: act.purpose.as_str(),
                    version: Some(version),
                    actor: &actor,
                    now,
                },
            },
            audit,
        )
    });
    match committed {
        Ok(true) => {}
        Ok(false) | Err(_) => {
            forget(&scope);
            versions::release(&history_id);
            if committed.is_ok() {
                // The allow event went in with the attempt; this says it lost.
                act.deny(&uri, "check-and-set lost to a concurrent write");
            }
            return Err(committed.err().unwrap_or_else(cas_mismatch));
        }
    }
    if history.meta.max_versions > 0 {
        let keep_from = version - history.meta.max_versions + 1;
        let old: Vec<i64> = history
            .versions
            .iter()
            .map(|v| v.version)
            .filter(|v| *v < keep_from)
            .collect();
        purge(act, &place, secret, &old)?;
    }
    Ok(Written {
        version,
        created_at: now,
        meta: history.meta,
    })
}

fn create(act: &Act<'_>, place: &Place, map: &Map<String, Value>) -> Result<Written> {
    let name = place
        .path
        .name()
        .ok_or_else(|| ApiError::bad_request("uri", "path is empty: name a secret"))?;
    let stored = value::from_map(Kind::Text, map)?;
    let id = SecretId::new(new_id());
    let scope = versions::value_scope(&id, 1);
    storage::seal(&scope, &stored.sealed)?;
    let new_folders: Vec<(FolderId, String)> = place
        .missing
        .iter()
        .map(|n| (FolderId::new(new_id()), n.clone()))
        .collect();
    let actor = act.actor();
    let uri = place.uri();
    let now = act.ctx.now;
    let history_id = new_id();
    let note = format!("secret=secret:{id}; version=1; created");
    let inserted = act.with_event("kv.write", &uri, &note, |audit| {
        store::insert_secret(
            &NewSecret {
                id: &id,
                parent: &place.folder,
                new_folders: &new_folders,
                title: name,
                history_id: &history_id,
                size: stored.sealed.len(),
                user_id: act.user_id(),
                owner: &actor,
                now,
                event: EventRow {
                    safe_id: &place.safe,
                    uri: &uri,
                    operation: act.purpose.as_str(),
                    version: Some(1),
                    actor: &actor,
                    now,
                },
            },
            audit,
        )
    });
    if let Err(e) = inserted {
        forget(&scope);
        return Err(e);
    }
    Ok(Written {
        version: 1,
        created_at: now,
        meta: store::metadata(&id)?,
    })
}

/// Forgets a sealed value no row points at any more (best effort: it is unreachable).
fn forget(scope: &str) {
    if let Err(e) = storage::forget(scope) {
        eprintln!("could not forget an unreferenced sealed value: {e}");
    }
}

/// Versions beyond `max_versions` go for good: marked destroyed, their values
/// forgotten, then their rows removed (Vault no longer lists them).
fn purge(act: &Act<'_>, place: &Place, secret: &SecretRow, versions: &[i64]) -> Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    destroy_values(act, place, secret, versions, "kv.purge")?;
    store::purge_versions(&secret.id, versions)
}

fn destroy_values(
    act: &Act<'_>,
    place: &Place,
    secret: &SecretRow,
    versions: &[i64],
    action: &str,
) -> Result<()> {
    let actor = act.actor();
    let uri = place.uri();
    let note = format!("secret=secret:{}; versions={versions:?}", secret.id);
    act.with_event(action, &uri, &note, |audit| {
        store::mark_destroyed(
            &secret.id,
            versions,
            act.user_id(),
            act.ctx.now,
            &EventRow {
                safe_id: &place.safe,
                uri: &uri,
                operation: "destroy_versions",
                version: versions.last().copied(),
                actor: &actor,
                now: act.ctx.now,
            },
            audit,
        )
    })?;
    for version in versions {
        storage::forget(&versions::value_scope(&secret.id, *version))?;
    }
    Ok(())
}

/// Checks a list of versions a client sent: at least one, each positive.
pub fn versions_in(field: &str, versions: &[i64]) -> Result<Vec<i64>> {
    if versions.is_empty() {
        return Err(ApiError::bad_request(field, "no version number provided"));
    }
    if versions.len() > 1000 || versions.iter().any(|v| *v < 1) {
        return Err(ApiError::bad_request(
            field,
            "1 to 1000 positive version numbers",
        ));
    }
    let mut versions = versions.to_vec();
    versions.sort_unstable();
    versions.dedup();
    Ok(versions)
}

/// What to do to some versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionOp {
    Delete,
    Undelete,
    Destroy,
}

/// Soft-deletes, undeletes or destroys versions of the place's secret (404 without
/// one). Versions that do not exist are ignored, as Vault does.
pub fn change_versions(
    act: &Act<'_>,
    place: &Place,
    op: VersionOp,
    versions: &[i64],
) -> Result<()> {
    let secret = place.existing()?;
    require(act, place, Flags::DELETE)?;
    let actor = act.actor();
    let uri = place.uri();
    let now = act.ctx.now;
    let event = EventRow {
        safe_id: &place.safe,
        uri: &uri,
        operation: act.purpose.as_str(),
        version: versions.last().copied(),
        actor: &actor,
        now,
    };
    let note = format!("secret=secret:{}; versions={versions:?}", secret.id);
    match op {
        VersionOp::Delete | VersionOp::Undelete => {
            let action = if op == VersionOp::Delete {
                "kv.delete"
            } else {
                "kv.undelete"
            };
            act.with_event(action, &uri, &note, |audit| {
                store::mark_deleted(
                    &secret.id,
                    versions,
                    op == VersionOp::Delete,
                    act.user_id(),
                    now,
                    &event,
                    audit,
                )
            })?;
            Ok(())
        }
        VersionOp::Destroy => {
            // A secret of the vault always keeps a value: v3 and checkouts read it.
            let kept = store::versions(&secret.id)?
                .iter()
                .any(|v| v.destroyed_at.is_none() && !versions.contains(&v.version));
            if !kept {
                return Err(ApiError::conflict(
                    "versions: would destroy the secret's last value; delete the secret instead",
                ));
            }
            destroy_values(act, place, secret, versions, "kv.destroy")
        }
    }
}

/// Deletes the secret, every version and its settings (Vault's metadata delete, the
/// seed's `destroy=true`): the values are forgotten after the rows are gone.
pub fn delete_all(act: &Act<'_>, place: &Place) -> Result<()> {
    let secret = place.existing()?;
    require(act, place, Flags::DELETE)?;
    let actor = act.actor();
    let uri = place.uri();
    let note = format!("secret=secret:{}; all versions", secret.id);
    for _ in 0..3 {
        let max = versions::max_version(&secret.id)?;
        let deleted = act.with_event("kv.destroy", &uri, &note, |audit| {
            store::delete_secret(
                &secret.id,
                max,
                &EventRow {
                    safe_id: &place.safe,
                    uri: &uri,
                    operation: "destroy",
                    version: None,
                    actor: &actor,
                    now: act.ctx.now,
                },
                audit,
            )
        })?;
        if deleted {
            for version in 1..=max {
                forget(&versions::value_scope(&secret.id, version));
            }
            return Ok(());
        }
    }
    Err(ApiError::conflict("uri: the secret keeps changing; retry"))
}

/// New settings for a secret (each `None` keeps what is there).
#[derive(Default)]
pub struct Settings {
    pub max_versions: Option<i64>,
    pub cas_required: Option<bool>,
    pub delete_version_after: Option<i64>,
    pub custom_metadata: Option<Map<String, Value>>,
}

/// Custom metadata: at most 64 keys of at most 128 characters, string values of at
/// most 512 (Vault's limits).
pub fn check_custom_metadata(field: &str, map: &Map<String, Value>) -> Result<()> {
    if map.len() > 64 {
        return Err(ApiError::bad_request(field, "at most 64 keys"));
    }
    for (k, v) in map {
        let ok_key = !k.is_empty() && k.chars().count() <= 128 && !k.chars().any(char::is_control);
        let ok_value = matches!(v, Value::String(s) if s.chars().count() <= 512);
        if !ok_key || !ok_value {
            return Err(ApiError::bad_request(
                field,
                "keys of 1 to 128 characters, string values of at most 512",
            ));
        }
    }
    Ok(())
}

pub fn write_settings(act: &Act<'_>, place: &Place, settings: Settings) -> Result<()> {
    let secret = place.existing()?;
    require(act, place, Flags::UPDATE)?;
    let mut meta = store::metadata(&secret.id)?;
    if let Some(n) = settings.max_versions {
        if !(0..=1000).contains(&n) {
            return Err(ApiError::bad_request(
                "max_versions",
                "an integer from 0 to 1000",
            ));
        }
        meta.max_versions = n;
    }
    if let Some(c) = settings.cas_required {
        meta.cas_required = c;
    }
    if let Some(d) = settings.delete_version_after {
        meta.delete_version_after = d;
    }
    if let Some(custom) = settings.custom_metadata {
        check_custom_metadata("custom_metadata", &custom)?;
        meta.custom_metadata = custom;
    }
    let owner = meta.owner.clone().unwrap_or_else(|| act.actor());
    let uri = place.uri();
    let note = format!("secret=secret:{}", secret.id);
    act.with_event("kv.metadata", &uri, &note, |audit| {
        store::write_metadata(&secret.id, &meta, &owner, act.ctx.now, audit)
    })
}

pub fn set_owner(act: &Act<'_>, place: &Place, owner: &str) -> Result<()> {
    let secret = place.existing()?;
    require(act, place, Flags::MANAGE)?;
    let uri = place.uri();
    let note = format!("secret=secret:{}", secret.id);
    act.with_event("kv.owner", &uri, &note, |audit| {
        store::set_owner(&secret.id, owner, act.ctx.now, audit)
    })
}

/// The names directly below a prefix: folders with a trailing `/`, then secrets; 404
/// when the prefix does not exist.
pub fn list(act: &Act<'_>, path: &KvPath) -> Result<Vec<String>> {
    let place = locate(act, path, false)?;
    let folder = place.folder_of_prefix()?;
    let (folders, secrets) = store::children(folder)?;
    let mut keys: Vec<String> = folders.into_iter().map(|f| format!("{f}/")).collect();
    keys.extend(secrets);
    keys.sort();
    keys.dedup();
    act.allow("kv.list", &place.uri(), &format!("keys={}", keys.len()))?;
    Ok(keys)
}

/// The request rate limit: at most `secrets_api_rate_limit` requests per caller and
/// minute (600 by default; 0 turns it off), counted in the database so that every
/// instance shares the count. Beyond it: 429 with `Retry-After` (the minute's rest).
pub fn check_rate(ctx: &Ctx) -> Result<()> {
    let limit = setting("secrets_api_rate_limit", 600_i64, |n| *n >= 0);
    if limit == 0 {
        return Ok(());
    }
    let window = ctx.now - ctx.now.rem_euclid(60);
    if store::count_request(&ctx.actor(), window)? > limit {
        let retry = u64::try_from(window + 60 - ctx.now).unwrap_or(60).max(1);
        return Err(ApiError::rate_limited(retry));
    }
    Ok(())
}
