//! `check` through the component: what it finds in real and generated
//! segments, in bytes that lie, and across a run of segments.

use std::collections::BTreeSet;

use lpbridge_contract::{Report, SegmentInfo, Severity};
use lpbridge_tests::*;

fn check(bytes: &[u8]) -> Report {
    block_on(runtime().check(bytes)).expect("the component answers every input")
}

/// The warnings and errors, as (code, track).
fn off(r: &Report) -> BTreeSet<(String, Option<&'static str>)> {
    r.findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| (f.code.as_str().to_string(), f.at.track.map(|t| t.as_str())))
        .collect()
}

fn codes(r: &Report, severity: Severity) -> BTreeSet<String> {
    r.findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code.as_str().to_string())
        .collect()
}

fn set(items: &[(&str, Option<&'static str>)]) -> BTreeSet<(String, Option<&'static str>)> {
    items.iter().map(|(c, t)| (c.to_string(), *t)).collect()
}

/// Each real segment gives its known quirks and nothing else. Beside the
/// ones the issue names, each is there in the bytes (ffprobe shows the
/// same): Streamplace's muxer writes an Opus pre-skip of 0 (the encoder's
/// was lost) and audio timestamps that disagree with the packets' own
/// lengths; few-video-frames has holes of up to 2.6 s in its video and
/// 174 ms in its audio; 5sec's audio ends 37 ms before its video on the
/// movie timeline (4980 against 5017 ms, edit lists applied).
#[test]
fn streamplace_segments_give_their_known_quirks_and_nothing_else() {
    let v = Some("video");
    let a = Some("audio");
    let expected = [
        (
            "few-video-frames.mp4",
            set(&[
                ("duplicate-dts", v),
                ("duplicate-dts", a),
                ("gap", v),
                ("gap", a),
                ("irregular-frame-durations", v),
                ("irregular-audio-durations", a),
                ("opus-pre-skip", None),
            ]),
        ),
        (
            "short-video.mp4",
            set(&[
                ("av-start-offset", None),
                ("av-duration-mismatch", None),
                ("duplicate-dts", v),
                ("irregular-audio-durations", a),
                ("opus-pre-skip", None),
            ]),
        ),
        (
            "duration-mismatch.mp4",
            set(&[
                ("av-duration-mismatch", None),
                ("irregular-frame-durations", v),
                ("opus-pre-skip", None),
            ]),
        ),
        ("5sec.mp4", set(&[("av-duration-mismatch", None)])),
        (
            "sample-segment.mp4",
            set(&[("duplicate-dts", v), ("irregular-frame-durations", v)]),
        ),
    ];
    for (name, want) in expected {
        let r = check(&streamplace_segment(name));
        assert_eq!(off(&r), want, "{name}: {:#?}", r.findings);
        assert!(codes(&r, Severity::Error).is_empty(), "{name}");
    }
    let r = check(&streamplace_segment("5sec.mp4"));
    let infos = codes(&r, Severity::Info);
    assert!(
        infos.contains("b-frames") && infos.contains("edit-list"),
        "5sec: {infos:?}"
    );
    let short = check(&streamplace_segment("short-video.mp4"));
    let offset = short
        .findings
        .iter()
        .find(|f| f.code.as_str() == "av-start-offset")
        .unwrap();
    assert_eq!(offset.message, "the video starts 829.0 ms after the audio");
    assert_eq!(offset.at.time_ns, Some(829_000_000));
}

/// Our own clean segments give no warning; the defects made on purpose
/// give exactly theirs.
#[test]
fn generated_segments_give_exactly_their_defects() {
    let files = generated_fixtures();
    let file = |n: &str| std::fs::read(files.iter().find(|p| p.ends_with(n)).unwrap()).unwrap();
    for clean in [
        "aac.mp4",
        "avc3.mp4",
        "bframes.mp4",
        "faststart.mp4",
        "multigop.mp4",
        "odd.mp4",
        "odd444.mp4",
        "portrait.mp4",
    ] {
        let r = check(&file(clean));
        assert!(off(&r).is_empty(), "{clean}: {:#?}", r.findings);
    }
    assert!(codes(&check(&file("bframes.mp4")), Severity::Info).contains("b-frames"));
    // A live encoder's segment without reordering.
    assert!(!codes(&check(&streamplace_segment("sample-segment.mp4")), Severity::Info).contains("b-frames"));
    let layout = |n: &str| {
        check(&file(n))
            .findings
            .into_iter()
            .find(|f| f.code.as_str() == "layout")
            .unwrap()
            .message
    };
    assert!(layout("faststart.mp4").starts_with("progressive, moov before the media"));
    assert!(layout("fragmented.mp4").starts_with("fragmented"));

    // Audio that starts 593 ms after the video (and so ends short of it).
    assert_eq!(
        off(&check(&file("late-audio.mp4"))),
        set(&[("av-start-offset", None), ("av-duration-mismatch", None)])
    );

    // A first frame that is not a keyframe: stss lists frame 2 first.
    let mut bytes = file("multigop.mp4");
    let stss = box_at(&bytes, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stss"]);
    bytes[stss + 12..stss + 16].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(off(&check(&bytes)), set(&[("first-frame-not-keyframe", Some("video"))]));

    // dOps: a pre-skip of 0, then six channels under mapping family 0.
    let mut bytes = file("multigop.mp4");
    let dops = find(&bytes, b"dOps");
    assert!(dops > box_at(&bytes, &[b"moov"]), "the dOps of the moov");
    bytes[dops + 6..dops + 8].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(off(&check(&bytes)), set(&[("opus-pre-skip", None)]));
    bytes[dops + 5] = 6;
    assert_eq!(
        off(&check(&bytes)),
        set(&[("opus-pre-skip", None), ("opus-bad-channel-mapping", None)])
    );
}

/// Defects made in the tables and NAL units of clean files: each gives its
/// code. Where one defect brings another with it, both are named.
#[test]
fn made_defects_give_their_codes() {
    let files = generated_fixtures();
    let file = |n: &str| std::fs::read(files.iter().find(|p| p.ends_with(n)).unwrap()).unwrap();
    let stbl: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];
    let in_stbl = |bytes: &[u8], kind: &[u8; 4]| {
        let mut path = stbl.to_vec();
        path.push(kind);
        box_at(bytes, &path)
    };

    // Not H.264: the sample entry says hvc1.
    let mut bytes = file("multigop.mp4");
    let stsd = in_stbl(&bytes, b"stsd");
    bytes[stsd + 16..stsd + 20].copy_from_slice(b"hvc1");
    assert_eq!(off(&check(&bytes)), set(&[("unsupported-video-codec", None)]));

    // A negative composition offset (ctts version 1) on the first frame.
    let mut bytes = file("multigop.mp4");
    let ctts = in_stbl(&bytes, b"ctts");
    bytes[ctts + 4] = 1;
    bytes[ctts + 16..ctts + 20].copy_from_slice(&(-1_000_000i32).to_be_bytes());
    let found = off(&check(&bytes));
    assert!(
        found.contains(&("pts-before-dts".to_string(), Some("video"))),
        "{found:?}"
    );

    // A second fragment whose tfdt goes back to 0.
    let mut bytes = file("fragmented.mp4");
    let before = off(&check(&bytes));
    let moofs: Vec<usize> = lpbridge_media::mp4::Atoms::top_level(&bytes)
        .map(|a| a.unwrap())
        .filter(|a| &a.kind.0 == b"moof")
        .map(|a| a.offset as usize)
        .collect();
    let second = moofs[1];
    let tfdt = second + bytes[second..].windows(4).position(|w| w == b"tfdt").unwrap();
    let version = bytes[tfdt + 4];
    let at = tfdt + 8;
    if version == 1 {
        bytes[at..at + 8].copy_from_slice(&0u64.to_be_bytes());
    } else {
        bytes[at..at + 4].copy_from_slice(&0u32.to_be_bytes());
    }
    let found = off(&check(&bytes));
    let added: Vec<_> = found.difference(&before).collect();
    assert!(
        added.contains(&&("dts-decreasing".to_string(), Some("video"))),
        "{added:?}"
    );

    // An in-band SPS that changes level mid-segment (avc3 carries them).
    let mut bytes = file("avc3.mp4");
    let sps: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] == 0x67 && (w[1] == 0x64 || w[1] == 0x4d || w[1] == 0x42))
        .map(|(i, _)| i)
        .collect();
    assert!(sps.len() >= 2, "avc3.mp4 repeats its SPS");
    let last = *sps.last().unwrap();
    bytes[last + 3] = bytes[last + 3].wrapping_add(1);
    assert_eq!(off(&check(&bytes)), set(&[("parameter-sets-change", Some("video"))]));

    // An in-band SPS that H.264 forbids (00 00 00 inside it) in frame 0.
    let mut bytes = file("avc3.mp4");
    let first = sps[0];
    bytes[first + 4..first + 7].fill(0);
    assert_eq!(off(&check(&bytes)), set(&[("bad-parameter-set", Some("video"))]));

    // avcC's SPS spoiled the same way: the segment's size cannot be known.
    let mut bytes = file("multigop.mp4");
    let avcc = find(&bytes, b"avcC") + 4;
    bytes[avcc + 12..avcc + 15].fill(0);
    let r = check(&bytes);
    assert_eq!(off(&r), set(&[("bad-parameter-set", None)]));
    assert!(r.findings[0].message.contains("avcC"), "{}", r.findings[0].message);

    // avcC says it holds no SPS (and so, read on, no PPS), and an avc1
    // track has none in band.
    let mut bytes = file("multigop.mp4");
    bytes[avcc + 5] = 0xe0;
    assert_eq!(off(&check(&bytes)), set(&[("no-parameter-sets", Some("video"))]));

    let r = check(&duplicate_pts(file("multigop.mp4")));
    assert_eq!(off(&r), set(&[("duplicate-pts", Some("video"))]));
    assert!(
        r.findings[0].message.ends_with("the first at frame 1"),
        "{}",
        r.findings[0].message
    );

    // The audio track's handler says text: the segment has no audio.
    let mut bytes = file("multigop.mp4");
    let hdlrs: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"hdlr")
        .map(|(i, _)| i)
        .collect();
    let sound = *hdlrs.iter().find(|&&h| &bytes[h + 12..h + 16] == b"soun").unwrap();
    bytes[sound + 12..sound + 16].copy_from_slice(b"text");
    assert_eq!(off(&check(&bytes)), set(&[("no-audio", None)]));

    // Half a second of frames and packets dropped, timestamps kept.
    let r = check(&file("gap.mp4"));
    assert_eq!(off(&r), set(&[("gap", Some("video")), ("gap", Some("audio"))]));
    let video_gap = r
        .findings
        .iter()
        .find(|f| f.code.as_str() == "gap" && f.at.track.map(|t| t.as_str()) == Some("video"));
    assert!(
        video_gap
            .unwrap()
            .message
            .starts_with("1 gap in the video with no frames, the longest 533.3 ms"),
        "{video_gap:?}"
    );
}

/// `multigop.mp4` with frame 1 (decoded after frame 0) shown at frame 0's
/// instant: its ctts entry set to frame 0's offset less one frame's
/// duration.
fn duplicate_pts(mut bytes: Vec<u8>) -> Vec<u8> {
    let stbl: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];
    let ctts = box_at(&bytes, &[stbl.as_slice(), &[b"ctts"]].concat());
    let stts = box_at(&bytes, &[stbl.as_slice(), &[b"stts"]].concat());
    let be = |b: &[u8], at: usize| i32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    assert_eq!(
        (be(&bytes, ctts + 12), be(&bytes, ctts + 20)),
        (1, 1),
        "one frame per ctts entry"
    );
    let frame0 = be(&bytes, ctts + 16);
    let duration = be(&bytes, stts + 16);
    bytes[ctts + 24..ctts + 28].copy_from_slice(&(frame0 - duration).to_be_bytes());
    bytes
}

/// Where the type of the box at `path` is (its first of each kind, the
/// video track first), found by walking the boxes, not by searching bytes
/// that a payload could also hold.
fn box_at(bytes: &[u8], path: &[&[u8; 4]]) -> usize {
    use lpbridge_media::mp4::Atoms;
    let mut atoms = Atoms::top_level(bytes);
    let mut found = None;
    for kind in path {
        let atom = atoms
            .map(|a| a.unwrap())
            .find(|a| &a.kind.0 == *kind)
            .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(*kind)));
        found = Some(atom.offset as usize + 4);
        atoms = atom.children();
    }
    found.unwrap()
}

/// Where the four bytes of a box type are.
fn find(bytes: &[u8], fourcc: &[u8; 4]) -> usize {
    bytes
        .windows(4)
        .position(|w| w == fourcc)
        .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(fourcc)))
}

/// Bytes that lie or end early are one `unreadable` error, not a trap,
/// within a small memory cap.
#[test]
fn hostile_bytes_are_an_error_finding() {
    let real = streamplace_segment("sample-segment.mp4");
    let mut inputs: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        (
            "random".into(),
            (0..65536u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
                .collect(),
        ),
    ];
    for cut in [8, 100, 1000, real.len() / 2, real.len() - 1] {
        inputs.push((format!("cut at {cut}"), real[..cut].to_vec()));
    }
    // A moov that says it is 4 GB.
    let mut lying = real.clone();
    let moov = box_at(&lying, &[b"moov"]);
    lying[moov - 4..moov].copy_from_slice(&u32::MAX.to_be_bytes());
    inputs.push(("lying moov size".into(), lying));
    // A sample count past anything the file could hold.
    let mut huge = real.clone();
    let stsz = box_at(&huge, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsz"]);
    huge[stsz + 12..stsz + 16].copy_from_slice(&0x4000_0000u32.to_be_bytes());
    inputs.push(("huge stsz count".into(), huge));
    // Memory stays bounded as for split: 6 MiB (about 1 MiB of it the
    // guest's stack and data, 1 MB the segment's copy) holds every check,
    // whatever the bytes claim.
    let capped = lpbridge::Runtime::embedded(lpbridge::Limits {
        memory_bytes: 6 << 20,
        ..lpbridge::Limits::default()
    })
    .unwrap();
    for (what, bytes) in inputs {
        let r = block_on(capped.check(&bytes)).unwrap_or_else(|e| panic!("{what}: {e:#}"));
        let errors = codes(&r, Severity::Error);
        assert!(!errors.is_empty(), "{what}: {:#?}", r.findings);
        assert!(
            errors.contains("unreadable") || errors.contains("no-video"),
            "{what}: {errors:?}"
        );
    }
}

fn infos(files: &[std::path::PathBuf]) -> Vec<Option<SegmentInfo>> {
    files.iter().map(|f| check(&std::fs::read(f).unwrap()).info).collect()
}

/// A run of consecutive segments is continuous; shuffled or with one
/// missing, the break is found at the segment where it is.
#[test]
fn a_run_of_segments_is_checked_as_a_stream() {
    for (stream, segs) in generated_streams() {
        let found = block_on(runtime().check_stream(&infos(&segs))).unwrap();
        assert!(found.is_empty(), "{stream} in order: {found:#?}");

        let shuffled = [segs[1].clone(), segs[0].clone(), segs[2].clone()];
        let found = block_on(runtime().check_stream(&infos(&shuffled))).unwrap();
        let at: Vec<(usize, &str)> = found.iter().map(|(i, f)| (*i, f.code.as_str())).collect();
        assert_eq!(
            at,
            [(1, "overlap-between-segments"), (2, "gap-between-segments")],
            "{stream} shuffled"
        );

        let missing = [segs[0].clone(), segs[2].clone()];
        let found = block_on(runtime().check_stream(&infos(&missing))).unwrap();
        assert_eq!(found.len(), 1, "{stream} missing one: {found:#?}");
        assert_eq!((found[0].0, found[0].1.code.as_str()), (1, "gap-between-segments"));
        assert!(
            found[0].1.message.contains("2000.0 ms after segment 0 ended"),
            "{}",
            found[0].1.message
        );
    }
    // Where a new manifest opens is the host's to say, by its ladder
    // (`manifests.rs`): the component's stream check says nothing of it.
    let two = [streamplace_fixtures()[0].clone(), generated_fixtures()[0].clone()];
    let found = block_on(runtime().check_stream(&infos(&two))).unwrap();
    assert!(
        found.iter().all(|(_, f)| f.code.as_str() != "new-manifest"),
        "{found:#?}"
    );
}

/// The run both drawing tests draw: the five Streamplace segments, made
/// defects (a gap, late audio, a fragmented file, duplicate PTS) and
/// junk, the last two written into `dir`.
fn drawn_run(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let generated = generated_fixtures();
    let made = |n: &str| generated.iter().find(|p| p.ends_with(n)).unwrap().clone();
    let mut files = streamplace_fixtures();
    files.extend(["gap.mp4", "late-audio.mp4", "fragmented.mp4"].map(made));
    let dup = dir.join("duplicate-pts.mp4");
    std::fs::write(&dup, duplicate_pts(std::fs::read(made("multigop.mp4")).unwrap())).unwrap();
    let junk = dir.join("junk.mp4");
    std::fs::write(&junk, [0x5a; 5000]).unwrap();
    files.extend([dup, junk]);
    files
}

/// `check --html` as a browser draws it. Real segments, made defects (a
/// gap, duplicate PTS, late audio, a fragmented file) and junk, in one
/// run: in headless Chromium every finding that has a place in time has
/// one marker, in its track's lane (or the segment's, or the stream's),
/// drawn within a pixel's worth of time of where `check --json` says it
/// is (a sample's time read here from the file itself). The page to stdout
/// (`--html -`) is the same page.
#[test]
fn the_html_report_draws_each_finding_in_its_lane_at_its_time() {
    use lpbridge_media::mp4::TrackKind as Kind;
    let dir = scratch("check-html");
    let files = drawn_run(&dir);

    let html = dir.join("report.html");
    let bin = fleet::lpbridge_binary();
    let out = std::process::Command::new(bin)
        .args(["check", "--json", "--html"])
        .arg(&html)
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the junk is an error");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stdout = std::process::Command::new(bin)
        .args(["check", "--html", "-"])
        .args(&files)
        .output()
        .unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(String::from_utf8(stdout.stdout).unwrap().trim_end(), page.trim_end());
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained"
    );

    let dom = browser::dom(&html, "?measure");
    let measured = dom
        .split_once("<pre id=\"measured\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .expect("the page measured its markers")
        .0;
    let measured: Vec<serde_json::Value> = serde_json::from_str(&measured.replace("&quot;", "\"")).unwrap();
    let marker = |id: &str| {
        let found: Vec<_> = measured.iter().filter(|m| m["id"] == id).collect();
        assert!(found.len() <= 1, "{id}: {found:?}");
        found.first().copied()
    };
    let placed = |m: &serde_json::Value, code: &str, lane: &str, ns: i64, what: &str| {
        assert_eq!(m["code"], code, "{what}");
        assert_eq!(m["lane"], lane, "{what}");
        let (at, pixel) = (m["time_ns"].as_f64().unwrap(), m["pixel_ns"].as_f64().unwrap());
        assert!(
            (at - ns as f64).abs() <= pixel,
            "{what}: drawn at {at} ns, is at {ns} ns (a pixel is {pixel} ns)"
        );
    };

    let mut timed = 0;
    let mut drawn_codes = BTreeSet::new();
    for (i, segment) in json["segments"].as_array().unwrap().iter().enumerate() {
        let bytes = std::fs::read(&files[i]).unwrap();
        let movie = lpbridge_media::mp4::parse(&bytes).ok();
        for (j, f) in segment["findings"].as_array().unwrap().iter().enumerate() {
            let (code, at) = (f["code"].as_str().unwrap(), &f["at"]);
            let track = at["track"].as_str();
            // A sample's time, from the file itself.
            let sample_time = || {
                let movie = movie.as_ref()?;
                let kind = if track? == "video" { Kind::Video } else { Kind::Audio };
                let t = movie.tracks.iter().find(|t| t.kind == kind)?;
                let s = t.samples.get(at["sample"].as_u64()? as usize)?;
                Some(lpbridge_media::time::to_ns(s.pts(), t.timescale))
            };
            let expected = at["time_ns"].as_i64().or_else(sample_time);
            let what = format!("{}: {code}", files[i].display());
            match (expected, marker(&format!("s{i}f{j}"))) {
                (Some(ns), Some(m)) => {
                    placed(m, code, track.unwrap_or("segment"), ns, &what);
                    timed += 1;
                    drawn_codes.insert(code.to_string());
                }
                (None, None) => {}
                (e, m) => panic!("{what}: at {e:?}, marker {m:?}"),
            }
        }
    }
    for (n, f) in json["stream"].as_array().unwrap().iter().enumerate() {
        let code = f["code"].as_str().unwrap();
        match (f["at"]["time_ns"].as_i64(), marker(&format!("stream-{n}"))) {
            (Some(ns), Some(m)) => {
                placed(m, code, "stream-findings", ns, code);
                timed += 1;
            }
            (None, None) => {}
            (e, m) => panic!("stream {code}: at {e:?}, marker {m:?}"),
        }
    }
    assert_eq!(measured.len(), timed, "one marker per finding with a place in time");
    for code in ["gap", "duplicate-pts", "av-start-offset", "irregular-audio-durations"] {
        assert!(drawn_codes.contains(code), "{code} drawn: {drawn_codes:?}");
    }
    // The junk: its finding listed, nothing drawn, the page whole.
    assert!(page.contains("<b>unreadable</b>"));
    assert!(page.contains("Nothing to draw"));
    assert!(page.trim_end().ends_with("</html>"));
    browser::screenshot(&html, 2600);
}

/// The check page as a user meets it: built by `scripts/edge-js page` from
/// the component this test's binary embeds, served by `lpbridge serve
/// --check-page` at `/check/` and by a plain static file server (Python's),
/// opened in headless Chromium, the run given to its file input. The
/// component checks and draws in the page: the same findings per segment
/// and for the run as `lpbridge check --json` (codes and counts), every
/// marker where the CLI's page draws it, junk as its `unreadable` finding,
/// and the time the page took.
#[test]
fn the_check_page_checks_picked_files_in_chromium_as_the_cli_does() {
    use std::collections::BTreeMap;
    use std::process::Command;
    let dir = scratch("check-page");
    let files = drawn_run(&dir);
    let bin = fleet::lpbridge_binary();
    let component = dir.join("bridge.wasm");
    run(Command::new(bin).args(["component", "bridge", "-o"]).arg(&component));
    let page = dir.join("page");
    run(Command::new(hosts::edge_js())
        .args(["page", "--component"])
        .arg(&component)
        .arg("--out")
        .arg(&page));

    // What the CLI finds and draws.
    let html = dir.join("cli.html");
    let out = Command::new(bin)
        .args(["check", "--json", "--html"])
        .arg(&html)
        .args(&files)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, segment) in json["segments"].as_array().unwrap().iter().enumerate() {
        for f in segment["findings"].as_array().unwrap() {
            *expected
                .entry((format!("s{i}"), f["code"].as_str().unwrap().into()))
                .or_default() += 1;
        }
    }
    for f in json["stream"].as_array().unwrap() {
        *expected
            .entry(("stream".into(), f["code"].as_str().unwrap().into()))
            .or_default() += 1;
    }
    assert!(
        expected.contains_key(&("stream".into(), "new-manifest".into())),
        "{expected:?}"
    );
    let dom = browser::dom(&html, "?measure");
    let cli_markers: Vec<serde_json::Value> = serde_json::from_str(
        &dom.split_once("<pre id=\"measured\">")
            .unwrap()
            .1
            .split_once("</pre>")
            .unwrap()
            .0
            .replace("&quot;", "\""),
    )
    .unwrap();
    let drawn = |markers: &[serde_json::Value]| -> Vec<(String, String, String, i64)> {
        markers
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap().to_string(),
                    m["code"].as_str().unwrap().to_string(),
                    m["lane"].as_str().unwrap().to_string(),
                    m["time_ns"].as_f64().unwrap().round() as i64,
                )
            })
            .collect()
    };

    let static_server = StaticServer::start(&page);
    let served = fleet::Host::start(
        &[
            "--gateway",
            "http://127.0.0.1:9",
            "--check-page",
            page.to_str().unwrap(),
        ],
        &dir.join("serve.log"),
    );
    let bare = block_on(http::http(served.addr, "GET", "/check", b""));
    assert_eq!(
        (bare.status, bare.header("location")),
        (308, "/check/"),
        "relative to the directory"
    );
    for (how, url) in [
        ("lpbridge serve", format!("http://{}/check/?measure", served.addr)),
        (
            "a static file server",
            format!("http://{}/index.html?measure", static_server.addr),
        ),
    ] {
        let shown = browser::check_page(&url, &files, &dir.join("page.png"));
        assert_eq!(shown["drawn"], true, "{how}: {shown}");
        assert_eq!(shown["errors"], serde_json::json!([]), "{how}");
        let mut listed: BTreeMap<(String, String), usize> = BTreeMap::new();
        for f in shown["findings"].as_array().unwrap() {
            let id = f["id"].as_str().unwrap();
            let on = if id.starts_with("stream") {
                "stream".to_string()
            } else {
                id.split('f').next().unwrap().to_string()
            };
            *listed.entry((on, f["code"].as_str().unwrap().into())).or_default() += 1;
        }
        assert_eq!(listed, expected, "{how}: the page's findings against check --json");
        assert!(
            listed.contains_key(&("s9".into(), "unreadable".into())),
            "{how}: the junk"
        );
        let page_markers = drawn(shown["measured"].as_array().unwrap());
        assert_eq!(
            page_markers,
            drawn(&cli_markers),
            "{how}: the page's markers against the CLI's"
        );
        assert!(shown["ms"].as_f64().unwrap() > 0.0, "{how}: {shown}");
    }
    assert!(dir.join("page.png").exists());
}

/// Python's `http.server` on a free loopback port: a plain static file
/// server, stopped when dropped.
struct StaticServer {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl StaticServer {
    fn start(root: &std::path::Path) -> StaticServer {
        let port = fleet::free_port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
                "--directory",
            ])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        // Dropped at once: whatever follows, the server is stopped.
        let server = StaticServer { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("python3 -m http.server did not listen on {addr}");
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A segment of 2^20 one-byte frames, checked and drawn by the binary:
/// the component lists the first 16,384 of each track (contract
/// `MAX_DRAWN_SAMPLES`), the page says so, and the page stays small.
#[test]
fn a_segment_of_a_million_frames_draws_its_first_ones_and_says_so() {
    use lpbridge_media::mp4::{self, MuxTrack, OutSample, TrackKind as Kind};
    let dir = scratch("check-html-million");
    let segment = streamplace_segment("sample-segment.mp4");
    let movie = mp4::parse(&segment).unwrap();
    let video = movie.tracks.iter().find(|t| t.kind == Kind::Video).unwrap();
    let byte = [0u8; 1];
    let n = 1usize << 20;
    let mut track = MuxTrack::verbatim(video, &segment);
    track.samples = vec![
        OutSample {
            size: 1,
            duration: 1,
            cts_offset: 0,
            sync: false,
        };
        n
    ];
    track.data = vec![&byte[..]; n];
    let file = dir.join("million.mp4");
    std::fs::write(&file, mp4::mux_progressive(movie.timescale, &[track], &[])).unwrap();
    let html = dir.join("million.html");
    let out = std::process::Command::new(fleet::lpbridge_binary())
        .args(["check", "--html"])
        .arg(&html)
        .arg(&file)
        .output()
        .unwrap();
    // An error (it has no audio), not a crash.
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("video track: the first 16384 of its 1048576 samples are drawn"),
        "{}",
        &page[..page.len().min(4000)]
    );
    assert!(page.len() < 4 << 20, "the page is {} bytes", page.len());
}
