//! Canary hot swap (issue #27), with real components built from this
//! repository: the same source rebuilt, and variants that differ on
//! purpose (`guest/src/variant.rs`), each put on probation through `POST
//! /admin/canary` while live segments flow through `serve`'s routes to a
//! fake gateway.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lpbridge::bridge::{Bridge, Config};
use lpbridge::canary::Settings;
use lpbridge::metrics::Metrics;
use lpbridge::server::{Routes, Service, serve};
use lpbridge::swap::Reloader;
use lpbridge::{Limits, Runtime};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::http::{Answer, http};
use lpbridge_tests::*;

struct Running {
    addr: SocketAddr,
    bridge: Arc<Bridge>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// `serve`'s routes on loopback, to `gw`, with `canary` settings.
async fn start(gw: &FakeGateway, canary: Settings) -> Running {
    start_with(gw, canary, None).await
}

/// `start`, reloading from the file `component` (`--component`).
async fn start_with(gw: &FakeGateway, canary: Settings, component: Option<std::path::PathBuf>) -> Running {
    let mut config = Config::new(&gw.url());
    config.ladder = lpbridge::ladder::select(&lpbridge::ladder::default_ladder(), "360p,240p").unwrap();
    // The passthrough gateway sends the source's video back for every
    // rung, which strict verification refuses; these tests compare
    // components, not renditions with their profiles.
    config.verify = lpbridge::bindings::session::VerifyMode::Off;
    config.canary = canary;
    let runtime = Runtime::embedded(Limits::default()).unwrap();
    let bridge = Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap());
    let reloader = Arc::new(Reloader::new(bridge.clone(), component, Limits::default(), None, None));
    let service = Arc::new(Service {
        bridge: bridge.clone(),
        reloader,
        max_body: 64 << 20,
        routes: Routes::All,
        budget: lpbridge::budget::Budget::new(1 << 30),
        draining: Default::default(),
        check_page: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(service, listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        bridge,
        _stop: stop,
    }
}

fn settings(promote_after: u64) -> Settings {
    Settings {
        share: 100,
        promote_after,
        ..Settings::default()
    }
}

async fn segment(r: &Running, creator: &str, name: &str) -> Answer {
    let path = format!("/v1/segments?creator={creator}");
    let a = http(r.addr, "POST", &path, &streamplace_segment(name)).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a
}

async fn components(r: &Running) -> serde_json::Value {
    http(r.addr, "GET", "/admin/components", b"").await.json()
}

/// Waits until the shadow has compared `n` segments, or a decision came.
async fn compared(r: &Running, n: u64) -> serde_json::Value {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let c = components(r).await;
        let counts = if c["candidate"].is_null() {
            return c;
        } else {
            &c["candidate"]["segments"]
        };
        let done: u64 = ["agreed", "differed", "trapped", "failed", "dropped"]
            .iter()
            .map(|k| counts[k].as_u64().unwrap())
            .sum();
        if done >= n {
            return c;
        }
        assert!(Instant::now() < until, "the shadow compared {done} of {n}: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the candidate is decided (the shadow may have counted a
/// segment a moment before it acts on it); `/admin/components` then.
async fn decided(r: &Running) -> serde_json::Value {
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let c = components(r).await;
        if c["candidate"].is_null() {
            return c;
        }
        assert!(Instant::now() < until, "no decision: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts `component` on probation; its hash.
async fn canary(r: &Running, component: &[u8], query: &str) -> String {
    let a = http(r.addr, "POST", &format!("/admin/canary{query}"), component).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a.json()["candidate"].as_str().unwrap().to_string()
}

/// An answer's body with its boundary (random per answer) made fixed: two
/// answers with the same renditions are then equal byte for byte.
fn renditions(a: &Answer) -> Vec<u8> {
    let boundary = a.header("content-type").split("boundary=").nth(1).unwrap().to_string();
    String::from_utf8_lossy(&a.body)
        .replace(&boundary, "BOUNDARY")
        .into_bytes()
}

fn metrics(r: &Running) -> String {
    r.bridge.metrics.render()
}

/// The same source, built again by the test: it agrees on every segment
/// of every creator and is promoted after N; the candidate then serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_component_is_promoted_after_n_agreeing_segments() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let r = start(&gw, settings(6)).await;
    let serving = components(&r).await["serving"]["sha256"].clone();
    let rebuilt = guest_component(&[]);
    let hash = canary(&r, &rebuilt, "").await;
    let during = components(&r).await;
    assert_eq!(during["candidate"]["sha256"], hash.as_str());
    assert_eq!(during["candidate"]["contract"], lpbridge::CONTRACT);
    let health = http(r.addr, "GET", "/healthz", b"").await.json();
    assert_eq!(health["canary"]["candidate"]["sha256"], hash.as_str());
    // Each compared before the next: the shadow runs at the lowest
    // priority, and on a busy machine a full queue would drop them.
    let mut n = 0;
    for i in 0..3 {
        for creator in ["did:plc:a", "did:plc:b"] {
            segment(&r, creator, if i == 1 { "5sec.mp4" } else { "sample-segment.mp4" }).await;
            n += 1;
            compared(&r, n).await;
        }
    }
    let after = decided(&r).await;
    let last = &after["last_decision"];
    assert_eq!(
        (last["decision"].as_str(), last["reason"].as_str()),
        (Some("promoted"), Some("agreed")),
        "{after}"
    );
    assert_eq!(last["segments"]["agreed"], 6);
    assert_eq!(last["segments"]["differed"], 0);
    assert!(after["candidate"].is_null());
    assert_eq!(after["serving"]["sha256"], hash.as_str());
    if serving == hash.as_str() {
        println!("the rebuild is byte for byte the embedded component ({hash})");
    }
    let m = metrics(&r);
    assert_eq!(
        metric_value(&m, "lpbridge_canary_segments_total{outcome=\"agreed\"}"),
        6,
        "{m}"
    );
    assert_eq!(
        metric_value(
            &m,
            "lpbridge_canary_decisions_total{decision=\"promoted\",reason=\"agreed\"}"
        ),
        1
    );
    // The gateway was asked once per segment, never by the shadow.
    assert_eq!(gw.seen().len(), 6);
}

/// A component that drops the audio's pre-skip from every rendition: rolled
/// back at its first segment, the difference named in one line, and every
/// rendition served the serving component's. Put back with the difference
/// expected, it is compared on every segment, each difference reported,
/// and promoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_differs_is_rolled_back_and_an_expected_difference_is_reviewed() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let r = start(&gw, settings(3)).await;
    let before = segment(&r, "did:plc:edit", "sample-segment.mp4").await;
    let variant = guest_component(&["variant-audio-edit"]);
    let hash = canary(&r, &variant, "").await;
    for _ in 0..3 {
        let served = segment(&r, "did:plc:edit", "sample-segment.mp4").await;
        assert!(
            renditions(&served) == renditions(&before),
            "a rendition of the candidate was served"
        );
    }
    let after = decided(&r).await;
    let last = &after["last_decision"];
    assert_eq!(
        (
            last["decision"].as_str(),
            last["reason"].as_str(),
            last["sha256"].as_str()
        ),
        (Some("rolled-back"), Some("differed"), Some(hash.as_str())),
        "{after}"
    );
    let first = last["first_difference"].as_str().unwrap().to_string();
    println!("first difference: {first}");
    assert!(first.starts_with("seq 1, rendition 360p: audio start_ns "), "{first}");
    assert_ne!(after["serving"]["sha256"], hash.as_str());
    assert_eq!(
        metric_value(
            &metrics(&r),
            "lpbridge_canary_decisions_total{decision=\"rolled-back\",reason=\"differed\"}"
        ),
        1
    );
    // The gateway saw each segment once.
    assert_eq!(gw.seen().len(), 4);

    // An intended change: compared and reported, not rolled back.
    canary(&r, &variant, "?expect-diff=1").await;
    for n in 1..=3 {
        segment(&r, "did:plc:edit", "sample-segment.mp4").await;
        compared(&r, n).await;
    }
    let after = decided(&r).await;
    let last = &after["last_decision"];
    assert_eq!(
        (last["decision"].as_str(), last["reason"].as_str()),
        (Some("promoted"), Some("agreed")),
        "{after}"
    );
    assert_eq!(last["segments"]["differed"], 3);
    assert!(
        last["first_difference"]
            .as_str()
            .unwrap()
            .contains("rendition 360p: audio start_ns")
    );
    assert_eq!(after["serving"]["sha256"], hash.as_str());
    let now = segment(&r, "did:plc:edit", "sample-segment.mp4").await;
    assert!(renditions(&now) != renditions(&before), "the promoted variant serves");
}

/// A component that traps on some segments, and one that is five times
/// slower: each rolled back with its reason, the serving component
/// answering every segment meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_that_traps_or_is_slower_is_rolled_back() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let r = start(&gw, settings(1000)).await;
    let trap = canary(&r, &guest_component(&["variant-trap"]), "").await;
    let shadow = format!("canary-{}", &trap[..8]);
    assert!(named_within(&shadow, true).await, "the shadow runs: {:?}", threads());
    // An even length first (it agrees), then an odd one (it traps).
    segment(&r, "did:plc:trap", "sample-segment.mp4").await;
    segment(&r, "did:plc:trap", "5sec.mp4").await;
    let after = decided(&r).await;
    let last = &after["last_decision"];
    assert_eq!(
        (last["reason"].as_str(), last["segments"]["agreed"].as_u64()),
        (Some("trapped"), Some(1)),
        "{after}"
    );
    // 5sec.mp4 opens a manifest of its own (another frame rate): seq 0.
    assert_eq!(
        last["first_difference"],
        "seq 0, probe: call answered vs trapped: wasm trap: wasm `unreachable` instruction executed"
    );
    // Decided, its shadow's thread ends, though no job comes any more.
    assert!(
        named_within(&shadow, false).await,
        "{shadow} still runs: {:?}",
        threads()
    );

    let slow = canary(&r, &guest_component(&["variant-slow"]), "").await;
    // A segment at a time, each compared before the next (the shadow runs
    // at the lowest priority, and a full queue would drop them), until a
    // window of times decides.
    let mut sent = 0;
    let after = loop {
        segment(&r, "did:plc:slow", "sample-segment.mp4").await;
        sent += 1;
        let c = compared(&r, sent).await;
        if c["candidate"].is_null() {
            break c;
        }
        assert!(
            sent < 3 * lpbridge::canary::WINDOW as u64,
            "not decided after {sent} segments: {c}"
        );
    };
    let last = &after["last_decision"];
    assert_eq!(
        (last["sha256"].as_str(), last["reason"].as_str()),
        (Some(slow.as_str()), Some("slower")),
        "{after}"
    );
    println!("slower, after {sent} segments: {}", last["first_difference"]);
    let m = metrics(&r);
    for reason in ["trapped", "slower"] {
        let series = format!("lpbridge_canary_decisions_total{{decision=\"rolled-back\",reason=\"{reason}\"}}");
        assert_eq!(metric_value(&m, &series), 1, "{m}");
    }
}

/// Whether a thread of this process is named `name` (`running`) or not,
/// within 5 s: a thread names itself once it runs.
async fn named_within(name: &str, running: bool) -> bool {
    for _ in 0..100 {
        if threads().iter().any(|t| t == name) == running {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// The names of this process's threads.
fn threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|name| name.trim_end().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A candidate of another contract version is refused by name, as a
/// reload is; nothing is put on probation, and there is nothing to
/// promote until one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_of_another_contract_is_refused() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let r = start(&gw, settings(5)).await;
    let a = http(r.addr, "POST", "/admin/canary", &relabelled("0.1.0")).await;
    assert_eq!((a.status, a.json()["error"].as_str()), (409, Some("reload-refused")));
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap()
            .contains("streamplace:livepeer@0.1.0")
    );
    assert!(components(&r).await["candidate"].is_null());
    let none = http(r.addr, "POST", "/admin/promote", b"").await;
    assert_eq!(none.status, 409);
    // An operator may promote a candidate before its N segments.
    let hash = canary(&r, &guest_component(&["variant-audio-edit"]), "").await;
    let promoted = http(r.addr, "POST", "/admin/promote", b"").await;
    assert_eq!(
        (promoted.status, promoted.json()["component"].as_str()),
        (200, Some(hash.as_str()))
    );
    let c = components(&r).await;
    assert_eq!(
        (c["serving"]["sha256"].as_str(), c["last_decision"]["reason"].as_str()),
        (Some(hash.as_str()), Some("operator"))
    );
    assert_eq!(
        metric_value(
            &metrics(&r),
            "lpbridge_canary_decisions_total{decision=\"promoted\",reason=\"operator\"}"
        ),
        1
    );
}

/// Twenty creators at once with every segment shadowed: every segment
/// answered, the gateway asked exactly once per segment, the guard's two
/// in flight kept, and segments the full queue could not take counted as
/// dropped, never delayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_the_shadow_changes_nothing_the_gateway_or_a_caller_sees() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    *gw.delay.lock().unwrap() = Duration::from_millis(100);
    let r = start(&gw, settings(1_000_000)).await;
    canary(&r, &guest_component(&[]), "").await;
    let tasks: Vec<_> = (0..20)
        .map(|c| {
            let addr = r.addr;
            tokio::spawn(async move {
                let src = streamplace_segment("sample-segment.mp4");
                let mut oks = 0;
                for _ in 0..5 {
                    let a = http(addr, "POST", &format!("/v1/segments?creator=did:plc:load{c}"), &src).await;
                    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
                    oks += 1;
                }
                oks
            })
        })
        .collect();
    let mut oks = 0;
    for t in tasks {
        oks += t.await.unwrap();
    }
    assert_eq!(oks, 100);
    assert_eq!(gw.seen().len(), 100, "the gateway was asked once per segment");
    for s in gw.seen() {
        assert!(gw.max_in_flight(&s.manifest) <= 2);
    }
    let c = compared(&r, 100).await;
    let counts = &c["candidate"]["segments"];
    println!("shadowed under load: {counts}");
    assert_eq!(counts["differed"], 0);
    assert_eq!(counts["trapped"], 0);
    assert_eq!(counts["failed"], 0);
}

/// With `--canary-share`, a reload (here `POST /admin/reload`; a changed
/// file and SIGHUP take the same path) puts the new file on probation
/// instead of in service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_canary_share_a_reload_is_a_candidate() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let file = scratch("canary-reload").join("component.wasm");
    std::fs::write(&file, guest_component(&["variant-audio-edit"])).unwrap();
    let on_reload = Settings {
        on_reload: true,
        ..settings(5)
    };
    let r = start_with(&gw, on_reload, Some(file)).await;
    let serving = components(&r).await["serving"]["sha256"].clone();
    let a = http(r.addr, "POST", "/admin/reload", b"").await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let hash = a.json()["candidate"].as_str().unwrap().to_string();
    let c = components(&r).await;
    assert_eq!(
        (c["serving"]["sha256"].clone(), c["candidate"]["sha256"].as_str()),
        (serving, Some(hash.as_str()))
    );
    segment(&r, "did:plc:reload", "sample-segment.mp4").await;
    let after = decided(&r).await;
    assert_eq!(after["last_decision"]["reason"], "differed", "{after}");
}
