//! edgesafe's kv area: versioned KV with canonical secret URIs (`/api/secrets`, seed
//! 003) and Vault KV v2 compatibility (`/v1/`), over the Secrets Safe's secrets: a KV
//! path is a safe (the mount), folders and a secret, so what is written here is what
//! v3 and PAM v2 serve, and the other way round.
//!
//! A private route: only the gateway reaches it, with the caller's principal in
//! `x-edgesafe-principal`. This file holds the entry point and the route table only.

pub mod dto;
pub mod handlers;
pub mod kv;
pub mod store;
pub mod uri;
pub mod value;
pub mod vault;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::{ApiError, Protocol, Result};
use http::Method;

use crate::kv::VersionOp;
use crate::uri::KvPath;

/// The resources of this area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/api/secrets` itself and its named resources (`value`, `metadata/detail`, ...);
    /// the secret is in the query or the body.
    Kv(KvResource),
    /// Vault `sys/mounts`.
    VaultMounts,
    /// Vault `sys/internal/ui/mounts/<mount>/...`: the mount named.
    VaultMount(String),
    /// Vault `auth/token/lookup-self`.
    VaultLookupSelf,
    /// Vault `<mount>/data/<path>`.
    VaultData(KvPath),
    /// Vault `<mount>/metadata[/<path>]` (a prefix for listings).
    VaultMetadata(KvPath),
    /// Vault `<mount>/delete|undelete|destroy/<path>`.
    VaultVersions(KvPath, VersionOp),
}

/// The resources under `/api/secrets` (seed 003).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvResource {
    Root,
    Value,
    Rotate,
    Metadata,
    Keys,
    MetadataDetail,
    MetadataOwner,
    Versions,
    Undelete,
    DestroyVersions,
    Bulk,
    Copy,
    Move,
    Search,
    Events,
    Audit,
}

/// The route of a canonical path; 404 for anything else, 400 for a bad secret path.
pub fn route(protocol: Protocol, segments: &[&str]) -> Result<Route> {
    use KvResource as K;
    use Route::*;
    match (protocol, segments) {
        (Protocol::Kv, []) => Ok(Kv(K::Root)),
        (Protocol::Kv, ["value"]) => Ok(Kv(K::Value)),
        (Protocol::Kv, ["rotate"]) => Ok(Kv(K::Rotate)),
        (Protocol::Kv, ["metadata"]) => Ok(Kv(K::Metadata)),
        (Protocol::Kv, ["keys"]) => Ok(Kv(K::Keys)),
        (Protocol::Kv, ["metadata", "detail"]) => Ok(Kv(K::MetadataDetail)),
        (Protocol::Kv, ["metadata", "owner"]) => Ok(Kv(K::MetadataOwner)),
        (Protocol::Kv, ["versions"]) => Ok(Kv(K::Versions)),
        (Protocol::Kv, ["undelete"]) => Ok(Kv(K::Undelete)),
        (Protocol::Kv, ["destroy-versions"]) => Ok(Kv(K::DestroyVersions)),
        (Protocol::Kv, ["bulk"]) => Ok(Kv(K::Bulk)),
        (Protocol::Kv, ["copy"]) => Ok(Kv(K::Copy)),
        (Protocol::Kv, ["move"]) => Ok(Kv(K::Move)),
        (Protocol::Kv, ["search"]) => Ok(Kv(K::Search)),
        (Protocol::Kv, ["events"]) => Ok(Kv(K::Events)),
        (Protocol::Kv, ["audit"]) => Ok(Kv(K::Audit)),
        (Protocol::Vault, ["sys", "mounts"]) => Ok(VaultMounts),
        (Protocol::Vault, ["sys", "internal", "ui", "mounts", mount, ..]) => {
            Ok(VaultMount(uri::vault_path(mount, &[], true)?.mount))
        }
        (Protocol::Vault, ["auth", "token", "lookup-self"]) => Ok(VaultLookupSelf),
        (Protocol::Vault, ["sys" | "auth", ..]) => Err(ApiError::not_found()),
        (Protocol::Vault, [mount, "data", rest @ ..]) => {
            Ok(VaultData(uri::vault_path(mount, rest, false)?))
        }
        (Protocol::Vault, [mount, "metadata", rest @ ..]) => {
            Ok(VaultMetadata(uri::vault_path(mount, rest, true)?))
        }
        (Protocol::Vault, [mount, op @ ("delete" | "undelete" | "destroy"), rest @ ..]) => {
            let op = match *op {
                "delete" => VersionOp::Delete,
                "undelete" => VersionOp::Undelete,
                _ => VersionOp::Destroy,
            };
            Ok(VaultVersions(uri::vault_path(mount, rest, false)?, op))
        }
        _ => Err(ApiError::not_found()),
    }
}

fn is(method: &Method, name: &str) -> bool {
    method.as_str().eq_ignore_ascii_case(name)
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use KvResource as K;
    use Route::*;
    ctx.principal()?;
    kv::check_rate(ctx)?;
    let m = &ctx.method;
    let write = is(m, "POST") || is(m, "PUT");
    let list = is(m, "LIST") || (is(m, "GET") && ctx.query.bool("list")? == Some(true));
    match route {
        Kv(K::Root) if is(m, "POST") => h::post_secret(ctx),
        Kv(K::Root) if is(m, "GET") => h::get_secret(ctx),
        Kv(K::Root) if is(m, "DELETE") => h::delete_secret(ctx),
        Kv(K::Value) if is(m, "GET") => h::get_value(ctx),
        Kv(K::Rotate) if is(m, "POST") => h::post_rotate(ctx),
        Kv(K::Metadata) if is(m, "GET") => h::get_metadata(ctx),
        Kv(K::Keys) if is(m, "GET") => h::get_keys(ctx),
        Kv(K::MetadataDetail) if is(m, "GET") => h::get_metadata_detail(ctx),
        Kv(K::MetadataOwner) if is(m, "POST") => h::post_owner(ctx),
        Kv(K::Versions) if is(m, "GET") => h::get_versions(ctx),
        Kv(K::Undelete) if is(m, "POST") => h::post_undelete(ctx),
        Kv(K::DestroyVersions) if is(m, "POST") => h::post_destroy_versions(ctx),
        Kv(K::Bulk) if is(m, "POST") => h::post_bulk(ctx),
        Kv(K::Copy) if is(m, "POST") => h::post_copy(ctx),
        Kv(K::Move) if is(m, "POST") => h::post_move(ctx),
        Kv(K::Search) if is(m, "GET") => h::get_search(ctx),
        Kv(K::Events) if is(m, "GET") => h::get_events(ctx),
        Kv(K::Audit) if is(m, "GET") => h::get_audit(ctx),
        VaultMounts if is(m, "GET") => vault::get_mounts(ctx),
        VaultMount(mount) if is(m, "GET") => vault::get_mount(ctx, &mount),
        VaultLookupSelf if is(m, "GET") => vault::get_lookup_self(ctx),
        VaultData(path) if is(m, "GET") => vault::get_data(ctx, &path),
        VaultData(path) if write => vault::post_data(ctx, &path),
        VaultData(path) if is(m, "PATCH") => vault::patch_data(ctx, &path),
        VaultData(path) if is(m, "DELETE") => vault::delete_data(ctx, &path),
        VaultMetadata(path) if list => vault::list_metadata(ctx, &path),
        VaultMetadata(path) if path.segments.is_empty() => Err(ApiError::not_found()),
        VaultMetadata(path) if is(m, "GET") => vault::get_metadata(ctx, &path),
        VaultMetadata(path) if write => vault::post_metadata(ctx, &path),
        VaultMetadata(path) if is(m, "DELETE") => vault::delete_metadata(ctx, &path),
        VaultVersions(path, op) if write => vault::post_versions(ctx, &path, op),
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::Request) -> Response {
    let headers = request.headers().map(|(n, v)| (n, v.as_bytes()));
    let (method, path, query) = (request.method().clone(), request.path(), request.query());
    let incoming = Incoming::new(method.into(), path, query, headers, request.body());
    serve(incoming, route, dispatch).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(segments: &[&str]) -> std::result::Result<Route, u16> {
        route(Protocol::Vault, segments).map_err(|e| e.status().as_u16())
    }

    fn path(mount: &str, segments: &[&str]) -> KvPath {
        KvPath {
            mount: mount.into(),
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn routes_kv_resources() {
        let kv = |s: &[&str]| route(Protocol::Kv, s).map_err(|e| e.status().as_u16());
        assert_eq!(kv(&[]), Ok(Route::Kv(KvResource::Root)));
        assert_eq!(
            kv(&["metadata", "detail"]),
            Ok(Route::Kv(KvResource::MetadataDetail))
        );
        assert_eq!(
            kv(&["destroy-versions"]),
            Ok(Route::Kv(KvResource::DestroyVersions))
        );
        assert_eq!(kv(&["whoami"]), Err(404));
        assert_eq!(kv(&["metadata", "x"]), Err(404));
    }

    #[test]
    fn routes_vault_paths() {
        assert_eq!(r(&["sys", "mounts"]), Ok(Route::VaultMounts));
        assert_eq!(
            r(&["sys", "internal", "ui", "mounts", "secret", "app"]),
            Ok(Route::VaultMount("secret".into()))
        );
        assert_eq!(
            r(&["auth", "token", "lookup-self"]),
            Ok(Route::VaultLookupSelf)
        );
        assert_eq!(
            r(&["secret", "data", "App", "db"]),
            Ok(Route::VaultData(path("secret", &["App", "db"])))
        );
        assert_eq!(
            r(&["secret", "metadata"]),
            Ok(Route::VaultMetadata(path("secret", &[])))
        );
        assert_eq!(
            r(&["secret", "destroy", "a"]),
            Ok(Route::VaultVersions(
                path("secret", &["a"]),
                VersionOp::Destroy
            ))
        );
        assert_eq!(r(&["secret", "data"]), Err(400));
        assert_eq!(r(&["secret", "config"]), Err(404));
        assert_eq!(r(&["sys", "data", "x"]), Err(404));
        assert_eq!(r(&["secret", "data", ".."]), Err(400));
    }
}
