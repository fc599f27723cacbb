//! Spin's runtime configuration file (`--runtime-config-file`): which SQLite databases
//! and key-value stores exist, and where. The runner serves Spin's local backends
//! (`type = "spin"`, an SQLite file); another backend type (libsql, redis, ...) stops the
//! start with a message saying so, rather than silently using a local file. Relative
//! paths are taken from the runtime config file's folder. Without a file, as with
//! Spin, `default` of each lives in the state directory.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
struct RuntimeConfig {
    #[serde(default)]
    sqlite_database: BTreeMap<String, Backend>,
    #[serde(default)]
    key_value_store: BTreeMap<String, Backend>,
}

#[derive(Debug, Deserialize)]
struct Backend {
    #[serde(rename = "type")]
    kind: String,
    path: Option<PathBuf>,
}

/// Label → file of every SQLite database and key-value store the host serves.
#[derive(Debug, PartialEq, Eq)]
pub struct Storage {
    pub sqlite: BTreeMap<String, PathBuf>,
    pub key_value: BTreeMap<String, PathBuf>,
}

pub fn storage(file: Option<&Path>, state_dir: &Path) -> Result<Storage> {
    let mut storage = Storage {
        sqlite: BTreeMap::from([("default".to_string(), state_dir.join("sqlite_db.db"))]),
        key_value: BTreeMap::from([("default".to_string(), state_dir.join("sqlite_key_value.db"))]),
    };
    let Some(file) = file else {
        return Ok(storage);
    };
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read runtime config {}", file.display()))?;
    let config: RuntimeConfig = toml::from_str(&text)
        .with_context(|| format!("invalid runtime config {}", file.display()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    for (section, backends, served) in [
        (
            "sqlite_database",
            config.sqlite_database,
            &mut storage.sqlite,
        ),
        (
            "key_value_store",
            config.key_value_store,
            &mut storage.key_value,
        ),
    ] {
        for (label, backend) in backends {
            if backend.kind != "spin" {
                bail!(
                    "[{section}.{label}] type = \"{}\": this runner serves only Spin's local \
                     backend (type = \"spin\"); run the app under Spin for other backends",
                    backend.kind
                );
            }
            let path = match backend.path {
                Some(p) if p.is_absolute() => p,
                Some(p) => base.join(p),
                None => bail!("[{section}.{label}] needs a `path` for type = \"spin\""),
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            served.insert(label, path);
        }
    }
    Ok(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_live_in_the_state_dir() {
        let s = storage(None, Path::new("/state")).unwrap();
        assert_eq!(s.sqlite["default"], Path::new("/state/sqlite_db.db"));
        assert_eq!(
            s.key_value["default"],
            Path::new("/state/sqlite_key_value.db")
        );
    }

    #[test]
    fn local_backends_are_served_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runtime-config.toml");
        std::fs::write(
            &file,
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"data/main.db\"\n\
             [sqlite_database.audit]\ntype = \"spin\"\npath = \"/tmp/x/audit.db\"\n",
        )
        .unwrap();
        let s = storage(Some(&file), Path::new("/state")).unwrap();
        assert_eq!(s.sqlite["default"], dir.path().join("data/main.db"));
        assert_eq!(s.sqlite["audit"], Path::new("/tmp/x/audit.db"));
        assert_eq!(
            s.key_value["default"],
            Path::new("/state/sqlite_key_value.db")
        );

        std::fs::write(
            &file,
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"\n",
        )
        .unwrap();
        let err = storage(Some(&file), Path::new("/state"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("redis"), "{err}");
    }
}
