//! The shapes both sides of the bridge's contract speak, written once.
//!
//! The guest component (its session and its edge routes) and the native
//! host both depend on this crate, so a shape cannot drift between them:
//! the compiler, not a test, keeps the two sides equal. It parses no media
//! and does no I/O. The host's `wasmtime` bindings and the guest's
//! `wit-bindgen` bindings map to these types where they cross the WIT.
//!
//! - [`ladder`]: the rendition ladder (host policy, and the edge
//!   component's default, one code), the profiles a gateway is asked for,
//!   and the `Livepeer-Transcode-Configuration` header they are sent in.

#![forbid(unsafe_code)]

pub mod ladder;

pub use ladder::{FrameRate, H264Profile, Profile, Rung};
