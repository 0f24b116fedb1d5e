//! Fragmented MP4 (ISO/IEC 14496-12 §8.8): `mvex/trex` defaults, then per
//! `moof` the `traf` boxes with `tfhd`, `tfdt` and `trun` (read by
//! `traf.rs`), appended to the tracks' sample lists.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

use super::atom::Atom;
use super::model::Movie;
use super::traf::{Base, Defaults, Tfhd, TrunStart, read_tfdt, read_trex, read_trun};

pub fn read_fragments(movie: &mut Movie<'_>, moov: Atom<'_>, moofs: &[Atom<'_>], file_len: u64) -> Result<()> {
    let trex = trex_defaults(&moov)?;
    // Where each track's next fragment continues when it has no tfdt.
    let mut next_dts: BTreeMap<u32, i64> = movie
        .tracks
        .iter()
        .map(|t| (t.id, t.samples.last().map_or(0, |s| s.dts + s.duration as i64)))
        .collect();
    let mut total = movie.tracks.iter().map(|t| t.samples.len() as u64).sum::<u64>();
    for moof in moofs {
        let mut data_end = moof.offset; // end of the previous traf's data
        for traf in moof.children() {
            let traf = traf?;
            if traf.kind.0 != *b"traf" {
                continue;
            }
            let at = format!("moof at {}/traf", moof.offset);
            let boxes = TrafBoxes::of(&traf, &at)?;
            let tfhd = Tfhd::read(&boxes.tfhd, &at)?;
            let id = tfhd.track_id;
            let defaults = tfhd.defaults(trex.get(&id).copied().unwrap_or_default());
            let Some(track) = movie.tracks.iter_mut().find(|t| t.id == id) else {
                return Err(Error::malformed(&at, format_args!("tfhd names unknown track {id}")));
            };
            let mut start = TrunStart {
                base: match tfhd.base {
                    Base::Explicit(offset) => offset,
                    Base::Moof => moof.offset,
                    Base::FollowsPrevious => data_end,
                },
                dts: match &boxes.tfdt {
                    Some(t) => read_tfdt(t, &at)?,
                    None => next_dts.get(&id).copied().unwrap_or(0),
                },
                total,
            };
            track.fragment_starts.push(start.dts);
            for trun in &boxes.truns {
                read_trun(trun, defaults, &mut start, file_len, &at, &mut track.samples)?;
                data_end = data_end.max(start.base);
            }
            total = start.total;
            next_dts.insert(id, start.dts);
        }
    }
    Ok(())
}

/// `trex` of each track in `moov/mvex`.
fn trex_defaults(moov: &Atom<'_>) -> Result<BTreeMap<u32, Defaults>> {
    let mut trex = BTreeMap::new();
    for child in moov.children() {
        let child = child?;
        if child.kind.0 != *b"mvex" {
            continue;
        }
        for ex in child.children() {
            let ex = ex?;
            if ex.kind.0 == *b"trex" {
                let (id, defaults) = read_trex(&ex)?;
                trex.insert(id, defaults);
            }
        }
    }
    Ok(trex)
}

/// The boxes of one `traf` this reader uses, in file order.
struct TrafBoxes<'a> {
    tfhd: Atom<'a>,
    tfdt: Option<Atom<'a>>,
    truns: Vec<Atom<'a>>,
}

impl<'a> TrafBoxes<'a> {
    fn of(traf: &Atom<'a>, at: &str) -> Result<Self> {
        let (mut tfhd, mut tfdt, mut truns) = (None, None, Vec::new());
        for c in traf.children() {
            let c = c?;
            match &c.kind.0 {
                b"tfhd" => tfhd = Some(c),
                b"tfdt" => tfdt = Some(c),
                b"trun" => truns.push(c),
                _ => {}
            }
        }
        let tfhd = tfhd.ok_or_else(|| Error::malformed(at, "no tfhd"))?;
        Ok(TrafBoxes { tfhd, tfdt, truns })
    }
}
