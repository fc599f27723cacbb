//! What every area component does around its handlers: the request as a handler sees
//! it ([`Ctx`]), and [`serve`], which reads the request, routes it, runs the handler
//! and answers an error in the protocol's shape.
//!
//! Area components are private routes. Only the gateway reaches them (and the folders
//! component's CSV import, calling the secrets component the same way), always with a
//! canonical path of one of the protocols and the caller's principal in
//! [`PRINCIPAL_HEADER`], which they therefore trust. Each component fills an
//! [`Incoming`] from Spin's request, which keeps this crate free of spin-sdk and its
//! tests native.

use http::{header, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use crate::request::{self, Query};
use crate::response::Response;
use crate::vault::{audit, audited_change, AuditEvent, Decision};
use crate::{time, ApiError, Principal, Protocol, Result};

/// The parts of a request an area component reads.
pub struct Incoming<'a> {
    method: Method,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
    body: &'a [u8],
}

impl<'a> Incoming<'a> {
    /// `query` without the `?`; header names in any case.
    pub fn new(
        method: Method,
        path: &'a str,
        query: &'a str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: &'a [u8],
    ) -> Self {
        Incoming {
            method,
            path,
            query,
            headers: headers.into_iter().collect(),
            body,
        }
    }

    /// A header's value; `None` when it is absent or not UTF-8.
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .map(str::to_owned)
    }
}

/// Everything a handler may look at.
pub struct Ctx {
    pub protocol: Protocol,
    pub method: Method,
    pub query: Query,
    pub content_type: Option<String>,
    /// The media types the client accepts (`Accept`), e.g. for a server-sent stream.
    pub accept: Option<String>,
    pub body: Vec<u8>,
    principal: Option<Principal>,
    /// The principal header as the gateway wrote it, passed on unchanged when an area
    /// calls another one on the caller's behalf.
    principal_header: Option<String>,
    pub client_addr: Option<String>,
    pub now: i64,
}

impl Ctx {
    /// The context of `request`, whose path is of `protocol`: 401 when a principal
    /// header is there but unreadable.
    pub fn new(protocol: Protocol, request: &Incoming<'_>) -> Result<Self> {
        let principal_header = request.header(PRINCIPAL_HEADER);
        let principal = match &principal_header {
            Some(value) => Some(Principal::from_header_value(value)?),
            None => None,
        };
        Ok(Ctx {
            protocol,
            method: request.method.clone(),
            query: Query::parse(request.query.as_bytes()),
            content_type: request.header(header::CONTENT_TYPE.as_str()),
            accept: request.header(header::ACCEPT.as_str()),
            body: request.body.to_vec(),
            principal,
            principal_header,
            client_addr: request.header(CLIENT_ADDR_HEADER),
            now: time::now_unix(),
        })
    }

    /// The authenticated caller; 401 without one.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }

    /// The caller, who must be an administrator (403 otherwise). A refused write is
    /// recorded in the audit trail.
    pub fn admin(&self, action: &str, target: &str) -> Result<&Principal> {
        let principal = self.principal()?;
        if principal.admin {
            return Ok(principal);
        }
        if self.is_write() {
            self.audit(action, target, Decision::Deny, None);
        }
        Err(ApiError::forbidden())
    }

    pub fn principal_header(&self) -> Option<&str> {
        self.principal_header.as_deref()
    }

    /// Whether the request may change something: anything but a GET.
    pub fn is_write(&self) -> bool {
        self.method != Method::GET
    }

    /// A JSON body bound to `T` (property names in any case): 415 for another media
    /// type, 400 for bad JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        request::json_body(self.content_type.as_deref(), &self.body)
    }

    /// A JSON body when there is one; `T::default()` for an empty body.
    pub fn optional_json<T: DeserializeOwned + Default>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// The audit trail's name for the caller, `anonymous` without one.
    pub fn actor(&self) -> String {
        self.principal
            .as_ref()
            .map_or_else(|| "anonymous".to_owned(), Principal::actor)
    }

    /// Appends an audit event for the caller, with purpose `read` for a GET and
    /// `write` otherwise; `note` joins the detail and never holds a secret. A failure
    /// to record is logged: by the time a change is audited it has been committed, and
    /// answering 500 for a change that happened would make clients repeat it.
    pub fn audit(&self, action: &str, target: &str, decision: Decision, note: Option<&str>) {
        if let Err(e) = self.try_audit(action, target, decision, note) {
            eprintln!("could not record audit event {action}: {e}");
        }
    }

    /// [`Ctx::audit`], failing when the event cannot be recorded: for what must not
    /// happen unrecorded, such as handing out a value.
    pub fn try_audit(
        &self,
        action: &str,
        target: &str,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<i64> {
        let purpose = if self.is_write() { "write" } else { "read" };
        self.record(&self.actor(), action, target, decision, purpose, note)
    }

    /// Appends an audit event for `actor` (for calls whose caller is only known once
    /// the handler has checked a secret) with the given `purpose`.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        decision: Decision,
        purpose: &str,
        note: Option<&str>,
    ) -> Result<i64> {
        let detail = self.audit_detail(note);
        audit(AuditEvent {
            actor,
            action,
            target,
            decision,
            purpose,
            detail: &detail,
        })
    }

    /// Runs `change` so that its write commits together with an allowed audit event for
    /// the caller (see [`audited_change`]): a change is never committed unrecorded, and
    /// a change that fails leaves no event.
    pub fn audited<T>(
        &self,
        action: &str,
        target: &str,
        note: Option<&str>,
        change: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let purpose = if self.is_write() { "write" } else { "read" };
        let detail = self.audit_detail(note);
        let actor = self.actor();
        audited_change(
            AuditEvent {
                actor: &actor,
                action,
                target,
                decision: Decision::Allow,
                purpose,
                detail: &detail,
            },
            change,
        )
    }

    /// The detail of the caller's audit events: the client address, the credential that
    /// acted, and `note`. Also for events committed with a change (`Db::execute_audited`).
    pub fn audit_detail(&self, note: Option<&str>) -> String {
        let client = self.client_addr.as_deref().unwrap_or("-");
        let mut detail = format!("client={client}");
        // Under run-as the actor is the user acted as; the credential and its owner
        // say who really acted.
        if let Some(principal) = &self.principal {
            detail.push_str("; ");
            detail.push_str(&principal.credential_detail());
        }
        if let Some(note) = note {
            detail.push_str("; ");
            detail.push_str(note);
        }
        detail
    }
}

/// Answers `request`: its path picks the protocol and `route` the route (its error
/// answers, usually a 404); then `dispatch` runs the route's handler. Every error is
/// answered in the protocol's shape. A path outside every protocol (the gateway never
/// sends one) gets the gateway's plain 404.
pub async fn serve<R>(
    request: Incoming<'_>,
    route: impl FnOnce(Protocol, &[&str]) -> Result<R>,
    dispatch: impl AsyncFnOnce(R, &Ctx) -> Result<Response>,
) -> Response {
    let Some((protocol, segments)) = Protocol::split(request.path) else {
        return plain_not_found();
    };
    // The principal header is read before routing: a bad one is a 401 on any path.
    let accepted =
        Ctx::new(protocol, &request).and_then(|ctx| Ok((route(protocol, &segments)?, ctx)));
    let result = match accepted {
        Ok((route, ctx)) => dispatch(route, &ctx).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| e.to_response(protocol))
}

fn plain_not_found() -> Response {
    let mut response = Response::new(br#"{"error":"not found"}"#.to_vec());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use futures_executor::block_on;

    use super::*;
    use crate::response::empty;

    /// The principal header of a user who is not an administrator.
    fn alice() -> String {
        let json = r#"{"user_id":7,"user_name":"alice","admin":false,"groups":[],"features":{},"scopes":[],"auth":"api_key"}"#;
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn reads_the_parts_a_handler_needs() {
        let principal = alice();
        let headers = [
            ("Content-Type", "application/json".as_bytes()),
            ("x-edgesafe-principal", principal.as_bytes()),
            ("X-Edgesafe-Client-Addr", b"10.0.0.1:5000"),
        ];
        let request = Incoming::new(
            Method::PUT,
            "/beyondtrust/api/public/v3/users/1",
            "a=1&B=2",
            headers,
            br#"{"Name":"x"}"#,
        );
        let ctx = Ctx::new(Protocol::V3, &request);
        let ctx = ctx.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ctx.query.get("b"), Some("2"));
        assert_eq!(ctx.content_type.as_deref(), Some("application/json"));
        assert_eq!(ctx.client_addr.as_deref(), Some("10.0.0.1:5000"));
        assert_eq!(ctx.principal().map(|p| p.user_id), Ok(7));
        assert_eq!(ctx.principal_header(), Some(principal.as_str()));
        assert_eq!(ctx.actor(), "user:7");
        assert!(ctx.is_write());
        let body: Result<serde_json::Value> = ctx.json();
        assert_eq!(body, Ok(serde_json::json!({"name": "x"})));
    }

    #[test]
    fn without_a_principal_handlers_get_401() {
        let request = Incoming::new(Method::GET, "/api/v2/session", "", [], b"");
        let ctx = Ctx::new(Protocol::V2, &request).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ctx.actor(), "anonymous");
        assert!(!ctx.is_write());
        let e = ctx.principal().err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(401));
        let e = ctx.admin("action", "target").err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(401));
        let body: Result<BTreeMap<String, String>> = ctx.optional_json();
        assert_eq!(body, Ok(BTreeMap::new()));
    }

    /// Natively there is no vault and recording an event panics, so passing shows that
    /// none was attempted.
    #[test]
    fn a_non_admin_reading_is_refused_without_an_audit_event() {
        let principal = alice();
        let headers = [(PRINCIPAL_HEADER, principal.as_bytes())];
        let request = Incoming::new(Method::GET, "/", "", headers, b"");
        let ctx = Ctx::new(Protocol::V3, &request).unwrap_or_else(|e| panic!("{e}"));
        let e = ctx.admin("identity.user.list", "users").err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(403));
    }

    /// Routes `/api/v2/{n}` and answers with status n (405 when n is not a status).
    fn answer(method: Method, path: &str, headers: &[(&str, &[u8])]) -> Response {
        let request = Incoming::new(method, path, "", headers.iter().copied(), b"");
        let route = |protocol: Protocol, segments: &[&str]| match (protocol, segments) {
            (Protocol::V2, [n]) => n.parse::<u16>().map_err(|_| ApiError::not_found()),
            _ => Err(ApiError::not_found()),
        };
        let dispatch = async |n: u16, ctx: &Ctx| {
            ctx.principal()?;
            StatusCode::from_u16(n)
                .map(empty)
                .map_err(|_| ApiError::method_not_allowed())
        };
        block_on(serve(request, route, dispatch))
    }

    fn body(response: &Response) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap_or_default()
    }

    #[test]
    fn serve_routes_dispatches_and_answers_errors_in_the_protocol_shape() {
        let principal = alice();
        let auth = [(PRINCIPAL_HEADER, principal.as_bytes())];
        assert_eq!(answer(Method::GET, "/api/v2/204", &auth).status(), 204);

        let r = answer(Method::GET, "/api/v2/1000", &auth);
        assert_eq!(r.status(), 405);
        assert_eq!(body(&r)["result"], "error");

        let r = answer(Method::GET, "/api/v2/x", &auth);
        assert_eq!(r.status(), 404);
        assert_eq!(body(&r)["code"], "not_found");
        let r = answer(Method::GET, "/api/secrets/204", &auth);
        assert_eq!(r.status(), 404);
        assert_eq!(body(&r)["error"]["code"], "not_found");

        let r = answer(Method::GET, "/api/v2/204", &[]);
        assert_eq!(r.status(), 401);
        // A bad principal header is refused before routing.
        let r = answer(Method::GET, "/api/v2/x", &[(PRINCIPAL_HEADER, b"garbage!")]);
        assert_eq!(r.status(), 401);

        let r = answer(Method::GET, "/elsewhere", &auth);
        assert_eq!(r.status(), 404);
        assert_eq!(body(&r), serde_json::json!({"error": "not found"}));
    }
}
