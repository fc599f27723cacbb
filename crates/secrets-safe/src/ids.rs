//! Folder, safe and secret ids are GUIDs, stored lower-case. Each kind has its own
//! type, so that a guard asked about a safe cannot be handed a folder's id.

use edgesafe_api_common::vault::Value;
use edgesafe_api_common::{ApiError, Result};
use std::fmt;

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The id in a path: a malformed one is simply not found (no parse details leak).
pub fn path_id(segment: &str) -> Result<String> {
    uuid::Uuid::parse_str(segment)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found())
}

/// An id in a request body: a malformed one is a bad request naming the field.
pub fn body_id(field: &str, value: &str) -> Result<String> {
    uuid::Uuid::parse_str(value.trim())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_request(field, "must be a GUID"))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// An id read from the database or already checked as a GUID.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&$name> for Value {
            fn from(id: &$name) -> Value {
                Value::Text(id.0.clone())
            }
        }
    };
}

id_type!(
    /// A safe: a folder without a parent, the holder of grants.
    SafeId
);
id_type!(
    /// A folder (or a safe, as the root folder of its tree).
    FolderId
);
id_type!(
    /// A secret.
    SecretId
);

impl FolderId {
    /// A safe is its own root folder.
    pub fn of_safe(safe: &SafeId) -> Self {
        Self(safe.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_lower_case() {
        let id = path_id("3F2504E0-4F89-11D3-9A0C-0305E82C3301").unwrap();
        assert_eq!(id, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
        assert_eq!(path_id("nope").unwrap_err().status(), 404);
        assert_eq!(body_id("FolderId", "nope").unwrap_err().status(), 400);
        assert_ne!(new_id(), new_id());
    }
}
