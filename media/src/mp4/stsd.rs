//! The sample description (`stsd`, ISO/IEC 14496-12 §8.5.2) and the
//! entries this project reads and writes: `avc1`/`avc3` with `avcC`, and
//! `Opus` with `dOps`. Read and written here, side by side.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atom, Atoms, close, open, open_full};
use super::model::{SampleEntry, TrackKind};
use crate::num::{u16_sat, u32_of_f64, u32_sat};

/// The first sample entry of `stsd`, with what the bridge needs of it.
pub(super) fn parse<'a>(stsd: Atom<'a>, kind: TrackKind, at: &str) -> Result<SampleEntry<'a>> {
    let (_, _, body) = stsd.full()?;
    let mut r = Reader::new(body, "stsd");
    let count = r.u32()?;
    if count == 0 {
        return Err(Error::malformed(at, "no sample entry"));
    }
    let first = Atoms::new(r.rest(), stsd.offset)
        .next()
        .ok_or_else(|| Error::truncated(format_args!("{at}: sample entry missing")))??;
    let mut entry = SampleEntry {
        format: Some(first.kind),
        ..SampleEntry::default()
    };
    let mut r = Reader::new(first.body, "sample entry");
    r.skip(8)?; // reserved + data_reference_index
    let children_at = match kind {
        TrackKind::Video => {
            r.skip(16)?;
            entry.width = r.u16()?;
            entry.height = r.u16()?;
            r.skip(50)?;
            r.position()
        }
        TrackKind::Audio => {
            // QuickTime sound descriptions v1/v2 extend the ISO layout.
            let version = r.u16()?;
            r.skip(6)?;
            entry.channels = r.u16()?;
            r.skip(6)?;
            entry.sample_rate = r.u32()? >> 16;
            match version {
                1 => r.skip(16)?,
                2 => {
                    r.skip(4)?;
                    let rate = f64::from_bits(r.u64()?);
                    if rate.is_finite() && rate > 0.0 && rate < u32::MAX as f64 {
                        entry.sample_rate = u32_of_f64(rate);
                    }
                    entry.channels = u16_sat(r.u32()?.min(u16::MAX as u32));
                    r.skip(20)?;
                }
                _ => {}
            }
            r.position()
        }
        TrackKind::Other => return Ok(entry),
    };
    for child in Atoms::new(&first.body[children_at..], 0) {
        let Ok(child) = child else { break };
        if child.kind.0 == *b"avcC" {
            entry.avcc = Some(child.body);
        }
    }
    Ok(entry)
}

/// `stsd` with one `avc1`/`avc3` visual sample entry (ISO/IEC 14496-12
/// §12.1.3, 14496-15 §5.4.2).
pub fn avc_stsd(format: &[u8; 4], width: u32, height: u32, avcc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.u32(0);
    out.extend_from_slice(b"stsd");
    out.u32(0);
    out.u32(1);
    let entry = out.len();
    out.u32(0);
    out.extend_from_slice(format);
    out.zeros(6);
    out.u16(1); // data_reference_index
    out.zeros(16);
    out.u16(u16_sat(width.min(u16::MAX as u32)));
    out.u16(u16_sat(height.min(u16::MAX as u32)));
    out.u32(0x0048_0000); // 72 dpi
    out.u32(0x0048_0000);
    out.u32(0);
    out.u16(1); // frame_count
    out.zeros(32); // compressorname
    out.u16(0x18); // depth
    out.u16(0xffff); // pre_defined = -1
    out.u32(8 + u32_sat(avcc.len()));
    out.extend_from_slice(b"avcC");
    out.extend_from_slice(avcc);
    let len = u32_sat(out.len() - entry);
    out[entry..entry + 4].copy_from_slice(&len.to_be_bytes());
    let len = u32_sat(out.len());
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// An `Opus` sample entry with its `dOps` (ISO/IEC 23003-5 / Opus in
/// ISOBMFF §4.3), for mapping family 0 (mono or stereo).
pub fn opus_stsd(channels: u8, pre_skip: u16, input_rate: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let stsd = open_full(&mut out, b"stsd", 0, 0);
    out.u32(1);
    let entry = open(&mut out, b"Opus");
    out.zeros(6);
    out.u16(1); // data_reference_index
    out.zeros(8);
    out.u16(channels as u16);
    out.u16(16); // samplesize
    out.zeros(4);
    out.u32(48_000 << 16);
    let dops = open(&mut out, b"dOps");
    out.u8(0); // version
    out.u8(channels);
    out.u16(pre_skip);
    out.u32(input_rate);
    out.u16(0); // output gain
    out.u8(0); // channel mapping family
    close(&mut out, dops);
    close(&mut out, entry);
    close(&mut out, stsd);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(stsd: &[u8], kind: TrackKind) -> SampleEntry<'_> {
        let atom = Atoms::new(stsd, 0).next().unwrap().unwrap();
        parse(atom, kind, "test").unwrap()
    }

    #[test]
    fn avc_entries_read_back_what_is_written() {
        let avcc = [1, 0x64, 0, 0x1f, 0xff, 0xe0, 0];
        for format in [b"avc1", b"avc3"] {
            let bytes = avc_stsd(format, 1280, 720, &avcc);
            let entry = read(&bytes, TrackKind::Video);
            assert_eq!(entry.format.map(|f| f.0), Some(*format));
            assert_eq!((entry.width, entry.height), (1280, 720));
            assert_eq!(entry.avcc, Some(&avcc[..]));
        }
    }

    #[test]
    fn opus_entries_read_back_what_is_written() {
        let bytes = opus_stsd(2, 312, 44_100);
        let entry = read(&bytes, TrackKind::Audio);
        assert_eq!(entry.format.map(|f| f.0), Some(*b"Opus"));
        assert_eq!((entry.channels, entry.sample_rate), (2, 48_000));
        let dops = memchr::memmem::find(&bytes, b"dOps").unwrap() + 4;
        assert_eq!(&bytes[dops..dops + 8], &[0, 2, 0x01, 0x38, 0, 0, 0xac, 0x44]);
    }

    #[test]
    fn an_stsd_without_entries_is_refused() {
        let mut bytes = opus_stsd(1, 0, 48_000);
        bytes[12..16].fill(0);
        let atom = Atoms::new(&bytes, 0).next().unwrap().unwrap();
        assert!(parse(atom, TrackKind::Audio, "test").is_err());
    }
}
