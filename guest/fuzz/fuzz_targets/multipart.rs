//! The multipart reader on any body: a typed error or parts, and the same
//! answer whether the body arrives whole or in pieces (the first byte
//! picks the piece size, as a slow gateway would cut it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lpbridge_guest::multipart::{Parser, parse};

const CONTENT_TYPE: &str = "multipart/mixed; boundary=0123456789abcdef0123";

fuzz_target!(|data: &[u8]| {
    let Some((&piece, body)) = data.split_first() else {
        return;
    };
    let whole = parse(CONTENT_TYPE, body);
    let mut parser = Parser::new(CONTENT_TYPE).unwrap();
    let mut parts = Vec::new();
    let mut pieces = Ok(());
    for chunk in body.chunks(piece as usize + 1) {
        pieces = parser.push(chunk);
        if pieces.is_err() {
            break;
        }
        parts.extend(std::iter::from_fn(|| parser.next_part()));
    }
    let pieces = pieces.and_then(|()| parser.finish()).map(|()| parts);
    assert_eq!(whole.is_ok(), pieces.is_ok(), "{whole:?} / {pieces:?}");
    if let (Ok(a), Ok(b)) = (whole, pieces) {
        assert_eq!(a, b);
    }
});
