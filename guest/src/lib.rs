//! The Livepeer bridge's WASI components, over the media library.
//!
//! - [`session`]: the pure half of a segment's trip through a gateway
//!   (what to send, what to make of each part), for the `bridge` world.
//! - [`edge`]: the routes of the `edge` world, a standard
//!   `wasi:http/proxy` component.
//! - `component` (wasm32 only): the WIT glue, which converts between the
//!   bindings and the library's types and moves bytes over `wasi:http`.
//!
//! Like the media library it stays pure: bytes in, bytes and typed errors
//! out; policy (limits, timeouts, who may be called) is the host's.

// No unsafe code of ours; wit-bindgen's generated bindings are the only
// unsafe code, in `component`.
#![deny(unsafe_code)]

pub mod edge;
pub mod session;
pub mod variant;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;

/// The ladder and its profiles, from the contract crate the host shares.
pub use lpbridge_contract::ladder;
