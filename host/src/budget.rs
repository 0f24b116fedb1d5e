//! The memory a host lets its segments in flight hold: each segment
//! reserves what it will need before its body is read, and gives it back
//! when its answer has been written. A segment that would not fit is
//! refused at once (503 with `Retry-After`), so that a burst of large
//! uploads, or a few hostile ones at the body limit, cannot take the
//! machine's memory.
//!
//! What a segment holds is not known until it is done, so it reserves an
//! estimate from its size (`cost`), and the reservation grows to the bytes
//! it really held when they turn out larger (many renditions of a large
//! source): the estimate decides admission, the reservations count what is
//! held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What a segment of `n` bytes holds in flight, at most, as a multiple of
/// its size: its body; its TS, buffered by the host while the session's
/// slot is taken (`policy::REQUEST_BODY_CHUNKS`); the component's copy of
/// the segment; the gateway's answer and the renditions joined from it;
/// and the reply written from them. Measured (`host/tests/serve.rs`,
/// `forty_large_uploads_stay_within_the_memory_budget`) and rounded up.
pub const SEGMENT_COST: u64 = 4;

/// The least a budget may be, in MiB.
pub const MIN_MIB: u64 = 16;

/// What a segment of `n` bytes reserves.
pub fn cost(n: u64) -> u64 {
    n.saturating_mul(SEGMENT_COST)
}

pub struct Budget {
    limit: u64,
    held: AtomicU64,
    /// Reservations alive: the segments (and checks) in flight.
    segments: AtomicUsize,
}

/// A segment that would not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not now: what is held leaves no room for it.
    #[error(
        "this host holds {held} MiB of segments in flight; {cost} MiB more would pass its memory budget of {limit} MiB (--memory-budget-mib)",
        held = .held >> 20, cost = .cost.div_ceil(1 << 20), limit = .limit >> 20
    )]
    Full { held: u64, cost: u64, limit: u64 },
    /// Never: larger than the whole budget.
    #[error(
        "a segment of {size} bytes needs {cost} MiB in flight, more than this host's whole memory budget of {limit} MiB (--memory-budget-mib)",
        cost = .cost.div_ceil(1 << 20), limit = .limit >> 20
    )]
    Never { size: u64, cost: u64, limit: u64 },
}

/// Bytes held by one segment; given back when dropped.
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Budget {
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Budget {
            limit,
            held: AtomicU64::new(0),
            segments: AtomicUsize::new(0),
        })
    }

    /// The default budget: half the memory this process may use (the
    /// machine's, or its cgroup's limit when lower), leaving the rest to
    /// the process itself and the machine.
    pub fn default_limit() -> u64 {
        let machine = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
            .map_or(u64::MAX, |kb| kb << 10);
        // cgroup v2: "max" or a number of bytes.
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        match machine.min(cgroup) {
            u64::MAX => 1 << 30,
            bytes => (bytes / 2).max(MIN_MIB << 20),
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn held(&self) -> u64 {
        self.held.load(Ordering::SeqCst)
    }

    pub fn segments(&self) -> usize {
        self.segments.load(Ordering::SeqCst)
    }

    /// Whether it could take a segment now: what is held leaves a tenth of
    /// the budget free. A load balancer's readiness check reads it.
    pub fn has_room(&self) -> bool {
        self.held() <= self.limit - self.limit / 10
    }

    /// Reserves the cost of a segment of `size` bytes, or says why not.
    pub fn reserve(self: &Arc<Self>, size: u64) -> Result<Reservation, Refused> {
        self.segments.fetch_add(1, Ordering::SeqCst);
        let mut reservation = Reservation {
            budget: self.clone(),
            bytes: 0,
        };
        reservation.grow(size)?;
        Ok(reservation)
    }
}

impl Reservation {
    /// Reserves the cost of `size` more bytes of the segment (a body whose
    /// length was not declared, read a chunk at a time).
    pub fn grow(&mut self, size: u64) -> Result<(), Refused> {
        let cost = cost(size);
        if cost == 0 {
            return Ok(());
        }
        let budget = &self.budget;
        if self.bytes.saturating_add(cost) > budget.limit {
            return Err(Refused::Never {
                size: (self.bytes / SEGMENT_COST).saturating_add(size),
                cost: self.bytes.saturating_add(cost),
                limit: budget.limit,
            });
        }
        budget
            .held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(cost).filter(|after| *after <= budget.limit)
            })
            .map_err(|held| Refused::Full {
                held,
                cost,
                limit: budget.limit,
            })?;
        self.bytes += cost;
        Ok(())
    }

    /// Counts `bytes` as held when the segment turned out to hold more
    /// than it reserved; it was admitted, so this never refuses.
    pub fn at_least(&mut self, bytes: u64) {
        if bytes > self.bytes {
            self.budget.held.fetch_add(bytes - self.bytes, Ordering::SeqCst);
            self.bytes = bytes;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::SeqCst);
        self.budget.segments.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_or_are_refused_and_come_back() {
        let b = Budget::new(100 << 20);
        let a = b.reserve(10 << 20).unwrap();
        assert_eq!((b.held(), b.segments()), (cost(10 << 20), 1));
        let mut c = b.reserve(10 << 20).unwrap();
        assert!(b.has_room(), "80 of 100 MiB held");
        assert_eq!(
            b.reserve(10 << 20).err(),
            Some(Refused::Full {
                held: 80 << 20,
                cost: 40 << 20,
                limit: 100 << 20
            })
        );
        assert!(matches!(b.reserve(30 << 20), Err(Refused::Never { .. })));
        c.at_least(55 << 20);
        assert_eq!(b.held(), 95 << 20, "the renditions held more than reserved");
        assert!(!b.has_room(), "95 of 100 MiB held");
        drop((a, c));
        assert_eq!((b.held(), b.segments()), (0, 0), "a refused one holds nothing");
        assert!(b.has_room());
        let message = Refused::Full {
            held: 80 << 20,
            cost: 40 << 20,
            limit: 100 << 20,
        }
        .to_string();
        assert!(
            message.contains("80 MiB") && message.contains("--memory-budget-mib"),
            "{message}"
        );
    }

    #[test]
    fn the_default_is_half_the_memory_there_is() {
        let limit = Budget::default_limit();
        assert!(limit >= MIN_MIB << 20, "{limit}");
    }
}
