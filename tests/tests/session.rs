//! The session client end to end: the component POSTs through the host's
//! `wasi:http` to a fake go-livepeer gateway on loopback.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use lpbridge::bridge::{Bridge, BridgeError, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::policy::{Origin, PolicyHooks, Refusal, Refusals};
use lpbridge::{Limits, Runtime};
use lpbridge_contract::TranscodeError;
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::*;

fn segment(name: &str) -> Vec<u8> {
    std::fs::read(streamplace_fixtures().into_iter().find(|p| p.ends_with(name)).unwrap()).unwrap()
}

fn bridge(gateway: &FakeGateway, tune: impl FnOnce(&mut Config)) -> Arc<Bridge> {
    let mut config = Config::new(&gateway.url());
    config.ladder = ladder::select(&ladder::default_ladder(), "720p,360p").unwrap();
    // The passthrough gateway answers every rendition with the source's
    // own video, which strict verification refuses (see
    // `verification.rs`); these tests are about the session, not that.
    config.verify = lpbridge::bindings::session::VerifyMode::Off;
    // One attempt per segment: these tests count requests and refusals;
    // retries and failover have theirs (`failover.rs`).
    config.retries = 0;
    tune(&mut config);
    let runtime = Runtime::embedded(Limits::default()).unwrap();
    Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_segments_at_once_see_at_most_two_in_flight() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(200);
    let b = bridge(&gw, |c| c.max_waiting = 10);
    let src = Arc::new(segment("sample-segment.mp4"));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (b, src) = (b.clone(), src.clone());
            tokio::spawn(async move { b.transcode("did:plc:guard.test", &src).await })
        })
        .collect();
    for t in tasks {
        let out = t.await.unwrap().unwrap();
        assert_eq!(out.renditions.len(), 2);
        assert_eq!(out.renditions[0].name, "720p");
        assert_eq!(out.renditions[0].frames, 49);
    }
    let seen = gw.seen();
    let manifest = seen[0].manifest.clone();
    assert!(
        manifest.starts_with("didplcguardtest-") && manifest.ends_with("-2ren"),
        "{manifest}"
    );
    assert_eq!(gw.max_in_flight(&manifest), 2, "the guard holds two in flight");
    let mut seqs: Vec<u64> = seen.iter().map(|s| s.seq).collect();
    seqs.sort();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.headers["accept"], "multipart/mixed");
        assert_eq!(s.headers["content-resolution"], "1920x1080");
        // 49 frames at 60 fps: 0.803 s, within one frame (16.7 ms).
        let ms: i64 = s.headers["content-duration"].parse().unwrap();
        assert!((ms - 803).abs() <= 17, "Content-Duration {ms}");
        let config: serde_json::Value = serde_json::from_str(&s.headers["livepeer-transcode-configuration"]).unwrap();
        assert_eq!(config["manifestID"], manifest.as_str());
        assert_eq!(config["profiles"][0]["name"], "720p");
        assert_eq!(config["profiles"][0]["width"], 1280);
        // 360p is a 30 fps rung: half the source's 62.5 fps (125/2).
        assert_eq!(config["profiles"][1]["fps"], 125);
        assert_eq!(config["profiles"][1]["fpsDen"], 4);
    }
    assert!(b.sessions.load().iter().all(|(_, f, w)| *f == 0 && *w == 0));
    let text = b.metrics.render();
    for name in [
        "streamplace_transcode_duration_ms_bucket",
        "streamplace_transcode_attempts_total 10",
        "streamplace_transcode_successes_total 10",
    ] {
        assert!(text.contains(name), "metrics lack {name}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_the_backlog_waiting_is_refused_at_once() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(1500);
    let b = bridge(&gw, |_| {});
    let src = Arc::new(segment("few-video-frames.mp4"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (b, src) = (b.clone(), src.clone());
            tokio::spawn(async move { b.transcode("did:plc:backlog", &src).await })
        })
        .collect();
    let mut ok = 0;
    let mut backlog = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(BridgeError::Backlog(_)) => backlog += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, backlog), (4, 4), "2 in flight + 2 waiting; the rest refused");
    assert!(
        b.metrics
            .render()
            .contains("lpbridge_requests_refused_total{reason=\"backlog\"} 4")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gateway_fault_is_a_typed_error_and_slots_come_back() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&gw, |c| {
        c.timeouts.first_byte = Duration::from_millis(1500);
        c.timeouts.between_bytes = Duration::from_millis(1500);
    });
    let src = segment("few-video-frames.mp4");
    let cases = [
        (Mode::NoSessions, "gateway-status"),
        (Mode::Unprocessable, "gateway-status"),
        (Mode::ServerError, "gateway-status"),
        (Mode::Truncated, "gateway-answer"),
        (Mode::Slow(Duration::from_secs(4)), "timeout"),
        (Mode::Stalled, "timeout"),
        (Mode::GarbagePart, "rendition"),
        (Mode::Reset, "gateway-transport"),
        (Mode::NotMultipart, "gateway-answer"),
    ];
    for (i, (mode, kind)) in cases.iter().enumerate() {
        gw.set_mode(mode.clone());
        // A creator per case, so rotation (5 refusals) stays out of it.
        let err = b.transcode(&format!("did:plc:fault{i}"), &src).await.unwrap_err();
        assert_eq!(err.kind().as_str(), *kind, "{mode:?}: {err}");
        if let (Mode::NoSessions, BridgeError::Transcode(TranscodeError::Status { status, body })) = (mode, &err) {
            assert_eq!((*status, body.as_str()), (503, "No sessions available"));
        }
        assert!(
            b.sessions.load().iter().all(|(_, f, w)| *f == 0 && *w == 0),
            "{mode:?}: a slot leaked"
        );
    }
    let text = b.metrics.render();
    assert!(
        text.contains(&format!("streamplace_transcode_errors_total {}", cases.len())),
        "{text}"
    );
    assert!(text.contains("lpbridge_session_in_flight{"), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("lpbridge_session_in_flight{") && !l.ends_with(" 0")),
        "{text}"
    );
    // And the next segment goes through.
    gw.set_mode(Mode::Passthrough);
    b.transcode("did:plc:fault0", &src).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_refusals_in_a_row_rotate_to_a_fresh_manifest() {
    let gw = FakeGateway::start(Mode::NoSessions).await;
    let b = bridge(&gw, |_| {});
    let src = segment("few-video-frames.mp4");
    for i in 0..5 {
        assert_eq!(
            b.transcode("did:plc:stuck", &src).await.unwrap_err().kind().as_str(),
            "gateway-status"
        );
        if i == 2 {
            // Bad media in between is no success: the count goes on (it
            // still takes seq 3, claimed in call order before the probe).
            let junk = b"\0\0\0\x10\xff\xfe\xfd\xfcjunkjunk";
            assert_eq!(
                b.transcode("did:plc:stuck", junk).await.unwrap_err().kind().as_str(),
                "malformed"
            );
        }
    }
    gw.set_mode(Mode::Passthrough);
    b.transcode("did:plc:stuck", &src).await.unwrap();
    let seen = gw.seen();
    assert_eq!(seen.len(), 6);
    assert!(seen[..5].iter().all(|s| s.manifest == seen[0].manifest));
    assert_eq!(seen[..5].iter().map(|s| s.seq).collect::<Vec<_>>(), [0, 1, 2, 4, 5]);
    assert_ne!(seen[5].manifest, seen[0].manifest, "a fresh manifest");
    assert_eq!(seen[5].seq, 0, "seq back to 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_another_host_is_denied() {
    let allowed = FakeGateway::start(Mode::Passthrough).await;
    let other = FakeGateway::start(Mode::Passthrough).await;
    let runtime = Runtime::embedded(Limits::default()).unwrap();
    let refusals = Arc::new(Refusals::default());
    let hooks = PolicyHooks {
        allowed: Origin::parse(&allowed.url()),
        guard: None,
        place: None,
        capture: None,
        timeouts: Default::default(),
        refusals: refusals.clone(),
    };
    let to = lpbridge::runtime::Destination {
        gateway: other.url(),
        manifest: "m".into(),
        seq: 0,
        profiles: vec![],
        layout: lpbridge::bindings::types::Mp4Layout::Progressive,
        verify: lpbridge::bindings::session::VerifyMode::Strict,
    };
    let out = runtime
        .transcode(&to, &segment("few-video-frames.mp4"), hooks, Duration::from_secs(30))
        .await
        .unwrap()
        .answer;
    assert!(
        matches!(
            &out,
            Err(TranscodeError::Transport(lpbridge_contract::TransportError::Denied))
        ),
        "{out:?}"
    );
    assert!(
        matches!(refusals.take().as_slice(), [Refusal::NotAllowed(u)] if u.contains(&other.addr.port().to_string()))
    );
    assert!(other.seen().is_empty(), "nothing reached the other host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcode_subcommand_writes_renditions_and_fails_loudly() {
    use clap::Parser;
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let out = scratch("cli-transcode");
    let fixtures = streamplace_fixtures();
    let seg = |n: &str| fixtures.iter().find(|p| p.ends_with(n)).unwrap().display().to_string();
    let args = |out: &std::path::Path| {
        vec![
            "lpbridge".to_string(),
            "transcode".into(),
            "--gateway".into(),
            gw.url(),
            "--creator".into(),
            "did:plc:cli".into(),
            "--renditions".into(),
            "360p,240p".into(),
            // A passthrough gateway: strict verification would refuse it.
            "--verify".into(),
            "off".into(),
            "--out".into(),
            out.display().to_string(),
            seg("sample-segment.mp4"),
            seg("few-video-frames.mp4"),
        ]
    };
    let cli = lpbridge::cli::Cli::parse_from(args(&out));
    lpbridge::cli::run(cli).await.unwrap();
    for rendition in ["360p", "240p"] {
        for index in 0..2 {
            let file = out.join(rendition).join(format!("{index}.mp4"));
            assert_eq!(&std::fs::read(&file).unwrap()[4..8], b"ftyp", "{}", file.display());
        }
    }
    // Two in flight, in any order. The portrait one asks for other
    // profiles than the landscape one before it, so it opens a manifest of
    // its own at seq 0 (a gateway fixes a manifest's profiles: see
    // `manifests.rs`).
    let seen = gw.seen();
    let sent = |resolution: &str| {
        let s = seen
            .iter()
            .find(|s| s.headers["content-resolution"] == resolution)
            .unwrap();
        (s.manifest.clone(), s.seq)
    };
    let (landscape, portrait) = (sent("1920x1080"), sent("1080x1920"));
    assert_eq!((landscape.1, portrait.1), (0, 0));
    assert_ne!(landscape.0, portrait.0);

    gw.set_mode(Mode::NoSessions);
    let err = lpbridge::cli::run(lpbridge::cli::Cli::parse_from(args(&scratch("cli-transcode-fail"))))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2 of 2 segments failed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_that_exhaust_memory_or_time_fail_and_the_next_succeeds() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let make = |limits: Limits| {
        let mut config = Config::new(&gw.url());
        config.ladder = ladder::select(&ladder::default_ladder(), "720p").unwrap();
        config.verify = lpbridge::bindings::session::VerifyMode::Off; // a passthrough gateway
        Bridge::new(Runtime::embedded(limits).unwrap(), config, Arc::new(Metrics::new())).unwrap()
    };
    let good = segment("few-video-frames.mp4");
    // A small crafted file indexes fine: the builder itself is sound.
    let small = crafted_mp4(1000);
    let info = lpbridge_media::probe(&small).unwrap();
    assert_eq!(
        (info.video.as_ref().unwrap().frames, info.video.as_ref().unwrap().width),
        (1000, 1920)
    );

    // Memory: 20 million samples need 640 MB of index; the cap is 256 MiB.
    let b = make(Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    });
    let err = b.transcode("did:plc:mem", &crafted_mp4(20_000_000)).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "component", "{err}");
    assert!(b.metrics.render().contains("lpbridge_component_traps_total 1"));
    b.transcode("did:plc:mem", &good).await.unwrap();

    // Time: 12 million samples take far longer to index than 100 ms; a real
    // segment takes a few.
    let b = make(Limits {
        call_deadline: Duration::from_millis(100),
        ..Limits::default()
    });
    let err = b.transcode("did:plc:time", &crafted_mp4(12_000_000)).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "component", "{err}");
    assert!(format!("{err:#}").contains("interrupt"), "an epoch interrupt: {err:#}");
    b.transcode("did:plc:time", &good).await.unwrap();
}

/// A bridge that runs one component call at a time.
fn one_call_bridge(gateway: &FakeGateway, renditions: &str) -> Arc<Bridge> {
    let mut config = Config::new(&gateway.url());
    config.ladder = ladder::select(&ladder::default_ladder(), renditions).unwrap();
    config.verify = lpbridge::bindings::session::VerifyMode::Off; // a passthrough gateway
    let limits = Limits {
        concurrent_calls: 1,
        ..Limits::default()
    };
    Arc::new(Bridge::new(Runtime::embedded(limits).unwrap(), config, Arc::new(Metrics::new())).unwrap())
}

/// While the gateway works no instance is held: with one component call
/// at a time, two sessions still have a segment each at the gateway at
/// once (a call ends when its body is sent; a fresh one reads the answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_instance_is_held_while_the_gateway_works() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_secs(1);
    let b = one_call_bridge(&gw, "720p,360p");
    let src = Arc::new(segment("sample-segment.mp4"));
    let tasks: Vec<_> = ["did:plc:one", "did:plc:two"]
        .into_iter()
        .map(|creator| {
            let (b, src) = (b.clone(), src.clone());
            tokio::spawn(async move { b.transcode(creator, &src).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().renditions.len(), 2);
    }
    assert_eq!(gw.max_total_in_flight(), 2, "both segments were at the gateway at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_waiting_for_its_session_slot_holds_no_instance() {
    // A TS of several MiB, more than wasmtime-wasi-http buffers by default:
    // had `send` to wait for the session's slot before writing the rest,
    // it would hold its instance (and with it, every other session's turn)
    // until the gateway answered the two before it.
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_secs(2);
    let b = one_call_bridge(&gw, "360p");
    let small = Arc::new(segment("few-video-frames.mp4"));
    let large = Arc::new(made_segment("large", 2, 8));
    assert!(large.len() > 3 << 20, "{} bytes", large.len());
    let send = |src: &Arc<Vec<u8>>| {
        let (b, src) = (b.clone(), src.clone());
        tokio::spawn(async move { b.transcode("did:plc:busy", &src).await })
    };
    let first = [send(&small), send(&small)];
    while gw.seen().len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let third = send(&large);
    let session = b.sessions.get("did:plc:busy");
    loop {
        let (waiting, free) = (session.guard.waiting(), b.runtime().free_calls());
        if waiting == 1 && free == 1 {
            break; // waiting for its session's slot, with no instance
        }
        assert!(
            gw.seen().len() < 3,
            "the instance was held until the gateway answered the first two"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for t in first.into_iter().chain([third]) {
        assert_eq!(t.await.unwrap().unwrap().renditions.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_wait_is_told_apart_from_the_host_overhead() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let delay = Duration::from_millis(600);
    *gw.delay.lock().unwrap() = delay;
    let b = bridge(&gw, |_| {});
    let t = b
        .transcode("did:plc:wait", &segment("few-video-frames.mp4"))
        .await
        .unwrap();
    // The gateway held its answer back `delay`: that is gateway time, not
    // the host's, and the round trip holds both. The gateway starts its
    // delay once it has read the body, which can be a little before `send`
    // returns (the call still lifts its result and drops the instance):
    // 595 ms of 600 were seen on a loaded machine, so a tenth is allowed.
    let times = (t.elapsed, t.gateway_wait);
    assert!(t.gateway_wait >= delay.mul_f64(0.9), "{times:?}");
    assert!(t.elapsed > t.gateway_wait, "{times:?}");
    let text = b.metrics.render();
    for name in ["lpbridge_gateway_wait_ms_count 1", "lpbridge_host_overhead_ms_count 1"] {
        assert!(text.contains(name), "/metrics lacks {name}:\n{text}");
    }
    let sum = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    assert!(
        sum("lpbridge_gateway_wait_ms_sum") >= delay.as_secs_f64() * 0.9e3,
        "{text}"
    );
    let total = sum("streamplace_transcode_duration_ms_sum{streamer=\"did:plc:wait\"}");
    let overhead = sum("lpbridge_host_overhead_ms_sum");
    assert!(
        (overhead + sum("lpbridge_gateway_wait_ms_sum") - total).abs() < 1e-6,
        "{text}"
    );
}

/// A 720p30 segment made by ffmpeg: `seconds` long, at `crf` (8 makes
/// several MiB a second, 40 a few KB).
fn made_segment(name: &str, seconds: u32, crf: u32) -> Vec<u8> {
    let file = scratch("session-made").join(format!("{name}.mp4"));
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", &crf.to_string()])
        .args(["-c:a", "libopus"])
        .arg(&file));
    std::fs::read(&file).unwrap()
}

/// Issue #30: a session's segments reach the gateway in seq order, as
/// upstream's claim after its guard makes them. With the one slot taken
/// and the rest waiting, a large segment (whose TS takes longest to write)
/// comes before small ones: they used to reach the guard first and go out
/// ahead of it, the gateway seeing seq 2 and 3 before 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_waiting_for_the_guard_reach_the_gateway_in_seq_order() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(300);
    let b = bridge(&gw, |c| {
        c.in_flight = 1;
        c.max_waiting = 8;
    });
    let small = Arc::new(made_segment("order-small", 1, 40));
    let large = Arc::new(made_segment("order-large", 2, 8));
    assert!(
        large.len() > 20 * small.len(),
        "{} vs {} bytes",
        large.len(),
        small.len()
    );
    let stream = [&small, &large, &small, &small, &large, &small, &small];
    let tasks: Vec<_> = stream
        .iter()
        .map(|src| {
            let ticket = b.ticket("did:plc:order");
            let (b, src) = (b.clone(), Arc::clone(src));
            tokio::spawn(async move { b.transcode_ticket("did:plc:order", ticket, &src).await.result })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let seen = gw.seen();
    assert!(seen.iter().all(|s| s.manifest == seen[0].manifest), "one manifest");
    let seqs: Vec<u64> = seen.iter().map(|s| s.seq).collect();
    assert_eq!(
        seqs,
        (0..stream.len() as u64).collect::<Vec<_>>(),
        "the order the gateway saw"
    );
}
