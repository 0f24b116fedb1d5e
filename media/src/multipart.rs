//! Incremental `multipart/mixed` reader (RFC 2046 §5.1) for the gateway's
//! answer, framed as go-livepeer writes it: `--B\r\n` first, `\r\n--B\r\n`
//! between parts, `\r\n--B--\r\n` at the end, sorted part headers
//! (`Content-Disposition`, `Content-Length`, `Content-Type`,
//! `Rendition-Name`).
//!
//! Feed bytes with [`Parser::push`] as they arrive and call
//! [`Parser::next_part`] until it returns `None`; a part comes out as soon
//! as its closing delimiter has been read, and its bytes leave the parser
//! with it. [`Parser::finish`] says whether the body ended properly: a
//! body cut before the close delimiter is a failed transcode (go-livepeer
//! truncates on a late error), never a short success.

use memchr::memmem;

use crate::limits::MAX_PART_HEADER_BYTES;

pub use lpbridge_contract::MultipartError;

type Result<T> = std::result::Result<T, MultipartError>;

/// A part's body is moved to the front of the buffer only if this little
/// of it has arrived (the streaming case); a body read whole is copied out.
const COMPACT_AT_MOST: usize = 256 * 1024;

/// `Content-Type` for a part whose body is a URL, not media.
pub const URI_CONTENT_TYPE: &str = "application/vnd+livepeer.uri";

/// A part's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartBody {
    /// The bytes as sent: media.
    Bytes(Vec<u8>),
    /// An `application/vnd+livepeer.uri` part: the rendition is at this URL.
    Url(String),
}

/// One part of the answer, with the headers the bridge reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `Rendition-Name`.
    pub name: Option<String>,
    /// `filename` of `Content-Disposition`.
    pub filename: Option<String>,
    /// `Content-Type` as sent, parameters included.
    pub content_type: Option<String>,
    /// Every header, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body: bytes, or a URL when `Content-Type` is `URI_CONTENT_TYPE`.
    pub body: PartBody,
}

impl Part {
    /// The first header called `name` (any case), its value trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body length in bytes (the URL's, for a URL part).
    pub fn len(&self) -> usize {
        match &self.body {
            PartBody::Bytes(b) => b.len(),
            PartBody::Url(u) => u.len(),
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the boundary out of a `Content-Type` value.
pub fn boundary(content_type: &str) -> Result<String> {
    let bad = |why: &str| MultipartError::BadContentType(format!("{why}: {content_type:?}"));
    let mut params = content_type.split(';');
    let media = params.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("multipart/mixed") {
        return Err(bad("not multipart/mixed"));
    }
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        if !k.trim().eq_ignore_ascii_case("boundary") {
            continue;
        }
        let v = v.trim();
        let v = match v.strip_prefix('"') {
            Some(q) => q.strip_suffix('"').ok_or_else(|| bad("unterminated quoted boundary"))?,
            None => v,
        };
        if v.is_empty() || v.len() > 70 || v.ends_with(' ') || !v.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(bad("boundary must be 1 to 70 printable characters"));
        }
        return Ok(v.to_string());
    }
    Err(bad("no boundary parameter"))
}

/// Where the parser is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter: a preamble is skipped.
    Preamble,
    /// Just after a delimiter's boundary: `--` closes, else CRLF follows.
    AfterBoundary,
    /// Reading a part's header block up to the empty line.
    Headers,
    /// Reading a part's body up to the next delimiter.
    Body,
    /// After the close delimiter: the epilogue is ignored.
    Done,
}

/// Reads a `multipart/mixed` body as it arrives, part by part.
pub struct Parser {
    /// `\r\n--boundary`.
    delimiter: Vec<u8>,
    finder: memmem::Finder<'static>,
    buf: Vec<u8>,
    /// Bytes of `buf` already consumed.
    start: usize,
    /// Stream offset of `buf[0]`, for error messages.
    offset: u64,
    state: State,
    headers: Vec<(String, String)>,
    expected_len: Option<usize>,
    /// Bytes of the body so far (from `start`) searched for the delimiter
    /// without a match, less what could begin one: each push searches only
    /// what is new, or a part arriving in many reads is searched
    /// quadratically (a 1 MB part in 64 KB reads: 8 MB scanned).
    searched: usize,
    ready: std::collections::VecDeque<Part>,
}

impl Parser {
    /// A parser for a body of type `content_type`: an error unless it is
    /// `multipart/mixed` with a valid boundary.
    pub fn new(content_type: &str) -> Result<Self> {
        let boundary = boundary(content_type)?;
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Ok(Parser {
            finder: memmem::Finder::new(&delimiter).into_owned(),
            delimiter,
            buf: Vec::new(),
            start: 0,
            offset: 0,
            state: State::Preamble,
            headers: Vec::new(),
            expected_len: None,
            searched: 0,
            ready: Default::default(),
        })
    }

    /// Adds bytes and parses as far as they allow.
    pub fn push(&mut self, data: &[u8]) -> Result<()> {
        if self.state == State::Done {
            return Ok(());
        }
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.compact();
        }
        self.buf.extend_from_slice(data);
        self.advance()
    }

    /// Drops the consumed bytes from the buffer.
    fn compact(&mut self) {
        self.buf.drain(..self.start);
        self.offset += self.start as u64;
        self.start = 0;
    }

    /// The next complete part, if any.
    pub fn next_part(&mut self) -> Option<Part> {
        self.ready.pop_front()
    }

    /// Ends the body: an error unless the close delimiter was read.
    pub fn finish(&self) -> Result<()> {
        if self.state == State::Done {
            return Ok(());
        }
        Err(MultipartError::Truncated(format!(
            "body ended after {} bytes without the close delimiter (state {:?})",
            self.offset + self.buf.len() as u64,
            self.state
        )))
    }

    fn malformed(&self, at: usize, reason: impl Into<String>) -> MultipartError {
        MultipartError::Malformed {
            at: self.offset + at as u64,
            reason: reason.into(),
        }
    }

    /// Reads as far as the bytes here allow. Each state's step gives
    /// whether it moved on (`true`) or waits for more bytes (`false`).
    fn advance(&mut self) -> Result<()> {
        loop {
            let moved = match self.state {
                State::Done => return Ok(()),
                State::Preamble => self.preamble(),
                State::AfterBoundary => self.after_boundary()?,
                State::Headers => self.part_headers()?,
                State::Body => self.part_body()?,
            };
            if !moved {
                return Ok(());
            }
        }
    }

    /// Skips to the first delimiter, which may open the body without its
    /// CRLF.
    fn preamble(&mut self) -> bool {
        let rest = &self.buf[self.start..];
        let dash = &self.delimiter[2..];
        if rest.len() < dash.len() {
            return false;
        }
        if self.start == 0 && self.offset == 0 && rest.starts_with(dash) {
            self.start += dash.len();
        } else if let Some(p) = self.finder.find(rest) {
            self.start += p + self.delimiter.len();
        } else {
            // Keep only what could still begin a delimiter.
            let keep = self.delimiter.len() - 1;
            self.start += rest.len().saturating_sub(keep);
            return false;
        }
        self.state = State::AfterBoundary;
        true
    }

    /// After a delimiter: `--` ends the body, else CRLF (after any
    /// transport padding) opens a part.
    fn after_boundary(&mut self) -> Result<bool> {
        let rest = &self.buf[self.start..];
        if rest.len() < 2 {
            return Ok(false);
        }
        if rest.starts_with(b"--") {
            self.state = State::Done;
            return Ok(false);
        }
        // Transport padding (linear white space) may precede CRLF.
        let pad = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if rest.len() < pad + 2 {
            return Ok(false);
        }
        if &rest[pad..pad + 2] != b"\r\n" {
            return Err(self.malformed(self.start, "delimiter not followed by CRLF or --"));
        }
        self.start += pad + 2;
        self.state = State::Headers;
        Ok(true)
    }

    /// A part's header block, up to its blank line, within
    /// `MAX_PART_HEADER_BYTES`.
    fn part_headers(&mut self) -> Result<bool> {
        let rest = &self.buf[self.start..];
        let too_large = |size: usize| MultipartError::TooLarge {
            what: "part header block".into(),
            size: size as u64,
            limit: MAX_PART_HEADER_BYTES as u64,
        };
        let header_end = if rest.starts_with(b"\r\n") {
            Some(0)
        } else {
            memmem::find(rest, b"\r\n\r\n").map(|e| e + 2)
        };
        let Some(h) = header_end else {
            if rest.len() > MAX_PART_HEADER_BYTES {
                return Err(too_large(rest.len()));
            }
            return Ok(false);
        };
        if h > MAX_PART_HEADER_BYTES {
            return Err(too_large(h));
        }
        let headers = parse_headers(&rest[..h]).map_err(|r| self.malformed(self.start, r))?;
        self.expected_len = match headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
            Some((_, v)) => Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| self.malformed(self.start, format!("Content-Length {v:?}")))?,
            ),
            None => None,
        };
        self.headers = headers;
        self.start += h + 2;
        self.searched = 0;
        self.state = State::Body;
        // Read from a socket, little of the body is here yet: move it to
        // the front, so that once complete the buffer itself is handed out
        // as the body. No room is made ahead for a declared length: it may
        // lie.
        if self.buf.len() - self.start <= COMPACT_AT_MOST {
            self.compact();
        }
        Ok(true)
    }

    /// A part's body, up to the next delimiter: found by searching, or,
    /// with a Content-Length, checked to be right where it says.
    fn part_body(&mut self) -> Result<bool> {
        let Some(found) = self.body_len()? else {
            return Ok(false);
        };
        let end = self.start + found + self.delimiter.len();
        let body = if self.start == 0 {
            let tail = self.buf.split_off(end);
            let mut body = std::mem::replace(&mut self.buf, tail);
            body.truncate(found);
            self.offset += end as u64;
            body
        } else {
            let body = self.buf[self.start..self.start + found].to_vec();
            self.start = end;
            body
        };
        let part = make_part(std::mem::take(&mut self.headers), body).map_err(|r| self.malformed(self.start, r))?;
        self.ready.push_back(part);
        self.state = State::AfterBoundary;
        Ok(true)
    }

    /// Where the current body ends, once the delimiter after it is here.
    fn body_len(&mut self) -> Result<Option<usize>> {
        let rest = &self.buf[self.start..];
        match self.expected_len {
            // Content-Length lets us jump, but the delimiter must be right
            // there or the length lied.
            Some(len) => {
                if rest.len() < len.saturating_add(self.delimiter.len()) {
                    return Ok(None);
                }
                if !rest[len..].starts_with(&self.delimiter) {
                    return Err(self.malformed(
                        self.start + len,
                        format!("Content-Length {len} does not end at a delimiter"),
                    ));
                }
                Ok(Some(len))
            }
            None => {
                let from = self.searched.min(rest.len());
                match self.finder.find(&rest[from..]) {
                    Some(p) => Ok(Some(from + p)),
                    None => {
                        self.searched = rest.len().saturating_sub(self.delimiter.len() - 1);
                        Ok(None)
                    }
                }
            }
        }
    }
}

fn parse_headers(block: &[u8]) -> std::result::Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(block).map_err(|_| "part headers are not UTF-8".to_string())?;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding (RFC 5322 §3.2.2): continues the last.
            let last = out.last_mut().ok_or("continuation line before any header")?;
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without colon: {line:?}"))?;
        if k.is_empty() || k.contains(' ') {
            return Err(format!("bad header name {k:?}"));
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    if out.len() > 64 {
        return Err(format!("{} part headers", out.len()));
    }
    Ok(out)
}

fn make_part(headers: Vec<(String, String)>, body: Vec<u8>) -> std::result::Result<Part, String> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let content_type = get("content-type");
    let filename = get("content-disposition").and_then(|d| param(&d, "filename"));
    let is_url = content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(URI_CONTENT_TYPE));
    let body = if is_url {
        let url = String::from_utf8(body).map_err(|_| "URL part is not UTF-8".to_string())?;
        PartBody::Url(url.trim().to_string())
    } else {
        PartBody::Bytes(body)
    };
    Ok(Part {
        name: get("rendition-name"),
        filename,
        content_type,
        headers,
        body,
    })
}

/// A parameter of a header value (`attachment; filename="x.ts"`).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or(v)
                .to_string()
        })
    })
}

/// Reads a whole body at once.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>> {
    let mut p = Parser::new(content_type)?;
    p.push(body)?;
    p.finish()?;
    Ok(std::iter::from_fn(|| p.next_part()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/mixed; boundary=0123456789abcdef0123";

    /// Exactly what go-livepeer's `multipart.Writer` produces.
    fn livepeer_body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, (name, data)) in parts.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"--" } else { b"\r\n--" });
            out.extend_from_slice(b"0123456789abcdef0123\r\n");
            let file = format!("{name}_7.ts");
            out.extend_from_slice(
                format!(
                    "Content-Disposition: attachment; filename=\"{file}\"\r\nContent-Length: {}\r\nContent-Type: video/mp2t; name=\"{file}\"\r\nRendition-Name: {name}\r\n\r\n",
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(data);
        }
        out.extend_from_slice(b"\r\n--0123456789abcdef0123--\r\n");
        out
    }

    /// Pushes `body` `chunk` bytes at a time, as reads from a socket come.
    fn parse_in_chunks(body: &[u8], chunk: usize) -> Vec<Part> {
        let mut p = Parser::new(CT).unwrap();
        let mut parts = Vec::new();
        for c in body.chunks(chunk) {
            p.push(c).unwrap();
            parts.extend(std::iter::from_fn(|| p.next_part()));
        }
        p.finish().unwrap();
        parts
    }

    #[test]
    fn reads_livepeer_framing_in_any_chunking() {
        let a: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
        let b = b"\r\n--0123456789abcdef012 almost a delimiter".to_vec();
        let body = livepeer_body(&[("720p", &a), ("360p", &b)]);
        for chunk in [1, 2, 7, 64, 1000, body.len()] {
            let parts = parse_in_chunks(&body, chunk);
            assert_eq!(parts.len(), 2, "chunk {chunk}");
            assert_eq!(parts[0].name.as_deref(), Some("720p"));
            assert_eq!(parts[0].filename.as_deref(), Some("720p_7.ts"));
            assert_eq!(parts[0].body, PartBody::Bytes(a.clone()));
            assert_eq!(parts[1].body, PartBody::Bytes(b.clone()));
            assert_eq!(parts[1].content_type.as_deref(), Some("video/mp2t; name=\"360p_7.ts\""));
        }
    }

    #[test]
    fn large_parts_read_whole_or_streamed() {
        let big: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let body = livepeer_body(&[("720p", &big), ("360p", b"tiny"), ("240p", &big[..300_000])]);
        // Whole, the bodies are copied out; streamed, the buffer is handed out.
        for chunk in [4096, 65536, body.len()] {
            let parts = parse_in_chunks(&body, chunk);
            let got: Vec<_> = parts.iter().map(|p| &p.body).collect();
            let want = [
                &PartBody::Bytes(big.clone()),
                &PartBody::Bytes(b"tiny".to_vec()),
                &PartBody::Bytes(big[..300_000].to_vec()),
            ];
            assert_eq!(got, want, "chunk {chunk}");
        }
        // A length no body follows ends as a truncated body, and one that
        // would overflow a sum does not.
        for len in ["4000000000".to_string(), usize::MAX.to_string()] {
            let mut lying = livepeer_body(&[("720p", b"abcdef")]);
            let at = memmem::find(&lying, b"Content-Length: 6").unwrap();
            lying.splice(at + 16..at + 17, len.bytes());
            let mut p = Parser::new(CT).unwrap();
            for c in lying.chunks(1000) {
                p.push(c).unwrap();
            }
            assert!(matches!(p.finish(), Err(MultipartError::Truncated(_))), "{len}");
        }
    }

    #[test]
    fn parts_without_content_length_are_found_in_any_chunking() {
        let a: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
        let b = b"\r\n--0123456789abcdef012 almost a delimiter\r\n--0123456789abcdef01".to_vec();
        let mut body = Vec::new();
        for (name, data) in [("720p", &a), ("360p", &b)] {
            body.extend_from_slice(b"\r\n--0123456789abcdef0123\r\nRendition-Name: ");
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(data);
        }
        body.extend_from_slice(b"\r\n--0123456789abcdef0123--\r\n");
        for chunk in [1, 2, 3, 7, 23, 24, 25, 64, 1000, body.len()] {
            let parts = parse_in_chunks(&body, chunk);
            let got: Vec<_> = parts.iter().map(|p| (p.name.as_deref(), &p.body)).collect();
            assert_eq!(
                got,
                [
                    (Some("720p"), &PartBody::Bytes(a.clone())),
                    (Some("360p"), &PartBody::Bytes(b.clone()))
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn missing_close_delimiter_is_truncated() {
        let body = livepeer_body(&[("720p", b"abc")]);
        let cut = &body[..body.len() - 8];
        assert!(matches!(parse(CT, cut), Err(MultipartError::Truncated(_))));
        assert!(matches!(parse(CT, b""), Err(MultipartError::Truncated(_))));
    }

    #[test]
    fn preamble_epilogue_quoting_and_no_content_length() {
        let body = b"preamble\r\n--xyz\r\nRendition-Name: a\r\nContent-Type: application/vnd+livepeer.uri\r\n\r\nhttps://x/y.ts\r\n--xyz  \r\n\r\nraw\r\n--xyz--\r\nepilogue";
        let parts = parse("Multipart/Mixed; boundary=\"xyz\"", body).unwrap();
        assert_eq!(parts[0].body, PartBody::Url("https://x/y.ts".into()));
        assert_eq!(parts[1].body, PartBody::Bytes(b"raw".to_vec()));
        assert_eq!(parts[1].name, None);
    }

    #[test]
    fn lying_content_length_and_bad_types_are_errors() {
        let mut body = livepeer_body(&[("720p", b"abcdef")]);
        let at = memmem::find(&body, b"Content-Length: 6").unwrap();
        body[at + 16] = b'5';
        assert!(matches!(parse(CT, &body), Err(MultipartError::Malformed { .. })));
        assert!(matches!(
            parse("video/mp4", b""),
            Err(MultipartError::BadContentType(_))
        ));
        assert!(matches!(
            parse("multipart/mixed", b""),
            Err(MultipartError::BadContentType(_))
        ));
        let huge = [
            b"--0123456789abcdef0123\r\n".as_slice(),
            &[b'a'; MAX_PART_HEADER_BYTES + 10],
        ]
        .concat();
        assert!(matches!(parse(CT, &huge), Err(MultipartError::TooLarge { .. })));
    }
}
