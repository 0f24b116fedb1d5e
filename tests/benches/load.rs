//! Load generator: N concurrent sessions through the bridge to a
//! passthrough gateway on loopback (a child process, so the RSS measured is
//! the host's alone), with a 2 s 720p30 segment and 3 renditions (360p,
//! 240p, 160p) each. Prints segments/s, per-segment latency percentiles
//! (the whole round trip, and the host's overhead: the round trip minus the
//! wait for the gateway's response head) and the host's peak RSS.
//!
//! Each load runs with no candidate component, then with an identical one
//! on probation shadowing 10% and 100% of each session's segments (issue
//! #27), and the last lines compare them: the shadow runs off the
//! request's path, so a candidate should cost the answers next to nothing.
//!
//! `cargo bench -p lpbridge-tests --bench load` (`scripts/bench-load.sh`).
//! The passthrough gateway does no transcoding: it echoes the TS once per
//! rendition, so a segment's round trip is the host's overhead plus the
//! loopback transfer of ~3.2 MB; reading the echoed body counts as overhead.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lpbridge::bridge::{Bridge, Config};
use lpbridge::metrics::Metrics;
use lpbridge::{Limits, Runtime};
use lpbridge_tests::gateway::{FakeGateway, Mode};

/// Flat out: every session sends its next segment as soon as the last
/// came back (throughput). Paced: every session sends one segment every
/// 2 s, as a live stream does (latency at that load). (sessions, segments
/// each, paced, a candidate's share in percent, 0 for none.) The paced rows
/// send 3,000 segments each, so that their p99 is the 30th worst, not the
/// 10th: a candidate's cost is a millisecond or two, and a p99 over 1,000
/// moved that much between identical runs.
const ROWS: [(usize, usize, bool, u32); 7] = [
    (1, 40, false, 0),
    (200, 6, false, 0),
    (200, 6, false, 10),
    (200, 6, false, 100),
    (200, 15, true, 0),
    (200, 15, true, 10),
    (200, 15, true, 100),
];

/// The row this process runs (`--row N`); none in the parent, which runs
/// each row in a process of its own.
fn row_of(args: &[String]) -> Option<usize> {
    args.iter()
        .position(|a| a == "--row")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse::<usize>().ok())
}

fn peak_rss_mb() -> f64 {
    lpbridge_tests::peak_rss(std::process::id()) as f64 / (1 << 20) as f64
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if args.iter().any(|a| a == "--serve-gateway") {
        rt.block_on(async {
            let gw = FakeGateway::start(Mode::Passthrough).await;
            println!("{}", gw.url());
            // Until the parent closes our stdin.
            let mut line = String::new();
            let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        });
        return;
    }
    let inputs = lpbridge_tests::bench_fixtures();
    let segment = Arc::new(std::fs::read(inputs.join("seg720p.mp4")).unwrap());

    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve-gateway")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();

    let concurrent_calls = std::env::var("LPBRIDGE_CONCURRENT_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(lpbridge::runtime::default_concurrent_calls);
    let runtime = Runtime::embedded(Limits {
        concurrent_calls,
        ..Limits::default()
    })
    .unwrap();
    println!("component calls at once: {concurrent_calls}");
    let row = row_of(&args);
    let mut config = Config::new(&url);
    config.canary = lpbridge::canary::Settings {
        share: row.and_then(|r| ROWS.get(r)).map_or(0, |r| r.3),
        promote_after: u64::MAX,
        ..Default::default()
    };
    // The passthrough gateway's renditions are the source itself, which
    // strict verification refuses.
    config.verify = lpbridge::bindings::session::VerifyMode::Off;
    let bridge = Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap());
    println!();
    println!(
        "2 s 720p30 segments ({} KB), 3 renditions each, passthrough gateway (child process) on loopback, {} cores",
        segment.len() / 1000,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Each row runs in a process of its own, so its peak RSS is its own
    // (an allocator keeps what an earlier row freed).
    let Some(row) = row else {
        println!(
            "| sessions | pacing | candidate | segments | segments/s | total p50 ms | total p99 ms | overhead p50 ms | overhead p99 ms | peak RSS MB | shadowed | dropped |"
        );
        println!(
            "|---------:|:-------|----------:|---------:|-----------:|-------:|-------:|-------:|-------:|------------:|---------:|--------:|"
        );
        // (pacing, share) -> (segments/s, overhead p99 ms)
        let mut measured: Vec<(String, u32, f64, f64)> = Vec::new();
        drop(child.stdin.take());
        let _ = child.wait();
        for row in 0..ROWS.len() {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["--row", &row.to_string()])
                .stderr(Stdio::inherit())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            for line in text.lines() {
                if line.starts_with("| ") {
                    println!("{line}");
                }
                if let Some(m) = line.strip_prefix("measured ") {
                    let f: Vec<&str> = m.split_whitespace().collect();
                    measured.push((
                        f[0].to_string(),
                        f[1].parse().unwrap(),
                        f[2].parse().unwrap(),
                        f[3].parse().unwrap(),
                    ));
                }
            }
        }
        println!();
        for (pacing, share, rate, p99) in &measured {
            let Some((_, _, base_rate, base_p99)) = measured.iter().find(|m| m.0 == *pacing && m.1 == 0) else {
                continue;
            };
            if *share > 0 && *pacing != "single" {
                println!(
                    "candidate at {share:>3}%, pacing {pacing}: throughput x{:.2} of no candidate, overhead p99 {:+.1} ms (target at 10%: within 10% and 2 ms)",
                    rate / base_rate,
                    p99 - base_p99
                );
            }
        }
        return;
    };
    let (sessions, per_session, paced, share) = ROWS[row.min(ROWS.len() - 1)];
    if share > 0 {
        // An identical component on probation, shadowing `share` percent
        // of every session's segments, never promoted in the run.
        let candidate = Runtime::embedded(Limits::default()).unwrap();
        let reference = Runtime::embedded(Limits {
            concurrent_calls: 1,
            ..Limits::default()
        })
        .unwrap();
        rt.block_on(async { bridge.canary.start(candidate, reference, false) });
    }
    let started = Instant::now();
    let latencies = rt.block_on(async {
        let tasks: Vec<_> = (0..sessions)
            .map(|s| {
                let (bridge, segment) = (bridge.clone(), segment.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    // Sessions start spread over the first 2 s.
                    let start = Instant::now() + Duration::from_millis((s as u64 * 2000) / sessions as u64);
                    for i in 0..per_session {
                        if paced {
                            tokio::time::sleep_until((start + Duration::from_secs(2) * i as u32).into()).await;
                        }
                        let t = Instant::now();
                        let out = bridge.transcode(&format!("did:plc:load{s}"), &segment).await.unwrap();
                        assert_eq!(out.renditions.len(), 3);
                        let total = t.elapsed();
                        lat.push((total, total.saturating_sub(out.gateway_wait)));
                    }
                    lat
                })
            })
            .collect();
        let mut all: Vec<(Duration, Duration)> = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let wall = started.elapsed();
    let sorted = |pick: fn(&(Duration, Duration)) -> Duration| {
        let mut l: Vec<Duration> = latencies.iter().map(pick).collect();
        l.sort();
        l
    };
    let pct = |l: &[Duration], p: f64| l[((l.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    let (total, overhead) = (sorted(|l| l.0), sorted(|l| l.1));
    let m = bridge.metrics.render();
    let count = |outcome: &str| {
        lpbridge_tests::metric_value(&m, &format!("lpbridge_canary_segments_total{{outcome=\"{outcome}\"}}"))
    };
    let shadowed = count("agreed") + count("differed") + count("trapped") + count("failed");
    let pacing = if paced { "2 s" } else { "none" };
    println!(
        "| {sessions:>8} | {:<6} | {:>8} | {:>8} | {:>10.0} | {:>6.1} | {:>6.1} | {:>6.1} | {:>6.1} | {:>11.0} | {shadowed:>8} | {:>7} |",
        pacing,
        if share > 0 { format!("{share}%") } else { "none".into() },
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(&total, 0.5),
        pct(&total, 0.99),
        pct(&overhead, 0.5),
        pct(&overhead, 0.99),
        peak_rss_mb(),
        count("dropped")
    );
    let kind = if sessions == 1 {
        "single"
    } else if paced {
        "paced"
    } else {
        "flat"
    };
    println!(
        "measured {kind} {share} {} {}",
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(&overhead, 0.99)
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
