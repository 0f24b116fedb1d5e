//! The remux and multipart core of the Livepeer bridge.
//!
//! Pure functions from bytes to bytes and typed errors: no clocks, no
//! globals, no I/O. The same code runs natively (tests, benches, fuzzing)
//! and as a `wasm32-wasip2` component, where `component.rs` is a thin layer
//! of WIT glue over it.
//!
//! - [`split`]: MP4 segment → MPEG-TS (video) + MP4 (audio, verbatim).
//! - [`join`]: rendition TS + that audio MP4 → one MP4 on the source's
//!   timeline, progressive or fragmented.
//! - [`multipart`]: the gateway's `multipart/mixed` answer, incrementally.
//! - [`edge`]: the routes of the `wasi:http/proxy` component.

pub mod buf;
pub mod check;
pub mod edge;
pub mod error;
pub mod fuzz;
pub mod h264;
pub mod info;
pub mod join;
pub mod mp4;
pub mod multipart;
pub mod opus;
pub mod session;
pub mod split;
pub mod time;
pub mod ts;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod component;

/// The ladder and its profiles, from the contract crate the host shares.
pub use lpbridge_contract::ladder;

pub use error::{Error, Result};
pub use info::{AudioCodec, AudioInfo, FrameRate, SegmentInfo, VideoCodec, VideoInfo};
pub use join::{JoinOptions, Joined, join, join_rendition};
pub use split::{Split, TS_OFFSET, probe, split};
