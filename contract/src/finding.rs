//! What `check` finds in a segment nobody trusts: the finding's shape, its
//! code, and the JSON `lpbridge check --json`, `POST /v1/check` and the
//! edge's `/v1/check` print it in.

use serde_json::{Value, json};

use crate::ladder::Profile;
use crate::segment::SegmentInfo;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The bridge or the gateway will refuse it, or a player will break.
    Error,
    /// It will pass, but something is off.
    Warning,
    /// A fact.
    Info,
}

impl Severity {
    /// Its name in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Which track a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    /// The video track a split uses.
    Video,
    /// The audio track it keeps.
    Audio,
}

impl TrackKind {
    /// Its name in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
        }
    }

    /// What the track's samples are called in a message.
    pub fn samples(self) -> &'static str {
        match self {
            TrackKind::Video => "frames",
            TrackKind::Audio => "packets",
        }
    }
}

/// What a finding is, stable and kebab-case for scripts: a code is never
/// reworded. Which severity each is given is the checker's, not the code's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FindingCode {
    /// The bytes are not an MP4 this reader can follow.
    Unreadable,
    /// The bridge refuses a segment without video.
    NoVideo,
    /// The bridge refuses a segment without audio.
    NoAudio,
    /// A video track without samples.
    NoFrames,
    /// The video is not H.264.
    UnsupportedVideoCodec,
    /// No SPS/PPS in `avcC` or before the first frame.
    NoParameterSets,
    /// An SPS the bridge cannot read.
    BadParameterSet,
    /// Decoding cannot start at the first frame.
    FirstFrameNotKeyframe,
    /// A decode time earlier than the one before.
    DtsDecreasing,
    /// A frame presented before it is decoded.
    PtsBeforeDts,
    /// `dOps` channels and mapping disagree.
    OpusBadChannelMapping,
    /// An in-band SPS unlike the first.
    ParameterSetsChange,
    /// Samples that share a decode time.
    DuplicateDts,
    /// Frames that share a presentation time.
    DuplicatePts,
    /// Frame durations off the usual one.
    IrregularFrameDurations,
    /// Audio packets whose timestamps disagree with their length (Opus:
    /// from the TOC byte; the last may be short).
    IrregularAudioDurations,
    /// A step of more than three expected durations: frames or packets
    /// missing.
    Gap,
    /// Audio and video start apart by more than a frame and a packet.
    AvStartOffset,
    /// Audio and video last differently, by more than that.
    AvDurationMismatch,
    /// An Opus pre-skip of 0 or over 80 ms.
    OpusPreSkip,
    /// Progressive or fragmented, and where the media is.
    Layout,
    /// Frames presented before ones decoded earlier.
    BFrames,
    /// The edit list and what it does.
    EditList,
    /// The keyframes and their spacing.
    Keyframes,
    /// The video's bitrate.
    Bitrate,
    /// What the bridge would send the gateway.
    BridgeRequest,
    /// Across segments: time missing between two.
    GapBetweenSegments,
    /// Across segments: two that cover the same time.
    OverlapBetweenSegments,
    /// Across segments, the host's: where its sessions would open a new
    /// manifest (`manifest::change`).
    NewManifest,
    /// The host's: the sandbox stopped the check (its memory cap, its
    /// deadline, a trap).
    SandboxStopped,
}

impl FindingCode {
    /// Its name, in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::Unreadable => "unreadable",
            FindingCode::NoVideo => "no-video",
            FindingCode::NoAudio => "no-audio",
            FindingCode::NoFrames => "no-frames",
            FindingCode::UnsupportedVideoCodec => "unsupported-video-codec",
            FindingCode::NoParameterSets => "no-parameter-sets",
            FindingCode::BadParameterSet => "bad-parameter-set",
            FindingCode::FirstFrameNotKeyframe => "first-frame-not-keyframe",
            FindingCode::DtsDecreasing => "dts-decreasing",
            FindingCode::PtsBeforeDts => "pts-before-dts",
            FindingCode::OpusBadChannelMapping => "opus-bad-channel-mapping",
            FindingCode::ParameterSetsChange => "parameter-sets-change",
            FindingCode::DuplicateDts => "duplicate-dts",
            FindingCode::DuplicatePts => "duplicate-pts",
            FindingCode::IrregularFrameDurations => "irregular-frame-durations",
            FindingCode::IrregularAudioDurations => "irregular-audio-durations",
            FindingCode::Gap => "gap",
            FindingCode::AvStartOffset => "av-start-offset",
            FindingCode::AvDurationMismatch => "av-duration-mismatch",
            FindingCode::OpusPreSkip => "opus-pre-skip",
            FindingCode::Layout => "layout",
            FindingCode::BFrames => "b-frames",
            FindingCode::EditList => "edit-list",
            FindingCode::Keyframes => "keyframes",
            FindingCode::Bitrate => "bitrate",
            FindingCode::BridgeRequest => "bridge-request",
            FindingCode::GapBetweenSegments => "gap-between-segments",
            FindingCode::OverlapBetweenSegments => "overlap-between-segments",
            FindingCode::NewManifest => "new-manifest",
            FindingCode::SandboxStopped => "sandbox-stopped",
        }
    }
}

/// Where a finding is: as much of it as applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// A box path (`moov/trak[1]/mdia/minf/stbl/stsd`).
    pub box_path: Option<String>,
    /// The track it is about.
    pub track: Option<TrackKind>,
    /// The sample's index in decode order, from 0.
    pub sample: Option<u32>,
    /// On the movie timeline, ns.
    pub time_ns: Option<i64>,
}

impl Location {
    /// As `check` prints it and its page lists it: `video, sample 3, 1.020
    /// s, moov/trak[1]/edts/elst`, the parts it has; empty with none.
    pub fn place(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.track {
            parts.push(t.as_str().to_string());
        }
        if let Some(s) = self.sample {
            parts.push(format!("sample {s}"));
        }
        if let Some(t) = self.time_ns {
            parts.push(format!("{:.3} s", t as f64 / 1e9));
        }
        if let Some(b) = &self.box_path {
            parts.push(b.clone());
        }
        parts.join(", ")
    }
}

/// One thing `check` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What it is, for scripts.
    pub code: FindingCode,
    /// Where it is.
    pub at: Location,
    /// One plain sentence, for people.
    pub message: String,
}

impl Finding {
    /// As `--json` prints it.
    pub fn to_json(&self) -> Value {
        json!({
            "severity": self.severity.as_str(),
            "code": self.code.as_str(),
            "at": {
                "box": self.at.box_path,
                "track": self.at.track.map(TrackKind::as_str),
                "sample": self.at.sample,
                "time_ns": self.at.time_ns,
            },
            "message": self.message,
        })
    }
}

/// A segment's findings, errors first, then by position; and its info,
/// when it could be read, for the stream checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// None when the bytes could not be read (an `unreadable` error).
    pub info: Option<SegmentInfo>,
    /// Errors first, then by position.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report of a segment that could not be described: one error.
    pub fn one_error(code: FindingCode, at: Location, message: String) -> Self {
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

    /// Whether any finding is of `severity`.
    pub fn has(&self, severity: Severity) -> bool {
        self.findings.iter().any(|f| f.severity == severity)
    }

    /// How many findings are of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// As `POST /v1/check` answers it, with the rungs the ladder would
    /// ask of the segment.
    pub fn to_json(&self, rungs: &[Profile]) -> Value {
        json!({
            "info": self.info.as_ref().map(SegmentInfo::to_json),
            "findings": self.findings.iter().map(Finding::to_json).collect::<Vec<_>>(),
            "rungs": rungs
                .iter()
                .map(|p| json!({ "name": p.name, "width": p.width, "height": p.height }))
                .collect::<Vec<_>>(),
            "errors": self.count(Severity::Error),
            "warnings": self.count(Severity::Warning),
        })
    }
}

/// Errors first, then warnings, then facts; within each, by time, then by
/// sample.
pub fn order(findings: &mut [Finding]) {
    findings.sort_by_key(|f| (f.severity, f.at.time_ns.unwrap_or(i64::MIN), f.at.sample.unwrap_or(0)));
}
