//! The properties the fuzz targets check, kept in the library so that
//! cargo-fuzz (`media/fuzz/`) and the regression tests
//! (`media/tests/fuzz_findings.rs`) run the same code on the same bytes.
//!
//! Each function takes a fuzzer's input as it is and returns what the
//! entry point answered: `Ok` when it accepted the input, else its typed
//! error. A property that does not hold panics, which is what a fuzzer
//! reports as a finding.

use crate::h264::{AvcConfig, NalType, for_each_length_prefixed};
use crate::mp4::{self, Movie, Track, TrackKind};
use crate::multipart::{MultipartError, Parser, parse};
use crate::{Error, JoinOptions, Result, join as join_outputs, probe, split as split_segment, ts};

/// The boundary of the multipart target's bodies.
pub const MULTIPART_CONTENT_TYPE: &str = "multipart/mixed; boundary=0123456789abcdef0123";

/// `probe` and `split` on any bytes: a typed error or outputs that hold
/// together (whole TS packets our own demuxer reads, an audio MP4 our own
/// reader parses, and `probe` agreeing with `split`); `join` of those
/// outputs must not panic either.
///
/// `plan` must agree with `split` on the same bytes: the same error, or the
/// same TS in pieces (of the length it announced) and the same audio.
pub fn split(segment: &[u8]) -> Result<()> {
    let probed = probe(segment);
    let planned = crate::plan(segment);
    let parts = match split_segment(segment) {
        Ok(parts) => parts,
        Err(e) => {
            assert_eq!(planned.err(), Some(e.clone()), "plan and split disagree");
            return Err(e);
        }
    };
    let planned = planned.expect("split succeeded where plan failed");
    let mut streamed = Vec::new();
    planned
        .write_ts(&mut |piece| {
            streamed.extend_from_slice(piece);
            std::ops::ControlFlow::Continue(())
        })
        .expect("plan wrote what it sized");
    assert_eq!(planned.ts_len(), parts.video_ts.len(), "plan's TS length");
    assert!(streamed == parts.video_ts, "plan's TS differs from split's");
    assert!(
        planned.audio_mp4() == parts.audio_mp4,
        "plan's audio differs from split's"
    );
    assert_eq!(planned.info(), &parts.info);
    let info = probed.expect("split succeeded where probe failed");
    assert_eq!(
        info.video.map(|v| v.frames),
        parts.info.video.as_ref().map(|v| v.frames)
    );
    assert_eq!(parts.video_ts.len() % ts::PACKET, 0);
    ts::Demuxer::new(&parts.video_ts).expect("our TS demuxes");
    mp4::parse(&parts.audio_mp4).expect("our audio MP4 parses");
    for fragmented in [false, true] {
        let _ = join_outputs(&parts.video_ts, &parts.audio_mp4, JoinOptions { fragmented });
    }
    Ok(())
}

/// `check` on any bytes: always a report, never a panic. Its findings
/// are ordered errors first; a report without info is one error and
/// nothing else; where `probe` reads the segment, `check` describes it the
/// same. The stream check of the segment after itself must hold too, and
/// its timeline lists no more samples than its bound or its track has.
/// `Err` carries the first error finding's code, for the regression rows.
pub fn check(segment: &[u8]) -> std::result::Result<(), crate::check::FindingCode> {
    use crate::check::{self, Severity};
    let report = check::check(segment);
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    assert!(severities.is_sorted(), "findings out of order: {severities:?}");
    match (&report.info, probe(segment)) {
        (None, _) => assert!(
            report.findings.len() == 1 && report.findings[0].severity == Severity::Error,
            "a report without info: {:?}",
            report.findings
        ),
        (Some(info), Ok(probed)) => assert_eq!(info, &probed, "check and probe disagree"),
        (Some(_), Err(e)) => panic!("check described what probe refused: {e}"),
    }
    let _ = check::stream::check(&[report.info.clone(), report.info.clone(), None]);
    // Whatever parses has a timeline, bounded; whatever does not, none.
    let timeline = check::timeline(segment);
    assert_eq!(
        timeline.is_some(),
        crate::mp4::parse(segment).is_ok(),
        "timeline and parse disagree"
    );
    for t in timeline.iter().flat_map(|t| &t.tracks) {
        let limit = lpbridge_contract::timeline::MAX_DRAWN_SAMPLES;
        assert!(t.samples.len() <= limit && t.samples.len() <= t.total_samples as usize);
    }
    match report.findings.iter().find(|f| f.severity == Severity::Error) {
        Some(f) => Err(f.code),
        None => Ok(()),
    }
}

/// The join target's input: the first four bytes (big-endian) are the TS's
/// length, whose top bit asks for fragmented output; the TS follows and the
/// audio MP4 is the rest. `None` when there are not four bytes.
pub fn join_input(data: &[u8]) -> Option<(&[u8], &[u8], JoinOptions)> {
    let (head, rest) = data.split_first_chunk::<4>()?;
    let word = u32::from_be_bytes(*head);
    let fragmented = word & 0x8000_0000 != 0;
    let ts_len = ((word & 0x7fff_ffff) as usize).min(rest.len());
    let (video_ts, audio_mp4) = rest.split_at(ts_len);
    Some((video_ts, audio_mp4, JoinOptions { fragmented }))
}

/// The layout `join_input` reads, for seeding the join target.
pub fn join_layout(video_ts: &[u8], audio_mp4: &[u8], options: JoinOptions) -> Vec<u8> {
    let word = crate::num::u32_sat(video_ts.len()) | if options.fragmented { 0x8000_0000 } else { 0 };
    [&word.to_be_bytes()[..], video_ts, audio_mp4].concat()
}

/// `join` on any pair of inputs: a typed error, or an MP4 our own reader
/// parses, in the layout asked, with one video and one audio track.
pub fn join(data: &[u8]) -> Result<()> {
    let Some((video_ts, audio_mp4, options)) = join_input(data) else {
        return Ok(());
    };
    let out = join_outputs(video_ts, audio_mp4, options)?;
    let movie = mp4::parse(&out).unwrap_or_else(|e| panic!("our output does not parse: {e}"));
    assert_eq!(movie.fragmented, options.fragmented);
    assert_eq!(movie.tracks.len(), 2);
    Ok(())
}

/// The multipart reader on any body: a typed error or parts, and the same
/// answer whether the body arrives whole or in pieces (the first byte
/// picks the piece size, as a slow gateway would cut it).
pub fn multipart(data: &[u8]) -> Result<(), MultipartError> {
    let Some((&piece, body)) = data.split_first() else {
        return Ok(());
    };
    let whole = parse(MULTIPART_CONTENT_TYPE, body);
    let mut parser = Parser::new(MULTIPART_CONTENT_TYPE)?;
    let mut parts = Vec::new();
    let mut pieces = Ok(());
    for chunk in body.chunks(piece as usize + 1) {
        pieces = parser.push(chunk);
        if pieces.is_err() {
            break;
        }
        parts.extend(std::iter::from_fn(|| parser.next_part()));
    }
    let pieces = pieces.and_then(|()| parser.finish()).map(|()| parts);
    assert_eq!(whole.is_ok(), pieces.is_ok(), "{whole:?} / {pieces:?}");
    match (whole, pieces) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            Ok(())
        }
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e),
    }
}

/// For any segment `split` accepts, `join` of its own outputs (the TS
/// passed through as the rendition), in both layouts, gives back the audio
/// byte for byte and the same video samples: the same count, the same NAL
/// units in each (less delimiters and parameter sets, which split adds and
/// join moves to `avcC`), and a sync flag on exactly the samples that hold
/// an IDR slice.
///
/// By design this cannot hold, and is not asked, for:
/// - a segment whose first frame is not an IDR slice: the TS then carries
///   no parameter sets before it and `join` refuses it (a TS must start
///   decodable, as upstream's `tsStartsDecodable` has it);
/// - a sample whose NAL units hold a start code (`00 00 00`, `00 00 01`,
///   `00 00 02`), which H.264 §7.4.1 forbids (emulation prevention) and
///   Annex B framing cannot carry; nor an empty NAL unit, or one whose
///   last byte is 0 (its RBSP trailing bits end in a 1, §7.3.2.11), whose
///   zeros Annex B reads as the next start code;
/// - the sync flags of the source, where they disagree with the slices:
///   `join` reads keyframes from the bytes, not from `stss`;
/// - a sample with no NAL unit but delimiters and parameter sets (an empty
///   sample, say): it holds no picture (ISO/IEC 14496-15 §5.3.2 has a
///   sample hold an access unit). The TS carries it as a lone delimiter,
///   with the parameter sets; `join` keeps it where a parameter set is new
///   (in-band, `avc3`) and drops it otherwise, its time going to the frame
///   before. So such samples are left out on both sides, and the others
///   must come back.
pub fn roundtrip(segment: &[u8]) -> Result<()> {
    let parts = split_segment(segment)?;
    let source = mp4::parse(segment).expect("split parsed it");
    let video = first(&source, TrackKind::Video);
    let Some(mut source_nals) = payload_nals(segment, video) else {
        return Ok(());
    };
    source_nals.retain(|nals| !nals.is_empty());
    if !source_nals.first().is_some_and(|n| has_idr(n)) {
        return Ok(());
    }
    let audio = first(&source, TrackKind::Audio);
    for fragmented in [false, true] {
        let out = join_outputs(&parts.video_ts, &parts.audio_mp4, JoinOptions { fragmented })
            .unwrap_or_else(|e| panic!("join of split's own outputs (fragmented: {fragmented}): {e}"));
        let joined = mp4::parse(&out).expect("our output parses");
        let v = first(&joined, TrackKind::Video);
        let all = payload_nals(&out, v).expect("our video sample reads");
        for (k, s) in v.samples.iter().enumerate() {
            assert_eq!(s.sync, has_idr(&all[k]), "sample {k}: sync flag against its slices");
        }
        let nals: Vec<_> = all.into_iter().filter(|n| !n.is_empty()).collect();
        assert_eq!(nals.len(), source_nals.len(), "frames (fragmented: {fragmented})");
        assert!(
            nals == source_nals,
            "video NAL units changed (fragmented: {fragmented})"
        );
        let a = first(&joined, TrackKind::Audio);
        assert_eq!(a.stsd, audio.stsd, "audio sample entry");
        let packets = |file: &[u8], t: &Track<'_>| {
            t.samples
                .iter()
                .map(|s| (t.data(file, s).to_vec(), s.duration))
                .collect::<Vec<_>>()
        };
        assert!(packets(&out, a) == packets(segment, audio), "audio packets changed");
    }
    Ok(())
}

fn first<'m, 'a>(movie: &'m Movie<'a>, kind: TrackKind) -> &'m Track<'a> {
    movie
        .tracks
        .iter()
        .find(|t| t.kind == kind)
        .expect("the track split used")
}

fn has_idr(nals: &[Vec<u8>]) -> bool {
    nals.iter().any(|n| NalType::of(n) == NalType::IdrSlice)
}

/// The NAL units of each sample, without delimiters and parameter sets;
/// `None` where a unit is empty or holds a start code (see `roundtrip`).
fn payload_nals(file: &[u8], t: &Track<'_>) -> Option<Vec<Vec<Vec<u8>>>> {
    let config = AvcConfig::parse(t.entry.avcc?).ok()?;
    let mut out = Vec::with_capacity(t.samples.len());
    for s in &t.samples {
        let mut nals = Vec::new();
        let mut framable = true;
        for_each_length_prefixed(t.data(file, s), config.length_size, |n| {
            framable &= n.last().is_some_and(|&b| b != 0) && !n.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2);
            if !matches!(
                NalType::of(n),
                NalType::AccessUnitDelimiter | NalType::Sps | NalType::Pps
            ) {
                nals.push(n.to_vec());
            }
            Ok::<(), Error>(())
        })
        .ok()?;
        if !framable {
            return None;
        }
        out.push(nals);
    }
    Some(out)
}
