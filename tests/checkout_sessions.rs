//! PAM v2 checkout by account in sessions (seed 002), access requests and their
//! approval, the safe's checkout settings, and the same engine in Password Safe's words
//! (`ManagedAccounts`, `Requests`, `Credentials`), end to end through the runner.

use std::time::Duration;

use edgesafe_tests::{
    now, utc, v2_error, v2_success, v2_token, Reply, Session, TestApp, ADMIN_KEY,
};
use serde_json::{json, Value};

const PASSWORD: &str = "pa55-w0rd-9c1e";

/// A safe `ops` managed by the administrator, holding the credential `db` (user
/// `CORP\svc`), and two users with Read on it and the Secrets-Safe read feature.
struct World {
    app: TestApp,
    admin: Session,
    alice: Session,
    bob: Session,
    safe: String,
    account: String,
}

fn world() -> World {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "ops");
    let created = app.v3(
        &admin,
        "POST",
        &format!("secrets-safe/folders/{safe}/secrets"),
        Some(json!({"Title": "db", "Username": "CORP\\svc", "Password": PASSWORD})),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let account = created.json()["Id"].as_str().expect("Id").to_string();
    let alice = app.user_with_feature(&admin, "alice", 1);
    let bob = app.user_with_feature(&admin, "bob", 1);
    app.grant(&admin, &safe, alice.user_id, json!(["Read"]));
    app.grant(&admin, &safe, bob.user_id, json!(["Read"]));
    World {
        app,
        admin,
        alice,
        bob,
        safe,
        account,
    }
}

impl World {
    fn as_user(&self, who: &Session, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.app.v2(&v2_token(who), method, path, body)
    }

    fn admin_call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.app.v2(ADMIN_KEY, method, path, body)
    }

    /// `POST secret/checkout` for the account with these extra properties.
    fn checkout(&self, who: &Session, extra: Value) -> Value {
        let mut body = json!({"account_id": self.account});
        for (k, v) in extra.as_object().expect("an object") {
            body[k] = v.clone();
        }
        v2_success(
            &self.as_user(who, "POST", "secret/checkout", Some(body)),
            "checkout",
        )
    }

    fn checkin(&self, who: &Session, session: &str) -> Reply {
        self.as_user(
            who,
            "POST",
            "secret/checkin",
            Some(json!({"session_id": session})),
        )
    }

    fn secret_settings(&self, body: Value) {
        let path = format!("secret/{}", self.account);
        v2_success(
            &self.admin_call("PUT", &path, Some(body)),
            "secret settings",
        );
    }

    fn safe_settings(&self, body: Value) -> Value {
        let path = format!("collection/{}", self.safe);
        v2_success(&self.admin_call("PUT", &path, Some(body)), "safe settings")
    }

    fn records(&self) -> Vec<Value> {
        let path = format!("secret/{}/access", self.account);
        let body = v2_success(&self.admin_call("GET", &path, None), "records");
        body["secret_access"].as_array().expect("a list").clone()
    }

    fn audit_count(&self, action: &str) -> i64 {
        self.app.count(
            "SELECT count(*) FROM audit_events WHERE action = ?1 AND decision = 'allow'",
            [action],
        )
    }

    /// No audit event anywhere carries the password.
    fn assert_password_never_audited(&self) {
        let leaked = self.app.count(
            "SELECT count(*) FROM audit_events WHERE detail LIKE ?1 OR target LIKE ?1",
            [format!("%{PASSWORD}%")],
        );
        assert_eq!(leaked, 0, "the password is in the audit trail");
    }
}

fn session_of(answer: &Value) -> String {
    answer["session_id"]
        .as_str()
        .expect("a session id")
        .to_string()
}

#[test]
fn account_checkout_reveals_login_and_domain_and_checkin_ends_the_session() {
    let w = world();
    let out = w.checkout(&w.alice, json!({"reason": "maintenance"}));
    assert_eq!(out["status"], "approved");
    assert_eq!(out["pwd"], PASSWORD);
    assert_eq!(out["login"], "svc");
    assert_eq!(out["domain"], "CORP");
    assert_eq!(out["timeout"], Value::Null);
    assert_eq!(out["confirmation_timeout"], Value::Null);
    assert_eq!(out["reason"], "maintenance");
    let session = session_of(&out);

    // The repeat call in the same session reveals again, without a second record.
    let again = w.checkout(&w.alice, json!({"session_id": session}));
    assert_eq!(again["status"], "approved");
    assert_eq!(again["pwd"], PASSWORD);
    assert_eq!(again["session_id"], session.as_str());
    let records = w.records();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["user_id"], w.alice.user_id.to_string());
    assert_eq!(records[0]["active"], true);
    assert_eq!(records[0]["forced"], false);

    // Only the caller's own session: bob does not see it, the manager is refused.
    v2_error(&w.checkin(&w.bob, &session), 404, "not_found", "bob");
    v2_error(
        &w.admin_call(
            "POST",
            "secret/checkin",
            Some(json!({"session_id": session})),
        ),
        403,
        "forbidden",
        "the manager",
    );
    let other = w.as_user(
        &w.bob,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account, "session_id": session})),
    );
    v2_error(&other, 404, "not_found", "bob reusing alice's session");

    v2_success(&w.checkin(&w.alice, &session), "checkin");
    let records = w.records();
    assert_eq!(records[0]["active"], false);
    let closed = w.checkout(&w.alice, json!({"session_id": session}));
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["pwd"], Value::Null);
    assert_eq!(closed["login"], Value::Null);
    v2_error(&w.checkin(&w.alice, &session), 409, "conflict", "twice");
    assert_eq!(w.audit_count("secret.checkout"), 2);
    assert_eq!(w.audit_count("secret.checkin"), 1);
    assert_eq!(w.audit_count("secret.request"), 1);
    w.assert_password_never_audited();
}

#[test]
fn the_safes_settings_apply_and_the_secrets_own_values_override_them() {
    let w = world();
    let path = format!("collection/{}", w.safe);
    let shown = v2_success(&w.as_user(&w.alice, "GET", &path, None), "get by reader");
    assert_eq!(shown["collection"]["name"], "ops");
    assert_eq!(shown["collection"]["login_reason"], false);

    // Whoever manages the safe sets them; readers may not; strangers do not see it.
    let by_alice = w.as_user(&w.alice, "PUT", &path, Some(json!({"login_reason": true})));
    v2_error(&by_alice, 403, "forbidden", "a reader");
    let carol = w.app.user_with_feature(&w.admin, "carol", 2);
    v2_error(
        &w.as_user(&carol, "GET", &path, None),
        404,
        "not_found",
        "no grant",
    );
    for body in [
        json!({"login_reason": "yes"}),
        json!({"confirmation_timeout": 0}),
        json!({"confirmation_timeout": "soon"}),
        json!({"color": 1}),
    ] {
        let reply = w.admin_call("PUT", &path, Some(body.clone()));
        v2_error(&reply, 400, "bad_request", &body.to_string());
    }
    let set = w.safe_settings(json!({"login_reason": true, "confirmation_timeout": 15}));
    assert_eq!(set["collection"]["login_reason"], true);
    assert_eq!(set["collection"]["confirmation_timeout"], 15);

    // A reason is now required, by account and by secret id alike.
    let missing = w.as_user(
        &w.alice,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account, "reason": null})),
    );
    v2_error(&missing, 400, "bad_request", "no reason");
    assert!(missing.text().contains("reason"), "{missing:?}");
    let by_id = w.as_user(
        &w.alice,
        "POST",
        &format!("secret/{}/checkout", w.account),
        None,
    );
    v2_error(&by_id, 400, "bad_request", "no reason by id");
    let given = w.as_user(
        &w.alice,
        "POST",
        &format!("secret/{}/checkout", w.account),
        Some(json!({"reason": "ticket 42"})),
    );
    assert_eq!(v2_success(&given, "with a reason")["value"], PASSWORD);

    // The secret's own value wins; null hands it back to the safe.
    w.secret_settings(json!({"login_reason": false}));
    let secret = v2_success(
        &w.admin_call("GET", &format!("secret/{}", w.account), None),
        "get secret",
    );
    assert_eq!(secret["secret"]["login_reason"], false);
    assert_eq!(secret["secret"]["effective"]["login_reason"], false);
    assert_eq!(secret["secret"]["effective"]["confirmation_timeout"], 15);
    let out = w.checkout(&w.bob, json!({}));
    assert_eq!(out["status"], "approved", "no reason needed: {out}");
    w.secret_settings(json!({"login_reason": null}));
    let missing = w.as_user(
        &w.bob,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account})),
    );
    v2_error(&missing, 400, "bad_request", "the safe's rule again");
    assert_eq!(w.audit_count("safe.checkout_settings"), 1);
}

#[test]
fn approval_pending_then_approved_reveals_and_rejected_never_does() {
    let w = world();
    w.safe_settings(json!({"require_approval": true, "confirmation_timeout": 10}));
    let pending = w.checkout(&w.alice, json!({"reason": "deploy", "force": false}));
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["pwd"], Value::Null);
    assert_eq!(pending["confirmation_timeout"], 10);
    let session = session_of(&pending);
    let approve = format!("secret/request/{session}/approve");

    // Not by the requester, not without the read/write feature, not without Manage
    // on the safe (then the request does not exist for the caller).
    v2_error(
        &w.as_user(&w.alice, "POST", &approve, None),
        403,
        "forbidden",
        "own",
    );
    v2_error(
        &w.as_user(&w.bob, "POST", &approve, None),
        403,
        "forbidden",
        "feature read only",
    );
    let carol = w.app.user_with_feature(&w.admin, "carol", 2);
    w.app
        .grant(&w.admin, &w.safe, carol.user_id, json!(["Read", "Update"]));
    v2_error(
        &w.as_user(&carol, "POST", &approve, None),
        404,
        "not_found",
        "no Manage",
    );
    let still = w.checkout(&w.alice, json!({"session_id": session}));
    assert_eq!(still["status"], "pending");
    assert_eq!(still["pwd"], Value::Null);

    // The approver's list, and the requester's.
    let to_approve = v2_success(
        &w.admin_call("GET", "secret/request?role=approver&status=pending", None),
        "approver list",
    );
    let listed = to_approve["access_request"].as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{to_approve}");
    assert_eq!(listed[0]["reason"], "deploy");
    let mine = v2_success(&w.as_user(&w.alice, "GET", "secret/request", None), "mine");
    assert_eq!(mine["access_request"][0]["id"], session.as_str());
    let none = v2_success(
        &w.as_user(&w.bob, "GET", "secret/request?role=approver", None),
        "bob approves nothing",
    );
    assert_eq!(none["access_request"], json!([]));

    let approved = v2_success(
        &w.admin_call("POST", &approve, Some(json!({"reason": "ok"}))),
        "approve",
    );
    assert_eq!(approved["access_request"]["status"], "approved");
    assert_eq!(approved["access_request"]["decided_by"], "1");
    assert_eq!(approved["access_request"]["decision_reason"], "ok");
    assert!(approved["access_request"]["decided_at"].is_string());
    let revealed = w.checkout(&w.alice, json!({"session_id": session}));
    assert_eq!(revealed["status"], "approved");
    assert_eq!(revealed["pwd"], PASSWORD);
    v2_error(
        &w.admin_call("POST", &approve, None),
        409,
        "conflict",
        "decided",
    );

    // A rejected session never reveals, and is not approved afterwards.
    let second = w.checkout(&w.bob, json!({"reason": "curious"}));
    let second = session_of(&second);
    v2_success(
        &w.admin_call("POST", &format!("secret/request/{second}/reject"), None),
        "reject",
    );
    let rejected = w.checkout(&w.bob, json!({"session_id": second}));
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["pwd"], Value::Null);
    v2_error(
        &w.admin_call("POST", &format!("secret/request/{second}/approve"), None),
        409,
        "conflict",
        "approve after reject",
    );
    assert_eq!(
        w.records().len(),
        1,
        "only the approved session checked out"
    );
    assert_eq!(w.audit_count("secret.request.approve"), 1);
    assert_eq!(w.audit_count("secret.request.reject"), 1);
    w.assert_password_never_audited();
}

#[test]
fn repeat_calls_racing_on_one_approval_make_one_checkout() {
    let w = world();
    w.safe_settings(json!({"require_approval": true, "confirmation_timeout": 10}));
    let pending = w.checkout(&w.alice, json!({"reason": "deploy"}));
    let session = session_of(&pending);
    v2_success(
        &w.admin_call("POST", &format!("secret/request/{session}/approve"), None),
        "approve",
    );
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| w.checkout(&w.alice, json!({"session_id": session}))))
            .collect();
        calls
            .into_iter()
            .map(|c| c.join().expect("a call"))
            .collect()
    });
    for answer in &answers {
        match answer["status"].as_str() {
            Some("approved") => assert_eq!(answer["pwd"], PASSWORD),
            // Lost the race to link the approval: call again.
            Some("waiting") => assert_eq!(answer["pwd"], Value::Null),
            other => panic!("unexpected {other:?}: {answer}"),
        }
    }
    assert!(answers.iter().any(|a| a["status"] == "approved"));
    assert_eq!(w.records().len(), 1, "one approval, one checkout");
    let again = w.checkout(&w.alice, json!({"session_id": session}));
    assert_eq!(again["status"], "approved");
    assert_eq!(again["pwd"], PASSWORD);
    assert_eq!(w.records().len(), 1);
}

#[test]
fn approvals_expire_after_the_confirmation_timeout() {
    let w = world();
    w.safe_settings(json!({"require_approval": true, "confirmation_timeout": 1}));
    // Undecided within a minute: expired, never approvable, never revealed.
    let undecided = session_of(&w.checkout(&w.alice, json!({})));
    w.app.advance_clock(Duration::from_secs(61));
    let expired = w.checkout(&w.alice, json!({"session_id": undecided}));
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["pwd"], Value::Null);
    v2_error(
        &w.admin_call("POST", &format!("secret/request/{undecided}/approve"), None),
        409,
        "conflict",
        "approve an expired request",
    );

    // Approved but not used within a minute: expired too.
    let unused = session_of(&w.checkout(&w.alice, json!({})));
    v2_success(
        &w.admin_call("POST", &format!("secret/request/{unused}/approve"), None),
        "approve",
    );
    w.app.advance_clock(Duration::from_secs(61));
    let late = w.checkout(&w.alice, json!({"session_id": unused}));
    assert_eq!(late["status"], "expired");
    assert_eq!(late["pwd"], Value::Null);
    assert!(w.records().is_empty());
    assert_eq!(
        w.audit_count("secret.request.expire"),
        2,
        "each written down once"
    );
}

#[test]
fn view_on_request_checkout_by_id_needs_an_approved_access_request() {
    let w = world();
    w.secret_settings(json!({"access_policy": "view_on_request", "checkout_time_limit": 600}));
    let checkout = format!("secret/{}/checkout", w.account);
    v2_error(
        &w.as_user(&w.alice, "POST", &checkout, None),
        403,
        "forbidden",
        "no request",
    );
    let request_path = format!("secret/{}/request", w.account);
    for body in [
        json!({"duration": 0}),
        json!({"duration": "long"}),
        json!({"reason": 5}),
        json!({"other": 1}),
    ] {
        let reply = w.as_user(&w.alice, "POST", &request_path, Some(body.clone()));
        v2_error(&reply, 400, "bad_request", &body.to_string());
    }
    let made = v2_success(
        &w.as_user(
            &w.alice,
            "POST",
            &request_path,
            Some(json!({"reason": "audit", "duration": 60})),
        ),
        "request",
    );
    let request = &made["access_request"];
    assert_eq!(request["status"], "pending");
    assert_eq!(request["duration"], 60);
    assert_eq!(request["user_id"], w.alice.user_id.to_string());
    let id = request["id"].as_str().expect("an id").to_string();
    v2_error(
        &w.as_user(&w.alice, "POST", &checkout, None),
        403,
        "forbidden",
        "still pending",
    );
    v2_success(
        &w.admin_call("POST", &format!("secret/request/{id}/approve"), None),
        "approve",
    );
    let before = now();
    let out = v2_success(&w.as_user(&w.alice, "POST", &checkout, None), "checkout");
    assert_eq!(out["value"], PASSWORD);
    let expires = out["expires_at"].as_str().expect("a time limit");
    assert!(
        (utc(before + 60)..=utc(now() + 60)).contains(&expires.to_string()),
        "the request's 60 s beat the secret's 600: {expires}"
    );
    let shown = v2_success(
        &w.as_user(&w.alice, "GET", &format!("secret/request/{id}"), None),
        "request",
    );
    assert_eq!(
        shown["access_request"]["secret_access_id"],
        out["secret_access_id"]
    );
    // The approval is spent: after checkin a new checkout needs a new request.
    v2_success(
        &w.as_user(
            &w.alice,
            "POST",
            &format!("secret/{}/checkin", w.account),
            None,
        ),
        "checkin",
    );
    v2_error(
        &w.as_user(&w.alice, "POST", &checkout, None),
        403,
        "forbidden",
        "spent",
    );
    v2_error(
        &w.as_user(&w.bob, "GET", &format!("secret/request/{id}"), None),
        404,
        "not_found",
        "someone else's request",
    );
}

#[test]
fn force_false_waits_and_force_true_takes_over_recorded_as_forced() {
    let w = world();
    w.secret_settings(json!({"checkout_exclusive": true}));
    let alice = w.checkout(&w.alice, json!({"force": false}));
    assert_eq!(alice["status"], "approved");
    let waiting = w.checkout(&w.bob, json!({"force": false}));
    assert_eq!(waiting["status"], "waiting");
    assert_eq!(waiting["pwd"], Value::Null);
    let bob_session = session_of(&waiting);
    let still = w.checkout(&w.bob, json!({"force": false, "session_id": bob_session}));
    assert_eq!(still["status"], "waiting");
    v2_success(&w.checkin(&w.alice, &session_of(&alice)), "alice checks in");
    let free = w.checkout(&w.bob, json!({"force": false, "session_id": bob_session}));
    assert_eq!(free["status"], "approved", "{free}");
    assert_eq!(free["pwd"], PASSWORD);

    // force defaults to true: alice takes the account over, and the record says so.
    let taken = w.checkout(&w.alice, json!({}));
    assert_eq!(taken["status"], "approved");
    assert_eq!(taken["pwd"], PASSWORD);
    let records = w.records();
    let last = records.last().expect("a record");
    assert_eq!(last["user_id"], w.alice.user_id.to_string());
    assert_eq!(last["forced"], true);
    assert_eq!(last["exclusive"], true);
    assert_eq!(w.audit_count("secret.checkout.force"), 1);
    // Bob's session stays active (he has seen the password) but holds no lock: his
    // checkin still works.
    v2_success(&w.checkin(&w.bob, &bob_session), "bob checks in");
}

#[test]
fn an_expired_session_checkout_frees_the_account_for_a_waiting_session() {
    let w = world();
    w.secret_settings(json!({"checkout_exclusive": true, "checkout_time_limit": 60}));
    let alice = w.checkout(&w.alice, json!({"force": false}));
    assert_eq!(alice["status"], "approved");
    assert_eq!(alice["timeout"], 60);
    let waiting = w.checkout(&w.bob, json!({"force": false}));
    assert_eq!(waiting["status"], "waiting");
    w.app.advance_clock(Duration::from_secs(61));
    let bob = w.checkout(
        &w.bob,
        json!({"force": false, "session_id": session_of(&waiting)}),
    );
    assert_eq!(bob["status"], "approved", "{bob}");
    assert_eq!(bob["pwd"], PASSWORD);
    // Alice's session ended with her checkout: closed, and nothing to check in.
    let closed = w.checkout(&w.alice, json!({"session_id": session_of(&alice)}));
    assert_eq!(closed["status"], "closed");
    v2_error(
        &w.checkin(&w.alice, &session_of(&alice)),
        409,
        "conflict",
        "expired",
    );
    let records = w.records();
    assert_eq!(records[0]["active"], false);
    assert_eq!(records[1]["forced"], false, "expiry, not force");
    assert_eq!(w.audit_count("secret.checkout.expire"), 1);
}

#[test]
fn two_users_racing_for_an_exclusive_account_exactly_one_wins() {
    let w = world();
    w.secret_settings(json!({"checkout_exclusive": true}));
    for round in 0..3 {
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| w.checkout(&w.alice, json!({"force": false})));
            let b = s.spawn(|| w.checkout(&w.bob, json!({"force": false})));
            (a.join().expect("alice"), b.join().expect("bob"))
        });
        let statuses = [a["status"].clone(), b["status"].clone()];
        let winners = statuses.iter().filter(|s| *s == "approved").count();
        assert_eq!(winners, 1, "round {round}: {a} {b}");
        assert!(statuses.contains(&json!("waiting")), "round {round}");
        for (who, answer) in [(&w.alice, &a), (&w.bob, &b)] {
            v2_success(&w.checkin(who, &session_of(answer)), "checkin");
        }
    }
    let forced = w.records().iter().filter(|r| r["forced"] == true).count();
    assert_eq!(forced, 0);
}

#[test]
fn bad_bodies_unknown_ids_and_missing_rights_get_the_v2_error_envelope() {
    let w = world();
    let post = |body: Value| w.as_user(&w.alice, "POST", "secret/checkout", Some(body));
    for body in [
        json!({}),
        json!({"account_id": 5}),
        json!({"account_id": "not-a-guid"}),
        json!({"account_id": w.account, "force": "no"}),
        json!({"account_id": w.account, "session_id": "x"}),
        json!({"account_id": w.account, "session_id": 7}),
        json!({"account_id": w.account, "color": "red"}),
        json!([w.account]),
    ] {
        v2_error(&post(body.clone()), 400, "bad_request", &body.to_string());
    }
    let unknown = "00000000-0000-4000-8000-000000000001";
    v2_error(
        &post(json!({"account_id": unknown})),
        404,
        "not_found",
        "unknown account",
    );
    v2_error(
        &post(json!({"account_id": w.account, "session_id": "999"})),
        404,
        "not_found",
        "unknown session",
    );
    let text = w.app.create_text_secret(&w.admin, &w.safe, "note", "t");
    v2_error(
        &post(json!({"account_id": text})),
        400,
        "bad_request",
        "a text secret is no account",
    );
    let plain = w.app.send(
        "POST",
        "/api/v2/secret/checkout",
        &[
            ("Authorization", &v2_token(&w.alice)),
            ("Content-Type", "text/plain"),
        ],
        Some(b"{}"),
    );
    v2_error(&plain, 415, "unsupported_media_type", "text body");
    for body in [json!({}), json!({"session_id": true})] {
        let reply = w.as_user(&w.alice, "POST", "secret/checkin", Some(body.clone()));
        v2_error(&reply, 400, "bad_request", &body.to_string());
    }
    v2_error(
        &w.checkin(&w.alice, "12345"),
        404,
        "not_found",
        "checkin unknown",
    );
    for path in [
        "secret/request/999/approve",
        "secret/request/999/reject",
        "secret/request/abc/approve",
    ] {
        v2_error(&w.admin_call("POST", path, None), 404, "not_found", path);
    }
    v2_error(
        &w.admin_call("GET", "secret/request?role=boss", None),
        400,
        "bad_request",
        "role",
    );
    v2_error(
        &w.admin_call("GET", &format!("collection/{unknown}"), None),
        404,
        "not_found",
        "unknown safe",
    );

    // The Secrets-Safe feature, the safe grant, and the token's scope.
    let nofeature = w.app.user_with_feature(&w.admin, "dave", 0);
    let reply = w.as_user(
        &nofeature,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account})),
    );
    v2_error(&reply, 403, "forbidden", "no feature");
    let stranger = w.app.user_with_feature(&w.admin, "erin", 1);
    let reply = w.as_user(
        &stranger,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account})),
    );
    v2_error(&reply, 404, "not_found", "no grant on the safe");
    let key = w.app.v3(
        &w.admin,
        "POST",
        "Users/1/ApiKeys",
        Some(json!({"Label": "metadata", "Scopes": ["secrets.read_metadata"]})),
    );
    assert_eq!(key.status, 201, "{key:?}");
    let key = key.json()["Key"].as_str().expect("Key").to_string();
    let reply = w.app.v2(
        &key,
        "POST",
        "secret/checkout",
        Some(json!({"account_id": w.account})),
    );
    v2_error(&reply, 403, "forbidden", "no secrets.read scope");
    let reply = w.app.v2(&key, "POST", "secret/request/1/approve", None);
    v2_error(&reply, 403, "forbidden", "no secrets.write scope");
    assert!(w.records().is_empty());

    for model in ["checkout", "checkin"] {
        let spec = v2_success(
            &w.as_user(&w.alice, "GET", &format!("objspec/{model}"), None),
            model,
        );
        let names: Vec<&str> = spec["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .filter_map(|a| a["name"].as_str())
            .collect();
        let expected: &[&str] = if model == "checkout" {
            &["account_id", "session_id", "reason", "force"]
        } else {
            &["session_id"]
        };
        assert_eq!(names, expected);
    }
}

#[test]
fn password_safe_requests_check_out_through_the_same_engine() {
    let w = world();
    let v3 = |who: &Session, method: &str, path: &str, body: Option<Value>| {
        w.app.v3(who, method, path, body)
    };
    let found = v3(
        &w.alice,
        "GET",
        "ManagedAccounts?systemName=OPS&accountName=db",
        None,
    );
    assert_eq!(found.status, 200, "{found:?}");
    let account = found.json();
    assert_eq!(account["AccountId"], w.account.as_str());
    assert_eq!(account["SystemId"], w.safe.as_str());
    assert_eq!(account["SystemName"], "ops");
    assert_eq!(account["DomainName"], "CORP");
    let none = v3(
        &w.alice,
        "GET",
        "ManagedAccounts?systemName=ops&accountName=nope",
        None,
    );
    assert_eq!(none.status, 404, "{none:?}");
    let stranger = w.app.user_with_feature(&w.admin, "erin", 1);
    let hidden = v3(&stranger, "GET", "ManagedAccounts?accountName=db", None);
    assert_eq!(hidden.status, 404, "not readable: {hidden:?}");

    let body = json!({"SystemID": w.safe, "AccountID": w.account, "DurationMinutes": 5,
        "Reason": "Secrets Safe Integration", "ConflictOption": "reuse"});
    let made = v3(&w.alice, "POST", "Requests", Some(body.clone()));
    assert_eq!(made.status, 201, "{made:?}");
    let first = made.json().as_i64().expect("a bare request id");
    let reused = v3(&w.alice, "POST", "Requests", Some(body.clone()));
    assert_eq!(reused.json().as_i64(), Some(first), "reuse");
    let mut no_option = body.clone();
    no_option
        .as_object_mut()
        .expect("object")
        .remove("ConflictOption");
    let conflict = v3(&w.alice, "POST", "Requests", Some(no_option));
    assert_eq!(conflict.status, 409, "{conflict:?}");
    assert!(conflict.json()["Message"].is_string(), "the v3 error shape");
    let mut renew = body.clone();
    renew["ConflictOption"] = json!("renew");
    let renewed = v3(&w.alice, "POST", "Requests", Some(renew));
    assert_eq!(renewed.status, 201, "{renewed:?}");
    let id = renewed.json().as_i64().expect("a request id");
    assert_ne!(id, first, "renew opens another request");
    let old = v3(&w.alice, "GET", &format!("Credentials/{first}"), None);
    assert_eq!(old.status, 403, "the renewed one is closed: {old:?}");

    let credential = v3(&w.alice, "GET", &format!("Credentials/{id}"), None);
    assert_eq!(credential.status, 200, "{credential:?}");
    assert_eq!(credential.json(), json!(PASSWORD));
    let bobs = v3(&w.bob, "GET", &format!("Credentials/{id}"), None);
    assert_eq!(bobs.status, 404, "someone else's request: {bobs:?}");

    // The checkout shows among the v2 access records.
    let records = w.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["user_id"], w.alice.user_id.to_string());
    assert!(
        records[0]["expires_at"].is_string(),
        "5 minutes: {records:?}"
    );

    let checkin = v3(
        &w.alice,
        "PUT",
        &format!("Requests/{id}/checkin"),
        Some(json!({})),
    );
    assert_eq!(checkin.status, 204, "{checkin:?}");
    assert_eq!(w.records()[0]["active"], false);
    let after = v3(&w.alice, "GET", &format!("Credentials/{id}"), None);
    assert_eq!(after.status, 403, "checked in: {after:?}");

    // Approval in Password Safe's words.
    w.safe_settings(json!({"require_approval": true}));
    let pending = v3(&w.bob, "POST", "Requests", Some(body.clone()));
    assert_eq!(pending.status, 201, "{pending:?}");
    let pending = pending.json().as_i64().expect("an id");
    let early = v3(&w.bob, "GET", &format!("Credentials/{pending}"), None);
    assert_eq!(early.status, 403, "pending: {early:?}");
    let listed = v3(&w.bob, "GET", "Requests", None);
    assert_eq!(listed.json()[0]["Status"], "Pending", "{listed:?}");
    let by_bob = v3(
        &w.bob,
        "PUT",
        &format!("Requests/{pending}/approve"),
        Some(json!({})),
    );
    assert_eq!(by_bob.status, 403, "own request: {by_bob:?}");
    let approve = v3(
        &w.admin,
        "PUT",
        &format!("Requests/{pending}/approve"),
        Some(json!({"Reason": "fine"})),
    );
    assert_eq!(approve.status, 204, "{approve:?}");
    let credential = v3(&w.bob, "GET", &format!("Credentials/{pending}"), None);
    assert_eq!(credential.json(), json!(PASSWORD));
    let denied = v3(&w.alice, "POST", "Requests", Some(body.clone()));
    let denied = denied.json().as_i64().expect("an id");
    let deny = v3(&w.admin, "PUT", &format!("Requests/{denied}/deny"), None);
    assert_eq!(deny.status, 204, "{deny:?}");
    let never = v3(&w.alice, "GET", &format!("Credentials/{denied}"), None);
    assert_eq!(never.status, 403, "denied: {never:?}");

    let frank = w.stranger_proof();
    for bad in [
        json!({"SystemID": w.safe, "AccountID": w.account, "DurationMinutes": 0}),
        json!({"SystemID": w.safe, "AccountID": "x", "DurationMinutes": 5}),
        json!({"SystemID": w.safe, "AccountID": w.account, "DurationMinutes": "5"}),
        json!({"SystemID": w.safe, "AccountID": w.account, "DurationMinutes": 5, "ConflictOption": "merge"}),
    ] {
        let reply = v3(&frank, "POST", "Requests", Some(bad.clone()));
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
    }
    let unknown = v3(&w.alice, "GET", "Credentials/99999", None);
    assert_eq!(unknown.status, 404, "{unknown:?}");
    w.assert_password_never_audited();
}

impl World {
    /// A caller with no open request on the account (so bodies are judged, not
    /// conflicts): a fresh reader of the safe.
    fn stranger_proof(&self) -> Session {
        let who = self.app.user_with_feature(&self.admin, "frank", 1);
        self.app
            .grant(&self.admin, &self.safe, who.user_id, json!(["Read"]));
        who
    }
}
