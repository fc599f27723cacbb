//! Vault KV v2 over the vault: the subset of Vault's HTTP API that the OpenBao CLI
//! (`bao kv ...`) and hvac (`client.secrets.kv.v2`) use, with Vault's JSON shapes.
//! A mount is a safe; see `kv` for what each operation needs and records.
//!
//! Where edgesafe differs from OpenBao, the README says so (section "Versioned KV").

use edgesafe_api_common::response::{empty, json, Response};
use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::ids::new_id;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::kv::{self, Act, Change, Found, History, Purpose, Settings, VersionOp, VersionView};
use crate::uri::KvPath;
use crate::Ctx;

const VIA: &str = "vault";

/// Vault's answer envelope around `data`.
fn envelope(data: Value) -> Value {
    json!({
        "request_id": new_id(),
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": null,
        "auth": null,
    })
}

fn ok(data: Value) -> Result<Response> {
    json(StatusCode::OK, &envelope(data))
}

/// Vault's time format; empty for none.
fn time(unix: Option<i64>) -> String {
    unix.map(format_utc).unwrap_or_default()
}

/// `null` for no custom metadata, as Vault shows it.
fn custom(meta: &Map<String, Value>) -> Value {
    if meta.is_empty() {
        Value::Null
    } else {
        Value::Object(meta.clone())
    }
}

fn version_metadata(view: &VersionView, history: &History) -> Value {
    json!({
        "created_time": time(Some(view.created_at)),
        "custom_metadata": custom(&history.meta.custom_metadata),
        "deletion_time": time(view.deletion_time),
        "destroyed": view.destroyed,
        "version": view.version,
    })
}

/// A JSON body, whatever its Content-Type (Vault clients often send none); `{}` for an
/// empty one. Property names keep their case: they are the secret's keys.
fn body<T: for<'de> Deserialize<'de> + Default>(ctx: &Ctx) -> Result<T> {
    if ctx.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: Value = serde_json::from_slice(&ctx.body).map_err(|e| {
        ApiError::bad_request(
            "body",
            &format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    serde_json::from_value(value).map_err(|_| {
        ApiError::bad_request(
            "body",
            "has a field of the wrong type (see the Vault KV v2 API)",
        )
    })
}

#[derive(Default, Deserialize)]
struct WriteOptions {
    cas: Option<i64>,
}

#[derive(Default, Deserialize)]
struct DataIn {
    data: Option<Value>,
    #[serde(default)]
    options: Option<WriteOptions>,
}

impl DataIn {
    fn parts(self) -> Result<(Map<String, Value>, Option<i64>)> {
        let cas = self.options.and_then(|o| o.cas);
        if cas.is_some_and(|c| c < 0) {
            return Err(ApiError::bad_request(
                "options.cas",
                "a version number, 0 or more",
            ));
        }
        match self.data {
            None | Some(Value::Null) => Err(ApiError::bad_request("data", "no data provided")),
            Some(Value::Object(map)) => Ok((map, cas)),
            Some(_) => Err(ApiError::bad_request(
                "data",
                "must be an object of keys and values",
            )),
        }
    }
}

// ---------------------------------------------------------------- data

/// `GET <mount>/data/<path>[?version=N]`
pub fn get_data(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let version = ctx.query.int("version", 0, i64::MAX)?;
    let act = Act::new(ctx, Purpose::Read, VIA)?;
    let place = kv::locate(&act, path, true)?;
    kv::require(&act, &place, edgesafe_secrets_safe::Flags::READ)?;
    let (found, history) = kv::read(&act, &place, version)?;
    match found {
        Found::Live(map, view) => ok(json!({
            "data": map,
            "metadata": version_metadata(&view, &history),
        })),
        // Vault answers a deleted or destroyed version with 404 and its marks.
        Found::Gone(view) => json(
            StatusCode::NOT_FOUND,
            &envelope(json!({"data": null, "metadata": version_metadata(&view, &history)})),
        ),
    }
}

fn written(written: &kv::Written) -> Result<Response> {
    ok(json!({
        "created_time": time(Some(written.created_at)),
        "custom_metadata": custom(&written.meta.custom_metadata),
        "deletion_time": "",
        "destroyed": false,
        "version": written.version,
    }))
}

/// `POST|PUT <mount>/data/<path>`: `{"data": {...}, "options": {"cas": N}}`.
pub fn post_data(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let (map, cas) = body::<DataIn>(ctx)?.parts()?;
    let act = Act::new(ctx, Purpose::Write, VIA)?;
    written(&kv::write(&act, path, Change::Replace(map), cas)?)
}

/// `PATCH <mount>/data/<path>`: a JSON merge patch onto the newest version.
pub fn patch_data(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let media = edgesafe_api_common::request::media_type(ctx.content_type.as_deref());
    if media.as_deref() != Some("application/merge-patch+json") {
        return Err(ApiError::unsupported_media_type(
            "application/merge-patch+json",
        ));
    }
    let (patch, cas) = body::<DataIn>(ctx)?.parts()?;
    let act = Act::new(ctx, Purpose::Write, VIA)?;
    let change = Change::Patch {
        patch,
        create: false,
    };
    match kv::write(&act, path, change, cas) {
        Ok(done) => written(&done),
        // Vault answers a patch of nothing with a bare 404.
        Err(e) if e.status() == StatusCode::NOT_FOUND => Ok(empty(StatusCode::NOT_FOUND)),
        Err(e) => Err(e),
    }
}

/// A missing secret is nothing to delete: 204, as Vault answers (and as for a secret
/// the caller cannot see).
fn absent_is_done(result: Result<()>) -> Result<Response> {
    match result {
        Ok(()) => Ok(empty(StatusCode::NO_CONTENT)),
        Err(e) if e.status() == StatusCode::NOT_FOUND => Ok(empty(StatusCode::NO_CONTENT)),
        Err(e) => Err(e),
    }
}

/// `DELETE <mount>/data/<path>`: soft-deletes the newest version.
pub fn delete_data(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let act = Act::new(ctx, Purpose::Delete, VIA)?;
    absent_is_done((|| {
        let place = kv::locate(&act, path, true)?;
        let history = History::of(place.existing()?)?;
        kv::change_versions(&act, &place, VersionOp::Delete, &[history.current()])
    })())
}

#[derive(Default, Deserialize)]
struct VersionsIn {
    #[serde(default)]
    versions: Value,
}

/// Version numbers as Vault takes them: `[1, 2]`, `["1", "2"]` (the CLI) or `"1,2"`.
fn version_numbers(value: &Value) -> Result<Vec<i64>> {
    let bad = || ApiError::bad_request("versions", "a list of version numbers");
    let one = |v: &Value| match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| bad()),
        _ => Err(bad()),
    };
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(one).collect(),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::String(s) => s
            .split(',')
            .map(|p| one(&Value::String(p.to_owned())))
            .collect(),
        other => one(other).map(|n| vec![n]),
    }
}

/// `POST <mount>/delete|undelete|destroy/<path>`: `{"versions": [1, 2]}`.
pub fn post_versions(ctx: &Ctx, path: &KvPath, op: VersionOp) -> Result<Response> {
    let versions = version_numbers(&body::<VersionsIn>(ctx)?.versions)?;
    let versions = kv::versions_in("versions", &versions)?;
    let purpose = match op {
        VersionOp::Delete => Purpose::Delete,
        VersionOp::Undelete => Purpose::Undelete,
        VersionOp::Destroy => Purpose::DestroyVersions,
    };
    let act = Act::new(ctx, purpose, VIA)?;
    absent_is_done((|| {
        let place = kv::locate(&act, path, true)?;
        kv::change_versions(&act, &place, op, &versions)
    })())
}

// ---------------------------------------------------------------- metadata

/// Go's duration text for whole seconds (`0s`, `1h0m0s`), as Vault shows it.
pub fn duration_text(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// A duration as Vault takes it: whole seconds, or Go's text (`1h30m`, `90s`, `0s`).
pub fn parse_duration(field: &str, value: &Value) -> Result<i64> {
    let bad = || ApiError::bad_request(field, "a duration such as 3600, \"90s\" or \"1h30m\"");
    match value {
        Value::Number(n) => n.as_i64().filter(|n| *n >= 0).ok_or_else(bad),
        Value::String(text) => {
            let text = text.trim();
            if let Ok(n) = text.parse::<i64>() {
                return (n >= 0).then_some(n).ok_or_else(bad);
            }
            let mut total: i64 = 0;
            let mut number = String::new();
            for c in text.chars() {
                if c.is_ascii_digit() {
                    number.push(c);
                    continue;
                }
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    's' => 1,
                    _ => return Err(bad()),
                };
                let n: i64 = number.parse().map_err(|_| bad())?;
                total = n
                    .checked_mul(unit)
                    .and_then(|v| total.checked_add(v))
                    .ok_or_else(bad)?;
                number.clear();
            }
            if !number.is_empty() || text.is_empty() {
                return Err(bad());
            }
            Ok(total)
        }
        _ => Err(bad()),
    }
}

/// `GET <mount>/metadata/<path>`
pub fn get_metadata(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let place = kv::locate(&act, path, true)?;
    let secret = place.existing()?;
    let history = History::of(secret)?;
    act.allow(
        "kv.metadata.read",
        &place.uri(),
        &format!("secret=secret:{}", secret.id),
    )?;
    let versions: Map<String, Value> = history
        .versions
        .iter()
        .map(|v| {
            (
                v.version.to_string(),
                json!({
                    "created_time": time(Some(v.created_at)),
                    "deletion_time": time(v.deletion_time),
                    "destroyed": v.destroyed,
                }),
            )
        })
        .collect();
    let oldest = match history.oldest() {
        1 => 0,
        n => n,
    };
    let meta = &history.meta;
    ok(json!({
        "cas_required": meta.cas_required,
        "created_time": time(Some(secret.created_at)),
        "current_metadata_version": meta.metadata_version,
        "current_version": history.current(),
        "custom_metadata": custom(&meta.custom_metadata),
        "delete_version_after": duration_text(meta.delete_version_after),
        "max_versions": meta.max_versions,
        "metadata_cas_required": false,
        "oldest_version": oldest,
        "updated_time": time(Some(secret.modified_at.max(meta.updated_at.unwrap_or(0)))),
        "versions": versions,
    }))
}

/// `LIST <mount>/metadata/<prefix>` or `GET ...?list=true`
pub fn list_metadata(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let act = Act::new(ctx, Purpose::ReadMetadata, VIA)?;
    let keys = kv::list(&act, path)?;
    if keys.is_empty() {
        return Err(ApiError::not_found());
    }
    ok(json!({ "keys": keys }))
}

#[derive(Default, Deserialize)]
struct MetadataIn {
    max_versions: Option<i64>,
    cas_required: Option<bool>,
    delete_version_after: Option<Value>,
    custom_metadata: Option<Map<String, Value>>,
}

/// `POST|PUT <mount>/metadata/<path>`: settings and custom metadata.
pub fn post_metadata(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let input = body::<MetadataIn>(ctx)?;
    let settings = Settings {
        max_versions: input.max_versions,
        cas_required: input.cas_required,
        delete_version_after: input
            .delete_version_after
            .as_ref()
            .map(|d| parse_duration("delete_version_after", d))
            .transpose()?,
        custom_metadata: input.custom_metadata,
    };
    let act = Act::new(ctx, Purpose::Write, VIA)?;
    let place = kv::locate(&act, path, true)?;
    kv::write_settings(&act, &place, settings)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `DELETE <mount>/metadata/<path>`: the secret with every version, for good.
pub fn delete_metadata(ctx: &Ctx, path: &KvPath) -> Result<Response> {
    let act = Act::new(ctx, Purpose::DestroyVersions, VIA)?;
    absent_is_done((|| {
        let place = kv::locate(&act, path, true)?;
        kv::delete_all(&act, &place)
    })())
}

// ---------------------------------------------------------------- sys and auth

fn mount_info(id: &str, description: &str) -> Value {
    json!({
        "accessor": format!("kv_{}", id.get(..8).unwrap_or(id)),
        "config": {"default_lease_ttl": 0, "force_no_cache": false, "max_lease_ttl": 0},
        "deprecation_status": "supported",
        "description": description,
        "external_entropy_access": false,
        "local": false,
        "options": {"version": "2"},
        "plugin_version": "",
        "running_plugin_version": "",
        "running_sha256": "",
        "seal_wrap": false,
        "type": "kv",
        "uuid": id,
    })
}

/// `GET sys/mounts`: every safe the caller reads, as a KV v2 mount.
pub fn get_mounts(ctx: &Ctx) -> Result<Response> {
    let act = Act::any_scope(ctx, Purpose::ReadMetadata, VIA)?;
    let view = act.access.safe_view()?;
    let ids = view.safe_ids();
    let safes = crate::store::safes(&ids)?;
    let mut mounts = Map::new();
    for safe in safes {
        mounts.insert(
            format!("{}/", safe.name),
            mount_info(&safe.id, &safe.description),
        );
    }
    let mut answer = envelope(Value::Object(mounts.clone()));
    if let Value::Object(top) = &mut answer {
        top.extend(mounts);
    }
    json(StatusCode::OK, &answer)
}

/// `GET sys/internal/ui/mounts/<mount>/...`: how the CLI learns a mount is KV v2.
pub fn get_mount(ctx: &Ctx, mount: &str) -> Result<Response> {
    let act = Act::any_scope(ctx, Purpose::ReadMetadata, VIA)?;
    let (safe, _) = kv::mount(&act.access, mount).map_err(|e| {
        if e.status() == StatusCode::NOT_FOUND {
            // The CLI takes a 404 here for an old KV v1 server; Vault answers 403.
            ApiError::forbidden()
        } else {
            e
        }
    })?;
    let safes = crate::store::safes(&[safe.to_string()])?;
    let description = safes
        .first()
        .map(|s| s.description.clone())
        .unwrap_or_default();
    let mut info = mount_info(&safe, &description);
    if let Value::Object(map) = &mut info {
        map.insert("path".into(), Value::String(format!("{mount}/")));
    }
    ok(info)
}

/// `GET auth/token/lookup-self`: who the credential is (never the credential).
pub fn get_lookup_self(ctx: &Ctx) -> Result<Response> {
    let principal = ctx.principal()?;
    ok(json!({
        "accessor": "",
        "creation_ttl": 0,
        "display_name": principal.user_name,
        "entity_id": format!("user:{}", principal.user_id),
        "expire_time": null,
        "explicit_max_ttl": 0,
        "id": "",
        "meta": {"user_id": principal.user_id.to_string(), "admin": principal.admin.to_string()},
        "num_uses": 0,
        "orphan": true,
        "path": "auth/token/create",
        "policies": principal.scopes,
        "renewable": false,
        "ttl": 0,
        "type": "service",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_go_does() {
        let p = |v: Value| parse_duration("d", &v).map_err(|e| e.status().as_u16());
        assert_eq!(p(json!("0s")), Ok(0));
        assert_eq!(p(json!("1h30m")), Ok(5400));
        assert_eq!(p(json!("90s")), Ok(90));
        assert_eq!(p(json!(3600)), Ok(3600));
        assert_eq!(p(json!("3600")), Ok(3600));
        assert_eq!(p(json!("")), Err(400));
        assert_eq!(p(json!("5")), Ok(5));
        assert_eq!(p(json!("5x")), Err(400));
        assert_eq!(p(json!("h")), Err(400));
        assert_eq!(p(json!(-1)), Err(400));
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(5400), "1h30m0s");
        assert_eq!(duration_text(300), "5m0s");
        assert_eq!(duration_text(42), "42s");
    }

    #[test]
    fn versions_come_as_numbers_strings_or_a_list_in_a_string() {
        let v = |j: Value| version_numbers(&j).map_err(|e| e.status().as_u16());
        assert_eq!(v(json!([1, 2])), Ok(vec![1, 2]));
        assert_eq!(v(json!(["3"])), Ok(vec![3]));
        assert_eq!(v(json!("1,2")), Ok(vec![1, 2]));
        assert_eq!(v(json!(null)), Ok(vec![]));
        assert_eq!(v(json!(["x"])), Err(400));
    }

    #[test]
    fn data_bodies_need_an_object() {
        let parts = |v: Value| {
            serde_json::from_value::<DataIn>(v)
                .map_err(|_| 0)
                .and_then(|d| d.parts().map_err(|e| e.status().as_u16()))
        };
        assert_eq!(
            parts(json!({"data": {"a": "b"}, "options": {"cas": 2}})).map(|p| p.1),
            Ok(Some(2))
        );
        assert_eq!(parts(json!({})).err(), Some(400));
        assert_eq!(parts(json!({"data": "x"})).err(), Some(400));
        assert_eq!(
            parts(json!({"data": {}, "options": {"cas": -1}})).err(),
            Some(400)
        );
    }
}
