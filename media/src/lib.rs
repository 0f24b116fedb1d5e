//! The media library of the Livepeer bridge.
//!
//! Pure functions from bytes to bytes and typed errors: no clocks, no
//! globals, no I/O, no unsafe code. The same code runs natively (tests,
//! benches, fuzzing, the built-in gateway) and inside the bridge's
//! `wasm32-wasip2` components, which add only WIT glue.
//!
//! - [`split`]: MP4 segment → MPEG-TS (video) + MP4 (audio, verbatim);
//!   [`probe`] describes a segment without splitting it.
//! - [`join`]: rendition TS + that audio MP4 → one MP4 on the source's
//!   timeline, progressive or fragmented.
//! - [`multipart`]: the gateway's `multipart/mixed` answer, incrementally.
//! - [`check`]: findings about a segment nobody trusts; [`verify`]: a
//!   rendition against its profile and its source.
//! - [`mp4`], [`ts`], [`h264`], [`time`]: the formats, as far as a
//!   segment needs them, for the built-in gateway and the tests.
//! - [`limits`]: every limit the library holds its input to.
//!
//! The shapes it shares with the host (the segment's description, the
//! errors, the findings, the ladder's profiles) are the contract crate's.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Numbers read from a segment reach its casts: none may wrap or truncate
// without saying so (`num.rs`). Tests make their own numbers.
#![cfg_attr(
    not(test),
    warn(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)
)]

mod buf;
mod error;
mod info;
mod join;
mod num;
mod opus;
mod split;

pub mod check;
pub mod h264;
pub mod limits;
pub mod mp4;
pub mod multipart;
pub mod time;
pub mod ts;
pub mod verify;

/// The properties the fuzz targets check.
#[cfg(feature = "fuzz")]
pub mod fuzz;

pub use error::{Error, Result};
pub use info::{AudioCodec, AudioInfo, FrameRate, SegmentInfo, VideoCodec, VideoInfo};
pub use join::{JoinOptions, Joined, join, join_rendition};
pub use split::{Planned, Split, TS_CHUNK, TS_OFFSET, plan, probe, split};
