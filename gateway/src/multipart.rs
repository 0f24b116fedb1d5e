//! The gateway's answer, framed byte for byte as go-livepeer's
//! `mime/multipart` writer frames it: a random 20-hex boundary, the first
//! delimiter without a leading CRLF, part headers in sorted order, and the
//! close delimiter last (which a client must see to trust the answer).

use std::hash::{BuildHasher, Hasher};

/// 20 lowercase hex digits, random per answer.
pub fn boundary() -> String {
    let word = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("{:016x}{:04x}", word(), word() & 0xffff)
}

/// The delimiter and headers that open part `index`.
pub fn part_head(boundary: &str, index: usize, name: &str, file: &str, mime: &str, len: usize) -> String {
    let lead = if index == 0 { "" } else { "\r\n" };
    // Sorted, as Go's textproto writes a MIMEHeader.
    format!(
        "{lead}--{boundary}\r\n\
         Content-Disposition: attachment; filename=\"{file}\"\r\n\
         Content-Length: {len}\r\n\
         Content-Type: {mime}; name=\"{file}\"\r\n\
         Rendition-Name: {name}\r\n\r\n"
    )
}

pub fn close(boundary: &str) -> String {
    format!("\r\n--{boundary}--\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_parses_back_with_our_own_reader() {
        let b = boundary();
        assert_eq!(b.len(), 20);
        assert!(b.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let mut body = Vec::new();
        for (i, (name, data)) in [("360p", &b"abc"[..]), ("240p", &b"\r\n--x"[..])].iter().enumerate() {
            let file = format!("{name}_7.ts");
            body.extend_from_slice(part_head(&b, i, name, &file, "video/mp2t", data.len()).as_bytes());
            body.extend_from_slice(data);
        }
        body.extend_from_slice(close(&b).as_bytes());
        let mut parser = lpbridge_media::multipart::Parser::new(&format!("multipart/mixed; boundary={b}")).unwrap();
        parser.push(&body).unwrap();
        parser.finish().unwrap();
        let first = parser.next_part().unwrap();
        assert_eq!(first.header("Rendition-Name"), Some("360p"));
        assert_eq!(parser.next_part().unwrap().len(), 5);
        assert!(parser.next_part().is_none());
    }
}
