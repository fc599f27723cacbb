//! Reading what clients send: query parameters, JSON bodies and HTML forms.
//!
//! Clients disagree on the case of parameter and property names (`folderName`,
//! `FolderName`; `PrincipalID`, `secretids`) and on how to spell booleans (`True`,
//! `true`, `1`), so names are matched case-insensitively and booleans leniently.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, Result};

pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";
pub const MULTIPART: &str = "multipart/form-data";

/// Name/value pairs from a query string or an urlencoded form, looked up by name
/// without regard to case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// Query string parameters.
pub type Query = Params;
/// Fields of an `application/x-www-form-urlencoded` body.
pub type Form = Params;

impl Params {
    /// Parses `a=1&b=2` (without the `?`), decoding `%XX` and `+`.
    pub fn parse(input: &[u8]) -> Self {
        Params {
            pairs: form_urlencoded::parse(input).into_owned().collect(),
        }
    }

    /// The first value given for `name`, whatever its case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `true`/`false` in any case, or `1`/`0`. An empty value counts as absent.
    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        let Some(raw) = self.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        if raw.eq_ignore_ascii_case("true") || raw == "1" {
            Ok(Some(true))
        } else if raw.eq_ignore_ascii_case("false") || raw == "0" {
            Ok(Some(false))
        } else {
            Err(ApiError::bad_request(name, "must be true or false"))
        }
    }

    /// A decimal integer from `min` to `max`. An empty value counts as absent.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        let Some(raw) = self.get(name).map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad_request(
                name,
                &format!("must be an integer from {min} to {max}"),
            )),
        }
    }
}

/// The media type of a Content-Type header value, lowercased, without parameters.
pub fn media_type(content_type: Option<&str>) -> Option<String> {
    let essence = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

fn is_json(content_type: Option<&str>) -> bool {
    media_type(content_type)
        .is_some_and(|m| m == JSON || (m.starts_with("application/") && m.ends_with("+json")))
}

/// 415 unless the Content-Type is JSON (`application/json` or `application/*+json`).
pub fn require_json(content_type: Option<&str>) -> Result<()> {
    if is_json(content_type) {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(JSON))
    }
}

/// Binds a JSON body to `T`, whose fields are declared in lowercase
/// (`#[serde(rename_all = "lowercase")]`): property names are lowercased first, at
/// every depth, so any casing binds.
pub fn json_body<T: DeserializeOwned>(content_type: Option<&str>, body: &[u8]) -> Result<T> {
    require_json(content_type)?;
    from_json(json_value(body)?)
}

/// Parses a JSON body (Content-Type not checked) and lowercases its property names.
pub fn json_value(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("body", "required, a JSON document"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // serde_json's syntax messages do not quote the input, but the position is
        // all a client needs, and it can never leak a value.
        ApiError::bad_request(
            "body",
            &format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        )
    })?;
    Ok(lowercase_keys(value))
}

/// Deserializes an already lowercased value; a mismatch names the property.
pub fn from_json<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        // serde's own message can quote the offending value (which may be a secret),
        // so only the path is kept.
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." => "body".to_owned(),
            p if p.starts_with('[') => format!("body{p}"),
            p => p.to_owned(),
        };
        ApiError::bad_request(&field, "has the wrong type or value")
    })
}

/// Lowercases every object key, recursively.
pub fn lowercase_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lowercase_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}

/// The Content-Type header value when its media type is `expected`; 415 otherwise.
pub fn require_media_type<'a>(content_type: Option<&'a str>, expected: &str) -> Result<&'a str> {
    match content_type {
        Some(value) if media_type(Some(value)).as_deref() == Some(expected) => Ok(value),
        _ => Err(ApiError::unsupported_media_type(expected)),
    }
}

/// Reads an `application/x-www-form-urlencoded` body; 415 for any other Content-Type.
pub fn form_body(content_type: Option<&str>, body: &[u8]) -> Result<Form> {
    require_media_type(content_type, FORM)?;
    Ok(Params::parse(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn query_names_match_in_any_case() {
        let q = Query::parse(b"folderName=a%20b&RootOnly=False&includeSubfolders=True&limit=10");
        assert_eq!(q.get("foldername"), Some("a b"));
        assert_eq!(q.get("FolderName"), Some("a b"));
        assert_eq!(q.get("folderName"), Some("a b"));
        assert_eq!(q.bool("rootOnly"), Ok(Some(false)));
        assert_eq!(q.bool("includesubfolders"), Ok(Some(true)));
        assert_eq!(q.int("Limit", 1, 1000), Ok(Some(10)));
        assert_eq!(q.get("missing"), None);
        assert_eq!(q.bool("missing"), Ok(None));
    }

    #[test]
    fn booleans_are_lenient_but_not_anything_goes() {
        for (raw, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
            ("False", false),
            ("0", false),
        ] {
            let q = Query::parse(format!("decrypt={raw}").as_bytes());
            assert_eq!(q.bool("decrypt"), Ok(Some(want)), "{raw}");
        }
        let e = Query::parse(b"decrypt=yes").bool("decrypt").err();
        assert_eq!(
            e.map(|e| e.message().to_owned()),
            Some("decrypt: must be true or false".to_owned())
        );
        assert_eq!(Query::parse(b"decrypt=").bool("decrypt"), Ok(None));
    }

    #[test]
    fn integers_have_clear_errors() {
        let q = Query::parse(b"limit=abc&offset=-1&big=99999999999999999999");
        let msg = |r: Result<Option<i64>>| r.err().map(|e| e.message().to_owned());
        assert_eq!(
            msg(q.int("limit", 1, 1000)),
            Some("limit: must be an integer from 1 to 1000".to_owned())
        );
        assert_eq!(
            msg(q.int("offset", 0, i64::MAX)),
            Some(format!("offset: must be an integer from 0 to {}", i64::MAX))
        );
        assert!(q.int("big", 0, i64::MAX).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    struct Inner {
        principalid: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    struct Dto {
        username: Option<String>,
        isadministrator: Option<bool>,
        #[serde(default)]
        permissions: Vec<Inner>,
    }

    #[test]
    fn json_properties_bind_in_any_case() {
        let body = br#"{"UserName":"a","ISADMINISTRATOR":true,"Permissions":[{"PrincipalID":3}]}"#;
        let dto: Result<Dto> = json_body(Some("application/json; charset=utf-8"), body);
        assert_eq!(
            dto,
            Ok(Dto {
                username: Some("a".into()),
                isadministrator: Some(true),
                permissions: vec![Inner { principalid: 3 }],
            })
        );
    }

    #[test]
    fn json_errors_name_the_problem_without_echoing_values() {
        let status = |r: Result<Dto>| r.err().map(|e| e.status().as_u16());
        assert_eq!(status(json_body(None, b"{}")), Some(415));
        assert_eq!(status(json_body(Some("text/plain"), b"{}")), Some(415));
        assert_eq!(
            status(json_body(Some("application/merge-patch+json"), b"{}")),
            None
        );

        let e: Option<ApiError> = json_body::<Dto>(Some(JSON), b"{\"UserName\": \"hunter2").err();
        let e = e.map(|e| (e.status().as_u16(), e.message().to_owned()));
        assert_eq!(e.as_ref().map(|e| e.0), Some(400));
        let message = e.map(|e| e.1).unwrap_or_default();
        assert!(message.starts_with("body: not valid JSON"), "{message}");
        assert!(!message.contains("hunter2"));

        let e = json_body::<Dto>(Some(JSON), br#"{"IsAdministrator":"s3cret"}"#).err();
        let message = e.map(|e| e.message().to_owned()).unwrap_or_default();
        assert_eq!(message, "isadministrator: has the wrong type or value");

        let e = json_body::<Dto>(Some(JSON), b"").err();
        assert_eq!(
            e.map(|e| e.message().to_owned()),
            Some("body: required, a JSON document".to_owned())
        );

        let e = json_body::<Dto>(Some(JSON), b"[1]").err();
        assert_eq!(
            e.map(|e| e.message().to_owned()),
            Some("body[0]: has the wrong type or value".to_owned())
        );
        let e = json_body::<Dto>(Some(JSON), b"7").err();
        assert_eq!(
            e.map(|e| e.message().to_owned()),
            Some("body: has the wrong type or value".to_owned())
        );
        let e = json_body::<Dto>(Some(JSON), br#"{"permissions":[{"PrincipalID":"x"}]}"#).err();
        assert_eq!(
            e.map(|e| e.message().to_owned()),
            Some("permissions[0].principalid: has the wrong type or value".to_owned())
        );
    }

    #[test]
    fn forms_parse_and_check_their_content_type() {
        let f = form_body(
            Some("application/x-www-form-urlencoded"),
            b"client_id=abc&client_secret=a%2Bb&grant_type=client_credentials&scope=publicapi+secrets.read",
        );
        let f = f.unwrap_or_default();
        assert_eq!(f.get("client_secret"), Some("a+b"));
        assert_eq!(f.get("scope"), Some("publicapi secrets.read"));
        let e = form_body(Some(JSON), b"a=b").err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(415));
    }

    #[test]
    fn require_media_type_keeps_the_parameters() {
        let multipart = "Multipart/Form-Data; boundary=xyz";
        assert_eq!(
            require_media_type(Some(multipart), MULTIPART),
            Ok(multipart)
        );
        let status = |r: Result<&str>| r.err().map(|e| e.status().as_u16());
        assert_eq!(status(require_media_type(Some(JSON), MULTIPART)), Some(415));
        assert_eq!(status(require_media_type(None, MULTIPART)), Some(415));
    }

    #[test]
    fn media_type_ignores_case_and_parameters() {
        assert_eq!(
            media_type(Some("Application/JSON ; charset=UTF-8")).as_deref(),
            Some("application/json")
        );
        assert_eq!(media_type(Some("")), None);
        assert_eq!(media_type(None), None);
    }
}
