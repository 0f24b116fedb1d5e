//! Several gateways, and what to do when one falters: which failures are
//! worth another attempt, how long to wait before it, and which gateway
//! it goes to. A gateway whose connections fail is left alone for a
//! cool-down, so a dead one costs one failed attempt per cool-down, not
//! one per segment.
//!
//! What a request met on the wire is read by the host's own `wasi:http`
//! hooks (`policy::Sent`), never from the guest's error text.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock::Locked;
use crate::policy::{Origin, Sent};

/// Why a failed attempt is tried again; the `reason` label of
/// `lpbridge_retries_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// No connection: refused, unreachable, or the connect limit. The
    /// next gateway is tried at once, and this one cools down.
    Connect,
    /// The connection ended before the response head.
    Reset,
    /// 500, 502, 503 or 504.
    Status(u16),
}

impl Retry {
    /// What an attempt met, if it is worth another. Never after a 200
    /// (the gateway did the work), never on a 4xx (it would refuse again),
    /// never on a first-byte timeout (it may still be transcoding).
    pub fn of(sent: Option<Sent>) -> Option<Retry> {
        match sent? {
            Sent::ConnectFailed => Some(Retry::Connect),
            Sent::ResetBeforeHead => Some(Retry::Reset),
            Sent::Head(s @ (500 | 502 | 503 | 504)) => Some(Retry::Status(s)),
            Sent::Head(_) | Sent::FirstByteTimeout | Sent::TlsFailed => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Retry::Connect => "connect",
            Retry::Reset => "reset",
            Retry::Status(500) => "500",
            Retry::Status(502) => "502",
            Retry::Status(503) => "503",
            Retry::Status(_) => "504",
        }
    }
}

/// The delay before retry `n` (from 0): `base` doubled each time, up to
/// `max`, with "equal jitter" (half fixed, half random) so that the
/// sessions of a gateway that came back do not all return at once.
pub fn backoff(n: u32, base: Duration, max: Duration, random: u64) -> Duration {
    let full = base.saturating_mul(1u32 << n.min(16)).min(max);
    let half = full / 2;
    let spread = half.as_nanos() as u64;
    half + Duration::from_nanos(if spread == 0 { 0 } else { random % spread })
}

/// What the last attempt at a gateway met: an operator's and a health
/// check's view of it, not the cool-down (which only several gateways
/// have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contact {
    /// Not tried since this host started.
    Unknown,
    /// The last attempt got a response head (whatever its status) or
    /// waited for one on an open connection.
    Up,
    /// The last attempt could not connect, or the connection ended before
    /// the response head.
    Down,
}

impl Contact {
    /// What an attempt met, or `None` when nothing was sent.
    pub fn of(sent: Option<Sent>) -> Option<Contact> {
        Some(match sent? {
            Sent::Head(_) | Sent::FirstByteTimeout => Contact::Up,
            Sent::ConnectFailed | Sent::ResetBeforeHead | Sent::TlsFailed => Contact::Down,
        })
    }

    /// Its name in `/healthz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Contact::Unknown => "unknown",
            Contact::Up => "up",
            Contact::Down => "down",
        }
    }
}

/// One configured gateway.
pub struct Gateway {
    pub url: String,
    pub origin: Origin,
    /// Set by a connection failure: not tried again before then.
    down_until: Mutex<Option<Instant>>,
    last_error: Mutex<Option<String>>,
    contact: Mutex<Contact>,
}

impl Gateway {
    /// What the last attempt at it met.
    pub fn contact(&self) -> Contact {
        *self.contact.locked()
    }

    pub fn set_contact(&self, contact: Contact) {
        *self.contact.locked() = contact;
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.locked().clone()
    }

    pub fn set_last_error(&self, e: String) {
        *self.last_error.locked() = Some(e);
    }
}

/// The configured gateways, in order.
pub struct Gateways {
    list: Vec<Gateway>,
    cooldown: Duration,
}

impl Gateways {
    pub fn new(urls: &[String], cooldown: Duration) -> anyhow::Result<Self> {
        if urls.is_empty() {
            anyhow::bail!("no gateway configured");
        }
        let list = urls
            .iter()
            .map(|url| {
                let origin =
                    Origin::parse(url).ok_or_else(|| anyhow::anyhow!("gateway {url:?} is not an http(s) URL"))?;
                Ok(Gateway {
                    url: url.clone(),
                    origin,
                    down_until: Mutex::new(None),
                    last_error: Mutex::new(None),
                    contact: Mutex::new(Contact::Unknown),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Gateways { list, cooldown })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn get(&self, i: usize) -> &Gateway {
        &self.list[i % self.list.len()]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Gateway> {
        self.list.iter()
    }

    /// The first gateway from `from` on (wrapping) that may be tried,
    /// skipping `avoid` when another may. A gateway whose cool-down is over
    /// is taken by one caller only, as a probe: it stays marked down for
    /// everyone else until that attempt succeeds (`mark_up`) or fails
    /// (`mark_down` again), so a dead gateway costs one attempt per
    /// cool-down however many segments are in flight.
    pub fn pick(&self, from: usize, avoid: Option<usize>) -> Option<usize> {
        let n = self.list.len();
        let order = (0..n).map(|k| (from + k) % n);
        let preferred = order.clone().filter(|&i| Some(i) != avoid).find(|&i| self.take(i));
        preferred.or_else(|| avoid.filter(|&i| self.take(i % n)).map(|i| i % n))
    }

    /// Whether gateway `i` may be tried now; takes the probe of an
    /// expired cool-down.
    fn take(&self, i: usize) -> bool {
        let mut down = self.get(i).down_until.locked();
        match *down {
            None => true,
            Some(t) if Instant::now() < t => false,
            Some(_) => {
                *down = Some(Instant::now() + self.cooldown);
                true
            }
        }
    }

    /// Its connections fail: left alone for the cool-down.
    pub fn mark_down(&self, i: usize) {
        *self.get(i).down_until.locked() = Some(Instant::now() + self.cooldown);
    }

    /// It answered: tried again by everyone.
    pub fn mark_up(&self, i: usize) {
        *self.get(i).down_until.locked() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_what_another_attempt_can_mend() {
        assert_eq!(Retry::of(Some(Sent::ConnectFailed)), Some(Retry::Connect));
        assert_eq!(Retry::of(Some(Sent::ResetBeforeHead)), Some(Retry::Reset));
        for s in [500, 502, 503, 504] {
            assert_eq!(Retry::of(Some(Sent::Head(s))), Some(Retry::Status(s)));
        }
        for s in [200, 400, 404, 422, 501] {
            assert_eq!(Retry::of(Some(Sent::Head(s))), None, "{s}");
        }
        assert_eq!(Retry::of(Some(Sent::FirstByteTimeout)), None);
        assert_eq!(Retry::of(Some(Sent::TlsFailed)), None, "a TLS mismatch is no reset");
        assert_eq!(Retry::of(None), None, "nothing was sent");
    }

    #[test]
    fn a_gateway_is_up_once_it_answers_and_down_when_it_cannot_be_reached() {
        assert_eq!(Contact::of(Some(Sent::Head(503))), Some(Contact::Up));
        assert_eq!(Contact::of(Some(Sent::FirstByteTimeout)), Some(Contact::Up));
        assert_eq!(Contact::of(Some(Sent::ConnectFailed)), Some(Contact::Down));
        assert_eq!(Contact::of(Some(Sent::ResetBeforeHead)), Some(Contact::Down));
        assert_eq!(Contact::of(None), None, "nothing was sent: nothing learnt");
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_half_of_it_random() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for (n, full) in [(0, 100), (1, 200), (2, 400), (3, 800), (4, 1000), (30, 1000)] {
            let full = Duration::from_millis(full);
            assert_eq!(backoff(n, base, max, 0), full / 2);
            let most = backoff(n, base, max, u64::MAX - 1);
            assert!(most >= full / 2 && most < full, "{n}: {most:?}");
        }
    }

    #[test]
    fn a_gateway_that_is_down_is_skipped_until_its_cool_down_ends() {
        let urls = ["http://127.0.0.1:1".to_string(), "http://127.0.0.1:2".to_string()];
        let g = Gateways::new(&urls, Duration::from_millis(50)).unwrap();
        assert_eq!(g.pick(0, None), Some(0));
        assert_eq!(g.pick(0, Some(0)), Some(1), "a retry goes elsewhere");
        g.mark_down(0);
        assert_eq!(g.pick(0, None), Some(1));
        g.mark_down(1);
        assert_eq!(g.pick(0, None), None, "both down");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(g.pick(0, None), Some(0), "the cool-down is over: a probe");
        assert_eq!(g.pick(0, None), Some(1), "one probe at a time");
        g.mark_up(0);
        assert_eq!(g.pick(0, None), Some(0));
        assert!(Gateways::new(&["ftp://x".to_string()], Duration::ZERO).is_err());
    }
}
