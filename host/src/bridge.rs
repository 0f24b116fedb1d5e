//! One segment, end to end: probe it in the sandbox, pick the renditions
//! from the ladder, claim the session's manifest and seq, and let the
//! component do the gateway round trip under this host's policy (allowed
//! origin, in-flight guard, timeouts). Every failure becomes a typed
//! `BridgeError` with a stable kind, counted and logged; no segment that
//! was accepted is dropped without one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use lpbridge_contract::{ErrorKind, MediaError, Mismatch, SegmentInfo, TranscodeError, TransportError, VideoInfo};

use crate::bindings::session::VerifyMode;
use crate::bindings::types::Mp4Layout;
use crate::canary::{self, Canary};
use crate::capture::Capture;
use crate::failover::{self, Contact, Gateways, Retry};
use crate::lock::Locked;
use crate::metrics::Metrics;
use crate::policy::{PolicyHooks, Refusal, Refusals, Sent, Timeouts};
use crate::runtime::{Answer, Destination, Runtime};
use crate::serving::Serving;
use crate::session::{Claim, Outcome, Session, Sessions, Ticket};
use lpbridge_contract::ladder::{self, Rung};

/// The longest wait between two attempts at a segment.
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The least time left for a retry to be worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct Config {
    /// In order: a session starts on the first, and moves on when one
    /// refuses it or cannot be reached.
    pub gateways: Vec<String>,
    pub ladder: Vec<Rung>,
    pub timeouts: Timeouts,
    /// The whole round trip, upload to last part (upstream: 5 min).
    pub request_timeout: Duration,
    pub in_flight: usize,
    pub max_waiting: usize,
    pub session_idle: Duration,
    pub rotate_after: u32,
    /// Renditions as fragmented MP4s (a `moof` per GOP) instead of
    /// progressive ones.
    pub fragmented: bool,
    /// Each rendition checked against its profile and the source: strict
    /// fails the segment, warn keeps it and counts the mismatch.
    pub verify: VerifyMode,
    /// Attempts after the first, for failures another attempt can mend
    /// (`failover::Retry`).
    pub retries: u32,
    /// The first backoff; each retry doubles it, up to 2 s, with jitter.
    pub retry_base: Duration,
    /// No attempt starts, and none runs, past this after the segment
    /// arrived.
    pub segment_deadline: Duration,
    /// A gateway whose connections fail is not tried for this long.
    pub gateway_cooldown: Duration,
    /// How a candidate component is sampled, compared and decided.
    pub canary: canary::Settings,
}

impl Config {
    pub fn new(gateway: &str) -> Self {
        Config {
            gateways: vec![gateway.to_string()],
            ladder: ladder::default_ladder(),
            timeouts: Timeouts::default(),
            request_timeout: Duration::from_secs(300),
            in_flight: 2,
            max_waiting: 2,
            session_idle: Duration::from_secs(60),
            rotate_after: 5,
            fragmented: false,
            verify: VerifyMode::Strict,
            retries: 2,
            retry_base: Duration::from_millis(200),
            segment_deadline: Duration::from_secs(30),
            gateway_cooldown: Duration::from_secs(10),
            canary: canary::Settings::default(),
        }
    }
}

/// Why a segment did not come back as renditions: the component's
/// [`TranscodeError`] as it gave it, or what only the host knows (its
/// limits, its refusals, its gateways). `kind()` is stable: it names
/// metrics labels and the service's JSON errors.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The component's answer, but for what the host names better: a
    /// timeout is the host's limit ([`BridgeError::Timeout`]), a refusal
    /// the host's reason ([`BridgeError::Backlog`], [`BridgeError::Denied`]).
    #[error(transparent)]
    Transcode(TranscodeError),
    #[error("backlog: {0} segments of this session already waiting")]
    Backlog(usize),
    #[error("the host refused a request to {0}")]
    Denied(String),
    #[error("{0}")]
    Timeout(Limit),
    /// The exchange with a gateway failed on the wire: which gateway, what
    /// the component met, and whether it was the TLS handshake (which the
    /// host's hooks saw: the component only hears a code).
    #[error("gateway transport: {}", unreachable_words(gateway, error, *tls))]
    Unreachable {
        gateway: String,
        error: TransportError,
        tls: bool,
    },
    /// The component could not make a request of the configured gateway
    /// URL: the host's own setting, so a transport failure.
    #[error("gateway transport: cannot address the gateway: {0}")]
    Unaddressable(String),
    /// No attempt: every gateway is cooling down; the last connection
    /// failure that put one there.
    #[error("gateway transport: every gateway is cooling down after connection failures (last: {0})")]
    NoneUp(String),
    #[error("component failed: {0:#}")]
    Component(anyhow::Error),
}

/// What an exchange with `gateway` met on the wire, in words an operator
/// reads: the gateway named, never a code's internal name alone.
fn unreachable_words(gateway: &str, error: &TransportError, tls: bool) -> String {
    if tls {
        return format!(
            "the TLS handshake with {gateway} failed: does it speak TLS on that port, with a certificate this host trusts?"
        );
    }
    match error {
        TransportError::ConnectionRefused => format!("connection refused by {gateway}"),
        TransportError::ConnectionTerminated => format!("{gateway} closed the connection before its answer ended"),
        TransportError::Denied => format!("the host refused the request to {gateway}"),
        // The timeouts are the host's limits, named as such (`Limit`);
        // any other code is the component's words for it.
        other => format!("{other} (gateway {gateway})"),
    }
}

/// Which of the host's limits a segment ran into, and its value: the
/// message names the flag that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Connect(Duration),
    FirstByte(Duration),
    BetweenBytes(Duration),
    /// One attempt's share of the request timeout and the segment deadline.
    Attempt(Duration),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, limit, flag) = match self {
            Limit::Connect(d) => (
                "no connection to the gateway within the connect limit",
                d,
                "--connect-timeout-ms",
            ),
            Limit::FirstByte(d) => (
                "no answer from the gateway within the first-byte limit",
                d,
                "--first-byte-timeout-ms",
            ),
            Limit::BetweenBytes(d) => (
                "the gateway's answer stalled past the between-bytes limit",
                d,
                "--between-bytes-timeout-ms",
            ),
            Limit::Attempt(d) => (
                "the gateway took longer than this attempt's limit",
                d,
                "--request-timeout-secs, --segment-deadline-ms",
            ),
        };
        write!(f, "{what}, {} ms ({flag})", limit.as_millis())
    }
}

impl BridgeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            BridgeError::Transcode(e) => e.kind(),
            BridgeError::Backlog(_) => ErrorKind::Backlog,
            BridgeError::Denied(_) => ErrorKind::Denied,
            BridgeError::Timeout(_) => ErrorKind::Timeout,
            BridgeError::Unreachable { error, .. } => error.kind(),
            BridgeError::Unaddressable(_) | BridgeError::NoneUp(_) => ErrorKind::GatewayTransport,
            BridgeError::Component(_) => ErrorKind::Component,
        }
    }

    /// Whether the segment was turned away before anything was sent to a
    /// gateway (its bytes, the session's backlog, the host's allow-list):
    /// those are counted apart from the attempts, so that an alert on
    /// errors over attempts reads the gateways' health, not the callers'.
    pub fn turned_away(&self) -> bool {
        matches!(
            self,
            BridgeError::Transcode(TranscodeError::Media(_)) | BridgeError::Backlog(_) | BridgeError::Denied(_)
        )
    }

    /// A refused push, as upstream counts them for rotation: the gateway
    /// said no (5xx, 422) or could not be reached.
    fn refused(&self) -> bool {
        match self {
            BridgeError::Transcode(TranscodeError::Status { status, .. }) => *status >= 500 || *status == 422,
            BridgeError::Unreachable { .. } | BridgeError::Unaddressable(_) | BridgeError::NoneUp(_) => true,
            _ => false,
        }
    }
}

/// A rendition, as the component returns it.
pub use lpbridge_contract::Rendition;

#[derive(Clone, Debug)]
pub struct Transcoded {
    pub claim: Option<Claim>,
    pub duration_ns: u64,
    pub width: u32,
    pub height: u32,
    /// What the gateway was asked for, in order.
    pub asked: Vec<ladder::Profile>,
    /// Shared, not copied, with the canary when it shadows the segment.
    pub renditions: Arc<[Rendition]>,
    pub elapsed: Duration,
    /// The part of `elapsed` spent waiting on the gateway (see
    /// `runtime::RoundTrip`); the rest is the host's overhead.
    pub gateway_wait: Duration,
}

/// Where a segment went in its session's stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub manifest: String,
    pub seq: u64,
}

/// A segment's result, and its place when it got one (a segment refused
/// for its bytes never does).
pub struct Traced {
    pub result: Result<Transcoded, BridgeError>,
    pub place: Option<Place>,
}

/// What every attempt at one segment shares.
struct Attempts<'a> {
    session: &'a Session,
    capture: &'a Option<Arc<Capture>>,
    refusals: &'a Arc<Refusals>,
    runtime: &'a Runtime,
    segment: &'a [u8],
    deadline: Instant,
    span: &'a tracing::Span,
}

pub struct Bridge {
    pub serving: Arc<Serving>,
    pub canary: Arc<Canary>,
    pub sessions: Sessions,
    pub metrics: Arc<Metrics>,
    config: Config,
    gateways: Gateways,
}

impl Bridge {
    pub fn new(runtime: Runtime, config: Config, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        // No `lpbridge_gateway_up` series before a gateway's first contact:
        // an absent series is "unknown", where a 1 would be a guess.
        let gateways = Gateways::new(&config.gateways, config.gateway_cooldown)?;
        let serving = Arc::new(Serving::new(runtime, metrics.clone()));
        Ok(Bridge {
            canary: Arc::new(Canary::new(config.canary, serving.clone(), metrics.clone())),
            serving,
            sessions: Sessions::new(config.in_flight, config.max_waiting),
            metrics,
            config,
            gateways,
        })
    }

    /// The component calls in flight keep the one they started with.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.serving.runtime()
    }

    /// Puts `runtime` in service for every call that starts from now on.
    pub fn swap(&self, runtime: Runtime) {
        self.serving.swap_in(Arc::new(runtime));
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Claims the next sequence number of `creator`'s session, now: call it
    /// in segment order, then `transcode_ticket` concurrently.
    pub fn ticket(&self, creator: &str) -> (Arc<Session>, Ticket) {
        let session = self.sessions.get(creator);
        let ticket = session.ticket();
        (session, ticket)
    }

    pub async fn transcode(&self, creator: &str, segment: &[u8]) -> Result<Transcoded, BridgeError> {
        self.transcode_traced(creator, segment).await.result
    }

    /// A segment, and where it went in its session's stream even when it
    /// failed: what an answer's `Livepeer-Manifest` and `Livepeer-Seq`
    /// say, and the access log.
    pub async fn transcode_traced(&self, creator: &str, segment: &[u8]) -> Traced {
        let ticket = self.ticket(creator);
        self.transcode_ticket(creator, ticket, segment).await
    }

    pub async fn transcode_ticket(
        &self,
        creator: &str,
        (session, ticket): (Arc<Session>, Ticket),
        segment: &[u8],
    ) -> Traced {
        let started = Instant::now();
        self.metrics.bytes_in.inc_by(segment.len() as u64);
        let mut place = None;
        let result = self
            .transcode_inner(creator, &session, ticket, segment, started, &mut place)
            .await;
        let (manifest, seq) = (
            place.as_ref().map(|p: &Place| p.manifest.as_str()),
            place.as_ref().map(|p| p.seq),
        );
        match &result {
            Ok(t) => {
                if t.claim.is_some() {
                    self.metrics.attempts.inc();
                }
                self.metrics
                    .bytes_out
                    .inc_by(t.renditions.iter().map(|r| r.mp4.len() as u64).sum());
            }
            Err(e) => {
                let kind = e.kind().as_str();
                if e.turned_away() {
                    self.metrics.refused.with_label_values(&[kind]).inc();
                } else {
                    self.metrics.attempts.inc();
                    self.metrics.errors.inc();
                }
                self.metrics.errors_by_kind.with_label_values(&[kind]).inc();
                tracing::warn!(creator, manifest, seq, kind, error = %e, "segment failed");
            }
        }
        self.publish_session(&session);
        Traced { result, place }
    }

    async fn transcode_inner(
        &self,
        creator: &str,
        session: &Session,
        ticket: Ticket,
        segment: &[u8],
        started: Instant,
        placed: &mut Option<Place>,
    ) -> Result<Transcoded, BridgeError> {
        let refusals = self.refusals();
        let deadline = started + self.config.segment_deadline;
        // A segment the canary shadows keeps the bytes of its exchange.
        let capture = self
            .canary
            .sampled(&session.label, ticket.place())
            .then(|| Arc::new(Capture::default()));
        // The segments before this one decide their manifests first; the
        // wait holds no instance (see `session`).
        let (turn, place) = ticket.turn().await;
        let Some(first) = self.gateways.pick(session.gateway(), None) else {
            return Err(self.none_up());
        };
        // Probed and sent from one instance: nothing between the two calls
        // waits on anything. Its request takes the guard's slot in the
        // segment's place.
        let runtime = self.runtime();
        let mut opened = runtime
            .open(PolicyHooks {
                place: Some(place),
                ..self.hooks(session, first, &refusals, &capture)
            })
            .await
            .map_err(|e| self.component_error(e))?;
        let (info, video, profiles) = match self.plan(&mut opened, segment).await {
            Ok(planned) => planned,
            Err(e) => {
                if let (Some(_), BridgeError::Transcode(TranscodeError::Media(m))) = (&capture, &e) {
                    self.shadow_job(None, segment, Err(m.clone()), None, None);
                }
                return Err(e);
            }
        };
        if profiles.is_empty() {
            // Nothing below the source: the gateway would answer 200 empty.
            return Ok(Transcoded {
                claim: None,
                duration_ns: info.duration_ns,
                width: video.width,
                height: video.height,
                asked: Vec::new(),
                renditions: Arc::new([]),
                elapsed: started.elapsed(),
                gateway_wait: Duration::ZERO,
            });
        }
        let claim = turn.claim(&profiles);
        let span = tracing::info_span!("segment", creator, manifest = %claim.manifest, seq = claim.seq);
        if let Some(r) = &claim.rotation {
            self.metrics
                .manifest_rotations
                .with_label_values(&[r.change.reason.label()])
                .inc();
            span.in_scope(|| {
                tracing::info!(
                    reason = r.change.reason.label(),
                    from = %r.from,
                    "a new manifest at seq 0: {}",
                    r.change.detail
                )
            });
        }
        placed.replace(Place {
            manifest: claim.manifest.clone(),
            seq: claim.seq,
        });
        let mut to = Destination {
            gateway: String::new(),
            manifest: claim.manifest.clone(),
            seq: claim.seq,
            profiles: profiles.iter().map(Into::into).collect(),
            layout: Mp4Layout::fragmented_if(self.config.fragmented),
            verify: self.config.verify,
        };
        let attempt = Attempts {
            session,
            refusals: &refusals,
            runtime: &runtime,
            segment,
            deadline,
            span: &span,
            capture: &capture,
        };
        let (result, gateway, gateway_wait) = self.attempts(attempt, opened, first, &mut to).await?;
        let _enter = span.enter(); // no await from here on
        self.report(session, &claim.manifest, gateway, &result);
        if let Some(q) = refusals.queued() {
            self.metrics
                .queued_transcode_duration_ms
                .with_label_values(&[creator])
                .set(q.as_secs_f64() * 1e3);
        }
        if let Err(BridgeError::Transcode(TranscodeError::Mismatch { name, mismatch })) = &result {
            self.count_mismatch(name, mismatch);
        }
        let result = result.map(|a| (a.info, Arc::<[Rendition]>::from(a.renditions)));
        if let Some(c) = &capture {
            let renditions = result.as_ref().ok().map(|(_, r)| r.clone());
            self.shadow_job(Some(claim.seq), segment, Ok(info.clone()), Some(c), renditions);
        }
        let (out_info, renditions) = result?;
        let elapsed = started.elapsed();
        self.joined(creator, &renditions, elapsed, gateway_wait);
        Ok(Transcoded {
            claim: Some(claim),
            duration_ns: out_info.duration_ns,
            width: video.width,
            height: video.height,
            asked: profiles,
            renditions,
            elapsed,
            gateway_wait,
        })
    }

    /// A shadowed segment to the canary: what the serving component made
    /// of it (its probe, and when it got that far the TS it sent and the
    /// answer it read, with the renditions served from it).
    fn shadow_job(
        &self,
        seq: Option<u64>,
        segment: &[u8],
        probed: Result<SegmentInfo, MediaError>,
        capture: Option<&Capture>,
        renditions: Option<Arc<[Rendition]>>,
    ) {
        let sent = capture.and_then(|c| c.sent.take());
        let answered = match (capture, renditions) {
            (Some(c), Some(renditions)) => c.answer.take().map(|body| canary::Answered {
                content_type: c.content_type.locked().clone().unwrap_or_default(),
                body,
                renditions,
            }),
            _ => None,
        };
        let job = canary::Job {
            seq,
            segment: segment.to_vec(),
            layout: Mp4Layout::fragmented_if(self.config.fragmented),
            probed,
            sent,
            answered,
        };
        self.canary.offer(job);
    }

    /// The segment as the component reads it, and what the ladder asks of
    /// its video.
    async fn plan(
        &self,
        opened: &mut crate::runtime::Opened<'_>,
        segment: &[u8],
    ) -> Result<(SegmentInfo, VideoInfo, Vec<ladder::Profile>), BridgeError> {
        let info = opened
            .probe(segment)
            .await
            .map_err(|e| self.component_error(e))?
            .map_err(|e| BridgeError::Transcode(TranscodeError::Media(e)))?;
        let video = info
            .video
            .clone()
            .ok_or(BridgeError::Transcode(TranscodeError::Media(MediaError::NoVideo)))?;
        let rate = video.frame_rate;
        let profiles = ladder::renditions(&self.config.ladder, video.width, video.height, rate);
        Ok((info, video, profiles))
    }

    /// The attempts at one segment: the first to the session's gateway
    /// (from the instance that probed it); a retry, while the budget and the
    /// deadline allow, to the next one that is up. Gives the last attempt's
    /// result, the gateway it went to, and the time spent waiting on
    /// gateways over all of them. `Err` only when no instance could be made.
    async fn attempts(
        &self,
        a: Attempts<'_>,
        first: crate::runtime::Opened<'_>,
        mut gateway: usize,
        to: &mut Destination,
    ) -> Result<(Result<Answer, BridgeError>, usize, Duration), BridgeError> {
        let mut retries = 0;
        let mut gateway_wait = Duration::ZERO;
        let mut next = Some(first);
        loop {
            to.gateway = self.gateways.get(gateway).url.clone();
            let opened = match next.take() {
                Some(o) => o,
                None => a
                    .runtime
                    .open(self.hooks(a.session, gateway, a.refusals, a.capture))
                    .await
                    .map_err(|e| self.component_error(e))?,
            };
            let limit = self
                .config
                .request_timeout
                .min(a.deadline.saturating_duration_since(Instant::now()));
            let outcome = tokio::time::timeout(
                limit,
                opened
                    .transcode(to, a.segment, limit + Duration::from_secs(1))
                    .instrument(a.span.clone()),
            )
            .await;
            let sent = a.refusals.take_sent();
            let result = match outcome {
                Err(_) => Err(BridgeError::Timeout(Limit::Attempt(limit))),
                Ok(Err(e)) => Err(self.component_error(e)),
                Ok(Ok(trip)) => {
                    gateway_wait += trip.gateway_wait;
                    trip.answer
                        .map_err(|e| self.classify(e, a.refusals.take(), &to.gateway, sent))
                }
            };
            let retry = Retry::of(sent).filter(|_| result.is_err());
            self.after_attempt(a.session, gateway, &result, sent, retry);
            let Some(why) = retry else {
                return Ok((result, gateway, gateway_wait));
            };
            match self.next_attempt(why, retries, gateway, a.deadline, a.span) {
                Some((other, wait)) => {
                    retries += 1;
                    tokio::time::sleep(wait).await;
                    gateway = other;
                }
                None => return Ok((result, gateway, gateway_wait)),
            }
        }
    }

    /// Where and when to retry after a failed attempt, counted and logged;
    /// `None` when the budget, the deadline or the gateways say stop.
    fn next_attempt(
        &self,
        why: Retry,
        retries: u32,
        gateway: usize,
        deadline: Instant,
        span: &tracing::Span,
    ) -> Option<(usize, Duration)> {
        if retries >= self.config.retries || Instant::now() >= deadline {
            return None;
        }
        // None when every gateway is cooling down.
        let other = self.gateways.pick(gateway + 1, Some(gateway))?;
        // A retry goes to another gateway where there is one: at once
        // after a connection failure, else after a backoff, which also
        // spaces out retries to a sole gateway. One that would start
        // with less than MIN_ATTEMPT left would only end as a timeout,
        // hiding the error before it.
        let wait = match why {
            Retry::Connect if other != gateway => Duration::ZERO,
            _ => failover::backoff(retries, self.config.retry_base, RETRY_MAX, crate::session::random()),
        };
        if Instant::now() + wait + MIN_ATTEMPT > deadline {
            return None;
        }
        self.metrics.retries.with_label_values(&[why.label()]).inc();
        if other != gateway {
            self.metrics.failovers.inc();
        }
        span.in_scope(|| {
            tracing::warn!(
                reason = why.label(),
                from = %self.gateways.get(gateway).url,
                to = %self.gateways.get(other).url,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            )
        });
        Some((other, wait))
    }

    /// A transcoded segment's logs and metrics.
    fn joined(&self, creator: &str, renditions: &[Rendition], elapsed: Duration, gateway_wait: Duration) {
        for r in renditions {
            let _rendition = tracing::info_span!("rendition", rendition = %r.name).entered();
            for m in &r.mismatches {
                self.count_mismatch(&r.name, m);
                tracing::warn!(what = m.what.as_str(), "rendition kept with a mismatch: {m}");
            }
            tracing::info!(
                width = r.width,
                height = r.height,
                frames = r.frames,
                bytes = r.mp4.len(),
                "rendition joined"
            );
        }
        tracing::info!(
            renditions = renditions.len(),
            ms = elapsed.as_millis() as u64,
            "segment transcoded"
        );
        self.metrics.successes.inc();
        self.metrics
            .transcode_duration_ms
            .with_label_values(&[creator])
            .observe(elapsed.as_secs_f64() * 1e3);
        self.metrics.gateway_wait_ms.observe(gateway_wait.as_secs_f64() * 1e3);
        self.metrics
            .host_overhead_ms
            .observe(elapsed.saturating_sub(gateway_wait).as_secs_f64() * 1e3);
    }

    /// The refusals of one segment, counted as they happen.
    fn refusals(&self) -> Arc<Refusals> {
        let metrics = self.metrics.clone();
        Refusals::with_listener(move |r| {
            let reason = match r {
                Refusal::NotAllowed(_) => "not-allowed",
                Refusal::Backlog(_) => "backlog",
            };
            metrics.denied.with_label_values(&[reason]).inc();
        })
    }

    /// What an attempt at `gateway` may do: reach that gateway only, in
    /// the session's slots, within the timeouts.
    fn hooks(
        &self,
        session: &Session,
        gateway: usize,
        refusals: &Arc<Refusals>,
        capture: &Option<Arc<Capture>>,
    ) -> PolicyHooks {
        PolicyHooks {
            allowed: Some(self.gateways.get(gateway).origin.clone()),
            guard: Some(session.guard.clone()),
            place: None,
            capture: capture.clone(),
            timeouts: self.config.timeouts,
            refusals: refusals.clone(),
        }
    }

    /// Every gateway is cooling down: the segment fails without an attempt,
    /// naming a connection failure that put one of them there.
    fn none_up(&self) -> BridgeError {
        let last = self.gateways.iter().find_map(|g| g.last_error()).unwrap_or_default();
        BridgeError::NoneUp(last)
    }

    /// What an attempt tells of its gateway: a connection failure cools
    /// it down (unless it is the only one: then there is nothing to turn
    /// to, and waiting would only drop segments); a success marks it up
    /// and keeps the session on it.
    fn after_attempt<T>(
        &self,
        session: &Session,
        gateway: usize,
        result: &Result<T, BridgeError>,
        sent: Option<Sent>,
        retry: Option<Retry>,
    ) {
        let g = self.gateways.get(gateway);
        if let Some(contact) = Contact::of(sent) {
            g.set_contact(contact);
            let up = i64::from(contact == Contact::Up);
            self.metrics.gateway_up.with_label_values(&[&g.url]).set(up);
        }
        match result {
            Ok(_) => {
                self.gateways.mark_up(gateway);
                session.set_gateway(gateway);
            }
            Err(e) if retry == Some(Retry::Connect) => {
                g.set_last_error(e.to_string());
                if self.gateways.len() > 1 {
                    self.gateways.mark_down(gateway);
                }
            }
            Err(_) => {}
        }
    }

    /// Each gateway's URL and what the last attempt at it met, for
    /// `/healthz`.
    pub fn gateway_states(&self) -> Vec<(String, Contact)> {
        self.gateways.iter().map(|g| (g.url.clone(), g.contact())).collect()
    }

    /// A segment's outcome, toward its manifest's rotation: only what the
    /// gateway did counts, a refused push (its last attempt refused), a
    /// rendition verification refused, or a success; a backlog, a denial or
    /// bad media says nothing of it. After `rotate_after` failures in a
    /// row: the next segment opens a fresh manifest at seq 0, on the next
    /// gateway.
    fn report<T>(&self, session: &Session, manifest: &str, gateway: usize, result: &Result<T, BridgeError>) {
        let outcome = match result {
            Ok(_) => Outcome::Transcoded,
            Err(BridgeError::Transcode(TranscodeError::Mismatch { .. })) => Outcome::Mismatch,
            Err(e) if e.refused() => Outcome::Refused,
            Err(_) => return,
        };
        if let Some(why) = session.report(manifest, outcome, self.config.rotate_after) {
            let next = (gateway + 1) % self.gateways.len();
            session.set_gateway(next);
            tracing::warn!(
                reason = why.reason.label(),
                gateway = %self.gateways.get(next).url,
                "{}: the next segment opens a fresh manifest",
                why.detail
            );
        }
    }

    fn count_mismatch(&self, rendition: &str, m: &Mismatch) {
        self.metrics
            .rendition_mismatch
            .with_label_values(&[rendition, m.what.as_str()])
            .inc();
    }

    fn component_error(&self, e: anyhow::Error) -> BridgeError {
        if e.downcast_ref::<wasmtime::Trap>().is_some() {
            self.metrics.traps.inc();
        }
        BridgeError::Component(e)
    }

    /// The component's error as the host reports it: a refusal by the
    /// host's reason, a transport failure by the host's limit or with its
    /// gateway and what the hooks saw (`sent`), the rest as it came.
    fn classify(&self, e: TranscodeError, refusals: Vec<Refusal>, gateway: &str, sent: Option<Sent>) -> BridgeError {
        // The guest only sees "request denied"; the host knows why.
        if let Some(r) = refusals.into_iter().next() {
            return match r {
                Refusal::Backlog(n) => BridgeError::Backlog(n),
                Refusal::NotAllowed(url) => BridgeError::Denied(url),
            };
        }
        match e {
            TranscodeError::Transport(t) => self.transport(t, gateway, sent),
            TranscodeError::InvalidTarget(why) => BridgeError::Unaddressable(why),
            e => BridgeError::Transcode(e),
        }
    }

    /// A transport failure: the host's limit it ran into, named; else the
    /// gateway it failed with, and whether the TLS handshake did.
    fn transport(&self, t: TransportError, gateway: &str, sent: Option<Sent>) -> BridgeError {
        let limits = &self.config.timeouts;
        let error = match t {
            TransportError::ConnectTimeout => return BridgeError::Timeout(Limit::Connect(limits.connect)),
            TransportError::FirstByteTimeout => return BridgeError::Timeout(Limit::FirstByte(limits.first_byte)),
            TransportError::BetweenBytesTimeout => {
                return BridgeError::Timeout(Limit::BetweenBytes(limits.between_bytes));
            }
            // One line, whatever a component sends.
            TransportError::Other(what) => TransportError::Other(what.lines().next().unwrap_or_default().to_string()),
            // A refusal the hooks did not record (the component's words say
            // so rather than guess), and the connection's own failures.
            t @ (TransportError::ConnectionRefused | TransportError::ConnectionTerminated | TransportError::Denied) => {
                t
            }
        };
        BridgeError::Unreachable {
            gateway: gateway.to_string(),
            error,
            tls: sent == Some(Sent::TlsFailed),
        }
    }

    /// Per-session in-flight and waiting gauges, for a scrape.
    pub fn publish_load(&self) {
        for (id, in_flight, waiting) in self.sessions.load() {
            self.set_load(&id, in_flight, waiting);
        }
    }

    /// One session's gauges, after its segment: every session's at each
    /// segment made the cost per segment grow with the sessions.
    fn publish_session(&self, session: &Session) {
        self.set_load(&session.label, session.guard.in_flight(), session.guard.waiting());
    }

    /// Drops the sessions idle for longer than `idle` with nothing in
    /// flight, and their series with them: a scrape shows the sessions
    /// there are, not every session there was.
    pub fn expire_sessions(&self, idle: Duration) -> usize {
        let gone = self.sessions.expire(idle);
        for s in &gone {
            let m = &self.metrics;
            // An absent series is not an error: it may never have been set.
            let _ = m.in_flight.remove_label_values(&[&s.label]);
            let _ = m.waiting.remove_label_values(&[&s.label]);
            let _ = m.transcode_duration_ms.remove_label_values(&[&s.did]);
            let _ = m.queued_transcode_duration_ms.remove_label_values(&[&s.did]);
        }
        gone.len()
    }

    fn set_load(&self, session_id: &str, in_flight: usize, waiting: usize) {
        self.metrics
            .in_flight
            .with_label_values(&[session_id])
            .set(in_flight as i64);
        self.metrics
            .waiting
            .with_label_values(&[session_id])
            .set(waiting as i64);
    }
}

/// One creator's segments sent in the order given: each claims its seq when
/// submitted and then runs on its own task, with never more queued than the
/// session's guard lets wait (in flight + `max_waiting`), so a long list
/// is not refused as a backlog.
pub struct InOrder {
    bridge: Arc<Bridge>,
    creator: String,
    room: Arc<tokio::sync::Semaphore>,
}

impl InOrder {
    pub fn new(bridge: Arc<Bridge>, creator: &str) -> Self {
        let room = bridge.config.in_flight + bridge.config.max_waiting;
        InOrder {
            bridge,
            creator: creator.to_string(),
            room: Arc::new(tokio::sync::Semaphore::new(room)),
        }
    }

    /// Waits for room, claims the next seq, and starts the round trip.
    pub async fn submit(&self, segment: Vec<u8>) -> tokio::task::JoinHandle<Result<Transcoded, BridgeError>> {
        let permit = self.room.clone().acquire_owned().await;
        let ticket = self.bridge.ticket(&self.creator);
        let (bridge, creator) = (self.bridge.clone(), self.creator.clone());
        tokio::spawn(async move {
            let traced = bridge.transcode_ticket(&creator, ticket, &segment).await;
            drop(permit);
            traced.result
        })
    }
}
