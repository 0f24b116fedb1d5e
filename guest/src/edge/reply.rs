//! What the edge answers, in the shapes `lpbridge serve` answers them: JSON
//! errors `{"error": kind, "message": ...}` with serve's statuses and kinds,
//! the segment's info as `lpbridge probe` prints it, and renditions as
//! `multipart/mixed` parts with serve's part headers.

use serde_json::{Value, json};

use crate::check::{Finding, Report, Severity, TrackKind};
use crate::info::{AudioInfo, SegmentInfo, VideoInfo};
use crate::ladder::Rung;
use crate::session::{Rendition, TranscodeError, TransportError};

/// An answer other than the renditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            status,
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(400, "bad-request", message)
    }

    pub fn json(&self) -> String {
        json!({ "error": self.kind, "message": self.message }).to_string()
    }

    /// A segment over `limit` bytes, with serve's words.
    pub fn too_large(limit: usize) -> Self {
        Failure::new(413, "too-large", format!("segment bodies are limited to {limit} bytes"))
    }

    pub fn not_configured(why: &crate::edge::ConfigError) -> Self {
        Failure::new(503, "not-configured", why.to_string())
    }

    pub fn wrong_method() -> Self {
        Failure::new(405, "method-not-allowed", "see the README for the routes")
    }

    pub fn not_found() -> Self {
        Failure::new(404, "not-found", "no such route")
    }
}

/// Serve's status and kind for each way a segment fails. The timeouts are
/// the edge host's, which the component cannot name.
impl From<TranscodeError> for Failure {
    fn from(e: TranscodeError) -> Self {
        let message = e.to_string();
        let (status, kind) = match &e {
            TranscodeError::Media(m) if m.kind() == "too-large" => (413, "too-large"),
            TranscodeError::Media(m) => (400, m.kind()),
            TranscodeError::Transport(
                TransportError::ConnectTimeout | TransportError::FirstByteTimeout | TransportError::BetweenBytesTimeout,
            ) => (504, "timeout"),
            TranscodeError::Transport(TransportError::Denied) => (502, "denied"),
            TranscodeError::Transport(_) => (502, "gateway-transport"),
            // The manifest is the caller's (the path's), checked by the route.
            TranscodeError::InvalidTarget(_) => (400, "bad-request"),
            TranscodeError::Status { .. } => (502, "gateway-status"),
            TranscodeError::Rendition(..) => (502, "rendition"),
            TranscodeError::Mismatch { .. } => (502, "rendition-mismatch"),
            _ => (502, "gateway-answer"),
        };
        Failure::new(status, kind, message)
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

/// The segment's info, in the JSON `lpbridge probe` prints.
pub fn info_json(info: &SegmentInfo) -> String {
    info_value(info).to_string()
}

fn info_value(info: &SegmentInfo) -> Value {
    json!({
        "duration_ns": info.duration_ns,
        "fragmented": info.fragmented,
        "video": info.video.iter().map(video).collect::<Vec<_>>(),
        "audio": info.audio.iter().map(audio).collect::<Vec<_>>(),
    })
}

/// A segment's findings, as `lpbridge serve` answers `POST /v1/check`,
/// with the rungs `ladder` would ask for.
pub fn check_json(report: &Report, ladder: &[Rung]) -> String {
    let count = |s| report.findings.iter().filter(|f| f.severity == s).count();
    let rungs: Vec<Value> = report
        .info
        .as_ref()
        .and_then(|i| i.video.as_ref())
        .map(|v| crate::ladder::renditions(ladder, v.width, v.height, v.frame_rate))
        .unwrap_or_default()
        .into_iter()
        .map(|p| json!({ "name": p.name, "width": p.width, "height": p.height }))
        .collect();
    json!({
        "info": report.info.as_ref().map(info_value),
        "findings": report.findings.iter().map(finding).collect::<Vec<_>>(),
        "rungs": rungs,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
    })
    .to_string()
}

fn finding(f: &Finding) -> Value {
    json!({
        "severity": f.severity.as_str(),
        "code": f.code,
        "at": {
            "box": f.at.box_path,
            "track": f.at.track.map(|t| match t {
                TrackKind::Video => "video",
                TrackKind::Audio => "audio",
            }),
            "sample": f.at.sample,
            "time_ns": f.at.time_ns,
        },
        "message": f.message,
    })
}

fn video(v: &VideoInfo) -> Value {
    json!({
        "codec": v.codec.name(),
        "width": v.width,
        "height": v.height,
        "frame_rate": v.frame_rate.map(|r| json!({ "num": r.num, "den": r.den })),
        "frames": v.frames,
        "presented": v.presented,
        "keyframes": v.keyframes,
        "bytes": v.bytes,
        "b_frames": v.b_frames,
        "start_ns": v.start_ns,
        "duration_ns": v.duration_ns,
        "timescale": v.timescale,
    })
}

fn audio(a: &AudioInfo) -> Value {
    json!({
        "codec": a.codec.name(),
        "sample_rate": a.sample_rate,
        "channels": a.channels,
        "packets": a.packets,
        "start_ns": a.start_ns,
        "duration_ns": a.duration_ns,
        "timescale": a.timescale,
    })
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
    use crate::error::Error;
    use crate::multipart::{self, PartBody};

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
            let f = Failure::from(e);
            assert_eq!((f.status, f.kind), (status, kind), "{}", f.message);
        }
        let f = Failure::from(TranscodeError::Status {
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
