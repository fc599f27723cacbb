//! One `TestApp` builder for every end-to-end test: it builds the components once,
//! starts the runner on a free loopback port with a fresh state directory, and
//! speaks HTTP to it.

use edgesafe_runner::{AppConfig, Limits, Running};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Builds the wasm components once per test binary (cargo makes repeat builds cheap).
pub fn build_components() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        edgesafe_runner::build::ensure_target(&root(), edgesafe_runner::build::WASM_TARGET)
            .expect("the wasm target is installed");
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "edgesafe-core",
                "-p",
                "edgesafe-gateway",
                "-p",
                "edgesafe-identity",
                "-p",
                "edgesafe-folders",
                "-p",
                "edgesafe-secrets",
                "-p",
                "edgesafe-safes",
                "-p",
                "edgesafe-checkout",
                "-p",
                "edgesafe-audit",
                "-p",
                "edgesafe-kv",
                "-p",
                "edgesafe-probe",
                "-p",
                "edgesafe-vault-probe",
                "-p",
                "edgesafe-limits-probe",
                "-p",
                "edgesafe-bench-hello-p3",
            ])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the components failed");
    });
}

pub const KEK: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// 128 hex characters, the shape of a Password Safe API key.
pub const ADMIN_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

pub struct TestApp {
    manifest: PathBuf,
    state: tempfile::TempDir,
    env: BTreeMap<String, String>,
    limits: Limits,
    running: Option<Host>,
}

/// Names the Spin CLI to run the suite under instead of the runner (`spin up`); tests
/// that need the runner's own clock or internals are skipped there (see `.ci/run`).
pub const SPIN_ENV: &str = "EDGESAFE_TEST_SPIN";

/// What serves the app: the runner in this process, or a real `spin up`.
enum Host {
    Runner(Running),
    Spin(SpinUp),
}

impl Host {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Host::Runner(r) => r.addr(),
            Host::Spin(s) => s.addr,
        }
    }

    fn stop(self) -> anyhow::Result<()> {
        match self {
            Host::Runner(r) => r.stop(),
            Host::Spin(s) => s.stop(),
        }
    }
}

/// A `spin up` child process on a free loopback port.
struct SpinUp {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl SpinUp {
    fn start(spin: &str, app: &TestApp) -> anyhow::Result<Self> {
        // Spin picks no free port itself: take one and hand it over.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut child = std::process::Command::new(spin)
            .arg("up")
            .arg("-f")
            .arg(&app.manifest)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--state-dir")
            .arg(app.state.path())
            .envs(&app.env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(app.state.path().join("spin-up.log"))?)
            .spawn()?;
        // Ready when it answers HTTP; the first start compiles every component.
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(app.state.path().join("spin-up.log"))
                    .unwrap_or_default();
                anyhow::bail!("spin up exited ({status}): {log}");
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(SpinUp { child, addr });
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                anyhow::bail!("spin up did not listen on {addr} in time");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(mut self) -> anyhow::Result<()> {
        // SIGTERM, as a user's Ctrl-C would, so Spin closes its stores.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.child.try_wait()?.is_none() {
            if std::time::Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

impl TestApp {
    /// The edgesafe app with a fresh state directory.
    pub fn start() -> Self {
        Self::with_manifest(&root().join("spin.toml"), &[])
    }

    /// The edgesafe app with extra `SPIN_VARIABLE_*` values.
    pub fn start_with(vars: &[(&str, &str)]) -> Self {
        Self::with_manifest(&root().join("spin.toml"), vars)
    }

    pub fn with_manifest(manifest: &Path, vars: &[(&str, &str)]) -> Self {
        Self::with_limits(manifest, vars, Limits::default())
    }

    /// As [`TestApp::with_manifest`], with the runner's timeouts and pool set.
    pub fn with_limits(manifest: &Path, vars: &[(&str, &str)], limits: Limits) -> Self {
        build_components();
        let mut env = BTreeMap::new();
        env.insert("SPIN_VARIABLE_KEK".to_string(), KEK.to_string());
        env.insert(
            "SPIN_VARIABLE_ADMIN_API_KEY".to_string(),
            ADMIN_KEY.to_string(),
        );
        env.insert("SPIN_VARIABLE_TOKEN".to_string(), "probe-token".to_string());
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        let mut app = Self {
            manifest: manifest.to_path_buf(),
            state: tempfile::tempdir().expect("temp dir"),
            env,
            limits,
            running: None,
        };
        app.running = Some(app.boot().expect("runner starts"));
        app
    }

    pub fn config(&self) -> AppConfig {
        AppConfig {
            manifest: self.manifest.clone(),
            state_dir: self.state.path().to_path_buf(),
            cache_dir: Some(root().join("target").join("edgesafe-runner-cache")),
            env: self.env.clone(),
            init_secrets: false,
            log_requests: false,
            runtime_config: None,
            limits: self.limits.clone(),
        }
    }

    fn boot(&self) -> anyhow::Result<Host> {
        match std::env::var(SPIN_ENV) {
            Ok(spin) if !spin.is_empty() => Ok(Host::Spin(SpinUp::start(&spin, self)?)),
            _ => Ok(Host::Runner(Running::start(
                &self.config(),
                "127.0.0.1:0".parse()?,
            )?)),
        }
    }

    /// The runner serving the app; panics under real Spin, where the tests that need it
    /// are skipped (the list is in `.ci/run`).
    pub fn runner(&self) -> &Running {
        match self.running.as_ref().expect("running") {
            Host::Runner(r) => r,
            Host::Spin(_) => panic!("this test needs the runner; skip it under {SPIN_ENV}"),
        }
    }

    /// Restarts on the same state directory with some variables changed.
    pub fn restart_with(&mut self, vars: &[(&str, &str)]) {
        for (k, v) in vars {
            self.env.insert(k.to_string(), v.to_string());
        }
        self.restart();
    }

    /// Stops the runner and starts it again on the same state directory.
    pub fn restart(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().expect("runner stops cleanly");
        }
        self.running = Some(self.boot().expect("runner restarts"));
    }

    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr())
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.as_ref().expect("running").addr()
    }

    /// The running app, for what the runner reports about itself.
    pub fn app(&self) -> &edgesafe_runner::App {
        self.runner().app()
    }

    /// Moves the guests' wall clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.runner().app().clock().advance(by);
    }

    /// Sends a request; `path` is appended to the base URL verbatim.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        send(&self.base(), method, path, headers, body)
    }

    /// Writes `request` (raw HTTP/1.1) on a fresh connection and reads until the server
    /// closes it: for what a client library would not send, or answers it cannot read.
    pub fn raw_exchange(&self, request: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.addr()).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("writes");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, None)
    }

    pub fn post_json(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &serde_json::Value,
    ) -> Reply {
        let mut h = headers.to_vec();
        h.push(("Content-Type", "application/json"));
        self.send("POST", path, &h, Some(body.to_string().as_bytes()))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop();
        }
    }
}

/// Sends a request to `base`; `path` is appended verbatim (doubled slashes stay).
pub fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let mut req = agent.request(method, &format!("{base}{path}"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            resp.all(&n)
                .into_iter()
                .map(|v| (n.clone(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// `PS-Auth key=<key>; runas=<user>;` as the Password Safe clients send it.
pub fn ps_auth(key: &str, runas: &str) -> String {
    format!("PS-Auth key={key}; runas={runas};")
}

pub const V3: &str = "/BeyondTrust/api/public/v3";

/// A signed-in v3 session: the cookie to send, and the user behind it.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub user_id: i64,
    pub user_name: String,
}

impl TestApp {
    /// Signs in with `key` as `runas` and returns the session.
    pub fn sign_in(&self, key: &str, runas: &str) -> Session {
        let reply = self.send(
            "POST",
            &format!("{V3}/Auth/SignAppIn"),
            &[("Authorization", &ps_auth(key, runas))],
            None,
        );
        assert_eq!(reply.status, 200, "sign-in as {runas}: {reply:?}");
        let cookie = reply
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let user = reply.json();
        Session {
            cookie,
            user_id: user["UserId"].as_i64().expect("UserId"),
            user_name: runas.to_string(),
        }
    }

    /// The bootstrap administrator's session.
    pub fn admin(&self) -> Session {
        self.sign_in(ADMIN_KEY, "admin")
    }

    /// Creates a user in a new group holding the Secrets-Safe feature at `level`
    /// (0: none, 1: read, 2: read/write), gives it an API key, and signs it in.
    pub fn user_with_feature(&self, admin: &Session, name: &str, level: u8) -> Session {
        let user = self.v3(
            admin,
            "POST",
            "Users",
            Some(serde_json::json!({"UserName": name})),
        );
        assert_eq!(user.status, 201, "{user:?}");
        let user_id = user.json()["UserID"].as_i64().expect("UserID");
        if level > 0 {
            let group = self.v3(
                admin,
                "POST",
                "UserGroups",
                Some(serde_json::json!({"groupName": format!("{name}-group"),
                    "Permissions": [{"PermissionID": 1, "AccessLevelID": level}]})),
            );
            assert_eq!(group.status, 201, "{group:?}");
            let group_id = group.json()["GroupID"].as_i64().expect("GroupID");
            let member = self.v3(
                admin,
                "POST",
                &format!("Users/{user_id}/UserGroups/{group_id}"),
                None,
            );
            assert_eq!(member.status, 201, "{member:?}");
        }
        let key = self.v3(
            admin,
            "POST",
            &format!("Users/{user_id}/ApiKeys"),
            Some(serde_json::json!({})),
        );
        assert_eq!(key.status, 201, "{key:?}");
        let key = key.json()["Key"].as_str().expect("Key").to_string();
        self.sign_in(&key, name)
    }

    /// Creates a group holding the Secrets-Safe feature at `level` and puts `user` in it.
    pub fn group_with_feature(
        &self,
        admin: &Session,
        name: &str,
        level: u8,
        members: &[i64],
    ) -> i64 {
        let group = self.v3(
            admin,
            "POST",
            "UserGroups",
            Some(serde_json::json!({"groupName": name,
                "Permissions": [{"PermissionID": 1, "AccessLevelID": level}]})),
        );
        assert_eq!(group.status, 201, "{group:?}");
        let group_id = group.json()["GroupID"].as_i64().expect("GroupID");
        for user in members {
            let member = self.v3(
                admin,
                "POST",
                &format!("Users/{user}/UserGroups/{group_id}"),
                None,
            );
            assert_eq!(member.status, 201, "{member:?}");
        }
        group_id
    }

    /// A v3 call with the session cookie; `path` is relative to the v3 base and may
    /// carry a query string. JSON bodies are sent as `application/json`.
    pub fn v3(
        &self,
        session: &Session,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        self.send_json(
            method,
            &format!("{V3}/{path}"),
            ("Cookie", &session.cookie),
            body,
        )
    }

    /// A call to `url` (a path from the root) with one credential header (`Cookie`,
    /// `Authorization`, ...) and, when there is one, a JSON body.
    pub fn send_json(
        &self,
        method: &str,
        url: &str,
        credential: (&str, &str),
        body: Option<serde_json::Value>,
    ) -> Reply {
        match body {
            Some(json) => self.send(
                method,
                url,
                &[credential, ("Content-Type", "application/json")],
                Some(json.to_string().as_bytes()),
            ),
            None => self.send(method, url, &[credential], None),
        }
    }

    /// A v3 call with the session cookie and a raw body of `content_type`, for the 415,
    /// bad-JSON and multipart cases.
    pub fn v3_raw(
        &self,
        session: &Session,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        self.send(
            method,
            &format!("{V3}/{path}"),
            &[("Cookie", &session.cookie), ("Content-Type", content_type)],
            Some(body),
        )
    }

    /// Creates a safe as `session` (who then manages it) and returns its id.
    pub fn create_safe(&self, session: &Session, name: &str) -> String {
        let reply = self.v3(
            session,
            "POST",
            "secrets-safe/safes",
            Some(serde_json::json!({"Name": name, "Description": format!("{name} safe")})),
        );
        assert_eq!(reply.status, 201, "create safe {name}: {reply:?}");
        reply.json()["Id"].as_str().expect("Id").to_string()
    }

    /// Creates a folder inside `parent` (a safe or folder) through the folders API and
    /// returns its id.
    pub fn create_folder(&self, session: &Session, parent: &str, name: &str) -> String {
        let reply = self.v3(
            session,
            "POST",
            "secrets-safe/folders",
            Some(serde_json::json!({"Name": name, "ParentId": parent})),
        );
        assert_eq!(reply.status, 201, "create folder {name}: {reply:?}");
        reply.json()["Id"].as_str().expect("Id").to_string()
    }

    /// Creates a text secret in `folder` through the secrets API and returns its id.
    pub fn create_text_secret(
        &self,
        session: &Session,
        folder: &str,
        title: &str,
        text: &str,
    ) -> String {
        let reply = self.v3(
            session,
            "POST",
            &format!("secrets-safe/folders/{folder}/secrets/text"),
            Some(serde_json::json!({"Title": title, "Text": text})),
        );
        assert_eq!(reply.status, 201, "create text secret {title}: {reply:?}");
        reply.json()["Id"].as_str().expect("Id").to_string()
    }

    /// The app's database, for what the API does not show (rows left behind, the
    /// audit trail).
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.state_dir().join("sqlite_db.db")).expect("db");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        conn
    }

    /// The single integer a query on the app's database answers, e.g. a `count(*)`.
    pub fn count(&self, sql: &str, params: impl rusqlite::Params) -> i64 {
        self.db()
            .query_row(sql, params, |r| r.get(0))
            .expect("count query")
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ` for a Unix time (the runner's clock is the real one plus
/// whatever the test advanced), from the civil-from-days conversion.
pub fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The real wall clock in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

// ---------------------------------------------------------------- PAM v2 calls

/// The v2 path prefix.
pub const V2: &str = "/api/v2";

/// The v2 `Authorization` of a signed-in session: its token, bare.
pub fn v2_token(session: &Session) -> String {
    let (_, token) = session.cookie.split_once('=').expect("name=token");
    token.to_string()
}

impl TestApp {
    /// A v2 call with `Authorization: <auth>` (a token or an API key).
    pub fn v2(
        &self,
        auth: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        self.send_json(
            method,
            &format!("{V2}/{path}"),
            ("Authorization", auth),
            body,
        )
    }

    /// Grants `flags` (v3 names) on `safe` to a user, as the safe's manager.
    pub fn grant(&self, manager: &Session, safe: &str, user_id: i64, flags: serde_json::Value) {
        let body = serde_json::json!({"PrincipalType": 0, "PrincipalID": user_id,
            "PermissionFlags": flags});
        let path = format!("secrets-safe/safes/{safe}/safe-permissions");
        let reply = self.v3(manager, "PUT", &path, Some(body));
        assert_eq!(reply.status, 204, "grant: {reply:?}");
    }
}

/// A v2 success: 200 and `"result": "success"`; the body.
pub fn v2_success(reply: &Reply, what: &str) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{what}: {reply:?}");
    let body = reply.json();
    assert_eq!(body["result"], "success", "{what}: {body}");
    body
}

/// A v2 error: `status` and the error envelope with `code`.
pub fn v2_error(reply: &Reply, status: u16, code: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
    let body = reply.json();
    assert_eq!(body["result"], "error", "{what}: {body}");
    assert_eq!(body["code"], code, "{what}: {body}");
}

/// A virtual environment `target/<dir>` made with `interpreter` and `requirements`
/// (under tests/python) installed from PyPI, once (`.ci/run` prepares them on CI); its
/// `bin/python`.
pub fn python_venv(
    dir: &str,
    interpreter: impl FnOnce() -> PathBuf,
    requirements: &str,
) -> PathBuf {
    let venv = root().join("target").join(dir);
    let python = venv.join("bin/python");
    let requirements = root().join("tests/python").join(requirements);
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let marker = venv.join("requirements.installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let made = std::process::Command::new(interpreter())
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python -m venv {} failed", venv.display());
        let installed = std::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements)
            .status()
            .unwrap();
        assert!(installed.success(), "pip install failed");
        std::fs::write(&marker, wanted).unwrap();
    }
    python
}
