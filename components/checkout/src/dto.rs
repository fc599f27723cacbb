//! Wire shapes of the checkout area (snake_case, v2's `"result": "success"` envelope)
//! and their validation.

use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::ids;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::objspec::{Model, SECRET_ACCESS};
use crate::rules::{SafeSettings, SecretOverrides};
use crate::store::{AccessRecord, Policy, RequestRow, SecretRow};
use crate::Ctx;
use edgesafe_api_common::request;
use serde::de::DeserializeOwned;

/// The longest checkout time limit: a year, in seconds.
pub const TIME_LIMIT_MAX: i64 = 366 * 24 * 3600;

/// The longest confirmation timeout: a week, in minutes.
pub const CONFIRMATION_MAX: i64 = 7 * 24 * 60;

/// The longest reason, in characters (Password Safe's limit).
pub const REASON_MAX: usize = 1000;

/// A success answer: `fields` with `"result": "success"`.
pub fn success(fields: Value) -> Value {
    let mut object = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    object.insert("result".into(), "success".into());
    Value::Object(object)
}

fn utc(unix: Option<i64>) -> Value {
    unix.map_or(Value::Null, |t| format_utc(t).into())
}

/// A request body taken by its model (`Model::check`), then bound to `T`: the
/// objspec a client reads is the rule its body is checked by. `optional`: an empty
/// body counts as `{}`. 415 for another media type, 400 for bad JSON.
pub fn model_body<T: DeserializeOwned>(ctx: &Ctx, model: &Model, optional: bool) -> Result<T> {
    let value = if optional && ctx.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        request::require_json(ctx.content_type.as_deref())?;
        request::json_value(&ctx.body)?
    };
    model.check(&value)?;
    request::from_json(value)
}

/// `SecretCheckoutModel` and `SecretCheckinModel`: empty, or the path's secret id.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRefIn {
    pub secret_id: Option<String>,
}

impl SecretRefIn {
    /// A `secret_id` in the body must name the secret of the path.
    pub fn check(&self, path_id: &str) -> Result<()> {
        match &self.secret_id {
            Some(id) if ids::body_id("secret_id", id)? != path_id => Err(ApiError::bad_request(
                "secret_id",
                "must be the secret of the path",
            )),
            _ => Ok(()),
        }
    }
}

/// `SecretCheckoutModel`: empty, or the path's secret id, and a `reason` where the
/// settings ask for one (an addition to the seed's model; see its objspec).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretCheckoutIn {
    pub secret_id: Option<String>,
    pub reason: Option<String>,
}

impl SecretCheckoutIn {
    pub fn check(&self, path_id: &str) -> Result<()> {
        SecretRefIn {
            secret_id: self.secret_id.clone(),
        }
        .check(path_id)
    }
}

/// `PUT secret/{id}`: the secret's checkout settings; absent ones stay as they are.
/// `login_reason`, `require_approval` and `confirmation_timeout` override the safe's;
/// `null` gives them back to the safe.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsIn {
    pub access_policy: Option<String>,
    pub checkout_exclusive: Option<bool>,
    /// Seconds; `null` or `0` for no limit.
    #[serde(default, deserialize_with = "present")]
    pub checkout_time_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    pub login_reason: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub require_approval: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub confirmation_timeout: Option<Option<i64>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent property (`None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Settings after applying a request to the current ones.
#[derive(Debug, PartialEq, Eq)]
pub struct Settings {
    pub policy: Policy,
    pub exclusive: bool,
    pub time_limit: Option<i64>,
    pub overrides: SecretOverrides,
}

/// A confirmation timeout in minutes: 1 to [`CONFIRMATION_MAX`].
fn confirmation_timeout(minutes: i64) -> Result<i64> {
    if (1..=CONFIRMATION_MAX).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(ApiError::bad_request(
            "confirmation_timeout",
            &format!("minutes from 1 to {CONFIRMATION_MAX}, or null"),
        ))
    }
}

impl SettingsIn {
    pub fn apply(self, current: &SecretRow) -> Result<Settings> {
        let policy = match self.access_policy.as_deref() {
            None => current.policy,
            Some(p) => Policy::parse(p).ok_or_else(|| {
                ApiError::bad_request("access_policy", "one of full_edit, view_on_request, none")
            })?,
        };
        let time_limit = match self.checkout_time_limit {
            None => current.time_limit,
            Some(None) | Some(Some(0)) => None,
            Some(Some(s)) if (1..=TIME_LIMIT_MAX).contains(&s) => Some(s),
            Some(Some(_)) => {
                return Err(ApiError::bad_request(
                    "checkout_time_limit",
                    &format!("seconds from 1 to {TIME_LIMIT_MAX}, or 0 or null for none"),
                ))
            }
        };
        let was = current.overrides;
        let overrides = SecretOverrides {
            login_reason: self.login_reason.unwrap_or(was.login_reason),
            require_approval: self.require_approval.unwrap_or(was.require_approval),
            confirmation_timeout: match self.confirmation_timeout {
                None => was.confirmation_timeout,
                Some(None) => None,
                Some(Some(m)) => Some(confirmation_timeout(m)?),
            },
        };
        Ok(Settings {
            policy,
            exclusive: self.checkout_exclusive.unwrap_or(current.exclusive),
            time_limit,
            overrides,
        })
    }
}

/// `PUT collection/{id}`: a safe's checkout settings; absent ones stay as they are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafeSettingsIn {
    pub login_reason: Option<bool>,
    pub require_approval: Option<bool>,
    /// Minutes; `null` for no limit.
    #[serde(default, deserialize_with = "present")]
    pub confirmation_timeout: Option<Option<i64>>,
}

impl SafeSettingsIn {
    pub fn apply(self, current: SafeSettings) -> Result<SafeSettings> {
        Ok(SafeSettings {
            login_reason: self.login_reason.unwrap_or(current.login_reason),
            require_approval: self.require_approval.unwrap_or(current.require_approval),
            confirmation_timeout: match self.confirmation_timeout {
                None => current.confirmation_timeout,
                Some(None) => None,
                Some(Some(m)) => Some(confirmation_timeout(m)?),
            },
        })
    }
}

/// A safe's checkout settings, as `collection`.
pub fn collection_out(id: &str, name: &str, settings: SafeSettings) -> Value {
    json!({
        "id": id,
        "name": name,
        "login_reason": settings.login_reason,
        "require_approval": settings.require_approval,
        "confirmation_timeout": settings.confirmation_timeout,
    })
}

/// A reason as given: trimmed, `None` when empty, at most [`REASON_MAX`] characters.
pub fn reason(field: &str, value: Option<&str>) -> Result<Option<String>> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > REASON_MAX {
        return Err(ApiError::bad_request(
            field,
            &format!("at most {REASON_MAX} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

/// `POST secret/{id}/request`: an access request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestIn {
    pub reason: Option<String>,
    /// Seconds the checkout may last once approved (1 to a year); absent for the
    /// secret's time limit.
    pub duration: Option<i64>,
}

/// A duration of access in seconds: 1 to [`TIME_LIMIT_MAX`].
pub fn duration(field: &str, seconds: Option<i64>) -> Result<Option<i64>> {
    match seconds {
        None => Ok(None),
        Some(s) if (1..=TIME_LIMIT_MAX).contains(&s) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            field,
            &format!("seconds from 1 to {TIME_LIMIT_MAX}"),
        )),
    }
}

/// `POST secret/request/{id}/approve` and `.../reject`: an optional comment.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub reason: Option<String>,
}

/// A checkout request as `access_request`.
pub fn request_out(request: &RequestRow, now: i64) -> Value {
    let id = |v: Option<i64>| v.map_or(Value::Null, |i| i.to_string().into());
    json!({
        "id": request.id.to_string(),
        "user_id": request.user_id.to_string(),
        "user_name": request.user_name,
        "secret_id": request.secret_id,
        "secret_name": request.secret_name,
        "collection_id": request.safe_id,
        "reason": request.reason,
        "duration": request.duration,
        "status": request.status(now).as_str(),
        "expires_at": utc(request.expires_at),
        "decided_by": id(request.decided_by),
        "decided_by_name": request.decided_by_name,
        "decided_at": utc(request.decided_at),
        "decision_reason": request.decision_reason,
        "secret_access_id": id(request.access_id),
        "closed_at": utc(request.closed_at),
        "created_at": utc(Some(request.created_at)),
    })
}

/// `POST secret/checkout` (seed 002's `CheckoutModel`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutIn {
    pub account_id: String,
    pub session_id: Option<String>,
    pub reason: Option<String>,
    /// Defaults to true, as the seed says.
    pub force: Option<bool>,
}

/// `POST secret/checkin` (seed 002's `CheckinModel`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckinIn {
    pub session_id: String,
}

/// A session id as the seed writes it, a string of digits; anything else is 400.
pub fn session_id(value: &str) -> Result<i64> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request("session_id", "must be a session id"))
}

/// A secret's checkout settings, and the caller's active checkout of it.
pub fn secret_out(secret: &SecretRow, my_checkout_id: Option<i64>) -> Value {
    let effective = secret.settings();
    let mut out = json!({
        "id": secret.id,
        "name": secret.title,
        "collection_id": secret.safe_id,
        "access_policy": secret.policy.as_str(),
        "checkout_exclusive": secret.exclusive,
        "checkout_time_limit": secret.time_limit,
        "login_reason": secret.overrides.login_reason,
        "require_approval": secret.overrides.require_approval,
        "confirmation_timeout": secret.overrides.confirmation_timeout,
        "effective": {
            "login_reason": effective.login_reason,
            "require_approval": effective.require_approval,
            "confirmation_timeout": effective.confirmation_timeout,
        },
    });
    if let (Some(id), Some(map)) = (my_checkout_id, out.as_object_mut()) {
        map.insert("my_checkout_id".into(), id.to_string().into());
    }
    out
}

pub fn checkout_type(exclusive: bool) -> &'static str {
    if exclusive {
        "exclusive"
    } else {
        "simple"
    }
}

/// Which hidden attributes an answer carries: `fields=a,b` names them.
pub struct Fields(Vec<&'static str>);

impl Fields {
    pub fn parse(model: &Model, raw: Option<&str>) -> Result<Self> {
        let mut names = Vec::new();
        for name in raw
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let attribute = model.attribute(name).ok_or_else(|| {
                ApiError::bad_request("fields", &format!("attributes of {}", model.name))
            })?;
            names.push(attribute.name);
        }
        Ok(Fields(names))
    }

    fn shows(&self, name: &str, hidden: bool) -> bool {
        !hidden || self.0.contains(&name)
    }
}

/// One attribute of an access record; `None` for a name the model does not have.
fn attribute(record: &AccessRecord, name: &str, now: i64) -> Option<Value> {
    let opt_str = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
    Some(match name {
        "id" => record.id.to_string().into(),
        "user_id" => record.user_id.to_string().into(),
        "secret_id" => record.secret_id.clone().into(),
        "secret_name" => opt_str(&record.secret_name),
        "secret_removed" => record.secret_removed.into(),
        "secret_history_id" => record.secret_history_id.clone().into(),
        "collection_id" => record.safe_id.clone().into(),
        "collection_name" => opt_str(&record.safe_name),
        "collection_removed" => record.safe_removed.into(),
        "source_ip" => opt_str(&record.source_ip),
        "source_port" => record.source_port.map_or(Value::Null, Value::from),
        "accessed_at" => utc(Some(record.accessed_at)),
        "checked_in_at" => utc(record.checked_in_at),
        "expires_at" => utc(record.expires_at),
        "exclusive" => record.exclusive.into(),
        "forced" => record.forced.into(),
        "user_name" => opt_str(&record.user_name),
        "active" => record.active(now).into(),
        "marked_safe" => record.marked_safe_at.is_some().into(),
        "marked_safe_by" => record
            .marked_safe_by
            .map_or(Value::Null, |id| id.to_string().into()),
        "marked_safe_by_name" => opt_str(&record.marked_safe_by_name),
        "marked_safe_at" => utc(record.marked_safe_at),
        "user_blocked" => record.user_blocked.into(),
        "user_removed" => record.user_removed.into(),
        "user_lost_access" => record.user_lost_access.into(),
        "secret_exposed" => record.exposed().into(),
        "created_at" => utc(Some(record.created_at)),
        "modified_at" => utc(Some(record.modified_at)),
        // Records are never removed; the seed lists the attribute.
        "removed" => false.into(),
        _ => return None,
    })
}

/// An access record as `SecretAccessModel`: the model's attributes in its order,
/// hidden ones only when `fields` names them, nulls left out (as the seed shows).
pub fn access_out(record: &AccessRecord, fields: &Fields, now: i64) -> Result<Value> {
    let mut out = Map::new();
    for a in SECRET_ACCESS.attributes {
        if !fields.shows(a.name, a.hidden) {
            continue;
        }
        let value = attribute(record, a.name, now)
            .ok_or_else(|| ApiError::internal(format!("no value for attribute {}", a.name)))?;
        if !value.is_null() {
            out.insert(a.name.into(), value);
        }
    }
    Ok(Value::Object(out))
}

/// Where the client called from, as the gateway passed it (`ip:port`, `[v6]:port`).
pub fn source(client_addr: Option<&str>) -> (Option<&str>, Option<i64>) {
    let Some(addr) = client_addr else {
        return (None, None);
    };
    match addr.rsplit_once(':') {
        Some((ip, port)) if port.parse::<u16>().is_ok() => {
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            (Some(ip), port.parse().ok())
        }
        _ => (Some(addr), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AccessRecord {
        AccessRecord {
            id: 1,
            user_id: 7,
            secret_id: "s".into(),
            secret_name: Some("db".into()),
            secret_history_id: "h".into(),
            safe_id: "c".into(),
            accessed_at: 100,
            expires_at: Some(200),
            user_blocked: true,
            ..AccessRecord::default()
        }
    }

    #[test]
    fn every_attribute_of_the_model_has_a_value() {
        for a in SECRET_ACCESS.attributes {
            assert!(attribute(&record(), a.name, 0).is_some(), "{}", a.name);
        }
    }

    #[test]
    fn hidden_attributes_only_when_asked_and_nulls_left_out() {
        let none = Fields::parse(&SECRET_ACCESS, None).unwrap_or(Fields(vec![]));
        let out = access_out(&record(), &none, 150).unwrap_or_default();
        assert_eq!(out["id"], "1");
        assert_eq!(out["user_id"], "7");
        assert_eq!(out["active"], true);
        assert_eq!(out["expires_at"], "1970-01-01T00:03:20Z");
        assert!(out.get("secret_name").is_none());
        assert!(out.get("secret_exposed").is_none());
        assert!(out.get("checked_in_at").is_none());

        let some = Fields::parse(&SECRET_ACCESS, Some("secret_name, secret_exposed"));
        let some = some.unwrap_or(Fields(vec![]));
        let out = access_out(&record(), &some, 250).unwrap_or_default();
        assert_eq!(out["secret_name"], "db");
        assert_eq!(out["secret_exposed"], true);
        assert_eq!(out["active"], false);

        let bad = Fields::parse(&SECRET_ACCESS, Some("nope")).err();
        assert_eq!(bad.map(|e| e.status().as_u16()), Some(400));
    }

    #[test]
    fn marking_safe_clears_exposure() {
        let mut r = record();
        assert!(r.exposed());
        r.marked_safe_at = Some(300);
        assert!(!r.exposed());
    }

    #[test]
    fn settings_validate_and_keep_what_is_absent() {
        let current = SecretRow {
            id: "s".into(),
            title: "t".into(),
            kind: "text".into(),
            safe_id: "c".into(),
            folder_id: "c".into(),
            username: String::new(),
            current_version: 1,
            history_id: None,
            policy: Policy::FullEdit,
            exclusive: true,
            time_limit: Some(60),
            overrides: SecretOverrides::default(),
            safe_settings: SafeSettings::default(),
        };
        let parse = |v: Value| serde_json::from_value::<SettingsIn>(v).map_err(|_| ());
        let apply = |v: Value| parse(v).map(|s| s.apply(&current).map_err(|e| e.status().as_u16()));
        assert_eq!(
            apply(json!({})),
            Ok(Ok(Settings {
                policy: Policy::FullEdit,
                exclusive: true,
                time_limit: Some(60),
                overrides: SecretOverrides::default(),
            }))
        );
        assert_eq!(
            apply(json!({"access_policy": "none", "checkout_time_limit": null})),
            Ok(Ok(Settings {
                policy: Policy::None,
                exclusive: true,
                time_limit: None,
                overrides: SecretOverrides::default(),
            }))
        );
        let own = apply(json!({"require_approval": true, "confirmation_timeout": 5}));
        assert_eq!(
            own.map(|s| s.map(|s| s.overrides)),
            Ok(Ok(SecretOverrides {
                login_reason: None,
                require_approval: Some(true),
                confirmation_timeout: Some(5),
            }))
        );
        assert_eq!(apply(json!({"confirmation_timeout": 0})), Ok(Err(400)));
        assert_eq!(apply(json!({"access_policy": "all"})), Ok(Err(400)));
        assert_eq!(apply(json!({"checkout_time_limit": -1})), Ok(Err(400)));
        assert!(parse(json!({"checkout_exclusive": "yes"})).is_err());
        assert!(parse(json!({"other": 1})).is_err());
    }

    #[test]
    fn source_splits_address_and_port() {
        assert_eq!(
            source(Some("10.2.0.182:55033")),
            (Some("10.2.0.182"), Some(55033))
        );
        assert_eq!(source(Some("[::1]:8080")), (Some("::1"), Some(8080)));
        assert_eq!(source(Some("host")), (Some("host"), None));
        assert_eq!(source(None), (None, None));
    }

    #[test]
    fn body_secret_id_must_match_the_path() {
        let id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        let same = SecretRefIn {
            secret_id: Some(id.to_uppercase()),
        };
        assert!(same.check(id).is_ok());
        let other = SecretRefIn {
            secret_id: Some(uuid_other()),
        };
        assert_eq!(
            other.check(id).err().map(|e| e.status().as_u16()),
            Some(400)
        );
        let bad = SecretRefIn {
            secret_id: Some("x".into()),
        };
        assert_eq!(bad.check(id).err().map(|e| e.status().as_u16()), Some(400));
        assert!(SecretRefIn::default().check(id).is_ok());
    }

    #[test]
    fn reasons_durations_and_session_ids_are_validated() {
        let code = |r: Result<Option<String>>| r.map_err(|e| e.status().as_u16());
        assert_eq!(code(reason("reason", None)), Ok(None));
        assert_eq!(code(reason("reason", Some("  "))), Ok(None));
        assert_eq!(
            code(reason("reason", Some(" fix "))),
            Ok(Some("fix".into()))
        );
        let long = "x".repeat(REASON_MAX + 1);
        assert_eq!(code(reason("reason", Some(&long))), Err(400));
        let seconds = |s| duration("duration", s).map_err(|e| e.status().as_u16());
        assert_eq!(seconds(None), Ok(None));
        assert_eq!(seconds(Some(60)), Ok(Some(60)));
        assert_eq!(seconds(Some(0)), Err(400));
        assert_eq!(seconds(Some(TIME_LIMIT_MAX + 1)), Err(400));
        let session = |s: &str| session_id(s).map_err(|e| e.status().as_u16());
        assert_eq!(session("8169529724050079755"), Ok(8169529724050079755));
        assert_eq!(session("0"), Err(400));
        assert_eq!(session("x"), Err(400));
    }

    #[test]
    fn safe_settings_keep_what_is_absent() {
        let current = SafeSettings {
            login_reason: true,
            require_approval: false,
            confirmation_timeout: Some(5),
        };
        let apply = |v: Value| {
            serde_json::from_value::<SafeSettingsIn>(v)
                .map_err(|_| 0)
                .and_then(|s| s.apply(current).map_err(|e| e.status().as_u16()))
        };
        assert_eq!(apply(json!({})), Ok(current));
        assert_eq!(
            apply(json!({"require_approval": true, "confirmation_timeout": null})),
            Ok(SafeSettings {
                require_approval: true,
                confirmation_timeout: None,
                ..current
            })
        );
        assert_eq!(apply(json!({"confirmation_timeout": 0})), Err(400));
        assert_eq!(apply(json!({"login_reason": "yes"})), Err(0));
    }

    fn uuid_other() -> String {
        "00000000-0000-0000-0000-000000000001".into()
    }
}
