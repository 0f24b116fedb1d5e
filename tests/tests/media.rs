//! Split and join through the built component, checked with real media
//! tools: ffprobe for packets, timestamps and hashes, ffmpeg for a full
//! decode, GStreamer for demuxing the TS we send.

use std::path::Path;
use std::process::Command;

use lpbridge_tests::*;

/// ffmpeg's error lines, addresses removed, folded repeats ("Last message
/// repeated N times") expanded, sorted: the same multiset whatever order
/// the two streams were decoded in.
fn normalized_decode_errors(file: &Path) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for l in ffmpeg_decode_errors(file).lines() {
        let repeats = l
            .trim()
            .strip_prefix("Last message repeated ")
            .and_then(|r| r.strip_suffix(" times"))
            .and_then(|n| n.parse::<usize>().ok());
        match (repeats, lines.last().cloned()) {
            (Some(n), Some(last)) => lines.extend(std::iter::repeat_n(last, n)),
            _ => lines.push(match l.find(" @ 0x") {
                Some(i) => format!("{}{}", &l[..i], &l[l[i..].find(']').map_or(l.len(), |j| i + j)..]),
                None => l.to_string(),
            }),
        }
    }
    lines.sort();
    lines
}

/// How many "non monotonically increasing dts" notes ffmpeg gives when
/// stream-copying `file`; any other message fails the test.
fn dts_notes(file: &Path, args: &[&str]) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(args)
        .args(["-c", "copy", "-f", "null", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}: ffmpeg demux failed: {stderr}",
        file.display()
    );
    stderr
        .lines()
        .map(|l| {
            if l.contains("non monotonically increasing dts") {
                return 1;
            }
            // ffmpeg folds repeats: "    Last message repeated 1 times".
            l.trim()
                .strip_prefix("Last message repeated ")
                .and_then(|r| r.strip_suffix(" times"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{}: ffmpeg demux: {l}", file.display()))
        })
        .sum()
}

struct Outputs {
    ts: std::path::PathBuf,
    audio: std::path::PathBuf,
}

/// Splits `src` with the component and checks the TS in ffmpeg, ffprobe and
/// GStreamer.
fn split_and_check(src: &Path, dir: &Path) -> Outputs {
    let name = src.file_name().unwrap().to_string_lossy();
    let bytes = std::fs::read(src).unwrap();
    let split = block_on(runtime().split(&bytes))
        .unwrap()
        .unwrap_or_else(|e| panic!("{name}: split: {e:?}"));
    let ts = dir.join("video.ts");
    let audio = dir.join("audio.mp4");
    std::fs::write(&ts, &split.video_ts).unwrap();
    std::fs::write(&audio, &split.audio_mp4).unwrap();

    let (src_video, src_tb) = ffprobe_packets(src, "v");
    assert_eq!(
        split.info.video.as_ref().unwrap().frames as usize,
        src_video.len(),
        "{name}: info frames"
    );

    // The TS demuxes cleanly: ffmpeg says nothing of it but notes it also
    // gives when copying the source's own video (few-video-frames.mp4 and
    // short-video.mp4 have frames that share a DTS; ffmpeg's TS path does
    // not flag a tie on the very first pair, its MP4 path does).
    let (ts_notes, src_notes) = (dts_notes(&ts, &[]), dts_notes(src, &["-map", "0:v"]));
    assert!(
        ts_notes <= src_notes,
        "{name}: ffmpeg demux of the TS: {ts_notes} DTS notes, source {src_notes}"
    );
    let (ts_video, ts_tb) = ffprobe_packets(&ts, "v");
    assert_eq!(ts_tb, (1, 90_000));
    assert_eq!(ts_video.len(), src_video.len(), "{name}: TS frames");
    for (i, (a, b)) in src_video.iter().zip(&ts_video).enumerate() {
        let want = rescale(a.pts.unwrap(), src_tb, ts_tb) + lpbridge_media::TS_OFFSET;
        assert!(
            (b.pts.unwrap() - want).abs() <= 1,
            "{name}: TS frame {i} pts {:?} want {want}",
            b.pts
        );
    }
    assert!(ts_video[0].keyframe, "{name}: TS starts with a keyframe");
    assert_eq!(gst_demux_ts(&ts), src_video.len(), "{name}: GStreamer buffers");
    Outputs { ts, audio }
}

/// Joins `ts` with `audio` through the component into `dir/out.mp4`.
fn join(ts: &Path, audio: &Path, dir: &Path) -> std::path::PathBuf {
    let out = block_on(runtime().join(&std::fs::read(ts).unwrap(), &std::fs::read(audio).unwrap()))
        .unwrap()
        .unwrap_or_else(|e| panic!("{}: join: {e:?}", ts.display()));
    let path = dir.join("out.mp4");
    std::fs::write(&path, out).unwrap();
    path
}

/// The output decodes with no error the source does not have too.
fn check_decode(src: &Path, out: &Path) {
    assert_eq!(
        normalized_decode_errors(out),
        normalized_decode_errors(src),
        "{}: ffmpeg decode of the joined file",
        src.display()
    );
}

/// A passthrough gateway: the rendition is our own TS.
fn check_passthrough(src: &Path, tag: &str) {
    let name = src.file_name().unwrap().to_string_lossy();
    let dir = scratch(&format!("{tag}-{name}"));
    let o = split_and_check(src, &dir);
    let out = join(&o.ts, &o.audio, &dir);

    let (a, atb) = ffprobe_packets(src, "v");
    let (b, btb) = ffprobe_packets(&out, "v");
    assert_eq!(atb, btb, "{name}: video time base");
    assert_eq!(a.len(), b.len(), "{name}: video frames");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(
            (x.pts, x.dts, x.keyframe),
            (y.pts, y.dts, y.keyframe),
            "{name}: video frame {i}"
        );
    }
    assert!(b[0].keyframe, "{name}: first frame is a keyframe");
    assert_eq!(
        video_payload_md5(src),
        video_payload_md5(&out),
        "{name}: video payloads"
    );
    check_audio(src, &out);
    check_decode(src, &out);
    assert_eq!(ffprobe_size(src), ffprobe_size(&out), "{name}: picture size");
}

#[test]
fn streamplace_segments_pass_through_split_and_join() {
    for src in streamplace_fixtures() {
        check_passthrough(&src, "streamplace");
    }
}

#[test]
fn generated_segments_pass_through_split_and_join() {
    let files = generated_fixtures();
    assert!(files.len() >= 11, "make.sh made {} files", files.len());
    for src in files {
        check_passthrough(&src, "generated");
    }
}

/// `join --fragmented` holds the progressive join's packets: ffprobe sees
/// the same timestamps, keyframes and bytes (it gives no packet durations
/// for a fragmented file), ffmpeg decodes it as it decodes the source, and
/// GStreamer's qtdemux reads every frame.
///
/// One difference is ffmpeg's: in a fragmented file it does not drop the
/// samples an edit list ends before (duration-mismatch.mp4's audio edit
/// ends a packet early), so there it shows those packets after the rest.
#[test]
fn fragmented_join_holds_the_same_packets() {
    let options = lpbridge::bindings::types::JoinOptions {
        layout: lpbridge::bindings::types::Mp4Layout::Fragmented,
    };
    for src in streamplace_fixtures().iter().chain(generated_fixtures().iter()) {
        let name = src.file_name().unwrap().to_string_lossy();
        let dir = scratch(&format!("fragmented-{name}"));
        let split = block_on(runtime().split(&std::fs::read(src).unwrap()))
            .unwrap()
            .unwrap();
        let progressive = block_on(runtime().join(&split.video_ts, &split.audio_mp4))
            .unwrap()
            .unwrap();
        let fragmented = block_on(runtime().join_with(&split.video_ts, &split.audio_mp4, options))
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: fragmented join: {e:?}"));
        let (p, f) = (dir.join("progressive.mp4"), dir.join("fragmented.mp4"));
        std::fs::write(&p, progressive).unwrap();
        std::fs::write(&f, fragmented).unwrap();

        for kind in ["v", "a"] {
            let (a, atb) = ffprobe_packets(&p, kind);
            let (b, btb) = ffprobe_packets(&f, kind);
            assert_eq!(atb, btb, "{name} {kind}: time base");
            let seen = |packets: &[Packet]| {
                packets
                    .iter()
                    .map(|p| (p.pts, p.dts, p.size, p.keyframe, p.md5.clone()))
                    .collect::<Vec<_>>()
            };
            assert!(
                !a.is_empty() && b.len() >= a.len(),
                "{name} {kind}: {} packets, {} before",
                b.len(),
                a.len()
            );
            assert_eq!(seen(&a), seen(&b[..a.len()]), "{name} {kind}: packets");
            let last = a.last().unwrap();
            let edit_end = last.pts.unwrap() + last.duration.unwrap_or(0);
            assert!(
                kind == "a" && b[a.len()..].iter().all(|p| p.pts >= Some(edit_end)) || b.len() == a.len(),
                "{name} {kind}: packets beyond the progressive file's: {:?}",
                &b[a.len()..]
            );
        }
        // ffmpeg decodes it without an error the source does not have. On
        // few-video-frames.mp4, whose frames share DTS, the count of its
        // notes on that differs by one: it guesses the missing packet
        // durations of a fragmented file otherwise.
        let tie = |l: &String| l.contains("non monotonically increasing dts");
        let (out_ties, out_other): (Vec<_>, Vec<_>) = normalized_decode_errors(&f).into_iter().partition(tie);
        let (src_ties, src_other): (Vec<_>, Vec<_>) = normalized_decode_errors(src).into_iter().partition(tie);
        assert_eq!(out_other, src_other, "{name}: ffmpeg decode of the fragmented file");
        assert!(
            out_ties.is_empty() || !src_ties.is_empty(),
            "{name}: DTS notes the source has none of: {out_ties:?}"
        );
        // GStreamer reads every frame, also from the two sources where it
        // reads fewer: few-video-frames.mp4, whose last two frames lie
        // past its edit, and short-video.mp4 (2 frames in 1 s), whose video
        // qtdemux skips as a preview image before it stops with
        // "not-linked".
        let frames = ffprobe_packets(src, "v").0.len();
        assert_eq!(gst_demux_mp4_video(&f), frames, "{name}: frames GStreamer read");
    }
}

/// A rendition re-encoded by ffmpeg at another size, on a shifted
/// timeline, lands back on the source's timeline.
fn check_reencoded(src: &Path, tag: &str, ffmpeg_args: &[&str]) {
    let name = src.file_name().unwrap().to_string_lossy();
    let dir = scratch(&format!("{tag}-{name}"));
    let o = split_and_check(src, &dir);
    let rendition = dir.join("rendition.ts");
    run(Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&o.ts)
        .args([
            "-vf",
            "scale=424:240",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "2",
        ])
        .args(["-fps_mode", "passthrough"])
        .args(ffmpeg_args)
        .args(["-f", "mpegts"])
        .arg(&rendition));
    let out = join(&rendition, &o.audio, &dir);

    let (a, atb) = ffprobe_packets(src, "v");
    let (b, btb) = ffprobe_packets(&out, "v");
    assert_eq!(atb, btb, "{name}: video time base");
    assert_eq!(a.len(), b.len(), "{name}: frames");
    let sorted = |p: &[Packet]| {
        let mut v: Vec<i64> = p.iter().map(|x| x.pts.unwrap()).collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&a),
        sorted(&b),
        "{name}: presentation times on the source timeline"
    );
    assert!(b[0].keyframe, "{name}: first frame is a keyframe");
    assert_eq!(ffprobe_size(&out), (424, 240), "{name}: rendition size");
    check_audio(src, &out);
    check_decode(src, &out);
}

#[test]
fn ffmpeg_reencoded_rendition_with_offset_lands_on_source_timeline() {
    let fixtures = streamplace_fixtures();
    let five = fixtures.iter().find(|p| p.ends_with("5sec.mp4")).unwrap();
    // ffmpeg starts its output 1.4 s in; add 7 s more.
    check_reencoded(five, "reencode", &["-output_ts_offset", "7"]);
    let generated = generated_fixtures();
    let bframes = generated.iter().find(|p| p.ends_with("bframes.mp4")).unwrap();
    check_reencoded(bframes, "reencode", &["-output_ts_offset", "7"]);
}

#[test]
fn rendition_whose_timestamps_wrap_at_2_pow_33() {
    // 95443.7 s is 2^33 ticks of 90 kHz: the rendition wraps mid-segment.
    let generated = generated_fixtures();
    let multigop = generated.iter().find(|p| p.ends_with("multigop.mp4")).unwrap();
    check_reencoded(multigop, "wrap", &["-output_ts_offset", "95441"]);
}

#[test]
fn gstreamer_remuxed_rendition_with_3600s_offset_and_other_pids() {
    let fixtures = streamplace_fixtures();
    let src = fixtures.iter().find(|p| p.ends_with("5sec.mp4")).unwrap();
    let dir = scratch("gstreamer-5sec");
    let o = split_and_check(src, &dir);
    let rendition = dir.join("gst.ts");
    run(Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", o.ts.display()))
        .args(["!", "tsdemux", "!", "h264parse", "!", "mpegtsmux", "!", "filesink"])
        .arg(format!("location={}", rendition.display())));
    let (gst, _) = ffprobe_packets(&rendition, "v");
    assert!(
        gst[0].pts.unwrap() > 3000 * 90_000,
        "GStreamer's mpegtsmux offsets its timeline"
    );
    let out = join(&rendition, &o.audio, &dir);
    let (a, _) = ffprobe_packets(src, "v");
    let (b, _) = ffprobe_packets(&out, "v");
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.pts, x.dts, x.keyframe), (y.pts, y.dts, y.keyframe));
    }
    assert_eq!(video_payload_md5(src), video_payload_md5(&out));
    check_audio(src, &out);
    check_decode(src, &out);
}
