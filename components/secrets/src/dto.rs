//! Wire shapes of the secrets API, per API version, and the rules their fields follow.
//!
//! Responses use Password Safe's PascalCase names (clients read them case-sensitively);
//! requests are bound case-insensitively (`request::json_body` lowercases property
//! names, so the input structs declare them in lowercase). Error messages name the
//! field and the rule, never the value: any field might hold a secret.

use edgesafe_api_common::request::Query;
use edgesafe_api_common::validate::{self, length_rule, line, lines, required_line};
use edgesafe_api_common::{time, ApiError, Result};
use edgesafe_secrets_safe::ids;
use edgesafe_secrets_safe::paging::Page;
use serde::{Deserialize, Serialize};

use crate::store::{Kind, OwnerKind, OwnerRecord, SecretRecord, UrlRecord, VersionRecord};
use crate::totp;

// ---------------------------------------------------------------- versions

/// The `version` query parameter: which shape secret bodies take. Ordered: each
/// version keeps what the one before it added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiVersion {
    /// The default: `OwnerId`, `Owner`, `OwnerType`, `Owners:[{OwnerId, Owner, Email}]`.
    V30,
    /// `Owners:[{GroupId, UserId, Name, Email}]`, no top-level owner fields.
    V31,
    /// 3.1 plus `SecretValueModifiedOn`; secret lists wrapped in `{TotalCount, Data}`.
    V32,
    /// 3.2 plus TOTP: write-only `TotpEnabled`/`TotpSecretKey` on credentials, and
    /// `TotpEnabled`/`TotpParameters` on every secret read.
    V33,
}

impl ApiVersion {
    /// 3.0 when absent (BeyondTrust's documented default); anything but 3.0 to 3.3 is
    /// refused rather than guessed at, like the official library does.
    pub fn from_query(query: &Query) -> Result<Self> {
        match query.get("version").map(str::trim) {
            None | Some("") | Some("3.0") => Ok(ApiVersion::V30),
            Some("3.1") => Ok(ApiVersion::V31),
            Some("3.2") => Ok(ApiVersion::V32),
            Some("3.3") => Ok(ApiVersion::V33),
            Some(_) => Err(ApiError::bad_request(
                "version",
                "must be 3.0, 3.1, 3.2 or 3.3",
            )),
        }
    }
}

// ---------------------------------------------------------------- limits

pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 256;
pub const USERNAME_MAX: usize = 1000;
pub const PASSWORD_MAX: usize = 256;
pub const NOTES_MAX: usize = 4000;
pub const TEXT_MAX: usize = 4096;
pub const URL_MAX: usize = 2048;
pub const FILE_NAME_MAX: usize = 256;
/// 5 MB, as Password Safe counts it.
pub const FILE_MAX_BYTES: usize = 5 * 1024 * 1024;
/// Bounds on list fields, so that one request cannot write unbounded rows.
pub const URLS_MAX: usize = 100;
pub const OWNERS_MAX: usize = 100;

// ---------------------------------------------------------------- field rules

/// A secret value (password, text): kept exactly as sent, whitespace included, since
/// it is not ours to normalise; only NUL is refused.
fn value(field: &str, value: &str, max: usize) -> Result<()> {
    validate::length(field, value, 1, max)?;
    if value.contains('\0') {
        return Err(ApiError::bad_request(field, "must not contain NUL"));
    }
    Ok(())
}

// ---------------------------------------------------------------- requests

/// Owners as any client version sends them: 3.0 `{OwnerId, Owner, Email}`, 3.1
/// `{GroupId, UserId, Name, Email}`, or bt-cli's `{OwnerId, UserId|GroupId}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct OwnerIn {
    pub ownerid: Option<i64>,
    pub owner: Option<String>,
    pub userid: Option<i64>,
    pub groupid: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct UrlIn {
    pub id: Option<String>,
    pub credentialid: Option<String>,
    pub url: Option<String>,
}

/// The JSON body of every secret create and update (credential and text), and the
/// `secretmetadata` part of file uploads. Unknown properties are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct SecretIn {
    pub title: Option<String>,
    pub description: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub passwordruleid: Option<i64>,
    pub text: Option<String>,
    pub notes: Option<String>,
    pub folderid: Option<String>,
    pub filename: Option<String>,
    pub ownerid: Option<i64>,
    pub ownertype: Option<String>,
    pub owners: Option<Vec<OwnerIn>>,
    pub urls: Option<Vec<UrlIn>>,
    pub totpenabled: Option<bool>,
    pub totpsecretkey: Option<String>,
}

/// Who should own a secret, as asked; the handler checks that they exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: OwnerKind,
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
}

/// The owners part of a request. `primary` is the 3.0 `OwnerId`/`OwnerType` pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnersIn {
    pub primary: Option<OwnerRef>,
    pub list: Vec<OwnerRef>,
}

impl OwnersIn {
    pub fn is_empty(&self) -> bool {
        self.primary.is_none() && self.list.is_empty()
    }
}

/// A URL to keep: `id` is the client's (a GUID) or none for a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlField {
    pub id: Option<String>,
    pub url: String,
}

/// The fields every kind shares. `None` means "not sent": an update keeps the value.
#[derive(Debug, Default)]
pub struct CommonFields {
    pub title: String,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub folder_id: Option<String>,
    pub owners: Option<OwnersIn>,
    pub urls: Option<Vec<UrlField>>,
}

/// Where a credential's password comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordIn {
    Given(String),
    /// Generate one with this `password_rules` row.
    Rule(i64),
    /// Neither (allowed on no endpoint; kept apart so the message can say so).
    Missing,
}

#[derive(Debug)]
pub struct CredentialFields {
    pub common: CommonFields,
    pub username: String,
    pub password: PasswordIn,
    /// Stored with the secret; set whenever the client sent one.
    pub password_rule_id: Option<i64>,
}

#[derive(Debug)]
pub struct TextFields {
    pub common: CommonFields,
    /// `None` on an update that keeps the current text.
    pub text: Option<String>,
}

#[derive(Debug)]
pub struct FileFields {
    pub common: CommonFields,
    pub file_name: Option<String>,
}

fn owner_kind(value: Option<&str>) -> Result<Option<OwnerKind>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("user") => Ok(Some(OwnerKind::User)),
        Some(v) if v.eq_ignore_ascii_case("group") => Ok(Some(OwnerKind::Group)),
        Some(_) => Err(ApiError::bad_request("OwnerType", "must be User or Group")),
    }
}

fn positive(field: &str, value: Option<i64>) -> Result<Option<i64>> {
    match value {
        Some(v) if v <= 0 => Err(ApiError::bad_request(field, "must be a positive integer")),
        other => Ok(other),
    }
}

/// Reads the owner fields of every client version into one shape.
///
/// - An entry with `UserId` is that user (its `GroupId`, if any, kept beside it);
///   one with only `GroupId` is that group.
/// - A 3.0 entry has only `OwnerId`, which names a user, or a group when the top-level
///   `OwnerType` is `Group`.
/// - The top-level `OwnerId` names the primary owner, of `OwnerType` (User by default).
fn owners(
    owner_id: Option<i64>,
    owner_type: Option<String>,
    list: Option<Vec<OwnerIn>>,
) -> Result<Option<OwnersIn>> {
    let kind = owner_kind(owner_type.as_deref())?;
    let owner_id = positive("OwnerId", owner_id)?;
    if owner_id.is_none() && list.is_none() {
        if kind.is_some() {
            return Err(ApiError::bad_request(
                "OwnerId",
                "required when OwnerType is given",
            ));
        }
        return Ok(None);
    }
    let entry_kind = kind.unwrap_or(OwnerKind::User);
    let primary = owner_id.map(|id| owner_ref(entry_kind, id));
    let list = list.unwrap_or_default();
    if list.len() > OWNERS_MAX {
        return Err(ApiError::bad_request(
            "Owners",
            &format!("at most {OWNERS_MAX} entries"),
        ));
    }
    let mut refs: Vec<OwnerRef> = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let field = |name: &str| format!("Owners[{i}].{name}");
        let user_id = positive(&field("UserId"), item.userid)?;
        let group_id = positive(&field("GroupId"), item.groupid)?;
        let legacy = positive(&field("OwnerId"), item.ownerid)?;
        let owner = match (user_id, group_id, legacy) {
            (Some(user), group, _) => OwnerRef {
                kind: OwnerKind::User,
                user_id: Some(user),
                group_id: group,
            },
            (None, Some(group), _) => owner_ref(OwnerKind::Group, group),
            (None, None, Some(id)) => owner_ref(entry_kind, id),
            (None, None, None) => {
                return Err(ApiError::bad_request(
                    &field("UserId"),
                    "required: UserId, GroupId or OwnerId",
                ))
            }
        };
        if !refs.contains(&owner) {
            refs.push(owner);
        }
    }
    Ok(Some(OwnersIn {
        primary,
        list: refs,
    }))
}

fn owner_ref(kind: OwnerKind, id: i64) -> OwnerRef {
    match kind {
        OwnerKind::User => OwnerRef {
            kind,
            user_id: Some(id),
            group_id: None,
        },
        OwnerKind::Group => OwnerRef {
            kind,
            user_id: None,
            group_id: Some(id),
        },
    }
}

fn urls(list: Option<Vec<UrlIn>>) -> Result<Option<Vec<UrlField>>> {
    let Some(list) = list else { return Ok(None) };
    if list.len() > URLS_MAX {
        return Err(ApiError::bad_request(
            "Urls",
            &format!("at most {URLS_MAX} entries"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let field = |name: &str| format!("Urls[{i}].{name}");
        let url = required_line(&field("Url"), item.url, URL_MAX)?;
        let id = match item.id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(ids::body_id(&field("Id"), raw)?),
        };
        // The URL belongs to the secret it is sent with; a CredentialId is checked
        // for form only and the answer always names the secret.
        if let Some(raw) = item.credentialid.as_deref().map(str::trim) {
            if !raw.is_empty() {
                ids::body_id(&field("CredentialId"), raw)?;
            }
        }
        out.push(UrlField { id, url });
    }
    Ok(Some(out))
}

fn folder_id(value: Option<String>) -> Result<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => ids::body_id("FolderId", raw).map(Some),
    }
}

impl SecretIn {
    fn common(&mut self) -> Result<CommonFields> {
        Ok(CommonFields {
            title: required_line("Title", self.title.take(), TITLE_MAX)?,
            description: line("Description", self.description.take(), 0, DESCRIPTION_MAX)?,
            notes: lines("Notes", self.notes.take(), NOTES_MAX)?,
            folder_id: folder_id(self.folderid.take())?,
            owners: owners(self.ownerid, self.ownertype.take(), self.owners.take())?,
            urls: urls(self.urls.take())?,
        })
    }

    /// A credential, new or updated: Title and Username required; a Password of 1 to
    /// 256 characters, or a PasswordRuleID to generate one.
    pub fn credential(mut self) -> Result<CredentialFields> {
        let common = self.common()?;
        let username = required_line("Username", self.username.take(), USERNAME_MAX)?;
        let password_rule_id = positive("PasswordRuleID", self.passwordruleid)?;
        // An empty Password counts as absent, so that a client that always sends the
        // property can still ask for a generated one.
        let password = match (
            self.password.take().filter(|p| !p.is_empty()),
            password_rule_id,
        ) {
            (Some(password), _) => {
                value("Password", &password, PASSWORD_MAX)?;
                PasswordIn::Given(password)
            }
            (None, Some(rule)) => PasswordIn::Rule(rule),
            (None, None) => PasswordIn::Missing,
        };
        if password == PasswordIn::Missing {
            return Err(ApiError::bad_request(
                "Password",
                "required, 1 to 256 characters, unless PasswordRuleID is given",
            ));
        }
        Ok(CredentialFields {
            common,
            username,
            password,
            password_rule_id,
        })
    }

    /// A text secret. `text_required` on create; an update without Text keeps it.
    pub fn text(mut self, text_required: bool) -> Result<TextFields> {
        self.no_totp()?;
        let common = self.common()?;
        let text = match self.text.take() {
            Some(text) => {
                value("Text", &text, TEXT_MAX)?;
                Some(text)
            }
            None if text_required => {
                return Err(ApiError::bad_request("Text", &length_rule(1, TEXT_MAX)));
            }
            None => None,
        };
        Ok(TextFields { common, text })
    }

    /// A file secret's metadata. The file name may also come from the file part, so
    /// whether it is there at all is the handler's call.
    pub fn file(mut self) -> Result<FileFields> {
        self.no_totp()?;
        let common = self.common()?;
        let file_name = file_name("FileName", self.filename.take())?;
        Ok(FileFields { common, file_name })
    }
}

/// What a credential write asks of its TOTP (3.3).
#[derive(Debug, PartialEq, Eq)]
pub enum TotpIn {
    /// Neither field sent: an update keeps TOTP as it is, a create has none.
    Keep,
    Off,
    /// On, with this seed (new or replacing the one there).
    Set(totp::Totp),
}

impl SecretIn {
    /// The TOTP fields of a credential create or update, taken out of the body. They
    /// exist in 3.3 only; `TotpEnabled` true needs `TotpSecretKey`, and the key comes
    /// only with `TotpEnabled` true (the rules the official client checks too).
    pub fn totp(&mut self, version: ApiVersion) -> Result<TotpIn> {
        let enabled = self.totpenabled.take();
        let key = self.totpsecretkey.take();
        if enabled.is_none() && key.is_none() {
            return Ok(TotpIn::Keep);
        }
        if version < ApiVersion::V33 {
            return Err(ApiError::bad_request(
                "TotpEnabled",
                "TOTP needs API version 3.3 (?version=3.3)",
            ));
        }
        match (enabled, key) {
            (Some(true), Some(key)) => Ok(TotpIn::Set(totp::parse_key(&key)?)),
            (Some(true), None) => Err(ApiError::bad_request(
                totp::FIELD,
                "required when TotpEnabled is true",
            )),
            (Some(false), None) => Ok(TotpIn::Off),
            _ => Err(ApiError::bad_request(
                totp::FIELD,
                "allowed only with TotpEnabled true",
            )),
        }
    }

    /// Text and file secrets have no TOTP: the fields are refused, not ignored, so
    /// that a seed is never silently dropped.
    fn no_totp(&self) -> Result<()> {
        if self.totpenabled.is_some() || self.totpsecretkey.is_some() {
            return Err(ApiError::bad_request(
                "TotpEnabled",
                "only credential secrets have TOTP",
            ));
        }
        Ok(())
    }
}

/// A file name: 1 to 256 characters, no control characters, no path separators (it
/// ends up in a Content-Disposition header and on someone's disk).
pub fn file_name(field: &str, value: Option<String>) -> Result<Option<String>> {
    let Some(name) = line(field, value, 0, FILE_NAME_MAX)? else {
        return Ok(None);
    };
    if name.is_empty() {
        return Ok(None);
    }
    if name.contains(['/', '\\']) {
        return Err(ApiError::bad_request(field, "a file name, without / or \\"));
    }
    Ok(Some(name))
}

/// `PUT secrets-safe/secrets/move`; the library sends these names in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct MoveIn {
    pub secretids: Option<Vec<String>>,
    pub shareids: Option<Vec<String>>,
    pub destinationfolderid: Option<String>,
    pub duplicatenameaction: Option<String>,
}

/// What to do when a moved secret's title is taken in the destination folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateNameAction {
    /// Move it under a free title: `Title (1)`, `Title (2)`, ...
    Rename,
    /// Move nothing at all.
    Stop,
    /// Leave that secret where it is and move the others.
    Skip,
}

pub struct MoveFields {
    pub secret_ids: Vec<String>,
    pub share_ids: Vec<String>,
    pub destination: String,
    pub on_duplicate: DuplicateNameAction,
}

/// Ids per move request, so that one request cannot lock the store for long.
pub const MOVE_IDS_MAX: usize = 1000;

impl MoveIn {
    pub fn validate(self) -> Result<MoveFields> {
        let list = |field: &str, list: Option<Vec<String>>| -> Result<Vec<String>> {
            let list = list.unwrap_or_default();
            if list.len() > MOVE_IDS_MAX {
                return Err(ApiError::bad_request(
                    field,
                    &format!("at most {MOVE_IDS_MAX} ids"),
                ));
            }
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for (i, raw) in list.iter().enumerate() {
                let id = ids::body_id(&format!("{field}[{i}]"), raw)?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
            Ok(out)
        };
        let secret_ids = list("SecretIds", self.secretids)?;
        let share_ids = list("ShareIds", self.shareids)?;
        if secret_ids.is_empty() && share_ids.is_empty() {
            return Err(ApiError::bad_request(
                "SecretIds",
                "required: at least one secret or share id",
            ));
        }
        let destination = match self.destinationfolderid.as_deref() {
            Some(raw) => ids::body_id("DestinationFolderId", raw)?,
            None => {
                return Err(ApiError::bad_request(
                    "DestinationFolderId",
                    "required, a GUID",
                ))
            }
        };
        let on_duplicate = match self.duplicatenameaction.as_deref().map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("rename") => DuplicateNameAction::Rename,
            Some(v) if v.eq_ignore_ascii_case("stop") => DuplicateNameAction::Stop,
            Some(v) if v.eq_ignore_ascii_case("skip") => DuplicateNameAction::Skip,
            _ => {
                return Err(ApiError::bad_request(
                    "DuplicateNameAction",
                    "required: Rename, Stop or Skip",
                ))
            }
        };
        Ok(MoveFields {
            secret_ids,
            share_ids,
            destination,
            on_duplicate,
        })
    }
}

/// The list query of `GET secrets-safe/secrets`.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// The folder path (or full path to one secret), already split on the separator.
    pub path: Option<Vec<String>>,
    pub title: Option<String>,
    pub after: Option<i64>,
    pub page: Page,
    pub folder_id: Option<String>,
    pub favorites_only: bool,
    /// `decrypt=false`: answer without values (and without reading any).
    pub with_values: bool,
}

impl ListQuery {
    pub fn from_query(query: &Query) -> Result<Self> {
        let separator = match query.get("separator") {
            None | Some("") => "/".to_owned(),
            Some(s) if s.trim().chars().count() == 1 => s.trim().to_owned(),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "separator",
                    "must be one character other than a space",
                ))
            }
        };
        let path = match query.get("path").map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                if raw.chars().count() > 1798 {
                    return Err(ApiError::bad_request("path", "at most 1798 characters"));
                }
                let segments: Vec<String> = raw
                    .split(separator.as_str())
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                (!segments.is_empty()).then_some(segments)
            }
        };
        let title = match query.get("title").map(str::trim) {
            None | Some("") => None,
            Some(t) if t.chars().count() > TITLE_MAX => {
                return Err(ApiError::bad_request("title", "at most 256 characters"))
            }
            Some(t) => Some(t.to_owned()),
        };
        let after = match query.get("afterdate").map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(time::parse_utc(raw).ok_or_else(|| {
                ApiError::bad_request("afterdate", "must be a UTC date, yyyy-MM-ddTHH:mm:ssZ")
            })?),
        };
        let folder_id = match query.get("folderid").map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(ids::body_id("folderId", raw)?),
        };
        Ok(ListQuery {
            path,
            title,
            after,
            page: Page::from_query(query)?,
            folder_id,
            favorites_only: query.bool("favorite")?.unwrap_or(false),
            with_values: query.bool("decrypt")?.unwrap_or(true),
        })
    }
}

// ---------------------------------------------------------------- responses

/// A secret's value as a response carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOut {
    /// Not part of this response: a file, or `decrypt=false`.
    Withheld,
    Password(String),
    Text(String),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UrlOut {
    pub id: String,
    pub credential_id: String,
    pub url: String,
}

/// 3.0's owner entry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnerV30Out {
    pub owner_id: Option<i64>,
    pub owner: String,
    pub email: String,
}

/// 3.1's (and 3.2's) owner entry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OwnerV31Out {
    pub group_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OwnersOut {
    V30(Vec<OwnerV30Out>),
    V31(Vec<OwnerV31Out>),
}

/// 3.0's top-level owner fields (deprecated by Password Safe 24.3, still read).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrimaryOwnerOut {
    pub owner_id: Option<i64>,
    pub owner: Option<String>,
    pub owner_type: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ValueModifiedOut {
    pub secret_value_modified_on: String,
}

/// A key the reference shows, from 3.1 on, only in the answer to creating a secret of
/// one kind: `GroupId` (the owning group of a credential), `Owner` (the primary
/// owner's name, text) and `OwnerType` (file). 3.0 answers carry all three owner keys
/// anyway (`PrimaryOwnerOut`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum CreatedOut {
    Credential {
        #[serde(rename = "GroupId")]
        group_id: Option<i64>,
    },
    Text {
        #[serde(rename = "Owner")]
        owner: Option<String>,
    },
    File {
        #[serde(rename = "OwnerType")]
        owner_type: &'static str,
    },
}

impl CreatedOut {
    pub fn new(version: ApiVersion, record: &SecretRecord) -> Option<Self> {
        if version == ApiVersion::V30 {
            return None;
        }
        Some(match record.kind {
            Kind::Credential => CreatedOut::Credential {
                group_id: (record.owner_type == OwnerKind::Group)
                    .then_some(record.owner_id)
                    .flatten(),
            },
            Kind::Text => CreatedOut::Text {
                owner: record.owner_name.clone(),
            },
            Kind::File => CreatedOut::File {
                owner_type: owner_type_name(record.owner_type),
            },
        })
    }
}

/// A secret, in every endpoint's answer. Every key is always present (null when it
/// does not apply), so that clients indexing a dict never miss one; the version only
/// decides the owner fields and `SecretValueModifiedOn`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretOut {
    pub id: String,
    pub title: String,
    pub description: String,
    pub username: String,
    /// The value of a credential or text secret (text too: clients read it here).
    pub password: Option<String>,
    pub text: Option<String>,
    pub secret_type: &'static str,
    pub folder_id: String,
    pub folder: String,
    pub folder_path: String,
    pub created_on: String,
    pub created_by: String,
    pub modified_on: String,
    pub modified_by: String,
    #[serde(flatten)]
    pub primary_owner: Option<PrimaryOwnerOut>,
    pub owners: OwnersOut,
    pub notes: String,
    pub urls: Vec<UrlOut>,
    pub file_name: Option<String>,
    pub file_hash: Option<String>,
    pub is_favorite: bool,
    #[serde(flatten)]
    pub value_modified: Option<ValueModifiedOut>,
    /// Only in the answer to a create.
    #[serde(flatten)]
    pub created: Option<CreatedOut>,
    #[serde(flatten)]
    pub totp: Option<TotpOut>,
}

/// 3.3's read-only TOTP state, on every secret (off for text and file secrets). The
/// seed is never part of an answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TotpOut {
    pub totp_enabled: bool,
    pub totp_parameters: Option<TotpParametersOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TotpParametersOut {
    pub algorithm: &'static str,
    pub digits: u32,
    pub period: u32,
}

impl TotpOut {
    fn of(record: &SecretRecord) -> Self {
        TotpOut {
            totp_enabled: record.totp.is_some(),
            totp_parameters: record.totp.as_ref().map(|t| TotpParametersOut {
                algorithm: t.parameters.algorithm.name(),
                digits: t.parameters.digits,
                period: t.parameters.period,
            }),
        }
    }
}

/// `GET secrets-safe/secrets/{id}/totp/code`: `ValidToUtc` is exclusive.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TotpCodeOut {
    pub code: String,
    pub valid_from_utc: String,
    pub valid_to_utc: String,
}

impl From<totp::Code> for TotpCodeOut {
    fn from(code: totp::Code) -> Self {
        TotpCodeOut {
            code: code.code,
            valid_from_utc: time::format_utc(code.valid_from),
            valid_to_utc: time::format_utc(code.valid_to),
        }
    }
}

/// What a secret's answer is made of, besides its row.
pub struct SecretParts<'a> {
    pub record: &'a SecretRecord,
    pub folder_path: &'a str,
    pub owners: &'a [OwnerRecord],
    pub urls: &'a [UrlRecord],
    pub is_favorite: bool,
    pub value: ValueOut,
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Credential => "Credential",
        Kind::Text => "Text",
        Kind::File => "File",
    }
}

fn owner_type_name(kind: OwnerKind) -> &'static str {
    match kind {
        OwnerKind::User => "User",
        OwnerKind::Group => "Group",
    }
}

impl SecretOut {
    pub fn new(version: ApiVersion, parts: SecretParts<'_>) -> Self {
        let r = parts.record;
        let (password, text) = match parts.value {
            ValueOut::Withheld => (None, None),
            ValueOut::Password(p) => (Some(p), None),
            ValueOut::Text(t) => (Some(t.clone()), Some(t)),
        };
        let owners = match version {
            ApiVersion::V30 => OwnersOut::V30(
                parts
                    .owners
                    .iter()
                    .map(|o| OwnerV30Out {
                        owner_id: o.user_id.or(o.group_id),
                        owner: o.name.clone(),
                        email: o.email.clone(),
                    })
                    .collect(),
            ),
            ApiVersion::V31 | ApiVersion::V32 | ApiVersion::V33 => OwnersOut::V31(
                parts
                    .owners
                    .iter()
                    .map(|o| OwnerV31Out {
                        group_id: o.group_id,
                        user_id: o.user_id,
                        name: o.name.clone(),
                        email: o.email.clone(),
                    })
                    .collect(),
            ),
        };
        SecretOut {
            id: r.id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            username: r.username.clone(),
            password,
            text,
            secret_type: kind_name(r.kind),
            folder_id: r.folder_id.clone(),
            folder: r.folder_name.clone(),
            folder_path: parts.folder_path.to_owned(),
            created_on: time::format_utc(r.created_at),
            created_by: r.created_by_name.clone().unwrap_or_default(),
            modified_on: time::format_utc(r.modified_at),
            modified_by: r.modified_by_name.clone().unwrap_or_default(),
            primary_owner: (version == ApiVersion::V30).then(|| PrimaryOwnerOut {
                owner_id: r.owner_id,
                owner: r.owner_name.clone(),
                owner_type: owner_type_name(r.owner_type),
            }),
            owners,
            notes: r.notes.clone(),
            urls: parts
                .urls
                .iter()
                .map(|u| UrlOut {
                    id: u.id.clone(),
                    credential_id: r.id.clone(),
                    url: u.url.clone(),
                })
                .collect(),
            file_name: r.file_name.clone(),
            file_hash: r.file_hash.clone(),
            is_favorite: parts.is_favorite,
            value_modified: (version >= ApiVersion::V32).then(|| ValueModifiedOut {
                secret_value_modified_on: time::format_utc(r.value_modified_at),
            }),
            created: None,
            totp: (version >= ApiVersion::V33).then(|| TotpOut::of(r)),
        }
    }
}

/// A 3.2 secret list: `{"TotalCount": n, "Data": [...]}`, `TotalCount` counting every
/// match before `limit` and `offset`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretPageOut {
    pub total_count: usize,
    pub data: Vec<SecretOut>,
}

/// `GET secrets-safe/secrets/{id}/versions`: a secret's value history, newest first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionHistoryOut {
    pub credential_id: String,
    pub secret_type: &'static str,
    pub versions: Vec<VersionOut>,
    /// How many times the value has changed (versions after the first).
    pub change_frequency: usize,
}

/// One version; `Id` is what the version routes and the rollback take.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionOut {
    pub id: String,
    pub version_number: i64,
    pub is_active: bool,
    pub created_on: String,
    pub created_by: String,
    /// A file secret's file name with this content; null for the other kinds.
    pub file_name: Option<String>,
    /// Values are sealed with the vault's keyring, not in an HSM.
    #[serde(rename = "IsHSMEncrypted")]
    pub is_hsm_encrypted: bool,
}

impl VersionHistoryOut {
    pub fn new(record: &SecretRecord, versions: &[VersionRecord]) -> Self {
        VersionHistoryOut {
            credential_id: record.id.clone(),
            secret_type: kind_name(record.kind),
            versions: versions
                .iter()
                .map(|v| VersionOut {
                    id: v.history_id.clone(),
                    version_number: v.version,
                    is_active: v.version == record.current_version,
                    created_on: time::format_utc(v.created_at),
                    created_by: v.created_by_name.clone().unwrap_or_default(),
                    file_name: (record.kind == Kind::File)
                        .then(|| v.file_name.clone())
                        .flatten(),
                    is_hsm_encrypted: false,
                })
                .collect(),
            change_frequency: versions.len().saturating_sub(1),
        }
    }
}

/// A share: the secret linked into a folder. `FolderID` as the reference spells it (no
/// client reads the key; the library hands the object on as it comes).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShareOut {
    pub secret_id: String,
    #[serde(rename = "FolderID")]
    pub folder_id: String,
    pub folder_path: String,
    pub secret_name: String,
}

/// The answer of `PUT secrets-safe/secrets/move`; every list holds ids.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveOut {
    pub errors: Vec<String>,
    pub destination_folder_id: String,
    pub secrets_count: usize,
    pub shares_count: usize,
    pub secrets_moved_count: usize,
    pub shares_moved_count: usize,
    pub secrets_renamed: Vec<String>,
    pub secrets_skipped: Vec<String>,
    pub secrets_failed_validation: Vec<String>,
    pub secrets_not_found: Vec<String>,
    pub shares_failed_validation: Vec<String>,
    pub shares_not_found: Vec<String>,
    pub shares_not_moved_to_different_safe: Vec<String>,
    pub shares_removed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> SecretIn {
        let value = edgesafe_api_common::request::lowercase_keys(json);
        edgesafe_api_common::request::from_json(value).unwrap_or_default()
    }

    fn status<T: std::fmt::Debug>(r: Result<T>) -> Option<u16> {
        r.err().map(|e| e.status().as_u16())
    }

    #[test]
    fn versions() {
        let v = |q: &str| ApiVersion::from_query(&Query::parse(q.as_bytes()));
        assert_eq!(v(""), Ok(ApiVersion::V30));
        assert_eq!(v("version=3.0"), Ok(ApiVersion::V30));
        assert_eq!(v("Version=3.1"), Ok(ApiVersion::V31));
        assert_eq!(v("version=3.2"), Ok(ApiVersion::V32));
        assert_eq!(v("version=3.3"), Ok(ApiVersion::V33));
        assert_eq!(status(v("version=3.4")), Some(400));
        assert_eq!(status(v("version=3")), Some(400));
    }

    #[test]
    fn credential_rules() {
        let ok = body(serde_json::json!({"Title": " t ", "Username": "u", "Password": " p "}))
            .credential();
        let ok = ok.map(|c| (c.common.title, c.password));
        assert_eq!(
            ok.ok(),
            Some(("t".to_owned(), PasswordIn::Given(" p ".to_owned())))
        );
        let rule = body(serde_json::json!({"Title": "t", "Username": "u", "PasswordRuleID": 4}))
            .credential();
        assert_eq!(rule.map(|c| c.password).ok(), Some(PasswordIn::Rule(4)));
        let neither = body(serde_json::json!({"Title": "t", "Username": "u"})).credential();
        assert_eq!(status(neither), Some(400));
        let no_user = body(serde_json::json!({"Title": "t", "Password": "p"})).credential();
        assert_eq!(status(no_user), Some(400));
        let long = "x".repeat(257);
        let too_long =
            body(serde_json::json!({"Title": "t", "Username": "u", "Password": long})).credential();
        let e = too_long
            .err()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(e.starts_with("Password:"), "{e}");
        assert!(!e.contains("xxx"), "the value is never echoed");
    }

    #[test]
    fn owners_of_every_version() {
        let o = |json: serde_json::Value| {
            let b = body(json);
            owners(b.ownerid, b.ownertype, b.owners)
        };
        let v30 = o(serde_json::json!({"OwnerId": 3, "OwnerType": "Group",
            "Owners": [{"OwnerId": 3, "Owner": "g"}]}));
        assert_eq!(
            v30.ok().flatten().map(|o| (o.primary, o.list)),
            Some((
                Some(owner_ref(OwnerKind::Group, 3)),
                vec![owner_ref(OwnerKind::Group, 3)]
            ))
        );
        let v31 = o(serde_json::json!({"Owners": [{"UserId": 2, "GroupId": 5}, {"GroupId": 6}]}));
        assert_eq!(
            v31.ok().flatten().map(|o| o.list),
            Some(vec![
                OwnerRef {
                    kind: OwnerKind::User,
                    user_id: Some(2),
                    group_id: Some(5)
                },
                owner_ref(OwnerKind::Group, 6)
            ])
        );
        assert_eq!(o(serde_json::json!({})).ok(), Some(None));
        assert_eq!(
            status(o(serde_json::json!({"OwnerType": "Robot", "OwnerId": 1}))),
            Some(400)
        );
        assert_eq!(
            status(o(serde_json::json!({"Owners": [{"Name": "x"}]}))),
            Some(400)
        );
        assert_eq!(
            status(o(serde_json::json!({"Owners": [{"UserId": 0}]}))),
            Some(400)
        );
    }

    #[test]
    fn list_query() {
        let q = |s: &str| ListQuery::from_query(&Query::parse(s.as_bytes()));
        let d = q("").unwrap_or_default();
        assert_eq!((d.page, d.with_values), (Page::default(), true));
        let p = q("path=a%7Cb&separator=%7C&title=t&decrypt=False").unwrap_or_default();
        assert_eq!(p.path, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(!p.with_values);
        assert_eq!(status(q("limit=0")), Some(400));
        assert_eq!(status(q("limit=1001")), Some(400));
        assert_eq!(status(q("offset=-1")), Some(400));
        assert_eq!(status(q("afterdate=yesterday")), Some(400));
        assert_eq!(status(q("folderId=nope")), Some(400));
        assert_eq!(status(q("separator=ab")), Some(400));
    }

    #[test]
    fn totp_fields() {
        let t = |json: serde_json::Value, version| body(json).totp(version);
        let key = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(t(serde_json::json!({}), ApiVersion::V33), Ok(TotpIn::Keep));
        assert!(matches!(
            t(
                serde_json::json!({"TotpEnabled": true, "TotpSecretKey": key}),
                ApiVersion::V33
            ),
            Ok(TotpIn::Set(_))
        ));
        assert_eq!(
            t(serde_json::json!({"totpenabled": false}), ApiVersion::V33),
            Ok(TotpIn::Off)
        );
        let refused = [
            (
                serde_json::json!({"TotpEnabled": true, "TotpSecretKey": key}),
                ApiVersion::V32,
            ),
            (serde_json::json!({"TotpEnabled": true}), ApiVersion::V33),
            (serde_json::json!({"TotpSecretKey": key}), ApiVersion::V33),
            (
                serde_json::json!({"TotpEnabled": false, "TotpSecretKey": key}),
                ApiVersion::V33,
            ),
            (
                serde_json::json!({"TotpEnabled": true, "TotpSecretKey": "??"}),
                ApiVersion::V33,
            ),
        ];
        for (json, version) in refused {
            assert_eq!(status(t(json.clone(), version)), Some(400), "{json}");
        }
        let text = body(serde_json::json!({"Title": "t", "Text": "x", "TotpEnabled": false}));
        assert_eq!(status(text.text(true)), Some(400));
    }

    #[test]
    fn file_names() {
        assert_eq!(
            file_name("FileName", Some("a.txt".into())),
            Ok(Some("a.txt".to_owned()))
        );
        assert_eq!(
            status(file_name("FileName", Some("../a".into()))),
            Some(400)
        );
        assert_eq!(
            status(file_name("FileName", Some("x".repeat(257)))),
            Some(400)
        );
        assert_eq!(file_name("FileName", Some(" ".into())), Ok(None));
    }
}
