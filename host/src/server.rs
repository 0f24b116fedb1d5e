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
use hyper::body::{Body, Incoming};
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use lpbridge_contract::reply::{ErrorKind, ErrorReply};

use crate::bridge::{Bridge, Place};
use crate::swap::Reloader;

pub struct Service {
    pub bridge: Arc<Bridge>,
    pub reloader: Arc<Reloader>,
    pub max_body: usize,
    pub routes: Routes,
}

/// Which routes a listener answers. `lpbridge serve` puts the public
/// ones on `--listen` and the admin ones on `--admin-listen` (loopback by
/// default), so that whoever can push a segment cannot swap the component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routes {
    /// `/v1/*`, `/metrics`, `/healthz`.
    Public,
    /// `/admin/*`, `/metrics`, `/healthz`.
    Admin,
    /// Both, on one listener (for embedding and tests).
    All,
}

impl Routes {
    fn public(self) -> bool {
        self != Routes::Admin
    }

    fn admin(self) -> bool {
        self != Routes::Public
    }
}

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, value: serde_json::Value) -> Reply {
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("a status and a static header make a response")
}

/// The contract's error reply: its kind, its status, its JSON.
fn error(reply: ErrorReply) -> Reply {
    let status = StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(reply.json())))
        .expect("a status and a static header make a response")
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

/// What the access log says of a request, filled in as it is served.
#[derive(Default)]
struct Trace {
    creator: Option<String>,
    place: Option<Place>,
    bytes_in: usize,
}

/// The routes this service answers; anything else is `other` in the log.
const ROUTES: [&str; 5] = ["/v1/segments", "/v1/check", "/metrics", "/healthz", "/admin/reload"];

/// The caller's `X-Request-Id` when it is a plain token (at most 64 of
/// `[A-Za-z0-9._-]`), else one of ours: 16 hex digits.
fn request_id(req: &Request<Incoming>) -> String {
    let theirs = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
    match theirs {
        Some(id) => id.to_string(),
        None => format!("{:016x}", crate::session::random()),
    }
}

impl Service {
    /// One request: routed, answered with its request id (and the
    /// segment's manifest and seq whenever it got them, errors included),
    /// and logged in one access-log line (`lpbridge::access`).
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, Infallible> {
        let started = std::time::Instant::now();
        let id = request_id(&req);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let route = ROUTES.iter().find(|r| **r == path).copied().unwrap_or("other");
        let span = tracing::info_span!("request", id = %id);
        let mut trace = Trace::default();
        let mut reply = self.route(req, &mut trace).instrument(span.clone()).await;
        let headers = reply.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&id) {
            headers.insert("x-request-id", v);
        }
        if let Some(p) = &trace.place {
            // The manifest passed the component's check ([A-Za-z0-9_-]+).
            if let Ok(v) = HeaderValue::from_str(&p.manifest) {
                headers.insert("livepeer-manifest", v);
            }
            headers.insert("livepeer-seq", HeaderValue::from(p.seq));
        }
        let bytes_out = reply.body().size_hint().exact().unwrap_or(0);
        span.in_scope(|| {
            tracing::info!(
                target: "lpbridge::access",
                method = %method,
                route,
                status = reply.status().as_u16(),
                bytes_in = trace.bytes_in,
                bytes_out,
                ms = started.elapsed().as_millis() as u64,
                creator = trace.creator.as_deref(),
                manifest = trace.place.as_ref().map(|p| p.manifest.as_str()),
                seq = trace.place.as_ref().map(|p| p.seq),
                "request"
            )
        });
        Ok(reply)
    }

    async fn route(&self, req: Request<Incoming>, trace: &mut Trace) -> Reply {
        let path = req.uri().path().to_string();
        let (public, admin) = (self.routes.public(), self.routes.admin());
        match (req.method(), path.as_str()) {
            (_, "/v1/segments" | "/v1/check") if !public => error(ErrorReply::not_found()),
            (_, "/admin/reload") if !admin => error(ErrorReply::not_found()),
            (&Method::POST, "/v1/segments") => self.segment(req, trace).await,
            (&Method::POST, "/v1/check") => self.check(req, trace).await,
            (&Method::GET, "/metrics") => {
                self.bridge.publish_load();
                Response::builder()
                    .header("Content-Type", "text/plain; version=0.0.4")
                    .body(Full::new(Bytes::from(self.bridge.metrics.render())))
                    .expect("a static header makes a response")
            }
            (&Method::GET, "/healthz") => self.health(),
            // What a load balancer's HEAD probe asks: the same status and
            // headers, no body.
            (&Method::HEAD, "/healthz") => {
                let mut reply = self.health();
                *reply.body_mut() = Full::new(Bytes::new());
                reply
            }
            (&Method::POST, "/admin/reload") => match self.reloader.reload().await {
                Ok(hash) => json(StatusCode::OK, serde_json::json!({ "component": hash })),
                Err(e) => error(ErrorReply::new(ErrorKind::ReloadRefused, format!("{e:#}"))),
            },
            (_, "/v1/segments" | "/v1/check" | "/metrics" | "/healthz" | "/admin/reload") => {
                error(ErrorReply::wrong_method())
            }
            _ => error(ErrorReply::not_found()),
        }
    }

    /// Liveness: the process answers. Each gateway's state is reported
    /// (`up`, `down`, or `unknown` before its first contact) for whoever
    /// decides readiness; it does not turn this into a failure.
    fn health(&self) -> Reply {
        let gateways: Vec<serde_json::Value> = self
            .bridge
            .gateway_states()
            .into_iter()
            .map(|(url, state)| serde_json::json!({ "url": url, "state": state.as_str() }))
            .collect();
        json(
            StatusCode::OK,
            serde_json::json!({
                "status": "ok",
                "component": self.bridge.runtime().hash,
                "contract": crate::components::CONTRACT,
                "sessions": self.bridge.sessions.len(),
                "gateways": gateways,
            }),
        )
    }

    /// The component's findings; a segment with errors is still a 200: the
    /// report is the answer.
    async fn check(&self, req: Request<Incoming>, trace: &mut Trace) -> Reply {
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(reply) => return error(reply),
        };
        trace.bytes_in = body.len();
        match crate::check::one(&self.bridge.runtime(), &body).await {
            Ok(report) => {
                let rungs = crate::check::profiles(&self.bridge.config().ladder, &report);
                json(StatusCode::OK, report.to_json(&rungs))
            }
            Err(e) => error(ErrorReply::new(ErrorKind::Component, format!("{e:#}"))),
        }
    }

    /// The request body within the limit, else the answer to give.
    async fn body(&self, req: Request<Incoming>) -> Result<Vec<u8>, ErrorReply> {
        match read_limited(req.into_body(), self.max_body).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(ErrorReply::body_too_large(self.max_body)),
            Err(e) => Err(ErrorReply::new(ErrorKind::BadRequest, format!("reading the body: {e}"))),
        }
    }

    /// A segment refused before the bridge saw it, counted as the bridge
    /// counts its own refusals.
    fn refuse(&self, reply: ErrorReply) -> Reply {
        self.bridge
            .metrics
            .refused
            .with_label_values(&[reply.kind.as_str()])
            .inc();
        error(reply)
    }

    async fn segment(&self, req: Request<Incoming>, trace: &mut Trace) -> Reply {
        let query = req.uri().query().unwrap_or("");
        let Some(creator) = query_param(query, "creator").and_then(decode).filter(|c| !c.is_empty()) else {
            return self.refuse(ErrorReply::new(
                ErrorKind::BadRequest,
                "the creator query parameter (a DID) is required",
            ));
        };
        trace.creator = Some(creator.clone());
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(reply) => return self.refuse(reply),
        };
        trace.bytes_in = body.len();
        let traced = self.bridge.transcode_traced(&creator, &body).await;
        trace.place = traced.place;
        match traced.result {
            Ok(t) => multipart(&t),
            Err(e) => error(ErrorReply::new(e.kind(), e.to_string())),
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
    // Its manifest and seq are set with every answer's, in `handle`.
    Response::builder()
        .header("Content-Type", format!("multipart/mixed; boundary={boundary}"))
        .body(Full::new(Bytes::from(body)))
        .expect("a static header and a hex boundary make a response")
}

/// Serves until SIGTERM (or `shutdown` resolves), then waits for the
/// requests in flight.
pub async fn serve(
    service: Arc<Service>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Sessions expire where segments arrive: one sweeper per bridge.
    let sweeper = service.routes.public().then(|| {
        let bridge = service.bridge.clone();
        tokio::spawn(async move {
            let idle = bridge.config().session_idle;
            loop {
                tokio::time::sleep(idle / 4).await;
                let gone = bridge.expire_sessions(idle);
                if gone > 0 {
                    tracing::info!(gone, "idle sessions expired");
                }
            }
        })
    });
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
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    graceful.shutdown().await;
    Ok(())
}
