//! A Livepeer-compatible gateway that really transcodes.
//!
//! It speaks go-livepeer's push endpoint (`POST /live/{manifest}/{seq}.ts`,
//! the `Livepeer-Transcode-Configuration` header, a chunked
//! `multipart/mixed` answer with one part per profile) and does the work a
//! Livepeer orchestrator would: decode the segment's H.264 with openh264,
//! scale it with fast_image_resize's SIMD kernels, and encode each profile
//! with openh264 at its size, bitrate and frame rate, keeping the input's
//! timestamps. Everything builds from source with cargo; no system library
//! is needed.
//!
//! - [`config`]: the configuration header and the profiles it names.
//! - [`transcode`]: one segment through the whole ladder, renditions in
//!   parallel.
//! - [`server`]: the HTTP endpoint with implicit, expiring sessions.
//! - [`synth`]: a sample segment (test pattern + silent Opus) made with the
//!   same encoder, for the demo and for tests.

pub mod config;
pub mod encode;
pub mod error;
pub mod multipart;
pub mod picture;
pub mod server;
pub mod synth;
pub mod transcode;

pub use config::{Rendition, TranscodeConfig};
pub use error::TranscodeError;
pub use server::{Gateway, GatewayOptions};
pub use transcode::{Container, Output, transcode};
