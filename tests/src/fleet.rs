//! Real processes for the tests of several hosts: `lpbridge serve` (the
//! binary of this workspace, built for the test's profile) and HAProxy with
//! the shipped `deploy/haproxy.cfg`. Each logs to a file of the test's
//! scratch directory, is killed when dropped, and can be signalled as an
//! operator's supervisor would.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::workspace;

/// The `lpbridge` binary, built once per test binary by the cargo running
/// the tests, in its profile (a `cargo test --workspace` has built it
/// already; this makes sure of it when only this crate's tests run).
pub fn lpbridge_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // target/<profile>/deps/<test> → target/<profile>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace())
            .args(["build", "--quiet", "-p", "lpbridge", "--bin", "lpbridge"]);
        if release {
            build.arg("--release");
        }
        crate::run(&mut build);
        profile_dir.join("lpbridge")
    })
}

/// A free loopback port, for a process that must come back on the same one.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `lpbridge serve --log-json`.
pub struct Host {
    child: Child,
    pub addr: SocketAddr,
    pub admin: SocketAddr,
    log: PathBuf,
}

impl Host {
    /// Starts `serve` with `args` (which name the gateway and, where it
    /// matters, `--listen`; both listeners default to a free loopback
    /// port), and waits for its serving line.
    pub fn start(args: &[&str], log: &Path) -> Host {
        let mut cmd = Command::new(lpbridge_binary());
        cmd.args(["serve", "--log-json", "--no-cache"]);
        if !args.contains(&"--listen") {
            cmd.args(["--listen", "127.0.0.1:0"]);
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut child = cmd
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("LPBRIDGE_GATEWAY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let serving: serde_json::Value = serde_json::from_str(&first).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "serve did not start: {first:?}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
        let address = |key: &str| -> SocketAddr {
            serving[key]
                .as_str()
                .unwrap()
                .trim_start_matches("http://")
                .parse()
                .unwrap()
        };
        Host {
            addr: address("listen"),
            admin: address("admin"),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (TERM, KILL) as a supervisor would.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Its exit status, waiting up to `within` for it.
    pub fn exited(&mut self, within: Duration) -> ExitStatus {
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < until,
                "still running after {within:?}: {}",
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every line it logged so far.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HAProxy on the shipped configuration, with its hosts and listeners
/// from the environment as the file reads them.
pub struct Balancer {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Balancer {
    pub fn start(hosts: &[SocketAddr], log: &Path) -> Balancer {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let config = workspace().join("deploy/haproxy.cfg");
        let mut cmd = Command::new("haproxy");
        cmd.arg("-db").arg("-f").arg(&config);
        cmd.env("LPBRIDGE_LB_LISTEN", addr.to_string());
        cmd.env("LPBRIDGE_LB_STATS", format!("127.0.0.1:{}", free_port()));
        for (i, h) in hosts.iter().enumerate() {
            cmd.env(format!("LPBRIDGE_HOST{}", i + 1), h.to_string());
        }
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("haproxy (scripts/test installs it)");
        let balancer = Balancer {
            child,
            addr,
            log: log.to_path_buf(),
        };
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < until, "haproxy never listened: {}", balancer.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        balancer
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
