//! Safe permission flags and the combinations Password Safe accepts.
//!
//! One set of names everywhere, the reference's list (`GET safes/safe-permissions`,
//! the `PermissionFlags` of a new safe) and what clients see live: `Read`, `Create`,
//! `Edit`, `Delete`, `Manage`, `Share`, in that order. Requests may also say `Update`
//! (the reference's list of combinations does) and `Manage Safe`.

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
    /// `Update` is accepted for `Edit` and `Manage Safe` for `Manage`; an entry may
    /// hold several names separated by commas (the reference lists combinations as
    /// `"Read, Create"`). Only the combinations the reference lists are accepted: None,
    /// Read with any of Create/Edit/Delete/Share, or Manage, which holds them all (so
    /// the full list answered for a manager reads back as Manage).
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
                        "names must be None, Read, Create, Edit (Update), Delete, Share or Manage",
                    )),
                };
                flags = flags.union(flag);
            }
        }
        let valid =
            flags.is_empty() || flags.contains(Flags::MANAGE) || flags.contains(Flags::READ);
        if !valid {
            return Err(ApiError::bad_request(
                "PermissionFlags",
                "must be None, Manage Safe, or Read with any of Create, Edit, Delete, Share",
            ));
        }
        Ok(Flags::from_bits(i64::from(flags.0)))
    }

    /// Names for responses, each flag held, in the reference's order (a manager holds
    /// them all).
    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for (flag, name) in [
            (Flags::READ, "Read"),
            (Flags::CREATE, "Create"),
            (Flags::UPDATE, "Edit"),
            (Flags::DELETE, "Delete"),
            (Flags::MANAGE, "Manage"),
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

/// Every name a manager holds, as [`Flags::names`] answers it.
#[cfg(test)]
const ALL_NAMES: &[&str] = &["Read", "Create", "Edit", "Delete", "Manage", "Share"];

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
            ["Read", "Create", "Edit"]
        );
        assert_eq!(
            parse(&["Read, Delete, Share"]).unwrap().names(),
            ["Read", "Delete", "Share"]
        );
        assert_eq!(parse(&["read", "edit"]).unwrap().names(), ["Read", "Edit"]);
        assert_eq!(parse(&["Manage Safe"]).unwrap(), Flags::ALL);
        assert_eq!(
            parse(ALL_NAMES).unwrap(),
            Flags::ALL,
            "a manager's list reads back"
        );
        assert_eq!(parse(&["Read", "Manage"]).unwrap(), Flags::ALL);
        assert_eq!(parse(&["None"]).unwrap(), Flags::NONE);
        assert_eq!(parse(&[]).unwrap(), Flags::NONE);
    }

    #[test]
    fn other_combinations_and_names_are_refused() {
        assert!(parse(&["Create"]).is_err(), "Create without Read");
        assert!(parse(&["Edit", "Share"]).is_err(), "without Read");
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
        assert_eq!(all.names(), ALL_NAMES);
        for name in all.names() {
            assert!(PERMISSION_NAMES.contains(&name), "{name} is in the list");
        }
    }
}
