//! The CSV import (`POST secrets-safe/folders/{id}/upload`, and `POST .../{id}` as the
//! seed spells it): credential secrets from a CSV file, one per line.
//!
//! # The request
//!
//! `multipart/form-data`. The file is the part named `form-data` (what the BeyondTrust
//! library sends, as `text/csv`); without such a part, the first part that carries a
//! file name. The part's own content type is not checked (spreadsheet tools label CSV
//! files in many ways).
//!
//! # The CSV layout
//!
//! - UTF-8 text (a byte order mark is skipped), comma-separated, fields quoted with
//!   `"` as in RFC 4180 (a quoted field may hold commas, quotes doubled, line
//!   breaks); lines end in LF or CRLF; blank lines are skipped.
//! - The first line is the header. It names the columns, in any order and any case:
//!
//!   | column           | required                                 | becomes          |
//!   |------------------|------------------------------------------|------------------|
//!   | `Title`          | yes                                      | `Title`          |
//!   | `Username`       | yes                                      | `Username`       |
//!   | `Password`       | yes, unless the line has a PasswordRuleID | `Password`       |
//!   | `PasswordRuleID` | no (an integer: the rule that generates the password) | `PasswordRuleID` |
//!   | `Description`    | no                                       | `Description`    |
//!   | `Notes`          | no                                       | `Notes`          |
//!   | `Url`            | no                                       | `Urls: [{Url}]`  |
//!
//!   A header must hold `Title`, `Username` and `Password` or `PasswordRuleID`; a
//!   column named twice or not in the table makes the whole file a 400 (a misspelt
//!   column would otherwise lose data silently). A file without such a header (empty,
//!   not text, no header line) is a 400 too.
//! - Every further line is one credential secret in the folder, owned by the caller.
//!   Empty optional fields are left out. Line numbers count the header as line 1 and
//!   name the line a record starts on.
//! - At most [`MAX_LINES`] lines per file.
//!
//! # What happens to each line
//!
//! Each line is created by calling the secrets component through Spin's local service
//! chaining (`POST http://secrets.spin.internal/.../folders/{id}/secrets`, the
//! caller's principal header passed on), so it is validated, stored, encrypted and
//! audited exactly like a create through the API. A line that fails (wrong number of
//! fields, a required field empty, or a 4xx from the secrets component) becomes an
//! entry in `errors` and never stops the other lines. Error texts name the field and
//! the rule, never a value.
//!
//! # Crates
//!
//! `multer` parses the multipart body: it is the maintained parser behind axum's and
//! others' multipart support, works on any byte stream without a runtime, and handles
//! boundaries, part headers and quoted file names per RFC 7578. `csv` (BurntSushi's)
//! reads the records: quoting, escaped quotes, multi-line fields, CRLF, a byte order
//! mark and record positions, with no unsafe tricks and no I/O of its own. Both are
//! pure Rust and build for wasm32-wasip2 unchanged.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::request::{self, JSON, MULTIPART};
use edgesafe_api_common::{ApiError, Result};
use spin_sdk::http::{Method, Request};

use crate::Ctx;

/// Lines (secrets) one file may hold. Each is a full create in the secrets component,
/// so a bound keeps one request's work predictable.
pub const MAX_LINES: usize = 1000;

/// The part name the BeyondTrust library gives the file.
const FILE_PART: &str = "form-data";

// ---------------------------------------------------------------- multipart

/// The CSV file in a `multipart/form-data` body.
pub async fn csv_file(content_type: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>> {
    let content_type = request::require_media_type(content_type, MULTIPART)?;
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::bad_request("Content-Type", "multipart/form-data needs a boundary")
    })?;
    let malformed = |_| ApiError::bad_request("body", "not valid multipart/form-data");
    // The gateway has read (and bounded) the whole body, so it is one chunk.
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(body.into()) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut first_file: Option<Bytes> = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        if field.name() == Some(FILE_PART) {
            return Ok(field.bytes().await.map_err(malformed)?.to_vec());
        }
        let is_file = field.file_name().is_some();
        let bytes = field.bytes().await.map_err(malformed)?;
        if is_file && first_file.is_none() {
            first_file = Some(bytes);
        }
    }
    first_file.map(|b| b.to_vec()).ok_or_else(|| {
        ApiError::bad_request("form-data", "required, a file part holding the CSV file")
    })
}

// ---------------------------------------------------------------- CSV

/// One line's credential, ready to send. Deliberately not `Debug`: it holds a
/// password, and nothing may print it by accident.
pub struct SecretLine {
    pub title: String,
    pub username: String,
    pub password: Option<String>,
    pub password_rule_id: Option<i64>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub url: Option<String>,
}

/// A data line: its number in the file and what it holds, or why it cannot be sent.
pub struct Line {
    pub number: u64,
    pub content: std::result::Result<SecretLine, String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Title,
    Username,
    Password,
    PasswordRuleId,
    Description,
    Notes,
    Url,
}

const COLUMNS: &[(&str, Column)] = &[
    ("title", Column::Title),
    ("username", Column::Username),
    ("password", Column::Password),
    ("passwordruleid", Column::PasswordRuleId),
    ("description", Column::Description),
    ("notes", Column::Notes),
    ("url", Column::Url),
];

const COLUMN_LIST: &str = "Title, Username, Password, PasswordRuleID, Description, Notes, Url";

fn not_csv() -> ApiError {
    ApiError::bad_request(
        "file",
        "must be a UTF-8 CSV file whose first line names the columns",
    )
}

/// Where each known column is, from the header. Header cells are never repeated in
/// errors: a file without a header has a data line there, which may hold a password.
fn header_columns(header: &csv::ByteRecord) -> Result<HashMap<Column, usize>> {
    if header
        .iter()
        .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
    {
        return Err(not_csv());
    }
    let mut columns = HashMap::new();
    for (i, cell) in header.iter().enumerate() {
        let name = std::str::from_utf8(cell).map_err(|_| not_csv())?.trim();
        let position = i + 1;
        let Some((_, column)) = COLUMNS.iter().find(|(n, _)| name.eq_ignore_ascii_case(n)) else {
            return Err(ApiError::bad_request(
                "file",
                &format!("header column {position} is not one of {COLUMN_LIST}"),
            ));
        };
        if columns.insert(*column, i).is_some() {
            return Err(ApiError::bad_request(
                "file",
                &format!("header column {position} names a column a second time"),
            ));
        }
    }
    let has = |c: Column| columns.contains_key(&c);
    if !has(Column::Title)
        || !has(Column::Username)
        || !(has(Column::Password) || has(Column::PasswordRuleId))
    {
        return Err(ApiError::bad_request(
            "file",
            "the header must name the columns Title, Username, and Password or PasswordRuleID",
        ));
    }
    Ok(columns)
}

/// The line a record starts on. `csv` reports the position where it began reading
/// the record, which can sit before the line breaks of blank lines (and, with CRLF,
/// between `\r` and `\n`); the line breaks it skipped from there are counted in.
fn line_number(data: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else {
        return 0;
    };
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = data
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    position
        .line()
        .saturating_add(u64::try_from(skipped).unwrap_or(0))
}

/// One record as a credential, or the reason it is not one.
fn secret_line(
    record: &csv::ByteRecord,
    columns: &HashMap<Column, usize>,
    width: usize,
) -> std::result::Result<SecretLine, String> {
    if record.len() != width {
        return Err(format!(
            "the line has {} fields, the header {width}",
            record.len()
        ));
    }
    let mut fields: HashMap<Column, String> = HashMap::new();
    for (column, i) in columns {
        let raw = record.get(*i).unwrap_or_default();
        let text = std::str::from_utf8(raw).map_err(|_| "the line is not UTF-8 text".to_owned())?;
        fields.insert(*column, text.to_owned());
    }
    // Every value but the password is trimmed; a password is taken byte for byte.
    let mut take = |column: Column| {
        fields
            .remove(&column)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let title = take(Column::Title).ok_or("Title: required")?;
    let username = take(Column::Username).ok_or("Username: required")?;
    let password_rule_id = match take(Column::PasswordRuleId) {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| "PasswordRuleID: must be an integer".to_owned())?,
        ),
    };
    let description = take(Column::Description);
    let notes = take(Column::Notes);
    let url = take(Column::Url);
    let password = fields.remove(&Column::Password).filter(|p| !p.is_empty());
    if password.is_none() && password_rule_id.is_none() {
        return Err("Password: required unless the line has a PasswordRuleID".to_owned());
    }
    Ok(SecretLine {
        title,
        username,
        password,
        password_rule_id,
        description,
        notes,
        url,
    })
}

/// Reads the file: 400 for a file that is not a CSV file with a usable header, else
/// every data line, sendable or not.
pub fn read_csv(data: &[u8]) -> Result<Vec<Line>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        // Lines of the wrong width are reported per line, not as a reader error.
        .flexible(true)
        .from_reader(data);
    let header = reader.byte_headers().map_err(|_| not_csv())?.clone();
    let columns = header_columns(&header)?;
    let width = header.len();
    let mut lines = Vec::new();
    for record in reader.byte_records() {
        // Reading from memory with flexible widths fails only on a broken file.
        let record = record.map_err(|_| not_csv())?;
        if lines.len() == MAX_LINES {
            return Err(ApiError::bad_request(
                "file",
                &format!("at most {MAX_LINES} lines below the header"),
            ));
        }
        lines.push(Line {
            number: line_number(data, record.position()),
            content: secret_line(&record, &columns, width),
        });
    }
    Ok(lines)
}

// ---------------------------------------------------------------- the secrets component

/// The body of `POST folders/{id}/secrets` for a line, in the 3.0 shape (the default
/// version): the caller owns the secret.
fn create_body(line: &SecretLine, owner: i64) -> serde_json::Value {
    let mut body = serde_json::json!({
        "Title": line.title,
        "Username": line.username,
        "OwnerId": owner,
        "OwnerType": "User",
        "Owners": [{ "OwnerId": owner }],
    });
    let optional = [
        (
            "Password",
            line.password.clone().map(serde_json::Value::from),
        ),
        (
            "PasswordRuleID",
            line.password_rule_id.map(serde_json::Value::from),
        ),
        (
            "Description",
            line.description.clone().map(serde_json::Value::from),
        ),
        ("Notes", line.notes.clone().map(serde_json::Value::from)),
        (
            "Urls",
            line.url
                .as_ref()
                .map(|url| serde_json::json!([{ "Url": url }])),
        ),
    ];
    if let Some(map) = body.as_object_mut() {
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
    }
    body
}

/// The message of a refused create, from the secrets component's v3 error body.
fn refusal(status: u16, body: &[u8]) -> String {
    let message = request::json_value(body).ok().and_then(|v| {
        // json_value lowercases property names.
        v.get("message").and_then(|m| m.as_str()).map(str::to_owned)
    });
    match message {
        Some(message) if status < 500 => message,
        _ if status >= 500 => "internal error".to_owned(),
        _ => format!("refused with status {status}"),
    }
}

/// Creates one line's secret in `folder_id` as the caller. `Err` holds the text for
/// the line's error entry.
pub async fn create_secret(
    ctx: &Ctx,
    folder_id: &str,
    line: &SecretLine,
    owner: i64,
) -> std::result::Result<(), String> {
    let principal = ctx
        .principal_header()
        .ok_or_else(|| "authentication required".to_owned())?;
    let body =
        serde_json::to_vec(&create_body(line, owner)).map_err(|_| "internal error".to_owned())?;
    let mut builder = Request::builder();
    builder
        .method(Method::Post)
        .uri(format!(
            "http://secrets.spin.internal/beyondtrust/api/public/v3/secrets-safe/folders/{folder_id}/secrets"
        ))
        .header("content-type", JSON)
        .header(PRINCIPAL_HEADER, principal);
    if let Some(addr) = &ctx.client_addr {
        builder.header(CLIENT_ADDR_HEADER, addr.as_str());
    }
    let request = builder.body(body).build();
    let response: spin_sdk::http::Response = spin_sdk::http::send(request).await.map_err(|e| {
        // The error says what failed on the way (connection, conversion), never the
        // body, which holds the password.
        eprintln!("CSV import: calling the secrets component failed: {e}");
        "internal error: the secrets service could not be reached".to_owned()
    })?;
    let status = *response.status();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(refusal(status, response.body()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(lines: &[Line]) -> Vec<(u64, String)> {
        lines
            .iter()
            .filter_map(|l| l.content.as_ref().err().map(|e| (l.number, e.clone())))
            .collect()
    }

    fn status(e: ApiError) -> u16 {
        e.status().as_u16()
    }

    #[test]
    fn reads_lines_with_their_numbers() {
        let data =
            b"\xef\xbb\xbfTITLE, username ,Password,PasswordRuleID,Description,Notes,URL\r\n\
            Web,alice, pw with spaces ,,the web,,https://w.example\r\n\
            \r\n\
            \"Db, main\",bob,,2,,\"two\r\nlines\",\r\n\
            short,row\r\n\
            ,nobody,pw,,,,\r\n\
            rule,x,,abc,,,\r\n\
            nopw,x,,,,,";
        let lines = match read_csv(data) {
            Ok(lines) => lines,
            Err(e) => panic!("{e}"),
        };
        let numbers: Vec<u64> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [2, 4, 6, 7, 8, 9]);
        let Ok(web) = &lines[0].content else {
            panic!("line 2 is good")
        };
        assert_eq!(web.title, "Web");
        assert_eq!(web.username, "alice");
        assert_eq!(web.password.as_deref(), Some(" pw with spaces "));
        assert_eq!(web.description.as_deref(), Some("the web"));
        assert_eq!(web.notes, None);
        assert_eq!(web.url.as_deref(), Some("https://w.example"));
        let Ok(db) = &lines[1].content else {
            panic!("line 4 is good")
        };
        assert_eq!(db.title, "Db, main");
        assert_eq!(db.password, None);
        assert_eq!(db.password_rule_id, Some(2));
        assert_eq!(db.notes.as_deref(), Some("two\r\nlines"));
        let errors = errors(&lines);
        assert_eq!(errors.len(), 4);
        assert_eq!(
            errors[0],
            (6, "the line has 2 fields, the header 7".to_owned())
        );
        assert_eq!(errors[1], (7, "Title: required".to_owned()));
        assert_eq!(
            errors[2],
            (8, "PasswordRuleID: must be an integer".to_owned())
        );
        assert!(errors[3].1.starts_with("Password: required"));
    }

    #[test]
    fn unusable_files_are_400_without_values() {
        for data in [
            &b""[..],
            b"\n\r\n",
            b"\xff\xfeT\x00",
            b"Title,Username",
            b"Title,Password",
            b"Title,Username,Password,Title",
            b"site.example,bob,Hunter2!",
        ] {
            let Err(e) = read_csv(data) else {
                panic!("{data:?} should be refused")
            };
            assert_eq!(status(e.clone()), 400);
            assert!(!e.message().contains("Hunter2"), "{}", e.message());
            assert!(!e.message().contains("site.example"), "{}", e.message());
        }
        let mut many = b"Title,Username,Password\n".to_vec();
        for i in 0..=MAX_LINES {
            many.extend_from_slice(format!("t{i},u,p\n").as_bytes());
        }
        assert!(read_csv(&many).is_err());
    }

    #[test]
    fn a_header_alone_is_an_empty_import() {
        let lines = read_csv(b"Title,Username,PasswordRuleID\n").map(|l| l.len());
        assert_eq!(lines.ok(), Some(0));
    }

    fn file_of(content_type: Option<&str>, body: &[u8]) -> Result<Vec<u8>> {
        futures_executor::block_on(csv_file(content_type, body.to_vec()))
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn part(name: &str, file: Option<&str>, content: &str) -> String {
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{name}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        format!("--XyZ\r\nContent-Disposition: {disposition}\r\n\r\n{content}\r\n")
    }

    #[test]
    fn finds_the_file_part() {
        let body = format!(
            "{}{}{}--XyZ--\r\n",
            part("first", Some("a.csv"), "first file"),
            part("form-data", Some("b.csv"), "the library's part"),
            part("last", None, "text")
        );
        assert_eq!(
            file_of(Some(CT), body.as_bytes()).ok(),
            Some(b"the library's part".to_vec())
        );
        let body = format!(
            "{}{}--XyZ--\r\n",
            part("note", None, "not a file"),
            part("upload", Some("a.csv"), "any file part")
        );
        assert_eq!(
            file_of(Some(CT), body.as_bytes()).ok(),
            Some(b"any file part".to_vec())
        );
    }

    #[test]
    fn multipart_errors() {
        let only_text = format!("{}--XyZ--\r\n", part("note", None, "x"));
        assert_eq!(
            file_of(Some(CT), only_text.as_bytes()).map_err(status),
            Err(400)
        );
        assert_eq!(file_of(Some("text/csv"), b"a,b").map_err(status), Err(415));
        assert_eq!(file_of(None, b"a,b").map_err(status), Err(415));
        assert_eq!(
            file_of(Some("multipart/form-data"), b"--x--").map_err(status),
            Err(400)
        );
        assert_eq!(file_of(Some(CT), b"garbage").map_err(status), Err(400));
    }

    #[test]
    fn the_create_body_is_the_3_0_shape() {
        let line = SecretLine {
            title: "t".into(),
            username: "u".into(),
            password: None,
            password_rule_id: Some(3),
            description: None,
            notes: Some("n".into()),
            url: Some("https://x.example".into()),
        };
        assert_eq!(
            create_body(&line, 7),
            serde_json::json!({"Title": "t", "Username": "u", "PasswordRuleID": 3,
                "Notes": "n", "Urls": [{"Url": "https://x.example"}],
                "OwnerId": 7, "OwnerType": "User", "Owners": [{"OwnerId": 7}]})
        );
    }

    #[test]
    fn refusals_pass_the_message_on() {
        let body = br#"{"Message":"Title: already used in this folder","Code":"conflict"}"#;
        assert_eq!(refusal(409, body), "Title: already used in this folder");
        assert_eq!(refusal(500, body), "internal error");
        assert_eq!(refusal(404, b"not json"), "refused with status 404");
    }
}
