//! The WIT export glue: converts between the WIT types and the library's,
//! and nothing else.

use crate::error::Error;
use crate::multipart::{self, MultipartError, PartBody};

wit_bindgen::generate!({
    path: "../wit",
    world: "remuxer",
});

use exports::streamplace::livepeer::{multipart as wit_multipart, remux};
use streamplace::livepeer::types as wit;

struct Component;

export!(Component);

fn media_error(e: Error) -> wit::MediaError {
    match e {
        Error::NoVideo => wit::MediaError::NoVideo,
        Error::NoAudio => wit::MediaError::NoAudio,
        Error::UnsupportedCodec(c) => wit::MediaError::UnsupportedCodec(c),
        Error::Malformed { at, reason } => {
            wit::MediaError::Malformed(wit::Malformed { at, reason })
        }
        Error::TooLarge { what, size, limit } => {
            wit::MediaError::TooLarge(wit::TooLarge { what, size, limit })
        }
        Error::Truncated(what) => wit::MediaError::Truncated(what),
    }
}

fn segment_info(i: crate::SegmentInfo) -> wit::SegmentInfo {
    wit::SegmentInfo {
        duration_ns: i.duration_ns,
        fragmented: i.fragmented,
        video: i
            .video
            .into_iter()
            .map(|v| wit::VideoInfo {
                codec: v.codec,
                width: v.width,
                height: v.height,
                frame_rate: v.frame_rate.map(|f| wit::FrameRate {
                    num: f.num,
                    den: f.den,
                }),
                frames: v.frames,
                keyframes: v.keyframes,
                b_frames: v.b_frames,
                start_ns: v.start_ns,
                duration_ns: v.duration_ns,
                timescale: v.timescale,
            })
            .collect(),
        audio: i
            .audio
            .into_iter()
            .map(|a| wit::AudioInfo {
                codec: a.codec,
                sample_rate: a.sample_rate,
                channels: a.channels,
                packets: a.packets,
                start_ns: a.start_ns,
                duration_ns: a.duration_ns,
                timescale: a.timescale,
            })
            .collect(),
    }
}

impl remux::Guest for Component {
    fn probe(segment: Vec<u8>) -> Result<wit::SegmentInfo, wit::MediaError> {
        crate::probe(&segment)
            .map(segment_info)
            .map_err(media_error)
    }

    fn split(segment: Vec<u8>) -> Result<wit::SplitOutput, wit::MediaError> {
        let s = crate::split(&segment).map_err(media_error)?;
        Ok(wit::SplitOutput {
            info: segment_info(s.info),
            video_ts: s.video_ts,
            audio_mp4: s.audio_mp4,
        })
    }

    fn join(
        video_ts: Vec<u8>,
        audio_mp4: Vec<u8>,
        _options: wit::JoinOptions,
    ) -> Result<Vec<u8>, wit::MediaError> {
        crate::join(&video_ts, &audio_mp4, crate::JoinOptions::default()).map_err(media_error)
    }
}

impl wit_multipart::Guest for Component {
    fn parse(content_type: String, body: Vec<u8>) -> Result<Vec<wit::Part>, wit::MultipartError> {
        let parts = multipart::parse(&content_type, &body).map_err(|e| match e {
            MultipartError::BadContentType(m) => wit::MultipartError::BadContentType(m),
            MultipartError::Malformed { at, reason } => {
                wit::MultipartError::Malformed(wit::MultipartMalformed { at, reason })
            }
            MultipartError::Truncated(m) => wit::MultipartError::Truncated(m),
            MultipartError::TooLarge { what, size, limit } => {
                wit::MultipartError::TooLarge(wit::TooLarge { what, size, limit })
            }
        })?;
        Ok(parts
            .into_iter()
            .map(|p| wit::Part {
                name: p.name,
                filename: p.filename,
                content_type: p.content_type,
                headers: p.headers,
                body: match p.body {
                    PartBody::Bytes(b) => wit::PartBody::Bytes(b),
                    PartBody::Url(u) => wit::PartBody::Url(u),
                },
            })
            .collect())
    }
}
