//! The components' own unit tests. Components are cdylibs for wasm32-wasip2, so a
//! plain `cargo test` of the workspace cannot link them natively; their library test
//! harnesses (`--lib`) can. Running them from here keeps `cargo test --release` the
//! one command that runs every test.

use edgesafe_tests::root;
use std::process::Command;

#[test]
fn component_unit_tests_pass() {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["test", "--release", "--lib"]);
    for component in [
        "core", "gateway", "identity", "folders", "secrets", "safes", "checkout", "audit", "kv",
    ] {
        cargo.args(["-p", &format!("edgesafe-{component}")]);
    }
    let out = cargo.current_dir(root()).output().expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "component unit tests failed:\n{stdout}\n{stderr}"
    );
    // Echo the per-crate results so they show in this run's output.
    for line in stdout.lines().filter(|l| l.starts_with("test result:")) {
        println!("{line}");
    }
}

/// DESIGN §3: the core is the only component that imports Spin's SQLite, key-value and
/// variables; every other component reaches them through `edgesafe:vault`.
#[test]
fn only_the_core_imports_spin_host_interfaces() {
    edgesafe_tests::build_components();
    for component in [
        "gateway", "identity", "folders", "secrets", "safes", "checkout", "audit", "kv", "core",
    ] {
        let path = root().join(format!(
            "target/wasm32-wasip2/release/edgesafe_{component}.wasm"
        ));
        let bytes = std::fs::read(&path).expect("component built");
        let imports = edgesafe_runner::compose::imports(&bytes).expect("a component");
        let spin: Vec<&String> = imports
            .iter()
            .filter(|i| i.starts_with("fermyon:spin/") || i.starts_with("spin:"))
            .collect();
        if component == "core" {
            assert!(!spin.is_empty(), "the core uses Spin's host interfaces");
        } else {
            assert!(spin.is_empty(), "{component} imports {spin:?}");
            assert!(
                imports.iter().any(|i| i.starts_with("edgesafe:vault/")),
                "{component} uses the vault"
            );
        }
    }
}
