//! `spin build`: runs each component's build command from the manifest, in order.

use crate::manifest::LoadedManifest;
use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn build(manifest: &Path) -> Result<()> {
    let loaded = LoadedManifest::load(manifest)?;
    for (id, spec) in &loaded.manifest.component {
        let Some(build) = &spec.build else { continue };
        let dir = match &build.workdir {
            Some(w) => loaded.resolve(w),
            None => loaded.dir.clone(),
        };
        eprintln!("Building component {id} with `{}`", build.command);
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&dir)
            .status()
            .with_context(|| format!("cannot run the build command of `{id}`"))?;
        if !status.success() {
            bail!("building component `{id}` failed ({status})");
        }
    }
    Ok(())
}
