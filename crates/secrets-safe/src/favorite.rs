//! Favourites: each user's own marks on folders and secrets.

use edgesafe_api_common::{ApiError, Result};
use serde::Deserialize;

/// The body of `PUT .../favorite` on a folder or a secret: `{Favorite: bool}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub struct FavoriteIn {
    pub favorite: Option<bool>,
}

impl FavoriteIn {
    pub fn validate(self) -> Result<bool> {
        self.favorite
            .ok_or_else(|| ApiError::bad_request("Favorite", "required, true or false"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn favorite_is_required() {
        let body = |json: &str| {
            let value = edgesafe_api_common::request::json_value(json.as_bytes())?;
            edgesafe_api_common::request::from_json::<FavoriteIn>(value)?.validate()
        };
        assert_eq!(body(r#"{"Favorite": true}"#), Ok(true));
        assert_eq!(body(r#"{"favorite": false}"#), Ok(false));
        assert_eq!(
            body("{}").map_err(|e| e.message().to_owned()),
            Err("Favorite: required, true or false".to_owned())
        );
    }
}
