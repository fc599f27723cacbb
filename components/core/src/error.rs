//! The core's one error type, a mirror of the WIT `error` variant that the pure modules
//! can use without the generated bindings. Payloads are reasons, never values: no SQL
//! parameter, key, token or plaintext ever goes into one.

use std::fmt;

use crate::envelope::KeyId;

/// The KEK message is fixed so that no code path can echo the variable's value.
pub const KEK_HELP: &str =
    "variable `kek` must be 32 bytes in base64 or hex; generate one with `openssl rand -base64 32`";

pub const KEK_PREVIOUS_HELP: &str =
    "variable `kek_previous` must be empty or 32 bytes in base64 or hex, like `kek`";

/// `what` (the keyring, or a vault made before it) is wrapped by a KEK that is neither
/// configured one. Key ids are the first bytes of a SHA-256 of the key, not the key.
pub fn kek_does_not_open(
    what: &str,
    wrapped_by: &str,
    kek: KeyId,
    kek_previous: Option<KeyId>,
) -> VaultError {
    let previous = kek_previous.map_or_else(|| "empty".to_owned(), |id| format!("key id {id}"));
    VaultError::KeyUnavailable(format!(
        "{what} is wrapped by the key with id {wrapped_by}, which is neither variable `kek` \
         (key id {kek}) nor variable `kek_previous` ({previous}); set `kek` to the key that \
         wraps it, or, while rotating, `kek_previous`. Nothing was changed."
    ))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// A uniqueness or foreign-key rule refused a write; names the rule.
    Conflict(String),
    /// The caller passed something the vault cannot accept.
    Invalid(String),
    /// The key-encryption key is missing or malformed, or no configured KEK opens the
    /// keyring; says how to fix it.
    KeyUnavailable(String),
    /// A sealed value failed authentication.
    Tampered,
    /// Another writer kept the database locked past the wait (`db::LOCK_WAIT`).
    Busy(String),
    /// Anything else.
    Io(String),
}

impl VaultError {
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::Invalid(reason.into())
    }

    pub fn io(reason: impl Into<String>) -> Self {
        Self::Io(reason.into())
    }
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Conflict(rule) => write!(f, "conflict: {rule}"),
            Self::Invalid(reason) => write!(f, "invalid: {reason}"),
            Self::KeyUnavailable(reason) => write!(f, "key unavailable: {reason}"),
            Self::Tampered => f.write_str("tampered"),
            Self::Busy(reason) => write!(f, "busy: {reason}"),
            Self::Io(reason) => write!(f, "io: {reason}"),
        }
    }
}

/// The OS random source failed; on WASI 0.2 it cannot, so this only guards the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomUnavailable;

impl From<RandomUnavailable> for VaultError {
    fn from(_: RandomUnavailable) -> Self {
        VaultError::io("random source unavailable")
    }
}
