//! Reading the request body within the limit, and passing the request on to its area
//! component through Spin's local service chaining.

use edgesafe_api_common::principal::{CLIENT_ADDR_HEADER, PRINCIPAL_HEADER};
use edgesafe_api_common::{ApiError, Principal};
use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, IncomingResponse, Method, Request};

use crate::routes::Area;

/// A response ready to be written back to the client.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl From<http::Response<Vec<u8>>> for Reply {
    fn from(response: http::Response<Vec<u8>>) -> Self {
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: response.into_body(),
        }
    }
}

/// Reads the whole body, failing with 413 as soon as it grows past `limit`.
pub async fn read_body(request: IncomingRequest, limit: u64) -> Result<Vec<u8>, ApiError> {
    let mut stream = request.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("body", "could not be read completely"))?;
        let total = u64::try_from(body.len().saturating_add(chunk.len())).unwrap_or(u64::MAX);
        if total > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What the gateway passes on from the client's request. Everything else stays
/// behind, in particular `Authorization` and `Cookie` (the area gets the principal
/// instead) and any `x-edgesafe-*` header a client made up.
pub struct Outbound<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub client_addr: Option<String>,
    pub principal: Option<&'a Principal>,
    pub body: Vec<u8>,
}

pub async fn forward(area: Area, outbound: Outbound<'_>) -> Result<Reply, ApiError> {
    let uri = match outbound.query {
        Some(query) => format!("http://{}{}?{}", area.host(), outbound.path, query),
        None => format!("http://{}{}", area.host(), outbound.path),
    };
    let mut builder = Request::builder();
    builder.method(outbound.method).uri(uri);
    if let Some(value) = outbound.content_type {
        builder.header("content-type", value);
    }
    if let Some(value) = outbound.accept {
        builder.header("accept", value);
    }
    if let Some(value) = outbound.client_addr {
        builder.header(CLIENT_ADDR_HEADER, value);
    }
    if let Some(principal) = outbound.principal {
        builder.header(PRINCIPAL_HEADER, principal.to_header_value()?);
    }
    let request = builder.body(outbound.body).build();
    let response: IncomingResponse = spin_sdk::http::send(request)
        .await
        .map_err(|e| ApiError::internal(format_args!("forwarding to {}: {e}", area.host())))?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .filter(|(name, _)| !is_hop_by_hop(name))
        .collect();
    let body = response
        .into_body()
        .await
        .map_err(|_| ApiError::internal(format_args!("reading the response of {}", area.host())))?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Headers that describe one connection, not the message; the host sets its own.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "host",
        "content-length",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}
