//! A segment's info as the CLI prints it: JSON whose shape is ours, not the
//! contract's, so that a WIT type can change (an `option`, a codec variant)
//! without changing what scripts read: a track is a list of at most one,
//! and a codec its name ("h264", "opus", "aac", else the FourCC).

use serde_json::{Value, json};

use crate::bindings::types::{AudioCodec, AudioInfo, SegmentInfo, VideoCodec, VideoInfo};

pub fn to_json(info: &SegmentInfo) -> Value {
    json!({
        "duration_ns": info.duration_ns,
        "fragmented": info.fragmented,
        "video": info.video.iter().map(video).collect::<Vec<_>>(),
        "audio": info.audio.iter().map(audio).collect::<Vec<_>>(),
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

impl VideoCodec {
    /// "h264", else the sample entry's FourCC.
    pub fn name(&self) -> &str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Other(fourcc) => fourcc,
        }
    }
}

impl AudioCodec {
    /// "opus", "aac", else the sample entry's FourCC.
    pub fn name(&self) -> &str {
        match self {
            AudioCodec::Opus => "opus",
            AudioCodec::Aac => "aac",
            AudioCodec::Other(fourcc) => fourcc,
        }
    }
}

/// The component names codecs for the edge's JSON and the host for its
/// own: both sides of the boundary, held to one spelling here.
#[cfg(test)]
mod tests {
    use super::*;
    use lpbridge_guest as guest;

    #[test]
    fn codec_names_are_the_guests() {
        let fourcc = "hvc1".to_string();
        let video = [
            (VideoCodec::H264, guest::VideoCodec::H264),
            (
                VideoCodec::Other(fourcc.clone()),
                guest::VideoCodec::Other(fourcc.clone()),
            ),
        ];
        for (host, guest) in video {
            assert_eq!(host.name(), guest.name());
        }
        let audio = [
            (AudioCodec::Opus, guest::AudioCodec::Opus),
            (AudioCodec::Aac, guest::AudioCodec::Aac),
            (AudioCodec::Other(fourcc.clone()), guest::AudioCodec::Other(fourcc)),
        ];
        for (host, guest) in audio {
            assert_eq!(host.name(), guest.name());
        }
    }
}
