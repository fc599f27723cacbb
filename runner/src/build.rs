//! `spin build`: runs each component's build command from the manifest, in order.
//!
//! rustup installs the toolchain that `rust-toolchain.toml` pins, but not the targets it
//! lists when that toolchain is already installed; a build for `wasm32-wasip2` then fails
//! with "can't find crate for `core`". So before a build command that names a target,
//! the target is checked for and installed, or the start fails with the command to run.

use crate::manifest::LoadedManifest;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The Rust target the components are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

pub fn build(manifest: &Path) -> Result<()> {
    let loaded = LoadedManifest::load(manifest)?;
    for (id, spec) in &loaded.manifest.component {
        let Some(build) = &spec.build else { continue };
        let dir = match &build.workdir {
            Some(w) => loaded.resolve(w),
            None => loaded.dir.clone(),
        };
        if build.command.contains(WASM_TARGET) {
            ensure_target(&dir, WASM_TARGET)?;
        }
        eprintln!("Building component {id} with `{}`", build.command);
        let status = Command::new("sh")
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

/// What to do about a Rust target, given `rustup target list --installed` as run in the
/// project folder (so it answers for the toolchain `rust-toolchain.toml` pins), or
/// `None` when rustup is not there to ask.
#[derive(Debug, PartialEq, Eq)]
pub enum TargetStep {
    /// Installed: build.
    Ready,
    /// Missing: `rustup target add` it.
    Install,
    /// No rustup (a distribution's Rust, say): build and let cargo speak.
    Unknown,
}

pub fn target_step(installed: Option<&str>, target: &str) -> TargetStep {
    match installed {
        None => TargetStep::Unknown,
        Some(list) if list.lines().any(|line| line.trim() == target) => TargetStep::Ready,
        Some(_) => TargetStep::Install,
    }
}

/// Makes sure the toolchain used in `dir` has `target`, installing it with rustup if
/// needed.
pub fn ensure_target(dir: &Path, target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    match target_step(installed.as_deref(), target) {
        TargetStep::Ready | TargetStep::Unknown => Ok(()),
        TargetStep::Install => {
            eprintln!("Installing the Rust target {target} (rustup target add {target})");
            let added = Command::new("rustup")
                .args(["target", "add", target])
                .current_dir(dir)
                .status();
            match added {
                Ok(status) if status.success() => Ok(()),
                _ => bail!(
                    "the Rust target {target} is not installed and could not be added; \
                     run `rustup target add {target}` in {} and build again",
                    dir.display()
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_target_is_ready() {
        let list = "wasm32-wasip2\nx86_64-unknown-linux-gnu\n";
        assert_eq!(target_step(Some(list), WASM_TARGET), TargetStep::Ready);
    }

    #[test]
    fn a_missing_target_is_installed() {
        let list = "x86_64-unknown-linux-gnu\nwasm32-wasip1\n";
        assert_eq!(target_step(Some(list), WASM_TARGET), TargetStep::Install);
        assert_eq!(target_step(Some(""), WASM_TARGET), TargetStep::Install);
        // A longer name that contains the target is another target.
        let list = "wasm32-wasip2-threads\n";
        assert_eq!(target_step(Some(list), WASM_TARGET), TargetStep::Install);
    }

    #[test]
    fn without_rustup_cargo_decides() {
        assert_eq!(target_step(None, WASM_TARGET), TargetStep::Unknown);
    }

    #[test]
    fn the_installed_target_is_found_in_a_project_folder() {
        // Here, as in any checkout of this repo, the pinned toolchain has the target
        // (common setup); the check then passes without installing anything.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        ensure_target(&root, WASM_TARGET).expect("the pinned toolchain has the target");
    }
}
