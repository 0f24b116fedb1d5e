//! Fragmented MP4 writing (ISO/IEC 14496-12 §8.8): `ftyp`, a `moov` with
//! empty sample tables and an `mvex`, then one `moof` + `mdat` per video
//! GOP, each carrying the other tracks' samples that start during that
//! GOP. A player can start at any fragment, and a live packager can pass
//! the fragments on as they are. The samples, their timing and the audio's
//! boxes are those of the progressive layout; the audio's sample-to-group
//! table (`sbgp`) is cut into one per fragment, as §8.9.2 has it.

use crate::buf::{Reader, WriteBe};
use crate::error::{Error, Result};

use super::atom::{Atoms, close, open, open_full};
use super::mux::{
    Layout, MuxTrack, TrakSource, is_sample_to_group, mdat_header_len, write_ftyp, write_mdat_header, write_moov,
};
use super::traf::{Tfhd, TrunLayout, write_tfdt};
use crate::num::u32_sat;

/// One fragment: for each track, the samples `[from, to)` it carries.
struct Fragment {
    ranges: Vec<(usize, usize)>,
}

/// How one track's `trun`s are written, and its sample groups.
struct TrackLayout {
    trun: TrunLayout,
    groups: Option<SampleGroups>,
}

impl TrackLayout {
    fn of(track: &MuxTrack<'_>) -> Self {
        TrackLayout {
            trun: TrunLayout::of(&track.samples),
            groups: SampleGroups::of(track),
        }
    }
}

/// Writes the whole file. `moov_extra` is appended inside `moov`.
pub fn mux_fragmented(movie_timescale: u32, tracks: &[MuxTrack<'_>], moov_extra: &[u8]) -> Vec<u8> {
    let payload: usize = tracks
        .iter()
        .flat_map(|t| t.samples.iter())
        .map(|s| s.size as usize)
        .sum();
    let samples: usize = tracks.iter().map(|t| t.samples.len()).sum();
    let has_video = tracks.iter().any(|t| matches!(t.source, TrakSource::Video { .. }));
    let fragments = plan_fragments(tracks);

    let mut out = Vec::new();
    write_ftyp(&mut out, has_video, true);
    write_moov(&mut out, movie_timescale, tracks, &Layout::Fragmented, moov_extra);
    // moof, mfhd, and per traf tfhd + tfdt + trun + sbgp headers: under
    // 160 bytes; each sample adds at most 16 to its trun and 8 to a sbgp.
    out.reserve(payload + fragments.len() * (40 + tracks.len() * 160) + samples * 24);

    let layouts: Vec<TrackLayout> = tracks.iter().map(TrackLayout::of).collect();
    // Each track's first tfdt is where its source's media started.
    let mut decode_time: Vec<u64> = tracks.iter().map(MuxTrack::first_decode_time).collect();
    for (i, fragment) in fragments.iter().enumerate() {
        write_fragment(&mut out, u32_sat(i) + 1, tracks, &layouts, fragment, &mut decode_time);
    }
    out
}

/// A fragment starts at every sync sample of the video track; every other
/// track's sample goes to the fragment during which it starts, in decode
/// time. Without video (the audio MP4 of `split`) there is one fragment:
/// every audio packet is a sync sample, and a fragment each would be all
/// headers.
fn plan_fragments(tracks: &[MuxTrack<'_>]) -> Vec<Fragment> {
    let Some(lead) = tracks.iter().position(|t| matches!(t.source, TrakSource::Video { .. })) else {
        if tracks.iter().all(|t| t.samples.is_empty()) {
            return Vec::new();
        }
        let ranges = tracks.iter().map(|t| (0, t.samples.len())).collect();
        return vec![Fragment { ranges }];
    };
    let lead_track = &tracks[lead];
    // Start of each fragment: (first sample, decode time in lead ticks).
    let mut starts: Vec<(usize, u64)> = Vec::new();
    let mut t = 0u64;
    for (k, s) in lead_track.samples.iter().enumerate() {
        if k == 0 || s.sync {
            starts.push((k, t));
        }
        t += s.duration as u64;
    }
    if starts.is_empty() {
        starts.push((0, 0));
    }

    let mut fragments: Vec<Fragment> = starts
        .iter()
        .enumerate()
        .map(|(f, &(first, _))| {
            let end = starts.get(f + 1).map_or(lead_track.samples.len(), |s| s.0);
            let mut ranges = vec![(0, 0); tracks.len()];
            ranges[lead] = (first, end);
            Fragment { ranges }
        })
        .collect();
    for (i, track) in tracks.iter().enumerate() {
        if i == lead {
            continue;
        }
        // Fragment f takes the samples that start before fragment f + 1.
        let mut next = 0usize;
        let mut t = 0u64;
        for (f, fragment) in fragments.iter_mut().enumerate() {
            let first = next;
            let limit = starts.get(f + 1).map(|s| s.1);
            while next < track.samples.len()
                && limit.is_none_or(|l| {
                    (t as u128) * (lead_track.timescale as u128) < (l as u128) * (track.timescale as u128)
                })
            {
                t += track.samples[next].duration as u64;
                next += 1;
            }
            fragment.ranges[i] = (first, next);
        }
    }
    fragments
}

fn write_fragment(
    out: &mut Vec<u8>,
    sequence: u32,
    tracks: &[MuxTrack<'_>],
    layouts: &[TrackLayout],
    fragment: &Fragment,
    decode_time: &mut [u64],
) {
    let moof_start = out.len();
    let moof = open(out, b"moof");
    let mfhd = open_full(out, b"mfhd", 0, 0);
    out.u32(sequence);
    close(out, mfhd);
    // Where each traf's data_offset field is, to fill in once the moof's
    // size is known.
    let mut offset_fields: Vec<(usize, usize)> = Vec::new();
    for (i, t) in tracks.iter().enumerate() {
        let (from, to) = fragment.ranges[i];
        if from == to {
            continue;
        }
        let samples = &t.samples[from..to];
        let traf = open(out, b"traf");
        Tfhd::write(out, t.id);
        write_tfdt(out, decode_time[i]);
        decode_time[i] += samples.iter().map(|s| s.duration as u64).sum::<u64>();
        let layout = &layouts[i];
        offset_fields.push((layout.trun.write(out, samples), i));
        if let Some(g) = &layout.groups {
            g.write_slice(out, from, to);
        }
        close(out, traf);
    }
    close(out, moof);

    // Each track's bytes in this fragment's mdat, in track order.
    let sizes: Vec<u64> = tracks
        .iter()
        .zip(&fragment.ranges)
        .map(|(t, &(from, to))| t.samples[from..to].iter().map(|s| s.size as u64).sum())
        .collect();
    let payload: u64 = sizes.iter().sum();
    let mut data = (out.len() - moof_start) as u64 + mdat_header_len(payload);
    for (field, i) in offset_fields {
        out[field..field + 4].copy_from_slice(&u32_sat(data).to_be_bytes());
        data += sizes[i];
    }
    write_mdat_header(out, payload);
    for (i, t) in tracks.iter().enumerate() {
        let (from, to) = fragment.ranges[i];
        for d in &t.data[from..to] {
            out.extend_from_slice(d);
        }
    }
}

/// A carried-over track's sample-to-group table (`sbgp`), as runs.
struct SampleGroups {
    /// grouping_type, and grouping_type_parameter when version 1.
    grouping_type: [u8; 4],
    parameter: Option<u32>,
    /// (sample_count, group_description_index), as the source has them.
    runs: Vec<(u32, u32)>,
}

impl SampleGroups {
    /// The first `sbgp` of a carried-over track, if it has one that reads.
    fn of(track: &MuxTrack<'_>) -> Option<Self> {
        let TrakSource::Verbatim(src) = &track.source else {
            return None;
        };
        let raw = src.stbl_extra.iter().find(|b| is_sample_to_group(b))?;
        Self::read(raw).ok()
    }

    /// A whole `sbgp` box; an error where it does not hold what it
    /// declares.
    fn read(raw: &[u8]) -> Result<Self> {
        let atom = Atoms::new(raw, 0).next().ok_or_else(|| Error::truncated("sbgp"))??;
        let (version, _, body) = atom.full()?;
        let mut r = Reader::new(body, "sbgp");
        let grouping_type = r.array::<4>()?;
        let parameter = if version == 1 { Some(r.u32()?) } else { None };
        let count = r.u32()? as usize;
        // The count is checked against the bytes that hold the entries
        // before anything is allocated for them.
        if r.remaining() / 8 < count {
            return Err(Error::truncated(format_args!(
                "sbgp declares {count} entries in {} bytes",
                r.remaining()
            )));
        }
        let runs = (0..count)
            .map(|_| Ok((r.u32()?, r.u32()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(SampleGroups {
            grouping_type,
            parameter,
            runs,
        })
    }

    /// A `sbgp` for samples `[from, to)` of the track.
    fn write_slice(&self, out: &mut Vec<u8>, from: usize, to: usize) {
        let mut slice: Vec<(u32, u32)> = Vec::new();
        let mut start = 0usize;
        for &(count, index) in &self.runs {
            let end = start.saturating_add(count as usize);
            let (a, b) = (start.max(from), end.min(to));
            if a < b {
                slice.push((u32_sat(b - a), index));
            }
            start = end;
            if start >= to {
                break;
            }
        }
        if slice.is_empty() {
            return;
        }
        let sbgp = open_full(out, b"sbgp", self.parameter.is_some() as u8, 0);
        out.extend_from_slice(&self.grouping_type);
        if let Some(p) = self.parameter {
            out.u32(p);
        }
        out.u32(u32_sat(slice.len()));
        for (count, index) in slice {
            out.u32(count);
            out.u32(index);
        }
        close(out, sbgp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries of a `sbgp` box `write_slice` wrote.
    fn entries(out: &[u8]) -> Vec<(u32, u32)> {
        let word = |at: usize| u32::from_be_bytes(out[at..at + 4].try_into().unwrap());
        assert_eq!(&out[4..8], b"sbgp");
        assert_eq!(word(0) as usize, out.len());
        (0..word(16) as usize)
            .map(|k| (word(20 + 8 * k), word(24 + 8 * k)))
            .collect()
    }

    #[test]
    fn sample_groups_are_cut_at_fragment_edges() {
        let groups = SampleGroups {
            grouping_type: *b"roll",
            parameter: None,
            runs: vec![(3, 1), (2, 0), (5, 1)],
        };
        let slice = |from, to| {
            let mut out = Vec::new();
            groups.write_slice(&mut out, from, to);
            if out.is_empty() { Vec::new() } else { entries(&out) }
        };
        assert_eq!(slice(0, 10), groups.runs);
        assert_eq!(slice(2, 7), vec![(1, 1), (2, 0), (2, 1)]);
        assert_eq!(slice(3, 5), vec![(2, 0)]);
        // Samples past the table's end belong to no group: no box.
        assert_eq!(slice(10, 12), Vec::new());
    }

    #[test]
    fn a_sbgp_whose_count_outruns_its_bytes_is_left_out() {
        let mut sbgp = vec![0, 0, 0, 28];
        sbgp.extend_from_slice(b"sbgp");
        sbgp.extend_from_slice(&[0, 0, 0, 0]);
        sbgp.extend_from_slice(b"roll");
        sbgp.extend_from_slice(&u32::MAX.to_be_bytes()); // entry_count
        sbgp.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        assert!(matches!(SampleGroups::read(&sbgp), Err(Error::Truncated(_))));
        let mut honest = sbgp.clone();
        honest[16..20].copy_from_slice(&1u32.to_be_bytes());
        assert_eq!(SampleGroups::read(&honest).map(|g| g.runs), Ok(vec![(1, 1)]));
    }
}
