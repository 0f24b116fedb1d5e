//! What a segment holds, read from its bytes alone (`types.segment-info`
//! and what it holds, field for field): the host builds the gateway
//! request from it, never from metadata that came with the segment.

use serde_json::{Value, json};

use crate::ladder::FrameRate;

/// `avc1` and `avc3` are H.264; any other sample entry is named by its
/// FourCC (`unknown` when the track has none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// `avc1` or `avc3`.
    H264,
    /// Another sample entry, by its FourCC.
    Other(String),
}

impl VideoCodec {
    /// The name in logs, JSON and check messages.
    pub fn name(&self) -> &str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Other(fourcc) => fourcc,
        }
    }
}

/// The audio track's sample entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// `Opus`.
    Opus,
    /// `mp4a`.
    Aac,
    /// Another sample entry, by its FourCC.
    Other(String),
}

impl AudioCodec {
    /// The name in logs, JSON and check messages.
    pub fn name(&self) -> &str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Aac => "aac",
            AudioCodec::Other(fourcc) => fourcc,
        }
    }
}

/// The video track a split uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoInfo {
    /// Its sample entry.
    pub codec: VideoCodec,
    /// Displayed width, from the SPS with cropping applied.
    pub width: u32,
    /// Displayed height, likewise.
    pub height: u32,
    /// The most common frame duration, as a reduced fraction.
    pub frame_rate: Option<FrameRate>,
    /// Its samples.
    pub frames: u32,
    /// Frames with a presentation time of their own: two samples at one
    /// instant (real segments have them) show as one.
    pub presented: u32,
    /// Its sync samples.
    pub keyframes: u32,
    /// The samples' bytes: with the duration, the bitrate.
    pub bytes: u64,
    /// Whether any frame is presented before one decoded earlier.
    pub b_frames: bool,
    /// First presented frame, on the movie timeline (edit lists applied).
    pub start_ns: i64,
    /// From the first presented frame to the end of the last.
    pub duration_ns: u64,
    /// The track's timescale.
    pub timescale: u32,
}

/// The audio track a split keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    /// Its sample entry.
    pub codec: AudioCodec,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
    /// Its samples.
    pub packets: u32,
    /// First packet, on the movie timeline.
    pub start_ns: i64,
    /// From the first packet to the end of the last.
    pub duration_ns: u64,
    /// The track's timescale.
    pub timescale: u32,
}

/// What the host needs to build the gateway request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The video's duration (what the TS we send lasts), else the audio's.
    pub duration_ns: u64,
    /// A fragmented MP4 (`moof`s) rather than one `moov`.
    pub fragmented: bool,
    /// The track used, if any.
    pub video: Option<VideoInfo>,
    /// The track kept, if any.
    pub audio: Option<AudioInfo>,
}

impl SegmentInfo {
    /// The JSON `lpbridge probe` prints and the edge's `/v1/probe`
    /// answers. Its shape is ours, not the WIT's, so that a WIT type can
    /// change (an `option`, a codec variant) without changing what scripts
    /// read: a track is a list of at most one, a codec its name.
    pub fn to_json(&self) -> Value {
        json!({
            "duration_ns": self.duration_ns,
            "fragmented": self.fragmented,
            "video": self.video.iter().map(VideoInfo::to_json).collect::<Vec<_>>(),
            "audio": self.audio.iter().map(AudioInfo::to_json).collect::<Vec<_>>(),
        })
    }
}

impl VideoInfo {
    fn to_json(&self) -> Value {
        json!({
            "codec": self.codec.name(),
            "width": self.width,
            "height": self.height,
            "frame_rate": self.frame_rate.map(|r| json!({ "num": r.num, "den": r.den })),
            "frames": self.frames,
            "presented": self.presented,
            "keyframes": self.keyframes,
            "bytes": self.bytes,
            "b_frames": self.b_frames,
            "start_ns": self.start_ns,
            "duration_ns": self.duration_ns,
            "timescale": self.timescale,
        })
    }
}

impl AudioInfo {
    fn to_json(&self) -> Value {
        json!({
            "codec": self.codec.name(),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "packets": self.packets,
            "start_ns": self.start_ns,
            "duration_ns": self.duration_ns,
            "timescale": self.timescale,
        })
    }
}
