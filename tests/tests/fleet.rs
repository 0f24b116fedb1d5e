//! Beyond one machine (issue #30), with real processes: `lpbridge serve`
//! hosts, HAProxy on the shipped `deploy/haproxy.cfg`, and the fake
//! gateway. What a platform meets: a burst of uploads larger than a host's
//! memory, a host stopped for an upgrade and a host lost, while creators
//! stream live.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lpbridge_tests::fleet::{Balancer, Host, free_port};
use lpbridge_tests::gateway::{FakeGateway, Mode};
use lpbridge_tests::http::{Answer, attempt, http};
use lpbridge_tests::*;

/// A counter of a host's `/metrics`, 0 when absent.
async fn counter(admin: SocketAddr, series: &str) -> i64 {
    let text = String::from_utf8(http(admin, "GET", "/metrics", b"").await.body).unwrap();
    metric_value(&text, series)
}

/// 40 creators post the 60 s 720p file (23 MB) at once to one host with a
/// 512 MiB budget. Before, nothing bounded what it held (2.39 GB of RSS).
/// Now each segment reserves 4× its size before its body is read: those
/// that fit get their renditions, the others 503 `over-budget` with
/// `Retry-After`, counted, and the host's memory stays within the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_large_uploads_stay_within_the_memory_budget() {
    const BUDGET_MIB: u64 = 512;
    let gw = FakeGateway::start(Mode::Passthrough).await;
    let segment = Arc::new(std::fs::read(bench_fixtures().join("long720p.mp4")).unwrap());
    assert!(segment.len() > 20 << 20, "{} bytes", segment.len());
    let dir = scratch("fleet-budget");
    let budget = BUDGET_MIB.to_string();
    let url = gw.url();
    let host = Host::start(
        &[
            "--gateway",
            &url,
            "--verify",
            "off",
            "--renditions",
            "360p",
            "--memory-budget-mib",
            &budget,
        ],
        &dir.join("host.log"),
    );
    let before = peak_rss(host.pid());
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (segment, addr) = (segment.clone(), host.addr);
            tokio::spawn(async move {
                let path = format!("/v1/segments?creator=did:plc:budget{i}");
                http(addr, "POST", &path, &segment).await
            })
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            200 => {
                assert!(a.header("content-type").starts_with("multipart/mixed"));
                assert!(a.body.len() > 1 << 20, "a rendition of the 60 s file");
                accepted += 1;
            }
            503 => {
                assert_eq!(a.json()["error"], "over-budget");
                assert_eq!(a.header("retry-after"), "1");
                let message = a.json()["message"].as_str().unwrap().to_string();
                assert!(message.contains("--memory-budget-mib"), "{message}");
                refused += 1;
            }
            other => panic!("{other}: {}", String::from_utf8_lossy(&a.body)),
        }
    }
    let peak = peak_rss(host.pid());
    println!(
        "40 uploads of {} MiB, budget {BUDGET_MIB} MiB: {accepted} transcoded, {refused} refused; \
         RSS peak {} MiB (before them {} MiB)",
        segment.len() >> 20,
        peak >> 20,
        before >> 20
    );
    assert!(accepted >= 1 && refused >= 1, "{accepted} accepted, {refused} refused");
    assert!(
        peak - before <= BUDGET_MIB << 20,
        "the segments in flight took {} MiB, over the {BUDGET_MIB} MiB budget",
        (peak - before) >> 20
    );
    let refusals = counter(host.admin, "lpbridge_segments_refused_total{reason=\"over-budget\"}").await;
    assert_eq!(refusals, refused);
    assert_eq!(
        counter(host.admin, "streamplace_transcode_successes_total").await,
        accepted
    );
    let ready = http(host.addr, "GET", "/readyz", b"").await;
    assert_eq!(ready.json()["memory"]["held_bytes"], 0, "every reservation came back");
}

const CREATORS: usize = 10;
/// Segments each creator sends, 2 s apart.
const SEGMENTS: u32 = 12;
const PACE: Duration = Duration::from_secs(2);

/// One segment a creator sent, and what came back.
struct Sent {
    creator: usize,
    index: u32,
    started: Instant,
    ended: Instant,
    answer: Result<Answer, String>,
}

impl Sent {
    fn ok(&self) -> Option<&Answer> {
        self.answer.as_ref().ok().filter(|a| a.status == 200)
    }

    /// Which host answered (HAProxy's `X-Lpbridge-Host`).
    fn host(&self) -> Option<&str> {
        self.ok().map(|a| a.header("x-lpbridge-host"))
    }
}

/// One creator streaming: a segment every 2 s, at most 2 in flight.
async fn stream(lb: SocketAddr, creator: usize, segment: Arc<Vec<u8>>, t0: Instant) -> Vec<Sent> {
    let slots = Arc::new(tokio::sync::Semaphore::new(2));
    let mut tasks = Vec::new();
    for index in 0..SEGMENTS {
        // Creators a little apart, as streams are.
        let at = t0 + PACE * index + Duration::from_millis(150 * creator as u64);
        tokio::time::sleep_until(at.into()).await;
        let permit = slots.clone().acquire_owned().await.unwrap();
        let segment = segment.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let path = format!("/v1/segments?creator=did%3Aplc%3Acreator{creator}");
            let answer = attempt(lb, "POST", &path, &[], &segment, segment.len()).await;
            drop(permit);
            Sent {
                creator,
                index,
                started,
                ended: Instant::now(),
                answer,
            }
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    sent
}

/// Which host each creator's answered segments came from, before `until`.
fn hosts_of(sent: &[Sent], until: Instant) -> BTreeMap<usize, String> {
    let mut hosts = BTreeMap::new();
    for s in sent.iter().filter(|s| s.ended < until) {
        if let Some(h) = s.host() {
            hosts.insert(s.creator, h.to_string());
        }
    }
    hosts
}

/// Ten creators stream live through HAProxy to three hosts. Each creator
/// stays on one host until that host goes. One host gets SIGTERM (an
/// upgrade): its creators move with no failed segment. Another is killed:
/// only the segments it held fail, each with an answer from the balancer,
/// and each of its creators' next segment succeeds elsewhere on a new
/// manifest at seq 0. The hosts' numbers add up to what the creators got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_behind_haproxy_keep_each_creator_and_survive_a_stop_and_a_kill() {
    let gw = FakeGateway::start(Mode::Passthrough).await;
    // Each segment a while at the gateway, so that a kill finds some there.
    *gw.delay.lock().unwrap() = Duration::from_millis(800);
    let dir = scratch("fleet-three");
    let url = gw.url();
    let mut hosts: Vec<Host> = (1..=3)
        .map(|i| {
            let listen = format!("127.0.0.1:{}", free_port());
            let args = [
                "--listen",
                &listen,
                "--gateway",
                &url,
                "--verify",
                "off",
                "--renditions",
                "360p,240p",
                "--drain-grace-secs",
                "3",
            ];
            Host::start(&args, &dir.join(format!("lpbridge{i}.log")))
        })
        .collect();
    let addrs: Vec<SocketAddr> = hosts.iter().map(|h| h.addr).collect();
    let lb = Balancer::start(&addrs, &dir.join("haproxy.log"));
    let segment = Arc::new(streamplace_segment("sample-segment.mp4"));
    let t0 = Instant::now() + Duration::from_millis(500);
    let creators: Vec<_> = (0..CREATORS)
        .map(|c| tokio::spawn(stream(lb.addr, c, segment.clone(), t0)))
        .collect();

    // Round 3: every creator has its host. Stop one (an upgrade).
    tokio::time::sleep_until((t0 + PACE * 3).into()).await;
    let stopped_at = Instant::now();
    let stopped = 1; // lpbridge2
    hosts[stopped].signal("TERM");
    // Round 8: kill another, with segments at the gateway.
    tokio::time::sleep_until((t0 + PACE * 8 + Duration::from_millis(600)).into()).await;
    let killed = 2; // lpbridge3
    let before_kill = counter(hosts[killed].admin, "streamplace_transcode_successes_total").await;
    let killed_at = Instant::now();
    hosts[killed].signal("KILL");

    let mut sent: Vec<Sent> = Vec::new();
    for c in creators {
        sent.extend(c.await.unwrap());
    }
    sent.sort_by_key(|s| (s.creator, s.index));
    let name = |i: usize| format!("lpbridge{}", i + 1);
    let failed: Vec<&Sent> = sent.iter().filter(|s| s.ok().is_none()).collect();
    let report: Vec<String> = failed
        .iter()
        .map(|s| match &s.answer {
            Ok(a) => format!(
                "creator {} #{}: {} {}",
                s.creator,
                s.index,
                a.status,
                String::from_utf8_lossy(&a.body)
            ),
            Err(e) => format!("creator {} #{}: {e}", s.creator, s.index),
        })
        .collect();
    println!(
        "{} segments from {CREATORS} creators: {} failed {report:?}",
        sent.len(),
        failed.len()
    );

    // Before any host went, each creator was on one host; the two that go
    // both had creators (HAProxy's hash of these names is fixed).
    let first = hosts_of(&sent, stopped_at);
    assert_eq!(first.len(), CREATORS, "every creator answered before the stop");
    for h in [stopped, killed] {
        assert!(
            first.values().any(|v| *v == name(h)),
            "{} had no creator: {first:?}",
            name(h)
        );
    }

    // Each creator's answered segments: the same host until its host
    // went, then one other; on the same host, one manifest with seqs in
    // order; on a new host, a new manifest from seq 0.
    for c in 0..CREATORS {
        let mine: Vec<&Sent> = sent.iter().filter(|s| s.creator == c).collect();
        let mut last: Option<(&str, String, u64)> = None;
        for s in &mine {
            let Some(a) = s.ok() else { continue };
            let host = s.host().unwrap();
            let manifest = a.header("livepeer-manifest").to_string();
            let seq: u64 = a.header("livepeer-seq").parse().unwrap();
            if let Some((was, m, q)) = &last {
                if *was == host {
                    assert_eq!((&manifest, seq > *q), (m, true), "creator {c} #{}", s.index);
                } else {
                    let left = [stopped, killed].iter().any(|h| name(*h) == *was);
                    assert!(left, "creator {c} moved from {was}, which never went, to {host}");
                    assert_ne!(&manifest, m, "creator {c}: a new host, a new manifest");
                    assert_eq!(seq, 0, "creator {c} #{}: a new manifest starts at seq 0", s.index);
                }
            }
            last = Some((host, manifest, seq));
        }
        assert!(
            mine.iter()
                .all(|s| s.host() != Some(&name(killed)) || s.started < killed_at),
            "creator {c}: a segment reached the killed host after the kill"
        );
        assert!(
            mine.iter()
                .all(|s| s.host() != Some(&name(stopped)) || s.started < stopped_at + Duration::from_secs(5)),
            "creator {c}: segments still went to the stopped host long after its grace"
        );
    }

    // The stop failed nothing; the kill failed only what the killed host
    // held, each with an answer from the balancer, and that creator's next
    // segment succeeded elsewhere.
    let at_kill = hosts_of(&sent, killed_at);
    for f in &failed {
        assert_eq!(
            at_kill[&f.creator],
            name(killed),
            "creator {} was not on the killed host",
            f.creator
        );
        assert!(
            f.started < killed_at && f.ended >= killed_at,
            "creator {} #{}: not in flight at the kill",
            f.creator,
            f.index
        );
        let a = f
            .answer
            .as_ref()
            .unwrap_or_else(|e| panic!("creator {} #{}: no answer: {e}", f.creator, f.index));
        assert!([502, 503, 504].contains(&a.status), "{}", a.status);
        let next = sent
            .iter()
            .find(|s| s.creator == f.creator && s.index > f.index && s.ok().is_some())
            .unwrap_or_else(|| panic!("creator {}: nothing succeeded after the kill", f.creator));
        assert_ne!(next.host(), Some(name(killed).as_str()));
        assert_eq!(next.ok().unwrap().header("livepeer-seq"), "0");
    }
    assert!(failed.len() <= at_kill.values().filter(|v| **v == name(killed)).count());

    // What the hosts counted: the one that stayed, from its /metrics; the
    // stopped one, from its last line (its totals); the killed one can only
    // have counted what it answered.
    let served = |h: usize| sent.iter().filter(|s| s.host() == Some(&name(h))).count() as i64;
    assert_eq!(
        counter(hosts[0].admin, "streamplace_transcode_successes_total").await,
        served(0)
    );
    assert!(hosts[stopped].exited(Duration::from_secs(60)).success());
    let drained = hosts[stopped]
        .logs()
        .into_iter()
        .find(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("drained"))
        })
        .expect("the stopped host's last line");
    assert_eq!(drained["fields"]["transcoded"], served(stopped), "{drained}");
    assert!(before_kill <= served(killed));
    let answered = served(0) + served(stopped) + served(killed);
    let seen = gw.seen().len() as i64;
    assert!(
        (answered..=answered + failed.len() as i64).contains(&seen),
        "the gateway saw {seen} segments, the creators got {answered} back"
    );
    let _ = lb;
}
