//! One segment through the ladder: demux the TS, decode the H.264 once,
//! and hand every picture to one thread per rendition, which scales it,
//! drops frames down to the rendition's rate, encodes, and muxes a TS that
//! keeps the input's timestamps. Decoding overlaps encoding, so on two
//! cores the renditions cost about what the largest of them costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};

use lpbridge_media::time::{TS_CLOCK, unwrap_pts};
use lpbridge_media::ts::{Demuxer, Muxer};
use lpbridge_media::{JoinOptions, join};
use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig, Flush};

use crate::config::{Gop, Rendition};
use crate::encode::{EncoderSettings, H264Encoder};
use crate::error::TranscodeError;
use crate::picture::{Picture, Scaler};

/// What the request's extension asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Ts,
    Mp4,
}

impl Container {
    pub fn extension(self) -> &'static str {
        match self {
            Container::Ts => ".ts",
            Container::Mp4 => ".mp4",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Container::Ts => "video/mp2t",
            Container::Mp4 => "video/mp4",
        }
    }
}

/// One rendition of the segment.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub keyframes: u32,
    /// Bytes of H.264 (without container), for the bitrate it got.
    pub video_bytes: u64,
    pub bytes: Vec<u8>,
}

/// A decoded picture and its presentation time (90 kHz, unwrapped).
type Shared = Arc<(Picture, i64)>;

/// Pictures a rendition thread may lag behind the decoder.
const QUEUE: usize = 4;

pub fn transcode(
    input: &[u8],
    container: Container,
    renditions: &[Rendition],
    cancel: &AtomicBool,
) -> Result<Vec<Output>, TranscodeError> {
    let split;
    let (ts, audio) = match container {
        Container::Ts => (input, None),
        Container::Mp4 => {
            split = lpbridge_media::split(input)?;
            (&split.video_ts[..], Some(&split.audio_mp4[..]))
        }
    };
    let demux = match Demuxer::new(ts) {
        Ok(d) => d,
        // go-livepeer sends the source back when a segment has no video.
        Err(lpbridge_media::Error::NoVideo) => return Ok(passthrough(input, renditions)),
        Err(e) => return Err(TranscodeError::Media(e)),
    };
    // First pass: timestamps and keyframes only (the demuxer lends each
    // unit's bytes to a callback, so decoding is a second pass).
    let mut units: Vec<(i64, bool)> = Vec::new();
    demux.for_each_access_unit(|au| {
        let reference = units.last().map_or(au.pts as i64, |u| u.0);
        units.push((unwrap_pts(au.pts, reference), au.random_access || has_idr(au.data)));
        Ok::<_, TranscodeError>(())
    })?;
    if units.is_empty() {
        return Ok(passthrough(input, renditions));
    }
    // Units before the first keyframe cannot be decoded; they are dropped.
    let Some(first_key) = units.iter().position(|u| u.1) else {
        return Err(TranscodeError::NoKeyframes);
    };
    // The decoder gives pictures in presentation order.
    let mut times: Vec<i64> = units[first_key..].iter().map(|u| u.0).collect();
    times.sort_unstable();
    let source_fps = mean_rate(&times);

    std::thread::scope(|scope| {
        let mut senders = Vec::with_capacity(renditions.len());
        let mut workers = Vec::with_capacity(renditions.len());
        for r in renditions {
            let (tx, rx) = sync_channel::<Shared>(QUEUE);
            senders.push(Some(tx));
            workers.push(scope.spawn(move || encode_rendition(r, rx, source_fps, audio, cancel)));
        }
        // Owns the senders, so dropping it closes every rendition's queue.
        let mut send = move |picture: Shared| {
            // A rendition that failed has dropped its receiver; the others go on.
            for slot in senders.iter_mut() {
                if let Some(tx) = slot
                    && tx.send(picture.clone()).is_err()
                {
                    *slot = None;
                }
            }
        };
        let decoded = decode(&demux, first_key, &times, cancel, &mut send);
        drop(send);
        let results: Vec<Result<Output, TranscodeError>> = workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(TranscodeError::Codec("rendition thread panicked".into())))
            })
            .collect();
        if decoded? == 0 {
            return Err(TranscodeError::NoKeyframes);
        }
        results.into_iter().collect()
    })
}

/// Decodes from the first keyframe on, giving each picture the next
/// presentation time. Returns how many pictures came out.
fn decode(
    demux: &Demuxer<'_>,
    first_key: usize,
    times: &[i64],
    cancel: &AtomicBool,
    send: &mut impl FnMut(Shared),
) -> Result<usize, TranscodeError> {
    // No flush after each unit: with B-frames a flush mid-stream loses the
    // reordering state. Pictures left at the end come out of `flush_remaining`.
    let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
    let mut decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| TranscodeError::Codec(e.to_string()))?;
    let mut index = 0usize;
    let mut out = 0usize;
    let mut emit = |picture: Picture, out: &mut usize| {
        if let Some(&pts) = times.get(*out) {
            send(Arc::new((picture, pts)));
            *out += 1;
        }
    };
    demux.for_each_access_unit(|au| {
        index += 1;
        if index <= first_key {
            return Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(TranscodeError::Cancelled);
        }
        match decoder.decode(au.data) {
            Ok(Some(yuv)) => {
                let picture = Picture::copy_from(&yuv).map_err(|e| TranscodeError::Picture {
                    packet: au.packet,
                    why: e.to_string(),
                })?;
                emit(picture, &mut out);
            }
            Ok(None) => {}
            Err(e) => {
                return Err(TranscodeError::Decode {
                    packet: au.packet,
                    why: e.to_string(),
                });
            }
        }
        Ok(())
    })?;
    let rest = decoder
        .flush_remaining()
        .map_err(|e| TranscodeError::Codec(e.to_string()))?;
    for yuv in rest {
        emit(Picture::copy_from(&yuv)?, &mut out);
    }
    Ok(out)
}

/// The rendition's encoder, at its size for `first` (the source's first
/// picture), and the picture it is scaled into.
fn new_encoder(r: &Rendition, first: &Picture, source_fps: f32) -> Result<(H264Encoder, Picture), TranscodeError> {
    let (w, h) = r.size_for(first.width, first.height);
    let (num, den) = r.fps.unwrap_or((0, 1));
    // Rate control budgets per frame, so the rate it is told must be the
    // real one or it starts skipping frames.
    let fps = if num > 0 {
        (num as f32 / den as f32).min(source_fps)
    } else {
        source_fps
    };
    let intra_period = match r.gop {
        Gop::Default => 0,
        Gop::Intra => 1,
        Gop::Seconds(s) => ((s * fps as f64).round() as u32).max(1),
    };
    let settings = EncoderSettings {
        bitrate: r.bitrate,
        fps,
        intra_period,
    };
    Ok((H264Encoder::new(settings)?, Picture::new(w, h)))
}

/// Encoded frames (Annex B, 90 kHz PTS, keyframe) as an MPEG-TS, tables
/// before each keyframe.
fn mux_ts(frames: &[(Vec<u8>, i64, bool)]) -> Vec<u8> {
    let packets: usize = frames
        .iter()
        .map(|f| Muxer::packets_for_access_unit(f.0.len(), f.2))
        .sum();
    let mut mux = Muxer::with_capacity(packets * 188);
    for (annexb, pts, keyframe) in frames {
        if *keyframe {
            mux.write_tables();
        }
        mux.write_pes(&[annexb], *pts, *pts, *keyframe);
    }
    mux.finish()
}

/// One rendition: scale, decimate, encode, mux.
fn encode_rendition(
    r: &Rendition,
    rx: Receiver<Shared>,
    source_fps: f32,
    audio: Option<&[u8]>,
    cancel: &AtomicBool,
) -> Result<Output, TranscodeError> {
    let mut scaler = Scaler::default();
    // The output rate, if the rendition has its own (else the source's).
    let (num, den) = r.fps.unwrap_or((0, 1));
    let mut encoder: Option<(H264Encoder, Picture)> = None;
    let mut frames: Vec<(Vec<u8>, i64, bool)> = Vec::new();
    let mut first_pts = None;
    let mut last_slot: Option<i64> = None;
    for shared in rx {
        if cancel.load(Ordering::Relaxed) {
            return Err(TranscodeError::Cancelled);
        }
        let (picture, pts) = (&shared.0, shared.1);
        if encoder.is_none() {
            encoder = Some(new_encoder(r, picture, source_fps)?);
        }
        let Some((enc, scaled)) = encoder.as_mut() else {
            continue;
        };
        // Two pictures for one instant (real segments have them) cannot
        // both be shown; the first stays, so times only ever increase.
        if frames.last().is_some_and(|f| pts <= f.1) {
            continue;
        }
        // Frame-rate decimation: keep a picture when it opens a new slot
        // of the output rate. A rate at or above the source's mean keeps
        // every picture: slots that narrow would only drop the frames of a
        // sparse, variable-rate source that happen to be close together.
        let start = *first_pts.get_or_insert(pts);
        if num > 0 && (num as f32 / den as f32) < source_fps {
            let slot = ((pts - start) as i128 * num as i128 / (den as i128 * TS_CLOCK as i128)) as i64;
            if last_slot.is_some_and(|l| slot <= l) {
                continue;
            }
            last_slot = Some(slot);
        }
        let frame = if scaled.width == picture.width && scaled.height == picture.height {
            enc.encode(picture)?
        } else {
            scaler.scale_into(picture, scaled)?;
            enc.encode(scaled)?
        };
        if let Some(frame) = frame {
            frames.push((frame.annexb, pts, frame.keyframe));
        }
    }
    let Some((_, scaled)) = encoder else {
        return Err(TranscodeError::NoKeyframes);
    };

    let video_bytes: u64 = frames.iter().map(|f| f.0.len() as u64).sum();
    let ts = mux_ts(&frames);
    let bytes = match audio {
        Some(audio) => join(&ts, audio, JoinOptions::default())?,
        None => ts,
    };
    Ok(Output {
        name: r.name.clone(),
        width: scaled.width,
        height: scaled.height,
        frames: frames.len() as u32,
        keyframes: frames.iter().filter(|f| f.2).count() as u32,
        video_bytes,
        bytes,
    })
}

/// Frames per second over sorted presentation times (30 when they do not
/// say, as for a single frame).
fn mean_rate(times: &[i64]) -> f32 {
    match (times.first(), times.last()) {
        (Some(&first), Some(&last)) if last > first && times.len() > 1 => {
            ((times.len() - 1) as f64 * TS_CLOCK as f64 / (last - first) as f64).clamp(1.0, 240.0) as f32
        }
        _ => 30.0,
    }
}

/// A segment without video: every part is the source itself.
fn passthrough(input: &[u8], renditions: &[Rendition]) -> Vec<Output> {
    renditions
        .iter()
        .map(|r| Output {
            name: r.name.clone(),
            width: 0,
            height: 0,
            frames: 0,
            keyframes: 0,
            video_bytes: 0,
            bytes: input.to_vec(),
        })
        .collect()
}

/// Whether an Annex B access unit holds an IDR slice.
fn has_idr(annexb: &[u8]) -> bool {
    lpbridge_media::h264::AnnexB::new(annexb).any(|nal| nal.first().is_some_and(|b| b & 0x1f == 5))
}
