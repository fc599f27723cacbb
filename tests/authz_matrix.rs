//! The authorization matrix: every route the gateway serves, called by each kind of
//! caller that must not get what the route guards, with the status and the error shape
//! each cell must answer.
//!
//! Columns (all but the first authenticate with an API key in the protocol's header,
//! so that advancing the clock for the expired grant ends no session):
//! - `none`: no credentials.
//! - `scope`: an administrator's key whose scopes miss the route's (a near miss: a
//!   read scope for writes, a write scope for reads). Only the scope stands in the way.
//! - `other`: bob, who may use Secrets Safe and has his own safe, but nothing of alice's.
//! - `nogrant`: dave, in no group holding the Secrets-Safe feature.
//! - `expired`: erin, who may use Secrets Safe and held every flag on alice's safe
//!   until that grant expired.
//! - `blocked`: frank, who holds a grant on alice's safe and is quarantined.
//!
//! A GET row also checks that alice, who owns the objects, gets a 2xx there, so that a
//! 404 in another column is the caller's, not a wrong path's.

use edgesafe_tests::{ps_auth, utc, Reply, Session, TestApp, ADMIN_KEY, V3};
use serde_json::{json, Value};
use std::time::Duration;

/// What a cell must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// A 2xx (routes every authenticated caller may use, or the caller's own objects).
    Ok,
    /// A 2xx list that names none of alice's objects.
    Hidden,
    /// A bulk move's 2xx report that lists alice's secret as not found.
    NotFound,
    /// A 4xx in the protocol's error shape.
    Err(u16),
}

use Want::{Err, Hidden, Ok};
const REPORTED: Want = Want::NotFound;
const U: Want = Err(401);
const F: Want = Err(403);
const N: Want = Err(404);

/// Which scope the route needs, to pick a near-miss scope for the `scope` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    Anonymous,
    Caller,
    Read,
    Metadata,
    Write,
    Delete,
    SetOwner,
    Admin,
}

impl Needs {
    /// A scope that does not cover the route.
    fn wrong_scope(self) -> &'static str {
        match self {
            Needs::Read | Needs::Metadata | Needs::SetOwner => "secrets.write",
            Needs::Write | Needs::Delete | Needs::Admin => "secrets.read",
            Needs::Anonymous | Needs::Caller => "secrets.rotate",
        }
    }
}

/// The request body a row sends.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Json(&'static str),
    Form(&'static str),
    /// A multipart file upload (file secrets, CSV import).
    File,
}

struct Row {
    method: &'static str,
    /// Relative to the protocol's base; `{A}` alice's safe, `{F}` her folder, `{S}` her
    /// text secret, `{FS}` her file secret, `{U}` her user id, `{G}` her group, `{K}`
    /// her key, `{BF}` bob's folder, `{COL}` the column's name; API 3.3: `{TC}` her
    /// credential with TOTP on, `{SV}`, `{FSV}`, `{CV}` a version of `{S}`, `{FS}`, `{TC}`.
    path: &'static str,
    body: Body,
    needs: Needs,
    /// none, scope, other, nogrant, expired, blocked.
    want: [Want; 6],
}

const COLUMNS: [&str; 6] = ["none", "scope", "other", "nogrant", "expired", "blocked"];

const fn row(
    method: &'static str,
    path: &'static str,
    body: Body,
    needs: Needs,
    want: [Want; 6],
) -> Row {
    Row {
        method,
        path,
        body,
        needs,
        want,
    }
}

const SECRET_JSON: &str =
    r#"{"Title": "t-{COL}", "Text": "x", "Username": "u", "Password": "p", "FolderId": "{F}"}"#;
const FOLDER_JSON: &str = r#"{"Name": "f-{COL}", "ParentId": "{A}"}"#;
const SAFE_JSON: &str = r#"{"Name": "safe-{COL}", "Description": "d"}"#;
const GRANT_JSON: &str = r#"{"PrincipalType": 0, "PrincipalID": {U}, "PermissionFlags": ["Read"]}"#;
const REVOKE_JSON: &str = r#"{"PrincipalType": 0, "PrincipalID": {U}}"#;

/// v3 identity administration: every non-administrator gets 403.
const ADMIN_ONLY: [Want; 6] = [U, F, F, F, F, U];
/// v3 routes about the caller's own credentials.
const CALLER: [Want; 6] = [U, Ok, Ok, Ok, Ok, U];
/// Alice's objects: bob and erin learn nothing (404), dave lacks the feature (403).
const HERS: [Want; 6] = [U, F, N, F, N, U];
/// The CSV import into her folder: it needs Workforce Passwords as well, which none of
/// the others holds (403 before anything is looked up).
const IMPORT: [Want; 6] = [U, F, F, F, F, U];
/// Lists: bob and erin see theirs only, dave lacks the feature.
const LIST: [Want; 6] = [U, F, Hidden, F, Hidden, U];
/// Creating a safe of one's own.
const OWN: [Want; 6] = [U, F, Ok, F, Ok, U];

#[rustfmt::skip]
const V3_ROWS: &[Row] = &[
    row("POST", "Auth/connect/token", Body::Form("grant_type=client_credentials&client_id=x&client_secret=y"), Needs::Anonymous, [Err(401); 6]),
    row("POST", "Auth/SignAppIn", Body::None, Needs::Caller, CALLER),
    row("GET", "Configuration/Version", Body::None, Needs::Caller, CALLER),
    row("POST", "Auth/Signout", Body::None, Needs::Caller, CALLER),
    row("GET", "Users", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "Users", Body::Json(r#"{"UserName": "new-{COL}"}"#), Needs::Admin, ADMIN_ONLY),
    row("GET", "Users/{U}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("PUT", "Users/{U}", Body::Json(r#"{"IsAdministrator": true}"#), Needs::Admin, ADMIN_ONLY),
    row("POST", "Users/{U}/Quarantine", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "Users/{U}/Unquarantine", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "Users/{U}/UserGroups", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "Users/{U}/UserGroups/{G}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("DELETE", "Users/{U}/UserGroups/{G}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "Users/{U}/ApiKeys", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "Users/{U}/ApiKeys", Body::Json("{}"), Needs::Admin, ADMIN_ONLY),
    row("DELETE", "Users/{U}/ApiKeys/{K}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "UserGroups", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "UserGroups", Body::Json(r#"{"groupName": "g-{COL}"}"#), Needs::Admin, ADMIN_ONLY),
    row("GET", "UserGroups/{G}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "UserGroups/{G}/Users", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "UserGroups/{G}/Permissions", Body::None, Needs::Admin, ADMIN_ONLY),
    row("POST", "UserGroups/{G}/Permissions", Body::Json(r#"[{"PermissionID": 1, "AccessLevelID": 2}]"#), Needs::Admin, ADMIN_ONLY),
    row("DELETE", "UserGroups/{G}/Permissions", Body::None, Needs::Admin, ADMIN_ONLY),
    row("GET", "Permissions", Body::None, Needs::Admin, ADMIN_ONLY),
    // Folders.
    row("GET", "secrets-safe/folders", Body::None, Needs::Metadata, LIST),
    row("POST", "secrets-safe/folders", Body::Json(FOLDER_JSON), Needs::Write, HERS),
    row("GET", "secrets-safe/folders/{F}", Body::None, Needs::Metadata, HERS),
    row("PUT", "secrets-safe/folders/{F}", Body::Json(r#"{"Name": "renamed-{COL}"}"#), Needs::Write, HERS),
    row("POST", "secrets-safe/folders/{F}", Body::File, Needs::Write, IMPORT),
    row("POST", "secrets-safe/folders/{F}/upload", Body::File, Needs::Write, IMPORT),
    row("PUT", "secrets-safe/folders/{F}/move", Body::Json(r#"{"DestinationFolderId": "{BF}"}"#), Needs::Write, HERS),
    row("PUT", "secrets-safe/folders/{F}/favorite", Body::Json(r#"{"Favorite": true}"#), Needs::Write, HERS),
    // Secrets.
    row("GET", "secrets-safe/folders/{F}/secrets", Body::None, Needs::Metadata, HERS),
    row("POST", "secrets-safe/folders/{F}/secrets", Body::Json(SECRET_JSON), Needs::Write, HERS),
    row("POST", "secrets-safe/folders/{F}/secrets/text", Body::Json(SECRET_JSON), Needs::Write, HERS),
    row("POST", "secrets-safe/folders/{F}/secrets/file", Body::File, Needs::Write, HERS),
    row("GET", "secrets-safe/secrets", Body::None, Needs::Metadata, LIST),
    row("PUT", "secrets-safe/secrets/move", Body::Json(r#"{"SecretIds": ["{S}"], "DestinationFolderId": "{BF}", "DuplicateNameAction": "Rename"}"#), Needs::Write, [U, F, REPORTED, F, N, U]),
    row("GET", "secrets-safe/secrets/{S}", Body::None, Needs::Read, HERS),
    row("PUT", "secrets-safe/secrets/{S}", Body::Json(SECRET_JSON), Needs::Write, HERS),
    row("GET", "secrets-safe/secrets/{S}/text", Body::None, Needs::Read, HERS),
    row("PUT", "secrets-safe/secrets/{S}/text", Body::Json(SECRET_JSON), Needs::Write, HERS),
    row("GET", "secrets-safe/secrets/{FS}/file", Body::None, Needs::Metadata, HERS),
    row("PUT", "secrets-safe/secrets/{FS}/file", Body::File, Needs::Write, HERS),
    row("GET", "secrets-safe/secrets/{FS}/file/download", Body::None, Needs::Read, HERS),
    row("GET", "secrets-safe/secrets/{S}/shares", Body::None, Needs::Metadata, HERS),
    row("POST", "secrets-safe/secrets/{S}/shares/{BF}", Body::None, Needs::Write, HERS),
    row("DELETE", "secrets-safe/secrets/{S}/shares/{BF}", Body::None, Needs::Delete, HERS),
    row("PUT", "secrets-safe/secrets/{S}/favorite", Body::Json(r#"{"Favorite": true}"#), Needs::Write, HERS),
    // Secrets, API 3.3: version history, rollback, TOTP codes.
    row("GET", "secrets-safe/secrets/{S}/versions", Body::None, Needs::Metadata, HERS),
    row("GET", "secrets-safe/secrets/text/{S}/versions/{SV}", Body::None, Needs::Read, HERS),
    row("GET", "secrets-safe/secrets/password/{TC}/versions/{CV}", Body::None, Needs::Read, HERS),
    row("GET", "secrets-safe/secrets/file/{FS}/versions/{FSV}", Body::None, Needs::Read, HERS),
    row("POST", "secrets-safe/secrets/{S}/versions/{SV}/rollback", Body::None, Needs::Write, HERS),
    row("GET", "secrets-safe/secrets/{TC}/totp/code", Body::None, Needs::Read, HERS),
    // Safes.
    row("GET", "secrets-safe/safes", Body::None, Needs::Metadata, LIST),
    row("POST", "secrets-safe/safes", Body::Json(SAFE_JSON), Needs::Write, OWN),
    row("GET", "secrets-safe/safes/safe-permissions", Body::None, Needs::Metadata, [U, F, Ok, F, Ok, U]),
    row("GET", "secrets-safe/safes/{A}", Body::None, Needs::Metadata, HERS),
    row("PUT", "secrets-safe/safes/{A}", Body::Json(r#"{"Name": "renamed-{COL}"}"#), Needs::Write, HERS),
    row("GET", "secrets-safe/safes/{A}/safe-permissions", Body::None, Needs::Metadata, HERS),
    row("PUT", "secrets-safe/safes/{A}/safe-permissions", Body::Json(GRANT_JSON), Needs::SetOwner, HERS),
    row("DELETE", "secrets-safe/safes/{A}/safe-permissions", Body::Json(REVOKE_JSON), Needs::SetOwner, HERS),
    // Managed-account checkout (the checkout area): alice's credential {C} and her
    // request {R} for it.
    row("GET", "ManagedAccounts?systemName=Alice/Inner&accountName=acct", Body::None, Needs::Metadata, HERS),
    row("GET", "Requests", Body::None, Needs::Metadata, LIST),
    row("POST", "Requests", Body::Json(r#"{"SystemID": "{F}", "AccountID": "{C}", "DurationMinutes": 5, "ConflictOption": "reuse"}"#), Needs::Read, HERS),
    row("GET", "Credentials/{R}", Body::None, Needs::Read, HERS),
    row("PUT", "Requests/{R}/approve", Body::Json("{}"), Needs::Write, HERS),
    row("PUT", "Requests/{R}/deny", Body::Json("{}"), Needs::Write, HERS),
    row("PUT", "Requests/{R}/checkin", Body::Json("{}"), Needs::Read, HERS),
    // Destructive rows last, each refused, so that nothing the other rows need is gone.
    row("DELETE", "secrets-safe/secrets/{S}/shares", Body::None, Needs::Delete, HERS),
    row("DELETE", "secrets-safe/secrets/{S}", Body::None, Needs::Delete, HERS),
    row("DELETE", "secrets-safe/folders/{F}", Body::None, Needs::Delete, HERS),
    row("DELETE", "secrets-safe/safes/{A}", Body::None, Needs::Delete, HERS),
    row("DELETE", "Users/{U}", Body::None, Needs::Admin, ADMIN_ONLY),
    row("DELETE", "UserGroups/{G}", Body::None, Needs::Admin, ADMIN_ONLY),
];

/// The v2 and KV routes (without a body): the caller's own session, so every
/// signed-in caller; and the PAM v2 routes on alice's objects.
#[rustfmt::skip]
const OTHER_ROWS: &[(&str, &str, Needs, [Want; 6])] = &[
    ("GET", "/api/v2/session", Needs::Caller, CALLER),
    ("GET", "/api/secrets/whoami", Needs::Caller, CALLER),
    ("GET", "/api/v2/secret/{S}", Needs::Metadata, HERS),
    ("GET", "/api/v2/secret/{S}/access", Needs::Metadata, HERS),
    ("GET", "/api/v2/secret/access", Needs::Metadata, LIST),
    ("GET", "/api/v2/collection/{A}", Needs::Metadata, HERS),
    ("GET", "/api/v2/secret/request", Needs::Metadata, LIST),
    ("GET", "/api/v2/secret/request/{R}", Needs::Metadata, HERS),
    ("POST", "/api/v2/secret/{S}/checkout", Needs::Read, HERS),
    ("POST", "/api/v2/secret/{S}/checkin", Needs::Read, HERS),
    ("POST", "/api/v2/secret/{S}/request", Needs::Read, HERS),
    ("POST", "/api/v2/secret/request/{R}/approve", Needs::Write, HERS),
    ("POST", "/api/v2/secret/request/{R}/reject", Needs::Write, HERS),
    ("POST", "/api/v2/secret/{S}/mark_safe", Needs::Write, HERS),
];

/// Alice's text secret `db` in folder `Inner` of her safe `Alice`, as a KV URI
/// (percent-encoded for a query) and as a Vault path.
const KV_URI: &str = "openbao%2Bkv2%3A%2F%2FAlice%2FInner%2Fdb";
const KV_WRITE: &str = r#"{"uri": "openbao+kv2://Alice/Inner/db", "value": "x-{COL}"}"#;
const KV_VERSIONS: &str = r#"{"uri": "openbao+kv2://Alice/Inner/db", "versions": [1]}"#;
const KV_COPY: &str =
    r#"{"from": "openbao+kv2://Alice/Inner/db", "to": "openbao+kv2://Bob/c-{COL}"}"#;
/// Vault: no 401, a missing or refused credential is 403.
const VAULT_HERS: [Want; 6] = [F, F, N, F, N, F];
/// Vault deletes of what the caller cannot see answer like deletes of nothing: 204.
const VAULT_DELETE: [Want; 6] = [F, F, Ok, F, Ok, F];

/// A KV or Vault row: method, path, JSON body, needs, cells.
type KvRow = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Needs,
    [Want; 6],
);

/// The KV (`/api/secrets`) and Vault (`/v1/`) routes on alice's secret. The owner check
/// runs for GETs as for v3.
#[rustfmt::skip]
const KV_ROWS: &[KvRow] = &[
    ("GET", "/api/secrets?uri={KV}", None, Needs::Read, HERS),
    ("GET", "/api/secrets/value?uri={KV}&version=1", None, Needs::Read, HERS),
    ("GET", "/api/secrets/keys?uri={KV}", None, Needs::Metadata, HERS),
    ("GET", "/api/secrets/metadata/detail?uri={KV}", None, Needs::Metadata, HERS),
    ("GET", "/api/secrets/versions?uri={KV}", None, Needs::Metadata, HERS),
    ("GET", "/api/secrets/metadata?prefix=openbao%2Bkv2%3A%2F%2FAlice", None, Needs::Metadata, HERS),
    ("GET", "/api/secrets/search?q=db", None, Needs::Metadata, LIST),
    ("GET", "/api/secrets/events", None, Needs::Metadata, LIST),
    ("GET", "/api/secrets/audit", None, Needs::Admin, ADMIN_ONLY),
    ("POST", "/api/secrets", Some(KV_WRITE), Needs::Write, HERS),
    ("POST", "/api/secrets/rotate", Some(KV_WRITE), Needs::Write, HERS),
    ("POST", "/api/secrets/metadata/owner", Some(r#"{"uri": "openbao+kv2://Alice/Inner/db", "owner": "{COL}"}"#), Needs::SetOwner, HERS),
    ("POST", "/api/secrets/undelete", Some(KV_VERSIONS), Needs::Delete, HERS),
    ("POST", "/api/secrets/destroy-versions", Some(KV_VERSIONS), Needs::Delete, HERS),
    ("POST", "/api/secrets/copy", Some(KV_COPY), Needs::Write, HERS),
    ("POST", "/api/secrets/move", Some(KV_COPY), Needs::Write, HERS),
    ("POST", "/api/secrets/bulk", Some(r#"{"operations": [{"op": "delete", "uri": "openbao+kv2://Alice/Inner/db"}]}"#), Needs::Caller, CALLER),
    ("DELETE", "/api/secrets?uri={KV}", None, Needs::Delete, HERS),
    ("GET", "/v1/Alice/data/Inner/db", None, Needs::Read, VAULT_HERS),
    ("GET", "/v1/Alice/metadata/Inner/db", None, Needs::Metadata, VAULT_HERS),
    ("LIST", "/v1/Alice/metadata/Inner", None, Needs::Metadata, VAULT_HERS),
    ("GET", "/v1/sys/mounts", None, Needs::Caller, [F, Ok, Hidden, F, Hidden, F]),
    ("GET", "/v1/sys/internal/ui/mounts/Alice/Inner/db", None, Needs::Caller, [F, Ok, F, F, F, F]),
    ("GET", "/v1/auth/token/lookup-self", None, Needs::Caller, [F, Ok, Ok, Ok, Ok, F]),
    ("POST", "/v1/Alice/data/Inner/db", Some(r#"{"data": {"k": "{COL}"}}"#), Needs::Write, VAULT_HERS),
    ("POST", "/v1/Alice/metadata/Inner/db", Some(r#"{"max_versions": 3}"#), Needs::Write, VAULT_HERS),
    ("POST", "/v1/Alice/undelete/Inner/db", Some(r#"{"versions": [1]}"#), Needs::Delete, VAULT_DELETE),
    ("POST", "/v1/Alice/destroy/Inner/db", Some(r#"{"versions": [1]}"#), Needs::Delete, VAULT_DELETE),
    ("POST", "/v1/Alice/delete/Inner/db", Some(r#"{"versions": [1]}"#), Needs::Delete, VAULT_DELETE),
    ("DELETE", "/v1/Alice/data/Inner/db", None, Needs::Delete, VAULT_DELETE),
    ("DELETE", "/v1/Alice/metadata/Inner/db", None, Needs::Delete, VAULT_DELETE),
];

const BOUNDARY: &str = "matrix-boundary";

fn file_body() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"secretmetadata\"\r\n\
         Content-Type: application/json\r\n\r\n{{\"Title\": \"file\", \"FileName\": \"a.txt\"}}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nTitle,Text\r\n--{BOUNDARY}--\r\n"
    )
    .into_bytes()
}

/// Who calls, as headers for each protocol.
struct Caller {
    key: String,
    user_name: String,
}

impl Caller {
    fn v3(&self) -> String {
        ps_auth(&self.key, &self.user_name)
    }
}

struct World {
    app: TestApp,
    /// `{X}` → value.
    ids: Vec<(&'static str, String)>,
    alice: Caller,
    /// One per column after `none`, indexed by column - 1; `scope` has one key per scope.
    scoped: Vec<(&'static str, Caller)>,
    callers: Vec<Caller>,
    /// Alice's ids and her secret's value, which no refused list may name.
    hers: Vec<String>,
}

fn key_for(app: &TestApp, admin: &Session, user: i64, scopes: Option<&[&str]>) -> String {
    let body = match scopes {
        Some(scopes) => json!({"Scopes": scopes}),
        None => json!({}),
    };
    let reply = app.v3(admin, "POST", &format!("Users/{user}/ApiKeys"), Some(body));
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.json()["Key"].as_str().expect("Key").to_string()
}

fn caller(app: &TestApp, admin: &Session, name: &str, level: u8) -> (Session, Caller) {
    let session = app.user_with_feature(admin, name, level);
    let key = key_for(app, admin, session.user_id, None);
    let caller = Caller {
        key,
        user_name: name.to_string(),
    };
    (session, caller)
}

fn grant(app: &TestApp, session: &Session, safe: &str, user: i64, expires: Option<String>) {
    let mut body = json!({"PrincipalType": 0, "PrincipalID": user,
        "PermissionFlags": ["Read", "Create", "Update", "Delete", "Share"]});
    if let Some(expires) = expires {
        body["ExpiresOn"] = json!(expires);
    }
    let reply = app.v3(
        session,
        "PUT",
        &format!("secrets-safe/safes/{safe}/safe-permissions"),
        Some(body),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
}

fn world() -> World {
    // Every blocked or wrong credential below counts as a failed sign-in from the
    // same address; the limit is not what this test is about.
    let app = TestApp::start_with(&[("SPIN_VARIABLE_SIGN_IN_FAILURE_LIMIT", "100000")]);
    let admin = app.admin();
    let (alice_session, alice) = caller(&app, &admin, "alice", 2);
    let safe = app.create_safe(&alice_session, "Alice");
    let folder = app.create_folder(&alice_session, &safe, "Inner");
    let secret = app.create_text_secret(&alice_session, &folder, "db", "alice-value-1");
    let file = app.v3_raw(
        &alice_session,
        "POST",
        &format!("secrets-safe/folders/{folder}/secrets/file"),
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        &file_body(),
    );
    assert_eq!(file.status, 201, "{file:?}");
    let file = file.json()["Id"].as_str().expect("Id").to_string();
    let totp = app.v3(
        &alice_session,
        "POST",
        &format!("secrets-safe/folders/{folder}/secrets?version=3.3"),
        Some(
            json!({"Title": "mfa", "Username": "u", "Password": "alice-value-2",
            "TotpEnabled": true, "TotpSecretKey": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}),
        ),
    );
    assert_eq!(totp.status, 201, "{totp:?}");
    let totp = totp.json()["Id"].as_str().expect("Id").to_string();
    let first_version = |secret: &str| -> String {
        app.db()
            .query_row(
                "SELECT history_id FROM secret_versions WHERE secret_id = ?1 AND version = 1",
                [secret],
                |r| r.get(0),
            )
            .expect("a first version")
    };
    let account = app.v3(
        &alice_session,
        "POST",
        &format!("secrets-safe/folders/{folder}/secrets"),
        Some(json!({"Title": "acct", "Username": "svc", "Password": "alice-value-2"})),
    );
    assert_eq!(account.status, 201, "{account:?}");
    let account = account.json()["Id"].as_str().expect("Id").to_string();
    let request = json!({"SystemID": folder, "AccountID": account, "DurationMinutes": 5});
    let request = app.send_json(
        "POST",
        &format!("{V3}/Requests"),
        ("Authorization", &alice.v3()),
        Some(request),
    );
    assert_eq!(request.status, 201, "{request:?}");
    let request = request.json().as_i64().expect("a request id");
    let group = app.count("SELECT id FROM user_groups WHERE name = 'alice-group'", []);
    let alice_key = app.count(
        "SELECT id FROM credentials WHERE user_id = ?1",
        [alice_session.user_id],
    );

    let (bob_session, bob) = caller(&app, &admin, "bob", 2);
    let bob_safe = app.create_safe(&bob_session, "Bob");
    let bob_folder = app.create_folder(&bob_session, &bob_safe, "Mine");
    let (_, dave) = caller(&app, &admin, "dave", 0);
    let (erin_session, erin) = caller(&app, &admin, "erin", 2);
    // The administrator grants: a manager who is not one may only name principals she
    // can already see, and erin and frank are strangers to alice.
    grant(
        &app,
        &admin,
        &safe,
        erin_session.user_id,
        Some(utc(edgesafe_tests::now() + 3600)),
    );
    let (frank_session, frank) = caller(&app, &admin, "frank", 2);
    grant(&app, &admin, &safe, frank_session.user_id, None);
    let erin_sees = app.v3(
        &erin_session,
        "GET",
        &format!("secrets-safe/safes/{safe}"),
        None,
    );
    assert_eq!(
        erin_sees.status, 200,
        "erin's grant works before it expires: {erin_sees:?}"
    );
    let blocked = app.v3(
        &admin,
        "POST",
        &format!("Users/{}/Quarantine", frank_session.user_id),
        None,
    );
    assert_eq!(blocked.status, 200, "{blocked:?}");

    let scoped = ["secrets.read", "secrets.write", "secrets.rotate"]
        .into_iter()
        .map(|scope| {
            let key = key_for(&app, &admin, 1, Some(&[scope]));
            (
                scope,
                Caller {
                    key,
                    user_name: "admin".into(),
                },
            )
        })
        .collect();
    // Every session made above is past its lifetime after this; the keys are not.
    app.advance_clock(Duration::from_secs(7200));
    let ids = vec![
        ("{A}", safe.clone()),
        ("{FS}", file.clone()),
        ("{F}", folder.clone()),
        ("{S}", secret.clone()),
        ("{U}", alice_session.user_id.to_string()),
        ("{G}", group.to_string()),
        ("{K}", alice_key.to_string()),
        ("{BF}", bob_folder),
        ("{TC}", totp.clone()),
        ("{SV}", first_version(&secret)),
        ("{FSV}", first_version(&file)),
        ("{CV}", first_version(&totp)),
        ("{C}", account.clone()),
        ("{R}", request.to_string()),
        ("{KV}", KV_URI.to_string()),
    ];
    World {
        app,
        ids,
        alice,
        scoped,
        callers: vec![bob, dave, erin, frank],
        hers: vec![
            safe,
            folder,
            secret,
            file,
            "alice-value-1".into(),
            totp,
            account,
            "alice-value-2".into(),
            "openbao+kv2://Alice".into(),
        ],
    }
}

impl World {
    fn fill(&self, text: &str, column: &str) -> String {
        let mut text = text.replace("{COL}", column);
        for (name, value) in &self.ids {
            text = text.replace(name, value);
        }
        text
    }

    fn scoped(&self, scope: &str) -> &Caller {
        &self
            .scoped
            .iter()
            .find(|(s, _)| *s == scope)
            .expect("a key for the scope")
            .1
    }

    /// The caller of `column` for a route that needs `needs`; `None` for `none`.
    fn caller(&self, column: usize, needs: Needs) -> Option<&Caller> {
        match column {
            0 => None,
            1 => Some(self.scoped(needs.wrong_scope())),
            n => self.callers.get(n - 2),
        }
    }

    fn v3(&self, row: &Row, caller: Option<&Caller>, column: &str) -> Reply {
        let path = format!("{V3}/{}", self.fill(row.path, column));
        let auth = caller.map(Caller::v3);
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.clone()));
        }
        let body = match row.body {
            Body::None => None,
            Body::Json(json) => {
                headers.push(("Content-Type", "application/json".into()));
                Some(self.fill(json, column).into_bytes())
            }
            Body::Form(form) => {
                headers.push(("Content-Type", "application/x-www-form-urlencoded".into()));
                Some(form.as_bytes().to_vec())
            }
            Body::File => {
                headers.push((
                    "Content-Type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ));
                Some(file_body())
            }
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.app.send(row.method, &path, &headers, body.as_deref())
    }

    /// What is wrong with `reply` for `want`, if anything.
    fn check(&self, reply: &Reply, want: Want, shape: Shape) -> Option<String> {
        let success = (200..300).contains(&reply.status);
        match want {
            Ok if success => None,
            Hidden if success => {
                let text = reply.text();
                self.hers
                    .iter()
                    .find(|id| text.contains(id.as_str()))
                    .map(|id| format!("the list names {id}"))
            }
            Want::NotFound if success => {
                let not_found = &reply.json()["SecretsNotFound"];
                let secret = &self.hers[2];
                (not_found != &json!([secret])).then(|| format!("{secret} not reported"))
            }
            Err(status) if reply.status == status => shape.check(reply, status),
            _ => Some(format!("wanted {want:?}")),
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    V3,
    OAuth,
    V2,
    Kv,
    Vault,
}

impl Shape {
    fn check(self, reply: &Reply, status: u16) -> Option<String> {
        let code = match status {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            _ => return Some(format!("no shape known for {status}")),
        };
        let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let ok = match self {
            Shape::V3 => body["Code"] == code && body["Message"].is_string(),
            Shape::OAuth => body["error"].is_string(),
            Shape::V2 => body["result"] == "error" && body["code"] == code,
            Shape::Kv => body["error"]["code"] == code,
            Shape::Vault if status == 404 => body == json!({"errors": []}),
            Shape::Vault => body == json!({"errors": ["permission denied"]}),
        };
        (!ok).then(|| format!("not the protocol's error shape: {body}"))
    }
}

#[test]
fn every_route_answers_every_kind_of_caller_as_the_matrix_says() {
    let world = world();
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in V3_ROWS {
        // Alice is no administrator: the administration rows' positive side is
        // the_admin_key_passes_every_scope_check.
        if row.method == "GET" && row.needs != Needs::Admin {
            let reply = world.v3(row, Some(&world.alice), "owner");
            if !(200..300).contains(&reply.status) {
                failures.push(format!("{} {} owner: {reply:?}", row.method, row.path));
            }
        }
        let shape = if row.needs == Needs::Anonymous {
            Shape::OAuth
        } else {
            Shape::V3
        };
        for (column, want) in row.want.iter().enumerate() {
            let name = COLUMNS[column];
            let reply = world.v3(row, world.caller(column, row.needs), name);
            cells += 1;
            if let Some(problem) = world.check(&reply, *want, shape) {
                failures.push(format!(
                    "{} {} [{name}]: {problem}; got {reply:?}",
                    row.method, row.path
                ));
            }
        }
    }
    for (method, path, needs, wants) in OTHER_ROWS {
        let v2 = path.starts_with("/api/v2");
        let shape = if v2 { Shape::V2 } else { Shape::Kv };
        for (column, want) in wants.iter().enumerate() {
            let name = COLUMNS[column];
            let auth = world.caller(column, *needs).map(|c| {
                if v2 {
                    c.key.clone()
                } else {
                    format!("Bearer {}", c.key)
                }
            });
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            let path = world.fill(path, name);
            let reply = world.app.send(method, &path, &headers, None);
            cells += 1;
            if let Some(problem) = world.check(&reply, *want, shape) {
                failures.push(format!(
                    "{method} {path} [{name}]: {problem}; got {reply:?}"
                ));
            }
        }
    }
    for (method, path, body, needs, wants) in KV_ROWS {
        let vault = path.starts_with("/v1/");
        let shape = if vault { Shape::Vault } else { Shape::Kv };
        let call = |caller: Option<&Caller>, column: &str| {
            let auth = caller.map(|c| {
                if vault {
                    ("X-Vault-Token", c.key.clone())
                } else {
                    ("Authorization", format!("Bearer {}", c.key))
                }
            });
            let mut headers: Vec<(&str, &str)> =
                auth.iter().map(|(n, v)| (*n, v.as_str())).collect();
            if body.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            let body = body.map(|b| world.fill(b, column).into_bytes());
            world
                .app
                .send(method, &world.fill(path, column), &headers, body.as_deref())
        };
        if *method == "GET" && *needs != Needs::Admin {
            let reply = call(Some(&world.alice), "owner");
            if !(200..300).contains(&reply.status) {
                failures.push(format!("{method} {path} owner: {reply:?}"));
            }
        }
        for (column, want) in wants.iter().enumerate() {
            let name = COLUMNS[column];
            let reply = call(world.caller(column, *needs), name);
            cells += 1;
            if let Some(problem) = world.check(&reply, *want, shape) {
                failures.push(format!(
                    "{method} {path} [{name}]: {problem}; got {reply:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Alice's objects are all still there, unchanged.
    let hers = world.app.send(
        "GET",
        &format!("{V3}/secrets-safe/secrets/{}/text", world.ids[3].1),
        &[("Authorization", &world.alice.v3())],
        None,
    );
    assert_eq!(hers.status, 200, "{hers:?}");
    assert_eq!(hers.json()["Password"], "alice-value-1");
    assert_eq!(hers.json()["Title"], "db");
    assert_eq!(
        hers.json()["FolderId"],
        world.ids[2].1.as_str(),
        "not moved"
    );
}

#[test]
fn the_admin_key_passes_every_scope_check() {
    // The other side of the `scope` column: the same administrator with a key that
    // has every scope reaches each v3 route's area (no 403 from the gateway).
    let world = world();
    let admin = Caller {
        key: ADMIN_KEY.to_string(),
        user_name: "admin".into(),
    };
    // A credential is its requester's alone: the administrator's 404 there is right.
    let admin_reaches = |r: &&Row| r.method == "GET" && !r.path.starts_with("Credentials/");
    for row in V3_ROWS.iter().filter(admin_reaches) {
        let reply = world.v3(row, Some(&admin), "admin");
        assert!(
            (200..300).contains(&reply.status),
            "{} {}: {reply:?}",
            row.method,
            row.path
        );
    }
}
