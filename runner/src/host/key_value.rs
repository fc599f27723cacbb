//! `fermyon:spin/key-value@2.0.0`, persisted in an SQLite file like Spin's default
//! store, with Spin's grant rules (`access-denied` for a store the component was not
//! granted, `no-such-store` for one the host does not know).

use super::kv_wit::{Error, Host, HostStore};
use super::RequestState;
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::Resource;

pub struct Store {
    conn: Mutex<rusqlite::Connection>,
    pub path: PathBuf,
}

#[derive(Default)]
pub struct Stores {
    by_label: HashMap<String, Arc<Store>>,
}

pub struct StoreHandle {
    store: Arc<Store>,
}

impl Stores {
    pub fn new(labels: impl IntoIterator<Item = (String, PathBuf)>) -> anyhow::Result<Self> {
        let mut by_label = HashMap::new();
        for (label, path) in labels {
            let conn = rusqlite::Connection::open(&path)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS spin_key_value (
                    key TEXT PRIMARY KEY, value BLOB NOT NULL)",
            )?;
            let store = Store {
                conn: Mutex::new(conn),
                path,
            };
            by_label.insert(label, Arc::new(store));
        }
        Ok(Self { by_label })
    }
}

fn other(e: impl std::fmt::Display) -> Error {
    Error::Other(e.to_string())
}

impl Store {
    fn with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let conn = self.conn.lock().map_err(|_| other("store lock poisoned"))?;
        f(&conn).map_err(other)
    }
}

impl Host for RequestState {}

impl HostStore for RequestState {
    fn open(&mut self, label: String) -> Result<Resource<StoreHandle>, Error> {
        if !self.grants.key_value_stores.contains(&label) {
            return Err(Error::AccessDenied);
        }
        let store = self
            .key_value
            .by_label
            .get(&label)
            .cloned()
            .ok_or(Error::NoSuchStore)?;
        self.table.push(StoreHandle { store }).map_err(other)
    }

    fn get(&mut self, this: Resource<StoreHandle>, key: String) -> Result<Option<Vec<u8>>, Error> {
        self.store(&this)?.with(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()
        })
    }

    fn set(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        self.store(&this)?.with(|c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(rusqlite::params![key, value])
            .map(|_| ())
        })
    }

    fn delete(&mut self, this: Resource<StoreHandle>, key: String) -> Result<(), Error> {
        self.store(&this)?.with(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE key = ?1")?
                .execute([&key])
                .map(|_| ())
        })
    }

    fn exists(&mut self, this: Resource<StoreHandle>, key: String) -> Result<bool, Error> {
        self.get(this, key).map(|v| v.is_some())
    }

    fn get_keys(&mut self, this: Resource<StoreHandle>) -> Result<Vec<String>, Error> {
        self.store(&this)?.with(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value ORDER BY key")?;
            let keys = stmt.query_map([], |r| r.get(0))?;
            keys.collect()
        })
    }

    fn drop(&mut self, rep: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

impl RequestState {
    fn store(&self, handle: &Resource<StoreHandle>) -> Result<Arc<Store>, Error> {
        self.table
            .get(handle)
            .map(|h| h.store.clone())
            .map_err(other)
    }
}
