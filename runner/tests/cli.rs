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

/// A `rustup` that reports only the host target installed and logs what it is asked;
/// `target add` fails when `add_fails`.
fn fake_rustup(dir: &std::path::Path, add_fails: bool) {
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> \"{log}\"\n\
         case \"$1 $2\" in\n\
         \"target list\") echo x86_64-unknown-linux-gnu ;;\n\
         \"target add\") exit {code} ;;\n\
         esac\n",
        log = dir.join("rustup.log").display(),
        code = u8::from(add_fails),
    );
    let path = dir.join("rustup");
    std::fs::write(&path, script).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
}

/// An app whose one build command names the wasm target and leaves a mark.
fn app_built_for_wasm(dir: &std::path::Path) -> PathBuf {
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"t\"\n\
         [component.c]\nsource = \"c.wasm\"\n\
         [component.c.build]\ncommand = \"echo --target wasm32-wasip2 > built\"\n",
    )
    .unwrap();
    manifest
}

fn with_fake_rustup(dir: &std::path::Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn build_installs_a_missing_wasm_target_first() {
    let dir = tempfile::tempdir().unwrap();
    fake_rustup(dir.path(), false);
    let manifest = app_built_for_wasm(dir.path());
    let out = runner()
        .args(["build", "-f"])
        .arg(&manifest)
        .env("PATH", with_fake_rustup(dir.path()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.path().join("rustup.log")).unwrap();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["target list --installed", "target add wasm32-wasip2"]
    );
    assert!(dir.path().join("built").exists(), "the build ran after");
}

#[test]
fn build_names_the_command_when_the_target_cannot_be_added() {
    let dir = tempfile::tempdir().unwrap();
    fake_rustup(dir.path(), true);
    let manifest = app_built_for_wasm(dir.path());
    let out = runner()
        .args(["up", "--build", "-f"])
        .arg(&manifest)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("PATH", with_fake_rustup(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("run `rustup target add wasm32-wasip2`"),
        "{text}"
    );
    assert!(
        !dir.path().join("built").exists(),
        "no build without the target"
    );
}
