//! The boxes of a track fragment (ISO/IEC 14496-12 §8.8): `trex`'s
//! defaults, then per `traf` its `tfhd`, `tfdt` and `trun`. Each is read
//! and written here, side by side, so that what the writer says is what the
//! reader takes it to say; `fragment.rs` walks the `moof`s with the
//! readers, `fmp4.rs` writes them with the writers.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atom, close, open_full};
use super::model::{OutSample, Sample};
use crate::num::{u32_sat, usize_sat};

/// `tfhd` flags (§8.8.7.1).
const BASE_DATA_OFFSET: u32 = 0x1;
const SAMPLE_DESCRIPTION: u32 = 0x2;
const DEFAULT_DURATION: u32 = 0x8;
const DEFAULT_SIZE: u32 = 0x10;
const DEFAULT_FLAGS: u32 = 0x20;
/// Data offsets count from the start of the `moof`.
const DEFAULT_BASE_IS_MOOF: u32 = 0x2_0000;

/// `trun` flags (§8.8.8.1).
pub(super) const DATA_OFFSET: u32 = 0x1;
const FIRST_SAMPLE_FLAGS: u32 = 0x4;
pub(super) const SAMPLE_DURATION: u32 = 0x100;
pub(super) const SAMPLE_SIZE: u32 = 0x200;
pub(super) const SAMPLE_FLAGS: u32 = 0x400;
pub(super) const SAMPLE_CTS: u32 = 0x800;

/// `sample_flags` (§8.8.3.1): `sample_is_non_sync_sample`. Written, a sync
/// sample depends on no other; any other sample depends on others and is
/// not a sync sample.
const NON_SYNC: u32 = 0x0001_0000;
const SYNC_SAMPLE: u32 = 0x0200_0000;
const NON_SYNC_SAMPLE: u32 = 0x0101_0000;

/// A track's per-sample defaults, from `trex`, then its `tfhd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Defaults {
    pub duration: u32,
    pub size: u32,
    pub flags: u32,
}

/// `trex` (§8.8.3): the track it is for and its defaults.
pub(super) fn read_trex(trex: &Atom<'_>) -> Result<(u32, Defaults)> {
    let (_, _, body) = trex.full()?;
    let mut r = Reader::new(body, "trex");
    let id = r.u32()?;
    r.skip(4)?; // default_sample_description_index
    let defaults = Defaults {
        duration: r.u32()?,
        size: r.u32()?,
        flags: r.u32()?,
    };
    Ok((id, defaults))
}

/// Where a fragment's sample data offsets count from (§8.8.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Base {
    /// `base_data_offset`, absolute.
    Explicit(u64),
    /// The start of the enclosing `moof`.
    Moof,
    /// Where the previous `traf`'s data ended (the first: the `moof`).
    FollowsPrevious,
}

/// `tfhd` (§8.8.7): which track, where its data counts from, and the
/// defaults it overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tfhd {
    pub track_id: u32,
    pub base: Base,
    pub duration: Option<u32>,
    pub size: Option<u32>,
    pub flags: Option<u32>,
}

impl Tfhd {
    /// Only one sample description per track is carried: a `tfhd` naming
    /// another is refused.
    pub fn read(tfhd: &Atom<'_>, at: &str) -> Result<Tfhd> {
        let (_, flags, body) = tfhd.full()?;
        let mut r = Reader::new(body, "tfhd");
        let track_id = r.u32()?;
        let base = if flags & BASE_DATA_OFFSET != 0 {
            Base::Explicit(r.u64()?)
        } else if flags & DEFAULT_BASE_IS_MOOF != 0 {
            Base::Moof
        } else {
            Base::FollowsPrevious
        };
        if flags & SAMPLE_DESCRIPTION != 0 {
            let description = r.u32()?;
            if description != 1 {
                return Err(Error::UnsupportedCodec(format!(
                    "{at}: sample description {description} (only one per track is carried)"
                )));
            }
        }
        let mut optional = |flag: u32| (flags & flag != 0).then(|| r.u32()).transpose();
        Ok(Tfhd {
            track_id,
            base,
            duration: optional(DEFAULT_DURATION)?,
            size: optional(DEFAULT_SIZE)?,
            flags: optional(DEFAULT_FLAGS)?,
        })
    }

    /// What this fragment's samples default to, over `trex`'s.
    pub fn defaults(&self, trex: Defaults) -> Defaults {
        Defaults {
            duration: self.duration.unwrap_or(trex.duration),
            size: self.size.unwrap_or(trex.size),
            flags: self.flags.unwrap_or(trex.flags),
        }
    }

    /// The only `tfhd` we write: the track, offsets from the `moof`, and
    /// no defaults (every `trun` says its samples' durations and sizes).
    pub fn write(out: &mut Vec<u8>, track_id: u32) {
        let at = open_full(out, b"tfhd", 0, DEFAULT_BASE_IS_MOOF);
        out.u32(track_id);
        close(out, at);
    }
}

/// `tfdt` (§8.8.12): the decode time of the fragment's first sample.
pub(super) fn read_tfdt(tfdt: &Atom<'_>, at: &str) -> Result<i64> {
    let (version, _, body) = tfdt.full()?;
    let mut r = Reader::new(body, "tfdt");
    let v = if version == 1 { r.u64()? } else { r.u32()? as u64 };
    i64::try_from(v).map_err(|_| Error::malformed(at, "tfdt beyond 2^63"))
}

/// Always version 1: a stream's decode times outgrow 32 bits.
pub(super) fn write_tfdt(out: &mut Vec<u8>, decode_time: u64) {
    let at = open_full(out, b"tfdt", 1, 0);
    out.u64(decode_time);
    close(out, at);
}

/// Where one `trun`'s samples start: the data offset's base, the decode
/// time of its first sample, and the samples the file holds so far, all
/// tracks together (each takes at least a byte of the file, so a count
/// past its length lies).
pub(super) struct TrunStart {
    pub base: u64,
    pub dts: i64,
    pub total: u64,
}

/// `trun` (§8.8.8): appends its samples to `samples`, each checked to lie
/// within the file, and moves `start` to where the next `trun` starts (its
/// data's end and the decode time after it).
pub(super) fn read_trun(
    trun: &Atom<'_>,
    defaults: Defaults,
    start: &mut TrunStart,
    file_len: u64,
    at: &str,
    samples: &mut Vec<Sample>,
) -> Result<()> {
    let (_, flags, body) = trun.full()?;
    let mut r = Reader::new(body, "trun");
    let count = r.u32()? as u64;
    start.total += count;
    if start.total > file_len {
        return Err(Error::too_large(
            format_args!("{at}/trun sample count"),
            start.total,
            file_len,
        ));
    }
    let mut offset = if flags & DATA_OFFSET != 0 {
        start
            .base
            .checked_add_signed(r.i32()? as i64)
            .ok_or_else(|| Error::malformed(at, "trun data offset before file start"))?
    } else {
        start.base
    };
    let first_flags = if flags & FIRST_SAMPLE_FLAGS != 0 {
        Some(r.u32()?)
    } else {
        None
    };
    let per_sample = [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS]
        .iter()
        .filter(|&&f| flags & f != 0)
        .count()
        * 4;
    if per_sample > 0 && count > (r.remaining() / per_sample) as u64 {
        return Err(Error::truncated(format_args!(
            "{at}/trun declares {count} samples in {} bytes",
            r.remaining()
        )));
    }
    samples.reserve(usize_sat(count));
    let mut field = |flag: u32, default: u32| if flags & flag != 0 { r.u32() } else { Ok(default) };
    for i in 0..count {
        let duration = field(SAMPLE_DURATION, defaults.duration)?;
        let size = field(SAMPLE_SIZE, defaults.size)?;
        let first = if i == 0 { first_flags } else { None };
        let sample_flags = field(SAMPLE_FLAGS, first.unwrap_or(defaults.flags))?;
        // Signed for both versions, as with ctts (what ffmpeg does).
        let cts_offset = field(SAMPLE_CTS, 0)?.cast_signed();
        let end = offset + size as u64;
        if end > file_len {
            return Err(Error::truncated(format_args!(
                "{at}: sample ends at byte {end}, file has {file_len}"
            )));
        }
        samples.push(Sample {
            offset,
            size,
            dts: start.dts,
            cts_offset,
            duration,
            sync: sample_flags & NON_SYNC == 0,
        });
        offset = end;
        start.dts += duration as i64;
    }
    start.base = offset;
    Ok(())
}

/// What every `trun` of one track holds, decided once from all its
/// samples: flags when any sample is not a sync sample (else trex's
/// default, sync), composition offsets when any is non-zero (signed,
/// version 1, when any is negative).
#[derive(Clone, Copy, Debug)]
pub(super) struct TrunLayout {
    flags: u32,
    version: u8,
}

impl TrunLayout {
    pub fn of(samples: &[OutSample]) -> Self {
        let mut flags = DATA_OFFSET | SAMPLE_DURATION | SAMPLE_SIZE;
        if samples.iter().any(|s| !s.sync) {
            flags |= SAMPLE_FLAGS;
        }
        if samples.iter().any(|s| s.cts_offset != 0) {
            flags |= SAMPLE_CTS;
        }
        TrunLayout {
            flags,
            version: samples.iter().any(|s| s.cts_offset < 0) as u8,
        }
    }

    /// Writes a `trun` of `samples` with its data offset 0, and gives where
    /// that field is, to fill in once the `moof`'s size is known.
    pub fn write(self, out: &mut Vec<u8>, samples: &[OutSample]) -> usize {
        let at = open_full(out, b"trun", self.version, self.flags);
        out.u32(u32_sat(samples.len()));
        let data_offset = out.len();
        out.u32(0);
        for s in samples {
            out.u32(s.duration);
            out.u32(s.size);
            if self.flags & SAMPLE_FLAGS != 0 {
                out.u32(if s.sync { SYNC_SAMPLE } else { NON_SYNC_SAMPLE });
            }
            if self.flags & SAMPLE_CTS != 0 {
                out.u32(s.cts_offset.cast_unsigned());
            }
        }
        close(out, at);
        data_offset
    }
}

#[cfg(test)]
mod tests {
    use super::super::atom::Atoms;
    use super::*;

    fn atom(bytes: &[u8]) -> Atom<'_> {
        Atoms::new(bytes, 0).next().unwrap().unwrap()
    }

    #[test]
    fn tfhd_and_tfdt_read_back_what_is_written() {
        let mut out = Vec::new();
        Tfhd::write(&mut out, 7);
        let tfhd = Tfhd::read(&atom(&out), "test").unwrap();
        assert_eq!(
            tfhd,
            Tfhd {
                track_id: 7,
                base: Base::Moof,
                duration: None,
                size: None,
                flags: None,
            }
        );
        let trex = Defaults {
            duration: 1,
            size: 2,
            flags: 3,
        };
        assert_eq!(tfhd.defaults(trex), trex);

        let mut out = Vec::new();
        write_tfdt(&mut out, (1 << 40) + 5);
        assert_eq!(read_tfdt(&atom(&out), "test").unwrap(), (1 << 40) + 5);
    }

    #[test]
    fn trun_reads_back_what_is_written() {
        for samples in [
            // Sync only, no composition offsets: the smallest trun.
            vec![
                OutSample {
                    size: 10,
                    duration: 960,
                    cts_offset: 0,
                    sync: true,
                };
                3
            ],
            // B-frames with a negative offset: flags and version 1.
            vec![
                OutSample {
                    size: 100,
                    duration: 512,
                    cts_offset: 1024,
                    sync: true,
                },
                OutSample {
                    size: 20,
                    duration: 512,
                    cts_offset: -512,
                    sync: false,
                },
                OutSample {
                    size: 30,
                    duration: 500,
                    cts_offset: 0,
                    sync: false,
                },
            ],
        ] {
            let layout = TrunLayout::of(&samples);
            let mut out = Vec::new();
            let field = layout.write(&mut out, &samples);
            out[field..field + 4].copy_from_slice(&40u32.to_be_bytes());
            let mut start = TrunStart {
                base: 1000,
                dts: 90_000,
                total: 5,
            };
            let mut read = Vec::new();
            read_trun(&atom(&out), Defaults::default(), &mut start, 1 << 20, "test", &mut read).unwrap();
            let back: Vec<OutSample> = read.iter().map(OutSample::from).collect();
            assert_eq!(back, samples);
            assert_eq!(read[0].offset, 1040);
            assert_eq!(read[0].dts, 90_000);
            let total: u32 = samples.iter().map(|s| s.size).sum();
            assert_eq!(start.base, 1040 + total as u64, "the next trun's data");
            let span: u32 = samples.iter().map(|s| s.duration).sum();
            assert_eq!(start.dts, 90_000 + span as i64);
            assert_eq!(start.total, 5 + samples.len() as u64);
        }
    }

    #[test]
    fn a_trun_with_more_samples_or_bytes_than_the_file_is_refused() {
        let samples = vec![
            OutSample {
                size: 10,
                duration: 1,
                cts_offset: 0,
                sync: true,
            };
            4
        ];
        let mut out = Vec::new();
        TrunLayout::of(&samples).write(&mut out, &samples);
        let mut start = TrunStart {
            base: 0,
            dts: 0,
            total: 0,
        };
        // Four samples in a "file" of three bytes.
        let e = read_trun(&atom(&out), Defaults::default(), &mut start, 3, "t", &mut Vec::new());
        assert!(matches!(e, Err(Error::TooLarge { .. })), "{e:?}");
        // Four samples of 10 bytes from offset 0 in a file of 35.
        start.total = 0;
        let e = read_trun(&atom(&out), Defaults::default(), &mut start, 35, "t", &mut Vec::new());
        assert!(matches!(e, Err(Error::Truncated(_))), "{e:?}");
    }
}
