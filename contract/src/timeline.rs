//! Where each sample of a segment sits in time, for drawing it: what
//! `check --html` and the check page put on their axis. Field for field
//! the WIT's `check` records (`segment-timeline`, `track-timeline`,
//! `sample-time`, `edit-span`); the guest's bindings take the sample and
//! edit records as these types (`with`), and map the two others field by
//! field.
//!
//! Bounded for hostile input: a track lists at most [`MAX_DRAWN_SAMPLES`]
//! samples (the first ones, in decode order) and says how many it had, so
//! a segment of 2^20 samples costs a few MB to describe, never its own
//! size again in records.

use crate::finding::TrackKind;

/// The most samples a track lists: 16,384 is 9 minutes of 30 fps video or
/// 5 minutes of 20 ms Opus packets, far more than a live segment holds.
/// At 48 bytes a record (here and in the WIT's layout), 768 KiB a track.
pub const MAX_DRAWN_SAMPLES: usize = 16_384;

/// One sample on its track's media timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleTime {
    /// Decode time, ns (the media timeline the findings' `time_ns` use).
    pub dts_ns: i64,
    /// Presentation time, ns.
    pub pts_ns: i64,
    /// Its duration from the sample tables, ns.
    pub duration_ns: i64,
    /// An Opus packet's own length, from its TOC byte, ns; `None` for
    /// video, other codecs and packets whose TOC cannot be read. Where it
    /// differs from `duration_ns`, the timestamps disagree with the audio.
    pub coded_duration_ns: Option<i64>,
    /// In bytes.
    pub size: u32,
    /// A sync sample.
    pub keyframe: bool,
}

/// One entry of a track's edit list, on the movie timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditSpan {
    /// Where the entry starts on the movie timeline, ns.
    pub start_ns: i64,
    /// How long it lasts, ns.
    pub duration_ns: i64,
    /// The media time it shows from, ns; `None` for an empty edit.
    pub media_time_ns: Option<i64>,
}

/// One track's samples and edits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackTimeline {
    /// Which track.
    pub kind: TrackKind,
    /// The first samples, in decode order, at most [`MAX_DRAWN_SAMPLES`].
    pub samples: Vec<SampleTime>,
    /// How many samples the track has; more than `samples` lists when it
    /// was cut.
    pub total_samples: u32,
    /// Its edit list; empty without one.
    pub edits: Vec<EditSpan>,
    /// Where each fragment's samples start (its `tfdt`), ns; empty for a
    /// progressive file.
    pub fragment_starts_ns: Vec<i64>,
}

/// A segment's tracks on their timelines: the video track, then the
/// audio, those it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentTimeline {
    /// Video first.
    pub tracks: Vec<TrackTimeline>,
}

impl SegmentTimeline {
    /// The track of `kind`, if the segment has one.
    pub fn track(&self, kind: TrackKind) -> Option<&TrackTimeline> {
        self.tracks.iter().find(|t| t.kind == kind)
    }
}
