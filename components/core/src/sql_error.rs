//! Turns SQLite's failure messages into the vault's error variants. The host passes
//! SQLite's own text (e.g. "UNIQUE constraint failed: users.user_name"), which names
//! tables, columns and rules but never bound values; the payloads below keep only the
//! rule, and cap the length of anything passed through.

use crate::error::VaultError;

const MAX_REASON: usize = 200;

pub fn classify(message: &str) -> VaultError {
    if let Some(columns) = after(message, "UNIQUE constraint failed: ") {
        return VaultError::Conflict(format!("unique: {}", bounded(columns)));
    }
    if message.contains("FOREIGN KEY constraint failed") {
        return VaultError::Conflict("foreign key".into());
    }
    if let Some(rule) = after(message, "CHECK constraint failed: ") {
        return VaultError::Invalid(format!("check: {}", bounded(rule)));
    }
    if let Some(column) = after(message, "NOT NULL constraint failed: ") {
        return VaultError::Invalid(format!("not null: {}", bounded(column)));
    }
    const BAD_SQL: [&str; 8] = [
        "syntax error",
        "no such table",
        "no such column",
        "no such function",
        "ambiguous column",
        "datatype mismatch",
        "incomplete input",
        "parameter",
    ];
    let lower = message.to_ascii_lowercase();
    if BAD_SQL.iter().any(|m| lower.contains(m)) {
        return VaultError::Invalid(format!("sql: {}", bounded(message)));
    }
    VaultError::Io(bounded(message).to_string())
}

fn after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    message.find(marker).map(|i| &message[i + marker.len()..])
}

fn bounded(text: &str) -> &str {
    let text = text.trim();
    if text.len() <= MAX_REASON {
        return text;
    }
    let mut end = MAX_REASON;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_failures_map_to_their_rule() {
        assert_eq!(
            classify("UNIQUE constraint failed: users.user_name"),
            VaultError::Conflict("unique: users.user_name".into())
        );
        assert_eq!(
            classify("Error code 2067: UNIQUE constraint failed: group_members.group_id, group_members.user_id"),
            VaultError::Conflict("unique: group_members.group_id, group_members.user_id".into())
        );
        assert_eq!(
            classify("FOREIGN KEY constraint failed"),
            VaultError::Conflict("foreign key".into())
        );
        assert_eq!(
            classify("CHECK constraint failed: is_admin IN (0, 1)"),
            VaultError::Invalid("check: is_admin IN (0, 1)".into())
        );
        assert_eq!(
            classify("NOT NULL constraint failed: users.created_at"),
            VaultError::Invalid("not null: users.created_at".into())
        );
    }

    #[test]
    fn bad_sql_is_invalid_and_the_rest_is_io() {
        assert!(matches!(
            classify("near \"SELEC\": syntax error"),
            VaultError::Invalid(_)
        ));
        assert!(matches!(
            classify("no such table: nope"),
            VaultError::Invalid(_)
        ));
        assert!(matches!(
            classify("Wrong number of parameters passed to query. Got 1, needed 2"),
            VaultError::Invalid(_)
        ));
        assert_eq!(
            classify("database is locked"),
            VaultError::Io("database is locked".into())
        );
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = "é".repeat(300);
        match classify(&long) {
            VaultError::Io(m) => assert!(m.len() <= MAX_REASON && m.chars().all(|c| c == 'é')),
            other => panic!("{other:?}"),
        }
    }
}
