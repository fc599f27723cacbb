//! Component dependencies (Spin's `[component.x.dependencies]`): each import of the
//! component that a dependency names is satisfied by that dependency's export of the
//! same name; everything else stays an import of the composed component.

use anyhow::{bail, Context, Result};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions};

/// A dependency as the manifest declares it: its name (`pkg:name`, `pkg:name@ver`,
/// `pkg:name/iface` or `pkg:name/iface@ver`) and its component bytes.
pub struct Dependency<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// Whether the dependency `name` satisfies the import `import`.
fn satisfies(name: &str, import: &str) -> bool {
    let (import_path, import_version) = split_version(import);
    let (name_path, name_version) = split_version(name);
    let versions_match = name_version.is_none() || name_version == import_version;
    if name_path.contains('/') {
        name_path == import_path && versions_match
    } else {
        import_path
            .split_once('/')
            .is_some_and(|(package, _)| package == name_path)
            && versions_match
    }
}

fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (name, None),
    }
}

/// Names of a component's imports.
pub fn imports(bytes: &[u8]) -> Result<Vec<String>> {
    let mut graph = CompositionGraph::new();
    let package = Package::from_bytes("probe:component", None, bytes.to_vec(), graph.types_mut())?;
    Ok(graph.types()[package.ty()]
        .imports
        .keys()
        .cloned()
        .collect())
}

pub fn compose(component: &[u8], dependencies: &[Dependency<'_>]) -> Result<Vec<u8>> {
    let mut graph = CompositionGraph::new();
    let main = Package::from_bytes(
        "root:component",
        None,
        component.to_vec(),
        graph.types_mut(),
    )
    .context("the component is not a valid component")?;
    let world = &graph.types()[main.ty()];
    let main_imports: Vec<String> = world.imports.keys().cloned().collect();
    let main_exports: Vec<String> = world.exports.keys().cloned().collect();
    let main = graph.register_package(main)?;
    let main_instance = graph.instantiate(main);

    for (index, dep) in dependencies.iter().enumerate() {
        let package = Package::from_bytes(
            &format!("root:dependency{index}"),
            None,
            dep.bytes.to_vec(),
            graph.types_mut(),
        )
        .with_context(|| format!("dependency `{}` is not a valid component", dep.name))?;
        let exports: Vec<String> = graph.types()[package.ty()]
            .exports
            .keys()
            .cloned()
            .collect();
        let wanted: Vec<&String> = main_imports
            .iter()
            .filter(|i| satisfies(dep.name, i))
            .collect();
        if wanted.is_empty() {
            // Harmless (the dependency is left out), but usually a manifest typo.
            eprintln!(
                "warning: dependency `{}` satisfies no import of the component",
                dep.name
            );
            continue;
        }
        let package = graph.register_package(package)?;
        let instance = graph.instantiate(package);
        for import in wanted {
            if !exports.contains(import) {
                bail!("dependency `{}` does not export `{import}`", dep.name);
            }
            let export = graph.alias_instance_export(instance, import)?;
            graph.set_instantiation_argument(main_instance, import, export)?;
        }
    }

    for name in &main_exports {
        let export = graph.alias_instance_export(main_instance, name)?;
        graph.export(export, name)?;
    }
    Ok(graph.encode(EncodeOptions::default())?)
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn dependency_names_match_imports_like_spin() {
        let import = "edgesafe:vault/storage@0.1.0";
        assert!(satisfies("edgesafe:vault", import));
        assert!(satisfies("edgesafe:vault@0.1.0", import));
        assert!(!satisfies("edgesafe:vault@0.2.0", import));
        assert!(satisfies("edgesafe:vault/storage", import));
        assert!(!satisfies("edgesafe:vault/crypto", import));
        assert!(!satisfies("edgesafe:other", import));
    }
}
