//! The native side of the Livepeer bridge: runs the remux component under
//! wasmtime and offers it as the `lpbridge` command.

pub mod bindings;
pub mod bridge;
pub mod budget;
pub mod canary;
pub mod capture;
pub mod check;
pub mod check_page;
pub mod cli;
pub mod components;
pub mod connect;
#[cfg(feature = "gateway")]
pub mod demo;
pub mod failover;
pub mod file_name;
pub mod guard;
pub mod http_error;
pub mod line;
pub mod local;
pub mod lock;
pub mod metrics;
pub mod policy;
pub mod runtime;
pub mod server;
pub mod serving;
pub mod session;
pub mod stopped;
pub mod swap;

/// The ladder and its profiles, from the contract crate the guest shares:
/// host policy and the edge's default are one code.
pub use lpbridge_contract::ladder;

pub use runtime::{Limits, Runtime};

pub use components::{CONTRACT, EDGE_COMPONENT, EMBEDDED_COMPONENT};
