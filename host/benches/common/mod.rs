//! What the benches share: one way of timing.

use std::time::{Duration, Instant};

/// Median wall time of `f` after one warm-up run, run until `budget` is
/// spent (3 to 200 runs).
pub fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let mut runs = Vec::new();
    let start = Instant::now();
    while runs.len() < 3 || (start.elapsed() < budget && runs.len() < 200) {
        let t = Instant::now();
        f();
        runs.push(t.elapsed());
    }
    runs.sort();
    runs[runs.len() / 2]
}
