//! Guest-side code shared by edgesafe's API components (gateway and areas).
//!
//! Everything here compiles and is unit-tested on the host target too; the vault
//! bindings are only callable inside a component.

pub mod area;
pub mod error;
pub mod failed_sign_ins;
pub mod principal;
pub mod protocol;
pub mod request;
pub mod response;
pub mod time;
pub mod validate;
pub mod vault;

pub use error::{ApiError, ErrorCode, Result};
pub use principal::{AuthMethod, Principal};
pub use protocol::Protocol;
