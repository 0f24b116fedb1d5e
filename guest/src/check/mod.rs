//! `check`: findings about a segment, for an operator who needs to know what
//! is wrong with it, where, and what the bridge and the gateway will make of
//! it. Everything is read from the bytes: the sample tables, the sample
//! entries, the NAL unit headers and the Opus TOC bytes, never the
//! payloads, so a check costs a fraction of a split.
//!
//! A finding has a severity, a stable kebab-case code (for scripts: it is
//! never reworded), where it is, and one plain sentence. Codes:
//!
//! | code | severity | what |
//! |---|---|---|
//! | `unreadable` | error | the bytes are not an MP4 this reader can follow |
//! | `no-video`, `no-audio`, `no-frames` | error | the bridge refuses a segment without them |
//! | `unsupported-video-codec` | error | not H.264 |
//! | `no-parameter-sets` | error | no SPS/PPS in `avcC` or before the first frame |
//! | `bad-parameter-set` | error | an SPS the bridge cannot read |
//! | `first-frame-not-keyframe` | error | decoding cannot start at the first frame |
//! | `dts-decreasing` | error | a decode time earlier than the one before |
//! | `pts-before-dts` | error | a frame presented before it is decoded |
//! | `opus-bad-channel-mapping` | error | `dOps` channels and mapping disagree |
//! | `parameter-sets-change` | warning | an in-band SPS unlike the first |
//! | `duplicate-dts` | warning | samples that share a decode time |
//! | `duplicate-pts` | warning | frames that share a presentation time |
//! | `irregular-frame-durations` | warning | frame durations off the usual one |
//! | `irregular-audio-durations` | warning | audio packets whose timestamps disagree with their length (Opus: from the TOC byte; the last may be short) |
//! | `gap` | warning | a step of more than three expected durations: frames or packets missing |
//! | `av-start-offset` | warning | audio and video start apart by more than a frame and a packet |
//! | `av-duration-mismatch` | warning | audio and video last differently, by more than that |
//! | `opus-pre-skip` | warning | a pre-skip of 0 or over 80 ms |
//! | `layout`, `b-frames`, `edit-list`, `keyframes`, `bitrate`, `bridge-request` | info | facts |
//!
//! Across segments given in order ([`stream`]): `gap-between-segments` and
//! `overlap-between-segments` (warnings). The host adds `new-manifest`
//! (info), by its ladder and the rule its sessions use.

mod segment;
pub mod stream;

use crate::info::SegmentInfo;

pub use segment::check;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The bridge or the gateway will refuse it, or a player will break.
    Error,
    /// It will pass, but something is off.
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    Video,
    Audio,
}

impl TrackKind {
    /// What the track's samples are called in a message.
    pub fn samples(self) -> &'static str {
        match self {
            TrackKind::Video => "frames",
            TrackKind::Audio => "packets",
        }
    }
}

/// Where a finding is: as much of it as applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// A box path (`moov/trak[1]/mdia/minf/stbl/stsd`).
    pub box_path: Option<String>,
    pub track: Option<TrackKind>,
    /// The sample's index in decode order, from 0.
    pub sample: Option<u32>,
    /// On the movie timeline, ns.
    pub time_ns: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    pub at: Location,
    pub message: String,
}

/// A segment's findings, errors first, then by position; and its info,
/// when it could be read, for the stream checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub info: Option<SegmentInfo>,
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report of a segment that could not be described: one error.
    pub fn one_error(code: &'static str, at: Location, message: String) -> Self {
        Report {
            info: None,
            findings: vec![Finding {
                severity: Severity::Error,
                code,
                at,
                message,
            }],
        }
    }

    pub fn has(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity == severity)
    }
}

/// Errors first, then warnings, then facts; within each, by time, then by
/// sample.
pub fn order(findings: &mut [Finding]) {
    findings.sort_by_key(|f| (f.severity, f.at.time_ns.unwrap_or(i64::MIN), f.at.sample.unwrap_or(0)));
}
