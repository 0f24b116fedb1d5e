//! Reads a whole MP4 segment into tracks and sample lists.
//!
//! Handles what live encoders write: boxes before and after `ftyp` (C2PA
//! `uuid`), `moov` first or last, interleaved `mdat` chunks, and fragmented
//! files (`moof`/`mdat` pairs, several fragments). Samples are addressed by
//! absolute file offset and checked against the file length before anyone
//! reads them.

use crate::buf::Reader;
use crate::error::{Error, Result};

use super::atom::{Atom, Atoms};
use super::model::{Movie, Track, TrackKind};
use super::{edts, fragment, lpvt, stbl, stsd};

/// Parse a whole MP4 file held in memory.
pub fn parse(file: &[u8]) -> Result<Movie<'_>> {
    if file.is_empty() {
        return Err(Error::truncated("empty input"));
    }
    // Every box type in a real file is printable ASCII; checking the first
    // one tells random bytes from a cut file.
    if let Some(kind) = file.get(4..8)
        && !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
    {
        return Err(Error::malformed(
            "byte 4",
            format_args!("first box type {kind:02x?} is not a FourCC: not an MP4"),
        ));
    }
    let mut moov = None;
    let mut moofs = Vec::new();
    let mut saw_ftyp = false;
    for atom in Atoms::top_level(file) {
        let atom = atom?;
        match &atom.kind.0 {
            b"ftyp" | b"styp" => saw_ftyp = true,
            b"moov" if moov.is_some() => {
                return Err(Error::malformed(
                    format_args!("moov at {}", atom.offset),
                    "second moov box",
                ));
            }
            b"moov" => moov = Some(atom),
            b"moof" => moofs.push(atom),
            _ => {}
        }
    }
    let Some(moov) = moov else {
        return Err(if saw_ftyp {
            Error::truncated("no moov box (file cut before its index?)")
        } else {
            Error::malformed("file", "no ftyp or moov box: not an MP4")
        });
    };
    let mut movie = parse_moov(moov, file.len() as u64)?;
    if !moofs.is_empty() {
        movie.fragmented = true;
        fragment::read_fragments(&mut movie, moov, &moofs, file.len() as u64)?;
    }
    Ok(movie)
}

fn parse_moov<'a>(moov: Atom<'a>, file_len: u64) -> Result<Movie<'a>> {
    let mut timescale = None;
    let mut tracks = Vec::new();
    let mut video_timeline = None;
    for child in moov.children() {
        let child = child?;
        match &child.kind.0 {
            b"mvhd" => timescale = Some(parse_mvhd(child)?),
            b"trak" => tracks.push(parse_trak(child, file_len)?),
            b"udta" => video_timeline = lpvt::find(child)?.or(video_timeline),
            _ => {}
        }
    }
    let timescale = timescale.ok_or_else(|| Error::malformed("moov", "no mvhd box"))?;
    if timescale == 0 {
        return Err(Error::malformed("moov/mvhd", "timescale is 0"));
    }
    Ok(Movie {
        timescale,
        tracks,
        fragmented: false,
        video_timeline,
    })
}

fn parse_mvhd(atom: Atom<'_>) -> Result<u32> {
    let (version, _, body) = atom.full()?;
    let mut r = Reader::new(body, "mvhd");
    r.skip(if version == 1 { 16 } else { 8 })?;
    r.u32()
}

/// One `trak`, its boxes read in the order of ISO/IEC 14496-12 §8.3 to
/// §8.7 (`tkhd`, `edts`, `mdia`/`mdhd`/`hdlr`/`minf`/`stbl`), keeping
/// the ones carried verbatim as slices. Long because it is that list.
fn parse_trak<'a>(trak: Atom<'a>, file_len: u64) -> Result<Track<'a>> {
    let mut tkhd = None;
    let mut edts = None;
    let mut mdia = None;
    let mut trak_extra = Vec::new();
    for child in trak.children() {
        let child = child?;
        match &child.kind.0 {
            b"tkhd" => tkhd = Some(child),
            b"edts" => edts = Some(child),
            b"mdia" => mdia = Some(child),
            _ => trak_extra.push(child.raw),
        }
    }
    let tkhd = tkhd.ok_or_else(|| Error::malformed("trak", "no tkhd box"))?;
    let id = {
        let (version, _, body) = tkhd.full()?;
        let mut r = Reader::new(body, "tkhd");
        r.skip(if version == 1 { 16 } else { 8 })?;
        r.u32()?
    };
    let at = |what: &str| format!("trak {id}/{what}");
    let mdia = mdia.ok_or_else(|| Error::malformed(at("mdia"), "missing"))?;
    let edits = match edts {
        Some(e) => edts::read(e, id)?,
        None => Vec::new(),
    };

    let (mut mdhd, mut hdlr, mut minf) = (None, None, None);
    for child in mdia.children() {
        let child = child?;
        match &child.kind.0 {
            b"mdhd" => mdhd = Some(child),
            b"hdlr" => hdlr = Some(child),
            b"minf" => minf = Some(child),
            _ => {}
        }
    }
    let mdhd = mdhd.ok_or_else(|| Error::malformed(at("mdia/mdhd"), "missing"))?;
    let hdlr = hdlr.ok_or_else(|| Error::malformed(at("mdia/hdlr"), "missing"))?;
    let minf = minf.ok_or_else(|| Error::malformed(at("mdia/minf"), "missing"))?;
    let timescale = {
        let (version, _, body) = mdhd.full()?;
        let mut r = Reader::new(body, "mdhd");
        r.skip(if version == 1 { 16 } else { 8 })?;
        r.u32()?
    };
    if timescale == 0 {
        return Err(Error::malformed(at("mdia/mdhd"), "timescale is 0"));
    }
    let kind = {
        let (_, _, body) = hdlr.full()?;
        let mut r = Reader::new(body, "hdlr");
        r.skip(4)?;
        match &r.array::<4>()? {
            b"vide" => TrackKind::Video,
            b"soun" => TrackKind::Audio,
            _ => TrackKind::Other,
        }
    };

    let (mut media_header, mut dinf, mut stbl_atom) = (None, None, None);
    for child in minf.children() {
        let child = child?;
        match &child.kind.0 {
            b"vmhd" | b"smhd" | b"nmhd" | b"sthd" | b"hmhd" => media_header = Some(child.raw),
            b"dinf" => dinf = Some(child.raw),
            b"stbl" => stbl_atom = Some(child),
            _ => {}
        }
    }
    let stbl_atom = stbl_atom.ok_or_else(|| Error::malformed(at("minf/stbl"), "missing"))?;
    let tables = stbl::Tables::collect(stbl_atom, &at("stbl"))?;
    let stsd = tables
        .stsd
        .ok_or_else(|| Error::malformed(at("stbl/stsd"), "missing"))?;
    let entry = stsd::parse(stsd, kind, &at("stbl/stsd"))?;
    let samples = tables.expand(file_len, &at("stbl"))?;
    Ok(Track {
        id,
        kind,
        timescale,
        tkhd: tkhd.raw,
        edts: edts.map(|e| e.raw),
        edits,
        mdhd: mdhd.raw,
        hdlr: hdlr.raw,
        media_header,
        dinf,
        stsd: stsd.raw,
        entry,
        stbl_extra: tables.extra,
        trak_extra,
        samples,
        fragment_starts: Vec::new(),
    })
}
