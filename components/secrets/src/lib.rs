//! edgesafe's secrets area: Secrets Safe credential, text and file secrets, their
//! value history, shares into other folders, moves and favourites.
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

use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::request::{self, Query};
use edgesafe_api_common::response::Response;
use edgesafe_api_common::vault::{audit, AuditEvent, Decision};
use edgesafe_api_common::{time, ApiError, Principal, Protocol, Result};
use edgesafe_secrets_safe::{ids, Access};
use http::Method;

use crate::dto::ApiVersion;

/// Everything a handler may look at.
pub struct Ctx {
    pub method: Method,
    pub query: Query,
    /// The shape of secret bodies, from `?version=` (3.0 when absent).
    pub version: ApiVersion,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    principal: Option<Principal>,
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

    /// The caller's view of the safes at this request's moment.
    pub fn access(&self) -> Result<Access<'_>> {
        Ok(Access::new(self.principal()?, self.now))
    }

    /// A JSON body bound to `T` (415 for another media type, 400 for bad JSON).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        request::json_body(self.content_type.as_deref(), &self.body)
    }

    fn detail(&self, note: Option<&str>) -> String {
        let client = self.client_addr.as_deref().unwrap_or("-");
        match note {
            Some(note) => format!("client={client}; {note}"),
            None => format!("client={client}"),
        }
    }

    fn actor(&self) -> String {
        self.principal
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), Principal::actor)
    }

    fn purpose(&self) -> &'static str {
        if self.method == Method::GET {
            "read"
        } else {
            "write"
        }
    }

    /// Appends an audit event for the caller; `note` never holds a secret value. A
    /// failure to record is logged: by the time a change is audited it has been
    /// committed, and answering 500 for a change that happened would make clients
    /// repeat it.
    pub fn audit(&self, action: &str, target: &str, decision: Decision, note: Option<&str>) {
        if let Err(e) = self.try_audit(action, target, decision, note) {
            eprintln!("could not record audit event {action}: {e}");
        }
    }

    /// Appends an audit event for the caller, failing when it cannot be recorded. Reads
    /// of values use this: a value is only handed out once its read is on record.
    pub fn try_audit(
        &self,
        action: &str,
        target: &str,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<i64> {
        audit(AuditEvent {
            actor: &self.actor(),
            action,
            target,
            decision,
            purpose: self.purpose(),
            detail: &self.detail(note),
        })
    }
}

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
    Share { secret: String, folder: String },
    /// `secrets-safe/secrets/{id}/favorite`
    Favorite(String),
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
            secret: id(s)?,
            folder: id(f)?,
        },
        (Protocol::V3, ["secrets-safe", "secrets", s, "favorite"]) => Favorite(id(s)?),
        _ => return Err(ApiError::not_found()),
    })
}

async fn dispatch(route: Route, ctx: &Ctx) -> Result<Response> {
    use handlers as h;
    use Route::*;
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
        _ => Err(ApiError::method_not_allowed()),
    }
}

#[spin_sdk::http_component]
async fn handle(request: spin_sdk::http::Request) -> Response {
    // Everything routed here is v3; a path of another protocol is still answered in
    // v3's shape, since no client of ours speaks anything else to this area.
    let (protocol, segments) = Protocol::split(request.path()).unwrap_or((Protocol::V3, vec![]));
    let header = |name: &str| {
        request
            .header(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let ctx = (|| {
        let principal = match header(PRINCIPAL_HEADER) {
            Some(value) => Some(Principal::from_header_value(&value)?),
            None => None,
        };
        let route = route(protocol, &segments)?;
        let query = Query::parse(request.query().as_bytes());
        let version = ApiVersion::from_query(&query)?;
        let ctx = Ctx {
            method: Method::from(request.method().clone()),
            query,
            version,
            content_type: header("content-type"),
            body: request.body().to_vec(),
            principal,
            client_addr: header(CLIENT_ADDR_HEADER),
            now: time::now_unix(),
        };
        Ok::<_, ApiError>((route, ctx))
    })();
    let result = match ctx {
        Ok((route, ctx)) => dispatch(route, &ctx).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| e.to_response(Protocol::V3))
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
                secret: ID.into(),
                folder: FID.into()
            })
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
