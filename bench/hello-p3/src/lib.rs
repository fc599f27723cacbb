//! Answers with what its instance has seen, so instance reuse is visible from outside:
//! `instance=<id> served=<n> in-flight=<k> note=<x-note header or -> now=<unix seconds>
//! url=<the request's URL>`.
//! `instance` is drawn once per instance, `served` counts the requests this instance has
//! taken (this one included), `in-flight` how many it is serving now, `now` the wall
//! clock the host gives the guest, `url` the URL as the host gave it. `?wait=<ms>`
//! holds the answer that long, for concurrency tests.

use spin_sdk::http::{Request, StatusCode};
use spin_sdk::http_service;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// What the guest keeps across requests on purpose.
static INSTANCE: OnceLock<u64> = OnceLock::new();
static SERVED: AtomicU64 = AtomicU64::new(0);
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);

#[http_service]
async fn handle(request: Request) -> (StatusCode, String) {
    let instance = *INSTANCE.get_or_init(wasip3::random::random::get_random_u64);
    let served = SERVED.fetch_add(1, Ordering::SeqCst) + 1;
    let in_flight = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    let note = request
        .headers()
        .get("x-note")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let wait = request
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("wait="))
        .and_then(|ms| ms.parse::<u64>().ok());
    if let Some(ms) = wait {
        spin_sdk::time::sleep(Duration::from_millis(ms)).await;
    }
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    let now = wasip3::clocks::system_clock::now().seconds;
    let url = request.uri().to_string();
    (
        StatusCode::OK,
        format!(
            "instance={instance:016x} served={served} in-flight={in_flight} note={note} now={now} url={url}\n"
        ),
    )
}
