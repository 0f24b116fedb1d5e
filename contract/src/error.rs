//! The errors a segment's bytes and a gateway's answer can give, with
//! their texts: the guest returns them, the host reports them, the edge
//! component answers them. One wording, whichever side speaks.

use std::fmt;

use crate::reply::ErrorKind;

/// What went wrong with an input. Every variant says where, so a failing
/// segment can be found again with a hex editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
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
    Malformed {
        /// Where: a box path, a TS packet index, a byte offset.
        at: String,
        /// What is wrong there.
        reason: String,
    },
    /// A declared count or size is more than the input could hold.
    #[error("too large: {what} is {size}, limit {limit}")]
    TooLarge {
        /// The count or size, named.
        what: String,
        /// What was declared.
        size: u64,
        /// The most there can be.
        limit: u64,
    },
    /// The input ends before a structure it declares.
    #[error("truncated input: {0}")]
    Truncated(String),
}

impl MediaError {
    /// Its kind, for JSON errors, HTTP statuses and metrics labels.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MediaError::NoVideo => ErrorKind::NoVideo,
            MediaError::NoAudio => ErrorKind::NoAudio,
            MediaError::UnsupportedCodec(_) => ErrorKind::UnsupportedCodec,
            MediaError::Malformed { .. } => ErrorKind::Malformed,
            MediaError::TooLarge { .. } => ErrorKind::TooLarge,
            MediaError::Truncated(_) => ErrorKind::Truncated,
        }
    }

    /// A `Malformed` error; `at` names the structure (box path, packet index).
    pub fn malformed(at: impl fmt::Display, reason: impl fmt::Display) -> Self {
        MediaError::Malformed {
            at: at.to_string(),
            reason: reason.to_string(),
        }
    }

    /// A `Truncated` error naming the structure that was cut.
    pub fn truncated(what: impl fmt::Display) -> Self {
        MediaError::Truncated(what.to_string())
    }

    /// A `TooLarge` error.
    pub fn too_large(what: impl fmt::Display, size: u64, limit: u64) -> Self {
        MediaError::TooLarge {
            what: what.to_string(),
            size,
            limit,
        }
    }
}

/// Why a gateway's `multipart/mixed` answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// Not `multipart/mixed` with a usable boundary.
    #[error("bad content type: {0}")]
    BadContentType(String),
    /// The body contradicts the framing.
    #[error("malformed multipart at byte {at}: {reason}")]
    Malformed {
        /// The byte offset in the body.
        at: u64,
        /// What is wrong there.
        reason: String,
    },
    /// The body ended before the close delimiter.
    #[error("truncated multipart body: {0}")]
    Truncated(String),
    /// A part's header block is over its limit.
    #[error("too large: {what} is {size}, limit {limit}")]
    TooLarge {
        /// The block, named.
        what: String,
        /// Its size so far.
        size: u64,
        /// The most there can be.
        limit: u64,
    },
}
