//! Places in a line, passing a point in their order: a segment's place in
//! its creator's stream, waiting at a point (its manifest claim, the
//! session's in-flight guard) until every place before it has passed or
//! given up. A place dropped without passing gives up, so the places after
//! it are never stuck behind a segment that failed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::lock::Locked;

#[derive(Default)]
pub struct Line {
    passed: Mutex<Passed>,
    /// Woken whenever a place passes.
    moved: Notify,
}

#[derive(Default)]
struct Passed {
    /// Every place before this one has passed.
    before: u64,
    /// Places after `before` that already passed.
    ahead: BTreeSet<u64>,
}

/// One place in a `Line`; it passes when dropped.
pub struct Place {
    line: Arc<Line>,
    place: u64,
}

impl Line {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn place(self: &Arc<Self>, place: u64) -> Place {
        Place {
            line: self.clone(),
            place,
        }
    }

    fn pass(&self, place: u64) {
        let mut p = self.passed.locked();
        p.ahead.insert(place);
        while p.ahead.first() == Some(&p.before) {
            p.ahead.pop_first();
            p.before += 1;
        }
        drop(p);
        self.moved.notify_waiters();
    }
}

impl Place {
    pub fn number(&self) -> u64 {
        self.place
    }

    /// Whether every place before this one has passed.
    pub fn is_first(&self) -> bool {
        self.line.passed.locked().before >= self.place
    }

    /// Waits until every place before this one has passed. Cancel-safe.
    pub async fn first(&self) {
        loop {
            let moved = self.line.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.is_first() {
                return;
            }
            moved.await;
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.line.pass(self.place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_place_waits_for_those_before_it_and_a_dropped_one_gives_up() {
        let line = Line::new();
        let (p0, p1, p2) = (line.place(0), line.place(1), line.place(2));
        let third = tokio::spawn(async move { p2.first().await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished(), "place 2 waits for 0 and 1");
        drop(p1); // passed out of order: 0 still holds the line
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!third.is_finished());
        assert!(p0.is_first());
        drop(p0);
        third.await.unwrap();
        assert!(line.place(3).is_first(), "0, 1 and 2 have all passed");
    }
}
