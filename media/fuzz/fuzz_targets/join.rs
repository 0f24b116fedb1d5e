//! `join` on any pair of inputs, laid out as `lpbridge_media::fuzz::join_input` reads them;
//! the property is `lpbridge_media::fuzz::join`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lpbridge_media::fuzz::join(data);
});
