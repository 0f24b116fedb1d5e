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

/// The texts above render the contract's types on this side of the
/// boundary; the guest renders its own errors (natively, and in the edge
/// component, which has no host). Both must read the same: this test holds
/// every variant to the guest's wording.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::multipart::MultipartMalformed;
    use crate::bindings::types::{Malformed, TooLarge};
    use lpbridge_guest::Error as Guest;
    use lpbridge_guest::multipart::MultipartError as GuestMultipart;

    #[test]
    fn media_texts_are_the_guests() {
        let too_large = || TooLarge {
            what: "stsz".into(),
            size: 9,
            limit: 3,
        };
        let pairs = [
            (MediaError::NoVideo, Guest::NoVideo),
            (MediaError::NoAudio, Guest::NoAudio),
            (
                MediaError::UnsupportedCodec("hvc1".into()),
                Guest::UnsupportedCodec("hvc1".into()),
            ),
            (
                MediaError::Malformed(Malformed {
                    at: "trak 1/stsz".into(),
                    reason: "short".into(),
                }),
                Guest::Malformed {
                    at: "trak 1/stsz".into(),
                    reason: "short".into(),
                },
            ),
            (
                MediaError::TooLarge(too_large()),
                Guest::TooLarge {
                    what: "stsz".into(),
                    size: 9,
                    limit: 3,
                },
            ),
            (MediaError::Truncated("moov".into()), Guest::Truncated("moov".into())),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(media_message(&ours), theirs.to_string());
            assert_eq!(media_kind(&ours), theirs.kind());
        }
    }

    #[test]
    fn multipart_texts_are_the_guests() {
        let pairs = [
            (
                MultipartError::BadContentType("text/plain".into()),
                GuestMultipart::BadContentType("text/plain".into()),
            ),
            (
                MultipartError::Malformed(MultipartMalformed {
                    at: 12,
                    reason: "no CRLF".into(),
                }),
                GuestMultipart::Malformed {
                    at: 12,
                    reason: "no CRLF".into(),
                },
            ),
            (
                MultipartError::Truncated("part 2".into()),
                GuestMultipart::Truncated("part 2".into()),
            ),
            (
                MultipartError::TooLarge(TooLarge {
                    what: "header".into(),
                    size: 9,
                    limit: 3,
                }),
                GuestMultipart::TooLarge {
                    what: "header".into(),
                    size: 9,
                    limit: 3,
                },
            ),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(multipart_message(&ours), theirs.to_string());
        }
    }
}
