//! The core's guarantees, through the vault probe composed with the real core (and,
//! for key rotation, through the app's own APIs): values encrypted at rest and bound to
//! their scope, key rotation that cannot lose data, a clear error for a bad key,
//! migrations applied once, and a tamper-evident audit chain.

use edgesafe_tests::{ps_auth, root, Reply, Session, TestApp, ADMIN_KEY, KEK, V3};
use std::path::Path;

const OTHER_KEK: &str = "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435";
/// Three key-encryption keys, rotated in this order, and their ids (the first 8 bytes
/// of each key's SHA-256, as the keyring status shows them).
const K1: &str = KEK;
const K2: &str = OTHER_KEK;
const K3: &str = "dGhlIHRoaXJkIGtleS1lbmNyeXB0aW9uIGtleSAzMzM=";
const K1_ID: &str = "3eb1bd439947eb76";
const K2_ID: &str = "653bb1245e828fcd";
const K3_ID: &str = "c92136aba00b0e6a";

fn vault(vars: &[(&str, &str)]) -> TestApp {
    TestApp::with_manifest(&root().join("tests/fixtures/vault-probe/spin.toml"), vars)
}

/// Every file under `dir`, read whole.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn kv(app: &TestApp) -> rusqlite::Connection {
    rusqlite::Connection::open(app.state_dir().join("sqlite_key_value.db")).unwrap()
}

fn db(app: &TestApp) -> rusqlite::Connection {
    rusqlite::Connection::open(app.state_dir().join("sqlite_db.db")).unwrap()
}

#[test]
fn sealed_values_round_trip_and_are_not_on_disk_in_plaintext() {
    let app = vault(&[]);
    let secret = b"correct horse battery staple 7f3a9";
    let sealed = app.send("POST", "/seal/secret/s1/v/1", &[], Some(secret));
    assert_eq!(sealed.status, 204, "{sealed:?}");
    let opened = app.get("/unseal/secret/s1/v/1", &[]);
    assert_eq!(opened.status, 200, "{opened:?}");
    assert_eq!(opened.body, secret);
    assert_eq!(app.get("/unseal/secret/none", &[]).status, 404);

    // Checkpoint the WAL so the scan sees everything SQLite wrote.
    kv(&app)
        .pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    for (name, bytes) in files(app.state_dir()) {
        assert!(!contains(&bytes, secret), "plaintext found in {name}");
        assert!(
            !contains(&bytes, ADMIN_KEY.as_bytes()),
            "admin key found in {name}"
        );
    }
}

#[test]
fn a_sealed_value_cannot_be_edited_or_moved_to_another_scope() {
    let app = vault(&[]);
    assert_eq!(
        app.send("POST", "/seal/probe/a", &[], Some(b"value-a"))
            .status,
        204
    );
    assert_eq!(
        app.send("POST", "/seal/probe/b", &[], Some(b"value-b"))
            .status,
        204
    );
    let conn = kv(&app);
    // Swap: b's key now holds a's record.
    conn.execute(
        "UPDATE spin_key_value SET value = (SELECT value FROM spin_key_value WHERE key = 'sealed/probe/a') WHERE key = 'sealed/probe/b'",
        [],
    )
    .unwrap();
    assert_eq!(app.get("/unseal/probe/b", &[]).text(), "tampered");
    // Flip the last byte of a's record.
    let mut record: Vec<u8> = conn
        .query_row(
            "SELECT value FROM spin_key_value WHERE key = 'sealed/probe/a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let last = record.len() - 1;
    record[last] ^= 1;
    conn.execute(
        "UPDATE spin_key_value SET value = ?1 WHERE key = 'sealed/probe/a'",
        [&record],
    )
    .unwrap();
    assert_eq!(app.get("/unseal/probe/a", &[]).text(), "tampered");
}

/// The variables of a start with key-encryption key `kek` and `previous`.
fn keks<'a>(kek: &'a str, previous: &'a str) -> [(&'static str, &'a str); 2] {
    [
        ("SPIN_VARIABLE_KEK", kek),
        ("SPIN_VARIABLE_KEK_PREVIOUS", previous),
    ]
}

/// The state directory's files as they are on disk. SQLite's `-shm` file is left out:
/// it is a shared-memory index of the write-ahead log, rebuilt by every reader, not
/// state.
fn state_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = files(dir);
    // SQLite's shared-memory index, and the empty write-ahead log it creates when any
    // reader opens a database in WAL mode, hold no data.
    // Nor do the host's logs (`spin up` writes components' output under `logs/`).
    let no_data = |name: &str, bytes: &[u8]| {
        name.ends_with("-shm")
            || (name.ends_with("-wal") && bytes.is_empty())
            || name.ends_with("spin-up.log")
            || name.contains("/logs/")
    };
    out.retain(|(name, bytes)| !no_data(name, bytes));
    out.sort();
    out
}

/// The id of the key-encryption key that wraps the stored keyring.
fn wrapping_kek_id(app: &TestApp) -> String {
    db(app)
        .query_row("SELECT kek_id FROM vault_keyring WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn a_key_that_does_not_open_the_keyring_is_refused_by_name_and_nothing_changes() {
    let mut app = vault(&[]);
    assert_eq!(
        app.send("POST", "/seal/probe/old", &[], Some(b"first"))
            .status,
        204
    );
    // A new key alone, as if the rotation's `kek_previous` were forgotten.
    app.restart_with(&keks(K2, ""));
    let before = state_files(app.state_dir());
    for reply in [
        app.get("/unseal/probe/old", &[]),
        app.send("POST", "/seal/probe/new", &[], Some(b"second")),
        app.get("/digest/some-token", &[]),
        app.get("/migrations", &[]),
    ] {
        let text = reply.text();
        assert!(text.starts_with("key-unavailable"), "{text}");
        for named in ["`kek`", "`kek_previous`", K1_ID, K2_ID] {
            assert!(text.contains(named), "{named} in {text}");
        }
        assert!(!text.contains(K2), "{text}");
    }
    assert!(
        state_files(app.state_dir()) == before,
        "the state directory must stay byte-identical"
    );
    // The right key as `kek_previous` opens it, and new values are sealed too.
    app.restart_with(&keks(K2, K1));
    assert_eq!(app.get("/unseal/probe/old", &[]).text(), "first");
    assert_eq!(
        app.send("POST", "/seal/probe/new", &[], Some(b"second"))
            .status,
        204
    );
    app.restart_with(&keks(K2, ""));
    assert_eq!(app.get("/unseal/probe/old", &[]).text(), "first");
    assert_eq!(app.get("/unseal/probe/new", &[]).text(), "second");
}

#[test]
fn a_rewrap_that_never_commits_leaves_a_vault_that_opens_with_either_key() {
    let mut app = vault(&[]);
    assert_eq!(
        app.send("POST", "/seal/probe/kept", &[], Some(b"value"))
            .status,
        204
    );
    app.restart_with(&keks(K2, K1));
    // Another writer holds SQLite's write lock, so the re-wrap's transaction cannot
    // commit (as if its instance died before COMMIT). The value still reads, opened
    // with `kek_previous`.
    let lock = db(&app);
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(app.get("/unseal/probe/kept", &[]).text(), "value");
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(wrapping_kek_id(&app), K1_ID, "nothing was re-wrapped");

    // The old key alone still opens it...
    app.restart_with(&keks(K1, ""));
    assert_eq!(app.get("/unseal/probe/kept", &[]).text(), "value");
    // ...and so does the new one with the old one beside it, which completes the
    // re-wrap, after which the new one alone is enough.
    app.restart_with(&keks(K2, K1));
    assert_eq!(app.get("/unseal/probe/kept", &[]).text(), "value");
    assert_eq!(wrapping_kek_id(&app), K2_ID);
    app.restart_with(&keks(K2, ""));
    assert_eq!(app.get("/unseal/probe/kept", &[]).text(), "value");
}

#[test]
fn a_malformed_key_encryption_key_is_a_clear_error_that_does_not_echo_it() {
    let app = vault(&[("SPIN_VARIABLE_KEK", "not-a-real-key")]);
    let reply = app.send("POST", "/seal/probe/x", &[], Some(b"v"));
    let text = reply.text();
    assert!(text.starts_with("key-unavailable"), "{text}");
    assert!(text.contains("kek"), "{text}");
    assert!(!text.contains("not-a-real-key"), "{text}");
}

#[test]
fn migrations_are_applied_once() {
    let mut app = vault(&[]);
    let before = app.get("/migrations", &[]).text();
    assert!(
        before.starts_with("1 0001_identity") || before.starts_with("1 identity"),
        "{before}"
    );
    app.restart();
    let after = app.get("/migrations", &[]).text();
    assert_eq!(
        before, after,
        "a restart must not re-apply or re-record migrations"
    );
    let count: i64 = db(&app)
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        count as usize,
        std::fs::read_dir(root().join("migrations"))
            .unwrap()
            .count()
    );
}

#[test]
fn the_audit_chain_detects_edits_and_gaps() {
    let app = vault(&[]);
    for action in ["one", "two", "three"] {
        assert_eq!(
            app.send("POST", &format!("/audit/{action}"), &[], Some(b""))
                .status,
            200
        );
    }
    let verified = app.get("/audit", &[]).text();
    assert!(verified.starts_with("ok "), "{verified}");
    let conn = db(&app);
    let second: i64 = conn
        .query_row(
            "SELECT seq FROM audit_events WHERE action = 'two'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "UPDATE audit_events SET target = 'edited' WHERE seq = ?1",
        [second],
    )
    .unwrap();
    assert_eq!(app.get("/audit", &[]).text(), format!("broken at {second}"));
    conn.execute(
        "UPDATE audit_events SET target = 'probe' WHERE seq = ?1",
        [second],
    )
    .unwrap();
    assert!(app.get("/audit", &[]).text().starts_with("ok "));
    conn.execute("DELETE FROM audit_events WHERE seq = ?1", [second])
        .unwrap();
    assert_eq!(
        app.get("/audit", &[]).status,
        409,
        "a missing event breaks the chain"
    );
}

// ---------------------------------------------------------------- key rotation, through the app

/// A v2 call to the keyring endpoints with `key` as credentials.
fn keyring_call(app: &TestApp, key: &str, method: &str, path: &str) -> Reply {
    app.send(
        method,
        &format!("/api/v2/vault/{path}"),
        &[("Authorization", key)],
        None,
    )
}

/// The keyring's status, as the bootstrap administrator sees it.
fn keyring_status(app: &TestApp) -> serde_json::Value {
    let reply = keyring_call(app, ADMIN_KEY, "GET", "keyring");
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["result"], "success");
    body["keyring"].clone()
}

/// Values sealed under each term, oldest first.
fn values_per_term(status: &serde_json::Value) -> Vec<(u64, u64)> {
    status["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["term"].as_u64().unwrap(), t["values"].as_u64().unwrap()))
        .collect()
}

fn read_text(app: &TestApp, session: &Session, id: &str) -> String {
    let reply = app.v3(
        session,
        "GET",
        &format!("secrets-safe/secrets/{id}/text"),
        None,
    );
    assert_eq!(reply.status, 200, "{id}: {reply:?}");
    reply.json()["Text"].as_str().unwrap().to_string()
}

/// Signs in (which needs the token digest key from the keyring) and reads every secret.
fn assert_all_readable(app: &TestApp, written: &[(String, String)]) {
    let admin = app.admin();
    for (id, text) in written {
        assert_eq!(&read_text(app, &admin, id), text);
    }
}

#[test]
fn rotating_the_key_encryption_key_twice_keeps_every_secret_and_sign_in() {
    let mut app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "rotations");
    let mut written = vec![(
        app.create_text_secret(&admin, &safe, "k1", "written under K1"),
        "written under K1".to_string(),
    )];
    assert_eq!(keyring_status(&app)["kek_id"], K1_ID);
    for (kek, previous, kek_id) in [(K2, K1, K2_ID), (K3, K2, K3_ID)] {
        // One start with the previous key beside the new one re-wraps the keyring...
        app.restart_with(&keks(kek, previous));
        assert_all_readable(&app, &written);
        assert_eq!(keyring_status(&app)["kek_id"], kek_id);
        let admin = app.admin();
        let text = format!("written under {kek_id}");
        written.push((app.create_text_secret(&admin, &safe, kek_id, &text), text));
        // ...after which the previous key can go for good.
        app.restart_with(&keks(kek, ""));
        assert_all_readable(&app, &written);
        assert_eq!(keyring_status(&app)["kek_id"], kek_id);
    }
    // The first key no longer opens anything: every request is refused.
    app.restart_with(&keks(K1, ""));
    let sign_in = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
        None,
    );
    assert_eq!(sign_in.status, 503, "{sign_in:?}");
    assert_eq!(sign_in.json()["Code"], "unavailable");
    let status = keyring_call(&app, ADMIN_KEY, "GET", "keyring");
    assert_eq!(status.status, 503, "{status:?}");
    assert_eq!(status.json()["result"], "error");
    // And the current one still does.
    app.restart_with(&keks(K3, ""));
    assert_all_readable(&app, &written);
}

#[test]
fn a_wrong_key_fails_every_request_and_leaves_the_state_byte_identical() {
    let mut app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "wrong-key");
    let id = app.create_text_secret(&admin, &safe, "s", "kept");
    app.restart_with(&keks(K2, K3));
    let before = state_files(app.state_dir());
    let authorization = ps_auth(ADMIN_KEY, "admin");
    for (method, path) in [
        ("POST", format!("{V3}/Auth/SignAppIn")),
        ("GET", format!("{V3}/secrets-safe/secrets/{id}/text")),
        ("POST", format!("{V3}/Users")),
    ] {
        let reply = app.send(method, &path, &[("Authorization", &authorization)], None);
        assert_eq!(reply.status, 503, "{path}: {reply:?}");
    }
    let rotate = keyring_call(&app, ADMIN_KEY, "POST", "keyring/rotate");
    assert_eq!(rotate.status, 503, "{rotate:?}");
    assert!(
        state_files(app.state_dir()) == before,
        "the state directory must stay byte-identical"
    );
    app.restart_with(&keks(K1, ""));
    assert_all_readable(&app, &[(id, "kept".to_string())]);
}

#[test]
fn a_new_data_key_term_and_reseals_move_values_and_the_counts_agree() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "terms");
    let mut written = Vec::new();
    for name in ["a", "b", "c"] {
        let text = format!("{name} under term 1");
        written.push((app.create_text_secret(&admin, &safe, name, &text), text));
    }
    let status = keyring_status(&app);
    assert_eq!(values_per_term(&status), vec![(1, 3)]);
    assert_eq!(status["newest_term"], 1);
    assert_eq!(status["kek_sealed_values"], 0);
    assert!(status["terms"][0]["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));

    let rotate = keyring_call(&app, ADMIN_KEY, "POST", "keyring/rotate");
    assert_eq!(rotate.status, 200, "{rotate:?}");
    assert_eq!(
        rotate.json(),
        serde_json::json!({"result": "success", "term": 2})
    );
    let text = "d under term 2".to_string();
    written.push((app.create_text_secret(&admin, &safe, "d", &text), text));
    assert_eq!(values_per_term(&keyring_status(&app)), vec![(1, 3), (2, 1)]);
    assert_all_readable(&app, &written);

    let reseal = keyring_call(&app, ADMIN_KEY, "POST", "keyring/reseal?limit=2");
    assert_eq!(reseal.status, 200, "{reseal:?}");
    assert_eq!(
        reseal.json(),
        serde_json::json!({"result": "success", "resealed": 2, "remaining": 1})
    );
    assert_eq!(values_per_term(&keyring_status(&app)), vec![(1, 1), (2, 3)]);
    let reseal = keyring_call(&app, ADMIN_KEY, "POST", "keyring/reseal");
    assert_eq!(
        reseal.json(),
        serde_json::json!({"result": "success", "resealed": 1, "remaining": 0})
    );
    assert_eq!(values_per_term(&keyring_status(&app)), vec![(1, 0), (2, 4)]);
    assert_all_readable(&app, &written);

    // On disk every value is now a format-2 record of term 2.
    let records: Vec<Vec<u8>> = kv(&app)
        .prepare("SELECT value FROM spin_key_value WHERE key LIKE 'sealed/%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(records.len(), 4);
    for record in &records {
        assert_eq!(record[..5], [2, 0, 0, 0, 2]);
    }
    // Each rotation and re-seal is an audit event, which carries no key material.
    let events = |action: &str| {
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = ?1 AND decision = 'allow'",
            [action],
        )
    };
    assert_eq!(events("vault.keyring.rotate"), 1);
    assert_eq!(events("vault.keyring.reseal"), 2);

    for bad in ["0", "1001", "-1", "ten"] {
        let reply = keyring_call(
            &app,
            ADMIN_KEY,
            "POST",
            &format!("keyring/reseal?limit={bad}"),
        );
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
        assert_eq!(reply.json()["result"], "error");
        assert!(reply.json()["message"].as_str().unwrap().contains("limit"));
    }
    let wrong_method = keyring_call(&app, ADMIN_KEY, "GET", "keyring/rotate");
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
}

#[test]
fn only_administrators_see_or_change_the_keyring() {
    let app = TestApp::start();
    let admin = app.admin();
    let user = app.v3(
        &admin,
        "POST",
        "Users",
        Some(serde_json::json!({"UserName": "bob"})),
    );
    assert_eq!(user.status, 201, "{user:?}");
    let user_id = user.json()["UserID"].as_i64().unwrap();
    let key = app.v3(
        &admin,
        "POST",
        &format!("Users/{user_id}/ApiKeys"),
        Some(serde_json::json!({})),
    );
    assert_eq!(key.status, 201, "{key:?}");
    let key = key.json()["Key"].as_str().unwrap().to_string();

    for (method, path, action) in [
        ("GET", "keyring", "vault.keyring.read"),
        ("POST", "keyring/rotate", "vault.keyring.rotate"),
        ("POST", "keyring/reseal?limit=5", "vault.keyring.reseal"),
    ] {
        let reply = keyring_call(&app, &key, method, path);
        assert_eq!(reply.status, 403, "{path}: {reply:?}");
        assert_eq!(reply.json()["result"], "error");
        assert_eq!(reply.json()["code"], "forbidden");
        let denied = app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = ?1 AND decision = 'deny' AND actor = ?2",
            [action, &format!("user:{user_id}")],
        );
        assert_eq!(denied, 1, "{action} is audited");

        let anonymous = app.send(method, &format!("/api/v2/vault/{path}"), &[], None);
        assert_eq!(anonymous.status, 401, "{path}: {anonymous:?}");
    }
    // Nothing changed.
    assert_eq!(values_per_term(&keyring_status(&app)), vec![(1, 0)]);
}

/// Serves a copy of a vault made by edgesafe before the keyring (format-1 records, the
/// system keys in the key-value store): made with key K1, then a start with K2 and
/// K1 as `kek_previous`, one text secret written under each.
struct FormerVault {
    state: tempfile::TempDir,
    config: edgesafe_runner::AppConfig,
    running: Option<edgesafe_runner::Running>,
}

const FORMER_SECRETS: [(&str, &str); 2] = [
    (
        "c15bdc65-6467-475f-9bf3-5bbfbc4f6a87",
        "sealed under K1 before the keyring",
    ),
    (
        "d2c0b6b1-9ffc-4659-9c8b-58ee4f7929c9",
        "sealed under K2 before the keyring",
    ),
];

impl FormerVault {
    fn copy() -> Self {
        let state = tempfile::tempdir().unwrap();
        let fixture = root().join("tests/fixtures/vault-probe/format1-vault");
        for name in ["sqlite_db.db", "sqlite_key_value.db"] {
            std::fs::copy(fixture.join(name), state.path().join(name)).unwrap();
        }
        // The app's own configuration, pointed at the copy.
        let mut config = TestApp::start().config();
        config.state_dir = state.path().to_path_buf();
        FormerVault {
            state,
            config,
            running: None,
        }
    }

    fn start_with(&mut self, kek: &str, previous: &str) -> String {
        if let Some(running) = self.running.take() {
            running.stop().unwrap();
        }
        for (name, value) in keks(kek, previous) {
            self.config.env.insert(name.to_string(), value.to_string());
        }
        let running =
            edgesafe_runner::Running::start(&self.config, "127.0.0.1:0".parse().unwrap()).unwrap();
        let base = format!("http://{}", running.addr());
        self.running = Some(running);
        base
    }

    fn kv_keys(&self) -> Vec<String> {
        let conn =
            rusqlite::Connection::open(self.state.path().join("sqlite_key_value.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT key FROM spin_key_value ORDER BY key")
            .unwrap();
        let keys = stmt.query_map([], |r| r.get(0)).unwrap();
        keys.map(Result::unwrap).collect()
    }
}

/// Signs in and reads the secret `id` over v3; the status and the text, if any.
fn read_former(base: &str, id: &str) -> (u16, Option<String>) {
    let auth = ps_auth(ADMIN_KEY, "admin");
    let headers = [("Authorization", auth.as_str())];
    let sign_in = edgesafe_tests::send(
        base,
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &headers,
        None,
    );
    assert_eq!(sign_in.status, 200, "{sign_in:?}");
    let reply = edgesafe_tests::send(
        base,
        "GET",
        &format!("{V3}/secrets-safe/secrets/{id}/text"),
        &headers,
        None,
    );
    let text = (reply.status == 200).then(|| reply.json()["Text"].as_str().unwrap().to_string());
    (reply.status, text)
}

fn former_status(base: &str) -> serde_json::Value {
    let reply = edgesafe_tests::send(
        base,
        "GET",
        "/api/v2/vault/keyring",
        &[("Authorization", ADMIN_KEY)],
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["keyring"].clone()
}

#[test]
fn a_vault_made_before_the_keyring_is_upgraded_and_no_key_rotation_strands_its_values() {
    let mut vault = FormerVault::copy();
    // Started with the first key only: the system keys open with it, so the vault gets
    // a keyring (wrapped by K1) and sign-in works; the value K2 sealed cannot be
    // re-sealed yet, and stays a format-1 record.
    let base = vault.start_with(K1, "");
    let (under_k1, under_k2) = (FORMER_SECRETS[0], FORMER_SECRETS[1]);
    assert_eq!(
        read_former(&base, under_k1.0),
        (200, Some(under_k1.1.to_string()))
    );
    assert_eq!(read_former(&base, under_k2.0).0, 503);
    let status = former_status(&base);
    assert_eq!(status["kek_id"], K1_ID);
    assert_eq!(status["kek_sealed_values"], 1);
    assert_eq!(values_per_term(&status), vec![(1, 1)]);
    assert!(
        !vault
            .kv_keys()
            .iter()
            .any(|k| k.starts_with("sealed/system/")),
        "the former system keys are in the keyring now: {:?}",
        vault.kv_keys()
    );

    // While a value is still sealed directly under a KEK, the keyring is not moved off
    // `kek_previous`, by a start or by a new data key term.
    let base = vault.start_with(K3, K1);
    assert_eq!(
        read_former(&base, under_k1.0),
        (200, Some(under_k1.1.to_string()))
    );
    let rotate = edgesafe_tests::send(
        &base,
        "POST",
        "/api/v2/vault/keyring/rotate",
        &[("Authorization", ADMIN_KEY)],
        None,
    );
    assert_eq!(rotate.status, 200, "{rotate:?}");
    let status = former_status(&base);
    assert_eq!(status["kek_id"], K1_ID);
    assert_eq!(status["kek_sealed_values"], 1);

    // With K2 and K1 beside it, the last format-1 value is re-sealed (under the newest
    // term) before the keyring is re-wrapped under K2...
    let base = vault.start_with(K2, K1);
    for (id, text) in FORMER_SECRETS {
        assert_eq!(read_former(&base, id), (200, Some(text.to_string())));
    }
    let status = former_status(&base);
    assert_eq!(status["kek_id"], K2_ID);
    assert_eq!(status["kek_sealed_values"], 0);
    assert_eq!(values_per_term(&status), vec![(1, 1), (2, 1)]);

    // ...so K1 can go, and then K2 (the double rotation that once bricked a vault).
    let base = vault.start_with(K2, "");
    for (id, text) in FORMER_SECRETS {
        assert_eq!(read_former(&base, id), (200, Some(text.to_string())));
    }
    // The re-wrap happens on the first request after a start.
    let base = vault.start_with(K3, K2);
    assert_eq!(former_status(&base)["kek_id"], K3_ID);
    let base = vault.start_with(K3, "");
    for (id, text) in FORMER_SECRETS {
        assert_eq!(read_former(&base, id), (200, Some(text.to_string())));
    }
    assert_eq!(former_status(&base)["kek_id"], K3_ID);
}

#[test]
fn a_vault_made_before_the_keyring_is_refused_untouched_by_a_key_that_does_not_open_it() {
    let mut vault = FormerVault::copy();
    let base = vault.start_with(K3, "");
    let before = state_files(vault.state.path());
    let reply = edgesafe_tests::send(
        &base,
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
        None,
    );
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        state_files(vault.state.path()) == before,
        "nothing was migrated or written"
    );
    let migrations: i64 = rusqlite::Connection::open(vault.state.path().join("sqlite_db.db"))
        .unwrap()
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(migrations, 2);
    // The right keys then upgrade it as usual.
    let base = vault.start_with(K2, K1);
    for (id, text) in FORMER_SECRETS {
        assert_eq!(read_former(&base, id), (200, Some(text.to_string())));
    }
}

#[test]
fn reseals_racing_writes_and_deletes_neither_lose_nor_revive_a_value() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "race");
    std::thread::scope(|s| {
        // An administrator adds terms and re-seals in small batches...
        let resealing = s.spawn(|| {
            for _ in 0..6 {
                let rotate = keyring_call(&app, ADMIN_KEY, "POST", "keyring/rotate");
                assert_eq!(rotate.status, 200, "{rotate:?}");
                for _ in 0..3 {
                    let reseal = keyring_call(&app, ADMIN_KEY, "POST", "keyring/reseal?limit=4");
                    assert_eq!(reseal.status, 200, "{reseal:?}");
                }
            }
        });
        // ...while secrets are written, and every other one deleted.
        let mut kept = Vec::new();
        for i in 0..24 {
            let text = format!("value {i}");
            let id = app.create_text_secret(&admin, &safe, &format!("s{i}"), &text);
            if i % 2 == 0 {
                let deleted = app.v3(
                    &admin,
                    "DELETE",
                    &format!("secrets-safe/secrets/{id}"),
                    None,
                );
                assert_eq!(deleted.status, 200, "{deleted:?}");
            } else {
                kept.push((id, text));
            }
        }
        resealing.join().unwrap();
        assert_all_readable(&app, &kept);
    });
    // No deleted value came back, and the counts agree with the store.
    let sealed_records = || {
        kv(&app)
            .query_row(
                "SELECT COUNT(*) FROM spin_key_value WHERE key LIKE 'sealed/%'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as u64
    };
    assert_eq!(sealed_records(), 12);
    let total = |status: &serde_json::Value| -> u64 {
        values_per_term(status).iter().map(|(_, n)| n).sum()
    };
    assert_eq!(total(&keyring_status(&app)), 12);
    let reseal = keyring_call(&app, ADMIN_KEY, "POST", "keyring/reseal?limit=1000");
    assert_eq!(reseal.json()["remaining"], 0, "{reseal:?}");
    let status = keyring_status(&app);
    let newest = status["newest_term"].as_u64().unwrap();
    assert_eq!(newest, 7);
    assert_eq!(values_per_term(&status).last(), Some(&(newest, 12)));
    assert_eq!(sealed_records(), 12);
}

/// A write that finds the database locked by another writer for longer than the
/// vault waits is a 503 the client may retry, in the protocol's shape, and changes
/// nothing; once the lock is gone the same write goes through.
#[test]
fn a_write_kept_waiting_by_a_lock_answers_503_and_retries_later() {
    let app = TestApp::start_with(&[("SPIN_VARIABLE_DATABASE_LOCK_WAIT_MS", "300")]);
    let admin = app.admin();
    let safe = app.create_safe(&admin, "contended");
    let create = |title: &str| {
        app.v3(
            &admin,
            "POST",
            &format!("secrets-safe/folders/{safe}/secrets/text"),
            Some(serde_json::json!({"Title": title, "Text": "v"})),
        )
    };
    let other_writer = app.db();
    other_writer
        .execute_batch("BEGIN IMMEDIATE")
        .expect("the write lock");
    let refused = create("while locked");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["Code"], "unavailable");
    other_writer.execute_batch("ROLLBACK").expect("released");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secrets WHERE title = 'while locked'",
            rusqlite::params![]
        ),
        0
    );
    let created = create("after the lock");
    assert_eq!(created.status, 201, "{created:?}");
}
