//! The audit trail as its reader sees it through the core: filtered pages in sequence
//! order with each event's chain MAC, and a check that says where and why the chain
//! breaks. Driven through the vault probe (granted the trail like the audit area).

use edgesafe_tests::{root, TestApp};

fn vault() -> TestApp {
    TestApp::with_manifest(&root().join("tests/fixtures/vault-probe/spin.toml"), &[])
}

fn append(app: &TestApp, action: &str) {
    let r = app.send("POST", &format!("/audit/{action}"), &[], Some(b""));
    assert_eq!(r.status, 200, "{r:?}");
}

fn lines(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/audit-read?{query}"), &[]);
    assert_eq!(r.status, 200, "{r:?}");
    r.text().lines().map(str::to_owned).collect()
}

#[test]
fn events_are_read_in_order_filtered_and_paged_with_their_macs() {
    let app = vault();
    for action in [
        "secret.read",
        "secret.update",
        "identity.sign-in",
        "secret.read",
    ] {
        append(&app, action);
    }
    assert_eq!(
        lines(&app, ""),
        vec![
            "total 4",
            "1 secret.read 64",
            "2 secret.update 64",
            "3 identity.sign-in 64",
            "4 secret.read 64"
        ]
    );
    assert_eq!(
        lines(&app, "action=secret."),
        vec![
            "total 3",
            "1 secret.read 64",
            "2 secret.update 64",
            "4 secret.read 64"
        ]
    );
    // `_` is no wildcard.
    assert_eq!(lines(&app, "action=secret_"), vec!["total 0"]);
    assert_eq!(
        lines(&app, "after=2"),
        vec!["total 2", "3 identity.sign-in 64", "4 secret.read 64"]
    );
    assert_eq!(
        lines(&app, "limit=1&offset=1"),
        vec!["total 4", "2 secret.update 64"]
    );
    assert_eq!(lines(&app, "actor=user:2"), vec!["total 0"]);
    assert_eq!(lines(&app, "actor=user:1").len(), 5);
}

#[test]
fn the_check_names_the_first_bad_event_and_why() {
    let app = vault();
    for action in ["one", "two", "three", "four"] {
        append(&app, action);
    }
    assert_eq!(app.get("/audit-check", &[]).text(), "ok 4");
    let conn = rusqlite::Connection::open(app.state_dir().join("sqlite_db.db")).unwrap();
    conn.execute("UPDATE audit_events SET target = 'x' WHERE seq = 2", [])
        .unwrap();
    let r = app.get("/audit-check", &[]);
    assert_eq!((r.status, r.text().as_str()), (409, "edited at 2"));
    conn.execute("UPDATE audit_events SET target = 'probe' WHERE seq = 2", [])
        .unwrap();
    conn.execute("DELETE FROM audit_events WHERE seq = 3", [])
        .unwrap();
    assert_eq!(app.get("/audit-check", &[]).text(), "missing at 3");
    conn.execute("DELETE FROM audit_events WHERE seq = 4", [])
        .unwrap();
    assert_eq!(
        app.get("/audit-check", &[]).text(),
        "missing at 3",
        "the head still names the lost tail"
    );
}
