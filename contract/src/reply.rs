//! What a failed request answers, on both HTTP faces of the bridge
//! (`lpbridge serve` and the edge component): a stable kind, its HTTP
//! status, and the JSON `{"error": kind, "message": …}`.

use serde_json::json;

/// Every kind of error either face answers: its name is for scripts and
/// metrics labels, never reworded; its status is the HTTP one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The segment has no video.
    NoVideo,
    /// The segment has no audio.
    NoAudio,
    /// A codec the bridge does not carry.
    UnsupportedCodec,
    /// The segment's bytes contradict the format.
    Malformed,
    /// Too large: a declared count or size, or the request body.
    TooLarge,
    /// The segment ends before a structure it declares.
    Truncated,
    /// The request itself: a parameter, a header, a path.
    BadRequest,
    /// No such route.
    NotFound,
    /// The route takes another method.
    MethodNotAllowed,
    /// The edge component lacks a setting it needs.
    NotConfigured,
    /// `POST /admin/reload` kept the running component.
    ReloadRefused,
    /// The session already has its segments waiting.
    Backlog,
    /// The host holds all the segments its memory budget allows: another
    /// host, or this one in a moment, takes it.
    OverBudget,
    /// The host refused a request the component made.
    Denied,
    /// A limit on the exchange with the gateway ran out.
    Timeout,
    /// The exchange with the gateway failed.
    GatewayTransport,
    /// The gateway answered with another status than 200.
    GatewayStatus,
    /// The gateway's 200 could not be read as renditions.
    GatewayAnswer,
    /// A rendition could not be joined.
    Rendition,
    /// A rendition failed a check under strict verification.
    RenditionMismatch,
    /// The component failed (a trap, a limit of its sandbox).
    Component,
}

impl ErrorKind {
    /// Its name, in JSON and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NoVideo => "no-video",
            ErrorKind::NoAudio => "no-audio",
            ErrorKind::UnsupportedCodec => "unsupported-codec",
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::NotFound => "not-found",
            ErrorKind::MethodNotAllowed => "method-not-allowed",
            ErrorKind::NotConfigured => "not-configured",
            ErrorKind::ReloadRefused => "reload-refused",
            ErrorKind::Backlog => "backlog",
            ErrorKind::OverBudget => "over-budget",
            ErrorKind::Denied => "denied",
            ErrorKind::Timeout => "timeout",
            ErrorKind::GatewayTransport => "gateway-transport",
            ErrorKind::GatewayStatus => "gateway-status",
            ErrorKind::GatewayAnswer => "gateway-answer",
            ErrorKind::Rendition => "rendition",
            ErrorKind::RenditionMismatch => "rendition-mismatch",
            ErrorKind::Component => "component",
        }
    }

    /// Its HTTP status: the caller's fault is a 4xx, the gateway's a 502
    /// (504 for its time), the bridge's own a 500 or 503.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::NoVideo
            | ErrorKind::NoAudio
            | ErrorKind::UnsupportedCodec
            | ErrorKind::Malformed
            | ErrorKind::Truncated
            | ErrorKind::BadRequest => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::ReloadRefused => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::Backlog => 429,
            ErrorKind::Component => 500,
            ErrorKind::Denied
            | ErrorKind::GatewayTransport
            | ErrorKind::GatewayStatus
            | ErrorKind::GatewayAnswer
            | ErrorKind::Rendition
            | ErrorKind::RenditionMismatch => 502,
            ErrorKind::NotConfigured | ErrorKind::OverBudget => 503,
            ErrorKind::Timeout => 504,
        }
    }
}

impl ErrorKind {
    /// Seconds after which the same request may succeed, for a
    /// `Retry-After` header: a host over its memory budget frees it as its
    /// segments finish, in about a segment's length.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            ErrorKind::OverBudget => Some(1),
            _ => None,
        }
    }
}

/// An answer other than the renditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    /// What failed.
    pub kind: ErrorKind,
    /// One line, for people.
    pub message: String,
}

impl ErrorReply {
    /// A reply of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorReply {
            kind,
            message: message.into(),
        }
    }

    /// Its HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// `{"error": kind, "message": …}`.
    pub fn json(&self) -> String {
        json!({ "error": self.kind.as_str(), "message": self.message }).to_string()
    }

    /// A request body over `limit` bytes.
    pub fn body_too_large(limit: usize) -> Self {
        ErrorReply::new(
            ErrorKind::TooLarge,
            format!("segment bodies are limited to {limit} bytes"),
        )
    }

    /// A route asked with another method.
    pub fn wrong_method() -> Self {
        ErrorReply::new(ErrorKind::MethodNotAllowed, "see the README for the routes")
    }

    /// No route.
    pub fn not_found() -> Self {
        ErrorReply::new(ErrorKind::NotFound, "no such route")
    }
}
