//! The public edge: canonical paths, protocol error shapes, body limits, bad input,
//! and a principal header that cannot be forged from outside.

use edgesafe_tests::{ps_auth, TestApp, ADMIN_KEY, V3};
use serde_json::json;

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
        let answer = raw_exchange(
            &app,
            &format!("GET {V3}/Users HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert!(answer.is_empty(), "{host}: {answer}");
    }
}

/// Writes `request` on a fresh connection and reads until the server closes it.
fn raw_exchange(app: &TestApp, request: &str) -> String {
    use std::io::{Read, Write};
    let addr = app.base().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("writes");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
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
