//! Human-readable text and stable kind names for the component's errors.

use crate::bindings::multipart::MultipartError;
use crate::bindings::types::MediaError;

/// A short stable name for metrics and JSON (`"malformed"`, ...).
pub fn media_kind(e: &MediaError) -> &'static str {
    match e {
        MediaError::NoVideo => "no-video",
        MediaError::NoAudio => "no-audio",
        MediaError::UnsupportedCodec(_) => "unsupported-codec",
        MediaError::Malformed(_) => "malformed",
        MediaError::TooLarge(_) => "too-large",
        MediaError::Truncated(_) => "truncated",
    }
}

pub fn media_message(e: &MediaError) -> String {
    match e {
        MediaError::NoVideo => "no video in segment".into(),
        MediaError::NoAudio => "no audio in segment".into(),
        MediaError::UnsupportedCodec(c) => format!("unsupported codec: {c}"),
        MediaError::Malformed(m) => format!("malformed input at {}: {}", m.at, m.reason),
        MediaError::TooLarge(t) => {
            format!("too large: {} is {}, limit {}", t.what, t.size, t.limit)
        }
        MediaError::Truncated(w) => format!("truncated input: {w}"),
    }
}

pub fn multipart_message(e: &MultipartError) -> String {
    match e {
        MultipartError::BadContentType(m) => format!("bad content type: {m}"),
        MultipartError::Malformed(m) => {
            format!("malformed multipart at byte {}: {}", m.at, m.reason)
        }
        MultipartError::Truncated(m) => format!("truncated multipart body: {m}"),
        MultipartError::TooLarge(t) => {
            format!("too large: {} is {}, limit {}", t.what, t.size, t.limit)
        }
    }
}

/// A component error as a Rust error, for `?` in the CLI.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ComponentError {
    pub kind: &'static str,
    pub message: String,
}

impl From<MediaError> for ComponentError {
    fn from(e: MediaError) -> Self {
        ComponentError {
            kind: media_kind(&e),
            message: media_message(&e),
        }
    }
}

impl From<MultipartError> for ComponentError {
    fn from(e: MultipartError) -> Self {
        let kind = match e {
            MultipartError::BadContentType(_) => "bad-content-type",
            MultipartError::Malformed(_) => "malformed",
            MultipartError::Truncated(_) => "truncated",
            MultipartError::TooLarge(_) => "too-large",
        };
        ComponentError {
            kind,
            message: multipart_message(&e),
        }
    }
}
