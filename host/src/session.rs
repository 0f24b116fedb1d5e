//! Sessions, one per creator DID, as upstream's `LivepeerSession`, with the
//! manifest owned by the profiles it was opened with.
//!
//! - A manifest is `<did without ':' and '.'>-<8 chars [a-z0-9]>-<N>ren`, N
//!   the number of renditions, as upstream names them.
//! - Each segment takes its place in the stream (`Ticket`) in call order,
//!   before it is probed. Its manifest is decided in that order too: it
//!   waits for its turn (`Ticket::turn`), until every segment before it
//!   has claimed its manifest or given up, before it takes an instance and
//!   probes; so a manifest's profiles are compared with the segment before
//!   it in the stream, never with one that happened to be probed first.
//!   The wait is the segment before it's probe, and holds no instance, so it
//!   cannot hold up the segments it waits for.
//! - Its seq is its distance from the segment that opened its manifest:
//!   seqs follow the stream, and a segment that fails before it is sent
//!   still used its place.
//! - A segment whose profiles differ from its manifest's
//!   (`manifest::change`) opens a new manifest at seq 0. So does the first
//!   segment after `rotate_after` failures in a row of the current manifest
//!   (refused pushes, as upstream, or renditions refused by verification).
//! - Segments already sent to the old manifest finish there, with the seq
//!   and the profiles they were sent with; their outcome no longer counts
//!   toward rotating the new one.
//!
//! - It reaches the session's in-flight guard in the same order
//!   (`Guard::acquire`): a segment whose TS takes longer to write is not
//!   overtaken by the ones after it, so the gateway sees a manifest's seqs
//!   in order, as upstream's claim after its guard makes it.
//!
//! Idle sessions expire.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::guard::Guard;
use crate::line::{Line, Place};
use crate::lock::Locked;
use lpbridge_contract::ladder::Profile;
use lpbridge_contract::manifest::{self, Change, Reason};

pub struct Session {
    pub did: String,
    pub guard: Arc<Guard>,
    /// `<did>-<8 chars>` from the session's start: its metrics label, which
    /// stays put as manifests come and go.
    pub label: String,
    state: Mutex<State>,
    /// Places claiming their manifest, in stream order.
    turns: Arc<Line>,
}

struct State {
    /// The next segment's place in the stream.
    next_place: u64,
    /// The manifest segments are claimed into.
    current: Option<Manifest>,
    /// Failures asked for a fresh manifest: the next claim opens one.
    rotate: Option<Change>,
    /// Failures in a row of the current manifest.
    failures: u32,
    last_used: Instant,
    /// Which of the configured gateways it uses (taken modulo their number).
    gateway: usize,
}

struct Manifest {
    name: String,
    profiles: Vec<Profile>,
    opened_at: u64,
}

/// A segment's place in its creator's stream, taken in call order: in the
/// line to claim a manifest, and in the line to the session's guard.
/// Dropped (the segment failed before it was sent), it gives both places
/// up, so the segments after it get their turn.
pub struct Ticket {
    session: Arc<Session>,
    turn: Place,
    guard: Place,
}

/// A ticket whose turn has come: every segment before it has claimed its
/// manifest or given up.
pub struct Turn {
    session: Arc<Session>,
    place: Place,
}

/// What a segment was sent as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub manifest: String,
    pub seq: u64,
    /// Set when this segment opened a new manifest after another.
    pub rotation: Option<Rotation>,
}

/// A new manifest after another, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub from: String,
    pub change: Change,
}

/// How a segment sent to a manifest went, as the rotation counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Transcoded,
    /// The gateway refused the push or could not be reached.
    Refused,
    /// Its renditions failed verification.
    Mismatch,
}

/// A number nobody can guess from the last: std's randomly keyed hasher
/// over the clock. For names and jitter, not for secrets.
pub fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    h.write_u128(now.unwrap_or_default().as_nanos());
    h.finish()
}

/// Eight characters of [a-z0-9] from the process's random hasher keys.
fn trailer() -> String {
    let mut v = random();
    (0..8)
        .map(|_| {
            let c = char::from_digit((v % 36) as u32, 36).expect("a digit below 36");
            v /= 36;
            c
        })
        .collect()
}

pub fn session_id(did: &str) -> String {
    let clean: String = did.chars().filter(|c| *c != ':' && *c != '.').collect();
    format!("{clean}-{}", trailer())
}

impl Ticket {
    /// Its place in the stream.
    pub fn place(&self) -> u64 {
        self.turn.number()
    }

    /// Waits until every segment before this one has claimed its manifest
    /// or given up; gives the turn, and the place in the line to the guard
    /// (for `Guard::acquire`).
    pub async fn turn(self) -> (Turn, Place) {
        self.turn.first().await;
        let turn = Turn {
            session: self.session,
            place: self.turn,
        };
        (turn, self.guard)
    }
}

impl Turn {
    /// The manifest and seq of this segment, which asks for `profiles`: the
    /// current manifest's, unless it was opened with other profiles or
    /// failures asked for a fresh one; then a new manifest at seq 0. The
    /// next segment's turn comes when this one is dropped, at the return.
    pub fn claim(self, profiles: &[Profile]) -> Claim {
        self.session.claim(self.place.number(), profiles)
    }
}

impl Session {
    /// The next segment's place in the stream: call in segment order.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        let mut s = self.state.locked();
        s.last_used = Instant::now();
        let place = s.next_place;
        s.next_place += 1;
        Ticket {
            session: self.clone(),
            turn: self.turns.place(place),
            guard: self.guard.place(place),
        }
    }

    fn claim(&self, place: u64, profiles: &[Profile]) -> Claim {
        let mut s = self.state.locked();
        s.last_used = Instant::now();
        let rotate = s.rotate.take();
        let change = match (&s.current, rotate) {
            (_, Some(why)) => Some(why),
            (Some(m), None) => match manifest::change(&m.profiles, profiles) {
                // In turn, a place is never before its manifest's first.
                None => {
                    return Claim {
                        manifest: m.name.clone(),
                        seq: place.saturating_sub(m.opened_at),
                        rotation: None,
                    };
                }
                some => some,
            },
            (None, None) => None,
        };
        let name = format!("{}-{}ren", session_id(&self.did), profiles.len());
        let previous = s.current.replace(Manifest {
            name: name.clone(),
            profiles: profiles.to_vec(),
            opened_at: place,
        });
        s.failures = 0;
        Claim {
            manifest: name,
            seq: 0,
            rotation: change.map(|change| Rotation {
                from: previous.map_or_else(String::new, |m| m.name),
                change,
            }),
        }
    }

    /// Records how a segment sent to `manifest` went. After `rotate_after`
    /// failures in a row of the current manifest, the next segment claimed
    /// opens a fresh one; returns why when that was decided now. Outcomes
    /// of older manifests are not counted.
    pub fn report(&self, manifest: &str, outcome: Outcome, rotate_after: u32) -> Option<Change> {
        let mut s = self.state.locked();
        s.last_used = Instant::now();
        if s.current.as_ref().is_none_or(|m| m.name != manifest) || s.rotate.is_some() {
            return None;
        }
        let reason = match outcome {
            Outcome::Transcoded => {
                s.failures = 0;
                return None;
            }
            Outcome::Refused => Reason::Refused,
            Outcome::Mismatch => Reason::Mismatch,
        };
        s.failures += 1;
        if s.failures < rotate_after {
            return None;
        }
        let what = match reason {
            Reason::Refused => "pushes refused by the gateway",
            _ => "segments whose renditions failed verification",
        };
        let change = Change {
            reason,
            detail: format!("{} {what} in a row", s.failures),
        };
        s.failures = 0;
        s.rotate = Some(change.clone());
        Some(change)
    }

    /// The gateway this session sends to.
    pub fn gateway(&self) -> usize {
        self.state.locked().gateway
    }

    pub fn set_gateway(&self, gateway: usize) {
        self.state.locked().gateway = gateway;
    }

    fn idle_for(&self) -> Duration {
        self.state.locked().last_used.elapsed()
    }
}

pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    in_flight: usize,
    max_waiting: usize,
}

impl Sessions {
    pub fn new(in_flight: usize, max_waiting: usize) -> Self {
        Sessions {
            map: Mutex::default(),
            in_flight,
            max_waiting,
        }
    }

    pub fn get(&self, did: &str) -> Arc<Session> {
        let mut map = self.map.locked();
        map.entry(did.to_string())
            .or_insert_with(|| {
                Arc::new(Session {
                    did: did.to_string(),
                    guard: Guard::new(self.in_flight, self.max_waiting),
                    label: session_id(did),
                    state: Mutex::new(State {
                        next_place: 0,
                        current: None,
                        rotate: None,
                        failures: 0,
                        last_used: Instant::now(),
                        gateway: 0,
                    }),
                    turns: Line::new(),
                })
            })
            .clone()
    }

    /// Drops sessions idle for longer than `idle` with nothing in flight,
    /// and gives them back (for their metrics series to go too).
    pub fn expire(&self, idle: Duration) -> Vec<Arc<Session>> {
        let mut map = self.map.locked();
        let mut gone = Vec::new();
        map.retain(|_, s| {
            let keep = s.idle_for() < idle || s.guard.in_flight() > 0 || s.guard.waiting() > 0;
            if !keep {
                gone.push(s.clone());
            }
            keep
        });
        gone
    }

    pub fn len(&self) -> usize {
        self.map.locked().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (session label, in flight, waiting) of every session.
    pub fn load(&self) -> Vec<(String, usize, usize)> {
        self.map
            .locked()
            .values()
            .map(|s| (s.label.clone(), s.guard.in_flight(), s.guard.waiting()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lpbridge_contract::ladder::{FrameRate, default_ladder, renditions};

    fn ladder(w: u32, h: u32) -> Vec<Profile> {
        renditions(&default_ladder(), w, h, Some(FrameRate { num: 60, den: 1 }))
    }

    /// The next segment's claim, in its turn.
    async fn claim(s: &Arc<Session>, profiles: &[Profile]) -> Claim {
        s.ticket().turn().await.0.claim(profiles)
    }

    #[tokio::test]
    async fn manifests_seq_and_rotation_after_refusals() {
        let sessions = Sessions::new(2, 2);
        let s = sessions.get("did:plc:abc.def");
        let landscape = ladder(1920, 1080);
        let a = claim(&s, &landscape).await;
        assert!(
            a.manifest.starts_with("didplcabcdef-") && a.manifest.ends_with("-4ren"),
            "{}",
            a.manifest
        );
        let id = &a.manifest["didplcabcdef-".len().."didplcabcdef-".len() + 8];
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
        assert_eq!(
            (a.seq, a.rotation.as_ref()),
            (0, None),
            "the first manifest is no rotation"
        );
        assert_eq!(claim(&s, &landscape).await.seq, 1);
        drop(s.ticket()); // a segment that failed before it was sent
        assert_eq!(claim(&s, &landscape).await.seq, 3, "its place is used");
        for i in 0..4 {
            assert_eq!(s.report(&a.manifest, Outcome::Refused, 5), None, "failure {i}");
        }
        assert_eq!(
            s.report(&a.manifest, Outcome::Transcoded, 5),
            None,
            "a success resets the count"
        );
        for _ in 0..4 {
            s.report(&a.manifest, Outcome::Refused, 5);
        }
        let why = s
            .report(&a.manifest, Outcome::Refused, 5)
            .expect("rotates after 5 refused pushes in a row");
        assert_eq!(
            (why.reason, why.detail.as_str()),
            (Reason::Refused, "5 pushes refused by the gateway in a row")
        );
        let fresh = claim(&s, &landscape).await;
        assert_ne!(fresh.manifest, a.manifest);
        assert_eq!(fresh.seq, 0);
        assert_eq!(
            fresh.rotation,
            Some(Rotation {
                from: a.manifest.clone(),
                change: why
            })
        );
        assert_eq!(claim(&s, &landscape).await.seq, 1, "one rotation, not one per segment");
        assert!(Arc::ptr_eq(&s, &sessions.get("did:plc:abc.def")));
        assert_eq!(sessions.expire(Duration::ZERO).len(), 1);
        assert!(sessions.is_empty());
    }

    #[tokio::test]
    async fn a_phone_that_turns_opens_a_manifest_at_each_turn() {
        let s = Sessions::new(2, 2).get("did:plc:phone");
        let (portrait, landscape) = (ladder(1080, 1920), ladder(1920, 1080));
        let first = claim(&s, &portrait).await;
        assert_eq!(claim(&s, &portrait).await.seq, 1);
        let turned = claim(&s, &landscape).await;
        assert_eq!(turned.seq, 0);
        let rotation = turned.rotation.clone().unwrap();
        assert_eq!(
            (rotation.from.as_str(), rotation.change.reason),
            (first.manifest.as_str(), Reason::Orientation)
        );
        let next = claim(&s, &landscape).await;
        assert_eq!((next.manifest.as_str(), next.seq), (turned.manifest.as_str(), 1));
        let back = claim(&s, &portrait).await;
        assert_eq!(back.seq, 0);
        assert_ne!(back.manifest, first.manifest, "a manifest is never reopened at seq 0");
    }

    /// Segments probed out of order still decide in stream order: the one
    /// at place 2 waits for place 1, and the turn is back in one manifest.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_come_in_stream_order_and_a_given_up_place_passes_its_turn() {
        let s = Sessions::new(2, 2).get("did:plc:order");
        let (portrait, landscape) = (ladder(1080, 1920), ladder(1920, 1080));
        let (t0, t1, t2, t3) = (s.ticket(), s.ticket(), s.ticket(), s.ticket());
        let later = tokio::spawn(async move { t2.turn().await.0.claim(&ladder(1920, 1080)) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!later.is_finished(), "place 2 waits for places 0 and 1");
        let a = t0.turn().await.0.claim(&portrait);
        let b = t1.turn().await.0.claim(&landscape);
        let c = later.await.unwrap();
        assert_eq!((b.seq, c.manifest.as_str(), c.seq), (0, b.manifest.as_str(), 1));
        assert_eq!(b.rotation.unwrap().from, a.manifest);
        drop(t3);
        assert_eq!(claim(&s, &landscape).await.seq, 3, "place 3 gave up its turn");
        // An old manifest's failures say nothing of the new one.
        for _ in 0..5 {
            assert_eq!(s.report(&a.manifest, Outcome::Mismatch, 2), None);
        }
        s.report(&b.manifest, Outcome::Mismatch, 2);
        let why = s.report(&b.manifest, Outcome::Mismatch, 2).unwrap();
        assert_eq!(why.reason, Reason::Mismatch);
        assert_eq!(s.report(&b.manifest, Outcome::Mismatch, 2), None, "decided once");
        let fresh = claim(&s, &landscape).await;
        assert_eq!(
            (fresh.seq, fresh.rotation.unwrap().change.reason),
            (0, Reason::Mismatch)
        );
    }
}
