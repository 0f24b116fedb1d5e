//! The components this host is built with, and the contract they speak:
//! `build.rs` compiles the guest for `wasm32-wasip2` and reads the WIT's
//! package line.

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
