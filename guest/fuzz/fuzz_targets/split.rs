//! `probe` and `split` on any bytes: a typed error or outputs that hold
//! together (whole TS packets our own demuxer reads, an audio MP4 our own
//! reader parses), and `join` of those outputs never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lpbridge_guest::{JoinOptions, join, mp4, probe, split, ts};

fuzz_target!(|segment: &[u8]| {
    let probed = probe(segment);
    let Ok(parts) = split(segment) else {
        return;
    };
    let info = probed.expect("split succeeded where probe failed");
    assert_eq!(info.video[0].frames, parts.info.video[0].frames);
    assert_eq!(parts.video_ts.len() % 188, 0);
    ts::Demuxer::new(&parts.video_ts).expect("our TS demuxes");
    mp4::parse(&parts.audio_mp4).expect("our audio MP4 parses");
    for fragmented in [false, true] {
        let _ = join(&parts.video_ts, &parts.audio_mp4, JoinOptions { fragmented });
    }
});
