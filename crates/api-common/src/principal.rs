//! The authenticated caller, as the gateway hands it to the area components.
//!
//! The gateway authenticates once and puts the principal in [`PRINCIPAL_HEADER`]. The
//! area components live on private routes, reachable only through local service
//! chaining, so they trust that header; the gateway drops any copy that arrives from
//! outside.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};

/// Carries the principal from the gateway to an area component.
pub const PRINCIPAL_HEADER: &str = "x-edgesafe-principal";

/// Carries the caller's address (Spin's `spin-client-addr`) to an area component.
pub const CLIENT_ADDR_HEADER: &str = "x-edgesafe-client-addr";

/// Read access to a feature.
pub const LEVEL_READ: u8 = 1;
/// Read and write access to a feature.
pub const LEVEL_WRITE: u8 = 2;

/// The OAuth-style scope that Password Safe clients ask for.
pub const SCOPE_PUBLIC_API: &str = "publicapi";

/// Every scope there is. A credential with no scopes of its own grants all of them.
pub const ALL_SCOPES: &[&str] = &[
    SCOPE_PUBLIC_API,
    "secrets.read",
    "secrets.write",
    "secrets.delete",
    "secrets.destroy",
    "secrets.rotate",
    "secrets.read_metadata",
    "secrets.set_owner",
];

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A sign-in session cookie (from `Auth/SignAppIn`).
    Session,
    /// An API key (`PS-Auth key=...`, or the bare key on v2 and KV).
    ApiKey,
    /// A bearer access token (from `Auth/connect/token`).
    Bearer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: i64,
    pub user_name: String,
    pub admin: bool,
    /// Active groups the user is a member of.
    pub groups: Vec<i64>,
    /// Feature key -> [`LEVEL_READ`] or [`LEVEL_WRITE`], the highest over `groups`.
    pub features: BTreeMap<String, u8>,
    pub scopes: Vec<String>,
    pub auth: AuthMethod,
    /// Digest of the session or access token used, so that sign-out can revoke it.
    /// A digest, never the token: the header must not carry a usable secret.
    #[serde(default)]
    pub session: Option<String>,
    /// The API key or OAuth client behind the request, so that sessions issued from it
    /// die with it when it is revoked.
    #[serde(default)]
    pub credential: Option<i64>,
    /// The user who owns `credential`. It differs from `user_id` when an
    /// administrator's key runs as another user; the audit trail names both.
    #[serde(default)]
    pub credential_owner: Option<i64>,
}

impl Principal {
    /// Whether the principal may use `feature` at `level` (admins may do everything).
    pub fn can(&self, feature: &str, level: u8) -> bool {
        self.admin || self.features.get(feature).is_some_and(|l| *l >= level)
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The audit trail's name for this principal.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }

    /// What acted for this principal, for an audit event's detail: the credential and
    /// its owner (who differs from the actor under run-as).
    pub fn credential_detail(&self) -> String {
        let or_dash = |id: Option<i64>, prefix: &str| {
            id.map_or_else(|| "-".to_owned(), |id| format!("{prefix}{id}"))
        };
        format!(
            "credential={}; credential_owner={}",
            or_dash(self.credential, "credential:"),
            or_dash(self.credential_owner, "user:")
        )
    }

    pub fn to_header_value(&self) -> Result<String> {
        let json =
            serde_json::to_vec(self).map_err(|_| ApiError::internal("principal serialization"))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    pub fn from_header_value(value: &str) -> Result<Self> {
        // A principal header the gateway did not write means a broken deployment or a
        // bypassed gateway: refuse like any other bad credential, log for the operator.
        let bad = || {
            eprintln!("rejected a malformed {PRINCIPAL_HEADER} header");
            ApiError::unauthorized("authentication required")
        };
        let json = URL_SAFE_NO_PAD.decode(value.trim()).map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }

    /// The principal of a request: `Ok(None)` when there is none, `Err` (401) when the
    /// header is there but unreadable.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>> {
        match headers.get(PRINCIPAL_HEADER) {
            None => Ok(None),
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| ApiError::unauthorized("authentication required"))?;
                Self::from_header_value(value).map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Principal {
        Principal {
            user_id: 7,
            user_name: "alice".into(),
            admin: false,
            groups: vec![2, 3],
            features: BTreeMap::from([("secrets_safe".to_owned(), LEVEL_READ)]),
            scopes: vec!["publicapi".into(), "secrets.read".into()],
            auth: AuthMethod::Session,
            session: Some("ab12".into()),
            credential: Some(4),
            credential_owner: Some(1),
        }
    }

    #[test]
    fn round_trips_through_the_header() {
        let p = alice();
        let value = p.to_header_value().unwrap_or_default();
        assert!(!value.contains('='), "no padding");
        assert!(value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            PRINCIPAL_HEADER,
            http::HeaderValue::from_str(&value).unwrap_or(http::HeaderValue::from_static("")),
        );
        assert_eq!(Principal::from_headers(&headers), Ok(Some(p)));
    }

    #[test]
    fn missing_header_is_none_and_garbage_is_401() {
        assert_eq!(Principal::from_headers(&http::HeaderMap::new()), Ok(None));
        let e = Principal::from_header_value("not base64!").err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(401));
        let e = Principal::from_header_value(&URL_SAFE_NO_PAD.encode(b"{}")).err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(401));
    }

    #[test]
    fn reads_a_header_without_the_optional_fields() {
        let json = r#"{"user_id":1,"user_name":"a","admin":true,"groups":[],"features":{},"scopes":[],"auth":"api_key"}"#;
        let p = Principal::from_header_value(&URL_SAFE_NO_PAD.encode(json));
        assert_eq!(
            p.map(|p| (p.auth, p.session, p.credential)),
            Ok((AuthMethod::ApiKey, None, None))
        );
    }

    #[test]
    fn credential_detail_names_the_key_and_its_owner() {
        assert_eq!(
            alice().credential_detail(),
            "credential=credential:4; credential_owner=user:1"
        );
        let keyless = Principal {
            credential: None,
            credential_owner: None,
            ..alice()
        };
        assert_eq!(
            keyless.credential_detail(),
            "credential=-; credential_owner=-"
        );
    }

    #[test]
    fn can_and_has_scope() {
        let p = alice();
        assert!(p.can("secrets_safe", LEVEL_READ));
        assert!(!p.can("secrets_safe", LEVEL_WRITE));
        assert!(!p.can("other", LEVEL_READ));
        let admin = Principal {
            admin: true,
            ..alice()
        };
        assert!(admin.can("secrets_safe", LEVEL_WRITE));
        assert!(admin.can("other", LEVEL_WRITE));
        assert!(p.has_scope("secrets.read"));
        assert!(!p.has_scope("secrets.write"));
    }
}
