//! Secrets Safe secrets end to end: credential, text and file secrets, their value
//! history, lists, shares, moves and favourites; every route's wire shape in API
//! versions 3.0, 3.1 and 3.2, every limit, and who may do what.

use edgesafe_tests::{now, utc, Reply, Session, TestApp, V3};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const SECRETS: &str = "secrets-safe/secrets";
const UNKNOWN_ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
const FIVE_MB: usize = 5 * 1024 * 1024;
/// SHA-256 of `abc`, upper-case hex (FIPS 180-2's example).
const ABC_SHA256: &str = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";

// ---------------------------------------------------------------- paths and bodies

fn folder_secrets(folder: &str) -> String {
    format!("secrets-safe/folders/{folder}/secrets")
}

fn secret_path(id: &str) -> String {
    format!("{SECRETS}/{id}")
}

fn credential(title: &str) -> Value {
    json!({"Title": title, "Username": "svc", "Password": "hunter2-value"})
}

fn text_body(title: &str, text: &str) -> Value {
    json!({"Title": title, "Text": text})
}

fn id_of(reply: &Reply) -> String {
    reply.json()["Id"].as_str().expect("Id").to_owned()
}

/// Creates a credential in `folder` and returns its id.
fn create_credential(app: &TestApp, s: &Session, folder: &str, title: &str) -> String {
    let reply = app.v3(s, "POST", &folder_secrets(folder), Some(credential(title)));
    assert_eq!(reply.status, 201, "{reply:?}");
    id_of(&reply)
}

/// One part of a multipart body.
struct Part<'a> {
    name: &'a str,
    file_name: Option<&'a str>,
    content_type: Option<&'a str>,
    bytes: &'a [u8],
}

const BOUNDARY: &str = "----edgesafe-test-7d1f0a";

fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The body the BeyondTrust library sends: `secretmetadata` JSON plus `files`.
fn file_upload(metadata: &Value, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let metadata = metadata.to_string();
    multipart(&[
        Part {
            name: "secretmetadata",
            file_name: None,
            content_type: Some("application/json"),
            bytes: metadata.as_bytes(),
        },
        Part {
            name: "files",
            file_name: Some(file_name),
            content_type: Some("application/octet-stream"),
            bytes,
        },
    ])
}

fn send_multipart(app: &TestApp, s: &Session, method: &str, path: &str, body: &[u8]) -> Reply {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    app.v3_raw(s, method, path, &content_type, body)
}

fn post_file(app: &TestApp, s: &Session, folder: &str, title: &str, bytes: &[u8]) -> Reply {
    let metadata = json!({"Title": title, "FileName": "notes.bin"});
    let path = format!("{}/file", folder_secrets(folder));
    send_multipart(
        app,
        s,
        "POST",
        &path,
        &file_upload(&metadata, "notes.bin", bytes),
    )
}

/// `PUT .../safe-permissions` as the safe's manager; principal is (0 user | 1 group, id).
fn grant(
    app: &TestApp,
    manager: &Session,
    safe: &str,
    principal: (i64, i64),
    flags: Value,
    expires: Option<&str>,
) {
    let mut body = json!({"PrincipalType": principal.0, "PrincipalID": principal.1,
        "PermissionFlags": flags});
    if let Some(expires) = expires {
        body["ExpiresOn"] = json!(expires);
    }
    let path = format!("secrets-safe/safes/{safe}/safe-permissions");
    let reply = app.v3(manager, "PUT", &path, Some(body));
    assert_eq!(reply.status, 204, "grant: {reply:?}");
}

fn user(s: &Session) -> (i64, i64) {
    (0, s.user_id)
}

/// Sealed values of a secret in the key-value store.
fn sealed_count(app: &TestApp, id: &str) -> i64 {
    let kv = rusqlite::Connection::open(app.state_dir().join("sqlite_key_value.db")).expect("kv");
    kv.busy_timeout(Duration::from_secs(10)).expect("timeout");
    kv.query_row(
        "SELECT count(*) FROM spin_key_value WHERE key LIKE ?1",
        [format!("sealed/secret/{id}/v/%")],
        |r| r.get(0),
    )
    .expect("kv count")
}

fn read_audits(app: &TestApp, id: &str) -> i64 {
    app.count(
        "SELECT count(*) FROM audit_events WHERE action = 'secret.read' AND decision = 'allow' AND target = ?1",
        [&format!("secret:{id}")],
    )
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

const COMMON_KEYS: &[&str] = &[
    "Id",
    "Title",
    "Description",
    "Username",
    "Password",
    "Text",
    "SecretType",
    "FolderId",
    "Folder",
    "FolderPath",
    "CreatedOn",
    "CreatedBy",
    "ModifiedOn",
    "ModifiedBy",
    "Owners",
    "Notes",
    "Urls",
    "FileName",
    "FileHash",
    "IsFavorite",
];

fn keys_v30() -> Vec<String> {
    let mut k = COMMON_KEYS.to_vec();
    k.extend(["OwnerId", "Owner", "OwnerType"]);
    sorted(&k)
}

fn keys_v31() -> Vec<String> {
    sorted(COMMON_KEYS)
}

fn keys_v32() -> Vec<String> {
    let mut k = COMMON_KEYS.to_vec();
    k.push("SecretValueModifiedOn");
    sorted(&k)
}

fn is_utc(value: &Value) -> bool {
    let s = value.as_str().unwrap_or_default();
    s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

fn list(app: &TestApp, s: &Session, query: &str) -> Vec<Value> {
    let reply = app.v3(s, "GET", &format!("{SECRETS}?{query}"), None);
    assert_eq!(reply.status, 200, "{query}: {reply:?}");
    reply.json().as_array().cloned().expect("a list")
}

fn titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["Title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn start() -> (TestApp, Session, String) {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Ops");
    (app, admin, safe)
}

// ---------------------------------------------------------------- create: credential

#[test]
fn post_credential_secret_answers_201_in_the_3_0_shape() {
    let (app, admin, safe) = start();
    let body = json!({
        "Title": "db", "Description": "the database", "Username": "svc",
        "Password": "hunter2-value", "Notes": "line one\nline two",
        "Urls": [{"Url": "https://db.example"}],
    });
    let reply = app.v3(&admin, "POST", &folder_secrets(&safe), Some(body));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let got = reply.json();
    assert_eq!(keys(&got), keys_v30());
    let id = got["Id"].as_str().expect("Id").to_owned();
    let url_id = got["Urls"][0]["Id"].clone();
    assert!(
        is_utc(&got["CreatedOn"]) && is_utc(&got["ModifiedOn"]),
        "{got}"
    );
    let expected = json!({
        "Id": id, "Title": "db", "Description": "the database", "Username": "svc",
        "Password": "hunter2-value", "Text": null, "SecretType": "Credential",
        "FolderId": safe, "Folder": "Ops", "FolderPath": "Ops",
        "CreatedOn": got["CreatedOn"], "CreatedBy": "admin",
        "ModifiedOn": got["ModifiedOn"], "ModifiedBy": "admin",
        "OwnerId": admin.user_id, "Owner": "admin", "OwnerType": "User",
        "Owners": [{"OwnerId": admin.user_id, "Owner": "admin", "Email": ""}],
        "Notes": "line one\nline two",
        "Urls": [{"Id": url_id, "CredentialId": id, "Url": "https://db.example"}],
        "FileName": null, "FileHash": null, "IsFavorite": false,
    });
    assert_eq!(got, expected);
    // One version, sealed; the row holds no value.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id]
        ),
        1
    );
    assert_eq!(sealed_count(&app, &id), 1);
}

#[test]
fn the_version_parameter_picks_the_shape() {
    let (app, admin, safe) = start();
    let group = app.group_with_feature(&admin, "dbas", 1, &[]);
    let body = json!({"Title": "v31", "Username": "svc", "Password": "pw-31",
        "Owners": [{"UserId": admin.user_id, "GroupId": group, "Name": "ignored"}]});
    let reply = app.v3(
        &admin,
        "POST",
        &format!("{}?version=3.1", folder_secrets(&safe)),
        Some(body),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let got = reply.json();
    // A 3.1 create answer also has the key the reference shows for its kind.
    let mut created_keys = keys_v31();
    created_keys.push("GroupId".to_owned());
    created_keys.sort();
    assert_eq!(keys(&got), created_keys);
    assert_eq!(got["GroupId"], Value::Null, "owned by a user");
    assert_eq!(
        got["Owners"],
        json!([{"GroupId": group, "UserId": admin.user_id, "Name": "admin", "Email": ""}])
    );
    let id = id_of(&reply);

    let v32 = app.v3(
        &admin,
        "GET",
        &format!("{}?version=3.2", secret_path(&id)),
        None,
    );
    assert_eq!(v32.status, 200, "{v32:?}");
    let v32 = v32.json();
    assert_eq!(keys(&v32), keys_v32());
    assert!(is_utc(&v32["SecretValueModifiedOn"]));
    assert_eq!(v32["Password"], "pw-31");

    let v30 = app.v3(
        &admin,
        "GET",
        &format!("{}?version=3.0", secret_path(&id)),
        None,
    );
    let v30 = v30.json();
    assert_eq!(keys(&v30), keys_v30());
    assert_eq!(
        v30["Owners"],
        json!([{"OwnerId": admin.user_id, "Owner": "admin", "Email": ""}])
    );
    assert_eq!(v30["OwnerType"], "User");

    for bad in ["3.4", "3", "2.0", "latest"] {
        let reply = app.v3(
            &admin,
            "GET",
            &format!("{}?version={bad}", secret_path(&id)),
            None,
        );
        assert_eq!(reply.status, 400, "version={bad}: {reply:?}");
        assert_eq!(reply.json()["Code"], "bad_request");
    }
}

#[test]
fn create_answers_from_3_1_carry_the_key_the_reference_shows_for_their_kind() {
    let (app, admin, safe) = start();
    let group = app.group_with_feature(&admin, "dbas", 1, &[admin.user_id]);
    let with_key = |got: &Value, key: &str| {
        let mut want = keys_v31();
        want.push(key.to_owned());
        want.sort();
        assert_eq!(keys(got), want, "{got}");
    };
    for version in ["3.1", "3.2"] {
        let path = |kind: &str| format!("{}{kind}?version={version}", folder_secrets(&safe));
        let body = json!({"Title": format!("grouped {version}"), "Username": "u",
            "Password": "p", "OwnerId": group, "OwnerType": "Group",
            "Owners": [{"GroupId": group}]});
        let reply = app.v3(&admin, "POST", &path(""), Some(body));
        assert_eq!(reply.status, 201, "{reply:?}");
        let got = reply.json();
        assert_eq!(got["GroupId"], group, "{got}");

        let body = text_body(&format!("text {version}"), "v");
        let reply = app.v3(&admin, "POST", &path("/text"), Some(body));
        assert_eq!(reply.status, 201, "{reply:?}");
        let got = reply.json();
        assert_eq!(got["Owner"], "admin", "{got}");
        if version == "3.1" {
            with_key(&got, "Owner");
        }

        let metadata = json!({"Title": format!("file {version}"), "FileName": "a.txt"});
        let reply = send_multipart(
            &app,
            &admin,
            "POST",
            &path("/file"),
            &file_upload(&metadata, "a.txt", b"abc"),
        );
        assert_eq!(reply.status, 201, "{reply:?}");
        let got = reply.json();
        assert_eq!(got["OwnerType"], "User", "{got}");
        if version == "3.1" {
            with_key(&got, "OwnerType");
        }
        // Reads keep the version's shape.
        let id = id_of(&reply);
        let read = app.v3(
            &admin,
            "GET",
            &format!("{}?version=3.1", secret_path(&id)),
            None,
        );
        assert_eq!(keys(&read.json()), keys_v31());
    }
}

#[test]
fn credential_limits_are_enforced() {
    let (app, admin, safe) = start();
    let path = folder_secrets(&safe);
    let post = |body: Value| app.v3(&admin, "POST", &path, Some(body));
    let with = |field: &str, value: Value, title: &str| {
        let mut body = credential(title);
        body[field] = value;
        body
    };
    let x = |n: usize| json!("x".repeat(n));
    let cases: Vec<(&str, usize, usize)> = vec![
        ("Description", 256, 257),
        ("Notes", 4000, 4001),
        ("Username", 1000, 1001),
        ("Password", 256, 257),
    ];
    for (i, (field, ok, too_long)) in cases.into_iter().enumerate() {
        let reply = post(with(field, x(ok), &format!("ok-{i}")));
        assert_eq!(reply.status, 201, "{field} {ok}: {reply:?}");
        let reply = post(with(field, x(too_long), &format!("long-{i}")));
        assert_eq!(reply.status, 400, "{field} {too_long}: {reply:?}");
        let message = reply.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.starts_with(&format!("{field}:")), "{message}");
        assert!(!message.contains("xxxx"), "no value in errors: {message}");
    }
    // Title: 256 fits, 257 does not; required.
    assert_eq!(post(credential(&"t".repeat(256))).status, 201);
    assert_eq!(post(credential(&"u".repeat(257))).status, 400);
    assert_eq!(
        post(json!({"Username": "svc", "Password": "p"})).status,
        400
    );
    assert_eq!(
        post(json!({"Title": " ", "Username": "svc", "Password": "p"})).status,
        400
    );
    // Username and a password (or a rule) are required.
    assert_eq!(post(json!({"Title": "nu", "Password": "p"})).status, 400);
    assert_eq!(post(json!({"Title": "np", "Username": "svc"})).status, 400);
    assert_eq!(
        post(json!({"Title": "ep", "Username": "svc", "Password": ""})).status,
        400
    );
    // URLs: 2048 fits, 2049 does not; an Id must be a GUID.
    let url = |n: usize| format!("https://e.x/{}", "a".repeat(n - 12));
    let reply = post(with("Urls", json!([{"Url": url(2048)}]), "url-ok"));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(
        reply.json()["Urls"][0]["Url"].as_str().map(str::len),
        Some(2048)
    );
    assert_eq!(
        post(with("Urls", json!([{"Url": url(2049)}]), "url-long")).status,
        400
    );
    assert_eq!(
        post(with("Urls", json!([{"Id": "x", "Url": "u"}]), "url-id")).status,
        400
    );
    assert_eq!(post(with("Urls", json!([{}]), "url-none")).status, 400);
    // Control characters are refused in one-line fields.
    assert_eq!(post(credential("a\u{0007}b")).status, 400);
    // Wrong types name the field.
    let reply = post(with("PasswordRuleID", json!("four"), "rule-type"));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["Message"],
        "passwordruleid: has the wrong type or value"
    );
}

#[test]
fn a_password_rule_generates_the_password() {
    let (app, admin, safe) = start();
    let path = folder_secrets(&safe);
    let post = |body: Value| app.v3(&admin, "POST", &path, Some(body));

    let reply = post(json!({"Title": "pin", "Username": "svc", "PasswordRuleID": 4}));
    assert_eq!(reply.status, 201, "{reply:?}");
    let pin = reply.json()["Password"]
        .as_str()
        .expect("a password")
        .to_owned();
    assert_eq!(pin.len(), 8, "{pin}");
    assert!(pin.bytes().all(|b| b.is_ascii_digit()), "{pin}");
    // The generated value is the stored one.
    let got = app.v3(&admin, "GET", &secret_path(&id_of(&reply)), None);
    assert_eq!(got.json()["Password"], json!(pin));

    let reply = post(
        json!({"Title": "default", "Username": "svc", "PasswordRuleID": 1,
        "Password": ""}),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let p = reply.json()["Password"]
        .as_str()
        .expect("a password")
        .to_owned();
    assert_eq!(p.chars().count(), 24);
    assert!(p.bytes().any(|b| b.is_ascii_lowercase()));
    assert!(p.bytes().any(|b| b.is_ascii_uppercase()));
    assert!(p.bytes().any(|b| b.is_ascii_digit()));
    assert!(p.bytes().any(|b| b.is_ascii_punctuation()));

    // A given password wins over the rule, which must still exist.
    let reply = post(
        json!({"Title": "given", "Username": "svc", "PasswordRuleID": 4,
        "Password": "mine-mine"}),
    );
    assert_eq!(reply.json()["Password"], "mine-mine");
    for rule in [99, 0, -1] {
        let reply = post(json!({"Title": format!("r{rule}"), "Username": "svc",
            "PasswordRuleID": rule}));
        assert_eq!(reply.status, 400, "rule {rule}: {reply:?}");
    }
    let reply = post(
        json!({"Title": "r99p", "Username": "svc", "PasswordRuleID": 99,
        "Password": "x"}),
    );
    assert_eq!(reply.status, 400);
}

#[test]
fn titles_are_unique_per_folder_whatever_their_case() {
    let (app, admin, safe) = start();
    let other = app.create_folder(&admin, &safe, "Other");
    create_credential(&app, &admin, &safe, "Shared Name");
    let dup = app.v3(
        &admin,
        "POST",
        &folder_secrets(&safe),
        Some(credential("shared name")),
    );
    assert_eq!(dup.status, 409, "{dup:?}");
    assert_eq!(dup.json()["Code"], "conflict");
    let text = app.v3(
        &admin,
        "POST",
        &format!("{}/text", folder_secrets(&safe)),
        Some(text_body("SHARED NAME", "t")),
    );
    assert_eq!(text.status, 409);
    assert_eq!(
        post_file(&app, &admin, &safe, "Shared name", b"x").status,
        409
    );
    // Another folder may hold the same title.
    create_credential(&app, &admin, &other, "Shared Name");
}

#[test]
fn owners_bind_in_every_client_shape() {
    let (app, admin, safe) = start();
    let bob = app.user_with_feature(&admin, "bob", 1);
    let group = app.group_with_feature(&admin, "owners", 1, &[]);
    let path = folder_secrets(&safe);
    let post = |title: &str, owners: Value| {
        let mut body = credential(title);
        for (k, v) in owners.as_object().expect("object") {
            body[k] = v.clone();
        }
        app.v3(&admin, "POST", &path, Some(body))
    };

    // 3.0: OwnerType User with a list of users.
    let r = post(
        "v30-user",
        json!({"OwnerId": bob.user_id, "OwnerType": "User",
        "Owners": [{"OwnerId": bob.user_id, "Owner": "bob", "Email": "x@y"}]}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let r = r.json();
    assert_eq!(
        (
            r["OwnerId"].clone(),
            r["Owner"].clone(),
            r["OwnerType"].clone()
        ),
        (json!(bob.user_id), json!("bob"), json!("User"))
    );
    assert_eq!(
        r["Owners"],
        json!([{"OwnerId": bob.user_id, "Owner": "bob", "Email": ""}])
    );

    // 3.0: OwnerType Group with the group's id.
    let r = post("v30-group", json!({"OwnerId": group, "OwnerType": "Group"}));
    assert_eq!(r.status, 201, "{r:?}");
    let r = r.json();
    assert_eq!(
        (
            r["OwnerId"].clone(),
            r["Owner"].clone(),
            r["OwnerType"].clone()
        ),
        (json!(group), json!("owners"), json!("Group"))
    );
    assert_eq!(
        r["Owners"],
        json!([{"OwnerId": group, "Owner": "owners", "Email": ""}])
    );

    // 3.1: users and groups in Owners.
    let r = app.v3(
        &admin,
        "POST",
        &format!("{path}?version=3.1"),
        Some(json!({"Title": "v31", "Username": "u", "Password": "p",
            "Owners": [{"UserId": bob.user_id}, {"GroupId": group}]})),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        r.json()["Owners"],
        json!([{"GroupId": null, "UserId": bob.user_id, "Name": "bob", "Email": ""},
               {"GroupId": group, "UserId": null, "Name": "owners", "Email": ""}])
    );

    // bt-cli: OwnerId, OwnerType and Owners with UserId together.
    let r = post(
        "btcli",
        json!({"OwnerId": bob.user_id, "OwnerType": "User",
        "Owners": [{"OwnerId": bob.user_id, "UserId": bob.user_id}]}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.json()["OwnerId"], json!(bob.user_id));

    // Nobody named: the caller owns it.
    let r = post("default", json!({}));
    assert_eq!(r.json()["Owners"][0]["OwnerId"], json!(admin.user_id));

    // Owners that do not exist, or that name nobody, are refused.
    for (i, owners) in [
        json!({"Owners": [{"UserId": 9999}]}),
        json!({"Owners": [{"GroupId": 9999}]}),
        json!({"OwnerId": 9999, "OwnerType": "Group"}),
        json!({"OwnerId": 9999}),
        json!({"OwnerType": "Robot", "OwnerId": bob.user_id}),
        json!({"OwnerType": "User"}),
        json!({"Owners": [{"Name": "nobody"}]}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = post(&format!("bad-{i}"), owners.clone());
        assert_eq!(r.status, 400, "{owners}: {r:?}");
    }
}

// ---------------------------------------------------------------- create: text and file

#[test]
fn text_secrets_carry_their_value_in_text_and_password() {
    let (app, admin, safe) = start();
    let path = format!("{}/text", folder_secrets(&safe));
    let reply = app.v3(
        &admin,
        "POST",
        &path,
        Some(json!({"Title": "note", "Text": "  spaced\nmulti-line  ", "FolderId": safe})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let got = reply.json();
    assert_eq!(keys(&got), keys_v30());
    assert_eq!(got["SecretType"], "Text");
    assert_eq!(got["Text"], "  spaced\nmulti-line  ");
    assert_eq!(got["Password"], got["Text"]);
    let id = id_of(&reply);

    for endpoint in [secret_path(&id), format!("{}/text", secret_path(&id))] {
        let got = app.v3(&admin, "GET", &endpoint, None);
        assert_eq!(got.status, 200, "{endpoint}: {got:?}");
        let got = got.json();
        assert_eq!(got["Text"], "  spaced\nmulti-line  ");
        assert_eq!(got["Password"], "  spaced\nmulti-line  ");
    }
    let v31 = app.v3(
        &admin,
        "GET",
        &format!("{}/text?version=3.1", secret_path(&id)),
        None,
    );
    assert_eq!(keys(&v31.json()), keys_v31());

    // Limits: 4096 fits, 4097 does not; Text is required.
    let post = |body: Value| app.v3(&admin, "POST", &path, Some(body));
    assert_eq!(post(text_body("t4096", &"x".repeat(4096))).status, 201);
    assert_eq!(post(text_body("t4097", &"x".repeat(4097))).status, 400);
    assert_eq!(post(json!({"Title": "none"})).status, 400);
    assert_eq!(post(text_body("empty", "")).status, 400);
    // A FolderId in the body must be the path's.
    let other = app.create_folder(&admin, &safe, "Other");
    let mut body = text_body("elsewhere", "t");
    body["FolderId"] = json!(other);
    assert_eq!(post(body).status, 400);
    let mut body = text_body("malformed", "t");
    body["FolderId"] = json!("not-a-guid");
    let reply = post(body);
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["Message"], "FolderId: must be a GUID");
}

#[test]
fn file_secrets_upload_describe_and_download() {
    let (app, admin, safe) = start();
    let reply = post_file(&app, &admin, &safe, "abc file", b"abc");
    assert_eq!(reply.status, 201, "{reply:?}");
    let got = reply.json();
    assert_eq!(keys(&got), keys_v30());
    assert_eq!(got["SecretType"], "File");
    assert_eq!(got["FileName"], "notes.bin");
    assert_eq!(got["FileHash"], ABC_SHA256);
    assert_eq!(got["Password"], Value::Null);
    let id = id_of(&reply);

    let meta = app.v3(&admin, "GET", &format!("{}/file", secret_path(&id)), None);
    assert_eq!(meta.status, 200, "{meta:?}");
    let meta = meta.json();
    assert_eq!(meta["FileHash"], ABC_SHA256);
    assert_eq!(meta["Password"], Value::Null);
    let v32 = app.v3(
        &admin,
        "GET",
        &format!("{}/file?version=3.2", secret_path(&id)),
        None,
    );
    assert_eq!(keys(&v32.json()), keys_v32());
    // Reading metadata is not reading the value.
    assert_eq!(read_audits(&app, &id), 0);

    let download = app.v3(
        &admin,
        "GET",
        &format!("{}/file/download", secret_path(&id)),
        None,
    );
    assert_eq!(download.status, 200, "{download:?}");
    assert_eq!(download.body, b"abc");
    assert_eq!(
        download.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"notes.bin\"; filename*=UTF-8''notes.bin")
    );
    assert_eq!(download.header("cache-control"), Some("no-store"));
    assert_eq!(read_audits(&app, &id), 1);
}

#[test]
fn file_sizes_run_from_one_byte_to_five_megabytes() {
    let (app, admin, safe) = start();
    assert_eq!(post_file(&app, &admin, &safe, "one", b"1").status, 201);
    let reply = post_file(&app, &admin, &safe, "empty", b"");
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.json()["Message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("files:"));

    let five = vec![b'z'; FIVE_MB];
    let reply = post_file(&app, &admin, &safe, "five", &five);
    assert_eq!(reply.status, 201, "{reply:?}");
    let download = app.v3(
        &admin,
        "GET",
        &format!("{}/file/download", secret_path(&id_of(&reply))),
        None,
    );
    assert_eq!(download.body.len(), FIVE_MB);
    assert!(download.body == five);

    let over = vec![b'z'; FIVE_MB + 1];
    let reply = post_file(&app, &admin, &safe, "over", &over);
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE title = ?1", ["over"]),
        0
    );
}

#[test]
fn file_uploads_are_checked() {
    let (app, admin, safe) = start();
    let path = format!("{}/file", folder_secrets(&safe));
    let send = |body: Vec<u8>| send_multipart(&app, &admin, "POST", &path, &body);

    // Not multipart: 415. No boundary: 400. Garbage: 400.
    let reply = app.v3_raw(&admin, "POST", &path, "application/json", b"{}");
    assert_eq!(reply.status, 415, "{reply:?}");
    let reply = app.v3_raw(&admin, "POST", &path, "multipart/form-data", b"x");
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(send(b"garbage".to_vec()).status, 400);
    // No metadata part, metadata that is not JSON, no file part.
    let file_only = multipart(&[Part {
        name: "files",
        file_name: Some("a.txt"),
        content_type: None,
        bytes: b"a",
    }]);
    let reply = send(file_only);
    assert_eq!(reply.status, 400);
    assert!(reply.json()["Message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("secretmetadata:"));
    assert_eq!(send(file_upload(&json!("x"), "a.txt", b"a")).status, 400);
    let meta_only = multipart(&[Part {
        name: "secretmetadata",
        file_name: None,
        content_type: None,
        bytes: br#"{"Title": "t", "FileName": "a.txt"}"#,
    }]);
    assert_eq!(send(meta_only).status, 400);
    // FileName: the metadata's, else the file part's; 256 fits, 257 and paths do not.
    let reply = send(file_upload(
        &json!({"Title": "fallback"}),
        "from-part.txt",
        b"a",
    ));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["FileName"], "from-part.txt");
    let long = format!("{}.txt", "n".repeat(252));
    let reply = send(file_upload(
        &json!({"Title": "n256", "FileName": long}),
        "x",
        b"a",
    ));
    assert_eq!(reply.status, 201, "{reply:?}");
    let long = format!("{}.txt", "n".repeat(253));
    let reply = send(file_upload(
        &json!({"Title": "n257", "FileName": long}),
        "x",
        b"a",
    ));
    assert_eq!(reply.status, 400);
    let reply = send(file_upload(
        &json!({"Title": "slash", "FileName": "../etc/passwd"}),
        "x",
        b"a",
    ));
    assert_eq!(reply.status, 400);
    // Another name for the file part works when it carries a file name.
    let other_name = multipart(&[
        Part {
            name: "secretmetadata",
            file_name: None,
            content_type: Some("application/json"),
            bytes: br#"{"Title": "other part", "FileName": "o.txt"}"#,
        },
        Part {
            name: "form-data",
            file_name: Some("o.txt"),
            content_type: Some("text/plain"),
            bytes: b"other",
        },
    ]);
    assert_eq!(send(other_name).status, 201);
    // Title and notes limits apply to metadata too.
    let reply = send(file_upload(
        &json!({"Title": "x".repeat(257), "FileName": "a"}),
        "a",
        b"a",
    ));
    assert_eq!(reply.status, 400);
    let reply = send(file_upload(
        &json!({"Title": "notes", "FileName": "a", "Notes": "x".repeat(4001)}),
        "a",
        b"a",
    ));
    assert_eq!(reply.status, 400);
}

#[test]
fn a_quoted_file_name_is_escaped_in_the_download() {
    let (app, admin, safe) = start();
    let metadata = json!({"Title": "odd", "FileName": "we\"ird é.txt"});
    let path = format!("{}/file", folder_secrets(&safe));
    let reply = send_multipart(
        &app,
        &admin,
        "POST",
        &path,
        &file_upload(&metadata, "x", b"odd"),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let download = app.v3(
        &admin,
        "GET",
        &format!("{}/file/download", secret_path(&id_of(&reply))),
        None,
    );
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"we\\\"ird _.txt\"; filename*=UTF-8''we%22ird%20%C3%A9.txt")
    );
}

#[test]
fn kind_specific_endpoints_answer_404_for_another_kind() {
    let (app, admin, safe) = start();
    let cred = create_credential(&app, &admin, &safe, "cred");
    let text = app.create_text_secret(&admin, &safe, "text", "t");
    let file = id_of(&post_file(&app, &admin, &safe, "file", b"f"));
    let get = |path: String| app.v3(&admin, "GET", &path, None).status;
    assert_eq!(get(format!("{}/text", secret_path(&cred))), 404);
    assert_eq!(get(format!("{}/text", secret_path(&file))), 404);
    assert_eq!(get(format!("{}/file", secret_path(&cred))), 404);
    assert_eq!(get(format!("{}/file/download", secret_path(&text))), 404);
    // The generic GET serves every kind.
    for id in [&cred, &text, &file] {
        assert_eq!(get(secret_path(id)), 200);
    }
    let put = app.v3(&admin, "PUT", &secret_path(&text), Some(credential("text")));
    assert_eq!(put.status, 404);
    let put = app.v3(
        &admin,
        "PUT",
        &format!("{}/text", secret_path(&cred)),
        Some(text_body("c", "t")),
    );
    assert_eq!(put.status, 404);
}

// ---------------------------------------------------------------- update

#[test]
fn credential_updates_keep_every_version() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db");
    let before = app
        .v3(
            &admin,
            "GET",
            &format!("{}?version=3.2", secret_path(&id)),
            None,
        )
        .json();
    app.advance_clock(Duration::from_secs(5));

    // The library's update: trailing slash, version, FolderId in the body.
    let body = json!({"Title": "db", "Username": "svc2", "Password": "second-value",
        "FolderId": safe, "Owners": [{"UserId": admin.user_id}]});
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{}/?version=3.2", secret_path(&id)),
        Some(body),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let got = reply.json();
    assert_eq!(keys(&got), keys_v32());
    assert_eq!(got["Password"], "second-value");
    assert_eq!(got["Username"], "svc2");
    assert_eq!(got["CreatedOn"], before["CreatedOn"]);
    assert_ne!(got["ModifiedOn"], before["ModifiedOn"]);
    assert_ne!(
        got["SecretValueModifiedOn"],
        before["SecretValueModifiedOn"]
    );

    let third = app.v3(
        &admin,
        "PUT",
        &secret_path(&id),
        Some(json!({"Title": "db renamed", "Username": "svc2", "PasswordRuleID": 4})),
    );
    assert_eq!(third.status, 200, "{third:?}");
    let pin = third.json()["Password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(pin.len(), 8);

    let versions: Vec<(i64, Option<i64>)> = {
        let conn = app.db();
        let mut stmt = conn
            .prepare("SELECT version, destroyed_at FROM secret_versions WHERE secret_id = ?1 ORDER BY version")
            .expect("prepare");
        let rows = stmt
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert_eq!(versions, vec![(1, None), (2, None), (3, None)]);
    assert_eq!(
        app.count("SELECT current_version FROM secrets WHERE id = ?1", [&id]),
        3
    );
    assert_eq!(sealed_count(&app, &id), 3);
    let got = app.v3(&admin, "GET", &secret_path(&id), None).json();
    assert_eq!(got["Password"], json!(pin));
    assert_eq!(got["Title"], "db renamed");

    // The same value again is no new version; fields not sent keep their values.
    let same = app.v3(
        &admin,
        "PUT",
        &secret_path(&id),
        Some(json!({"Title": "db renamed", "Username": "svc2", "Password": pin})),
    );
    assert_eq!(same.status, 200, "{same:?}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id]
        ),
        3
    );
    // Updates follow the create rules.
    let put = |body: Value| app.v3(&admin, "PUT", &secret_path(&id), Some(body)).status;
    assert_eq!(put(json!({"Title": "db renamed", "Username": "svc2"})), 400);
    assert_eq!(put(json!({"Username": "svc2", "Password": "p"})), 400);
    assert_eq!(
        put(json!({"Title": "x", "Username": "svc2", "Password": "x".repeat(257)})),
        400
    );
    assert_eq!(
        put(json!({"Title": "x", "Username": "svc2", "Password": "p", "FolderId": "nope"})),
        400
    );
    assert_eq!(
        put(json!({"Title": "x", "Username": "svc2", "Password": "p", "FolderId": UNKNOWN_ID})),
        404
    );
    let taken = create_credential(&app, &admin, &safe, "taken");
    assert_eq!(
        put(json!({"Title": "TAKEN", "Username": "svc2", "Password": "p"})),
        409
    );
    assert_eq!(
        app.v3(
            &admin,
            "PUT",
            &secret_path(UNKNOWN_ID),
            Some(credential("x"))
        )
        .status,
        404
    );
    let _ = taken;
}

#[test]
fn text_updates_answer_200_and_keep_history() {
    let (app, admin, safe) = start();
    let id = app.create_text_secret(&admin, &safe, "note", "first");
    let path = format!("{}/text", secret_path(&id));
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{path}?version=3.1"),
        Some(json!({"Title": "note", "Text": "second", "FolderId": safe,
            "Description": "d", "Owners": [{"UserId": admin.user_id}]})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let got = reply.json();
    assert_eq!(keys(&got), keys_v31());
    assert_eq!(
        (got["Text"].clone(), got["Password"].clone()),
        (json!("second"), json!("second"))
    );
    // Without Text, the value stays and the description is kept.
    let reply = app.v3(&admin, "PUT", &path, Some(json!({"Title": "note 2"})));
    assert_eq!(reply.status, 200, "{reply:?}");
    let got = reply.json();
    assert_eq!(
        (got["Text"].clone(), got["Description"].clone()),
        (json!("second"), json!("d"))
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id]
        ),
        2
    );
    assert_eq!(
        app.v3(
            &admin,
            "PUT",
            &path,
            Some(json!({"Title": "n", "Text": "x".repeat(4097)}))
        )
        .status,
        400
    );
}

#[test]
fn file_updates_answer_204_and_replace_the_content() {
    let (app, admin, safe) = start();
    let id = id_of(&post_file(&app, &admin, &safe, "blob", b"first"));
    let path = format!("{}/file", secret_path(&id));
    let metadata = json!({"Title": "blob", "FolderId": safe, "FileName": "abc.txt"});
    let reply = send_multipart(
        &app,
        &admin,
        "PUT",
        &path,
        &file_upload(&metadata, "abc.txt", b"abc"),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    let meta = app.v3(&admin, "GET", &path, None).json();
    assert_eq!(
        (meta["FileName"].clone(), meta["FileHash"].clone()),
        (json!("abc.txt"), json!(ABC_SHA256))
    );
    let download = app.v3(&admin, "GET", &format!("{path}/download"), None);
    assert_eq!(download.body, b"abc");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id]
        ),
        2
    );
    // Metadata only: the file stays.
    let meta_only = multipart(&[Part {
        name: "secretmetadata",
        file_name: None,
        content_type: Some("application/json"),
        bytes: br#"{"Title": "blob 2", "Notes": "n"}"#,
    }]);
    assert_eq!(
        send_multipart(&app, &admin, "PUT", &path, &meta_only).status,
        204
    );
    let meta = app.v3(&admin, "GET", &path, None).json();
    assert_eq!(
        (meta["Title"].clone(), meta["FileHash"].clone()),
        (json!("blob 2"), json!(ABC_SHA256))
    );
    // An empty file is refused.
    let reply = send_multipart(
        &app,
        &admin,
        "PUT",
        &path,
        &file_upload(&metadata, "e", b""),
    );
    assert_eq!(reply.status, 400);
}

#[test]
fn file_updates_take_the_documented_json_metadata() {
    let (app, admin, safe) = start();
    let id = id_of(&post_file(&app, &admin, &safe, "blob", b"abc"));
    let path = format!("{}/file", secret_path(&id));
    let versions = || {
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id],
        )
    };
    let body = json!({"FolderId": safe, "Title": "renamed", "Description": "d",
        "Notes": "n", "Urls": [{"Url": "https://example.com"}]});
    let reply = app.v3(&admin, "PUT", &path, Some(body));
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    let meta = app.v3(&admin, "GET", &path, None).json();
    assert_eq!(
        (
            meta["Title"].clone(),
            meta["Description"].clone(),
            meta["Notes"].clone(),
            meta["FileHash"].clone(),
        ),
        (json!("renamed"), json!("d"), json!("n"), json!(ABC_SHA256))
    );
    assert_eq!(versions(), 1, "the file stays as it was");
    let download = app.v3(&admin, "GET", &format!("{path}/download"), None);
    assert_eq!(download.body, b"abc");

    // The metadata rules hold for JSON as for multipart; other media types are 415.
    for body in [
        json!({"Title": ""}),
        json!({"Title": "t", "Notes": "n".repeat(4001)}),
    ] {
        let reply = app.v3(&admin, "PUT", &path, Some(body));
        assert_eq!(reply.status, 400, "{reply:?}");
    }
    let reply = app.v3_raw(&admin, "PUT", &path, "text/plain", b"{}");
    assert_eq!(reply.status, 415, "{reply:?}");
    assert_eq!(
        app.v3(&admin, "GET", &path, None).json()["Title"],
        "renamed"
    );
}

#[test]
fn a_changed_folder_id_moves_the_secret() {
    let (app, admin, safe) = start();
    let bob = app.user_with_feature(&admin, "bob", 2);
    let target = app.create_safe(&admin, "Target");
    let id = create_credential(&app, &admin, &safe, "mover");
    let body = json!({"Title": "mover", "Username": "svc", "Password": "p", "FolderId": target});

    // Bob may update in the source but not delete there: 403.
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Update"]),
        None,
    );
    grant(
        &app,
        &admin,
        &target,
        user(&bob),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(
        app.v3(&bob, "PUT", &secret_path(&id), Some(body.clone()))
            .status,
        403
    );
    // With Delete on the source and Create on the destination it moves.
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Update", "Delete"]),
        None,
    );
    let reply = app.v3(&bob, "PUT", &secret_path(&id), Some(body.clone()));
    assert_eq!(reply.status, 200, "{reply:?}");
    let got = reply.json();
    assert_eq!(
        (got["FolderId"].clone(), got["FolderPath"].clone()),
        (json!(target), json!("Target"))
    );
    // Without Create on the destination: 403.
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Update", "Delete", "Create"]),
        None,
    );
    grant(
        &app,
        &admin,
        &target,
        user(&bob),
        json!(["Read", "Update", "Delete"]),
        None,
    );
    let back = json!({"Title": "mover", "Username": "svc", "Password": "p", "FolderId": safe});
    let reply = app.v3(&bob, "PUT", &secret_path(&id), Some(back.clone()));
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = app.v3(&bob, "PUT", &secret_path(&id), Some(body));
    assert_eq!(reply.status, 403, "{reply:?}");
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_secret_answers_200_and_forgets_every_version() {
    let (app, admin, safe) = start();
    let target = app.create_folder(&admin, &safe, "Target");
    let id = create_credential(&app, &admin, &safe, "doomed");
    let body = json!({"Title": "doomed", "Username": "svc", "Password": "v2"});
    assert_eq!(
        app.v3(&admin, "PUT", &secret_path(&id), Some(body)).status,
        200
    );
    let share = app.v3(
        &admin,
        "POST",
        &format!("{}/shares/{target}", secret_path(&id)),
        Some(json!({})),
    );
    assert_eq!(share.status, 201, "{share:?}");
    assert_eq!(
        app.v3(
            &admin,
            "PUT",
            &format!("{}/favorite", secret_path(&id)),
            Some(json!({"Favorite": true}))
        )
        .status,
        204
    );
    assert_eq!(sealed_count(&app, &id), 2);

    let reply = app.v3(&admin, "DELETE", &secret_path(&id), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(app.v3(&admin, "GET", &secret_path(&id), None).status, 404);
    assert_eq!(
        app.v3(&admin, "DELETE", &secret_path(&id), None).status,
        404
    );
    for table in [
        "secret_versions",
        "secret_shares",
        "secret_owners",
        "secret_favorites",
    ] {
        let sql = format!("SELECT count(*) FROM {table} WHERE secret_id = ?1");
        assert_eq!(app.count(&sql, [&id]), 0, "{table}");
    }
    assert_eq!(sealed_count(&app, &id), 0);
}

// ---------------------------------------------------------------- values at rest

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn values_are_never_on_disk_in_plaintext() {
    let (app, admin, safe) = start();
    let password = "pw-7c1e0b9a-plaintext-marker";
    let text = "text-4f2d88e1-plaintext-marker";
    let file = b"file-9ab3cc02-plaintext-marker";
    let updated = "pw-updated-51d0-plaintext-marker";
    let mut body = credential("cred");
    body["Password"] = json!(password);
    let id = id_of(&app.v3(&admin, "POST", &folder_secrets(&safe), Some(body)));
    app.create_text_secret(&admin, &safe, "text", text);
    assert_eq!(post_file(&app, &admin, &safe, "file", file).status, 201);
    let body = json!({"Title": "cred", "Username": "svc", "Password": updated});
    assert_eq!(
        app.v3(&admin, "PUT", &secret_path(&id), Some(body)).status,
        200
    );
    // Read them all, so that reads leave nothing behind either.
    assert_eq!(list(&app, &admin, "").len(), 3);

    for name in ["sqlite_db.db", "sqlite_key_value.db"] {
        let conn = rusqlite::Connection::open(app.state_dir().join(name)).expect("open");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .expect("checkpoint");
    }
    let markers: [&[u8]; 4] = [
        password.as_bytes(),
        text.as_bytes(),
        file,
        updated.as_bytes(),
    ];
    for (name, bytes) in files(app.state_dir()) {
        for marker in markers {
            assert!(!contains(&bytes, marker), "plaintext found in {name}");
        }
    }
    // Nor in the audit trail, which records every read.
    let conn = app.db();
    let mut stmt = conn
        .prepare("SELECT actor || target || detail FROM audit_events")
        .expect("prepare");
    let trail: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert!(!trail.is_empty());
    for line in trail {
        for marker in [password, text, updated] {
            assert!(!line.contains(marker), "{line}");
        }
    }
}

// ---------------------------------------------------------------- lists

#[test]
fn get_secrets_lists_with_values_and_audits_each_read() {
    let (app, admin, safe) = start();
    let a = create_credential(&app, &admin, &safe, "alpha");
    let b = app.create_text_secret(&admin, &safe, "beta", "beta-text");
    let c = id_of(&post_file(&app, &admin, &safe, "gamma", b"g"));

    let items = list(&app, &admin, "");
    assert_eq!(titles(&items), ["alpha", "beta", "gamma"]);
    assert_eq!(keys(&items[0]), keys_v30());
    assert_eq!(items[0]["Password"], "hunter2-value");
    assert_eq!(items[1]["Password"], "beta-text");
    assert_eq!(items[1]["Text"], "beta-text");
    assert_eq!(items[2]["Password"], Value::Null);
    assert_eq!(items[2]["SecretType"], "File");
    assert_eq!(
        (
            read_audits(&app, &a),
            read_audits(&app, &b),
            read_audits(&app, &c)
        ),
        (1, 1, 0)
    );

    // decrypt=false: no values, no reads.
    let items = list(&app, &admin, "decrypt=false");
    assert!(items
        .iter()
        .all(|i| i["Password"].is_null() && i["Text"].is_null()));
    assert_eq!(read_audits(&app, &a), 1);
    let got = app
        .v3(
            &admin,
            "GET",
            &format!("{}?decrypt=False", secret_path(&a)),
            None,
        )
        .json();
    assert_eq!(got["Password"], Value::Null);

    // 3.1: a plain list in the 3.1 shape; 3.2: {TotalCount, Data}.
    let v31 = list(&app, &admin, "version=3.1");
    assert_eq!(keys(&v31[0]), keys_v31());
    let v32 = app.v3(
        &admin,
        "GET",
        &format!("{SECRETS}?version=3.2&limit=2"),
        None,
    );
    assert_eq!(v32.status, 200);
    let v32 = v32.json();
    assert_eq!(keys(&v32), ["Data", "TotalCount"]);
    assert_eq!(v32["TotalCount"], 3);
    let data = v32["Data"].as_array().cloned().expect("Data");
    assert_eq!(titles(&data), ["alpha", "beta"]);
    assert_eq!(keys(&data[0]), keys_v32());
    // The folder list wraps the same way.
    let folder = app.v3(
        &admin,
        "GET",
        &format!("{}?version=3.2", folder_secrets(&safe)),
        None,
    );
    assert_eq!(folder.json()["TotalCount"], 3);
}

#[test]
fn lists_page_with_limit_and_offset() {
    let (app, admin, safe) = start();
    for i in 0..5 {
        create_credential(&app, &admin, &safe, &format!("s{i}"));
    }
    assert_eq!(list(&app, &admin, "").len(), 5);
    assert_eq!(titles(&list(&app, &admin, "limit=2")), ["s0", "s1"]);
    assert_eq!(
        titles(&list(&app, &admin, "limit=2&offset=3")),
        ["s3", "s4"]
    );
    assert_eq!(titles(&list(&app, &admin, "Limit=1000&Offset=4")), ["s4"]);
    assert!(list(&app, &admin, "offset=5").is_empty());
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=x",
        "offset=-1",
        "offset=x",
    ] {
        let reply = app.v3(&admin, "GET", &format!("{SECRETS}?{bad}"), None);
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
    }
}

#[test]
fn lists_filter_by_path_title_folder_and_date() {
    let (app, admin, safe) = start();
    let team = app.create_folder(&admin, &safe, "Team");
    let deep = app.create_folder(&admin, &team, "Deep");
    create_credential(&app, &admin, &safe, "root-secret");
    create_credential(&app, &admin, &team, "api");
    create_credential(&app, &admin, &team, "web");
    create_credential(&app, &admin, &deep, "api");

    // The library's by-path flow: folder path and title, split on the last separator.
    let items = list(&app, &admin, "path=Ops%2FTeam&separator=%2F&title=api");
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["FolderPath"].clone(), items[0]["Title"].clone()),
        (json!("Ops/Team"), json!("api"))
    );
    // Case does not matter, nor does a custom separator.
    let items = list(
        &app,
        &admin,
        "path=ops%7Cteam%7Cdeep&separator=%7C&title=API",
    );
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["FolderPath"], "Ops/Team/Deep");
    // A folder path alone lists that folder (not its subfolders); a full path names one.
    assert_eq!(titles(&list(&app, &admin, "path=Ops/Team")), ["api", "web"]);
    assert_eq!(titles(&list(&app, &admin, "path=Ops/Team/web")), ["web"]);
    assert!(list(&app, &admin, "path=Ops/Nope").is_empty());
    // Title alone, in any folder.
    assert_eq!(list(&app, &admin, "title=api").len(), 2);
    // folderId, as list_secrets_by_folder_id sends it.
    assert_eq!(
        titles(&list(&app, &admin, &format!("folderId={team}"))),
        ["api", "web"]
    );
    assert!(list(&app, &admin, &format!("folderId={UNKNOWN_ID}")).is_empty());
    assert_eq!(
        app.v3(&admin, "GET", &format!("{SECRETS}?folderId=nope"), None)
            .status,
        400
    );
    assert_eq!(
        app.v3(&admin, "GET", &format!("{SECRETS}?separator=ab"), None)
            .status,
        400
    );

    // afterdate: modified at or after.
    app.advance_clock(Duration::from_secs(60));
    let cut = utc(now() + 60 - 1);
    let later = create_credential(&app, &admin, &safe, "later");
    let items = list(&app, &admin, &format!("afterdate={cut}"));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["Id"], json!(later));
    assert_eq!(
        list(&app, &admin, "afterdate=2000-01-01T00:00:00Z").len(),
        5
    );
    for bad in ["yesterday", "2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z"] {
        let reply = app.v3(&admin, "GET", &format!("{SECRETS}?afterdate={bad}"), None);
        assert_eq!(reply.status, 400, "{bad}: {reply:?}");
    }
}

#[test]
fn folder_lists_hold_the_folder_and_what_is_shared_into_it() {
    let (app, admin, safe) = start();
    let other = app.create_safe(&admin, "Other");
    create_credential(&app, &admin, &safe, "own");
    let shared = create_credential(&app, &admin, &other, "visitor");
    let reply = app.v3(
        &admin,
        "POST",
        &format!("{}/shares/{safe}", secret_path(&shared)),
        Some(json!({})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");

    let reply = app.v3(&admin, "GET", &folder_secrets(&safe), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    let items = reply.json().as_array().cloned().expect("a list");
    assert_eq!(titles(&items), ["own", "visitor"]);
    // A shared secret still names the folder it lives in.
    assert_eq!(items[1]["FolderId"], json!(other));
    assert_eq!(
        app.v3(&admin, "GET", &folder_secrets(UNKNOWN_ID), None)
            .status,
        404
    );
    assert_eq!(
        app.v3(&admin, "GET", "secrets-safe/folders/nope/secrets", None)
            .status,
        404
    );
    // The by-path flow finds it under the share's path too.
    assert_eq!(
        titles(&list(&app, &admin, "path=Ops&title=visitor")),
        ["visitor"]
    );
}

// ---------------------------------------------------------------- shares

#[test]
fn shares_link_a_secret_into_another_folder() {
    let (app, admin, safe) = start();
    let target = app.create_safe(&admin, "Target");
    let carol = app.user_with_feature(&admin, "carol", 2);
    grant(&app, &admin, &target, user(&carol), json!(["Read"]), None);
    let id = create_credential(&app, &admin, &safe, "linked");
    assert_eq!(app.v3(&carol, "GET", &secret_path(&id), None).status, 404);

    let share_path = format!("{}/shares/{target}", secret_path(&id));
    let reply = app.v3(
        &admin,
        "POST",
        &format!("{share_path}?version=3.1"),
        Some(json!({})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({"SecretId": id, "FolderID": target, "FolderPath": "Target", "SecretName": "linked"})
    );
    assert_eq!(
        app.v3(&admin, "POST", &share_path, Some(json!({}))).status,
        409
    );
    let own = format!("{}/shares/{safe}", secret_path(&id));
    assert_eq!(app.v3(&admin, "POST", &own, None).status, 409);
    let unknown = format!("{}/shares/{UNKNOWN_ID}", secret_path(&id));
    assert_eq!(app.v3(&admin, "POST", &unknown, None).status, 404);

    let reply = app.v3(&admin, "GET", &format!("{}/shares", secret_path(&id)), None);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!([{"SecretId": id, "FolderID": target, "FolderPath": "Target", "SecretName": "linked"}])
    );

    // Carol reads the target safe only, and so the secret, its value and its list entry;
    // she cannot change it.
    let got = app.v3(&carol, "GET", &secret_path(&id), None);
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.json()["Password"], "hunter2-value");
    assert_eq!(titles(&list(&app, &carol, "")), ["linked"]);
    let folder = app.v3(&carol, "GET", &folder_secrets(&target), None);
    assert_eq!(titles(folder.json().as_array().expect("list")), ["linked"]);
    assert_eq!(
        app.v3(&carol, "PUT", &secret_path(&id), Some(credential("linked")))
            .status,
        403
    );
    assert_eq!(
        app.v3(&carol, "DELETE", &secret_path(&id), None).status,
        403
    );
    assert_eq!(app.v3(&carol, "DELETE", &share_path, None).status, 403);

    // Removing the share takes the secret away from her again.
    assert_eq!(app.v3(&admin, "DELETE", &share_path, None).status, 204);
    assert_eq!(app.v3(&admin, "DELETE", &share_path, None).status, 404);
    assert_eq!(app.v3(&carol, "GET", &secret_path(&id), None).status, 404);
    assert!(list(&app, &carol, "").is_empty());

    // Removing every share: 204, also when there are none.
    assert_eq!(app.v3(&admin, "POST", &share_path, None).status, 201);
    let all = format!("{}/shares", secret_path(&id));
    assert_eq!(app.v3(&admin, "DELETE", &all, None).status, 204);
    assert_eq!(app.v3(&admin, "GET", &all, None).json(), json!([]));
    assert_eq!(app.v3(&admin, "DELETE", &all, None).status, 204);
}

#[test]
fn sharing_needs_share_on_the_source_and_create_on_the_target() {
    let (app, admin, safe) = start();
    let target = app.create_safe(&admin, "Target");
    let dan = app.user_with_feature(&admin, "dan", 2);
    let id = create_credential(&app, &admin, &safe, "s");
    let path = format!("{}/shares/{target}", secret_path(&id));
    grant(&app, &admin, &safe, user(&dan), json!(["Read"]), None);
    grant(
        &app,
        &admin,
        &target,
        user(&dan),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(app.v3(&dan, "POST", &path, None).status, 403);
    grant(
        &app,
        &admin,
        &safe,
        user(&dan),
        json!(["Read", "Share"]),
        None,
    );
    grant(&app, &admin, &target, user(&dan), json!(["Read"]), None);
    assert_eq!(app.v3(&dan, "POST", &path, None).status, 403);
    grant(
        &app,
        &admin,
        &target,
        user(&dan),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(app.v3(&dan, "POST", &path, None).status, 201);
}

// ---------------------------------------------------------------- move, favourite

#[test]
fn move_secrets_reports_what_happened_to_each_id() {
    let (app, admin, safe) = start();
    let dest = app.create_folder(&admin, &safe, "Dest");
    let a = create_credential(&app, &admin, &safe, "a");
    let b = create_credential(&app, &admin, &safe, "b");
    create_credential(&app, &admin, &dest, "b");
    let body = |action: &str, secrets: Vec<&str>| {
        json!({"secretids": secrets, "shareids": [], "destinationfolderid": dest,
            "duplicatenameaction": action})
    };

    // Stop: a taken title moves nothing.
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{SECRETS}/move"),
        Some(body("Stop", vec![&a, &b])),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let got = reply.json();
    assert_eq!(got["SecretsMovedCount"], 0);
    assert_eq!(got["Errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(&a), None).json()["FolderId"],
        json!(safe)
    );

    // Skip: the others move.
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{SECRETS}/move"),
        Some(body("Skip", vec![&a, &b, UNKNOWN_ID])),
    );
    let got = reply.json();
    assert_eq!(
        got,
        json!({"Errors": [], "DestinationFolderId": dest, "SecretsCount": 3, "SharesCount": 0,
            "SecretsMovedCount": 1, "SharesMovedCount": 0, "SecretsRenamed": [],
            "SecretsSkipped": [b], "SecretsFailedValidation": [], "SecretsNotFound": [UNKNOWN_ID],
            "SharesFailedValidation": [], "SharesNotFound": [], "SharesNotMovedToDifferentSafe": [],
            "SharesRemoved": []})
    );
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(&a), None).json()["FolderPath"],
        "Ops/Dest"
    );

    // Rename: "b (1)".
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{SECRETS}/move"),
        Some(body("Rename", vec![&b])),
    );
    let got = reply.json();
    assert_eq!(
        (
            got["SecretsMovedCount"].clone(),
            got["SecretsRenamed"].clone()
        ),
        (json!(1), json!([b]))
    );
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(&b), None).json()["Title"],
        "b (1)"
    );

    // Bad input.
    let put = |body: Value| {
        app.v3(&admin, "PUT", &format!("{SECRETS}/move"), Some(body))
            .status
    };
    assert_eq!(
        put(json!({"secretids": [a], "destinationfolderid": dest, "duplicatenameaction": "Merge"})),
        400
    );
    assert_eq!(
        put(
            json!({"secretids": ["nope"], "destinationfolderid": dest, "duplicatenameaction": "Skip"})
        ),
        400
    );
    assert_eq!(
        put(json!({"secretids": [a], "duplicatenameaction": "Skip"})),
        400
    );
    assert_eq!(
        put(
            json!({"secretids": [a], "destinationfolderid": UNKNOWN_ID, "duplicatenameaction": "Skip"})
        ),
        404
    );
}

#[test]
fn move_secrets_moves_shares_within_their_safe() {
    let (app, admin, safe) = start();
    let other = app.create_safe(&admin, "Other");
    let from = app.create_folder(&admin, &other, "From");
    let to = app.create_folder(&admin, &other, "To");
    let id = create_credential(&app, &admin, &safe, "s");
    let lonely = create_credential(&app, &admin, &safe, "lonely");
    let share = app.v3(
        &admin,
        "POST",
        &format!("{}/shares/{from}", secret_path(&id)),
        None,
    );
    assert_eq!(share.status, 201);
    let body = json!({"secretids": [], "shareids": [id, lonely], "destinationfolderid": to,
        "duplicatenameaction": "Rename"});
    let got = app
        .v3(&admin, "PUT", &format!("{SECRETS}/move"), Some(body))
        .json();
    assert_eq!(
        (
            got["SharesMovedCount"].clone(),
            got["SharesNotFound"].clone()
        ),
        (json!(1), json!([lonely]))
    );
    let shares = app
        .v3(&admin, "GET", &format!("{}/shares", secret_path(&id)), None)
        .json();
    assert_eq!(shares[0]["FolderID"], json!(to));
    assert_eq!(shares.as_array().map(Vec::len), Some(1));
    // Into another safe, a share does not move.
    let body =
        json!({"shareids": [id], "destinationfolderid": safe, "duplicatenameaction": "Skip"});
    let got = app
        .v3(&admin, "PUT", &format!("{SECRETS}/move"), Some(body))
        .json();
    assert_eq!(got["SharesNotMovedToDifferentSafe"], json!([id]));
}

#[test]
fn favorites_are_per_user() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "fav");
    create_credential(&app, &admin, &safe, "plain");
    let path = format!("{}/favorite", secret_path(&id));
    let reply = app.v3(&admin, "PUT", &path, Some(json!({"Favorite": true})));
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        app.v3(&admin, "PUT", &path, Some(json!({"favorite": true})))
            .status,
        204
    );
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(&id), None).json()["IsFavorite"],
        true
    );
    assert_eq!(titles(&list(&app, &admin, "favorite=true")), ["fav"]);
    assert_eq!(list(&app, &admin, "favorite=false").len(), 2);
    assert_eq!(app.v3(&admin, "PUT", &path, Some(json!({}))).status, 400);
    assert_eq!(
        app.v3(&admin, "PUT", &path, Some(json!({"Favorite": "yes"})))
            .status,
        400
    );
    assert_eq!(
        app.v3(&admin, "PUT", &path, Some(json!({"Favorite": false})))
            .status,
        204
    );
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(&id), None).json()["IsFavorite"],
        false
    );
}

// ---------------------------------------------------------------- bad requests

#[test]
fn malformed_requests_get_clear_errors() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "s");
    let create = folder_secrets(&safe);
    // Bad JSON: 400; another media type: 415.
    let reply = app.v3_raw(&admin, "POST", &create, "application/json", b"{\"Title\": ");
    assert_eq!(reply.status, 400);
    assert!(reply.json()["Message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("body: not valid JSON"));
    assert_eq!(
        app.v3_raw(&admin, "POST", &create, "text/plain", b"{}")
            .status,
        415
    );
    assert_eq!(
        app.v3_raw(&admin, "PUT", &secret_path(&id), "text/plain", b"{}")
            .status,
        415
    );
    assert_eq!(
        app.v3_raw(&admin, "POST", &create, "application/json", b"[]")
            .status,
        400
    );
    // Ids: non-GUIDs in the path are no route; unknown routes 404; wrong methods 405.
    assert_eq!(
        app.v3(&admin, "GET", &secret_path("not-a-guid"), None)
            .status,
        404
    );
    assert_eq!(
        app.v3(
            &admin,
            "POST",
            &folder_secrets("not-a-guid"),
            Some(credential("x"))
        )
        .status,
        404
    );
    assert_eq!(
        app.v3(
            &admin,
            "POST",
            &folder_secrets(UNKNOWN_ID),
            Some(credential("x"))
        )
        .status,
        404
    );
    assert_eq!(
        app.v3(&admin, "GET", &format!("{}/nope", secret_path(&id)), None)
            .status,
        404
    );
    assert_eq!(
        app.v3(&admin, "GET", &secret_path(UNKNOWN_ID), None).status,
        404
    );
    for (method, path) in [
        ("POST", secret_path(&id)),
        ("DELETE", SECRETS.to_owned()),
        ("GET", format!("{SECRETS}/move")),
        ("PUT", folder_secrets(&safe)),
        ("GET", format!("{}/favorite", secret_path(&id))),
        ("POST", format!("{}/text", secret_path(&id))),
    ] {
        let reply = app.v3(&admin, method, &path, None);
        assert_eq!(reply.status, 405, "{method} {path}: {reply:?}");
    }
    // Upper-case ids and paths are canonicalised by the gateway.
    let upper = app.v3(
        &admin,
        "GET",
        &format!("Secrets-Safe/Secrets/{}", id.to_uppercase()),
        None,
    );
    assert_eq!(upper.status, 200, "{upper:?}");
}

// ---------------------------------------------------------------- who may do what

#[test]
fn without_credentials_every_route_is_401() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "s");
    for (method, path) in [
        ("GET", SECRETS.to_owned()),
        ("GET", secret_path(&id)),
        ("POST", folder_secrets(&safe)),
        ("PUT", secret_path(&id)),
        ("DELETE", secret_path(&id)),
        ("GET", format!("{}/file/download", secret_path(&id))),
        ("POST", format!("{}/shares/{safe}", secret_path(&id))),
        ("PUT", format!("{SECRETS}/move")),
    ] {
        let reply = app.send(method, &format!("{V3}/{path}"), &[], None);
        assert_eq!(reply.status, 401, "{method} {path}: {reply:?}");
    }
}

#[test]
fn the_feature_permission_comes_first() {
    let (app, admin, safe) = start();
    let none = app.user_with_feature(&admin, "none", 0);
    let reader = app.user_with_feature(&admin, "reader", 1);
    grant(&app, &admin, &safe, user(&none), json!(["Manage"]), None);
    grant(&app, &admin, &safe, user(&reader), json!(["Manage"]), None);
    let id = create_credential(&app, &admin, &safe, "s");
    // No feature: 403 everywhere, even with Manage on the safe.
    assert_eq!(app.v3(&none, "GET", &secret_path(&id), None).status, 403);
    assert_eq!(app.v3(&none, "GET", SECRETS, None).status, 403);
    assert_eq!(
        app.v3(&none, "GET", &secret_path(UNKNOWN_ID), None).status,
        403
    );
    // Read feature: reads only.
    assert_eq!(app.v3(&reader, "GET", &secret_path(&id), None).status, 200);
    assert_eq!(
        app.v3(
            &reader,
            "POST",
            &folder_secrets(&safe),
            Some(credential("r"))
        )
        .status,
        403
    );
    assert_eq!(
        app.v3(&reader, "PUT", &secret_path(&id), Some(credential("s")))
            .status,
        403
    );
    assert_eq!(
        app.v3(&reader, "DELETE", &secret_path(&id), None).status,
        403
    );
    let denied = app.count(
        "SELECT count(*) FROM audit_events WHERE decision = 'deny' AND target = ?1",
        [&format!("secret:{id}")],
    );
    assert!(denied >= 3, "{denied}");
}

#[test]
fn without_a_grant_a_secret_does_not_exist() {
    let (app, admin, safe) = start();
    let eve = app.user_with_feature(&admin, "eve", 2);
    let id = create_credential(&app, &admin, &safe, "hidden");
    let text = app.create_text_secret(&admin, &safe, "hidden text", "t");
    for (method, path) in [
        ("GET", secret_path(&id)),
        ("GET", format!("{}/text", secret_path(&text))),
        ("PUT", secret_path(&id)),
        ("DELETE", secret_path(&id)),
        ("GET", format!("{}/shares", secret_path(&id))),
        ("POST", format!("{}/shares/{safe}", secret_path(&id))),
        ("PUT", format!("{}/favorite", secret_path(&id))),
        ("GET", folder_secrets(&safe)),
        ("POST", folder_secrets(&safe)),
    ] {
        let body = match method {
            "PUT" if path.ends_with("favorite") => Some(json!({"Favorite": true})),
            "PUT" | "POST" => Some(credential("hidden")),
            _ => None,
        };
        let reply = app.v3(&eve, method, &path, body);
        assert_eq!(reply.status, 404, "{method} {path}: {reply:?}");
    }
    assert!(list(&app, &eve, "").is_empty());
    assert!(list(&app, &eve, &format!("folderId={safe}")).is_empty());
    let body =
        json!({"secretids": [id], "destinationfolderid": safe, "duplicatenameaction": "Skip"});
    assert_eq!(
        app.v3(&eve, "PUT", &format!("{SECRETS}/move"), Some(body))
            .status,
        404
    );
    assert_eq!(read_audits(&app, &id), 0);
}

#[test]
fn read_only_grants_read_but_do_not_write() {
    let (app, admin, safe) = start();
    let rita = app.user_with_feature(&admin, "rita", 2);
    grant(&app, &admin, &safe, user(&rita), json!(["Read"]), None);
    let id = create_credential(&app, &admin, &safe, "s");
    let text = app.create_text_secret(&admin, &safe, "t", "t");
    let got = app.v3(&rita, "GET", &secret_path(&id), None);
    assert_eq!(got.status, 200);
    assert_eq!(list(&app, &rita, "").len(), 2);
    assert_eq!(
        app.v3(&rita, "GET", &folder_secrets(&safe), None).status,
        200
    );
    // One read each: by id, in the list, in the folder's list.
    assert_eq!(read_audits(&app, &id), 3);
    for (method, path, body) in [
        ("POST", folder_secrets(&safe), Some(credential("new"))),
        (
            "POST",
            format!("{}/text", folder_secrets(&safe)),
            Some(text_body("new", "t")),
        ),
        ("PUT", secret_path(&id), Some(credential("s"))),
        (
            "PUT",
            format!("{}/text", secret_path(&text)),
            Some(text_body("t", "u")),
        ),
        ("DELETE", secret_path(&id), None),
        ("POST", format!("{}/shares/{safe}", secret_path(&id)), None),
        ("DELETE", format!("{}/shares", secret_path(&id)), None),
    ] {
        let reply = app.v3(&rita, method, &path, body);
        assert_eq!(reply.status, 403, "{method} {path}: {reply:?}");
    }
    // Each flag allows its own action.
    grant(
        &app,
        &admin,
        &safe,
        user(&rita),
        json!(["Read", "Create"]),
        None,
    );
    assert_eq!(
        app.v3(
            &rita,
            "POST",
            &folder_secrets(&safe),
            Some(credential("new"))
        )
        .status,
        201
    );
    assert_eq!(
        app.v3(&rita, "PUT", &secret_path(&id), Some(credential("s")))
            .status,
        403
    );
    grant(
        &app,
        &admin,
        &safe,
        user(&rita),
        json!(["Read", "Update"]),
        None,
    );
    assert_eq!(
        app.v3(&rita, "PUT", &secret_path(&id), Some(credential("s")))
            .status,
        200
    );
    assert_eq!(app.v3(&rita, "DELETE", &secret_path(&id), None).status, 403);
    grant(
        &app,
        &admin,
        &safe,
        user(&rita),
        json!(["Read", "Delete"]),
        None,
    );
    assert_eq!(app.v3(&rita, "DELETE", &secret_path(&id), None).status, 200);
}

#[test]
fn an_expired_grant_counts_as_none() {
    let (app, admin, safe) = start();
    let tom = app.user_with_feature(&admin, "tom", 2);
    let expires = utc(now() + 60);
    grant(
        &app,
        &admin,
        &safe,
        user(&tom),
        json!(["Read"]),
        Some(&expires),
    );
    let id = create_credential(&app, &admin, &safe, "s");
    assert_eq!(app.v3(&tom, "GET", &secret_path(&id), None).status, 200);
    app.advance_clock(Duration::from_secs(120));
    assert_eq!(app.v3(&tom, "GET", &secret_path(&id), None).status, 404);
    assert!(list(&app, &tom, "").is_empty());
}

#[test]
fn group_grants_reach_the_members() {
    let (app, admin, safe) = start();
    let gil = app.user_with_feature(&admin, "gil", 0);
    // The feature comes from the group too.
    let group = app.group_with_feature(&admin, "writers", 2, &[gil.user_id]);
    let id = create_credential(&app, &admin, &safe, "s");
    assert_eq!(app.v3(&gil, "GET", &secret_path(&id), None).status, 404);
    grant(
        &app,
        &admin,
        &safe,
        (1, group),
        json!(["Read", "Create"]),
        None,
    );
    let got = app.v3(&gil, "GET", &secret_path(&id), None);
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.json()["Password"], "hunter2-value");
    assert_eq!(
        app.v3(
            &gil,
            "POST",
            &folder_secrets(&safe),
            Some(credential("gil's"))
        )
        .status,
        201
    );
    assert_eq!(app.v3(&gil, "DELETE", &secret_path(&id), None).status, 403);
}

#[test]
fn the_default_page_is_1000_and_3_2_counts_them_all() {
    let (app, admin, safe) = start();
    // Rows written directly (no values: listed with decrypt=false), so that the
    // default limit can be reached without a thousand requests.
    let conn = app.db();
    for i in 0..1001 {
        conn.execute(
            "INSERT INTO secrets (id, folder_id, kind, title, created_at, modified_at,
                                  value_modified_at)
             VALUES (?1, ?2, 'text', ?3, 0, 0, 0)",
            rusqlite::params![
                format!("5ec7e700-0000-4000-8000-{i:012}"),
                safe,
                format!("bulk {i:04}")
            ],
        )
        .expect("insert secret");
    }
    assert_eq!(list(&app, &admin, "decrypt=false").len(), 1000);
    let page = app.v3(
        &admin,
        "GET",
        &format!("{SECRETS}?decrypt=false&version=3.2&offset=1000"),
        None,
    );
    let page = page.json();
    assert_eq!(page["TotalCount"], 1001);
    assert_eq!(
        titles(page["Data"].as_array().expect("Data")),
        ["bulk 1000"]
    );
}

/// Makes every write to `table` fail, as a full disk or a lost connection would.
fn break_writes(app: &TestApp, table: &str, on: &str) {
    app.db()
        .execute_batch(&format!(
            "CREATE TRIGGER broken_{table}_{on} BEFORE {on} ON {table}
             BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;"
        ))
        .expect("trigger");
}

#[test]
fn a_failed_create_leaves_no_row_and_no_sealed_value() {
    let (app, admin, safe) = start();
    break_writes(&app, "secret_owners", "INSERT");
    let reply = app.v3(
        &admin,
        "POST",
        &folder_secrets(&safe),
        Some(credential("lost")),
    );
    assert_eq!(reply.status, 500, "{reply:?}");
    assert_eq!(reply.json()["Message"], "internal error");
    assert!(!reply.text().contains("hunter2"), "{reply:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE title = ?1", ["lost"]),
        0
    );
    assert_eq!(sealed_count(&app, "%"), 0);
}

#[test]
fn a_failed_update_leaves_the_current_version_alone() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "steady");
    break_writes(&app, "secrets", "UPDATE");
    let body = json!({"Title": "steady", "Username": "svc", "Password": "never-stored"});
    let reply = app.v3(&admin, "PUT", &secret_path(&id), Some(body));
    assert_eq!(reply.status, 500, "{reply:?}");
    assert_eq!(reply.json()["Message"], "internal error");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
            [&id]
        ),
        1
    );
    assert_eq!(sealed_count(&app, &id), 1);
    app.db()
        .execute_batch("DROP TRIGGER broken_secrets_UPDATE")
        .expect("drop trigger");
    let got = app.v3(&admin, "GET", &secret_path(&id), None).json();
    assert_eq!(got["Password"], "hunter2-value");
}

// ---------------------------------------------------------------- concurrency

#[test]
fn concurrent_updates_of_one_secret_each_keep_their_own_version() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "hot");
    let base = app.base();
    let (writers, each) = (8, 10);
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (base, id, cookie) = (&base, &id, &admin.cookie);
            scope.spawn(move || {
                for n in 0..each {
                    let body = json!({"Title": "hot", "Username": "svc", "Password": format!("v-{writer}-{n}")});
                    let reply = edgesafe_tests::send(
                        base,
                        "PUT",
                        &format!("{V3}/{}", secret_path(id)),
                        &[("Cookie", cookie), ("Content-Type", "application/json")],
                        Some(body.to_string().as_bytes()),
                    );
                    assert_eq!(reply.status, 200, "{reply:?}");
                }
            });
        }
    });
    let updates = writers * each;
    // The first value plus one version per update; none left reserved, each sealed.
    let versions = app.count(
        "SELECT count(*) FROM secret_versions WHERE secret_id = ?1 AND destroyed_at IS NULL",
        [&id],
    );
    assert_eq!(versions, updates + 1);
    assert_eq!(sealed_count(&app, &id), updates + 1);
    let current = app.count("SELECT current_version FROM secrets WHERE id = ?1", [&id]);
    assert_eq!(current, updates + 1);
    let reply = app.v3(&admin, "GET", &secret_path(&id), None);
    assert!(
        reply.json()["Password"].as_str().unwrap().starts_with("v-"),
        "{reply:?}"
    );
}

/// A v3 request from a test thread, with a session cookie and a JSON body.
fn send_json(base: &str, cookie: &str, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let body = body.map(Value::to_string);
    edgesafe_tests::send(
        base,
        method,
        &format!("{V3}/{path}"),
        &[("Cookie", cookie), ("Content-Type", "application/json")],
        body.as_deref().map(str::as_bytes),
    )
}

#[test]
fn concurrent_changes_of_different_fields_both_stay() {
    let (app, admin, safe) = start();
    let reply = app.v3(
        &admin,
        "POST",
        &format!("{}/text", folder_secrets(&safe)),
        Some(text_body("race", "some text")),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let id = id_of(&reply);
    let base = app.base();
    let rounds = 40;
    // One client changes only the description, the other only the notes; each reads
    // back its own field after every change. An update that wrote every column from
    // its own earlier read would put back the other client's previous value.
    std::thread::scope(|scope| {
        for field in ["Description", "Notes"] {
            let (base, id, cookie) = (&base, &id, &admin.cookie);
            scope.spawn(move || {
                for n in 0..rounds {
                    let value = format!("{field}-{n}");
                    let body = json!({"Title": "race", field: value});
                    let path = format!("{}/text", secret_path(id));
                    let reply = send_json(base, cookie, "PUT", &path, Some(&body));
                    assert_eq!(reply.status, 200, "{reply:?}");
                    let got = send_json(base, cookie, "GET", &secret_path(id), None);
                    assert_eq!(got.json()[field], value.as_str(), "{field} lost: {got:?}");
                }
            });
        }
    });
    let got = app.v3(&admin, "GET", &secret_path(&id), None).json();
    assert_eq!(got["Description"], format!("Description-{}", rounds - 1));
    assert_eq!(got["Notes"], format!("Notes-{}", rounds - 1));
}

#[test]
fn the_current_version_never_goes_back_under_concurrent_updates() {
    let (app, admin, safe) = start();
    let reply = post_file(&app, &admin, &safe, "climb", b"first");
    assert_eq!(reply.status, 201, "{reply:?}");
    let id = id_of(&reply);
    let base = app.base();
    // Big files take long to seal between reserving their version and committing it,
    // small ones overtake them: a version reserved earlier then commits after a later
    // one, which must not make the older value current again.
    let (writers, each) = (4, 8);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        // A reader watches the current version: it may only grow.
        let reader = scope.spawn(|| {
            let db = app.db();
            let mut seen = 0_i64;
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) && reads < 1_000_000 {
                let current: i64 = db
                    .query_row(
                        "SELECT current_version FROM secrets WHERE id = ?1",
                        [&id],
                        |r| r.get(0),
                    )
                    .expect("current version");
                assert!(
                    current >= seen,
                    "current went back from {seen} to {current}"
                );
                seen = current;
                reads += 1;
            }
        });
        let writers: Vec<_> = (0..writers)
            .map(|writer| {
                let (base, id, cookie) = (&base, &id, &admin.cookie);
                scope.spawn(move || {
                    let size = if writer % 2 == 0 { 3 * 1024 * 1024 } else { 16 };
                    for n in 0..each {
                        let mut bytes = format!("{writer}-{n}-").into_bytes();
                        bytes.resize(size, b'x');
                        let metadata = json!({"Title": "climb", "FileName": "climb.bin"});
                        let reply = edgesafe_tests::send(
                            base,
                            "PUT",
                            &format!("{V3}/{}/file", secret_path(id)),
                            &[
                                ("Cookie", cookie),
                                (
                                    "Content-Type",
                                    &format!("multipart/form-data; boundary={BOUNDARY}"),
                                ),
                            ],
                            Some(&file_upload(&metadata, "climb.bin", &bytes)),
                        );
                        assert_eq!(reply.status, 204, "{reply:?}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().expect("reader");
    });
    let highest = app.count(
        "SELECT max(version) FROM secret_versions WHERE secret_id = ?1 AND destroyed_at IS NULL",
        [&id],
    );
    assert_eq!(highest, writers * each + 1);
    assert_eq!(
        app.count("SELECT current_version FROM secrets WHERE id = ?1", [&id]),
        highest
    );
}

#[test]
fn a_delete_during_updates_forgets_every_sealed_version() {
    let (app, admin, safe) = start();
    let base = app.base();
    for round in 0..10 {
        let title = format!("doomed-{round}");
        let id = create_credential(&app, &admin, &safe, &title);
        let started = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for writer in 0..3 {
                let (base, id, cookie, title, started) =
                    (&base, &id, &admin.cookie, &title, &started);
                scope.spawn(move || {
                    // Until the secret is gone (bounded all the same).
                    for n in 0..300 {
                        let body = json!({"Title": title, "Username": "svc",
                            "Password": format!("p-{writer}-{n}")});
                        let reply = send_json(base, cookie, "PUT", &secret_path(id), Some(&body));
                        if reply.status == 404 {
                            return;
                        }
                        assert_eq!(reply.status, 200, "{reply:?}");
                        started.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    panic!("the secret outlived its delete");
                });
            }
            // Delete once the writers are in full swing.
            let mut waits = 0;
            while started.load(std::sync::atomic::Ordering::SeqCst) < 6 && waits < 10_000 {
                std::thread::yield_now();
                waits += 1;
            }
            let mut deleted = false;
            for _ in 0..20 {
                let reply = send_json(&base, &admin.cookie, "DELETE", &secret_path(&id), None);
                if reply.status == 200 {
                    deleted = true;
                    break;
                }
                assert_eq!(reply.status, 409, "{reply:?}");
            }
            assert!(deleted, "the delete kept being refused");
        });
        assert_eq!(
            sealed_count(&app, &id),
            0,
            "round {round}: a sealed value stayed"
        );
        assert_eq!(
            app.count(
                "SELECT count(*) FROM secret_versions WHERE secret_id = ?1",
                [&id]
            ),
            0
        );
    }
}

// ---------------------------------------------------------------- owners

#[test]
fn owners_name_only_principals_the_caller_can_see() {
    let (app, admin, safe) = start();
    let bob = app.user_with_feature(&admin, "bob", 2);
    let carol = app.user_with_feature(&admin, "carol", 2);
    let dave = app.user_with_feature(&admin, "dave", 2);
    let hidden_group = app.group_with_feature(&admin, "hidden", 1, &[carol.user_id]);
    let bobs_group = app.group_with_feature(&admin, "bobs", 1, &[bob.user_id]);
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("Users/{}", dave.user_id),
        Some(json!({"UserName": "dave", "EmailAddress": "dave@example.com"})),
    );
    assert!(reply.status == 200 || reply.status == 204, "{reply:?}");
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Create"]),
        None,
    );
    grant(&app, &admin, &safe, user(&dave), json!(["Read"]), None);

    let post = |title: &str, owners: Value| {
        let mut body = credential(title);
        body["Owners"] = owners;
        app.v3(
            &bob,
            "POST",
            &format!("{}?version=3.1", folder_secrets(&safe)),
            Some(body),
        )
    };
    // A user or group he cannot see answers exactly like one that does not exist,
    // and no name or email comes back.
    let refused: Vec<Reply> = [
        json!([{"UserId": carol.user_id}]),
        json!([{"UserId": 999_999}]),
    ]
    .into_iter()
    .chain([
        json!([{"GroupId": hidden_group}]),
        json!([{"GroupId": 999_999}]),
    ])
    .enumerate()
    .map(|(n, owners)| post(&format!("refused-{n}"), owners))
    .collect();
    for reply in &refused {
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(!reply.text().contains("carol"), "{reply:?}");
    }
    assert_eq!(refused[0].body, refused[1].body);
    assert_eq!(refused[2].body, refused[3].body);

    // Himself, his group, and a user granted on the safe: fine, names shown.
    let reply = post(
        "named",
        json!([{"UserId": bob.user_id}, {"GroupId": bobs_group}, {"UserId": dave.user_id}]),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let owners = reply.json()["Owners"].clone();
    assert_eq!(owners[2]["Name"], "dave");
    assert_eq!(owners[2]["Email"], "dave@example.com");

    // The administrator names anyone that exists.
    let mut body = credential("by-admin");
    body["Owners"] = json!([{"UserId": carol.user_id}]);
    let reply = app.v3(&admin, "POST", &folder_secrets(&safe), Some(body.clone()));
    assert_eq!(reply.status, 201, "{reply:?}");
    let by_admin = id_of(&reply);

    // An owner the secret already has may stay: clients send the owners back on
    // every update. Adding another he cannot see is refused as before.
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Create", "Update"]),
        None,
    );
    let reply = app.v3(&bob, "PUT", &secret_path(&by_admin), Some(body.clone()));
    assert_eq!(reply.status, 200, "{reply:?}");
    body["Owners"] = json!([{"UserId": carol.user_id}, {"GroupId": hidden_group}]);
    let reply = app.v3(&bob, "PUT", &secret_path(&by_admin), Some(body));
    assert_eq!(reply.status, 400, "{reply:?}");
}

#[test]
fn a_moved_secret_takes_its_shares_to_another_safe_only_with_share_there() {
    let (app, admin, safe) = start();
    let bob = app.user_with_feature(&admin, "bob", 2);
    let elsewhere = app.create_safe(&admin, "Elsewhere");
    let drop = app.create_folder(&admin, &elsewhere, "Drop");
    let target = app.create_safe(&admin, "Target");
    let id = create_credential(&app, &admin, &safe, "shared-out");
    let reply = app.v3(
        &admin,
        "POST",
        &format!("{}/shares/{drop}", secret_path(&id)),
        None,
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    grant(
        &app,
        &admin,
        &safe,
        user(&bob),
        json!(["Read", "Update", "Delete"]),
        None,
    );
    grant(
        &app,
        &admin,
        &target,
        user(&bob),
        json!(["Read", "Create"]),
        None,
    );

    // Moved to Target, the share in Elsewhere would link a secret of Target there,
    // which no Share holder of Target chose.
    let body = json!({"SecretIds": [id], "ShareIds": [], "DestinationFolderId": target,
        "DuplicateNameAction": "Stop"});
    let reply = app.v3(&bob, "PUT", &format!("{SECRETS}/move"), Some(body.clone()));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["SecretsFailedValidation"], json!([id]));
    let update = json!({"Title": "shared-out", "Username": "svc", "Password": "p",
        "FolderId": target});
    let reply = app.v3(&bob, "PUT", &secret_path(&id), Some(update.clone()));
    assert_eq!(reply.status, 403, "{reply:?}");
    let got = app.v3(&admin, "GET", &secret_path(&id), None).json();
    assert_eq!(got["FolderPath"], "Ops");

    // With Share on Target it is his to decide.
    grant(
        &app,
        &admin,
        &target,
        user(&bob),
        json!(["Read", "Create", "Share"]),
        None,
    );
    let reply = app.v3(&bob, "PUT", &secret_path(&id), Some(update));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["FolderPath"], "Target");
}
