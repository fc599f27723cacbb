//! WASIp3 components on the runner: served through `wasi:http/handler@0.3` with Spin 4's
//! instance reuse, on bench/hello-p3 beside the WASIp2 probe
//! (tests/fixtures/hello-p3/spin.toml). Tests on Spin's default reuse limits also run
//! under real `spin up` (`EDGESAFE_TEST_SPIN`); those that set the runner's limits or
//! read its instance count are runner-only (listed in `.ci/run`).

use edgesafe_runner::limits::InstanceReuse;
use edgesafe_runner::Limits;
use edgesafe_tests::{root, Reply, TestApp};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn hello(limits: Limits) -> TestApp {
    TestApp::with_limits(
        &root().join("tests/fixtures/hello-p3/spin.toml"),
        &[],
        limits,
    )
}

/// What bench/hello-p3 says about the instance that served a request.
#[derive(Debug)]
struct Served {
    instance: String,
    served: u64,
    in_flight: u64,
    note: String,
    /// The guest's wall clock, in Unix seconds.
    now: i64,
    url: String,
}

fn served(reply: &Reply) -> Served {
    assert_eq!(reply.status, 200, "{reply:?}");
    let text = reply.text();
    let fields: BTreeMap<&str, &str> = text
        .split_whitespace()
        .filter_map(|field| field.split_once('='))
        .collect();
    Served {
        instance: fields["instance"].to_string(),
        served: fields["served"].parse().expect("a count"),
        in_flight: fields["in-flight"].parse().expect("a count"),
        note: fields["note"].to_string(),
        now: fields["now"].parse().expect("seconds"),
        url: fields["url"].to_string(),
    }
}

#[test]
fn a_wasip3_component_is_served_its_full_url() {
    let app = hello(Limits::default());
    let answer = served(&app.get("/p3/some/path?wait=0", &[]));
    assert_eq!(answer.url, format!("{}/p3/some/path?wait=0", app.base()));
    assert_eq!(answer.served, 1);
    assert_eq!(answer.in_flight, 1);
}

#[test]
fn sequential_requests_reuse_one_instance_up_to_the_reuse_count() {
    // Spin's default: 128 requests an instance.
    let app = hello(Limits::default());
    let first = served(&app.get("/p3/", &[]));
    assert_eq!(first.served, 1);
    for n in 2..=128 {
        let next = served(&app.get("/p3/", &[]));
        assert_eq!(next.instance, first.instance, "request {n}");
        assert_eq!(next.served, n);
    }
    let fresh = served(&app.get("/p3/", &[]));
    assert_ne!(fresh.instance, first.instance);
    assert_eq!(fresh.served, 1);
}

#[test]
fn the_reuse_count_is_the_runners_flag() {
    let app = hello(Limits {
        instance_reuse: InstanceReuse {
            max_requests: 3,
            ..Default::default()
        },
        ..Default::default()
    });
    let answers: Vec<Served> = (0..7).map(|_| served(&app.get("/p3/", &[]))).collect();
    let counts: Vec<u64> = answers.iter().map(|s| s.served).collect();
    assert_eq!(counts, [1, 2, 3, 1, 2, 3, 1]);
    assert_eq!(answers[0].instance, answers[2].instance);
    assert_ne!(answers[2].instance, answers[3].instance);
    assert_ne!(answers[5].instance, answers[6].instance);
}

/// Sends `count` requests at once, each held `wait_ms` by the guest.
fn at_once(app: &TestApp, count: usize, wait_ms: u64) -> Vec<Served> {
    let base = app.base();
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                edgesafe_tests::send(&base, "GET", &format!("/p3/?wait={wait_ms}"), &[], None)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| served(&t.join().expect("request thread")))
        .collect()
}

fn per_instance(answers: &[Served]) -> BTreeMap<&str, Vec<&Served>> {
    let mut by_instance: BTreeMap<&str, Vec<&Served>> = BTreeMap::new();
    for answer in answers {
        by_instance
            .entry(&answer.instance)
            .or_default()
            .push(answer);
    }
    by_instance
}

#[test]
fn concurrent_requests_share_an_instance_up_to_the_concurrent_count() {
    // Spin's default: 16 at once. 40 requests held 1.5 s overlap, so they need at
    // least three instances, none serving more than 16 at a time.
    let app = hello(Limits::default());
    let answers = at_once(&app, 40, 1500);
    let by_instance = per_instance(&answers);
    assert!(by_instance.len() >= 3, "{by_instance:?}");
    assert!(answers.iter().all(|a| a.in_flight <= 16), "{answers:?}");
    assert!(answers.iter().any(|a| a.in_flight > 1), "{answers:?}");
    for (_, served) in by_instance {
        let mut counts: Vec<u64> = served.iter().map(|s| s.served).collect();
        counts.sort();
        // Each instance counted its own requests, and no request twice.
        assert_eq!(counts, (1..=served.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn the_concurrent_count_is_the_runners_flag() {
    let app = hello(Limits {
        instance_reuse: InstanceReuse {
            max_concurrent: 2,
            ..Default::default()
        },
        ..Default::default()
    });
    let answers = at_once(&app, 8, 1000);
    assert!(answers.iter().all(|a| a.in_flight <= 2), "{answers:?}");
    assert!(answers.iter().any(|a| a.in_flight == 2), "{answers:?}");
    assert!(per_instance(&answers).len() >= 4, "{answers:?}");
}

#[test]
fn an_idle_instance_is_dropped_after_the_idle_timeout() {
    let app = hello(Limits {
        instance_reuse: InstanceReuse {
            idle_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(app.app().live_instances("hello-p3"), Some(0));
    let first = served(&app.get("/p3/", &[]));
    // Kept while requests follow one another within the idle timeout.
    let second = served(&app.get("/p3/", &[]));
    assert_eq!(second.instance, first.instance);
    assert_eq!(app.app().live_instances("hello-p3"), Some(1));
    // The runner's timer drops it; bounded, in case it never does.
    let started = Instant::now();
    while app.app().live_instances("hello-p3") != Some(0) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the idle instance was never dropped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    let fresh = served(&app.get("/p3/", &[]));
    assert_ne!(fresh.instance, first.instance);
    assert_eq!(fresh.served, 1);
}

#[test]
fn wasip2_instances_are_never_reused() {
    let app = hello(Limits::default());
    for _ in 0..5 {
        let reply = app.get("/p2/served", &[]);
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.text(), "1");
    }
}

#[test]
fn the_runner_keeps_no_wasip2_instance() {
    let app = hello(Limits::default());
    assert_eq!(app.get("/p2/served", &[]).text(), "1");
    assert_eq!(app.app().live_instances("probe"), None);
    assert_eq!(app.app().live_instances("hello-p3"), Some(0));
}

#[test]
fn nothing_of_one_request_reaches_the_next_on_the_same_instance() {
    let app = hello(Limits::default());
    let alice = served(&app.get("/p3/", &[("x-note", "alice-secret")]));
    assert_eq!(alice.note, "alice-secret");
    let bob = served(&app.get("/p3/", &[]));
    assert_eq!(bob.instance, alice.instance);
    assert_eq!(bob.served, alice.served + 1);
    assert_eq!(bob.note, "-");
    // Interleaved on one instance: each sees its own header only.
    let base = app.base();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let base = base.clone();
            std::thread::spawn(move || {
                let note = format!("user-{i}");
                let reply =
                    edgesafe_tests::send(&base, "GET", "/p3/?wait=300", &[("x-note", &note)], None);
                (note, reply)
            })
        })
        .collect();
    let mut instances = BTreeMap::new();
    for thread in threads {
        let (note, reply) = thread.join().expect("request thread");
        let answer = served(&reply);
        assert_eq!(answer.note, note);
        *instances.entry(answer.instance).or_insert(0) += 1;
    }
    assert!(instances.values().any(|&n| n > 1), "{instances:?}");
}

#[test]
fn a_reused_instance_reads_the_runners_clock() {
    let app = hello(Limits::default());
    let before = served(&app.get("/p3/", &[]));
    app.advance_clock(Duration::from_secs(86_400));
    let after = served(&app.get("/p3/", &[]));
    assert_eq!(after.instance, before.instance);
    let moved = after.now - before.now;
    assert!((86_400..86_400 + 60).contains(&moved), "moved {moved} s");
}

#[test]
fn the_request_deadline_bounds_a_wasip3_request() {
    let app = hello(Limits {
        request_timeout: Some(Duration::from_secs(1)),
        ..Default::default()
    });
    let started = Instant::now();
    let reply = app.get("/p3/?wait=10000", &[]);
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The component still answers afterwards.
    let next = served(&app.get("/p3/", &[]));
    assert_eq!(next.note, "-");
}
