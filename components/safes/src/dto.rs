//! Wire shapes of the safes API and the rules their fields follow.
//!
//! Responses use Password Safe's PascalCase names (clients read them case-sensitively);
//! requests are bound case-insensitively (`request::json_body` lowercases property
//! names, so the input structs declare them in lowercase).

use edgesafe_api_common::validate::{line, required_line};
use edgesafe_api_common::{time, ApiError, Result};
use edgesafe_secrets_safe::{Flags, Folder};
use serde::{Deserialize, Serialize};

use crate::store::Grant;

/// Longest safe name and description (seed: "Max string length is 256").
pub const NAME_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 256;

/// A safe name: also the first segment of every folder path (`Safe/Folder/...`),
/// which clients split on `/`, so a slash in it would make paths ambiguous.
fn safe_name(value: Option<String>) -> Result<String> {
    let name = required_line("Name", value, NAME_MAX)?;
    if name.contains('/') {
        return Err(ApiError::bad_request("Name", "must not contain /"));
    }
    Ok(name)
}

// ---------------------------------------------------------------- safes

/// `POST`/`PUT secrets-safe/safes[/{id}]`: `{Name, Description}`. The reference also
/// names the description `SecretName` (the body of `PUT`, every answer): it is another
/// name of `Description`, accepted under either and answered under both.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct SafeIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub secretname: Option<String>,
}

/// A validated name and description. `description` is `None` when the client left
/// it out (an update keeps the stored one; a new safe gets "").
pub struct SafeFields {
    pub name: String,
    pub description: Option<String>,
}

impl SafeIn {
    pub fn validate(self) -> Result<SafeFields> {
        let name = safe_name(self.name)?;
        let description = line("Description", self.description, 0, DESCRIPTION_MAX)?;
        let secret_name = line("SecretName", self.secretname, 0, DESCRIPTION_MAX)?;
        let description = match (description, secret_name) {
            (Some(d), Some(s)) if d != s => {
                return Err(ApiError::bad_request(
                    "SecretName",
                    "another name of Description; when both are sent they must be equal",
                ))
            }
            (d, s) => d.or(s),
        };
        Ok(SafeFields { name, description })
    }
}

/// A safe, with the caller's flags on it (`PermissionFlags`, as the reference answers
/// a new safe) and its description under both of its names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SafeOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub secret_name: String,
    pub permission_flags: Vec<&'static str>,
}

impl SafeOut {
    pub fn new(safe: &Folder, caller_flags: Flags) -> Self {
        SafeOut {
            id: safe.id.to_string(),
            name: safe.name.clone(),
            description: safe.description.clone(),
            secret_name: safe.description.clone(),
            permission_flags: caller_flags.names(),
        }
    }
}

// ---------------------------------------------------------------- safe permissions

/// One entry of `GET secrets-safe/safes/safe-permissions`. Objects rather than bare
/// strings: ps-cli's table output crashes on a list of strings.
#[derive(Debug, Serialize)]
pub struct PermissionNameOut {
    #[serde(rename = "PermissionName")]
    pub permission_name: &'static str,
}

/// Who a grant is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
}

impl PrincipalKind {
    /// `PrincipalType` on the wire and `principal_type` in the store.
    pub fn code(self) -> i64 {
        match self {
            PrincipalKind::User => 0,
            PrincipalKind::Group => 1,
        }
    }

    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(PrincipalKind::User),
            1 => Some(PrincipalKind::Group),
            _ => None,
        }
    }

    /// The audit trail's name for the principal.
    pub fn target(self, id: i64) -> String {
        match self {
            PrincipalKind::User => format!("user:{id}"),
            PrincipalKind::Group => format!("group:{id}"),
        }
    }
}

/// `PermissionFlags` as a list (what the clients send) or, leniently, one string such
/// as `"Read, Create"` (how the seed writes the combinations).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FlagNames {
    Many(Vec<String>),
    One(String),
}

/// `PUT secrets-safe/safes/{id}/safe-permissions`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct GrantIn {
    pub principaltype: Option<i64>,
    pub principalid: Option<i64>,
    pub permissionflags: Option<FlagNames>,
    pub expireson: Option<String>,
}

/// A validated grant request. `flags` is `None` when `PermissionFlags` was left out
/// (the library omits it unless given): an existing grant keeps its flags then.
pub struct GrantFields {
    pub kind: PrincipalKind,
    pub principal_id: i64,
    pub flags: Option<Flags>,
    pub expires_at: Option<i64>,
}

fn principal(kind: Option<i64>, id: Option<i64>) -> Result<(PrincipalKind, i64)> {
    let kind = kind
        .and_then(PrincipalKind::from_code)
        .ok_or_else(|| ApiError::bad_request("PrincipalType", "required, 0 (user) or 1 (group)"))?;
    let id = id
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("PrincipalID", "required, a positive integer"))?;
    Ok((kind, id))
}

impl GrantIn {
    pub fn validate(self, now: i64) -> Result<GrantFields> {
        let (kind, principal_id) = principal(self.principaltype, self.principalid)?;
        let flags = match self.permissionflags {
            None => None,
            Some(FlagNames::Many(names)) => Some(Flags::parse(&names)?),
            Some(FlagNames::One(name)) => Some(Flags::parse(&[name])?),
        };
        let expires_at = match self.expireson.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(time::parse_utc(text).filter(|t| *t > now).ok_or_else(|| {
                ApiError::bad_request(
                    "ExpiresOn",
                    "must be a date and time (yyyy-MM-ddTHH:mm:ssZ) in the future",
                )
            })?),
        };
        Ok(GrantFields {
            kind,
            principal_id,
            flags,
            expires_at,
        })
    }
}

/// `DELETE secrets-safe/safes/{id}/safe-permissions`, whose principal is in the body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct RevokeIn {
    pub principaltype: Option<i64>,
    pub principalid: Option<i64>,
}

impl RevokeIn {
    pub fn validate(self) -> Result<(PrincipalKind, i64)> {
        principal(self.principaltype, self.principalid)
    }
}

/// A grant as both clients read it: the library wants `PrincipalType`, `PrincipalID`,
/// `PermissionFlags`, `ExpiresOn`; bt-cli also `Id`, `FolderId`, `UserId`, `GroupId`.
/// `UserId` and `GroupId` are both always present, the one that does not apply null,
/// so that clients indexing either key do not fail.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantOut {
    pub id: String,
    pub folder_id: String,
    pub principal_type: i64,
    #[serde(rename = "PrincipalID")]
    pub principal_id: i64,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub permission_flags: Vec<&'static str>,
    pub expires_on: Option<String>,
}

impl From<&Grant> for GrantOut {
    fn from(grant: &Grant) -> Self {
        GrantOut {
            id: grant.id.clone(),
            folder_id: grant.safe_id.clone(),
            principal_type: grant.kind.code(),
            principal_id: grant.principal_id,
            user_id: (grant.kind == PrincipalKind::User).then_some(grant.principal_id),
            group_id: (grant.kind == PrincipalKind::Group).then_some(grant.principal_id),
            permission_flags: grant.flags.names(),
            expires_on: grant.expires_at.map(time::format_utc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(body: serde_json::Value) -> Result<GrantFields> {
        let value = edgesafe_api_common::request::lowercase_keys(body);
        edgesafe_api_common::request::from_json::<GrantIn>(value)?.validate(1_700_000_000)
    }

    fn status<T>(r: Result<T>) -> Option<u16> {
        r.err().map(|e| e.status().as_u16())
    }

    #[test]
    fn safe_fields_follow_the_seed_limits() {
        let ok = SafeIn {
            name: Some("  Team  ".into()),
            ..SafeIn::default()
        }
        .validate();
        assert_eq!(ok.as_ref().map(|f| f.name.as_str()).ok(), Some("Team"));
        let alias = SafeIn {
            name: Some("Team".into()),
            secretname: Some("about".into()),
            ..SafeIn::default()
        }
        .validate();
        assert_eq!(alias.ok().and_then(|f| f.description), Some("about".into()));
        let long = "x".repeat(NAME_MAX + 1);
        let ok = || Some("ok".to_owned());
        for (name, description, secretname) in [
            (None, None, None),
            (Some(String::new()), None, None),
            (Some(long.clone()), None, None),
            (Some("a/b".into()), None, None),
            (Some("a\u{7}".into()), None, None),
            (ok(), Some(long.clone()), None),
            (ok(), None, Some(long)),
            (ok(), Some("one".into()), Some("two".into())),
        ] {
            let safe = SafeIn {
                name,
                description,
                secretname,
            };
            assert_eq!(status(safe.validate()), Some(400));
        }
    }

    #[test]
    fn grants_parse_the_client_shapes() {
        let g = grant(serde_json::json!({"PrincipalType": 1, "PrincipalID": 4,
            "PermissionFlags": ["Read", "Create"], "ExpiresOn": "2030-01-01T00:00:00Z"}));
        let g = g.ok();
        assert_eq!(g.as_ref().map(|g| g.kind), Some(PrincipalKind::Group));
        assert_eq!(
            g.as_ref().and_then(|g| g.flags).map(Flags::names),
            Some(vec!["Read", "Create"])
        );
        assert_eq!(g.and_then(|g| g.expires_at), Some(1_893_456_000));
        let one = grant(serde_json::json!({"principaltype": 0, "principalid": 2,
            "permissionflags": "Read, Share"}));
        assert_eq!(
            one.ok().and_then(|g| g.flags).map(Flags::names),
            Some(vec!["Read", "Share"])
        );
        let absent = grant(serde_json::json!({"PrincipalType": 0, "PrincipalID": 2}));
        assert!(absent.ok().is_some_and(|g| g.flags.is_none()));
    }

    #[test]
    fn bad_grants_are_400() {
        for body in [
            serde_json::json!({"PrincipalID": 2}),
            serde_json::json!({"PrincipalType": 2, "PrincipalID": 2}),
            serde_json::json!({"PrincipalType": 0}),
            serde_json::json!({"PrincipalType": 0, "PrincipalID": 0}),
            serde_json::json!({"PrincipalType": 0, "PrincipalID": "x"}),
            serde_json::json!({"PrincipalType": 0, "PrincipalID": 2, "PermissionFlags": ["Create"]}),
            serde_json::json!({"PrincipalType": 0, "PrincipalID": 2, "ExpiresOn": "2001-01-01T00:00:00Z"}),
            serde_json::json!({"PrincipalType": 0, "PrincipalID": 2, "ExpiresOn": "soon"}),
        ] {
            assert_eq!(status(grant(body.clone())), Some(400), "{body}");
        }
    }

    #[test]
    fn grant_out_has_both_clients_fields() {
        let out = GrantOut::from(&Grant {
            id: "g".into(),
            safe_id: "s".into(),
            kind: PrincipalKind::Group,
            principal_id: 7,
            flags: Flags::ALL,
            expires_at: Some(0),
        });
        assert_eq!(
            serde_json::to_value(out).ok(),
            Some(
                serde_json::json!({"Id": "g", "FolderId": "s", "PrincipalType": 1,
                "PrincipalID": 7, "UserId": null, "GroupId": 7,
                "PermissionFlags": ["Read", "Create", "Edit", "Delete", "Manage", "Share"],
                "ExpiresOn": "1970-01-01T00:00:00Z"})
            )
        );
    }
}
