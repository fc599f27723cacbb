//! The public edge: canonical paths, protocol error shapes, body limits, bad input,
//! a principal header that cannot be forged from outside, and failed sign-ins limited
//! per source address.

use edgesafe_tests::{ps_auth, Reply, TestApp, ADMIN_KEY, V3};
use serde_json::json;
use std::time::Duration;

fn admin() -> String {
    ps_auth(ADMIN_KEY, "admin")
}

#[test]
fn case_and_slashes_reach_the_same_handler() {
    let app = TestApp::start();
    let auth = admin();
    let expected = app.get(&format!("{V3}/Users"), &[("Authorization", &auth)]);
    assert_eq!(expected.status, 200, "{expected:?}");
    for path in [
        format!("{V3}/users"),
        format!("{V3}/users/"),
        format!("{V3}//users"),
        format!("{V3}/USERS//"),
        "/BeyondTrust/api/public/v3///Users".to_string(),
    ] {
        let reply = app.get(&path, &[("Authorization", &auth)]);
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.json(), expected.json(), "{path}");
    }
}

#[test]
fn a_forged_principal_header_from_outside_is_ignored() {
    let app = TestApp::start();
    let forged = base64_principal();
    let reply = app.get(&format!("{V3}/Users"), &[("x-edgesafe-principal", &forged)]);
    assert_eq!(reply.status, 401, "{reply:?}");
    let v2 = app.get("/api/v2/session", &[("x-edgesafe-principal", &forged)]);
    assert_eq!(v2.status, 401, "{v2:?}");
}

fn base64_principal() -> String {
    use base64::Engine;
    let principal = json!({"user_id": 1, "user_name": "admin", "admin": true, "groups": [],
        "features": {}, "scopes": [], "auth": "ApiKey", "session": null});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(principal.to_string())
}

#[test]
fn private_components_are_not_reachable_from_outside() {
    let app = TestApp::start();
    for path in [
        "/users",
        "/beyondtrust/api/public/v3",
        "/identity/users",
        "/auth/signappin",
    ] {
        let reply = app.get(path, &[("Authorization", &admin())]);
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
    }
    // A request from outside that names a component's internal host is refused as Spin
    // refuses it: the connection closes without an answer.
    for host in ["identity.spin.internal", "gateway.spin.internal"] {
        let answer = app.raw_exchange(&format!(
            "GET {V3}/Users HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ));
        assert!(answer.is_empty(), "{host}: {answer}");
    }
}

#[test]
fn unknown_routes_get_404_in_each_protocol_shape() {
    let app = TestApp::start();
    let auth = admin();
    let v3 = app.get(&format!("{V3}/NoSuchThing"), &[("Authorization", &auth)]);
    assert_eq!(v3.status, 404, "{v3:?}");
    assert!(v3.json()["Message"].is_string());
    let v2 = app.get("/api/v2/nosuchthing", &[("Authorization", ADMIN_KEY)]);
    assert_eq!(v2.status, 404, "{v2:?}");
    assert_eq!(v2.json()["result"], "error");
    let kv = app.get(
        "/api/secrets/nosuchthing",
        &[("Authorization", &format!("Bearer {ADMIN_KEY}"))],
    );
    assert_eq!(kv.status, 404, "{kv:?}");
    assert!(kv.json()["error"]["message"].is_string());
    assert_eq!(app.get("/", &[]).status, 404);
}

#[test]
fn wrong_methods_bad_json_and_wrong_content_types_get_clear_errors() {
    let app = TestApp::start();
    let auth = admin();
    let bad_json = app.send(
        "POST",
        &format!("{V3}/Users"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(b"{\"UserName\": "),
    );
    assert_eq!(bad_json.status, 400, "{bad_json:?}");
    assert!(bad_json.json()["Message"].is_string());
    let wrong_type = app.send(
        "POST",
        &format!("{V3}/Users"),
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        Some(b"UserName=x"),
    );
    assert_eq!(wrong_type.status, 415, "{wrong_type:?}");
    let wrong_method = app.send(
        "PATCH",
        &format!("{V3}/Users"),
        &[("Authorization", &auth)],
        Some(b"{}"),
    );
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
}

#[test]
fn oversized_bodies_are_refused_before_they_reach_an_area() {
    let app = TestApp::start_with(&[("SPIN_VARIABLE_MAX_BODY_BYTES", "1024")]);
    let auth = admin();
    let big = json!({"UserName": "big", "FirstName": "x".repeat(2000)}).to_string();
    let reply = app.send(
        "POST",
        &format!("{V3}/Users"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(big.as_bytes()),
    );
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.json()["Message"].is_string());
    let users = app
        .get(&format!("{V3}/Users"), &[("Authorization", &auth)])
        .json();
    assert!(
        !users.to_string().contains("\"big\""),
        "nothing was written"
    );
}

#[test]
fn secrets_safe_paths_in_any_case_reach_the_same_handler() {
    let app = TestApp::start();
    let auth = admin();
    let created = app.send(
        "POST",
        &format!("{V3}/Secrets-Safe/Safes"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(json!({"Name": "CaseSafe"}).to_string().as_bytes()),
    );
    assert_eq!(created.status, 201, "{created:?}");
    let expected = app.get(
        &format!("{V3}/secrets-safe/safes"),
        &[("Authorization", &auth)],
    );
    assert_eq!(expected.status, 200, "{expected:?}");
    for path in [
        format!("{V3}/Secrets-Safe/Safes"),
        format!("{V3}/secrets-safe/safes/"),
        format!("{V3}//secrets-safe//safes"),
        format!("{V3}/SECRETS-SAFE/SAFES/"),
    ] {
        let reply = app.get(&path, &[("Authorization", &auth)]);
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.json(), expected.json(), "{path}");
    }
    // bt-cli's spelling of the permission list.
    let names = app.get(
        &format!("{V3}/Secrets-Safe/Safes/Safe-Permissions/"),
        &[("Authorization", &auth)],
    );
    assert_eq!(names.status, 200, "{names:?}");
}

/// The app with a small sign-in failure limit: 3 per 60 seconds.
fn limited_app() -> TestApp {
    TestApp::start_with(&[
        ("SPIN_VARIABLE_SIGN_IN_FAILURE_LIMIT", "3"),
        ("SPIN_VARIABLE_SIGN_IN_FAILURE_WINDOW_SECONDS", "60"),
    ])
}

fn sign_in_with(app: &TestApp, key: &str) -> Reply {
    app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(key, "admin"))],
        None,
    )
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.count(
        "SELECT count(*) FROM audit_events WHERE action = ?1 AND decision = 'deny'",
        [action],
    )
}

fn retry_after(reply: &Reply) -> u64 {
    reply
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {reply:?}"))
}

#[test]
fn failed_sign_ins_are_limited_per_source_with_one_summarising_event() {
    let app = limited_app();
    let wrong = "f".repeat(128);
    for _ in 0..3 {
        assert_eq!(sign_in_with(&app, &wrong).status, 401);
    }
    assert_eq!(audit_count(&app, "identity.sign-in"), 3);
    // Past the limit even the right key waits: guessing gains nothing.
    let limited = sign_in_with(&app, ADMIN_KEY);
    assert_eq!(limited.status, 429, "{limited:?}");
    assert_eq!(limited.json()["Code"], "too_many_requests");
    let wait = retry_after(&limited);
    assert!((1..=60).contains(&wait), "{wait}");
    for _ in 0..20 {
        assert_eq!(sign_in_with(&app, &wrong).status, 429);
    }
    // No audit write per request past the limit, one summary for the window.
    assert_eq!(audit_count(&app, "identity.sign-in"), 3);
    assert_eq!(audit_count(&app, "identity.sign-in-limited"), 1);
    let detail: String = app
        .db()
        .query_row(
            "SELECT detail FROM audit_events WHERE action = 'identity.sign-in-limited'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(detail.contains("source=127.0.0.1; failures=3"), "{detail}");

    // Every protocol answers 429 in its own shape.
    let v2 = app.get("/api/v2/session", &[("Authorization", ADMIN_KEY)]);
    assert_eq!(v2.status, 429, "{v2:?}");
    assert_eq!(v2.json()["result"], "error");
    assert!(retry_after(&v2) >= 1);
    let kv = app.get(
        "/api/secrets/whoami",
        &[("Authorization", &format!("Bearer {ADMIN_KEY}"))],
    );
    assert_eq!(kv.status, 429, "{kv:?}");
    assert_eq!(kv.json()["error"]["code"], "too_many_requests");

    // The window ends: the right key works, and failures count from zero again.
    app.advance_clock(Duration::from_secs(wait));
    assert_eq!(sign_in_with(&app, ADMIN_KEY).status, 200);
    for _ in 0..3 {
        assert_eq!(sign_in_with(&app, &wrong).status, 401);
    }
    assert_eq!(sign_in_with(&app, ADMIN_KEY).status, 429);
    assert_eq!(audit_count(&app, "identity.sign-in-limited"), 2);
}

#[test]
fn failed_sign_ins_count_on_every_protocol_and_the_token_endpoint() {
    let app = limited_app();
    assert_eq!(
        app.get("/api/v2/session", &[("Authorization", "wrong")])
            .status,
        401
    );
    assert_eq!(
        app.get("/api/secrets/whoami", &[("Authorization", "Bearer wrong")])
            .status,
        401
    );
    let form = "client_id=nobody&client_secret=wrong&grant_type=client_credentials";
    let token = |app: &TestApp| {
        app.send(
            "POST",
            &format!("{V3}/Auth/connect/token"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        )
    };
    assert_eq!(token(&app).status, 401);
    let limited = token(&app);
    assert_eq!(limited.status, 429, "{limited:?}");
    assert!(retry_after(&limited) >= 1);
    assert_eq!(audit_count(&app, "identity.sign-in-limited"), 1);
    assert_eq!(audit_count(&app, "identity.token"), 1);
}

#[test]
fn requests_without_credentials_on_other_routes_do_not_count() {
    let app = limited_app();
    for _ in 0..10 {
        assert_eq!(app.get(&format!("{V3}/Users"), &[]).status, 401);
    }
    assert_eq!(sign_in_with(&app, ADMIN_KEY).status, 200);
    assert_eq!(app.count("SELECT count(*) FROM auth_failures", []), 0);
}
