//! The edge component across hosts: `POST /live` of a 2 s 720p30 segment
//! (seg720p, 3 renditions: 360p, 240p, 160p) through each `wasi:http` host
//! to a passthrough gateway on loopback, one request at a time, with
//! `lpbridge serve` (`POST /v1/segments`, the same renditions) in the same
//! run as the reference. Prints per host: p50 and p99 of the round trip
//! (the whole answer read), p50 of `GET /healthz` (the cost of a request
//! that does nothing: instantiating the component, for the hosts that make
//! one per request), the peak linear memory the JS package logs, and the
//! peak RSS of the host's processes; then each p50's ratio to serve's.
//!
//! `scripts/bench-edge.sh` (it builds the release binary first). The
//! passthrough gateway echoes the TS once per rendition: what is measured
//! is the hosts' overhead plus the loopback transfer, not a transcode.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::hosts::{Host, Served};
use lpbridge_tests::http::{http, request};

const RUNGS: &str = "360p,240p,160p";
const WARMUP: usize = 3;
const ROUNDS: usize = 40;

struct Row {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    health_p50: Duration,
    linear: Option<u64>,
    rss: u64,
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() - 1) as f64 * p).round() as usize;
    samples[i]
}

async fn measure(addr: std::net::SocketAddr, path: &str, segment: &[u8]) -> (Duration, Duration, Duration) {
    for _ in 0..WARMUP {
        let a = http(addr, "POST", path, segment).await;
        assert_eq!(a.status, 200, "{path}: {}", String::from_utf8_lossy(&a.body));
    }
    let mut times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let a = request(addr, "POST", path, &[], segment, segment.len()).await;
        times.push(t.elapsed());
        assert_eq!(a.status, 200, "{path}");
    }
    let mut health = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        assert_eq!(http(addr, "GET", "/healthz", b"").await.status, 200);
        health.push(t.elapsed());
    }
    (
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.99),
        percentile(&mut health, 0.5),
    )
}

/// `lpbridge serve` from the release build, its address from its first line.
fn serve(binary: &PathBuf, gateway: &str) -> (Child, std::net::SocketAddr) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(binary)
        .args(["serve", "--no-cache", "--verify", "off", "--renditions", RUNGS])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--gateway",
            gateway,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("serving on http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = lpbridge_tests::workspace();
    let inputs = lpbridge_tests::bench_fixtures();
    let segment = std::fs::read(inputs.join("seg720p.mp4")).unwrap();
    let binary = root.join("target/release/lpbridge");
    assert!(
        binary.exists(),
        "{} is missing: scripts/bench-edge.sh builds it",
        binary.display()
    );
    let dir = lpbridge_tests::scratch("bench-edge");
    let component = dir.join("edge.wasm");
    std::fs::write(&component, lpbridge::EDGE_COMPONENT).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        let gw = FakeGateway::start(Mode::Passthrough).await;
        let url = gw.url();
        let mut rows = Vec::new();

        let (mut child, addr) = serve(&binary, &url);
        let (p50, p99, health_p50) = measure(addr, "/v1/segments?creator=did:plc:bench", &segment).await;
        rows.push(Row {
            name: "lpbridge serve",
            p50,
            p99,
            health_p50,
            linear: None,
            rss: lpbridge_tests::peak_rss(child.id()),
        });
        let _ = child.kill();
        let _ = child.wait();

        let env = [
            ("LPBRIDGE_GATEWAY", url.as_str()),
            ("LPBRIDGE_RENDITIONS", RUNGS),
            ("LPBRIDGE_VERIFY", "off"),
        ];
        for host in [Host::WasmtimeServe, Host::Jco, Host::Workerd, Host::Deno, Host::Bun] {
            let s = Served::start(host, &component, &env, &dir);
            let path = "/live/bench/0.mp4";
            let (p50, p99, health_p50) = measure(s.addr, path, &segment).await;
            let linear = matches!(host, Host::Workerd | Host::Deno | Host::Bun).then(|| s.linear_memory(path));
            rows.push(Row {
                name: host.name(),
                p50,
                p99,
                health_p50,
                linear,
                rss: s.peak_rss(),
            });
        }
        rows
    });

    println!(
        "\nPOST /live, {} KB 2 s 720p segment, 3 renditions, passthrough gateway; {ROUNDS} rounds after {WARMUP} (p99 of {ROUNDS} is the slowest)\n",
        segment.len() / 1000
    );
    println!(
        "| host | p50 ms | p99 ms | p50 / serve's | GET /healthz p50 ms | peak linear memory MiB | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    let reference = rows[0].p50.as_secs_f64();
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} | {} | {} |",
            r.name,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.p50.as_secs_f64() / reference,
            r.health_p50.as_secs_f64() * 1e3,
            r.linear.map_or_else(|| "-".to_string(), mib),
            mib(r.rss)
        );
    }
    let wasmtime = rows.iter().find(|r| r.name == "wasmtime-serve").unwrap();
    let ratio = wasmtime.p50.as_secs_f64() / reference;
    println!(
        "\ntarget: wasmtime serve p50 within 2x of lpbridge serve: {ratio:.2}x, {}",
        if ratio <= 2.0 { "met" } else { "NOT met" }
    );
}
