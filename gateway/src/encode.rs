//! H.264 encoding with openh264, set up the way a live rendition needs:
//! bitrate rate control at the rendition's frame rate, an IDR first, and a
//! fixed keyframe period when the profile asks for one.
//!
//! Frame skipping is off: a rendition has a frame for every picture kept,
//! as go-livepeer's do. openh264 warns at start-up that its rate control
//! then cannot guarantee the bitrate; in practice it holds it within 1%
//! at the ladder's rates (the demo's table shows asked against got), so
//! that warning is silenced rather than printed for every segment.

use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode, UsageType,
};

use crate::error::TranscodeError;
use crate::picture::Picture;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EncoderSettings {
    pub bitrate: u64,
    pub fps: f32,
    /// Frames between IDRs; 0 = only the first.
    pub intra_period: u32,
}

/// One encoded picture in Annex B (start codes; SPS/PPS before each IDR).
#[derive(Clone, Debug)]
pub struct EncodedFrame {
    pub annexb: Vec<u8>,
    pub keyframe: bool,
}

pub struct H264Encoder {
    inner: Encoder,
    started: bool,
}

impl H264Encoder {
    pub fn new(settings: EncoderSettings) -> Result<Self, TranscodeError> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(settings.bitrate.clamp(10_000, u32::MAX as u64) as u32))
            .max_frame_rate(FrameRate::from_hz(settings.fps.clamp(1.0, 240.0)))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(false)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            .intra_frame_period(IntraFramePeriod::from_num_frames(settings.intra_period))
            // One thread per encoder: renditions already run in parallel.
            .num_threads(1);
        let mut inner = Encoder::with_api_config(OpenH264API::from_source(), config).map_err(codec)?;
        let mut quiet: i32 = openh264_sys2::WELS_LOG_QUIET;
        // SAFETY: the trace level is one of the options openh264 takes
        // before initialisation (welsEncoderExt.cpp, SetOption), and the
        // pointer is to a live i32 for the length of the call.
        #[allow(unsafe_code)]
        unsafe {
            inner
                .raw_api()
                .set_option(openh264_sys2::ENCODER_OPTION_TRACE_LEVEL, (&raw mut quiet).cast());
        }
        Ok(H264Encoder { inner, started: false })
    }

    /// Encodes one picture (whose size may not change between calls);
    /// `None` when rate control skipped it.
    pub fn encode(&mut self, picture: &Picture) -> Result<Option<EncodedFrame>, TranscodeError> {
        if !self.started {
            self.inner.force_intra_frame();
        }
        let stream = self.inner.encode(picture).map_err(codec)?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let annexb = stream.to_vec();
        if annexb.is_empty() || matches!(stream.frame_type(), FrameType::Skip) {
            return Ok(None);
        }
        self.started |= keyframe;
        Ok(Some(EncodedFrame { annexb, keyframe }))
    }
}

fn codec(e: openh264::Error) -> TranscodeError {
    TranscodeError::Codec(e.to_string())
}
