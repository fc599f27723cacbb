//! Instance reuse for WASIp3 components (`wasi:http/handler@0.3`), as Spin 4 does it:
//! wasmtime-wasi-http's `ProxyHandler` keeps an instance for up to
//! `max_requests` requests, `max_concurrent` at once, and drops it once idle for
//! `idle_timeout` (Spin's `HttpHandlerState` in `crates/trigger-http/src/server.rs`).
//! WASIp2 components never come here: each of their requests gets a fresh instance.

use crate::admission::Chain;
use crate::app::App;
use crate::host::RequestState;
use crate::limits::InstanceReuse;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::handler::{
    HandlerState, Instance, Proxy, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::WasiHttpView;

/// The instances of one WASIp3 component.
pub struct ReusedInstances {
    /// Set once the app is loaded: instances are made by the app's `store`.
    pub app: OnceLock<Weak<App>>,
    pub id: String,
    pub pre: ServicePre<RequestState>,
    pub reuse: InstanceReuse,
    /// The runner's `--request-timeout`: an instance still serving a request this long
    /// after the most recent one started is dropped, as in Spin.
    pub request_timeout: Option<Duration>,
    /// Instances alive now, for tests and operators.
    pub live: Arc<AtomicUsize>,
}

/// Per request: when its chain's deadline falls.
pub type RequestDeadline = Option<tokio::time::Instant>;

impl HandlerState for ReusedInstances {
    type StoreData = RequestState;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<RequestState, Expiration, Worker>> {
        let app = self
            .app
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| wasmtime::format_err!("the app is shutting down"))?;
        let component = app
            .component(&self.id)
            .map_err(|e| wasmtime::format_err!("{e}"))?;
        // The instance outlives any one request, so its store belongs to no chain: a
        // chained call it makes is neither admitted nor bounded by its caller's chain.
        let mut store = app.store(component, Chain::unbounded());
        // Yield to the host every epoch tick instead of trapping, so the expiration
        // below is polled even while a guest computes.
        store.epoch_deadline_async_yield_and_update(1);
        let proxy = Proxy::P3(self.pre.instantiate_async(&mut store).await?);
        self.live.fetch_add(1, Ordering::SeqCst);
        let request_timeout = self.request_timeout.unwrap_or(Duration::MAX);
        Ok(Instance {
            store,
            proxy,
            view: |state: &mut RequestState| state.http(),
            expiration: Expiration {
                idle_timeout: self.reuse.idle_timeout,
                request_timeout,
                sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
                armed_for: None,
            },
            state: Worker {
                id: self.id.clone(),
                reuse: self.reuse,
                live: self.live.clone(),
            },
        })
    }
}

/// When an instance is dropped: idle past the idle timeout, or still busy past the
/// request timeout (Spin's second line of defence behind each request's own deadline).
pub struct Expiration {
    idle_timeout: Duration,
    request_timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    armed_for: Option<Instant>,
}

impl WorkerExpiration for Expiration {
    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        status: WorkerStatus,
        start: Instant,
    ) -> Poll<()> {
        let me = self.get_mut();
        let timeout = match status {
            WorkerStatus::Idle => me.idle_timeout,
            WorkerStatus::Requests | WorkerStatus::PostReturn => me.request_timeout,
        };
        let Some(deadline) = start.checked_add(timeout) else {
            return Poll::Pending;
        };
        if me.armed_for != Some(deadline) {
            me.armed_for = Some(deadline);
            me.sleep.as_mut().reset(deadline.into());
        }
        me.sleep.as_mut().poll(cx)
    }
}

/// One instance's limits, and its end.
pub struct Worker {
    id: String,
    reuse: InstanceReuse,
    live: Arc<AtomicUsize>,
}

impl WorkerState for Worker {
    type StoreData = RequestState;
    type RequestData = RequestDeadline;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    /// The request expires at its chain's deadline.
    fn on_request_start(
        &self,
        _: StoreContextMut<'_, RequestState>,
        deadline: RequestDeadline,
        _: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync + 'static>> {
        match deadline {
            Some(deadline) => Box::pin(tokio::time::sleep_until(deadline)),
            None => Box::pin(std::future::pending()),
        }
    }

    fn drop(&self, store: Store<RequestState>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            eprintln!("component `{}`: instance dropped: {error:?}", self.id);
        }
        drop(store);
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}
