//! Our own box, `udta/lpvt`: the source video's timeline (its timescale,
//! empty edits, first presentation time and span), which `split` stores
//! in the audio MP4 it hands out and `join` reads back to put a rendition
//! where the source's video was. Written and read here, nowhere else.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atom, FourCC};
use super::model::VideoTimeline;

/// Type of our box holding the source video's timeline, inside `udta`.
pub const LPVT: FourCC = FourCC::new(b"lpvt");

/// Flag bit 0: the source video had an edit list.
const EDITED: u32 = 1;

/// A `udta` holding one `lpvt` box with `t`, to go inside a `moov`.
pub fn udta(t: &VideoTimeline) -> Vec<u8> {
    let mut out = Vec::new();
    out.u32(8 + 12 + 4 + 8 + 8 + 8);
    out.extend_from_slice(b"udta");
    out.u32(12 + 4 + 8 + 8 + 8);
    out.extend_from_slice(&LPVT.0);
    out.u32(if t.edited { EDITED } else { 0 }); // version 0, flags
    out.u32(t.timescale);
    out.u64(t.empty_edit);
    // Signed, read back as such.
    out.u64(t.lead.cast_unsigned());
    out.u64(t.span.cast_unsigned());
    out
}

/// The timeline in a `udta`'s `lpvt`, if it has one.
pub(super) fn find(udta: Atom<'_>) -> Result<Option<VideoTimeline>> {
    for child in udta.children() {
        let child = child?;
        if child.kind == LPVT {
            let (_, flags, body) = child.full()?;
            let mut r = Reader::new(body, "udta/lpvt");
            let timescale = r.u32()?;
            let empty_edit = r.u64()?;
            let lead = r.i64()?;
            let span = r.i64()?;
            if timescale == 0 {
                return Err(Error::malformed("moov/udta/lpvt", "timescale is 0"));
            }
            return Ok(Some(VideoTimeline {
                timescale,
                empty_edit,
                lead,
                span,
                edited: flags & EDITED != 0,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::super::atom::Atoms;
    use super::*;

    #[test]
    fn reads_back_what_is_written() {
        for t in [
            VideoTimeline {
                timescale: 15360,
                empty_edit: 17,
                lead: 0,
                span: 77056,
                edited: true,
            },
            VideoTimeline {
                timescale: 90_000,
                empty_edit: 0,
                lead: -3003,
                span: 1 << 40,
                edited: false,
            },
        ] {
            let bytes = udta(&t);
            let atom = Atoms::new(&bytes, 0).next().unwrap().unwrap();
            assert_eq!(find(atom).unwrap(), Some(t));
        }
    }

    #[test]
    fn a_timescale_of_zero_is_refused() {
        let mut bytes = udta(&VideoTimeline {
            timescale: 1,
            empty_edit: 0,
            lead: 0,
            span: 0,
            edited: false,
        });
        bytes[20..24].fill(0);
        let atom = Atoms::new(&bytes, 0).next().unwrap().unwrap();
        assert!(find(atom).is_err());
    }
}
