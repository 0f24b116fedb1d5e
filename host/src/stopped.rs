//! Why the sandbox stopped a call, named by the host's limit that fired,
//! with its value: a typed error a caller can turn into a finding or a
//! status, instead of wasmtime's trap text.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, Trap};

/// A call the sandbox ended before the component answered.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error("the component needed more than its {} MiB of memory", .0 >> 20)]
    Memory(usize),
    #[error("the component ran past the call deadline of {0:?}")]
    Deadline(Duration),
    #[error("the component trapped: {0}")]
    Trap(Trap),
}

impl Stopped {
    /// What stopped a call that failed with `e`: the memory cap if the
    /// store refused a growth (the guest's allocator then aborts), the
    /// deadline on an epoch interrupt, else the trap itself. `None` when
    /// `e` is not a trap (a host error, which keeps its own message).
    pub fn of(e: &anyhow::Error, cap: &MemoryCap, deadline: Duration) -> Option<Stopped> {
        let trap = e.downcast_ref::<Trap>().copied();
        match trap {
            _ if cap.refused => Some(Stopped::Memory(cap.limit)),
            Some(Trap::Interrupt) => Some(Stopped::Deadline(deadline)),
            Some(t) => Some(Stopped::Trap(t)),
            None => None,
        }
    }
}

/// The store's limits, remembering whether a memory growth was refused.
pub struct MemoryCap {
    limits: StoreLimits,
    limit: usize,
    refused: bool,
}

impl MemoryCap {
    pub fn new(limit: usize) -> Self {
        MemoryCap {
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(limit)
                .instances(4)
                .build(),
            limit,
            refused: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allow = self.limits.memory_growing(current, desired, maximum)?;
        self.refused |= !allow;
        Ok(allow)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}
