//! The deployment files in `deploy/` as an operator would use them: the
//! systemd unit verified by systemd itself, and every setting the unit's
//! environment file and the container file give accepted by the binary,
//! which serves with them.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

mod common;
use common::scratch;

fn deploy(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy").join(name)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lpbridge"))
}

/// `NAME=value` lines, commented-out ones included (they are settings a
/// user is shown, and must exist too).
fn settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("LPBRIDGE_") && !k.contains(' '))
        .map(|(k, v)| (k.to_string(), v.trim().trim_end_matches('\\').trim().to_string()))
        .collect()
}

#[test]
fn the_systemd_unit_verifies() {
    let dir = scratch("deploy-unit");
    // The unit as installed, but for the paths of this checkout.
    let env = dir.join("env");
    std::fs::copy(deploy("lpbridge.env"), &env).unwrap();
    let unit = std::fs::read_to_string(deploy("lpbridge.service"))
        .unwrap()
        .replace("/usr/local/bin/lpbridge", env!("CARGO_BIN_EXE_lpbridge"))
        .replace("/etc/lpbridge/env", env.to_str().unwrap());
    let path = dir.join("lpbridge.service");
    std::fs::write(&path, unit).unwrap();
    let run = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd; scripts/test installs it)");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("lpbridge")).collect();
    assert!(run.status.success() && ours.is_empty(), "{stderr}");
}

#[test]
fn every_setting_the_deploy_files_give_is_a_flag_of_serve() {
    let help = bin().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let env = std::fs::read_to_string(deploy("lpbridge.env")).unwrap();
    let container = std::fs::read_to_string(deploy("Containerfile")).unwrap();
    let all: Vec<_> = settings(&env).into_iter().chain(settings(&container)).collect();
    assert!(all.len() >= 10, "{all:?}");
    for (name, _) in &all {
        assert!(
            help.contains(&format!("[env: {name}=")),
            "{name} is no flag of serve:\n{help}"
        );
    }
    assert!(container.contains(r#"ENTRYPOINT ["/usr/local/bin/lpbridge", "serve"]"#));
}

/// The environment file's values, as given, start the service (on
/// loopback: the addresses are the only values replaced).
#[test]
fn the_environment_file_serves() {
    let env = std::fs::read_to_string(deploy("lpbridge.env")).unwrap();
    let mut cmd = bin();
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap());
    for (name, value) in settings(&env) {
        if name == "LPBRIDGE_COMPONENT" {
            continue; // commented out: the built-in component serves
        }
        cmd.env(name, value);
    }
    cmd.env("LPBRIDGE_LISTEN", "127.0.0.1:0")
        .env("LPBRIDGE_ADMIN_LISTEN", "127.0.0.1:0")
        .env("LPBRIDGE_NO_CACHE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("lpbridge serving on http://127.0.0.1:"), "{first:?}");
}
