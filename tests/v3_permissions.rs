//! The required permissions of every Secrets Safe v3 endpoint, row by row: the
//! Secrets-Safe feature level the reference names ("Secrets-Safe (Read)" or
//! "(Read/Write)") and the flag on the safe (`crates/secrets-safe/src/required.rs`).
//!
//! Each row is called by a user holding exactly that feature level and exactly those
//! flags on a fresh safe (it passes), by a user one feature level lower with the same
//! flags (403), by a user without the feature (403), and by a user at the row's level
//! holding Read alone (403), or nothing when Read is the flag (404).

use edgesafe_tests::{Reply, Session, TestApp};
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
    /// The feature level and flags on `{S}` the row needs (none: `[]`).
    feature: u8,
    flags: &'static [&'static str],
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
    row("PUT", "secrets-safe/folders/{F}/favorite", Body::Json(r#"{"Favorite": true}"#), Full, RW, READ, 204),
    row("POST", "secrets-safe/folders/{F}/upload", Body::Csv, Full, RW, &["Read", "Create"], 201),
    row("GET", "secrets-safe/secrets", Body::None, Full, R, &[], 200),
    row("GET", "secrets-safe/folders/{S}/secrets", Body::None, Full, R, READ, 200),
    row("POST", "secrets-safe/folders/{S}/secrets/text", Body::Json(r#"{"Title": "new", "Text": "v"}"#), Full, RW, &["Read", "Create"], 201),
    row("GET", "secrets-safe/secrets/{T}", Body::None, Full, R, READ, 200),
    row("GET", "secrets-safe/secrets/{T}/text", Body::None, Full, R, READ, 200),
    row("PUT", "secrets-safe/secrets/{T}/text", Body::Json(r#"{"Title": "t2", "Text": "v2", "FolderId": "{S}"}"#), Full, RW, &["Read", "Edit"], 200),
    row("DELETE", "secrets-safe/secrets/{T}", Body::None, Full, RW, &["Read", "Delete"], 200),
    row("PUT", "secrets-safe/secrets/{T}/favorite", Body::Json(r#"{"Favorite": true}"#), Full, RW, READ, 204),
    row("GET", "secrets-safe/secrets/{T}/shares", Body::None, Full, R, READ, 200),
    row("POST", "secrets-safe/secrets/{T}/shares/{D}", Body::Json("{}"), Full, RW, &["Read", "Share"], 201),
    row("DELETE", "secrets-safe/secrets/{T}/shares/{DF}", Body::None, Shared, R, &["Read", "Share"], 204),
    row("DELETE", "secrets-safe/secrets/{T}/shares", Body::None, Shared, R, &["Read", "Share"], 204),
];

/// The callers: one per feature level (0: none).
struct Callers {
    by_level: [Session; 3],
}

struct World {
    app: TestApp,
    admin: Session,
    callers: Callers,
    bystander: Session,
    counter: std::cell::Cell<u32>,
}

impl World {
    fn new() -> Self {
        let app = TestApp::start();
        let admin = app.admin();
        let by_level = [
            app.user_with_feature(&admin, "none", 0),
            app.user_with_feature(&admin, "reader", R),
            app.user_with_feature(&admin, "writer", RW),
        ];
        let bystander = app.user_with_feature(&admin, "bystander", R);
        World {
            app,
            admin,
            callers: Callers { by_level },
            bystander,
            counter: std::cell::Cell::new(0),
        }
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
        let exact = &world.callers.by_level[usize::from(row.feature)];
        check("exact", world.call(row, exact, row.flags), row.ok);
        if row.feature == RW {
            let lower = &world.callers.by_level[usize::from(R)];
            check("feature Read", world.call(row, lower, row.flags), 403);
        }
        let none = &world.callers.by_level[0];
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
    let writer = &world.callers.by_level[usize::from(RW)];
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
    let reader = &world.callers.by_level[usize::from(R)];
    assert_eq!(moved(&["Read", "Delete"], reader).status, 403);
}
