//! The core's guarantees, through the vault probe composed with the real core:
//! values encrypted at rest and bound to their scope, key rotation, a clear error for
//! a bad key, migrations applied once, and a tamper-evident audit chain.

use edgesafe_tests::{root, TestApp, ADMIN_KEY, KEK};
use std::path::Path;

const OTHER_KEK: &str = "6162636465666768696a6b6c6d6e6f707172737475767778797a303132333435";

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

#[test]
fn rotating_the_key_encryption_key_keeps_old_values_readable() {
    let mut app = vault(&[]);
    assert_eq!(
        app.send("POST", "/seal/probe/old", &[], Some(b"first"))
            .status,
        204
    );
    // A new key alone cannot open what the old one sealed...
    app.restart_with(&[("SPIN_VARIABLE_KEK", OTHER_KEK)]);
    assert_eq!(app.get("/unseal/probe/old", &[]).text(), "tampered");
    // ...but with the old one as `kek_previous` it can, while new values use the new key.
    app.restart_with(&[
        ("SPIN_VARIABLE_KEK", OTHER_KEK),
        ("SPIN_VARIABLE_KEK_PREVIOUS", KEK),
    ]);
    assert_eq!(app.get("/unseal/probe/old", &[]).text(), "first");
    assert_eq!(
        app.send("POST", "/seal/probe/new", &[], Some(b"second"))
            .status,
        204
    );
    app.restart_with(&[
        ("SPIN_VARIABLE_KEK", OTHER_KEK),
        ("SPIN_VARIABLE_KEK_PREVIOUS", ""),
    ]);
    assert_eq!(app.get("/unseal/probe/new", &[]).text(), "second");
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
