//! A/V sync across a stream: consecutive 2 s fragmented segments cut from
//! one encode, whose `tfdt`s place each on the stream (2 s, 4 s, ...),
//! through split and join (the TS passed through as the rendition), in both
//! layouts. Each rendition's audio and video start where the source's did,
//! as ffprobe reads them; the audio is the source's, packet
//! for packet with its timestamps; and each rendition starts where the one
//! before it ended. The same as GStreamer plays them, and in Chromium:
//! `host/tests/demo.rs`.

use std::path::{Path, PathBuf};

use lpbridge_tests::{block_on, check_audio, ffprobe_packets, generated_streams, gst_played, runtime, scratch};

/// One frame of these 30 fps streams, seconds.
const FRAME: f64 = 1.0 / 30.0;

/// A track's first presented packet and the end of its last, in seconds,
/// as ffprobe reads them (edit lists and `tfdt` applied).
#[derive(Clone, Copy, Debug)]
struct Span {
    start: f64,
    end: f64,
}

fn span(file: &Path, kind: &str) -> Span {
    let (packets, tb) = ffprobe_packets(file, kind);
    let seconds = |v: i64| v as f64 * tb.0 as f64 / tb.1 as f64;
    let mut pts: Vec<i64> = packets.iter().filter_map(|p| p.pts).collect();
    pts.sort_unstable();
    assert!(pts.len() >= 2, "{}: {kind} packets", file.display());
    // ffprobe gives no durations in a fragmented file: the last packet
    // lasts as long as the one before it.
    let last = pts[pts.len() - 1] - pts[pts.len() - 2];
    Span {
        start: seconds(pts[0]),
        end: seconds(pts[pts.len() - 1] + last),
    }
}

/// `src` split and joined by the component, its TS as the rendition.
fn rendition(src: &Path, dir: &Path, fragmented: bool) -> PathBuf {
    let bytes = std::fs::read(src).unwrap();
    let parts = block_on(runtime().split(&bytes))
        .unwrap()
        .unwrap_or_else(|e| panic!("{}: split: {e:?}", src.display()));
    let layout = lpbridge::bindings::types::Mp4Layout::fragmented_if(fragmented);
    let options = lpbridge::bindings::types::JoinOptions { layout };
    let mp4 = block_on(runtime().join_with(&parts.video_ts, &parts.audio_mp4, options))
        .unwrap()
        .unwrap_or_else(|e| panic!("{}: join: {e:?}", src.display()));
    let out = dir.join(if fragmented {
        "fragmented.mp4"
    } else {
        "progressive.mp4"
    });
    std::fs::write(&out, mp4).unwrap();
    out
}

/// `got` is within a frame of `want`.
fn at(name: &str, what: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= FRAME, "{name}: {what} {got} s, want {want} s");
}

#[test]
fn consecutive_fragmented_segments_keep_audio_and_video_on_the_stream_timeline() {
    for (stream, segments) in generated_streams() {
        assert_eq!(segments.len(), 3, "{stream}");
        for fragmented in [false, true] {
            let mut previous: Option<(Span, Span)> = None;
            for (k, src) in segments.iter().enumerate() {
                let name = format!("{stream}/seg{k} (fragmented: {fragmented})");
                let dir = scratch(&format!("timeline-{stream}-{k}-{fragmented}"));
                let out = rendition(src, &dir, fragmented);
                let (sv, sa) = (span(src, "v"), span(src, "a"));
                let (ov, oa) = (span(&out, "v"), span(&out, "a"));
                // The segment really is the k-th of its stream.
                assert!(sa.start >= 2.0 * k as f64 - 0.2, "{name}: source audio at {}", sa.start);

                at(&name, "video start", ov.start, sv.start);
                at(&name, "audio start", oa.start, sa.start);
                at(&name, "A/V offset", oa.start - ov.start, sa.start - sv.start);
                check_audio(src, &out);

                // Each starts where the rendition before it ended.
                if let Some((pv, pa)) = previous {
                    at(&name, "video start against the previous end", ov.start, pv.end);
                    at(&name, "audio start against the previous end", oa.start, pa.end);
                }
                previous = Some((ov, oa));
            }
        }
    }
}

/// GStreamer plays each rendition where the source sits on the stream
/// timeline: its first video and audio buffers at the source's starts, with
/// the source's A/V offset, and each rendition's audio from where the one
/// before it ended.
///
/// qtdemux ends a B-frame track early by its first composition offset (two
/// frames here; it does the same to ffmpeg's own `-c copy` remux of these
/// sources), so video is checked for continuity by its starts: each one
/// comes the source's video duration after the one before it.
#[test]
fn gstreamer_plays_consecutive_renditions_on_the_stream_timeline() {
    for (stream, segments) in generated_streams() {
        for fragmented in [false, true] {
            let mut previous: Option<(Span, lpbridge_tests::Played, lpbridge_tests::Played)> = None;
            for (k, src) in segments.iter().enumerate() {
                let name = format!("{stream}/seg{k} in GStreamer (fragmented: {fragmented})");
                let dir = scratch(&format!("gst-timeline-{stream}-{k}-{fragmented}"));
                let out = rendition(src, &dir, fragmented);
                let (sv, sa) = (span(src, "v"), span(src, "a"));
                let (video, audio) = gst_played(&out);
                assert!(sa.start >= 2.0 * k as f64 - 0.2, "{name}: source audio at {}", sa.start);

                at(&name, "video start", video.start, sv.start);
                at(&name, "audio start", audio.start, sa.start);
                at(&name, "A/V offset", audio.start - video.start, sa.start - sv.start);
                if let Some((pv, p_video, p_audio)) = previous {
                    at(&name, "audio start against the previous end", audio.start, p_audio.end);
                    at(
                        &name,
                        "video start after the previous start",
                        video.start - p_video.start,
                        pv.end - pv.start,
                    );
                }
                previous = Some((sv, video, audio));
            }
        }
    }
}
