//! Prometheus metrics, with upstream's names (pkg/spmetrics) first and our
//! own after them.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// From guard acquisition to the end of the remux, success only.
    pub transcode_duration_ms: HistogramVec,
    pub queued_transcode_duration_ms: prometheus::GaugeVec,
    /// Segments sent to a gateway (whatever came of them).
    pub attempts: IntCounter,
    pub successes: IntCounter,
    /// Segments sent to a gateway that failed: with `attempts`, the
    /// gateways' error rate, which refusals do not dilute.
    pub errors: IntCounter,
    /// Every failed segment by its kind, refusals included.
    pub errors_by_kind: IntCounterVec,
    /// Segments turned away before anything was sent, by why: their bytes
    /// (the media kinds), their size (`too-large`), the request
    /// (`bad-request`), the session's backlog, the allow-list (`denied`).
    pub refused: IntCounterVec,
    pub in_flight: IntGaugeVec,
    pub waiting: IntGaugeVec,
    pub bytes_in: IntCounter,
    pub bytes_out: IntCounter,
    pub denied: IntCounterVec,
    /// Renditions that failed a check, under strict (segment failed) and
    /// warn (rendition kept) alike.
    pub rendition_mismatch: IntCounterVec,
    /// Attempts after the first, by why the one before failed.
    pub retries: IntCounterVec,
    /// Retries that went to another gateway.
    pub failovers: IntCounter,
    /// New manifests after a session's first, by why (`manifest::Reason`).
    pub manifest_rotations: IntCounterVec,
    /// 1 when the last attempt at a gateway got an answer, 0 when it
    /// could not connect; no series before its first contact.
    pub gateway_up: IntGaugeVec,
    pub traps: IntCounter,
    pub hot_swaps: IntCounter,
    pub component: IntGaugeVec,
    /// The part of a transcode spent waiting on the gateway, no instance
    /// held: from the request handed to the connection to the response
    /// head.
    pub gateway_wait_ms: Histogram,
    /// A transcode's duration minus its gateway wait: what this host adds.
    pub host_overhead_ms: Histogram,
    /// Segments a candidate component shadowed, by how it compared
    /// (`canary::Outcome`).
    pub canary_segments: IntCounterVec,
    /// Candidates promoted or rolled back, by why (`canary::Reason`).
    pub canary_decisions: IntCounterVec,
}

/// Every metric's name, help and labels are static and valid, and each is
/// registered once, in one fresh registry.
const STATIC: &str = "a static metric registers";

impl Metrics {
    /// Every metric with its name and help text, registered in one place
    /// in the order of the struct, which is why this is long: a list, not
    /// logic.
    pub fn new() -> Self {
        let registry = Registry::new();
        // Upstream's, without its `0` (nothing takes no time), and on to the
        // longest a segment may take: the default deadline is 30 s, and
        // `--segment-deadline-ms` may set more (+Inf holds the rest).
        let buckets = vec![
            250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0, 5000.0,
            7500.0, 10000.0, 15000.0, 20000.0, 30000.0, 60000.0,
        ];
        let m = Metrics {
            transcode_duration_ms: HistogramVec::new(
                HistogramOpts::new("streamplace_transcode_duration_ms", "Time to transcode a segment, ms")
                    .buckets(buckets.clone()),
                &["streamer"],
            )
            .expect(STATIC),
            queued_transcode_duration_ms: prometheus::GaugeVec::new(
                Opts::new(
                    "streamplace_queued_transcode_duration_ms",
                    "Time the last segment waited for a slot, ms",
                ),
                &["streamer"],
            )
            .expect(STATIC),
            attempts: IntCounter::new("streamplace_transcode_attempts_total", "Segments sent for transcoding")
                .expect(STATIC),
            successes: IntCounter::new("streamplace_transcode_successes_total", "Segments transcoded").expect(STATIC),
            errors: IntCounter::new("streamplace_transcode_errors_total", "Segments that failed").expect(STATIC),
            errors_by_kind: IntCounterVec::new(
                Opts::new(
                    "lpbridge_transcode_errors_by_kind_total",
                    "Failed segments by error kind",
                ),
                &["kind"],
            )
            .expect(STATIC),
            refused: IntCounterVec::new(
                Opts::new(
                    "lpbridge_segments_refused_total",
                    "Segments turned away before anything was sent to a gateway, by why",
                ),
                &["reason"],
            )
            .expect(STATIC),
            in_flight: IntGaugeVec::new(
                Opts::new("lpbridge_session_in_flight", "Segments in flight"),
                &["session"],
            )
            .expect(STATIC),
            waiting: IntGaugeVec::new(
                Opts::new("lpbridge_session_waiting", "Segments waiting for a slot"),
                &["session"],
            )
            .expect(STATIC),
            bytes_in: IntCounter::new("lpbridge_segment_bytes_in_total", "Segment bytes received").expect(STATIC),
            bytes_out: IntCounter::new("lpbridge_rendition_bytes_out_total", "Rendition bytes produced").expect(STATIC),
            denied: IntCounterVec::new(
                Opts::new("lpbridge_requests_refused_total", "Outgoing requests the host refused"),
                &["reason"],
            )
            .expect(STATIC),
            rendition_mismatch: IntCounterVec::new(
                Opts::new(
                    "lpbridge_rendition_mismatch_total",
                    "Renditions that disagreed with what was asked, by check",
                ),
                &["rendition", "what"],
            )
            .expect(STATIC),
            retries: IntCounterVec::new(
                Opts::new(
                    "lpbridge_retries_total",
                    "Attempts after the first, by the failure before",
                ),
                &["reason"],
            )
            .expect(STATIC),
            failovers: IntCounter::new("lpbridge_failovers_total", "Retries that went to another gateway")
                .expect(STATIC),
            manifest_rotations: IntCounterVec::new(
                Opts::new(
                    "lpbridge_manifest_rotations_total",
                    "New manifests opened after a session's first, by why",
                ),
                &["reason"],
            )
            .expect(STATIC),
            gateway_up: IntGaugeVec::new(
                Opts::new(
                    "lpbridge_gateway_up",
                    "1 if the last attempt at the gateway got an answer, 0 if it could not connect",
                ),
                &["gateway"],
            )
            .expect(STATIC),
            traps: IntCounter::new("lpbridge_component_traps_total", "Component calls that trapped").expect(STATIC),
            hot_swaps: IntCounter::new("lpbridge_component_swaps_total", "Components swapped in").expect(STATIC),
            component: IntGaugeVec::new(
                Opts::new("lpbridge_component_info", "The component serving, by version and hash"),
                &["version", "sha256"],
            )
            .expect(STATIC),
            gateway_wait_ms: Histogram::with_opts(
                HistogramOpts::new(
                    "lpbridge_gateway_wait_ms",
                    "Time a segment waited for the gateway's response head, ms",
                )
                .buckets(buckets.clone()),
            )
            .expect(STATIC),
            host_overhead_ms: Histogram::with_opts(
                HistogramOpts::new(
                    "lpbridge_host_overhead_ms",
                    "Time to transcode a segment minus the gateway wait, ms",
                )
                .buckets(vec![
                    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
                ]),
            )
            .expect(STATIC),
            canary_segments: IntCounterVec::new(
                Opts::new(
                    "lpbridge_canary_segments_total",
                    "Segments a candidate component shadowed, by how it compared",
                ),
                &["outcome"],
            )
            .expect(STATIC),
            canary_decisions: IntCounterVec::new(
                Opts::new(
                    "lpbridge_canary_decisions_total",
                    "Candidate components promoted or rolled back, by why",
                ),
                &["decision", "reason"],
            )
            .expect(STATIC),
            registry,
        };
        let r = &m.registry;
        r.register(Box::new(m.transcode_duration_ms.clone())).expect(STATIC);
        r.register(Box::new(m.queued_transcode_duration_ms.clone()))
            .expect(STATIC);
        r.register(Box::new(m.attempts.clone())).expect(STATIC);
        r.register(Box::new(m.successes.clone())).expect(STATIC);
        r.register(Box::new(m.errors.clone())).expect(STATIC);
        r.register(Box::new(m.errors_by_kind.clone())).expect(STATIC);
        r.register(Box::new(m.refused.clone())).expect(STATIC);
        r.register(Box::new(m.in_flight.clone())).expect(STATIC);
        r.register(Box::new(m.waiting.clone())).expect(STATIC);
        r.register(Box::new(m.bytes_in.clone())).expect(STATIC);
        r.register(Box::new(m.bytes_out.clone())).expect(STATIC);
        r.register(Box::new(m.denied.clone())).expect(STATIC);
        r.register(Box::new(m.rendition_mismatch.clone())).expect(STATIC);
        r.register(Box::new(m.retries.clone())).expect(STATIC);
        r.register(Box::new(m.failovers.clone())).expect(STATIC);
        r.register(Box::new(m.manifest_rotations.clone())).expect(STATIC);
        r.register(Box::new(m.gateway_up.clone())).expect(STATIC);
        r.register(Box::new(m.traps.clone())).expect(STATIC);
        r.register(Box::new(m.hot_swaps.clone())).expect(STATIC);
        r.register(Box::new(m.component.clone())).expect(STATIC);
        r.register(Box::new(m.gateway_wait_ms.clone())).expect(STATIC);
        r.register(Box::new(m.host_overhead_ms.clone())).expect(STATIC);
        r.register(Box::new(m.canary_segments.clone())).expect(STATIC);
        r.register(Box::new(m.canary_decisions.clone())).expect(STATIC);
        // The process's own: resident memory, CPU seconds, open files
        // (process_*), from /proc, where there is one.
        #[cfg(target_os = "linux")]
        r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .expect(STATIC);
        m
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect(STATIC);
        String::from_utf8(out).expect(STATIC)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
