//! Versioned KV (`/api/secrets`, seed 003) end to end: canonical URIs, versions and
//! their edge cases, metadata, listings, search, bulk, copy and move, events, audit,
//! scopes, the request rate, and the same secrets seen through Vault's `/v1/` and v3.

use edgesafe_tests::{Reply, Session, TestApp, ADMIN_KEY};
use serde_json::{json, Value};

/// A KV call with `Authorization: Bearer <key>`.
fn kv(app: &TestApp, key: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    app.send_json(
        method,
        &format!("/api/secrets{path}"),
        ("Authorization", &format!("Bearer {key}")),
        body,
    )
}

fn admin_kv(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Reply {
    kv(app, ADMIN_KEY, method, path, body)
}

/// A query parameter value, percent-encoded.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn write(app: &TestApp, uri: &str, value: Value) -> Reply {
    admin_kv(app, "POST", "", Some(json!({"uri": uri, "value": value})))
}

fn value(app: &TestApp, key: &str, uri: &str) -> Reply {
    kv(app, key, "GET", &format!("/value?uri={}", enc(uri)), None)
}

/// A user holding the Secrets-Safe feature at `level`, and an API key of his limited
/// to `scopes` (all of them when empty).
fn user_key(
    app: &TestApp,
    admin: &Session,
    name: &str,
    level: u8,
    scopes: &[&str],
) -> (i64, String) {
    let user = app.v3(admin, "POST", "Users", Some(json!({"UserName": name})));
    assert_eq!(user.status, 201, "{user:?}");
    let id = user.json()["UserID"].as_i64().expect("UserID");
    if level > 0 {
        app.group_with_feature(admin, &format!("{name}-group"), level, &[id]);
    }
    let mut body = json!({"Label": name});
    if !scopes.is_empty() {
        body["Scopes"] = json!(scopes);
    }
    let key = app.v3(admin, "POST", &format!("Users/{id}/ApiKeys"), Some(body));
    assert_eq!(key.status, 201, "{key:?}");
    (id, key.json()["Key"].as_str().expect("Key").to_string())
}

fn grant(app: &TestApp, admin: &Session, safe: &str, user: i64, flags: &[&str]) {
    let body = json!({"PrincipalType": 0, "PrincipalID": user, "PermissionFlags": flags});
    let reply = app.v3(
        admin,
        "PUT",
        &format!("secrets-safe/safes/{safe}/safe-permissions"),
        Some(body),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
}

fn app_with_safe(name: &str) -> (TestApp, Session, String) {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, name);
    (app, admin, safe)
}

#[test]
fn writes_and_reads_versions_and_fragments_through_canonical_uris() {
    let (app, _, _) = app_with_safe("secret");
    let created = write(
        &app,
        "openbao+kv2://secret/app/api",
        json!({"token": "t1", "user": "svc"}),
    );
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.json()["version"], 1);
    assert_eq!(created.json()["uri"], "openbao+kv2://secret/app/api");

    // A fragment write sets one key and keeps the others: a new version.
    let frag = write(&app, "openbao+kv2://secret/app/api#token", json!("t2"));
    assert_eq!(frag.status, 200, "{frag:?}");
    assert_eq!(frag.json()["version"], 2);

    let read = admin_kv(
        &app,
        "GET",
        &format!("?uri={}", enc("openbao+kv2://secret/app/api")),
        None,
    );
    assert_eq!(read.json(), json!({"token": "t2", "user": "svc"}));
    // As the seed writes it, unencoded: the `+` arrives as a space.
    let raw = admin_kv(&app, "GET", "?uri=openbao+kv2://secret/app/api", None);
    assert_eq!(raw.json(), json!({"token": "t2", "user": "svc"}));
    let one = admin_kv(
        &app,
        "GET",
        &format!("?uri={}", enc("edgesafe+kv2://secret/app/api#token")),
        None,
    );
    assert_eq!(one.json(), json!({"value": "t2"}));

    let pinned = value(&app, ADMIN_KEY, "openbao+kv2://secret/app/api?version=1");
    assert_eq!(pinned.status, 400, "a ? in the URI is refused: {pinned:?}");
    let pinned = admin_kv(
        &app,
        "GET",
        &format!(
            "/value?uri={}&version=1",
            enc("openbao+kv2://secret/app/api#token")
        ),
        None,
    );
    assert_eq!(pinned.status, 200, "{pinned:?}");
    assert_eq!(pinned.json()["value"], "t1");
    assert_eq!(pinned.json()["version"], 1);
    let latest = value(&app, ADMIN_KEY, "openbao+kv2://secret/app/api");
    assert_eq!(latest.json()["version"], 2);
    assert_eq!(latest.json()["value"]["token"], "t2");
    let missing = admin_kv(
        &app,
        "GET",
        &format!(
            "/value?uri={}&version=9",
            enc("openbao+kv2://secret/app/api")
        ),
        None,
    );
    assert_eq!(missing.status, 404);
    let no_key = value(&app, ADMIN_KEY, "openbao+kv2://secret/app/api#nope");
    assert_eq!(no_key.status, 404);

    // Check-and-set: 0 only creates, N must be the newest.
    let stale = admin_kv(
        &app,
        "POST",
        "",
        Some(json!({"uri": "openbao+kv2://secret/app/api", "value": {"a": 1}, "cas": 1})),
    );
    assert_eq!(stale.status, 400);
    assert_eq!(
        stale.json()["error"]["message"],
        "options.cas: check-and-set parameter did not match the current version"
    );
    let exists = admin_kv(
        &app,
        "POST",
        "",
        Some(json!({"uri": "openbao+kv2://secret/app/api", "value": {"a": 1}, "cas": 0})),
    );
    assert_eq!(exists.status, 400);
    let fresh = admin_kv(
        &app,
        "POST",
        "",
        Some(json!({"uri": "openbao+kv2://secret/new", "value": "v", "cas": 0})),
    );
    assert_eq!(fresh.status, 201, "{fresh:?}");
    assert_eq!(
        admin_kv(
            &app,
            "GET",
            &format!("?uri={}", enc("openbao+kv2://secret/new")),
            None
        )
        .json(),
        json!({"value": "v"})
    );

    // Rotation is a new version of a secret that exists.
    let rotated = admin_kv(
        &app,
        "POST",
        "/rotate",
        Some(json!({"uri": "openbao+kv2://secret/app/api", "value": {"token": "t3"}})),
    );
    assert_eq!(rotated.json()["version"], 3, "{rotated:?}");
    let nothing = admin_kv(
        &app,
        "POST",
        "/rotate",
        Some(json!({"uri": "openbao+kv2://secret/none", "value": "x"})),
    );
    assert_eq!(nothing.status, 404);

    // Bad input names the part that is wrong, in the KV error shape.
    for (uri, message) in [
        (
            "vault://secret/a",
            "uri: scheme must be openbao+kv2 or edgesafe+kv2",
        ),
        (
            "openbao+kv2://secret/a/../b",
            "uri: path segment 2 must not be . or ..",
        ),
        ("openbao+kv2://secret/a//b", "uri: path segment 2 is empty"),
        ("openbao+kv2://secret", "uri: path is empty: name a secret"),
        (
            "openbao+kv2://nosuchsafe/",
            "uri: path is empty: name a secret",
        ),
    ] {
        let bad = write(&app, uri, json!({"a": "b"}));
        assert_eq!(bad.status, 400, "{uri}: {bad:?}");
        assert_eq!(bad.json()["error"]["message"], message, "{uri}");
    }
    let unknown_mount = write(&app, "openbao+kv2://nosuchsafe/a", json!({"a": "b"}));
    assert_eq!(unknown_mount.status, 404);
    let no_uri = admin_kv(&app, "GET", "/value", None);
    assert_eq!(
        no_uri.json()["error"]["message"],
        "uri: required, a canonical secret URI"
    );
    let no_value = admin_kv(
        &app,
        "POST",
        "",
        Some(json!({"uri": "openbao+kv2://secret/x"})),
    );
    assert_eq!(
        no_value.json()["error"]["message"],
        "value: required, an object or a scalar"
    );
    let list = write(&app, "openbao+kv2://secret/x", json!([1, 2]));
    assert_eq!(list.status, 400);
    let not_json = app.send(
        "POST",
        "/api/secrets",
        &[
            ("Authorization", &format!("Bearer {ADMIN_KEY}")),
            ("Content-Type", "text/plain"),
        ],
        Some(b"x"),
    );
    assert_eq!(not_json.status, 415);
}

#[test]
fn deletes_undeletes_and_destroys_versions_with_the_seed_edge_cases() {
    let (app, _, _) = app_with_safe("secret");
    let uri = "openbao+kv2://secret/db";
    write(&app, uri, json!({"p": "one"}));
    write(&app, uri, json!({"p": "two"}));

    let deleted = admin_kv(&app, "DELETE", &format!("?uri={}", enc(uri)), None);
    assert_eq!(
        deleted.json(),
        json!({"uri": uri, "deleted": true, "destroyed": false})
    );
    let gone = value(&app, ADMIN_KEY, uri);
    assert_eq!(gone.status, 410);
    assert_eq!(gone.json()["error"]["message"], "version: 2 is deleted");
    let older = admin_kv(
        &app,
        "GET",
        &format!("/value?uri={}&version=1", enc(uri)),
        None,
    );
    assert_eq!(
        older.json()["value"]["p"],
        "one",
        "a deleted version leaves the others"
    );

    // Empty versions are refused, not taken as "all" or "none".
    for path in ["/undelete", "/destroy-versions"] {
        let empty = admin_kv(
            &app,
            "POST",
            path,
            Some(json!({"uri": uri, "versions": []})),
        );
        assert_eq!(empty.status, 400, "{path}");
        assert_eq!(
            empty.json()["error"]["message"],
            "versions: no version number provided"
        );
    }
    let undone = admin_kv(
        &app,
        "POST",
        "/undelete",
        Some(json!({"uri": uri, "versions": [2]})),
    );
    assert_eq!(undone.status, 200, "{undone:?}");
    assert_eq!(value(&app, ADMIN_KEY, uri).json()["value"]["p"], "two");

    let destroyed = admin_kv(
        &app,
        "POST",
        "/destroy-versions",
        Some(json!({"uri": uri, "versions": [1]})),
    );
    assert_eq!(destroyed.status, 200);
    let pinned = admin_kv(
        &app,
        "GET",
        &format!("/value?uri={}&version=1", enc(uri)),
        None,
    );
    assert_eq!(pinned.status, 410);
    assert_eq!(pinned.json()["error"]["message"], "version: 1 is destroyed");
    // Destroyed is erased: the sealed value is gone, not only flagged.
    let secret_id = admin_kv(
        &app,
        "GET",
        &format!("/metadata/detail?uri={}", enc(uri)),
        None,
    )
    .json()["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    let sealed = |v: i64| {
        app.count(
            "SELECT count(*) FROM vault_sealed WHERE scope = ?1",
            [format!("secret/{secret_id}/v/{v}")],
        )
    };
    assert_eq!((sealed(1), sealed(2)), (0, 1));
    let undelete_destroyed = admin_kv(
        &app,
        "POST",
        "/undelete",
        Some(json!({"uri": uri, "versions": [1]})),
    );
    assert_eq!(undelete_destroyed.status, 200);
    assert_eq!(
        admin_kv(
            &app,
            "GET",
            &format!("/value?uri={}&version=1", enc(uri)),
            None
        )
        .status,
        410
    );

    // The last value is never destroyed: v3 and checkouts read it.
    let last = admin_kv(
        &app,
        "POST",
        "/destroy-versions",
        Some(json!({"uri": uri, "versions": [2]})),
    );
    assert_eq!(last.status, 409, "{last:?}");
    assert_eq!(sealed(2), 1);
    let versions = admin_kv(&app, "GET", &format!("/versions?uri={}", enc(uri)), None).json();
    assert_eq!(versions["current_version"], 2);
    assert_eq!(versions["versions"][0]["destroyed"], true);
    assert_eq!(versions["versions"][1]["deleted"], false);

    let all = admin_kv(
        &app,
        "DELETE",
        &format!("?uri={}&destroy=true", enc(uri)),
        None,
    );
    assert_eq!(all.json()["destroyed"], true);
    assert_eq!(value(&app, ADMIN_KEY, uri).status, 404);
    assert_eq!(sealed(2), 0);
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE id = ?1", [&secret_id]),
        0
    );
}

#[test]
fn metadata_owner_keys_listing_and_search_traverse_prefixes() {
    let (app, admin, _) = app_with_safe("secret");
    app.create_safe(&admin, "other");
    for uri in [
        "openbao+kv2://secret/app/db",
        "openbao+kv2://secret/app/deep/db-replica",
        "openbao+kv2://secret/web",
        "openbao+kv2://other/db",
    ] {
        assert_eq!(
            write(&app, uri, json!({"k": "v", "z": "w"})).status,
            201,
            "{uri}"
        );
    }
    let detail = admin_kv(
        &app,
        "GET",
        &format!(
            "/metadata/detail?uri={}",
            enc("openbao+kv2://secret/app/db")
        ),
        None,
    )
    .json();
    assert_eq!(detail["created_by"], "user:1");
    assert_eq!(detail["created_by_name"], "admin");
    assert_eq!(detail["owner"], "user:1");
    let created_at = detail["created_at"].clone();
    let owner = admin_kv(
        &app,
        "POST",
        "/metadata/owner",
        Some(json!({"uri": "openbao+kv2://secret/app/db", "owner": "team-db"})),
    );
    assert_eq!(owner.status, 200, "{owner:?}");
    write(&app, "openbao+kv2://secret/app/db", json!({"k": "v2"}));
    let detail = admin_kv(
        &app,
        "GET",
        &format!(
            "/metadata/detail?uri={}",
            enc("openbao+kv2://secret/app/db")
        ),
        None,
    )
    .json();
    assert_eq!(
        (detail["owner"].clone(), detail["created_by"].clone()),
        (json!("team-db"), json!("user:1"))
    );
    assert_eq!(detail["created_at"], created_at, "created_at is immutable");
    assert_eq!(detail["current_version"], 2);
    let bad_owner = admin_kv(
        &app,
        "POST",
        "/metadata/owner",
        Some(json!({"uri": "openbao+kv2://secret/app/db#k", "owner": "x"})),
    );
    assert_eq!(bad_owner.status, 400);

    let keys = admin_kv(
        &app,
        "GET",
        &format!("/keys?uri={}", enc("openbao+kv2://secret/web")),
        None,
    )
    .json();
    assert_eq!(keys["keys"], json!(["k", "z"]));

    // Listing by prefix walks every folder below it, paged.
    let listed = admin_kv(
        &app,
        "GET",
        &format!("/metadata?prefix={}", enc("openbao+kv2://secret/app/")),
        None,
    )
    .json();
    let uris: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "openbao+kv2://secret/app/db",
            "openbao+kv2://secret/app/deep/db-replica"
        ]
    );
    assert_eq!(listed["limit"], 100, "the default page");
    let paged = admin_kv(
        &app,
        "GET",
        &format!(
            "/metadata?prefix={}&limit=1&offset=1",
            enc("openbao+kv2://secret")
        ),
        None,
    )
    .json();
    assert_eq!(paged["total"], 3);
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    let nowhere = admin_kv(
        &app,
        "GET",
        &format!("/metadata?prefix={}", enc("openbao+kv2://secret/nope/")),
        None,
    );
    assert_eq!(nowhere.status, 404);
    let bad_limit = admin_kv(
        &app,
        "GET",
        &format!("/metadata?prefix={}&limit=0", enc("openbao+kv2://secret")),
        None,
    );
    assert_eq!(
        bad_limit.json()["error"]["message"],
        "limit: must be an integer from 1 to 1000"
    );

    let search = admin_kv(&app, "GET", "/search?q=DB", None).json();
    let found: Vec<&str> = search["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [
            "openbao+kv2://other/db",
            "openbao+kv2://secret/app/db",
            "openbao+kv2://secret/app/deep/db-replica"
        ]
    );
    let below = admin_kv(
        &app,
        "GET",
        &format!(
            "/search?q=db&prefix={}",
            enc("openbao+kv2://secret/app/deep")
        ),
        None,
    )
    .json();
    assert_eq!(below["total"], 1);
    assert_eq!(below["items"][0]["name"], "db-replica");
    let page = admin_kv(&app, "GET", "/search?q=db&limit=2&offset=2", None).json();
    assert_eq!(
        (
            page["total"].clone(),
            page["items"].as_array().unwrap().len()
        ),
        (json!(3), 1)
    );
}

#[test]
fn bulk_answers_every_item_on_its_own() {
    let (app, _, _) = app_with_safe("secret");
    write(&app, "openbao+kv2://secret/a", json!({"v": 1}));
    let reply = admin_kv(
        &app,
        "POST",
        "/bulk",
        Some(json!({"operations": [
            {"op": "set", "uri": "openbao+kv2://secret/b", "value": {"v": 2}},
            {"op": "set", "uri": "openbao+kv2://secret/../x", "value": 1},
            {"op": "delete", "uri": "openbao+kv2://secret/missing"},
            {"op": "rotate", "uri": "openbao+kv2://secret/a", "value": {"v": 3}},
            {"op": "undelete", "uri": "openbao+kv2://secret/a", "versions": []},
            {"op": "explode", "uri": "openbao+kv2://secret/a"},
            {"op": "delete", "uri": "openbao+kv2://secret/b"},
            "not an object",
        ]})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    let statuses: Vec<i64> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 400, 404, 200, 400, 400, 200, 400]);
    assert_eq!(
        (body["succeeded"].clone(), body["failed"].clone()),
        (json!(3), json!(5))
    );
    assert_eq!(body["results"][3]["version"], 2);
    assert_eq!(
        body["results"][1]["error"]["message"],
        "uri: path segment 1 must not be . or .."
    );
    assert_eq!(
        value(&app, ADMIN_KEY, "openbao+kv2://secret/a").json()["value"]["v"],
        3
    );
    assert_eq!(
        value(&app, ADMIN_KEY, "openbao+kv2://secret/b").status,
        410,
        "set then deleted"
    );
    let too_many = admin_kv(
        &app,
        "POST",
        "/bulk",
        Some(json!({"operations": vec![json!({}); 101]})),
    );
    assert_eq!(too_many.status, 400);
}

#[test]
fn copy_and_move_are_checked_on_both_ends() {
    let (app, admin, a) = app_with_safe("a");
    let b = app.create_safe(&admin, "b");
    write(&app, "openbao+kv2://a/src", json!({"p": "s"}));
    let (bob, bob_key) = user_key(&app, &admin, "bob", 2, &[]);
    grant(&app, &admin, &a, bob, &["Read"]);
    let copy = |key: &str, path: &str, to: &str| {
        kv(
            &app,
            key,
            "POST",
            path,
            Some(json!({"from": "openbao+kv2://a/src", "to": to})),
        )
    };
    // Read on the source, nothing on the destination: it does not exist for him.
    assert_eq!(copy(&bob_key, "/copy", "openbao+kv2://b/dst").status, 404);
    grant(&app, &admin, &b, bob, &["Read"]);
    assert_eq!(
        copy(&bob_key, "/copy", "openbao+kv2://b/dst").status,
        403,
        "no Create on b"
    );
    grant(&app, &admin, &b, bob, &["Read", "Create"]);
    assert_eq!(
        copy(&bob_key, "/move", "openbao+kv2://b/dst").status,
        403,
        "no Delete on a"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE title = 'dst'", []),
        0,
        "a refused move writes nothing"
    );
    let copied = copy(&bob_key, "/copy", "openbao+kv2://b/dst");
    assert_eq!(copied.status, 200, "{copied:?}");
    assert_eq!(
        value(&app, &bob_key, "openbao+kv2://b/dst").json()["value"]["p"],
        "s"
    );
    grant(&app, &admin, &a, bob, &["Read", "Delete"]);
    let moved = copy(&bob_key, "/move", "openbao+kv2://b/moved");
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_eq!(value(&app, &bob_key, "openbao+kv2://a/src").status, 404);
    assert_eq!(
        value(&app, &bob_key, "openbao+kv2://b/moved").json()["value"]["p"],
        "s"
    );
    let same = kv(
        &app,
        ADMIN_KEY,
        "POST",
        "/copy",
        Some(json!({"from": "openbao+kv2://b/dst", "to": "openbao+kv2://b/DST"})),
    );
    assert_eq!(same.status, 400);
}

#[test]
fn grants_and_scopes_decide_every_purpose_and_refusals_are_audited() {
    let (app, admin, safe) = app_with_safe("secret");
    write(&app, "openbao+kv2://secret/db", json!({"p": "hunter2"}));
    let uri = "openbao+kv2://secret/db";

    let anonymous = app.send(
        "GET",
        &format!("/api/secrets/value?uri={}", enc(uri)),
        &[],
        None,
    );
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));

    let (_, stranger) = user_key(&app, &admin, "stranger", 2, &[]);
    assert_eq!(
        value(&app, &stranger, uri).status,
        404,
        "no grant: it does not exist for him"
    );
    assert_eq!(
        kv(
            &app,
            &stranger,
            "POST",
            "",
            Some(json!({"uri": uri, "value": "x"}))
        )
        .status,
        404
    );

    let (reader, reader_key) = user_key(&app, &admin, "reader", 2, &[]);
    grant(&app, &admin, &safe, reader, &["Read"]);
    assert_eq!(
        value(&app, &reader_key, uri).json()["value"]["p"],
        "hunter2"
    );
    let refused = kv(
        &app,
        &reader_key,
        "POST",
        "",
        Some(json!({"uri": uri, "value": "x"})),
    );
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "forbidden");
    let denials = app.count(
        "SELECT count(*) FROM audit_events WHERE actor = ?1 AND action = 'kv.write' AND decision = 'deny'
            AND purpose = 'write' AND target = ?2 AND detail LIKE '%decision_id=%'",
        [format!("user:{reader}"), uri.to_string()],
    );
    assert_eq!(denials, 1);

    // Token scopes: a read-only key reads and nothing else; destroy needs its own.
    let (ro, read_only) = user_key(&app, &admin, "ro", 2, &["secrets.read"]);
    grant(
        &app,
        &admin,
        &safe,
        ro,
        &["Read", "Create", "Update", "Delete"],
    );
    assert_eq!(value(&app, &read_only, uri).status, 200);
    assert_eq!(
        kv(
            &app,
            &read_only,
            "POST",
            "",
            Some(json!({"uri": uri, "value": "x"}))
        )
        .status,
        403
    );
    let (del, deleter) = user_key(&app, &admin, "del", 2, &["secrets.delete"]);
    grant(&app, &admin, &safe, del, &["Read", "Delete"]);
    let destroy = kv(
        &app,
        &deleter,
        "DELETE",
        &format!("?uri={}&destroy=true", enc(uri)),
        None,
    );
    assert_eq!(destroy.status, 403, "destroy needs secrets.destroy");
    let bulk = kv(
        &app,
        &read_only,
        "POST",
        "/bulk",
        Some(json!({"operations": [{"op": "set", "uri": uri, "value": 1}]})),
    );
    assert_eq!(bulk.json()["results"][0]["status"], 403);
    let audit = kv(&app, &reader_key, "GET", "/audit", None);
    assert_eq!(audit.status, 403, "the audit list is for administrators");

    // The audit trail names subject, purpose, effect, resource and decision, never the value.
    let trail = admin_kv(&app, "GET", "/audit?limit=1000", None).json();
    let read = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "kv.read")
        .expect("a read event")
        .clone();
    assert_eq!(read["purpose"], "read");
    assert_eq!(read["effect"], "allow");
    assert_eq!(read["resource_ref"], uri);
    assert!(
        read["decision_id"].as_str().is_some_and(|d| d.len() == 36),
        "{read}"
    );
    assert_eq!(app.count("SELECT count(*) FROM audit_events WHERE detail LIKE '%hunter2%' OR target LIKE '%hunter2%'", []), 0);
}

#[test]
fn scopes_can_be_turned_off_but_grants_still_hold() {
    let app = TestApp::start_with(&[("SPIN_VARIABLE_SECRETS_ENFORCE_SCOPES", "false")]);
    let admin = app.admin();
    let safe = app.create_safe(&admin, "secret");
    let (ro, read_only) = user_key(&app, &admin, "ro", 2, &["secrets.read"]);
    let uri = "openbao+kv2://secret/x";
    assert_eq!(
        kv(
            &app,
            &read_only,
            "POST",
            "",
            Some(json!({"uri": uri, "value": "v"}))
        )
        .status,
        404,
        "no grant yet"
    );
    grant(&app, &admin, &safe, ro, &["Read", "Create"]);
    assert_eq!(
        kv(
            &app,
            &read_only,
            "POST",
            "",
            Some(json!({"uri": uri, "value": "v"}))
        )
        .status,
        201
    );
    // Administration keeps its scope.
    assert_eq!(kv(&app, &read_only, "GET", "/audit", None).status, 403);
}

#[test]
fn the_same_secret_is_served_by_kv_vault_and_v3() {
    let (app, admin, safe) = app_with_safe("secret");
    let vault = |method: &str, path: &str, body: Option<Value>| {
        app.send_json(
            method,
            &format!("/v1/secret/{path}"),
            ("X-Vault-Token", ADMIN_KEY),
            body,
        )
    };
    // Written through /api/secrets: read through /v1/ and v3.
    write(
        &app,
        "openbao+kv2://secret/team/api",
        json!({"token": "abc"}),
    );
    let through_vault = vault("GET", "data/team/api", None);
    assert_eq!(
        through_vault.json()["data"]["data"],
        json!({"token": "abc"})
    );
    let listed = app
        .v3(&admin, "GET", "secrets-safe/secrets?Title=api", None)
        .json();
    let id = listed[0]["Id"]
        .as_str()
        .expect("the KV secret is a v3 secret")
        .to_string();
    let text = app
        .v3(
            &admin,
            "GET",
            &format!("secrets-safe/secrets/{id}/text"),
            None,
        )
        .json();
    assert_eq!(
        serde_json::from_str::<Value>(text["Text"].as_str().unwrap()).unwrap(),
        json!({"token": "abc"})
    );

    // And checked out through PAM v2, as any secret.
    let checkout = app.send_json(
        "POST",
        &format!("/api/v2/secret/{id}/checkout"),
        ("Authorization", ADMIN_KEY),
        None,
    );
    assert_eq!(checkout.status, 200, "{checkout:?}");
    assert_eq!(
        serde_json::from_str::<Value>(checkout.json()["value"].as_str().unwrap()).unwrap(),
        json!({"token": "abc"})
    );

    // Written through /v1/: read through /api/secrets.
    let put = vault(
        "POST",
        "data/team/api",
        Some(json!({"data": {"token": "def"}})),
    );
    assert_eq!(put.json()["data"]["version"], 2);
    assert_eq!(
        value(&app, ADMIN_KEY, "openbao+kv2://secret/team/api").json()["value"]["token"],
        "def"
    );

    // Written through v3: a text and a credential, read through /api/secrets and /v1/.
    let text_id = app.create_text_secret(&admin, &safe, "note", "plain text");
    let _ = text_id;
    assert_eq!(
        value(&app, ADMIN_KEY, "openbao+kv2://secret/note").json()["value"],
        json!({"value": "plain text"})
    );
    let cred = app.v3(
        &admin,
        "POST",
        &format!("secrets-safe/folders/{safe}/secrets"),
        Some(json!({"Title": "login", "Username": "svc", "Password": "pw1"})),
    );
    assert_eq!(cred.status, 201, "{cred:?}");
    let cred_id = cred.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(
        vault("GET", "data/login", None).json()["data"]["data"],
        json!({"username": "svc", "password": "pw1"})
    );
    // A KV write of a credential keeps it a credential, which v3 then serves.
    let kv_write = write(
        &app,
        "openbao+kv2://secret/login",
        json!({"username": "svc2", "password": "pw2"}),
    );
    assert_eq!(kv_write.status, 200, "{kv_write:?}");
    let v3 = app
        .v3(
            &admin,
            "GET",
            &format!("secrets-safe/secrets/{cred_id}"),
            None,
        )
        .json();
    assert_eq!(
        (v3["Username"].clone(), v3["Password"].clone()),
        (json!("svc2"), json!("pw2"))
    );
    let wrong = write(&app, "openbao+kv2://secret/login", json!({"other": "x"}));
    assert_eq!(
        wrong.json()["error"]["message"],
        "data: a credential secret holds only username and password"
    );
}

#[test]
fn events_list_and_stream_changes_without_values() {
    let (app, admin, _) = app_with_safe("secret");
    app.create_safe(&admin, "private");
    write(&app, "openbao+kv2://secret/a", json!({"v": "s3cr3t"}));
    write(&app, "openbao+kv2://secret/a", json!({"v": "s3cr3t2"}));
    write(&app, "openbao+kv2://private/b", json!({"v": "x"}));
    admin_kv(
        &app,
        "DELETE",
        &format!("?uri={}", enc("openbao+kv2://secret/a")),
        None,
    );
    let list = admin_kv(&app, "GET", "/events", None).json();
    let ops: Vec<&str> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["write", "write", "write", "delete"]);
    assert!(!list.to_string().contains("s3cr3t"));
    let after = list["events"][1]["seq"].as_i64().unwrap();
    let rest = admin_kv(&app, "GET", &format!("/events?after={after}"), None).json();
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);

    // A user sees the events of the safes he reads only.
    let (user, key) = user_key(&app, &admin, "u", 1, &[]);
    let safe = app.v3(&admin, "GET", "secrets-safe/safes", None).json();
    let secret_safe = safe
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Name"] == "secret")
        .unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    grant(&app, &admin, &secret_safe, user, &["Read"]);
    let mine = kv(&app, &key, "GET", "/events", None).json();
    assert_eq!(mine["events"].as_array().unwrap().len(), 3);

    let stream = app.send(
        "GET",
        "/api/secrets/events",
        &[
            ("Authorization", &format!("Bearer {ADMIN_KEY}")),
            ("Accept", "text/event-stream"),
        ],
        None,
    );
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let text = stream.text();
    assert_eq!(
        text.matches("\nevent: ").count() + usize::from(text.starts_with("event: ")),
        4,
        "{text}"
    );
    assert!(text.starts_with("id: "), "{text}");
    assert!(text.contains("event: delete\ndata: {"), "{text}");
}

#[test]
fn a_caller_over_the_request_rate_gets_429_with_retry_after() {
    let app = TestApp::start_with(&[("SPIN_VARIABLE_SECRETS_API_RATE_LIMIT", "5")]);
    let admin = app.admin();
    app.create_safe(&admin, "secret");
    // 12 requests span at most two minutes, so one of them holds more than 5.
    let replies: Vec<Reply> = (0..12)
        .map(|_| admin_kv(&app, "GET", "/search?q=x", None))
        .collect();
    let limited = replies.iter().find(|r| r.status == 429).expect("a 429");
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 429));
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(limited.json()["error"]["code"], "too_many_requests");
}

#[test]
fn concurrent_writers_each_get_a_version_and_one_cas_wins() {
    let (app, _, _) = app_with_safe("secret");
    let uri = "openbao+kv2://secret/race/new";
    let base = app.base();
    let write_from_thread = |body: Value| {
        let base = base.clone();
        std::thread::spawn(move || {
            let auth = format!("Bearer {ADMIN_KEY}");
            let headers = [
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ];
            edgesafe_tests::send(
                &base,
                "POST",
                "/api/secrets",
                &headers,
                Some(body.to_string().as_bytes()),
            )
        })
    };
    // Six writers of a secret that does not exist yet (nor its folder).
    let writers: Vec<_> = (0..6)
        .map(|i| write_from_thread(json!({"uri": uri, "value": {"i": i}})))
        .collect();
    let mut versions: Vec<i64> = writers
        .into_iter()
        .map(|w| {
            let reply = w.join().unwrap();
            assert!(reply.status == 200 || reply.status == 201, "{reply:?}");
            reply.json()["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE title = 'new'", []),
        1
    );
    // Four writers with the same check-and-set: exactly one commits.
    let racers: Vec<_> = (0..4)
        .map(|i| write_from_thread(json!({"uri": uri, "value": {"c": i}, "cas": 6})))
        .collect();
    let statuses: Vec<u16> = racers
        .into_iter()
        .map(|r| r.join().unwrap().status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    let history = admin_kv(&app, "GET", &format!("/versions?uri={}", enc(uri)), None).json();
    assert_eq!(
        history["current_version"], 7,
        "the losers left no version behind"
    );
}

#[test]
fn vault_settings_require_cas_and_delete_old_versions_after_their_time() {
    let (app, _, _) = app_with_safe("secret");
    let vault = |method: &str, path: &str, body: Option<Value>| {
        app.send_json(
            method,
            &format!("/v1/secret/{path}"),
            ("X-Vault-Token", ADMIN_KEY),
            body,
        )
    };
    assert_eq!(
        vault("POST", "data/s", Some(json!({"data": {"v": "1"}}))).status,
        200
    );
    let settings = json!({"cas_required": true, "delete_version_after": "1m30s"});
    assert_eq!(vault("POST", "metadata/s", Some(settings)).status, 204);
    let meta = vault("GET", "metadata/s", None).json();
    assert_eq!(meta["data"]["delete_version_after"], "1m30s");
    assert_eq!(meta["data"]["cas_required"], true);
    let no_cas = vault("POST", "data/s", Some(json!({"data": {"v": "2"}})));
    assert_eq!(no_cas.status, 400);
    assert_eq!(
        no_cas.json(),
        json!({"errors": ["options.cas: check-and-set parameter required for this call"]})
    );
    assert_eq!(
        vault(
            "POST",
            "data/s",
            Some(json!({"data": {"v": "2"}, "options": {"cas": 1}}))
        )
        .status,
        200
    );
    let bad = vault(
        "POST",
        "metadata/s",
        Some(json!({"delete_version_after": "soon"})),
    );
    assert_eq!(bad.status, 400);

    // Versions count as deleted once older than delete_version_after; no job runs.
    assert_eq!(vault("GET", "data/s", None).status, 200);
    app.advance_clock(std::time::Duration::from_secs(91));
    let expired = vault("GET", "data/s", None);
    assert_eq!(expired.status, 404, "{expired:?}");
    assert_ne!(expired.json()["data"]["metadata"]["deletion_time"], "");
    assert_eq!(value(&app, ADMIN_KEY, "openbao+kv2://secret/s").status, 410);
    // A new version lives its own 90 seconds.
    assert_eq!(
        vault(
            "POST",
            "data/s",
            Some(json!({"data": {"v": "3"}, "options": {"cas": 2}}))
        )
        .status,
        200
    );
    assert_eq!(
        vault("GET", "data/s", None).json()["data"]["data"],
        json!({"v": "3"})
    );
}

#[test]
fn a_personal_folder_is_no_mount() {
    let (app, _admin, _safe) = app_with_safe("team");
    // Every user has a root folder named `Personal Folder`; neither KV nor Vault treats
    // it as a mount, for its owner or anyone else.
    let vault = |method: &str, path: &str, body: Option<Value>| {
        app.send_json(method, path, ("X-Vault-Token", ADMIN_KEY), body)
    };
    let mounts = vault("GET", "/v1/sys/mounts", None);
    assert_eq!(mounts.status, 200, "{mounts:?}");
    let names: Vec<String> = mounts.json()["data"]
        .as_object()
        .expect("mounts")
        .keys()
        .cloned()
        .collect();
    assert!(names.contains(&"team/".to_string()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("Personal")),
        "{names:?}"
    );
    let write = vault(
        "POST",
        "/v1/Personal%20Folder/data/x",
        Some(json!({"data": {"k": "v"}})),
    );
    assert!(
        write.status == 404 || write.status == 400,
        "a personal folder takes no KV write: {write:?}"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secrets WHERE title = 'x'",
            rusqlite::params![]
        ),
        0
    );
}
