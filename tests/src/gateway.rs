//! A fake Livepeer gateway on loopback that speaks go-livepeer's push
//! protocol as `docs/gateway-protocol.md` describes it:
//! `/live/{manifest}/{seq}.ts|.mp4`, POST or PUT, the same plain-text
//! errors, and a 200 whose chunked `multipart/mixed` body has one part per
//! profile with sorted headers and a 20-hex boundary. Like go-livepeer, it
//! fixes a manifest's profiles at its first segment and answers every later
//! one with those, whatever the header says. It passes the TS it was sent
//! back as every rendition (a passthrough gateway), unless a fault mode
//! says otherwise, and records what it saw.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// How the gateway answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Passthrough,
    /// 503 "No sessions available".
    NoSessions,
    /// 422, as for a segment without keyframes.
    Unprocessable,
    /// 500, as for a failed processSegment.
    ServerError,
    /// A 200 whose body stops before the close delimiter.
    Truncated,
    /// A 200 whose body sends its first part and the second part's head
    /// (so the first is known to be whole), then nothing, with the
    /// connection left open.
    Stalled,
    /// Answers only after this long.
    Slow(Duration),
    /// The first part's bytes are not a transport stream.
    GarbagePart,
    /// The connection is dropped without an answer.
    Reset,
    /// 200 with an empty body and no multipart type (non-multipart Accept).
    NotMultipart,
    /// Each profile really transcoded to its size with ffmpeg, but only
    /// every other frame kept (timestamps as they were): an orchestrator
    /// that drops half the frames.
    DropHalfFrames,
}

/// One request as the gateway saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub manifest: String,
    pub seq: u64,
    pub headers: HashMap<String, String>,
    /// The header's profiles: (name, width, height).
    pub profiles: Vec<(String, u64, u64)>,
    pub body_len: usize,
}

#[derive(Default)]
struct State {
    seen: Vec<Seen>,
    in_flight: HashMap<String, usize>,
    max_in_flight: HashMap<String, usize>,
    /// The profiles each manifest was opened with.
    fixed: HashMap<String, Vec<(String, u64, u64)>>,
    /// Across all manifests.
    total: usize,
    max_total: usize,
}

pub struct FakeGateway {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Held before answering, so tests can see requests pile up.
    pub delay: Arc<Mutex<Duration>>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

use lpbridge_gateway::server::{Body, text};

impl FakeGateway {
    pub async fn start(mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let state = Arc::new(Mutex::new(State::default()));
        let (m, d, s) = (mode.clone(), delay.clone(), state.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (m, d, s) = (m.clone(), d.clone(), s.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, m.clone(), d.clone(), s.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeGateway {
            addr,
            mode,
            delay,
            state,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// The most requests of all manifests it ever held at once.
    pub fn max_total_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_total
    }

    /// The most requests of one manifest it ever held at once.
    pub fn max_in_flight(&self, manifest: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .max_in_flight
            .get(manifest)
            .copied()
            .unwrap_or(0)
    }
}

async fn handle(
    req: Request<Incoming>,
    mode: Arc<Mutex<Mode>>,
    delay: Arc<Mutex<Duration>>,
    state: Arc<Mutex<State>>,
) -> Result<Response<Body>, std::io::Error> {
    if !req.uri().path().starts_with("/live/") {
        return Ok(text(StatusCode::NOT_FOUND, "404 page not found"));
    }
    if req.method() != hyper::Method::POST && req.method() != hyper::Method::PUT {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "http push is only supported via POST or PUT",
        ));
    }
    // The built-in gateway's reading of the path, which its own tests
    // check against go-livepeer's rules.
    let (manifest, seq, ext) = match lpbridge_gateway::server::parse_path(req.uri().path()) {
        Ok((m, s, c)) => (m, s, c.extension()),
        Err(e) => return Ok(text(StatusCode::BAD_REQUEST, &e)),
    };
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let profiles: Vec<(String, u64, u64)> = match headers.get("livepeer-transcode-configuration") {
        None => vec![("P240p30fps4x3".into(), 320, 240), ("P360p30fps16x9".into(), 640, 360)],
        Some(raw) => match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(v) => v
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("profiles")))
                .and_then(|(_, p)| p.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    let size = |k: &str| p[k].as_u64().unwrap_or(0);
                    (
                        p["name"].as_str().unwrap_or("").to_string(),
                        size("width"),
                        size("height"),
                    )
                })
                .collect(),
            Err(e) => {
                return Ok(text(
                    StatusCode::BAD_REQUEST,
                    &format!("failed to parse transcode config header: {e}"),
                ));
            }
        },
    };
    let method = req.method().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let profiles = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            method,
            manifest: manifest.clone(),
            seq,
            headers: headers.clone(),
            profiles: profiles.clone(),
            body_len: body.len(),
        });
        let fixed = s.fixed.entry(manifest.clone()).or_insert(profiles).clone();
        let n = s.in_flight.entry(manifest.clone()).or_default();
        *n += 1;
        let n = *n;
        let max = s.max_in_flight.entry(manifest.clone()).or_default();
        *max = (*max).max(n);
        s.total += 1;
        s.max_total = s.max_total.max(s.total);
        fixed
    };
    let wait = *delay.lock().unwrap();
    let mode = mode.lock().unwrap().clone();
    if let Mode::Slow(d) = &mode {
        tokio::time::sleep(*d).await;
    }
    tokio::time::sleep(wait).await;
    {
        let mut s = state.lock().unwrap();
        *s.in_flight.get_mut(&manifest).unwrap() -= 1;
        s.total -= 1;
    }

    let answer = match mode {
        Mode::NoSessions => text(StatusCode::SERVICE_UNAVAILABLE, "No sessions available"),
        Mode::Unprocessable => text(StatusCode::UNPROCESSABLE_ENTITY, "no keyframes in segment"),
        Mode::ServerError => text(StatusCode::INTERNAL_SERVER_ERROR, "processSegment failed"),
        Mode::Reset => {
            return Err(std::io::Error::other("connection reset by the fake gateway"));
        }
        Mode::NotMultipart => Response::new(Full::new(Bytes::new()).boxed()),
        _ if headers.get("accept").map(String::as_str) != Some("multipart/mixed") => {
            Response::new(Full::new(Bytes::new()).boxed())
        }
        _ if profiles.is_empty() => Response::new(Full::new(Bytes::new()).boxed()),
        Mode::DropHalfFrames => {
            let mut parts = Vec::new();
            for (name, width, height) in profiles {
                let ts = body.clone();
                let half = tokio::task::spawn_blocking(move || every_other_frame(&ts, width, height))
                    .await
                    .unwrap();
                parts.push((name, half));
            }
            multipart(parts, seq, ext, &Mode::DropHalfFrames)
        }
        ref m => {
            let data = |i: usize| match m {
                Mode::GarbagePart if i == 0 => Bytes::from(vec![0x5au8; 1000]),
                _ => body.clone(),
            };
            let parts = profiles
                .into_iter()
                .enumerate()
                .map(|(i, (name, ..))| (name, data(i)))
                .collect();
            multipart(parts, seq, ext, m)
        }
    };
    Ok(answer)
}

/// The 200 answer, framed as go-livepeer's mime/multipart writer does and
/// sent in chunks.
fn multipart(parts: Vec<(String, Bytes)>, seq: u64, ext: &str, mode: &Mode) -> Response<Body> {
    let boundary = lpbridge_gateway::multipart::boundary();
    let mut chunks: Vec<Bytes> = Vec::new();
    for (i, (name, data)) in parts.into_iter().enumerate() {
        let file = format!("{name}_{seq}{ext}");
        let head = lpbridge_gateway::multipart::part_head(&boundary, i, &name, &file, "video/mp2t", data.len());
        chunks.push(Bytes::from(head));
        chunks.push(data);
    }
    if *mode == Mode::Stalled {
        chunks.truncate(3);
        return Response::builder()
            .header("Content-Type", format!("multipart/mixed; boundary={boundary}"))
            .body(BodyExt::boxed(StallAfter(lpbridge_gateway::server::Chunks(
                chunks.into(),
            ))))
            .unwrap();
    }
    if *mode != Mode::Truncated {
        chunks.push(Bytes::from(lpbridge_gateway::multipart::close(&boundary)));
    }
    Response::builder()
        .header("Content-Type", format!("multipart/mixed; boundary={boundary}"))
        .body(BodyExt::boxed(lpbridge_gateway::server::Chunks(chunks.into())))
        .unwrap()
}

/// The TS scaled to `width`x`height` by ffmpeg, with every other frame
/// dropped and the kept ones at their own timestamps.
fn every_other_frame(ts: &[u8], width: u64, height: u64) -> Bytes {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = crate::scratch(&format!("drop-half-frames-{}-{n}", std::process::id()));
    let (input, output) = (dir.join("in.ts"), dir.join("out.ts"));
    std::fs::write(&input, ts).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-copyts", "-i"])
        .arg(&input)
        .args(["-an", "-vf"])
        .arg(format!("select=not(mod(n\\,2)),scale={width}:{height}"))
        .args([
            "-fps_mode",
            "passthrough",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "0",
        ])
        .args(["-f", "mpegts"])
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not drop frames");
    Bytes::from(std::fs::read(&output).unwrap())
}

/// Its chunks, then nothing, ever.
struct StallAfter(lpbridge_gateway::server::Chunks);

impl hyper::body::Body for StallAfter {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match std::pin::Pin::new(&mut self.0).poll_frame(cx) {
            std::task::Poll::Ready(None) => std::task::Poll::Pending,
            other => other,
        }
    }
}
