//! Just enough SQL lexing to split a migration script into statements and to tell a
//! read-only query from a write. Spin's SQLite runs one statement per call, and the
//! core must refuse writes through `query`; neither needs a full parser, only to know
//! where strings, quoted names and comments are.
//!
//! Shared with `build.rs` (through `#[path]`), so it uses nothing but `core`/`std`.

/// One lexical token that matters for statement structure. String literals, quoted
/// identifiers and comments are skipped: nothing inside them can end a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A keyword, identifier or number.
    Word(&'a str),
    /// A quoted string (`'...'`).
    Quoted,
    /// A quoted identifier (`"..."`, `` `...` ``, `[...]`).
    QuotedName,
    /// Any other single character, e.g. `(`, `)`, `,`, `;`.
    Symbol(char),
}

/// A token and where it starts and ends (byte offsets) in the text.
#[derive(Debug, Clone, Copy)]
struct Spanned<'a> {
    token: Token<'a>,
    start: usize,
    end: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

fn tokens(text: &str) -> Vec<Spanned<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if text[i..].starts_with("--") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n + 1);
        } else if text[i..].starts_with("/*") {
            i = text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2);
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = if c == '[' { ']' } else { c };
            i += 1;
            loop {
                match text[i..].find(close) {
                    None => {
                        i = bytes.len();
                        break;
                    }
                    Some(n) => {
                        i += n + 1;
                        // A doubled quote is an escaped quote, except for `[...]`.
                        if close != ']' && text[i..].starts_with(close) {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Spanned {
                token: if c == '\'' {
                    Token::Quoted
                } else {
                    Token::QuotedName
                },
                start,
                end: i,
            });
        } else if is_word_char(c) {
            let len = text[i..]
                .find(|ch: char| !is_word_char(ch))
                .unwrap_or(bytes.len() - i);
            i += len;
            out.push(Spanned {
                token: Token::Word(&text[start..i]),
                start,
                end: i,
            });
        } else {
            i += c.len_utf8();
            out.push(Spanned {
                token: Token::Symbol(c),
                start,
                end: i,
            });
        }
    }
    out
}

fn is_keyword(token: Token<'_>, keyword: &str) -> bool {
    matches!(token, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
}

/// Splits a script into its statements, without the terminating `;`, dropping empty and
/// comment-only pieces. `CREATE TRIGGER ... BEGIN ... END;` stays one statement.
pub fn split(script: &str) -> Vec<String> {
    let toks = tokens(script);
    let mut statements = Vec::new();
    let mut first: Option<usize> = None;
    let mut last_end = 0;
    // Inside a trigger body, `;` ends the body's statements, not the trigger; `CASE`
    // also closes with `END`, so count those to find the body's own `END`.
    let mut trigger = false;
    let mut in_body = false;
    let mut case_depth = 0usize;
    for (n, t) in toks.iter().enumerate() {
        if first.is_none() {
            if t.token == Token::Symbol(';') {
                continue;
            }
            first = Some(n);
            trigger = starts_create_trigger(&toks[n..]);
            in_body = false;
            case_depth = 0;
        }
        if trigger {
            if is_keyword(t.token, "BEGIN") && !in_body {
                in_body = true;
            } else if in_body && is_keyword(t.token, "CASE") {
                case_depth += 1;
            } else if in_body && is_keyword(t.token, "END") {
                if case_depth > 0 {
                    case_depth -= 1;
                } else {
                    in_body = false;
                    trigger = false;
                }
            }
        }
        if t.token == Token::Symbol(';') && !in_body {
            if let Some(f) = first.take() {
                statements.push(script[toks[f].start..last_end].trim().to_string());
            }
            trigger = false;
            continue;
        }
        last_end = t.end;
    }
    if let Some(f) = first {
        statements.push(script[toks[f].start..last_end].trim().to_string());
    }
    statements
}

fn starts_create_trigger(toks: &[Spanned<'_>]) -> bool {
    let words: Vec<Token<'_>> = toks.iter().take(3).map(|t| t.token).collect();
    match words.as_slice() {
        [a, b, ..] if is_keyword(*a, "CREATE") && is_keyword(*b, "TRIGGER") => true,
        [a, b, c]
            if is_keyword(*a, "CREATE")
                && (is_keyword(*b, "TEMP") || is_keyword(*b, "TEMPORARY"))
                && is_keyword(*c, "TRIGGER") =>
        {
            true
        }
        _ => false,
    }
}

/// The statement's first keyword, upper-cased (`INSERT`, `SELECT`, ...), skipping
/// whitespace and comments.
pub fn leading_keyword(sql: &str) -> Option<String> {
    match tokens(sql).first().map(|t| t.token) {
        Some(Token::Word(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

/// Why a text is not a single read-only query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReadOnly {
    Empty,
    SeveralStatements,
    Writes,
}

/// Accepts exactly one `SELECT`, `VALUES` or `WITH ... SELECT` statement (an optional
/// trailing `;` is fine). `WITH` is followed through its common table expressions to
/// the main statement, because `WITH x AS (...) DELETE ...` writes.
pub fn check_read_only(sql: &str) -> Result<(), NotReadOnly> {
    let toks = tokens(sql);
    let body = match toks.iter().position(|t| t.token == Token::Symbol(';')) {
        Some(n) => {
            if toks[n + 1..].iter().any(|t| t.token != Token::Symbol(';')) {
                return Err(NotReadOnly::SeveralStatements);
            }
            &toks[..n]
        }
        None => &toks[..],
    };
    let Some(first) = body.first() else {
        return Err(NotReadOnly::Empty);
    };
    let main = if is_keyword(first.token, "WITH") {
        main_keyword_after_with(&body[1..])
    } else {
        Some(first.token)
    };
    match main {
        Some(t) if is_keyword(t, "SELECT") || is_keyword(t, "VALUES") => Ok(()),
        _ => Err(NotReadOnly::Writes),
    }
}

/// Walks `[RECURSIVE] name [(columns)] AS [NOT] [MATERIALIZED] (body) [, ...]` and
/// returns the first top-level token after the last body.
fn main_keyword_after_with<'a>(toks: &[Spanned<'a>]) -> Option<Token<'a>> {
    let mut depth = 0usize;
    // Set when the last top-level word was `AS` or `MATERIALIZED`: the next `(` opens
    // a CTE body rather than a column list.
    let mut body_next = false;
    let mut after_body = false;
    for t in toks {
        match t.token {
            Token::Symbol('(') => {
                if depth == 0 && body_next {
                    body_next = false;
                    after_body = true;
                }
                depth += 1;
            }
            Token::Symbol(')') => {
                depth = depth.checked_sub(1)?;
            }
            _ if depth > 0 => {}
            token if after_body => {
                if token == Token::Symbol(',') {
                    after_body = false;
                } else {
                    return Some(token);
                }
            }
            token => {
                body_next = is_keyword(token, "AS") || is_keyword(token, "MATERIALIZED");
            }
        }
    }
    None
}

/// The names a statement refers to, as far as table access is concerned.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// Every bare word, lower-cased: table names are among them wherever they appear
    /// (FROM, JOIN, subqueries, `main.x`), along with keywords, columns and aliases.
    pub words: Vec<String>,
    /// The tables the statement writes: after `INSERT [OR x] INTO`, `REPLACE INTO`,
    /// `UPDATE [OR x]` and `DELETE FROM`, lower-cased, schema prefix dropped.
    pub written: Vec<String>,
    /// Whether a quoted identifier appears; it could name any table, so callers that
    /// police table access refuse it.
    pub quoted_names: bool,
}

/// Collects [`Names`] from one statement.
pub fn names(sql: &str) -> Names {
    let toks = tokens(sql);
    let mut out = Names::default();
    for (n, t) in toks.iter().enumerate() {
        match t.token {
            Token::Word(w) => out.words.push(w.to_ascii_lowercase()),
            Token::QuotedName => out.quoted_names = true,
            _ => {}
        }
        if let Some(target) = write_target(&toks[n..]) {
            out.written.push(target.to_ascii_lowercase());
        }
    }
    out
}

/// The table written by a statement that starts at `toks[0]`, if it is a write keyword.
fn write_target<'a>(toks: &[Spanned<'a>]) -> Option<&'a str> {
    let word = |i: usize| match toks.get(i).map(|t| t.token) {
        Some(Token::Word(w)) => Some(w),
        _ => None,
    };
    let first = word(0)?;
    // Skip `OR REPLACE` / `OR IGNORE` ... after INSERT and UPDATE.
    let after_or = |i: usize| {
        if word(i).is_some_and(|w| w.eq_ignore_ascii_case("OR")) {
            i + 2
        } else {
            i
        }
    };
    let at = if first.eq_ignore_ascii_case("INSERT") {
        let i = after_or(1);
        word(i).filter(|w| w.eq_ignore_ascii_case("INTO"))?;
        i + 1
    } else if first.eq_ignore_ascii_case("REPLACE") {
        word(1).filter(|w| w.eq_ignore_ascii_case("INTO"))?;
        2
    } else if first.eq_ignore_ascii_case("DELETE") {
        word(1).filter(|w| w.eq_ignore_ascii_case("FROM"))?;
        2
    } else if first.eq_ignore_ascii_case("UPDATE") {
        after_or(1)
    } else {
        return None;
    };
    let name = word(at)?;
    // `ON CONFLICT DO UPDATE SET ...` names no table.
    if name.eq_ignore_ascii_case("SET") {
        return None;
    }
    // `main.t`: the table is after the dot.
    if toks.get(at + 1).map(|t| t.token) == Some(Token::Symbol('.')) {
        return word(at + 2);
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let script = "-- header; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT ';');\n\
                      /* block; comment */ INSERT INTO a VALUES ('it''s; fine');\n\
                      CREATE TABLE \"b;\" ([c;] INTEGER);\n;\n-- trailing comment\n";
        assert_eq!(
            split(script),
            vec![
                "CREATE TABLE a (x TEXT DEFAULT ';')",
                "INSERT INTO a VALUES ('it''s; fine')",
                "CREATE TABLE \"b;\" ([c;] INTEGER)",
            ]
        );
    }

    #[test]
    fn keeps_a_trigger_with_case_in_one_statement() {
        let script = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n\
                      UPDATE a SET x = CASE WHEN new.x IS NULL THEN 0 ELSE 1 END;\n\
                      DELETE FROM b;\nEND;\nCREATE INDEX i ON a (x);";
        let parts = split(script);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].starts_with("CREATE TRIGGER") && parts[0].ends_with("END"));
        assert_eq!(parts[1], "CREATE INDEX i ON a (x)");
    }

    #[test]
    fn last_statement_needs_no_semicolon() {
        assert_eq!(split("SELECT 1; SELECT 2"), vec!["SELECT 1", "SELECT 2"]);
        assert!(split("  -- nothing\n ; ;").is_empty());
    }

    #[test]
    fn splits_the_real_migrations() {
        let text = include_str!("../../../migrations/0001_identity.sql");
        let parts = split(text);
        assert!(parts.len() >= 8);
        for p in &parts {
            let kw = leading_keyword(p).unwrap_or_default();
            assert_eq!(kw, "CREATE", "{p}");
        }
    }

    #[test]
    fn leading_keyword_skips_comments() {
        assert_eq!(
            leading_keyword("  /* c */ -- d\n insert into x values (1)").as_deref(),
            Some("INSERT")
        );
        assert_eq!(leading_keyword("   "), None);
    }

    #[test]
    fn read_only_accepts_selects() {
        assert_eq!(check_read_only("select * from users where id = ?"), Ok(()));
        assert_eq!(check_read_only("  SELECT 1;  "), Ok(()));
        assert_eq!(check_read_only("VALUES (1), (2)"), Ok(()));
        assert_eq!(
            check_read_only(
                "WITH RECURSIVE up(id, parent) AS (SELECT id, parent FROM f WHERE id = ?1 \
                 UNION ALL SELECT f.id, f.parent FROM f JOIN up ON f.id = up.parent), \
                 x AS MATERIALIZED (SELECT 1) SELECT * FROM up"
            ),
            Ok(())
        );
        assert_eq!(
            check_read_only("SELECT replace(name, 'a', 'DELETE') FROM t"),
            Ok(())
        );
    }

    #[test]
    fn read_only_refuses_writes_and_several_statements() {
        assert_eq!(
            check_read_only("DELETE FROM users"),
            Err(NotReadOnly::Writes)
        );
        assert_eq!(
            check_read_only("WITH x AS (SELECT 1) DELETE FROM users"),
            Err(NotReadOnly::Writes)
        );
        assert_eq!(
            check_read_only("WITH x(a) AS (SELECT 1) INSERT INTO t SELECT a FROM x"),
            Err(NotReadOnly::Writes)
        );
        assert_eq!(
            check_read_only("SELECT 1; DROP TABLE users"),
            Err(NotReadOnly::SeveralStatements)
        );
        assert_eq!(check_read_only(" -- only\n"), Err(NotReadOnly::Empty));
        assert_eq!(
            check_read_only("PRAGMA foreign_keys = OFF"),
            Err(NotReadOnly::Writes)
        );
        assert_eq!(
            check_read_only("WITH x AS (SELECT 1"),
            Err(NotReadOnly::Writes)
        );
    }

    #[test]
    fn names_finds_tables_read_and_written() {
        let n = names(
            "INSERT OR IGNORE INTO main.secrets (a) SELECT x FROM folders f \
             JOIN (SELECT 1 FROM users) u ON 1 ON CONFLICT (a) DO UPDATE SET a = 1",
        );
        assert_eq!(n.written, vec!["secrets"]);
        for w in ["secrets", "folders", "users", "main"] {
            assert!(n.words.iter().any(|x| x == w), "{w}");
        }
        assert!(!n.quoted_names);
        assert_eq!(names("update OR replace T set x = 1").written, vec!["t"]);
        assert_eq!(
            names("DELETE FROM audit_events").written,
            vec!["audit_events"]
        );
        assert_eq!(names("REPLACE INTO a VALUES (1)").written, vec!["a"]);
        assert!(names("SELECT 'users' FROM x")
            .words
            .iter()
            .all(|w| w != "users"));
        assert!(names("SELECT * FROM \"users\"").quoted_names);
        assert!(names("SELECT * FROM [users]").quoted_names);
        assert!(names("SELECT * FROM `users`").quoted_names);
        let with = names("WITH x AS (SELECT 1) DELETE FROM audit_head WHERE 1");
        assert_eq!(with.written, vec!["audit_head"]);
    }
}
