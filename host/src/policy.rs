//! What the component may do over `wasi:http`, decided here and nowhere
//! else: one allowed origin (the configured gateway), the session's
//! in-flight guard around each request, and the connect and first-byte
//! timeouts. Every refusal is logged, counted, and noted in `Refusals` so
//! the host can give the caller a typed error rather than the guest's
//! generic "request denied".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks, default_send_request};

use crate::capture::Capture;
use crate::connect::{self, IoFuture};
use crate::guard::Guard;
use crate::line::Place;
use crate::lock::Locked;

/// scheme://host:port, lowercased, with the default port filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(url: &str) -> Option<Self> {
        let uri: http::Uri = url.parse().ok()?;
        Self::of(&uri)
    }

    pub fn of(uri: &http::Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        });
        Some(Origin(format!("{scheme}://{host}:{port}")))
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            // go-livepeer answers only after transcoding (#2125); its own
            // orchestrator timeout is max(8 s, 4 × duration).
            first_byte: Duration::from_secs(60),
            between_bytes: Duration::from_secs(30),
        }
    }
}

/// Why the host refused a request of this call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    NotAllowed(String),
    Backlog(usize),
}

/// What the last request of a call met on the wire, as the host's hooks
/// saw it: what decides whether another attempt is worth it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// No connection: refused, unreachable, or over the connect limit.
    ConnectFailed,
    /// Connected, but the connection ended before the response head.
    ResetBeforeHead,
    /// The TLS handshake failed: a gateway that does not speak TLS on that
    /// port, or a certificate refused. Another attempt would fail alike.
    TlsFailed,
    /// No response head within the first-byte limit.
    FirstByteTimeout,
    /// A response head with this status.
    Head(u16),
}

impl Sent {
    fn of(result: &Result<(http::Response<WasiBody>, IoFuture), HttpError>) -> Sent {
        match result {
            Ok((response, _)) => Sent::Head(response.status().as_u16()),
            Err(
                HttpError::Connect(_)
                | HttpError::ConnectionRefused
                | HttpError::ConnectionTimeout
                | HttpError::DnsTimeout
                | HttpError::DnsError { .. }
                | HttpError::DestinationNotFound
                | HttpError::DestinationUnavailable
                | HttpError::DestinationIpUnroutable,
            ) => Sent::ConnectFailed,
            Err(HttpError::ConnectionReadTimeout) => Sent::FirstByteTimeout,
            Err(
                HttpError::Tls(_)
                | HttpError::TlsProtocolError
                | HttpError::TlsCertificateError
                | HttpError::TlsAlertReceived { .. },
            ) => Sent::TlsFailed,
            Err(_) => Sent::ResetBeforeHead,
        }
    }
}

/// Who else hears of a refusal (metrics).
type Listener = Box<dyn Fn(&Refusal) + Send + Sync>;

/// The refusals of one call, and who else hears of them (metrics).
#[derive(Default)]
pub struct Refusals {
    list: Mutex<Vec<Refusal>>,
    listener: Option<Listener>,
    /// How long the last request waited for a guard slot.
    queued: Mutex<Option<Duration>>,
    /// What the last request met on the wire.
    sent: Mutex<Option<Sent>>,
}

impl Refusals {
    pub fn with_listener(f: impl Fn(&Refusal) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Refusals {
            list: Mutex::default(),
            listener: Some(Box::new(f)),
            queued: Mutex::default(),
            sent: Mutex::default(),
        })
    }

    fn note(&self, r: Refusal) {
        tracing::warn!(refusal = ?r, "outgoing request refused");
        if let Some(f) = &self.listener {
            f(&r);
        }
        self.list.locked().push(r);
    }

    pub fn take(&self) -> Vec<Refusal> {
        std::mem::take(&mut self.list.locked())
    }

    pub fn queued(&self) -> Option<Duration> {
        *self.queued.locked()
    }

    /// What the last request met, and forgets it (for the next attempt).
    pub fn take_sent(&self) -> Option<Sent> {
        self.sent.locked().take()
    }
}

/// The `WasiHttpHooks` of one call's store.
pub struct PolicyHooks {
    pub allowed: Option<Origin>,
    pub guard: Option<Arc<Guard>>,
    /// The segment's place in the line to the guard, taken by its first
    /// request; a retry's hooks have none.
    pub place: Option<Place>,
    /// Where the exchange's bytes are kept, for a segment the canary
    /// samples.
    pub capture: Option<Arc<Capture>>,
    pub timeouts: Timeouts,
    pub refusals: Arc<Refusals>,
}

impl PolicyHooks {
    /// Refuses everything: for calls that need no network.
    pub fn deny_all() -> Self {
        PolicyHooks {
            allowed: None,
            guard: None,
            place: None,
            capture: None,
            timeouts: Timeouts::default(),
            refusals: Arc::default(),
        }
    }
}

type SendFuture = Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send>;

/// Writes to a request body the host takes without waiting for the
/// connection, at wasmtime-wasi-http's 1 MiB each: 64 MiB, the service's
/// default segment limit. With the default one, `send` handed over the
/// first MiB of a larger TS and then waited for the connection, which
/// waits for the session's in-flight slot: the instance was held, and with
/// it another session's turn, until the gateway answered two segments.
pub const REQUEST_BODY_CHUNKS: usize = 64;

impl WasiHttpHooks for PolicyHooks {
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        REQUEST_BODY_CHUNKS
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: IoFuture,
    ) -> SendFuture {
        drop(fut);
        let origin = Origin::of(request.uri());
        if self.allowed.is_none() || origin != self.allowed {
            self.refusals.note(Refusal::NotAllowed(request.uri().to_string()));
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        // The host's timeouts bound whatever the guest asked for.
        let t = self.timeouts;
        let asked = options.unwrap_or_default();
        let bound = |a: Option<Duration>, limit: Duration| Some(a.map_or(limit, |a| a.min(limit)));
        let options = RequestOptions {
            connect_timeout: bound(asked.connect_timeout, t.connect),
            first_byte_timeout: bound(asked.first_byte_timeout, t.first_byte),
            between_bytes_timeout: bound(asked.between_bytes_timeout, t.between_bytes),
        };
        let request = match &self.capture {
            Some(c) => c.request(request),
            None => request,
        };
        let capture = self.capture.clone();
        let guard = self.guard.clone();
        let place = self.place.take();
        let refusals = self.refusals.clone();
        Box::new(async move {
            let waited = std::time::Instant::now();
            let slot = match &guard {
                Some(g) => match g.acquire(place).await {
                    Ok(slot) => {
                        *refusals.queued.locked() = Some(waited.elapsed());
                        Some(slot)
                    }
                    Err(b) => {
                        refusals.note(Refusal::Backlog(b.waiting));
                        return Err(HttpError::HttpRequestDenied);
                    }
                },
                None => None,
            };
            let sent = if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
                default_send_request(request, Some(options))
                    .await
                    .map(|(response, io)| (response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
            } else {
                connect::send_plain(request, options).await
            };
            // The response headers are here (or the request failed): the
            // slot goes back now, as upstream's Guard does.
            drop(slot);
            let sent = match (sent, &capture) {
                (Ok((response, io)), Some(c)) => Ok((c.response(response), io)),
                (sent, _) => sent,
            };
            *refusals.sent.locked() = Some(Sent::of(&sent));
            sent
        })
    }
}
