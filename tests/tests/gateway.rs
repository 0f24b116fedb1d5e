//! The built-in gateway. Its protocol is checked with a client that shares
//! no code with ours (Python's http.client and email parser), and its
//! transcodes end to end through the component and the host, with the
//! ffprobe checks of the remux tests: sizes as asked, audio byte for byte,
//! the source's timeline, a keyframe first, a clean decode.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use lpbridge::bridge::{Bridge, Config};
use lpbridge::ladder;
use lpbridge::metrics::Metrics;
use lpbridge::{Limits, Runtime};
use lpbridge_gateway::{Gateway, GatewayOptions};
use lpbridge_tests::*;
use serde_json::{Value, json};

async fn local_gateway() -> Gateway {
    Gateway::start(([127, 0, 0, 1], 0).into(), GatewayOptions::default())
        .await
        .unwrap()
}

/// One request through `tests/scripts/push.py`.
fn push(gw: &Gateway, method: &str, path: &str, headers: Value, body: Option<&Path>, out_dir: &Path) -> Value {
    std::fs::create_dir_all(out_dir).unwrap();
    let request = json!({
        "host": "127.0.0.1",
        "port": gw.addr().port(),
        "method": method,
        "path": path,
        "headers": headers,
        "body_file": body.map(|b| b.to_string_lossy().to_string()),
        "out_dir": out_dir,
    });
    let mut child = Command::new("python3")
        .arg(workspace().join("tests/scripts/push.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "push.py {method} {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    streamplace_fixtures().into_iter().find(|p| p.ends_with(name)).unwrap()
}

/// A real segment's video as the TS we send, and its audio MP4.
fn split_fixture(name: &str, dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let split = lpbridge_media::split(&std::fs::read(fixture(name)).unwrap()).unwrap();
    let (ts, audio) = (dir.join("segment.ts"), dir.join("audio.mp4"));
    std::fs::write(&ts, &split.video_ts).unwrap();
    std::fs::write(&audio, &split.audio_mp4).unwrap();
    (ts, audio)
}

fn text(seen: &Value) -> &str {
    seen["text"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_go_livepeers_status_and_plain_text() {
    let gw = local_gateway().await;
    let dir = scratch("gateway-protocol-bad");
    let (ts, _) = split_fixture("sample-segment.mp4", &dir);
    let accept = json!({"Accept": "multipart/mixed"});

    let get = push(&gw, "GET", "/live/m/0.ts", json!({}), None, &dir);
    assert_eq!(get["status"], 405, "{get}");
    assert!(
        get["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );

    let flv = push(&gw, "POST", "/live/m/0.flv", accept.clone(), Some(&ts), &dir);
    assert_eq!(flv["status"], 400);
    assert_eq!(text(&flv), "ignoring file extension: .flv\n");

    let no_manifest = push(&gw, "POST", "/live/.ts", accept.clone(), Some(&ts), &dir);
    assert_eq!(no_manifest["status"], 400);

    for bad in ["{", r#"{"profiles": {}}"#, r#"{"profiles": [{"width": "640"}]}"#] {
        let headers = json!({"Accept": "multipart/mixed", "Livepeer-Transcode-Configuration": bad});
        let seen = push(&gw, "POST", "/live/cfg/0.ts", headers, Some(&ts), &dir);
        assert_eq!(seen["status"], 400, "{bad}: {seen}");
        assert!(
            text(&seen).starts_with("failed to parse transcode config header: "),
            "{seen}"
        );
    }

    let vp9 = json!({"profiles": [{"name": "x", "width": 640, "height": 360, "bitrate": 1000000, "encoder": "VP9"}]});
    let headers = json!({"Accept": "multipart/mixed", "Livepeer-Transcode-Configuration": vp9.to_string()});
    let seen = push(&gw, "POST", "/live/vp9/0.ts", headers, Some(&ts), &dir);
    assert_eq!(seen["status"], 500);
    assert_eq!(text(&seen), "Could not create stream ID\n");

    let long = json!({"Accept": "multipart/mixed", "Content-Duration": "400000"});
    let seen = push(&gw, "POST", "/live/long/0.ts", long, Some(&ts), &dir);
    assert_eq!(seen["status"], 500);
    assert_eq!(text(&seen), "invalid duration\n");

    let garbage = dir.join("garbage.ts");
    std::fs::write(&garbage, vec![0x5a; 4000]).unwrap();
    let seen = push(&gw, "POST", "/live/garbage/0.ts", accept.clone(), Some(&garbage), &dir);
    assert_eq!(seen["status"], 422, "{seen}");

    // Empty profiles, or an Accept that is not multipart: 200, empty body.
    let none = json!({"Accept": "multipart/mixed", "Livepeer-Transcode-Configuration": r#"{"profiles": []}"#});
    let seen = push(&gw, "POST", "/live/none/0.ts", none, Some(&ts), &dir);
    assert_eq!(
        (seen["status"].as_u64(), seen["len"].as_u64()),
        (Some(200), Some(0)),
        "{seen}"
    );
    let seen = push(&gw, "PUT", "/live/plain/0.ts", json!({}), Some(&ts), &dir);
    assert_eq!(
        (seen["status"].as_u64(), seen["len"].as_u64()),
        (Some(200), Some(0)),
        "{seen}"
    );
}

/// The answer as go-livepeer frames it, parsed by Python's email package.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_answer_parses_with_an_independent_parser() {
    let gw = local_gateway().await;
    let dir = scratch("gateway-protocol-multipart");
    let (ts, audio) = split_fixture("sample-segment.mp4", &dir);
    let config = json!({
        "manifestID": "mp",
        "PROFILES": [
            {"name": "360p", "width": 640, "height": 360, "bitrate": 1000000, "fps": 30, "gop": "1"},
            {"Name": "tall", "height": 240, "bitrate": 400000},
        ],
    });
    let headers = json!({
        "Accept": "multipart/mixed",
        "Content-Duration": "803",
        "Content-Resolution": "1920x1080",
        "Livepeer-Transcode-Configuration": config.to_string(),
    });
    let seen = push(&gw, "POST", "/live/mp/7.ts", headers, Some(&ts), &dir);
    assert_eq!(seen["status"], 200, "{seen}");
    assert_eq!(seen["headers"]["transfer-encoding"], "chunked");
    let content_type = seen["headers"]["content-type"].as_str().unwrap();
    let boundary = content_type.strip_prefix("multipart/mixed; boundary=").unwrap();
    assert!(
        boundary.len() == 20
            && boundary
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{boundary}"
    );
    assert_eq!(seen["defects"], json!([]), "{seen}");
    let parts = seen["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    let distinct = sorted_pts(&fixture("sample-segment.mp4"))
        .0
        .into_iter()
        .collect::<BTreeSet<_>>()
        .len();
    for (part, (name, size)) in parts.iter().zip([("360p", (640, 360)), ("tall", (426, 240))]) {
        let headers: Vec<(String, String)> = part["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
            .collect();
        let file = format!("{name}_7.ts");
        let len = part["len"].as_u64().unwrap();
        assert_eq!(
            headers,
            vec![
                ("Content-Disposition".into(), format!("attachment; filename=\"{file}\"")),
                ("Content-Length".into(), len.to_string()),
                ("Content-Type".into(), format!("video/mp2t; name=\"{file}\"")),
                ("Rendition-Name".into(), name.to_string()),
            ],
            "part headers, sorted as Go writes them"
        );
        let bytes = std::fs::read(part["file"].as_str().unwrap()).unwrap();
        assert!(bytes.len() % 188 == 0 && bytes[0] == 0x47, "{name}: a transport stream");
        let joined = lpbridge_media::join_rendition(&bytes, &std::fs::read(&audio).unwrap(), Default::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((joined.width, joined.height), size, "{name}");
        // 49 frames at 60 fps, two of them at one instant; 30 fps keeps
        // about half (the timestamps jitter, so a few slots stay empty).
        let frames = joined.frames as usize;
        if name == "360p" {
            assert!((20..=25).contains(&frames), "{name}: {frames} frames");
        } else {
            assert_eq!(frames, distinct, "{name}: a frame per presentation time");
        }
    }
    assert!(gw.sessions() >= 1);
}

/// `.mp4` in, `.mp4` out: each part is an MP4 with the source's audio.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp4_extension_answers_mp4_renditions() {
    let gw = local_gateway().await;
    let dir = scratch("gateway-protocol-mp4");
    let config = json!({"profiles": [{"name": "240p", "width": 426, "height": 240, "bitrate": 500000}]});
    let headers = json!({"Accept": "multipart/mixed", "Livepeer-Transcode-Configuration": config.to_string()});
    let src = fixture("duration-mismatch.mp4");
    let seen = push(&gw, "POST", "/live/mp4/3.mp4", headers, Some(&src), &dir);
    assert_eq!(seen["status"], 200, "{seen}");
    let part = &seen["parts"][0];
    assert!(
        part["headers"]
            .to_string()
            .contains("video/mp4; name=\\\"240p_3.mp4\\\""),
        "{part}"
    );
    let out = PathBuf::from(part["file"].as_str().unwrap());
    assert_eq!(ffprobe_size(&out), (426, 240));
    check_audio(&src, &out);
}

fn bridge(gateway: &Gateway, rungs: &str) -> Arc<Bridge> {
    let mut config = Config::new(&gateway.url());
    config.ladder = ladder::select(&ladder::default_ladder(), rungs).unwrap();
    let runtime = Runtime::embedded(Limits::default()).unwrap();
    Arc::new(Bridge::new(runtime, config, Arc::new(Metrics::new())).unwrap())
}

/// Real segments through the component, the host and the built-in gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_segments_transcode_end_to_end() {
    let gw = local_gateway().await;
    let b = bridge(&gw, "720p,360p,240p");
    // Under the default, strict verification: each rendition is checked
    // against its profile and the source while it is joined.
    assert_eq!(b.config().verify, lpbridge::bindings::session::VerifyMode::Strict);
    let sources = transcode_sources(&["bframes.mp4", "portrait.mp4", "odd.mp4", "fragmented.mp4", "aac.mp4"]);
    for src in &sources {
        let name = src.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(src).unwrap();
        let info = runtime().probe(&bytes).await.unwrap().unwrap();
        let v = info.video.as_ref().unwrap();
        let asked = ladder::renditions(&b.config().ladder, v.width, v.height, v.frame_rate);
        assert!(!asked.is_empty(), "{name}: no rung below it");
        // A creator per source: like go-livepeer, the gateway keeps the
        // profiles a manifest opened with, and these sources differ in
        // orientation while their rendition counts agree.
        let creator = format!("did:plc:e2e{}", sources.iter().position(|s| s == src).unwrap());
        let out = b
            .transcode(&creator, &bytes)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let names: Vec<&str> = out.renditions.iter().map(|r| r.name.as_str()).collect();
        let wanted: Vec<&str> = asked.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, wanted, "{name}");

        let dir = scratch(&format!("gateway-e2e-{name}"));
        for (r, p) in out.renditions.iter().zip(&asked) {
            let file = dir.join(format!("{}.mp4", r.name));
            std::fs::write(&file, &r.mp4).unwrap();
            check_rendition(src, &file, p, &format!("{name} {}", r.name));
        }
    }
}

/// Sessions are implicit, limited in number, and expire when idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_limited_and_expire_when_idle() {
    let options = GatewayOptions {
        max_sessions: 1,
        // Long enough that the pushes below, each a Python process and a
        // transcode on a loaded machine, come well inside it (500 ms was
        // seen to run out between two of them).
        session_idle: std::time::Duration::from_secs(3),
        ..GatewayOptions::default()
    };
    let gw = Gateway::start(([127, 0, 0, 1], 0).into(), options).await.unwrap();
    let dir = scratch("gateway-sessions");
    let (ts, _) = split_fixture("short-video.mp4", &dir);
    let config = json!({"profiles": [{"name": "p", "width": 320, "height": 180, "bitrate": 300000}]});
    let headers = json!({"Accept": "multipart/mixed", "Livepeer-Transcode-Configuration": config.to_string()});

    let first = push(&gw, "POST", "/live/a/0.ts", headers.clone(), Some(&ts), &dir);
    assert_eq!(first["status"], 200, "{first}");
    assert_eq!(gw.sessions(), 1);
    let second = push(&gw, "POST", "/live/b/0.ts", headers.clone(), Some(&ts), &dir);
    assert_eq!(second["status"], 500, "one session at most: {second}");
    assert_eq!(text(&second), "Could not create stream ID\n");
    // The open session still takes its next segment.
    let again = push(&gw, "POST", "/live/a/1.ts", headers.clone(), Some(&ts), &dir);
    assert_eq!(again["status"], 200);

    let idle = std::time::Instant::now();
    while gw.sessions() > 0 && idle.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(gw.sessions(), 0, "idle sessions expire");
    let later = push(&gw, "POST", "/live/b/0.ts", headers, Some(&ts), &dir);
    assert_eq!(later["status"], 200, "{later}");
}
