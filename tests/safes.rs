//! Secrets Safe safes and safe permissions end to end: every route's success path
//! with its exact wire shape, its errors, and who may do what.

use edgesafe_tests::{now, utc, Reply, Session, TestApp, V3};
use serde_json::{json, Value};
use std::time::Duration;

const SAFES: &str = "secrets-safe/safes";
const UNKNOWN_ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
/// The flags a manager holds, as every answer names them.
const MANAGER: [&str; 6] = ["Read", "Create", "Edit", "Delete", "Manage", "Share"];

fn safe_path(id: &str) -> String {
    format!("{SAFES}/{id}")
}

fn permissions_path(id: &str) -> String {
    format!("{SAFES}/{id}/safe-permissions")
}

/// `PUT .../safe-permissions` for a principal (0 user, 1 group).
fn grant(
    app: &TestApp,
    session: &Session,
    safe: &str,
    principal: (i64, i64),
    flags: Value,
    expires: Option<&str>,
) -> Reply {
    let mut body = json!({"PrincipalType": principal.0, "PrincipalID": principal.1,
        "PermissionFlags": flags});
    if let Some(expires) = expires {
        body["ExpiresOn"] = json!(expires);
    }
    app.v3(session, "PUT", &permissions_path(safe), Some(body))
}

fn user(session: &Session) -> (i64, i64) {
    (0, session.user_id)
}

/// The grants on a safe, as `GET .../safe-permissions` answers them to `session`.
fn grants(app: &TestApp, session: &Session, safe: &str) -> Vec<Value> {
    let reply = app.v3(session, "GET", &permissions_path(safe), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json().as_array().cloned().expect("a list")
}

fn grant_of(list: &[Value], principal: (i64, i64)) -> Option<Value> {
    list.iter()
        .find(|g| g["PrincipalType"] == principal.0 && g["PrincipalID"] == principal.1)
        .cloned()
}

fn listed(app: &TestApp, session: &Session, safe: &str) -> bool {
    let reply = app.v3(session, "GET", SAFES, None);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .any(|s| s["Id"] == safe)
}

/// A request without any credentials.
fn anonymous(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Reply {
    let url = format!("{V3}/{path}");
    match body {
        Some(b) => app.send(
            method,
            &url,
            &[("Content-Type", "application/json")],
            Some(b.to_string().as_bytes()),
        ),
        None => app.send(method, &url, &[], None),
    }
}

#[test]
fn utc_formats_like_the_server() {
    assert_eq!(utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
}

// ---------------------------------------------------------------- POST safes

#[test]
fn post_safes_creates_a_safe_its_creator_manages() {
    let app = TestApp::start();
    let admin = app.admin();
    let reply = app.v3(
        &admin,
        "POST",
        SAFES,
        Some(json!({"Name": "Team", "Description": "team safe"})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let body = reply.json();
    let id = body["Id"].as_str().expect("Id").to_string();
    // The reference's shape: the caller's flags, the description also as SecretName.
    assert_eq!(
        body,
        json!({"Id": id, "Name": "Team", "Description": "team safe", "SecretName": "team safe",
            "PermissionFlags": MANAGER})
    );
    assert_eq!(id, id.to_lowercase());

    // The creator holds Manage, in the shape both clients read.
    let list = grants(&app, &admin, &id);
    assert_eq!(list.len(), 1, "{list:?}");
    let entry = &list[0];
    assert!(
        entry["Id"].as_str().is_some_and(|g| g.len() == 36),
        "{entry}"
    );
    assert_eq!(
        entry,
        &json!({"Id": entry["Id"], "FolderId": id, "PrincipalType": 0,
            "PrincipalID": admin.user_id, "UserId": admin.user_id, "GroupId": null,
            "PermissionFlags": MANAGER, "ExpiresOn": null})
    );

    // SecretName, the reference's other name of the description, sets it too.
    let reply = app.v3(
        &admin,
        "POST",
        SAFES,
        Some(json!({"Name": "Aliased", "SecretName": "said so"})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(
        (
            reply.json()["Description"].clone(),
            reply.json()["SecretName"].clone()
        ),
        (json!("said so"), json!("said so"))
    );
    let aliased = reply.json()["Id"].as_str().unwrap().to_owned();
    let renamed = app.v3(
        &admin,
        "PUT",
        &safe_path(&aliased),
        Some(json!({"Name": "Aliased", "SecretName": "changed"})),
    );
    assert_eq!(renamed.status, 204, "{renamed:?}");
    let got = app.v3(&admin, "GET", &safe_path(&aliased), None).json();
    assert_eq!(got["Description"], "changed");
    let long = app.v3(
        &admin,
        "PUT",
        &safe_path(&aliased),
        Some(json!({"Name": "Aliased", "SecretName": "x".repeat(257)})),
    );
    assert_eq!(
        long.status, 400,
        "a long SecretName is refused, not dropped: {long:?}"
    );

    // Lower-case property names bind too; Description defaults to "".
    let reply = app.v3(&admin, "POST", SAFES, Some(json!({"name": "Bare"})));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["Description"], "");
}

#[test]
fn post_safes_refuses_duplicates_and_bad_input() {
    let app = TestApp::start();
    let admin = app.admin();
    app.create_safe(&admin, "Team");
    let dup = app.v3(&admin, "POST", SAFES, Some(json!({"Name": "tEAM"})));
    assert_eq!(dup.status, 409, "{dup:?}");
    assert_eq!(dup.json()["Code"], "conflict");

    let long = "x".repeat(257);
    for body in [
        json!({}),
        json!({"Name": ""}),
        json!({"Name": "   "}),
        json!({"Name": null}),
        json!({"Name": long}),
        json!({"Name": "a/b"}),
        json!({"Name": "ok", "Description": long}),
        json!({"Name": "ok", "SecretName": long}),
        json!({"Name": "ok", "Description": "one", "SecretName": "two"}),
        json!({"Name": 5}),
        json!([]),
    ] {
        let reply = app.v3(&admin, "POST", SAFES, Some(body.clone()));
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.json()["Code"], "bad_request");
    }
    let at_limit = app.v3(
        &admin,
        "POST",
        SAFES,
        Some(json!({"Name": "y".repeat(256), "Description": "d".repeat(256)})),
    );
    assert_eq!(at_limit.status, 201, "{at_limit:?}");

    let bad_json = app.v3_raw(&admin, "POST", SAFES, "application/json", b"{\"Name\":");
    assert_eq!(bad_json.status, 400, "{bad_json:?}");
    let text = app.v3_raw(&admin, "POST", SAFES, "text/plain", br#"{"Name":"T"}"#);
    assert_eq!(text.status, 415, "{text:?}");
    assert_eq!(text.json()["Code"], "unsupported_media_type");
}

// ---------------------------------------------------------------- GET safes

#[test]
fn get_safes_lists_what_the_caller_can_read() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let bob = app.user_with_feature(&admin, "bob", 2);
    let a = app.create_safe(&alice, "Alpha");
    let b = app.create_safe(&bob, "Beta");

    let all = app.v3(&admin, "GET", SAFES, None);
    assert_eq!(all.status, 200, "{all:?}");
    assert_eq!(
        all.json(),
        json!([{"Id": a, "Name": "Alpha", "Description": "Alpha safe",
                "SecretName": "Alpha safe", "PermissionFlags": MANAGER},
               {"Id": b, "Name": "Beta", "Description": "Beta safe",
                "SecretName": "Beta safe", "PermissionFlags": MANAGER}])
    );
    let mine = app.v3(&alice, "GET", &format!("{SAFES}?version=3.1"), None);
    assert_eq!(mine.status, 200, "{mine:?}");
    assert_eq!(
        mine.json(),
        json!([{"Id": a, "Name": "Alpha", "Description": "Alpha safe",
                "SecretName": "Alpha safe", "PermissionFlags": MANAGER}])
    );
    assert!(!listed(&app, &bob, &a));
    // Each caller sees his own flags.
    let bob_id = json!({"PrincipalType": 0, "PrincipalID": bob.user_id,
        "PermissionFlags": ["Read", "Update"]});
    let reply = app.v3(&admin, "PUT", &permissions_path(&a), Some(bob_id));
    assert_eq!(reply.status, 204, "{reply:?}");
    let seen = app.v3(&bob, "GET", SAFES, None).json();
    let alpha = seen
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Id"] == a)
        .cloned();
    assert_eq!(
        alpha.map(|s| s["PermissionFlags"].clone()),
        Some(json!(["Read", "Edit"]))
    );
    let one = app.v3(&bob, "GET", &safe_path(&a), None).json();
    assert_eq!(one["PermissionFlags"], json!(["Read", "Edit"]));
}

// ---------------------------------------------------------------- GET safes/{id}

#[test]
fn get_safe_answers_the_safe_and_refuses_folders_and_unknown_ids() {
    let app = TestApp::start();
    let admin = app.admin();
    let id = app.create_safe(&admin, "Team");
    let reply = app.v3(&admin, "GET", &safe_path(&id), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({"Id": id, "Name": "Team", "Description": "Team safe", "SecretName": "Team safe",
            "PermissionFlags": MANAGER})
    );
    // Ids match whatever their case.
    let upper = app.v3(&admin, "GET", &safe_path(&id.to_uppercase()), None);
    assert_eq!(upper.status, 200, "{upper:?}");

    let folder = app.create_folder(&admin, &id, "Inner");
    let reply = app.v3(&admin, "GET", &safe_path(&folder), None);
    assert_eq!(reply.status, 400, "{reply:?}");

    for path in [
        safe_path(UNKNOWN_ID),
        safe_path("not-a-guid"),
        format!("{}/other", safe_path(&id)),
        permissions_path("not-a-guid"),
    ] {
        let reply = app.v3(&admin, "GET", &path, None);
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert_eq!(reply.json()["Code"], "not_found");
    }
    for (method, path) in [
        ("POST", safe_path(&id)),
        ("PATCH", safe_path(&id)),
        ("DELETE", SAFES.to_string()),
        ("PUT", SAFES.to_string()),
        ("POST", permissions_path(&id)),
        ("DELETE", format!("{SAFES}/safe-permissions")),
    ] {
        let reply = app.v3(&admin, method, &path, None);
        assert_eq!(reply.status, 405, "{method} {path}: {reply:?}");
    }
}

// ---------------------------------------------------------------- PUT safes/{id}

#[test]
fn put_safe_renames_and_refuses_duplicates_folders_and_unknown_ids() {
    let app = TestApp::start();
    let admin = app.admin();
    let id = app.create_safe(&admin, "Team");
    app.create_safe(&admin, "Taken");

    let put = |id: &str, body: Value| app.v3(&admin, "PUT", &safe_path(id), Some(body));
    let reply = put(&id, json!({"Name": "Renamed", "Description": "new"}));
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    let got = app.v3(&admin, "GET", &safe_path(&id), None).json();
    assert_eq!(
        got,
        json!({"Id": id, "Name": "Renamed", "Description": "new", "SecretName": "new",
            "PermissionFlags": MANAGER})
    );

    // A left-out Description keeps the stored one; a change of case is no conflict.
    assert_eq!(put(&id, json!({"Name": "RENAMED"})).status, 204);
    let got = app.v3(&admin, "GET", &safe_path(&id), None).json();
    assert_eq!(
        (got["Name"].clone(), got["Description"].clone()),
        (json!("RENAMED"), json!("new"))
    );

    let dup = put(&id, json!({"Name": "taken", "Description": ""}));
    assert_eq!(dup.status, 409, "{dup:?}");
    assert_eq!(put(&id, json!({"Description": "x"})).status, 400);
    assert_eq!(put(UNKNOWN_ID, json!({"Name": "X"})).status, 404);
    let folder = app.create_folder(&admin, &id, "Inner");
    assert_eq!(put(&folder, json!({"Name": "X"})).status, 400);
    let text = app.v3_raw(&admin, "PUT", &safe_path(&id), "text/plain", b"{}");
    assert_eq!(text.status, 415, "{text:?}");
}

// ---------------------------------------------------------------- DELETE safes/{id}

#[test]
fn delete_safe_removes_an_empty_safe_with_its_folders_and_grants() {
    let app = TestApp::start();
    let admin = app.admin();
    let id = app.create_safe(&admin, "Team");
    let folder = app.create_folder(&admin, &id, "Inner");
    assert_eq!(
        app.v3(&admin, "DELETE", &safe_path(&folder), None).status,
        400
    );

    let reply = app.v3(&admin, "DELETE", &safe_path(&id), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(app.v3(&admin, "GET", &safe_path(&id), None).status, 404);
    assert_eq!(app.v3(&admin, "DELETE", &safe_path(&id), None).status, 404);
    assert!(!listed(&app, &admin, &id));
    let folders = app.count("SELECT count(*) FROM folders WHERE safe_id = ?1", [&id]);
    let grants = app.count(
        "SELECT count(*) FROM safe_permissions WHERE safe_id = ?1",
        [&id],
    );
    assert_eq!((folders, grants), (0, 0));
    // The name is free again.
    app.create_safe(&admin, "Team");
}

#[test]
fn delete_safe_refuses_while_it_holds_secrets() {
    let app = TestApp::start();
    let admin = app.admin();
    let id = app.create_safe(&admin, "Team");
    let folder = app.create_folder(&admin, &id, "Inner");
    app.create_text_secret(&admin, &folder, "note", "kept");
    let reply = app.v3(&admin, "DELETE", &safe_path(&id), None);
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(app.v3(&admin, "GET", &safe_path(&id), None).status, 200);
    assert_eq!(grants(&app, &admin, &id).len(), 1);
}

// ---------------------------------------------------------------- safe permissions

#[test]
fn get_permission_names_lists_every_name() {
    let app = TestApp::start();
    let admin = app.admin();
    let reply = app.v3(&admin, "GET", &format!("{SAFES}/safe-permissions"), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!([{"PermissionName": "None"}, {"PermissionName": "Read"},
               {"PermissionName": "Create"}, {"PermissionName": "Edit"},
               {"PermissionName": "Delete"}, {"PermissionName": "Manage"},
               {"PermissionName": "Share"}])
    );
    // bt-cli's spelling of the path reaches the same route.
    let bt = app.v3(&admin, "GET", "Secrets-Safe/Safes/Safe-Permissions/", None);
    assert_eq!(bt.json(), reply.json());
    // Any user with the feature may read them.
    let reader = app.user_with_feature(&admin, "reader", 1);
    let reply = app.v3(&reader, "GET", &format!("{SAFES}/safe-permissions"), None);
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[test]
fn put_safe_permissions_grants_updates_and_revokes() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let group = app.group_with_feature(&admin, "ops", 2, &[]);
    let safe = app.create_safe(&admin, "Team");

    let reply = grant(
        &app,
        &admin,
        &safe,
        user(&alice),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let expires = utc(now() + 86_400);
    // The seed's "Read, Update" spelling, in one entry.
    let reply = grant(
        &app,
        &admin,
        &safe,
        (1, group),
        json!(["Read, Edit, Share"]),
        Some(&expires),
    );
    assert_eq!(reply.status, 204, "{reply:?}");

    let list = grants(&app, &admin, &safe);
    assert_eq!(list.len(), 3, "{list:?}");
    let a = grant_of(&list, user(&alice)).expect("alice's grant");
    assert_eq!(
        a,
        json!({"Id": a["Id"], "FolderId": safe, "PrincipalType": 0,
            "PrincipalID": alice.user_id, "UserId": alice.user_id, "GroupId": null,
            "PermissionFlags": ["Read", "Create"], "ExpiresOn": null})
    );
    let g = grant_of(&list, (1, group)).expect("the group's grant");
    assert_eq!(
        g,
        json!({"Id": g["Id"], "FolderId": safe, "PrincipalType": 1,
            "PrincipalID": group, "UserId": null, "GroupId": group,
            "PermissionFlags": ["Read", "Edit", "Share"], "ExpiresOn": expires})
    );

    // An update replaces the flags and keeps the grant's Id.
    let reply = grant(
        &app,
        &admin,
        &safe,
        user(&alice),
        json!(["Manage Safe"]),
        None,
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let a2 = grant_of(&grants(&app, &admin, &safe), user(&alice)).expect("grant");
    assert_eq!(
        (a2["Id"].clone(), a2["PermissionFlags"].clone()),
        (a["Id"].clone(), json!(MANAGER))
    );

    // Without PermissionFlags an existing grant keeps its flags and takes the expiry.
    let body = json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "ExpiresOn": expires});
    let reply = app.v3(&admin, "PUT", &permissions_path(&safe), Some(body));
    assert_eq!(reply.status, 204, "{reply:?}");
    let a3 = grant_of(&grants(&app, &admin, &safe), user(&alice)).expect("grant");
    assert_eq!(
        (a3["PermissionFlags"].clone(), a3["ExpiresOn"].clone()),
        (json!(MANAGER), json!(expires))
    );

    // bt-cli revokes with an empty list; ["None"] does the same; both are idempotent.
    assert_eq!(
        grant(&app, &admin, &safe, user(&alice), json!([]), None).status,
        204
    );
    assert_eq!(
        grant(&app, &admin, &safe, (1, group), json!(["None"]), None).status,
        204
    );
    assert_eq!(
        grant(&app, &admin, &safe, (1, group), json!([]), None).status,
        204
    );
    let list = grants(&app, &admin, &safe);
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(grant_of(&list, user(&admin)).is_some());

    // A removed user's grant can still be revoked, but nothing new is granted to them.
    assert_eq!(
        grant(&app, &admin, &safe, user(&alice), json!(["Read"]), None).status,
        204
    );
    let removed = app.v3(&admin, "DELETE", &format!("Users/{}", alice.user_id), None);
    assert!((200..300).contains(&removed.status), "{removed:?}");
    let regrant = grant(
        &app,
        &admin,
        &safe,
        user(&alice),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(regrant.status, 400, "{regrant:?}");
    assert_eq!(
        grant(&app, &admin, &safe, user(&alice), json!([]), None).status,
        204
    );
    assert_eq!(grants(&app, &admin, &safe).len(), 1);
}

#[test]
fn put_safe_permissions_refuses_bad_input() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let safe = app.create_safe(&admin, "Team");
    let past = utc(now() - 60);
    let cases = [
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": ["Create"]}),
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": ["Read", "Fly"]}),
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": ["Update, Delete"]}),
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": [5]}),
        json!({"PrincipalType": 2, "PrincipalID": alice.user_id, "PermissionFlags": ["Read"]}),
        json!({"PrincipalID": alice.user_id, "PermissionFlags": ["Read"]}),
        json!({"PrincipalType": 0, "PermissionFlags": ["Read"]}),
        json!({"PrincipalType": 0, "PrincipalID": "x", "PermissionFlags": ["Read"]}),
        json!({"PrincipalType": 0, "PrincipalID": 9999, "PermissionFlags": ["Read"]}),
        json!({"PrincipalType": 1, "PrincipalID": 9999, "PermissionFlags": ["Read"]}),
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": ["Read"], "ExpiresOn": past}),
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id, "PermissionFlags": ["Read"], "ExpiresOn": "soon"}),
        // A principal without a grant needs flags.
        json!({"PrincipalType": 0, "PrincipalID": alice.user_id}),
    ];
    for body in cases {
        let reply = app.v3(&admin, "PUT", &permissions_path(&safe), Some(body.clone()));
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert_eq!(reply.json()["Code"], "bad_request");
    }
    assert_eq!(grants(&app, &admin, &safe).len(), 1, "nothing was written");

    let text = app.v3_raw(&admin, "PUT", &permissions_path(&safe), "text/plain", b"{}");
    assert_eq!(text.status, 415, "{text:?}");
    let bad = app.v3_raw(
        &admin,
        "PUT",
        &permissions_path(&safe),
        "application/json",
        b"{",
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    let unknown = grant(
        &app,
        &admin,
        UNKNOWN_ID,
        user(&alice),
        json!(["Read"]),
        None,
    );
    assert_eq!(unknown.status, 404, "{unknown:?}");
    let folder = app.create_folder(&admin, &safe, "Inner");
    let sub = grant(&app, &admin, &folder, user(&alice), json!(["Read"]), None);
    assert_eq!(sub.status, 400, "{sub:?}");
}

#[test]
fn delete_safe_permissions_revokes_by_body() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let safe = app.create_safe(&admin, "Team");
    assert_eq!(
        grant(&app, &admin, &safe, user(&alice), json!(["Read"]), None).status,
        204
    );

    let body = json!({"PrincipalType": 0, "PrincipalID": alice.user_id});
    let reply = app.v3(
        &admin,
        "DELETE",
        &permissions_path(&safe),
        Some(body.clone()),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(grant_of(&grants(&app, &admin, &safe), user(&alice)).is_none());
    let again = app.v3(
        &admin,
        "DELETE",
        &permissions_path(&safe),
        Some(body.clone()),
    );
    assert_eq!(again.status, 404, "{again:?}");

    let no_body = app.v3(&admin, "DELETE", &permissions_path(&safe), None);
    assert_eq!(no_body.status, 415, "{no_body:?}");
    let text = app.v3_raw(
        &admin,
        "DELETE",
        &permissions_path(&safe),
        "text/plain",
        b"{}",
    );
    assert_eq!(text.status, 415, "{text:?}");
    let empty = app.v3_raw(
        &admin,
        "DELETE",
        &permissions_path(&safe),
        "application/json",
        b"",
    );
    assert_eq!(empty.status, 400, "{empty:?}");
    let bad = app.v3(
        &admin,
        "DELETE",
        &permissions_path(&safe),
        Some(json!({"PrincipalType": 3, "PrincipalID": 1})),
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    let unknown = app.v3(&admin, "DELETE", &permissions_path(UNKNOWN_ID), Some(body));
    assert_eq!(unknown.status, 404, "{unknown:?}");
}

#[test]
fn the_last_manager_cannot_be_removed() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let safe = app.create_safe(&alice, "Team");
    let own = json!({"PrincipalType": 0, "PrincipalID": alice.user_id});

    for reply in [
        app.v3(
            &alice,
            "DELETE",
            &permissions_path(&safe),
            Some(own.clone()),
        ),
        grant(&app, &alice, &safe, user(&alice), json!([]), None),
        grant(&app, &alice, &safe, user(&alice), json!(["Read"]), None),
        // Administrators are held to it as well.
        grant(&app, &admin, &safe, user(&alice), json!(["Read"]), None),
    ] {
        assert_eq!(reply.status, 409, "{reply:?}");
    }
    let mine = grant_of(&grants(&app, &alice, &safe), user(&alice)).expect("grant");
    assert_eq!(mine["PermissionFlags"], json!(MANAGER));

    // With a second manager (a teammate, so that alice may name him), stepping down
    // works.
    let bob = app.user_with_feature(&admin, "bob", 2);
    app.group_with_feature(&admin, "team", 2, &[alice.user_id, bob.user_id]);
    assert_eq!(
        grant(&app, &alice, &safe, user(&bob), json!(["Manage"]), None).status,
        204
    );
    let reply = grant(&app, &alice, &safe, user(&alice), json!(["Read"]), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        app.v3(
            &alice,
            "PUT",
            &permissions_path(&safe),
            Some(json!({
        "PrincipalType": 0, "PrincipalID": bob.user_id, "PermissionFlags": ["Read"]}))
        )
        .status,
        403
    );
}

// ---------------------------------------------------------------- authorization

#[test]
fn without_credentials_every_route_is_401() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Team");
    let principal = json!({"PrincipalType": 0, "PrincipalID": admin.user_id});
    for (method, path, body) in [
        ("GET", SAFES.to_string(), None),
        ("POST", SAFES.to_string(), Some(json!({"Name": "X"}))),
        ("GET", format!("{SAFES}/safe-permissions"), None),
        ("GET", safe_path(&safe), None),
        ("PUT", safe_path(&safe), Some(json!({"Name": "X"}))),
        ("DELETE", safe_path(&safe), None),
        ("GET", permissions_path(&safe), None),
        ("PUT", permissions_path(&safe), Some(principal.clone())),
        ("DELETE", permissions_path(&safe), Some(principal.clone())),
    ] {
        let reply = anonymous(&app, method, &path, body);
        assert_eq!(reply.status, 401, "{method} {path}: {reply:?}");
    }
    assert_eq!(app.v3(&admin, "GET", &safe_path(&safe), None).status, 200);
}

#[test]
fn the_feature_permission_comes_first() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Team");
    let none = app.user_with_feature(&admin, "none", 0);
    let reader = app.user_with_feature(&admin, "reader", 1);
    // Grants on the safe do not stand in for the feature permission.
    assert_eq!(
        grant(&app, &admin, &safe, user(&none), json!(["Manage"]), None).status,
        204
    );
    assert_eq!(
        grant(&app, &admin, &safe, user(&reader), json!(["Manage"]), None).status,
        204
    );
    let me = json!({"PrincipalType": 0, "PrincipalID": admin.user_id});

    // With the read feature, what the reference gives to Read works (given the flag
    // on the safe); creating and deleting safes are refused whatever the grant says.
    for (method, path, body, read_feature) in [
        ("GET", SAFES.to_string(), None, 200),
        ("POST", SAFES.to_string(), Some(json!({"Name": "X"})), 403),
        ("GET", format!("{SAFES}/safe-permissions"), None, 200),
        ("GET", safe_path(&safe), None, 200),
        ("PUT", safe_path(&safe), Some(json!({"Name": "Y"})), 204),
        ("DELETE", safe_path(&safe), None, 403),
        ("GET", permissions_path(&safe), None, 200),
        ("PUT", permissions_path(&safe), Some(me.clone()), 204),
        ("DELETE", permissions_path(&safe), Some(me.clone()), 204),
    ] {
        let reply = app.v3(&none, method, &path, body.clone());
        assert_eq!(reply.status, 403, "no feature: {method} {path}: {reply:?}");
        let reply = app.v3(&reader, method, &path, body);
        assert_eq!(
            reply.status, read_feature,
            "read feature: {method} {path}: {reply:?}"
        );
    }
    assert_eq!(
        app.v3(&admin, "GET", &safe_path(&safe), None).json()["Name"],
        "Y"
    );

    // Refusals are in the audit trail, as is each change.
    let denied = app.count(
        "SELECT count(*) FROM audit_events WHERE actor = ?1 AND decision = 'deny'",
        [&format!("user:{}", none.user_id)],
    );
    assert!(denied >= 9, "{denied}");
}

#[test]
fn without_a_grant_a_safe_does_not_exist() {
    let app = TestApp::start();
    let admin = app.admin();
    let carol = app.user_with_feature(&admin, "carol", 2);
    let safe = app.create_safe(&admin, "Team");
    let folder = app.create_folder(&admin, &safe, "Inner");
    let me =
        json!({"PrincipalType": 0, "PrincipalID": carol.user_id, "PermissionFlags": ["Manage"]});
    assert!(!listed(&app, &carol, &safe));
    for (method, path, body) in [
        ("GET", safe_path(&safe), None),
        // Not even a folder id tells it apart from a missing one.
        ("GET", safe_path(&folder), None),
        ("PUT", safe_path(&safe), Some(json!({"Name": "X"}))),
        ("DELETE", safe_path(&safe), None),
        ("GET", permissions_path(&safe), None),
        ("PUT", permissions_path(&safe), Some(me.clone())),
        ("DELETE", permissions_path(&safe), Some(me.clone())),
    ] {
        let reply = app.v3(&carol, method, &path, body);
        assert_eq!(reply.status, 404, "{method} {path}: {reply:?}");
        assert_eq!(
            reply.json(),
            json!({"Message": "not found", "Code": "not_found"})
        );
    }
    // But the user can create and manage safes of their own.
    let own = app.create_safe(&carol, "Carol's");
    assert!(listed(&app, &carol, &own));
    let denied = app.count(
        "SELECT count(*) FROM audit_events WHERE target = ?1 AND decision = 'deny'",
        [&format!("safe:{safe}")],
    );
    assert!(denied >= 6, "{denied}");
}

#[test]
fn each_flag_allows_its_own_action() {
    let app = TestApp::start();
    let admin = app.admin();
    let reader = app.user_with_feature(&admin, "reader", 2);
    let editor = app.user_with_feature(&admin, "editor", 2);
    let deleter = app.user_with_feature(&admin, "deleter", 2);
    let safe = app.create_safe(&admin, "Team");
    for (who, flags) in [
        (&reader, json!(["Read"])),
        (&editor, json!(["Read", "Update"])),
        (&deleter, json!(["Read", "Delete"])),
    ] {
        assert_eq!(
            grant(&app, &admin, &safe, user(who), flags, None).status,
            204
        );
    }
    let someone =
        json!({"PrincipalType": 0, "PrincipalID": reader.user_id, "PermissionFlags": ["Read"]});

    // Read: see the safe and who may use it; change nothing.
    assert!(listed(&app, &reader, &safe));
    assert_eq!(app.v3(&reader, "GET", &safe_path(&safe), None).status, 200);
    assert_eq!(grants(&app, &reader, &safe).len(), 4);
    for (method, path, body) in [
        ("PUT", safe_path(&safe), Some(json!({"Name": "X"}))),
        ("DELETE", safe_path(&safe), None),
        ("PUT", permissions_path(&safe), Some(someone.clone())),
        ("DELETE", permissions_path(&safe), Some(someone.clone())),
    ] {
        for who in [&reader, &editor, &deleter] {
            if (who.user_name == "editor" && method == "PUT" && path == safe_path(&safe))
                || (who.user_name == "deleter" && method == "DELETE" && path == safe_path(&safe))
            {
                continue;
            }
            let reply = app.v3(who, method, &path, body.clone());
            assert_eq!(
                reply.status, 403,
                "{} {method} {path}: {reply:?}",
                who.user_name
            );
            assert_eq!(reply.json()["Code"], "forbidden");
        }
    }
    // Update renames; Delete deletes.
    let reply = app.v3(
        &editor,
        "PUT",
        &safe_path(&safe),
        Some(json!({"Name": "Edited"})),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let reply = app.v3(&deleter, "DELETE", &safe_path(&safe), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(app.v3(&admin, "GET", &safe_path(&safe), None).status, 404);
}

#[test]
fn manage_allows_everything_on_the_safe() {
    let app = TestApp::start();
    let admin = app.admin();
    let manager = app.user_with_feature(&admin, "manager", 2);
    let other = app.user_with_feature(&admin, "other", 2);
    // Teammates: the manager may name the other user (see the directory test below).
    app.group_with_feature(&admin, "team", 2, &[manager.user_id, other.user_id]);
    let safe = app.create_safe(&admin, "Team");
    assert_eq!(
        grant(&app, &admin, &safe, user(&manager), json!(["Manage"]), None).status,
        204
    );

    assert_eq!(
        app.v3(
            &manager,
            "PUT",
            &safe_path(&safe),
            Some(json!({"Name": "M"}))
        )
        .status,
        204
    );
    assert_eq!(
        grant(&app, &manager, &safe, user(&other), json!(["Read"]), None).status,
        204
    );
    assert!(listed(&app, &other, &safe));
    let body = json!({"PrincipalType": 0, "PrincipalID": other.user_id});
    assert_eq!(
        app.v3(&manager, "DELETE", &permissions_path(&safe), Some(body))
            .status,
        204
    );
    assert!(!listed(&app, &other, &safe));
    assert_eq!(
        app.v3(&manager, "DELETE", &safe_path(&safe), None).status,
        204
    );
}

#[test]
fn an_expired_grant_counts_as_none() {
    let app = TestApp::start();
    let admin = app.admin();
    let dave = app.user_with_feature(&admin, "dave", 2);
    let safe = app.create_safe(&admin, "Team");
    let expires = utc(now() + 60);
    let reply = grant(
        &app,
        &admin,
        &safe,
        user(&dave),
        json!(["Read", "Update"]),
        Some(&expires),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(listed(&app, &dave, &safe));
    assert_eq!(app.v3(&dave, "GET", &safe_path(&safe), None).status, 200);

    app.advance_clock(Duration::from_secs(120));
    assert!(!listed(&app, &dave, &safe));
    assert_eq!(app.v3(&dave, "GET", &safe_path(&safe), None).status, 404);
    assert_eq!(
        app.v3(&dave, "PUT", &safe_path(&safe), Some(json!({"Name": "X"})))
            .status,
        404
    );
    // The grant is still listed to managers, with its expiry, and can be revoked.
    let g = grant_of(&grants(&app, &admin, &safe), user(&dave)).expect("expired grant");
    assert_eq!(g["ExpiresOn"], json!(expires));
    let body = json!({"PrincipalType": 0, "PrincipalID": dave.user_id});
    assert_eq!(
        app.v3(&admin, "DELETE", &permissions_path(&safe), Some(body))
            .status,
        204
    );
}

#[test]
fn group_grants_reach_the_members_and_combine_with_their_own() {
    let app = TestApp::start();
    let admin = app.admin();
    let erin = app.user_with_feature(&admin, "erin", 2);
    let group = app.group_with_feature(&admin, "readers", 2, &[erin.user_id]);
    let safe = app.create_safe(&admin, "Team");
    assert!(!listed(&app, &erin, &safe));

    assert_eq!(
        grant(&app, &admin, &safe, (1, group), json!(["Read"]), None).status,
        204
    );
    assert!(listed(&app, &erin, &safe));
    assert_eq!(app.v3(&erin, "GET", &safe_path(&safe), None).status, 200);
    let rename = || app.v3(&erin, "PUT", &safe_path(&safe), Some(json!({"Name": "E"})));
    assert_eq!(rename().status, 403);

    // Read from the group and Update of her own add up to renaming.
    assert_eq!(
        grant(
            &app,
            &admin,
            &safe,
            user(&erin),
            json!(["Read", "Update"]),
            None
        )
        .status,
        204
    );
    assert_eq!(rename().status, 204);
}

#[test]
fn changes_and_refusals_are_audited() {
    let app = TestApp::start();
    let admin = app.admin();
    let frank = app.user_with_feature(&admin, "frank", 2);
    let safe = app.create_safe(&admin, "Audited");
    let put = app.v3(
        &admin,
        "PUT",
        &safe_path(&safe),
        Some(json!({"Name": "Audited 2"})),
    );
    assert_eq!(put.status, 204);
    assert_eq!(
        grant(&app, &admin, &safe, user(&frank), json!(["Read"]), None).status,
        204
    );
    assert_eq!(
        app.v3(&frank, "DELETE", &safe_path(&safe), None).status,
        403
    );
    let body = json!({"PrincipalType": 0, "PrincipalID": frank.user_id});
    assert_eq!(
        app.v3(&admin, "DELETE", &permissions_path(&safe), Some(body))
            .status,
        204
    );
    assert_eq!(
        app.v3(&admin, "DELETE", &safe_path(&safe), None).status,
        204
    );

    let conn = app.db();
    let mut query = conn
        .prepare(
            "SELECT actor, action, decision, detail FROM audit_events
              WHERE target = ?1 ORDER BY seq",
        )
        .expect("audit query");
    let events: Vec<(String, String, String, String)> = query
        .query_map([format!("safe:{safe}")], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("audit rows")
        .collect::<Result<_, _>>()
        .expect("audit rows");
    let admin_actor = format!("user:{}", admin.user_id);
    let frank_actor = format!("user:{}", frank.user_id);
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|(actor, action, decision, _)| (actor.as_str(), action.as_str(), decision.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (admin_actor.as_str(), "safes.safe.create", "allow"),
            (admin_actor.as_str(), "safes.safe.update", "allow"),
            (admin_actor.as_str(), "safes.permission.grant", "allow"),
            (frank_actor.as_str(), "safes.safe.delete", "deny"),
            (admin_actor.as_str(), "safes.permission.revoke", "allow"),
            (admin_actor.as_str(), "safes.safe.delete", "allow"),
        ]
    );
    let grant_detail = &events[2].3;
    assert!(
        grant_detail.contains(&format!("principal=user:{}", frank.user_id)),
        "{grant_detail}"
    );
    assert!(grant_detail.contains("flags=Read"), "{grant_detail}");
}

// ---------------------------------------------------------------- what a non-admin learns

#[test]
fn a_taken_safe_name_is_taken_only_among_the_safes_the_caller_sees() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let hidden = app.create_safe(&admin, "Payroll");
    let seen = app.create_safe(&admin, "Shared");
    assert_eq!(
        grant(&app, &admin, &seen, user(&alice), json!(["Read"]), None).status,
        204
    );

    // A safe she cannot see does not make its name taken: nothing tells her it exists.
    let reply = app.v3(&alice, "POST", SAFES, Some(json!({"Name": "PAYROLL"})));
    assert_eq!(reply.status, 201, "{reply:?}");
    let hers = reply.json()["Id"].as_str().expect("Id").to_string();
    assert_ne!(hers, hidden);
    // One she sees, or her own, does.
    for name in ["shared", "Payroll"] {
        let reply = app.v3(&alice, "POST", SAFES, Some(json!({"Name": name})));
        assert_eq!(reply.status, 409, "{name}: {reply:?}");
        assert_eq!(reply.json()["Code"], "conflict");
    }
    let reply = app.v3(
        &alice,
        "PUT",
        &safe_path(&hers),
        Some(json!({"Name": "Shared"})),
    );
    assert_eq!(reply.status, 409, "{reply:?}");
    // The administrator sees every safe, so for him both are taken.
    let reply = app.v3(&admin, "POST", SAFES, Some(json!({"Name": "payroll"})));
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM folders WHERE parent_id IS NULL AND name = 'Payroll' COLLATE NOCASE",
            [],
        ),
        2
    );
}

#[test]
fn a_manager_grants_only_to_principals_he_can_see_and_learns_nothing_of_others() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let stranger = app.user_with_feature(&admin, "stranger", 2);
    let teammate = app.user_with_feature(&admin, "teammate", 2);
    let colleague = app.user_with_feature(&admin, "colleague", 2);
    let team = app.group_with_feature(&admin, "team", 2, &[alice.user_id, teammate.user_id]);
    let other_group = app.group_with_feature(&admin, "other", 2, &[stranger.user_id]);
    // The colleague works in a safe alice can read, so alice sees him in its grants.
    let lobby = app.create_safe(&admin, "Lobby");
    for who in [&alice, &colleague] {
        assert_eq!(
            grant(&app, &admin, &lobby, user(who), json!(["Read"]), None).status,
            204
        );
    }
    let safe = app.create_safe(&alice, "Alice's");

    // A user or group she cannot see answers exactly like one that does not exist.
    let refused: Vec<Reply> = [
        user(&stranger),
        (0, 999_999),
        (1, other_group),
        (1, 999_999),
    ]
    .into_iter()
    .map(|principal| grant(&app, &alice, &safe, principal, json!(["Read"]), None))
    .collect();
    for reply in &refused {
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_eq!(reply.body, refused[0].body, "one answer for all");
    }
    assert_eq!(grants(&app, &alice, &safe).len(), 1, "nothing was granted");

    // Herself, her group, its members and the colleague she sees elsewhere: granted.
    for principal in [user(&teammate), (1, team), user(&colleague), user(&alice)] {
        let flags = if principal == user(&alice) {
            json!(["Manage"])
        } else {
            json!(["Read"])
        };
        let reply = grant(&app, &alice, &safe, principal, flags, None);
        assert_eq!(reply.status, 204, "{principal:?}: {reply:?}");
    }
    // The administrator may grant to anyone that exists.
    assert_eq!(
        grant(&app, &admin, &safe, user(&stranger), json!(["Read"]), None).status,
        204
    );
    assert_eq!(
        grant(&app, &admin, &safe, (0, 999_999), json!(["Read"]), None).status,
        400
    );
}
