//! The runner's timeouts: a guest that computes forever, a client that trickles its
//! headers or its body, and many such clients at once each meet their own limit while
//! everyone else is still served. The limits are set to one second here, so each case
//! waits about that long and no more.

use edgesafe_runner::Limits;
use edgesafe_tests::{ps_auth, root, TestApp, ADMIN_KEY, V3};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(1);

fn limits() -> Limits {
    Limits {
        request_timeout: Some(LIMIT),
        header_read_timeout: LIMIT,
        ..Limits::default()
    }
}

/// The misbehaving fixture (tests/fixtures/limits) under one-second limits.
fn limits_probe() -> TestApp {
    TestApp::with_limits(
        &root().join("tests/fixtures/limits/spin.toml"),
        &[],
        limits(),
    )
}

/// While `slow` runs on another thread, ordinary requests keep being answered; then
/// `slow`'s own outcome.
fn others_are_served_while<T: Send + 'static>(
    app: &TestApp,
    path: &str,
    slow: impl FnOnce() -> T + Send + 'static,
) -> T {
    let slow = std::thread::spawn(slow);
    let mut served = 0;
    while !slow.is_finished() {
        let reply = app.get(path, &[]);
        assert_eq!(reply.status, 200, "{reply:?}");
        served += 1;
    }
    assert!(served > 0, "no request was served alongside");
    slow.join().expect("the slow client's thread")
}

/// What the server sent on `stream` before closing it (or before `within`).
fn read_answer(stream: &mut TcpStream, within: Duration) -> String {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer within {within:?}: {e}"),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends `head`, then `trickle` one byte every 100 ms until the server hangs up or
/// `give_up` passes; answers what the server said and when it hung up.
fn trickle(addr: std::net::SocketAddr, head: String, give_up: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    while started.elapsed() < give_up {
        std::thread::sleep(Duration::from_millis(100));
        if stream.write_all(b"x").is_err() {
            break;
        }
        stream.set_nonblocking(true).unwrap();
        let mut peek = [0u8; 1];
        let answered = stream.peek(&mut peek).is_ok();
        stream.set_nonblocking(false).unwrap();
        if answered {
            break;
        }
    }
    let answer = read_answer(&mut stream, Duration::from_secs(5));
    (answer, started.elapsed())
}

#[test]
fn a_guest_that_computes_forever_is_stopped_at_the_request_timeout() {
    let app = limits_probe();
    let base = app.base();
    let (reply, took) = others_are_served_while(&app, "/ok", move || {
        let started = Instant::now();
        let reply = edgesafe_tests::send(&base, "GET", "/loop", &[], None);
        (reply, started.elapsed())
    });
    // Spin answers a guest stopped by its deadline with a 500.
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(took >= LIMIT, "stopped early: {took:?}");
    assert!(took < 4 * LIMIT, "stopped late: {took:?}");
    assert_eq!(app.get("/ok", &[]).text(), "ok");
}

#[test]
fn a_chained_call_runs_within_its_callers_deadline() {
    let app = limits_probe();
    assert_eq!(app.get("/chain/ok", &[]).text(), "back: ok");
    let started = Instant::now();
    let reply = app.get("/chain/loop", &[]);
    let took = started.elapsed();
    assert_eq!(reply.status, 500, "{reply:?}");
    // One deadline for the caller and the callee, not one after the other.
    assert!(took < 2 * LIMIT, "took {took:?}");
    assert_eq!(app.get("/chain/ok", &[]).text(), "back: ok");
}

#[test]
fn a_client_that_trickles_its_headers_is_cut_off() {
    let app = limits_probe();
    let addr = app.addr();
    let (answer, took) = others_are_served_while(&app, "/ok", move || {
        trickle(
            addr,
            "GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_string(),
            10 * LIMIT,
        )
    });
    assert!(took < 4 * LIMIT, "not cut off: {took:?}");
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[test]
fn a_client_that_trickles_its_body_gets_408() {
    let app = limits_probe();
    let addr = app.addr();
    let (answer, took) = others_are_served_while(&app, "/ok", move || {
        trickle(
            addr,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".to_string(),
            10 * LIMIT,
        )
    });
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(took < 4 * LIMIT, "not cut off: {took:?}");
    // A body that arrives in time is read.
    let reply = app.send("POST", "/echo", &[], Some(&[7u8; 1000]));
    assert_eq!(reply.text(), "1000 bytes");
}

#[test]
fn two_hundred_slow_bodies_do_not_stop_sign_ins() {
    let app = TestApp::with_limits(&root().join("spin.toml"), &[], limits());
    let addr = app.addr();
    // The attack: 6 MB announced to the token endpoint, sent a byte at a time.
    // Two hundred of them hold more requests than the app runs at once.
    const SLOW: usize = 200;
    assert!(app.app().concurrent_requests() < SLOW);
    let head = format!(
        "POST {V3}/Auth/connect/token HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6000000\r\n\r\n"
    );
    let slow: Vec<_> = (0..SLOW)
        .map(|_| {
            let head = head.clone();
            std::thread::spawn(move || trickle(addr, head, 10 * LIMIT))
        })
        .collect();
    // Sign-ins keep succeeding while the slow clients hold their requests open.
    let started = Instant::now();
    let mut signed_in = 0;
    while started.elapsed() < 3 * LIMIT {
        let reply = app.send(
            "POST",
            &format!("{V3}/Auth/SignAppIn"),
            &[("Authorization", &ps_auth(ADMIN_KEY, "admin"))],
            None,
        );
        assert_eq!(reply.status, 200, "{reply:?}");
        signed_in += 1;
    }
    assert!(signed_in > 0);
    for client in slow {
        let (answer, took) = client.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(took < 8 * LIMIT, "not cut off: {took:?}");
    }
}
