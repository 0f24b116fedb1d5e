//! What the edge answers, in the shapes `lpbridge serve` answers them
//! (the contract crate's, so the two cannot drift): JSON errors
//! `{"error": kind, "message": ...}` with serve's statuses and kinds, the
//! segment's info as `lpbridge probe` prints it, findings as `lpbridge
//! check --json` prints them, and renditions as `multipart/mixed` parts
//! with serve's part headers.

use serde_json::json;

use lpbridge_contract::finding::Report;
use lpbridge_contract::ladder::{Rung, renditions};
use lpbridge_contract::reply::{ErrorKind, ErrorReply};

use crate::session::{Rendition, TranscodeError};

/// An answer other than the renditions: the contract's, as serve's.
pub type Failure = ErrorReply;

/// A request the edge cannot take: a path, a header, its body.
pub fn bad_request(message: impl Into<String>) -> Failure {
    ErrorReply::new(ErrorKind::BadRequest, message)
}

/// The edge lacks a setting it needs.
pub fn not_configured(why: &crate::edge::ConfigError) -> Failure {
    ErrorReply::new(ErrorKind::NotConfigured, why.to_string())
}

/// A failed segment, as serve answers it. The manifest is the caller's
/// here (the path's), so a manifest that cannot address the gateway is a
/// bad request, where serve's own manifests never are.
pub fn failure(e: &TranscodeError) -> Failure {
    match e {
        TranscodeError::InvalidTarget(_) => bad_request(e.to_string()),
        e => ErrorReply::from(e),
    }
}

/// `GET /healthz`.
pub fn health_json() -> String {
    json!({
        "status": "ok",
        "component": "edge",
        "version": env!("CARGO_PKG_VERSION"),
        "contract": crate::edge::CONTRACT,
    })
    .to_string()
}

/// A segment's findings, as `lpbridge serve` answers `POST /v1/check`,
/// with the rungs `ladder` would ask for.
pub fn check_json(report: &Report, ladder: &[Rung]) -> String {
    let rungs = report
        .info
        .as_ref()
        .and_then(|i| i.video.as_ref())
        .map(|v| renditions(ladder, v.width, v.height, v.frame_rate))
        .unwrap_or_default();
    report.to_json(&rungs).to_string()
}

/// A boundary from 80 random bits, as serve makes its own.
pub fn boundary(a: u64, b: u64) -> String {
    format!("{a:016x}{:04x}", b & 0xffff)
}

/// The delimiter and headers before a rendition's MP4, as serve (and
/// go-livepeer) frame them; the first part has no CRLF before its
/// delimiter.
pub fn part_head(boundary: &str, first: bool, r: &Rendition) -> Vec<u8> {
    format!(
        "{lead}--{boundary}\r\nContent-Disposition: attachment; filename=\"{n}.mp4\"\r\nContent-Length: {len}\r\nContent-Resolution: {w}x{h}\r\nContent-Type: video/mp4\r\nRendition-Name: {n}\r\n\r\n",
        lead = if first { "" } else { "\r\n" },
        n = r.name,
        len = r.mp4.len(),
        w = r.width,
        h = r.height
    )
    .into_bytes()
}

/// The close delimiter, after the last part.
pub fn close(boundary: &str) -> Vec<u8> {
    format!("\r\n--{boundary}--\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::TransportError;
    use lpbridge_media::Error;
    use lpbridge_media::multipart::{self, PartBody};

    #[test]
    fn failures_take_serves_status_and_kind() {
        let cases = [
            (TranscodeError::Media(Error::malformed("moov", "x")), 400, "malformed"),
            (TranscodeError::Media(Error::too_large("mdat", 9, 1)), 413, "too-large"),
            (
                TranscodeError::Transport(TransportError::FirstByteTimeout),
                504,
                "timeout",
            ),
            (
                TranscodeError::Transport(TransportError::ConnectionRefused),
                502,
                "gateway-transport",
            ),
            (
                TranscodeError::Status {
                    status: 503,
                    body: "busy".into(),
                },
                502,
                "gateway-status",
            ),
            (TranscodeError::MissingRendition("720p".into()), 502, "gateway-answer"),
            (
                TranscodeError::Rendition("720p".into(), Error::NoVideo),
                502,
                "rendition",
            ),
        ];
        for (e, status, kind) in cases {
            let f = failure(&e);
            assert_eq!((f.status(), f.kind.as_str()), (status, kind), "{}", f.message);
        }
        let f = failure(&TranscodeError::Status {
            status: 503,
            body: "busy".into(),
        });
        assert_eq!(
            f.json(),
            r#"{"error":"gateway-status","message":"gateway answered 503: busy"}"#
        );
    }

    #[test]
    fn parts_read_back_with_the_multipart_parser() {
        let r = |name: &str, mp4: &[u8]| Rendition {
            name: name.into(),
            width: 640,
            height: 360,
            frames: 1,
            mp4: mp4.to_vec(),
            mismatches: Vec::new(),
        };
        let b = boundary(0x0123_4567_89ab_cdef, 0x1_2345);
        assert_eq!(b, "0123456789abcdef2345");
        let mut body = part_head(&b, true, &r("720p", b"one"));
        body.extend_from_slice(b"one");
        body.extend(part_head(&b, false, &r("360p", b"\r\n--two")));
        body.extend_from_slice(b"\r\n--two");
        body.extend(close(&b));
        let parts = multipart::parse(&format!("multipart/mixed; boundary={b}"), &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].name.as_deref(), Some("360p"));
        assert_eq!(parts[1].body, PartBody::Bytes(b"\r\n--two".to_vec()));
        let resolution = parts[0]
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-resolution"));
        assert_eq!(resolution.map(|(_, v)| v.as_str()), Some("640x360"));
    }
}
