//! The Secrets Safe model shared by the folders, secrets and safes components.
//!
//! Authorization on every object has two parts: the feature permission
//! (`secrets_safe`: read, or read/write) and the safe permissions of the safe the
//! object lives in. A folder or secret the caller may not see answers exactly like one
//! that does not exist (404), so ids cannot be probed.

pub mod access;
pub mod favorite;
pub mod folders;
pub mod ids;
pub mod permissions;
pub mod versions;

pub use access::{feature_access, Access, FEATURE};
pub use favorite::FavoriteIn;
pub use folders::Folder;
pub use permissions::Flags;
