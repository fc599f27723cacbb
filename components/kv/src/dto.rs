//! Wire shapes of `/api/secrets` (seed 003): request bodies, checked here, and
//! answers. Property names are snake_case; map values keep their keys as sent.

use edgesafe_api_common::time::format_utc;
use edgesafe_api_common::{ApiError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::kv::VersionView;

/// Most items in one bulk request.
pub const BULK_MAX: usize = 100;
/// The largest page a listing answers.
pub const LIMIT_MAX: i64 = 1000;

/// A JSON body with its property names as sent (they may be the secret's keys); 415
/// for another media type, 400 for bad JSON or a field of the wrong type.
pub fn body<T: for<'de> Deserialize<'de>>(content_type: Option<&str>, body: &[u8]) -> Result<T> {
    edgesafe_api_common::request::require_json(content_type)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body", "required, a JSON document"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "body",
            &format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    edgesafe_api_common::request::from_json(value)
}

/// `POST /api/secrets`, `/rotate`; a bulk `set` or `rotate` item.
#[derive(Debug, Deserialize)]
pub struct WriteIn {
    pub uri: String,
    pub value: Option<Value>,
    /// Check-and-set: the version that must be the newest (0: the secret must not exist).
    pub cas: Option<i64>,
}

impl WriteIn {
    /// The value, required (`null` is not a value).
    pub fn value(&self) -> Result<&Value> {
        match &self.value {
            None | Some(Value::Null) => Err(ApiError::bad_request(
                "value",
                "required, an object or a scalar",
            )),
            Some(v) => Ok(v),
        }
    }
}

/// A whole value: an object is the map, a scalar is `{"value": scalar}`.
pub fn as_map(value: &Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::Array(_) => Err(ApiError::bad_request(
            "value",
            "an object or a scalar, not a list",
        )),
        scalar => {
            let mut map = Map::new();
            map.insert("value".into(), scalar.clone());
            Ok(map)
        }
    }
}

/// `POST /api/secrets/undelete`, `/destroy-versions`.
#[derive(Debug, Deserialize)]
pub struct VersionsIn {
    pub uri: String,
    #[serde(default)]
    pub versions: Vec<i64>,
}

/// `POST /api/secrets/metadata/owner`.
#[derive(Debug, Deserialize)]
pub struct OwnerIn {
    pub uri: String,
    pub owner: String,
}

impl OwnerIn {
    pub fn owner(&self) -> Result<&str> {
        let owner = self.owner.trim();
        if owner.is_empty() || owner.chars().count() > 256 || owner.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "owner",
                "1 to 256 characters, no control characters",
            ));
        }
        Ok(owner)
    }
}

/// `POST /api/secrets/copy`, `/move`.
#[derive(Debug, Deserialize)]
pub struct CopyIn {
    pub from: String,
    pub to: String,
}

/// One operation of `POST /api/secrets/bulk`.
#[derive(Debug, Deserialize)]
pub struct BulkItem {
    pub op: String,
    pub uri: String,
    pub value: Option<Value>,
    pub cas: Option<i64>,
    #[serde(default)]
    pub versions: Vec<i64>,
}

#[derive(Debug, Deserialize)]
pub struct BulkIn {
    pub operations: Vec<Value>,
}

impl BulkIn {
    pub fn check(&self) -> Result<()> {
        if self.operations.is_empty() || self.operations.len() > BULK_MAX {
            return Err(ApiError::bad_request(
                "operations",
                &format!("1 to {BULK_MAX} operations"),
            ));
        }
        Ok(())
    }
}

/// One item's answer in a bulk: each stands on its own.
#[derive(Debug, Serialize)]
pub struct BulkResult {
    pub index: usize,
    pub op: String,
    pub uri: Option<String>,
    pub status: u16,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorOut>,
}

#[derive(Debug, Serialize)]
pub struct ErrorOut {
    pub code: &'static str,
    pub message: String,
}

impl From<&ApiError> for ErrorOut {
    fn from(e: &ApiError) -> Self {
        ErrorOut {
            code: e.code().as_str(),
            message: e.message().to_owned(),
        }
    }
}

/// A version as the KV API shows it.
#[derive(Debug, Serialize)]
pub struct VersionOut {
    pub version: i64,
    pub created_time: String,
    pub deletion_time: Option<String>,
    pub deleted: bool,
    pub destroyed: bool,
}

impl VersionOut {
    pub fn of(v: &VersionView, now: i64) -> Self {
        VersionOut {
            version: v.version,
            created_time: format_utc(v.created_at),
            deletion_time: v.deletion_time.map(format_utc),
            deleted: !v.destroyed && v.deletion_time.is_some_and(|t| t <= now),
            destroyed: v.destroyed,
        }
    }
}

/// Paging of listings: `limit` (default the `secrets_api_page_limit` setting, at most
/// 1000) and `offset`.
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

impl Page {
    pub fn from_query(query: &edgesafe_api_common::request::Query, default: i64) -> Result<Self> {
        Ok(Page {
            limit: query.int("limit", 1, LIMIT_MAX)?.unwrap_or(default),
            offset: query.int("offset", 0, i64::MAX)?.unwrap_or(0),
        })
    }

    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let offset = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        items.into_iter().skip(offset).take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_become_a_value_key_and_lists_are_refused() {
        assert_eq!(
            as_map(&json!("s")).unwrap(),
            json!({"value": "s"}).as_object().unwrap().clone()
        );
        assert_eq!(as_map(&json!({"a": 1})).unwrap().len(), 1);
        assert_eq!(as_map(&json!([1])).unwrap_err().status(), 400);
    }

    #[test]
    fn bodies_keep_the_case_of_keys_and_name_bad_fields() {
        let w: WriteIn = body(
            Some("application/json"),
            br#"{"uri":"u","value":{"Key":"v"}}"#,
        )
        .unwrap();
        assert_eq!(w.value().unwrap(), &json!({"Key": "v"}));
        let e = body::<WriteIn>(Some("application/json"), br#"{"uri":5}"#).unwrap_err();
        assert_eq!(e.message(), "uri: has the wrong type or value");
        let e = body::<WriteIn>(Some("text/plain"), b"{}").unwrap_err();
        assert_eq!(e.status(), 415);
        let w: WriteIn = body(Some("application/json"), br#"{"uri":"u"}"#).unwrap();
        assert_eq!(
            w.value().unwrap_err().message(),
            "value: required, an object or a scalar"
        );
    }

    #[test]
    fn pages_slice_and_bulk_is_bounded() {
        let page = Page {
            limit: 2,
            offset: 1,
        };
        assert_eq!(page.slice(vec![1, 2, 3, 4]), vec![2, 3]);
        let many = BulkIn {
            operations: vec![json!({}); BULK_MAX + 1],
        };
        assert_eq!(many.check().unwrap_err().status(), 400);
        assert_eq!(
            BulkIn { operations: vec![] }.check().unwrap_err().status(),
            400
        );
    }

    #[test]
    fn owners_are_checked() {
        let o = OwnerIn {
            uri: "u".into(),
            owner: " team-a ".into(),
        };
        assert_eq!(o.owner().unwrap(), "team-a");
        let bad = OwnerIn {
            uri: "u".into(),
            owner: "\u{7}".into(),
        };
        assert_eq!(bad.owner().unwrap_err().status(), 400);
    }
}
