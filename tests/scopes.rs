//! Scopes end to end: a credential limited to some scopes can do what they cover and
//! nothing else, on every protocol, and each refusal is a 403 in the protocol's shape
//! with an audit event whose purpose is the missing scope.

use edgesafe_tests::{ps_auth, Reply, Session, TestApp, ADMIN_KEY, V3};
use serde_json::json;

/// An API key of user 1 (the administrator) limited to `scopes`.
fn admin_key_with(app: &TestApp, admin: &Session, scopes: &[&str]) -> String {
    let reply = app.v3(
        admin,
        "POST",
        "Users/1/ApiKeys",
        Some(json!({"Label": "limited", "Scopes": scopes})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json()["Key"].as_str().expect("Key").to_string()
}

/// A bearer token for an OAuth client of the administrator, asking for `scope`.
fn admin_token_with(app: &TestApp, admin: &Session, scope: &str) -> String {
    let client = app.v3(
        admin,
        "POST",
        "Users/1/ApiKeys",
        Some(json!({"Kind": "OAuthClient"})),
    );
    assert_eq!(client.status, 201, "{client:?}");
    let client = client.json();
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials&scope={scope}",
        client["ClientId"].as_str().expect("ClientId"),
        client["ClientSecret"].as_str().expect("ClientSecret"),
    );
    let token = app.send(
        "POST",
        &format!("{V3}/Auth/connect/token"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
    );
    assert_eq!(token.status, 200, "{token:?}");
    assert_eq!(token.json()["scope"], scope);
    format!(
        "Bearer {}",
        token.json()["access_token"].as_str().expect("token")
    )
}

fn call(
    app: &TestApp,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Reply {
    app.send_json(
        method,
        &format!("{V3}/{path}"),
        ("Authorization", auth),
        body,
    )
}

fn assert_forbidden_v3(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {reply:?}");
    assert_eq!(reply.json()["Code"], "forbidden", "{what}");
}

/// Scope refusals recorded by the gateway: (actor, purpose, target, detail).
fn scope_denials(app: &TestApp) -> Vec<(String, String, String, String)> {
    let db = app.db();
    let mut statement = db
        .prepare(
            "SELECT actor, purpose, target, detail FROM audit_events
              WHERE action = 'gateway.scope' AND decision = 'deny' ORDER BY seq",
        )
        .expect("query");
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn a_read_only_api_key_reads_but_cannot_delete_write_or_administer() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Ops");
    let secret = app.create_text_secret(&admin, &safe, "db", "s3cr3t-value");
    let reader = ps_auth(&admin_key_with(&app, &admin, &["secrets.read"]), "admin");

    let read = call(
        &app,
        &reader,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["Password"], "s3cr3t-value");
    let listed = call(&app, &reader, "GET", "secrets-safe/secrets", None);
    assert_eq!(listed.status, 200, "{listed:?}");

    let delete = call(
        &app,
        &reader,
        "DELETE",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_forbidden_v3(&delete, "delete a secret");
    let update = call(
        &app,
        &reader,
        "PUT",
        &format!("secrets-safe/secrets/{secret}/text"),
        Some(json!({"Title": "db", "Text": "changed"})),
    );
    assert_forbidden_v3(&update, "update a secret");
    let user = call(
        &app,
        &reader,
        "POST",
        "Users",
        Some(json!({"UserName": "mallory"})),
    );
    assert_forbidden_v3(&user, "create a user");
    let key = call(&app, &reader, "POST", "Users/1/ApiKeys", Some(json!({})));
    assert_forbidden_v3(&key, "create a key");
    let grant = call(
        &app,
        &reader,
        "PUT",
        &format!("secrets-safe/safes/{safe}/safe-permissions"),
        Some(json!({"PrincipalType": 0, "PrincipalID": 1, "PermissionFlags": ["Read"]})),
    );
    assert_forbidden_v3(&grant, "grant on a safe");

    // Nothing changed.
    let still = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(still.json()["Password"], "s3cr3t-value");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE user_name = 'mallory'", []),
        0
    );

    // A session signed in with the key keeps the key's scopes.
    let signed = app.send(
        "POST",
        &format!("{V3}/Auth/SignAppIn"),
        &[("Authorization", &reader)],
        None,
    );
    assert_eq!(signed.status, 200, "{signed:?}");
    let cookie = signed
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string();
    let session = Session {
        cookie,
        user_id: 1,
        user_name: "admin".into(),
    };
    let delete = app.v3(
        &session,
        "DELETE",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_forbidden_v3(&delete, "delete through the session");

    let denials = scope_denials(&app);
    let purposes: Vec<&str> = denials.iter().map(|d| d.1.as_str()).collect();
    assert_eq!(
        purposes,
        [
            "secrets.delete",
            "secrets.write",
            "publicapi",
            "publicapi",
            "secrets.set_owner",
            "secrets.delete"
        ]
    );
    let (actor, _, target, detail) = &denials[0];
    assert_eq!(actor, "user:1");
    assert_eq!(
        target,
        &format!("route:DELETE /beyondtrust/api/public/v3/secrets-safe/secrets/{secret}")
    );
    assert!(
        detail.contains("credential=credential:") && detail.contains("credential_owner=user:1"),
        "{detail}"
    );
}

#[test]
fn a_token_asking_for_secrets_read_cannot_delete_or_create_users_and_keys() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Ops");
    let secret = app.create_text_secret(&admin, &safe, "db", "value");
    let bearer = admin_token_with(&app, &admin, "secrets.read");

    let read = call(
        &app,
        &bearer,
        "GET",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    let delete = call(
        &app,
        &bearer,
        "DELETE",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_forbidden_v3(&delete, "delete a secret");
    let user = call(
        &app,
        &bearer,
        "POST",
        "Users",
        Some(json!({"UserName": "mallory"})),
    );
    assert_forbidden_v3(&user, "create a user");
    let key = call(&app, &bearer, "POST", "Users/1/ApiKeys", Some(json!({})));
    assert_forbidden_v3(&key, "create a key");
    let folder = call(
        &app,
        &bearer,
        "POST",
        "secrets-safe/folders",
        Some(json!({"Name": "f", "ParentId": safe})),
    );
    assert_forbidden_v3(&folder, "create a folder");
    assert_eq!(
        app.v3(
            &admin,
            "GET",
            &format!("secrets-safe/secrets/{secret}"),
            None
        )
        .status,
        200,
        "the secret is still there"
    );

    // Routes about the caller's own credentials take any scope.
    let whoami = app.get("/api/secrets/whoami", &[("Authorization", &bearer)]);
    assert_eq!(whoami.status, 200, "{whoami:?}");
    assert_eq!(whoami.json()["scopes"], json!(["secrets.read"]));
    let v2 = app.get("/api/v2/session", &[("Authorization", &bearer)]);
    assert_eq!(v2.status, 200, "{v2:?}");
}

#[test]
fn specific_scopes_allow_exactly_their_purpose() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Ops");
    let secret = app.create_text_secret(&admin, &safe, "db", "value");

    let lister = ps_auth(
        &admin_key_with(&app, &admin, &["secrets.read_metadata"]),
        "admin",
    );
    assert_eq!(
        call(&app, &lister, "GET", "secrets-safe/secrets", None).status,
        200
    );
    assert_eq!(
        call(&app, &lister, "GET", "secrets-safe/safes", None).status,
        200
    );
    let value = call(
        &app,
        &lister,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_forbidden_v3(&value, "a value with read_metadata");

    let writer = ps_auth(&admin_key_with(&app, &admin, &["secrets.write"]), "admin");
    let folder = call(
        &app,
        &writer,
        "POST",
        "secrets-safe/folders",
        Some(json!({"Name": "f", "ParentId": safe})),
    );
    assert_eq!(folder.status, 201, "{folder:?}");
    let folder = folder.json()["Id"].as_str().expect("Id").to_string();
    let delete = call(
        &app,
        &writer,
        "DELETE",
        &format!("secrets-safe/folders/{folder}"),
        None,
    );
    assert_forbidden_v3(&delete, "delete with write");

    let deleter = ps_auth(&admin_key_with(&app, &admin, &["secrets.delete"]), "admin");
    let delete = call(
        &app,
        &deleter,
        "DELETE",
        &format!("secrets-safe/folders/{folder}"),
        None,
    );
    assert_eq!(delete.status, 204, "{delete:?}");
    let read = call(
        &app,
        &deleter,
        "GET",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_forbidden_v3(&read, "read with delete");

    // publicapi, what the Password Safe clients ask for, covers every v3 route.
    let client = ps_auth(&admin_key_with(&app, &admin, &["publicapi"]), "admin");
    assert_eq!(call(&app, &client, "GET", "Users", None).status, 200);
    let delete = call(
        &app,
        &client,
        "DELETE",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_eq!(delete.status, 200, "{delete:?}");
}

#[test]
fn a_key_without_scopes_has_them_all_and_admin_key_still_works() {
    let app = TestApp::start();
    let admin = app.admin();
    let users = app.get(
        &format!("{V3}/Users"),
        &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
    );
    assert_eq!(users.status, 200, "{users:?}");
    let safe = app.create_safe(&admin, "Ops");
    let deleted = app.v3(
        &admin,
        "DELETE",
        &format!("secrets-safe/safes/{safe}"),
        None,
    );
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert!(scope_denials(&app).is_empty());
}

#[test]
fn methods_the_table_does_not_list_get_405_with_allow_before_any_area() {
    let app = TestApp::start();
    let auth = ps_auth(ADMIN_KEY, "admin");
    let reply = call(&app, &auth, "PATCH", "Users", None);
    assert_eq!(reply.status, 405, "{reply:?}");
    assert_eq!(reply.json()["Code"], "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, POST"));
    // Even without credentials: the table is read before authentication.
    let anonymous = app.send(
        "POST",
        &format!("{V3}/secrets-safe/secrets/3f2504e0-4f89-11d3-9a0c-0305e82c3301/file/download"),
        &[],
        None,
    );
    assert_eq!(anonymous.status, 405, "{anonymous:?}");
    assert_eq!(anonymous.header("allow"), Some("GET"));
    let v2 = app.send(
        "DELETE",
        "/api/v2/session",
        &[("Authorization", ADMIN_KEY)],
        None,
    );
    assert_eq!(v2.status, 405, "{v2:?}");
    assert_eq!(v2.json()["result"], "error");
    // A path no row lists is not served.
    let unlisted = call(
        &app,
        &auth,
        "GET",
        "secrets-safe/secrets/3f2504e0-4f89-11d3-9a0c-0305e82c3301/other",
        None,
    );
    assert_eq!(unlisted.status, 404, "{unlisted:?}");
}
