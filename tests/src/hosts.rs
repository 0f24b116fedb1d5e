//! Independent `wasi:http/proxy` hosts, run as their users run them: the
//! wasmtime CLI's `wasmtime serve`, jco's `jco serve` on Node, and the
//! JavaScript isolates operators deploy to (Cloudflare's workerd, Deno,
//! Bun) through the package `scripts/edge-js` builds and serves. All are
//! installed by the README's test command (`scripts/test`) into
//! `$LPBRIDGE_TOOLS` (default `~/.cache/lpbridge-tools`), where later runs
//! find them.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a host may take to start serving: jco transpiles the
/// component first, wasmtime compiles it.
const START_LIMIT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    WasmtimeServe,
    Jco,
    /// Cloudflare's runtime, serving the package's module Worker.
    Workerd,
    Deno,
    Bun,
}

impl Host {
    pub fn name(self) -> &'static str {
        match self {
            Host::WasmtimeServe => "wasmtime-serve",
            Host::Jco => "jco",
            Host::Workerd => "workerd",
            Host::Deno => "deno",
            Host::Bun => "bun",
        }
    }

    /// The host's program; a missing one fails the test by naming the
    /// command that installs it.
    fn program(self) -> PathBuf {
        let (path, how) = match self {
            Host::WasmtimeServe => (
                std::env::var_os("LPBRIDGE_WASMTIME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| tools().join("wasmtime-48.0.8/bin/wasmtime")),
                "cargo install wasmtime-cli --locked --version 48.0.8 --root $LPBRIDGE_TOOLS/wasmtime-48.0.8",
            ),
            Host::Jco => (
                tools().join("jco/node_modules/.bin/jco"),
                "npm install --prefix $LPBRIDGE_TOOLS/jco @bytecodealliance/jco@1.35.0 @bytecodealliance/preview2-shim@0.26.1",
            ),
            // The script installs its runtime when it is missing.
            Host::Workerd | Host::Deno | Host::Bun => (edge_js(), "git checkout scripts/edge-js"),
        };
        assert!(
            path.exists(),
            "{} is not installed at {}: scripts/test installs it ({how})",
            self.name(),
            path.display()
        );
        path
    }
}

/// The script that builds and serves the package for the JS isolates.
pub fn edge_js() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/edge-js")
}

/// `scripts/edge-js build` of `component` into `dir`, once per directory:
/// the runtimes of one test share it.
pub fn build_edge_js(component: &Path, dir: &Path) -> PathBuf {
    let dist = dir.join("edge-js");
    if !dist.join("worker.js").exists() {
        let out = Command::new(edge_js())
            .arg("build")
            .arg("--component")
            .arg(component)
            .arg("--out")
            .arg(&dist)
            .output()
            .unwrap_or_else(|e| panic!("scripts/edge-js build: {e}"));
        assert!(
            out.status.success(),
            "scripts/edge-js build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dist
}

/// Where the test command installs the hosts.
pub fn tools() -> PathBuf {
    std::env::var_os("LPBRIDGE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME or LPBRIDGE_TOOLS")).join(".cache/lpbridge-tools")
        })
}

/// A host serving one component on a loopback port, stopped (with its
/// children: `jco serve` forks Node) when dropped.
pub struct Served {
    pub host: Host,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Served {
    /// Starts `host` on `component` with exactly `env` as the component's
    /// configuration, and waits until it answers `GET /healthz`.
    pub fn start(host: Host, component: &Path, env: &[(&str, &str)], dir: &Path) -> Served {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut cmd = Command::new(host.program());
        match host {
            Host::WasmtimeServe => {
                // -S cli=y: std imports wasi:cli, and the environment is
                // how the component is configured.
                cmd.args(["serve", "-S", "cli=y", "--addr", &addr.to_string()]);
                for (k, v) in env {
                    cmd.arg("--env").arg(format!("{k}={v}"));
                }
                cmd.arg(component);
            }
            Host::Jco => {
                // jco gives the component the whole process environment.
                cmd.arg("serve")
                    .arg(component)
                    .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--jco-dir"])
                    .arg(dir.join("jco"));
                cmd.envs(env.iter().copied());
            }
            Host::Workerd | Host::Deno | Host::Bun => {
                let dist = build_edge_js(component, dir);
                cmd.args(["serve", host.name(), "--addr", &addr.to_string(), "--dist"])
                    .arg(dist);
                cmd.envs(env.iter().copied());
            }
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("LPBRIDGE_") && !env.iter().any(|(e, _)| *e == k) {
                cmd.env_remove(k);
            }
        }
        let log = dir.join(format!("{}.log", host.name()));
        // Appended: a test that starts the host again keeps every run's lines.
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("start {}: {e}", host.name()));
        let mut served = Served { host, addr, child, log };
        served.wait_ready();
        served
    }

    fn wait_ready(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited ({status}) before serving: {}", self.host.name(), self.log());
            }
            if healthz(self.addr) {
                return;
            }
            assert!(
                started.elapsed() < START_LIMIT,
                "{} did not serve within {START_LIMIT:?}: {}",
                self.host.name(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What the host has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The peak linear memory the edge package logged for the request to
    /// `path` (`linear_memory_bytes` of its `lpbridge edge request` line),
    /// waiting for the line: it is written once the component is done,
    /// after the answer's last byte.
    pub fn linear_memory(&self, path: &str) -> u64 {
        let started = Instant::now();
        loop {
            let found = self.log().lines().rev().find_map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).ok()?;
                (v["message"] == "lpbridge edge request" && v["path"] == path)
                    .then(|| v["linear_memory_bytes"].as_u64())
                    .flatten()
            });
            if let Some(bytes) = found {
                return bytes;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{}: no request line for {path}: {}",
                self.host.name(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The peak resident memory of the host's processes (the sum of each
    /// one's `VmHWM`: the runtime, and jco's child Node), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let group = self.child.id();
        let mut total = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let dir = entry.path();
            let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
                continue;
            };
            // pid (comm) state ppid pgrp ...: comm may hold spaces.
            let pgrp = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(2))
                .and_then(|p| p.parse::<u32>().ok());
            if pgrp != Some(group) {
                continue;
            }
            if let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) {
                total += crate::peak_rss(pid);
            }
        }
        total
    }

    /// Whether the host process is still there.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let kill = |signal: &str| {
            // A group already gone is not news.
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        kill("-KILL");
        let _ = self.child.wait();
    }
}

/// One blocking `GET /healthz` that answers 200.
fn healthz(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let asked = s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    let mut answer = Vec::new();
    asked.is_ok() && s.read_to_end(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200")
}
