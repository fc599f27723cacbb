//! The vault's notion of now: the guest wall clock, which the host controls (the
//! runner sets it in tests). Nothing else in the core reads time.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::VaultError;

/// Current Unix time in whole seconds.
pub fn now_unix() -> Result<i64, VaultError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| VaultError::io("wall clock is before 1970"))?;
    i64::try_from(since.as_secs()).map_err(|_| VaultError::io("wall clock out of range"))
}
