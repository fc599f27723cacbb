//! What each Secrets Safe endpoint requires, in one table: the level of the
//! Secrets-Safe feature permission the reference names for it ("Secrets-Safe (Read)" or
//! "(Read/Write)"), and the flag the caller must hold on the safe the object lives in.
//! Handlers name their [`Endpoint`]; `Access` enforces both parts from here. In the
//! caller's personal folder the level is that of his Workforce Passwords feature
//! instead, and the flags those of `access::PERSONAL`.
//!
//! The reference gives several changes to Read: updating a safe and assigning or
//! revoking its permissions ("Secrets Safe (Read)"), removing shares. There the flag on
//! the safe (Edit, Manage, Share) is what guards the change. Where the reference names
//! no level, creating a share and moves need Read/Write; marking a favourite, the
//! caller's own mark, needs Read.
//!
//! Every Read/Write endpoint but the safes' needs a flag beyond Read on the safe: a
//! caller whose feature for a place reaches Read only holds Read there
//! (`access::Reach`), so that flag is what refuses him.

use crate::permissions::Flags;
use edgesafe_api_common::principal::{LEVEL_READ, LEVEL_WRITE};

/// A Secrets Safe v3 endpoint, as the reference lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET safes`
    SafeList,
    /// `POST safes`
    SafeCreate,
    /// `GET safes/{id}`
    SafeRead,
    /// `PUT safes/{id}`
    SafeUpdate,
    /// `DELETE safes/{id}`
    SafeDelete,
    /// `GET safes/safe-permissions`
    PermissionNames,
    /// `GET safes/{id}/safe-permissions`
    PermissionList,
    /// `PUT safes/{id}/safe-permissions`
    PermissionGrant,
    /// `DELETE safes/{id}/safe-permissions`
    PermissionRevoke,
    /// `GET folders`
    FolderList,
    /// `POST folders`
    FolderCreate,
    /// `GET folders/{id}`
    FolderRead,
    /// `PUT folders/{id}`
    FolderUpdate,
    /// `DELETE folders/{id}`
    FolderDelete,
    /// `PUT folders/{id}/move` (within a safe; across safes see `access::folder_move`)
    FolderMove,
    /// `PUT folders/{id}/favorite`
    FolderFavorite,
    /// `POST folders/{id}[/upload]` (CSV)
    FolderImport,
    /// `GET secrets`, `GET folders/{id}/secrets`
    SecretList,
    /// `POST folders/{id}/secrets[/text|/file]`
    SecretCreate,
    /// `GET secrets/{id}[/text|/file|/file/download]`
    SecretRead,
    /// `PUT secrets/{id}[/text|/file]`
    SecretUpdate,
    /// `DELETE secrets/{id}`
    SecretDelete,
    /// `PUT secrets/move` (the flags of each move: `access::SECRET_MOVE`)
    SecretMove,
    /// `PUT secrets/{id}/favorite`
    SecretFavorite,
    /// API 3.3 (not in the reference; as the newest library calls it): a secret's
    /// versions, one old version, and its TOTP code are reads of the secret.
    SecretHistory,
    /// API 3.3: making an old version current again is an update.
    SecretRollback,
    /// `GET secrets/{id}/shares`
    ShareList,
    /// `POST secrets/{id}/shares/{folderId}` (and Create on the folder's safe)
    ShareCreate,
    /// `DELETE secrets/{id}/shares/{folderId}`
    ShareDelete,
    /// `DELETE secrets/{id}/shares`
    ShareDeleteAll,
}

/// The feature level and the flag on the safe an endpoint needs. `Flags::NONE` where
/// no one safe is involved (lists show what the caller may read; a new safe is the
/// creator's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Required {
    /// `LEVEL_READ` or `LEVEL_WRITE` of the feature of the place: Secrets-Safe for the
    /// safes, Workforce Passwords for the caller's personal folder.
    pub feature: u8,
    pub safe: Flags,
    /// The level of Workforce Passwords needed wherever the object is (0: none).
    pub workforce: u8,
    /// Whether the endpoint serves personal folders too (false: safes only).
    pub personal: bool,
}

const fn needs(feature: u8, safe: Flags) -> Required {
    Required {
        feature,
        safe,
        workforce: 0,
        personal: true,
    }
}

/// The safes area: a personal folder is no safe.
const fn safes_only(feature: u8, safe: Flags) -> Required {
    Required {
        personal: false,
        ..needs(feature, safe)
    }
}

const R: u8 = LEVEL_READ;
const RW: u8 = LEVEL_WRITE;

impl Endpoint {
    /// The table.
    pub const fn required(self) -> Required {
        use Endpoint::*;
        match self {
            SafeList => safes_only(R, Flags::NONE),
            SafeCreate => safes_only(RW, Flags::NONE),
            SafeRead => safes_only(R, Flags::READ),
            SafeUpdate => safes_only(R, Flags::UPDATE),
            SafeDelete => safes_only(RW, Flags::DELETE),
            PermissionNames => safes_only(R, Flags::NONE),
            PermissionList => safes_only(R, Flags::READ),
            PermissionGrant => safes_only(R, Flags::MANAGE),
            PermissionRevoke => safes_only(R, Flags::MANAGE),
            FolderList => needs(R, Flags::NONE),
            FolderCreate => needs(RW, Flags::CREATE),
            FolderRead => needs(R, Flags::READ),
            FolderUpdate => needs(RW, Flags::UPDATE),
            FolderDelete => needs(RW, Flags::DELETE),
            FolderMove => needs(RW, Flags::UPDATE),
            // A favourite is the caller's own mark, not a change to the safe.
            FolderFavorite => needs(R, Flags::READ),
            // "Workforce Passwords Read/Write, when destination folder is a Personal
            // Folder; Workforce Passwords Read/Write and Secrets Safe ReadWrite, when
            // destination folder is a team folder."
            FolderImport => Required {
                workforce: RW,
                ..needs(RW, Flags::CREATE)
            },
            SecretList => needs(R, Flags::NONE),
            SecretCreate => needs(RW, Flags::CREATE),
            SecretRead => needs(R, Flags::READ),
            SecretUpdate => needs(RW, Flags::UPDATE),
            SecretDelete => needs(RW, Flags::DELETE),
            SecretMove => needs(RW, Flags::NONE),
            SecretFavorite => needs(R, Flags::READ),
            SecretHistory => needs(R, Flags::READ),
            SecretRollback => needs(RW, Flags::UPDATE),
            ShareList => needs(R, Flags::READ),
            ShareCreate => needs(RW, Flags::SHARE),
            ShareDelete => needs(R, Flags::SHARE),
            ShareDeleteAll => needs(R, Flags::SHARE),
        }
    }

    /// The flag this endpoint needs on the object's safe.
    pub const fn safe_flag(self) -> Flags {
        self.required().safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_gives_these_changes_to_read() {
        for endpoint in [
            Endpoint::SafeUpdate,
            Endpoint::PermissionGrant,
            Endpoint::PermissionRevoke,
            Endpoint::ShareDelete,
            Endpoint::ShareDeleteAll,
        ] {
            assert_eq!(endpoint.required().feature, LEVEL_READ, "{endpoint:?}");
            assert!(
                !endpoint.safe_flag().is_empty(),
                "{endpoint:?} guarded by a flag"
            );
        }
    }

    #[test]
    fn read_write_needs_a_flag_beyond_read_outside_the_safes_area() {
        use Endpoint::*;
        for endpoint in [
            FolderCreate,
            FolderUpdate,
            FolderDelete,
            FolderMove,
            FolderImport,
            SecretCreate,
            SecretUpdate,
            SecretDelete,
            SecretRollback,
            ShareCreate,
        ] {
            let required = endpoint.required();
            assert_eq!(required.feature, LEVEL_WRITE, "{endpoint:?}");
            assert!(required.personal, "{endpoint:?}");
            assert!(
                !required.safe.is_empty() && required.safe != Flags::READ,
                "{endpoint:?}"
            );
        }
        // A move's flags are per secret (`access::SECRET_MOVE`), both beyond Read.
        assert_eq!(SecretMove.required().feature, LEVEL_WRITE);
        for endpoint in [SafeCreate, SafeDelete] {
            assert!(!endpoint.required().personal, "{endpoint:?}");
        }
    }

    #[test]
    fn creating_and_deleting_need_read_write() {
        for endpoint in [
            Endpoint::SafeCreate,
            Endpoint::SafeDelete,
            Endpoint::FolderCreate,
            Endpoint::FolderDelete,
            Endpoint::SecretCreate,
            Endpoint::SecretDelete,
            Endpoint::FolderImport,
        ] {
            assert_eq!(endpoint.required().feature, LEVEL_WRITE, "{endpoint:?}");
        }
    }
}
