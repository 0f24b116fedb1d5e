//! `lpbridge serve` as an operator meets it: the binary on loopback, its
//! access log, the headers of its answers, its metrics and health, and the
//! settings it refuses before it starts.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{fixture, scratch};

/// Nothing listens here: every attempt is a refused connection.
const DEAD_GATEWAY: &str = "http://127.0.0.1:1";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lpbridge"));
    c.env("RUST_LOG", "info").env("NO_COLOR", "1");
    c
}

/// A running `lpbridge serve --log-json`, its address from its first line
/// of output, and every line it logs.
struct Served {
    child: Child,
    addr: SocketAddr,
    admin: SocketAddr,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = bin()
            .args(["serve", "--log-json", "--no-cache"])
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("--log-json wrote a line that is not JSON: {line}"));
                sink.lock().unwrap().push(value);
            }
        });
        let stdout = child.stdout.take().unwrap();
        // Killed on drop from here on, whatever fails below.
        let unknown = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut served = Served {
            child,
            addr: unknown,
            admin: unknown,
            logs,
        };
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        // Under --log-json the serving line is JSON too:
        // {"message":"lpbridge serving","listen":"http://A","admin":"http://B",…}
        let serving: serde_json::Value = serde_json::from_str(&first)
            .unwrap_or_else(|_| panic!("--log-json wrote a stdout line that is not JSON: {first:?}"));
        let address = |key: &str| -> SocketAddr {
            serving[key]
                .as_str()
                .and_then(|url| url.strip_prefix("http://"))
                .unwrap_or_else(|| panic!("no {key} address in {first:?}"))
                .parse()
                .unwrap()
        };
        served.addr = address("listen");
        served.admin = address("admin");
        served
    }

    /// The first log line `pick` accepts, waiting for it to be written (a
    /// bound, not a timing: the line follows the answer at once).
    fn line(&self, what: &str, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        eventually(30, &format!("a log line: {what}"), || {
            let logs = self.logs.lock().unwrap();
            logs.iter()
                .find(|v| pick(v))
                .cloned()
                .ok_or_else(|| format!("{logs:#?}"))
        })
    }

    /// The first log line whose message starts with `prefix`.
    fn said(&self, prefix: &str) -> serde_json::Value {
        self.line(prefix, |v| {
            v["fields"]["message"].as_str().is_some_and(|m| m.starts_with(prefix))
        })
    }

    /// The access-log line of the request `id`.
    fn access(&self, id: &str) -> serde_json::Value {
        self.line(&format!("access log of {id}"), |v| {
            v["target"] == "lpbridge::access" && v["span"]["id"] == id
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One HTTP/1.1 exchange on its own connection.
fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A refused body may be answered before it is all sent.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = text.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// What `poll` gives once it gives it, polling for up to `secs` (a bound,
/// not a timing); past that the test fails naming `what` and the last
/// state `poll` described.
fn eventually<T>(secs: u64, what: &str, mut poll: impl FnMut() -> Result<T, String>) -> T {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        match poll() {
            Ok(v) => return v,
            Err(last) => assert!(Instant::now() < until, "never {what}: {last}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn every_answer_is_traceable_and_every_refusal_counted() {
    let s = Served::start(&["--gateway", DEAD_GATEWAY, "--retries", "0", "--max-body-mib", "1"]);
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();

    // A gateway that cannot be reached: a 502 that says which manifest and
    // seq the segment had, and its request id; the access log and the
    // failure line say the same.
    let r = http(s.addr, "POST", "/v1/segments?creator=did:plc:ops", &[], &segment);
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["message"],
        format!("gateway transport: connection refused by {DEAD_GATEWAY}"),
        "the error names the gateway, in words"
    );
    let manifest = r
        .header("livepeer-manifest")
        .expect("a 502 names its manifest")
        .to_string();
    assert_eq!(r.header("livepeer-seq"), Some("0"));
    let id = r
        .header("x-request-id")
        .expect("every answer has a request id")
        .to_string();
    let access = s.access(&id);
    let fields = &access["fields"];
    assert_eq!(
        (
            &fields["method"],
            &fields["route"],
            &fields["status"],
            &fields["creator"]
        ),
        (
            &"POST".into(),
            &"/v1/segments".into(),
            &502.into(),
            &"did:plc:ops".into()
        ),
        "{access}"
    );
    assert_eq!(
        (&fields["manifest"], &fields["seq"]),
        (&manifest.clone().into(), &0.into()),
        "{access}"
    );
    assert_eq!(fields["bytes_in"], segment.len(), "{access}");
    let failed = s.line("segment failed", |v| v["fields"]["message"] == "segment failed");
    assert_eq!(
        (
            &failed["fields"]["manifest"],
            &failed["fields"]["seq"],
            &failed["span"]["id"]
        ),
        (&manifest.into(), &0.into(), &id.as_str().into()),
        "{failed}"
    );

    // Over the body limit, with the caller's own request id: a 413 in the
    // access log under that id.
    let big = vec![0u8; 2 << 20];
    let r = http(
        s.addr,
        "POST",
        "/v1/segments?creator=did:plc:ops",
        &[("X-Request-Id", "caller-413")],
        &big,
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.header("x-request-id"), Some("caller-413"));
    assert_eq!(s.access("caller-413")["fields"]["status"], 413);

    // Bytes that are no MP4: a 400, logged.
    let r = http(s.addr, "POST", "/v1/segments?creator=did:plc:ops", &[], &[0x5a; 4096]);
    assert_eq!(r.status, 400);
    assert_eq!(s.access(r.header("x-request-id").unwrap())["fields"]["status"], 400);
    let bad_media = r.json()["error"].as_str().unwrap().to_string();

    // Attempts are segments sent; refusals are counted apart, by reason.
    let text = String::from_utf8(http(s.addr, "GET", "/metrics", &[], b"").body).unwrap();
    let m = |series: &str| metric(&text, series);
    assert_eq!(m("streamplace_transcode_attempts_total"), Some(1.0), "{text}");
    assert_eq!(m("streamplace_transcode_errors_total"), Some(1.0), "{text}");
    assert_eq!(
        m("lpbridge_segments_refused_total{reason=\"too-large\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        m(&format!("lpbridge_segments_refused_total{{reason=\"{bad_media}\"}}")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        m(&format!("lpbridge_gateway_up{{gateway=\"{DEAD_GATEWAY}\"}}")),
        Some(0.0),
        "{text}"
    );
    assert!(m("process_resident_memory_bytes").is_some_and(|b| b > 0.0), "{text}");
    assert!(text.contains("lpbridge_gateway_wait_ms_bucket{le=\"30000\"}"), "{text}");
    assert!(!text.contains("le=\"0\""), "{text}");

    // Health: alive, and what it knows of its gateway; HEAD as GET.
    let h = http(s.addr, "GET", "/healthz", &[], b"");
    assert_eq!(h.status, 200);
    assert_eq!(
        h.json()["gateways"],
        serde_json::json!([{ "url": DEAD_GATEWAY, "state": "down" }])
    );
    let head = http(s.addr, "HEAD", "/healthz", &[], b"");
    assert_eq!((head.status, head.body.len()), (200, 0));
}

#[test]
fn a_gateway_is_unknown_until_first_contact() {
    let s = Served::start(&["--gateway", DEAD_GATEWAY]);
    let h = http(s.addr, "GET", "/healthz", &[], b"").json();
    assert_eq!(h["gateways"][0]["state"], "unknown", "{h}");
    let text = String::from_utf8(http(s.addr, "GET", "/metrics", &[], b"").body).unwrap();
    assert!(
        !text.contains("lpbridge_gateway_up{"),
        "no series before contact: {text}"
    );
}

#[test]
fn an_idle_session_takes_its_series_with_it() {
    let s = Served::start(&["--gateway", DEAD_GATEWAY, "--retries", "0", "--session-idle-secs", "1"]);
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();
    let r = http(s.addr, "POST", "/v1/segments?creator=did:plc:gone", &[], &segment);
    assert_eq!(r.status, 502);
    let series = |text: &str| text.lines().any(|l| l.starts_with("lpbridge_session_in_flight{"));
    let text = String::from_utf8(http(s.addr, "GET", "/metrics", &[], b"").body).unwrap();
    assert!(series(&text), "the session has its series: {text}");
    // The sweep runs every quarter of the idle time: a bound, not a timing.
    eventually(30, "the series gone with the session", || {
        let text = String::from_utf8(http(s.addr, "GET", "/metrics", &[], b"").body).unwrap();
        let sessions = http(s.addr, "GET", "/healthz", &[], b"").json()["sessions"].clone();
        (!series(&text) && sessions == 0)
            .then_some(())
            .ok_or_else(|| format!("{sessions} sessions: {text}"))
    });
}

/// Each refusal is one line naming the flag, before any work.
#[test]
fn settings_that_cannot_work_are_refused_at_start() {
    let dir = scratch("serve-settings");
    let file = dir.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let segment = fixture("short-video.mp4");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        [command, "--gateway", DEAD_GATEWAY]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let serve = |extra: &[&str]| with("serve", extra);
    let transcode = |extra: &[&str]| with("transcode", extra);
    let out = file.to_str().unwrap();
    let seg = segment.to_str().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (serve(&["--first-byte-timeout-ms", "0"]), "--first-byte-timeout-ms"),
        (serve(&["--connect-timeout-ms", "0"]), "--connect-timeout-ms"),
        (serve(&["--segment-deadline-ms", "0"]), "--segment-deadline-ms"),
        (serve(&["--concurrent-calls", "0"]), "--concurrent-calls"),
        (serve(&["--memory-mib", "0"]), "--memory-mib"),
        (serve(&["--memory-mib", "999999999"]), "--memory-mib"),
        (serve(&["--max-body-mib", "0"]), "--max-body-mib"),
        (serve(&["--listen", &busy]), &busy),
        (
            serve(&["--self-check-segment", out]),
            "the component failed its self-check: its split of the self-check segment failed: ",
        ),
        (transcode(&["--creator", "", "--out", "x", seg]), "--creator"),
        (transcode(&["--creator", "did:plc:x", "--out", out, seg]), "--out"),
        (
            ["probe", "--component", seg, seg]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "not WebAssembly",
        ),
    ];
    for (args, named) in cases {
        let run = bin().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        // One error line (clap adds its `--help` hint after it).
        let errors = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("--help"))
            .count();
        assert_eq!(errors, 1, "{args:?}: one line: {stderr}");
        assert!(
            !String::from_utf8_lossy(&run.stdout).contains("serving on"),
            "{args:?} served"
        );
    }
    // Booleans take the usual spellings from the environment.
    for yes in ["1", "true", "yes", "on"] {
        let run = bin()
            .env("LPBRIDGE_LOG_JSON", yes)
            .args(["probe", seg])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "LPBRIDGE_LOG_JSON={yes}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// Whoever can push a segment cannot swap the component: the admin route
/// answers on its own listener only.
#[test]
fn the_admin_route_is_on_its_own_listener() {
    let dir = scratch("serve-admin");
    let component = dir.join("bridge.wasm");
    let written = bin()
        .args(["component", "bridge", "--output"])
        .arg(&component)
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let s = Served::start(&["--gateway", DEAD_GATEWAY, "--component", component.to_str().unwrap()]);
    let public = http(s.addr, "POST", "/admin/reload", &[], b"");
    assert_eq!(public.status, 404, "{}", String::from_utf8_lossy(&public.body));
    let admin = http(s.admin, "POST", "/admin/reload", &[], b"");
    assert_eq!(admin.status, 200, "{}", String::from_utf8_lossy(&admin.body));
    assert!(admin.json()["component"].is_string(), "{}", admin.json());
    // Segments go to the public listener only; health and metrics answer on both.
    let segment = http(s.admin, "POST", "/v1/segments?creator=did:plc:x", &[], b"");
    assert_eq!(segment.status, 404);
    for addr in [s.addr, s.admin] {
        assert_eq!(http(addr, "GET", "/healthz", &[], b"").status, 200);
        assert_eq!(http(addr, "GET", "/metrics", &[], b"").status, 200);
    }
}

/// A loopback port that answers every connection with `bytes`, whatever
/// it is sent: a gateway URL that leads somewhere wrong.
fn answering(bytes: &'static [u8]) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 512];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(bytes);
        }
    });
    port
}

/// An `https://` gateway that answers in plain HTTP: the error says the TLS
/// handshake failed, with the gateway named, and it is not retried as a
/// reset would be (another attempt would fail alike).
#[test]
fn a_tls_mismatch_is_named_and_not_retried() {
    let port = answering(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let gateway = format!("https://127.0.0.1:{port}");
    let s = Served::start(&["--gateway", &gateway, "--retries", "2"]);
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();
    let r = http(s.addr, "POST", "/v1/segments?creator=did:plc:tls", &[], &segment);
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!("the TLS handshake with {gateway} failed")),
        "{message}"
    );
    let text = String::from_utf8(http(s.addr, "GET", "/metrics", &[], b"").body).unwrap();
    assert!(!text.contains("lpbridge_retries_total{"), "retried: {text}");
    assert_eq!(
        metric(&text, "streamplace_transcode_attempts_total"),
        Some(1.0),
        "{text}"
    );
}

/// A gateway that answers something other than HTTP (a wrong port, a
/// proxy's banner) is named, with what happened in words, not wasi:http's
/// code name.
#[test]
fn an_answer_that_is_not_http_is_named_in_words() {
    let port = answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
    let gateway = format!("http://127.0.0.1:{port}");
    let s = Served::start(&["--gateway", &gateway, "--retries", "0"]);
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();
    let r = http(s.addr, "POST", "/v1/segments?creator=did:plc:junk", &[], &segment);
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains(&gateway), "{message}");
    assert!(message.contains("is not valid HTTP"), "{message}");
    assert!(!message.contains("HttpProtocolError"), "{message}");
}

/// A loopback gateway that holds each request until the test lets it go,
/// then answers 503: a segment in flight for as long as a test needs.
/// Gives the port, a receiver told of each request, and the release.
fn holding() -> (u16, std::sync::mpsc::Receiver<()>, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (arrived, on_arrival) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = arrived.send(());
            if released.recv().is_err() {
                return;
            }
            let _ = conn.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 24\r\n\r\nNo sessions available\r\n\r\n",
            );
        }
    });
    (port, on_arrival, release)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Issue #30: what a load balancer and a caller see while a host stops.
/// At SIGTERM it is not ready at once but still serves, closing each
/// connection after its answer; after the grace it accepts no more; the
/// segment in flight still gets its answer; then it exits 0. Each phase is
/// one log line, in order.
#[test]
fn sigterm_drains_then_stops_accepting_and_finishes_what_is_in_flight() {
    let (port, on_arrival, release) = holding();
    let gateway = format!("http://127.0.0.1:{port}");
    let mut s = Served::start(&["--gateway", &gateway, "--retries", "0", "--drain-grace-secs", "1"]);
    let ready = http(s.addr, "GET", "/readyz", &[], b"");
    assert_eq!((ready.status, ready.json()["status"].as_str()), (200, Some("ready")));
    assert_eq!(ready.json()["memory"]["segments"], 0);
    let segment = std::fs::read(fixture("short-video.mp4")).unwrap();
    let addr = s.addr;
    let in_flight = std::thread::spawn(move || http(addr, "POST", "/v1/segments?creator=did:plc:drain", &[], &segment));
    on_arrival.recv_timeout(Duration::from_secs(60)).unwrap();
    signal(&s.child, "TERM");

    let draining = s.said("draining");
    assert_eq!(draining["fields"]["in_flight"], 1, "{draining}");
    // Within the grace (1 s, and the answer below is not held): not ready,
    // still answering, and closing the connection after each answer.
    let not_ready = http(s.addr, "GET", "/readyz", &[], b"");
    assert_eq!(not_ready.status, 503);
    assert_eq!(not_ready.json()["status"], "draining");
    assert_eq!(
        not_ready.json()["memory"]["segments"],
        1,
        "the segment in flight holds its share"
    );
    assert_eq!(not_ready.header("connection"), Some("close"));

    // The grace ends: no new connection is accepted, while the segment
    // is still at the gateway.
    eventually(60, "a closed listener after the grace", || {
        match TcpStream::connect(s.addr) {
            Ok(_) => Err("still accepting".into()),
            Err(_) => Ok(()),
        }
    });
    s.said("grace over");
    release.send(()).unwrap();
    let answer = in_flight.join().unwrap();
    assert_eq!(answer.status, 502, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["error"], "gateway-status");
    let status = eventually(60, "an exit after its segment was answered", || {
        s.child.try_wait().unwrap().ok_or_else(|| "still running".into())
    });
    assert!(status.success(), "{status}");
    let phases: Vec<String> = s
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .filter(|m| ["draining", "grace over", "drained"].iter().any(|p| m.starts_with(p)))
        .collect();
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert!(
        phases[0].starts_with("draining") && phases[1].starts_with("grace over") && phases[2].starts_with("drained")
    );
}

/// Reads what a server sends on `s` until it closes, or for 30 s.
fn answer_on(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).to_string()
}

/// Issue #30: the memory budget as a caller and a load balancer see it. A
/// segment whose body is still arriving holds its reservation (4× its
/// `Content-Length`): past nine tenths of the budget `/readyz` is 503
/// `over-budget`, and a segment that would not fit is refused at once,
/// before its body is sent (it asked for `100 Continue`), with
/// `Retry-After`. When the first goes, so does the refusal.
#[test]
fn a_host_over_its_memory_budget_refuses_at_once_and_is_not_ready() {
    let s = Served::start(&["--gateway", DEAD_GATEWAY, "--memory-budget-mib", "16"]);
    let ready = http(s.admin, "GET", "/readyz", &[], b"");
    assert_eq!(ready.json()["memory"]["budget_bytes"], 16 << 20);
    // 3.75 MiB declared: 15 of the 16 MiB, held while the body trickles.
    let mut slow = TcpStream::connect(s.addr).unwrap();
    write!(
        slow,
        "POST /v1/segments?creator=did:plc:slow HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        15 << 18
    )
    .unwrap();
    slow.write_all(&[0u8; 1024]).unwrap();
    let busy = eventually(30, "over budget", || {
        let r = http(s.addr, "GET", "/readyz", &[], b"");
        match r.status {
            503 => Ok(r),
            _ => Err(String::from_utf8_lossy(&r.body).to_string()),
        }
    });
    assert_eq!(busy.json()["status"], "over-budget");
    assert_eq!(busy.json()["memory"]["held_bytes"], 15 << 20);

    // 1 MiB more would pass the budget: refused on its head alone.
    let mut next = TcpStream::connect(s.addr).unwrap();
    write!(
        next,
        "POST /v1/segments?creator=did:plc:next HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        1 << 20
    )
    .unwrap();
    let refused = answer_on(&mut next);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(!refused.contains("100 Continue"), "asked for its body: {refused}");
    assert!(refused.to_ascii_lowercase().contains("retry-after: 1\r\n"), "{refused}");
    assert!(refused.contains("\"error\":\"over-budget\""), "{refused}");
    assert!(refused.contains("15 MiB of segments in flight"), "{refused}");

    // The first caller gives up: its reservation comes back.
    drop(slow);
    eventually(30, "ready once the reservation came back", || {
        let r = http(s.addr, "GET", "/readyz", &[], b"");
        (r.status == 200)
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&r.body).to_string())
    });
    let text = String::from_utf8(http(s.admin, "GET", "/metrics", &[], b"").body).unwrap();
    assert_eq!(
        metric(&text, "lpbridge_segments_refused_total{reason=\"over-budget\"}"),
        Some(1.0),
        "{text}"
    );
}
