//! Why a segment did not come back as renditions: the session's errors,
//! and the checks of each rendition against what was asked.

use std::fmt;

use crate::error::{MediaError, MultipartError};
use crate::reply::{ErrorKind, ErrorReply};

/// Why a segment did not come back as renditions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeError {
    /// Its message is the media error's own: the segment is the subject.
    #[error("{0}")]
    Media(MediaError),
    /// A rendition could not be joined: its name, and why.
    #[error("rendition {0}: {1}")]
    Rendition(String, MediaError),
    /// The exchange with the gateway failed.
    #[error("gateway transport: {0}")]
    Transport(TransportError),
    /// The gateway URL or manifest cannot make a request.
    #[error("cannot address the gateway: {0}")]
    InvalidTarget(String),
    /// The gateway answered with another status than 200.
    #[error("gateway answered {status}: {body}")]
    Status {
        /// Its HTTP status.
        status: u16,
        /// Its plain-text answer, at most [`MAX_ERROR_BODY`] characters.
        body: String,
    },
    /// A 200 whose body is not `multipart/mixed`: its content type.
    #[error("gateway answer: 200 without multipart/mixed ({0:?})")]
    NotMultipart(String),
    /// The multipart body was cut short or malformed.
    #[error("gateway answer: {0}")]
    Multipart(MultipartError),
    /// A profile got no part.
    #[error("gateway answer: no part for rendition {0}")]
    MissingRendition(String),
    /// A part names no profile that was asked for.
    #[error("gateway answer: unexpected part {0}")]
    UnexpectedRendition(String),
    /// A part came as a URL (object storage), which is not fetched: its
    /// name and the URL.
    #[error("gateway answer: rendition {0} came as a URL: {1}")]
    UrlRendition(String, String),
    /// Under strict verification, the first check a rendition failed.
    #[error("rendition {name}: {mismatch}")]
    Mismatch {
        /// Rendition-Name of its part.
        name: String,
        /// The check, and what it found.
        mismatch: Mismatch,
    },
}

impl TranscodeError {
    /// Its kind, for JSON errors, HTTP statuses and metrics labels.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TranscodeError::Media(m) => m.kind(),
            TranscodeError::Rendition(..) => ErrorKind::Rendition,
            TranscodeError::Transport(t) => t.kind(),
            TranscodeError::InvalidTarget(_) => ErrorKind::GatewayTransport,
            TranscodeError::Status { .. } => ErrorKind::GatewayStatus,
            TranscodeError::NotMultipart(_)
            | TranscodeError::Multipart(_)
            | TranscodeError::MissingRendition(_)
            | TranscodeError::UnexpectedRendition(_)
            | TranscodeError::UrlRendition(..) => ErrorKind::GatewayAnswer,
            TranscodeError::Mismatch { .. } => ErrorKind::RenditionMismatch,
        }
    }
}

/// A failed segment answers its kind and its own words.
impl From<&TranscodeError> for ErrorReply {
    fn from(e: &TranscodeError) -> Self {
        ErrorReply::new(e.kind(), e.to_string())
    }
}

/// The longest error body kept from a gateway (catalyst-api keeps 10,000).
pub const MAX_ERROR_BODY: usize = 10_000;

/// How an exchange with the gateway failed, from the `wasi:http`
/// error-code the host gave. The limits are the host's; it names them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No connection within the host's connect limit.
    #[error("no connection within the connect limit")]
    ConnectTimeout,
    /// The gateway's port refused the connection.
    #[error("connection refused")]
    ConnectionRefused,
    /// No response head within the host's first-byte limit.
    #[error("no response head within the first-byte limit")]
    FirstByteTimeout,
    /// The answer's body went quiet past the host's between-bytes limit.
    #[error("the answer went quiet for longer than the between-bytes limit")]
    BetweenBytesTimeout,
    /// The connection closed or was reset before the answer ended.
    #[error("the connection ended before the answer did")]
    ConnectionTerminated,
    /// The host refused the request (it knows why).
    #[error("the host refused the request")]
    Denied,
    /// Another `wasi:http` error-code, by its name, on one line.
    #[error("{0}")]
    Other(String),
}

impl TransportError {
    /// Its kind: a limit run into is a timeout, the host's refusal its own.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransportError::ConnectTimeout | TransportError::FirstByteTimeout | TransportError::BetweenBytesTimeout => {
                ErrorKind::Timeout
            }
            TransportError::Denied => ErrorKind::Denied,
            TransportError::ConnectionRefused | TransportError::ConnectionTerminated | TransportError::Other(_) => {
                ErrorKind::GatewayTransport
            }
        }
    }
}

/// A finished rendition: its MP4, joined with the source's audio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendition {
    /// Rendition-Name of its part.
    pub name: String,
    /// Displayed width, from its SPS.
    pub width: u32,
    /// Displayed height, likewise.
    pub height: u32,
    /// Its video frames.
    pub frames: u32,
    /// The MP4.
    pub mp4: Vec<u8>,
    /// The checks it failed, when they warn rather than fail the segment.
    pub mismatches: Vec<Mismatch>,
}

/// Which property of a rendition disagreed with its profile or source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Displayed size (the SPS with cropping) against the profile's.
    Size,
    /// Frames against the profile's rate over the source's duration.
    FrameCount,
    /// From the first presented frame to the end of the last.
    Duration,
    /// The first frame in decode order must be a keyframe.
    FirstFrame,
    /// Every frame must start inside the source's time range.
    Timestamps,
}

impl Check {
    /// The metric label and the name in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Size => "size",
            Check::FrameCount => "frame-count",
            Check::Duration => "duration",
            Check::FirstFrame => "first-frame",
            Check::Timestamps => "timestamps",
        }
    }
}

/// One failed check. `expected` and `got` are for people; `what` is for
/// programs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The check that failed.
    pub what: Check,
    /// What was asked ("284x160", "54 to 60 frames").
    pub expected: String,
    /// What came back ("1920x1080", "30 frames").
    pub got: String,
}

/// `1920x1080, asked 284x160`; `frame-count 25 frames, asked 44 to 49
/// frames`.
impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            Check::Size => write!(f, "{}, asked {}", self.got, self.expected),
            what => write!(f, "{} {}, asked {}", what.as_str(), self.got, self.expected),
        }
    }
}
