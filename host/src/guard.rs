//! The per-session in-flight guard (upstream's `Guard`, SegmentsInFlight =
//! 2): a slot is taken just before a segment's request goes out and given
//! back when the gateway's response headers arrive. Waiting for a slot can
//! be cancelled, and more than `max_waiting` waiters is a backlog error at
//! once, so a stuck gateway cannot pile up segments.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct Guard {
    slots: Arc<Semaphore>,
    capacity: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// More segments were waiting than the backlog allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("backlog: {waiting} segments already waiting for a slot")]
pub struct Backlog {
    pub waiting: usize,
}

/// A held slot; dropping it gives it back.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

impl Guard {
    pub fn new(in_flight: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(Guard {
            slots: Arc::new(Semaphore::new(in_flight)),
            capacity: in_flight,
            waiting: AtomicUsize::new(0),
            max_waiting,
        })
    }

    pub fn in_flight(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Takes a slot, waiting if need be. Cancel-safe: dropping the future
    /// while it waits leaves the counts right.
    pub async fn acquire(&self) -> Result<Slot, Backlog> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(Slot(p));
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiter = Waiter(&self.waiting);
        if before >= self.max_waiting {
            return Err(Backlog { waiting: before });
        }
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Ok(Slot(permit))
    }
}

/// Counts a waiter for as long as it lives.
struct Waiter<'a>(&'a AtomicUsize);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_in_flight_two_waiting_then_backlog() {
        let g = Guard::new(2, 2);
        let a = g.acquire().await.unwrap();
        let _b = g.acquire().await.unwrap();
        assert_eq!(g.in_flight(), 2);
        let g1 = g.clone();
        let w1 = tokio::spawn(async move { g1.acquire().await.map(|_| ()) });
        let g2 = g.clone();
        let w2 = tokio::spawn(async move { g2.acquire().await.map(|_| ()) });
        while g.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(g.acquire().await.unwrap_err(), Backlog { waiting: 2 });
        assert_eq!(g.waiting(), 2, "a refused waiter does not count");
        drop(a);
        w1.await.unwrap().unwrap();
        w2.abort(); // cancelled while waiting, or it got the freed slot
        let _ = w2.await;
        assert_eq!(g.waiting(), 0);
    }

    #[tokio::test]
    async fn cancelled_waiters_leave_no_trace() {
        let g = Guard::new(1, 5);
        let _held = g.acquire().await.unwrap();
        let fut = g.acquire();
        let r = tokio::time::timeout(std::time::Duration::from_millis(10), fut).await;
        assert!(r.is_err());
        assert_eq!(g.waiting(), 0);
    }
}
