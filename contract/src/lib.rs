//! The shapes both sides of the bridge's contract speak, written once.
//!
//! The media library, the guest component (its session and its edge
//! routes) and the native host all depend on this crate, so a shape
//! cannot drift between them: the compiler, not a test, keeps the sides
//! equal. It parses no media and does no I/O. The host's `wasmtime`
//! bindings and the guest's `wit-bindgen` bindings map to these types
//! where they cross the WIT, with exhaustive conversions.
//!
//! - [`ladder`]: the rendition ladder (host policy, and the edge
//!   component's default, one code), the profiles a gateway is asked for,
//!   and the `Livepeer-Transcode-Configuration` header they are sent in.
//! - [`segment`]: what a segment holds, and the JSON `probe` prints.
//! - [`error`] and [`transcode`]: every error a segment can give, with its
//!   words.
//! - [`finding`]: what `check` finds, its codes, and its JSON.
//! - [`timeline`]: where each sample of a segment sits, for drawing it.
//! - [`manifest`]: when a segment needs a new manifest, and why: the rule
//!   the host's sessions and every check of a run share.
//! - [`reply`]: each error's kind, HTTP status and JSON.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod finding;
pub mod ladder;
pub mod manifest;
pub mod reply;
pub mod segment;
pub mod timeline;
pub mod transcode;

pub use error::{MediaError, MultipartError};
pub use finding::{Finding, FindingCode, Location, Report, Severity, TrackKind};
pub use ladder::{FrameRate, H264Profile, Profile, Rung};
pub use reply::{ErrorKind, ErrorReply};
pub use segment::{AudioCodec, AudioInfo, SegmentInfo, VideoCodec, VideoInfo};
pub use transcode::{Check, Mismatch, Rendition, TranscodeError, TransportError};
