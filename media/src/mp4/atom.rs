//! Box headers (ISO/IEC 14496-12 §4.2): iteration over sibling boxes, and
//! the writer's side, opening a box and closing it with its size.

use std::fmt;

use crate::buf::WriteBe;
use crate::error::{Error, Result};
use crate::num::{u32_sat, usize_sat};

/// A box type. Printed as text when printable, else as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FourCC(pub [u8; 4]);

impl FourCC {
    /// A box type from its four bytes, usable in a `const`.
    pub const fn new(b: &[u8; 4]) -> Self {
        FourCC(*b)
    }
}

impl fmt::Display for FourCC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            f.write_str(std::str::from_utf8(&self.0).unwrap_or("????"))
        } else {
            write!(f, "0x{:08x}", u32::from_be_bytes(self.0))
        }
    }
}

impl fmt::Debug for FourCC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// One box: its type, where it sits in the file, and its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Atom<'a> {
    /// The box type.
    pub kind: FourCC,
    /// Absolute file offset of the box header.
    pub offset: u64,
    /// The whole box, header included (what we copy verbatim).
    pub raw: &'a [u8],
    /// The payload after the header (and after the 16-byte `uuid` type).
    pub body: &'a [u8],
}

impl<'a> Atom<'a> {
    /// Children of a container box.
    pub fn children(&self) -> Atoms<'a> {
        let header = self.raw.len() - self.body.len();
        Atoms::new(self.body, self.offset + header as u64)
    }

    /// The version and flags of a full box, and the rest of its body.
    pub fn full(&self) -> Result<(u8, u32, &'a [u8])> {
        if self.body.len() < 4 {
            return Err(Error::truncated(format_args!(
                "{} box at {} has no version/flags",
                self.kind, self.offset
            )));
        }
        let b = self.body;
        Ok((b[0], u32::from_be_bytes([0, b[1], b[2], b[3]]), &b[4..]))
    }
}

/// Iterator over sibling boxes in `data`, which starts at file offset `base`.
pub struct Atoms<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
    /// Whether a size of 0 ("to the end of the file") may appear: only at
    /// the top level (§4.2). Inside a container it would swallow the
    /// siblings after it, which a verbatim copy then hides from readers.
    top_level: bool,
}

impl<'a> Atoms<'a> {
    /// Boxes inside a container, or inside part of one.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Atoms {
            data,
            pos: 0,
            base,
            top_level: false,
        }
    }

    /// The boxes of a whole file.
    pub fn top_level(file: &'a [u8]) -> Self {
        Atoms {
            top_level: true,
            ..Atoms::new(file, 0)
        }
    }

    fn next_atom(&mut self) -> Result<Atom<'a>> {
        let rest = &self.data[self.pos..];
        let offset = self.base + self.pos as u64;
        if rest.len() < 8 {
            return Err(Error::truncated(format_args!(
                "box header at {offset} has {} of 8 bytes",
                rest.len()
            )));
        }
        let size32 = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let kind = FourCC([rest[4], rest[5], rest[6], rest[7]]);
        let (size, mut header) = match size32 {
            0 if self.top_level => (rest.len() as u64, 8usize),
            0 => {
                return Err(Error::malformed(
                    format_args!("{kind} box at {offset}"),
                    "size 0 (to the end of the file) inside another box",
                ));
            }
            1 => {
                if rest.len() < 16 {
                    return Err(Error::truncated(format_args!(
                        "{kind} box at {offset}: 64-bit size cut off"
                    )));
                }
                let mut s = [0u8; 8];
                s.copy_from_slice(&rest[8..16]);
                (u64::from_be_bytes(s), 16)
            }
            n => (n as u64, 8),
        };
        if kind.0 == *b"uuid" {
            header += 16;
        }
        if size < header as u64 {
            return Err(Error::malformed(
                format_args!("{kind} box at {offset}"),
                format_args!("size {size} is smaller than its {header}-byte header"),
            ));
        }
        if size > rest.len() as u64 {
            return Err(Error::truncated(format_args!(
                "{kind} box at {offset} declares {size} bytes, {} remain",
                rest.len()
            )));
        }
        let size = usize_sat(size);
        self.pos += size;
        Ok(Atom {
            kind,
            offset,
            raw: &rest[..size],
            body: &rest[header..size],
        })
    }
}

impl<'a> Iterator for Atoms<'a> {
    type Item = Result<Atom<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let item = self.next_atom();
        if item.is_err() {
            self.pos = self.data.len();
        }
        Some(item)
    }
}

/// Opens a box; `close` writes its size.
pub(crate) fn open(out: &mut Vec<u8>, kind: &[u8; 4]) -> usize {
    let at = out.len();
    out.u32(0);
    out.extend_from_slice(kind);
    at
}

/// Opens a full box (§4.2.2): version and flags after the header.
pub(crate) fn open_full(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32) -> usize {
    let at = open(out, kind);
    out.u8(version);
    out.u24(flags);
    at
}

pub(crate) fn close(out: &mut [u8], at: usize) {
    let size = u32_sat(out.len() - at);
    out[at..at + 4].copy_from_slice(&size.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_and_rejects_lying_sizes() {
        let mut data = vec![0, 0, 0, 12, b'f', b'r', b'e', b'e', 1, 2, 3, 4];
        data.extend_from_slice(&[0, 0, 0, 8, b's', b'k', b'i', b'p']);
        let atoms: Vec<_> = Atoms::new(&data, 0).collect::<Result<_>>().unwrap();
        assert_eq!(atoms.len(), 2);
        assert_eq!(atoms[0].body, &[1, 2, 3, 4]);
        assert_eq!(atoms[1].offset, 12);

        let lying = [0, 0, 0, 99, b'm', b'o', b'o', b'v'];
        assert!(matches!(
            Atoms::new(&lying, 0).next().unwrap(),
            Err(Error::Truncated(_))
        ));
        let tiny = [0, 0, 0, 4, b'm', b'o', b'o', b'v'];
        assert!(matches!(
            Atoms::new(&tiny, 0).next().unwrap(),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn size_zero_runs_to_the_end_of_the_file_only() {
        let data = [0, 0, 0, 0, b'm', b'd', b'a', b't', 9, 9];
        let a = Atoms::top_level(&data).next().unwrap().unwrap();
        assert_eq!(a.body, &[9, 9]);
        let inside = Atoms::new(&data, 0).next().unwrap().unwrap_err();
        assert_eq!(
            inside.to_string(),
            "malformed input at mdat box at 0: size 0 (to the end of the file) inside another box"
        );
    }
}
