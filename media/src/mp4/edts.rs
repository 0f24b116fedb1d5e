//! Edit lists (ISO/IEC 14496-12 §8.6.5-8.6.6): `edts/elst`, read and
//! written side by side.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atom, close, open, open_full};
use super::model::Edit;
use crate::num::{i32_sat, u32_sat};

/// The entries of `edts/elst` (none when it has no `elst`).
pub(super) fn read(edts: Atom<'_>, track: u32) -> Result<Vec<Edit>> {
    let mut edits = Vec::new();
    for child in edts.children() {
        let child = child?;
        if child.kind.0 != *b"elst" {
            continue;
        }
        let (version, _, body) = child.full()?;
        let mut r = Reader::new(body, "elst");
        let count = r.u32()? as usize;
        let entry_size = if version == 1 { 20 } else { 12 };
        if count > r.remaining() / entry_size {
            return Err(Error::truncated(format_args!(
                "trak {track}/edts/elst declares {count} entries in {} bytes",
                r.remaining()
            )));
        }
        for _ in 0..count {
            let (segment_duration, media_time) = if version == 1 {
                (r.u64()?, r.i64()?)
            } else {
                (r.u32()? as u64, r.i32()? as i64)
            };
            r.skip(4)?; // media_rate
            edits.push(Edit {
                segment_duration,
                media_time,
            });
        }
    }
    Ok(edits)
}

/// An `edts` with one `elst`, version 1 only where a value needs it.
pub(super) fn write(out: &mut Vec<u8>, edits: &[Edit]) {
    let edts = open(out, b"edts");
    let v1 = edits
        .iter()
        .any(|e| e.segment_duration > u32::MAX as u64 || e.media_time > i32::MAX as i64);
    let elst = open_full(out, b"elst", v1 as u8, 0);
    out.u32(u32_sat(edits.len()));
    for e in edits {
        if v1 {
            out.u64(e.segment_duration);
            // Signed in the box: -1 is an empty edit.
            out.u64(e.media_time.cast_unsigned());
        } else {
            out.u32(u32_sat(e.segment_duration));
            out.u32(i32_sat(e.media_time).cast_unsigned());
        }
        out.u32(0x10000);
    }
    close(out, elst);
    close(out, edts);
}

#[cfg(test)]
mod tests {
    use super::super::atom::Atoms;
    use super::*;

    #[test]
    fn edit_lists_read_back_what_is_written() {
        let empty_then_media = [
            Edit {
                segment_duration: 17,
                media_time: -1,
            },
            Edit {
                segment_duration: 4963,
                media_time: 0,
            },
        ];
        // Past 32 bits: version 1.
        let long = [Edit {
            segment_duration: 1 << 33,
            media_time: (1 << 31) + 5,
        }];
        for edits in [&empty_then_media[..], &long[..], &[]] {
            let mut out = Vec::new();
            write(&mut out, edits);
            let atom = Atoms::new(&out, 0).next().unwrap().unwrap();
            assert_eq!(read(atom, 1).unwrap(), edits);
        }
    }

    #[test]
    fn an_elst_that_declares_more_entries_than_it_holds_is_refused() {
        let mut out = Vec::new();
        write(
            &mut out,
            &[Edit {
                segment_duration: 1,
                media_time: 0,
            }],
        );
        out[20..24].copy_from_slice(&1000u32.to_be_bytes()); // elst entry_count
        let atom = Atoms::new(&out, 0).next().unwrap().unwrap();
        assert!(matches!(read(atom, 1), Err(Error::Truncated(_))));
    }
}
