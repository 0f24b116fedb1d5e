//! The push endpoint over HTTP/1.1, as go-livepeer's `HandlePush` answers
//! it: route `/live/`, POST or PUT, `.ts` or `.mp4`, the manifest and seq
//! read from the path, plain-text errors with upstream's status codes, and
//! a 200 only once the whole segment is transcoded, followed by a chunked
//! `multipart/mixed` body.
//!
//! Sessions are implicit, one per manifest, and expire after a minute
//! idle. As upstream, a session keeps the profiles of the request that
//! opened it unless a later one sets `forceSessionReinit`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::{Rendition, TranscodeConfig};
use crate::error::TranscodeError;
use crate::multipart;
use crate::transcode::{Container, transcode};

#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// go-livepeer's default is 10 sessions.
    pub max_sessions: usize,
    pub session_idle: Duration,
    /// Larger bodies get upstream's 500.
    pub max_body: usize,
    /// Segments transcoded at once; each uses a thread per rendition.
    pub parallel_segments: usize,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            max_sessions: 10,
            session_idle: Duration::from_secs(60),
            max_body: 300_000_000,
            parallel_segments: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

struct Session {
    renditions: Arc<Vec<Rendition>>,
    last_used: Instant,
}

struct State {
    options: GatewayOptions,
    sessions: Mutex<HashMap<String, Session>>,
    workers: Semaphore,
}

impl State {
    /// The profiles of `manifest`'s session, opening it (or, with
    /// `forceSessionReinit`, opening it again) from `config`; `None` when
    /// there are too many sessions or the profiles cannot be made.
    fn session_renditions(&self, manifest: &str, config: &TranscodeConfig) -> Option<Arc<Vec<Rendition>>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        expire(&mut sessions, self.options.session_idle);
        if let Some(s) = sessions.get_mut(manifest).filter(|_| !config.force_session_reinit) {
            s.last_used = Instant::now();
            return Some(s.renditions.clone());
        }
        if !sessions.contains_key(manifest) && sessions.len() >= self.options.max_sessions {
            tracing::warn!(%manifest, "too many sessions");
            return None;
        }
        let renditions = match config.renditions() {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::warn!(%manifest, error = %e, "bad profiles");
                return None;
            }
        };
        let session = Session {
            renditions: renditions.clone(),
            last_used: Instant::now(),
        };
        sessions.insert(manifest.to_string(), session);
        Some(renditions)
    }
}

/// A running gateway; dropping it stops accepting connections.
pub struct Gateway {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    /// Binds `listen` (port 0 picks one) and serves on the current runtime.
    pub async fn start(listen: SocketAddr, options: GatewayOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            workers: Semaphore::new(options.parallel_segments.max(1)),
            options,
            sessions: Mutex::new(HashMap::new()),
        });
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of descriptors, say: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(req, s.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        tracing::info!(%addr, "local Livepeer gateway listening");
        Ok(Gateway { addr, state, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Open sessions (after dropping the idle ones).
    pub fn sessions(&self) -> usize {
        let mut sessions = self.state.sessions.lock().unwrap_or_else(|e| e.into_inner());
        expire(&mut sessions, self.state.options.session_idle);
        sessions.len()
    }
}

pub type Body = BoxBody<Bytes, Infallible>;

/// An error answer as Go's `http.Error` writes it: text/plain, nosniff,
/// and a trailing newline.
pub fn text(status: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{msg}\n"))).boxed());
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        "content-type",
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert("x-content-type-options", http::HeaderValue::from_static("nosniff"));
    r
}

fn empty_ok() -> Response<Body> {
    Response::new(Full::new(Bytes::new()).boxed())
}

/// Sets the flag when the request's future is dropped (the client left),
/// so the transcode threads stop at their next picture.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Path → (manifest, seq, container), or upstream's 400 message.
pub fn parse_path(path: &str) -> Result<(String, u64, Container), String> {
    let ext = path
        .rfind('.')
        .map(|i| &path[i..])
        .filter(|e| !e.contains('/'))
        .unwrap_or("");
    let container = match ext {
        ".ts" => Container::Ts,
        ".mp4" => Container::Mp4,
        other => return Err(format!("ignoring file extension: {other}")),
    };
    let stem = &path[..path.len() - ext.len()];
    // Upstream's regexp `^[ /]*(stream/)?|(live/)?`, unanchored on `live/`.
    let trimmed = stem.trim_start_matches([' ', '/']);
    let trimmed = trimmed.strip_prefix("stream/").unwrap_or(trimmed);
    let cleaned = trimmed.replace("live/", "");
    let manifest = cleaned.split('/').next().unwrap_or("").to_string();
    if manifest.is_empty() {
        return Err("Bad URL".into());
    }
    let base = stem.rsplit('/').next().unwrap_or("");
    let seq = base.parse().unwrap_or(0);
    Ok((manifest, seq, container))
}

fn expire(sessions: &mut HashMap<String, Session>, idle: Duration) {
    sessions.retain(|_, s| s.last_used.elapsed() < idle);
}

/// Reads (and drops) what is left of a refused request's body, as Go's
/// server does, so a client still sending is not cut off mid-write.
async fn refuse(body: Incoming, limit: usize, status: StatusCode, msg: &str) -> Result<Response<Body>, Infallible> {
    let _ = Limited::new(body, limit).collect().await;
    Ok(text(status, msg))
}

/// One push, refused in go-livepeer's order (path, method, path shape,
/// configuration header, body, session, duration), then transcoded.
async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Response<Body>, Infallible> {
    let (head, body) = req.into_parts();
    let limit = state.options.max_body;
    let path = head.uri.path().to_string();
    if !path.starts_with("/live/") {
        return refuse(body, limit, StatusCode::NOT_FOUND, "404 page not found").await;
    }
    if head.method != Method::POST && head.method != Method::PUT {
        let msg = format!("http push request wrong method={} url={path}", head.method);
        return refuse(body, limit, StatusCode::METHOD_NOT_ALLOWED, &msg).await;
    }
    let (manifest, seq, container) = match parse_path(&path) {
        Ok(v) => v,
        Err(e) => return refuse(body, limit, StatusCode::BAD_REQUEST, &e).await,
    };
    let header = |name: &str| head.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let config = match header("livepeer-transcode-configuration") {
        None => TranscodeConfig::default(),
        Some(raw) => match TranscodeConfig::parse(&raw) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("failed to parse transcode config header: {e}");
                return refuse(body, limit, StatusCode::BAD_REQUEST, &msg).await;
            }
        },
    };
    let duration_ms = header("content-duration")
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(2000);
    let multipart_wanted = header("accept").as_deref() == Some("multipart/mixed");

    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    };

    let Some(renditions) = state.session_renditions(&manifest, &config) else {
        return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, "Could not create stream ID"));
    };

    if !(0..=300_000).contains(&duration_ms) {
        return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, "invalid duration"));
    }
    if renditions.is_empty() {
        return Ok(empty_ok());
    }

    let started = Instant::now();
    let Ok(_permit) = state.workers.acquire().await else {
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "No sessions available"));
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    let work = {
        let (body, renditions, cancel) = (body.clone(), renditions.clone(), cancel.clone());
        tokio::task::spawn_blocking(move || transcode(&body, container, &renditions, &cancel))
    };
    let outputs = match work.await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::warn!(%manifest, seq, error = %e, "transcode failed");
            return Ok(text(failure_status(&e), &e.to_string()));
        }
        Err(e) => return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    };
    tracing::info!(
        %manifest,
        seq,
        renditions = outputs.len(),
        ms = started.elapsed().as_millis() as u64,
        "segment transcoded"
    );
    if !multipart_wanted {
        return Ok(empty_ok());
    }

    Ok(multipart_answer(outputs, seq, container))
}

/// The renditions as go-livepeer frames them: one part each, then the
/// close delimiter, sent chunked.
fn multipart_answer(outputs: Vec<crate::transcode::Output>, seq: u64, container: Container) -> Response<Body> {
    let boundary = multipart::boundary();
    let mut chunks = VecDeque::with_capacity(outputs.len() * 2 + 1);
    for (i, out) in outputs.into_iter().enumerate() {
        let file = format!("{}_{seq}{}", out.name, container.extension());
        let head = multipart::part_head(&boundary, i, &out.name, &file, container.mime(), out.bytes.len());
        chunks.push_back(Bytes::from(head));
        chunks.push_back(Bytes::from(out.bytes));
    }
    chunks.push_back(Bytes::from(multipart::close(&boundary)));
    let mut r = Response::new(BodyExt::boxed(Chunks(chunks)));
    if let Ok(v) = http::HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
        r.headers_mut().insert("content-type", v);
    }
    r
}

/// The segment's fault (422) or ours (500).
fn failure_status(e: &TranscodeError) -> StatusCode {
    match e {
        TranscodeError::Media(_)
        | TranscodeError::NoKeyframes
        | TranscodeError::Decode { .. }
        | TranscodeError::Picture { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        TranscodeError::Codec(_) | TranscodeError::Cancelled => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A body of one frame per chunk, so hyper sends it chunked, as Go does.
pub struct Chunks(pub VecDeque<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_like_go_livepeer() {
        assert_eq!(parse_path("/live/abc/7.ts").unwrap(), ("abc".into(), 7, Container::Ts));
        assert_eq!(
            parse_path("/live/abc/x.mp4").unwrap(),
            ("abc".into(), 0, Container::Mp4)
        );
        // The leading `stream/` is only dropped before `live/` is.
        assert_eq!(parse_path("/live/stream/abc/3.ts").unwrap().0, "stream");
        // The unanchored `live/` is removed wherever it is.
        assert_eq!(parse_path("/live/olive/3.ts").unwrap().0, "o3");
        assert_eq!(
            parse_path("/live/abc/7.flv").unwrap_err(),
            "ignoring file extension: .flv"
        );
        assert_eq!(parse_path("/live/abc/7").unwrap_err(), "ignoring file extension: ");
        assert_eq!(parse_path("/live/.ts").unwrap_err(), "Bad URL");
    }
}
