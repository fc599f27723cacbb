//! `/api/secrets` (seed 003): canonical secret URIs over the same operations as Vault's
//! `/v1/` (see `kv`). Errors come in the KV shape (`{"error": {"code", "message"}}`).

use std::collections::HashMap;

use edgesafe_api_common::response::{json, Response};
use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::vault::{setting, wit_audit};
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::ids::{FolderId, SafeId};
use edgesafe_secrets_safe::Flags;
use http::{header, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use crate::dto::{
    self, BulkIn, BulkItem, BulkResult, CopyIn, OwnerIn, Page, VersionOut, VersionsIn, WriteIn,
};
use crate::kv::{self, Act, Change, Found, History, Place, Purpose, VersionOp};
use crate::store::{self, SecretRow};
use crate::uri::{self, KvPath, SecretUri};
use crate::Ctx;

const VIA: &str = "kv";

fn ok(value: &Value) -> Result<Response> {
    json(StatusCode::OK, value)
}

/// The `uri` query parameter, required.
fn uri_param(ctx: &Ctx) -> Result<&str> {
    ctx.query
        .get("uri")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("uri", "required, a canonical secret URI"))
}

/// The default page size (`secrets_api_page_limit`, 100).
fn page(ctx: &Ctx) -> Result<Page> {
    let default = setting("secrets_api_page_limit", 100_i64, |n| {
        (1..=dto::LIMIT_MAX).contains(n)
    });
    Page::from_query(&ctx.query, default)
}

/// The place of a secret the caller may act on with `need` (404 without Read).
fn secret_place(act: &Act<'_>, path: &KvPath, need: Flags) -> Result<Place> {
    let place = kv::locate(act, path, true)?;
    place.existing()?;
    kv::require(act, &place, need)?;
    Ok(place)
}

/// The live value of a version; 410 naming the version when it is deleted or
/// destroyed.
fn live_value(
    act: &Act<'_>,
    place: &Place,
    version: Option<i64>,
) -> Result<(Map<String, Value>, kv::VersionView)> {
    match kv::read(act, place, version)?.0 {
        Found::Live(map, view) => Ok((map, view)),
        Found::Gone(view) => {
            let state = if view.destroyed {
                "destroyed"
            } else {
                "deleted"
            };
            Err(ApiError::gone(&format!(
                "version: {} is {state}",
                view.version
            )))
        }
    }
}

/// The value a URI names: the map, or the fragment's key in it (404 without it).
fn addressed(map: Map<String, Value>, fragment: Option<&str>) -> Result<Value> {
    match fragment {
        None => Ok(Value::Object(map)),
        Some(key) => map.get(key).cloned().ok_or_else(ApiError::not_found),
    }
}

/// `GET /api/secrets?uri=`: the map, or `{"value": ...}` for a fragment.
pub fn get_secret(ctx: &Ctx) -> Result<Response> {
    let uri = uri::parse(uri_param(ctx)?)?;
    let act = Act::new(ctx, Purpose::Read, VIA)?;
    let place = secret_place(&act, &uri.path, Flags::READ)?;
    let (map, _) = live_value(&act, &place, None)?;
    match &uri.fragment {
        None => ok(&Value::Object(map)),
        Some(_) => ok(&json!({ "value": addressed(map, uri.fragment.as_deref())? })),
    }
}

/// `GET /api/secrets/value?uri=&version=N`
pub fn get_value(ctx: &Ctx) -> Result<Response> {
    let uri = uri::parse(uri_param(ctx)?)?;
    let version = ctx.query.int("version", 1, i64::MAX)?;
    let act = Act::new(ctx, Purpose::Read, VIA)?;
    let place = secret_place(&act, &uri.path, Flags::READ)?;
    let (map, view) = live_value(&act, &place, version)?;
    ok(&json!({
        "uri": uri.path.uri(),
        "version": view.version,
        "value": addressed(map, uri.fragment.as_deref())?,
        "metadata": VersionOut::of(&view, ctx.now),
    }))
}

/// How a write body changes the value: a fragment sets one key (creating the secret
/// when needed), else the value replaces the map.
fn change_of(uri: &SecretUri, value: &Value) -> Result<Change> {
    Ok(match &uri.fragment {
        Some(key) => {
            let mut patch = Map::new();
            patch.insert(key.clone(), value.clone());
            if value.is_null() {
                return Err(ApiError::bad_request(
                    "value",
                    "required, an object or a scalar",
                ));
            }
            Change::Patch {
                patch,
                create: true,
            }
        }
        None => Change::Replace(dto::as_map(value)?),
    })
}

fn written(uri: &SecretUri, done: &kv::Written) -> Result<Response> {
    let status = if done.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(
        status,
        &json!({
            "uri": uri.path.uri(),
            "version": done.version,
            "created_time": format_utc(done.created_at),
        }),
    )
}

/// `POST /api/secrets`: `{"uri", "value", "cas"}`.
pub fn post_secret(ctx: &Ctx) -> Result<Response> {
    let input: WriteIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    let uri = uri::parse(&input.uri)?;
    let change = change_of(&uri, input.value()?)?;
    let act = Act::new(ctx, Purpose::Write, VIA)?;
    written(&uri, &kv::write(&act, &uri.path, change, input.cas)?)
}

/// `POST /api/secrets/rotate`: a new version of a secret that exists.
pub fn post_rotate(ctx: &Ctx) -> Result<Response> {
    let input: WriteIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    let uri = uri::parse(&input.uri)?;
    let change = change_of(&uri, input.value()?)?;
    let act = Act::new(ctx, Purpose::Rotate, VIA)?;
    secret_place(&act, &uri.path, Flags::UPDATE)?;
    written(&uri, &kv::write(&act, &uri.path, change, input.cas)?)
}

/// `DELETE /api/secrets?uri=&destroy=`: soft-deletes the newest version, or with
/// `destroy=true` removes the secret with every version for good (secrets.destroy).
pub fn delete_secret(ctx: &Ctx) -> Result<Response> {
    let path = uri::parse_secret(uri_param(ctx)?)?;
    let destroy = ctx.query.bool("destroy")?.unwrap_or(false);
    let purpose = if destroy {
        Purpose::DestroyVersions
    } else {
        Purpose::Delete
    };
    let act = Act::new(ctx, purpose, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    if destroy {
        kv::delete_all(&act, &place)?;
    } else {
        let current = History::of(place.existing()?)?.current();
        kv::change_versions(&act, &place, VersionOp::Delete, &[current])?;
    }
    ok(&json!({ "uri": path.uri(), "deleted": true, "destroyed": destroy }))
}

fn versions_change(ctx: &Ctx, op: VersionOp, purpose: Purpose) -> Result<Response> {
    let input: VersionsIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    let path = uri::parse_secret(&input.uri)?;
    let versions = kv::versions_in("versions", &input.versions)?;
    let act = Act::new(ctx, purpose, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    kv::change_versions(&act, &place, op, &versions)?;
    ok(&json!({ "uri": path.uri(), "versions": versions }))
}

/// `POST /api/secrets/undelete`: `{"uri", "versions": [N, ...]}`.
pub fn post_undelete(ctx: &Ctx) -> Result<Response> {
    versions_change(ctx, VersionOp::Undelete, Purpose::Undelete)
}

/// `POST /api/secrets/destroy-versions`: `{"uri", "versions": [N, ...]}`.
pub fn post_destroy_versions(ctx: &Ctx) -> Result<Response> {
    versions_change(ctx, VersionOp::Destroy, Purpose::DestroyVersions)
}

/// The subject a user id is in the audit trail.
fn subject(user: Option<i64>) -> Option<String> {
    user.map(|id| format!("user:{id}"))
}

/// `GET /api/secrets/metadata/detail?uri=`
pub fn get_metadata_detail(ctx: &Ctx) -> Result<Response> {
    let path = uri::parse_secret(uri_param(ctx)?)?;
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    let secret = place.existing()?;
    let history = History::of(secret)?;
    act.allow(
        "kv.metadata.read",
        &place.uri(),
        &format!("secret=secret:{}", secret.id),
    )?;
    let created_by = subject(secret.created_by);
    let meta = &history.meta;
    ok(&json!({
        "uri": path.uri(),
        "created_by": created_by,
        "created_by_name": secret.created_by.map(store::user_name).transpose()?.flatten(),
        "created_at": format_utc(secret.created_at),
        "owner": meta.owner.clone().or(created_by),
        "updated_at": format_utc(secret.modified_at.max(meta.updated_at.unwrap_or(0))),
        "current_version": history.current(),
        "oldest_version": history.oldest(),
        "max_versions": meta.max_versions,
        "cas_required": meta.cas_required,
        "delete_version_after": meta.delete_version_after,
        "custom_metadata": meta.custom_metadata,
        "kind": secret.kind.as_db(),
        "secret_id": secret.id.to_string(),
    }))
}

/// `GET /api/secrets/versions?uri=`
pub fn get_versions(ctx: &Ctx) -> Result<Response> {
    let path = uri::parse_secret(uri_param(ctx)?)?;
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    let history = History::of(place.existing()?)?;
    act.allow("kv.versions.read", &place.uri(), "")?;
    let versions: Vec<VersionOut> = history
        .versions
        .iter()
        .map(|v| VersionOut::of(v, ctx.now))
        .collect();
    ok(&json!({ "uri": path.uri(), "current_version": history.current(), "versions": versions }))
}

/// `GET /api/secrets/keys?uri=`: the names of the keys of the newest value (never a
/// value).
pub fn get_keys(ctx: &Ctx) -> Result<Response> {
    let path = uri::parse_secret(uri_param(ctx)?)?;
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    let (map, view) = live_value(&act, &place, None)?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    ok(&json!({ "uri": path.uri(), "version": view.version, "keys": keys }))
}

/// `POST /api/secrets/metadata/owner`: `{"uri", "owner"}`; created_by and created_at
/// stay as they are.
pub fn post_owner(ctx: &Ctx) -> Result<Response> {
    let input: OwnerIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    let path = uri::parse_secret(&input.uri)?;
    let owner = input.owner()?;
    let act = Act::new(ctx, Purpose::OwnerUpdate, VIA)?;
    let place = secret_place(&act, &path, Flags::READ)?;
    kv::set_owner(&act, &place, owner)?;
    ok(&json!({ "uri": path.uri(), "owner": owner }))
}

// ---------------------------------------------------------------- listings

/// The secrets below a folder of a safe (at any depth), with their paths below the
/// mount: the prefix traversal of listings and search.
fn secrets_below(
    safe: &SafeId,
    top: &FolderId,
    top_segments: &[String],
) -> Result<Vec<(Vec<String>, SecretRow)>> {
    let folders = store::folders_of(std::slice::from_ref(safe))?;
    let mut children: HashMap<&FolderId, Vec<(&FolderId, &str)>> = HashMap::new();
    for f in &folders {
        if let Some(parent) = &f.parent_id {
            children
                .entry(parent)
                .or_default()
                .push((&f.id, f.name.as_str()));
        }
    }
    let mut paths: HashMap<FolderId, Vec<String>> = HashMap::new();
    let mut stack = vec![(top.clone(), top_segments.to_vec())];
    // The tree is at most 7 deep; a damaged one (a cycle) still ends: each folder once.
    while let Some((folder, path)) = stack.pop() {
        if paths.contains_key(&folder) {
            continue;
        }
        for (child, name) in children.get(&folder).into_iter().flatten() {
            let mut child_path = path.clone();
            child_path.push((*name).to_owned());
            stack.push(((*child).clone(), child_path));
        }
        paths.insert(folder, path);
    }
    let ids: Vec<FolderId> = paths.keys().cloned().collect();
    let mut out: Vec<(Vec<String>, SecretRow)> = store::secrets_in(&ids)?
        .into_iter()
        .filter_map(|s| {
            let mut path = paths.get(&s.folder_id)?.clone();
            path.push(s.title.clone());
            Some((path, s))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn listing_item(mount: &str, segments: Vec<String>, secret: &SecretRow) -> Value {
    let path = KvPath {
        mount: mount.to_owned(),
        segments,
    };
    json!({
        "uri": path.uri(),
        "name": secret.title,
        "kind": secret.kind.as_db(),
        "created_time": format_utc(secret.created_at),
        "updated_time": format_utc(secret.modified_at),
    })
}

/// `GET /api/secrets/metadata?prefix=`: every secret below a prefix, paged.
pub fn get_metadata(ctx: &Ctx) -> Result<Response> {
    let prefix = ctx
        .query
        .get("prefix")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("prefix", "required, a canonical URI prefix"))?;
    let prefix = uri::parse_prefix(prefix)?;
    let page = page(ctx)?;
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let place = kv::locate(&act, &prefix, false)?;
    let folder = place.folder_of_prefix()?;
    let all = secrets_below(&place.safe, folder, &prefix.segments)?;
    act.allow("kv.list", &place.uri(), &format!("secrets={}", all.len()))?;
    let total = all.len();
    let items: Vec<Value> = page
        .slice(all)
        .into_iter()
        .map(|(segments, s)| listing_item(&prefix.mount, segments, &s))
        .collect();
    ok(
        &json!({ "prefix": prefix.uri(), "items": items, "total": total, "limit": page.limit, "offset": page.offset }),
    )
}

/// `GET /api/secrets/search?q=&prefix=`: secrets whose name contains `q` (any case),
/// in every safe the caller reads or below `prefix`, paged.
pub fn get_search(ctx: &Ctx) -> Result<Response> {
    let q = ctx.query.get("q").unwrap_or("").trim();
    if q.chars().count() > 256 || q.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "q",
            "at most 256 characters, no control characters",
        ));
    }
    let prefix = match ctx.query.get("prefix").filter(|p| !p.is_empty()) {
        Some(p) => Some(uri::parse_prefix(p)?),
        None => None,
    };
    let page = page(ctx)?;
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let mut found: Vec<(String, Vec<String>, SecretRow)> = Vec::new();
    let needle = q.to_lowercase();
    let matches = |s: &SecretRow| s.title.to_lowercase().contains(&needle);
    match &prefix {
        Some(prefix) => {
            let place = kv::locate(&act, prefix, false)?;
            let folder = place.folder_of_prefix()?;
            for (segments, s) in secrets_below(&place.safe, folder, &prefix.segments)? {
                if matches(&s) {
                    found.push((prefix.mount.clone(), segments, s));
                }
            }
        }
        None => {
            let view = act.access.safe_view()?;
            let ids = view.safe_ids();
            let safes = store::safes(&ids)?;
            for safe in safes {
                let top = FolderId::of_safe(&safe.id);
                for (segments, s) in secrets_below(&safe.id, &top, &[])? {
                    if matches(&s) {
                        found.push((safe.name.clone(), segments, s));
                    }
                }
            }
        }
    }
    act.allow(
        "kv.search",
        prefix.as_ref().map_or("*", |p| p.mount.as_str()),
        &format!("found={}", found.len()),
    )?;
    let total = found.len();
    let items: Vec<Value> = page
        .slice(found)
        .into_iter()
        .map(|(mount, segments, s)| listing_item(&mount, segments, &s))
        .collect();
    ok(
        &json!({ "q": q, "items": items, "total": total, "limit": page.limit, "offset": page.offset }),
    )
}

// ---------------------------------------------------------------- bulk, copy, move

/// One bulk item, run as if it were its own request.
fn bulk_item(ctx: &Ctx, item: BulkItem) -> Result<(String, Option<i64>)> {
    let uri = uri::parse(&item.uri)?;
    let value = || {
        item.value
            .as_ref()
            .filter(|v| !v.is_null())
            .ok_or_else(|| ApiError::bad_request("value", "required, an object or a scalar"))
    };
    // Without versions, delete and destroy take the newest (undelete needs them).
    let versions_of = |place: &Place| -> Result<Vec<i64>> {
        if item.versions.is_empty() {
            Ok(vec![History::of(place.existing()?)?.current()])
        } else {
            kv::versions_in("versions", &item.versions)
        }
    };
    let no_fragment = || {
        if uri.fragment.is_some() {
            Err(ApiError::bad_request(
                "uri",
                "fragment is not allowed here: name the whole secret",
            ))
        } else {
            Ok(())
        }
    };
    let done = match item.op.as_str() {
        "set" | "rotate" => {
            let purpose = if item.op == "set" {
                Purpose::Write
            } else {
                Purpose::Rotate
            };
            let change = change_of(&uri, value()?)?;
            let act = Act::new(ctx, purpose, VIA)?;
            if purpose == Purpose::Rotate {
                secret_place(&act, &uri.path, Flags::UPDATE)?;
            }
            Some(kv::write(&act, &uri.path, change, item.cas)?.version)
        }
        "delete" | "undelete" | "destroy" => {
            no_fragment()?;
            let (op, purpose) = match item.op.as_str() {
                "delete" => (VersionOp::Delete, Purpose::Delete),
                "undelete" => (VersionOp::Undelete, Purpose::Undelete),
                _ => (VersionOp::Destroy, Purpose::DestroyVersions),
            };
            let act = Act::new(ctx, purpose, VIA)?;
            let place = secret_place(&act, &uri.path, Flags::READ)?;
            if op == VersionOp::Undelete && item.versions.is_empty() {
                return Err(ApiError::bad_request(
                    "versions",
                    "no version number provided",
                ));
            }
            let versions = versions_of(&place)?;
            kv::change_versions(&act, &place, op, &versions)?;
            None
        }
        _ => {
            return Err(ApiError::bad_request(
                "op",
                "one of set, delete, undelete, destroy, rotate",
            ))
        }
    };
    Ok((uri.path.uri(), done))
}

/// `POST /api/secrets/bulk`: `{"operations": [{"op", "uri", ...}]}`; every item is
/// answered on its own (its status and error), in order; one failing stops no other.
pub fn post_bulk(ctx: &Ctx) -> Result<Response> {
    let input: BulkIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    input.check()?;
    let mut results = Vec::with_capacity(input.operations.len());
    for (index, raw) in input.operations.into_iter().enumerate() {
        let parsed: Result<BulkItem> = edgesafe_api_common::request::from_json(raw)
            .map_err(|e| ApiError::bad_request(&format!("operations[{index}]"), e.message()));
        let op = parsed.as_ref().map(|i| i.op.clone()).unwrap_or_default();
        let outcome = parsed.and_then(|item| bulk_item(ctx, item));
        results.push(match outcome {
            Ok((uri, version)) => BulkResult {
                index,
                op,
                uri: Some(uri),
                status: 200,
                ok: true,
                version,
                error: None,
            },
            Err(e) => BulkResult {
                index,
                op,
                uri: None,
                status: e.status().as_u16(),
                ok: false,
                version: None,
                error: Some((&e).into()),
            },
        });
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    ok(&json!({ "results": results, "succeeded": results.len() - failed, "failed": failed }))
}

/// Copies (or moves) the newest value of `from` to `to`: Read on the source (and
/// Delete for a move) and Create or Update on the destination, all checked before
/// anything is written.
fn copy_or_move(ctx: &Ctx, moving: bool) -> Result<Response> {
    let input: CopyIn = dto::body(ctx.content_type.as_deref(), &ctx.body)?;
    let from = uri::parse_secret(&input.from)?;
    let to = uri::parse_secret(&input.to)?;
    if from.uri().to_lowercase() == to.uri().to_lowercase() {
        return Err(ApiError::bad_request(
            "to",
            "must name another secret than from",
        ));
    }
    let reader = Act::new(ctx, Purpose::Read, VIA)?;
    let source = secret_place(&reader, &from, Flags::READ)?;
    let remover = if moving {
        let act = Act::new(ctx, Purpose::Delete, VIA)?;
        kv::require(&act, &source, Flags::DELETE)?;
        Some(act)
    } else {
        None
    };
    let writer = Act::new(ctx, Purpose::Write, VIA)?;
    let destination = kv::locate(&writer, &to, true)?;
    let need = if destination.secret.is_some() {
        Flags::UPDATE
    } else {
        Flags::CREATE
    };
    kv::require(&writer, &destination, need)?;
    let (map, _) = live_value(&reader, &source, None)?;
    let done = kv::write(&writer, &to, Change::Replace(map), None)?;
    if let Some(remover) = &remover {
        kv::delete_all(remover, &source)?;
    }
    ok(&json!({ "from": from.uri(), "to": to.uri(), "version": done.version, "moved": moving }))
}

/// `POST /api/secrets/copy`: `{"from", "to"}`.
pub fn post_copy(ctx: &Ctx) -> Result<Response> {
    copy_or_move(ctx, false)
}

/// `POST /api/secrets/move`: `{"from", "to"}`; the source goes with every version.
pub fn post_move(ctx: &Ctx) -> Result<Response> {
    copy_or_move(ctx, true)
}

// ---------------------------------------------------------------- events and audit

/// `GET /api/secrets/events?after=N&limit=M`: the recent changes (the newest 1000 are
/// kept) in the safes the caller reads, never a value. With `Accept: text/event-stream`
/// as server-sent events (`id` is the sequence number: reconnect with `after` set to
/// the last one), else as JSON.
pub fn get_events(ctx: &Ctx) -> Result<Response> {
    let after = ctx.query.int("after", 0, i64::MAX)?.unwrap_or(0);
    let limit = ctx.query.int("limit", 1, dto::LIMIT_MAX)?.unwrap_or(100);
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let view = act.access.safe_view()?;
    let ids = view.safe_ids();
    let events = store::events(after, &ids, limit)?;
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "time": format_utc(e.at),
                "uri": e.uri,
                "operation": e.operation,
                "version": e.version,
                "subject": e.actor,
            })
        })
        .collect();
    let last = events.last().map_or(after, |e| e.seq);
    let sse = ctx
        .accept
        .as_deref()
        .is_some_and(|a| a.contains("text/event-stream"));
    if !sse {
        return ok(&json!({ "events": items, "last_seq": last }));
    }
    let mut body = String::new();
    for (event, item) in events.iter().zip(&items) {
        body.push_str(&format!(
            "id: {}\nevent: {}\ndata: {item}\n\n",
            event.seq, event.operation
        ));
    }
    // Spin closes the response; the client reconnects after `retry` with the last id.
    body.push_str("retry: 2000\n\n");
    let mut response = Response::new(body.into_bytes());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The `name=value` of an audit event's detail.
fn detail_field<'d>(detail: &'d str, name: &str) -> Option<&'d str> {
    detail
        .split("; ")
        .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
}

/// `GET /api/secrets/audit?after=N&limit=M`: the KV accesses of the audit trail, in
/// the seed's fields, for administrators (the full trail is `GET /api/v2/audit/events`).
pub fn get_audit(ctx: &Ctx) -> Result<Response> {
    ctx.admin("kv.audit.read", "audit")?;
    let after = ctx.query.int("after", 0, i64::MAX)?.unwrap_or(0);
    let limit = ctx.query.int("limit", 1, dto::LIMIT_MAX)?.unwrap_or(100);
    let page = wit_audit::read(&wit_audit::EventFilter {
        actors: vec![],
        action_prefixes: vec!["kv.".into()],
        since: None,
        until: None,
        after_seq: after,
        offset: 0,
        limit: u32::try_from(limit).unwrap_or(100),
    })?;
    ctx.try_audit(
        "kv.audit.read",
        "audit",
        edgesafe_api_common::vault::Decision::Allow,
        None,
    )?;
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "time": format_utc(e.at),
                "action": e.action,
                "subject": e.actor,
                "purpose": e.purpose,
                "effect": e.decision,
                "resource_ref": e.target,
                "decision_id": detail_field(&e.detail, "decision_id"),
            })
        })
        .collect();
    ok(&json!({ "events": events, "total": page.total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_of_an_event_detail() {
        let detail = "client=1.2.3.4; credential=-; decision_id=abc; via=kv; secret=secret:1";
        assert_eq!(detail_field(detail, "decision_id"), Some("abc"));
        assert_eq!(detail_field(detail, "via"), Some("kv"));
        assert_eq!(detail_field(detail, "nope"), None);
    }
}
