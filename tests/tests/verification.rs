//! Every rendition is checked against what was asked, inside the
//! component while it is joined, and the host's `--verify` decides what a
//! mismatch does: strict fails the segment naming the rendition and the
//! mismatch, warn keeps the rendition and counts it, off skips the checks.
//! The gateways are fake ones on loopback that answer wrongly in the two
//! ways an orchestrator can: the source's own video for every rendition,
//! and a real transcode that dropped half the frames. That real segments
//! through the built-in gateway pass under strict is checked by
//! `gateway.rs::real_segments_transcode_end_to_end`, which runs with the
//! default (strict).

use std::sync::Arc;

use lpbridge::bindings::session::VerifyMode;
use lpbridge::bridge::{Bridge, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::{Limits, Runtime};
use lpbridge_contract::Check;
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::*;

fn bridge(gateway: &FakeGateway, rungs: &str, verify: VerifyMode) -> Bridge {
    let mut config = Config::new(&gateway.url());
    config.ladder = ladder::select(&ladder::default_ladder(), rungs).unwrap();
    config.verify = verify;
    Bridge::new(
        Runtime::embedded(Limits::default()).unwrap(),
        config,
        Arc::new(Metrics::new()),
    )
    .unwrap()
}

/// 49 frames of 1920x1080 at 62.5 fps (0.78 s).
fn sample() -> Vec<u8> {
    streamplace_segment("sample-segment.mp4")
}

fn mismatches_counted(b: &Bridge, rendition: &str, what: &str) -> i64 {
    let line = format!("lpbridge_rendition_mismatch_total{{rendition=\"{rendition}\",what=\"{what}\"}}");
    metric_value(&b.metrics.render(), &line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sources_own_video_fails_strict_naming_both_sizes() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&gw, "160p", VerifyMode::Strict);
    let err = b.transcode("did:plc:verify", &sample()).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "rendition-mismatch");
    assert_eq!(err.to_string(), "rendition 160p: 1920x1080, asked 284x160");
    assert_eq!(mismatches_counted(&b, "160p", "size"), 1);
    assert!(
        b.metrics
            .render()
            .contains("lpbridge_transcode_errors_by_kind_total{kind=\"rendition-mismatch\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_keeps_the_rendition_and_counts_the_mismatch_and_off_skips_it() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let b = bridge(&gw, "160p", VerifyMode::Warn);
    let out = b.transcode("did:plc:verify", &sample()).await.unwrap();
    let r = &out.renditions[0];
    assert_eq!((r.name.as_str(), r.width, r.height, r.frames), ("160p", 1920, 1080, 49));
    assert_eq!(&r.mp4[4..8], b"ftyp");
    // 160p is a 30 fps rung, sent at half the source's 62.5 fps: the
    // source's 49 frames are also too many for it.
    let what: Vec<Check> = r.mismatches.iter().map(|m| m.what).collect();
    assert_eq!(what, [Check::Size, Check::FrameCount], "{:?}", r.mismatches);
    assert_eq!(
        r.mismatches[1].to_string(),
        "frame-count 49 frames, asked 25 to 26 frames"
    );
    assert_eq!(mismatches_counted(&b, "160p", "size"), 1);
    assert_eq!(mismatches_counted(&b, "160p", "frame-count"), 1);

    let b = bridge(&gw, "160p", VerifyMode::Off);
    let out = b.transcode("did:plc:verify", &sample()).await.unwrap();
    assert!(out.renditions[0].mismatches.is_empty());
    assert_eq!(mismatches_counted(&b, "160p", "size"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_the_frames_fails_naming_the_frame_count() {
    let gw = FakeGateway::start(Mode::DropHalfFrames).await;
    // 720p keeps the source's rate (60 is within 75% of 62.5): at most
    // the source's 49 frames, at least 90% of the 48 instants they show
    // at (two share one), and 25 came back.
    let b = bridge(&gw, "720p", VerifyMode::Strict);
    let err = b.transcode("did:plc:verify", &sample()).await.unwrap_err();
    assert_eq!(err.kind().as_str(), "rendition-mismatch");
    assert_eq!(
        err.to_string(),
        "rendition 720p: frame-count 25 frames, asked 44 to 49 frames"
    );
    assert_eq!(mismatches_counted(&b, "720p", "frame-count"), 1);

    // The size is right: the count is the only thing wrong with it.
    let b = bridge(&gw, "720p", VerifyMode::Warn);
    let out = b.transcode("did:plc:verify", &sample()).await.unwrap();
    let r = &out.renditions[0];
    assert_eq!((r.width, r.height, r.frames), (1280, 720, 25));
    let what: Vec<Check> = r.mismatches.iter().map(|m| m.what).collect();
    assert_eq!(what, [Check::FrameCount], "{:?}", r.mismatches);
}

/// `--verify` reaches the bridge from the command line: warn writes the
/// rendition, strict fails the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_names_the_rendition_and_the_mismatch() {
    use clap::Parser;
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let src = streamplace_fixtures()
        .into_iter()
        .find(|p| p.ends_with("sample-segment.mp4"))
        .unwrap();
    let run = |verify: &str, out: &std::path::Path| {
        let args = [
            "lpbridge",
            "transcode",
            "--gateway",
            &gw.url(),
            "--creator",
            "did:plc:cli",
            "--renditions",
            "160p",
            "--verify",
            verify,
            "--out",
            &out.display().to_string(),
            &src.display().to_string(),
        ]
        .map(String::from);
        lpbridge::cli::run(lpbridge::cli::Cli::parse_from(args))
    };
    let warn = scratch("verify-cli-warn");
    run("warn", &warn).await.unwrap();
    assert_eq!(&std::fs::read(warn.join("160p/0.mp4")).unwrap()[4..8], b"ftyp");
    let strict = scratch("verify-cli-strict");
    let err = run("strict", &strict).await.unwrap_err();
    assert!(err.to_string().contains("1 of 1 segments failed"), "{err}");
    assert!(!strict.join("160p/0.mp4").exists(), "no rendition written under strict");
}
