//! Every real Streamplace segment through split → join (its own TS as the
//! rendition), checked with this crate's own reader. The independent checks
//! with ffprobe, ffmpeg and GStreamer live in the workspace's `tests/`.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::PathBuf;

use lpbridge_media::h264::{AvcConfig, NalType, for_each_length_prefixed};
use lpbridge_media::mp4::{self, Movie, Track, TrackKind};
use lpbridge_media::{JoinOptions, join, split};

fn fixtures() -> PathBuf {
    std::env::var_os("LPBRIDGE_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/streamplace"),
        PathBuf::from,
    )
}

fn segments() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(fixtures())
        .expect("the Streamplace segments in tests/fixtures/streamplace (or $LPBRIDGE_FIXTURES)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 5, "expected the five Streamplace fixtures");
    out
}

fn track<'a>(m: &'a Movie<'a>, kind: TrackKind) -> &'a Track<'a> {
    m.tracks.iter().find(|t| t.kind == kind).unwrap()
}

/// Presentation times in ns, as ffmpeg's mov demuxer places them: the
/// first presented frame at the end of the empty edits plus the lead.
fn presentation_ns(m: &Movie<'_>, t: &Track<'_>) -> Vec<(i64, i64)> {
    let (empty, _) = t.edit_shift();
    let e = empty as i128 * 1_000_000_000 / m.timescale as i128;
    let first = t.samples.iter().map(|s| s.pts()).min().unwrap();
    let ns = |v: i64| ((v - first + t.lead()) as i128 * 1_000_000_000 / t.timescale as i128 + e) as i64;
    t.samples.iter().map(|s| (ns(s.pts()), ns(s.dts))).collect()
}

/// The NAL units of each sample, without delimiters and parameter sets.
fn payload_nals(file: &[u8], t: &Track<'_>) -> Vec<Vec<Vec<u8>>> {
    let cfg = AvcConfig::parse(t.entry.avcc.unwrap()).unwrap();
    t.samples
        .iter()
        .map(|s| {
            let mut nals = Vec::new();
            for_each_length_prefixed(t.data(file, s), cfg.length_size, |n| {
                if !matches!(
                    NalType::of(n),
                    NalType::AccessUnitDelimiter | NalType::Sps | NalType::Pps
                ) {
                    nals.push(n.to_vec());
                }
                Ok(())
            })
            .unwrap();
            nals
        })
        .collect()
}

#[test]
fn real_segments_survive_split_and_join() {
    for (name, src) in segments() {
        let parts = split(&src).unwrap_or_else(|e| panic!("{name}: split: {e}"));
        let out = join(&parts.video_ts, &parts.audio_mp4, JoinOptions::default())
            .unwrap_or_else(|e| panic!("{name}: join: {e}"));
        let a = mp4::parse(&src).unwrap();
        let b = mp4::parse(&out).unwrap();
        let (av, bv) = (track(&a, TrackKind::Video), track(&b, TrackKind::Video));
        let (aa, ba) = (track(&a, TrackKind::Audio), track(&b, TrackKind::Audio));

        assert_eq!(av.samples.len(), bv.samples.len(), "{name}: video frames");
        assert_eq!(payload_nals(&src, av), payload_nals(&out, bv), "{name}: video payloads");
        assert_eq!(
            presentation_ns(&a, av),
            presentation_ns(&b, bv),
            "{name}: video timestamps"
        );
        assert!(bv.samples[0].sync, "{name}: first frame is a keyframe");
        let sync = |t: &Track<'_>| t.samples.iter().map(|s| s.sync).collect::<Vec<_>>();
        assert_eq!(sync(av), sync(bv), "{name}: keyframes");

        assert_eq!(aa.stsd, ba.stsd, "{name}: audio sample entry byte-for-byte");
        assert_eq!(aa.edts, ba.edts, "{name}: audio edit list byte-for-byte");
        assert_eq!(aa.timescale, ba.timescale);
        let audio = |f: &[u8], t: &Track<'_>| {
            t.samples
                .iter()
                .map(|s| (t.data(f, s).to_vec(), s.duration, s.pts()))
                .collect::<Vec<_>>()
        };
        assert_eq!(audio(&src, aa), audio(&out, ba), "{name}: audio packets");
    }
}

/// Sum of the sample counts of every `sbgp` in `boxes` and below.
fn sbgp_samples(boxes: mp4::Atoms<'_>) -> u64 {
    let mut total = 0u64;
    for b in boxes {
        let b = b.unwrap();
        match &b.kind.0 {
            b"sbgp" => {
                let (version, _, body) = b.full().unwrap();
                let at = if version == 1 { 8 } else { 4 };
                let n = u32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
                for k in 0..n {
                    let e = at + 4 + 8 * k;
                    total += u32::from_be_bytes(body[e..e + 4].try_into().unwrap()) as u64;
                }
            }
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"moof" | b"traf" => total += sbgp_samples(b.children()),
            _ => {}
        }
    }
    total
}

#[test]
fn fragmented_join_holds_the_progressive_samples() {
    for (name, src) in segments() {
        let parts = split(&src).unwrap();
        let progressive = join(&parts.video_ts, &parts.audio_mp4, JoinOptions::default()).unwrap();
        let fragmented = join(&parts.video_ts, &parts.audio_mp4, JoinOptions { fragmented: true }).unwrap();
        let (p, f) = (mp4::parse(&progressive).unwrap(), mp4::parse(&fragmented).unwrap());
        assert!(!p.fragmented && f.fragmented, "{name}");
        assert_eq!(p.timescale, f.timescale, "{name}");
        for kind in [TrackKind::Video, TrackKind::Audio] {
            let (a, b) = (track(&p, kind), track(&f, kind));
            assert_eq!(
                (a.id, a.timescale, a.stsd),
                (b.id, b.timescale, b.stsd),
                "{name} {kind:?}"
            );
            // The audio's edit list is carried byte for byte; the video's
            // edits run to the end of the media when fragmented.
            let media_times = |t: &Track<'_>| t.edits.iter().map(|e| e.media_time).collect::<Vec<_>>();
            assert_eq!(media_times(a), media_times(b), "{name} {kind:?} edits");
            if kind == TrackKind::Audio {
                assert_eq!(a.edts, b.edts, "{name}: audio edit list");
            }
            let samples = |file: &[u8], t: &Track<'_>| {
                t.samples
                    .iter()
                    .map(|s| (t.data(file, s).to_vec(), s.dts, s.cts_offset, s.duration, s.sync))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                samples(&progressive, a),
                samples(&fragmented, b),
                "{name} {kind:?} samples"
            );
        }
        // A fragment per GOP, and the audio's sample groups cover the same
        // samples, cut per fragment.
        let top: Vec<_> = mp4::Atoms::new(&fragmented, 0).map(|b| b.unwrap()).collect();
        let moofs = top.iter().filter(|b| b.kind.0 == *b"moof").count();
        let gops = track(&f, TrackKind::Video).samples.iter().filter(|s| s.sync).count();
        assert_eq!(moofs, gops, "{name}: one moof per GOP");
        assert_eq!(
            sbgp_samples(mp4::Atoms::new(&fragmented, 0)),
            sbgp_samples(mp4::Atoms::new(&progressive, 0)),
            "{name}: samples in sample groups"
        );
    }
}

#[test]
fn split_ts_starts_decodable() {
    for (name, src) in segments() {
        let parts = split(&src).unwrap();
        let demux = lpbridge_media::ts::Demuxer::new(&parts.video_ts).unwrap();
        let mut first = None;
        demux
            .for_each_access_unit(|au| {
                first.get_or_insert_with(|| au.data.to_vec());
                Ok::<_, lpbridge_media::Error>(())
            })
            .unwrap();
        let first = first.unwrap();
        let types: Vec<_> = lpbridge_media::h264::AnnexB::new(&first).map(NalType::of).collect();
        assert_eq!(types[0], NalType::AccessUnitDelimiter, "{name}");
        assert!(
            types.contains(&NalType::Sps) && types.contains(&NalType::Pps),
            "{name}: {types:?}"
        );
        assert!(types.contains(&NalType::IdrSlice), "{name}: {types:?}");
    }
}

/// `plan` streams what `split` returns: the same TS, piece by piece, at the
/// length it announced, a piece at a time of about `TS_CHUNK` bytes, and it
/// stops when the sink does.
#[test]
fn plan_writes_split_in_pieces() {
    for (name, seg) in segments() {
        let whole = split(&seg).unwrap();
        let planned = lpbridge_media::plan(&seg).unwrap();
        assert_eq!(planned.ts_len(), whole.video_ts.len(), "{name}");
        assert_eq!(planned.audio_mp4(), whole.audio_mp4, "{name}");
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        planned
            .write_ts(&mut |p| {
                pieces.push(p.to_vec());
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(pieces.concat(), whole.video_ts, "{name}");
        if whole.video_ts.len() > 2 * lpbridge_media::TS_CHUNK {
            assert!(pieces.len() >= 2, "{name}: {} pieces", pieces.len());
            let mut calls = 0;
            planned
                .write_ts(&mut |_| {
                    calls += 1;
                    std::ops::ControlFlow::Break(())
                })
                .unwrap();
            assert_eq!(calls, 1, "{name}: a sink that stops is not called again");
        }
    }
}
