//! How a KV map value is stored as a Secrets Safe secret, and read back. One vault:
//! the same secret is served by v3, PAM v2 and KV.
//!
//! | secret kind | KV map | sealed value |
//! | --- | --- | --- |
//! | text (what KV creates) | any JSON object | the object as compact JSON |
//! | text holding a plain string (written by v3) | `{"value": "<text>"}` | the text |
//! | credential | `{"username", "password"}` | the password (the username is a column) |
//! | file | `{"file_name", "content_base64"}` (read only) | the content |
//!
//! A map of exactly `{"value": "<string>"}` is stored as that text, so that a text
//! secret read through KV and written back stays plain text for v3.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use edgesafe_api_common::{ApiError, Result};
use serde_json::{Map, Value};

/// The largest stored JSON value of a KV text secret, in bytes.
pub const VALUE_MAX_BYTES: usize = 64 * 1024;
/// Keys of a map, at most.
pub const KEYS_MAX: usize = 1000;
/// The password of a credential: as the secrets area allows.
const PASSWORD_MAX: usize = 256;
const USERNAME_MAX: usize = 1000;

pub use edgesafe_secrets_safe::Kind;

/// What a secret's row adds to its sealed value.
pub struct Columns<'a> {
    pub kind: Kind,
    pub username: &'a str,
    pub file_name: Option<&'a str>,
}

/// The KV map of a stored value.
pub fn to_map(columns: &Columns<'_>, sealed: Vec<u8>) -> Result<Map<String, Value>> {
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|_| ApiError::internal("a sealed text value is not UTF-8"))
    };
    let mut map = Map::new();
    match columns.kind {
        Kind::Text => {
            let text = text(sealed)?;
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(object)) => return Ok(object),
                _ => {
                    map.insert("value".into(), Value::String(text));
                }
            }
        }
        Kind::Credential => {
            map.insert(
                "username".into(),
                Value::String(columns.username.to_owned()),
            );
            map.insert("password".into(), Value::String(text(sealed)?));
        }
        Kind::File => {
            let name = columns.file_name.unwrap_or_default();
            map.insert("file_name".into(), Value::String(name.to_owned()));
            map.insert(
                "content_base64".into(),
                Value::String(STANDARD.encode(sealed)),
            );
        }
    }
    Ok(map)
}

/// A value ready to seal, and the username column for a credential.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored {
    pub sealed: Vec<u8>,
    pub username: Option<String>,
}

/// Checks a map a client sent (`field` names it in errors).
pub fn check_map(field: &str, map: &Map<String, Value>) -> Result<()> {
    if map.len() > KEYS_MAX {
        return Err(ApiError::bad_request(
            field,
            &format!("at most {KEYS_MAX} keys"),
        ));
    }
    if map
        .keys()
        .any(|k| k.is_empty() || k.chars().any(char::is_control) || k.len() > 256)
    {
        return Err(ApiError::bad_request(
            field,
            "keys must be 1 to 256 characters without control characters",
        ));
    }
    Ok(())
}

/// How `map` is stored in a secret of `kind` (a new KV secret is text).
pub fn from_map(kind: Kind, map: &Map<String, Value>) -> Result<Stored> {
    check_map("data", map)?;
    match kind {
        Kind::Text => {
            let sealed = match (map.len(), map.get("value")) {
                (1, Some(Value::String(text))) => text.clone().into_bytes(),
                _ => {
                    serde_json::to_vec(map).map_err(|_| ApiError::internal("serializing a map"))?
                }
            };
            if sealed.len() > VALUE_MAX_BYTES {
                return Err(ApiError::bad_request(
                    "data",
                    &format!("at most {VALUE_MAX_BYTES} bytes as JSON"),
                ));
            }
            Ok(Stored {
                sealed,
                username: None,
            })
        }
        Kind::Credential => {
            let string = |key: &str, max: usize| match map.get(key) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= max => {
                    Ok(Some(s.clone()))
                }
                Some(_) => Err(ApiError::bad_request(
                    &format!("data.{key}"),
                    &format!("a string of 1 to {max} characters"),
                )),
            };
            if map.keys().any(|k| k != "username" && k != "password") {
                return Err(ApiError::bad_request(
                    "data",
                    "a credential secret holds only username and password",
                ));
            }
            let password = string("password", PASSWORD_MAX)?.ok_or_else(|| {
                ApiError::bad_request("data.password", "required for a credential secret")
            })?;
            Ok(Stored {
                sealed: password.into_bytes(),
                username: string("username", USERNAME_MAX)?,
            })
        }
        Kind::File => Err(ApiError::bad_request(
            "data",
            "a file secret is written through the Secrets Safe v3 API",
        )),
    }
}

/// RFC 7396 JSON merge patch of `patch` onto `target` (what `PATCH` and a fragment
/// write do): `null` removes a key, objects merge, anything else replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(existing) = entry {
                    merge_patch(existing, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn text() -> Columns<'static> {
        Columns {
            kind: Kind::Text,
            username: "",
            file_name: None,
        }
    }

    #[test]
    fn text_secrets_hold_the_map_as_json_and_plain_text_as_value() {
        let stored = from_map(Kind::Text, &map(json!({"a": 1, "b": {"c": "d"}}))).unwrap();
        assert_eq!(stored.sealed, br#"{"a":1,"b":{"c":"d"}}"#);
        assert_eq!(
            to_map(&text(), stored.sealed).unwrap(),
            map(json!({"a": 1, "b": {"c": "d"}}))
        );
        let plain = from_map(Kind::Text, &map(json!({"value": "hello"}))).unwrap();
        assert_eq!(plain.sealed, b"hello");
        assert_eq!(
            to_map(&text(), b"hello".to_vec()).unwrap(),
            map(json!({"value": "hello"}))
        );
        assert_eq!(
            to_map(&text(), b"[1]".to_vec()).unwrap(),
            map(json!({"value": "[1]"}))
        );
    }

    #[test]
    fn credentials_map_to_username_and_password() {
        let columns = Columns {
            kind: Kind::Credential,
            username: "svc",
            file_name: None,
        };
        assert_eq!(
            to_map(&columns, b"pw".to_vec()).unwrap(),
            map(json!({"username": "svc", "password": "pw"}))
        );
        let stored = from_map(
            Kind::Credential,
            &map(json!({"username": "u", "password": "p"})),
        )
        .unwrap();
        assert_eq!(
            stored,
            Stored {
                sealed: b"p".to_vec(),
                username: Some("u".into())
            }
        );
        let e = from_map(Kind::Credential, &map(json!({"password": "p", "x": 1}))).unwrap_err();
        assert_eq!(
            e.message(),
            "data: a credential secret holds only username and password"
        );
        let e = from_map(Kind::Credential, &map(json!({"username": "u"}))).unwrap_err();
        assert_eq!(
            e.message(),
            "data.password: required for a credential secret"
        );
        let e = from_map(Kind::Credential, &map(json!({"password": 5}))).unwrap_err();
        assert_eq!(
            e.message(),
            "data.password: a string of 1 to 256 characters"
        );
    }

    #[test]
    fn files_read_as_base64_and_are_not_written() {
        let columns = Columns {
            kind: Kind::File,
            username: "",
            file_name: Some("a.txt"),
        };
        assert_eq!(
            to_map(&columns, b"hi".to_vec()).unwrap(),
            map(json!({"file_name": "a.txt", "content_base64": "aGk="}))
        );
        assert!(from_map(Kind::File, &map(json!({"a": "b"}))).is_err());
    }

    #[test]
    fn limits_are_enforced() {
        let big = map(json!({"a": "x".repeat(VALUE_MAX_BYTES)}));
        assert_eq!(from_map(Kind::Text, &big).unwrap_err().status(), 400);
        let e = from_map(Kind::Text, &map(json!({"": 1}))).unwrap_err();
        assert!(e.message().starts_with("data: keys must be"));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = map(json!({"a": "b", "c": {"d": "e", "f": "g"}, "x": 1}));
        merge_patch(
            &mut target,
            &map(json!({"a": "z", "c": {"f": null}, "x": null, "n": [1]})),
        );
        assert_eq!(target, map(json!({"a": "z", "c": {"d": "e"}, "n": [1]})));
    }
}
