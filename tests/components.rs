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
    for component in ["core", "gateway", "identity", "folders", "secrets", "safes"] {
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
