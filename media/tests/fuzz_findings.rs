//! Every input a fuzz target has failed on, run again through the same
//! property (`lpbridge_media::fuzz`), with the typed error it must give
//! now. Findings live in `media/fuzz/findings/` (and, for a campaign's
//! new ones not yet copied in, `$LPBRIDGE_FUZZ_FINDINGS`), each named
//! `TARGET-ID.bin`; a file with no
//! row in `EXPECTED` fails this test, so a new finding cannot be dropped
//! in without saying what it must give.

#![allow(clippy::unwrap_used)] // an unwrap here is an assertion

use std::path::{Path, PathBuf};

use lpbridge_media::fuzz;

/// (file name, what the entry point must answer: its error's text, or
/// "ok" where the input is fine and only the property had failed).
const EXPECTED: &[(&str, &str)] = &[
    // The audio MP4's stts covers 4,278,714,671 packets (ffprobe's "wrong
    // sample count") where its stsz declares one, of 0 bytes. join used to
    // take the one packet and write a stsz with a sample_size of 0 and no
    // table, which its own reader refused.
    (
        "join-abaa9dd1.bin",
        "malformed input at trak 2/stbl/stts: covers 4278714671 samples, stsz declares 1",
    ),
    // A valid segment whose third video sample is 0 bytes: join dropped it
    // (an access unit with no picture), and the property counted it.
    // Dropping it is right; the property now compares the other samples.
    ("roundtrip-f34cc8e1.bin", "ok"),
    // A video sample that holds only a "PPS": the property, which had left
    // it out of the source's samples only, counted one frame more where
    // join kept it in-band. That PPS has its forbidden bit set, and split
    // now refuses it (see roundtrip-44abcae8.bin).
    (
        "roundtrip-ff678590.bin",
        "malformed input at trak 1 sample 9: PPS 1 has its forbidden_zero_bit set",
    ),
    // The avcC's one "PPS" is no PPS: its first byte, 0xef, has the
    // forbidden bit set and says NAL unit type 15.
    // split put it in-band as it was; join then found no PPS and refused
    // split's own output. A parameter set must be one.
    (
        "roundtrip-ddc79dfc.bin",
        "malformed input at avcC: PPS 1 has its forbidden_zero_bit set",
    ),
    // An avcC with no PPS, and none in-band: the stream cannot be decoded,
    // and split sent it anyway.
    (
        "roundtrip-30e08f17.bin",
        "malformed input at trak 1 sample 1: no PPS for the first keyframe, in avcC or in-band",
    ),
    // The avcC's SPS holds 00 00 01: Annex B cut it in two, and the TS
    // carried a stray NAL unit of type 0 before the first keyframe.
    (
        "roundtrip-6e54ba2d.bin",
        "malformed input at avcC: SPS 1 holds 00 00 01 at byte 10, which H.264 forbids in a NAL unit",
    ),
    // A PPS in the first sample, after its slice, with the forbidden bit
    // set: split sent it, and join put it in the rendition's avcC, which
    // our own reader then refused. Both hold in-band sets to avcC's rule.
    (
        "roundtrip-44abcae8.bin",
        "malformed input at trak 1 sample 1: PPS 1 has its forbidden_zero_bit set",
    ),
    // An audio `stsd` whose size is 0, which §4.2 allows only for the last
    // box of a file: the reader took it to run to the end of `stbl`, split
    // copied it verbatim with its own tables after it, and join's reader
    // then found them inside the `stsd` and no samples. Size 0 inside a
    // box is now refused.
    (
        "roundtrip-f7ac4465.bin",
        "malformed input at stsd box at 891: size 0 (to the end of the file) inside another box",
    ),
    // The first keyframe carried an in-band SPS whose pic_order_cnt_type
    // is 85 (0 to 2 are defined). split checked its framing only and sent
    // it on; join parsed it and refused split's own output. split now
    // parses every in-band SPS.
    (
        "roundtrip-618ef22e.bin",
        "malformed input at trak 1 sample 1: pic_order_cnt_type 85",
    ),
    // The four below were found the first time the fuzzers ran with
    // overflow checks (2026-12-04); without them each sum had wrapped.
    // An edit list and lead whose 90 kHz sum passes i64: split added them
    // into the TS base before it reached the sample it refuses. TS time is
    // modulo 2^33, so the sums now wrap on purpose, exactly.
    (
        "split-d9827638.bin",
        "malformed input at trak 1 sample 1: NAL length 3830673765 exceeds the 1361 bytes left",
    ),
    // A track whose ID is u32::MAX: the joined movie's
    // next_track_ID overflowed; it is now all ones, the standard's "search
    // for an unused one".
    ("join-c4249df7.bin", "ok"),
    // An audio MP4 whose edit list's durations sum past u64: the rendition
    // writer summed them unchecked, an overflow (a trap in the component).
    // The sum now saturates, and the join stands.
    ("join-e49ec75f.bin", "ok"),
    // A sample's PTS far from the first: base + PTS passed i64.
    (
        "roundtrip-cbca6e8c.bin",
        "malformed input at trak 1 sample 8: NAL length 2963529009 exceeds the 209 bytes left",
    ),
    // The stream property over a segment whose start and duration add up
    // past i64: check's continuity sum now saturates.
    ("check-63b65b6e.bin", "unreadable"),
    // Audio and video starts at opposite ends of i64: check's start offset
    // overflowed (found by the second campaign over the fixes above); the
    // offsets now saturate.
    ("check-db5cd0b1.bin", "unreadable"),
];

fn dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/findings")];
    dirs.extend(std::env::var_os("LPBRIDGE_FUZZ_FINDINGS").map(PathBuf::from));
    dirs
}

fn findings() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs()
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    files
}

/// Runs the property of the target the file is named after.
fn answer(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    let data = std::fs::read(path).unwrap();
    let target = name.split('-').next().unwrap();
    let result = match target {
        "split" => fuzz::split(&data).map_err(|e| e.to_string()),
        "join" => fuzz::join(&data).map_err(|e| e.to_string()),
        "roundtrip" => fuzz::roundtrip(&data).map_err(|e| e.to_string()),
        "multipart" => fuzz::multipart(&data).map_err(|e| e.to_string()),
        "check" => fuzz::check(&data).map_err(|code| code.as_str().to_string()),
        other => panic!("{name}: no fuzz target {other:?}"),
    };
    match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e,
    }
}

#[test]
fn every_fuzz_finding_gives_its_typed_error() {
    let files = findings();
    assert!(
        files.iter().any(|f| f.ends_with("join-abaa9dd1.bin")),
        "the findings are in the repository ({:?})",
        dirs()
    );
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = EXPECTED
            .iter()
            .find(|(file, _)| *file == name)
            .unwrap_or_else(|| panic!("{name}: add the answer it must give to EXPECTED"))
            .1;
        assert_eq!(answer(&path), expected, "{name}");
    }
}
