//! The official BeyondTrust Password Safe Python library, unchanged, against edgesafe:
//! tests/python/bips_library_flow.py drives it through every Secrets Safe area, with
//! the pinned 2.32.1 (API 3.0 to 3.2) on the default Python and the newest 3.5.1 (3.0 to
//! 3.3) on Python 3.12 or later, which it needs.

use edgesafe_tests::{python_venv, root, TestApp, ADMIN_KEY, V3};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned library and its command line, on the default Python.
fn python() -> PathBuf {
    python_venv(
        "python-venv",
        || PathBuf::from("python3"),
        "requirements.txt",
    )
}

/// The newest library, on a Python of at least 3.12.
fn python_3_12() -> PathBuf {
    python_venv("python-venv-3", interpreter_3_12, "requirements-3.txt")
}

/// Whether `python` runs and is 3.12 or later.
fn at_least_3_12(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import sys; sys.exit(sys.version_info < (3, 12))"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Python of at least 3.12: `python3.12`/`python3.13` on PATH when they run (pyenv's
/// shims only run for an active version), else the oldest such under `pyenv root`.
fn interpreter_3_12() -> PathBuf {
    let on_path = ["python3.12", "python3.13", "python3"].map(PathBuf::from);
    let pyenv_root = Command::new("pyenv")
        .arg("root")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let mut under_pyenv: Vec<PathBuf> = pyenv_root
        .and_then(|r| std::fs::read_dir(r.join("versions")).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/python3")))
        .collect();
    // Oldest first, by the numbers of the version (3.12.1 before 3.13.0).
    under_pyenv.sort_by_key(|p| {
        let name = p
            .ancestors()
            .nth(2)
            .and_then(|v| v.file_name())
            .unwrap_or_default();
        name.to_string_lossy()
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(u32::MAX))
            .collect::<Vec<_>>()
    });
    on_path
        .into_iter()
        .chain(under_pyenv)
        .find(|p| at_least_3_12(p))
        .expect("beyondtrust-bips-library 3.x needs Python 3.12 or later: none found on PATH or under `pyenv root` (pyenv install 3.12)")
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

/// Runs tests/python/bips_library_flow.py with `python` against a fresh app; returns
/// what it printed.
fn library_flow(python: &Path) -> String {
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
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
    stdout
}

#[test]
fn the_official_python_library_works_unchanged() {
    let stdout = library_flow(&python());
    assert!(
        stdout.contains("bips library 2.32.1 flow, API 3.0, 3.1, 3.2:"),
        "{stdout}"
    );
}

/// The newest library speaks API 3.3: the same flow, plus version history, rollback
/// and TOTP.
#[test]
fn the_newest_python_library_works_unchanged_with_api_3_3() {
    let stdout = library_flow(&python_3_12());
    assert!(
        stdout.contains("bips library 3.5.1 flow, API 3.0, 3.1, 3.2, 3.3:"),
        "{stdout}"
    );
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
