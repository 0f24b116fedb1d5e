//! `lpbridge serve`: the bridge as an HTTP service.
//!
//! - `POST /v1/segments?creator=DID` with an MP4 body answers
//!   `multipart/mixed`, one MP4 part per rendition (`Rendition-Name`,
//!   `Content-Type: video/mp4`, `Content-Resolution`).
//! - Errors are JSON `{"error": kind, "message": …}`: 400 bad media, 413 too
//!   large, 429 backlog, 502 gateway faults, 504 gateway timeouts.
//! - `POST /v1/check` with an MP4 body answers its findings as JSON, as
//!   `lpbridge check --json` reports a segment.
//! - `GET /metrics`, `GET /healthz` (liveness), `GET /readyz`
//!   (readiness: 503 while draining or near the memory budget),
//!   `POST /admin/reload`.
//! - Each segment (and check) reserves its share of the memory budget
//!   before its body is read (`budget`), and holds it until its answer is
//!   written: one that would not fit gets 503 `over-budget` with
//!   `Retry-After` at once.
//!
//! Draining (`Draining`, set on SIGTERM) answers `/readyz` 503 and closes
//! each connection after its answer, while segments are still served;
//! `serve`'s `shutdown` then stops accepting and lets segments in flight
//! finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use lpbridge_contract::reply::{ErrorKind, ErrorReply};

use crate::bridge::{Bridge, Place};
use crate::budget::{Budget, Reservation};
use crate::swap::{Reloaded, Reloader};

pub struct Service {
    pub bridge: Arc<Bridge>,
    pub reloader: Arc<Reloader>,
    pub max_body: usize,
    pub routes: Routes,
    pub budget: Arc<Budget>,
    pub draining: Arc<Draining>,
    /// `--check-page`: the directory `/check/` serves.
    pub check_page: Option<std::path::PathBuf>,
}

/// Whether the host is draining: set once, on SIGTERM, and never unset.
#[derive(Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What `/readyz` says: whether a load balancer should send this host new
/// segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Its component passed its self-check (it serves only then) and it
    /// has room.
    Ready,
    /// Stopping: segments in flight finish, new ones belong elsewhere.
    Draining,
    /// Its segments in flight hold nine tenths of its memory budget.
    OverBudget,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::Draining => "draining",
            Readiness::OverBudget => "over-budget",
        }
    }
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

/// The contract's error reply: its kind (kept as an extension, for the
/// headers that follow from it), its status, its JSON.
fn error(reply: ErrorReply) -> Reply {
    let status = StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .extension(reply.kind)
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

/// What the access log says of a request, filled in as it is served, and
/// the memory it holds until its answer is written.
#[derive(Default)]
struct Trace {
    creator: Option<String>,
    place: Option<Place>,
    bytes_in: usize,
    reservation: Option<Reservation>,
}

/// The routes this service answers; anything else is `other` in the log.
/// Those under `/v1/` are public, those under `/admin/` on the admin
/// listener only.
const ROUTES: [&str; 9] = [
    "/v1/segments",
    "/v1/check",
    "/metrics",
    "/healthz",
    "/readyz",
    "/admin/reload",
    "/admin/canary",
    "/admin/promote",
    "/admin/components",
];

/// An answer's bytes, with the segment's reservation of the memory budget:
/// given back when hyper has written them and drops the body.
pub struct Held {
    body: Full<Bytes>,
    _reservation: Option<Reservation>,
}

impl Body for Held {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

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
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Response<Held>, Infallible> {
        let started = std::time::Instant::now();
        let id = request_id(&req);
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let route = ROUTES.iter().find(|r| **r == path).copied().unwrap_or("other");
        let span = tracing::info_span!("request", id = %id);
        let mut trace = Trace::default();
        let mut reply = self.route(req, &mut trace).instrument(span.clone()).await;
        let retry = retry_after(&reply);
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
        if let Some(seconds) = retry {
            headers.insert(hyper::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.draining.is_on() {
            // A client that keeps its connection would send its next
            // segment here again; a new one goes where the balancer says.
            headers.insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
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
        Ok(reply.map(|body| Held {
            body,
            _reservation: trace.reservation,
        }))
    }

    async fn route(&self, req: Request<Incoming>, trace: &mut Trace) -> Reply {
        let path = req.uri().path().to_string();
        let (public, admin) = (self.routes.public(), self.routes.admin());
        match (req.method(), path.as_str()) {
            (_, p) if p.starts_with("/v1/") && !public => error(ErrorReply::not_found()),
            (_, p) if p.starts_with("/admin/") && !admin => error(ErrorReply::not_found()),
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
            (&Method::GET, "/readyz") => self.ready(),
            // What a load balancer's HEAD probe asks: the same status and
            // headers, no body.
            (&Method::HEAD, "/healthz" | "/readyz") => {
                let mut reply = if path == "/healthz" {
                    self.health()
                } else {
                    self.ready()
                };
                *reply.body_mut() = Full::new(Bytes::new());
                reply
            }
            (&Method::POST, "/admin/reload") => match self.reloader.reload().await {
                Ok(Reloaded::Serving(hash)) => json(StatusCode::OK, serde_json::json!({ "component": hash })),
                Ok(Reloaded::Candidate(hash)) => json(StatusCode::OK, serde_json::json!({ "candidate": hash })),
                Err(e) => error(ErrorReply::new(ErrorKind::ReloadRefused, format!("{e:#}"))),
            },
            (&Method::POST, "/admin/canary") => self.canary(req).await,
            (&Method::POST, "/admin/promote") => match self.bridge.canary.promote() {
                Some(hash) => json(StatusCode::OK, serde_json::json!({ "component": hash })),
                None => error(ErrorReply::new(
                    ErrorKind::ReloadRefused,
                    "no candidate to promote (POST /admin/canary puts one on probation)",
                )),
            },
            (&Method::GET, "/admin/components") => json(StatusCode::OK, self.components()),
            // Relative to the directory: the page loads `check.js` beside it.
            (&Method::GET, "/check") if public => Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header("Location", crate::check_page::PREFIX)
                .body(Full::new(Bytes::new()))
                .expect("a status and a static header make a response"),
            (&Method::GET, p) if public && p.starts_with(crate::check_page::PREFIX) => {
                match crate::check_page::file(self.check_page.as_deref(), p).await {
                    Ok(file) => Response::builder()
                        .header("Content-Type", file.content_type)
                        .body(Full::new(file.bytes))
                        .expect("a static header makes a response"),
                    Err(e) => error(e),
                }
            }
            (_, p) if ROUTES.contains(&p) => error(ErrorReply::wrong_method()),
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
                "canary": self.bridge.canary.to_json(),
            }),
        )
    }

    /// Both components: the one serving and the candidate, with the last
    /// decision.
    fn components(&self) -> serde_json::Value {
        let serving = self.bridge.runtime();
        let since = self.bridge.serving.since();
        let canary = self.bridge.canary.to_json();
        serde_json::json!({
            "serving": {
                "sha256": serving.hash,
                "contract": crate::components::CONTRACT,
                "since_unix": crate::canary::unix(since),
            },
            "candidate": canary["candidate"],
            "last_decision": canary["last_decision"],
        })
    }

    /// `POST /admin/canary[?expect-diff=1]` with a component as the body:
    /// on probation, if it compiles, speaks this contract and passes the
    /// self-check.
    async fn canary(&self, req: Request<Incoming>) -> Reply {
        let query = req.uri().query().unwrap_or("");
        let expect_diff = match query_param(query, "expect-diff") {
            None => self.bridge.config().canary.expect_diff,
            Some("1" | "true") => true,
            Some("0" | "false") => false,
            Some(other) => {
                return error(ErrorReply::new(
                    ErrorKind::BadRequest,
                    format!("expect-diff is 1 or 0, not {other:?}"),
                ));
            }
        };
        let body = match read_limited(req.into_body(), self.max_body, None).await {
            Ok(Read::Whole(b)) => b,
            Ok(_) => return error(ErrorReply::body_too_large(self.max_body)),
            Err(e) => return error(ErrorReply::new(ErrorKind::BadRequest, format!("reading the body: {e}"))),
        };
        match self.reloader.canary(body, expect_diff).await {
            Ok(hash) => json(StatusCode::OK, serde_json::json!({ "candidate": hash })),
            Err(e) => error(ErrorReply::new(ErrorKind::ReloadRefused, format!("{e:#}"))),
        }
    }

    /// Readiness, for a load balancer: 200 while this host should get new
    /// segments, else 503 with the reason. It serves only once its
    /// component passed its self-check, so before that nothing answers.
    pub fn readiness(&self) -> Readiness {
        if self.draining.is_on() {
            Readiness::Draining
        } else if !self.budget.has_room() {
            Readiness::OverBudget
        } else {
            Readiness::Ready
        }
    }

    fn ready(&self) -> Reply {
        let readiness = self.readiness();
        let status = match readiness {
            Readiness::Ready => StatusCode::OK,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        json(
            status,
            serde_json::json!({
                "status": readiness.as_str(),
                "component": self.bridge.runtime().hash,
                "memory": {
                    "held_bytes": self.budget.held(),
                    "budget_bytes": self.budget.limit(),
                    "segments": self.budget.segments(),
                },
            }),
        )
    }

    /// The component's findings; a segment with errors is still a 200: the
    /// report is the answer.
    async fn check(&self, req: Request<Incoming>, trace: &mut Trace) -> Reply {
        let body = match self.admitted_body(req, trace).await {
            Ok(b) => b,
            Err(reply) => return self.refuse(reply),
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

    /// The request body within the body limit and the memory budget, with
    /// its reservation in `trace`, else the answer to give. A body whose
    /// `Content-Length` would not fit is refused before a byte of it is
    /// read (and then drained, unread, unless the client waits for a
    /// `100 Continue`); one without is reserved as it is read.
    async fn admitted_body(&self, req: Request<Incoming>, trace: &mut Trace) -> Result<Vec<u8>, ErrorReply> {
        let declared = req
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .filter(|n| *n <= self.max_body as u64);
        let expects = req.headers().get(hyper::header::EXPECT).is_some();
        let mut reservation = match self.budget.reserve(declared.unwrap_or(0)) {
            Ok(r) => r,
            Err(refused) => {
                if !expects {
                    let _ = read_limited(req.into_body(), 0, None).await;
                }
                return Err(ErrorReply::new(ErrorKind::OverBudget, refused.to_string()));
            }
        };
        let growing = declared.is_none().then_some(&mut reservation);
        let read = read_limited(req.into_body(), self.max_body, growing).await;
        trace.reservation = Some(reservation);
        match read {
            Ok(Read::Whole(b)) => {
                trace.bytes_in = b.len();
                Ok(b)
            }
            Ok(Read::TooLarge) => Err(ErrorReply::body_too_large(self.max_body)),
            Ok(Read::OverBudget(refused)) => Err(ErrorReply::new(ErrorKind::OverBudget, refused.to_string())),
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
        let body = match self.admitted_body(req, trace).await {
            Ok(b) => b,
            Err(reply) => return self.refuse(reply),
        };
        let traced = self.bridge.transcode_traced(&creator, &body).await;
        trace.place = traced.place;
        match traced.result {
            Ok(t) => {
                // The renditions and the reply made of them, beside the body.
                let renditions: usize = t.renditions.iter().map(|r| r.mp4.len()).sum();
                if let Some(r) = &mut trace.reservation {
                    r.at_least((body.len() + 2 * renditions) as u64);
                }
                multipart(&t)
            }
            Err(e) => error(ErrorReply::new(e.kind(), e.to_string())),
        }
    }
}

/// The `Retry-After` of an error reply, from its kind.
fn retry_after(reply: &Reply) -> Option<u32> {
    // Only error replies carry a kind; read it back from the status and
    // the JSON would be matching text, so the kind travels in an extension.
    reply.extensions().get::<ErrorKind>().and_then(|k| k.retry_after())
}

/// How much of an oversized body is read and dropped before answering 413,
/// so the client reads the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 64 << 20;

/// How reading a body ended.
enum Read {
    Whole(Vec<u8>),
    /// Over the body limit.
    TooLarge,
    /// Its reservation could not grow with it.
    OverBudget(crate::budget::Refused),
}

/// The body, unless it is over `max` or, read into `reservation` (a body
/// of undeclared length), over the memory budget: then what was read is
/// dropped and the rest drained, up to `DRAIN_LIMIT`, as a lingering close
/// would, so the client reads the answer rather than a reset.
async fn read_limited(
    mut body: Incoming,
    max: usize,
    mut reservation: Option<&mut Reservation>,
) -> Result<Read, hyper::Error> {
    let mut buf = Vec::with_capacity(body.size_hint().exact().map_or(0, |n| n.min(max as u64) as usize));
    let mut refused = None;
    let mut over = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else { continue };
        if over == 0 && buf.len() + data.len() <= max {
            match reservation.as_mut().map(|r| r.grow(data.len() as u64)) {
                Some(Err(r)) => refused = Some(r),
                _ => {
                    buf.extend_from_slice(&data);
                    continue;
                }
            }
        }
        buf = Vec::new();
        over += data.len();
        if over > DRAIN_LIMIT {
            break;
        }
    }
    Ok(match (over, refused) {
        (_, Some(r)) => Read::OverBudget(r),
        (0, None) => Read::Whole(buf),
        _ => Read::TooLarge,
    })
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
    // Closed, not only no longer accepted from: a connection the kernel
    // would still queue would wait for an answer that never comes.
    drop(listener);
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    graceful.shutdown().await;
    Ok(())
}
