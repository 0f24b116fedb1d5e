//! `split`, then `join` of its own outputs: the audio byte for byte and the same video
//! samples; the property, and where it cannot hold by design, is `lpbridge_media::fuzz::roundtrip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lpbridge_media::fuzz::roundtrip(data);
});
