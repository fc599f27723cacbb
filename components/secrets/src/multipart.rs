//! File secret uploads: a `multipart/form-data` body with a `secretmetadata` part (the
//! JSON metadata) and a file part, named `files` by the BeyondTrust library.
//!
//! Parsing is multer's (see Cargo.toml for why); this module only picks the parts and
//! turns multer's errors into 400s that name the part, never its content.

use bytes::Bytes;
use edgesafe_api_common::request::{self, MULTIPART};
use edgesafe_api_common::{ApiError, Result};
use futures_util::stream;
use multer::{Constraints, Multipart, SizeLimit};

use crate::dto::{SecretIn, FILE_MAX_BYTES};

/// The part holding the JSON metadata, as Password Safe names it.
const METADATA_PART: &str = "secretmetadata";
/// The file part, as the BeyondTrust library names it.
const FILE_PART: &str = "files";
/// Metadata is a few kilobytes at most (4000 characters of notes, 100 URLs).
const METADATA_MAX_BYTES: u64 = 1024 * 1024;

/// The file of an upload.
pub struct FilePart {
    /// The file name the part carries, if any.
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// What a file secret upload holds.
pub struct Upload {
    pub metadata: SecretIn,
    /// `None` when the request has no file part (an update that keeps the file).
    pub file: Option<FilePart>,
}

fn malformed() -> ApiError {
    ApiError::bad_request("body", "not valid multipart/form-data")
}

fn file_size_rule() -> ApiError {
    ApiError::bad_request(
        "files",
        &format!("the file must be 1 to {FILE_MAX_BYTES} bytes"),
    )
}

/// Reads the body of a file secret update: the reference's JSON metadata alone (the
/// file stays as it is), or an upload as for create, whose file part, if any, replaces
/// the content. 415 for any other Content-Type.
pub async fn read_update(content_type: Option<&str>, body: &[u8]) -> Result<Upload> {
    if request::require_json(content_type).is_ok() {
        let metadata = request::json_body(content_type, body)?;
        return Ok(Upload {
            metadata,
            file: None,
        });
    }
    if request::media_type(content_type).as_deref() != Some(MULTIPART) {
        return Err(ApiError::unsupported_media_type(
            "application/json (metadata) or multipart/form-data (metadata and file)",
        ));
    }
    read_upload(content_type, body).await
}

/// Reads an upload: 415 unless the body is `multipart/form-data`, 400 when it does not
/// parse, lacks `secretmetadata`, or the metadata is not a JSON object. The file part
/// is the one named `files`, or else the first other part that carries a file name;
/// its size is the caller's to check (but anything past 5 MB + 1 stops the parse).
pub async fn read_upload(content_type: Option<&str>, body: &[u8]) -> Result<Upload> {
    let content_type = request::require_media_type(content_type, MULTIPART)?;
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::bad_request("Content-Type", "needs a multipart boundary"))?;
    let constraints = Constraints::new().size_limit(
        SizeLimit::new()
            // One byte past the limit is enough to know the file is too large.
            .per_field(u64::try_from(FILE_MAX_BYTES).unwrap_or(u64::MAX) + 1)
            .for_field(METADATA_PART, METADATA_MAX_BYTES),
    );
    let body = Bytes::copy_from_slice(body);
    let source = stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut parts = Multipart::with_constraints(source, boundary, constraints);

    let mut metadata: Option<Vec<u8>> = None;
    let mut named_file: Option<FilePart> = None;
    let mut other_file: Option<FilePart> = None;
    while let Some(field) = parts.next_field().await.map_err(|e| map_error(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        if name.eq_ignore_ascii_case(METADATA_PART) && metadata.is_none() {
            metadata = Some(field.bytes().await.map_err(|e| map_error(&e))?.to_vec());
        } else if name.eq_ignore_ascii_case(FILE_PART) && named_file.is_none() {
            let bytes = field.bytes().await.map_err(|e| map_error(&e))?.to_vec();
            named_file = Some(FilePart { file_name, bytes });
        } else if file_name.is_some() && other_file.is_none() {
            let bytes = field.bytes().await.map_err(|e| map_error(&e))?.to_vec();
            other_file = Some(FilePart { file_name, bytes });
        }
        // Any other part is ignored, as unknown JSON properties are.
    }
    let metadata = metadata
        .ok_or_else(|| ApiError::bad_request(METADATA_PART, "required part, the JSON metadata"))?;
    let value = request::json_value(&metadata)
        .map_err(|_| ApiError::bad_request(METADATA_PART, "must be a JSON object"))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            METADATA_PART,
            "must be a JSON object",
        ));
    }
    let metadata: SecretIn = request::from_json(value)?;
    Ok(Upload {
        metadata,
        file: named_file.or(other_file),
    })
}

fn map_error(e: &multer::Error) -> ApiError {
    match e {
        multer::Error::FieldSizeExceeded { field_name, .. }
            if field_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(METADATA_PART)) =>
        {
            ApiError::bad_request(METADATA_PART, "at most 1 MiB")
        }
        multer::Error::FieldSizeExceeded { .. } => file_size_rule(),
        _ => malformed(),
    }
}

/// The file of an upload, checked: 1 byte to 5 MB.
pub fn checked_file(file: Option<FilePart>) -> Result<Option<FilePart>> {
    match file {
        Some(file) if file.bytes.is_empty() || file.bytes.len() > FILE_MAX_BYTES => {
            Err(file_size_rule())
        }
        other => Ok(other),
    }
}
