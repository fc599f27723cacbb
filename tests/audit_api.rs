//! The audit trail as auditors read it, end to end: Password Safe's `UserAudits` with
//! their filters and paging, the v2 chain check and JSON-lines export, who may read
//! them, and that no event carries a secret.

use edgesafe_tests::{Reply, Session, TestApp, ADMIN_KEY};
use serde_json::{json, Value};

/// The Auditor feature permission, as `GET Permissions` lists it.
const AUDITOR: i64 = 2;

/// A user with an API key, signed in; in a group holding `permission` (read level)
/// when there is one.
struct User {
    session: Session,
    key: String,
}

fn user(app: &TestApp, admin: &Session, name: &str, permission: Option<i64>) -> User {
    let created = app.v3(admin, "POST", "Users", Some(json!({"UserName": name})));
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["UserID"].as_i64().expect("UserID");
    if let Some(permission) = permission {
        let group = app.v3(
            admin,
            "POST",
            "UserGroups",
            Some(json!({"groupName": format!("{name}-group"),
                "Permissions": [{"PermissionID": permission, "AccessLevelID": 1}]})),
        );
        assert_eq!(group.status, 201, "{group:?}");
        let group = group.json()["GroupID"].as_i64().expect("GroupID");
        let member = app.v3(
            admin,
            "POST",
            &format!("Users/{id}/UserGroups/{group}"),
            None,
        );
        assert_eq!(member.status, 201, "{member:?}");
    }
    let key = app.v3(
        admin,
        "POST",
        &format!("Users/{id}/ApiKeys"),
        Some(json!({})),
    );
    assert_eq!(key.status, 201, "{key:?}");
    let key = key.json()["Key"].as_str().expect("Key").to_owned();
    User {
        session: app.sign_in(&key, name),
        key,
    }
}

/// `GET UserAudits?{query}` as the library sends it (lower-case path), answered 200.
fn audits(app: &TestApp, session: &Session, query: &str) -> Value {
    let reply = app.v3(session, "GET", &format!("useraudits?{query}"), None);
    assert_eq!(reply.status, 200, "{query}: {reply:?}");
    reply.json()
}

fn audit_ids(page: &Value) -> Vec<i64> {
    page["Data"]
        .as_array()
        .expect("Data")
        .iter()
        .map(|a| a["AuditID"].as_i64().expect("AuditID"))
        .collect()
}

fn v2(app: &TestApp, key: &str, path: &str) -> Reply {
    app.send(
        "GET",
        &format!("/api/v2/audit/{path}"),
        &[("Authorization", key)],
        None,
    )
}

fn verify(app: &TestApp) -> Value {
    let reply = v2(app, ADMIN_KEY, "verify");
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

/// One export page: its lines as JSON.
fn export(app: &TestApp, key: &str, after: i64, limit: i64) -> Vec<Value> {
    let reply = v2(app, key, &format!("events?after={after}&limit={limit}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/x-ndjson"));
    reply
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every event, page by page, as a SIEM would poll them, up to the first short page
/// (each poll records itself, so a page is never empty).
fn export_all(app: &TestApp, key: &str) -> Vec<Value> {
    const PAGE: usize = 7;
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e["seq"].as_i64().expect("seq"));
        let page = export(app, key, after, PAGE as i64);
        let last = page.len() < PAGE;
        all.extend(page);
        if last {
            return all;
        }
    }
}

#[test]
fn user_audits_answer_the_library_shape_with_its_filters_and_paging() {
    let app = TestApp::start();
    let admin = app.admin();
    user(&app, &admin, "alice", None);
    user(&app, &admin, "bob", None);

    let all = audits(&app, &admin, "");
    let total = all["TotalCount"].as_i64().expect("TotalCount");
    assert_eq!(audit_ids(&all).len() as i64, total);
    assert_eq!(total, app.count("SELECT count(*) FROM audit_events", []));
    let created = all["Data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ActionType"] == "identity.user.create")
        .cloned()
        .expect("a user creation");
    assert_eq!(created["Section"], "identity");
    assert_eq!(created["UserID"], admin.user_id);
    assert_eq!(created["UserName"], "admin");
    assert_eq!(created["IPAddress"], "127.0.0.1");
    assert_eq!(created["Decision"], "allow");
    assert!(
        created["CreateDate"].as_str().unwrap().ends_with('Z'),
        "{created}"
    );

    // Reading was recorded, by the reader.
    let reads = audits(&app, &admin, "actionType=audit.read");
    let last = reads["Data"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last["Section"].clone(), last["UserName"].clone()),
        (json!("audit"), json!("admin"))
    );

    let by_type = audits(&app, &admin, "actionType=identity.user.create");
    assert_eq!(by_type["TotalCount"], 2, "{by_type}");
    let by_section = audits(&app, &admin, "section=identity&actionType=identity.user");
    assert!(by_section["Data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["Section"] == "identity"
            && a["ActionType"]
                .as_str()
                .unwrap()
                .starts_with("identity.user")));
    assert_eq!(
        audits(&app, &admin, "section=secret&actionType=identity.user")["TotalCount"],
        0
    );
    let by_user = audits(&app, &admin, "username=ALICE");
    assert!(
        by_user["TotalCount"].as_i64().unwrap() >= 1,
        "alice signed in: {by_user}"
    );
    assert!(by_user["Data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["UserName"] == "alice"));
    assert_eq!(audits(&app, &admin, "username=nobody")["TotalCount"], 0);
    assert_eq!(
        audits(&app, &admin, "startDate=2999-01-01")["TotalCount"],
        0
    );
    assert_eq!(
        audits(&app, &admin, "endDate=2000-01-01T00:00:00Z")["TotalCount"],
        0
    );
    let dated = audits(
        &app,
        &admin,
        "startDate=2000-01-01&endDate=2999-12-31T23:59:59Z&limit=1",
    );
    assert!(dated["TotalCount"].as_i64().unwrap() > total);

    let everything = audit_ids(&audits(&app, &admin, "limit=1000"));
    let page = audits(&app, &admin, "limit=2&offset=1");
    assert_eq!(audit_ids(&page), everything[1..3].to_vec());

    for bad in [
        "limit=0",
        "limit=1001",
        "offset=-1",
        "startDate=someday",
        "endDate=2030-02-30",
    ] {
        let reply = app.v3(&admin, "GET", &format!("UserAudits?{bad}"), None);
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
    }
    let reply = app.v3(&admin, "POST", "UserAudits", Some(json!({})));
    assert_eq!(reply.status, 405, "{reply:?}");
}

#[test]
fn details_list_an_events_fields_paged() {
    let app = TestApp::start();
    let admin = app.admin();
    user(&app, &admin, "carol", None);
    let created = audits(&app, &admin, "actionType=identity.user.create");
    let id = audit_ids(&created)[0];

    let path = format!("UserAudits/{id}/UserAuditDetails");
    let details = app.v3(&admin, "GET", &path, None);
    assert_eq!(details.status, 200, "{details:?}");
    let details = details.json();
    let rows = details["Data"].as_array().unwrap().clone();
    assert_eq!(details["TotalCount"], rows.len());
    let field = |name: &str| {
        rows.iter()
            .find(|r| r["FieldName"] == name)
            .map(|r| r["NewValue"].clone())
            .unwrap_or_else(|| panic!("no {name} in {details}"))
    };
    assert_eq!(field("Decision"), "allow");
    assert_eq!(field("Purpose"), "write");
    assert_eq!(field("credential_owner"), format!("user:{}", admin.user_id));
    let mac: String = app
        .db()
        .query_row("SELECT mac FROM audit_events WHERE seq = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(field("Mac"), mac);
    assert!(rows
        .iter()
        .all(|r| r["AuditID"] == id && r["OldValue"].is_null()));

    let page = app
        .v3(&admin, "GET", &format!("{path}?limit=2&offset=1"), None)
        .json();
    assert_eq!(page["TotalCount"], rows.len());
    assert_eq!(page["Data"].as_array().unwrap(), &rows[1..3].to_vec());

    let missing = app.v3(&admin, "GET", "UserAudits/999999/UserAuditDetails", None);
    assert_eq!(missing.status, 404, "{missing:?}");
    let zero = app.v3(&admin, "GET", "UserAudits/0/UserAuditDetails", None);
    assert_eq!(zero.status, 404, "{zero:?}");
    let bad = app.v3(&admin, "GET", &format!("{path}?limit=abc"), None);
    assert_eq!(bad.status, 400, "{bad:?}");
}

#[test]
fn verification_passes_untouched_and_names_the_first_edited_missing_or_swapped_event() {
    let app = TestApp::start();
    let admin = app.admin();
    user(&app, &admin, "dave", None);

    let before = app.count("SELECT count(*) FROM audit_events", []);
    let verdict = verify(&app);
    assert_eq!(verdict["result"], "success");
    assert_eq!(verdict["intact"], true, "{verdict}");
    // The check counts its own event.
    assert_eq!(verdict["verified"], before + 1, "{verdict}");

    let db = app.db();
    let target: String = db
        .query_row("SELECT target FROM audit_events WHERE seq = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    db.execute(
        "UPDATE audit_events SET target = 'edited' WHERE seq = 3",
        [],
    )
    .unwrap();
    assert_eq!(
        verify(&app),
        json!({"result": "success", "intact": false, "first_bad_seq": 3, "reason": "edited"})
    );
    db.execute(
        "UPDATE audit_events SET target = ?1 WHERE seq = 3",
        [&target],
    )
    .unwrap();
    assert_eq!(verify(&app)["intact"], true);

    // Swapping two events' places: each MAC covers its number and its predecessor, so the
    // first swapped place no longer verifies.
    let swap = |a: i64, b: i64| {
        db.execute("UPDATE audit_events SET seq = -1 WHERE seq = ?1", [a])
            .unwrap();
        db.execute("UPDATE audit_events SET seq = ?1 WHERE seq = ?2", [a, b])
            .unwrap();
        db.execute("UPDATE audit_events SET seq = ?1 WHERE seq = -1", [b])
            .unwrap();
    };
    swap(4, 5);
    let swapped = verify(&app);
    assert_eq!(
        (swapped["intact"].clone(), swapped["first_bad_seq"].clone()),
        (json!(false), json!(4))
    );
    swap(4, 5);
    assert_eq!(verify(&app)["intact"], true);

    db.execute("DELETE FROM audit_events WHERE seq = 2", [])
        .unwrap();
    assert_eq!(
        verify(&app),
        json!({"result": "success", "intact": false, "first_bad_seq": 2, "reason": "missing"})
    );
}

#[test]
fn export_pages_follow_the_chain_in_order_with_its_macs() {
    let app = TestApp::start();
    let admin = app.admin();
    user(&app, &admin, "erin", None);

    let first = export(&app, ADMIN_KEY, 0, 3);
    assert_eq!(
        first
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let next = export(&app, ADMIN_KEY, 3, 2);
    assert_eq!(
        next.iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [4, 5]
    );

    // The count of events after N includes this read's own event.
    let reply = v2(&app, ADMIN_KEY, "events?after=5&limit=1");
    let stored = app.count("SELECT count(*) FROM audit_events WHERE seq > 5", []);
    assert_eq!(
        reply.header("x-total-count"),
        Some(stored.to_string().as_str())
    );

    let all = export_all(&app, ADMIN_KEY);
    let stored: Vec<(i64, String, String, String)> = {
        let db = app.db();
        let mut q = db
            .prepare("SELECT seq, action, detail, mac FROM audit_events ORDER BY seq")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    // Each page's read is itself recorded, so the trail is now at least as long.
    assert!(stored.len() >= all.len());
    for (line, (seq, action, detail, mac)) in all.iter().zip(&stored) {
        assert_eq!(line["seq"], *seq);
        assert_eq!(line["action"], *action);
        assert_eq!(line["detail"], *detail);
        assert_eq!(line["mac"], *mac);
        assert_eq!(line["mac"].as_str().unwrap().len(), 64);
    }
    let verdict = verify(&app);
    assert_eq!(verdict["intact"], true);
    assert!(verdict["verified"].as_i64().unwrap() > all.len() as i64);

    for bad in ["events?after=-1", "events?limit=0", "events?limit=x"] {
        let reply = v2(&app, ADMIN_KEY, bad);
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
        assert_eq!(reply.json()["result"], "error", "{reply:?}");
    }
    let reply = app.send("GET", "/api/v2/audit/events", &[], None);
    assert_eq!(reply.status, 401, "{reply:?}");
}

#[test]
fn an_auditor_reads_the_trail_but_no_secret_and_a_plain_user_reads_neither() {
    let app = TestApp::start();
    let admin = app.admin();
    let permissions = app.v3(&admin, "GET", "Permissions", None).json();
    assert!(
        permissions
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["PermissionID"] == AUDITOR && p["Name"] == "Auditor"),
        "{permissions}"
    );
    let auditor = user(&app, &admin, "auditor", Some(AUDITOR));
    let plain = user(&app, &admin, "plain", None);
    let safe = app.create_safe(&admin, "team");
    let secret = app.create_text_secret(&admin, &safe, "db", "value");

    assert!(
        audits(&app, &auditor.session, "")["TotalCount"]
            .as_i64()
            .unwrap()
            > 0
    );
    let details = app.v3(
        &auditor.session,
        "GET",
        "UserAudits/1/UserAuditDetails",
        None,
    );
    assert_eq!(details.status, 200, "{details:?}");
    assert_eq!(v2(&app, &auditor.key, "verify").json()["intact"], true);
    assert!(!export(&app, &auditor.key, 0, 10).is_empty());
    for path in [
        format!("secrets-safe/secrets/{secret}/text"),
        format!("secrets-safe/secrets/{secret}"),
        format!("secrets-safe/safes/{safe}"),
        "Users".to_owned(),
    ] {
        let reply = app.v3(&auditor.session, "GET", &path, None);
        assert!(matches!(reply.status, 403 | 404), "{path}: {reply:?}");
    }

    let reply = app.v3(&plain.session, "GET", "UserAudits", None);
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = app.v3(&plain.session, "GET", "UserAudits/1/UserAuditDetails", None);
    assert_eq!(reply.status, 403, "{reply:?}");
    for path in ["verify", "events"] {
        let reply = v2(&app, &plain.key, path);
        assert_eq!(reply.status, 403, "{path}: {reply:?}");
        assert_eq!(reply.json()["result"], "error");
    }
    let reply = app.v3(
        &plain.session,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert!(matches!(reply.status, 403 | 404), "{reply:?}");

    let refused = audits(&app, &admin, "username=plain&actionType=audit.read");
    assert!(
        refused["Data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Decision"] == "deny"),
        "the refusal is recorded: {refused}"
    );
}

#[test]
fn no_event_carries_a_secret_value_key_or_token() {
    let app = TestApp::start();
    let admin = app.admin();
    let auditor = user(&app, &admin, "auditor", Some(AUDITOR));
    let owner = user(&app, &admin, "owner", Some(1));
    let value = "Tr0ub4dor-and-3-correct-horse-battery";
    let safe = app.create_safe(&admin, "vault");
    let secret = app.create_text_secret(&admin, &safe, "root password", value);
    let read = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    assert!(read.text().contains(value));
    let cookie_token = admin
        .cookie
        .split_once('=')
        .expect("name=token")
        .1
        .to_owned();

    let events = export_all(&app, &auditor.key);
    assert!(
        events.iter().any(|e| e["action"] == "secret.read"),
        "the read is recorded"
    );
    let listed = audits(&app, &auditor.session, "").to_string();
    for needle in [value, ADMIN_KEY, &auditor.key, &owner.key, &cookie_token] {
        for event in &events {
            assert!(
                !event.to_string().contains(needle),
                "{event} carries a secret"
            );
        }
        assert!(!listed.contains(needle));
    }
    for id in 1..=events.len() {
        let details = app.v3(
            &auditor.session,
            "GET",
            &format!("UserAudits/{id}/UserAuditDetails"),
            None,
        );
        assert_eq!(details.status, 200, "{details:?}");
        assert!(!details.text().contains(value));
    }
}

/// The state directory copied, as an operator would copy it to check it elsewhere.
fn copy_state(app: &TestApp) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(app.state_dir()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    copy
}

/// `edgesafe-runner audit verify` on a copy of the state directory.
fn verify_offline(app: &TestApp, copy: &tempfile::TempDir) -> Value {
    let mut config = app.config();
    config.state_dir = copy.path().to_path_buf();
    edgesafe_runner::audit_cli::verify(&config).unwrap()
}

#[test]
fn the_offline_check_of_a_copy_agrees_with_the_route() {
    let app = TestApp::start();
    let admin = app.admin();
    user(&app, &admin, "frank", None);

    let copy = copy_state(&app);
    let offline = verify_offline(&app, &copy);
    assert_eq!(
        offline,
        verify(&app),
        "both count the events and their own check"
    );
    assert_eq!(offline["intact"], true);

    app.db()
        .execute("UPDATE audit_events SET actor = 'user:9' WHERE seq = 2", [])
        .unwrap();
    let copy = copy_state(&app);
    let offline = verify_offline(&app, &copy);
    assert_eq!(offline, verify(&app));
    assert_eq!(
        offline,
        json!({"result": "success", "intact": false, "first_bad_seq": 2, "reason": "edited"})
    );
}
