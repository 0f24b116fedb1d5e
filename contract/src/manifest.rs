//! A manifest belongs to one set of profiles. A gateway fixes a manifest's
//! profiles when its first segment creates the session (go-livepeer
//! ignores the header's profiles for a manifest it knows; the built-in
//! gateway does the same), so a segment whose ladder differs from the one
//! its creator's manifest was opened with must go to a new manifest, or
//! every rendition comes back at the old sizes and rates.
//!
//! This is the one place that decides it: the host's session asks it for
//! every segment (`session::Session::claim`), and a check of a run (`lpbridge
//! check`, and the component's `check.draw` for the check page) asks it for
//! each pair of segments, so the `new-manifest` finding falls exactly where
//! the bridge opens one. In the contract crate so that both sides ask the
//! same rule.

use std::fmt;

use crate::finding::{Finding, FindingCode, Location, Severity, TrackKind};
use crate::ladder::{Profile, Rung, renditions};
use crate::segment::SegmentInfo;

/// Why a segment goes to a new manifest: the `reason` label of
/// `lpbridge_manifest_rotations_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The ladder asks for other rungs: a rung more or less, or others.
    Rungs,
    /// The source turned, portrait after landscape or back.
    Orientation,
    /// Another size, the same way up.
    Size,
    /// Another frame rate for a rung (the source's rate changed).
    Rate,
    /// Another bitrate for a rung.
    Bitrate,
    /// Another H.264 profile for a rung.
    H264Profile,
    /// `rotate_after` pushes in a row that the gateway refused.
    Refused,
    /// `rotate_after` segments in a row whose renditions failed
    /// verification: a gateway answering with other profiles, whatever
    /// the cause, cannot hold a stream in 502s.
    Mismatch,
}

impl Reason {
    /// Its metric label.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Rungs => "rungs",
            Reason::Orientation => "orientation",
            Reason::Size => "size",
            Reason::Rate => "rate",
            Reason::Bitrate => "bitrate",
            Reason::H264Profile => "h264-profile",
            Reason::Refused => "refused",
            Reason::Mismatch => "mismatch",
        }
    }
}

/// A new manifest, and what made it: the reason and the first difference
/// found, in words (`720p 1280x720 after 720x1280`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Why.
    pub reason: Reason,
    /// The first difference, in words.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.reason.label())
    }
}

/// Whether a segment asking for `next` must leave a manifest opened with
/// `open`, and why: `None` when every profile is the same. The reasons are
/// tried from the most telling: the rungs, the way up, the size, the rate,
/// the bitrate, the H.264 profile.
pub fn change(open: &[Profile], next: &[Profile]) -> Option<Change> {
    let names = |p: &[Profile]| p.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(",");
    if open.len() != next.len() || open.iter().zip(next).any(|(a, b)| a.name != b.name) {
        return Some(Change {
            reason: Reason::Rungs,
            detail: format!("rungs {} after {}", or_none(names(next)), or_none(names(open))),
        });
    }
    let pairs = || open.iter().zip(next);
    let upright = |p: &Profile| p.height > p.width;
    let first = |reason, differs: &dyn Fn(&Profile, &Profile) -> bool, say: &dyn Fn(&Profile) -> String| {
        pairs().find(|(a, b)| differs(a, b)).map(|(a, b)| Change {
            reason,
            detail: format!("{} {} after {}", b.name, say(b), say(a)),
        })
    };
    let size = |p: &Profile| format!("{}x{}", p.width, p.height);
    let rate = |p: &Profile| {
        p.fps
            .map_or("the source's rate".into(), |r| format!("{}/{} fps", r.num, r.den))
    };
    let bitrate = |p: &Profile| format!("{} b/s", p.bitrate);
    let h264 = |p: &Profile| {
        p.h264_profile
            .map_or("the gateway's profile", |h| h.as_str())
            .to_string()
    };
    first(Reason::Orientation, &|a, b| upright(a) != upright(b), &size)
        .or_else(|| first(Reason::Size, &|a, b| (a.width, a.height) != (b.width, b.height), &size))
        .or_else(|| first(Reason::Rate, &|a, b| a.fps != b.fps, &rate))
        .or_else(|| first(Reason::Bitrate, &|a, b| a.bitrate != b.bitrate, &bitrate))
        .or_else(|| first(Reason::H264Profile, &|a, b| a.h264_profile != b.h264_profile, &h264))
}

/// The profiles the bridge would send with a segment of `info`; none where
/// it would send nothing (no video read, or no rung below the source).
pub fn profiles(ladder: &[Rung], info: Option<&SegmentInfo>) -> Vec<Profile> {
    match info.and_then(|i| i.video.as_ref()) {
        Some(v) => renditions(ladder, v.width, v.height, v.frame_rate),
        None => Vec::new(),
    }
}

/// Where in a run of segments (their infos, in order) the bridge would
/// open a new manifest: each segment it would send is held to the profiles
/// of the manifest before it, by `change`; a segment it would not send
/// leaves that as it is. Each `new-manifest` finding with the index of its
/// segment.
pub fn new_manifests(ladder: &[Rung], infos: &[Option<&SegmentInfo>]) -> Vec<(usize, Finding)> {
    let mut open: Option<Vec<Profile>> = None;
    let mut out = Vec::new();
    for (i, info) in infos.iter().enumerate() {
        let next = profiles(ladder, *info);
        if next.is_empty() {
            continue;
        }
        if let Some(change) = open.as_deref().and_then(|o| change(o, &next)) {
            out.push((
                i,
                Finding {
                    severity: Severity::Info,
                    code: FindingCode::NewManifest,
                    at: Location {
                        box_path: None,
                        track: Some(TrackKind::Video),
                        sample: None,
                        time_ns: info.and_then(|i| i.video.as_ref()).map(|v| v.start_ns),
                    },
                    message: format!("{change}: the bridge opens a new manifest at seq 0"),
                },
            ));
        }
        open = Some(next);
    }
    out
}

fn or_none(names: String) -> String {
    if names.is_empty() { "(none)".into() } else { names }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::{FrameRate, H264Profile, default_ladder};

    fn ladder(w: u32, h: u32, fps: u32) -> Vec<Profile> {
        renditions(&default_ladder(), w, h, Some(FrameRate { num: fps, den: 1 }))
    }

    #[test]
    fn the_same_ladder_stays_and_each_difference_is_named() {
        assert_eq!(change(&ladder(1920, 1080, 60), &ladder(1920, 1080, 60)), None);
        let turned = change(&ladder(1080, 1920, 60), &ladder(1920, 1080, 60)).unwrap();
        assert_eq!(turned.reason, Reason::Orientation);
        assert_eq!(turned.detail, "720p 1280x720 after 720x1280");
        assert_eq!(
            change(&ladder(1920, 1080, 60), &ladder(1920, 800, 60)).unwrap().reason,
            Reason::Size
        );
        let rate = change(&ladder(1920, 1080, 60), &ladder(1920, 1080, 50)).unwrap();
        assert_eq!(rate.reason, Reason::Rate);
        assert_eq!(rate.detail, "360p 50/2 fps after 60/2 fps");
        let rungs = change(&ladder(1920, 1080, 60), &ladder(640, 360, 60)).unwrap();
        assert_eq!(
            (rungs.reason, rungs.detail.as_str()),
            (Reason::Rungs, "rungs 240p,160p after 720p,360p,240p,160p")
        );
        assert_eq!(
            change(&[], &ladder(640, 360, 30)).unwrap().detail,
            "rungs 240p,160p after (none)"
        );
        let mut richer = ladder(1920, 1080, 60);
        richer[0].bitrate += 1;
        assert_eq!(
            change(&ladder(1920, 1080, 60), &richer).unwrap().reason,
            Reason::Bitrate
        );
        richer = ladder(1920, 1080, 60);
        richer[0].h264_profile = Some(H264Profile::Main);
        let h = change(&ladder(1920, 1080, 60), &richer).unwrap();
        assert_eq!(
            (h.reason, h.detail.as_str()),
            (Reason::H264Profile, "720p h264main after the gateway's profile")
        );
    }
}
