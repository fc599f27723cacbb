//! Wire shapes of the identity API and the rules their fields follow.
//!
//! Responses use Password Safe's PascalCase names (clients read them case-sensitively);
//! requests are bound case-insensitively (`request::json_body` lowercases property
//! names, so the input structs declare them in lowercase).

use edgesafe_api_common::principal::{ALL_SCOPES, LEVEL_WRITE};
use edgesafe_api_common::validate::{line, required_line};
use edgesafe_api_common::{time, ApiError, Result};
use serde::{Deserialize, Serialize};

use crate::store::{Credential, CredentialKind, Group, User};

/// Feature permissions: one table. `PermissionID` on the wire, `feature` in the store.
pub struct Feature {
    pub id: i64,
    pub key: &'static str,
    pub name: &'static str,
}

pub const FEATURES: &[Feature] = &[
    Feature {
        id: 1,
        key: "secrets_safe",
        name: "Secrets-Safe",
    },
    // Reads the audit trail (the audit area's `AUDIT_FEATURE`) and nothing else.
    Feature {
        id: 2,
        key: "audit",
        name: "Auditor",
    },
    // The user's own personal folder (`edgesafe_secrets_safe::WORKFORCE`).
    Feature {
        id: 3,
        key: "workforce_passwords",
        name: "Workforce Passwords",
    },
];

pub fn feature_by_id(id: i64) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.id == id)
}

pub fn feature_by_key(key: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.key == key)
}

// ---------------------------------------------------------------- field rules

fn email(value: Option<String>) -> Result<Option<String>> {
    let value = line("EmailAddress", value, 0, 255)?;
    if value
        .as_deref()
        .is_some_and(|v| !v.is_empty() && !v.contains('@'))
    {
        return Err(ApiError::bad_request(
            "EmailAddress",
            "at most 255 characters, an email address",
        ));
    }
    Ok(value)
}

// ---------------------------------------------------------------- users

pub const USER_NAME_MAX: usize = 100;
const PERSON_NAME_MAX: usize = 64;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct UserIn {
    pub username: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub emailaddress: Option<String>,
    pub isadministrator: Option<bool>,
}

/// A validated user, new or updated.
pub struct UserFields {
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
}

impl UserIn {
    pub fn validate_new(self) -> Result<UserFields> {
        Ok(UserFields {
            user_name: required_line("UserName", self.username, USER_NAME_MAX)?,
            first_name: line("FirstName", self.firstname, 0, PERSON_NAME_MAX)?.unwrap_or_default(),
            last_name: line("LastName", self.lastname, 0, PERSON_NAME_MAX)?.unwrap_or_default(),
            email: email(self.emailaddress)?.unwrap_or_default(),
            is_admin: self.isadministrator.unwrap_or(false),
        })
    }

    /// Applies the fields that are present to `user`; absent ones keep their value.
    pub fn validate_update(self, user: &User) -> Result<UserFields> {
        let user_name = match self.username {
            Some(name) => required_line("UserName", Some(name), USER_NAME_MAX)?,
            None => user.user_name.clone(),
        };
        Ok(UserFields {
            user_name,
            first_name: line("FirstName", self.firstname, 0, PERSON_NAME_MAX)?
                .unwrap_or_else(|| user.first_name.clone()),
            last_name: line("LastName", self.lastname, 0, PERSON_NAME_MAX)?
                .unwrap_or_else(|| user.last_name.clone()),
            email: email(self.emailaddress)?.unwrap_or_else(|| user.email.clone()),
            is_admin: self.isadministrator.unwrap_or(user.is_admin),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserOut {
    #[serde(rename = "UserID")]
    pub user_id: i64,
    pub user_name: String,
    pub first_name: String,
    pub last_name: String,
    pub email_address: String,
    pub name: String,
    pub is_administrator: bool,
    pub is_quarantined: bool,
}

/// `First Last`, or the user name when both are empty.
pub fn display_name(user: &User) -> String {
    let name = format!("{} {}", user.first_name, user.last_name);
    let name = name.trim();
    if name.is_empty() {
        user.user_name.clone()
    } else {
        name.to_owned()
    }
}

impl From<&User> for UserOut {
    fn from(user: &User) -> Self {
        UserOut {
            user_id: user.id,
            user_name: user.user_name.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email_address: user.email.clone(),
            name: display_name(user),
            is_administrator: user.is_admin,
            is_quarantined: user.blocked,
        }
    }
}

// ---------------------------------------------------------------- sign-in

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignInOut {
    pub user_id: i64,
    #[serde(rename = "SID")]
    pub sid: String,
    pub email_address: String,
    pub user_name: String,
    pub name: String,
}

impl From<&User> for SignInOut {
    fn from(user: &User) -> Self {
        SignInOut {
            user_id: user.id,
            sid: format!("S-1-5-21-edgesafe-{}", user.id),
            email_address: user.email.clone(),
            user_name: user.user_name.clone(),
            name: display_name(user),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionOut {
    pub version: &'static str,
}

// ---------------------------------------------------------------- OAuth

/// `POST Auth/connect/token` success, in OAuth's shape (RFC 6749 section 5.1).
#[derive(Debug, Serialize)]
pub struct TokenOut {
    pub access_token: String,
    pub expires_in: i64,
    pub token_type: &'static str,
    pub scope: String,
}

/// OAuth's errors (RFC 6749 section 5.2); these replace the v3 error shape on the
/// token endpoint, which clients parse as OAuth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    UnsupportedGrantType,
    InvalidScope,
    InvalidClient,
}

impl OAuthError {
    pub fn code(self) -> &'static str {
        match self {
            OAuthError::InvalidRequest => "invalid_request",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::InvalidClient => "invalid_client",
        }
    }

    pub fn status(self) -> http::StatusCode {
        match self {
            OAuthError::InvalidClient => http::StatusCode::UNAUTHORIZED,
            _ => http::StatusCode::BAD_REQUEST,
        }
    }
}

/// A token request's scopes: what was asked for, checked against what the credential
/// may grant. No scope asked for means everything the credential grants.
pub fn grant_scopes(
    requested: Option<&str>,
    allowed: &[String],
) -> std::result::Result<Vec<String>, OAuthError> {
    let requested: Vec<String> = requested
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if requested.is_empty() {
        return Ok(allowed.to_vec());
    }
    if requested.iter().all(|s| allowed.contains(s)) {
        let mut granted = Vec::new();
        for scope in requested {
            if !granted.contains(&scope) {
                granted.push(scope);
            }
        }
        Ok(granted)
    } else {
        Err(OAuthError::InvalidScope)
    }
}

// ---------------------------------------------------------------- groups

const GROUP_NAME_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 255;
pub const GROUP_TYPE: &str = "BeyondInsight";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct GroupIn {
    pub grouptype: Option<String>,
    pub groupname: Option<String>,
    pub description: Option<String>,
    pub isactive: Option<bool>,
    pub permissions: Option<Vec<PermissionIn>>,
}

pub struct GroupFields {
    pub name: String,
    pub description: String,
    pub is_active: bool,
    /// (feature key, access level 0..=2)
    pub permissions: Vec<(&'static str, u8)>,
}

impl GroupIn {
    pub fn validate(self) -> Result<GroupFields> {
        if let Some(kind) = self.grouptype.as_deref() {
            if !kind.trim().eq_ignore_ascii_case(GROUP_TYPE) {
                return Err(ApiError::bad_request(
                    "groupType",
                    "must be BeyondInsight (directory groups are not supported)",
                ));
            }
        }
        Ok(GroupFields {
            name: required_line("groupName", self.groupname, GROUP_NAME_MAX)?,
            description: line("description", self.description, 0, DESCRIPTION_MAX)?
                .unwrap_or_default(),
            is_active: self.isactive.unwrap_or(true),
            permissions: validate_permissions("Permissions", self.permissions.unwrap_or_default())?,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct PermissionIn {
    pub permissionid: Option<i64>,
    pub accesslevelid: Option<i64>,
}

/// Checks a list of `{PermissionID, AccessLevelID}`; a later entry for the same
/// feature replaces an earlier one.
pub fn validate_permissions(
    field: &str,
    list: Vec<PermissionIn>,
) -> Result<Vec<(&'static str, u8)>> {
    let mut out: Vec<(&'static str, u8)> = Vec::new();
    for (i, entry) in list.into_iter().enumerate() {
        let feature = entry.permissionid.and_then(feature_by_id).ok_or_else(|| {
            ApiError::bad_request(
                &format!("{field}[{i}].PermissionID"),
                &format!("required, one of {}", permission_ids()),
            )
        })?;
        let level = entry
            .accesslevelid
            .and_then(|l| u8::try_from(l).ok())
            .filter(|l| *l <= LEVEL_WRITE)
            .ok_or_else(|| {
                ApiError::bad_request(
                    &format!("{field}[{i}].AccessLevelID"),
                    "required, 0 (none), 1 (read) or 2 (read/write)",
                )
            })?;
        out.retain(|(key, _)| *key != feature.key);
        out.push((feature.key, level));
    }
    Ok(out)
}

fn permission_ids() -> String {
    FEATURES
        .iter()
        .map(|f| format!("{} ({})", f.id, f.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupOut {
    #[serde(rename = "GroupID")]
    pub group_id: i64,
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub group_type: &'static str,
}

impl From<&Group> for GroupOut {
    fn from(group: &Group) -> Self {
        GroupOut {
            group_id: group.id,
            name: group.name.clone(),
            description: group.description.clone(),
            is_active: group.is_active,
            group_type: GROUP_TYPE,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PermissionOut {
    #[serde(rename = "PermissionID")]
    pub permission_id: i64,
    #[serde(rename = "Name")]
    pub name: &'static str,
}

#[derive(Debug, Serialize)]
pub struct GroupPermissionOut {
    #[serde(rename = "PermissionID")]
    pub permission_id: i64,
    #[serde(rename = "Name")]
    pub name: &'static str,
    #[serde(rename = "AccessLevelID")]
    pub access_level_id: u8,
}

/// A stored (feature, level) as the wire shows it; `None` for features this build
/// does not know (left by a newer version).
pub fn group_permission(feature: &str, level: u8) -> Option<GroupPermissionOut> {
    feature_by_key(feature).map(|f| GroupPermissionOut {
        permission_id: f.id,
        name: f.name,
        access_level_id: level,
    })
}

// ---------------------------------------------------------------- API keys, OAuth clients

const LABEL_MAX: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct CredentialIn {
    pub kind: Option<String>,
    pub label: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub expireson: Option<String>,
}

pub struct CredentialFields {
    pub kind: CredentialKind,
    pub label: String,
    /// Empty means every scope.
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
}

impl CredentialIn {
    pub fn validate(self, now: i64) -> Result<CredentialFields> {
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => CredentialKind::ApiKey,
            Some(k) if k.eq_ignore_ascii_case("ApiKey") => CredentialKind::ApiKey,
            Some(k) if k.eq_ignore_ascii_case("OAuthClient") => CredentialKind::OAuthClient,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "Kind",
                    "must be ApiKey or OAuthClient",
                ))
            }
        };
        let mut scopes: Vec<String> = Vec::new();
        for scope in self.scopes.unwrap_or_default() {
            let scope = scope.trim().to_owned();
            if !ALL_SCOPES.contains(&scope.as_str()) {
                return Err(ApiError::bad_request(
                    "Scopes",
                    &format!("each must be one of {}", ALL_SCOPES.join(", ")),
                ));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let expires_at = match self.expireson.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(time::parse_utc(text).filter(|t| *t > now).ok_or_else(|| {
                ApiError::bad_request(
                    "ExpiresOn",
                    "must be a date and time (yyyy-MM-ddTHH:mm:ssZ) in the future",
                )
            })?),
        };
        Ok(CredentialFields {
            kind,
            label: line("Label", self.label, 0, LABEL_MAX)?.unwrap_or_default(),
            scopes,
            expires_at,
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CredentialOut {
    pub id: i64,
    pub kind: &'static str,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub created_on: String,
    pub expires_on: Option<String>,
    pub revoked_on: Option<String>,
}

impl From<&Credential> for CredentialOut {
    fn from(c: &Credential) -> Self {
        CredentialOut {
            id: c.id,
            kind: match c.kind {
                CredentialKind::ApiKey => "ApiKey",
                CredentialKind::OAuthClient => "OAuthClient",
            },
            label: c.label.clone(),
            client_id: c.client_id.clone(),
            // What the credential grants: its own list, or every scope when it has none.
            scopes: crate::store::effective_scopes(&c.scopes),
            created_on: time::format_utc(c.created_at),
            expires_on: c.expires_at.map(time::format_utc),
            revoked_on: c.revoked_at.map(time::format_utc),
        }
    }
}

/// A new credential, with its secret shown this once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewCredentialOut {
    #[serde(flatten)]
    pub credential: CredentialOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_rules() {
        let err = |name: Option<&str>| {
            UserIn {
                username: name.map(Into::into),
                ..UserIn::default()
            }
            .validate_new()
            .err()
            .map(|e| e.message().to_owned())
        };
        let rule = Some("UserName: required, 1 to 100 characters".to_owned());
        assert_eq!(err(None), rule);
        assert_eq!(err(Some("  ")), rule);
        assert_eq!(err(Some(&"x".repeat(101))), rule);
        assert_eq!(err(Some(&"é".repeat(100))), None);
        assert_eq!(
            err(Some("a\u{7}b")),
            Some("UserName: must not contain control characters".to_owned())
        );
    }

    #[test]
    fn update_keeps_absent_fields() {
        let user = User {
            id: 1,
            user_name: "alice".into(),
            first_name: "Alice".into(),
            last_name: "A".into(),
            email: "a@example.com".into(),
            is_admin: true,
            blocked: false,
        };
        let fields = UserIn {
            lastname: Some("B".into()),
            ..UserIn::default()
        }
        .validate_update(&user);
        let fields = fields.map(|f| (f.user_name, f.first_name, f.last_name, f.is_admin));
        assert_eq!(
            fields.ok(),
            Some(("alice".into(), "Alice".into(), "B".into(), true))
        );
    }

    #[test]
    fn email_needs_an_at_sign() {
        let r = UserIn {
            username: Some("a".into()),
            emailaddress: Some("nope".into()),
            ..UserIn::default()
        }
        .validate_new();
        assert_eq!(r.err().map(|e| e.status().as_u16()), Some(400));
    }

    #[test]
    fn permissions_are_checked_and_deduplicated() {
        let list = vec![
            PermissionIn {
                permissionid: Some(1),
                accesslevelid: Some(1),
            },
            PermissionIn {
                permissionid: Some(1),
                accesslevelid: Some(2),
            },
        ];
        assert_eq!(
            validate_permissions("Permissions", list).ok(),
            Some(vec![("secrets_safe", 2)])
        );
        let bad = vec![PermissionIn {
            permissionid: Some(9),
            accesslevelid: Some(1),
        }];
        assert_eq!(
            validate_permissions("Permissions", bad)
                .err()
                .map(|e| e.message().to_owned()),
            Some(
                "Permissions[0].PermissionID: required, one of 1 (Secrets-Safe), 2 (Auditor), \
                 3 (Workforce Passwords)"
                    .to_owned()
            )
        );
        let bad = vec![PermissionIn {
            permissionid: Some(1),
            accesslevelid: Some(3),
        }];
        assert!(validate_permissions("Permissions", bad).is_err());
    }

    #[test]
    fn group_type_must_be_beyondinsight() {
        let r = GroupIn {
            grouptype: Some("ActiveDirectory".into()),
            groupname: Some("g".into()),
            ..GroupIn::default()
        }
        .validate();
        assert_eq!(r.err().map(|e| e.status().as_u16()), Some(400));
        let r = GroupIn {
            grouptype: Some("beyondinsight".into()),
            groupname: Some("g".into()),
            ..GroupIn::default()
        }
        .validate();
        assert!(r.is_ok_and(|g| g.is_active && g.name == "g"));
    }

    #[test]
    fn credential_rules() {
        let ok = CredentialIn::default().validate(0);
        assert!(ok.is_ok_and(|c| c.kind == CredentialKind::ApiKey && c.scopes.is_empty()));
        let ok = CredentialIn {
            kind: Some("oauthclient".into()),
            scopes: Some(vec!["publicapi".into(), "publicapi".into()]),
            expireson: Some("2030-01-01T00:00:00Z".into()),
            ..CredentialIn::default()
        }
        .validate(0);
        assert!(ok.is_ok_and(|c| c.kind == CredentialKind::OAuthClient
            && c.scopes == vec!["publicapi".to_owned()]
            && c.expires_at == Some(1_893_456_000)));
        let bad = |c: CredentialIn| {
            c.validate(2_000_000_000)
                .err()
                .map(|e| e.message().to_owned())
        };
        assert!(bad(CredentialIn {
            kind: Some("Password".into()),
            ..CredentialIn::default()
        })
        .is_some_and(|m| m.starts_with("Kind:")));
        assert!(bad(CredentialIn {
            scopes: Some(vec!["root".into()]),
            ..CredentialIn::default()
        })
        .is_some_and(|m| m.starts_with("Scopes:")));
        assert!(bad(CredentialIn {
            expireson: Some("2030-01-01T00:00:00Z".into()),
            ..CredentialIn::default()
        })
        .is_some_and(|m| m.starts_with("ExpiresOn:")));
    }

    #[test]
    fn scopes_granted_are_a_subset() {
        let allowed: Vec<String> = vec!["publicapi".into(), "secrets.read".into()];
        assert_eq!(grant_scopes(None, &allowed), Ok(allowed.clone()));
        assert_eq!(
            grant_scopes(Some("publicapi publicapi"), &allowed),
            Ok(vec!["publicapi".to_owned()])
        );
        assert_eq!(
            grant_scopes(Some("secrets.write"), &allowed),
            Err(OAuthError::InvalidScope)
        );
    }

    #[test]
    fn responses_use_password_safe_names() {
        let user = User {
            id: 3,
            user_name: "bob".into(),
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            is_admin: false,
            blocked: true,
        };
        let json = serde_json::to_value(UserOut::from(&user)).unwrap_or_default();
        assert_eq!(json["UserID"], 3);
        assert_eq!(json["Name"], "bob");
        assert_eq!(json["IsQuarantined"], true);
        let json = serde_json::to_value(SignInOut::from(&user)).unwrap_or_default();
        assert_eq!(json["UserId"], 3);
        assert_eq!(json["SID"], "S-1-5-21-edgesafe-3");
    }
}
