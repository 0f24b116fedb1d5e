//! What a parsed MP4 is: movies, tracks, samples and edits, as the reader
//! (`demux`, `stbl`, `fragment`) builds them and the writers read them.
//! Types only, so that no reader module needs another.

use super::atom::FourCC;
use crate::num::usize_sat;

/// One entry of an edit list (ISO/IEC 14496-12 §8.6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edit {
    /// In movie timescale.
    pub segment_duration: u64,
    /// In media timescale; -1 is an empty edit.
    pub media_time: i64,
}

/// One sample, addressed in the input file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Absolute file offset of the sample's first byte, checked against the
    /// file length.
    pub offset: u64,
    /// In bytes (`stsz`, or a fragment's `trun` or defaults).
    pub size: u32,
    /// Decode time in media timescale, from zero (or the first `tfdt`).
    pub dts: i64,
    /// Composition offset (`ctts`/`trun`), media timescale.
    pub cts_offset: i32,
    /// Media timescale (`stts`, or a fragment's `trun` or defaults).
    pub duration: u32,
    /// A sync sample (keyframe): listed in `stss` (all are without one), or
    /// not flagged `sample_is_non_sync_sample` in a fragment.
    pub sync: bool,
}

impl Sample {
    /// Composition time: `dts` plus `cts_offset`, media timescale.
    pub fn pts(&self) -> i64 {
        self.dts + self.cts_offset as i64
    }
}

/// What a track carries, from its `hdlr` handler type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackKind {
    /// `vide`.
    Video,
    /// `soun`.
    Audio,
    /// Any other handler (subtitles, metadata, ...).
    Other,
}

/// The first sample entry of `stsd`, with what the host needs to know.
#[derive(Clone, Debug, Default)]
pub struct SampleEntry<'a> {
    /// The entry's box type (`avc1`, `Opus`, ...); `None` only in a default
    /// entry.
    pub format: Option<FourCC>,
    /// Picture width in pixels, from a visual entry; 0 for other tracks.
    pub width: u16,
    /// Picture height in pixels, from a visual entry; 0 for other tracks.
    pub height: u16,
    /// Channel count, from an audio entry (QuickTime v2 too); 0 for other
    /// tracks.
    pub channels: u16,
    /// Hz, from an audio entry; 0 for other tracks.
    pub sample_rate: u32,
    /// Body of `avcC`, for `avc1`/`avc3`.
    pub avcc: Option<&'a [u8]>,
}

/// A track, with raw copies of the boxes that are carried verbatim.
#[derive(Clone, Debug)]
pub struct Track<'a> {
    /// `track_ID` of `tkhd`.
    pub id: u32,
    /// From the `hdlr` handler type.
    pub kind: TrackKind,
    /// Media timescale, from `mdhd` (never 0).
    pub timescale: u32,
    /// The whole `tkhd` box; writers patch only its duration.
    pub tkhd: &'a [u8],
    /// The whole `edts` box, if the track had one.
    pub edts: Option<&'a [u8]>,
    /// The entries of `edts`'s `elst`; empty without one.
    pub edits: Vec<Edit>,
    /// The whole `mdhd` box; writers patch only its duration.
    pub mdhd: &'a [u8],
    /// The whole `hdlr` box.
    pub hdlr: &'a [u8],
    /// `vmhd`/`smhd`/`nmhd`, whichever the track had.
    pub media_header: Option<&'a [u8]>,
    /// The whole `dinf` box; `None` makes the writer add one pointing into the
    /// file.
    pub dinf: Option<&'a [u8]>,
    /// The whole `stsd` box.
    pub stsd: &'a [u8],
    /// The first entry of `stsd`, parsed.
    pub entry: SampleEntry<'a>,
    /// `stbl` children that stay valid as long as sample order is kept
    /// (`sgpd`, `sbgp`, `sdtp`, ...): copied as they are.
    pub stbl_extra: Vec<&'a [u8]>,
    /// Other `trak` children (`udta`, `meta`, `tref`, ...), copied as they are.
    pub trak_extra: Vec<&'a [u8]>,
    /// In decode order: from the sample tables, then from each fragment.
    pub samples: Vec<Sample>,
    /// Where each of the track's fragments starts (its `tfdt`, or where the
    /// one before ended), media timescale; empty for a progressive file.
    pub fragment_starts: Vec<i64>,
}

/// Where the source's video started on the movie timeline, kept so a
/// rendition can be put back there. Stored in the audio MP4 we hand out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoTimeline {
    /// The source video track's timescale; renditions are written in it.
    pub timescale: u32,
    /// Leading empty edits of the source video, movie timescale.
    pub empty_edit: u64,
    /// When the first frame is shown after the empty edits, video
    /// timescale (see `Track::lead`; 0 whenever the source had an edit).
    pub lead: i64,
    /// First presented frame's start to last presented frame's end, video
    /// timescale: renditions end where the source ended, so consecutive
    /// segments tile.
    pub span: i64,
    /// The source video had an edit list (lpvt flag bit 0).
    pub edited: bool,
}

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Movie<'a> {
    /// Movie timescale, from `mvhd` (never 0).
    pub timescale: u32,
    /// In file order.
    pub tracks: Vec<Track<'a>>,
    /// The file has `moof` boxes; their samples are in the tracks' `samples`.
    pub fragmented: bool,
    /// Our own `udta/lpvt` box, when the file is an audio MP4 from `split`.
    pub video_timeline: Option<VideoTimeline>,
}

impl<'a> Track<'a> {
    /// Leading empty edits (movie timescale) and the first real edit's media
    /// time: the shift ffmpeg's mov demuxer applies to every timestamp.
    pub fn edit_shift(&self) -> (u64, i64) {
        let mut empty = 0u64;
        for e in &self.edits {
            if e.media_time == -1 {
                empty = empty.saturating_add(e.segment_duration);
            } else {
                return (empty, e.media_time);
            }
        }
        (empty, 0)
    }

    /// Sum of sample durations, media timescale.
    pub fn media_duration(&self) -> u64 {
        self.samples.iter().map(|s| s.duration as u64).sum()
    }

    /// When the first frame is shown, after the leading empty edits, as
    /// ffmpeg's mov demuxer (and so Chrome's) places it: with an edit list,
    /// the first presented frame starts the edit, whatever its media time;
    /// without one, at its composition time.
    pub fn lead(&self) -> i64 {
        if self.edits.iter().any(|e| e.media_time != -1) {
            return 0;
        }
        self.samples.iter().map(Sample::pts).min().unwrap_or(0)
    }

    /// Presentation span: last frame's end minus first frame's start.
    pub fn span(&self) -> i64 {
        let start = self.samples.iter().map(Sample::pts).min().unwrap_or(0);
        let end = self
            .samples
            .iter()
            .map(|s| s.pts() + s.duration as i64)
            .max()
            .unwrap_or(0);
        end - start
    }

    /// This track's timeline, as `lpvt` stores it for the source video.
    pub fn timeline(&self) -> VideoTimeline {
        VideoTimeline {
            timescale: self.timescale,
            empty_edit: self.edit_shift().0,
            lead: self.lead(),
            span: self.span(),
            edited: self.edits.iter().any(|e| e.media_time != -1),
        }
    }

    /// The sample's bytes; offsets were checked at parse time.
    pub fn data<'f>(&self, file: &'f [u8], s: &Sample) -> &'f [u8] {
        &file[usize_sat(s.offset)..usize_sat(s.offset) + s.size as usize]
    }
}

/// What the sample tables need to know of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutSample {
    /// In bytes.
    pub size: u32,
    /// Media timescale.
    pub duration: u32,
    /// Composition offset (`ctts`/`trun`), media timescale.
    pub cts_offset: i32,
    /// A sync sample (`stss`/`trun` flags): a keyframe.
    pub sync: bool,
}

/// A parsed sample, as it is written again: its place in the file is the
/// writer's to decide.
impl From<&Sample> for OutSample {
    fn from(s: &Sample) -> Self {
        OutSample {
            size: s.size,
            duration: s.duration,
            cts_offset: s.cts_offset,
            sync: s.sync,
        }
    }
}
