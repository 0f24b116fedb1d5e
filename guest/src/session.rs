//! The pure half of a segment's trip through a Livepeer gateway: what to
//! send (URL, headers, body) and what to make of each multipart part as it
//! arrives. The component's glue does the I/O over `wasi:http` and nothing
//! else; policy (which hosts, how many in flight, timeouts) is the host's.

use lpbridge_contract::ladder::{Profile, config_json};
use lpbridge_media::multipart::{Part, PartBody};
use lpbridge_media::verify::{self, Verify};
use lpbridge_media::{JoinOptions, SegmentInfo, VideoInfo, join_rendition};

pub use lpbridge_contract::transcode::{MAX_ERROR_BODY, Rendition, TranscodeError, TransportError};

/// Where and how to POST the segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// host:port
    pub authority: String,
    /// `/live/{manifest}/{seq}.ts` under the gateway's base path.
    pub path: String,
}

/// Parses `http(s)://authority[/base]` with the `http` crate's URI
/// parser, the one the host's allow-list reads the same URL with.
pub fn target(gateway: &str, manifest: &str, seq: u64) -> Result<Target, TranscodeError> {
    let bad = |why: &str| TranscodeError::InvalidTarget(format!("{gateway:?}: {why}"));
    let uri: http::Uri = gateway.parse().map_err(|e| bad(&format!("not a URL ({e})")))?;
    let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http") => false,
        Some("https") => true,
        Some(_) => return Err(bad("scheme is not http or https")),
        None => return Err(bad("no scheme")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no authority"))?.as_str();
    if authority.contains('@') || uri.query().is_some() {
        return Err(bad("a gateway URL has no user, password or query"));
    }
    let base = uri.path().trim_end_matches('/');
    if manifest.is_empty()
        || !manifest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad("manifest must be [A-Za-z0-9_-]+"));
    }
    Ok(Target {
        https,
        authority: authority.to_string(),
        path: format!("{base}/live/{manifest}/{seq}.ts"),
    })
}

/// The headers of the POST, every one go-livepeer reads (see the protocol
/// doc, §2), for a segment as `split` or `plan` describes it.
pub fn request_headers(info: &SegmentInfo, manifest: &str, profiles: &[Profile]) -> Vec<(&'static str, String)> {
    let resolution = info
        .video
        .as_ref()
        .map_or_else(String::new, |v| format!("{}x{}", v.width, v.height));
    vec![
        ("Accept", "multipart/mixed".to_string()),
        ("Content-Type", "video/mp2t".to_string()),
        ("Content-Duration", (info.duration_ns / 1_000_000).to_string()),
        ("Content-Resolution", resolution),
        ("Livepeer-Transcode-Configuration", config_json(manifest, profiles)),
    ]
}

/// Whether a response `Content-Type` is `multipart/mixed`.
pub fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/mixed"))
}

/// What each rendition is checked against, and how; none when the host
/// turned the checks off.
#[derive(Clone, Debug)]
pub struct Verification {
    pub mode: Verify,
    /// The source's video, as `split` read it.
    pub source: VideoInfo,
}

/// Joins each part with the source's audio as soon as it is complete, and
/// matches parts to profiles by `Rendition-Name`, never by position. Each
/// rendition is handed back as it is joined, so a caller can pass it on
/// before the next part arrives.
pub struct Collector<'a> {
    audio_mp4: &'a [u8],
    options: JoinOptions,
    verification: Option<Verification>,
    wanted: Vec<Profile>,
    seen: Vec<bool>,
}

/// A joined rendition and the place of its profile in the request.
#[derive(Clone, Debug)]
pub struct Collected {
    pub slot: usize,
    pub rendition: Rendition,
}

impl<'a> Collector<'a> {
    pub fn new(
        audio_mp4: &'a [u8],
        profiles: &[Profile],
        options: JoinOptions,
        verification: Option<Verification>,
    ) -> Self {
        Collector {
            audio_mp4,
            options,
            verification,
            wanted: profiles.to_vec(),
            seen: vec![false; profiles.len()],
        }
    }

    pub fn push(&mut self, part: Part) -> Result<Collected, TranscodeError> {
        let name = part
            .name
            .clone()
            .ok_or_else(|| TranscodeError::UnexpectedRendition("(part without Rendition-Name)".into()))?;
        let slot = self
            .wanted
            .iter()
            .position(|w| w.name == name)
            .ok_or_else(|| TranscodeError::UnexpectedRendition(name.clone()))?;
        if self.seen[slot] {
            return Err(TranscodeError::UnexpectedRendition(format!("{name} (twice)")));
        }
        let bytes = match part.body {
            PartBody::Url(url) => return Err(TranscodeError::UrlRendition(name, url)),
            PartBody::Bytes(b) => b,
        };
        let joined = join_rendition(&bytes, self.audio_mp4, self.options)
            .map_err(|e| TranscodeError::Rendition(name.clone(), e))?;
        let mismatches = match &self.verification {
            None => Vec::new(),
            Some(v) => {
                let mut found = verify::check(&self.wanted[slot], &v.source, &joined);
                if v.mode == Verify::Strict && !found.is_empty() {
                    let mismatch = found.swap_remove(0);
                    return Err(TranscodeError::Mismatch { name, mismatch });
                }
                found
            }
        };
        self.seen[slot] = true;
        let rendition = Rendition {
            name,
            width: joined.width,
            height: joined.height,
            frames: joined.frames,
            mp4: crate::variant::joined(joined.mp4),
            mismatches,
        };
        Ok(Collected { slot, rendition })
    }

    /// Every profile must have come back.
    pub fn finish(self) -> Result<(), TranscodeError> {
        match self.seen.iter().position(|s| !s) {
            Some(i) => Err(TranscodeError::MissingRendition(self.wanted[i].name.clone())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_bad_gateways() {
        let t = target("http://127.0.0.1:8935", "m-1", 7).unwrap();
        assert_eq!(
            (t.https, t.authority.as_str(), t.path.as_str()),
            (false, "127.0.0.1:8935", "/live/m-1/7.ts")
        );
        let t = target("https://gw.example/base/", "m", 0).unwrap();
        assert_eq!((t.https, t.path.as_str()), (true, "/base/live/m/0.ts"));
        assert!(target("ftp://x", "m", 0).is_err());
        assert!(target("http://", "m", 0).is_err());
        assert!(target("http://x", "../etc", 0).is_err());
        assert!(target("http://user@x", "m", 0).is_err());
        assert!(target("http://x/?q", "m", 0).is_err());
        assert!(target("http://x y", "m", 0).is_err());
        assert!(target("127.0.0.1:8935", "m", 0).is_err(), "no scheme");
        assert!(is_multipart("Multipart/Mixed; boundary=x") && !is_multipart("text/plain"));
    }
}
