//! `lpbridge serve` over real HTTP on loopback, against the fake gateway.

use std::sync::Arc;
use std::time::Duration;

use lpbridge::bridge::{Bridge, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::server::{Service, serve};
use lpbridge::swap::Reloader;
use lpbridge::{Limits, Runtime};
use lpbridge_media::multipart::{self, PartBody};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::http::http;
use lpbridge_tests::*;

fn segment(name: &str) -> Vec<u8> {
    std::fs::read(streamplace_fixtures().into_iter().find(|p| p.ends_with(name)).unwrap()).unwrap()
}

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
    component: std::path::PathBuf,
}

async fn start(gw: &FakeGateway, max_body: usize, tag: &str) -> Running {
    let dir = scratch(tag);
    let component = dir.join("component.wasm");
    std::fs::write(&component, lpbridge::EMBEDDED_COMPONENT).unwrap();
    let mut config = Config::new(&gw.url());
    config.ladder = ladder::select(&ladder::default_ladder(), "720p,360p").unwrap();
    config.verify = lpbridge::bindings::session::VerifyMode::Off; // a passthrough gateway
    let limits = Limits::default();
    let runtime = Runtime::with_cache(lpbridge::EMBEDDED_COMPONENT, limits, Some(&dir.join("cache"))).unwrap();
    let bridge = Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap());
    let reloader = Arc::new(Reloader::new(
        bridge.clone(),
        Some(component.clone()),
        limits,
        Some(dir.join("cache")),
        Some(segment("short-video.mp4")),
    ));
    let service = Arc::new(Service {
        bridge,
        reloader,
        max_body,
        routes: lpbridge::server::Routes::All,
        budget: lpbridge::budget::Budget::new(1 << 30),
        draining: Default::default(),
        check_page: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(serve(service, listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        done,
        component,
    }
}

/// The component with a custom section appended: valid, another hash.
fn variant(tag: &[u8]) -> Vec<u8> {
    let mut c = lpbridge::EMBEDDED_COMPONENT.to_vec();
    let name = b"lpbridge-test";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(tag);
    c.push(0); // custom section
    c.push(payload.len() as u8);
    c.extend_from_slice(&payload);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_end_to_end() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let s = start(&gw, 4 << 20, "service-e2e").await;
    let src = segment("sample-segment.mp4");

    let a = http(s.addr, "POST", "/v1/segments?creator=did%3Aplc%3Aserve", &src).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let parts = multipart::parse(a.header("content-type"), &a.body).unwrap();
    assert_eq!(
        parts.iter().map(|p| p.name.clone().unwrap()).collect::<Vec<_>>(),
        ["720p", "360p"]
    );
    for p in &parts {
        assert_eq!(p.content_type.as_deref(), Some("video/mp4"));
        assert_eq!(
            p.header("content-resolution"),
            Some("1920x1080"),
            "passthrough keeps the size"
        );
        assert!(matches!(&p.body, PartBody::Bytes(b) if &b[4..8] == b"ftyp"));
    }
    assert!(a.header("livepeer-manifest").starts_with("didplcserve-"));
    assert_eq!(gw.seen()[0].manifest, a.header("livepeer-manifest"));

    let m = http(s.addr, "GET", "/metrics", b"").await;
    let text = String::from_utf8(m.body).unwrap();
    for name in [
        "streamplace_transcode_duration_ms_bucket{streamer=\"did:plc:serve\"",
        "streamplace_queued_transcode_duration_ms{streamer=\"did:plc:serve\"}",
        "streamplace_transcode_attempts_total 1",
        "streamplace_transcode_successes_total 1",
        "streamplace_transcode_errors_total 0",
        "lpbridge_component_info{",
        "lpbridge_gateway_wait_ms_count 1",
        "lpbridge_host_overhead_ms_count 1",
    ] {
        assert!(text.contains(name), "/metrics lacks {name}:\n{text}");
    }
    let h = http(s.addr, "GET", "/healthz", b"").await;
    assert_eq!((h.status, h.json()["status"].as_str()), (200, Some("ok")));

    let bad = http(
        s.addr,
        "POST",
        "/v1/segments?creator=did:plc:x",
        b"\0\0\0\x10\xff\xfe\xfd\xfcjunkjunk",
    )
    .await;
    assert_eq!((bad.status, bad.json()["error"].as_str()), (400, Some("malformed")));
    let no_creator = http(s.addr, "POST", "/v1/segments", &src).await;
    assert_eq!(no_creator.status, 400);
    let big = http(s.addr, "POST", "/v1/segments?creator=did:plc:x", &vec![0u8; 5 << 20]).await;
    assert_eq!((big.status, big.json()["error"].as_str()), (413, Some("too-large")));
    gw.set_mode(Mode::NoSessions);
    let refused = http(s.addr, "POST", "/v1/segments?creator=did:plc:x", &src).await;
    assert_eq!(
        (refused.status, refused.json()["error"].as_str()),
        (502, Some("gateway-status"))
    );
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("No sessions available")
    );
    assert_eq!(http(s.addr, "GET", "/v1/segments", b"").await.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_loses_nothing_and_refuses_a_broken_component() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(20);
    let s = start(&gw, 64 << 20, "service-swap").await;
    let before = http(s.addr, "GET", "/healthz", b"").await.json()["component"].clone();
    let src = Arc::new(segment("few-video-frames.mp4"));
    let addr = s.addr;
    let load: Vec<_> = (0..5)
        .map(|c| {
            let src = src.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..10 {
                    let a = http(addr, "POST", &format!("/v1/segments?creator=did:plc:load{c}"), &src).await;
                    statuses.push((
                        a.status,
                        String::from_utf8_lossy(&a.body).chars().take(200).collect::<String>(),
                    ));
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    std::fs::write(&s.component, variant(b"v2")).unwrap();
    let swapped = http(s.addr, "POST", "/admin/reload", b"").await;
    assert_eq!(swapped.status, 200, "{}", String::from_utf8_lossy(&swapped.body));
    let after = swapped.json()["component"].clone();
    assert_ne!(after, before);
    let mut failed = Vec::new();
    for t in load {
        failed.extend(t.await.unwrap().into_iter().filter(|(s, _)| *s != 200));
    }
    assert!(failed.is_empty(), "requests failed across the swap: {failed:?}");
    assert_eq!(gw.seen().len(), 50);

    std::fs::write(&s.component, b"\0asm\x0d\0\x01\0 broken").unwrap();
    let refused = http(s.addr, "POST", "/admin/reload", b"").await;
    assert_eq!(
        (refused.status, refused.json()["error"].as_str()),
        (409, Some("reload-refused"))
    );
    assert_eq!(
        http(s.addr, "GET", "/healthz", b"").await.json()["component"],
        after,
        "the old one keeps serving"
    );
    let a = http(s.addr, "POST", "/v1/segments?creator=did:plc:after", &src).await;
    assert_eq!(a.status, 200);
    let m = String::from_utf8(http(s.addr, "GET", "/metrics", b"").await.body).unwrap();
    assert!(m.contains("lpbridge_component_swaps_total 1"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_contract_version_is_refused_by_name() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let s = start(&gw, 64 << 20, "service-contract").await;
    let before = http(s.addr, "GET", "/healthz", b"").await.json();
    assert_eq!(before["contract"], lpbridge::CONTRACT);

    std::fs::write(&s.component, relabelled("0.1.0")).unwrap();
    let refused = http(s.addr, "POST", "/admin/reload", b"").await;
    let body = refused.json();
    assert_eq!(
        (refused.status, body["error"].as_str()),
        (409, Some("reload-refused")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("streamplace:livepeer@0.1.0")
            && message.contains(&format!("streamplace:livepeer@{}", lpbridge::CONTRACT)),
        "{message}"
    );
    assert_eq!(
        http(s.addr, "GET", "/healthz", b"").await.json()["component"],
        before["component"],
        "the old one keeps serving"
    );
    let a = http(
        s.addr,
        "POST",
        "/v1/segments?creator=did:plc:contract",
        &segment("few-video-frames.mp4"),
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_segment_in_flight_finish() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(800);
    let mut s = start(&gw, 64 << 20, "service-shutdown").await;
    let addr = s.addr;
    let src = segment("few-video-frames.mp4");
    let inflight = tokio::spawn(async move { http(addr, "POST", "/v1/segments?creator=did:plc:bye", &src).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.stop.take().unwrap().send(()).unwrap();
    assert_eq!(inflight.await.unwrap().status, 200);
    s.done.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

/// `POST /v1/check` answers a segment's report as `lpbridge check --json`
/// reports it, for bytes that are fine, off, or no MP4 at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_answers_what_lpbridge_check_reports() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let s = start(&gw, 4 << 20, "serve-check").await;
    let dir = scratch("serve-check-files");
    let noise = dir.join("noise.mp4");
    std::fs::write(&noise, vec![0x5au8; 3000]).unwrap();
    let mut files: Vec<std::path::PathBuf> = ["5sec.mp4", "short-video.mp4"]
        .iter()
        .map(|n| streamplace_fixtures().into_iter().find(|p| p.ends_with(n)).unwrap())
        .collect();
    files.push(noise);
    // The service's ladder is 720p,360p: the CLI's run with the same.
    let ladder = ladder::select(&ladder::default_ladder(), "720p,360p").unwrap();
    let rt = Arc::new(Runtime::embedded(Limits::default()).unwrap());
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let a = http(s.addr, "POST", "/v1/check", &bytes).await;
        assert_eq!(a.status, 200, "{}", file.display());
        let checked = lpbridge::check::run(rt.clone(), &ladder, std::slice::from_ref(file), false)
            .await
            .unwrap();
        let mut cli = lpbridge::check::run_json(&checked)["segments"][0].clone();
        cli.as_object_mut().unwrap().remove("file");
        assert_eq!(a.json(), cli, "{}", file.display());
    }
    assert_eq!(http(s.addr, "GET", "/v1/check", b"").await.status, 405);
    let big = http(s.addr, "POST", "/v1/check", &vec![0u8; 5 << 20]).await;
    assert_eq!((big.status, big.json()["error"].as_str()), (413, Some("too-large")));
}
