//! Folder, safe and secret ids are GUIDs, stored lower-case.

use edgesafe_api_common::{ApiError, Result};

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
