//! The kinds of secret, as the `secrets.kind` column holds them.

use edgesafe_api_common::{ApiError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Credential,
    Text,
    File,
}

impl Kind {
    pub fn as_db(self) -> &'static str {
        match self {
            Kind::Credential => "credential",
            Kind::Text => "text",
            Kind::File => "file",
        }
    }

    pub fn from_db(value: &str) -> Result<Self> {
        match value {
            "credential" => Ok(Kind::Credential),
            "text" => Ok(Kind::Text),
            "file" => Ok(Kind::File),
            _ => Err(ApiError::internal("secrets.kind holds an unknown kind")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_the_column() {
        for kind in [Kind::Credential, Kind::Text, Kind::File] {
            assert_eq!(Kind::from_db(kind.as_db()).unwrap(), kind);
        }
        assert!(Kind::from_db("password").is_err());
    }
}
