//! The Secrets Safe model shared by the folders, secrets and safes components.
//!
//! Authorization on every object has two parts, both named per endpoint in one table
//! (`required`): the level of the feature permission (`secrets_safe`: read, or
//! read/write) and the flag on the safe the object lives in. A folder or secret the caller may not see answers exactly like one
//! that does not exist (404), so ids cannot be probed.

pub mod access;
pub mod favorite;
pub mod folders;
pub mod ids;
pub mod kind;
pub mod paging;
pub mod permissions;
pub mod required;
pub mod versions;

pub use access::{feature_access, Access, FEATURE, WORKFORCE};
pub use favorite::FavoriteIn;
pub use folders::Folder;
pub use kind::Kind;
pub use permissions::Flags;
pub use required::Endpoint;
