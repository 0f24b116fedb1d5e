//! A new component on probation: it shadows the one serving on live
//! segments and is promoted or rolled back on its own.
//!
//! - **Sampled per creator.** A share of each creator's segments, evenly
//!   spaced in its stream from a phase of its own (`sampled`), so every
//!   stream is compared, not only the busiest.
//! - **Off the request's path.** A sampled segment's bytes, the TS the
//!   serving component sent and the gateway's answer it read (kept as they
//!   passed through the host, without a copy: `capture`), and the
//!   renditions it served (shared) go into a queue of `QUEUE` jobs; when it
//!   is full the job is dropped and counted. One thread of its own, at the
//!   lowest priority (`SCHED_IDLE`), runs the queue, one call at a time, on
//!   the candidate and on a reference copy of the serving component (for
//!   the timing), each in a pool of its own: the shadow never takes an
//!   instance, a tokio worker or CPU a live call wants, nor a lock one
//!   takes (its results are recorded on the runtime that started it), and
//!   the gateway is never asked twice.
//! - **Compared on what users get.** The candidate's probe, its TS and
//!   each rendition it joins from the very answer, byte for byte with what
//!   was served; where they differ, the first difference in one line,
//!   structural where it can be (the two renditions probed field by field).
//! - **Decided.** Rolled back at the first difference (unless differences
//!   are expected), trap, or typed error where the serving component
//!   succeeded, or when its median time over `WINDOW` segments passes the
//!   allowed ratio of the reference's; promoted after enough agreeing
//!   segments, by the existing swap (calls running finish on the old one).

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::bindings::types::{JoinOptions, Mp4Layout};
use crate::capture::Frames;
use crate::lock::Locked;
use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::serving::Serving;
use lpbridge_contract::{MediaError, Rendition, SegmentInfo};

/// Sampled segments waiting for the shadow; more are dropped.
pub const QUEUE: usize = 8;

/// Segments over which the candidate's time is compared.
pub const WINDOW: usize = 20;

/// How a canary samples and decides.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// A reload (a changed file, SIGHUP, `POST /admin/reload`) puts the
    /// new component on probation instead of in service.
    pub on_reload: bool,
    /// Percent of each creator's segments shadowed, 1 to 100.
    pub share: u32,
    /// Agreeing segments before a promotion.
    pub promote_after: u64,
    /// The most the candidate's median time may be, as a multiple of the
    /// serving component's, over `WINDOW` segments.
    pub max_slowdown: f64,
    /// Differences are reported, not a reason to roll back.
    pub expect_diff: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_reload: false,
            share: 10,
            promote_after: 100,
            max_slowdown: 2.0,
            expect_diff: false,
        }
    }
}

/// What the serving component did with a sampled segment.
pub struct Job {
    pub seq: Option<u64>,
    pub segment: Vec<u8>,
    pub layout: Mp4Layout,
    pub probed: Result<SegmentInfo, MediaError>,
    /// The TS it sent, whole.
    pub sent: Option<Frames>,
    pub answered: Option<Answered>,
}

/// The gateway's answer as the serving component read it, and the
/// renditions it served from it.
pub struct Answered {
    pub content_type: String,
    pub body: Frames,
    pub renditions: Arc<[Rendition]>,
}

/// How one shadowed segment compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Agreed,
    Differed,
    /// The candidate trapped or ran out of a limit of its sandbox.
    Trapped,
    /// A typed error where the serving component succeeded.
    Failed,
    /// The queue was full.
    Dropped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Agreed => "agreed",
            Outcome::Differed => "differed",
            Outcome::Trapped => "trapped",
            Outcome::Failed => "failed",
            Outcome::Dropped => "dropped",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Promoted,
    RolledBack,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Promoted => "promoted",
            Decision::RolledBack => "rolled-back",
        }
    }
}

/// Why a candidate was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Enough segments agreed.
    Agreed,
    /// `POST /admin/promote`.
    Operator,
    /// Another candidate took its place.
    Replaced,
    Differed,
    Trapped,
    Failed,
    Slower,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Agreed => "agreed",
            Reason::Operator => "operator",
            Reason::Replaced => "replaced",
            Reason::Differed => "differed",
            Reason::Trapped => "trapped",
            Reason::Failed => "failed",
            Reason::Slower => "slower",
        }
    }
}

/// The first thing a candidate did otherwise than the serving component:
/// `seq 41, rendition 360p: audio start_ns 6500000 vs 0` (serving first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub seq: Option<u64>,
    /// Which output: `probe`, `TS`, or a rendition by name.
    pub output: String,
    pub what: String,
    pub serving: String,
    pub candidate: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(seq) = self.seq {
            write!(f, "seq {seq}, ")?;
        }
        write!(
            f,
            "{}: {} {} vs {}",
            self.output, self.what, self.serving, self.candidate
        )
    }
}

/// How many shadowed segments came out each way.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub agreed: u64,
    pub differed: u64,
    pub trapped: u64,
    pub failed: u64,
    pub dropped: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Agreed => self.agreed += 1,
            Outcome::Differed => self.differed += 1,
            Outcome::Trapped => self.trapped += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Dropped => self.dropped += 1,
        }
    }

    fn to_json(self) -> Value {
        json!({
            "agreed": self.agreed,
            "differed": self.differed,
            "trapped": self.trapped,
            "failed": self.failed,
            "dropped": self.dropped,
        })
    }
}

/// A component under comparison.
pub struct Candidate {
    /// With the serving limits: it serves as it is once promoted.
    pub runtime: Arc<Runtime>,
    /// The serving component's copy the shadow times against.
    reference: Runtime,
    pub since: SystemTime,
    pub expect_diff: bool,
    state: Mutex<Probation>,
    jobs: tokio::sync::mpsc::Sender<Job>,
    /// Set once it is decided: what the shadow reads, without a lock.
    ended: AtomicBool,
    /// Wakes the shadow waiting for a job once it is decided, so that its
    /// thread ends (no job comes for a candidate that is gone).
    end: tokio::sync::Notify,
}

#[derive(Default)]
struct Probation {
    counts: Counts,
    /// candidate time / reference time, the last `WINDOW`.
    ratios: VecDeque<f64>,
    first_difference: Option<Difference>,
    decided: bool,
}

/// A decision, as `/admin/components` reports the last one.
#[derive(Clone, Debug)]
pub struct Decided {
    pub component: String,
    pub decision: Decision,
    pub reason: Reason,
    pub difference: Option<Difference>,
    pub counts: Counts,
    pub at: SystemTime,
}

/// The canary of one bridge: its settings, its candidate, its last
/// decision.
pub struct Canary {
    pub settings: Settings,
    /// What a promotion swaps.
    serving: Arc<Serving>,
    metrics: Arc<Metrics>,
    /// The candidate and the last decision, changed together: whoever
    /// sees no candidate any more sees its decision.
    state: Mutex<Probations>,
    /// What each session's phase is drawn from: per process, so that which
    /// segments are compared is not the same on every host.
    key: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Probations {
    current: Option<Arc<Candidate>>,
    last: Option<Decided>,
}

/// Seconds since the Unix epoch, as the admin routes report times.
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Canary {
    pub fn new(settings: Settings, serving: Arc<Serving>, metrics: Arc<Metrics>) -> Self {
        Canary {
            settings,
            serving,
            metrics,
            state: Mutex::default(),
            key: std::collections::hash_map::RandomState::new(),
        }
    }

    pub fn candidate(&self) -> Option<Arc<Candidate>> {
        self.state.locked().current.clone()
    }

    /// Whether the segment at `place` in the stream of `session` is
    /// shadowed: the share of each stream, evenly spaced, from a phase per
    /// session.
    pub fn sampled(&self, session: &str, place: u64) -> bool {
        if self.state.locked().current.is_none() {
            return false;
        }
        let mut h = self.key.build_hasher();
        h.write(session.as_bytes());
        sampled_at(h.finish() % 100, place, self.settings.share)
    }

    /// Hands a sampled segment to the shadow, or drops it when the queue is
    /// full (or the candidate was decided since).
    pub fn offer(&self, job: Job) {
        let Some(c) = self.candidate() else { return };
        if c.jobs.try_send(job).is_err() {
            c.state.locked().counts.add(Outcome::Dropped);
            self.metrics
                .canary_segments
                .with_label_values(&[Outcome::Dropped.as_str()])
                .inc();
        }
    }

    /// What `/admin/components` and `/healthz` say of it.
    pub fn to_json(&self) -> Value {
        let state = self.state.locked();
        let candidate = state.current.as_ref().map(|c| {
            let p = c.state.locked();
            json!({
                "sha256": c.runtime.hash,
                "contract": crate::components::CONTRACT,
                "since_unix": unix(c.since),
                "share_percent": self.settings.share,
                "promote_after": self.settings.promote_after,
                "expect_diff": c.expect_diff,
                "segments": p.counts.to_json(),
                "first_difference": p.first_difference.as_ref().map(ToString::to_string),
                // Its time over the serving component's, the median of the
                // last segments (up to WINDOW).
                "median_slowdown": (!p.ratios.is_empty()).then(|| median(&p.ratios)),
            })
        });
        let last = state.last.as_ref().map(|d| {
            json!({
                "sha256": d.component,
                "decision": d.decision.as_str(),
                "reason": d.reason.as_str(),
                "first_difference": d.difference.as_ref().map(ToString::to_string),
                "segments": d.counts.to_json(),
                "at_unix": unix(d.at),
            })
        });
        json!({ "candidate": candidate, "last_decision": last })
    }
}

impl Canary {
    /// Puts `runtime` on probation against the serving component, with
    /// `reference`, a copy of the serving one in a pool of its own; a
    /// candidate already there is rolled back.
    pub fn start(self: &Arc<Self>, runtime: Runtime, reference: Runtime, expect_diff: bool) -> String {
        let (jobs, queue) = tokio::sync::mpsc::channel(QUEUE);
        let candidate = Arc::new(Candidate {
            runtime: Arc::new(runtime),
            reference,
            since: SystemTime::now(),
            expect_diff,
            state: Mutex::default(),
            jobs,
            ended: AtomicBool::new(false),
            end: tokio::sync::Notify::new(),
        });
        let hash = candidate.runtime.hash.clone();
        let old = self.candidate();
        if let Some(old) = old {
            self.decide(&old, Decision::RolledBack, Reason::Replaced, None);
        }
        self.state.locked().current = Some(candidate.clone());
        tracing::info!(
            candidate = %hash,
            share_percent = self.settings.share,
            promote_after = self.settings.promote_after,
            expect_diff,
            "candidate component on probation: shadowing live segments"
        );
        // The results are recorded at the normal priority, on the runtime
        // that started the candidate: the shadow's thread, which the kernel
        // may leave waiting while the cores are busy, never holds a lock a
        // live call takes (offering a job, counting a drop, `/healthz`).
        let (results, recorded) = tokio::sync::mpsc::unbounded_channel();
        let recorder = recording(Arc::downgrade(self), candidate.clone(), recorded);
        let recorder = match tokio::runtime::Handle::try_current() {
            Ok(here) => {
                here.spawn(recorder);
                None
            }
            Err(_) => Some(recorder),
        };
        // A thread and a runtime of its own: the shadow's wasm never runs on
        // a tokio worker that serves requests.
        // Named by the candidate (`canary-<8 hex>`: Linux keeps 15 bytes of a
        // thread's name), so `top -H` shows whose shadow runs.
        std::thread::Builder::new()
            .name(format!("canary-{}", hash.get(..8).unwrap_or(&hash)))
            .spawn(move || {
                if let Err(e) = idle_priority() {
                    tracing::warn!(error = %e, "the canary's thread keeps its priority");
                }
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Some(recorder) = recorder {
                            tokio::spawn(recorder);
                        }
                        shadowing(candidate, queue, results).await;
                    });
                }
            })
            .expect("a thread for the canary");
        hash
    }

    /// `POST /admin/promote`: the candidate serves from now on.
    pub fn promote(&self) -> Option<String> {
        let c = self.candidate()?;
        self.decide(&c, Decision::Promoted, Reason::Operator, None);
        Some(c.runtime.hash.clone())
    }

    /// A candidate's end: for a promotion the swap, then the state (the
    /// candidate gone and its decision, at once), a count and one log
    /// line. Decided once.
    fn decide(&self, c: &Arc<Candidate>, decision: Decision, reason: Reason, difference: Option<Difference>) {
        let counts = {
            let mut p = c.state.locked();
            if p.decided {
                return;
            }
            p.decided = true;
            c.ended.store(true, Ordering::Release);
            // A permit if the shadow is not waiting yet: it ends at its
            // next wait.
            c.end.notify_one();
            p.counts
        };
        if decision == Decision::Promoted {
            self.serving.swap_in(c.runtime.clone());
        }
        {
            let mut state = self.state.locked();
            if state.current.as_ref().is_some_and(|x| Arc::ptr_eq(x, c)) {
                state.current = None;
            }
            state.last = Some(Decided {
                component: c.runtime.hash.clone(),
                decision,
                reason,
                difference: difference.clone(),
                counts,
                at: SystemTime::now(),
            });
        }
        self.metrics
            .canary_decisions
            .with_label_values(&[decision.as_str(), reason.as_str()])
            .inc();
        let first = difference.as_ref().map(ToString::to_string);
        match decision {
            Decision::Promoted => {
                tracing::info!(
                    component = %c.runtime.hash,
                    reason = reason.as_str(),
                    agreed = counts.agreed,
                    differed = counts.differed,
                    first_difference = c.state.locked().first_difference.as_ref().map(ToString::to_string),
                    "candidate promoted: it serves every new call"
                );
            }
            Decision::RolledBack => tracing::warn!(
                component = %c.runtime.hash,
                reason = reason.as_str(),
                first_difference = first.as_deref(),
                agreed = counts.agreed,
                "candidate rolled back: the serving component stays"
            ),
        }
    }

    /// One shadowed segment's result, and what it decides.
    fn record(&self, c: &Arc<Candidate>, compared: Compared) {
        let settings = self.settings;
        self.metrics
            .canary_segments
            .with_label_values(&[compared.outcome.as_str()])
            .inc();
        let (decision, slow) = {
            let mut p = c.state.locked();
            p.counts.add(compared.outcome);
            if p.first_difference.is_none() {
                p.first_difference = compared.difference.clone();
            }
            if let Some(ratio) = compared.ratio {
                p.ratios.push_back(ratio);
                if p.ratios.len() > WINDOW {
                    p.ratios.pop_front();
                }
            }
            let median = (p.ratios.len() == WINDOW).then(|| median(&p.ratios));
            let slow = median.filter(|m| *m > settings.max_slowdown);
            let compared_ok = p.counts.agreed + if c.expect_diff { p.counts.differed } else { 0 };
            let decision = match compared.outcome {
                Outcome::Trapped => Some((Decision::RolledBack, Reason::Trapped)),
                Outcome::Failed => Some((Decision::RolledBack, Reason::Failed)),
                Outcome::Differed if !c.expect_diff => Some((Decision::RolledBack, Reason::Differed)),
                _ if slow.is_some() => Some((Decision::RolledBack, Reason::Slower)),
                _ if compared_ok >= settings.promote_after => Some((Decision::Promoted, Reason::Agreed)),
                _ => None,
            };
            (decision, slow)
        };
        if let (Some(d), true) = (&compared.difference, c.expect_diff) {
            tracing::warn!(component = %c.runtime.hash, "candidate differs, as expected: {d}");
        }
        let Some((decision, reason)) = decision else { return };
        let difference = match (reason, slow) {
            (Reason::Slower, Some(m)) => Some(Difference {
                seq: None,
                output: "timing".into(),
                what: format!("median of the last {WINDOW} segments' time over the serving component's, limit"),
                serving: format!("{:.2}", settings.max_slowdown),
                candidate: format!("{m:.2}"),
            }),
            _ => compared.difference,
        };
        self.decide(c, decision, reason, difference);
    }
}

/// Whether `place` is sampled in a stream of phase `phase`: `share`
/// places of every 100 in a row, evenly spaced.
fn sampled_at(phase: u64, place: u64, share: u32) -> bool {
    let at = place + phase;
    let share = u64::from(share.clamp(1, 100));
    (at + 1) * share / 100 > at * share / 100
}

fn median(values: &VecDeque<f64>) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The calling thread runs only when nothing else wants its core
/// (`SCHED_IDLE`). When live calls need the cores, the kernel gives them the
/// CPU first and the shadow falls behind (its queue then drops jobs,
/// counted) rather than slowing an answer. Stronger than nice 19, measured
/// in the load bench: a live call waking on the shadow's core preempts it
/// at once instead of waiting out the shadow's time slice, and the kernel
/// places waking tasks on a core that runs only idle-policy threads as if
/// it were free.
///
/// `libc` because rustix has no `sched_setscheduler`; on Linux it applies
/// to the calling thread alone.
#[cfg(target_os = "linux")]
fn idle_priority() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` for the call's duration;
    // pid 0 is the calling thread.
    #[allow(unsafe_code)]
    let done = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the thread keeps its priority, said in a warning.
#[cfg(not(target_os = "linux"))]
fn idle_priority() -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The shadow's loop, on its own thread: each job compared, its result
/// handed to `recording`. It ends when the candidate is decided (and with
/// it the recorder, whose channel closes) or the canary is gone.
async fn shadowing(
    candidate: Arc<Candidate>,
    mut queue: tokio::sync::mpsc::Receiver<Job>,
    results: tokio::sync::mpsc::UnboundedSender<Compared>,
) {
    loop {
        let job = tokio::select! {
            job = queue.recv() => job,
            () = candidate.end.notified() => None,
        };
        let Some(job) = job else { return };
        if candidate.ended.load(Ordering::Acquire) {
            return;
        }
        let compared = compare(&candidate.reference, &candidate.runtime, &job).await;
        if results.send(compared).is_err() {
            return;
        }
    }
}

/// The shadow's results recorded in order, and what they decide.
async fn recording(
    canary: Weak<Canary>,
    candidate: Arc<Candidate>,
    mut recorded: tokio::sync::mpsc::UnboundedReceiver<Compared>,
) {
    while let Some(compared) = recorded.recv().await {
        let Some(canary) = canary.upgrade() else { return };
        canary.record(&candidate, compared);
    }
}

/// A shadowed segment's result.
struct Compared {
    outcome: Outcome,
    difference: Option<Difference>,
    /// The candidate's time over the reference's, when both ran through.
    ratio: Option<f64>,
}

/// The same pure calls on both components, timed, and the candidate's
/// outputs against what was served.
async fn compare(reference: &Runtime, candidate: &Runtime, job: &Job) -> Compared {
    let mut timed = Timed::default();
    let ran = timed.run(reference, candidate, job).await;
    let (outcome, difference) = match ran {
        Ok(None) => (Outcome::Agreed, None),
        Ok(Some(d)) => (Outcome::Differed, Some(d)),
        Err((outcome, d)) => (outcome, Some(d)),
    };
    let ratio = (outcome != Outcome::Trapped && timed.reference > Duration::ZERO)
        .then(|| timed.candidate.as_secs_f64() / timed.reference.as_secs_f64());
    Compared {
        outcome,
        difference,
        ratio,
    }
}

/// Time spent in each component's calls.
#[derive(Default)]
struct Timed {
    candidate: Duration,
    reference: Duration,
}

type Stop = (Outcome, Difference);

impl Timed {
    /// `call` on the candidate, then the same on the reference (for its
    /// time alone), each timed; the candidate's answer.
    async fn both<T>(&mut self, reference: &Runtime, candidate: &Runtime, call: impl AsyncFn(&Runtime) -> T) -> T {
        let started = Instant::now();
        let answer = call(candidate).await;
        self.candidate += started.elapsed();
        let started = Instant::now();
        call(reference).await;
        self.reference += started.elapsed();
        answer
    }

    /// `Ok(None)` when everything agreed, `Ok(Some)` at the first
    /// difference, `Err` when the candidate trapped or refused what was
    /// served.
    async fn run(&mut self, reference: &Runtime, candidate: &Runtime, job: &Job) -> Result<Option<Difference>, Stop> {
        let diff = |output: &str, what: &str, serving: String, candidate: String| Difference {
            seq: job.seq,
            output: output.into(),
            what: what.into(),
            serving,
            candidate,
        };
        let trapped = |call: &str, e: anyhow::Error| {
            (
                Outcome::Trapped,
                // One line: the trap, not the wasm backtrace around it.
                diff(call, "call", "answered".into(), format!("trapped: {}", e.root_cause())),
            )
        };
        let failed = |call: &str, e: String| (Outcome::Failed, diff(call, "call", "succeeded".into(), e));

        // The probe, and the serving component's answer to it.
        let probed = self
            .both(reference, candidate, async |r: &Runtime| r.probe(&job.segment).await)
            .await
            .map_err(|e| trapped("probe", e))?;
        match (&job.probed, probed) {
            (Ok(a), Ok(b)) => {
                if let Some((what, x, y)) = first_difference(&a.to_json(), &b.to_json()) {
                    return Ok(Some(diff("probe", &what, x, y)));
                }
            }
            (Ok(_), Err(e)) => return Err(failed("probe", format!("refused: {e}"))),
            (Err(e), Ok(_)) => {
                return Ok(Some(diff(
                    "probe",
                    "answer",
                    format!("refused ({e})"),
                    "read it".into(),
                )));
            }
            (Err(a), Err(b)) if *a != b => return Ok(Some(diff("probe", "refusal", a.to_string(), b.to_string()))),
            (Err(_), Err(_)) => return Ok(None),
        }

        // The TS, byte for byte with what the gateway got.
        let Some(sent) = job.sent.as_ref().map(Frames::concat) else {
            return Ok(None);
        };
        let split = self
            .both(reference, candidate, async |r: &Runtime| r.split(&job.segment).await)
            .await
            .map_err(|e| trapped("split", e))?
            .map_err(|e| failed("split", format!("refused: {e}")))?;
        if let Some(at) = first_byte_difference(&sent, &split.video_ts) {
            return Ok(Some(diff(
                "TS",
                &format!("packet {} (byte {at}), of bytes", at / 188),
                sent.len().to_string(),
                split.video_ts.len().to_string(),
            )));
        }

        // Each rendition, joined from the very answer the serving one read.
        let Some(answered) = &job.answered else { return Ok(None) };
        let body = answered.body.concat();
        let parts = self
            .both(reference, candidate, async |r: &Runtime| {
                r.multipart(&answered.content_type, &body).await
            })
            .await
            .map_err(|e| trapped("multipart", e))?
            .map_err(|e| failed("multipart", format!("refused: {e}")))?;
        let options = || JoinOptions { layout: job.layout };
        for served in answered.renditions.iter() {
            let output = format!("rendition {}", served.name);
            let part = parts.iter().find(|p| p.name.as_deref() == Some(served.name.as_str()));
            let Some(crate::bindings::multipart::PartBody::Bytes(ts)) = part.map(|p| &p.body) else {
                return Err(failed(&output, "no part of that name in the answer".into()));
            };
            let joined = self
                .both(reference, candidate, async |r: &Runtime| {
                    r.join_with(ts, &split.audio_mp4, options()).await
                })
                .await
                .map_err(|e| trapped(&output, e))?
                .map_err(|e| failed(&output, format!("refused: {e}")))?;
            if first_byte_difference(&served.mp4, &joined).is_none() {
                continue;
            }
            // Structural first: what a player would see differ.
            let (a, b) = (reference.probe(&served.mp4).await, reference.probe(&joined).await);
            if let (Ok(Ok(a)), Ok(Ok(b))) = (a, b)
                && let Some((what, x, y)) = first_difference(&a.to_json(), &b.to_json())
            {
                return Ok(Some(diff(&output, &what, x, y)));
            }
            let at = first_byte_difference(&served.mp4, &joined).unwrap_or_default();
            return Ok(Some(diff(
                &output,
                &format!("byte {at}, of bytes"),
                served.mp4.len().to_string(),
                joined.len().to_string(),
            )));
        }
        Ok(None)
    }
}

/// The first offset where `a` and `b` differ, or the shorter's length when
/// one is the other's start; `None` when equal.
fn first_byte_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        return None;
    }
    Some(
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len())),
    )
}

/// The first field where two probes differ, as `audio start_ns`, with both
/// values.
fn first_difference(a: &Value, b: &Value) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.iter().find_map(|(k, v)| {
            let w = y.get(k).unwrap_or(&Value::Null);
            first_difference(v, w).map(|(path, p, q)| (join(k, &path), p, q))
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).find_map(|(v, w)| first_difference(v, w))
        }
        _ if a == b => None,
        _ => Some((String::new(), a.to_string(), b.to_string())),
    }
}

fn join(key: &str, rest: &str) -> String {
    if rest.is_empty() {
        key.to_string()
    } else {
        format!("{key} {rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named_by_its_field() {
        let a = json!({ "audio": [{ "start_ns": 6_500_000, "packets": 100 }], "duration_ns": 1 });
        let b = json!({ "audio": [{ "start_ns": 0, "packets": 100 }], "duration_ns": 1 });
        let (what, x, y) = first_difference(&a, &b).unwrap();
        let d = Difference {
            seq: Some(41),
            output: "rendition 360p".into(),
            what,
            serving: x,
            candidate: y,
        };
        assert_eq!(d.to_string(), "seq 41, rendition 360p: audio start_ns 6500000 vs 0");
        assert_eq!(first_difference(&a, &a), None);
        assert_eq!(first_byte_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_byte_difference(b"ab", b"abc"), Some(2));
    }

    #[test]
    fn every_stream_is_sampled_at_its_share() {
        let metrics = Arc::new(Metrics::new());
        let serving = Arc::new(Serving::new(
            Runtime::embedded(Default::default()).unwrap(),
            metrics.clone(),
        ));
        let canary = Canary::new(
            Settings {
                share: 10,
                ..Settings::default()
            },
            serving,
            metrics,
        );
        // No candidate: nothing sampled.
        assert!(!(0..100).any(|p| canary.sampled("a", p)));
        for share in [1, 10, 33, 50, 100] {
            for phase in [0, 7, 99] {
                let places: Vec<u64> = (0..100).filter(|p| sampled_at(phase, *p, share)).collect();
                assert_eq!(places.len() as u32, share, "share {share}, phase {phase}");
                let gaps = places.windows(2).map(|w| w[1] - w[0]);
                let even = u64::from(100 / share);
                assert!(gaps.into_iter().all(|g| g == even || g == even + 1), "{places:?}");
            }
        }
    }
}
