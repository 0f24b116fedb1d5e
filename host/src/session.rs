//! Sessions, one per creator DID, as upstream's `LivepeerSession`: the
//! manifest is `<did without ':' and '.'>-<8 chars [a-z0-9]>-<N>ren`, so a
//! change in the number of renditions opens a new manifest at the gateway;
//! `seq` counts from 0 and is claimed under a lock (upstream's was not);
//! after `rotate_after` refused pushes in a row the session moves to a fresh
//! manifest with `seq` back at 0, since go-livepeer can keep a manifest
//! stuck on "No sessions available". Idle sessions expire.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::guard::Guard;

pub struct Session {
    pub did: String,
    pub guard: Arc<Guard>,
    state: Mutex<State>,
}

struct State {
    /// `<did>-<8 chars>`.
    id: String,
    next_seq: u64,
    failures: u32,
    last_used: Instant,
    /// Which of the configured gateways it uses (taken modulo their number).
    gateway: usize,
}

/// What a segment was sent as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub manifest: String,
    pub seq: u64,
}

/// A claimed sequence number in a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub id: String,
    pub seq: u64,
}

impl Ticket {
    /// The manifest for `renditions` renditions: a change in their number
    /// opens a new manifest at the gateway (upstream issue #72).
    pub fn claim(&self, renditions: usize) -> Claim {
        Claim {
            manifest: format!("{}-{renditions}ren", self.id),
            seq: self.seq,
        }
    }
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
    /// The session id and sequence number for the next segment, claimed
    /// in call order; the manifest adds the rendition count (`Ticket::claim`).
    pub fn ticket(&self) -> Ticket {
        let mut s = self.state.lock().unwrap();
        s.last_used = Instant::now();
        let seq = s.next_seq;
        s.next_seq += 1;
        Ticket { id: s.id.clone(), seq }
    }

    /// `ticket` and `claim` at once.
    pub fn claim(&self, renditions: usize) -> Claim {
        self.ticket().claim(renditions)
    }

    /// Records how a push went; returns the new session id if it rotated.
    pub fn report(&self, refused: bool, rotate_after: u32) -> Option<String> {
        let mut s = self.state.lock().unwrap();
        s.last_used = Instant::now();
        if !refused {
            s.failures = 0;
            return None;
        }
        s.failures += 1;
        if s.failures < rotate_after {
            return None;
        }
        s.id = session_id(&self.did);
        s.next_seq = 0;
        s.failures = 0;
        Some(s.id.clone())
    }

    /// The gateway this session sends to.
    pub fn gateway(&self) -> usize {
        self.state.lock().unwrap().gateway
    }

    pub fn set_gateway(&self, gateway: usize) {
        self.state.lock().unwrap().gateway = gateway;
    }

    pub fn id(&self) -> String {
        self.state.lock().unwrap().id.clone()
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
                    state: Mutex::new(State {
                        id: session_id(did),
                        next_seq: 0,
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

    /// (session id, in flight, waiting) of every session.
    pub fn load(&self) -> Vec<(String, usize, usize)> {
        self.map
            .lock()
            .unwrap()
            .values()
            .map(|s| (s.id(), s.guard.in_flight(), s.guard.waiting()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_seq_and_rotation() {
        let sessions = Sessions::new(2, 2);
        let s = sessions.get("did:plc:abc.def");
        let a = s.claim(3);
        assert!(
            a.manifest.starts_with("didplcabcdef-") && a.manifest.ends_with("-3ren"),
            "{}",
            a.manifest
        );
        let id = &a.manifest["didplcabcdef-".len().."didplcabcdef-".len() + 8];
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()), "{id}");
        assert_eq!(a.seq, 0);
        assert_eq!(s.claim(3).seq, 1);
        let b = s.claim(2);
        assert!(b.manifest.ends_with("-2ren"));
        assert_eq!(b.seq, 2);
        for i in 0..4 {
            assert_eq!(s.report(true, 5), None, "failure {i}");
        }
        assert_eq!(s.report(false, 5), None, "a success resets the count");
        for _ in 0..4 {
            s.report(true, 5);
        }
        let fresh = s.report(true, 5).expect("rotates after 5 refused pushes in a row");
        assert_ne!(fresh, a.manifest[..a.manifest.len() - 5]);
        assert_eq!(s.claim(3).seq, 0);
        assert!(Arc::ptr_eq(&s, &sessions.get("did:plc:abc.def")));
        assert_eq!(sessions.expire(Duration::ZERO), 1);
        assert!(sessions.is_empty());
    }
}
