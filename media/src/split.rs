//! MP4 segment → MPEG-TS with the video only + MP4 with the audio only.
//!
//! The TS follows the source timeline: a frame shown at `t` seconds in the
//! source (edit lists applied, as ffmpeg reads them) gets PTS
//! `t × 90000 + TS_OFFSET`. The offset keeps B-frame DTS, which run ahead of
//! the first PTS, from going negative.

use crate::error::{Error, Result};
use crate::h264::{AvcConfig, NalType, for_each_length_prefixed, parameter_set, parse_sps};
use crate::info::{SegmentInfo, describe, require_audio, require_h264, to_90k};
use crate::mp4::{self, MuxTrack, Track, TrackKind};
use crate::num::i64_sat;
use crate::ts::Muxer;

/// Added to every TS timestamp: 10 s at 90 kHz.
pub const TS_OFFSET: i64 = 10 * 90_000;

/// The outputs of `split`.
#[derive(Clone, Debug)]
pub struct Split {
    /// What the segment holds, as `probe` describes it.
    pub info: SegmentInfo,
    /// The video alone as MPEG-TS, PTS on the source's timeline plus
    /// `TS_OFFSET` (90 kHz).
    pub video_ts: Vec<u8>,
    /// The audio track, verbatim, alone in an MP4, with the video's timeline in
    /// `udta/lpvt` for `join`.
    pub audio_mp4: Vec<u8>,
}

/// Describes a segment without splitting it.
pub fn probe(segment: &[u8]) -> Result<SegmentInfo> {
    describe(&mp4::parse(segment)?)
}

/// Splits an MP4 segment into its video, as MPEG-TS for the gateway, and its
/// audio, as MP4 for `join`.
pub fn split(segment: &[u8]) -> Result<Split> {
    let movie = mp4::parse(segment)?;
    let info = describe(&movie)?;
    let video = movie
        .tracks
        .iter()
        .find(|t| t.kind == TrackKind::Video)
        .ok_or(Error::NoVideo)?;
    require_h264(video)?;
    if video.samples.is_empty() {
        return Err(Error::NoVideo);
    }
    let audio = require_audio(&movie)?;
    let video_ts = video_to_ts(segment, movie.timescale, video)?;
    let audio_mp4 = audio_to_mp4(segment, movie.timescale, audio, video);
    Ok(Split {
        info,
        video_ts,
        audio_mp4,
    })
}

fn video_to_ts(file: &[u8], movie_timescale: u32, video: &Track<'_>) -> Result<Vec<u8>> {
    let avcc = video
        .entry
        .avcc
        .ok_or_else(|| Error::malformed(format_args!("trak {}/stsd", video.id), "no avcC box"))?;
    let config = AvcConfig::parse(avcc)?;
    let timeline = video.timeline();
    let first_pts = video.samples.iter().map(|s| s.pts()).min().unwrap_or(0);
    // TS time is modulo 2^33 (`ts::mux` writes it so), and 2^33 divides
    // 2^64: wrapping i64 sums give the same 33-bit stamps as exact ones,
    // where a hostile edit list or timestamp would overflow the sum.
    let base = TS_OFFSET
        .wrapping_add(to_90k(i64_sat(timeline.empty_edit), movie_timescale))
        .wrapping_add(to_90k(timeline.lead, video.timescale));

    let mut mux = Muxer::with_capacity(ts_packets(video, &config) * crate::ts::PACKET);
    let mut nals: Vec<&[u8]> = Vec::new();
    let mut pieces: Vec<&[u8]> = Vec::new();
    for (i, s) in video.samples.iter().enumerate() {
        nals.clear();
        let AccessUnit { idr, has_sps, has_pps } =
            access_unit(video.data(file, s), &config, &mut nals).map_err(|e| match e {
                Error::Malformed { reason, .. } => {
                    Error::malformed(format_args!("trak {} sample {}", video.id, i + 1), reason)
                }
                other => other,
            })?;
        // A stream must start decodable: the first keyframe needs an SPS
        // and a PPS, from avcC or its own (a gateway refuses the TS, and
        // join the rendition, otherwise).
        if i == 0 && idr {
            for (present, sets, name) in [(has_sps, &config.sps, "SPS"), (has_pps, &config.pps, "PPS")] {
                if !present && sets.is_empty() {
                    return Err(Error::malformed(
                        format_args!("trak {} sample 1", video.id),
                        format_args!("no {name} for the first keyframe, in avcC or in-band"),
                    ));
                }
            }
        }
        // An AUD opens every access unit, and SPS/PPS go in-band before
        // every IDR (§7.4.1.2.3 order), so any keyframe can start decoding:
        // all of avcC's, unless the sample carries both kinds itself.
        pieces.clear();
        pieces.push(&AUD);
        if idr && !(has_sps && has_pps) {
            for p in config.sps.iter().chain(config.pps.iter()) {
                pieces.push(&START);
                pieces.push(p);
            }
        }
        for nal in &nals {
            pieces.push(&START);
            pieces.push(nal);
        }
        if idr || i == 0 {
            mux.write_tables();
        }
        let pts = base.wrapping_add(to_90k(s.pts() - first_pts, video.timescale));
        let dts = base.wrapping_add(to_90k(s.dts - first_pts, video.timescale));
        mux.write_pes(&pieces, pts, dts, idr || s.sync);
    }
    Ok(mux.finish())
}

const AUD: [u8; 6] = [0, 0, 0, 1, 0x09, 0xf0];
const START: [u8; 4] = [0, 0, 0, 1];

/// The TS packets the video will take: the exact room, or a few bytes
/// over. A short guess would double the buffer (a copy, and twice the
/// memory a component must later zero).
fn ts_packets(video: &Track<'_>, config: &AvcConfig<'_>) -> usize {
    let params: usize = config
        .sps
        .iter()
        .chain(config.pps.iter())
        .map(|p| START.len() + p.len())
        .sum();
    let widening = START.len().saturating_sub(config.length_size);
    video
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let size = s.size as usize;
            let nals = size / (config.length_size + 1);
            let key = s.sync || i == 0;
            let pes = AUD.len() + size + widening * nals + if key { params } else { 0 };
            Muxer::packets_for_access_unit(pes, key)
        })
        .sum()
}

/// What one access unit holds beside its slices.
struct AccessUnit {
    idr: bool,
    has_sps: bool,
    has_pps: bool,
}

/// The NAL units of one sample, less its delimiters, pushed to `nals`.
/// In-band sets go to the gateway and into the rendition's avcC: they are
/// held to avcC's rule, and an SPS must parse as join will parse it (the
/// first one in the TS sizes the rendition).
fn access_unit<'a>(data: &'a [u8], config: &AvcConfig<'_>, nals: &mut Vec<&'a [u8]>) -> Result<AccessUnit> {
    let mut au = AccessUnit {
        idr: false,
        has_sps: false,
        has_pps: false,
    };
    for_each_length_prefixed(data, config.length_size, |nal| {
        match NalType::of(nal) {
            NalType::AccessUnitDelimiter => return Ok(()),
            NalType::IdrSlice => au.idr = true,
            t @ (NalType::Sps | NalType::Pps) => {
                parameter_set(nal, t, 0)?;
                if t == NalType::Sps {
                    parse_sps(nal)?;
                }
                au.has_sps |= t == NalType::Sps;
                au.has_pps |= t == NalType::Pps;
            }
            _ => {}
        }
        nals.push(nal);
        Ok(())
    })?;
    Ok(au)
}

/// The audio track as it is, in a progressive MP4, or in a fragmented one
/// when its media starts after 0 (a fragmented source's later segment,
/// whose `tfdt` places it on the stream): there `tfdt` keeps that place
/// exactly, where a progressive file would need an edit list the source
/// did not have.
fn audio_to_mp4<'a>(file: &'a [u8], movie_timescale: u32, audio: &'a Track<'a>, video: &Track<'_>) -> Vec<u8> {
    let tracks = [MuxTrack::verbatim(audio, file)];
    if audio.samples.first().is_some_and(|s| s.dts > 0) {
        mp4::mux_fragmented(movie_timescale, &tracks, &mp4::lpvt_udta(&video.timeline()))
    } else {
        mp4::mux_progressive(movie_timescale, &tracks, &mp4::lpvt_udta(&video.timeline()))
    }
}
