//! The exports of the `bridge` world (and of `bench`): remux, multipart
//! and session, over the library.

use super::Component;
use super::exports::streamplace::livepeer::session as wit_session;
use super::exports::streamplace::livepeer::{check as wit_check, multipart as wit_multipart, remux};
use super::http::{post, read_answer, response_head};
use super::streamplace::livepeer::types as wit;
use super::wasi::http::types::FutureIncomingResponse;
use crate::session::{self as core, TranscodeError, TransportError};
use lpbridge_contract::finding::{Finding, FindingCode, Severity, TrackKind};
use lpbridge_contract::ladder::{H264Profile, Profile};
use lpbridge_contract::timeline::TrackTimeline;
use lpbridge_media::multipart::{self, MultipartError, PartBody};
use lpbridge_media::verify::{Check, Mismatch, Verify};
use lpbridge_media::{Error, JoinOptions, SegmentInfo};

fn media_error(e: Error) -> wit::MediaError {
    match e {
        Error::NoVideo => wit::MediaError::NoVideo,
        Error::NoAudio => wit::MediaError::NoAudio,
        Error::UnsupportedCodec(c) => wit::MediaError::UnsupportedCodec(c),
        Error::Malformed { at, reason } => wit::MediaError::Malformed(wit::Malformed { at, reason }),
        Error::TooLarge { what, size, limit } => wit::MediaError::TooLarge(wit::TooLarge { what, size, limit }),
        Error::Truncated(what) => wit::MediaError::Truncated(what),
    }
}

fn join_options(o: wit::JoinOptions) -> JoinOptions {
    JoinOptions {
        fragmented: o.layout == wit::Mp4Layout::Fragmented,
    }
}

impl remux::Guest for Component {
    fn probe(segment: Vec<u8>) -> Result<SegmentInfo, wit::MediaError> {
        crate::variant::reading(&segment);
        lpbridge_media::probe(&segment).map_err(media_error)
    }

    fn split(segment: Vec<u8>) -> Result<wit::SplitOutput, wit::MediaError> {
        let s = lpbridge_media::split(&segment).map_err(media_error)?;
        Ok(wit::SplitOutput {
            info: s.info,
            video_ts: s.video_ts,
            audio_mp4: s.audio_mp4,
        })
    }

    fn join(video_ts: Vec<u8>, audio_mp4: Vec<u8>, options: wit::JoinOptions) -> Result<Vec<u8>, wit::MediaError> {
        lpbridge_media::join(&video_ts, &audio_mp4, join_options(options))
            .map(crate::variant::joined)
            .map_err(media_error)
    }
}

#[cfg(feature = "bench")]
impl super::exports::streamplace::livepeer::calibrate::Guest for Component {
    fn echo(bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
}

fn multipart_error(e: MultipartError) -> wit_multipart::MultipartError {
    match e {
        MultipartError::BadContentType(m) => wit_multipart::MultipartError::BadContentType(m),
        MultipartError::Malformed { at, reason } => {
            wit_multipart::MultipartError::Malformed(wit_multipart::MultipartMalformed { at, reason })
        }
        MultipartError::Truncated(m) => wit_multipart::MultipartError::Truncated(m),
        MultipartError::TooLarge { what, size, limit } => {
            wit_multipart::MultipartError::TooLarge(wit::TooLarge { what, size, limit })
        }
    }
}

impl wit_multipart::Guest for Component {
    fn parse(content_type: String, body: Vec<u8>) -> Result<Vec<wit_multipart::Part>, wit_multipart::MultipartError> {
        let parts = multipart::parse(&content_type, &body).map_err(multipart_error)?;
        Ok(parts
            .into_iter()
            .map(|p| wit_multipart::Part {
                name: p.name,
                filename: p.filename,
                content_type: p.content_type,
                headers: p.headers,
                body: match p.body {
                    PartBody::Bytes(b) => wit_multipart::PartBody::Bytes(b),
                    PartBody::Url(u) => wit_multipart::PartBody::Url(u),
                },
            })
            .collect())
    }
}

fn transcode_error(e: TranscodeError) -> wit_session::TranscodeError {
    use wit_session::TranscodeError as W;
    match e {
        TranscodeError::Media(m) => W::Media(media_error(m)),
        TranscodeError::Rendition(name, m) => W::Rendition(wit_session::RenditionFailure {
            name,
            error: media_error(m),
        }),
        TranscodeError::Transport(t) => W::Transport(transport_error(t)),
        TranscodeError::InvalidTarget(why) => W::InvalidTarget(why),
        TranscodeError::Status { status, body } => W::Status(wit_session::GatewayStatus { status, body }),
        TranscodeError::NotMultipart(c) => W::NotMultipart(c),
        TranscodeError::Multipart(m) => W::Multipart(multipart_error(m)),
        TranscodeError::MissingRendition(n) => W::MissingRendition(n),
        TranscodeError::UnexpectedRendition(n) => W::UnexpectedRendition(n),
        TranscodeError::UrlRendition(name, url) => W::UrlRendition(wit_session::UrlPart { name, url }),
        TranscodeError::Mismatch { name, mismatch } => W::Mismatch(wit_session::RenditionMismatch {
            name,
            mismatch: mismatch_of(mismatch),
        }),
    }
}

fn transport_error(t: TransportError) -> wit_session::TransportError {
    use wit_session::TransportError as W;
    match t {
        TransportError::ConnectTimeout => W::ConnectTimeout,
        TransportError::ConnectionRefused => W::ConnectionRefused,
        TransportError::FirstByteTimeout => W::FirstByteTimeout,
        TransportError::BetweenBytesTimeout => W::BetweenBytesTimeout,
        TransportError::ConnectionTerminated => W::ConnectionTerminated,
        TransportError::Denied => W::Denied,
        TransportError::Other(what) => W::Other(what),
    }
}

fn mismatch_of(m: Mismatch) -> wit_session::Mismatch {
    use wit_session::Check as W;
    wit_session::Mismatch {
        what: match m.what {
            Check::Size => W::Size,
            Check::FrameCount => W::FrameCount,
            Check::Duration => W::Duration,
            Check::FirstFrame => W::FirstFrame,
            Check::Timestamps => W::Timestamps,
        },
        expected: m.expected,
        got: m.got,
    }
}

/// What `receive` checks each rendition against: the source's video as
/// `send` read it, which the host held in `pending`; none when the host
/// turned the checks off. `send` refuses a segment without video, so a
/// `pending` without one was built by a host by hand, and there is nothing
/// to check against.
fn verification(pending: &wit_session::Pending) -> Option<core::Verification> {
    let mode = match pending.verify {
        wit_session::VerifyMode::Off => return None,
        wit_session::VerifyMode::Warn => Verify::Warn,
        wit_session::VerifyMode::Strict => Verify::Strict,
    };
    let source = pending.info.video.clone()?;
    Some(core::Verification { mode, source })
}

/// The contract's profiles, field for field: the frame rate is already the
/// contract crate's (`with`), the H.264 profile is matched exhaustively.
fn profiles_of(wit: &[wit_session::Profile]) -> Vec<Profile> {
    wit.iter()
        .map(|p| Profile {
            name: p.name.clone(),
            width: p.width,
            height: p.height,
            bitrate: p.bitrate,
            fps: p.fps,
            h264_profile: p.h264_profile.map(|h| match h {
                wit_session::H264Profile::Baseline => H264Profile::Baseline,
                wit_session::H264Profile::Main => H264Profile::Main,
                wit_session::H264Profile::High => H264Profile::High,
                wit_session::H264Profile::ConstrainedHigh => H264Profile::ConstrainedHigh,
            }),
        })
        .collect()
}

impl wit_session::Guest for Component {
    fn send(r: wit_session::SegmentRequest) -> Result<wit_session::Sent, wit_session::TranscodeError> {
        let profiles = profiles_of(&r.profiles);
        let target = core::target(&r.gateway, &r.manifest, r.seq).map_err(transcode_error)?;
        let planned = lpbridge_media::plan(&r.segment).map_err(|e| transcode_error(TranscodeError::Media(e)))?;
        let headers = core::request_headers(planned.info(), &r.manifest, &profiles);
        let (info, audio_mp4) = (planned.info().clone(), planned.audio_mp4());
        // The TS is written to the request as it is made, never whole; the
        // segment is freed once it is sent, and the instance with it.
        let sent = post(&target, &headers, &planned);
        drop(planned);
        drop(r.segment);
        let response = sent.map_err(transcode_error)?;
        let pending = wit_session::Pending {
            info,
            audio_mp4,
            profiles: r.profiles,
            join: r.join,
            verify: r.verify,
        };
        Ok(wit_session::Sent { response, pending })
    }

    fn receive(
        response: FutureIncomingResponse,
        pending: wit_session::Pending,
    ) -> Result<wit_session::TranscodeOutput, wit_session::TranscodeError> {
        let profiles = profiles_of(&pending.profiles);
        let response = response_head(&response).map_err(transcode_error)?;
        let collector = core::Collector::new(
            &pending.audio_mp4,
            &profiles,
            join_options(pending.join),
            verification(&pending),
        );
        // In the order of the request's profiles, whatever the parts' order.
        let mut slots: Vec<Option<core::Rendition>> = vec![None; profiles.len()];
        read_answer(response, collector, &mut |c| {
            slots[c.slot] = Some(c.rendition);
            Ok(())
        })
        .map_err(transcode_error)?;
        Ok(wit_session::TranscodeOutput {
            renditions: slots
                .into_iter()
                .flatten()
                .map(|r| wit_session::Rendition {
                    name: r.name,
                    width: r.width,
                    height: r.height,
                    frames: r.frames,
                    mp4: r.mp4,
                    mismatches: r.mismatches.into_iter().map(mismatch_of).collect(),
                })
                .collect(),
        })
    }
}

/// Exhaustive both ways: a code added to the contract crate fails to
/// compile here until the WIT has it.
fn finding_code(c: FindingCode) -> wit_check::FindingCode {
    use FindingCode as C;
    use wit_check::FindingCode as W;
    match c {
        C::Unreadable => W::Unreadable,
        C::NoVideo => W::NoVideo,
        C::NoAudio => W::NoAudio,
        C::NoFrames => W::NoFrames,
        C::UnsupportedVideoCodec => W::UnsupportedVideoCodec,
        C::NoParameterSets => W::NoParameterSets,
        C::BadParameterSet => W::BadParameterSet,
        C::FirstFrameNotKeyframe => W::FirstFrameNotKeyframe,
        C::DtsDecreasing => W::DtsDecreasing,
        C::PtsBeforeDts => W::PtsBeforeDts,
        C::OpusBadChannelMapping => W::OpusBadChannelMapping,
        C::ParameterSetsChange => W::ParameterSetsChange,
        C::DuplicateDts => W::DuplicateDts,
        C::DuplicatePts => W::DuplicatePts,
        C::IrregularFrameDurations => W::IrregularFrameDurations,
        C::IrregularAudioDurations => W::IrregularAudioDurations,
        C::Gap => W::Gap,
        C::AvStartOffset => W::AvStartOffset,
        C::AvDurationMismatch => W::AvDurationMismatch,
        C::OpusPreSkip => W::OpusPreSkip,
        C::Layout => W::Layout,
        C::BFrames => W::BFrames,
        C::EditList => W::EditList,
        C::Keyframes => W::Keyframes,
        C::Bitrate => W::Bitrate,
        C::BridgeRequest => W::BridgeRequest,
        C::GapBetweenSegments => W::GapBetweenSegments,
        C::OverlapBetweenSegments => W::OverlapBetweenSegments,
        C::NewManifest => W::NewManifest,
        C::SandboxStopped => W::SandboxStopped,
    }
}

fn finding(f: Finding) -> wit_check::Finding {
    wit_check::Finding {
        severity: match f.severity {
            Severity::Error => wit_check::Severity::Error,
            Severity::Warning => wit_check::Severity::Warning,
            Severity::Info => wit_check::Severity::Info,
        },
        code: finding_code(f.code),
        at: wit_check::Location {
            box_path: f.at.box_path,
            track: f.at.track.map(track_kind),
            sample: f.at.sample,
            time_ns: f.at.time_ns,
        },
        message: f.message,
    }
}

fn track_kind(t: TrackKind) -> wit_check::TrackKind {
    match t {
        TrackKind::Video => wit_check::TrackKind::Video,
        TrackKind::Audio => wit_check::TrackKind::Audio,
    }
}

fn track_timeline(t: TrackTimeline) -> wit_check::TrackTimeline {
    let TrackTimeline {
        kind,
        samples,
        total_samples,
        edits,
        fragment_starts_ns,
    } = t;
    wit_check::TrackTimeline {
        kind: track_kind(kind),
        samples,
        total_samples,
        edits,
        fragment_starts_ns,
    }
}

impl wit_check::Guest for Component {
    fn check(segment: Vec<u8>) -> wit_check::Report {
        let r = lpbridge_media::check::check(&segment);
        wit_check::Report {
            info: r.info,
            findings: r.findings.into_iter().map(finding).collect(),
        }
    }

    fn check_drawn(segment: Vec<u8>) -> wit_check::Drawn {
        let timeline = lpbridge_media::check::timeline(&segment).map(|t| wit_check::SegmentTimeline {
            tracks: t.tracks.into_iter().map(track_timeline).collect(),
        });
        wit_check::Drawn {
            report: Self::check(segment),
            timeline,
        }
    }

    fn draw(files: Vec<wit_check::NamedFile>) -> String {
        use lpbridge_contract::ladder::default_ladder;
        use lpbridge_media::check;
        let ladder = default_ladder();
        let checked: Vec<_> = files
            .iter()
            .map(|f| {
                let report = check::check(&f.bytes);
                let rungs = lpbridge_contract::manifest::profiles(&ladder, report.info.as_ref());
                (report, check::timeline(&f.bytes), rungs)
            })
            .collect();
        let infos: Vec<Option<SegmentInfo>> = checked.iter().map(|c| c.0.info.clone()).collect();
        let mut stream = vec![Vec::new(); files.len()];
        let run = check::stream::check(&infos).into_iter().map(|f| (f.segment, f.finding));
        // Where the bridge would open a new manifest: the host's rule, from
        // the contract crate, as `lpbridge check` says it.
        let refs: Vec<Option<&SegmentInfo>> = infos.iter().map(Option::as_ref).collect();
        for (i, finding) in run.chain(lpbridge_contract::manifest::new_manifests(&ladder, &refs)) {
            if let Some(on) = stream.get_mut(i) {
                on.push(finding);
            }
        }
        let segments: Vec<lpbridge_draw::Segment<'_>> = files
            .iter()
            .zip(&checked)
            .zip(&stream)
            .map(|((f, (report, timeline, rungs)), stream)| lpbridge_draw::Segment {
                name: &f.name,
                bytes: f.bytes.len() as u64,
                findings: &report.findings,
                info: report.info.as_ref(),
                timeline: timeline.as_ref(),
                rungs,
                stream,
            })
            .collect();
        lpbridge_draw::page(&segments)
    }

    fn check_stream(segments: Vec<Option<SegmentInfo>>) -> Vec<wit_check::StreamFinding> {
        lpbridge_media::check::stream::check(&segments)
            .into_iter()
            .map(|f| wit_check::StreamFinding {
                segment: f.segment as u32,
                finding: finding(f.finding),
            })
            .collect()
    }
}
