//! The runner as a Spin host: routes, Spin headers, private routes, grants and
//! variables, on the probe component (tests/fixtures/probe/spin.toml).

use edgesafe_tests::{root, TestApp};

fn assert_denied(reply: edgesafe_tests::Reply) {
    assert!(reply.text().contains("AccessDenied"), "{reply:?}");
}

fn probe() -> TestApp {
    TestApp::with_manifest(&root().join("tests/fixtures/probe/spin.toml"), &[])
}

#[test]
fn routes_pick_the_most_specific_component() {
    let app = probe();
    assert_eq!(app.get("/probe/anything", &[]).text(), "ok");
    // `/denied/...` belongs to a component without grants: its answer shows which one ran.
    assert_denied(app.get("/denied/sqlite/default", &[]));
    assert_eq!(app.get("/probe/sqlite/default", &[]).text(), "opened");
    assert_eq!(app.get("/exact", &[]).status, 200);
    // An exact route does not match below itself, and Spin's matching is case-sensitive.
    assert_eq!(app.get("/exact/more", &[]).status, 404);
    assert_eq!(app.get("/PROBE/anything", &[]).status, 404);
}

#[test]
fn spin_headers_describe_the_match() {
    let app = probe();
    let reply = app.get("/users/42/headers?x=1", &[]);
    let text = reply.text();
    assert!(text.contains("spin-path-match-id: 42"), "{text}");
    assert!(
        text.contains("spin-matched-route: /users/:id/..."),
        "{text}"
    );
    assert!(text.contains("spin-path-info: /headers"), "{text}");
    assert!(text.contains("spin-component-route: /users/:id"), "{text}");
    assert!(
        text.contains(&format!(
            "spin-full-url: {}/users/42/headers?x=1",
            app.base()
        )),
        "{text}"
    );
    assert!(text.contains("spin-client-addr: 127.0.0.1:"), "{text}");
}

#[test]
fn callers_cannot_forge_spin_headers() {
    let app = probe();
    let text = app
        .get(
            "/probe/headers",
            &[
                ("spin-client-addr", "10.9.9.9:1"),
                ("spin-path-info", "/forged"),
            ],
        )
        .text();
    assert!(!text.contains("10.9.9.9"), "{text}");
    assert!(!text.contains("/forged"), "{text}");
}

#[test]
fn grants_are_enforced_like_spin() {
    let app = probe();
    assert_eq!(app.get("/probe/sqlite/default", &[]).text(), "opened");
    assert_denied(app.get("/probe/sqlite/other", &[]));
    assert_eq!(app.get("/probe/kv/default", &[]).text(), "opened");
    assert_denied(app.get("/probe/kv/other", &[]));
    assert_denied(app.get("/denied/kv/default", &[]));
}

#[test]
fn variables_come_from_templates_and_the_environment() {
    let app = probe();
    assert_eq!(
        app.get("/probe/variable/greeting", &[]).text(),
        "hello world"
    );
    assert_eq!(app.get("/probe/variable/token", &[]).text(), "probe-token");
    assert!(app
        .get("/probe/variable/missing", &[])
        .text()
        .contains("Undefined"));
    assert!(app
        .get("/probe/variable/Bad-Name", &[])
        .text()
        .contains("InvalidName"));
    assert!(app
        .get("/denied/variable/greeting", &[])
        .text()
        .contains("Undefined"));

    let overridden = TestApp::with_manifest(
        &root().join("tests/fixtures/probe/spin.toml"),
        &[("SPIN_VARIABLE_GREETING", "hi")],
    );
    assert_eq!(
        overridden.get("/probe/variable/greeting", &[]).text(),
        "hi world"
    );
}

#[test]
fn a_missing_required_variable_stops_the_start() {
    edgesafe_tests::build_components();
    let state = tempfile::tempdir().unwrap();
    let config = edgesafe_runner::AppConfig {
        manifest: root().join("tests/fixtures/probe/spin.toml"),
        state_dir: state.path().to_path_buf(),
        cache_dir: Some(root().join("target/edgesafe-runner-cache")),
        env: Default::default(),
        init_secrets: false,
        log_requests: false,
        runtime_config: None,
        limits: Default::default(),
    };
    let err = match edgesafe_runner::App::load(&config) {
        Ok(_) => panic!("started without a required variable"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("SPIN_VARIABLE_TOKEN"), "{err}");
}

#[test]
fn init_secrets_generates_required_secrets_once() {
    edgesafe_tests::build_components();
    let state = tempfile::tempdir().unwrap();
    let config = edgesafe_runner::AppConfig {
        manifest: root().join("spin.toml"),
        state_dir: state.path().to_path_buf(),
        cache_dir: Some(root().join("target/edgesafe-runner-cache")),
        env: Default::default(),
        init_secrets: true,
        log_requests: false,
        runtime_config: None,
        limits: Default::default(),
    };
    let first = edgesafe_runner::App::load(&config).expect("starts with generated secrets");
    let names: Vec<&str> = first
        .generated_secrets
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["admin_api_key", "kek"]);
    let key = &first.generated_secrets[0].1;
    assert_eq!(key.len(), 128);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
    let again = edgesafe_runner::App::load(&config).expect("restarts");
    assert!(
        again.generated_secrets.is_empty(),
        "secrets are generated only once"
    );
}

#[test]
fn private_routes_are_unreachable_from_outside() {
    let app = probe();
    // `hidden` has only a private route: no public path reaches it. A request that
    // names its chaining host is refused as Spin refuses it: no answer at all.
    assert_eq!(app.get("/", &[]).status, 404);
    assert_eq!(app.get("/hidden", &[]).status, 404);
    let answer = app
        .raw_exchange("GET / HTTP/1.1\r\nHost: hidden.spin.internal\r\nConnection: close\r\n\r\n");
    assert!(answer.is_empty(), "{answer}");
}

#[test]
fn a_runtime_config_file_declares_databases_like_spin() {
    // Granted but unknown to the host: no-such-database, as Spin answers.
    let app = probe();
    assert!(app
        .get("/probe/sqlite/extra", &[])
        .text()
        .contains("NoSuchDatabase"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("runtime-config.toml");
    std::fs::write(
        &file,
        "[sqlite_database.extra]\ntype = \"spin\"\npath = \"extra.db\"\n",
    )
    .unwrap();
    let mut config = app.config();
    config.runtime_config = Some(file.clone());
    let running = edgesafe_runner::Running::start(&config, "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = format!("http://{}", running.addr());
    let reply = edgesafe_tests::send(&base, "GET", "/probe/sqlite/extra", &[], None);
    assert_eq!(reply.text(), "opened");
    assert!(
        dir.path().join("extra.db").exists(),
        "relative paths start at the file's folder"
    );
    running.stop().unwrap();

    std::fs::write(
        &file,
        "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1\"\n",
    )
    .unwrap();
    let err = match edgesafe_runner::App::load(&config) {
        Ok(_) => panic!("started with a backend it cannot serve"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("redis"), "{err}");
}
