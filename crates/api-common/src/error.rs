//! Errors of the API components and their wire shapes.
//!
//! Policy:
//! - There is one error type, [`ApiError`], made only through the named constructors
//!   below. There is deliberately no blanket `From<E: std::error::Error>`: a `?` on a
//!   foreign error has to pick a constructor, so nothing turns into a 500 by accident.
//! - Every error carries a stable, machine-readable code from one table
//!   ([`ErrorCode::wire`]), which also fixes its HTTP status. Clients may match on the
//!   code; the message is for humans and may change.
//! - 4xx messages name the field and the rule (`UserName: required, 1 to 100
//!   characters`). They never echo a value the client sent: the value might be a secret.
//! - 5xx bodies say only "internal error". The reason goes to stderr when the error is
//!   made, and the reason never contains a value either. The one exception is
//!   `unavailable`, whose fixed text tells the operator where to look.
//! - Each protocol's error shape is produced in one place, [`ApiError::to_response`].

use std::borrow::Cow;
use std::fmt;

use http::{header, HeaderValue, Response, StatusCode};

pub use crate::protocol::Protocol;

/// The stable codes. Add a variant and a row in [`ErrorCode::wire`]; never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Internal,
    Unavailable,
    Gone,
}

impl ErrorCode {
    /// The table: code on the wire and HTTP status.
    pub const fn wire(self) -> (&'static str, StatusCode) {
        match self {
            ErrorCode::BadRequest => ("bad_request", StatusCode::BAD_REQUEST),
            ErrorCode::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            ErrorCode::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            ErrorCode::NotFound => ("not_found", StatusCode::NOT_FOUND),
            ErrorCode::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            ErrorCode::Conflict => ("conflict", StatusCode::CONFLICT),
            ErrorCode::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ErrorCode::UnsupportedMediaType => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorCode::TooManyRequests => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS),
            ErrorCode::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            ErrorCode::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
            ErrorCode::Gone => ("gone", StatusCode::GONE),
        }
    }

    pub const fn as_str(self) -> &'static str {
        self.wire().0
    }

    pub const fn status(self) -> StatusCode {
        self.wire().1
    }
}

/// An error to answer a request with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: Cow<'static, str>,
    /// Seconds until a refused client may try again (`Retry-After`).
    retry_after: Option<u64>,
}

/// Set by edgesafe's runner on a request it admitted only to be turned away because
/// every instance is busy; the value is the seconds to ask the client to wait. The
/// gateway answers it at once, in the protocol's shape, without authenticating or
/// forwarding. (Real Spin never sets it; a client that sends it only refuses itself.)
pub const OVERLOADED_HEADER: &str = "edgesafe-runner-overloaded";

const INTERNAL_MESSAGE: &str = "internal error";
/// What Vault answers for a missing, unknown or insufficient token.
const VAULT_DENIED: &str = "permission denied";
const UNAVAILABLE_MESSAGE: &str =
    "service unavailable: the vault cannot reach its keys; the operator should check the server log";

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A field (body property, query parameter or header) broke `rule`.
    pub fn bad_request(field: &str, rule: &str) -> Self {
        Self::new(ErrorCode::BadRequest, format!("{field}: {rule}"))
    }

    /// Missing or unusable credentials. `reason` is shown to the client, so it must
    /// not tell a wrong key from a blocked user.
    pub fn unauthorized(reason: &'static str) -> Self {
        Self::new(ErrorCode::Unauthorized, reason)
    }

    pub fn forbidden() -> Self {
        Self::new(
            ErrorCode::Forbidden,
            "not allowed for the authenticated user",
        )
    }

    /// Also the answer for objects that exist but are not the caller's, so that ids
    /// cannot be enumerated.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "not found")
    }

    /// `what` says which rule the write broke, e.g. `UserName: already in use`.
    pub fn conflict(what: &str) -> Self {
        Self::new(ErrorCode::Conflict, what.to_owned())
    }

    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            ErrorCode::PayloadTooLarge,
            format!("body: at most {limit} bytes"),
        )
    }

    /// `expected` is the media type the endpoint takes, e.g. `application/json`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Type: must be {expected}"),
        )
    }

    /// Too many failed sign-ins from the caller's address; it may try again after
    /// `retry_after` seconds.
    pub fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::TooManyRequests,
                "too many failed sign-ins from this address; try again later",
            )
        }
    }

    /// The caller sent more requests than the configured rate allows; it may try again
    /// after `retry_after` seconds.
    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::TooManyRequests,
                "too many requests from this caller; try again later",
            )
        }
    }

    /// What was asked for existed and is no more (a deleted or destroyed version);
    /// `what` says which, e.g. `version: 3 is destroyed`.
    pub fn gone(what: &str) -> Self {
        Self::new(ErrorCode::Gone, what.to_owned())
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this path",
        )
    }

    /// Something on our side failed. `reason` goes to stderr only; it must name the
    /// failing step, never a value.
    pub fn internal(reason: impl fmt::Display) -> Self {
        eprintln!("internal error: {reason}");
        Self::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    /// A dependency is down or misconfigured (e.g. the key-encryption key is missing).
    /// `reason` goes to stderr only.
    pub fn unavailable(reason: impl fmt::Display) -> Self {
        eprintln!("unavailable: {reason}");
        Self::new(ErrorCode::Unavailable, UNAVAILABLE_MESSAGE)
    }

    /// Every instance is busy and the host asked the app to turn the request away (see
    /// [`OVERLOADED_HEADER`]); the client may try again after `retry_after` seconds.
    pub fn overloaded(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::Unavailable, "the server is busy; retry later")
        }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The message as the client sees it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The body in the protocol's shape, as JSON.
    pub fn body(&self, protocol: Protocol) -> serde_json::Value {
        let code = self.code.as_str();
        let message = self.message();
        match protocol {
            Protocol::V3 => serde_json::json!({ "Message": message, "Code": code }),
            Protocol::V2 => {
                serde_json::json!({ "result": "error", "code": code, "message": message })
            }
            Protocol::Kv => serde_json::json!({ "error": { "code": code, "message": message } }),
            // Vault answers a missing path with an empty list, and refuses a credential
            // (missing, unknown or not allowed) with one fixed phrase.
            Protocol::Vault => match self.code {
                ErrorCode::NotFound => serde_json::json!({ "errors": [] }),
                ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                    serde_json::json!({ "errors": [VAULT_DENIED] })
                }
                _ => serde_json::json!({ "errors": [message] }),
            },
        }
    }

    /// The whole response in the protocol's shape.
    pub fn to_response(&self, protocol: Protocol) -> Response<Vec<u8>> {
        let mut response = Response::new(self.body(protocol).to_string().into_bytes());
        *response.status_mut() = match (protocol, self.code) {
            // Vault has no 401: a missing or bad token is 403, as clients expect.
            (Protocol::Vault, ErrorCode::Unauthorized) => StatusCode::FORBIDDEN,
            _ => self.status(),
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.code == ErrorCode::Unauthorized && protocol == Protocol::Kv {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for ApiError {}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ApiError> {
        vec![
            ApiError::bad_request("UserName", "required, 1 to 100 characters"),
            ApiError::unauthorized("missing credentials"),
            ApiError::forbidden(),
            ApiError::not_found(),
            ApiError::method_not_allowed(),
            ApiError::conflict("UserName: already in use"),
            ApiError::payload_too_large(10),
            ApiError::unsupported_media_type("application/json"),
            ApiError::too_many_requests(30),
            ApiError::internal("test"),
            ApiError::unavailable("test"),
            ApiError::gone("version: 3 is deleted"),
        ]
    }

    #[test]
    fn table_maps_each_constructor_to_its_status_and_code() {
        let got: Vec<(u16, &str)> = all()
            .iter()
            .map(|e| (e.status().as_u16(), e.code().as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (400, "bad_request"),
                (401, "unauthorized"),
                (403, "forbidden"),
                (404, "not_found"),
                (405, "method_not_allowed"),
                (409, "conflict"),
                (413, "payload_too_large"),
                (415, "unsupported_media_type"),
                (429, "too_many_requests"),
                (500, "internal"),
                (503, "unavailable"),
                (410, "gone"),
            ]
        );
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<&str> = all().iter().map(|e| e.code().as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all().len());
    }

    #[test]
    fn bad_request_names_field_and_rule() {
        let e = ApiError::bad_request("UserName", "required, 1 to 100 characters");
        assert_eq!(e.message(), "UserName: required, 1 to 100 characters");
    }

    #[test]
    fn internal_hides_its_reason() {
        let e = ApiError::internal("SELECT failed on users");
        assert_eq!(e.message(), "internal error");
        for protocol in [Protocol::V3, Protocol::V2, Protocol::Kv, Protocol::Vault] {
            assert!(!e.body(protocol).to_string().contains("users"));
        }
        let e = ApiError::unavailable("kek is malformed");
        assert!(!e.message().contains("kek"));
        assert!(e.message().contains("server log"));
    }

    #[test]
    fn renders_each_protocol_shape() {
        let e = ApiError::not_found();
        assert_eq!(
            e.body(Protocol::V3),
            serde_json::json!({"Message": "not found", "Code": "not_found"})
        );
        assert_eq!(
            e.body(Protocol::V2),
            serde_json::json!({"result": "error", "code": "not_found", "message": "not found"})
        );
        assert_eq!(
            e.body(Protocol::Kv),
            serde_json::json!({"error": {"code": "not_found", "message": "not found"}})
        );
    }

    #[test]
    fn renders_vault_errors_as_vault_does() {
        assert_eq!(
            ApiError::not_found().body(Protocol::Vault),
            serde_json::json!({"errors": []})
        );
        assert_eq!(
            ApiError::bad_request("version", "must be a positive integer").body(Protocol::Vault),
            serde_json::json!({"errors": ["version: must be a positive integer"]})
        );
        let r = ApiError::unauthorized("missing credentials").to_response(Protocol::Vault);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap_or_default();
        assert_eq!(body, serde_json::json!({"errors": ["permission denied"]}));
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn response_has_status_and_json_content_type() {
        let r = ApiError::conflict("UserName: already in use").to_response(Protocol::V3);
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap_or_default();
        assert_eq!(body["Code"], "conflict");
    }

    #[test]
    fn too_many_requests_says_when_to_retry_in_every_shape() {
        for protocol in [Protocol::V3, Protocol::V2, Protocol::Kv] {
            let r = ApiError::too_many_requests(42).to_response(protocol);
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                r.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
                Some(&b"42"[..])
            );
        }
        for protocol in [Protocol::V3, Protocol::V2, Protocol::Kv] {
            let r = ApiError::overloaded(1).to_response(protocol);
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                r.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
        }
        let body = ApiError::too_many_requests(42).body(Protocol::V2);
        assert_eq!(body["result"], "error");
        assert_eq!(body["code"], "too_many_requests");
        assert!(ApiError::not_found()
            .to_response(Protocol::V3)
            .headers()
            .get(header::RETRY_AFTER)
            .is_none());
    }

    #[test]
    fn kv_unauthorized_asks_for_a_bearer_token() {
        let r = ApiError::unauthorized("missing credentials").to_response(Protocol::Kv);
        assert_eq!(
            r.headers()
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        let r = ApiError::unauthorized("missing credentials").to_response(Protocol::V3);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
