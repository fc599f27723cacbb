//! edgesafe's runner: serves a Spin application (manifest version 2) on wasmtime with
//! the Spin host interfaces the app uses, so the app runs with nothing but cargo.
//! It implements that subset exactly as Spin specifies it and nothing that would let
//! a component tell which host runs it.

pub mod admission;
pub mod app;
pub mod audit_cli;
pub mod build;
pub mod cache;
pub mod clock;
pub mod compose;
pub mod host;
pub mod limits;
pub mod manifest;
pub mod outbound;
pub mod pool;
pub mod request_body;
pub mod reuse;
pub mod routes;
pub mod runtime_config;
pub mod server;
pub mod variables;

pub use app::{App, AppConfig};
pub use clock::Clock;
pub use limits::Limits;

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;

/// A runner serving on its own thread, for embedding (the end-to-end tests use it).
pub struct Running {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl Running {
    /// Loads the app and serves it on `listen` (port 0 picks a free port).
    pub fn start(config: &AppConfig, listen: SocketAddr) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let app = App::load(config)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = app.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(server::serve(serving, listener, async {
                let _ = stopped.await;
            }))
        });
        Ok(Self {
            addr,
            app,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("runner thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
