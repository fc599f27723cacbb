//! Wire shapes of the folders API and the rules their fields follow.
//!
//! Responses use Password Safe's PascalCase names (clients read them case-sensitively);
//! requests are bound case-insensitively (`request::json_body` lowercases property
//! names, so the input structs declare them in lowercase). Error messages name the
//! field and the rule, never the value.

use edgesafe_api_common::request::Query;
use edgesafe_api_common::validate;
use edgesafe_api_common::{time, ApiError, Result};
use edgesafe_secrets_safe::ids;
use edgesafe_secrets_safe::paging::Page;
use serde::{Deserialize, Serialize};

use crate::store::FolderView;

/// Folder and safe names: 1 to 256 characters (Password Safe's MaxFolderNameLength).
pub const NAME_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 256;
/// A folder path has at most 7 names, the safe's included: Password Safe's
/// MaxFolderDepth is 6 below the safe, and the clients refuse deeper paths.
pub const MAX_DEPTH: i64 = 7;

// ---------------------------------------------------------------- field rules

/// A folder name: trimmed, 1 to 256 characters, no `/` (the path separator clients
/// split on) and no control characters.
pub fn folder_name(field: &str, value: &str) -> Result<String> {
    let name = value.trim();
    validate::length(field, name, 1, NAME_MAX)?;
    if name.contains('/') {
        return Err(ApiError::bad_request(
            field,
            "must not contain '/', the folder path separator",
        ));
    }
    validate::no_control(field, name)?;
    Ok(name.to_owned())
}

/// A description: trimmed, at most 256 characters; line breaks and tabs are allowed,
/// other control characters are not.
fn description(value: &str) -> Result<String> {
    let text = value.trim();
    validate::length("Description", text, 0, DESCRIPTION_MAX)?;
    validate::no_control_but_line_breaks("Description", text)?;
    Ok(text.to_owned())
}

// ---------------------------------------------------------------- create and update

/// `POST folders` and `PUT folders/{id}`: `{Name, Description, ParentId, UserGroupId}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct FolderIn {
    pub name: Option<String>,
    pub description: Option<String>,
    pub parentid: Option<String>,
    /// Deprecated in Password Safe 24.3; kept when it names a group the caller may
    /// name (see `edgesafe_secrets_safe::access`).
    pub usergroupid: Option<i64>,
}

/// A validated new folder.
pub struct NewFolder {
    pub name: String,
    pub description: String,
    pub parent_id: String,
    pub user_group_id: Option<i64>,
}

/// A validated update: `None` keeps the current value (bt-cli sends only the fields
/// it changes, e.g. `{Name}`).
pub struct FolderUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub parent_id: Option<String>,
    pub user_group: GroupChange,
}

/// What an update does to `UserGroupId`. The library sends `null` on every update,
/// so `null` (like leaving it out) keeps the group, and `0` clears it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupChange {
    Keep,
    Clear,
    Set(i64),
}

impl FolderIn {
    pub fn validate_new(self) -> Result<NewFolder> {
        let name = folder_name("Name", self.name.as_deref().unwrap_or_default())?;
        let description = description(self.description.as_deref().unwrap_or_default())?;
        let parent_id = match self.parentid.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => ids::body_id("ParentId", id)?,
            _ => {
                return Err(ApiError::bad_request(
                    "ParentId",
                    "required, the GUID of a safe or folder",
                ))
            }
        };
        Ok(NewFolder {
            name,
            description,
            parent_id,
            user_group_id: self.usergroupid.filter(|id| *id > 0),
        })
    }

    pub fn validate_update(self) -> Result<FolderUpdate> {
        Ok(FolderUpdate {
            name: self
                .name
                .as_deref()
                .map(|n| folder_name("Name", n))
                .transpose()?,
            description: self.description.as_deref().map(description).transpose()?,
            parent_id: match self.parentid.as_deref().map(str::trim) {
                Some(id) if !id.is_empty() => Some(ids::body_id("ParentId", id)?),
                _ => None,
            },
            user_group: match self.usergroupid {
                None => GroupChange::Keep,
                Some(id) if id <= 0 => GroupChange::Clear,
                Some(id) => GroupChange::Set(id),
            },
        })
    }
}

// ---------------------------------------------------------------- move

/// What to do when the destination already has a folder of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateNameAction {
    /// Move under a free name: `Name (1)`, `Name (2)`, ...
    Rename,
    /// Refuse the move (409).
    Stop,
    /// Leave the folder where it is and answer with it unchanged.
    Skip,
}

/// `PUT folders/{id}/move`: `{DestinationFolderId, DuplicateNameAction}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct MoveIn {
    pub destinationfolderid: Option<String>,
    pub duplicatenameaction: Option<String>,
}

pub struct FolderMove {
    pub destination_id: String,
    pub on_duplicate: DuplicateNameAction,
}

impl MoveIn {
    pub fn validate(self) -> Result<FolderMove> {
        let destination_id = match self.destinationfolderid.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => ids::body_id("DestinationFolderId", id)?,
            _ => {
                return Err(ApiError::bad_request(
                    "DestinationFolderId",
                    "required, the GUID of a safe or folder",
                ))
            }
        };
        // ps-cli offers the actions in lower case, the library in Pascal case. Without
        // one, nothing is renamed or skipped behind the caller's back.
        let on_duplicate = match self
            .duplicatenameaction
            .as_deref()
            .map(|a| a.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("stop") => DuplicateNameAction::Stop,
            Some("rename") => DuplicateNameAction::Rename,
            Some("skip") => DuplicateNameAction::Skip,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "DuplicateNameAction",
                    "must be Rename, Stop or Skip",
                ))
            }
        };
        Ok(FolderMove {
            destination_id,
            on_duplicate,
        })
    }
}

// ---------------------------------------------------------------- list filters

/// The filters of `GET folders`, from query parameters named in any case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFilter {
    /// Lower-cased; matches any part of a folder's name.
    pub name: Option<String>,
    /// The `/`-separated path, split into lower-cased names.
    pub path: Option<Vec<String>>,
    pub include_subfolders: bool,
    pub root_only: bool,
    pub owner_id: Option<i64>,
    pub page: Page,
}

fn text_param(query: &Query, name: &str) -> Option<String> {
    query
        .get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn integer_param(query: &Query, name: &str, min: i64, rule: &str) -> Result<Option<i64>> {
    match text_param(query, name) {
        None => Ok(None),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if n >= min => Ok(Some(n)),
            _ => Err(ApiError::bad_request(name, rule)),
        },
    }
}

/// Splits a folder path on `/`, ignoring leading, trailing and doubled separators.
pub fn path_names(path: &str) -> Vec<String> {
    path.split('/')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl ListFilter {
    pub fn from_query(query: &Query) -> Result<Self> {
        let path = text_param(query, "FolderPath")
            .map(|p| path_names(&p))
            .filter(|names| !names.is_empty());
        let owner_id = integer_param(
            query,
            "FolderOwnerId",
            i64::MIN,
            "must be the id of a user, an integer",
        )?;
        Ok(ListFilter {
            name: text_param(query, "FolderName").map(|n| n.to_lowercase()),
            path,
            include_subfolders: query.bool("IncludeSubfolders")?.unwrap_or(true),
            root_only: query.bool("RootOnly")?.unwrap_or(false),
            owner_id,
            page: Page::from_query(query)?,
        })
    }
}

// ---------------------------------------------------------------- responses

/// A folder (or a safe, which is a folder without a parent) as the clients read it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FolderOut {
    pub id: String,
    pub name: String,
    pub description: String,
    pub parent_id: Option<String>,
    pub user_group_id: Option<i64>,
    pub folder_owner_id: Option<i64>,
    /// For the caller.
    pub is_favorite: bool,
    /// `Safe/Folder/Sub`, no leading slash; bt-cli matches folders on it.
    pub folder_path: String,
    pub created_on: String,
    /// User names (strings, as in the seed's secrets); empty when unknown.
    pub created_by: String,
    pub modified_on: String,
    pub modified_by: String,
}

impl FolderOut {
    pub fn new(view: &FolderView, path: String) -> Self {
        let f = &view.folder;
        FolderOut {
            id: f.id.to_string(),
            name: f.name.clone(),
            description: f.description.clone(),
            parent_id: f.parent_id.as_deref().map(str::to_owned),
            user_group_id: f.user_group_id,
            folder_owner_id: f.owner_user_id,
            is_favorite: view.is_favorite,
            folder_path: path,
            created_on: time::format_utc(f.created_at),
            created_by: view.created_by_name.clone().unwrap_or_default(),
            modified_on: time::format_utc(f.modified_at),
            modified_by: view.modified_by_name.clone().unwrap_or_default(),
        }
    }
}

/// `PUT folders/{id}/move`: the folder as it is now, plus the move summary ps-cli
/// shows (`FolderId, ParentId, OldParentId, FolderCount, SecretCount, ShareCount,
/// NewFolderName, OldFolderName`). The counts are what moved: zero when nothing did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveOut {
    #[serde(flatten)]
    pub folder: FolderOut,
    pub folder_id: String,
    pub old_parent_id: Option<String>,
    pub folder_count: i64,
    pub secret_count: i64,
    pub share_count: i64,
    pub new_folder_name: String,
    pub old_folder_name: String,
}

/// One CSV line that was not imported. `error` names the field and the rule (or
/// repeats the secrets component's message, which never holds a value either).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineError {
    #[serde(rename = "lineNumber")]
    pub line_number: u64,
    pub error: String,
}

/// What a CSV import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportResult {
    pub total: usize,
    pub imported: usize,
    pub errors: Vec<LineError>,
}

impl ImportResult {
    /// The seed's (and the library's) camelCase keys, and the same values under the
    /// PascalCase keys ps-cli reads (`TotalNumber`, `SuccessfulImport`, `Errors`):
    /// each client looks its own spelling up case-sensitively.
    pub fn to_wire(&self) -> serde_json::Value {
        serde_json::json!({
            "totalNumber": self.total,
            "errors": self.errors,
            "successfulImport": self.imported,
            "TotalNumber": self.total,
            "Errors": self.errors,
            "SuccessfulImport": self.imported,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(query: &str) -> Result<ListFilter> {
        ListFilter::from_query(&Query::parse(query.as_bytes()))
    }

    #[test]
    fn names_follow_the_rules() {
        assert_eq!(folder_name("Name", "  Apps ").ok().as_deref(), Some("Apps"));
        assert!(folder_name("Name", &"x".repeat(256)).is_ok());
        for bad in ["", "   ", "a/b", "tab\there", &"x".repeat(257)] {
            let e = folder_name("Name", bad)
                .err()
                .map(|e| e.message().to_owned());
            assert!(e.is_some_and(|m| m.starts_with("Name:")), "{bad:?}");
        }
        assert!(description("line one\nline two").is_ok());
        assert!(description("bell\u{7}").is_err());
    }

    #[test]
    fn list_filters_parse_in_any_case() {
        let f = filter(
            "folderName=Web&FOLDERPATH=/Safe//Apps/&includeSubfolders=False&RootOnly=True&folderownerid=4&limit=5&Offset=2",
        );
        assert_eq!(
            f.ok(),
            Some(ListFilter {
                name: Some("web".into()),
                path: Some(vec!["safe".into(), "apps".into()]),
                include_subfolders: false,
                root_only: true,
                owner_id: Some(4),
                page: Page {
                    limit: 5,
                    offset: 2
                },
            })
        );
        let f = filter("").ok();
        assert_eq!(f.as_ref().map(|f| f.page), Some(Page::default()));
        assert_eq!(f.map(|f| f.include_subfolders), Some(true));
        for bad in [
            "Limit=0",
            "limit=-3",
            "limit=ten",
            "limit=1001",
            "offset=-1",
            "rootOnly=perhaps",
        ] {
            assert!(filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_name_actions() {
        let action = |a: Option<&str>| {
            MoveIn {
                destinationfolderid: Some("3F2504E0-4F89-11D3-9A0C-0305E82C3301".into()),
                duplicatenameaction: a.map(str::to_owned),
            }
            .validate()
            .map(|m| (m.destination_id, m.on_duplicate))
        };
        assert_eq!(
            action(Some("rename")).ok(),
            Some((
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301".to_owned(),
                DuplicateNameAction::Rename
            ))
        );
        assert_eq!(
            action(Some("Skip")).ok().map(|a| a.1),
            Some(DuplicateNameAction::Skip)
        );
        assert_eq!(
            action(None).ok().map(|a| a.1),
            Some(DuplicateNameAction::Stop)
        );
        assert!(action(Some("merge")).is_err());
    }

    #[test]
    fn import_results_carry_both_spellings() {
        let result = ImportResult {
            total: 2,
            imported: 1,
            errors: vec![LineError {
                line_number: 3,
                error: "Title: required".into(),
            }],
        };
        let wire = result.to_wire();
        assert_eq!(wire["totalNumber"], 2);
        assert_eq!(wire["TotalNumber"], 2);
        assert_eq!(wire["successfulImport"], 1);
        assert_eq!(
            wire["errors"],
            serde_json::json!([{"lineNumber": 3, "error": "Title: required"}])
        );
        assert_eq!(wire["Errors"], wire["errors"]);
    }
}
