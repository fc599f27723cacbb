//! The HTTP listener: Spin's HTTP trigger on hyper, one task per connection,
//! a clean shutdown on Ctrl-C / SIGTERM that lets requests in flight finish.

use crate::app::App;
use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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
                    eprintln!("{method} {path}: {e:#}");
                    (
                        plain(
                            http::StatusCode::INTERNAL_SERVER_ERROR,
                            "Internal Server Error",
                        ),
                        component,
                    )
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

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open
/// connections to finish their current request.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        eprintln!("accept failed: {e}");
                        continue;
                    }
                };
                // Without this, keep-alive clients stall 40 ms on every chunked
                // response (Nagle's algorithm meeting delayed ACKs).
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, Infallible>(serve_one(app, req, client).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        let text = e.to_string();
                        if !text.contains("connection closed") {
                            eprintln!("connection from {client}: {text}");
                        }
                    }
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
