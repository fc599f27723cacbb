//! The runner binary as an operator uses it: help, a refused start, a clean stop.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn runner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_edgesafe-runner"))
}

#[test]
fn help_explains_the_flags() {
    let out = runner().args(["up", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--state-dir",
        "--from",
        "--build",
        "--init-secrets",
        "--cache-dir",
    ] {
        assert!(text.contains(flag), "help lacks {flag}:\n{text}");
    }
}

#[test]
fn a_missing_required_variable_refuses_to_start() {
    let state = tempfile::tempdir().unwrap();
    let out = runner()
        .args(["up", "-f"])
        .arg(root().join("spin.toml"))
        .arg("--state-dir")
        .arg(state.path())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("SPIN_VARIABLE_KEK")
        .env_remove("SPIN_VARIABLE_ADMIN_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("SPIN_VARIABLE_KEK"), "{text}");
    assert!(text.contains("SPIN_VARIABLE_ADMIN_API_KEY"), "{text}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "edgesafe-bench-hello",
        ])
        .current_dir(root())
        .status()
        .unwrap();
    assert!(status.success());
    let state = tempfile::tempdir().unwrap();
    let mut child = runner()
        .args(["up", "-q", "-f"])
        .arg(root().join("bench/hello/spin.toml"))
        .arg("--state-dir")
        .arg(state.path())
        .arg("--cache-dir")
        .arg(root().join("target/edgesafe-runner-cache"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = lines.next().unwrap().unwrap();
    assert!(
        serving.starts_with("Serving http://127.0.0.1:"),
        "{serving}"
    );
    let addr = serving.trim_start_matches("Serving http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "runner did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "Stopped."), "{rest:?}");
}
