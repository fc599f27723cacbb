//! The HTTP listener: Spin's HTTP trigger on hyper, one task per connection, at most
//! `--max-connections` of them, each with a header-read timeout; a clean shutdown on
//! Ctrl-C / SIGTERM that lets requests in flight finish.

use crate::admission::{Overloaded, TimedOut, RETRY_AFTER_SECONDS};
use crate::app::App;
use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

type ResponseBody = HyperOutgoingBody;

fn plain(status: http::StatusCode, text: &'static str) -> http::Response<ResponseBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
}

/// The runner's own answer when a request cannot run: it cannot know the app's
/// protocols, so one generic JSON shape for all. (A request the pool cannot take is
/// first offered to the app to turn away in its own words: see `admission.rs`.)
fn refusal(error: &anyhow::Error) -> http::Response<ResponseBody> {
    let (status, code, message) = if error.is::<Overloaded>() {
        (
            http::StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is busy; retry later",
        )
    } else if error
        .downcast_ref::<TimedOut>()
        .is_some_and(|t| t.body_unfinished)
    {
        (
            http::StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        )
    } else {
        // A guest that failed, trapped or ran out of time: Spin answers 500.
        return plain(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
        );
    };
    let body = serde_json::json!({"error": code, "message": message}).to_string();
    let mut response = http::Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if status == http::StatusCode::SERVICE_UNAVAILABLE {
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from(RETRY_AFTER_SECONDS),
        );
    }
    // A body left half-read cannot be followed by another request.
    if status == http::StatusCode::REQUEST_TIMEOUT {
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

async fn serve_one(
    app: Arc<App>,
    request: http::Request<Incoming>,
    client: SocketAddr,
) -> http::Response<ResponseBody> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (response, component) = match app.router().route(&path) {
        None => (
            plain(http::StatusCode::NOT_FOUND, "Not Found"),
            String::from("-"),
        ),
        Some(route) => {
            let component = route.component.clone();
            match app
                .handle_public(&route, request, &client.to_string())
                .await
            {
                Ok(response) => (response, component),
                Err(e) => {
                    // A refused or timed-out client is the request log's to report.
                    let client_side = e.is::<Overloaded>()
                        || e.downcast_ref::<TimedOut>()
                            .is_some_and(|t| t.body_unfinished);
                    if !client_side {
                        eprintln!("{method} {path}: {e:#}");
                    }
                    (refusal(&e), component)
                }
            }
        }
    };
    if app.log_requests() {
        // The query string is left out: it can carry secret paths or values.
        eprintln!(
            "{method} {path} -> {} [{component}] {:.1}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

/// A request from outside that names a component's local-chaining host. Spin answers it
/// by closing the connection, with no response; so does the runner (hyper closes the
/// connection when the service fails).
#[derive(Debug)]
struct InternalHostFromOutside;

impl std::fmt::Display for InternalHostFromOutside {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a request from outside named a *.spin.internal host")
    }
}

impl std::error::Error for InternalHostFromOutside {}

fn names_an_internal_host(request: &http::Request<Incoming>) -> bool {
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    name.to_ascii_lowercase().ends_with(".spin.internal")
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open
/// connections to finish their current request.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    let limits = app.limits().clone();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            // A connection is accepted only with a free slot: the rest wait in the
            // listen backlog.
            accepted = accept(&listener, &connections) => {
                let Some((stream, client, slot)) = accepted else {
                    continue;
                };
                // Without this, keep-alive clients stall 40 ms on every chunked
                // response (Nagle's algorithm meeting delayed ACKs).
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = service_fn(move |req: http::Request<Incoming>| {
                    let app = app.clone();
                    async move {
                        if names_an_internal_host(&req) {
                            return Err(InternalHostFromOutside);
                        }
                        Ok(serve_one(app, req, client).await)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .timer(TokioTimer::new())
                    // Also bounds an idle keep-alive connection: hyper starts the timer
                    // when it waits for the next request's head.
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        let text = e.to_string();
                        if !text.contains("connection closed") && !e.is_timeout() {
                            eprintln!("connection from {client}: {text}");
                        }
                    }
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            eprintln!("shutdown: gave up waiting for open connections after 10s");
        }
    }
    Ok(())
}

/// The next connection, once a connection slot is free. `None` after a failed accept
/// (out of file descriptors, say), after a pause so as not to spin.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<tokio::sync::Semaphore>,
) -> Option<(
    tokio::net::TcpStream,
    SocketAddr,
    tokio::sync::OwnedSemaphorePermit,
)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, client)) => Some((stream, client, slot)),
        Err(e) => {
            eprintln!("accept failed: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            None
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
