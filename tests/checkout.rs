//! PAM v2 checkout by secret id (seed 001) and access records (seed 000), end to end:
//! checkout and checkin, exclusive locks and their expiry by the runner's clock, the
//! access policies, access records with their computed flags, mark-safe, objspec, and
//! the v2 error envelope for every refusal.

use std::time::Duration;

use edgesafe_tests::{now, utc, Reply, Session, TestApp, ADMIN_KEY};
use serde_json::{json, Value};

const V2: &str = "/api/v2";

/// The v2 `Authorization` of a signed-in session: its token, bare.
fn token(session: &Session) -> String {
    let (_, token) = session.cookie.split_once('=').expect("name=token");
    token.to_string()
}

fn call(app: &TestApp, auth: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    app.send_json(
        method,
        &format!("{V2}/{path}"),
        ("Authorization", auth),
        body,
    )
}

fn assert_success(reply: &Reply, what: &str) -> Value {
    assert_eq!(reply.status, 200, "{what}: {reply:?}");
    let body = reply.json();
    assert_eq!(body["result"], "success", "{what}: {body}");
    body
}

fn assert_error(reply: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
    let body = reply.json();
    assert_eq!(body["result"], "error", "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
}

/// Grants `flags` on `safe` to a user, as the safe's manager.
fn grant(app: &TestApp, manager: &Session, safe: &str, user_id: i64, flags: Value) {
    let body = json!({"PrincipalType": 0, "PrincipalID": user_id, "PermissionFlags": flags});
    let path = format!("secrets-safe/safes/{safe}/safe-permissions");
    let reply = app.v3(manager, "PUT", &path, Some(body));
    assert_eq!(reply.status, 204, "grant: {reply:?}");
}

/// An app with a safe holding a text secret, and two users with Read on the safe
/// (and the Secrets-Safe read feature).
struct World {
    app: TestApp,
    admin: Session,
    alice: Session,
    bob: Session,
    safe: String,
    secret: String,
}

const VALUE: &str = "s3cret-value-7f3a";

fn world() -> World {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "ops");
    let secret = app.create_text_secret(&admin, &safe, "db root", VALUE);
    let alice = app.user_with_feature(&admin, "alice", 1);
    let bob = app.user_with_feature(&admin, "bob", 1);
    grant(&app, &admin, &safe, alice.user_id, json!(["Read"]));
    grant(&app, &admin, &safe, bob.user_id, json!(["Read"]));
    World {
        app,
        admin,
        alice,
        bob,
        safe,
        secret,
    }
}

impl World {
    fn as_user(&self, who: &Session, method: &str, path: &str, body: Option<Value>) -> Reply {
        call(&self.app, &token(who), method, path, body)
    }

    fn checkout(&self, who: &Session) -> Reply {
        let path = format!("secret/{}/checkout", self.secret);
        self.as_user(who, "POST", &path, None)
    }

    fn settings(&self, body: Value) {
        let path = format!("secret/{}", self.secret);
        let reply = call(&self.app, ADMIN_KEY, "PUT", &path, Some(body));
        assert_success(&reply, "settings");
    }

    /// The secret's records as the administrator sees them, with every hidden field.
    fn records(&self) -> Vec<Value> {
        let path = format!(
            "secret/{}/access?fields=secret_name,collection_name,secret_exposed",
            self.secret
        );
        let body = assert_success(&call(&self.app, ADMIN_KEY, "GET", &path, None), "records");
        body["secret_access"].as_array().expect("a list").clone()
    }

    fn audit_count(&self, action: &str) -> i64 {
        self.app.count(
            "SELECT count(*) FROM audit_events WHERE action = ?1 AND decision = 'allow'",
            [action],
        )
    }
}

#[test]
fn checkout_hands_out_the_value_and_checkin_returns_it() {
    let w = world();
    let secret_path = format!("secret/{}", w.secret);

    let before = assert_success(&w.as_user(&w.alice, "GET", &secret_path, None), "get");
    assert_eq!(before["secret"]["id"], w.secret.as_str());
    assert_eq!(before["secret"]["access_policy"], "full_edit");
    assert_eq!(before["secret"]["checkout_exclusive"], false);
    assert!(before["secret"].get("my_checkout_id").is_none());

    let out = assert_success(&w.checkout(&w.alice), "checkout");
    assert_eq!(out["checkout_type"], "simple");
    assert_eq!(out["expires_at"], Value::Null);
    assert_eq!(out["value"], VALUE);
    let access_id = out["secret_access_id"].as_str().expect("an id").to_string();

    let during = assert_success(&w.as_user(&w.alice, "GET", &secret_path, None), "get");
    assert_eq!(during["secret"]["my_checkout_id"], access_id.as_str());
    // A simple checkout locks nobody out, and is not bob's.
    let bobs = assert_success(&w.checkout(&w.bob), "bob's checkout");
    assert_ne!(bobs["secret_access_id"], access_id.as_str());
    let bob_view = assert_success(&w.as_user(&w.bob, "GET", &secret_path, None), "get");
    assert_eq!(
        bob_view["secret"]["my_checkout_id"],
        bobs["secret_access_id"]
    );

    // Checking out again while holding it answers the same checkout.
    let again = assert_success(&w.checkout(&w.alice), "again");
    assert_eq!(again["secret_access_id"], access_id.as_str());
    assert_eq!(again["value"], VALUE);

    // The record, as alice sees it (her own only) and as seed 000 shapes it.
    let mine = w.as_user(&w.alice, "GET", &format!("{secret_path}/access"), None);
    let mine = assert_success(&mine, "alice's records");
    let list = mine["secret_access"].as_array().expect("a list");
    assert_eq!(list.len(), 1, "{mine}");
    let record = &list[0];
    assert_eq!(record["id"], access_id.as_str());
    assert_eq!(record["user_id"], w.alice.user_id.to_string());
    assert_eq!(record["user_name"], "alice");
    assert_eq!(record["secret_id"], w.secret.as_str());
    assert_eq!(record["collection_id"], w.safe.as_str());
    assert_eq!(record["secret_removed"], false);
    assert_eq!(record["collection_removed"], false);
    assert!(record["secret_history_id"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(record["source_ip"], "127.0.0.1");
    assert!(record["source_port"].as_u64().is_some());
    assert_eq!(record["exclusive"], false);
    assert_eq!(record["forced"], false);
    assert_eq!(record["active"], true);
    assert_eq!(record["marked_safe"], false);
    assert_eq!(record["user_blocked"], false);
    assert_eq!(record["user_removed"], false);
    assert_eq!(record["user_lost_access"], false);
    assert!(record.get("checked_in_at").is_none());
    // Hidden attributes only when asked for.
    assert!(record.get("secret_name").is_none());
    assert!(record.get("secret_exposed").is_none());

    let checkin = w.as_user(&w.alice, "POST", &format!("{secret_path}/checkin"), None);
    assert_success(&checkin, "checkin");
    let after = assert_success(&w.as_user(&w.alice, "GET", &secret_path, None), "get");
    assert!(after["secret"].get("my_checkout_id").is_none());
    let again = w.as_user(&w.alice, "POST", &format!("{secret_path}/checkin"), None);
    assert_error(&again, 409, "conflict", "second checkin");

    // The administrator sees everyone's records, names included when asked.
    let records = w.records();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["active"], false);
    assert!(records[0]["checked_in_at"].as_str().is_some());
    assert_eq!(records[0]["secret_name"], "db root");
    assert_eq!(records[0]["collection_name"], "ops");
    assert_eq!(records[0]["secret_exposed"], false);
    assert_eq!(records[1]["user_name"], "bob");
    assert_eq!(records[1]["active"], true);
    let all = assert_success(
        &call(&w.app, ADMIN_KEY, "GET", "secret/access", None),
        "all records",
    );
    assert_eq!(all["secret_access"].as_array().map(Vec::len), Some(2));
    let bob_all = assert_success(&w.as_user(&w.bob, "GET", "secret/access", None), "bob");
    assert_eq!(bob_all["secret_access"].as_array().map(Vec::len), Some(1));
    let paged = call(
        &w.app,
        ADMIN_KEY,
        "GET",
        "secret/access?limit=1&offset=1",
        None,
    );
    let paged = assert_success(&paged, "page");
    assert_eq!(paged["secret_access"][0]["user_name"], "bob");
    let names = |query: &str| -> Vec<Value> {
        let reply = call(
            &w.app,
            ADMIN_KEY,
            "GET",
            &format!("secret/access?{query}"),
            None,
        );
        let body = assert_success(&reply, query);
        let list = body["secret_access"].as_array().expect("a list");
        list.iter().map(|r| r["user_name"].clone()).collect()
    };
    assert_eq!(names(&format!("user_id={}", w.bob.user_id)), [json!("bob")]);
    assert_eq!(names("active=true"), [json!("bob")]);
    assert_eq!(names("active=false"), [json!("alice")]);
    assert_eq!(names(&format!("secret_id={}", w.secret)).len(), 2);
    let other = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    assert!(names(&format!("secret_id={other}")).is_empty());

    // Every checkout (the repeat too) and the checkin are audited, never with the value.
    assert_eq!(w.audit_count("secret.checkout"), 3);
    assert_eq!(w.audit_count("secret.checkin"), 1);
    let leaks = w.app.count(
        "SELECT count(*) FROM audit_events WHERE detail LIKE ?1 OR target LIKE ?1",
        [format!("%{VALUE}%")],
    );
    assert_eq!(leaks, 0);
}

#[test]
fn exclusive_checkout_locks_others_out_until_checkin_or_expiry() {
    let w = world();
    w.settings(json!({"checkout_exclusive": true, "checkout_time_limit": 60}));
    let secret_path = format!("secret/{}", w.secret);

    let start = now();
    let alice = assert_success(&w.checkout(&w.alice), "alice");
    assert_eq!(alice["checkout_type"], "exclusive");
    let expires = alice["expires_at"].as_str().expect("an expiry").to_string();
    assert!(
        expires >= utc(start + 60) && expires <= utc(now() + 60),
        "{expires}"
    );
    let alice_id = alice["secret_access_id"].as_str().expect("id").to_string();

    assert_error(
        &w.checkout(&w.bob),
        409,
        "conflict",
        "bob while alice holds it",
    );
    // Bob cannot return alice's checkout: not by the secret, nor by her record's id
    // (which he may not even see), nor may the administrator.
    let bob_checkin = w.as_user(&w.bob, "POST", &format!("{secret_path}/checkin"), None);
    assert_error(&bob_checkin, 409, "conflict", "bob checks in by secret");
    let by_id = format!("secret/access/{alice_id}/checkin");
    assert_error(
        &w.as_user(&w.bob, "POST", &by_id, None),
        404,
        "not_found",
        "bob",
    );
    let admin_checkin = call(&w.app, ADMIN_KEY, "POST", &by_id, None);
    assert_error(&admin_checkin, 403, "forbidden", "admin checks in alice's");

    // Checked in by its owner, the lock is free.
    let checked_in = assert_success(&w.as_user(&w.alice, "POST", &by_id, None), "checkin");
    assert_eq!(checked_in["secret_access"][0]["id"], alice_id.as_str());
    assert_eq!(checked_in["secret_access"][0]["active"], false);
    assert!(checked_in["secret_access"][0]["checked_in_at"].is_string());
    assert_error(
        &w.as_user(&w.alice, "POST", &by_id, None),
        409,
        "conflict",
        "checked in twice",
    );
    let bob = assert_success(&w.checkout(&w.bob), "bob after checkin");
    let bob_id = bob["secret_access_id"].as_str().expect("id").to_string();
    assert_error(
        &w.checkout(&w.alice),
        409,
        "conflict",
        "alice while bob holds it",
    );

    // Past the time limit the checkout is over and the lock is released, with no
    // background job: the next request decides.
    w.app.advance_clock(Duration::from_secs(61));
    let records = w.records();
    let bobs = records
        .iter()
        .find(|r| r["id"] == bob_id.as_str())
        .expect("bob's");
    assert_eq!(bobs["active"], false);
    assert!(bobs["expires_at"].is_string());
    assert!(bobs.get("checked_in_at").is_none());
    let bob_late = w.as_user(&w.bob, "POST", &format!("{secret_path}/checkin"), None);
    assert_error(&bob_late, 409, "conflict", "checkin after expiry");
    assert_success(&w.checkout(&w.alice), "alice after bob's expiry");
    assert_eq!(w.audit_count("secret.checkout.expire"), 1);
    assert_eq!(
        w.app.count(
            "SELECT count(*) FROM secret_access WHERE secret_id = ?1 AND locked = 1",
            [&w.secret]
        ),
        1
    );
}

#[test]
fn two_users_racing_for_an_exclusive_checkout_exactly_one_wins() {
    let w = world();
    w.settings(json!({"checkout_exclusive": true}));
    let checkin_path = format!("secret/{}/checkin", w.secret);
    for round in 0..4 {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| w.checkout(&w.alice));
            let b = s.spawn(|| w.checkout(&w.bob));
            (a.join().expect("alice"), b.join().expect("bob"))
        });
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {a:?} {b:?}");
        let loser = if a.status == 409 { &a } else { &b };
        assert_error(loser, 409, "conflict", "the loser");
        let winner = if a.status == 200 { &w.alice } else { &w.bob };
        assert_success(&w.as_user(winner, "POST", &checkin_path, None), "checkin");
    }
    // Exactly one record per round: a refused checkout leaves none.
    assert_eq!(
        w.app.count(
            "SELECT count(*) FROM secret_access WHERE secret_id = ?1",
            [&w.secret]
        ),
        4
    );
    assert_eq!(w.audit_count("secret.checkout"), 4);
    // The database itself lets one row hold a secret's lock, whatever reaches it.
    let db = w.app.db();
    let lock = "INSERT INTO secret_access (user_id, secret_id, secret_version,
            secret_history_id, safe_id, exclusive, locked, accessed_at, created_at,
            modified_at) VALUES (?1, 'x', 1, 'h', 's', 1, 1, 0, 0, 0)";
    db.execute(lock, [w.alice.user_id]).expect("the first lock");
    assert!(db.execute(lock, [w.bob.user_id]).is_err(), "a second lock");
}

#[test]
fn access_policies_and_settings_are_enforced() {
    let w = world();
    let secret_path = format!("secret/{}", w.secret);

    w.settings(json!({"access_policy": "none"}));
    assert_error(&w.checkout(&w.alice), 403, "forbidden", "policy none");
    let admin_checkout = call(
        &w.app,
        ADMIN_KEY,
        "POST",
        &format!("{secret_path}/checkout"),
        None,
    );
    assert_error(&admin_checkout, 403, "forbidden", "policy none, admin");
    // view_on_request refuses whoever holds no approved access request (see
    // tests/checkout_sessions.rs for the requests).
    w.settings(json!({"access_policy": "view_on_request"}));
    assert_error(&w.checkout(&w.alice), 403, "forbidden", "view_on_request");
    assert_eq!(
        w.app.count("SELECT count(*) FROM secret_access", []),
        0,
        "refusals write no record"
    );

    w.settings(json!({"access_policy": "full_edit", "checkout_time_limit": 300}));
    let shown = assert_success(&call(&w.app, ADMIN_KEY, "GET", &secret_path, None), "get");
    assert_eq!(shown["secret"]["access_policy"], "full_edit");
    assert_eq!(shown["secret"]["checkout_time_limit"], 300);
    w.settings(json!({"checkout_time_limit": null}));
    let shown = assert_success(&call(&w.app, ADMIN_KEY, "GET", &secret_path, None), "get");
    assert_eq!(shown["secret"]["checkout_time_limit"], Value::Null);

    // Only the safe's managers change settings; bad settings name the field.
    let by_alice = w.as_user(
        &w.alice,
        "PUT",
        &secret_path,
        Some(json!({"checkout_exclusive": true})),
    );
    assert_error(&by_alice, 403, "forbidden", "settings without Manage");
    for body in [
        json!({"access_policy": "everyone"}),
        json!({"checkout_exclusive": "yes"}),
        json!({"checkout_time_limit": -5}),
        json!({"checkout_time_limit": "soon"}),
        json!({"color": "red"}),
        json!([]),
    ] {
        let reply = call(&w.app, ADMIN_KEY, "PUT", &secret_path, Some(body.clone()));
        assert_error(&reply, 400, "bad_request", &body.to_string());
    }
    let text = w.app.send(
        "PUT",
        &format!("{V2}/{secret_path}"),
        &[("Authorization", ADMIN_KEY), ("Content-Type", "text/plain")],
        Some(b"{}"),
    );
    assert_error(&text, 415, "unsupported_media_type", "text body");
    let shown = assert_success(&call(&w.app, ADMIN_KEY, "GET", &secret_path, None), "get");
    assert_eq!(
        shown["secret"]["checkout_exclusive"], false,
        "nothing changed"
    );
    assert_eq!(w.audit_count("secret.checkout_settings"), 4);
}

#[test]
fn unknown_ids_bad_bodies_and_missing_rights_get_the_v2_error_envelope() {
    let w = world();
    let missing = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    for (method, path) in [
        ("GET", format!("secret/{missing}")),
        ("POST", format!("secret/{missing}/checkout")),
        ("POST", format!("secret/{missing}/checkin")),
        ("GET", format!("secret/{missing}/access")),
        ("POST", format!("secret/{missing}/mark_safe")),
        ("GET", "secret/not-a-guid".to_string()),
        ("POST", "secret/not-a-guid/checkout".to_string()),
        ("POST", "secret/access/999/checkin".to_string()),
        ("POST", "secret/access/abc/checkin".to_string()),
        ("GET", "objspec/nothing".to_string()),
    ] {
        let reply = call(&w.app, ADMIN_KEY, method, &path, None);
        assert_error(&reply, 404, "not_found", &format!("{method} {path}"));
    }
    let wrong_method = call(
        &w.app,
        ADMIN_KEY,
        "DELETE",
        &format!("secret/{}", w.secret),
        None,
    );
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    assert_eq!(wrong_method.json()["result"], "error");

    let checkout = format!("secret/{}/checkout", w.secret);
    for body in [
        json!({"secret_id": missing}),
        json!({"secret_id": "nope"}),
        json!({"secret_id": 5}),
        json!({"reason": 5}),
        json!({"color": "x"}),
    ] {
        let reply = w.as_user(&w.alice, "POST", &checkout, Some(body.clone()));
        assert_error(&reply, 400, "bad_request", &body.to_string());
    }
    let broken = w.app.send(
        "POST",
        &format!("{V2}/{checkout}"),
        &[
            ("Authorization", &token(&w.alice)),
            ("Content-Type", "application/json"),
        ],
        Some(b"{\"secret_id\":"),
    );
    assert_error(&broken, 400, "bad_request", "broken JSON");
    let same = w.as_user(
        &w.alice,
        "POST",
        &checkout,
        Some(json!({"secret_id": w.secret})),
    );
    assert_success(&same, "the body may name the path's secret");

    for query in [
        "limit=0",
        "limit=abc",
        "offset=-1",
        "fields=password",
        "user_id=0",
        "active=maybe",
        "secret_id=nope",
    ] {
        let reply = call(
            &w.app,
            ADMIN_KEY,
            "GET",
            &format!("secret/access?{query}"),
            None,
        );
        assert_error(&reply, 400, "bad_request", query);
    }

    // Without Read on the safe the secret does not exist for the caller.
    let carol = w.app.user_with_feature(&w.admin, "carol", 1);
    for (method, path) in [
        ("GET", format!("secret/{}", w.secret)),
        ("POST", format!("secret/{}/checkout", w.secret)),
        ("GET", format!("secret/{}/access", w.secret)),
    ] {
        let reply = w.as_user(&carol, method, &path, None);
        assert_error(&reply, 404, "not_found", &format!("carol {method} {path}"));
    }
    let listed = assert_success(&w.as_user(&carol, "GET", "secret/access", None), "carol");
    assert_eq!(
        listed["secret_access"],
        json!([]),
        "alice's record is not carol's"
    );
    // Without the Secrets-Safe feature permission, nothing.
    let dave = w.app.user_with_feature(&w.admin, "dave", 0);
    grant(&w.app, &w.admin, &w.safe, dave.user_id, json!(["Read"]));
    let reply = w.as_user(&dave, "POST", &checkout, None);
    assert_error(&reply, 403, "forbidden", "no feature permission");
    // Without credentials, 401 in the same shape.
    let anonymous = w.app.send("POST", &format!("{V2}/{checkout}"), &[], None);
    assert_error(&anonymous, 401, "unauthorized", "anonymous");
}

#[test]
fn a_token_needs_the_read_scope_to_check_out() {
    let w = world();
    let key = w.app.v3(
        &w.admin,
        "POST",
        "Users/1/ApiKeys",
        Some(json!({"Label": "metadata", "Scopes": ["secrets.read_metadata"]})),
    );
    assert_eq!(key.status, 201, "{key:?}");
    let key = key.json()["Key"].as_str().expect("Key").to_string();
    let secret_path = format!("secret/{}", w.secret);
    assert_success(
        &call(&w.app, &key, "GET", &secret_path, None),
        "metadata read",
    );
    assert_success(&call(&w.app, &key, "GET", "secret/access", None), "records");
    let checkout = call(
        &w.app,
        &key,
        "POST",
        &format!("{secret_path}/checkout"),
        None,
    );
    assert_error(&checkout, 403, "forbidden", "checkout without secrets.read");
    let mark = call(
        &w.app,
        &key,
        "POST",
        &format!("{secret_path}/mark_safe"),
        None,
    );
    assert_error(&mark, 403, "forbidden", "mark_safe without secrets.write");
    assert_eq!(w.app.count("SELECT count(*) FROM secret_access", []), 0);
}

#[test]
fn blocked_removed_and_revoked_users_expose_the_secret_until_marked_safe() {
    let w = world();
    let carol = w.app.user_with_feature(&w.admin, "carol", 1);
    grant(&w.app, &w.admin, &w.safe, carol.user_id, json!(["Read"]));
    for who in [&w.alice, &w.bob, &carol] {
        assert_success(&w.checkout(who), &who.user_name);
    }
    // Found by user id: a removed user's name changes.
    let flags = |who: &Session| {
        let records = w.records();
        let r = records
            .iter()
            .find(|r| r["user_id"].as_str().and_then(|id| id.parse().ok()) == Some(who.user_id))
            .unwrap_or_else(|| panic!("{}'s record in {records:?}", who.user_name))
            .clone();
        (
            r["user_blocked"].as_bool(),
            r["user_removed"].as_bool(),
            r["user_lost_access"].as_bool(),
            r["secret_exposed"].as_bool(),
        )
    };
    let clean = (Some(false), Some(false), Some(false), Some(false));
    assert_eq!(flags(&w.alice), clean);

    let blocked = w.app.v3(
        &w.admin,
        "POST",
        &format!("Users/{}/Quarantine", w.alice.user_id),
        Some(json!({})),
    );
    assert_eq!(blocked.status, 200, "{blocked:?}");
    let removed = w.app.v3(
        &w.admin,
        "DELETE",
        &format!("Users/{}", w.bob.user_id),
        None,
    );
    assert!(removed.status < 300, "{removed:?}");
    let revoked = w.app.v3(
        &w.admin,
        "DELETE",
        &format!("secrets-safe/safes/{}/safe-permissions", w.safe),
        Some(json!({"PrincipalType": 0, "PrincipalID": carol.user_id})),
    );
    assert!(revoked.status < 300, "{revoked:?}");

    assert_eq!(
        flags(&w.alice),
        (Some(true), Some(false), Some(false), Some(true))
    );
    // A removed user is blocked too, and may lose its grants; removed is what counts.
    let bob = flags(&w.bob);
    assert_eq!((bob.1, bob.3), (Some(true), Some(true)));
    assert_eq!(
        flags(&carol),
        (Some(false), Some(false), Some(true), Some(true))
    );

    // Reviewing takes Manage on the safe.
    let mark_path = format!("secret/{}/mark_safe", w.secret);
    let dave = w.app.user_with_feature(&w.admin, "dave", 2);
    grant(&w.app, &w.admin, &w.safe, dave.user_id, json!(["Read"]));
    assert_error(
        &w.as_user(&dave, "POST", &mark_path, None),
        403,
        "forbidden",
        "dave",
    );
    assert_success(
        &call(&w.app, ADMIN_KEY, "POST", &mark_path, None),
        "mark safe",
    );
    for record in w.records() {
        assert_eq!(record["marked_safe"], true, "{record}");
        assert_eq!(record["secret_exposed"], false, "{record}");
        assert_eq!(record["marked_safe_by"], "1", "{record}");
        assert_eq!(record["marked_safe_by_name"], "admin", "{record}");
        assert!(record["marked_safe_at"].is_string(), "{record}");
    }
    assert_eq!(w.audit_count("secret.mark_safe"), 1);
}

#[test]
fn objspec_describes_the_models_the_routes_use() {
    let w = world();
    let spec = assert_success(
        &w.as_user(&w.alice, "GET", "objspec/secret_access", None),
        "objspec",
    );
    assert_eq!(spec["name"], "secret_access");
    let attributes = spec["attributes"].as_array().expect("attributes");
    let find = |name: &str| {
        attributes
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {spec}"))
    };
    assert_eq!(find("secret_id")["type"], "string");
    assert_eq!(find("secret_id")["required"], true);
    assert_eq!(find("source_port")["type"], "number");
    assert_eq!(find("accessed_at")["type"], "datetime");
    assert_eq!(find("secret_exposed")["hidden"], true);
    assert_eq!(find("active")["expensive"], true);
    assert_eq!(find("id")["read_only"], true);

    // Every attribute an answer carries is one the spec lists.
    assert_success(&w.checkout(&w.alice), "checkout");
    for record in w.records() {
        for key in record.as_object().expect("an object").keys() {
            find(key);
        }
    }
    for model in ["secret_checkout", "secret_checkin"] {
        let spec = assert_success(
            &w.as_user(&w.alice, "GET", &format!("objspec/{model}"), None),
            model,
        );
        assert_eq!(spec["attributes"][0]["name"], "secret_id");
        assert_eq!(spec["attributes"][0]["protected"], true);
    }
}
