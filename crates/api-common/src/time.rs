//! Wall-clock time for the guests.
//!
//! The host provides the clock (the runner can move it in tests), so the only way to
//! read it is [`now_unix`]; never another time source. Stored times are Unix seconds.
//!
//! Formatting uses the `time` crate: it is small, maintained, needs no time-zone
//! database or system calls (chrono's `clock` feature would probe the local zone), and
//! both formats and parses with compile-time checked descriptions.

use std::time::{SystemTime, UNIX_EPOCH};

use ::time::format_description::well_known::Rfc3339;
use ::time::macros::format_description;
use ::time::{Date, OffsetDateTime, PrimitiveDateTime};

/// Seconds since the Unix epoch, from the host's wall clock.
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock before 1970 is a broken host; 0 keeps arithmetic sane.
        Err(_) => 0,
    }
}

/// The range `yyyy` can show.
const MIN_UNIX: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
const MAX_UNIX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// `yyyy-MM-ddTHH:mm:ssZ` (UTC), the format Password Safe uses on the wire.
pub fn format_utc(unix: i64) -> String {
    let clamped = unix.clamp(MIN_UNIX, MAX_UNIX);
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(clamped)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Reads a client's timestamp: RFC 3339 (`2030-01-02T03:04:05Z`, `...+02:00`,
/// fractions allowed), or without a zone (`2030-01-02T03:04:05`, taken as UTC), or a
/// bare date (`2030-01-02`, midnight UTC).
pub fn parse_utc(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let local = format_description!(
        version = 2,
        "[year]-[month]-[day][first [T] [ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if let Ok(t) = PrimitiveDateTime::parse(text, &local) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let date = format_description!("[year]-[month]-[day]");
    Date::parse(text, &date)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_password_safe_does() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_utc(i64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!(parse_utc("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-11-14T23:13:20+01:00"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-11-14T22:13:20.5Z"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-11-14T22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-11-14 22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_utc("2023-11-14"), Some(1_699_920_000));
        assert_eq!(parse_utc("tomorrow"), None);
        assert_eq!(parse_utc("2023-13-01"), None);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_unix() > 1_577_836_800);
    }
}
