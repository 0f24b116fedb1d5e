//! A stream whose ladder changes (issue #28): a phone that turns, a frame
//! rate that changes. A gateway fixes a manifest's profiles at its first
//! segment, so each change must open a new manifest at seq 0, or every
//! segment after it fails verification for good.
//!
//! Through `lpbridge serve` and the built-in gateway, which really
//! transcodes and fixes profiles per manifest as go-livepeer does; through
//! the fake gateway, to see every request a manifest got; and through a
//! gateway that always answers the wrong size, which rotates and fails
//! again, never hangs. `lpbridge check` over the same run names the new
//! manifests where the bridge opens them. (The CLI's `transcode` has its
//! run in `host/tests/cli.rs`, the edge component's in `edge.rs`.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lpbridge::bindings::session::VerifyMode;
use lpbridge::bridge::{Bridge, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::server::{Service, serve};
use lpbridge::swap::Reloader;
use lpbridge::{Limits, Runtime};
use lpbridge_gateway::{Gateway, GatewayOptions};
use lpbridge_media::multipart::{self, PartBody};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::http::http;
use lpbridge_tests::*;

/// Two small rungs: every segment has both below it.
const RUNGS: &str = "360p,160p";

/// Where a new manifest opens in `TURNING_PHONE`, and why.
const OPENS: [(usize, &str); 3] = [(1, "orientation"), (3, "rate"), (4, "orientation")];

fn turning() -> Vec<PathBuf> {
    TURNING_PHONE
        .iter()
        .map(|n| streamplace_fixtures().into_iter().find(|p| p.ends_with(n)).unwrap())
        .collect()
}

fn config(gateway: &str) -> Config {
    let mut config = Config::new(gateway);
    config.ladder = ladder::select(&ladder::default_ladder(), RUNGS).unwrap();
    config
}

fn bridge(config: Config) -> Arc<Bridge> {
    let runtime = Runtime::embedded(Limits::default()).unwrap();
    Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap())
}

/// (place in the run, reason) of each new manifest after the first, from
/// the (manifest, seq) each segment went to; a new manifest starts at 0.
fn opened(sent: &[(String, u64)]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, pair) in sent.windows(2).enumerate() {
        if pair[0].0 != pair[1].0 {
            assert_eq!(pair[1].1, 0, "segment {} opens {} at seq 0: {sent:?}", i + 1, pair[1].0);
            out.push(i + 1);
        } else {
            assert_eq!(
                pair[1].1,
                pair[0].1 + 1,
                "segment {} follows in its manifest: {sent:?}",
                i + 1
            );
        }
    }
    out
}

fn places() -> Vec<usize> {
    OPENS.iter().map(|(i, _)| *i).collect()
}

/// Never a hang: a call that does not return in this long fails the test
/// by name.
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{what} did not return"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_turns_is_transcoded_at_every_turn_by_serve() {
    let gw = Gateway::start(([127, 0, 0, 1], 0).into(), GatewayOptions::default())
        .await
        .unwrap();
    let b = bridge(config(&gw.url()));
    let service = Arc::new(Service {
        bridge: b.clone(),
        reloader: Arc::new(Reloader::new(b.clone(), None, Limits::default(), None, None)),
        max_body: 16 << 20,
        routes: lpbridge::server::Routes::Public,
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
    let dir = scratch("manifests-serve");
    let rungs = ladder::select(&ladder::default_ladder(), RUNGS).unwrap();
    let mut sent = Vec::new();
    for (i, src) in turning().iter().enumerate() {
        let bytes = std::fs::read(src).unwrap();
        let a = http(addr, "POST", "/v1/segments?creator=did%3Aplc%3Aphone", &bytes).await;
        assert_eq!(a.status, 200, "segment {i}: {}", String::from_utf8_lossy(&a.body));
        let v = lpbridge_media::probe(&bytes).unwrap().video.unwrap();
        let asked = ladder::renditions(&rungs, v.width, v.height, v.frame_rate);
        let parts = multipart::parse(a.header("content-type"), &a.body).unwrap();
        assert_eq!(parts.len(), asked.len(), "segment {i}");
        for (p, want) in parts.iter().zip(&asked) {
            let PartBody::Bytes(mp4) = &p.body else {
                panic!("a URL part")
            };
            let file = dir.join(format!("{i}-{}.mp4", want.name));
            std::fs::write(&file, mp4).unwrap();
            // What a player reads, at the size this segment asked for.
            assert_eq!(
                ffprobe_size(&file),
                (want.width, want.height),
                "segment {i} {}",
                want.name
            );
        }
        sent.push((
            a.header("livepeer-manifest").to_string(),
            a.header("livepeer-seq").parse().unwrap(),
        ));
    }
    assert_eq!(opened(&sent), places(), "{sent:?}");
    assert_ne!(
        sent[4].0, sent[0].0,
        "portrait again is a new manifest, not the first reopened"
    );

    let metrics = String::from_utf8(http(addr, "GET", "/metrics", b"").await.body).unwrap();
    for (reason, n) in [("orientation", 2), ("rate", 1), ("mismatch", 0), ("refused", 0)] {
        let line = format!("lpbridge_manifest_rotations_total{{reason=\"{reason}\"}}");
        assert_eq!(metric_value(&metrics, &line), n, "{line}\n{metrics}");
    }

    // `lpbridge check` over the same run: `new-manifest` where the bridge
    // opened one, saying why.
    let checked = lpbridge::check::run(b.runtime(), &config(&gw.url()).ladder, &turning(), false)
        .await
        .unwrap();
    let found: Vec<(usize, String)> = checked
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.stream
                .iter()
                .filter(|f| f.code.as_str() == "new-manifest")
                .map(move |f| (i, f.message.clone()))
        })
        .collect();
    assert_eq!(
        found.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        places(),
        "{found:#?}"
    );
    for ((_, message), (_, reason)) in found.iter().zip(OPENS) {
        assert!(message.contains(&format!("({reason})")), "{message}");
    }
    assert!(found[0].1.starts_with("360p 640x360 after 360x640"), "{}", found[0].1);

    let _ = stop.send(());
    done.await.unwrap().unwrap();
}

/// The fake gateway sees every request: each manifest only ever got the
/// profiles it was opened with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_manifest_only_ever_gets_the_profiles_it_was_opened_with() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let mut c = config(&gw.url());
    c.verify = VerifyMode::Off; // a passthrough gateway: the source's own size
    let b = bridge(c);
    let mut reasons = Vec::new();
    for (i, src) in turning().iter().enumerate() {
        let t = within(
            &format!("segment {i}"),
            b.transcode("did:plc:turns", &std::fs::read(src).unwrap()),
        )
        .await
        .unwrap();
        let claim = t.claim.unwrap();
        if let Some(r) = claim.rotation {
            reasons.push((i, r.change.reason.label()));
        }
    }
    assert_eq!(reasons, OPENS);
    let seen = gw.seen();
    let sent: Vec<(String, u64)> = seen.iter().map(|s| (s.manifest.clone(), s.seq)).collect();
    assert_eq!(opened(&sent), places());
    for s in &seen {
        let first = seen.iter().find(|f| f.manifest == s.manifest).unwrap();
        assert_eq!(s.profiles, first.profiles, "{} seq {}", s.manifest, s.seq);
    }
}

/// A gateway that answers every rendition at the wrong size (the source's
/// own): `rotate_after` segments refused by verification, a fresh manifest,
/// then refused again; every call returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_always_answers_the_wrong_size_rotates_and_never_hangs() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let mut c = config(&gw.url());
    c.rotate_after = 3;
    c.retries = 0;
    let b = bridge(c);
    let src = streamplace_segment("sample-segment.mp4");
    for i in 0..7 {
        let e = within(&format!("segment {i}"), b.transcode("did:plc:wrong", &src))
            .await
            .unwrap_err();
        assert_eq!(e.kind().as_str(), "rendition-mismatch", "segment {i}: {e}");
        assert!(e.to_string().contains("1920x1080, asked 640x360"), "{e}");
    }
    let sent: Vec<(String, u64)> = gw.seen().iter().map(|s| (s.manifest.clone(), s.seq)).collect();
    assert_eq!(opened(&sent), [3, 6], "{sent:?}");
    let metrics = b.metrics.render();
    assert_eq!(
        metric_value(&metrics, "lpbridge_manifest_rotations_total{reason=\"mismatch\"}"),
        2,
        "{metrics}"
    );
}
