//! `fermyon:spin/key-value@2.0.0`, persisted in an SQLite file like Spin's default
//! store, with Spin's grant rules (`access-denied` for a store the component was not
//! granted, `no-such-store` for one the host does not know).

use super::kv_wit::{Error, Host, HostStore};
use super::RequestState;
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::component::Resource;

/// One store: Spin's layout, a `spin_key_value` table keyed by (store, key) with the
/// label as `store`, on one connection opened as Spin opens it (no pragmas), so a state
/// directory moves between the runner and `spin up` unchanged.
pub struct Store {
    conn: Mutex<rusqlite::Connection>,
    label: String,
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
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS spin_key_value (
                    store TEXT NOT NULL,
                    key   TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (store, key))",
            )?;
            upgrade_keyed_by_key_alone(&conn, &label)?;
            let store = Store {
                conn: Mutex::new(conn),
                label: label.clone(),
                path,
            };
            by_label.insert(label, Arc::new(store));
        }
        Ok(Self { by_label })
    }
}

/// Earlier runners keyed the table by `key` alone; move such rows under `label`.
fn upgrade_keyed_by_key_alone(conn: &rusqlite::Connection, label: &str) -> rusqlite::Result<()> {
    let has_store: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('spin_key_value') WHERE name = 'store'",
        [],
        |r| r.get(0),
    )?;
    if has_store {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN;
         ALTER TABLE spin_key_value RENAME TO spin_key_value_old;
         CREATE TABLE spin_key_value (
             store TEXT NOT NULL,
             key   TEXT NOT NULL,
             value BLOB NOT NULL,
             PRIMARY KEY (store, key));",
    )?;
    conn.execute(
        "INSERT INTO spin_key_value (store, key, value) SELECT ?1, key, value FROM spin_key_value_old",
        [label],
    )?;
    conn.execute_batch("DROP TABLE spin_key_value_old; COMMIT;")
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
        let store = self.store(&this)?;
        store.with(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row([&store.label, &key], |r| r.get(0))
                .optional()
        })
    }

    fn set(
        &mut self,
        this: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let store = self.store(&this)?;
        store.with(|c| {
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(rusqlite::params![store.label, key, value])
            .map(|_| ())
        })
    }

    fn delete(&mut self, this: Resource<StoreHandle>, key: String) -> Result<(), Error> {
        let store = self.store(&this)?;
        store.with(|c| {
            c.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute([&store.label, &key])
                .map(|_| ())
        })
    }

    fn exists(&mut self, this: Resource<StoreHandle>, key: String) -> Result<bool, Error> {
        self.get(this, key).map(|v| v.is_some())
    }

    fn get_keys(&mut self, this: Resource<StoreHandle>) -> Result<Vec<String>, Error> {
        let store = self.store(&this)?;
        store.with(|c| {
            let mut stmt =
                c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            let keys = stmt.query_map([&store.label], |r| r.get(0))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_of_an_earlier_runner_moves_under_its_label() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.db");
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE spin_key_value (key TEXT PRIMARY KEY, value BLOB NOT NULL);
             INSERT INTO spin_key_value VALUES ('sealed/a', x'01');",
        )
        .unwrap();
        drop(old);
        let stores = Stores::new([("default".to_string(), path.clone())]).unwrap();
        let store = stores.by_label["default"].clone();
        let rows: Vec<(String, String)> = store
            .with(|c| {
                c.prepare("SELECT store, key FROM spin_key_value")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .unwrap();
        assert_eq!(rows, vec![("default".to_string(), "sealed/a".to_string())]);
        // Opening again changes nothing.
        drop(stores);
        Stores::new([("default".to_string(), path)]).unwrap();
    }
}
