//! Answers every request with a short body; imports only wasi:http and wasi:cli so
//! `wasmtime serve` and the runner can both serve it.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(_req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("hello from edgesafe\n")
        .build())
}
