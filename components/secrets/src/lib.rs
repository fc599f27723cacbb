//! Placeholder until the area is implemented: every path is unknown.

use edgesafe_api_common::{ApiError, Protocol};
use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> anyhow::Result<impl IntoResponse> {
    let answer = ApiError::not_found().to_response(Protocol::V3);
    Ok(Response::builder()
        .status(answer.status().as_u16())
        .header("content-type", "application/json")
        .body(answer.into_body())
        .build())
}
