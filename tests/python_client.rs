//! The official BeyondTrust Password Safe Python library, unchanged, against edgesafe:
//! tests/python/bips_library_flow.py drives it through every Secrets Safe area.

use edgesafe_tests::{root, TestApp, ADMIN_KEY, V3};
use std::path::PathBuf;
use std::process::Command;

/// A virtual environment with tests/python/requirements.txt installed (from PyPI,
/// once; `.ci/run` prepares it on CI).
fn python() -> PathBuf {
    let venv = root().join("target/python-venv");
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(root().join("tests/python/requirements.txt")).unwrap();
    let marker = venv.join("requirements.installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(root().join("tests/python/requirements.txt"))
            .status()
            .unwrap();
        assert!(installed.success(), "pip install failed");
        std::fs::write(&marker, wanted).unwrap();
    }
    python
}

#[test]
fn the_official_python_library_works_unchanged() {
    let python = python();
    let app = TestApp::start();
    let admin = app.admin();
    let client = app.v3(
        &admin,
        "POST",
        "Users/1/ApiKeys",
        Some(serde_json::json!({"Kind": "OAuthClient"})),
    );
    assert_eq!(client.status, 201, "{client:?}");
    let client = client.json();
    let other = app.user_with_feature(&admin, "reader", 1);

    let out = Command::new(python)
        .arg(root().join("tests/python/bips_library_flow.py"))
        .env("EDGESAFE_URL", format!("{}{V3}", app.base()))
        .env("EDGESAFE_API_KEY", format!("{ADMIN_KEY}; runas=admin;"))
        .env("EDGESAFE_CLIENT_ID", client["ClientId"].as_str().unwrap())
        .env(
            "EDGESAFE_CLIENT_SECRET",
            client["ClientSecret"].as_str().unwrap(),
        )
        .env("EDGESAFE_USER_ID", admin.user_id.to_string())
        .env("EDGESAFE_OTHER_USER_ID", other.user_id.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "library flow failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    println!("{stdout}");
}
