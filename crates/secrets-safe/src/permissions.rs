//! Safe permission flags and the combinations Password Safe accepts.

use edgesafe_api_common::{ApiError, Result};

/// A set of safe permissions, stored as a bit set in `safe_permissions.flags`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u8);

impl Flags {
    pub const NONE: Flags = Flags(0);
    pub const READ: Flags = Flags(1);
    pub const CREATE: Flags = Flags(2);
    pub const UPDATE: Flags = Flags(4);
    pub const DELETE: Flags = Flags(8);
    pub const SHARE: Flags = Flags(16);
    pub const MANAGE: Flags = Flags(32);
    /// Manage implies every other permission.
    pub const ALL: Flags = Flags(63);

    pub const fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: i64) -> Flags {
        let flags = Flags((bits & 63) as u8);
        if flags.0 & Flags::MANAGE.0 != 0 {
            Flags::ALL
        } else {
            flags
        }
    }

    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses `PermissionFlags` from a request. Names are matched case-insensitively;
    /// `Edit` is accepted for `Update` (the permission list calls it that) and
    /// `Manage Safe` for `Manage`; an entry may hold several names separated by commas
    /// (the seed lists combinations as `"Read, Create"`). Only the combinations the
    /// seed lists are accepted: Read with any of Create/Update/Delete/Share, None, or
    /// Manage alone.
    pub fn parse(names: &[String]) -> Result<Flags> {
        let mut flags = Flags::NONE;
        for entry in names {
            for name in entry.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let flag = match name.to_ascii_lowercase().as_str() {
                    "none" => Flags::NONE,
                    "read" => Flags::READ,
                    "create" => Flags::CREATE,
                    "update" | "edit" => Flags::UPDATE,
                    "delete" => Flags::DELETE,
                    "share" => Flags::SHARE,
                    "manage" | "manage safe" | "managesafe" => Flags::MANAGE,
                    _ => return Err(ApiError::bad_request(
                        "PermissionFlags",
                        "names must be None, Read, Create, Update (Edit), Delete, Share or Manage",
                    )),
                };
                flags = flags.union(flag);
            }
        }
        let valid = flags.is_empty()
            || flags == Flags::MANAGE
            || (flags.contains(Flags::READ) && !flags.contains(Flags::MANAGE));
        if !valid {
            return Err(ApiError::bad_request(
                "PermissionFlags",
                "must be None, Manage Safe, or Read with any of Create, Update, Delete, Share",
            ));
        }
        Ok(Flags::from_bits(i64::from(flags.0)))
    }

    /// Names for responses, in a fixed order; Manage is shown alone.
    pub fn names(self) -> Vec<&'static str> {
        if self.contains(Flags::MANAGE) {
            return vec!["Manage"];
        }
        let mut names = Vec::new();
        for (flag, name) in [
            (Flags::READ, "Read"),
            (Flags::CREATE, "Create"),
            (Flags::UPDATE, "Update"),
            (Flags::DELETE, "Delete"),
            (Flags::SHARE, "Share"),
        ] {
            if self.contains(flag) {
                names.push(name);
            }
        }
        names
    }
}

/// The list `GET secrets-safe/safes/safe-permissions` answers.
pub const PERMISSION_NAMES: &[&str] = &[
    "None", "Read", "Create", "Edit", "Delete", "Manage", "Share",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(names: &[&str]) -> Result<Flags> {
        Flags::parse(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_seed_combinations_parse() {
        assert_eq!(
            parse(&["Read", "Create", "Update"]).unwrap().names(),
            ["Read", "Create", "Update"]
        );
        assert_eq!(
            parse(&["Read, Delete, Share"]).unwrap().names(),
            ["Read", "Delete", "Share"]
        );
        assert_eq!(
            parse(&["read", "edit"]).unwrap().names(),
            ["Read", "Update"]
        );
        assert_eq!(parse(&["Manage Safe"]).unwrap(), Flags::ALL);
        assert_eq!(parse(&["None"]).unwrap(), Flags::NONE);
        assert_eq!(parse(&[]).unwrap(), Flags::NONE);
    }

    #[test]
    fn other_combinations_and_names_are_refused() {
        assert!(parse(&["Create"]).is_err(), "Create without Read");
        assert!(parse(&["Read", "Manage"]).is_err(), "Manage is alone");
        assert!(parse(&["Read", "Fly"]).is_err());
    }

    #[test]
    fn manage_implies_everything() {
        let all = Flags::from_bits(32);
        for f in [
            Flags::READ,
            Flags::CREATE,
            Flags::UPDATE,
            Flags::DELETE,
            Flags::SHARE,
        ] {
            assert!(all.contains(f));
        }
        assert_eq!(all.names(), ["Manage"]);
    }
}
