//! The multipart reader, whole against pieces; the property is
//! `lpbridge_media::fuzz::multipart`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lpbridge_media::fuzz::multipart(data);
});
