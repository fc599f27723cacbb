//! The rules text fields of request bodies follow: trimmed, a number of characters
//! (not bytes) within bounds, and no control characters.
//!
//! Messages name the rule, never the value (see [`crate::error`]); the callers' tests
//! and clients' docs quote them, so they do not change.

use crate::error::{ApiError, Result};

/// The length rule as a message: `required, 1 to 256 characters` for a required field,
/// `at most 256 characters` for an optional one (`min` 0).
pub fn length_rule(min: usize, max: usize) -> String {
    if min > 0 {
        format!("required, {min} to {max} characters")
    } else {
        format!("at most {max} characters")
    }
}

/// 400 unless `value` has `min..=max` characters.
pub fn length(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let count = value.chars().count();
    if count < min || count > max {
        return Err(ApiError::bad_request(field, &length_rule(min, max)));
    }
    Ok(())
}

/// 400 when `value` holds a control character.
pub fn no_control(field: &str, value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// 400 when `value` holds a control character other than a line break or a tab.
pub fn no_control_but_line_breaks(field: &str, value: &str) -> Result<()> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_request(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(())
}

/// A single-line text field: trimmed, `min..=max` characters, no control characters.
/// `None` when absent (or null) and optional (`min` 0); absent and required is a 400
/// with the length rule.
pub fn line(field: &str, value: Option<String>, min: usize, max: usize) -> Result<Option<String>> {
    let Some(value) = value else {
        return if min > 0 {
            Err(ApiError::bad_request(field, &length_rule(min, max)))
        } else {
            Ok(None)
        };
    };
    let value = value.trim();
    length(field, value, min, max)?;
    no_control(field, value)?;
    Ok(Some(value.to_owned()))
}

/// A required single-line text field: [`line`] with 1 to `max` characters.
pub fn required_line(field: &str, value: Option<String>, max: usize) -> Result<String> {
    line(field, value, 1, max)?.ok_or_else(|| ApiError::bad_request(field, &length_rule(1, max)))
}

/// An optional multi-line text field (a description, notes): trimmed, at most `max`
/// characters, line breaks and tabs allowed but no other control characters.
pub fn lines(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    length(field, value, 0, max)?;
    no_control_but_line_breaks(field, value)?;
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T>(r: Result<T>) -> Option<String> {
        r.err().map(|e| e.message().to_owned())
    }

    #[test]
    fn lines_are_trimmed_and_counted_in_characters() {
        assert_eq!(
            line("Name", Some("  ab  ".into()), 1, 2),
            Ok(Some("ab".into()))
        );
        assert_eq!(line("Name", Some("éé".into()), 1, 2), Ok(Some("éé".into())));
        assert_eq!(
            message(line("Name", Some("abc".into()), 1, 2)),
            Some("Name: required, 1 to 2 characters".into())
        );
        assert_eq!(
            message(line("Name", Some("   ".into()), 1, 2)),
            Some("Name: required, 1 to 2 characters".into())
        );
        assert_eq!(
            message(line("Name", Some("abc".into()), 0, 2)),
            Some("Name: at most 2 characters".into())
        );
        assert_eq!(
            message(line("Name", Some("a\tb".into()), 0, 9)),
            Some("Name: must not contain control characters".into())
        );
    }

    #[test]
    fn absent_lines_are_none_unless_required() {
        assert_eq!(line("Name", None, 0, 2), Ok(None));
        assert_eq!(
            message(line("Name", None, 1, 2)),
            Some("Name: required, 1 to 2 characters".into())
        );
        assert_eq!(
            message(required_line("Name", None, 100)),
            Some("Name: required, 1 to 100 characters".into())
        );
        assert_eq!(
            required_line("Name", Some(" a ".into()), 100),
            Ok("a".into())
        );
    }

    #[test]
    fn multi_line_text_keeps_line_breaks_and_tabs() {
        assert_eq!(
            lines("Notes", Some(" a\r\n\tb ".into()), 9),
            Ok(Some("a\r\n\tb".into()))
        );
        assert_eq!(lines("Notes", None, 9), Ok(None));
        assert_eq!(
            message(lines("Notes", Some("a\u{0}b".into()), 9)),
            Some(
                "Notes: must not contain control characters other than line breaks and tabs".into()
            )
        );
        assert_eq!(
            message(lines("Notes", Some("abc".into()), 2)),
            Some("Notes: at most 2 characters".into())
        );
    }
}
