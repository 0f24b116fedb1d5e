//! `lpbridge demo` as a user runs it, and its page in a real browser:
//! Debian's Chromium, headless, loads `index.html` over loopback and every
//! video must reach `readyState >= 2` with the duration and frame size of
//! its file.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

mod common;
use common::{fixture, scratch};

fn run_demo(out: &Path, segments: u32, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_lpbridge"))
        .args(["demo", "--segments", &segments.to_string(), "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "demo: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn demo_writes_renditions_a_table_and_a_page() {
    let out = scratch("demo-table");
    let stdout = run_demo(&out, 2, &[]);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|r: &Vec<&str>| r.len() == 8 && r[0] != "rendition")
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    // A 720p source: the upstream ladder skips 1080p and 720p.
    assert_eq!(names, ["source", "360p", "240p", "160p"], "{stdout}");
    for r in &rows {
        assert_eq!(r[4], "120", "{}: 2 segments of 60 frames", r[0]);
        assert_eq!(r[5], "4.00s", "{}: duration", r[0]);
        let (asked, got): (f64, f64) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!(
            (got - asked).abs() / asked < 0.2,
            "{}: asked {asked} kb/s, got {got}",
            r[0]
        );
    }
    for dir in ["source", "360p", "240p", "160p"] {
        for i in 0..2 {
            let file = out.join(dir).join(format!("{i}.mp4"));
            let info = lpbridge_media::probe(&std::fs::read(&file).unwrap()).unwrap();
            assert_eq!(info.audio.as_ref().unwrap().codec.name(), "opus", "{}", file.display());
        }
    }
    assert!(out.join("index.html").exists());
}

/// Serves `root` read-only; a POST to `/report` is handed to the test.
async fn serve(root: PathBuf, report: tokio::sync::mpsc::Sender<Bytes>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (root, report) = (root.clone(), report.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (root, report) = (root.clone(), report.clone());
                    async move {
                        let path = req.uri().path().trim_start_matches('/').to_string();
                        if req.method() == hyper::Method::POST && path == "report" {
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let _ = report.send(body).await;
                            return Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())));
                        }
                        let file = root.join(&path);
                        let inside = !path.split('/').any(|c| c == ".." || c.is_empty());
                        match std::fs::read(&file) {
                            Ok(bytes) if inside => {
                                let mime = if path.ends_with(".html") {
                                    "text/html; charset=utf-8"
                                } else {
                                    "video/mp4"
                                };
                                let mut r = Response::new(Full::new(Bytes::from(bytes)));
                                r.headers_mut().insert("content-type", mime.parse().unwrap());
                                Ok(r)
                            }
                            _ => {
                                let mut r = Response::new(Full::new(Bytes::new()));
                                *r.status_mut() = StatusCode::NOT_FOUND;
                                Ok(r)
                            }
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_plays_every_rendition_in_headless_chromium() {
    let out = scratch("demo-browser");
    run_demo(&out, 2, &[]);
    plays_in_chromium(&out, false).await;
}

/// The same with `--fragmented`: Chromium plays fragmented renditions too
/// (the source stays progressive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_plays_fragmented_renditions_in_headless_chromium() {
    let out = scratch("demo-browser-fragmented");
    run_demo(&out, 2, &["--fragmented"]);
    plays_in_chromium(&out, true).await;
}

/// Opens `out/index.html` in headless Chromium and checks what the page
/// reports of every video against the file; `fragmented` says what the
/// renditions must be.
async fn plays_in_chromium(out: &Path, fragmented: bool) {
    let results = chromium_report(out, "index.html?report", &format!("demo-browser-profile-{fragmented}")).await;

    // Source and three renditions, two segments each.
    assert_eq!(results.len(), 8, "{results:?}");
    for r in &results {
        let src = r["src"].as_str().unwrap();
        assert!(r["ok"].as_bool().unwrap(), "{src}: {}", r["note"]);
        assert!(r["readyState"].as_u64().unwrap() >= 2, "{src}: {r}");
        // The browser's numbers against the file's own.
        let file = std::fs::read(out.join(src)).unwrap();
        let info = lpbridge_media::probe(&file).unwrap();
        let rendition = !src.starts_with("source");
        assert_eq!(info.fragmented, fragmented && rendition, "{src}: fragmented");
        let v = info.video.as_ref().unwrap();
        assert_eq!(
            (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap()),
            (v.width as u64, v.height as u64),
            "{src}: frame size"
        );
        let duration = r["duration"].as_f64().unwrap();
        assert!(
            (duration - info.duration_ns as f64 / 1e9).abs() <= 0.1,
            "{src}: browser says {duration} s"
        );
    }
}

/// Opens `page` of `root` in headless Chromium (a fresh `profile`) and
/// returns the JSON list the page posts to `/report`.
async fn chromium_report(root: &Path, page: &str, profile: &str) -> Vec<Value> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let addr = serve(root.to_path_buf(), tx).await;

    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("Debian's chromium package (.ci/run installs it)");
    let profile = scratch(profile);
    let mut browser = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://{addr}/{page}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromium");
    let report = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await;
    let _ = browser.kill().await;
    let report = report.expect("the page reported within 2 minutes").expect("a report");
    serde_json::from_slice(&report).unwrap()
}

/// `lpbridge gateway` on its own, and `transcode` against it by URL.
#[test]
fn gateway_subcommand_serves_transcode() {
    use std::io::BufRead;
    let mut gateway = Command::new(env!("CARGO_BIN_EXE_lpbridge"))
        .args(["gateway", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(gateway.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");

    let out = scratch("gateway-subcommand");
    let segment = fixture("sample-segment.mp4");
    let o = Command::new(env!("CARGO_BIN_EXE_lpbridge"))
        .args([
            "transcode",
            "--creator",
            "did:plc:cli",
            "--renditions",
            "360p,240p",
            "--gateway",
            &url,
            "--out",
        ])
        .arg(&out)
        .arg(&segment)
        .output()
        .unwrap();
    let _ = gateway.kill();
    let _ = gateway.wait();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (rung, size) in [("360p", (640, 360)), ("240p", (426, 240))] {
        let file = std::fs::read(out.join(rung).join("0.mp4")).unwrap();
        let info = lpbridge_media::probe(&file).unwrap();
        assert_eq!(
            (info.video.as_ref().unwrap().width, info.video.as_ref().unwrap().height),
            size,
            "{rung}"
        );
    }
}

/// The page of the timeline test: each video of `?f=a,b,...` in turn, with
/// where Chromium puts the start of its media timeline (`currentTime` once
/// the first frame is in) and its duration, posted to `/report`.
const TIMELINE_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><body><script>
const files = new URLSearchParams(location.search).get("f").split(",");
function one(src) {
  return new Promise((done) => {
    const v = document.createElement("video");
    const r = { src };
    const timer = setTimeout(() => { r.note = "no loadeddata within 20 s"; done(r); }, 20000);
    v.muted = true;
    v.preload = "auto";
    v.addEventListener("error", () => { clearTimeout(timer); r.note = v.error ? v.error.message : "error"; done(r); });
    v.addEventListener("loadeddata", () => {
      clearTimeout(timer);
      Object.assign(r, { start: v.currentTime, duration: v.duration, readyState: v.readyState });
      done(r);
    });
    v.src = src;
    document.body.appendChild(v);
  });
}
(async () => {
  const results = [];
  for (const f of files) results.push(await one(f));
  fetch("/report", { method: "POST", body: JSON.stringify(results) });
})();
</script>
"#;

/// A/V sync across a stream, as a browser sees it: the second and third
/// fragmented segments of each generated stream (placed at 2 s and 4 s by
/// their `tfdt`), through `lpbridge split` and `lpbridge join`, in both
/// layouts. Chromium starts each rendition's timeline where it starts the
/// source segment's, within a frame (the earlier of the audio and the
/// video: the audio for one stream, the video for the other), so two
/// consecutive renditions follow each other as the segments do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_renditions_start_where_their_segments_do_in_chromium() {
    const FRAME: f64 = 1.0 / 30.0;
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-fixtures");
    let make = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/make.sh");
    let made = Command::new("bash").arg(make).arg(&fixtures).output().unwrap();
    assert!(
        made.status.success(),
        "make.sh: {}",
        String::from_utf8_lossy(&made.stderr)
    );

    let out = scratch("timeline-browser");
    std::fs::write(out.join("timeline.html"), TIMELINE_PAGE).unwrap();
    let lpbridge = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lpbridge"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    let streams = ["stream-early-audio", "stream-late-audio"];
    let layouts = ["progressive", "fragmented"];
    let mut files = Vec::new();
    for stream in streams {
        for k in [1, 2] {
            let src = fixtures.join(stream).join(format!("seg{k}.mp4"));
            let name = |what: &str| format!("{stream}-{k}-{what}.mp4");
            std::fs::copy(&src, out.join(name("source"))).unwrap();
            let (ts, audio) = (
                out.join(format!("{stream}-{k}.ts")),
                out.join(format!("{stream}-{k}.m4a")),
            );
            lpbridge(&[
                "split".as_ref(),
                src.as_os_str(),
                "--video-ts".as_ref(),
                ts.as_os_str(),
                "--audio-mp4".as_ref(),
                audio.as_os_str(),
            ]);
            for layout in layouts {
                let mp4 = out.join(name(layout));
                let mut args = vec![
                    "join".as_ref(),
                    "--video-ts".as_ref(),
                    ts.as_os_str(),
                    "--audio-mp4".as_ref(),
                    audio.as_os_str(),
                    "-o".as_ref(),
                    mp4.as_os_str(),
                ];
                if layout == "fragmented" {
                    args.push("--fragmented".as_ref());
                }
                lpbridge(&args);
            }
            files.extend(["source", layouts[0], layouts[1]].map(name));
        }
    }

    let results = chromium_report(
        &out,
        &format!("timeline.html?f={}", files.join(",")),
        "timeline-browser-profile",
    )
    .await;
    assert_eq!(results.len(), files.len(), "{results:?}");
    let start = |file: &str| -> f64 {
        let r = results.iter().find(|r| r["src"] == file).unwrap();
        assert!(r["readyState"].as_u64().unwrap_or(0) >= 2, "{file}: {r}");
        r["start"].as_f64().unwrap_or_else(|| panic!("{file}: {r}"))
    };
    for stream in streams {
        for k in [1, 2] {
            let source = start(&format!("{stream}-{k}-source.mp4"));
            assert!(
                source >= 2.0 * k as f64 - 0.2,
                "{stream} seg{k}: Chromium starts the source at {source} s"
            );
            for layout in layouts {
                let got = start(&format!("{stream}-{k}-{layout}.mp4"));
                assert!(
                    (got - source).abs() <= FRAME,
                    "{stream} seg{k} {layout}: Chromium starts the rendition at {got} s, the source at {source} s"
                );
            }
        }
        for layout in layouts {
            let (first, second) = (
                start(&format!("{stream}-1-{layout}.mp4")),
                start(&format!("{stream}-2-{layout}.mp4")),
            );
            let (a, b) = (
                start(&format!("{stream}-1-source.mp4")),
                start(&format!("{stream}-2-source.mp4")),
            );
            assert!(
                ((second - first) - (b - a)).abs() <= FRAME,
                "{stream} {layout}: renditions {first} s then {second} s, segments {a} s then {b} s"
            );
        }
    }
}
