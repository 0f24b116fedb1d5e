//! The native side of the Livepeer bridge: runs the remux component under
//! wasmtime and offers it as the `lpbridge` command.

pub mod bindings;
pub mod bridge;
pub mod check;
pub mod cli;
pub mod connect;
pub mod demo;
pub mod errors;
pub mod failover;
pub mod file_name;
pub mod guard;
pub mod http_error;
pub mod info;
pub mod manifest;
pub mod metrics;
pub mod policy;
pub mod runtime;
pub mod server;
pub mod session;
pub mod stopped;
pub mod swap;

/// The ladder and its profiles, from the contract crate the guest shares:
/// host policy and the edge's default are one code.
pub use lpbridge_contract::ladder;

pub use errors::ComponentError;
pub use runtime::{Limits, Runtime};

/// The version of the `streamplace:livepeer` contract this host speaks, from
/// the WIT package line.
pub const CONTRACT: &str = env!("LPBRIDGE_CONTRACT");

/// The guest component of the `bridge` world, built by `build.rs` for
/// `wasm32-wasip2`: the one this host runs.
pub const EMBEDDED_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lpbridge_guest.wasm"));

/// The same library as a `wasi:http/proxy` component (the `edge` world),
/// for edge runtimes; this host only hands it out (`lpbridge component
/// edge`).
pub const EDGE_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lpbridge_edge.wasm"));
