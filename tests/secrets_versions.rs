//! Secrets Safe API 3.3 end to end: a secret's version history, reading old values,
//! rollback, and TOTP on credential secrets (provisioning, validation, codes per
//! RFC 6238 on the runner's clock), with who may do what.

use edgesafe_tests::{utc, Reply, Session, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

const SECRETS: &str = "secrets-safe/secrets";
const UNKNOWN_ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
/// RFC 6238's SHA1 seed, ASCII "12345678901234567890", in Base32.
const RFC_SEED_SHA1: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// The SHA256 seed: "1234567890" repeated to 32 bytes.
const RFC_SEED_SHA256: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
/// The SHA512 seed: "1234567890" repeated to 64 bytes.
const RFC_SEED_SHA512: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA";

// ---------------------------------------------------------------- helpers

fn start() -> (TestApp, Session, String) {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Ops");
    (app, admin, safe)
}

fn folder_secrets(folder: &str) -> String {
    format!("secrets-safe/folders/{folder}/secrets")
}

fn id_of(reply: &Reply) -> String {
    reply.json()["Id"].as_str().expect("Id").to_owned()
}

fn create_credential(
    app: &TestApp,
    s: &Session,
    folder: &str,
    title: &str,
    password: &str,
) -> String {
    let body = json!({"Title": title, "Username": "svc", "Password": password});
    let reply = app.v3(s, "POST", &folder_secrets(folder), Some(body));
    assert_eq!(reply.status, 201, "{reply:?}");
    id_of(&reply)
}

fn set_password(app: &TestApp, s: &Session, id: &str, title: &str, password: &str) {
    let body = json!({"Title": title, "Username": "svc", "Password": password});
    let reply = app.v3(s, "PUT", &format!("{SECRETS}/{id}/"), Some(body));
    assert_eq!(reply.status, 200, "{reply:?}");
}

fn versions(app: &TestApp, s: &Session, id: &str) -> Value {
    let reply = app.v3(
        s,
        "GET",
        &format!("{SECRETS}/{id}/versions?version=3.3"),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

/// The version ids of a history, newest first.
fn version_ids(history: &Value) -> Vec<String> {
    history["Versions"]
        .as_array()
        .expect("Versions")
        .iter()
        .map(|v| v["Id"].as_str().expect("Id").to_owned())
        .collect()
}

fn read_version(app: &TestApp, s: &Session, kind: &str, id: &str, version: &str) -> Reply {
    app.v3(
        s,
        "GET",
        &format!("{SECRETS}/{kind}/{id}/versions/{version}?version=3.3"),
        None,
    )
}

fn rollback(app: &TestApp, s: &Session, id: &str, version: &str) -> Reply {
    app.v3(
        s,
        "POST",
        &format!("{SECRETS}/{id}/versions/{version}/rollback?version=3.3"),
        Some(json!({})),
    )
}

fn read_audits(app: &TestApp, id: &str, note: &str) -> i64 {
    app.count(
        "SELECT count(*) FROM audit_events WHERE action = 'secret.read' AND decision = 'allow'
            AND target = ?1 AND detail LIKE ?2",
        [format!("secret:{id}"), format!("%{note}%")],
    )
}

const BOUNDARY: &str = "----edgesafe-versions-test";

/// The multipart body the official library sends for a file secret.
fn file_upload(metadata: &Value, file_name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"secretmetadata\"\r\n\
             Content-Type: application/json\r\n\r\n{metadata}\r\n--{BOUNDARY}\r\n\
             Content-Disposition: form-data; name=\"files\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn send_file(
    app: &TestApp,
    s: &Session,
    method: &str,
    path: &str,
    meta: Value,
    name: &str,
    bytes: &[u8],
) -> Reply {
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    app.v3_raw(
        s,
        method,
        path,
        &content_type,
        &file_upload(&meta, name, bytes),
    )
}

fn grant(app: &TestApp, manager: &Session, safe: &str, user: &Session, flags: Value) {
    let body = json!({"PrincipalType": 0, "PrincipalID": user.user_id, "PermissionFlags": flags});
    let path = format!("secrets-safe/safes/{safe}/safe-permissions");
    let reply = app.v3(manager, "PUT", &path, Some(body));
    assert_eq!(reply.status, 204, "grant: {reply:?}");
}

fn with_totp(title: &str, key: &str) -> Value {
    json!({"Title": title, "Username": "svc", "Password": "pw-1",
        "TotpEnabled": true, "TotpSecretKey": key})
}

fn create_totp_credential(
    app: &TestApp,
    s: &Session,
    folder: &str,
    title: &str,
    key: &str,
) -> String {
    let path = format!("{}?version=3.3", folder_secrets(folder));
    let reply = app.v3(s, "POST", &path, Some(with_totp(title, key)));
    assert_eq!(reply.status, 201, "{reply:?}");
    id_of(&reply)
}

fn totp_code(app: &TestApp, s: &Session, id: &str) -> Reply {
    app.v3(
        s,
        "GET",
        &format!("{SECRETS}/{id}/totp/code?version=3.3"),
        None,
    )
}

// ---------------------------------------------------------------- version history

#[test]
fn the_history_lists_every_value_newest_first() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db", "first-value");
    set_password(&app, &admin, &id, "db", "second-value");
    set_password(&app, &admin, &id, "db", "third-value");
    // An update that keeps the value adds no version.
    set_password(&app, &admin, &id, "db renamed", "third-value");

    let history = versions(&app, &admin, &id);
    assert_eq!(history["CredentialId"], id.as_str());
    assert_eq!(history["SecretType"], "Credential");
    assert_eq!(history["ChangeFrequency"], 2);
    let list = history["Versions"].as_array().expect("Versions");
    let numbers: Vec<i64> = list
        .iter()
        .map(|v| v["VersionNumber"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    let active: Vec<bool> = list.iter().map(|v| v["IsActive"] == true).collect();
    assert_eq!(active, vec![true, false, false]);
    for v in list {
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "Id",
            "VersionNumber",
            "IsActive",
            "CreatedOn",
            "CreatedBy",
            "FileName",
            "IsHSMEncrypted",
        ] {
            assert!(keys.contains(&key), "{key} in {v}");
        }
        assert_eq!(v["CreatedBy"], "admin");
        assert!(v["FileName"].is_null());
        assert_eq!(v["Id"].as_str().map(str::len), Some(36), "a GUID: {v}");
    }
    // The history holds no value.
    assert!(!history.to_string().contains("value"), "{history}");
    // Listing is metadata: no value read is recorded.
    assert_eq!(read_audits(&app, &id, "version read"), 0);
}

#[test]
fn old_values_read_as_the_client_reads_them_each_read_audited() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db", "first-value");
    set_password(&app, &admin, &id, "db", "second-value");
    let ids = version_ids(&versions(&app, &admin, &id));

    let old = read_version(&app, &admin, "password", &id, &ids[1]);
    assert_eq!(old.status, 200, "{old:?}");
    assert_eq!(old.text(), "first-value");
    assert_eq!(
        old.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(old.header("cache-control"), Some("no-store"));
    assert_eq!(old.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        read_version(&app, &admin, "password", &id, &ids[0]).text(),
        "second-value"
    );
    assert_eq!(read_audits(&app, &id, "version read; version=1"), 1);
    assert_eq!(read_audits(&app, &id, "version read; version=2"), 1);

    // Text secrets through /text, and the route's kind must be the secret's.
    let text = app.create_text_secret(&admin, &safe, "note", "old text");
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{SECRETS}/{text}/text"),
        Some(json!({"Title": "note", "Text": "new text"})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let text_ids = version_ids(&versions(&app, &admin, &text));
    assert_eq!(
        read_version(&app, &admin, "text", &text, &text_ids[1]).text(),
        "old text"
    );
    assert_eq!(
        read_version(&app, &admin, "password", &text, &text_ids[1]).status,
        404
    );
    assert_eq!(read_version(&app, &admin, "text", &id, &ids[1]).status, 404);
    assert_eq!(read_version(&app, &admin, "file", &id, &ids[1]).status, 404);

    // Files as attachments, under the name the content had.
    let path = format!("{}/file", folder_secrets(&safe));
    let made = send_file(
        &app,
        &admin,
        "POST",
        &path,
        json!({"Title": "cert"}),
        "v1.pem",
        b"first file",
    );
    assert_eq!(made.status, 201, "{made:?}");
    let file = id_of(&made);
    let put = send_file(
        &app,
        &admin,
        "PUT",
        &format!("{SECRETS}/{file}/file"),
        json!({"Title": "cert", "FileName": "v2.pem"}),
        "v2.pem",
        b"second file",
    );
    assert_eq!(put.status, 204, "{put:?}");
    let history = versions(&app, &admin, &file);
    assert_eq!(history["SecretType"], "File");
    let names: Vec<&str> = history["Versions"]
        .as_array()
        .expect("Versions")
        .iter()
        .map(|v| v["FileName"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, vec!["v2.pem", "v1.pem"]);
    let file_ids = version_ids(&history);
    let old_file = read_version(&app, &admin, "file", &file, &file_ids[1]);
    assert_eq!(old_file.status, 200, "{old_file:?}");
    assert_eq!(old_file.body, b"first file");
    assert_eq!(
        old_file.header("content-type"),
        Some("application/octet-stream")
    );
    assert!(old_file
        .header("content-disposition")
        .is_some_and(|d| d.contains("v1.pem")));
    assert_eq!(read_audits(&app, &file, "version read; version=1"), 1);
}

#[test]
fn version_routes_answer_404_405_and_400_like_the_rest() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db", "first-value");
    let other = create_credential(&app, &admin, &safe, "other", "other-value");
    let other_version = version_ids(&versions(&app, &admin, &other)).remove(0);
    let own_version = version_ids(&versions(&app, &admin, &id)).remove(0);

    let get = |path: String| app.v3(&admin, "GET", &path, None);
    assert_eq!(get(format!("{SECRETS}/{UNKNOWN_ID}/versions")).status, 404);
    assert_eq!(get(format!("{SECRETS}/not-a-guid/versions")).status, 404);
    assert_eq!(
        read_version(&app, &admin, "password", &id, UNKNOWN_ID).status,
        404
    );
    // Another secret's version id is no version of this one.
    assert_eq!(
        read_version(&app, &admin, "password", &id, &other_version).status,
        404
    );
    assert_eq!(rollback(&app, &admin, &id, &other_version).status, 404);
    assert_eq!(rollback(&app, &admin, UNKNOWN_ID, &own_version).status, 404);
    assert_eq!(
        get(format!("{SECRETS}/password/{id}/versions/x")).status,
        404
    );
    assert_eq!(
        get(format!("{SECRETS}/other/{id}/versions/{own_version}")).status,
        404
    );
    assert_eq!(
        get(format!("{SECRETS}/{id}/versions?version=3.9")).status,
        400
    );
    let wrong_method = app.v3(&admin, "POST", &format!("{SECRETS}/{id}/versions"), None);
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    let wrong_method = get(format!("{SECRETS}/{id}/versions/{own_version}/rollback"));
    assert_eq!(wrong_method.status, 405, "{wrong_method:?}");
    // Paths and ids in any case, as clients send them.
    let shouted = get(format!(
        "Secrets-Safe/Secrets/Password/{}/Versions/{}",
        id.to_uppercase(),
        own_version.to_uppercase()
    ));
    assert_eq!(shouted.status, 200, "{shouted:?}");
    assert_eq!(shouted.text(), "first-value");
}

// ---------------------------------------------------------------- rollback

#[test]
fn a_rollback_makes_an_old_value_current_and_keeps_the_history() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db", "first-value");
    set_password(&app, &admin, &id, "db", "second-value");
    let before = version_ids(&versions(&app, &admin, &id));

    let reply = rollback(&app, &admin, &id, &before[1]);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    let got = app
        .v3(&admin, "GET", &format!("{SECRETS}/{id}?version=3.3"), None)
        .json();
    assert_eq!(got["Password"], "first-value");
    assert_eq!(got["Username"], "svc");

    let history = versions(&app, &admin, &id);
    let after = version_ids(&history);
    assert_eq!(after.len(), 3);
    assert_eq!(after[1..], before[..], "the old versions stay as they were");
    assert_eq!(history["Versions"][0]["IsActive"], true);
    assert_eq!(history["Versions"][0]["VersionNumber"], 3);
    assert_eq!(
        read_version(&app, &admin, "password", &id, &before[0]).text(),
        "second-value"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'secret.update' AND target = ?1 AND detail LIKE '%rollback to version 1%'",
            [format!("secret:{id}")],
        ),
        1
    );

    // Back to the value already current: nothing changes.
    let again = rollback(&app, &admin, &id, &before[1]);
    assert_eq!(again.status, 204, "{again:?}");
    assert_eq!(version_ids(&versions(&app, &admin, &id)).len(), 3);
}

#[test]
fn a_file_rollback_brings_back_its_name_and_hash() {
    let (app, admin, safe) = start();
    let path = format!("{}/file", folder_secrets(&safe));
    let made = send_file(
        &app,
        &admin,
        "POST",
        &path,
        json!({"Title": "cert"}),
        "v1.pem",
        b"abc",
    );
    assert_eq!(made.status, 201, "{made:?}");
    let first_hash = made.json()["FileHash"].clone();
    let file = id_of(&made);
    let put = send_file(
        &app,
        &admin,
        "PUT",
        &format!("{SECRETS}/{file}/file"),
        json!({"Title": "cert", "FileName": "v2.pem"}),
        "v2.pem",
        b"second",
    );
    assert_eq!(put.status, 204, "{put:?}");
    let ids = version_ids(&versions(&app, &admin, &file));

    assert_eq!(rollback(&app, &admin, &file, &ids[1]).status, 204);
    let meta = app
        .v3(&admin, "GET", &format!("{SECRETS}/{file}/file"), None)
        .json();
    assert_eq!(meta["FileName"], "v1.pem");
    assert_eq!(meta["FileHash"], first_hash);
    let download = app.v3(
        &admin,
        "GET",
        &format!("{SECRETS}/{file}/file/download"),
        None,
    );
    assert_eq!(download.body, b"abc");
}

#[test]
fn versions_follow_the_safe_permissions() {
    let (app, admin, safe) = start();
    let id = create_credential(&app, &admin, &safe, "db", "first-value");
    set_password(&app, &admin, &id, "db", "second-value");
    let ids = version_ids(&versions(&app, &admin, &id));

    // No grant: the secret does not exist for him.
    let stranger = app.user_with_feature(&admin, "stranger", 2);
    assert_eq!(
        app.v3(&stranger, "GET", &format!("{SECRETS}/{id}/versions"), None)
            .status,
        404
    );
    assert_eq!(
        read_version(&app, &stranger, "password", &id, &ids[1]).status,
        404
    );
    assert_eq!(rollback(&app, &stranger, &id, &ids[1]).status, 404);

    // Read: list and read, not roll back.
    let reader = app.user_with_feature(&admin, "reader", 2);
    grant(&app, &admin, &safe, &reader, json!(["Read"]));
    assert_eq!(
        app.v3(&reader, "GET", &format!("{SECRETS}/{id}/versions"), None)
            .status,
        200
    );
    assert_eq!(
        read_version(&app, &reader, "password", &id, &ids[1]).text(),
        "first-value"
    );
    assert_eq!(rollback(&app, &reader, &id, &ids[1]).status, 403);

    // Update on the safe, but only the read level of the feature: no rollback either.
    let viewer = app.user_with_feature(&admin, "viewer", 1);
    grant(&app, &admin, &safe, &viewer, json!(["Read", "Update"]));
    assert_eq!(
        read_version(&app, &viewer, "password", &id, &ids[1]).status,
        200
    );
    assert_eq!(rollback(&app, &viewer, &id, &ids[1]).status, 403);

    let editor = app.user_with_feature(&admin, "editor", 2);
    grant(&app, &admin, &safe, &editor, json!(["Read", "Update"]));
    assert_eq!(rollback(&app, &editor, &id, &ids[1]).status, 204);
    let value = app
        .v3(&admin, "GET", &format!("{SECRETS}/{id}"), None)
        .json();
    assert_eq!(value["Password"], "first-value");
    assert!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE decision = 'deny' AND target = ?1",
            [format!("secret:{id}")],
        ) >= 3,
        "refusals are audited"
    );
}

// ---------------------------------------------------------------- TOTP

#[test]
fn totp_is_write_only_and_its_state_shows_on_every_3_3_read() {
    let (app, admin, safe) = start();
    let key = RFC_SEED_SHA1.to_lowercase();
    let path = format!("{}?version=3.3", folder_secrets(&safe));
    let made = app.v3(&admin, "POST", &path, Some(with_totp("mfa", &key)));
    assert_eq!(made.status, 201, "{made:?}");
    let created = made.json();
    assert_eq!(created["TotpEnabled"], true);
    assert_eq!(
        created["TotpParameters"],
        json!({"Algorithm": "SHA1", "Digits": 6, "Period": 30})
    );
    assert!(created.get("TotpSecretKey").is_none());
    let id = id_of(&made);

    let got = app.v3(&admin, "GET", &format!("{SECRETS}/{id}?version=3.3"), None);
    let got_text = got.text();
    assert!(
        !got_text.to_lowercase().contains(&key),
        "the seed is never returned"
    );
    assert_eq!(got.json()["TotpEnabled"], true);
    assert!(
        got.json().get("SecretValueModifiedOn").is_some(),
        "3.2's fields stay"
    );
    // 3.2 and before have no TOTP fields.
    let older = app
        .v3(&admin, "GET", &format!("{SECRETS}/{id}?version=3.2"), None)
        .json();
    assert!(older.get("TotpEnabled").is_none() && older.get("TotpParameters").is_none());
    // Lists (wrapped as in 3.2) and the other kinds carry the state too.
    app.create_text_secret(&admin, &safe, "note", "text");
    let list = app
        .v3(&admin, "GET", &format!("{SECRETS}?version=3.3"), None)
        .json();
    let data = list["Data"]
        .as_array()
        .expect("3.3 lists are wrapped like 3.2");
    assert_eq!(list["TotalCount"], 2);
    for item in data {
        let expected = item["SecretType"] == "Credential";
        assert_eq!(item["TotpEnabled"], expected, "{item}");
        assert_eq!(item["TotpParameters"].is_null(), !expected, "{item}");
    }
    let by_folder = app
        .v3(
            &admin,
            "GET",
            &format!("{}?version=3.3", folder_secrets(&safe)),
            None,
        )
        .json();
    assert!(by_folder["Data"]
        .as_array()
        .is_some_and(|d| d.iter().all(|i| i.get("TotpEnabled").is_some())));

    // The seed is sealed: neither the Base32 key nor the raw seed is in the state directory.
    for entry in std::fs::read_dir(app.state_dir()).expect("state dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("readable");
            let haystack = String::from_utf8_lossy(&bytes).to_lowercase();
            assert!(!haystack.contains(&key), "{path:?} holds the key");
            assert!(
                !haystack.contains("12345678901234567890"),
                "{path:?} holds the seed"
            );
        }
    }
}

#[test]
fn totp_updates_keep_replace_or_turn_it_off() {
    let (app, admin, safe) = start();
    let id = create_totp_credential(&app, &admin, &safe, "mfa", RFC_SEED_SHA1);
    let put = |body: Value| {
        app.v3(
            &admin,
            "PUT",
            &format!("{SECRETS}/{id}/?version=3.3"),
            Some(body),
        )
    };
    let base = json!({"Title": "mfa", "Username": "svc", "Password": "pw-1"});

    // Omitted: kept (and so in 3.2, which has no TOTP fields at all).
    let kept = put(base.clone());
    assert_eq!(kept.status, 200, "{kept:?}");
    assert_eq!(kept.json()["TotpEnabled"], true);
    let v32 = app.v3(
        &admin,
        "PUT",
        &format!("{SECRETS}/{id}/?version=3.2"),
        Some(base.clone()),
    );
    assert_eq!(v32.status, 200, "{v32:?}");
    assert_eq!(totp_code(&app, &admin, &id).status, 200);

    // True with a URI: replaced, with its parameters.
    let mut replace = base.clone();
    replace["TotpEnabled"] = json!(true);
    replace["TotpSecretKey"] = json!(format!("otpauth://totp/ACME:svc?secret={RFC_SEED_SHA256}&algorithm=SHA256&digits=8&period=60&issuer=ACME"));
    let replaced = put(replace);
    assert_eq!(replaced.status, 200, "{replaced:?}");
    assert_eq!(
        replaced.json()["TotpParameters"],
        json!({"Algorithm": "SHA256", "Digits": 8, "Period": 60})
    );
    let code = totp_code(&app, &admin, &id).json();
    assert_eq!(code["Code"].as_str().map(str::len), Some(8));
    // The replaced seed is forgotten: one sealed seed for the secret.
    let kv = rusqlite::Connection::open(app.state_dir().join("sqlite_key_value.db")).expect("kv");
    let seeds = |kv: &rusqlite::Connection| -> i64 {
        kv.query_row(
            "SELECT count(*) FROM spin_key_value WHERE key LIKE ?1",
            [format!("sealed/secret/{id}/totp/%")],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(seeds(&kv), 1);

    // False: off; the code is gone and so is the seed.
    let mut off = base.clone();
    off["TotpEnabled"] = json!(false);
    let turned_off = put(off);
    assert_eq!(turned_off.status, 200, "{turned_off:?}");
    assert_eq!(turned_off.json()["TotpEnabled"], false);
    assert!(turned_off.json()["TotpParameters"].is_null());
    assert_eq!(totp_code(&app, &admin, &id).status, 404);
    assert_eq!(seeds(&kv), 0);

    // Deleting a secret forgets its seed too.
    let other = create_totp_credential(&app, &admin, &safe, "mfa2", RFC_SEED_SHA1);
    assert_eq!(
        app.v3(&admin, "DELETE", &format!("{SECRETS}/{other}"), None)
            .status,
        200
    );
    let left: i64 = kv
        .query_row(
            "SELECT count(*) FROM spin_key_value WHERE key LIKE ?1",
            [format!("sealed/secret/{other}/%")],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(left, 0);
}

#[test]
fn totp_fields_are_validated_and_never_echoed() {
    let (app, admin, safe) = start();
    let post = |version: &str, body: Value| {
        app.v3(
            &admin,
            "POST",
            &format!("{}?version={version}", folder_secrets(&safe)),
            Some(body),
        )
    };
    let refused: Vec<(&str, Value)> = vec![
        ("3.2", with_totp("a", RFC_SEED_SHA1)),
        (
            "3.3",
            json!({"Title": "b", "Username": "u", "Password": "p", "TotpEnabled": true}),
        ),
        (
            "3.3",
            json!({"Title": "c", "Username": "u", "Password": "p", "TotpSecretKey": RFC_SEED_SHA1}),
        ),
        (
            "3.3",
            json!({"Title": "d", "Username": "u", "Password": "p", "TotpEnabled": false, "TotpSecretKey": RFC_SEED_SHA1}),
        ),
        ("3.3", with_totp("e", "NOT-BASE32-SEED!")),
        ("3.3", with_totp("f", "GEZDGNBV")),
        (
            "3.3",
            with_totp(
                "g",
                &format!("otpauth://hotp/x?secret={RFC_SEED_SHA1}&counter=1"),
            ),
        ),
        (
            "3.3",
            with_totp(
                "h",
                &format!("otpauth://totp/x?secret={RFC_SEED_SHA1}&digits=10"),
            ),
        ),
        ("3.3", with_totp("i", "otpauth://totp/x?issuer=nosecret")),
        (
            "3.3",
            json!({"Title": "j", "Username": "u", "Password": "p", "TotpEnabled": "yes"}),
        ),
    ];
    for (version, body) in refused {
        let reply = post(version, body.clone());
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        assert!(
            !reply.text().contains("GEZDGNBV"),
            "the key is never echoed: {reply:?}"
        );
        assert!(
            !reply.text().contains("NOT-BASE32"),
            "the key is never echoed: {reply:?}"
        );
    }
    // Text and file secrets have no TOTP.
    let text = app.v3(
        &admin,
        "POST",
        &format!("{}/text?version=3.3", folder_secrets(&safe)),
        Some(
            json!({"Title": "t", "Text": "x", "TotpEnabled": true, "TotpSecretKey": RFC_SEED_SHA1}),
        ),
    );
    assert_eq!(text.status, 400, "{text:?}");
    // Nothing was written by a refused request.
    assert_eq!(app.count("SELECT count(*) FROM secrets", []), 0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'secret.create'",
            []
        ),
        0
    );
}

/// RFC 6238 appendix B, on the runner's clock: moved to 5 seconds into the 30-second
/// window of the vectors' time T (so the request lands in it), each algorithm answers
/// the RFC's 8-digit code, valid over the whole window.
#[test]
fn totp_codes_match_the_rfc_6238_vectors_on_the_runner_clock() {
    let (app, admin, safe) = start();
    let uri = |seed: &str, algorithm: &str| {
        format!("otpauth://totp/rfc?secret={seed}&algorithm={algorithm}&digits=8&period=30")
    };
    let sha1 = create_totp_credential(&app, &admin, &safe, "sha1", &uri(RFC_SEED_SHA1, "SHA1"));
    let sha256 = create_totp_credential(
        &app,
        &admin,
        &safe,
        "sha256",
        &uri(RFC_SEED_SHA256, "SHA256"),
    );
    let sha512 = create_totp_credential(
        &app,
        &admin,
        &safe,
        "sha512",
        &uri(RFC_SEED_SHA512, "SHA512"),
    );
    let text = app.create_text_secret(&admin, &safe, "note", "text");
    let plain = create_credential(&app, &admin, &safe, "plain", "pw");
    assert_eq!(
        totp_code(&app, &admin, &text).status,
        400,
        "text secrets have no codes"
    );
    assert_eq!(totp_code(&app, &admin, &plain).status, 404, "TOTP off");
    assert_eq!(totp_code(&app, &admin, UNKNOWN_ID).status, 404);
    let reader = app.user_with_feature(&admin, "reader", 1);
    grant(&app, &admin, &safe, &reader, json!(["Read"]));
    assert_eq!(
        totp_code(&app, &reader, &sha1).status,
        200,
        "Read is enough"
    );
    let stranger = app.user_with_feature(&admin, "stranger", 2);
    assert_eq!(
        totp_code(&app, &stranger, &sha1).status,
        404,
        "no grant: not there"
    );

    let vectors: &[(i64, [&str; 3])] = &[
        (2_000_000_000, ["69279037", "90698825", "38618901"]),
        (20_000_000_000, ["65353130", "77737706", "47863826"]),
    ];
    // The runner's clock is the real one plus what the test advanced it by.
    let mut advanced = 0;
    for (t, codes) in vectors {
        let window = t - t.rem_euclid(30);
        let by = window + 5 - (edgesafe_tests::now() + advanced);
        app.advance_clock(Duration::from_secs(
            u64::try_from(by).expect("in the future"),
        ));
        advanced += by;
        // The clock jumped past every session's lifetime: sign in again.
        let admin = app.admin();
        for (id, code) in [&sha1, &sha256, &sha512].into_iter().zip(codes) {
            let reply = totp_code(&app, &admin, id);
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.header("cache-control"), Some("no-store"));
            let body = reply.json();
            assert_eq!(body["Code"], *code, "T={t}");
            assert_eq!(body["ValidFromUtc"], utc(window));
            assert_eq!(body["ValidToUtc"], utc(window + 30));
        }
    }
    assert_eq!(
        read_audits(&app, &sha1, "totp code"),
        3,
        "every code read is audited"
    );
}

/// Concurrent TOTP replacements: one seed wins each race, and every seed that lost (or
/// was replaced) is forgotten, so exactly one stays sealed, the one the code comes from.
#[test]
fn concurrent_totp_changes_leave_exactly_one_sealed_seed() {
    let (app, admin, safe) = start();
    let id = create_totp_credential(&app, &admin, &safe, "mfa", RFC_SEED_SHA1);
    let seeds = [
        RFC_SEED_SHA1,
        RFC_SEED_SHA256,
        RFC_SEED_SHA512,
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ];
    std::thread::scope(|scope| {
        for seed in seeds {
            let (app, admin, id) = (&app, &admin, &id);
            scope.spawn(move || {
                for _ in 0..5 {
                    let body = json!({"Title": "mfa", "Username": "svc", "Password": "pw-1",
                        "TotpEnabled": true, "TotpSecretKey": seed});
                    let reply = app.v3(
                        admin,
                        "PUT",
                        &format!("{SECRETS}/{id}/?version=3.3"),
                        Some(body),
                    );
                    assert_eq!(reply.status, 200, "{reply:?}");
                }
            });
        }
    });
    let kv = rusqlite::Connection::open(app.state_dir().join("sqlite_key_value.db")).expect("kv");
    let sealed: i64 = kv
        .query_row(
            "SELECT count(*) FROM spin_key_value WHERE key LIKE ?1",
            [format!("sealed/secret/{id}/totp/%")],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(sealed, 1);
    let row_seed: String = app
        .db()
        .query_row(
            "SELECT totp_seed_id FROM secrets WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .expect("a seed id");
    let kept: i64 = kv
        .query_row(
            "SELECT count(*) FROM spin_key_value WHERE key = ?1",
            [format!("sealed/secret/{id}/totp/{row_seed}")],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(kept, 1, "the sealed seed is the row's");
    assert_eq!(totp_code(&app, &admin, &id).status, 200);
}
