//! What a segment holds, read from the bytes alone: the host builds the
//! gateway request (`Content-Duration`, `Content-Resolution`, the rendition
//! ladder) from this, never from metadata that came with the segment.
//!
//! The types are the contract crate's (`types.segment-info` and what it
//! holds, field for field): the component's bindings use them as they are
//! (`with`), so there is no second copy to convert to.

use crate::error::{Error, Result};
use crate::h264::{AvcConfig, parse_sps};
use crate::mp4::{Movie, Track, TrackKind};
use crate::num::{i64_sat, u32_sat, u64_sat};
use crate::time::{gcd, rescale, to_ns};

pub use lpbridge_contract::{AudioCodec, AudioInfo, FrameRate, SegmentInfo, VideoCodec, VideoInfo};

/// Describes a parsed movie; only the first video and first audio track
/// (the ones `split` uses) are listed.
pub fn describe(movie: &Movie<'_>) -> Result<SegmentInfo> {
    let video = movie
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Video)
        .map(|t| video_info(movie, t))
        .transpose()?;
    let audio = movie
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Audio)
        .map(|t| audio_info(movie, t));
    let duration_ns = video
        .as_ref()
        .map(|v| v.duration_ns)
        .or(audio.as_ref().map(|a| a.duration_ns))
        .unwrap_or(0);
    Ok(SegmentInfo {
        duration_ns,
        fragmented: movie.fragmented,
        video,
        audio,
    })
}

pub fn is_h264(track: &Track<'_>) -> bool {
    matches!(track.entry.format.map(|f| f.0), Some(ref f) if f == b"avc1" || f == b"avc3")
}

/// Start of a track on the movie timeline, ns.
fn start_ns(movie: &Movie<'_>, track: &Track<'_>) -> i64 {
    let (empty, _) = track.edit_shift();
    to_ns(i64_sat(empty), movie.timescale) + to_ns(track.lead(), track.timescale)
}

fn video_info(movie: &Movie<'_>, t: &Track<'_>) -> Result<VideoInfo> {
    let codec = match t.entry.format {
        _ if is_h264(t) => VideoCodec::H264,
        Some(f) => VideoCodec::Other(f.to_string()),
        None => VideoCodec::Other("unknown".to_string()),
    };
    let (mut width, mut height) = (t.entry.width as u32, t.entry.height as u32);
    if let Some(avcc) = t.entry.avcc.filter(|_| is_h264(t)) {
        let config = AvcConfig::parse(avcc)?;
        if let Some(sps) = config.sps.first() {
            let sps = parse_sps(sps)?;
            (width, height) = (sps.width, sps.height);
        }
    }
    let mut max_pts = i64::MIN;
    let mut b_frames = false;
    for s in &t.samples {
        b_frames |= s.pts() < max_pts;
        max_pts = max_pts.max(s.pts());
    }
    let mut instants: Vec<i64> = t.samples.iter().map(|s| s.pts()).collect();
    instants.sort_unstable();
    instants.dedup();
    Ok(VideoInfo {
        codec,
        width,
        height,
        frame_rate: frame_rate(t),
        frames: u32_sat(t.samples.len()),
        presented: u32_sat(instants.len()),
        keyframes: u32_sat(t.samples.iter().filter(|s| s.sync).count()),
        bytes: t.samples.iter().map(|s| s.size as u64).sum(),
        b_frames,
        start_ns: start_ns(movie, t),
        duration_ns: u64_sat(to_ns(t.span(), t.timescale)),
        timescale: t.timescale,
    })
}

fn frame_rate(t: &Track<'_>) -> Option<FrameRate> {
    let mut durations: Vec<u32> = t.samples.iter().map(|s| s.duration).filter(|&d| d > 0).collect();
    durations.sort_unstable();
    let mut best = (0usize, 0u32);
    let mut i = 0;
    while i < durations.len() {
        let j = durations.partition_point(|&d| d <= durations[i]);
        if j - i > best.0 {
            best = (j - i, durations[i]);
        }
        i = j;
    }
    if best.1 == 0 {
        return None;
    }
    let g = gcd(t.timescale as u64, best.1 as u64);
    Some(FrameRate {
        num: u32_sat(t.timescale as u64 / g),
        den: u32_sat(best.1 as u64 / g),
    })
}

fn audio_info(movie: &Movie<'_>, t: &Track<'_>) -> AudioInfo {
    let codec = match t.entry.format.map(|f| f.0) {
        Some(ref f) if f == b"Opus" => AudioCodec::Opus,
        Some(ref f) if f == b"mp4a" => AudioCodec::Aac,
        Some(f) => AudioCodec::Other(crate::mp4::FourCC(f).to_string()),
        None => AudioCodec::Other("unknown".to_string()),
    };
    AudioInfo {
        codec,
        sample_rate: t.entry.sample_rate,
        channels: t.entry.channels as u32,
        packets: u32_sat(t.samples.len()),
        start_ns: start_ns(movie, t),
        duration_ns: u64_sat(to_ns(i64_sat(t.media_duration()), t.timescale)),
        timescale: t.timescale,
    }
}

/// Converts ticks to 90 kHz the way every TS timestamp is computed.
pub fn to_90k(value: i64, timescale: u32) -> i64 {
    rescale(value, timescale, crate::time::TS_CLOCK)
}

/// The audio track `split` carries and `join` takes back: the first one,
/// with at least one packet. Both entry points take their MP4 from anyone,
/// so both hold it to this one rule.
pub fn require_audio<'m, 'a>(movie: &'m Movie<'a>) -> Result<&'m Track<'a>> {
    movie
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Audio)
        .filter(|t| !t.samples.is_empty())
        .ok_or(Error::NoAudio)
}

/// The one error for a video track we cannot carry.
pub fn require_h264(t: &Track<'_>) -> Result<()> {
    if is_h264(t) {
        Ok(())
    } else {
        Err(Error::UnsupportedCodec(
            t.entry.format.map_or("unknown".into(), |f| f.to_string()),
        ))
    }
}
