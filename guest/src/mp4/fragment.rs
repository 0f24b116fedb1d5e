//! Fragmented MP4 (ISO/IEC 14496-12 §8.8): `mvex/trex` defaults, then per
//! `moof` the `traf` boxes with `tfhd`, `tfdt` and `trun`, appended to the
//! tracks' sample lists.

use std::collections::BTreeMap;

use crate::buf::Reader;
use crate::error::{Error, Result};

use super::atom::Atom;
use super::model::{Movie, Sample};

#[derive(Clone, Copy, Default)]
struct Defaults {
    duration: u32,
    size: u32,
    flags: u32,
}

/// `sample_is_non_sync_sample` in the sample flags (§8.8.3.1).
const NON_SYNC: u32 = 0x0001_0000;

pub fn read_fragments(movie: &mut Movie<'_>, moov: Atom<'_>, moofs: &[Atom<'_>], file_len: u64) -> Result<()> {
    let mut trex: BTreeMap<u32, Defaults> = BTreeMap::new();
    for child in moov.children() {
        let child = child?;
        if child.kind.0 != *b"mvex" {
            continue;
        }
        for ex in child.children() {
            let ex = ex?;
            if ex.kind.0 == *b"trex" {
                let (_, _, body) = ex.full()?;
                let mut r = Reader::new(body, "trex");
                let id = r.u32()?;
                r.skip(4)?; // default_sample_description_index
                trex.insert(
                    id,
                    Defaults {
                        duration: r.u32()?,
                        size: r.u32()?,
                        flags: r.u32()?,
                    },
                );
            }
        }
    }
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
            let mut tfhd = None;
            let mut tfdt = None;
            let mut truns = Vec::new();
            for c in traf.children() {
                let c = c?;
                match &c.kind.0 {
                    b"tfhd" => tfhd = Some(c),
                    b"tfdt" => tfdt = Some(c),
                    b"trun" => truns.push(c),
                    _ => {}
                }
            }
            let tfhd = tfhd.ok_or_else(|| Error::malformed(&at, "no tfhd"))?;
            let (_, flags, body) = tfhd.full()?;
            let mut r = Reader::new(body, "tfhd");
            let id = r.u32()?;
            let mut d = trex.get(&id).copied().unwrap_or_default();
            let mut base = if flags & 0x1 != 0 {
                r.u64()?
            } else if flags & 0x2_0000 != 0 {
                moof.offset
            } else {
                data_end
            };
            if flags & 0x2 != 0 {
                let description = r.u32()?;
                if description != 1 {
                    return Err(Error::UnsupportedCodec(format!(
                        "{at}: sample description {description} (only one per track is carried)"
                    )));
                }
            }
            if flags & 0x8 != 0 {
                d.duration = r.u32()?;
            }
            if flags & 0x10 != 0 {
                d.size = r.u32()?;
            }
            if flags & 0x20 != 0 {
                d.flags = r.u32()?;
            }
            let Some(track) = movie.tracks.iter_mut().find(|t| t.id == id) else {
                return Err(Error::malformed(&at, format_args!("tfhd names unknown track {id}")));
            };
            let mut dts = match tfdt {
                Some(t) => {
                    let (version, _, body) = t.full()?;
                    let mut r = Reader::new(body, "tfdt");
                    let v = if version == 1 { r.u64()? } else { r.u32()? as u64 };
                    i64::try_from(v).map_err(|_| Error::malformed(&at, "tfdt beyond 2^63"))?
                }
                None => next_dts.get(&id).copied().unwrap_or(0),
            };
            for trun in truns {
                let (_, tflags, body) = trun.full()?;
                let mut r = Reader::new(body, "trun");
                let count = r.u32()? as u64;
                total += count;
                if total > file_len {
                    return Err(Error::too_large(
                        format_args!("{at}/trun sample count"),
                        total,
                        file_len,
                    ));
                }
                let mut offset = if tflags & 0x1 != 0 {
                    base.checked_add_signed(r.i32()? as i64)
                        .ok_or_else(|| Error::malformed(&at, "trun data offset before file start"))?
                } else {
                    base
                };
                let first_flags = if tflags & 0x4 != 0 { Some(r.u32()?) } else { None };
                let per_sample = [0x100, 0x200, 0x400, 0x800]
                    .iter()
                    .filter(|&&f| tflags & f != 0)
                    .count()
                    * 4;
                if per_sample > 0 && count > (r.remaining() / per_sample) as u64 {
                    return Err(Error::truncated(format_args!(
                        "{at}/trun declares {count} samples in {} bytes",
                        r.remaining()
                    )));
                }
                track.samples.reserve(count as usize);
                for i in 0..count {
                    let duration = if tflags & 0x100 != 0 { r.u32()? } else { d.duration };
                    let size = if tflags & 0x200 != 0 { r.u32()? } else { d.size };
                    let sflags = if tflags & 0x400 != 0 {
                        r.u32()?
                    } else if i == 0 {
                        first_flags.unwrap_or(d.flags)
                    } else {
                        d.flags
                    };
                    // Signed for both versions, as with ctts (what ffmpeg does).
                    let cts_offset = if tflags & 0x800 != 0 { r.i32()? } else { 0 };
                    let end = offset + size as u64;
                    if end > file_len {
                        return Err(Error::truncated(format_args!(
                            "{at}: sample ends at byte {end}, file has {file_len}"
                        )));
                    }
                    track.samples.push(Sample {
                        offset,
                        size,
                        dts,
                        cts_offset,
                        duration,
                        sync: sflags & NON_SYNC == 0,
                    });
                    offset = end;
                    dts += duration as i64;
                }
                base = offset;
                data_end = data_end.max(offset);
            }
            next_dts.insert(id, dts);
        }
    }
    Ok(())
}
