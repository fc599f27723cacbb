//! `spin:sqlite/sqlite@3.0.0` over embedded SQLite files, with Spin's grant rules:
//! a database not listed in the component's `sqlite_databases` is `access-denied`,
//! a listed one the host does not know is `no-such-database`.

use super::sqlite_wit::{Error, Host, HostConnection, QueryResult, RowResult, Value};
use super::RequestState;
use rusqlite::types::ValueRef;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use wasmtime::component::Resource;

/// The databases the host serves, by label.
#[derive(Default)]
pub struct Databases {
    by_label: HashMap<String, PathBuf>,
}

/// A guest's open connection: a connection of its own, opened as Spin's in-process
/// backend opens one (a plain `open`, no pragmas of the runner's own, statements
/// prepared through the connection's cache) and closed when the guest drops it or the
/// request's store goes away. Nothing is pooled: a pooled connection would carry one
/// request's pragmas into the next, and would keep a WAL database's log open between
/// requests, which `spin up` does not; what the app needs it sets on every connection,
/// so the runner cannot hide a difference from Spin.
pub struct Connection {
    conn: rusqlite::Connection,
}

impl Databases {
    pub fn new(labels: impl IntoIterator<Item = (String, PathBuf)>) -> anyhow::Result<Self> {
        let mut by_label = HashMap::new();
        for (label, path) in labels {
            // Open once now so a bad path fails at start, not on the first request.
            drop(rusqlite::Connection::open(&path)?);
            by_label.insert(label, path);
        }
        Ok(Self { by_label })
    }

    fn get(&self, label: &str) -> Option<&Path> {
        self.by_label.get(label).map(PathBuf::as_path)
    }
}

impl Host for RequestState {}

impl HostConnection for RequestState {
    fn open(&mut self, database: String) -> Result<Resource<Connection>, Error> {
        if !self.grants.sqlite_databases.contains(&database) {
            return Err(Error::AccessDenied);
        }
        let path = self.sqlite.get(&database).ok_or(Error::NoSuchDatabase)?;
        let conn = rusqlite::Connection::open(path).map_err(|e| Error::Io(e.to_string()))?;
        self.table
            .push(Connection { conn })
            .map_err(|e| Error::Io(e.to_string()))
    }

    fn execute(
        &mut self,
        this: Resource<Connection>,
        statement: String,
        parameters: Vec<Value>,
    ) -> Result<QueryResult, Error> {
        let conn = self.connection(&this)?;
        execute(conn, &statement, parameters).map_err(|e| Error::Io(e.to_string()))
    }

    fn last_insert_rowid(&mut self, this: Resource<Connection>) -> i64 {
        self.connection(&this)
            .map(|c| c.last_insert_rowid())
            .unwrap_or(0)
    }

    fn changes(&mut self, this: Resource<Connection>) -> u64 {
        self.connection(&this).map(|c| c.changes()).unwrap_or(0)
    }

    fn drop(&mut self, rep: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

impl RequestState {
    fn connection(&self, handle: &Resource<Connection>) -> Result<&rusqlite::Connection, Error> {
        self.table
            .get(handle)
            .ok()
            .map(|c| &c.conn)
            .ok_or(Error::InvalidConnection)
    }
}

fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<Value>,
) -> rusqlite::Result<QueryResult> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let params = rusqlite::params_from_iter(parameters.into_iter().map(to_sql));
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(from_sql(row.get_ref(i)?));
        }
        out.push(RowResult { values });
    }
    Ok(QueryResult { columns, rows: out })
}

fn to_sql(value: Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Integer(i) => V::Integer(i),
        Value::Real(r) => V::Real(r),
        Value::Text(t) => V::Text(t),
        Value::Blob(b) => V::Blob(b),
        Value::Null => V::Null,
    }
}

fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}
