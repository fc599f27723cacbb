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

use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::request::{self, Query};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::{audit, AuditEvent, Decision};
use edgesafe_api_common::{time, ApiError, ErrorCode, Principal, Protocol, Result};
use edgesafe_secrets_safe::{ids, Access};
use http::Method;

/// Everything a handler may look at.
pub struct Ctx {
    pub method: Method,
    pub query: Query,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    principal: Option<Principal>,
    /// The principal header as the gateway wrote it, passed on unchanged when the CSV
    /// import calls the secrets component on the caller's behalf.
    principal_header: Option<String>,
    pub client_addr: Option<String>,
    pub now: i64,
}

impl Ctx {
    /// The authenticated caller; 401 without one.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }

    /// The caller's view of the safes, once the Secrets-Safe feature permission has
    /// been checked: read for reads, read/write for writes (403 otherwise).
    pub fn access(&self, write: bool) -> Result<Access<'_>> {
        let access = Access::new(self.principal()?, self.now);
        access.require_feature(write)?;
        Ok(access)
    }

    pub fn principal_header(&self) -> Option<&str> {
        self.principal_header.as_deref()
    }

    /// A JSON body bound to `T` (property names in any case); 415 unless JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        request::json_body(self.content_type.as_deref(), &self.body)
    }

    /// Appends an audit event for the caller. `note` joins the detail and must never
    /// hold a secret. A failure to record is logged: by the time a change is audited
    /// it has been committed, and answering 500 for a change that happened would make
    /// clients repeat it.
    pub fn audit(&self, action: &str, target: &str, decision: Decision, note: Option<&str>) {
        let actor = self
            .principal
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), Principal::actor);
        let client = self.client_addr.as_deref().unwrap_or("-");
        let detail = match note {
            Some(note) => format!("client={client}; {note}"),
            None => format!("client={client}"),
        };
        let recorded = audit(AuditEvent {
            actor: &actor,
            action,
            target,
            decision,
            purpose: "write",
            detail: &detail,
        });
        if let Err(e) = recorded {
            eprintln!("could not record audit event {action}: {e}");
        }
    }
}

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

async fn dispatch(route: &Route, ctx: &Ctx) -> Result<Response> {
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

fn plain_not_found() -> Response {
    let mut response = Response::new(br#"{"error":"not found"}"#.to_vec());
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::Request) -> Response {
    let Some((protocol, segments)) = Protocol::split(request.path()) else {
        return plain_not_found();
    };
    let header = |name: &str| {
        request
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let principal_header = header(PRINCIPAL_HEADER);
    let principal = match principal_header
        .as_deref()
        .map(Principal::from_header_value)
    {
        Some(Ok(principal)) => Some(principal),
        Some(Err(e)) => return e.to_response(protocol),
        None => None,
    };
    let Some(route) = route(protocol, &segments) else {
        return ApiError::not_found().to_response(protocol);
    };
    let ctx = Ctx {
        method: Method::from(request.method().clone()),
        query: Query::parse(request.query().as_bytes()),
        content_type: header("content-type"),
        body: request.body().to_vec(),
        principal,
        principal_header,
        client_addr: header(CLIENT_ADDR_HEADER),
        now: time::now_unix(),
    };
    match dispatch(&route, &ctx).await {
        Ok(response) => response,
        Err(e) => {
            // A refused write is worth a trace; refused reads would only be noise.
            if e.code() == ErrorCode::Forbidden && ctx.method != Method::GET {
                ctx.audit(
                    route.write_action(&ctx.method),
                    &route.target(),
                    Decision::Deny,
                    None,
                );
            }
            let mut response = e.to_response(protocol);
            if e.code() == ErrorCode::MethodNotAllowed {
                response.headers_mut().insert(
                    http::header::ALLOW,
                    http::HeaderValue::from_static(route.allowed_methods()),
                );
            }
            response
        }
    }
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
