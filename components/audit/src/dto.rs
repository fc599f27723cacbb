//! Wire shapes of the audit area and the rules their query parameters follow.
//!
//! How an edgesafe event shows as a Password Safe user audit (README, "Audit trail"):
//! `AuditID` is the event's sequence number, `ActionType` its action
//! (`secret.read`), `Section` the action's first segment (`secret`), `UserID` and
//! `UserName` the actor (null and `anonymous` without one), `IPAddress` the client
//! address of its detail, `CreateDate` its time; `Target`, `Decision` and `Purpose`
//! are edgesafe's own. Its details are one row per field: target, decision, purpose,
//! each `name=value` of the detail, and the chain MAC.

use std::net::SocketAddr;

use edgesafe_api_common::request::Query;
use edgesafe_api_common::validate::line;
use edgesafe_api_common::vault::wit_audit::{BreakKind, StoredEvent};
use edgesafe_api_common::{time, ApiError, Result};
use serde::Serialize;

/// The most events (or detail rows) one page holds, the core's own bound.
pub const MAX_LIMIT: i64 = 1000;
/// The longest user name, action or section a filter may name.
const MAX_FILTER_LEN: usize = 255;

/// The audit id of a path: an event's sequence number, from 1; 404 otherwise.
pub fn audit_id(segment: &str) -> Result<i64> {
    match segment.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(id),
        _ => Err(ApiError::not_found()),
    }
}

/// `limit` (1 to [`MAX_LIMIT`], default [`MAX_LIMIT`]) and `offset` (default 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub limit: u32,
    pub offset: u32,
}

impl Paging {
    pub fn from_query(query: &Query) -> Result<Self> {
        let limit = query.int("limit", 1, MAX_LIMIT)?.unwrap_or(MAX_LIMIT);
        let offset = query.int("offset", 0, i64::from(u32::MAX))?.unwrap_or(0);
        Ok(Paging {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
        })
    }
}

/// The filters of `GET UserAudits`, as the official library and `ps-cli` send them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAuditQuery {
    pub username: Option<String>,
    /// The action prefix to match, `None` for every action; see [`action_prefix`].
    pub action: ActionMatch,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub paging: Paging,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionMatch {
    Any,
    Prefix(String),
    /// `section` and `actionType` contradict each other.
    Nothing,
}

impl UserAuditQuery {
    pub fn from_query(query: &Query) -> Result<Self> {
        let username = text(query, "username")?;
        let section = text(query, "section")?.map(|s| s.to_ascii_lowercase());
        let action_type = text(query, "actionType")?.map(|s| s.to_ascii_lowercase());
        Ok(UserAuditQuery {
            username,
            action: action_prefix(section.as_deref(), action_type.as_deref()),
            since: date(query, "startDate")?,
            until: date(query, "endDate")?,
            paging: Paging::from_query(query)?,
        })
    }
}

/// An optional one-line filter; empty counts as absent.
fn text(query: &Query, name: &str) -> Result<Option<String>> {
    let value = line(name, query.get(name).map(str::to_owned), 0, MAX_FILTER_LEN)?;
    Ok(value.filter(|v| !v.is_empty()))
}

fn date(query: &Query, name: &str) -> Result<Option<i64>> {
    match text(query, name)? {
        None => Ok(None),
        Some(value) => time::parse_utc(&value).map(Some).ok_or_else(|| {
            ApiError::bad_request(name, "must be an ISO 8601 date (yyyy-MM-dd[THH:mm:ss[Z]])")
        }),
    }
}

/// A section matches the actions under it (`secret` → `secret.`); an action type
/// matches the actions that begin with it (`secret.read`, or `identity.user` for all
/// user administration). Both must hold when both are given.
pub fn action_prefix(section: Option<&str>, action_type: Option<&str>) -> ActionMatch {
    let section = section.map(|s| format!("{s}."));
    match (section, action_type) {
        (None, None) => ActionMatch::Any,
        (Some(section), None) => ActionMatch::Prefix(section),
        (None, Some(action)) => ActionMatch::Prefix(action.to_owned()),
        (Some(section), Some(action)) if action.starts_with(&section) => {
            ActionMatch::Prefix(action.to_owned())
        }
        (Some(_), Some(_)) => ActionMatch::Nothing,
    }
}

/// The section of an action: its first dot-separated segment.
pub fn section(action: &str) -> &str {
    action.split('.').next().unwrap_or(action)
}

/// The user id of an actor `user:<id>`; `None` for `anonymous`.
pub fn actor_user_id(actor: &str) -> Option<i64> {
    actor.strip_prefix("user:")?.parse().ok()
}

/// The `name=value` parts of an event's detail, in order; a part without `=` is a
/// `note`.
pub fn detail_fields(detail: &str) -> Vec<(&str, &str)> {
    detail
        .split("; ")
        .filter(|part| !part.is_empty())
        .map(|part| part.split_once('=').unwrap_or(("note", part)))
        .collect()
}

/// The client's IP address from an event's detail (`client=10.0.0.1:5000`), without
/// the port; empty when the event has none.
pub fn ip_address(detail: &str) -> String {
    let client = detail_fields(detail)
        .into_iter()
        .find(|(name, _)| *name == "client")
        .map_or("-", |(_, value)| value);
    match client.parse::<SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) if client == "-" => String::new(),
        Err(_) => client.to_owned(),
    }
}

/// `{TotalCount, Data}`, the paged shape of Password Safe's lists.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageOut<T> {
    pub total_count: i64,
    pub data: Vec<T>,
}

#[derive(Serialize)]
pub struct UserAuditOut {
    #[serde(rename = "AuditID")]
    pub audit_id: i64,
    #[serde(rename = "ActionType")]
    pub action_type: String,
    #[serde(rename = "Section")]
    pub section: String,
    #[serde(rename = "UserID")]
    pub user_id: Option<i64>,
    #[serde(rename = "UserName")]
    pub user_name: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "CreateDate")]
    pub create_date: String,
    #[serde(rename = "Target")]
    pub target: String,
    #[serde(rename = "Decision")]
    pub decision: String,
    #[serde(rename = "Purpose")]
    pub purpose: String,
}

impl UserAuditOut {
    /// `event` as a user audit; `user_name` is the actor's name (resolved by the caller).
    pub fn new(event: &StoredEvent, user_name: String) -> Self {
        UserAuditOut {
            audit_id: event.seq,
            action_type: event.action.clone(),
            section: section(&event.action).to_owned(),
            user_id: actor_user_id(&event.actor),
            user_name,
            ip_address: ip_address(&event.detail),
            create_date: time::format_utc(event.at),
            target: event.target.clone(),
            decision: event.decision.clone(),
            purpose: event.purpose.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserAuditDetailOut {
    #[serde(rename = "AuditID")]
    pub audit_id: i64,
    #[serde(rename = "FieldName")]
    pub field_name: String,
    /// Events record what happened, not a before and after: always null.
    #[serde(rename = "OldValue")]
    pub old_value: Option<String>,
    #[serde(rename = "NewValue")]
    pub new_value: String,
}

/// The detail rows of `event`, in a fixed order.
pub fn detail_rows(event: &StoredEvent) -> Vec<UserAuditDetailOut> {
    let mut fields = vec![
        ("Target", event.target.as_str()),
        ("Decision", event.decision.as_str()),
        ("Purpose", event.purpose.as_str()),
    ];
    fields.extend(detail_fields(&event.detail));
    fields.push(("Mac", event.mac.as_str()));
    fields
        .into_iter()
        .map(|(name, value)| UserAuditDetailOut {
            audit_id: event.seq,
            field_name: name.to_owned(),
            old_value: None,
            new_value: value.to_owned(),
        })
        .collect()
}

/// One line of the export: every stored field, the time also as UTC text, and the
/// chain MAC (lower-case hex).
#[derive(Serialize)]
pub struct ExportedEvent<'a> {
    pub seq: i64,
    pub at: i64,
    pub time: String,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub decision: &'a str,
    pub purpose: &'a str,
    pub detail: &'a str,
    pub mac: &'a str,
}

impl<'a> From<&'a StoredEvent> for ExportedEvent<'a> {
    fn from(e: &'a StoredEvent) -> Self {
        ExportedEvent {
            seq: e.seq,
            at: e.at,
            time: time::format_utc(e.at),
            actor: &e.actor,
            action: &e.action,
            target: &e.target,
            decision: &e.decision,
            purpose: &e.purpose,
            detail: &e.detail,
            mac: &e.mac,
        }
    }
}

/// `after` (a sequence number, default 0: from the first event) and `limit` of the
/// export.
pub fn export_query(query: &Query) -> Result<(i64, u32)> {
    let after = query.int("after", 0, i64::MAX)?.unwrap_or(0);
    let limit = query.int("limit", 1, MAX_LIMIT)?.unwrap_or(MAX_LIMIT);
    Ok((after, u32::try_from(limit).unwrap_or(u32::MAX)))
}

/// The verdict of `GET /api/v2/audit/verify`.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum VerifyOut {
    Intact {
        result: &'static str,
        intact: bool,
        verified: i64,
    },
    Broken {
        result: &'static str,
        intact: bool,
        first_bad_seq: i64,
        reason: &'static str,
    },
}

impl VerifyOut {
    pub fn intact(verified: i64) -> Self {
        VerifyOut::Intact {
            result: "success",
            intact: true,
            verified,
        }
    }

    pub fn broken(seq: i64, kind: BreakKind) -> Self {
        let reason = match kind {
            BreakKind::Edited => "edited",
            BreakKind::Missing => "missing",
            BreakKind::Reordered => "reordered",
        };
        VerifyOut::Broken {
            result: "success",
            intact: false,
            first_bad_seq: seq,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> Query {
        Query::parse(q.as_bytes())
    }

    fn status<T>(r: Result<T>) -> Option<u16> {
        r.err().map(|e| e.status().as_u16())
    }

    #[test]
    fn sections_and_action_types_become_one_prefix() {
        use ActionMatch::*;
        assert_eq!(action_prefix(None, None), Any);
        assert_eq!(
            action_prefix(Some("secret"), None),
            Prefix("secret.".into())
        );
        assert_eq!(
            action_prefix(None, Some("secret.read")),
            Prefix("secret.read".into())
        );
        assert_eq!(
            action_prefix(Some("identity"), Some("identity.user")),
            Prefix("identity.user".into())
        );
        assert_eq!(
            action_prefix(Some("secret"), Some("identity.user")),
            Nothing
        );
        // `secrets.x` is not in section `secret`.
        assert_eq!(action_prefix(Some("secret"), Some("secrets.x")), Nothing);
    }

    #[test]
    fn reads_the_library_filters() {
        let q = UserAuditQuery::from_query(&query(
            "username=Alice&actionType=Secret.Read&section=secret&startDate=2030-01-02\
             &endDate=2030-01-03T00:00:00Z&limit=5&offset=10",
        ));
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.username.as_deref(), Some("Alice"));
        assert_eq!(q.action, ActionMatch::Prefix("secret.read".into()));
        assert_eq!(q.since, Some(1_893_542_400));
        assert_eq!(q.until, Some(1_893_628_800));
        assert_eq!(
            q.paging,
            Paging {
                limit: 5,
                offset: 10
            }
        );

        let q = UserAuditQuery::from_query(&query("username=&section="));
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.username, q.action), (None, ActionMatch::Any));
        assert_eq!(
            q.paging,
            Paging {
                limit: 1000,
                offset: 0
            }
        );
    }

    #[test]
    fn bad_filters_are_400() {
        for bad in [
            "startDate=yesterday",
            "endDate=2030-13-01",
            "limit=0",
            "limit=1001",
            "offset=-1",
            "limit=x",
            "username=a%0Ab",
        ] {
            assert_eq!(
                status(UserAuditQuery::from_query(&query(bad))),
                Some(400),
                "{bad}"
            );
        }
        assert_eq!(status(export_query(&query("after=-1"))), Some(400));
        assert_eq!(status(export_query(&query("limit=1001"))), Some(400));
        assert_eq!(export_query(&query("after=7&limit=2")).ok(), Some((7, 2)));
        assert_eq!(export_query(&query("")).ok(), Some((0, 1000)));
    }

    #[test]
    fn audit_ids_are_positive_integers() {
        assert_eq!(audit_id("3").ok(), Some(3));
        assert_eq!(status(audit_id("0")), Some(404));
        assert_eq!(status(audit_id("-1")), Some(404));
        assert_eq!(status(audit_id("1e3")), Some(404));
    }

    #[test]
    fn maps_an_event_onto_a_user_audit() {
        let detail = "client=10.0.0.1:5000; credential=credential:3; credential_owner=user:1; no Read on the safe";
        assert_eq!(ip_address(detail), "10.0.0.1");
        assert_eq!(ip_address("client=[::1]:80"), "::1");
        assert_eq!(ip_address("client=-"), "");
        assert_eq!(ip_address(""), "");
        assert_eq!(
            detail_fields(detail),
            vec![
                ("client", "10.0.0.1:5000"),
                ("credential", "credential:3"),
                ("credential_owner", "user:1"),
                ("note", "no Read on the safe"),
            ]
        );
        assert_eq!(section("identity.user.create"), "identity");
        assert_eq!(actor_user_id("user:7"), Some(7));
        assert_eq!(actor_user_id("anonymous"), None);

        let event = StoredEvent {
            seq: 4,
            at: 0,
            actor: "user:7".into(),
            action: "secret.read".into(),
            target: "secret:x".into(),
            decision: "allow".into(),
            purpose: "read".into(),
            detail: "client=10.0.0.1:5000".into(),
            mac: "ab".into(),
        };
        let out = serde_json::to_value(UserAuditOut::new(&event, "alice".into()));
        let out = out.unwrap_or_default();
        assert_eq!(out["AuditID"], 4);
        assert_eq!(out["Section"], "secret");
        assert_eq!(out["UserID"], 7);
        assert_eq!(out["IPAddress"], "10.0.0.1");
        assert_eq!(out["CreateDate"], "1970-01-01T00:00:00Z");
        let names: Vec<String> = detail_rows(&event)
            .into_iter()
            .map(|r| r.field_name)
            .collect();
        assert_eq!(names, ["Target", "Decision", "Purpose", "client", "Mac"]);
    }
}
