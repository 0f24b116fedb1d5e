//! Why the gateway could not transcode a segment: the media library's
//! error, or its own.

/// Why a segment could not be transcoded.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    /// The segment is not media we can read.
    #[error(transparent)]
    Media(#[from] lpbridge_media::Error),
    /// Video, but no keyframe to start decoding from.
    #[error("no keyframes in segment")]
    NoKeyframes,
    /// openh264 could not decode an access unit: the TS packet it starts
    /// at, and openh264's words. The segment's fault, as a media error is.
    #[error("malformed input at access unit at packet {packet}: H.264 decode failed: {why}")]
    Decode { packet: usize, why: String },
    /// openh264 decoded a picture whose planes cannot be read: the TS
    /// packet its access unit starts at, and why.
    #[error("malformed input at packet {packet}: {why}")]
    Picture { packet: usize, why: String },
    /// openh264 or the scaler refused.
    #[error("codec: {0}")]
    Codec(String),
    /// The client went away.
    #[error("cancelled")]
    Cancelled,
}
