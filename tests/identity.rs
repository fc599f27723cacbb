//! Identity end to end: the three credential styles, sessions and tokens that end,
//! users who are blocked or removed, admin-only management, and persistence.

use edgesafe_tests::{ps_auth, Reply, TestApp, ADMIN_KEY, V3};
use serde_json::{json, Value};
use std::time::Duration;

/// Signs in with an API key and returns the session cookie (`name=value`).
fn sign_in(app: &TestApp, key: &str, runas: &str) -> String {
    let reply = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppin"),
        &[("Authorization", &ps_auth(key, runas))],
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    cookie_of(&reply)
}

fn cookie_of(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a session cookie");
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("Path=/BeyondTrust/api/public/v3"), "{set}");
    set.split(';').next().unwrap().to_string()
}

fn with_cookie(cookie: &str) -> Vec<(&'static str, String)> {
    vec![("Cookie", cookie.to_string())]
}

fn get(app: &TestApp, path: &str, cookie: &str) -> Reply {
    let h = with_cookie(cookie);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.get(&format!("{V3}/{path}"), &h)
}

fn post(app: &TestApp, path: &str, cookie: &str, body: Value) -> Reply {
    app.post_json(&format!("{V3}/{path}"), &[("Cookie", cookie)], &body)
}

fn create_user(app: &TestApp, admin: &str, name: &str) -> i64 {
    let reply = post(
        app,
        "Users",
        admin,
        json!({"UserName": name, "EmailAddress": format!("{name}@example.com")}),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json()["UserID"].as_i64().expect("UserID")
}

fn create_key(app: &TestApp, admin: &str, user: i64) -> String {
    let reply = post(
        app,
        &format!("Users/{user}/ApiKeys"),
        admin,
        json!({"Label": "test"}),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let key = reply.json()["Key"].as_str().expect("Key").to_string();
    assert_eq!(key.len(), 128);
    key
}

#[test]
fn ps_auth_sign_in_answers_the_user_and_a_cookie_that_authenticates() {
    let app = TestApp::start();
    let reply = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let user = reply.json();
    assert_eq!(user["UserName"], "admin");
    assert!(user["UserId"].is_i64(), "{user}");
    for field in ["SID", "EmailAddress", "Name"] {
        assert!(user.get(field).is_some(), "missing {field}: {user}");
    }
    let cookie = cookie_of(&reply);
    // The cookie alone is enough, as the old library and multipart uploads send it.
    let users = get(&app, "Users", &cookie);
    assert_eq!(users.status, 200, "{users:?}");
    assert!(users
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["UserName"] == "admin"));
    // So is the header alone, without signing in.
    let direct = app.get(
        &format!("{V3}/Users"),
        &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
    );
    assert_eq!(direct.status, 200, "{direct:?}");
}

#[test]
fn the_library_key_format_and_a_second_sign_in_work() {
    let app = TestApp::start();
    // beyondtrust-bips-library puts the run-as user inside the key value.
    let header = format!("PS-Auth key={ADMIN_KEY};runas=admin;");
    let first = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &header)],
        None,
    );
    assert_eq!(first.status, 200, "{first:?}");
    // A stale cookie on a later sign-in is ignored and a new session issued.
    let stale = cookie_of(&first);
    let second = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &header), ("Cookie", &stale)],
        None,
    );
    assert_eq!(second.status, 200, "{second:?}");
    assert_ne!(cookie_of(&second), stale);
}

#[test]
fn wrong_credentials_get_401_in_the_v3_shape() {
    let app = TestApp::start();
    let wrong_key = "0".repeat(128);
    for auth in [
        ps_auth(&wrong_key, "admin"),
        ps_auth(ADMIN_KEY, "nobody"),
        "PS-Auth nonsense".to_string(),
        "Bearer not-a-token".to_string(),
    ] {
        let reply = app.send(
            "POST",
            &format!("{V3}/Auth/SignAppIn"),
            &[("Authorization", &auth)],
            None,
        );
        assert_eq!(reply.status, 401, "{auth}: {reply:?}");
        assert!(reply.json()["Message"].is_string(), "{reply:?}");
        assert!(!reply.text().contains(ADMIN_KEY));
    }
    let none = app.send("POST", &format!("{V3}/Auth/SignAppIn"), &[], None);
    assert_eq!(none.status, 401);
    let anonymous = app.get(&format!("{V3}/Users"), &[]);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let bogus_cookie = app.get(
        &format!("{V3}/Users"),
        &[("Cookie", "edgesafe_session=deadbeef")],
    );
    assert_eq!(bogus_cookie.status, 401);
}

#[test]
fn signed_out_and_expired_sessions_get_401() {
    let app = TestApp::start();
    let cookie = sign_in(&app, ADMIN_KEY, "admin");
    let out = app.send(
        "POST",
        &format!("{V3}/Auth/Signout"),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(get(&app, "Users", &cookie).status, 401);

    let cookie = sign_in(&app, ADMIN_KEY, "admin");
    assert_eq!(get(&app, "Users", &cookie).status, 200);
    app.advance_clock(Duration::from_secs(1201));
    assert_eq!(
        get(&app, "Users", &cookie).status,
        401,
        "session_ttl_seconds is 1200"
    );
}

#[test]
fn blocked_and_removed_users_lose_access_at_once() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bob = create_user(&app, &admin, "bob");
    let key = create_key(&app, &admin, bob);
    let session = sign_in(&app, &key, "bob");
    assert_eq!(
        app.get("/api/v2/session", &[("Authorization", &key)])
            .status,
        200
    );

    let blocked = post(&app, &format!("Users/{bob}/Quarantine"), &admin, json!({}));
    assert_eq!(blocked.status, 200, "{blocked:?}");
    assert_eq!(
        get(&app, "Configuration/Version", &session).status,
        401,
        "old session"
    );
    let again = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(&key, "bob"))],
        None,
    );
    assert_eq!(again.status, 401);
    assert_eq!(
        app.get("/api/v2/session", &[("Authorization", &key)])
            .status,
        401
    );

    assert_eq!(
        post(
            &app,
            &format!("Users/{bob}/Unquarantine"),
            &admin,
            json!({})
        )
        .status,
        200
    );
    let session = sign_in(&app, &key, "bob");
    let removed = app.send(
        "DELETE",
        &format!("{V3}/Users/{bob}"),
        &[("Cookie", &admin)],
        None,
    );
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(get(&app, "Configuration/Version", &session).status, 401);
    assert_eq!(get(&app, &format!("Users/{bob}"), &admin).status, 404);
}

#[test]
fn a_revoked_key_stops_working() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bob = create_user(&app, &admin, "bob");
    let key = create_key(&app, &admin, bob);
    let session = sign_in(&app, &key, "bob");
    let keys = get(&app, &format!("Users/{bob}/ApiKeys"), &admin).json();
    let listed = keys.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        !keys.to_string().contains(&key),
        "keys are never shown again"
    );
    let id = listed[0]["Id"].as_i64().unwrap();
    let revoked = app.send(
        "DELETE",
        &format!("{V3}/Users/{bob}/ApiKeys/{id}"),
        &[("Cookie", &admin)],
        None,
    );
    assert_eq!(revoked.status, 200, "{revoked:?}");
    assert_eq!(
        get(&app, "Configuration/Version", &session).status,
        401,
        "sessions of the key end"
    );
    let again = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(&key, "bob"))],
        None,
    );
    assert_eq!(again.status, 401);
}

#[test]
fn oauth_client_credentials_give_a_bearer_token() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let client = post(
        &app,
        "Users/1/ApiKeys",
        &admin,
        json!({"Kind": "OAuthClient"}),
    );
    assert_eq!(client.status, 201, "{client:?}");
    let client = client.json();
    let id = client["ClientId"].as_str().unwrap().to_string();
    let secret = client["ClientSecret"].as_str().unwrap().to_string();
    assert!(
        (36..=40).contains(&id.len()) && (36..=64).contains(&secret.len()),
        "{client}"
    );

    let form = format!("client_id={id}&client_secret={secret}&grant_type=client_credentials");
    let token = app.send(
        "POST",
        &format!("{V3}/Auth/connect/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    assert_eq!(token.status, 200, "{token:?}");
    let token = token.json();
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].as_i64().unwrap() > 0);
    let access = token["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {access}");

    let signed = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(signed.status, 200, "{signed:?}");
    let whoami = app.get("/api/secrets/whoami", &[("Authorization", &bearer)]);
    assert_eq!(whoami.status, 200, "{whoami:?}");
    assert_eq!(whoami.json()["subject"], "user:1");

    let wrong = format!(
        "client_id={id}&client_secret={}&grant_type=client_credentials",
        "x".repeat(64)
    );
    let denied = app.send(
        "POST",
        &format!("{V3}/Auth/connect/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(wrong.as_bytes()),
    );
    assert_eq!(denied.status, 401);
    assert_eq!(denied.json()["error"], "invalid_client");
    let grant = format!("client_id={id}&client_secret={secret}&grant_type=password");
    let bad = app.send(
        "POST",
        &format!("{V3}/Auth/connect/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(grant.as_bytes()),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"], "unsupported_grant_type");

    app.advance_clock(Duration::from_secs(3601));
    assert_eq!(
        app.get("/api/secrets/whoami", &[("Authorization", &bearer)])
            .status,
        401,
        "token_ttl_seconds is 3600"
    );
}

#[test]
fn v2_and_kv_take_their_own_credentials_and_error_shapes() {
    let app = TestApp::start();
    let v2 = app.get("/api/v2/session", &[("Authorization", ADMIN_KEY)]);
    assert_eq!(v2.status, 200, "{v2:?}");
    assert_eq!(v2.json()["result"], "success");
    let v2_denied = app.get("/api/v2/session", &[("Authorization", "wrong")]);
    assert_eq!(v2_denied.status, 401);
    assert_eq!(v2_denied.json()["result"], "error");

    let kv = app.get(
        "/api/secrets/whoami",
        &[("Authorization", &format!("Bearer {ADMIN_KEY}"))],
    );
    assert_eq!(kv.status, 200, "{kv:?}");
    let kv_denied = app.get("/api/secrets/whoami", &[]);
    assert_eq!(kv_denied.status, 401);
    assert!(
        kv_denied.json()["error"]["code"].is_string(),
        "{kv_denied:?}"
    );
}

#[test]
fn management_is_admin_only() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bob = create_user(&app, &admin, "bob");
    let key = create_key(&app, &admin, bob);
    let session = sign_in(&app, &key, "bob");
    for path in ["Users", "UserGroups", &format!("Users/{bob}/ApiKeys")] {
        let reply = get(&app, path, &session);
        assert_eq!(reply.status, 403, "{path}: {reply:?}");
    }
    assert_eq!(
        post(&app, "Users", &session, json!({"UserName": "mallory"})).status,
        403
    );
    // A normal user's key cannot run as someone else.
    let runas = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &ps_auth(&key, "admin"))],
        None,
    );
    assert_eq!(runas.status, 401);
    // An admin's key may (it acts like a Password Safe API registration).
    let _ = sign_in(&app, ADMIN_KEY, "bob");
}

#[test]
fn users_groups_and_keys_are_validated() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    create_user(&app, &admin, "carol");
    let dup = post(&app, "Users", &admin, json!({"UserName": "CAROL"}));
    assert_eq!(dup.status, 409, "{dup:?}");
    let blank = post(&app, "Users", &admin, json!({"UserName": ""}));
    assert_eq!(blank.status, 400);
    assert!(
        blank.json()["Message"]
            .as_str()
            .unwrap()
            .contains("UserName"),
        "{blank:?}"
    );
    let long = post(&app, "Users", &admin, json!({"UserName": "x".repeat(101)}));
    assert_eq!(long.status, 400);
    assert_eq!(get(&app, "Users/999999", &admin).status, 404);
    assert_eq!(get(&app, "Users/not-a-number", &admin).status, 404);
}

#[test]
fn groups_membership_and_feature_permissions() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let dave = create_user(&app, &admin, "dave");
    let group = post(
        &app,
        "UserGroups",
        &admin,
        json!({"groupType": "BeyondInsight", "groupName": "Ops", "description": "operators", "isActive": true,
               "Permissions": [{"PermissionID": 1, "AccessLevelID": 1}]}),
    );
    assert_eq!(group.status, 201, "{group:?}");
    let gid = group.json()["GroupID"].as_i64().unwrap();
    assert_eq!(
        post(&app, "UserGroups", &admin, json!({"groupName": "ops"})).status,
        409
    );
    assert_eq!(
        post(
            &app,
            &format!("Users/{dave}/UserGroups/{gid}"),
            &admin,
            json!({})
        )
        .status,
        201
    );
    let members = get(&app, &format!("UserGroups/{gid}/Users"), &admin).json();
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["UserID"] == dave),
        "{members}"
    );
    let perms = get(&app, &format!("UserGroups/{gid}/Permissions"), &admin).json();
    assert_eq!(perms[0]["PermissionID"], 1, "{perms}");
    assert_eq!(perms[0]["AccessLevelID"], 1, "{perms}");
    let all = get(&app, "Permissions", &admin).json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|p| p["Name"] == "Secrets-Safe"),
        "{all}"
    );
    let removed = app.send(
        "DELETE",
        &format!("{V3}/Users/{dave}/UserGroups/{gid}"),
        &[("Cookie", &admin)],
        None,
    );
    assert_eq!(removed.status, 200);
    let members = get(&app, &format!("UserGroups/{gid}/Users"), &admin).json();
    assert!(members.as_array().unwrap().is_empty(), "{members}");
}

#[test]
fn users_groups_and_keys_survive_a_restart() {
    let mut app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let erin = create_user(&app, &admin, "erin");
    let key = create_key(&app, &admin, erin);
    let group = post(&app, "UserGroups", &admin, json!({"groupName": "Auditors"}));
    assert_eq!(group.status, 201, "{group:?}");
    app.restart();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let users = get(&app, "Users", &admin).json();
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["UserName"] == "erin"));
    let groups = get(&app, "UserGroups", &admin).json();
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["Name"] == "Auditors"),
        "{groups}"
    );
    sign_in(&app, &key, "erin");
}

/// An administrator with a key, for run-as: (user id, key).
fn second_admin(app: &TestApp, admin: &str) -> (i64, String) {
    let reply = post(
        app,
        "Users",
        admin,
        json!({"UserName": "ops-admin", "IsAdministrator": true}),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let id = reply.json()["UserID"].as_i64().expect("UserID");
    (id, create_key(app, admin, id))
}

#[test]
fn runas_sessions_end_when_the_key_owner_is_quarantined_demoted_or_removed() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    create_user(&app, &admin, "bob");
    let (ops, ops_key) = second_admin(&app, &admin);
    let version = |cookie: &str| get(&app, "Configuration/Version", cookie).status;

    // Quarantine: ends at once, and lifting it does not bring the session back.
    let as_bob = sign_in(&app, &ops_key, "bob");
    assert_eq!(version(&as_bob), 200);
    let blocked = post(&app, &format!("Users/{ops}/Quarantine"), &admin, json!({}));
    assert_eq!(blocked.status, 200, "{blocked:?}");
    assert_eq!(version(&as_bob), 401, "run-as session after quarantine");
    let lifted = post(
        &app,
        &format!("Users/{ops}/Unquarantine"),
        &admin,
        json!({}),
    );
    assert_eq!(lifted.status, 200, "{lifted:?}");
    assert_eq!(
        version(&as_bob),
        401,
        "still ended after the quarantine is lifted"
    );

    // Demotion: run-as needs an administrator.
    let as_bob = sign_in(&app, &ops_key, "bob");
    let own = sign_in(&app, &ops_key, "ops-admin");
    let demote = app.send(
        "PUT",
        &format!("{V3}/Users/{ops}"),
        &[("Cookie", &admin), ("Content-Type", "application/json")],
        Some(json!({"IsAdministrator": false}).to_string().as_bytes()),
    );
    assert_eq!(demote.status, 200, "{demote:?}");
    assert_eq!(version(&as_bob), 401, "run-as session after demotion");
    assert_eq!(version(&own), 200, "the demoted user's own session goes on");
    let promote = app.send(
        "PUT",
        &format!("{V3}/Users/{ops}"),
        &[("Cookie", &admin), ("Content-Type", "application/json")],
        Some(json!({"IsAdministrator": true}).to_string().as_bytes()),
    );
    assert_eq!(promote.status, 200, "{promote:?}");
    assert_eq!(version(&as_bob), 401, "still ended after a new promotion");

    // Removal.
    let as_bob = sign_in(&app, &ops_key, "bob");
    assert_eq!(version(&as_bob), 200);
    let removed = app.send(
        "DELETE",
        &format!("{V3}/Users/{ops}"),
        &[("Cookie", &admin)],
        None,
    );
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(version(&as_bob), 401, "run-as session after removal");
}

#[test]
fn runas_sessions_end_even_when_only_the_owner_row_changes() {
    // The check on every use does not rely on the revocation the API writes: a
    // demotion made elsewhere (another instance, an operator) ends the session too.
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    create_user(&app, &admin, "bob");
    let (ops, ops_key) = second_admin(&app, &admin);
    let as_bob = sign_in(&app, &ops_key, "bob");
    assert_eq!(get(&app, "Configuration/Version", &as_bob).status, 200);
    app.db()
        .execute("UPDATE users SET is_admin = 0 WHERE id = ?1", [ops])
        .expect("demote");
    assert_eq!(get(&app, "Configuration/Version", &as_bob).status, 401);
    app.db()
        .execute(
            "UPDATE users SET is_admin = 1, blocked = 1 WHERE id = ?1",
            [ops],
        )
        .expect("block");
    assert_eq!(get(&app, "Configuration/Version", &as_bob).status, 401);
    app.db()
        .execute("UPDATE users SET blocked = 0 WHERE id = ?1", [ops])
        .expect("unblock");
    assert_eq!(get(&app, "Configuration/Version", &as_bob).status, 200);
}

#[test]
fn audit_events_name_the_credential_and_its_owner_under_runas() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bob = create_user(&app, &admin, "bob");
    let (ops, ops_key) = second_admin(&app, &admin);
    let key_id: i64 = app.count("SELECT id FROM credentials WHERE user_id = ?1", [ops]);
    let as_bob = sign_in(&app, &ops_key, "bob");
    // Bob is no administrator: his refused write is audited with the key that acted.
    assert_eq!(
        post(&app, "Users", &as_bob, json!({"UserName": "x"})).status,
        403
    );
    let direct = app.send(
        "POST",
        &format!("{V3}/Users"),
        &[
            ("Authorization", &ps_auth(&ops_key, "bob")),
            ("Content-Type", "application/json"),
        ],
        Some(br#"{"UserName": "y"}"#),
    );
    assert_eq!(direct.status, 403, "{direct:?}");
    let db = app.db();
    let mut statement = db
        .prepare(
            "SELECT action, actor, detail FROM audit_events
              WHERE action IN ('identity.sign-in', 'identity.user.create') AND actor = ?1
              ORDER BY seq",
        )
        .unwrap();
    let events: Vec<(String, String, String)> = statement
        .query_map([format!("user:{bob}")], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let actions: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "identity.sign-in",
            "identity.user.create",
            "identity.user.create"
        ]
    );
    for (action, _, detail) in &events {
        assert!(
            detail.contains(&format!("credential=credential:{key_id}"))
                && detail.contains(&format!("credential_owner=user:{ops}")),
            "{action}: {detail}"
        );
    }
}

/// An OAuth client of user 1 and a token from it.
fn bearer_token(app: &TestApp, admin: &str) -> String {
    let client = post(
        app,
        "Users/1/ApiKeys",
        admin,
        json!({"Kind": "OAuthClient"}),
    );
    assert_eq!(client.status, 201, "{client:?}");
    let client = client.json();
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials",
        client["ClientId"].as_str().unwrap(),
        client["ClientSecret"].as_str().unwrap()
    );
    let token = app.send(
        "POST",
        &format!("{V3}/Auth/connect/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    assert_eq!(token.status, 200, "{token:?}");
    format!("Bearer {}", token.json()["access_token"].as_str().unwrap())
}

fn sign_in_with_bearer(app: &TestApp, bearer: &str) -> String {
    let signed = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", bearer)],
        None,
    );
    assert_eq!(signed.status, 200, "{signed:?}");
    cookie_of(&signed)
}

#[test]
fn a_cookie_made_from_a_bearer_token_ends_when_the_token_signs_out() {
    let app = TestApp::start();
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bearer = bearer_token(&app, &admin);
    let cookie = sign_in_with_bearer(&app, &bearer);
    assert_eq!(get(&app, "Configuration/Version", &cookie).status, 200);
    let out = app.send(
        "POST",
        &format!("{V3}/Auth/Signout"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(
        app.get(
            &format!("{V3}/Configuration/Version"),
            &[("Authorization", &bearer)]
        )
        .status,
        401
    );
    assert_eq!(get(&app, "Configuration/Version", &cookie).status, 401);
    // Signing out of the cookie alone leaves the token (a fresh one here) alone.
    let bearer = bearer_token(&app, &admin);
    let cookie = sign_in_with_bearer(&app, &bearer);
    let out = app.send(
        "POST",
        &format!("{V3}/Auth/Signout"),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(get(&app, "Configuration/Version", &cookie).status, 401);
    assert_eq!(
        app.get("/api/secrets/whoami", &[("Authorization", &bearer)])
            .status,
        200
    );
}

#[test]
fn a_cookie_made_from_a_bearer_token_ends_when_the_token_expires() {
    let app = TestApp::start_with(&[("SPIN_VARIABLE_TOKEN_TTL_SECONDS", "600")]);
    let admin = sign_in(&app, ADMIN_KEY, "admin");
    let bearer = bearer_token(&app, &admin);
    let cookie = sign_in_with_bearer(&app, &bearer);
    let from_key = sign_in(&app, ADMIN_KEY, "admin");
    app.advance_clock(Duration::from_secs(590));
    assert_eq!(get(&app, "Configuration/Version", &cookie).status, 200);
    app.advance_clock(Duration::from_secs(11));
    assert_eq!(
        get(&app, "Configuration/Version", &cookie).status,
        401,
        "the token expired at 600 s, the cookie would have lived 1200 s"
    );
    assert_eq!(
        get(&app, "Configuration/Version", &from_key).status,
        200,
        "a cookie from an API key keeps its own lifetime"
    );
}
