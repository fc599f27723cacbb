//! The core's one error type, a mirror of the WIT `error` variant that the pure modules
//! can use without the generated bindings. Payloads are reasons, never values: no SQL
//! parameter, key, token or plaintext ever goes into one.

use std::fmt;

/// The KEK message is fixed so that no code path can echo the variable's value.
pub const KEK_HELP: &str =
    "variable `kek` must be 32 bytes in base64 or hex; generate one with `openssl rand -base64 32`";

pub const KEK_PREVIOUS_HELP: &str =
    "variable `kek_previous` must be empty or 32 bytes in base64 or hex, like `kek`";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultError {
    /// A uniqueness or foreign-key rule refused a write; names the rule.
    Conflict(String),
    /// The caller passed something the vault cannot accept.
    Invalid(String),
    /// The key-encryption key is missing or malformed; says how to fix it.
    KeyUnavailable(String),
    /// A sealed value failed authentication.
    Tampered,
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
