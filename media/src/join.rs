//! Rendition TS + the audio MP4 from `split` → one MP4: progressive
//! (`moov` first) by default, or fragmented (a `moof` per GOP).
//!
//! The rendition's video is put back on the source's timeline: its first
//! presented frame lands where the source's first video frame was shown,
//! whatever offset the gateway added (GStreamer's mpegtsmux adds 3600 s,
//! ffmpeg 1.4 s), and the track ends where the source's video ended. The
//! audio track is carried over verbatim.

use crate::buf::WriteBe;
use crate::error::{Error, Result};
use crate::h264::{AnnexB, NalType, Sps, build_avcc, parameter_set, parse_sps};
use crate::info::require_audio;
use crate::limits::MAX_DTS_STEP;
use crate::mp4::{self, Edit, MuxTrack, OutSample, TrakSource, VideoTimeline};
use crate::num::{i32_sat, i64_sat, u8_sat, u32_sat, u64_sat};
use crate::time::{TS_CLOCK, rescale, to_ns, unwrap_pts};
use crate::ts::Demuxer;

/// Frame step assumed when a stream gives no other (1/30 s).
const DEFAULT_STEP: i64 = 3_000;

/// How `join` writes the MP4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JoinOptions {
    /// A fragmented MP4 (empty `moov`, then a `moof` + `mdat` per video
    /// GOP) instead of a progressive one. The samples are the same.
    pub fragmented: bool,
}

/// One access unit of the rendition, after framing conversion.
struct Frame {
    pts: i64,
    dts: i64,
    size: u32,
    keyframe: bool,
}

/// A joined rendition and what its video is.
#[derive(Clone, Debug)]
pub struct Joined {
    /// The MP4 file.
    pub mp4: Vec<u8>,
    /// Picture width in pixels, from the rendition's first SPS (cropped).
    pub width: u32,
    /// Picture height in pixels, from the rendition's first SPS (cropped).
    pub height: u32,
    /// Video samples (access units) in the MP4.
    pub frames: u32,
    /// What the gateway's frames span, before the last one is stretched to
    /// the source's end: first presented to the end of the last, ns.
    pub shown_ns: u64,
    /// When the last presented frame starts, from the first, ns.
    pub last_start_ns: u64,
    /// Whether the first frame in decode order is a keyframe.
    pub first_keyframe: bool,
}

/// Joins a rendition's TS and the audio MP4 from `split` into one MP4.
pub fn join(video_ts: &[u8], audio_mp4: &[u8], options: JoinOptions) -> Result<Vec<u8>> {
    join_rendition(video_ts, audio_mp4, options).map(|j| j.mp4)
}

/// `join`, also saying the rendition's picture size and frame count.
pub fn join_rendition(video_ts: &[u8], audio_mp4: &[u8], options: JoinOptions) -> Result<Joined> {
    let movie = mp4::parse(audio_mp4)?;
    let audio = require_audio(&movie)?;
    let timeline = movie.video_timeline.unwrap_or(VideoTimeline {
        timescale: TS_CLOCK,
        empty_edit: 0,
        lead: 0,
        span: 0,
        edited: false,
    });

    let demux = Demuxer::new(video_ts)?;
    let mut video = Video::default();
    video.data.reserve(video_ts.len());
    demux.for_each_access_unit(|au| video.push_access_unit(au.data, au.pts, au.dts, au.packet))?;
    if video.frames.is_empty() {
        return Err(Error::NoVideo);
    }
    let (sps_info, avcc) = video.config()?;
    let entry = if video.in_band_changes { b"avc3" } else { b"avc1" };
    let stsd = mp4::avc_stsd(entry, sps_info.width, sps_info.height, &avcc);

    let tv = timeline.timescale;
    let (shown_ns, last_start_ns) = video.shown(video.frames.iter().map(|f| f.pts).min().unwrap_or(0));
    let (samples, data, first_cts) = video_samples(&video, tv, timeline.span);
    // An audio track whose media starts after 0 (a fragmented source's
    // later segment) needs an edit list of its own in a progressive file;
    // the movie is then timed in the audio's timescale, so that edit lands
    // on its first packet exactly, not to the nearest millisecond.
    let movie_timescale = if !options.fragmented && audio.samples[0].dts > 0 {
        audio.timescale
    } else {
        movie.timescale
    };
    let edits = edit_list(&timeline, movie.timescale, movie_timescale, first_cts, &samples);
    let n = samples.len();

    let video_id = if audio.id == 1 { audio.id + 1 } else { 1 };
    let video_track = MuxTrack {
        id: video_id,
        timescale: tv,
        source: TrakSource::Video {
            width: sps_info.width,
            height: sps_info.height,
            stsd,
            edits,
        },
        samples,
        data,
    };
    let audio_track = MuxTrack::verbatim(audio, audio_mp4);
    let tracks = [video_track, audio_track];
    Ok(Joined {
        mp4: if options.fragmented {
            mp4::mux_fragmented(movie_timescale, &tracks, &[])
        } else {
            mp4::mux_progressive(movie_timescale, &tracks, &[])
        },
        width: sps_info.width,
        height: sps_info.height,
        frames: u32_sat(n),
        shown_ns,
        last_start_ns,
        first_keyframe: video.frames[0].keyframe,
    })
}

/// The rendition's frames as samples in the source's timescale `tv`, the
/// first presented frame at 0, with their bytes; and the composition time
/// of that frame in the rendition's media (`-dts[0]`). The frame shown
/// last lasts until the source's video ended (`span`), so the renditions
/// of consecutive segments tile with no gap or overlap.
fn video_samples(video: &Video, tv: u32, span: i64) -> (Vec<OutSample>, Vec<&[u8]>, i64) {
    let first = video.frames.iter().map(|f| f.pts).min().unwrap_or(0);
    let pts: Vec<i64> = video
        .frames
        .iter()
        .map(|f| rescale(f.pts - first, TS_CLOCK, tv))
        .collect();
    let dts: Vec<i64> = video
        .frames
        .iter()
        .map(|f| rescale(f.dts - first, TS_CLOCK, tv))
        .collect();
    let n = video.frames.len();
    let mut samples = Vec::with_capacity(n);
    let mut data = Vec::with_capacity(n);
    let mut pos = 0usize;
    for k in 0..n {
        let step = if k + 1 < n {
            dts[k + 1] - dts[k]
        } else if k > 0 {
            dts[k] - dts[k - 1]
        } else {
            rescale(DEFAULT_STEP, TS_CLOCK, tv)
        };
        let f = &video.frames[k];
        samples.push(OutSample {
            size: f.size,
            duration: u32_sat(step.max(0)),
            cts_offset: i32_sat(pts[k] - dts[k]),
            sync: f.keyframe,
        });
        data.push(&video.data[pos..pos + f.size as usize]);
        pos += f.size as usize;
    }
    let last_shown = pts.iter().copied().max().unwrap_or(0);
    if let Some(last) = samples.last_mut()
        && span > last_shown
    {
        last.duration = u32_sat((span - last_shown).max(0));
    }
    (samples, data, -dts.first().copied().unwrap_or(0))
}

/// The rendition's edit list, in `movie_timescale` (the source's movie
/// timescale is `source_movie`). The rendition's first presented frame
/// (composition time `first_cts` in its media) must show where the
/// source's did. Where the source had an edit list, an edit that starts at
/// that frame does it exactly. Where it had none and the frame already
/// sits at the source's lead (a passthrough), no edit list keeps the file
/// as the source was. Otherwise the lead becomes an empty edit, rounded to
/// movie ticks.
fn edit_list(
    timeline: &VideoTimeline,
    source_movie: u32,
    movie_timescale: u32,
    first_cts: i64,
    samples: &[OutSample],
) -> Vec<Edit> {
    let tv = timeline.timescale;
    let mut edits = Vec::new();
    if !(timeline.edited || timeline.empty_edit > 0 || first_cts != timeline.lead) {
        return edits;
    }
    let empty = u64_sat(rescale(i64_sat(timeline.empty_edit), source_movie, movie_timescale))
        + if timeline.edited {
            0
        } else {
            u64_sat(rescale(timeline.lead, tv, movie_timescale))
        };
    if empty > 0 {
        edits.push(Edit {
            segment_duration: empty,
            media_time: -1,
        });
    }
    let media_span = samples.iter().map(|s| s.duration as i64).sum::<i64>() - first_cts;
    let span = if timeline.span > 0 {
        timeline.span
    } else {
        media_span.max(0)
    };
    edits.push(Edit {
        segment_duration: u64_sat(rescale(span, tv, movie_timescale)),
        media_time: first_cts,
    });
    edits
}

/// The rendition's video as it is converted: AVCC sample bytes, frames,
/// parameter sets, and the timestamp state.
#[derive(Default)]
struct Video {
    data: Vec<u8>,
    frames: Vec<Frame>,
    /// Parameter sets for `avcC`: those seen before the first slice.
    sps: Vec<Vec<u8>>,
    pps: Vec<Vec<u8>>,
    seen_slice: bool,
    /// A parameter set changed mid-stream and stays in-band (`avc3`).
    in_band_changes: bool,
    /// Unwrapped DTS of the previous frame as read, and as placed.
    last_raw: Option<i64>,
    last_out: i64,
    fold: i64,
    step: i64,
}

impl Video {
    fn push_access_unit(&mut self, au: &[u8], pts: u64, dts: u64, packet: usize) -> Result<()> {
        if !AnnexB::leading(au).is_empty() {
            return Err(Error::malformed(
                format_args!("access unit from TS packet {packet}"),
                "bytes before the first start code: not Annex B",
            ));
        }
        let start = self.data.len();
        let mut keyframe = false;
        let mut slice = false;
        for nal in AnnexB::new(au) {
            match NalType::of(nal) {
                NalType::AccessUnitDelimiter => continue,
                t @ (NalType::Sps | NalType::Pps) => {
                    let sets = if t == NalType::Sps {
                        &mut self.sps
                    } else {
                        &mut self.pps
                    };
                    if sets.iter().any(|s| s == nal) {
                        continue;
                    }
                    if !self.seen_slice {
                        parameter_set(nal, t, u8_sat(sets.len().min(255))).map_err(|e| match e {
                            Error::Malformed { reason, .. } => Error::malformed("rendition video", reason),
                            other => other,
                        })?;
                        sets.push(nal.to_vec());
                        continue;
                    }
                    self.in_band_changes = true;
                }
                NalType::IdrSlice => {
                    keyframe = true;
                    slice = true;
                }
                NalType::NonIdrSlice | NalType::Other(2..=4) => slice = true,
                _ => {}
            }
            self.data.u32(u32_sat(nal.len()));
            self.data.extend_from_slice(nal);
        }
        self.seen_slice |= slice;
        let size = self.data.len() - start;
        if size == 0 {
            return Ok(()); // nothing but delimiters or parameter sets
        }
        let size = u32::try_from(size).map_err(|_| Error::too_large("access unit", size as u64, u32::MAX as u64))?;

        // 33-bit wrap, then fold discontinuities so DTS keeps rising by
        // the last frame step. A jump is judged by the timestamps alone:
        // `discontinuity_indicator` is set by some muxers on continuous
        // streams, and a zero step is legal (variable-rate sources have it).
        let raw_dts = unwrap_pts(dts, self.last_raw.unwrap_or(i64_sat(dts)));
        let raw_pts = unwrap_pts(pts, raw_dts);
        if self.last_raw.is_some() {
            let placed = raw_dts + self.fold;
            let step = placed - self.last_out;
            if !(0..=MAX_DTS_STEP).contains(&step) {
                self.fold = self.last_out + self.step - raw_dts;
            } else {
                self.step = step;
            }
        } else {
            self.step = DEFAULT_STEP;
        }
        self.last_raw = Some(raw_dts);
        self.last_out = raw_dts + self.fold;
        self.frames.push(Frame {
            pts: raw_pts + self.fold,
            dts: raw_dts + self.fold,
            size,
            keyframe,
        });
        Ok(())
    }

    /// (span shown, start of the last frame shown), ns from `first`. The
    /// last frame lasts the median step between frames: the TS says nothing
    /// of it, and the median holds for a steady stream and for a sparse,
    /// variable-rate one whose last gap is long.
    fn shown(&self, first: i64) -> (u64, u64) {
        let last = self.frames.iter().map(|f| f.pts).max().unwrap_or(first) - first;
        let mut steps: Vec<i64> = self.frames.windows(2).map(|w| w[1].dts - w[0].dts).collect();
        steps.sort_unstable();
        let step = steps.get(steps.len() / 2).copied().unwrap_or(DEFAULT_STEP);
        let ns = |ticks: i64| u64_sat(to_ns(ticks, TS_CLOCK));
        (ns(last + step), ns(last))
    }

    fn config(&self) -> Result<(Sps, Vec<u8>)> {
        let first = self
            .sps
            .first()
            .ok_or_else(|| Error::malformed("rendition video", "no SPS before the first frame"))?;
        if self.pps.is_empty() {
            return Err(Error::malformed("rendition video", "no PPS before the first frame"));
        }
        let info = parse_sps(first)?;
        let sps: Vec<&[u8]> = self.sps.iter().map(Vec::as_slice).collect();
        let pps: Vec<&[u8]> = self.pps.iter().map(Vec::as_slice).collect();
        Ok((info.clone(), build_avcc(&info, &sps, &pps)))
    }
}
