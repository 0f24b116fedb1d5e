//! Sessions, one per creator DID, as upstream's `LivepeerSession`, with the
//! manifest owned by the profiles it was opened with.
//!
//! - A manifest is `<did without ':' and '.'>-<8 chars [a-z0-9]>-<N>ren`, N
//!   the number of renditions, as upstream names them.
//! - Each segment takes its place in the stream (`Ticket`) in call order,
//!   before it is probed. Once the ladder has given its profiles, `claim`
//!   puts it in the manifest open at its place: its seq is its distance from
//!   the segment that opened that manifest, so seqs follow the stream
//!   whatever order the probes finish in, and none is given twice.
//! - A segment whose profiles differ from its manifest's
//!   (`manifest::change`) opens a new manifest at seq 0. So does the first
//!   segment after `rotate_after` failures in a row of the current manifest
//!   (refused pushes, as upstream, or renditions refused by verification).
//! - Segments already claimed into the old manifest finish there, with the
//!   seq and the profiles they were sent with; their outcome no longer
//!   counts toward rotating the new one. A late probe of a segment placed
//!   before the new manifest's first still goes to the old one.
//!
//! Idle sessions expire.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bindings::session::Profile;
use crate::guard::Guard;
use crate::manifest::{self, Change, Reason};

/// Manifests kept for late claims; older ones take no more segments.
const KEPT: usize = 4;

pub struct Session {
    pub did: String,
    pub guard: Arc<Guard>,
    /// `<did>-<8 chars>` from the session's start: its metrics label, which
    /// stays put as manifests come and go.
    pub label: String,
    state: Mutex<State>,
}

struct State {
    /// The next segment's place in the stream.
    next_place: u64,
    /// The manifests segments can still be claimed into, by the place of
    /// the segment that opened each, oldest first.
    manifests: VecDeque<Manifest>,
    /// Failures asked for a fresh manifest: the first segment claimed from
    /// this place on opens one.
    rotate_from: Option<(u64, Change)>,
    /// Failures in a row of the newest manifest.
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

/// A segment's place in its creator's stream, taken in call order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub place: u64,
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
            let c = char::from_digit((v % 36) as u32, 36).unwrap();
            v /= 36;
            c
        })
        .collect()
}

pub fn session_id(did: &str) -> String {
    let clean: String = did.chars().filter(|c| *c != ':' && *c != '.').collect();
    format!("{clean}-{}", trailer())
}

impl Session {
    /// The next segment's place in the stream: call in segment order.
    pub fn ticket(&self) -> Ticket {
        let mut s = self.state.lock().unwrap();
        s.last_used = Instant::now();
        let place = s.next_place;
        s.next_place += 1;
        Ticket { place }
    }

    /// The manifest and seq of the segment at `ticket`, which asks for
    /// `profiles`; opens a new manifest when the one at its place was
    /// opened with other profiles, or failures asked for a fresh one.
    pub fn claim(&self, ticket: Ticket, profiles: &[Profile]) -> Claim {
        let mut s = self.state.lock().unwrap();
        s.last_used = Instant::now();
        let place = ticket.place;
        let at = s.manifests.iter().rposition(|m| m.opened_at <= place);
        let rotate = s
            .rotate_from
            .as_ref()
            .filter(|(from, _)| place >= *from && at.is_none_or(|i| s.manifests[i].opened_at < *from))
            .map(|(_, why)| why.clone());
        let rotating = rotate.is_some();
        let change = match (at, rotate) {
            (_, Some(why)) => Some(why),
            (Some(i), None) => {
                let m = &s.manifests[i];
                match manifest::change(&m.profiles, profiles) {
                    None => {
                        return Claim {
                            manifest: m.name.clone(),
                            seq: place - m.opened_at,
                            rotation: None,
                        };
                    }
                    some => some,
                }
            }
            (None, None) => None,
        };
        let name = format!("{}-{}ren", session_id(&self.did), profiles.len());
        let rotation = change.map(|change| Rotation {
            from: at.map_or_else(String::new, |i| s.manifests[i].name.clone()),
            change,
        });
        if rotating {
            s.rotate_from = None;
        }
        let slot = at.map_or(0, |i| i + 1);
        s.manifests.insert(
            slot,
            Manifest {
                name: name.clone(),
                profiles: profiles.to_vec(),
                opened_at: place,
            },
        );
        if slot + 1 == s.manifests.len() {
            s.failures = 0; // a new newest manifest starts its own count
        }
        if s.manifests.len() > KEPT {
            s.manifests.pop_front();
        }
        Claim {
            manifest: name,
            seq: 0,
            rotation,
        }
    }

    /// Records how a segment sent to `manifest` went. After `rotate_after`
    /// failures in a row of the newest manifest, the next segment claimed
    /// opens a fresh one; returns why when that was decided now. Outcomes
    /// of older manifests are not counted.
    pub fn report(&self, manifest: &str, outcome: Outcome, rotate_after: u32) -> Option<Change> {
        let mut s = self.state.lock().unwrap();
        s.last_used = Instant::now();
        if s.manifests.back().is_none_or(|m| m.name != manifest) || s.rotate_from.is_some() {
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
        s.rotate_from = Some((s.next_place, change.clone()));
        Some(change)
    }

    /// The gateway this session sends to.
    pub fn gateway(&self) -> usize {
        self.state.lock().unwrap().gateway
    }

    pub fn set_gateway(&self, gateway: usize) {
        self.state.lock().unwrap().gateway = gateway;
    }

    fn idle_for(&self) -> Duration {
        self.state.lock().unwrap().last_used.elapsed()
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
        let mut map = self.map.lock().unwrap();
        map.entry(did.to_string())
            .or_insert_with(|| {
                Arc::new(Session {
                    did: did.to_string(),
                    guard: Guard::new(self.in_flight, self.max_waiting),
                    label: session_id(did),
                    state: Mutex::new(State {
                        next_place: 0,
                        manifests: VecDeque::new(),
                        rotate_from: None,
                        failures: 0,
                        last_used: Instant::now(),
                        gateway: 0,
                    }),
                })
            })
            .clone()
    }

    /// Drops sessions idle for longer than `idle` with nothing in flight.
    pub fn expire(&self, idle: Duration) -> usize {
        let mut map = self.map.lock().unwrap();
        let before = map.len();
        map.retain(|_, s| s.idle_for() < idle || s.guard.in_flight() > 0 || s.guard.waiting() > 0);
        before - map.len()
    }

    pub fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (session label, in flight, waiting) of every session.
    pub fn load(&self) -> Vec<(String, usize, usize)> {
        self.map
            .lock()
            .unwrap()
            .values()
            .map(|s| (s.label.clone(), s.guard.in_flight(), s.guard.waiting()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::FrameRate;
    use crate::ladder::{default_ladder, renditions};

    fn ladder(w: u32, h: u32) -> Vec<Profile> {
        renditions(&default_ladder(), w, h, Some(FrameRate { num: 60, den: 1 }))
    }

    #[test]
    fn manifests_seq_and_rotation_after_refusals() {
        let sessions = Sessions::new(2, 2);
        let s = sessions.get("did:plc:abc.def");
        let landscape = ladder(1920, 1080);
        let a = s.claim(s.ticket(), &landscape);
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
        assert_eq!(s.claim(s.ticket(), &landscape).seq, 1);
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
        let fresh = s.claim(s.ticket(), &landscape);
        assert_ne!(fresh.manifest, a.manifest);
        assert_eq!(fresh.seq, 0);
        assert_eq!(
            fresh.rotation,
            Some(Rotation {
                from: a.manifest.clone(),
                change: why
            })
        );
        assert_eq!(
            s.claim(s.ticket(), &landscape).seq,
            1,
            "one rotation, not one per segment"
        );
        assert!(Arc::ptr_eq(&s, &sessions.get("did:plc:abc.def")));
        assert_eq!(sessions.expire(Duration::ZERO), 1);
        assert!(sessions.is_empty());
    }

    #[test]
    fn a_phone_that_turns_opens_a_manifest_at_each_turn() {
        let s = Sessions::new(2, 2).get("did:plc:phone");
        let (portrait, landscape) = (ladder(1080, 1920), ladder(1920, 1080));
        let first = s.claim(s.ticket(), &portrait);
        assert_eq!(s.claim(s.ticket(), &portrait).seq, 1);
        let turned = s.claim(s.ticket(), &landscape);
        assert_eq!(turned.seq, 0);
        let rotation = turned.rotation.clone().unwrap();
        assert_eq!(
            (rotation.from.as_str(), rotation.change.reason),
            (first.manifest.as_str(), Reason::Orientation)
        );
        let next = s.claim(s.ticket(), &landscape);
        assert_eq!((next.manifest.as_str(), next.seq), (turned.manifest.as_str(), 1));
        let back = s.claim(s.ticket(), &portrait);
        assert_eq!(back.seq, 0);
        assert_ne!(back.manifest, first.manifest, "a manifest is never reopened at seq 0");
    }

    #[test]
    fn late_probes_keep_their_place_and_old_outcomes_do_not_count() {
        let s = Sessions::new(2, 2).get("did:plc:late");
        let (portrait, landscape) = (ladder(1080, 1920), ladder(1920, 1080));
        let (t0, t1, t2, t3) = (s.ticket(), s.ticket(), s.ticket(), s.ticket());
        let a = s.claim(t0, &portrait);
        // The landscape segment at place 2 is probed before the portrait
        // one at place 1: each still goes to the manifest of its place.
        let b = s.claim(t2, &landscape);
        let late = s.claim(t1, &portrait);
        assert_eq!((late.manifest.as_str(), late.seq), (a.manifest.as_str(), 1));
        let c = s.claim(t3, &landscape);
        assert_eq!((c.manifest.as_str(), c.seq), (b.manifest.as_str(), 1));
        // The old manifest's failures say nothing of the new one.
        for _ in 0..5 {
            assert_eq!(s.report(&a.manifest, Outcome::Mismatch, 2), None);
        }
        s.report(&b.manifest, Outcome::Mismatch, 2);
        let why = s.report(&b.manifest, Outcome::Mismatch, 2).unwrap();
        assert_eq!(why.reason, Reason::Mismatch);
        assert_eq!(s.report(&b.manifest, Outcome::Mismatch, 2), None, "decided once");
        let fresh = s.claim(s.ticket(), &landscape);
        assert_eq!(
            (fresh.seq, fresh.rotation.unwrap().change.reason),
            (0, Reason::Mismatch)
        );
    }
}
