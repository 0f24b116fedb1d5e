//! A sample segment made here, so the demo needs no file and no tool: a
//! moving test pattern encoded with the same openh264 encoder the gateway
//! uses, plus a silent Opus track (20 ms CELT packets that decode to
//! digital silence), in a progressive MP4 shaped like a Streamplace
//! segment (`avc1` + `Opus`/`dOps`, moov first).

use lpbridge_media::h264::{AnnexB, NalType, build_avcc, parse_sps};
use lpbridge_media::mp4::{MuxTrack, OutSample, TrakSource, avc_stsd, mux_progressive, opus_stsd};

use crate::encode::{EncoderSettings, H264Encoder};
use crate::error::TranscodeError;
use crate::picture::Picture;

/// One 20 ms mono CELT frame that decodes to silence (TOC 0xF8: config 31,
/// full band, 20 ms).
const SILENT_OPUS: [u8; 3] = [0xf8, 0xff, 0xfe];
const OPUS_FRAME: u32 = 960;
const VIDEO_TIMESCALE: u32 = 90_000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleOptions {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: u32,
    pub bitrate: u64,
    /// Keyframe every this many frames (0 = the first only).
    pub gop: u32,
}

impl Default for SampleOptions {
    /// A 2 s 720p30 segment at 3 Mb/s with one keyframe a second.
    fn default() -> Self {
        SampleOptions {
            width: 1280,
            height: 720,
            fps: 30,
            frames: 60,
            bitrate: 3_000_000,
            gop: 30,
        }
    }
}

/// Segment number `index`: its pattern continues where the previous
/// segment's stopped, so consecutive segments play as one stream.
pub fn sample_segment(index: u32, options: SampleOptions) -> Result<Vec<u8>, TranscodeError> {
    let SampleOptions {
        width,
        height,
        fps,
        frames,
        bitrate,
        gop,
    } = options;
    if width < 16 || height < 16 || width % 2 == 1 || height % 2 == 1 || fps == 0 || frames == 0 {
        return Err(TranscodeError::Codec(format!(
            "sample of {width}x{height} at {fps} fps, {frames} frames, is not possible"
        )));
    }
    let mut encoder = H264Encoder::new(EncoderSettings {
        bitrate,
        fps: fps as f32,
        intra_period: gop,
    })?;
    let mut picture = Picture::new(width, height);
    let mut sps: Option<Vec<u8>> = None;
    let mut pps: Option<Vec<u8>> = None;
    let mut data: Vec<Vec<u8>> = Vec::with_capacity(frames as usize);
    let mut samples = Vec::with_capacity(frames as usize);
    let step = VIDEO_TIMESCALE / fps;
    for i in 0..frames {
        draw(&mut picture, index * frames + i, fps);
        let Some(frame) = encoder.encode(&picture)? else {
            return Err(TranscodeError::Codec(format!(
                "the encoder skipped frame {i} of the sample"
            )));
        };
        let avcc = slices_only(&frame.annexb, &mut sps, &mut pps);
        samples.push(OutSample {
            size: avcc.len() as u32,
            duration: step,
            cts_offset: 0,
            sync: frame.keyframe,
        });
        data.push(avcc);
    }
    let (Some(sps), Some(pps)) = (sps, pps) else {
        return Err(TranscodeError::Codec("encoder gave no SPS/PPS".into()));
    };
    let info = parse_sps(&sps).map_err(TranscodeError::Media)?;
    let avcc = build_avcc(&info, &[&sps], &[&pps]);

    let audio_samples = silent_audio(frames, fps);
    let audio_frames = audio_samples.len();
    let tracks = [
        MuxTrack {
            id: 1,
            timescale: VIDEO_TIMESCALE,
            source: TrakSource::Video {
                width,
                height,
                stsd: avc_stsd(b"avc1", info.width, info.height, &avcc),
                edits: Vec::new(),
            },
            samples,
            data: data.iter().map(Vec::as_slice).collect(),
        },
        MuxTrack {
            id: 2,
            timescale: 48_000,
            source: TrakSource::Audio {
                stsd: opus_stsd(1, 312, 48_000),
            },
            samples: audio_samples,
            data: vec![&SILENT_OPUS[..]; audio_frames],
        },
    ];
    Ok(mux_progressive(1000, &tracks, &[]))
}

/// A frame's slices as 4-byte length-prefixed NAL units; its parameter
/// sets go to `sps` and `pps`, for avcC.
fn slices_only(annexb: &[u8], sps: &mut Option<Vec<u8>>, pps: &mut Option<Vec<u8>>) -> Vec<u8> {
    let mut avcc = Vec::with_capacity(annexb.len());
    for nal in AnnexB::new(annexb) {
        match NalType::of(nal) {
            NalType::Sps => *sps = Some(nal.to_vec()),
            NalType::Pps => *pps = Some(nal.to_vec()),
            _ => {
                avcc.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                avcc.extend_from_slice(nal);
            }
        }
    }
    avcc
}

/// Silent Opus packets covering `frames` video frames at `fps`.
fn silent_audio(frames: u32, fps: u32) -> Vec<OutSample> {
    let packets = (frames as u64 * 48_000).div_ceil(fps as u64 * OPUS_FRAME as u64) as usize;
    vec![
        OutSample {
            size: SILENT_OPUS.len() as u32,
            duration: OPUS_FRAME,
            cts_offset: 0,
            sync: true,
        };
        packets
    ]
}

/// A pattern that shows motion and scaling: diagonal luma bands moving
/// right, colour bars, and a bright square that crosses the frame once a
/// second.
fn draw(p: &mut Picture, frame: u32, fps: u32) {
    let (w, h) = (p.width as usize, p.height as usize);
    let shift = (frame as usize * 4) % 256;
    for y in 0..h {
        let row = &mut p.y[y * w..(y + 1) * w];
        for (x, px) in row.iter_mut().enumerate() {
            *px = (16 + ((x + y / 2 + shift) % 256) * 219 / 255) as u8;
        }
    }
    let side = w.min(h) / 5;
    let t = (frame % fps) as usize;
    let left = t * (w - side) / fps.max(1) as usize;
    let top = (h - side) / 2;
    for y in top..top + side {
        p.y[y * w + left..y * w + left + side].fill(235);
    }
    let (cw, ch) = crate::picture::chroma_size(p.width, p.height);
    let (cw, ch) = (cw as usize, ch as usize);
    const BARS: [(u8, u8); 6] = [(44, 21), (156, 44), (16, 134), (212, 114), (100, 212), (240, 146)];
    for y in 0..ch {
        for x in 0..cw {
            let (u, v) = BARS[x * BARS.len() / cw];
            p.u[y * cw + x] = u;
            p.v[y * cw + x] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tall_and_narrow_samples_draw_inside_the_picture() {
        let options = SampleOptions {
            width: 16,
            height: 400,
            frames: 31,
            ..SampleOptions::default()
        };
        assert!(sample_segment(1, options).is_ok());
    }

    #[test]
    fn a_sample_reads_back_as_a_segment() {
        let options = SampleOptions {
            width: 320,
            height: 240,
            frames: 15,
            ..SampleOptions::default()
        };
        let mp4 = sample_segment(0, options).unwrap();
        let info = lpbridge_media::probe(&mp4).unwrap();
        let (video, audio) = (info.video.unwrap(), info.audio.unwrap());
        assert_eq!((video.width, video.height), (320, 240));
        assert_eq!(video.frames, 15);
        assert_eq!(audio.codec.name(), "opus");
        let split = lpbridge_media::split(&mp4).unwrap();
        assert!(!split.video_ts.is_empty());
    }
}
