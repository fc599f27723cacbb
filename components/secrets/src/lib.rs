//! edgesafe's secrets area: Secrets Safe credential, text and file secrets, their
//! value history (read and rolled back in API 3.3), TOTP on credentials, shares into
//! other folders, moves and favourites.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing or doubled slash), the query untouched and
//! the caller's principal in `x-edgesafe-principal`. The folders component's CSV import
//! calls the credential create route here the same way, once per line. This file holds
//! the entry point and the route table only.

pub mod dto;
pub mod handlers;
pub mod multipart;
pub mod store;
pub mod totp;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::{ApiError, Protocol, Result};
use edgesafe_secrets_safe::ids;
use edgesafe_secrets_safe::ids::{FolderId, SecretId};
use http::Method;

use crate::dto::ApiVersion;
use crate::store::Kind;

/// The resources of this area. Folder and secret ids are GUIDs, kept lower-case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `secrets-safe/folders/{id}/secrets`: list, create a credential.
    FolderSecrets(String),
    /// `secrets-safe/folders/{id}/secrets/text`
    FolderTextSecrets(String),
    /// `secrets-safe/folders/{id}/secrets/file`
    FolderFileSecrets(String),
    /// `secrets-safe/secrets`
    Secrets,
    /// `secrets-safe/secrets/move`
    Move,
    /// `secrets-safe/secrets/{id}`
    Secret(String),
    /// `secrets-safe/secrets/{id}/text`
    SecretText(String),
    /// `secrets-safe/secrets/{id}/file`
    SecretFile(String),
    /// `secrets-safe/secrets/{id}/file/download`
    SecretFileDownload(String),
    /// `secrets-safe/secrets/{id}/shares`
    Shares(String),
    /// `secrets-safe/secrets/{id}/shares/{folder id}`
    /// Two ids side by side: typed, so that they cannot be swapped.
    Share { secret: SecretId, folder: FolderId },
    /// `secrets-safe/secrets/{id}/favorite`
    Favorite(String),
    /// `secrets-safe/secrets/{id}/versions` (3.3)
    Versions(String),
    /// `secrets-safe/secrets/{password|text|file}/{id}/versions/{version id}` (3.3): the
    /// kind in the path is the kind the secret must be.
    Version {
        kind: Kind,
        secret: SecretId,
        version: String,
    },
    /// `secrets-safe/secrets/{id}/versions/{version id}/rollback` (3.3)
    Rollback { secret: SecretId, version: String },
    /// `secrets-safe/secrets/{id}/totp/code` (3.3)
    TotpCode(String),
}

/// The route of a canonical v3 path; 404 for anything else, including a malformed id.
pub fn route(protocol: Protocol, segments: &[&str]) -> Result<Route> {
    use Route::*;
    let id = ids::path_id;
    Ok(match (protocol, segments) {
        (Protocol::V3, ["secrets-safe", "folders", f, "secrets"]) => FolderSecrets(id(f)?),
        (Protocol::V3, ["secrets-safe", "folders", f, "secrets", "text"]) => {
            FolderTextSecrets(id(f)?)
        }
        (Protocol::V3, ["secrets-safe", "folders", f, "secrets", "file"]) => {
            FolderFileSecrets(id(f)?)
        }
        (Protocol::V3, ["secrets-safe", "secrets"]) => Secrets,
        // Before `{id}`: "move" is not a GUID, but the order says so too.
        (Protocol::V3, ["secrets-safe", "secrets", "move"]) => Move,
        (Protocol::V3, ["secrets-safe", "secrets", s]) => Secret(id(s)?),
        (Protocol::V3, ["secrets-safe", "secrets", s, "text"]) => SecretText(id(s)?),
        (Protocol::V3, ["secrets-safe", "secrets", s, "file"]) => SecretFile(id(s)?),
        (Protocol::V3, ["secrets-safe", "secrets", s, "file", "download"]) => {
            SecretFileDownload(id(s)?)
        }
        (Protocol::V3, ["secrets-safe", "secrets", s, "shares"]) => Shares(id(s)?),
        (Protocol::V3, ["secrets-safe", "secrets", s, "shares", f]) => Share {
            secret: SecretId::new(id(s)?),
            folder: FolderId::new(id(f)?),
        },
        (Protocol::V3, ["secrets-safe", "secrets", s, "favorite"]) => Favorite(id(s)?),
        // API 3.3: version history, rollback, TOTP codes.
        (Protocol::V3, ["secrets-safe", "secrets", s, "versions"]) => Versions(id(s)?),
        (Protocol::V3, ["secrets-safe", "secrets", kind, s, "versions", v]) => Version {
            kind: match *kind {
                "password" => Kind::Credential,
                "text" => Kind::Text,
                "file" => Kind::File,
                _ => return Err(ApiError::not_found()),
            },
            secret: SecretId::new(id(s)?),
            version: id(v)?,
        },
        (Protocol::V3, ["secrets-safe", "secrets", s, "versions", v, "rollback"]) => Rollback {
            secret: SecretId::new(id(s)?),
            version: id(v)?,
        },
        (Protocol::V3, ["secrets-safe", "secrets", s, "totp", "code"]) => TotpCode(id(s)?),
        _ => return Err(ApiError::not_found()),
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
    // Every route refuses an unknown `?version=` first, whether it answers secrets or not.
    ApiVersion::from_query(&ctx.query)?;
    // Every route needs a caller; the rest of authorization is per handler.
    ctx.principal()?;
    let m = &ctx.method;
    match route {
        FolderSecrets(f) if m == Method::GET => h::get_folder_secrets(ctx, &f),
        FolderSecrets(f) if m == Method::POST => h::post_credential_secret(ctx, &f),
        FolderTextSecrets(f) if m == Method::POST => h::post_text_secret(ctx, &f),
        FolderFileSecrets(f) if m == Method::POST => h::post_file_secret(ctx, &f).await,
        Secrets if m == Method::GET => h::get_secrets(ctx),
        Move if m == Method::PUT => h::put_move_secrets(ctx),
        Secret(s) if m == Method::GET => h::get_secret(ctx, &s),
        Secret(s) if m == Method::PUT => h::put_credential_secret(ctx, &s),
        Secret(s) if m == Method::DELETE => h::delete_secret(ctx, &s),
        SecretText(s) if m == Method::GET => h::get_text_secret(ctx, &s),
        SecretText(s) if m == Method::PUT => h::put_text_secret(ctx, &s),
        SecretFile(s) if m == Method::GET => h::get_file_secret(ctx, &s),
        SecretFile(s) if m == Method::PUT => h::put_file_secret(ctx, &s).await,
        SecretFileDownload(s) if m == Method::GET => h::get_file_secret_download(ctx, &s),
        Shares(s) if m == Method::GET => h::get_shares(ctx, &s),
        Shares(s) if m == Method::DELETE => h::delete_shares(ctx, &s),
        Share { secret, folder } if m == Method::POST => h::post_share(ctx, &secret, &folder),
        Share { secret, folder } if m == Method::DELETE => h::delete_share(ctx, &secret, &folder),
        Favorite(s) if m == Method::PUT => h::put_favorite(ctx, &s),
        Versions(s) if m == Method::GET => h::get_secret_versions(ctx, &s),
        Version {
            kind,
            secret,
            version,
        } if m == Method::GET => h::get_secret_version(ctx, kind, &secret, &version),
        Rollback { secret, version } if m == Method::POST => {
            h::post_secret_rollback(ctx, &secret, &version)
        }
        TotpCode(s) if m == Method::GET => h::get_totp_code(ctx, &s),
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

    const ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    const FID: &str = "9a0c0305-4f89-11d3-9a0c-0305e82c3301";

    #[test]
    fn routes() {
        let r = |s: &[&str]| route(Protocol::V3, s).map_err(|e| e.status().as_u16());
        assert_eq!(
            r(&["secrets-safe", "folders", FID, "secrets"]),
            Ok(Route::FolderSecrets(FID.into()))
        );
        assert_eq!(
            r(&["secrets-safe", "folders", FID, "secrets", "file"]),
            Ok(Route::FolderFileSecrets(FID.into()))
        );
        assert_eq!(r(&["secrets-safe", "secrets"]), Ok(Route::Secrets));
        assert_eq!(r(&["secrets-safe", "secrets", "move"]), Ok(Route::Move));
        assert_eq!(
            r(&["secrets-safe", "secrets", ID, "file", "download"]),
            Ok(Route::SecretFileDownload(ID.into()))
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", ID, "shares", FID]),
            Ok(Route::Share {
                secret: SecretId::new(ID),
                folder: FolderId::new(FID)
            })
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", "text", ID, "versions", FID]),
            Ok(Route::Version {
                kind: Kind::Text,
                secret: SecretId::new(ID),
                version: FID.into()
            })
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", ID, "versions", FID, "rollback"]),
            Ok(Route::Rollback {
                secret: SecretId::new(ID),
                version: FID.into()
            })
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", ID, "totp", "code"]),
            Ok(Route::TotpCode(ID.into()))
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", "other", ID, "versions", FID]),
            Err(404)
        );
        assert_eq!(
            r(&["secrets-safe", "secrets", "text", ID, "versions", "v1"]),
            Err(404)
        );
        assert_eq!(r(&["secrets-safe", "secrets", "nope"]), Err(404));
        assert_eq!(r(&["secrets-safe", "secrets", ID, "other"]), Err(404));
        assert_eq!(r(&["secrets-safe", "folders", "x", "secrets"]), Err(404));
        assert_eq!(
            route(Protocol::V2, &["secrets-safe", "secrets"]).map_err(|e| e.status().as_u16()),
            Err(404)
        );
    }
}
