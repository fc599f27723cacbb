//! Secrets Safe folders end to end: every route's success path with its exact wire
//! shape, the list filters, moves and the tree rules, delete, favourites, the CSV
//! import, the errors, and who may do what.

use edgesafe_tests::{Reply, Session, TestApp, V3};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const FOLDERS: &str = "secrets-safe/folders";
const UNKNOWN_ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

/// The properties of a folder on the wire.
const FOLDER_KEYS: &[&str] = &[
    "Id",
    "Name",
    "Description",
    "ParentId",
    "UserGroupId",
    "FolderOwnerId",
    "IsFavorite",
    "FolderPath",
    "CreatedOn",
    "CreatedBy",
    "ModifiedOn",
    "ModifiedBy",
];

/// What a move answer adds to the folder: the summary ps-cli shows.
const MOVE_KEYS: &[&str] = &[
    "FolderId",
    "OldParentId",
    "FolderCount",
    "SecretCount",
    "ShareCount",
    "NewFolderName",
    "OldFolderName",
];

fn folder_path(id: &str) -> String {
    format!("{FOLDERS}/{id}")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// `yyyy-MM-ddTHH:mm:ssZ`.
fn is_wire_datetime(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn create(app: &TestApp, session: &Session, parent: &str, name: &str) -> Value {
    let reply = app.v3(
        session,
        "POST",
        FOLDERS,
        Some(json!({"Name": name, "Description": format!("{name} folder"), "ParentId": parent})),
    );
    assert_eq!(reply.status, 201, "create folder {name}: {reply:?}");
    reply.json()
}

fn id_of(folder: &Value) -> String {
    folder["Id"].as_str().expect("Id").to_string()
}

fn get(app: &TestApp, session: &Session, id: &str) -> Reply {
    app.v3(session, "GET", &folder_path(id), None)
}

fn list(app: &TestApp, session: &Session, query: &str) -> Vec<Value> {
    let path = if query.is_empty() {
        FOLDERS.to_string()
    } else {
        format!("{FOLDERS}?{query}")
    };
    let reply = app.v3(session, "GET", &path, None);
    assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
    reply.json().as_array().cloned().expect("a list")
}

/// The `FolderPath`s a list answers, in its order.
fn paths(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|f| f["FolderPath"].as_str().expect("FolderPath").to_string())
        .collect()
}

fn move_folder(app: &TestApp, session: &Session, id: &str, to: &str, action: &str) -> Reply {
    app.v3(
        session,
        "PUT",
        &format!("{}/move", folder_path(id)),
        Some(json!({"DestinationFolderId": to, "DuplicateNameAction": action})),
    )
}

/// Grants `flags` on `safe` to a user, as a manager of the safe.
fn grant(app: &TestApp, manager: &Session, safe: &str, user: &Session, flags: &[&str]) {
    let reply = app.v3(
        manager,
        "PUT",
        &format!("secrets-safe/safes/{safe}/safe-permissions"),
        Some(json!({"PrincipalType": 0, "PrincipalID": user.user_id, "PermissionFlags": flags})),
    );
    assert_eq!(reply.status, 204, "grant {flags:?}: {reply:?}");
}

const BOUNDARY: &str = "edgesafe-test-boundary-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body: parts of (name, file name, content type, bytes).
fn multipart(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for (name, file_name, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file_name {
            Some(file) => format!("form-data; name=\"{name}\"; filename=\"{file}\""),
            None => format!("form-data; name=\"{name}\""),
        };
        body.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// Uploads `csv` the way the library does: a part named `form-data`, `text/csv`.
fn upload(app: &TestApp, session: &Session, path: &str, csv: &[u8]) -> Reply {
    let (content_type, body) = multipart(&[("form-data", Some("secrets.csv"), "text/csv", csv)]);
    app.v3_raw(session, "POST", path, &content_type, &body)
}

fn upload_path(folder: &str) -> String {
    format!("{}/upload", folder_path(folder))
}

/// Creates a credential secret through the secrets component.
fn create_secret(app: &TestApp, session: &Session, folder: &str, title: &str) -> String {
    let reply = app.v3(
        session,
        "POST",
        &format!("{}/secrets", folder_path(folder)),
        Some(
            json!({"Title": title, "Username": "svc", "Password": "Pa55word-for-tests!",
            "OwnerId": session.user_id, "OwnerType": "User",
            "Owners": [{"OwnerId": session.user_id}]}),
        ),
    );
    assert_eq!(reply.status, 201, "create secret {title}: {reply:?}");
    reply.json()["Id"].as_str().expect("Id").to_string()
}

// ---------------------------------------------------------------- create, read, update

#[test]
fn create_get_and_update_answer_the_folder_shape() {
    let app = TestApp::start();
    let admin = app.admin();
    let owner = app.user_with_feature(&admin, "folder-owner", 2);
    let safe = app.create_safe(&owner, "Team Safe");
    // A group the owner is in: the only kind of group he may name.
    let group = app.group_with_feature(&admin, "folder-group", 1, &[owner.user_id]);

    // POST: 201 with the whole folder.
    let reply = app.v3(
        &owner,
        "POST",
        FOLDERS,
        Some(
            json!({"Name": "  Apps ", "Description": "application secrets",
            "ParentId": safe.to_uppercase(), "UserGroupId": group}),
        ),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let apps = reply.json();
    assert_eq!(keys(&apps), key_set(FOLDER_KEYS), "{apps}");
    let apps_id = id_of(&apps);
    assert_eq!(apps_id, apps_id.to_lowercase());
    assert_eq!(apps["Name"], "Apps", "names are trimmed");
    assert_eq!(apps["Description"], "application secrets");
    assert_eq!(apps["ParentId"], safe.as_str());
    assert_eq!(apps["UserGroupId"], group);
    assert_eq!(apps["FolderOwnerId"], owner.user_id);
    assert_eq!(apps["IsFavorite"], false);
    assert_eq!(apps["FolderPath"], "Team Safe/Apps");
    assert_eq!(apps["CreatedBy"], "folder-owner");
    assert_eq!(apps["ModifiedBy"], "folder-owner");
    assert!(is_wire_datetime(&apps["CreatedOn"]), "{apps}");
    assert!(is_wire_datetime(&apps["ModifiedOn"]), "{apps}");

    // The library's body: Description "" and UserGroupId null. A group id that names
    // no group is dropped, not refused (the field is deprecated).
    let reply = app.v3(
        &owner,
        "POST",
        FOLDERS,
        Some(json!({"Name": "Web", "Description": "", "ParentId": apps_id, "UserGroupId": null})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let web = reply.json();
    assert_eq!(web["FolderPath"], "Team Safe/Apps/Web");
    assert_eq!(web["ParentId"], apps_id.as_str());
    assert_eq!(web["UserGroupId"], Value::Null);
    // bt-cli: no Description at all, property names in another case.
    let reply = app.v3(
        &owner,
        "POST",
        FOLDERS,
        Some(json!({"name": "Db", "PARENTID": apps_id, "UserGroupId": 999_999})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    let db_folder = reply.json();
    assert_eq!(db_folder["Description"], "");
    assert_eq!(db_folder["UserGroupId"], Value::Null);

    // GET: the same shape; a safe is a folder without a parent.
    let reply = get(&app, &owner, &apps_id.to_uppercase());
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json(), apps);
    let reply = get(&app, &owner, &safe);
    assert_eq!(reply.status, 200, "{reply:?}");
    let safe_folder = reply.json();
    assert_eq!(keys(&safe_folder), key_set(FOLDER_KEYS));
    assert_eq!(safe_folder["ParentId"], Value::Null);
    assert_eq!(safe_folder["FolderPath"], "Team Safe");

    // PUT: only what is sent changes (bt-cli sends just Name), 200 with the folder.
    app.advance_clock(Duration::from_secs(90));
    let reply = app.v3(
        &owner,
        "PUT",
        &folder_path(&apps_id),
        Some(json!({"Name": "Applications"})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let renamed = reply.json();
    assert_eq!(keys(&renamed), key_set(FOLDER_KEYS));
    assert_eq!(renamed["Name"], "Applications");
    assert_eq!(renamed["Description"], "application secrets");
    assert_eq!(renamed["UserGroupId"], group);
    assert_eq!(renamed["FolderPath"], "Team Safe/Applications");
    assert_eq!(renamed["CreatedOn"], apps["CreatedOn"]);
    assert_ne!(renamed["ModifiedOn"], apps["ModifiedOn"]);
    // Paths below follow the rename.
    let reply = get(&app, &owner, &id_of(&web));
    assert_eq!(reply.json()["FolderPath"], "Team Safe/Applications/Web");

    // The library's full body, ParentId unchanged: a plain update.
    let reply = app.v3(
        &owner,
        "PUT",
        &folder_path(&apps_id),
        Some(json!({"Name": "Apps", "Description": "", "ParentId": safe, "UserGroupId": null})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let updated = reply.json();
    assert_eq!(updated["Name"], "Apps");
    assert_eq!(updated["Description"], "");
    assert_eq!(updated["UserGroupId"], group, "null keeps the group");
    // Renaming to the same name in another case is not a conflict with itself.
    let reply = app.v3(
        &owner,
        "PUT",
        &folder_path(&apps_id),
        Some(json!({"Name": "APPS"})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["Name"], "APPS");
}

#[test]
fn bad_input_gets_400_409_415_404_and_405() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Checks");
    let apps = id_of(&create(&app, &admin, &safe, "Apps"));
    let post = |body: Value| app.v3(&admin, "POST", FOLDERS, Some(body));

    let cases = [
        (json!({"ParentId": safe}), "Name"),
        (json!({"Name": "   ", "ParentId": safe}), "Name"),
        (json!({"Name": "a/b", "ParentId": safe}), "Name"),
        (json!({"Name": "x".repeat(257), "ParentId": safe}), "Name"),
        (json!({"Name": "tab\tname", "ParentId": safe}), "Name"),
        (
            json!({"Name": "ok", "Description": "d".repeat(257), "ParentId": safe}),
            "Description",
        ),
        (json!({"Name": "ok"}), "ParentId"),
        (json!({"Name": "ok", "ParentId": "not-a-guid"}), "ParentId"),
        (json!({"Name": 5, "ParentId": safe}), "name"),
        (
            json!({"Name": "ok", "ParentId": safe, "UserGroupId": "many"}),
            "usergroupid",
        ),
    ];
    for (body, field) in cases {
        let reply = post(body.clone());
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
        let message = reply.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.starts_with(field), "{body}: {message}");
        assert_eq!(reply.json()["Code"], "bad_request");
    }
    // 256 characters is the limit, not beyond it.
    let long = "y".repeat(256);
    let reply = post(json!({"Name": long, "Description": "d".repeat(256), "ParentId": safe}));
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["Name"], long.as_str());

    // Not JSON, or not declared as JSON.
    let reply = app.v3_raw(&admin, "POST", FOLDERS, "application/json", b"{\"Name\": ");
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = app.v3_raw(&admin, "POST", FOLDERS, "text/plain", b"{}");
    assert_eq!(reply.status, 415, "{reply:?}");
    let reply = app.v3_raw(&admin, "PUT", &folder_path(&apps), "text/plain", b"{}");
    assert_eq!(reply.status, 415, "{reply:?}");
    let reply = app.v3_raw(
        &admin,
        "PUT",
        &format!("{}/favorite", folder_path(&apps)),
        "application/x-www-form-urlencoded",
        b"Favorite=true",
    );
    assert_eq!(reply.status, 415, "{reply:?}");

    // A parent that does not exist is not found.
    let reply = post(json!({"Name": "ok", "ParentId": UNKNOWN_ID}));
    assert_eq!(reply.status, 404, "{reply:?}");

    // Names are unique among siblings whatever their case, and only there.
    let reply = post(json!({"Name": "aPPs", "ParentId": safe}));
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(reply.json()["Code"], "conflict");
    create(&app, &admin, &apps, "Apps");
    let other = id_of(&create(&app, &admin, &safe, "Other"));
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&other),
        Some(json!({"Name": "apps"})),
    );
    assert_eq!(reply.status, 409, "{reply:?}");
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&other),
        Some(json!({"Name": "bad/name"})),
    );
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&other),
        Some(json!({"ParentId": "nope"})),
    );
    assert_eq!(reply.status, 400, "{reply:?}");

    // A safe is not updated, moved or deleted here.
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&safe),
        Some(json!({"Name": "X"})),
    );
    assert_eq!(reply.status, 400, "{reply:?}");
    let reply = app.v3(&admin, "DELETE", &folder_path(&safe), None);
    assert_eq!(reply.status, 400, "{reply:?}");
    let other_safe = app.create_safe(&admin, "Elsewhere");
    let reply = move_folder(&app, &admin, &safe, &other_safe, "Stop");
    assert_eq!(reply.status, 400, "{reply:?}");

    // Folders nest at most 7 names deep, the safe's included.
    let mut parent = safe.clone();
    for level in 2..=7 {
        parent = id_of(&create(&app, &admin, &parent, &format!("L{level}")));
    }
    let reply = post(json!({"Name": "L8", "ParentId": parent}));
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.json()["Message"]
        .as_str()
        .unwrap_or_default()
        .contains("7 levels"));
    // ... and a move may not push a subtree past that either.
    let reply = move_folder(&app, &admin, &other, &parent, "Stop");
    assert_eq!(reply.status, 400, "{reply:?}");

    // Ids in the path: not a GUID, or unknown, is 404.
    for path in [
        format!("{FOLDERS}/not-a-guid"),
        format!("{FOLDERS}/{UNKNOWN_ID}"),
        format!("{FOLDERS}/12345/move"),
    ] {
        let method = if path.ends_with("move") { "PUT" } else { "GET" };
        let reply = app.v3(&admin, method, &path, Some(json!({})));
        assert_eq!(reply.status, 404, "{path}: {reply:?}");
        assert_eq!(reply.json()["Code"], "not_found");
    }
    for method in ["PUT", "DELETE"] {
        let reply = app.v3(
            &admin,
            method,
            &folder_path(UNKNOWN_ID),
            Some(json!({"Name": "x"})),
        );
        assert_eq!(reply.status, 404, "{method}: {reply:?}");
    }
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{}/favorite", folder_path(UNKNOWN_ID)),
        Some(json!({"Favorite": true})),
    );
    assert_eq!(reply.status, 404, "{reply:?}");
    // Unknown routes, and methods a route does not have.
    let reply = app.v3(&admin, "GET", &format!("{}/nope", folder_path(&apps)), None);
    assert_eq!(reply.status, 404, "{reply:?}");
    for (method, path) in [
        ("DELETE", FOLDERS.to_string()),
        ("PUT", FOLDERS.to_string()),
        ("PATCH", folder_path(&apps)),
        ("GET", format!("{}/move", folder_path(&apps))),
        ("POST", format!("{}/favorite", folder_path(&apps))),
        ("GET", upload_path(&apps)),
    ] {
        let reply = app.v3(&admin, method, &path, None);
        assert_eq!(reply.status, 405, "{method} {path}: {reply:?}");
        assert_eq!(reply.json()["Code"], "method_not_allowed");
        let allow = reply.header("allow").unwrap_or_default().to_string();
        assert!(
            !allow.is_empty() && !allow.contains(method),
            "{method} {path}: {allow}"
        );
    }
}

// ---------------------------------------------------------------- list filters

#[test]
fn list_filters_order_and_paging() {
    let app = TestApp::start();
    let admin = app.admin();
    let other = app.user_with_feature(&admin, "other-owner", 2);
    let alpha = app.create_safe(&admin, "Alpha");
    let beta = app.create_safe(&admin, "Beta");
    let apps = id_of(&create(&app, &admin, &alpha, "Apps"));
    create(&app, &admin, &apps, "Web");
    create(&app, &admin, &apps, "db");
    create(&app, &admin, &alpha, "Apps Archive");
    create(&app, &admin, &alpha, "Infra");
    // A folder owned by another user (who needs Create on the safe to make it).
    grant(&app, &admin, &beta, &other, &["Read", "Create"]);
    let owned = create(&app, &other, &beta, "Mine");
    assert_eq!(owned["FolderOwnerId"], other.user_id);

    // No filters: everything the caller can read, in tree order (each folder right
    // after its parent, names compared without case), his personal folder included.
    let all = list(&app, &admin, "");
    assert_eq!(
        paths(&all),
        [
            "Alpha",
            "Alpha/Apps",
            "Alpha/Apps/db",
            "Alpha/Apps/Web",
            "Alpha/Apps Archive",
            "Alpha/Infra",
            "Beta",
            "Beta/Mine",
            "Personal Folder",
        ]
    );
    for folder in &all {
        assert_eq!(keys(folder), key_set(FOLDER_KEYS), "{folder}");
    }

    // FolderName: any part of the name, any case; parameter names in any case.
    assert_eq!(
        paths(&list(&app, &admin, "folderName=APP")),
        ["Alpha/Apps", "Alpha/Apps Archive"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "FolderName=apps%20arch")),
        ["Alpha/Apps Archive"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "FOLDERNAME=zzz")),
        Vec::<String>::new()
    );

    // FolderPath: that folder and what is below it, unless IncludeSubfolders=false.
    assert_eq!(
        paths(&list(&app, &admin, "folderPath=Alpha/Apps")),
        ["Alpha/Apps", "Alpha/Apps/db", "Alpha/Apps/Web"]
    );
    assert_eq!(
        paths(&list(
            &app,
            &admin,
            "FolderPath=/alpha/APPS/&IncludeSubfolders=True"
        )),
        ["Alpha/Apps", "Alpha/Apps/db", "Alpha/Apps/Web"]
    );
    assert_eq!(
        paths(&list(
            &app,
            &admin,
            "FolderPath=Alpha/Apps&includeSubfolders=False"
        )),
        ["Alpha/Apps"]
    );
    assert_eq!(
        paths(&list(
            &app,
            &admin,
            "folderPath=Beta&includesubfolders=false"
        )),
        ["Beta"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "FolderPath=Alpha/Nothing")),
        Vec::<String>::new()
    );

    // RootOnly: the safes and the personal folder.
    assert_eq!(
        paths(&list(&app, &admin, "RootOnly=True")),
        ["Alpha", "Beta", "Personal Folder"]
    );
    // What the library always sends, with its Python spelling of booleans.
    assert_eq!(
        paths(&list(
            &app,
            &admin,
            "folderName=web&includeSubfolders=True&rootOnly=False"
        )),
        ["Alpha/Apps/Web"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "rootonly=true&foldername=bet")),
        ["Beta"]
    );

    // FolderOwnerId.
    assert_eq!(
        paths(&list(
            &app,
            &admin,
            &format!("FolderOwnerId={}", other.user_id)
        )),
        ["Beta/Mine"]
    );
    assert_eq!(
        list(&app, &admin, &format!("folderOwnerId={}", admin.user_id)).len(),
        8
    );

    // Limit and Offset cut the ordered list; the default limit (1000) shows all.
    assert_eq!(
        paths(&list(&app, &admin, "Limit=2")),
        ["Alpha", "Alpha/Apps"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "limit=3&offset=2")),
        ["Alpha/Apps/db", "Alpha/Apps/Web", "Alpha/Apps Archive"]
    );
    assert_eq!(
        paths(&list(&app, &admin, "Offset=7")),
        ["Beta/Mine", "Personal Folder"]
    );
    assert!(list(&app, &admin, "Offset=100").is_empty());
    assert_eq!(list(&app, &admin, "Limit=1000").len(), 9);

    // One paging rule for folders and secrets: Limit 1 to 1000, the same answer.
    let folders = app.v3(&admin, "GET", &format!("{FOLDERS}?Limit=1001"), None);
    let secrets = app.v3(&admin, "GET", "secrets-safe/secrets?Limit=1001", None);
    assert_eq!(folders.status, 400, "{folders:?}");
    assert_eq!((secrets.status, &secrets.body), (400, &folders.body));

    // Bad values are 400 naming the parameter.
    for query in [
        "Limit=0",
        "Limit=1000000",
        "limit=-1",
        "Limit=abc",
        "Limit=1.5",
        "Offset=-1",
        "offset=x",
        "RootOnly=maybe",
        "includeSubfolders=yes",
        "FolderOwnerId=someone",
    ] {
        let reply = app.v3(&admin, "GET", &format!("{FOLDERS}?{query}"), None);
        assert_eq!(reply.status, 400, "{query}: {reply:?}");
        let name = query.split('=').next().unwrap_or_default().to_lowercase();
        let message = reply.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase();
        assert!(message.starts_with(&name), "{query}: {message}");
    }
}

// ---------------------------------------------------------------- moves

#[test]
fn moves_keep_the_tree_and_its_safes_right() {
    let app = TestApp::start();
    let admin = app.admin();
    let alpha = app.create_safe(&admin, "Alpha");
    let beta = app.create_safe(&admin, "Beta");
    let apps = create(&app, &admin, &alpha, "Apps");
    let apps_id = id_of(&apps);
    let web = id_of(&create(&app, &admin, &apps_id, "Web"));
    let deep = id_of(&create(&app, &admin, &web, "Deep"));
    let infra = id_of(&create(&app, &admin, &alpha, "Infra"));

    // Within the safe: 200, the folder as it now is, and the move summary.
    let reply = move_folder(&app, &admin, &web, &infra, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    let moved = reply.json();
    let mut expected = key_set(FOLDER_KEYS);
    expected.extend(key_set(MOVE_KEYS));
    assert_eq!(keys(&moved), expected, "{moved}");
    assert_eq!(moved["Id"], web.as_str());
    assert_eq!(moved["FolderId"], web.as_str());
    assert_eq!(moved["ParentId"], infra.as_str());
    assert_eq!(moved["OldParentId"], apps_id.as_str());
    assert_eq!(moved["FolderPath"], "Alpha/Infra/Web");
    assert_eq!(moved["FolderCount"], 2);
    assert_eq!(moved["SecretCount"], 0);
    assert_eq!(moved["ShareCount"], 0);
    assert_eq!(moved["NewFolderName"], "Web");
    assert_eq!(moved["OldFolderName"], "Web");
    assert_eq!(
        get(&app, &admin, &deep).json()["FolderPath"],
        "Alpha/Infra/Web/Deep"
    );

    // Cycles: into itself or anything below it is 400, and nothing changes.
    for target in [&web, &deep] {
        let reply = move_folder(&app, &admin, &web, target, "Rename");
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("DestinationFolderId"));
    }
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&infra),
        Some(json!({"ParentId": deep})),
    );
    assert_eq!(reply.status, 400, "PUT into its own subtree: {reply:?}");
    assert_eq!(get(&app, &admin, &infra).json()["ParentId"], alpha.as_str());

    // Bad bodies and destinations.
    for body in [
        json!({"DuplicateNameAction": "Stop"}),
        json!({"DestinationFolderId": "nope", "DuplicateNameAction": "Stop"}),
        json!({"DestinationFolderId": beta, "DuplicateNameAction": "Merge"}),
    ] {
        let reply = app.v3(
            &admin,
            "PUT",
            &format!("{}/move", folder_path(&web)),
            Some(body.clone()),
        );
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
    }
    let reply = move_folder(&app, &admin, &web, UNKNOWN_ID, "Stop");
    assert_eq!(reply.status, 404, "{reply:?}");

    // To another safe: the whole subtree now belongs to Beta. A user who may read
    // only Beta sees the moved folders (their permissions come from their safe).
    let reader = app.user_with_feature(&admin, "beta-reader", 1);
    grant(&app, &admin, &beta, &reader, &["Read"]);
    assert_eq!(get(&app, &reader, &deep).status, 404);
    let reply = move_folder(&app, &admin, &web, &beta, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["FolderPath"], "Beta/Web");
    assert_eq!(
        paths(&list(&app, &reader, "")),
        ["Beta", "Beta/Web", "Beta/Web/Deep"]
    );
    let reply = get(&app, &reader, &deep);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["FolderPath"], "Beta/Web/Deep");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM folders WHERE safe_id = ?1 AND id IN (?2, ?3)",
            [beta.as_str(), web.as_str(), deep.as_str()],
        ),
        2
    );

    // A name that is taken at the destination (in any case).
    create(&app, &admin, &alpha, "web");
    // Stop: 409, nothing moves.
    let reply = move_folder(&app, &admin, &web, &alpha, "Stop");
    assert_eq!(reply.status, 409, "{reply:?}");
    assert_eq!(get(&app, &admin, &web).json()["ParentId"], beta.as_str());
    // Skip: 200 with the folder unchanged, where it was.
    let reply = move_folder(&app, &admin, &web, &alpha, "skip");
    assert_eq!(reply.status, 200, "{reply:?}");
    let skipped = reply.json();
    assert_eq!(skipped["ParentId"], beta.as_str());
    assert_eq!(skipped["FolderPath"], "Beta/Web");
    assert_eq!(skipped["FolderCount"], 0);
    // Rename: "Web (1)", then "Web (2)" for the next one of that name.
    let reply = move_folder(&app, &admin, &web, &alpha, "Rename");
    assert_eq!(reply.status, 200, "{reply:?}");
    let renamed = reply.json();
    assert_eq!(renamed["Name"], "Web (1)");
    assert_eq!(renamed["NewFolderName"], "Web (1)");
    assert_eq!(renamed["OldFolderName"], "Web");
    assert_eq!(renamed["FolderPath"], "Alpha/Web (1)");
    assert_eq!(renamed["OldParentId"], beta.as_str());
    let third = id_of(&create(&app, &admin, &beta, "WEB"));
    let reply = move_folder(&app, &admin, &third, &alpha, "RENAME");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["Name"], "WEB (2)");
    assert_eq!(paths(&list(&app, &reader, "")), ["Beta"]);

    // Moving to where it already is: 200, nothing changes.
    let reply = move_folder(&app, &admin, &infra, &alpha, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["ParentId"], alpha.as_str());

    // PUT with a new ParentId moves too, refusing a duplicate name there.
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&infra),
        Some(json!({"ParentId": beta, "Description": "moved by PUT"})),
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let put = reply.json();
    assert_eq!(put["ParentId"], beta.as_str());
    assert_eq!(put["FolderPath"], "Beta/Infra");
    assert_eq!(put["Description"], "moved by PUT");
    create(&app, &admin, &alpha, "Infra");
    let reply = app.v3(
        &admin,
        "PUT",
        &folder_path(&infra),
        Some(json!({"ParentId": alpha})),
    );
    assert_eq!(reply.status, 409, "{reply:?}");
}

// ---------------------------------------------------------------- delete

#[test]
fn delete_removes_an_empty_subtree_at_once() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Deletes");
    let top = id_of(&create(&app, &admin, &safe, "Top"));
    let mid = id_of(&create(&app, &admin, &top, "Mid"));
    let low = id_of(&create(&app, &admin, &mid, "Low"));
    let keep = id_of(&create(&app, &admin, &safe, "Keep"));
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("{}/favorite", folder_path(&low)),
        Some(json!({"Favorite": true})),
    );
    assert_eq!(reply.status, 204, "{reply:?}");

    let reply = app.v3(&admin, "DELETE", &folder_path(&top), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    for id in [&top, &mid, &low] {
        assert_eq!(get(&app, &admin, id).status, 404);
    }
    assert_eq!(get(&app, &admin, &keep).status, 200);
    assert_eq!(
        paths(&list(&app, &admin, "")),
        ["Deletes", "Deletes/Keep", "Personal Folder"]
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM folder_favorites WHERE folder_id = ?1",
            [&low]
        ),
        0
    );
    // Gone is gone.
    let reply = app.v3(&admin, "DELETE", &folder_path(&top), None);
    assert_eq!(reply.status, 404, "{reply:?}");
}

/// A secret row written directly, as the secrets component stores it: what is tested
/// here is the folders rule, whoever wrote the secret.
fn put_secret_row(app: &TestApp, id: &str, folder: &str) {
    app.db()
        .execute(
            "INSERT INTO secrets (id, folder_id, kind, title, created_at, modified_at, value_modified_at)
             VALUES (?1, ?2, 'credential', ?1, 0, 0, 0)",
            [id, folder],
        )
        .expect("insert secret");
}

#[test]
fn delete_is_refused_while_secrets_live_below_but_not_for_shares_into_it() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Holds");
    let top = id_of(&create(&app, &admin, &safe, "Top"));
    let low = id_of(&create(&app, &admin, &top, "Low"));
    let elsewhere = id_of(&create(&app, &admin, &safe, "Elsewhere"));
    let secret = "5ec7e700-0000-4000-8000-000000000001";
    put_secret_row(&app, secret, &low);

    for id in [&top, &low] {
        let reply = app.v3(&admin, "DELETE", &folder_path(id), None);
        assert_eq!(reply.status, 409, "{reply:?}");
        assert_eq!(reply.json()["Code"], "conflict");
        assert!(reply.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("secrets"));
    }
    assert_eq!(get(&app, &admin, &low).status, 200);

    // The secret moves away and is shared back into the folder: the share does not
    // block the delete, it goes with the folder; the secret stays.
    app.db()
        .execute(
            "UPDATE secrets SET folder_id = ?1 WHERE id = ?2",
            [elsewhere.as_str(), secret],
        )
        .expect("move secret");
    app.db()
        .execute(
            "INSERT INTO secret_shares (secret_id, folder_id, created_at) VALUES (?1, ?2, 0)",
            [secret, low.as_str()],
        )
        .expect("share");
    let reply = app.v3(&admin, "DELETE", &folder_path(&top), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM secret_shares WHERE secret_id = ?1",
            [secret]
        ),
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM secrets WHERE id = ?1", [secret]),
        1
    );
}

#[test]
fn delete_and_move_with_secrets_made_through_the_api() {
    let app = TestApp::start();
    let admin = app.admin();
    let alpha = app.create_safe(&admin, "Api Alpha");
    let beta = app.create_safe(&admin, "Api Beta");
    let top = id_of(&create(&app, &admin, &alpha, "Top"));
    let low = id_of(&create(&app, &admin, &top, "Low"));
    let target = id_of(&create(&app, &admin, &alpha, "Target"));
    let secret = create_secret(&app, &admin, &low, "db-password");

    let reply = app.v3(&admin, "DELETE", &folder_path(&top), None);
    assert_eq!(reply.status, 409, "{reply:?}");

    // A share of another folder's secret into a folder does not block its delete.
    let shared = create_secret(&app, &admin, &target, "shared-secret");
    let reply = app.v3(
        &admin,
        "POST",
        &format!("secrets-safe/secrets/{shared}/shares/{low}"),
        Some(json!({})),
    );
    assert_eq!(reply.status, 201, "share: {reply:?}");

    // The secrets move with their folder, counted in the summary.
    let reply = move_folder(&app, &admin, &top, &beta, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    let moved = reply.json();
    assert_eq!(moved["FolderCount"], 2);
    assert_eq!(moved["SecretCount"], 1);
    assert_eq!(moved["ShareCount"], 1);
    let reply = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["FolderPath"], "Api Beta/Top/Low");

    let reply = app.v3(
        &admin,
        "DELETE",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert!(
        reply.status == 200 || reply.status == 204,
        "delete secret: {reply:?}"
    );
    let reply = app.v3(&admin, "DELETE", &folder_path(&top), None);
    assert_eq!(reply.status, 204, "{reply:?}");
    let reply = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{shared}/shares"),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        !reply.text().contains(&low),
        "the share went with the folder: {reply:?}"
    );
}

// ---------------------------------------------------------------- favourites

#[test]
fn favorites_are_per_user() {
    let app = TestApp::start();
    let admin = app.admin();
    let reader = app.user_with_feature(&admin, "fav-reader", 2);
    let safe = app.create_safe(&admin, "Favs");
    let folder = id_of(&create(&app, &admin, &safe, "Starred"));
    grant(&app, &admin, &safe, &reader, &["Read"]);
    let favorite = |session: &Session, id: &str, body: Value| {
        app.v3(
            session,
            "PUT",
            &format!("{}/favorite", folder_path(id)),
            Some(body),
        )
    };

    let reply = favorite(&admin, &folder, json!({"Favorite": true}));
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_empty());
    // Twice is the same as once.
    assert_eq!(
        favorite(&admin, &folder, json!({"favorite": true})).status,
        204
    );
    assert_eq!(get(&app, &admin, &folder).json()["IsFavorite"], true);
    assert_eq!(get(&app, &reader, &folder).json()["IsFavorite"], false);
    let listed = list(&app, &admin, "FolderName=Starred");
    assert_eq!(listed[0]["IsFavorite"], true);

    // Reading the safe is enough to mark a folder, or the safe itself.
    assert_eq!(
        favorite(&reader, &safe, json!({"Favorite": true})).status,
        204
    );
    assert_eq!(get(&app, &reader, &safe).json()["IsFavorite"], true);
    assert_eq!(get(&app, &admin, &safe).json()["IsFavorite"], false);

    assert_eq!(
        favorite(&admin, &folder, json!({"Favorite": false})).status,
        204
    );
    assert_eq!(get(&app, &admin, &folder).json()["IsFavorite"], false);

    for body in [
        json!({}),
        json!({"Favorite": "yes"}),
        json!({"Favorite": null}),
    ] {
        let reply = favorite(&admin, &folder, body.clone());
        assert_eq!(reply.status, 400, "{body}: {reply:?}");
    }
}

// ---------------------------------------------------------------- CSV import

#[test]
fn csv_import_refuses_bad_requests_and_reports_bad_lines() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "Imports");
    let folder = id_of(&create(&app, &admin, &safe, "Target"));
    let path = upload_path(&folder);

    // Not multipart: 415; multipart without a file, or a file that is not a CSV file
    // with a usable header: 400, naming no value.
    let reply = app.v3_raw(
        &admin,
        "POST",
        &path,
        "text/csv",
        b"Title,Username,Password\n",
    );
    assert_eq!(reply.status, 415, "{reply:?}");
    let reply = app.v3_raw(&admin, "POST", &path, "multipart/form-data", b"--x--\r\n");
    assert_eq!(reply.status, 400, "no boundary: {reply:?}");
    let (content_type, body) = multipart(&[("comment", None, "text/plain", b"hello")]);
    let reply = app.v3_raw(&admin, "POST", &path, &content_type, &body);
    assert_eq!(reply.status, 400, "no file part: {reply:?}");
    let reply = app.v3_raw(&admin, "POST", &path, &content_type, b"garbage");
    assert_eq!(reply.status, 400, "not multipart: {reply:?}");
    for csv in [
        &b""[..],
        b"\n\n",
        b"\xff\xfe\x00T\x00i\x00t\x00l\x00e",
        b"Title,Username,Password,Colour\nt,u,p,red\n",
        b"Title,Username,Title,Password\n",
        b"Title,Password\n",
        b"Title,Username\n",
        // No header: the first data line is taken for one, and must not be echoed.
        b"mysite,bob,Hunter2-Secret\n",
    ] {
        let reply = upload(&app, &admin, &path, csv);
        assert_eq!(
            reply.status,
            400,
            "{:?}: {reply:?}",
            String::from_utf8_lossy(csv)
        );
        assert!(!reply.text().contains("Hunter2"), "{reply:?}");
        assert!(!reply.text().contains("Colour"), "{reply:?}");
    }

    // Lines that cannot be sent are errors with their line numbers (the header is
    // line 1, blank lines count, a record names the line it starts on), and no error
    // repeats a value. None of these reach the secrets component.
    let csv = "Title,Username,Password,PasswordRuleID,Notes\r\n\
               ,nobody,Pw-Line2-Secret!,,\r\n\
               only,two\r\n\
               \r\n\
               \"no user\",,Pw-Line5-Secret!,,\"multi\r\nline\"\r\n\
               no password,someone,,,\r\n\
               bad rule,someone,,abc,\r\n";
    let reply = upload(&app, &admin, &path, csv.as_bytes());
    assert_eq!(reply.status, 201, "{reply:?}");
    let result = reply.json();
    assert_eq!(result["totalNumber"], 5, "{result}");
    assert_eq!(result["successfulImport"], 0, "{result}");
    assert_eq!(result["TotalNumber"], 5, "ps-cli's spelling: {result}");
    assert_eq!(result["SuccessfulImport"], 0);
    assert_eq!(result["Errors"], result["errors"]);
    let errors: Vec<(i64, String)> = result["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(keys(e), key_set(&["lineNumber", "error"]), "{e}");
            (
                e["lineNumber"].as_i64().expect("lineNumber"),
                e["error"].as_str().expect("error").to_string(),
            )
        })
        .collect();
    let lines: Vec<i64> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [2, 3, 5, 7, 8], "{result}");
    assert!(errors[0].1.starts_with("Title"), "{errors:?}");
    assert!(errors[1].1.contains("fields"), "{errors:?}");
    assert!(errors[2].1.starts_with("Username"), "{errors:?}");
    assert!(errors[3].1.starts_with("Password"), "{errors:?}");
    assert!(errors[4].1.starts_with("PasswordRuleID"), "{errors:?}");
    assert!(!reply.text().contains("Secret!"), "{reply:?}");

    // Into a folder that is not there: 404.
    let reply = upload(
        &app,
        &admin,
        &upload_path(UNKNOWN_ID),
        b"Title,Username,Password\n",
    );
    assert_eq!(reply.status, 404, "{reply:?}");
    // A header alone is an empty import.
    let reply = upload(
        &app,
        &admin,
        &path,
        b"\xef\xbb\xbftitle,USERNAME,password\n",
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["totalNumber"], 0);
    assert_eq!(reply.json()["errors"], json!([]));
}

#[test]
fn csv_import_creates_credentials_through_the_secrets_component() {
    let app = TestApp::start();
    let admin = app.admin();
    let owner = app.user_with_feature(&admin, "importer", 2);
    // The import needs Workforce Passwords (PermissionID 3) besides Secrets-Safe.
    let group = app.count(
        "SELECT id FROM user_groups WHERE name = 'importer-group'",
        [],
    );
    let reply = app.v3(
        &admin,
        "POST",
        &format!("UserGroups/{group}/Permissions"),
        Some(json!([{"PermissionID": 1, "AccessLevelID": 2},
                    {"PermissionID": 3, "AccessLevelID": 2}])),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let safe = app.create_safe(&owner, "Imported");
    let folder = id_of(&create(&app, &owner, &safe, "Creds"));

    let csv = "Title,Username,Password,Description,Notes,Url\n\
               Web,alice,Pw-Alice-Secret-1!,the web app,,https://web.example\n\
               ,bob,Pw-Bob-Secret-2!,,,\n\
               \"Db, primary\",carol,\"Pw \"\"Carol\"\" 3!\",,\"line one\nline two\",\n\
               Web,dave,Pw-Dave-Secret-4!,same title,,\n";
    let reply = upload(&app, &owner, &upload_path(&folder), csv.as_bytes());
    assert_eq!(reply.status, 201, "{reply:?}");
    let result = reply.json();
    assert_eq!(result["totalNumber"], 4, "{result}");
    assert_eq!(result["successfulImport"], 2, "{result}");
    let errors = result["errors"].as_array().expect("errors").clone();
    let lines: Vec<i64> = errors
        .iter()
        .map(|e| e["lineNumber"].as_i64().expect("lineNumber"))
        .collect();
    // Line 3 has no title; line 6 repeats a title in the folder (the secrets
    // component's 409, its message passed on).
    assert_eq!(lines, [3, 6], "{result}");
    assert!(!errors[1]["error"].as_str().unwrap_or_default().is_empty());
    assert!(
        !reply.text().contains("Pw-"),
        "no value in the answer: {reply:?}"
    );

    // The seed's spelling (POST folders/{id}), and a file part with another name.
    let (content_type, body) = multipart(&[
        ("note", None, "text/plain", b"ignored"),
        (
            "file",
            Some("more.csv"),
            "application/vnd.ms-excel",
            b"TITLE,username,PASSWORD\r\nCache,erin,Pw-Erin-Secret-5!\r\n",
        ),
    ]);
    let reply = app.v3_raw(&owner, "POST", &folder_path(&folder), &content_type, &body);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["successfulImport"], 1, "{reply:?}");

    // The secrets are there, owned by the importer, with their fields.
    let reply = app.v3(
        &owner,
        "GET",
        &format!("{}/secrets", folder_path(&folder)),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let secrets = reply.json();
    let titles: BTreeSet<String> = secrets
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["Title"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(titles, key_set(&["Cache", "Db, primary", "Web"]));
    let web = secrets
        .as_array()
        .and_then(|l| l.iter().find(|s| s["Title"] == "Web"))
        .cloned()
        .expect("Web");
    assert_eq!(web["Username"], "alice");
    assert_eq!(web["Description"], "the web app");
    assert_eq!(web["Urls"][0]["Url"], "https://web.example");
    let id = web["Id"].as_str().expect("Id");
    let reply = app.v3(&owner, "GET", &format!("secrets-safe/secrets/{id}"), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["Password"], "Pw-Alice-Secret-1!");

    // The import is audited with counts only.
    let details: Vec<String> = app
        .db()
        .prepare("SELECT detail FROM audit_events WHERE action = 'folder.import'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect())
        })
        .expect("audit rows");
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0].contains("lines=4; imported=2; failed=2"),
        "{details:?}"
    );
    assert!(details.iter().all(|d| !d.contains("Pw-")), "{details:?}");
}

// ---------------------------------------------------------------- authorization

#[test]
fn who_may_do_what() {
    let app = TestApp::start();
    let admin = app.admin();
    let owner = app.user_with_feature(&admin, "safe-owner", 2);
    let no_feature = app.user_with_feature(&admin, "no-feature", 0);
    let read_feature = app.user_with_feature(&admin, "read-feature", 1);
    let stranger = app.user_with_feature(&admin, "stranger", 2);
    let reader = app.user_with_feature(&admin, "reader", 2);
    let creator = app.user_with_feature(&admin, "creator", 2);
    let safe = app.create_safe(&owner, "Guarded");
    let other_safe = app.create_safe(&owner, "Guarded Too");
    let folder = id_of(&create(&app, &owner, &safe, "Inner"));
    let sub = id_of(&create(&app, &owner, &folder, "Sub"));
    // Granted by the administrator: the owner may not name users he cannot see.
    grant(&app, &admin, &safe, &read_feature, &["Read"]);
    grant(&app, &admin, &safe, &reader, &["Read"]);
    grant(&app, &admin, &safe, &creator, &["Read", "Create"]);
    grant(&app, &admin, &other_safe, &creator, &["Read"]);

    let csv = b"Title,Username,Password\n";
    // Every endpoint, with a body that would be valid.
    let calls = |session: &Session| -> Vec<(&'static str, Reply)> {
        vec![
            ("list", app.v3(session, "GET", FOLDERS, None)),
            ("get", get(&app, session, &folder)),
            (
                "create",
                app.v3(
                    session,
                    "POST",
                    FOLDERS,
                    Some(json!({"Name": "New", "ParentId": folder})),
                ),
            ),
            (
                "update",
                app.v3(
                    session,
                    "PUT",
                    &folder_path(&folder),
                    Some(json!({"Description": "changed"})),
                ),
            ),
            ("move", move_folder(&app, session, &sub, &safe, "Stop")),
            (
                "favorite",
                app.v3(
                    session,
                    "PUT",
                    &format!("{}/favorite", folder_path(&folder)),
                    Some(json!({"Favorite": true})),
                ),
            ),
            ("upload", upload(&app, session, &upload_path(&folder), csv)),
            (
                "delete",
                app.v3(session, "DELETE", &folder_path(&sub), None),
            ),
        ]
    };

    // No credentials at all: 401 everywhere.
    for (method, path) in [
        ("GET", FOLDERS.to_string()),
        ("POST", FOLDERS.to_string()),
        ("GET", folder_path(&folder)),
        ("PUT", folder_path(&folder)),
        ("DELETE", folder_path(&folder)),
        ("PUT", format!("{}/move", folder_path(&folder))),
        ("PUT", format!("{}/favorite", folder_path(&folder))),
        ("POST", upload_path(&folder)),
    ] {
        let reply = app.send(
            method,
            &format!("{V3}/{path}"),
            &[("Content-Type", "application/json")],
            Some(b"{}"),
        );
        assert_eq!(reply.status, 401, "{method} {path}: {reply:?}");
    }

    // Without the Secrets-Safe feature: 403 everywhere, even with a grant.
    grant(&app, &admin, &safe, &no_feature, &["Read"]);
    for (what, reply) in calls(&no_feature) {
        assert_eq!(reply.status, 403, "{what}: {reply:?}");
    }
    // With the feature at read only: reads and favourites (the caller's own marks)
    // work, every write is 403.
    for (what, reply) in calls(&read_feature) {
        let want = match what {
            "list" | "get" => 200,
            "favorite" => 204,
            _ => 403,
        };
        assert_eq!(reply.status, want, "{what}: {reply:?}");
    }

    // The feature but no grant on the safe: the folders do not exist for them (the
    // import needs Workforce Passwords first, which the stranger lacks: 403).
    for (what, reply) in calls(&stranger) {
        let want = match what {
            "list" => 200,
            "upload" => 403,
            _ => 404,
        };
        assert_eq!(reply.status, want, "{what}: {reply:?}");
        if what == "list" {
            assert_eq!(reply.json(), json!([]), "{reply:?}");
        }
    }
    let reply = app.v3(
        &stranger,
        "GET",
        &format!("{FOLDERS}?FolderName=Inner"),
        None,
    );
    assert_eq!(reply.json(), json!([]));

    // Read only on the safe: reading and favourites work, changes are 403.
    for (what, reply) in calls(&reader) {
        let want = match what {
            "list" | "get" => 200,
            "favorite" => 204,
            _ => 403,
        };
        assert_eq!(reply.status, want, "{what}: {reply:?}");
    }
    assert_eq!(
        paths(&list(&app, &reader, "")),
        ["Guarded", "Guarded/Inner", "Guarded/Inner/Sub"]
    );

    // Read and Create: new folders yes, changes no; moving into a safe where they
    // hold Read only is 403.
    let reply = app.v3(
        &creator,
        "POST",
        FOLDERS,
        Some(json!({"Name": "Made", "ParentId": folder})),
    );
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["FolderOwnerId"], creator.user_id);
    let reply = app.v3(
        &creator,
        "PUT",
        &folder_path(&sub),
        Some(json!({"Name": "Renamed"})),
    );
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = app.v3(
        &creator,
        "POST",
        FOLDERS,
        Some(json!({"Name": "Nope", "ParentId": other_safe})),
    );
    assert_eq!(reply.status, 403, "{reply:?}");
    grant(&app, &owner, &safe, &creator, &["Read", "Update", "Delete"]);
    let reply = move_folder(&app, &creator, &sub, &other_safe, "Stop");
    assert_eq!(
        reply.status, 403,
        "Create is needed on the destination safe: {reply:?}"
    );
    grant(&app, &owner, &other_safe, &creator, &["Read", "Create"]);
    let reply = move_folder(&app, &creator, &sub, &other_safe, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    grant(&app, &owner, &safe, &creator, &["Read", "Update"]);

    // The owner (Manage) may do everything; Delete needs the Delete flag.
    let reply = app.v3(&creator, "DELETE", &folder_path(&folder), None);
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = app.v3(&owner, "DELETE", &folder_path(&folder), None);
    assert_eq!(reply.status, 204, "{reply:?}");

    // Refused writes are in the audit trail; reads are not.
    let denied = app.count(
        "SELECT count(*) FROM audit_events WHERE actor = ?1 AND decision = 'deny' AND action LIKE 'folder.%'",
        [format!("user:{}", reader.user_id)],
    );
    assert_eq!(denied, 5, "create, update, move, upload, delete");
    let allowed: Vec<String> = app
        .db()
        .prepare(
            "SELECT action FROM audit_events WHERE actor = ?1 AND decision = 'allow' ORDER BY seq",
        )
        .and_then(|mut s| {
            s.query_map([format!("user:{}", owner.user_id)], |r| {
                r.get::<_, String>(0)
            })
            .and_then(|rows| rows.collect())
        })
        .expect("audit rows");
    let folder_actions: Vec<&str> = allowed
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with("folder."))
        .collect();
    assert_eq!(
        folder_actions,
        ["folder.create", "folder.create", "folder.delete"]
    );
}

// ---------------------------------------------------------------- moves across safes

fn share(app: &TestApp, session: &Session, secret: &str, folder: &str) {
    let reply = app.v3(
        session,
        "POST",
        &format!("secrets-safe/secrets/{secret}/shares/{folder}"),
        Some(json!({})),
    );
    assert_eq!(reply.status, 201, "share: {reply:?}");
}

fn secret_folder_path(app: &TestApp, session: &Session, secret: &str) -> Value {
    let reply = app.v3(
        session,
        "GET",
        &format!("secrets-safe/secrets/{secret}"),
        None,
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()["FolderPath"].clone()
}

#[test]
fn moving_a_folder_out_of_its_safe_needs_what_moving_its_secrets_needs() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let a = app.create_safe(&admin, "A");
    let f = id_of(&create(&app, &admin, &a, "F"));
    let g = id_of(&create(&app, &admin, &a, "G"));
    let secret = create_secret(&app, &admin, &f, "db");
    grant(&app, &admin, &a, &alice, &["Read", "Update"]);
    let b = app.create_safe(&alice, "B");

    // Read and Update on A, no Delete: the secret cannot be deleted directly...
    let delete_secret = |session: &Session| {
        app.v3(
            session,
            "DELETE",
            &format!("secrets-safe/secrets/{secret}"),
            None,
        )
    };
    assert_eq!(delete_secret(&alice).status, 403);
    // ...nor carried out of A in its folder, by either route, into her own safe.
    let reply = move_folder(&app, &alice, &f, &b, "Stop");
    assert_eq!(reply.status, 403, "{reply:?}");
    let reply = app.v3(
        &alice,
        "PUT",
        &folder_path(&f),
        Some(json!({"ParentId": b})),
    );
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(secret_folder_path(&app, &admin, &secret), "A/F");
    assert_eq!(delete_secret(&alice).status, 403);
    // Within A, Update is what a move needs.
    let reply = move_folder(&app, &alice, &f, &g, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(secret_folder_path(&app, &admin, &secret), "A/G/F");

    // With Delete on A (and Create on B, which she manages) the move is hers to make.
    grant(&app, &admin, &a, &alice, &["Read", "Update", "Delete"]);
    let reply = move_folder(&app, &alice, &f, &b, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["SecretCount"], 1);
    assert_eq!(secret_folder_path(&app, &admin, &secret), "B/F");

    // The refusals are in the audit trail.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE actor = ?1 AND decision = 'deny'
               AND action IN ('folder.move', 'folder.update')",
            [format!("user:{}", alice.user_id)],
        ),
        2
    );
}

#[test]
fn a_moved_folder_takes_no_share_where_no_share_holder_put_it() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let a = app.create_safe(&admin, "A");
    let c = app.create_safe(&admin, "C");
    let d = app.create_safe(&admin, "D");
    let b = app.create_safe(&alice, "B");
    grant(&app, &admin, &a, &alice, &["Read", "Update", "Delete"]);
    grant(&app, &admin, &d, &alice, &["Read", "Create"]);

    // A secret of C shared into a folder of A: moving that folder to B would link C's
    // secret into B, which no Share holder on C chose.
    let inbox = id_of(&create(&app, &admin, &a, "Inbox"));
    let foreign = create_secret(&app, &admin, &c, "c-secret");
    share(&app, &admin, &foreign, &inbox);
    let reply = move_folder(&app, &alice, &inbox, &b, "Stop");
    assert_eq!(reply.status, 403, "{reply:?}");
    let shared_to = |secret: &str| -> Vec<String> {
        app.v3(
            &admin,
            "GET",
            &format!("secrets-safe/secrets/{secret}/shares"),
            None,
        )
        .json()
        .as_array()
        .expect("shares")
        .iter()
        .map(|s| s["FolderPath"].as_str().unwrap_or_default().to_owned())
        .collect()
    };
    assert_eq!(shared_to(&foreign), ["A/Inbox"]);
    // Share on C makes it her decision to take.
    grant(&app, &admin, &c, &alice, &["Read", "Share"]);
    let reply = move_folder(&app, &alice, &inbox, &b, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(shared_to(&foreign), ["B/Inbox"]);

    // A secret of the moved folder shared into C: after a move to D it would be D's
    // secret linked into C, which needs Share on D.
    let outbox = id_of(&create(&app, &admin, &a, "Outbox"));
    let own = create_secret(&app, &admin, &outbox, "a-secret");
    let c_folder = id_of(&create(&app, &admin, &c, "Drop"));
    share(&app, &admin, &own, &c_folder);
    let reply = move_folder(&app, &alice, &outbox, &d, "Stop");
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(secret_folder_path(&app, &admin, &own), "A/Outbox");
    grant(&app, &admin, &d, &alice, &["Read", "Create", "Share"]);
    let reply = move_folder(&app, &alice, &outbox, &d, "Stop");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(secret_folder_path(&app, &admin, &own), "D/Outbox");
    assert_eq!(shared_to(&own), ["C/Drop"]);
}

// ---------------------------------------------------------------- UserGroupId

#[test]
fn user_group_id_names_only_the_callers_groups_clears_with_0_and_never_blocks_a_group_delete() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = app.user_with_feature(&admin, "alice", 2);
    let hers = app.group_with_feature(&admin, "alice-team", 1, &[alice.user_id]);
    let other = app.group_with_feature(&admin, "not-hers", 1, &[]);
    let safe = app.create_safe(&alice, "Mine");

    // A group she is not in answers like a group that does not exist: left out.
    let post = |group: i64| {
        app.v3(
            &alice,
            "POST",
            FOLDERS,
            Some(json!({"Name": format!("f{group}"), "ParentId": safe, "UserGroupId": group})),
        )
    };
    for group in [other, 999_999] {
        let reply = post(group);
        assert_eq!(reply.status, 201, "{reply:?}");
        assert_eq!(reply.json()["UserGroupId"], Value::Null, "{reply:?}");
    }
    let reply = post(hers);
    assert_eq!(reply.status, 201, "{reply:?}");
    let folder = id_of(&reply.json());
    assert_eq!(reply.json()["UserGroupId"], hers);

    // null keeps it (the library sends null on every update), another's group is
    // ignored, 0 clears it.
    let put = |body: Value| {
        let reply = app.v3(&alice, "PUT", &folder_path(&folder), Some(body));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()["UserGroupId"].clone()
    };
    assert_eq!(put(json!({"UserGroupId": null})), hers);
    assert_eq!(put(json!({"UserGroupId": other})), hers);
    assert_eq!(put(json!({"UserGroupId": 0})), Value::Null);
    assert_eq!(put(json!({"UserGroupId": hers})), hers);

    // The administrator deletes the group all the same; the folder forgets it.
    let reply = app.v3(&admin, "DELETE", &format!("UserGroups/{hers}"), None);
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = get(&app, &alice, &folder);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["UserGroupId"], Value::Null);
}
