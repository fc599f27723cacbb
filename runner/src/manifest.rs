//! The subset of Spin's manifest (version 2) that the runner serves: HTTP triggers,
//! components with their grants, variables and component dependencies.
//! Unknown keys are ignored, as Spin ignores tool sections it does not own.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableSpec>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentSpec>,
}

#[derive(Debug, Deserialize)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct VariableSpec {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: RouteSpec,
    pub component: String,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RouteSpec {
    Path(String),
    Private { private: bool },
}

#[derive(Debug, Deserialize)]
pub struct ComponentSpec {
    pub source: String,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub dependencies_inherit_configuration: bool,
    #[serde(default)]
    pub dependencies: BTreeMap<String, DependencySpec>,
    #[serde(default)]
    pub build: Option<BuildSpec>,
}

#[derive(Debug, Deserialize)]
pub struct DependencySpec {
    pub path: Option<String>,
    #[serde(default)]
    pub inherit_configuration: Inherit,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(untagged)]
pub enum Inherit {
    #[default]
    None,
    All(bool),
    Some(Vec<String>),
}

#[derive(Debug, Deserialize)]
pub struct BuildSpec {
    pub command: String,
    #[serde(default)]
    pub workdir: Option<String>,
}

/// A manifest and the folder its relative paths start from.
pub struct LoadedManifest {
    pub manifest: Manifest,
    pub dir: PathBuf,
}

impl LoadedManifest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text)
            .with_context(|| format!("invalid manifest {}", path.display()))?;
        if manifest.spin_manifest_version != 2 {
            bail!("spin_manifest_version must be 2");
        }
        for trigger in &manifest.trigger.http {
            if !manifest.component.contains_key(&trigger.component) {
                bail!(
                    "trigger names component `{}`, which the manifest does not define",
                    trigger.component
                );
            }
        }
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        Ok(Self { manifest, dir })
    }

    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

impl Inherit {
    /// Whether a dependency sees its parent's grants for `key` (e.g. "sqlite_databases").
    pub fn includes(&self, key: &str) -> bool {
        match self {
            Inherit::None => false,
            Inherit::All(all) => *all,
            Inherit::Some(keys) => keys.iter().any(|k| k == key),
        }
    }
}
