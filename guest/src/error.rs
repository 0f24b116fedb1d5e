//! One flat error type for every entry point, so the component boundary maps
//! it to the WIT `media-error` variant without losing information.

use std::fmt;

/// What went wrong with an input. Every variant says where, so a failing
/// segment can be found again with a hex editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The segment has no H.264 video track (or the TS no video stream).
    #[error("no video in segment")]
    NoVideo,
    /// The segment has no audio track.
    #[error("no audio in segment")]
    NoAudio,
    /// A codec we do not carry, named by its FourCC or stream type.
    #[error("unsupported codec: {0}")]
    UnsupportedCodec(String),
    /// The bytes contradict the format.
    #[error("malformed input at {at}: {reason}")]
    Malformed { at: String, reason: String },
    /// A declared count or size is more than the input could hold.
    #[error("too large: {what} is {size}, limit {limit}")]
    TooLarge { what: String, size: u64, limit: u64 },
    /// The input ends before a structure it declares.
    #[error("truncated input: {0}")]
    Truncated(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A short stable name, for JSON errors and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoVideo => "no-video",
            Error::NoAudio => "no-audio",
            Error::UnsupportedCodec(_) => "unsupported-codec",
            Error::Malformed { .. } => "malformed",
            Error::TooLarge { .. } => "too-large",
            Error::Truncated(_) => "truncated",
        }
    }

    /// A `Malformed` error; `at` names the structure (box path, packet index).
    pub fn malformed(at: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Error::Malformed {
            at: at.to_string(),
            reason: reason.to_string(),
        }
    }

    /// A `Truncated` error naming the structure that was cut.
    pub fn truncated(what: impl fmt::Display) -> Self {
        Error::Truncated(what.to_string())
    }

    /// A `TooLarge` error.
    pub fn too_large(what: impl fmt::Display, size: u64, limit: u64) -> Self {
        Error::TooLarge {
            what: what.to_string(),
            size,
            limit,
        }
    }
}
