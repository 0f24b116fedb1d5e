//! `join` on any pair of inputs. The first four bytes (big-endian) are the
//! TS's length, the TS follows and the audio MP4 is the rest; the top bit
//! of that length asks for fragmented output. A success is an MP4 our own
//! reader parses, with the video and the audio it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lpbridge_guest::{JoinOptions, join, mp4};

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let word = u32::from_be_bytes(*head);
    let fragmented = word & 0x8000_0000 != 0;
    let ts_len = ((word & 0x7fff_ffff) as usize).min(rest.len());
    let (video_ts, audio_mp4) = rest.split_at(ts_len);
    let Ok(out) = join(video_ts, audio_mp4, JoinOptions { fragmented }) else {
        return;
    };
    let movie = mp4::parse(&out).expect("our output parses");
    assert_eq!(movie.fragmented, fragmented);
    assert_eq!(movie.tracks.len(), 2);
});
