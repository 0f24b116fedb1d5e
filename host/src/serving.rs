//! The component in service: the one every new call gets, since when, and
//! its swap (calls running keep the one they started with). The bridge
//! serves from it; the canary promotes into it.

use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::lock::{Locked, Shared};
use crate::metrics::Metrics;
use crate::runtime::Runtime;

pub struct Serving {
    runtime: RwLock<Arc<Runtime>>,
    since: Mutex<SystemTime>,
    metrics: Arc<Metrics>,
}

impl Serving {
    pub fn new(runtime: Runtime, metrics: Arc<Metrics>) -> Self {
        let serving = Serving {
            runtime: RwLock::new(Arc::new(runtime)),
            since: Mutex::new(SystemTime::now()),
            metrics,
        };
        serving.label();
        serving
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.reading().clone()
    }

    pub fn since(&self) -> SystemTime {
        *self.since.locked()
    }

    /// Puts `runtime` in service for every call that starts from now on.
    pub fn swap_in(&self, runtime: Arc<Runtime>) {
        *self.runtime.writing() = runtime;
        *self.since.locked() = SystemTime::now();
        self.metrics.hot_swaps.inc();
        self.label();
    }

    /// `lpbridge_component_info`: this one alone.
    fn label(&self) {
        let hash = self.runtime().hash.clone();
        self.metrics.component.reset();
        self.metrics
            .component
            .with_label_values(&[env!("CARGO_PKG_VERSION"), &hash])
            .set(1);
    }
}
