//! Overload: a thousand connections at once at sign-in and at a secret read. Requests
//! the app cannot run yet wait their turn; what cannot wait is refused with 503 and
//! `Retry-After`, never another 5xx; the runner's memory stays bounded, and the app
//! answers normally right after.

use edgesafe_tests::{ps_auth, Session, TestApp, ADMIN_KEY, V3};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 1000;
/// How long the connections keep sending.
const LOAD: Duration = Duration::from_secs(5);
/// The text of the secret every read must answer.
const VALUE: &str = "the-value-under-load";

/// What one connection saw.
#[derive(Default)]
struct Tally {
    ok: usize,
    refused: usize,
    wrong: Vec<String>,
}

/// The process's resident memory in MB (the runner serves in this process).
fn resident_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb / 1024
}

/// One keep-alive connection alternating sign-in and secret read until `until`.
fn connection(base: String, session: Session, secret: String, until: Instant) -> Tally {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .max_idle_connections_per_host(1)
        .build();
    let sign_in = format!("{base}{V3}/Auth/SignAppIn");
    let read = format!("{base}{V3}/secrets-safe/secrets/{secret}/text");
    let mut tally = Tally::default();
    let mut turn = 0u32;
    while Instant::now() < until {
        turn += 1;
        let reading = turn.is_multiple_of(2);
        let result = if reading {
            agent.get(&read).set("Cookie", &session.cookie).call()
        } else {
            agent
                .post(&sign_in)
                .set("Authorization", &ps_auth(ADMIN_KEY, "admin"))
                .call()
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                tally.wrong.push(format!("transport: {e}"));
                continue;
            }
        };
        let status = response.status();
        let retry_after = response.header("retry-after").map(str::to_string);
        let body = response.into_string().unwrap_or_default();
        match status {
            200 if reading && body.contains(VALUE) => tally.ok += 1,
            200 if !reading && body.contains("\"UserName\":\"admin\"") => tally.ok += 1,
            // Turned away in the v3 error shape that both routes speak.
            503 if retry_after.is_some() && body.contains("\"Code\":\"unavailable\"") => {
                tally.refused += 1
            }
            _ => tally.wrong.push(format!("{status} {retry_after:?} {body}")),
        }
    }
    tally
}

#[test]
fn a_thousand_connections_are_answered_or_asked_to_retry() {
    let app = TestApp::start();
    let admin = app.admin();
    let safe = app.create_safe(&admin, "load");
    let secret = app.create_text_secret(&admin, &safe, "under load", VALUE);
    let concurrent = app.app().concurrent_requests();
    assert!(concurrent < CONNECTIONS, "the load must exceed the pool");
    let before = resident_mb();

    let until = Instant::now() + LOAD;
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (base, session, secret) = (app.base(), admin.clone(), secret.clone());
            std::thread::Builder::new()
                .stack_size(256 << 10)
                .spawn(move || connection(base, session, secret, until))
                .expect("a client thread")
        })
        .collect();
    let mut peak = before;
    while clients.iter().any(|c| !c.is_finished()) {
        peak = peak.max(resident_mb());
        std::thread::sleep(Duration::from_millis(100));
    }
    let tallies: Vec<Tally> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ok: usize = tallies.iter().map(|t| t.ok).sum();
    let refused: usize = tallies.iter().map(|t| t.refused).sum();
    let wrong: Vec<&String> = tallies.iter().flat_map(|t| &t.wrong).collect();
    eprintln!(
        "{CONNECTIONS} connections for {LOAD:?}, {concurrent} requests at once: {ok} answered, \
         {refused} asked to retry; resident memory {before} MB before, {peak} MB at peak"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert!(ok > 0);
    // Bounded: the instances that run at once, not the connections that wait.
    assert!(peak - before < 2048, "memory grew by {} MB", peak - before);

    // Right after, the app answers normally.
    let started = Instant::now();
    let again = app.admin();
    let read = app.v3(
        &again,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["Text"], VALUE);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn requests_wait_for_a_busy_pool_and_a_full_queue_is_asked_to_retry() {
    // A pool for one chain (the fixture's front calling back), a queue of one. The busy
    // request holds the pool until its deadline; 5 s leaves the others time to line up
    // even while the thousand-connection test beside this one loads the machine.
    let limits = edgesafe_runner::Limits {
        request_timeout: Some(Duration::from_secs(5)),
        max_instances: 3,
        max_queued_requests: 1,
        ..Default::default()
    };
    let app = TestApp::with_limits(
        &edgesafe_tests::root().join("tests/fixtures/limits/spin.toml"),
        &[],
        limits,
    );
    assert_eq!(app.app().concurrent_requests(), 1);
    let base = app.base();
    let send = move |path: &'static str| {
        let base = base.clone();
        std::thread::spawn(move || edgesafe_tests::send(&base, "GET", path, &[], None))
    };
    let until = |state: (usize, usize)| {
        let started = Instant::now();
        while app.app().requests_now() != state {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never {state:?}"
            );
            std::thread::yield_now();
        }
    };
    let busy = send("/chain/loop");
    until((1, 0));
    let waiting = send("/ok");
    until((1, 1));
    let refused = app.get("/ok", &[]);
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["error"], "overloaded");
    assert_eq!(busy.join().unwrap().status, 500, "stopped at its deadline");
    let waited = waiting.join().unwrap();
    assert_eq!(waited.status, 200, "{waited:?}");
    assert_eq!(app.get("/ok", &[]).text(), "ok");
}

#[test]
fn a_request_the_pool_cannot_take_is_turned_away_in_its_protocols_words() {
    // Two chains: one serves, one is kept back for turning requests away; a queue of
    // one, so the setup's requests wait out the moment a finished request still holds
    // its chain (it is freed when its instances are gone, just after the answer).
    let limits = edgesafe_runner::Limits {
        max_instances: 16,
        max_queued_requests: 1,
        queue_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let app = TestApp::with_limits(&edgesafe_tests::root().join("spin.toml"), &[], limits);
    assert_eq!(app.app().concurrent_requests(), 1);
    let admin = app.admin();
    let safe = app.create_safe(&admin, "turned away");
    let secret = app.create_text_secret(&admin, &safe, "busy", VALUE);

    // What a 503 of each protocol looks like: its error code where its clients read it.
    type Shape = fn(&serde_json::Value) -> &serde_json::Value;
    let v3: Shape = |body| &body["Code"];
    let v2: Shape = |body| &body["code"];
    let kv: Shape = |body| &body["error"]["code"];
    let bearer = format!("Bearer {ADMIN_KEY}");
    let routes = [
        (
            format!("{V3}/secrets-safe/secrets/{secret}/text"),
            ("Cookie", admin.cookie.clone()),
            v3,
        ),
        (
            "/api/v2/session".to_string(),
            ("Authorization", bearer.clone()),
            v2,
        ),
        (
            "/api/secrets/whoami".to_string(),
            ("Authorization", bearer),
            kv,
        ),
    ];
    let clients: Vec<_> = (0..48)
        .map(|i| {
            let (path, (name, value), shape) = routes[i % routes.len()].clone();
            let base = app.base();
            std::thread::spawn(move || {
                let mut refused = 0;
                for _ in 0..10 {
                    let reply = edgesafe_tests::send(&base, "GET", &path, &[(name, &value)], None);
                    match reply.status {
                        200 => {}
                        503 => {
                            assert_eq!(reply.header("retry-after"), Some("1"), "{path}");
                            assert_eq!(shape(&reply.json()), "unavailable", "{path}: {reply:?}");
                            refused += 1;
                        }
                        _ => panic!("{path}: {reply:?}"),
                    }
                }
                (path, refused)
            })
        })
        .collect();
    let mut refused_per_route = std::collections::BTreeMap::new();
    for client in clients {
        let (path, refused) = client.join().expect("a client");
        *refused_per_route.entry(path).or_insert(0) += refused;
    }
    eprintln!("turned away per route: {refused_per_route:?}");
    assert!(
        refused_per_route.values().all(|&n| n > 0),
        "every protocol was turned away at least once: {refused_per_route:?}"
    );

    // The secret read under the session still answers the value once the load is gone.
    let read = app.v3(
        &admin,
        "GET",
        &format!("secrets-safe/secrets/{secret}/text"),
        None,
    );
    assert_eq!(read.status, 200, "{read:?}");
    assert_eq!(read.json()["Text"], VALUE);
    // Only the runner says a request is turned away: a client's header is dropped.
    let pretend = app.get(
        "/api/v2/session",
        &[
            ("Authorization", ADMIN_KEY),
            ("edgesafe-runner-overloaded", "1"),
        ],
    );
    assert_eq!(pretend.status, 200, "{pretend:?}");
}
