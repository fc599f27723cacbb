//! The storage interface lets an area touch only its own tables and sealed scopes, and
//! the audit trail is the core's alone: checked through the vault probe, which stands
//! in for an area component gone wrong (its grant: `area = "probe"`).

use edgesafe_tests::{root, TestApp};

fn vault() -> TestApp {
    TestApp::with_manifest(&root().join("tests/fixtures/vault-probe/spin.toml"), &[])
}

fn db(app: &TestApp) -> rusqlite::Connection {
    rusqlite::Connection::open(app.state_dir().join("sqlite_db.db")).unwrap()
}

fn audit(app: &TestApp, action: &str) {
    let r = app.send("POST", &format!("/audit/{action}"), &[], Some(b""));
    assert_eq!(r.status, 200, "{r:?}");
}

/// `ok <events>` when the chain verifies, `broken at <seq>` otherwise.
fn verify(app: &TestApp) -> String {
    app.get("/audit", &[]).text()
}

fn sql(app: &TestApp, statement: &str) -> edgesafe_tests::Reply {
    app.send("POST", "/sql", &[], Some(statement.as_bytes()))
}

#[test]
fn an_area_cannot_name_the_audit_trail_or_other_areas_tables() {
    let app = vault();
    audit(&app, "one");
    for statement in [
        "DELETE FROM audit_events",
        "UPDATE audit_events SET target = 'x'",
        "DELETE FROM audit_head",
        "UPDATE sqlite_sequence SET seq = 0 WHERE name = 'audit_events'",
        "DELETE FROM \"audit_events\"",
        "DELETE FROM main.audit_events",
        "UPDATE users SET is_admin = 1",
        "INSERT INTO credentials (user_id, kind, label, scopes, digest, created_at) VALUES (1, 'api_key', 'x', '', 'd', 0)",
        "CREATE TRIGGER t AFTER INSERT ON password_rules BEGIN DELETE FROM audit_events; END",
        "DROP TABLE audit_events",
    ] {
        let r = sql(&app, statement);
        assert_eq!(r.status, 500, "{statement}: {r:?}");
        assert!(r.text().starts_with("invalid: "), "{statement}: {r:?}");
    }
    for query in [
        "SELECT * FROM audit_events",
        "SELECT * FROM sqlite_master",
        "SELECT user_name FROM users",
    ] {
        // The probe's /migrations route shows queries are policed too; here through
        // execute, whose SELECT runs inside the transaction.
        let r = sql(&app, query);
        assert_eq!(r.status, 500, "{query}: {r:?}");
    }
    assert_eq!(verify(&app), "ok 1", "nothing of the trail changed");
    let admins: i64 = db(&app)
        .query_row("SELECT COUNT(*) FROM users WHERE is_admin = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(admins, 1);
    // What the grant does allow still works.
    let r = sql(
        &app,
        "INSERT INTO password_rules (id, name, length, lowercase, uppercase, digits, symbols) \
         VALUES (90, 'probe', 8, 1, 0, 0, 0)",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "1"));
}

#[test]
fn sealed_scopes_belong_to_their_area() {
    let app = vault();
    assert_eq!(
        app.send("POST", "/seal/probe/a", &[], Some(b"v")).status,
        204
    );
    for scope in ["identity/a", "kv/x", "system/digest-key"] {
        let r = app.send("POST", &format!("/seal/{scope}"), &[], Some(b"v"));
        assert_eq!(r.status, 500, "{scope}: {r:?}");
        assert!(r.text().starts_with("invalid: "), "{scope}: {r:?}");
        assert_eq!(app.get(&format!("/unseal/{scope}"), &[]).status, 500);
    }
}

#[test]
fn deleting_the_tail_of_the_trail_fails_verification() {
    let app = vault();
    for action in ["one", "two", "three", "four"] {
        audit(&app, action);
    }
    assert_eq!(verify(&app), "ok 4");
    let conn = db(&app);
    conn.execute("DELETE FROM audit_events WHERE seq >= 3", [])
        .unwrap();
    assert_eq!(
        verify(&app),
        "broken at 3",
        "the head names the lost events"
    );
    // Rewinding the head too needs the audit key: a made-up MAC does not verify.
    conn.execute(
        "UPDATE audit_head SET seq = 2, mac = ?1",
        [hex_of(&[7u8; 32])],
    )
    .unwrap();
    assert_eq!(verify(&app), "broken at 2");
    conn.execute("DELETE FROM audit_head", []).unwrap();
    assert_eq!(verify(&app), "broken at 2", "a trail without its head");
}

#[test]
fn a_change_and_its_audit_event_commit_together() {
    let app = vault();
    audit(&app, "before");
    let insert =
        "INSERT INTO password_rules (id, name, length, lowercase, uppercase, digits, symbols) \
                  VALUES (91, 'audited', 8, 1, 0, 0, 0)";
    let r = app.send(
        "POST",
        "/sql-audited/rule.create",
        &[],
        Some(insert.as_bytes()),
    );
    assert_eq!((r.status, r.text().as_str()), (200, "1"), "{r:?}");
    assert_eq!(verify(&app), "ok 2");
    // The same insert again fails on the primary key: neither the row nor the event.
    let r = app.send(
        "POST",
        "/sql-audited/rule.create",
        &[],
        Some(insert.as_bytes()),
    );
    assert_eq!(r.status, 500, "{r:?}");
    assert!(r.text().starts_with("conflict"), "{r:?}");
    assert_eq!(verify(&app), "ok 2", "no event for a change that failed");
    let events: i64 = db(&app)
        .query_row(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'rule.create'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(events, 1);
    // A refused statement refuses the event with it.
    let r = app.send(
        "POST",
        "/sql-audited/rule.create",
        &[],
        Some(b"UPDATE users SET is_admin = 1"),
    );
    assert_eq!(r.status, 500, "{r:?}");
    assert_eq!(verify(&app), "ok 2");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
