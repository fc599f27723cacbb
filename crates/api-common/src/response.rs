//! Building responses. Handlers return `Result<Response, ApiError>`; the component's
//! entry point renders the error in the protocol's shape.

use http::{header, HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::error::{ApiError, Result};

pub type Response = http::Response<Vec<u8>>;

/// `body` as JSON with `status`.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Result<Response> {
    let bytes =
        serde_json::to_vec(body).map_err(|_| ApiError::internal("response serialization"))?;
    let mut response = Response::new(bytes);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A response without a body.
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    response
}

/// Adds a header (appends, so that several `Set-Cookie` can coexist).
pub fn with_header(mut response: Response, name: HeaderName, value: &str) -> Result<Response> {
    // The value is ours (a cookie, a cache directive), so a bad one is our bug; the
    // message must not repeat it, as it may hold a token.
    let value = HeaderValue::from_str(value)
        .map_err(|_| ApiError::internal(format!("invalid value for header {name}")))?;
    response.headers_mut().append(name, value);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_sets_status_and_content_type() {
        let r = json(StatusCode::CREATED, &serde_json::json!({"Id": 1}));
        let r = r.unwrap_or_else(|_| empty(StatusCode::IM_A_TEAPOT));
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        assert_eq!(r.body(), br#"{"Id":1}"#);
    }

    #[test]
    fn headers_append_and_bad_values_are_internal() {
        let r = with_header(empty(StatusCode::OK), header::SET_COOKIE, "a=1")
            .and_then(|r| with_header(r, header::SET_COOKIE, "b=2"));
        let r = r.unwrap_or_else(|_| empty(StatusCode::IM_A_TEAPOT));
        assert_eq!(r.headers().get_all(header::SET_COOKIE).iter().count(), 2);
        let e = with_header(empty(StatusCode::OK), header::SET_COOKIE, "a=\n1").err();
        assert_eq!(e.map(|e| e.status().as_u16()), Some(500));
    }
}
