//! Failed sign-ins, counted per source address and limited, so that anonymous callers
//! can neither guess credentials at speed nor fill the audit trail (or hold its write
//! lock) with refusals.
//!
//! The counts live in SQLite (`auth_failures`), so every instance sharing the database
//! shares them (DESIGN §7). A source that reached `sign_in_failure_limit` failures
//! within `sign_in_failure_window_seconds` of its first one gets 429 with `Retry-After`
//! on every route until the window ends, before its credentials are even looked at;
//! such a request writes nothing. Reaching the limit is recorded once per window by
//! one summarising audit event.

use std::net::SocketAddr;

use crate::error::{ApiError, Result};
use crate::vault::{audit, setting, statement, AuditEvent, Db, Decision};

const DEFAULT_LIMIT: i64 = 10;
const DEFAULT_WINDOW_SECONDS: i64 = 300;

/// How many failures a source may have per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub failures: i64,
    pub window_seconds: i64,
}

impl Limit {
    /// The limit from the app's settings, or the defaults.
    pub fn from_settings() -> Self {
        Limit {
            failures: setting("sign_in_failure_limit", DEFAULT_LIMIT, |n| *n > 0),
            window_seconds: setting(
                "sign_in_failure_window_seconds",
                DEFAULT_WINDOW_SECONDS,
                |n| *n > 0,
            ),
        }
    }
}

/// The counting key of a client address (Spin's `spin-client-addr`, `ip:port`): the
/// IP alone, since every connection has its own port.
pub fn source(client_addr: Option<&str>) -> String {
    match client_addr.map(str::trim) {
        Some(addr) => addr
            .parse::<SocketAddr>()
            .map_or_else(|_| addr.to_owned(), |a| a.ip().to_string()),
        None => "unknown".to_owned(),
    }
}

/// Seconds the source must still wait, when the limit holds against it.
fn retry_after(limit: Limit, window_start: i64, failures: i64, now: i64) -> Option<u64> {
    let window_end = window_start.saturating_add(limit.window_seconds);
    (failures >= limit.failures && window_end > now)
        .then(|| u64::try_from(window_end - now).unwrap_or(1))
}

/// 429 when `source` used up its failures in the current window.
pub fn check(limit: Limit, source: &str, now: i64) -> Result<()> {
    let rows = Db::query(
        "SELECT window_start, failures FROM auth_failures WHERE source = ?1",
        &[source.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(());
    };
    match retry_after(limit, row.i64("window_start")?, row.i64("failures")?, now) {
        Some(seconds) => Err(ApiError::too_many_requests(seconds)),
        None => Ok(()),
    }
}

/// Counts one failure of `source` (a new window when the last one is over) and, for
/// the failure that reaches the limit, records the one summarising audit event.
pub fn record(limit: Limit, source: &str, now: i64) -> Result<()> {
    let outcomes = Db::execute(vec![
        statement(
            "INSERT INTO auth_failures (source, window_start, failures) VALUES (?1, ?2, 1)
             ON CONFLICT (source) DO UPDATE SET
               failures = CASE WHEN window_start + ?3 <= ?2 THEN 1 ELSE failures + 1 END,
               summarized = CASE WHEN window_start + ?3 <= ?2 THEN 0 ELSE summarized END,
               window_start = CASE WHEN window_start + ?3 <= ?2 THEN ?2 ELSE window_start END",
            vec![source.into(), now.into(), limit.window_seconds.into()],
        ),
        // Exactly one failure per window flips the flag, also among instances.
        statement(
            "UPDATE auth_failures SET summarized = 1
              WHERE source = ?1 AND failures >= ?2 AND summarized = 0",
            vec![source.into(), limit.failures.into()],
        ),
    ])?;
    if outcomes.get(1).is_some_and(|o| o.changes == 1) {
        let detail = format!(
            "source={source}; failures={}; window_seconds={}",
            limit.failures, limit.window_seconds
        );
        audit(AuditEvent {
            actor: "anonymous",
            action: "identity.sign-in-limited",
            target: &format!("source:{source}"),
            decision: Decision::Deny,
            purpose: "sign-in",
            detail: &detail,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_the_ip_without_the_port() {
        assert_eq!(source(Some("127.0.0.1:54321")), "127.0.0.1");
        assert_eq!(source(Some("[::1]:8080")), "::1");
        assert_eq!(source(Some("10.0.0.7")), "10.0.0.7");
        assert_eq!(source(None), "unknown");
    }

    #[test]
    fn the_limit_holds_until_the_window_ends() {
        let limit = Limit {
            failures: 3,
            window_seconds: 60,
        };
        assert_eq!(retry_after(limit, 1000, 2, 1010), None);
        assert_eq!(retry_after(limit, 1000, 3, 1010), Some(50));
        assert_eq!(retry_after(limit, 1000, 3, 1059), Some(1));
        assert_eq!(retry_after(limit, 1000, 3, 1060), None);
        assert_eq!(retry_after(limit, 1000, 9, 2000), None);
    }
}
