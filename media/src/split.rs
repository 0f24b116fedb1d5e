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
use std::ops::ControlFlow;

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
    let read = Read::of(segment)?;
    let video = read.video();
    let mut mux = Muxer::with_capacity(ts_packets(video, &read.config) * crate::ts::PACKET);
    mux_video(
        segment,
        read.movie.timescale,
        video,
        &read.config,
        &mut mux,
        &mut |_| ControlFlow::Continue(()),
    )?;
    Ok(Split {
        audio_mp4: read.audio_mp4(segment),
        video_ts: mux.finish(),
        info: read.info,
    })
}

/// A segment read and checked for splitting, its TS not yet written: for a
/// caller that streams the TS to the gateway instead of holding it beside
/// the segment (the edge component, whose isolate may have 128 MB).
pub struct Planned<'a> {
    file: &'a [u8],
    read: Read<'a>,
    ts_len: usize,
}

/// Reads `segment` as `split` does and sizes its TS, by writing it once
/// into nothing: a segment whose samples `split` would refuse is refused
/// here, before a byte is sent.
pub fn plan(segment: &[u8]) -> Result<Planned<'_>> {
    let mut planned = Planned {
        file: segment,
        read: Read::of(segment)?,
        ts_len: 0,
    };
    let mut len = 0;
    planned.write_ts(&mut |chunk| {
        len += chunk.len();
        ControlFlow::Continue(())
    })?;
    planned.ts_len = len;
    Ok(planned)
}

impl Planned<'_> {
    /// What the segment holds, as `probe` describes it.
    pub fn info(&self) -> &SegmentInfo {
        &self.read.info
    }

    /// The TS's length in bytes: `split`'s `video_ts.len()`.
    pub fn ts_len(&self) -> usize {
        self.ts_len
    }

    /// `split`'s `audio_mp4`.
    pub fn audio_mp4(&self) -> Vec<u8> {
        self.read.audio_mp4(self.file)
    }

    /// Hands `sink` `split`'s `video_ts` in order, in pieces of about
    /// [`TS_CHUNK`] bytes (a keyframe's access unit may make one larger),
    /// until it is all written or `sink` breaks.
    pub fn write_ts(&self, sink: &mut dyn FnMut(&[u8]) -> ControlFlow<()>) -> Result<()> {
        let video = self.read.video();
        let mut mux = Muxer::with_capacity(TS_CHUNK + TS_CHUNK / 2);
        let mut stopped = false;
        mux_video(
            self.file,
            self.read.movie.timescale,
            video,
            &self.read.config,
            &mut mux,
            &mut |mux| {
                if mux.written().len() < TS_CHUNK {
                    return ControlFlow::Continue(());
                }
                let flow = sink(mux.written());
                mux.clear();
                stopped = flow.is_break();
                flow
            },
        )?;
        if !stopped && !mux.written().is_empty() {
            let _ = sink(mux.written());
        }
        Ok(())
    }
}

/// About how many bytes of TS [`Planned::write_ts`] hands over at a time.
pub const TS_CHUNK: usize = 64 << 10;

/// A segment parsed, described and checked: what `split` and `plan` share.
struct Read<'a> {
    movie: mp4::Movie<'a>,
    info: SegmentInfo,
    video: usize,
    audio: usize,
    config: AvcConfig<'a>,
}

impl<'a> Read<'a> {
    fn of(segment: &'a [u8]) -> Result<Self> {
        let movie = mp4::parse(segment)?;
        let info = describe(&movie)?;
        let video = movie
            .tracks
            .iter()
            .position(|t| t.kind == TrackKind::Video)
            .ok_or(Error::NoVideo)?;
        let track = &movie.tracks[video];
        require_h264(track)?;
        if track.samples.is_empty() {
            return Err(Error::NoVideo);
        }
        let audio_track = require_audio(&movie)?;
        let audio = movie
            .tracks
            .iter()
            .position(|t| std::ptr::eq(t, audio_track))
            .ok_or(Error::NoAudio)?;
        let avcc = track
            .entry
            .avcc
            .ok_or_else(|| Error::malformed(format_args!("trak {}/stsd", track.id), "no avcC box"))?;
        let config = AvcConfig::parse(avcc)?;
        Ok(Read {
            movie,
            info,
            video,
            audio,
            config,
        })
    }

    fn video(&self) -> &Track<'a> {
        &self.movie.tracks[self.video]
    }

    fn audio_mp4(&self, file: &[u8]) -> Vec<u8> {
        audio_to_mp4(file, self.movie.timescale, &self.movie.tracks[self.audio], self.video())
    }
}

/// Writes the video's access units into `mux`, calling `after` after each
/// one; stops early when it breaks.
fn mux_video(
    file: &[u8],
    movie_timescale: u32,
    video: &Track<'_>,
    config: &AvcConfig<'_>,
    mux: &mut Muxer,
    after: &mut dyn FnMut(&mut Muxer) -> ControlFlow<()>,
) -> Result<()> {
    let timeline = video.timeline();
    let first_pts = video.samples.iter().map(|s| s.pts()).min().unwrap_or(0);
    // TS time is modulo 2^33 (`ts::mux` writes it so), and 2^33 divides
    // 2^64: wrapping i64 sums give the same 33-bit stamps as exact ones,
    // where a hostile edit list or timestamp would overflow the sum.
    let base = TS_OFFSET
        .wrapping_add(to_90k(i64_sat(timeline.empty_edit), movie_timescale))
        .wrapping_add(to_90k(timeline.lead, video.timescale));

    let mut nals: Vec<&[u8]> = Vec::new();
    let mut pieces: Vec<&[u8]> = Vec::new();
    for (i, s) in video.samples.iter().enumerate() {
        nals.clear();
        let AccessUnit { idr, has_sps, has_pps } =
            access_unit(video.data(file, s), config, &mut nals).map_err(|e| match e {
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
        if after(mux).is_break() {
            break;
        }
    }
    Ok(())
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
