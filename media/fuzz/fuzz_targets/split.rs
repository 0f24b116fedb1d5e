//! `probe` and `split` on any bytes; the property is `lpbridge_media::fuzz::split`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lpbridge_media::fuzz::split(data);
});
