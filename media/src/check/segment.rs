//! The findings of one segment, from its tables and NAL unit headers.

use crate::error::Error;
use crate::h264::{AvcConfig, NalType, for_each_length_prefixed, parse_sps};
use crate::info::{SegmentInfo, describe, is_h264};
use crate::limits::MAX_OPUS_PRE_SKIP;
use crate::mp4::{self, Atoms, Movie, Track, TrackKind as Kind};
use crate::time::to_ns;

use super::{Finding, FindingCode, Location, Report, Severity, TrackKind, order};
use crate::num::{i64_sat, u32_sat};

/// A duration this far from the expected one (in tenths) is irregular.
const IRREGULAR_TENTHS: u64 = 1;

/// A step of more than this many expected durations is a gap: at least two
/// frames or packets are missing there.
const GAP_FACTOR: u64 = 3;

/// Checks one segment. Bytes that cannot be read give one `unreadable`
/// error, never a failure of the check.
pub fn check(segment: &[u8]) -> Report {
    let unreadable = |e: Error| {
        let box_path = match &e {
            Error::Malformed { at, .. } => Some(at.clone()),
            _ => None,
        };
        let at = Location {
            box_path,
            ..Location::default()
        };
        Report::one_error(FindingCode::Unreadable, at, format!("cannot be read: {e}"))
    };
    let movie = match mp4::parse(segment) {
        Ok(m) => m,
        Err(e) => return unreadable(e),
    };
    let info = match describe(&movie) {
        Ok(i) => i,
        Err(e) => return undescribed(&movie, e).unwrap_or_else(unreadable),
    };
    let mut out = Findings::default();
    layout(segment, &movie, &mut out);
    let video = movie.tracks.iter().find(|t| t.kind == Kind::Video);
    let audio = movie.tracks.iter().find(|t| t.kind == Kind::Audio);
    match video {
        None => out.error(
            FindingCode::NoVideo,
            Location::default(),
            "no video track: the bridge refuses the segment",
        ),
        Some(v) => video_track(segment, &movie, v, &mut out),
    }
    match audio.filter(|a| !a.samples.is_empty()) {
        None => out.error(
            FindingCode::NoAudio,
            Location::default(),
            "no audio packets: the bridge refuses the segment",
        ),
        Some(a) => audio_track(segment, &movie, a, &mut out),
    }
    if let (Some(v), Some(a)) = (video, audio) {
        audio_against_video(&info, v, a, &mut out);
    }
    bridge_request(&info, &mut out);
    let mut findings = out.0;
    order(&mut findings);
    Report {
        info: Some(info),
        findings,
    }
}

/// A segment whose description fails on its video's decoder setup: a
/// `bad-parameter-set` at its sample entry, not `unreadable`, since the
/// boxes themselves were read.
fn undescribed(movie: &Movie<'_>, e: Error) -> Result<Report, Error> {
    let setup = matches!(&e, Error::Malformed { at, .. } if at == "SPS" || at == "avcC");
    let video = movie.tracks.iter().find(|t| t.kind == Kind::Video);
    match video.filter(|_| setup) {
        Some(v) => Ok(Report::one_error(
            FindingCode::BadParameterSet,
            at_box(format!("moov/trak[{}]/mdia/minf/stbl/stsd", v.id)),
            format!("the decoder setup in avcC cannot be read: {e}"),
        )),
        None => Err(e),
    }
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, severity: Severity, code: FindingCode, at: Location, message: impl Into<String>) {
        self.0.push(Finding {
            severity,
            code,
            at,
            message: message.into(),
        });
    }
    fn error(&mut self, code: FindingCode, at: Location, message: impl Into<String>) {
        self.push(Severity::Error, code, at, message);
    }
    fn warning(&mut self, code: FindingCode, at: Location, message: impl Into<String>) {
        self.push(Severity::Warning, code, at, message);
    }
    fn info(&mut self, code: FindingCode, at: Location, message: impl Into<String>) {
        self.push(Severity::Info, code, at, message);
    }
}

fn at_box(path: String) -> Location {
    Location {
        box_path: Some(path),
        ..Location::default()
    }
}

fn at_sample(kind: TrackKind, t: &Track<'_>, i: usize) -> Location {
    Location {
        box_path: None,
        track: Some(kind),
        sample: Some(u32_sat(i)),
        time_ns: t.samples.get(i).map(|s| to_ns(s.pts(), t.timescale)),
    }
}

/// `1 frame`, `3 frames`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn ms(ns: i64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

/// Progressive or fragmented, and where the `moov` is.
fn layout(segment: &[u8], movie: &Movie<'_>, out: &mut Findings) {
    let top: Vec<String> = Atoms::top_level(segment)
        .map_while(|a| a.ok())
        .map(|a| a.kind.to_string())
        .collect();
    // ftyp, uuid, 18 mdat, moov: runs of one box type counted.
    let mut order: Vec<(String, usize)> = Vec::new();
    for k in &top {
        match order.last_mut() {
            Some((last, n)) if last == k => *n += 1,
            _ => order.push((k.clone(), 1)),
        }
    }
    let order: Vec<String> = order
        .into_iter()
        .map(|(k, n)| if n == 1 { k } else { format!("{n} {k}") })
        .collect();
    let moov = top.iter().position(|k| k == "moov");
    let first_media = top.iter().position(|k| k == "mdat" || k == "moof");
    let fragments = top.iter().filter(|k| *k == "moof").count();
    let message = match (movie.fragmented, moov, first_media) {
        (true, ..) => format!("fragmented: an initial moov, then {fragments} moof + mdat"),
        (false, Some(m), Some(d)) if m > d => {
            "progressive, moov after the media: a player reads the end of the file first".to_string()
        }
        _ => "progressive, moov before the media".to_string(),
    };
    out.info(
        FindingCode::Layout,
        Location::default(),
        format!("{message} ({})", order.join(", ")),
    );
}

fn video_track(segment: &[u8], movie: &Movie<'_>, t: &Track<'_>, out: &mut Findings) {
    let stsd = at_box(format!("moov/trak[{}]/mdia/minf/stbl/stsd", t.id));
    if !is_h264(t) {
        let name = t.entry.format.map_or("unknown".into(), |f| f.to_string());
        out.error(
            FindingCode::UnsupportedVideoCodec,
            stsd,
            format!("video is {name}, not H.264: the bridge refuses it"),
        );
        return;
    }
    if t.samples.is_empty() {
        out.error(
            FindingCode::NoFrames,
            stsd,
            "the video track has no frames: the bridge refuses it",
        );
        return;
    }
    parameter_sets(segment, t, stsd, out);
    decode_times(TrackKind::Video, t, out);
    presentation(t, out);
    durations(segment, TrackKind::Video, t, out);
    edits(movie, TrackKind::Video, t, out);
    rates(t, out);
}

/// A decodable start, and parameter sets that hold: from `avcC` and the
/// NAL unit headers of every frame (their payloads are skipped).
fn parameter_sets(segment: &[u8], t: &Track<'_>, stsd: Location, out: &mut Findings) {
    let Some(avcc) = t.entry.avcc else {
        out.error(FindingCode::NoParameterSets, stsd, "no avcC box: the bridge refuses it");
        return;
    };
    let config = match AvcConfig::parse(avcc) {
        Ok(c) => c,
        Err(e) => {
            out.error(FindingCode::BadParameterSet, stsd, format!("avcC cannot be read: {e}"));
            return;
        }
    };
    let mut first_sps: Option<&[u8]> = config.sps.first().copied();
    let (mut have_sps, mut have_pps) = (!config.sps.is_empty(), !config.pps.is_empty());
    let mut changed: Option<(usize, usize)> = None; // first sample, count
    for (i, s) in t.samples.iter().enumerate() {
        let bytes = t.data(segment, s);
        let mut idr = false;
        // Which NAL stopped the walk: an SPS that contradicts the standard
        // is its own finding; one cut short, or any other failure, makes
        // the frame unreadable.
        let mut bad_sps = false;
        let walked = for_each_length_prefixed(bytes, config.length_size, |nal| {
            match NalType::of(nal) {
                NalType::IdrSlice => idr = true,
                NalType::Pps => have_pps = true,
                NalType::Sps => {
                    parse_sps(nal).inspect_err(|e| bad_sps = matches!(e, Error::Malformed { .. }))?;
                    have_sps = true;
                    match first_sps {
                        None => first_sps = Some(nal),
                        Some(f) if f != nal => changed = Some(changed.map_or((i, 1), |(at, n)| (at, n + 1))),
                        Some(_) => {}
                    }
                }
                _ => {}
            }
            Ok(())
        });
        if let Err(e) = walked {
            let code = if bad_sps {
                FindingCode::BadParameterSet
            } else {
                FindingCode::Unreadable
            };
            out.error(code, at_sample(TrackKind::Video, t, i), format!("frame {i}: {e}"));
            return;
        }
        if i == 0 {
            if !have_sps || !have_pps {
                out.error(
                    FindingCode::NoParameterSets,
                    at_sample(TrackKind::Video, t, 0),
                    "no SPS and PPS in avcC or before the first frame: nothing can decode it",
                );
            }
            if !(s.sync && idr) {
                out.error(
                    FindingCode::FirstFrameNotKeyframe,
                    at_sample(TrackKind::Video, t, 0),
                    "the first frame in decode order is not an IDR keyframe: decoding cannot start there",
                );
            }
        }
    }
    if let Some((i, n)) = changed {
        out.warning(
            FindingCode::ParameterSetsChange,
            at_sample(TrackKind::Video, t, i),
            format!("{n} in-band SPS differ from the first, from frame {i}: the stream changes mid-segment"),
        );
    }
}

/// Decode times that go back, or stand still.
fn decode_times(kind: TrackKind, t: &Track<'_>, out: &mut Findings) {
    let what = kind.samples();
    let mut back = None;
    let mut same = (None, 0usize);
    for (i, w) in t.samples.windows(2).enumerate() {
        if w[1].dts < w[0].dts {
            back.get_or_insert(i + 1);
        } else if w[1].dts == w[0].dts {
            same = (same.0.or(Some(i + 1)), same.1 + 1);
        }
    }
    if let Some(i) = back {
        out.error(
            FindingCode::DtsDecreasing,
            at_sample(kind, t, i),
            format!(
                "{} {i}: a decode time earlier than the one before",
                &what[..what.len() - 1]
            ),
        );
    }
    if let (Some(i), n) = same {
        out.warning(
            FindingCode::DuplicateDts,
            at_sample(kind, t, i),
            format!(
                "{} share a decode time with the one before, the first at {i}",
                count(n, &what[..what.len() - 1], what)
            ),
        );
    }
}

/// B-frames, frames shown before they are decoded, and frames decoded
/// apart but shown at one instant (those that share a decode time too are
/// `duplicate-dts`).
fn presentation(t: &Track<'_>, out: &mut Findings) {
    let mut max_pts = i64::MIN;
    let mut reordered = 0usize;
    let mut early = None;
    for (i, s) in t.samples.iter().enumerate() {
        if s.pts() < max_pts {
            reordered += 1;
        }
        max_pts = max_pts.max(s.pts());
        if s.cts_offset < 0 {
            early.get_or_insert(i);
        }
    }
    if reordered > 0 {
        out.info(
            FindingCode::BFrames,
            Location {
                track: Some(TrackKind::Video),
                ..Location::default()
            },
            format!(
                "B-frames: {} shown before one decoded earlier",
                count(reordered, "frame is", "frames are")
            ),
        );
    }
    if let Some(i) = early {
        out.warning(
            FindingCode::PtsBeforeDts,
            at_sample(TrackKind::Video, t, i),
            format!("frame {i} is presented before it is decoded (a negative composition offset)"),
        );
    }
    let mut by_pts: Vec<(i64, i64, usize)> = t.samples.iter().enumerate().map(|(i, s)| (s.pts(), s.dts, i)).collect();
    by_pts.sort_unstable();
    let shared: Vec<usize> = by_pts
        .windows(2)
        .filter(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1)
        .map(|w| w[1].2)
        .collect();
    if let Some(&i) = shared.iter().min() {
        out.warning(
            FindingCode::DuplicatePts,
            at_sample(TrackKind::Video, t, i),
            format!(
                "{} shown at the instant of another, the first at frame {i}",
                count(shared.len(), "frame is", "frames are")
            ),
        );
    }
}

/// How long each sample lasts against how long it should: the usual
/// duration for video, each packet's own length (from its TOC byte) for
/// Opus. A sample's time is the step to the next decode time, so a jump in
/// a fragment's `tfdt` counts too. Samples that share a decode time (zero
/// steps, and the last of each run, which carries the run's time) are
/// `duplicate-dts`, not judged here; an audio track's last packet may be
/// short. A step of more than [`GAP_FACTOR`] expected durations is a gap
/// (frames or packets missing), not an irregular duration.
fn durations(segment: &[u8], kind: TrackKind, t: &Track<'_>, out: &mut Findings) {
    let n = t.samples.len();
    let last = if kind == TrackKind::Audio {
        n.saturating_sub(1)
    } else {
        n
    };
    let step = |i: usize| match t.samples.get(i + 1) {
        Some(next) if next.dts > t.samples[i].dts => next.dts.abs_diff(t.samples[i].dts),
        _ => t.samples[i].duration as u64,
    };
    let judged: Vec<(usize, u64)> = (0..last)
        .filter(|&i| i == 0 || t.samples[i].dts != t.samples[i - 1].dts)
        .map(|i| (i, step(i)))
        .filter(|&(_, d)| d > 0)
        .collect();
    let steps: Vec<u64> = judged.iter().map(|&(_, d)| d).collect();
    let Some(usual) = mode(&steps) else { return };
    let opus = kind == TrackKind::Audio && t.entry.format.is_some_and(|f| &f.0 == b"Opus");
    let expected = |i: usize| {
        let packet = Some(t.data(segment, &t.samples[i])).filter(|_| opus);
        match packet.and_then(crate::opus::packet_samples) {
            Some(samples) => samples as u64 * t.timescale as u64 / 48_000,
            None => usual,
        }
    };
    let mut gaps: Vec<(usize, u64)> = Vec::new();
    let mut off: Vec<usize> = Vec::new();
    for &(i, d) in &judged {
        let want = expected(i).max(1);
        if d > want * GAP_FACTOR {
            gaps.push((i, d - want));
        } else if d.abs_diff(want) > (want * IRREGULAR_TENTHS / 10).max(1) {
            off.push(i);
        }
    }
    let what = kind.samples();
    let time = |d: u64| ms(to_ns(i64_sat(d), t.timescale));
    if let Some(&(first, _)) = gaps.first() {
        let longest = gaps.iter().map(|&(_, d)| d).max().unwrap_or(0);
        out.warning(
            FindingCode::Gap,
            at_sample(kind, t, first),
            format!(
                "{} in the {} with no {what}, the longest {}, the first after {} {first}",
                count(gaps.len(), "gap", "gaps"),
                if kind == TrackKind::Video { "video" } else { "audio" },
                time(longest),
                &what[..what.len() - 1],
            ),
        );
    }
    let Some(&first) = off.first() else { return };
    let (lo, hi) = steps.iter().fold((u64::MAX, 0), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    let (code, against) = match kind {
        TrackKind::Video => (
            FindingCode::IrregularFrameDurations,
            format!("the usual {}", time(usual)),
        ),
        TrackKind::Audio if opus => (
            FindingCode::IrregularAudioDurations,
            "their Opus packets' own".to_string(),
        ),
        TrackKind::Audio => (
            FindingCode::IrregularAudioDurations,
            format!("the usual {}", time(usual)),
        ),
    };
    out.warning(
        code,
        at_sample(kind, t, first),
        format!(
            "{} of {} {what} last other than {against} ({} to {})",
            off.len(),
            judged.len(),
            time(lo),
            time(hi),
        ),
    );
}

fn mode(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, u64)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted.partition_point(|&v| v <= sorted[i]);
        if best.is_none_or(|(n, _)| j - i > n) {
            best = Some((j - i, sorted[i]));
        }
        i = j;
    }
    best.map(|(_, v)| v)
}

fn edits(movie: &Movie<'_>, kind: TrackKind, t: &Track<'_>, out: &mut Findings) {
    if t.edits.is_empty() {
        return;
    }
    let (empty, media) = t.edit_shift();
    out.info(
        FindingCode::EditList,
        Location {
            box_path: Some(format!("moov/trak[{}]/edts/elst", t.id)),
            track: Some(kind),
            ..Location::default()
        },
        format!(
            "an edit list of {}: {} empty, then the media from {}",
            count(t.edits.len(), "entry", "entries"),
            ms(to_ns(i64_sat(empty), movie.timescale)),
            ms(to_ns(media, t.timescale)),
        ),
    );
}

fn rates(t: &Track<'_>, out: &mut Findings) {
    let video = || Location {
        track: Some(TrackKind::Video),
        ..Location::default()
    };
    let keys: Vec<i64> = t.samples.iter().filter(|s| s.sync).map(|s| s.dts).collect();
    let longest = keys.windows(2).map(|w| w[1] - w[0]).max();
    let message = match longest {
        None => count(keys.len(), "keyframe", "keyframes"),
        Some(gap) => format!(
            "{} keyframes, at most {} apart",
            keys.len(),
            ms(to_ns(gap, t.timescale))
        ),
    };
    out.info(FindingCode::Keyframes, video(), message);
    let span = to_ns(t.span(), t.timescale);
    if span > 0 {
        let bytes: u64 = t.samples.iter().map(|s| s.size as u64).sum();
        let kbps = bytes as f64 * 8.0 / (span as f64 / 1e9) / 1000.0;
        out.info(FindingCode::Bitrate, video(), format!("video at {kbps:.0} kb/s"));
    }
}

fn audio_track(segment: &[u8], movie: &Movie<'_>, t: &Track<'_>, out: &mut Findings) {
    decode_times(TrackKind::Audio, t, out);
    durations(segment, TrackKind::Audio, t, out);
    edits(movie, TrackKind::Audio, t, out);
    if t.entry.format.is_some_and(|f| &f.0 == b"Opus") {
        opus(t, out);
    }
}

/// `dOps` (Opus in ISO BMFF §4.3.2): a pre-skip an encoder would write,
/// and a channel mapping that agrees with the channel count.
fn opus(t: &Track<'_>, out: &mut Findings) {
    let at = at_box(format!("moov/trak[{}]/mdia/minf/stbl/stsd/Opus/dOps", t.id));
    let Some(pos) = memchr::memmem::find(t.stsd, b"dOps") else {
        out.error(
            FindingCode::OpusBadChannelMapping,
            at,
            "an Opus track without dOps: no decoder setup",
        );
        return;
    };
    let body = &t.stsd[pos + 4..];
    if body.len() < 11 {
        out.error(FindingCode::OpusBadChannelMapping, at, "dOps is cut short");
        return;
    }
    let channels = body[1];
    let pre_skip = u16::from_be_bytes([body[2], body[3]]);
    let family = body[10];
    let bad = match family {
        0 => !(1..=2).contains(&channels),
        1 => {
            let table = body.get(11..13 + channels as usize);
            channels == 0
                || channels > 8
                || table
                    .is_none_or(|t| t[0] == 0 || t[1] > t[0] || t[2..].iter().any(|&m| m != 255 && m >= t[0] + t[1]))
        }
        _ => body.len() < 13 + channels as usize,
    };
    if bad {
        out.error(
            FindingCode::OpusBadChannelMapping,
            at.clone(),
            format!("dOps: {channels} channels do not fit channel mapping family {family}"),
        );
    }
    if pre_skip == 0 || pre_skip > MAX_OPUS_PRE_SKIP {
        out.warning(
            FindingCode::OpusPreSkip,
            at,
            format!(
                "dOps pre-skip is {pre_skip} samples ({:.1} ms): encoders write about 6.5 ms",
                pre_skip as f64 / 48.0
            ),
        );
    }
}

/// Where audio and video start and end, against each other.
fn audio_against_video(info: &SegmentInfo, v: &Track<'_>, a: &Track<'_>, out: &mut Findings) {
    let (Some(vi), Some(ai)) = (info.video.as_ref(), info.audio.as_ref()) else {
        return;
    };
    // A frame: the usual duration, or the mean where the rate varies (a
    // sparse track's usual frame can be a millisecond).
    let frame_of = |t: &Track<'_>, span_ns: u64| {
        let ds: Vec<u64> = t.samples.iter().map(|s| s.duration as u64).filter(|&d| d > 0).collect();
        let usual = mode(&ds).map_or(0, |d| to_ns(i64_sat(d), t.timescale));
        usual.max(i64_sat(span_ns / t.samples.len().max(1) as u64))
    };
    let (frame, packet) = (frame_of(v, vi.duration_ns), frame_of(a, ai.duration_ns));
    // Saturating: hostile start times reach i64's ends; the offset is then
    // reported as the largest one.
    let offset = vi.start_ns.saturating_sub(ai.start_ns);
    if offset.saturating_abs() > frame.max(packet) {
        let (later, earlier) = if offset > 0 {
            ("video", "audio")
        } else {
            ("audio", "video")
        };
        out.warning(
            FindingCode::AvStartOffset,
            Location {
                time_ns: Some(vi.start_ns.max(ai.start_ns)),
                ..Location::default()
            },
            format!("the {later} starts {} after the {earlier}", ms(offset.saturating_abs())),
        );
    }
    let longer = i64_sat(vi.duration_ns).saturating_sub(i64_sat(ai.duration_ns));
    if longer.saturating_abs() > frame {
        out.warning(
            FindingCode::AvDurationMismatch,
            Location::default(),
            format!(
                "video lasts {}, audio {}: {} apart, more than a frame",
                ms(i64_sat(vi.duration_ns)),
                ms(i64_sat(ai.duration_ns)),
                ms(longer.saturating_abs())
            ),
        );
    }
}

/// The headers the bridge would send with the segment's TS.
fn bridge_request(info: &SegmentInfo, out: &mut Findings) {
    let Some(v) = info.video.as_ref() else { return };
    out.info(
        FindingCode::BridgeRequest,
        Location::default(),
        format!(
            "the bridge would send Content-Duration: {} and Content-Resolution: {}x{}",
            info.duration_ns / 1_000_000,
            v.width,
            v.height
        ),
    );
}
