//! The sample tables (ISO/IEC 14496-12 §8.5–8.7): `stts`, `ctts`,
//! `stss`, `stsz`/`stz2`, `stsc` and `stco`/`co64`, expanded into one
//! `Sample` per sample, and written from samples laid out in chunks; the
//! reader and the writer side by side.
//!
//! Every count is checked against the bytes that hold it, and the sample
//! count against the file size, so a lying table costs an error, not memory.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atom, close, open, open_full};
use super::model::{OutSample, Sample};
use crate::num::{u32_sat, usize_sat};

/// The `stbl` children, by role.
#[derive(Default)]
pub struct Tables<'a> {
    pub stsd: Option<Atom<'a>>,
    stts: Option<Atom<'a>>,
    ctts: Option<Atom<'a>>,
    stss: Option<Atom<'a>>,
    stsz: Option<Atom<'a>>,
    stsc: Option<Atom<'a>>,
    stco: Option<Atom<'a>>,
    /// Children kept verbatim (sample groups, `sdtp`, ...).
    pub extra: Vec<&'a [u8]>,
}

impl<'a> Tables<'a> {
    pub fn collect(stbl: Atom<'a>, at: &str) -> Result<Self> {
        let mut t = Tables::default();
        for child in stbl.children() {
            let child = child?;
            let slot = match &child.kind.0 {
                b"stsd" => &mut t.stsd,
                b"stts" => &mut t.stts,
                b"ctts" => &mut t.ctts,
                b"stss" => &mut t.stss,
                b"stsz" | b"stz2" => &mut t.stsz,
                b"stsc" => &mut t.stsc,
                b"stco" | b"co64" => &mut t.stco,
                _ => {
                    t.extra.push(child.raw);
                    continue;
                }
            };
            if slot.is_some() {
                return Err(Error::malformed(
                    format_args!("{at}/{}", child.kind),
                    "box appears twice",
                ));
            }
            *slot = Some(child);
        }
        Ok(t)
    }

    /// One `Sample` per entry of `stsz`, with absolute offsets checked
    /// against `file_len`.
    pub fn expand(&self, file_len: u64, at: &str) -> Result<Vec<Sample>> {
        let Some(stsz) = self.stsz else {
            // A fragmented file's moov has empty tables; no stsz at all is
            // allowed too and means no samples here.
            return Ok(Vec::new());
        };
        let sizes = Sizes::parse(stsz, file_len, at)?;
        let count = sizes.count;
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut samples = vec![Sample::default(); count];
        for (i, s) in samples.iter_mut().enumerate() {
            s.size = sizes.get(i);
            s.sync = self.stss.is_none();
        }
        self.fill_times(&mut samples, at)?;
        self.fill_sync(&mut samples, at)?;
        self.fill_offsets(&mut samples, file_len, at)?;
        Ok(samples)
    }

    fn fill_times(&self, samples: &mut [Sample], at: &str) -> Result<()> {
        let stts = self
            .stts
            .ok_or_else(|| Error::malformed(format_args!("{at}/stts"), "missing"))?;
        let mut i = 0usize;
        let mut dts = 0i64;
        for_entries(stts, 8, at, |r| {
            let n = r.u32()? as usize;
            let delta = r.u32()?;
            for s in samples.iter_mut().skip(i).take(n) {
                s.dts = dts;
                s.duration = delta;
                dts += delta as i64;
            }
            i = i.saturating_add(n);
            Ok(())
        })?;
        // The tables must agree on the sample count (§8.6.1.2): a writer
        // that reads one count and writes another makes a file nobody reads
        // the same way twice.
        if i != samples.len() {
            return Err(Error::malformed(
                format_args!("{at}/stts"),
                format_args!("covers {i} samples, stsz declares {}", samples.len()),
            ));
        }
        if let Some(ctts) = self.ctts {
            let mut i = 0usize;
            for_entries(ctts, 8, at, |r| {
                let n = r.u32()? as usize;
                // Version 0 is unsigned on paper, but writers put negative
                // offsets there too; reading it signed is what ffmpeg does.
                let off = r.i32()?;
                for s in samples.iter_mut().skip(i).take(n) {
                    s.cts_offset = off;
                }
                i = i.saturating_add(n);
                Ok(())
            })?;
            if i != samples.len() {
                return Err(Error::malformed(
                    format_args!("{at}/ctts"),
                    format_args!("covers {i} samples, stsz declares {}", samples.len()),
                ));
            }
        }
        Ok(())
    }

    fn fill_sync(&self, samples: &mut [Sample], at: &str) -> Result<()> {
        let Some(stss) = self.stss else {
            return Ok(());
        };
        let count = samples.len();
        for_entries(stss, 4, at, |r| {
            let n = r.u32()? as usize;
            if n == 0 || n > count {
                return Err(Error::malformed(
                    format_args!("{at}/stss"),
                    format_args!("sync sample {n} outside 1..={count}"),
                ));
            }
            samples[n - 1].sync = true;
            Ok(())
        })
    }

    fn fill_offsets(&self, samples: &mut [Sample], file_len: u64, at: &str) -> Result<()> {
        let stsc = self
            .stsc
            .ok_or_else(|| Error::malformed(format_args!("{at}/stsc"), "missing"))?;
        let stco = self
            .stco
            .ok_or_else(|| Error::malformed(format_args!("{at}/stco"), "missing"))?;
        let wide = stco.kind.0 == *b"co64";
        let (_, _, body) = stco.full()?;
        let mut offsets = Reader::new(body, "stco");
        let chunk_count = offsets.u32()? as usize;
        let width = if wide { 8 } else { 4 };
        if chunk_count > offsets.remaining() / width {
            return Err(Error::truncated(format_args!(
                "{at}/{} declares {chunk_count} chunks in {} bytes",
                stco.kind,
                offsets.remaining()
            )));
        }
        let mut runs = Vec::new(); // (first_chunk 0-based, samples per chunk)
        for_entries(stsc, 12, at, |r| {
            let first = r.u32()?;
            let per_chunk = r.u32()?;
            let description = r.u32()?;
            if first == 0 || runs.last().is_some_and(|&(f, _)| first as usize - 1 <= f) {
                return Err(Error::malformed(
                    format_args!("{at}/stsc"),
                    "first_chunk not increasing from 1",
                ));
            }
            if description != 1 {
                return Err(Error::UnsupportedCodec(format!(
                    "{at}: sample description {description} (only one per track is carried)"
                )));
            }
            runs.push((first as usize - 1, per_chunk as usize));
            Ok(())
        })?;
        let mut next = 0usize;
        for chunk in 0..chunk_count {
            let mut offset = if wide { offsets.u64()? } else { offsets.u32()? as u64 };
            let run = runs.partition_point(|&(first, _)| first <= chunk);
            let per_chunk = if run == 0 { 0 } else { runs[run - 1].1 };
            for s in samples.iter_mut().skip(next).take(per_chunk) {
                s.offset = offset;
                offset += s.size as u64;
                if offset > file_len {
                    return Err(Error::truncated(format_args!(
                        "{at}: sample {} ends at byte {offset}, file has {file_len}",
                        next + 1
                    )));
                }
                next += 1;
            }
            if next == samples.len() {
                return Ok(());
            }
        }
        Err(Error::malformed(
            format_args!("{at}/stsc"),
            format_args!("chunks hold {next} of {} samples", samples.len()),
        ))
    }
}

/// Calls `f` once per table entry of `entry_size` bytes after the
/// version/flags and entry count, after checking the count fits the box.
fn for_entries<'a>(
    atom: Atom<'a>,
    entry_size: usize,
    at: &str,
    mut f: impl FnMut(&mut Reader<'a>) -> Result<()>,
) -> Result<()> {
    let (_, _, body) = atom.full()?;
    let mut r = Reader::new(body, "sample table");
    let count = r.u32()? as usize;
    if count > r.remaining() / entry_size {
        return Err(Error::truncated(format_args!(
            "{at}/{} declares {count} entries in {} bytes",
            atom.kind,
            r.remaining()
        )));
    }
    for _ in 0..count {
        f(&mut r)?;
    }
    Ok(())
}

/// `stsz` or `stz2`, read lazily.
struct Sizes<'a> {
    count: usize,
    constant: u32,
    field_bits: u8,
    table: &'a [u8],
}

impl<'a> Sizes<'a> {
    fn parse(atom: Atom<'a>, file_len: u64, at: &str) -> Result<Self> {
        let (_, _, body) = atom.full()?;
        let mut r = Reader::new(body, "stsz");
        let compact = atom.kind.0 == *b"stz2";
        let (constant, field_bits) = if compact {
            r.skip(3)?;
            let bits = r.u8()?;
            if !matches!(bits, 4 | 8 | 16) {
                return Err(Error::malformed(
                    format_args!("{at}/stz2"),
                    format_args!("field size {bits}"),
                ));
            }
            (0, bits)
        } else {
            (r.u32()?, 32)
        };
        let count = r.u32()? as u64;
        // Every sample needs at least one byte of the file, so a count above
        // the file size is a lie, whatever the size fields say.
        if count > file_len {
            return Err(Error::too_large(
                format_args!("{at}/{} sample count", atom.kind),
                count,
                file_len,
            ));
        }
        let count = usize_sat(count);
        let table = r.rest();
        if constant == 0 {
            let need = (count * field_bits as usize).div_ceil(8);
            if table.len() < need {
                return Err(Error::truncated(format_args!(
                    "{at}/{} declares {count} sizes in {} bytes",
                    atom.kind,
                    table.len()
                )));
            }
        } else if count as u64 * constant as u64 > file_len {
            return Err(Error::too_large(
                format_args!("{at}/stsz total sample bytes"),
                count as u64 * constant as u64,
                file_len,
            ));
        }
        Ok(Sizes {
            count,
            constant,
            field_bits,
            table,
        })
    }

    fn get(&self, i: usize) -> u32 {
        if self.constant != 0 {
            return self.constant;
        }
        let t = self.table;
        match self.field_bits {
            32 => u32::from_be_bytes([t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]]),
            16 => u16::from_be_bytes([t[2 * i], t[2 * i + 1]]) as u32,
            8 => t[i] as u32,
            _ => ((t[i / 2] >> if i.is_multiple_of(2) { 4 } else { 0 }) & 0xf) as u32,
        }
    }
}

/// Run-length pairs of equal consecutive values.
fn runs<T: PartialEq + Copy>(values: impl Iterator<Item = T>) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

/// The samples as the writer lays them out: in chunks of `counts[i]`
/// samples starting at `offsets[i]` (64-bit offsets when `wide`).
pub(super) struct Chunked<'a> {
    pub samples: &'a [OutSample],
    pub counts: &'a [u32],
    pub offsets: &'a [u64],
    pub wide: bool,
}

/// The sample tables (§8.5-§8.7: `stsd`, `stts`, `ctts`, `stss`, `stsc`,
/// `stsz`, `stco`/`co64`, then carried-over boxes), in the order a reader
/// expects them. Long because it is that list, each table a few lines.
pub(super) fn write(out: &mut Vec<u8>, stsd: &[u8], chunked: &Chunked<'_>, extra: &[&[u8]]) {
    let Chunked {
        samples,
        counts,
        offsets,
        wide,
    } = *chunked;
    let stbl = open(out, b"stbl");
    out.extend_from_slice(stsd);

    let stts = runs(samples.iter().map(|s| s.duration));
    let at = open_full(out, b"stts", 0, 0);
    out.u32(u32_sat(stts.len()));
    for (n, d) in stts {
        out.u32(n);
        out.u32(d);
    }
    close(out, at);

    if samples.iter().any(|s| s.cts_offset != 0) {
        let negative = samples.iter().any(|s| s.cts_offset < 0);
        let ctts = runs(samples.iter().map(|s| s.cts_offset));
        let at = open_full(out, b"ctts", negative as u8, 0);
        out.u32(u32_sat(ctts.len()));
        for (n, o) in ctts {
            out.u32(n);
            // Signed in a version 1 box, which this is when any is negative.
            out.u32(o.cast_unsigned());
        }
        close(out, at);
    }

    if samples.iter().any(|s| !s.sync) {
        let sync: Vec<u32> = (1..=u32_sat(samples.len()))
            .filter(|&i| samples[i as usize - 1].sync)
            .collect();
        let at = open_full(out, b"stss", 0, 0);
        out.u32(u32_sat(sync.len()));
        for i in sync {
            out.u32(i);
        }
        close(out, at);
    }

    let at = open_full(out, b"stsc", 0, 0);
    let stsc: Vec<(u32, u32)> = {
        let mut v: Vec<(u32, u32)> = Vec::new();
        for (i, &n) in counts.iter().enumerate() {
            if v.last().is_none_or(|&(_, last)| last != n) {
                v.push((u32_sat(i) + 1, n));
            }
        }
        v
    };
    out.u32(u32_sat(stsc.len()));
    for (first, n) in stsc {
        out.u32(first);
        out.u32(n);
        out.u32(1);
    }
    close(out, at);

    // A sample_size of 0 means "a table of sizes follows" (§8.7.3.2), so
    // samples that are all 0 bytes long still get their table.
    let at = open_full(out, b"stsz", 0, 0);
    let first = samples.first().map_or(0, |s| s.size);
    if first != 0 && samples.iter().all(|s| s.size == first) {
        out.u32(first);
        out.u32(u32_sat(samples.len()));
    } else {
        out.u32(0);
        out.u32(u32_sat(samples.len()));
        for s in samples {
            out.u32(s.size);
        }
    }
    close(out, at);

    let at = open_full(out, if wide { b"co64" } else { b"stco" }, 0, 0);
    out.u32(u32_sat(offsets.len()));
    for &o in offsets {
        if wide {
            out.u64(o);
        } else {
            out.u32(u32_sat(o));
        }
    }
    close(out, at);

    for e in extra {
        out.extend_from_slice(e);
    }
    close(out, stbl);
}

#[cfg(test)]
mod round_trip {
    use super::super::atom::Atoms;
    use super::*;

    /// Tables written from samples in chunks read back as those samples,
    /// at the offsets the chunks put them: with and without composition
    /// offsets (negative ones too), sync flags, equal and unequal sizes,
    /// 32- and 64-bit chunk offsets.
    #[test]
    fn tables_read_back_what_is_written() {
        let sample = |size, duration, cts_offset, sync| OutSample {
            size,
            duration,
            cts_offset,
            sync,
        };
        let cases = [
            (vec![sample(4, 960, 0, true); 5], vec![2, 3], vec![100, 500], false),
            (
                vec![
                    sample(50, 512, 1024, true),
                    sample(10, 512, -512, false),
                    sample(12, 500, 0, false),
                    sample(9, 512, 512, true),
                ],
                vec![1, 1, 2],
                vec![8, 1 << 33, (1 << 33) + 100],
                true,
            ),
        ];
        for (samples, counts, offsets, wide) in cases {
            let mut out = Vec::new();
            let chunked = Chunked {
                samples: &samples,
                counts: &counts,
                offsets: &offsets,
                wide,
            };
            write(&mut out, &[], &chunked, &[]);
            let stbl = Atoms::new(&out, 0).next().unwrap().unwrap();
            let read = Tables::collect(stbl, "test").unwrap().expand(u64::MAX, "test").unwrap();
            let back: Vec<OutSample> = read.iter().map(OutSample::from).collect();
            assert_eq!(back, samples);
            let mut expected = Vec::new();
            for (&n, &at) in counts.iter().zip(&offsets) {
                let mut at = at;
                for s in &samples[expected.len()..expected.len() + n as usize] {
                    expected.push(at);
                    at += s.size as u64;
                }
            }
            let offsets: Vec<u64> = read.iter().map(|s| s.offset).collect();
            assert_eq!(offsets, expected);
            let dts: Vec<i64> = read.iter().map(|s| s.dts).collect();
            let mut t = 0;
            let want: Vec<i64> = samples
                .iter()
                .map(|s| {
                    let d = t;
                    t += s.duration as i64;
                    d
                })
                .collect();
            assert_eq!(dts, want);
        }
    }
}
