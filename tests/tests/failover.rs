//! Several gateways, bounded retries and failover, against fake gateways
//! on loopback: a gateway that refuses connections, one that answers 503
//! to everything, both down, a 422, and the session's in-flight guard
//! through all of it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lpbridge::bindings::session::VerifyMode;
use lpbridge::bridge::{Bridge, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::{Limits, Runtime};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::*;

/// A loopback address where nothing listens: connections are refused.
fn refusing() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

fn bridge(gateways: &[String], tune: impl FnOnce(&mut Config)) -> Bridge {
    let mut config = Config::new(&gateways[0]);
    config.gateways = gateways.to_vec();
    config.ladder = ladder::select(&ladder::default_ladder(), "360p").unwrap();
    // The fake gateways pass the source through.
    config.verify = VerifyMode::Off;
    tune(&mut config);
    Bridge::new(
        Runtime::embedded(Limits::default()).unwrap(),
        config,
        Arc::new(Metrics::new()),
    )
    .unwrap()
}

fn segment() -> Vec<u8> {
    streamplace_segment("sample-segment.mp4")
}

fn metric(b: &Bridge, line: &str) -> i64 {
    metric_value(&b.metrics.render(), line)
}

fn slots_all_back(b: &Bridge) -> bool {
    b.sessions
        .load()
        .iter()
        .all(|(_, in_flight, waiting)| *in_flight == 0 && *waiting == 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_refuses_connections_costs_one_attempt_per_cool_down() {
    let a = refusing();
    let b_gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&[a.clone(), b_gw.url()], |c| {
        c.gateway_cooldown = Duration::from_secs(60)
    });
    let src = segment();
    // A session per segment: each starts on the first gateway.
    for i in 0..6 {
        let out = b.transcode(&format!("did:plc:fo{i}"), &src).await.unwrap();
        assert_eq!(out.renditions.len(), 1);
    }
    assert_eq!(b_gw.seen().len(), 6, "every segment went through B");
    assert_eq!(
        metric(&b, "lpbridge_retries_total{reason=\"connect\"}"),
        1,
        "A tried once"
    );
    assert_eq!(metric(&b, "lpbridge_failovers_total"), 1);
    assert_eq!(metric(&b, &format!("lpbridge_gateway_up{{gateway=\"{a}\"}}")), 0);
    assert_eq!(
        metric(&b, &format!("lpbridge_gateway_up{{gateway=\"{}\"}}", b_gw.url())),
        1
    );

    assert!(slots_all_back(&b));

    // After the cool-down, A gets one attempt again.
    let b = bridge(&[a.clone(), b_gw.url()], |c| {
        c.gateway_cooldown = Duration::from_millis(300)
    });
    b.transcode("did:plc:fo-early", &src).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    b.transcode("did:plc:fo-later", &src).await.unwrap();
    assert_eq!(metric(&b, "lpbridge_retries_total{reason=\"connect\"}"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_answering_503_is_left_for_the_next_within_the_retry_budget() {
    let a = FakeGateway::start(Mode::NoSessions).await;
    let b_gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&[a.url(), b_gw.url()], |c| c.retries = 1);
    let src = segment();
    for _ in 0..3 {
        b.transcode("did:plc:fo503", &src).await.unwrap();
    }
    // The first segment met the 503 and moved on; the session then stays
    // on the gateway that worked, at the seq it was at.
    assert_eq!(a.seen().len(), 1);
    let seqs: Vec<u64> = b_gw.seen().iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!(metric(&b, "lpbridge_retries_total{reason=\"503\"}"), 1);
    assert_eq!(metric(&b, "lpbridge_failovers_total"), 1);
    assert!(slots_all_back(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_gateway_down_a_segment_fails_within_its_deadline_with_the_last_error() {
    // Both answer 503: the retries back off, and stop at the deadline.
    let (a, c) = (
        FakeGateway::start(Mode::NoSessions).await,
        FakeGateway::start(Mode::NoSessions).await,
    );
    let deadline = Duration::from_secs(3);
    let b = bridge(&[a.url(), c.url()], |cfg| {
        cfg.retries = 50;
        cfg.retry_base = Duration::from_millis(100);
        cfg.segment_deadline = deadline;
    });
    let started = Instant::now();
    let err = b.transcode("did:plc:down", &segment()).await.unwrap_err();
    assert!(started.elapsed() < deadline, "{:?}", started.elapsed());
    assert_eq!(err.kind().as_str(), "gateway-status");
    assert_eq!(err.to_string(), "gateway answered 503: No sessions available");
    assert!(a.seen().len() + c.seen().len() >= 3, "it retried");
    assert!(slots_all_back(&b));

    // Both refuse connections: the first segment tries each once; the
    // next, with both cooling down, fails at once and says why.
    let b = bridge(&[refusing(), refusing()], |cfg| cfg.segment_deadline = deadline);
    let err = b.transcode("did:plc:down", &segment()).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "gateway-transport");
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert_eq!(metric(&b, "lpbridge_retries_total{reason=\"connect\"}"), 1);
    let err = b.transcode("did:plc:down2", &segment()).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "gateway-transport");
    assert!(
        err.to_string()
            .starts_with("gateway transport: every gateway is cooling down after connection failures (last: "),
        "{err}"
    );
    assert_eq!(
        metric(&b, "lpbridge_retries_total{reason=\"connect\"}"),
        1,
        "no attempt"
    );
    assert!(slots_all_back(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_gateway_that_refuses_a_connection_is_retried_not_cooled_down() {
    // With nothing to turn to, a cool-down would only drop segments.
    let b = bridge(&[refusing()], |c| c.retry_base = Duration::from_millis(20));
    for creator in ["did:plc:sole1", "did:plc:sole2"] {
        let err = b.transcode(creator, &segment()).await.unwrap_err();
        assert_eq!(err.kind().as_str(), "gateway-transport", "{err}");
        assert!(err.to_string().contains("connection refused"), "{err}");
    }
    // Two retries each, to the same gateway.
    assert_eq!(metric(&b, "lpbridge_retries_total{reason=\"connect\"}"), 4);
    assert_eq!(metric(&b, "lpbridge_failovers_total"), 0);
    assert!(slots_all_back(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_422_is_not_retried() {
    let a = FakeGateway::start(Mode::Unprocessable).await;
    let b_gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&[a.url(), b_gw.url()], |_| {});
    let err = b.transcode("did:plc:fo422", &segment()).await.unwrap_err();
    assert_eq!(err.to_string(), "gateway answered 422: no keyframes in segment");
    assert_eq!(a.seen().len(), 1);
    assert!(b_gw.seen().is_empty());
    assert!(!b.metrics.render().contains("lpbridge_retries_total{"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_keep_two_in_flight_per_session() {
    let a = FakeGateway::start(Mode::NoSessions).await;
    let b_gw = FakeGateway::start(Mode::Passthrough).await;
    *a.delay.lock().unwrap() = Duration::from_millis(100);
    *b_gw.delay.lock().unwrap() = Duration::from_millis(200);
    let b = Arc::new(bridge(&[a.url(), b_gw.url()], |c| {
        c.max_waiting = 10;
        c.retry_base = Duration::from_millis(20);
    }));
    let src = Arc::new(segment());
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (b, src) = (b.clone(), src.clone());
            tokio::spawn(async move { b.transcode("did:plc:foguard", &src).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let manifest = b_gw.seen()[0].manifest.clone();
    assert!(a.max_in_flight(&manifest) <= 2, "{}", a.max_in_flight(&manifest));
    assert_eq!(b_gw.max_in_flight(&manifest), 2);
    assert_eq!(b_gw.seen().len(), 10);
    assert!(slots_all_back(&b));
}
