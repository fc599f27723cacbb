//! Spin's host interfaces (SQLite, key-value, variables) and the per-request state
//! that wasi, wasi:http and these interfaces share.

pub mod key_value;
pub mod sqlite;
pub mod variables;

use crate::clock::Clock;
use crate::outbound::OutboundHooks;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "wit",
    world: "spin-host",
    with: {
        "spin:sqlite/sqlite.connection": sqlite::Connection,
        "fermyon:spin/key-value.store": key_value::StoreHandle,
    },
});

pub use fermyon::spin::{key_value as kv_wit, variables as variables_wit};
pub use spin::sqlite::sqlite as sqlite_wit;

/// What a component was granted in the manifest, resolved at load time.
#[derive(Debug, Default)]
pub struct Grants {
    pub sqlite_databases: Vec<String>,
    pub key_value_stores: Vec<String>,
    /// Component variables after template expansion.
    pub variables: BTreeMap<String, String>,
}

/// The state of one request's store.
pub struct RequestState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub hooks: OutboundHooks,
    pub grants: Arc<Grants>,
    pub sqlite: Arc<sqlite::Databases>,
    pub key_value: Arc<key_value::Stores>,
    pub limits: StoreLimits,
}

impl RequestState {
    pub fn new(
        grants: Arc<Grants>,
        sqlite: Arc<sqlite::Databases>,
        key_value: Arc<key_value::Stores>,
        hooks: OutboundHooks,
        clock: &Clock,
        environment: &[(String, String)],
        limits: StoreLimits,
    ) -> Self {
        let wasi = WasiCtx::builder()
            .inherit_stderr()
            .inherit_stdout()
            .envs(environment)
            .wall_clock(clock.clone())
            .build();
        Self {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            grants,
            sqlite,
            key_value,
            limits,
        }
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds the Spin interfaces to a linker.
pub fn add_to_linker(
    linker: &mut wasmtime::component::Linker<RequestState>,
) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    sqlite_wit::add_to_linker::<_, HasSelf<RequestState>>(linker, |s| s)?;
    kv_wit::add_to_linker::<_, HasSelf<RequestState>>(linker, |s| s)?;
    variables_wit::add_to_linker::<_, HasSelf<RequestState>>(linker, |s| s)?;
    Ok(())
}
