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

/// An OAuth client of the administrator's, as `{ClientId, ClientSecret, ...}`.
fn oauth_client(app: &TestApp, admin: &edgesafe_tests::Session) -> serde_json::Value {
    let client = app.v3(
        admin,
        "POST",
        "Users/1/ApiKeys",
        Some(serde_json::json!({"Kind": "OAuthClient"})),
    );
    assert_eq!(client.status, 201, "{client:?}");
    client.json()
}

#[test]
fn the_official_python_library_works_unchanged() {
    let python = python();
    let app = TestApp::start();
    let admin = app.admin();
    let client = oauth_client(&app, &admin);
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

    // The library's managed-account checkouts are PAM v2 access records, checked in.
    let records = app.send_json(
        "GET",
        "/api/v2/secret/access?fields=secret_name",
        ("Authorization", ADMIN_KEY),
        None,
    );
    assert_eq!(records.status, 200, "{records:?}");
    let records = records.json()["secret_access"].clone();
    let managed: Vec<&serde_json::Value> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["secret_name"] == "sa")
        .collect();
    assert_eq!(managed.len(), 2, "{records}");
    assert!(managed.iter().all(|r| r["active"] == false), "{records}");
}

/// `ps-cli user-audits list` and `get`, unchanged, over OAuth client credentials.
#[test]
fn ps_cli_user_audits_work_unchanged() {
    let python = python();
    let ps_cli = python.with_file_name("ps-cli");
    let app = TestApp::start();
    let admin = app.admin();
    let client = oauth_client(&app, &admin);
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&ps_cli)
            .args(["--format", "json", "user-audits"])
            .args(args)
            .env("HOME", home.path())
            .env(
                "PSCLI_SETTINGS_PATH",
                home.path().join("pscli-settings.ini"),
            )
            .env("PSCLI_API_URL", format!("{}{V3}", app.base()))
            .env("PSCLI_API_VERSION", "3.1")
            .env("PSCLI_CLIENT_ID", client["ClientId"].as_str().unwrap())
            .env(
                "PSCLI_CLIENT_SECRET",
                client["ClientSecret"].as_str().unwrap(),
            )
            .env("PSCLI_VERIFY_CA", "false")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ps-cli {args:?}:\n{stdout}\n{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap_or_else(|e| {
            panic!("ps-cli {args:?} printed no JSON ({e}):\n{stdout}\n{stderr}")
        })
    };

    let listed = run(&[
        "list",
        "-u",
        "admin",
        "-s",
        "identity",
        "-sd",
        "2000-01-01",
        "-l",
        "5",
    ]);
    let listed = listed.as_array().expect("the Data of the page");
    assert!(!listed.is_empty(), "{listed:?}");
    assert!(listed
        .iter()
        .all(|a| a["UserName"] == "admin" && a["Section"] == "identity"));
    let id = listed[0]["AuditID"].as_i64().expect("AuditID").to_string();
    let details = run(&["get", "-id", &id, "-l", "2", "-o", "0"]);
    let details = details.as_array().expect("the Data of the page");
    assert_eq!(details.len(), 2, "{details:?}");
    assert_eq!(details[0]["FieldName"], "Target");
}
