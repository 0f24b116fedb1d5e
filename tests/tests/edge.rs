//! The edge component (`lpbridge component edge`) under hosts that share
//! no code with ours: `wasmtime serve` from the wasmtime CLI 48.0.8, jco
//! on Node, and the JavaScript isolates operators deploy to (workerd,
//! Deno, Bun) through the package `scripts/edge-js` builds. The upstream is the built-in gateway on loopback, with real
//! transcoding, or the fake gateway for its failures. Every answer is the
//! one `lpbridge serve` gives: the same parts, the same JSON errors with the
//! same statuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use lpbridge::bridge::BridgeError;
use lpbridge_contract::ladder::{self, Profile};
use lpbridge_gateway::{Gateway, GatewayOptions};
use lpbridge_media::multipart::{self, PartBody};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::hosts::{Host, Served};
use lpbridge_tests::http::{Answer, first_part, http, request};
use lpbridge_tests::*;

const RUNGS: &str = "720p,240p";

fn component(dir: &Path) -> PathBuf {
    let file = dir.join("edge.wasm");
    std::fs::write(&file, lpbridge::EDGE_COMPONENT).unwrap();
    file
}

fn sources() -> Vec<PathBuf> {
    transcode_sources(&["bframes.mp4"])
}

/// The parts of a complete multipart answer, by name.
fn parts(a: &Answer, what: &str) -> Vec<(String, Vec<u8>, String)> {
    assert_eq!(a.status, 200, "{what}: {}", String::from_utf8_lossy(&a.body));
    let parts = multipart::parse(a.header("content-type"), &a.body).unwrap_or_else(|e| panic!("{what}: {e}"));
    parts
        .into_iter()
        .map(|p| {
            let resolution = p.header("Content-Resolution").unwrap_or_default().to_string();
            let PartBody::Bytes(b) = p.body else {
                panic!("{what}: a URL part")
            };
            (p.name.unwrap_or_default(), b, resolution)
        })
        .collect()
}

/// The host answers the next request after whatever came before.
async fn still_serving(s: &mut Served, after: &str) {
    let h = http(s.addr, "GET", "/healthz", b"").await;
    assert_eq!(h.status, 200, "{} after {after}: {}", s.host.name(), s.log());
    assert!(s.running(), "{} exited after {after}", s.host.name());
}

/// Real segments through the edge component and the built-in gateway.
async fn transcodes_real_segments(host: Host) {
    let dir = scratch(&format!("edge-{}-real", host.name()));
    let gw = Gateway::start(([127, 0, 0, 1], 0).into(), GatewayOptions::default())
        .await
        .unwrap();
    let url = gw.url();
    let env = [("LPBRIDGE_GATEWAY", url.as_str()), ("LPBRIDGE_RENDITIONS", RUNGS)];
    let mut s = Served::start(host, &component(&dir), &env, &dir);
    let who = host.name();

    let h = http(s.addr, "GET", "/healthz", b"").await.json();
    assert_eq!(h["contract"], lpbridge::CONTRACT, "{who}: {h}");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"), "{who}: {h}");

    let ladder = ladder::select(&ladder::default_ladder(), RUNGS).unwrap();
    for (i, src) in sources().iter().enumerate() {
        let name = src.file_name().unwrap().to_string_lossy().to_string();
        let what = format!("{who} {name}");
        let bytes = std::fs::read(src).unwrap();
        let v = lpbridge_media::probe(&bytes).unwrap().video.unwrap();
        let asked = ladder::renditions(&ladder, v.width, v.height, v.frame_rate);
        // A manifest per source: the gateway keeps the profiles a manifest
        // opened with, as go-livepeer does.
        let a = http(s.addr, "POST", &format!("/live/edge-{who}-{i}/0.mp4"), &bytes).await;
        let got = parts(&a, &what);
        let names: Vec<&str> = got.iter().map(|(n, ..)| n.as_str()).collect();
        let wanted: Vec<&str> = asked.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, wanted, "{what}");
        for ((n, mp4, resolution), p) in got.iter().zip(&asked) {
            assert_eq!(*resolution, format!("{}x{}", p.width, p.height), "{what} {n}");
            let file = dir.join(format!("{i}-{n}.mp4"));
            std::fs::write(&file, mp4).unwrap();
            check_rendition(src, &file, p, &format!("{what} {n}"));
        }
    }

    // The caller's own profiles, in go-livepeer's header.
    let src = &sources()[0];
    let bytes = std::fs::read(src).unwrap();
    let custom = Profile {
        name: "custom".into(),
        width: 320,
        height: 180,
        bitrate: 300_000,
        fps: None,
        h264_profile: None,
    };
    let header = ladder::config_json("edge-custom", std::slice::from_ref(&custom));
    let a = request(
        s.addr,
        "POST",
        &format!("/live/edge-{who}-custom/0.mp4"),
        &[("Livepeer-Transcode-Configuration", &header)],
        &bytes,
        bytes.len(),
    )
    .await;
    let got = parts(&a, &format!("{who} custom profile"));
    assert_eq!(got.len(), 1, "{who}: one part for one profile");
    let file = dir.join("custom.mp4");
    std::fs::write(&file, &got[0].1).unwrap();
    check_rendition(src, &file, &custom, &format!("{who} custom profile"));

    // The probe is `lpbridge probe`'s JSON, computed in this component.
    let a = http(s.addr, "POST", "/v1/probe", &bytes).await;
    assert_eq!(a.status, 200, "{who} probe");
    let host_probe = runtime().probe(&bytes).await.unwrap().unwrap();
    assert_eq!(
        a.json(),
        host_probe.to_json(),
        "{who}: probe as lpbridge probe prints it"
    );

    // The check is serve's JSON, computed in this component with its own
    // ladder: for a segment with quirks and for bytes that are no MP4.
    let host_ladder = lpbridge::ladder::select(&lpbridge::ladder::default_ladder(), RUNGS).unwrap();
    for bytes in [streamplace_segment("short-video.mp4"), bytes.clone(), vec![0x5a; 3000]] {
        let a = http(s.addr, "POST", "/v1/check", &bytes).await;
        assert_eq!(a.status, 200, "{who} check");
        let report = runtime().check(&bytes).await.unwrap();
        let rungs = lpbridge::check::profiles(&host_ladder, &report);
        assert_eq!(a.json(), report.to_json(&rungs), "{who}: check as serve answers it");
    }
    still_serving(&mut s, "the real segments").await;
}

/// `host` serving the component against the fake gateway in `mode`, which
/// hands the source's TS back (so nothing is verified), in a scratch
/// directory of its own for `case`.
async fn against_fake(host: Host, case: &str, mode: Mode) -> (FakeGateway, Served, PathBuf) {
    let dir = scratch(&format!("edge-{}-{case}", host.name()));
    let fake = FakeGateway::start(mode).await;
    let url = fake.url();
    let env = [
        ("LPBRIDGE_GATEWAY", url.as_str()),
        ("LPBRIDGE_RENDITIONS", RUNGS),
        ("LPBRIDGE_VERIFY", "off"),
    ];
    let served = Served::start(host, &component(&dir), &env, &dir);
    (fake, served, dir)
}

/// Bad input, a gateway that fails, a body over the limit, a missing
/// gateway: each gets serve's status and JSON, and the host serves on.
async fn refuses_as_serve_does(host: Host) {
    let who = host.name();
    let (fake, mut s, dir) = against_fake(host, "faults", Mode::NoSessions).await;
    let segment = std::fs::read(&sources()[0]).unwrap();

    // Random bytes: the typed media error, as serve words it.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let e = runtime().probe(&noise).await.unwrap().unwrap_err();
    for path in ["/live/m/1.mp4", "/v1/probe"] {
        let a = http(s.addr, "POST", path, &noise).await;
        assert_eq!(a.status, 400, "{who} {path}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(
            a.json(),
            serde_json::json!({
                "error": e.kind().as_str(),
                "message": e.to_string(),
            }),
            "{who} {path}"
        );
        still_serving(&mut s, "random bytes").await;
    }

    // A gateway that answers 503: 502, with its body.
    let a = http(s.addr, "POST", "/live/m/2.mp4", &segment).await;
    let serve = BridgeError::Transcode(lpbridge_contract::TranscodeError::Status {
        status: 503,
        body: "No sessions available".into(),
    });
    assert_eq!(a.status, 502, "{who}: {}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        a.json(),
        serde_json::json!({ "error": serve.kind().as_str(), "message": serve.to_string() }),
        "{who}"
    );
    still_serving(&mut s, "a 503 from the gateway").await;

    // A body over the limit is refused from its Content-Length, before it
    // is read: only 64 KiB of it is ever sent.
    let limit = 64usize << 20;
    let a = request(s.addr, "POST", "/live/m/3.mp4", &[], &segment[..64 << 10], limit + 1).await;
    assert_eq!(a.status, 413, "{who}: {}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        a.json(),
        serde_json::json!({ "error": "too-large", "message": format!("segment bodies are limited to {limit} bytes") }),
        "{who}"
    );
    still_serving(&mut s, "an oversized body").await;

    // A failure after the first part: the parts joined so far, and no
    // close delimiter, so the caller sees the truncation.
    fake.set_mode(Mode::Truncated);
    let a = http(s.addr, "POST", "/live/m/4.mp4", &segment).await;
    assert_eq!(a.status, 200, "{who}");
    // The first part came whole, as its Content-Length says; nothing
    // after it closes the answer.
    let head_end = a.body.windows(4).position(|w| w == b"\r\n\r\n").expect("a part head") + 4;
    let head = String::from_utf8_lossy(&a.body[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{who}: {head}"));
    assert!(head.contains("Rendition-Name: 720p"), "{who}: {head}");
    assert_eq!(
        a.body.len(),
        head_end + length,
        "{who}: the first part whole, then the end"
    );
    let cut = multipart::parse(a.header("content-type"), &a.body).unwrap_err();
    assert!(matches!(cut, multipart::MultipartError::Truncated(_)), "{who}: {cut}");
    still_serving(&mut s, "a gateway answer cut short").await;

    // The same segment, once the gateway answers: every part, closed.
    fake.set_mode(Mode::Passthrough);
    let a = http(s.addr, "POST", "/live/m/5.mp4", &segment).await;
    assert_eq!(parts(&a, who).len(), 2, "{who}");

    // Without LPBRIDGE_GATEWAY: 503 saying what to set; /healthz still 200.
    drop(s);
    let mut bare = Served::start(host, &component(&dir), &[], &dir);
    for path in ["/live/m/1.mp4", "/v1/probe"] {
        let a = http(bare.addr, "POST", path, &segment).await;
        assert_eq!(a.status, 503, "{who} {path}");
        assert_eq!(a.json()["error"], "not-configured", "{who} {path}");
        let message = a.json()["message"].as_str().unwrap().to_string();
        assert!(message.contains("set LPBRIDGE_GATEWAY"), "{who}: {message}");
        still_serving(&mut bare, "a request without a gateway").await;
    }

    // A setting the component cannot read: 503 naming it, as the host's own
    // configuration mechanism handed it over.
    drop(bare);
    let url = fake.url();
    let bad = [("LPBRIDGE_GATEWAY", url.as_str()), ("LPBRIDGE_MAX_BODY_MIB", "lots")];
    let mut misset = Served::start(host, &component(&dir), &bad, &dir);
    let a = http(misset.addr, "POST", "/v1/probe", &segment).await;
    assert_eq!(a.status, 503, "{who}: {}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["error"], "not-configured", "{who}");
    let message = a.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("LPBRIDGE_MAX_BODY_MIB"), "{who}: {message}");
    still_serving(&mut misset, "a bad setting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_serve_transcodes_real_segments() {
    transcodes_real_segments(Host::WasmtimeServe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_serve_refuses_as_serve_does() {
    refuses_as_serve_does(Host::WasmtimeServe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jco_transcodes_real_segments() {
    transcodes_real_segments(Host::Jco).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jco_refuses_as_serve_does() {
    refuses_as_serve_does(Host::Jco).await;
}

/// Each rendition leaves as soon as it is joined: with a gateway that sends
/// its first part and then holds the rest, the caller gets that part, a
/// whole MP4, while the gateway still holds the second. (`jco serve` streams
/// it too, but serves one request at a time, so the answer left open stops
/// it from serving the next: not run there.)
async fn streams_each_part(host: Host) {
    let who = host.name();
    let (fake, mut s, _dir) = against_fake(host, "streamed", Mode::Stalled).await;
    let segment = std::fs::read(&sources()[0]).unwrap();
    let (answer, part) = first_part(s.addr, "/live/streamed/0.mp4", &segment).await;
    assert_eq!(answer.status, 200, "{who}");
    assert!(answer.header("content-type").starts_with("multipart/mixed"), "{who}");
    let mp4 = lpbridge_media::probe(&part).unwrap_or_else(|e| panic!("{who}: the first part is no MP4: {e}"));
    assert!(mp4.video.is_some() && mp4.audio.is_some(), "{who}: {mp4:?}");
    // The gateway was asked once and still holds its second part. The TS
    // it got came whole, its length declared where the runtime's fetch
    // keeps a declared length on a streamed body (Deno's sends it chunked).
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{who}");
    let (headers, len) = (&seen[0].headers, seen[0].body_len);
    let declared = headers.get("content-length").map(String::as_str);
    let chunked = headers.get("transfer-encoding").map(String::as_str) == Some("chunked");
    assert!(
        declared == Some(len.to_string().as_str()) || (declared.is_none() && chunked),
        "{who}: {headers:?}"
    );
    let ts = lpbridge_media::split(&segment).unwrap().video_ts;
    assert_eq!(len, ts.len(), "{who}: the TS whole");
    still_serving(&mut s, "an answer left open").await;
}

/// The caller goes away while the gateway holds its answer: the request's
/// fetch is aborted and the component ends (its request line is logged),
/// instead of holding its instance until the gateway's next byte. Not under
/// workerd: local workerd 1.20261123.1 fires `request.signal` (with
/// `enable_request_signal`) only before the answer starts; there the
/// component stops at its next write, when the gateway's next part comes.
async fn a_caller_that_goes_ends_its_component(host: Host) {
    let who = host.name();
    // The gateway holds its answer for as long as it is there.
    let (_fake, mut s, _dir) = against_fake(host, "gone", Mode::Stalled).await;
    let segment = std::fs::read(&sources()[0]).unwrap();
    let path = "/live/gone/0.mp4";
    // The connection is dropped once the first part is in.
    let (answer, _) = first_part(s.addr, path, &segment).await;
    assert_eq!(answer.status, 200, "{who}");
    s.linear_memory(path);
    still_serving(&mut s, "a caller gone mid-answer").await;
}

/// A gateway that is down, with a segment whose TS is larger than the
/// queue between the component and the runtime's fetch: a 502 naming the
/// transport, never a component waiting on a body nobody reads.
async fn a_gateway_that_is_down_gives_502(host: Host) {
    let dir = scratch(&format!("edge-{}-down", host.name()));
    let who = host.name();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [("LPBRIDGE_GATEWAY", url.as_str()), ("LPBRIDGE_RENDITIONS", RUNGS)];
    let mut s = Served::start(host, &component(&dir), &env, &dir);
    let segment = streamplace_segment("duration-mismatch.mp4");
    assert!(lpbridge_media::split(&segment).unwrap().video_ts.len() > 1 << 20);
    let a = http(s.addr, "POST", "/live/down/0.mp4", &segment).await;
    assert_eq!(a.status, 502, "{who}: {}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["error"], "gateway-transport", "{who}: {}", a.json());
    still_serving(&mut s, "a gateway that is down").await;
}

/// The edge package's peak linear memory for `/live` stays within the
/// segment, its largest rendition and a fixed overhead: the TS is written to
/// the gateway as it is made, never whole beside the segment, and the
/// segment is gone before the first rendition comes.
async fn memory_stays_within_segment_and_rendition(host: Host) {
    let dir = scratch(&format!("edge-{}-memory", host.name()));
    let who = host.name();
    let gw = Gateway::start(([127, 0, 0, 1], 0).into(), GatewayOptions::default())
        .await
        .unwrap();
    let url = gw.url();
    let env = [("LPBRIDGE_GATEWAY", url.as_str()), ("LPBRIDGE_RENDITIONS", "240p")];
    let s = Served::start(host, &component(&dir), &env, &dir);
    let segments = [streamplace_segment("sample-segment.mp4"), heavy_segment(&dir)];
    for (i, segment) in segments.iter().enumerate() {
        let path = format!("/live/memory-{i}/0.mp4");
        let a = http(s.addr, "POST", &path, segment).await;
        let largest = parts(&a, who).iter().map(|(_, mp4, _)| mp4.len()).max().unwrap();
        let peak = s.linear_memory(&path);
        let bound = (segment.len() + largest) as u64 + EDGE_MEMORY_OVERHEAD;
        assert!(
            peak <= bound,
            "{who} {path}: linear memory peaked at {peak} bytes, over the segment ({}) + its largest rendition ({largest}) + {EDGE_MEMORY_OVERHEAD}",
            segment.len()
        );
    }
}

/// A segment whose TS dwarfs its renditions: 3 s of 640x360 at quantizer
/// 1, noise in every frame (about 39 MB), transcoded to 240p (about 1 MB).
/// Holding the TS beside the segment would pass the bound by some 20 MB.
fn heavy_segment(dir: &Path) -> Vec<u8> {
    let file = dir.join("heavy.mp4");
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-vf",
            "noise=alls=40:allf=t",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "1",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
            "-ac",
            "2",
        ])
        .arg(&file));
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 25 << 20, "the heavy segment is {} bytes", bytes.len());
    bytes
}

/// What the component holds beside the segment and the largest rendition:
/// its code's data and stack (1.1 MB before any request), the multipart
/// buffer's growth as the answer arrives (it depends on how the runtime
/// chunks the body: 2 MB to 10 MB for the 60 s file), the rendition's audio.
const EDGE_MEMORY_OVERHEAD: u64 = 12 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_memory_stays_within_segment_and_rendition() {
    memory_stays_within_segment_and_rendition(Host::Workerd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_memory_stays_within_segment_and_rendition() {
    memory_stays_within_segment_and_rendition(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_memory_stays_within_segment_and_rendition() {
    memory_stays_within_segment_and_rendition(Host::Bun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_serve_gives_502_for_a_gateway_that_is_down() {
    a_gateway_that_is_down_gives_502(Host::WasmtimeServe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_gives_502_for_a_gateway_that_is_down() {
    a_gateway_that_is_down_gives_502(Host::Workerd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_gives_502_for_a_gateway_that_is_down() {
    a_gateway_that_is_down_gives_502(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_gives_502_for_a_gateway_that_is_down() {
    a_gateway_that_is_down_gives_502(Host::Bun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_ends_the_component_of_a_caller_that_goes() {
    a_caller_that_goes_ends_its_component(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_ends_the_component_of_a_caller_that_goes() {
    a_caller_that_goes_ends_its_component(Host::Bun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_serve_streams_each_part() {
    streams_each_part(Host::WasmtimeServe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_transcodes_real_segments() {
    transcodes_real_segments(Host::Workerd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_refuses_as_serve_does() {
    refuses_as_serve_does(Host::Workerd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_streams_each_part() {
    streams_each_part(Host::Workerd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_transcodes_real_segments() {
    transcodes_real_segments(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_refuses_as_serve_does() {
    refuses_as_serve_does(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deno_streams_each_part() {
    streams_each_part(Host::Deno).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_transcodes_real_segments() {
    transcodes_real_segments(Host::Bun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_refuses_as_serve_does() {
    refuses_as_serve_does(Host::Bun).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bun_streams_each_part() {
    streams_each_part(Host::Bun).await;
}

/// A phone that turns and a frame rate that changes, with one caller
/// manifest and seqs in order, as a stateless caller sends them: the edge
/// sends each set of profiles to a gateway manifest of its own (the built-in
/// gateway fixes a manifest's profiles at its first segment), so every
/// segment comes back at the sizes it asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_serve_follows_a_phone_that_turns() {
    let host = Host::WasmtimeServe;
    let dir = scratch("edge-turning");
    let gw = Gateway::start(([127, 0, 0, 1], 0).into(), GatewayOptions::default())
        .await
        .unwrap();
    let url = gw.url();
    let rungs = "360p,160p";
    let env = [("LPBRIDGE_GATEWAY", url.as_str()), ("LPBRIDGE_RENDITIONS", rungs)];
    let s = Served::start(host, &component(&dir), &env, &dir);
    let ladder = ladder::select(&ladder::default_ladder(), rungs).unwrap();
    let mut manifests = Vec::new();
    for (seq, name) in TURNING_PHONE.iter().enumerate() {
        let bytes = streamplace_segment(name);
        let what = format!("segment {seq} ({name})");
        let a = http(s.addr, "POST", &format!("/live/phone/{seq}.mp4"), &bytes).await;
        let v = lpbridge_media::probe(&bytes).unwrap().video.unwrap();
        let asked = ladder::renditions(&ladder, v.width, v.height, v.frame_rate);
        let got = parts(&a, &what);
        assert_eq!(got.len(), asked.len(), "{what}");
        for ((n, mp4, resolution), p) in got.iter().zip(&asked) {
            assert_eq!(*resolution, format!("{}x{}", p.width, p.height), "{what} {n}");
            let file = dir.join(format!("{seq}-{n}.mp4"));
            std::fs::write(&file, mp4).unwrap();
            assert_eq!(ffprobe_size(&file), (p.width, p.height), "{what} {n}");
        }
        manifests.push(a.header("livepeer-manifest").to_string());
    }
    assert!(manifests[0].starts_with("phone-"), "{manifests:?}");
    // A manifest per set of profiles: new at each change, the same for the
    // same profiles (portrait again goes back to the first).
    let m = &manifests;
    assert!(
        m[0] != m[1] && m[1] == m[2] && m[2] != m[3] && m[3] != m[4] && m[4] == m[0],
        "{m:?}"
    );
}

/// The package is a `wrangler deploy` away: wrangler (run as
/// `scripts/edge-js deploy` runs it) takes `edge/js/wrangler.toml` and the
/// built package as they are, and would upload the very Worker and wasm
/// modules the workerd tests serve, with the settings as vars.
#[test]
fn wrangler_uploads_the_package_the_tests_serve() {
    let dir = scratch("edge-wrangler");
    let dist = lpbridge_tests::hosts::build_edge_js(&component(&dir), &dir);
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let toml = Path::new(env!("CARGO_MANIFEST_DIR")).join("../edge/js/wrangler.toml");
    std::fs::copy(&toml, pkg.join("wrangler.toml")).unwrap();
    let _ = std::fs::remove_dir_all(pkg.join("dist"));
    std::fs::rename(&dist, pkg.join("dist")).unwrap();
    let install = |what: &str| -> PathBuf {
        let out = run(Command::new(lpbridge_tests::hosts::edge_js()).args(["install", what]));
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    };
    let (wrangler, bun) = (install("wrangler"), install("bun"));
    let upload = dir.join("upload");
    let out = run(Command::new(bun)
        .arg(wrangler)
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&upload)
        .current_dir(&pkg)
        .env("WRANGLER_SEND_METRICS", "false"));
    let said = String::from_utf8_lossy(&out.stdout);
    for name in ["LPBRIDGE_RENDITIONS", "LPBRIDGE_MAX_BODY_MIB", "LPBRIDGE_VERIFY"] {
        assert!(said.contains(&format!("env.{name}")), "wrangler: {said}");
    }
    let mut served: Vec<String> = std::fs::read_dir(pkg.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n == "worker.js" || n.ends_with(".wasm"))
        .collect();
    served.sort();
    assert!(served.len() >= 2, "{served:?}");
    for name in &served {
        let sent = std::fs::read(upload.join(name)).unwrap_or_else(|e| panic!("wrangler would not upload {name}: {e}"));
        assert!(
            sent == std::fs::read(pkg.join("dist").join(name)).unwrap(),
            "{name} differs"
        );
    }
}
