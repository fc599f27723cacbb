//! Compiled components cached on disk, keyed by the inputs (component and dependency
//! bytes) and the engine's compatibility hash, so a restart skips composition and
//! compilation.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::component::Component;
use wasmtime::Engine;

pub struct CompileCache {
    dir: Option<PathBuf>,
}

impl CompileCache {
    pub fn new(dir: Option<PathBuf>) -> Result<Self> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create cache dir {}", dir.display()))?;
        }
        Ok(Self { dir })
    }

    /// The component for `inputs`, compiled by `build` (which composes) when not cached.
    pub fn component(
        &self,
        engine: &Engine,
        inputs: &[&[u8]],
        build: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Component> {
        let Some(dir) = &self.dir else {
            return Ok(Component::new(engine, build()?)?);
        };
        let path = dir.join(format!("{}.cwasm", key(engine, inputs)));
        if path.exists() {
            // SAFETY: the file was written by `precompile_component` of an engine with the
            // same compatibility hash (it is part of the file name), by this program.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => eprintln!("recompiling {}: cached copy unusable: {e}", path.display()),
            }
        }
        let compiled = engine.precompile_component(&build()?)?;
        // Unique per writer: several runners in one process (the tests) may compile the
        // same component at once; each renames its own complete file into place.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        std::fs::write(&tmp, &compiled)?;
        std::fs::rename(&tmp, &path)?;
        // SAFETY: produced just above by this engine.
        Ok(unsafe { Component::deserialize(engine, &compiled)? })
    }
}

fn key(engine: &Engine, inputs: &[&[u8]]) -> String {
    let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hash);
    let mut sha = Sha256::new();
    sha.update(engine_hash.finish().to_le_bytes());
    for input in inputs {
        sha.update((input.len() as u64).to_le_bytes());
        sha.update(input);
    }
    hex::encode(&sha.finalize()[..16])
}
