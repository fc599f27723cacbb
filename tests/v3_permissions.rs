//! The required permissions of every Secrets Safe v3 endpoint, row by row: the
//! Secrets-Safe feature level the reference names ("Secrets-Safe (Read)" or
//! "(Read/Write)") and the flag on the safe (`crates/secrets-safe/src/required.rs`).
//!
//! Each row is called by a user holding exactly that feature level and exactly those
//! flags on a fresh safe (it passes), by a user one feature level lower with the same
//! flags (403), by a user without the feature (403), and by a user at the row's level
//! holding Read alone (403), or nothing when Read is the flag (404).

use edgesafe_tests::{Reply, Session, TestApp, ADMIN_KEY};
use serde_json::{json, Value};

const R: u8 = 1;
const RW: u8 = 2;

/// What a row's safe holds before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// A safe and nothing in it.
    Empty,
    /// A safe `{S}` with two folders `{F}` and `{G}` and a text secret `{T}` at its root.
    Full,
    /// As `Full`, with `{T}` shared into `{DF}`.
    Shared,
}

/// The request body a row sends.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Json(&'static str),
    Csv,
}

struct Row {
    method: &'static str,
    /// Relative to the v3 base: `{S}` the row's safe, `{F}`/`{G}` its folders, `{T}` its
    /// secret, `{D}` a destination safe where the caller holds Read and Create, `{DF}`
    /// a folder of it, `{BY}` a bystander holding Read on `{S}`, `{ADMIN}` the creator.
    path: &'static str,
    body: Body,
    setup: Setup,
    /// The Secrets-Safe level and flags on `{S}` the row needs (none: `[]`), and the
    /// Workforce Passwords level it needs besides (0: none).
    feature: u8,
    flags: &'static [&'static str],
    workforce: u8,
    /// The status that says it passed.
    ok: u16,
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Body,
    setup: Setup,
    feature: u8,
    flags: &'static [&'static str],
    ok: u16,
) -> Row {
    Row {
        method,
        path,
        body,
        setup,
        feature,
        flags,
        workforce: 0,
        ok,
    }
}

use Setup::{Empty, Full, Shared};

const READ: &[&str] = &["Read"];

#[rustfmt::skip]
const ROWS: &[Row] = &[
    row("GET", "secrets-safe/safes", Body::None, Empty, R, &[], 200),
    row("POST", "secrets-safe/safes", Body::Json(r#"{"Name": "new {S}"}"#), Empty, RW, &[], 201),
    row("GET", "secrets-safe/safes/{S}", Body::None, Empty, R, READ, 200),
    row("PUT", "secrets-safe/safes/{S}", Body::Json(r#"{"Name": "renamed {S}"}"#), Empty, R, &["Read", "Edit"], 204),
    row("PUT", "secrets-safe/safes/{S}", Body::Json(r#"{"Name": "managed {S}"}"#), Empty, R, &["Manage"], 204),
    row("DELETE", "secrets-safe/safes/{S}", Body::None, Empty, RW, &["Read", "Delete"], 204),
    row("GET", "secrets-safe/safes/safe-permissions", Body::None, Empty, R, &[], 200),
    row("GET", "secrets-safe/safes/{S}/safe-permissions", Body::None, Empty, R, READ, 200),
    row("PUT", "secrets-safe/safes/{S}/safe-permissions", Body::Json(r#"{"PrincipalType": 0, "PrincipalID": {BY}, "PermissionFlags": ["Read", "Create"]}"#), Empty, R, &["Manage"], 204),
    row("DELETE", "secrets-safe/safes/{S}/safe-permissions", Body::Json(r#"{"PrincipalType": 0, "PrincipalID": {BY}}"#), Empty, R, &["Manage"], 204),
    row("GET", "secrets-safe/folders", Body::None, Empty, R, &[], 200),
    row("POST", "secrets-safe/folders", Body::Json(r#"{"Name": "new", "ParentId": "{S}"}"#), Empty, RW, &["Read", "Create"], 201),
    row("GET", "secrets-safe/folders/{F}", Body::None, Full, R, READ, 200),
    row("PUT", "secrets-safe/folders/{F}", Body::Json(r#"{"Name": "renamed"}"#), Full, RW, &["Read", "Edit"], 200),
    row("DELETE", "secrets-safe/folders/{F}", Body::None, Full, RW, &["Read", "Delete"], 204),
    row("PUT", "secrets-safe/folders/{F}/move", Body::Json(r#"{"DestinationFolderId": "{G}"}"#), Full, RW, &["Read", "Edit"], 200),
    row("PUT", "secrets-safe/folders/{F}/favorite", Body::Json(r#"{"Favorite": true}"#), Full, R, READ, 204),
    Row { workforce: RW, ..row("POST", "secrets-safe/folders/{F}/upload", Body::Csv, Full, RW, &["Read", "Create"], 201) },
    row("GET", "secrets-safe/secrets", Body::None, Full, R, &[], 200),
    row("GET", "secrets-safe/folders/{S}/secrets", Body::None, Full, R, READ, 200),
    row("POST", "secrets-safe/folders/{S}/secrets/text", Body::Json(r#"{"Title": "new", "Text": "v"}"#), Full, RW, &["Read", "Create"], 201),
    row("GET", "secrets-safe/secrets/{T}", Body::None, Full, R, READ, 200),
    row("GET", "secrets-safe/secrets/{T}/text", Body::None, Full, R, READ, 200),
    row("PUT", "secrets-safe/secrets/{T}/text", Body::Json(r#"{"Title": "t2", "Text": "v2", "FolderId": "{S}"}"#), Full, RW, &["Read", "Edit"], 200),
    row("DELETE", "secrets-safe/secrets/{T}", Body::None, Full, RW, &["Read", "Delete"], 200),
    row("PUT", "secrets-safe/secrets/{T}/favorite", Body::Json(r#"{"Favorite": true}"#), Full, R, READ, 204),
    row("GET", "secrets-safe/secrets/{T}/shares", Body::None, Full, R, READ, 200),
    row("POST", "secrets-safe/secrets/{T}/shares/{D}", Body::Json("{}"), Full, RW, &["Read", "Share"], 201),
    row("DELETE", "secrets-safe/secrets/{T}/shares/{DF}", Body::None, Shared, R, &["Read", "Share"], 204),
    row("DELETE", "secrets-safe/secrets/{T}/shares", Body::None, Shared, R, &["Read", "Share"], 204),
];

struct World {
    app: TestApp,
    admin: Session,
    /// One caller per pair of levels (Secrets-Safe, Workforce Passwords) the rows use.
    callers: Vec<((u8, u8), Session)>,
    bystander: Session,
    counter: std::cell::Cell<u32>,
}

impl World {
    fn new() -> Self {
        let app = TestApp::start();
        let admin = app.admin();
        let callers = [(0, 0), (R, 0), (RW, 0), (R, RW), (RW, R), (RW, RW)]
            .into_iter()
            .map(|(ss, wp)| {
                let name = format!("user-{ss}-{wp}");
                ((ss, wp), user_with(&app, &admin, &name, ss, wp))
            })
            .collect();
        let bystander = app.user_with_feature(&admin, "bystander", R);
        World {
            app,
            admin,
            callers,
            bystander,
            counter: std::cell::Cell::new(0),
        }
    }

    /// The caller holding Secrets-Safe at `secrets_safe` and Workforce Passwords at
    /// `workforce`.
    fn caller(&self, secrets_safe: u8, workforce: u8) -> &Session {
        let (_, session) = self
            .callers
            .iter()
            .find(|(levels, _)| *levels == (secrets_safe, workforce))
            .expect("a caller at those levels");
        session
    }

    fn grant(&self, safe: &str, user: &Session, flags: &[&str]) {
        let reply = self.app.v3(
            &self.admin,
            "PUT",
            &format!("secrets-safe/safes/{safe}/safe-permissions"),
            Some(
                json!({"PrincipalType": 0, "PrincipalID": user.user_id, "PermissionFlags": flags}),
            ),
        );
        assert_eq!(reply.status, 204, "grant {flags:?}: {reply:?}");
    }

    /// A fresh world for one call: `{name}` → value.
    fn setup(&self, setup: Setup, caller: &Session, flags: &[&str]) -> Vec<(&'static str, String)> {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        let app = &self.app;
        let safe = app.create_safe(&self.admin, &format!("safe {n}"));
        let dest = app.create_safe(&self.admin, &format!("dest {n}"));
        let dest_folder = app.create_folder(&self.admin, &dest, "in");
        self.grant(&safe, &self.bystander, READ);
        self.grant(&dest, caller, &["Read", "Create"]);
        if !flags.is_empty() {
            self.grant(&safe, caller, flags);
        }
        let mut ids = vec![
            ("{S}", safe.clone()),
            ("{D}", dest),
            ("{DF}", dest_folder.clone()),
            ("{BY}", self.bystander.user_id.to_string()),
        ];
        if setup != Empty {
            ids.push(("{F}", app.create_folder(&self.admin, &safe, "f")));
            ids.push(("{G}", app.create_folder(&self.admin, &safe, "g")));
            let secret = app.create_text_secret(&self.admin, &safe, "t", "value");
            if setup == Shared {
                let share = app.v3(
                    &self.admin,
                    "POST",
                    &format!("secrets-safe/secrets/{secret}/shares/{dest_folder}"),
                    Some(json!({})),
                );
                assert_eq!(share.status, 201, "{share:?}");
            }
            ids.push(("{T}", secret));
        }
        ids
    }

    fn call(&self, row: &Row, caller: &Session, flags: &[&str]) -> Reply {
        let ids = self.setup(row.setup, caller, flags);
        let fill = |text: &str| {
            ids.iter()
                .fold(text.to_owned(), |t, (name, value)| t.replace(name, value))
        };
        let path = fill(row.path);
        match row.body {
            Body::None => self.app.v3(caller, row.method, &path, None),
            Body::Json(text) => {
                let body: Value = serde_json::from_str(&fill(text)).expect("row body");
                self.app.v3(caller, row.method, &path, Some(body))
            }
            Body::Csv => {
                let boundary = "rows-boundary";
                let body = format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"form-data\"; \
                     filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
                     Title,Username,Password\r\nimported,u,p\r\n--{boundary}--\r\n"
                );
                self.app.v3_raw(
                    caller,
                    row.method,
                    &path,
                    &format!("multipart/form-data; boundary={boundary}"),
                    body.as_bytes(),
                )
            }
        }
    }
}

#[test]
fn every_endpoint_needs_its_feature_level_and_safe_flag_and_no_more() {
    let world = World::new();
    let mut failures = Vec::new();
    for row in ROWS {
        let name = format!("{} {} {:?}", row.method, row.path, row.flags);
        let mut check = |what: &str, reply: Reply, want: u16| {
            if reply.status != want {
                failures.push(format!("{name}: {what}: want {want}, got {reply:?}"));
            }
        };
        let exact = world.caller(row.feature, row.workforce);
        check("exact", world.call(row, exact, row.flags), row.ok);
        if row.feature == RW {
            let lower = world.caller(R, row.workforce);
            check("feature Read", world.call(row, lower, row.flags), 403);
        }
        if row.workforce == RW {
            let lower = world.caller(row.feature, R);
            check(
                "Workforce Passwords Read",
                world.call(row, lower, row.flags),
                403,
            );
            let without = world.caller(row.feature, 0);
            check(
                "no Workforce Passwords",
                world.call(row, without, row.flags),
                403,
            );
        }
        let none = world.caller(0, 0);
        check("no feature", world.call(row, none, row.flags), 403);
        if !row.flags.is_empty() {
            let (flags, want) = if row.flags == READ {
                (&[][..], 404)
            } else {
                (READ, 403)
            };
            check("Read alone", world.call(row, exact, flags), want);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_secret_moves_with_delete_where_it_lives_and_create_where_it_goes() {
    let world = World::new();
    let writer = world.caller(RW, 0);
    let moved = |flags: &[&str], caller: &Session| -> Reply {
        let ids = world.setup(Full, caller, flags);
        let id = |name: &str| ids.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        world.app.v3(
            caller,
            "PUT",
            "secrets-safe/secrets/move",
            Some(
                json!({"SecretIds": [id("{T}")], "DestinationFolderId": id("{D}"),
                "DuplicateNameAction": "Rename"}),
            ),
        )
    };
    let reply = moved(&["Read", "Delete"], writer);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["SecretsMovedCount"], 1, "{reply:?}");
    let reply = moved(&["Read", "Create", "Edit", "Share"], writer);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json()["SecretsMovedCount"],
        0,
        "without Delete: {reply:?}"
    );
    let reader = world.caller(R, 0);
    assert_eq!(moved(&["Read", "Delete"], reader).status, 403);
}

// ---------------------------------------------------------------- personal folders

/// Workforce Passwords, as `GET Permissions` lists it.
const WORKFORCE: i64 = 3;

/// A user whose group holds Secrets-Safe at `secrets_safe` and Workforce Passwords at
/// `workforce` (0: not at all), the latter given through `UserGroups/{id}/Permissions`.
fn user_with(
    app: &TestApp,
    admin: &Session,
    name: &str,
    secrets_safe: u8,
    workforce: u8,
) -> Session {
    let session = app.user_with_feature(admin, name, 0);
    let group = app.group_with_feature(
        admin,
        &format!("{name}-team"),
        secrets_safe.max(1),
        &[session.user_id],
    );
    let mut permissions = vec![json!({"PermissionID": 1, "AccessLevelID": secrets_safe})];
    if workforce > 0 {
        permissions.push(json!({"PermissionID": WORKFORCE, "AccessLevelID": workforce}));
    }
    let reply = app.v3(
        admin,
        "POST",
        &format!("UserGroups/{group}/Permissions"),
        Some(json!(permissions)),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    session
}

/// The caller's personal folder, as `GET folders` shows it: the root called
/// "Personal Folder" that `GET safes` does not list.
fn personal_folder(app: &TestApp, session: &Session) -> String {
    let folders = app.v3(session, "GET", "secrets-safe/folders?RootOnly=true", None);
    assert_eq!(folders.status, 200, "{folders:?}");
    // (A caller without Secrets-Safe gets 403 there, and has no safe.)
    let safes = app.v3(session, "GET", "secrets-safe/safes", None).json();
    let safe_ids: Vec<&Value> = safes
        .as_array()
        .map_or(Vec::new(), |list| list.iter().map(|s| &s["Id"]).collect());
    let personal: Vec<String> = folders
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["Name"] == "Personal Folder" && !safe_ids.contains(&&f["Id"]))
        .map(|f| f["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(personal.len(), 1, "one personal folder: {folders:?}");
    personal[0].clone()
}

fn csv_upload(app: &TestApp, session: &Session, folder: &str) -> Reply {
    let boundary = "personal-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"form-data\"; \
         filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\n\
         Title,Username,Password\r\nimported {folder},u,p\r\n--{boundary}--\r\n"
    );
    app.v3_raw(
        session,
        "POST",
        &format!("secrets-safe/folders/{folder}/upload"),
        &format!("multipart/form-data; boundary={boundary}"),
        body.as_bytes(),
    )
}

#[test]
fn get_permissions_lists_workforce_passwords_and_groups_take_it() {
    let app = TestApp::start();
    let admin = app.admin();
    let all = app.v3(&admin, "GET", "Permissions", None).json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|p| p["PermissionID"] == WORKFORCE && p["Name"] == "Workforce Passwords"),
        "{all}"
    );
    let alice = user_with(&app, &admin, "alice", RW, R);
    let group = app.count(
        "SELECT group_id FROM group_members WHERE user_id = ?1",
        [alice.user_id],
    );
    let perms = app.v3(
        &admin,
        "GET",
        &format!("UserGroups/{group}/Permissions"),
        None,
    );
    assert_eq!(perms.status, 200, "{perms:?}");
    assert!(
        perms
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["PermissionID"] == WORKFORCE && p["AccessLevelID"] == 1),
        "{perms:?}"
    );
}

#[test]
fn a_personal_folder_is_its_owners_alone() {
    let app = TestApp::start();
    let admin = app.admin();
    let alice = user_with(&app, &admin, "alice", RW, RW);
    let bob = user_with(&app, &admin, "bob", RW, RW);
    let mine = personal_folder(&app, &alice);
    assert_ne!(mine, personal_folder(&app, &bob), "one per user");
    assert_ne!(mine, personal_folder(&app, &admin));

    // Alice works in it as in a safe of her own.
    let sub = app.create_folder(&alice, &mine, "Sub");
    let secret = app.create_text_secret(&alice, &sub, "diary", "dear diary");
    let read = app.v3(
        &alice,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["FolderPath"], "Personal Folder/Sub");
    // Found by path, as the library looks secrets up, by her alone.
    let by_path = "secrets-safe/secrets?path=Personal%20Folder/Sub/diary";
    let found = app.v3(&alice, "GET", by_path, None).json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["Id"], secret.as_str());
    let found = app.v3(&admin, "GET", by_path, None).json();
    assert_eq!(found, json!([]), "{found}");

    // Nobody else sees it, administrators included, by id or in any list.
    for other in [&bob, &admin] {
        for path in [
            format!("secrets-safe/folders/{mine}"),
            format!("secrets-safe/folders/{sub}"),
            format!("secrets-safe/secrets/{secret}"),
            format!("secrets-safe/folders/{mine}/secrets"),
            format!("secrets-safe/safes/{mine}"),
        ] {
            let reply = app.v3(other, "GET", &path, None);
            assert_eq!(reply.status, 404, "{}: {path}: {reply:?}", other.user_name);
        }
        for list in [
            "secrets-safe/folders",
            "secrets-safe/secrets",
            "secrets-safe/safes",
        ] {
            let reply = app.v3(other, "GET", list, None);
            assert_eq!(reply.status, 200, "{reply:?}");
            assert!(
                !reply.text().contains(&mine) && !reply.text().contains(&secret),
                "{list}"
            );
        }
        let reply = app.v3(
            other,
            "DELETE",
            &format!("secrets-safe/secrets/{secret}"),
            None,
        );
        assert_eq!(reply.status, 404, "{reply:?}");
    }
    // Nor through PAM v2: a checkout hands out the value to its owner only.
    let v2_checkout = |auth: &str| {
        app.send_json(
            "POST",
            &format!("/api/v2/secret/{secret}/checkout"),
            ("Authorization", auth),
            None,
        )
    };
    let by_admin = v2_checkout(ADMIN_KEY);
    assert_eq!(by_admin.status, 404, "{by_admin:?}");
    let (_, token) = alice.cookie.split_once('=').expect("name=token");
    let by_alice = v2_checkout(token);
    assert_eq!(by_alice.status, 200, "{by_alice:?}");
    assert_eq!(by_alice.json()["value"], "dear diary");

    // It is no safe: not in GET safes, no grants on it, and it stays as it is.
    let safes = app.v3(&alice, "GET", "secrets-safe/safes", None);
    assert!(!safes.text().contains(&mine), "{safes:?}");
    let grant =
        json!({"PrincipalType": 0, "PrincipalID": bob.user_id, "PermissionFlags": ["Read"]});
    for (method, path, body) in [
        ("GET", format!("secrets-safe/safes/{mine}"), None),
        (
            "PUT",
            format!("secrets-safe/safes/{mine}/safe-permissions"),
            Some(grant),
        ),
        (
            "PUT",
            format!("secrets-safe/folders/{mine}"),
            Some(json!({"Name": "Mine"})),
        ),
        ("DELETE", format!("secrets-safe/folders/{mine}"), None),
        (
            "PUT",
            format!("secrets-safe/folders/{mine}/move"),
            Some(json!({"DestinationFolderId": sub})),
        ),
    ] {
        let reply = app.v3(&alice, method, &path, body);
        assert_eq!(reply.status, 400, "{method} {path}: {reply:?}");
    }
    // A safe may take the same name.
    app.create_safe(&alice, "Personal Folder");

    // No share leads into it or out of it.
    let team = app.create_safe(&alice, "Team");
    let team_secret = app.create_text_secret(&alice, &team, "shared", "v");
    let into = app.v3(
        &alice,
        "POST",
        &format!("secrets-safe/secrets/{team_secret}/shares/{mine}"),
        Some(json!({})),
    );
    assert_eq!(into.status, 400, "{into:?}");
    let out = app.v3(
        &alice,
        "POST",
        &format!("secrets-safe/secrets/{secret}/shares/{team}"),
        Some(json!({})),
    );
    assert_eq!(out.status, 403, "{out:?}");
    assert_eq!(app.count("SELECT count(*) FROM secret_shares", []), 0);

    // Secrets move in and out under the usual rules (Delete where they live, Create
    // where they go); moved in, they are hers alone.
    let move_to = |secret: &str, folder: &str| {
        let reply = app.v3(
            &alice,
            "PUT",
            "secrets-safe/secrets/move",
            Some(json!({"SecretIds": [secret], "DestinationFolderId": folder,
                "DuplicateNameAction": "Rename"})),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()["SecretsMovedCount"].clone()
    };
    assert_eq!(move_to(&team_secret, &mine), 1);
    let by_admin = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{team_secret}"),
        None,
    );
    assert_eq!(by_admin.status, 404, "{by_admin:?}");
    assert_eq!(move_to(&team_secret, &team), 1);
    assert_eq!(
        app.v3(
            &admin,
            "GET",
            &format!("secrets-safe/secrets/{team_secret}"),
            None
        )
        .status,
        200
    );
    // A folder that a share leads into cannot move into it.
    let linked = app.create_folder(&alice, &team, "Linked");
    let other = app.create_safe(&alice, "Other");
    let other_secret = app.create_text_secret(&alice, &other, "o", "v");
    let share = app.v3(
        &alice,
        "POST",
        &format!("secrets-safe/secrets/{other_secret}/shares/{linked}"),
        Some(json!({})),
    );
    assert_eq!(share.status, 201, "{share:?}");
    let moved = app.v3(
        &alice,
        "PUT",
        &format!("secrets-safe/folders/{linked}/move"),
        Some(json!({"DestinationFolderId": mine})),
    );
    assert_eq!(moved.status, 400, "{moved:?}");
}

#[test]
fn workforce_passwords_opens_the_personal_folder_and_the_csv_import_needs_it() {
    let app = TestApp::start();
    let admin = app.admin();
    // Workforce Passwords alone: the personal folder, nothing else.
    let wp_only = user_with(&app, &admin, "wp", 0, RW);
    let mine = personal_folder(&app, &wp_only);
    let reply = csv_upload(&app, &wp_only, &mine);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["successfulImport"], 1, "{reply:?}");
    let team = app.create_safe(&admin, "Team");
    // The safes area needs Secrets-Safe; elsewhere team objects are not his to see.
    for (method, path, body) in [
        ("GET", format!("secrets-safe/safes/{team}"), None),
        ("GET", "secrets-safe/safes".to_owned(), None),
        (
            "POST",
            "secrets-safe/safes".to_owned(),
            Some(json!({"Name": "S"})),
        ),
    ] {
        let reply = app.v3(&wp_only, method, &path, body);
        assert_eq!(reply.status, 403, "{method} {path}: {reply:?}");
    }
    let reply = app.v3(
        &wp_only,
        "GET",
        &format!("secrets-safe/folders/{team}"),
        None,
    );
    assert_eq!(reply.status, 404, "{reply:?}");
    let listed = app.v3(&wp_only, "GET", "secrets-safe/folders", None);
    assert!(!listed.text().contains(&team), "{listed:?}");

    // Secrets-Safe alone: team safes, but no personal folder and no import.
    let ss_only = user_with(&app, &admin, "ss", RW, 0);
    let own = app.count(
        "SELECT count(*) FROM folders WHERE personal_user_id = ?1",
        [ss_only.user_id],
    );
    assert_eq!(own, 1, "every user has one");
    let theirs: String = app
        .db()
        .query_row(
            "SELECT id FROM folders WHERE personal_user_id = ?1",
            [ss_only.user_id],
            |r| r.get(0),
        )
        .unwrap();
    let reply = app.v3(
        &ss_only,
        "GET",
        &format!("secrets-safe/folders/{theirs}"),
        None,
    );
    assert_eq!(reply.status, 404, "{reply:?}");
    let ss_team = app.create_safe(&ss_only, "SS team");
    let reply = csv_upload(&app, &ss_only, &ss_team);
    assert_eq!(
        reply.status, 403,
        "team import without Workforce Passwords: {reply:?}"
    );

    // A team folder takes an import with both at Read/Write, not with Secrets-Safe Read.
    let both = user_with(&app, &admin, "both", RW, RW);
    let both_team = app.create_safe(&both, "Both team");
    let reply = csv_upload(&app, &both, &both_team);
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.json()["successfulImport"], 1, "{reply:?}");
    let reader = user_with(&app, &admin, "reader", R, RW);
    let reply = app.v3(
        &admin,
        "PUT",
        &format!("secrets-safe/safes/{both_team}/safe-permissions"),
        Some(json!({"PrincipalType": 0, "PrincipalID": reader.user_id,
            "PermissionFlags": ["Read", "Create"]})),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    let reply = csv_upload(&app, &reader, &both_team);
    assert_eq!(reply.status, 403, "{reply:?}");
    // Workforce Passwords at read level: the folder is seen, not written.
    let wp_read = user_with(&app, &admin, "wpread", RW, R);
    let theirs = personal_folder(&app, &wp_read);
    let reply = app.v3(
        &wp_read,
        "POST",
        &format!("secrets-safe/folders/{theirs}/secrets/text"),
        Some(json!({"Title": "t", "Text": "v"})),
    );
    assert_eq!(reply.status, 403, "{reply:?}");
}
