//! The only `bindgen!` of the host: the `bridge` world from `wit/`.
#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "bridge",
    exports: { default: async },
    require_store_data_send: true,
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use exports::streamplace::livepeer::{check, multipart, remux, session};
pub use streamplace::livepeer::types;

use lpbridge_contract as c;

impl types::Mp4Layout {
    /// The layout a `--fragmented` flag (or its setting) asks for.
    pub fn fragmented_if(fragmented: bool) -> Self {
        if fragmented {
            types::Mp4Layout::Fragmented
        } else {
            types::Mp4Layout::Progressive
        }
    }
}

// The contract crate's shapes and these records, both ways where both
// ways are crossed: exhaustive, so a field or a case added to one side
// fails to compile until the other has it.

/// A record, field for field, both ways, from one list of its fields:
/// destructuring names every field, so a field added to either side and
/// not to the list fails to compile. Each field says how it crosses: as it
/// is (`same`), by `Into` (`into`), or an `Option` of something `Into`
/// (`option`).
macro_rules! both_ways {
    ($wit:path, $ours:path, { $($field:ident: $how:ident),* $(,)? }) => {
        impl From<$wit> for $ours {
            fn from(v: $wit) -> Self {
                let $wit { $($field),* } = v;
                $ours { $($field: both_ways!(@$how $field)),* }
            }
        }

        impl From<$ours> for $wit {
            fn from(v: $ours) -> Self {
                let $ours { $($field),* } = v;
                $wit { $($field: both_ways!(@$how $field)),* }
            }
        }
    };
    (@same $v:ident) => { $v };
    (@into $v:ident) => { $v.into() };
    (@option $v:ident) => { $v.map(Into::into) };
}

both_ways!(types::FrameRate, c::FrameRate, { num: same, den: same });

impl From<c::H264Profile> for session::H264Profile {
    fn from(p: c::H264Profile) -> Self {
        use c::H264Profile as P;
        match p {
            P::Baseline => session::H264Profile::Baseline,
            P::Main => session::H264Profile::Main,
            P::High => session::H264Profile::High,
            P::ConstrainedHigh => session::H264Profile::ConstrainedHigh,
        }
    }
}

impl From<&c::Profile> for session::Profile {
    fn from(p: &c::Profile) -> Self {
        let c::Profile {
            name,
            width,
            height,
            bitrate,
            fps,
            h264_profile,
        } = p;
        session::Profile {
            name: name.clone(),
            width: *width,
            height: *height,
            bitrate: *bitrate,
            fps: fps.map(Into::into),
            h264_profile: h264_profile.map(Into::into),
        }
    }
}

impl From<types::VideoCodec> for c::VideoCodec {
    fn from(v: types::VideoCodec) -> Self {
        match v {
            types::VideoCodec::H264 => c::VideoCodec::H264,
            types::VideoCodec::Other(fourcc) => c::VideoCodec::Other(fourcc),
        }
    }
}

impl From<types::AudioCodec> for c::AudioCodec {
    fn from(a: types::AudioCodec) -> Self {
        match a {
            types::AudioCodec::Opus => c::AudioCodec::Opus,
            types::AudioCodec::Aac => c::AudioCodec::Aac,
            types::AudioCodec::Other(fourcc) => c::AudioCodec::Other(fourcc),
        }
    }
}

impl From<c::VideoCodec> for types::VideoCodec {
    fn from(v: c::VideoCodec) -> Self {
        match v {
            c::VideoCodec::H264 => types::VideoCodec::H264,
            c::VideoCodec::Other(fourcc) => types::VideoCodec::Other(fourcc),
        }
    }
}

impl From<c::AudioCodec> for types::AudioCodec {
    fn from(a: c::AudioCodec) -> Self {
        match a {
            c::AudioCodec::Opus => types::AudioCodec::Opus,
            c::AudioCodec::Aac => types::AudioCodec::Aac,
            c::AudioCodec::Other(fourcc) => types::AudioCodec::Other(fourcc),
        }
    }
}

both_ways!(types::VideoInfo, c::VideoInfo, {
    codec: into,
    width: same,
    height: same,
    frame_rate: option,
    frames: same,
    presented: same,
    keyframes: same,
    bytes: same,
    b_frames: same,
    start_ns: same,
    duration_ns: same,
    timescale: same,
});

both_ways!(types::AudioInfo, c::AudioInfo, {
    codec: into,
    sample_rate: same,
    channels: same,
    packets: same,
    start_ns: same,
    duration_ns: same,
    timescale: same,
});

both_ways!(types::SegmentInfo, c::SegmentInfo, {
    duration_ns: same,
    fragmented: same,
    video: option,
    audio: option,
});

impl From<types::MediaError> for c::MediaError {
    fn from(e: types::MediaError) -> Self {
        match e {
            types::MediaError::NoVideo => c::MediaError::NoVideo,
            types::MediaError::NoAudio => c::MediaError::NoAudio,
            types::MediaError::UnsupportedCodec(codec) => c::MediaError::UnsupportedCodec(codec),
            types::MediaError::Malformed(types::Malformed { at, reason }) => c::MediaError::Malformed { at, reason },
            types::MediaError::TooLarge(types::TooLarge { what, size, limit }) => {
                c::MediaError::TooLarge { what, size, limit }
            }
            types::MediaError::Truncated(what) => c::MediaError::Truncated(what),
        }
    }
}

impl From<multipart::MultipartError> for c::MultipartError {
    fn from(e: multipart::MultipartError) -> Self {
        use multipart::MultipartError as W;
        match e {
            W::BadContentType(why) => c::MultipartError::BadContentType(why),
            W::Malformed(multipart::MultipartMalformed { at, reason }) => c::MultipartError::Malformed { at, reason },
            W::Truncated(what) => c::MultipartError::Truncated(what),
            W::TooLarge(types::TooLarge { what, size, limit }) => c::MultipartError::TooLarge { what, size, limit },
        }
    }
}

impl From<session::TransportError> for c::TransportError {
    fn from(e: session::TransportError) -> Self {
        use session::TransportError as W;
        match e {
            W::ConnectTimeout => c::TransportError::ConnectTimeout,
            W::ConnectionRefused => c::TransportError::ConnectionRefused,
            W::FirstByteTimeout => c::TransportError::FirstByteTimeout,
            W::BetweenBytesTimeout => c::TransportError::BetweenBytesTimeout,
            W::ConnectionTerminated => c::TransportError::ConnectionTerminated,
            W::Denied => c::TransportError::Denied,
            W::Other(code) => c::TransportError::Other(code),
        }
    }
}

impl From<session::Check> for c::Check {
    fn from(k: session::Check) -> Self {
        match k {
            session::Check::Size => c::Check::Size,
            session::Check::FrameCount => c::Check::FrameCount,
            session::Check::Duration => c::Check::Duration,
            session::Check::FirstFrame => c::Check::FirstFrame,
            session::Check::Timestamps => c::Check::Timestamps,
        }
    }
}

impl From<session::Mismatch> for c::Mismatch {
    fn from(session::Mismatch { what, expected, got }: session::Mismatch) -> Self {
        c::Mismatch {
            what: what.into(),
            expected,
            got,
        }
    }
}

impl From<session::TranscodeError> for c::TranscodeError {
    fn from(e: session::TranscodeError) -> Self {
        use session::TranscodeError as W;
        match e {
            W::Media(m) => c::TranscodeError::Media(m.into()),
            W::Rendition(session::RenditionFailure { name, error }) => c::TranscodeError::Rendition(name, error.into()),
            W::Transport(t) => c::TranscodeError::Transport(t.into()),
            W::InvalidTarget(why) => c::TranscodeError::InvalidTarget(why),
            W::Status(session::GatewayStatus { status, body }) => c::TranscodeError::Status { status, body },
            W::NotMultipart(content_type) => c::TranscodeError::NotMultipart(content_type),
            W::Multipart(m) => c::TranscodeError::Multipart(m.into()),
            W::MissingRendition(name) => c::TranscodeError::MissingRendition(name),
            W::UnexpectedRendition(name) => c::TranscodeError::UnexpectedRendition(name),
            W::UrlRendition(session::UrlPart { name, url }) => c::TranscodeError::UrlRendition(name, url),
            W::Mismatch(session::RenditionMismatch { name, mismatch }) => c::TranscodeError::Mismatch {
                name,
                mismatch: mismatch.into(),
            },
        }
    }
}

impl From<check::FindingCode> for c::FindingCode {
    fn from(code: check::FindingCode) -> Self {
        use c::FindingCode as C;
        use check::FindingCode as W;
        match code {
            W::Unreadable => C::Unreadable,
            W::NoVideo => C::NoVideo,
            W::NoAudio => C::NoAudio,
            W::NoFrames => C::NoFrames,
            W::UnsupportedVideoCodec => C::UnsupportedVideoCodec,
            W::NoParameterSets => C::NoParameterSets,
            W::BadParameterSet => C::BadParameterSet,
            W::FirstFrameNotKeyframe => C::FirstFrameNotKeyframe,
            W::DtsDecreasing => C::DtsDecreasing,
            W::PtsBeforeDts => C::PtsBeforeDts,
            W::OpusBadChannelMapping => C::OpusBadChannelMapping,
            W::ParameterSetsChange => C::ParameterSetsChange,
            W::DuplicateDts => C::DuplicateDts,
            W::DuplicatePts => C::DuplicatePts,
            W::IrregularFrameDurations => C::IrregularFrameDurations,
            W::IrregularAudioDurations => C::IrregularAudioDurations,
            W::Gap => C::Gap,
            W::AvStartOffset => C::AvStartOffset,
            W::AvDurationMismatch => C::AvDurationMismatch,
            W::OpusPreSkip => C::OpusPreSkip,
            W::Layout => C::Layout,
            W::BFrames => C::BFrames,
            W::EditList => C::EditList,
            W::Keyframes => C::Keyframes,
            W::Bitrate => C::Bitrate,
            W::BridgeRequest => C::BridgeRequest,
            W::GapBetweenSegments => C::GapBetweenSegments,
            W::OverlapBetweenSegments => C::OverlapBetweenSegments,
            W::NewManifest => C::NewManifest,
            W::SandboxStopped => C::SandboxStopped,
        }
    }
}

impl From<check::Finding> for c::Finding {
    fn from(f: check::Finding) -> Self {
        let check::Finding {
            severity,
            code,
            at:
                check::Location {
                    box_path,
                    track,
                    sample,
                    time_ns,
                },
            message,
        } = f;
        c::Finding {
            severity: match severity {
                check::Severity::Error => c::Severity::Error,
                check::Severity::Warning => c::Severity::Warning,
                check::Severity::Info => c::Severity::Info,
            },
            code: code.into(),
            at: c::Location {
                box_path,
                track: track.map(Into::into),
                sample,
                time_ns,
            },
            message,
        }
    }
}

impl From<check::Report> for c::Report {
    fn from(check::Report { info, findings }: check::Report) -> Self {
        c::Report {
            info: info.map(Into::into),
            findings: findings.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<session::Rendition> for c::Rendition {
    fn from(r: session::Rendition) -> Self {
        let session::Rendition {
            name,
            width,
            height,
            frames,
            mp4,
            mismatches,
        } = r;
        c::Rendition {
            name,
            width,
            height,
            frames,
            mp4,
            mismatches: mismatches.into_iter().map(Into::into).collect(),
        }
    }
}

both_ways!(check::SampleTime, c::timeline::SampleTime, {
    dts_ns: same,
    pts_ns: same,
    duration_ns: same,
    coded_duration_ns: same,
    size: same,
    keyframe: same,
});

both_ways!(check::EditSpan, c::timeline::EditSpan, {
    start_ns: same,
    duration_ns: same,
    media_time_ns: same,
});

impl From<check::TrackKind> for c::TrackKind {
    fn from(t: check::TrackKind) -> Self {
        match t {
            check::TrackKind::Video => c::TrackKind::Video,
            check::TrackKind::Audio => c::TrackKind::Audio,
        }
    }
}

impl From<check::SegmentTimeline> for c::timeline::SegmentTimeline {
    fn from(t: check::SegmentTimeline) -> Self {
        let tracks = t.tracks.into_iter().map(|t| {
            let check::TrackTimeline {
                kind,
                samples,
                total_samples,
                edits,
                fragment_starts_ns,
            } = t;
            c::timeline::TrackTimeline {
                kind: kind.into(),
                samples: samples.into_iter().map(Into::into).collect(),
                total_samples,
                edits: edits.into_iter().map(Into::into).collect(),
                fragment_starts_ns,
            }
        });
        c::timeline::SegmentTimeline {
            tracks: tracks.collect(),
        }
    }
}
