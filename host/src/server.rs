//! `lpbridge serve`: the bridge as an HTTP service.
//!
//! - `POST /v1/segments?creator=DID` with an MP4 body answers
//!   `multipart/mixed`, one MP4 part per rendition (`Rendition-Name`,
//!   `Content-Type: video/mp4`, `Content-Resolution`).
//! - Errors are JSON `{"error": kind, "message": …}`: 400 bad media, 413 too
//!   large, 429 backlog, 502 gateway faults, 504 gateway timeouts.
//! - `POST /v1/check` with an MP4 body answers its findings as JSON, as
//!   `lpbridge check --json` reports a segment.
//! - `GET /metrics`, `GET /healthz`, `POST /admin/reload`.
//!
//! SIGTERM stops accepting and lets segments in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use crate::bridge::{Bridge, BridgeError};
use crate::swap::Reloader;

pub struct Service {
    pub bridge: Arc<Bridge>,
    pub reloader: Arc<Reloader>,
    pub max_body: usize,
}

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, value: serde_json::Value) -> Reply {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap()
}

fn error(status: StatusCode, kind: &str, message: &str) -> Reply {
    json(status, serde_json::json!({ "error": kind, "message": message }))
}

/// The HTTP status for a failed segment.
pub fn status_of(e: &BridgeError) -> StatusCode {
    match e {
        BridgeError::Media { kind: "too-large", .. } => StatusCode::PAYLOAD_TOO_LARGE,
        BridgeError::Media { .. } => StatusCode::BAD_REQUEST,
        BridgeError::Backlog(_) => StatusCode::TOO_MANY_REQUESTS,
        BridgeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        BridgeError::Gateway { .. }
        | BridgeError::Transport(_)
        | BridgeError::Answer(_)
        | BridgeError::Rendition { .. }
        | BridgeError::Mismatch { .. }
        | BridgeError::Denied(_) => StatusCode::BAD_GATEWAY,
        BridgeError::Component(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
}

/// Percent-decoding for a DID in a query string (`did%3Aplc%3A…`).
fn decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Service {
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, Infallible> {
        let path = req.uri().path().to_string();
        let reply = match (req.method(), path.as_str()) {
            (&Method::POST, "/v1/segments") => self.segment(req).await,
            (&Method::POST, "/v1/check") => self.check(req).await,
            (&Method::GET, "/metrics") => {
                self.bridge.publish_load();
                Response::builder()
                    .header("Content-Type", "text/plain; version=0.0.4")
                    .body(Full::new(Bytes::from(self.bridge.metrics.render())))
                    .unwrap()
            }
            (&Method::GET, "/healthz") => json(
                StatusCode::OK,
                serde_json::json!({
                    "status": "ok",
                    "component": self.bridge.runtime().hash,
                    "contract": crate::CONTRACT,
                    "sessions": self.bridge.sessions.len(),
                }),
            ),
            (&Method::POST, "/admin/reload") => match self.reloader.reload().await {
                Ok(hash) => json(StatusCode::OK, serde_json::json!({ "component": hash })),
                Err(e) => error(StatusCode::CONFLICT, "reload-refused", &format!("{e:#}")),
            },
            (_, "/v1/segments" | "/v1/check" | "/metrics" | "/healthz" | "/admin/reload") => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "see the README for the routes",
            ),
            _ => error(StatusCode::NOT_FOUND, "not-found", "no such route"),
        };
        Ok(reply)
    }

    /// The component's findings; a segment with errors is still a 200: the
    /// report is the answer.
    async fn check(&self, req: Request<Incoming>) -> Reply {
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(reply) => return reply,
        };
        match crate::check::one(&self.bridge.runtime(), &body).await {
            Ok(report) => {
                let rungs = crate::check::rungs(&self.bridge.config().ladder, &report);
                json(StatusCode::OK, crate::check::report_json(&report, &rungs))
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "component", &format!("{e:#}")),
        }
    }

    /// The request body within the limit, else the answer to give.
    async fn body(&self, req: Request<Incoming>) -> Result<Vec<u8>, Reply> {
        match read_limited(req.into_body(), self.max_body).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                &format!("segment bodies are limited to {} bytes", self.max_body),
            )),
            Err(e) => Err(error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                &format!("reading the body: {e}"),
            )),
        }
    }

    async fn segment(&self, req: Request<Incoming>) -> Reply {
        let query = req.uri().query().unwrap_or("");
        let Some(creator) = query_param(query, "creator").and_then(decode).filter(|c| !c.is_empty()) else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "the creator query parameter (a DID) is required",
            );
        };
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(reply) => return reply,
        };
        match self.bridge.transcode(&creator, &body).await {
            Ok(t) => multipart(&t),
            Err(e) => error(status_of(&e), e.kind(), &e.to_string()),
        }
    }
}

/// How much of an oversized body is read and dropped before answering 413,
/// so the client reads the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 64 << 20;

/// The body, or `None` when it is over `max` (the rest is drained, up to
/// `DRAIN_LIMIT`, as a lingering close would).
async fn read_limited(mut body: Incoming, max: usize) -> Result<Option<Vec<u8>>, hyper::Error> {
    let mut buf = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else { continue };
        if over == 0 && buf.len() + data.len() <= max {
            buf.extend_from_slice(&data);
            continue;
        }
        buf = Vec::new();
        over += data.len();
        if over > DRAIN_LIMIT {
            break;
        }
    }
    Ok((over == 0).then_some(buf))
}

/// The renditions as `multipart/mixed`, framed as go-livepeer frames its own.
fn multipart(t: &crate::bridge::Transcoded) -> Reply {
    let boundary = {
        use std::hash::{BuildHasher, Hasher};
        let word = || std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("{:016x}{:04x}", word(), word() & 0xffff)
    };
    let mut body = Vec::with_capacity(t.renditions.iter().map(|r| r.mp4.len() + 300).sum());
    for (i, r) in t.renditions.iter().enumerate() {
        body.extend_from_slice(if i == 0 { b"--" } else { b"\r\n--" });
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(
            format!(
                "\r\nContent-Disposition: attachment; filename=\"{n}.mp4\"\r\nContent-Length: {len}\r\nContent-Resolution: {w}x{h}\r\nContent-Type: video/mp4\r\nRendition-Name: {n}\r\n\r\n",
                n = r.name,
                len = r.mp4.len(),
                w = r.width,
                h = r.height
            )
            .as_bytes(),
        );
        body.extend_from_slice(&r.mp4);
    }
    if !t.renditions.is_empty() {
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    }
    let mut response = Response::builder().header("Content-Type", format!("multipart/mixed; boundary={boundary}"));
    if let Some(c) = &t.claim {
        response = response
            .header("Livepeer-Manifest", &c.manifest)
            .header("Livepeer-Seq", c.seq.to_string());
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

/// Serves until SIGTERM (or `shutdown` resolves), then waits for the
/// requests in flight.
pub async fn serve(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let sweeper = {
        let bridge = service.bridge.clone();
        tokio::spawn(async move {
            let idle = bridge.config().session_idle;
            loop {
                tokio::time::sleep(idle / 4).await;
                let gone = bridge.sessions.expire(idle);
                if gone > 0 {
                    tracing::info!(gone, "idle sessions expired");
                }
            }
        })
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer): (_, SocketAddr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let svc = service.clone();
                let conn = hyper::server::conn::http1::Builder::new().serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper::service::service_fn(move |req| svc.clone().handle(req)),
                );
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down: finishing the segments in flight");
    sweeper.abort();
    graceful.shutdown().await;
    Ok(())
}
