//! edgesafe's folders area: Secrets Safe folders (`secrets-safe/folders...`), their
//! tree, per-user favourites and the CSV import of credential secrets.
//!
//! A private route: only the gateway reaches it, through local service chaining, with
//! a canonical path (lowercase, no trailing or doubled slash) and the caller's
//! principal in `x-edgesafe-principal`. The gateway sends `folders/{id}/secrets...` to
//! the secrets component and everything else under `secrets-safe/folders` here. This
//! file holds the entry point and the route table only.
//!
//! Safes and folders are one tree in the `folders` table: a safe is a folder without a
//! parent, and every folder carries the id of its safe (`safe_id`), which is where its
//! permissions come from. Authorization on every route: the Secrets-Safe feature
//! permission first (read for GET, read/write for the rest: 403), then the caller's
//! permissions on the folder's safe (without Read the folder does not exist for them:
//! 404; with Read but not the flag the route needs: 403).

pub mod dto;
pub mod handlers;
pub mod import;
pub mod listing;
pub mod store;

pub use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::area::{serve, Incoming};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::Decision;
use edgesafe_api_common::{ApiError, ErrorCode, Protocol, Result};
use edgesafe_secrets_safe::ids;
use http::Method;

/// The resources of this area. Folder ids are GUIDs, canonical lower-case; a path
/// segment that is not one is no route (404).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Folders,
    Folder(String),
    FolderMove(String),
    FolderFavorite(String),
    FolderUpload(String),
}

impl Route {
    /// The audit action of a write on this route.
    fn write_action(&self, method: &Method) -> &'static str {
        match (self, method) {
            (Route::Folders, _) => "folder.create",
            (Route::Folder(_), &Method::PUT) => "folder.update",
            (Route::Folder(_), &Method::DELETE) => "folder.delete",
            (Route::Folder(_), _) | (Route::FolderUpload(_), _) => "folder.import",
            (Route::FolderMove(_), _) => "folder.move",
            (Route::FolderFavorite(_), _) => "folder.favorite",
        }
    }

    /// The methods the route answers, for the `Allow` header of a 405.
    fn allowed_methods(&self) -> &'static str {
        match self {
            Route::Folders => "GET, POST",
            Route::Folder(_) => "GET, PUT, DELETE, POST",
            Route::FolderMove(_) | Route::FolderFavorite(_) => "PUT",
            Route::FolderUpload(_) => "POST",
        }
    }

    fn target(&self) -> String {
        match self {
            Route::Folders => "folders".to_owned(),
            Route::Folder(id)
            | Route::FolderMove(id)
            | Route::FolderFavorite(id)
            | Route::FolderUpload(id) => format!("folder:{id}"),
        }
    }
}

fn guid(segment: &str) -> Option<String> {
    ids::path_id(segment).ok()
}

pub fn route(protocol: Protocol, segments: &[&str]) -> Option<Route> {
    use Route::*;
    Some(match (protocol, segments) {
        (Protocol::V3, ["secrets-safe", "folders"]) => Folders,
        (Protocol::V3, ["secrets-safe", "folders", id]) => Folder(guid(id)?),
        (Protocol::V3, ["secrets-safe", "folders", id, "move"]) => FolderMove(guid(id)?),
        (Protocol::V3, ["secrets-safe", "folders", id, "favorite"]) => FolderFavorite(guid(id)?),
        (Protocol::V3, ["secrets-safe", "folders", id, "upload"]) => FolderUpload(guid(id)?),
        _ => return None,
    })
}

/// Runs the route's handler. A 405 names the methods the route answers (`Allow`), and
/// a refused write leaves a trace in the audit trail.
async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    match handle_route(&route, ctx).await {
        Err(e) if e.code() == ErrorCode::MethodNotAllowed => {
            let mut response = e.to_response(ctx.protocol);
            response.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static(route.allowed_methods()),
            );
            Ok(response)
        }
        Err(e) => {
            // A refused write is worth a trace; refused reads would only be noise.
            if e.code() == ErrorCode::Forbidden && ctx.is_write() {
                ctx.audit(
                    route.write_action(&ctx.method),
                    &route.target(),
                    Decision::Deny,
                    None,
                );
            }
            Err(e)
        }
        answer => answer,
    }
}

/// The handler of the route and method.
async fn handle_route(route: &Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
    ctx.principal()?;
    let m = &ctx.method;
    match route {
        Folders if m == Method::GET => h::get_folders(ctx),
        Folders if m == Method::POST => h::post_folders(ctx),
        Folder(id) if m == Method::GET => h::get_folder(ctx, id),
        Folder(id) if m == Method::PUT => h::put_folder(ctx, id),
        Folder(id) if m == Method::DELETE => h::delete_folder(ctx, id),
        // The seed's spelling of the CSV import; the library posts to `.../upload`.
        Folder(id) if m == Method::POST => h::post_folder_upload(ctx, id).await,
        FolderUpload(id) if m == Method::POST => h::post_folder_upload(ctx, id).await,
        FolderMove(id) if m == Method::PUT => h::put_folder_move(ctx, id),
        FolderFavorite(id) if m == Method::PUT => h::put_folder_favorite(ctx, id),
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
    fn routes() {
        let id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        assert_eq!(
            route(Protocol::V3, &["secrets-safe", "folders"]),
            Some(Route::Folders)
        );
        assert_eq!(
            route(Protocol::V3, &["secrets-safe", "folders", id, "move"]),
            Some(Route::FolderMove(id.to_owned()))
        );
        assert_eq!(
            route(Protocol::V3, &["secrets-safe", "folders", "nope"]),
            None
        );
        assert_eq!(route(Protocol::V2, &["secrets-safe", "folders"]), None);
    }
}
