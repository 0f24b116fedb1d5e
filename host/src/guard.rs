//! The per-session in-flight guard (upstream's `Guard`, SegmentsInFlight =
//! 2): a slot is taken just before a segment's request goes out and given
//! back when the gateway's response headers arrive. Segments take slots in
//! their stream order (their `Place`s in the guard's line), whatever order
//! they reach it in. Waiting for a slot can be cancelled, and more than
//! `max_waiting` waiters is a backlog error at once, so a stuck gateway
//! cannot pile up segments.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::line::{Line, Place};

pub struct Guard {
    slots: Arc<Semaphore>,
    capacity: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// The session's segments, in stream order.
    line: Arc<Line>,
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
            line: Line::new(),
        })
    }

    /// The place of a segment in the line to this guard.
    pub fn place(&self, place: u64) -> Place {
        self.line.place(place)
    }

    pub fn in_flight(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Takes a slot, waiting if need be: at `place`, after every segment
    /// before it has taken one or given up (a retry, whose place has
    /// passed, has none). The place passes once the slot is held, or when
    /// this gives up. Cancel-safe: dropping the future while it waits
    /// leaves the counts right and gives the place up.
    pub async fn acquire(&self, place: Option<Place>) -> Result<Slot, Backlog> {
        if place.as_ref().is_none_or(Place::is_first)
            && let Ok(p) = self.slots.clone().try_acquire_owned()
        {
            return Ok(Slot(p));
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiter = Waiter(&self.waiting);
        if before >= self.max_waiting {
            return Err(Backlog { waiting: before });
        }
        if let Some(p) = &place {
            p.first().await;
        }
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        drop(place);
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
        let a = g.acquire(None).await.unwrap();
        let _b = g.acquire(None).await.unwrap();
        assert_eq!(g.in_flight(), 2);
        let g1 = g.clone();
        let w1 = tokio::spawn(async move { g1.acquire(None).await.map(|_| ()) });
        let g2 = g.clone();
        let w2 = tokio::spawn(async move { g2.acquire(None).await.map(|_| ()) });
        while g.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(g.acquire(None).await.unwrap_err(), Backlog { waiting: 2 });
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
        let _held = g.acquire(None).await.unwrap();
        let fut = g.acquire(None);
        let r = tokio::time::timeout(std::time::Duration::from_millis(10), fut).await;
        assert!(r.is_err());
        assert_eq!(g.waiting(), 0);
    }

    /// Slots go in place order, whichever place asks first; a place given
    /// up (a backlog refusal, a cancelled wait) lets the next one go.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slots_go_in_place_order() {
        let g = Guard::new(1, 5);
        let held = g.acquire(Some(g.place(0))).await.unwrap();
        let (g2, p2) = (g.clone(), g.place(2));
        let second = tokio::spawn(async move { g2.acquire(Some(p2)).await.map(drop) });
        while g.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        let (g1, p1) = (g.clone(), g.place(1));
        let first = tokio::spawn(async move { g1.acquire(Some(p1)).await });
        while g.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        drop(held);
        let slot = first.await.unwrap().unwrap();
        assert!(!second.is_finished(), "place 2 asked first, but 1 comes before it");
        drop(slot);
        second.await.unwrap().unwrap();
        let p3 = g.place(3);
        drop(g.place(4)); // gave up before asking
        drop(p3);
        assert!(g.place(5).is_first());
    }
}
